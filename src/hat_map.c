/*
 * hat_map.c - ht_map: mapping a range with the largest pages its
 * alignment allows (what hat_i86.c's load paths do with htables).
 *
 * The range is cut into runs of one page size (plan_run).  The tables the
 * runs lack are counted once each, less those the edge splits create, and
 * exactly that many frames are reserved; the existing ones are pinned
 * (run_cost, plan_table in hat_range.c).  Then each run finds or creates
 * each table once and fills its entries in a tight loop (fill_leaves).
 * ht_set_np (hat_np.c) goes through the same steps (map_apply) with
 * level-0 runs whose entries are the client's non-present values instead
 * of leaves.  Mappings already there are replaced; a
 * large leaf replacing smaller mappings first empties and frees the table
 * below it.  Every leaf removed that way, or replaced by a leaf of another
 * frame, reports its A/D bits to the caller's sink (ht_map_ad; op.c).
 * See hat_range.c for the steps every range operation shares.
 */
#include <sched.h>

#include "iter.h"
#include "op.h"
#include "hat_range.h"
#include "hat_one.h"
#include "nommu.h"
#include "share.h"
#include "rmap.h"
#include "frame.h"
#include "debug.h"
#include "lock.h"


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
 * Add to the plan the tables at levels `level` .. l that a run needs in
 * [lo, hi], top down: each table of level l that covers part of it, then
 * what lies below.  Below a present table (pinned) or one an edge split
 * makes, each table is looked at in turn; below an absent one nothing can
 * exist, and plan_subtree counts them all at once.  0 or -HT_ENOMEM.
 */
static int
plan_down(hat_t *hat, op_t *op, plan_t *plan, uint64_t lo,
    uint64_t hi, int l, int level)
{
	const mmu_t *m = hat_mmu(hat);
	uint64_t step = LEVEL_SIZE(m, l + 1);
	uint64_t last = hi & ~(step - 1);

	for (uint64_t t = lo & ~(step - 1); ; t += step) {
		uint64_t a = t > lo ? t : lo, b = t + (step - 1);
		int absent, err;

		if (b > hi)
			b = hi;
		if ((err = plan_table(hat, op, plan, l, t, &absent)) != 0)
			return (err);
		if (l > level) {
			if (absent)
				plan_subtree(plan, m, l - 1, level, a, b);
			else if ((err = plan_down(hat, op, plan, a, b, l - 1,
			    level)) != 0)
				return (err);
		}
		if (t == last)
			break;
	}
	return (0);
}

/*
 * Add to the plan the tables a run [va, va + len) of level-L leaves needs:
 * every table at levels L .. root - 1 that covers part of it.  Missing
 * ones are counted once, present ones pinned (plan_down).
 *
 * A run inside one table of level l > L starts there when that table is
 * present: everything above it exists and stays while it is pinned (a
 * child holds its parent), so the levels above would add no frame to
 * the count, only pins.  Those pins were the one line that threads
 * making tables in one space all wrote: every table a one-page map made
 * locked and held the 512 GiB table's chain and descriptor twice, and
 * two threads 1 GiB apart made their tables 4-5x slower beside each
 * other than alone.  The tables are looked at bottom up, each counted
 * once by plan_table (an absent one as missing, and the one above is
 * tried); a plan with splits at its edges goes top down as before, as a
 * table a split makes is not there to pin.
 */
static int
run_cost(hat_t *hat, op_t *op, plan_t *plan, uint64_t va,
    uint64_t len, int level)
{
	const mmu_t *m = hat_mmu(hat);
	int top = hat->hat_max_level - 1, absent, err;
	uint64_t hi = va + len - 1;

	if (level >= hat->hat_max_level)
		return (0);
	for (int l = level + 1; l < top && plan->nsplit == 0; l++) {
		uint64_t base = va & LEVEL_MASK(m, l + 1);

		if ((hi & LEVEL_MASK(m, l + 1)) != base)
			break;		/* the run needs more than one */
		if ((err = plan_table(hat, op, plan, l, base, &absent)) != 0)
			return (err);
		if (!absent)
			return (plan_down(hat, op, plan, va, hi, l, level));
	}
	return (plan_down(hat, op, plan, va, hi, top, level));
}

