/*
 * bench_main.c - the htable benchmark runner.
 *
 * Usage: bench_htable [-l] [name ...]
 *
 * Runs every benchmark of bench-list.h, or only those named, with a
 * progress line on stderr as each finishes; then prints on stdout a table
 * (median, min, max, floor, ratio, peer figure), then one machine-readable
 * line per benchmark:
 *
 *   bench NAME median_ns=X floor_ns=Y ratio=Z [key=value ...]
 *
 * where floor_ns and ratio are "na" for benchmarks compared to no floor.
 * The floors are always measured, in the same run, even when only other
 * benchmarks are named (a ratio against a floor measured at another time
 * on this shared machine could be off by tens of per cent): once before
 * and once after the others, keeping the lower median.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <htable.h>

#include "bench.h"

#define BENCH_LIST_START	static const bench_entry_t bench_list[] = {
#define BENCH_ENTRY(name, unit, provides, floor, floor2, peer)		\
	{ #name, bench_##name, unit, provides, floor, floor2, peer },
#define BENCH_LIST_END		{ NULL, NULL, NULL, 0, 0, 0, 0 } };
#define BENCH_LIST_TABLE
#include "bench-list.h"

#define NBENCH	(sizeof (bench_list) / sizeof (bench_list[0]) - 1)

volatile uint64_t bench_sink;

typedef struct result {
	int		done;
	bench_stats_t	st;
	bench_run_t	run;
} result_t;

static result_t results[NBENCH];
/* The floors measured again at the end of the run. */
static result_t endres[NBENCH];
/* BENCH_VERBOSE=1: print every sample too. */
static int verbose;
/* Median of each floor of this run; 0 until measured. */
static double floors[BENCH_NFLOORS];

void
bench_die(const char *fmt, ...)
{
	va_list ap;

	(void) fflush(stdout);
	(void) fputs("bench_htable: ", stderr);
	va_start(ap, fmt);
	(void) vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void) fputc('\n', stderr);
	exit(1);
}

/* An integer from the environment, dflt if unset; dies if malformed. */
int
bench_env_int(const char *name, int dflt, int lo)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return (dflt);
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > INT_MAX)
		bench_die("%s=%s: want an integer >= %d", name, s, lo);
	return ((int)v);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

void
bench_stats(const double *v, int n, bench_stats_t *r_st)
{
	double *s = bench_alloc(sizeof (double) * (size_t)n);

	memcpy(s, v, sizeof (double) * (size_t)n);
	qsort(s, (size_t)n, sizeof (double), cmp_double);
	r_st->median = (n & 1) ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	r_st->min = s[0];
	r_st->max = s[n - 1];
	free(s);
}

void *
bench_alloc(size_t size)
{
	void *p = malloc(size != 0 ? size : 1);

	if (p == NULL)
		bench_die("out of memory (%zu bytes)", size);
	return (p);
}

/*
 * Anonymous memory, asking for transparent huge pages so that the
 * floors are not also measuring TLB misses, and touched so that no
 * sample pays for page faults.
 */
void *
bench_map_huge(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bench_die("mmap of %zu bytes: %s", size, strerror(errno));
	/* Only a hint: without THP the figures are still valid. */
	(void) madvise(p, size, MADV_HUGEPAGE);
	memset(p, 0x5a, size);
	return (p);
}

void
bench_unmap(void *p, size_t size)
{
	(void) munmap(p, size);
}

/*
 * Pin to BENCH_CPU (default 1, as the anchor measurements were, or 0 on
 * a one-CPU machine): a migration in the middle of a sample would cost
 * the caches.  Returns the CPU, or -1 if not pinned.
 */
static int
pin_cpu(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int cpu = bench_env_int("BENCH_CPU", ncpu > 1 ? 1 : 0, INT_MIN);
	cpu_set_t set;

	if (cpu < 0)
		return (-1);
	if (cpu >= CPU_SETSIZE)
		bench_die("BENCH_CPU=%d is out of range", cpu);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof (set), &set) != 0) {
		(void) fprintf(stderr, "bench_htable: cannot pin to CPU %d: "
		    "%s; running unpinned\n", cpu, strerror(errno));
		return (-1);
	}
	return (cpu);
}

static void
list(void)
{
	size_t i;

	for (i = 0; i < NBENCH; i++)
		(void) printf("%s\n", bench_list[i].name);
}

