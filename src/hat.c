/*
 * hat.c - address spaces: create, import, destroy; the operation frame
 * that every public call runs in (preallocation, deferred frees, batched
 * TLB invalidation); and the single-leaf unmap the stealer uses.
 *
 * An operation (ht_op_t, on the caller's stack, found through a
 * thread-local pointer) gives three guarantees:
 *  1. ht_op_prealloc takes every frame the operation will use before
 *     anything changes, so a failed call leaves no half-built state; the
 *     plan (hat_range.c) asks for exactly the tables it creates, and any
 *     frame left unused goes back to the provider when the operation
 *     ends.
 *  2. Tables freed during the operation are kept until the TLB hook has
 *     run: an MMU may still walk them through its paging-structure caches.
 *  3. TLB invalidations are merged into at most HT_OP_TLB_RANGES ranges
 *     and delivered once, with no library lock held.
 * A provider callback that re-enters the library nests a second operation;
 * the depth tells htable_alloc to use the reserve (illumos's hat depth).
 *
 * An operation may also carry the caller's A/D sink (ht_map_ad,
 * ht_unmap_ad).  Every path that removes a leaf of the operation's space
 * reports there the bits the leaf had when it was cleared: the value the
 * clearing exchange or CAS returned, which is final because no MMU sets a
 * bit in an entry that is gone (a write through a TLB entry cached dirty
 * was dirty already).  A split moves the bits to the small leaves and is
 * no removal; a steal is another space's business and reports nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "htable_int.h"
#include "x86pte.h"
#include "frame.h"
#include "hat.h"
#include "debug.h"
#include "lock.h"

static _Thread_local ht_op_t *ht_cur_op;
static _Thread_local int ht_depth;

ht_op_t *
ht_op_cur(void)
{
	return (ht_cur_op);
}

int
use_hat_reserves(void)
{
	return (ht_depth > 1);
}

void
ht_op_begin(ht_op_t *op, hat_t *hat)
{
	memset(op, 0, sizeof (*op));
	op->op_hat = hat;
	op->op_prev = ht_cur_op;
	ht_cur_op = op;
	ht_depth++;
}

/*
 * Give back tables taken for op that it did not use (hat_mutex not held):
 * a frame that came from the provider goes back to it, and with `all` so
 * does every other one.  Otherwise a table from the space's cache goes back
 * there, so that a failed reservation leaves the space as it was.
 */
static void
op_give_back(ht_op_t *op, htable_t *list, int all)
{
	htable_t *ht;

	while ((ht = list) != NULL) {
		ht_ctx_t *ctx = op->op_hat->hat_ctx;
		int fresh = all || (ht->ht_flags & HTABLE_FRESH) != 0;

		list = ht->ht_next;
		ht->ht_flags &= (uint8_t)~HTABLE_FRESH;
		if (fresh)
			atomic_fetch_add(&ctx->ctx_dont_cache, 1);
		htable_free_now(ht);
		if (fresh)
			atomic_fetch_sub(&ctx->ctx_dont_cache, 1);
	}
}

int
ht_op_prealloc(ht_op_t *op, uint64_t n)
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
		op_give_back(op, taken, 0);
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

static void
tlb_flush(ht_op_t *op)
{
	hat_t *hat = op->op_hat;
	ht_ctx_t *ctx;

	if (hat == NULL || (op->op_ntlb == 0 && !op->op_tlb_all))
		return;
	ctx = hat->hat_ctx;
	HT_ASSERT(lock_none_held());	/* no library lock at the TLB hook */
	if (op->op_tlb_all) {
		HATSTAT_INC(ctx, tlb_calls);
		ctx->ctx_cfg.tlb(ctx->ctx_cfg.tlb_arg, hat, 0, HT_TLB_ALL);
		return;
	}
	for (unsigned i = 0; i < op->op_ntlb; i++) {
		HATSTAT_INC(ctx, tlb_calls);
		ctx->ctx_cfg.tlb(ctx->ctx_cfg.tlb_arg, hat, op->op_tlb_va[i],
		    op->op_tlb_len[i]);
	}
}

int
ht_op_pin(ht_op_t *op, htable_t *ht)
{
	if (op->op_npinned == op->op_maxpinned) {
		unsigned n = op->op_maxpinned ? op->op_maxpinned * 2 : 64;
		htable_t **p = realloc(op->op_pinned, n * sizeof (*p));

		if (p == NULL) {
			htable_release(ht);
			return (ht__fail(HT_ENOMEM, "no memory to pin tables"));
		}
		op->op_pinned = p;
		op->op_maxpinned = n;
	}
	op->op_pinned[op->op_npinned++] = ht;
	return (0);
}

