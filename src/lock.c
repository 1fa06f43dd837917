/*
 * lock.c - the bucket lock's slow half, and the per-thread record of
 * library mutexes held, for the lock order checks of debug builds (see
 * lock.h; the record is empty in release builds).
 */
#include <sched.h>
#include <time.h>

#include "lock.h"

/*
 * The bucket lock's slow half (lock.h): the lock was held when we came.
 * Its unlock is a store that wakes nobody, so we ask again, more and more
 * patiently: spinning first (a holder that runs lets go within a few
 * dozen instructions), then yielding the CPU (a holder preempted on our
 * CPU runs), then napping from 1 us, doubling up to 256 us (a holder that
 * waits for a lock ranked above, or one that a real-time contender of
 * higher priority would never let run: a yield does not help it, a nap
 * does).  Each ask reads the word first and tries the CAS only when it
 * is free, so contenders share the line without writing it.
 */
#define BUCKET_SPINS	64
#define BUCKET_YIELDS	16
#define BUCKET_NAP_MIN	1000L		/* ns */
#define BUCKET_NAP_MAX	256000L

void
bucket_lock_slow(bucket_lock_t *bl)
{
	long nap = BUCKET_NAP_MIN;

	for (unsigned i = 0;; i++) {
		uint32_t zero = 0;

		if (atomic_load_explicit(&bl->bl_word,
		    memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_weak_explicit(&bl->bl_word, &zero,
		    1, memory_order_acquire, memory_order_relaxed))
			return;
		if (i < BUCKET_SPINS) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		} else if (i < BUCKET_SPINS + BUCKET_YIELDS) {
			(void) sched_yield();
		} else {
			struct timespec ts = { 0, nap };

			(void) nanosleep(&ts, NULL);
			if (nap < BUCKET_NAP_MAX)
				nap *= 2;
		}
	}
}

#ifdef HT_DEBUG

#define LOCK_MAX_HELD	8	/* the order allows four at once */

typedef struct held {
	const void		*h_mtx;
	lock_rank_t		h_rank;
} held_t;

static _Thread_local held_t lk_held[LOCK_MAX_HELD];
static _Thread_local unsigned lk_nheld;

int
lock_held(const void *mtx)
{
	for (unsigned i = 0; i < lk_nheld; i++)
		if (lk_held[i].h_mtx == mtx)
			return (1);
	return (0);
}

int
lock_rank_held(lock_rank_t rank)
{
	for (unsigned i = 0; i < lk_nheld; i++)
		if (lk_held[i].h_rank == rank)
			return (1);
	return (0);
}

int
lock_none_held(void)
{
	return (lk_nheld == 0);
}

/*
 * Before mtx is taken (so that a wrong order stops here rather than in a
 * deadlock): every lock held ranks below it, and none is the list lock.
 */
void
lock_note_enter(const void *mtx, lock_rank_t rank)
{
	HT_VERIFY(!lock_held(mtx) && "a library mutex taken twice");
	for (unsigned i = 0; i < lk_nheld; i++) {
		HT_VERIFY(lk_held[i].h_rank != LR_LIST &&
		    "ctx_list_lock is dropped before another lock is taken");
		HT_VERIFY(lk_held[i].h_rank < rank &&
		    "lock order: bucket (one), cache, reserve_lock");
	}
	HT_VERIFY(lk_nheld < LOCK_MAX_HELD);
}

void
lock_note_entered(const void *mtx, lock_rank_t rank)
{
	lk_held[lk_nheld].h_mtx = mtx;
	lk_held[lk_nheld].h_rank = rank;
	lk_nheld++;
}

void
lock_note_exit(const void *mtx)
{
	unsigned i = lk_nheld;

	while (i > 0 && lk_held[i - 1].h_mtx != mtx)
		i--;
	HT_VERIFY(i > 0 && "a library mutex released but not held");
	for (; i < lk_nheld; i++)
		lk_held[i - 1] = lk_held[i];
	lk_nheld--;
}

#else

/* ISO C wants a translation unit to declare something. */
typedef int lock_release_build_t;

#endif /* HT_DEBUG */