ht_mode_t
bench_mode(void)
{
	const char *s = getenv("BENCH_MODE");
	ht_mode_t m;

	if (s == NULL || *s == '\0')
		return (HT_MODE_4LEVEL);
	if (ht_mode_parse(s, &m) != 0)
		bench_die("BENCH_MODE=%s: %s", s, ht_errdetail());
	if (ht_geometry(m)->va_bits == 32)
		bench_die("BENCH_MODE=%s: the benchmarks map above 4 GiB", s);
	return (m);
}

unsigned
bench_ept(void)
{
	ht_mode_t m = bench_mode();

	return (m == HT_MODE_EPT4 || m == HT_MODE_EPT5 ? HT_EPT_AD : 0);
}

ht_va_t
bench_kernel_va(void)
{
	const ht_geometry_t *g = ht_geometry(bench_mode());

	return (g->hole_start != 0 ? 0 - (1ull << (g->va_bits - 1)) :
	    1ull << (g->va_bits - 1));
}

static _Noreturn void
usage(void)
{
	(void) fprintf(stderr, "usage: bench_htable [-l] [name ...]\n"
	    "  -l  list the benchmarks\n"
	    "  env BENCH_REPS (samples, default %d), BENCH_WARMUP (default "
	    "%d), BENCH_CPU (pin; < 0 = none),\n"
	    "      BENCH_PREFAULT (default 1), BENCH_VERBOSE (1: every "
	    "sample),\n"
	    "      BENCH_MODE (paging mode: 4level, 5level, npt4, npt5, "
	    "ept4, ept5)\n",
	    BENCH_REPS_DEFAULT,
	    BENCH_WARMUP_DEFAULT);
	exit(2);
}

static void
print_header(int reps, int warmup, int cpu)
{
	struct timespec res;

	(void) clock_getres(CLOCK_MONOTONIC, &res);
	(void) printf("htable %s benchmarks: %s mode (BENCH_MODE), arena "
	    "provider, 1 GiB VA range\n", HT_VERSION_STRING,
	    ht_mode_name(bench_mode()));
	(void) printf("samples %d (+%d warm-up), CPU %s%d, CLOCK_MONOTONIC "
	    "resolution %ld ns; figures are ns per unit, median of the "
	    "samples\n", reps, warmup, cpu < 0 ? "unpinned " : "", cpu,
	    (long)res.tv_nsec);
	(void) printf("table memory: 64 MiB arena, %s\n",
	    bench_env_int("BENCH_PREFAULT", 1, 0) != 0 ?
	    "touched before the runs (BENCH_PREFAULT=1)" :
	    "left cold: samples include first-touch page faults "
	    "(BENCH_PREFAULT=0)");
	(void) printf("floor = measured in this run (at its start and end); "
	    "peer = x86_64 crate, measured earlier on this machine "
	    "(NOT in this run)\n\n");
}

/* The line set beside a map: the cost of zeroing the tables it built. */
static int
zero_share(const bench_entry_t *b, const result_t *res, double *r_z)
{
	if (b->floor2 != BENCH_FLOOR_ZERO || res->run.tables == 0 ||
	    res->run.pages == 0 ||
	    floors[BENCH_FLOOR_ZERO] <= 0)
		return (0);
	*r_z = floors[BENCH_FLOOR_ZERO] * (double)res->run.tables /
	    (double)res->run.pages;
	return (1);
}

