/*
 * test_htable.c - unit tests of the descriptor layer (htable.c, and
 * htable_create in alloc.c): index arithmetic, holds
 * (lookup/create/acquire/release), link/unlink, retention, a table made
 * under a large leaf, concurrent creates, and a large page mapped over a
 * table someone holds.  The entry layer is in test_x86pte.c, the
 * encodings in test_mmu.c, the walks in test_walk.c, the operation frame
 * in test_op.c.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "geom.h"
#include "htable_int.h"
#include "x86pte.h"

static const ht_mode_t modes[] = { ALL_MODES };
#define NMODES	((int)(sizeof (modes) / sizeof (modes[0])))

TestSuite(htable, .fini = fx_teardown, .timeout = 60);

Test(htable, e2va_va2entry_roundtrip_all_modes)
{
	for (int i = 0; i < NMODES; i++) {
		fx_setup_mode(modes[i], 0, 16);
		hat_t *hat = fx.as;
		htable_t *root = hat->hat_htable;
		unsigned n = htable_num_ptes(root);

		for (unsigned e = 0; e < n; e++) {
			uint64_t va = htable_e2va(root, e);
			cr_assert(mmu_va_ok(hat_mmu(hat), va), "mode %d e %u",
			    i, e);
			cr_assert_eq(htable_va2entry(va, root), e);
		}
		fx_teardown();
	}
}

Test(htable, e2va_upper_half_is_canonical)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	cr_assert_eq(htable_e2va(fx.as->hat_htable, 256),
	    0xffff800000000000ull);
	cr_assert_eq(htable_e2va(fx.as->hat_htable, 511),
	    0xffffff8000000000ull);
	fx_teardown();
	fx_setup_mode(HT_MODE_5LEVEL, 0, 16);
	cr_assert_eq(htable_e2va(fx.as->hat_htable, 256),
	    0xff00000000000000ull);
	cr_assert_eq(htable_va2entry(0xff00000000000000ull,
	    fx.as->hat_htable), 256);
}

Test(htable, create_lookup_release_holds)
{
	fx_setup_mode(HT_MODE_4LEVEL, HT_PS_4K | HT_PS_2M, 16);
	hat_t *hat = fx.as;
	int err = 0;
	uint64_t va = 0x7f0000201000ull;

	cr_assert_null(htable_lookup(hat, va, 0));
	htable_t *ht = htable_create(hat, va, 0, NULL, &err);
	cr_assert_not_null(ht);
	cr_assert_eq(ht->ht_busy, 1);
	cr_assert_eq(ht->ht_vaddr, 0x7f0000200000ull);
	htable_t *p = ht->ht_parent;
	cr_assert_eq(p->ht_level, 1);
	cr_assert_eq(p->ht_busy, 1, "the child's hold only");
	/* the parent's entry links to the child */
	x86pte_t pte = x86pte_get(p, htable_va2entry(va, p));
	cr_assert(pte_is_ptp(hat_mmu(hat), pte, 1));
	cr_assert_eq(pte_pfn(hat_mmu(hat), pte, 1), ht->ht_pfn);
	cr_assert_eq(ht_valid(p), 1);

	htable_t *again = htable_lookup(hat, va + 0x1000, 0);
	cr_assert_eq(again, ht);
	cr_assert_eq(ht->ht_busy, 2);
	htable_acquire(ht);
	cr_assert_eq(ht->ht_busy, 3);
	fx_release(ht);
	fx_release(ht);
	cr_assert_eq(ht->ht_busy, 1);
	cr_assert_eq(ht_audit(hat), -HT_ECORRUPT, "our hold is visible");
	/* last release of an empty level-0 table frees it and unlinks it */
	fx_release(ht);
	cr_assert_null(htable_lookup(hat, va, 0));
	cr_assert_eq(x86pte_get(p, htable_va2entry(va, p)), 0);
	/* level 1 >= max_page_level: kept although empty (illumos rule) */
	htable_t *p2 = htable_lookup(hat, va, 1);
	cr_assert_eq(p2, p);
	cr_assert_eq(ht_valid(p), 0);
	fx_release(p2);
	cr_assert_eq(ht_audit(hat), 0, "%s", ht_errdetail());
	/* the unlink was reported to the TLB hook */
	cr_assert(fx_tlb_covers(hat, 0x7f0000200000ull, 0x200000));
}

