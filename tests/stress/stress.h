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
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "htable.h"
#include "../lib/geom.h"

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

/*
 * A thief, for tests that want stealers walking the other spaces of a
 * context: it maps single pages at base + i * step (i < n) of its own
 * space, va -> va + pa_off, and now and then empties the range, until
 * *stop; its context has stealing forced (ht_ctx_set_force_steal), so
 * its allocations steal from the other spaces.  A full arena may refuse
 * a map (-HT_ENOFRAME): no error here; any other failure adds to *bad.
 * `thefts` counts its rounds.
 */
typedef struct stress_thief {
	ht_as_t		*as;
	ht_va_t		base;
	uint64_t	step;
	unsigned	n;
	uint64_t	pa_off;
	_Atomic int	*stop;
	_Atomic long	*bad;
	_Atomic long	thefts;
} stress_thief_t;

static inline uint64_t
stress_rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (*s >> 33);
}

static inline void *
stress_thief(void *arg)
{
	stress_thief_t *t = arg;
	uint64_t s = 7;

	while (!atomic_load(t->stop)) {
		ht_va_t va = t->base + stress_rnd(&s) % t->n * t->step;
		int rc = ht_map(t->as, va, va + t->pa_off, 4096, HT_W, 0);

		if (rc != 0 && rc != -HT_ENOFRAME)
			atomic_fetch_add(t->bad, 1);
		if (stress_rnd(&s) % 4 == 0 &&
		    ht_unmap(t->as, t->base, t->n * t->step, 0) != 0)
			atomic_fetch_add(t->bad, 1);
		atomic_fetch_add(&t->thefts, 1);
	}
	return (NULL);
}

/* Wait until the thief has made n rounds. */
static inline void
stress_wait_thefts(stress_thief_t *t, long n)
{
	while (atomic_load(&t->thefts) < n)
		(void) sched_yield();
}

/*
 * The paging modes (nested paging and EPT too: geom.h's list), as a
 * Criterion parameter array.
 */
#define STRESS_MODES(suite, name)					\
ParameterizedTestParameters(suite, name)				\
{									\
	static ht_mode_t m[] = { ALL_MODES };				\
	return (cr_make_param_array(ht_mode_t, m,			\
	    sizeof (m) / sizeof (m[0])));				\
}

/*
 * The HT_EPT_* flags of a stress test's context (ht_config_t.ept): in the
 * EPT modes every one, so that an entry holds what it holds in the other
 * modes (A/D bits, HT_U as user-mode execute); 0 elsewhere.
 */
static inline unsigned
stress_ept(ht_mode_t mode)
{
	return (mode_ept(ht_geometry(mode)) ? HT_EPT_AD | HT_EPT_MBEC |
	    HT_EPT_XONLY : 0);
}

#endif /* HT_STRESS_H */