static void
print_row(const char *name, const bench_entry_t *b, const result_t *res)
{
	const bench_stats_t *st = &res->st;
	double fl = floors[b->floor], z;
	char fbuf[32], rbuf[32], pbuf[32], qbuf[32];

	if (b->floor != BENCH_FLOOR_NONE && fl > 0) {
		(void) snprintf(fbuf, sizeof (fbuf), "%.3f", fl);
		(void) snprintf(rbuf, sizeof (rbuf), "%.1f", st->median / fl);
	} else {
		(void) strcpy(fbuf, "-");
		(void) strcpy(rbuf, "-");
	}
	if (b->peer_ns > 0) {
		(void) snprintf(pbuf, sizeof (pbuf), "%.2f", b->peer_ns);
		(void) snprintf(qbuf, sizeof (qbuf), "%.2f",
		    st->median / b->peer_ns);
	} else {
		(void) strcpy(pbuf, "-");
		(void) strcpy(qbuf, "-");
	}
	(void) printf("%-15s %-5s %9.3f %9.3f %9.3f %8s %8s %7s %7s\n",
	    name, b->unit, st->median, st->min, st->max, fbuf, rbuf, pbuf,
	    qbuf);
	/*
	 * A map also zeroes the tables it builds: set the zeroing floor
	 * beside it, amortised over the pages of one address space.
	 */
	if (zero_share(b, res, &z))
		(void) printf("%-15s   %" PRIu64 " tables built x %.1f ns "
		    "(floor_zero) = %.3f ns/page; store+zero floor %.3f, "
		    "x %.1f\n", "", res->run.tables,
		    floors[BENCH_FLOOR_ZERO], z, z + fl,
		    st->median / (z + fl));
	if (b->floor2 == BENCH_FLOOR_CAS && floors[BENCH_FLOOR_CAS] > 0)
		(void) printf("%-15s   one CAS per valid entry (floor_cas "
		    "%.2f ns): x %.2f\n", "", floors[BENCH_FLOOR_CAS],
		    st->median / floors[BENCH_FLOOR_CAS]);
}

static void
print_table(void)
{
	char name[64];
	size_t i;

	for (i = 0; i < NBENCH; i++) {
		const bench_entry_t *b = &bench_list[i];

		if (!results[i].done)
			continue;
		print_row(b->name, b, &results[i]);
		if (endres[i].done) {
			(void) snprintf(name, sizeof (name), "%s@end",
			    b->name);
			print_row(name, b, &endres[i]);
		}
	}
	(void) printf("floors used for the ratios: store %.3f ns/entry, "
	    "zero %.1f ns/frame, cas %.2f ns/entry, call %.2f ns/call, "
	    "report %.2f ns/report\n(each the lower of the medians at the "
	    "start and the end of the run)\n",
	    floors[BENCH_FLOOR_STORE], floors[BENCH_FLOOR_ZERO],
	    floors[BENCH_FLOOR_CAS], floors[BENCH_FLOOR_CALL],
	    floors[BENCH_FLOOR_REPORT]);
}

static void
print_summary(void)
{
	size_t i;
	double z;

	(void) printf("\n");
	for (i = 0; i < NBENCH; i++) {
		const bench_entry_t *b = &bench_list[i];
		const result_t *res = &results[i];
		double fl = floors[b->floor], med = res->st.median;

		if (!res->done)
			continue;
		if (b->provides != BENCH_FLOOR_NONE)
			med = floors[b->provides];
		(void) printf("bench %s median_ns=%.4f", b->name, med);
		if (b->floor != BENCH_FLOOR_NONE && fl > 0)
			(void) printf(" floor_ns=%.4f ratio=%.3f", fl,
			    med / fl);
		else
			(void) printf(" floor_ns=na ratio=na");
		(void) printf(" min_ns=%.4f max_ns=%.4f unit=%s",
		    res->st.min, res->st.max, b->unit);
		if (endres[i].done)
			(void) printf(" start_ns=%.4f end_ns=%.4f",
			    res->st.median, endres[i].st.median);
		if (b->peer_ns > 0)
			(void) printf(" peer_ns=%.2f peer_ratio=%.3f",
			    b->peer_ns, med / b->peer_ns);
		if (zero_share(b, res, &z))
			(void) printf(" tables=%" PRIu64 " zero_floor_ns=%.4f"
			    " store_zero_floor_ns=%.4f ratio_store_zero=%.3f",
			    res->run.tables, floors[BENCH_FLOOR_ZERO],
			    fl + z, med / (fl + z));
		if (b->floor2 == BENCH_FLOOR_CAS &&
		    floors[BENCH_FLOOR_CAS] > 0)
			(void) printf(" cas_floor_ns=%.4f ratio_cas=%.3f",
			    floors[BENCH_FLOOR_CAS],
			    med / floors[BENCH_FLOOR_CAS]);
		(void) printf("\n");
	}
}

/* The benchmarks' notes, printed under the table. */
#define MAXNOTES	16
static char notes[MAXNOTES][256];
static int nnotes;

void
bench_note(const char *fmt, ...)
{
	va_list ap;

	if (nnotes == MAXNOTES)
		return;
	va_start(ap, fmt);
	(void) vsnprintf(notes[nnotes++], sizeof (notes[0]), fmt, ap);
	va_end(ap);
}

