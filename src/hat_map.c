/*
 * hat_map.c - changing an address space: map, unmap, protect, lock,
 * unlock, and Accessed/Dirty harvesting (what hat_i86.c does with htables).
 *
 * Every operation runs in three steps so that a failure changes nothing:
 *  1. check the arguments and read what is there (locked leaves, leaves
 *     to replace, large pages sticking out of the range);
 *  2. take every frame the operation can need (ht_op_prealloc);
 *  3. change the tables, which can no longer fail.
 * A range operation looks each table up once: the leaf iterator (iter.h)
 * and the map loop below work on whole runs of entries of a held table.
 *
 * Large pages that stick out of an unmap/protect/map range are split
 * first: the new lower table is filled with the equivalent small leaves
 * (same frame offsets, attributes, A/D and lock state) and then replaces
 * the large leaf with one compare-and-swap, so an MMU never sees a hole.
 */
#include "iter.h"
#include "hat.h"
#include "frame.h"
#include "debug.h"

#define ATTR_ALL	(HT_W | HT_U | HT_X | HT_G | HT_PWT | HT_PCD | HT_PAT)
#define ATTR_PROT	(HT_W | HT_U | HT_X)

/*
 * Common checks of [va, va + len): non-zero, page aligned, canonical, not
 * wrapping, not crossing the hole.  Sets *r_last.
 */
static int
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
	if (m->va_bits == 32 && (va > 0xffffffffull || last > 0xffffffffull ||
	    last < va))
		return (ht__fail(HT_ERANGE, "range [0x%llx, +0x%llx) beyond "
		    "the 4 GiB address space", (unsigned long long)va,
		    (unsigned long long)len));
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
	pthread_mutex_t *mtx;
	unsigned n;
	int err = 0;

	if (!pte_is_page(old, level) || level == 0)
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
		atomic_store(&new->ht_valid_cnt, (int32_t)n);
		atomic_store(&new->ht_lock_cnt, (old & PT_LOCKED) ? n : 0);

		htable_acquire(ht);	/* the child's hold on its parent */
		mtx = htable_mutex(new);
		(void) pthread_mutex_lock(mtx);
		found = x86pte_cas(ht, e, old, mkptp(m, new->ht_pfn, level));
		if (found == old)
			break;
		(void) pthread_mutex_unlock(mtx);
		htable_release(ht);
		if (!pte_is_page(found, level) ||
		    pte_pa(m, found, level) != pte_pa(m, old, level) ||
		    ((found ^ old) & ~(PT_REF | PT_MOD)) != 0) {
			/* someone else changed it: give up, caller re-looks */
			atomic_store(&new->ht_valid_cnt, 0);
			atomic_store(&new->ht_lock_cnt, 0);
			ptable_zero(new->ht_ptr);
			htable_unalloc(new);
			return (0);
		}
		old = found;	/* an MMU set A/D: carry them over */
	}
	new->ht_parent = ht;
	htable_hash_insert(new);
	(void) pthread_mutex_unlock(mtx);
	if (old & PT_LOCKED)
		atomic_fetch_sub(&ht->ht_lock_cnt, 1);
	atomic_fetch_sub(&hat->hat_pages_mapped[level], 1);
	atomic_fetch_add(&hat->hat_pages_mapped[level - 1], n);
	HATSTAT_INC(ctx, splits);
	/* The large translation may be cached; the small ones replace it. */
	hat_tlb_inval(hat, va, LEVEL_SIZE(m, level));
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

/*
 * Frames needed to split down to addr: one per misaligned level.  A 4 MiB
 * page above 4 GiB cannot be split in 32-bit paging (4 KiB entries hold
 * 32-bit addresses): -HT_EPABITS.
 */
