/*
 * test_reserve.c - memory pressure: the reserve pool, the per-space cache
 * of free tables, stealing (cached pass and active passes, skip rules,
 * victim rotation), reaping, purging, force_steal, and the fault sweep
 * "fail the k-th frame allocation" over multi-step operations.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fixture.h"
#include "htable_int.h"
#include "x86pte.h"
#include "hat.h"

TestSuite(reserve, .fini = fx_teardown, .timeout = 120);

static int
count_leaves(void *arg, const ht_leaf_t *l)
{
	(void) l;
	(*(long *)arg)++;
	return (0);
}

static long
leaves_in(ht_as_t *as, uint64_t va, uint64_t last)
{
	long n = 0;

	cr_assert_eq(ht_walk(as, va, last, count_leaves, &n), 0);
	return (n);
}

Test(reserve, pool_get_put_adjust)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	ht_ctx_t *ctx = fx.ctx;

	cr_assert_eq(ctx->ctx_reserve_count, 200);
	htable_t *a = htable_get_reserve(ctx);
	htable_t *b = htable_get_reserve(ctx);
	cr_assert_not_null(a);
	cr_assert_neq(a, b);
	cr_assert_eq(ctx->ctx_reserve_count, 198);
	htable_put_reserve(ctx, a);
	htable_put_reserve(ctx, b);
	for (int i = 0; i < 10; i++)
		htable_put_reserve(ctx, calloc(1, sizeof (htable_t)));
	cr_assert_eq(ctx->ctx_reserve_count, 210);
	htable_adjust_reserve(ctx);
	cr_assert_eq(ctx->ctx_reserve_count, 200);
	ht_stats_t st;
	ht_ctx_stats(ctx, &st);
	cr_assert_eq(st.reserve_count, 200);
	cr_assert_geq(st.htable_rgets, 2);
}

Test(reserve, freed_tables_are_cached_and_reused)
{
	fx_setup_mode(HT_MODE_4LEVEL, HT_PS_4K, 16);	/* no large pages */
	/* 4K only: max_page_level 0, so even level-0 tables are kept */
	cr_assert_eq(ht_map(fx.as, 0, 0x100000, 4 << 20, HT_W, 0), 0);
	cr_assert_eq(ht_unmap(fx.as, 0, 4 << 20, 0), 0);
	cr_assert_eq(hat_cache_count(fx.as), 0);
	ht_stats_t st;
	ht_as_stats(fx.as, &st);
	cr_assert_eq(st.tables[0], 2, "retained: level 0 >= max_page_level");
	fx_teardown();

	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	cr_assert_eq(ht_map(fx.as, 0, 0x100000, 4 << 20, HT_W,
	    HT_MAP_SIZE(HT_PS_4K)), 0);
	uint64_t allocs = fx.allocs;
	cr_assert_eq(ht_unmap(fx.as, 0, 4 << 20, 0), 0);
	/* level-0 and level-1 tables went to the cache, frames kept */
	cr_assert_eq(hat_cache_count(fx.as), 3);
	cr_assert_eq(fx.frees, 0);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_map(fx.as, 0x40000000, 0, 4 << 20, HT_W,
	    HT_MAP_SIZE(HT_PS_4K)), 0);
	cr_assert_eq(fx.allocs, allocs, "served from the cache");
	ht_as_stats(fx.as, &st);
	cr_assert_geq(st.cache_hits, 3);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	/* purge gives the cached frames back */
	cr_assert_eq(ht_unmap(fx.as, 0x40000000, 4 << 20, 0), 0);
	cr_assert_eq(ht_as_purge(fx.as), 3);
	cr_assert_eq(hat_cache_count(fx.as), 0);
	cr_assert_eq(fx.frees, 3);
}

Test(reserve, reap_frees_cached_tables_of_every_space)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 64);
	ht_as_t *other;
	cr_assert_eq(ht_as_create(fx.ctx, 0, &other), 0);
	cr_assert_eq(ht_map(fx.as, 0, 0, 64 << 20, 0, HT_MAP_SIZE(HT_PS_4K)),
	    0);
	cr_assert_eq(ht_map(other, 0, 0, 64 << 20, 0, HT_MAP_SIZE(HT_PS_4K)),
	    0);
	cr_assert_eq(ht_unmap(fx.as, 0, 64 << 20, 0), 0);
	cr_assert_eq(ht_unmap(other, 0, 32 << 20, 0), 0);
	uint64_t used = ht_arena_frames_used(fx.arena);
	long n = ht_ctx_reap(fx.ctx);
	cr_assert_eq(n, 33 + 16, "reaped %ld", n);
	cr_assert_eq(ht_arena_frames_used(fx.arena), used - 49);
	cr_assert_eq(leaves_in(other, 0, ~0ull), 8192, "live ones stay");
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_audit(other), 0, "%s", ht_errdetail());
	ht_stats_t st;
	ht_ctx_stats(fx.ctx, &st);
	cr_assert_eq(st.reaped, 49);
	cr_assert_eq(st.reap_attempts, 1);
	ht_as_destroy(other);
}

