/*
 * test_stlb_race.c - soft TLBs (ht_stlb_*) while other threads change
 * the space: no lookup ever returns a stale translation.
 *
 * The space has NSLOT probe pages, each alone in its level-0 table (so an
 * unmap frees the table and a later map makes one again, perhaps from
 * another frame).  Each slot belongs to one writer thread, which moves it
 * through versions k = 1, 2, ...: k % 3 == 1 maps it writable at a frame
 * that encodes (slot, k / 3), k % 3 == 2 protects it read-only, k % 3 ==
 * 0 unmaps it (version 0: never mapped yet).  Before the call that makes version k the writer stores k
 * in the slot's `started`; after it returned, in `committed`.
 *
 * Two owner threads, each with its own soft TLB on the space (one small:
 * its invalidations take the look-at-every-entry path), look up random
 * slots with random accesses and fill on a miss.  The assertion: read
 * c = committed before the lookup and s = started after it; the answer
 * (a hit, or the fill's verdict) must be the state of some version in
 * [c, s].  That is sound: version c was in force when c was read (its
 * call had returned and the next had not begun changing anything before
 * started moved), every version up to s may have been in force during the
 * lookup, and none after s can have been.  It is what "never stale"
 * means: once a change has returned, no lookup that begins afterwards
 * returns what it replaced.  A hit on a write also needs a writable
 * version.  At the end, ht_audit: a fill that set A or D in a table frame
 * after it was freed would leave a stray entry in a reused table.
 * Every paging mode, with and without a TLB hook; built also as a plain
 * program for ThreadSanitizer (standalone.h).
 */
#include "stress.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "htable.h"

#define NWRITER		2
#define NREADER		2
#define NSLOT		16		/* slot i belongs to writer i % NWRITER */
#define NGEN		64		/* frames per slot, reused in turn */
#define PA_BASE		(32ull << 20)
#ifdef HT_STANDALONE
#define VERSIONS	250		/* per slot; TSan is slow */
#else
#define VERSIONS	800
#endif

typedef struct slot {
	ht_va_t		va;
	_Atomic uint64_t started;	/* the version being made */
	_Atomic uint64_t committed;	/* the last version whose call returned */
} slot_t;

typedef struct race {
	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
	ht_as_t		*as;
	slot_t		slot[NSLOT];
	_Atomic int	writers_done;
	_Atomic unsigned long hits, fills, faults, bad;
	char		first_bad[256];
	_Atomic int	bad_claimed;
	uint64_t	tlb_calls;
} race_t;

static ht_pa_t
pa_of(unsigned s, uint64_t k)
{
	return (PA_BASE + ((ht_pa_t)s * NGEN + (k / 3) % NGEN) * PG);
}

static void
fail(race_t *r, const char *what, unsigned s, uint64_t c, uint64_t st,
    ht_pa_t pa, unsigned acc)
{
	atomic_fetch_add(&r->bad, 1);
	if (atomic_exchange(&r->bad_claimed, 1) == 0)
		snprintf(r->first_bad, sizeof (r->first_bad), "%s: slot %u "
		    "versions [%llu, %llu] pa 0x%llx acc %u", what, s,
		    (unsigned long long)c, (unsigned long long)st,
		    (unsigned long long)pa, acc);
}

/* Does some version in [c, s] of slot map pa, writable if write? */
static int
mapped_in(unsigned slot, uint64_t c, uint64_t s, ht_pa_t pa, int write)
{
	for (uint64_t k = c; k <= s; k++) {
		if (k % 3 == 0)
			continue;		/* unmapped */
		if (write && k % 3 != 1)
			continue;		/* read-only */
		if (pa_of(slot, k) == pa)	/* k / 3: the map's */
			return (1);
	}
	return (0);
}

/* Is some version in [c, s] unmapped (or read-only, for a write)? */
static int
faults_in(uint64_t c, uint64_t s, int write)
{
	for (uint64_t k = c; k <= s; k++)
		if (k % 3 == 0 || (write && k % 3 == 2))
			return (1);
	return (0);
}

static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (*x);
}

/* One thread's part: a writer's slots, or a reader's soft TLB. */
typedef struct tctx {
	race_t		*r;
	unsigned	id;
	unsigned	entries;	/* readers: the soft TLB's size */
	ht_mode_t	mode;
	int		rc;
} tctx_t;

static void *
writer(void *arg)
{
	tctx_t *w = arg;
	race_t *r = w->r;
	uint64_t x = 0x9e3779b97f4a7c15ull * (w->id + 1);

	for (uint64_t n = 0; n < VERSIONS * (NSLOT / NWRITER) && w->rc == 0;
	    n++) {
		unsigned s = w->id + NWRITER * (unsigned)(rnd(&x) %
		    (NSLOT / NWRITER));
		slot_t *sl = &r->slot[s];
		uint64_t k = atomic_load(&sl->committed) + 1;

		if (k > VERSIONS)
			continue;
		atomic_store(&sl->started, k);
		switch (k % 3) {
		case 1:
			w->rc = ht_map(r->as, sl->va, pa_of(s, k), PG,
			    HT_W | HT_U, 0);
			break;
		case 2:
			w->rc = ht_protect(r->as, sl->va, PG, HT_U);
			break;
		default:
			w->rc = ht_unmap(r->as, sl->va, PG, 0);
			break;
		}
		atomic_store(&sl->committed, k);
		if ((n & 63) == 0)
			(void) sched_yield();
	}
	return (NULL);
}

