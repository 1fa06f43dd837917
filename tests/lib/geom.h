/*
 * geom.h - what a test needs to know of a mode's address space, for the
 * tests that do not use api_env.h: the modes, which entry format a mode
 * has, and the last address of its space.
 */
#ifndef HT_TEST_GEOM_H
#define HT_TEST_GEOM_H

#include "htable.h"

/*
 * Every paging mode, in order: the one list of "every mode" (api_env.h's
 * MODE_PARAMS, and the tests that loop over modes themselves).  The modes
 * are numbered 0, 1, ... in this order, so a loop may also run from
 * HT_MODE_32BIT to LAST_MODE, which the list's length gives.
 */
#define ALL_MODES							\
	HT_MODE_32BIT, HT_MODE_PAE, HT_MODE_4LEVEL, HT_MODE_5LEVEL,	\
	HT_MODE_NPT4, HT_MODE_NPT5, HT_MODE_EPT4, HT_MODE_EPT5
#define LAST_MODE							\
	((ht_mode_t)(sizeof ((ht_mode_t[]){ ALL_MODES }) /		\
	sizeof (ht_mode_t) - 1))

/* Nested paging (npt4, npt5): every entry has U, no canonical hole. */
static inline int
mode_npt(const ht_geometry_t *g)
{
	return (g->mode == HT_MODE_NPT4 || g->mode == HT_MODE_NPT5);
}

/*
 * Intel EPT (ept4, ept5): EPT's entry format (read, write and execute
 * rights in bits 0-2, a memory type, A/D in bits 8 and 9, no U/S and no
 * NX), no canonical hole.
 */
static inline int
mode_ept(const ht_geometry_t *g)
{
	return (g->mode == HT_MODE_EPT4 || g->mode == HT_MODE_EPT5);
}

/*
 * The HT_EPT_* flags of the tests' EPT contexts (unless a test names its
 * own): everything an entry can hold, so that A/D, HT_U (= HT_XU) and
 * every right mean something in EPT as in the other modes.
 */
#define EPT_ENV		(HT_EPT_AD | HT_EPT_MBEC | HT_EPT_XONLY)

/*
 * The last address of the mode's space: ~0 with a canonical hole (the
 * upper half), else 2^va_bits - 1 (32-bit and PAE paging, and nested
 * paging's and EPT's guest-physical space).
 */
static inline ht_va_t
va_last(const ht_geometry_t *g)
{
	return (g->hole_start != 0 ? ~0ull : (1ull << g->va_bits) - 1);
}

#endif /* HT_TEST_GEOM_H */
