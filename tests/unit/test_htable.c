/*
 * test_htable.c - unit tests of the descriptor layer: index arithmetic,
 * holds (lookup/create/acquire/release), link/unlink, retention, the walk,
 * getpte/getpage, the PTE layer and the PTE encodings of every mode.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "fixture.h"
#include "htable_int.h"
#include "x86pte.h"
#include "op.h"
#include "iter.h"

static const ht_mode_t modes[] = { HT_MODE_32BIT, HT_MODE_PAE,
    HT_MODE_4LEVEL, HT_MODE_5LEVEL };

TestSuite(htable, .fini = fx_teardown, .timeout = 60);

Test(htable, e2va_va2entry_roundtrip_all_modes)
{
	for (int i = 0; i < 4; i++) {
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
	cr_assert(pte_is_ptp(pte, 1));
	cr_assert_eq(pte_pfn(hat_mmu(hat), pte, 1), ht->ht_pfn);
	cr_assert_eq(atomic_load(&p->ht_valid_cnt), 1);

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
	cr_assert_eq(atomic_load(&p->ht_valid_cnt), 0);
	fx_release(p2);
	cr_assert_eq(ht_audit(hat), 0, "%s", ht_errdetail());
	/* the unlink was reported to the TLB hook */
	cr_assert(fx_tlb_covers(hat, 0x7f0000200000ull, 0x200000));
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

Test(htable, walk_finds_leaves_in_order_across_the_hole)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 64);
	const uint64_t vas[] = { 0x1000, 0x200000, 0x7ffffffff000ull,
	    0xffff800000000000ull, 0xffffffffc0000000ull,
	    0xfffffffffffff000ull };
	const uint64_t lens[] = { 0x1000, 0x200000, 0x1000, 0x1000,
	    0x3fe00000, 0x1000 };

	for (int i = 0; i < 6; i++)
		cr_assert_eq(ht_map(fx.as, vas[i], 0x100000000ull, lens[i], 0,
		    0), 0, "%d: %s", i, ht_errdetail());
	htable_t *ht = NULL;
	uint64_t va = 0;
	int i = 0;
	x86pte_t pte;
	while ((pte = htable_next_leaf(fx.as, &ht, &va, ~0ull)) != 0) {
		cr_assert(i < 6);
		cr_assert_eq(va, vas[i], "leaf %d at 0x%llx", i,
		    (unsigned long long)va);
		cr_assert(pte_is_page(pte, ht->ht_level));
		va += lens[i];
		i++;
		if (va == 0)
			break;
	}
	if (ht != NULL)
		fx_release(ht);
	cr_assert_eq(i, 6);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}

Test(htable, walk_respects_the_end)
{
	fx_setup_mode(HT_MODE_32BIT, 0, 16);
	cr_assert_eq(ht_map(fx.as, 0x400000, 0, 0x800000, 0, 0), 0);
	htable_t *ht = NULL;
	uint64_t va = 0;
	x86pte_t pte = htable_next_leaf(fx.as, &ht, &va, 0x3fffff);
	cr_assert_eq(pte, 0);
	cr_assert_null(ht);
	/* inside a large leaf: that leaf, whole (illumos rounds down) */
	va = 0x500000;
	pte = htable_next_leaf(fx.as, &ht, &va, 0xffffffff);
	cr_assert_eq(va, 0x400000);
	cr_assert_eq(ht->ht_level, 1);
	va += 0x400000;
	pte = htable_next_leaf(fx.as, &ht, &va, 0xffffffff);
	cr_assert_eq(va, 0x800000);
	va += 0x400000;
	pte = htable_next_leaf(fx.as, &ht, &va, 0xffffffff);
	cr_assert_eq(pte, 0);
	cr_assert_null(ht);
}

Test(htable, getpte_getpage)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	unsigned e;
	x86pte_t pte;

	cr_assert_eq(ht_map(fx.as, 0x40000000, 0x80000000, 0x40000000, 0, 0),
	    0);
	cr_assert_eq(ht_map(fx.as, 0x1000, 0x2000, 0x1000, 0, 0), 0);
	htable_t *ht = htable_getpage(fx.as, 0x40001000, &e);
	cr_assert_not_null(ht);
	cr_assert_eq(ht->ht_level, 2);
	fx_release(ht);
	cr_assert_null(htable_getpage(fx.as, 0x3000, &e));
	ht = htable_getpte(fx.as, 0x3000, &e, &pte, 2);
	cr_assert_not_null(ht);
	cr_assert_eq(ht->ht_level, 0);
	cr_assert_eq(e, 3);
	cr_assert_eq(pte, 0);
	fx_release(ht);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}

