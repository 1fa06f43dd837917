/*
 * test_frames.c - the frames an operation reserves.
 *
 * For every mode, every large page size it has and every operation that
 * can create tables, with the edges of the range in many positions (in one
 * large page, in adjacent ones, aligned or not, across several, at the top
 * of the space, across a root entry), the number of tables the operation
 * creates is measured on a copy with unlimited frames (the table frames
 * present after the call that were not there before: freed tables are
 * never reused inside one call).  Then, on a fresh copy in a context of
 * its own (nothing to steal), the operation must fail with HT_ENOFRAME and
 * change nothing with one frame fewer than that, and succeed with exactly
 * that many free frames.  "Nothing" is: every leaf (walk), the tables and
 * leaves per level, the set of table frames, the arena's frames in use,
 * and the audit.  After a successful call no spare frame may stay cached
 * in the space: a purge finds exactly the tables the call freed.
 *
 * ht_harvest_ad never splits (it reports and clears whole large
 * leaves); its cases show that it creates nothing and succeeds with no
 * free frame even when the range lies inside a large page.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "htable.h"
#include "../lib/geom.h"

#define P	4096ull

TestSuite(frames, .timeout = 240);

/* ------------------------------------------------------------------ */
/* Environment and snapshots                                           */
/* ------------------------------------------------------------------ */

typedef struct env {
	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
	ht_as_t		*as;
	const ht_geometry_t *g;
} env_t;

static void
env_new(env_t *e, ht_mode_t mode)
{
	ht_config_t cfg;

	memset(e, 0, sizeof (*e));
	memset(&cfg, 0, sizeof (cfg));
	cr_assert_eq(ht_arena_create(0x100000, 64ull << 20, 0, &e->arena), 0);
	cfg.mode = mode;
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = e->arena;
	cfg.ept = mode_ept(ht_geometry(mode)) ? EPT_ENV : 0;
	cr_assert_eq(ht_ctx_create(&cfg, &e->ctx), 0, "%s", ht_errdetail());
	/* alone in its context and marked: nothing can ever be stolen */
	cr_assert_eq(ht_as_create(e->ctx, HT_AS_NOSTEAL, &e->as), 0);
	e->g = ht_ctx_geometry(e->ctx);
}

static void
env_free(env_t *e)
{
	ht_as_destroy(e->as);
	cr_assert_eq(ht_ctx_destroy(e->ctx), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_arena_frames_used(e->arena), 0);
	ht_arena_destroy(e->arena);
}

typedef struct snap {
	ht_leaf_t	*leaf;
	size_t		nleaf, cap;
	ht_pfn_t	*pfn;
	size_t		npfn, pcap;
	uint64_t	tables[HT_MAX_LEVELS];
	uint64_t	leaves[HT_MAX_LEVELS];
	uint64_t	used;
} snap_t;

static int
snap_leaf(void *arg, const ht_leaf_t *l)
{
	snap_t *s = arg;

	if (s->nleaf == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->leaf = realloc(s->leaf, s->cap * sizeof (*s->leaf));
		cr_assert_not_null(s->leaf);
	}
	s->leaf[s->nleaf++] = *l;
	return (0);
}

static void
snap_frame(void *arg, const ht_as_t *as, ht_pfn_t pfn, int level)
{
	snap_t *s = arg;

	(void) as;
	(void) level;
	if (s->npfn == s->pcap) {
		s->pcap = s->pcap ? 2 * s->pcap : 1024;
		s->pfn = realloc(s->pfn, s->pcap * sizeof (*s->pfn));
		cr_assert_not_null(s->pfn);
	}
	s->pfn[s->npfn++] = pfn;
}

static int
cmp_pfn(const void *a, const void *b)
{
	ht_pfn_t x = *(const ht_pfn_t *)a, y = *(const ht_pfn_t *)b;

	return (x < y ? -1 : x > y);
}

