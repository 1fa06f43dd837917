/*
 * verify.c - the MMU's verdict against the library's, probe by probe.
 *
 * Theory of operation
 *
 *  1. Plan.  The image's leaves (ht_scan) are coalesced into ranges; the
 *     probes are the first, middle and last page of each range and the
 *     pages just outside it, and the same of each run of pages whose
 *     level-0 entries hold data without being present (found by importing
 *     the tables: ht_walk_np), with all six access kinds (r w x at CPL 0
 *     and 3), unless a probe file names them.
 *  2. Place the engine.  Its own pages need a 2 MiB area of RAM that no
 *     table frame and no leaf touches (guest_pa), and a not-present entry
 *     of the image's tables whose VA range holds no probe, to link them
 *     from (the slot: a root entry if one is empty, else an entry one or
 *     two levels down; never a non-present entry holding data).  RAM covers the tables and that area.
 *  3. Predict.  ht_scan_access on the image for every probe, for the CPU
 *     the engine really is (this KVM: no 1 GiB pages, MAXPHYADDR 48).  A
 *     fetch that would complete somewhere other than marker memory is not
 *     run: it would execute table bytes or device memory.
 *  4. Run the probes on the engine and compare: the fault and its error
 *     code and CR2, or completion; a completed read must have hit the PA
 *     the library says (the marker it read names it).
 *  5. A/D: import the image before and after the run as address spaces
 *     and harvest both with ht_test_clear_ad; what the run set must be
 *     exactly what the completed probes predict (A on each leaf used, D
 *     on each leaf written).  Images the import refuses (shared tables)
 *     are compared entry by entry instead.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"
#include "format.h"
#include "image.h"
#include "spec.h"
#include "verify.h"

#define MAX_GENERATED	(1u << 20)
#define RAM_LEAF_MAX	(256ull << 20)

typedef struct vrange {
	uint64_t	va, last;
	ht_pa_t		pa;
} vrange_t;

typedef struct plan {
	const verify_opts_t *o;
	const image_t	*im;
	ht_scan_cfg_t	cfg;
	const ht_geometry_t *g;
	vrange_t	*r;
	size_t		nr, cap;
	probe_t		*p;
	size_t		np, pcap;
} plan_t;

static const char *const op_names[] = { "r", "w", "x", "ur", "uw", "ux" };

int
verify_parse_cpu(const char *s, ht_cpu_t *cpu)
{
	char *dup = strdup(s), *tok, *save = NULL;
	int rc = 0;

	if (dup == NULL)
		return (-1);
	memset(cpu, 0, sizeof (*cpu));
	for (tok = strtok_r(dup, ",", &save); tok != NULL && rc == 0;
	    tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		if (strcmp(tok, "wp") == 0)
			cpu->flags |= HT_CPU_WP;
		else if (strcmp(tok, "nxe") == 0)
			cpu->flags |= HT_CPU_NXE;
		else if (strcmp(tok, "smep") == 0)
			cpu->flags |= HT_CPU_SMEP;
		else if (strcmp(tok, "smap") == 0)
			cpu->flags |= HT_CPU_SMAP;
		else if (strcmp(tok, "ac") == 0)
			cpu->flags |= HT_CPU_AC;
		else if (strcmp(tok, "pke") == 0)
			cpu->flags |= HT_CPU_PKE;
		else if (strcmp(tok, "no1g") == 0)
			cpu->flags |= HT_CPU_NO1G;
		else if (strncmp(tok, "pkru=", 5) == 0 &&
		    spec_number(tok + 5, &v) == 0 && v <= 0xffffffffull)
			cpu->pkru = (uint32_t)v;
		else if (strncmp(tok, "pa-bits=", 8) == 0 &&
		    spec_number(tok + 8, &v) == 0 && v >= 32 && v <= 52)
			cpu->pa_bits = (unsigned)v;
		else if (strcmp(tok, "none") != 0)
			rc = -1;
	}
	free(dup);
	return (rc);
}

/* ------------------------------------------------------------------ */
/* 1. The plan                                                         */
/* ------------------------------------------------------------------ */