void
ht_op_end(ht_op_t *op)
{
	htable_t *ht;

	HT_VERIFY(ht_cur_op == op);
	/* Releases may free tables: still deferred, so before the hook. */
	while (op->op_npinned > 0)
		htable_release(op->op_pinned[--op->op_npinned]);
	free(op->op_pinned);
	ht_cur_op = op->op_prev;
	tlb_flush(op);
	/* Only now may the frames of unlinked tables be reused. */
	while ((ht = op->op_deferred) != NULL) {
		op->op_deferred = ht->ht_next;
		htable_free_now(ht);
	}
	/*
	 * The plan reserves exactly what the operation creates, so frames
	 * are left over only when another thread made a table first (a split
	 * in the same large page).  They go back to the provider: a spare
	 * frame cached in the space would be lost to every other space.
	 */
	op_give_back(op, op->op_prealloc, 1);
	op->op_prealloc = NULL;
	ht_depth--;
}

void
hat_tlb_inval(hat_t *hat, uint64_t va, uint64_t len)
{
	ht_ctx_t *ctx = hat->hat_ctx;
	ht_op_t *op = ht_cur_op;

	if (ctx->ctx_cfg.tlb == NULL ||
	    (atomic_load(&hat->hat_flags) & HAT_FREEING))
		return;
	if (len == 0)		/* 2^64 bytes: the whole space */
		len = HT_TLB_ALL;
	if (op == NULL || op->op_hat != hat) {
		/*
		 * No operation on this space: tell it now.  (A stealer works
		 * on its victim inside an operation of its own, so that its
		 * invalidations, made under bucket mutexes, wait for
		 * ht_op_end instead of coming here.)
		 */
		HT_ASSERT(lock_none_held());	/* none at the TLB hook */
		HATSTAT_INC(ctx, tlb_calls);
		ctx->ctx_cfg.tlb(ctx->ctx_cfg.tlb_arg, hat, va, len);
		return;
	}
	if (op->op_tlb_all)
		return;
	if (len == HT_TLB_ALL) {
		op->op_tlb_all = 1;
		return;
	}
	/*
	 * Merge with an overlapping or adjacent range.  Inclusive ends: a
	 * range may end at the very top of the space, where va + len is 0.
	 */
	uint64_t last = va + (len - 1);

	for (unsigned i = 0; i < op->op_ntlb; i++) {
		uint64_t lo = op->op_tlb_va[i];
		uint64_t hi = lo + (op->op_tlb_len[i] - 1);

		if (va <= hi + 1 - (hi == ~0ull) && last + 1 - (last ==
		    ~0ull) >= lo) {
			uint64_t nlo = va < lo ? va : lo;
			uint64_t nhi = last > hi ? last : hi;

			if (nhi - nlo == ~0ull) {	/* the whole space */
				op->op_tlb_all = 1;
				return;
			}
			op->op_tlb_va[i] = nlo;
			op->op_tlb_len[i] = nhi - nlo + 1;
			return;
		}
	}
	if (op->op_ntlb < HT_OP_TLB_RANGES) {
		op->op_tlb_va[op->op_ntlb] = va;
		op->op_tlb_len[op->op_ntlb] = len;
		op->op_ntlb++;
		return;
	}
	op->op_tlb_all = 1;	/* too scattered: drop everything */
}

x86pte_t
hat_pte_unmap(htable_t *ht, unsigned entry, x86pte_t old, int tlb)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);
	x86pte_t found;

	HT_ASSERT(pte_is_page(old, ht->ht_level));
	found = x86pte_inval(ht, entry, old, NULL, tlb);
	if (!(found & PT_VALID) ||
	    pte_pa(m, found, ht->ht_level) != pte_pa(m, old, ht->ht_level))
		return (0);	/* gone, or remapped by someone else */
	atomic_fetch_sub(&ht->ht_valid_cnt, 1);
	atomic_fetch_sub(&ht->ht_hat->hat_pages_mapped[ht->ht_level], 1);
	if (found & PT_LOCKED)
		atomic_fetch_sub(&ht->ht_lock_cnt, 1);
	hat_ad_removed(ht, entry, found);
	return (found);
}

