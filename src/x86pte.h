/*
 * x86pte.h - the PTE access layer (illumos x86pte_*).
 *
 * Every single-entry change is a compare-and-swap: an MMU may set the
 * Accessed and Dirty bits of a valid entry at any moment, and a plain
 * store would lose them.  Each operation returns the entry's previous
 * value.  Entries are 4 bytes in 32-bit mode and 8 bytes otherwise; the
 * raw helpers below widen and truncate, and are the one place that knows
 * how an entry is stored.  All other operations derive from pte_cas_raw.
 *
 * TLB rule (illumos): a change invalidates when the old entry may be
 * cached, i.e. had REF set (set), had REF or MOD (inval), always (update);
 * invalidations go through op_tlb_inval, which batches them per operation.
 */
#ifndef HT_X86PTE_H
#define HT_X86PTE_H

#include <stdatomic.h>
#include <string.h>

#include "types.h"
#include "htable_int.h"

#if !defined(__GNUC__) && !defined(__clang__)
#error "x86pte.h needs a compiler with lock-free 32/64-bit C11 atomics"
#endif
_Static_assert(sizeof (x86pte_t) == 8, "a PTE is 8 bytes in software");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit CAS must be lock-free");

/* --- raw entry access (the one primitive: 32/64-bit CAS) --- */

static inline x86pte_t
pte_load(int size, const void *p)
{
	if (size == 8)
		return (atomic_load_explicit((_Atomic uint64_t *)p,
		    memory_order_acquire));
	return (atomic_load_explicit((_Atomic uint32_t *)p,
	    memory_order_acquire));
}

/*
 * Release store: only into an entry nobody else may change (an empty one
 * of a table the caller holds, or one of a table not linked yet).  Release,
 * so that a lock-free reader that sees the value also sees what was done
 * before it (the seqlock of ht_translate relies on every non-zero entry
 * being written by a release store or a CAS).
 */
static inline __attribute__((always_inline)) void
pte_store(int size, void *p, x86pte_t v)
{
	if (size == 8)
		atomic_store_explicit((_Atomic uint64_t *)p, v,
		    memory_order_release);
	else
		atomic_store_explicit((_Atomic uint32_t *)p, (uint32_t)v,
		    memory_order_release);
}

/*
 * Exchange; returns the previous value.  Clearing a valid entry this way
 * gives the final A/D bits: no MMU sets a bit in an entry that is gone.
 */
static inline x86pte_t
pte_swap(int size, void *p, x86pte_t new)
{
	if (size == 8)
		return (atomic_exchange_explicit((_Atomic uint64_t *)p, new,
		    memory_order_acq_rel));
	return (atomic_exchange_explicit((_Atomic uint32_t *)p, (uint32_t)new,
	    memory_order_acq_rel));
}

/* CAS; returns the value found (== old on success). */
static inline x86pte_t
pte_cas_raw(int size, void *p, x86pte_t old, x86pte_t new)
{
	if (size == 8) {
		uint64_t o = old;
		(void) atomic_compare_exchange_strong((_Atomic uint64_t *)p,
		    &o, new);
		return (o);
	}
	uint32_t o32 = (uint32_t)old;
	(void) atomic_compare_exchange_strong((_Atomic uint32_t *)p, &o32,
	    (uint32_t)new);
	return (o32);
}

/*
 * Is the entry at p present?  The low 16 bits hold the present bits in
 * every format (bit 0; EPT's 0-2, and 10 with MBEC; little-endian), so
 * scans test them before paying for a full load; a relaxed atomic 16-bit
 * load is a plain load on x86.
 */
static inline int
pte_present(const mmu_t *m, const void *p)
{
	_Static_assert(EPT_XU < 0x10000, "present bits in the low 16");
	return ((atomic_load_explicit((_Atomic uint16_t *)p,
	    memory_order_relaxed) & m->pt_present) != 0);
}

