/*
 * share.c - the register of shared regions of a context (share_rec_t on
 * ctx_shares), and what the lower layers do with it.
 *
 * A region [va, va + len) of a sharer shows [src_va, src_va + len) of its
 * source: where whole tables fit, the sharer's entry one level up links
 * the source's table frame (an HTABLE_SHARED_PFN descriptor in the
 * sharer, holding the source's descriptor); elsewhere the sharer holds
 * copies of the leaves (hat_share.c makes and ends regions).  This module
 * is below the operation frame so that
 *  - a TLB batch delivered for a source is forwarded to every sharer of
 *    the changed range (share_forward, from op.c);
 *  - a table unlinked in a source bumps the seqlock generation of every
 *    sharer, whose lock-free translations may have walked through it
 *    (share_bump_gens, from unlink_ptp);
 *  - every call that writes a sharer's range is refused over a region
 *    (share_refuse, from the public entry points).
 *
 * Invariants:
 *  - A record's fields are fixed while it is on the list, except
 *    sr_state; the list is changed only under ctx_share_lock.
 *  - Forwarding walks the list without the lock (no library lock may be
 *    held at the TLB hook): it counts itself in ctx_share_readers, and a
 *    record leaves memory only when no walk is in flight.  A remover
 *    that waits for that holds new walks back (waiting removers are
 *    counted in the high half of ctx_share_readers), so a busy source
 *    cannot starve it.
 *  - A space either shares out (hat_nshared_out > 0, HAT_SHARED) or in
 *    (hat_nshared_in > 0), never both: sharing is one level deep, so a
 *    walk delegated from a sharer to its source never delegates again.
 *  - A live space never shares in from a no-MMU one (HAT_NOMMU,
 *    nommu.c): share_insert refuses it and share_set_mmu, the only
 *    writer of that flag after creation, refuses the flips that would
 *    make it so; both under ctx_share_lock, so they never cross.
 *  - A region is made by one thread (SR_MAKING, ht_share) and ended by
 *    the one thread that claimed it (SR_GOING): its sharer's unshare or
 *    destroy, or its source's destroy.  Whoever else wants it waits on
 *    ctx_share_cv until it is live, or gone.
 *
 * Lock order: ctx_share_lock ranks after the bucket mutexes (unlink_ptp
 * takes it under one) and before everything else; nothing is taken under
 * it and no callback runs under it.
 */
#include <stdlib.h>

#include "share.h"
#include "cpuroot.h"
#include "stlb.h"
#include "rmap.h"
#include "debug.h"
#include "lock.h"

/* Removers waiting for the forwarding walks to drain. */
#define SHARE_WAITER	0x10000u

void
share_init(ht_ctx_t *ctx)
{
	(void) pthread_mutex_init(&ctx->ctx_share_lock, NULL);
	(void) pthread_cond_init(&ctx->ctx_share_cv, NULL);
	atomic_store(&ctx->ctx_shares, NULL);
	ctx->ctx_share_readers = 0;
}

void
share_fini(ht_ctx_t *ctx)
{
	HT_VERIFY(atomic_load(&ctx->ctx_shares) == NULL);
	(void) pthread_mutex_destroy(&ctx->ctx_share_lock);
	(void) pthread_cond_destroy(&ctx->ctx_share_cv);
}

/* [a, a_last] and [b, b_last] meet: the intersection, inclusive. */
static int
overlap(uint64_t a, uint64_t a_last, uint64_t b, uint64_t b_last,
    uint64_t *r_lo, uint64_t *r_last)
{
	if (a > b_last || b > a_last)
		return (0);
	*r_lo = a > b ? a : b;
	*r_last = a_last < b_last ? a_last : b_last;
	return (1);
}

void
share_forward(hat_t *src, uint64_t va, uint64_t len)
{
	ht_ctx_t *ctx = src->hat_ctx;
	uint64_t last = len == HT_TLB_ALL ? ~0ull : va + (len - 1);

	HT_ASSERT(lock_none_held());	/* none at the TLB hook */
	if (!ctx_inval_on(ctx))		/* no hook, no soft TLB */
		return;
	mutex_enter(&ctx->ctx_share_lock, LR_SHARE);
	while (ctx->ctx_share_readers >= SHARE_WAITER)
		cv_wait(&ctx->ctx_share_cv, &ctx->ctx_share_lock);
	ctx->ctx_share_readers++;
	mutex_exit(&ctx->ctx_share_lock);

	for (share_rec_t *r = atomic_load(&ctx->ctx_shares); r != NULL;
	    r = atomic_load(&r->sr_next)) {
		uint64_t lo, hi;

		if (r->sr_src != src || !overlap(va, last, r->sr_src_va,
		    r->sr_src_va + (r->sr_len - 1), &lo, &hi))
			continue;
		/* a no-MMU sharer: its soft TLBs only (tlb_call_to) */
		cpu_tlb_call(r->sr_sharer, lo - r->sr_src_va + r->sr_va,
		    hi - lo + 1);
	}

	mutex_enter(&ctx->ctx_share_lock, LR_SHARE);
	if ((--ctx->ctx_share_readers & (SHARE_WAITER - 1)) == 0)
		(void) pthread_cond_broadcast(&ctx->ctx_share_cv);
	mutex_exit(&ctx->ctx_share_lock);
}

