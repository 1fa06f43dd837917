/*
 * alloc.c - getting a table: htable_alloc (a descriptor and a zeroed
 * frame, from wherever one can be had), htable_create (the table at a VA
 * and level, with every missing table above it), and op_prealloc_tables (an
 * operation's tables, taken before anything changes).
 *
 * The sources, in order: the operation's preallocated tables, the space's
 * cache of free tables, a new descriptor and a frame from the provider
 * (a frameless descriptor from the reserve when the normal allocator
 * must not be re-entered), and last stealing from address spaces
 * (steal.c).  This module is the only caller of htable_steal, which is
 * why it sits above it.
 */
#include <stdlib.h>

#include "htable_int.h"
#include "x86pte.h"
#include "frame.h"
#include "op.h"
#include "debug.h"
#include "lock.h"

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
	op_t *op = op_cur();
	int err = -HT_ENOFRAME;

	HT_VERIFY(level >= 0 && level <= hat->hat_max_level);

	if (!is_bare && !is_root && op != NULL && op->op_hat == hat &&
	    op->op_prealloc != NULL) {
		ht = op->op_prealloc;
		op->op_prealloc = ht->ht_next;
	}
	if (ht == NULL && !is_bare && !is_root &&
	    (ht = hat_cache_get(hat)) != NULL)
		HATSTAT_INC(ctx, cache_hits);
	if (ht == NULL) {
		if (op_nested()) {
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
				if (op_nested() ||
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
	ht_valid_set(ht, 0);
	atomic_store_explicit(&ht->ht_lock_cnt, 0, memory_order_relaxed);
	if (need_zero) {
		ptable_zero(ht->ht_ptr);
		ht->ht_flags |= HTABLE_FRESH;
	}
	return (ht);
}

/*
 * htable_create: the table at (vaddr, level), held, creating every missing
 * table from the root down.  The allocation happens with the bucket mutex
 * dropped, so the search is repeated afterwards; a table that appeared
 * meanwhile wins and our spare is freed.  A newly linked table keeps the
 * hold we had on its parent; an existing one already owns such a hold, so
 * ours is released.  With `shared` (the source's table, which the caller
 * holds), the table at `level` is a new HTABLE_SHARED_PFN descriptor
 * borrowing its frame, with a hold and an ht_nsharers count on it.  NULL
 * with *r_err: -HT_ENOFRAME / -HT_ENOMEM; -HT_ELPAGE when a large leaf
 * occupies the parent entry (nothing created at or below that level);
 * -HT_EEXIST when `shared` is given and a table is at (vaddr, level)
 * already (tables above it may have been made).
 *
 * The descent starts at the parent when the parent exists (the usual
 * case: a new level-0 table under a level-1 table that is there): the
 * tables above it, which every thread in the region shares (the root,
 * the 512 GiB table), are then neither locked nor held.  Two threads
 * making tables in disjoint ranges of one space took turns with the
 * root's and the upper tables' lines at every table (map_1page_cached_*).
 */
htable_t *
htable_create(hat_t *hat, uint64_t vaddr, int level, htable_t *shared,
    int *r_err)
{
	htable_t *higher = NULL, *new = NULL, *ht;
	int top = hat->hat_max_level;

	HT_ASSERT(level >= 0 && level <= hat->hat_max_level);
	if (level + 1 < top &&
	    (higher = htable_lookup(hat, vaddr, level + 1)) != NULL)
		top = level;	/* held: the loop starts below it */
	for (int l = top; l >= level; l--) {
		uint64_t base = htable_base(hat, vaddr, l);
		bucket_lock_t *mtx;
		htable_t **slot;

	try_again:
		mtx = htable_chain_enter(hat, base, l, &slot);
		if (l == hat->hat_max_level)
			ht = hat->hat_htable;
		else
			ht = htable_hash_search(*slot, base, l);
		if (ht != NULL && l == level && shared != NULL) {
			/* the sharer has a table of its own there */
			mutex_exit(mtx);
			if (new != NULL)
				htable_unalloc(new);
			if (higher != NULL)
				htable_release(higher);
			*r_err = ht__fail(HT_EEXIST, "a table of the space's own "
			    "is where a shared one would go");
			return (NULL);
		}
		if (ht != NULL) {
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
			atomic_fetch_add(&shared->ht_nsharers, 1);
		}
		higher = new;
		new = NULL;
	}
	return (higher);
}

int
op_prealloc_tables(op_t *op, uint64_t n)
{
	htable_t *taken = NULL, *ht;
	uint64_t ntaken = 0;
	int err = 0;

	/* op_prealloc is not consulted by htable_alloc while we fill it. */
	htable_t *saved = op->op_prealloc;
	op->op_prealloc = NULL;
	while (ntaken < n) {
		ht = htable_alloc(op->op_hat, 0, 0, NULL, &err);
		if (ht == NULL)
			break;
		ht->ht_next = taken;
		taken = ht;
		ntaken++;
	}
	op->op_prealloc = saved;
	if (ntaken < n) {
		/* A failed call changes nothing: every frame goes back. */
		op_give_back(taken, 0);
		if (err == -HT_ENOFRAME)
			err = ht__fail(HT_ENOFRAME, "the operation creates %llu "
			    "tables; only %llu frames could be had (pools "
			    "exhausted, nothing to steal)", (unsigned long long)n,
			    (unsigned long long)ntaken);
		return (err);
	}
	while ((ht = taken) != NULL) {
		taken = ht->ht_next;
		ht->ht_flags &= (uint8_t)~HTABLE_FRESH;
		ht->ht_next = op->op_prealloc;
		op->op_prealloc = ht;
	}
	return (0);
}
