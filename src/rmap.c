/*
 * rmap.c - the reverse map: which (space, VA) maps a physical frame
 * (illumos hment, kept as extents instead of one record per mapping).
 *
 * An extent says "[va, va + len) of a space maps [pa, pa + len)".  A map
 * call makes one extent however many pages and page sizes it uses, and
 * an extent that continues the one before it (the next VA to the next
 * PA) is merged into it, so a space mapped page by page in order costs
 * one extent.  Splitting a large page, protecting, locking or harvesting
 * changes no extent: they change leaves, not what maps what.
 *
 * Each extent is in two treaps (randomized balanced trees): its space's
 * (hat_rmap, by VA; a space's extents never overlap) and its context's
 * (ctx_rmap, by PA, then address, each node knowing the highest PA below
 * it, so "who maps this frame" visits only extents that reach it).
 *
 * Exactness.  Every path that adds or removes leaves calls rmap_set for
 * the VA range it changed, while it holds the table: map (fill_leaves),
 * unmap (table_update, range_clear), the large leaf a map replaces, the
 * non-present entries that replace leaves (ht_set_np), and the stealer,
 * which empties only tables nobody holds; import builds the extents of
 * the tables it wraps; a space that goes drops its own.  So a stealer
 * never removes coverage that a writer adds after it.  Calls that change
 * overlapping ranges of a space at once are outside the concurrency
 * contract (htable.h): the leaves then show which call won, and the map
 * may name the other.
 *
 * Memory.  An operation cannot fail half way, so it takes the extents it
 * may need first (rmap_prep: two suffice, see rmap.h) and gives back what
 * it did not use; an extent that a change frees goes back to the
 * operation's hand while there is room.  A stealer needs at most one
 * (a table's span cut out of the middle of an extent) and takes it from
 * the context's spares, which rmap_prep keeps topped up; with none
 * spare, it leaves the table alone.
 *
 * Lock order: ctx_rmap_lock is the last lock: it is taken under a bucket
 * mutex (the stealer) and nothing is taken under it.
 */
#include <stdlib.h>
#include <string.h>

#include "rmap.h"
#include "debug.h"
#include "lock.h"

#define RMAP_SPARES	32	/* spare extents kept for stealers */

void
rmap_init(ht_ctx_t *ctx)
{
	(void) pthread_mutex_init(&ctx->ctx_rmap_lock, NULL);
	ctx->ctx_rmap_seed = 0x9e3779b97f4a7c15ull;
}

void
rmap_fini(ht_ctx_t *ctx)
{
	rmap_ext_t *x;

	HT_VERIFY(ctx->ctx_rmap == NULL);	/* every space is gone */
	while ((x = ctx->ctx_rmap_spare) != NULL) {
		ctx->ctx_rmap_spare = x->re_vr;
		free(x);
	}
	(void) pthread_mutex_destroy(&ctx->ctx_rmap_lock);
}

/* A priority for a new extent (xorshift; under the lock). */
static uint32_t
rmap_prio(ht_ctx_t *ctx)
{
	uint64_t x = ctx->ctx_rmap_seed;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	ctx->ctx_rmap_seed = x;
	return ((uint32_t)(x >> 32));
}

/* ------------------------------------------------------------------ */
/* The space's treap, by VA                                            */
/* ------------------------------------------------------------------ */

/* Split t into the extents below va (*l) and the rest (*r). */
static void
vsplit(rmap_ext_t *t, uint64_t va, rmap_ext_t **l, rmap_ext_t **r)
{
	if (t == NULL) {
		*l = *r = NULL;
	} else if (t->re_va < va) {
		vsplit(t->re_vr, va, &t->re_vr, r);
		*l = t;
	} else {
		vsplit(t->re_vl, va, l, &t->re_vl);
		*r = t;
	}
}

/* Join l and r, every extent of l below every extent of r. */
static rmap_ext_t *
vmerge(rmap_ext_t *l, rmap_ext_t *r)
{
	if (l == NULL)
		return (r);
	if (r == NULL)
		return (l);
	if (l->re_prio > r->re_prio) {
		l->re_vr = vmerge(l->re_vr, r);
		return (l);
	}
	r->re_vl = vmerge(l, r->re_vl);
	return (r);
}

static rmap_ext_t *
vfirst(rmap_ext_t *t)
{
	while (t != NULL && t->re_vl != NULL)
		t = t->re_vl;
	return (t);
}