/* --- the PTE layer --- */

static htable_t *
leaf_table(uint64_t va, int level)
{
	int err;
	htable_t *ht = htable_create(fx.as, va, level, NULL, &err);

	cr_assert_not_null(ht, "%s", ht_errdetail());
	return (ht);
}

Test(x86pte, set_keeps_ref_mod_on_same_frame)
{
	for (int i = 0; i < 4; i++) {
		fx_setup_mode(modes[i], 0, 16);
		const mmu_t *m = hat_mmu(fx.as);
		htable_t *ht = leaf_table(0x400000, 0);
		x86pte_t a = mkpte(m, 0x10000, 0, HT_W);
		op_t op;

		cr_assert_eq(x86pte_set(ht, 0, a, NULL), 0);
		/* the MMU marks it used */
		cr_assert_eq(x86pte_cas(ht, 0, a, a | PT_REF | PT_MOD), a);
		fx_tlb_reset();
		/* same frame, other permission: REF/MOD stay, TLB told */
		x86pte_t b = mkpte(m, 0x10000, 0, 0);
		cr_assert_eq(x86pte_set(ht, 0, b, NULL), a | PT_REF | PT_MOD);
		cr_assert_eq(x86pte_get(ht, 0), b | PT_REF | PT_MOD);
		cr_assert_eq(fx.ntlb, 1);
		/* identical again: returns new, no change */
		cr_assert_eq(x86pte_set(ht, 0, b, NULL), b);
		/* a new frame starts clean */
		x86pte_t c = mkpte(m, 0x20000, 0, 0);
		cr_assert_eq(x86pte_set(ht, 0, c, NULL), b | PT_REF | PT_MOD);
		cr_assert_eq(x86pte_get(ht, 0), c);
		/* inval: wrong expected frame leaves it; right one clears */
		cr_assert_eq(x86pte_inval(ht, 0, a, NULL, 1), c);
		cr_assert_eq(x86pte_get(ht, 0), c);
		op_begin(&op, fx.as);
		fx_tlb_reset();
		cr_assert_eq(x86pte_inval(ht, 0, c, NULL, 1), c);
		op_end(&op);
		cr_assert_eq(fx.ntlb, 0, "never referenced: nothing cached");
		cr_assert_eq(x86pte_get(ht, 0), 0);
		cr_assert_eq(x86pte_inval(ht, 0, 0, NULL, 1), 0);
		fx_release(ht);
		cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
		fx_teardown();
	}
}

Test(x86pte, set_refuses_large_page_over_table)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	const mmu_t *m = hat_mmu(fx.as);
	htable_t *l0 = leaf_table(0x200000, 0);
	htable_t *l1 = l0->ht_parent;
	unsigned e = htable_va2entry(0x200000, l1);
	x86pte_t before = x86pte_get(l1, e);

	cr_assert_eq(x86pte_set(l1, e, mkpte(m, 0x400000, 1, 0), NULL),
	    LPAGE_ERROR);
	cr_assert_eq(x86pte_get(l1, e), before);
	fx_release(l0);
}

/* A CPU that writes through a stale writable TLB entry during the flush. */
static htable_t *stale_ht;
static void
stale_writer(void *arg, ht_as_t *as, ht_va_t va, uint64_t len)
{
	(void) arg; (void) as; (void) va; (void) len;
	x86pte_t cur = x86pte_get(stale_ht, 1);
	(void) x86pte_cas(stale_ht, 1, cur, cur | PT_MOD);
}

