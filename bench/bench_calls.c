/*
 * bench_calls.c - one page per call, as a fault handler calls (issue 13):
 * map, unmap and protect of single 4 KiB pages in random order over
 * 1 GiB, and of single 2 MiB pages; and the same random 4 KiB maps from
 * one and two threads, into disjoint 1 GiB ranges of one space or of two
 * spaces of one context.
 *
 * The threaded lines come three times: into fresh spaces (`_rand`: every
 * table made on the way, as first faults make them: the provider's lock
 * and the context's frame lock are shared); into spaces whose tables
 * were emptied before (`_cached`: each table comes back from the space's
 * cache of free tables, the fault path after a large unmap); and into
 * spaces whose tables exist (`_steady`: one page of each level-0 table
 * stays mapped, and the threads map the other 511, so no table is made
 * or freed: the fault path of a space that runs).
 *
 * Figures are ns per call.  For the threaded lines a sample is the wall
 * time of all threads' calls divided by the number of calls, so two
 * threads that scale perfectly show half the one-thread figure.  In
 * every two-thread line each thread then makes the same calls once more
 * alone, the other waiting, on its own CPU, and a note gives both times
 * and the scaling against those solo runs: the two vCPUs of this
 * machine often run at different speeds (another tenant of the host),
 * and the one-thread line runs on one of them only.  In the `_cached`
 * and `_steady` lines both the joint run and each solo run follow an
 * untimed pass over the thread's calls and a reset; a `_rand` solo run
 * maps into a new space of its own, so that its tables come from the
 * provider as the joint run's did.  `floor_private_t2` is the
 * machine's own limit for two threads (its function's comment);
 * `bench/threads.sh` runs these lines beside two processes that share
 * nothing.  Setting up is never timed; every return
 * value is checked.  The `_nommu` lines do the same calls in a space
 * made HT_AS_NOMMU (no MMU walks it yet), the `_serial` lines in an
 * HT_AS_SERIAL one (the caller serializes its calls, so a one-entry call
 * takes no lock), live or with no MMU; the `_serial` thread lines give
 * each thread a serial space of its own.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <htable.h>

#include "bench.h"
#include "bench-list.h"
#include "bench_env.h"

#define ARENA_BASE	((ht_pa_t)1 << 30)
#define ARENA_SIZE	((uint64_t)128 << 20)
#define PA_BASE		((ht_pa_t)0x10000000000ull)	/* 1 TiB, untouched */
#define VA_BASE		((ht_va_t)0x100000000000ull)	/* 16 TiB */
#define GIB		((uint64_t)1 << 30)
#define NPAGES		262144u		/* 4 KiB pages in 1 GiB */
#define NLARGE		512u		/* 2 MiB pages in 1 GiB */
#define LREPEAT		64u		/* 2 MiB passes per sample */

static void
env_init(env_t *e)
{
	env_init_cfg(e, ARENA_BASE, ARENA_SIZE, NULL);
}

/* The pages of 1 GiB in a fixed random order. */
static uint32_t *
shuffled(uint32_t n, uint64_t seed)
{
	uint32_t *p = bench_alloc(sizeof (uint32_t) * n);

	for (uint32_t i = 0; i < n; i++)
		p[i] = i;
	bench_shuffle(p, n, &seed);
	return (p);
}

typedef enum { W_MAP, W_UNMAP, W_PROTECT } work_t;

/*
 * One sample of `what` over the n pages of `size` at va, in the order
 * perm (NULL: ascending): the range is mapped (or emptied) first, untimed,
 * as the work needs.  Returns ns for all calls.
 */
