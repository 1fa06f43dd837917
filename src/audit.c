/*
 * audit.c - check every invariant of an address space against its frames
 * (illumos has these checks spread over ASSERTs; we gather them in one
 * whole-object checker that tests call after every step).
 *
 * The space must be quiet: no other thread changing it.  Checked:
 *  - every table is on the hash chain its (vaddr, level) hashes to, with
 *    a vaddr aligned to the region it covers, canonical, in range;
 *  - the root is hat_htable, at (0, max_level), with no parent;
 *  - ht_valid_cnt == valid entries, ht_lock_cnt == locked leaves, both
 *    plus the non-present data entries of level-0 tables (hat_np.c), which
 *    only a space marked HAT_NP may hold;
 *  - every link names the frame of the table at (e2va, level - 1), whose
 *    ht_parent is this table; every non-root table is linked exactly once;
 *  - ht_busy == children + (root ? 1 : 0): no hold is left behind;
 *  - leaves only at levels the CPU allows, no reserved bits, no PA beyond
 *    the physical width; leaf counts per level match hat_pages_mapped;
 *  - no frame is used twice (tables and cached tables), frames lie in the
 *    pools, cached tables are zero and unhashed;
 *  - the lock map (lockmap.h): runs sorted, disjoint, counts >= 1, touching
 *    runs of equal count merged, and every page of a run mapped by locked
 *    leaves that lie wholly inside it.
 */
#include <stdlib.h>

#include "htable_int.h"
#include "iter.h"
#include "x86pte.h"
#include "frame.h"
#include "debug.h"

#define BAD(...)	do { err = ht__fail(HT_ECORRUPT, __VA_ARGS__); \
	goto out; } while (0)

static htable_t *
find(hat_t *hat, uint64_t va, int level)
{
	for (unsigned h = 0; h < hat->hat_num_hash; h++)
		for (htable_t *ht = hat->hat_ht_hash[h]; ht != NULL;
		    ht = ht->ht_next)
			if (ht->ht_vaddr == va && ht->ht_level == level)
				return (ht);
	return (NULL);
}

static int
audit_table(hat_t *hat, htable_t *ht, uint64_t *leaves, unsigned *linked_to)
{
	const mmu_t *m = hat_mmu(hat);
	unsigned n = htable_num_ptes(ht), valid = 0, locked = 0, children = 0;
	unsigned np = 0;
	int level = ht->ht_level;
	int err = 0;

	if (ht->ht_flags & HTABLE_SHARED_PFN) {
		/* the entries are the source's; only the borrowing is ours */
		if (ht->ht_shares == NULL || ht->ht_pfn !=
		    ht->ht_shares->ht_pfn || BUSY(ht) != 0)
			BAD("shared table 0x%llx level %d does not mirror its "
			    "source", (unsigned long long)ht->ht_vaddr, level);
		return (0);
	}
	for (unsigned e = 0; e < n; e++) {
		x86pte_t pte = x86pte_get(ht, e);
		uint64_t va = htable_e2va(ht, e);

		if (pte_is_np(pte, level)) {
			np++;
			continue;
		}
		if (!(pte & PT_VALID)) {
			if (pte != 0 && !(ht->ht_flags & HTABLE_IMPORTED))
				BAD("level-%d table 0x%llx entry %u: not "
				    "present but not zero (0x%llx)", level,
				    (unsigned long long)ht->ht_vaddr, e,
				    (unsigned long long)pte);
			continue;
		}
		valid++;
		if (pte_is_ptp(pte, level)) {
			htable_t *c = find(hat, va, level - 1);

			if (pte & m->rsvd_ptp[level])
				BAD("link 0x%llx at level %d has reserved "
				    "bits", (unsigned long long)pte, level);
			if (c == NULL)
				BAD("level-%d entry %u of table 0x%llx links "
				    "to frame 0x%llx with no descriptor at "
				    "0x%llx", level, e,
				    (unsigned long long)ht->ht_vaddr,
				    (unsigned long long)pte_pfn(m, pte, level),
				    (unsigned long long)va);
			if (c->ht_pfn != pte_pfn(m, pte, level))
				BAD("link at 0x%llx level %d names frame "
				    "0x%llx, child has 0x%llx",
				    (unsigned long long)va, level,
				    (unsigned long long)pte_pfn(m, pte, level),
				    (unsigned long long)c->ht_pfn);
			if (c->ht_parent != ht)
				BAD("child 0x%llx level %d has the wrong "
				    "parent", (unsigned long long)va,
				    level - 1);
			if (!(ht->ht_flags & HTABLE_IMPORTED) &&
			    pte != mkptp(m, c->ht_pfn, level))
				BAD("link 0x%llx at 0x%llx is not what "
				    "link_ptp writes", (unsigned long long)pte,
				    (unsigned long long)va);
			children++;
			linked_to[0]++;
			continue;
		}
		if (!mmu_leaf_ok(m, level))
			BAD("leaf at level %d (va 0x%llx) where the CPU has "
			    "no such pages", level, (unsigned long long)va);
		if (pte & m->rsvd_leaf[level])
			BAD("leaf 0x%llx at va 0x%llx has reserved bits",
			    (unsigned long long)pte, (unsigned long long)va);
		if (pte_pa(m, pte, level) + LEVEL_SIZE(m, level) - 1 >=
		    m->pa_limit)
			BAD("leaf at va 0x%llx maps beyond the physical width",
			    (unsigned long long)va);
		if (level == 0 && m->pte_size == 4 && (pte >> 32) != 0)
			BAD("32-bit entry wider than 32 bits");
		if (pte & PT_LOCKED)
			locked++;
		leaves[level]++;
	}
	if (np != 0 && !(atomic_load(&hat->hat_flags) & HAT_NP))
		BAD("level-0 table 0x%llx: %u non-present data entries in a "
		    "space not marked HAT_NP", (unsigned long long)ht->ht_vaddr,
		    np);
	if ((unsigned)atomic_load(&ht->ht_valid_cnt) != valid + np &&
	    !(ht->ht_flags & HTABLE_SHARED_PFN))
		BAD("level-%d table 0x%llx: valid count %d, %u valid entries "
		    "and %u non-present data entries", level,
		    (unsigned long long)ht->ht_vaddr,
		    (int)atomic_load(&ht->ht_valid_cnt), valid, np);
	if (atomic_load(&ht->ht_lock_cnt) != locked + np)
		BAD("level-%d table 0x%llx: lock count %u, %u locked leaves "
		    "and %u non-present data entries", level,
		    (unsigned long long)ht->ht_vaddr,
		    (unsigned)atomic_load(&ht->ht_lock_cnt), locked, np);
	if ((unsigned)BUSY(ht) != children +
	    (ht == hat->hat_htable ? 1u : 0u))
		BAD("level-%d table 0x%llx: busy %d, expected %u (a hold "
		    "was leaked or lost)", level,
		    (unsigned long long)ht->ht_vaddr, (int)ht->ht_busy,
		    children + (ht == hat->hat_htable ? 1u : 0u));
out:
	return (err);
}

