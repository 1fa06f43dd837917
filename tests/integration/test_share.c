/*
 * test_share.c - shared page tables (ht_share, ht_unshare; hat_share.c,
 * share.c): whole tables of the source are linked into the sharer, and
 * every later change the source makes there is seen through the sharer,
 * with the sharer's TLB hook called; copies where no table fits; what the
 * source lacks is made so that it is shared too; unshare and either
 * space's destroy end a region with no frame lost and no hold left;
 * stealing leaves shared tables and the source alone.
 *
 * Only htable.h is used (with tests/lib/api_env.h).  Every test runs in
 * every paging mode and ends with every space destroyed and no frame
 * left allocated in the arena.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "../lib/api_env.h"

#define SRC_PA	(256 * MIB)

/* The leaves ht_walk reports, in order. */
typedef struct leaves {
	ht_leaf_t	v[64];
	size_t		n;
} leaves_t;

static int
leaves_cb(void *arg, const ht_leaf_t *l)
{
	leaves_t *s = arg;

	cr_assert_lt(s->n, 64);
	s->v[s->n++] = *l;
	return (0);
}

static uint64_t
frames_used(const env_t *e)
{
	return (ht_arena_frames_used(e->arena));
}

static void
unshare_one(ht_as_t *as, ht_va_t va, uint64_t len)
{
	int n = ht_unshare(as, va, len);

	cr_assert_eq(n, 1, "ht_unshare gave %d (%s)", n, ht_errdetail());
}

MODE_PARAMS(share, tables_follow_the_source)

/*
 * Two level-0 tables' worth of small pages are shared as two tables: the
 * sharer reads the source's leaves, sees the source's later maps and
 * unmaps at once, and its TLB hook is told in its own addresses.
 */
