/*
 * test_front.c - the one-entry front of a space that several threads may
 * change (hat_one.h, mw_find): a call for one entry of a table that
 * exists goes from the entry point straight to that entry, and the table
 * stands in for the range checks.  These tests put tables at the edges of
 * each mode's address space and call next to them: every call the front
 * must not take (outside the space, in the hole, unaligned, a physical
 * address too wide, a replacement, a link, a locked leaf, the last leaf
 * of a table, the top level) gives the general path's answer, and a
 * failing one changes nothing.  The same calls in a serial no-MMU space
 * (its cursor and general path, never the front) must leave the same
 * leaves, counts and TLB calls where the space has an MMU.  The serial
 * twin of the front (wc_seek: a cursor that misses moves by hash) is
 * checked by calls that alternate between two tables.
 *
 * Only htable.h is used (tests/lib/api_env.h).  Every test runs in every
 * paging mode.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "../lib/api_env.h"

/* The highest va of the lower half (or of the 32-bit space). */
static ht_va_t
low_last(const ht_geometry_t *g)
{
	return (g->hole_start != 0 ? g->hole_start - 1 : va_last(g));
}

/*
 * Calls that fail, each next to a table that exists: the code, and no
 * change (the caller compares snapshots).
 */
static void
bad_calls(env_t *e, ht_as_t *as)
{
	const ht_geometry_t *g = e->g;
	ht_va_t top = low_last(g) + 1 - PG;	/* mapped by the caller */

	/* one page past the lower half: the hole, or past 4 GiB */
	EXPECT_ERR(e, g->hole_start != 0 ? HT_ENONCANON : HT_ERANGE,
	    ht_map(as, top + PG, 0x300000, PG, HT_W, 0));
	EXPECT_ERR(e, g->hole_start != 0 ? HT_ENONCANON : HT_ERANGE,
	    ht_unmap(as, top + PG, PG, 0));
	EXPECT_ERR(e, g->hole_start != 0 ? HT_ENONCANON : HT_ERANGE,
	    ht_protect(as, top + PG, PG, HT_W));
	if (g->hole_start != 0) {
		/* the last page of the hole, below the upper half's table */
		EXPECT_ERR(e, HT_ENONCANON, ht_map(as, g->hole_end + 1 - PG,
		    0x300000, PG, HT_W, 0));
		EXPECT_ERR(e, HT_ENONCANON, ht_protect(as,
		    g->hole_end + 1 - PG, PG, 0));
	}
	/* unaligned, in a table that exists */
	EXPECT_ERR(e, HT_EALIGN, ht_map(as, GIB + 5 * PG, 0x300001, PG, HT_W,
	    0));
	EXPECT_ERR(e, HT_EALIGN, ht_map(as, GIB + 5 * PG + 8, 0x300000, PG,
	    HT_W, 0));
	EXPECT_ERR(e, HT_EALIGN, ht_unmap(as, GIB + PG + 8, PG, 0));
	/* a physical address beyond the mode's width */
	EXPECT_ERR(e, HT_EPABITS, ht_map(as, GIB + 5 * PG,
	    1ull << g->pa_bits_max, PG, HT_W, 0));
	/* a locked leaf */
	EXPECT_ERR(e, HT_ELOCKED, ht_unmap(as, GIB + 3 * PG, PG, 0));
	/* an existing leaf, with HT_MAP_NOREPLACE */
	EXPECT_ERR(e, HT_EEXIST, ht_map(as, GIB + PG, 0x300000, PG, HT_W,
	    HT_MAP_NOREPLACE));
}

/*
 * One sequence: tables at GIB and at the top of the lower half (and at
 * the bottom of the upper half), one-entry calls in them, the general
 * path's cases among them, and the failing calls of bad_calls.
 */
