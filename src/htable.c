/*
 * htable.c - one descriptor per hardware page table, kept in a per-address-
 * space hash; lookup, create, acquire and release with the illumos
 * two-count hold scheme; linking and unlinking tables; import of tables
 * built elsewhere.
 *
 * Invariants (checked by audit.c):
 *  1. Every table of a hat, the root included, is on exactly one chain of
 *     the hat's hash, keyed by (ht_vaddr, ht_level).
 *  2. A non-root table's parent holds, at the entry for ht_vaddr, a PTP
 *     naming the table's frame, and the table owns one hold on the parent.
 *  3. ht_valid_cnt equals the number of valid entries in the frame (plus
 *     the non-present data entries of a level-0 table, hat_np.c).
 *  4. ht_busy changes only under the table's bucket mutex; a table is
 *     freed only by a releaser that sees busy == 1 and valid == 0 there.
 *  5. link_ptp raises the parent's valid count before the PTP appears;
 *     unlink_ptp lowers it after the PTP is gone: the parent can never be
 *     freed while a link to a live child exists.
 *
 * States of a descriptor: ALLOCATED (htable_alloc, unhashed, busy 1) ->
 * HASHED (htable_create links and inserts it) -> UNLINKED (htable_release
 * or a stealer removes it) -> CACHED on its hat / on the reserve / FREED
 * (htable_free).  During an operation frees are deferred (hat.c).
 *
 * Lock order: one bucket mutex at a time; a thread holding a bucket mutex
 * may take hat_mutex or the reserve lock, never another bucket mutex and
 * never the context's list lock.
 */
#include <stdlib.h>
#include <string.h>

#include "htable_int.h"
#include "x86pte.h"
#include "frame.h"
#include "hat.h"
#include "debug.h"
#include "lock.h"

unsigned
htable_hash(const hat_t *hat, uint64_t va, int level)
{
	/*
	 * va >> 28 mixes high bits in so that tables at the same offset of
	 * different 1 GiB regions spread; the hat pointer term makes the
	 * mutex differ between address spaces.
	 */
	return ((unsigned)((va >> LEVEL_SHIFT(hat_mmu(hat), 1)) + (va >> 28) +
	    (uint64_t)level + ((uintptr_t)hat >> 4)) & (hat->hat_num_hash - 1));
}

static inline pthread_mutex_t *
bucket_mutex(const hat_t *hat, unsigned h)
{
	return (&hat->hat_ctx->ctx_bucket_mtx[h & (HTABLE_NMUTEX - 1)]);
}

pthread_mutex_t *
htable_mutex(const htable_t *ht)
{
	return (bucket_mutex(ht->ht_hat,
	    htable_hash(ht->ht_hat, ht->ht_vaddr, ht->ht_level)));
}

/* Caller holds the bucket mutex. */
void
htable_hash_insert(htable_t *ht)
{
	hat_t *hat = ht->ht_hat;
	unsigned h = htable_hash(hat, ht->ht_vaddr, ht->ht_level);

	HT_ASSERT(lock_held(htable_mutex(ht)));
	ht->ht_flags &= (uint8_t)~HTABLE_FRESH;	/* only alloc cares */
	ht->ht_prev = NULL;
	ht->ht_next = hat->hat_ht_hash[h];
	if (ht->ht_next != NULL)
		ht->ht_next->ht_prev = ht;
	hat->hat_ht_hash[h] = ht;
}

/* Caller holds the bucket mutex. */
void
htable_hash_remove(htable_t *ht)
{
	hat_t *hat = ht->ht_hat;
	unsigned h = htable_hash(hat, ht->ht_vaddr, ht->ht_level);

	HT_ASSERT(lock_held(htable_mutex(ht)));
	if (ht->ht_prev != NULL)
		ht->ht_prev->ht_next = ht->ht_next;
	else
		hat->hat_ht_hash[h] = ht->ht_next;
	if (ht->ht_next != NULL)
		ht->ht_next->ht_prev = ht->ht_prev;
	ht->ht_next = ht->ht_prev = NULL;
}

