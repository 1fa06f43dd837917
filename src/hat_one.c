/*
 * hat_one.c - the one-entry path: ht_map, ht_unmap and ht_protect of a
 * range that is exactly one entry of a table that exists (a VMM's EPT
 * violation, an emulator's or a kernel's page fault: one page per call).
 *
 * Theory of operation.  The general path holds the table (htable_lookup,
 * a bucket mutex pair), opens an operation frame, changes the entry,
 * applies the counts and releases the hold (a second mutex pair); the
 * frame delivers the TLB invalidation at the end.  For one entry all of
 * that collapses: the work is done while holding the table's bucket
 * mutex, which is exactly what keeps a table alive without a hold:
 *  - a table is freed or stolen only under its bucket mutex (htable.c
 *    invariant 4, steal.c), so while we hold it the table, its frame and
 *    its descriptor stay;
 *  - the counts (valid, and the space's leaves per level) are applied
 *    before the mutex is let go, so a releaser or a stealer that takes
 *    the mutex next sees them exact, as it would after a holder's
 *    htable_apply;
 *  - holders on the general path change other entries of the same table
 *    meanwhile (they do not take the mutex): every change of ours to a
 *    present entry is a CAS; the valid count has a part of ours
 *    (ht_valid_lk, types.h) that only callers under the mutex change, by
 *    a load and a store, beside theirs, which they change by atomic adds;
 *    an empty level-0 entry is filled only under the mutex (by us and by
 *    fill_leaves), so there a plain store is enough.  The bucket lock's
 *    CAS is then the call's one locked instruction on a map (lock.h: it
 *    lets go by a store), and the entry's CAS the second on an unmap or
 *    a protect where an MMU may set A/D.
 * What the mutex cannot cover goes to the general path before anything
 * changes (the return value 0): a call nested in a provider callback (its
 * TLB work belongs to the outer operation), the reverse map (it takes
 * its extents before the change, under a lock of its own), a debug hook set
 * (the hook points promise that no library lock is held), a table that
 * would become empty (freeing is the release path's business), a
 * replaced or locked leaf, a link where a leaf was expected, shared and
 * copied tables, and the top level (CPU roots copy its entries).
 * After the mutex is dropped, with no library lock held, the A/D sink and
 * the TLB hook are called directly: there is no operation to batch into.
 *
 * A serial space (HT_AS_SERIAL) takes no mutex at all.  Everything the
 * mutex keeps out is kept out by the caller's promise or by the space's
 * flags: the calls that change the space, walk it (a walker's release
 * may free a table) or audit it come one at a time; no stealer or reaper
 * visits it (it is HAT_NOSTEAL); no other space shares with it
 * (share_insert), so no other space's release frees its tables.  So its
 * hash chains, tables and counts change only in the call running now.
 * What remains is the MMU: a present entry still changes by CAS where
 * one may set A/D, and with no MMU (nm_plain: in a serial space the
 * no-MMU lock is skipped too, nommu.c) by a plain store.  The lookups
 * that may run meanwhile take no lock and read entries that are written
 * whole.  one_find also makes the table it found at level 0 or 1 the
 * space's write cursor, so that the next call in that table goes
 * straight to its entry (hat_one.h).
 *
 * In a live space that several threads change, the entry points try the
 * front first (hat_one.h, mw_map / mw_unmap / mw_change): the same work
 * as one_map / one_unmap / one_change for a table that exists, reached
 * without the general entry's frame and checks, and a lock that is held
 * sends the call here instead.  What the front does not take comes here
 * (and then to the general path) with nothing changed.
 *
 * Lock order: one bucket mutex, nothing under it.  No callback runs under
 * it.
 */
#include "htable_int.h"
#include "x86pte.h"
#include "op.h"
#include "rmap.h"
#include "hat_range.h"
#include "hat_one.h"
#include "hook.h"
#include "lock.h"

