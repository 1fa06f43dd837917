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
 * A guest job (verify_opts_t.guest) plans in the guest's linear space:
 * its tables are read at guest-physical addresses through the host's
 * (guest_read), the probes come from its leaves, and the engine borrows
 * two entries: an empty one of the guest's tables, whose linear range
 * holds no probe (the engine's code runs there), and an empty one of the
 * host's, whose guest-physical range holds no address any probe's walk
 * touches (ht_nested_access says which: every guest entry read and every
 * final address), where the engine's pages and its guest-format tables
 * live.  RAM is placed and sized by the host's leaves.
 *
 * verify.c predicts, runs and compares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_impl.h"

#define MAX_GENERATED	(1u << 20)
/*
 * Second-level tables: the engine's nested guest keeps its own pages at
 * guest-physical addresses at the start of the slot's range, and no
 * entry of its own tables can name one at or above its CPU's MAXPHYADDR:
 * those pages lie below 2^39, which every engine's CPU reaches.
 */
#define NESTED_SLOT_END	(1ull << 39)
#define RAM_LEAF_MAX	(256ull << 20)
#define PC_HOLE		(0xe0000000ull)	/* RAM below 4 GiB ends here */

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

int
verify__nested_mode(ht_mode_t m)
{
	return (m == HT_MODE_NPT4 || m == HT_MODE_NPT5 ||
	    m == HT_MODE_EPT4 || m == HT_MODE_EPT5);
}

/*
 * A guest job's read of guest-physical memory: each page through the
 * host's tables (a read, as the CPU's walk of the guest's tables is),
 * then from the image.  A page the host does not map reads as zeros, as
 * unbacked memory (1); else 0, or the image's negative code.
 */
static int
guest_read(void *arg, ht_pa_t gpa, void *buf, size_t len)
{
	verify_t *v = arg;
	uint8_t *b = buf;
	int rc = 0;

	while (len > 0) {
		size_t n = 4096 - (size_t)(gpa & 4095);
		ht_access_t a;
		int r;

		if (n > len)
			n = len;
		if (ht_scan_access(&v->hcfg, &v->hcpu, gpa & ~7ull,
		    HT_ACC_READ, 0, &a) != 0 || a.fault != HT_FAULT_NONE) {
			memset(b, 0, n);
			rc = 1;
		} else if ((r = image_read(&v->im, a.pa + (gpa & 7), b,
		    n)) < 0) {
			return (r);
		} else if (r != 0) {
			rc = 1;
		}
		b += n;
		gpa += n;
		len -= n;
	}
	return (rc);
}

/*
 * The host-physical address of guest-physical gpa for an access acc
 * (HT_ACC_READ, HT_ACC_WRITE), or ~0 where the host's tables do not
 * allow it.
 */
static ht_pa_t
guest_hpa(const verify_t *v, uint64_t gpa, unsigned acc)
{
	ht_access_t a;

	if (ht_scan_access(&v->hcfg, &v->hcpu, gpa, acc, 0, &a) != 0 ||
	    a.fault != HT_FAULT_NONE)
		return (~0ull);
	return (a.pa);
}

/*
 * May the engine's code run under the guest's link e (at level, of a
 * table of the guest's)?  Its fetches walk there at CPL 3 too, setting
 * A: the link must allow user access and execution, and the table it
 * names must be one the host lets the walk write (the CPU writes A/D
 * of guest entries as host writes).  PAE's PDPTEs have neither U nor
 * NX.
 */
static int
guest_link_ok(const verify_t *v, uint64_t e, int level)
{
	int pae_root = v->g->levels == 3 && level == 2;

	if (!pae_root && (!(e & 4) || (v->g->pte_size == 8 && (e >> 63))))
		return (0);
	return (guest_hpa(v, e & v->g->link_mask, HT_ACC_WRITE) != ~0ull);
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
    uint64_t dense, int (*fn)(ht_as_t *, const verify_t *, void *),
    void *arg)
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
		uint8_t *p;
		size_t n = len - pa < 4096 ? (size_t)(len - pa) : 4096;

		if (!(mem != NULL && pa < dense) &&
		    !image_is_data(&v->im, pa))
			continue;
		p = ht_arena_ptr(arena, pa);
		if (mem != NULL)
			memcpy(p, mem + pa, n);
		else
			(void) image_read((void *)&v->im, pa, p, n);
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
	if (!v->o.guest &&
	    verify__with_import(v, NULL, v->im.size, 0, np_probes, v) == 1)
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

/* Sorted addresses: those a guest job's walks touch (guest-physical). */
typedef struct addrs {
	uint64_t	*a;
	size_t		n, cap;
} addrs_t;

/* Does any address of s lie in [lo, hi]? */
static int
addrs_in(const addrs_t *s, uint64_t lo, uint64_t hi)
{
	size_t a = 0, b = s->n;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (s->a[m] < lo)
			a = m + 1;
		else
			b = m;
	}
	return (a < s->n && s->a[a] <= hi);
}