static int
split_cost(hat_t *hat, uint64_t addr, unsigned *r_n)
{
	const mmu_t *m = hat_mmu(hat);
	ht_pa_t pa = 0;
	int level = straddle_level(hat, addr, &pa);

	if (level != 0 && m->pte_size == 4 && pa + LEVEL_SIZE(m, level) >
	    (1ull << 32))
		return (ht__fail(HT_EPABITS, "cannot split the 4 MiB page at "
		    "pa 0x%llx: 4 KiB pages of 32-bit paging end at 4 GiB",
		    (unsigned long long)pa));
	for (int l = level; l > 0 && (addr & LEVEL_OFFSET(m, l)) != 0; l--)
		(*r_n)++;
	return (0);
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

/* Frames for the splits at the edges va and last + 1 of a range. */
static int
edges_cost(hat_t *hat, uint64_t va, uint64_t last, unsigned *r_n)
{
	int err = split_cost(hat, va, r_n);

	if (err == 0 && last + 1 != 0)
		err = split_cost(hat, last + 1, r_n);
	return (err);
}

static int
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
 * What is in [va, last]: the locked leaves, exactly, and the leaves --
 * exactly with `exact`, otherwise only "none" (0) or "some" (> 0).  Without
 * `exact` a level-0 table whose lock count is 0 is left after its first
 * leaf, so the census of a full range costs one look per table, not per
 * page.  (A higher table is never left early: its lock count says nothing
 * of the tables below it.)
 */
static void
range_census(hat_t *hat, uint64_t va, uint64_t last, int exact,
    uint64_t *r_leaves, uint64_t *r_locked)
{
	ht_iter_t it;

	*r_leaves = *r_locked = 0;
	for (ht_iter_start(&it, hat, va, last); !it.it_done;
	    ht_iter_next(&it)) {
		(*r_leaves)++;
		if (it.it_pte & PT_LOCKED)
			(*r_locked)++;
		if (!exact && it.it_level == 0 &&
		    atomic_load_explicit(&it.it_ht->ht_lock_cnt,
		    memory_order_relaxed) == 0)
			ht_iter_skip_table(&it);
	}
	ht_iter_stop(&it);
}

/* Remove every leaf in [va, last]; the edges are already split. */
static void
range_clear(hat_t *hat, uint64_t va, uint64_t last)
{
	ht_iter_t it;

	for (ht_iter_start(&it, hat, va, last); !it.it_done;
	    ht_iter_next(&it))
		ht_iter_clear(&it);
	ht_iter_stop(&it);
}

/*
 * The first two steps of a range operation: take the census and, if
 * anything is mapped, reserve the frames for the edge splits and do them.
 * Leaves the census in *r_leaves / *r_locked (see range_census; exact for
 * unlock).  The caller checks the census between the steps through
 * `check`, which returns 0 or an error that stops before any change.
 */
static int
range_prepare(hat_t *hat, ht_op_t *op, uint64_t va, uint64_t last,
    int exact, int (*check)(uint64_t leaves, uint64_t locked, void *arg),
    void *arg, uint64_t *r_leaves)
{
	uint64_t leaves, locked;
	unsigned n = 0;
	int err;

	range_census(hat, va, last, exact, &leaves, &locked);
	*r_leaves = leaves;
	if (check != NULL && (err = check(leaves, locked, arg)) != 0)
		return (err);
	if (leaves == 0)
		return (0);
	err = edges_cost(hat, va, last, &n);
	if (err == 0)
		err = ht_op_prealloc(op, n);
	if (err == 0)
		err = split_edges(hat, va, last);
	return (err);
}

struct range_arg {
	uint64_t	va, last;
	unsigned	flags;
};

static int
unmap_check(uint64_t leaves, uint64_t locked, void *arg)
{
	struct range_arg *a = arg;

	(void) leaves;
	if (locked != 0 && !(a->flags & HT_UNMAP_UNLOCK))
		return (ht__fail(HT_ELOCKED, "%llu locked mappings in "
		    "[0x%llx, 0x%llx]", (unsigned long long)locked,
		    (unsigned long long)a->va, (unsigned long long)a->last));
	return (0);
}

/*
 * The single-table fast path (a VMM's fault path maps and unmaps a page at
 * a time): when [va, last] lies inside one existing level-`level` table
 * and every entry there is empty or a leaf of that level (not a link, not
 * locked unless `locked_ok`), the operation needs no census walk, no
 * frames and no splits.  Returns that table, held, or NULL: take the
 * general path.  *r_e is the first entry, *r_n the number of entries.
 */
static htable_t *
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
	for (unsigned i = e; i < e + n; i++) {
		x86pte_t pte = x86pte_get(ht, i);

		if (pte_is_ptp(pte, level) ||
		    ((pte & PT_VALID) && (pte & PT_LOCKED) && !locked_ok)) {
			htable_release(ht);
			return (NULL);
		}
	}
	*r_e = e;
	*r_n = n;
	return (ht);
}

