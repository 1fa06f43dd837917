/*
 * test_shared_copied.c - the data model of shared tables
 * (HTABLE_SHARED_PFN: a table that borrows another space's frame) and of
 * copied roots (HTABLE_COPIED: root entries kept in an array that the
 * embedder copies into per-CPU roots), at the htable layer.  ht_share
 * and ht_unshare, which make and end shared tables, are tested in
 * tests/integration/test_share.c.
 */
#include <criterion/criterion.h>

#include "fixture.h"
#include "geom.h"
#include "htable_int.h"
#include "x86pte.h"
#include "hat.h"

TestSuite(shared_copied, .fini = fx_teardown, .timeout = 60);

Test(shared_copied, shared_table_borrows_the_source_frame)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	hat_t *ism;
	int err;

	cr_assert_eq(hat_create(fx.ctx, HAT_SHARED, &ism), 0);
	cr_assert_eq(ht_map(ism, 0x40000000, 0x1000000, 0x200000, HT_W,
	    HT_MAP_SIZE(HT_PS_4K)), 0);
	htable_t *src = htable_lookup(ism, 0x40000000, 0);
	cr_assert_not_null(src);
	int src_busy = src->ht_busy;
	uint64_t used = ht_arena_frames_used(fx.arena);

	htable_t *sh = htable_create(fx.as, 0x80000000, 0, src, &err);
	cr_assert_not_null(sh, "%s", ht_errdetail());
	cr_assert(sh->ht_flags & HTABLE_SHARED_PFN);
	cr_assert_eq(sh->ht_pfn, src->ht_pfn);
	cr_assert_eq(sh->ht_shares, src);
	cr_assert_eq(src->ht_busy, src_busy + 1, "the sharer holds the source");
	cr_assert_eq(atomic_load(&src->ht_nsharers), 1, "and is counted");
	/* only the two upper tables of the sharer took frames */
	cr_assert_eq(ht_arena_frames_used(fx.arena), used + 2);
	/* the MMU sees the source's leaves through the sharer */
	ht_xlate_t x;
	cr_assert_eq(ht_translate(fx.as, 0x80003000, &x), 0);
	cr_assert_eq(x.pa, 0x1003000);
	/*
	 * Our hold stands for the region's (ht_share keeps it): the audit is
	 * clean, and the table is not freed while it lives, although it
	 * counts no entry.  Dropping it frees the table.
	 */
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_valid(sh), 0);
	htable_t *again = htable_lookup(fx.as, 0x80000000, 0);
	cr_assert_eq(again, sh);
	fx_release(again);
	cr_assert_eq(htable_lookup(fx.as, 0x80000000, 0), sh, "still there");
	fx_release(sh);
	fx_release(sh);
	cr_assert_null(htable_lookup(fx.as, 0x80000000, 0));
	cr_assert_eq(src->ht_busy, src_busy, "source hold dropped");
	cr_assert_eq(atomic_load(&src->ht_nsharers), 0);
	cr_assert_eq(ht_translate(fx.as, 0x80003000, &x), -HT_ENOTMAPPED);
	cr_assert_eq(ht_translate(ism, 0x40003000, &x), 0, "source intact");
	fx_release(src);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_audit(ism), 0, "%s", ht_errdetail());
	/* steal never takes from a space that exports tables */
	ht_as_destroy(ism);
}

Test(shared_copied, copied_root_keeps_entries_in_an_array)
{
	static const ht_mode_t modes[] = { ALL_MODES };

	for (unsigned i = 0; i < sizeof (modes) / sizeof (modes[0]); i++) {
		ht_mode_t mode = modes[i];

		fx_setup_mode(mode, 0, 16);
		hat_t *pcp;

		cr_assert_eq(hat_create(fx.ctx, HAT_COPIED, &pcp), 0);
		htable_t *root = pcp->hat_htable;
		cr_assert(root->ht_flags & HTABLE_COPIED);
		cr_assert_eq(root->ht_pfn, HT_PFN_INVALID);
		uint64_t used = ht_arena_frames_used(fx.arena);
		fx_tlb_reset();
		cr_assert_eq(ht_map(pcp, 0x1000, 0x5000, 0x1000, HT_W, 0), 0);
		/*
		 * The CPU roots' copies are refreshed at once (cpuroot.c;
		 * test_cpu_root): the hook hears of a new root entry only
		 * in PAE, whose CPU keeps the four in registers.
		 */
		cr_assert_eq(fx_tlb_covers(pcp, 0, ~0ull),
		    mode == HT_MODE_PAE);
		cr_assert_neq(pcp->hat_copied_ptes[0], 0);
		cr_assert_eq(ht_arena_frames_used(fx.arena), used +
		    (uint64_t)(ht_ctx_geometry(fx.ctx)->levels - 1));
		ht_xlate_t x;
		cr_assert_eq(ht_translate(pcp, 0x1234, &x), 0);
		cr_assert_eq(x.pa, 0x5234);
		cr_assert_eq(ht_audit(pcp), 0, "%s", ht_errdetail());
		cr_assert_eq(ht_unmap(pcp, 0x1000, 0x1000, 0), 0);
		cr_assert_eq(ht_audit(pcp), 0, "%s", ht_errdetail());
		ht_as_destroy(pcp);
		fx_teardown();
	}
}