/*
 * The valid count's two parts (types.h): the one-entry path (one page
 * per call) counts in ht_valid_lk, holders on the general path (several
 * pages per call) in ht_valid_cnt, and only the sum means anything.
 * Leaves counted in by one and out by the other leave the parts apart;
 * the audit agrees with the sum, the last leaf's removal frees the
 * table, a reused descriptor starts at zero, and a part that grows too
 * large is folded into the other with the sum unchanged.
 */
Test(htable, valid_count_parts)
{
	fx_setup_mode(HT_MODE_4LEVEL, HT_PS_4K | HT_PS_2M, 16);
	hat_t *hat = fx.as;
	const uint64_t va = 0x7f0000200000ull, pa = 0x40000000ull;
	htable_t *ht;

	cr_assert_eq(ht_map(hat, va, pa, 0x2000, HT_W, 0), 0);
	cr_assert_not_null(ht = htable_lookup(hat, va, 0));
	fx_release(ht);		/* it stays: it has leaves */
	cr_assert_eq(ht_map(hat, va + 0x2000, pa, 0x1000, HT_W, 0), 0);
	cr_assert_eq(ht_map(hat, va + 0x3000, pa, 0x1000, HT_W, 0), 0);
	cr_assert_eq(atomic_load(&ht->ht_valid_cnt), 2);
	cr_assert_eq(atomic_load(&ht->ht_valid_lk), 2, "one page a call");
	cr_assert_eq(ht_unmap(hat, va + 0x2000, 0x2000, 0), 0);
	cr_assert_eq(atomic_load(&ht->ht_valid_cnt), 0);
	cr_assert_eq(ht_valid(ht), 2);
	cr_assert_eq(ht_unmap(hat, va, 0x1000, 0), 0);
	cr_assert_eq(atomic_load(&ht->ht_valid_cnt), 0);
	cr_assert_eq(atomic_load(&ht->ht_valid_lk), 1);
	cr_assert_eq(ht_audit(hat), 0, "%s", ht_errdetail());
	/* the last leaf: the general path frees the table */
	cr_assert_eq(ht_unmap(hat, va + 0x1000, 0x1000, 0), 0);
	cr_assert_null(htable_lookup(hat, va, 0));
	cr_assert_eq(ht_audit(hat), 0, "%s", ht_errdetail());

	cr_assert_eq(ht_map(hat, va, pa, 0x2000, HT_W, 0), 0);
	cr_assert_not_null(ht = htable_lookup(hat, va, 0));
	fx_release(ht);
	cr_assert_eq(atomic_load(&ht->ht_valid_lk), 0, "a new table's part");
	cr_assert_eq(ht_valid(ht), 2);
	bucket_lock_t *mtx = htable_mutex(ht);
	mutex_enter(mtx, LR_BUCKET);
	atomic_store(&ht->ht_valid_lk, HT_VALID_LK_FOLD);
	atomic_store(&ht->ht_valid_cnt, 2 - HT_VALID_LK_FOLD);
	ht_valid_lk_add(ht, 1);
	cr_assert_eq(atomic_load(&ht->ht_valid_lk), 0, "folded");
	cr_assert_eq(ht_valid(ht), 3);
	ht_valid_lk_add(ht, -1);
	mutex_exit(mtx);
	cr_assert_eq(ht_valid(ht), 2);
	cr_assert_eq(ht_audit(hat), 0, "%s", ht_errdetail());
}

Test(htable, release_cascades_when_1g_pages_allowed)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);	/* 1 GiB: max_page_level 2 */
	hat_t *hat = fx.as;
	int err;
	htable_t *ht = htable_create(hat, 0x40000000ull, 0, NULL, &err);

	cr_assert_not_null(ht);
	fx_release(ht);
	/* both the level-0 and the level-1 table went */
	cr_assert_null(htable_lookup(hat, 0x40000000ull, 0));
	cr_assert_null(htable_lookup(hat, 0x40000000ull, 1));
	htable_t *l2 = htable_lookup(hat, 0x40000000ull, 2);
	cr_assert_not_null(l2, "level 2 >= max_page_level is kept");
	fx_release(l2);
	cr_assert_eq(ht_audit(hat), 0, "%s", ht_errdetail());
}

Test(htable, create_under_large_leaf_is_lpage)
{
	fx_setup_mode(HT_MODE_PAE, 0, 16);
	int err = 0;

	cr_assert_eq(ht_map(fx.as, 0x200000, 0x400000, 0x200000, HT_W, 0), 0);
	cr_assert_null(htable_create(fx.as, 0x201000, 0, NULL, &err));
	cr_assert_eq(err, -HT_ELPAGE);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}

