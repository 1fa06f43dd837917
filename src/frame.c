/*
 * frame.c - page-table frames from the caller's provider.
 *
 * Mirrors illumos ptable_alloc/ptable_free: the low-memory throttle (fail
 * early, so that the caller steals instead of draining the last frames),
 * the debug force_steal knob, and the count of active frames used to size
 * reaps.  Pools confine table frames to caller-chosen physical ranges.
 *
 * One owner per frame: ctx_frames holds every table frame the context
 * holds, from ptable_alloc to ptable_free for the provider's, and from
 * import to the table's end for imported ones (htable_attach).  Both
 * claim a frame with frame_claim, a check and an insertion under
 * ctx_frame_lock, so whichever comes second is refused: an import of a
 * frame in use gets -HT_EBUSY, an allocation of a frame an import holds
 * (the provider thought it free) gets -HT_EPROVIDER.  ctx_frame_lock is a
 * leaf: nothing else is taken while it is held.
 */
#include <stdlib.h>

#include "frame.h"
#include "debug.h"
#include "lock.h"

/*
 * Sets of frame numbers: open addressing with linear probing, at most half
 * full; HT_PFN_INVALID marks a free slot.  Import uses one to notice a
 * frame reached twice at once (hostile tables that point every entry at
 * the same frame would otherwise make the recursion visit 512^levels
 * entries); each context keeps one of every table frame it holds.
 */
static inline size_t
pfnset_slot(ht_pfn_t pfn, size_t cap)
{
	return ((size_t)(pfn * 0x9e3779b97f4a7c15ull) & (cap - 1));
}

int
pfnset_add(pfnset_t *s, ht_pfn_t pfn)
{
	size_t j;

	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		ht_pfn_t *nslots = malloc(ncap * sizeof (ht_pfn_t));

		if (nslots == NULL)
			return (-HT_ENOMEM);
		for (size_t i = 0; i < ncap; i++)
			nslots[i] = HT_PFN_INVALID;
		for (size_t i = 0; i < s->cap; i++) {
			if (s->slots[i] == HT_PFN_INVALID)
				continue;
			j = pfnset_slot(s->slots[i], ncap);
			while (nslots[j] != HT_PFN_INVALID)
				j = (j + 1) & (ncap - 1);
			nslots[j] = s->slots[i];
		}
		free(s->slots);
		s->slots = nslots;
		s->cap = ncap;
	}
	for (j = pfnset_slot(pfn, s->cap); s->slots[j] != HT_PFN_INVALID;
	    j = (j + 1) & (s->cap - 1)) {
		if (s->slots[j] == pfn)
			return (1);
	}
	s->slots[j] = pfn;
	s->n++;
	return (0);
}

int
pfnset_has(const pfnset_t *s, ht_pfn_t pfn)
{
	if (s->cap == 0)
		return (0);
	for (size_t j = pfnset_slot(pfn, s->cap);
	    s->slots[j] != HT_PFN_INVALID; j = (j + 1) & (s->cap - 1)) {
		if (s->slots[j] == pfn)
			return (1);
	}
	return (0);
}

int
pfnset_del(pfnset_t *s, ht_pfn_t pfn)
{
	size_t i, j, k;

	if (s->cap == 0)
		return (0);
	for (i = pfnset_slot(pfn, s->cap); s->slots[i] != pfn;
	    i = (i + 1) & (s->cap - 1)) {
		if (s->slots[i] == HT_PFN_INVALID)
			return (0);
	}
	/*
	 * Backward-shift deletion: move up every later entry of the run that
	 * the hole would cut off from its home slot, so that no tombstones
	 * are needed and lookups still stop at the first free slot.
	 */
	for (j = i; ; ) {
		s->slots[i] = HT_PFN_INVALID;
		for (;;) {
			j = (j + 1) & (s->cap - 1);
			if (s->slots[j] == HT_PFN_INVALID) {
				s->n--;
				return (1);
			}
			k = pfnset_slot(s->slots[j], s->cap);
			/* may the entry at j stay (home in (i, j])? */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		s->slots[i] = s->slots[j];
		i = j;
	}
}

void
pfnset_fini(pfnset_t *s)
{
	free(s->slots);
	s->slots = NULL;
	s->cap = s->n = 0;
}

int
frame_claim(ht_ctx_t *ctx, ht_pfn_t pfn)
{
	int r;

	(void) pthread_mutex_lock(&ctx->ctx_frame_lock);
	r = pfnset_add(&ctx->ctx_frames, pfn);
	(void) pthread_mutex_unlock(&ctx->ctx_frame_lock);
	return (r);
}

void
frame_unclaim(ht_ctx_t *ctx, ht_pfn_t pfn)
{
	int r;

	(void) pthread_mutex_lock(&ctx->ctx_frame_lock);
	r = pfnset_del(&ctx->ctx_frames, pfn);
	(void) pthread_mutex_unlock(&ctx->ctx_frame_lock);
	HT_VERIFY(r == 1);
}

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
	if (err != 0)
		return (err);
	/*
	 * A frame the context already holds can only come from a provider
	 * that was told it is free: the frames of an import that the caller
	 * never allocated from it.  Using it would give the frame two
	 * owners; hand it back (the provider believes it free anyway).
	 */
	if ((err = frame_claim(ctx, *r_pfn)) != 0) {
		ctx->ctx_fops->free(ctx->ctx_farg, *r_pfn);
		if (err < 0)
			return (ht__fail(HT_ENOMEM, "no memory to record a "
			    "table frame"));
		return (ht__fail(HT_EPROVIDER, "provider handed out frame "
		    "0x%llx, which already holds a table of this context (an "
		    "imported table the provider was never told about?)",
		    (unsigned long long)*r_pfn << HT_PAGE_SHIFT));
	}
	atomic_fetch_add_explicit(&ctx->ctx_active_ptables, 1,
	    memory_order_relaxed);
	HATSTAT_INC(ctx, ptable_allocs);
	return (0);
}

void
ptable_free(ht_ctx_t *ctx, ht_pfn_t pfn)
{
	HT_ASSERT(pfn != HT_PFN_INVALID);
	/* Forget it before the provider can hand it out again. */
	frame_unclaim(ctx, pfn);
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
