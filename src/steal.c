/*
 * steal.c - memory pressure: stealing tables from address spaces,
 * reaping cached tables, and purging an address space's tables (the
 * reserve pool of frameless descriptors is reserve.c).
 *
 * Stealing (htable_steal) takes tables from other address spaces when no
 * frame is left: pass 0 takes their cached free tables; later passes empty
 * and take level-0 tables with at most `threshold` valid entries, the
 * threshold rising each pass.  It skips spaces that are being destroyed,
 * are already a victim, export shared tables or asked not to be stolen
 * from, and tables that are held, shared, above level 0 or hold locked
 * mappings.  Reaping (htable_reap) only takes cached tables: stealing live
 * tables merely to return memory would make spaces steal from each other
 * endlessly.  While either runs, ctx_dont_cache is raised so that frees
 * really free.
 *
 * A table is emptied only under its bucket mutex with no hold but the
 * stealer's, so it never races with a holder's change: a leaf that is
 * locked, or being unmapped or changed, is never stolen.  The victim's TLB
 * hook runs when the stealer's operation on the victim ends (op_tables.c),
 * with no lock held and before the stolen frames are handed out.
 *
 * Lock order: ctx_list_lock is dropped before any bucket mutex, cache lock
 * or the reserve lock is taken; a hat marked HAT_VICTIM cannot be destroyed
 * (ht_as_destroy waits on ctx_list_cv).
 */
#include <stdlib.h>

#include "htable_int.h"
#include "x86pte.h"
#include "frame.h"
#include "op.h"
#include "rmap.h"
#include "debug.h"
#include "hook.h"
#include "lock.h"

/*
 * May ht be emptied and stolen, with `holds` holds on it (0 on the first
 * look, 1 when the stealer's own is the only one)?  The caller holds ht's
 * bucket mutex: with no hold but the stealer's, nobody is changing the
 * table, and its valid and lock counts are exact (a writer holds the
 * table and applies its count changes before it lets go).
 */
static int
steal_candidate(const htable_t *ht, int holds, unsigned threshold)
{
	return (BUSY(ht) == holds && ht->ht_level == 0 &&
	    !(ht->ht_flags & (HTABLE_SHARED_PFN | HTABLE_IMPORTED)) &&
	    (unsigned)ht_valid(ht) <= threshold &&
	    atomic_load(&ht->ht_lock_cnt) == 0);
}

/*
 * Empty and steal level-0 tables of one victim hat (marked HAT_VICTIM by
 * the caller, inside an operation on it: the TLB invalidations are
 * batched, and delivered when the caller ends it, with no lock held).
 * Stolen tables are pushed on *list with their zeroed frames.
 *
 * A candidate is held and its chain's mutex let go for a moment, as
 * illumos does (the debug hook HT_HOOK_STEAL_CLEAR is there).  Everything
 * that decides is checked again under the mutex, and the entries are
 * cleared only under it: ht_busy changes only under that mutex, so while
 * ours is the only hold nobody is in the middle of a change to the table
 * (mapping, unmapping, locking: all hold it) and nobody can start one.
 * Without that, an unmap could read an entry the stealer then clears and
 * count it again, and a leaf locked after the first look would be stolen.
 */
