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
#include "rmap.h"
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
		wc->wc_bad = m->fast_bad;
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
 * f(hat, l, args...) with l the constant level of a one-entry call of
 * len bytes: 0 for 4 KiB, else 1 (wc_find and mw_find check len against
 * it).  Each level then gets its own straight code, with the level's
 * cursor at a fixed offset in the space.
 */
#define ONE_AT_LEVEL(f, hat, len, ...)					\
	((len) == HT_PAGE_SIZE ? f((hat), 0, __VA_ARGS__) :		\
	f((hat), 1, __VA_ARGS__))

/* Is [va, va + len) exactly one entry of a level-l table? */
static inline __attribute__((always_inline)) int
wc_one(const hat_t *hat, const int l, uint64_t va, uint64_t len)
{
	return ((l == 0 || len == 1ull << hat->hat_wc[l].wc_shift) &&
	    (va & (len - 1)) == 0);
}

/* The va of entry 0 of the level-l table that holds va. */
static inline uint64_t
wc_tbase(const hat_t *hat, const int l, uint64_t va)
{
	const hat_wc_t *wc = &hat->hat_wc[l];

	/* the table's span: its entries times what each maps */
	return (va & ~(((uint64_t)HT_PAGE_SIZE >> wc->wc_pte_shift <<
	    wc->wc_shift) - 1));
}

/*
 * The cursor for a one-entry call of [va, va + len) at level l, with *r_p
 * its entry, or NULL: not exactly one entry, or a call the one-entry path
 * leaves alone.  The caller has asked wc_on: va falls in the cursor's
 * table.
 */
static inline __attribute__((always_inline)) const hat_wc_t *
wc_find(hat_t *hat, const int l, uint64_t va, uint64_t len, uint8_t **r_p)
{
	const hat_wc_t *wc = &hat->hat_wc[l];
	uint64_t off = va - wc->wc_base;

	HT_ASSERT(off < wc->wc_span);
	/* a 4 KiB len picked level 0, whose entries map 4 KiB */
	HT_ASSERT(l != 0 || wc->wc_shift == HT_PAGE_SHIFT);
	/* the table is aligned to its span: off is aligned as va is */
	if (!wc_one(hat, l, va, len) || op_cur() != NULL)
		return (NULL);
#ifdef HT_DEBUG
	if (atomic_load_explicit(&debug_hook, memory_order_relaxed) != NULL)
		return (NULL);
#endif
	*r_p = wc->wc_ptes + ((off >> wc->wc_shift) << wc->wc_pte_shift);
	return (wc);
}

/*
 * A serial space's call that misses its cursor: point the level-l cursor
 * at the table that holds va, found by hash as one_find finds it (no
 * lock: only the caller's thread changes the space's hash and tables,
 * hat_one.c), so that wc_map / wc_unmap / wc_change can take the call.
 * 1 when the cursor now covers va; 0 with nothing changed when the call
 * is not one entry of such a table, or one the path leaves alone (the
 * reverse map, the top level, shared and copied tables).  For random
 * pages this is the serial twin of the multi-writer front (below).  The
 * entry points call it from a function of its own (map_ws, unmap_ws,
 * protect_ws), so that a cursor hit keeps its values in argument
 * registers.
 */
static inline __attribute__((always_inline)) int
wc_seek(hat_t *hat, const int l, uint64_t va, uint64_t len)
{
	uint64_t base;
	ht_hash_t *t;
	htable_t *ht;

	if (!wc_one(hat, l, va, len) || l >= hat->hat_max_level ||
	    rmap_on(hat->hat_ctx))
		return (0);
	base = wc_tbase(hat, l, va);
	t = htable_hash_cur(hat);
	ht = htable_hash_search(*htable_head(t, htable_hash(hat, t, base, l)),
	    base, l);
	if (ht == NULL || (ht->ht_flags & (HTABLE_SHARED_PFN |
	    HTABLE_COPIED)))
		return (0);
	wc_set(hat, ht, ht->ht_ptr);
	return (1);
}

/*
 * Does the caller serialize the calls that change hat (HT_AS_SERIAL)?
 * Then no other writer and no stealer is in its tables while we are, and
 * the one-entry path takes no lock: the caller's ordering of its calls
 * is the lock.
 */
