/*
 * test_ad.c - Accessed/Dirty bits of the mappings a call removes
 * (ht_unmap_ad, ht_map_ad) and the contract of a harvest that covers only
 * part of a large page (ht_harvest_ad, HT_AD_SPLIT).
 *
 * Public header only.  The test plays the MMU: it sets A and D in the raw
 * leaf entries, found by following the entries ht_translate read down to
 * the leaf's table in the arena.  Every test runs in every paging mode and
 * for every page size the mode has, and ends with every frame returned.
 * In EPT (contexts with HT_EPT_AD) A and D are bits 8 and 9, and bits 3-6
 * hold the memory type and IPAT: the large leaves there are mapped WB with
 * IPAT, and every split, harvest and removal must leave those as they are
 * while the raw bits 8 and 9 agree with what translate reports.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "htable.h"
#include "../lib/geom.h"
#include "../lib/leaf_entry.h"

#define PG		4096ull
#define MIB		(1024ull * 1024)
#define GIB		(1024ull * MIB)
#define AD		(HT_A | HT_D)

/* Raw entry bits an MMU sets (Intel SDM vol. 3, 4.8; EPT: 3C 29.3.5). */
#define RAW_A		0x20ull
#define RAW_D		0x40ull
#define RAW_EPT_A	0x100ull
#define RAW_EPT_D	0x200ull
/* EPT: a memory type (WB) and IPAT, where the x86 formats have A and D */
#define EPT_TYPE	(HT_EPT_MT(HT_EPT_WB) | HT_EPT_IPAT)
#define RAW_EPT_TYPE	((6ull << 3) | (1ull << 6))

_Static_assert(HT_AD_CLEAR == 1, "callers passing clear = 1 keep working");

/* ------------------------------------------------------------------ */
/* One context, one space, and a recorder of A/D reports               */
/* ------------------------------------------------------------------ */

typedef struct report {
	ht_va_t		va;
	uint64_t	size;
	unsigned	bits;
} report_t;

typedef struct reports {
	report_t	*r;
	size_t		n, cap;
} reports_t;

static struct {
	const ht_geometry_t *g;
	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
	ht_as_t		*as;
	reports_t	rep;
	int		ept;
	unsigned	type;		/* EPT_TYPE in EPT, else 0 */
} T;

/* Array v of n elements of `size` with room for one more (*cap grows). */
static void *
room(void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return (v);
	*cap = *cap != 0 ? 2 * *cap : 256;
	v = realloc(v, *cap * size);
	cr_assert_not_null(v);
	return (v);
}

static void
record(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	reports_t *rp = arg;

	rp->r = room(rp->r, rp->n, &rp->cap, sizeof (report_t));
	rp->r[rp->n].va = va;
	rp->r[rp->n].size = size;
	rp->r[rp->n].bits = bits;
	rp->n++;
}

/* A callback that must never run. */
static void
never(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	(void) arg;
	cr_assert_fail("unexpected A/D report: va 0x%llx size 0x%llx bits "
	    "0x%x", (unsigned long long)va, (unsigned long long)size, bits);
}

static void
setup(ht_mode_t mode)
{
	ht_config_t cfg;
	int rc;

	memset(&T, 0, sizeof (T));
	T.g = ht_geometry(mode);
	cr_assert_not_null(T.g);
	cr_assert_eq(ht_arena_create(MIB, 512 * MIB, 0, &T.arena), 0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = T.arena;
	T.ept = mode_ept(T.g);
	T.type = T.ept ? EPT_TYPE : 0;
	cfg.ept = T.ept ? EPT_ENV : 0;
	rc = ht_ctx_create(&cfg, &T.ctx);
	cr_assert_eq(rc, 0, "ht_ctx_create: %s (%s)", ht_err_name(rc),
	    ht_errdetail());
	cr_assert_eq(ht_as_create(T.ctx, 0, &T.as), 0);
}

static void
teardown(void)
{
	ht_as_destroy(T.as);
	cr_assert_eq(ht_ctx_destroy(T.ctx), 0);
	cr_assert_eq(ht_arena_frames_used(T.arena), 0, "frames leaked");
	ht_arena_destroy(T.arena);
	free(T.rep.r);
	memset(&T, 0, sizeof (T));
}

#define CHECK(call) do {						\
	long rc_ = (long)(call);					\
	cr_assert_eq(rc_, 0, "line %d: %s: %s (%s)", __LINE__, #call,	\
	    rc_ < 0 ? ht_err_name((int)rc_) : "> 0", ht_errdetail());	\
} while (0)

