/*
 * op.c - the operation frame: what one public call is in the middle of
 * (op_t, on the caller's stack, found through a thread-local pointer).
 *
 * An operation gives three guarantees:
 *  1. op_prealloc_tables takes every frame the operation will use before
 *     anything changes, so a failed call leaves no half-built state; the
 *     plan (hat_range.c) asks for exactly the tables it creates, and any
 *     frame left unused goes back to the provider when the operation
 *     ends.
 *  2. Tables freed during the operation are kept until the TLB hook has
 *     run: an MMU may still walk them through its paging-structure caches.
 *  3. TLB invalidations are merged into at most HT_OP_TLB_RANGES ranges
 *     and delivered once, with no library lock held.
 *
 * This module keeps the frame itself and everything about it that needs
 * no table descriptor, so that the layers below the tables (x86pte.c) and
 * the tables themselves (htable.c, reserve.c) can use it without calling
 * up:
 *  - the current operation and the nesting depth.  A provider callback
 *    that re-enters the library nests a second operation; op_nested()
 *    tells the allocator to use the reserve (illumos's hat depth);
 *  - TLB batching: invalidations are merged into at most HT_OP_TLB_RANGES
 *    ranges and delivered once, by op_unwind, with no library lock held;
 *    a space that shares tables out has each range forwarded to its
 *    sharers (share.c), in their addresses;
 *  - the caller's A/D sink (ht_map_ad, ht_unmap_ad).  Every path that
 *    removes a leaf of the operation's space reports there the bits the
 *    leaf had when it was cleared: the value the clearing exchange or CAS
 *    returned, which is final because no MMU sets a bit in an entry that
 *    is gone (a write through a TLB entry cached dirty was dirty already).
 *    A split moves the bits to the small leaves and is no removal; a
 *    steal is another space's business and reports nothing.
 * The frame also carries lists of tables (preallocated, pinned, deferred);
 * this module only holds them.  Filling them needs the allocator
 * (op_prealloc_tables, alloc.c) and emptying them needs the descriptors
 * (op_end, op_tables.c), both in the layers above.
 *
 * The life of an operation: op_begin; op_prealloc_tables and op_pin while
 * it plans; the change; op_end, which releases the pins, op_unwinds
 * (delivers the TLB batch), frees the deferred tables (only now may their
 * frames be reused: an MMU may have walked them through its paging-
 * structure caches until the hook ran), gives back unused preallocated
 * tables, and op_closes.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "htable_int.h"
#include "op.h"
#include "share.h"
#include "cpuroot.h"
#include "stlb.h"
#include "debug.h"
#include "lock.h"

/* The thread's current operation and nesting depth (op.h reads them). */
_Thread_local op_t *op__cur HT_TLS_IE;
_Thread_local int op__depth HT_TLS_IE;
_Thread_local hat_t *op__nm HT_TLS_IE;

void
hat_pm_add_slow(hat_t *hat, int level, int64_t delta)
{
	unsigned s = shard_mine();

	if (s < HAT_SHARDS) {
		hat_pm_add(hat, level, delta);	/* now a shard of its own */
		return;
	}
	/* hat_pm_add, the only caller, noted the level */
	atomic_fetch_add_explicit(&hat->hat_pm[0].pm[level], (uint64_t)delta,
	    memory_order_relaxed);
}

/* One call of the hook for hat, and its sharers' (no lock held). */
static void
tlb_call(hat_t *hat, uint64_t va, uint64_t len)
{
	cpu_tlb_call(hat, va, len);
	if (atomic_load(&hat->hat_flags) & HAT_SHARED)
		share_forward(hat, va, len);
}

void
op_deliver(op_t *op)
{
	hat_t *hat = op->op_hat;

	HT_ASSERT(lock_none_held());	/* no library lock at the TLB hook */
	for (unsigned i = 0; i < op->op_nx; i++) {
		uint64_t len = op->op_xlast[i] - op->op_xlo[i] + 1;

		tlb_call(op->op_xhat[i], op->op_xlo[i], len == 0 ?
		    HT_TLB_ALL : len);
	}
	if (hat == NULL || (op->op_ntlb == 0 && !op->op_tlb_all))
		return;
	if (op->op_tlb_all) {
		tlb_call(hat, 0, HT_TLB_ALL);
		return;
	}
	for (unsigned i = 0; i < op->op_ntlb; i++)
		tlb_call(hat, op->op_tlb_va[i], op->op_tlb_len[i]);
}