/*
 * Change the leaves of entries [e, e + n) of ht (held) to f(old): 0
 * removes.  The counts and the TLB range are applied once; the hold is
 * dropped (which frees the table if it became empty and unused).
 */
static void
table_update(htable_t *ht, unsigned e, unsigned n, x86pte_t clr,
    x86pte_t set, int unmap)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);
	int sz = m->pte_size, nvalid = 0, nlock = 0;
	uint8_t *base = x86pte_access_pagetable(ht, 0);
	unsigned lo = ~0u, hi = 0;

	for (unsigned i = e; i < e + n; i++) {
		void *p = pte_ptr(m->pte_shift, base, i);
		x86pte_t old = pte_load(sz, p), new;

		if (!(old & PT_VALID))
			continue;
		if (unmap) {
			/* plain store: the range is flushed below (iter.h) */
			pte_store(sz, p, 0);
			nvalid--;
			nlock -= (old & PT_LOCKED) != 0;
		} else {
			for (;;) {
				x86pte_t found;

				new = (old & ~clr) | set;
				if (new == old)
					break;
				found = pte_cas_raw(sz, p, old, new);
				if (found == old)
					break;
				old = found;	/* an MMU set A/D: again */
			}
			if (new == old)
				continue;
		}
		lo = i < lo ? i : lo;
		hi = i;
	}
	if (nvalid != 0) {
		atomic_fetch_add(&ht->ht_valid_cnt, nvalid);
		atomic_fetch_add(&ht->ht_hat->hat_pages_mapped[ht->ht_level],
		    (uint64_t)(int64_t)nvalid);
	}
	if (nlock != 0)
		atomic_fetch_add(&ht->ht_lock_cnt, (uint32_t)nlock);
	if (lo <= hi)
		hat_tlb_inval(ht->ht_hat, htable_e2va(ht, lo),
		    (uint64_t)(hi - lo + 1) << LEVEL_SHIFT(m, ht->ht_level));
	htable_release(ht);
}

int
ht_unmap(ht_as_t *hat, ht_va_t va, uint64_t len, unsigned flags)
{
	struct range_arg ra;
	uint64_t last, leaves;
	htable_t *ht;
	unsigned e, n;
	ht_op_t op;
	int err;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	if (flags & ~HT_UNMAP_UNLOCK)
		return (ht__fail(HT_EINVAL, "unknown flags 0x%x", flags));
	if ((err = range_check(hat_mmu(hat), va, len, &last)) != 0)
		return (err);
	ra.va = va;
	ra.last = last;
	ra.flags = flags;
	ht_op_begin(&op, hat);
	if ((ht = one_table(hat, va, last, 0, flags & HT_UNMAP_UNLOCK, &e,
	    &n)) != NULL) {
		table_update(ht, e, n, 0, 0, 1);
		ht_op_end(&op);
		return (0);
	}
	err = range_prepare(hat, &op, va, last, 0, unmap_check, &ra, &leaves);
	if (err == 0 && leaves != 0)
		range_clear(hat, va, last);
	ht_op_end(&op);
	return (err);
}

