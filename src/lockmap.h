/*
 * lockmap.h - how many times each locked page of an address space is
 * locked beyond the first (lockmap.c).
 *
 * Locks stack, as the seed's lock counts do: two users may pin one page,
 * and the page stays locked until both have unlocked it.  A leaf's bit 9
 * (PT_LOCKED) says "locked at least once"; the count beyond that lives
 * here, by virtual address, as sorted runs of equal count.  Keeping it by
 * VA rather than per entry means a split needs no work: the small leaves
 * of a split large leaf lie inside the same run.  Every lock and unlock
 * covers whole leaves (the edges are split first), so a count is uniform
 * over each leaf.
 *
 * Invariant (checked by ht_audit): every page inside a run is mapped by a
 * locked leaf; runs are sorted, disjoint, non-empty, with extra >= 1, and
 * neighbours that touch have different counts.
 *
 * Lock order: lm_mtx is a leaf lock: nothing is taken while it is held.
 * Changes never allocate: the caller reserves room first (lockmap_reserve),
 * so that an operation that has started changing entries cannot fail.
 */
#ifndef HT_LOCKMAP_H
#define HT_LOCKMAP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lockrun {
	uint64_t	lr_va;		/* first byte */
	uint64_t	lr_last;	/* last byte (inclusive) */
	uint64_t	lr_extra;	/* locks beyond the first, >= 1 */
} lockrun_t;

typedef struct lockmap {
	pthread_mutex_t	lm_mtx;
	lockrun_t	*lm_runs;	/* sorted by lr_va */
	size_t		lm_n;
	size_t		lm_cap;
	size_t		lm_promised;	/* room reserved by running calls */
} lockmap_t;

void lockmap_init(lockmap_t *lm);
void lockmap_fini(lockmap_t *lm);
/*
 * Promise room for `more` further runs to the calling operation, which
 * gives back what it did not use with lockmap_unreserve.  Other threads'
 * changes cannot eat into it.  0 or -HT_ENOMEM (nothing changed).
 */
int lockmap_reserve(lockmap_t *lm, size_t more);
void lockmap_unreserve(lockmap_t *lm, size_t left);
/* Runs now in the map (for the caller's reservation arithmetic). */
size_t lockmap_count(lockmap_t *lm);
/* Locks beyond the first at va (0 when none). */
uint64_t lockmap_extra(lockmap_t *lm, uint64_t va);
/*
 * Add delta (+1 or -1) to the count of every byte of [va, last]: with +1
 * bytes without a run get a run of 1; with -1 only bytes that have a run
 * change.  Uses at most 3 + (runs inside [va, last]) of the caller's
 * promised room with +1, 2 with -1; returns how many it used.
 */
size_t lockmap_add(lockmap_t *lm, uint64_t va, uint64_t last, int delta);
/* Forget every count in [va, last]; uses at most 1; returns it. */
size_t lockmap_clear(lockmap_t *lm, uint64_t va, uint64_t last);
/*
 * Call fn for each run (audit); stops at and returns the first non-zero
 * answer.  Called with the map locked: fn must not call into it.
 */
int lockmap_each(lockmap_t *lm, int (*fn)(void *arg, const lockrun_t *r),
    void *arg);

#endif /* HT_LOCKMAP_H */