static int
add_probe(plan_t *pl, uint64_t va, unsigned op, unsigned cpl)
{
	if (pl->np == pl->pcap) {
		size_t n = pl->pcap ? pl->pcap * 2 : 256;
		probe_t *p = realloc(pl->p, n * sizeof (*p));

		if (p == NULL)
			return (-1);
		pl->p = p;
		pl->pcap = n;
	}
	pl->p[pl->np].va = va;
	pl->p[pl->np].op = (probe_op_t)op;
	pl->p[pl->np].cpl = cpl;
	pl->np++;
	return (0);
}

/* ht_scan callback: coalesce leaves into VA/PA-contiguous ranges. */
static int
range_leaf(void *arg, const ht_leaf_t *l)
{
	plan_t *pl = arg;
	vrange_t *r = pl->nr ? &pl->r[pl->nr - 1] : NULL;

	if (r != NULL && l->va == r->last + 1 &&
	    l->pa == r->pa + (r->last - r->va + 1)) {
		r->last += l->size;
		return (0);
	}
	if (pl->nr == pl->cap) {
		size_t n = pl->cap ? pl->cap * 2 : 64;
		vrange_t *v = realloc(pl->r, n * sizeof (*v));

		if (v == NULL)
			return (-HT_ENOMEM);
		pl->r = v;
		pl->cap = n;
	}
	pl->r[pl->nr].va = l->va;
	pl->r[pl->nr].last = l->va + l->size - 1;
	pl->r[pl->nr].pa = l->pa;
	pl->nr++;
	return (0);
}

/* Is va an address of the mode (canonical, or below 4 GiB)? */
static int
va_ok(const ht_geometry_t *g, uint64_t va)
{
	if (g->va_bits == 32)
		return (va <= 0xffffffffull);
	return (va < g->hole_start || va > g->hole_end);
}

static int
probe_page(plan_t *pl, uint64_t va)
{
	if (!va_ok(pl->g, va))
		return (0);
	for (unsigned k = 0; k < 6; k++)
		if (add_probe(pl, va + 8 * k, k % 3, k < 3 ? 0 : 3) != 0)
			return (-1);
	return (0);
}

/*
 * Import the tables in mem (len bytes of physical memory from 0) as an
 * address space of the library and call fn on it.  fn's answer, or a
 * negative error (the import refused the tables).
 */
static int
with_import(const plan_t *pl, const uint8_t *mem, uint64_t len,
    int (*fn)(ht_as_t *, const plan_t *, void *), void *arg)
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
	cfg.mode = pl->cfg.mode;
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = arena;
	if ((rc = ht_ctx_create(&cfg, &ctx)) == 0 &&
	    (rc = ht_as_import(ctx, pl->cfg.cr3 & ~0xfffull &
	    ~(1ull << 63), 0, &as)) == 0)
		rc = fn(as, pl, arg);
	if (as != NULL)
		ht_as_destroy(as);
	if (ctx != NULL)
		(void) ht_ctx_destroy(ctx);
	ht_arena_destroy(arena);
	return (rc);
}

/* A run of consecutive pages with non-present data entries. */
typedef struct nprun {
	plan_t		*pl;
	uint64_t	va, last;	/* last < va: none yet */
} nprun_t;

/* Probe the first, middle and last page of the run. */
static int
nprun_flush(nprun_t *r)
{
	uint64_t mid = (r->va + (r->last - r->va) / 2) & ~0xfffull;

	if (r->last < r->va)
		return (0);
	if (probe_page(r->pl, r->va) != 0 ||
	    (mid != r->va && probe_page(r->pl, mid) != 0) ||
	    (r->last != mid && probe_page(r->pl, r->last) != 0))
		return (-1);
	return (0);
}

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
	return (r->pl->np >= MAX_GENERATED);
}

static int
np_probes(ht_as_t *as, const plan_t *pl, void *arg)
{
	nprun_t r = { (plan_t *)arg, 1, 0 };
	int rc;

	(void) pl;
	rc = ht_walk_np(as, 0, pl->g->va_bits == 32 ? 0xffffffffull : ~0ull,
	    np_page, &r);
	/* 1: out of memory (a negative answer is the import's) */
	if (rc < 0 || (rc == 0 && nprun_flush(&r) != 0))
		return (1);
	return (0);
}

