/*
 * hat_change.c - changing what is mapped: ht_unmap, ht_protect, ht_lock,
 * ht_unlock and Accessed/Dirty harvesting.  Each takes the census and
 * splits the edges (hat_range.c), then makes one pass of the leaf
 * iterator, or takes the single-table fast path.  ht_unmap_ad reports the
 * A/D bits of the leaves it removes through the operation's sink (op.c).
 */
#include <limits.h>

#include "iter.h"
#include "op.h"
#include "hat_range.h"
#include "hat_one.h"
#include "nommu.h"
#include "share.h"
#include "rmap.h"
#include "frame.h"
#include "debug.h"

#define ATTR_PROT	(HT_W | HT_U | HT_X)
#define ATTR_CHATTR	(ATTR_PROT | HT_G | HT_PWT | HT_PCD | HT_PAT)
/* EPT: what names the rights, and the memory type, whole */
#define EPT_RIGHTS	(HT_W | HT_X | HT_NOREAD)
#define EPT_MT_ATTR	(HT_PWT | HT_PCD | HT_PAT)

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
 * ht_unmap_ad after the cursor: the checks, the one-entry path, the
 * general one.  Inline into both entry points.
 */
static inline __attribute__((always_inline)) int
unmap_call(hat_t *hat, ht_va_t va, uint64_t len, unsigned flags,
    ht_ad_fn fn, void *arg)
{
	uint64_t last;
	nm_hold_t nh;
	int err;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	if (flags & ~HT_UNMAP_UNLOCK)
		return (ht__fail(HT_EINVAL, "unknown flags 0x%x", flags));
	if ((err = range_check_quick(hat_mmu(hat), va, len, &last)) != 0 ||
	    (err = share_refuse(hat, va, last)) != 0)
		return (err);
	nm_enter(hat, &nh);
	err = unmap_apply(hat, va, last, flags, fn, arg);
	nm_exit(&nh);
	return (err);
}

/* ht_unmap's way on when the cursor does not take the call (a jump). */
static __attribute__((noinline)) int
unmap_noad(hat_t *hat, ht_va_t va, uint64_t len, unsigned flags)
{
	return (unmap_call(hat, va, len, flags, NULL, NULL));
}

/*
 * ht_unmap with va in the table of a serial space's cursor, out of line
 * (as map_wc: ht_unmap itself then saves no register).
 */
static __attribute__((noinline)) int
unmap_wc(hat_t *hat, ht_va_t va, uint64_t len, unsigned flags)
{
	if (flags == 0 && ONE_AT_LEVEL(wc_unmap, hat, len, va, len, NULL, NULL))
		return (0);
	return (unmap_noad(hat, va, len, flags));
}

/* ht_unmap in a serial space whose cursor misses: moved by hash first. */
static __attribute__((noinline)) int
unmap_ws(hat_t *hat, ht_va_t va, uint64_t len, unsigned flags)
{
	if (flags == 0 && ONE_AT_LEVEL(wc_seek, hat, len, va, len) &&
	    ONE_AT_LEVEL(wc_unmap, hat, len, va, len, NULL, NULL))
		return (0);
	return (unmap_noad(hat, va, len, flags));
}

/* ht_unmap in a space that several threads change: the front, out of line. */
static __attribute__((noinline)) int
unmap_mw(hat_t *hat, ht_va_t va, uint64_t len, unsigned flags)
{
	if (flags == 0 && ONE_AT_LEVEL(mw_unmap, hat, len, va, len, NULL, NULL))
		return (0);
	return (unmap_noad(hat, va, len, flags));
}

int
ht_unmap(ht_as_t *as, ht_va_t va, uint64_t len, unsigned flags)
{
	/* the serial cursor or the multi-writer front first (hat_one.h) */
	if (HT_LIKELY(as != NULL)) {
		if (wc_on(as, va, len))
			return (unmap_wc(as, va, len, flags));
		if (mw_on(as))
			return (unmap_mw(as, va, len, flags));
		if (wc_serial(as))	/* the cursor moves by hash */
			return (unmap_ws(as, va, len, flags));
	}
	return (unmap_noad(as, va, len, flags));
}

