/*
 * import.c - wrapping tables built elsewhere in descriptors (ht_as_import;
 * illumos attaches the boot loader's tables this way).  The tables are
 * untrusted: every frame is claimed for the context before its
 * descriptor is hashed, every entry is checked against the reserved-bit
 * masks, and a refusal names the entry and, for a frame in use, its
 * holder (ctx_frame_owner).  A link to a table that another space of the
 * context has at that level (below its root) is sharing, not a second
 * owner: the import gets a shared descriptor of it and a shared region,
 * as ht_share would make (attach_shared).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htable_int.h"
#include "iter.h"
#include "x86pte.h"
#include "frame.h"
#include "rmap.h"
#include "hat.h"
#include "debug.h"
#include "lock.h"

/*
 * A table of another space (src, held, its share registered) reached
 * through a link of the import: the space gets a shared descriptor of it
 * (HTABLE_SHARED_PFN, as ht_share makes), held by its region, and nothing
 * below it is walked: the tables below are src's.
 */
static int
attach_shared(hat_t *hat, uint64_t base, int level, htable_t *parent,
    htable_t *src)
{
	htable_t *ht = calloc(1, sizeof (*ht));
	bucket_lock_t *mtx;

	if (ht == NULL && (ht = htable_get_reserve(hat->hat_ctx)) == NULL) {
		/* the region, still SR_MAKING, goes with the failed import */
		htable_release(src);
		return (ht__fail(HT_ENOMEM, "no memory for a descriptor"));
	}
	ht->ht_hat = hat;
	ht->ht_parent = parent;
	ht->ht_vaddr = base;
	ht->ht_level = (int8_t)level;
	BUSY_SET(ht, 1);	/* the region's hold */
	ht->ht_flags = HTABLE_SHARED_PFN;
	ht->ht_pfn = src->ht_pfn;
	ht->ht_ptr = src->ht_ptr;
	ht->ht_shares = src;	/* with our hold on it */
	atomic_fetch_add(&src->ht_nsharers, 1);
	BUSY_ADD(parent, 1);
	mtx = htable_lock(ht);
	htable_hash_insert(ht);
	mutex_exit(mtx);
	return (0);
}

/*
 * htable_attach: wrap the existing table in frame pfn, and recursively
 * every table it links, in descriptors (illumos attaches the boot loader's
 * tables this way).  The caller's tables are untrusted: a reserved bit, a
 * frame the provider cannot reach, or a frame reached twice gives
 * -HT_EBADTABLE; a frame that the context already holds (a table, cached
 * or preallocated, of any space of the context, imported or not) gives
 * -HT_EBUSY.  Each frame is claimed for the context (frame_claim) before
 * its descriptor is hashed, so every hashed imported table owns its claim
 * and htable_retire_now gives it up; the caller destroys the partly built
 * hat on failure, which gives up what was claimed.
 */