static void
htable_steal_active(hat_t *hat, unsigned cnt, unsigned threshold,
    unsigned *stolen, htable_t **list)
{
	ht_ctx_t *ctx = hat->hat_ctx;
	/* the chains stay where they are while we let go of their locks */
	ht_hash_t *t = htable_hash_pin(hat);
	unsigned nh = t->hh_n;
	unsigned h, start;

	start = h = atomic_fetch_add(&ctx->ctx_steal_seed, 1) & (nh - 1);
	do {
		bucket_lock_t *mtx = htable_chain_lock(t, h);
		htable_t *ht, *higher = NULL;
		rmap_prep_t rp = { { NULL, NULL } };

		mutex_enter(mtx, LR_BUCKET);
		for (ht = *htable_head(t, h); ht != NULL && *stolen < cnt;
		    ht = ht->ht_next) {
			if (!steal_candidate(ht, 0, threshold))
				continue;
			BUSY_ADD(ht, 1);
			mutex_exit(mtx);
			HT_HOOK(HT_HOOK_STEAL_CLEAR, ht);
			mutex_enter(mtx, LR_BUCKET);
			/* Someone looked it up, mapped or locked meanwhile. */
			if (!steal_candidate(ht, 1, threshold)) {
				BUSY_ADD(ht, -1);
				continue;	/* still hashed: ht_next holds */
			}
			/* the reverse map may need an extent: none, no steal */
			if (rmap_on(ctx) && ht_valid(ht) > 0 &&
			    !rmap_steal_begin(ctx, &rp)) {
				BUSY_ADD(ht, -1);
				continue;
			}
			for (unsigned e = 0; e < htable_num_ptes(ht) &&
			    ht_valid(ht) > 0; e++) {
				x86pte_t pte = x86pte_get(ht, e);
				const mmu_t *m = hat_mmu(ht->ht_hat);

				HT_ASSERT(!(pte & m->pt_locked));
				if (pte_is_page(m, pte, 0))
					(void) htable_pte_unmap(ht, e, pte, 1);
			}
			HT_VERIFY(ht_valid(ht) == 0);
			if (rmap_on(ctx) && rp.rp_ext[0] != NULL)
				rmap_steal_done(hat, ht->ht_vaddr, ht->ht_vaddr +
				    (LEVEL_SIZE(hat_mmu(hat), 1) - 1), &rp);
			rp.rp_ext[0] = NULL;
			higher = ht->ht_parent;
			unlink_ptp(higher, ht, ht->ht_vaddr);
			htable_hash_remove(ht);
			ht->ht_next = *list;
			*list = ht;
			(*stolen)++;
			HATSTAT_INC(ctx, stolen);
			break;
		}
		mutex_exit(mtx);
		/* The stolen table's hold on its parent goes too. */
		if (higher != NULL)
			htable_release(higher);
		h = (h + 1) & (nh - 1);
	} while (*stolen < cnt && h != start);
	htable_hash_unpin(hat);
}

/* Move a victim to the tail of the list (ctx_list_lock held). */
static void
move_victim(ht_ctx_t *ctx, hat_t *hat)
{
	if (ctx->ctx_hat_tail == hat)
		return;
	if (hat->hat_prev != NULL)
		hat->hat_prev->hat_next = hat->hat_next;
	else
		ctx->ctx_hat_head = hat->hat_next;
	hat->hat_next->hat_prev = hat->hat_prev;
	hat->hat_prev = ctx->ctx_hat_tail;
	hat->hat_next = NULL;
	ctx->ctx_hat_tail->hat_next = hat;
	ctx->ctx_hat_tail = hat;
}

/*
 * htable_steal: up to cnt tables from the context's address spaces, as a
 * list through ht_next.  Each keeps its zeroed frame.  Returned with
 * ht_hat of the victim (NULL when reaping, so that later frees never touch
 * a hat that may be gone once its VICTIM mark is cleared).
 */
htable_t *
htable_steal(ht_ctx_t *ctx, unsigned cnt, int reap)
{
	const mmu_t *m = &ctx->ctx_mmu;
	unsigned passes = ctx->ctx_steal_passes;
	unsigned stolen = 0;
	htable_t *list = NULL;
	op_t *op = op_cur();
	/* Never rob the space this thread is in the middle of changing. */
	hat_t *self = op != NULL ? op->op_hat : NULL;
	op_t vop;

	if (passes < 1)
		passes = 1;
	if (passes > m->ptes_per_table)
		passes = m->ptes_per_table;
	atomic_fetch_add(&ctx->ctx_dont_cache, 1);
	for (unsigned pass = 0; pass <= (reap ? 0 : passes) && stolen < cnt;
	    pass++) {
		unsigned threshold = pass * m->ptes_per_table / passes;
		hat_t *hat;

		mutex_enter(&ctx->ctx_list_lock, LR_LIST);
		for (hat = ctx->ctx_hat_head; hat != NULL;
		    hat = hat->hat_next) {
			unsigned f = atomic_load(&hat->hat_flags);

			if ((f & (HAT_VICTIM | HAT_SHARED | HAT_FREEING |
			    HAT_NOSTEAL)) || hat == self)
				continue;
			atomic_fetch_or(&hat->hat_flags, HAT_VICTIM);
			mutex_exit(&ctx->ctx_list_lock);
			/*
			 * Work on the victim inside an operation on it: its
			 * TLB invalidations (cleared leaves, unlinked links)
			 * are batched, not delivered under a bucket mutex,
			 * and its tables freed meanwhile (a parent the stolen
			 * table was the last child of) are kept until
			 * op_end has run its TLB hook, with no lock held.
			 * That is before the stolen frames leave here, so no
			 * MMU of the victim can still walk them when the
			 * thief fills them.
			 */
			op_begin(&vop, hat);

			for (unsigned s = 0; s < HAT_SHARDS && stolen < cnt;
			    s++) {
				htable_t *ht;

				while (stolen < cnt &&
				    (ht = hat_cache_pop(hat, s)) != NULL) {
					ht->ht_next = list;
					list = ht;
					stolen++;
				}
			}
			if (pass > 0 && stolen < cnt)
				htable_steal_active(hat, cnt, threshold,
				    &stolen, &list);
			op_end(&vop);
			if (reap) {
				for (htable_t *ht = list; ht != NULL;
				    ht = ht->ht_next)
					ht->ht_hat = NULL;
			}

			mutex_enter(&ctx->ctx_list_lock, LR_LIST);
			/* Spread the pain: the last victim goes to the end. */
			if (stolen == cnt && pass > 0 && cnt == 1)
				move_victim(ctx, hat);
			atomic_fetch_and(&hat->hat_flags, ~HAT_VICTIM);
			(void) pthread_cond_broadcast(&ctx->ctx_list_cv);
		}
		mutex_exit(&ctx->ctx_list_lock);
	}
	atomic_fetch_sub(&ctx->ctx_dont_cache, 1);
	return (list);
}