void
hat_ad_report(const ht_ad_sink_t *s, uint64_t va, uint64_t size,
    x86pte_t old)
{
	unsigned bits = ((old & PT_REF) ? HT_A : 0) |
	    ((old & PT_MOD) ? HT_D : 0);

	if (bits != 0)
		s->ad_fn(s->ad_arg, va, size, bits);
}

ht_ad_sink_t *
hat_ad_sink(hat_t *hat, uint64_t va, int level, ht_ad_sink_t *s)
{
	ht_op_t *op = ht_cur_op;

	/* Only the operation's own space: a stealer's victim is not ours. */
	if (op == NULL || op->op_hat != hat || op->op_ad_fn == NULL)
		return (NULL);
	s->ad_fn = op->op_ad_fn;
	s->ad_arg = op->op_ad_arg;
	s->ad_va = va;
	s->ad_shift = (int)LEVEL_SHIFT(hat_mmu(hat), level);
	return (s);
}

void
hat_ad_removed(htable_t *ht, unsigned entry, x86pte_t old)
{
	ht_ad_sink_t s;

	if ((old & (PT_REF | PT_MOD)) != 0 && hat_ad_sink(ht->ht_hat,
	    htable_e2va(ht, entry), ht->ht_level, &s) != NULL)
		hat_ad_report(&s, s.ad_va, 1ull << s.ad_shift, old);
}

static hat_t *
hat_alloc_struct(ht_ctx_t *ctx, unsigned flags)
{
	hat_t *hat = calloc(1, sizeof (*hat));

	if (hat == NULL)
		return (NULL);
	hat->hat_ctx = ctx;
	hat->hat_num_hash = ctx->ctx_cfg.hash_buckets;
	hat->hat_ht_hash = calloc(hat->hat_num_hash, sizeof (htable_t *));
	if (hat->hat_ht_hash == NULL) {
		free(hat);
		return (NULL);
	}
	hat->hat_max_level = ctx->ctx_mmu.max_level;
	atomic_store(&hat->hat_flags, flags);
	(void) pthread_mutex_init(&hat->hat_mutex, NULL);
	lockmap_init(&hat->hat_locks);
	return (hat);
}

static void
hat_list_insert(hat_t *hat)
{
	ht_ctx_t *ctx = hat->hat_ctx;

	mutex_enter(&ctx->ctx_list_lock, LR_LIST);
	hat->hat_prev = NULL;
	hat->hat_next = ctx->ctx_hat_head;
	if (ctx->ctx_hat_head != NULL)
		ctx->ctx_hat_head->hat_prev = hat;
	else
		ctx->ctx_hat_tail = hat;
	ctx->ctx_hat_head = hat;
	ctx->ctx_num_hats++;
	mutex_exit(&ctx->ctx_list_lock);
}

/* Remove from the list (ctx_list_lock held). */
static void
hat_list_remove(hat_t *hat)
{
	ht_ctx_t *ctx = hat->hat_ctx;

	if (hat->hat_prev != NULL)
		hat->hat_prev->hat_next = hat->hat_next;
	else
		ctx->ctx_hat_head = hat->hat_next;
	if (hat->hat_next != NULL)
		hat->hat_next->hat_prev = hat->hat_prev;
	else
		ctx->ctx_hat_tail = hat->hat_prev;
	ctx->ctx_num_hats--;
}

void
hat_free_struct(hat_t *hat)
{
	(void) pthread_mutex_destroy(&hat->hat_mutex);
	lockmap_fini(&hat->hat_locks);
	free(hat->hat_ht_hash);
	free(hat->hat_copied_ptes);
	free(hat);
}

/*
 * hat_create: a new address space with HAT_* flags.  HAT_COPIED makes the
 * root a frameless HTABLE_COPIED table whose entries live in
 * hat_copied_ptes (illumos's per-CPU page tables: an embedder copies them
 * into each CPU's own root when the TLB hook asks for "all").
 */
int
hat_create(ht_ctx_t *ctx, unsigned hat_flags, hat_t **r_hat)
{
	hat_t *hat;
	htable_t *root;
	ht_op_t op;
	int err = 0;

	hat = hat_alloc_struct(ctx, hat_flags);
	if (hat == NULL)
		return (ht__fail(HT_ENOMEM, "no memory for an address space"));
	if (hat_flags & HAT_COPIED) {
		hat->hat_num_copied = ctx->ctx_mmu.top_level_count;
		hat->hat_copied_ptes = calloc(hat->hat_num_copied,
		    sizeof (x86pte_t));
		if (hat->hat_copied_ptes == NULL) {
			hat_free_struct(hat);
			return (ht__fail(HT_ENOMEM, "no memory for copied "
			    "root entries"));
		}
	}
	ht_op_begin(&op, hat);
	root = htable_create(hat, 0, hat->hat_max_level, NULL, &err);
	ht_op_end(&op);
	if (root == NULL) {
		hat_free_struct(hat);
		return (err);
	}
	/* The root's hold is never released. */
	hat->hat_htable = root;
	hat_list_insert(hat);
	*r_hat = hat;
	return (0);
}