#define AUDIT() cr_assert_eq(ht_audit(T.as), 0, "line %d: audit: %s",	\
	__LINE__, ht_errdetail())

/* Size of a leaf of level l, and the HT_PS_* flag naming it. */
static uint64_t
lsz(unsigned l)
{
	return (1ull << T.g->level_shift[l]);
}

static unsigned
ps_of(unsigned l)
{
	return (l == 0 ? HT_PS_4K : l == 2 ? HT_PS_1G :
	    T.g->level_shift[1] == 22 ? HT_PS_4M : HT_PS_2M);
}

/* The highest level with leaves: 1 GiB pages in 4- and 5-level paging. */
static unsigned
top_level(void)
{
	return (T.g->levels >= 4 ? 2 : 1);
}

/*
 * A VA where level-l leaves [v - 3 size, v + 3 size) lie in two tables
 * (three each), below 4 GiB where the mode needs it.
 */
static ht_va_t
boundary(unsigned l)
{
	uint64_t t = l + 1 < T.g->levels ? lsz(l + 1) : 2 * GIB;

	return (t < GIB ? GIB : t);
}

/* ------------------------------------------------------------------ */
/* Playing the MMU                                                     */
/* ------------------------------------------------------------------ */

/* The raw leaf entry of va (which must be mapped). */
static void *
leaf_entry(ht_va_t va, uint64_t *r_size)
{
	void *p = leaf_entry_of(T.as, T.arena, va, r_size);

	cr_assert_not_null(p, "va 0x%llx is not mapped",
	    (unsigned long long)va);
	return (p);
}

/* The raw A and D bits of the format for HT_A and HT_D in bits. */
static uint64_t
raw_ad(unsigned bits)
{
	return (((bits & HT_A) ? (T.ept ? RAW_EPT_A : RAW_A) : 0) |
	    ((bits & HT_D) ? (T.ept ? RAW_EPT_D : RAW_D) : 0));
}

/* The MMU sets A (and D for a write) in the leaf mapping va. */
static void
mmu_sets(ht_va_t va, unsigned bits)
{
	/* the byte of A and D: the low one, EPT's second (bits 8, 9) */
	unsigned byte = T.ept ? 1 : 0;
	uint8_t raw = (uint8_t)(raw_ad(bits) >> (8 * byte));

	/*
	 * A and D sit in one byte of either entry size (little-endian):
	 * one locked OR of that byte, as atomic as the MMU's own update.
	 */
	(void) __atomic_fetch_or((uint8_t *)leaf_entry(va, NULL) + byte, raw,
	    __ATOMIC_SEQ_CST);
}

/*
 * The A/D bits and page size of the leaf mapping va.  In EPT the raw
 * entry's bits 8 and 9 must say the same.
 */
static unsigned
ad_of(ht_va_t va, uint64_t *r_size)
{
	ht_xlate_t x;

	CHECK(ht_translate(T.as, va, &x));
	if (r_size != NULL)
		*r_size = x.page_size;
	if (T.ept)
		cr_assert_eq(x.entries[x.nlevels - 1] &
		    (RAW_EPT_A | RAW_EPT_D), raw_ad(x.attr & AD),
		    "va 0x%llx: leaf 0x%llx, attr 0x%x",
		    (unsigned long long)va,
		    (unsigned long long)x.entries[x.nlevels - 1], x.attr);
	return (x.attr & AD);
}

/*
 * EPT: the leaf mapping va still has the type it was mapped with (bits
 * 3-6 of the raw entry, and translate's report).
 */
static void
type_kept(ht_va_t va, int line)
{
	ht_xlate_t x;

	if (!T.ept)
		return;
	CHECK(ht_translate(T.as, va, &x));
	cr_assert_eq(x.entries[x.nlevels - 1] & 0x78, RAW_EPT_TYPE,
	    "line %d: va 0x%llx: leaf 0x%llx", line, (unsigned long long)va,
	    (unsigned long long)x.entries[x.nlevels - 1]);
	cr_assert_eq(x.attr & (HT_EPT_MT_MASK | HT_EPT_IPAT), T.type,
	    "line %d: va 0x%llx: attr 0x%x", line, (unsigned long long)va,
	    x.attr);
}
#define TYPE_KEPT(va)	type_kept(va, __LINE__)

static int
is_unmapped(ht_va_t va)
{
	ht_xlate_t x;

	return (ht_translate(T.as, va, &x) == -HT_ENOTMAPPED);
}

