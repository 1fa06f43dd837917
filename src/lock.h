/*
 * lock.h - the library's mutexes, taken through wrappers that check the
 * lock order in debug builds.
 *
 * The order (types.h): ctx_list_lock is dropped before anything else is
 * taken; then at most one bucket mutex, then the shared regions' lock,
 * then a space's hat_mutex, then the reserve lock, then the provider's own lock (not ours: not tracked).  No
 * library lock is held while the TLB hook or a provider callback runs.
 *
 * Debug builds (HT_DEBUG) keep a per-thread record of the library mutexes
 * the thread holds.  mutex_enter() VERIFYs, before it blocks, that the
 * new lock ranks above every lock held (so a second bucket mutex, or a
 * bucket mutex under the hat_mutex, stops the process instead of
 * deadlocking it one day) and that the list lock is not held;
 * mutex_exit() VERIFYs that the lock is held.  lock_held(mtx) and
 * lock_none_held() are for assertions at the heads of functions that need
 * a lock, and at the call sites of the caller's callbacks.  Release
 * builds: the wrappers are plain pthread calls and the assertions vanish
 * (HT_ASSERT keeps them only inside sizeof).
 */
#ifndef HT_LOCK_H
#define HT_LOCK_H

#include <pthread.h>

#include "debug.h"

typedef enum lock_rank {
	LR_LIST = 1,	/* ctx_list_lock: nothing else is taken under it */
	LR_BUCKET,	/* one hashed bucket mutex, at most one at a time */
	LR_SHARE,	/* ctx_share_lock: the shared regions */
	LR_HAT,		/* a space's hat_mutex (its table cache) */
	LR_RESERVE,	/* the context's reserve lock */
	LR_CPUS,	/* the context's list of CPU roots */
	LR_CROOT,	/* a CPU root's cr_lock (one switch at a time) */
	LR_CPU,		/* a space's hat_cpu_lock: nothing under it but
			   the frame lock */
	LR_RMAP,	/* the reverse map's lock: nothing under it */
	LR_STLB		/* a space's hat_stlb_lock: taken with no other
			   library lock held, nothing under it */
} lock_rank_t;

/* Debug builds only (lock.c); in release builds only inside sizeof. */
int lock_held(const pthread_mutex_t *mtx);
int lock_none_held(void);
void lock_note_enter(const pthread_mutex_t *mtx, lock_rank_t rank);
void lock_note_entered(const pthread_mutex_t *mtx, lock_rank_t rank);
void lock_note_exit(const pthread_mutex_t *mtx);

static inline void
mutex_enter(pthread_mutex_t *mtx, lock_rank_t rank)
{
#ifdef HT_DEBUG
	lock_note_enter(mtx, rank);
#endif
	(void) rank;
	(void) pthread_mutex_lock(mtx);
#ifdef HT_DEBUG
	lock_note_entered(mtx, rank);
#endif
}

static inline void
mutex_exit(pthread_mutex_t *mtx)
{
#ifdef HT_DEBUG
	lock_note_exit(mtx);
#endif
	(void) pthread_mutex_unlock(mtx);
}

/* Wait on cv; mtx is held before and after (the record does not change). */
static inline void
cv_wait(pthread_cond_t *cv, pthread_mutex_t *mtx)
{
	HT_ASSERT(lock_held(mtx));
	(void) pthread_cond_wait(cv, mtx);
}

#endif /* HT_LOCK_H */
