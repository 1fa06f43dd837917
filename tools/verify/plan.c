/*
 * plan.c - the first half of the verification library: open a session,
 * plan the probes, place the engine.
 *
 * Theory of operation
 *
 *  1. Plan.  The image's leaves (ht_scan) are coalesced into ranges; the
 *     probes are the first, middle and last page of each range and the
 *     pages just outside it, and the same of each run of pages whose
 *     level-0 entries hold data without being present (found by importing
 *     the tables: ht_walk_np), with all six access kinds (r w x at CPL 0
 *     and 3), unless the caller names its own.  A generated probe's VA
 *     tells its kind: the kinds of one page sit 8 bytes apart.  The
 *     caller may add the same probes for the ranges of other roots of
 *     the image (verify_add_root_probes), so that a root is also probed
 *     where only another one maps something.
 *  2. Place the engine.  Its own pages need a 2 MiB area of RAM that no
 *     table frame and no leaf touches (guest_pa), and a not-present entry
 *     of the image's tables whose VA range holds no probe, to link them
 *     from (the slot: a root entry if one is empty, else an entry one or
 *     two levels down; never a non-present entry holding data).  RAM
 *     covers the tables and that area, and the leaves into its first
 *     RAM_LEAF_MAX bytes, so that reads there land on markers.
 *
 * verify.c predicts, runs and compares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_impl.h"

#define MAX_GENERATED	(1u << 20)
#define RAM_LEAF_MAX	(256ull << 20)

/* Append a probe; 0, or -1 when out of memory. */
static int
add_probe(verify_t *v, uint64_t va, unsigned op, unsigned cpl)
{
	if (v->np == v->pcap) {
		size_t n = v->pcap ? v->pcap * 2 : 256;
		probe_t *p = realloc(v->p, n * sizeof (*p));

		if (p == NULL)
			return (-1);
		v->p = p;
		v->pcap = n;
	}
	v->p[v->np].va = va;
	v->p[v->np].op = (probe_op_t)op;
	v->p[v->np].cpl = cpl;
	v->np++;
	return (0);
}

/*
 * ht_scan callback: coalesce leaves into VA/PA-contiguous ranges.  0, or
 * -HT_ENOMEM (which stops the scan).
 */
static int
range_leaf(void *arg, const ht_leaf_t *l)
{
	verify_t *v = arg;
	vrange_t *r = v->nr ? &v->r[v->nr - 1] : NULL;

	if (r != NULL && l->va == r->last + 1 &&
	    l->pa == r->pa + (r->last - r->va + 1)) {
		r->last += l->size;
		return (0);
	}
	if (v->nr == v->cap) {
		size_t n = v->cap ? v->cap * 2 : 64;
		vrange_t *nv = realloc(v->r, n * sizeof (*nv));

		if (nv == NULL)
			return (-HT_ENOMEM);
		v->r = nv;
		v->cap = n;
	}
	v->r[v->nr].va = l->va;
	v->r[v->nr].last = l->va + l->size - 1;
	v->r[v->nr].pa = l->pa;
	v->nr++;
	return (0);
}

/* Is va an address of the mode (canonical, or below 2^va_bits)? */
static int
va_ok(const ht_geometry_t *g, uint64_t va)
{
	if (g->hole_start == 0)
		return (va >> g->va_bits == 0);
	return (va < g->hole_start || va > g->hole_end);
}

/* The six probes of the page at va (none if va is no address); 0 or -1. */
static int
probe_page(verify_t *v, uint64_t va)
{
	if (!va_ok(v->g, va))
		return (0);
	for (unsigned k = 0; k < 6; k++)
		if (add_probe(v, va + 8 * k, k % 3, k < 3 ? 0 : 3) != 0)
			return (-1);
	return (0);
}