/* ------------------------------------------------------------------ */
/* Map                                                                 */
/* ------------------------------------------------------------------ */

/*
 * The next run of equal-size pages from (va, pa) with rem bytes left,
 * using leaf levels in `levels`.  Returns the level, or -1 if none fits;
 * *r_len is the run's length.  A run ends where a larger page becomes
 * possible or where the remaining length is too short.
 */
static int
plan_run(const mmu_t *m, unsigned levels, uint64_t va, uint64_t pa,
    uint64_t rem, uint64_t *r_len)
{
	int level = -1;
	uint64_t len;

	for (int l = m->num_level - 1; l >= 0; l--) {
		if (((levels >> l) & 1) && ((va | pa) & LEVEL_OFFSET(m, l)) ==
		    0 && rem >= LEVEL_SIZE(m, l)) {
			level = l;
			break;
		}
	}
	if (level < 0)
		return (-1);
	len = rem & LEVEL_MASK(m, level);
	for (int l = level + 1; l < m->num_level; l++) {
		uint64_t q;

		if (!((levels >> l) & 1) || ((va ^ pa) & LEVEL_OFFSET(m, l)))
			continue;
		q = ((va + LEVEL_OFFSET(m, l)) & LEVEL_MASK(m, l)) - va;
		if (q < len && rem - q >= LEVEL_SIZE(m, l))
			len = q;
	}
	*r_len = len;
	return (level);
}

/*
 * Tables a run [va, va + len) of level-L leaves needs that are missing.
 * The ones that exist are pinned for the rest of the operation: another
 * thread working next door could otherwise empty and free one of them
 * after we counted on it, and the operation would need a frame it did not
 * reserve.  Sets *r_n; 0 or -HT_ENOMEM.
 */
static int
run_cost(hat_t *hat, ht_op_t *op, uint64_t va, uint64_t len, int level,
    uint64_t *r_n)
{
	const mmu_t *m = hat_mmu(hat);

	for (int l = level; l < hat->hat_max_level; l++) {
		uint64_t step = LEVEL_SIZE(m, l + 1);
		uint64_t first = va & ~(step - 1);
		uint64_t last = (va + len - 1) & ~(step - 1);

		for (uint64_t t = first; ; t += step) {
			htable_t *ht = htable_lookup(hat, t, l);
			int err;

			if (ht == NULL)
				(*r_n)++;
			else if ((err = ht_op_pin(op, ht)) != 0)
				return (err);
			if (t == last)
				break;
		}
	}
	return (0);
}

/* Remove the leaf at entry e of ht (a large leaf inside a replaced range). */
static void
leaf_remove(htable_t *ht, unsigned e)
{
	x86pte_t old = x86pte_get(ht, e);

	if (pte_is_page(old, ht->ht_level))
		(void) hat_pte_unmap(ht, e, old, 1);
}

/*
 * Map one run of level-L leaves.  Tables are found or created once per
 * table; entries are written in a tight loop.  An entry that links to a
 * lower table (old smaller mappings) is emptied first; if the lower table
 * cannot go (someone holds it) the run falls back to smaller pages.
 */
static int map_range(hat_t *hat, uint64_t va, uint64_t pa, uint64_t len,
    unsigned attr, unsigned levels);

/*
 * Write leaves for pa, pa + size, ... into entries e, e + 1, ... of ht
 * (held), at most `count`.  Stops early at an entry that links to a lower
 * table, which the caller must handle.  Returns the number of entries done
 * and adds to *nnew / *nlock the new valid and locked entries (the caller
 * applies them to the counts once).
 */
