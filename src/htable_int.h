/*
 * htable_int.h - page-table descriptors: the hash, holds, and the walk.
 *
 * THE HOLD CONTRACT: one htable_release per successful htable_lookup,
 * htable_create, htable_acquire, htable_getpte, htable_getpage, and per
 * table that htable_next_leaf hands back.  A table is never freed while held.
 *
 * Verbs keep illumos's meanings:
 *   lookup   find the table at (va, level) and hold it; NULL if none.
 *   create   lookup or build (top-down, every missing level), held.
 *   acquire  one more hold on a table the caller can already reach.
 *   release  drop a hold; an unused empty table is unlinked and freed and
 *            the release goes on upward (a child holds its parent).
 *   walk     find the next leaf at or after va; scan one table.
 *   getpte / getpage   point queries that also return the entry.
 *   va2entry / e2va    address <-> entry index inside one table.
 */
#ifndef HT_HTABLE_INT_H
#define HT_HTABLE_INT_H

#include "types.h"
#include "debug.h"
#include "op.h"

/* Internal error: a large leaf sits where a table is needed (illumos LPAGE). */
#define HT_ELPAGE	(HT__NERR + 1)

static inline const mmu_t *
hat_mmu(const hat_t *hat)
{
	return (&hat->hat_ctx->ctx_mmu);
}

static inline unsigned
htable_num_ptes(const htable_t *ht)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);

	return (ht->ht_level == ht->ht_hat->hat_max_level ?
	    m->top_level_count : m->ptes_per_table);
}

/* VA of the last 4 KiB page the table covers. */
static inline uint64_t
htable_last_page(const htable_t *ht)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);

	if (ht->ht_level == ht->ht_hat->hat_max_level)
		return (mmu_va_last(m) & ~(uint64_t)(HT_PAGE_SIZE - 1));
	return (ht->ht_vaddr + ((uint64_t)htable_num_ptes(ht) <<
	    LEVEL_SHIFT(m, ht->ht_level)) - HT_PAGE_SIZE);
}

static inline unsigned
htable_va2entry(uint64_t va, const htable_t *ht)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);

	return ((unsigned)(va >> LEVEL_SHIFT(m, ht->ht_level)) &
	    (htable_num_ptes(ht) - 1));
}

static inline uint64_t
htable_e2va(const htable_t *ht, unsigned entry)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);
	uint64_t va = ht->ht_vaddr +
	    ((uint64_t)entry << LEVEL_SHIFT(m, ht->ht_level));

	/* Root entries past the lower half name the upper canonical half. */
	if (ht->ht_level == ht->ht_hat->hat_max_level)
		va = mmu_canon(m, va);
	return (va);
}

/* Base VA of the level-`level` table covering va. */
static inline uint64_t
htable_base(const hat_t *hat, uint64_t va, int level)
{
	if (level == hat->hat_max_level)
		return (0);
	return (va & LEVEL_MASK(hat_mmu(hat), level + 1));
}

/*
 * The read side of a space's seqlock (hat_gen, as Linux's read_seqbegin /
 * read_seqretry): a lock-free walk may read a table that is unlinked and
 * its frame reused (freed after an operation, or stolen for another space)
 * while it reads; every unlink bumps hat_gen first, so a walk that saw
 * the generation move may hold someone else's entries and is done again:
 *	do { gen = hat_read_begin(hat); ...walk... }
 *	while (hat_read_retry(hat, gen));
 */
static inline uint64_t
hat_read_begin(hat_t *hat)
{
	return (atomic_load_explicit(&hat->hat_gen, memory_order_acquire));
}

static inline int
hat_read_retry(hat_t *hat, uint64_t gen)
{
	atomic_thread_fence(memory_order_acquire);
	return (HT_UNLIKELY(atomic_load_explicit(&hat->hat_gen,
	    memory_order_relaxed) != gen));
}

/* The physical address CR3 names for hat's root (0 for a copied root). */
static inline ht_pa_t
hat_root_pa(const hat_t *hat)
{
	const htable_t *root = hat->hat_htable;

	if (root->ht_flags & HTABLE_COPIED)
		return (0);	/* per-CPU roots: the embedder's frames */
	return (((ht_pa_t)root->ht_pfn << HT_PAGE_SHIFT) |
	    ((uintptr_t)root->ht_ptr & (HT_PAGE_SIZE - 1)));
}

