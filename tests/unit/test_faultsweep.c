/*
 * test_faultsweep.c - fault injection over a whole random workload: for
 * every k that the workload reaches, replay it from scratch with the k-th
 * frame allocation failing, in every paging mode.
 *
 * The workload (fixed by the seed, never by what happened) runs on three
 * address spaces of one context: it creates them, maps runs of mixed page
 * sizes (1 GiB, 2/4 MiB, 4 KiB) with and without HT_MAP_LOCK and
 * HT_MAP_NOREPLACE, maps 4 KiB runs over large pages, unmaps and protects
 * pieces of large pages (splits), locks and unlocks ranges, sets A/D the
 * way an MMU does and harvests them, purges and reaps, and destroys and
 * recreates a space.  Each space has a reference model (tests/lib/refmodel)
 * that says which result codes a call may return and what is mapped after
 * it.
 *
 * The provider is the unit fixture's wrapper of the arena (fixture.c):
 * with fail_after = k - 1 and fail_count = 1 exactly the k-th allocation
 * fails.  K, the number of allocations of the run without failures, is
 * measured first; then for k = 1 .. K:
 *   - the call during which the k-th allocation failed may return
 *     -HT_ENOFRAME (the failure surfaced) or succeed (the library stole a
 *     table from another space); nothing else;
 *   - either way every space passes ht_audit() and the frames add up: the
 *     provider's frames in use equal the tables of every space
 *     (ht_ctx_dump_frames) plus the free tables cached in the spaces;
 *   - after -HT_ENOFRAME nothing changed: every space has the same leaves
 *     (a full ht_walk, entries compared bit for bit), the same tables and
 *     leaves per level (ht_as_stats), the same cached tables, and the
 *     provider the same frames in use;
 *   - after success the calling space matches its model, and any other
 *     space only lost unlocked 4 KiB leaves (whole level-0 tables stolen),
 *     each with A set covered by a TLB invalidation of that space;
 *   - the workload then runs to its end, every later call is held to the
 *     model, and at the end every space is audited and walked against its
 *     model again (a failure must not break the space).
 * The run without failure is checked that way after every call.
 *
 * Two variants per mode: spaces that may be stolen from, where most
 * failures are absorbed by stealing, and HT_AS_NOSTEAL spaces, where each
 * failure reaches the caller (nested paging and EPT: one of each).
 * HT_SEED=<n> changes the workload, HT_SWEEP_OPS=<n> its length (500
 * calls); HT_SWEEP_VERBOSE=1 prints what each sweep saw.
 */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "geom.h"
#include "refmodel.h"
#include "htable_int.h"

#define PG		4096ull
#define MIB		(1024ull * 1024)
#define GIB		(1024ull * MIB)
#define PERM		(HT_W | HT_U | HT_X)
#define ATTRS		(HT_W | HT_U | HT_X | HT_G | HT_PWT | HT_PCD | HT_PAT)

#define NSPACE		3
#define DEFAULT_OPS	500
#define NHOT		4
#define DEFAULT_SEED	0x5eedf00dull

/* x86 Accessed and Dirty bits, as an MMU sets them in a leaf */
#define X_A		0x20u
#define X_D		0x40u
/* EPT's (the fixture's EPT contexts have HT_EPT_AD) */
#define RAW_EPT_A	0x100u
#define RAW_EPT_D	0x200u

enum {
	OP_MAP, OP_UNMAP, OP_PROTECT, OP_LOCK, OP_UNLOCK, OP_TOUCH, OP_HARVEST,
	OP_PURGE, OP_REAP, OP_RECREATE, NOPKINDS
};

static const char *const kind_name[NOPKINDS] = {
	"map", "unmap", "protect", "lock", "unlock", "touch", "harvest",
	"purge", "reap", "recreate"
};

/* One call of the workload, drawn before any replay. */
typedef struct wop {
	int		kind;
	int		sp;		/* which space */
	uint64_t	va, len, pa;
	unsigned	attr, flags;
} wop_t;

/* A space's state as a failed call must leave it. */
typedef struct snap {
	ht_leaf_t	*l;
	size_t		n, cap;
	uint64_t	tables[HT_MAX_LEVELS], leaves[HT_MAX_LEVELS];
	unsigned	cached;
} snap_t;

