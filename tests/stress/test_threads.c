/*
 * test_threads.c - many threads in one context.
 *
 * For each paging mode:
 *  - NSHARED threads map / unmap / protect / translate in their own 2 MiB
 *    region of ONE shared address space; the regions are adjacent, so the
 *    threads share every table above the lowest (in 32-bit mode pairs of
 *    threads even share the lowest one).  The shared space is
 *    HT_AS_NOSTEAL, so each thread checks its translations exactly against
 *    its own model after every operation.
 *  - NPRIV threads do the same in their own address spaces, in many small
 *    pieces (one table each).  The arena's frame limit is far below what
 *    they would need together, so allocations steal tables from the other
 *    private spaces: a private thread only checks that a translation is
 *    its model's value or unmapped.
 *  - one thread calls ht_ctx_reap, ht_ctx_stats and ht_ctx_dump_frames in
 *    a loop, and in 32-bit, 4-level and ept4 paging, where the context
 *    keeps a reverse map, ht_page_mappings and ht_page_sync; NREAD threads
 *    translate and walk everywhere.
 * At the end every space is audited and checked, then destroyed, and the
 * arena must have no frame left.
 *
 * stats_shards: 24 threads (more than the counter shards) count into the
 * context's statistics at once, each destroying its space when done; the
 * sums must be 24 times one thread's.
 *
 * A private thread or a reader that sees a translation of a stolen page
 * that is neither the model's value nor unmapped (for instance another
 * space's entry, read through a frame that a thief reused) fails the
 * test: a wrong answer is wrong even if a second translation corrects it.
 *
 * Threads never call Criterion's asserts (not thread-safe): the first
 * failure is recorded and the main thread reports it.  HT_STRESS_MS sets
 * the run time per test (default 1500 ms); HT_SEED fixes the seed.
 */
#include "stress.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "htable.h"


#define NSHARED		4
#define NPRIV		3
#define NREAD		2
#define REGION		(2 * MIB)
#define RPAGES		(REGION / PG)	/* pages per shared region */
#define NSLOT		64		/* private: pieces per space */
#define SPAGES		8		/* private: pages per piece */

#define SH_BASE		(1 * GIB)	/* 1 GiB aligned: one upper table */
#define PV_BASE		(256 * MIB)

/* HT_PAT only in EPT, where HT_PCD alone is no memory type (mode_attr) */
#define CHK		(HT_W | HT_U | HT_X | HT_G | HT_PCD | HT_PAT)

/* PA = VA + one of these (multiples of 4 MiB: large pages stay possible). */
static const uint64_t pa_offs[3] = { 0, 0x10000000, 0x20000000 };

typedef struct page {
	uint8_t		mapped;
	uint8_t		off;		/* index into pa_offs */
	uint16_t	attr;		/* HT_* as given (before eff) */
} page_t;

typedef struct world {
	ht_mode_t		mode;
	int			rmap;	/* the context keeps a reverse map */
	const ht_geometry_t	*g;
	ht_arena_t		*arena;
	ht_ctx_t		*ctx;
	ht_as_t			*shared;
	ht_as_t			*priv[NPRIV];
	uint64_t		seed;
	uint64_t		deadline_ns;
	atomic_int		stop;
	atomic_int		failed;
	atomic_ulong		ops_ok, ops_nofr, reads, reaps;
	pthread_mutex_t		msg_lock;
	char			msg[1024];
} world_t;

typedef struct worker {
	world_t		*w;
	int		id;
	ht_as_t		*as;
	ht_va_t		base;
	int		exact;		/* own space cannot be stolen from */
	unsigned	npages;
	page_t		*pages;
	uint64_t	rng;
	int		last_rc;	/* the last operation, for reports */
	ht_va_t		last_va;
	uint64_t	last_len;
} worker_t;

static world_t W;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

static uint64_t
rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (*s * 0x2545f4914f6cdd1dull);
}

static unsigned
rnd_below(uint64_t *s, unsigned n)
{
	return ((unsigned)(rnd(s) % n));
}