/* The probes of every range: edges, middle, and the holes around. */
static int
generate(plan_t *pl)
{
	for (size_t i = 0; i < pl->nr && pl->np < MAX_GENERATED; i++) {
		const vrange_t *r = &pl->r[i];
		uint64_t mid = (r->va + (r->last - r->va) / 2) & ~0xfffull;

		if (probe_page(pl, r->va) != 0 ||
		    (mid != r->va && probe_page(pl, mid) != 0) ||
		    ((r->last & ~0xfffull) != mid &&
		    probe_page(pl, r->last & ~0xfffull) != 0))
			return (-1);
		if (r->va != 0 && (i == 0 || pl->r[i - 1].last + 1 != r->va) &&
		    probe_page(pl, r->va - 4096) != 0)
			return (-1);
		if (r->last != ~0ull &&
		    (i + 1 == pl->nr || pl->r[i + 1].va != r->last + 1) &&
		    probe_page(pl, r->last + 1) != 0)
			return (-1);
	}
	/*
	 * Pages whose entries hold the client's data (non-present, non-zero:
	 * a VMM's swap or MMIO marks) must fault as not present: the library
	 * finds them in the tables imported as a space of its own.  Tables
	 * the import refuses (shared ones) have none it could name.
	 */
	if (with_import(pl, pl->im->base, pl->im->size, np_probes, pl) == 1)
		return (-1);
	return (0);
}

/* Read "VA OP" lines; 0, or -1 after a FILE:LINE message. */
static int
read_probes(plan_t *pl, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	int ln = 0;

	if (f == NULL) {
		fprintf(stderr, "htable verify: %s: %m\n", path);
		return (-1);
	}
	while (fgets(line, sizeof (line), f) != NULL) {
		char va_s[128], op_s[16], extra[2];
		uint64_t va;
		unsigned k;
		int n;

		ln++;
		line[strcspn(line, "#\n")] = '\0';
		n = sscanf(line, "%127s %15s %1s", va_s, op_s, extra);
		if (n <= 0)
			continue;
		for (k = 0; k < 6 && (n < 2 || strcmp(op_s, op_names[k]) != 0);
		    k++)
			;
		if (n != 2 || spec_number(va_s, &va) != 0 || k == 6) {
			fprintf(stderr, "%s:%d: expected 'VA OP' with OP one "
			    "of r w x ur uw ux\n", path, ln);
			(void) fclose(f);
			return (-1);
		}
		if ((va & 7) != 0 || (pl->g->va_bits == 32 && va >
		    0xffffffffull)) {
			fprintf(stderr, "%s:%d: VA 0x%" PRIx64 " is not an "
			    "8-byte-aligned address of %s paging\n", path, ln,
			    va, ht_mode_name(pl->cfg.mode));
			(void) fclose(f);
			return (-1);
		}
		if (add_probe(pl, va, k % 3, k < 3 ? 0 : 3) != 0) {
			(void) fclose(f);
			return (-1);
		}
	}
	(void) fclose(f);
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
dedup(plan_t *pl)
{
	size_t n = 0;

	for (size_t i = 0; i < pl->np; i++)
		if (n == 0 || pl->p[n - 1].va != pl->p[i].va)
			pl->p[n++] = pl->p[i];
	pl->np = n;
}

/* Does any probe lie in [lo, hi]?  (pl->p sorted by VA) */
static int
probes_in(const plan_t *pl, uint64_t lo, uint64_t hi)
{
	size_t a = 0, b = pl->np;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (pl->p[m].va < lo)
			a = m + 1;
		else
			b = m;
	}
	return (a < pl->np && pl->p[a].va <= hi);
}

/* ------------------------------------------------------------------ */
/* 2. Placing the engine                                               */
/* ------------------------------------------------------------------ */

static uint64_t
canon(const ht_geometry_t *g, uint64_t va)
{
	if (g->va_bits < 64 && g->va_bits > 32 &&
	    (va & (1ull << (g->va_bits - 1))))
		va |= ~0ull << g->va_bits;
	return (va);
}

