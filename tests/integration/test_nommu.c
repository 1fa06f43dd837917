/*
 * test_nommu.c - spaces that no MMU walks yet (HT_AS_NOMMU,
 * ht_as_set_mmu): the same results as a live space for every call that
 * changes one, no TLB hook call while no MMU walks it and the usual ones
 * once it is live, what ht_switch and sharing do with the state, and
 * every error of the state's calls (test_errors.c checks that each
 * documented code is provoked; here each refusal also changes nothing).
 *
 * Only htable.h is used; the environment (arena, context, space, TLB
 * record) and the checks are tests/lib/api_env.h.  Every test runs in
 * every paging mode and ends with every space destroyed and no frame
 * left allocated in the arena.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "../lib/api_env.h"

static long
ad_count(ht_as_t *as, ht_va_t va, uint64_t len)
{
	return (ht_harvest_ad(as, va, len, HT_A | HT_D, 0, NULL, NULL));
}

/*
 * One sequence of calls, applied to a live and a no-MMU space: large
 * and small pages, splits at every edge, remaps, protect, chattr, locks,
 * non-present entries, A/D presets harvested and cleared, unmaps.
 */
static long
apply(ht_as_t *as, const ht_geometry_t *g)
{
	uint64_t s1 = lsize(g, 1);
	ht_va_t v = GIB;
	unsigned clr = HT_W, set = HT_PCD;
	long ad;

	mode_chattr(&E, &clr, &set);	/* EPT: whole rights and type */
	OK(ht_map(as, v, 0, 4 * s1, HT_W | HT_A, 0));
	OK(ht_map(as, v + 4 * s1, 8 * s1, 3 * PG, HT_W | HT_D, 0));
	OK(ht_map(as, v + 5 * s1, 0, 2 * s1, HT_W,
	    HT_MAP_SIZE(HT_PS_4K)));
	/* remap part of a large page: split, other frames */
	OK(ht_map(as, v + s1 + 3 * PG, 0x100000, 5 * PG, HT_U, 0));
	OK(ht_protect(as, v + 2 * PG, s1, 0));
	OK(ht_protect(as, v + 5 * s1 + PG, s1, HT_W | HT_X));
	OK(ht_chattr(as, v + 3 * s1 - 4 * PG, 8 * PG, clr, set));
	OK(ht_lock(as, v + 5 * s1, 16 * PG));
	OK(ht_lock(as, v + 5 * s1 + 4 * PG, 4 * PG));
	OK(ht_unlock(as, v + 5 * s1 + 4 * PG, 4 * PG));
	cr_assert_eq(ht_map(as, v + 5 * s1, 0, PG, 0, 0), -HT_ELOCKED);
	OK(ht_set_np(as, v + 6 * s1 + 8 * PG, 4 * PG, 0x1000, 0x1000));
	ad = ad_count(as, v, 8 * s1);
	cr_assert_gt(ad, 0);
	cr_assert_geq(ht_harvest_ad(as, v, s1, HT_A, HT_AD_CLEAR, NULL,
	    NULL), 1);
	OK(ht_unmap(as, v + 3 * PG, 2 * PG, 0));
	OK(ht_unmap(as, v + 5 * s1, s1, HT_UNMAP_UNLOCK));
	OK(ht_unmap(as, v + 6 * s1 + 9 * PG, PG, 0));
	/* a large page over small ones */
	OK(ht_map(as, v + 4 * s1, 4 * s1, s1, HT_W, 0));
	return (ad);
}

MODE_PARAMS(nommu, same_results)

ParameterizedTest(ht_mode_t *mode, nommu, same_results, .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *nm;

	env_setup(e, *mode);
	OK(ht_as_create(e->ctx, HT_AS_NOMMU, &nm));
	cr_assert_eq(ht_as_mmu(nm), 0);
	cr_assert_eq(ht_as_mmu(e->as), 1);
	tlb_reset(e);
	cr_assert_eq(apply(e->as, e->g), apply(nm, e->g));
	same_leaves(e->as, nm, E.g, __LINE__);
	cr_assert_eq(tlb_count_for(e, nm), 0, "%llu TLB calls for a no-MMU space",
	    (unsigned long long)tlb_count_for(e, nm));
	/* the same again once live, from where they are */
	OK(ht_as_set_mmu(nm, 1));
	cr_assert_eq(tlb_count_for(e, nm), 0, "turning live calls no hook");
	OK(ht_protect(e->as, GIB, 8 * lsize(e->g, 1), HT_W));
	OK(ht_protect(nm, GIB, 8 * lsize(e->g, 1), HT_W));
	OK(ht_unmap(e->as, GIB + PG, 3 * PG, 0));
	OK(ht_unmap(nm, GIB + PG, 3 * PG, 0));
	same_leaves(e->as, nm, E.g, __LINE__);
	ht_as_destroy(nm);
	env_teardown(e);
}

