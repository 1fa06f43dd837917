/*
 * walk.c - finding leaves: htable_next_valid inside one table, htable_next_leaf across
 * a range, and the point queries htable_getpte / htable_getpage.
 *
 * Below a table that a sharer borrows from its source (HTABLE_SHARED_PFN)
 * the sharer has no descriptors: the walk goes on in the source's tables
 * (next_leaf_shared), and hands back the source's table with the leaf's
 * VA in the sharer's addresses.  Only readers get there: every call that
 * writes is refused over a shared region (share.c).
 *
 * htable_next_leaf skips empty subtrees without reading them: when no table
 * exists at level l for va and no leaf can exist above max_mapped_level
 * (the highest level with a non-zero leaf count), the whole level-(l+1)
 * region around va is empty, so va jumps past it.  All ranges here are
 * inclusive ([va, elast]) so that the last page of the 64-bit space can be
 * named; a jump that wraps past the top ends the walk.
 */
#include "htable_int.h"
#include "x86pte.h"
#include "debug.h"

/*
 * htable_next_valid: the first valid entry of ht at or after *vap (rounded down
 * to the table's page size) whose VA is <= elast.  Returns it with *vap set
 * to its VA, or 0 with *vap set to the first VA after the table (0 if that
 * wraps) or past elast.
 */
x86pte_t
htable_next_valid(htable_t *ht, uint64_t *vap, uint64_t elast)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);
	unsigned level = (unsigned)ht->ht_level;
	unsigned n = htable_num_ptes(ht);
	unsigned e = htable_va2entry(*vap, ht);
	int sz = (ht->ht_flags & HTABLE_COPIED) ? 8 : m->pte_size;
	int shift = (ht->ht_flags & HTABLE_COPIED) ? 3 : m->pte_shift;
	uint8_t *base = x86pte_access_pagetable(ht, 0);
	uint64_t va;

	for (; e < n; e++) {
		va = htable_e2va(ht, e);
		if (va > elast)
			break;
		if (!pte_present(m, base + ((size_t)e << shift)))
			continue;
		*vap = va;
		return (pte_load(sz, base + ((size_t)e << shift)));
	}
	if (e >= n)
		va = ht->ht_level == ht->ht_hat->hat_max_level ? 0 :
		    mmu_next_va(m, ht->ht_vaddr, (int)level + 1);
	else
		va = htable_e2va(ht, e);
	*vap = va;
	return (0);
}

static int
max_mapped_level(hat_t *hat)
{
	const mmu_t *m = hat_mmu(hat);
	unsigned seen;

	/*
	 * A sharer counts none of the leaves of its regions, and finds no
	 * descriptor below a shared link: no level may be skipped for it.
	 */
	if (atomic_load_explicit(&hat->hat_nshared_in, memory_order_relaxed))
		return (hat->hat_max_level);
	if (atomic_load(&hat->hat_flags) & HAT_SHARED)
		return (m->max_page_level);
	/* only levels that ever held a leaf: the sums read every shard */
	seen = atomic_load_explicit(&hat->hat_leaf_levels,
	    memory_order_relaxed);
	for (int l = m->max_page_level; l > 0; l--) {
		if (((seen >> l) & 1) && hat_pm_get(hat, l) != 0)
			return (l);
	}
	return (0);
}

/*
 * The next leaf at or after *vap and <= elast below the links of sh, a
 * sharer's descriptor of a source's table (held, released here): the
 * walk goes on in the source's tables, whose addresses are ours moved by
 * the table's offset, and is bounded by the table's span.  Returns the
 * leaf with *vap its VA (ours) and *htp its table (the source's, held);
 * or 0 with *vap the first VA after the span (0 if that wraps).
 */
static x86pte_t
next_leaf_shared(htable_t *sh, htable_t **htp, uint64_t *vap, uint64_t elast)
{
	htable_t *src = sh->ht_shares;
	uint64_t off = src->ht_vaddr - sh->ht_vaddr;	/* mod 2^64 */
	uint64_t last = htable_last_page(sh);
	uint64_t sva = *vap + off, next = last + HT_PAGE_SIZE;
	htable_t *ht = NULL;
	x86pte_t pte;

	/* a sharer shares in and never out: this never nests (share.c) */
	HT_ASSERT(!(src->ht_flags & HTABLE_SHARED_PFN));
	htable_release(sh);
	if (elast < last)
		last = elast;
	pte = htable_next_leaf(src->ht_hat, &ht, &sva, last + off);
	if (pte != 0) {
		*vap = sva - off;
		*htp = ht;
		return (pte);
	}
	*vap = next;
	return (0);
}

