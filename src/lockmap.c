/*
 * lockmap.c - stacked lock counts by virtual address (see lockmap.h for
 * the theory and the invariants).
 *
 * The map is a sorted array of runs.  A change first cuts the runs that
 * straddle the ends of its range, so every run is then wholly inside or
 * wholly outside; it then changes the inside (filling gaps with +1,
 * dropping runs that reach 0 with -1) and finally merges touching runs of
 * equal count.  Maps are small (a run per stretch of pages locked more
 * than once), so the memmove of an insertion is cheap.
 *
 * Room is promised before an operation changes any entry: lm_promised is
 * the room that running operations may still use, so a thread's
 * insertions can never fail because another thread used its room.
 */
#include <stdlib.h>
#include <string.h>

#include "lockmap.h"
#include "htable.h"
#include "debug.h"

void
lockmap_init(lockmap_t *lm)
{
	memset(lm, 0, sizeof (*lm));
	(void) pthread_mutex_init(&lm->lm_mtx, NULL);
}

void
lockmap_fini(lockmap_t *lm)
{
	(void) pthread_mutex_destroy(&lm->lm_mtx);
	free(lm->lm_runs);
	lm->lm_runs = NULL;
	lm->lm_n = lm->lm_cap = 0;
}

int
lockmap_reserve(lockmap_t *lm, size_t more)
{
	int err = 0;

	(void) pthread_mutex_lock(&lm->lm_mtx);
	if (lm->lm_n + lm->lm_promised + more > lm->lm_cap) {
		size_t cap = 2 * (lm->lm_n + lm->lm_promised + more);
		lockrun_t *r = cap > SIZE_MAX / sizeof (*r) ? NULL :
		    realloc(lm->lm_runs, cap * sizeof (*r));

		if (r == NULL)
			err = -HT_ENOMEM;
		else {
			lm->lm_runs = r;
			lm->lm_cap = cap;
		}
	}
	if (err == 0)
		lm->lm_promised += more;
	(void) pthread_mutex_unlock(&lm->lm_mtx);
	return (err);
}

void
lockmap_unreserve(lockmap_t *lm, size_t left)
{
	(void) pthread_mutex_lock(&lm->lm_mtx);
	HT_VERIFY(lm->lm_promised >= left);
	lm->lm_promised -= left;
	(void) pthread_mutex_unlock(&lm->lm_mtx);
}

size_t
lockmap_count(lockmap_t *lm)
{
	size_t n;

	(void) pthread_mutex_lock(&lm->lm_mtx);
	n = lm->lm_n;
	(void) pthread_mutex_unlock(&lm->lm_mtx);
	return (n);
}