ParameterizedTest(ht_mode_t *mode, share, tables_follow_the_source,
    .timeout = 60)
{
	env_t *e = &E;
	ht_share_info_t info;
	ht_as_t *src, *sh;
	ht_stats_t st;
	leaves_t lv = { .n = 0 };
	uint64_t s1, before;
	ht_va_t vs = GIB, vd;

	env_setup(e, *mode);
	s1 = lsize(e->g, 1);
	vd = 2 * GIB + 4 * s1;
	src = e->as;
	OK(ht_as_create(e->ctx, 0, &sh));
	OK(ht_map(src, vs, SRC_PA, 3 * PG, HT_W | HT_U, 0));
	OK(ht_map(src, vs + s1 + PG, SRC_PA + 8 * PG, PG, 0, 0));
	/* the sharer's own pages around the region */
	OK(ht_map(sh, vd - PG, 0, PG, HT_W, 0));
	OK(ht_map(sh, vd + 2 * s1, PG, PG, HT_W, 0));
	/* a range that is not empty is refused, and left as it was */
	OK(ht_map(sh, vd + s1, 3 * PG, PG, HT_W, 0));
	cr_assert_eq(ht_share(sh, vd, src, vs, 2 * s1, &info), -HT_EEXIST);
	XLATE(sh, vd + s1, 3 * PG, PG, HT_W);
	OK(ht_unmap(sh, vd + s1, PG, 0));
	AUDIT(sh);
	AUDIT(src);
	before = frames_used(e);

	OK(ht_share(sh, vd, src, vs, 2 * s1, &info));
	cr_assert_eq(info.tables, 2);
	cr_assert_eq(info.table_bytes, 2 * s1);
	cr_assert_eq(info.copied, 0);
	cr_assert_eq(info.copied_bytes, 0);
	/* no frame of the source's tables was copied */
	cr_assert_leq(frames_used(e), before + 1);
	XLATE(sh, vd + PG, SRC_PA + PG, PG, HT_W | HT_U);
	XLATE(sh, vd + s1 + PG, SRC_PA + 8 * PG, PG, 0);
	UNMAPPED(sh, vd + 3 * PG);
	AUDIT(sh);
	AUDIT(src);

	/* a walk reads through the region, in the sharer's addresses */
	OK(ht_walk(sh, 0, va_last(e->g), leaves_cb, &lv));
	cr_assert_eq(lv.n, 6);
	cr_assert_eq(lv.v[0].va, vd - PG);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(lv.v[1 + i].va, vd + (uint64_t)i * PG);
		cr_assert_eq(lv.v[1 + i].pa, SRC_PA + (uint64_t)i * PG);
	}
	cr_assert_eq(lv.v[4].va, vd + s1 + PG);
	cr_assert_eq(lv.v[5].va, vd + 2 * s1);
	/* its counters count its own leaves only */
	ht_as_stats(sh, &st);
	cr_assert_eq(st.leaves[0], 2);

	/* the source maps: seen at once */
	OK(ht_map(src, vs + 5 * PG, SRC_PA + 5 * PG, PG, HT_W, 0));
	XLATE(sh, vd + 5 * PG, SRC_PA + 5 * PG, PG, HT_W);
	/* the source unmaps a page the MMU used: both hooks are told */
	raw_touch(e, src, vs, PG, E_A);
	tlb_reset(e);
	OK(ht_unmap(src, vs, PG, 0));
	UNMAPPED(sh, vd);
	cr_assert(tlb_covers(e, src, vs, PG));
	cr_assert(tlb_covers(e, sh, vd, PG), "the sharer's hook was not told");
	/* the source protects: the sharer's hook again */
	tlb_reset(e);
	OK(ht_protect(src, vs + PG, PG, 0));
	XLATE(sh, vd + PG, SRC_PA + PG, PG, 0);
	cr_assert(tlb_covers(e, sh, vd + PG, PG));
	/* report-only harvest reads through; the source's bits show */
	raw_touch(e, src, vs + 2 * PG, PG, E_A);
	cr_assert_eq(ht_harvest_ad(sh, vd, 2 * s1, HT_A, 0, NULL, NULL), 1);
	AUDIT(sh);
	AUDIT(src);

	/* the sharer's own work outside the region goes on */
	OK(ht_unmap(sh, vd - PG, PG, 0));
	OK(ht_map(sh, vd + 2 * s1 + PG, 2 * PG, PG, HT_W, 0));

	tlb_reset(e);
	unshare_one(sh, vd, 2 * s1);
	cr_assert(tlb_covers(e, sh, vd, 2 * s1));
	UNMAPPED(sh, vd + PG);
	UNMAPPED(sh, vd + 5 * PG);
	XLATE(src, vs + 5 * PG, SRC_PA + 5 * PG, PG, HT_W);
	cr_assert_eq(ht_unshare(sh, vd, 2 * s1), 0, "nothing left to end");
	AUDIT(sh);
	AUDIT(src);
	/* the region is the sharer's own again */
	OK(ht_map(sh, vd, 0, PG, HT_W, 0));
	ht_as_destroy(sh);
	AUDIT(src);
	env_teardown(e);
}

MODE_PARAMS(share, largest_table_and_its_children)

/*
 * A region of a level-1 table's span shares that one table (below the
 * root, where the mode has one), children included: the source's level-0
 * tables below it, and ones it makes later, are read through it.
 */
