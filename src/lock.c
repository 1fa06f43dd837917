/*
 * lock.c - the per-thread record of library mutexes held, for the lock
 * order checks of debug builds (see lock.h).  Empty in release builds.
 */
#include "lock.h"

#ifdef HT_DEBUG

#define LOCK_MAX_HELD	8	/* the order allows four at once */

typedef struct held {
	const pthread_mutex_t	*h_mtx;
	lock_rank_t		h_rank;
} held_t;

static _Thread_local held_t lk_held[LOCK_MAX_HELD];
static _Thread_local unsigned lk_nheld;

int
lock_held(const pthread_mutex_t *mtx)
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
lock_note_enter(const pthread_mutex_t *mtx, lock_rank_t rank)
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
lock_note_entered(const pthread_mutex_t *mtx, lock_rank_t rank)
{
	lk_held[lk_nheld].h_mtx = mtx;
	lk_held[lk_nheld].h_rank = rank;
	lk_nheld++;
}

void
lock_note_exit(const pthread_mutex_t *mtx)
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
