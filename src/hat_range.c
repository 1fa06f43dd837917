/*
 * hat_range.c - the machinery every range operation shares: argument
 * checks, the census of what a range holds, splitting large pages that
 * stick out of it, clearing it, and the single-table fast path.
 *
 * A range operation runs in three steps so that a failure changes nothing:
 *  1. check the arguments and take the census (locked leaves, leaves to
 *     replace, large pages sticking out of the range);
 *  2. plan and take exactly the frames the operation needs
 *     (op_prealloc_tables): one per distinct table, named by (level, base VA),
 *     that it will create (plan_t).  The splits at the two edges create
 *     at most one table per level each, and fewer when both edges fall in
 *     one large page; a map's runs add the tables they lack that no split
 *     makes.  A table the plan finds present is pinned until the
 *     operation ends, so no other thread can free it and make the plan
 *     short.  Tables an operation frees are never counted: frees give
 *     frames back, and they come back only after the operation (deferred);
 *  3. change the tables, which can no longer fail.
 * range_prepare does steps 1 and 2 and the splits.  Each table is looked
 * up once per operation: the leaf iterator (iter.h) works on whole runs of
 * entries of a held table.
 *
 * Large pages that stick out of a range are split first: the new lower
 * table is filled with the equivalent small leaves (same frame offsets,
 * attributes, A/D and lock state) and then replaces the large leaf with
 * one compare-and-swap, so an MMU never sees a hole.  range_split_small
 * splits every large page of a range down to 4 KiB the same way (A/D
 * harvesting at 4 KiB, HT_AD_SPLIT); range_small_cost counts its tables.
 */
#include "iter.h"
#include "op.h"
#include "hat_range.h"
#include "rmap.h"
#include "frame.h"
#include "debug.h"
#include "lock.h"

/*
 * Common checks of [va, va + len): non-zero, page aligned, canonical, not
 * wrapping, not crossing the hole.  Sets *r_last.
 */
int
range_check(const mmu_t *m, uint64_t va, uint64_t len, uint64_t *r_last)
{
	uint64_t last = va + len - 1;

	*r_last = last;
	if (len == 0)
		return (ht__fail(HT_EINVAL, "zero length"));
	if ((va | len) & (HT_PAGE_SIZE - 1))
		return (ht__fail(HT_EALIGN, "va 0x%llx / length 0x%llx not "
		    "4 KiB aligned", (unsigned long long)va,
		    (unsigned long long)len));
	if (!m->has_hole && (va > m->va_last || last > m->va_last ||
	    last < va))
		return (ht__fail(HT_ERANGE, "range [0x%llx, +0x%llx) beyond "
		    "the %s", (unsigned long long)va, (unsigned long long)len,
		    mmu_space(m)));
	if (!mmu_va_ok(m, va))
		return (ht__fail(HT_ENONCANON, "va 0x%llx is not canonical",
		    (unsigned long long)va));
	if (last < va)
		return (ht__fail(HT_ERANGE, "range [0x%llx, +0x%llx) wraps "
		    "past the top", (unsigned long long)va,
		    (unsigned long long)len));
	if (!mmu_va_ok(m, last) || (m->has_hole && va < m->hole_start &&
	    last > m->hole_end))
		return (ht__fail(HT_ENONCANON, "range [0x%llx, +0x%llx) "
		    "enters the non-canonical hole", (unsigned long long)va,
		    (unsigned long long)len));
	return (0);
}

/* A walk's inclusive range [start, last]: 0 or -HT_ERANGE. */
int
walk_check(const mmu_t *m, uint64_t start, uint64_t last)
{
	/* the codes of range_check and ht_translate for the same faults */
	if (mmu_in_hole(m, start))
		return (ht__fail(HT_ENONCANON, "walk start 0x%llx is not "
		    "canonical", (unsigned long long)start));
	if (start > last || !mmu_va_ok(m, start) || last > mmu_va_last(m))
		return (ht__fail(HT_ERANGE, "bad walk range [0x%llx, 0x%llx]",
		    (unsigned long long)start, (unsigned long long)last));
	return (0);
}

