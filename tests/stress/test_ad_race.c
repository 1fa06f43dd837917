/*
 * test_ad_race.c - ht_unmap_ad while an MMU sets Accessed/Dirty bits.
 *
 * A thread plays the page walker: it sweeps the raw leaf entries of a
 * range and sets A and D in each one that is still present and clean,
 * with a compare-and-swap (the walker's locked update; it never writes an
 * entry that is gone).  Meanwhile the main thread removes the range with
 * ht_unmap_ad.  A page whose D the walker managed to set was dirtied
 * while mapped, so it must be reported dirty, exactly once; a page it did
 * not dirty must not be reported.  The library takes the bits from the
 * value its clearing exchange returned, so none set before the clear can
 * be lost.  Rounds alternate between the single-table fast path and the
 * bulk path over two tables, in every paging mode (EPT's A and D are
 * bits 8 and 9, its context's HT_EPT_AD on).
 */
#include "stress.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "htable.h"
#include "../lib/leaf_entry.h"

#define NPG		96
#define ROUNDS		100
#define RAW_P		0x01ull		/* present; EPT: readable */
#define RAW_AD		0x60ull		/* Accessed | Dirty */
#define RAW_AD_EPT	0x300ull	/* EPT's, bits 8 and 9 */

typedef struct race {
	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
	ht_as_t		*as;
	unsigned	pte_size;
	uint64_t	ad;		/* the format's raw A | D */
	void		*entry[NPG];	/* raw leaf entry of each page */
	_Atomic int	dirtied[NPG];	/* the walker set A/D there */
	_Atomic int	running, stop;
	ht_va_t		va;
	int		reported[NPG];	/* reports per page */
	unsigned	bits[NPG];
	int		stray;		/* reports outside the range */
} race_t;

/*
 * Set A and D (ad, the format's) in the entry at p if it is present and
 * clean: 1 if done.
 */
static int
walker_dirty(unsigned pte_size, uint64_t ad, void *p)
{
	if (pte_size == 8) {
		uint64_t old = __atomic_load_n((uint64_t *)p, __ATOMIC_ACQUIRE);

		return ((old & RAW_P) && !(old & ad) &&
		    __atomic_compare_exchange_n((uint64_t *)p, &old,
		    old | ad, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
	}
	uint32_t old32 = __atomic_load_n((uint32_t *)p, __ATOMIC_ACQUIRE);

	return ((old32 & RAW_P) && !(old32 & ad) &&
	    __atomic_compare_exchange_n((uint32_t *)p, &old32,
	    old32 | (uint32_t)ad, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
}

static void *
walker(void *arg)
{
	race_t *r = arg;
	unsigned i = 0;

	atomic_store(&r->running, 1);
	while (!atomic_load(&r->stop)) {
		/* a stride through the pages, so both ends get hit early */
		i = (i + 37) % NPG;
		if (walker_dirty(r->pte_size, r->ad, r->entry[i]))
			atomic_store(&r->dirtied[i], 1);
	}
	return (NULL);
}

static void
report(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	race_t *r = arg;
	uint64_t i = (va - r->va) / PG;

	if (va < r->va || i >= NPG || size != PG) {
		r->stray++;
		return;
	}
	r->reported[i]++;
	r->bits[i] = bits;
}

static void
one_round(race_t *r, ht_va_t va)
{
	pthread_t t;
	int rc;

	rc = ht_map(r->as, va, 0x100000, NPG * PG, HT_W, 0);
	cr_assert_eq(rc, 0, "map: %s", ht_err_name(rc));
	r->va = va;
	r->stray = 0;
	memset(r->reported, 0, sizeof (r->reported));
	for (unsigned i = 0; i < NPG; i++) {
		r->entry[i] = leaf_entry_of(r->as, r->arena, va + i * PG, NULL);
		cr_assert_not_null(r->entry[i]);
		atomic_store(&r->dirtied[i], 0);
	}
	atomic_store(&r->running, 0);
	atomic_store(&r->stop, 0);
	cr_assert_eq(pthread_create(&t, NULL, walker, r), 0);
	while (!atomic_load(&r->running))
		(void) sched_yield();
	rc = ht_unmap_ad(r->as, va, NPG * PG, 0, report, r);
	atomic_store(&r->stop, 1);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(rc, 0, "unmap: %s", ht_err_name(rc));
	cr_assert_eq(r->stray, 0, "reports outside the range");
	for (unsigned i = 0; i < NPG; i++) {
		int d = atomic_load(&r->dirtied[i]);

		cr_assert_eq(r->reported[i], d, "page %u: dirtied %d, reported "
		    "%d times", i, d, r->reported[i]);
		cr_assert(!d || r->bits[i] == (HT_A | HT_D), "page %u: bits "
		    "0x%x", i, r->bits[i]);
	}
	cr_assert_eq(ht_audit(r->as), 0, "audit: %s", ht_errdetail());
}

STRESS_MODES(ad_race, unmap)

ParameterizedTest(ht_mode_t *mode, ad_race, unmap, .timeout = 300)
{
	static race_t r;
	ht_config_t cfg;
	const ht_geometry_t *g = ht_geometry(*mode);
	uint64_t span = 1ull << g->level_shift[1];
	long dirty = 0;

	memset(&r, 0, sizeof (r));
	r.pte_size = g->pte_size;
	r.ad = mode_ept(g) ? RAW_AD_EPT : RAW_AD;
	cr_assert_eq(ht_arena_create(1ull << 20, 64ull << 20, 0, &r.arena), 0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = *mode;
	cfg.ept = stress_ept(*mode);
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = r.arena;
	cr_assert_eq(ht_ctx_create(&cfg, &r.ctx), 0);
	cr_assert_eq(ht_as_create(r.ctx, 0, &r.as), 0);
	for (unsigned k = 0; k < ROUNDS; k++) {
		/* odd rounds cross from one level-0 table into the next */
		one_round(&r, (k & 1) ? 64 * span - NPG / 2 * PG :
		    64 * span + 8 * PG);
		for (unsigned i = 0; i < NPG; i++)
			dirty += atomic_load(&r.dirtied[i]);
	}
	cr_assert(dirty > 0, "the walker never dirtied a page");
	ht_as_destroy(r.as);
	cr_assert_eq(ht_ctx_destroy(r.ctx), 0);
	cr_assert_eq(ht_arena_frames_used(r.arena), 0);
	ht_arena_destroy(r.arena);
}