static htable_t *
hash_search(hat_t *hat, unsigned h, uint64_t base, int level)
{
	htable_t *ht;

	for (ht = hat->hat_ht_hash[h]; ht != NULL; ht = ht->ht_next) {
		if (ht->ht_vaddr == base && ht->ht_level == level)
			return (ht);
	}
	return (NULL);
}

/*
 * htable_alloc: a descriptor for (hat, vaddr, level), busy = 1, not hashed,
 * not linked.  Sources in order: the operation's preallocated tables, the
 * hat's cache of free tables (frames already zero), a new struct and frame
 * (or a frameless struct from the reserve when the normal allocator must
 * not be re-entered), and last stealing from address spaces.  NULL with
 * *r_err = -HT_ENOFRAME or -HT_ENOMEM when all fail.
 */
htable_t *
htable_alloc(hat_t *hat, uint64_t vaddr, int level, htable_t *shared,
    int *r_err)
{
	ht_ctx_t *ctx = hat->hat_ctx;
	int is_root = level == hat->hat_max_level;
	int is_copied = (atomic_load(&hat->hat_flags) & HAT_COPIED) && is_root;
	int is_bare = is_copied || shared != NULL;
	int need_zero = 0;
	htable_t *ht = NULL;
	ht_op_t *op = ht_op_cur();
	int err = -HT_ENOFRAME;

	HT_VERIFY(level >= 0 && level <= hat->hat_max_level);

	if (!is_bare && !is_root && op != NULL && op->op_hat == hat &&
	    op->op_prealloc != NULL) {
		ht = op->op_prealloc;
		op->op_prealloc = ht->ht_next;
	}
	if (ht == NULL && !is_bare && !is_root &&
	    atomic_load_explicit(&hat->hat_num_cached, memory_order_relaxed)) {
		mutex_enter(&hat->hat_mutex, LR_HAT);
		if ((ht = hat->hat_ht_cached) != NULL) {
			hat->hat_ht_cached = ht->ht_next;
			hat->hat_num_cached--;
			HATSTAT_INC(ctx, cache_hits);
		}
		mutex_exit(&hat->hat_mutex);
	}
	if (ht == NULL) {
		if (use_hat_reserves()) {
			ht = htable_get_reserve(ctx);
		} else {
			/*
			 * The normal path refills the reserve: donate new
			 * structs until it is at its target, keep the next.
			 */
			for (;;) {
				ht = calloc(1, sizeof (*ht));
				if (ht == NULL) {
					ht = htable_get_reserve(ctx);
					break;
				}
				if (ctx->ctx_reserve_count >=
				    ctx->ctx_reserve_amount)
					break;
				htable_put_reserve(ctx, ht);
			}
		}
		if (ht == NULL)
			err = ht__fail(HT_ENOMEM, "no memory for a descriptor");
		if (ht != NULL && !is_bare) {
			ht->ht_pfn = HT_PFN_INVALID;
			err = ptable_alloc(ctx, is_root, &ht->ht_pfn);
			if (err != 0) {
				if (use_hat_reserves() ||
				    ctx->ctx_reserve_count <
				    ctx->ctx_reserve_amount)
					htable_put_reserve(ctx, ht);
				else
					free(ht);
				ht = NULL;
			} else {
				ht->ht_ptr = ptable_map(ctx, ht->ht_pfn);
				need_zero = 1;
			}
		}
	}
	if (ht == NULL && !is_root && err == -HT_ENOFRAME) {
		/* Last resort: take a table from some address space. */
		HATSTAT_INC(ctx, steals);
		ht = htable_steal(ctx, 1, 0);
		if (ht != NULL && is_bare) {
			ptable_free(ctx, ht->ht_pfn);
			ht->ht_pfn = HT_PFN_INVALID;
			ht->ht_ptr = NULL;
		}
	}
	if (ht == NULL) {
		if (err == -HT_ENOFRAME)
			(void) ht__fail(HT_ENOFRAME, "no frame for a level-%d "
			    "table (pools exhausted, nothing to steal)", level);
		*r_err = err;
		return (NULL);
	}

	ht->ht_flags = 0;
	ht->ht_shares = NULL;
	if (shared != NULL) {
		ht->ht_flags |= HTABLE_SHARED_PFN;
		ht->ht_pfn = shared->ht_pfn;
		ht->ht_ptr = shared->ht_ptr;
		ht->ht_shares = shared;
	} else if (is_copied) {
		ht->ht_flags |= HTABLE_COPIED;
		ht->ht_pfn = HT_PFN_INVALID;
		ht->ht_ptr = NULL;
	}
	ht->ht_hat = hat;
	ht->ht_parent = NULL;
	ht->ht_vaddr = vaddr;
	ht->ht_level = (int8_t)level;
	BUSY_SET(ht, 1);
	ht->ht_next = ht->ht_prev = NULL;
	atomic_store_explicit(&ht->ht_valid_cnt, 0, memory_order_relaxed);
	atomic_store_explicit(&ht->ht_lock_cnt, 0, memory_order_relaxed);
	if (need_zero) {
		ptable_zero(ht->ht_ptr);
		ht->ht_flags |= HTABLE_FRESH;
	}
	return (ht);
}