/* ------------------------------------------------------------------ */
/* Splitting large pages                                               */
/* ------------------------------------------------------------------ */

/*
 * Replace the large leaf at entry e of ht (held) by a table of equivalent
 * smaller leaves.  0 on success or when the leaf changed under us (the
 * caller looks again); -HT_ENOFRAME/-HT_ENOMEM.
 */
static int
split_large(hat_t *hat, htable_t *ht, unsigned e)
{
	ht_ctx_t *ctx = hat->hat_ctx;
	const mmu_t *m = hat_mmu(hat);
	int level = ht->ht_level;
	uint64_t va = htable_e2va(ht, e);
	x86pte_t old = x86pte_get(ht, e), found;
	htable_t *new;
	bucket_lock_t *mtx;
	unsigned n;
	int err = 0;

	if (!pte_is_page(m, old, level) || level == 0)
		return (0);
	new = htable_alloc(hat, va, level - 1, NULL, &err);
	if (new == NULL)
		return (err);
	n = htable_num_ptes(new);
	for (;;) {
		ht_pa_t pa = pte_pa(m, old, level);
		uint64_t step = LEVEL_SIZE(m, level - 1);
		uint8_t *base = new->ht_ptr;

		for (unsigned i = 0; i < n; i++)
			pte_store(m->pte_size, pte_ptr(m->pte_shift, base, i),
			    pte_demote(m, old, level, pa + i * step));
		ht_valid_set(new, (int32_t)n);
		atomic_store(&new->ht_lock_cnt, (old & m->pt_locked) ? n : 0);

		htable_acquire(ht);	/* the child's hold on its parent */
		mtx = htable_lock(new);
		found = x86pte_cas(ht, e, old, mkptp(m, new->ht_pfn, level));
		if (found == old)
			break;
		mutex_exit(mtx);
		htable_release(ht);
		if (!pte_is_page(m, found, level) ||
		    pte_pa(m, found, level) != pte_pa(m, old, level) ||
		    ((found ^ old) & ~(m->pt_ref | m->pt_mod)) != 0) {
			/* someone else changed it: give up, caller re-looks */
			ht_valid_set(new, 0);
			atomic_store(&new->ht_lock_cnt, 0);
			ptable_zero(new->ht_ptr);
			htable_unalloc(new);
			return (0);
		}
		old = found;	/* an MMU set A/D: carry them over */
	}
	new->ht_parent = ht;
	htable_hash_insert(new);
	mutex_exit(mtx);
	if (old & m->pt_locked)
		atomic_fetch_sub(&ht->ht_lock_cnt, 1);
	hat_pm_add(hat, level, -1);
	hat_pm_add(hat, level - 1, n);
	HATSTAT_INC(ctx, splits);
	/* The large translation may be cached; the small ones replace it. */
	op_tlb_inval(hat, va, LEVEL_SIZE(m, level));
	htable_release(new);
	return (0);
}

/*
 * The level of a large leaf that covers addr without starting there, or
 * 0 if none (nothing to split at this boundary); its PA in *r_pa.
 */
static int
straddle_level(hat_t *hat, uint64_t addr, ht_pa_t *r_pa)
{
	const mmu_t *m = hat_mmu(hat);
	unsigned e;
	htable_t *ht;
	int level;

	if (!mmu_va_ok(m, addr))
		return (0);
	ht = htable_getpage(hat, addr, &e);
	if (ht == NULL)
		return (0);
	level = ht->ht_level;
	if (r_pa != NULL)
		*r_pa = pte_pa(m, x86pte_get(ht, e), level);
	htable_release(ht);
	if (level == 0 || (addr & LEVEL_OFFSET(m, level)) == 0)
		return (0);
	return (level);
}

void
plan_init(plan_t *p)
{
	p->need = 0;
	p->nsplit = 0;
	p->seen = 0;
	p->absent = 0;
}

static int
plan_has_split(const plan_t *p, int level, uint64_t base)
{
	for (unsigned i = 0; i < p->nsplit; i++) {
		if (p->split_level[i] == level && p->split_base[i] == base)
			return (1);
	}
	return (0);
}

