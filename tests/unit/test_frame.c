/*
 * test_frame.c - frame providers: the arena (allocation inside a range,
 * limits, the window), and ptable_alloc's rules: pools, the root limit,
 * the throttle, force_steal, and a provider that misbehaves.
 */
#include <criterion/criterion.h>

#include "fixture.h"
#include "frame.h"
#include "htable_int.h"

TestSuite(frame, .fini = fx_teardown, .timeout = 60);

Test(frame, arena_arguments)
{
	ht_arena_t *a;
	cr_assert_eq(ht_arena_create(0, 0, 0, &a), -HT_EALIGN);
	cr_assert_eq(ht_arena_create(0x800, 0x1000, 0, &a), -HT_EALIGN);
	cr_assert_eq(ht_arena_create(0, 0x1800, 0, &a), -HT_EALIGN);
	cr_assert_eq(ht_arena_create(1ull << 52, 0x1000, 0, &a), -HT_ERANGE);
	cr_assert_eq(ht_arena_create(0, 0x1000, 0, NULL), -HT_EINVAL);
}

Test(frame, arena_allocates_inside_the_range_and_limit)
{
	ht_arena_t *a;
	const ht_frame_ops_t *ops = ht_arena_ops();
	ht_pfn_t pfn;

	cr_assert_eq(ht_arena_create(0x10000000, 64 * 4096, 0, &a), 0);
	cr_assert_eq(ht_arena_base(a), 0x10000000);
	cr_assert_eq(ht_arena_size(a), 64 * 4096);
	/* a sub-range */
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(ops->alloc(a, 0x10008000, 0x1000c000, &pfn), 0);
		cr_assert(pfn >= 0x10008 && pfn < 0x1000c);
	}
	cr_assert_eq(ops->alloc(a, 0x10008000, 0x1000c000, &pfn),
	    -HT_ENOFRAME);
	cr_assert_eq(ops->alloc(a, 0, 0x10000000, &pfn), -HT_ENOFRAME,
	    "below the arena");
	cr_assert_eq(ht_arena_frames_used(a), 4);
	cr_assert_eq(ops->avail(a), 60);
	ht_arena_set_limit(a, 5);
	cr_assert_eq(ops->avail(a), 1);
	cr_assert_eq(ops->alloc(a, 0, ~0ull, &pfn), 0);
	cr_assert_eq(ops->alloc(a, 0, ~0ull, &pfn), -HT_ENOFRAME, "limit");
	ops->free(a, pfn);
	cr_assert_eq(ops->alloc(a, 0, ~0ull, &pfn), 0);
	ht_arena_set_limit(a, 0);
	/* everything, then nothing */
	while (ops->alloc(a, 0, ~0ull, &pfn) == 0)
		;
	cr_assert_eq(ht_arena_frames_used(a), 64);
	ht_pa_t wbase;
	uint64_t wlen;
	uint8_t *w = ops->window(a, &wbase, &wlen);
	cr_assert_eq(wbase, 0x10000000);
	cr_assert_eq(wlen, 64 * 4096);
	cr_assert_eq(ht_arena_ptr(a, 0x10001234), w + 0x1234);
	cr_assert_null(ht_arena_ptr(a, 0x10000000 + 64 * 4096));
	cr_assert_eq(ops->map(a, 0x10003), w + 0x3000);
	ht_arena_destroy(a);
}

Test(frame, tables_come_only_from_the_pools)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 64);
	ht_as_destroy(fx.as);
	fx.as = NULL;
	cr_assert_eq(ht_ctx_destroy(fx.ctx), 0);
	fx.cfg.pools[0].base = 0x100000 + (8 << 20);
	fx.cfg.pools[0].len = 16 * 4096;
	fx.cfg.npools = 1;
	cr_assert_eq(ht_ctx_create(&fx.cfg, &fx.ctx), 0);
	cr_assert_eq(ht_as_create(fx.ctx, 0, &fx.as), 0);
	cr_assert_eq(ht_map(fx.as, 0, 0, 8 << 20, 0, HT_MAP_SIZE(HT_PS_4K)),
	    0);
	for (unsigned h = 0; h < htable_hash_cur(fx.as)->hh_n; h++)
		for (htable_t *ht = *htable_head(htable_hash_cur(fx.as), h); ht;
		    ht = ht->ht_next)
			cr_assert(ptable_in_pools(fx.ctx, ht->ht_pfn));
	/* 16 frames: root + 2 + 4 used, 9 left; 10 more tables fail */
	cr_assert_eq(ht_map(fx.as, 1ull << 30, 0, 20 << 20, 0,
	    HT_MAP_SIZE(HT_PS_4K)), -HT_ENOFRAME);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}