struct runs_copy {
	lockrun_t	*r;
	size_t		n, cap;
};

static int
copy_run(void *arg, const lockrun_t *r)
{
	struct runs_copy *c = arg;

	if (c->n == c->cap)
		return (1);
	c->r[c->n++] = *r;
	return (0);
}

/* The lock map against the leaves (see the list at the top). */
static int
audit_locks(hat_t *hat)
{
	struct runs_copy c = { NULL, 0, lockmap_count(&hat->hat_locks) };
	int err = 0;

	if (c.cap == 0)
		return (0);
	if ((c.r = malloc(c.cap * sizeof (*c.r))) == NULL)
		return (ht__fail(HT_ECORRUPT, "out of memory during audit"));
	/* copied first: the leaf walk takes locks the map's may not nest */
	if (lockmap_each(&hat->hat_locks, copy_run, &c) != 0)
		BAD("lock map changed during the audit");
	for (size_t i = 0; i < c.n; i++) {
		const lockrun_t *r = &c.r[i];
		uint64_t next = r->lr_va;
		ht_iter_t it;

		if (r->lr_extra == 0 || r->lr_last < r->lr_va)
			BAD("lock map run [0x%llx, 0x%llx] count %llu is empty",
			    (unsigned long long)r->lr_va,
			    (unsigned long long)r->lr_last,
			    (unsigned long long)r->lr_extra);
		if (i > 0 && (c.r[i - 1].lr_last >= r->lr_va ||
		    (c.r[i - 1].lr_last + 1 == r->lr_va &&
		    c.r[i - 1].lr_extra == r->lr_extra)))
			BAD("lock map runs at 0x%llx overlap or are unmerged",
			    (unsigned long long)r->lr_va);
		for (ht_iter_start(&it, hat, r->lr_va, r->lr_last);
		    !it.it_done && err == 0; ht_iter_next(&it)) {
			if (it.it_va != next || !(it.it_pte & PT_LOCKED) ||
			    it.it_va + (it.it_size - 1) > r->lr_last)
				err = ht__fail(HT_ECORRUPT, "lock count at "
				    "0x%llx: the leaf there is missing, "
				    "unlocked or sticks out of the run "
				    "[0x%llx, 0x%llx]", (unsigned long long)
				    next, (unsigned long long)r->lr_va,
				    (unsigned long long)r->lr_last);
			next = it.it_va + it.it_size;
		}
		ht_iter_stop(&it);
		if (err != 0)
			goto out;
		if (next != r->lr_last + 1)
			BAD("lock count at 0x%llx: no locked leaf there",
			    (unsigned long long)next);
	}
out:
	free(c.r);
	return (err);
}

