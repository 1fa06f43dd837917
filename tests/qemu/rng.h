/*
 * rng.h - the random numbers of the QEMU test generators (specgen,
 * tablegen): splitmix64, small and well mixed from any seed, so that a
 * seed printed by a failing run reproduces it.  One state per program.
 */
#ifndef QEMU_TEST_RNG_H
#define QEMU_TEST_RNG_H

#include <stdint.h>

static uint64_t rng_state;

static inline uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31));
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t
below(uint64_t n)
{
	return (rnd() % n);
}

/* True with probability pct percent. */
static inline int
chance(unsigned pct)
{
	return (below(100) < pct);
}

#endif
