/*
 * test_nommu_race.c - a space that no MMU walks yet (HT_AS_NOMMU) under
 * concurrency: its calls write entries with plain stores, which is
 * correct only because they run one at a time in the space (nommu.c).
 *
 * Four writer threads map, unmap, protect, chattr, lock, unlock and
 * harvest overlapping ranges of one window of the space (4 KiB runs and
 * whole large pages; in rounds that may be live, each its own quarter:
 * see LIVE1), always mapping va at va + PA_OFF, while two reader
 * threads translate random addresses lock-free (ht_va2pa): an address is
 * either unmapped or at exactly va + PA_OFF, so a torn or stale entry
 * shows.  The rounds go:
 *  - no-MMU: at each barrier (writers stopped) ht_audit must pass, and
 *    the TLB hook must never have named the space;
 *  - half way the main thread turns the space live while the writers
 *    work (ht_as_set_mmu(as, 1)): from then on the hook may be called;
 *  - then, with the writers stopped (the caller's promise that turning
 *    back needs), it turns it back to no-MMU, and near the end live
 *    again while they work.
 * Failures are counted in an atomic (the first one is described) and
 * asserted 0; at the end everything is unmapped and destroyed, and no
 * frame is left in the arena.  Every paging mode; built also as a plain
 * program for ThreadSanitizer (standalone.h).
 */
#include "stress.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "htable.h"

#define ARENA_BASE	(1 * MIB)
#define ARENA_SIZE	(128 * MIB)
#define WIN		(1 * GIB)	/* the window's base */
#define PA_OFF		(1 * GIB)	/* va maps at va + PA_OFF */
#define NWRITERS	4	/* the window is 4 large pages */
#define NREADERS	2
#define ROUNDS		12
/*
 * The schedule: live from the start of round LIVE1 (turned while the
 * writers work), back to no-MMU at the barrier of round BACK, live again
 * from the start of LIVE2.  In a round that may be live the writers keep
 * to their own quarter of the window: overlapping calls in a live space
 * are the caller's to order (the concurrency contract); in a no-MMU one
 * the space's lock orders them, which is what this test is about.
 */
#define LIVE1		6
#define BACK		7
#define LIVE2		10
#define NOMMU_ROUND(r)	((r) < LIVE1 || ((r) > BACK && (r) < LIVE2))
#define OPS		150		/* per writer per round */

typedef struct world {
	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
	ht_as_t		*as;
	uint64_t	l1;		/* level-1 page size */
	uint64_t	span;		/* window length */
	int		ept;		/* an EPT mode */
	pthread_barrier_t bar;
	_Atomic int	stop;		/* readers: end */
	_Atomic int	may_tlb;	/* the space may be live now */
	_Atomic unsigned failures;
	_Atomic unsigned long tlb_calls;
	char		first[256];
	pthread_mutex_t	first_lock;
} world_t;

static void
fail(world_t *w, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&w->failures, 1) != 0)
		return;
	pthread_mutex_lock(&w->first_lock);
	va_start(ap, fmt);
	(void) vsnprintf(w->first, sizeof (w->first), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&w->first_lock);
}

static void
tlb_hook(void *arg, ht_as_t *as, ht_va_t va, uint64_t len)
{
	world_t *w = arg;

	(void) va;
	(void) len;
	if (as == w->as && !atomic_load(&w->may_tlb))
		fail(w, "TLB hook named the space while no MMU walked it");
	atomic_fetch_add(&w->tlb_calls, 1);
}

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (*s);
}

typedef struct writer {
	world_t		*w;
	uint64_t	seed;
	unsigned	id;		/* its quarter in live rounds */
} writer_t;

/*
 * A range of [lo, lo + span): a 4 KiB run, or (1 in 8) a whole large
 * page.
 */
