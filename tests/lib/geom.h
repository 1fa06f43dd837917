/*
 * geom.h - what a test needs to know of a mode's address space, for the
 * tests that do not use api_env.h.
 */
#ifndef HT_TEST_GEOM_H
#define HT_TEST_GEOM_H

#include "htable.h"

/*
 * The last address of the mode's space: ~0 with a canonical hole (the
 * upper half), else 2^va_bits - 1 (32-bit and PAE paging, and nested
 * paging's guest-physical space).
 */
static inline ht_va_t
va_last(const ht_geometry_t *g)
{
	return (g->hole_start != 0 ? ~0ull : (1ull << g->va_bits) - 1);
}

#endif /* HT_TEST_GEOM_H */
