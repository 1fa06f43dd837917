/*
 * test_share_race.c - shared tables under concurrency.
 *
 * A source space maps and unmaps pages in a region of two level-0
 * tables' span, one thread; a second thread shares the region into a
 * sharer and unshares it again, round after round; a third translates
 * through the sharer all the while, and a fourth maps and unmaps the
 * sharer's own pages beside the region.  A translation through the sharer
 * must give either nothing or exactly the page the source maps there (the
 * source always maps page i to SRC_PA + i pages), never a torn or stale
 * frame.  Every TLB hook call must name a live space.  At the end both
 * spaces pass the audit, and once they are destroyed no frame is left in
 * the arena.  Every paging mode; built also as a plain program for
 * ThreadSanitizer (standalone.h).
 */
#include "stress.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "htable.h"

#define SRC_PA		(512 * MIB)
#define ROUNDS		2000

typedef struct race {
	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
	ht_as_t		*src, *sh;
	uint64_t	s1;		/* a level-0 table's span */
	ht_va_t		vs, vd;
	_Atomic int	stop;
	_Atomic long	bad;		/* wrong translations */
	_Atomic long	hooks, hooks_bad;
} race_t;

static void
tlb_hook(void *arg, ht_as_t *as, ht_va_t va, uint64_t len)
{
	race_t *r = arg;

	(void) va;
	(void) len;
	atomic_fetch_add(&r->hooks, 1);
	if (as != r->src && as != r->sh)
		atomic_fetch_add(&r->hooks_bad, 1);
}

/* The source: map and unmap its pages, page i always at SRC_PA + i. */
static void *
src_thread(void *arg)
{
	race_t *r = arg;
	uint64_t n = 2 * r->s1 / PG, x = 7;

	while (!atomic_load(&r->stop)) {
		uint64_t i = (x = x * 6364136223846793005ull + 1) % n;

		int rc = (x & 0x10000) ? ht_map(r->src, r->vs + i * PG,
		    SRC_PA + i * PG, PG, HT_W, 0) : ht_unmap(r->src,
		    r->vs + i * PG, PG, 0);

		if (rc != 0)
			atomic_fetch_add(&r->bad, 1);
	}
	return (NULL);
}

/* A reader of the sharer: nothing, or the source's page. */
static void *
reader_thread(void *arg)
{
	race_t *r = arg;
	uint64_t n = 2 * r->s1 / PG, i = 0;

	while (!atomic_load(&r->stop)) {
		ht_pa_t pa;
		int rc = ht_va2pa(r->sh, r->vd + i * PG + 8, &pa);

		if (rc == 0 && pa != SRC_PA + i * PG + 8)
			atomic_fetch_add(&r->bad, 1);
		else if (rc != 0 && rc != -HT_ENOTMAPPED)
			atomic_fetch_add(&r->bad, 1);
		i = (i + 1) % n;
	}
	return (NULL);
}

/* The sharer's own pages beside the region. */
static void *
own_thread(void *arg)
{
	race_t *r = arg;
	ht_va_t v = r->vd + 2 * r->s1;

	while (!atomic_load(&r->stop)) {
		if (ht_map(r->sh, v, 0, 4 * PG, HT_W, 0) != 0 ||
		    ht_unmap(r->sh, v, 4 * PG, 0) != 0)
			atomic_fetch_add(&r->bad, 1);
	}
	return (NULL);
}

static void
race_run(ht_mode_t mode)
{
	race_t r;
	ht_config_t cfg;
	pthread_t t[3];
	ht_share_info_t info;

	memset(&r, 0, sizeof (r));
	cr_assert_eq(ht_arena_create(1 * MIB, 64 * MIB, 0, &r.arena), 0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.ept = stress_ept(mode);
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = r.arena;
	cfg.tlb = tlb_hook;
	cfg.tlb_arg = &r;
	cr_assert_eq(ht_ctx_create(&cfg, &r.ctx), 0);
	cr_assert_eq(ht_as_create(r.ctx, 0, &r.src), 0);
	cr_assert_eq(ht_as_create(r.ctx, 0, &r.sh), 0);
	r.s1 = 1ull << ht_geometry(mode)->level_shift[1];
	r.vs = GIB;
	r.vd = 2 * GIB;

	cr_assert_eq(pthread_create(&t[0], NULL, src_thread, &r), 0);
	cr_assert_eq(pthread_create(&t[1], NULL, reader_thread, &r), 0);
	cr_assert_eq(pthread_create(&t[2], NULL, own_thread, &r), 0);
	for (int i = 0; i < ROUNDS; i++) {
		int rc = ht_share(r.sh, r.vd, r.src, r.vs, 2 * r.s1, &info);

		cr_assert_eq(rc, 0, "round %d: %s", i, ht_errdetail());
		cr_assert_eq(info.tables, 2, "round %d: tables %llu copied %llu", i, (unsigned long long)info.tables, (unsigned long long)info.copied);
		cr_assert_eq(ht_unshare(r.sh, r.vd, 2 * r.s1), 1);
	}
	cr_assert_eq(ht_share(r.sh, r.vd, r.src, r.vs, 2 * r.s1, &info), 0);
	atomic_store(&r.stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(atomic_load(&r.bad), 0, "%ld wrong answers",
	    atomic_load(&r.bad));
	cr_assert_eq(atomic_load(&r.hooks_bad), 0);
	cr_assert_eq(ht_audit(r.src), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_audit(r.sh), 0, "%s", ht_errdetail());
	/* the source goes first: the sharer's region ends with it */
	ht_as_destroy(r.src);
	cr_assert_eq(ht_audit(r.sh), 0, "%s", ht_errdetail());
	ht_as_destroy(r.sh);
	cr_assert_eq(ht_ctx_destroy(r.ctx), 0);
	cr_assert_eq(ht_arena_frames_used(r.arena), 0);
	ht_arena_destroy(r.arena);
}

STRESS_MODES(share_race, share_unshare)

ParameterizedTest(ht_mode_t *mode, share_race, share_unshare, .timeout = 300)
{
	race_run(*mode);
}