/*
 * Can the one-entry path run for hat at all?  Not nested (op_cur), not
 * with the reverse map, not while a test's debug hook is set.
 */
static inline int
one_ok(const hat_t *hat)
{
#ifdef HT_DEBUG
	if (atomic_load_explicit(&debug_hook, memory_order_relaxed) != NULL)
		return (0);
#endif
	return (op_cur() == NULL && !rmap_on(hat->hat_ctx));
}

/* Let go of what one_find took (nothing in a serial space). */
static inline void
one_exit(bucket_lock_t *mtx)
{
	if (mtx != NULL)
		mutex_exit(mtx);
}

/*
 * The level whose single entry is [va, va + len), or -1.  `levels`: the
 * leaf levels allowed (bit l), already filtered by the caller.
 */
static inline int
one_level(const mmu_t *m, uint64_t va, uint64_t len, unsigned levels)
{
	if (len == HT_PAGE_SIZE)
		return ((levels & 1) ? 0 : -1);
	for (int l = 1; l <= m->max_page_level; l++) {
		if (len == LEVEL_SIZE(m, l))
			return ((levels & (1u << l)) && mmu_leaf_ok(m, l) &&
			    (va & LEVEL_OFFSET(m, l)) == 0 ? l : -1);
	}
	return (-1);
}

/*
 * Find the level-`level` table holding va and lock its bucket lock.
 * Returns a pointer to va's entry with *r_ht and *r_mtx set and the lock
 * held, or NULL with nothing locked (no such table, or one the path must
 * leave alone: shared and copied tables, the top level).
 */
static inline void *
one_find(hat_t *hat, uint64_t va, int level, htable_t **r_ht,
    bucket_lock_t **r_mtx)
{
	uint64_t base;
	bucket_lock_t *mtx;
	htable_t **slot;
	htable_t *ht;
	void *ptes;

	if (level >= hat->hat_max_level)
		return (NULL);
	base = htable_base(hat, va, level);
	if (!wc_serial(hat)) {
		mtx = htable_chain_enter(hat, base, level, &slot);
	} else {
		/* only this thread grows a serial space's hash */
		mtx = NULL;
		slot = htable_head(htable_hash_cur(hat), htable_hash(hat,
		    htable_hash_cur(hat), base, level));
	}
	ht = htable_hash_search(*slot, base, level);
	if (ht == NULL || (ht->ht_flags & (HTABLE_SHARED_PFN |
	    HTABLE_COPIED))) {
		one_exit(mtx);
		return (NULL);
	}
	*r_ht = ht;
	*r_mtx = mtx;
	ptes = x86pte_access_pagetable(ht, 0);
	if (mtx == NULL && level < WC_LEVELS)
		wc_set(hat, ht, ptes);	/* serial: the next call skips the hash */
	return (pte_ptr(hat_mmu(hat)->pte_shift, ptes,
	    htable_va2entry(va, ht)));
}

/*
 * For unmap and change: the present leaf that is exactly [va, va + len),
 * with its table's lock held: returns its entry, with *r_ht, *r_mtx, *r_l
 * (its level) and *r_old (its value) set; NULL with nothing locked when
 * the path cannot run or something else is there (nothing, a link, np
 * data: the general path knows what to do with those).
 */
static inline void *
one_leaf(hat_t *hat, uint64_t va, uint64_t len, htable_t **r_ht,
    bucket_lock_t **r_mtx, int *r_l, x86pte_t *r_old)
{
	const mmu_t *m = hat_mmu(hat);
	void *p;
	int l;

	if (!one_ok(hat) || (l = one_level(m, va, len, m->leaf_levels)) < 0 ||
	    (p = one_find(hat, va, l, r_ht, r_mtx)) == NULL)
		return (NULL);
	*r_old = pte_load(m->pte_size, p);
	if (!pte_is_page(m, *r_old, l)) {
		one_exit(*r_mtx);
		return (NULL);
	}
	*r_l = l;
	return (p);
}