/* Remove the leaf at entry e of ht (a large leaf inside a replaced range). */
static void
leaf_remove(htable_t *ht, unsigned e)
{
	x86pte_t old = x86pte_get(ht, e);
	uint64_t va = htable_e2va(ht, e);

	if (pte_is_page(hat_mmu(ht->ht_hat), old, ht->ht_level)) {
		(void) htable_pte_unmap(ht, e, old, 1);
		rmap_op_set(ht->ht_hat, va, va + (LEVEL_SIZE(hat_mmu(
		    ht->ht_hat), ht->ht_level) - 1), RMAP_NONE);
	}
}

/* Map a range as runs of the largest pages allowed (map_run falls back). */
static int map_range(hat_t *hat, uint64_t va, uint64_t pa, uint64_t len,
    unsigned attr, unsigned levels, const np_src_t *np);

/* What fill_leaves changed, applied to the counts once (fill_done). */
typedef struct fill_cnt {
	int	valid;		/* ht_valid_cnt */
	int	pages;		/* the space's leaf count (hat_pm) */
	int	pins;		/* ht_lock_cnt: locked leaves, np entries */
} fill_cnt_t;

/*
 * Write leaves for pa, pa + size, ... (or, with np, the client's values)
 * into entries e, e + 1, ... of ht (held), at most `count`.  Stops early
 * at an entry that links to a lower table, which the caller must handle.
 * Returns the number of entries done and adds the count changes to *c.
 *
 * An empty level-0 entry is written with a plain store: no MMU writes an
 * empty entry, and the table's bucket lock, held for the loop, keeps out
 * every other writer that could fill one (another fill on an overlapping
 * range, the one-entry path, a stealer), so each empty entry is counted
 * once even when calls overlap.  One lock pair per table run costs
 * nothing beside its up to 512 entries.  Above level 0 an empty entry may
 * become a link under a child's lock (link_ptp), so it is filled by CAS.
 * The caller's A/D sink is called with the lock let go.
 */
static unsigned
fill_leaves(htable_t *ht, unsigned e, uint64_t count, uint64_t va,
    ht_pa_t pa, unsigned attr, const np_src_t *np, fill_cnt_t *c)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);
	int level = ht->ht_level;
	uint64_t size = LEVEL_SIZE(m, level);
	unsigned n = htable_num_ptes(ht), done = 0;
	uint8_t *base = x86pte_access_pagetable(ht, 0);
	x86pte_t lock = (attr & HT_LOCKED) ? m->pt_locked : 0;
	x86pte_t new, step = size;
	/* every entry of a run is alike: a page or not, pinning or not */
	int page = np == NULL, pin = np != NULL || lock != 0;
	/*
	 * The next leaf is this one plus the page size, except for 32-bit
	 * 4 MiB leaves, whose address bits above 4 GiB sit elsewhere.
	 */
	int incr = m->pte_size == 8 || level == 0;
	bucket_lock_t *mtx;

	if (np != NULL) {
		new = np->value + ((va - np->va) >> HT_PAGE_SHIFT) * np->incr;
		step = np->incr;
	} else {
		new = mkpte(m, pa, level, attr) | lock;
	}
	mtx = htable_lock(ht);
	for (; e < n && done < count; e++, done++, va += size, pa += size) {
		void *p = pte_ptr(m->pte_shift, base, e);
		x86pte_t old = pte_load(m->pte_size, p);

		if (done > 0)
			new = incr ? new + step : mkpte(m, pa, level, attr) |
			    lock;
		if (HT_LIKELY(old == 0) && (level == 0 ||
		    (old = pte_cas_raw(m->pte_size, p, 0, new)) == 0)) {
			if (level == 0)
				pte_store(m->pte_size, p, new);
			c->valid++;
			c->pages += page;
			c->pins += pin;
			continue;
		}
		if (pte_is_ptp(m, old, level))
			break;
		/*
		 * Our lock does not keep a link out of an entry above level
		 * 0 (link_ptp holds the child's): the leaf loaded above may
		 * have been unmapped and the entry linked since.  Then
		 * nothing was written, and the link is the caller's.
		 */
		if ((old = x86pte_set(ht, e, new, p)) == LPAGE_ERROR)
			break;
		/*
		 * A leaf of another frame (or under a non-present value) is
		 * gone with its A/D bits; the same frame keeps them
		 * (x86pte_set), so that leaf was not removed.
		 */
		if (pte_is_page(m, old, level) && pte_ad(m, old) != 0 &&
		    (np != NULL || pte_pa(m, old, level) != pa)) {
			mutex_exit(mtx);	/* no callback under a lock */
			op_ad_removed(ht, e, old);
			mutex_enter(mtx, LR_BUCKET);
		}
		c->valid += 1 - pte_counted(m, old, level);
		c->pages += page - pte_is_page(m, old, level);
		c->pins += pin - pte_pins(m, old, level);
	}
	mutex_exit(mtx);
	return (done);
}

