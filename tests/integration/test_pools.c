/*
 * test_pools.c - integration tests of the frame pools of a context
 * (ht_config_t.pools; ptable_alloc in frame.c): every table frame comes
 * from the pools, a map that finds them exhausted fails with
 * HT_ENOFRAME and changes nothing, a second space cannot get a root, and
 * freeing makes room again.
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
/* Pools                                                               */
/* ------------------------------------------------------------------ */

typedef struct pool_chk {
	const ht_config_t	*cfg;
	long			n;
	int			bad;
} pool_chk_t;

static void
pool_cb(void *arg, const ht_as_t *as, ht_pfn_t pfn, int level)
{
	pool_chk_t *c = arg;
	ht_pa_t pa = pfn << 12;
	int in = 0;

	(void) as;
	(void) level;
	for (unsigned i = 0; i < c->cfg->npools; i++)
		if (pa >= c->cfg->pools[i].base &&
		    pa - c->cfg->pools[i].base < c->cfg->pools[i].len)
			in = 1;
	c->n++;
	if (!in)
		c->bad++;
}

MODE_PARAMS(pools, frames_only_from_the_pools)

ParameterizedTest(ht_mode_t *mode, pools, frames_only_from_the_pools,
    .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	ht_config_t cfg;
	uint64_t s1;
	pool_chk_t c;
	int i, rc = 0;
	long n;

	cfg = base_cfg(e, *mode);	/* (EPT: EPT_ENV) */
	cfg.npools = 2;
	cfg.pools[0].base = ARENA_BASE + 64 * MIB;
	cfg.pools[0].len = 15 * PG;
	cfg.pools[1].base = ARENA_BASE + 200 * MIB;
	cfg.pools[1].len = 32 * PG;
	env_setup_cfg(e, *mode, &cfg);
	g = e->g;
	s1 = lsize(g, 1);

	/* one small page per large region: one table each */
	for (i = 0; i < 200; i++) {
		snap_t b = { 0 }, a = { 0 };

		snap_take(e->as, g, &b);
		arm_detail();
		rc = ht_map(e->as, (ht_va_t)i * s1 + 7 * PG, 0x1000, PG, HT_W,
		    0);
		if (rc != 0) {
			cr_assert_eq(rc, -HT_ENOFRAME, "%s", ht_err_name(rc));
			check_detail(__LINE__, "pool exhausted");
			AUDIT(e->as);
			snap_take(e->as, g, &a);
			snap_eq(&b, &a, __LINE__);
			snap_free(&a);
			snap_free(&b);
			break;
		}
		snap_free(&b);
	}
	cr_assert_eq(rc, -HT_ENOFRAME, "pools never ran out");
	cr_assert(i >= 8 && i <= 48, "%d maps before exhaustion", i);
	memset(&c, 0, sizeof (c));
	c.cfg = &cfg;
	n = ht_ctx_dump_frames(e->ctx, pool_cb, &c);
	cr_assert_eq(n, c.n);
	cr_assert_eq(c.bad, 0, "%d of %ld frames outside the pools", c.bad, n);
	cr_assert(n >= i);
	/* the pools hold at most 15 + 32 frames */
	cr_assert(n <= 47, "%ld frames", n);
	cr_assert_eq((uint64_t)n, ht_arena_frames_used(e->arena));
	/* a second space cannot even get a root */
	{
		ht_as_t *as2 = NULL;

		arm_detail();
		rc = ht_as_create(e->ctx, 0, &as2);
		if (rc == 0) {
			/* possible only if a cached frame was reused */
			ht_as_destroy(as2);
		} else {
			cr_assert_eq(rc, -HT_ENOFRAME, "%s", ht_err_name(rc));
		}
	}
	/* everything mapped so far still translates */
	for (int j = 0; j < i; j++)
		XLATE(e->as, (ht_va_t)j * s1 + 7 * PG, 0x1000, PG,
		    eff(e, HT_W, 0));
	/* freeing makes room again */
	OK(ht_unmap(e->as, 0, (ht_va_t)i * s1, 0));
	(void) ht_as_purge(e->as);
	OK(ht_map(e->as, (ht_va_t)i * s1 + 7 * PG, 0x1000, PG, HT_W, 0));
	memset(&c, 0, sizeof (c));
	c.cfg = &cfg;
	n = ht_ctx_dump_frames(e->ctx, pool_cb, &c);
	cr_assert_eq(c.bad, 0);
	AUDIT(e->as);
	env_teardown(e);
}