static void
pick(world_t *w, uint64_t *s, ht_va_t lo, uint64_t span, ht_va_t *r_va,
    uint64_t *r_len, int *r_big)
{
	*r_big = rnd(s) % 8 == 0;
	if (*r_big) {
		*r_va = lo + (rnd(s) % (span / w->l1)) * w->l1;
		*r_len = w->l1;
		return;
	}
	*r_va = lo + (rnd(s) % (span / PG)) * PG;
	*r_len = (1 + rnd(s) % 32) * PG;
	if (*r_va + *r_len > lo + span)
		*r_len = lo + span - *r_va;
}

/*
 * A caching change: clear HT_PCD or not, set HT_PWT or not.  EPT names
 * its memory type whole (the three bits), so there the same two choices
 * pick one of four types.
 */
static int
chattr_op(world_t *w, uint64_t *s, ht_va_t va, uint64_t len)
{
	static const unsigned mt[4] = {
		HT_EPT_UC, HT_EPT_WC, HT_EPT_WT, HT_EPT_WB
	};
	unsigned a = (unsigned)(rnd(s) & 1), b = (unsigned)(rnd(s) & 1);
	unsigned t = HT_EPT_MT(mt[2 * a + b]);

	/* the type's bits set, the others of the three cleared */
	if (w->ept)
		return (ht_chattr(w->as, va, len, HT_EPT_MT_MASK & ~t, t));
	return (ht_chattr(w->as, va, len, a ? HT_PCD : 0, b ? 0 : HT_PWT));
}

static void
one_op(world_t *w, uint64_t *s, ht_va_t lo, uint64_t span)
{
	ht_va_t va;
	uint64_t len;
	int big, rc = 0;
	unsigned op = (unsigned)(rnd(s) % 8);

	pick(w, s, lo, span, &va, &len, &big);
	switch (op) {
	case 0:
	case 1:
		rc = ht_map(w->as, va, va + PA_OFF, len, HT_W,
		    big ? 0 : HT_MAP_SIZE(HT_PS_4K));
		if (rc == -HT_ELOCKED)
			rc = 0;		/* another thread's lock */
		break;
	case 2:
		rc = ht_unmap(w->as, va, len, HT_UNMAP_UNLOCK);
		break;
	case 3:
		rc = ht_protect(w->as, va, len, (rnd(s) & 1) ? HT_W : 0);
		break;
	case 4:
		rc = chattr_op(w, s, va, len);
		break;
	case 5:
		rc = ht_lock(w->as, va, len);
		if (rc == 0) {
			rc = ht_unlock(w->as, va, len);
			if (rc == -HT_ENOTLOCKED)
				rc = 0;	/* a map filled a hole meanwhile */
		}
		break;
	case 6:
		rc = (int)ht_harvest_ad(w->as, va, len, HT_A | HT_D,
		    HT_AD_CLEAR, NULL, NULL);
		if (rc > 0)
			rc = 0;
		break;
	default:
		rc = ht_map(w->as, va, va + PA_OFF, len, 0, 0);
		if (rc == -HT_ELOCKED)
			rc = 0;
		break;
	}
	if (rc < 0)
		fail(w, "op %u at 0x%llx +0x%llx: %s (%s)", op,
		    (unsigned long long)va, (unsigned long long)len,
		    ht_err_name(rc), ht_errdetail());
}

static void *
writer_main(void *arg)
{
	writer_t *wr = arg;
	world_t *w = wr->w;

	for (int r = 0; r < ROUNDS; r++) {
		/* every writer everywhere, or each in its own large page */
		ht_va_t lo = NOMMU_ROUND(r) ? WIN : WIN + wr->id * w->l1;
		uint64_t span = NOMMU_ROUND(r) ? w->span : w->l1;

		for (int i = 0; i < OPS; i++)
			one_op(w, &wr->seed, lo, span);
		/* the main thread audits between the two */
		(void) pthread_barrier_wait(&w->bar);
		(void) pthread_barrier_wait(&w->bar);
	}
	return (NULL);
}

