/*
 * op.h - the operation frame (op.c) and the tables it holds (op_tables.c,
 * alloc.c): the internal interface every layer from x86pte.c up uses.
 */
#ifndef HT_OP_H
#define HT_OP_H

#include "types.h"
#include "debug.h"
#include "shard.h"

/*
 * The thread's current operation and nesting depth: op.c's, read here so
 * that the calls every operation makes (begin, current, nested, unwind,
 * close) cost no call across files (HT_TLS_IE: shard.h says why).
 */
extern _Thread_local op_t *op__cur HT_INTERNAL HT_TLS_IE;
extern _Thread_local int op__depth HT_INTERNAL HT_TLS_IE;
/* The no-MMU space whose hat_nm_lock this thread holds, or NULL (nommu.c) */
extern _Thread_local hat_t *op__nm HT_INTERNAL HT_TLS_IE;

/*
 * May this thread write hat's leaves with plain stores?  Only while it
 * holds hat's no-MMU write lock (nommu.c): then no MMU can set A/D under
 * the store and no other writer of the space runs.  Every other writer
 * (a stealer, a share) uses atomics, as in a live space.  One
 * thread-local load and a compare, so the entry primitives and the bulk
 * loops ask it per call or per table.
 */
static inline int
nm_plain(const hat_t *hat)
{
	return (op__nm == hat);
}

/*
 * Before a leaf at level (> 0) is first counted in hat: set its bit of
 * hat_leaf_levels (types.h), one relaxed load after that.  Relaxed, as
 * the counts are: a call ordered after this one by the caller sees it.
 */
static inline void
hat_leaf_level_note(hat_t *hat, int level)
{
	unsigned bit = 1u << level;

	if (!(atomic_load_explicit(&hat->hat_leaf_levels,
	    memory_order_relaxed) & bit))
		(void) atomic_fetch_or_explicit(&hat->hat_leaf_levels, bit,
		    memory_order_relaxed);
}

/*
 * hat_pm_add's other cases, its only caller: no shard yet, or shard 0
 * shared (op.c).
 */
void hat_pm_add_slow(hat_t *hat, int level, int64_t delta);

/*
 * Add delta to hat's leaf count at level (this thread's shard), noting a
 * level above 0 first (hat_leaf_level_note).  A shard of its own
 * (1..HAT_SHARDS-1, one compare) inline; the rest in a call that nothing
 * follows, so that the hot callers keep no value across it.
 */
static inline __attribute__((always_inline)) void
hat_pm_add(hat_t *hat, int level, int64_t delta)
{
	unsigned s = shard__mine;

	if (level != 0 && delta > 0)
		hat_leaf_level_note(hat, level);
	if (HT_LIKELY(s - 1 < HAT_SHARDS - 1)) {
		/* ours alone: no other thread writes it (shard.h) */
		_Atomic uint64_t *c = &hat->hat_pm[s].pm[level];

		atomic_store_explicit(c, atomic_load_explicit(c,
		    memory_order_relaxed) + (uint64_t)delta,
		    memory_order_relaxed);
		return;
	}
	hat_pm_add_slow(hat, level, delta);
}

/* hat's leaf count at level: the sum of the shards. */
static inline uint64_t
hat_pm_get(const hat_t *hat, int level)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < HAT_SHARDS; i++)
		n += atomic_load_explicit(&hat->hat_pm[i].pm[level],
		    memory_order_relaxed);
	return (n);
}

/* Deliver op's batched TLB invalidations (op_unwind's slow half). */
void op_deliver(op_t *op);

/* The operation this thread is running, or NULL. */
static inline op_t *
op_cur(void)
{
	return (op__cur);
}

/*
 * Is this thread inside a nested operation (a provider callback that
 * re-entered the library)?  Then allocations use the reserve.
 */
static inline int
op_nested(void)
{
	return (op__depth > 1);
}

/*
 * Begin an operation on hat (hat may be NULL for context-wide work):
 * becomes the thread's current operation.  Nested library calls (from a
 * provider callback) see a depth > 1 and use the reserves.
 */
