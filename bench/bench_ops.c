/*
 * bench_ops.c - the library operations, timed over a 1 GiB VA range in
 * 4-level mode with the default arena provider: once with 4 KiB pages
 * (262,144 pages) and once with 2 MiB pages (512 pages).
 *
 * Every figure is ns per page (per leaf for walks, per call for the
 * one-page-per-call variants).  Setting up and tearing down address spaces
 * is never timed.  Every return value of the library is checked, also in
 * the timed loops: a failing operation would otherwise give a fine-looking
 * but meaningless figure, and a predictable branch costs next to nothing.
 *
 * 512 pages of 2 MiB take only about a microsecond to map, too short to
 * time on its own with a wall clock, so the 2 MiB variants repeat the
 * operation (over 64 address spaces, in 8 rounds, or 512 passes over one
 * space) until a sample covers 262,144 pages, as many as the 4 KiB ones.
 *
 * The `_nommu` lines do the same work in spaces made HT_AS_NOMMU (no MMU
 * walks them yet: plain stores instead of locked read-modify-writes, no
 * TLB hook, one lock per call).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <htable.h>

#include "bench.h"
#include "bench-list.h"

/*
 * VA_BASE is 512 GiB-aligned so that the range sits under one PML4 slot,
 * as in the peer's measurement.  The target pages (PA_BASE) are never
 * touched; they lie far above the arena that holds the tables, as the
 * peer's did (1 TiB).
 */
#define VA_BASE		((ht_va_t)0x100000000000ull)	/* 16 TiB */
#define PA_BASE		((ht_pa_t)0x10000000000ull)	/* 1 TiB */
#define RANGE		((uint64_t)1 << 30)
#define ARENA_BASE	((ht_pa_t)1 << 30)
#define ARENA_SIZE	((uint64_t)64 << 20)		/* table memory */

#define MAX_SPACES	64

/* Flags of the spaces the benchmarks make: HT_AS_NOMMU for `_nommu`. */
static unsigned space_flags;

typedef struct psize {
	unsigned	flag;		/* HT_PS_* */
	uint64_t	size;		/* bytes per page */
	uint32_t	npages;		/* pages in RANGE */
	unsigned	nspaces;	/* address spaces per round */
	unsigned	nrounds;	/* rounds per sample */
	unsigned	npasses;	/* passes per sample (translate, walk) */
	uint64_t	tables;		/* frames a map builds (root excluded) */
} psize_t;

static const psize_t ps_4k = {
	HT_PS_4K, (uint64_t)4096, 262144, 1, 1, 1, 512 + 1 + 1
};
static const psize_t ps_2m = {
	HT_PS_2M, (uint64_t)2 << 20, 512, MAX_SPACES, 8, 512, 1 + 1
};

typedef struct env {
	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
} env_t;

static _Noreturn void
ht_fail(const char *what, int rc, int line)
{
	const char *d = ht_errdetail();

	bench_die("bench_ops.c:%d: %s failed: %s (%s)%s%s", line, what,
	    ht_err_name(rc), ht_strerror(rc), *d != '\0' ? ": " : "", d);
}

