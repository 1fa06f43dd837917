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
 * -HT_ENOFRAME (pool exhausted, throttle reached, or force_steal fired),
 * -HT_EPROVIDER (the provider returned a frame outside what was asked, or
 * one the context already holds; it is given back) or -HT_ENOMEM.  The
 * frame is not zeroed.
 */
int ptable_alloc(ht_ctx_t *ctx, int is_root, ht_pfn_t *r_pfn);
/*
 * The default arena's runs (arena.c): a thread with a shard of its own
 * takes its frames side by side from a run of this many (2 MiB, what one
 * level-0 table maps).
 */
#define ARENA_RUN	512
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
/*
 * Sets of frame numbers.  pfnset_add: 0 added, 1 already there,
 * -HT_ENOMEM.  pfnset_has, pfnset_del: 1 if pfn is (was) there, else 0.
 */
int pfnset_add(pfnset_t *s, ht_pfn_t pfn);
int pfnset_has(const pfnset_t *s, ht_pfn_t pfn);
int pfnset_del(pfnset_t *s, ht_pfn_t pfn);
void pfnset_fini(pfnset_t *s);

/*
 * The context's frames (one owner each, see frame.c).  frame_claim: 0 the
 * context now holds pfn, 1 it already did (nothing changed), -HT_ENOMEM.
 * frame_unclaim: pfn is no longer a table of the context.
 */
int frame_claim(ht_ctx_t *ctx, ht_pfn_t pfn);
void frame_unclaim(ht_ctx_t *ctx, ht_pfn_t pfn);

/* Is pfn inside one of the context's pools (or anywhere if none)? */
int ptable_in_pools(const ht_ctx_t *ctx, ht_pfn_t pfn);

#endif /* HT_FRAME_H */