/*
 * The tables the split at addr creates: the large leaf that straddles
 * addr, at level L, becomes a level-(L - 1) table at addr's level-L
 * boundary; if addr is not aligned to the leaves of that table either, the
 * one holding addr is split in turn, and so on down.  A table already in
 * the plan (the other edge in the same large page) is not counted twice.
 * A 4 MiB page above 4 GiB cannot be split in 32-bit paging (4 KiB entries
 * hold 32-bit addresses): -HT_EPABITS.
 */
static int
plan_split(hat_t *hat, plan_t *p, uint64_t addr)
{
	const mmu_t *m = hat_mmu(hat);
	ht_pa_t pa = 0;
	int level = straddle_level(hat, addr, &pa);

	if (level != 0 && m->pte_size == 4 && pa + LEVEL_SIZE(m, level) >
	    (1ull << 32))
		return (ht__fail(HT_EPABITS, "cannot split the 4 MiB page at "
		    "pa 0x%llx: 4 KiB pages of 32-bit paging end at 4 GiB",
		    (unsigned long long)pa));
	for (int l = level; l > 0 && (addr & LEVEL_OFFSET(m, l)) != 0; l--) {
		uint64_t base = addr & LEVEL_MASK(m, l);

		if (plan_has_split(p, l - 1, base))
			continue;
		HT_VERIFY(p->nsplit < PLAN_MAX_SPLIT);
		p->split_level[p->nsplit] = l - 1;
		p->split_base[p->nsplit] = base;
		p->nsplit++;
		p->need++;
	}
	return (0);
}

int
plan_edges(hat_t *hat, plan_t *p, uint64_t va, uint64_t last)
{
	int err = plan_split(hat, p, va);

	if (err == 0 && last + 1 != 0)
		err = plan_split(hat, p, last + 1);
	return (err);
}

int
plan_table(hat_t *hat, op_t *op, plan_t *p, int level, uint64_t base,
    int *r_absent)
{
	htable_t *ht;

	/* Neighbouring runs share their tables at the boundary. */
	if (((p->seen >> level) & 1) && p->last_base[level] == base) {
		*r_absent = (p->absent >> level) & 1;
		return (0);
	}
	p->seen |= 1u << level;
	p->last_base[level] = base;
	p->absent &= ~(1u << level);
	*r_absent = 0;
	if ((ht = htable_lookup(hat, base, level)) != NULL)
		return (op_pin(op, ht));
	/*
	 * Missing: made by a split at an edge (its children may be splits
	 * too, so the caller looks at them), or created by the run.
	 */
	if (!plan_has_split(p, level, base)) {
		p->need++;
		p->absent |= 1u << level;
		*r_absent = 1;
	}
	return (0);
}

void
plan_subtree(plan_t *p, const mmu_t *m, int top, int level, uint64_t lo,
    uint64_t hi)
{
	for (int l = level; l <= top; l++) {
		uint64_t step = LEVEL_SIZE(m, l + 1);
		uint64_t first = lo & ~(step - 1), last = hi & ~(step - 1);
		uint64_t n = (last - first) / step + 1;

		/* the first one may be the last one of the run before */
		if (((p->seen >> l) & 1) && p->last_base[l] == first)
			n--;
		p->need += n;
		p->seen |= 1u << l;
		p->absent |= 1u << l;
		p->last_base[l] = last;
	}
}

/* Split until no large leaf straddles addr. */
static int
split_at(hat_t *hat, uint64_t addr)
{
	while (straddle_level(hat, addr, NULL) != 0) {
		unsigned e;
		htable_t *ht = htable_getpage(hat, addr, &e);
		int err;

		if (ht == NULL)
			return (0);
		err = split_large(hat, ht, e);
		htable_release(ht);
		if (err != 0)
			return (err);
	}
	return (0);
}

int
split_edges(hat_t *hat, uint64_t va, uint64_t last)
{
	int err = split_at(hat, va);

	if (err == 0 && last + 1 != 0)
		err = split_at(hat, last + 1);
	return (err);
}

/* ------------------------------------------------------------------ */
/* Unmap                                                               */
/* ------------------------------------------------------------------ */

