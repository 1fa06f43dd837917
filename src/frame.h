/*
 * frame.h - frames that hold page tables (illumos ptable_*).
 *
 * ptable_alloc asks the caller's provider for a frame inside the pools and
 * the mode's reach; ptable_free gives it back; ptable_map turns a frame
 * number into a host pointer, by arithmetic inside the provider's linear
 * window when there is one, else through its map callback.
 */
#ifndef HT_FRAME_H
#define HT_FRAME_H

#include "types.h"

/*
 * One frame for a table (is_root: the frame must also satisfy the root's
 * limit, e.g. below 4 GiB for PAE's CR3).  Returns 0 and *r_pfn, or
 * -HT_ENOFRAME (pool exhausted, throttle reached, or force_steal fired) or
 * -HT_EPROVIDER (the provider returned a frame outside what was asked; it
 * is given back).  The frame is not zeroed.
 */
int ptable_alloc(ht_ctx_t *ctx, int is_root, ht_pfn_t *r_pfn);
void ptable_free(ht_ctx_t *ctx, ht_pfn_t pfn);
/* Host pointer to a frame, NULL if the provider cannot reach it. */
void *ptable_map_slow(const ht_ctx_t *ctx, ht_pfn_t pfn);

static inline void *
ptable_map(const ht_ctx_t *ctx, ht_pfn_t pfn)
{
	ht_pa_t pa = pfn << HT_PAGE_SHIFT;

	/* The provider's linear window, like a kernel's direct map. */
	if (pa - ctx->ctx_win_base < ctx->ctx_win_len && pa >=
	    ctx->ctx_win_base && (pfn >> (64 - HT_PAGE_SHIFT)) == 0)
		return (ctx->ctx_win + (pa - ctx->ctx_win_base));
	return (ptable_map_slow(ctx, pfn));
}
/* Is pfn inside one of the context's pools (or anywhere if none)? */
int ptable_in_pools(const ht_ctx_t *ctx, ht_pfn_t pfn);

#endif /* HT_FRAME_H */