/*
 * htable_free_now: where a table goes when nobody uses it any more.  It
 * stays cached on its hat with its (all-zero) frame unless the hat is being
 * destroyed, a steal/reap/purge is running, or the frame is not ours.
 */
void
htable_free_now(htable_t *ht)
{
	hat_t *hat = ht->ht_hat;
	ht_ctx_t *ctx;

	HT_ASSERT(atomic_load(&ht->ht_valid_cnt) == 0);
	if (hat != NULL && !(ht->ht_flags & (HTABLE_SHARED_PFN |
	    HTABLE_COPIED | HTABLE_IMPORTED)) &&
	    !(atomic_load(&hat->hat_flags) & HAT_FREEING) &&
	    atomic_load(&hat->hat_ctx->ctx_dont_cache) == 0 &&
	    ht->ht_level != hat->hat_max_level) {
		mutex_enter(&hat->hat_mutex, LR_HAT);
		ht->ht_next = hat->hat_ht_cached;
		hat->hat_ht_cached = ht;
		hat->hat_num_cached++;
		mutex_exit(&hat->hat_mutex);
		return;
	}
	ctx = hat != NULL ? hat->hat_ctx : NULL;
	HT_VERIFY(ctx != NULL || (ht->ht_flags & HTABLE_IMPORTED) == 0);
	if (!(ht->ht_flags & (HTABLE_SHARED_PFN | HTABLE_COPIED |
	    HTABLE_IMPORTED)) && ht->ht_pfn != HT_PFN_INVALID)
		ptable_free(ctx, ht->ht_pfn);
	else if (ht->ht_flags & HTABLE_IMPORTED)
		frame_unclaim(ctx, ht->ht_pfn);	/* the caller's again */
	ht->ht_pfn = HT_PFN_INVALID;
	ht->ht_ptr = NULL;
	ht->ht_flags = 0;
	if (use_hat_reserves() ||
	    ctx->ctx_reserve_count < ctx->ctx_reserve_amount) {
		htable_put_reserve(ctx, ht);
	} else {
		free(ht);
		htable_adjust_reserve(ctx);
	}
}

/*
 * htable_unalloc: give back a table that htable_alloc returned and that was
 * never linked.  Inside an operation on its hat it goes back to the
 * operation's preallocated tables: the operation reserved it and may still
 * need it (a failed link is retried after the obstacle is removed).
 */