Test(x86pte, update_detects_stale_tlb_write)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	const mmu_t *m = hat_mmu(fx.as);
	htable_t *ht = leaf_table(0x1000, 0);
	x86pte_t rw = mkpte(m, 0x7000, 0, HT_W) | PT_REF;
	x86pte_t ro = mkpte(m, 0x7000, 0, 0) | PT_REF;

	(void) x86pte_set(ht, 1, rw, NULL);
	/* clean success returns expect; the TLB is always told */
	fx_tlb_reset();
	cr_assert_eq(x86pte_update(ht, 1, rw, ro), rw);
	cr_assert_eq(x86pte_get(ht, 1), ro);
	cr_assert_eq(fx.ntlb, 1);
	/* a mismatching expect changes nothing and returns what is there */
	cr_assert_eq(x86pte_update(ht, 1, rw, rw), ro);
	cr_assert_eq(x86pte_get(ht, 1), ro);
	/* make it writable again, then race a stale TLB write */
	cr_assert_eq(x86pte_update(ht, 1, ro, rw), ro);
	stale_ht = ht;
	fx.ctx->ctx_cfg.tlb = stale_writer;
	x86pte_t got = x86pte_update(ht, 1, rw, ro);
	fx.ctx->ctx_cfg.tlb = NULL;
	cr_assert_neq(got, rw, "the caller must see a failed update");
	cr_assert_eq(x86pte_get(ht, 1), ro | PT_MOD | PT_WRITABLE,
	    "write permission restored, dirty bit kept");
	(void) x86pte_inval(ht, 1, 0, NULL, 0);
	fx_release(ht);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}

Test(x86pte, copy_and_zero)
{
	for (int i = 0; i < 4; i += 2) {
		fx_setup_mode(modes[i], 0, 16);
		const mmu_t *m = hat_mmu(fx.as);
		htable_t *a = leaf_table(0x400000, 0);
		htable_t *b = leaf_table(0x800000, 0);

		for (unsigned e = 0; e < 8; e++)
			(void) x86pte_set(a, e, mkpte(m, e << 12, 0, HT_W),
			    NULL);
		x86pte_copy(a, b, 2, 4);
		for (unsigned e = 0; e < 8; e++)
			cr_assert_eq(x86pte_get(b, e), (e >= 2 && e < 6) ?
			    x86pte_get(a, e) : 0);
		x86pte_zero(a, 0, 8);
		x86pte_zero(b, 0, 8);
		for (unsigned e = 0; e < 8; e++)
			cr_assert_eq(x86pte_get(a, e), 0);
		fx_release(a);
		fx_release(b);
		cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
		fx_teardown();
	}
}

/* --- encodings --- */

Test(mmu, geometry_of_every_mode)
{
	const ht_geometry_t *g = ht_geometry(HT_MODE_32BIT);
	cr_assert_eq(g->levels, 2);
	cr_assert_eq(g->pte_size, 4);
	cr_assert_eq(g->ptes_per_table, 1024);
	g = ht_geometry(HT_MODE_PAE);
	cr_assert_eq(g->top_level_count, 4);
	cr_assert_eq(g->pagesizes, HT_PS_4K | HT_PS_2M);
	g = ht_geometry(HT_MODE_5LEVEL);
	cr_assert_eq(g->level_shift[4], 48);
	cr_assert_eq(g->hole_start, 1ull << 56);
	cr_assert_eq(g->hole_end, 0xfeffffffffffffffull);
	cr_assert_null(ht_geometry((ht_mode_t)7));
	ht_mode_t mm;
	cr_assert_eq(ht_mode_parse("pae", &mm), 0);
	cr_assert_eq(mm, HT_MODE_PAE);
	cr_assert_eq(ht_mode_parse("6level", &mm), -HT_EINVAL);
}

