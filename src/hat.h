/*
 * hat.h - the address-space layer's internal interface: operations in
 * progress, TLB batching, and what htable.c and reserve.c call back into.
 */
#ifndef HT_HAT_H
#define HT_HAT_H

#include "types.h"

/* The operation this thread is running, or NULL. */
ht_op_t *ht_op_cur(void);
/*
 * Begin an operation on hat (hat may be NULL for context-wide work):
 * becomes the thread's current operation.  Nested library calls (from a
 * provider callback) see a depth > 1 and use the reserves.
 */
void ht_op_begin(ht_op_t *op, hat_t *hat);
/*
 * Top up op with n zeroed table frames, so that the rest of the operation
 * cannot fail for lack of memory.  0, or -HT_ENOFRAME / -HT_ENOMEM with
 * none taken: the frames it had got go back where they came from (the
 * provider or the space's cache).
 */
int ht_op_prealloc(ht_op_t *op, uint64_t n);
/*
 * Keep a hold on ht until the operation ends (ht_op_end releases it): a
 * table the operation counted on must not be freed by another thread's
 * release half way.  0 or -HT_ENOMEM (then the hold was dropped).
 */
int ht_op_pin(ht_op_t *op, htable_t *ht);
/*
 * Run the batched TLB hook, then free deferred tables; preallocated frames
 * left unused go back to the provider.
 */
void ht_op_end(ht_op_t *op);

/*
 * Entries of [va, va + len) of hat may be cached by an MMU: batch the
 * invalidation into the current operation on this hat, or call the hook
 * now.  len HT_TLB_ALL: everything.  Nothing for a FREEING hat.
 */
void hat_tlb_inval(hat_t *hat, uint64_t va, uint64_t len);

/*
 * Remove the leaf at entry of ht (steal path and unmap): clear it, count
 * it, invalidate as needed.  Returns the old entry (0 if it was gone).
 */
x86pte_t hat_pte_unmap(htable_t *ht, unsigned entry, x86pte_t old, int tlb);

/*
 * The leaf at entry of ht, whose value when it was cleared or replaced was
 * old, is gone: report its A/D bits (if any) to the sink of this thread's
 * operation on ht's hat, if it has one.
 */
void hat_ad_removed(htable_t *ht, unsigned entry, x86pte_t old);
/*
 * For a bulk loop removing leaves of level `level` from va on: fill *s and
 * return it if this thread's operation on hat has an A/D sink, else NULL.
 */
ht_ad_sink_t *hat_ad_sink(hat_t *hat, uint64_t va, int level,
    ht_ad_sink_t *s);
/* Report old's A/D bits, if any, for the leaf [va, va + size). */
void hat_ad_report(const ht_ad_sink_t *s, uint64_t va, uint64_t size,
    x86pte_t old);

/* A new address space with HAT_* flags (HAT_COPIED, HAT_NOSTEAL). */
int hat_create(ht_ctx_t *ctx, unsigned hat_flags, hat_t **r_hat);

/* Free the hash, list membership and struct of a hat (no tables). */
void hat_free_struct(hat_t *hat);

/*
 * Describe, into buf, who in ctx holds table frame pfn (ctx.c): for the
 * error message of an import that names a frame in use.
 */
void ctx_frame_owner(ht_ctx_t *ctx, ht_pfn_t pfn, char *buf, size_t len);

#endif /* HT_HAT_H */
