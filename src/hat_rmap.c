/*
 * hat_rmap.c - the reverse map's public calls (illumos hat_pageunload,
 * hat_pagesync, hat_page_clrwrt and hment_walk): every mapping of one
 * frame, found through rmap.c, then looked at or changed through the
 * address-space calls, one leaf at a time.
 *
 * Each call first takes a list of the frame's mappings: the extents that
 * reach it (under the reverse map's lock, which no callback may run
 * under), each translated to its leaf (lock-free, ht_translate) and kept
 * only if that leaf still maps the frame.  Then it acts with the lock
 * dropped.  ht_page_unload must not fail half way across spaces, so it
 * checks every leaf (locked?) and takes every extent and lock-map
 * reservation the removals will need before it removes the first.
 */
#include <stdlib.h>
#include <string.h>

#include "htable_int.h"
#include "hat_range.h"
#include "nommu.h"
#include "rmap.h"
#include "share.h"
#include "lockmap.h"
#include "debug.h"

/* The mappings found, growing; err records an allocation failure. */
typedef struct maplist {
	ht_mapping_t	*m;
	size_t		n;
	size_t		cap;
	int		err;
	ht_pa_t		pa;		/* the frame */
} maplist_t;

static void
list_add(maplist_t *l, hat_t *hat, uint64_t va, int shared)
{
	ht_mapping_t *x;

	if (l->err != 0)
		return;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : 16;
		ht_mapping_t *nm = realloc(l->m, ncap * sizeof (*nm));

		if (nm == NULL) {
			l->err = ht__fail(HT_ENOMEM, "no memory for the list "
			    "of mappings");
			return;
		}
		l->m = nm;
		l->cap = ncap;
	}
	x = &l->m[l->n++];
	memset(x, 0, sizeof (*x));
	x->as = hat;
	x->va = va;
	x->shared = shared;
}

/* rmap_lookup's callback: the extent's page of the frame (under lock). */
static void
found_extent(void *arg, hat_t *hat, uint64_t va, uint64_t pa)
{
	(void) pa;
	list_add(arg, hat, va, 0);
}

static void
found_view(void *arg, hat_t *sharer, uint64_t va)
{
	list_add(arg, sharer, va, 1);
}

/*
 * Fill in the leaf of l->m[i] from a translation; 0 when it no longer
 * maps the frame (a change since the lookup): drop it.
 */
static int
leaf_of(ht_mapping_t *x, ht_pa_t frame)
{
	ht_xlate_t t;

	if (ht_translate(x->as, x->va, &t) != 0 ||
	    (t.pa & ~(ht_pa_t)(HT_PAGE_SIZE - 1)) != frame)
		return (0);
	x->size = t.page_size;
	x->level = t.level;
	x->leaf_va = x->va & ~(t.page_size - 1);
	x->attr = t.attr;
	x->ad = t.attr & (HT_A | HT_D);
	return (1);
}

/*
 * The mappings of the frame holding pa (views: with the sharers' views
 * of the owners' leaves).  0 with *l filled (the caller frees l->m), or a
 * negative error.
 */
static int
mappings(ht_ctx_t *ctx, ht_pa_t pa, int views, maplist_t *l)
{
	size_t owners, k = 0;

	memset(l, 0, sizeof (*l));
	if (ctx == NULL)
		return (ht__fail(HT_EINVAL, "NULL context"));
	if (!rmap_on(ctx))
		return (ht__fail(HT_EINVAL, "the context keeps no reverse map "
		    "(config.rmap)"));
	if (pa >= ctx->ctx_mmu.pa_limit)
		return (ht__fail(HT_EPABITS, "pa 0x%llx is beyond the %u-bit "
		    "physical width", (unsigned long long)pa,
		    ctx->ctx_mmu.pa_bits));
	l->pa = pa & ~(ht_pa_t)(HT_PAGE_SIZE - 1);
	(void) rmap_lookup(ctx, l->pa, l->pa + (HT_PAGE_SIZE - 1),
	    found_extent, l);
	owners = l->n;
	for (size_t i = 0; i < owners && l->err == 0; i++) {
		if (!leaf_of(&l->m[i], l->pa))
			continue;
		l->m[k++] = l->m[i];
	}
	l->n = k;
	if (views && l->err == 0) {
		for (size_t i = 0; i < k; i++)
			if (atomic_load(&l->m[i].as->hat_flags) & HAT_SHARED)
				(void) share_views(l->m[i].as, l->m[i].va,
				    found_view, l);
		/* the views' leaves are their owners' */
		size_t j = k;

		for (size_t i = k; i < l->n && l->err == 0; i++)
			if (leaf_of(&l->m[i], l->pa))
				l->m[j++] = l->m[i];
		l->n = j;
	}
	if (l->err != 0) {
		free(l->m);
		l->m = NULL;
		return (l->err);
	}
	return (0);
}

