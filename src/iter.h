/*
 * iter.h - the one iterator over the leaves of a range (STYLE: every walk
 * goes through it; compare KVM's tdp_iter).
 *
 * iter_t visits, in ascending VA order, every valid leaf in [va, last]
 * of a hat.  Inside one table it scans entries directly; between tables it
 * calls htable_next_leaf, which skips empty subtrees.  It holds the current
 * table (illumos hold rules) and releases it when it moves on or stops.
 *
 * Writers change leaves with iter_cas (the current one) or iter_bulk
 * (from the current one to the end of the table, the range, or the next
 * link) and record nothing else: the iterator accumulates the valid, lock
 * and page count changes and the TLB range of the current table, and
 * applies them once when it leaves the table, before it releases its hold
 * (so an emptied table is freed by that release).
 *
 *	iter_t it;
 *	for (iter_start(&it, hat, va, last); !it.it_done;
 *	    iter_next(&it))
 *		... it.it_va, it.it_level, it.it_pte ...
 *	iter_stop(&it);	(also after breaking out early)
 */
#ifndef HT_ITER_H
#define HT_ITER_H

#include "htable_int.h"
#include "x86pte.h"
#include "hook.h"
#include "op.h"
#include "debug.h"

typedef struct iter {
	hat_t		*it_hat;
	const mmu_t	*it_m;		/* hat_mmu(it_hat) */
	uint64_t	it_last;	/* inclusive end of the range */
	htable_t	*it_ht;		/* held table of the current leaf */
	uint8_t		*it_base;	/* its entries */
	unsigned	it_n;		/* entries in it */
	unsigned	it_entry;	/* index of the current leaf */
	int		it_level;
	int		it_sz;		/* entry size */
	int		it_shift;
	uint64_t	it_va;		/* VA of the current leaf */
	uint64_t	it_size;	/* its size */
	x86pte_t	it_pte;		/* snapshot of the current leaf */
	int		it_done;
	/* pending bookkeeping of it_ht */
	int		it_dvalid;
	int		it_dlock;
	int		it_tlb_any;	/* a TLB range is pending */
	uint64_t	it_tlb_lo;
	uint64_t	it_tlb_last;	/* inclusive: the space's top page */
} iter_t;

void iter_start(iter_t *it, hat_t *hat, uint64_t va, uint64_t last);

/*
 * Every entry of one table that is not zero: links, leaves and np
 * entries alike (the leaf iterator passes over links and np entries).
 * For the code that must look at everything a table holds, audit and
 * import; ht is held or not yet visible, so entries are read once each
 * with the usual single-copy loads.
 *	entry_iter_t ei;
 *	for_each_entry(&ei, ht) { ... ei.e, ei.pte ... }
 */
typedef struct entry_iter {
	const uint8_t	*ei_base;
	unsigned	ei_n;
	int		ei_sz;
	unsigned	e;		/* the entry */
	x86pte_t	pte;		/* its value as read */
} entry_iter_t;

static inline void
entry_iter_start(entry_iter_t *ei, htable_t *ht)
{
	ei->ei_base = x86pte_access_pagetable(ht, 0);
	ei->ei_n = htable_num_ptes(ht);
	/* a copied root's entries are 8 bytes in every mode */
	ei->ei_sz = (ht->ht_flags & HTABLE_COPIED) ? 8 :
	    hat_mmu(ht->ht_hat)->pte_size;
	ei->e = ~0u;
}

static inline int
entry_iter_next(entry_iter_t *ei)
{
	while (++ei->e < ei->ei_n) {
		ei->pte = pte_load(ei->ei_sz, ei->ei_base + (size_t)ei->e *
		    (size_t)ei->ei_sz);
		if (ei->pte != 0)
			return (1);
	}
	return (0);
}

#define for_each_entry(ei, ht)						\
	for (entry_iter_start((ei), (ht)); entry_iter_next(ei); )

/*
 * The one loop over the leaves of [va, last] (KVM's for_each_tdp_pte):
 *	iter_t it;
 *	for_each_leaf(&it, hat, va, last) {
 *		... it.it_va, it.it_pte; iter_cas, iter_bulk, iter_skip_table
 *	}
 *	iter_stop(&it);
 * The body may break out; iter_stop settles the table's counts and TLB
 * range and drops the hold either way.
 */
