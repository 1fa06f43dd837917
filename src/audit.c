/*
 * audit.c - check every invariant of an address space against its frames
 * (illumos has these checks spread over ASSERTs; we gather them in one
 * whole-object checker that tests call after every step).
 *
 * The caller keeps the space quiet: none of its own calls changes the
 * space during the audit.  Stealers (operations on the context's other
 * spaces, ht_ctx_reap) are the library's own doing, so the audit holds
 * them off itself: it waits until no stealer is on the space and marks it
 * HAT_VICTIM, as a stealer does, for the length of the check (a stealer
 * skips a VICTIM space; ht_as_destroy waits for the mark to go).
 *
 * Checked; each failure names its invariant in ht_errdetail():
 *  - hash: every table is on the chain htable_hash gives for its (vaddr,
 *    level), chain links agree both ways (the head has no ht_prev), it
 *    belongs to this space, its level is in range, its vaddr is aligned
 *    to the region it covers and canonical;
 *  - root: hat_htable, at (0, max_level), hashed, with no parent; every
 *    other table has a parent one level up;
 *  - counts: ht_valid_cnt == valid entries, ht_lock_cnt == locked leaves;
 *    a not-present entry is zero (imported tables excepted);
 *  - links: no reserved bits, the frame of the table at (e2va, level - 1)
 *    whose ht_parent is this table, in the form link_ptp writes; every
 *    non-root table is linked exactly once (tables == links + 1);
 *  - holds: ht_busy == children + (root ? 1 : 0) + sharers: no hold left
 *    behind; sharers only in a space that shares out;
 *  - leaves: only at levels the CPU allows, no reserved bits (they include
 *    every address bit at or above the physical width, so no leaf maps
 *    beyond it); leaf counts per level match the shards of hat_pm;
 *  - frames: none used twice (tables and cached tables), all in the
 *    pools, the cached host pointer current;
 *  - shared tables (a sharer's descriptor of a source's table): the
 *    source's frame and pointer, its level and alignment in another
 *    space that shares out and counts it; no entries counted, and only
 *    the region's hold;
 *  - cache: cached tables are zero, and the shards' pm_ncached count them;
 *  - np entries: non-present data entries (hat_np.c) only at level 0 of a
 *    space marked HAT_NP, counted in ht_valid_cnt and ht_lock_cnt;
 *  - the lock map (lockmap.h): runs sorted, disjoint, counts >= 1, touching
 *    runs of equal count merged, and every page of a run mapped by locked
 *    leaves that lie wholly inside it;
 *  - the reverse map (rmap.c), when the context keeps one: the space's
 *    extents are well formed, disjoint, counted, in the context's PA
 *    index, and cover exactly its own leaves, each at its frame;
 *  - CPU roots (cpuroot.c): every copy of a top-level entry of the space,
 *    in each CPU root that runs it or copies it as a kernel half, equals
 *    the entry; 32-bit paging: no 4 MiB page in such a root.
 */
#include <stdlib.h>

#include "htable_int.h"
#include "iter.h"
#include "x86pte.h"
#include "frame.h"
#include "cpuroot.h"
#include "rmap.h"
#include "debug.h"
#include "lock.h"

#define BAD(...)	do { err = ht__fail(HT_ECORRUPT, __VA_ARGS__); \
	goto out; } while (0)

/*
 * The descriptor of (va, level), on the chain the hash names: the pass
 * over the descriptors (audit_desc) has checked that every one is on
 * its own chain, so a link's child is found in one chain, not the whole
 * hash (which made the audit quadratic in the tables).
 */
static htable_t *
find(hat_t *hat, uint64_t va, int level)
{
	ht_hash_t *t = htable_hash_cur(hat);

	for (htable_t *ht = *htable_head(t, htable_hash(hat, t, va, level));
	    ht != NULL; ht = ht->ht_next)
		if (ht->ht_vaddr == va && ht->ht_level == level)
			return (ht);
	return (NULL);
}