static rmap_ext_t *
vlast(rmap_ext_t *t)
{
	while (t != NULL && t->re_vr != NULL)
		t = t->re_vr;
	return (t);
}

/* ------------------------------------------------------------------ */
/* The context's treap, by (PA, address), with each subtree's PA end    */
/* ------------------------------------------------------------------ */

static int
pless(const rmap_ext_t *a, const rmap_ext_t *b)
{
	return (a->re_pa < b->re_pa || (a->re_pa == b->re_pa &&
	    (uintptr_t)a < (uintptr_t)b));
}

static void
pfix(rmap_ext_t *t)
{
	uint64_t m = t->re_pa + (t->re_len - 1);

	if (t->re_pl != NULL && t->re_pl->re_pmax > m)
		m = t->re_pl->re_pmax;
	if (t->re_pr != NULL && t->re_pr->re_pmax > m)
		m = t->re_pr->re_pmax;
	t->re_pmax = m;
}

/* Split t into the extents ordered before x (*l) and the rest (*r). */
static void
psplit(rmap_ext_t *t, const rmap_ext_t *x, rmap_ext_t **l, rmap_ext_t **r)
{
	if (t == NULL) {
		*l = *r = NULL;
		return;
	}
	if (pless(t, x)) {
		psplit(t->re_pr, x, &t->re_pr, r);
		*l = t;
	} else {
		psplit(t->re_pl, x, l, &t->re_pl);
		*r = t;
	}
	pfix(t);
}

static rmap_ext_t *
pmerge(rmap_ext_t *l, rmap_ext_t *r)
{
	if (l == NULL)
		return (r);
	if (r == NULL)
		return (l);
	if (l->re_prio > r->re_prio) {
		l->re_pr = pmerge(l->re_pr, r);
		pfix(l);
		return (l);
	}
	r->re_pl = pmerge(l, r->re_pl);
	pfix(r);
	return (r);
}

/*
 * Put x into t: down by key to where its priority belongs (raising the
 * PA ends on the way), and split only the subtree it takes over.  Writes
 * a node only when it changes: a fault path that maps one page at a time
 * touches the path's lines but dirties few of them.
 */
static rmap_ext_t *
pins(rmap_ext_t *t, rmap_ext_t *x)
{
	rmap_ext_t *n;

	if (t == NULL)
		return (x);
	if (x->re_prio > t->re_prio) {
		psplit(t, x, &x->re_pl, &x->re_pr);
		pfix(x);
		return (x);
	}
	if (pless(x, t)) {
		if ((n = pins(t->re_pl, x)) != t->re_pl)
			t->re_pl = n;
	} else {
		if ((n = pins(t->re_pr, x)) != t->re_pr)
			t->re_pr = n;
	}
	if (x->re_pmax > t->re_pmax)
		t->re_pmax = x->re_pmax;
	return (t);
}

static void
pinsert(ht_ctx_t *ctx, rmap_ext_t *x)
{
	rmap_ext_t *n;

	x->re_pl = x->re_pr = NULL;
	pfix(x);
	if ((n = pins(ctx->ctx_rmap, x)) != ctx->ctx_rmap)
		ctx->ctx_rmap = n;
	ctx->ctx_rmap_n++;
}

/* x's length changed, its PA did not: the PA ends above it follow. */
static void
pupdate(ht_ctx_t *ctx, rmap_ext_t *x)
{
	rmap_ext_t *t = ctx->ctx_rmap, *path[128];
	int depth = 0;

	while (t != x) {
		HT_VERIFY(t != NULL && depth < 128);
		path[depth++] = t;
		t = pless(x, t) ? t->re_pl : t->re_pr;
	}
	pfix(x);
	while (depth > 0)
		pfix(path[--depth]);
}

/* Take x out of the PA treap (it is there). */
static void
pdelete(ht_ctx_t *ctx, rmap_ext_t *x)
{
	rmap_ext_t **pp = &ctx->ctx_rmap;
	rmap_ext_t *path[128];
	int depth = 0;

	while (*pp != x) {
		HT_VERIFY(*pp != NULL && depth < 128);
		path[depth++] = *pp;
		pp = pless(x, *pp) ? &(*pp)->re_pl : &(*pp)->re_pr;
	}
	*pp = pmerge(x->re_pl, x->re_pr);
	/* the PA ends above it may have been x's */
	while (depth > 0)
		pfix(path[--depth]);
	ctx->ctx_rmap_n--;
}

