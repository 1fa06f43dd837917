/*
 * test_serial.c - serial spaces (HT_AS_SERIAL): the caller makes the
 * calls that change them one at a time, and their one-entry calls take
 * no lock (hat_one.c).  They give the same results as a plain space for
 * every call (one page, one large page, runs; A/D reported, TLB hook
 * told, or not told while no MMU walks them), are never stolen from,
 * never share and are never shared (ht_share, ht_as_import: refused with
 * nothing changed).  The threaded side is tests/stress/test_serial_race.
 *
 * Only htable.h is used; the environment (arena, context, space, TLB
 * record) and the checks are tests/lib/api_env.h.  Every test runs in
 * every paging mode (the import one in 4-level paging, whose raw tables
 * it writes) and ends with every space destroyed and no frame left
 * allocated in the arena.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "../lib/api_env.h"

/* The A/D bits an unmap reported, summed up per space. */
typedef struct adsum {
	uint64_t	n;
	uint64_t	bits;
	uint64_t	va_sum;
} adsum_t;

static void
ad_cb(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	adsum_t *s = arg;

	s->n++;
	s->bits += bits;
	s->va_sum += va + size;
}

/*
 * One sequence of calls, mostly one entry each: a table made by a run,
 * pages mapped into it one by one, touched, protected and unmapped one by
 * one (the A/D bits reported), a large page mapped, protected and
 * unmapped whole, and the general path's cases among them (a remap, a
 * locked leaf, the last entry of a table).
 */
static void
apply(env_t *e, ht_as_t *as, adsum_t *ad)
{
	uint64_t s1 = lsize(e->g, 1);
	ht_va_t v = GIB, b = GIB + 4 * s1;

	OK(ht_map(as, v, 0x100000, 2 * PG, HT_W, 0));
	for (unsigned i = 2; i < 40; i++)
		OK(ht_map(as, v + i * PG, 0x100000 + i * PG, PG,
		    (i & 1) ? HT_W : HT_U, 0));
	raw_touch(e, as, v + 8 * PG, 8 * PG, E_A);
	raw_touch(e, as, v + 12 * PG, 2 * PG, E_A | E_D);
	for (unsigned i = 4; i < 20; i++)
		OK(ht_protect(as, v + i * PG, PG, (i & 2) ? HT_W | HT_X : 0));
	for (unsigned i = 8; i < 16; i++)
		OK(ht_unmap_ad(as, v + i * PG, PG, 0, ad_cb, ad));
	/* a remap (general path) and a locked leaf (refused) */
	OK(ht_map(as, v + 20 * PG, 0x900000, PG, HT_W, 0));
	OK(ht_map(as, v + 21 * PG, 0x901000, PG, HT_W, HT_MAP_LOCK));
	cr_assert_eq(ht_unmap(as, v + 21 * PG, PG, 0), -HT_ELOCKED);
	OK(ht_unmap(as, v + 21 * PG, PG, HT_UNMAP_UNLOCK));
	/* a large page beside it: one entry of the level-1 table */
	OK(ht_map(as, b, 0x40000000, s1, HT_W, 0));
	raw_touch(e, as, b, s1, E_A | E_D);
	OK(ht_protect(as, b, s1, 0));
	OK(ht_unmap_ad(as, b, s1, 0, ad_cb, ad));
	OK(ht_map(as, b, 0x40000000 + s1, s1, HT_U, 0));
	/* the last entries of a table: freed on the general path */
	OK(ht_map(as, v + s1, 0x200000, PG, HT_W, 0));
	OK(ht_unmap(as, v + s1, PG, 0));
	AUDIT(as);
}

MODE_PARAMS(serial, same_results)

