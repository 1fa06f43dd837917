/*
 * test_model.c - model-based randomized test of libhtable.
 *
 * For each paging mode a long random sequence of ht_map / ht_unmap /
 * ht_protect / ht_lock / ht_unlock / ht_harvest_ad (plus purges, reaps,
 * simulated A/D updates by "the MMU" and deliberately invalid calls) runs
 * against the library and against tests/lib/refmodel, an interval map that
 * knows nothing about page tables.  After every operation:
 *   - ht_audit() must pass;
 *   - ~16 sampled addresses are translated three ways and must agree: the
 *     model, ht_translate(), and an independent walk of the raw tables in
 *     the arena as the MMU would do it (so the tables are checked in the
 *     hardware format, not only through the library's own reader);
 *   - every sampled page whose translation changed or lost a permission
 *     must have been covered by a TLB callback of that operation.
 *   - a soft TLB (ht_stlb_*) on the space, and one on the sharer below,
 *     are filled at the sampled addresses before each operation (so the
 *     addresses the operation changes are cached), and after it every
 *     sampled address and a few random ones are looked up for each
 *     access (read, write, fetch at CPL 0 and 3): a hit must be what the
 *     model says now (the frame, and the access allowed), so no stale
 *     translation is ever returned; each fill's verdict must be the
 *     model's, and a fill that completes must make the next lookup hit.
 * Every few hundred operations, and at the end, a full ht_walk() of the
 * space is compared with the model leaf by leaf.  The context keeps a
 * reverse map: the audit checks it against the leaves, and for each
 * sampled mapped page ht_page_mappings must name that page once and only
 * pages that the model maps to the same frame.
 *
 * Many parties.  Without lowmem (and outside 32-bit paging, where a
 * copied space has no 4 MiB pages) the space is HT_AS_COPIED: it has no
 * root frame and runs on two CPU roots.  The MMU walk above goes through
 * the first one's CR3, so every sampled translation checks the copies
 * of the top-level entries against the model; the second switches
 * between the space, another one and nothing, reads the same as the
 * first while it runs the space, and both pass ht_cpu_root_audit after
 * every step.  A sharer shares one level-0 table's span of the space now
 * and then (ht_share, ht_unshare): through a linked table it must see
 * what the model says of the space, its view must be in the reverse map,
 * and the space's TLB calls are forwarded to it.
 *
 * The "_lowmem" test of each mode throttles the arena (frame limit and
 * forced steals) so that allocations fail: a call that returns
 * -HT_ENOFRAME must have changed nothing, which the unchanged model and the
 * checks above then prove.  Its address space is HT_AS_NOSTEAL because a
 * steal legitimately drops unlocked mappings, which the model cannot
 * predict.
 *
 * Nested paging (npt4, npt5) runs the same model over a guest-physical
 * space [0, 2^va_bits) with no hole: the model's attributes all carry
 * HT_U (the library sets it in every entry), the soft TLBs decide every
 * access as a user one whatever the CPL and the CPU's WP, SMEP, SMAP and
 * PKE (set so that they would change the answer if they counted), and
 * the invalid calls include addresses beyond the space, which must be
 * HT_ERANGE (never HT_ENONCANON: there is no upper half).
 *
 * Intel EPT (ept4, ept5) runs it over the same guest-physical space in
 * EPT's entry format, with the context's HT_EPT_* flags (all three in
 * most runs, none in ept5's).  The attributes are those EPT takes: W, X
 * and (with MBEC) XU = HT_U as rights, execute-only pages (HT_NOREAD,
 * with XONLY), a memory type in HT_PWT/HT_PCD/HT_PAT (never 2, 3 or 7),
 * ignore-PAT (HT_G) and suppress-#VE; nothing is implied (no X, no U).
 * The MMU's walk of the raw tables is the independent reference's
 * (tests/lib/eptref.c, written from the SDM): eptref_walk reads the
 * entries through the same reader, every entry must classify as a link
 * or a leaf (never a misconfiguration), and the rights are the ANDs of
 * each entry's read, write and execute bits.  Every soft TLB fill is
 * also decided by ht_access, and both answers must be eptref_walk's
 * (outcome, exit qualification, address, page size, the entries read,
 * the A/D bits set); every hit must be an access eptref_walk lets
 * through to the same frame.  A/D are bits 8 and 9, and exist only with
 * HT_EPT_AD: without it they are ignored bits (set now and then all the
 * same, and never to be reported as A/D), and every present entry counts
 * as possibly cached.  The invalid calls include the attributes EPT
 * refuses (reserved memory types, write without read, a page with no
 * right, what the flags do not allow).
 *
 * Where the header leaves a choice open (locking a range with holes,
 * unlocking mappings that are not locked, which of two applicable errors
 * comes first) the test accepts each reasonable answer but then holds the
 * library to the state that answer implies.
 *
 * Seeds: HT_SEED=<decimal or 0x hex> fixes the seed (else it comes from
 * the clock); a failure prints "model seed=0x... mode=..." and the last
 * operations.  Rerun one mode with the same seed:
 *   HT_SEED=0x... build/tests/model/test_model --filter 'model/4level*'
 * HT_MODEL_OPS=<n> overrides the number of operations per test (100000);
 * HT_MODEL_VERBOSE=1 prints a summary line per test.
 * HT_MODEL_AUDIT_EVERY=<k> runs ht_audit() after every k-th operation
 * instead of after each (and still at every full walk and at the end).
 * The audit reads every entry of every table, so it is most of the cost
 * of a step; the long run (scripts/model-long.sh) uses it to reach 10^6
 * operations per mode.  The sampled three-way translations after every
 * operation and the periodic full walks are never thinned out.
 * MODEL_TIMEOUT (a compile-time macro, seconds) is Criterion's limit per
 * test: 300 by default, raised by the long-run build.
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eptref.h"
#include "htable.h"
#include "refmodel.h"

#define PG		4096ull
#define MIB		(1024ull * 1024)
#define GIB		(1024ull * MIB)

#define PERM		(HT_W | HT_U | HT_X)
#define ATTRS		(HT_W | HT_U | HT_X | HT_G | HT_PWT | HT_PCD | HT_PAT)
#define AD		(HT_A | HT_D)

#define NSAMPLE		16
#define NHIST		32
#define NCL		8
#define NHOT		4
#define NTLB		64
#define WALK_EVERY	300
#define DEFAULT_OPS	100000ul

#ifndef MODEL_TIMEOUT
#define MODEL_TIMEOUT	300
#endif

/* x86 entry bits the MMU walker below decodes (Intel SDM vol. 3, 4.3-4.5) */
#define X_P		0x001ull
#define X_RW		0x002ull
#define X_US		0x004ull
#define X_PWT		0x008ull
#define X_PCD		0x010ull
#define X_A		0x020ull
#define X_D		0x040ull
#define X_PS		0x080ull
#define X_PAT4K		0x080ull
#define X_G		0x100ull
#define X_PATLG		0x1000ull
#define X_NX		(1ull << 63)
#define X_ADDR64	0x000ffffffffff000ull

enum {
	OP_MAP, OP_UNMAP, OP_PROTECT, OP_LOCK, OP_UNLOCK, OP_AD, OP_TOUCH,
	OP_PURGE, OP_BAD, OP_RESET, OP_SWITCH, OP_SHARE, NOPTYPES
};

static const char *const op_names[NOPTYPES] = {
	"map", "unmap", "protect", "lock", "unlock", "test_clear_ad",
	"touch", "purge", "bad", "reset", "switch", "share/unshare"
};

#define SH_TABLES	64	/* the sharer's region starts 64 tables up */

typedef struct region {
	uint64_t	first;
	uint64_t	last;
} region_t;

typedef struct cluster {
	int		reg;		/* index into run_t.reg */
	uint64_t	base;		/* window start */
	uint64_t	hot[NHOT];	/* where the small operations pile up */
} cluster_t;

/* What the model says one address must translate to. */
typedef struct expect {
	int		mapped;
	uint64_t	pa;
	unsigned	attr;		/* effective ATTRS */
	int		locked;
} expect_t;

/* One translation done by reading the tables as the MMU does. */
typedef struct hwx {
	int		mapped;
	uint64_t	pa;
	uint64_t	size;
	int		level;
	unsigned	attr;		/* effective ATTRS plus the leaf's A/D */
	unsigned	n;
	uint64_t	ent[HT_MAX_LEVELS];
	void		*leafp;		/* host pointer to the leaf entry */
} hwx_t;

typedef struct run {
	ht_mode_t	mode;
	const char	*mname;
	const ht_geometry_t *g;
	uint64_t	seed;
	uint64_t	rng[4];
	int		lowmem;
	int		serial;		/* HT_AS_SERIAL, no reverse map */
	unsigned long	nops;
	unsigned long	audit_every;	/* ht_audit after every k-th step */

	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
	ht_as_t		*as;
	refmodel_t	rm;

	/*
	 * Many parties.  Without lowmem the space is HT_AS_COPIED and runs
	 * on two CPU roots: cr[0] always (the MMU walk below reads through
	 * it), cr[1] switches between it, `other` and nothing.  A sharer
	 * shares one level-0 table's span of the space now and then.
	 */
	int		copied;
	ht_cpu_root_t	*cr[2];
	ht_as_t		*other;
	ht_as_t		*sh;
	int		shared;		/* a region of sh shows the space */
	int		sh_linked;	/* through the space's own table */
	uint64_t	sh_src;		/* its start in the space */
	uint64_t	sh_dst;		/* and in sh */
	uint64_t	sh_span;
	/* soft TLBs: on the space and on the sharer (small: collisions) */
	ht_stlb_t	*stlb;
	ht_stlb_t	*sh_stlb;
	unsigned long	stlb_hits, stlb_fills;

	unsigned	ps;		/* page sizes in force */
	uint64_t	lpg[3];		/* large page sizes in force */
	unsigned	nlpg;
	uint64_t	big;		/* the largest page size */
	uint64_t	pa_limit;	/* 1 << ht_ctx_pa_bits */
	uint64_t	pa_small_limit;	/* PAs a 4 KiB leaf can name */
	int		has_nx;
	unsigned	xkeep;		/* HT_X when X is always effective */
	/*
	 * Nested paging (npt4, npt5): the space is guest-physical, [0,
	 * 2^va_bits) with no hole; every entry has U (the library sets it
	 * whatever attr says) and every access is decided as a user one.
	 */
	int		npt;
	/*
	 * Intel EPT (ept4, ept5): guest-physical too, in EPT's entry
	 * format, with the context's HT_EPT_* flags (eptf).  eref is the
	 * reference's CPU for those flags: the MMU that reads the tables.
	 */
	int		ept;
	unsigned	eptf;
	eptref_cpu_t	eref;
	int		guest;		/* guest-physical, no hole: npt, ept */
	unsigned	attrs;		/* what the model keeps: ATTRS, and in
					   EPT HT_NOREAD and HT_EPT_SVE */
	unsigned	perm;		/* the rights protect sets: PERM, and
					   in EPT HT_NOREAD */
	unsigned	keep;		/* every leaf: xkeep, NPT's U */
	ht_cpu_t	cpu;		/* the soft TLBs' CPU */
	ht_cpu_t	sh_cpu;		/* the sharer's (EPT: without MBEC) */
	unsigned long	ept_out[3];	/* EPT: reference outcomes compared */
	uint64_t	va_last;	/* last VA of the space */
	uint64_t	window;		/* cluster window size */
	uint64_t	spread;		/* small operations: hot spot +- this */
	region_t	reg[2];
	int		nreg;
	cluster_t	cl[NCL];
	int		ncl;

	/* TLB callbacks of the current operation */
	uint64_t	tlb_calls;
	struct {
		uint64_t va, len;
	}		tlb[NTLB];
	unsigned	ntlb;
	int		tlb_all;
	int		tlb_overflow;
	int		tlb_bad_as;

	/* history and statistics */
	unsigned long	opno;
	char		hist[NHIST][200];
	unsigned long	nop[NOPTYPES];
	unsigned long	nok[NOPTYPES];
	unsigned long	n_elocked, n_eexist, n_enoframe, n_enotmapped;
	unsigned long	n_enotlocked, n_ad_found;
	unsigned long	leaves_seen[HT_MAX_LEVELS];
	unsigned long	walks;
	unsigned long	audits;
} run_t;

/* ------------------------------------------------------------------ */
/* Failure reporting                                                   */
/* ------------------------------------------------------------------ */