static void
tfail(world_t *w, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&w->msg_lock);
	if (atomic_load(&w->failed) == 0) {
		int n = snprintf(w->msg, sizeof (w->msg),
		    "mode %s seed 0x%llx: ", ht_mode_name(w->mode),
		    (unsigned long long)w->seed);

		va_start(ap, fmt);
		(void) vsnprintf(w->msg + n, sizeof (w->msg) - (size_t)n, fmt,
		    ap);
		va_end(ap);
		atomic_store(&w->failed, 1);
	}
	pthread_mutex_unlock(&w->msg_lock);
	atomic_store(&w->stop, 1);
}

static int
running(world_t *w)
{
	if (atomic_load(&w->stop))
		return (0);
	if (now_ns() >= w->deadline_ns) {
		atomic_store(&w->stop, 1);
		return (0);
	}
	return (1);
}

/*
 * Attributes as translate reports them: no NX bit means always X, and
 * nested paging's leaves always have U; EPT's rights (X and HT_U, its
 * user-mode execute, among them) are exactly those mapped.
 */
static unsigned
eff(const world_t *w, unsigned attr)
{
	if (mode_ept(w->g))
		return (attr & CHK);
	if (!w->g->has_nx)
		attr |= HT_X;
	if (mode_npt(w->g))
		attr |= HT_U;
	return (attr & CHK);
}

/*
 * The attributes a map gives, as the mode takes them: in EPT the cache
 * bits are a memory type, and HT_PCD alone would be type 2, which EPT
 * refuses: it becomes WB (HT_PCD | HT_PAT).  The other modes, and every
 * other set, as they are.
 */
static unsigned
mode_attr(const world_t *w, unsigned attr)
{
	if (mode_ept(w->g) && HT_EPT_MT_OF(attr) == 2)
		attr |= HT_PAT;
	return (attr);
}

/* Page index i of worker k: its VA. */
static ht_va_t
page_va(const worker_t *k, unsigned i)
{
	if (k->exact)
		return (k->base + (ht_va_t)i * PG);
	/* private: piece i / SPAGES in its own 4 MiB (own table in any mode) */
	return (k->base + (ht_va_t)(i / SPAGES) * 4 * MIB +
	    (ht_va_t)(i % SPAGES) * PG);
}

/* Does a translation agree with the model (or may it, for a victim)? */
static int
page_ok(const worker_t *k, const page_t *p, ht_va_t va, int rc,
    const ht_xlate_t *x)
{
	if (rc == -HT_ENOTMAPPED)
		return (!p->mapped || !k->exact);
	if (rc != 0 || !p->mapped)
		return (0);
	return (x->pa == va + pa_offs[p->off] &&
	    (x->attr & CHK) == eff(k->w, p->attr));
}

/* Check page i against the model; 0 or -1 (failure recorded). */
static int
check_page(worker_t *k, unsigned i, const char *after)
{
	world_t *w = k->w;
	const page_t *p = &k->pages[i];
	ht_va_t va = page_va(k, i);
	ht_xlate_t x, y;
	int rc = ht_translate(k->as, va, &x), r2;

	if (page_ok(k, p, va, rc, &x))
		return (0);
	/* look again: a transient answer is still wrong, but say so */
	r2 = ht_translate(k->as, va, &y);
	tfail(w, "thread %d (%s space) after %s [0x%llx, +0x%llx) -> %s: "
	    "va 0x%llx: %s pa 0x%llx "
	    "attr 0x%x; model: %s pa 0x%llx attr 0x%x; a second translate: "
	    "%s pa 0x%llx", k->id, k->exact ? "shared" : "private", after,
	    (unsigned long long)k->last_va, (unsigned long long)k->last_len,
	    ht_err_name(k->last_rc),
	    (unsigned long long)va, rc == 0 ? "mapped" : ht_err_name(rc),
	    rc == 0 ? (unsigned long long)x.pa : 0ull,
	    rc == 0 ? x.attr & CHK : 0, p->mapped ? "mapped" : "unmapped",
	    (unsigned long long)(va + pa_offs[p->off]), eff(w, p->attr),
	    r2 == 0 ? "mapped" : ht_err_name(r2),
	    r2 == 0 ? (unsigned long long)y.pa : 0ull);
	return (-1);
}