/*
 * Fill hat->hat_qd (types.h) once the root exists, before the space is
 * seen by anyone.  The fast walk of hat_query.c hard-codes the 4/5-level
 * geometry (9 index bits a level from bit 12, 8-byte entries, the hole
 * above bit va_bits - 1 or, in nested paging, nothing at or above 2^va_bits:
 * qd_hole); rather than assume that of a mode, this checks
 * it against the mode's geometry (mmu.c) and leaves qd_nlev 0, the
 * general walk, for anything else.  The fast walk's rights and attributes
 * are those of a mode whose every level has W, U and NX (ht_config_t's
 * no_nx clears NX) and whose leaves have all nine HT_SW bits, with bit 0
 * as the present bit, or EPT's format (present bits in qd_pmask, the
 * report qd_report_ept's); the same check sends any other to the general
 * walk.
 */
static inline void
hat_qd_init(hat_t *hat)
{
	const mmu_t *m = hat_mmu(hat);
	const htable_t *root = hat->hat_htable;
	const ht_ctx_t *ctx = hat->hat_ctx;
	hat_qd_t *q = &hat->hat_qd;

	q->qd_nlev = 0;
	if ((root->ht_flags & HTABLE_COPIED) || m->pte_size != 8 ||
	    (m->num_level != 4 && m->num_level != 5) ||
	    m->va_bits != 12 + 9 * (unsigned)m->num_level)
		return;
	/* the x86 format in full, or EPT's (qd_report_ept reads it) */
	if (!m->ept && (m->lgpg_mask != (m->paddr_mask & ~PT_PAT_LARGE) ||
	    m->pt_nx != PT_NX || m->sw_attr != HT_SW_MASK ||
	    m->pt_present != PT_VALID))
		return;
	if (m->ept && (m->lgpg_mask != m->paddr_mask ||
	    m->pt_present > 0xffff))
		return;
	for (int l = 0; l < m->num_level; l++) {
		if (m->level_shift[l] != 12 + 9 * (unsigned)l ||
		    m->idx_mask[l] != 511 || m->noperm[l] != 0 ||
		    m->nx_bit[l] != (m->ept ? 0 : PT_NX))
			return;
	}
	q->qd_root = root->ht_ptr;
	q->qd_root_pa = hat_root_pa(hat);
	q->qd_wadj = (uintptr_t)ctx->ctx_win - (uintptr_t)ctx->ctx_win_base;
	q->qd_wbase = ctx->ctx_win_base;
	q->qd_wlen = ctx->ctx_win == NULL ? 0 : ctx->ctx_win_len;
	q->qd_amask = m->paddr_mask;
	q->qd_hole = m->has_hole != 0;
	q->qd_pmask = (uint16_t)m->pt_present;
	q->qd_nlev = (uint8_t)(m->num_level | (m->ept ? QD_NLEV_EPT : 0));
}

/* Reserve pool of frameless descriptors (reserve.c) */
void htable_put_reserve(ht_ctx_t *ctx, htable_t *ht);
htable_t *htable_get_reserve(ht_ctx_t *ctx);
int htable_initial_reserve(ht_ctx_t *ctx, unsigned count);
void htable_adjust_reserve(ht_ctx_t *ctx);

/*
 * The space's cache of free tables, one list per counter shard (types.h,
 * htable.c).  hat_cache_put adds a table to the calling thread's shard;
 * hat_cache_get takes one from it, or from any shard when it is empty
 * (NULL: none cached); hat_cache_pop takes one from shard s, for those
 * that empty the cache (steal.c); hat_cache_count sums the counts.
 * Each takes a shard's lock (LR_HAT) for the moment of the list change.
 */
void hat_cache_put(hat_t *hat, htable_t *ht);
htable_t *hat_cache_get(hat_t *hat);
htable_t *hat_cache_pop(hat_t *hat, unsigned s);
unsigned hat_cache_count(const hat_t *hat);

/*
 * The first cached table of the first shard that has one: for tests and
 * diagnostics, with the space quiet (no lock).
 */
static inline htable_t *
hat_cache_peek(const hat_t *hat)
{
	for (unsigned s = 0; s < HAT_SHARDS; s++)
		if (hat->hat_pm[s].pm_cached != NULL)
			return (hat->hat_pm[s].pm_cached);
	return (NULL);
}

