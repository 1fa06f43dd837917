/*
 * bench_many.c - what the many-parties parts cost (4-level paging, the
 * default arena): a switch of a CPU root between two spaces, with and
 * without KPTI; one page mapped per call with the reverse map kept, in
 * the worst order for it (every page its own extent), and the bytes the
 * map then takes per mapping; and ht_page_unload of a frame that a
 * source maps and N sharers see through its shared table.
 *
 * Setting up is never timed.  Every return value is checked.  The
 * figures are ns per switch, per page and per unload; the bytes per
 * mapping are printed as a note under the table.
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
#include "bench_env.h"

#define ARENA_BASE	((ht_pa_t)1 << 30)
#define ARENA_SIZE	((uint64_t)256 << 20)
#define PA_BASE		((ht_pa_t)0x10000000000ull)	/* 1 TiB, untouched */
#define VA_BASE		((ht_va_t)0x100000000000ull)	/* 16 TiB */
#define SWITCHES	100000u
#define RMAP_PAGES	65536u
#define UNLOAD_PAGES	512u		/* one level-0 table of the source */

/* A TLB hook that only counts, as a VMM's would queue its flushes. */
static uint64_t tlb_calls;

static void
tlb_count(void *arg, ht_as_t *as, ht_va_t va, uint64_t len)
{
	(void) arg; (void) as; (void) va; (void) len;
	tlb_calls++;
}

static void
env_init(env_t *e, int rmap, int kpti)
{
	ht_config_t cfg;

	memset(&cfg, 0, sizeof (cfg));
	cfg.rmap = rmap;
	cfg.kpti = kpti;
	cfg.tlb = tlb_count;
	env_init_cfg(e, ARENA_BASE, ARENA_SIZE, &cfg);
}

/*
 * Two copied spaces, each with pages under 16 top-level entries (a
 * process with code, heap, libraries and stack spread out), a kernel
 * space, and one CPU root: time switches back and forth.
 */
static int
run_switch(bench_run_t *r, int kpti)
{
	env_t e;
	ht_as_t *sp[2], *k, *ku = NULL;
	ht_cpu_root_cfg_t rc;
	ht_cpu_root_t *cr;
	ht_switch_t sw;
	uint64_t t0;
	int s;

	env_init(&e, 0, kpti);
	CHECK(ht_as_create(e.ctx, 0, &k));
	CHECK(ht_map(k, bench_kernel_va(), PA_BASE, 1 << 20, HT_W, 0));
	if (kpti) {
		CHECK(ht_as_create(e.ctx, 0, &ku));
		CHECK(ht_map(ku, bench_kernel_va(), PA_BASE, 4096, 0, 0));
	}
	for (int i = 0; i < 2; i++) {
		CHECK(ht_as_create(e.ctx, HT_AS_COPIED, &sp[i]));
		CHECK(ht_as_set_pcid(sp[i], 1 + (unsigned)i));
		for (uint64_t j = 0; j < 16; j++)
			CHECK(ht_map(sp[i], j << 39, PA_BASE, 1 << 16, HT_W,
			    0));
	}
	memset(&rc, 0, sizeof (rc));
	rc.kernel = k;
	rc.kpti_user = ku;
	CHECK(ht_cpu_root_create(e.ctx, &rc, &cr));
	r->ops = SWITCHES;
	for (s = -r->warmup; s < r->reps; s++) {
		t0 = bench_now();
		for (uint32_t i = 0; i < SWITCHES; i++) {
			CHECK(ht_switch(cr, sp[i & 1], &sw));
			BENCH_KEEP(sw.cr3);
		}
		if (s >= 0)
			r->ns[s] = (double)(bench_now() - t0) / (double)r->ops;
	}
	CHECK(ht_cpu_root_audit(cr));
	ht_cpu_root_destroy(cr);
	ht_as_destroy(sp[0]);
	ht_as_destroy(sp[1]);
	if (ku != NULL)
		ht_as_destroy(ku);
	ht_as_destroy(k);
	env_fini(&e);
	return (0);
}

int
bench_switch(bench_run_t *r)
{
	return (run_switch(r, 0));
}

int
bench_switch_kpti(bench_run_t *r)
{
	return (run_switch(r, 1));
}