static void
apply(env_t *e, ht_as_t *as)
{
	const ht_geometry_t *g = e->g;
	uint64_t s1 = lsize(g, 1);
	ht_va_t top = low_last(g) + 1 - PG;
	snap_t before = { 0 }, after = { 0 };
	int big = leaf_level(g, g->pagesizes, 1) == 1 && g->levels > 2;

	/* the tables, by runs (the general path) */
	OK(ht_map(as, GIB, 0x100000, 2 * PG, HT_W, 0));
	OK(ht_map(as, top - PG, 0x200000, 2 * PG, HT_W, 0));
	if (g->hole_start != 0)
		OK(ht_map(as, g->hole_end + 1, 0x280000, PG, HT_W, 0));
	/* one entry each: the front, in a live plain space */
	for (unsigned i = 2; i < 12; i++)
		OK(ht_map(as, GIB + i * PG, 0x100000 + i * PG, PG,
		    (i & 1) ? HT_W : HT_U | HT_X, 0));
	OK(ht_map(as, GIB + 3 * PG, 0x103000, PG, HT_W, HT_MAP_LOCK));
	OK(ht_map(as, top - 2 * PG, 0x1fe000, PG, HT_W, 0));
	if (g->hole_start != 0)
		OK(ht_map(as, g->hole_end + 1 + PG, 0x281000, PG, HT_W, 0));
	/* a replacement: the front refuses, the general path replaces */
	OK(ht_map(as, GIB + 4 * PG, 0x404000, PG, HT_U, 0));
	/* two pages: not one entry */
	OK(ht_map(as, GIB + 12 * PG, 0x10c000, 2 * PG, HT_W, 0));
	/* EPT: read is a right too; execute-only pages, one entry each */
	if (mode_ept(g)) {
		OK(ht_map(as, GIB + 14 * PG, 0x10e000, PG, HT_X | HT_NOREAD,
		    0));
		OK(ht_protect(as, GIB + 14 * PG, PG, HT_XU | HT_NOREAD));
		OK(ht_map(as, GIB + 15 * PG, 0x10f000, PG, HT_XU | HT_NOREAD,
		    0));
		OK(ht_protect(as, GIB + 15 * PG, PG, HT_W));
	}
	snap_take(as, g, &before);
	bad_calls(e, as);
	snap_take(as, g, &after);
	snap_eq(&before, &after, __LINE__);
	snap_free(&before);
	snap_free(&after);
	/* protect and unmap, one entry each, A/D set by "the MMU" */
	raw_touch(e, as, GIB + 6 * PG, 2 * PG, E_A | E_D);
	OK(ht_protect(as, GIB + 6 * PG, PG, HT_W | HT_X));
	OK(ht_protect(as, GIB + 7 * PG, PG, HT_W));	/* as it was */
	OK(ht_unmap(as, GIB + 7 * PG, PG, 0));
	OK(ht_unmap(as, top, PG, 0));
	/* the last leaf of a table: the general path frees the table */
	if (g->hole_start != 0) {
		OK(ht_unmap(as, g->hole_end + 1, PG, 0));
		OK(ht_unmap(as, g->hole_end + 1 + PG, PG, 0));
	}
	/* a large page over a table with leaves, then one beside it */
	if (big) {
		OK(ht_map(as, 2 * GIB, 0x600000, PG, HT_W, 0));
		OK(ht_map(as, 2 * GIB, 4 * s1, s1, HT_W, 0));
		OK(ht_map(as, 2 * GIB + s1, 5 * s1, s1, HT_W, 0));
		OK(ht_protect(as, 2 * GIB + s1, s1, HT_U));
		OK(ht_unmap(as, 2 * GIB, s1, 0));
		OK(ht_map(as, 2 * GIB + 2 * s1, 6 * s1, s1, HT_W,
		    HT_MAP_SIZE(level_ps(g, 1))));
	}
	/* a large page at the top level of 2-level paging: never the front */
	if (g->levels == 2 && (g->pagesizes & HT_PS_4M)) {
		OK(ht_map(as, 3 * GIB, 8 * s1, s1, HT_W, 0));
		OK(ht_map(as, 3 * GIB + s1, 9 * s1, s1, HT_W, 0));
		OK(ht_unmap(as, 3 * GIB, s1, 0));
	}
	AUDIT(as);
}

MODE_PARAMS(front, edges)

