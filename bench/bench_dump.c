/*
 * bench_dump.c - htable reading a big physical image or dump file (issue
 * 15): what `htable dump`, `translate` and `roots` cost on a multi-GiB
 * image, in time and in peak memory, beside libaddrxlat (libkdumpfile's
 * translator, what crash tools use) translating the same addresses in the
 * same run.
 *
 * Usage: bench_dump IMAGE MODE CR3 [N]
 *
 * IMAGE is opened with image_open (a raw image, an ELF core or a
 * kdump-compressed file), and then, each phase followed by the process's
 * peak resident set so far (its high-water mark, maxrss_mib):
 *
 *   dump_scan      one ht_scan of the tables under CR3 in MODE, counting
 *                  the leaves and the bytes they map: the walk `htable
 *                  dump` makes, without its printing;
 *   xlat_htable    N translations (default 100000) with ht_scan_translate
 *                  reading through image_read: 90% at addresses drawn
 *                  uniformly from the scan's leaves (a random leaf, a
 *                  random byte in it), 10% at random canonical addresses
 *                  the tables do not map, shuffled, fixed seed;
 *   xlat_addrxlat  the same addresses through libaddrxlat: an
 *                  ADDRXLAT_PGT method of the mode's paging form rooted
 *                  at CR3, addrxlat_walk, and a get-page callback that
 *                  calls image_read for the entry asked (pte-size bytes,
 *                  as ht_scan_translate reads), so that both read the
 *                  image the same way and the figures compare walkers;
 *                  "differ" counts the addresses whose answers (mapped
 *                  or not, and the physical address) are not htable's;
 *   xlat_addrxlat_page  the same with whole 4 KiB pages handed to
 *                  libaddrxlat's page cache (its intended use: a miss
 *                  costs a page copy, a hit none);
 *   roots          roots_find over the image in 4level and 5level (what
 *                  `htable roots` does): the time and the candidates.
 *
 * Figures, never a verdict: the exit status is 0 whatever they are (1 if
 * the image cannot be read, 2 for bad usage).  After one untimed pass of
 * each walker, BENCH_REPS rounds (default 5) time a pass of each in
 * turn, so that the three see the same moments of a noisy host; the
 * median, minimum and maximum per walker are printed, and the ratio is
 * the median over the rounds of htable's time over libaddrxlat's in the
 * same round (with its range).  BENCH_CPU pins the process as
 * bench_htable does (default 1, or 0 on one CPU; negative: no pinning).
 * bench/dumps.sh builds a big image and runs this on it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <libkdumpfile/addrxlat.h>

#include <htable.h>

#include "bench.h"
#include "image.h"
#include "roots.h"

#define N_DEFAULT	100000
#define REPS_DEFAULT	5
#define SEED		0x15d0a9b3c1e5f00dull
#define NOPA		(~(uint64_t)0)	/* "not mapped" in the results */
#define UNMAPPED_TRIES	64		/* draws for one unmapped address */
#define POOL_BUFS	8		/* > libaddrxlat's 4 cache slots */
#define PAGE_SIZE_4K	4096u

static void die(const char *, ...) __attribute__((format(printf, 1, 2)))
    __attribute__((noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	(void) fprintf(stderr, "bench_dump: ");
	va_start(ap, fmt);
	(void) vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void) fputc('\n', stderr);
	exit(1);
}

/*
 * The peak resident set so far, MiB: the kernel's VmHWM of this process,
 * never less than an answer given before (the kernel folds the current
 * RSS into its mark only now and then).  Not getrusage's ru_maxrss:
 * Linux carries that across execve, so a process started by a big shell
 * (dumps.sh holds its addresses) would report the shell's peak.
 * ru_maxrss only where /proc cannot be read.
 */
static double
maxrss_mib(void)
{
	static double peak;
	struct rusage ru;
	char line[128];
	unsigned long long kib = 0;
	FILE *f;

	if ((f = fopen("/proc/self/status", "r")) != NULL) {
		while (fgets(line, sizeof (line), f) != NULL)
			if (sscanf(line, "VmHWM: %llu kB", &kib) == 1)
				break;
		(void) fclose(f);
	}
	if (kib == 0 && getrusage(RUSAGE_SELF, &ru) == 0)
		kib = (unsigned long long)ru.ru_maxrss;
	if ((double)kib / 1024.0 > peak)
		peak = (double)kib / 1024.0;
	return (peak);
}