/* A random range of pages [a, b) of the worker (inside one piece). */
static void
pick_range(worker_t *k, unsigned *ra, unsigned *rb)
{
	unsigned a, n;

	if (k->exact) {
		switch (rnd_below(&k->rng, 8)) {
		case 0:		/* the whole region */
			*ra = 0;
			*rb = k->npages;
			return;
		case 1:		/* a long run */
			n = 1 + rnd_below(&k->rng, k->npages);
			break;
		case 2:		/* one page: the one-entry path (hat_one.c) */
		case 3:
			n = 1;
			break;
		default:
			n = 1 + rnd_below(&k->rng, 16);
			break;
		}
		a = rnd_below(&k->rng, k->npages);
		if (a + n > k->npages)
			n = k->npages - a;
	} else {
		unsigned s = rnd_below(&k->rng, NSLOT);
		unsigned o = rnd_below(&k->rng, SPAGES);

		a = s * SPAGES + o;
		n = 1 + rnd_below(&k->rng, SPAGES - o);
	}
	*ra = a;
	*rb = a + n;
}

static void *
worker_main(void *arg)
{
	worker_t *k = arg;
	world_t *w = k->w;

	while (running(w)) {
		unsigned a, b, op = rnd_below(&k->rng, 10);
		ht_va_t va;
		uint64_t len;
		const char *what;
		int rc;

		pick_range(k, &a, &b);
		va = page_va(k, a);
		len = (uint64_t)(b - a) * PG;
		if (op < 5) {
			unsigned off = rnd_below(&k->rng, 3);
			unsigned attr = mode_attr(w, (unsigned)rnd(&k->rng) &
			    (HT_W | HT_U | HT_X | HT_G | HT_PCD));
			unsigned flags = rnd_below(&k->rng, 4) == 0 ?
			    HT_MAP_SIZE(HT_PS_4K) : 0;

			what = "map";
			rc = ht_map(k->as, va, va + pa_offs[off], len, attr,
			    flags);
			if (rc == 0) {
				for (unsigned i = a; i < b; i++) {
					k->pages[i].mapped = 1;
					k->pages[i].off = (uint8_t)off;
					k->pages[i].attr = (uint16_t)attr;
				}
			}
		} else if (op < 8) {
			what = "unmap";
			rc = ht_unmap(k->as, va, len, 0);
			if (rc == 0)
				for (unsigned i = a; i < b; i++)
					k->pages[i].mapped = 0;
		} else if (op < 9) {
			unsigned prot = (unsigned)rnd(&k->rng) &
			    (HT_W | HT_U | HT_X);

			what = "protect";
			rc = ht_protect(k->as, va, len, prot);
			if (rc == 0)
				for (unsigned i = a; i < b; i++)
					k->pages[i].attr = (uint16_t)
					    ((k->pages[i].attr &
					    ~(HT_W | HT_U | HT_X)) | prot);
		} else {
			long n;

			what = "test_clear_ad";
			n = ht_harvest_ad(k->as, va, len, HT_A | HT_D, 1,
			    NULL, NULL);
			rc = n < 0 ? (int)n : 0;
			if (n > 0) {
				tfail(w, "thread %d: %ld A/D bits nobody set",
				    k->id, n);
				break;
			}
		}
		if (rc == -HT_ENOFRAME) {
			/* a failed call changes nothing */
			atomic_fetch_add(&w->ops_nofr, 1);
		} else if (rc != 0) {
			tfail(w, "thread %d: %s [0x%llx, +0x%llx): %s (%s)",
			    k->id, what, (unsigned long long)va,
			    (unsigned long long)len, ht_err_name(rc),
			    ht_errdetail());
			break;
		} else {
			atomic_fetch_add(&w->ops_ok, 1);
		}
		/* the pages of the op and its neighbours, and a few others */
		k->last_rc = rc;
		k->last_va = va;
		k->last_len = len;
		for (unsigned i = a > 0 ? a - 1 : a;
		    i < b + 1 && i < k->npages; i++)
			if (check_page(k, i, what) != 0)
				return (NULL);
		for (int j = 0; j < 4; j++)
			if (check_page(k, rnd_below(&k->rng, k->npages),
			    what) != 0)
				return (NULL);
	}
	return (NULL);
}