/*
 * Zero a frame that is about to become a table.  The zeros reach a
 * lock-free reader (ht_translate, ht_access) in C11 terms through the
 * link: link_ptp's CAS (a release) publishes the child after this, and
 * readers load links with acquire.  A reader may also still be walking the
 * frame's previous life through a stale link while it is zeroed; it then
 * reads a zero, which is a correct answer (a table is unlinked only once
 * it is empty), or it retries (hat_gen).  C11 calls that overlap a data
 * race unless the stores are atomic, so sanitised builds zero with relaxed
 * atomic stores; normal builds use memset (the same bytes, faster) and
 * rely on the hardware there: aligned 8-byte stores do not tear on x86.
 */
#if defined(__SANITIZE_THREAD__)
#define HT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HT_TSAN 1
#endif
#endif
static inline void
ptable_zero(void *frame)
{
#ifdef HT_TSAN
	for (unsigned i = 0; i < HT_PAGE_SIZE / 8; i++)
		atomic_store_explicit((_Atomic uint64_t *)frame + i, 0,
		    memory_order_relaxed);
#else
	memset(frame, 0, HT_PAGE_SIZE);
#endif
}

/* Pointer to entry `index` of table memory `base`. */
static inline void *
pte_ptr(int shift, void *base, unsigned index)
{
	return ((uint8_t *)base + ((size_t)index << shift));
}

/* --- operations on an htable's entries --- */

/* The size of ht's entries: a copied root's are 8 bytes in every mode. */
static inline int
pte_sz(const htable_t *ht)
{
	return ((ht->ht_flags & HTABLE_COPIED) ? 8 :
	    hat_mmu(ht->ht_hat)->pte_size);
}

/*
 * Where entry `entry` of ht lives.  Inline with x86pte_get: the loops
 * that test entries one by one (one_table's scan of a range) would
 * otherwise pay a call per entry, more than the entry's change costs.
 */
static inline void *
x86pte_access_pagetable(htable_t *ht, unsigned entry)
{
	HT_ASSERT3U(entry, <, htable_num_ptes(ht));
	if (ht->ht_flags & HTABLE_COPIED) {
		HT_ASSERT3U(entry, <, ht->ht_hat->hat_num_copied);
		return (&ht->ht_hat->hat_copied_ptes[entry]);
	}
	HT_ASSERT(ht->ht_ptr != NULL);
	return (pte_ptr(hat_mmu(ht->ht_hat)->pte_shift, ht->ht_ptr, entry));
}

static inline x86pte_t
x86pte_get(htable_t *ht, unsigned entry)
{
	return (pte_load(pte_sz(ht), x86pte_access_pagetable(ht, entry)));
}
/* Install a non-zero leaf; LPAGE_ERROR when a large leaf would cover a PTP. */
x86pte_t x86pte_set(htable_t *ht, unsigned entry, x86pte_t new, void *ptr);
/* Raw CAS, no TLB work (PTP links are made with REF preset). */
x86pte_t x86pte_cas(htable_t *ht, unsigned entry, x86pte_t old,
    x86pte_t new);
/*
 * Clear a leaf if it still maps expect's frame (expect 0: whatever is
 * there).  tlb: invalidate now-or-batched if it had REF or MOD.  Returns
 * the previous entry; if its frame differs from expect's, nothing changed.
 */
x86pte_t x86pte_inval(htable_t *ht, unsigned entry, x86pte_t expect,
    void *ptr, int tlb);
/*
 * Replace a valid leaf that equals expect by new.  Returns expect on
 * success; any other value means the entry changed and the caller must
 * retry (this includes the stale-writable-TLB case, where a CPU set MOD
 * through a stale TLB entry while write access was being removed).
 */
x86pte_t x86pte_update(htable_t *ht, unsigned entry, x86pte_t expect,
    x86pte_t new) __attribute__((warn_unused_result));
void x86pte_copy(htable_t *src, htable_t *dest, unsigned entry,
    unsigned count);
void x86pte_zero(htable_t *dest, unsigned entry, unsigned count);

#endif /* HT_X86PTE_H */