static inline int
wc_serial(const hat_t *hat)
{
	return ((atomic_load_explicit(&hat->hat_flags, memory_order_relaxed) &
	    HAT_SERIAL) != 0);
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
	const mmu_t *m = hat_mmu(hat);
	unsigned ad = pte_ad(m, old);

	if (fn != NULL && ad != 0)
		fn(arg, va, len, ad);
	if (pte_cached(m, old))
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
 * The one-entry paths' writes of a present leaf: p is its entry (sz
 * bytes) at level l, old its value read under the path's lock or in a
 * serial space.  plain: no MMU and no other writer (HAT_NOMMU in a serial
 * space, nm_plain), so a store; else a CAS, again while an MMU sets A or
 * D under us.
 */

/*
 * The leaf becomes (old & ~clr[l]) | set[l]: 1 when it changed, 0 when it
 * was that already or stopped being a leaf meanwhile (an overlapping
 * call's split, whose tables the general path covers).
 */
static inline __attribute__((always_inline)) int
one_change_leaf(const mmu_t *m, void *p, int sz, int l, x86pte_t old,
    const x86pte_t *clr, const x86pte_t *set, int plain)
{
	for (;;) {
		x86pte_t new = (old & ~clr[l]) | set[l], found;

		if (new == old)
			return (0);
		if (plain) {
			pte_store(sz, p, new);
			return (1);
		}
		if ((found = pte_cas_raw(sz, p, old, new)) == old)
			return (1);
		if (!pte_is_page(m, found, l))
			return (0);	/* gone under an overlapping call */
		old = found;
	}
}

/*
 * The leaf is cleared: returns the value cleared, with the A/D bits an
 * MMU left in it (final: x86pte.h), or 0 with nothing changed when it
 * became anything but itself with more A/D bits meanwhile (a split's
 * link, a lock, another page or other rights from an overlapping call:
 * the general path's business).  A CAS, not an exchange, so that a link
 * is never cleared here.
 */
static inline __attribute__((always_inline)) x86pte_t
one_clear_leaf(const mmu_t *m, void *p, int sz, x86pte_t old, int plain)
{
	x86pte_t found;

	if (plain) {
		pte_store(sz, p, 0);
		return (old);
	}
	while ((found = pte_cas_raw(sz, p, old, 0)) != old) {
		if ((found ^ old) & ~(m->pt_ref | m->pt_mod))
			return (0);
		old = found;
	}
	return (old);
}

/*
 * ht_map of one page of plain attributes (no HT_LOCKED, A/D or software
 * bits), flags 0, at level l: 1 when mapped, 0 when nothing changed.
 */
