/*
 * stress.h - what a stress test starts with: Criterion, or the plain
 * runner its ThreadSanitizer build uses (standalone.h), the headers every
 * one of them needs, and the sizes they count in.
 */
#ifndef HT_STRESS_H
#define HT_STRESS_H

#ifdef HT_STANDALONE
#include "standalone.h"	/* for ThreadSanitizer: see that file */
#else
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "htable.h"

#define PG		4096ull
#define MIB		(1024ull * 1024)
#define GIB		(1024ull * MIB)

/*
 * For tests whose every mapping is va -> va + pa_off: does a lookup of
 * va read anything else (or fail other than "not mapped")?
 */
static inline int
xlate_wrong(ht_as_t *as, ht_va_t va, uint64_t pa_off)
{
	ht_pa_t pa;
	int rc = ht_va2pa(as, va, &pa);

	return ((rc == 0 && pa != va + pa_off) ||
	    (rc != 0 && rc != -HT_ENOTMAPPED));
}

/* The four paging modes, as a Criterion parameter array. */
#define STRESS_MODES(suite, name)					\
ParameterizedTestParameters(suite, name)				\
{									\
	static ht_mode_t m[4] = { HT_MODE_32BIT, HT_MODE_PAE,		\
	    HT_MODE_4LEVEL, HT_MODE_5LEVEL };				\
	return (cr_make_param_array(ht_mode_t, m, 4));			\
}

#endif /* HT_STRESS_H */