/* Descriptors (htable.c) */
void htable_retire(htable_t *ht);
void htable_retire_now(htable_t *ht);
void htable_free_now(htable_t *ht);
void htable_unalloc(htable_t *ht);
htable_t *htable_lookup(hat_t *hat, uint64_t vaddr, int level);
void htable_acquire(htable_t *ht);
void htable_release(htable_t *ht);
int htable_release_if_last(htable_t *ht);
void unlink_ptp(htable_t *higher, htable_t *old, uint64_t vaddr);
x86pte_t link_ptp(htable_t *higher, htable_t *new, uint64_t vaddr);
void htable_hash_insert(htable_t *ht);
void htable_hash_remove(htable_t *ht);
/*
 * The key of (va, level) in a space's hash (types.h, ht_hash_t): its
 * chain is the key's low bits.  Inline: every lookup of the one-entry
 * path starts here.
 *  - Inside a 2 GiB window, level-0 tables one after another take chains
 *    one after another (va >> 21), so a thread working in one region
 *    keeps to a few lines of chains and their locks.
 *  - Each GiB adds 4 chains more (va >> 30 << 2): a line that no
 *    level-0 table takes, so that threads in neighbouring GiB never
 *    write the same line; it also spreads the tables above level 0,
 *    whose bases are 1 GiB or more apart.
 *  - Each window starts at an offset that a multiplicative hash of its
 *    number picks.  With the shifts alone, regions a power of two apart
 *    (guest RAM banks 512 GiB apart, a kernel's half and a user's, two
 *    threads 2 GiB apart) fell on the same chains, and two threads in
 *    one space took the same bucket locks at every call.  The offsets
 *    of two windows differ by about the same amount wherever the two
 *    are (the product is linear), so the multiplier decides which
 *    distances collide: with the golden ratio's, 512 GiB apart put the
 *    second region 442 chains after the first in every size of hash.
 *    This one was picked from 3000 random odd numbers as the one whose
 *    regions 2^k GiB apart (k = 1..21) keep at least 1100 chains apart
 *    in hashes of 16384 and 65536 chains (at 4096, 512 GiB apart and
 *    two longer distances still overlap).  Windows at other distances
 *    share chains as random ones would: the fewer, the larger the hash
 *    is against the tables (htable_hash_grow).
 *  - The hat pointer term makes the chains of different spaces start
 *    apart.
 * The key does not depend on the hash's size, so a lookup computes it
 * before it reads which hash is current.
 */
static inline uint64_t
hash_key(const hat_t *hat, uint64_t va, int level)
{
	/* LEVEL_SHIFT(mmu, 1), from the space's own line (wc_init) */
	return ((va >> hat->hat_wc[1].wc_shift) + ((va >> 30) << 2) +
	    (((va >> 31) * 0x68514aa49945d723ull) >> 40) + (uint64_t)level +
	    ((uintptr_t)hat >> 4));
}

static inline unsigned
htable_hash(const hat_t *hat, const ht_hash_t *t, uint64_t va, int level)
{
	return ((unsigned)hash_key(hat, va, level) & t->hh_mask);
}

/* The lock of chain h of t, and its head. */
static inline bucket_lock_t *
htable_chain_lock(ht_hash_t *t, unsigned h)
{
	return (&t->hh_chain[h].hc_lock);
}

static inline htable_t **
htable_head(ht_hash_t *t, unsigned h)
{
	return (&t->hh_chain[h].hc_head);
}

/*
 * hat's hash now.  It stays hat's while the caller holds one of its
 * locks (the grower takes them all), or in a serial space, where only
 * the caller's own thread grows it.
 */
static inline ht_hash_t *
htable_hash_cur(const hat_t *hat)
{
	return (atomic_load_explicit(&((hat_t *)hat)->hat_hash,
	    memory_order_acquire));
}

/*
 * Lock the chain that (base, level) hashes to in hat's hash and return
 * its lock, with *r_slot set to the chain's head.  The hot path of every
 * lookup: the key does not depend on the hash; the mask and the hash are
 * two loads side by side (one line), and two more after the lock check
 * that the mask is still the space's and is the hash's own
 * (htable_hash_grow stores the new hash, then its mask, while it holds
 * every lock of the old hash):
 *  - the mask is read first: a new mask comes with the new hash;
 *  - an old mask with the old hash: if the hash grew before we got the
 *    old lock, we see the new mask after it;
 *  - an old mask with the new hash (read between the grower's two
 *    stores) names a chain that exists in it, as the hash only grows,
 *    but maybe not the right one: the new hash's own mask differs.
 */
bucket_lock_t *htable_chain_enter_again(hat_t *hat, uint64_t base, int level,
    htable_t ***r_slot);

/* The chain of (base, level) in the hash read now, *r_t that hash. */
static inline ht_chain_t *
htable_chain_pick(hat_t *hat, uint64_t base, int level, unsigned *r_mask,
    ht_hash_t **r_t)
{
	unsigned key = (unsigned)hash_key(hat, base, level);

	*r_mask = atomic_load_explicit(&hat->hat_hash_mask,
	    memory_order_acquire);
	/* acquire: a new hash's header, read later, was written before */
	*r_t = atomic_load_explicit(&hat->hat_hash, memory_order_acquire);
	return (&(*r_t)->hh_chain[key & *r_mask]);
}

