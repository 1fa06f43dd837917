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
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "htable.h"
#include "debug.h"

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
};

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
	a->a_bitmap = calloc((a->a_nframes + 63) / 64, sizeof (uint64_t));
	a->a_mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->a_bitmap == NULL || a->a_mem == MAP_FAILED) {
		if (a->a_mem != MAP_FAILED && a->a_mem != NULL)
			(void) munmap(a->a_mem, size);
		free(a->a_bitmap);
		free(a);
		return (ht__fail(HT_ENOMEM, "cannot map a %llu-byte arena",
		    (unsigned long long)size));
	}
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
	free(a);
}

static int
arena_alloc(void *arg, ht_pa_t lo, ht_pa_t hi, ht_pfn_t *r_pfn)
{
	ht_arena_t *a = arg;
	uint64_t first, end, i, n;

	if (hi <= a->a_base || lo >= a->a_base + a->a_size)
		return (-HT_ENOFRAME);
	first = lo > a->a_base ? (lo - a->a_base) >> HT_PAGE_SHIFT : 0;
	end = hi - a->a_base < a->a_size ? (hi - a->a_base) >> HT_PAGE_SHIFT :
	    a->a_nframes;
	if (first >= end)
		return (-HT_ENOFRAME);

	(void) pthread_mutex_lock(&a->a_lock);
	if (a->a_limit != 0 && a->a_used >= a->a_limit) {
		(void) pthread_mutex_unlock(&a->a_lock);
		return (-HT_ENOFRAME);
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
	a->a_bitmap[i / 64] |= 1ull << (i % 64);
	a->a_used++;
	a->a_cursor = i + 1;
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
