/*
 * arena_read.h - what the scan and access tests share: ht_scan's read
 * callback over a library arena (the tables a space of ours built, read
 * back as an image), and a small seeded generator.
 */
#ifndef HT_TEST_ARENA_READ_H
#define HT_TEST_ARENA_READ_H

#include <stdint.h>
#include <string.h>
#include "htable.h"

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