static void
snap_take(env_t *e, snap_t *s)
{
	ht_stats_t st;
	uint64_t n = 0;

	memset(s, 0, sizeof (*s));
	ht_as_stats(e->as, &st);
	memcpy(s->tables, st.tables, sizeof (s->tables));
	memcpy(s->leaves, st.leaves, sizeof (s->leaves));
	for (int l = 0; l < HT_MAX_LEVELS; l++)
		n += st.leaves[l];
	/* (an empty space has nothing to walk) */
	if (n != 0)
		cr_assert_eq(ht_walk(e->as, 0, va_last(e->g), snap_leaf, s),
		    0);
	cr_assert_eq(s->nleaf, n, "walk %zu leaves, counters %llu", s->nleaf,
	    (unsigned long long)n);
	(void) ht_ctx_dump_frames(e->ctx, snap_frame, s);
	qsort(s->pfn, s->npfn, sizeof (*s->pfn), cmp_pfn);
	s->used = ht_arena_frames_used(e->arena);
}

static void
snap_free(snap_t *s)
{
	free(s->leaf);
	free(s->pfn);
}

static void
leaves_eq(const snap_t *a, const snap_t *b, const char *what)
{
	cr_assert_eq(a->nleaf, b->nleaf, "%s: %zu leaves, %zu leaves", what,
	    a->nleaf, b->nleaf);
	for (size_t i = 0; i < a->nleaf; i++) {
		const ht_leaf_t *x = &a->leaf[i], *y = &b->leaf[i];

		cr_assert(x->va == y->va && x->pa == y->pa &&
		    x->size == y->size && x->attr == y->attr &&
		    x->pte == y->pte, "%s: leaf %zu: va 0x%llx pte 0x%llx, "
		    "va 0x%llx pte 0x%llx", what, i, (unsigned long long)x->va,
		    (unsigned long long)x->pte, (unsigned long long)y->va,
		    (unsigned long long)y->pte);
	}
}

static void
snap_eq(const snap_t *a, const snap_t *b, const char *what)
{
	leaves_eq(a, b, what);
	for (int l = 0; l < HT_MAX_LEVELS; l++) {
		cr_assert_eq(a->tables[l], b->tables[l], "%s: level-%d tables "
		    "%llu -> %llu", what, l, (unsigned long long)a->tables[l],
		    (unsigned long long)b->tables[l]);
		cr_assert_eq(a->leaves[l], b->leaves[l], "%s: level-%d leaves",
		    what, l);
	}
	cr_assert_eq(a->npfn, b->npfn, "%s: table frames", what);
	cr_assert_eq(memcmp(a->pfn, b->pfn, a->npfn * sizeof (*a->pfn)), 0,
	    "%s: table frames", what);
	cr_assert_eq(a->used, b->used, "%s: arena frames %llu -> %llu", what,
	    (unsigned long long)a->used, (unsigned long long)b->used);
}

/* Frames of `a` that `b` lacks (both sorted). */
static uint64_t
pfn_minus(const snap_t *a, const snap_t *b)
{
	uint64_t n = 0;
	size_t j = 0;

	for (size_t i = 0; i < a->npfn; i++) {
		while (j < b->npfn && b->pfn[j] < a->pfn[i])
			j++;
		if (j == b->npfn || b->pfn[j] != a->pfn[i])
			n++;
	}
	return (n);
}

/* ------------------------------------------------------------------ */
/* Cases                                                               */
/* ------------------------------------------------------------------ */

/* What the space holds before the operation. */
enum setup {
	SET_EMPTY,	/* nothing */
	SET_LARGE,	/* [X, X + 4S) as four large pages, A and D set */
	SET_LOCKED,	/* the same, locked */
	SET_SMALL	/* [X, X + 2S) as pages one level down */
};

enum op {
	OP_MAP,		/* map, pa as aligned as va: the largest pages */
	OP_MAP_4K,	/* map, pa off by 4 KiB: 4 KiB pages only */
	OP_MAP_SUB,	/* map, pa off by one sub page: sub pages at most */
	OP_UNMAP,
	OP_UNMAP_UNLOCK,
	OP_PROTECT,
	OP_LOCK,
	OP_UNLOCK,
	OP_AD		/* ht_harvest_ad, clearing A and D */
};

/*
 * An offset from X: s large pages + h half large pages + u sub pages (one
 * level down) + p 4 KiB pages.
 */
typedef struct off {
	int	s, h, u, p;
} ofs_t;

typedef struct range {
	ofs_t	lo, hi;
	const char *name;
} range_t;