int
ht_audit(ht_as_t *hat)
{
	const mmu_t *m;
	uint64_t leaves[HT_MAX_LEVELS] = { 0 };
	unsigned ntables = 0, nlinks = 0;
	pfnset_t seen = { NULL, 0, 0 };
	int err = 0;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	m = hat_mmu(hat);
	if (hat->hat_htable == NULL || hat->hat_htable->ht_level !=
	    hat->hat_max_level || hat->hat_htable->ht_vaddr != 0 ||
	    hat->hat_htable->ht_parent != NULL ||
	    find(hat, 0, hat->hat_max_level) != hat->hat_htable)
		BAD("root descriptor is wrong or not hashed");
	for (unsigned h = 0; h < hat->hat_num_hash; h++) {
		for (htable_t *ht = hat->hat_ht_hash[h]; ht != NULL;
		    ht = ht->ht_next) {
			int level = ht->ht_level;
			uint64_t cover;

			ntables++;
			if (ht->ht_hat != hat)
				BAD("table on the hash of another space");
			if (level < 0 || level > hat->hat_max_level)
				BAD("table with level %d", level);
			if (ht->ht_next != NULL && ht->ht_next->ht_prev != ht)
				BAD("hash chain %u is broken", h);
			if (h != (htable_base(hat, ht->ht_vaddr, level) ==
			    ht->ht_vaddr ? h : ~0u))
				BAD("table 0x%llx level %d: vaddr not aligned "
				    "to its region", (unsigned long long)
				    ht->ht_vaddr, level);
			if (htable_mutex(ht) != &hat->hat_ctx->ctx_bucket_mtx[
			    h & (HTABLE_NMUTEX - 1)])
				BAD("table 0x%llx level %d is on chain %u, "
				    "not its own", (unsigned long long)
				    ht->ht_vaddr, level, h);
			if (!mmu_va_ok(m, ht->ht_vaddr))
				BAD("table vaddr 0x%llx not canonical",
				    (unsigned long long)ht->ht_vaddr);
			cover = level == hat->hat_max_level ? 0 :
			    LEVEL_SIZE(m, level + 1);
			(void) cover;
			if (level != hat->hat_max_level &&
			    (ht->ht_parent == NULL ||
			    ht->ht_parent->ht_level != level + 1))
				BAD("table 0x%llx level %d has no parent one "
				    "level up", (unsigned long long)
				    ht->ht_vaddr, level);
			if (!(ht->ht_flags & (HTABLE_COPIED |
			    HTABLE_SHARED_PFN))) {
				int r = pfnset_add(&seen, ht->ht_pfn);

				if (r < 0)
					BAD("out of memory during audit");
				if (r > 0)
					BAD("frame 0x%llx used twice",
					    (unsigned long long)ht->ht_pfn);
				if (!(ht->ht_flags & HTABLE_IMPORTED) &&
				    !ptable_in_pools(hat->hat_ctx, ht->ht_pfn))
					BAD("frame 0x%llx is outside the pools",
					    (unsigned long long)ht->ht_pfn);
				if (ht->ht_ptr != ptable_map(hat->hat_ctx,
				    ht->ht_pfn) && !(ht->ht_flags &
				    HTABLE_IMPORTED))
					BAD("cached pointer of frame 0x%llx is "
					    "stale", (unsigned long long)
					    ht->ht_pfn);
			}
			if ((err = audit_table(hat, ht, leaves,
			    &nlinks)) != 0)
				goto out;
		}
	}
	if (nlinks + 1 != ntables)
		BAD("%u tables but %u links: a table is unreachable", ntables,
		    nlinks);
	for (int l = 0; l < m->num_level; l++)
		if (leaves[l] != atomic_load(&hat->hat_pages_mapped[l]))
			BAD("level %d: %llu leaves, page count says %llu", l,
			    (unsigned long long)leaves[l], (unsigned long long)
			    atomic_load(&hat->hat_pages_mapped[l]));
	for (htable_t *ht = hat->hat_ht_cached; ht != NULL; ht = ht->ht_next) {
		const uint64_t *w = ht->ht_ptr;
		int r = pfnset_add(&seen, ht->ht_pfn);

		if (r != 0)
			BAD("cached frame 0x%llx also in use",
			    (unsigned long long)ht->ht_pfn);
		for (unsigned i = 0; i < HT_PAGE_SIZE / 8; i++)
			if (w[i] != 0)
				BAD("cached table frame 0x%llx is not zero",
				    (unsigned long long)ht->ht_pfn);
	}
	err = audit_locks(hat);
out:
	free(seen.slots);
	return (err);
}