/* Is x in the PA treap? */
static int
pfind(const ht_ctx_t *ctx, const rmap_ext_t *x)
{
	const rmap_ext_t *t = ctx->ctx_rmap;

	while (t != NULL && t != x)
		t = pless(x, t) ? t->re_pl : t->re_pr;
	return (t == x);
}

/* ------------------------------------------------------------------ */
/* Extents in hand                                                     */
/* ------------------------------------------------------------------ */

int
rmap_prep(ht_ctx_t *ctx, rmap_prep_t *rp)
{
	rmap_ext_t *more = NULL;
	unsigned nmore = 0;

	for (int i = 0; i < RMAP_PREP; i++) {
		rp->rp_ext[i] = malloc(sizeof (rmap_ext_t));
		if (rp->rp_ext[i] == NULL) {
			rmap_unprep(ctx, rp);
			return (ht__fail(HT_ENOMEM, "no memory for the reverse "
			    "map"));
		}
	}
	/* the stealers' spares, best effort, outside the lock */
	if (atomic_load_explicit((_Atomic unsigned *)&ctx->ctx_rmap_nspare,
	    memory_order_relaxed) < RMAP_SPARES / 2) {
		for (; nmore < RMAP_SPARES / 2; nmore++) {
			rmap_ext_t *x = malloc(sizeof (rmap_ext_t));

			if (x == NULL)
				break;
			x->re_vr = more;
			more = x;
		}
		mutex_enter(&ctx->ctx_rmap_lock, LR_RMAP);
		while (more != NULL) {
			rmap_ext_t *x = more;

			more = x->re_vr;
			x->re_vr = ctx->ctx_rmap_spare;
			ctx->ctx_rmap_spare = x;
			atomic_store_explicit((_Atomic unsigned *)
			    &ctx->ctx_rmap_nspare, ctx->ctx_rmap_nspare + 1,
			    memory_order_relaxed);
		}
		mutex_exit(&ctx->ctx_rmap_lock);
	}
	return (0);
}

int
rmap_refill(ht_ctx_t *ctx, rmap_prep_t *rp)
{
	(void) ctx;
	for (int i = 0; i < RMAP_PREP; i++)
		if (rp->rp_ext[i] == NULL &&
		    (rp->rp_ext[i] = malloc(sizeof (rmap_ext_t))) == NULL)
			return (ht__fail(HT_ENOMEM, "no memory for the reverse "
			    "map"));
	return (0);
}

void
rmap_unprep(ht_ctx_t *ctx, rmap_prep_t *rp)
{
	(void) ctx;
	for (int i = 0; i < RMAP_PREP; i++) {
		free(rp->rp_ext[i]);
		rp->rp_ext[i] = NULL;
	}
}

/* An extent to use: the operation's, a spare, or a new one (the lock). */
static rmap_ext_t *
ext_get(ht_ctx_t *ctx, rmap_prep_t *rp)
{
	rmap_ext_t *x;

	for (int i = 0; rp != NULL && i < RMAP_PREP; i++) {
		if ((x = rp->rp_ext[i]) != NULL) {
			rp->rp_ext[i] = NULL;
			return (x);
		}
	}
	if ((x = ctx->ctx_rmap_spare) != NULL) {
		ctx->ctx_rmap_spare = x->re_vr;
		atomic_store_explicit((_Atomic unsigned *)&ctx->ctx_rmap_nspare,
		    ctx->ctx_rmap_nspare - 1, memory_order_relaxed);
		return (x);
	}
	/*
	 * More than rmap_prep promised: a bug of ours.  Exactness matters
	 * more than a lock held over malloc.
	 */
	x = malloc(sizeof (rmap_ext_t));
	HT_VERIFY(x != NULL);
	return (x);
}

/* An extent freed by a change: back to the operation's hand, or free. */
static void
ext_put(ht_ctx_t *ctx, rmap_prep_t *rp, rmap_ext_t *x)
{
	for (int i = 0; rp != NULL && i < RMAP_PREP; i++) {
		if (rp->rp_ext[i] == NULL) {
			rp->rp_ext[i] = x;
			return;
		}
	}
	if (ctx->ctx_rmap_nspare < RMAP_SPARES) {
		x->re_vr = ctx->ctx_rmap_spare;
		ctx->ctx_rmap_spare = x;
		atomic_store_explicit((_Atomic unsigned *)&ctx->ctx_rmap_nspare,
		    ctx->ctx_rmap_nspare + 1, memory_order_relaxed);
		return;
	}
	free(x);
}