/*
 * htable_next_leaf: the next leaf at or after *vap and <= elast.  *htp may carry
 * a held table from the previous call; it is reused or released.  Returns
 * the leaf with *vap its VA and *htp its table (held), or 0 with *vap = 0
 * and *htp = NULL (nothing held).
 */
x86pte_t
htable_next_leaf(hat_t *hat, htable_t **htp, uint64_t *vap, uint64_t elast)
{
	const mmu_t *m = hat_mmu(hat);
	htable_t *ht = *htp;
	uint64_t va = *vap;
	x86pte_t pte;
	int mml;

	*htp = NULL;
	if (ht != NULL) {
		/*
		 * Fast path: the next leaf is often in the same table (not
		 * when it is a source's, whose addresses are not ours).
		 */
		if (ht->ht_hat == hat && va >= ht->ht_vaddr &&
		    va <= htable_last_page(ht)) {
			pte = htable_next_valid(ht, &va, elast);
			if (pte_is_page(m, pte, ht->ht_level)) {
				*vap = va;
				*htp = ht;
				return (pte);
			}
			if (va == 0) {
				htable_release(ht);
				*vap = 0;
				return (0);
			}
		}
		htable_release(ht);
	}

	mml = max_mapped_level(hat);
	/* A caller stepping past the lower half lands in the hole. */
	if (mmu_in_hole(m, va))
		va = m->hole_end + 1;
	while (va <= elast) {
		uint64_t before = va;
		int l;

		for (l = 0; l <= hat->hat_max_level; l++) {
			ht = htable_lookup(hat, va, l);
			if (ht != NULL) {
				pte = htable_next_valid(ht, &va, elast);
				if (pte_is_page(m, pte, l)) {
					HT_ASSERT(!mmu_in_hole(m, va));
					*vap = va;
					*htp = ht;
					return (pte);
				}
				if (pte != 0 &&
				    (ht->ht_flags & HTABLE_SHARED_PFN)) {
					/* below a shared table: the source's */
					if (va < before)
						va = before;
					pte = next_leaf_shared(ht, htp, &va,
					    elast);
					if (pte != 0) {
						*vap = va;
						return (pte);
					}
					if (va == 0)
						goto done;
					break;
				}
				htable_release(ht);
				/*
				 * An empty scan moves va past the table, so
				 * it is only <= before when it wrapped past
				 * the top of the space: done.
				 */
				if (pte == 0 && va <= before)
					goto done;
				break;	/* a link, or nothing: from level 0 */
			}
			if (l >= mml) {
				/* Nothing can be mapped in the whole
				 * level-(l+1) region around va. */
				va = mmu_next_va(m, va, l + 1);
				if (va == 0 || va > elast)
					goto done;
			}
		}
		HT_ASSERT(l <= hat->hat_max_level);	/* root always found */
		if (va < before)
			break;		/* wrapped past the top */
	}
done:
	*vap = 0;
	return (0);
}

/*
 * htable_getpte: the lowest existing table (levels 0..level) covering
 * vaddr, held, with the entry index and value; NULL if none.
 */
htable_t *
htable_getpte(hat_t *hat, uint64_t vaddr, unsigned *r_entry, x86pte_t *r_pte,
    int level)
{
	HT_ASSERT(level <= hat_mmu(hat)->max_page_level ||
	    level == hat->hat_max_level);
	for (int l = 0; l <= level; l++) {
		htable_t *ht = htable_lookup(hat, vaddr, l);
		unsigned e;

		if (ht == NULL)
			continue;
		e = htable_va2entry(vaddr, ht);
		if (r_entry != NULL)
			*r_entry = e;
		if (r_pte != NULL)
			*r_pte = x86pte_get(ht, e);
		return (ht);
	}
	return (NULL);
}

/* htable_getpage: the table holding a leaf that maps vaddr, held, or NULL. */
htable_t *
htable_getpage(hat_t *hat, uint64_t vaddr, unsigned *r_entry)
{
	x86pte_t pte;
	unsigned e;
	htable_t *ht = htable_getpte(hat, vaddr, &e, &pte,
	    hat_mmu(hat)->max_page_level);

	if (ht == NULL)
		return (NULL);
	if (!pte_is_page(hat_mmu(hat), pte, ht->ht_level)) {
		htable_release(ht);
		return (NULL);
	}
	if (r_entry != NULL)
		*r_entry = e;
	return (ht);
}