ParameterizedTest(ht_mode_t *mode, front, edges, .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *sn;
	ht_stats_t a, b;
	uint64_t s1;
	ht_va_t top;

	env_setup(e, *mode);
	s1 = lsize(e->g, 1);
	top = low_last(e->g) + 1 - PG;
	OK(ht_as_create(e->ctx, HT_AS_SERIAL | HT_AS_NOMMU, &sn));
	apply(e, e->as);
	apply(e, sn);
	same_leaves(e->as, sn, e->g, __LINE__);
	ht_as_stats(e->as, &a);
	ht_as_stats(sn, &b);
	cr_assert_eq(memcmp(a.leaves, b.leaves, sizeof (a.leaves)), 0);
	cr_assert_eq(memcmp(a.tables, b.tables, sizeof (a.tables)), 0);
	XLATE(e->as, GIB + 4 * PG, 0x404000, PG, HT_U);
	XLATE(e->as, GIB + 6 * PG, 0x106000, PG, HT_W | HT_X);
	XLATE(e->as, GIB + 3 * PG, 0x103000, PG, HT_W);
	XLATE(e->as, top - 2 * PG, 0x1fe000, PG, HT_W);
	if (mode_ept(e->g)) {
		XLATE(e->as, GIB + 14 * PG, 0x10e000, PG, HT_XU | HT_NOREAD);
		XLATE(e->as, GIB + 15 * PG, 0x10f000, PG, HT_W);
	}
	UNMAPPED(e->as, GIB + 7 * PG);
	UNMAPPED(e->as, top);
	if (e->g->hole_start != 0)
		UNMAPPED(e->as, e->g->hole_end + 1);
	/* the protect that changed a touched leaf told the TLB */
	cr_assert(tlb_covers(e, e->as, GIB + 6 * PG, PG));
	cr_assert(tlb_covers(e, e->as, GIB + 7 * PG, PG));
	if (leaf_level(e->g, e->g->pagesizes, 1) == 1 && e->g->levels > 2)
		XLATE(e->as, 2 * GIB + s1, 5 * s1, s1, HT_U);
	OK(ht_unmap(e->as, GIB + 3 * PG, PG, HT_UNMAP_UNLOCK));
	ht_as_destroy(sn);
	env_teardown(e);
}

/* The A/D bits of the leaves the front removes reach ht_unmap_ad's sink. */
typedef struct adsum {
	uint64_t	n;
	unsigned	bits;
} adsum_t;

static void
ad_cb(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	adsum_t *s = arg;

	(void) va;
	cr_assert_eq(size, PG);
	s->n++;
	s->bits |= bits;
}

MODE_PARAMS(front, unmap_ad)

ParameterizedTest(ht_mode_t *mode, front, unmap_ad, .timeout = 120)
{
	env_t *e = &E;
	adsum_t s = { 0, 0 };

	env_setup(e, *mode);
	OK(ht_map(e->as, GIB, 0x100000, 8 * PG, HT_W, 0));
	raw_touch(e, e->as, GIB + PG, PG, E_A);
	raw_touch(e, e->as, GIB + 2 * PG, PG, E_A | E_D);
	tlb_reset(e);
	for (unsigned i = 0; i < 4; i++)
		OK(ht_unmap_ad(e->as, GIB + i * PG, PG, 0, ad_cb, &s));
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.bits, HT_A | HT_D);
	/* only the referenced leaves can be in a TLB */
	cr_assert_eq(tlb_count_for(e, e->as), 2);
	cr_assert(tlb_covers(e, e->as, GIB + PG, 2 * PG));
	cr_assert_eq(leaf_count(e->as), 4);
	AUDIT(e->as);
	env_teardown(e);
}

/*
 * A serial space whose calls alternate between tables: every call misses
 * the cursor, which moves by hash (wc_seek) before the entry is written.
 * The leaves, counts and tables must be the plain space's after the
 * same calls, and a stale cursor must never write into the other table.
 */