int
ht_unmap_ad(ht_as_t *as, ht_va_t va, uint64_t len, unsigned flags,
    ht_ad_fn fn, void *arg)
{
	/* the multi-writer front, or a serial space's cursor (hat_one.h) */
	if (HT_LIKELY(as != NULL) && flags == 0 && (mw_on(as) ?
	    ONE_AT_LEVEL(mw_unmap, as, len, va, len, fn, arg) :
	    wc_serial(as) && (wc_on(as, va, len) ||
	    ONE_AT_LEVEL(wc_seek, as, len, va, len)) &&
	    ONE_AT_LEVEL(wc_unmap, as, len, va, len, fn, arg)))
		return (0);
	return (unmap_call(as, va, len, flags, fn, arg));
}

int
unmap_apply(hat_t *hat, uint64_t va, uint64_t last, unsigned flags,
    ht_ad_fn fn, void *arg)
{
	rmap_prep_t rp;
	int err;

	if (flags == 0 && one_unmap(hat, va, last - va + 1, fn, arg))
		return (0);
	/* Removing locked leaves forgets their stacked counts too. */
	if ((flags & HT_UNMAP_UNLOCK) && lockmap_reserve(&hat->hat_locks, 1))
		return (ht__fail(HT_ENOMEM, "no memory for the lock counts"));
	if (rmap_on(hat->hat_ctx) && (err = rmap_prep(hat->hat_ctx, &rp)) != 0) {
		if (flags & HT_UNMAP_UNLOCK)
			lockmap_unreserve(&hat->hat_locks, 1);
		return (err);
	}
	return (unmap_apply_held(hat, va, last, flags, fn, arg,
	    rmap_on(hat->hat_ctx) ? &rp : NULL));
}

int
unmap_apply_held(hat_t *hat, uint64_t va, uint64_t last, unsigned flags,
    ht_ad_fn fn, void *arg, rmap_prep_t *rp)
{
	struct range_arg ra;
	uint64_t leaves;
	htable_t *ht;
	unsigned e, n;
	op_t op;
	int err = 0;

	ra.va = va;
	ra.last = last;
	ra.flags = flags;
	op_begin(&op, hat);
	op.op_ad_fn = fn;
	op.op_ad_arg = arg;
	op.op_rmap = rp;
	if ((ht = one_table_any(hat, va, last, flags & HT_UNMAP_UNLOCK, &e,
	    &n)) != NULL) {
		table_update(ht, e, n, 0, 0, 1);
	} else {
		err = range_prepare(hat, &op, va, last, 0, unmap_check, &ra,
		    &leaves);
		if (err == 0 && leaves != 0)
			range_clear(hat, va, last);
	}
	/* the leaf passes skip non-present data entries: they go here */
	if (err == 0 && (atomic_load(&hat->hat_flags) & HAT_NP))
		np_clear(hat, va, last);
	if (flags & HT_UNMAP_UNLOCK) {
		size_t used = err == 0 ?
		    lockmap_clear(&hat->hat_locks, va, last) : 0;

		lockmap_unreserve(&hat->hat_locks, 1 - used);
	}
	op_end(&op);
	if (rp != NULL)
		rmap_unprep(hat->hat_ctx, rp);
	return (err);
}

/*
 * Change every leaf in [va, va + len) to (old & ~clr[l]) | set[l], l its
 * level, splitting what sticks out; protect and chattr.  The masks are per
 * level because PAT moves: bit 7 at level 0, bit 12 in large leaves.
 */
static int
change_range(hat_t *hat, ht_va_t va, uint64_t len, const x86pte_t *clr,
    const x86pte_t *set)
{
	uint64_t last, leaves;
	htable_t *ht;
	unsigned e, n;
	iter_t it;
	op_t op;
	int err;

	if ((err = range_check_quick(hat_mmu(hat), va, len, &last)) != 0 ||
	    (err = share_refuse(hat, va, last)) != 0)
		return (err);
	if (one_change(hat, va, len, clr, set))
		return (0);
	op_begin(&op, hat);
	if ((ht = one_table_any(hat, va, last, 1, &e, &n)) != NULL) {
		table_update(ht, e, n, clr[ht->ht_level], set[ht->ht_level],
		    0);
		op_end(&op);
		return (0);
	}
	err = range_prepare(hat, &op, va, last, 0, NULL, NULL, &leaves);
	if (leaves != 0 && err == 0) {
		for_each_leaf(&it, hat, va, last) {
			(void) iter_bulk(&it, clr[it.it_level],
			    set[it.it_level], 0);
		}
		iter_stop(&it);
	}
	op_end(&op);
	return (err);
}