void
htable_unalloc(htable_t *ht)
{
	ht_op_t *op = ht_op_cur();

	HT_ASSERT(atomic_load(&ht->ht_valid_cnt) == 0);
	if (op != NULL && op->op_hat == ht->ht_hat && ht->ht_ptr != NULL &&
	    !(ht->ht_flags & (HTABLE_SHARED_PFN | HTABLE_COPIED)) &&
	    ht->ht_level != ht->ht_hat->hat_max_level) {
		ht->ht_next = op->op_prealloc;
		op->op_prealloc = ht;
		return;
	}
	htable_free_now(ht);
}

/*
 * htable_free: like htable_free_now, but a table freed inside an operation
 * on its own hat waits until the operation has run the TLB hook: an MMU may
 * still hold the old link in its paging-structure caches.
 */
void
htable_free(htable_t *ht)
{
	ht_op_t *op = ht_op_cur();

	if (op != NULL && ht->ht_hat != NULL && op->op_hat == ht->ht_hat) {
		ht->ht_next = op->op_deferred;
		op->op_deferred = ht;
		return;
	}
	htable_free_now(ht);
}

/*
 * unlink_ptp: remove higher's link to old (caller holds old's bucket
 * mutex; old is empty and unused).  The PTP was made with REF set, so no
 * MMU has modified it and the CAS must find exactly what we wrote.
 */
void
unlink_ptp(htable_t *higher, htable_t *old, uint64_t vaddr)
{
	const mmu_t *m = hat_mmu(higher->ht_hat);
	unsigned entry = htable_va2entry(vaddr, higher);
	x86pte_t cur, found;

	HT_ASSERT(lock_held(htable_mutex(old)));
	HT_ASSERT(BUSY(higher) > 0);
	HT_ASSERT(atomic_load(&higher->ht_valid_cnt) > 0);
	HT_ASSERT(atomic_load(&old->ht_valid_cnt) == 0);
	/*
	 * Lock-free readers (ht_translate) check this generation around
	 * their walk: once it moved, a table they walked may be reused.
	 */
	atomic_fetch_add(&higher->ht_hat->hat_gen, 1);
	/*
	 * Our own links carry REF, so no MMU changes them; an imported link
	 * may lack it and get REF set under us, hence the loop.  Anything
	 * but a link to this frame means our structures are corrupt.
	 */
	for (cur = x86pte_get(higher, entry); ; cur = found) {
		HT_VERIFY(pte_is_ptp(cur, higher->ht_level) &&
		    pte_pfn(m, cur, higher->ht_level) == old->ht_pfn);
		found = x86pte_cas(higher, entry, cur, 0);
		if (found == cur)
			break;
	}
	if (higher->ht_flags & HTABLE_COPIED)
		hat_tlb_inval(higher->ht_hat, 0, HT_TLB_ALL);
	else
		hat_tlb_inval(higher->ht_hat, old->ht_vaddr,
		    LEVEL_SIZE(m, old->ht_level + 1));
	atomic_fetch_sub(&higher->ht_valid_cnt, 1);
}

/*
 * link_ptp: install the link from higher to new (caller holds new's bucket
 * mutex and a hold on higher).  Returns 0, or the non-zero entry found
 * there (a large leaf): nothing was linked and the count is restored.
 */
x86pte_t
link_ptp(htable_t *higher, htable_t *new, uint64_t vaddr)
{
	const mmu_t *m = hat_mmu(higher->ht_hat);
	unsigned entry = htable_va2entry(vaddr, higher);
	x86pte_t found;

	HT_ASSERT(lock_held(htable_mutex(new)));
	HT_ASSERT(new->ht_level < higher->ht_level);
	HT_ASSERT(BUSY(higher) > 0);
	/* Count first, so the parent is never seen empty with a live link. */
	atomic_fetch_add(&higher->ht_valid_cnt, 1);
	found = x86pte_cas(higher, entry, 0, mkptp(m, new->ht_pfn,
	    higher->ht_level));
	if (found != 0) {
		atomic_fetch_sub(&higher->ht_valid_cnt, 1);
		return (found);
	}
	if (higher->ht_flags & HTABLE_COPIED)
		hat_tlb_inval(higher->ht_hat, 0, HT_TLB_ALL);
	return (0);
}