static uint64_t
sample(ht_as_t *as, ht_va_t va, uint64_t size, uint32_t n,
    const uint32_t *perm, work_t what)
{
	unsigned ps = size == 4096 ? HT_PS_4K : HT_PS_2M;
	uint64_t t0, ns;

	if (what == W_MAP)
		CHECK(ht_unmap(as, va, (uint64_t)n * size, 0));
	else
		CHECK(ht_map(as, va, PA_BASE, (uint64_t)n * size, HT_W,
		    HT_MAP_SIZE(ps)));
	t0 = bench_now();
	for (uint32_t i = 0; i < n; i++) {
		uint64_t off = (uint64_t)(perm != NULL ? perm[i] : i) * size;

		switch (what) {
		case W_MAP:
			CHECK(ht_map(as, va + off, PA_BASE + off, size, HT_W,
			    HT_MAP_SIZE(ps)));
			break;
		case W_UNMAP:
			CHECK(ht_unmap(as, va + off, size, 0));
			break;
		default:
			/* mapped HT_W above: every call takes W away */
			CHECK(ht_protect(as, va + off, size, 0));
			break;
		}
	}
	ns = bench_now() - t0;
	if (what == W_PROTECT) {
		ht_xlate_t x;

		CHECK(ht_translate(as, va, &x));
		if (x.attr & HT_W)
			bench_die("ht_protect left 0x%" PRIx64 " writable", va);
	}
	return (ns);
}

static int
run_calls_as(bench_run_t *r, uint64_t size, int random, work_t what,
    unsigned flags)
{
	uint32_t n = size == 4096 ? NPAGES : NLARGE;
	unsigned passes = size == 4096 ? 1 : LREPEAT;
	uint32_t *perm = random ? shuffled(n, 7) : NULL;
	env_t e;
	ht_as_t *as;
	int s;

	env_init(&e);
	CHECK(ht_as_create(e.ctx, flags, &as));
	r->ops = (uint64_t)n * passes;
	for (s = -r->warmup; s < r->reps; s++) {
		uint64_t ns = 0;

		for (unsigned p = 0; p < passes; p++)
			ns += sample(as, VA_BASE, size, n, perm, what);
		if (s >= 0)
			r->ns[s] = (double)ns / (double)r->ops;
	}
	ht_as_destroy(as);
	env_fini(&e);
	free(perm);
	return (0);
}

static int
run_calls(bench_run_t *r, uint64_t size, int random, work_t what)
{
	return (run_calls_as(r, size, random, what, 0));
}

int
bench_map_1page_rand_4k(bench_run_t *r)
{
	return (run_calls(r, 4096, 1, W_MAP));
}

int
bench_unmap_1page_rand_4k(bench_run_t *r)
{
	return (run_calls(r, 4096, 1, W_UNMAP));
}

int
bench_protect_1page_4k(bench_run_t *r)
{
	return (run_calls(r, 4096, 0, W_PROTECT));
}

int
bench_map_1page_2m(bench_run_t *r)
{
	return (run_calls(r, 2 << 20, 0, W_MAP));
}

int
bench_unmap_1page_2m(bench_run_t *r)
{
	return (run_calls(r, 2 << 20, 0, W_UNMAP));
}

int
bench_protect_1page_2m(bench_run_t *r)
{
	return (run_calls(r, 2 << 20, 0, W_PROTECT));
}

int
bench_map_1page_rand_4k_nommu(bench_run_t *r)
{
	return (run_calls_as(r, 4096, 1, W_MAP, HT_AS_NOMMU));
}

int
bench_unmap_1page_rand_4k_nommu(bench_run_t *r)
{
	return (run_calls_as(r, 4096, 1, W_UNMAP, HT_AS_NOMMU));
}

int
bench_protect_1page_4k_nommu(bench_run_t *r)
{
	return (run_calls_as(r, 4096, 0, W_PROTECT, HT_AS_NOMMU));
}

int
bench_unmap_1page_2m_nommu(bench_run_t *r)
{
	return (run_calls_as(r, 2 << 20, 0, W_UNMAP, HT_AS_NOMMU));
}

int
bench_protect_1page_2m_nommu(bench_run_t *r)
{
	return (run_calls_as(r, 2 << 20, 0, W_PROTECT, HT_AS_NOMMU));
}

int
bench_map_1page_4k_serial(bench_run_t *r)
{
	return (run_calls_as(r, 4096, 0, W_MAP, HT_AS_SERIAL));
}

int
bench_unmap_1page_4k_serial(bench_run_t *r)
{
	return (run_calls_as(r, 4096, 0, W_UNMAP, HT_AS_SERIAL));
}

int
bench_protect_1page_4k_serial(bench_run_t *r)
{
	return (run_calls_as(r, 4096, 0, W_PROTECT, HT_AS_SERIAL));
}

int
bench_map_1page_rand_4k_serial(bench_run_t *r)
{
	return (run_calls_as(r, 4096, 1, W_MAP, HT_AS_SERIAL));
}