/*
 * The entry bits of attributes `attr` in a leaf at `level`, the right set
 * by its absence aside (X in x86, read in EPT: neg_attr).
 */
static x86pte_t
attr_bits(const mmu_t *m, int level, unsigned attr)
{
	/*
	 * mkpte's encoding, without the present, size and address bits, and
	 * without what every leaf carries (NPT's U): never cleared
	 */
	return (mkpte(m, 0, level, attr | m->neg_attr) &
	    m->attr_keep[level != 0] & ~m->leaf_force);
}

/*
 * ht_protect after the cursor (attr checked): the range's change.  idx:
 * PROT_IDX of the attributes.
 */
static __attribute__((noinline)) int
protect_call(hat_t *hat, ht_va_t va, uint64_t len, unsigned idx)
{
	const mmu_t *m = hat_mmu(hat);
	nm_hold_t nh;
	int err;

	nm_enter(hat, &nh);
	err = change_range(hat, va, len, m->prot_clr, m->prot_set[idx]);
	nm_exit(&nh);
	return (err);
}

/* ht_protect in the table of a serial space's cursor, out of line. */
static __attribute__((noinline)) int
protect_wc(hat_t *hat, ht_va_t va, uint64_t len, unsigned idx)
{
	const mmu_t *m = hat_mmu(hat);

	if (ONE_AT_LEVEL(wc_change, hat, len, va, len, m->prot_clr,
	    m->prot_set[idx]))
		return (0);
	return (protect_call(hat, va, len, idx));
}

/* ht_protect in a serial space whose cursor misses: moved by hash first. */
static __attribute__((noinline)) int
protect_ws(hat_t *hat, ht_va_t va, uint64_t len, unsigned idx)
{
	const mmu_t *m = hat_mmu(hat);

	if (ONE_AT_LEVEL(wc_seek, hat, len, va, len) &&
	    ONE_AT_LEVEL(wc_change, hat, len, va, len, m->prot_clr,
	    m->prot_set[idx]))
		return (0);
	return (protect_call(hat, va, len, idx));
}

/* ht_protect in a space that several threads change: the front. */
static __attribute__((noinline)) int
protect_mw(hat_t *hat, ht_va_t va, uint64_t len, unsigned idx)
{
	const mmu_t *m = hat_mmu(hat);

	if (ONE_AT_LEVEL(mw_change, hat, len, va, len, m->prot_clr,
	    m->prot_set[idx]))
		return (0);
	return (protect_call(hat, va, len, idx));
}

/* ht_protect's refusal of attributes: which and why. */
static __attribute__((noinline, cold)) int
protect_refuse(const mmu_t *m, unsigned attr)
{
	int err;

	if (attr & ~(ATTR_PROT | HT_NOREAD))
		return (ht__fail(HT_EINVAL, "protect takes only HT_W, HT_U, "
		    "HT_X%s (0x%x)", m->ept ? ", HT_NOREAD" : "", attr));
	err = mmu_attr_check(m, attr, "protect");
	HT_ASSERT(err != 0);
	return (err);
}