/* Apply the changes fill_leaves counted, then drop the hold. */
static void
fill_done(htable_t *ht, const fill_cnt_t *c)
{
	htable_apply(ht, c->valid, c->pages, c->pins, 0, 0, 0);
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
    unsigned attr, const np_src_t *np)
{
	const mmu_t *m = hat_mmu(hat);
	uint64_t size = LEVEL_SIZE(m, level);
	uint64_t left = len >> LEVEL_SHIFT(m, level);
	int err = 0;

	while (left > 0 && err == 0) {
		htable_t *ht = htable_lookup(hat, va, level);
		fill_cnt_t c = { 0, 0, 0 };
		unsigned e;

		if (ht == NULL)
			ht = htable_create(hat, va, level, NULL, &err);
		if (ht == NULL) {
			unsigned pe;
			htable_t *p;

			if (err != -HT_ELPAGE)
				return (err);
			err = 0;
			/*
			 * A large leaf inside the range blocks the table.  An
			 * overlapping call may have removed it, or made the
			 * table, since: then simply try again.
			 */
			p = htable_getpage(hat, va, &pe);
			if (p != NULL && p->ht_level > level)
				leaf_remove(p, pe);
			if (p != NULL)
				htable_release(p);
			continue;
		}
		e = htable_va2entry(va, ht);
		for (;;) {
			uint64_t done = fill_leaves(ht, e, left, va, pa, attr,
			    np, &c);

			/* while we hold ht: see rmap.c */
			if (done != 0)
				rmap_op_set(hat, va, va + (done * size - 1),
				    np == NULL ? pa : RMAP_NONE);
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

			/*
			 * Gone already (an overlapping unmap freed it: it was
			 * unlinked before it left the hash), so the entry is
			 * empty or someone else's now: fill_leaves looks again.
			 */
			if (child == NULL)
				continue;
			range_clear(hat, va, va + size - 1);
			/*
			 * 32-bit 4 KiB entries cannot hold a pa above 4 GiB:
			 * there the holder (a walk beside us) is waited out.
			 */
			while (m->pte_size == 4 && pa + size > (1ull << 32) &&
			    !htable_release_if_last(child)) {
				/*
				 * A table shared out stays (its sharers hold
				 * it): map_apply refuses that up front, so
				 * only a share made meanwhile gets here.
				 */
				if (atomic_load(&child->ht_nsharers) > 0) {
					htable_release(child);
					err = ht__fail(HT_EPABITS, "the table at "
					    "0x%llx was shared out meanwhile",
					    (unsigned long long)va);
					break;
				}
				(void) sched_yield();
			}
			if (err != 0)
				break;
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
				    m->leaf_levels & ((1u << level) - 1), np);
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
		fill_done(ht, &c);
	}
	return (err);
}

