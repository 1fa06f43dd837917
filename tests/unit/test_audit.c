/*
 * test_audit.c - ht_audit catches each invariant it claims to check.
 *
 * Every test builds a known 4-level space, checks that it audits clean,
 * breaks ONE invariant (in the frames, written through ht_arena_ptr, or
 * in the descriptors, through the internal headers), expects
 * -HT_ECORRUPT with ht_errdetail() naming that invariant, then repairs
 * the damage and expects a clean audit again (so the failure came from
 * the one change) before the space is torn down.
 *
 * The space: 4 KiB and 2 MiB pages (no 1 GiB pages), a 40-bit physical
 * width (so that links and leaves have reserved address bits), table
 * frames only from a pool of [1 MiB, 9 MiB) inside a 16 MiB arena.
 *   A_VA: 8 pages, one of them locked;  B_VA: 1 page, another level-1
 *   table;  L_VA: one 2 MiB page.
 * Every test runs twice: in 4-level paging (suite audit) and in ept4
 * (suite audit_ept: EPT's entry format, every HT_EPT_* flag), where the
 * entry bits a test writes are EPT's.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "htable_int.h"
#include "x86pte.h"
#include "frame.h"
#include "hat.h"
#include "geom.h"

#define PG		0x1000ull
#define MIB		0x100000ull
#define A_VA		0x400000ull		/* level-0 table A */
#define B_VA		0x40000000ull		/* another level-1 table */
#define L_VA		0x600000ull		/* a 2 MiB leaf */
#define POOL_END	(9 * MIB)
#define OUTSIDE_PA	(13 * MIB)		/* in the arena, not the pool */

static ht_arena_t *arena;
static ht_ctx_t *ctx;
static hat_t *hat;
static const mmu_t *m;

/* Raw EPT entry bits the tests write, from the SDM (vol. 3C, 29.3.2) */
#define RAW_EPT_X	0x004ull	/* execute: a link may lack it */
#define RAW_EPT_IGN3	0x008ull	/* ignored in a not-present entry */