#define for_each_leaf(it, hat, va, last)				\
	for (iter_start((it), (hat), (va), (last)); !(it)->it_done;	\
	    iter_next(it))
void iter_next_table(iter_t *it);
void iter_stop(iter_t *it);

static inline void *
iter_ptr(const iter_t *it)
{
	return (it->it_base + ((size_t)it->it_entry << it->it_shift));
}

/* Advance to the next leaf; stays inside the table while it can. */
static inline void
iter_next(iter_t *it)
{
	unsigned e = it->it_entry + 1;
	uint64_t va = it->it_va + it->it_size;

	for (; e < it->it_n && va > it->it_va && va <= it->it_last;
	    e++, va += it->it_size) {
		uint8_t *p = it->it_base + ((size_t)e << it->it_shift);

		if (!pte_present(it->it_m, p))
			continue;
		x86pte_t pte = pte_load(it->it_sz, p);
		if (!pte_is_page(it->it_m, pte, it->it_level))
			break;	/* a link: let htable_next_leaf descend */
		it->it_entry = e;
		it->it_va = va;
		it->it_pte = pte;
		return;
	}
	iter_next_table(it);
}

/*
 * For readers that take the leaves of a table in one loop of their own
 * (ht_walk): the last entry of the current table inside the range, and
 * iter_seek, which puts the iterator on entry e (VA va, value pte) that
 * the loop handled last.  Entries between the iterator's position and e
 * must have been passed over as iter_next would (not present, or leaves
 * the loop handled); the next iter_next goes on after e, so a link the
 * loop stopped before is descended as usual.
 */
static inline unsigned
iter_run_end(const iter_t *it)
{
	unsigned end = it->it_n - 1;
	uint64_t left = (it->it_last - it->it_va) >>
	    LEVEL_SHIFT(hat_mmu(it->it_hat), it->it_level);

	/* it_va <= it_last: entries past `left` lie beyond the range */
	return (left < end - it->it_entry ? it->it_entry + (unsigned)left :
	    end);
}

static inline void
iter_seek(iter_t *it, unsigned e, uint64_t va, x86pte_t pte)
{
	HT_ASSERT(e >= it->it_entry && e < it->it_n && va <= it->it_last);
	it->it_entry = e;
	it->it_va = va;
	it->it_pte = pte;
}

/* Leave the rest of the current table: the next iter_next moves on. */
static inline void
iter_skip_table(iter_t *it)
{
	it->it_va += (uint64_t)(it->it_n - 1 - it->it_entry) * it->it_size;
	it->it_entry = it->it_n - 1;
}

static inline void
iter_tlb(iter_t *it)
{
	uint64_t last = it->it_va + (it->it_size - 1);

	if (!it->it_tlb_any) {
		it->it_tlb_any = 1;
		it->it_tlb_lo = it->it_va;
		it->it_tlb_last = last;
	} else {
		if (it->it_va < it->it_tlb_lo)
			it->it_tlb_lo = it->it_va;
		if (last > it->it_tlb_last)
			it->it_tlb_last = last;
	}
}

/*
 * May the current table be written?  Not when it is a source's, reached
 * through a sharer's region (walk.c): writes through a sharer are refused
 * before they start (share.c), so a writer never gets there.
 */
static inline int
iter_writable(const iter_t *it)
{
	return (it->it_ht->ht_hat == it->it_hat &&
	    !(it->it_ht->ht_flags & HTABLE_SHARED_PFN));
}

/*
 * Replace the current leaf if it still equals it_pte.  Returns 1 on
 * success; 0 with it_pte refreshed when the leaf changed meanwhile (an
 * MMU set A/D, or an overlapping call changed it): the caller recomputes
 * and retries; -1 when it is no longer a leaf (an overlapping call
 * cleared it or put a link there): the caller leaves it alone, since a
 * value computed from it would be a non-zero entry that is not present.
 * tlb: the change must be invalidated.
 */
