/*
 * reserve.c - the reserve pool of frameless descriptors.
 *
 * The reserve exists for allocations that must not call the normal
 * allocator (a provider callback that re-enters the library: op_nested)
 * and for when malloc fails.  The normal path refills it (htable_alloc
 * donates); htable_adjust_reserve trims it back to its target.  Stealing,
 * reaping and purging, the rest of memory pressure, are steal.c.
 *
 * Lock order: the reserve lock is a leaf; it may be taken under a bucket
 * mutex or a cache lock.
 */
#include <stdlib.h>

#include "htable_int.h"
#include "op.h"
#include "debug.h"
#include "lock.h"

void
htable_put_reserve(ht_ctx_t *ctx, htable_t *ht)
{
	ht->ht_hat = NULL;
	ht->ht_pfn = HT_PFN_INVALID;
	ht->ht_ptr = NULL;
	mutex_enter(&ctx->ctx_reserve_lock, LR_RESERVE);
	ht->ht_next = ctx->ctx_reserve;
	ctx->ctx_reserve = ht;
	ctx->ctx_reserve_count++;
	mutex_exit(&ctx->ctx_reserve_lock);
	HATSTAT_INC(ctx, htable_rputs);
}

htable_t *
htable_get_reserve(ht_ctx_t *ctx)
{
	htable_t *ht;

	mutex_enter(&ctx->ctx_reserve_lock, LR_RESERVE);
	if ((ht = ctx->ctx_reserve) != NULL) {
		ctx->ctx_reserve = ht->ht_next;
		ctx->ctx_reserve_count--;
		ht->ht_next = NULL;
	}
	mutex_exit(&ctx->ctx_reserve_lock);
	if (ht != NULL)
		HATSTAT_INC(ctx, htable_rgets);
	return (ht);
}

/* Fill the reserve at context creation: 0 or -HT_ENOMEM. */
int
htable_initial_reserve(ht_ctx_t *ctx, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		htable_t *ht = calloc(1, sizeof (*ht));

		if (ht == NULL)
			return (-HT_ENOMEM);
		htable_put_reserve(ctx, ht);
	}
	return (0);
}

/* Trim the reserve back to its target. */
void
htable_adjust_reserve(ht_ctx_t *ctx)
{
	while (ctx->ctx_reserve_count > ctx->ctx_reserve_amount &&
	    !op_nested()) {
		htable_t *ht = htable_get_reserve(ctx);

		if (ht == NULL)
			break;
		free(ht);
	}
}
