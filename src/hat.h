/*
 * hat.h - the address-space layer's internal interface (hat.c, ctx.c):
 * creating a space, and naming who holds a frame.  The operation frame
 * is op.h.
 */
#ifndef HT_HAT_H
#define HT_HAT_H

#include "types.h"

/* A new address space with HAT_* flags (HAT_COPIED, HAT_NOSTEAL). */
int hat_create(ht_ctx_t *ctx, unsigned hat_flags, hat_t **r_hat);

/*
 * Destroy hat: every table and the struct (illumos hat_free_start/end);
 * listed: it is on the context's list.  Its shares are ended before
 * (ht_as_destroy, hat_share.c).
 */
void hat_destroy(hat_t *hat, int listed);

/* Free the hash, list membership and struct of a hat (no tables). */
void hat_free_struct(hat_t *hat);

/*
 * Describe, into buf, who in ctx holds table frame pfn (ctx.c): for the
 * error message of an import that names a frame in use.
 */
void ctx_frame_owner(ht_ctx_t *ctx, ht_pfn_t pfn, char *buf, size_t len);

/*
 * Import meets frame pfn, held by the context, as a level-`level` table
 * that the importing space `sharer` links at va: if it is a table of that
 * level below the root of another space that may share out, hold it and
 * register the share (SR_MAKING, share.c) and return it; else NULL (the
 * frame stays refused).  *r_err: 0, or -HT_ENOMEM.
 */
htable_t *ctx_share_table(ht_ctx_t *ctx, hat_t *sharer, ht_pfn_t pfn,
    int level, uint64_t va, int *r_err);

#endif /* HT_HAT_H */
