/*
 * htable.c - one descriptor per hardware page table, kept in a per-address-
 * space hash; lookup, acquire and release with the illumos two-count hold
 * scheme; linking and unlinking tables; freeing them.  Getting a new
 * table (alloc, create) is alloc.c, import of tables built elsewhere is
 * import.c.
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
 *  6. A table shared out (share.c) has one hold and one ht_nsharers count
 *     per HTABLE_SHARED_PFN descriptor that borrows its frame; such a
 *     descriptor counts no entries, is never written through, and holds
 *     one hold of its region until ht_unshare.
 *
 * States of a descriptor: ALLOCATED (htable_alloc, unhashed, busy 1) ->
 * HASHED (htable_create links and inserts it) -> UNLINKED (htable_release
 * or a stealer removes it) -> CACHED on its hat / on the reserve / FREED
 * (htable_retire).  During an operation frees are deferred (op.c).  A
 * hat's cache is a list per counter shard (hat_cache_put / _get): the
 * thread that frees a table caches it in its own shard and takes its next
 * table from there, so threads of one space share no lock or line on it.
 *
 * Lock order: one bucket mutex at a time; a thread holding a bucket mutex
 * may take the shared regions' lock (unlink_ptp in a source), a cache
 * lock or the reserve lock, never another bucket mutex and never the
 * context's list lock.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "htable_int.h"
#include "x86pte.h"
#include "frame.h"
#include "op.h"
#include "share.h"
#include "cpuroot.h"
#include "debug.h"
#include "lock.h"

bucket_lock_t *
htable_lock(const htable_t *ht)
{
	htable_t **slot;

	return (htable_chain_enter(ht->ht_hat, ht->ht_vaddr, ht->ht_level,
	    &slot));
}

/*
 * htable_chain_enter's way after the hash grew under it: the hash's own
 * mask (a load more, after the hash's), and the hash alone to check.
 */
bucket_lock_t *
htable_chain_enter_again(hat_t *hat, uint64_t base, int level,
    htable_t ***r_slot)
{
	for (;;) {
		ht_hash_t *t = htable_hash_cur(hat);
		ht_chain_t *c = &t->hh_chain[htable_hash(hat, t, base, level)];

		mutex_enter(&c->hc_lock, LR_BUCKET);
		if (htable_hash_cur(hat) == t) {
			*r_slot = &c->hc_head;
			return (&c->hc_lock);
		}
		mutex_exit(&c->hc_lock);
	}
}

bucket_lock_t *
htable_mutex(const htable_t *ht)
{
	ht_hash_t *t = htable_hash_cur(ht->ht_hat);

	return (htable_chain_lock(t, htable_hash(ht->ht_hat, t, ht->ht_vaddr,
	    ht->ht_level)));
}

/* Put ht at the head of chain h of t. */
static void
chain_push(ht_hash_t *t, unsigned h, htable_t *ht)
{
	ht->ht_prev = NULL;
	ht->ht_next = *htable_head(t, h);
	if (ht->ht_next != NULL)
		ht->ht_next->ht_prev = ht;
	*htable_head(t, h) = ht;
}

/* Caller holds the bucket mutex. */
void
htable_hash_insert(htable_t *ht)
{
	hat_t *hat = ht->ht_hat;
	ht_hash_t *t = htable_hash_cur(hat);

	HT_ASSERT(lock_held(htable_mutex(ht)));
	ht->ht_flags &= (uint8_t)~HTABLE_FRESH;	/* only alloc cares */
	chain_push(t, htable_hash(hat, t, ht->ht_vaddr, ht->ht_level), ht);
	atomic_fetch_add_explicit(&hat->hat_ntables, 1, memory_order_relaxed);
}

/* Caller holds the bucket mutex. */
void
htable_hash_remove(htable_t *ht)
{
	hat_t *hat = ht->ht_hat;
	ht_hash_t *t = htable_hash_cur(hat);

	HT_ASSERT(lock_held(htable_mutex(ht)));
	/* a serial space's cursor must not outlive its table (types.h) */
	if (ht->ht_level < WC_LEVELS && hat->hat_wc[ht->ht_level].wc_ht == ht)
		hat->hat_wc[ht->ht_level].wc_span = 0;
	if (ht->ht_prev != NULL)
		ht->ht_prev->ht_next = ht->ht_next;
	else
		*htable_head(t, htable_hash(hat, t, ht->ht_vaddr,
		    ht->ht_level)) = ht->ht_next;
	if (ht->ht_next != NULL)
		ht->ht_next->ht_prev = ht->ht_prev;
	ht->ht_next = ht->ht_prev = NULL;
	atomic_fetch_sub_explicit(&hat->hat_ntables, 1, memory_order_relaxed);
}

