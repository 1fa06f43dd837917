/*
 * lock.c - the per-thread record of library mutexes held, for the lock
 * order checks of debug builds (see lock.h).  Empty in release builds.
 */
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lock.h"

/*
 * The bucket lock's slow halves (lock.h).  A contender spins a little
 * first: the sections are a few dozen instructions, and a sleep costs a
 * system call on each side.  Then it marks the word 2 ("maybe waited
 * for") with an exchange, which also takes the lock if it was free, and
 * sleeps while the word stays 2.  A thread that got the lock this way
 * leaves the word at 2, so its unlock wakes the next sleeper (perhaps
 * for nothing: a spurious wake only costs a system call).
 */
#define BUCKET_SPINS	64

void
bucket_lock_slow(bucket_lock_t *bl)
{
	for (int i = 0; i < BUCKET_SPINS; i++) {
		uint32_t zero = 0;

		if (atomic_load_explicit(&bl->bl_word,
		    memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_weak_explicit(&bl->bl_word, &zero,
		    1, memory_order_acquire, memory_order_relaxed))
			return;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
	while (atomic_exchange_explicit(&bl->bl_word, 2,
	    memory_order_acquire) != 0)
		(void) syscall(SYS_futex, &bl->bl_word, FUTEX_WAIT_PRIVATE, 2,
		    NULL, NULL, 0);
}

void
bucket_unlock_wake(bucket_lock_t *bl)
{
	(void) syscall(SYS_futex, &bl->bl_word, FUTEX_WAKE_PRIVATE, 1, NULL,
	    NULL, 0);
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
		    "lock order: bucket (one), hat_mutex, reserve_lock");
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