int
bench_map_1page_2m_serial(bench_run_t *r)
{
	return (run_calls_as(r, 2 << 20, 0, W_MAP, HT_AS_SERIAL));
}

int
bench_unmap_1page_2m_serial(bench_run_t *r)
{
	return (run_calls_as(r, 2 << 20, 0, W_UNMAP, HT_AS_SERIAL));
}

int
bench_protect_1page_2m_serial(bench_run_t *r)
{
	return (run_calls_as(r, 2 << 20, 0, W_PROTECT, HT_AS_SERIAL));
}

int
bench_map_1page_4k_serial_nommu(bench_run_t *r)
{
	return (run_calls_as(r, 4096, 0, W_MAP, HT_AS_SERIAL | HT_AS_NOMMU));
}

int
bench_unmap_1page_4k_serial_nommu(bench_run_t *r)
{
	return (run_calls_as(r, 4096, 0, W_UNMAP, HT_AS_SERIAL | HT_AS_NOMMU));
}

int
bench_protect_1page_4k_serial_nommu(bench_run_t *r)
{
	return (run_calls_as(r, 4096, 0, W_PROTECT, HT_AS_SERIAL | HT_AS_NOMMU));
}

int
bench_unmap_1page_2m_serial_nommu(bench_run_t *r)
{
	return (run_calls_as(r, 2 << 20, 0, W_UNMAP, HT_AS_SERIAL |
	    HT_AS_NOMMU));
}

int
bench_protect_1page_2m_serial_nommu(bench_run_t *r)
{
	return (run_calls_as(r, 2 << 20, 0, W_PROTECT, HT_AS_SERIAL |
	    HT_AS_NOMMU));
}

/* ------------------------------------------------------------------ */
/* Threads                                                             */
/* ------------------------------------------------------------------ */

/* How the threads find the space (the file's head comment). */
typedef enum { T_FRESH, T_CACHED, T_STEADY, T_PRIVATE } tables_t;

typedef struct worker {
	ht_as_t			*as;
	ht_ctx_t		*ctx;	/* T_FRESH's solo run: its space's */
	unsigned		flags;	/* and its flags */
	ht_va_t			va;	/* its own 1 GiB */
	const uint32_t		*perm;
	pthread_barrier_t	*start;
	/* the solo runs: whose turn it is, and how many are ready */
	_Atomic unsigned	*solo_turn;
	unsigned		idx, nthreads;
	int			cpu;
	tables_t		tab;	/* what it prepares, untimed */
	_Atomic uint64_t	*mem;	/* T_PRIVATE: its own 512 tables */
	uint32_t		ncalls;	/* the calls it made */
	uint64_t		t0, t1;	/* its own clock around them */
	double			solo;	/* ns a call alone, or 0 */
} worker_t;

/* A spinning wait's step: the other hyperthread gets the core. */
static inline void
spin_pause(void)
{
	__builtin_ia32_pause();
}

/* The timed calls of one run of w: the ns of each, by its own clock. */
static uint32_t
worker_calls(worker_t *w, uint64_t *r_t0, uint64_t *r_t1)
{
	uint32_t n = 0;

	*r_t0 = bench_now();
	for (uint32_t i = 0; w->tab == T_PRIVATE && i < NPAGES; i++) {
		_Atomic uint64_t *p = &w->mem[w->perm[i]];

		/* a map's entry work alone: an empty entry, a release store */
		if ((w->perm[i] & 511) != 0 && atomic_load_explicit(p,
		    memory_order_relaxed) == 0) {
			atomic_store_explicit(p, PA_BASE + (uint64_t)w->perm[i] *
			    4096 + 0x63, memory_order_release);
			n++;
		}
	}
	for (uint32_t i = 0; w->tab != T_PRIVATE && i < NPAGES; i++) {
		uint64_t off = (uint64_t)w->perm[i] * 4096;

		if (w->tab == T_STEADY && (w->perm[i] & 511) == 0)
			continue;	/* mapped: it keeps the table */
		CHECK(ht_map(w->as, w->va + off, PA_BASE + off, 4096, HT_W, 0));
		n++;
	}
	*r_t1 = bench_now();
	return (n);
}