long
ht_page_mappings(ht_ctx_t *ctx, ht_pa_t pa, ht_mapping_fn fn, void *arg)
{
	maplist_t l;
	long n = 0;
	int err;

	if ((err = mappings(ctx, pa, 1, &l)) != 0)
		return (err);
	for (size_t i = 0; i < l.n; i++) {
		n++;
		if (fn != NULL && fn(arg, &l.m[i]) != 0)
			break;
	}
	free(l.m);
	return (n);
}

/* ht_page_unload: the A/D bits of the leaf a removal reports. */
static void
unload_ad(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	ht_mapping_t *x = arg;

	(void) va;
	(void) size;
	x->ad |= bits;
}

long
ht_page_unload(ht_ctx_t *ctx, ht_pa_t pa, unsigned flags, ht_mapping_fn fn,
    void *arg)
{
	rmap_prep_t *rps = NULL;
	maplist_t l;
	size_t i, ready = 0;
	long n = 0;
	int err;

	if (ctx != NULL && (flags & ~HT_UNMAP_UNLOCK))
		return (ht__fail(HT_EINVAL, "unknown flags 0x%x", flags));
	if ((err = mappings(ctx, pa, 0, &l)) != 0)
		return (err);
	/* everything checked and taken before the first removal */
	for (i = 0; i < l.n; i++)
		if ((l.m[i].attr & HT_LOCKED) && !(flags & HT_UNMAP_UNLOCK)) {
			err = ht__fail(HT_ELOCKED, "the frame of pa 0x%llx is "
			    "mapped by a locked leaf at va 0x%llx",
			    (unsigned long long)pa,
			    (unsigned long long)l.m[i].leaf_va);
			goto out;
		}
	if (l.n != 0 && (rps = calloc(l.n, sizeof (*rps))) == NULL) {
		err = ht__fail(HT_ENOMEM, "no memory to unload a page");
		goto out;
	}
	for (ready = 0; ready < l.n; ready++) {
		if ((err = rmap_prep(ctx, &rps[ready])) != 0)
			break;
		if ((flags & HT_UNMAP_UNLOCK) &&
		    lockmap_reserve(&l.m[ready].as->hat_locks, 1) != 0) {
			rmap_unprep(ctx, &rps[ready]);
			err = ht__fail(HT_ENOMEM, "no memory for the lock "
			    "counts");
			break;
		}
	}
	if (err != 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		ht_mapping_t *x = &l.m[i];
		nm_hold_t nh;
		int rc;

		/*
		 * A whole leaf, its memory in hand: this fails only if a
		 * call broke the rule above and changed it meanwhile.
		 */
		x->ad = 0;
		nm_enter(x->as, &nh);
		rc = unmap_apply_held(x->as, x->leaf_va, x->leaf_va +
		    (x->size - 1), flags, unload_ad, x, &rps[i]);
		nm_exit(&nh);
		if (rc != 0) {
			if (err == 0)
				err = rc;
			continue;
		}
		n++;
		if (fn != NULL)
			(void) fn(arg, x);
	}
	ready = 0;
out:
	/* what was taken and not used goes back */
	for (i = 0; i < ready; i++) {
		rmap_unprep(ctx, &rps[i]);
		if (flags & HT_UNMAP_UNLOCK)
			lockmap_unreserve(&l.m[i].as->hat_locks, 1);
	}
	free(rps);
	free(l.m);
	return (err != 0 ? err : n);
}

long
ht_page_clear_write(ht_ctx_t *ctx, ht_pa_t pa)
{
	maplist_t l;
	long n = 0;
	int err;

	if ((err = mappings(ctx, pa, 0, &l)) != 0)
		return (err);
	for (size_t i = 0; i < l.n; i++) {
		const ht_mapping_t *x = &l.m[i];

		if (!(x->attr & HT_W))
			continue;
		/* a whole leaf: no split, nothing to allocate */
		if (hat_clear_write(x->as, x->leaf_va, x->size) == 0)
			n++;
	}
	free(l.m);
	return (n);
}

long
ht_page_sync(ht_ctx_t *ctx, ht_pa_t pa, unsigned flags, ht_mapping_fn fn,
    void *arg)
{
	maplist_t l;
	unsigned all = 0;
	int err;

	if (ctx != NULL && (flags & ~HT_AD_CLEAR))
		return (ht__fail(HT_EINVAL, "unknown flags 0x%x", flags));
	if ((err = mappings(ctx, pa, 0, &l)) != 0)
		return (err);
	for (size_t i = 0; i < l.n; i++) {
		ht_mapping_t *x = &l.m[i];

		all |= x->ad;
		if (fn != NULL)
			(void) fn(arg, x);
		if ((flags & HT_AD_CLEAR) && x->ad != 0) {
			/* a whole leaf: cleared, and cannot fail */
			(void) ht_harvest_ad(x->as, x->leaf_va, x->size,
			    HT_A | HT_D, HT_AD_CLEAR, NULL, NULL);
		}
	}
	free(l.m);
	return ((long)all);
}