/* Map [va, va + len) as runs of the largest pages `levels` allow. */
static int
map_range(hat_t *hat, uint64_t va, uint64_t pa, uint64_t len, unsigned attr,
    unsigned levels, const np_src_t *np)
{
	const mmu_t *m = hat_mmu(hat);
	int err = 0;

	for (uint64_t off = 0; off < len && err == 0; ) {
		uint64_t rl;
		int l = plan_run(m, levels, va + off, pa + off, len - off, &rl);

		HT_VERIFY(l >= 0);
		err = map_run(hat, va + off, pa + off, rl, l, attr, np);
		off += rl;
	}
	return (err);
}

/* -HT_EINVAL for the lowest HT_SW bit of attr that the mode lacks. */
static int
sw_refuse(const mmu_t *m, unsigned attr)
{
	unsigned bad = attr & HT_SW_MASK & ~m->sw_attr;
	int n = __builtin_ctz(bad) - 16;

	return (ht__fail(HT_EINVAL, "HT_SW(%d) (entry bit %d) is not free "
	    "in %s paging (its software bits: 0x%x)", n, n < 2 ? 10 + n :
	    50 + n, ht_mode_name(m->mode), m->sw_attr));
}

/*
 * The attributes the quick single-entry test lets through: no lock, A/D
 * presets or software bits (their checks stay on the full path).
 */
#define FAST_ATTR	(HT_W | HT_U | HT_X | HT_G | HT_PWT | HT_PCD | HT_PAT)
_Static_assert(FAST_ATTR < 128, "mmu_t enc[] and wc_map index by them");

/*
 * Do plain attributes (within FAST_ATTR) pass mmu_attr_check?  Always in
 * x86 modes; EPT refuses some (mmu_t fast_bad), which the full path then
 * explains.
 */
static inline int
fast_attr_ok(uint64_t bad, unsigned attr)
{
	return (((bad >> ((attr >> 1) & 63)) & 1) == 0);
}

/*
 * The arguments the serial cursor takes: plain attributes, and no flags
 * but the size of the one page (wc_map checks the rest).
 */
static inline int
wc_map_args(const hat_t *hat, uint64_t len, unsigned attr, unsigned flags)
{
	return ((attr & ~FAST_ATTR) == 0 && (flags & ~HT_MAP_SIZE(0xf)) == 0 &&
	    (flags == 0 || mmu_ps_bytes(flags >> 8) == len) &&
	    fast_attr_ok(hat->hat_wc[0].wc_bad, attr));
}

static inline __attribute__((always_inline)) int map_call(ht_as_t *as,
    ht_va_t va, ht_pa_t pa, uint64_t len, unsigned attr, unsigned flags,
    ht_ad_fn fn, void *arg);

/*
 * ht_map's way on when the cursor does not take the call: out of line and
 * with six arguments, so that ht_map reaches it by a jump and its fast
 * path saves no register.
 */
static __attribute__((noinline)) int
map_noad(ht_as_t *as, ht_va_t va, ht_pa_t pa, uint64_t len, unsigned attr,
    unsigned flags)
{
	return (map_call(as, va, pa, len, attr, flags, NULL, NULL));
}

/*
 * ht_map with va in the table of a serial space's cursor: out of line, so
 * that ht_map itself needs no register saved and a call elsewhere (every
 * call of a space with no cursor) passes through in a few instructions.
 */
static __attribute__((noinline)) int
map_wc(ht_as_t *as, ht_va_t va, ht_pa_t pa, uint64_t len, unsigned attr,
    unsigned flags)
{
	if (wc_map_args(as, len, attr, flags) &&
	    ONE_AT_LEVEL(wc_map, as, len, va, pa, len, attr))
		return (0);
	return (map_noad(as, va, pa, len, attr, flags));
}

/* ht_map in a serial space whose cursor misses: moved by hash first. */
static __attribute__((noinline)) int
map_ws(ht_as_t *as, ht_va_t va, ht_pa_t pa, uint64_t len, unsigned attr,
    unsigned flags)
{
	if (wc_map_args(as, len, attr, flags) &&
	    ONE_AT_LEVEL(wc_seek, as, len, va, len) &&
	    ONE_AT_LEVEL(wc_map, as, len, va, pa, len, attr))
		return (0);
	return (map_noad(as, va, pa, len, attr, flags));
}