MODE_PARAMS(nommu, tlb_calls)

ParameterizedTest(ht_mode_t *mode, nommu, tlb_calls, .timeout = 120)
{
	env_t *e = &E;
	uint64_t s1;
	ht_va_t v = GIB;
	ht_as_t *nm;

	env_setup(e, *mode);
	s1 = lsize(e->g, 1);
	OK(ht_as_create(e->ctx, HT_AS_NOMMU, &nm));
	tlb_reset(e);
	/* the bits a CPU would set, preset: still nothing is cached */
	OK(ht_map(nm, v, 0, 2 * s1, HT_W | HT_A | HT_D, 0));
	OK(ht_map(nm, v + 2 * s1, 0, 8 * PG, HT_W | HT_A, 0));
	OK(ht_protect(nm, v, 2 * s1 + 8 * PG, 0));
	OK(ht_map(nm, v + 2 * s1, 0x200000, 2 * PG, HT_W, 0));
	OK(ht_unmap(nm, v + s1 / 2, s1, 0));
	cr_assert_eq(e->ntlb_total, 0, "%llu TLB calls",
	    (unsigned long long)e->ntlb_total);
	/* live: touched leaves are flushed as in any space */
	OK(ht_as_set_mmu(nm, 1));
	cr_assert_eq(e->ntlb_total, 0);
	raw_touch(e, nm, v + 2 * s1 + 2 * PG, 4 * PG, E_A);
	OK(ht_protect(nm, v + 2 * s1 + 2 * PG, 4 * PG, HT_W));
	cr_assert(tlb_covers(e, nm, v + 2 * s1 + 2 * PG, 4 * PG));
	OK(ht_unmap(nm, v + 2 * s1 + 2 * PG, 4 * PG, 0));
	cr_assert(tlb_covers(e, nm, v + 2 * s1 + 2 * PG, 4 * PG));
	/* back to no-MMU: none again, not even at destroy */
	OK(ht_as_set_mmu(nm, 0));
	tlb_reset(e);
	raw_touch(e, nm, v, s1 / 2, E_A | E_D);
	OK(ht_protect(nm, v, s1 / 2, HT_W));
	OK(ht_unmap(nm, v, s1 / 2, 0));
	ht_as_destroy(nm);
	cr_assert_eq(e->ntlb_total, 0, "%llu TLB calls",
	    (unsigned long long)e->ntlb_total);
	env_teardown(e);
}

/* A live source seen by a no-MMU sharer: its flushes skip the sharer. */
MODE_PARAMS(nommu, sharing)

ParameterizedTest(ht_mode_t *mode, nommu, sharing, .timeout = 120)
{
	env_t *e = &E;
	uint64_t s1;
	ht_va_t r;
	ht_as_t *sh, *lv;
	ht_share_info_t info;

	env_setup(e, *mode);
	s1 = lsize(e->g, 1);
	r = GIB + 64 * s1;
	OK(ht_map(e->as, GIB, 0x400000, s1, HT_W, HT_MAP_SIZE(HT_PS_4K)));
	OK(ht_as_create(e->ctx, HT_AS_NOMMU, &sh));
	OK(ht_share(sh, r, e->as, GIB, s1, &info));
	XLATE(sh, r + PG, 0x401000, PG, HT_W);
	raw_touch(e, e->as, GIB, 4 * PG, E_A);
	tlb_reset(e);
	OK(ht_unmap(e->as, GIB, 4 * PG, 0));
	cr_assert(tlb_covers(e, e->as, GIB, 4 * PG));
	cr_assert_eq(tlb_count_for(e, sh), 0, "forwarded to a no-MMU sharer");
	UNMAPPED(sh, r);
	/* a no-MMU source may not be shown by a live sharer */
	OK(ht_as_set_mmu(e->as, 0));
	OK(ht_as_create(e->ctx, 0, &lv));
	EXPECT_ERR(e, HT_EBUSY, ht_share(lv, r, e->as, GIB, s1, &info));
	EXPECT_ERR(e, HT_EBUSY, ht_as_set_mmu(sh, 1));
	cr_assert_eq(ht_as_mmu(sh), 0);
	OK(ht_as_set_mmu(e->as, 1));
	OK(ht_as_set_mmu(sh, 1));
	EXPECT_ERR(e, HT_EBUSY, ht_as_set_mmu(e->as, 0));
	cr_assert_eq(ht_as_mmu(e->as), 1);
	raw_touch(e, e->as, GIB + 4 * PG, PG, E_A);
	tlb_reset(e);
	OK(ht_unmap(e->as, GIB + 4 * PG, PG, 0));
	cr_assert(tlb_covers(e, sh, r + 4 * PG, PG), "forwarded once live");
	cr_assert_eq(ht_unshare(sh, r, s1), 1);
	ht_as_destroy(lv);
	ht_as_destroy(sh);
	env_teardown(e);
}

