/*
 * arena.c - the default frame provider: one anonymous mapping standing for
 * guest-physical memory [base, base + size).
 *
 * The mapping is made with MAP_NORESERVE, so a large arena costs only the
 * pages that are touched.  A bitmap records allocated frames; a cursor
 * makes consecutive allocations cheap.  The optional frame limit caps the
 * frames out at once, which is how tests simulate memory pressure.  The
 * whole arena is also a linear window, so the library reaches frames by
 * arithmetic.
 *
 * Runs.  The arena is cut into runs of ARENA_RUN frames (frame.h), and
 * a thread with a shard of its own (shard.h) fills one run at a time:
 * its frames lie side by side, as a page allocator's per-CPU lists keep
 * them.  With the one cursor alone, two threads making tables at once
 * took frames in turns, page by page, and each thread's later calls into
 * its own tables ran slower beside the other thread than alone (two
 * threads in one context 1.7-1.9x one thread's speed, against 2.0x with
 * runs; docs/design.md has the figures).  A run is a preference, never a
 * reservation:
 *  - a thread takes the next free frame of its run after the last one it
 *    took, and when there is none it lets the run go and claims the next
 *    run that no thread is filling and that has a free frame;
 *  - when no such run is left (or the caller asks for part of the arena
 *    only, or the thread shares shard 0), the search over the whole
 *    range runs as before, so an allocation fails only when the range
 *    has no free frame (or the limit is reached), whoever fills what.
 * One thread alone fills run 0, then run 1, and so on: the frames the
 * cursor gave before.  Everything is under a_lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "htable.h"
#include "debug.h"
#include "shard.h"
#include "frame.h"

/* No frame: a shard that fills no run, or a run with no free frame. */
#define RUN_NONE	UINT64_MAX

struct ht_arena {
	uint8_t		*a_mem;
	ht_pa_t		a_base;
	uint64_t	a_size;
	uint64_t	a_nframes;
	uint64_t	*a_bitmap;	/* 1 = allocated */
	uint64_t	a_used;
	uint64_t	a_limit;	/* 0 = none */
	uint64_t	a_cursor;	/* next frame index to try */
	pthread_mutex_t	a_lock;
	/*
	 * The runs (the head comment); frames past the last run have none.
	 * Run r: the shard filling it (or 0) and its frames out; the run
	 * to look at first to claim; how many runs have no owner and a
	 * free frame; each shard's last frame (RUN_NONE: it fills none).
	 */
	uint64_t	a_nruns;
	uint8_t		*a_run_owner;
	uint16_t	*a_run_used;
	uint64_t	a_run_next;
	uint64_t	a_run_open;
	uint64_t	a_run_last[HAT_SHARDS];
};
_Static_assert(HAT_SHARDS <= 256, "a run's owner fits a byte");

int
ht_arena_create(ht_pa_t base, uint64_t size, uint64_t frame_limit,
    ht_arena_t **r_arena)
{
	ht_arena_t *a;

	if (r_arena == NULL)
		return (ht__fail(HT_EINVAL, "r_arena is NULL"));
	if (size == 0 || (size & (HT_PAGE_SIZE - 1)) != 0 ||
	    (base & (HT_PAGE_SIZE - 1)) != 0)
		return (ht__fail(HT_EALIGN, "arena base 0x%llx / size 0x%llx "
		    "must be non-zero multiples of 4096",
		    (unsigned long long)base, (unsigned long long)size));
	if (base + size < base || base + size > (1ull << 52))
		return (ht__fail(HT_ERANGE, "arena [0x%llx, +0x%llx) is "
		    "beyond 52-bit physical addresses",
		    (unsigned long long)base, (unsigned long long)size));
	if ((a = calloc(1, sizeof (*a))) == NULL)
		return (ht__fail(HT_ENOMEM, "no memory for the arena"));
	a->a_base = base;
	a->a_size = size;
	a->a_nframes = size >> HT_PAGE_SHIFT;
	a->a_limit = frame_limit;
	/*
	 * The mapping first: a size no address space holds fails here,
	 * before the bookkeeping of its frames is allocated (a calloc of
	 * gigabytes is written whole when MALLOC_PERTURB_ is set).
	 */
	a->a_mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->a_mem == MAP_FAILED) {
		free(a);
		return (ht__fail(HT_ENOMEM, "cannot map a %llu-byte arena",
		    (unsigned long long)size));
	}
	a->a_bitmap = calloc((a->a_nframes + 63) / 64, sizeof (uint64_t));
	a->a_nruns = a->a_nframes / ARENA_RUN;
	/* one more than needed: calloc(0) may return NULL */
	a->a_run_owner = calloc(a->a_nruns + 1, sizeof (uint8_t));
	a->a_run_used = calloc(a->a_nruns + 1, sizeof (uint16_t));
	if (a->a_bitmap == NULL || a->a_run_owner == NULL ||
	    a->a_run_used == NULL) {
		(void) munmap(a->a_mem, size);
		free(a->a_bitmap);
		free(a->a_run_owner);
		free(a->a_run_used);
		free(a);
		return (ht__fail(HT_ENOMEM, "no memory for the frames of a "
		    "%llu-byte arena", (unsigned long long)size));
	}
	for (unsigned s = 0; s < HAT_SHARDS; s++)
		a->a_run_last[s] = RUN_NONE;
	a->a_run_open = a->a_nruns;
	(void) pthread_mutex_init(&a->a_lock, NULL);
	*r_arena = a;
	return (0);
}