int
htable_attach(hat_t *hat, uint64_t base, int level, htable_t *parent,
    ht_pa_t pa, pfnset_t *seen)
{
	ht_pfn_t pfn = pa >> HT_PAGE_SHIFT;
	ht_ctx_t *ctx = hat->hat_ctx;
	const mmu_t *m = hat_mmu(hat);
	bucket_lock_t *mtx;
	entry_iter_t ei;
	htable_t *ht;
	int err;

	err = pfnset_add(seen, pfn);
	if (err < 0)
		return (ht__fail(HT_ENOMEM, "no memory for the import"));
	if (err > 0)
		return (ht__fail(HT_EBADTABLE, "frame at pa 0x%llx is reached "
		    "twice (shared or self-referencing table)",
		    (unsigned long long)pfn << HT_PAGE_SHIFT));
	if (level < hat->hat_max_level &&
	    (pfn << HT_PAGE_SHIFT) >= m->table_pa_limit)
		return (ht__fail(HT_EBADTABLE, "table at pa 0x%llx is beyond "
		    "the physical width", (unsigned long long)pfn <<
		    HT_PAGE_SHIFT));
	/*
	 * One owner per frame in a context: the check and the claim are one
	 * step under the context's frame lock, which every table frame the
	 * context takes from its provider goes through too.
	 */
	err = frame_claim(ctx, pfn);
	if (err < 0)
		return (ht__fail(HT_ENOMEM, "no memory for the import"));
	if (err > 0 && level < hat->hat_max_level) {
		/* another space's table at this level: shared, not owned */
		htable_t *src = ctx_share_table(ctx, hat, pfn, level, base,
		    &err);

		if (src != NULL)
			return (attach_shared(hat, base, level, parent, src));
		if (err != 0)
			return (err);
		err = 1;
	}
	if (err > 0) {
		char who[160];

		ctx_frame_owner(ctx, pfn, who, sizeof (who));
		return (ht__fail(HT_EBUSY, "level-%d table at pa 0x%llx is in "
		    "use in this context: %s", level, (unsigned long long)pfn <<
		    HT_PAGE_SHIFT, who));
	}
	ht = calloc(1, sizeof (*ht));
	if (ht == NULL && (ht = htable_get_reserve(ctx)) == NULL) {
		frame_unclaim(ctx, pfn);
		return (ht__fail(HT_ENOMEM, "no memory for a descriptor"));
	}
	ht->ht_hat = hat;
	ht->ht_parent = parent;
	ht->ht_vaddr = base;
	ht->ht_level = (int8_t)level;
	BUSY_SET(ht, 1);
	ht->ht_flags = HTABLE_IMPORTED;
	ht->ht_pfn = pfn;
	ht->ht_ptr = ptable_map(ctx, pfn);
	if (ht->ht_ptr != NULL)		/* a PAE root is 32-byte aligned */
		ht->ht_ptr = (uint8_t *)ht->ht_ptr + (pa & (HT_PAGE_SIZE - 1));
	if (ht->ht_ptr == NULL) {
		frame_unclaim(ctx, pfn);
		free(ht);
		return (ht__fail(HT_EBADTABLE, "level-%d table at pa 0x%llx "
		    "is outside the provider's memory", level,
		    (unsigned long long)pfn << HT_PAGE_SHIFT));
	}
	if (parent == NULL)
		hat->hat_htable = ht;
	else
		BUSY_ADD(parent, 1);	/* single-threaded: hat not visible */
	/* not needed yet (no one sees the hat), but the hash's rule holds */
	mtx = htable_lock(ht);
	htable_hash_insert(ht);
	mutex_exit(mtx);

	err = 0;
	for_each_entry(&ei, ht) {
		x86pte_t pte = ei.pte;
		unsigned e = ei.e;
		uint64_t va = htable_e2va(ht, e);

		/*
		 * A non-present entry may carry the owner's data (a swap
		 * entry, say): legal, just not ours to interpret.  In a
		 * level-0 table it is kept as ht_set_np's are (hat_np.c);
		 * above, where the library has no such entries, it is
		 * cleared once the import succeeds (htable_attach_scrub).
		 */
		if (pte_is_np(m, pte, level)) {
			atomic_fetch_add(&ht->ht_valid_cnt, 1);
			atomic_fetch_add(&ht->ht_lock_cnt, 1);
			atomic_fetch_or(&hat->hat_flags, HAT_NP);
			continue;
		}
		if (!pte_valid(m, pte))
			continue;
		if (pte_is_ptp(m, pte, level)) {
			if (pte_reserved(m, pte, level)) {
				err = ht__fail(HT_EBADTABLE, "level-%d entry "
				    "%u (0x%llx) has reserved bits set", level,
				    e, (unsigned long long)pte);
				break;
			}
			atomic_fetch_add(&ht->ht_valid_cnt, 1);
			err = htable_attach(hat, va, level - 1, ht,
			    pte_pa(m, pte, level), seen);
			if (err != 0)
				break;
			continue;
		}
		if (pte_reserved(m, pte, level)) {
			err = ht__fail(HT_EBADTABLE, "level-%d entry %u "
			    "(0x%llx) is a leaf this CPU cannot have", level, e,
			    (unsigned long long)pte);
			break;
		}
		/* the reverse map learns the leaf (the import's extents) */
		if (rmap_on(ctx)) {
			if ((err = rmap_refill(ctx, op__cur->op_rmap)) != 0)
				break;
			rmap_op_set(hat, va, va + (LEVEL_SIZE(m, level) - 1),
			    pte_pa(m, pte, level));
		}
		atomic_fetch_add(&ht->ht_valid_cnt, 1);
		hat_pm_add(hat, level, 1);
		if (pte & m->pt_locked)
			atomic_fetch_add(&ht->ht_lock_cnt, 1);
	}
	/* Tables below the root hold only the links from their children. */
	if (parent != NULL)
		BUSY_ADD(ht, -1);
	return (err);
}

/*
 * htable_attach_scrub: clear the non-present entries of a hat that
 * htable_attach built, once the whole import succeeded (a failed import
 * changes nothing).  The library's tables hold nothing in non-present
 * entries: linking a new table and filling leaves expect an empty entry to
 * be 0, and would otherwise take the leftover for a large page in the way.
 * No MMU reads a non-present entry, so no translation changes.  The hat is
 * not visible to anyone yet.
 */
void
htable_attach_scrub(hat_t *hat)
{
	ht_hash_t *t = htable_hash_cur(hat);	/* nobody else sees hat */
	const mmu_t *m = hat_mmu(hat);

	for (unsigned h = 0; h < t->hh_n; h++) {
		for (htable_t *ht = *htable_head(t, h); ht != NULL;
		    ht = ht->ht_next) {
			entry_iter_t ei;

			if (ht->ht_flags & HTABLE_SHARED_PFN)
				continue;	/* its source's entries */

			for_each_entry(&ei, ht) {
				/* level-0 data entries stay (counted) */
				if (!pte_valid(m, ei.pte) &&
				    !pte_is_np(m, ei.pte, ht->ht_level))
					(void) x86pte_cas(ht, ei.e, ei.pte, 0);
			}
		}
	}
}
