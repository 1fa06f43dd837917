/*
 * test_hat_map.c - integration tests of ht_map (hat_map.c): the page-size
 * plan (small pages up to a large boundary, large pages, the top size,
 * back down; a PA not aligned like the VA; every forced size; contexts
 * restricted to fewer page sizes), a map that fails for lack of frames at
 * every point leaving no half-built state, and remapping (new PA and
 * attributes, small pages replaced by a large one and back, one page
 * replaced inside a large one).
 *
 * Only htable.h is used; the environment (arena, context, space, TLB
 * record) and the checks (EXPECT_ERR: a failing call changed nothing and
 * set a fresh ht_errdetail(); XLATE; AUDIT) are tests/lib/api_env.h.
 * Every test runs in every paging mode and ends with every space
 * destroyed and no frame left allocated in the arena.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "../lib/api_env.h"

/* ------------------------------------------------------------------ */
/* A failed map leaves no half-built state                             */
/* ------------------------------------------------------------------ */

MODE_PARAMS(hat_map, nofail_halfbuilt)

ParameterizedTest(ht_mode_t *mode, hat_map, nofail_halfbuilt, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	uint64_t s1, used0, k;
	ht_va_t x0, va, end;
	ht_pa_t off;
	snap_t b = { 0 }, a = { 0 };
	int rc = -1, failures = 0;

	env_setup(e, *mode);
	g = e->g;
	s1 = lsize(g, 1);
	/* existing state: a large page the new range cuts through, pages */
	x0 = 1 * GIB - 2 * s1;
	OK(ht_map(e->as, x0, 0x40000000, s1, HT_W | HT_X, 0));
	OK(ht_map(e->as, x0 + s1 + 8 * PG, 0x50000000, 4 * PG, HT_U, 0));
	OK(ht_map(e->as, x0 - PG, 0x60000000, PG, 0, 0));
	/*
	 * The new range starts in the middle of the large page (split),
	 * covers the small pages, crosses a 1 GiB boundary; its PA is not
	 * large-page aligned, so everything is 4 KiB pages: many tables.
	 */
	va = x0 + s1 / 2;
	end = 1 * GIB + 4 * s1 + 3 * PG;
	off = 0x1000;
	snap_take(e->as, g, &b);
	used0 = ht_arena_frames_used(e->arena);
	for (k = 0; k < 200; k++) {
		ht_arena_set_limit(e->arena, used0 + k);
		arm_detail();
		rc = ht_map(e->as, va, va + off, end - va, HT_W, 0);
		if (rc == 0)
			break;
		failures++;
		cr_assert_eq(rc, -HT_ENOFRAME, "k=%llu: %s (%s)",
		    (unsigned long long)k, ht_err_name(rc), ht_errdetail());
		check_detail(__LINE__, "failed map");
		AUDIT(e->as);
		snap_take(e->as, g, &a);
		snap_eq(&b, &a, __LINE__);
		/* the spare frames of the failed call are only cached */
		(void) ht_as_purge(e->as);
		cr_assert_eq(ht_arena_frames_used(e->arena), used0,
		    "k=%llu: %llu frames used, %llu before",
		    (unsigned long long)k,
		    (unsigned long long)ht_arena_frames_used(e->arena),
		    (unsigned long long)used0);
	}
	cr_assert_eq(rc, 0, "map never succeeded");
	cr_assert(failures >= 3, "only %d failures", failures);
	ht_arena_set_limit(e->arena, 0);
	AUDIT(e->as);
	XLATE(e->as, x0, 0x40000000, PG, eff(e, HT_W | HT_X, 0));
	XLATE(e->as, x0 + s1 / 2 - PG, 0x40000000 + s1 / 2 - PG, PG,
	    eff(e, HT_W | HT_X, 0));
	XLATE(e->as, va, va + off, PG, eff(e, HT_W, 0));
	XLATE(e->as, x0 + s1 + 8 * PG, x0 + s1 + 8 * PG + off, PG,
	    eff(e, HT_W, 0));
	XLATE(e->as, 1 * GIB, 1 * GIB + off, PG, eff(e, HT_W, 0));
	XLATE(e->as, end - PG, end - PG + off, PG, eff(e, HT_W, 0));
	XLATE(e->as, x0 - PG, 0x60000000, PG, eff(e, 0, 0));
	UNMAPPED(e->as, end);

	/* the same with a fresh space (alone: nothing to steal) */
	ht_as_destroy(e->as);
	e->as = NULL;
	{
		ht_as_t *as2;

		OK(ht_as_create(e->ctx, 0, &as2));
		used0 = ht_arena_frames_used(e->arena);
		failures = 0;
		for (k = 0; k < 200; k++) {
			int n = 0;

			ht_arena_set_limit(e->arena, used0 + k);
			rc = ht_map(as2, 8 * s1 + PG, PG, 64 * s1, HT_W, 0);
			if (rc == 0)
				break;
			failures++;
			cr_assert_eq(rc, -HT_ENOFRAME);
			AUDIT(as2);
			cr_assert_eq(leaf_count(as2), 0);
			/* (a walk from 0 of an empty space hangs: walk_empty) */
			OK(ht_walk(as2, PG, va_last(g), count_cb, &n));
			cr_assert_eq(n, 0);
			(void) ht_as_purge(as2);
			cr_assert_eq(ht_arena_frames_used(e->arena), used0);
		}
		cr_assert_eq(rc, 0);
		cr_assert(failures >= 2);
		ht_arena_set_limit(e->arena, 0);
		XLATE(as2, 8 * s1 + PG, PG, 0, eff(e, HT_W, 0));
		XLATE(as2, 72 * s1, 64 * s1, 0, eff(e, HT_W, 0));
		AUDIT(as2);
		ht_as_destroy(as2);
	}
	snap_free(&a);
	snap_free(&b);
	env_teardown(e);
}