typedef struct walk_chk {
	world_t		*w;
	long		n;
	int		bad;
	ht_va_t		va;
	ht_pa_t		pa;
} walk_chk_t;

static int
pa_plausible(ht_va_t va, ht_pa_t pa)
{
	for (int i = 0; i < 3; i++)
		if (pa == va + pa_offs[i])
			return (1);
	return (0);
}

static int
walk_cb(void *arg, const ht_leaf_t *l)
{
	walk_chk_t *c = arg;

	c->n++;
	if (!pa_plausible(l->va, l->pa)) {
		c->bad = 1;
		c->va = l->va;
		c->pa = l->pa;
		return (1);
	}
	return (0);
}

/* Translate and walk anywhere; only plausibility can be checked. */
static void *
reader_main(void *arg)
{
	worker_t *k = arg;
	world_t *w = k->w;

	while (running(w)) {
		ht_as_t *as;
		ht_va_t va;
		ht_xlate_t x;
		int rc;

		if (rnd_below(&k->rng, 2) == 0) {
			as = w->shared;
			va = SH_BASE + (ht_va_t)rnd_below(&k->rng,
			    NSHARED * (unsigned)RPAGES) * PG;
		} else {
			as = w->priv[rnd_below(&k->rng, NPRIV)];
			va = PV_BASE + (ht_va_t)rnd_below(&k->rng, NSLOT) *
			    4 * MIB + (ht_va_t)rnd_below(&k->rng, SPAGES) * PG;
		}
		rc = ht_translate(as, va, &x);
		if (rc == 0 && !pa_plausible(va, x.pa)) {
			tfail(w, "reader: va 0x%llx -> pa 0x%llx",
			    (unsigned long long)va, (unsigned long long)x.pa);
			break;
		}
		if (rc != 0 && rc != -HT_ENOTMAPPED) {
			tfail(w, "reader: translate 0x%llx: %s",
			    (unsigned long long)va, ht_err_name(rc));
			break;
		}
		atomic_fetch_add(&w->reads, 1);
		if (rnd_below(&k->rng, 64) == 0) {
			walk_chk_t c = { w, 0, 0, 0, 0 };

			rc = ht_walk(as, as == w->shared ? SH_BASE : PV_BASE,
			    (as == w->shared ? SH_BASE + NSHARED * REGION :
			    PV_BASE + NSLOT * 4 * MIB) - 1, walk_cb, &c);
			if (rc < 0 || c.bad) {
				tfail(w, "reader: walk: %s, leaf 0x%llx -> "
				    "0x%llx", rc < 0 ? ht_err_name(rc) : "ok",
				    (unsigned long long)c.va,
				    (unsigned long long)c.pa);
				break;
			}
		}
	}
	return (NULL);
}

static void
dump_cb(void *arg, const ht_as_t *as, ht_pfn_t pfn, int level)
{
	world_t *w = arg;
	ht_pa_t pa = pfn << 12;

	(void) as;
	if (pa < ht_arena_base(w->arena) || pa - ht_arena_base(w->arena) >=
	    ht_arena_size(w->arena) || level < 0 ||
	    level >= (int)w->g->levels)
		tfail(w, "dump: frame 0x%llx level %d",
		    (unsigned long long)pa, level);
}