int
one_map(hat_t *hat, uint64_t va, ht_pa_t pa, uint64_t len, unsigned attr,
    unsigned levels)
{
	const mmu_t *m = hat_mmu(hat);
	bucket_lock_t *mtx;
	htable_t *ht;
	x86pte_t new;
	void *p;
	int l;

	if (!one_ok(hat) || (attr & HT_LOCKED) ||
	    (l = one_level(m, va, len, levels)) < 0 ||
	    (pa & LEVEL_OFFSET(m, l)) != 0 ||
	    (m->pte_size == 4 && l == 0 && pa + len > (1ull << 32)))
		return (0);
	new = mkpte(m, pa, l, attr);
	if ((p = one_find(hat, va, l, &ht, &mtx)) == NULL)
		return (0);
	/*
	 * Count first, so that the table is never seen empty with a leaf
	 * (only the general path can see it: it does not take the lock).
	 */
	ht_valid_lk_add(ht, 1);
	if (l == 0) {
		/*
		 * A plain store: at level 0 an empty entry becomes non-zero
		 * only under this lock (here and in fill_leaves; new tables
		 * are filled before they are linked), and no MMU writes an
		 * empty entry.  Unlike a `lock cmpxchg`, the store does not
		 * wait for the table's line when it is not in the cache.
		 */
		if (pte_load(m->pte_size, p) == 0) {
			pte_store(m->pte_size, p, new);
			goto done;
		}
	} else if (pte_cas_raw(m->pte_size, p, 0, new) == 0) {
		/* above level 0 a split may put a link here meanwhile */
		goto done;
	}
	ht_valid_lk_add(ht, -1);
	one_exit(mtx);
	return (0);	/* something is there: replace on the general path */
done:
	one_exit(mtx);
	/* an empty entry is in no TLB: nothing to invalidate */
	hat_pm_add(hat, l, 1);
	return (1);
}

int
one_unmap(hat_t *hat, uint64_t va, uint64_t len, ht_ad_fn fn, void *arg)
{
	const mmu_t *m = hat_mmu(hat);
	bucket_lock_t *mtx;
	htable_t *ht;
	x86pte_t old;
	void *p;
	int l;

	if ((p = one_leaf(hat, va, len, &ht, &mtx, &l, &old)) == NULL)
		return (0);
	/* only an unlocked leaf, and not the one that would free its table */
	if ((old & m->pt_locked) || one_last_leaf(hat, ht, l)) {
		one_exit(mtx);
		return (0);
	}
	/*
	 * Above level 0 an overlapping call may split the leaf meanwhile
	 * (its link is made under the new table's lock, not ours): the
	 * CAS of one_clear_leaf never clears a link.
	 */
	if ((old = one_clear_leaf(m, p, m->pte_size, old,
	    nm_plain(hat))) == 0) {
		one_exit(mtx);
		return (0);	/* changed under us: general path */
	}
	ht_valid_lk_add(ht, -1);
	one_exit(mtx);
	hat_pm_add(hat, l, -1);
	one_unmapped(hat, va, len, old, fn, arg);
	return (1);
}

int
one_change(hat_t *hat, uint64_t va, uint64_t len, const x86pte_t *clr,
    const x86pte_t *set)
{
	const mmu_t *m = hat_mmu(hat);
	bucket_lock_t *mtx;
	htable_t *ht;
	x86pte_t old;
	void *p;
	int l, changed;

	if ((p = one_leaf(hat, va, len, &ht, &mtx, &l, &old)) == NULL)
		return (0);
	/* as pte_range_update; plain with no MMU and no other writer */
	changed = one_change_leaf(m, p, m->pte_size, l, old, clr, set,
	    nm_plain(hat));
	one_exit(mtx);
	if (changed)
		one_tlb_inval(hat, va, len);
	return (1);
}
