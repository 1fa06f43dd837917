/*
 * stlb.h - soft TLBs (the translation cache of include/htable.h): the
 * object, and what the layers below the address-space calls need of it.
 * stlb.c keeps the list of a space's soft TLBs and empties them when a
 * change is reported; hat_stlb.c has the public calls (create, fill,
 * flush, destroy).  The theory of operation is at the top of stlb.c.
 */
#ifndef HT_STLB_H
#define HT_STLB_H

#include "types.h"
#include "debug.h"

/*
 * One soft TLB.  st_pub comes first: the caller's ht_stlb_t * points at
 * it, and its two fields are the layout the inline hit path reads.  The
 * counters that other threads write (st_seq, written by every
 * invalidation, and st_busy, read by it) sit on a line of their own, so
 * the owner's hits never share a line with an invalidator's writes.
 */
typedef struct stlb {
	ht_stlb_t	st_pub;
	hat_t * _Atomic	st_hat;		/* NULL once detached */
	ht_cpu_t	st_cpu;		/* the CPU accesses are decided for */
	struct stlb	*st_next;	/* hat_stlbs; hat_stlb_lock */
	_Atomic uint64_t st_fills;	/* ht_stlb_stats */
	_Atomic uint64_t st_races;
	/* written by invalidators, read by the owner's fills */
	_Atomic uint64_t st_seq __attribute__((aligned(64)));
					/* bumped by every invalidation
					   before it empties entries */
	_Atomic unsigned st_busy;	/* a fill is between its walk and
					   its last look at st_seq */
	_Atomic uint64_t st_invals;
} __attribute__((aligned(64))) stlb_t;

/* The fill this thread is running (stlb.c; a provider re-entering). */
extern _Thread_local const stlb_t *stlb__filling HT_INTERNAL;

/*
 * Are TLB ranges of ctx's spaces wanted at all: a hook, or a soft TLB
 * attached to one of its spaces?  (op_tlb_inval and share_forward skip
 * all their work otherwise.)
 */
static inline int
ctx_inval_on(ht_ctx_t *ctx)
{
	return (ctx->ctx_tlb_on || atomic_load(&ctx->ctx_nstlb) != 0);
}

/*
 * [va, va + len) of hat changed (len HT_TLB_ALL: everything): empty the
 * entries of every soft TLB of hat that may hold it, and wait for their
 * fills in flight.  No library lock held (it takes hat_stlb_lock).
 */
void stlb_inval(hat_t *hat, uint64_t va, uint64_t len);

/* Empty every entry of st (any thread). */
void stlb_clear(stlb_t *st);

/* Put st on hat's list (it is empty and attached from now on). */
void stlb_attach(stlb_t *st, hat_t *hat);

/*
 * Take st off its space's list, if it is still on one, after any
 * invalidation in progress in it; st is emptied and detached.
 */
void stlb_detach(stlb_t *st);

/* hat goes: detach every soft TLB still attached (ht_as_destroy). */
void stlb_detach_all(hat_t *hat);

/*
 * ht_access with, in *r_rights (may be NULL), every access the leaf
 * allows (rd_access, reader.h): the fill's walk (hat_query.c).
 */
int hat_access(hat_t *as, const ht_cpu_t *cpu, ht_va_t va, unsigned acc,
    unsigned cpl, ht_access_t *r_acc, unsigned *r_rights);

#endif /* HT_STLB_H */