/* ------------------------------------------------------------------ */
/* Changes                                                             */
/* ------------------------------------------------------------------ */

/* Free every extent of treap t (taken out of the space's treap). */
static void
drop_all(ht_ctx_t *ctx, hat_t *hat, rmap_ext_t *t, rmap_prep_t *rp)
{
	if (t == NULL)
		return;
	drop_all(ctx, hat, t->re_vl, rp);
	drop_all(ctx, hat, t->re_vr, rp);
	pdelete(ctx, t);
	hat->hat_rmap_n--;
	ext_put(ctx, rp, t);
}

void
rmap_set(hat_t *hat, uint64_t lo, uint64_t hi, uint64_t pa,
    rmap_prep_t *rp)
{
	ht_ctx_t *ctx = hat->hat_ctx;
	rmap_ext_t *a, *m, *c, *x, *tail = NULL;

	HT_ASSERT(lo <= hi);
	mutex_enter(&ctx->ctx_rmap_lock, LR_RMAP);
	/* a: below lo; m: starting in [lo, hi]; c: above hi */
	vsplit(hat->hat_rmap, lo, &a, &m);
	if (hi + 1 != 0)
		vsplit(m, hi + 1, &m, &c);
	else
		c = NULL;
	/* the last of a may reach into [lo, ...] */
	if ((x = vlast(a)) != NULL && x->re_va + (x->re_len - 1) >= lo) {
		uint64_t end = x->re_va + (x->re_len - 1);

		if (end > hi) {
			/* cut in two: the part above hi is a new extent */
			tail = ext_get(ctx, rp);
			tail->re_hat = hat;
			tail->re_va = hi + 1;
			tail->re_pa = x->re_pa + (hi + 1 - x->re_va);
			tail->re_len = end - hi;
			tail->re_prio = rmap_prio(ctx);
			tail->re_vl = tail->re_vr = NULL;
			pinsert(ctx, tail);
			hat->hat_rmap_n++;
		}
		x->re_len = lo - x->re_va;
		pupdate(ctx, x);
	}
	/* the last of m may reach past hi: it keeps that part */
	if ((x = vlast(m)) != NULL && x->re_va + (x->re_len - 1) > hi) {
		uint64_t end = x->re_va + (x->re_len - 1);
		rmap_ext_t *rest;

		vsplit(m, x->re_va, &m, &rest);
		HT_ASSERT(rest == x && x->re_vl == NULL && x->re_vr == NULL);
		pdelete(ctx, x);
		x->re_pa += hi + 1 - x->re_va;
		x->re_va = hi + 1;
		x->re_len = end - hi;
		pinsert(ctx, x);
		HT_ASSERT(tail == NULL);
		tail = x;
	}
	drop_all(ctx, hat, m, rp);
	if (tail != NULL)
		c = vmerge(tail, c);
	if (pa != RMAP_NONE) {
		rmap_ext_t *l = vlast(a), *r = vfirst(c);
		uint64_t len = hi - lo + 1;

		if (l != NULL && l->re_va + l->re_len == lo &&
		    l->re_pa + l->re_len == pa) {
			/* continues the extent below: grow it */
			l->re_len += len;
			if (r != NULL && r->re_va == hi + 1 &&
			    r->re_pa == pa + len) {
				/* and meets the one above: one extent */
				vsplit(c, r->re_va + 1, &x, &c);
				HT_ASSERT(x == r);
				pdelete(ctx, r);
				l->re_len += r->re_len;
				hat->hat_rmap_n--;
				ext_put(ctx, rp, r);
			}
			pupdate(ctx, l);
		} else if (r != NULL && r->re_va == hi + 1 &&
		    r->re_pa == pa + len) {
			/* the extent above starts where this ends */
			pdelete(ctx, r);
			vsplit(c, r->re_va + 1, &x, &c);
			HT_ASSERT(x == r);
			r->re_va = lo;
			r->re_pa = pa;
			r->re_len += len;
			pinsert(ctx, r);
			c = vmerge(r, c);
		} else {
			x = ext_get(ctx, rp);
			x->re_hat = hat;
			x->re_va = lo;
			x->re_pa = pa;
			x->re_len = len;
			x->re_prio = rmap_prio(ctx);
			x->re_vl = x->re_vr = NULL;
			pinsert(ctx, x);
			hat->hat_rmap_n++;
			c = vmerge(x, c);
		}
	}
	hat->hat_rmap = vmerge(a, c);
	mutex_exit(&ctx->ctx_rmap_lock);
}