typedef struct sweep {
	ht_mode_t	mode;
	const char	*mname;
	unsigned	as_flags;
	uint64_t	seed;
	uint64_t	rng;
	const ht_geometry_t *g;
	/*
	 * HT_X when X is always effective, HT_U when U is (nested paging);
	 * none in EPT, where X and U (user-mode execute) are rights
	 */
	unsigned	xkeep;
	uint64_t	va_last;
	uint64_t	lpg, big;	/* smallest and largest large page */
	uint64_t	win, wlen;	/* the window all calls fall in */
	uint64_t	hot[NHOT];
	uint64_t	pa_lim;
	int		nops;
	wop_t		*ops;
	uint64_t	*ref_allocs;	/* allocations of each call, k = 0 */

	/* one replay */
	long		k;		/* failing allocation, 0 = none */
	int		opno;
	int		fired;
	ht_as_t		*as[NSPACE];
	refmodel_t	rm[NSPACE];
	snap_t		pre[NSPACE], post;

	/* what the sweep saw */
	long		nfail;		/* failures that reached the caller */
	long		nrecovered;	/* absorbed (stealing) */
	long		nstolen;	/* replays in which tables were stolen */
	long		nrobbed;	/* of them, live tables (leaves lost) */
	long		spare_calls;	/* calls that took more frames than
					   they added tables (k = 0) */
	long		spare_max;	/* the most one call took too many */
	char		spare_what[160];
} sweep_t;

static void sfail(sweep_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void
sfail(sweep_t *s, const char *fmt, ...)
{
	char msg[1024];
	const wop_t *o = &s->ops[s->opno < s->nops ? s->opno : s->nops - 1];
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(msg, sizeof (msg), fmt, ap);
	va_end(ap);
	cr_assert_fail("faultsweep seed=0x%" PRIx64 " mode=%s%s k=%ld op #%d "
	    "(%s space %d va 0x%" PRIx64 " len 0x%" PRIx64 " pa 0x%" PRIx64
	    " attr 0x%x flags 0x%x): %s", s->seed, s->mname,
	    s->as_flags ? " nosteal" : "", s->k, s->opno, kind_name[o->kind],
	    o->sp, o->va, o->len, o->pa, o->attr, o->flags, msg);
	abort();	/* not reached */
}

static uint64_t
rnd(sweep_t *s, uint64_t n)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (n == 0 ? z : z % n);
}

/* ------------------------------------------------------------------ */
/* The workload                                                        */
/* ------------------------------------------------------------------ */

static void
gen_range(sweep_t *s, uint64_t *r_va, uint64_t *r_len)
{
	unsigned k = (unsigned)rnd(s, 100);
	uint64_t va, len, sz;

	if (k < 55) {
		/* a few pages near a large-page line: splits and merges */
		va = s->hot[rnd(s, NHOT)] + rnd(s, 32) * PG - 16 * PG;
		len = (1 + (rnd(s, 10) < 8 ? rnd(s, 8) : rnd(s, 600))) * PG;
	} else {
		/* whole large pages, sometimes a page off either end */
		sz = k < 88 ? s->lpg : s->big;
		va = s->win + rnd(s, s->wlen / sz) * sz;
		len = (1 + rnd(s, 2)) * sz;
		if (rnd(s, 100) < 15)
			va += PG;
		if (rnd(s, 100) < 15)
			len -= PG;
	}
	if (len > s->win + s->wlen - va)
		len = s->win + s->wlen - va;
	*r_va = va;
	*r_len = len;
}