/*
 * htable_reap: give back the cached free tables of every address space.
 * Returns the number of frames freed.
 */
long
htable_reap(ht_ctx_t *ctx)
{
	long active = atomic_load(&ctx->ctx_active_ptables);
	unsigned reap_cnt = (unsigned)(active / 20);
	htable_t *list, *ht;
	long n = 0;

	HATSTAT_INC(ctx, reap_attempts);
	if (reap_cnt < 10)
		reap_cnt = 10;
	atomic_fetch_add(&ctx->ctx_dont_cache, 1);
	/* Keep going while each round still finds something. */
	do {
		long round = 0;

		list = htable_steal(ctx, reap_cnt, 1);
		while ((ht = list) != NULL) {
			list = ht->ht_next;
			ht->ht_hat = NULL;
			/* no hat: free the frame directly */
			ptable_free(ctx, ht->ht_pfn);
			ht->ht_pfn = HT_PFN_INVALID;
			htable_put_reserve(ctx, ht);
			round++;
		}
		n += round;
		if (round < (long)reap_cnt)
			break;
	} while (1);
	atomic_fetch_sub(&ctx->ctx_dont_cache, 1);
	HATSTAT_ADD(ctx, reaped, (uint64_t)n);
	htable_adjust_reserve(ctx);
	return (n);
}

/*
 * htable_purge_hat: free a hat's cached tables; when the hat is being
 * destroyed (FREEING), free every table at once without unlinking (no one
 * else can reach it any more).  Returns the number of tables freed.
 */
long
htable_purge_hat(hat_t *hat)
{
	long n = 0;
	ht_hash_t *t;
	htable_t *ht;

	/* freed, not cached again (and no other space's caching held off) */
	for (unsigned s = 0; s < HAT_SHARDS; s++) {
		while ((ht = hat_cache_pop(hat, s)) != NULL) {
			htable_free_now(ht);
			n++;
		}
	}
	if (!(atomic_load(&hat->hat_flags) & HAT_FREEING))
		return (n);

	t = htable_hash_cur(hat);	/* FREEING: it grows no more */
	for (unsigned h = 0; h < t->hh_n; h++) {
		while ((ht = *htable_head(t, h)) != NULL) {
			htable_t *src = (ht->ht_flags & HTABLE_SHARED_PFN) ?
			    ht->ht_shares : NULL;

			*htable_head(t, h) = ht->ht_next;
			/* the frame is garbage now; nothing counts any more */
			ht_valid_set(ht, 0);
			atomic_store(&ht->ht_lock_cnt, 0);
			htable_retire_now(ht);
			if (src != NULL) {
				/* a borrowed frame: give the source its hold */
				atomic_fetch_sub(&src->ht_nsharers, 1);
				htable_release(src);
			} else {
				n++;
			}
		}
	}
	hat->hat_htable = NULL;
	return (n);
}