/*
 * ht_map in a space that several threads may change: the front of the
 * one-entry path (hat_one.h), out of line as map_wc.
 */
static __attribute__((noinline)) int
map_mw(ht_as_t *as, ht_va_t va, ht_pa_t pa, uint64_t len, unsigned attr,
    unsigned flags)
{
	if (wc_map_args(as, len, attr, flags) &&
	    ONE_AT_LEVEL(mw_map, as, len, va, pa, len, attr))
		return (0);
	return (map_noad(as, va, pa, len, attr, flags));
}

int
ht_map(ht_as_t *as, ht_va_t va, ht_pa_t pa, uint64_t len, unsigned attr,
    unsigned flags)
{
	/*
	 * A serial space's cursor when va is in its table, else the
	 * multi-writer front, else the serial cursor moved by hash, with
	 * no frame to set up (hat_one.h).
	 */
	if (HT_LIKELY(as != NULL)) {
		if (wc_on(as, va, len))
			return (map_wc(as, va, pa, len, attr, flags));
		if (mw_on(as))
			return (map_mw(as, va, pa, len, attr, flags));
		if (wc_serial(as))	/* the cursor moves by hash */
			return (map_ws(as, va, pa, len, attr, flags));
	}
	return (map_noad(as, va, pa, len, attr, flags));
}

int
ht_map_ad(ht_as_t *as, ht_va_t va, ht_pa_t pa, uint64_t len, unsigned attr,
    unsigned flags, ht_ad_fn fn, void *arg)
{
	/*
	 * One page by the multi-writer front or a serial space's cursor
	 * (hat_one.h): a map into an empty entry reports no A/D bits, so
	 * fn is not needed there.
	 */
	if (HT_LIKELY(as != NULL) && wc_map_args(as, len, attr, flags) &&
	    (mw_on(as) ? ONE_AT_LEVEL(mw_map, as, len, va, pa, len, attr) :
	    wc_serial(as) && (wc_on(as, va, len) ||
	    ONE_AT_LEVEL(wc_seek, as, len, va, len)) &&
	    ONE_AT_LEVEL(wc_map, as, len, va, pa, len, attr)))
		return (0);
	return (map_call(as, va, pa, len, attr, flags, fn, arg));
}

/*
 * ht_map_ad after the cursor: every check, the one-entry path, the
 * general one.  Inline into ht_map_ad and map_noad both, so that neither
 * way pays a call more.
 */
static inline __attribute__((always_inline)) int
map_call(ht_as_t *as, ht_va_t va, ht_pa_t pa, uint64_t len, unsigned attr,
    unsigned flags, ht_ad_fn fn, void *arg)
{
	hat_t *hat = as;
	const mmu_t *m;
	unsigned levels, ps;
	uint64_t last;
	nm_hold_t nh;
	int one_tried = 0;
	int err;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	m = hat_mmu(hat);
	/*
	 * One page of a size in force (flags naming it or none), plain
	 * attributes, nothing shared in: every check below passes, so go
	 * straight to the one-entry path; anything it leaves goes on below
	 * (the fault path of a VMM or a kernel, hat_one.c).
	 */
	if ((attr & ~FAST_ATTR) == 0 && fast_attr_ok(m->fast_bad, attr) &&
	    (flags == 0 ||
	    (flags == HT_MAP_SIZE((flags >> 8) & 0xf) &&
	    mmu_ps_bytes((flags >> 8) & 0xf) == len)) &&
	    ((pa | len) & (HT_PAGE_SIZE - 1)) == 0 &&
	    pa + len - 1 < m->pa_limit && pa + len - 1 >= pa &&
	    range_one_ok(m, va, len) &&
	    atomic_load_explicit(&hat->hat_nshared_in,
	    memory_order_relaxed) == 0) {
		nm_enter(hat, &nh);
		one_tried = one_map(hat, va, pa, len, attr, m->leaf_levels);
		nm_exit(&nh);
		if (one_tried)
			return (0);
		one_tried = 1;
	}
	if ((err = range_check(m, va, len, &last)) != 0)
		return (err);
	if ((err = mmu_attr_check(m, attr, "map")) != 0)
		return (err);
	if (attr & HT_SW_MASK & ~m->sw_attr)
		return (sw_refuse(m, attr));
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
		if (l == hat->hat_max_level &&
		    (atomic_load(&hat->hat_flags) & HAT_NOROOTLEAF))
			return (ht__fail(HT_EPAGESIZE, "no 4 MiB pages in this "
			    "space: its root entries are copied into CPU "
			    "roots"));
	}
	if (flags & HT_MAP_LOCK)
		attr |= HT_LOCKED;
	if ((err = share_refuse(hat, va, last)) != 0)
		return (err);
	nm_enter(hat, &nh);
	err = map_apply(hat, va, pa, len, attr, levels, flags, NULL, one_tried,
	    fn, arg);
	nm_exit(&nh);
	return (err);
}