Test(frame, pae_root_must_be_below_4g)
{
	ht_arena_t *a;
	ht_ctx_t *ctx;
	ht_as_t *as;

	cr_assert_eq(ht_arena_create(1ull << 32, 1 << 20, 0, &a), 0);
	ht_config_t cfg = { .mode = HT_MODE_PAE, .frame_ops = ht_arena_ops(),
	    .frame_arg = a };
	cr_assert_eq(ht_ctx_create(&cfg, &ctx), 0);
	cr_assert_eq(ht_as_create(ctx, 0, &as), -HT_ENOFRAME);
	cr_assert_eq(ht_ctx_destroy(ctx), 0);
	/* 32-bit paging: no table at all above 4 GiB */
	cfg.mode = HT_MODE_32BIT;
	cr_assert_eq(ht_ctx_create(&cfg, &ctx), 0);
	cr_assert_eq(ht_as_create(ctx, 0, &as), -HT_ENOFRAME);
	cr_assert_eq(ht_ctx_destroy(ctx), 0);
	cr_assert_eq(ht_arena_frames_used(a), 0);
	ht_arena_destroy(a);
}

Test(frame, throttle_and_force_steal)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 1);	/* 256 frames */
	ht_as_destroy(fx.as);
	fx.as = NULL;
	cr_assert_eq(ht_ctx_destroy(fx.ctx), 0);
	fx.cfg.throttle = 250;
	cr_assert_eq(ht_ctx_create(&fx.cfg, &fx.ctx), 0);
	cr_assert_eq(ht_as_create(fx.ctx, 0, &fx.as), 0);
	ht_pfn_t got[16];
	int n = 0;
	for (int i = 0; i < 5; i++)
		cr_assert_eq(ptable_alloc(fx.ctx, 0, &got[n++]), 0);
	cr_assert_eq(ptable_alloc(fx.ctx, 0, &got[n]), -HT_ENOFRAME,
	    "6 used: 250 left is the throttle");
	fx.ctx->ctx_cfg.throttle = 0;
	ht_ctx_set_force_steal(fx.ctx, 3);
	int fails = 0;
	for (int i = 0; i < 9; i++) {
		if (ptable_alloc(fx.ctx, 0, &got[n]) == 0)
			n++;
		else
			fails++;
	}
	cr_assert_eq(fails, 3, "every third fails");
	ht_ctx_set_force_steal(fx.ctx, 0);
	while (n > 0)
		ptable_free(fx.ctx, got[--n]);
	cr_assert_eq(ht_arena_frames_used(fx.arena), 1, "the root");
}

static int
bad_alloc(void *arg, ht_pa_t lo, ht_pa_t hi, ht_pfn_t *r_pfn)
{
	(void) lo;
	(void) hi;
	int rc = ht_arena_ops()->alloc(arg, 0, ~0ull, r_pfn);
	if (rc == 0)
		*r_pfn += 1ull << 30;	/* far outside what was asked */
	return (rc);
}

static void
bad_free(void *arg, ht_pfn_t pfn)
{
	ht_arena_ops()->free(arg, pfn - (1ull << 30));
}

Test(frame, misbehaving_provider_is_an_error)
{
	ht_arena_t *a;
	ht_ctx_t *ctx;
	ht_as_t *as;
	ht_frame_ops_t ops = *ht_arena_ops();

	ops.alloc = bad_alloc;
	ops.free = bad_free;
	ops.window = NULL;
	cr_assert_eq(ht_arena_create(0, 1 << 20, 0, &a), 0);
	ht_config_t cfg = { .mode = HT_MODE_4LEVEL, .frame_ops = &ops,
	    .frame_arg = a, .pools = { { 0, 1 << 20 } }, .npools = 1 };
	cr_assert_eq(ht_ctx_create(&cfg, &ctx), 0);
	cr_assert_eq(ht_as_create(ctx, 0, &as), -HT_EPROVIDER);
	cr_assert_neq(ht_errdetail()[0], 0);
	cr_assert_eq(ht_arena_frames_used(a), 0, "the frame went back");
	cr_assert_eq(ht_ctx_destroy(ctx), 0);
	ht_arena_destroy(a);
}