static void
alternate(env_t *e, ht_as_t *as)
{
	const ht_geometry_t *g = e->g;
	uint64_t s1 = lsize(g, 1);
	const ht_va_t a = GIB, b = GIB + 4 * s1;

	OK(ht_map(as, a, 0x100000, PG, HT_W, 0));
	OK(ht_map(as, b, 0x200000, PG, HT_W, 0));
	for (unsigned i = 1; i < 16; i++) {
		OK(ht_map(as, a + i * PG, 0x100000 + i * PG, PG, HT_W, 0));
		OK(ht_map(as, b + i * PG, 0x200000 + i * PG, PG, HT_U, 0));
	}
	for (unsigned i = 2; i < 10; i++) {
		OK(ht_protect(as, a + i * PG, PG, HT_U));
		OK(ht_protect(as, b + i * PG, PG, HT_W));
	}
	for (unsigned i = 4; i < 8; i++) {
		OK(ht_unmap(as, a + i * PG, PG, 0));
		OK(ht_unmap(as, b + i * PG, PG, 0));
	}
	/* b's table emptied: the last unmap frees it, a's cursor stays */
	OK(ht_unmap(as, b, 4 * PG, 0));
	OK(ht_unmap(as, b + 8 * PG, 8 * PG, 0));
	OK(ht_map(as, a + 20 * PG, 0x120000, PG, HT_W, 0));
	OK(ht_map(as, b + 3 * PG, 0x303000, PG, HT_W, 0));
	AUDIT(as);
}

MODE_PARAMS(front, serial_seek)

ParameterizedTest(ht_mode_t *mode, front, serial_seek, .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *se, *sn;

	env_setup(e, *mode);
	serial_twins(e, alternate, &se, &sn, __LINE__);
	XLATE(se, GIB + 3 * PG, 0x103000, PG, HT_U);
	XLATE(se, GIB + 4 * lsize(e->g, 1) + 3 * PG, 0x303000, PG, HT_W);
	UNMAPPED(sn, GIB + 5 * PG);
	UNMAPPED(sn, GIB + 4 * lsize(e->g, 1) + 9 * PG);
	ht_as_destroy(se);
	ht_as_destroy(sn);
	env_teardown(e);
}

/* ht_walk's leaves of one size, counted. */
typedef struct sizes {
	unsigned	n;
	unsigned	nlarge;		/* of size `large` */
	uint64_t	large;
} sizes_t;

static int
sizes_cb(void *arg, const ht_leaf_t *l)
{
	sizes_t *s = arg;

	s->n++;
	if (l->size == s->large)
		s->nlarge++;
	return (0);
}

MODE_PARAMS(front, large_first)

/*
 * The first large leaf of a space, mapped by a one-entry path (the
 * front, a serial space's cursor after its seek, the same with no MMU)
 * into a level-1 table a 4 KiB page made: walks look for leaves only at
 * the levels the space has held one at (hat_leaf_levels), so each path
 * must name the level before its leaf counts.  A walk must report the
 * leaf, an unmap over it (the general path, whose census walks) must
 * remove it, and the audit must agree.
 */
ParameterizedTest(ht_mode_t *mode, front, large_first, .timeout = 120)
{
	static const unsigned flags[3] = { 0, HT_AS_SERIAL,
	    HT_AS_SERIAL | HT_AS_NOMMU };
	env_t *e = &E;

	env_setup(e, *mode);
	for (unsigned f = 0; f < 3; f++) {
		uint64_t s1 = lsize(e->g, 1);
		sizes_t s = { 0, 0, s1 };
		ht_as_t *as;

		OK(ht_as_create(e->ctx, flags[f], &as));
		OK(ht_map(as, GIB, 0x100000, PG, HT_W, 0));
		OK(ht_map(as, GIB + 2 * s1, 4 * s1, s1, HT_W, 0));
		XLATE(as, GIB + 2 * s1 + 5 * PG, 4 * s1 + 5 * PG, s1, HT_W);
		AUDIT(as);
		OK(ht_walk(as, GIB, GIB + 4 * s1 - 1, sizes_cb, &s));
		cr_assert_eq(s.n, 2, "flags 0x%x: %u leaves", flags[f], s.n);
		cr_assert_eq(s.nlarge, 1, "flags 0x%x", flags[f]);
		OK(ht_unmap(as, GIB + s1, 2 * s1, 0));
		UNMAPPED(as, GIB + 2 * s1);
		cr_assert_eq(leaf_count(as), 1);
		AUDIT(as);
		ht_as_destroy(as);
	}
	env_teardown(e);
}
