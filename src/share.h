/*
 * share.h - the context's register of shared regions (share.c): who
 * shares what from whom, for the layers that must know (the TLB batch,
 * table unlinks, the refusal of writes through a sharer) and for
 * hat_share.c, which makes and ends the regions.
 */
#ifndef HT_SHARE_H
#define HT_SHARE_H

#include "types.h"
#include "debug.h"

void share_init(ht_ctx_t *ctx);
void share_fini(ht_ctx_t *ctx);

/*
 * [va, va + len) of src changed (len HT_TLB_ALL: everything): call the
 * TLB hook for the overlapping part of every region shared out of src,
 * in the sharer's addresses.  No library lock may be held.
 */
void share_forward(hat_t *src, uint64_t va, uint64_t len);

/*
 * src unlinks a table: the lock-free readers of every space that shares
 * from src must retry (their walks may have gone through it).
 */
void share_bump_gens(hat_t *src);

/* -HT_ESHARED if [va, last] of hat overlaps a region shared into it. */
int share_refuse_slow(hat_t *hat, uint64_t va, uint64_t last);

static inline int
share_refuse(hat_t *hat, uint64_t va, uint64_t last)
{
	if (HT_LIKELY(atomic_load_explicit(&hat->hat_nshared_in,
	    memory_order_relaxed) == 0))
		return (0);
	return (share_refuse_slow(hat, va, last));
}

/*
 * Put rec (filled in) on the list, SR_MAKING: it refuses writes to its
 * range and forwards its source's TLB calls from now on, and nobody but
 * its maker may end it.  0, or -HT_EINVAL
 * when the sharer shares out or the source shares in, -HT_EEXIST when
 * the sharer's range overlaps one of its regions, -HT_EBUSY when the
 * sharer is live and the source has no MMU (HAT_NOMMU).
 */
int share_insert(share_rec_t *rec);

/*
 * Turn hat live (clear HAT_NOMMU) or back (set it) under the register's
 * lock, so that no region ever has a live sharer and a no-MMU source
 * (nommu.c; hat's hat_nm_lock held).  0, or -HT_EBUSY: going live, hat
 * shares in from a no-MMU space; going back, a live space shares in
 * from hat.
 */
int share_set_mmu(hat_t *hat, int live);

/* The maker is done: others may claim rec (share_claim). */
void share_publish(share_rec_t *rec);

/*
 * An import (import.c) makes its space's regions as it meets shared
 * tables; they all become live when it succeeds (share_publish_all) and
 * go with the space when it fails (share_drop_making, from hat_destroy,
 * once the space's descriptors have let go of the source's tables).
 */
void share_publish_all(hat_t *sharer);
void share_drop_making(hat_t *sharer);

/* Which regions share_claim takes: NULL / the whole range for "any". */
typedef struct share_match {
	hat_t		*sm_sharer;
	hat_t		*sm_src;
	uint64_t	sm_va;		/* in the sharer's addresses */
	uint64_t	sm_last;
} share_match_t;

/*
 * The next live region that matches, now SR_GOING and the caller's to
 * end; NULL when none is left.  A matching region that another thread
 * is making or ending is waited for.
 */
share_rec_t *share_claim(ht_ctx_t *ctx, const share_match_t *sm);

/*
 * Does [va, last] of sharer cut a region of it (overlap without holding
 * it whole)?  Then that region, else NULL (under the lock, a snapshot).
 */
int share_cuts(hat_t *sharer, uint64_t va, uint64_t last, uint64_t *r_va,
    uint64_t *r_len);

/*
 * Every live region of src whose shared tables cover va (a sharer sees
 * src's leaf there): fn(arg, sharer, the VA in the sharer).  Under the
 * regions' lock: fn must not call the library.  Returns the count.
 */
typedef void (*share_view_fn)(void *arg, hat_t *sharer, uint64_t va);
long share_views(hat_t *src, uint64_t va, share_view_fn fn, void *arg);

/* Does [va, last] of src hold a table that a region links? */
int share_tables_in(hat_t *src, uint64_t va, uint64_t last);

/*
 * Take a region its caller made or claimed off the list and free it,
 * once no forwarding walk can still be reading it.
 */
void share_remove(share_rec_t *rec);

#endif /* HT_SHARE_H */