int
rmap_steal_begin(ht_ctx_t *ctx, rmap_prep_t *rp)
{
	memset(rp, 0, sizeof (*rp));
	mutex_enter(&ctx->ctx_rmap_lock, LR_RMAP);
	if ((rp->rp_ext[0] = ctx->ctx_rmap_spare) != NULL) {
		ctx->ctx_rmap_spare = rp->rp_ext[0]->re_vr;
		atomic_store_explicit((_Atomic unsigned *)&ctx->ctx_rmap_nspare,
		    ctx->ctx_rmap_nspare - 1, memory_order_relaxed);
	}
	mutex_exit(&ctx->ctx_rmap_lock);
	return (rp->rp_ext[0] != NULL);
}

void
rmap_steal_done(hat_t *hat, uint64_t lo, uint64_t hi, rmap_prep_t *rp)
{
	ht_ctx_t *ctx = hat->hat_ctx;

	rmap_set(hat, lo, hi, RMAP_NONE, rp);
	mutex_enter(&ctx->ctx_rmap_lock, LR_RMAP);
	for (int i = 0; i < RMAP_PREP; i++) {
		if (rp->rp_ext[i] != NULL) {
			rmap_ext_t *x = rp->rp_ext[i];

			rp->rp_ext[i] = NULL;
			x->re_vr = ctx->ctx_rmap_spare;
			ctx->ctx_rmap_spare = x;
			atomic_store_explicit((_Atomic unsigned *)
			    &ctx->ctx_rmap_nspare, ctx->ctx_rmap_nspare + 1,
			    memory_order_relaxed);
		}
	}
	mutex_exit(&ctx->ctx_rmap_lock);
}

