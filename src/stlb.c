/*
 * stlb.c - soft TLBs, the lower half: the list of a space's soft TLBs and
 * their invalidation.  The public calls (create, fill, flush, destroy)
 * are in hat_stlb.c; the object is in stlb.h; docs/design.md, "The
 * translation cache", has the why and the figures.
 *
 * Theory of operation
 *
 * A soft TLB is a direct-mapped array of entries {tag, pa}.  Its owner
 * thread reads entries (the inline hit path of htable.h) and writes them
 * (ht_stlb_fill).  Any thread that changes the space empties them
 * (stlb_inval, called where the TLB hook is called: cpuroot.c's
 * tlb_call_to, for every range op.c delivers and share.c forwards).  A
 * tag is read and written atomically; pa is the owner's alone (written by
 * a fill before the tag that publishes it, read by a hit after the tag),
 * so an invalidation only ever stores 0 into tags.
 *
 * Invariants:
 *  1. When a change of the space is reported, every entry that could
 *     hold a translation it changed is empty before the call that made
 *     the change returns: stlb_inval runs inside op_end's delivery (or at
 *     once outside an operation), before the public call returns.
 *  2. A change that can invalidate a cached translation is reported to
 *     every soft TLB attached when the change is made.  Such a change
 *     replaces or clears an entry that had Accessed set (x86pte.c
 *     reports only those, as only those can be in a TLB), and a fill sets
 *     A before it caches anything (hat_stlb.c).  op_tlb_inval and
 *     share_forward batch ranges whenever ctx_nstlb is non-zero, even
 *     with no hook (ctx_inval_on).  An attach increments ctx_nstlb after
 *     it put the soft TLB on the list: a change whose check saw the count
 *     0, or whose delivery saw the list without it, made its entry change
 *     (a sequentially consistent compare-and-swap) before that attach in
 *     the single total order, so the owner's first fill, which starts
 *     with a sequentially consistent fence, reads the new entry.
 *  3. A fill never leaves behind a translation that an invalidation
 *     running during it should have emptied.  The fill reads st_seq
 *     before its walk and again after it stored the tag, and empties the
 *     tag if st_seq moved; stlb_inval increments st_seq before it empties
 *     tags.  Everything is sequentially consistent, so either the fill's
 *     first read sees the increment (and then the change that preceded it,
 *     so the walk reads the new entries), or its second read sees it, or
 *     the increment comes after the fill's second read, and then the
 *     invalidation's store of 0 comes after the fill's store of the tag.
 *  4. No fill writes a table frame after it was freed.  A fill sets A
 *     and D by compare-and-swap in the tables its walk read; a table is
 *     freed only after the operation that unlinked it delivered its TLB
 *     ranges (op_tables.c, the stealer likewise), and stlb_inval waits
 *     until no fill of the soft TLB is in flight (st_busy) before it
 *     returns, as a TLB shootdown waits for the other CPUs.  A fill that
 *     started after the increment reads the tables after the unlink
 *     (invariant 3) and cannot reach the table.  A thread never waits for
 *     its own fill (a provider's map callback that changed the space
 *     would otherwise deadlock; htable.h forbids it, this keeps the
 *     library from hanging on it).
 *
 * States of a soft TLB: attached (on hat_stlbs, st_hat set: stlb_attach
 * from ht_stlb_create), detached (off the list, st_hat NULL, empty:
 * stlb_detach from ht_stlb_destroy, or stlb_detach_all from
 * ht_as_destroy), freed (ht_stlb_destroy).  Fills of a detached soft TLB
 * fail.
 *
 * Lock order: hat_stlb_lock is taken with no other library lock held
 * (where the TLB hook runs, and by attach and detach) and nothing is
 * taken under it.  It keeps a soft TLB on the list while an invalidation
 * empties it, so that ht_stlb_destroy, which takes it to detach, never
 * frees memory an invalidation is writing.
 */
#include <sched.h>

#include "stlb.h"
#include "debug.h"
#include "lock.h"

_Thread_local const stlb_t *stlb__filling;

void
stlb_clear(stlb_t *st)
{
	ht_stlb_ent_t *ent = st->st_pub.st_ent;

	for (uint64_t i = 0; i <= st->st_pub.st_mask; i++) {
		/* look first: most lines of a big cache stay clean */
		if (__atomic_load_n(&ent[i].se_tag, __ATOMIC_RELAXED) != 0)
			__atomic_store_n(&ent[i].se_tag, 0, __ATOMIC_SEQ_CST);
	}
}

