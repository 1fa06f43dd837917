/*
 * hook.h - named points where a debug build lets a test stop a thread.
 *
 * The races between a table's holder and a stealer, or between two calls
 * on overlapping ranges, live in windows of a few instructions.  A test
 * makes them happen on purpose: it sets debug_hook to a function that,
 * at one of these points, blocks the calling thread until another thread
 * has acted (tests/unit/test_races.c).  At every point no library lock is
 * held by the calling thread, so the other thread can always go on.
 *
 * Only builds with HT_DEBUG have the pointer; in release builds HT_HOOK
 * expands to nothing, so the points cost nothing there.  In debug builds
 * each point is one relaxed load and a branch not taken.
 */
#ifndef HT_HOOK_H
#define HT_HOOK_H

typedef enum hook_point {
	/*
	 * pte_range_update (bulk unmap or protect) has read a present
	 * leaf and is about to change it; arg: the entry.
	 */
	HT_HOOK_PTE_LOADED,
	/*
	 * iter_cas is about to replace the current leaf, whose value it
	 * read earlier; arg: the iterator.
	 */
	HT_HOOK_ITER_CAS,
	/*
	 * A stealer holds a level-0 table it means to empty and steal,
	 * between its first look and clearing the entries; arg: the table.
	 */
	HT_HOOK_STEAL_CLEAR,
	/* ht_access has read one entry of the walk; arg: its ht_pa_t. */
	HT_HOOK_ACCESS_READ
} hook_point_t;

#ifdef HT_DEBUG
#include <stdatomic.h>

typedef void hook_fn_t(hook_point_t point, const void *arg);
/* Set by tests only (x86pte.c defines it); NULL: no hook. */
extern hook_fn_t *_Atomic debug_hook;

#define HT_HOOK(point, arg) do {					\
	hook_fn_t *ht__hf = atomic_load_explicit(&debug_hook,	\
	    memory_order_relaxed);					\
	if (__builtin_expect(ht__hf != NULL, 0))			\
		ht__hf((point), (arg));					\
} while (0)
#else
#define HT_HOOK(point, arg)	((void)0)
#endif

#endif /* HT_HOOK_H */