void
op_tlb_inval(hat_t *hat, uint64_t va, uint64_t len)
{
	ht_ctx_t *ctx = hat->hat_ctx;
	op_t *op = op__cur;

	unsigned hflags = atomic_load(&hat->hat_flags);

	/* a hook, or a soft TLB in the context (stlb.c, invariant 2) */
	if (!ctx_inval_on(ctx) || (hflags & HAT_FREEING))
		return;
	/*
	 * A no-MMU space: no MMU caches anything, but its soft TLBs read
	 * the tables whatever the mode, so they still hear of the change
	 * (tlb_call_to skips the hook for it).  The flag is read after the
	 * entry was written, so a space turned live meanwhile was turned
	 * after the write, before any MMU could load it (nommu.c).
	 */
	if ((hflags & HAT_NOMMU) && atomic_load(&hat->hat_stlbs) == NULL)
		return;
	if (len == 0)		/* 2^64 bytes: the whole space */
		len = HT_TLB_ALL;
	if (op != NULL && op->op_hat != hat) {
		/*
		 * Another space's tables, changed on the way (a share reads
		 * and makes its source's): one covering range per space, for
		 * op_end.  (A stealer works on its victim inside an operation
		 * of its own.)
		 */
		uint64_t last = len == HT_TLB_ALL ? ~0ull : va + (len - 1);
		unsigned i;

		if (len == HT_TLB_ALL)
			va = 0;
		for (i = 0; i < op->op_nx && op->op_xhat[i] != hat; i++)
			continue;
		if (i < op->op_nx) {
			if (va < op->op_xlo[i])
				op->op_xlo[i] = va;
			if (last > op->op_xlast[i])
				op->op_xlast[i] = last;
			return;
		}
		if (op->op_nx < HT_OP_XHATS) {
			op->op_xhat[i] = hat;
			op->op_xlo[i] = va;
			op->op_xlast[i] = last;
			op->op_nx++;
			return;
		}
		op = NULL;	/* more spaces than any path touches: now */
	}
	if (op == NULL) {
		/* No operation: tell it now. */
		tlb_call(hat, va, len);
		return;
	}
	if (op->op_tlb_all)
		return;
	if (len == HT_TLB_ALL) {
		op->op_tlb_all = 1;
		return;
	}
	/*
	 * Merge with an overlapping or adjacent range.  Inclusive ends: a
	 * range may end at the very top of the space, where va + len is 0.
	 */
	uint64_t last = va + (len - 1);

	for (unsigned i = 0; i < op->op_ntlb; i++) {
		uint64_t lo = op->op_tlb_va[i];
		uint64_t hi = lo + (op->op_tlb_len[i] - 1);

		if (va <= hi + 1 - (hi == ~0ull) && last + 1 - (last ==
		    ~0ull) >= lo) {
			uint64_t nlo = va < lo ? va : lo;
			uint64_t nhi = last > hi ? last : hi;

			if (nhi - nlo == ~0ull) {	/* the whole space */
				op->op_tlb_all = 1;
				return;
			}
			op->op_tlb_va[i] = nlo;
			op->op_tlb_len[i] = nhi - nlo + 1;
			return;
		}
	}
	if (op->op_ntlb < HT_OP_TLB_RANGES) {
		op->op_tlb_va[op->op_ntlb] = va;
		op->op_tlb_len[op->op_ntlb] = len;
		op->op_ntlb++;
		return;
	}
	op->op_tlb_all = 1;	/* too scattered: drop everything */
}

void
op_ad_report(const ad_sink_t *s, uint64_t va, uint64_t size,
    x86pte_t old)
{
	unsigned bits = pte_ad(s->ad_m, old);

	if (bits != 0)
		s->ad_fn(s->ad_arg, va, size, bits);
}

ad_sink_t *
op_ad_sink(hat_t *hat, uint64_t va, int level, ad_sink_t *s)
{
	op_t *op = op__cur;

	/* Only the operation's own space: a stealer's victim is not ours. */
	if (op == NULL || op->op_hat != hat || op->op_ad_fn == NULL)
		return (NULL);
	s->ad_m = hat_mmu(hat);
	s->ad_fn = op->op_ad_fn;
	s->ad_arg = op->op_ad_arg;
	s->ad_va = va;
	s->ad_shift = (int)LEVEL_SHIFT(hat_mmu(hat), level);
	return (s);
}

void
op_ad_removed(htable_t *ht, unsigned entry, x86pte_t old)
{
	ad_sink_t s;

	if (pte_ad(hat_mmu(ht->ht_hat), old) != 0 && op_ad_sink(ht->ht_hat,
	    htable_e2va(ht, entry), ht->ht_level, &s) != NULL)
		op_ad_report(&s, s.ad_va, 1ull << s.ad_shift, old);
}