static void *
reaper_main(void *arg)
{
	world_t *w = arg;
	ht_stats_t st;

	while (running(w)) {
		long n = ht_ctx_reap(w->ctx);

		if (n < 0) {
			tfail(w, "reap: %ld", n);
			break;
		}
		ht_ctx_stats(w->ctx, &st);
		if (st.address_spaces != 1 + NPRIV) {
			tfail(w, "stats: %llu address spaces",
			    (unsigned long long)st.address_spaces);
			break;
		}
		if (ht_ctx_dump_frames(w->ctx, dump_cb, w) < 0) {
			tfail(w, "dump_frames failed");
			break;
		}
		/* the reverse map, looked up while the mappings change */
		for (int k = 0; w->rmap && k < 8; k++) {
			ht_pa_t pa = ((atomic_load(&w->reaps) * 7919 + (unsigned)k *
			    104729) % 65536) << 12;
			long n = ht_page_mappings(w->ctx, pa, NULL, NULL);

			if (n < 0 || ht_page_sync(w->ctx, pa, 0, NULL, NULL) < 0) {
				tfail(w, "page_mappings 0x%llx: %ld",
				    (unsigned long long)pa, n);
				break;
			}
		}
		atomic_fetch_add(&w->reaps, 1);
		{
			struct timespec ts = { 0, 200000 };

			nanosleep(&ts, NULL);
		}
	}
	return (NULL);
}

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);

	return (s != NULL && *s != '\0' ? strtoull(s, NULL, 0) : dflt);
}

STRESS_MODES(stress, threads)

