/*
 * hat_change.c - changing what is mapped: ht_unmap, ht_protect, ht_lock,
 * ht_unlock and Accessed/Dirty harvesting.  Each takes the census and
 * splits the edges (hat_range.c), then makes one pass of the leaf
 * iterator, or takes the single-table fast path.  ht_unmap_ad reports the
 * A/D bits of the leaves it removes through the operation's sink (hat.c).
 */
#include <limits.h>

#include "iter.h"
#include "hat.h"
#include "hat_range.h"
#include "frame.h"
#include "debug.h"

#define ATTR_PROT	(HT_W | HT_U | HT_X)

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

int
ht_unmap(ht_as_t *as, ht_va_t va, uint64_t len, unsigned flags)
{
	return (ht_unmap_ad(as, va, len, flags, NULL, NULL));
}

int
ht_unmap_ad(ht_as_t *hat, ht_va_t va, uint64_t len, unsigned flags,
    ht_ad_fn fn, void *arg)
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
	op.op_ad_fn = fn;
	op.op_ad_arg = arg;
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
			(void) ht_iter_bulk(&it, clr, set, 0);
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
long
ht_test_clear_ad(ht_as_t *hat, ht_va_t va, uint64_t len, unsigned bits,
    unsigned flags, ht_ad_fn fn, void *arg)
{
	uint64_t last, need = 0;
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
	if (flags & ~(HT_AD_CLEAR | HT_AD_SPLIT))
		return (ht__fail(HT_EINVAL, "unknown flags 0x%x", flags));
	if (bits & HT_A)
		mask |= PT_REF;
	if (bits & HT_D)
		mask |= PT_MOD;
	ht_op_begin(&op, hat);
	if (flags & HT_AD_SPLIT) {
		err = range_small_cost(hat, va, last, &need);
		if (err == 0 && need > UINT_MAX)
			err = ht__fail(HT_ENOFRAME, "splitting [0x%llx, 0x%llx] "
			    "to 4 KiB pages needs %llu tables",
			    (unsigned long long)va, (unsigned long long)last,
			    (unsigned long long)need);
		if (err == 0)
			err = ht_op_prealloc(&op, (unsigned)need);
		if (err == 0)
			err = range_split_small(hat, va, last);
		if (err != 0) {
			ht_op_end(&op);
			return (err);
		}
	}
	for (ht_iter_start(&it, hat, va, last); !it.it_done;
	    ht_iter_next(&it)) {
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
