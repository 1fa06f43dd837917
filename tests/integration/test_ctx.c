/*
 * test_ctx.c - integration tests of contexts and spaces (ctx.c, hat.c):
 * ht_ctx_create refuses each bad configuration (frame ops, mode, page
 * sizes, physical width, EPT flags, hash buckets, pools) with a fresh
 * ht_errdetail() and nothing allocated, accepts every valid combination
 * and map-only or window-only providers; ht_as_create's arguments;
 * ht_ctx_destroy refuses while a space lives.
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

/* ht_ctx_create with bad configurations; ht_ctx_destroy while busy. */
MODE_PARAMS(ctx, errors)

#define CTX_ERR(code, cfgp) do {					\
	ht_ctx_t *c_ = NULL;						\
	int rc_;							\
	arm_detail();							\
	rc_ = ht_ctx_create(cfgp, &c_);					\
	cr_assert_eq(rc_, -(code), "line %d: ht_ctx_create: %s, want %s", \
	    __LINE__, rc_ < 0 ? ht_err_name(rc_) : "success",		\
	    ht_err_name(code));						\
	check_detail(__LINE__, "ht_ctx_create");			\
	cr_assert_null(c_);						\
	cr_assert_eq(ht_arena_frames_used(e->arena), 0);		\
} while (0)