/* Any negative result ends the run with the library's own explanation. */
#define CHECK(call)							\
	do {								\
		int check_rc_ = (call);					\
		if (check_rc_ < 0)					\
			ht_fail(#call, check_rc_, __LINE__);		\
	} while (0)

/*
 * The arena reserves its memory lazily and hands frames out next-fit, so
 * without this every sample would build its tables in frames never
 * touched before and pay a page fault per table (about 1.2 us each on
 * this VM, i.e. 2.4 ns per 4 KiB page of a 1 GiB map): a figure of the
 * host kernel, not of the library.  A VMM's guest memory is normally
 * resident, so the arena is touched once here, untimed.  BENCH_PREFAULT=0
 * leaves it cold to show the difference.
 */
static void
arena_prefault(ht_arena_t *arena)
{
	ht_pa_t pa;
	char *p;

	for (pa = ARENA_BASE; pa < ARENA_BASE + ARENA_SIZE; pa += 4096) {
		if ((p = ht_arena_ptr(arena, pa)) == NULL)
			bench_die("ht_arena_ptr(0x%" PRIx64 ") is NULL", pa);
		*(volatile char *)p = 0;
	}
}

static void
env_init(env_t *e)
{
	ht_config_t cfg = { 0 };

	CHECK(ht_arena_create(ARENA_BASE, ARENA_SIZE, 0, &e->arena));
	if (bench_env_int("BENCH_PREFAULT", 1, 0) != 0)
		arena_prefault(e->arena);
	cfg.mode = bench_mode();
	cfg.ept = bench_ept();
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = e->arena;
	CHECK(ht_ctx_create(&cfg, &e->ctx));
}

static void
env_fini(env_t *e)
{
	/* -HT_EBUSY here would mean a benchmark leaked an address space. */
	CHECK(ht_ctx_destroy(e->ctx));
	ht_arena_destroy(e->arena);
}

static ht_as_t *
space_new(env_t *e)
{
	ht_as_t *as;

	CHECK(ht_as_create(e->ctx, space_flags, &as));
	return (as);
}

static void
map_range(ht_as_t *as, const psize_t *p)
{
	CHECK(ht_map(as, VA_BASE, PA_BASE, RANGE, HT_W,
	    HT_MAP_SIZE(p->flag)));
}

static uint64_t
table_count(ht_as_t *as)
{
	ht_stats_t st;
	uint64_t n = 0;
	unsigned i;

	ht_as_stats(as, &st);
	for (i = 0; i < HT_MAX_LEVELS; i++)
		n += st.tables[i];
	return (n);
}

/*
 * Sanity check after setting up: the page at VA_BASE + i * size must be a
 * leaf of the requested size pointing at want_pa.  A forced page size
 * that the library silently ignored would make the 2 MiB figures 4 KiB
 * ones.
 */
static void
check_page(ht_as_t *as, const psize_t *p, uint32_t i, ht_pa_t want_pa)
{
	ht_xlate_t x;
	ht_va_t va = VA_BASE + (uint64_t)i * p->size;

	CHECK(ht_translate(as, va, &x));
	if (x.pa != want_pa || x.page_size != p->size)
		bench_die("translate of 0x%" PRIx64 " gave pa 0x%" PRIx64
		    " size 0x%" PRIx64 ", wanted pa 0x%" PRIx64
		    " size 0x%" PRIx64, va, x.pa, x.page_size, want_pa,
		    p->size);
}

static void
check_mapped(ht_as_t *as, const psize_t *p)
{
	check_page(as, p, 0, PA_BASE);
	check_page(as, p, p->npages - 1,
	    PA_BASE + (uint64_t)(p->npages - 1) * p->size);
}

/*
 * map: ht_map of the whole range in one call, into a fresh address space
 * each time.  Also reports how many table frames one map built, from the
 * library's statistics (or from the geometry if it keeps none).
 */
static int
run_map(bench_run_t *r, const psize_t *p)
{
	env_t e;
	ht_as_t *as[MAX_SPACES];
	uint64_t t0, total, before = 0, tables = 0;
	unsigned i, k;
	int s, counted = 0;

	env_init(&e);
	r->ops = (uint64_t)p->npages * p->nspaces * p->nrounds;
	for (s = -r->warmup; s < r->reps; s++) {
		total = 0;
		for (k = 0; k < p->nrounds; k++) {
			for (i = 0; i < p->nspaces; i++)
				as[i] = space_new(&e);
			if (!counted)
				before = table_count(as[0]);
			t0 = bench_now();
			for (i = 0; i < p->nspaces; i++)
				map_range(as[i], p);
			total += bench_now() - t0;
			if (!counted) {
				check_mapped(as[0], p);
				tables = table_count(as[0]) - before;
				counted = 1;
			}
			for (i = 0; i < p->nspaces; i++)
				ht_as_destroy(as[i]);
		}
		if (s >= 0)
			r->ns[s] = (double)total / (double)r->ops;
	}
	env_fini(&e);
	r->tables = tables != 0 ? tables : p->tables;
	r->pages = p->npages;
	return (0);
}

/*
 * unmap: ht_unmap of the whole mapped range.  The spaces are kept from
 * round to round, so that a library that caches emptied tables is timed
 * the way a long-lived address space would use it.
 */
static int
run_unmap(bench_run_t *r, const psize_t *p)
{
	env_t e;
	ht_as_t *as[MAX_SPACES];
	uint64_t t0, total;
	unsigned i, k;
	int s;

	env_init(&e);
	for (i = 0; i < p->nspaces; i++)
		as[i] = space_new(&e);
	r->ops = (uint64_t)p->npages * p->nspaces * p->nrounds;
	for (s = -r->warmup; s < r->reps; s++) {
		total = 0;
		for (k = 0; k < p->nrounds; k++) {
			for (i = 0; i < p->nspaces; i++)
				map_range(as[i], p);
			t0 = bench_now();
			for (i = 0; i < p->nspaces; i++)
				CHECK(ht_unmap(as[i], VA_BASE, RANGE, 0));
			total += bench_now() - t0;
		}
		if (s >= 0)
			r->ns[s] = (double)total / (double)r->ops;
	}
	for (i = 0; i < p->nspaces; i++)
		ht_as_destroy(as[i]);
	env_fini(&e);
	return (0);
}

/*
 * protect: ht_protect of the whole range, alternating between writable
 * and read-only so that every call really rewrites every entry.
 */
static int
run_protect(bench_run_t *r, const psize_t *p)
{
	env_t e;
	ht_as_t *as[MAX_SPACES];
	uint64_t t0, total;
	unsigned i, k, attr = HT_W;
	int s;

	env_init(&e);
	for (i = 0; i < p->nspaces; i++) {
		as[i] = space_new(&e);
		map_range(as[i], p);
	}
	r->ops = (uint64_t)p->npages * p->nspaces * p->nrounds;
	for (s = -r->warmup; s < r->reps; s++) {
		total = 0;
		for (k = 0; k < p->nrounds; k++) {
			/* Mapped with HT_W, so the first call takes it away. */
			attr ^= HT_W;
			t0 = bench_now();
			for (i = 0; i < p->nspaces; i++)
				CHECK(ht_protect(as[i], VA_BASE, RANGE, attr));
			total += bench_now() - t0;
		}
		if (s >= 0)
			r->ns[s] = (double)total / (double)r->ops;
	}
	{
		/* The last call must have taken effect. */
		ht_xlate_t x;

		CHECK(ht_translate(as[0], VA_BASE, &x));
		if ((x.attr & HT_W) != attr)
			bench_die("ht_protect did not change HT_W (attr 0x%x)",
			    x.attr);
	}
	for (i = 0; i < p->nspaces; i++)
		ht_as_destroy(as[i]);
	env_fini(&e);
	return (0);
}

/*
 * The space the translate and walk benchmarks read: page i of the range
 * maps page next[i] of the PA range, where next[] is one random cycle
 * through all pages.  Following pa back into the VA range therefore
 * visits every page once per lap, in an order no prefetcher can guess,
 * and each translation depends on the one before.  Built page by page
 * (the PAs are not contiguous), which is not timed.
 */
static ht_as_t *
chain_space(env_t *e, const psize_t *p)
{
	ht_as_t *as = space_new(e);
	uint32_t *order = bench_alloc(sizeof (uint32_t) * p->npages);
	uint32_t *next = bench_alloc(sizeof (uint32_t) * p->npages);
	uint64_t seed = 0x5eed0001ull + p->flag;
	uint32_t i;

	for (i = 0; i < p->npages; i++)
		order[i] = i;
	bench_shuffle(order, p->npages, &seed);
	for (i = 0; i < p->npages; i++)
		next[order[i]] = order[(i + 1) % p->npages];
	for (i = 0; i < p->npages; i++)
		CHECK(ht_map(as, VA_BASE + (uint64_t)i * p->size,
		    PA_BASE + (uint64_t)next[i] * p->size, p->size, HT_W,
		    HT_MAP_SIZE(p->flag)));
	check_page(as, p, order[0],
	    PA_BASE + (uint64_t)order[1 % p->npages] * p->size);
	free(order);
	free(next);
	return (as);
}

typedef enum xorder {
	XLATE_SEQ,	/* VA order: throughput, prefetch-friendly */
	XLATE_RAND,	/* shuffled, independent: throughput */
	XLATE_DEP	/* next VA from the previous pa: latency */
} xorder_t;

/*
 * One lookup: the full report (ht_translate) or the address alone
 * (ht_va2pa, what the peer's translate_addr returns).
 */
static inline int
lookup(ht_as_t *as, ht_va_t va, int pa_only, ht_xlate_t *x)
{
	if (pa_only)
		return (ht_va2pa(as, va, &x->pa));
	return (ht_translate(as, va, x));
}

static int
run_xlate(bench_run_t *r, const psize_t *p, xorder_t how, int pa_only)
{
	env_t e;
	ht_as_t *as;
	ht_xlate_t x;
	uint32_t *idx = NULL;
	uint64_t t0, n, k, acc = 0, seed = 0x5eed0002ull + p->flag;
	ht_va_t va, start = VA_BASE;
	int s;

	env_init(&e);
	as = chain_space(&e, p);
	n = (uint64_t)p->npages * p->npasses;
	r->ops = n;
	if (how == XLATE_RAND) {
		/*
		 * One sample's worth of indices, a fresh shuffle for every
		 * pass, so that repeating a 512-entry order for the 2 MiB
		 * case does not let the branch predictors learn it.  The
		 * index array itself is read sequentially: the prefetcher
		 * hides it.
		 */
		idx = bench_alloc(sizeof (uint32_t) * n);
		for (k = 0; k < n; k += p->npages) {
			uint32_t i;

			for (i = 0; i < p->npages; i++)
				idx[k + i] = i;
			bench_shuffle(idx + k, p->npages, &seed);
		}
	}
	for (s = -r->warmup; s < r->reps; s++) {
		va = start;
		t0 = bench_now();
		switch (how) {
		case XLATE_SEQ:
			for (k = 0; k < p->npasses; k++) {
				uint32_t i;

				for (i = 0; i < p->npages; i++) {
					va = VA_BASE + (uint64_t)i * p->size;
					if (lookup(as, va, pa_only, &x) != 0)
						bench_die("translate 0x%" PRIx64
						    " failed", va);
					acc += x.pa;
				}
			}
			break;
		case XLATE_RAND:
			for (k = 0; k < n; k++) {
				va = VA_BASE + (uint64_t)idx[k] * p->size;
				if (lookup(as, va, pa_only, &x) != 0)
					bench_die("translate 0x%" PRIx64
					    " failed", va);
				acc += x.pa;
			}
			break;
		case XLATE_DEP:
			for (k = 0; k < n; k++) {
				if (lookup(as, va, pa_only, &x) != 0)
					bench_die("translate 0x%" PRIx64
					    " failed", va);
				va = VA_BASE + (x.pa - PA_BASE);
			}
			/* n is whole laps of the cycle: back at the start. */
			if (va != start)
				bench_die("dependent chain ended at 0x%" PRIx64
				    ", not 0x%" PRIx64 ": bad translations",
				    va, start);
			acc += va;
			break;
		}
		if (s >= 0)
			r->ns[s] = (double)(bench_now() - t0) / (double)n;
	}
	bench_sink = acc;
	free(idx);
	ht_as_destroy(as);
	env_fini(&e);
	return (0);
}

/*
 * The soft TLB (ht_stlb_*): an emulator's working set of 4096 pages (16
 * MiB of a space whose frames are shuffled) and a cache of as many
 * entries (64 KiB, L2-resident), looked up read at CPL 0, 64 passes a
 * sample.  STLB_HIT_*: every lookup hits (the inline path of htable.h);
 * STLB_FILL: a one-entry cache, so each page misses and is filled (the
 * walk and the store; A is set already, by the warm-up).
 */
static const psize_t ps_stlb = {
	HT_PS_4K, (uint64_t)4096, 4096, 1, 1, 64, 0
};

typedef enum sorder {
	STLB_HIT_SEQ,
	STLB_HIT_RAND,
	STLB_FILL
} sorder_t;

static int
run_stlb(bench_run_t *r, const psize_t *p, sorder_t how)
{
	env_t e;
	ht_as_t *as;
	ht_stlb_t *t;
	ht_cpu_t cpu = { HT_CPU_NXE, 0, 0 };	/* the leaves have NX */
	ht_access_t a;
	uint32_t *idx;
	uint64_t t0, n, k, acc = 0, seed = 0x5eed0003ull;
	ht_pa_t pa;
	int s;

	env_init(&e);
	as = chain_space(&e, p);
	if (ht_stlb_create(as, how == STLB_FILL ? 1 : p->npages, &cpu,
	    &t) != 0)
		bench_die("ht_stlb_create: %s", ht_errdetail());
	n = (uint64_t)p->npages * p->npasses;
	r->ops = n;
	/* the order of every pass, fresh shuffles (as run_xlate's) */
	idx = bench_alloc(sizeof (uint32_t) * n);
	for (k = 0; k < n; k += p->npages) {
		for (uint32_t i = 0; i < p->npages; i++)
			idx[k + i] = i;
		if (how == STLB_HIT_RAND)
			bench_shuffle(idx + k, p->npages, &seed);
	}
	for (uint32_t i = 0; i < p->npages; i++)
		if (ht_stlb_fill(t, VA_BASE + (uint64_t)i * p->size,
		    HT_ACC_READ, 0, &a) != 0 || a.fault != HT_FAULT_NONE)
			bench_die("stlb fill of page %u failed: %s fault %d "
			    "ec 0x%x", i, ht_errdetail(), (int)a.fault,
			    a.error_code);
	for (s = -r->warmup; s < r->reps; s++) {
		t0 = bench_now();
		for (k = 0; k < n; k++) {
			/* in VA order without the index array, as run_xlate */
			ht_va_t va = VA_BASE + (how == STLB_HIT_SEQ ?
			    (k % p->npages) : idx[k]) * p->size;

			if (ht_stlb_lookup(t, va, HT_ACC_READ, 0, &pa)) {
				acc += pa;
				continue;
			}
			if (how != STLB_FILL)
				bench_die("stlb miss at 0x%" PRIx64, va);
			if (ht_stlb_fill(t, va, HT_ACC_READ, 0, &a) != 0)
				bench_die("stlb fill 0x%" PRIx64 " failed", va);
			acc += a.pa;
		}
		if (s >= 0)
			r->ns[s] = (double)(bench_now() - t0) / (double)n;
	}
	bench_sink = acc;
	free(idx);
	ht_stlb_destroy(t);
	ht_as_destroy(as);
	env_fini(&e);
	return (0);
}

int
bench_stlb_hit_seq_4k(bench_run_t *r)
{
	return (run_stlb(r, &ps_stlb, STLB_HIT_SEQ));
}

int
bench_stlb_hit_rand_4k(bench_run_t *r)
{
	return (run_stlb(r, &ps_stlb, STLB_HIT_RAND));
}

int
bench_stlb_miss_fill_4k(bench_run_t *r)
{
	return (run_stlb(r, &ps_stlb, STLB_FILL));
}

/* The trivial walk callback: count, so that the count can be checked. */
static int
walk_count(void *arg, const ht_leaf_t *leaf)
{
	(void) leaf;
	(*(uint64_t *)arg)++;
	return (0);
}

/*
 * ht_scan's reader over the arena, as a debugger's over a mapped image:
 * a bounds check and a copy.
 */
static int
arena_read(void *arg, ht_pa_t pa, void *buf, size_t len)
{
	ht_arena_t *a = arg;
	const char *p;

	if (pa < ht_arena_base(a) || pa - ht_arena_base(a) + len >
	    ht_arena_size(a) || (p = ht_arena_ptr(a, pa)) == NULL) {
		memset(buf, 0, len);
		return (1);
	}
	memcpy(buf, p, len);
	return (0);
}

/*
 * Visit every leaf: with ht_walk, or (scan) read the same tables as an
 * untrusted image through ht_scan: every table copied out through the
 * read function, every entry checked for reserved bits, the memo kept.
 */
static int
run_walk(bench_run_t *r, const psize_t *p, int scan)
{
	env_t e;
	ht_as_t *as;
	ht_scan_cfg_t cfg = { .mode = bench_mode(), .read = arena_read };
	uint64_t t0, count;
	unsigned k;
	int s;

	env_init(&e);
	as = space_new(&e);
	map_range(as, p);
	cfg.cr3 = ht_as_root(as);
	if (bench_ept() != 0)	/* EPT: the EPTP, A/D on */
		CHECK(ht_as_eptp(as, HT_EPT_WB, &cfg.cr3));
	cfg.read_arg = e.arena;
	r->ops = (uint64_t)p->npages * p->npasses;
	for (s = -r->warmup; s < r->reps; s++) {
		count = 0;
		t0 = bench_now();
		for (k = 0; k < p->npasses; k++) {
			if (scan)
				CHECK(ht_scan(&cfg, walk_count, &count, NULL));
			else
				CHECK(ht_walk(as, VA_BASE, VA_BASE + RANGE - 1,
				    walk_count, &count));
		}
		if (s >= 0)
			r->ns[s] = (double)(bench_now() - t0) / (double)r->ops;
		if (count != r->ops)
			bench_die("%s reported %" PRIu64 " leaves, not %"
			    PRIu64, scan ? "ht_scan" : "ht_walk", count,
			    r->ops);
	}
	ht_as_destroy(as);
	env_fini(&e);
	return (0);
}

/* map, one 4 KiB page per call: the per-call overhead. */
static int
run_map_1page(bench_run_t *r, const psize_t *p)
{
	env_t e;
	ht_as_t *as;
	uint64_t t0, off;
	uint32_t i;
	int s;

	env_init(&e);
	r->ops = p->npages;
	for (s = -r->warmup; s < r->reps; s++) {
		as = space_new(&e);
		t0 = bench_now();
		for (i = 0; i < p->npages; i++) {
			off = (uint64_t)i * p->size;
			CHECK(ht_map(as, VA_BASE + off, PA_BASE + off, p->size,
			    HT_W, HT_MAP_SIZE(p->flag)));
		}
		if (s >= 0)
			r->ns[s] = (double)(bench_now() - t0) / (double)r->ops;
		check_mapped(as, p);
		ht_as_destroy(as);
	}
	env_fini(&e);
	r->tables = p->tables;
	r->pages = p->npages;
	return (0);
}

/* unmap, one 4 KiB page per call, of a range mapped in one call. */
static int
run_unmap_1page(bench_run_t *r, const psize_t *p)
{
	env_t e;
	ht_as_t *as;
	uint64_t t0;
	uint32_t i;
	int s;

	env_init(&e);
	as = space_new(&e);
	r->ops = p->npages;
	for (s = -r->warmup; s < r->reps; s++) {
		map_range(as, p);
		t0 = bench_now();
		for (i = 0; i < p->npages; i++)
			CHECK(ht_unmap(as, VA_BASE + (uint64_t)i * p->size,
			    p->size, 0));
		if (s >= 0)
			r->ns[s] = (double)(bench_now() - t0) / (double)r->ops;
	}
	ht_as_destroy(as);
	env_fini(&e);
	return (0);
}

int
bench_map_4k(bench_run_t *r)
{
	return (run_map(r, &ps_4k));
}

int
bench_unmap_4k(bench_run_t *r)
{
	return (run_unmap(r, &ps_4k));
}

int
bench_protect_4k(bench_run_t *r)
{
	return (run_protect(r, &ps_4k));
}

/* run fn over spaces that no MMU walks */
static int
run_nommu(int (*fn)(bench_run_t *, const psize_t *), bench_run_t *r,
    const psize_t *p)
{
	int rc;

	space_flags = HT_AS_NOMMU;
	rc = fn(r, p);
	space_flags = 0;
	return (rc);
}

int
bench_map_4k_nommu(bench_run_t *r)
{
	return (run_nommu(run_map, r, &ps_4k));
}

int
bench_unmap_4k_nommu(bench_run_t *r)
{
	return (run_nommu(run_unmap, r, &ps_4k));
}

int
bench_protect_4k_nommu(bench_run_t *r)
{
	return (run_nommu(run_protect, r, &ps_4k));
}

int
bench_map_2m_nommu(bench_run_t *r)
{
	return (run_nommu(run_map, r, &ps_2m));
}

int
bench_unmap_2m_nommu(bench_run_t *r)
{
	return (run_nommu(run_unmap, r, &ps_2m));
}

int
bench_protect_2m_nommu(bench_run_t *r)
{
	return (run_nommu(run_protect, r, &ps_2m));
}

int
bench_xlate_seq_4k(bench_run_t *r)
{
	return (run_xlate(r, &ps_4k, XLATE_SEQ, 0));
}

int
bench_xlate_rand_4k(bench_run_t *r)
{
	return (run_xlate(r, &ps_4k, XLATE_RAND, 0));
}

int
bench_xlate_dep_4k(bench_run_t *r)
{
	return (run_xlate(r, &ps_4k, XLATE_DEP, 0));
}

int
bench_walk_4k(bench_run_t *r)
{
	return (run_walk(r, &ps_4k, 0));
}

int
bench_scan_4k(bench_run_t *r)
{
	return (run_walk(r, &ps_4k, 1));
}

int
bench_map_1page_4k(bench_run_t *r)
{
	return (run_map_1page(r, &ps_4k));
}

int
bench_unmap_1page_4k(bench_run_t *r)
{
	return (run_unmap_1page(r, &ps_4k));
}

int
bench_map_2m(bench_run_t *r)
{
	return (run_map(r, &ps_2m));
}

int
bench_unmap_2m(bench_run_t *r)
{
	return (run_unmap(r, &ps_2m));
}

int
bench_protect_2m(bench_run_t *r)
{
	return (run_protect(r, &ps_2m));
}

int
bench_xlate_seq_2m(bench_run_t *r)
{
	return (run_xlate(r, &ps_2m, XLATE_SEQ, 0));
}

int
bench_xlate_rand_2m(bench_run_t *r)
{
	return (run_xlate(r, &ps_2m, XLATE_RAND, 0));
}

int
bench_xlate_dep_2m(bench_run_t *r)
{
	return (run_xlate(r, &ps_2m, XLATE_DEP, 0));
}

int
bench_walk_2m(bench_run_t *r)
{
	return (run_walk(r, &ps_2m, 0));
}

int
bench_scan_2m(bench_run_t *r)
{
	return (run_walk(r, &ps_2m, 1));
}

int
bench_va2pa_seq_4k(bench_run_t *r)
{
	return (run_xlate(r, &ps_4k, XLATE_SEQ, 1));
}

int
bench_va2pa_rand_4k(bench_run_t *r)
{
	return (run_xlate(r, &ps_4k, XLATE_RAND, 1));
}

int
bench_va2pa_dep_4k(bench_run_t *r)
{
	return (run_xlate(r, &ps_4k, XLATE_DEP, 1));
}

int
bench_va2pa_seq_2m(bench_run_t *r)
{
	return (run_xlate(r, &ps_2m, XLATE_SEQ, 1));
}

int
bench_va2pa_rand_2m(bench_run_t *r)
{
	return (run_xlate(r, &ps_2m, XLATE_RAND, 1));
}

int
bench_va2pa_dep_2m(bench_run_t *r)
{
	return (run_xlate(r, &ps_2m, XLATE_DEP, 1));
}