static void fail(run_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void
fail(run_t *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(msg, sizeof (msg), fmt, ap);
	va_end(ap);

	/* stderr gets the history too: it is what makes a failure readable */
	(void) fprintf(stderr, "model seed=0x%016" PRIx64 " mode=%s%s "
	    "op #%lu: %s\n", r->seed, r->mname, r->lowmem ? " (lowmem)" : "",
	    r->opno, msg);
	(void) fprintf(stderr, "  last operations, oldest first:\n");
	for (unsigned long i = r->opno >= NHIST ? r->opno - NHIST + 1 : 0;
	    i <= r->opno; i++) {
		if (r->hist[i % NHIST][0] != '\0')
			(void) fprintf(stderr, "    #%lu %s\n", i,
			    r->hist[i % NHIST]);
	}
	cr_assert_fail("model seed=0x%016" PRIx64 " mode=%s%s op #%lu: %s",
	    r->seed, r->mname, r->lowmem ? " (lowmem)" : "", r->opno, msg);
	abort();	/* not reached: cr_assert_fail ends the test */
}

static void hist(run_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
hist(run_t *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(r->hist[r->opno % NHIST], sizeof (r->hist[0]), fmt,
	    ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Random numbers (xoshiro256**, seeded by splitmix64)                 */
/* ------------------------------------------------------------------ */

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31));
}

static uint64_t
rotl(uint64_t x, int k)
{
	return ((x << k) | (x >> (64 - k)));
}

static uint64_t
rnd64(run_t *r)
{
	uint64_t *s = r->rng;
	uint64_t res = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return (res);
}

/* Uniform in [0, n); n == 0 means the full 64-bit range. */
static uint64_t
rnd(run_t *r, uint64_t n)
{
	return (n == 0 ? rnd64(r) : rnd64(r) % n);
}

static int
chance(run_t *r, unsigned pct)
{
	return (rnd(r, 100) < pct);
}

static uint64_t
base_seed(void)
{
	static uint64_t seed;
	static int have;
	const char *s = getenv("HT_SEED");

	if (have)
		return (seed);
	if (s != NULL && *s != '\0') {
		seed = strtoull(s, NULL, 0);
	} else {
		struct timespec ts;
		(void) clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007ull ^
		    (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
	}
	have = 1;
	return (seed);
}

/* A count from the environment, or dflt when unset, empty or 0. */
static unsigned long
env_count(const char *name, unsigned long dflt)
{
	const char *s = getenv(name);
	unsigned long v;

	if (s == NULL || *s == '\0')
		return (dflt);
	v = strtoul(s, NULL, 0);
	return (v != 0 ? v : dflt);
}

/* ------------------------------------------------------------------ */
/* Address helpers                                                     */
/* ------------------------------------------------------------------ */

static int
va_ok(const run_t *r, uint64_t va)
{
	if (va > r->va_last)
		return (0);
	if (r->g->hole_start != 0 && va >= r->g->hole_start &&
	    va <= r->g->hole_end)
		return (0);
	return (1);
}

/* Does [va, va + len) lie inside one region (no hole, no wrap)? */
static int
range_ok(const run_t *r, uint64_t va, uint64_t len)
{
	for (int i = 0; i < r->nreg; i++) {
		if (va >= r->reg[i].first && va <= r->reg[i].last &&
		    len - 1 <= r->reg[i].last - va)
			return (1);
	}
	return (0);
}

static const region_t *
region_of(const run_t *r, uint64_t va)
{
	for (int i = 0; i < r->nreg; i++) {
		if (va >= r->reg[i].first && va <= r->reg[i].last)
			return (&r->reg[i]);
	}
	return (NULL);
}

/* HT_PS_* bit of a page size. */
static unsigned
ps_bit(uint64_t size)
{
	return (size == PG ? HT_PS_4K : size == 2 * MIB ? HT_PS_2M :
	    size == 4 * MIB ? HT_PS_4M : size == GIB ? HT_PS_1G : 0);
}

static const char *
errname(int rc)
{
	return (rc == 0 ? "0" : ht_err_name(rc));
}

/* ------------------------------------------------------------------ */
/* TLB hook                                                            */
/* ------------------------------------------------------------------ */

static void
tlb_cb(void *arg, ht_as_t *as, ht_va_t va, uint64_t len)
{
	run_t *r = arg;

	r->tlb_calls++;
	if (as != r->as) {
		/* the space's changes forwarded to its sharer, or other's */
		if (as != r->sh && as != r->other)
			r->tlb_bad_as = 1;
		return;
	}
	if (len == HT_TLB_ALL) {
		r->tlb_all = 1;
		return;
	}
	if (r->ntlb == NTLB) {
		r->tlb_overflow = 1;
		return;
	}
	r->tlb[r->ntlb].va = va;
	r->tlb[r->ntlb].len = len;
	r->ntlb++;
}

static void
tlb_reset(run_t *r)
{
	r->ntlb = 0;
	r->tlb_all = 0;
	r->tlb_overflow = 0;
}

/* Was the page at va invalidated by the current operation? */
static int
tlb_covered(const run_t *r, uint64_t va, int global)
{
	if (r->tlb_overflow)
		return (1);	/* too many ranges recorded to judge */
	/* HT_TLB_ALL drops everything, global entries too (htable.h) */
	(void) global;
	if (r->tlb_all)
		return (1);
	for (unsigned i = 0; i < r->ntlb; i++) {
		if (r->tlb[i].len != 0 && va >= r->tlb[i].va &&
		    va - r->tlb[i].va <= r->tlb[i].len - 1)
			return (1);
	}
	return (0);
}

/* ------------------------------------------------------------------ */
/* The MMU's view: walk the raw tables in the arena                    */
/* ------------------------------------------------------------------ */

static uint64_t
read_pte(const run_t *r, void *p)
{
	if (r->g->pte_size == 4) {
		uint32_t v;
		memcpy(&v, p, sizeof (v));
		return (v);
	}
	uint64_t v;
	memcpy(&v, p, sizeof (v));
	return (v);
}

/*
 * EPT: the reference (eptref.c) reads our tables through read_pte, as
 * the x86 walk below does.  `first`, when not ~0, is the entry to read
 * instead of the first one asked for (ept_ref says why).
 */
typedef struct ept_rd {
	run_t		*r;
	uint64_t	first;
	int		nread;
} ept_rd_t;

static int
ept_read(void *arg, uint64_t pa, uint64_t *val)
{
	ept_rd_t *a = arg;
	unsigned char *p;

	if (a->nread++ == 0 && a->first != ~0ull)
		pa = a->first;
	p = ht_arena_ptr(a->r->arena, pa);
	if (p == NULL)
		return (-1);
	*val = read_pte(a->r, p);
	return (0);
}

/*
 * What a CPU switching to the tables at root loads: CR3 = the root; in
 * EPT the EPT pointer, as the reference makes it (the walk length, A/D
 * as the context's, WB for the tables).
 */
static uint64_t
cr3_of(const run_t *r, uint64_t root)
{
	if (!r->ept)
		return (root);
	return (EPTREF_EPTP_MAKE(root, r->g->levels,
	    (r->eptf & HT_EPT_AD) != 0, EPTREF_MT_WB));
}

/*
 * eptref_walk of access acc (user: from a user-mode linear address) to
 * va through the tables at root, on the reference's CPU c, with the EPT
 * pointer a switch gives (cr3_of).  The reference refuses an address at or
 * above 2^MAXPHYADDR, which no guest can make; ept5's space goes on to
 * 2^57, and of those bits only the root's index takes part in the walk.
 * Such an address is walked as the one without them, through a reader
 * that serves the real address's root entry first: the answer and the
 * entries read are the real address's (the root entry's address is put
 * back in the steps).
 */
static void
ept_ref(run_t *r, const eptref_cpu_t *c, uint64_t root, uint64_t va,
    eptref_access_t acc, bool user, eptref_walk_t *w)
{
	const ht_geometry_t *g = r->g;
	unsigned top = g->levels - 1;
	uint64_t eptp = cr3_of(r, root);
	ept_rd_t a = { r, ~0ull, 0 };
	uint64_t gva = va;

	if ((va >> c->maxphyaddr) != 0) {
		if (c->maxphyaddr < g->level_shift[top])
			fail(r, "test bug: va 0x%" PRIx64 " beyond MAXPHYADDR "
			    "%u below the root's index", va, c->maxphyaddr);
		gva = va & ((1ull << c->maxphyaddr) - 1);
		a.first = root + ((va >> g->level_shift[top]) &
		    (g->top_level_count - 1)) * 8;
	}
	(void) eptref_walk(c, eptp, ept_read, &a, gva, acc, user, w);
	if (w->outcome != EPTREF_OK && w->outcome != EPTREF_VIOLATION &&
	    w->outcome != EPTREF_MISCONF)
		fail(r, "reference walk of 0x%" PRIx64 " (EPTP 0x%" PRIx64 "): "
		    "outcome %d (EPTP checks 0x%x; an entry outside the "
		    "arena?)", va, eptp, (int)w->outcome, w->eptp_bad);
	if (a.first != ~0ull && w->nsteps > 0)
		w->steps[0].addr = a.first;
	w->gpa = va;
}

/*
 * The MMU's walk in EPT: the reference's, for a read.  Every entry our
 * tables hold must be a link or a leaf to the reference; the rights are
 * the ANDs of read, write, execute and (MBEC) user-execute over the
 * entries, as the access rules take them.
 */
static int
hw_walk_ept(run_t *r, uint64_t root, uint64_t va, hwx_t *x)
{
	bool ar = true, aw = true, ax = true, axu = true;
	const eptref_entry_t *lf;
	eptref_entry_t en;
	eptref_walk_t w;

	memset(x, 0, sizeof (*x));
	ept_ref(r, &r->eref, root, va, EPTREF_ACC_READ, false, &w);
	for (int i = 0; i < w.nsteps; i++)
		x->ent[x->n++] = w.steps[i].val;
	if (w.outcome == EPTREF_MISCONF)
		fail(r, "MMU walk of 0x%" PRIx64 ": the level-%d entry 0x%"
		    PRIx64 " is an EPT misconfiguration (reasons 0x%x)", va,
		    w.stop_level, w.steps[w.nsteps - 1].val, w.mc);
	if (!w.reached_leaf)
		return (0);
	for (int i = 0; i < w.nsteps; i++) {
		eptref_classify(&r->eref, w.steps[i].level, w.steps[i].val,
		    &en);
		ar = ar && en.r;
		aw = aw && en.w;
		ax = ax && en.x;
		axu = axu && en.xu;
	}
	lf = &w.leaf;
	x->mapped = 1;
	x->size = lf->size;
	x->level = lf->level;
	x->pa = lf->addr + (va & (lf->size - 1));
	x->leafp = ht_arena_ptr(r->arena, w.steps[w.nsteps - 1].addr);
	x->attr = (aw ? HT_W : 0) | (ax ? HT_X : 0) | (axu ? HT_XU : 0) |
	    (ar ? 0 : HT_NOREAD) | (lf->ipat ? HT_EPT_IPAT : 0) |
	    HT_EPT_MT(lf->memtype) | (lf->sve ? HT_EPT_SVE : 0);
	if (r->eptf & HT_EPT_AD)
		x->attr |= (lf->a ? HT_A : 0) | (lf->d ? HT_D : 0);
	return (1);
}

static int
hw_walk_at(run_t *r, uint64_t root, uint64_t va, hwx_t *x)
{
	const ht_geometry_t *g = r->g;
	uint64_t tpa = root;
	int w = 1, u = 1, nx = 0;

	if (r->ept)
		return (hw_walk_ept(r, root, va, x));
	memset(x, 0, sizeof (*x));
	for (int l = (int)g->levels - 1; l >= 0; l--) {
		int top = l == (int)g->levels - 1;
		unsigned cnt = top ? g->top_level_count : g->ptes_per_table;
		uint64_t idx = (va >> g->level_shift[l]) & (cnt - 1);
		uint64_t epa = tpa + idx * g->pte_size;
		unsigned char *p = ht_arena_ptr(r->arena, epa);

		if (p == NULL)
			fail(r, "MMU walk of 0x%" PRIx64 ": level %d entry at "
			    "pa 0x%" PRIx64 " is outside the arena", va, l,
			    epa);
		uint64_t e = read_pte(r, p);
		x->ent[x->n++] = e;
		if (!(e & X_P))
			return (0);
		/* PAE PDPTEs have no R/W, U/S or NX: they do not restrict */
		int pdpte = g->mode == HT_MODE_PAE && top;
		if (!pdpte) {
			if (!(e & X_RW))
				w = 0;
			if (!(e & X_US))
				u = 0;
			if (g->has_nx && (e & X_NX))
				nx = 1;
		}
		int leaf = l == 0 || (!pdpte && (e & X_PS));
		if (!leaf) {
			tpa = g->pte_size == 4 ? (e & 0xfffff000ull) :
			    (e & X_ADDR64);
			continue;
		}
		uint64_t size = 1ull << g->level_shift[l];
		uint64_t base;
		if (l == 0)
			base = g->pte_size == 4 ? (e & 0xfffff000ull) :
			    (e & X_ADDR64);
		else if (g->pte_size == 4)	/* PSE-36 */
			base = (e & 0xffc00000ull) | (((e >> 13) & 0xff) << 32);
		else
			base = e & X_ADDR64 & ~(size - 1);
		x->mapped = 1;
		x->size = size;
		x->level = l;
		x->pa = base + (va & (size - 1));
		x->leafp = p;
		x->attr = (w ? HT_W : 0) | (u ? HT_U : 0) | (nx ? 0 : HT_X) |
		    ((e & X_G) ? HT_G : 0) | ((e & X_PWT) ? HT_PWT : 0) |
		    ((e & X_PCD) ? HT_PCD : 0) |
		    ((e & (l == 0 ? X_PAT4K : X_PATLG)) ? HT_PAT : 0) |
		    ((e & X_A) ? HT_A : 0) | ((e & X_D) ? HT_D : 0);
		return (1);
	}
	return (0);
}

/*
 * The MMU's walk of the space: through its root, or for a copied space
 * (no root frame) through the CPU root that always runs it.
 */
static int
hw_walk(run_t *r, uint64_t va, hwx_t *x)
{
	return (hw_walk_at(r, r->copied ? ht_cpu_root_pa(r->cr[0], 0) :
	    ht_as_root(r->as), va, x));
}

/* ------------------------------------------------------------------ */
/* Comparing the library with the model                                */
/* ------------------------------------------------------------------ */

static void
model_expect(const run_t *r, uint64_t va, expect_t *e)
{
	unsigned attr = 0;

	memset(e, 0, sizeof (*e));
	e->mapped = rm_lookup(&r->rm, va, &e->pa, &attr, &e->locked);
	e->attr = (attr & r->attrs) | (e->mapped ? r->keep : 0);
}

/* ht_page_mappings of the sampled page: each must be what the model says */
struct rmap_check {
	run_t		*r;
	uint64_t	va;		/* the sampled page */
	uint64_t	frame;
	int		found;
};

static int
rmap_cb(void *arg, const ht_mapping_t *m)
{
	struct rmap_check *c = arg;
	uint64_t pa = 0;
	unsigned attr;
	int locked;

	uint64_t va = m->va;

	if (m->as == c->r->other) {
		/* the space the second CPU root switches to: one page */
		if (m->va != 0 || c->frame != 0x7000)
			fail(c->r, "page_mappings 0x%" PRIx64 ": other's va 0x%"
			    PRIx64, c->frame, m->va);
		return (0);
	}
	if (m->as == c->r->sh && c->r->shared) {
		if (va - c->r->sh_dst >= c->r->sh_span || va < c->r->sh_dst)
			fail(c->r, "page_mappings 0x%" PRIx64 ": sharer va 0x%"
			    PRIx64 " outside its region", c->frame, va);
		/* a copy made at share time: the audit checks it */
		if (!m->shared)
			return (0);
		/* the sharer's view of the space's leaf */
		va = va - c->r->sh_dst + c->r->sh_src;
	} else if (m->as != c->r->as || m->shared) {
		fail(c->r, "page_mappings 0x%" PRIx64 ": a space not ours",
		    c->frame);
	}
	if (!rm_lookup(&c->r->rm, va, &pa, &attr, &locked) ||
	    (pa & ~(PG - 1)) != c->frame)
		fail(c->r, "page_mappings 0x%" PRIx64 ": va 0x%" PRIx64 " is "
		    "not mapped there in the model", c->frame, m->va);
	/*
	 * Only the space's own entry counts: the sharer's region may hold
	 * the sampled address too, and show there a leaf of the space that
	 * maps the same frame at another address.
	 */
	if (m->as == c->r->as && m->va == c->va)
		c->found++;
	return (0);
}

/*
 * The reverse map agrees with the model for the frame that the sampled
 * page maps: it names this page once, and only pages the model maps there.
 */
static void
check_rmap(run_t *r, uint64_t va, const expect_t *e)
{
	struct rmap_check c = { r, va & ~(PG - 1), e->pa & ~(PG - 1), 0 };
	long n = ht_page_mappings(r->ctx, e->pa, rmap_cb, &c);

	if (n < 0)
		fail(r, "page_mappings 0x%" PRIx64 ": %s (%s)", e->pa,
		    errname((int)n), ht_errdetail());
	if (c.found != 1)
		fail(r, "page_mappings 0x%" PRIx64 ": va 0x%" PRIx64 " found "
		    "%d times", e->pa, c.va, c.found);
}

static void
check_addr(run_t *r, uint64_t va, const expect_t *e)
{
	ht_xlate_t x;
	hwx_t h;
	int rc = ht_translate(r->as, va, &x);
	int hm = hw_walk(r, va, &h);
	ht_pa_t pa = 0;
	int prc = ht_va2pa(r->as, va, &pa);

	/* the address-only lookup must agree with the full one */
	if (prc != rc || (rc == 0 && pa != x.pa))
		fail(r, "va2pa 0x%" PRIx64 ": %s pa 0x%" PRIx64 ", translate "
		    "%s pa 0x%" PRIx64, va, errname(prc), pa, errname(rc),
		    x.pa);
	if (!e->mapped) {
		if (rc != -HT_ENOTMAPPED)
			fail(r, "translate 0x%" PRIx64 ": model says unmapped, "
			    "library says %s (pa 0x%" PRIx64 ")", va,
			    errname(rc), x.pa);
		if (hm)
			fail(r, "MMU walk 0x%" PRIx64 ": model says unmapped, "
			    "tables map it to pa 0x%" PRIx64, va, h.pa);
		return;
	}
	if (rc != 0)
		fail(r, "translate 0x%" PRIx64 ": model says pa 0x%" PRIx64
		    " attr 0x%x, library says %s (%s)", va, e->pa, e->attr,
		    errname(rc), ht_errdetail());
	if (!hm)
		fail(r, "MMU walk 0x%" PRIx64 ": model says pa 0x%" PRIx64
		    ", tables have no leaf", va, e->pa);
	if (x.pa != e->pa || h.pa != e->pa)
		fail(r, "translate 0x%" PRIx64 ": pa model 0x%" PRIx64
		    " library 0x%" PRIx64 " tables 0x%" PRIx64, va, e->pa, x.pa,
		    h.pa);
	if ((x.attr & r->attrs) != e->attr || (h.attr & r->attrs) != e->attr)
		fail(r, "translate 0x%" PRIx64 ": attr model 0x%x library "
		    "0x%x tables 0x%x", va, e->attr, x.attr & r->attrs,
		    h.attr & r->attrs);
	if (!!(x.attr & HT_LOCKED) != !!e->locked)
		fail(r, "translate 0x%" PRIx64 ": model locked=%d, library "
		    "attr 0x%x", va, e->locked, x.attr);
	if ((x.attr & AD) != (h.attr & AD))
		fail(r, "translate 0x%" PRIx64 ": A/D library 0x%x tables "
		    "0x%x", va, x.attr & AD, h.attr & AD);
	if (x.page_size != h.size || x.level >= r->g->levels ||
	    (1ull << r->g->level_shift[x.level]) != h.size)
		fail(r, "translate 0x%" PRIx64 ": page size library 0x%" PRIx64
		    " level %u, tables 0x%" PRIx64, va, x.page_size, x.level,
		    h.size);
	if (x.nlevels != h.n)
		fail(r, "translate 0x%" PRIx64 ": library read %u entries, "
		    "MMU %u", va, x.nlevels, h.n);
	if (!r->serial)
		check_rmap(r, va, e);
	for (unsigned i = 0; i < h.n; i++) {
		if (x.entries[i] != h.ent[i])
			fail(r, "translate 0x%" PRIx64 ": entry %u library "
			    "0x%" PRIx64 " memory 0x%" PRIx64, va, i,
			    x.entries[i], h.ent[i]);
	}
}

static void
audit(run_t *r)
{
	int rc = ht_audit(r->as);

	r->audits++;
	if (rc != 0)
		fail(r, "ht_audit: %s: %s", errname(rc), ht_errdetail());
}

/* A random address somewhere the workload happens. */
static uint64_t
random_hot_va(run_t *r)
{
	const cluster_t *c = &r->cl[rnd(r, (uint64_t)r->ncl)];

	if (chance(r, 50))
		return (c->base + rnd(r, r->window));
	uint64_t va = c->hot[rnd(r, NHOT)] + rnd(r, 2 * r->spread) - r->spread;
	return (va_ok(r, va) ? va : c->base);
}

/* A random address in a random model entry (if there is one). */
static uint64_t
random_mapped_va(run_t *r)
{
	if (r->rm.n == 0)
		return (random_hot_va(r));
	const rm_ent_t *e = &r->rm.ents[rnd(r, r->rm.n)];
	uint64_t span = e->last - e->va;
	return (e->va + (span == UINT64_MAX ? rnd64(r) : rnd(r, span + 1)));
}

/*
 * Sample addresses around and inside [va, last]: both ends, their
 * neighbours, the large-page boundaries near the ends, random interior
 * points and random points elsewhere.
 */
static unsigned
pick_samples(run_t *r, int have_range, uint64_t va, uint64_t last,
    uint64_t *s)
{
	unsigned n = 0;

	if (have_range) {
		uint64_t span = last - va;
		s[n++] = va + rnd(r, PG);
		s[n++] = last - rnd(r, PG);
		s[n++] = va - 1;
		s[n++] = last + 1;
		for (int i = 0; i < 4; i++)
			s[n++] = va + (span == UINT64_MAX ? rnd64(r) :
			    rnd(r, span + 1));
		for (unsigned i = 0; i < r->nlpg && n < 12; i++) {
			uint64_t sz = r->lpg[i];
			s[n++] = (va & ~(sz - 1)) + rnd(r, PG);
			s[n++] = ((last & ~(sz - 1)) - 1) - rnd(r, PG);
		}
	}
	while (n < NSAMPLE - 2)
		s[n++] = random_mapped_va(r);
	while (n < NSAMPLE)
		s[n++] = random_hot_va(r);
	for (unsigned i = 0; i < n; i++) {
		if (!va_ok(r, s[i]))
			s[i] = random_mapped_va(r);
		if (!va_ok(r, s[i]))
			s[i] = r->cl[0].base;
	}
	return (n);
}

/* ------------------------------------------------------------------ */
/* Full walk against the model                                         */
/* ------------------------------------------------------------------ */

typedef struct wstate {
	run_t		*r;
	int		any;
	uint64_t	next;		/* first VA after the previous leaf */
	int		wrapped;	/* previous leaf ended at 2^64 */
	uint64_t	bytes;
	uint64_t	leaves;
	unsigned long	per_level[HT_MAX_LEVELS];
	char		msg[512];
	uint64_t	(*lv)[2];	/* every leaf's va and size, to diagnose */
	size_t		nlv, caplv;
} wstate_t;

static int
walk_cb(void *arg, const ht_leaf_t *lf)
{
	wstate_t *w = arg;
	run_t *r = w->r;
	uint64_t size = lf->size;

	if (lf->level >= r->g->levels ||
	    size != 1ull << r->g->level_shift[lf->level] ||
	    !(r->ps & ps_bit(size))) {
		(void) snprintf(w->msg, sizeof (w->msg), "leaf va 0x%" PRIx64
		    " has size 0x%" PRIx64 " level %u", lf->va, size,
		    lf->level);
		return (1);
	}
	if ((lf->va & (size - 1)) != 0 || (lf->pa & (size - 1)) != 0 ||
	    !va_ok(r, lf->va)) {
		(void) snprintf(w->msg, sizeof (w->msg), "leaf va 0x%" PRIx64
		    " pa 0x%" PRIx64 " misaligned for size 0x%" PRIx64
		    " or not canonical", lf->va, lf->pa, size);
		return (1);
	}
	if (w->any && (w->wrapped || lf->va < w->next)) {
		(void) snprintf(w->msg, sizeof (w->msg), "leaf va 0x%" PRIx64
		    " out of order or overlapping (previous ended 0x%" PRIx64
		    ")", lf->va, w->next);
		return (1);
	}
	/*
	 * Only X is added (in a mode without NX it is not the leaf's to
	 * say).  NPT's U is not: the walk must report it in the leaf's own
	 * attr, and in eff.
	 */
	unsigned attr = (lf->attr & r->attrs) | r->xkeep;
	int locked = !!(lf->attr & HT_LOCKED);
	if (!rm_uniform(&r->rm, lf->va, lf->va + (size - 1), lf->pa, attr,
	    locked)) {
		expect_t e;
		model_expect(r, lf->va, &e);
		(void) snprintf(w->msg, sizeof (w->msg), "leaf va 0x%" PRIx64
		    " size 0x%" PRIx64 " pa 0x%" PRIx64 " attr 0x%x locked %d "
		    "does not match the model (at va: mapped %d pa 0x%" PRIx64
		    " attr 0x%x locked %d)", lf->va, size, lf->pa, attr,
		    locked, e.mapped, e.pa, e.attr, e.locked);
		return (1);
	}
	if (r->ept && !(r->eptf & HT_EPT_AD) && (lf->attr & AD)) {
		(void) snprintf(w->msg, sizeof (w->msg), "leaf va 0x%" PRIx64
		    " attr 0x%x: A/D without HT_EPT_AD", lf->va, lf->attr);
		return (1);
	}
	/* the links above a leaf never restrict it: eff is its own rights */
	if ((lf->eff & r->perm) != (attr & r->perm)) {
		(void) snprintf(w->msg, sizeof (w->msg), "leaf va 0x%" PRIx64
		    " attr 0x%x has eff 0x%x", lf->va, attr, lf->eff);
		return (1);
	}
	if (w->nlv == w->caplv) {
		w->caplv = w->caplv ? 2 * w->caplv : 1024;
		w->lv = realloc(w->lv, w->caplv * sizeof (*w->lv));
		if (w->lv == NULL)
			abort();
	}
	w->lv[w->nlv][0] = lf->va;
	w->lv[w->nlv][1] = size;
	w->nlv++;
	w->any = 1;
	w->next = lf->va + size;
	w->wrapped = w->next == 0;
	w->bytes += size;
	w->leaves++;
	w->per_level[lf->level]++;
	return (0);
}

static void
full_walk(run_t *r)
{
	wstate_t w;
	int rc;

	memset(&w, 0, sizeof (w));
	w.r = r;
	rc = ht_walk(r->as, 0, r->va_last, walk_cb, &w);
	if (rc != 0) {
		if (w.msg[0] != '\0')
			fail(r, "walk: %s", w.msg);
		fail(r, "ht_walk of the whole space: %s (%s)", errname(rc),
		    ht_errdetail());
	}
	uint64_t want = 0;
	for (int i = 0; i < r->nreg; i++)
		want += rm_mapped_bytes(&r->rm, r->reg[i].first,
		    r->reg[i].last);
	if (w.bytes != want) {
		/* find the first model page the walk did not report */
		uint64_t miss = 0;
		int found = 0;
		size_t j = 0;
		for (size_t i = 0; i < r->rm.n && !found; i++) {
			const rm_ent_t *e = &r->rm.ents[i];
			for (uint64_t v = e->va; ; v += PG) {
				while (j < w.nlv && w.lv[j][0] + (w.lv[j][1] - 1) < v)
					j++;
				if (j == w.nlv || w.lv[j][0] > v) {
					miss = v;
					found = 1;
					break;
				}
				if (v + (PG - 1) >= e->last)
					break;
			}
		}
		ht_xlate_t x;
		int trc = found ? ht_translate(r->as, miss, &x) : 0;
		wstate_t w2;
		memset(&w2, 0, sizeof (w2));
		w2.r = r;
		int wrc = ht_walk(r->as, miss, miss, walk_cb, &w2);
		fail(r, "walk found 0x%" PRIx64 " mapped bytes in %" PRIu64
		    " leaves, model has 0x%" PRIx64 "; first model page the "
		    "walk missed: %s0x%" PRIx64 " (ht_translate: %s; leaf "
		    "before it in the walk: 0x%" PRIx64 "+0x%" PRIx64 "; "
		    "ht_walk of just that page: rc %d, %" PRIu64 " leaves)",
		    w.bytes, w.leaves, want, found ? "" : "none? ", miss,
		    errname(trc), j > 0 ? w.lv[j - 1][0] : 0,
		    j > 0 ? w.lv[j - 1][1] : 0, wrc, w2.leaves);
	}
	free(w.lv);

	ht_stats_t st;
	uint64_t leaves = 0;
	ht_as_stats(r->as, &st);
	for (int l = 0; l < HT_MAX_LEVELS; l++) {
		leaves += st.leaves[l];
		r->leaves_seen[l] += w.per_level[l];
	}
	if (leaves != w.leaves)
		fail(r, "ht_as_stats counts %" PRIu64 " leaves, walk found %"
		    PRIu64, leaves, w.leaves);
	r->walks++;
}

/* ------------------------------------------------------------------ */
/* Generating operations                                               */
/* ------------------------------------------------------------------ */

/* Clip [va, va + len) into va's region and keep at least one page. */
static void
clip(run_t *r, uint64_t *va, uint64_t *len)
{
	const region_t *rg = region_of(r, *va);

	if (rg == NULL) {
		*va = r->cl[0].base;
		rg = region_of(r, *va);
	}
	if (*len == 0)
		*len = PG;
	if (*len - 1 > rg->last - *va)
		*len = rg->last - *va + 1;
	if ((*va & (PG - 1)) != 0 || (*len & (PG - 1)) != 0 ||
	    !range_ok(r, *va, *len))
		fail(r, "test bug: generated range 0x%" PRIx64 " len 0x%"
		    PRIx64, *va, *len);
}

static void
gen_range(run_t *r, uint64_t *r_va, uint64_t *r_len)
{
	const cluster_t *c = &r->cl[rnd(r, (uint64_t)r->ncl)];
	unsigned k = (unsigned)rnd(r, 100);
	uint64_t va, len;

	if (r->serial && chance(r, 30)) {
		/* exactly one entry: the one-entry path (hat_one.c) */
		uint64_t s = r->nlpg > 0 && chance(r, 30) ?
		    r->lpg[rnd(r, r->nlpg)] : PG;

		va = c->base + rnd(r, r->window / s) * s;
		len = s;
	} else if (k < 62) {
		/* small, around a hot spot, crossing large-page lines */
		va = c->hot[rnd(r, NHOT)] + rnd(r, 2 * r->spread / PG) * PG -
		    r->spread;
		if (!va_ok(r, va))
			va = c->hot[0];
		len = chance(r, 90) ? (1 + rnd(r, 16)) * PG :
		    (1 + rnd(r, 700)) * PG;
	} else if (k < 92 && r->nlpg > 0) {
		/* whole large pages, sometimes a page off */
		uint64_t s = r->lpg[rnd(r, r->nlpg)];
		va = c->base + rnd(r, r->window / s) * s;
		len = (1 + rnd(r, 3)) * s;
		if (chance(r, 15))
			va += PG;
		if (chance(r, 15))
			len -= PG;
	} else {
		/* big: a good part of the window */
		va = c->base + (chance(r, 50) ?
		    rnd(r, r->window / r->big) * r->big :
		    rnd(r, r->window / PG) * PG);
		len = (1 + rnd(r, r->window / 2 / PG)) * PG;
	}
	clip(r, &va, &len);
	*r_va = va;
	*r_len = len;
}

static uint64_t
gen_pa(run_t *r, uint64_t va, uint64_t len)
{
	uint64_t a = r->big;
	uint64_t lim = r->pa_small_limit;
	unsigned k = (unsigned)rnd(r, 100);

	/*
	 * 32-bit paging names PAs above 4 GiB only with 4 MiB leaves
	 * (PSE-36), so only a fully 4 MiB-aligned request may go there.
	 */
	if (r->pa_small_limit != r->pa_limit && (va & (4 * MIB - 1)) == 0 &&
	    (len & (4 * MIB - 1)) == 0 && chance(r, 30))
		lim = r->pa_limit;
	if (k < 65 || len >= 64 * MIB || lim != r->pa_small_limit) {
		/* same offset in the largest page as va: large pages fit */
		uint64_t pa = rnd(r, lim / a) * a + (va & (a - 1));
		if (chance(r, 5))
			pa = ((lim - len) & ~(a - 1)) + (va & (a - 1));
		if (pa <= lim - len)
			return (pa);
		return (va & (a - 1));	/* len is far below lim */
	}
	if (k < 95)
		return (rnd(r, (lim - len) / PG + 1) * PG);
	return (lim - len);	/* right at the top of the physical width */
}

/*
 * EPT: rights protect may set and map may give.  W, X and (with MBEC)
 * XU = HT_U any way (none of them: a read-only page); with XONLY now and
 * then an execute-only page: no read, X or XU or both, never W.
 */
static unsigned
gen_rights_ept(run_t *r)
{
	unsigned a = (unsigned)rnd(r, 8) & PERM;

	if (!(r->eptf & HT_EPT_MBEC))
		a &= ~HT_XU;
	if ((r->eptf & HT_EPT_XONLY) && chance(r, 12)) {
		unsigned x = (r->eptf & HT_EPT_MBEC) ?
		    1 + (unsigned)rnd(r, 3) : 1;

		a = HT_NOREAD | ((x & 1) ? HT_X : 0) | ((x & 2) ? HT_XU : 0);
	}
	return (a);
}

/*
 * EPT: the rights, a memory type EPT has (UC, the default, most often;
 * never 2, 3 or 7), ignore-PAT and suppress-#VE.
 */
static unsigned
gen_attr_ept(run_t *r)
{
	static const unsigned mt[4] = {
		HT_EPT_WC, HT_EPT_WT, HT_EPT_WP, HT_EPT_WB
	};
	unsigned a = gen_rights_ept(r);

	if (chance(r, 15))
		a |= HT_EPT_IPAT;
	if (chance(r, 25))
		a |= HT_EPT_MT(mt[rnd(r, 4)]);
	if (chance(r, 10))
		a |= HT_EPT_SVE;
	return (a);
}

static unsigned
gen_attr(run_t *r)
{
	if (r->ept)
		return (gen_attr_ept(r));

	unsigned a = (unsigned)rnd(r, 8) & PERM;

	if (chance(r, 15))
		a |= HT_G;
	if (chance(r, 10))
		a |= HT_PWT;
	if (chance(r, 10))
		a |= HT_PCD;
	if (chance(r, 5))
		a |= HT_PAT;
	return (a);
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */
/* ------------------------------------------------------------------ */

/* Result codes an operation may legally return, from the model. */
typedef struct allowed {
	int		rc[4];
	unsigned	n;
} allowed_t;

static void
allow(allowed_t *a, int rc)
{
	for (unsigned i = 0; i < a->n; i++) {
		if (a->rc[i] == rc)
			return;
	}
	a->rc[a->n++] = rc;
}

static void
check_rc(run_t *r, const char *what, int rc, const allowed_t *a)
{
	for (unsigned i = 0; i < a->n; i++) {
		if (a->rc[i] == rc)
			return;
	}
	char buf[128] = "";
	size_t o = 0;
	for (unsigned i = 0; i < a->n && o < sizeof (buf); i++)
		o += (size_t)snprintf(buf + o, sizeof (buf) - o, "%s%s",
		    i ? " or " : "", errname(a->rc[i]));
	fail(r, "%s returned %s (%s), model expects %s", what, errname(rc),
	    rc ? ht_errdetail() : "", buf);
}

static void
count_rc(run_t *r, int op, int rc)
{
	if (rc == 0)
		r->nok[op]++;
	else if (rc == -HT_ELOCKED)
		r->n_elocked++;
	else if (rc == -HT_EEXIST)
		r->n_eexist++;
	else if (rc == -HT_ENOFRAME)
		r->n_enoframe++;
	else if (rc == -HT_ENOTMAPPED)
		r->n_enotmapped++;
	else if (rc == -HT_ENOTLOCKED)
		r->n_enotlocked++;
}

/*
 * 32-bit paging: does an end of [va, last] fall inside a 4 MiB leaf above
 * 4 GiB?  Such a leaf (PSE-36) cannot be split into 4 KiB entries, which
 * cannot name its frames; the call then has to fail with EPABITS.
 */
static int
splits_high(const run_t *r, uint64_t va, uint64_t last)
{
	uint64_t b[2] = { va, last + 1 };
	uint64_t pa;

	if (r->pa_small_limit == r->pa_limit)
		return (0);
	for (int i = 0; i < 2; i++) {
		if (i == 1 && last == r->va_last)
			break;
		if ((b[i] & (4 * MIB - 1)) != 0 &&
		    rm_lookup(&r->rm, b[i], &pa, NULL, NULL) &&
		    pa >= r->pa_small_limit)
			return (1);
	}
	return (0);
}

static void
op_map(run_t *r, uint64_t va, uint64_t len)
{
	uint64_t last = va + (len - 1);
	uint64_t pa = gen_pa(r, va, len);
	unsigned attr = gen_attr(r);
	unsigned flags = 0;
	allowed_t a = { .n = 0 };

	if (chance(r, 8))
		flags |= HT_MAP_LOCK;
	if (chance(r, 5))
		flags |= HT_MAP_NOREPLACE;
	if (chance(r, 12)) {
		/* force a size the alignment allows (4 KiB only when cheap) */
		unsigned cand[4], nc = 0;
		if (len <= 8 * MIB && pa + len <= r->pa_small_limit)
			cand[nc++] = HT_PS_4K;
		for (unsigned i = 0; i < r->nlpg; i++) {
			uint64_t sz = r->lpg[i];
			if (((va | pa | len) & (sz - 1)) == 0)
				cand[nc++] = ps_bit(sz);
		}
		if (nc > 0)
			flags |= HT_MAP_SIZE(cand[rnd(r, nc)]);
	}

	int locked = rm_any_locked(&r->rm, va, last);
	int mapped = rm_any_mapped(&r->rm, va, last);
	if (locked)
		allow(&a, -HT_ELOCKED);
	if ((flags & HT_MAP_NOREPLACE) && mapped)
		allow(&a, -HT_EEXIST);
	if (splits_high(r, va, last))
		allow(&a, -HT_EPABITS);
	/* 32-bit: no 4 MiB page above 4 GiB over a table shared out */
	if (r->shared && r->sh_linked && r->g->pte_size == 4 &&
	    pa + len > (1ull << 32) && va <= r->sh_src + (r->sh_span - 1) &&
	    last >= r->sh_src)
		allow(&a, -HT_EPABITS);
	if (a.n == 0)
		allow(&a, 0);
	if (r->lowmem)
		allow(&a, -HT_ENOFRAME);

	hist(r, "map va 0x%" PRIx64 " pa 0x%" PRIx64 " len 0x%" PRIx64
	    " attr 0x%x flags 0x%x", va, pa, len, attr, flags);
	int rc = ht_map(r->as, va, pa, len, attr, flags);
	count_rc(r, OP_MAP, rc);
	check_rc(r, "ht_map", rc, &a);
	if (rc == 0)
		rm_map(&r->rm, va, last, pa, (attr & r->attrs) | r->keep,
		    !!(flags & HT_MAP_LOCK));
}

static void
op_unmap(run_t *r, uint64_t va, uint64_t len)
{
	uint64_t last = va + (len - 1);
	unsigned flags = chance(r, 40) ? HT_UNMAP_UNLOCK : 0;
	allowed_t a = { .n = 0 };

	if (!(flags & HT_UNMAP_UNLOCK) && rm_any_locked(&r->rm, va, last))
		allow(&a, -HT_ELOCKED);
	else if (splits_high(r, va, last))
		allow(&a, -HT_EPABITS);
	else
		allow(&a, 0);
	if (r->lowmem)
		allow(&a, -HT_ENOFRAME);

	hist(r, "unmap va 0x%" PRIx64 " len 0x%" PRIx64 " flags 0x%x", va,
	    len, flags);
	int rc = ht_unmap(r->as, va, len, flags);
	count_rc(r, OP_UNMAP, rc);
	check_rc(r, "ht_unmap", rc, &a);
	if (rc == 0)
		rm_unmap(&r->rm, va, last);
}

static void
op_protect(run_t *r, uint64_t va, uint64_t len)
{
	uint64_t last = va + (len - 1);
	unsigned prot = r->ept ? gen_rights_ept(r) :
	    (unsigned)rnd(r, 8) & PERM;
	allowed_t a = { .n = 0 };

	if (splits_high(r, va, last))
		allow(&a, -HT_EPABITS);
	else
		allow(&a, 0);
	if (r->lowmem)
		allow(&a, -HT_ENOFRAME);

	hist(r, "protect va 0x%" PRIx64 " len 0x%" PRIx64 " prot 0x%x", va,
	    len, prot);
	int rc = ht_protect(r->as, va, len, prot);
	count_rc(r, OP_PROTECT, rc);
	check_rc(r, "ht_protect", rc, &a);
	if (rc == 0)
		rm_set_attr(&r->rm, va, last, r->perm, prot | r->keep);
}

static void
op_lock(run_t *r, uint64_t va, uint64_t len, int lock)
{
	uint64_t last = va + (len - 1);
	allowed_t a = { .n = 0 };

	/*
	 * Fully mapped (and, to unlock, fully locked) ranges must succeed.
	 * For holes or unlocked pages the header leaves ENOTMAPPED /
	 * ENOTLOCKED open; either way the state must then match.
	 */
	if (splits_high(r, va, last))
		allow(&a, -HT_EPABITS);
	else
		allow(&a, 0);
	if (!rm_all_mapped(&r->rm, va, last))
		allow(&a, -HT_ENOTMAPPED);
	if (!lock && rm_any_unlocked(&r->rm, va, last))
		allow(&a, -HT_ENOTLOCKED);
	if (r->lowmem)
		allow(&a, -HT_ENOFRAME);

	hist(r, "%s va 0x%" PRIx64 " len 0x%" PRIx64, lock ? "lock" :
	    "unlock", va, len);
	int rc = lock ? ht_lock(r->as, va, len) : ht_unlock(r->as, va, len);
	count_rc(r, lock ? OP_LOCK : OP_UNLOCK, rc);
	check_rc(r, lock ? "ht_lock" : "ht_unlock", rc, &a);
	if (rc == 0)
		rm_set_locked(&r->rm, va, last, lock);
}

/* Leaves of a range with their A/D bits, from ht_walk. */
typedef struct adleaf {
	uint64_t	va, size;
	unsigned	ad;
	int		seen;
} adleaf_t;

typedef struct adlist {
	adleaf_t	*l;
	size_t		n, cap;
	run_t		*r;
	unsigned	bits;
	int		bad;
	char		msg[256];
	size_t		ncb;
} adlist_t;

static int
ad_collect(void *arg, const ht_leaf_t *lf)
{
	adlist_t *al = arg;

	if (al->n == al->cap) {
		al->cap = al->cap ? al->cap * 2 : 256;
		al->l = realloc(al->l, al->cap * sizeof (adleaf_t));
		if (al->l == NULL)
			abort();
	}
	al->l[al->n].va = lf->va;
	al->l[al->n].size = lf->size;
	al->l[al->n].ad = lf->attr & AD;
	al->l[al->n].seen = 0;
	al->n++;
	return (0);
}

/* The leaf starting at va (walks report leaves in VA order), or NULL. */
static adleaf_t *
ad_find(const adlist_t *al, uint64_t va)
{
	size_t lo = 0, hi = al->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (al->l[mid].va < va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < al->n && al->l[lo].va == va ? &al->l[lo] : NULL);
}

static void
ad_cb(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	adlist_t *al = arg;
	adleaf_t *l = ad_find(al, va);

	al->ncb++;
	if (l != NULL) {
		if (l->size != size || l->seen ||
		    (bits & al->bits & AD) == 0 ||
		    (bits & al->bits) != (l->ad & al->bits)) {
			al->bad = 1;
			(void) snprintf(al->msg, sizeof (al->msg), "callback "
			    "va 0x%" PRIx64 " size 0x%" PRIx64 " bits 0x%x, "
			    "leaf size 0x%" PRIx64 " had 0x%x (seen %d)", va,
			    size, bits, l->size, l->ad, l->seen);
		}
		l->seen = 1;
		return;
	}
	al->bad = 1;
	(void) snprintf(al->msg, sizeof (al->msg), "callback for va 0x%"
	    PRIx64 " size 0x%" PRIx64 " which is no leaf of the range", va,
	    size);
}

static int
inside(uint64_t a, uint64_t asz, uint64_t va, uint64_t last)
{
	return (a >= va && a + (asz - 1) <= last);
}

static void
op_ad(run_t *r, uint64_t va, uint64_t len)
{
	uint64_t last = va + (len - 1);
	unsigned bits = (unsigned)(1 + rnd(r, 3)) << 8;	/* A, D or both */
	int clear = chance(r, 70);
	adlist_t pre = { .r = r, .bits = bits };
	adlist_t post = { .r = r, .bits = bits };

	/* walk a little wider so that leaves sticking out are known too */
	const region_t *rg = region_of(r, va);
	uint64_t wva = va & ~(r->big - 1), wlast = last | (r->big - 1);
	if (wva < rg->first)
		wva = rg->first;
	if (wlast > rg->last)
		wlast = rg->last;
	if (ht_walk(r->as, wva, wlast, ad_collect, &pre) != 0)
		fail(r, "ht_walk of 0x%" PRIx64 "..0x%" PRIx64 ": %s", wva,
		    wlast, ht_errdetail());
	hist(r, "test_clear_ad va 0x%" PRIx64 " len 0x%" PRIx64
	    " bits 0x%x clear %d", va, len, bits, clear);
	long n = ht_harvest_ad(r->as, va, len, bits,
	    clear ? HT_AD_CLEAR : 0, ad_cb, &pre);
	if (n < 0)
		fail(r, "ht_harvest_ad: %s (%s)", errname((int)n),
		    ht_errdetail());
	if (pre.bad)
		fail(r, "ht_harvest_ad: %s", pre.msg);
	if ((size_t)n != pre.ncb)
		fail(r, "ht_harvest_ad returned %ld after %zu callbacks", n,
		    pre.ncb);
	r->nok[OP_AD]++;
	r->n_ad_found += (unsigned long)n;
	if (r->ept && !(r->eptf & HT_EPT_AD) && n != 0)
		fail(r, "ht_harvest_ad found A/D in %ld leaves of an EPT space "
		    "without them (HT_EPT_AD)", n);

	/* Every leaf wholly inside with a requested bit must be reported. */
	for (size_t i = 0; i < pre.n; i++) {
		const adleaf_t *l = &pre.l[i];
		if ((l->ad & bits) && !l->seen && inside(l->va, l->size, va,
		    last))
			fail(r, "ht_harvest_ad skipped leaf va 0x%" PRIx64
			    " size 0x%" PRIx64 " with bits 0x%x", l->va,
			    l->size, l->ad);
	}
	if (ht_walk(r->as, wva, wlast, ad_collect, &post) != 0)
		fail(r, "ht_walk after test_clear_ad: %s", ht_errdetail());
	for (size_t i = 0; i < post.n; i++) {
		const adleaf_t *l = &post.l[i];
		const adleaf_t *p = ad_find(&pre, l->va);
		if (p == NULL || p->size != l->size)
			fail(r, "ht_harvest_ad changed the leaves: va 0x%"
			    PRIx64 " size 0x%" PRIx64 " is new", l->va,
			    l->size);
		unsigned want = p->ad;
		/* a leaf sticking out is reported whole but keeps its bits */
		if (clear && p->seen && inside(p->va, p->size, va, last))
			want &= ~bits;
		if (l->ad != want)
			fail(r, "after ht_harvest_ad(clear=%d) leaf va 0x%"
			    PRIx64 " has A/D 0x%x, had 0x%x, expected 0x%x",
			    clear, l->va, l->ad, p->ad, want);
	}
	free(pre.l);
	free(post.l);
}

/*
 * Play the MMU: set A (and sometimes D) on the leaf of a mapped page.
 * EPT: bits 8 and 9.  Without HT_EPT_AD the MMU sets nothing, and those
 * bits are ignored ones, the software's: they are set all the same, and
 * the checks hold the library to reporting no A/D from them (translate,
 * walk, harvest).
 */
static void
op_touch(run_t *r)
{
	uint64_t va = random_mapped_va(r);
	uint64_t bit_a = r->ept ? EPTREF_A : X_A;
	uint64_t bit_d = r->ept ? EPTREF_D : X_D;
	hwx_t h;

	hist(r, "touch va 0x%" PRIx64, va);
	if (!va_ok(r, va) || !hw_walk(r, va, &h))
		return;
	uint64_t set = bit_a | ((h.attr & HT_W) && chance(r, 60) ? bit_d :
	    0);
	if (r->g->pte_size == 4)
		(void) __atomic_fetch_or((uint32_t *)h.leafp, (uint32_t)set,
		    __ATOMIC_SEQ_CST);
	else
		(void) __atomic_fetch_or((uint64_t *)h.leafp, set,
		    __ATOMIC_SEQ_CST);
	r->nok[OP_TOUCH]++;
}

static void
op_purge(run_t *r)
{
	int which = chance(r, 50);

	hist(r, "%s", which ? "ht_as_purge" : "ht_ctx_reap");
	long n = which ? ht_as_purge(r->as) : ht_ctx_reap(r->ctx);
	if (n < 0)
		fail(r, "%s: %s", which ? "ht_as_purge" : "ht_ctx_reap",
		    errname((int)n));
	r->nok[OP_PURGE]++;
}

/* A CPU root switches; the copies must follow (checked after each step). */
static void
op_switch(run_t *r)
{
	ht_switch_t sw;
	int k = (int)rnd(r, 4);
	ht_as_t *to = k == 0 ? NULL : k == 1 ? r->other : r->as;

	if (!r->copied)
		return;
	if (chance(r, 20)) {
		/* cr[0] away and back: a fresh copy */
		hist(r, "switch cr0 away and back");
		if (ht_switch(r->cr[0], NULL, &sw) != 0 ||
		    ht_switch(r->cr[0], r->as, &sw) != 0)
			fail(r, "switch cr0: %s", ht_errdetail());
		if (sw.cr3 != cr3_of(r, ht_cpu_root_pa(r->cr[0], 0)))
			fail(r, "switch cr0: cr3 0x%" PRIx64, sw.cr3);
	} else {
		hist(r, "switch cr1 to %s", k == 0 ? "nothing" : k == 1 ?
		    "other" : "the space");
		if (ht_switch(r->cr[1], to, &sw) != 0)
			fail(r, "switch cr1: %s", ht_errdetail());
		if (ht_cpu_root_running(r->cr[1]) != to)
			fail(r, "switch cr1: runs another space");
	}
	r->nok[OP_SWITCH]++;
}

/* Share a level-0 table's span of the space into sh, or end the share. */
static void
op_share(run_t *r)
{
	allowed_t a = { .n = 0 };
	ht_share_info_t info;
	int rc;

	if (r->shared) {
		hist(r, "unshare sh 0x%" PRIx64, r->sh_dst);
		rc = ht_unshare(r->sh, r->sh_dst, r->sh_span);
		if (rc != 1)
			fail(r, "unshare: %s (%s)", errname(rc),
			    ht_errdetail());
		r->shared = 0;
		r->nok[OP_SHARE]++;
		return;
	}
	const cluster_t *c = &r->cl[rnd(r, (uint64_t)r->ncl)];
	uint64_t src = c->hot[rnd(r, NHOT)] & ~(r->sh_span - 1);

	if (src < c->base)
		src += r->sh_span;
	hist(r, "share 0x%" PRIx64 " of the space into sh", src);
	if (r->serial) {
		allow(&a, -HT_EINVAL);	/* a serial space is never shared */
	} else {
		allow(&a, 0);
		if (r->lowmem)
			allow(&a, -HT_ENOFRAME);
	}
	rc = ht_share(r->sh, r->sh_dst, r->as, src, r->sh_span, &info);
	check_rc(r, "ht_share", rc, &a);
	if (rc != 0)
		return;
	r->shared = 1;
	r->sh_src = src;
	r->sh_linked = info.tables == 1 && info.copied == 0;
	r->nok[OP_SHARE]++;
}

/*
 * After each step: every CPU root's copies equal the space's entries,
 * cr[1] reads what cr[0] reads while it runs the space, and the sharer
 * sees through a linked table what the model says of the space.
 */
static void
check_many(run_t *r, const uint64_t *s, unsigned ns)
{
	uint64_t extra[4];

	for (int i = 0; r->copied && i < 2; i++)
		if (ht_cpu_root_audit(r->cr[i]) != 0)
			fail(r, "CPU root %d: %s", i, ht_errdetail());
	for (unsigned i = 0; r->copied && i < ns; i++) {
		hwx_t a, b;

		if (ht_cpu_root_running(r->cr[1]) != r->as)
			break;
		if (hw_walk(r, s[i], &a) != hw_walk_at(r,
		    ht_cpu_root_pa(r->cr[1], 0), s[i], &b) ||
		    (a.mapped && (a.pa != b.pa || a.attr != b.attr)))
			fail(r, "va 0x%" PRIx64 ": the two CPU roots differ",
			    s[i]);
	}
	if (!r->shared || !r->sh_linked)
		return;
	for (int i = 0; i < 4; i++)
		extra[i] = r->sh_src + rnd(r, r->sh_span / PG) * PG;
	for (unsigned i = 0; i < ns + 4; i++) {
		uint64_t va = i < ns ? s[i] : extra[i - ns];
		ht_xlate_t x;
		expect_t e;
		int rc;

		if (va - r->sh_src >= r->sh_span || va < r->sh_src)
			continue;
		model_expect(r, va, &e);
		rc = ht_translate(r->sh, va - r->sh_src + r->sh_dst, &x);
		if (!e.mapped ? rc != -HT_ENOTMAPPED : rc != 0 ||
		    x.pa != e.pa || (x.attr & r->attrs) != e.attr)
			fail(r, "sharer at 0x%" PRIx64 " (space 0x%" PRIx64 "): "
			    "%s pa 0x%" PRIx64 " attr 0x%x, model %d pa 0x%"
			    PRIx64 " attr 0x%x", va - r->sh_src + r->sh_dst, va,
			    errname(rc), x.pa, x.attr & r->attrs, e.mapped,
			    e.pa, e.attr);
	}
}

/* ------------------------------------------------------------------ */
/* Soft TLBs against the model                                         */
/* ------------------------------------------------------------------ */

/*
 * EPT: does the model let access acc at cpl through at e, on cpu?  A
 * read needs the read right (no HT_NOREAD), a write W, a fetch X, or
 * under the CPU's MBEC from a user-mode address (CPL 3) XU.
 */
static int
ept_allows(const expect_t *e, unsigned acc, unsigned cpl,
    const ht_cpu_t *cpu)
{
	if (!e->mapped)
		return (0);
	if (acc == HT_ACC_WRITE)
		return ((e->attr & HT_W) != 0);
	if (acc == HT_ACC_FETCH)
		return ((e->attr & (cpl == 3 && (cpu->flags &
		    HT_CPU_EPT_MBEC) ? HT_XU : HT_X)) != 0);
	return (!(e->attr & HT_NOREAD));
}

/*
 * Does the model let access acc at cpl through at e, on cpu?  x86: WP
 * on, no SMEP/SMAP.  Nested paging: the MMU walks the tables as a user
 * access, so the answer at any CPL is the user's (whatever the CPU's WP,
 * SMEP, SMAP and PKE, which setup() sets so as to differ if they
 * counted).  EPT: ept_allows.
 */
static int
stlb_allows(const run_t *r, const expect_t *e, unsigned acc, unsigned cpl,
    const ht_cpu_t *cpu)
{
	if (r->ept)
		return (ept_allows(e, acc, cpl, cpu));
	if (r->npt)
		cpl = 3;
	if (!e->mapped || (cpl == 3 && !(e->attr & HT_U)))
		return (0);
	if (acc == HT_ACC_WRITE)
		return ((e->attr & HT_W) != 0);
	if (acc == HT_ACC_FETCH)
		return ((e->attr & HT_X) != 0);
	return (1);
}

/*
 * What the model says of sva in the soft TLB's space: the space itself,
 * or for the sharer the space's page it shows through a linked table.  0
 * when the model cannot tell (the sharer's copied leaves).
 */
static int
stlb_expect(run_t *r, int sharer, uint64_t sva, expect_t *e)
{
	if (!sharer) {
		model_expect(r, sva, e);
		return (1);
	}
	memset(e, 0, sizeof (*e));
	if (sva < r->sh_dst || sva - r->sh_dst >= r->sh_span)
		return (1);		/* the sharer maps nothing else */
	if (!r->shared)
		return (1);
	if (!r->sh_linked)
		return (0);
	model_expect(r, sva - r->sh_dst + r->sh_src, e);
	return (1);
}

/*
 * EPT: the reference's walk of sva for access acc at cpl, in the soft
 * TLB's space (the space through the CPU root that runs it when it is
 * copied, else its root; the sharer through its root), on the reference
 * CPU of the soft TLB's.  *r_root: the root walked.
 */
static void
ept_stlb_ref(run_t *r, int sharer, uint64_t sva, unsigned acc,
    unsigned cpl, eptref_walk_t *w, uint64_t *r_root)
{
	eptref_cpu_t c = r->eref;

	c.mbec = ((sharer ? r->sh_cpu : r->cpu).flags &
	    HT_CPU_EPT_MBEC) != 0;
	*r_root = sharer ? ht_as_root(r->sh) : r->copied ?
	    ht_cpu_root_pa(r->cr[0], 0) : ht_as_root(r->as);
	ept_ref(r, &c, *r_root, sva, (eptref_access_t)acc, cpl == 3, w);
	if (w->outcome <= EPTREF_MISCONF)
		r->ept_out[w->outcome]++;
}

/*
 * EPT: an access decided by the library (ht_access or a fill: `what`)
 * must be the reference's walk w, made through `root`: the outcome, the
 * exit qualification, the frame and page size, every entry read (a
 * copied space's root entry is read from its descriptor: at ht_access's
 * root, 0) and the A/D bits set.
 */
static void
ept_cmp(run_t *r, const char *what, ht_as_t *as, uint64_t root,
    const ht_access_t *a, const eptref_walk_t *w, unsigned acc,
    unsigned cpl)
{
	unsigned want_a = 0;

	switch (w->outcome) {
	case EPTREF_OK:
		for (int i = 0; i < w->nsteps; i++)
			if (w->set[i] & EPTREF_A)
				want_a |= 1u << w->steps[i].level;
		if (a->fault != HT_FAULT_NONE || a->pa != w->hpa ||
		    a->page_size != w->page_size)
			fail(r, "%s 0x%" PRIx64 " acc %u cpl %u: fault %d pa "
			    "0x%" PRIx64 " size 0x%" PRIx64 "; the reference "
			    "completes at 0x%" PRIx64 " size 0x%" PRIx64, what,
			    w->gpa, acc, cpl, (int)a->fault, a->pa,
			    a->page_size, w->hpa, w->page_size);
		if (a->set_a != want_a || a->set_d != ((w->set[w->nsteps -
		    1] & EPTREF_D) != 0))
			fail(r, "%s 0x%" PRIx64 " acc %u cpl %u: sets A 0x%x "
			    "D %d; the reference 0x%x D %d", what, w->gpa, acc,
			    cpl, a->set_a, a->set_d, want_a,
			    (w->set[w->nsteps - 1] & EPTREF_D) != 0);
		break;
	case EPTREF_VIOLATION:
		if (a->fault != HT_FAULT_EPT_VIOLATION ||
		    a->error_code != w->qual)
			fail(r, "%s 0x%" PRIx64 " acc %u cpl %u: fault %d code "
			    "0x%x; the reference: a violation, qualification "
			    "0x%" PRIx64, what, w->gpa, acc, cpl, (int)a->fault,
			    a->error_code, w->qual);
		break;
	default:
		if (a->fault != HT_FAULT_EPT_MISCONFIG)
			fail(r, "%s 0x%" PRIx64 " acc %u cpl %u: fault %d; the "
			    "reference: a misconfiguration (0x%x)", what,
			    w->gpa, acc, cpl, (int)a->fault, w->mc);
		break;
	}
	if (a->nsteps != (unsigned)w->nsteps)
		fail(r, "%s 0x%" PRIx64 " acc %u cpl %u: %u entries read, the "
		    "reference %d", what, w->gpa, acc, cpl, a->nsteps,
		    w->nsteps);
	for (int i = 0; i < w->nsteps; i++) {
		uint64_t addr = w->steps[i].addr;

		if (i == 0)
			addr = addr - root + ht_as_root(as);
		if (a->step[i].addr != addr || a->step[i].pte !=
		    w->steps[i].val || a->step[i].level !=
		    (unsigned)w->steps[i].level)
			fail(r, "%s 0x%" PRIx64 " acc %u cpl %u: entry %d "
			    "0x%" PRIx64 " at 0x%" PRIx64 " level %u; the "
			    "reference 0x%" PRIx64 " at 0x%" PRIx64, what,
			    w->gpa, acc, cpl, i, a->step[i].pte,
			    a->step[i].addr, a->step[i].level,
			    w->steps[i].val, addr);
	}
}

/*
 * Fill sva for (acc, cpl) and hold the verdict to the model.  EPT: and
 * ht_access's answer, and the fill's, to the reference's walk, made
 * before the fill sets any A/D bit.
 */
static void
stlb_fill_check(run_t *r, int sharer, uint64_t sva, unsigned acc,
    unsigned cpl)
{
	ht_stlb_t *t = sharer ? r->sh_stlb : r->stlb;
	const ht_cpu_t *cpu = sharer ? &r->sh_cpu : &r->cpu;
	ht_as_t *as = sharer ? r->sh : r->as;
	eptref_walk_t w;
	uint64_t root = 0;
	ht_access_t a;
	expect_t e;
	ht_pa_t pa;
	int rc;

	if (!stlb_expect(r, sharer, sva, &e))
		return;
	if (r->ept) {
		ept_stlb_ref(r, sharer, sva, acc, cpl, &w, &root);
		rc = ht_access(as, cpu, sva, acc, cpl, &a);
		if (rc != 0)
			fail(r, "ht_access %s0x%" PRIx64 ": %s (%s)", sharer ?
			    "sh " : "", sva, errname(rc), ht_errdetail());
		ept_cmp(r, "ht_access", as, root, &a, &w, acc, cpl);
	}
	rc = ht_stlb_fill(t, sva, acc, cpl, &a);
	if (rc != 0) {
		fail(r, "stlb fill %s0x%" PRIx64 ": %s (%s)", sharer ? "sh " :
		    "", sva, errname(rc), ht_errdetail());
		return;
	}
	r->stlb_fills++;
	if (r->ept)
		ept_cmp(r, "stlb fill", as, root, &a, &w, acc, cpl);
	if (stlb_allows(r, &e, acc, cpl, cpu) != (a.fault == HT_FAULT_NONE) ||
	    (a.fault == HT_FAULT_NONE && a.pa != e.pa))
		fail(r, "stlb fill %s0x%" PRIx64 " acc %u cpl %u: fault %d pa "
		    "0x%" PRIx64 "; model mapped %d pa 0x%" PRIx64 " attr 0x%x",
		    sharer ? "sh " : "", sva, acc, cpl, (int)a.fault, a.pa,
		    e.mapped, e.pa, e.attr);
	else if (a.fault == HT_FAULT_NONE && (!ht_stlb_lookup(t, sva, acc, cpl,
	    &pa) || pa != e.pa))
		fail(r, "stlb %s0x%" PRIx64 " acc %u cpl %u: no hit right "
		    "after its fill", sharer ? "sh " : "", sva, acc, cpl);
}

/*
 * Every access to sva that hits must be what the model says now; in EPT
 * also one the reference's walk of the tables now lets through, to the
 * same address.
 */
static void
stlb_lookup_check(run_t *r, int sharer, uint64_t sva)
{
	ht_stlb_t *t = sharer ? r->sh_stlb : r->stlb;
	const ht_cpu_t *cpu = sharer ? &r->sh_cpu : &r->cpu;
	expect_t e;

	if (!stlb_expect(r, sharer, sva, &e))
		return;
	for (unsigned k = 0; k < 6; k++) {
		unsigned acc = k % 3, cpl = k < 3 ? 0 : 3;
		eptref_walk_t w;
		uint64_t root;
		ht_pa_t pa;

		if (!ht_stlb_lookup(t, sva, acc, cpl, &pa))
			continue;
		r->stlb_hits++;
		if (!stlb_allows(r, &e, acc, cpl, cpu) || pa != e.pa)
			fail(r, "stale soft TLB hit %s0x%" PRIx64 " acc %u cpl "
			    "%u: pa 0x%" PRIx64 "; model mapped %d pa 0x%"
			    PRIx64 " attr 0x%x", sharer ? "sh " : "", sva, acc,
			    cpl, pa, e.mapped, e.pa, e.attr);
		if (!r->ept)
			continue;
		ept_stlb_ref(r, sharer, sva, acc, cpl, &w, &root);
		if (w.outcome != EPTREF_OK || w.hpa != pa)
			fail(r, "soft TLB hit %s0x%" PRIx64 " acc %u cpl %u: "
			    "pa 0x%" PRIx64 "; the reference: outcome %d pa "
			    "0x%" PRIx64 " (qualification 0x%" PRIx64 ")",
			    sharer ? "sh " : "", sva, acc, cpl, pa,
			    (int)w.outcome, w.hpa, w.qual);
	}
}

/* The sharer's address for the space's va, if it is in the region. */
static int
sh_addr(const run_t *r, uint64_t va, uint64_t *r_sva)
{
	if (!r->shared || va < r->sh_src || va - r->sh_src >= r->sh_span)
		return (0);
	*r_sva = va - r->sh_src + r->sh_dst;
	return (1);
}

/* Before an operation: cache the sampled addresses, each some way. */
static void
stlb_prefill(run_t *r, const uint64_t *s, unsigned ns)
{
	uint64_t sva;

	for (unsigned i = 0; i < ns; i++) {
		unsigned acc = (unsigned)rnd(r, 3);
		unsigned cpl = chance(r, 50) ? 3 : 0;

		stlb_fill_check(r, 0, s[i], acc, cpl);
		if (chance(r, 50))	/* and a read, the common case */
			stlb_fill_check(r, 0, s[i], HT_ACC_READ, 3);
		if (sh_addr(r, s[i], &sva))
			stlb_fill_check(r, 1, sva, acc, cpl);
	}
}

/*
 * After it: the sampled addresses (the operation's own range among them)
 * and a few others, in the space and in the sharer's region.
 */
static void
stlb_check(run_t *r, const uint64_t *s, unsigned ns)
{
	uint64_t sva;

	for (unsigned i = 0; i < ns + 4; i++) {
		uint64_t va = i < ns ? s[i] : random_mapped_va(r);

		if (!va_ok(r, va))
			continue;
		stlb_lookup_check(r, 0, va);
		if (sh_addr(r, va, &sva))
			stlb_lookup_check(r, 1, sva);
	}
	/* the sharer's region after an unshare: nothing may hit */
	for (int i = 0; i < 2; i++)
		stlb_lookup_check(r, 1, r->sh_dst + rnd(r, r->sh_span / PG) *
		    PG);
}

/* Callbacks for calls that must fail before they reach any leaf. */
static int
walk_never(void *arg, const ht_leaf_t *lf)
{
	(void) arg;
	(void) lf;
	return (1);	/* an rc of 1 is no HT_E* code: the check fails */
}

static void
ad_never(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	(void) va;
	(void) size;
	(void) bits;
	*(int *)arg = 1;
}

/*
 * Nested paging: one call with an address beyond the guest-physical
 * space [0, 2^va_bits).  There is no hole, so such an address is out of
 * range (HT_ERANGE, as 32-bit paging beyond 4 GiB), never non-canonical:
 * not even one of the upper half that 4- and 5-level paging would take.
 * The caller holds the result to HT_ERANGE; that nothing changed, the
 * checks after the step prove.
 */
static int
bad_beyond(run_t *r, const char **r_what)
{
	uint64_t top = r->va_last + 1;
	uint64_t v;
	ht_access_t ac;
	ht_xlate_t x;
	ht_pa_t pa;
	long n;
	int rc, rc2, called = 0;

	switch (rnd(r, 3)) {
	case 0:
		v = top;	/* the first page past the end */
		break;
	case 1:
		v = top + rnd(r, (0 - top) / PG) * PG;	/* up to 2^64 */
		break;
	default:
		/* where 4- and 5-level paging have their upper half */
		v = (~0ull << (r->g->va_bits - 1)) + rnd(r, 1ull << 30) * PG;
		break;
	}
	switch (rnd(r, 8)) {
	case 0:
		hist(r, "bad: map 0x%" PRIx64 " beyond the space", v);
		*r_what = "ht_map";
		return (ht_map(r->as, v, 0, PG, HT_W, 0));
	case 1:
		hist(r, "bad: map across the top 0x%" PRIx64 " of the space",
		    r->va_last);
		*r_what = "ht_map";
		return (ht_map(r->as, top - PG, 0, 2 * PG, HT_W, 0));
	case 2:
		hist(r, "bad: unmap 0x%" PRIx64 " beyond the space", v);
		*r_what = "ht_unmap";
		return (ht_unmap(r->as, v, PG, HT_UNMAP_UNLOCK));
	case 3:
		hist(r, "bad: protect 0x%" PRIx64 " beyond the space", v);
		*r_what = "ht_protect";
		return (ht_protect(r->as, v, PG, HT_W));
	case 4:
		hist(r, "bad: lock, unlock, harvest 0x%" PRIx64 " beyond the "
		    "space", v);
		*r_what = "ht_lock, ht_unlock or ht_harvest_ad";
		rc = ht_lock(r->as, v, PG);
		if ((rc2 = ht_unlock(r->as, v, PG)) != rc)
			fail(r, "unlock 0x%" PRIx64 " beyond the space: %s, "
			    "ht_lock %s", v, errname(rc2), errname(rc));
		n = ht_harvest_ad(r->as, v, PG, HT_A | HT_D, HT_AD_CLEAR,
		    ad_never, &called);
		if (n != rc || called)
			fail(r, "ht_harvest_ad 0x%" PRIx64 " beyond the space: "
			    "%ld (%d callbacks), ht_lock %s", v, n, called,
			    errname(rc));
		return (rc);
	case 5:
		hist(r, "bad: translate 0x%" PRIx64 " beyond the space", v);
		*r_what = "ht_translate";
		rc = ht_translate(r->as, v, &x);
		if (ht_va2pa(r->as, v, &pa) != rc)
			fail(r, "va2pa 0x%" PRIx64 " beyond the space: not "
			    "translate's %s", v, errname(rc));
		return (rc);
	case 6:
		/* from inside or from beyond: the last byte is beyond */
		hist(r, "bad: walk to 0x%" PRIx64 " beyond the space", v);
		*r_what = "ht_walk";
		return (ht_walk(r->as, chance(r, 50) ? v : random_hot_va(r),
		    v | (PG - 1), walk_never, NULL));
	default: {
		unsigned acc = (unsigned)rnd(r, 3);
		unsigned cpl = chance(r, 50) ? 3 : 0;
		hist(r, "bad: access %u cpl %u 0x%" PRIx64 " beyond the "
		    "space", acc, cpl, v);
		*r_what = "ht_stlb_fill";
		rc = ht_stlb_fill(r->stlb, v, acc, cpl, &ac);
		rc2 = ht_access(r->as, &r->cpu, v, acc, cpl, &ac);
		if (rc2 != rc || ht_stlb_lookup(r->stlb, v, acc, cpl, &pa))
			fail(r, "access 0x%" PRIx64 " beyond the space: "
			    "ht_access %s, stlb fill %s, or a hit", v,
			    errname(rc2), errname(rc));
		return (rc);
	}
	}
}

/*
 * EPT: one call with attributes that EPT refuses, or that the context's
 * HT_EPT_* flags do not allow, over a valid range: HT_EINVAL (the caller
 * holds it to that; the checks after the step prove nothing changed).
 */
static int
bad_ept_attr(run_t *r, uint64_t va, uint64_t len, ht_pa_t pa,
    const char **r_what)
{
	static const unsigned rsvd_mt[3] = { 2, 3, 7 };
	unsigned f = r->eptf, attr;

	switch (rnd(r, 6)) {
	case 0:
		/* a memory type EPT reserves, with any rights */
		attr = HT_EPT_MT(rsvd_mt[rnd(r, 3)]) | gen_rights_ept(r);
		break;
	case 1:
		/* write without read, with or without execute */
		attr = HT_W | HT_NOREAD | (chance(r, 50) ? HT_X : 0);
		break;
	case 2:
		/* no right at all: not a mapping */
		attr = HT_NOREAD | (chance(r, 50) ? HT_EPT_IPAT : 0);
		break;
	case 3:
		/* what the flags do not give, or a software bit EPT lacks */
		if (!(f & HT_EPT_MBEC) && chance(r, 50))
			attr = HT_XU;
		else if (!(f & HT_EPT_AD) && chance(r, 50))
			attr = chance(r, 50) ? HT_A : HT_W | HT_D;
		else if (!(f & HT_EPT_XONLY) && chance(r, 50))
			attr = HT_X | HT_NOREAD;
		else
			attr = HT_W | (chance(r, 50) ? HT_SW(0) : HT_SW(8));
		break;
	case 4: {
		/* protect to a set of rights EPT cannot have */
		unsigned k = (unsigned)rnd(r, 4);

		attr = k == 0 ? HT_NOREAD : k == 1 ? HT_W | HT_NOREAD :
		    k == 2 && !(f & HT_EPT_XONLY) ? HT_X | HT_NOREAD :
		    !(f & HT_EPT_MBEC) ? HT_XU : HT_W | HT_X | HT_NOREAD;
		hist(r, "bad: protect va 0x%" PRIx64 " len 0x%" PRIx64
		    " prot 0x%x (EPT)", va, len, attr);
		*r_what = "ht_protect";
		return (ht_protect(r->as, va, len, attr));
	}
	default:
		/* chattr: the rights and the memory type are named whole */
		*r_what = "ht_chattr";
		if (chance(r, 50)) {
			hist(r, "bad: chattr va 0x%" PRIx64 " len 0x%" PRIx64
			    " clear HT_W alone (EPT)", va, len);
			return (ht_chattr(r->as, va, len, HT_W, 0));
		}
		hist(r, "bad: chattr va 0x%" PRIx64 " len 0x%" PRIx64
		    " set HT_PCD alone (EPT)", va, len);
		return (ht_chattr(r->as, va, len, 0, HT_PCD));
	}
	hist(r, "bad: map va 0x%" PRIx64 " pa 0x%" PRIx64 " len 0x%" PRIx64
	    " attr 0x%x (EPT)", va, pa, len, attr);
	*r_what = "ht_map";
	return (ht_map(r->as, va, pa, len, attr, 0));
}

/* Invalid requests with one thing wrong each: exact error, no change. */
static void
op_bad(run_t *r, uint64_t va, uint64_t len)
{
	uint64_t pa = gen_pa(r, va, len);
	allowed_t a = { .n = 0 };
	const char *what = "ht_map";
	int rc;

	switch (rnd(r, r->ept ? 8 : 7)) {
	case 7:
		/* EPT only: attributes it refuses */
		allow(&a, -HT_EINVAL);
		rc = bad_ept_attr(r, va, len, pa, &what);
		break;
	case 0:
		hist(r, "bad: map unaligned va 0x%" PRIx64, va + 0x800);
		allow(&a, -HT_EALIGN);
		rc = ht_map(r->as, va + 0x800, pa, len, HT_W, 0);
		break;
	case 1:
		hist(r, "bad: map len 0x%" PRIx64, len - 0x10);
		allow(&a, -HT_EALIGN);
		rc = ht_map(r->as, va, pa, len - 0x10, HT_W, 0);
		break;
	case 2:
		hist(r, "bad: map pa 0x%" PRIx64 " at the physical limit",
		    r->pa_limit);
		allow(&a, -HT_EPABITS);
		rc = ht_map(r->as, va & ~(r->big - 1), r->pa_limit, r->big,
		    HT_W, 0);
		break;
	case 3: {
		/* a page size this mode does not have */
		unsigned ps = r->mode == HT_MODE_32BIT ? HT_PS_2M : HT_PS_4M;
		uint64_t s = ps == HT_PS_2M ? 2 * MIB : 4 * MIB;
		uint64_t v = r->cl[0].base & ~(s - 1);
		hist(r, "bad: map va 0x%" PRIx64 " forced size 0x%x", v, ps);
		allow(&a, -HT_EPAGESIZE);
		rc = ht_map(r->as, v, 0, s, HT_W, HT_MAP_SIZE(ps));
		break;
	}
	case 4:
		if (r->g->hole_start != 0) {
			uint64_t v = r->g->hole_start + rnd(r, 1ull << 40) * PG;
			hist(r, "bad: map non-canonical va 0x%" PRIx64, v);
			allow(&a, -HT_ENONCANON);
			rc = ht_map(r->as, v, 0, PG, HT_W, 0);
		} else if (r->guest) {
			/* past the top of the guest-physical space */
			allow(&a, -HT_ERANGE);
			rc = bad_beyond(r, &what);
		} else {
			/* past the top of a 32-bit space */
			hist(r, "bad: map 0xfffff000 + 2 pages");
			allow(&a, -HT_ERANGE);
			allow(&a, -HT_EINVAL);
			rc = ht_map(r->as, 0xfffff000ull, 0, 2 * PG, HT_W, 0);
		}
		break;
	case 5: {
		/* running off the end of a region: into the hole or past 2^64 */
		const region_t *rg = &r->reg[rnd(r, (uint64_t)r->nreg)];
		hist(r, "bad: unmap across the end 0x%" PRIx64 " of a region",
		    rg->last);
		what = "ht_unmap";
		allow(&a, -HT_ERANGE);
		/*
		 * NPT, EPT: one region, its end the top of the space, below
		 * 2^64
		 */
		if (!r->guest) {
			allow(&a, -HT_ENONCANON);
			allow(&a, -HT_EINVAL);
		}
		rc = ht_unmap(r->as, rg->last + 1 - PG, 2 * PG, 0);
		break;
	}
	default:
		hist(r, "bad: protect unaligned va 0x%" PRIx64, va + 0x10);
		what = "ht_protect";
		allow(&a, -HT_EALIGN);
		rc = ht_protect(r->as, va + 0x10, len, HT_W);
		break;
	}
	check_rc(r, what, rc, &a);
	r->nok[OP_BAD]++;
}

/* Unmap everything, so that the model and the tables stay small. */
static void
op_reset(run_t *r)
{
	allowed_t a = { .n = 0 };

	allow(&a, 0);
	if (r->lowmem)
		allow(&a, -HT_ENOFRAME);
	for (int i = 0; i < r->nreg; i++) {
		uint64_t len = r->reg[i].last - r->reg[i].first + 1;
		hist(r, "reset: unmap region 0x%" PRIx64 " len 0x%" PRIx64
		    " UNLOCK", r->reg[i].first, len);
		int rc = ht_unmap(r->as, r->reg[i].first, len,
		    HT_UNMAP_UNLOCK);
		check_rc(r, "ht_unmap (whole region)", rc, &a);
		if (rc == 0)
			rm_unmap(&r->rm, r->reg[i].first, r->reg[i].last);
	}
	r->nok[OP_RESET]++;
}

/* In the lowmem test: change how tight memory is every so often. */
static void
pressure(run_t *r)
{
	unsigned k = (unsigned)rnd(r, 100);
	uint64_t used = ht_arena_frames_used(r->arena);

	if (k < 45) {
		ht_arena_set_limit(r->arena, used + rnd(r, 4));
		ht_ctx_set_force_steal(r->ctx, 0);
	} else if (k < 65) {
		ht_arena_set_limit(r->arena, 0);
		ht_ctx_set_force_steal(r->ctx, 2 + (unsigned)rnd(r, 6));
	} else {
		ht_arena_set_limit(r->arena, 0);
		ht_ctx_set_force_steal(r->ctx, 0);
	}
}

/*
 * Does the change from *b to *a need a TLB invalidation?  (EPT: losing
 * the read right is gaining HT_NOREAD.)
 */
static int
needs_flush(const run_t *r, const expect_t *b, const expect_t *a)
{
	if (!b->mapped)
		return (0);
	if (!a->mapped || a->pa != b->pa)
		return (1);
	if ((b->attr & ~a->attr) & PERM)
		return (1);	/* a permission was taken away */
	if (r->ept && (a->attr & ~b->attr & HT_NOREAD))
		return (1);
	return (((b->attr ^ a->attr) & (HT_G | HT_PWT | HT_PCD | HT_PAT)) !=
	    0);
}

static void
step(run_t *r)
{
	static const unsigned weight[NOPTYPES] = {
		[OP_MAP] = 340, [OP_UNMAP] = 220, [OP_PROTECT] = 150,
		[OP_LOCK] = 50, [OP_UNLOCK] = 80, [OP_AD] = 50,
		[OP_TOUCH] = 60, [OP_PURGE] = 10, [OP_BAD] = 25,
		[OP_RESET] = 3, [OP_SWITCH] = 10, [OP_SHARE] = 4,
	};
	unsigned total = 0, k;
	int op = 0;

	for (int i = 0; i < NOPTYPES; i++)
		total += weight[i];
	k = (unsigned)rnd(r, total);
	while (k >= weight[op])
		k -= weight[op++];

	uint64_t va, len;
	gen_range(r, &va, &len);
	int have_range = op != OP_TOUCH && op != OP_PURGE && op != OP_RESET &&
	    op != OP_SWITCH && op != OP_SHARE;

	uint64_t s[NSAMPLE];
	expect_t pre[NSAMPLE], post;
	int cached[NSAMPLE];
	uint64_t pre_size[NSAMPLE];
	unsigned ns = pick_samples(r, have_range, va, va + (len - 1), s);
	/* first, so that the A bits the fills set count for `cached` */
	stlb_prefill(r, s, ns);
	for (unsigned i = 0; i < ns; i++) {
		hwx_t h;
		model_expect(r, s[i], &pre[i]);
		/*
		 * An MMU caches a translation only after setting its leaf's
		 * Accessed bit, so only pages with A (or D) set need a TLB
		 * invalidation when they change (illumos relies on this).
		 * EPT without A/D bits: any present leaf may be cached.
		 */
		cached[i] = hw_walk(r, s[i], &h) && ((h.attr & AD) != 0 ||
		    (r->ept && !(r->eptf & HT_EPT_AD)));
		pre_size[i] = h.size;
	}

	tlb_reset(r);
	r->nop[op]++;
	switch (op) {
	case OP_MAP:
		op_map(r, va, len);
		break;
	case OP_UNMAP:
		op_unmap(r, va, len);
		break;
	case OP_PROTECT:
		op_protect(r, va, len);
		break;
	case OP_LOCK:
	case OP_UNLOCK:
		op_lock(r, va, len, op == OP_LOCK);
		break;
	case OP_AD:
		op_ad(r, va, len);
		break;
	case OP_TOUCH:
		op_touch(r);
		break;
	case OP_PURGE:
		op_purge(r);
		break;
	case OP_BAD:
		op_bad(r, va, len);
		break;
	case OP_SWITCH:
		op_switch(r);
		break;
	case OP_SHARE:
		op_share(r);
		break;
	default:
		op_reset(r);
		break;
	}

	if (r->opno % r->audit_every == 0)
		audit(r);
	if (r->tlb_bad_as)
		fail(r, "TLB callback got a different address space");
	check_many(r, s, ns);
	stlb_check(r, s, ns);
	for (unsigned i = 0; i < ns; i++) {
		model_expect(r, s[i], &post);
		check_addr(r, s[i], &post);
		if (cached[i] && needs_flush(r, &pre[i], &post) &&
		    !tlb_covered(r, s[i], !!(pre[i].attr & HT_G))) {
			char rs[160] = "";
			size_t o = 0;
			for (unsigned t = 0; t < r->ntlb && t < 3; t++)
				o += (size_t)snprintf(rs + o, sizeof (rs) - o,
				    " [0x%" PRIx64 ", +0x%" PRIx64 ")",
				    r->tlb[t].va, r->tlb[t].len);
			fail(r, "va 0x%" PRIx64 " changed (pa 0x%" PRIx64
			    " attr 0x%x -> mapped %d pa 0x%" PRIx64 " attr "
			    "0x%x; its leaf had A/D and size 0x%" PRIx64 ") "
			    "without a TLB invalidation covering it (%u "
			    "ranges%s, all=%d)", s[i], pre[i].pa, pre[i].attr,
			    post.mapped, post.pa, post.attr, pre_size[i],
			    r->ntlb, rs, r->tlb_all);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Setup and the tests                                                 */
/* ------------------------------------------------------------------ */

static void
setup(run_t *r, ht_mode_t mode, int lowmem, int serial, unsigned ept)
{
	uint64_t s;

	memset(r, 0, sizeof (*r));
	r->mode = mode;
	r->mname = ht_mode_name(mode);
	r->g = ht_geometry(mode);
	r->npt = mode == HT_MODE_NPT4 || mode == HT_MODE_NPT5;
	r->ept = mode == HT_MODE_EPT4 || mode == HT_MODE_EPT5;
	r->eptf = ept;
	r->guest = r->npt || r->ept;
	r->attrs = ATTRS | (r->ept ? HT_NOREAD | HT_EPT_SVE : 0);
	r->perm = PERM | (r->ept ? HT_NOREAD : 0);
	r->lowmem = lowmem;
	r->serial = serial;
	r->seed = base_seed();
	r->nops = env_count("HT_MODEL_OPS", DEFAULT_OPS);
	if (lowmem && getenv("HT_MODEL_OPS") == NULL)
		r->nops /= 2;	/* every step is a smaller space: fewer do */
	r->audit_every = env_count("HT_MODEL_AUDIT_EVERY", 1);
	/* each test has its own stream, all from the one printed seed */
	s = r->seed ^ ((uint64_t)mode << 56) ^ ((uint64_t)lowmem << 48) ^
	    ((uint64_t)serial << 40) ^ ((uint64_t)ept << 32);
	for (int i = 0; i < 4; i++)
		r->rng[i] = splitmix(&s);
	rm_init(&r->rm);
	cr_assert_not_null(r->g);

	/* Tables of every mode must sit below 4 GiB (32-bit CR3 and PDEs). */
	int rc = ht_arena_create(16 * MIB, 1 * GIB, 0, &r->arena);
	cr_assert_eq(rc, 0, "ht_arena_create: %s", errname(rc));

	ht_config_t cfg;
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = r->arena;
	cfg.tlb = tlb_cb;
	cfg.tlb_arg = r;
	cfg.ept = ept;
	/*
	 * Kept, audited and queried at every step; not in the serial test,
	 * whose one-entry calls would take the general path with it.
	 */
	cfg.rmap = !serial;
	rc = ht_ctx_create(&cfg, &r->ctx);
	cr_assert_eq(rc, 0, "ht_ctx_create: %s (%s)", errname(rc),
	    ht_errdetail());
	/*
	 * Copied in 32-bit paging too would take away the 4 MiB pages this
	 * model leans on (PAs above 4 GiB): test_cpu_root covers that.
	 */
	r->copied = !lowmem && mode != HT_MODE_32BIT;
	rc = ht_as_create(r->ctx, (lowmem ? HT_AS_NOSTEAL : r->copied ?
	    HT_AS_COPIED : 0) | (serial ? HT_AS_SERIAL : 0), &r->as);
	cr_assert_eq(rc, 0, "ht_as_create: %s (%s)", errname(rc),
	    ht_errdetail());
	cr_assert_eq(ht_as_create(r->ctx, HT_AS_COPIED, &r->other), 0);
	cr_assert_eq(ht_map(r->other, 0, 0x7000, PG, HT_W, 0), 0);
	cr_assert_eq(ht_as_create(r->ctx, 0, &r->sh), 0);
	r->cpu.flags = HT_CPU_WP;
	if (r->npt) {
		/*
		 * None of WP, SMEP, SMAP or protection keys applies to a
		 * nested walk: without WP a CPL-0 write to a read-only page
		 * would pass, with SMAP and SMEP a CPL-0 read or fetch of a
		 * user page (every page here) would fault, and this PKRU
		 * denies every data access to a user page.
		 */
		r->cpu.flags = HT_CPU_SMEP | HT_CPU_SMAP | HT_CPU_PKE;
		r->cpu.pkru = 0xffffffffu;
	}
	if (r->g->has_nx)
		r->cpu.flags |= HT_CPU_NXE;
	r->sh_cpu = r->cpu;
	if (r->ept) {
		/*
		 * The CPU the context's flags are for; the sharer's soft TLB
		 * runs without mode-based execute control, where bit 10 is
		 * ignored and a user-mode fetch needs bit 2.
		 */
		r->cpu.flags = ((ept & HT_EPT_MBEC) ? HT_CPU_EPT_MBEC : 0) |
		    ((ept & HT_EPT_XONLY) ? HT_CPU_EPT_XONLY : 0);
		r->sh_cpu = r->cpu;
		r->sh_cpu.flags &= ~HT_CPU_EPT_MBEC;
	}
	cr_assert_eq(ht_stlb_create(r->as, 64, &r->cpu, &r->stlb), 0,
	    "%s", ht_errdetail());
	cr_assert_eq(ht_stlb_create(r->sh, 16, &r->sh_cpu, &r->sh_stlb), 0,
	    "%s", ht_errdetail());
	if (r->ept) {
		/* the EPT pointer of a space with a root frame, none else */
		uint64_t eptp;

		cr_assert_eq(ht_as_eptp(r->sh, HT_EPT_WB, &eptp), 0, "%s",
		    ht_errdetail());
		cr_assert_eq(eptp, cr3_of(r, ht_as_root(r->sh)), "EPTP 0x%"
		    PRIx64, eptp);
		cr_assert_eq(ht_as_eptp(r->as, HT_EPT_WB, &eptp), r->copied ?
		    -HT_EINVAL : 0);
	}
	r->sh_span = 1ull << r->g->level_shift[1];
	r->sh_dst = SH_TABLES * r->sh_span;
	for (int i = 0; r->copied && i < 2; i++) {
		ht_cpu_root_cfg_t rc_cfg = { (unsigned)i, 0, NULL, NULL };
		ht_switch_t sw;

		cr_assert_eq(ht_cpu_root_create(r->ctx, &rc_cfg, &r->cr[i]), 0,
		    "%s", ht_errdetail());
		cr_assert_eq(ht_switch(r->cr[i], r->as, &sw), 0);
	}

	r->ps = ht_ctx_pagesizes(r->ctx);
	r->pa_limit = 1ull << ht_ctx_pa_bits(r->ctx);
	r->pa_small_limit = r->g->pte_size == 4 ? (1ull << 32) : r->pa_limit;
	r->has_nx = r->g->has_nx;
	/* EPT has no NX bit, and X is a right like W: nothing implied */
	r->xkeep = r->has_nx || r->ept ? 0 : HT_X;
	r->keep = r->xkeep | (r->npt ? HT_U : 0);
	/* with a hole the upper half is canonical; else [0, 2^va_bits) */
	r->va_last = r->g->hole_start != 0 ? ~0ull :
	    (1ull << r->g->va_bits) - 1;
	cr_assert(!r->guest || r->g->hole_start == 0, "%s has a hole",
	    r->mname);
	/* the MMU that reads EPT tables: what the context's flags say */
	r->eref.maxphyaddr = ht_ctx_pa_bits(r->ctx);
	r->eref.xonly = (ept & HT_EPT_XONLY) != 0;
	r->eref.walk5 = true;
	r->eref.page_2m = (r->ps & HT_PS_2M) != 0;
	r->eref.page_1g = (r->ps & HT_PS_1G) != 0;
	r->eref.ad = true;
	r->eref.mbec = (ept & HT_EPT_MBEC) != 0;
	r->big = PG;
	if (r->ps & HT_PS_2M)
		r->lpg[r->nlpg++] = 2 * MIB;
	if (r->ps & HT_PS_4M)
		r->lpg[r->nlpg++] = 4 * MIB;
	if (r->ps & HT_PS_1G)
		r->lpg[r->nlpg++] = GIB;
	if (r->nlpg > 0)
		r->big = r->lpg[r->nlpg - 1];

	if (r->g->hole_start == 0) {
		r->reg[0].first = 0;
		r->reg[0].last = r->va_last;
		r->nreg = 1;
	} else {
		r->reg[0].first = 0;
		r->reg[0].last = r->g->hole_start - 1;
		r->reg[1].first = r->g->hole_end + 1;
		r->reg[1].last = ~0ull;
		r->nreg = 2;
	}
	r->window = 8 * r->big;
	if (r->window > 4 * GIB)
		r->window = 4 * GIB;

	/*
	 * Clusters: the bottom and the top of every region (the hole's
	 * edges and the top of the space) plus random ones, so that tables
	 * get shared and the boundary entries of the root get used.
	 */
	for (int i = 0; i < r->nreg; i++) {
		const region_t *rg = &r->reg[i];
		uint64_t span = (rg->last - rg->first) / r->window;
		cluster_t *c;

		c = &r->cl[r->ncl++];
		c->reg = i;
		c->base = rg->first;
		c = &r->cl[r->ncl++];
		c->reg = i;
		c->base = rg->last - r->window + 1;
		for (int j = 0; j < (r->nreg == 1 ? 3 : 2); j++) {
			c = &r->cl[r->ncl++];
			c->reg = i;
			c->base = rg->first + (1 + rnd(r, span - 2)) *
			    r->window;
		}
	}
	uint64_t hotstep = r->nlpg > 0 ? r->lpg[0] : PG;
	r->spread = 2 * hotstep;
	for (int i = 0; i < r->ncl; i++) {
		for (int j = 0; j < NHOT; j++)
			r->cl[i].hot[j] = r->cl[i].base +
			    rnd(r, r->window / hotstep) * hotstep;
	}
}

static void
teardown(run_t *r)
{
	ht_arena_set_limit(r->arena, 0);
	ht_ctx_set_force_steal(r->ctx, 0);
	audit(r);
	full_walk(r);

	if (getenv("HT_MODEL_VERBOSE") != NULL) {
		(void) fprintf(stderr, "model seed=0x%016" PRIx64 " mode=%s%s: "
		    "%lu ops, %lu walks, %lu audits, model entries %zu\n",
		    r->seed, r->mname, r->lowmem ? " (lowmem)" : "", r->nops,
		    r->walks, r->audits, r->rm.n);
		for (int i = 0; i < NOPTYPES; i++)
			(void) fprintf(stderr, "  %-14s %8lu ok %8lu\n",
			    op_names[i], r->nop[i], r->nok[i]);
		(void) fprintf(stderr, "  soft TLB: %lu fills, %lu hits "
		    "checked\n", r->stlb_fills, r->stlb_hits);
		if (r->ept)
			(void) fprintf(stderr, "  EPT flags 0x%x: %lu accesses "
			    "against the reference: %lu complete, %lu "
			    "violations, %lu misconfigurations\n", r->eptf,
			    r->ept_out[0] + r->ept_out[1] + r->ept_out[2],
			    r->ept_out[EPTREF_OK], r->ept_out[EPTREF_VIOLATION],
			    r->ept_out[EPTREF_MISCONF]);
		(void) fprintf(stderr, "  ELOCKED %lu EEXIST %lu ENOFRAME %lu "
		    "ENOTMAPPED %lu ENOTLOCKED %lu, A/D leaves found %lu\n",
		    r->n_elocked, r->n_eexist, r->n_enoframe, r->n_enotmapped,
		    r->n_enotlocked, r->n_ad_found);
		(void) fprintf(stderr, "  leaves seen in walks by level:");
		for (unsigned l = 0; l < r->g->levels; l++)
			(void) fprintf(stderr, " %lu", r->leaves_seen[l]);
		(void) fprintf(stderr, ", frames used %" PRIu64 "\n",
		    ht_arena_frames_used(r->arena));
	}

	/* A short run proves little about coverage; only judge long ones. */
	if (r->nops >= 10000) {
		for (unsigned l = 1; l < r->g->levels; l++) {
			uint64_t sz = 1ull << r->g->level_shift[l];
			int avail = (sz == 2 * MIB && (r->ps & HT_PS_2M)) ||
			    (sz == 4 * MIB && (r->ps & HT_PS_4M)) ||
			    (sz == GIB && (r->ps & HT_PS_1G));
			/* a copied 32-bit space has no 4 MiB pages */
			if (r->copied && l + 1 == r->g->levels)
				continue;
			if (avail && !r->lowmem && r->leaves_seen[l] == 0)
				fail(r, "no level-%u (0x%" PRIx64 ") leaf was "
				    "ever seen: large pages are not used", l,
				    sz);
		}
		if (r->lowmem && r->n_enoframe == 0)
			fail(r, "no operation ever failed with ENOFRAME");
		if (r->n_elocked == 0)
			fail(r, "no operation ever failed with ELOCKED");
		/* our tables never hold a misconfiguration */
		if (r->ept && (r->ept_out[EPTREF_OK] == 0 ||
		    r->ept_out[EPTREF_VIOLATION] == 0))
			fail(r, "the reference saw %lu accesses complete and "
			    "%lu violations", r->ept_out[EPTREF_OK],
			    r->ept_out[EPTREF_VIOLATION]);
	}

	if (r->shared && ht_unshare(r->sh, r->sh_dst, r->sh_span) != 1)
		fail(r, "unshare at the end: %s", ht_errdetail());
	/* the sharer's goes with its space (detached), the other before */
	ht_stlb_destroy(r->stlb);
	ht_as_destroy(r->sh);
	if (ht_stlb_as(r->sh_stlb) != NULL)
		fail(r, "the sharer's soft TLB is still attached");
	ht_stlb_destroy(r->sh_stlb);
	for (int i = 0; r->copied && i < 2; i++)
		ht_cpu_root_destroy(r->cr[i]);
	ht_as_destroy(r->other);
	ht_as_destroy(r->as);
	r->as = NULL;
	uint64_t used = ht_arena_frames_used(r->arena);
	if (used != 0)
		fail(r, "%" PRIu64 " frames still allocated after "
		    "ht_as_destroy", used);
	int rc = ht_ctx_destroy(r->ctx);
	if (rc != 0)
		fail(r, "ht_ctx_destroy: %s", errname(rc));
	ht_arena_destroy(r->arena);
	rm_fini(&r->rm);
}

/* ept: the context's HT_EPT_* flags (EPT modes only) */
static void
run_model_ept(ht_mode_t mode, int lowmem, int serial, unsigned ept)
{
	run_t *r = calloc(1, sizeof (*r));

	cr_assert_not_null(r);
	setup(r, mode, lowmem, serial, ept);
	audit(r);
	for (r->opno = 1; r->opno <= r->nops; r->opno++) {
		if (lowmem && r->opno % 100 == 1)
			pressure(r);
		step(r);
		if (r->opno % WALK_EVERY == 0) {
			if (r->audit_every > 1)
				audit(r);
			full_walk(r);
		}
	}
	r->opno = r->nops;
	teardown(r);
	free(r);
}

static void
run_model(ht_mode_t mode, int lowmem, int serial)
{
	run_model_ept(mode, lowmem, serial, 0);
}

Test(model, 32bit, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_32BIT, 0, 0);
}

Test(model, 32bit_lowmem, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_32BIT, 1, 0);
}

Test(model, pae, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_PAE, 0, 0);
}

Test(model, pae_lowmem, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_PAE, 1, 0);
}

Test(model, 4level, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_4LEVEL, 0, 0);
}

Test(model, 4level_lowmem, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_4LEVEL, 1, 0);
}

