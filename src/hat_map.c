/*
 * hat_map.c - ht_map: mapping a range with the largest pages its
 * alignment allows (what hat_i86.c's load paths do with htables).
 *
 * The range is cut into runs of one page size (plan_run).  The tables the
 * runs lack are counted once each, less those the edge splits create, and
 * exactly that many frames are reserved; the existing ones are pinned
 * (run_cost, plan_table in hat_range.c).  Then each run finds or creates
 * each table once and fills its entries in a tight loop (fill_leaves).  Mappings already there are replaced; a
 * large leaf replacing smaller mappings first empties and frees the table
 * below it.  See hat_range.c for the steps every range operation shares.
 */
#include <sched.h>

#include "iter.h"
#include "hat.h"
#include "hat_range.h"
#include "frame.h"
#include "debug.h"

#define ATTR_ALL	(HT_W | HT_U | HT_X | HT_G | HT_PWT | HT_PCD | HT_PAT)

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
 * Add to the plan the tables a run [va, va + len) of level-L leaves needs:
 * every table at levels L .. root - 1 that covers part of it.  Missing
 * ones are counted once (plan_table), present ones pinned.  0 or
 * -HT_ENOMEM.
 */
static int
run_cost(hat_t *hat, ht_op_t *op, ht_plan_t *plan, uint64_t va,
    uint64_t len, int level)
{
	const mmu_t *m = hat_mmu(hat);

	for (int l = level; l < hat->hat_max_level; l++) {
		uint64_t step = LEVEL_SIZE(m, l + 1);
		uint64_t first = va & ~(step - 1);
		uint64_t last = (va + len - 1) & ~(step - 1);

		for (uint64_t t = first; ; t += step) {
			int err = plan_table(hat, op, plan, l, t);

			if (err != 0)
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

/* Map a range as runs of the largest pages allowed (map_run falls back). */
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
 * cannot go (someone holds it) that page falls back to smaller pages (any
 * size the mode has, even under a forced size; in 32-bit paging above
 * 4 GiB, where only 4 MiB pages reach, the holder is waited out instead).
 */
static int
map_run(hat_t *hat, uint64_t va, uint64_t pa, uint64_t len, int level,
    unsigned attr)
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
			/*
			 * 32-bit 4 KiB entries cannot hold a pa above 4 GiB:
			 * there the holder (a walk beside us) is waited out.
			 */
			while (m->pte_size == 4 && pa + size > (1ull << 32) &&
			    !htable_release_if_last(child))
				(void) sched_yield();
			if (m->pte_size == 4 && pa + size > (1ull << 32))
				continue;	/* the entry is empty now */
			if (!htable_release_if_last(child)) {
				/*
				 * Someone else holds it: smaller pages, in
				 * that table, so no frame is needed.  A forced
				 * size gives way too: the mapping must be made.
				 */
				HATSTAT_INC(hat->hat_ctx, lpage_fallbacks);
				err = map_range(hat, va, pa, size, attr,
				    m->leaf_levels & ((1u << level) - 1));
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
		err = map_run(hat, va + off, pa + off, rl, l, attr);
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
	uint64_t last, leaves, locked, off;
	int err;
	ht_plan_t plan;
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
	/* NOREPLACE never replaces, locked or not: the range is taken. */
	if (leaves != 0 && (flags & HT_MAP_NOREPLACE)) {
		ht_op_end(&op);
		return (ht__fail(HT_EEXIST, "[0x%llx, 0x%llx] is already "
		    "mapped in part", (unsigned long long)va,
		    (unsigned long long)last));
	}
	if (locked != 0) {
		ht_op_end(&op);
		return (ht__fail(HT_ELOCKED, "%llu locked mappings in "
		    "[0x%llx, 0x%llx] would be replaced",
		    (unsigned long long)locked, (unsigned long long)va,
		    (unsigned long long)last));
	}
	/*
	 * Frames: one per distinct table the splits at the edges and the
	 * runs create.  Replacing never needs a table it frees: tables only
	 * go where a larger leaf replaces their subtree.
	 */
	plan_init(&plan);
	if (leaves != 0 && (err = plan_edges(hat, &plan, va, last)) != 0) {
		ht_op_end(&op);
		return (err);
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
		if ((err = run_cost(hat, &op, &plan, va + off, rl, l)) != 0) {
			ht_op_end(&op);
			return (err);
		}
		off += rl;
	}
	if ((err = ht_op_prealloc(&op, plan.need)) != 0) {
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