ParameterizedTest(ht_mode_t *mode, stress, threads, .timeout = 120)
{
	world_t *w = &W;
	worker_t wk[NSHARED + NPRIV + NREAD];
	pthread_t tid[NSHARED + NPRIV + NREAD + 1];
	ht_config_t cfg;
	ht_stats_t st;
	int nt = 0;

	memset(w, 0, sizeof (*w));
	w->mode = *mode;
	w->g = ht_geometry(*mode);
	w->seed = env_u64("HT_SEED", now_ns() ^ ((uint64_t)*mode << 40));
	pthread_mutex_init(&w->msg_lock, NULL);
	cr_assert_eq(ht_arena_create(1 * MIB, 64 * MIB, 0, &w->arena), 0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = *mode;
	cfg.ept = stress_ept(*mode);
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = w->arena;
	cfg.reserve_amount = 16;
	/* the reverse map in some modes: kept under stealing, audited */
	w->rmap = cfg.rmap = *mode == HT_MODE_32BIT ||
	    *mode == HT_MODE_4LEVEL || *mode == HT_MODE_EPT4;
	cr_assert_eq(ht_ctx_create(&cfg, &w->ctx), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_as_create(w->ctx, HT_AS_NOSTEAL, &w->shared), 0);
	for (int i = 0; i < NPRIV; i++)
		cr_assert_eq(ht_as_create(w->ctx, 0, &w->priv[i]), 0);
	/*
	 * The private spaces would need about NPRIV * NSLOT level-0 tables;
	 * allow a third of that (plus the shared space's few): they steal
	 * from each other.
	 */
	ht_arena_set_limit(w->arena, ht_arena_frames_used(w->arena) + 16 +
	    NPRIV * NSLOT / 3);

	for (int i = 0; i < NSHARED + NPRIV + NREAD; i++) {
		worker_t *k = &wk[i];

		memset(k, 0, sizeof (*k));
		k->w = w;
		k->id = i;
		k->rng = w->seed * 0x9e3779b97f4a7c15ull + (uint64_t)i * 7919 +
		    1;
		if (i < NSHARED) {
			k->as = w->shared;
			k->base = SH_BASE + (ht_va_t)i * REGION;
			k->exact = 1;
			k->npages = RPAGES;
		} else if (i < NSHARED + NPRIV) {
			k->as = w->priv[i - NSHARED];
			k->base = PV_BASE;
			k->exact = 0;
			k->npages = NSLOT * SPAGES;
		}
		if (k->npages != 0) {
			k->pages = calloc(k->npages, sizeof (page_t));
			cr_assert_not_null(k->pages);
		}
	}
	w->deadline_ns = now_ns() + env_u64("HT_STRESS_MS", 1500) * 1000000ull;
	for (int i = 0; i < NSHARED + NPRIV; i++)
		cr_assert_eq(pthread_create(&tid[nt++], NULL, worker_main,
		    &wk[i]), 0);
	for (int i = NSHARED + NPRIV; i < NSHARED + NPRIV + NREAD; i++)
		cr_assert_eq(pthread_create(&tid[nt++], NULL, reader_main,
		    &wk[i]), 0);
	cr_assert_eq(pthread_create(&tid[nt++], NULL, reaper_main, w), 0);
	for (int i = 0; i < nt; i++)
		pthread_join(tid[i], NULL);

	cr_assert_eq(atomic_load(&w->failed), 0, "%s", w->msg);
	ht_ctx_stats(w->ctx, &st);
	cr_log_info("%s: %lu ops, %lu ENOFRAME, %lu reads, %lu reaps, "
	    "%llu steals, %llu stolen, %llu splits", ht_mode_name(*mode),
	    atomic_load(&w->ops_ok), atomic_load(&w->ops_nofr),
	    atomic_load(&w->reads), atomic_load(&w->reaps),
	    (unsigned long long)st.steals, (unsigned long long)st.stolen,
	    (unsigned long long)st.splits);
	cr_assert(atomic_load(&w->ops_ok) > 100, "only %lu operations",
	    atomic_load(&w->ops_ok));
	cr_assert(st.stolen > 0, "no table was stolen (seed 0x%llx)",
	    (unsigned long long)w->seed);

	/* quiet now: audit and check every page of every model */
	ht_arena_set_limit(w->arena, 0);
	cr_assert_eq(ht_audit(w->shared), 0, "%s", ht_errdetail());
	for (int i = 0; i < NPRIV; i++)
		cr_assert_eq(ht_audit(w->priv[i]), 0, "%s", ht_errdetail());
	for (int i = 0; i < NSHARED + NPRIV; i++)
		for (unsigned p = 0; p < wk[i].npages; p++)
			cr_assert_eq(check_page(&wk[i], p, "the end"), 0, "%s",
			    w->msg);
	/* the shared space's threads' regions hold nothing else */
	{
		walk_chk_t c = { w, 0, 0, 0, 0 };
		long want = 0;

		for (int i = 0; i < NSHARED; i++)
			for (unsigned p = 0; p < wk[i].npages; p++)
				want += wk[i].pages[p].mapped;
		cr_assert_eq(ht_walk(w->shared, SH_BASE,
		    SH_BASE + NSHARED * REGION - 1, walk_cb, &c), 0);
		cr_assert_eq(c.bad, 0);
		/* large leaves count once: at most `want` leaves */
		cr_assert(c.n <= want, "%ld leaves, %ld pages mapped", c.n,
		    want);
		cr_assert((c.n == 0) == (want == 0));
	}
	ht_as_destroy(w->shared);
	for (int i = 0; i < NPRIV; i++)
		ht_as_destroy(w->priv[i]);
	cr_assert_eq(ht_ctx_destroy(w->ctx), 0);
	cr_assert_eq(ht_arena_frames_used(w->arena), 0, "%llu frames left",
	    (unsigned long long)ht_arena_frames_used(w->arena));
	ht_arena_destroy(w->arena);
	for (int i = 0; i < NSHARED + NPRIV + NREAD; i++)
		free(wk[i].pages);
	pthread_mutex_destroy(&w->msg_lock);
}

/*
 * Address spaces come and go while others steal, reap, dump and count:
 * the list of spaces and the VICTIM handshake under churn.
 */
typedef struct churn {
	world_t		*w;
	int		id;
	uint64_t	rng;
	unsigned long	cycles;
} churn_t;

static void *
churn_main(void *arg)
{
	churn_t *c = arg;
	world_t *w = c->w;

	while (running(w)) {
		ht_as_t *as;
		/*
		 * Some spaces are NOSTEAL; every space is audited (ht_audit
		 * holds stealers off the space it checks).
		 */
		int nosteal = rnd_below(&c->rng, 8) == 0;
		int rc = ht_as_create(w->ctx, nosteal ? HT_AS_NOSTEAL : 0, &as);
		unsigned n = 1 + rnd_below(&c->rng, 24);

		if (rc == -HT_ENOFRAME)
			continue;
		if (rc != 0) {
			tfail(w, "churn %d: as_create: %s", c->id,
			    ht_err_name(rc));
			break;
		}
		for (unsigned i = 0; i < n; i++) {
			ht_va_t va = (ht_va_t)rnd_below(&c->rng, 256) * 4 * MIB;

			rc = ht_map(as, va, va, PG * (1 + rnd_below(&c->rng,
			    4)), HT_W, rnd_below(&c->rng, 8) == 0 ?
			    HT_MAP_LOCK : 0);
			if (rc != 0 && rc != -HT_ENOFRAME &&
			    rc != -HT_ELOCKED) {
				tfail(w, "churn %d: map: %s", c->id,
				    ht_err_name(rc));
				break;
			}
		}
		if (rnd_below(&c->rng, 4) == 0)
			(void) ht_as_purge(as);
		if (ht_audit(as) != 0)
			tfail(w, "churn %d: audit: %s", c->id, ht_errdetail());
		ht_as_destroy(as);
		c->cycles++;
	}
	return (NULL);
}

static void *
churn_watch(void *arg)
{
	world_t *w = arg;

	while (running(w)) {
		ht_stats_t st;

		(void) ht_ctx_reap(w->ctx);
		ht_ctx_stats(w->ctx, &st);
		(void) ht_ctx_dump_frames(w->ctx, dump_cb, w);
	}
	return (NULL);
}

STRESS_MODES(stress, churn)

ParameterizedTest(ht_mode_t *mode, stress, churn, .timeout = 120)
{
	world_t *w = &W;
	churn_t c[4];
	pthread_t tid[5];
	ht_config_t cfg;
	unsigned long cycles = 0;

	memset(w, 0, sizeof (*w));
	w->mode = *mode;
	w->g = ht_geometry(*mode);
	w->seed = env_u64("HT_SEED", now_ns() ^ ((uint64_t)*mode << 40));
	pthread_mutex_init(&w->msg_lock, NULL);
	cr_assert_eq(ht_arena_create(1 * MIB, 64 * MIB, 120, &w->arena), 0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = *mode;
	cfg.ept = stress_ept(*mode);
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = w->arena;
	cfg.force_steal = 7;
	cr_assert_eq(ht_ctx_create(&cfg, &w->ctx), 0, "%s", ht_errdetail());
	w->deadline_ns = now_ns() + env_u64("HT_STRESS_MS", 1500) * 1000000ull;
	for (int i = 0; i < 4; i++) {
		c[i].w = w;
		c[i].id = i;
		c[i].rng = w->seed + (uint64_t)i * 104729 + 1;
		c[i].cycles = 0;
		cr_assert_eq(pthread_create(&tid[i], NULL, churn_main, &c[i]),
		    0);
	}
	cr_assert_eq(pthread_create(&tid[4], NULL, churn_watch, w), 0);
	for (int i = 0; i < 5; i++)
		pthread_join(tid[i], NULL);
	cr_assert_eq(atomic_load(&w->failed), 0, "%s", w->msg);
	for (int i = 0; i < 4; i++)
		cycles += c[i].cycles;
	cr_assert(cycles > 10, "%lu cycles", cycles);
	cr_assert_eq(ht_ctx_destroy(w->ctx), 0);
	cr_assert_eq(ht_arena_frames_used(w->arena), 0);
	ht_arena_destroy(w->arena);
	pthread_mutex_destroy(&w->msg_lock);
}

/*
 * The context's statistics are counted per thread shard (types.h,
 * ctx_stat) and summed by ht_ctx_stats: what many threads count at once
 * must add up to what one thread counts, times the threads, with more
 * threads than shards (the rest share shard 0 with atomic adds).  Each
 * thread makes, empties and remakes the tables of 8 MiB of its own space
 * (frames from the provider, then from the space's cache) and protects
 * and unmaps it (TLB hook calls): the same counts in every thread.
 */
#define NSTAT		24	/* more than the 15 owned shards */
#define STAT_LEN	(8 * MIB)

static void
stat_tlb(void *arg, ht_as_t *as, ht_va_t va, uint64_t len)
{
	(void) arg;
	(void) as;
	(void) va;
	(void) len;
}

typedef struct stat_worker {
	ht_ctx_t	*ctx;
	pthread_barrier_t *go;
	int		rc;		/* the first failure, or 0 */
} stat_worker_t;

static void *
stat_main(void *arg)
{
	stat_worker_t *s = arg;
	ht_as_t *as = NULL;
	int rc;

	if (s->go != NULL)
		(void) pthread_barrier_wait(s->go);
	if ((rc = ht_as_create(s->ctx, 0, &as)) == 0 &&
	    (rc = ht_map(as, GIB, GIB, STAT_LEN, HT_W,
	    HT_MAP_SIZE(HT_PS_4K))) == 0 &&
	    (rc = ht_unmap(as, GIB, STAT_LEN, 0)) == 0 &&
	    (rc = ht_map(as, GIB, GIB, STAT_LEN, HT_W,
	    HT_MAP_SIZE(HT_PS_4K))) == 0 &&
	    (rc = ht_protect(as, GIB, STAT_LEN, 0)) == 0)
		rc = ht_unmap(as, GIB, STAT_LEN, 0);
	/*
	 * Destroyed while the others still work: a space's destruction
	 * must not send their tables to the provider instead of their
	 * caches (it held off caching in the whole context once: 4 runs
	 * in 30 counted more frame allocations than 24 times one thread).
	 */
	if (as != NULL)
		ht_as_destroy(as);
	s->rc = rc;
	return (NULL);
}

static ht_mode_t stat_modes[1] = { HT_MODE_4LEVEL };

ParameterizedTestParameters(stress, stats_shards)
{
	return (cr_make_param_array(ht_mode_t, stat_modes, 1));
}

ParameterizedTest(ht_mode_t *mode, stress, stats_shards, .timeout = 120)
{
	stat_worker_t one, many[NSTAT];
	pthread_t tid[NSTAT];
	pthread_barrier_t go;
	ht_stats_t s0, s1, s2;
	ht_arena_t *arena;
	ht_config_t cfg;
	ht_ctx_t *ctx;

	cr_assert_eq(ht_arena_create(1 * MIB, 256 * MIB, 0, &arena), 0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = *mode;
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = arena;
	cfg.tlb = stat_tlb;
	cr_assert_eq(ht_ctx_create(&cfg, &ctx), 0, "%s", ht_errdetail());
	ht_ctx_stats(ctx, &s0);
	/* one thread: what each of the many counts */
	one = (stat_worker_t){ ctx, NULL, 0 };
	cr_assert_eq(pthread_create(&tid[0], NULL, stat_main, &one), 0);
	pthread_join(tid[0], NULL);
	cr_assert_eq(one.rc, 0, "%s", ht_err_name(one.rc));
	ht_ctx_stats(ctx, &s1);
	cr_assert(s1.cache_hits > s0.cache_hits);
	cr_assert(s1.tlb_calls > s0.tlb_calls);
	cr_assert_eq(pthread_barrier_init(&go, NULL, NSTAT), 0);
	for (int i = 0; i < NSTAT; i++) {
		many[i] = (stat_worker_t){ ctx, &go, 0 };
		cr_assert_eq(pthread_create(&tid[i], NULL, stat_main,
		    &many[i]), 0);
	}
	for (int i = 0; i < NSTAT; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&go);
	for (int i = 0; i < NSTAT; i++)
		cr_assert_eq(many[i].rc, 0, "thread %d: %s", i,
		    ht_err_name(many[i].rc));
	ht_stats_t d1 = s1;
	ht_ctx_stats(ctx, &s2);
	cr_assert_eq(s2.ptable_allocs - d1.ptable_allocs,
	    NSTAT * (d1.ptable_allocs - s0.ptable_allocs));
	cr_assert_eq(s2.ptable_frees - d1.ptable_frees,
	    NSTAT * (d1.ptable_frees - s0.ptable_frees));
	cr_assert_eq(s2.cache_hits - d1.cache_hits,
	    NSTAT * (d1.cache_hits - s0.cache_hits));
	cr_assert_eq(s2.tlb_calls - d1.tlb_calls,
	    NSTAT * (d1.tlb_calls - s0.tlb_calls));
	cr_assert_eq(ht_ctx_destroy(ctx), 0);
	cr_assert_eq(ht_arena_frames_used(arena), 0);
	ht_arena_destroy(arena);
}