/*
 * range_census's count of the leaves of one table, from the iterator's
 * leaf to the end of the table or the range, or up to a link: one load
 * and one present test per entry (sz a constant) instead of a step of
 * the iterator; the iterator is left on the last leaf counted, so that
 * iter_next goes on from there and descends the link as usual.
 */
static inline __attribute__((always_inline)) void
census_run(iter_t *it, uint64_t *r_leaves, uint64_t *r_locked, const int sz)
{
	const uint8_t *base = it->it_base;
	const int level = it->it_level;
	unsigned e = it->it_entry, end = iter_run_end(it), at = e;
	const mmu_t *m = hat_mmu(it->it_hat);
	const x86pte_t lk = m->pt_locked;
	x86pte_t pte = it->it_pte;
	uint64_t leaves = 1, locked = (pte & lk) != 0;

	for (unsigned f = e + 1; f <= end; f++) {
		x86pte_t next = pte_load(sz, base + (size_t)f * (size_t)sz);

		if (!pte_valid(m, next))
			continue;
		if (!pte_is_page(m, next, level))
			break;		/* a link: iter_next descends it */
		leaves++;
		locked += (next & lk) != 0;
		at = f;
		pte = next;
	}
	*r_leaves += leaves;
	*r_locked += locked;
	iter_seek(it, at, it->it_va + (uint64_t)(at - e) * it->it_size, pte);
}

/*
 * What is in [va, last]: the locked leaves, exactly, and the leaves --
 * exactly with `exact`, otherwise only "none" (0) or "some" (> 0).  Without
 * `exact` a level-0 table whose lock count is 0 is left after its first
 * leaf, so the census of a full range costs one look per table, not per
 * page.  (A higher table is never left early: its lock count says nothing
 * of the tables below it.)
 */
void
range_census(hat_t *hat, uint64_t va, uint64_t last, int exact,
    uint64_t *r_leaves, uint64_t *r_locked)
{
	iter_t it;

	*r_leaves = *r_locked = 0;
	for_each_leaf(&it, hat, va, last) {
		if (!exact && it.it_level == 0 &&
		    atomic_load_explicit(&it.it_ht->ht_lock_cnt,
		    memory_order_relaxed) == 0) {
			(*r_leaves)++;
			iter_skip_table(&it);
		} else if (it.it_sz == 8) {
			census_run(&it, r_leaves, r_locked, 8);
		} else {
			census_run(&it, r_leaves, r_locked, 4);
		}
	}
	iter_stop(&it);
}

/* Remove every leaf in [va, last]; the edges are already split. */
void
range_clear(hat_t *hat, uint64_t va, uint64_t last)
{
	iter_t it;

	for_each_leaf(&it, hat, va, last) {
		uint64_t from = it.it_va;

		(void) iter_bulk(&it, 0, 0, 1);
		/* while the iterator holds the table: see rmap.c */
		rmap_op_set(hat, from, it.it_va + (it.it_size - 1), RMAP_NONE);
	}
	iter_stop(&it);
}

/*
 * The first two steps of a range operation: take the census and, if
 * anything is mapped, reserve the frames for the edge splits and do them.
 * Leaves the census in *r_leaves / *r_locked (see range_census; exact for
 * unlock).  The caller checks the census between the steps through
 * `check`, which returns 0 or an error that stops before any change.
 */
int
range_prepare(hat_t *hat, op_t *op, uint64_t va, uint64_t last,
    int exact, int (*check)(uint64_t leaves, uint64_t locked, void *arg),
    void *arg, uint64_t *r_leaves)
{
	uint64_t leaves, locked;
	plan_t plan;
	int err;

	range_census(hat, va, last, exact, &leaves, &locked);
	*r_leaves = leaves;
	if (check != NULL && (err = check(leaves, locked, arg)) != 0)
		return (err);
	if (leaves == 0)
		return (0);
	/* Only the splits create tables: the pass changes leaves in place. */
	plan_init(&plan);
	err = plan_edges(hat, &plan, va, last);
	if (err == 0)
		err = op_prealloc_tables(op, plan.need);
	if (err == 0)
		err = split_edges(hat, va, last);
	return (err);
}

