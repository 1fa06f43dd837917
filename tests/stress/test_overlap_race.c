/*
 * test_overlap_race.c - calls on OVERLAPPING ranges of one live space.
 *
 * The concurrency contract (htable.h) leaves it to the caller to order
 * such calls, but promises that the library's own structures stay
 * consistent: which call wins is unspecified, the counts are not.  Four
 * threads map, unmap and protect random runs of 4 KiB pages and whole
 * large pages inside one window of two large pages, so that they keep
 * filling the same empty entries at once (the bulk fill, the one-entry
 * path), removing what another just made, and replacing large pages by
 * tables and back.  Every mapping is va -> va + PA_OFF, so any translation
 * a reader sees must be exactly that or nothing.  At the end ht_audit must
 * pass (every table's valid count equals its valid entries, the leaf
 * counts match), everything is unmapped and no frame is left.  Every
 * paging mode; built also as a plain program for ThreadSanitizer.
 */
#include "stress.h"

#define WIN		(1 * GIB)
#define PA_OFF		(1 * GIB)
#define NTHREADS	4
#define OPS		4000
/*
 * leaf_vs_link's rounds: enough to hit its window in every run without
 * the fix; the plain program is built for ThreadSanitizer, where a call
 * costs about 100 times as much and the overlap, not the count, matters.
 */
#ifdef HT_STANDALONE
#define FLIPS		3000
#else
#define FLIPS		100000
#endif

typedef struct world {
	ht_as_t		*as;
	uint64_t	l1;		/* the level-1 page size */
	_Atomic long	bad;
	_Atomic int	stop;
} world_t;

typedef struct worker {
	world_t		*w;
	uint64_t	rng;
} worker_t;

static uint64_t
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (*s >> 33);
}

static void *
writer(void *arg)
{
	worker_t *k = arg;
	world_t *w = k->w;
	uint64_t pages = 2 * w->l1 / PG;

	for (int i = 0; i < OPS; i++) {
		uint64_t r = rnd(&k->rng), va, len;
		int rc;

		if (r % 8 == 0) {		/* a whole large page */
			va = WIN + (r / 8 % 2) * w->l1;
			len = w->l1;
		} else {			/* a short run, often one page */
			uint64_t n = r % 3 == 0 ? 1 + r / 3 % 8 : 1;
			uint64_t a = r / 24 % pages;

			if (a + n > pages)
				n = pages - a;
			va = WIN + a * PG;
			len = n * PG;
		}
		switch (rnd(&k->rng) % 4) {
		case 0:
		case 1:
			rc = ht_map(w->as, va, va + PA_OFF, len, HT_W, 0);
			break;
		case 2:
			rc = ht_unmap(w->as, va, len, 0);
			break;
		default:
			rc = ht_protect(w->as, va, len, (r & 1) ? HT_W : 0);
			break;
		}
		if (rc != 0)
			atomic_fetch_add(&w->bad, 1);
	}
	return (NULL);
}

static void *
reader(void *arg)
{
	world_t *w = arg;
	uint64_t s = 99;

	while (!atomic_load(&w->stop)) {
		ht_va_t va = WIN + rnd(&s) % (2 * w->l1 / PG) * PG + 8;

		if (xlate_wrong(w->as, va, PA_OFF))
			atomic_fetch_add(&w->bad, 1);
	}
	return (NULL);
}