int
verify__with_import(const verify_t *v, const uint8_t *mem, uint64_t len,
    int (*fn)(ht_as_t *, const verify_t *, void *), void *arg)
{
	ht_arena_t *arena = NULL;
	ht_ctx_t *ctx = NULL;
	ht_as_t *as = NULL;
	ht_config_t cfg;
	uint64_t size = (len + 4095) & ~4095ull;
	int rc;

	if ((rc = ht_arena_create(0, size ? size : 4096, 0, &arena)) != 0)
		return (rc);
	for (uint64_t pa = 0; pa < len; pa += 4096) {
		uint8_t *p = ht_arena_ptr(arena, pa);

		memcpy(p, mem + pa, len - pa < 4096 ? len - pa : 4096);
	}
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = v->cfg.mode;
	/* EPT: the flags the tables were made with (A/D: the EPTP's bit 6) */
	if (cfg.mode == HT_MODE_EPT4 || cfg.mode == HT_MODE_EPT5)
		cfg.ept = ((v->cfg.cr3 & 0x40) ? HT_EPT_AD : 0) |
		    ((v->cfg.flags & HT_SCAN_EPT_MBEC) ? HT_EPT_MBEC : 0) |
		    ((v->cfg.flags & HT_SCAN_EPT_XONLY) ? HT_EPT_XONLY : 0);
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = arena;
	/* the import takes the root's frame: CR3 without flags and NX */
	if ((rc = ht_ctx_create(&cfg, &ctx)) == 0 &&
	    (rc = ht_as_import(ctx, v->cfg.cr3 & ~0xfffull &
	    ~(1ull << 63), 0, &as)) == 0)
		rc = fn(as, v, arg);
	if (as != NULL)
		ht_as_destroy(as);
	if (ctx != NULL)
		(void) ht_ctx_destroy(ctx);
	ht_arena_destroy(arena);
	return (rc);
}

/* A run of consecutive pages with non-present data entries. */
typedef struct nprun {
	verify_t	*v;
	uint64_t	va, last;	/* last < va: none yet */
} nprun_t;

/* Probe the first, middle and last page of the run; 0 or -1. */
static int
nprun_flush(nprun_t *r)
{
	uint64_t mid = (r->va + (r->last - r->va) / 2) & ~0xfffull;

	if (r->last < r->va)
		return (0);
	if (probe_page(r->v, r->va) != 0 ||
	    (mid != r->va && probe_page(r->v, mid) != 0) ||
	    (r->last != mid && probe_page(r->v, r->last) != 0))
		return (-1);
	return (0);
}

/*
 * ht_walk_np callback: extend the current run or start a new one.  0 to
 * go on, 1 to stop (enough probes), -1 when out of memory.
 */
static int
np_page(void *arg, ht_va_t va, uint64_t value)
{
	nprun_t *r = arg;

	(void) value;
	if (r->last >= r->va && va == r->last + 4096) {
		r->last = va;
		return (0);
	}
	if (nprun_flush(r) != 0)
		return (-1);
	r->va = r->last = va;
	return (r->v->np >= MAX_GENERATED);
}

/*
 * Probe the runs of non-present data entries of the imported space.
 * 0, or 1 when out of memory (a negative answer is the import's).
 */
static int
np_probes(ht_as_t *as, const verify_t *v, void *arg)
{
	nprun_t r = { (verify_t *)arg, 1, 0 };
	int rc;

	rc = ht_walk_np(as, 0, v->g->hole_start == 0 ?
	    (1ull << v->g->va_bits) - 1 : ~0ull,
	    np_page, &r);
	if (rc < 0 || (rc == 0 && nprun_flush(&r) != 0))
		return (1);
	return (0);
}

/* The probes of every range: edges, middle, and the holes around. */
static int
generate(verify_t *v)
{
	for (size_t i = 0; i < v->nr && v->np < MAX_GENERATED; i++) {
		const vrange_t *r = &v->r[i];
		uint64_t mid = (r->va + (r->last - r->va) / 2) & ~0xfffull;

		if (probe_page(v, r->va) != 0 ||
		    (mid != r->va && probe_page(v, mid) != 0) ||
		    ((r->last & ~0xfffull) != mid &&
		    probe_page(v, r->last & ~0xfffull) != 0))
			return (-1);
		if (r->va != 0 && (i == 0 || v->r[i - 1].last + 1 != r->va) &&
		    probe_page(v, r->va - 4096) != 0)
			return (-1);
		if (r->last != ~0ull &&
		    (i + 1 == v->nr || v->r[i + 1].va != r->last + 1) &&
		    probe_page(v, r->last + 1) != 0)
			return (-1);
	}
	/*
	 * Pages whose entries hold the client's data (non-present, non-zero:
	 * a VMM's swap or MMIO marks) must fault as not present: the library
	 * finds them in the tables imported as a space of its own.  Tables
	 * the import refuses (shared ones) have none it could name.
	 */
	if (verify__with_import(v, v->im.base, v->im.size, np_probes, v) == 1)
		return (-1);
	return (0);
}