void
ht_arena_destroy(ht_arena_t *a)
{
	if (a == NULL)
		return;
	(void) munmap(a->a_mem, a->a_size);
	(void) pthread_mutex_destroy(&a->a_lock);
	free(a->a_bitmap);
	free(a->a_run_owner);
	free(a->a_run_used);
	free(a);
}

static inline int
frame_out(const ht_arena_t *a, uint64_t i)
{
	return ((a->a_bitmap[i / 64] >> (i % 64)) & 1);
}

/*
 * A frame of run r was taken (d 1) or given back (d -1): its count, and
 * whether a thread may claim it.  a_lock held.
 */
static void
run_count(ht_arena_t *a, uint64_t r, int d)
{
	/* a run no thread fills opens and closes as it stops and starts full */
	if (d > 0) {
		if (++a->a_run_used[r] == ARENA_RUN && a->a_run_owner[r] == 0)
			a->a_run_open--;
	} else if (a->a_run_used[r]-- == ARENA_RUN &&
	    a->a_run_owner[r] == 0) {
		a->a_run_open++;
	}
}

/* The first free frame of run r at or after i, or RUN_NONE.  a_lock held. */
static uint64_t
run_free_from(const ht_arena_t *a, uint64_t r, uint64_t i)
{
	for (uint64_t end = (r + 1) * ARENA_RUN; i < end; i++)
		if (!frame_out(a, i))
			return (i);
	return (RUN_NONE);
}

/*
 * A free frame of shard s's run, claiming a new run when its own has
 * none left (the head comment), or RUN_NONE: every run with a free frame
 * is being filled by another thread.  a_lock held.
 */
static uint64_t
run_take(ht_arena_t *a, unsigned s)
{
	uint64_t last = a->a_run_last[s], i;

	if (last != RUN_NONE) {
		HT_ASSERT(a->a_run_owner[last / ARENA_RUN] == s);
		if ((i = run_free_from(a, last / ARENA_RUN, last + 1)) !=
		    RUN_NONE)
			return (i);
		/* filled: another thread may take what it frees later */
		a->a_run_owner[last / ARENA_RUN] = 0;
		if (a->a_run_used[last / ARENA_RUN] < ARENA_RUN)
			a->a_run_open++;
		a->a_run_last[s] = RUN_NONE;
	}
	/* the count spares a full arena a look at every run */
	for (uint64_t k = 0; a->a_run_open != 0 && k < a->a_nruns; k++) {
		uint64_t r = (a->a_run_next + k) % a->a_nruns;

		if (a->a_run_owner[r] != 0 || a->a_run_used[r] == ARENA_RUN)
			continue;
		a->a_run_owner[r] = (uint8_t)s;
		a->a_run_open--;
		a->a_run_next = r + 1;
		i = run_free_from(a, r, r * ARENA_RUN);
		HT_ASSERT(i != RUN_NONE);	/* a_run_used says one is */
		return (i);
	}
	return (RUN_NONE);
}