ParameterizedTest(ht_mode_t *mode, ctx, errors, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	ht_config_t cfg, good;
	ht_frame_ops_t ops;
	ht_ctx_t *ctx = NULL;
	ht_as_t *as = NULL, *as2 = NULL;

	env_arena(e, *mode);
	g = e->g;
	good = base_cfg(e, *mode);

	CTX_ERR(HT_EINVAL, NULL);
	arm_detail();
	cr_assert_eq(ht_ctx_create(&good, NULL), -HT_EINVAL);
	check_detail(__LINE__, "NULL r_ctx");

	cfg = good;
	cfg.frame_ops = NULL;
	CTX_ERR(HT_EINVAL, &cfg);
	ops = *ht_arena_ops();
	ops.alloc = NULL;
	cfg = good;
	cfg.frame_ops = &ops;
	CTX_ERR(HT_EINVAL, &cfg);
	ops = *ht_arena_ops();
	ops.free = NULL;
	CTX_ERR(HT_EINVAL, &cfg);
	ops = *ht_arena_ops();
	ops.map = NULL;
	ops.window = NULL;
	CTX_ERR(HT_EINVAL, &cfg);

	cfg = good;
	cfg.mode = (ht_mode_t)64;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.mode = (ht_mode_t)-1;
	CTX_ERR(HT_EINVAL, &cfg);

	/* page sizes: 4 KiB is required, others must exist in the mode */
	cfg = good;
	cfg.pagesizes = g->pagesizes & ~HT_PS_4K;
	CTX_ERR(HT_EPAGESIZE, &cfg);
	cfg.pagesizes = HT_PS_1G;
	CTX_ERR(HT_EPAGESIZE, &cfg);
	cfg.pagesizes = HT_PS_4K | ((g->pagesizes & HT_PS_4M) ? HT_PS_2M :
	    HT_PS_4M);
	CTX_ERR(HT_EPAGESIZE, &cfg);
	cfg.pagesizes = 0x10 | HT_PS_4K;
	CTX_ERR(HT_EPAGESIZE, &cfg);

	/* physical width */
	cfg = good;
	cfg.pa_bits = 31;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.pa_bits = 1;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.pa_bits = g->pa_bits_max + 1;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.pa_bits = 64;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.pa_bits = 1000;
	CTX_ERR(HT_EINVAL, &cfg);

	/*
	 * EPT flags: in EPT only, and only those three; no_nx means
	 * nothing in EPT (no NX bit), and every set of the flags is valid
	 */
	cfg = good;
	if (mode_ept(g)) {
		int rc;

		cfg.ept = 0x8;
		CTX_ERR(HT_EINVAL, &cfg);
		/*
		 * the top bit too (expected, not asserted: the rest of the
		 * test goes on if a context is made, and is destroyed)
		 */
		cfg.ept = EPT_ENV | 0x80000000u;
		rc = ht_ctx_create(&cfg, &ctx);
		cr_expect_eq(rc, -HT_EINVAL, "cfg.ept 0x%x: %s", cfg.ept,
		    rc == 0 ? "a context" : ht_err_name(rc));
		if (rc == 0)
			OK(ht_ctx_destroy(ctx));
		cfg.ept = EPT_ENV;
		cfg.no_nx = 1;
		CTX_ERR(HT_EINVAL, &cfg);
		cfg.no_nx = 0;
		for (unsigned f = 0; f <= EPT_ENV; f++) {
			cfg.ept = f;
			OK(ht_ctx_create(&cfg, &ctx));
			OK(ht_ctx_destroy(ctx));
		}
	} else {
		cfg.ept = HT_EPT_AD;
		CTX_ERR(HT_EINVAL, &cfg);
	}

	/* hash buckets */
	cfg = good;
	cfg.hash_buckets = 3;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.hash_buckets = 1000;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.hash_buckets = 0x80000001u;
	CTX_ERR(HT_EINVAL, &cfg);

	/* pools */
	cfg = good;
	cfg.npools = HT_MAX_POOLS + 1;
	for (int i = 0; i < HT_MAX_POOLS; i++) {
		cfg.pools[i].base = ARENA_BASE;
		cfg.pools[i].len = ARENA_SIZE;
	}
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.npools = 1000;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.npools = 1;
	cfg.pools[0].len = 0;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.pools[0].base = 0 - PG;
	cfg.pools[0].len = 2 * PG;
	CTX_ERR(HT_ERANGE, &cfg);

	/* the good ones: every valid combination works */
	cfg = good;
	cfg.npools = HT_MAX_POOLS;
	for (int i = 0; i < HT_MAX_POOLS; i++) {
		cfg.pools[i].base = ARENA_BASE + (ht_pa_t)i * MIB;
		cfg.pools[i].len = MIB;
	}
	cfg.hash_buckets = 1;
	cfg.pa_bits = 32;
	cfg.pagesizes = HT_PS_4K;
	OK(ht_ctx_create(&cfg, &ctx));
	cr_assert_eq(ht_ctx_pagesizes(ctx), HT_PS_4K);
	cr_assert_eq(ht_ctx_pa_bits(ctx), 32);
	cr_assert_eq(ht_ctx_geometry(ctx), g);
	OK(ht_ctx_destroy(ctx));
	/* map-only and window-only providers are accepted */
	ops = *ht_arena_ops();
	ops.window = NULL;
	cfg = good;
	cfg.frame_ops = &ops;
	OK(ht_ctx_create(&cfg, &ctx));
	OK(ht_ctx_destroy(ctx));
	ops = *ht_arena_ops();
	ops.map = NULL;
	OK(ht_ctx_create(&cfg, &ctx));
	OK(ht_ctx_destroy(ctx));
	cr_assert_eq(ht_ctx_destroy(NULL), 0);

	/* busy contexts */
	OK(ht_ctx_create(&good, &ctx));
	arm_detail();
	cr_assert_eq(ht_as_create(ctx, 0x80, &as), -HT_EINVAL);
	check_detail(__LINE__, "as_create flags");
	cr_assert_eq(ht_as_create(NULL, 0, &as), -HT_EINVAL);
	cr_assert_eq(ht_as_create(ctx, 0, NULL), -HT_EINVAL);
	OK(ht_as_create(ctx, 0, &as));
	OK(ht_as_create(ctx, HT_AS_NOSTEAL, &as2));
	cr_assert_eq(ht_as_ctx(as), ctx);
	OK(ht_map(as, 0x400000, 0x400000, 8 * PG, HT_W, 0));
	arm_detail();
	cr_assert_eq(ht_ctx_destroy(ctx), -HT_EBUSY);
	check_detail(__LINE__, "ctx_destroy busy");
	AUDIT(as);
	XLATE(as, 0x401000, 0x401000, PG, eff(e, HT_W, 0));
	ht_as_destroy(as);
	arm_detail();
	cr_assert_eq(ht_ctx_destroy(ctx), -HT_EBUSY);
	check_detail(__LINE__, "ctx_destroy busy");
	AUDIT(as2);
	ht_as_destroy(as2);
	ht_as_destroy(NULL);
	OK(ht_ctx_destroy(ctx));
	cr_assert_eq(ht_arena_frames_used(e->arena), 0);
	e->ctx = NULL;
	e->as = NULL;
	env_teardown(e);
}