Test(model, 5level, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_5LEVEL, 0, 0);
}

Test(model, 5level_lowmem, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_5LEVEL, 1, 0);
}

/*
 * Nested paging: the long-mode tables over a guest-physical space with
 * no hole, every entry with U, every access a user one (run_t.npt).
 */
Test(model, npt4, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_NPT4, 0, 0);
}

Test(model, npt4_lowmem, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_NPT4, 1, 0);
}

Test(model, npt5, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_NPT5, 0, 0);
}

Test(model, npt5_lowmem, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_NPT5, 1, 0);
}

/*
 * Intel EPT: the guest-physical space in EPT's entry format, against the
 * reference of tests/lib/eptref.c (run_t.ept).  The contexts have every
 * HT_EPT_* flag (A/D, user-mode execute, execute-only pages), but ept5's:
 * none, so that A/D are absent, HT_XU and execute-only are refused, and
 * every present leaf counts as cached.
 */
#define EPT_ALL		(HT_EPT_AD | HT_EPT_MBEC | HT_EPT_XONLY)

Test(model, ept4, .timeout = MODEL_TIMEOUT)
{
	run_model_ept(HT_MODE_EPT4, 0, 0, EPT_ALL);
}

Test(model, ept5, .timeout = MODEL_TIMEOUT)
{
	run_model_ept(HT_MODE_EPT5, 0, 0, 0);
}

Test(model, ept5_lowmem, .timeout = MODEL_TIMEOUT)
{
	run_model_ept(HT_MODE_EPT5, 1, 0, EPT_ALL);
}

/*
 * A serial space (HT_AS_SERIAL) without the reverse map: its one-entry
 * calls take no lock (hat_one.c); a third of the ranges are one entry.
 * It neither shares nor is shared, so the share step only checks that
 * ht_share says so.
 */
Test(model, 32bit_serial, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_32BIT, 0, 1);
}

Test(model, 4level_serial, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_4LEVEL, 0, 1);
}

Test(model, npt4_serial, .timeout = MODEL_TIMEOUT)
{
	run_model(HT_MODE_NPT4, 0, 1);
}

Test(model, ept4_serial, .timeout = MODEL_TIMEOUT)
{
	run_model_ept(HT_MODE_EPT4, 0, 1, EPT_ALL);
}