static inline int
iter_cas(iter_t *it, x86pte_t new, int tlb)
{
	x86pte_t found;

	HT_ASSERT(iter_writable(it));
	HT_HOOK(HT_HOOK_ITER_CAS, it);
	if (nm_plain(it->it_hat)) {
		/* no MMU, no other writer: the CAS, without the lock prefix */
		found = pte_load(it->it_sz, iter_ptr(it));
		if (found == it->it_pte)
			pte_store(it->it_sz, iter_ptr(it), new);
	} else {
		found = pte_cas_raw(it->it_sz, iter_ptr(it), it->it_pte, new);
	}
	if (found != it->it_pte) {
		it->it_pte = found;
		return (pte_is_page(it->it_m, found, it->it_level) ? 0 : -1);
	}
	it->it_dlock += (int)((new & it->it_m->pt_locked) != 0) -
	    (int)((found & it->it_m->pt_locked) != 0);
	if (tlb)
		iter_tlb(it);
	it->it_pte = new;
	return (1);
}

/*
 * Change the present leaf at p, loaded as *r_old, to 0 (unmap) or to
 * (old & ~clr) | set: plain, by a release store; else by CAS, again while
 * an MMU sets A/D.  1 with *r_old the value replaced; 0 when nothing
 * changed (already so, or the leaf went or became a link meanwhile: not
 * ours).
 */
static inline __attribute__((always_inline)) int
pte_change_leaf(const int sz, const int plain, const x86pte_t pres, void *p,
    int level, x86pte_t *r_old, x86pte_t clr, x86pte_t set, int unmap)
{
	x86pte_t old = *r_old, new, found;

	for (;;) {
		new = unmap ? 0 : (old & ~clr) | set;
		if (new == old)
			return (0);
		if (plain) {
			pte_store(sz, p, new);
			break;
		}
		found = pte_cas_raw(sz, p, old, new);
		if (found == old)
			break;
		if (!(found & pres) || (level > 0 && !(found & PT_PAGESIZE)))
			return (0);	/* gone, or a link: not ours */
		old = found;		/* A/D set, or changed: again */
	}
	*r_old = old;
	return (1);
}

/*
 * pte_range_update's loop, with the counts and the changed span in
 * registers until the end.  Where sz (4 or 8), plain and ad (NULL) are
 * constants at the call, the compiler makes one tight loop per entry
 * size and way of writing, with no sink test; a call with an A/D sink
 * takes one general copy.
 */
static inline __attribute__((always_inline)) unsigned
pte_range_run(const mmu_t *m, const int sz, const int plain, uint8_t *base,
    int level,
    unsigned e, unsigned end, x86pte_t clr, x86pte_t set, int unmap,
    const ad_sink_t *ad, int *dvalid, int *dlock, unsigned *lo,
    unsigned *hi)
{
	/* in registers: the stores below might alias *m for the compiler */
	const x86pte_t pres = m->pt_present, lk = m->pt_locked;
	unsigned first = ~0u, last = 0;
	int dv = 0, dl = 0;

	for (unsigned i = e; i <= end; i++) {
		void *p = base + (size_t)i * (size_t)sz;
		x86pte_t old = pte_load(sz, p);

		if (!(old & pres))
			continue;
		if (level > 0 && !(old & PT_PAGESIZE)) {
			end = i - 1;	/* i > e: the iterator sits on a leaf */
			break;
		}
		HT_HOOK(HT_HOOK_PTE_LOADED, p);
		if (!pte_change_leaf(sz, plain, pres, p, level, &old, clr, set,
		    unmap))
			continue;
		if (unmap) {
			if (ad != NULL)
				op_ad_report(ad, ad->ad_va + ((uint64_t)(i - e)
				    << ad->ad_shift), 1ull << ad->ad_shift, old);
			dv--;
			dl -= (old & lk) != 0;
		}
		first = first == ~0u ? i : first;
		last = i;
	}
	*dvalid += dv;
	*dlock += dl;
	if (first != ~0u) {
		*lo = first < *lo ? first : *lo;
		*hi = last > *hi ? last : *hi;
	}
	return (end);
}