/* Ranges over the four large pages at [X, X + 4S). */
static const range_t large_ranges[] = {
	{ { 1, 0, 0, 1 }, { 1, 0, 0, 3 }, "one large page, 4 KiB apart" },
	{ { 1, 0, 1, 0 }, { 1, 0, 1, 2 }, "one large page, sub-aligned va" },
	{ { 1, 0, 0, 1 }, { 2, 0, 0, -1 }, "one large page, both ends" },
	{ { 1, 0, 1, 1 }, { 1, 0, 2, 2 }, "one large page, sub pages apart" },
	{ { 1, 1, 0, 1 }, { 2, 1, 0, 1 }, "adjacent large pages" },
	{ { 1, 1, 0, 0 }, { 2, 1, 0, 0 }, "adjacent, sub-aligned" },
	{ { 1, 0, 0, 0 }, { 1, 1, 0, 1 }, "aligned va, unaligned end" },
	{ { 1, 0, 0, 1 }, { 2, 0, 0, 0 }, "unaligned va, aligned end" },
	{ { 1, 0, 0, 0 }, { 2, 0, 0, 0 }, "one whole large page" },
	{ { 0, 0, 0, 1 }, { 4, 0, 0, -1 }, "across all four" },
	{ { 0, 0, 1, 0 }, { 3, 1, 0, 0 }, "across three, sub-aligned" },
	{ { 0, 0, 0, 0 }, { 4, 0, 0, 0 }, "all four, aligned" },
	{ { 0, 0, 0, 0 }, { 0, 0, 0, 0 }, NULL }
};

/* Ranges over the small pages at [X, X + 2S), or into empty space. */
static const range_t small_ranges[] = {
	{ { 0, 0, 0, 0 }, { 1, 0, 0, 0 }, "one large page over small ones" },
	{ { 0, 0, 0, 0 }, { 2, 0, 0, 0 }, "two over small ones" },
	{ { 1, 0, 0, 0 }, { 3, 0, 0, 0 }, "half over small ones, half empty" },
	{ { 0, 0, 0, 1 }, { 1, 0, 0, 1 }, "unaligned" },
	{ { 1, 1, 0, 1 }, { 3, 0, 0, -1 }, "from the middle into empty" },
	{ { 2, 0, 0, -2 }, { 2, 0, 0, 2 }, "across X + 2S" },
	{ { 0, 0, 0, 1 }, { 2, 0, 0, 1 }, "two large pages' worth, off" },
	{ { 0, 0, 0, 0 }, { 0, 0, 0, 0 }, NULL }
};

typedef struct ccase {
	enum setup	setup;
	enum op		op;
	const range_t	*ranges;
	int		creates;	/* some of its ranges must create tables */
} ccase_t;

static uint64_t
lsize(const ht_geometry_t *g, int l)
{
	return (1ull << g->level_shift[l]);
}

static unsigned
level_ps(int level_shift)
{
	switch (level_shift) {
	case 12: return (HT_PS_4K);
	case 21: return (HT_PS_2M);
	case 22: return (HT_PS_4M);
	case 30: return (HT_PS_1G);
	default: return (0);
	}
}

static uint64_t
offset(const ofs_t *o, uint64_t S, uint64_t sub)
{
	return ((uint64_t)(int64_t)o->s * S + (uint64_t)(int64_t)o->h *
	    (S / 2) + (uint64_t)(int64_t)o->u * sub +
	    (uint64_t)(int64_t)o->p * P);
}

/* Where the case runs: the large page level, X, and the op's range. */
typedef struct where {
	int		L;
	uint64_t	S, sub, X;
	uint64_t	va, len;
	const char	*range, *base;
} where_t;

/* Set an entry's A and D bits the way an MMU would (EPT: bits 8, 9). */
static void
set_ad(env_t *e, uint64_t va)
{
	ht_cpu_t cpu = { 0 };
	ht_access_t acc;
	void *p;

	cr_assert_eq(ht_access(e->as, &cpu, va, HT_ACC_READ, 0, &acc), 0);
	cr_assert_eq(acc.fault, HT_FAULT_NONE);
	p = ht_arena_ptr(e->arena, acc.step[acc.nsteps - 1].addr);
	cr_assert_not_null(p);
	if (e->g->pte_size == 8)
		*(uint64_t *)p |= mode_ept(e->g) ? 0x300 : 0x60;
	else
		*(uint32_t *)p |= 0x60;
}