static int
arena_alloc(void *arg, ht_pa_t lo, ht_pa_t hi, ht_pfn_t *r_pfn)
{
	ht_arena_t *a = arg;
	uint64_t first, end, i, n;
	unsigned s;

	if (hi <= a->a_base || lo >= a->a_base + a->a_size)
		return (-HT_ENOFRAME);
	first = lo > a->a_base ? (lo - a->a_base) >> HT_PAGE_SHIFT : 0;
	end = hi - a->a_base < a->a_size ? (hi - a->a_base) >> HT_PAGE_SHIFT :
	    a->a_nframes;
	if (first >= end)
		return (-HT_ENOFRAME);

	s = shard_slot();
	(void) pthread_mutex_lock(&a->a_lock);
	if (a->a_limit != 0 && a->a_used >= a->a_limit) {
		(void) pthread_mutex_unlock(&a->a_lock);
		return (-HT_ENOFRAME);
	}
	/* the thread's run, when the whole arena is asked for */
	if (s != 0 && first == 0 && end == a->a_nframes &&
	    (i = run_take(a, s)) != RUN_NONE) {
		a->a_run_last[s] = i;
		goto take;
	}
	/* Start at the cursor when it is inside the range, then wrap. */
	i = (a->a_cursor >= first && a->a_cursor < end) ? a->a_cursor : first;
	for (n = end - first; n > 0; ) {
		uint64_t w = a->a_bitmap[i / 64];
		unsigned bit = (unsigned)(i % 64);

		if (bit == 0 && w == ~0ull && i + 64 <= end) {
			/* a full word: skip 64 frames at once */
			uint64_t step = n < 64 ? n : 64;
			n -= step;
			i += 64;
		} else {
			if (!(w & (1ull << bit)))
				break;
			n--;
			i++;
		}
		if (i >= end)
			i = first;
	}
	if (n == 0) {
		(void) pthread_mutex_unlock(&a->a_lock);
		return (-HT_ENOFRAME);
	}
	a->a_cursor = i + 1;
take:
	a->a_bitmap[i / 64] |= 1ull << (i % 64);
	a->a_used++;
	if (i / ARENA_RUN < a->a_nruns)
		run_count(a, i / ARENA_RUN, 1);
	(void) pthread_mutex_unlock(&a->a_lock);
	*r_pfn = (a->a_base >> HT_PAGE_SHIFT) + i;
	return (0);
}

static void
arena_free(void *arg, ht_pfn_t pfn)
{
	ht_arena_t *a = arg;
	uint64_t i = pfn - (a->a_base >> HT_PAGE_SHIFT);

	HT_VERIFY(i < a->a_nframes);
	(void) pthread_mutex_lock(&a->a_lock);
	HT_VERIFY(a->a_bitmap[i / 64] & (1ull << (i % 64)));
	a->a_bitmap[i / 64] &= ~(1ull << (i % 64));
	a->a_used--;
	if (i / ARENA_RUN < a->a_nruns)
		run_count(a, i / ARENA_RUN, -1);
	(void) pthread_mutex_unlock(&a->a_lock);
}

static void *
arena_map(void *arg, ht_pfn_t pfn)
{
	ht_arena_t *a = arg;

	return (ht_arena_ptr(a, pfn << HT_PAGE_SHIFT));
}

static uint64_t
arena_avail(void *arg)
{
	ht_arena_t *a = arg;
	uint64_t left;

	(void) pthread_mutex_lock(&a->a_lock);
	left = a->a_nframes - a->a_used;
	if (a->a_limit != 0)
		left = a->a_used >= a->a_limit ? 0 :
		    (a->a_limit - a->a_used < left ? a->a_limit - a->a_used :
		    left);
	(void) pthread_mutex_unlock(&a->a_lock);
	return (left);
}

static void *
arena_window(void *arg, ht_pa_t *r_base, uint64_t *r_len)
{
	ht_arena_t *a = arg;

	*r_base = a->a_base;
	*r_len = a->a_size;
	return (a->a_mem);
}

static const ht_frame_ops_t arena_ops = {
	.alloc = arena_alloc,
	.free = arena_free,
	.map = arena_map,
	.avail = arena_avail,
	.window = arena_window,
};

const ht_frame_ops_t *
ht_arena_ops(void)
{
	return (&arena_ops);
}

void *
ht_arena_ptr(ht_arena_t *a, ht_pa_t pa)
{
	if (a == NULL || pa < a->a_base || pa - a->a_base >= a->a_size)
		return (NULL);
	return (a->a_mem + (pa - a->a_base));
}

ht_pa_t
ht_arena_base(const ht_arena_t *a)
{
	return (a->a_base);
}

uint64_t
ht_arena_size(const ht_arena_t *a)
{
	return (a->a_size);
}

uint64_t
ht_arena_frames_used(const ht_arena_t *a)
{
	uint64_t n;

	(void) pthread_mutex_lock((pthread_mutex_t *)&a->a_lock);
	n = a->a_used;
	(void) pthread_mutex_unlock((pthread_mutex_t *)&a->a_lock);
	return (n);
}

void
ht_arena_set_limit(ht_arena_t *a, uint64_t frame_limit)
{
	(void) pthread_mutex_lock(&a->a_lock);
	a->a_limit = frame_limit;
	(void) pthread_mutex_unlock(&a->a_lock);
}
