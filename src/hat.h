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

#endif /* HT_HAT_H */