static int
va_cmp(const void *a, const void *b)
{
	uint64_t x = ((const probe_t *)a)->va, y = ((const probe_t *)b)->va;

	return (x < y ? -1 : x > y);
}

/*
 * Drop repeated generated probes (a page next to a range can also start a
 * run of data entries).  A generated probe's VA names its kind and CPL.
 */
static void
dedup(verify_t *v)
{
	size_t n = 0;

	for (size_t i = 0; i < v->np; i++)
		if (n == 0 || v->p[n - 1].va != v->p[i].va)
			v->p[n++] = v->p[i];
	v->np = n;
}

/* Does any probe lie in [lo, hi]?  (v->p sorted by VA) */
static int
probes_in(const verify_t *v, uint64_t lo, uint64_t hi)
{
	size_t a = 0, b = v->np;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (v->p[m].va < lo)
			a = m + 1;
		else
			b = m;
	}
	return (a < v->np && v->p[a].va <= hi);
}

/* va sign-extended from the mode's width (the modes with a hole). */
static uint64_t
canon(const ht_geometry_t *g, uint64_t va)
{
	if (g->hole_start != 0 && (va & (1ull << (g->va_bits - 1))))
		va |= ~0ull << g->va_bits;
	return (va);
}

/*
 * Find a not-present entry, at the root or up to two levels below it,
 * whose VA range holds no probe and spans at least GUEST_AREA.  0 with
 * the job's slot fields set, or -1.
 */
static int
find_slot(const verify_t *v, ht_pa_t table, int level, uint64_t va0,
    engine_job_t *job)
{
	const ht_geometry_t *g = v->g;
	unsigned n = level == (int)g->levels - 1 ? g->top_level_count :
	    g->ptes_per_table;
	uint64_t size = 1ull << g->level_shift[level];

	if (level < 1 || size < GUEST_AREA)
		return (-1);
	/* first the empty entries of this table, from the top down */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned k = n; k-- > 0;) {
			uint64_t e = 0, va = canon(g, va0 + k * size);
			ht_pa_t at = table + (ht_pa_t)k * g->pte_size;

			(void) image_read((void *)&v->im, at, &e, g->pte_size);
			/* not PML4 slot 256: kvm_pvm runs no CPL 3 there */
			if (g->levels == 4 && level == 3 && k == 256)
				continue;
			/* an empty one: a non-present entry may hold data */
			if (pass == 0 && e == 0 &&
			    !probes_in(v, va, va + size - 1)) {
				job->slot_pa = at;
				job->slot_level = level;
				job->slot_va = va;
				job->slot_size = size;
				return (0);
			}
			/* a link: present (bit 0) and not a leaf */
			if (pass == 1 && (e & 1) && !(e & g->ps_bit) &&
			    find_slot(v, e & g->link_mask, level - 1, va,
			    job) == 0)
				return (0);
		}
	}
	return (-1);
}

/* Does [pa, pa + len) meet any range's PA span? */
static int
leaf_pa_in(const verify_t *v, ht_pa_t pa, uint64_t len)
{
	for (size_t i = 0; i < v->nr; i++) {
		const vrange_t *r = &v->r[i];

		if (r->pa < pa + len && pa < r->pa + (r->last - r->va + 1))
			return (1);
	}
	return (0);
}

/*
 * A GUEST_AREA of RAM below 4 GiB without table frames, and if possible
 * without leaves (a direct map of all memory leaves no such place; then
 * probes may reach the engine's pages, which is harmless for reads and
 * for the engine's writes, which change nothing, and fetches there are
 * not made).  0 or -1.
 */
static int
find_guest_pa(const verify_t *v, engine_job_t *job)
{
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t g = GUEST_AREA; g < (1ull << 32);
		    g += GUEST_AREA) {
			int used = pass == 0 && leaf_pa_in(v, g, GUEST_AREA);

			for (uint64_t p = g; !used && p < g + GUEST_AREA;
			    p += 4096)
				used = image_is_data(&v->im, p);
			if (!used) {
				job->guest_pa = g;
				return (0);
			}
		}
	}
	return (-1);
}