/* Index of the first run that ends at or after va (lm_n if none). */
static size_t
first_at(const lockmap_t *lm, uint64_t va)
{
	size_t lo = 0, hi = lm->lm_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (lm->lm_runs[mid].lr_last < va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* Insert r at index i, using one unit of promised room. */
static void
insert_at(lockmap_t *lm, size_t i, lockrun_t r)
{
	HT_VERIFY(lm->lm_n < lm->lm_cap && lm->lm_promised > 0);
	memmove(&lm->lm_runs[i + 1], &lm->lm_runs[i],
	    (lm->lm_n - i) * sizeof (lockrun_t));
	lm->lm_runs[i] = r;
	lm->lm_n++;
	lm->lm_promised--;
}

/* Cut the run that holds addr (if it starts before addr) in two. */
static size_t
cut_at(lockmap_t *lm, uint64_t addr)
{
	size_t i = first_at(lm, addr);
	lockrun_t *r;

	if (i == lm->lm_n || (r = &lm->lm_runs[i])->lr_va >= addr)
		return (0);
	lockrun_t tail = { addr, r->lr_last, r->lr_extra };

	r->lr_last = addr - 1;
	insert_at(lm, i + 1, tail);
	return (1);
}

/* Merge touching runs of equal count and drop runs of count 0. */
static void
compact(lockmap_t *lm)
{
	size_t o = 0;

	for (size_t i = 0; i < lm->lm_n; i++) {
		lockrun_t r = lm->lm_runs[i];

		if (r.lr_extra == 0)
			continue;
		if (o > 0 && lm->lm_runs[o - 1].lr_last + 1 == r.lr_va &&
		    lm->lm_runs[o - 1].lr_extra == r.lr_extra) {
			lm->lm_runs[o - 1].lr_last = r.lr_last;
			continue;
		}
		lm->lm_runs[o++] = r;
	}
	lm->lm_n = o;
}

uint64_t
lockmap_extra(lockmap_t *lm, uint64_t va)
{
	uint64_t extra = 0;
	size_t i;

	(void) pthread_mutex_lock(&lm->lm_mtx);
	i = first_at(lm, va);
	if (i < lm->lm_n && lm->lm_runs[i].lr_va <= va)
		extra = lm->lm_runs[i].lr_extra;
	(void) pthread_mutex_unlock(&lm->lm_mtx);
	return (extra);
}

size_t
lockmap_add(lockmap_t *lm, uint64_t va, uint64_t last, int delta)
{
	size_t used, i;
	uint64_t at = va;

	HT_ASSERT(delta == 1 || delta == -1);
	(void) pthread_mutex_lock(&lm->lm_mtx);
	used = cut_at(lm, va);
	if (last != UINT64_MAX)
		used += cut_at(lm, last + 1);
	for (i = first_at(lm, va); at <= last; ) {
		lockrun_t *r = i < lm->lm_n ? &lm->lm_runs[i] : NULL;

		if (r != NULL && r->lr_va <= last) {
			if (delta > 0 && r->lr_va > at) {
				/* a gap before this run: count 1 there */
				lockrun_t gap = { at, r->lr_va - 1, 1 };

				insert_at(lm, i, gap);
				used++;
				i++;
				at = gap.lr_last + 1;
				continue;
			}
			lm->lm_runs[i].lr_extra += (uint64_t)(int64_t)delta;
			at = lm->lm_runs[i].lr_last + 1;
			i++;
			if (at == 0)
				break;	/* the run ended at the top */
			continue;
		}
		if (delta > 0) {
			lockrun_t gap = { at, last, 1 };

			insert_at(lm, i, gap);
			used++;
		}
		break;
	}
	compact(lm);
	(void) pthread_mutex_unlock(&lm->lm_mtx);
	return (used);
}

size_t
lockmap_clear(lockmap_t *lm, uint64_t va, uint64_t last)
{
	size_t used = 0, i;

	(void) pthread_mutex_lock(&lm->lm_mtx);
	i = first_at(lm, va);
	/* one run over both ends is the only case that needs room */
	if (i < lm->lm_n && lm->lm_runs[i].lr_va < va &&
	    lm->lm_runs[i].lr_last > last) {
		used = cut_at(lm, last + 1);
	}
	for (i = first_at(lm, va); i < lm->lm_n &&
	    lm->lm_runs[i].lr_va <= last; i++) {
		lockrun_t *r = &lm->lm_runs[i];

		if (r->lr_va < va)
			r->lr_last = va - 1;	/* keeps its head */
		else if (r->lr_last > last)
			r->lr_va = last + 1;	/* keeps its tail */
		else
			r->lr_extra = 0;
	}
	compact(lm);
	(void) pthread_mutex_unlock(&lm->lm_mtx);
	return (used);
}

int
lockmap_each(lockmap_t *lm, int (*fn)(void *arg, const lockrun_t *r),
    void *arg)
{
	int rc = 0;

	(void) pthread_mutex_lock(&lm->lm_mtx);
	for (size_t i = 0; i < lm->lm_n && rc == 0; i++)
		rc = fn(arg, &lm->lm_runs[i]);
	(void) pthread_mutex_unlock(&lm->lm_mtx);
	return (rc);
}