static void
build(env_t *e, const ccase_t *c, const where_t *w)
{
	const ht_geometry_t *g = e->g;
	unsigned ps = level_ps((int)g->level_shift[w->L]);
	unsigned sps = level_ps((int)g->level_shift[w->L - 1]);
	int rc = 0;

	switch (c->setup) {
	case SET_EMPTY:
		break;
	case SET_LARGE:
	case SET_LOCKED:
		rc = ht_map(e->as, w->X, 4 * w->S, 4 * w->S, HT_W | HT_X,
		    HT_MAP_SIZE(ps) | (c->setup == SET_LOCKED ?
		    HT_MAP_LOCK : 0));
		for (int i = 0; i < 4 && rc == 0; i++)
			set_ad(e, w->X + (uint64_t)i * w->S);
		break;
	case SET_SMALL:
		rc = ht_map(e->as, w->X, 4 * w->S, 2 * w->S, HT_W,
		    HT_MAP_SIZE(sps));
		break;
	}
	cr_assert_eq(rc, 0, "build: %s", ht_errdetail());
	/* The space's cached tables would be free frames too: none. */
	(void) ht_as_purge(e->as);
}

static long
do_op(env_t *e, const ccase_t *c, const where_t *w)
{
	/* The pa has va's offset in the large page, plus the shift. */
	uint64_t pa = 64 * w->S + (w->va & (w->S - 1));

	switch (c->op) {
	case OP_MAP_4K:
		pa += P;
		/* FALLTHROUGH */
	case OP_MAP:
		return (ht_map(e->as, w->va, pa, w->len, HT_W, 0));
	case OP_MAP_SUB:
		return (ht_map(e->as, w->va, pa + (w->L > 1 ? w->sub : P),
		    w->len, HT_U, 0));
	case OP_UNMAP:
		return (ht_unmap(e->as, w->va, w->len, 0));
	case OP_UNMAP_UNLOCK:
		return (ht_unmap(e->as, w->va, w->len, HT_UNMAP_UNLOCK));
	case OP_PROTECT:
		return (ht_protect(e->as, w->va, w->len, HT_U));
	case OP_LOCK:
		return (ht_lock(e->as, w->va, w->len));
	case OP_UNLOCK:
		return (ht_unlock(e->as, w->va, w->len));
	case OP_AD:
		return (ht_harvest_ad(e->as, w->va, w->len, HT_A | HT_D, 1,
		    NULL, NULL));
	}
	return (-1);
}

/* One case: measure, then fail at created - 1 and succeed at created. */
static uint64_t
check_case(ht_mode_t mode, const ccase_t *c, const where_t *w)
{
	env_t e;
	snap_t before, after, fail, done;
	uint64_t created, freed, used;
	long rc, purged;
	const char *what = w->range;

	/* 1. On a copy with unlimited frames: what the call creates. */
	env_new(&e, mode);
	build(&e, c, w);
	snap_take(&e, &before);
	rc = do_op(&e, c, w);
	cr_assert_geq(rc, 0, "%s, %s, L%d: unlimited: %s (%s)", what, w->base,
	    w->L, ht_err_name((int)rc), ht_errdetail());
	cr_assert_eq(ht_audit(e.as), 0, "%s", ht_errdetail());
	snap_take(&e, &after);
	created = pfn_minus(&after, &before);
	freed = pfn_minus(&before, &after);
	{
		uint64_t tb = 0, ta = 0;

		for (int l = 0; l < HT_MAX_LEVELS; l++) {
			tb += before.tables[l];
			ta += after.tables[l];
		}
		cr_assert_eq(ta - tb, created - freed, "%s: stats", what);
	}
	/* Spare frames do not stay cached: only the freed tables are. */
	purged = ht_as_purge(e.as);
	cr_assert_eq((uint64_t)purged, freed, "%s, %s, L%d: %ld cached "
	    "tables after the call, it freed %llu", what, w->base, w->L,
	    purged, (unsigned long long)freed);
	if (c->op == OP_AD)
		cr_assert_eq(created, 0, "%s: test-and-clear split", what);
	snap_free(&before);
	env_free(&e);

	/* 2. One frame fewer: HT_ENOFRAME and nothing changed. */
	env_new(&e, mode);
	build(&e, c, w);
	used = ht_arena_frames_used(e.arena);
	if (created > 0) {
		ht_arena_set_limit(e.arena, used + created - 1);
		snap_take(&e, &before);
		rc = do_op(&e, c, w);
		cr_assert_eq(rc, -HT_ENOFRAME, "%s, %s, L%d: %llu tables, "
		    "%llu free frames: %s", what, w->base, w->L,
		    (unsigned long long)created,
		    (unsigned long long)(created - 1), rc < 0 ?
		    ht_err_name((int)rc) : "success");
		cr_assert_neq(ht_errdetail()[0], '\0');
		cr_assert_eq(ht_audit(e.as), 0, "%s", ht_errdetail());
		snap_take(&e, &fail);
		snap_eq(&before, &fail, what);
		snap_free(&before);
		snap_free(&fail);
	}

	/* 3. Exactly that many: success, the same outcome. */
	ht_arena_set_limit(e.arena, used + created);
	rc = do_op(&e, c, w);
	cr_assert_geq(rc, 0, "%s, %s, L%d: %llu tables, as many free frames: "
	    "%s (%s)", what, w->base, w->L, (unsigned long long)created,
	    ht_err_name((int)rc), ht_errdetail());
	cr_assert_eq(ht_audit(e.as), 0, "%s", ht_errdetail());
	snap_take(&e, &done);
	leaves_eq(&after, &done, what);
	cr_assert_eq(ht_arena_frames_used(e.arena), after.used);
	cr_assert_eq((uint64_t)ht_as_purge(e.as), freed);
	snap_free(&after);
	snap_free(&done);
	env_free(&e);
	return (created);
}

