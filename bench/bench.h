/*
 * bench.h - timing helpers shared by the htable benchmarks.
 *
 * Method (see /work/shared/docs/perf-anchors.md): wall-clock
 * CLOCK_MONOTONIC, the process pinned to one CPU, one or more untimed
 * warm-up samples, then N timed samples of which the median, minimum and
 * maximum are reported.  Each sample is long enough (about a millisecond
 * or more) that the clock's own cost and resolution do not matter.
 *
 * Environment:
 *   BENCH_REPS    timed samples per benchmark (default 11)
 *   BENCH_WARMUP  untimed samples before them (default 1)
 *   BENCH_CPU     CPU to pin to (default 1, or 0 on a one-CPU machine);
 *                 a negative value disables pinning
 *   BENCH_PREFAULT  0 = leave the arena's memory untouched before the
 *                 runs (default 1: touch it once, untimed; bench_ops.c)
 *   BENCH_VERBOSE  1 = print every sample, in run order
 *
 * Every benchmark is a function bench_<name>(bench_run_t *) listed in
 * bench-list.h; it fills run->ns[0 .. run->reps - 1] with ns per operation.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BENCH_REPS_DEFAULT	11
#define BENCH_WARMUP_DEFAULT	1

/* The floors measured in the same run that the others are compared to. */
enum {
	BENCH_FLOOR_NONE = 0,
	BENCH_FLOOR_STORE,	/* one sequential 8-byte store, ns/entry */
	BENCH_FLOOR_ZERO,	/* memset of one 4 KiB frame, ns/frame */
	BENCH_FLOOR_CAS,	/* one successful lock cmpxchg, ns/entry */
	BENCH_FLOOR_CALL,	/* a call into libhtable.so, ns/call */
	BENCH_FLOOR_REPORT,	/* the stores of one translate report */
	BENCH_NFLOORS
};

/* What a benchmark is given and what it hands back. */
typedef struct bench_run {
	int		reps;		/* timed samples wanted */
	int		warmup;		/* untimed samples to run first */
	double		*ns;		/* [reps]: ns per operation */
	uint64_t	ops;		/* operations per sample (informative) */
	/*
	 * Map benchmarks only: page-table frames one map of the range
	 * allocated, and the pages it mapped, so that the cost of zeroing
	 * those frames can be set beside the per-page figure.
	 */
	uint64_t	tables;
	uint64_t	pages;
} bench_run_t;

typedef int (*bench_fn_t)(bench_run_t *);

typedef struct bench_entry {
	const char	*name;
	bench_fn_t	fn;
	const char	*unit;		/* what one operation is */
	int		provides;	/* BENCH_FLOOR_* it measures, or NONE */
	int		floor;		/* BENCH_FLOOR_* it is compared to */
	int		floor2;		/* a second one, noted beside it */
	double		peer_ns;	/* x86_64 crate figure, 0 = none */
} bench_entry_t;

/* bench-list.h expands this into the benchmarks' prototypes. */
#define BENCH_DECLARE(name)	int bench_##name(bench_run_t *);

typedef struct bench_stats {
	double		median;
	double		min;
	double		max;
} bench_stats_t;

/* Implemented in bench_main.c. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
_Noreturn void bench_die(const char *fmt, ...);
int bench_env_int(const char *name, int dflt, int lo);
/*
 * The paging mode of every context the benchmarks make: BENCH_MODE (a
 * mode name: 4level, 5level, npt4, npt5; default 4level).  Dies on a
 * name it does not know, or a mode whose tables the lines cannot hold
 * (32-bit and PAE paging: the lines map above 4 GiB).
 */
ht_mode_t bench_mode(void);
/*
 * ht_config_t.ept for bench_mode(): in EPT, HT_EPT_AD (A/D on, as a VMM
 * that logs dirty pages runs it); 0 in the other modes.
 */
unsigned bench_ept(void);
/*
 * The first address of the kernel's half in bench_mode(): the canonical
 * upper half, or the upper half of a space without a hole (nested paging).
 */
ht_va_t bench_kernel_va(void);
/* A line printed under the table (a figure that is not ns per unit). */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void bench_note(const char *fmt, ...);
void bench_stats(const double *v, int n, bench_stats_t *r_st);
void *bench_alloc(size_t size);
void *bench_map_huge(size_t size);
void bench_unmap(void *p, size_t size);

/*
 * Written by benchmarks that produce a value nobody reads, so that the
 * compiler cannot drop the work that made it.
 */
extern volatile uint64_t bench_sink;

/* Make the compiler believe x is used, without a store. */
#define BENCH_KEEP(x)		__asm__ __volatile__("" : : "r"(x) : "memory")
/* Make the compiler believe all memory was read and written. */
#define BENCH_CLOBBER()		__asm__ __volatile__("" : : : "memory")

static inline uint64_t
bench_now(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer. */
	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/*
 * splitmix64: a small, well-mixed generator; the benchmarks only need
 * shuffles that defeat the prefetchers and branch predictors, and the
 * same seed gives the same shuffle in every run.
 */
static inline uint64_t
bench_rand(uint64_t *state)
{
	uint64_t z;

	*state += 0x9e3779b97f4a7c15ull;
	z = *state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31));
}

/* Uniform in [0, n): the high half of a 64x64 product (no modulo bias). */
static inline uint32_t
bench_rand_below(uint64_t *state, uint32_t n)
{
	return ((uint32_t)(((bench_rand(state) >> 32) * (uint64_t)n) >> 32));
}

/* Fisher-Yates shuffle of a[0 .. n - 1]. */
static inline void
bench_shuffle(uint32_t *a, uint32_t n, uint64_t *state)
{
	uint32_t i, j, t;

	for (i = n; i > 1; i--) {
		j = bench_rand_below(state, i);
		t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

#endif /* BENCH_H */