/*
 * Find a not-present entry, at the root or up to two levels below it,
 * whose VA range holds no probe and spans at least GUEST_AREA.  0 with
 * the job's slot fields set, or -1.
 */
static int
find_slot(const plan_t *pl, ht_pa_t table, int level, uint64_t va0,
    engine_job_t *job)
{
	const ht_geometry_t *g = pl->g;
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

			(void) image_read((void *)pl->im, at, &e, g->pte_size);
			/* not PML4 slot 256: kvm_pvm runs no CPL 3 there */
			if (g->levels == 4 && level == 3 && k == 256)
				continue;
			/* an empty one: a non-present entry may hold data */
			if (pass == 0 && e == 0 &&
			    !probes_in(pl, va, va + size - 1)) {
				job->slot_pa = at;
				job->slot_level = level;
				job->slot_va = va;
				job->slot_size = size;
				return (0);
			}
			/* a link: present (bit 0) and not a leaf */
			if (pass == 1 && (e & 1) && !(e & g->ps_bit) &&
			    find_slot(pl, e & g->link_mask, level - 1, va,
			    job) == 0)
				return (0);
		}
	}
	return (-1);
}

/* Does [pa, pa + len) meet any range's PA span? */
static int
leaf_pa_in(const plan_t *pl, ht_pa_t pa, uint64_t len)
{
	for (size_t i = 0; i < pl->nr; i++) {
		const vrange_t *r = &pl->r[i];

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
find_guest_pa(const plan_t *pl, engine_job_t *job)
{
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t g = GUEST_AREA; g < (1ull << 32);
		    g += GUEST_AREA) {
			int used = pass == 0 && leaf_pa_in(pl, g, GUEST_AREA);

			for (uint64_t p = g; !used && p < g + GUEST_AREA;
			    p += 4096)
				used = image_is_data(pl->im, p);
			if (!used) {
				job->guest_pa = g;
				return (0);
			}
		}
	}
	return (-1);
}

/* Would a completed access at pa read marker memory? */
static int
is_marker(const plan_t *pl, const engine_job_t *job, ht_pa_t pa)
{
	return (pa < job->ram_size && !image_is_data(pl->im, pa) &&
	    !(pa >= job->guest_pa && pa < job->guest_pa + GUEST_AREA));
}

/* ------------------------------------------------------------------ */
/* 5. Accessed and Dirty bits, through the library's harvest            */
/* ------------------------------------------------------------------ */

typedef struct adset {
	uint64_t	*va;
	unsigned	*bits;
	size_t		n, cap;
} adset_t;

static int
ad_add(adset_t *s, uint64_t va, unsigned bits)
{
	if (s->n == s->cap) {
		size_t c = s->cap ? s->cap * 2 : 64;
		uint64_t *v = realloc(s->va, c * sizeof (*v));
		unsigned *b = v ? realloc(s->bits, c * sizeof (*b)) : NULL;

		if (v != NULL)
			s->va = v;
		if (b == NULL)
			return (-1);
		s->bits = b;
		s->cap = c;
	}
	s->va[s->n] = va;
	s->bits[s->n++] = bits;
	return (0);
}

/* The bits recorded for leaf va (a linear search: the sets are small). */
static unsigned
ad_get(const adset_t *s, uint64_t va)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->va[i] == va)
			return (s->bits[i]);
	return (0);
}

/* OR bits into leaf va's entry, adding it if new. */
static int
ad_or(adset_t *s, uint64_t va, unsigned bits)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->va[i] == va) {
			s->bits[i] |= bits;
			return (0);
		}
	}
	return (ad_add(s, va, bits));
}

static void
ad_free(adset_t *s)
{
	free(s->va);
	free(s->bits);
}

static void
ad_fn(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	(void) size;
	(void) ad_or(arg, va, bits);
}