ParameterizedTest(ht_mode_t *mode, share, largest_table_and_its_children,
    .timeout = 60)
{
	env_t *e = &E;
	ht_share_info_t info;
	ht_as_t *src, *sh;
	uint64_t s1, span;
	ht_pa_t pa;
	ht_va_t vs, vd;
	int n = 0;

	env_setup(e, *mode);
	s1 = lsize(e->g, 1);
	/* the span of the highest table below the root */
	span = e->g->levels > 2 ? lsize(e->g, 2) : s1;
	vs = span;
	vd = 2 * span;
	src = e->as;
	OK(ht_as_create(e->ctx, 0, &sh));
	OK(ht_map(src, vs + PG, SRC_PA, PG, HT_W, 0));
	OK(ht_map(src, vs + 3 * s1, SRC_PA + s1, s1, HT_W, 0));	/* large */
	OK(ht_share(sh, vd, src, vs, span, &info));
	cr_assert_eq(info.tables, 1);
	cr_assert_eq(info.table_bytes, span);
	cr_assert_eq(info.copied, 0);
	XLATE(sh, vd + PG, SRC_PA, PG, HT_W);
	if (span > s1) {
		XLATE(sh, vd + 3 * s1 + PG, SRC_PA + s1 + PG, s1, HT_W);
		/* a new level-0 table of the source, under the shared one */
		OK(ht_map(src, vs + 7 * s1 + 2 * PG, SRC_PA + 4 * s1, PG,
		    HT_W, 0));
		XLATE(sh, vd + 7 * s1 + 2 * PG, SRC_PA + 4 * s1, PG, HT_W);
		OK(ht_va2pa(sh, vd + 7 * s1 + 2 * PG + 5, &pa));
		cr_assert_eq(pa, SRC_PA + 4 * s1 + 5);
		OK(ht_walk(sh, vd, vd + span - 1, count_cb, &n));
		cr_assert_eq(n, 3);
		/* the source empties and frees that table: gone for both */
		raw_touch(e, src, vs + 7 * s1 + 2 * PG, PG, E_A);
		tlb_reset(e);
		OK(ht_unmap(src, vs + 7 * s1, s1, 0));
		UNMAPPED(sh, vd + 7 * s1 + 2 * PG);
		cr_assert(tlb_covers(e, sh, vd + 7 * s1 + 2 * PG, PG));
	}
	AUDIT(sh);
	AUDIT(src);
	ht_as_destroy(sh);
	AUDIT(src);
	env_teardown(e);
}

MODE_PARAMS(share, missing_tables_are_made)

/*
 * Sharing a part of the source that has no table yet makes the tables,
 * empty, so that what the source maps there later is shared; ending the
 * share frees them (as an unmap would).
 */
ParameterizedTest(ht_mode_t *mode, share, missing_tables_are_made,
    .timeout = 60)
{
	env_t *e = &E;
	ht_share_info_t info;
	ht_as_t *src, *sh;
	ht_stats_t a, b;
	uint64_t s1, before, tables = 0;
	ht_va_t vs, vd;

	env_setup(e, *mode);
	s1 = lsize(e->g, 1);
	vs = GIB;
	vd = 2 * GIB;
	src = e->as;
	OK(ht_as_create(e->ctx, 0, &sh));
	before = frames_used(e);
	OK(ht_share(sh, vd, src, vs, 2 * s1, &info));
	cr_assert_eq(info.tables, 2);
	cr_assert_gt(frames_used(e), before);
	UNMAPPED(sh, vd);
	OK(ht_map(src, vs + s1 + 9 * PG, SRC_PA, PG, HT_W, 0));
	XLATE(sh, vd + s1 + 9 * PG, SRC_PA, PG, HT_W);
	OK(ht_unmap(src, vs + s1 + 9 * PG, PG, 0));
	UNMAPPED(sh, vd + s1 + 9 * PG);
	AUDIT(sh);
	AUDIT(src);
	unshare_one(sh, vd, 2 * s1);
	(void) ht_as_purge(sh);
	(void) ht_as_purge(src);
	/*
	 * The shared tables made for the share are gone; what stays is what
	 * an unmap leaves too (tables at the large-page levels are kept),
	 * and every frame in use is a table of the two.
	 */
	ht_as_stats(src, &a);
	ht_as_stats(sh, &b);
	cr_assert_eq(a.tables[0] + b.tables[0], 0);
	for (unsigned l = 0; l < e->g->levels; l++)
		tables += a.tables[l] + b.tables[l];
	cr_assert_eq(frames_used(e), tables, "%llu frames, %llu tables",
	    (unsigned long long)frames_used(e), (unsigned long long)tables);
	AUDIT(sh);
	AUDIT(src);
	ht_as_destroy(sh);
	env_teardown(e);
}