static void *
reader(void *arg)
{
	tctx_t *rc = arg;
	race_t *r = rc->r;
	uint64_t x = 0x2545f4914f6cdd1dull * (rc->id + 7);
	ht_cpu_t cpu = { HT_CPU_WP, 0, 0 };
	ht_stlb_t *t;

	if (rc->mode != HT_MODE_32BIT)
		cpu.flags |= HT_CPU_NXE;
	/* EPT: the CPU its context's flags are for (no WP, no NXE there) */
	if (mode_ept(ht_geometry(rc->mode)))
		cpu.flags = HT_CPU_EPT_MBEC | HT_CPU_EPT_XONLY;
	if ((rc->rc = ht_stlb_create(r->as, rc->entries, &cpu, &t)) != 0)
		return (NULL);
	while (!atomic_load(&r->writers_done)) {
		unsigned s = (unsigned)(rnd(&x) % NSLOT);
		slot_t *sl = &r->slot[s];
		unsigned acc = (rnd(&x) & 1) ? HT_ACC_WRITE : HT_ACC_READ;
		ht_va_t va = sl->va + (rnd(&x) & 0xff8);
		uint64_t c = atomic_load(&sl->committed);
		ht_pa_t pa;
		ht_access_t a;

		if (ht_stlb_lookup(t, va, acc, 3, &pa)) {
			uint64_t st = atomic_load(&sl->started);

			atomic_fetch_add(&r->hits, 1);
			if ((pa & 0xfff) != (va & 0xfff) || !mapped_in(s, c, st,
			    pa & ~0xfffull, acc == HT_ACC_WRITE))
				fail(r, "stale hit", s, c, st, pa, acc);
			continue;
		}
		if ((rc->rc = ht_stlb_fill(t, va, acc, 3, &a)) != 0)
			break;
		uint64_t st = atomic_load(&sl->started);

		if (a.fault == HT_FAULT_NONE) {
			atomic_fetch_add(&r->fills, 1);
			if (!mapped_in(s, c, st, a.pa & ~0xfffull,
			    acc == HT_ACC_WRITE))
				fail(r, "fill", s, c, st, a.pa, acc);
		} else {
			atomic_fetch_add(&r->faults, 1);
			if (!faults_in(c, st, acc == HT_ACC_WRITE))
				fail(r, "fault", s, c, st, 0, acc);
		}
	}
	ht_stlb_destroy(t);
	return (NULL);
}

static void
tlb_count(void *arg, ht_as_t *as, ht_va_t va, uint64_t len)
{
	race_t *r = arg;

	(void) as;
	(void) va;
	(void) len;
	__atomic_fetch_add(&r->tlb_calls, 1, __ATOMIC_RELAXED);
}

static void
run(ht_mode_t mode, int hook)
{
	static race_t r;
	const ht_geometry_t *g = ht_geometry(mode);
	uint64_t span = 1ull << g->level_shift[1];
	pthread_t wt[NWRITER], rt[NREADER];
	tctx_t w[NWRITER], rd[NREADER];
	ht_config_t cfg;

	memset(&r, 0, sizeof (r));
	cr_assert_eq(ht_arena_create(1ull << 20, 128ull << 20, 0, &r.arena),
	    0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.ept = stress_ept(mode);
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = r.arena;
	if (hook) {
		cfg.tlb = tlb_count;
		cfg.tlb_arg = &r;
	}
	cr_assert_eq(ht_ctx_create(&cfg, &r.ctx), 0);
	cr_assert_eq(ht_as_create(r.ctx, 0, &r.as), 0);
	/* each slot alone in its level-0 table, a few root entries apart */
	for (unsigned s = 0; s < NSLOT; s++)
		r.slot[s].va = 4 * span + (uint64_t)s * 3 * span +
		    (s % 5) * PG;

	for (unsigned i = 0; i < NREADER; i++) {
		rd[i] = (tctx_t){ &r, i, i == 0 ? 1024 : 4, mode, 0 };
		cr_assert_eq(pthread_create(&rt[i], NULL, reader, &rd[i]), 0);
	}
	for (unsigned i = 0; i < NWRITER; i++) {
		w[i] = (tctx_t){ &r, i, 0, mode, 0 };
		cr_assert_eq(pthread_create(&wt[i], NULL, writer, &w[i]), 0);
	}
	for (unsigned i = 0; i < NWRITER; i++)
		cr_assert_eq(pthread_join(wt[i], NULL), 0);
	atomic_store(&r.writers_done, 1);
	for (unsigned i = 0; i < NREADER; i++)
		cr_assert_eq(pthread_join(rt[i], NULL), 0);
	for (unsigned i = 0; i < NWRITER; i++)
		cr_assert_eq(w[i].rc, 0, "writer %u: %s", i,
		    ht_err_name(w[i].rc));
	for (unsigned i = 0; i < NREADER; i++)
		cr_assert_eq(rd[i].rc, 0, "reader %u: %s", i,
		    ht_err_name(rd[i].rc));
	cr_assert_eq(atomic_load(&r.bad), 0, "%lu bad answers; first: %s",
	    atomic_load(&r.bad), r.first_bad);
	cr_assert(atomic_load(&r.hits) > 0 && atomic_load(&r.fills) > 0,
	    "hits %lu fills %lu", atomic_load(&r.hits),
	    atomic_load(&r.fills));
	cr_assert_eq(ht_audit(r.as), 0, "audit: %s", ht_errdetail());
	ht_as_destroy(r.as);
	cr_assert_eq(ht_ctx_destroy(r.ctx), 0);
	cr_assert_eq(ht_arena_frames_used(r.arena), 0);
	ht_arena_destroy(r.arena);
}

STRESS_MODES(stlb_race, no_stale)

ParameterizedTest(ht_mode_t *mode, stlb_race, no_stale, .timeout = 600)
{
	run(*mode, 0);		/* no hook: the soft TLBs alone */
	run(*mode, 1);
}