/*
 * Back to the state before the timed calls, untimed: steady, every page
 * but the kept one of each table unmapped (the tables stay); cached, the
 * whole GiB (its tables go to the space's cache).
 */
static void
worker_reset(worker_t *w)
{
	if (w->tab == T_CACHED) {
		CHECK(ht_unmap(w->as, w->va, GIB, 0));
		return;
	}
	if (w->tab == T_PRIVATE) {
		for (uint32_t i = 0; i < NPAGES; i++)
			if ((i & 511) != 0)
				atomic_store_explicit(&w->mem[i], 0,
				    memory_order_relaxed);
		return;
	}
	for (uint64_t o = 0; o < GIB; o += 2 << 20)
		CHECK(ht_unmap(w->as, w->va + o + 4096, (2 << 20) - 4096, 0));
}


static void *
worker_main(void *arg)
{
	worker_t *w = arg;
	cpu_set_t set;

	if (w->cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		(void) pthread_setaffinity_np(pthread_self(), sizeof (set),
		    &set);
	}
	double solo = 0;
	uint32_t n;
	uint64_t t0, t1;

	/*
	 * Its own range is prepared here, on its own CPU, as a vCPU
	 * thread's faults make its tables: prepared by another thread,
	 * every line of entries would first come over from that thread's
	 * core (about 25 ns a call, measured when the main thread did it).
	 */
	if (w->tab == T_PRIVATE) {
		/* touched on this CPU, and one untimed pass to warm it */
		w->mem = bench_alloc(sizeof (*w->mem) * NPAGES);
		for (uint32_t i = 0; i < NPAGES; i++)
			atomic_init(&w->mem[i], (uint64_t)((i & 511) == 0));
		(void) worker_calls(w, &t0, &t1);
		worker_reset(w);
	} else if (w->tab != T_FRESH) {
		CHECK(ht_map(w->as, w->va, PA_BASE, GIB, HT_W,
		    HT_MAP_SIZE(HT_PS_4K)));
		CHECK(ht_unmap(w->as, w->va, GIB, 0));
	}
	for (uint64_t o = 0; w->tab == T_STEADY && o < GIB; o += 2 << 20)
		CHECK(ht_map(w->as, w->va + o, PA_BASE + o, 4096, HT_W, 0));
	/*
	 * One untimed pass and the reset, as each solo run below follows a
	 * pass and its reset: the joint run then starts from the state the
	 * solo runs start from.  Started right after the preparation, its
	 * first eighth of calls took up to 2.3x the time of its last eighth
	 * while the entries came back into the caches, which the solo runs
	 * never paid.
	 */
	if (w->tab == T_CACHED || w->tab == T_STEADY) {
		(void) worker_calls(w, &t0, &t1);
		worker_reset(w);
	}
	(void) pthread_barrier_wait(w->start);
	n = worker_calls(w, &t0, &t1);
	/*
	 * Then each thread alone, the others waiting, on the same CPU and
	 * with the same tables a moment later: a thread that is slower
	 * beside the others than alone shares something with them; one
	 * that is slow both ways has a slower CPU (another tenant of the
	 * host), which no library can help.  The others wait by spinning
	 * on a line that the running thread does not touch: a thread that
	 * slept in a barrier while the first one ran was 30-50% slower in
	 * its own solo run afterwards, whichever CPU it had (its vCPU idle
	 * meanwhile), which the joint run, both CPUs busy, never pays.
	 */
	if (w->nthreads > 1) {
		uint64_t s0, s1;
		uint32_t sn;

		(void) atomic_fetch_add(&w->solo_turn[1], 1);
		while (atomic_load(&w->solo_turn[1]) < w->nthreads)
			spin_pause();
		while (atomic_load(&w->solo_turn[0]) != w->idx)
			spin_pause();
		if (w->tab == T_FRESH) {
			/*
			 * Fresh again: a space of its own, made now, whose
			 * tables come from the provider as the joint run's
			 * did (emptied ones would come from the space's
			 * cache: that is the _cached line).
			 */
			ht_as_t *joint = w->as;

			CHECK(ht_as_create(w->ctx, w->flags, &w->as));
			sn = worker_calls(w, &s0, &s1);
			ht_as_destroy(w->as);
			w->as = joint;
		} else {
			worker_reset(w);
			sn = worker_calls(w, &s0, &s1);
		}
		solo = (double)(s1 - s0) / (double)sn;
		atomic_store(&w->solo_turn[0], w->idx + 1);
		while (atomic_load(&w->solo_turn[0]) < w->nthreads)
			spin_pause();
	}
	/* written once, at the end: the two workers share a line */
	w->t1 = t1;
	w->t0 = t0;
	w->ncalls = n;
	w->solo = solo;
	free(w->mem);
	(void) pthread_barrier_wait(w->start);
	return (NULL);
}