struct race { hat_t *hat; htable_t *got; };

static void *
racer(void *arg)
{
	struct race *r = arg;
	int err;

	r->got = htable_create(r->hat, 0x12345000ull, 0, NULL, &err);
	return (NULL);
}

Test(htable, concurrent_create_makes_one_table)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 64);
	for (int round = 0; round < 200; round++) {
		struct race r[4];
		pthread_t t[4];

		for (int i = 0; i < 4; i++) {
			r[i].hat = fx.as;
			pthread_create(&t[i], NULL, racer, &r[i]);
		}
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		for (int i = 1; i < 4; i++)
			cr_assert_eq(r[i].got, r[0].got);
		cr_assert_eq(r[0].got->ht_busy, 4);
		for (int i = 0; i < 4; i++)
			fx_release(r[i].got);
		cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	}
}

/*
 * A large page that replaces smaller ones while someone else holds the
 * table below (a walk running beside the map) falls back to smaller pages
 * inside that table, needing no frame, even when the size was forced.
 */
Test(htable, forced_large_page_over_a_held_table_falls_back)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	uint64_t G = 1ull << 30;

	cr_assert_eq(ht_map(fx.as, G, 0, G, HT_W, HT_MAP_SIZE(HT_PS_2M)), 0);
	htable_t *held = htable_lookup(fx.as, G, 1);
	cr_assert_not_null(held);
	uint64_t used = ht_arena_frames_used(fx.arena);
	ht_arena_set_limit(fx.arena, used);
	cr_assert_eq(ht_map(fx.as, G, 2 * G, G, HT_W, HT_MAP_SIZE(HT_PS_1G)),
	    0, "%s", ht_errdetail());
	ht_arena_set_limit(fx.arena, 0);
	ht_xlate_t x;
	cr_assert_eq(ht_translate(fx.as, G + 0x123000, &x), 0);
	cr_assert_eq(x.pa, 2 * G + 0x123000);
	cr_assert_eq(x.page_size, 2u << 20, "smaller pages inside the held "
	    "table");
	htable_release(held);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	ht_stats_t st;
	ht_as_stats(fx.as, &st);
	cr_assert_eq(st.lpage_fallbacks, 1);
}

/* Make the fixture's context again with a hash of n chains to start. */
static void
fx_small_hash(unsigned n)
{
	ht_as_destroy(fx.as);
	fx.as = NULL;
	cr_assert_eq(ht_ctx_destroy(fx.ctx), 0);
	fx.cfg.hash_buckets = n;
	cr_assert_eq(ht_ctx_create(&fx.cfg, &fx.ctx), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_as_create(fx.ctx, 0, &fx.as), 0);
}

static unsigned
old_hashes(const hat_t *hat)
{
	unsigned n = 0;

	for (ht_hash_t *t = htable_hash_cur(hat)->hh_old; t != NULL;
	    t = t->hh_old)
		n++;
	return (n);
}

#define GROW_VA		0x7f0000000000ull	/* 512 GiB aligned */
#define GROW_PA		0x40000000ull

/* one page in each of tables [from, to): a level-0 table each */
static void
map_tables(hat_t *hat, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++)
		cr_assert_eq(ht_map(hat, GROW_VA + (uint64_t)i * 0x200000,
		    GROW_PA + (uint64_t)i * 0x1000, 0x1000, HT_W, 0), 0,
		    "%s", ht_errdetail());
}

/*
 * The hash grows 4x at the end of any operation that leaves more tables
 * than an eighth of its chains; a pinned hash does not grow until it is
 * unpinned; every table stays where lookups find it; the hash never
 * shrinks; the statistics report its size.
 */