/*
 * The fast path of a map: the range is one run that lies inside one
 * existing table, with nothing in the way (one_table).  Fills it and
 * returns 1; 0 when the general path must run.  Above level 0 an
 * overlapping call may link a table into the run after one_table looked:
 * fill_leaves stops there, and that call has the rest (htable.h leaves
 * the order of overlapping calls to the caller; the counts stay exact).
 */
static int
map_fast(hat_t *hat, uint64_t va, ht_pa_t pa, uint64_t len, unsigned attr,
    unsigned levels, const np_src_t *np)
{
	const mmu_t *m = hat_mmu(hat);
	uint64_t rl;
	int l = plan_run(m, levels, va, pa, len, &rl);
	htable_t *ht;
	unsigned e, n;
	fill_cnt_t c = { 0, 0, 0 };

	if (rl != len || (m->pte_size == 4 && l == 0 && pa + len >
	    (1ull << 32)) || (ht = one_table(hat, va, va + len - 1, l, 0, &e,
	    &n)) == NULL)
		return (0);
	(void) fill_leaves(ht, e, n, va, pa, attr, np, &c);
	rmap_op_set(hat, va, va + (len - 1), np == NULL ? pa : RMAP_NONE);
	fill_done(ht, &c);
	return (1);
}

/*
 * What is in the way of mapping [va, last]: with NOREPLACE any leaf gives
 * -HT_EEXIST (nothing is ever replaced, locked or not: the range is
 * taken), otherwise a locked leaf gives -HT_ELOCKED.  0 with the number
 * of leaves there ("none" or "some", range_census) in *r_leaves.
 */
static int
map_check(hat_t *hat, uint64_t va, uint64_t last, unsigned flags,
    uint64_t *r_leaves)
{
	uint64_t locked;

	range_census(hat, va, last, 0, r_leaves, &locked);
	if (*r_leaves != 0 && (flags & HT_MAP_NOREPLACE))
		return (ht__fail(HT_EEXIST, "[0x%llx, 0x%llx] is already "
		    "mapped in part", (unsigned long long)va,
		    (unsigned long long)last));
	if (locked != 0)
		return (ht__fail(HT_ELOCKED, "%llu locked mappings in "
		    "[0x%llx, 0x%llx] would be replaced",
		    (unsigned long long)locked, (unsigned long long)va,
		    (unsigned long long)last));
	return (0);
}

/*
 * The plan of a map: one frame per distinct table the splits at the edges
 * (only where something is mapped: `leaves`) and the runs create.
 * Replacing never needs a table it frees: tables only go where a larger
 * leaf replaces their subtree.  0, -HT_EPABITS (a split or a 4 KiB run
 * that 32-bit paging cannot reach) or -HT_ENOMEM (pinning).
 */