/* ------------------------------------------------------------------ */
/* Page-size choice                                                    */
/* ------------------------------------------------------------------ */

MODE_PARAMS(hat_map, pagesize_choice)

ParameterizedTest(ht_mode_t *mode, hat_map, pagesize_choice, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	unsigned top;
	uint64_t s0 = PG, s1, st;
	ht_va_t va, p;
	ht_pa_t off;
	ht_stats_t st0;

	env_setup(e, *mode);
	g = e->g;
	top = top_leaf(g, g->pagesizes);
	s1 = lsize(g, 1);
	st = lsize(g, top);
	/*
	 * 3 small pages, one s1 page up to a top-size boundary, a top page,
	 * one s1 page, two small pages.
	 */
	va = 2 * st - s1 - 3 * s0;
	off = 16 * st;
	OK(ht_map(e->as, va, va + off, 3 * s0 + s1 + st + s1 + 2 * s0,
	    HT_W | HT_U, 0));
	AUDIT(e->as);
	p = va;
	for (int i = 0; i < 3; i++, p += s0)
		XLATE(e->as, p, p + off, s0, eff(e, HT_W | HT_U, 0));
	cr_assert_eq(p, 2 * st - s1);
	XLATE(e->as, p, p + off, s1, eff(e, HT_W | HT_U, 0));
	XLATE(e->as, p + s1 - s0, p + off + s1 - s0, s1, HT_W | HT_U);
	p += s1;
	cr_assert_eq(p, 2 * st);
	XLATE(e->as, p, p + off, st, HT_W | HT_U);
	XLATE(e->as, p + st / 2 + 5 * s0, p + st / 2 + 5 * s0 + off, st,
	    HT_W | HT_U);
	XLATE(e->as, p + st - s0, p + off + st - s0, st, HT_W | HT_U);
	p += st;
	XLATE(e->as, p, p + off, s1, HT_W | HT_U);
	p += s1;
	XLATE(e->as, p, p + off, s0, HT_W | HT_U);
	XLATE(e->as, p + s0, p + s0 + off, s0, HT_W | HT_U);
	UNMAPPED(e->as, p + 2 * s0);
	UNMAPPED(e->as, va - s0);
	OK(ht_unmap(e->as, va, 3 * s0 + s1 + st + s1 + 2 * s0, 0));
	UNMAPPED(e->as, 2 * st);

	/* PA not aligned like the VA: small pages only */
	OK(ht_map(e->as, 4 * st, 4 * st + PG, 2 * s1, HT_W, 0));
	XLATE(e->as, 4 * st, 4 * st + PG, s0, HT_W);
	XLATE(e->as, 4 * st + s1, 4 * st + s1 + PG, s0, HT_W);
	XLATE(e->as, 4 * st + 2 * s1 - PG, 4 * st + 2 * s1, s0, HT_W);
	OK(ht_unmap(e->as, 4 * st, 2 * s1, 0));

	/* forced sizes: every size the mode has, on a top-aligned range */
	for (unsigned l = 0; l < g->levels; l++) {
		unsigned lps = level_ps(g, l);
		uint64_t s = lsize(g, l);
		ht_va_t fv = 6 * st;

		if (!(lps & g->pagesizes))
			continue;
		OK(ht_map(e->as, fv, fv, st, HT_X, HT_MAP_SIZE(lps)));
		XLATE(e->as, fv, fv, s, eff(e, HT_X, 0));
		XLATE(e->as, fv + st - PG, fv + st - PG, s, eff(e, HT_X, 0));
		XLATE(e->as, fv + st / 2, fv + st / 2, s, eff(e, HT_X, 0));
		AUDIT(e->as);
		OK(ht_unmap(e->as, fv, st, 0));
		UNMAPPED(e->as, fv);
	}

	/* restricted page sizes: 4 KiB + the next one; then 4 KiB only */
	ht_as_destroy(e->as);
	e->as = NULL;
	OK(ht_ctx_destroy(e->ctx));
	for (int pass = 0; pass < 2; pass++) {
		ht_config_t cfg;
		unsigned want_ps = pass == 0 ? (HT_PS_4K | level_ps(g, 1)) :
		    HT_PS_4K;
		uint64_t want = pass == 0 ? s1 : PG;

		memset(&cfg, 0, sizeof (cfg));
		cfg = base_cfg(e, *mode);
		cfg.pagesizes = want_ps;
		OK(ht_ctx_create(&cfg, &e->ctx));
		cr_assert_eq(ht_ctx_pagesizes(e->ctx), want_ps);
		OK(ht_as_create(e->ctx, 0, &e->as));
		/* a 1 GiB-aligned GiB (4 MiB-aligned 8 MiB in 32-bit) */
		{
			uint64_t len = g->va_bits == 32 ? 8 * MIB : GIB;
			ht_va_t v = GIB;

			ht_ctx_stats(e->ctx, &st0);
			OK(ht_map(e->as, v, 2 * GIB, len, HT_W, 0));
			XLATE(e->as, v, 2 * GIB, want, HT_W);
			XLATE(e->as, v + len - PG, 2 * GIB + len - PG, want,
			    HT_W);
			XLATE(e->as, v + len / 2 + PG, 2 * GIB + len / 2 + PG,
			    want, HT_W);
			AUDIT(e->as);
			if (top >= 1 && pass == 1)
				EXPECT_ERR(e, HT_EPAGESIZE, ht_map(e->as, 0, 0,
				    s1, 0, HT_MAP_SIZE(level_ps(g, 1))));
			if (top >= 2 && pass == 0)
				EXPECT_ERR(e, HT_EPAGESIZE, ht_map(e->as, 0, 0,
				    GIB, 0, HT_MAP_SIZE(HT_PS_1G)));
		}
		ht_as_destroy(e->as);
		e->as = NULL;
		OK(ht_ctx_destroy(e->ctx));
		e->ctx = NULL;
	}
	env_teardown(e);
}