Test(htable, hash_grows_with_the_space)
{
	fx_setup_mode(HT_MODE_4LEVEL, HT_PS_4K | HT_PS_2M, 64);
	fx_small_hash(2);
	hat_t *hat = fx.as;
	ht_stats_t st;
	ht_hash_t *t;

	cr_assert_eq(htable_hash_cur(hat)->hh_n, 8, "the root made it grow");
	for (unsigned i = 0; i < 300; i++) {
		map_tables(hat, i, i + 1);
		t = htable_hash_cur(hat);
		cr_assert_leq(atomic_load(&hat->hat_ntables), t->hh_n >>
		    HASH_LOAD_SHIFT,
		    "%u tables, %u chains", atomic_load(&hat->hat_ntables),
		    t->hh_n);
	}
	/* 300 level-0 tables and 3 above: 8, 32, ..., 8192 */
	cr_assert_eq(atomic_load(&hat->hat_ntables), 303);
	cr_assert_eq(htable_hash_cur(hat)->hh_n, 8192);
	cr_assert_eq(old_hashes(hat), 6, "from 2 chains");
	cr_assert_eq(ht_audit(hat), 0, "%s", ht_errdetail());
	for (unsigned i = 0; i < 300; i++) {
		ht_pa_t pa;

		cr_assert_eq(ht_va2pa(hat, GROW_VA + (uint64_t)i * 0x200000,
		    &pa), 0);
		cr_assert_eq(pa, GROW_PA + (uint64_t)i * 0x1000);
	}

	t = htable_hash_pin(hat);
	map_tables(hat, 300, 1100);
	cr_assert_eq(htable_hash_cur(hat), t, "grown while pinned");
	htable_hash_unpin(hat);
	cr_assert_eq(ht_audit(hat), 0, "%s", ht_errdetail());
	map_tables(hat, 1100, 1101);	/* the next operation's end */
	cr_assert_eq(htable_hash_cur(hat)->hh_n, 32768);
	ht_as_stats(hat, &st);
	cr_assert_eq(st.hash_chains, 32768);
	cr_assert_eq(st.tables[0], 1101);
	cr_assert_eq(ht_audit(hat), 0, "%s", ht_errdetail());

	/* emptied level-0 tables go; the ones above stay (htable_keep) */
	cr_assert_eq(ht_unmap(hat, GROW_VA, 1101ull * 0x200000, 0), 0);
	ht_as_stats(hat, &st);
	cr_assert_eq(st.tables[0], 0);
	cr_assert_eq(atomic_load(&hat->hat_ntables), st.tables[1] +
	    st.tables[2] + st.tables[3]);
	cr_assert_eq(htable_hash_cur(hat)->hh_n, 32768, "it never shrinks");
	cr_assert_eq(ht_audit(hat), 0, "%s", ht_errdetail());
}

struct grow_race {
	hat_t		*hat;
	uint64_t	va;
	htable_t	*got;
};

static void *
grow_lookup(void *arg)
{
	struct grow_race *g = arg;

	g->got = htable_lookup(g->hat, g->va, 0);
	return (NULL);
}

static void *
grow_grow(void *arg)
{
	htable_hash_grow(arg);
	return (NULL);
}

/*
 * A lookup that waits for a chain's lock while the hash grows: whichever
 * gets the lock first, the lookup finds its table, in the old hash
 * before the move or in the new one after it (htable_chain_enter looks
 * again when the hash it read is no longer the space's).  The test holds
 * the lock until both the lookup and the grower wait for it.
 */
Test(htable, hash_grow_under_a_waiting_lookup)
{
	fx_setup_mode(HT_MODE_4LEVEL, HT_PS_4K | HT_PS_2M, 64);

	for (unsigned round = 0; round < 60; round++) {
		struct grow_race g;
		pthread_t tl, tg;
		bucket_lock_t *mtx;
		htable_t *ht;
		ht_hash_t *t;

		fx_small_hash(2);
		t = htable_hash_pin(fx.as);	/* the growth waits */
		map_tables(fx.as, 0, 40);
		htable_hash_unpin(fx.as);
		cr_assert_eq(htable_hash_cur(fx.as), t);
		g.hat = fx.as;
		g.va = GROW_VA + (uint64_t)(round % 40) * 0x200000;
		cr_assert_not_null(ht = htable_lookup(fx.as, g.va, 0));
		mtx = htable_lock(ht);
		cr_assert_eq(pthread_create(&tl, NULL, grow_lookup, &g), 0);
		cr_assert_eq(pthread_create(&tg, NULL, grow_grow, fx.as), 0);
		usleep(2000);
		mutex_exit(mtx);
		cr_assert_eq(pthread_join(tl, NULL), 0);
		cr_assert_eq(pthread_join(tg, NULL), 0);
		cr_assert_eq(g.got, ht, "round %u: the lookup found %p", round,
		    (void *)g.got);
		cr_assert_neq(htable_hash_cur(fx.as), t, "it grew");
		fx_release(g.got);
		fx_release(ht);
		cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	}
}