/* Every large page level, base and range of a case in one mode. */
static void
check_mode(ht_mode_t mode, const ccase_t *c)
{
	const ht_geometry_t *g = ht_geometry(mode);
	uint64_t top = g->hole_start == 0 ? va_last(g) + 1 : 0;
	/* the VA one root entry maps */
	uint64_t B = lsize(g, (int)g->levels - 1);
	uint64_t total = 0;

	for (int L = 1; L < (int)g->levels; L++) {
		uint64_t S = lsize(g, L);

		/* the large page sizes the mode has (all are in force) */
		if (!(g->pagesizes & level_ps((int)g->level_shift[L])))
			continue;
		for (int b = 0; b < 3; b++) {
			where_t w;

			w.L = L;
			w.S = S;
			w.sub = lsize(g, L - 1);
			w.X = b == 0 ? 16 * S : b == 1 ? 2 * B - 2 * S :
			    top - 4 * S;
			w.base = b == 0 ? "low" : b == 1 ? "across a root entry" :
			    "top of the space";
			for (const range_t *r = c->ranges; r->name != NULL;
			    r++) {
				uint64_t lo = offset(&r->lo, S, w.sub);
				uint64_t hi = offset(&r->hi, S, w.sub);

				if (hi <= lo || hi > 4 * S)
					continue;
				/*
				 * 4 KiB pages over gigabytes: a million
				 * entries, three times, and nothing new
				 * (OP_MAP_SUB has the same edges).
				 */
				if (c->op == OP_MAP_4K && hi - lo > (64u << 20))
					continue;
				w.va = w.X + lo;
				w.len = hi - lo;
				w.range = r->name;
				total += check_case(mode, c, &w);
			}
		}
	}
	/* not vacuous: the operations that split or build create tables */
	if (c->creates)
		cr_assert_gt(total, 0);
}