/* ------------------------------------------------------------------ */
/* Checking the reports                                                */
/* ------------------------------------------------------------------ */

static void
rep_reset(void)
{
	T.rep.n = 0;
}

/*
 * The reports since rep_reset are exactly want[0..n): each once, in any
 * order.
 */
static void
rep_exactly(const report_t *want, size_t n, int line)
{
	cr_assert_eq(T.rep.n, n, "line %d: %zu reports, want %zu", line,
	    T.rep.n, n);
	for (size_t i = 0; i < n; i++) {
		size_t hits = 0;

		for (size_t j = 0; j < T.rep.n; j++)
			hits += T.rep.r[j].va == want[i].va &&
			    T.rep.r[j].size == want[i].size &&
			    T.rep.r[j].bits == want[i].bits;
		cr_assert_eq(hits, 1, "line %d: va 0x%llx size 0x%llx bits "
		    "0x%x reported %zu times", line,
		    (unsigned long long)want[i].va,
		    (unsigned long long)want[i].size, want[i].bits, hits);
	}
}

#define REPORTS(...) do {						\
	const report_t w_[] = { __VA_ARGS__ };				\
	rep_exactly(w_, sizeof (w_) / sizeof (w_[0]), __LINE__);	\
} while (0)
#define NO_REPORTS() rep_exactly(NULL, 0, __LINE__)

/* A full walk of the space, to prove that a failed call changed nothing. */
typedef struct leaves {
	size_t		n, cap;
	ht_leaf_t	*l;		/* in VA order */
} leaves_t;

static int
collect(void *arg, const ht_leaf_t *lf)
{
	leaves_t *s = arg;

	s->l = room(s->l, s->n, &s->cap, sizeof (ht_leaf_t));
	s->l[s->n++] = *lf;
	return (0);
}

static leaves_t
leaves_of(ht_va_t va, ht_va_t last)
{
	leaves_t s = { 0, 0, NULL };

	CHECK(ht_walk(T.as, va, last, collect, &s));
	return (s);
}