static void
gen_ops(sweep_t *s)
{
	static const unsigned weight[NOPKINDS] = {
		[OP_MAP] = 34, [OP_UNMAP] = 18, [OP_PROTECT] = 14,
		[OP_LOCK] = 7, [OP_UNLOCK] = 7, [OP_TOUCH] = 7,
		[OP_HARVEST] = 5, [OP_PURGE] = 3, [OP_REAP] = 2,
		[OP_RECREATE] = 1,
	};
	unsigned total = 0;

	for (int i = 0; i < NOPKINDS; i++)
		total += weight[i];
	for (int i = 0; i < s->nops; i++) {
		wop_t *o = &s->ops[i];
		unsigned k = (unsigned)rnd(s, total);

		memset(o, 0, sizeof (*o));
		while (k >= weight[o->kind])
			k -= weight[o->kind++];
		o->sp = (int)rnd(s, NSPACE);
		gen_range(s, &o->va, &o->len);
		/*
		 * The same offset as va in the largest page (so the largest
		 * pages fit), in the smallest large page, or none: then only
		 * 4 KiB pages fit, and the run is kept short.
		 */
		unsigned pk = (unsigned)rnd(s, 100);
		uint64_t al = pk < 70 ? s->big : pk < 90 ? s->lpg : PG;
		o->pa = rnd(s, s->pa_lim / s->big) * s->big +
		    rnd(s, s->big / al) * al + (o->va & (al - 1));
		if (al == PG && o->len > 64 * PG)
			o->len = 64 * PG;
		if (o->pa > s->pa_lim - o->len)
			o->pa = o->va & (al - 1);
		o->attr = (unsigned)rnd(s, 8) & PERM;
		if (rnd(s, 100) < 15)
			o->attr |= HT_G;
		if (o->kind == OP_MAP)
			o->flags = (rnd(s, 100) < 12 ? HT_MAP_LOCK : 0) |
			    (rnd(s, 100) < 6 ? HT_MAP_NOREPLACE : 0);
		else if (o->kind == OP_UNMAP)
			o->flags = rnd(s, 100) < 35 ? HT_UNMAP_UNLOCK : 0;
	}
}