/*
 * nthreads threads map random pages of their own 1 GiB, `apart` bytes
 * from one another; spaces: 1 or n; tables: as the file's head comment
 * says (made and emptied, or kept, untimed).
 */
/* The median of n values (sorted in place). */
static double
median_of(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

/*
 * The line's figure is the wall time until both threads are done; each
 * thread's own ns a call (the median over the samples) goes to a note,
 * so that a slower CPU (another tenant on this VM's host) is told apart
 * from a line the threads share.
 */
static int
run_threads(bench_run_t *r, const char *name, unsigned nthreads,
    int own_space, tables_t tab, unsigned flags, uint64_t apart)
{
	double *own[2] = { NULL, NULL }, *solo[2] = { NULL, NULL };
	uint32_t *perm = shuffled(NPAGES, 11);
	pthread_barrier_t start;
	_Atomic unsigned turn[2];
	pthread_t tid[2];
	worker_t w[2];
	ht_as_t *as[2];
	env_t e;
	int s;

	env_init(&e);
	r->ops = (uint64_t)(tab == T_STEADY || tab == T_PRIVATE ?
	    NPAGES - NPAGES / 512 : NPAGES) *
	    nthreads;
	for (unsigned i = 0; i < nthreads; i++) {
		own[i] = bench_alloc(sizeof (double) * (size_t)r->reps);
		solo[i] = bench_alloc(sizeof (double) * (size_t)r->reps);
	}
	for (s = -r->warmup; s < r->reps; s++) {
		uint64_t t0, t1;

		CHECK(pthread_barrier_init(&start, NULL, nthreads + 1) == 0 ?
		    0 : -HT_ENOMEM);
		atomic_init(&turn[0], 0);
		atomic_init(&turn[1], 0);
		for (unsigned i = 0; i < nthreads; i++) {
			if (i == 0 || own_space)
				CHECK(ht_as_create(e.ctx, flags, &as[i]));
			else
				as[i] = as[0];
			w[i].as = as[i];
			w[i].ctx = e.ctx;
			w[i].flags = flags;
			w[i].va = VA_BASE + (uint64_t)i * apart;
			w[i].tab = tab;
			w[i].perm = perm;
			w[i].start = &start;
			w[i].solo_turn = turn;
			w[i].idx = i;
			w[i].nthreads = nthreads;
			w[i].solo = 0;
			w[i].mem = NULL;
			w[i].cpu = nthreads > 1 ? (int)i : -1;
			if (pthread_create(&tid[i], NULL, worker_main,
			    &w[i]) != 0)
				bench_die("pthread_create");
		}
		(void) pthread_barrier_wait(&start);
		(void) pthread_barrier_wait(&start);
		t0 = UINT64_MAX;
		t1 = 0;
		for (unsigned i = 0; i < nthreads; i++) {
			(void) pthread_join(tid[i], NULL);
			t0 = w[i].t0 < t0 ? w[i].t0 : t0;
			t1 = w[i].t1 > t1 ? w[i].t1 : t1;
			if (s >= 0) {
				own[i][s] = (double)(w[i].t1 - w[i].t0) /
				    (double)w[i].ncalls;
				solo[i][s] = w[i].solo;
			}
		}
		/*
		 * From the first worker's start to the last one's end, by
		 * their own clocks: this thread shares a CPU with a worker,
		 * and a clock read here after the start barrier may run only
		 * once that worker has used up its time slice (one thread's
		 * cached line then read 0.01 ns a call).
		 */
		if (s >= 0)
			r->ns[s] = (double)(t1 - t0) / (double)r->ops;
		(void) pthread_barrier_destroy(&start);
		for (unsigned i = 0; i < nthreads; i++)
			if (i == 0 || own_space)
				ht_as_destroy(as[i]);
	}
	env_fini(&e);
	free(perm);
	if (nthreads == 2 && r->reps > 0) {
		double c0 = median_of(own[0], r->reps);
		double c1 = median_of(own[1], r->reps);
		double a0 = median_of(solo[0], r->reps);
		double a1 = median_of(solo[1], r->reps);

		/*
		 * Both threads' calls a second against the mean of each
		 * one's alone on its own CPU: 2.00 when nothing is shared,
		 * whatever each CPU's speed.
		 */
		bench_note("%s: each thread's own time, ns a call, beside the "
		    "others / alone: %.2f / %.2f on CPU %d, %.2f / %.2f on "
		    "CPU %d: %.2fx one thread on the same CPUs", name, c0, a0,
		    w[0].cpu, c1, a1, w[1].cpu,
		    (1 / c0 + 1 / c1) / ((1 / a0 + 1 / a1) / 2));
	}
	for (unsigned i = 0; i < nthreads; i++) {
		free(own[i]);
		free(solo[i]);
	}
	return (0);
}

int
bench_map_1page_rand_t1(bench_run_t *r)
{
	return (run_threads(r, __func__ + 6, 1, 0, T_FRESH, 0, GIB));
}

int
bench_map_1page_rand_t2_one(bench_run_t *r)
{
	return (run_threads(r, __func__ + 6, 2, 0, T_FRESH, 0, GIB));
}

int
bench_map_1page_rand_t2_two(bench_run_t *r)
{
	return (run_threads(r, __func__ + 6, 2, 1, T_FRESH, 0, GIB));
}

int
bench_map_1page_cached_t1(bench_run_t *r)
{
	return (run_threads(r, __func__ + 6, 1, 0, T_CACHED, 0, GIB));
}

int
bench_map_1page_cached_t2_one(bench_run_t *r)
{
	return (run_threads(r, __func__ + 6, 2, 0, T_CACHED, 0, GIB));
}

int
bench_map_1page_cached_t2_two(bench_run_t *r)
{
	return (run_threads(r, __func__ + 6, 2, 1, T_CACHED, 0, GIB));
}

int
bench_map_1page_steady_t1(bench_run_t *r)
{
	return (run_threads(r, __func__ + 6, 1, 0, T_STEADY, 0, GIB));
}

int
bench_map_1page_steady_t2_one(bench_run_t *r)
{
	return (run_threads(r, __func__ + 6, 2, 0, T_STEADY, 0, GIB));
}

int
bench_map_1page_steady_t2_two(bench_run_t *r)
{
	return (run_threads(r, __func__ + 6, 2, 1, T_STEADY, 0, GIB));
}

/*
 * Two threads 2 GiB and 512 GiB apart in one space: regions in different
 * 2 GiB windows of the hash (htable_hash), the second a power of two
 * apart (a guest's RAM banks, a kernel's and a user's halves), must not
 * share chains and their locks.
 */
int
bench_map_1page_steady_t2_one_2g(bench_run_t *r)
{
	return (run_threads(r, __func__ + 6, 2, 0, T_STEADY, 0, 2 * GIB));
}

int
bench_map_1page_steady_t2_one_far(bench_run_t *r)
{
	return (run_threads(r, __func__ + 6, 2, 0, T_STEADY, 0, 512 * GIB));
}

/* each thread owns its space: HT_AS_SERIAL, no lock on the path */
int
bench_map_1page_steady_t1_serial(bench_run_t *r)
{
	return (run_threads(r, __func__ + 6, 1, 0, T_STEADY, HT_AS_SERIAL, GIB));
}

int
bench_map_1page_steady_t2_two_serial(bench_run_t *r)
{
	return (run_threads(r, __func__ + 6, 2, 1, T_STEADY, HT_AS_SERIAL, GIB));
}

/*
 * The machine's own limit for the two-thread lines: the steady lines'
 * entry writes alone (the same 2 MiB of entries a thread, the same random
 * order, a load and a store each), with no library, into memory of each
 * thread's own; its note says how much each thread loses beside the
 * other when nothing at all is shared but the host.
 */
int
bench_floor_private_t2(bench_run_t *r)
{
	return (run_threads(r, __func__ + 6, 2, 1, T_PRIVATE, 0, GIB));
}
