/*
 * hat_one.h - the front of the one-entry path in a serial space: its
 * write cursor (types.h, hat_wc_t), inlined into ht_map_ad, ht_unmap_ad
 * and ht_protect ahead of everything else.
 *
 * Theory of operation.  A serial space's changing calls come one at a
 * time (HT_AS_SERIAL), so the level-l table that the last one-entry call
 * found by hashing (one_find, hat_one.c) is still there at the next call,
 * unless a call in between took it out of the hash, which empties the
 * cursor (htable_hash_remove).  A call for one entry of that table goes
 * from the entry point straight to the entry:
 *  - the range checks are proved by the table itself: a va whose
 *    va >> LEVEL_SHIFT(l + 1) is the table's is canonical, inside the
 *    space and outside its hole, and a va aligned to the entry's size
 *    with len that size is exactly one entry;
 *  - the hash is not searched: the cursor holds the table's entries and
 *    its descriptor (for the valid count);
 *  - what the one-entry path refuses is refused here too: a call nested
 *    in a provider callback (op_cur), the reverse map (the cursor is
 *    never set with one), a debug hook, a map onto anything but an empty
 *    entry, an unmap of anything but an unlocked leaf or of its table's
 *    last entry, a protect of anything but a leaf; the caller checks the
 *    attributes and flags (only plain ones come here).
 * Whatever is refused goes on to the ordinary path with nothing changed.
 * The entry updates are one_map's, one_unmap's and one_change's in a
 * serial space: a new leaf by a release store (no MMU writes an empty
 * entry), a present one by CAS where an MMU may set Accessed or Dirty
 * (HT_AS_NOMMU: a release store, no writer but us), so the lookups that
 * other threads may run meanwhile read every entry whole.  The counts
 * are the one-entry path's, by a load and a store: only the one call in
 * the space changes the table's valid count and the space's leaves (in
 * shard 0, wc_pm_add).
 *
 * Locks: none.  The A/D sink and the TLB hook are called with none held.
 */
#ifndef HT_HAT_ONE_H
#define HT_HAT_ONE_H

#include "htable_int.h"
#include "x86pte.h"
#include "op.h"
#include "hook.h"

/*
 * The entry of the cursor's table for [va, va + len), with *r_l its
 * level, or NULL: no cursor there, not exactly one entry, or a call the
 * one-entry path leaves alone.
 */
static inline uint8_t *
wc_find(hat_t *hat, const mmu_t *m, uint64_t va, uint64_t len, int *r_l)
{
	int l = len == HT_PAGE_SIZE ? 0 : 1;
	const hat_wc_t *wc = &hat->hat_wc[l];

	if ((va >> LEVEL_SHIFT(m, l + 1)) != wc->wc_tag ||
	    len != LEVEL_SIZE(m, l) || (va & (len - 1)) != 0 ||
	    op_cur() != NULL)
		return (NULL);
#ifdef HT_DEBUG
	if (atomic_load_explicit(&debug_hook, memory_order_relaxed) != NULL)
		return (NULL);
#endif
	*r_l = l;
	return (wc->wc_ptes + ((size_t)((va >> LEVEL_SHIFT(m, l)) &
	    (m->ptes_per_table - 1)) << m->pte_shift));
}

/*
 * Add d to the space's leaves at level l: shard 0's count, by a load and
 * a store.  Shard 0 is also where threads beyond the owned shards add
 * atomically (op.h), but only calls that change this space add to its
 * counts, and those come one at a time.
 */
static inline void
wc_pm_add(hat_t *hat, int l, int d)
{
	_Atomic uint64_t *c = &hat->hat_pm[0].pm[l];

	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) +
	    (uint64_t)(int64_t)d, memory_order_relaxed);
}

/* Add d to ht's valid count: only this thread changes it (above). */
static inline void
wc_valid_add(htable_t *ht, int d)
{
	atomic_store_explicit(&ht->ht_valid_cnt, atomic_load_explicit(
	    &ht->ht_valid_cnt, memory_order_relaxed) + d,
	    memory_order_relaxed);
}

/*
 * Tell the TLBs that [va, va + len) changed: op_tlb_inval, whose first
 * test, inline, spares a no-MMU space with no soft TLB the call (the same
 * loads, after the entry was written, as op.c's).
 */
static inline void
one_tlb_inval(hat_t *hat, uint64_t va, uint64_t len)
{
	if (!(atomic_load(&hat->hat_flags) & HAT_NOMMU) ||
	    atomic_load(&hat->hat_stlbs) != NULL)
		op_tlb_inval(hat, va, len);
}