static unsigned
fill_leaves(htable_t *ht, unsigned e, uint64_t count, uint64_t va,
    ht_pa_t pa, unsigned attr, int *nnew, int *nlock)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);
	int level = ht->ht_level;
	uint64_t size = LEVEL_SIZE(m, level);
	unsigned n = htable_num_ptes(ht), done = 0;
	uint8_t *base = x86pte_access_pagetable(ht, 0);
	x86pte_t lock = (attr & HT_LOCKED) ? PT_LOCKED : 0;
	x86pte_t new = mkpte(m, pa, level, attr) | lock;
	/*
	 * The next leaf is this one plus the page size, except for 32-bit
	 * 4 MiB leaves, whose address bits above 4 GiB sit elsewhere.
	 */
	int incr = m->pte_size == 8 || level == 0;

	for (; e < n && done < count; e++, done++, va += size, pa += size) {
		void *p = pte_ptr(m->pte_shift, base, e);
		x86pte_t old = pte_load(m->pte_size, p);

		if (done > 0)
			new = incr ? new + size : mkpte(m, pa, level, attr) |
			    lock;
		if (HT_LIKELY(old == 0)) {
			/* No MMU writes an empty entry: a plain store. */
			pte_store(m->pte_size, p, new);
			(*nnew)++;
			*nlock += lock != 0;
			continue;
		}
		if (pte_is_ptp(old, level))
			break;
		old = x86pte_set(ht, e, new, p);
		if (!(old & PT_VALID))
			(*nnew)++;
		*nlock += (int)(lock != 0) -
		    (int)((old & PT_VALID) && (old & PT_LOCKED));
	}
	return (done);
}

/* Apply the changes fill_leaves counted, then drop the hold. */
static void
fill_done(htable_t *ht, int nnew, int nlock)
{
	/* each is a locked instruction: skip the ones with nothing to add */
	if (nnew != 0) {
		atomic_fetch_add(&ht->ht_valid_cnt, nnew);
		atomic_fetch_add(&ht->ht_hat->hat_pages_mapped[ht->ht_level],
		    (uint64_t)nnew);
	}
	if (nlock != 0)
		atomic_fetch_add(&ht->ht_lock_cnt, (uint32_t)nlock);
	htable_release(ht);
}

/*
 * Map one run of level-L leaves.  Tables are found or created once per
 * table; entries are written by fill_leaves.  An entry that links to a
 * lower table (old smaller mappings) is emptied first; if the lower table
 * cannot go (someone holds it) that page falls back to smaller pages.
 */
static int
map_run(hat_t *hat, uint64_t va, uint64_t pa, uint64_t len, int level,
    unsigned attr, unsigned levels)
{
	const mmu_t *m = hat_mmu(hat);
	uint64_t size = LEVEL_SIZE(m, level);
	uint64_t left = len >> LEVEL_SHIFT(m, level);
	int err = 0;

	while (left > 0 && err == 0) {
		htable_t *ht = htable_lookup(hat, va, level);
		int nnew = 0, nlock = 0;
		unsigned e;

		if (ht == NULL)
			ht = htable_create(hat, va, level, NULL, &err);
		if (ht == NULL) {
			unsigned pe;
			htable_t *p;

			if (err != -HT_ELPAGE)
				return (err);
			err = 0;
			/* A large leaf inside the range blocks the table. */
			p = htable_getpage(hat, va, &pe);
			HT_VERIFY(p != NULL && p->ht_level > level);
			leaf_remove(p, pe);
			htable_release(p);
			continue;
		}
		e = htable_va2entry(va, ht);
		for (;;) {
			uint64_t done = fill_leaves(ht, e, left, va, pa, attr,
			    &nnew, &nlock);

			left -= done;
			va += done * size;
			pa += done * size;
			e += (unsigned)done;
			if (left == 0 || e >= htable_num_ptes(ht))
				break;
			/*
			 * Smaller mappings below this entry: clear them away,
			 * holding their table so that no one else's release
			 * can free it while we decide.
			 */
			htable_t *child = htable_lookup(hat, va, level - 1);

			HT_VERIFY(child != NULL);
			range_clear(hat, va, va + size - 1);
			if (!htable_release_if_last(child)) {
				/* someone else holds it: smaller pages */
				HATSTAT_INC(hat->hat_ctx, lpage_fallbacks);
				err = map_range(hat, va, pa, size, attr,
				    levels & ((1u << level) - 1));
				htable_release(child);
				if (err != 0)
					break;
				left--;
				va += size;
				pa += size;
				e++;
				if (left == 0 || e >= htable_num_ptes(ht))
					break;
			}
			/* else the entry is empty now: fill_leaves takes it */
		}
		fill_done(ht, nnew, nlock);
	}
	return (err);
}