ParameterizedTest(ht_mode_t *mode, serial, same_results, .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *se, *sn;
	adsum_t a0 = { 0 }, a1 = { 0 }, a2 = { 0 };
	ht_stats_t s0, s1;

	env_setup(e, *mode);
	OK(ht_as_create(e->ctx, HT_AS_SERIAL, &se));
	OK(ht_as_create(e->ctx, HT_AS_SERIAL | HT_AS_NOMMU, &sn));
	cr_assert_eq(ht_as_mmu(se), 1);
	cr_assert_eq(ht_as_mmu(sn), 0);
	tlb_reset(e);
	apply(e, e->as, &a0);
	apply(e, se, &a1);
	apply(e, sn, &a2);
	same_leaves(e->as, se, e->g, __LINE__);
	same_leaves(e->as, sn, e->g, __LINE__);
	cr_assert(leaf_count(se) > 0);
	cr_assert(a0.n > 0);
	cr_assert(a0.n == a1.n && a0.bits == a1.bits &&
	    a0.va_sum == a1.va_sum, "A/D reported: plain %llu, serial %llu",
	    (unsigned long long)a0.n, (unsigned long long)a1.n);
	cr_assert(a0.n == a2.n && a0.bits == a2.bits &&
	    a0.va_sum == a2.va_sum);
	ht_as_stats(e->as, &s0);
	ht_as_stats(se, &s1);
	cr_assert_eq(memcmp(s0.leaves, s1.leaves, sizeof (s0.leaves)), 0);
	/* every touched leaf that changed was flushed; no-MMU: none */
	cr_assert(tlb_covers(e, se, GIB + 8 * PG, 8 * PG));
	cr_assert(tlb_covers(e, se, GIB + 4 * lsize(e->g, 1), PG));
	cr_assert_eq(tlb_count_for(e, se), tlb_count_for(e, e->as));
	cr_assert_eq(tlb_count_for(e, sn), 0);
	/* once live, the no-MMU one is told too */
	OK(ht_as_set_mmu(sn, 1));
	raw_touch(e, sn, GIB + 30 * PG, PG, E_A);
	tlb_reset(e);
	OK(ht_unmap(sn, GIB + 30 * PG, PG, 0));
	cr_assert(tlb_covers(e, sn, GIB + 30 * PG, PG));
	AUDIT(sn);
	ht_as_destroy(se);
	ht_as_destroy(sn);
	env_teardown(e);
}

/*
 * The write cursor (hat_one.h) never outlives its table.  Each sequence
 * points the cursor at a table (a second one-entry call in it), empties
 * the table so that the general path frees it, makes another table that
 * may take over the freed descriptor and frame, and maps into the first
 * range again: a stale cursor would write into the other table.  Level 0
 * with pages, level 1 with large pages; a large page over a table with
 * the cursor on it too.  The results must be a plain space's.
 */
static void
cursor_seq(env_t *e, ht_as_t *as)
{
	uint64_t s1 = lsize(e->g, 1);
	const ht_va_t v = GIB, w = GIB + 8 * s1;
	const ht_va_t b = 2 * GIB, w2 = 3 * GIB;

	/* level 0: freed by its last unmap */
	OK(ht_map(as, v, 0x100000, PG, HT_W, 0));
	OK(ht_map(as, v + PG, 0x101000, PG, HT_W, 0));
	OK(ht_map(as, v + 2 * PG, 0x102000, PG, HT_U, 0));
	OK(ht_protect(as, v + 2 * PG, PG, HT_W));
	OK(ht_unmap(as, v + PG, PG, 0));
	OK(ht_unmap(as, v + 2 * PG, PG, 0));
	OK(ht_unmap(as, v, PG, 0));
	OK(ht_map(as, w, 0x200000, PG, HT_W, 0));
	OK(ht_map(as, v + 3 * PG, 0x103000, PG, HT_W, 0));
	OK(ht_map(as, v + 4 * PG, 0x104000, PG, HT_W, 0));
	/* level 0: replaced by a large page, then split again */
	OK(ht_map(as, w + PG, 0x201000, PG, HT_W, 0));
	OK(ht_map(as, w, 0x400000 + 8 * s1, s1, HT_W, 0));
	OK(ht_map(as, w + 9 * PG, 0x209000, PG, HT_X, 0));
	OK(ht_map(as, w + s1, 0x300000, PG, HT_W, 0));
	OK(ht_map(as, w + 10 * PG, 0x20a000, PG, HT_W, 0));
	OK(ht_unmap(as, w + 11 * PG, PG, 0));
	/* level 1: the same with large pages */
	OK(ht_map(as, b, 16 * s1, s1, HT_W, 0));
	OK(ht_map(as, b + s1, 17 * s1, s1, HT_W, 0));
	OK(ht_protect(as, b + s1, s1, HT_U));
	OK(ht_unmap(as, b + s1, s1, 0));
	OK(ht_unmap(as, b, s1, 0));
	OK(ht_map(as, w2, 20 * s1, s1, HT_W, 0));
	OK(ht_map(as, b + 2 * s1, 18 * s1, s1, HT_W, 0));
	OK(ht_map(as, b + 3 * s1, 19 * s1, s1, HT_W, 0));
	AUDIT(as);
}

