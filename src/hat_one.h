/*
 * hat_one.h - the front of the one-entry path in a serial space: its
 * write cursor (types.h, hat_wc_t).  The entry points (ht_map, ht_unmap,
 * ht_protect and the _ad ones) ask wc_on first and, when va falls in a
 * cursor's table, take wc_map / wc_unmap / wc_change before anything else.
 *
 * Theory of operation.  A serial space's changing calls come one at a
 * time (HT_AS_SERIAL), so the level-l table that the last one-entry call
 * found by hashing (one_find, hat_one.c) is still there at the next call,
 * unless a call in between took it out of the hash, which empties the
 * cursor (htable_hash_remove).  A call for one entry of that table goes
 * from the entry point straight to the entry:
 *  - the range checks are proved by the table itself: a va inside its
 *    span is canonical, inside the space and outside its hole, and a va
 *    aligned to the entry's size with len that size is exactly one entry;
 *  - the hash is not searched and the mmu_t not read: the cursor holds
 *    the table's entries, its descriptor (for the valid count) and what
 *    a leaf of its level needs of the geometry (wc_init);
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
 * the space changes the table's valid count (its part, ht_valid_lk) and
 * the space's leaves (in shard 0, wc_pm_add).
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
 * Fill in what hat's cursors need of the geometry, once, when the space
 * is made (hat.c): for each level, how a leaf there is made and bounded
 * (mkpte's simple form, which holds for every leaf whose last byte lies
 * below wc_pal).  The cursors stay empty (wc_span 0, as the space was
 * zeroed).
 */
static inline void
wc_init(hat_t *hat, const mmu_t *m)
{
	for (int l = 0; l < WC_LEVELS; l++) {
		hat_wc_t *wc = &hat->hat_wc[l];

		wc->wc_pm = &hat->hat_pm[0].pm[l];
		wc->wc_enc = m->enc[l != 0];
		wc->wc_amask = l == 0 ? m->paddr_mask : m->lgpg_mask &
		    m->level_mask[l];
		wc->wc_ps = l == 0 ? 0 : PT_PAGESIZE;
		/*
		 * 4-byte entries hold PA bits above 31 only in a large
		 * leaf, in bits 13..20 (mkpte): such leaves take the
		 * ordinary path.
		 */
		wc->wc_pal = !mmu_leaf_ok(m, l) ? 0 : m->pte_size == 4 &&
		    m->pa_limit > (1ull << 32) ? 1ull << 32 : m->pa_limit;
		wc->wc_shift = (uint8_t)LEVEL_SHIFT(m, l);
		wc->wc_pte_shift = (uint8_t)m->pte_shift;
	}
}

/*
 * Point hat's cursor of ht's level (below WC_LEVELS) at ht, a table of
 * ours that one_find just found, whose entries are at ptes.
 */
static inline void
wc_set(hat_t *hat, htable_t *ht, void *ptes)
{
	hat_wc_t *wc = &hat->hat_wc[ht->ht_level];

	wc->wc_base = ht->ht_vaddr;
	/* a whole table (levels 0 and 1 have one in every mode) */
	wc->wc_span = (uint64_t)(HT_PAGE_SIZE >> wc->wc_pte_shift) <<
	    wc->wc_shift;
	HT_ASSERT(wc->wc_span == LEVEL_SIZE(hat_mmu(hat), ht->ht_level + 1));
	wc->wc_ptes = ptes;
	wc->wc_ht = ht;
}

/*
 * Does va fall in the table of len's cursor?  The first test, so that a
 * call elsewhere (a random page; every call of a space that has no
 * cursor, which is every space but a serial one) pays two loads and a
 * branch before going on.
 */
static inline int
wc_on(const hat_t *hat, uint64_t va, uint64_t len)
{
	const hat_wc_t *wc = &hat->hat_wc[len != HT_PAGE_SIZE];

	return (va - wc->wc_base < wc->wc_span);
}

/*
 * The cursor for a one-entry call of [va, va + len), with *r_p its entry,
 * or NULL: not exactly one entry, or a call the one-entry path leaves
 * alone.  The caller has asked wc_on: va falls in the cursor's table.
 */
static inline const hat_wc_t *
wc_find(hat_t *hat, uint64_t va, uint64_t len, uint8_t **r_p)
{
	const hat_wc_t *wc = &hat->hat_wc[len != HT_PAGE_SIZE];
	uint64_t off = va - wc->wc_base;

	HT_ASSERT(off < wc->wc_span);
	/* a 4 KiB len picked level 0, whose entries map 4 KiB */
	HT_ASSERT(len != HT_PAGE_SIZE || wc->wc_shift == HT_PAGE_SHIFT);
	if ((len != HT_PAGE_SIZE && len != 1ull << wc->wc_shift) ||
	    (off & (len - 1)) != 0 || op_cur() != NULL)
		return (NULL);
#ifdef HT_DEBUG
	if (atomic_load_explicit(&debug_hook, memory_order_relaxed) != NULL)
		return (NULL);
#endif
	*r_p = wc->wc_ptes + ((off >> wc->wc_shift) << wc->wc_pte_shift);
	return (wc);
}