static int
map_plan(hat_t *hat, op_t *op, plan_t *plan, uint64_t va, ht_pa_t pa,
    uint64_t len, unsigned levels, uint64_t leaves)
{
	const mmu_t *m = hat_mmu(hat);
	int err;

	plan_init(plan);
	if (leaves != 0) {
		err = plan_edges(hat, plan, va, va + len - 1);
		if (err != 0)
			return (err);
	}
	for (uint64_t off = 0; off < len; ) {
		uint64_t rl;
		int l = plan_run(m, levels, va + off, pa + off, len - off, &rl);

		HT_VERIFY(l >= 0);
		if (m->pte_size == 4 && l == 0 && pa + off + rl > (1ull << 32))
			return (ht__fail(HT_EPABITS, "32-bit paging: 4 KiB "
			    "pages cannot reach pa 0x%llx (only 4 MiB pages "
			    "go above 4 GiB)", (unsigned long long)
			    (pa + off + rl - HT_PAGE_SIZE)));
		if ((err = run_cost(hat, op, plan, va + off, rl, l)) != 0)
			return (err);
		off += rl;
	}
	return (0);
}

/*
 * ht_map once its arguments are checked, and ht_set_np (np != NULL: pa is
 * 0, levels is level 0 only, flags 0): census, reservation, splits, fill;
 * the leaves removed report their A/D bits to fn (ht_map_ad).
 */
int
map_apply(hat_t *hat, uint64_t va, ht_pa_t pa, uint64_t len, unsigned attr,
    unsigned levels, unsigned flags, const np_src_t *np, int one_tried,
    ht_ad_fn fn, void *arg)
{
	const mmu_t *m = hat_mmu(hat);
	uint64_t last = va + len - 1, leaves;
	plan_t plan;
	int err = 0;
	op_t op;

	rmap_prep_t rp;

	/* root entries copied into CPU roots are never leaves (cpuroot.c) */
	if (atomic_load(&hat->hat_flags) & HAT_NOROOTLEAF)
		levels &= ~(1u << hat->hat_max_level);
	/*
	 * 32-bit paging: above 4 GiB only 4 MiB pages reach, and one cannot
	 * replace a table that other spaces share (ht_share).
	 */
	if (m->pte_size == 4 && np == NULL && pa + len > (1ull << 32) &&
	    (atomic_load(&hat->hat_flags) & HAT_SHARED) &&
	    share_tables_in(hat, va, last))
		return (ht__fail(HT_EPABITS, "pa 0x%llx is above 4 GiB, where "
		    "only 4 MiB pages reach, and [0x%llx, 0x%llx] holds a "
		    "table shared out (ht_share), which no 4 MiB page may "
		    "replace", (unsigned long long)pa, (unsigned long long)va,
		    (unsigned long long)last));
	/* one page into an existing table: no frame, no hold (hat_one.c) */
	if (np == NULL && !one_tried && one_map(hat, va, pa, len, attr, levels))
		return (0);
	if (rmap_on(hat->hat_ctx) && (err = rmap_prep(hat->hat_ctx, &rp)) != 0)
		return (err);
	op_begin(&op, hat);
	op.op_ad_fn = fn;
	op.op_ad_arg = arg;
	if (rmap_on(hat->hat_ctx))
		op.op_rmap = &rp;
	if (((flags & HT_MAP_NOREPLACE) || !map_fast(hat, va, pa, len, attr,
	    levels, np)) &&
	    (err = map_check(hat, va, last, flags, &leaves)) == 0 &&
	    (err = map_plan(hat, &op, &plan, va, pa, len, levels,
	    leaves)) == 0 &&
	    (err = op_prealloc_tables(&op, plan.need)) == 0) {
		/*
		 * np entries go first, so that a large page can take their
		 * place.
		 */
		if (np == NULL && (atomic_load(&hat->hat_flags) & HAT_NP))
			np_clear(hat, va, last);
		if (leaves != 0)
			err = split_edges(hat, va, last);
		if (err == 0)
			err = map_range(hat, va, pa, len, attr, levels, np);
	}
	op_end(&op);
	if (op.op_rmap != NULL)
		rmap_unprep(hat->hat_ctx, &rp);
	return (err);
}