MODE_PARAMS(share, copies_where_no_table_fits)

/*
 * Misaligned regions and large pages are copied: the sharer holds locked
 * copies of what the source had, and later changes of the source are
 * not seen there.
 */
ParameterizedTest(ht_mode_t *mode, share, copies_where_no_table_fits,
    .timeout = 60)
{
	env_t *e = &E;
	ht_share_info_t info;
	ht_as_t *src, *sh;
	ht_xlate_t x;
	uint64_t s1, before;
	ht_va_t vs = GIB, vd = 2 * GIB + PG;

	env_setup(e, *mode);
	s1 = lsize(e->g, 1);
	src = e->as;
	OK(ht_as_create(e->ctx, 0, &sh));
	OK(ht_map(src, vs, SRC_PA, 4 * PG, HT_W, 0));
	OK(ht_map(src, vs + 2 * s1, SRC_PA + 2 * s1, s1, HT_W, 0));
	before = frames_used(e);

	/* one page off: nothing aligns, everything is copied */
	OK(ht_share(sh, vd, src, vs, 4 * PG, &info));
	cr_assert_eq(info.tables, 0);
	cr_assert_eq(info.copied, 4);
	cr_assert_eq(info.copied_bytes, 4 * PG);
	OK(ht_translate(sh, vd + 3 * PG, &x));
	cr_assert_eq(x.pa, SRC_PA + 3 * PG);
	cr_assert(x.attr & HT_LOCKED, "a copy is locked against stealing");
	OK(ht_unmap(src, vs + 3 * PG, PG, 0));
	XLATE(sh, vd + 3 * PG, SRC_PA + 3 * PG, PG, HT_W);
	AUDIT(sh);
	unshare_one(sh, vd, 4 * PG);
	UNMAPPED(sh, vd);

	/* a large page over an aligned span is copied whole */
	OK(ht_share(sh, 2 * GIB + 2 * s1, src, vs + 2 * s1, s1, &info));
	cr_assert_eq(info.tables, 0);
	cr_assert_eq(info.copied, 1);
	XLATE(sh, 2 * GIB + 2 * s1 + PG, SRC_PA + 2 * s1 + PG, s1, HT_W);
	/* part of a large page at an edge is copied in small pages */
	OK(ht_share(sh, 2 * GIB + 8 * s1 + s1 - 2 * PG, src,
	    vs + 2 * s1 + s1 - 2 * PG, 2 * PG, &info));
	cr_assert_eq(info.copied, 1);
	cr_assert_eq(info.copied_bytes, 2 * PG);
	XLATE(sh, 2 * GIB + 8 * s1 + s1 - PG, SRC_PA + 3 * s1 - PG, PG, HT_W);
	AUDIT(sh);
	AUDIT(src);
	ht_as_destroy(sh);
	cr_assert_leq(frames_used(e), before);
	AUDIT(src);
	env_teardown(e);
}

MODE_PARAMS(share, destroying_the_source_ends_its_shares)

/*
 * Destroying the source first unshares its regions from every sharer:
 * they read the region as unmapped, their hooks are told, and the region
 * is theirs again; no frame is lost.
 */