/* Two spaces; the second steals from the first under a frame limit. */
Test(reserve, steal_takes_unlocked_tables_of_other_spaces)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 64);
	ht_as_t *thief, *safe;
	cr_assert_eq(ht_as_create(fx.ctx, 0, &thief), 0);
	cr_assert_eq(ht_as_create(fx.ctx, HT_AS_NOSTEAL, &safe), 0);
	/* victim: 8 level-0 tables, the first two locked */
	cr_assert_eq(ht_map(fx.as, 0, 0, 16 << 20, HT_W,
	    HT_MAP_SIZE(HT_PS_4K)), 0);
	cr_assert_eq(ht_lock(fx.as, 0, 4 << 20), 0);
	cr_assert_eq(ht_map(safe, 0, 0, 4 << 20, 0, HT_MAP_SIZE(HT_PS_4K)), 0);
	/* no frame left for anyone */
	ht_arena_set_limit(fx.arena, ht_arena_frames_used(fx.arena));
	fx_tlb_reset();
	cr_assert_eq(ht_map(thief, 0x1000, 0, 0x1000, 0, 0), 0, "%s",
	    ht_errdetail());
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_audit(thief), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_audit(safe), 0, "%s", ht_errdetail());
	ht_stats_t st;
	ht_ctx_stats(fx.ctx, &st);
	cr_assert_geq(st.stolen, 3, "3 tables for the thief's new path");
	cr_assert_geq(st.steals, 3);
	/* the locked 4 MiB and the NOSTEAL space are intact */
	cr_assert_eq(leaves_in(fx.as, 0, (4 << 20) - 1), 1024);
	cr_assert_eq(leaves_in(safe, 0, ~0ull), 1024);
	/* what was stolen is unmapped, and the victim was told */
	cr_assert_lt(leaves_in(fx.as, 4 << 20, ~0ull), 3072);
	cr_assert_gt(fx.ntlb, 0);
	for (unsigned i = 0; i < fx.ntlb && i < FX_MAX_TLB; i++)
		cr_assert_eq(fx.tlb_as[i], fx.as);
	/* the victim went to the end of the list */
	cr_assert_eq(fx.ctx->ctx_hat_tail, fx.as);
	ht_as_destroy(thief);
	ht_as_destroy(safe);
}

Test(reserve, nothing_to_steal_is_enofame_and_no_change)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	cr_assert_eq(ht_map(fx.as, 0, 0, 2 << 20, 0, HT_MAP_SIZE(HT_PS_4K)),
	    0);
	ht_arena_set_limit(fx.arena, ht_arena_frames_used(fx.arena));
	/* own tables are never stolen by the space's own operation */
	cr_assert_eq(ht_map(fx.as, 0x40000000, 0, 0x1000, 0, 0),
	    -HT_ENOFRAME);
	cr_assert_eq(leaves_in(fx.as, 0, ~0ull), 512);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	ht_arena_set_limit(fx.arena, 0);
}

Test(reserve, force_steal_exercises_stealing)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 64);
	ht_as_t *b;
	cr_assert_eq(ht_as_create(fx.ctx, 0, &b), 0);
	cr_assert_eq(ht_map(fx.as, 0, 0, 32 << 20, 0, HT_MAP_SIZE(HT_PS_4K)),
	    0);
	ht_ctx_set_force_steal(fx.ctx, 2);	/* every 2nd alloc fails */
	for (int i = 0; i < 8; i++)
		cr_assert_eq(ht_map(b, (uint64_t)i << 30, 0, 0x1000, 0, 0), 0,
		    "%s", ht_errdetail());
	ht_ctx_set_force_steal(fx.ctx, 0);
	ht_stats_t st;
	ht_ctx_stats(fx.ctx, &st);
	cr_assert_gt(st.stolen, 0);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_audit(b), 0, "%s", ht_errdetail());
	cr_assert_eq(leaves_in(b, 0, ~0ull), 8);
	ht_as_destroy(b);
}

/*
 * Fault sweep (SQLite style): fail the k-th frame allocation for k = 0,
 * 1, ... until the operation succeeds; every failure must leave the space
 * as it was and leak nothing.
 */
static void
snapshot(ht_as_t *as, uint64_t *sum, long *n)
{
	ht_xlate_t x;
	*n = leaves_in(as, 0, ~0ull);
	*sum = 0;
	for (uint64_t va = 0; va < (8ull << 30); va += 0x1ff000)
		if (ht_translate(as, va, &x) == 0)
			*sum += x.pa ^ x.attr ^ va;
}

Test(reserve, fault_sweep_map_unmap_protect)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 64);
	cr_assert_eq(ht_map(fx.as, 0x40000000, 0x40000000, 0x40000000, HT_W,
	    0), 0);
	cr_assert_eq(ht_map(fx.as, 0x200000, 0x200000, 0x400000, HT_W, 0), 0);
	for (int opn = 0; opn < 3; opn++) {
		for (long k = 0; ; k++) {
			uint64_t s0, s1;
			long n0, n1;
			int rc;

			snapshot(fx.as, &s0, &n0);
			uint64_t used = ht_arena_frames_used(fx.arena);
			fx.fail_after = k;
			fx.fail_count = -1;
			switch (opn) {
			case 0:	/* 4K map across 3 tables and a 1G split */
				rc = ht_map(fx.as, 0x3ff00000, 0x1000,
				    0x400000, HT_U, 0);
				break;
			case 1:	/* unmap splitting a 2M page */
				rc = ht_unmap(fx.as, 0x201000, 0x1000, 0);
				break;
			default: /* protect splitting 1G down to 4K */
				rc = ht_protect(fx.as, 0x7fe00000 + 0x3000,
				    0x1000, 0);
				break;
			}
			fx.fail_after = -1;
			fx.fail_count = 0;
			cr_assert_eq(ht_audit(fx.as), 0, "op %d k %ld: %s",
			    opn, k, ht_errdetail());
			if (rc == 0)
				break;
			cr_assert_eq(rc, -HT_ENOFRAME, "op %d k %ld", opn, k);
			snapshot(fx.as, &s1, &n1);
			cr_assert_eq(n0, n1, "op %d k %ld changed leaves", opn,
			    k);
			cr_assert_eq(s0, s1, "op %d k %ld changed mappings",
			    opn, k);
			cr_assert_eq(ht_arena_frames_used(fx.arena), used,
			    "op %d k %ld leaked", opn, k);
			cr_assert_lt(k, 20);
		}
	}
}
