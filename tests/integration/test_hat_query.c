/*
 * test_hat_query.c - integration tests of the queries (hat_query.c):
 * ht_walk over a space without a leaf returns at once with none (an old
 * hang), and ht_va2pa agrees with ht_translate everywhere.  ht_translate
 * itself is checked by every other suite (XLATE); ht_access has
 * test_access.c.
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

/*
 * ht_walk(as, 0, last, ...) on an address space without any leaf returns
 * 0 and no leaves, in every mode (an old bug: the walk reached the root,
 * whose scan returns 0 for "past the top", and a wrap test that is false
 * for a walk begun at 0 started it over forever).  Short timeout.
 */
MODE_PARAMS(hat_query, walk_empty)

ParameterizedTest(ht_mode_t *mode, hat_query, walk_empty, .timeout = 5)
{
	env_t *e = &E;
	int n = 0;

	env_setup(e, *mode);
	OK(ht_walk(e->as, PG, va_last(e->g), count_cb, &n));
	cr_assert_eq(n, 0);
	OK(ht_walk(e->as, 0, va_last(e->g), count_cb, &n));
	cr_assert_eq(n, 0);
	/* and after everything was unmapped again */
	OK(ht_map(e->as, 0x400000, 0, PG, HT_W, 0));
	OK(ht_unmap(e->as, 0x400000, PG, 0));
	OK(ht_walk(e->as, 0, va_last(e->g), count_cb, &n));
	cr_assert_eq(n, 0);
	env_teardown(e);
}

/*
 * ht_va2pa agrees with ht_translate everywhere, in every mode (in EPT also
 * at pages without the read right: execute-only ones).
 */
MODE_PARAMS(hat_query, va2pa)

ParameterizedTest(ht_mode_t *mode, hat_query, va2pa, .timeout = 60)
{
	ht_arena_t *a;
	ht_ctx_t *ctx;
	ht_as_t *as;
	ht_pa_t pa;
	int top = *mode >= HT_MODE_4LEVEL;

	cr_assert_eq(ht_arena_create(0x100000, 16 << 20, 0, &a), 0);
	const ht_geometry_t *g = ht_geometry(*mode);
	ht_config_t cfg = { .mode = *mode, .frame_ops = ht_arena_ops(),
	    .frame_arg = a, .ept = mode_ept(g) ? EPT_ENV : 0 };
	cr_assert_eq(ht_ctx_create(&cfg, &ctx), 0);
	cr_assert_eq(ht_as_create(ctx, 0, &as), 0);
	cr_assert_eq(ht_map(as, 0x400000, 0x800000, 0x1400000, HT_W, 0), 0);
	cr_assert_eq(ht_map(as, 0x3000, 0x7000, 0x2000, 0, 0), 0);
	/* EPT: execute-only pages, supervisor- and user-mode */
	if (mode_ept(g)) {
		cr_assert_eq(ht_map(as, 0x9000, 0xa000, PG, HT_X | HT_NOREAD,
		    0), 0);
		cr_assert_eq(ht_map(as, 0xa000, 0xb000, PG, HT_XU | HT_NOREAD,
		    0), 0);
	}
	/* the top of the space: canonical ~0, or 2^va_bits - 1 */
	ht_va_t last = va_last(g);
	if (top)
		cr_assert_eq(ht_map(as, last - 0x3fffff, 0x40000000, 0x400000,
		    0, 0), 0);
	const uint64_t probes[] = { 0, 0x3000, 0x4abc, 0x5000, 0x400123,
	    0x1234567, 0x17fffff, 0x1800000, ~0ull - 0x1000, 1ull << 47,
	    last - 0x1000, last + 1, 0x9123, 0xa008 };
	for (unsigned i = 0; i < sizeof (probes) / sizeof (probes[0]); i++) {
		ht_xlate_t x;
		int r1 = ht_translate(as, probes[i], &x);
		int r2 = ht_va2pa(as, probes[i], &pa);

		cr_assert_eq(r1, r2, "va 0x%llx", (unsigned long long)probes[i]);
		if (r1 == 0)
			cr_assert_eq(pa, x.pa);
		/* the execute-only pages are mappings like any other */
		if (mode_ept(g) && (probes[i] >> 12 == 9 ||
		    probes[i] >> 12 == 0xa)) {
			cr_assert_eq(r1, 0, "va 0x%llx: %s",
			    (unsigned long long)probes[i], ht_err_name(r1));
			cr_assert_eq(pa, probes[i] + PG);
			cr_assert(x.attr & HT_NOREAD, "attr 0x%x", x.attr);
		}
	}
	cr_assert_eq(ht_va2pa(NULL, 0, &pa), -HT_EINVAL);
	cr_assert_eq(ht_va2pa(as, 0, NULL), -HT_EINVAL);
	ht_as_destroy(as);
	cr_assert_eq(ht_ctx_destroy(ctx), 0);
	ht_arena_destroy(a);
}
