/*
 * test_steal.c - integration tests of memory pressure (steal.c): reaping
 * (ht_ctx_reap) and purging (ht_as_purge) give back every free table but
 * those a space keeps; stealing (forced with ht_ctx_set_force_steal)
 * takes tables of unlocked mappings from another space, never locked
 * ones or those of an HT_AS_NOSTEAL space, and the victim can map again.
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
/* Reap, purge, steal                                                  */
/* ------------------------------------------------------------------ */

MODE_PARAMS(steal, reap_purge)

ParameterizedTest(ht_mode_t *mode, steal, reap_purge, .timeout = 120)
{
	env_t *e = &E;
	uint64_t used_full, used_unmapped, used_start;
	ht_stats_t st;
	long n;

	env_setup(e, *mode);
	used_start = ht_arena_frames_used(e->arena);
	for (int pass = 0; pass < 2; pass++) {
		OK(ht_map(e->as, GIB, 0, GIB, HT_W, HT_MAP_SIZE(HT_PS_4K)));
		used_full = ht_arena_frames_used(e->arena);
		cr_assert(used_full >= used_start + 256);
		OK(ht_unmap(e->as, GIB, GIB, 0));
		used_unmapped = ht_arena_frames_used(e->arena);
		AUDIT(e->as);
		if (pass == 0) {
			n = ht_ctx_reap(e->ctx);
			ht_ctx_stats(e->ctx, &st);
			cr_assert(st.reaped >= (uint64_t)n);
			cr_assert(st.reap_attempts >= 1);
		} else {
			n = ht_as_purge(e->as);
		}
		cr_assert(n >= 256, "pass %d: %ld frames freed", pass, n);
		cr_assert_eq(ht_arena_frames_used(e->arena),
		    used_unmapped - (uint64_t)n);
		/* only the tables at and above the top page level stay */
		cr_assert(ht_arena_frames_used(e->arena) <= used_start +
		    e->g->levels, "pass %d: %llu frames, %llu at the start",
		    pass, (unsigned long long)ht_arena_frames_used(e->arena),
		    (unsigned long long)used_start);
		AUDIT(e->as);
		/* nothing left to give */
		cr_assert_eq(pass == 0 ? ht_ctx_reap(e->ctx) :
		    ht_as_purge(e->as), 0);
	}
	/* the space still works */
	OK(ht_map(e->as, GIB, 0, 64 * PG, HT_W, 0));
	XLATE(e->as, GIB + 63 * PG, 63 * PG, PG, eff(e, HT_W, 0));
	env_teardown(e);
}

MODE_PARAMS(steal, steal)

ParameterizedTest(ht_mode_t *mode, steal, steal, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	ht_as_t *victim, *thief, *keep;
	ht_stats_t st0, st1;
	uint64_t s1;
	int gone = 0;
	const int N = 48;
	const ht_va_t vr = 0, vl = 256 * MIB, vk = 0, vt = 512 * MIB;

	env_setup(e, *mode);
	g = e->g;
	s1 = lsize(g, 1);
	victim = e->as;
	OK(ht_as_create(e->ctx, 0, &thief));
	OK(ht_as_create(e->ctx, HT_AS_NOSTEAL, &keep));
	/* victim: one unlocked small page per table; locked ones */
	for (int i = 0; i < N; i++) {
		OK(ht_map(victim, vr + (ht_va_t)i * s1 + 5 * PG,
		    0x100000 + (ht_pa_t)i * PG, PG, HT_W, 0));
		OK(ht_map(victim, vl + (ht_va_t)i * s1,
		    0x200000 + (ht_pa_t)i * PG, 2 * PG, HT_W, HT_MAP_LOCK));
		OK(ht_map(keep, vk + (ht_va_t)i * s1 + 9 * PG,
		    0x300000 + (ht_pa_t)i * PG, PG, HT_U, 0));
	}
	steal_by_maps(e, thief, vt, s1, N, &st0, &st1);
	cr_assert(st1.steals > st0.steals);
	AUDIT(victim);
	AUDIT(thief);
	AUDIT(keep);
	for (int i = 0; i < N; i++) {
		ht_xlate_t x;
		ht_va_t v = vr + (ht_va_t)i * s1 + 5 * PG;
		int rc = ht_translate(victim, v, &x);

		if (rc == -HT_ENOTMAPPED) {
			gone++;
		} else {
			cr_assert_eq(rc, 0);
			cr_assert_eq(x.pa, 0x100000 + (ht_pa_t)i * PG);
		}
		XLATE(victim, vl + (ht_va_t)i * s1, 0x200000 + (ht_pa_t)i * PG,
		    PG, eff(e, HT_W, 0));
		XLATE(victim, vl + (ht_va_t)i * s1 + PG,
		    0x200000 + (ht_pa_t)i * PG + PG, PG, eff(e, HT_W, 0));
		XLATE(keep, vk + (ht_va_t)i * s1 + 9 * PG,
		    0x300000 + (ht_pa_t)i * PG, PG, eff(e, HT_U, 0));
		XLATE(thief, vt + (ht_va_t)i * s1, 0x400000, PG,
		    eff(e, HT_W, 0));
	}
	cr_assert(gone > 0, "no victim mapping was stolen");
	cr_assert((uint64_t)gone <= st1.stolen - st0.stolen);
	/* the victim can map again */
	OK(ht_map(victim, vr + 5 * PG, 0x100000, PG, HT_W, 0));
	XLATE(victim, vr + 5 * PG, 0x100000, PG, eff(e, HT_W, 0));
	(void) g;
	ht_as_destroy(thief);
	ht_as_destroy(keep);
	env_teardown(e);
}