void
share_bump_gens(hat_t *src)
{
	ht_ctx_t *ctx = src->hat_ctx;

	mutex_enter(&ctx->ctx_share_lock, LR_SHARE);
	for (share_rec_t *r = atomic_load(&ctx->ctx_shares); r != NULL;
	    r = atomic_load(&r->sr_next))
		if (r->sr_src == src)
			atomic_fetch_add(&r->sr_sharer->hat_gen, 1);
	mutex_exit(&ctx->ctx_share_lock);
}

int
share_refuse_slow(hat_t *hat, uint64_t va, uint64_t last)
{
	ht_ctx_t *ctx = hat->hat_ctx;
	int err = 0;

	mutex_enter(&ctx->ctx_share_lock, LR_SHARE);
	for (share_rec_t *r = atomic_load(&ctx->ctx_shares); r != NULL;
	    r = atomic_load(&r->sr_next)) {
		uint64_t lo, hi;

		if (r->sr_sharer == hat && overlap(va, last, r->sr_va,
		    r->sr_va + (r->sr_len - 1), &lo, &hi)) {
			err = ht__fail(HT_ESHARED, "[0x%llx, 0x%llx] is shared "
			    "from another space: unshare it first",
			    (unsigned long long)r->sr_va,
			    (unsigned long long)(r->sr_va + (r->sr_len - 1)));
			break;
		}
	}
	mutex_exit(&ctx->ctx_share_lock);
	return (err);
}

int
share_insert(share_rec_t *rec)
{
	ht_ctx_t *ctx = rec->sr_sharer->hat_ctx;
	uint64_t last = rec->sr_va + (rec->sr_len - 1);
	int err = 0;

	mutex_enter(&ctx->ctx_share_lock, LR_SHARE);
	/* refused before: ht_share at once, an import never looks (ctx.c) */
	HT_ASSERT(!((atomic_load(&rec->sr_sharer->hat_flags) |
	    atomic_load(&rec->sr_src->hat_flags)) & HAT_SERIAL));
	if (atomic_load(&rec->sr_sharer->hat_nshared_out) != 0) {
		err = ht__fail(HT_EINVAL, "the sharing space shares out "
		    "itself: sharing is one level deep");
		goto out;
	}
	if (atomic_load(&rec->sr_src->hat_nshared_in) != 0) {
		err = ht__fail(HT_EINVAL, "the source space shares in from "
		    "another: sharing is one level deep");
		goto out;
	}
	/* the flags change only under this lock too (share_set_mmu) */
	if ((atomic_load(&rec->sr_src->hat_flags) & HAT_NOMMU) &&
	    !(atomic_load(&rec->sr_sharer->hat_flags) & HAT_NOMMU)) {
		err = ht__fail(HT_EBUSY, "the source has no MMU yet "
		    "(HT_AS_NOMMU) and the sharer is live: an MMU would walk "
		    "tables written without atomics; turn the source live "
		    "first (ht_as_set_mmu)");
		goto out;
	}
	for (share_rec_t *r = atomic_load(&ctx->ctx_shares); r != NULL;
	    r = atomic_load(&r->sr_next)) {
		uint64_t lo, hi;

		if (r->sr_sharer == rec->sr_sharer && overlap(rec->sr_va, last,
		    r->sr_va, r->sr_va + (r->sr_len - 1), &lo, &hi)) {
			err = ht__fail(HT_EEXIST, "[0x%llx, 0x%llx] is shared "
			    "already", (unsigned long long)lo,
			    (unsigned long long)hi);
			goto out;
		}
	}
	rec->sr_state = SR_MAKING;
	atomic_fetch_add(&rec->sr_sharer->hat_nshared_in, 1);
	if (atomic_fetch_add(&rec->sr_src->hat_nshared_out, 1) == 0)
		atomic_fetch_or(&rec->sr_src->hat_flags, HAT_SHARED);
	atomic_store(&rec->sr_next, atomic_load(&ctx->ctx_shares));
	atomic_store(&ctx->ctx_shares, rec);
out:
	mutex_exit(&ctx->ctx_share_lock);
	return (err);
}