MODE_PARAMS(serial, cursor_follows_tables)

ParameterizedTest(ht_mode_t *mode, serial, cursor_follows_tables,
    .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *se, *sn;

	env_setup(e, *mode);
	serial_twins(e, cursor_seq, &se, &sn, __LINE__);
	XLATE(se, GIB + 3 * PG, 0x103000, PG, HT_W);
	XLATE(sn, 2 * GIB + 2 * lsize(e->g, 1), 18 * lsize(e->g, 1),
	    lsize(e->g, 1), HT_W);
	UNMAPPED(se, GIB + PG);
	UNMAPPED(sn, GIB + 8 * lsize(e->g, 1) + 11 * PG);
	ht_as_destroy(se);
	ht_as_destroy(sn);
	env_teardown(e);
}

/* It neither shares nor is shared; the flag sits with the others. */
MODE_PARAMS(serial, refusals)

ParameterizedTest(ht_mode_t *mode, serial, refusals, .timeout = 120)
{
	env_t *e = &E;
	uint64_t s1;
	ht_as_t *se, *sh, *bad = NULL;
	ht_share_info_t info;
	snap_t before = { 0 }, after = { 0 };

	env_setup(e, *mode);
	s1 = lsize(e->g, 1);
	OK(ht_as_create(e->ctx, HT_AS_SERIAL | HT_AS_COPIED, &se));
	OK(ht_as_create(e->ctx, 0, &sh));
	OK(ht_map(se, GIB, 0x400000, s1, HT_W, HT_MAP_SIZE(HT_PS_4K)));
	OK(ht_map(e->as, GIB, 0x400000, s1, HT_W, HT_MAP_SIZE(HT_PS_4K)));
	snap_take(se, e->g, &before);
	EXPECT_ERR(e, HT_EINVAL, ht_share(sh, 64 * s1, se, GIB, s1, &info));
	EXPECT_ERR(e, HT_EINVAL, ht_share(se, 64 * s1, e->as, GIB, s1,
	    &info));
	snap_take(se, e->g, &after);
	snap_eq(&before, &after, __LINE__);
	cr_assert_eq(leaf_count(sh), 0);
	UNMAPPED(se, 64 * s1);
	EXPECT_ERR(e, HT_EINVAL, ht_as_create(e->ctx, HT_AS_SERIAL | 0x80,
	    &bad));
	cr_assert_null(bad);
	AUDIT(se);
	snap_free(&before);
	snap_free(&after);
	ht_as_destroy(se);
	ht_as_destroy(sh);
	env_teardown(e);
}

/* Stealing takes a plain space's tables, never a serial one's. */
MODE_PARAMS(serial, never_stolen)