/* An integer from the environment, or dflt when unset or not a number. */
static long
env_long(const char *name, long dflt)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return (dflt);
	v = strtol(s, &end, 0);
	return (*end == '\0' ? v : dflt);
}

/* Pin to BENCH_CPU (as bench_main.c does); a failure is only noted. */
static void
pin_cpu(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long cpu = env_long("BENCH_CPU", ncpu > 1 ? 1 : 0);
	cpu_set_t set;

	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return;
	CPU_ZERO(&set);
	CPU_SET((int)cpu, &set);
	if (sched_setaffinity(0, sizeof (set), &set) != 0)
		(void) fprintf(stderr, "bench_dump: cannot pin to CPU %ld: "
		    "not pinned\n", cpu);
}

static double
ms_since(uint64_t t0)
{
	return ((double)(bench_now() - t0) / 1e6);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/* Median, minimum and maximum of v[0 .. n - 1] (sorted in place). */
static void
stats(double *v, int n, double *r_med, double *r_min, double *r_max)
{
	qsort(v, (size_t)n, sizeof (v[0]), cmp_double);
	*r_med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*r_min = v[0];
	*r_max = v[n - 1];
}

/* ------------------------------------------------------------------ */
/* The scan, and drawing addresses from its leaves                      */
/* ------------------------------------------------------------------ */

typedef struct scan_count {
	uint64_t	leaves;
	uint64_t	bytes;
} scan_count_t;

static int
count_leaf(void *arg, const ht_leaf_t *leaf)
{
	scan_count_t *c = arg;

	c->leaves++;
	c->bytes += leaf->size;
	return (0);
}

/*
 * The second scan: pick[0 .. npick - 1] are leaf numbers, ascending, with
 * repeats; each gives an address, a random byte of that leaf.
 */
typedef struct scan_pick {
	const uint64_t	*pick;
	size_t		npick, next;
	uint64_t	seen;		/* leaves passed so far */
	uint64_t	*va;		/* the addresses drawn */
	uint64_t	rng;
} scan_pick_t;

static int
pick_leaf(void *arg, const ht_leaf_t *leaf)
{
	scan_pick_t *p = arg;

	while (p->next < p->npick && p->pick[p->next] == p->seen) {
		p->va[p->next] = leaf->va + bench_rand(&p->rng) % leaf->size;
		p->next++;
	}
	p->seen++;
	return (p->next == p->npick);	/* stop when all are drawn */
}

/* A random address of the mode's space (canonical where it has a hole). */
static uint64_t
random_va(const ht_geometry_t *geo, uint64_t *rng)
{
	uint64_t va = bench_rand(rng), top;

	if (geo->va_bits < 64)
		va &= ((uint64_t)1 << geo->va_bits) - 1;
	if (geo->hole_start != 0) {
		top = (uint64_t)1 << (geo->va_bits - 1);
		if (va & top)
			va |= ~(((uint64_t)1 << geo->va_bits) - 1);
	}
	return (va);
}

static void
shuffle_u64(uint64_t *a, size_t n, uint64_t *rng)
{
	size_t i, j;
	uint64_t t;

	for (i = n; i > 1; i--) {
		j = (size_t)(bench_rand(rng) % i);
		t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* ------------------------------------------------------------------ */
/* libaddrxlat over image_read                                          */
/* ------------------------------------------------------------------ */

typedef struct xpool xpool_t;

typedef struct xbuf {
	xpool_t		*pool;
	int		busy;
	uint8_t		*data;
} xbuf_t;

/*
 * The buffers handed to libaddrxlat's read cache: it keeps a few of them
 * (READ_CACHE_SLOTS, 4 in 0.5.1) and gives each back with put_page when
 * it evicts it.  gran bytes are read at gran-aligned addresses: the
 * entry size (the reads ht_scan_translate makes) or a 4 KiB page.
 */
struct xpool {
	image_t		*im;
	size_t		gran;
	uint64_t	reads;
	xbuf_t		buf[POOL_BUFS];
};

static void
xput_page(const addrxlat_buffer_t *b)
{
	xbuf_t *x = b->priv;

	x->busy = 0;
}

static addrxlat_status
xget_page(const addrxlat_cb_t *cb, addrxlat_buffer_t *b)
{
	xpool_t *p = cb->priv;
	xbuf_t *x = NULL;
	int i;

	if (b->addr.as != ADDRXLAT_MACHPHYSADDR)
		return (ADDRXLAT_ERR_NOMETH);
	for (i = 0; i < POOL_BUFS; i++) {
		if (!p->buf[i].busy) {
			x = &p->buf[i];
			break;
		}
	}
	if (x == NULL)
		return (ADDRXLAT_ERR_NOMEM);
	b->addr.addr &= ~(uint64_t)(p->gran - 1);
	/* beyond the image: zeros, as ht_scan_translate reads them */
	if (image_read(p->im, b->addr.addr, x->data, p->gran) < 0)
		return (ADDRXLAT_ERR_NODATA);
	p->reads++;
	x->busy = 1;
	b->ptr = x->data;
	b->size = p->gran;
	b->byte_order = ADDRXLAT_LITTLE_ENDIAN;
	b->put_page = xput_page;
	b->priv = x;
	return (ADDRXLAT_OK);
}

static unsigned long
xread_caps(const addrxlat_cb_t *cb)
{
	(void) cb;
	return (ADDRXLAT_CAPS(ADDRXLAT_MACHPHYSADDR));
}

typedef struct xlat {
	addrxlat_ctx_t	*ctx;
	addrxlat_meth_t	meth;
	xpool_t		pool;
} xlat_t;

/* A context and a page-table method for mode, rooted at cr3. */
static void
xlat_init(xlat_t *x, image_t *im, ht_mode_t mode, uint64_t cr3,
    size_t gran)
{
	const ht_geometry_t *geo = ht_geometry(mode);
	addrxlat_paging_form_t *pf = &x->meth.param.pgt.pf;
	addrxlat_cb_t *cb;
	int i;

	(void) memset(x, 0, sizeof (*x));
	x->pool.im = im;
	x->pool.gran = gran;
	for (i = 0; i < POOL_BUFS; i++) {
		x->pool.buf[i].pool = &x->pool;
		x->pool.buf[i].data = malloc(gran);
		if (x->pool.buf[i].data == NULL)
			die("out of memory");
	}
	if ((x->ctx = addrxlat_ctx_new()) == NULL ||
	    (cb = addrxlat_ctx_add_cb(x->ctx)) == NULL)
		die("out of memory (libaddrxlat)");
	cb->priv = &x->pool;
	cb->get_page = xget_page;
	cb->read_caps = xread_caps;

	x->meth.kind = ADDRXLAT_PGT;
	x->meth.target_as = ADDRXLAT_MACHPHYSADDR;
	x->meth.param.pgt.root.as = ADDRXLAT_MACHPHYSADDR;
	x->meth.param.pgt.root.addr = cr3 & geo->root_mask;
	x->meth.param.pgt.pte_mask = 0;
	pf->fieldsz[0] = 12;
	switch (mode) {
	case HT_MODE_4LEVEL:
	case HT_MODE_5LEVEL:
		pf->pte_format = ADDRXLAT_PTE_X86_64;
		pf->nfields = mode == HT_MODE_4LEVEL ? 5 : 6;
		for (i = 1; i < pf->nfields; i++)
			pf->fieldsz[i] = 9;
		break;
	case HT_MODE_PAE:
		pf->pte_format = ADDRXLAT_PTE_IA32_PAE;
		pf->nfields = 4;
		pf->fieldsz[1] = 9;
		pf->fieldsz[2] = 9;
		pf->fieldsz[3] = 2;
		break;
	case HT_MODE_32BIT:
		pf->pte_format = ADDRXLAT_PTE_IA32;
		pf->nfields = 3;
		pf->fieldsz[1] = 10;
		pf->fieldsz[2] = 10;
		break;
	default:
		die("mode %s: libaddrxlat has no paging form for it",
		    ht_mode_name(mode));
	}
}

static void
xlat_fini(xlat_t *x)
{
	int i;

	/* releases the cached pages through xput_page */
	(void) addrxlat_ctx_decref(x->ctx);
	for (i = 0; i < POOL_BUFS; i++)
		free(x->pool.buf[i].data);
}

/*
 * One pass of n translations through libaddrxlat; res[i] gets the
 * physical address or NOPA.  Returns the count of failures that are
 * neither "not present" nor "invalid address" (read errors and the like).
 */
static uint64_t
xlat_pass(xlat_t *x, const uint64_t *va, uint64_t *res, size_t n)
{
	addrxlat_step_t step;
	addrxlat_status st;
	uint64_t odd = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		step.ctx = x->ctx;
		step.sys = NULL;
		step.meth = &x->meth;
		step.base.as = ADDRXLAT_KVADDR;
		step.base.addr = va[i];
		st = addrxlat_walk(&step);
		if (st == ADDRXLAT_OK) {
			res[i] = step.base.addr;
		} else {
			res[i] = NOPA;
			if (st != ADDRXLAT_ERR_NOTPRESENT &&
			    st != ADDRXLAT_ERR_INVALID)
				odd++;
		}
	}
	return (odd);
}

/* One pass through ht_scan_translate, as xlat_pass. */
static void
htable_pass(const ht_scan_cfg_t *cfg, const uint64_t *va, uint64_t *res,
    size_t n)
{
	ht_scan_xlate_t x;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if ((rc = ht_scan_translate(cfg, va[i], &x)) != 0)
			die("ht_scan_translate(0x%" PRIx64 "): %s", va[i],
			    ht_strerror(rc));
		res[i] = x.stop == HT_STOP_MAPPED ? x.pa : NOPA;
	}
}

/* Addresses whose answers differ: of those htable maps, of the others. */
static void
differ(const uint64_t *a, const uint64_t *b, size_t n, uint64_t *r_mapped,
    uint64_t *r_unmapped)
{
	size_t i;

	*r_mapped = *r_unmapped = 0;
	for (i = 0; i < n; i++) {
		if (a[i] == b[i])
			continue;
		if (a[i] != NOPA)
			(*r_mapped)++;
		else
			(*r_unmapped)++;
	}
}

/* The walkers timed, round by round. */
enum { W_HTABLE, W_ENTRY, W_PAGE, NWALKERS };

static const char *const walker_name[NWALKERS] = {
	"xlat_htable", "xlat_addrxlat", "xlat_addrxlat_page"
};

/*
 * b) and c): one untimed pass of each walker, then reps rounds, each a
 * timed pass of every walker in turn, so that all three see the same
 * moments of a noisy host; the ratio printed is the median over the
 * rounds of htable's time over libaddrxlat's in the same round.  ref[]
 * gets htable's answers; the others' are compared with them.
 */
static void
bench_xlat(const ht_scan_cfg_t *cfg, image_t *im, const uint64_t *va,
    size_t n, int reps)
{
	const ht_geometry_t *geo = ht_geometry(cfg->mode);
	xlat_t x[NWALKERS];	/* [W_ENTRY], [W_PAGE] */
	uint64_t *res[NWALKERS], odd[NWALKERS], reads[NWALKERS], t0, dm, du;
	double *ns[NWALKERS], *ratio, med, lo, hi;
	size_t mapped, i;
	int w, r;

	ratio = calloc((size_t)reps, sizeof (*ratio));
	for (w = 0; w < NWALKERS; w++) {
		res[w] = calloc(n, sizeof (*res[w]));
		ns[w] = calloc((size_t)reps, sizeof (*ns[w]));
		if (res[w] == NULL || ns[w] == NULL || ratio == NULL)
			die("out of memory");
	}
	xlat_init(&x[W_ENTRY], im, cfg->mode, cfg->cr3, geo->pte_size);
	xlat_init(&x[W_PAGE], im, cfg->mode, cfg->cr3, PAGE_SIZE_4K);

	htable_pass(cfg, va, res[W_HTABLE], n);
	for (w = W_ENTRY; w < NWALKERS; w++) {
		odd[w] = xlat_pass(&x[w], va, res[w], n);
		x[w].pool.reads = 0;
	}
	for (r = 0; r < reps; r++) {
		for (w = 0; w < NWALKERS; w++) {
			t0 = bench_now();
			if (w == W_HTABLE)
				htable_pass(cfg, va, res[w], n);
			else
				(void) xlat_pass(&x[w], va, res[w], n);
			ns[w][r] = (double)(bench_now() - t0) / (double)n;
		}
	}
	for (w = W_ENTRY; w < NWALKERS; w++) {
		reads[w] = x[w].pool.reads / (uint64_t)reps;
		xlat_fini(&x[w]);
	}

	for (mapped = 0, i = 0; i < n; i++)
		mapped += res[W_HTABLE][i] != NOPA;
	for (w = 0; w < NWALKERS; w++) {
		if (w != W_HTABLE) {
			for (r = 0; r < reps; r++)
				ratio[r] = ns[W_HTABLE][r] / ns[w][r];
			stats(ratio, reps, &med, &lo, &hi);
		}
		(void) printf("%-18s ", walker_name[w]);
		if (w != W_HTABLE)
			(void) printf("ratio htable/addrxlat=%.2f  "
			    "(%.2f..%.2f)  ", med, lo, hi);
		stats(ns[w], reps, &med, &lo, &hi);
		(void) printf("ns=%.1f  (min %.1f max %.1f)", med, lo, hi);
		if (w == W_HTABLE) {
			(void) printf("  n=%zu mapped=%zu reps=%d\n", n,
			    mapped, reps);
			continue;
		}
		differ(res[W_HTABLE], res[w], n, &dm, &du);
		(void) printf("  differ=%" PRIu64 "\n", dm + du);
		(void) printf("%-18s differ: mapped %" PRIu64 ", unmapped %"
		    PRIu64 ";  reads/xlat=%.2f of %zu bytes;  errors=%"
		    PRIu64 "\n", "", dm, du, (double)reads[w] / (double)n,
		    x[w].pool.gran, odd[w]);
	}
	(void) printf("%-18s maxrss=%.1f MiB\n", "", maxrss_mib());
	for (w = 0; w < NWALKERS; w++) {
		free(res[w]);
		free(ns[w]);
	}
	free(ratio);
}

/* ------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
	static const ht_mode_t root_modes[] = { HT_MODE_4LEVEL,
	    HT_MODE_5LEVEL };
	const ht_geometry_t *geo;
	ht_scan_cfg_t cfg;
	ht_scan_stats_t sst;
	scan_count_t cnt = { 0, 0 };
	scan_pick_t pk;
	image_t im;
	ht_mode_t mode;
	uint64_t cr3, rng = SEED, t0, *va, *pick, unmapped_hit = 0;
	roots_cand_t *cand;
	size_t n = N_DEFAULT, nmap, i, ncand;
	double ms;
	char *end;
	int rc, reps, tries;

	if (argc < 4 || argc > 5) {
		(void) fprintf(stderr,
		    "usage: bench_dump IMAGE MODE CR3 [N]\n");
		return (2);
	}
	if (ht_mode_parse(argv[2], &mode) != 0 ||
	    (geo = ht_geometry(mode)) == NULL) {
		(void) fprintf(stderr, "bench_dump: bad mode %s\n", argv[2]);
		return (2);
	}
	cr3 = strtoull(argv[3], &end, 0);
	if (*end != '\0') {
		(void) fprintf(stderr, "bench_dump: bad CR3 %s\n", argv[3]);
		return (2);
	}
	if (argc == 5) {
		n = (size_t)strtoull(argv[4], &end, 0);
		if (*end != '\0' || n < 10) {
			(void) fprintf(stderr, "bench_dump: bad N %s\n",
			    argv[4]);
			return (2);
		}
	}
	reps = (int)env_long("BENCH_REPS", REPS_DEFAULT);
	if (reps < 1)
		reps = 1;
	pin_cpu();

	/* the image */
	t0 = bench_now();
	if ((rc = image_open(argv[1], &im)) != 0)
		die("%s: %s", argv[1], image_strerror(&im, rc));
	ms = ms_since(t0);
	(void) printf("image %s  format=%s  size=%.1f MiB  extents=%zu  "
	    "open=%.1f ms  maxrss=%.1f MiB\n", argv[1], im.format,
	    (double)im.size / 1048576.0, im.next, ms, maxrss_mib());

	(void) memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.cr3 = cr3;
	cfg.read = image_read;
	cfg.read_arg = &im;

	/* a) the scan */
	t0 = bench_now();
	rc = ht_scan(&cfg, count_leaf, &cnt, &sst);
	ms = ms_since(t0);
	if (rc != 0)
		die("ht_scan: %s", ht_strerror(rc));
	(void) printf("dump_scan  leaves=%" PRIu64 "  bytes=%" PRIu64
	    "  tables=%" PRIu64 "  total=%.1f ms  ns/leaf=%.1f  "
	    "maxrss=%.1f MiB\n", cnt.leaves, cnt.bytes, sst.tables, ms,
	    cnt.leaves ? ms * 1e6 / (double)cnt.leaves : 0.0, maxrss_mib());
	if (cnt.leaves == 0)
		die("no leaves under cr3 0x%" PRIx64 " in %s", cr3,
		    ht_mode_name(mode));

	/* the addresses: 90% drawn from the leaves, 10% unmapped */
	va = calloc(n, sizeof (*va));
	pick = calloc(n, sizeof (*pick));
	if (va == NULL || pick == NULL)
		die("out of memory");
	nmap = n - n / 10;
	for (i = 0; i < nmap; i++)
		pick[i] = bench_rand(&rng) % cnt.leaves;
	qsort(pick, nmap, sizeof (pick[0]), cmp_u64);
	(void) memset(&pk, 0, sizeof (pk));
	pk.pick = pick;
	pk.npick = nmap;
	pk.va = va;
	pk.rng = rng;
	rc = ht_scan(&cfg, pick_leaf, &pk, NULL);
	if (rc < 0 || pk.next != nmap)
		die("second scan: %s (%zu of %zu addresses)",
		    rc < 0 ? ht_strerror(rc) : "short", pk.next, nmap);
	for (i = nmap; i < n; i++) {
		ht_scan_xlate_t x;

		for (tries = 0; tries < UNMAPPED_TRIES; tries++) {
			va[i] = random_va(geo, &rng);
			if (ht_scan_translate(&cfg, va[i], &x) == 0 &&
			    x.stop != HT_STOP_MAPPED)
				break;
		}
		if (tries == UNMAPPED_TRIES)
			unmapped_hit++;
	}
	shuffle_u64(va, n, &rng);
	free(pick);
	if (unmapped_hit != 0)
		(void) printf("note: %" PRIu64 " of the 'unmapped' addresses "
		    "are mapped (the space is nearly full)\n", unmapped_hit);

	/* b) htable and c) libaddrxlat, interleaved */
	bench_xlat(&cfg, &im, va, n, reps);
	free(va);

	/* d) roots */
	t0 = bench_now();
	rc = roots_find(&im, root_modes, 2, 0, &cand, &ncand);
	ms = ms_since(t0);
	if (rc != 0)
		die("roots_find: %s", rc == ROOTS_ENOMEM ? "out of memory" :
		    "bad mode");
	(void) printf("roots  total=%.1f ms  candidates=%zu", ms, ncand);
	if (ncand != 0)
		(void) printf("  best=%s cr3=0x%" PRIx64 " leaves=%" PRIu64
		    " confidence=%u (%s)", ht_mode_name(cand[0].mode),
		    cand[0].cr3, cand[0].leaves, cand[0].confidence,
		    cand[0].cr3 == (cr3 & geo->root_mask) &&
		    cand[0].mode == mode ? "the root given" : "another root");
	(void) printf("  maxrss=%.1f MiB\n", maxrss_mib());
	free(cand);
	image_close(&im);
	return (0);
}
