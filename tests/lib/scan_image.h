/*
 * scan_image.h - what the scan and access tests share: a hand-made
 * physical image in host memory with its ht_phys_read_fn (which records
 * what it was asked for), ht_scan's read callback over a library arena
 * (the tables a space of ours built, read back as an image), and a small
 * seeded generator.  Criterion tests only (they assert).
 */
#ifndef HT_TEST_SCAN_IMAGE_H
#define HT_TEST_SCAN_IMAGE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "htable.h"

typedef struct scan_image {
	uint8_t		*mem;
	uint64_t	size;
	ht_pa_t		next;		/* next free frame for the builders */
	uint64_t	nreads;		/* calls of the read function */
	uint64_t	bytes;		/* bytes asked for */
	uint64_t	hi;		/* 1 + highest byte asked for */
	int		rc;		/* != 0: return it, no reading */
} scan_image_t;

/* A zeroed image of size bytes whose builders take frames from next. */
static inline void
img_init(scan_image_t *im, uint64_t size, ht_pa_t next)
{
	memset(im, 0, sizeof (*im));
	im->mem = calloc(1, (size_t)size);
	cr_assert_not_null(im->mem);
	im->size = size;
	im->next = next;
}

static inline void
img_free(scan_image_t *im)
{
	free(im->mem);
	im->mem = NULL;
}

/* Forget the recorded requests. */
static inline void
img_clear_counts(scan_image_t *im)
{
	im->nreads = im->bytes = im->hi = 0;
}

/*
 * The read callback: copy what the image has, zeros for the rest, and
 * return 1 when some of [pa, pa + len) is beyond the end.
 */
static inline int
img_read(void *arg, ht_pa_t pa, void *buf, size_t len)
{
	scan_image_t *im = arg;
	uint64_t end = pa + len < pa ? UINT64_MAX : pa + len;
	uint64_t n;

	im->nreads++;
	im->bytes += len;
	if (end > im->hi)
		im->hi = end;
	if (im->rc != 0)
		return (im->rc);
	memset(buf, 0, len);
	if (pa >= im->size)
		return (len != 0);
	n = im->size - pa < len ? im->size - pa : len;
	memcpy(buf, im->mem + pa, (size_t)n);
	return (n < len);
}

/* Write an entry of esize (4 or 8) bytes at pa, inside the image. */
static inline void
put(scan_image_t *im, unsigned esize, ht_pa_t pa, uint64_t v)
{
	cr_assert(pa + esize <= im->size, "put at 0x%llx outside",
	    (unsigned long long)pa);
	if (esize == 4) {
		uint32_t w = (uint32_t)v;

		cr_assert_eq((uint64_t)w, v, "a 32-bit entry 0x%llx",
		    (unsigned long long)v);
		memcpy(im->mem + pa, &w, 4);
	} else {
		memcpy(im->mem + pa, &v, 8);
	}
}

/* The read callback over an arena (arg): zeros and 1 outside it. */
static inline int
arena_read(void *arg, ht_pa_t pa, void *buf, size_t len)
{
	ht_arena_t *a = arg;
	uint8_t *out = buf;
	int rc = 0;

	while (len > 0) {
		size_t chunk = (size_t)(4096 - (pa & 4095));
		void *p = ht_arena_ptr(a, pa);

		if (chunk > len)
			chunk = len;
		if (p == NULL) {
			memset(out, 0, chunk);
			rc = 1;
		} else {
			memcpy(out, p, chunk);
		}
		out += chunk;
		pa += chunk;
		len -= chunk;
	}
	return (rc);
}

/* The next pseudo-random number of the sequence in *s (xorshift64*). */
static inline uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (*s * 0x2545f4914f6cdd1dull);
}

#endif