/*
 * RAM for the run: the image's data, the engine's area, and behind the
 * leaves into the first RAM_LEAF_MAX bytes, so that reads there show the
 * PA they hit (leaves above read whatever the engine gives unbacked
 * memory); whole GUEST_AREAs.
 */
static uint64_t
ram_size(const verify_t *v, const engine_job_t *job)
{
	uint64_t end = job->guest_pa + GUEST_AREA;

	if (v->im.next && v->im.ext[v->im.next - 1].end > end)
		end = v->im.ext[v->im.next - 1].end;
	for (size_t i = 0; i < v->nr; i++) {
		uint64_t e = v->r[i].pa + (v->r[i].last - v->r[i].va + 1);

		if (e > end && e <= RAM_LEAF_MAX)
			end = e;
	}
	return ((end + GUEST_AREA - 1) & ~(GUEST_AREA - 1));
}

/* Set *err to code with the library's detail; -1. */
static int
fail(verify_error_t *err, verify_errcode_t code)
{
	err->code = code;
	(void) snprintf(err->detail, sizeof (err->detail), "%s",
	    ht_errdetail());
	return (-1);
}

int
verify_open(const char *path, const verify_opts_t *o, verify_t **r_v,
    verify_error_t *r_err)
{
	verify_t *v;
	ht_scan_stats_t st;
	int err;

	memset(r_err, 0, sizeof (*r_err));
	*r_v = NULL;
	if ((v = calloc(1, sizeof (*v))) == NULL)
		return (fail(r_err, VERIFY_ENOMEM));
	v->o = *o;
	if ((err = image_open(path, &v->im)) != 0) {
		free(v);
		r_err->sys = err;
		return (fail(r_err, VERIFY_EIMAGE));
	}
	v->g = ht_geometry(o->mode);
	v->cfg.mode = o->mode;
	v->cfg.cr3 = o->cr3;
	v->cfg.flags = o->scan_flags;
	v->cfg.read = image_read;
	v->cfg.read_arg = &v->im;
	v->cfg.max_leaves = 1u << 24;
	if (ht_scan(&v->cfg, range_leaf, v, &st) != 0) {
		(void) fail(r_err, VERIFY_ESCAN);
		verify_close(v);
		return (-1);
	}
	*r_v = v;
	return (0);
}

int
verify_add_probe(verify_t *v, uint64_t va, probe_op_t op, unsigned cpl)
{
	return (add_probe(v, va, (unsigned)op, cpl));
}

int
verify_add_root_probes(verify_t *v, uint64_t cr3, verify_error_t *r_err)
{
	/* a session over the same image and plan, with the other root */
	verify_t o = *v;
	ht_scan_stats_t st;
	int rc = 0;

	memset(r_err, 0, sizeof (*r_err));
	o.cfg.cr3 = cr3;
	o.r = NULL;
	o.nr = o.cap = 0;
	if (ht_scan(&o.cfg, range_leaf, &o, &st) != 0)
		rc = fail(r_err, VERIFY_ESCAN);
	else if (generate(&o) != 0)
		rc = fail(r_err, VERIFY_ENOMEM);
	/* the probes are the plan's, wherever realloc put them */
	v->p = o.p;
	v->np = o.np;
	v->pcap = o.pcap;
	free(o.r);
	return (rc);
}

int
verify_plan(verify_t *v, int generate_probes, verify_error_t *r_err)
{
	engine_job_t *job = &v->place;

	memset(r_err, 0, sizeof (*r_err));
	if (generate_probes && generate(v) != 0)
		return (fail(r_err, VERIFY_ENOMEM));
	qsort(v->p, v->np, sizeof (*v->p), va_cmp);
	if (generate_probes)
		dedup(v);
	/* PAE: the 4-entry root sits at cr3 & ~0x1f in its frame */
	if (find_slot(v, v->o.cr3 & v->g->root_mask, (int)v->g->levels - 1,
	    0, job) != 0)
		return (fail(r_err, VERIFY_ENOSLOT));
	if (find_guest_pa(v, job) != 0)
		return (fail(r_err, VERIFY_ENORAM));
	job->ram_size = ram_size(v, job);
	return (0);
}

void
verify_close(verify_t *v)
{
	if (v == NULL)
		return;
	image_close(&v->im);
	free(v->r);
	free(v->p);
	free(v);
}