/* ------------------------------------------------------------------ */
/* Remap                                                               */
/* ------------------------------------------------------------------ */

MODE_PARAMS(hat_map, remap)

ParameterizedTest(ht_mode_t *mode, hat_map, remap, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	uint64_t s1;
	ht_va_t v = 16 * MIB;
	unsigned uc;

	env_setup(e, *mode);
	g = e->g;
	s1 = lsize(g, 1);
	/* HT_PCD: uncached (EPT: a memory type it takes, mode_attr) */
	uc = mode_attr(e, HT_U | HT_PCD);

	/* remap: new PA and attributes */
	OK(ht_map(e->as, v, 0x100000, 4 * PG, HT_W, 0));
	OK(ht_map(e->as, v, 0x900000, 4 * PG, uc, 0));
	XLATE(e->as, v + 2 * PG, 0x902000, PG, eff(e, uc, 0));
	/* one page of the middle */
	OK(ht_map(e->as, v + PG, 0xa00000, PG, HT_W | HT_X | HT_G, 0));
	XLATE(e->as, v, 0x900000, PG, eff(e, uc, 0));
	XLATE(e->as, v + PG, 0xa00000, PG, eff(e, HT_W | HT_X | HT_G, 0));
	XLATE(e->as, v + 2 * PG, 0x902000, PG, eff(e, uc, 0));
	/* small pages replaced by a large page, and back */
	OK(ht_map(e->as, v, 0x4000000, s1, HT_W, 0));
	XLATE(e->as, v + PG, 0x4001000, s1, eff(e, HT_W, 0));
	AUDIT(e->as);
	OK(ht_map(e->as, v, 0x8000000, s1, HT_U, HT_MAP_SIZE(HT_PS_4K)));
	XLATE(e->as, v + PG, 0x8001000, PG, eff(e, HT_U, 0));
	XLATE(e->as, v + s1 - PG, 0x8000000 + s1 - PG, PG, eff(e, HT_U, 0));
	AUDIT(e->as);
	/* a small page replaced inside a large one (split) */
	OK(ht_map(e->as, v, 0x4000000, s1, HT_W, 0));
	OK(ht_map(e->as, v + 5 * PG, 0x7000000, PG, HT_U, 0));
	XLATE(e->as, v + 5 * PG, 0x7000000, PG, eff(e, HT_U, 0));
	XLATE(e->as, v + 4 * PG, 0x4004000, PG, eff(e, HT_W, 0));
	XLATE(e->as, v + 6 * PG, 0x4006000, PG, eff(e, HT_W, 0));
	AUDIT(e->as);
	OK(ht_unmap(e->as, v, s1, 0));
	env_teardown(e);
}