/* A space that no stealer touches, in a context and arena of its own. */
static ht_as_t *
space_new(ht_mode_t mode, ht_arena_t **r_arena, ht_ctx_t **r_ctx)
{
	ht_config_t cfg;
	ht_as_t *as;

	cr_assert_eq(ht_arena_create(1 * MIB, 64 * MIB, 0, r_arena), 0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.ept = stress_ept(mode);
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = *r_arena;
	cr_assert_eq(ht_ctx_create(&cfg, r_ctx), 0);
	cr_assert_eq(ht_as_create(*r_ctx, HT_AS_NOSTEAL, &as), 0);
	return (as);
}

STRESS_MODES(overlap, race)

ParameterizedTest(ht_mode_t *mode, overlap, race, .timeout = 300)
{
	static world_t w;
	worker_t k[NTHREADS];
	pthread_t t[NTHREADS], rt;
	ht_arena_t *arena;
	ht_ctx_t *ctx;
	ht_stats_t st;

	memset(&w, 0, sizeof (w));
	w.as = space_new(*mode, &arena, &ctx);
	w.l1 = 1ull << ht_geometry(*mode)->level_shift[1];
	cr_assert_eq(pthread_create(&rt, NULL, reader, &w), 0);
	for (int i = 0; i < NTHREADS; i++) {
		k[i].w = &w;
		k[i].rng = 0x1234567ull * (uint64_t)(i + 1);
		cr_assert_eq(pthread_create(&t[i], NULL, writer, &k[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	atomic_store(&w.stop, 1);
	cr_assert_eq(pthread_join(rt, NULL), 0);
	cr_assert_eq(atomic_load(&w.bad), 0, "%ld calls failed or read "
	    "wrong", atomic_load(&w.bad));
	cr_assert_eq(ht_audit(w.as), 0, "%s: audit after overlapping calls: "
	    "%s", ht_mode_name(*mode), ht_errdetail());
	cr_assert_eq(ht_unmap(w.as, WIN, 2 * w.l1, 0), 0);
	cr_assert_eq(ht_audit(w.as), 0, "audit when empty: %s",
	    ht_errdetail());
	ht_as_destroy(w.as);
	ht_ctx_stats(ctx, &st);
	cr_assert_eq(st.tables[0] + st.tables[1], 0, "tables left");
	cr_assert_eq(ht_ctx_destroy(ctx), 0);
	ht_arena_destroy(arena);
}

/*
 * The narrowest of those windows, made wide: one thread keeps replacing a
 * large leaf by another (its protection flips, so the entry is never
 * empty when the map looks at it), while the other unmaps it and maps one
 * 4 KiB page there, which links a new table into the same entry.  A map
 * that loaded the leaf and then found the link must leave the link alone
 * and count nothing: the links' and leaves' counts stay exact (ht_audit),
 * and the lock count, which nothing here locks, stays 0.
 */
typedef struct flip {
	ht_as_t		*as;
	uint64_t	l1;
	unsigned	ps;		/* HT_PS_ of l1 */
	_Atomic long	bad;
	_Atomic int	stop;
} flip_t;

static void *
flip_large(void *arg)
{
	flip_t *f = arg;

	for (unsigned i = 0; !atomic_load(&f->stop); i++) {
		if (ht_map(f->as, WIN, WIN + PA_OFF, f->l1, (i & 1) ? HT_W : 0,
		    HT_MAP_SIZE(f->ps)) != 0)
			atomic_fetch_add(&f->bad, 1);
	}
	return (NULL);
}

STRESS_MODES(overlap, leaf_vs_link)

ParameterizedTest(ht_mode_t *mode, overlap, leaf_vs_link, .timeout = 300)
{
	static flip_t f;
	pthread_t t;
	ht_arena_t *arena;
	ht_ctx_t *ctx;

	memset(&f, 0, sizeof (f));
	f.as = space_new(*mode, &arena, &ctx);
	f.l1 = 1ull << ht_geometry(*mode)->level_shift[1];
	f.ps = *mode == HT_MODE_32BIT ? HT_PS_4M : HT_PS_2M;
	cr_assert_eq(ht_map(f.as, WIN, WIN + PA_OFF, f.l1, HT_W,
	    HT_MAP_SIZE(f.ps)), 0);
	cr_assert_eq(pthread_create(&t, NULL, flip_large, &f), 0);
	for (int i = 0; i < FLIPS; i++) {
		if (ht_unmap(f.as, WIN, f.l1, 0) != 0 ||
		    ht_map(f.as, WIN + (uint64_t)(i % 512) * PG, WIN + PA_OFF +
		    (uint64_t)(i % 512) * PG, PG, HT_W, 0) != 0)
			atomic_fetch_add(&f.bad, 1);
	}
	atomic_store(&f.stop, 1);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(atomic_load(&f.bad), 0, "%ld calls failed",
	    atomic_load(&f.bad));
	cr_assert_eq(ht_audit(f.as), 0, "%s: audit after the flips: %s",
	    ht_mode_name(*mode), ht_errdetail());
	cr_assert_eq(ht_unmap(f.as, WIN, f.l1, 0), 0);
	cr_assert_eq(ht_audit(f.as), 0, "audit when empty: %s",
	    ht_errdetail());
	ht_as_destroy(f.as);
	cr_assert_eq(ht_ctx_destroy(ctx), 0);
	ht_arena_destroy(arena);
}