Test(mmu, pte_roundtrip_every_level_and_pse36)
{
	for (int i = 0; i < 4; i++) {
		mmu_t m;
		cr_assert_eq(mmu_init(&m, modes[i], 0, 0, 0), 0);
		for (int l = 0; l <= m.max_page_level; l++) {
			if (!mmu_leaf_ok(&m, l))
				continue;
			ht_pa_t pa = (m.pa_limit - LEVEL_SIZE(&m, l)) &
			    LEVEL_MASK(&m, l);
			/* 4 KiB entries of 32-bit paging stop at 4 GiB */
			if (m.pte_size == 4)
				pa = 0xffffffffull & LEVEL_MASK(&m, l);
			x86pte_t pte = mkpte(&m, pa, l, HT_W | HT_U | HT_PAT |
			    HT_G);
			cr_assert_eq(pte_pa(&m, pte, l), pa, "mode %d level "
			    "%d: 0x%llx", i, l, (unsigned long long)pte);
			cr_assert_eq(pte & m.rsvd_leaf[l], 0);
			unsigned a = pte_attr(&m, pte, l);
			cr_assert_eq(a & (HT_W | HT_U | HT_PAT | HT_G),
			    HT_W | HT_U | HT_PAT | HT_G);
			cr_assert_eq(!!(a & HT_X), !m.pt_nx);
			if (l > 0) {
				x86pte_t d = pte_demote(&m, pte, l, pa +
				    LEVEL_SIZE(&m, l - 1));
				cr_assert_eq(pte_pa(&m, d, l - 1), pa +
				    LEVEL_SIZE(&m, l - 1));
				cr_assert_eq(pte_attr(&m, d, l - 1), a);
			}
		}
	}
	/* PSE-36: a 4 MiB page at 0xff_ffc0_0000 puts bits 32..39 in 13..20 */
	mmu_t m32;
	cr_assert_eq(mmu_init(&m32, HT_MODE_32BIT, 0, 40, 0), 0);
	x86pte_t p = mkpte(&m32, 0xffffc00000ull, 1, 0);
	cr_assert_eq(p & 0x1fe000, 0x1fe000);
	cr_assert_eq(p >> 32, 0);
	cr_assert_eq(pte_pa(&m32, p, 1), 0xffffc00000ull);
}

Test(mmu, bad_configs)
{
	mmu_t m;
	cr_assert_eq(mmu_init(&m, HT_MODE_PAE, HT_PS_1G, 0, 0), -HT_EPAGESIZE);
	cr_assert_eq(mmu_init(&m, HT_MODE_4LEVEL, HT_PS_2M, 0, 0),
	    -HT_EPAGESIZE);
	cr_assert_eq(mmu_init(&m, HT_MODE_32BIT, 0, 41, 0), -HT_EINVAL);
	cr_assert_eq(mmu_init(&m, HT_MODE_4LEVEL, 0, 31, 0), -HT_EINVAL);
	/* 1 GiB pages split into 2 MiB ones: the set must have both */
	cr_assert_eq(mmu_init(&m, HT_MODE_4LEVEL, HT_PS_4K | HT_PS_1G, 0, 0),
	    -HT_EPAGESIZE);
	cr_assert_eq(mmu_init(&m, HT_MODE_4LEVEL, HT_PS_4K | HT_PS_2M |
	    HT_PS_1G, 0, 0), 0);
	cr_assert_eq(m.leaf_levels, 0x7u);
	cr_assert_eq(m.max_page_level, 2);
	cr_assert_eq(mmu_init(&m, HT_MODE_4LEVEL, HT_PS_4K | HT_PS_2M, 0, 0),
	    0);
	cr_assert_eq(m.leaf_levels, 0x3u);
	cr_assert_eq(m.max_page_level, 1);
}

/*
 * Frames an operation reserved and did not use (another thread made the
 * table first) go back to the provider when it ends, not to the space's
 * cache; a failed reservation gives back what it had got.
 */
Test(htable, op_leftover_frames_go_back_to_the_provider)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	uint64_t used = ht_arena_frames_used(fx.arena);
	op_t op;

	op_begin(&op, fx.as);
	cr_assert_eq(op_prealloc_tables(&op, 3), 0);
	cr_assert_eq(ht_arena_frames_used(fx.arena), used + 3);
	op_end(&op);
	cr_assert_eq(fx.as->hat_num_cached, 0);
	cr_assert_eq(ht_arena_frames_used(fx.arena), used);

	/* a reservation that cannot be met takes nothing */
	ht_arena_set_limit(fx.arena, used + 2);
	op_begin(&op, fx.as);
	cr_assert_eq(op_prealloc_tables(&op, 3), -HT_ENOFRAME);
	cr_assert_eq(ht_arena_frames_used(fx.arena), used);
	cr_assert_eq(op.op_prealloc, NULL);
	op_end(&op);
	cr_assert_eq(fx.as->hat_num_cached, 0);
	cr_assert_eq(ht_arena_frames_used(fx.arena), used);
	ht_arena_set_limit(fx.arena, 0);
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
