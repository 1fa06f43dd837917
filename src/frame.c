/*
 * frame.c - page-table frames from the caller's provider.
 *
 * Mirrors illumos ptable_alloc/ptable_free: the low-memory throttle (fail
 * early, so that the caller steals instead of draining the last frames),
 * the debug force_steal knob, and the count of active frames used to size
 * reaps.  Pools confine table frames to caller-chosen physical ranges.
 */
#include "frame.h"
#include "debug.h"
#include "lock.h"

static int
ptable_alloc_in(ht_ctx_t *ctx, ht_pa_t lo, ht_pa_t hi, ht_pfn_t *r_pfn)
{
	ht_pfn_t pfn = HT_PFN_INVALID;
	int err;

	lo = (lo + HT_PAGE_SIZE - 1) & ~(ht_pa_t)(HT_PAGE_SIZE - 1);
	hi &= ~(ht_pa_t)(HT_PAGE_SIZE - 1);
	if (lo >= hi)
		return (-HT_ENOFRAME);
	HT_ASSERT(lock_none_held());	/* none at a provider callback */
	err = ctx->ctx_fops->alloc(ctx->ctx_farg, lo, hi, &pfn);
	if (err != 0)
		return (err < 0 ? err : -HT_ENOFRAME);
	if (pfn < (lo >> HT_PAGE_SHIFT) || pfn >= (hi >> HT_PAGE_SHIFT) ||
	    ptable_map(ctx, pfn) == NULL) {
		ctx->ctx_fops->free(ctx->ctx_farg, pfn);
		return (ht__fail(HT_EPROVIDER, "provider returned frame 0x%llx "
		    "outside [0x%llx, 0x%llx) or unmappable",
		    (unsigned long long)pfn, (unsigned long long)lo,
		    (unsigned long long)hi));
	}
	*r_pfn = pfn;
	return (0);
}

int
ptable_alloc(ht_ctx_t *ctx, int is_root, ht_pfn_t *r_pfn)
{
	const mmu_t *m = &ctx->ctx_mmu;
	ht_pa_t limit = is_root ? m->root_pa_limit : m->table_pa_limit;
	unsigned every = atomic_load_explicit(&ctx->ctx_force_steal,
	    memory_order_relaxed);
	int err = -HT_ENOFRAME;

	/*
	 * Throttle: with few frames left, refuse now so that the caller
	 * falls back to stealing tables rather than using up the frames that
	 * a later, more important allocation (a root) would need.
	 */
	HT_ASSERT(lock_none_held());	/* none at a provider callback */
	if (ctx->ctx_cfg.throttle != 0 && ctx->ctx_fops->avail != NULL &&
	    ctx->ctx_fops->avail(ctx->ctx_farg) <= ctx->ctx_cfg.throttle)
		return (-HT_ENOFRAME);
	/* Test knob: fail every Nth allocation, like illumos force_steal. */
	if (every != 0 && atomic_fetch_add_explicit(&ctx->ctx_force_cnt, 1,
	    memory_order_relaxed) % every == every - 1)
		return (-HT_ENOFRAME);

	if (ctx->ctx_cfg.npools == 0) {
		err = ptable_alloc_in(ctx, 0, limit, r_pfn);
	} else {
		for (unsigned i = 0; i < ctx->ctx_cfg.npools; i++) {
			const ht_range_t *p = &ctx->ctx_cfg.pools[i];
			ht_pa_t hi = p->base + p->len;

			err = ptable_alloc_in(ctx, p->base,
			    hi < limit ? hi : limit, r_pfn);
			if (err != -HT_ENOFRAME)
				break;
		}
	}
	if (err == 0) {
		atomic_fetch_add_explicit(&ctx->ctx_active_ptables, 1,
		    memory_order_relaxed);
		HATSTAT_INC(ctx, ptable_allocs);
	}
	return (err);
}

void
ptable_free(ht_ctx_t *ctx, ht_pfn_t pfn)
{
	HT_ASSERT(pfn != HT_PFN_INVALID);
	atomic_fetch_sub_explicit(&ctx->ctx_active_ptables, 1,
	    memory_order_relaxed);
	HATSTAT_INC(ctx, ptable_frees);
	HT_ASSERT(lock_none_held());	/* none at a provider callback */
	ctx->ctx_fops->free(ctx->ctx_farg, pfn);
}

void *
ptable_map_slow(const ht_ctx_t *ctx, ht_pfn_t pfn)
{
	if (pfn > (~0ull >> HT_PAGE_SHIFT))
		return (NULL);
	if (ctx->ctx_fops->map == NULL)
		return (NULL);
	HT_ASSERT(lock_none_held());	/* none at a provider callback */
	return (ctx->ctx_fops->map(ctx->ctx_farg, pfn));
}

int
ptable_in_pools(const ht_ctx_t *ctx, ht_pfn_t pfn)
{
	ht_pa_t pa = pfn << HT_PAGE_SHIFT;

	if (ctx->ctx_cfg.npools == 0)
		return (1);
	for (unsigned i = 0; i < ctx->ctx_cfg.npools; i++) {
		const ht_range_t *p = &ctx->ctx_cfg.pools[i];
		if (pa >= p->base && pa - p->base < p->len)
			return (1);
	}
	return (0);
}