static inline __attribute__((always_inline)) int
wc_map(hat_t *hat, const int l, uint64_t va, ht_pa_t pa, uint64_t len,
    unsigned attr)
{
	const hat_wc_t *wc;
	uint8_t *p;

	/* pa aligned: its last byte does not wrap */
	if ((wc = wc_find(hat, l, va, len, &p)) == NULL ||
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
	if (l != 0)
		hat_leaf_level_note(hat, l);
	wc_pm_add(wc, 1);
	return (1);
}

/*
 * ht_unmap_ad of one leaf at level l, flags 0: 1 when removed, 0 when
 * nothing changed.
 */
static inline __attribute__((always_inline)) int
wc_unmap(hat_t *hat, const int l, uint64_t va, uint64_t len, ht_ad_fn fn,
    void *arg)
{
	const mmu_t *m = hat_mmu(hat);
	const hat_wc_t *wc;
	x86pte_t old;
	htable_t *ht;
	uint8_t *p;
	int sz;

	if ((wc = wc_find(hat, l, va, len, &p)) == NULL)
		return (0);
	sz = 1 << wc->wc_pte_shift;
	old = pte_load(sz, p);
	ht = wc->wc_ht;
	if (!pte_is_page(m, old, l) || (old & m->pt_locked) ||
	    one_last_leaf(hat, ht, l))
		return (0);
	/* only an MMU (or ht_access) sets A/D meanwhile */
	if ((old = one_clear_leaf(m, p, sz, old, (atomic_load_explicit(
	    &hat->hat_flags, memory_order_relaxed) & HAT_NOMMU) != 0)) == 0)
		return (0);
	ht_valid_lk_add(ht, -1);
	wc_pm_add(wc, -1);
	one_unmapped(hat, va, len, old, fn, arg);
	return (1);
}

/*
 * ht_protect (or chattr) of one leaf at level l: (old & ~clr[l]) |
 * set[l].  1 when done, 0 when nothing changed and the ordinary path must
 * look.
 */
static inline __attribute__((always_inline)) int
wc_change(hat_t *hat, const int l, uint64_t va, uint64_t len,
    const x86pte_t *clr, const x86pte_t *set)
{
	const mmu_t *m = hat_mmu(hat);
	const hat_wc_t *wc;
	x86pte_t old;
	uint8_t *p;
	int sz;

	if ((wc = wc_find(hat, l, va, len, &p)) == NULL)
		return (0);
	sz = 1 << wc->wc_pte_shift;
	if (!pte_is_page(m, old = pte_load(sz, p), l))
		return (0);
	/* only an MMU sets A/D meanwhile: it stays a leaf */
	if (one_change_leaf(m, p, sz, l, old, clr, set, (atomic_load_explicit(
	    &hat->hat_flags, memory_order_relaxed) & HAT_NOMMU) != 0))
		one_tlb_inval(hat, va, len);
	return (1);
}

/*
 * The front of the one-entry path in a space that several threads may
 * change (neither HAT_SERIAL nor HAT_NOMMU): ht_map, ht_unmap, ht_protect
 * and the _ad ones try it first, as a serial space tries its cursor.  It
 * does one_map's, one_unmap's and one_change's work with what a call of
 * one entry needs and nothing else: the table by hash under its chain
 * lock (the call's one locked instruction on a map), its entry, the
 * counts.  What the general entry spends first (a frame and saved
 * registers for every case, the range and argument checks, the no-MMU
 * hold, the mmu_t behind the context) the front takes from the cursors'
 * geometry in the space itself (hat_wc_t, wc_init), and the table proves
 * the rest: a level-l table of this space that covers va exists only if
 * va is canonical, inside the space and outside its hole; the top level
 * (l here only in 32-bit paging) is left alone, as one_find leaves it.
 *
 * The front never waits: a chain lock that is held, or a hash that grew
 * meanwhile, sends the call the general way, which waits.  Its own path
 * then calls nothing before the lock is let go, so no value lives across
 * a call (map_mw saves five registers for the hash and the entry, and
 * sets up no frame), and each level (a constant l, ONE_AT_LEVEL) gets its
 * own straight code.
 * What the one-entry path refuses the front refuses too, with nothing
 * changed, and the general entry runs as if it had not been asked.
 * Lock order: one bucket lock, nothing under it; the A/D sink and the
 * TLB hook run after it is let go.
 */
static inline int
mw_on(const hat_t *hat)
{
	return ((atomic_load_explicit(&hat->hat_flags, memory_order_relaxed) &
	    (HAT_SERIAL | HAT_NOMMU)) == 0);
}

/*
 * The entry of the one-entry call of [va, va + len) at level l, with its
 * table's chain locked: *r_ht, *r_mtx and *r_wc (the level's geometry)
 * set; NULL with nothing locked when the front does not take the call
 * (not one entry of a table that exists, what one_find refuses, or a
 * lock that is held).
 */
static inline __attribute__((always_inline)) uint8_t *
mw_find(hat_t *hat, const int l, uint64_t va, uint64_t len,
    const hat_wc_t **r_wc, htable_t **r_ht, bucket_lock_t **r_mtx)
{
	const hat_wc_t *wc = &hat->hat_wc[l];
	uint64_t base;
	htable_t **slot;
	htable_t *ht;

	if (!wc_one(hat, l, va, len) || l >= hat->hat_max_level ||
	    op_cur() != NULL || atomic_load_explicit(&hat->hat_nshared_in,
	    memory_order_relaxed) != 0 || rmap_on(hat->hat_ctx))
		return (NULL);
#ifdef HT_DEBUG
	if (atomic_load_explicit(&debug_hook, memory_order_relaxed) != NULL)
		return (NULL);
#endif
	base = wc_tbase(hat, l, va);
	HT_ASSERT(!mmu_va_ok(hat_mmu(hat), va) ||
	    base == htable_base(hat, va, l));
	if ((*r_mtx = htable_chain_tryenter(hat, base, l, &slot)) == NULL)
		return (NULL);
	ht = htable_hash_search(*slot, base, l);
	if (ht == NULL || (ht->ht_flags & (HTABLE_SHARED_PFN |
	    HTABLE_COPIED))) {
		mutex_exit(*r_mtx);
		return (NULL);
	}
	*r_wc = wc;
	*r_ht = ht;
	return (ht->ht_ptr + ((va - base) >> wc->wc_shift << wc->wc_pte_shift));
}

/*
 * one_map by the front: one page of plain attributes (the caller checked
 * them and the flags, wc_map_args) into an empty entry at level l.  1
 * when mapped, 0 when nothing changed.
 */
static inline __attribute__((always_inline)) int
mw_map(hat_t *hat, const int l, uint64_t va, ht_pa_t pa, uint64_t len,
    unsigned attr)
{
	const hat_wc_t *wc;
	bucket_lock_t *mtx;
	htable_t *ht;
	x86pte_t new, old;
	uint8_t *p;
	int sz;

	/* pa aligned: its last byte does not wrap */
	if ((pa & (len - 1)) != 0 || pa + (len - 1) >= hat->hat_wc[l].wc_pal ||
	    (p = mw_find(hat, l, va, len, &wc, &ht, &mtx)) == NULL)
		return (0);
	sz = 1 << wc->wc_pte_shift;
	new = wc->wc_enc[attr] | wc->wc_ps | (pa & wc->wc_amask);
	/* count first, as one_map: never empty with a leaf */
	ht_valid_lk_add(ht, 1);
	/*
	 * As one_map: at level 0 an empty entry is filled only under this
	 * lock, so a plain store; above it a split may link a table here
	 * meanwhile, so a CAS.
	 */
	if (l == 0) {
		if ((old = pte_load(sz, p)) == 0)
			pte_store(sz, p, new);
	} else {
		old = pte_cas_raw(sz, p, 0, new);
	}
	if (HT_UNLIKELY(old != 0)) {
		ht_valid_lk_add(ht, -1);
		mutex_exit(mtx);
		return (0);	/* something is there: the general path */
	}
	mutex_exit(mtx);
	/* an empty entry is in no TLB: nothing to invalidate */
	hat_pm_add(hat, l, 1);
	return (1);
}

/*
 * one_unmap by the front, flags 0: 1 when the leaf that is exactly
 * [va, va + len) at level l is removed (fn told of its A/D bits), 0 when
 * nothing changed.
 */
static inline __attribute__((always_inline)) int
mw_unmap(hat_t *hat, const int l, uint64_t va, uint64_t len, ht_ad_fn fn,
    void *arg)
{
	const mmu_t *m = hat_mmu(hat);
	const hat_wc_t *wc;
	bucket_lock_t *mtx;
	htable_t *ht;
	x86pte_t old;
	uint8_t *p;
	int sz;

	if ((p = mw_find(hat, l, va, len, &wc, &ht, &mtx)) == NULL)
		return (0);
	sz = 1 << wc->wc_pte_shift;
	old = pte_load(sz, p);
	/* only an unlocked leaf, and not the one that would free its table */
	if (!pte_is_page(m, old, l) || (old & m->pt_locked) ||
	    one_last_leaf(hat, ht, l))
		goto refuse;
	if ((old = one_clear_leaf(m, p, sz, old, 0)) == 0)
		goto refuse;	/* changed under us: general path */
	ht_valid_lk_add(ht, -1);
	mutex_exit(mtx);
	hat_pm_add(hat, l, -1);
	one_unmapped(hat, va, len, old, fn, arg);
	return (1);
refuse:
	mutex_exit(mtx);
	return (0);
}

/*
 * one_change by the front: the leaf that is exactly [va, va + len) at
 * level l becomes (old & ~clr[l]) | set[l].  1 when done, 0 when nothing
 * changed and the general path must look.
 */
static inline __attribute__((always_inline)) int
mw_change(hat_t *hat, const int l, uint64_t va, uint64_t len,
    const x86pte_t *clr, const x86pte_t *set)
{
	const mmu_t *m = hat_mmu(hat);
	const hat_wc_t *wc;
	bucket_lock_t *mtx;
	htable_t *ht;
	x86pte_t old;
	uint8_t *p;
	int sz, changed;

	if ((p = mw_find(hat, l, va, len, &wc, &ht, &mtx)) == NULL)
		return (0);
	sz = 1 << wc->wc_pte_shift;
	if (!pte_is_page(m, old = pte_load(sz, p), l)) {
		mutex_exit(mtx);
		return (0);
	}
	changed = one_change_leaf(m, p, sz, l, old, clr, set, 0);
	mutex_exit(mtx);
	if (changed)
		one_tlb_inval(hat, va, len);
	return (1);
}

#endif /* HT_HAT_ONE_H */