/*
 * The largest hash a space grows to: 2^20 chains, 16 MiB, for 2^19
 * tables (1 TiB mapped in 4 KiB pages); the chains grow longer beyond.
 */
#define HASH_MAX	(1u << 20)

ht_hash_t *
htable_hash_alloc(unsigned n)
{
	size_t sz;
	ht_hash_t *t;

	/*
	 * calloc, not aligned_alloc and memset: a large hash comes zeroed
	 * from the system, and only the pages of the chains in use are
	 * ever touched (a chain is 16 bytes, and calloc's 16-byte
	 * alignment keeps each in one cache line).
	 */
	sz = sizeof (ht_hash_t) + (size_t)n * sizeof (ht_chain_t);
	if ((t = calloc(1, sz)) == NULL)
		return (NULL);
	t->hh_n = n;
	t->hh_mask = n - 1;
	return (t);
}

/*
 * htable_hash_grow: replace hat's hash with one four times as large
 * (or more) once the space holds more tables than an eighth of its
 * chains (htable_hash_check, at the end of an operation).  Why it grows:
 * with about as many tables as chains, two threads' regions share chains
 * and lines of bucket locks wherever the windows' offsets put them
 * (map_1page_steady_t2_one_2g: 42-52 ns a call at 1024 chains, 14-15
 * grown), and a chain's search grows with the space.
 *
 * How, while other threads look tables up: one grower at a time, and
 * none while a walker of every chain has pinned the hash (hat_hash_use:
 * the grower does not wait, it leaves the growth to a later operation's
 * end); it takes every lock of the old hash in turn, so that no chain is
 * in use, moves every descriptor to the new hash, stores the hash and
 * then its mask (htable_chain_enter reads them the other way round), and
 * lets go of the old locks.  A thread that was waiting for an old
 * lock gets it, sees the new hash and goes there (htable_chain_enter).
 * The old hash stays allocated, for such a waiter, until the space is
 * destroyed: the sizes grow by 4, so all of them take less than a third
 * more than the last.  No memory for the new hash: the space goes on
 * with the old one, and tries again at the next operation's end.
 *
 * Called with no library lock held: a thread holding a bucket lock may
 * wait for the shared regions' lock, a cache lock or the reserve lock
 * (htable.c's lock order), so a grower holding one of those would
 * deadlock with it.  The grower's own locks are taken raw (lock.h): the
 * debug record keeps one bucket lock at a time.
 */
void
htable_hash_grow(hat_t *hat)
{
	ht_hash_t *t, *nt;
	htable_t *ht;
	unsigned n;

	HT_ASSERT(lock_none_held());
	if (atomic_load(&hat->hat_flags) & HAT_FREEING)
		return;
	if (!atomic_compare_exchange_strong_explicit(&hat->hat_hash_use,
	    &(unsigned){ 0 }, HASH_GROWING, memory_order_acquire,
	    memory_order_relaxed))
		return;		/* pinned, or another thread is at it */
	t = htable_hash_cur(hat);
	n = t->hh_n;
	while (n < HASH_MAX && atomic_load_explicit(&hat->hat_ntables,
	    memory_order_relaxed) > n >> HASH_LOAD_SHIFT)
		n = n * 4 < HASH_MAX ? n * 4 : HASH_MAX;
	if (n == t->hh_n || (nt = htable_hash_alloc(n)) == NULL) {
		atomic_store_explicit(&hat->hat_hash_use, 0,
		    memory_order_release);
		return;
	}
	for (unsigned h = 0; h < t->hh_n; h++)
		bucket_lock_raw(htable_chain_lock(t, h));
	for (unsigned h = 0; h < t->hh_n; h++) {
		while ((ht = *htable_head(t, h)) != NULL) {
			*htable_head(t, h) = ht->ht_next;
			chain_push(nt, htable_hash(hat, nt, ht->ht_vaddr,
			    ht->ht_level), ht);
		}
	}
	nt->hh_old = t;
	atomic_store_explicit(&hat->hat_hash, nt, memory_order_release);
	atomic_store_explicit(&hat->hat_hash_mask, nt->hh_mask,
	    memory_order_release);
	for (unsigned h = 0; h < t->hh_n; h++)
		bucket_unlock_raw(htable_chain_lock(t, h));
	atomic_store_explicit(&hat->hat_hash_use, 0, memory_order_release);
}