/*
 * The part of a present entry of a level-`level` table that keeps it out
 * of a run (one_table): a link (present, above level 0, no PS) or, with
 * lk the lock bit, a locked leaf; 0 for an empty entry or a leaf that may
 * join.  pres is the format's present bits: the negated test is all ones
 * for a present entry, 0 otherwise.
 */
static inline x86pte_t
run_bad(x86pte_t pte, int level, x86pte_t pres, x86pte_t lk)
{
	return (-(x86pte_t)((pte & pres) != 0) &
	    ((level > 0 ? ~pte & PT_PAGESIZE : 0) | (pte & lk)));
}

/*
 * Are entries [e, e + n) of ht, held, one run that a single change may
 * take whole: no link and, unless locked_ok, no locked leaf?  Each entry
 * is read once and the answer branches once, at the end (a bulk unmap or
 * protect of a whole table reads the table twice: this pass, and the
 * update's).  Often nothing needs reading.  No level-0 entry is a link,
 * and above level 0 a table that only the caller holds has none either:
 * each child holds its parent from before its link is written until
 * after it is cleared (link_ptp, unlink_ptp).  No locked leaf is there
 * with locked_ok, or while the table counts none: its lock count changes
 * with its entries' PT_LOCKED.  A lock or a table racing with this call
 * (an overlapping call, whose order the caller owns) may land before or
 * after the check either way, as with the read below; a link that lands
 * after it stops the update there (pte_range_update).
 */
static int
run_plain(const htable_t *ht, unsigned e, unsigned n, int locked_ok)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);
	const int level = ht->ht_level;
	const x86pte_t pres = m->pt_present;
	const x86pte_t lk = locked_ok ? 0 : m->pt_locked;
	const void *p = x86pte_access_pagetable((htable_t *)ht, e);
	x86pte_t bad = 0;

	if ((locked_ok || atomic_load_explicit(&ht->ht_lock_cnt,
	    memory_order_relaxed) == 0) && (level == 0 || BUSY(ht) == 1))
		return (1);
	if (pte_sz(ht) == 8) {
		for (unsigned i = 0; i < n; i++)
			bad |= run_bad(atomic_load_explicit(
			    (const _Atomic uint64_t *)p + i,
			    memory_order_relaxed), level, pres, lk);
	} else {
		for (unsigned i = 0; i < n; i++)
			bad |= run_bad(atomic_load_explicit(
			    (const _Atomic uint32_t *)p + i,
			    memory_order_relaxed), level, pres, lk);
	}
	return (bad == 0);
}

/*
 * The single-table fast path (a VMM's fault path maps and unmaps a page at
 * a time): when [va, last] lies inside one existing level-`level` table
 * and every entry there is empty or a leaf of that level (not a link, not
 * locked unless `locked_ok`), the operation needs no census walk, no
 * frames and no splits.  Returns that table, held, or NULL: take the
 * general path.  *r_e is the first entry, *r_n the number of entries.
 */
htable_t *
one_table(hat_t *hat, uint64_t va, uint64_t last, int level, int locked_ok,
    unsigned *r_e, unsigned *r_n)
{
	const mmu_t *m = hat_mmu(hat);
	htable_t *ht;
	unsigned e, n;

	if (level < hat->hat_max_level && (va >> LEVEL_SHIFT(m, level + 1)) !=
	    (last >> LEVEL_SHIFT(m, level + 1)))
		return (NULL);
	if ((ht = htable_lookup(hat, va, level)) == NULL)
		return (NULL);
	e = htable_va2entry(va, ht);
	n = (unsigned)((last - va) >> LEVEL_SHIFT(m, level)) + 1;
	if (!run_plain(ht, e, n, locked_ok)) {
		htable_release(ht);
		return (NULL);
	}
	*r_e = e;
	*r_n = n;
	return (ht);
}

htable_t *
one_table_any(hat_t *hat, uint64_t va, uint64_t last, int locked_ok,
    unsigned *r_e, unsigned *r_n)
{
	const mmu_t *m = hat_mmu(hat);
	htable_t *ht = one_table(hat, va, last, 0, locked_ok, r_e, r_n);

	/* a range of whole large pages: the table that holds them */
	for (int l = 1; ht == NULL && l <= m->max_page_level; l++) {
		if (!mmu_leaf_ok(m, l) || ((va | (last + 1)) &
		    LEVEL_OFFSET(m, l)) != 0)
			break;
		ht = one_table(hat, va, last, l, locked_ok, r_e, r_n);
	}
	return (ht);
}