/* Harvest A/D over every range of the plan, without clearing. */
static int
harvest_as(ht_as_t *as, const plan_t *pl, void *arg)
{
	int rc = 0;

	for (size_t i = 0; i < pl->nr && rc >= 0; i++)
		rc = (int)ht_test_clear_ad(as, pl->r[i].va,
		    pl->r[i].last - pl->r[i].va + 1, HT_A | HT_D, 0, ad_fn,
		    arg);
	return (rc < 0 ? rc : 0);
}

/*
 * The A/D bits of the tables in mem (len bytes of physical memory from 0)
 * over every range of the plan.  0, or a negative error (the import
 * refused the tables).
 */
static int
harvest(const plan_t *pl, const uint8_t *mem, uint64_t len, adset_t *out)
{
	memset(out, 0, sizeof (*out));
	return (with_import(pl, mem, len, harvest_as, out));
}

/* ------------------------------------------------------------------ */
/* 3, 4. Predict, run, compare                                          */
/* ------------------------------------------------------------------ */

static void
describe(char *buf, size_t len, probe_outcome_t o, uint32_t ec, uint64_t x)
{
	switch (o) {
	case PROBE_OK:
		snprintf(buf, len, "completes");
		break;
	case PROBE_PF:
		snprintf(buf, len, "#PF ec=0x%x%s%s%s%s%s%s", ec,
		    ec & HT_PF_P ? " P" : "", ec & HT_PF_W ? " W" : "",
		    ec & HT_PF_U ? " U" : "", ec & HT_PF_RSVD ? " RSVD" : "",
		    ec & HT_PF_I ? " I" : "", ec & HT_PF_PK ? " PK" : "");
		break;
	case PROBE_GP:
		snprintf(buf, len, "#GP");
		break;
	case PROBE_OTHER:
		snprintf(buf, len, "exception %" PRIu64, x);
		break;
	default:
		snprintf(buf, len, "not run");
		break;
	}
}

/*
 * The CPU the engine really is: what the prediction must assume.  This
 * KVM has no 1 GiB pages and a guest MAXPHYADDR of 48 at most (it can
 * be lowered); QEMU's TCG takes any phys-bits, by default the widest the
 * mode names.
 */
static void
engine_cpu(const plan_t *pl, verify_engine_t e, ht_cpu_t *cpu)
{
	*cpu = pl->o->cpu;
	if (e == ENG_KVM) {
		cpu->flags |= HT_CPU_NO1G;
		if (cpu->pa_bits == 0 || cpu->pa_bits > 48)
			cpu->pa_bits = 48;
	} else if (cpu->pa_bits == 0) {
		cpu->pa_bits = pl->g->pa_bits_max;
	}
}

/*
 * kvm_pvm: every CPL-3 access to PML4 slot 256 (0xffff800000000000 ...
 * 0xffff807fffffffff) faults, as not-present or as P|RSVD depending on the
 * process, whatever the tables say.  A quirk of that KVM, listed apart.
 */
static int
kvm_quirk(const probe_t *p, const ht_access_t *a, const probe_result_t *r)
{
	return (p->cpl == 3 && (p->va >> 39) == 0x1ffff00ull &&
	    a->fault != HT_FAULT_GP && r->outcome == PROBE_PF);
}

/*
 * QEMU 7.2's TCG reports a reserved-bit page fault without the P bit,
 * though the SDM (4.7) says RSVD can be set only with P.  A quirk of that
 * QEMU, listed apart: the rest of the error code must still agree.
 */
static int
qemu_quirk(const ht_access_t *a, const probe_result_t *r)
{
	return (a->fault == HT_FAULT_PF && (a->error_code & HT_PF_RSVD) &&
	    r->outcome == PROBE_PF &&
	    (r->error_code & 0x3f) == (a->error_code & ~HT_PF_P));
}

/*
 * Run the plan on engine e.  Returns the exit status; counts into *c.
 */
typedef struct counts {
	size_t		probes, agree, disagree, quirk, skipped, ad_bad;
} counts_t;