/* Map [va, va + len) as runs of the largest pages `levels` allow. */
static int
map_range(hat_t *hat, uint64_t va, uint64_t pa, uint64_t len, unsigned attr,
    unsigned levels)
{
	const mmu_t *m = hat_mmu(hat);
	int err = 0;

	for (uint64_t off = 0; off < len && err == 0; ) {
		uint64_t rl;
		int l = plan_run(m, levels, va + off, pa + off, len - off, &rl);

		HT_VERIFY(l >= 0);
		err = map_run(hat, va + off, pa + off, rl, l, attr, levels);
		off += rl;
	}
	return (err);
}

int
ht_map(ht_as_t *hat, ht_va_t va, ht_pa_t pa, uint64_t len, unsigned attr,
    unsigned flags)
{
	const mmu_t *m;
	unsigned levels, ps;
	uint64_t last, leaves, locked, need = 0, off;
	int err;
	ht_op_t op;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	m = hat_mmu(hat);
	if ((err = range_check(m, va, len, &last)) != 0)
		return (err);
	if (attr & ~ATTR_ALL)
		return (ht__fail(HT_EINVAL, "unknown attributes 0x%x", attr));
	if (flags & ~(HT_MAP_LOCK | HT_MAP_NOREPLACE | HT_MAP_SIZE(0xf)))
		return (ht__fail(HT_EINVAL, "unknown flags 0x%x", flags));
	if (pa & (HT_PAGE_SIZE - 1))
		return (ht__fail(HT_EALIGN, "pa 0x%llx not 4 KiB aligned",
		    (unsigned long long)pa));
	if (pa + len - 1 < pa || pa + len - 1 >= m->pa_limit)
		return (ht__fail(HT_EPABITS, "pa range [0x%llx, +0x%llx) "
		    "beyond the %u-bit physical width",
		    (unsigned long long)pa, (unsigned long long)len,
		    m->pa_bits));
	levels = m->leaf_levels;
	ps = (flags >> 8) & 0xf;
	if (ps != 0) {
		int l = mmu_ps_level(m, ps);

		if ((ps & (ps - 1)) != 0 || l < 0 || !mmu_leaf_ok(m, l))
			return (ht__fail(HT_EPAGESIZE, "page size 0x%x not "
			    "available (have 0x%x)", ps, m->pagesizes));
		if (((va | pa | len) & LEVEL_OFFSET(m, l)) != 0)
			return (ht__fail(HT_EALIGN, "va 0x%llx, pa 0x%llx, "
			    "length 0x%llx not aligned to the forced page "
			    "size", (unsigned long long)va,
			    (unsigned long long)pa, (unsigned long long)len));
		levels = 1u << l;
	}
	if (flags & HT_MAP_LOCK)
		attr |= HT_LOCKED;

	ht_op_begin(&op, hat);
	if (!(flags & HT_MAP_NOREPLACE)) {
		uint64_t rl;
		int l = plan_run(m, levels, va, pa, len, &rl);
		htable_t *ht;
		unsigned e, n;

		if (rl == len && !(m->pte_size == 4 && l == 0 && pa + len >
		    (1ull << 32)) && (ht = one_table(hat, va, last, l, 0, &e,
		    &n)) != NULL) {
			int nnew = 0, nlock = 0;

			(void) fill_leaves(ht, e, n, va, pa, attr, &nnew,
			    &nlock);
			fill_done(ht, nnew, nlock);
			ht_op_end(&op);
			return (0);
		}
	}
	range_census(hat, va, last, 0, &leaves, &locked);
	if (locked != 0) {
		ht_op_end(&op);
		return (ht__fail(HT_ELOCKED, "%llu locked mappings in "
		    "[0x%llx, 0x%llx] would be replaced",
		    (unsigned long long)locked, (unsigned long long)va,
		    (unsigned long long)last));
	}
	if (leaves != 0 && (flags & HT_MAP_NOREPLACE)) {
		ht_op_end(&op);
		return (ht__fail(HT_EEXIST, "[0x%llx, 0x%llx] is already "
		    "mapped in part", (unsigned long long)va,
		    (unsigned long long)last));
	}
	/*
	 * Frames: splits at the edges, plus the missing tables of every run.
	 * Replacing never needs a table it frees: tables only go where a
	 * larger leaf replaces their subtree.
	 */
	need = 0;
	if (leaves != 0) {
		unsigned n = 0;

		if ((err = edges_cost(hat, va, last, &n)) != 0) {
			ht_op_end(&op);
			return (err);
		}
		need = n;
	}
	for (off = 0; off < len; ) {
		uint64_t rl;
		int l = plan_run(m, levels, va + off, pa + off, len - off, &rl);

		HT_VERIFY(l >= 0);
		if (m->pte_size == 4 && l == 0 && pa + off + rl > (1ull << 32)) {
			ht_op_end(&op);
			return (ht__fail(HT_EPABITS, "32-bit paging: 4 KiB "
			    "pages cannot reach pa 0x%llx (only 4 MiB pages "
			    "go above 4 GiB)", (unsigned long long)
			    (pa + off + rl - HT_PAGE_SIZE)));
		}
		if ((err = run_cost(hat, &op, va + off, rl, l, &need)) != 0) {
			ht_op_end(&op);
			return (err);
		}
		off += rl;
	}
	if ((err = ht_op_prealloc(&op, (unsigned)need)) != 0) {
		ht_op_end(&op);
		return (err);
	}
	if (leaves != 0)
		err = split_edges(hat, va, last);
	if (err == 0)
		err = map_range(hat, va, pa, len, attr, levels);
	ht_op_end(&op);
	return (err);
}