/*
 * Change the leaves of entries [e, e + n) of ht (held) to f(old): 0
 * removes.  The counts and the TLB range are applied once; the hold is
 * dropped (which frees the table if it became empty and unused).
 */
void
table_update(htable_t *ht, unsigned e, unsigned n, x86pte_t clr,
    x86pte_t set, int unmap)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);
	int nvalid = 0, nlock = 0, tlb;
	unsigned lo = ~0u, hi = 0;
	ad_sink_t sink;
	const ad_sink_t *ad = unmap ? op_ad_sink(ht->ht_hat,
	    htable_e2va(ht, e), ht->ht_level, &sink) : NULL;

	uint8_t *base = x86pte_access_pagetable(ht, 0);
	int plain = nm_plain(ht->ht_hat);

	/*
	 * unmap a constant in each loop: its counts then stay in registers
	 * (a locked CAS waits for every store before it, so a count kept
	 * in memory would put a store on each entry's path).  The test is
	 * here and in iter_bulk, not inside pte_range_update: there it made
	 * unmap_4k about 5% slower (twice measured, old and new alternating).
	 */
	if (unmap)
		(void) pte_range_update(m, m->pte_size, base, ht->ht_level, e,
		    e + n - 1, clr, set, 1, plain, ad, &nvalid, &nlock, &lo,
		    &hi);
	else
		(void) pte_range_update(m, m->pte_size, base, ht->ht_level, e,
		    e + n - 1, clr, set, 0, plain, ad, &nvalid, &nlock, &lo,
		    &hi);
	tlb = lo <= hi;
	if (unmap)
		rmap_op_set(ht->ht_hat, htable_e2va(ht, e), htable_e2va(ht, e) +
		    (((uint64_t)n << LEVEL_SHIFT(m, ht->ht_level)) - 1),
		    RMAP_NONE);
	htable_apply(ht, nvalid, nvalid, nlock, tlb,
	    tlb ? htable_e2va(ht, lo) : 0,
	    tlb ? (uint64_t)(hi - lo + 1) << LEVEL_SHIFT(m, ht->ht_level) : 0);
	htable_release(ht);
}

/* ------------------------------------------------------------------ */
/* Splitting every large page of a range down to 4 KiB                 */
/* ------------------------------------------------------------------ */

/*
 * Tables created by splitting the level-`level` leaf at lva until every
 * page of it inside [va, last] is a 4 KiB leaf: one for the leaf itself,
 * plus the same count, one level down, for each of its pages that overlap
 * the range.  Only the first and the last of those can stick out; the
 * ones between are wholly inside and all cost the same.
 */
static uint64_t
small_cost(const mmu_t *m, int level, uint64_t lva, uint64_t va,
    uint64_t last)
{
	uint64_t lend = lva + (LEVEL_SIZE(m, level) - 1);
	uint64_t lo = lva > va ? lva : va, hi = lend < last ? lend : last;
	uint64_t size, c0, c1, n;

	if (level == 0)
		return (0);
	size = LEVEL_SIZE(m, level - 1);
	c0 = lo & ~(size - 1);
	c1 = hi & ~(size - 1);
	n = 1 + small_cost(m, level - 1, c0, va, last);
	if (c1 != c0)
		n += small_cost(m, level - 1, c1, va, last);
	if (c1 - c0 > size)
		n += ((c1 - c0) / size - 1) * small_cost(m, level - 1,
		    c0 + size, c0 + size, c0 + 2 * size - 1);
	return (n);
}

/*
 * The exact number of frames range_split_small(va, last) takes: a split
 * makes one table, and the tables it makes are new, so no count depends
 * on what else exists.  0 or -HT_EPABITS (a 4 MiB page above 4 GiB of
 * 32-bit paging cannot become 4 KiB pages).
 */