int
ht_protect(ht_as_t *as, ht_va_t va, uint64_t len, unsigned attr)
{
	unsigned idx = PROT_IDX(attr);

	if (as == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	/* the masks per level, made once per context (mmu_tables) */
	_Static_assert(HT_W == 1 && HT_U == 2 && HT_X == 4,
	    "prot_set is indexed by W|U|X");
	if (HT_UNLIKELY((attr & ~(ATTR_PROT | HT_NOREAD)) != 0 ||
	    ((hat_mmu(as)->prot_bad >> idx) & 1)))
		return (protect_refuse(hat_mmu(as), attr));
	/* the serial cursor or the multi-writer front first (hat_one.h) */
	if (wc_on(as, va, len))
		return (protect_wc(as, va, len, idx));
	if (mw_on(as))
		return (protect_mw(as, va, len, idx));
	if (wc_serial(as))	/* the cursor moves by hash */
		return (protect_ws(as, va, len, idx));
	return (protect_call(as, va, len, idx));
}

/*
 * chattr's EPT rule: the rights are named whole or not at all, and so is
 * the memory type, so that every changed leaf is one mmu_attr_check
 * allows (a partial change could leave write without read, or type 2).
 */
static int
chattr_ept_check(const mmu_t *m, unsigned clear, unsigned set)
{
	unsigned all = clear | set;
	unsigned rights = EPT_RIGHTS | (m->ept_xu ? HT_XU : 0);
	int err;

	if ((all & HT_XU) && !m->ept_xu)	/* no bit 10 to change */
		return (mmu_attr_check(m, HT_XU, "chattr"));

	if ((all & rights) != 0 && (all & rights) != rights)
		return (ht__fail(HT_EINVAL, "chattr in EPT names the rights "
		    "whole or not at all: clear or set each of HT_W, HT_X, "
		    "HT_NOREAD%s (clear 0x%x, set 0x%x)", m->ept_xu ?
		    ", HT_XU" : "", clear, set));
	if ((all & EPT_MT_ATTR) != 0 && (all & EPT_MT_ATTR) != EPT_MT_ATTR)
		return (ht__fail(HT_EINVAL, "chattr in EPT names the memory "
		    "type whole or not at all: clear or set each of HT_PWT, "
		    "HT_PCD, HT_PAT (clear 0x%x, set 0x%x)", clear, set));
	/* what the named parts become; HT_X stands in for unnamed rights */
	if ((err = mmu_attr_check(m, set | ((all & rights) ? 0 : HT_X),
	    "chattr")) != 0)
		return (err);
	return (0);
}

int
ht_chattr(ht_as_t *as, ht_va_t va, uint64_t len, unsigned clear,
    unsigned set)
{
	hat_t *hat = as;
	x86pte_t c[HT_MAX_LEVELS], s[HT_MAX_LEVELS];
	const mmu_t *m;
	nm_hold_t nh;
	int err;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	m = hat_mmu(hat);
	if ((clear | set) & ~(ATTR_CHATTR | (m->ept ? HT_NOREAD : 0)))
		return (ht__fail(HT_EINVAL, "chattr changes only HT_W, HT_U, "
		    "HT_X, HT_G, HT_PWT, HT_PCD, HT_PAT%s (clear 0x%x, set "
		    "0x%x)", m->ept ? ", HT_NOREAD" : "", clear, set));
	if (clear & set)
		return (ht__fail(HT_EINVAL, "attributes 0x%x both cleared "
		    "and set", clear & set));
	if (m->ept && (err = chattr_ept_check(m, clear, set)) != 0)
		return (err);
	for (int l = 0; l < HT_MAX_LEVELS; l++) {
		if (l > 1) {	/* as ht_protect: large levels alike */
			c[l] = c[1];
			s[l] = s[1];
			continue;
		}
		/* X is the absence of NX; EPT's HT_NOREAD that of read */
		c[l] = attr_bits(m, l, clear) | ((set & m->neg_attr) ?
		    m->neg_bit : 0);
		s[l] = attr_bits(m, l, set) | ((clear & m->neg_attr) ?
		    m->neg_bit : 0);
	}
	nm_enter(hat, &nh);
	err = change_range(hat, va, len, c, s);
	nm_exit(&nh);
	return (err);
}

int
hat_clear_write(hat_t *hat, ht_va_t va, uint64_t len)
{
	x86pte_t c[HT_MAX_LEVELS], s[HT_MAX_LEVELS];
	nm_hold_t nh;
	int err;

	for (int l = 0; l < HT_MAX_LEVELS; l++) {
		c[l] = PT_WRITABLE;
		s[l] = 0;
	}
	nm_enter(hat, &nh);
	err = change_range(hat, va, len, c, s);
	nm_exit(&nh);
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

/*
 * Runs of contiguous locked leaves in [va, last]: what a lock of the
 * range may add to the lock map (see lock_range).
 */
static uint64_t
locked_runs(hat_t *hat, uint64_t va, uint64_t last)
{
	uint64_t runs = 0, next = 0;
	int open = 0;
	iter_t it;

	for_each_leaf(&it, hat, va, last) {
		int locked = (it.it_pte & hat_mmu(hat)->pt_locked) != 0;

		if (locked && (!open || it.it_va != next))
			runs++;
		open = locked;
		next = it.it_va + it.it_size;
	}
	iter_stop(&it);
	return (runs);
}

/*
 * Lock or unlock a range.  Locks stack: bit 9 of a leaf (PT_LOCKED, a
 * software bit: no TLB work) says "locked at least once", and the lock
 * map (lockmap.h) keeps the count beyond that by VA.  Locking a leaf that
 * is already locked adds 1 there; unlocking a leaf whose count is above 1
 * takes 1 away, else clears the bit.  Room in the map is promised before
 * anything changes, so the pass cannot fail.
 */
static int
lock_range(hat_t *hat, ht_va_t va, uint64_t len, int lock)
{
	struct range_arg ra;
	uint64_t last, leaves, runs = 0, flush_va = 0, flush_last = 0;
	size_t room, used = 0;
	x86pte_t lk;
	lockmap_t *lm;
	int flushing = 0;
	iter_t it;
	op_t op;
	int err;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	lk = hat_mmu(hat)->pt_locked;
	if ((err = range_check(hat_mmu(hat), va, len, &last)) != 0 ||
	    (err = share_refuse(hat, va, last)) != 0)
		return (err);
	lm = &hat->hat_locks;
	ra.va = va;
	ra.last = last;
	ra.flags = (unsigned)lock;
	op_begin(&op, hat);
	/*
	 * A lock adds to the map at most a run per run of leaves that were
	 * locked already, plus the cuts at the ends of those runs, plus a
	 * filler per run the map has inside them; an unlock subtracts 1 over
	 * the whole range (every leaf in it is locked), which cuts at most
	 * the two ends.
	 */
	if (lock)
		runs = locked_runs(hat, va, last);
	room = lock ? lockmap_count(lm) + 4 * runs + 4 : 2;
	if (lockmap_reserve(lm, room) != 0) {
		op_end(&op);
		return (ht__fail(HT_ENOMEM, "no memory for the lock counts "
		    "of [0x%llx, 0x%llx]", (unsigned long long)va,
		    (unsigned long long)last));
	}
	/* A lock covers whole leaves: what sticks out is split. */
	err = range_prepare(hat, &op, va, last, 1, unlock_check, &ra, &leaves);
	if (leaves != 0 && err == 0) {
		for_each_leaf(&it, hat, va, last) {
			uint64_t end = it.it_va + (it.it_size - 1);

			if (lock && (it.it_pte & lk)) {
				/* one more lock on a locked leaf: the map */
				if (flushing && flush_last + 1 == it.it_va) {
					flush_last = end;
					continue;
				}
				if (flushing)
					used += lockmap_add(lm, flush_va,
					    flush_last, 1);
				flushing = 1;
				flush_va = it.it_va;
				flush_last = end;
				continue;
			}
			if (!lock && lockmap_extra(lm, it.it_va) != 0)
				continue;	/* the map's -1 below */
			/* < 0: an overlapping unmap took the leaf first */
			while (iter_cas(&it, lock ? it.it_pte | lk :
			    it.it_pte & ~lk, 0) == 0)
				;
		}
		iter_stop(&it);
		if (flushing)
			used += lockmap_add(lm, flush_va, flush_last, 1);
		if (!lock)
			used += lockmap_add(lm, va, last, -1);
	}
	HT_VERIFY(used <= room);
	lockmap_unreserve(lm, room - used);
	op_end(&op);
	return (err);
}

/* lock_range with the no-MMU write lock (nommu.c) around it */
static int
lock_range_nm(hat_t *hat, ht_va_t va, uint64_t len, int lock)
{
	nm_hold_t nh;
	int err;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	nm_enter(hat, &nh);
	err = lock_range(hat, va, len, lock);
	nm_exit(&nh);
	return (err);
}

int
ht_lock(ht_as_t *as, ht_va_t va, uint64_t len)
{
	return (lock_range_nm(as, va, len, 1));
}

int
ht_unlock(ht_as_t *as, ht_va_t va, uint64_t len)
{
	return (lock_range_nm(as, va, len, 0));
}

/*
 * A/D harvesting.  A leaf wholly inside the range has its bits cleared
 * (HT_AD_CLEAR).  A large leaf that sticks out of the range is reported
 * whole but keeps its bits: they stand for its pages outside the range
 * too, whose state clearing would lose.  HT_AD_SPLIT first splits every
 * large leaf of the range down to 4 KiB leaves inside it (what KVM does
 * to huge pages when dirty logging starts), so that nothing sticks out and
 * each page is tracked on its own from then on; the split leaves inherit
 * the large leaf's bits.  Its frames are reserved first (range_small_cost),
 * so a failure changes nothing.
 */
static long
harvest_ad(ht_as_t *as, ht_va_t va, uint64_t len, unsigned bits,
    unsigned flags, ht_ad_fn fn, void *arg)
{
	hat_t *hat = as;
	uint64_t last, need = 0;
	x86pte_t mask = 0;
	iter_t it;
	op_t op;
	long n = 0;
	int err;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	if ((err = range_check(hat_mmu(hat), va, len, &last)) != 0)
		return (err);
	if (bits == 0 || (bits & ~(HT_A | HT_D)))
		return (ht__fail(HT_EINVAL, "bits 0x%x: give HT_A and/or HT_D",
		    bits));
	if (flags & ~(HT_AD_CLEAR | HT_AD_SPLIT))
		return (ht__fail(HT_EINVAL, "unknown flags 0x%x", flags));
	/* reporting reads through a shared region; changing it may not */
	if (flags != 0 && (err = share_refuse(hat, va, last)) != 0)
		return (err);
	if (bits & HT_A)
		mask |= hat_mmu(hat)->pt_ref;
	if (bits & HT_D)
		mask |= hat_mmu(hat)->pt_mod;
	op_begin(&op, hat);
	if (flags & HT_AD_SPLIT) {
		err = range_small_cost(hat, va, last, &need);
		if (err == 0 && need > UINT_MAX)
			err = ht__fail(HT_ENOFRAME, "splitting [0x%llx, 0x%llx] "
			    "to 4 KiB pages needs %llu tables",
			    (unsigned long long)va, (unsigned long long)last,
			    (unsigned long long)need);
		if (err == 0)
			err = op_prealloc_tables(&op, (unsigned)need);
		if (err == 0)
			err = range_split_small(hat, va, last);
		if (err != 0) {
			op_end(&op);
			return (err);
		}
	}
	for_each_leaf(&it, hat, va, last) {
		x86pte_t had = it.it_pte & mask;
		int clear = (flags & HT_AD_CLEAR) && it.it_va >= va &&
		    it.it_va + (it.it_size - 1) <= last;

		if (had == 0)
			continue;
		/*
		 * Clearing needs a TLB flush: a cached translation would let
		 * the MMU access (or dirty) the page without setting the bit.
		 */
		while (clear && (it.it_pte & mask) != 0 &&
		    iter_cas(&it, it.it_pte & ~mask, 1) == 0)
			had |= it.it_pte & mask;
		n++;
		if (fn != NULL)
			fn(arg, it.it_va, it.it_size,
			    pte_ad(hat_mmu(hat), had));
	}
	iter_stop(&it);
	op_end(&op);
	return (n);
}

long
ht_harvest_ad(ht_as_t *as, ht_va_t va, uint64_t len, unsigned bits,
    unsigned flags, ht_ad_fn fn, void *arg)
{
	nm_hold_t nh;
	long n;

	/* only clearing and splitting change entries (nommu.c) */
	if (as == NULL || flags == 0)
		return (harvest_ad(as, va, len, bits, flags, fn, arg));
	nm_enter(as, &nh);
	n = harvest_ad(as, va, len, bits, flags, fn, arg);
	nm_exit(&nh);
	return (n);
}