int
ht_as_create(ht_ctx_t *ctx, unsigned flags, ht_as_t **r_as)
{
	if (ctx == NULL || r_as == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	if (flags & ~HT_AS_NOSTEAL)
		return (ht__fail(HT_EINVAL, "unknown flags 0x%x", flags));
	return (hat_create(ctx, (flags & HT_AS_NOSTEAL) ? HAT_NOSTEAL : 0,
	    r_as));
}

/* Tear down: everything goes at once (illumos hat_free_start/end). */
static void
hat_destroy(hat_t *hat, int listed)
{
	ht_ctx_t *ctx = hat->hat_ctx;

	mutex_enter(&ctx->ctx_list_lock, LR_LIST);
	while (atomic_load(&hat->hat_flags) & HAT_VICTIM)
		cv_wait(&ctx->ctx_list_cv,
		    &ctx->ctx_list_lock);
	atomic_fetch_or(&hat->hat_flags, HAT_FREEING);
	if (listed)
		hat_list_remove(hat);
	mutex_exit(&ctx->ctx_list_lock);
	/* No MMU may keep using the space's tables once frames go back. */
	if (listed && ctx->ctx_cfg.tlb != NULL) {
		HT_ASSERT(lock_none_held());	/* none at the TLB hook */
		HATSTAT_INC(ctx, tlb_calls);
		ctx->ctx_cfg.tlb(ctx->ctx_cfg.tlb_arg, hat, 0, HT_TLB_ALL);
	}
	(void) htable_purge_hat(hat);
	hat_free_struct(hat);
}

void
ht_as_destroy(ht_as_t *as)
{
	if (as == NULL)
		return;
	hat_destroy(as, 1);
}

int
ht_as_import(ht_ctx_t *ctx, ht_pa_t root_pa, unsigned flags, ht_as_t **r_as)
{
	const mmu_t *m;
	pfnset_t seen = { NULL, 0, 0 };
	hat_t *hat;
	int err;

	if (ctx == NULL || r_as == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	m = &ctx->ctx_mmu;
	if (flags & ~HT_AS_NOSTEAL)
		return (ht__fail(HT_EINVAL, "unknown flags 0x%x", flags));
	if (root_pa & (m->mode == HT_MODE_PAE ? 0x1f : 0xfff))
		return (ht__fail(HT_EALIGN, "root 0x%llx is not %s aligned",
		    (unsigned long long)root_pa, m->mode == HT_MODE_PAE ?
		    "32-byte" : "page"));
	if (root_pa >= m->root_pa_limit)
		return (ht__fail(HT_EPABITS, "root 0x%llx is beyond what CR3 "
		    "can hold", (unsigned long long)root_pa));
	hat = hat_alloc_struct(ctx, HAT_IMPORTED |
	    ((flags & HT_AS_NOSTEAL) ? HAT_NOSTEAL : 0));
	if (hat == NULL)
		return (ht__fail(HT_ENOMEM, "no memory for an address space"));
	err = htable_attach(hat, 0, hat->hat_max_level, NULL, root_pa, &seen);
	free(seen.slots);
	if (err != 0) {
		hat_destroy(hat, 0);
		return (err);
	}
	htable_attach_scrub(hat);
	hat_list_insert(hat);
	*r_as = hat;
	return (0);
}

ht_pa_t
ht_as_root(const ht_as_t *as)
{
	const htable_t *root = as->hat_htable;

	if (root->ht_flags & HTABLE_COPIED)
		return (0);	/* per-CPU roots: the embedder's frames */
	return (((ht_pa_t)root->ht_pfn << HT_PAGE_SHIFT) |
	    ((uintptr_t)root->ht_ptr & (HT_PAGE_SIZE - 1)));
}

ht_ctx_t *
ht_as_ctx(const ht_as_t *as)
{
	return (as->hat_ctx);
}

long
ht_as_purge(ht_as_t *as)
{
	return (htable_purge_hat(as));
}