/* Add x to s (unsorted until the end); 0, or -1 when out of memory. */
static int
addrs_add(addrs_t *s, uint64_t x)
{
	if (s->n == s->cap) {
		size_t c = s->cap ? s->cap * 2 : 1024;
		uint64_t *na = realloc(s->a, c * sizeof (*na));

		if (na == NULL)
			return (-1);
		s->a = na;
		s->cap = c;
	}
	s->a[s->n++] = x;
	return (0);
}

/*
 * The tables find_slot looks in: their geometry, how their memory is
 * read, and which VA ranges are busy (hold a probe, or an address some
 * probe's walk touches) and which entries it may not take.
 */
typedef struct slot_tables {
	const verify_t	*v;
	const ht_geometry_t *g;
	ht_phys_read_fn	read;
	void		*read_arg;
	const addrs_t	*busy;		/* NULL: the probes are */
	int		guest;		/* entries must have a host address */
	uint64_t	end;		/* the range must end below; 0: none */
} slot_tables_t;

/* May the entry at `at` for [va, va + size) be borrowed? */
static int
slot_free(const slot_tables_t *t, ht_pa_t at, uint64_t va, uint64_t size)
{
	/* the engine's pages are the first GUEST_AREA of the range */
	if (t->end != 0 && (va >= t->end || t->end - va < GUEST_AREA))
		return (0);
	if (t->busy != NULL ? addrs_in(t->busy, va, va + size - 1) :
	    probes_in(t->v, va, va + size - 1))
		return (0);
	/* a guest entry: the engine writes it where the host maps it */
	return (!t->guest || guest_hpa(t->v, at, HT_ACC_WRITE) != ~0ull);
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
find_slot(const slot_tables_t *t, ht_pa_t table, int level, uint64_t va0,
    engine_job_t *job)
{
	const ht_geometry_t *g = t->g;
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

			int rd = t->read(t->read_arg, at, &e, g->pte_size);

			/* a guest's table the host does not map: none */
			if (rd < 0 || (rd != 0 && t->guest))
				continue;
			/* not PML4 slot 256: kvm_pvm runs no CPL 3 there */
			if (g->levels == 4 && level == 3 && k == 256)
				continue;
			/* an empty one: a non-present entry may hold data */
			if (pass == 0 && e == 0 &&
			    slot_free(t, at, va, size)) {
				job->slot_pa = at;
				job->slot_level = level;
				job->slot_va = va;
				job->slot_size = size;
				return (0);
			}
			/* a link: present (bit 0) and not a leaf */
			if (pass == 1 && (e & 1) && !(e & g->ps_bit) &&
			    (!t->guest || guest_link_ok(t->v, e, level)) &&
			    find_slot(t, e & g->link_mask, level - 1, va,
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
	const vrange_t *hr = v->o.guest ? v->hr : v->r;
	size_t nr = v->o.guest ? v->nhr : v->nr;

	for (size_t i = 0; i < nr; i++) {
		const vrange_t *r = &hr[i];

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
	const vrange_t *hr = v->o.guest ? v->hr : v->r;
	size_t nr = v->o.guest ? v->nhr : v->nr;

	/*
	 * The image's data, below the PC's hole at 3.5 GiB: a dump of a PC
	 * guest holds the firmware ROM under 4 GiB (QEMU's dumps do), which
	 * no RAM of the engine's machine can sit at.
	 */
	for (size_t x = v->im.next; x-- > 0; ) {
		uint64_t e = v->im.ext[x].end;

		if (v->im.ext[x].start >= PC_HOLE)
			continue;
		if (e > PC_HOLE)
			e = PC_HOLE;
		if (e > end)
			end = e;
		break;
	}
	for (size_t i = 0; i < nr; i++) {
		uint64_t e = hr[i].pa + (hr[i].last - hr[i].va + 1);

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
		r_err->code = VERIFY_EIMAGE;
		r_err->sys = err;
		(void) snprintf(r_err->detail, sizeof (r_err->detail), "%s",
		    image_strerror(&v->im, err));
		free(v);
		return (-1);
	}
	v->g = ht_geometry(o->mode);
	v->cfg.mode = o->mode;
	v->cfg.cr3 = o->cr3;
	v->cfg.flags = o->scan_flags;
	v->cfg.read = image_read;
	v->cfg.read_arg = &v->im;
	v->cfg.max_leaves = 1u << 24;
	if (o->guest && (!verify__nested_mode(o->mode) ||
	    verify__nested_mode(o->guest_mode) ||
	    ht_geometry(o->guest_mode) == NULL)) {
		r_err->code = VERIFY_EGUEST;
		verify_close(v);
		return (-1);
	}
	if (ht_scan(&v->cfg, range_leaf, v, &st) != 0) {
		(void) fail(r_err, VERIFY_ESCAN);
		verify_close(v);
		return (-1);
	}
	if (o->guest) {
		/* the host's leaves place RAM; the guest's are probed */
		v->hcfg = v->cfg;
		v->hg = v->g;
		v->hr = v->r;
		v->nhr = v->nr;
		v->r = NULL;
		v->nr = v->cap = 0;
		memset(&v->hcpu, 0, sizeof (v->hcpu));
		v->hcpu.flags = o->mode == HT_MODE_NPT4 ||
		    o->mode == HT_MODE_NPT5 ? HT_CPU_NXE :
		    ((o->scan_flags & HT_SCAN_EPT_MBEC) ? HT_CPU_EPT_MBEC : 0) |
		    ((o->scan_flags & HT_SCAN_EPT_XONLY) ? HT_CPU_EPT_XONLY :
		    0);
		v->g = ht_geometry(o->guest_mode);
		v->cfg.mode = o->guest_mode;
		v->cfg.cr3 = o->guest_cr3;
		v->cfg.flags = 0;
		v->cfg.read = guest_read;
		v->cfg.read_arg = v;
		if (ht_scan(&v->cfg, range_leaf, v, &st) != 0) {
			(void) fail(r_err, VERIFY_ESCAN);
			verify_close(v);
			return (-1);
		}
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

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * The guest-physical pages every probe's walk touches: each guest entry
 * read and the final address.  0, or -1 with *r_err set.
 */
static int
walked_gpas(const verify_t *v, addrs_t *s, verify_error_t *r_err)
{
	ht_nested_cfg_t nc = { v->o.guest_mode, v->o.guest_cr3, v->o.mode,
	    v->o.cr3, image_read, (void *)&v->im };
	ht_cpu_t gcpu = v->o.cpu;
	size_t n = 0;

	for (size_t i = 0; i < v->np; i++) {
		ht_nested_t r;

		if (ht_nested_access(&nc, &gcpu, &v->hcpu, v->p[i].va,
		    v->p[i].op, v->p[i].cpl, &r) != 0) {
			r_err->va = v->p[i].va;
			return (fail(r_err, VERIFY_EPREDICT));
		}
		for (unsigned k = 0; k < r.nsteps; k++)
			if (addrs_add(s, r.step[k].guest.addr & ~0xfffull) != 0)
				return (fail(r_err, VERIFY_ENOMEM));
		if (r.nsteps > 0 && r.fault != HT_FAULT_PF &&
		    r.fault != HT_FAULT_GP &&
		    addrs_add(s, r.gpa & ~0xfffull) != 0)
			return (fail(r_err, VERIFY_ENOMEM));
	}
	qsort(s->a, s->n, sizeof (*s->a), u64_cmp);
	for (size_t i = 0; i < s->n; i++)
		if (n == 0 || s->a[n - 1] != s->a[i])
			s->a[n++] = s->a[i];
	s->n = n;
	return (0);
}

/*
 * A guest job's placement: the guest entry its code runs under, the host
 * entry its pages sit under, its RAM.  0, or -1 with *r_err set.
 * Errors: VERIFY_ENOMEM, VERIFY_ENOSLOT, VERIFY_ENORAM, VERIFY_EPREDICT.
 */
static int
plan_guest(verify_t *v, verify_error_t *r_err)
{
	engine_job_t *job = &v->place, gs;
	slot_tables_t st = { v, v->g, guest_read, v, NULL, 1, 0 };
	addrs_t walked = { NULL, 0, 0 };
	int rc = -1;

	memset(&gs, 0, sizeof (gs));
	/* the root too is a table the engine's walks write (A bits) */
	if (guest_hpa(v, v->o.guest_cr3 & v->g->root_mask, HT_ACC_WRITE) ==
	    ~0ull || find_slot(&st, v->o.guest_cr3 & v->g->root_mask,
	    (int)v->g->levels - 1, 0, &gs) != 0)
		return (fail(r_err, VERIFY_ENOSLOT));
	job->guest = 1;
	job->guest_mode = v->o.guest_mode;
	job->guest_cr3 = v->o.guest_cr3;
	job->gslot_gpa = gs.slot_pa;
	job->gslot_pa = guest_hpa(v, gs.slot_pa, HT_ACC_READ);
	job->gslot_level = gs.slot_level;
	job->gslot_va = gs.slot_va;
	job->gslot_size = gs.slot_size;
	if (walked_gpas(v, &walked, r_err) != 0)
		goto out;
	st.g = v->hg;
	st.read = image_read;
	st.read_arg = &v->im;
	st.busy = &walked;
	st.guest = 0;
	st.end = NESTED_SLOT_END;
	if (find_slot(&st, v->o.cr3 & v->hg->root_mask,
	    (int)v->hg->levels - 1, 0, job) != 0) {
		(void) fail(r_err, VERIFY_ENOSLOT);
		goto out;
	}
	if (find_guest_pa(v, job) != 0) {
		(void) fail(r_err, VERIFY_ENORAM);
		goto out;
	}
	job->ram_size = ram_size(v, job);
	rc = 0;
out:
	free(walked.a);
	return (rc);
}

int
verify_plan(verify_t *v, int generate_probes, verify_error_t *r_err)
{
	engine_job_t *job = &v->place;
	slot_tables_t st = { 0 };

	memset(r_err, 0, sizeof (*r_err));
	if (generate_probes && generate(v) != 0)
		return (fail(r_err, VERIFY_ENOMEM));
	qsort(v->p, v->np, sizeof (*v->p), va_cmp);
	if (generate_probes)
		dedup(v);
	if (v->o.guest)
		return (plan_guest(v, r_err));
	/* PAE: the 4-entry root sits at cr3 & ~0x1f in its frame */
	st.v = v;
	st.g = v->g;
	st.read = image_read;
	st.read_arg = &v->im;
	st.end = verify__nested_mode(v->o.mode) ? NESTED_SLOT_END : 0;
	if (find_slot(&st, v->o.cr3 & v->g->root_mask, (int)v->g->levels - 1,
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
	free(v->hr);
	free(v->p);
	free(v);
}
