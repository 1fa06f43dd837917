/*
 * test_tlb.c - integration tests of the TLB hook (the operation frame's
 * batching, op.c): mapping into empty entries calls it not at all; an
 * unmap of a GiB of small pages in a few merged calls that cover it; a
 * remap or protect of an accessed page flushes it; lock and unlock never
 * call it; destroying a space calls it once, for everything.  The
 * context's tlb_calls statistic counts the calls.
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
/* TLB callback                                                        */
/* ------------------------------------------------------------------ */

MODE_PARAMS(tlb, hook_calls)

ParameterizedTest(ht_mode_t *mode, tlb, hook_calls, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	ht_stats_t st0, st1;
	uint64_t s1;
	ht_va_t v = GIB;
	ht_as_t *as;

	env_setup(e, *mode);
	g = e->g;
	s1 = lsize(g, 1);

	/*
	 * Mapping into empty entries needs no flush, except where it makes
	 * a PAE root entry: the CPU holds the four in registers that only a
	 * CR3 load refills, so each of the two maps that make one is told
	 * "all".
	 */
	unsigned fresh = *mode == HT_MODE_PAE ? 2 : 0;

	tlb_reset(e);
	ht_ctx_stats(e->ctx, &st0);
	OK(ht_map(e->as, v, 0, GIB, HT_W, HT_MAP_SIZE(HT_PS_4K)));
	OK(ht_map(e->as, 3 * GIB, 0, s1, HT_W, 0));
	OK(ht_map(e->as, 3 * GIB + s1 + PG, 0, 4 * PG, HT_W, 0));
	cr_assert_eq(e->ntlb_total, fresh, "%llu TLB calls for a fresh map",
	    (unsigned long long)e->ntlb_total);
	if (fresh != 0)
		cr_assert(tlb_covers(e, e->as, 0, ~0ull), "PAE: all");
	ht_ctx_stats(e->ctx, &st1);
	cr_assert_eq(st1.tlb_calls, st0.tlb_calls + fresh);

	/* unmap of 1 GiB of touched 4 KiB pages: few merged calls */
	raw_touch(e, e->as, v, GIB, E_A);
	tlb_reset(e);
	OK(ht_unmap(e->as, v, GIB, 0));
	cr_assert(e->ntlb_total >= 1 && e->ntlb_total <= 8,
	    "%llu TLB calls", (unsigned long long)e->ntlb_total);
	cr_assert(tlb_covers(e, e->as, v, GIB));
	ht_ctx_stats(e->ctx, &st1);
	cr_assert(st1.tlb_calls > st0.tlb_calls);
	UNMAPPED(e->as, v);

	/* the same with untouched pages: still at most 8 calls */
	OK(ht_map(e->as, v, 0, GIB, HT_W, HT_MAP_SIZE(HT_PS_4K)));
	tlb_reset(e);
	OK(ht_unmap(e->as, v, GIB, 0));
	cr_assert(e->ntlb_total <= 8, "%llu TLB calls",
	    (unsigned long long)e->ntlb_total);

	/* unmap of a large page and a few small ones */
	raw_touch(e, e->as, 3 * GIB, s1, E_A);
	raw_touch(e, e->as, 3 * GIB + s1 + PG, 4 * PG, E_A | E_D);
	tlb_reset(e);
	OK(ht_unmap(e->as, 3 * GIB, 2 * s1, 0));
	cr_assert(e->ntlb_total >= 1 && e->ntlb_total <= 8);
	cr_assert(tlb_covers(e, e->as, 3 * GIB, s1));
	cr_assert(tlb_covers(e, e->as, 3 * GIB + s1 + PG, 4 * PG));

	/* remap of an accessed page must flush it; protect likewise */
	OK(ht_map(e->as, 3 * GIB, 0x100000, PG, HT_W, 0));
	raw_touch(e, e->as, 3 * GIB, PG, E_A);
	tlb_reset(e);
	OK(ht_map(e->as, 3 * GIB, 0x200000, PG, HT_W, 0));
	cr_assert(tlb_covers(e, e->as, 3 * GIB, PG));
	raw_touch(e, e->as, 3 * GIB, PG, E_A);
	tlb_reset(e);
	OK(ht_protect(e->as, 3 * GIB, PG, 0));
	cr_assert(tlb_covers(e, e->as, 3 * GIB, PG));
	/* lock and unlock are software bits only */
	tlb_reset(e);
	OK(ht_lock(e->as, 3 * GIB, PG));
	OK(ht_unlock(e->as, 3 * GIB, PG));
	cr_assert_eq(e->ntlb_total, 0);

	/* destroy: everything of that space, once */
	OK(ht_as_create(e->ctx, 0, &as));
	OK(ht_map(as, 0x400000, 0, 16 * PG, HT_W, 0));
	tlb_reset(e);
	ht_as_destroy(as);
	cr_assert_eq(e->ntlb_total, 1);
	cr_assert_eq(e->tlb[0].as, as);
	cr_assert_eq(e->tlb[0].len, HT_TLB_ALL);
	tlb_reset(e);
	ht_as_destroy(e->as);
	cr_assert_eq(e->ntlb_total, 1);
	cr_assert_eq(e->tlb[0].len, HT_TLB_ALL);
	e->as = NULL;
	env_teardown(e);

	/*
	 * EPT without A/D (the EPTP does not enable them): no bit says
	 * which entries the CPU cached, so any change of a present leaf,
	 * touched or not, flushes it; mapping into empty entries still
	 * needs none.
	 */
	if (mode_ept(g)) {
		ht_config_t cfg = base_cfg(e, *mode);

		cfg.ept = HT_EPT_MBEC | HT_EPT_XONLY;
		env_setup_cfg(e, *mode, &cfg);
		tlb_reset(e);
		OK(ht_map(e->as, v, 0x100000, 4 * PG, HT_W, 0));
		OK(ht_map(e->as, 3 * GIB, 0, s1, HT_W, 0));
		cr_assert_eq(e->ntlb_total, 0);
		OK(ht_map(e->as, v, 0x200000, PG, HT_W, 0));
		cr_assert(tlb_covers(e, e->as, v, PG), "remap");
		tlb_reset(e);
		OK(ht_protect(e->as, v + PG, PG, 0));
		cr_assert(tlb_covers(e, e->as, v + PG, PG), "protect");
		tlb_reset(e);
		OK(ht_unmap(e->as, v + 2 * PG, 2 * PG, 0));
		cr_assert(tlb_covers(e, e->as, v + 2 * PG, 2 * PG), "unmap");
		tlb_reset(e);
		OK(ht_unmap(e->as, 3 * GIB, s1, 0));
		cr_assert(tlb_covers(e, e->as, 3 * GIB, s1), "large unmap");
		/* lock and unlock: software bits, as anywhere */
		tlb_reset(e);
		OK(ht_lock(e->as, v, PG));
		OK(ht_unlock(e->as, v, PG));
		cr_assert_eq(e->ntlb_total, 0);
		env_teardown(e);
	}
}