/*
 * One 4 KiB page per call, VAs in order, frames shuffled: no page
 * continues its neighbour, so each is an extent of its own (the reverse
 * map's worst case).  Then the bytes per mapping.
 */
int
bench_map_1page_rmap(bench_run_t *r)
{
	env_t e;
	ht_as_t *as;
	ht_stats_t st;
	uint32_t *perm = bench_alloc(sizeof (uint32_t) * RMAP_PAGES);
	uint64_t t0, seed = 42;
	int s;

	for (uint32_t i = 0; i < RMAP_PAGES; i++)
		perm[i] = i;
	bench_shuffle(perm, RMAP_PAGES, &seed);
	env_init(&e, 1, 0);
	r->ops = RMAP_PAGES;
	memset(&st, 0, sizeof (st));
	for (s = -r->warmup; s < r->reps; s++) {
		CHECK(ht_as_create(e.ctx, 0, &as));
		t0 = bench_now();
		for (uint32_t i = 0; i < RMAP_PAGES; i++)
			CHECK(ht_map(as, VA_BASE + (uint64_t)i * 4096, PA_BASE +
			    (uint64_t)perm[i] * 8192, 4096, HT_W, 0));
		if (s >= 0)
			r->ns[s] = (double)(bench_now() - t0) / (double)r->ops;
		ht_ctx_stats(e.ctx, &st);
		if (st.rmap_extents != RMAP_PAGES)
			bench_die("%" PRIu64 " extents for %u mappings",
			    st.rmap_extents, RMAP_PAGES);
		ht_as_destroy(as);
	}
	bench_note("reverse map: %.1f bytes per mapping when every page is "
	    "its own extent (%" PRIu64 " bytes for %u mappings); a run "
	    "mapped in VA and PA order is one extent", (double)st.rmap_bytes /
	    RMAP_PAGES, st.rmap_bytes, RMAP_PAGES);
	env_fini(&e);
	free(perm);
	return (0);
}

/*
 * The source maps UNLOAD_PAGES frames in one level-0 table, which n
 * sharers link; each unload removes one frame's leaf (and so the view of
 * every sharer, each told through its TLB hook).  ns per unload.
 */
static int
run_unload(bench_run_t *r, unsigned n)
{
	env_t e;
	ht_as_t *src, *sh[64];
	ht_share_info_t info;
	uint64_t t0;
	int s;

	env_init(&e, 1, 0);
	CHECK(ht_as_create(e.ctx, 0, &src));
	for (unsigned i = 0; i < n; i++) {
		CHECK(ht_as_create(e.ctx, 0, &sh[i]));
		CHECK(ht_share(sh[i], VA_BASE, src, VA_BASE, 2 << 20, &info));
		if (info.tables != 1)
			bench_die("share made %" PRIu64 " tables", info.tables);
	}
	r->ops = UNLOAD_PAGES;
	tlb_calls = 0;
	for (s = -r->warmup; s < r->reps; s++) {
		/* frames spread out: each its own extent, as after faults */
		for (uint32_t i = 0; i < UNLOAD_PAGES; i++)
			CHECK(ht_map(src, VA_BASE + (uint64_t)i * 4096,
			    PA_BASE + (uint64_t)i * 8192, 4096, HT_W, 0));
		t0 = bench_now();
		for (uint32_t i = 0; i < UNLOAD_PAGES; i++)
			if (ht_page_unload(e.ctx, PA_BASE + (uint64_t)i * 8192,
			    0, NULL, NULL) != 1)
				bench_die("unload of frame %u", i);
		if (s >= 0)
			r->ns[s] = (double)(bench_now() - t0) / (double)r->ops;
	}
	/* the source's call and one per sharer, per unload */
	if (tlb_calls < (uint64_t)UNLOAD_PAGES * (n + 1))
		bench_die("%" PRIu64 " TLB calls", tlb_calls);
	tlb_calls = 0;
	for (unsigned i = 0; i < n; i++)
		ht_as_destroy(sh[i]);
	ht_as_destroy(src);
	env_fini(&e);
	return (0);
}

int
bench_page_unload_1(bench_run_t *r)
{
	return (run_unload(r, 1));
}

int
bench_page_unload_8(bench_run_t *r)
{
	return (run_unload(r, 8));
}

int
bench_page_unload_64(bench_run_t *r)
{
	return (run_unload(r, 64));
}