ParameterizedTest(ht_mode_t *mode, serial, never_stolen, .timeout = 120)
{
	enum { N = 24 };
	env_t *e = &E;
	uint64_t s1;
	ht_as_t *se, *thief;
	ht_stats_t st0, st1;
	const ht_va_t vs = 2 * GIB, vt = 3 * GIB;
	int gone = 0;

	env_setup(e, *mode);
	s1 = lsize(e->g, 1);
	OK(ht_as_create(e->ctx, HT_AS_SERIAL, &se));
	OK(ht_as_create(e->ctx, 0, &thief));
	for (int i = 0; i < N; i++) {
		OK(ht_map(se, vs + (ht_va_t)i * s1 + 5 * PG,
		    0x100000 + (ht_pa_t)i * PG, PG, HT_W, 0));
		OK(ht_map(e->as, GIB + (ht_va_t)i * s1 + 5 * PG,
		    0x100000 + (ht_pa_t)i * PG, PG, HT_W, 0));
	}
	steal_by_maps(e, thief, vt, s1, N, &st0, &st1);
	for (int i = 0; i < N; i++) {
		ht_xlate_t x;

		XLATE(se, vs + (ht_va_t)i * s1 + 5 * PG,
		    0x100000 + (ht_pa_t)i * PG, PG, HT_W);
		gone += ht_translate(e->as, GIB + (ht_va_t)i * s1 + 5 * PG,
		    &x) == -HT_ENOTMAPPED;
	}
	cr_assert(gone > 0, "the plain space lost nothing");
	AUDIT(se);
	AUDIT(e->as);
	AUDIT(thief);
	ht_as_destroy(se);
	ht_as_destroy(thief);
	env_teardown(e);
}

/*
 * An import that would share a serial space's table, or make a serial
 * space that shares another's, is refused with nothing kept; a serial
 * import of tables of its own works.
 */
Test(serial, import, .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *se, *imp = NULL;
	ht_xlate_t x;
	ht_pa_t root, l3, l2, t0;
	uint64_t used;
	ht_stats_t st;

	env_setup(e, HT_MODE_4LEVEL);
	OK(ht_as_create(e->ctx, HT_AS_SERIAL, &se));
	OK(ht_map(se, GIB, 0x300000, 4 * PG, HT_W, 0));
	OK(ht_translate(se, GIB, &x));
	t0 = x.entry_pa[x.nlevels - 1] & ~(PG - 1);
	/* a raw root -> l3 -> l2 whose entry 7 links to se's table */
	root = raw_frame(e);
	l3 = raw_frame(e);
	l2 = raw_frame(e);
	raw_put(e, root, 0, l3 | 0x7);
	raw_put(e, l3, 1, l2 | 0x7);
	raw_put(e, l2, 7, t0 | 0x7);
	used = ht_arena_frames_used(e->arena);
	EXPECT_ERR(e, HT_EBUSY, ht_as_import(e->ctx, root, 0, &imp));
	cr_assert_null(imp);
	EXPECT_ERR(e, HT_EBUSY, ht_as_import(e->ctx, root, HT_AS_SERIAL,
	    &imp));
	cr_assert_null(imp);
	cr_assert_eq(ht_arena_frames_used(e->arena), used);
	ht_ctx_stats(e->ctx, &st);
	cr_assert_eq(st.address_spaces, 2);
	/* a table of its own instead: imported serial, changed one by one */
	raw_put(e, l2, 7, 0);
	raw_put(e, l2, 8, (0x200000ull * 3) | 0x80 | 0x7);
	OK(ht_as_import(e->ctx, root, HT_AS_SERIAL, &imp));
	XLATE(imp, GIB + 8 * 0x200000ull + 5 * PG, 0x600000 + 5 * PG, 0x200000,
	    HT_W | HT_U | HT_X);
	OK(ht_unmap(imp, GIB + 8 * 0x200000ull, 0x200000, 0));
	OK(ht_map(imp, GIB + 8 * 0x200000ull, 0x800000, 0x200000, HT_W, 0));
	XLATE(imp, GIB + 8 * 0x200000ull, 0x800000, 0x200000, HT_W);
	AUDIT(imp);
	AUDIT(se);
	ht_as_destroy(imp);
	ht_as_destroy(se);
	ht_arena_ops()->free(e->arena, l2 >> 12);
	ht_arena_ops()->free(e->arena, l3 >> 12);
	ht_arena_ops()->free(e->arena, root >> 12);
	env_teardown(e);
}