void
rmap_drop_hat(hat_t *hat)
{
	ht_ctx_t *ctx = hat->hat_ctx;

	if (!rmap_on(ctx))
		return;
	mutex_enter(&ctx->ctx_rmap_lock, LR_RMAP);
	drop_all(ctx, hat, hat->hat_rmap, NULL);
	hat->hat_rmap = NULL;
	HT_ASSERT(hat->hat_rmap_n == 0);
	mutex_exit(&ctx->ctx_rmap_lock);
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

static long
plookup(const rmap_ext_t *t, uint64_t lo, uint64_t hi, rmap_fn fn,
    void *arg)
{
	long n = 0;

	if (t == NULL || t->re_pmax < lo)
		return (0);
	n += plookup(t->re_pl, lo, hi, fn, arg);
	if (t->re_pa <= hi && t->re_pa + (t->re_len - 1) >= lo) {
		uint64_t pa = t->re_pa > lo ? t->re_pa : lo;

		if (fn != NULL)
			fn(arg, t->re_hat, t->re_va + (pa - t->re_pa), pa);
		n++;
	}
	if (t->re_pa <= hi)
		n += plookup(t->re_pr, lo, hi, fn, arg);
	return (n);
}

long
rmap_lookup(ht_ctx_t *ctx, uint64_t pa_lo, uint64_t pa_hi, rmap_fn fn,
    void *arg)
{
	long n;

	mutex_enter(&ctx->ctx_rmap_lock, LR_RMAP);
	n = plookup(ctx->ctx_rmap, pa_lo, pa_hi, fn, arg);
	mutex_exit(&ctx->ctx_rmap_lock);
	return (n);
}

void
rmap_usage(ht_ctx_t *ctx, uint64_t *r_extents, uint64_t *r_bytes)
{
	mutex_enter(&ctx->ctx_rmap_lock, LR_RMAP);
	*r_extents = ctx->ctx_rmap_n;
	*r_bytes = (ctx->ctx_rmap_n + ctx->ctx_rmap_nspare) *
	    sizeof (rmap_ext_t);
	mutex_exit(&ctx->ctx_rmap_lock);
}

/* ------------------------------------------------------------------ */
/* The audit                                                           */
/* ------------------------------------------------------------------ */

static void
vflatten(rmap_ext_t *t, rmap_ext_t **v, size_t *n)
{
	if (t == NULL)
		return;
	vflatten(t->re_vl, v, n);
	v[(*n)++] = t;
	vflatten(t->re_vr, v, n);
}

int
rmap_audit_begin(hat_t *hat, rmap_audit_t *ra)
{
	ht_ctx_t *ctx = hat->hat_ctx;
	rmap_ext_t **v;
	size_t n = 0;

	memset(ra, 0, sizeof (*ra));
	mutex_enter(&ctx->ctx_rmap_lock, LR_RMAP);
	v = malloc((hat->hat_rmap_n + 1) * sizeof (*v));
	if (v == NULL) {
		mutex_exit(&ctx->ctx_rmap_lock);
		return (ht__fail(HT_ENOMEM, "no memory for the audit"));
	}
	vflatten(hat->hat_rmap, v, &n);
	for (size_t i = 0; i < n && ra->ra_err == 0; i++) {
		const rmap_ext_t *x = v[i];

		if (x->re_hat != hat || x->re_len == 0 ||
		    ((x->re_va | x->re_pa | x->re_len) & (HT_PAGE_SIZE - 1)))
			ra->ra_err = ht__fail(HT_ECORRUPT, "reverse map: "
			    "extent va 0x%llx len 0x%llx is malformed",
			    (unsigned long long)x->re_va,
			    (unsigned long long)x->re_len);
		else if (i > 0 && v[i - 1]->re_va + v[i - 1]->re_len >
		    x->re_va)
			ra->ra_err = ht__fail(HT_ECORRUPT, "reverse map: "
			    "extents at va 0x%llx and 0x%llx overlap",
			    (unsigned long long)v[i - 1]->re_va,
			    (unsigned long long)x->re_va);
		else if (!pfind(ctx, x))
			ra->ra_err = ht__fail(HT_ECORRUPT, "reverse map: "
			    "extent va 0x%llx is not in the PA index",
			    (unsigned long long)x->re_va);
		ra->ra_ext_bytes += x->re_len;
	}
	if (ra->ra_err == 0 && n != hat->hat_rmap_n)
		ra->ra_err = ht__fail(HT_ECORRUPT, "reverse map: %zu extents, "
		    "%llu counted", n, (unsigned long long)hat->hat_rmap_n);
	mutex_exit(&ctx->ctx_rmap_lock);
	/* the extents stay put: the space is quiet during an audit */
	ra->ra_ext = v;
	ra->ra_n = n;
	return (0);
}

int
rmap_audit_leaf(rmap_audit_t *ra, uint64_t va, uint64_t pa, uint64_t size)
{
	rmap_ext_t **v = ra->ra_ext;
	uint64_t off = 0;
	size_t lo = 0, hi = ra->ra_n;

	if (ra->ra_err != 0)
		return (ra->ra_err);
	ra->ra_bytes += size;
	/* the last extent that starts at or below va (any leaf order) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid]->re_va <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo == 0 ? ra->ra_n : lo - 1; off < size; i++) {
		uint64_t at = va + off, in, n;
		const rmap_ext_t *x = i < ra->ra_n ? v[i] : NULL;

		if (x == NULL || x->re_va > at || x->re_va + (x->re_len - 1) <
		    at)
			return (ra->ra_err = ht__fail(HT_ECORRUPT, "reverse "
			    "map: the leaf at va 0x%llx (pa 0x%llx) is in no "
			    "extent", (unsigned long long)at,
			    (unsigned long long)(pa + off)));
		in = at - x->re_va;
		if (x->re_pa + in != pa + off)
			return (ra->ra_err = ht__fail(HT_ECORRUPT, "reverse "
			    "map: va 0x%llx maps pa 0x%llx, its extent says "
			    "0x%llx", (unsigned long long)at,
			    (unsigned long long)(pa + off),
			    (unsigned long long)(x->re_pa + in)));
		n = x->re_len - in;
		off += n < size - off ? n : size - off;
	}
	return (0);
}

int
rmap_audit_end(rmap_audit_t *ra)
{
	int err = ra->ra_err;

	if (err == 0 && ra->ra_bytes != ra->ra_ext_bytes)
		err = ht__fail(HT_ECORRUPT, "reverse map: the extents cover "
		    "0x%llx bytes, the leaves 0x%llx",
		    (unsigned long long)ra->ra_ext_bytes,
		    (unsigned long long)ra->ra_bytes);
	free(ra->ra_ext);
	ra->ra_ext = NULL;
	return (err);
}