/*
 * After a one-entry unmap of old at [va, va + len), with no lock held:
 * tell the A/D sink what old had, and the TLB (only a referenced entry
 * can be in one, x86pte_inval).
 */
static inline void
one_unmapped(hat_t *hat, uint64_t va, uint64_t len, x86pte_t old,
    ht_ad_fn fn, void *arg)
{
	if (fn != NULL && (old & (PT_REF | PT_MOD)) != 0)
		fn(arg, va, len, ((old & PT_REF) ? HT_A : 0) |
		    ((old & PT_MOD) ? HT_D : 0));
	if (old & (PT_REF | PT_MOD))
		one_tlb_inval(hat, va, len);
}

/*
 * ht_map of one page of plain attributes (no HT_LOCKED, A/D or software
 * bits), flags 0: 1 when mapped, 0 when nothing changed.
 */
static inline int
wc_map(hat_t *hat, uint64_t va, ht_pa_t pa, uint64_t len, unsigned attr)
{
	const mmu_t *m = hat_mmu(hat);
	uint8_t *p;
	int l;

	if ((p = wc_find(hat, m, va, len, &l)) == NULL || !mmu_leaf_ok(m, l) ||
	    (pa & (len - 1)) != 0 || pa + (len - 1) >= m->pa_limit ||
	    (m->pte_size == 4 && l == 0 && pa + len > (1ull << 32)) ||
	    pte_load(m->pte_size, p) != 0)
		return (0);
	/* count first, as one_map: never empty with a leaf */
	wc_valid_add(hat->hat_wc[l].wc_ht, 1);
	pte_store(m->pte_size, p, mkpte(m, pa, l, attr));
	/* an empty entry is in no TLB: nothing to invalidate */
	wc_pm_add(hat, l, 1);
	return (1);
}

/* ht_unmap_ad of one leaf, flags 0: 1 when removed, 0 when nothing changed. */
static inline int
wc_unmap(hat_t *hat, uint64_t va, uint64_t len, ht_ad_fn fn, void *arg)
{
	const mmu_t *m = hat_mmu(hat);
	htable_t *ht;
	x86pte_t old, found;
	uint8_t *p;
	int l;

	if ((p = wc_find(hat, m, va, len, &l)) == NULL)
		return (0);
	ht = hat->hat_wc[l].wc_ht;
	old = pte_load(m->pte_size, p);
	/* the table's last entry: freeing it is the release path's (one_unmap) */
	if (!pte_is_page(old, l) || (old & PT_LOCKED) ||
	    (atomic_load_explicit(&ht->ht_valid_cnt, memory_order_relaxed) <=
	    1 && l < m->max_page_level))
		return (0);
	if (atomic_load_explicit(&hat->hat_flags, memory_order_relaxed) &
	    HAT_NOMMU)
		pte_store(m->pte_size, p, 0);
	else	/* only an MMU (or ht_access) sets A/D meanwhile */
		while ((found = pte_cas_raw(m->pte_size, p, old, 0)) != old)
			old = found;
	wc_valid_add(ht, -1);
	wc_pm_add(hat, l, -1);
	one_unmapped(hat, va, len, old, fn, arg);
	return (1);
}

/*
 * ht_protect (or chattr) of one leaf: (old & ~clr[l]) | set[l].  1 when
 * done, 0 when nothing changed and the ordinary path must look.
 */
static inline int
wc_change(hat_t *hat, uint64_t va, uint64_t len, const x86pte_t *clr,
    const x86pte_t *set)
{
	const mmu_t *m = hat_mmu(hat);
	x86pte_t old, new, found;
	uint8_t *p;
	int l;

	if ((p = wc_find(hat, m, va, len, &l)) == NULL ||
	    !pte_is_page(old = pte_load(m->pte_size, p), l))
		return (0);
	for (;;) {
		new = (old & ~clr[l]) | set[l];
		if (new == old)
			return (1);
		if (atomic_load_explicit(&hat->hat_flags,
		    memory_order_relaxed) & HAT_NOMMU) {
			pte_store(m->pte_size, p, new);
			break;
		}
		if ((found = pte_cas_raw(m->pte_size, p, old, new)) == old)
			break;
		old = found;	/* A/D set meanwhile: still a leaf */
	}
	one_tlb_inval(hat, va, len);
	return (1);
}

#endif /* HT_HAT_ONE_H */