ht_hash_t *
htable_hash_pin(hat_t *hat)
{
	unsigned v = atomic_load_explicit(&hat->hat_hash_use,
	    memory_order_relaxed);

	HT_ASSERT(!lock_rank_held(LR_BUCKET));
	for (unsigned i = 0;; i++) {
		if (v & HASH_GROWING) {
			/* it waits for bucket locks only: not for us */
			if (i < 64) {
#if defined(__x86_64__) || defined(__i386__)
				__builtin_ia32_pause();
#endif
			} else {
				(void) sched_yield();
			}
			v = atomic_load_explicit(&hat->hat_hash_use,
			    memory_order_relaxed);
			continue;
		}
		if (atomic_compare_exchange_weak_explicit(&hat->hat_hash_use,
		    &v, v + 1, memory_order_acquire, memory_order_relaxed))
			return (htable_hash_cur(hat));
	}
}

void
htable_hash_unpin(hat_t *hat)
{
	atomic_fetch_sub_explicit(&hat->hat_hash_use, 1,
	    memory_order_release);
}

/*
 * The calling thread's shard of hat's cache: its own counter shard, or
 * shard 0 for a thread that has none (not yet, or beyond HAT_SHARDS - 1
 * threads), which such threads share under its lock.
 */
static hat_pm_t *
cache_mine(hat_t *hat)
{
	return (&hat->hat_pm[shard_slot()]);
}

void
hat_cache_put(hat_t *hat, htable_t *ht)
{
	hat_pm_t *c = cache_mine(hat);

	bucket_enter(&c->pm_lock, LR_HAT);
	ht->ht_next = c->pm_cached;
	c->pm_cached = ht;
	atomic_store_explicit(&c->pm_ncached, atomic_load_explicit(
	    &c->pm_ncached, memory_order_relaxed) + 1, memory_order_relaxed);
	bucket_exit(&c->pm_lock);
}

htable_t *
hat_cache_pop(hat_t *hat, unsigned s)
{
	hat_pm_t *c = &hat->hat_pm[s];
	htable_t *ht;

	/* an empty shard is passed over without its lock */
	if (atomic_load_explicit(&c->pm_ncached, memory_order_relaxed) == 0)
		return (NULL);
	bucket_enter(&c->pm_lock, LR_HAT);
	if ((ht = c->pm_cached) != NULL) {
		c->pm_cached = ht->ht_next;
		atomic_store_explicit(&c->pm_ncached, atomic_load_explicit(
		    &c->pm_ncached, memory_order_relaxed) - 1,
		    memory_order_relaxed);
	}
	bucket_exit(&c->pm_lock);
	return (ht);
}

htable_t *
hat_cache_get(hat_t *hat)
{
	unsigned mine = shard_slot();
	htable_t *ht = hat_cache_pop(hat, mine);

	/* ours is empty: another thread's free tables before a new frame */
	for (unsigned s = 0; ht == NULL && s < HAT_SHARDS; s++)
		if (s != mine)
			ht = hat_cache_pop(hat, s);
	return (ht);
}

unsigned
hat_cache_count(const hat_t *hat)
{
	unsigned n = 0;

	for (unsigned s = 0; s < HAT_SHARDS; s++)
		n += atomic_load_explicit(&hat->hat_pm[s].pm_ncached,
		    memory_order_relaxed);
	return (n);
}

/*
 * htable_retire_now: where a table goes when nobody uses it any more.  It
 * stays cached on its hat with its (all-zero) frame unless the hat is being
 * destroyed, a steal/reap is running, or the frame is not ours; else
 * htable_free_now.
 */
void
htable_retire_now(htable_t *ht)
{
	hat_t *hat = ht->ht_hat;

	HT_ASSERT(ht_valid(ht) == 0);
	if (hat != NULL && !(ht->ht_flags & (HTABLE_SHARED_PFN |
	    HTABLE_COPIED | HTABLE_IMPORTED)) &&
	    !(atomic_load(&hat->hat_flags) & HAT_FREEING) &&
	    atomic_load(&hat->hat_ctx->ctx_dont_cache) == 0 &&
	    ht->ht_level != hat->hat_max_level) {
		hat_cache_put(hat, ht);
		return;
	}
	htable_free_now(ht);
}