/*
 * Add d to the space's leaves at wc's level: shard 0's count (wc_pm, set
 * by wc_init), by a load and a store.  Shard 0 is also where threads
 * beyond the owned shards add atomically (op.h), but only calls that
 * change this space add to its counts, and those come one at a time.
 */
static inline void
wc_pm_add(const hat_wc_t *wc, int d)
{
	_Atomic uint64_t *c = wc->wc_pm;

	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) +
	    (uint64_t)(int64_t)d, memory_order_relaxed);
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
 * Is the leaf at level l the last entry of its table ht, whose removal
 * would free the table (htable.c, htable_keep: tables below the largest
 * page level go when empty)?  Freeing is the release path's business,
 * so the one-entry path and the cursor leave such an unmap to it.
 */
static inline int
one_last_leaf(const hat_t *hat, const htable_t *ht, int l)
{
	return (ht_valid(ht) <= 1 && l < hat_mmu(hat)->max_page_level);
}

/*
 * ht_map of one page of plain attributes (no HT_LOCKED, A/D or software
 * bits), flags 0: 1 when mapped, 0 when nothing changed.
 */
static inline int
wc_map(hat_t *hat, uint64_t va, ht_pa_t pa, uint64_t len, unsigned attr)
{
	const hat_wc_t *wc;
	uint8_t *p;

	/* pa aligned: its last byte does not wrap */
	if ((wc = wc_find(hat, va, len, &p)) == NULL ||
	    (pa & (len - 1)) != 0 || pa + (len - 1) >= wc->wc_pal)
		return (0);
	if (wc->wc_pte_shift == 3) {
		if (pte_load(8, p) != 0)
			return (0);
		/* count first, as one_map: never empty with a leaf */
		ht_valid_lk_add(wc->wc_ht, 1);
		pte_store(8, p, wc->wc_enc[attr] | wc->wc_ps |
		    (pa & wc->wc_amask));
	} else {
		if (pte_load(4, p) != 0)
			return (0);
		ht_valid_lk_add(wc->wc_ht, 1);
		pte_store(4, p, wc->wc_enc[attr] | wc->wc_ps |
		    (pa & wc->wc_amask));
	}
	/* an empty entry is in no TLB: nothing to invalidate */
	wc_pm_add(wc, 1);
	return (1);
}

/* ht_unmap_ad of one leaf, flags 0: 1 when removed, 0 when nothing changed. */
static inline int
wc_unmap(hat_t *hat, uint64_t va, uint64_t len, ht_ad_fn fn, void *arg)
{
	const hat_wc_t *wc;
	const int l = len != HT_PAGE_SIZE;
	x86pte_t old, found;
	htable_t *ht;
	uint8_t *p;
	int sz;

	if ((wc = wc_find(hat, va, len, &p)) == NULL)
		return (0);
	sz = 1 << wc->wc_pte_shift;
	old = pte_load(sz, p);
	ht = wc->wc_ht;
	if (!pte_is_page(old, l) || (old & PT_LOCKED) ||
	    one_last_leaf(hat, ht, l))
		return (0);
	if (atomic_load_explicit(&hat->hat_flags, memory_order_relaxed) &
	    HAT_NOMMU)
		pte_store(sz, p, 0);
	else	/* only an MMU (or ht_access) sets A/D meanwhile */
		while ((found = pte_cas_raw(sz, p, old, 0)) != old)
			old = found;
	ht_valid_lk_add(ht, -1);
	wc_pm_add(wc, -1);
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
	const int l = len != HT_PAGE_SIZE;
	const hat_wc_t *wc;
	x86pte_t old, new, found;
	uint8_t *p;
	int sz;

	if ((wc = wc_find(hat, va, len, &p)) == NULL)
		return (0);
	sz = 1 << wc->wc_pte_shift;
	if (!pte_is_page(old = pte_load(sz, p), l))
		return (0);
	for (;;) {
		new = (old & ~clr[l]) | set[l];
		if (new == old)
			return (1);
		if (atomic_load_explicit(&hat->hat_flags,
		    memory_order_relaxed) & HAT_NOMMU) {
			pte_store(sz, p, new);
			break;
		}
		if ((found = pte_cas_raw(sz, p, old, new)) == old)
			break;
		old = found;	/* A/D set meanwhile: still a leaf */
	}
	one_tlb_inval(hat, va, len);
	return (1);
}

#endif /* HT_HAT_ONE_H */
