/*
 * rng.h - the tests' small seeded generator (xorshift64*): a fixed seed
 * gives every run the same cases, and a failure names its trial.
 */
#ifndef HT_TEST_RNG_H
#define HT_TEST_RNG_H

#include <stdint.h>

/* The next number of the sequence in *s (any seed but 0). */
static inline uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (*s * 0x2545f4914f6cdd1dull);
}

#endif /* HT_TEST_RNG_H */