static inline void
op_begin(op_t *op, hat_t *hat)
{
	/* not a memset: the TLB arrays are read only up to their counts */
	op->op_hat = hat;
	op->op_prealloc = op->op_deferred = NULL;
	op->op_pinned = NULL;
	op->op_npinned = op->op_maxpinned = 0;
	op->op_ntlb = 0;
	op->op_tlb_all = 0;
	op->op_ad_fn = NULL;
	op->op_ad_arg = NULL;
	op->op_rmap = NULL;
	op->op_nx = 0;
	op->op_prev = op__cur;
	op__cur = op;
	op__depth++;
}

/*
 * Stop being the thread's current operation and deliver the batched TLB
 * invalidations (no library lock may be held).  Part of op_end.
 */
static inline void
op_unwind(op_t *op)
{
	HT_VERIFY(op__cur == op);
	op__cur = op->op_prev;
	if ((op->op_hat != NULL && (op->op_ntlb != 0 || op->op_tlb_all)) ||
	    op->op_nx != 0)
		op_deliver(op);
}

/*
 * Does op hold back a TLB invalidation of hat, another space (so that a
 * table of hat freed now must wait for op_end too)?
 */
static inline int
op_holds_tlb(const op_t *op, const hat_t *hat)
{
	for (unsigned i = 0; i < op->op_nx; i++)
		if (op->op_xhat[i] == hat)
			return (1);
	return (0);
}

/* Leave the nesting depth; the last step of op_end. */
static inline void
op_close(op_t *op)
{
	(void) op;
	HT_VERIFY(op__depth > 0);
	op__depth--;
}

/*
 * Entries of [va, va + len) of hat may be cached by an MMU: batch the
 * invalidation into the current operation (another space's goes into
 * its list of other spaces), or call the hook now when no operation
 * runs.  len HT_TLB_ALL: everything.  Nothing for a FREEING hat, nor for
 * one no MMU walks (HAT_NOMMU: nothing is cached).
 */
void op_tlb_inval(hat_t *hat, uint64_t va, uint64_t len);

/*
 * The leaf at entry of ht, whose value when it was cleared or replaced was
 * old, is gone: report its A/D bits (if any) to the sink of this thread's
 * operation on ht's hat, if it has one.
 */
void op_ad_removed(htable_t *ht, unsigned entry, x86pte_t old);
/*
 * For a bulk loop removing leaves of level `level` from va on: fill *s and
 * return it if this thread's operation on hat has an A/D sink, else NULL.
 */
ad_sink_t *op_ad_sink(hat_t *hat, uint64_t va, int level,
    ad_sink_t *s);
/* Report old's A/D bits, if any, for the leaf [va, va + size). */
void op_ad_report(const ad_sink_t *s, uint64_t va, uint64_t size,
    x86pte_t old);

/*
 * Top up op with n zeroed table frames (alloc.c), so that the rest of the
 * operation cannot fail for lack of memory.  0, or -HT_ENOFRAME /
 * -HT_ENOMEM with none taken: the frames it had got go back where they
 * came from (the provider or the space's cache).
 */
int op_prealloc_tables(op_t *op, uint64_t n);
/*
 * Keep a hold on ht until the operation ends (op_end releases it): a
 * table the operation counted on must not be freed by another thread's
 * release half way.  0 or -HT_ENOMEM (then the hold was dropped).
 */
int op_pin(op_t *op, htable_t *ht);
/*
 * Give back tables taken for op that it did not use (no cache lock held):
 * a frame that came from the provider goes back to it, and with `all` so
 * does every other one.  Otherwise a table from the space's cache goes
 * back there, so that a failed reservation leaves the space as it was.
 */
void op_give_back(htable_t *list, int all);
/*
 * End the operation: release the pins, deliver the TLB batch, free the
 * deferred tables; preallocated frames left unused go back to the
 * provider.
 */
void op_end(op_t *op);

#endif /* HT_OP_H */