/*
 * htable_release: drop one hold.  When the holder was the last user of an
 * empty table, unlink and free it, then release the hold that table had on
 * its parent, and so on upward.  Kept even when empty: tables of a hat
 * being destroyed (freed in bulk later) and tables at or above the highest
 * large-page level (as illumos: that avoids churn where large pages go, and
 * keeps the root).  Shared tables are always freed when empty, and then
 * release their hold on the source.
 */
/* Is ht kept although empty and unused?  (Retention rules above.) */
static int
htable_keep(const htable_t *ht)
{
	if (ht->ht_flags & HTABLE_SHARED_PFN)
		return (0);
	return ((atomic_load(&ht->ht_hat->hat_flags) & HAT_FREEING) ||
	    ht->ht_level >= hat_mmu(ht->ht_hat)->max_page_level);
}

/*
 * Free ht, whose bucket mutex mtx the caller holds and whose last hold is
 * the caller's, with no valid entry: unlink it from its parent, unhash it,
 * drop the mutex, free it.  Returns the parent: the freed table's hold on
 * it now belongs to the caller.  *r_shared: the source of a shared table,
 * whose hold the caller must release too.
 */
static htable_t *
htable_free_locked(htable_t *ht, pthread_mutex_t *mtx, htable_t **r_shared)
{
	htable_t *higher = ht->ht_parent;

	HT_ASSERT(lock_held(mtx) && mtx == htable_mutex(ht));
	HT_ASSERT(atomic_load(&ht->ht_lock_cnt) == 0);
	if (ht->ht_flags & HTABLE_SHARED_PFN)
		*r_shared = ht->ht_shares;
	HT_VERIFY(higher != NULL);
	unlink_ptp(higher, ht, ht->ht_vaddr);
	htable_hash_remove(ht);
	mutex_exit(mtx);
	htable_free(ht);
	return (higher);
}

void
htable_release(htable_t *ht)
{
	while (ht != NULL) {
		htable_t *shared = NULL;
		pthread_mutex_t *mtx;

		for (;;) {
			mtx = htable_mutex(ht);
			mutex_enter(mtx, LR_BUCKET);
			HT_ASSERT(BUSY(ht) > 0);
			if (atomic_load(&ht->ht_valid_cnt) > 0 ||
			    BUSY(ht) > 1 || htable_keep(ht))
				break;
			/* The freed child's hold on its parent is ours now. */
			ht = htable_free_locked(ht, mtx, &shared);
		}
		BUSY_ADD(ht, -1);
		mutex_exit(mtx);
		ht = shared;
	}
}

/*
 * htable_release_if_last: drop the caller's hold on ht only if that frees
 * it (ht is empty, nobody else holds it, no retention rule keeps it).
 * Returns 1 when ht is gone and its parent's entry is zero; 0 when the hold
 * is kept, so ht cannot disappear under the caller afterwards.
 */
int
htable_release_if_last(htable_t *ht)
{
	pthread_mutex_t *mtx = htable_mutex(ht);
	htable_t *shared = NULL, *higher;

	mutex_enter(mtx, LR_BUCKET);
	if (atomic_load(&ht->ht_valid_cnt) > 0 || BUSY(ht) > 1 ||
	    htable_keep(ht)) {
		mutex_exit(mtx);
		return (0);
	}
	higher = htable_free_locked(ht, mtx, &shared);
	htable_release(higher);
	if (shared != NULL)
		htable_release(shared);
	return (1);
}