int
share_set_mmu(hat_t *hat, int live)
{
	ht_ctx_t *ctx = hat->hat_ctx;
	int err = 0;

	mutex_enter(&ctx->ctx_share_lock, LR_SHARE);
	for (share_rec_t *r = atomic_load(&ctx->ctx_shares); r != NULL;
	    r = atomic_load(&r->sr_next)) {
		if (live && r->sr_sharer == hat &&
		    (atomic_load(&r->sr_src->hat_flags) & HAT_NOMMU)) {
			err = ht__fail(HT_EBUSY, "the space shares in from a "
			    "space with no MMU yet (at 0x%llx): turn that one "
			    "live first", (unsigned long long)r->sr_va);
			break;
		}
		if (!live && r->sr_src == hat &&
		    !(atomic_load(&r->sr_sharer->hat_flags) & HAT_NOMMU)) {
			err = ht__fail(HT_EBUSY, "a live space shares in from "
			    "this one (its region at 0x%llx): its MMU walks "
			    "these tables", (unsigned long long)r->sr_va);
			break;
		}
	}
	if (err == 0 && live)
		atomic_fetch_and(&hat->hat_flags, ~(unsigned)HAT_NOMMU);
	else if (err == 0)
		atomic_fetch_or(&hat->hat_flags, HAT_NOMMU);
	mutex_exit(&ctx->ctx_share_lock);
	return (err);
}

void
share_publish(share_rec_t *rec)
{
	ht_ctx_t *ctx = rec->sr_sharer->hat_ctx;

	mutex_enter(&ctx->ctx_share_lock, LR_SHARE);
	HT_VERIFY(rec->sr_state == SR_MAKING);
	rec->sr_state = SR_LIVE;
	(void) pthread_cond_broadcast(&ctx->ctx_share_cv);
	mutex_exit(&ctx->ctx_share_lock);
}

/* The first region of sharer in state st, or NULL (lock held). */
static share_rec_t *
share_find_state(ht_ctx_t *ctx, hat_t *sharer, share_state_t st)
{
	for (share_rec_t *r = atomic_load(&ctx->ctx_shares); r != NULL;
	    r = atomic_load(&r->sr_next))
		if (r->sr_sharer == sharer && r->sr_state == st)
			return (r);
	return (NULL);
}

void
share_publish_all(hat_t *sharer)
{
	ht_ctx_t *ctx = sharer->hat_ctx;
	share_rec_t *r;

	mutex_enter(&ctx->ctx_share_lock, LR_SHARE);
	while ((r = share_find_state(ctx, sharer, SR_MAKING)) != NULL)
		r->sr_state = SR_LIVE;
	(void) pthread_cond_broadcast(&ctx->ctx_share_cv);
	mutex_exit(&ctx->ctx_share_lock);
}

void
share_drop_making(hat_t *sharer)
{
	ht_ctx_t *ctx = sharer->hat_ctx;
	share_rec_t *r;

	for (;;) {
		mutex_enter(&ctx->ctx_share_lock, LR_SHARE);
		r = share_find_state(ctx, sharer, SR_MAKING);
		mutex_exit(&ctx->ctx_share_lock);
		if (r == NULL)
			return;
		share_remove(r);
	}
}

static int
share_matches(const share_rec_t *r, const share_match_t *sm)
{
	if (sm->sm_sharer != NULL && r->sr_sharer != sm->sm_sharer)
		return (0);
	if (sm->sm_src != NULL && r->sr_src != sm->sm_src)
		return (0);
	return (r->sr_va >= sm->sm_va &&
	    r->sr_va + (r->sr_len - 1) <= sm->sm_last);
}

share_rec_t *
share_claim(ht_ctx_t *ctx, const share_match_t *sm)
{
	share_rec_t *found = NULL;

	mutex_enter(&ctx->ctx_share_lock, LR_SHARE);
	for (;;) {
		int busy = 0;

		for (share_rec_t *r = atomic_load(&ctx->ctx_shares);
		    r != NULL; r = atomic_load(&r->sr_next)) {
			if (!share_matches(r, sm))
				continue;
			if (r->sr_state == SR_LIVE) {
				r->sr_state = SR_GOING;
				found = r;
				break;
			}
			busy = 1;
		}
		if (found != NULL || !busy)
			break;
		cv_wait(&ctx->ctx_share_cv, &ctx->ctx_share_lock);
	}
	mutex_exit(&ctx->ctx_share_lock);
	return (found);
}