/* With the picked chain's lock held: is it still the right chain? */
static inline int
htable_chain_still(hat_t *hat, unsigned mask, const ht_hash_t *t)
{
	return (atomic_load_explicit(&hat->hat_hash_mask,
	    memory_order_relaxed) == mask && t->hh_mask == mask);
}

static inline bucket_lock_t *
htable_chain_enter(hat_t *hat, uint64_t base, int level, htable_t ***r_slot)
{
	unsigned mask;
	ht_hash_t *t;
	ht_chain_t *c = htable_chain_pick(hat, base, level, &mask, &t);

	mutex_enter(&c->hc_lock, LR_BUCKET);
	if (HT_LIKELY(htable_chain_still(hat, mask, t))) {
		*r_slot = &c->hc_head;
		return (&c->hc_lock);
	}
	/* grown meanwhile: out of line, so that no loop is kept here */
	mutex_exit(&c->hc_lock);
	return (htable_chain_enter_again(hat, base, level, r_slot));
}

/*
 * htable_chain_enter for a caller that does not wait (the multi-writer
 * front, hat_one.h): NULL with nothing locked when the chain's lock is
 * held or the hash grew meanwhile.  The caller then goes the way that
 * waits.
 */
static inline bucket_lock_t *
htable_chain_tryenter(hat_t *hat, uint64_t base, int level,
    htable_t ***r_slot)
{
	unsigned mask;
	ht_hash_t *t;
	ht_chain_t *c = htable_chain_pick(hat, base, level, &mask, &t);

	if (HT_UNLIKELY(!bucket_tryenter(&c->hc_lock, LR_BUCKET)))
		return (NULL);
	if (HT_LIKELY(htable_chain_still(hat, mask, t))) {
		*r_slot = &c->hc_head;
		return (&c->hc_lock);
	}
	mutex_exit(&c->hc_lock);
	return (NULL);
}

/* Lock ht's chain; returns its lock (htable_chain_enter). */
bucket_lock_t *htable_lock(const htable_t *ht);
/*
 * ht's chain lock in its space's hash now: for assertions by a caller
 * that holds it (the hash cannot grow meanwhile).
 */
bucket_lock_t *htable_mutex(const htable_t *ht);

/* The table (base, level) on the chain that starts at head, or NULL. */
static inline htable_t *
htable_hash_search(htable_t *head, uint64_t base, int level)
{
	htable_t *ht;

	for (ht = head; ht != NULL; ht = ht->ht_next) {
		if (ht->ht_vaddr == base && ht->ht_level == level)
			return (ht);
	}
	return (NULL);
}

/*
 * The hash of hat: a new one of n chains (NULL: no memory), and its
 * growth (htable.c).  Grow when the space has more tables than an eighth
 * of its chains: two threads' regions (runs of chains) then overlap
 * seldom (two regions of 512 tables, in windows whose offsets fall at
 * random: one time in 8 at a fourth, one in 16 at an eighth), and a
 * chain holds one table or two.  A chain is 16 bytes, and the pages of
 * the chains no table uses are never touched (calloc).
 */
#define HASH_LOAD_SHIFT	3
ht_hash_t *htable_hash_alloc(unsigned n);
void htable_hash_grow(hat_t *hat);
/*
 * Keep hat's hash from growing while the caller walks every chain (a
 * stealer, the statistics, a dump): returns the hash, which stays hat's
 * until htable_hash_unpin.  Waits while a grower runs; not with a bucket
 * lock held (the grower waits for those).
 */
ht_hash_t *htable_hash_pin(hat_t *hat);
void htable_hash_unpin(hat_t *hat);
static inline void
htable_hash_check(hat_t *hat)
{
	if (HT_UNLIKELY(atomic_load_explicit(&hat->hat_ntables,
	    memory_order_relaxed) > htable_hash_cur(hat)->hh_n >>
	    HASH_LOAD_SHIFT))
		htable_hash_grow(hat);
}
void htable_dump(hat_t *hat, ht_frame_fn fn, void *arg, long *count);

/*
 * ht's valid count: the sum of its two parts (types.h).  Exact under
 * ht's bucket mutex with no holder changing entries, or in a serial
 * space between calls; elsewhere as fresh as the loads.
 */