/* Empty the tag of e if it names a page in [lo, hi] (inclusive). */
static inline void
ent_inval(ht_stlb_ent_t *e, uint64_t lo, uint64_t hi)
{
	uint64_t tag = __atomic_load_n(&e->se_tag, __ATOMIC_SEQ_CST);
	uint64_t page = tag & ~(uint64_t)0xfff;

	/*
	 * A tag stored after this load is a fill's that saw st_seq move
	 * (invariant 3): it empties it itself.
	 */
	if (tag != 0 && page >= lo && page <= hi)
		__atomic_store_n(&e->se_tag, 0, __ATOMIC_SEQ_CST);
}

static void
stlb_inval_one(stlb_t *st, uint64_t va, uint64_t len)
{
	ht_stlb_ent_t *ent = st->st_pub.st_ent;
	uint64_t mask = st->st_pub.st_mask;
	uint64_t lo = va & ~(uint64_t)0xfff;
	uint64_t npages = len == HT_TLB_ALL ? ~0ull : (len + (va & 0xfff) +
	    0xfff) >> 12;

	atomic_fetch_add(&st->st_seq, 1);	/* before any tag: inv. 3 */
	atomic_fetch_add_explicit(&st->st_invals, 1, memory_order_relaxed);
	if (npages > mask) {
		/* at least as many pages as entries: look at each entry */
		uint64_t hi = len == HT_TLB_ALL || lo + ((npages - 1) << 12) <
		    lo ? ~0ull : lo + ((npages - 1) << 12);

		if (len == HT_TLB_ALL)
			lo = 0;
		for (uint64_t i = 0; i <= mask; i++)
			ent_inval(&ent[i], lo, hi);
	} else {
		/* each page has one place to be */
		for (uint64_t i = 0; i < npages; i++) {
			uint64_t p = lo + (i << 12);

			ent_inval(&ent[(p >> 12) & mask], p, p);
		}
	}
	/* invariant 4: no fill may still write into what the caller frees */
	if (stlb__filling != st) {
		while (atomic_load(&st->st_busy) != 0)
			(void) sched_yield();
	}
}

void
stlb_inval(hat_t *hat, uint64_t va, uint64_t len)
{
	/* one load for a space without soft TLBs (invariant 2 says why) */
	if (atomic_load(&hat->hat_stlbs) == NULL)
		return;
	HT_ASSERT(lock_none_held());
	mutex_enter(&hat->hat_stlb_lock, LR_STLB);
	for (stlb_t *st = atomic_load(&hat->hat_stlbs); st != NULL;
	    st = st->st_next)
		stlb_inval_one(st, va, len);
	mutex_exit(&hat->hat_stlb_lock);
}

void
stlb_attach(stlb_t *st, hat_t *hat)
{
	ht_ctx_t *ctx = hat->hat_ctx;

	HT_ASSERT(lock_none_held());
	mutex_enter(&hat->hat_stlb_lock, LR_STLB);
	atomic_store(&st->st_hat, hat);
	st->st_next = atomic_load(&hat->hat_stlbs);
	atomic_store(&hat->hat_stlbs, st);
	mutex_exit(&hat->hat_stlb_lock);
	/* after the list: invariant 2 */
	atomic_fetch_add(&ctx->ctx_nstlb, 1);
}

/* Take st off hat's list (hat_stlb_lock held); it is detached after. */
static void
stlb_unlist(stlb_t *st, hat_t *hat)
{
	stlb_t *p = atomic_load(&hat->hat_stlbs);

	HT_ASSERT(lock_held(&hat->hat_stlb_lock));
	if (p == st) {
		atomic_store(&hat->hat_stlbs, st->st_next);
	} else {
		while (p->st_next != st) {
			p = p->st_next;
			HT_VERIFY(p != NULL);	/* it was on the list */
		}
		p->st_next = st->st_next;
	}
	st->st_next = NULL;
	atomic_store(&st->st_hat, NULL);
	stlb_clear(st);
	atomic_fetch_sub(&hat->hat_ctx->ctx_nstlb, 1);
}

void
stlb_detach(stlb_t *st)
{
	hat_t *hat = atomic_load(&st->st_hat);

	if (hat == NULL)
		return;
	mutex_enter(&hat->hat_stlb_lock, LR_STLB);
	stlb_unlist(st, hat);
	mutex_exit(&hat->hat_stlb_lock);
}

void
stlb_detach_all(hat_t *hat)
{
	stlb_t *st;

	if (atomic_load(&hat->hat_stlbs) == NULL)
		return;
	mutex_enter(&hat->hat_stlb_lock, LR_STLB);
	while ((st = atomic_load(&hat->hat_stlbs)) != NULL)
		stlb_unlist(st, hat);
	mutex_exit(&hat->hat_stlb_lock);
}