/*
 * htable_free_now: give an unused table's frame back (to the provider;
 * an imported one to the caller) and its descriptor to the reserve or
 * to free().  For a table that must not be cached whatever the context
 * does meanwhile (a purge's, a fresh frame given back): they used to
 * raise ctx_dont_cache around htable_retire_now, which held off caching
 * in every space of the context while one space was destroyed.
 */
void
htable_free_now(htable_t *ht)
{
	hat_t *hat = ht->ht_hat;
	ht_ctx_t *ctx;

	HT_ASSERT(ht_valid(ht) == 0);
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
	if (op_nested() ||
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
	op_t *op = op_cur();

	HT_ASSERT(ht_valid(ht) == 0);
	if (op != NULL && op->op_hat == ht->ht_hat && ht->ht_ptr != NULL &&
	    !(ht->ht_flags & (HTABLE_SHARED_PFN | HTABLE_COPIED)) &&
	    ht->ht_level != ht->ht_hat->hat_max_level) {
		ht->ht_next = op->op_prealloc;
		op->op_prealloc = ht;
		return;
	}
	htable_retire_now(ht);
}

/*
 * htable_retire: like htable_retire_now, but a table freed inside an
 * operation that holds back its hat's TLB invalidations (an operation on
 * its own hat, or one that changed it on the way) waits until the
 * operation has run the TLB hook: an MMU may still hold the old link in
 * its paging-structure caches.
 */
void
htable_retire(htable_t *ht)
{
	op_t *op = op_cur();

	if (op != NULL && ht->ht_hat != NULL && (op->op_hat == ht->ht_hat ||
	    op_holds_tlb(op, ht->ht_hat))) {
		ht->ht_next = op->op_deferred;
		op->op_deferred = ht;
		return;
	}
	htable_retire_now(ht);
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
	/*
	 * Our link is counted in higher, but its count is exact only when
	 * old's hold is the only one: a holder adds what it wrote when it
	 * leaves the table (htable_apply), so an overlapping unmap of that
	 * leaf may be counted first, and the count may read 0 for a moment.
	 */
	HT_ASSERT(ht_valid(higher) > 0 || BUSY(higher) > 1);
	HT_ASSERT(ht_valid(old) == 0);
	/*
	 * Lock-free readers (ht_translate) check this generation around
	 * their walk: once it moved, a table they walked may be reused.
	 */
	atomic_fetch_add(&higher->ht_hat->hat_gen, 1);
	/* and so do those of the spaces that walk our tables as theirs */
	if (atomic_load(&higher->ht_hat->hat_flags) & HAT_SHARED)
		share_bump_gens(higher->ht_hat);
	/*
	 * Our own links carry REF, so no MMU changes them; an imported link
	 * may lack it and get REF set under us, hence the loop.  Anything
	 * but a link to this frame means our structures are corrupt.
	 */
	for (cur = x86pte_get(higher, entry); ; cur = found) {
		HT_VERIFY(pte_is_ptp(m, cur, higher->ht_level) &&
		    pte_pfn(m, cur, higher->ht_level) == old->ht_pfn);
		found = x86pte_cas(higher, entry, cur, 0);
		if (found == cur)
			break;
	}
	/*
	 * The CPU roots that copy this root entry drop the link too, before
	 * the hook hears of it (a PAE CPU reloads its PDPTEs only from CR3:
	 * the hook gets "all", which means a CR3 load there).
	 */
	if (higher->ht_level == higher->ht_hat->hat_max_level) {
		cpu_refresh(higher->ht_hat, entry);
		if (m->mode == HT_MODE_PAE)
			op_tlb_inval(higher->ht_hat, 0, HT_TLB_ALL);
	}
	op_tlb_inval(higher->ht_hat, old->ht_vaddr,
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
	/*
	 * A new root entry: copy it into the CPU roots that copy this root.
	 * A CPU caches no empty entry, except PAE's PDPTE registers, which
	 * only a CR3 load refills (the hook's "all").
	 */
	if (higher->ht_level == higher->ht_hat->hat_max_level) {
		cpu_refresh(higher->ht_hat, entry);
		if (m->mode == HT_MODE_PAE)
			op_tlb_inval(higher->ht_hat, 0, HT_TLB_ALL);
	}
	return (0);
}

/*
 * htable_release: drop one hold.  When the holder was the last user of an
 * empty table, unlink and free it, then release the hold that table had on
 * its parent, and so on upward.  Kept even when empty: tables of a hat
 * being destroyed (freed in bulk later) and tables at or above the highest
 * large-page level (as illumos: that avoids churn where large pages go, and
 * keeps the root).  A shared table's descriptor in a sharer never counts
 * entries (they are its source's) and carries the region's hold while the
 * region lives: it goes when ht_unshare drops that hold, whatever level it
 * is, and then releases its hold on the source.
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
htable_free_locked(htable_t *ht, bucket_lock_t *mtx, htable_t **r_shared)
{
	htable_t *higher = ht->ht_parent;

	HT_ASSERT(lock_held(mtx) && mtx == htable_mutex(ht));
	HT_ASSERT(atomic_load(&ht->ht_lock_cnt) == 0);
	if (ht->ht_flags & HTABLE_SHARED_PFN) {
		*r_shared = ht->ht_shares;
		atomic_fetch_sub(&ht->ht_shares->ht_nsharers, 1);
	}
	HT_VERIFY(higher != NULL);
	unlink_ptp(higher, ht, ht->ht_vaddr);
	htable_hash_remove(ht);
	mutex_exit(mtx);
	htable_retire(ht);
	return (higher);
}

void
htable_release(htable_t *ht)
{
	while (ht != NULL) {
		htable_t *shared = NULL;
		bucket_lock_t *mtx;

		for (;;) {
			mtx = htable_lock(ht);
			HT_ASSERT(BUSY(ht) > 0);
			if (ht_valid(ht) > 0 ||
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
	bucket_lock_t *mtx = htable_lock(ht);
	htable_t *shared = NULL, *higher;

	if (ht_valid(ht) > 0 || BUSY(ht) > 1 ||
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
	bucket_lock_t *mtx;
	htable_t **slot;
	htable_t *ht;

	HT_ASSERT(level >= 0 && level <= hat->hat_max_level);
	mtx = htable_chain_enter(hat, base, level, &slot);
	ht = htable_hash_search(*slot, base, level);
	if (ht != NULL)
		BUSY_ADD(ht, 1);
	mutex_exit(mtx);
	return (ht);
}

void
htable_acquire(htable_t *ht)
{
	htable_t **slot;
	bucket_lock_t *mtx = htable_chain_enter(ht->ht_hat, ht->ht_vaddr,
	    ht->ht_level, &slot);

	HT_ASSERT(BUSY(ht) > 0 || ht_valid(ht) > 0);
	if (config_debug)
		HT_VERIFY(htable_hash_search(*slot, ht->ht_vaddr,
		    ht->ht_level) == ht);
	BUSY_ADD(ht, 1);
	mutex_exit(mtx);
}

/* Report every table frame of hat (illumos hat_dump). */
void
htable_dump(hat_t *hat, ht_frame_fn fn, void *arg, long *count)
{
	ht_hash_t *t = htable_hash_pin(hat);

	for (unsigned h = 0; h < t->hh_n; h++) {
		mutex_enter(htable_chain_lock(t, h), LR_BUCKET);
		for (htable_t *ht = *htable_head(t, h); ht != NULL;
		    ht = ht->ht_next) {
			if (ht->ht_flags & (HTABLE_COPIED | HTABLE_SHARED_PFN))
				continue;
			if (fn != NULL)
				fn(arg, hat, ht->ht_pfn, ht->ht_level);
			(*count)++;
		}
		mutex_exit(htable_chain_lock(t, h));
	}
	htable_hash_unpin(hat);
}

x86pte_t
htable_pte_unmap(htable_t *ht, unsigned entry, x86pte_t old, int tlb)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);
	x86pte_t found;

	HT_ASSERT(pte_is_page(m, old, ht->ht_level));
	found = x86pte_inval(ht, entry, old, NULL, tlb);
	if (!pte_valid(m, found) ||
	    pte_pa(m, found, ht->ht_level) != pte_pa(m, old, ht->ht_level))
		return (0);	/* gone, or remapped by someone else */
	atomic_fetch_sub(&ht->ht_valid_cnt, 1);
	hat_pm_add(ht->ht_hat, ht->ht_level, -1);
	if (found & m->pt_locked)
		atomic_fetch_sub(&ht->ht_lock_cnt, 1);
	op_ad_removed(ht, entry, found);
	return (found);
}