static inline int32_t
ht_valid(const htable_t *ht)
{
	return (atomic_load(&ht->ht_valid_cnt) +
	    atomic_load_explicit(&ht->ht_valid_lk, memory_order_relaxed));
}

/*
 * Beyond this the one-entry path's part is folded into the holders' one,
 * so that neither part can overflow however long the two kinds of calls
 * take turns counting the same leaves in and out.
 */
#define HT_VALID_LK_FOLD	(1 << 20)

/*
 * Add d to ht's valid count by the one-entry path's part: a load and a
 * store, under ht's bucket mutex or in a serial space (its only writers).
 * A fold adds to the holders' part first and then clears ours, so a
 * reader without the mutex may see the count too high for a moment,
 * never too low.  (Inline: a call, even a cold one, would keep the hot
 * callers' values in saved registers.)
 */

static inline __attribute__((always_inline)) void
ht_valid_lk_add(htable_t *ht, int d)
{
	int32_t v = atomic_load_explicit(&ht->ht_valid_lk,
	    memory_order_relaxed) + d;

	/* |v| > HT_VALID_LK_FOLD, in one compare */
	if (HT_UNLIKELY((uint32_t)v + HT_VALID_LK_FOLD >
	    2u * HT_VALID_LK_FOLD)) {
		atomic_fetch_add(&ht->ht_valid_cnt, v);
		v = 0;
	}
	atomic_store_explicit(&ht->ht_valid_lk, v, memory_order_relaxed);
}

/*
 * Set ht's valid count to n: a table nobody else can see yet, or one
 * being emptied with nobody else in it.
 */
static inline void
ht_valid_set(htable_t *ht, int32_t n)
{
	atomic_store_explicit(&ht->ht_valid_cnt, n, memory_order_relaxed);
	atomic_store_explicit(&ht->ht_valid_lk, 0, memory_order_relaxed);
}

/*
 * Apply at once what a pass over the entries of ht (held) changed: dvalid
 * to its valid count, dpages to the space's pages mapped at its level (as
 * dvalid, but np entries count as valid and map no page), dlock to its
 * lock count; with tlb, invalidate [tlb_va, tlb_va + tlb_len) (tlb_len 0:
 * all 2^64 bytes).  The iterator, the bulk entry loop and the map fill
 * loop gather their changes per table and settle them here.
 */
static inline void
htable_apply(htable_t *ht, int dvalid, int64_t dpages, int dlock, int tlb,
    uint64_t tlb_va, uint64_t tlb_len)
{
	/* each is a locked instruction: skip the ones with nothing to add */
	if (dvalid != 0)
		atomic_fetch_add(&ht->ht_valid_cnt, dvalid);
	if (dpages != 0)
		hat_pm_add(ht->ht_hat, ht->ht_level, dpages);
	if (dlock != 0)
		atomic_fetch_add(&ht->ht_lock_cnt, (uint32_t)dlock);
	if (tlb)
		op_tlb_inval(ht->ht_hat, tlb_va, tlb_len);
}
/*
 * Remove the leaf at entry of ht (steal path and unmap): clear it, count
 * it, invalidate as needed.  Returns the old entry (0 if it was gone).
 */
x86pte_t htable_pte_unmap(htable_t *ht, unsigned entry, x86pte_t old,
    int tlb);

/* Stealing, reaping, purging (steal.c) */
htable_t *htable_steal(ht_ctx_t *ctx, unsigned cnt, int reap);
long htable_reap(ht_ctx_t *ctx);
long htable_purge_hat(hat_t *hat);

/* Getting a table (alloc.c) */
htable_t *htable_alloc(hat_t *hat, uint64_t vaddr, int level,
    htable_t *shared, int *r_err);
htable_t *htable_create(hat_t *hat, uint64_t vaddr, int level,
    htable_t *shared, int *r_err);

/* Import of tables built elsewhere (import.c) */
int htable_attach(hat_t *hat, uint64_t base, int level, htable_t *parent,
    ht_pa_t pa, pfnset_t *seen);
void htable_attach_scrub(hat_t *hat);

/* Walks (walk.c) */
x86pte_t htable_next_valid(htable_t *ht, uint64_t *vap, uint64_t elast);
x86pte_t htable_next_leaf(hat_t *hat, htable_t **htp, uint64_t *vap,
    uint64_t elast);
htable_t *htable_getpte(hat_t *hat, uint64_t vaddr, unsigned *r_entry,
    x86pte_t *r_pte, int level);
htable_t *htable_getpage(hat_t *hat, uint64_t vaddr, unsigned *r_entry);

#endif /* HT_HTABLE_INT_H */
