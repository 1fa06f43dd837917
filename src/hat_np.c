/*
 * hat_np.c - non-present entries that carry the client's data: ht_set_np,
 * ht_get_np, ht_walk_np, and their removal by ht_unmap and ht_map.
 *
 * A VMM or kernel keeps data in entries the MMU sees as not present (bit 0
 * clear): KVM's MMIO entries, Linux's swap entries.  Such an entry ("np
 * entry") lives only in a level-0 table, where it
 *  - counts in ht_valid_cnt, so the table is never freed under it (release,
 *    purge and reap free only empty tables);
 *  - counts in ht_lock_cnt, like a locked leaf, so the table is never
 *    stolen: stealing empties a table, and this data cannot be re-made.
 * mmu.h (pte_is_np, pte_counted, pte_pins) says how each entry counts.
 *
 * Writing goes through ht_map's machinery (map_apply in hat_map.c): the
 * same census (locked leaves refuse), reservation of the level-0 tables,
 * splits at the edges and fill loop, with level-0 runs whose entries are
 * value + i * incr instead of leaves.  Replacing an entry (a leaf by an np
 * entry or the other way) is one compare-and-swap with the counts moved
 * by the difference, so a mapping replaces np entries as ht_map replaces
 * mappings.
 *
 * The leaf iterator (iter.h) visits present leaves only, so protect, lock,
 * unlock, A/D harvesting, walks and the census skip np entries without a
 * test.  Removal has its own pass (np_clear, in hat_range.c because map
 * and unmap share it), run by ht_unmap after its leaf pass and by ht_map
 * before its fill, only in spaces that ever held
 * an np entry (HAT_NP): the others pay one flag test.  The pass visits the
 * level-0 tables of the range by hash lookups level by level, skipping
 * every region whose table is missing, and reads only tables whose lock
 * count is non-zero.
 *
 * Concurrency: as for every range operation, changes of overlapping ranges
 * are ordered by the caller.  An np entry is never cached by a TLB and
 * never written by an MMU, so np entries are cleared with plain stores and
 * need no TLB work.
 */
#include "iter.h"
#include "hat_range.h"
#include "nommu.h"
#include "share.h"
#include "debug.h"

int
ht_set_np(ht_as_t *as, ht_va_t va, uint64_t len, uint64_t value,
    uint64_t incr)
{
	hat_t *hat = as;
	const mmu_t *m;
	uint64_t last, n, max, low;
	const char *what;
	np_src_t np;
	nm_hold_t nh;
	int err;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	m = hat_mmu(hat);
	if ((err = range_check(m, va, len, &last)) != 0)
		return (err);
	n = len >> HT_PAGE_SHIFT;
	max = m->pte_size == 4 ? 0xffffffffull : ~0ull;
	if (value == 0)
		return (ht__fail(HT_EINVAL, "value 0 is an empty entry"));
	/*
	 * The present bits are low ones (bit 0; EPT's 0-2, and 10 with
	 * MBEC): an increment that is zero through the highest of them never
	 * carries into them, any other sets one in some entry of a run.
	 */
	low = (1ull << (64 - __builtin_clzll(m->pt_present))) - 1;
	what = m->pt_present == 1 ? "bit 0 (present)" : m->ept_xu == 0 ?
	    "a bit of 0-2 (read, write, execute: present)" :
	    "a bit of 0-2 or bit 10 (read, write, execute, user-execute: "
	    "present)";
	if (pte_valid(m, value))
		return (ht__fail(HT_EINVAL, "value 0x%llx has %s set",
		    (unsigned long long)value, what));
	if (n > 1 && (incr & low))
		return (ht__fail(HT_EINVAL, "%s 0x%llx would set %s in some "
		    "entries", m->pt_present == 1 ? "odd increment" :
		    "increment", (unsigned long long)incr, what));
	if (value > max || (n > 1 && incr > (max - value) / (n - 1)))
		return (ht__fail(HT_EINVAL, "values 0x%llx + i * 0x%llx for "
		    "%llu pages do not fit %d-bit entries",
		    (unsigned long long)value, (unsigned long long)incr,
		    (unsigned long long)n, m->pte_size * 8));
	if ((err = share_refuse(hat, va, last)) != 0)
		return (err);
	np.va = va;
	np.value = value;
	np.incr = incr;
	nm_enter(hat, &nh);
	err = map_apply(hat, va, 0, len, 0, 1u, 0, &np, 0, NULL, NULL);
	nm_exit(&nh);
	if (err == 0)
		atomic_fetch_or(&hat->hat_flags, HAT_NP);
	return (err);
}

int
ht_get_np(ht_as_t *as, ht_va_t va, uint64_t *r_value)
{
	hat_t *hat = as;
	const mmu_t *m;
	htable_t *ht;
	x86pte_t pte = 0;
	ht_pa_t pa;

	if (hat == NULL || r_value == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	m = hat_mmu(hat);
	if (!m->has_hole && va > m->va_last)
		return (ht__fail(HT_ERANGE, "va 0x%llx beyond the %s",
		    (unsigned long long)va, mmu_space(m)));
	if (!mmu_va_ok(m, va))
		return (ht__fail(HT_ENONCANON, "va 0x%llx is not canonical",
		    (unsigned long long)va));
	if ((ht = htable_lookup(hat, va, 0)) != NULL) {
		pte = x86pte_get(ht, htable_va2entry(va, ht));
		htable_release(ht);
		if (pte_is_np(m, pte, 0)) {
			*r_value = pte;
			return (0);
		}
	} else if (ht_va2pa(hat, va, &pa) == 0) {
		pte = m->pt_present;	/* a large page maps it */
	}
	if (pte_valid(m, pte))
		return (ht__fail(HT_EEXIST, "va 0x%llx is mapped (present), "
		    "not a non-present entry", (unsigned long long)va));
	return (ht__fail(HT_ENOTMAPPED, "va 0x%llx has no entry",
	    (unsigned long long)va));
}

struct walk_np {
	ht_np_fn	fn;
	void		*arg;
};

static int
walk_table(htable_t *ht, unsigned lo, unsigned hi, void *arg)
{
	const struct walk_np *w = arg;
	const mmu_t *m = hat_mmu(ht->ht_hat);
	uint8_t *base = x86pte_access_pagetable(ht, 0);
	int rc = 0;

	for (unsigned e = lo; e <= hi && rc == 0; e++) {
		x86pte_t pte = pte_load(m->pte_size, pte_ptr(m->pte_shift,
		    base, e));

		if (pte_is_np(m, pte, 0))
			rc = w->fn(w->arg, htable_e2va(ht, e), pte);
	}
	return (rc);
}

int
ht_walk_np(ht_as_t *as, ht_va_t start, ht_va_t last, ht_np_fn fn,
    void *arg)
{
	hat_t *hat = as;
	const mmu_t *m;
	struct walk_np w;
	int rc;

	if (hat == NULL || fn == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	m = hat_mmu(hat);
	if ((rc = walk_check(m, start, last)) != 0)
		return (rc);
	if (!(atomic_load(&hat->hat_flags) & HAT_NP))
		return (0);
	w.fn = fn;
	w.arg = arg;
	return (np_tables(hat, start & ~(uint64_t)(HT_PAGE_SIZE - 1), last,
	    walk_table, &w));
}