/* ------------------------------------------------------------------ */
/* Protect, lock, A/D                                                  */
/* ------------------------------------------------------------------ */

int
ht_protect(ht_as_t *hat, ht_va_t va, uint64_t len, unsigned attr)
{
	const mmu_t *m;
	uint64_t last, leaves;
	htable_t *ht;
	unsigned e, n;
	x86pte_t set = 0, clr;
	ht_iter_t it;
	ht_op_t op;
	int err;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	m = hat_mmu(hat);
	if ((err = range_check(m, va, len, &last)) != 0)
		return (err);
	if (attr & ~ATTR_PROT)
		return (ht__fail(HT_EINVAL, "protect takes only HT_W, HT_U, "
		    "HT_X (0x%x)", attr));
	clr = PT_WRITABLE | PT_USER | m->pt_nx;
	if (attr & HT_W)
		set |= PT_WRITABLE;
	if (attr & HT_U)
		set |= PT_USER;
	if (!(attr & HT_X))
		set |= m->pt_nx;

	ht_op_begin(&op, hat);
	if ((ht = one_table(hat, va, last, 0, 1, &e, &n)) != NULL) {
		table_update(ht, e, n, clr, set, 0);
		ht_op_end(&op);
		return (0);
	}
	err = range_prepare(hat, &op, va, last, 0, NULL, NULL, &leaves);
	if (leaves != 0 && err == 0) {
		for (ht_iter_start(&it, hat, va, last); !it.it_done;
		    ht_iter_next(&it)) {
			for (;;) {
				x86pte_t new = (it.it_pte & ~clr) | set;

				if (new == it.it_pte || ht_iter_cas(&it, new,
				    1))
					break;
			}
		}
		ht_iter_stop(&it);
	}
	ht_op_end(&op);
	return (err);
}