static void
setup_sweep(sweep_t *s, ht_mode_t mode, unsigned as_flags)
{
	const char *e = getenv("HT_SEED");
	const char *n = getenv("HT_SWEEP_OPS");

	memset(s, 0, sizeof (*s));
	s->nops = n != NULL && atoi(n) > 0 ? atoi(n) : DEFAULT_OPS;
	s->ops = calloc((size_t)s->nops, sizeof (*s->ops));
	s->ref_allocs = calloc((size_t)s->nops, sizeof (*s->ref_allocs));
	cr_assert(s->ops != NULL && s->ref_allocs != NULL);
	s->mode = mode;
	s->mname = ht_mode_name(mode);
	s->as_flags = as_flags;
	s->g = ht_geometry(mode);
	s->seed = e != NULL && *e != '\0' ? strtoull(e, NULL, 0) :
	    DEFAULT_SEED;
	s->rng = s->seed ^ ((uint64_t)mode << 56) ^ ((uint64_t)as_flags << 48);
	s->xkeep = mode_ept(s->g) ? 0 : (s->g->has_nx ? 0 : HT_X) |
	    (mode_npt(s->g) ? HT_U : 0);
	s->va_last = va_last(s->g);
	/*
	 * The window straddles a line of the root table (1 GiB in PAE, the
	 * 4 MiB PDE line in 32-bit paging, 512 GiB / 256 TiB above), so that
	 * calls need tables at every level on both sides of it.
	 */
	switch (mode) {
	case HT_MODE_32BIT:
		s->lpg = s->big = 4 * MIB;
		s->win = 0x40000000ull - 16 * MIB;
		s->wlen = 32 * MIB;
		s->pa_lim = 1ull << 32;	/* 4 KiB leaves name only these */
		break;
	case HT_MODE_PAE:
		s->lpg = s->big = 2 * MIB;
		s->win = 0x40000000ull - 8 * MIB;
		s->wlen = 16 * MIB;
		s->pa_lim = 1ull << 36;
		break;
	default:
		s->lpg = 2 * MIB;
		s->big = GIB;
		s->win = (s->g->levels == 4 ? 1ull << 39 : 1ull << 48) -
		    2 * GIB;
		s->wlen = 4 * GIB;
		s->pa_lim = 1ull << 40;
		break;
	}
	for (int i = 0; i < NHOT; i++)
		s->hot[i] = s->win + 16 * PG + rnd(s, s->wlen / s->lpg - 1) *
		    s->lpg + s->lpg - 16 * PG * (i & 1);
	gen_ops(s);
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */
/* ------------------------------------------------------------------ */

static int
snap_leaf(void *arg, const ht_leaf_t *l)
{
	snap_t *sn = arg;

	if (sn->n == sn->cap) {
		sn->cap = sn->cap ? 2 * sn->cap : 256;
		sn->l = realloc(sn->l, sn->cap * sizeof (*sn->l));
		cr_assert_not_null(sn->l);
	}
	sn->l[sn->n++] = *l;
	return (0);
}

static void
take_snap(sweep_t *s, int i, snap_t *sn)
{
	ht_stats_t st;

	sn->n = 0;
	if (s->as[i] == NULL)
		return;
	if (ht_walk(s->as[i], 0, s->va_last, snap_leaf, sn) != 0)
		sfail(s, "ht_walk of space %d: %s", i, ht_errdetail());
	ht_as_stats(s->as[i], &st);
	memcpy(sn->tables, st.tables, sizeof (sn->tables));
	memcpy(sn->leaves, st.leaves, sizeof (sn->leaves));
	sn->cached = hat_cache_count(s->as[i]);
}

static int
same_leaf(const ht_leaf_t *a, const ht_leaf_t *b)
{
	return (a->va == b->va && a->pa == b->pa && a->size == b->size &&
	    a->level == b->level && a->attr == b->attr && a->eff == b->eff &&
	    a->pte == b->pte);
}

/* Space i is exactly as in s->pre[i]: leaves, tables, cache. */
static void
check_unchanged(sweep_t *s, int i, const char *why)
{
	snap_t *a = &s->pre[i], *b = &s->post;

	take_snap(s, i, b);
	if (a->n != b->n)
		sfail(s, "%s: space %d had %zu leaves, has %zu", why, i, a->n,
		    b->n);
	for (size_t j = 0; j < a->n; j++) {
		if (!same_leaf(&a->l[j], &b->l[j]))
			sfail(s, "%s: space %d leaf va 0x%" PRIx64 " pte 0x%"
			    PRIx64 " became va 0x%" PRIx64 " pte 0x%" PRIx64,
			    why, i, a->l[j].va, a->l[j].pte, b->l[j].va,
			    b->l[j].pte);
	}
	for (int l = 0; l < HT_MAX_LEVELS; l++) {
		if (a->tables[l] != b->tables[l] || a->leaves[l] != b->leaves[l])
			sfail(s, "%s: space %d level %d had %" PRIu64 " tables "
			    "%" PRIu64 " leaves, has %" PRIu64 " and %" PRIu64,
			    why, i, l, a->tables[l], a->leaves[l], b->tables[l],
			    b->leaves[l]);
	}
	if (a->cached != b->cached)
		sfail(s, "%s: space %d had %u cached free tables, has %u", why,
		    i, a->cached, b->cached);
}

/*
 * Space i lost nothing but whole stolen level-0 tables: its leaves are a
 * subset of s->pre[i], each lost one a 4 KiB unlocked leaf.  The model
 * follows what was stolen.
 */
static void
check_robbed(sweep_t *s, int i)
{
	snap_t *a = &s->pre[i], *b = &s->post;
	size_t j = 0;

	take_snap(s, i, b);
	for (size_t m = 0; m < a->n; m++) {
		const ht_leaf_t *l = &a->l[m];

		if (j < b->n && same_leaf(l, &b->l[j])) {
			j++;
			continue;
		}
		if (l->level != 0 || (l->attr & HT_LOCKED))
			sfail(s, "space %d lost leaf va 0x%" PRIx64 " level %u "
			    "attr 0x%x to a steal: only unlocked 4 KiB leaves "
			    "may go", i, l->va, l->level, l->attr);
		/* an MMU caches a translation only once A is set */
		if ((l->attr & HT_A) && fx.ntlb <= FX_MAX_TLB &&
		    !fx_tlb_covers(s->as[i], l->va, l->size))
			sfail(s, "space %d lost leaf va 0x%" PRIx64 " (A set) "
			    "to a steal without a TLB invalidation", i, l->va);
		rm_unmap(&s->rm[i], l->va, l->va + (l->size - 1));
	}
	if (j != b->n)
		sfail(s, "space %d gained or changed leaf va 0x%" PRIx64
		    " during another space's call", i, b->l[j].va);
}

/* Every leaf of space i matches its model and the model has no more. */
static void
check_model(sweep_t *s, int i)
{
	snap_t *b = &s->post;
	uint64_t bytes = 0;

	take_snap(s, i, b);
	for (size_t j = 0; j < b->n; j++) {
		const ht_leaf_t *l = &b->l[j];
		unsigned attr = (l->attr & ATTRS) | s->xkeep;

		if (!rm_uniform(&s->rm[i], l->va, l->va + (l->size - 1), l->pa,
		    attr, !!(l->attr & HT_LOCKED)))
			sfail(s, "space %d leaf va 0x%" PRIx64 " size 0x%"
			    PRIx64 " pa 0x%" PRIx64 " attr 0x%x is not what "
			    "the model has", i, l->va, l->size, l->pa, l->attr);
		bytes += l->size;
	}
	if (bytes != rm_mapped_bytes(&s->rm[i], 0, s->va_last))
		sfail(s, "space %d maps 0x%" PRIx64 " bytes, model 0x%" PRIx64,
		    i, bytes, rm_mapped_bytes(&s->rm[i], 0, s->va_last));
}

static unsigned
cached(const sweep_t *s, int i)
{
	return (s->as[i] != NULL ? hat_cache_count(s->as[i]) :
	    0);
}

/* Audit every space; the provider's frames are tables plus cached ones. */
static void
check_all(sweep_t *s)
{
	uint64_t used = ht_arena_frames_used(fx.arena), spare = 0;
	long tables = ht_ctx_dump_frames(fx.ctx, NULL, NULL);

	for (int i = 0; i < NSPACE; i++) {
		if (s->as[i] != NULL && ht_audit(s->as[i]) != 0)
			sfail(s, "ht_audit of space %d: %s", i,
			    ht_errdetail());
		spare += cached(s, i);
	}
	if (used != (uint64_t)tables + spare)
		sfail(s, "provider has %" PRIu64 " frames out, the spaces "
		    "use %ld for tables and cache %" PRIu64 ": %" PRId64
		    " leaked", used, tables, spare,
		    (int64_t)(used - (uint64_t)tables - spare));
	if (fx.allocs - fx.frees != used)
		sfail(s, "provider counted %" PRIu64 " allocations and %"
		    PRIu64 " frees, arena has %" PRIu64 " out", fx.allocs,
		    fx.frees, used);
}

/* ------------------------------------------------------------------ */
/* One replay                                                          */
/* ------------------------------------------------------------------ */

/* Create space i; the k-th allocation may be its root. */
static void
create_space(sweep_t *s, int i)
{
	uint64_t used = ht_arena_frames_used(fx.arena), nas = 0;
	ht_stats_t st;
	int armed = fx.fail_count == 1;
	int rc;

	for (int j = 0; j < NSPACE; j++)
		nas += s->as[j] != NULL;
	rc = ht_as_create(fx.ctx, s->as_flags, &s->as[i]);

	if (armed && fx.fail_count == 0) {
		s->fired = 1;
		if (rc != -HT_ENOFRAME)
			sfail(s, "ht_as_create with its root allocation "
			    "failing: %s", ht_err_name(rc));
		s->nfail++;
		s->as[i] = NULL;
		ht_ctx_stats(fx.ctx, &st);
		if (ht_arena_frames_used(fx.arena) != used ||
		    st.address_spaces != nas)
			sfail(s, "failed ht_as_create left %" PRIu64 " frames "
			    "(had %" PRIu64 ") and %" PRIu64 " spaces", 
			    ht_arena_frames_used(fx.arena), used,
			    st.address_spaces);
		check_all(s);
		rc = ht_as_create(fx.ctx, s->as_flags, &s->as[i]);
	}
	if (rc != 0)
		sfail(s, "ht_as_create: %s (%s)", ht_err_name(rc),
		    ht_errdetail());
	rm_clear(&s->rm[i]);
}

typedef struct allowed {
	int		rc[6];
	unsigned	n;
} allowed_t;

static void
allow(allowed_t *a, int rc)
{
	a->rc[a->n++] = rc;
}

/*
 * Play the MMU: set A, and D on a writable page, in va's leaf (EPT: its
 * own A and D bits).
 */
static void
touch(sweep_t *s, ht_as_t *as, uint64_t va)
{
	int ept = mode_ept(s->g);
	ht_xlate_t x;

	if (ht_translate(as, va, &x) != 0)
		return;
	void *p = fx_entry(as, va, (int)x.level);
	unsigned bits = (ept ? RAW_EPT_A : X_A) | ((x.attr & HT_W) ? (ept ?
	    RAW_EPT_D : X_D) : 0);

	if (p == NULL)
		sfail(s, "no entry for mapped va 0x%" PRIx64, va);
	if (s->g->pte_size == 4)
		(void) __atomic_fetch_or((uint32_t *)p, bits, __ATOMIC_SEQ_CST);
	else
		(void) __atomic_fetch_or((uint64_t *)p, (uint64_t)bits,
		    __ATOMIC_SEQ_CST);
}

/* Run one call; the allowed results come from the model. */
static int
run_op(sweep_t *s, const wop_t *o, allowed_t *a)
{
	ht_as_t *as = s->as[o->sp];
	refmodel_t *rm = &s->rm[o->sp];
	uint64_t last = o->va + (o->len - 1);
	long n;
	int rc;

	switch (o->kind) {
	case OP_MAP:
		if (rm_any_locked(rm, o->va, last))
			allow(a, -HT_ELOCKED);
		if ((o->flags & HT_MAP_NOREPLACE) &&
		    rm_any_mapped(rm, o->va, last))
			allow(a, -HT_EEXIST);
		if (a->n == 0)
			allow(a, 0);
		rc = ht_map(as, o->va, o->pa, o->len, o->attr, o->flags);
		if (rc == 0)
			rm_map(rm, o->va, last, o->pa, o->attr | s->xkeep,
			    !!(o->flags & HT_MAP_LOCK));
		return (rc);
	case OP_UNMAP:
		allow(a, !(o->flags & HT_UNMAP_UNLOCK) &&
		    rm_any_locked(rm, o->va, last) ? -HT_ELOCKED : 0);
		rc = ht_unmap(as, o->va, o->len, o->flags);
		if (rc == 0)
			rm_unmap(rm, o->va, last);
		return (rc);
	case OP_PROTECT:
		allow(a, 0);
		rc = ht_protect(as, o->va, o->len, o->attr & PERM);
		if (rc == 0)
			rm_set_attr(rm, o->va, last, PERM,
			    (o->attr & PERM) | s->xkeep);
		return (rc);
	case OP_LOCK:
	case OP_UNLOCK:
		/* holes: the header leaves ENOTMAPPED open (test_model) */
		allow(a, 0);
		if (!rm_all_mapped(rm, o->va, last))
			allow(a, -HT_ENOTMAPPED);
		if (o->kind == OP_UNLOCK && rm_any_unlocked(rm, o->va, last))
			allow(a, -HT_ENOTLOCKED);
		rc = o->kind == OP_LOCK ? ht_lock(as, o->va, o->len) :
		    ht_unlock(as, o->va, o->len);
		if (rc == 0)
			rm_set_locked(rm, o->va, last, o->kind == OP_LOCK);
		return (rc);
	case OP_TOUCH:
		allow(a, 0);
		for (uint64_t i = 0; i < 4; i++)
			touch(s, as, o->va + (o->len / 4 & ~(PG - 1)) * i);
		return (0);
	case OP_HARVEST:
		allow(a, 0);
		n = ht_harvest_ad(as, o->va, o->len, HT_A | HT_D, 1, NULL,
		    NULL);
		return (n < 0 ? (int)n : 0);
	case OP_PURGE:
		allow(a, 0);
		return (ht_as_purge(as) < 0 ? -1 : 0);
	case OP_REAP:
		allow(a, 0);
		return (ht_ctx_reap(fx.ctx) < 0 ? -1 : 0);
	default:
		allow(a, 0);
		ht_as_destroy(as);
		s->as[o->sp] = NULL;
		create_space(s, o->sp);
		return (0);
	}
}

/*
 * The run without failures: did a call take more frames than it added
 * tables?  The rest stays cached in its space (spare reservations).
 */
static void
note_spares(sweep_t *s, const wop_t *o, uint64_t used0, long tables0)
{
	long took = (long)(ht_arena_frames_used(fx.arena) - used0);
	long added = ht_ctx_dump_frames(fx.ctx, NULL, NULL) - tables0;

	if (took <= 0 || took <= added || o->kind == OP_RECREATE)
		return;
	s->spare_calls++;
	if (took - (added > 0 ? added : 0) > s->spare_max) {
		s->spare_max = took - (added > 0 ? added : 0);
		(void) snprintf(s->spare_what, sizeof (s->spare_what), "op #%d "
		    "%s va 0x%" PRIx64 " len 0x%" PRIx64 " took %ld frames, "
		    "added %ld tables", s->opno, kind_name[o->kind], o->va,
		    o->len, took, added);
	}
}

/* The call met the failing allocation: hold it to its contract. */
static void
check_failed_call(sweep_t *s, const wop_t *o, int rc, uint64_t used,
    const ht_stats_t *st0)
{
	ht_stats_t st1;

	ht_ctx_stats(fx.ctx, &st1);
	check_all(s);
	if (o->kind == OP_RECREATE)
		return;		/* create_space checked it */
	if (rc == -HT_ENOFRAME) {
		s->nfail++;
		if (ht_arena_frames_used(fx.arena) != used)
			sfail(s, "the failed call changed the frames in use "
			    "from %" PRIu64 " to %" PRIu64, used,
			    ht_arena_frames_used(fx.arena));
		for (int i = 0; i < NSPACE; i++)
			check_unchanged(s, i, "after the failed call");
		return;
	}
	/*
	 * It succeeded all the same: the failure was absorbed by stealing,
	 * cached tables of other spaces first (pass 0), then live ones.
	 */
	s->nrecovered++;
	if (st1.steals != st0->steals)
		s->nstolen++;
	if (st1.stolen != st0->stolen)
		s->nrobbed++;
	check_model(s, o->sp);
	for (int i = 0; i < NSPACE; i++) {
		if (i == o->sp)
			continue;
		if (st1.steals == st0->steals)
			check_unchanged(s, i, "a call on another space");
		else
			check_robbed(s, i);
	}
}

static void
step(sweep_t *s)
{
	const wop_t *o = &s->ops[s->opno];
	int armed = fx.fail_count == 1;
	/* the replay is the run without failures until the k-th */
	int due = armed && (uint64_t)fx.fail_after < s->ref_allocs[s->opno];
	allowed_t a = { .n = 0 };
	uint64_t used = ht_arena_frames_used(fx.arena), allocs = fx.allocs;
	long tables = s->k == 0 ? ht_ctx_dump_frames(fx.ctx, NULL, NULL) : 0;
	ht_stats_t st0;

	if (due) {
		for (int i = 0; i < NSPACE; i++)
			take_snap(s, i, &s->pre[i]);
		ht_ctx_stats(fx.ctx, &st0);
		fx_tlb_reset();
	}
	int rc = run_op(s, o, &a);
	int fired = armed && fx.fail_count == 0;

	if (fired != due)
		sfail(s, "the k-th allocation came %s than in the run without "
		    "failures", due ? "later" : "earlier");
	if (fired)
		allow(&a, -HT_ENOFRAME);
	unsigned j;
	for (j = 0; j < a.n && a.rc[j] != rc; j++)
		;
	if (j == a.n)
		sfail(s, "returned %s (%s); the model allows %s%s%s",
		    rc ? ht_err_name(rc) : "0", rc ? ht_errdetail() : "",
		    a.rc[0] ? ht_err_name(a.rc[0]) : "0", a.n > 1 ? " or " :
		    "", a.n > 1 ? (a.rc[1] ? ht_err_name(a.rc[1]) : "0") : "");
	if (s->k == 0) {
		s->ref_allocs[s->opno] = fx.allocs - allocs;
		if (rc == 0)
			note_spares(s, o, used, tables);
		check_all(s);
		for (int i = 0; i < NSPACE; i++)
			check_model(s, i);
	}
	if (fired) {
		s->fired = 1;
		check_failed_call(s, o, rc, used, &st0);
	}
}

/* Replay the workload with the k-th allocation failing (0: none). */
static uint64_t
replay(sweep_t *s, long k)
{
	uint64_t allocs;

	fx_setup_mode(s->mode, 0, 64);
	ht_as_destroy(fx.as);	/* the workload makes its own spaces */
	fx.as = NULL;
	fx.fail_after = k > 0 ? k - 1 : -1;
	fx.fail_count = k > 0 ? 1 : 0;
	allocs = fx.allocs;
	s->k = k;
	s->fired = 0;
	s->opno = 0;
	for (int i = 0; i < NSPACE; i++) {
		rm_init(&s->rm[i]);
		create_space(s, i);
	}
	for (s->opno = 0; s->opno < s->nops; s->opno++)
		step(s);
	s->opno = s->nops - 1;
	check_all(s);
	for (int i = 0; i < NSPACE; i++)
		check_model(s, i);
	if (k > 0 && !s->fired)
		sfail(s, "the workload made fewer than %ld allocations", k);
	allocs = fx.allocs - allocs;
	for (int i = 0; i < NSPACE; i++) {
		ht_as_destroy(s->as[i]);
		s->as[i] = NULL;
		rm_fini(&s->rm[i]);
	}
	fx_teardown();
	return (allocs);
}

static void
sweep(ht_mode_t mode, unsigned as_flags)
{
	sweep_t *s = calloc(1, sizeof (*s));
	long K;

	cr_assert_not_null(s);
	setup_sweep(s, mode, as_flags);
	K = (long)replay(s, 0);
	cr_assert_gt(K, 20, "the workload allocates only %ld frames", K);
	for (long k = 1; k <= K; k++)
		(void) replay(s, k);
	if (getenv("HT_SWEEP_VERBOSE") != NULL)
		(void) fprintf(stderr, "faultsweep seed=0x%" PRIx64 " %s%s: "
		    "K=%ld allocations; failures surfaced %ld, absorbed %ld "
		    "(by stealing %ld, of live tables %ld); %ld calls of the "
		    "run without failures took more frames than they added "
		    "tables, at most %ld more (%s)\n", s->seed, s->mname,
		    as_flags ? " nosteal" : "", K, s->nfail, s->nrecovered,
		    s->nstolen, s->nrobbed, s->spare_calls, s->spare_max,
		    s->spare_what);
	/*
	 * With HT_AS_NOSTEAL nothing can absorb a failure (the cache is
	 * used before the provider is asked): each must reach the caller.
	 * Otherwise a sweep that never stole live tables proves little.
	 */
	if (as_flags & HT_AS_NOSTEAL)
		cr_assert(s->nfail == K && s->nrecovered == 0, "%ld of %ld "
		    "failures reached the caller, %ld were absorbed", s->nfail,
		    K, s->nrecovered);
	else
		cr_assert_gt(s->nrobbed, 0, "no failure was absorbed by "
		    "stealing live tables");
	for (int i = 0; i < NSPACE; i++)
		free(s->pre[i].l);
	free(s->post.l);
	free(s->ops);
	free(s->ref_allocs);
	free(s);
}

TestSuite(faultsweep, .timeout = 240);

Test(faultsweep, bit32)
{
	sweep(HT_MODE_32BIT, 0);
}

Test(faultsweep, bit32_nosteal)
{
	sweep(HT_MODE_32BIT, HT_AS_NOSTEAL);
}

Test(faultsweep, pae)
{
	sweep(HT_MODE_PAE, 0);
}

Test(faultsweep, pae_nosteal)
{
	sweep(HT_MODE_PAE, HT_AS_NOSTEAL);
}

Test(faultsweep, level4)
{
	sweep(HT_MODE_4LEVEL, 0);
}

Test(faultsweep, level4_nosteal)
{
	sweep(HT_MODE_4LEVEL, HT_AS_NOSTEAL);
}

Test(faultsweep, level5)
{
	sweep(HT_MODE_5LEVEL, 0);
}

Test(faultsweep, level5_nosteal)
{
	sweep(HT_MODE_5LEVEL, HT_AS_NOSTEAL);
}

Test(faultsweep, npt4)
{
	sweep(HT_MODE_NPT4, 0);
}

Test(faultsweep, npt5_nosteal)
{
	sweep(HT_MODE_NPT5, HT_AS_NOSTEAL);
}

/* EPT: the fixture's contexts have every HT_EPT_* flag (FX_EPT) */
Test(faultsweep, ept4)
{
	sweep(HT_MODE_EPT4, 0);
}

Test(faultsweep, ept5_nosteal)
{
	sweep(HT_MODE_EPT5, HT_AS_NOSTEAL);
}