static void
setup_mode(ht_mode_t mode)
{
	ht_config_t cfg;

	cr_assert_eq(ht_arena_create(MIB, 16 * MIB, 0, &arena), 0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	if (mode_ept(ht_geometry(mode)))
		cfg.ept = HT_EPT_AD | HT_EPT_MBEC | HT_EPT_XONLY;
	cfg.pagesizes = HT_PS_4K | HT_PS_2M;
	cfg.pa_bits = 40;
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = arena;
	cfg.pools[0].base = MIB;
	cfg.pools[0].len = POOL_END - MIB;
	cfg.npools = 1;
	cr_assert_eq(ht_ctx_create(&cfg, &ctx), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_as_create(ctx, 0, &hat), 0);
	m = hat_mmu(hat);
	cr_assert_eq(ht_map(hat, A_VA, 0x2000000, 8 * PG, HT_W, 0), 0);
	cr_assert_eq(ht_lock(hat, A_VA + 2 * PG, PG), 0);
	cr_assert_eq(ht_map(hat, B_VA, 0x3000000, PG, HT_W, 0), 0);
	cr_assert_eq(ht_map(hat, L_VA, 0x4000000, 2 * MIB, HT_W,
	    HT_MAP_SIZE(HT_PS_2M)), 0);
	cr_assert_eq(ht_audit(hat), 0, "%s", ht_errdetail());
}

static void
teardown(void)
{
	if (hat != NULL)
		ht_as_destroy(hat);
	hat = NULL;
	if (ctx != NULL)
		cr_expect_eq(ht_ctx_destroy(ctx), 0, "%s", ht_errdetail());
	ctx = NULL;
	if (arena != NULL) {
		cr_expect_eq(ht_arena_frames_used(arena), 0);
		ht_arena_destroy(arena);
	}
	arena = NULL;
}

static void
setup(void)
{
	setup_mode(HT_MODE_4LEVEL);
}

static void
setup_ept(void)
{
	setup_mode(HT_MODE_EPT4);
}

TestSuite(audit, .init = setup, .fini = teardown, .timeout = 60);
TestSuite(audit_ept, .init = setup_ept, .fini = teardown, .timeout = 60);

/* A test of both suites: 4-level paging and ept4. */
#define AUDIT_TEST(name)						\
	static void t_##name(void);					\
	Test(audit, name) { t_##name(); }				\
	Test(audit_ept, name) { t_##name(); }				\
	static void t_##name(void)

/* The table at (va, level), without keeping a hold on it. */
static htable_t *
table(uint64_t va, int level)
{
	htable_t *ht = htable_lookup(hat, va, level);

	cr_assert_not_null(ht, "no table at 0x%llx level %d",
	    (unsigned long long)va, level);
	htable_release(ht);
	return (ht);
}

/* The entry of va in the table at level, in the frame itself. */
static uint64_t *
entry(uint64_t va, int level)
{
	htable_t *ht = table(va, level);
	uint64_t *e = ht_arena_ptr(arena, (ht->ht_pfn << HT_PAGE_SHIFT) +
	    htable_va2entry(va, ht) * 8);

	cr_assert_not_null(e);
	return (e);
}

/* The audit fails, and its detail names the invariant (both words). */
static void
corrupt(const char *what, const char *also)
{
	int rc = ht_audit(hat);
	const char *d = ht_errdetail();

	cr_assert_eq(rc, -HT_ECORRUPT, "audit gave %d for '%s'", rc, what);
	cr_assert(strstr(d, what) != NULL && (also == NULL ||
	    strstr(d, also) != NULL), "detail '%s' does not say '%s'/'%s'", d,
	    what, also != NULL ? also : "");
}

static void
clean(void)
{
	cr_assert_eq(ht_audit(hat), 0, "after the repair: %s",
	    ht_errdetail());
}

/*
 * Flip bits of an entry in its frame (an empty entry: write one): the
 * audit names what; flip them back, and the audit is clean again.
 */
static void
flip(uint64_t *e, uint64_t bits, const char *what, const char *also)
{
	*e ^= bits;
	corrupt(what, also);
	*e ^= bits;
	clean();
}

/* Give t another frame and host pointer: the audit names what; undo. */
static void
reframe(htable_t *t, ht_pfn_t pfn, void *ptr, const char *what,
    const char *also)
{
	ht_pfn_t pfn0 = t->ht_pfn;
	void *ptr0 = t->ht_ptr;

	cr_assert_not_null(ptr);
	t->ht_pfn = pfn;
	t->ht_ptr = ptr;
	corrupt(what, also);
	t->ht_pfn = pfn0;
	t->ht_ptr = ptr0;
	clean();
}

/* Move ht from hash chain from to chain to (raw list edits, no hash). */
static void
rechain(htable_t *ht, unsigned from, unsigned to)
{
	ht_hash_t *t = htable_hash_cur(hat);

	if (ht->ht_prev != NULL)
		ht->ht_prev->ht_next = ht->ht_next;
	else
		*htable_head(t, from) = ht->ht_next;
	if (ht->ht_next != NULL)
		ht->ht_next->ht_prev = ht->ht_prev;
	ht->ht_prev = NULL;
	ht->ht_next = *htable_head(t, to);
	if (ht->ht_next != NULL)
		ht->ht_next->ht_prev = ht;
	*htable_head(t, to) = ht;
}

/* ------------------------------------------------------------------ */
/* Counts                                                              */
/* ------------------------------------------------------------------ */

AUDIT_TEST(valid_count)
{
	uint64_t *e = entry(A_VA + 5 * PG, 0), save = *e;

	*e = 0;		/* an entry vanishes behind the library's back */
	corrupt("valid count", NULL);
	*e = save;
	clean();
	atomic_fetch_add(&table(A_VA, 0)->ht_valid_cnt, 1);
	corrupt("valid count", NULL);
	atomic_fetch_sub(&table(A_VA, 0)->ht_valid_cnt, 1);
	clean();
}

AUDIT_TEST(not_present_entry_not_zero)
{
	/* data with the present bits clear (EPT: bits 0-2 and 10) */
	uint64_t data = 0x5000000ull | (m->ept ? RAW_EPT_IGN3 : PT_WRITABLE);

	/* above level 0 no entry may hold data */
	flip(entry(A_VA + 100 * 2 * MIB, 1), data,
	    "not present but not zero", NULL);
	/* at level 0 only in a space that stores such entries (ht_set_np) */
	flip(entry(A_VA + 100 * PG, 0), data,
	    "non-present data entries in a space not marked HAT_NP", NULL);
}

AUDIT_TEST(lock_count)
{
	flip(entry(A_VA + 4 * PG, 0), m->pt_locked, "lock count", NULL);
	atomic_fetch_sub(&table(A_VA, 0)->ht_lock_cnt, 1);
	corrupt("lock count", NULL);
	atomic_fetch_add(&table(A_VA, 0)->ht_lock_cnt, 1);
	clean();
}

AUDIT_TEST(page_count)
{
	hat_pm_add(hat, 0, 1);
	corrupt("page count says", NULL);
	hat_pm_add(hat, 0, -1);
	hat_pm_add(hat, 1, -1);
	corrupt("page count says", "level 1");
	hat_pm_add(hat, 1, 1);
	clean();
}

/* ------------------------------------------------------------------ */
/* Holds                                                               */
/* ------------------------------------------------------------------ */

AUDIT_TEST(holds)
{
	htable_t *ht = htable_lookup(hat, A_VA, 0);	/* kept */

	cr_assert_not_null(ht);
	corrupt("busy", "hold was leaked or lost");
	htable_release(ht);
	clean();
	ht = table(A_VA, 1);
	BUSY_ADD(ht, -1);	/* a child's hold on its parent is lost */
	corrupt("busy 0", "hold was leaked or lost");
	BUSY_ADD(ht, 1);
	clean();
}

/* ------------------------------------------------------------------ */
/* Links                                                               */
/* ------------------------------------------------------------------ */

AUDIT_TEST(link_reserved_bits)
{
	cr_assert(m->rsvd_ptp[1] & (1ull << 45));
	flip(entry(A_VA, 1), 1ull << 45, "link", "has reserved bits");
}

AUDIT_TEST(link_to_no_descriptor)
{
	/* empty root entry 7: a link to a pool frame no table owns */
	flip(entry(7ull << 39, 3), mkptp(m, (8 * MIB) >> HT_PAGE_SHIFT, 3),
	    "with no descriptor", NULL);
}

AUDIT_TEST(link_to_the_wrong_frame)
{
	uint64_t *e = entry(A_VA, 1), save = *e;

	*e = mkptp(m, table(B_VA, 0)->ht_pfn, 1);
	corrupt("names frame", "child has");
	*e = save;
	clean();
}

AUDIT_TEST(link_not_as_link_ptp_writes)
{
	/* a valid link all the same (EPT: one without execute) */
	flip(entry(A_VA, 1), m->ept ? RAW_EPT_X : PT_NOCACHE,
	    "is not what link_ptp writes", NULL);
}

AUDIT_TEST(child_with_the_wrong_parent)
{
	htable_t *a = table(A_VA, 0), *p = a->ht_parent;

	a->ht_parent = table(B_VA, 1);	/* a level-1 table, not its own */
	corrupt("has the wrong parent", NULL);
	a->ht_parent = p;
	clean();
}

AUDIT_TEST(table_without_parent)
{
	htable_t *a = table(A_VA, 0), *p = a->ht_parent;

	a->ht_parent = NULL;
	corrupt("has no parent one level up", NULL);
	a->ht_parent = table(A_VA, 2);	/* two levels up */
	corrupt("has no parent one level up", NULL);
	a->ht_parent = p;
	clean();
}

AUDIT_TEST(table_not_linked)
{
	htable_t *b = table(B_VA, 0), *p = b->ht_parent;
	uint64_t *e = entry(B_VA, 1), save = *e;

	/* the link goes, with the parent's count and hold: b is orphaned */
	*e = 0;
	atomic_fetch_sub(&p->ht_valid_cnt, 1);
	BUSY_ADD(p, -1);
	corrupt("a table is unreachable", NULL);
	*e = save;
	atomic_fetch_add(&p->ht_valid_cnt, 1);
	BUSY_ADD(p, 1);
	clean();
}

/* ------------------------------------------------------------------ */
/* Leaves                                                              */
/* ------------------------------------------------------------------ */

AUDIT_TEST(leaf_reserved_bits)
{
	/* above the 40-bit width */
	flip(entry(A_VA + 3 * PG, 0), 1ull << 44, "leaf", "has reserved bits");
	/* between PAT and a 2 MiB page's address */
	flip(entry(L_VA, 1), 1ull << 14, "leaf", "has reserved bits");
}

AUDIT_TEST(leaf_at_a_level_without_pages)
{
	/* a 1 GiB leaf, on a CPU that was said to have no 1 GiB pages */
	flip(entry(3ull << 30, 2), 0x40000000ull | PT_VALID | PT_WRITABLE |
	    PT_PAGESIZE, "where the CPU has no such pages", NULL);
}

/* ------------------------------------------------------------------ */
/* Hash membership and descriptors                                     */
/* ------------------------------------------------------------------ */

AUDIT_TEST(root_descriptor)
{
	htable_t *root = hat->hat_htable;

	root->ht_parent = table(A_VA, 2);
	corrupt("root descriptor", NULL);
	root->ht_parent = NULL;
	clean();
}

AUDIT_TEST(table_on_the_wrong_chain)
{
	htable_t *a = table(A_VA, 0);
	unsigned h = htable_hash(hat, htable_hash_cur(hat), a->ht_vaddr, 0);
	/* the next chain (each has its own lock): only the chain is wrong */
	unsigned other = (h + 1) & (htable_hash_cur(hat)->hh_n - 1);

	rechain(a, h, other);
	corrupt("not its own", NULL);
	rechain(a, other, h);
	clean();
}

AUDIT_TEST(hash_chain_broken)
{
	htable_t *a = table(A_VA, 0);
	ht_hash_t *t = htable_hash_cur(hat);
	htable_t *head = *htable_head(t, htable_hash(hat, t, a->ht_vaddr, 0));

	head->ht_prev = a == head ? table(B_VA, 0) : a;
	corrupt("hash chain", "is broken");
	head->ht_prev = NULL;
	clean();
}

AUDIT_TEST(table_of_another_space)
{
	hat_t *other;
	htable_t *a = table(A_VA, 0);

	cr_assert_eq(ht_as_create(ctx, 0, &other), 0);
	a->ht_hat = other;
	corrupt("another space", NULL);
	a->ht_hat = hat;
	clean();
	ht_as_destroy(other);
}

AUDIT_TEST(table_level_out_of_range)
{
	htable_t *a = table(A_VA, 0);

	a->ht_level = 9;
	corrupt("table with level 9", NULL);
	a->ht_level = 0;
	clean();
}

AUDIT_TEST(vaddr_not_aligned)
{
	htable_t *a = table(A_VA, 0);

	a->ht_vaddr += PG;
	corrupt("not aligned to its region", NULL);
	a->ht_vaddr -= PG;
	clean();
}

AUDIT_TEST(vaddr_not_canonical)
{
	htable_t *a = table(A_VA, 0);
	ht_hash_t *t = htable_hash_cur(hat);
	unsigned h = htable_hash(hat, t, a->ht_vaddr, 0);
	/* in the hole, aligned; in EPT beyond the space */
	uint64_t bad = m->ept ? 0x0001000000400000ull : 0x0000900000400000ull;
	unsigned hb = htable_hash(hat, t, bad, 0);

	/* on the chain its new vaddr hashes to: only the hole is wrong */
	a->ht_vaddr = bad;
	rechain(a, h, hb);
	corrupt("not canonical", NULL);
	a->ht_vaddr = A_VA;
	rechain(a, hb, h);
	clean();
}

/* ------------------------------------------------------------------ */
/* Frames                                                              */
/* ------------------------------------------------------------------ */

AUDIT_TEST(frame_used_twice)
{
	htable_t *b = table(B_VA, 0);

	reframe(table(A_VA, 0), b->ht_pfn, b->ht_ptr, "used twice", NULL);
}

AUDIT_TEST(frame_outside_the_pools)
{
	reframe(table(A_VA, 0), OUTSIDE_PA >> HT_PAGE_SHIFT,
	    ht_arena_ptr(arena, OUTSIDE_PA), "outside the pools", NULL);
}

AUDIT_TEST(stale_host_pointer)
{
	htable_t *a = table(A_VA, 0);

	reframe(a, a->ht_pfn, table(B_VA, 0)->ht_ptr, "is stale", NULL);
}

/* ------------------------------------------------------------------ */
/* The cache of free tables                                            */
/* ------------------------------------------------------------------ */

/* Unmap B: its emptied level-0 table goes to the cache. */
static htable_t *
cached_table(void)
{
	htable_t *c;

	cr_assert_eq(ht_unmap(hat, B_VA, PG, 0), 0);
	c = hat_cache_peek(hat);
	cr_assert_not_null(c, "no table was cached");
	clean();
	return (c);
}

AUDIT_TEST(cached_table_not_zero)
{
	htable_t *c = cached_table();

	((uint64_t *)c->ht_ptr)[17] = 0x1234000ull;
	corrupt("is not zero", NULL);
	((uint64_t *)c->ht_ptr)[17] = 0;
	clean();
}

AUDIT_TEST(cached_frame_in_use)
{
	htable_t *c = cached_table();

	reframe(c, table(A_VA, 0)->ht_pfn, c->ht_ptr, "also in use", NULL);
}

AUDIT_TEST(cached_frame_outside_the_pools)
{
	reframe(cached_table(), OUTSIDE_PA >> HT_PAGE_SHIFT,
	    ht_arena_ptr(arena, OUTSIDE_PA), "cached frame",
	    "outside the pools");
}

AUDIT_TEST(cache_count)
{
	(void) cached_table();
	atomic_fetch_add(&hat->hat_pm[0].pm_ncached, 1);
	corrupt("cache count says", NULL);
	atomic_fetch_sub(&hat->hat_pm[0].pm_ncached, 1);
	clean();
}

/* ------------------------------------------------------------------ */
/* Shared tables                                                       */
/* ------------------------------------------------------------------ */

AUDIT_TEST(shared_table_mirrors_its_source)
{
	hat_t *ism;
	htable_t *src, *sh;
	int err;

	cr_assert_eq(hat_create(ctx, HAT_SHARED, &ism), 0);
	cr_assert_eq(ht_map(ism, 0x80000000, 0x1000000, 4 * PG, HT_W, 0), 0);
	src = htable_lookup(ism, 0x80000000, 0);
	cr_assert_not_null(src);
	sh = htable_create(hat, 0xc0000000, 0, src, &err);
	cr_assert_not_null(sh, "%s", ht_errdetail());
	/* our hold from htable_create stands for the region's (ht_share) */
	clean();
	sh->ht_shares = NULL;
	corrupt("does not borrow a source's table", NULL);
	sh->ht_shares = src;
	clean();
	BUSY_ADD(sh, 1);
	corrupt("shared table 0xc0000000 level 0", "the region's hold");
	BUSY_ADD(sh, -1);
	atomic_fetch_add(&sh->ht_valid_cnt, 1);
	corrupt("shared table 0xc0000000 level 0", "valid 1");
	atomic_fetch_sub(&sh->ht_valid_cnt, 1);
	clean();
	/* the source counts its sharers, in its holds too */
	atomic_fetch_sub(&src->ht_nsharers, 1);
	corrupt("its source does not count it", NULL);
	atomic_fetch_add(&src->ht_nsharers, 1);
	clean();
	htable_release(sh);
	cr_assert_eq(atomic_load(&src->ht_nsharers), 0);
	htable_release(src);
	clean();
	cr_assert_eq(ht_audit(ism), 0, "%s", ht_errdetail());
	/* a source's table holds one hold per sharer, and no more */
	src = htable_lookup(ism, 0x80000000, 0);
	atomic_fetch_add(&src->ht_nsharers, 1);
	htable_release(src);
	cr_assert_eq(ht_audit(ism), -HT_ECORRUPT);
	cr_assert(strstr(ht_errdetail(), "a hold was leaked") != NULL, "%s",
	    ht_errdetail());
	atomic_fetch_sub(&src->ht_nsharers, 1);
	cr_assert_eq(ht_audit(ism), 0, "%s", ht_errdetail());
	ht_as_destroy(ism);
}