int
share_cuts(hat_t *sharer, uint64_t va, uint64_t last, uint64_t *r_va,
    uint64_t *r_len)
{
	ht_ctx_t *ctx = sharer->hat_ctx;
	int cut = 0;

	mutex_enter(&ctx->ctx_share_lock, LR_SHARE);
	for (share_rec_t *r = atomic_load(&ctx->ctx_shares); r != NULL;
	    r = atomic_load(&r->sr_next)) {
		uint64_t rlast = r->sr_va + (r->sr_len - 1), lo, hi;

		if (r->sr_sharer != sharer ||
		    !overlap(va, last, r->sr_va, rlast, &lo, &hi))
			continue;
		if (r->sr_va < va || rlast > last) {
			*r_va = r->sr_va;
			*r_len = r->sr_len;
			cut = 1;
			break;
		}
	}
	mutex_exit(&ctx->ctx_share_lock);
	return (cut);
}

/*
 * Does a table that live region r links overlap [va, last] of its
 * source?  (Only a live region's table list holds still.)  Under
 * ctx_share_lock.
 */
static int
region_links(const share_rec_t *r, const mmu_t *m, uint64_t va,
    uint64_t last)
{
	if (r->sr_state != SR_LIVE)
		return (0);
	for (size_t i = 0; i < r->sr_ntables; i++) {
		uint64_t lo = r->sr_src_va + r->sr_toff[i];
		uint64_t hi = lo + (LEVEL_SIZE(m, r->sr_tlevel[i] + 1) - 1);

		if (lo <= last && hi >= va)
			return (1);
	}
	return (0);
}

int
share_tables_in(hat_t *src, uint64_t va, uint64_t last)
{
	ht_ctx_t *ctx = src->hat_ctx;
	int found = 0;

	mutex_enter(&ctx->ctx_share_lock, LR_SHARE);
	for (share_rec_t *r = atomic_load(&ctx->ctx_shares); r != NULL &&
	    !found; r = atomic_load(&r->sr_next))
		found = r->sr_src == src && region_links(r, &ctx->ctx_mmu, va,
		    last);
	mutex_exit(&ctx->ctx_share_lock);
	return (found);
}

long
share_views(hat_t *src, uint64_t va, share_view_fn fn, void *arg)
{
	ht_ctx_t *ctx = src->hat_ctx;
	long n = 0;

	mutex_enter(&ctx->ctx_share_lock, LR_SHARE);
	for (share_rec_t *r = atomic_load(&ctx->ctx_shares); r != NULL;
	    r = atomic_load(&r->sr_next)) {
		if (r->sr_src == src && region_links(r, &ctx->ctx_mmu, va,
		    va)) {
			fn(arg, r->sr_sharer, va - r->sr_src_va + r->sr_va);
			n++;
		}
	}
	mutex_exit(&ctx->ctx_share_lock);
	return (n);
}

void
share_remove(share_rec_t *rec)
{
	ht_ctx_t *ctx = rec->sr_sharer->hat_ctx;
	share_rec_t * _Atomic *pp;

	mutex_enter(&ctx->ctx_share_lock, LR_SHARE);
	HT_VERIFY(rec->sr_state != SR_LIVE);
	for (pp = &ctx->ctx_shares; atomic_load(pp) != rec;
	    pp = &atomic_load(pp)->sr_next)
		HT_VERIFY(atomic_load(pp) != NULL);
	atomic_store(pp, atomic_load(&rec->sr_next));
	atomic_fetch_sub(&rec->sr_sharer->hat_nshared_in, 1);
	if (atomic_fetch_sub(&rec->sr_src->hat_nshared_out, 1) == 1)
		atomic_fetch_and(&rec->sr_src->hat_flags, ~HAT_SHARED);
	/* A walk may still be reading it: wait, holding new walks back. */
	ctx->ctx_share_readers += SHARE_WAITER;
	while ((ctx->ctx_share_readers & (SHARE_WAITER - 1)) != 0)
		cv_wait(&ctx->ctx_share_cv, &ctx->ctx_share_lock);
	ctx->ctx_share_readers -= SHARE_WAITER;
	(void) pthread_cond_broadcast(&ctx->ctx_share_cv);
	mutex_exit(&ctx->ctx_share_lock);
	rmap_unprep(ctx, &rec->sr_rmap);
	free(rec->sr_toff);
	free(rec->sr_tlevel);
	free(rec);
}