/*
 * The tight loop under every bulk change of one table's leaves: entries
 * [e, end] of the table at `base` become 0 (unmap) or (old & ~clr) | set.
 * It stops before the first link to a lower table and returns the last
 * entry it handled (end when it met none).  Adds the valid and lock count
 * changes to *dvalid / *dlock and widens [*lo, *hi] to the entries that
 * changed.
 *
 * Every change, removal included, is a CAS from the value read (as the
 * seed's x86pte_inval): of two parties changing one entry at once (an
 * overlapping call, an MMU setting A/D) exactly one sees each old value.
 * So only the party whose CAS removed a leaf counts it (a plain store
 * after a load would let both count it, and a table would be freed with a
 * live leaf in it), and a change computed from a leaf never lands on an
 * entry someone else has just emptied ("invalid means zero").
 * ad (unmap only; NULL: none, and no cost) receives the A/D bits of each
 * leaf removed, from the value its removing CAS saw: they are final, since
 * no MMU sets A/D in an entry that is not present (see op.c).
 *
 * plain (nm_plain: this thread holds the no-MMU space's write lock): no
 * MMU and no other writer can change an entry between the load and the
 * write, so the write is a release store, and what the CAS would have
 * found is the value loaded (nommu.c).
 */
static inline unsigned
pte_range_update(const mmu_t *m, int sz, uint8_t *base, int level,
    unsigned e, unsigned end,
    x86pte_t clr, x86pte_t set, int unmap, int plain, const ad_sink_t *ad,
    int *dvalid, int *dlock, unsigned *lo, unsigned *hi)
{
#define	PTE_RUN(sz, plain, ad)	pte_range_run(m, sz, plain, base, \
	level, e, end, clr, set, unmap, ad, dvalid, dlock, lo, hi)
	/* no sink, the common case: one specialised loop per size and way */
	if (ad == NULL) {
		if (sz == 8)
			return (plain ? PTE_RUN(8, 1, NULL) :
			    PTE_RUN(8, 0, NULL));
		return (plain ? PTE_RUN(4, 1, NULL) : PTE_RUN(4, 0, NULL));
	}
	return (PTE_RUN(sz, plain, ad));
#undef PTE_RUN
}

/*
 * At a leaf: change every leaf from here to the end of the table or of
 * the range, or up to the next link to a lower table, in one pass (see
 * pte_range_update); record the bookkeeping as iter_cas does, and move
 * to the last entry handled, so that iter_next goes on with the link or
 * the next table.  Returns 1.
 */
static inline int
iter_bulk(iter_t *it, x86pte_t clr, x86pte_t set, int unmap)
{
	unsigned e = it->it_entry, end = it->it_n - 1, lo = ~0u, hi = 0;
	int shift = LEVEL_SHIFT(hat_mmu(it->it_hat), it->it_level);
	uint64_t left = (it->it_last - it->it_va) >> shift;
	ad_sink_t sink;
	const ad_sink_t *ad = unmap ? op_ad_sink(it->it_hat, it->it_va,
	    it->it_level, &sink) : NULL;

	HT_ASSERT(iter_writable(it));
	if (left < end - e)
		end = e + (unsigned)left;
	/* unmap a constant in each loop, as in table_update */
	if (unmap)
		end = pte_range_update(it->it_m, it->it_sz, it->it_base,
		    it->it_level, e, end, clr, set, 1, nm_plain(it->it_hat), ad,
		    &it->it_dvalid, &it->it_dlock, &lo, &hi);
	else
		end = pte_range_update(it->it_m, it->it_sz, it->it_base,
		    it->it_level, e, end, clr, set, 0, nm_plain(it->it_hat), ad,
		    &it->it_dvalid, &it->it_dlock, &lo, &hi);
	if (lo <= hi) {
		uint64_t va = it->it_va;

		/* iter_tlb records the leaf at it_va: the two ends */
		it->it_va = va + ((uint64_t)(lo - e) << shift);
		iter_tlb(it);
		it->it_va = va + ((uint64_t)(hi - e) << shift);
		iter_tlb(it);
		it->it_va = va;
	}
	it->it_va += (uint64_t)(end - e) << shift;
	it->it_entry = end;
	it->it_pte = 0;
	return (1);
}

#endif /* HT_ITER_H */
