/*
 * rmap.h - the reverse map (rmap.c): from a physical frame to every
 * (space, VA) that maps it, kept by the paths that add and remove
 * leaves, for the ht_page_* calls (hat_rmap.c) and the audit.
 */
#ifndef HT_RMAP_H
#define HT_RMAP_H

#include "types.h"
#include "op.h"

/* The coverage of [lo, hi] goes: rmap_set's pa for "no mapping". */
#define RMAP_NONE	(~(uint64_t)0)

/* Is the context keeping a reverse map? */
static inline int
rmap_on(const ht_ctx_t *ctx)
{
	return (ctx->ctx_cfg.rmap != 0);
}

void rmap_init(ht_ctx_t *ctx);
void rmap_fini(ht_ctx_t *ctx);

/*
 * The extents an operation may need, taken before it changes anything
 * (an operation cannot fail half way): two always suffice, because an
 * operation changes its range in ascending VA order, so that only its
 * first change can cut an extent in two, and every later one trims what
 * the earlier left or extends what it made.  0, or -HT_ENOMEM.  The
 * context's spare extents (for stealers) are topped up on the way.
 */
int rmap_prep(ht_ctx_t *ctx, rmap_prep_t *rp);
/* Fill rp's empty places again (import: one leaf at a time). */
int rmap_refill(ht_ctx_t *ctx, rmap_prep_t *rp);
/* Give back what the operation did not use. */
void rmap_unprep(ht_ctx_t *ctx, rmap_prep_t *rp);

/*
 * [lo, hi] of hat now maps pa (pa + (va - lo) for each page), or nothing
 * (pa RMAP_NONE).  Called by the writer while it holds the table whose
 * leaves it changed, so that a stealer, which takes only tables nobody
 * holds, sees the reverse map and the leaves agree.  Extents come from
 * rp (the operation's), else from the context's spares.
 */
void rmap_set(hat_t *hat, uint64_t lo, uint64_t hi, uint64_t pa,
    rmap_prep_t *rp);
/* The same from inside an operation (op_t.op_rmap); no-op when off. */
static inline void
rmap_op_set(hat_t *hat, uint64_t lo, uint64_t hi, uint64_t pa)
{
	op_t *op = op__cur;

	if (HT_LIKELY(!rmap_on(hat->hat_ctx)))
		return;
	rmap_set(hat, lo, hi, pa, op != NULL && op->op_hat == hat ?
	    op->op_rmap : NULL);
}

/*
 * A stealer about to empty a table: one spare extent for its removal, or
 * 0 when there is none (it leaves the table alone).  rmap_steal_done
 * removes [lo, hi] and puts back what was not used.
 */
int rmap_steal_begin(ht_ctx_t *ctx, rmap_prep_t *rp);
void rmap_steal_done(hat_t *hat, uint64_t lo, uint64_t hi, rmap_prep_t *rp);

/* hat goes: its extents go. */
void rmap_drop_hat(hat_t *hat);

/*
 * Every extent that maps a byte of [pa_lo, pa_hi]: fn(arg, hat, va of
 * pa_lo's page in it (or of the extent's first page inside), pa), under
 * the map's lock (fn must not call the library).  Returns the count.
 */
typedef void (*rmap_fn)(void *arg, hat_t *hat, uint64_t va, uint64_t pa);
long rmap_lookup(ht_ctx_t *ctx, uint64_t pa_lo, uint64_t pa_hi, rmap_fn fn,
    void *arg);

/*
 * The audit's check: hat's extents describe exactly its own leaves
 * (each given by the caller, in any order, to rmap_audit_leaf), and
 * each is in the context's PA index.  begin: 0 or -HT_ENOMEM; leaf and
 * end: 0 or -HT_ECORRUPT.
 */
typedef struct rmap_audit {
	void		*ra_ext;	/* the extents in VA order */
	size_t		ra_n;
	uint64_t	ra_bytes;	/* leaf bytes seen */
	uint64_t	ra_ext_bytes;
	int		ra_err;
} rmap_audit_t;
int rmap_audit_begin(hat_t *hat, rmap_audit_t *ra);
int rmap_audit_leaf(rmap_audit_t *ra, uint64_t va, uint64_t pa,
    uint64_t size);
int rmap_audit_end(rmap_audit_t *ra);

/* The number of extents and the bytes they take (ht_ctx_stats). */
void rmap_usage(ht_ctx_t *ctx, uint64_t *r_extents, uint64_t *r_bytes);

#endif /* HT_RMAP_H */