htable_t *
htable_lookup(hat_t *hat, uint64_t vaddr, int level)
{
	uint64_t base = htable_base(hat, vaddr, level);
	unsigned h = htable_hash(hat, base, level);
	pthread_mutex_t *mtx = bucket_mutex(hat, h);
	htable_t *ht;

	HT_ASSERT(level >= 0 && level <= hat->hat_max_level);
	mutex_enter(mtx, LR_BUCKET);
	ht = hash_search(hat, h, base, level);
	if (ht != NULL)
		BUSY_ADD(ht, 1);
	mutex_exit(mtx);
	return (ht);
}

void
htable_acquire(htable_t *ht)
{
	pthread_mutex_t *mtx = htable_mutex(ht);

	mutex_enter(mtx, LR_BUCKET);
	HT_ASSERT(BUSY(ht) > 0 || atomic_load(&ht->ht_valid_cnt) > 0);
	if (ht_config_debug) {
		hat_t *hat = ht->ht_hat;
		unsigned h = htable_hash(hat, ht->ht_vaddr, ht->ht_level);
		HT_VERIFY(hash_search(hat, h, ht->ht_vaddr, ht->ht_level) ==
		    ht);
	}
	BUSY_ADD(ht, 1);
	mutex_exit(mtx);
}

/*
 * htable_create: the table at (vaddr, level), held, creating every missing
 * table from the root down.  The allocation happens with the bucket mutex
 * dropped, so the search is repeated afterwards; a table that appeared
 * meanwhile wins and our spare is freed.  A newly linked table keeps the
 * hold we had on its parent; an existing one already owns such a hold, so
 * ours is released.  NULL with *r_err: -HT_ENOFRAME / -HT_ENOMEM, or
 * -HT_ELPAGE when a large leaf occupies the parent entry (nothing created
 * at or below that level).
 */