static int
run_engine(plan_t *pl, verify_engine_t e, engine_job_t *job, counts_t *c,
    FILE *out)
{
	ht_cpu_t cpu;
	ht_access_t *pred;
	size_t *idx, nrun = 0;
	probe_t *run;
	int rc;

	engine_cpu(pl, e, &cpu);
	job->cpu = &cpu;
	pred = calloc(pl->np ? pl->np : 1, sizeof (*pred));
	idx = calloc(pl->np ? pl->np : 1, sizeof (*idx));
	run = calloc(pl->np ? pl->np : 1, sizeof (*run));
	job->results = calloc(pl->np ? pl->np : 1, sizeof (probe_result_t));
	if (pred == NULL || idx == NULL || run == NULL ||
	    job->results == NULL) {
		fprintf(stderr, "htable verify: out of memory\n");
		rc = EXIT_IO;
		goto out;
	}
	for (size_t i = 0; i < pl->np; i++) {
		const probe_t *p = &pl->p[i];

		if (ht_scan_access(&pl->cfg, &cpu, p->va, p->op, p->cpl,
		    &pred[i]) != 0) {
			fprintf(stderr, "htable verify: 0x%" PRIx64 ": %s\n",
			    p->va, ht_errdetail());
			rc = EXIT_INPUT;
			goto out;
		}
		/* a fetch that completes must land on a `ret` marker */
		if (p->op == PROBE_FETCH && pred[i].fault == HT_FAULT_NONE &&
		    !is_marker(pl, job, pred[i].pa)) {
			c->skipped++;
			continue;
		}
		idx[nrun] = i;
		run[nrun++] = *p;
	}
	job->probes = run;
	job->nprobes = nrun;
	rc = e == ENG_KVM ? engine_kvm(job) : engine_qemu(job);
	if (rc != ENGINE_OK) {
		rc = rc == ENGINE_FAILED ? EXIT_IO : EXIT_NOENGINE;
		goto out;
	}
	fprintf(out, "engine: %s\n", job->engine);
	for (size_t k = 0; k < nrun; k++) {
		size_t i = idx[k];
		const probe_t *p = &pl->p[i];
		const ht_access_t *a = &pred[i];
		const probe_result_t *r = &job->results[k];
		probe_outcome_t want = a->fault == HT_FAULT_NONE ? PROBE_OK :
		    a->fault == HT_FAULT_GP ? PROBE_GP : PROBE_PF;
		int same = r->outcome == want;
		char got_s[96], want_s[96], extra[96] = "";

		if (same && want == PROBE_PF)
			same = (r->error_code & 0x3f) == a->error_code &&
			    r->cr2 == p->va;
		if (same && want == PROBE_OK && p->op == PROBE_READ &&
		    is_marker(pl, job, a->pa) &&
		    MARKER_PA(r->value) != (a->pa & ~7ull)) {
			same = 0;
			snprintf(extra, sizeof (extra), " (read pa 0x%" PRIx64
			    ", library says 0x%" PRIx64 ")",
			    MARKER_PA(r->value), a->pa);
		}
		c->probes++;
		describe(got_s, sizeof (got_s), r->outcome, r->error_code,
		    r->vector);
		describe(want_s, sizeof (want_s), want, a->error_code, 0);
		if (same) {
			c->agree++;
			if (pl->o->verbose)
				fprintf(out, "agree 0x%016" PRIx64 " %-2s: %s\n",
				    p->va, op_names[p->op + 3 * (p->cpl == 3)],
				    got_s);
			continue;
		}
		if ((e == ENG_KVM && kvm_quirk(p, a, r)) ||
		    (e == ENG_QEMU && qemu_quirk(a, r) && r->cr2 == p->va)) {
			c->quirk++;
			if (pl->o->verbose || c->quirk <= 5)
				fprintf(out, "QUIRK 0x%016" PRIx64 " %-2s: mmu "
				    "%s; library %s (%s)\n", p->va,
				    op_names[p->op + 3 * (p->cpl == 3)], got_s,
				    want_s, e == ENG_KVM ? "kvm_pvm: CPL 3 in "
				    "PML4 slot 256 always faults" : "QEMU 7.2: "
				    "no P with RSVD, against SDM 4.7");
			continue;
		}
		c->disagree++;
		fprintf(out, "DISAGREE 0x%016" PRIx64 " %-2s: mmu %s%s; library "
		    "%s%s\n", p->va, op_names[p->op + 3 * (p->cpl == 3)],
		    got_s, r->outcome == PROBE_PF && r->cr2 != p->va ?
		    " (cr2 differs)" : "", want_s, extra);
	}

	/* A/D: what the run set against what the completed probes predict */
	if (job->mem_after != NULL && pl->cfg.mode == HT_MODE_PAE) {
		/*
		 * QEMU sets bit 5 (A) in the PAE PDPTEs it walks, where the
		 * bit is reserved and real CPUs write nothing.  Take it out
		 * before the harvest (the import would refuse the tables),
		 * and say so.
		 */
		uint64_t root = pl->cfg.cr3 & pl->g->root_mask;
		unsigned n = 0;

		for (unsigned k = 0; k < 4; k++) {
			uint64_t at = root + 8 * k, was = 0, now;

			if (at + 8 > pl->im->size)
				break;
			(void) image_read((void *)pl->im, at, &was, 8);
			memcpy(&now, job->mem_after + at, 8);
			if ((now & 0x20) && !(was & 0x20)) {
				now &= ~0x20ull;
				memcpy(job->mem_after + at, &now, 8);
				n++;
			}
		}
		if (n != 0)
			fprintf(out, "quirk: the engine set bit 5 (reserved in "
			    "PAE) in %u PDPTE(s); cleared before the A/D "
			    "check\n", n);
	}
	if (job->mem_after != NULL) {
		adset_t before, after;
		int h1 = harvest(pl, pl->im->base, pl->im->size, &before);
		int h2 = h1 ? h1 : harvest(pl, job->mem_after, pl->im->size,
		    &after);

		if (h1 != 0 || h2 != 0) {
			fprintf(out, "a/d: not checked: the library's import "
			    "refuses these tables (%s)\n", ht_errdetail());
		} else {
			adset_t want = { 0 };

			for (size_t k = 0; k < nrun; k++) {
				const ht_access_t *a = &pred[idx[k]];
				uint64_t leaf = pl->p[idx[k]].va &
				    ~(a->page_size - 1);

				if (a->fault != HT_FAULT_NONE ||
				    job->results[k].outcome != PROBE_OK)
					continue;
				(void) ad_or(&want, leaf,
				    HT_A | (a->set_d ? HT_D : 0));
			}
			for (size_t k = 0; k < nrun; k++) {
				uint64_t va = pl->p[idx[k]].va;
				uint64_t leaf = va & ~(pred[idx[k]].page_size - 1);
				unsigned b = ad_get(&before, leaf);
				unsigned got = ad_get(&after, leaf) & ~b;
				unsigned exp = ad_get(&want, leaf) & ~b;

				if (pred[idx[k]].page_size == 0 || got == exp)
					continue;
				c->ad_bad++;
				fprintf(out, "DISAGREE a/d of the leaf at 0x%016"
				    PRIx64 ": the run set %s%s, the library "
				    "predicts %s%s\n", leaf,
				    got & HT_A ? "A" : "-", got & HT_D ? "D" : "-",
				    exp & HT_A ? "A" : "-", exp & HT_D ? "D" : "-");
				/* report each leaf once */
				(void) ad_or(&before, leaf, HT_A | HT_D);
			}
			ad_free(&want);
		}
		if (h1 == 0)
			ad_free(&before);
		if (h1 == 0 && h2 == 0)
			ad_free(&after);
	}
	rc = c->disagree || c->ad_bad ? EXIT_DISAGREE : EXIT_OK;
out:
	free(pred);
	free(idx);
	free(run);
	free(job->results);
	free(job->mem_after);
	job->results = NULL;
	job->mem_after = NULL;
	return (rc);
}