#define FRAMES_TEST(name, setup, op, ranges, creates)			\
	static const ccase_t name##_case = { setup, op, ranges, creates }; \
	Test(frames, name##_32bit)					\
	{ check_mode(HT_MODE_32BIT, &name##_case); }			\
	Test(frames, name##_pae)					\
	{ check_mode(HT_MODE_PAE, &name##_case); }			\
	Test(frames, name##_4level)					\
	{ check_mode(HT_MODE_4LEVEL, &name##_case); }			\
	Test(frames, name##_5level)					\
	{ check_mode(HT_MODE_5LEVEL, &name##_case); }			\
	Test(frames, name##_npt4)					\
	{ check_mode(HT_MODE_NPT4, &name##_case); }			\
	Test(frames, name##_npt5)					\
	{ check_mode(HT_MODE_NPT5, &name##_case); }			\
	Test(frames, name##_ept4)					\
	{ check_mode(HT_MODE_EPT4, &name##_case); }			\
	Test(frames, name##_ept5)					\
	{ check_mode(HT_MODE_EPT5, &name##_case); }

/* a smaller page inside large ones (splits), and large over large */
FRAMES_TEST(map_inside_large, SET_LARGE, OP_MAP, large_ranges, 1)
FRAMES_TEST(map_4k_inside_large, SET_LARGE, OP_MAP_4K, large_ranges, 1)
FRAMES_TEST(map_sub_inside_large, SET_LARGE, OP_MAP_SUB, large_ranges, 1)
/* large pages over small ones (frees tables), partly into empty space */
FRAMES_TEST(map_large_over_small, SET_SMALL, OP_MAP, small_ranges, 1)
FRAMES_TEST(map_4k_over_small, SET_SMALL, OP_MAP_4K, small_ranges, 1)
/* empty space: the missing tables of the path */
FRAMES_TEST(map_into_empty, SET_EMPTY, OP_MAP, small_ranges, 1)
FRAMES_TEST(map_4k_into_empty, SET_EMPTY, OP_MAP_4K, small_ranges, 1)
FRAMES_TEST(unmap, SET_LARGE, OP_UNMAP, large_ranges, 1)
FRAMES_TEST(unmap_small, SET_SMALL, OP_UNMAP, small_ranges, 0)
FRAMES_TEST(unmap_unlock, SET_LOCKED, OP_UNMAP_UNLOCK, large_ranges, 1)
FRAMES_TEST(protect, SET_LARGE, OP_PROTECT, large_ranges, 1)
FRAMES_TEST(lock, SET_LARGE, OP_LOCK, large_ranges, 1)
FRAMES_TEST(unlock, SET_LOCKED, OP_UNLOCK, large_ranges, 1)
/* never splits: creates nothing, needs no frame */
FRAMES_TEST(test_clear_ad, SET_LARGE, OP_AD, large_ranges, 0)

/* ------------------------------------------------------------------ */
/* The counts themselves, by hand, for the cases the issue names        */
/* ------------------------------------------------------------------ */

static uint64_t
one(ht_mode_t mode, enum setup setup, enum op op, int L, uint64_t lo,
    uint64_t len)
{
	const ht_geometry_t *g = ht_geometry(mode);
	ccase_t c = { setup, op, NULL, 0 };
	where_t w;

	w.L = L;
	w.S = lsize(g, L);
	w.sub = lsize(g, L - 1);
	w.X = 16 * w.S;
	w.va = w.X + lo;
	w.len = len;
	w.range = "by hand";
	w.base = "low";
	return (check_case(mode, &c, &w));
}

Test(frames, counts_by_hand)
{
	uint64_t M2 = 2ull << 20, G1 = 1ull << 30;

	/* one 4 KiB page inside a 2 MiB page: exactly one new table */
	cr_assert_eq(one(HT_MODE_4LEVEL, SET_LARGE, OP_MAP_4K, 1, M2 + P, P),
	    1);
	cr_assert_eq(one(HT_MODE_4LEVEL, SET_LARGE, OP_UNMAP, 1, M2 + P, P),
	    1);
	cr_assert_eq(one(HT_MODE_4LEVEL, SET_LARGE, OP_PROTECT, 1, M2 + P, P),
	    1);
	cr_assert_eq(one(HT_MODE_PAE, SET_LARGE, OP_LOCK, 1, M2 + P, P), 1);
	cr_assert_eq(one(HT_MODE_32BIT, SET_LOCKED, OP_UNLOCK, 1,
	    (4ull << 20) + P, P), 1);
	/* inside a 1 GiB page: two levels down */
	cr_assert_eq(one(HT_MODE_5LEVEL, SET_LARGE, OP_UNMAP, 2, G1 + P, P),
	    2);
	/* both edges in one 1 GiB page, in different 2 MiB pages */
	cr_assert_eq(one(HT_MODE_4LEVEL, SET_LARGE, OP_UNMAP, 2, G1 + P,
	    M2 + P), 3);
	/* edges in two adjacent 2 MiB pages */
	cr_assert_eq(one(HT_MODE_4LEVEL, SET_LARGE, OP_UNMAP, 1, M2 + P, M2),
	    2);
	/* 4 KiB pages over a 2 MiB page: its table */
	cr_assert_eq(one(HT_MODE_4LEVEL, SET_LARGE, OP_MAP_4K, 1, M2, M2), 1);
	/* a 2 MiB page over 4 KiB ones frees their table, creates none */
	cr_assert_eq(one(HT_MODE_4LEVEL, SET_SMALL, OP_MAP, 1, 0, M2), 0);
	/* test-and-clear inside a large page: no split */
	cr_assert_eq(one(HT_MODE_4LEVEL, SET_LARGE, OP_AD, 2, G1 + P, P), 0);
	/*
	 * 4 KiB pages into empty space across a 1 GiB boundary (the planner
	 * counts below an absent table without looking): three level-0
	 * tables, two level-1 tables, one level-2 table.
	 */
	cr_assert_eq(one(HT_MODE_4LEVEL, SET_EMPTY, OP_MAP_4K, 2, G1 - P,
	    M2 + 2 * P), 6);
	/*
	 * From a present level-1 table into an absent one: the split of
	 * the last 2 MiB page, then the absent level-1 table and its two
	 * level-0 tables.
	 */
	cr_assert_eq(one(HT_MODE_4LEVEL, SET_SMALL, OP_MAP_4K, 2, 2 * G1 - P,
	    M2 + 2 * P), 4);
	/*
	 * 5-level, two pages across a 512 GiB boundary: two tables at each
	 * of levels 0, 1 and 2, and the level-3 table.
	 */
	cr_assert_eq(one(HT_MODE_5LEVEL, SET_EMPTY, OP_MAP_4K, 2,
	    (512 - 16) * G1 - P, 2 * P), 7);
}

/* ------------------------------------------------------------------ */
/* NOREPLACE over a locked page                                         */
/* ------------------------------------------------------------------ */

static void
noreplace_locked(ht_mode_t mode)
{
	env_t e;
	snap_t b, a;
	uint64_t va = 0x40000000;

	env_new(&e, mode);
	cr_assert_eq(ht_map(e.as, va, 0x200000, 4 * P, HT_W, HT_MAP_LOCK), 0);
	cr_assert_eq(ht_map(e.as, va + 8 * P, 0x300000, P, HT_W, 0), 0);
	snap_take(&e, &b);
	/* all locked, partly locked, locked and unlocked: never replaced */
	cr_assert_eq(ht_map(e.as, va, 0x400000, P, 0, HT_MAP_NOREPLACE),
	    -HT_EEXIST, "%s", ht_errdetail());
	cr_assert_eq(ht_map(e.as, va - P, 0x400000, 2 * P, 0,
	    HT_MAP_NOREPLACE), -HT_EEXIST, "%s", ht_errdetail());
	cr_assert_eq(ht_map(e.as, va, 0x400000, 16 * P, 0,
	    HT_MAP_NOREPLACE | HT_MAP_LOCK), -HT_EEXIST, "%s",
	    ht_errdetail());
	cr_assert_eq(ht_audit(e.as), 0, "%s", ht_errdetail());
	snap_take(&e, &a);
	snap_eq(&b, &a, "NOREPLACE over locked");
	snap_free(&a);
	snap_free(&b);
	/* replacing without NOREPLACE is still refused for the lock */
	cr_assert_eq(ht_map(e.as, va, 0x400000, P, 0, 0), -HT_ELOCKED);
	env_free(&e);
}

Test(frames, noreplace_over_locked_is_eexist)
{
	for (ht_mode_t m = HT_MODE_32BIT; m <= LAST_MODE; m++)
		noreplace_locked(m);
}

/* 32-bit: a 4 MiB page above 4 GiB cannot be split at any frame count. */
Test(frames, pse36_split_is_epabits)
{
	env_t e;
	snap_t b, a;
	uint64_t va = 0x40000000, S = 4ull << 20;

	env_new(&e, HT_MODE_32BIT);
	cr_assert_eq(ht_map(e.as, va, 0x100000000ull, S, HT_W, 0), 0);
	snap_take(&e, &b);
	cr_assert_eq(ht_unmap(e.as, va + P, P, 0), -HT_EPABITS);
	cr_assert_eq(ht_protect(e.as, va, P, 0), -HT_EPABITS);
	cr_assert_eq(ht_lock(e.as, va + S - P, P), -HT_EPABITS);
	cr_assert_eq(ht_map(e.as, va + P, 0x1000, P, 0, 0), -HT_EPABITS);
	snap_take(&e, &a);
	snap_eq(&b, &a, "PSE-36");
	snap_free(&a);
	snap_free(&b);
	/* the whole page is fine: nothing to split */
	cr_assert_eq(ht_protect(e.as, va, S, HT_X), 0);
	cr_assert_eq(ht_unmap(e.as, va, S, 0), 0);
	env_free(&e);
}