/* CPU roots run only live spaces: a switch turns one live. */
MODE_PARAMS(nommu, switch_turns_live)

ParameterizedTest(ht_mode_t *mode, nommu, switch_turns_live,
    .timeout = 120)
{
	env_t *e = &E;
	ht_cpu_root_cfg_t rc;
	ht_cpu_root_t *cr;
	ht_switch_t sw;
	ht_as_t *nm, *k;

	env_setup(e, *mode);
	OK(ht_as_create(e->ctx, HT_AS_NOMMU | HT_AS_COPIED, &nm));
	OK(ht_as_create(e->ctx, HT_AS_NOMMU, &k));
	OK(ht_map(nm, GIB, 0x5000, PG, HT_W, 0));
	memset(&rc, 0, sizeof (rc));
	rc.id = 3;
	rc.kernel = k;
	OK(ht_cpu_root_create(e->ctx, &rc, &cr));
	cr_assert_eq(ht_as_mmu(k), 1, "a kernel half is walked: live");
	EXPECT_ERR(e, HT_EBUSY, ht_as_set_mmu(k, 0));
	cr_assert_eq(ht_as_mmu(nm), 0);
	OK(ht_switch(cr, nm, &sw));
	cr_assert_eq(ht_as_mmu(nm), 1);
	EXPECT_ERR(e, HT_EBUSY, ht_as_set_mmu(nm, 0));
	OK(ht_switch(cr, NULL, &sw));
	OK(ht_as_set_mmu(nm, 0));
	OK(ht_map(nm, GIB + PG, 0x6000, PG, HT_W, 0));
	OK(ht_cpu_root_audit(cr));
	AUDIT(nm);
	ht_cpu_root_destroy(cr);
	ht_as_destroy(k);
	ht_as_destroy(nm);
	env_teardown(e);
}

static ht_as_t *cb_as;
static int cb_rc;

/* A/D callback of a no-MMU unmap: the state cannot change under it. */
static void
ad_cb(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	(void) arg; (void) va; (void) size; (void) bits;
	cb_rc = ht_as_set_mmu(cb_as, 1);
	/* the same thread may change the space it is inside */
	if (cb_rc == -HT_EBUSY && ht_map(cb_as, 3 * GIB, 0, PG, 0, 0) != 0)
		cb_rc = 1;
}

MODE_PARAMS(nommu, errors)

ParameterizedTest(ht_mode_t *mode, nommu, errors, .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *nm;

	env_setup(e, *mode);
	EXPECT_ERR(e, HT_EINVAL, ht_as_set_mmu(NULL, 1));
	EXPECT_ERR(e, HT_EINVAL, ht_as_set_mmu(NULL, 0));
	EXPECT_ERR(e, HT_EINVAL, ht_as_create(e->ctx, HT_AS_NOMMU | 0x100,
	    &nm));
	EXPECT_ERR(e, HT_EINVAL, ht_as_import(e->ctx, 0, HT_AS_NOMMU | 0x100,
	    &nm));
	/* no change is no error, either way */
	OK(ht_as_set_mmu(e->as, 1));
	OK(ht_as_set_mmu(e->as, 0));
	OK(ht_as_set_mmu(e->as, 0));
	cr_assert_eq(ht_as_mmu(e->as), 0);
	/* from inside a call of the space */
	OK(ht_map(e->as, GIB, 0, PG, HT_W | HT_A, 0));
	cb_as = e->as;
	cb_rc = 0;
	OK(ht_unmap_ad(e->as, GIB, PG, 0, ad_cb, NULL));
	cr_assert_eq(cb_rc, -HT_EBUSY, "set_mmu in a callback: %d", cb_rc);
	cr_assert_eq(ht_as_mmu(e->as), 0);
	XLATE(e->as, 3 * GIB, 0, PG, 0);
	OK(ht_unmap(e->as, 3 * GIB, PG, 0));
	AUDIT(e->as);
	OK(ht_as_set_mmu(e->as, 1));
	env_teardown(e);
}