static int
audit_table(hat_t *hat, htable_t *ht, uint64_t *leaves, unsigned *linked_to,
    rmap_audit_t *ra)
{
	const mmu_t *m = hat_mmu(hat);
	unsigned valid = 0, locked = 0, children = 0, np = 0;
	int level = ht->ht_level;
	entry_iter_t ei;
	int err = 0;

	if (ht->ht_flags & HTABLE_SHARED_PFN) {
		/* the entries are the source's; only the borrowing is ours */
		const htable_t *src = ht->ht_shares;

		if (src == NULL || src->ht_hat == hat ||
		    ht->ht_pfn != src->ht_pfn || ht->ht_ptr != src->ht_ptr ||
		    src->ht_level != level ||
		    (src->ht_flags & HTABLE_SHARED_PFN) ||
		    ((src->ht_vaddr ^ ht->ht_vaddr) &
		    (LEVEL_SIZE(m, level + 1) - 1)) != 0)
			BAD("shared table 0x%llx level %d does not borrow a "
			    "source's table of its level and alignment",
			    (unsigned long long)ht->ht_vaddr, level);
		if (atomic_load(&src->ht_nsharers) < 1 ||
		    !(atomic_load(&src->ht_hat->hat_flags) & HAT_SHARED))
			BAD("shared table 0x%llx level %d: its source does not "
			    "count it", (unsigned long long)ht->ht_vaddr, level);
		if (ht_valid(ht) != 0 ||
		    atomic_load(&ht->ht_lock_cnt) != 0 || BUSY(ht) != 1)
			BAD("shared table 0x%llx level %d: valid %d, lock %u, "
			    "busy %d (expected 0, 0 and the region's hold)",
			    (unsigned long long)ht->ht_vaddr, level,
			    (int)ht_valid(ht),
			    (unsigned)atomic_load(&ht->ht_lock_cnt),
			    (int)BUSY(ht));
		return (0);
	}
	for_each_entry(&ei, ht) {
		x86pte_t pte = ei.pte;
		unsigned e = ei.e;
		uint64_t va = htable_e2va(ht, e);

		if (pte_is_np(m, pte, level)) {
			np++;
			continue;
		}
		if (!pte_valid(m, pte)) {
			if (pte != 0 && !(ht->ht_flags & HTABLE_IMPORTED))
				BAD("level-%d table 0x%llx entry %u: not "
				    "present but not zero (0x%llx)", level,
				    (unsigned long long)ht->ht_vaddr, e,
				    (unsigned long long)pte);
			continue;
		}
		valid++;
		if (pte_is_ptp(m, pte, level)) {
			htable_t *c = find(hat, va, level - 1);

			if (pte_reserved(m, pte, level))
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
		/*
		 * The reserved bits include every address bit at or above
		 * the physical width: a leaf without them maps below it.
		 */
		if (pte_reserved(m, pte, level))
			BAD("leaf 0x%llx at va 0x%llx has reserved bits",
			    (unsigned long long)pte, (unsigned long long)va);
		if (pte & m->pt_locked)
			locked++;
		leaves[level]++;
		if (ra != NULL && rmap_audit_leaf(ra, va, pte_pa(m, pte,
		    level), LEVEL_SIZE(m, level)) != 0) {
			err = ra->ra_err;
			goto out;
		}
	}
	if (np != 0 && !(atomic_load(&hat->hat_flags) & HAT_NP))
		BAD("level-0 table 0x%llx: %u non-present data entries in a "
		    "space not marked HAT_NP", (unsigned long long)ht->ht_vaddr,
		    np);
	if ((unsigned)ht_valid(ht) != valid + np &&
	    !(ht->ht_flags & HTABLE_SHARED_PFN))
		BAD("level-%d table 0x%llx: valid count %d, %u valid entries "
		    "and %u non-present data entries", level,
		    (unsigned long long)ht->ht_vaddr,
		    (int)ht_valid(ht), valid, np);
	if (atomic_load(&ht->ht_lock_cnt) != locked + np)
		BAD("level-%d table 0x%llx: lock count %u, %u locked leaves "
		    "and %u non-present data entries", level,
		    (unsigned long long)ht->ht_vaddr,
		    (unsigned)atomic_load(&ht->ht_lock_cnt), locked, np);
	unsigned expect = children + (ht == hat->hat_htable ? 1u : 0u) +
	    (unsigned)atomic_load(&ht->ht_nsharers);
	if ((unsigned)BUSY(ht) != expect)
		BAD("level-%d table 0x%llx: busy %d, expected %u (a hold "
		    "was leaked or lost)", level,
		    (unsigned long long)ht->ht_vaddr, (int)ht->ht_busy,
		    expect);
	if (atomic_load(&ht->ht_nsharers) != 0 &&
	    !(atomic_load(&hat->hat_flags) & HAT_SHARED))
		BAD("level-%d table 0x%llx: %d sharers in a space that does "
		    "not share out", level, (unsigned long long)ht->ht_vaddr,
		    (int)atomic_load(&ht->ht_nsharers));
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
		iter_t it;

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
		for_each_leaf(&it, hat, r->lr_va, r->lr_last) {
			if (it.it_va != next ||
			    !(it.it_pte & hat_mmu(hat)->pt_locked) ||
			    it.it_va + (it.it_size - 1) > r->lr_last) {
				err = ht__fail(HT_ECORRUPT, "lock count at "
				    "0x%llx: the leaf there is missing, "
				    "unlocked or sticks out of the run "
				    "[0x%llx, 0x%llx]", (unsigned long long)
				    next, (unsigned long long)r->lr_va,
				    (unsigned long long)r->lr_last);
				break;
			}
			next = it.it_va + it.it_size;
		}
		iter_stop(&it);
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

/*
 * The descriptor of ht, found on hash chain h: its hash membership, level,
 * region, parent and frame.  Checked for every table before any table's
 * entries, so that a broken descriptor is named as such, not as the
 * broken link that its parent's entries then seem to have.
 */
static int
audit_desc(hat_t *hat, htable_t *ht, unsigned h, pfnset_t *seen)
{
	const mmu_t *m = hat_mmu(hat);
	int level = ht->ht_level;
	int err = 0;

	if (ht->ht_hat != hat)
		BAD("table on the hash of another space");
	if (level < 0 || level > hat->hat_max_level)
		BAD("table with level %d", level);
	if ((ht->ht_next != NULL && ht->ht_next->ht_prev != ht) ||
	    (ht == *htable_head(htable_hash_cur(hat), h) &&
	    ht->ht_prev != NULL))
		BAD("hash chain %u is broken", h);
	if (htable_base(hat, ht->ht_vaddr, level) != ht->ht_vaddr)
		BAD("table 0x%llx level %d: vaddr not aligned to its region",
		    (unsigned long long)ht->ht_vaddr, level);
	if (htable_hash(hat, htable_hash_cur(hat), ht->ht_vaddr, level) != h)
		BAD("table 0x%llx level %d is on hash chain %u, not its own",
		    (unsigned long long)ht->ht_vaddr, level, h);
	if (!mmu_va_ok(m, ht->ht_vaddr))
		BAD("table vaddr 0x%llx not canonical",
		    (unsigned long long)ht->ht_vaddr);
	if (level != hat->hat_max_level && (ht->ht_parent == NULL ||
	    ht->ht_parent->ht_level != level + 1))
		BAD("table 0x%llx level %d has no parent one level up",
		    (unsigned long long)ht->ht_vaddr, level);
	if (!(ht->ht_flags & (HTABLE_COPIED | HTABLE_SHARED_PFN))) {
		int r = pfnset_add(seen, ht->ht_pfn);

		if (r < 0)
			BAD("out of memory during audit");
		if (r > 0)
			BAD("frame 0x%llx used twice",
			    (unsigned long long)ht->ht_pfn);
		if (!(ht->ht_flags & HTABLE_IMPORTED) &&
		    !ptable_in_pools(hat->hat_ctx, ht->ht_pfn))
			BAD("frame 0x%llx is outside the pools",
			    (unsigned long long)ht->ht_pfn);
		if (ht->ht_ptr != ptable_map(hat->hat_ctx, ht->ht_pfn) &&
		    !(ht->ht_flags & HTABLE_IMPORTED))
			BAD("cached pointer of frame 0x%llx is stale",
			    (unsigned long long)ht->ht_pfn);
	}
out:
	return (err);
}

static int
audit_hat(hat_t *hat)
{
	const mmu_t *m = hat_mmu(hat);
	uint64_t leaves[HT_MAX_LEVELS] = { 0 };
	unsigned ntables = 0, nlinks = 0, ncached = 0;
	pfnset_t seen = { NULL, 0, 0 };
	rmap_audit_t ra, *rap = NULL;
	ht_hash_t *hash = htable_hash_cur(hat);
	int err = 0;

	if (hash->hh_n == 0 || (hash->hh_n & (hash->hh_n - 1)) != 0)
		BAD("the hash has %u chains, not a power of two", hash->hh_n);
	if (hat->hat_htable == NULL || hat->hat_htable->ht_level !=
	    hat->hat_max_level || hat->hat_htable->ht_vaddr != 0 ||
	    hat->hat_htable->ht_parent != NULL ||
	    find(hat, 0, hat->hat_max_level) != hat->hat_htable)
		BAD("root descriptor is wrong or not hashed");
	/* the reverse map, checked leaf by leaf in the pass below */
	if (rmap_on(hat->hat_ctx)) {
		if ((err = rmap_audit_begin(hat, &ra)) != 0)
			goto out;
		rap = &ra;
	}
	/* descriptors first, then every table's entries */
	for (unsigned h = 0; h < hash->hh_n; h++) {
		for (htable_t *ht = *htable_head(hash, h); ht != NULL;
		    ht = ht->ht_next) {
			ntables++;
			if ((err = audit_desc(hat, ht, h, &seen)) != 0)
				goto out;
		}
	}
	if (ntables != atomic_load(&hat->hat_ntables))
		BAD("%u tables on the hash, but its count says %u", ntables,
		    atomic_load(&hat->hat_ntables));
	for (unsigned h = 0; h < hash->hh_n; h++) {
		for (htable_t *ht = *htable_head(hash, h); ht != NULL;
		    ht = ht->ht_next) {
			if ((err = audit_table(hat, ht, leaves,
			    &nlinks, rap)) != 0)
				goto out;
		}
	}
	if (nlinks + 1 != ntables)
		BAD("%u tables but %u links: a table is unreachable", ntables,
		    nlinks);
	for (int l = 0; l < m->num_level; l++) {
		if (leaves[l] != hat_pm_get(hat, l))
			BAD("level %d: %llu leaves, page count says %llu", l,
			    (unsigned long long)leaves[l], (unsigned long long)
			    hat_pm_get(hat, l));
		/* else a walk would not look for them (max_mapped_level) */
		if (l > 0 && leaves[l] != 0 && !(atomic_load(
		    &hat->hat_leaf_levels) & (1u << l)))
			BAD("level %d: %llu leaves, but the space's leaf "
			    "levels (0x%x) do not name it", l,
			    (unsigned long long)leaves[l],
			    atomic_load(&hat->hat_leaf_levels));
	}
	/* the cache: one list per shard (types.h, hat_pm_t) */
	for (unsigned s = 0; s < HAT_SHARDS; s++) {
		for (htable_t *ht = hat->hat_pm[s].pm_cached; ht != NULL;
		    ht = ht->ht_next) {
			const uint64_t *w = ht->ht_ptr;
			int r = pfnset_add(&seen, ht->ht_pfn);

			ncached++;
			if (r != 0)
				BAD("cached frame 0x%llx also in use",
				    (unsigned long long)ht->ht_pfn);
			if (!ptable_in_pools(hat->hat_ctx, ht->ht_pfn))
				BAD("cached frame 0x%llx is outside the pools",
				    (unsigned long long)ht->ht_pfn);
			for (unsigned i = 0; i < HT_PAGE_SIZE / 8; i++)
				if (w[i] != 0)
					BAD("cached table frame 0x%llx is not "
					    "zero", (unsigned long long)
					    ht->ht_pfn);
		}
	}
	if (ncached != hat_cache_count(hat))
		BAD("%u cached tables, cache count says %u", ncached,
		    hat_cache_count(hat));
	if (err == 0)
		err = audit_locks(hat);
out:
	if (rap != NULL) {
		int rerr = rmap_audit_end(rap);

		if (err == 0)
			err = rerr;
	}
	free(seen.slots);
	return (err);
}

/*
 * ht_audit: see htable.h.  Waits for a stealer that is on the space, then
 * keeps stealers off it (HAT_VICTIM) while audit_hat runs.
 */
int
ht_audit(ht_as_t *as)
{
	hat_t *hat = as;
	ht_ctx_t *ctx;
	int err;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	ctx = hat->hat_ctx;
	mutex_enter(&ctx->ctx_list_lock, LR_LIST);
	while (atomic_load(&hat->hat_flags) & HAT_VICTIM)
		cv_wait(&ctx->ctx_list_cv,
		    &ctx->ctx_list_lock);
	atomic_fetch_or(&hat->hat_flags, HAT_VICTIM);
	mutex_exit(&ctx->ctx_list_lock);

	err = audit_hat(hat);
	if (err == 0)
		err = cpu_audit_copies(hat);

	mutex_enter(&ctx->ctx_list_lock, LR_LIST);
	atomic_fetch_and(&hat->hat_flags, ~HAT_VICTIM);
	(void) pthread_cond_broadcast(&ctx->ctx_list_cv);
	mutex_exit(&ctx->ctx_list_lock);
	return (err);
}