htable_t *
htable_create(hat_t *hat, uint64_t vaddr, int level, htable_t *shared,
    int *r_err)
{
	htable_t *higher = NULL, *new = NULL, *ht;

	HT_ASSERT(level >= 0 && level <= hat->hat_max_level);
	for (int l = hat->hat_max_level; l >= level; l--) {
		uint64_t base = htable_base(hat, vaddr, l);
		unsigned h = htable_hash(hat, base, l);
		pthread_mutex_t *mtx = bucket_mutex(hat, h);

	try_again:
		mutex_enter(mtx, LR_BUCKET);
		if (l == hat->hat_max_level)
			ht = hat->hat_htable;
		else
			ht = hash_search(hat, h, base, l);
		if (ht != NULL) {
			HT_VERIFY(!(l == level && shared != NULL &&
			    ht->ht_shares != shared));
			BUSY_ADD(ht, 1);
			mutex_exit(mtx);
			if (new != NULL) {
				htable_unalloc(new);	/* lost a race */
				new = NULL;
			}
			if (higher != NULL)
				htable_release(higher);
			higher = ht;
			continue;
		}
		if (new == NULL) {
			mutex_exit(mtx);
			new = htable_alloc(hat, base, l, l == level ? shared :
			    NULL, r_err);
			if (new == NULL) {
				if (higher != NULL)
					htable_release(higher);
				return (NULL);
			}
			goto try_again;
		}
		if (higher != NULL) {
			if (link_ptp(higher, new, base) != 0) {
				mutex_exit(mtx);
				htable_unalloc(new);
				htable_release(higher);
				*r_err = -HT_ELPAGE;
				return (NULL);
			}
			new->ht_parent = higher;
		}
		htable_hash_insert(new);
		mutex_exit(mtx);
		if (l == level && shared != NULL) {
			/* The sharer keeps its source alive, even empty. */
			ht = htable_lookup(shared->ht_hat, shared->ht_vaddr,
			    shared->ht_level);
			HT_VERIFY(ht == shared);
		}
		higher = new;
		new = NULL;
	}
	return (higher);
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
 * and htable_free_now gives it up; the caller destroys the partly built
 * hat on failure, which gives up what was claimed.
 */
int
htable_attach(hat_t *hat, uint64_t base, int level, htable_t *parent,
    ht_pa_t pa, pfnset_t *seen)
{
	ht_pfn_t pfn = pa >> HT_PAGE_SHIFT;
	ht_ctx_t *ctx = hat->hat_ctx;
	const mmu_t *m = hat_mmu(hat);
	htable_t *ht;
	unsigned n;
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
	mutex_enter(htable_mutex(ht), LR_BUCKET);
	htable_hash_insert(ht);
	mutex_exit(htable_mutex(ht));

	err = 0;
	n = htable_num_ptes(ht);
	for (unsigned e = 0; e < n && err == 0; e++) {
		x86pte_t pte = x86pte_get(ht, e);
		uint64_t va = htable_e2va(ht, e);

		/*
		 * A non-present entry may carry the owner's data (a swap
		 * entry, say): legal, just not ours to interpret.  In a
		 * level-0 table it is kept as ht_set_np's are (hat_np.c);
		 * above, where the library has no such entries, it is
		 * cleared once the import succeeds (htable_attach_scrub).
		 */
		if (pte_is_np(pte, level)) {
			atomic_fetch_add(&ht->ht_valid_cnt, 1);
			atomic_fetch_add(&ht->ht_lock_cnt, 1);
			atomic_fetch_or(&hat->hat_flags, HAT_NP);
			continue;
		}
		if (!(pte & PT_VALID))
			continue;
		if (pte_is_ptp(pte, level)) {
			if (pte & m->rsvd_ptp[level]) {
				err = ht__fail(HT_EBADTABLE, "level-%d entry "
				    "%u (0x%llx) has reserved bits set", level,
				    e, (unsigned long long)pte);
				break;
			}
			atomic_fetch_add(&ht->ht_valid_cnt, 1);
			err = htable_attach(hat, va, level - 1, ht,
			    pte_pa(m, pte, level), seen);
			continue;
		}
		if ((pte & m->rsvd_leaf[level]) || !mmu_leaf_ok(m, level)) {
			err = ht__fail(HT_EBADTABLE, "level-%d entry %u "
			    "(0x%llx) is a leaf this CPU cannot have", level, e,
			    (unsigned long long)pte);
			break;
		}
		atomic_fetch_add(&ht->ht_valid_cnt, 1);
		atomic_fetch_add(&hat->hat_pages_mapped[level], 1);
		if (pte & PT_LOCKED)
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
	for (unsigned h = 0; h < hat->hat_num_hash; h++) {
		for (htable_t *ht = hat->hat_ht_hash[h]; ht != NULL;
		    ht = ht->ht_next) {
			unsigned n = htable_num_ptes(ht);

			for (unsigned e = 0; e < n; e++) {
				x86pte_t pte = x86pte_get(ht, e);

				/* level-0 data entries stay (counted) */
				if (pte != 0 && !(pte & PT_VALID) &&
				    !pte_is_np(pte, ht->ht_level))
					(void) x86pte_cas(ht, e, pte, 0);
			}
		}
	}
}

/* Report every table frame of hat (illumos hat_dump). */
void
htable_dump(hat_t *hat, ht_frame_fn fn, void *arg, long *count)
{
	for (unsigned h = 0; h < hat->hat_num_hash; h++) {
		pthread_mutex_t *mtx = bucket_mutex(hat, h);

		mutex_enter(mtx, LR_BUCKET);
		for (htable_t *ht = hat->hat_ht_hash[h]; ht != NULL;
		    ht = ht->ht_next) {
			if (ht->ht_flags & (HTABLE_COPIED | HTABLE_SHARED_PFN))
				continue;
			if (fn != NULL)
				fn(arg, hat, ht->ht_pfn, ht->ht_level);
			(*count)++;
		}
		mutex_exit(mtx);
	}
}