static void
print_peer_note(void)
{
	(void) printf("\npeer: rust-osdev x86_64 crate v0.15.4 "
	    "OffsetPageTable, map_to/unmap/update_flags/translate_addr one "
	    "page per call,\n"
	    "      measured earlier on this machine (perf-anchors.md "
	    "section 4), not in this run; static reference only.\n"
	    "      Its 2 MiB figures are from 2 MiB x 32,768 (64 GiB); its "
	    "2 MiB x 512 (1 GiB) run gave map 2.04, unmap 1.29,\n"
	    "      update_flags 1.41, translate 2.27 seq / 2.68 random / "
	    "6.08 dependent.\n");
}

static void
measure(size_t i, result_t *res, int reps, int warmup)
{
	const bench_entry_t *b = &bench_list[i];

	memset(&res->run, 0, sizeof (res->run));
	res->run.reps = reps;
	res->run.warmup = warmup;
	res->run.ns = bench_alloc(sizeof (double) * (size_t)reps);
	if (b->fn(&res->run) != 0)
		bench_die("%s failed", b->name);
	bench_stats(res->run.ns, reps, &res->st);
	/* Progress on stderr; the table comes at the end, on stdout. */
	(void) fprintf(stderr, "  %-15s %9.3f ns/%s%s", b->name,
	    res->st.median, b->unit, verbose ? "  samples:" : "\n");
	if (verbose) {
		/* In run order: shows a drift or one disturbed sample. */
		for (int k = 0; k < reps; k++)
			(void) fprintf(stderr, " %.3f", res->run.ns[k]);
		(void) fprintf(stderr, "\n");
	}
	free(res->run.ns);
	res->run.ns = NULL;
	res->done = 1;
}

int
main(int argc, char **argv)
{
	int reps, warmup, cpu, a, others = 0;
	char *want;
	size_t i;

	if (argc > 1 && strcmp(argv[1], "-l") == 0) {
		list();
		return (0);
	}
	want = calloc(NBENCH, 1);
	if (want == NULL)
		bench_die("out of memory");
	for (a = 1; a < argc; a++) {
		if (argv[a][0] == '-')
			usage();
		for (i = 0; i < NBENCH; i++)
			if (strcmp(argv[a], bench_list[i].name) == 0)
				break;
		if (i == NBENCH)
			bench_die("no benchmark named \"%s\" (-l lists them)",
			    argv[a]);
		want[i] = 1;
	}
	if (argc == 1)
		memset(want, 1, NBENCH);

	reps = bench_env_int("BENCH_REPS", BENCH_REPS_DEFAULT, 1);
	warmup = bench_env_int("BENCH_WARMUP", BENCH_WARMUP_DEFAULT, 0);
	verbose = bench_env_int("BENCH_VERBOSE", 0, 0);
	cpu = pin_cpu();
	print_header(reps, warmup, cpu);

	/*
	 * Floors first, always: every other row is a ratio to them.  They
	 * are measured again at the end, and the lower median is used: the
	 * L3 and memory bandwidth of this shared VM are sometimes halved by
	 * other tenants for a while, and a floor is a lower bound.
	 */
	for (i = 0; i < NBENCH; i++)
		if (bench_list[i].provides != BENCH_FLOOR_NONE)
			measure(i, &results[i], reps, warmup);
	for (i = 0; i < NBENCH; i++) {
		if (!want[i] || bench_list[i].provides != BENCH_FLOOR_NONE)
			continue;
		measure(i, &results[i], reps, warmup);
		others = 1;
	}
	for (i = 0; i < NBENCH; i++) {
		int k = bench_list[i].provides;

		if (k == BENCH_FLOOR_NONE)
			continue;
		floors[k] = results[i].st.median;
		if (!others)
			continue;
		measure(i, &endres[i], reps, warmup);
		if (endres[i].st.median < floors[k])
			floors[k] = endres[i].st.median;
	}

	(void) printf("%-15s %-5s %9s %9s %9s %8s %8s %7s %7s\n",
	    "benchmark", "unit", "median", "min", "max", "floor", "x floor",
	    "peer", "x peer");
	print_table();
	print_peer_note();
	for (int k = 0; k < nnotes; k++)
		(void) printf("%snote: %s\n", k == 0 ? "\n" : "", notes[k]);
	print_summary();
	free(want);
	return (0);
}