static void *
reader_main(void *arg)
{
	writer_t *rd = arg;
	world_t *w = rd->w;

	while (!atomic_load(&w->stop)) {
		ht_va_t va = WIN + (rnd(&rd->seed) % (w->span / PG)) * PG +
		    (rnd(&rd->seed) & 0xff8);
		ht_pa_t pa;
		int rc = ht_va2pa(w->as, va, &pa);

		if (rc == 0 && pa != va + PA_OFF)
			fail(w, "va 0x%llx at pa 0x%llx", (unsigned long long)va,
			    (unsigned long long)pa);
		else if (rc != 0 && rc != -HT_ENOTMAPPED)
			fail(w, "va2pa 0x%llx: %s", (unsigned long long)va,
			    ht_err_name(rc));
	}
	return (NULL);
}

static void
set_mmu(world_t *w, int live)
{
	int rc;

	if (live)
		atomic_store(&w->may_tlb, 1);
	rc = ht_as_set_mmu(w->as, live);
	if (rc != 0)
		fail(w, "ht_as_set_mmu(%d): %s (%s)", live, ht_err_name(rc),
		    ht_errdetail());
	if (ht_as_mmu(w->as) != live)
		fail(w, "ht_as_mmu is not %d", live);
	if (!live)
		atomic_store(&w->may_tlb, 0);
}

STRESS_MODES(nommu, race)

ParameterizedTest(ht_mode_t *mode, nommu, race, .timeout = 300)
{
	static world_t w;
	ht_config_t cfg;
	pthread_t tid[NWRITERS + NREADERS];
	writer_t wr[NWRITERS + NREADERS];
	const ht_geometry_t *g = ht_geometry(*mode);

	memset(&w, 0, sizeof (w));
	pthread_mutex_init(&w.first_lock, NULL);
	w.l1 = 1ull << g->level_shift[1];
	w.span = 4 * w.l1;
	w.ept = mode_ept(g);
	cr_assert_eq(ht_arena_create(ARENA_BASE, ARENA_SIZE, 0, &w.arena), 0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = *mode;
	cfg.ept = stress_ept(*mode);
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = w.arena;
	cfg.tlb = tlb_hook;
	cfg.tlb_arg = &w;
	cr_assert_eq(ht_ctx_create(&cfg, &w.ctx), 0);
	cr_assert_eq(ht_as_create(w.ctx, HT_AS_NOMMU, &w.as), 0);
	cr_assert_eq(ht_as_mmu(w.as), 0);
	pthread_barrier_init(&w.bar, NULL, NWRITERS + 1);
	for (int i = 0; i < NWRITERS + NREADERS; i++) {
		wr[i].w = &w;
		wr[i].id = (unsigned)i;
		wr[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1) +
		    (uint64_t)*mode;
		cr_assert_eq(pthread_create(&tid[i], NULL, i < NWRITERS ?
		    writer_main : reader_main, &wr[i]), 0);
	}
	for (int r = 0; r < ROUNDS; r++) {
		/* live while the writers work */
		if (r == LIVE1 || r == LIVE2)
			set_mmu(&w, 1);
		(void) pthread_barrier_wait(&w.bar);
		if (ht_audit(w.as) != 0)
			fail(&w, "round %d: audit: %s", r, ht_errdetail());
		/* back to no-MMU only with nothing in flight */
		if (r == BACK)
			set_mmu(&w, 0);
		(void) pthread_barrier_wait(&w.bar);
	}
	for (int i = 0; i < NWRITERS; i++)
		pthread_join(tid[i], NULL);
	atomic_store(&w.stop, 1);
	for (int i = NWRITERS; i < NWRITERS + NREADERS; i++)
		pthread_join(tid[i], NULL);
	cr_expect_eq(ht_unmap(w.as, WIN, w.span, HT_UNMAP_UNLOCK), 0);
	cr_expect_eq(ht_audit(w.as), 0, "audit: %s", ht_errdetail());
	ht_as_destroy(w.as);
	cr_expect_eq(ht_ctx_destroy(w.ctx), 0);
	cr_expect_eq(ht_arena_frames_used(w.arena), 0);
	ht_arena_destroy(w.arena);
	pthread_barrier_destroy(&w.bar);
	cr_assert_eq(atomic_load(&w.failures), 0, "%u failures; first: %s",
	    atomic_load(&w.failures), w.first);
}