int
verify_image(const char *path, const verify_opts_t *o, FILE *out)
{
	plan_t pl;
	image_t im;
	engine_job_t job;
	counts_t c = { 0 };
	ht_scan_stats_t st;
	int rc;

	memset(&pl, 0, sizeof (pl));
	memset(&job, 0, sizeof (job));
	if (cli_image_open(path, &im) != 0)
		return (EXIT_IO);
	pl.o = o;
	pl.im = &im;
	pl.g = ht_geometry(o->mode);
	pl.cfg.mode = o->mode;
	pl.cfg.cr3 = o->cr3;
	pl.cfg.read = image_read;
	pl.cfg.read_arg = &im;
	pl.cfg.max_leaves = 1u << 24;
	if ((rc = ht_scan(&pl.cfg, range_leaf, &pl, &st)) != 0) {
		fprintf(stderr, "htable verify: %s: %s\n", path,
		    ht_errdetail());
		rc = EXIT_INPUT;
		goto out;
	}
	if ((o->probes != NULL ? read_probes(&pl, o->probes) :
	    generate(&pl)) != 0) {
		rc = EXIT_INPUT;
		goto out;
	}
	qsort(pl.p, pl.np, sizeof (*pl.p), va_cmp);
	if (o->probes == NULL)
		dedup(&pl);

	job.mode = o->mode;
	job.cr3 = o->cr3;
	job.img = &im;
	{
		/* PAE: the 4-entry root sits at cr3 & ~0x1f in its frame */
		ht_pa_t root = o->cr3 & pl.g->root_mask;

		if (find_slot(&pl, root, (int)pl.g->levels - 1, 0, &job) != 0) {
			fprintf(stderr, "htable verify: no empty entry of at "
			    "least 2 MiB in the tables that no probe needs: "
			    "nowhere to put the probing code\n");
			rc = EXIT_INPUT;
			goto out;
		}
	}
	if (find_guest_pa(&pl, &job) != 0) {
		fprintf(stderr, "htable verify: no free 2 MiB of RAM below "
		    "4 GiB for the probing code\n");
		rc = EXIT_INPUT;
		goto out;
	}
	{
		uint64_t end = job.guest_pa + GUEST_AREA;

		if (im.next && im.ext[im.next - 1].end > end)
			end = im.ext[im.next - 1].end;
		/*
		 * Leaves into the first RAM_LEAF_MAX bytes get RAM (markers)
		 * behind them, so that reads there show the PA they hit;
		 * leaves above read whatever the engine gives unbacked memory.
		 */
		for (size_t i = 0; i < pl.nr; i++) {
			uint64_t e = pl.r[i].pa + (pl.r[i].last - pl.r[i].va + 1);

			if (e > end && e <= RAM_LEAF_MAX)
				end = e;
		}
		job.ram_size = (end + GUEST_AREA - 1) & ~(GUEST_AREA - 1);
	}

	verify_engine_t e = o->engine;
	if (e == ENG_AUTO)
		e = o->mode == HT_MODE_4LEVEL ? ENG_KVM : ENG_QEMU;
	rc = run_engine(&pl, e, &job, &c, out);
	if (rc == EXIT_NOENGINE && o->engine == ENG_AUTO && e == ENG_KVM) {
		fprintf(out, "engine: kvm skipped: %s\n", job.note);
		e = ENG_QEMU;
		memset(&c, 0, sizeof (c));
		rc = run_engine(&pl, e, &job, &c, out);
	}
	if (rc == EXIT_NOENGINE || rc == EXIT_IO) {
		fprintf(out, "engine: %s %s: %s\n", e == ENG_KVM ? "kvm" :
		    "qemu", rc == EXIT_IO ? "failed" : "skipped", job.note);
		fprintf(out, "probes=0 agree=0 disagree=0 (nothing verified)\n");
		goto out;
	}
	if (rc == EXIT_OK || rc == EXIT_DISAGREE)
		fprintf(out, "probes=%zu agree=%zu disagree=%zu%s",
		    c.probes, c.agree, c.disagree + c.ad_bad, "");
	if (rc == EXIT_OK || rc == EXIT_DISAGREE) {
		if (c.quirk)
			fprintf(out, " quirk=%zu", c.quirk);
		if (c.skipped)
			fprintf(out, " skipped=%zu", c.skipped);
		fputc('\n', out);
	}
out:
	free(pl.r);
	free(pl.p);
	image_close(&im);
	return (rc);
}