ParameterizedTest(ht_mode_t *mode, share, destroying_the_source_ends_its_shares,
    .timeout = 60)
{
	env_t *e = &E;
	ht_as_t *src, *a, *b;
	uint64_t s1;
	ht_va_t vs = GIB, vd = 2 * GIB;

	env_setup(e, *mode);
	s1 = lsize(e->g, 1);
	OK(ht_as_create(e->ctx, 0, &src));
	OK(ht_as_create(e->ctx, 0, &a));
	OK(ht_as_create(e->ctx, 0, &b));
	OK(ht_map(src, vs, SRC_PA, s1 + 2 * PG, HT_W,
	    HT_MAP_SIZE(HT_PS_4K)));
	OK(ht_share(a, vd, src, vs, 2 * s1, NULL));
	OK(ht_share(b, vd + 8 * s1, src, vs, s1, NULL));
	OK(ht_share(b, vd + 16 * s1 + PG, src, vs + PG, PG, NULL));
	XLATE(a, vd + s1 + PG, SRC_PA + s1 + PG, PG, HT_W);
	XLATE(b, vd + 8 * s1, SRC_PA, PG, HT_W);
	tlb_reset(e);
	ht_as_destroy(src);
	UNMAPPED(a, vd + s1 + PG);
	UNMAPPED(b, vd + 8 * s1);
	UNMAPPED(b, vd + 16 * s1 + PG);
	cr_assert(tlb_covers(e, a, vd, 2 * s1));
	cr_assert(tlb_covers(e, b, vd + 8 * s1, s1));
	OK(ht_map(a, vd, 0, PG, HT_W, 0));
	AUDIT(a);
	AUDIT(b);
	ht_as_destroy(a);
	ht_as_destroy(b);
	env_teardown(e);
}

MODE_PARAMS(share, stealing_leaves_shares_alone)

/*
 * Under memory pressure (every allocation steals first), neither the
 * source's tables nor the sharers' copies or links are taken; reaping and
 * purging keep them too; and the frames in the provider are exactly the
 * tables in use.
 */
ParameterizedTest(ht_mode_t *mode, share, stealing_leaves_shares_alone,
    .timeout = 60)
{
	env_t *e = &E;
	ht_as_t *src, *sh, *other, *victim;
	ht_stats_t st;
	uint64_t s1, tables = 0;
	ht_va_t vs = GIB, vd = 2 * GIB;

	env_setup(e, *mode);
	s1 = lsize(e->g, 1);
	src = e->as;
	OK(ht_as_create(e->ctx, 0, &sh));
	OK(ht_as_create(e->ctx, 0, &other));
	OK(ht_as_create(e->ctx, 0, &victim));
	OK(ht_map(src, vs, SRC_PA, 8 * PG, HT_W, 0));
	OK(ht_share(sh, vd, src, vs, s1, NULL));
	OK(ht_share(sh, vd + 4 * s1 + PG, src, vs + PG, 2 * PG, NULL));
	/* tables a stealer may take: one page in each of 16 */
	for (int i = 0; i < 16; i++)
		OK(ht_map(victim, (uint64_t)i * s1, 0, PG, HT_W, 0));
	ht_ctx_set_force_steal(e->ctx, 1);
	for (int i = 0; i < 8; i++)
		OK(ht_map(other, (uint64_t)i * 4 * s1, 0, PG, HT_W, 0));
	ht_ctx_stats(e->ctx, &st);
	cr_assert_gt(st.stolen, 0, "nothing was stolen");
	(void) ht_ctx_reap(e->ctx);
	(void) ht_as_purge(sh);
	ht_ctx_set_force_steal(e->ctx, 0);
	for (int i = 0; i < 8; i++)
		XLATE(sh, vd + (uint64_t)i * PG, SRC_PA + (uint64_t)i * PG, PG,
		    HT_W);
	XLATE(sh, vd + 4 * s1 + 2 * PG, SRC_PA + 2 * PG, PG, HT_W);
	XLATE(src, vs + 7 * PG, SRC_PA + 7 * PG, PG, HT_W);
	AUDIT(src);
	AUDIT(sh);
	AUDIT(other);
	ht_ctx_stats(e->ctx, &st);
	for (unsigned l = 0; l < e->g->levels; l++)
		tables += st.tables[l];
	cr_assert_eq(frames_used(e), tables, "%llu frames, %llu tables",
	    (unsigned long long)frames_used(e), (unsigned long long)tables);
	ht_as_destroy(victim);
	ht_as_destroy(other);
	ht_as_destroy(sh);
	env_teardown(e);
}
