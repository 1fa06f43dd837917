/*
 * x86pte.c - atomic operations on single page-table entries.
 *
 * Invariant kept by every writer: an entry is either zero or valid.  No one
 * writes a non-zero invalid value, so "all entries invalid" means "frame is
 * all zeros", which lets freed tables be cached and reused unzeroed.
 *
 * Entries of an HTABLE_COPIED root live in the hat's hat_copied_ptes array
 * (8-byte entries, whatever the mode); every other table is in its frame.
 * Shared tables (HTABLE_SHARED_PFN) are never written through the sharer.
 *
 * A thread that holds a no-MMU space's write lock (nm_plain, nommu.c)
 * writes that space's leaves with release stores instead: no MMU sets
 * A/D under it and no other writer is in the entry, so the value it
 * read is still there.  The results are the same as the CAS's.
 */
#include "x86pte.h"
#include "htable_int.h"
#include "op.h"
#include "debug.h"
#include "hook.h"

#ifdef HT_DEBUG
hook_fn_t *_Atomic debug_hook;
#endif

static void
x86pte_tlb(htable_t *ht, unsigned entry)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);

	op_tlb_inval(ht->ht_hat, htable_e2va(ht, entry),
	    LEVEL_SIZE(m, ht->ht_level));
}

x86pte_t
x86pte_set(htable_t *ht, unsigned entry, x86pte_t new, void *ptr)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);
	int sz = pte_sz(ht);
	x86pte_t prev, n, found;
	x86pte_t addr_mask = ht->ht_level > 0 ? m->lgpg_mask : m->paddr_mask;

	HT_ASSERT(!(ht->ht_flags & HTABLE_SHARED_PFN));
	/* a non-present data entry (ht_set_np) only at level 0 */
	HT_ASSERT(new != 0 && (pte_valid(m, new) || ht->ht_level == 0));
	if (ptr == NULL)
		ptr = x86pte_access_pagetable(ht, entry);
	for (;;) {
		prev = pte_load(sz, ptr);
		n = new;
		/*
		 * Re-installing the same frame keeps its history: the REF
		 * and MOD bits stay, a new frame starts clean.
		 */
		if (pte_valid(m, n) && pte_valid(m, prev) &&
		    (prev & addr_mask) == (n & addr_mask))
			n |= prev & (m->pt_ref | m->pt_mod);
		if (prev == n)
			return (new);	/* already there: "no change" */
		/* A large leaf must never overwrite a link to a table. */
		if (ht->ht_level > 0 && pte_is_ptp(m, prev, ht->ht_level))
			return (LPAGE_ERROR);
		if (nm_plain(ht->ht_hat)) {
			pte_store(sz, ptr, n);
			break;
		}
		found = pte_cas_raw(sz, ptr, prev, n);
		if (found == prev)
			break;
	}
	/*
	 * An MMU sets REF whenever it caches an entry (and whenever it sets
	 * MOD), so only a referenced entry can be in a TLB; MOD is tested too
	 * for entries whose bits someone other than an MMU wrote (pt_cached;
	 * a format without A/D: any present entry).
	 */
	if (pte_cached(m, prev))
		x86pte_tlb(ht, entry);
	return (prev);
}

x86pte_t
x86pte_cas(htable_t *ht, unsigned entry, x86pte_t old, x86pte_t new)
{
	HT_ASSERT(!(ht->ht_flags & HTABLE_SHARED_PFN));
	return (pte_cas_raw(pte_sz(ht), x86pte_access_pagetable(ht, entry),
	    old, new));
}

x86pte_t
x86pte_inval(htable_t *ht, unsigned entry, x86pte_t expect, void *ptr,
    int tlb)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);
	int sz = pte_sz(ht);
	x86pte_t old, found;

	HT_ASSERT(!(ht->ht_flags & HTABLE_SHARED_PFN));
	HT_ASSERT3S(ht->ht_level, <=, m->max_page_level);
	if (ptr == NULL)
		ptr = x86pte_access_pagetable(ht, entry);
	for (;;) {
		old = pte_load(sz, ptr);
		/* Someone remapped it to another frame: leave it alone. */
		if (expect != 0 && (old & m->paddr_mask) !=
		    (expect & m->paddr_mask))
			return (old);
		if (old == 0)
			return (0);
		if (nm_plain(ht->ht_hat)) {
			pte_store(sz, ptr, 0);
			break;
		}
		/* Retry when the MMU set REF or MOD meanwhile. */
		found = pte_cas_raw(sz, ptr, old, 0);
		if (found == old)
			break;
	}
	if (tlb && pte_cached(m, old))
		x86pte_tlb(ht, entry);
	return (old);
}

x86pte_t
x86pte_update(htable_t *ht, unsigned entry, x86pte_t expect, x86pte_t new)
{
	int sz = pte_sz(ht);
	void *ptr = x86pte_access_pagetable(ht, entry);
	const mmu_t *m = hat_mmu(ht->ht_hat);
	const x86pte_t mod = m->pt_mod;
	x86pte_t found;

	HT_ASSERT(!(ht->ht_flags & HTABLE_SHARED_PFN));
	HT_ASSERT(new != 0 && pte_valid(m, new) && pte_valid(m, expect));
	if (nm_plain(ht->ht_hat)) {
		/* no MMU: nothing cached, no write through a stale TLB */
		found = pte_load(sz, ptr);
		if (found == expect)
			pte_store(sz, ptr, new);
		return (found);
	}
	found = pte_cas_raw(sz, ptr, expect, new);
	if (found != expect)
		return (found);
	x86pte_tlb(ht, entry);
	/*
	 * Stale-TLB write check: write access was just removed from a page
	 * that was not dirty, yet it is dirty now.  A CPU wrote through a
	 * stale writable TLB entry before the invalidation finished.  Put
	 * the write permission back and report a change, so the caller
	 * retries and sees (and harvests) the dirty bit.
	 */
	if ((expect & (PT_WRITABLE | mod)) == PT_WRITABLE &&
	    !(new & (PT_WRITABLE | mod))) {
		x86pte_t cur = pte_load(sz, ptr);

		while (cur & mod) {
			found = pte_cas_raw(sz, ptr, cur, cur | PT_WRITABLE);
			if (found == cur)
				return (cur | PT_WRITABLE);
			cur = found;
		}
	}
	return (expect);
}

void
x86pte_copy(htable_t *src, htable_t *dest, unsigned entry, unsigned count)
{
	int sz = pte_sz(dest);

	HT_ASSERT(!(src->ht_flags & (HTABLE_COPIED | HTABLE_SHARED_PFN)));
	HT_ASSERT(!(dest->ht_flags & (HTABLE_COPIED | HTABLE_SHARED_PFN)));
	HT_ASSERT3U(entry + count, <=, htable_num_ptes(dest));
	memcpy(x86pte_access_pagetable(dest, entry),
	    x86pte_access_pagetable(src, entry), (size_t)count * (size_t)sz);
}

void
x86pte_zero(htable_t *dest, unsigned entry, unsigned count)
{
	int sz = pte_sz(dest);

	HT_ASSERT(!(dest->ht_flags & HTABLE_SHARED_PFN));
	HT_ASSERT3U(entry + count, <=, htable_num_ptes(dest));
	memset(x86pte_access_pagetable(dest, entry), 0,
	    (size_t)count * (size_t)sz);
}