static int
unlock_check(uint64_t leaves, uint64_t locked, void *arg)
{
	struct range_arg *a = arg;

	if (a->flags == 0 && locked != leaves)
		return (ht__fail(HT_ENOTLOCKED, "%llu of %llu mappings in "
		    "[0x%llx, 0x%llx] are not locked",
		    (unsigned long long)(leaves - locked),
		    (unsigned long long)leaves, (unsigned long long)a->va,
		    (unsigned long long)a->last));
	return (0);
}

/* Lock (set PT_LOCKED, a software bit: no TLB work) or unlock a range. */
static int
lock_range(ht_as_t *hat, ht_va_t va, uint64_t len, int lock)
{
	struct range_arg ra;
	uint64_t last, leaves;
	ht_iter_t it;
	ht_op_t op;
	int err;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	if ((err = range_check(hat_mmu(hat), va, len, &last)) != 0)
		return (err);
	ra.va = va;
	ra.last = last;
	ra.flags = (unsigned)lock;
	ht_op_begin(&op, hat);
	/* A lock covers whole leaves: what sticks out is split. */
	err = range_prepare(hat, &op, va, last, 1, unlock_check, &ra, &leaves);
	if (leaves != 0 && err == 0) {
		for (ht_iter_start(&it, hat, va, last); !it.it_done;
		    ht_iter_next(&it)) {
			while (!ht_iter_cas(&it, lock ? it.it_pte | PT_LOCKED :
			    it.it_pte & ~PT_LOCKED, 0))
				;
		}
		ht_iter_stop(&it);
	}
	ht_op_end(&op);
	return (err);
}

int
ht_lock(ht_as_t *as, ht_va_t va, uint64_t len)
{
	return (lock_range(as, va, len, 1));
}

int
ht_unlock(ht_as_t *as, ht_va_t va, uint64_t len)
{
	return (lock_range(as, va, len, 0));
}

long
ht_test_clear_ad(ht_as_t *hat, ht_va_t va, uint64_t len, unsigned bits,
    int clear, ht_ad_fn fn, void *arg)
{
	uint64_t last;
	x86pte_t mask = 0;
	ht_iter_t it;
	ht_op_t op;
	long n = 0;
	int err;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	if ((err = range_check(hat_mmu(hat), va, len, &last)) != 0)
		return (err);
	if (bits == 0 || (bits & ~(HT_A | HT_D)))
		return (ht__fail(HT_EINVAL, "bits 0x%x: give HT_A and/or HT_D",
		    bits));
	if (bits & HT_A)
		mask |= PT_REF;
	if (bits & HT_D)
		mask |= PT_MOD;
	ht_op_begin(&op, hat);
	for (ht_iter_start(&it, hat, va, last); !it.it_done;
	    ht_iter_next(&it)) {
		x86pte_t had = it.it_pte & mask;

		if (had == 0)
			continue;
		/*
		 * Clearing needs a TLB flush: a cached translation would let
		 * the MMU access (or dirty) the page without setting the bit.
		 */
		while (clear && (it.it_pte & mask) != 0 &&
		    !ht_iter_cas(&it, it.it_pte & ~mask, 1))
			had |= it.it_pte & mask;
		n++;
		if (fn != NULL)
			fn(arg, it.it_va, it.it_size,
			    ((had & PT_REF) ? HT_A : 0) |
			    ((had & PT_MOD) ? HT_D : 0));
	}
	ht_iter_stop(&it);
	ht_op_end(&op);
	return (n);
}