int
range_small_cost(hat_t *hat, uint64_t va, uint64_t last, uint64_t *r_n)
{
	const mmu_t *m = hat_mmu(hat);
	iter_t it;
	int err = 0;

	*r_n = 0;
	for_each_leaf(&it, hat, va, last) {
		ht_pa_t pa = pte_pa(m, it.it_pte, it.it_level);

		if (it.it_level == 0) {
			iter_skip_table(&it);	/* all 4 KiB here */
			continue;
		}
		if (m->pte_size == 4 && pa + it.it_size > (1ull << 32)) {
			err = ht__fail(HT_EPABITS, "cannot split the 4 MiB "
			    "page at va 0x%llx (pa 0x%llx): 4 KiB pages of "
			    "32-bit paging end at 4 GiB",
			    (unsigned long long)it.it_va,
			    (unsigned long long)pa);
			break;
		}
		*r_n += small_cost(m, it.it_level, it.it_va, va, last);
	}
	iter_stop(&it);
	return (err);
}

/*
 * Split every large leaf in [va, last] until the range holds only 4 KiB
 * leaves; the parts of a leaf outside the range stay as large as they
 * can (a 1 GiB leaf sticking out leaves 2 MiB leaves outside).  Each
 * split starts the walk again at the split leaf (or at va), since the
 * iterator's table changed under it; what lies before is 4 KiB already.
 * The frames are reserved (range_small_cost); 0 or what split_large
 * returns when they were not.
 */
int
range_split_small(hat_t *hat, uint64_t va, uint64_t last)
{
	uint64_t from = va;
	iter_t it;
	int err = 0;

	while (err == 0) {
		iter_start(&it, hat, from, last);
		while (!it.it_done && it.it_level == 0) {
			iter_skip_table(&it);
			iter_next(&it);
		}
		if (it.it_done)
			break;
		from = it.it_va > va ? it.it_va : va;
		err = split_large(hat, it.it_ht, it.it_entry);
		iter_stop(&it);
	}
	return (err);
}

/* ------------------------------------------------------------------ */
/* Non-present data entries (hat_np.c): finding and clearing them      */
/* ------------------------------------------------------------------ */

int
np_tables(hat_t *hat, uint64_t va, uint64_t last, np_table_fn fn, void *arg)
{
	const mmu_t *m = hat_mmu(hat);
	int rc = 0;

	while (rc == 0) {
		htable_t *ht = NULL;
		uint64_t next;
		int l;

		/* down from the root's children: the first missing table */
		for (l = hat->hat_max_level - 1; l >= 0; l--) {
			if ((ht = htable_lookup(hat, va, l)) == NULL)
				break;
			if (l > 0)
				htable_release(ht);
		}
		if (l < 0) {
			uint64_t tlast = ht->ht_vaddr + LEVEL_SIZE(m, 1) - 1;

			if (atomic_load(&ht->ht_lock_cnt) != 0)
				rc = fn(ht, htable_va2entry(va, ht),
				    htable_va2entry(last < tlast ? last : tlast,
				    ht), arg);
			htable_release(ht);
			l = 0;
		}
		/* the region of the missing (or visited) table is done */
		next = mmu_next_va(m, va, l + 1);
		if (next == 0 || next <= va || next > last)
			break;
		va = next;
	}
	return (rc);
}

static int
np_clear_table(htable_t *ht, unsigned lo, unsigned hi, void *arg)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);
	uint8_t *base = x86pte_access_pagetable(ht, 0);
	int n = 0;

	(void) arg;
	for (unsigned e = lo; e <= hi; e++) {
		void *p = pte_ptr(m->pte_shift, base, e);

		if (pte_is_np(m, pte_load(m->pte_size, p), 0)) {
			pte_store(m->pte_size, p, 0);
			n++;
		}
	}
	if (n != 0) {
		atomic_fetch_sub(&ht->ht_valid_cnt, n);
		atomic_fetch_sub(&ht->ht_lock_cnt, (uint32_t)n);
	}
	return (0);
}

void
np_clear(hat_t *hat, uint64_t va, uint64_t last)
{
	(void) np_tables(hat, va, last, np_clear_table, NULL);
}
