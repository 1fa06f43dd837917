/*
 * lock.h - the library's mutexes, taken through wrappers that check the
 * lock order in debug builds.
 *
 * The order (types.h): ctx_list_lock is dropped before anything else is
 * taken; then at most one bucket mutex, then the shared regions' lock,
 * then one shard's lock of a space's table cache, then the reserve lock,
 * then the provider's own lock (not ours: not tracked).  No library lock
 * is held while the TLB hook or a provider callback runs.
 *
 * Debug builds (HT_DEBUG) keep a per-thread record of the library mutexes
 * the thread holds.  mutex_enter() VERIFYs, before it blocks, that the
 * new lock ranks above every lock held (so a second bucket mutex, or a
 * bucket mutex under a cache lock, stops the process instead of
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
#include <stdatomic.h>
#include <stdint.h>

#include "debug.h"

typedef enum lock_rank {
	LR_LIST = 1,	/* ctx_list_lock: nothing else is taken under it */
	LR_BUCKET,	/* one hashed bucket mutex, at most one at a time */
	LR_SHARE,	/* ctx_share_lock: the shared regions */
	LR_HAT,		/* a shard of a space's table cache (pm_lock) */
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
int lock_held(const void *mtx);
int lock_none_held(void);
int lock_rank_held(lock_rank_t rank);
void lock_note_enter(const void *mtx, lock_rank_t rank);
void lock_note_entered(const void *mtx, lock_rank_t rank);
void lock_note_exit(const void *mtx);

/*
 * A bucket lock: the hashed locks that guard the tables' hash chains and
 * the free decision (types.h, ht_hash_t).  Every table operation takes
 * one, the one-entry path (hat_one.c) holds one for the whole call, so it
 * is a word of our own rather than a pthread mutex, whose pair costs ~85
 * instructions in glibc against ~10 here: 0 free, 1 held.  Taking it is
 * one CAS (acquire).  Letting go is a release store, a plain `mov` on
 * x86: no locked instruction, and a locked instruction is about 5 ns
 * here, a fifth of a one-page map in a space that several threads write.
 * The price of a store is that the unlock cannot learn of a sleeper to
 * wake, so no contender sleeps on the word: it spins while the holder
 * runs (a section is a few dozen instructions; the usual contender is
 * another vCPU thread faulting into the same table), then yields, then
 * naps for growing spans, so that a holder that was preempted, or waits
 * for a lock ranked above, gets the CPU even from a contender of higher
 * real-time priority (lock.c).  Like the spinning page-table locks of
 * the kernels we learn from, it suits short sections that never sleep
 * while held, which is what a bucket lock guards: no callback runs under
 * it.  Its acquire/release atomics give the same ordering as a mutex,
 * and TSan sees them.
 */
typedef struct bucket_lock {
	_Atomic uint32_t bl_word;
} bucket_lock_t;

void bucket_lock_slow(bucket_lock_t *bl);

static inline void
bucket_lock_raw(bucket_lock_t *bl)
{
	uint32_t zero = 0;

	if (HT_UNLIKELY(!atomic_compare_exchange_strong_explicit(&bl->bl_word,
	    &zero, 1, memory_order_acquire, memory_order_relaxed)))
		bucket_lock_slow(bl);
}

static inline void
bucket_unlock_raw(bucket_lock_t *bl)
{
	atomic_store_explicit(&bl->bl_word, 0, memory_order_release);
}

static inline void
bucket_enter(bucket_lock_t *bl, lock_rank_t rank)
{
#ifdef HT_DEBUG
	lock_note_enter(bl, rank);
#endif
	(void) rank;
	bucket_lock_raw(bl);
#ifdef HT_DEBUG
	lock_note_entered(bl, rank);
#endif
}

/*
 * Take bl if it is free, else return 0 at once: for a caller that has a
 * slower way that waits (hat_one.h, the multi-writer front), so that its
 * own path keeps no value across a call.  The order checks of
 * bucket_enter (taking it out of order would be a bug even when it
 * happens to be free).
 */
static inline int
bucket_tryenter(bucket_lock_t *bl, lock_rank_t rank)
{
	uint32_t zero = 0;

#ifdef HT_DEBUG
	lock_note_enter(bl, rank);
#endif
	(void) rank;
	if (!atomic_compare_exchange_strong_explicit(&bl->bl_word, &zero, 1,
	    memory_order_acquire, memory_order_relaxed))
		return (0);
#ifdef HT_DEBUG
	lock_note_entered(bl, rank);
#endif
	return (1);
}

static inline void
bucket_exit(bucket_lock_t *bl)
{
#ifdef HT_DEBUG
	lock_note_exit(bl);
#endif
	bucket_unlock_raw(bl);
}

static inline void
pmutex_enter(pthread_mutex_t *mtx, lock_rank_t rank)
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
pmutex_exit(pthread_mutex_t *mtx)
{
#ifdef HT_DEBUG
	lock_note_exit(mtx);
#endif
	(void) pthread_mutex_unlock(mtx);
}

/* Either kind of library lock, with the order checks. */
#define mutex_enter(m, rank) _Generic((m),				\
	bucket_lock_t *: bucket_enter,					\
	default: pmutex_enter)((m), (rank))
#define mutex_exit(m) _Generic((m),					\
	bucket_lock_t *: bucket_exit,					\
	default: pmutex_exit)(m)

/* Wait on cv; mtx is held before and after (the record does not change). */
static inline void
cv_wait(pthread_cond_t *cv, pthread_mutex_t *mtx)
{
	HT_ASSERT(lock_held(mtx));
	(void) pthread_cond_wait(cv, mtx);
}

#endif /* HT_LOCK_H */