static void
leaves_same(leaves_t *a, leaves_t *b)
{
	cr_assert_eq(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		cr_assert(a->l[i].va == b->l[i].va &&
		    a->l[i].size == b->l[i].size &&
		    a->l[i].pte == b->l[i].pte, "leaf %zu changed", i);
	free(a->l);
	free(b->l);
}

/* setup, body(l) for each leaf level l from `from` up, teardown */
static void
per_level(ht_mode_t mode, unsigned from, void (*body)(unsigned l))
{
	setup(mode);
	for (unsigned l = from; l <= top_level(); l++)
		body(l);
	teardown();
}

#define MODES(name)							\
ParameterizedTestParameters(ad, name)					\
{									\
	static ht_mode_t m[] = { ALL_MODES };				\
	return (cr_make_param_array(ht_mode_t, m,			\
	    sizeof (m) / sizeof (m[0])));				\
}

/* ------------------------------------------------------------------ */
/* ht_unmap_ad and ht_map_ad                                           */
/* ------------------------------------------------------------------ */

/*
 * Six level-l leaves at v - 3 size .. v + 3 size (two tables, v =
 * boundary(l)), to GIB: 0 accessed, 1 dirty, 2 both, 3 clean, 4 dirty,
 * 5 clean.  Returns v, and the reports a removal of all six must give in
 * want[0..4).
 */
static ht_va_t
six_leaves(unsigned l, report_t want[4])
{
	static const unsigned bits[6] = { HT_A, HT_D, AD, 0, HT_D, 0 };
	uint64_t s = lsz(l);
	ht_va_t v = boundary(l), v0 = v - 3 * s;
	unsigned k = 0;

	CHECK(ht_map(T.as, v0, GIB, 6 * s, HT_W | T.type,
	    HT_MAP_SIZE(ps_of(l))));
	for (unsigned i = 0; i < 6; i++) {
		if (bits[i] == 0)
			continue;
		mmu_sets(v0 + i * s, bits[i]);
		want[k].va = v0 + i * s;
		want[k].size = s;
		want[k].bits = bits[i];
		k++;
	}
	cr_assert_eq(k, 4);
	return (v);
}

/* One level-l leaf at boundary(l), to GIB, with `bits` set by the MMU. */
static ht_va_t
large_leaf(unsigned l, unsigned bits)
{
	ht_va_t v = boundary(l);

	CHECK(ht_map(T.as, v, GIB, lsz(l), HT_W | T.type,
	    HT_MAP_SIZE(ps_of(l))));
	if (bits != 0)
		mmu_sets(v, bits);
	return (v);
}

MODES(bulk_reports)

/*
 * The bulk paths, every page size: leaves in two tables replaced by
 * ht_map_ad, then removed by ht_unmap_ad.
 */
static void
bulk_reports_at(unsigned l)
{
	report_t want[4];
	uint64_t s = lsz(l);
	ht_va_t v = six_leaves(l, want);

	for (int i = -3; i < 3; i++)
		TYPE_KEPT(v + (ht_va_t)i * s);
	/* the same frames, other permissions: the bits stay */
	rep_reset();
	CHECK(ht_map_ad(T.as, v - 3 * s, GIB, 6 * s, HT_U,
	    HT_MAP_SIZE(ps_of(l)), record, &T.rep));
	NO_REPORTS();
	cr_assert_eq(ad_of(v - 2 * s, NULL), HT_D);
	/* other frames: the old leaves are gone with their bits */
	rep_reset();
	CHECK(ht_map_ad(T.as, v - 3 * s, 2 * GIB, 6 * s, HT_W,
	    HT_MAP_SIZE(ps_of(l)), record, &T.rep));
	rep_exactly(want, 4, __LINE__);
	for (int i = -3; i < 3; i++)
		cr_assert_eq(ad_of(v + (ht_va_t)i * s, NULL), 0);
	AUDIT();

	/* the MMU again; clean and dirty leaves around the range stay */
	for (int i = 0; i < 4; i++)
		mmu_sets(want[i].va, want[i].bits);
	CHECK(ht_map(T.as, v - 5 * s, 2 * GIB, 2 * s, 0,
	    HT_MAP_SIZE(ps_of(l))));
	mmu_sets(v - 4 * s, AD);
	rep_reset();
	CHECK(ht_unmap_ad(T.as, v - 3 * s, 6 * s, 0, record, &T.rep));
	rep_exactly(want, 4, __LINE__);
	for (int i = -3; i < 3; i++)
		cr_assert(is_unmapped(v + (ht_va_t)i * s));
	cr_assert_eq(ad_of(v - 4 * s, NULL), AD);
	AUDIT();
	/* nothing left to report */
	rep_reset();
	CHECK(ht_unmap_ad(T.as, v - 3 * s, 6 * s, 0, record, &T.rep));
	NO_REPORTS();
	CHECK(ht_unmap(T.as, v - 5 * s, 2 * s, 0));
}

ParameterizedTest(ht_mode_t *mode, ad, bulk_reports, .timeout = 120)
{
	per_level(*mode, 0, bulk_reports_at);
}

MODES(fast_path)

/*
 * A VMM's fault path: a few pages inside one existing table (no census,
 * no splits).
 */
ParameterizedTest(ht_mode_t *mode, ad, fast_path, .timeout = 60)
{
	ht_va_t v = GIB + 16 * PG;

	setup(*mode);
	CHECK(ht_map(T.as, v, 0x100000, 8 * PG, HT_W, 0));
	mmu_sets(v + PG, HT_D);
	mmu_sets(v + 2 * PG, AD);
	mmu_sets(v + 6 * PG, HT_A);
	mmu_sets(v + 7 * PG, HT_D);	/* outside the range below */
	rep_reset();
	CHECK(ht_unmap_ad(T.as, v + PG, 6 * PG, 0, record, &T.rep));
	REPORTS({ v + PG, PG, HT_D }, { v + 2 * PG, PG, AD },
	    { v + 6 * PG, PG, HT_A });
	cr_assert_eq(ad_of(v + 7 * PG, NULL), HT_D);
	cr_assert_eq(ad_of(v, NULL), 0);
	/* one page */
	rep_reset();
	CHECK(ht_unmap_ad(T.as, v + 7 * PG, PG, 0, record, &T.rep));
	REPORTS({ v + 7 * PG, PG, HT_D });
	/* a locked page goes with HT_UNMAP_UNLOCK, and reports */
	CHECK(ht_map(T.as, v + 3 * PG, 0x200000, PG, HT_W, HT_MAP_LOCK));
	mmu_sets(v + 3 * PG, HT_D);
	rep_reset();
	cr_assert_eq(ht_unmap_ad(T.as, v + 3 * PG, PG, 0, never, NULL),
	    -HT_ELOCKED);
	CHECK(ht_unmap_ad(T.as, v + 3 * PG, PG, HT_UNMAP_UNLOCK, record,
	    &T.rep));
	REPORTS({ v + 3 * PG, PG, HT_D });
	AUDIT();

	/* ht_map_ad of one page over a dirty one, and over an empty entry */
	mmu_sets(v, AD);
	rep_reset();
	CHECK(ht_map_ad(T.as, v, 0x900000, PG, HT_W, 0, record, &T.rep));
	REPORTS({ v, PG, AD });
	cr_assert_eq(ad_of(v, NULL), 0);
	rep_reset();
	CHECK(ht_map_ad(T.as, v + 5 * PG, 0x900000, PG, HT_W, 0, record,
	    &T.rep));
	NO_REPORTS();
	AUDIT();
	teardown();
}

MODES(unmap_partial_large)

/*
 * Unmapping part of a dirty large page splits it first: the small leaves
 * inherit A/D, so the removed part reports them at its own size.
 */
static void
unmap_partial_large_at(unsigned l)
{
	uint64_t s = lsz(l), sz;
	ht_va_t v = large_leaf(l, AD);
	ht_va_t hole = v + s / 2;

	rep_reset();
	CHECK(ht_unmap_ad(T.as, hole, PG, 0, record, &T.rep));
	REPORTS({ hole, PG, AD });
	cr_assert(is_unmapped(hole));
	cr_assert_eq(ad_of(hole + PG, &sz), AD);
	cr_assert_eq(sz, PG);
	cr_assert_eq(ad_of(v, &sz), AD);
	cr_assert_eq(sz, l == 2 ? lsz(1) : PG);
	TYPE_KEPT(v);
	TYPE_KEPT(hole + PG);
	if (l == 2) {
		/* a 2 MiB part of the split 1 GiB page */
		rep_reset();
		CHECK(ht_unmap_ad(T.as, v + 3 * lsz(1), lsz(1), 0,
		    record, &T.rep));
		REPORTS({ v + 3 * lsz(1), lsz(1), AD });
	}
	AUDIT();
	CHECK(ht_unmap(T.as, v, s, 0));
}

ParameterizedTest(ht_mode_t *mode, ad, unmap_partial_large, .timeout = 60)
{
	per_level(*mode, 1, unmap_partial_large_at);
}

MODES(map_merges)

/*
 * ht_map_ad putting a large leaf where a table of smaller leaves was
 * reports those smaller leaves; putting small leaves where a large leaf
 * was reports the large leaf.
 */
static void
map_merges_at(unsigned l)
{
	uint64_t s = lsz(l), c = lsz(l - 1), sz;
	ht_va_t v = boundary(l);

	CHECK(ht_map(T.as, v, 0, s, HT_W, HT_MAP_SIZE(ps_of(l - 1))));
	mmu_sets(v, HT_D);
	mmu_sets(v + 7 * c, HT_A);
	mmu_sets(v + s - c, AD);
	rep_reset();
	CHECK(ht_map_ad(T.as, v, GIB, s, HT_W, 0, record, &T.rep));
	REPORTS({ v, c, HT_D }, { v + 7 * c, c, HT_A },
	    { v + s - c, c, AD });
	cr_assert_eq(ad_of(v + c, &sz), 0);
	cr_assert_eq(sz, s);
	AUDIT();

	/* and back: the large leaf goes whole */
	mmu_sets(v, HT_A);
	rep_reset();
	CHECK(ht_map_ad(T.as, v, 2 * GIB, s, HT_W,
	    HT_MAP_SIZE(ps_of(l - 1)), record, &T.rep));
	REPORTS({ v, s, HT_A });
	cr_assert_eq(ad_of(v + c, &sz), 0);
	cr_assert_eq(sz, c);
	AUDIT();
	CHECK(ht_unmap(T.as, v, s, 0));
}

ParameterizedTest(ht_mode_t *mode, ad, map_merges, .timeout = 120)
{
	per_level(*mode, 1, map_merges_at);
}

MODES(no_callback)

/*
 * fn == NULL: the same outcome, nothing called (arg is never looked at);
 * and the plain calls are the fn == NULL cases.
 */
ParameterizedTest(ht_mode_t *mode, ad, no_callback, .timeout = 60)
{
	uint64_t s1;
	ht_va_t v = GIB;

	setup(*mode);
	s1 = lsz(1);
	CHECK(ht_map(T.as, v, 0, 2 * s1, HT_W, HT_MAP_SIZE(HT_PS_4K)));
	mmu_sets(v, AD);
	mmu_sets(v + s1 + PG, HT_D);
	CHECK(ht_unmap_ad(T.as, v, PG, 0, NULL, &T));
	CHECK(ht_map_ad(T.as, v + s1, GIB, s1, HT_W, 0, NULL,
	    &T));
	cr_assert(is_unmapped(v));
	CHECK(ht_map(T.as, v, 0, s1, HT_W, HT_MAP_SIZE(HT_PS_4K)));
	mmu_sets(v + PG, HT_D);
	CHECK(ht_unmap(T.as, v, 2 * s1, 0));
	AUDIT();
	/* failed calls report nothing */
	CHECK(ht_map(T.as, v, 0, 4 * PG, HT_W, 0));
	mmu_sets(v, HT_D);
	cr_assert_eq(ht_map_ad(T.as, v, 0x10000, 4 * PG, HT_W,
	    HT_MAP_NOREPLACE, never, NULL), -HT_EEXIST);
	cr_assert_eq(ht_unmap_ad(T.as, v, 4 * PG, 0x80, never, NULL),
	    -HT_EINVAL);
	cr_assert_eq(ad_of(v, NULL), HT_D);
	teardown();
}

MODES(steal_not_reported)

/*
 * A table stolen from another space while ht_map_ad runs loses that
 * space's mappings: they are not the caller's and are not reported to it.
 */
ParameterizedTest(ht_mode_t *mode, ad, steal_not_reported, .timeout = 120)
{
	ht_as_t *victim, *thief;
	ht_stats_t st0, st1;
	uint64_t s1;

	setup(*mode);
	s1 = lsz(1);
	victim = T.as;
	CHECK(ht_as_create(T.ctx, 0, &thief));
	for (unsigned i = 0; i < 32; i++) {
		ht_va_t va = (ht_va_t)i * s1 + 3 * PG;

		CHECK(ht_map(victim, va, 0x100000, PG, HT_W, 0));
		mmu_sets(va, AD);
	}
	ht_ctx_stats(T.ctx, &st0);
	ht_ctx_set_force_steal(T.ctx, 2);
	for (unsigned i = 0; i < 32; i++)
		CHECK(ht_map_ad(thief, GIB + (ht_va_t)i * s1, 0x200000, PG,
		    HT_W, 0, never, NULL));
	ht_ctx_set_force_steal(T.ctx, 0);
	ht_ctx_stats(T.ctx, &st1);
	cr_assert(st1.stolen > st0.stolen, "nothing stolen");
	cr_assert_eq(ht_audit(thief), 0);
	AUDIT();
	ht_as_destroy(thief);
	teardown();
}

/* ------------------------------------------------------------------ */
/* Harvesting part of a large page                                     */
/* ------------------------------------------------------------------ */

MODES(partial_harvest)

/*
 * By default a large leaf that sticks out of the range is reported whole
 * and keeps its bits, so the page really written is still seen later.
 */
static void
partial_harvest_at(unsigned l)
{
	uint64_t s = lsz(l), sz;
	ht_va_t v = large_leaf(l, 0);

	mmu_sets(v + 5 * PG, AD);	/* the page really written */
	rep_reset();
	cr_assert_eq(ht_harvest_ad(T.as, v + PG, PG, HT_D,
	    HT_AD_CLEAR, record, &T.rep), 1);
	REPORTS({ v, s, HT_D });
	cr_assert_eq(ad_of(v, &sz), AD, "a partial harvest cleared");
	cr_assert_eq(sz, s, "a partial harvest split");
	rep_reset();
	cr_assert_eq(ht_harvest_ad(T.as, v + 5 * PG, PG, AD,
	    HT_AD_CLEAR, record, &T.rep), 1);
	REPORTS({ v, s, AD });
	/* the whole leaf: cleared */
	rep_reset();
	cr_assert_eq(ht_harvest_ad(T.as, v, s, AD, HT_AD_CLEAR,
	    record, &T.rep), 1);
	REPORTS({ v, s, AD });
	cr_assert_eq(ad_of(v, NULL), 0);
	TYPE_KEPT(v + 5 * PG);
	AUDIT();
	CHECK(ht_unmap(T.as, v, s, 0));
}

ParameterizedTest(ht_mode_t *mode, ad, partial_harvest, .timeout = 60)
{
	per_level(*mode, 1, partial_harvest_at);
}

/* Is every leaf of [va, last] a 4 KiB leaf, and what bits do they have? */
static void
all_small(ht_va_t va, ht_va_t last, unsigned bits, int line)
{
	leaves_t s = leaves_of(va, last);

	cr_assert_eq(s.n, (last - va + 1) / PG, "line %d: %zu leaves", line,
	    s.n);
	for (size_t i = 0; i < s.n; i++) {
		cr_assert_eq(s.l[i].size, PG, "line %d: leaf va 0x%llx size "
		    "0x%llx", line, (unsigned long long)s.l[i].va,
		    (unsigned long long)s.l[i].size);
		cr_assert_eq(s.l[i].attr & AD, bits, "line %d: leaf va "
		    "0x%llx bits 0x%x", line, (unsigned long long)s.l[i].va,
		    s.l[i].attr & AD);
	}
	free(s.l);
}

MODES(split_harvest)

/*
 * HT_AD_SPLIT: the range becomes 4 KiB leaves that inherit the large
 * leaf's bits; from then on a harvest sees only the page really written.
 * The part under test, [p, p + c), is the second 2 MiB of a 1 GiB leaf,
 * or a whole 2 MiB (4 MiB) leaf.
 */
static void
split_harvest_at(unsigned l)
{
	uint64_t s = lsz(l), c = lsz(1), sz;
	ht_va_t v = large_leaf(l, HT_D), p = l == 2 ? v + c : v;
	ht_va_t w = p + 9 * PG;

	/* one page: reported with the inherited bit, at 4 KiB */
	rep_reset();
	cr_assert_eq(ht_harvest_ad(T.as, p + PG, PG, HT_D,
	    HT_AD_CLEAR | HT_AD_SPLIT, record, &T.rep), 1);
	REPORTS({ p + PG, PG, HT_D });
	cr_assert_eq(ad_of(p + PG, &sz), 0);
	cr_assert_eq(sz, PG);
	/* its neighbours were split with the bit, and keep it */
	cr_assert_eq(ad_of(p, &sz), HT_D);
	cr_assert_eq(sz, PG);
	/* outside the range a 1 GiB page left 2 MiB pages */
	cr_assert_eq(ad_of(v, &sz), HT_D);
	cr_assert_eq(sz, l == 2 ? c : PG);
	TYPE_KEPT(v);
	TYPE_KEPT(p);
	TYPE_KEPT(p + PG);
	AUDIT();

	/* the whole part: every other page reports the inherited bit */
	rep_reset();
	cr_assert_eq(ht_harvest_ad(T.as, p, c, HT_D,
	    HT_AD_CLEAR | HT_AD_SPLIT, record, &T.rep),
	    (long)(c / PG) - 1);
	all_small(p, p + c - 1, 0, __LINE__);
	/* the guest writes one page: only that page is seen */
	mmu_sets(w, HT_D);
	rep_reset();
	cr_assert_eq(ht_harvest_ad(T.as, p, c, HT_D, HT_AD_CLEAR,
	    record, &T.rep), 1);
	REPORTS({ w, PG, HT_D });
	cr_assert_eq(ht_harvest_ad(T.as, p + PG, PG, HT_D,
	    HT_AD_CLEAR, never, NULL), 0);
	/* without clearing: test only, nothing changes */
	mmu_sets(w, HT_D);
	cr_assert_eq(ht_harvest_ad(T.as, w, PG, HT_D, HT_AD_SPLIT,
	    NULL, NULL), 1);
	cr_assert_eq(ad_of(w, NULL), HT_D);
	TYPE_KEPT(w);
	TYPE_KEPT(p + c - PG);
	AUDIT();
	CHECK(ht_unmap(T.as, v, s, 0));
}

ParameterizedTest(ht_mode_t *mode, ad, split_harvest, .timeout = 120)
{
	per_level(*mode, 1, split_harvest_at);
}

/*
 * Frames the HT_AD_SPLIT of [va, va + len) must take: exactly `need`.
 * One fewer fails with ENOFRAME and changes nothing; exactly enough
 * succeeds and uses them all.
 */
static void
split_frames(ht_va_t va, uint64_t len, uint64_t need, ht_va_t wlo,
    ht_va_t wlast)
{
	uint64_t used;
	leaves_t before, after;
	long rc;

	(void) ht_as_purge(T.as);	/* no cached table may serve */
	used = ht_arena_frames_used(T.arena);
	if (need > 0) {
		before = leaves_of(wlo, wlast);
		ht_arena_set_limit(T.arena, used + need - 1);
		rc = ht_harvest_ad(T.as, va, len, AD,
		    HT_AD_CLEAR | HT_AD_SPLIT, never, NULL);
		cr_assert_eq(rc, -HT_ENOFRAME, "%s with %llu frames",
		    rc < 0 ? ht_err_name((int)rc) : "success",
		    (unsigned long long)(need - 1));
		cr_assert_eq(ht_arena_frames_used(T.arena), used);
		after = leaves_of(wlo, wlast);
		leaves_same(&before, &after);
		AUDIT();
	}
	ht_arena_set_limit(T.arena, used + need);
	CHECK(ht_harvest_ad(T.as, va, len, AD, HT_AD_CLEAR | HT_AD_SPLIT,
	    never, NULL));
	cr_assert_eq(ht_arena_frames_used(T.arena), used + need);
	ht_arena_set_limit(T.arena, 0);
	all_small(va, va + len - 1, 0, __LINE__);
	AUDIT();
}

MODES(split_reserve)

ParameterizedTest(ht_mode_t *mode, ad, split_reserve, .timeout = 120)
{
	unsigned top;
	uint64_t s, half;
	ht_va_t v;

	setup(*mode);
	top = top_level();
	s = lsz(top);
	half = s / 2;
	v = boundary(top);
	/*
	 * Three top-size leaves; the range starts a page after the middle
	 * of the first and ends at the middle of the third.
	 */
	CHECK(ht_map(T.as, v, 0, 3 * s, HT_W, HT_MAP_SIZE(ps_of(top))));
	if (top == 1) {
		/* one table per large leaf the range touches */
		split_frames(v + half + PG, 2 * s - PG, 3, v, v + 3 * s - 1);
	} else {
		/*
		 * 1 GiB leaves: the first makes 1 + 256 tables (its upper
		 * 256 2 MiB pages all go to 4 KiB), the second 1 + 512,
		 * the third 1 + 256.
		 */
		split_frames(v + half + PG, 2 * s - PG, 257 + 513 + 257, v,
		    v + 3 * s - 1);
	}
	/* split already: nothing more to take */
	split_frames(v + half + PG, 2 * s - PG, 0, v, v + 3 * s - 1);
	teardown();
}

MODES(errors)

/* Bad flags, and a large page that has no 4 KiB equivalent. */
ParameterizedTest(ht_mode_t *mode, ad, errors, .timeout = 60)
{
	uint64_t s1;
	ht_va_t v = GIB;
	leaves_t before, after;

	setup(*mode);
	s1 = lsz(1);
	CHECK(ht_map(T.as, v, GIB, s1, HT_W, HT_MAP_SIZE(ps_of(1))));
	mmu_sets(v, HT_D);
	cr_assert_eq(ht_harvest_ad(T.as, v, PG, HT_D, 0x4, never, NULL),
	    -HT_EINVAL);
	cr_assert_eq(ht_harvest_ad(T.as, v, PG, HT_D, ~0u, never, NULL),
	    -HT_EINVAL);
	cr_assert_eq(ht_unmap_ad(T.as, v, PG, 0x2, never, NULL), -HT_EINVAL);
	cr_assert_eq(ht_map_ad(T.as, v, 0, PG, HT_W, 0x80000, never, NULL),
	    -HT_EINVAL);
	cr_assert_eq(ht_harvest_ad(NULL, v, PG, HT_D, HT_AD_SPLIT, never,
	    NULL), -HT_EINVAL);
	cr_assert_eq(ht_harvest_ad(T.as, v + 1, PG, HT_D, HT_AD_SPLIT,
	    never, NULL), -HT_EALIGN);
	cr_assert_eq(ad_of(v, NULL), HT_D);
	if (T.g->pte_size == 4 && ht_ctx_pa_bits(T.ctx) > 32) {
		/* PSE-36: a 4 MiB page above 4 GiB cannot be split */
		CHECK(ht_map(T.as, v + s1, 4 * GIB, s1, HT_W, 0));
		before = leaves_of(v, v + 2 * s1 - 1);
		cr_assert_eq(ht_harvest_ad(T.as, v, 2 * s1, HT_D,
		    HT_AD_CLEAR | HT_AD_SPLIT, never, NULL), -HT_EPABITS);
		after = leaves_of(v, v + 2 * s1 - 1);
		leaves_same(&before, &after);
	}
	AUDIT();
	teardown();
}

/* The harvest's first name still compiles, and is the same function. */
Test(ad, old_name_is_an_alias)
{
	long (*f)(ht_as_t *, ht_va_t, uint64_t, unsigned, unsigned, ht_ad_fn,
	    void *) = ht_test_clear_ad;

	cr_assert(f == ht_harvest_ad);
}
