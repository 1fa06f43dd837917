/*
 * test_api.c - integration tests of the public API of libhtable.
 *
 * Only htable.h is used.  Every test runs for every paging mode (Criterion
 * parameterized tests, or a loop over the modes) and every page size the
 * mode has.  The raw tables are read through the arena (ht_as_root +
 * ht_arena_ptr) where a test needs to play the MMU: setting Accessed and
 * Dirty bits in leaf entries.
 *
 * Every failing call is checked for "nothing changed": ht_audit() is clean,
 * a full walk is identical to the one before the call, and ht_errdetail()
 * holds a fresh message.  Every test ends with all address spaces
 * destroyed and no frame left allocated in the arena.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htable.h"

#define PG		4096ull
#define MIB		(1024ull * 1024)
#define GIB		(1024ull * MIB)

#define ARENA_BASE	(1 * MIB)
#define ARENA_SIZE	(256 * MIB)

#define KEEP_ATTR	(HT_W | HT_U | HT_X | HT_G | HT_PWT | HT_PCD | HT_PAT)

/* Raw x86 entry bits (Intel SDM vol. 3, chapter 4). */
#define E_P		0x001ull
#define E_A		0x020ull
#define E_D		0x040ull
#define E_PS		0x080ull

static const ht_mode_t all_modes[4] = {
	HT_MODE_32BIT, HT_MODE_PAE, HT_MODE_4LEVEL, HT_MODE_5LEVEL
};

/* ------------------------------------------------------------------ */
/* Environment                                                         */
/* ------------------------------------------------------------------ */

typedef struct tlb_call {
	ht_as_t		*as;
	ht_va_t		va;
	uint64_t	len;
} tlb_call_t;

#define TLB_CAP	4096

typedef struct env {
	ht_mode_t		mode;
	const ht_geometry_t	*g;
	ht_arena_t		*arena;
	ht_ctx_t		*ctx;
	ht_as_t			*as;
	size_t			ntlb;		/* recorded (capped) */
	uint64_t		ntlb_total;	/* all calls */
	tlb_call_t		tlb[TLB_CAP];
} env_t;

static env_t E;

static void
tlb_hook(void *arg, ht_as_t *as, ht_va_t va, uint64_t len)
{
	env_t *e = arg;

	if (e->ntlb < TLB_CAP) {
		e->tlb[e->ntlb].as = as;
		e->tlb[e->ntlb].va = va;
		e->tlb[e->ntlb].len = len;
		e->ntlb++;
	}
	e->ntlb_total++;
}

static void
tlb_reset(env_t *e)
{
	e->ntlb = 0;
	e->ntlb_total = 0;
}

static ht_config_t
base_cfg(env_t *e, ht_mode_t mode)
{
	ht_config_t cfg;

	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = e->arena;
	cfg.tlb = tlb_hook;
	cfg.tlb_arg = e;
	return (cfg);
}

static void
env_arena(env_t *e, ht_mode_t mode)
{
	memset(e, 0, sizeof (*e));
	e->mode = mode;
	e->g = ht_geometry(mode);
	cr_assert_not_null(e->g);
	cr_assert_eq(ht_arena_create(ARENA_BASE, ARENA_SIZE, 0, &e->arena), 0);
}

/* Arena, context from cfg (frame ops and TLB hook filled in), one space. */
static void
env_setup_cfg(env_t *e, ht_mode_t mode, const ht_config_t *tweak)
{
	ht_config_t cfg;
	int rc;

	env_arena(e, mode);
	if (tweak != NULL) {
		cfg = *tweak;
		cfg.mode = mode;
		cfg.frame_ops = ht_arena_ops();
		cfg.frame_arg = e->arena;
		cfg.tlb = tlb_hook;
		cfg.tlb_arg = e;
	} else {
		cfg = base_cfg(e, mode);
	}
	rc = ht_ctx_create(&cfg, &e->ctx);
	cr_assert_eq(rc, 0, "ht_ctx_create(%s): %s (%s)", ht_mode_name(mode),
	    ht_err_name(rc), ht_errdetail());
	rc = ht_as_create(e->ctx, 0, &e->as);
	cr_assert_eq(rc, 0, "ht_as_create: %s", ht_err_name(rc));
}

static void
env_setup(env_t *e, ht_mode_t mode)
{
	env_setup_cfg(e, mode, NULL);
}

/* Destroy the main space (if any), the context and the arena. */
static void
env_teardown(env_t *e)
{
	if (e->as != NULL)
		ht_as_destroy(e->as);
	e->as = NULL;
	if (e->ctx != NULL)
		cr_assert_eq(ht_ctx_destroy(e->ctx), 0, "%s", ht_errdetail());
	e->ctx = NULL;
	cr_assert_eq(ht_arena_frames_used(e->arena), 0,
	    "%llu frames still allocated",
	    (unsigned long long)ht_arena_frames_used(e->arena));
	ht_arena_destroy(e->arena);
	e->arena = NULL;
}

static ht_va_t
va_last(const ht_geometry_t *g)
{
	return (g->va_bits == 32 ? 0xffffffffull : ~0ull);
}

static uint64_t
lsize(const ht_geometry_t *g, unsigned level)
{
	return (1ull << g->level_shift[level]);
}

static unsigned
level_ps(const ht_geometry_t *g, unsigned level)
{
	switch (g->level_shift[level]) {
	case 12: return (HT_PS_4K);
	case 21: return (HT_PS_2M);
	case 22: return (HT_PS_4M);
	case 30: return (HT_PS_1G);
	default: return (0);
	}
}

/* The levels that can hold leaves in this mode (with these page sizes). */
static int
leaf_level(const ht_geometry_t *g, unsigned ps_in_force, unsigned level)
{
	return ((level_ps(g, level) & ps_in_force) != 0);
}

/* Largest page size level of the mode (with these page sizes). */
static unsigned
top_leaf(const ht_geometry_t *g, unsigned ps)
{
	unsigned top = 0;

	for (unsigned l = 0; l < g->levels; l++)
		if (leaf_level(g, ps, l))
			top = l;
	return (top);
}

/* ------------------------------------------------------------------ */
/* Snapshots and "nothing changed"                                     */
/* ------------------------------------------------------------------ */

typedef struct snap {
	ht_leaf_t	*v;
	size_t		n, cap;
} snap_t;

static int
snap_cb(void *arg, const ht_leaf_t *l)
{
	snap_t *s = arg;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = realloc(s->v, s->cap * sizeof (*s->v));
		cr_assert_not_null(s->v);
	}
	s->v[s->n++] = *l;
	return (0);
}

/* Leaves in a space, from its counters. */
static uint64_t
leaf_count(ht_as_t *as)
{
	ht_stats_t st;
	uint64_t n = 0;

	ht_as_stats(as, &st);
	for (int l = 0; l < HT_MAX_LEVELS; l++)
		n += st.leaves[l];
	return (n);
}

static void
snap_take(ht_as_t *as, const ht_geometry_t *g, snap_t *s)
{
	int rc;

	s->n = 0;
	rc = ht_walk(as, 0, va_last(g), snap_cb, s);
	cr_assert_eq(rc, 0, "walk: %s", ht_err_name(rc));
}

static void
snap_free(snap_t *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static void
snap_eq(const snap_t *a, const snap_t *b, int line)
{
	cr_assert_eq(a->n, b->n, "line %d: %zu leaves before, %zu after", line,
	    a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const ht_leaf_t *x = &a->v[i], *y = &b->v[i];

		cr_assert(x->va == y->va && x->pa == y->pa &&
		    x->size == y->size && x->level == y->level &&
		    x->attr == y->attr && x->pte == y->pte,
		    "line %d: leaf %zu changed: va 0x%llx pa 0x%llx size 0x%llx "
		    "attr 0x%x pte 0x%llx -> va 0x%llx pa 0x%llx size 0x%llx "
		    "attr 0x%x pte 0x%llx", line, i, (unsigned long long)x->va,
		    (unsigned long long)x->pa, (unsigned long long)x->size,
		    x->attr, (unsigned long long)x->pte,
		    (unsigned long long)y->va, (unsigned long long)y->pa,
		    (unsigned long long)y->size, y->attr,
		    (unsigned long long)y->pte);
	}
}

#define SENTINEL	"sentinel-detail-7f3a"

/* Leave a known detail message, so that a fresh one can be recognized. */
static void
arm_detail(void)
{
	ht_mode_t m;

	cr_assert_eq(ht_mode_parse(SENTINEL, &m), -HT_EINVAL);
	cr_assert_not_null(strstr(ht_errdetail(), SENTINEL));
}

static void
check_detail(int line, const char *what)
{
	const char *d = ht_errdetail();

	cr_assert_not_null(d);
	cr_assert(d[0] != '\0', "line %d: %s: empty ht_errdetail()", line,
	    what);
	cr_assert_null(strstr(d, SENTINEL), "line %d: %s: ht_errdetail() "
	    "was not set by the failing call", line, what);
}

/*
 * Expect `call` to fail with -code and to change nothing in env e's main
 * address space.
 */
#define EXPECT_ERR(e, code, call) do {					\
	snap_t b_ = { 0 }, a_ = { 0 };					\
	long rc_;							\
	snap_take((e)->as, (e)->g, &b_);				\
	arm_detail();							\
	rc_ = (long)(call);						\
	cr_assert_eq(rc_, -(long)(code), "line %d: %s: got %ld (%s), "	\
	    "want %s [%s]", __LINE__, #call, rc_,			\
	    rc_ < 0 ? ht_err_name((int)rc_) : "success",		\
	    ht_err_name(code), ht_errdetail());				\
	check_detail(__LINE__, #call);					\
	cr_assert_eq(ht_audit((e)->as), 0, "line %d: audit: %s",	\
	    __LINE__, ht_errdetail());					\
	snap_take((e)->as, (e)->g, &a_);				\
	snap_eq(&b_, &a_, __LINE__);					\
	snap_free(&a_);							\
	snap_free(&b_);							\
} while (0)

#define OK(call) do {							\
	long rc_ = (long)(call);					\
	cr_assert_eq(rc_, 0, "line %d: %s: %s (%s)", __LINE__, #call,	\
	    rc_ < 0 ? ht_err_name((int)rc_) : "positive", ht_errdetail()); \
} while (0)

#define AUDIT(as) do {							\
	int arc_ = ht_audit(as);					\
	cr_assert_eq(arc_, 0, "line %d: audit: %s", __LINE__,		\
	    ht_errdetail());						\
} while (0)

/* Translate va and check pa, page size and (masked) attributes. */
static unsigned eff(const env_t *e, unsigned attr, int no_nx);

static void
xlate_is(ht_as_t *as, ht_va_t va, ht_pa_t pa, uint64_t size, unsigned attr,
    unsigned mask, int line)
{
	ht_xlate_t x;
	int rc = ht_translate(as, va, &x);

	cr_assert_eq(rc, 0, "line %d: translate 0x%llx: %s", line,
	    (unsigned long long)va, ht_err_name(rc));
	cr_assert_eq(x.pa, pa, "line %d: va 0x%llx -> pa 0x%llx, want 0x%llx",
	    line, (unsigned long long)va, (unsigned long long)x.pa,
	    (unsigned long long)pa);
	if (size != 0)
		cr_assert_eq(x.page_size, size, "line %d: va 0x%llx page size "
		    "0x%llx, want 0x%llx", line, (unsigned long long)va,
		    (unsigned long long)x.page_size,
		    (unsigned long long)size);
	cr_assert_eq(x.attr & mask, attr & mask, "line %d: va 0x%llx attr "
	    "0x%x, want 0x%x (mask 0x%x)", line, (unsigned long long)va,
	    x.attr, attr, mask);
}

static void
unmapped_is(ht_as_t *as, ht_va_t va, int line)
{
	ht_xlate_t x;
	int rc = ht_translate(as, va, &x);

	cr_assert_eq(rc, -HT_ENOTMAPPED, "line %d: va 0x%llx: %s (pa 0x%llx)",
	    line, (unsigned long long)va, ht_err_name(rc),
	    (unsigned long long)x.pa);
}

#define XLATE(as, va, pa, size, attr) \
	xlate_is(as, va, pa, size, eff(&E, attr, 0), KEEP_ATTR, __LINE__)
#define UNMAPPED(as, va) unmapped_is(as, va, __LINE__)

/* Attributes as translate reports them: no NX bit means always X. */
static unsigned
eff(const env_t *e, unsigned attr, int no_nx)
{
	if (!e->g->has_nx || no_nx)
		attr |= HT_X;
	return (attr);
}

/* ------------------------------------------------------------------ */
/* Playing the MMU: find leaf entries in the raw tables                */
/* ------------------------------------------------------------------ */

/* Address of the leaf entry for va (NULL if unmapped); *r_level its level. */
static void *
raw_leaf(ht_arena_t *arena, const ht_geometry_t *g, ht_as_t *as,
    ht_va_t va, unsigned *r_level)
{
	ht_pa_t tpa = ht_as_root(as);
	uint64_t amask = g->pte_size == 4 ? 0xfffff000ull :
	    0x000ffffffffff000ull;

	for (int l = (int)g->levels - 1; l >= 0; l--) {
		unsigned n = l == (int)g->levels - 1 ? g->top_level_count :
		    g->ptes_per_table;
		unsigned idx = (unsigned)(va >> g->level_shift[l]) & (n - 1);
		uint8_t *tbl = ht_arena_ptr(arena, tpa);
		uint8_t *p;
		uint64_t pte;

		cr_assert_not_null(tbl, "table at pa 0x%llx not in the arena",
		    (unsigned long long)tpa);
		p = tbl + (size_t)idx * g->pte_size;
		pte = g->pte_size == 4 ? *(uint32_t *)(void *)p :
		    *(uint64_t *)(void *)p;
		if (!(pte & E_P))
			return (NULL);
		if (l == 0 || ((pte & E_PS) && level_ps(g, (unsigned)l) != 0)) {
			*r_level = (unsigned)l;
			return (p);
		}
		tpa = pte & amask;
	}
	return (NULL);
}

static void
raw_or(const ht_geometry_t *g, void *p, uint64_t bits)
{
	if (g->pte_size == 4)
		(void) __atomic_fetch_or((uint32_t *)p, (uint32_t)bits,
		    __ATOMIC_SEQ_CST);
	else
		(void) __atomic_fetch_or((uint64_t *)p, bits,
		    __ATOMIC_SEQ_CST);
}

/* Set raw bits on every leaf in [va, va + len) (which must be mapped). */
static void
raw_touch(env_t *e, ht_as_t *as, ht_va_t va, uint64_t len, uint64_t bits)
{
	ht_va_t end = va + len;

	while (va != end) {
		unsigned l;
		void *p = raw_leaf(e->arena, e->g, as, va, &l);

		cr_assert_not_null(p, "va 0x%llx not mapped",
		    (unsigned long long)va);
		raw_or(e->g, p, bits);
		va = (va & ~(lsize(e->g, l) - 1)) + lsize(e->g, l);
	}
}

/* Is [va, va + len) covered by the recorded TLB calls for as? */
static int
tlb_covers(const env_t *e, ht_as_t *as, ht_va_t va, uint64_t len)
{
	ht_va_t pos = va, end = va + len;

	while (pos < end) {
		int found = 0;

		for (size_t i = 0; i < e->ntlb; i++) {
			const tlb_call_t *c = &e->tlb[i];

			if (c->as != as)
				continue;
			if (c->len == HT_TLB_ALL)
				return (1);
			if (c->va <= pos && pos - c->va < c->len) {
				pos = c->va + c->len;
				found = 1;
				if (pos == 0)	/* reached the top */
					return (1);
				break;
			}
		}
		if (!found)
			return (0);
	}
	return (1);
}

/* ------------------------------------------------------------------ */
/* Parameters                                                          */
/* ------------------------------------------------------------------ */

typedef struct mode_pab {
	ht_mode_t	mode;
	unsigned	pa_bits;
} mode_pab_t;

ParameterizedTestParameters(api, errors)
{
	static mode_pab_t p[] = {
		{ HT_MODE_32BIT, 0 }, { HT_MODE_32BIT, 36 },
		{ HT_MODE_32BIT, 40 }, { HT_MODE_32BIT, 32 },
		{ HT_MODE_PAE, 0 }, { HT_MODE_PAE, 36 }, { HT_MODE_PAE, 40 },
		{ HT_MODE_4LEVEL, 0 }, { HT_MODE_4LEVEL, 36 },
		{ HT_MODE_4LEVEL, 40 },
		{ HT_MODE_5LEVEL, 0 }, { HT_MODE_5LEVEL, 36 },
		{ HT_MODE_5LEVEL, 40 },
	};

	return (cr_make_param_array(mode_pab_t, p, sizeof (p) / sizeof (p[0])));
}

#define MODE_PARAMS(name)						\
ParameterizedTestParameters(api, name)					\
{									\
	static ht_mode_t m[4] = { HT_MODE_32BIT, HT_MODE_PAE,		\
	    HT_MODE_4LEVEL, HT_MODE_5LEVEL };				\
	return (cr_make_param_array(ht_mode_t, m, 4));			\
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

static int
count_cb(void *arg, const ht_leaf_t *l)
{
	(void) l;
	(*(int *)arg)++;
	return (0);
}

/*
 * Every error of the range-taking calls, with some mappings in place: a
 * large page, small pages, a locked small page.
 */
ParameterizedTest(mode_pab_t *p, api, errors, .timeout = 120)
{
	ht_config_t cfg;
	env_t *e = &E;
	const ht_geometry_t *g;
	unsigned ps, pab, l1;
	uint64_t s1, plim;
	ht_va_t v0, vsmall, vlock;
	ht_xlate_t x;
	int n;

	memset(&cfg, 0, sizeof (cfg));
	cfg.pa_bits = p->pa_bits;
	env_setup_cfg(e, p->mode, &cfg);
	g = e->g;
	ps = ht_ctx_pagesizes(e->ctx);
	cr_assert_eq(ps, g->pagesizes);
	pab = ht_ctx_pa_bits(e->ctx);
	cr_assert_eq(pab, p->pa_bits ? p->pa_bits : g->pa_bits_max);
	plim = 1ull << pab;
	l1 = 1;
	s1 = lsize(g, l1);

	/* Mappings that must survive every failure. */
	v0 = 1 * GIB;
	vsmall = v0 + s1;
	vlock = vsmall + 16 * PG;
	OK(ht_map(e->as, v0, 2 * s1, s1, HT_W | HT_G, 0));
	OK(ht_map(e->as, vsmall, 0x5000000, 4 * PG, HT_U | HT_X, 0));
	OK(ht_map(e->as, vlock, 0x6000000, PG, HT_W, HT_MAP_LOCK));
	XLATE(e->as, v0 + PG, 2 * s1 + PG, s1, eff(e, HT_W | HT_G, 0));
	XLATE(e->as, vlock, 0x6000000, PG, eff(e, HT_W, 0));
	{
		ht_xlate_t lx;
		OK(ht_translate(e->as, vlock, &lx));
		cr_assert(lx.attr & HT_LOCKED);
	}

	/* --- NULL and zero length --- */
	ht_va_t fr = 2 * GIB + 64 * MIB;	/* free VA */
	EXPECT_ERR(e, HT_EINVAL, ht_map(NULL, fr, 0, PG, 0, 0));
	EXPECT_ERR(e, HT_EINVAL, ht_map(e->as, fr, 0, 0, 0, 0));
	EXPECT_ERR(e, HT_EINVAL, ht_unmap(NULL, v0, PG, 0));
	EXPECT_ERR(e, HT_EINVAL, ht_unmap(e->as, v0, 0, 0));
	EXPECT_ERR(e, HT_EINVAL, ht_protect(NULL, v0, PG, 0));
	EXPECT_ERR(e, HT_EINVAL, ht_protect(e->as, v0, 0, 0));
	EXPECT_ERR(e, HT_EINVAL, ht_lock(NULL, v0, PG));
	EXPECT_ERR(e, HT_EINVAL, ht_lock(e->as, v0, 0));
	EXPECT_ERR(e, HT_EINVAL, ht_unlock(NULL, vlock, PG));
	EXPECT_ERR(e, HT_EINVAL, ht_unlock(e->as, vlock, 0));
	EXPECT_ERR(e, HT_EINVAL, ht_harvest_ad(NULL, v0, PG, HT_A, 1,
	    NULL, NULL));
	EXPECT_ERR(e, HT_EINVAL, ht_harvest_ad(e->as, v0, 0, HT_A, 1,
	    NULL, NULL));
	EXPECT_ERR(e, HT_EINVAL, ht_translate(NULL, v0, &x));
	EXPECT_ERR(e, HT_EINVAL, ht_translate(e->as, v0, NULL));
	n = 0;
	EXPECT_ERR(e, HT_EINVAL, ht_walk(NULL, 0, va_last(g), count_cb, &n));
	EXPECT_ERR(e, HT_EINVAL, ht_walk(e->as, 0, va_last(g), NULL, &n));

	/* --- alignment --- */
	EXPECT_ERR(e, HT_EALIGN, ht_map(e->as, fr + 0x800, 0, PG, 0, 0));
	EXPECT_ERR(e, HT_EALIGN, ht_map(e->as, fr, 0x10, PG, 0, 0));
	EXPECT_ERR(e, HT_EALIGN, ht_map(e->as, fr, 0, PG + 1, 0, 0));
	EXPECT_ERR(e, HT_EALIGN, ht_map(e->as, fr + 1, 0, PG, 0,
	    HT_MAP_NOREPLACE));
	EXPECT_ERR(e, HT_EALIGN, ht_unmap(e->as, v0 + 8, PG, 0));
	EXPECT_ERR(e, HT_EALIGN, ht_unmap(e->as, v0, 100, 0));
	EXPECT_ERR(e, HT_EALIGN, ht_protect(e->as, v0 + 0x100, PG, HT_W));
	EXPECT_ERR(e, HT_EALIGN, ht_protect(e->as, v0, PG + 8, HT_W));
	EXPECT_ERR(e, HT_EALIGN, ht_lock(e->as, v0 + 4, PG));
	EXPECT_ERR(e, HT_EALIGN, ht_lock(e->as, v0, 3 * PG / 2));
	EXPECT_ERR(e, HT_EALIGN, ht_unlock(e->as, vlock + 4, PG));
	EXPECT_ERR(e, HT_EALIGN, ht_unlock(e->as, vlock, 2));
	EXPECT_ERR(e, HT_EALIGN, ht_harvest_ad(e->as, v0 + 1, PG, HT_A, 0,
	    NULL, NULL));
	EXPECT_ERR(e, HT_EALIGN, ht_harvest_ad(e->as, v0, PG - 1, HT_A, 0,
	    NULL, NULL));
	/* forced page sizes: va, pa and length aligned to the forced size */
	for (unsigned l = 1; l < g->levels; l++) {
		unsigned lps = level_ps(g, l);
		uint64_t s = lsize(g, l);
		ht_va_t fv = 4 * GIB - 4 * s;	/* free, s-aligned */

		if (!(lps & ps))
			continue;
		if (g->va_bits > 32)
			fv = 64 * GIB;
		EXPECT_ERR(e, HT_EALIGN, ht_map(e->as, fv + PG, 0, s, 0,
		    HT_MAP_SIZE(lps)));
		EXPECT_ERR(e, HT_EALIGN, ht_map(e->as, fv, PG, s, 0,
		    HT_MAP_SIZE(lps)));
		EXPECT_ERR(e, HT_EALIGN, ht_map(e->as, fv, 0, s + PG, 0,
		    HT_MAP_SIZE(lps)));
		EXPECT_ERR(e, HT_EALIGN, ht_map(e->as, fv, 0, s / 2, 0,
		    HT_MAP_SIZE(lps)));
	}

	/* --- addresses outside the mode --- */
	if (g->va_bits == 32) {
		ht_va_t big = 1ull << 32;

		EXPECT_ERR(e, HT_ERANGE, ht_map(e->as, big, 0, PG, 0, 0));
		EXPECT_ERR(e, HT_ERANGE, ht_map(e->as, big - PG, 0, 2 * PG, 0,
		    0));
		EXPECT_ERR(e, HT_ERANGE, ht_map(e->as, 4 * PG, 0, big, 0, 0));
		EXPECT_ERR(e, HT_ERANGE, ht_unmap(e->as, big, PG, 0));
		EXPECT_ERR(e, HT_ERANGE, ht_unmap(e->as, big - PG, 2 * PG, 0));
		EXPECT_ERR(e, HT_ERANGE, ht_protect(e->as, big + PG, PG, 0));
		EXPECT_ERR(e, HT_ERANGE, ht_protect(e->as, v0, big, 0));
		EXPECT_ERR(e, HT_ERANGE, ht_lock(e->as, big, PG));
		EXPECT_ERR(e, HT_ERANGE, ht_unlock(e->as, big - PG, 2 * PG));
		EXPECT_ERR(e, HT_ERANGE, ht_harvest_ad(e->as, big, PG,
		    HT_A, 0, NULL, NULL));
		EXPECT_ERR(e, HT_ERANGE, ht_translate(e->as, big, &x));
		EXPECT_ERR(e, HT_ERANGE, ht_walk(e->as, 0, big, count_cb, &n));
		EXPECT_ERR(e, HT_ERANGE, ht_walk(e->as, big, big + PG,
		    count_cb, &n));
		/* wrapping: va + len overflows 64 bits */
		EXPECT_ERR(e, HT_ERANGE, ht_map(e->as, 2 * PG, 0, 0 - PG, 0,
		    0));
		EXPECT_ERR(e, HT_ERANGE, ht_unmap(e->as, 2 * PG, 0 - PG, 0));
		EXPECT_ERR(e, HT_ERANGE, ht_protect(e->as, 2 * PG, 0 - PG, 0));
	} else {
		ht_va_t hs = g->hole_start, he = g->hole_end;

		cr_assert(hs != 0 && he > hs);
		cr_assert_eq(hs, 1ull << (g->va_bits - 1));
		cr_assert_eq(he, ~0ull - hs);
		EXPECT_ERR(e, HT_ENONCANON, ht_map(e->as, hs, 0, PG, 0, 0));
		EXPECT_ERR(e, HT_ENONCANON, ht_map(e->as, he + 1 - PG, 0, PG,
		    0, 0));
		EXPECT_ERR(e, HT_ENONCANON, ht_map(e->as, 0x0123400000000000ull
		    | hs, 0, PG, 0, 0));
		/* entering the hole from below */
		EXPECT_ERR(e, HT_ENONCANON, ht_map(e->as, hs - PG, 0, 2 * PG,
		    0, 0));
		/* crossing the whole hole */
		EXPECT_ERR(e, HT_ENONCANON, ht_map(e->as, hs - PG, 0,
		    he + 1 + PG - (hs - PG), 0, 0));
		EXPECT_ERR(e, HT_ENONCANON, ht_unmap(e->as, hs, PG, 0));
		EXPECT_ERR(e, HT_ENONCANON, ht_unmap(e->as, hs - PG, 2 * PG,
		    0));
		EXPECT_ERR(e, HT_ENONCANON, ht_unmap(e->as, 0,
		    he + 1 + PG, 0));
		EXPECT_ERR(e, HT_ENONCANON, ht_protect(e->as, hs, PG, 0));
		EXPECT_ERR(e, HT_ENONCANON, ht_protect(e->as, hs - PG,
		    2 * PG, 0));
		EXPECT_ERR(e, HT_ENONCANON, ht_lock(e->as, he + 1 - PG, PG));
		EXPECT_ERR(e, HT_ENONCANON, ht_lock(e->as, hs - PG, 2 * PG));
		EXPECT_ERR(e, HT_ENONCANON, ht_unlock(e->as, hs, PG));
		EXPECT_ERR(e, HT_ENONCANON, ht_harvest_ad(e->as, hs, PG,
		    HT_A, 0, NULL, NULL));
		EXPECT_ERR(e, HT_ENONCANON, ht_harvest_ad(e->as, hs - PG,
		    2 * PG, HT_A | HT_D, 1, NULL, NULL));
		EXPECT_ERR(e, HT_ENONCANON, ht_translate(e->as, hs, &x));
		EXPECT_ERR(e, HT_ENONCANON, ht_translate(e->as, he, &x));
		/* walks: the header leaves the code open; either is fine */
		{
			int rc;

			arm_detail();
			rc = ht_walk(e->as, hs, he + 1, count_cb, &n);
			cr_assert(rc == -HT_ENONCANON || rc == -HT_ERANGE,
			    "walk from the hole: %s", ht_err_name(rc));
			check_detail(__LINE__, "walk from the hole");
			AUDIT(e->as);
		}
		/* wrapping at the top of the upper half */
		EXPECT_ERR(e, HT_ERANGE, ht_map(e->as, 0 - PG, 0, 2 * PG, 0, 0));
		EXPECT_ERR(e, HT_ERANGE, ht_unmap(e->as, 0 - PG, 2 * PG, 0));
		EXPECT_ERR(e, HT_ERANGE, ht_protect(e->as, 0 - 2 * PG, 4 * PG,
		    0));
		EXPECT_ERR(e, HT_ERANGE, ht_lock(e->as, 0 - PG, 2 * PG));
		EXPECT_ERR(e, HT_ERANGE, ht_map(e->as, 2 * PG, 0, 0 - PG, 0,
		    0));
	}
	EXPECT_ERR(e, HT_ERANGE, ht_walk(e->as, 2 * PG, PG, count_cb, &n));

	/* --- physical width --- */
	EXPECT_ERR(e, HT_EPABITS, ht_map(e->as, fr, plim, PG, 0, 0));
	EXPECT_ERR(e, HT_EPABITS, ht_map(e->as, fr, plim - PG, 2 * PG, 0, 0));
	EXPECT_ERR(e, HT_EPABITS, ht_map(e->as, fr, 0 - PG, PG, 0, 0));
	EXPECT_ERR(e, HT_EPABITS, ht_map(e->as, fr, 0 - PG, 2 * PG, 0, 0));
	if (pab < 52)
		EXPECT_ERR(e, HT_EPABITS, ht_map(e->as, fr, 1ull << 51, PG, 0,
		    0));
	if (g->pte_size == 4) {
		/* 32-bit: 4 KiB pages only below 4 GiB, 4 MiB up to 2^pa_bits */
		ht_va_t v4 = 3 * GIB;

		if (pab > 32) {
			EXPECT_ERR(e, HT_EPABITS, ht_map(e->as, fr, 1ull << 32,
			    PG, 0, 0));
			EXPECT_ERR(e, HT_EPABITS, ht_map(e->as, fr,
			    (1ull << 32) - PG, 2 * PG, 0, 0));
			EXPECT_ERR(e, HT_EPABITS, ht_map(e->as, v4, 1ull << 32,
			    4 * MIB, 0, HT_MAP_SIZE(HT_PS_4K)));
			/* a 4 MiB page + 4 KiB pages above 4 GiB */
			EXPECT_ERR(e, HT_EPABITS, ht_map(e->as, v4, 1ull << 32,
			    4 * MIB + PG, 0, 0));
			OK(ht_map(e->as, v4, 1ull << 32, 4 * MIB, HT_W, 0));
			XLATE(e->as, v4 + 0x123000, (1ull << 32) + 0x123000,
			    4 * MIB, HT_W);
		}
		OK(ht_map(e->as, v4, plim - 4 * MIB, 4 * MIB, HT_W, 0));
		XLATE(e->as, v4 + 0x3ff000, plim - PG, 4 * MIB,
		    eff(e, HT_W, 0));
		XLATE(e->as, v4, plim - 4 * MIB, 4 * MIB, eff(e, HT_W, 0));
		EXPECT_ERR(e, HT_EPABITS, ht_map(e->as, v4 + 4 * MIB, plim,
		    4 * MIB, 0, 0));
		OK(ht_unmap(e->as, v4, 4 * MIB, 0));
		UNMAPPED(e->as, v4);
	} else {
		/* the last frame of the width is fine */
		OK(ht_map(e->as, fr, plim - PG, PG, HT_W, 0));
		XLATE(e->as, fr, plim - PG, PG, eff(e, HT_W, 0));
		OK(ht_unmap(e->as, fr, PG, 0));
	}

	/* --- page sizes --- */
	{
		static const unsigned all_ps[4] = { HT_PS_4K, HT_PS_2M,
		    HT_PS_4M, HT_PS_1G };

		for (int i = 0; i < 4; i++) {
			if (all_ps[i] & ps)
				continue;
			EXPECT_ERR(e, HT_EPAGESIZE, ht_map(e->as, 0, 0, GIB, 0,
			    HT_MAP_SIZE(all_ps[i])));
		}
		EXPECT_ERR(e, HT_EPAGESIZE, ht_map(e->as, 0, 0, GIB, 0,
		    HT_MAP_SIZE(HT_PS_4K | level_ps(g, 1))));
		EXPECT_ERR(e, HT_EPAGESIZE, ht_map(e->as, 0, 0, GIB, 0,
		    HT_MAP_SIZE(0x3)));
	}

	/* --- unknown attributes and flags --- */
	EXPECT_ERR(e, HT_EINVAL, ht_map(e->as, fr, 0, PG, 0x80, 0));
	EXPECT_ERR(e, HT_EINVAL, ht_map(e->as, fr, 0, PG, 0x800, 0));
	EXPECT_ERR(e, HT_EINVAL, ht_map(e->as, fr, 0, PG, 0x4000000, 0));
	EXPECT_ERR(e, HT_EINVAL, ht_map(e->as, fr, 0, PG, HT_LOCKED, 0));
	EXPECT_ERR(e, HT_EINVAL, ht_map(e->as, fr, 0, PG, 0, 0x4));
	EXPECT_ERR(e, HT_EINVAL, ht_map(e->as, fr, 0, PG, 0, 0x1000));
	EXPECT_ERR(e, HT_EINVAL, ht_map(e->as, fr, 0, PG, 0, 0x80000000u));
	EXPECT_ERR(e, HT_EINVAL, ht_unmap(e->as, v0, PG, 0x2));
	EXPECT_ERR(e, HT_EINVAL, ht_unmap(e->as, v0, PG, 0x100));
	EXPECT_ERR(e, HT_EINVAL, ht_protect(e->as, v0, PG, HT_G));
	EXPECT_ERR(e, HT_EINVAL, ht_protect(e->as, v0, PG, HT_PAT | HT_W));
	EXPECT_ERR(e, HT_EINVAL, ht_protect(e->as, v0, PG, 0x1000));
	EXPECT_ERR(e, HT_EINVAL, ht_harvest_ad(e->as, v0, PG, 0, 1, NULL,
	    NULL));
	EXPECT_ERR(e, HT_EINVAL, ht_harvest_ad(e->as, v0, PG, HT_W, 1,
	    NULL, NULL));
	EXPECT_ERR(e, HT_EINVAL, ht_harvest_ad(e->as, v0, PG,
	    HT_A | 0x1000, 1, NULL, NULL));

	/* --- NOREPLACE, locks --- */
	EXPECT_ERR(e, HT_EEXIST, ht_map(e->as, v0, 0, PG, 0,
	    HT_MAP_NOREPLACE));
	EXPECT_ERR(e, HT_EEXIST, ht_map(e->as, v0 - PG, 0, 2 * PG, 0,
	    HT_MAP_NOREPLACE));
	EXPECT_ERR(e, HT_EEXIST, ht_map(e->as, vsmall + 3 * PG, 0, 4 * PG, 0,
	    HT_MAP_NOREPLACE));
	EXPECT_ERR(e, HT_EEXIST, ht_map(e->as, v0, 0, s1, 0,
	    HT_MAP_NOREPLACE | HT_MAP_SIZE(level_ps(g, 1))));
	EXPECT_ERR(e, HT_ELOCKED, ht_map(e->as, vlock, 0, PG, 0, 0));
	EXPECT_ERR(e, HT_ELOCKED, ht_map(e->as, vsmall, 0x7000000, 64 * PG,
	    HT_W, 0));
	EXPECT_ERR(e, HT_ELOCKED, ht_map(e->as, v0, 0, 2 * s1, 0, 0));
	EXPECT_ERR(e, HT_ELOCKED, ht_unmap(e->as, vlock, PG, 0));
	EXPECT_ERR(e, HT_ELOCKED, ht_unmap(e->as, v0, 2 * s1, 0));
	EXPECT_ERR(e, HT_ENOTLOCKED, ht_unlock(e->as, vsmall, PG));
	EXPECT_ERR(e, HT_ENOTLOCKED, ht_unlock(e->as, v0, PG));
	EXPECT_ERR(e, HT_ENOTLOCKED, ht_unlock(e->as, vsmall, 17 * PG));
	/* a translation of an unmapped address is a normal answer */
	cr_assert_eq(ht_translate(e->as, fr, &x), -HT_ENOTMAPPED);
	cr_assert(x.nlevels >= 1 && x.nlevels <= g->levels);

	/* --- everything still works --- */
	XLATE(e->as, v0, 2 * s1, s1, eff(e, HT_W | HT_G, 0));
	XLATE(e->as, vsmall + 3 * PG, 0x5003000, PG, eff(e, HT_U | HT_X, 0));
	OK(ht_unlock(e->as, vlock, PG));
	OK(ht_unmap(e->as, vlock, PG, 0));
	OK(ht_map(e->as, vlock, 0x6000000, PG, HT_W, HT_MAP_LOCK));
	OK(ht_unmap(e->as, vlock, PG, HT_UNMAP_UNLOCK));
	UNMAPPED(e->as, vlock);
	OK(ht_map(e->as, fr, 0x8000000, PG, 0, HT_MAP_NOREPLACE));
	XLATE(e->as, fr, 0x8000000, PG, eff(e, 0, 0));
	AUDIT(e->as);
	env_teardown(e);
}

/* ht_ctx_create with bad configurations; ht_ctx_destroy while busy. */
ParameterizedTestParameters(api, ctx_errors)
{
	static ht_mode_t m[4] = { HT_MODE_32BIT, HT_MODE_PAE,
	    HT_MODE_4LEVEL, HT_MODE_5LEVEL };
	return (cr_make_param_array(ht_mode_t, m, 4));
}

#define CTX_ERR(code, cfgp) do {					\
	ht_ctx_t *c_ = NULL;						\
	int rc_;							\
	arm_detail();							\
	rc_ = ht_ctx_create(cfgp, &c_);					\
	cr_assert_eq(rc_, -(code), "line %d: ht_ctx_create: %s, want %s", \
	    __LINE__, rc_ < 0 ? ht_err_name(rc_) : "success",		\
	    ht_err_name(code));						\
	check_detail(__LINE__, "ht_ctx_create");			\
	cr_assert_null(c_);						\
	cr_assert_eq(ht_arena_frames_used(e->arena), 0);		\
} while (0)

ParameterizedTest(ht_mode_t *mode, api, ctx_errors, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	ht_config_t cfg, good;
	ht_frame_ops_t ops;
	ht_ctx_t *ctx = NULL;
	ht_as_t *as = NULL, *as2 = NULL;

	env_arena(e, *mode);
	g = e->g;
	good = base_cfg(e, *mode);

	CTX_ERR(HT_EINVAL, NULL);
	arm_detail();
	cr_assert_eq(ht_ctx_create(&good, NULL), -HT_EINVAL);
	check_detail(__LINE__, "NULL r_ctx");

	cfg = good;
	cfg.frame_ops = NULL;
	CTX_ERR(HT_EINVAL, &cfg);
	ops = *ht_arena_ops();
	ops.alloc = NULL;
	cfg = good;
	cfg.frame_ops = &ops;
	CTX_ERR(HT_EINVAL, &cfg);
	ops = *ht_arena_ops();
	ops.free = NULL;
	CTX_ERR(HT_EINVAL, &cfg);
	ops = *ht_arena_ops();
	ops.map = NULL;
	ops.window = NULL;
	CTX_ERR(HT_EINVAL, &cfg);

	cfg = good;
	cfg.mode = (ht_mode_t)4;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.mode = (ht_mode_t)-1;
	CTX_ERR(HT_EINVAL, &cfg);

	/* page sizes: 4 KiB is required, others must exist in the mode */
	cfg = good;
	cfg.pagesizes = g->pagesizes & ~HT_PS_4K;
	CTX_ERR(HT_EPAGESIZE, &cfg);
	cfg.pagesizes = HT_PS_1G;
	CTX_ERR(HT_EPAGESIZE, &cfg);
	cfg.pagesizes = HT_PS_4K | ((g->pagesizes & HT_PS_4M) ? HT_PS_2M :
	    HT_PS_4M);
	CTX_ERR(HT_EPAGESIZE, &cfg);
	cfg.pagesizes = 0x10 | HT_PS_4K;
	CTX_ERR(HT_EPAGESIZE, &cfg);

	/* physical width */
	cfg = good;
	cfg.pa_bits = 31;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.pa_bits = 1;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.pa_bits = g->pa_bits_max + 1;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.pa_bits = 64;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.pa_bits = 1000;
	CTX_ERR(HT_EINVAL, &cfg);

	/* hash buckets */
	cfg = good;
	cfg.hash_buckets = 3;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.hash_buckets = 1000;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.hash_buckets = 0x80000001u;
	CTX_ERR(HT_EINVAL, &cfg);

	/* pools */
	cfg = good;
	cfg.npools = HT_MAX_POOLS + 1;
	for (int i = 0; i < HT_MAX_POOLS; i++) {
		cfg.pools[i].base = ARENA_BASE;
		cfg.pools[i].len = ARENA_SIZE;
	}
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.npools = 1000;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.npools = 1;
	cfg.pools[0].len = 0;
	CTX_ERR(HT_EINVAL, &cfg);
	cfg.pools[0].base = 0 - PG;
	cfg.pools[0].len = 2 * PG;
	CTX_ERR(HT_ERANGE, &cfg);

	/* the good ones: every valid combination works */
	cfg = good;
	cfg.npools = HT_MAX_POOLS;
	for (int i = 0; i < HT_MAX_POOLS; i++) {
		cfg.pools[i].base = ARENA_BASE + (ht_pa_t)i * MIB;
		cfg.pools[i].len = MIB;
	}
	cfg.hash_buckets = 1;
	cfg.pa_bits = 32;
	cfg.pagesizes = HT_PS_4K;
	OK(ht_ctx_create(&cfg, &ctx));
	cr_assert_eq(ht_ctx_pagesizes(ctx), HT_PS_4K);
	cr_assert_eq(ht_ctx_pa_bits(ctx), 32);
	cr_assert_eq(ht_ctx_geometry(ctx), g);
	OK(ht_ctx_destroy(ctx));
	/* map-only and window-only providers are accepted */
	ops = *ht_arena_ops();
	ops.window = NULL;
	cfg = good;
	cfg.frame_ops = &ops;
	OK(ht_ctx_create(&cfg, &ctx));
	OK(ht_ctx_destroy(ctx));
	ops = *ht_arena_ops();
	ops.map = NULL;
	OK(ht_ctx_create(&cfg, &ctx));
	OK(ht_ctx_destroy(ctx));
	cr_assert_eq(ht_ctx_destroy(NULL), 0);

	/* busy contexts */
	OK(ht_ctx_create(&good, &ctx));
	arm_detail();
	cr_assert_eq(ht_as_create(ctx, 0x2, &as), -HT_EINVAL);
	check_detail(__LINE__, "as_create flags");
	cr_assert_eq(ht_as_create(NULL, 0, &as), -HT_EINVAL);
	cr_assert_eq(ht_as_create(ctx, 0, NULL), -HT_EINVAL);
	OK(ht_as_create(ctx, 0, &as));
	OK(ht_as_create(ctx, HT_AS_NOSTEAL, &as2));
	cr_assert_eq(ht_as_ctx(as), ctx);
	OK(ht_map(as, 0x400000, 0x400000, 8 * PG, HT_W, 0));
	arm_detail();
	cr_assert_eq(ht_ctx_destroy(ctx), -HT_EBUSY);
	check_detail(__LINE__, "ctx_destroy busy");
	AUDIT(as);
	XLATE(as, 0x401000, 0x401000, PG, eff(e, HT_W, 0));
	ht_as_destroy(as);
	arm_detail();
	cr_assert_eq(ht_ctx_destroy(ctx), -HT_EBUSY);
	check_detail(__LINE__, "ctx_destroy busy");
	AUDIT(as2);
	ht_as_destroy(as2);
	ht_as_destroy(NULL);
	OK(ht_ctx_destroy(ctx));
	cr_assert_eq(ht_arena_frames_used(e->arena), 0);
	e->ctx = NULL;
	e->as = NULL;
	env_teardown(e);
}

/* Modes, geometry, error names. */
Test(api, names, .timeout = 30)
{
	const char *seen_names[HT__NERR];
	ht_mode_t m;

	for (int i = 0; i < 4; i++) {
		const char *n = ht_mode_name(all_modes[i]);

		cr_assert_not_null(n);
		OK(ht_mode_parse(n, &m));
		cr_assert_eq(m, all_modes[i]);
		cr_assert_not_null(ht_geometry(all_modes[i]));
		cr_assert_eq(ht_geometry(all_modes[i])->mode, all_modes[i]);
	}
	cr_assert_null(ht_mode_name((ht_mode_t)4));
	cr_assert_null(ht_mode_name((ht_mode_t)-1));
	cr_assert_null(ht_geometry((ht_mode_t)4));
	cr_assert_null(ht_geometry((ht_mode_t)-1));
	arm_detail();
	cr_assert_eq(ht_mode_parse("PAE", &m), -HT_EINVAL);
	check_detail(__LINE__, "mode_parse");
	cr_assert_eq(ht_mode_parse(NULL, &m), -HT_EINVAL);
	cr_assert_eq(ht_mode_parse("pae", NULL), -HT_EINVAL);

	cr_assert_str_eq(ht_err_name(0), "HT_OK");
	cr_assert_str_eq(ht_err_name(-HT_EINVAL), "HT_EINVAL");
	cr_assert_str_eq(ht_err_name(HT_EINVAL), "HT_EINVAL");
	cr_assert_str_eq(ht_err_name(-HT_ENOTSUP), "HT_ENOTSUP");
	cr_assert_str_eq(ht_err_name(-HT_EBADTABLE), "HT_EBADTABLE");
	cr_assert_str_eq(ht_strerror(-HT_ENOFRAME),
	    "no physical frame available for a page table");
	for (int c = 0; c < HT__NERR; c++) {
		const char *s = ht_strerror(-c), *n = ht_err_name(-c);

		cr_assert_not_null(s);
		cr_assert_not_null(n);
		cr_assert(s[0] != '\0' && n[0] != '\0');
		cr_assert_str_eq(s, ht_strerror(c));
		cr_assert_str_eq(n, ht_err_name(c));
		cr_assert_eq(strncmp(n, "HT_", 3), 0, "%s", n);
		cr_assert_str_neq(s, "unknown error", "code %d", c);
		cr_assert_str_neq(n, "HT_UNKNOWN", "code %d", c);
		for (int d = 0; d < c; d++)
			cr_assert_str_neq(n, seen_names[d]);
		seen_names[c] = n;
	}
	{
		static const int bad[] = { HT__NERR, -HT__NERR, HT__NERR + 1,
		    -(HT__NERR + 1), 100, -100, 4096, -65536, INT_MAX,
		    -INT_MAX };

		for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
			const char *s = ht_strerror(bad[i]);
			const char *n = ht_err_name(bad[i]);

			cr_assert_not_null(s);
			cr_assert_not_null(n);
			cr_assert(s[0] != '\0' && n[0] != '\0');
			cr_assert_str_eq(n, "HT_UNKNOWN", "%d -> %s", bad[i], n);
		}
	}
	cr_assert_str_eq(HT_VERSION_STRING, "0.1.0");
}

/*
 * ht_strerror(INT_MIN) and ht_err_name(INT_MIN): the code cannot be
 * negated (an old bug indexed the tables with the still-negative result).
 * The header promises "never NULL" for any code.
 */
Test(api, names_int_min, .timeout = 30)
{
	const char *s = ht_strerror(INT_MIN);
	const char *n = ht_err_name(INT_MIN);

	cr_assert_not_null(s);
	cr_assert_not_null(n);
	cr_assert_str_eq(n, "HT_UNKNOWN");
	cr_assert_str_eq(s, "unknown error");
}

/* ------------------------------------------------------------------ */
/* A failed map leaves no half-built state                             */
/* ------------------------------------------------------------------ */

MODE_PARAMS(nofail_halfbuilt)

ParameterizedTest(ht_mode_t *mode, api, nofail_halfbuilt, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	uint64_t s1, used0, k;
	ht_va_t x0, va, end;
	ht_pa_t off;
	snap_t b = { 0 }, a = { 0 };
	int rc = -1, failures = 0;

	env_setup(e, *mode);
	g = e->g;
	s1 = lsize(g, 1);
	/* existing state: a large page the new range cuts through, pages */
	x0 = 1 * GIB - 2 * s1;
	OK(ht_map(e->as, x0, 0x40000000, s1, HT_W | HT_X, 0));
	OK(ht_map(e->as, x0 + s1 + 8 * PG, 0x50000000, 4 * PG, HT_U, 0));
	OK(ht_map(e->as, x0 - PG, 0x60000000, PG, 0, 0));
	/*
	 * The new range starts in the middle of the large page (split),
	 * covers the small pages, crosses a 1 GiB boundary; its PA is not
	 * large-page aligned, so everything is 4 KiB pages: many tables.
	 */
	va = x0 + s1 / 2;
	end = 1 * GIB + 4 * s1 + 3 * PG;
	off = 0x1000;
	snap_take(e->as, g, &b);
	used0 = ht_arena_frames_used(e->arena);
	for (k = 0; k < 200; k++) {
		ht_arena_set_limit(e->arena, used0 + k);
		arm_detail();
		rc = ht_map(e->as, va, va + off, end - va, HT_W, 0);
		if (rc == 0)
			break;
		failures++;
		cr_assert_eq(rc, -HT_ENOFRAME, "k=%llu: %s (%s)",
		    (unsigned long long)k, ht_err_name(rc), ht_errdetail());
		check_detail(__LINE__, "failed map");
		AUDIT(e->as);
		snap_take(e->as, g, &a);
		snap_eq(&b, &a, __LINE__);
		/* the spare frames of the failed call are only cached */
		(void) ht_as_purge(e->as);
		cr_assert_eq(ht_arena_frames_used(e->arena), used0,
		    "k=%llu: %llu frames used, %llu before",
		    (unsigned long long)k,
		    (unsigned long long)ht_arena_frames_used(e->arena),
		    (unsigned long long)used0);
	}
	cr_assert_eq(rc, 0, "map never succeeded");
	cr_assert(failures >= 3, "only %d failures", failures);
	ht_arena_set_limit(e->arena, 0);
	AUDIT(e->as);
	XLATE(e->as, x0, 0x40000000, PG, eff(e, HT_W | HT_X, 0));
	XLATE(e->as, x0 + s1 / 2 - PG, 0x40000000 + s1 / 2 - PG, PG,
	    eff(e, HT_W | HT_X, 0));
	XLATE(e->as, va, va + off, PG, eff(e, HT_W, 0));
	XLATE(e->as, x0 + s1 + 8 * PG, x0 + s1 + 8 * PG + off, PG,
	    eff(e, HT_W, 0));
	XLATE(e->as, 1 * GIB, 1 * GIB + off, PG, eff(e, HT_W, 0));
	XLATE(e->as, end - PG, end - PG + off, PG, eff(e, HT_W, 0));
	XLATE(e->as, x0 - PG, 0x60000000, PG, eff(e, 0, 0));
	UNMAPPED(e->as, end);

	/* the same with a fresh space (alone: nothing to steal) */
	ht_as_destroy(e->as);
	e->as = NULL;
	{
		ht_as_t *as2;

		OK(ht_as_create(e->ctx, 0, &as2));
		used0 = ht_arena_frames_used(e->arena);
		failures = 0;
		for (k = 0; k < 200; k++) {
			int n = 0;

			ht_arena_set_limit(e->arena, used0 + k);
			rc = ht_map(as2, 8 * s1 + PG, PG, 64 * s1, HT_W, 0);
			if (rc == 0)
				break;
			failures++;
			cr_assert_eq(rc, -HT_ENOFRAME);
			AUDIT(as2);
			cr_assert_eq(leaf_count(as2), 0);
			/* (a walk from 0 of an empty space hangs: walk_empty) */
			OK(ht_walk(as2, PG, va_last(g), count_cb, &n));
			cr_assert_eq(n, 0);
			(void) ht_as_purge(as2);
			cr_assert_eq(ht_arena_frames_used(e->arena), used0);
		}
		cr_assert_eq(rc, 0);
		cr_assert(failures >= 2);
		ht_arena_set_limit(e->arena, 0);
		XLATE(as2, 8 * s1 + PG, PG, 0, eff(e, HT_W, 0));
		XLATE(as2, 72 * s1, 64 * s1, 0, eff(e, HT_W, 0));
		AUDIT(as2);
		ht_as_destroy(as2);
	}
	snap_free(&a);
	snap_free(&b);
	env_teardown(e);
}

/* ------------------------------------------------------------------ */
/* Page-size choice                                                    */
/* ------------------------------------------------------------------ */

MODE_PARAMS(pagesize_choice)

ParameterizedTest(ht_mode_t *mode, api, pagesize_choice, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	unsigned top;
	uint64_t s0 = PG, s1, st;
	ht_va_t va, p;
	ht_pa_t off;
	ht_stats_t st0;

	env_setup(e, *mode);
	g = e->g;
	top = top_leaf(g, g->pagesizes);
	s1 = lsize(g, 1);
	st = lsize(g, top);
	/*
	 * 3 small pages, one s1 page up to a top-size boundary, a top page,
	 * one s1 page, two small pages.
	 */
	va = 2 * st - s1 - 3 * s0;
	off = 16 * st;
	OK(ht_map(e->as, va, va + off, 3 * s0 + s1 + st + s1 + 2 * s0,
	    HT_W | HT_U, 0));
	AUDIT(e->as);
	p = va;
	for (int i = 0; i < 3; i++, p += s0)
		XLATE(e->as, p, p + off, s0, eff(e, HT_W | HT_U, 0));
	cr_assert_eq(p, 2 * st - s1);
	XLATE(e->as, p, p + off, s1, eff(e, HT_W | HT_U, 0));
	XLATE(e->as, p + s1 - s0, p + off + s1 - s0, s1, HT_W | HT_U);
	p += s1;
	cr_assert_eq(p, 2 * st);
	XLATE(e->as, p, p + off, st, HT_W | HT_U);
	XLATE(e->as, p + st / 2 + 5 * s0, p + st / 2 + 5 * s0 + off, st,
	    HT_W | HT_U);
	XLATE(e->as, p + st - s0, p + off + st - s0, st, HT_W | HT_U);
	p += st;
	XLATE(e->as, p, p + off, s1, HT_W | HT_U);
	p += s1;
	XLATE(e->as, p, p + off, s0, HT_W | HT_U);
	XLATE(e->as, p + s0, p + s0 + off, s0, HT_W | HT_U);
	UNMAPPED(e->as, p + 2 * s0);
	UNMAPPED(e->as, va - s0);
	OK(ht_unmap(e->as, va, 3 * s0 + s1 + st + s1 + 2 * s0, 0));
	UNMAPPED(e->as, 2 * st);

	/* PA not aligned like the VA: small pages only */
	OK(ht_map(e->as, 4 * st, 4 * st + PG, 2 * s1, HT_W, 0));
	XLATE(e->as, 4 * st, 4 * st + PG, s0, HT_W);
	XLATE(e->as, 4 * st + s1, 4 * st + s1 + PG, s0, HT_W);
	XLATE(e->as, 4 * st + 2 * s1 - PG, 4 * st + 2 * s1, s0, HT_W);
	OK(ht_unmap(e->as, 4 * st, 2 * s1, 0));

	/* forced sizes: every size the mode has, on a top-aligned range */
	for (unsigned l = 0; l < g->levels; l++) {
		unsigned lps = level_ps(g, l);
		uint64_t s = lsize(g, l);
		ht_va_t fv = 6 * st;

		if (!(lps & g->pagesizes))
			continue;
		OK(ht_map(e->as, fv, fv, st, HT_X, HT_MAP_SIZE(lps)));
		XLATE(e->as, fv, fv, s, eff(e, HT_X, 0));
		XLATE(e->as, fv + st - PG, fv + st - PG, s, eff(e, HT_X, 0));
		XLATE(e->as, fv + st / 2, fv + st / 2, s, eff(e, HT_X, 0));
		AUDIT(e->as);
		OK(ht_unmap(e->as, fv, st, 0));
		UNMAPPED(e->as, fv);
	}

	/* restricted page sizes: 4 KiB + the next one; then 4 KiB only */
	ht_as_destroy(e->as);
	e->as = NULL;
	OK(ht_ctx_destroy(e->ctx));
	for (int pass = 0; pass < 2; pass++) {
		ht_config_t cfg;
		unsigned want_ps = pass == 0 ? (HT_PS_4K | level_ps(g, 1)) :
		    HT_PS_4K;
		uint64_t want = pass == 0 ? s1 : PG;

		memset(&cfg, 0, sizeof (cfg));
		cfg = base_cfg(e, *mode);
		cfg.pagesizes = want_ps;
		OK(ht_ctx_create(&cfg, &e->ctx));
		cr_assert_eq(ht_ctx_pagesizes(e->ctx), want_ps);
		OK(ht_as_create(e->ctx, 0, &e->as));
		/* a 1 GiB-aligned GiB (4 MiB-aligned 8 MiB in 32-bit) */
		{
			uint64_t len = g->va_bits == 32 ? 8 * MIB : GIB;
			ht_va_t v = GIB;

			ht_ctx_stats(e->ctx, &st0);
			OK(ht_map(e->as, v, 2 * GIB, len, HT_W, 0));
			XLATE(e->as, v, 2 * GIB, want, HT_W);
			XLATE(e->as, v + len - PG, 2 * GIB + len - PG, want,
			    HT_W);
			XLATE(e->as, v + len / 2 + PG, 2 * GIB + len / 2 + PG,
			    want, HT_W);
			AUDIT(e->as);
			if (top >= 1 && pass == 1)
				EXPECT_ERR(e, HT_EPAGESIZE, ht_map(e->as, 0, 0,
				    s1, 0, HT_MAP_SIZE(level_ps(g, 1))));
			if (top >= 2 && pass == 0)
				EXPECT_ERR(e, HT_EPAGESIZE, ht_map(e->as, 0, 0,
				    GIB, 0, HT_MAP_SIZE(HT_PS_1G)));
		}
		ht_as_destroy(e->as);
		e->as = NULL;
		OK(ht_ctx_destroy(e->ctx));
		e->ctx = NULL;
	}
	env_teardown(e);
}

/* ------------------------------------------------------------------ */
/* Splits                                                              */
/* ------------------------------------------------------------------ */

/* Expected page size at va of a large page [b, b + S) split for `hole`. */
static uint64_t
split_size(const ht_geometry_t *g, unsigned lvl, ht_va_t va, ht_va_t hole)
{
	for (unsigned k = 0; k < lvl; k++) {
		unsigned sh = g->level_shift[k + 1];

		if ((va >> sh) == (hole >> sh))
			return (lsize(g, k));
	}
	return (lsize(g, lvl));
}

typedef struct split_chk {
	const env_t	*e;
	unsigned	lvl;
	ht_va_t		b, hole;
	ht_pa_t		pb;
	unsigned	attr, hole_attr;
	int		hole_mapped;
	ht_va_t		next;		/* next VA expected */
} split_chk_t;

static int
split_cb(void *arg, const ht_leaf_t *l)
{
	split_chk_t *c = arg;
	unsigned want = eff(c->e, l->va == c->hole ? c->hole_attr :
	    c->attr, 0);

	if (l->va == c->hole && !c->hole_mapped)
		cr_assert_fail("hole 0x%llx is mapped",
		    (unsigned long long)c->hole);
	if (c->next == c->hole && !c->hole_mapped)
		c->next += PG;
	cr_assert_eq(l->va, c->next, "leaf at 0x%llx, expected 0x%llx",
	    (unsigned long long)l->va, (unsigned long long)c->next);
	cr_assert_eq(l->pa, c->pb + (l->va - c->b));
	cr_assert_eq(l->size, split_size(c->e->g, c->lvl, l->va, c->hole),
	    "leaf 0x%llx size 0x%llx", (unsigned long long)l->va,
	    (unsigned long long)l->size);
	cr_assert_eq(l->attr & KEEP_ATTR, want, "leaf 0x%llx attr 0x%x want "
	    "0x%x", (unsigned long long)l->va, l->attr, want);
	c->next = l->va + l->size;
	return (0);
}

static void
split_check(env_t *e, unsigned lvl, ht_va_t b, ht_pa_t pb, ht_va_t hole,
    unsigned attr, unsigned hole_attr, int hole_mapped)
{
	uint64_t S = lsize(e->g, lvl);
	split_chk_t c = { e, lvl, b, hole, pb, attr, hole_attr, hole_mapped,
	    b };

	OK(ht_walk(e->as, b, b + S - 1, split_cb, &c));
	if (c.next == hole && !hole_mapped)
		c.next += PG;
	cr_assert_eq(c.next, b + S, "walk ended at 0x%llx",
	    (unsigned long long)c.next);
	/* translate the neighbours at every boundary around the hole */
	for (unsigned k = 0; k <= lvl; k++) {
		uint64_t s = lsize(e->g, k);
		ht_va_t rs = hole & ~(s - 1);
		ht_va_t pts[6] = { rs, rs - PG, rs + s - PG, rs + s,
		    hole - PG, hole + PG };

		for (int i = 0; i < 6; i++) {
			ht_va_t v = pts[i];

			if (v < b || v >= b + S)
				continue;
			if (v == hole && !hole_mapped) {
				UNMAPPED(e->as, v);
				continue;
			}
			xlate_is(e->as, v, pb + (v - b),
			    split_size(e->g, lvl, v, hole),
			    eff(e, v == hole ? hole_attr : attr, 0), KEEP_ATTR,
			    __LINE__);
		}
	}
}

MODE_PARAMS(splits)

ParameterizedTest(ht_mode_t *mode, api, splits, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	ht_stats_t s0, s1;

	env_setup(e, *mode);
	g = e->g;
	for (unsigned lvl = 1; lvl < g->levels; lvl++) {
		uint64_t S = lsize(g, lvl);
		ht_va_t b = 4 * S > 2 * GIB ? 2 * S : 4 * S;
		ht_pa_t pb = 8 * S;
		unsigned attr = eff(e, HT_W | HT_G | HT_PCD | HT_PAT, 0);
		ht_va_t hole;

		if (!leaf_level(g, g->pagesizes, lvl))
			continue;
		if (g->va_bits == 32 && b + S > 4 * GIB)
			b = 0;
		hole = b + S / 2 + 3 * PG;

		/* unmap one 4 KiB page */
		OK(ht_map(e->as, b, pb, S, attr & ~HT_X, 0));
		XLATE(e->as, b, pb, S, attr & ~HT_X);
		ht_ctx_stats(e->ctx, &s0);
		OK(ht_unmap(e->as, hole, PG, 0));
		ht_ctx_stats(e->ctx, &s1);
		cr_assert_eq(s1.splits, s0.splits + lvl, "splits %llu -> %llu",
		    (unsigned long long)s0.splits,
		    (unsigned long long)s1.splits);
		AUDIT(e->as);
		split_check(e, lvl, b, pb, hole, attr & ~HT_X, 0, 0);
		OK(ht_unmap(e->as, b, S, 0));
		UNMAPPED(e->as, b);

		/* protect one 4 KiB page */
		OK(ht_map(e->as, b, pb, S, attr, 0));
		ht_ctx_stats(e->ctx, &s0);
		OK(ht_protect(e->as, hole, PG, HT_U));
		ht_ctx_stats(e->ctx, &s1);
		cr_assert(s1.splits > s0.splits);
		AUDIT(e->as);
		split_check(e, lvl, b, pb, hole, attr,
		    eff(e, (attr & ~(HT_W | HT_X)) | HT_U, 0), 1);

		/* a protect of the whole range changes every piece */
		OK(ht_protect(e->as, b, S, HT_X));
		split_check(e, lvl, b, pb, hole, eff(e, (attr & ~HT_W) | HT_X,
		    0), eff(e, (attr & ~HT_W) | HT_X, 0), 1);
		/* a re-map of the whole range gives one large page again */
		OK(ht_map(e->as, b, pb, S, HT_W, 0));
		XLATE(e->as, hole, pb + (hole - b), S, eff(e, HT_W, 0));
		AUDIT(e->as);

		/* unmap the first 4 KiB and the last 4 KiB page */
		OK(ht_unmap(e->as, b, PG, 0));
		OK(ht_unmap(e->as, b + S - PG, PG, 0));
		UNMAPPED(e->as, b);
		UNMAPPED(e->as, b + S - PG);
		XLATE(e->as, b + PG, pb + PG, PG, eff(e, HT_W, 0));
		XLATE(e->as, b + S - 2 * PG, pb + S - 2 * PG, PG,
		    eff(e, HT_W, 0));
		XLATE(e->as, b + S / 2, pb + S / 2, 0, eff(e, HT_W, 0));
		AUDIT(e->as);

		/* a lock of one page splits too, and keeps the rest */
		OK(ht_unmap(e->as, b, S, 0));
		OK(ht_map(e->as, b, pb, S, HT_W, 0));
		OK(ht_lock(e->as, hole, PG));
		{
			ht_xlate_t x;

			OK(ht_translate(e->as, hole, &x));
			cr_assert(x.attr & HT_LOCKED);
			cr_assert_eq(x.page_size, PG);
			OK(ht_translate(e->as, hole + PG, &x));
			cr_assert(!(x.attr & HT_LOCKED));
		}
		cr_assert_eq(ht_unmap(e->as, b, S, 0), -HT_ELOCKED);
		OK(ht_unmap(e->as, b, S, HT_UNMAP_UNLOCK));
		UNMAPPED(e->as, hole);
		AUDIT(e->as);
	}
	env_teardown(e);
}

/* ------------------------------------------------------------------ */
/* Remap, protect, A/D                                                 */
/* ------------------------------------------------------------------ */

MODE_PARAMS(remap_protect)

ParameterizedTest(ht_mode_t *mode, api, remap_protect, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	uint64_t s1;
	ht_va_t v = 16 * MIB;
	const unsigned keep = HT_G | HT_PWT | HT_PCD | HT_PAT;

	env_setup(e, *mode);
	g = e->g;
	s1 = lsize(g, 1);

	/* remap: new PA and attributes */
	OK(ht_map(e->as, v, 0x100000, 4 * PG, HT_W, 0));
	OK(ht_map(e->as, v, 0x900000, 4 * PG, HT_U | HT_PCD, 0));
	XLATE(e->as, v + 2 * PG, 0x902000, PG, eff(e, HT_U | HT_PCD, 0));
	/* one page of the middle */
	OK(ht_map(e->as, v + PG, 0xa00000, PG, HT_W | HT_X | HT_G, 0));
	XLATE(e->as, v, 0x900000, PG, eff(e, HT_U | HT_PCD, 0));
	XLATE(e->as, v + PG, 0xa00000, PG, eff(e, HT_W | HT_X | HT_G, 0));
	XLATE(e->as, v + 2 * PG, 0x902000, PG, eff(e, HT_U | HT_PCD, 0));
	/* small pages replaced by a large page, and back */
	OK(ht_map(e->as, v, 0x4000000, s1, HT_W, 0));
	XLATE(e->as, v + PG, 0x4001000, s1, eff(e, HT_W, 0));
	AUDIT(e->as);
	OK(ht_map(e->as, v, 0x8000000, s1, HT_U, HT_MAP_SIZE(HT_PS_4K)));
	XLATE(e->as, v + PG, 0x8001000, PG, eff(e, HT_U, 0));
	XLATE(e->as, v + s1 - PG, 0x8000000 + s1 - PG, PG, eff(e, HT_U, 0));
	AUDIT(e->as);
	/* a small page replaced inside a large one (split) */
	OK(ht_map(e->as, v, 0x4000000, s1, HT_W, 0));
	OK(ht_map(e->as, v + 5 * PG, 0x7000000, PG, HT_U, 0));
	XLATE(e->as, v + 5 * PG, 0x7000000, PG, eff(e, HT_U, 0));
	XLATE(e->as, v + 4 * PG, 0x4004000, PG, eff(e, HT_W, 0));
	XLATE(e->as, v + 6 * PG, 0x4006000, PG, eff(e, HT_W, 0));
	AUDIT(e->as);
	OK(ht_unmap(e->as, v, s1, 0));

	/* protect: exactly W/U/X, the rest kept; small and large pages */
	for (int large = 0; large < 2; large++) {
		uint64_t len = large ? s1 : 2 * PG;
		uint64_t ps = large ? s1 : PG;

		OK(ht_map(e->as, v, 0x4000000, len, HT_W | HT_U | HT_X | keep,
		    0));
		for (unsigned prot = 0; prot < 8; prot++) {
			OK(ht_protect(e->as, v, len, prot));
			XLATE(e->as, v, 0x4000000, ps, eff(e, prot | keep, 0));
			XLATE(e->as, v + len - PG, 0x4000000 + len - PG, ps,
			    eff(e, prot | keep, 0));
		}
		/* holes are fine */
		OK(ht_protect(e->as, v - 64 * PG, len + 128 * PG, HT_W));
		XLATE(e->as, v, 0x4000000, ps, eff(e, HT_W | keep, 0));
		UNMAPPED(e->as, v - PG);
		OK(ht_protect(e->as, 512 * MIB, PG, HT_W));
		AUDIT(e->as);
		OK(ht_unmap(e->as, v, len, 0));
	}
	env_teardown(e);

	/* no_nx: X always effective in the 64-bit-entry modes too */
	if (g->has_nx) {
		ht_config_t cfg;
		ht_xlate_t x;

		memset(&cfg, 0, sizeof (cfg));
		cfg.no_nx = 1;
		env_setup_cfg(e, *mode, &cfg);
		OK(ht_map(e->as, v, 0x4000000, PG, HT_W, 0));
		OK(ht_translate(e->as, v, &x));
		cr_assert(x.attr & HT_X);
		cr_assert_eq(x.entries[x.nlevels - 1] >> 63, 0);
		OK(ht_protect(e->as, v, PG, 0));
		OK(ht_translate(e->as, v, &x));
		cr_assert(x.attr & HT_X);
		OK(ht_unmap(e->as, v, PG, 0));
		env_teardown(e);
	} else {
		/* 32-bit: no NX bit at all */
		ht_xlate_t x;

		env_setup(e, *mode);
		OK(ht_map(e->as, v, 0x4000000, PG, HT_W, 0));
		OK(ht_translate(e->as, v, &x));
		cr_assert(x.attr & HT_X);
		cr_assert_eq(x.entries[x.nlevels - 1] >> 32, 0);
		OK(ht_protect(e->as, v, PG, HT_W));
		OK(ht_translate(e->as, v, &x));
		cr_assert(x.attr & HT_X);
		env_teardown(e);
	}
}

typedef struct ad_rec {
	int		n;
	ht_va_t		va[16];
	uint64_t	size[16];
	unsigned	bits[16];
} ad_rec_t;

static void
ad_cb(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	ad_rec_t *r = arg;

	cr_assert(r->n < 16);
	r->va[r->n] = va;
	r->size[r->n] = size;
	r->bits[r->n] = bits;
	r->n++;
}

static unsigned
ad_bits_of(const ad_rec_t *r, ht_va_t va)
{
	for (int i = 0; i < r->n; i++)
		if (r->va[i] == va)
			return (r->bits[i]);
	return (0);
}

static unsigned
xattr(ht_as_t *as, ht_va_t va)
{
	ht_xlate_t x;

	OK(ht_translate(as, va, &x));
	return (x.attr);
}

MODE_PARAMS(accessed_dirty)

ParameterizedTest(ht_mode_t *mode, api, accessed_dirty, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	uint64_t s1;
	ht_va_t v = 64 * MIB, lv;
	ad_rec_t r;
	long n;

	env_setup(e, *mode);
	g = e->g;
	s1 = lsize(g, 1);
	lv = v + 4 * s1;
	OK(ht_map(e->as, v, 0x1000000, 4 * PG, HT_W, 0));
	OK(ht_map(e->as, lv, 8 * s1, s1, HT_W, 0));
	/* nothing set yet */
	memset(&r, 0, sizeof (r));
	n = ht_harvest_ad(e->as, v, 8 * s1, HT_A | HT_D, 1, ad_cb, &r);
	cr_assert_eq(n, 0);
	cr_assert_eq(r.n, 0);
	/* the MMU accesses page 0, dirties 1, both on 2 and the large page */
	raw_touch(e, e->as, v, PG, E_A);
	raw_touch(e, e->as, v + PG, PG, E_D);
	raw_touch(e, e->as, v + 2 * PG, PG, E_A | E_D);
	raw_touch(e, e->as, lv, s1, E_A | E_D);
	cr_assert_eq(xattr(e->as, v) & (HT_A | HT_D), HT_A);
	cr_assert_eq(xattr(e->as, v + PG) & (HT_A | HT_D), HT_D);
	cr_assert_eq(xattr(e->as, v + 2 * PG) & (HT_A | HT_D), HT_A | HT_D);
	cr_assert_eq(xattr(e->as, v + 3 * PG) & (HT_A | HT_D), 0);
	cr_assert_eq(xattr(e->as, lv + 7 * PG) & (HT_A | HT_D), HT_A | HT_D);
	AUDIT(e->as);

	/* test only */
	memset(&r, 0, sizeof (r));
	tlb_reset(e);
	n = ht_harvest_ad(e->as, v, 8 * s1, HT_A | HT_D, 0, ad_cb, &r);
	cr_assert_eq(n, 4);
	cr_assert_eq(r.n, 4);
	cr_assert_eq(ad_bits_of(&r, v), HT_A);
	cr_assert_eq(ad_bits_of(&r, v + PG), HT_D);
	cr_assert_eq(ad_bits_of(&r, v + 2 * PG), HT_A | HT_D);
	cr_assert_eq(ad_bits_of(&r, lv), HT_A | HT_D);
	for (int i = 0; i < r.n; i++)
		cr_assert_eq(r.size[i], r.va[i] == lv ? s1 : PG);
	cr_assert_eq(e->ntlb_total, 0, "testing without clearing flushed");
	cr_assert_eq(xattr(e->as, v + 2 * PG) & (HT_A | HT_D), HT_A | HT_D);
	/* no callback */
	cr_assert_eq(ht_harvest_ad(e->as, v, 8 * s1, HT_A, 0, NULL, NULL),
	    3);
	cr_assert_eq(ht_harvest_ad(e->as, v, 8 * s1, HT_D, 0, NULL, NULL),
	    3);
	/* part of the large page: reported whole */
	memset(&r, 0, sizeof (r));
	cr_assert_eq(ht_harvest_ad(e->as, lv + 3 * PG, PG, HT_A, 0, ad_cb,
	    &r), 1);
	cr_assert_eq(r.va[0], lv);
	cr_assert_eq(r.size[0], s1);

	/* clear D only */
	memset(&r, 0, sizeof (r));
	tlb_reset(e);
	n = ht_harvest_ad(e->as, v, 8 * s1, HT_D, 1, ad_cb, &r);
	cr_assert_eq(n, 3);
	cr_assert_eq(ad_bits_of(&r, v), 0);
	cr_assert_eq(ad_bits_of(&r, v + PG), HT_D);
	cr_assert_eq(ad_bits_of(&r, v + 2 * PG), HT_D);
	cr_assert_eq(ad_bits_of(&r, lv), HT_D);
	cr_assert(e->ntlb_total >= 1);
	cr_assert(tlb_covers(e, e->as, v + PG, 2 * PG));
	cr_assert(tlb_covers(e, e->as, lv, s1));
	cr_assert_eq(xattr(e->as, v) & (HT_A | HT_D), HT_A);
	cr_assert_eq(xattr(e->as, v + PG) & (HT_A | HT_D), 0);
	cr_assert_eq(xattr(e->as, v + 2 * PG) & (HT_A | HT_D), HT_A);
	cr_assert_eq(xattr(e->as, lv) & (HT_A | HT_D), HT_A);
	/* other attributes untouched */
	XLATE(e->as, v + 2 * PG, 0x1002000, PG, eff(e, HT_W, 0));
	XLATE(e->as, lv + PG, 8 * s1 + PG, s1, eff(e, HT_W, 0));
	cr_assert_eq(ht_harvest_ad(e->as, v, 8 * s1, HT_D, 1, NULL, NULL),
	    0);

	/* clear A */
	memset(&r, 0, sizeof (r));
	tlb_reset(e);
	n = ht_harvest_ad(e->as, v, 8 * s1, HT_A | HT_D, 1, ad_cb, &r);
	cr_assert_eq(n, 3);
	cr_assert_eq(ad_bits_of(&r, v), HT_A);
	cr_assert_eq(ad_bits_of(&r, v + 2 * PG), HT_A);
	cr_assert_eq(ad_bits_of(&r, lv), HT_A);
	cr_assert(tlb_covers(e, e->as, v, PG));
	cr_assert(tlb_covers(e, e->as, v + 2 * PG, PG));
	cr_assert(tlb_covers(e, e->as, lv, s1));
	cr_assert_eq(ht_harvest_ad(e->as, v, 8 * s1, HT_A | HT_D, 0, NULL,
	    NULL), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(xattr(e->as, v + i * PG) & (HT_A | HT_D), 0);
	AUDIT(e->as);

	/* A/D survive a split and a protect */
	raw_touch(e, e->as, lv, s1, E_A | E_D);
	OK(ht_protect(e->as, lv + PG, PG, HT_W | HT_U));
	cr_assert_eq(xattr(e->as, lv) & (HT_A | HT_D), HT_A | HT_D);
	cr_assert_eq(xattr(e->as, lv + PG) & (HT_A | HT_D), HT_A | HT_D);
	cr_assert_eq(ht_harvest_ad(e->as, lv, s1, HT_D, 0, NULL, NULL),
	    (long)(s1 / PG));
	AUDIT(e->as);
	env_teardown(e);
}

/* ------------------------------------------------------------------ */
/* TLB callback                                                        */
/* ------------------------------------------------------------------ */

MODE_PARAMS(tlb)

ParameterizedTest(ht_mode_t *mode, api, tlb, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	ht_stats_t st0, st1;
	uint64_t s1;
	ht_va_t v = GIB;
	ht_as_t *as;

	env_setup(e, *mode);
	g = e->g;
	s1 = lsize(g, 1);

	/* mapping into empty entries needs no flush */
	tlb_reset(e);
	ht_ctx_stats(e->ctx, &st0);
	OK(ht_map(e->as, v, 0, GIB, HT_W, HT_MAP_SIZE(HT_PS_4K)));
	OK(ht_map(e->as, 3 * GIB, 0, s1, HT_W, 0));
	OK(ht_map(e->as, 3 * GIB + s1 + PG, 0, 4 * PG, HT_W, 0));
	cr_assert_eq(e->ntlb_total, 0, "%llu TLB calls for a fresh map",
	    (unsigned long long)e->ntlb_total);
	ht_ctx_stats(e->ctx, &st1);
	cr_assert_eq(st1.tlb_calls, st0.tlb_calls);

	/* unmap of 1 GiB of touched 4 KiB pages: few merged calls */
	raw_touch(e, e->as, v, GIB, E_A);
	tlb_reset(e);
	OK(ht_unmap(e->as, v, GIB, 0));
	cr_assert(e->ntlb_total >= 1 && e->ntlb_total <= 8,
	    "%llu TLB calls", (unsigned long long)e->ntlb_total);
	cr_assert(tlb_covers(e, e->as, v, GIB));
	ht_ctx_stats(e->ctx, &st1);
	cr_assert(st1.tlb_calls > st0.tlb_calls);
	UNMAPPED(e->as, v);

	/* the same with untouched pages: still at most 8 calls */
	OK(ht_map(e->as, v, 0, GIB, HT_W, HT_MAP_SIZE(HT_PS_4K)));
	tlb_reset(e);
	OK(ht_unmap(e->as, v, GIB, 0));
	cr_assert(e->ntlb_total <= 8, "%llu TLB calls",
	    (unsigned long long)e->ntlb_total);

	/* unmap of a large page and a few small ones */
	raw_touch(e, e->as, 3 * GIB, s1, E_A);
	raw_touch(e, e->as, 3 * GIB + s1 + PG, 4 * PG, E_A | E_D);
	tlb_reset(e);
	OK(ht_unmap(e->as, 3 * GIB, 2 * s1, 0));
	cr_assert(e->ntlb_total >= 1 && e->ntlb_total <= 8);
	cr_assert(tlb_covers(e, e->as, 3 * GIB, s1));
	cr_assert(tlb_covers(e, e->as, 3 * GIB + s1 + PG, 4 * PG));

	/* remap of an accessed page must flush it; protect likewise */
	OK(ht_map(e->as, 3 * GIB, 0x100000, PG, HT_W, 0));
	raw_touch(e, e->as, 3 * GIB, PG, E_A);
	tlb_reset(e);
	OK(ht_map(e->as, 3 * GIB, 0x200000, PG, HT_W, 0));
	cr_assert(tlb_covers(e, e->as, 3 * GIB, PG));
	raw_touch(e, e->as, 3 * GIB, PG, E_A);
	tlb_reset(e);
	OK(ht_protect(e->as, 3 * GIB, PG, 0));
	cr_assert(tlb_covers(e, e->as, 3 * GIB, PG));
	/* lock and unlock are software bits only */
	tlb_reset(e);
	OK(ht_lock(e->as, 3 * GIB, PG));
	OK(ht_unlock(e->as, 3 * GIB, PG));
	cr_assert_eq(e->ntlb_total, 0);

	/* destroy: everything of that space, once */
	OK(ht_as_create(e->ctx, 0, &as));
	OK(ht_map(as, 0x400000, 0, 16 * PG, HT_W, 0));
	tlb_reset(e);
	ht_as_destroy(as);
	cr_assert_eq(e->ntlb_total, 1);
	cr_assert_eq(e->tlb[0].as, as);
	cr_assert_eq(e->tlb[0].len, HT_TLB_ALL);
	tlb_reset(e);
	ht_as_destroy(e->as);
	cr_assert_eq(e->ntlb_total, 1);
	cr_assert_eq(e->tlb[0].len, HT_TLB_ALL);
	e->as = NULL;
	env_teardown(e);
}

/* ------------------------------------------------------------------ */
/* Pools                                                               */
/* ------------------------------------------------------------------ */

typedef struct pool_chk {
	const ht_config_t	*cfg;
	long			n;
	int			bad;
} pool_chk_t;

static void
pool_cb(void *arg, const ht_as_t *as, ht_pfn_t pfn, int level)
{
	pool_chk_t *c = arg;
	ht_pa_t pa = pfn << 12;
	int in = 0;

	(void) as;
	(void) level;
	for (unsigned i = 0; i < c->cfg->npools; i++)
		if (pa >= c->cfg->pools[i].base &&
		    pa - c->cfg->pools[i].base < c->cfg->pools[i].len)
			in = 1;
	c->n++;
	if (!in)
		c->bad++;
}

MODE_PARAMS(pools)

ParameterizedTest(ht_mode_t *mode, api, pools, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	ht_config_t cfg;
	uint64_t s1;
	pool_chk_t c;
	int i, rc = 0;
	long n;

	memset(&cfg, 0, sizeof (cfg));
	cfg.npools = 2;
	cfg.pools[0].base = ARENA_BASE + 64 * MIB;
	cfg.pools[0].len = 15 * PG;
	cfg.pools[1].base = ARENA_BASE + 200 * MIB;
	cfg.pools[1].len = 32 * PG;
	env_setup_cfg(e, *mode, &cfg);
	g = e->g;
	s1 = lsize(g, 1);

	/* one small page per large region: one table each */
	for (i = 0; i < 200; i++) {
		snap_t b = { 0 }, a = { 0 };

		snap_take(e->as, g, &b);
		arm_detail();
		rc = ht_map(e->as, (ht_va_t)i * s1 + 7 * PG, 0x1000, PG, HT_W,
		    0);
		if (rc != 0) {
			cr_assert_eq(rc, -HT_ENOFRAME, "%s", ht_err_name(rc));
			check_detail(__LINE__, "pool exhausted");
			AUDIT(e->as);
			snap_take(e->as, g, &a);
			snap_eq(&b, &a, __LINE__);
			snap_free(&a);
			snap_free(&b);
			break;
		}
		snap_free(&b);
	}
	cr_assert_eq(rc, -HT_ENOFRAME, "pools never ran out");
	cr_assert(i >= 8 && i <= 48, "%d maps before exhaustion", i);
	memset(&c, 0, sizeof (c));
	c.cfg = &cfg;
	n = ht_ctx_dump_frames(e->ctx, pool_cb, &c);
	cr_assert_eq(n, c.n);
	cr_assert_eq(c.bad, 0, "%d of %ld frames outside the pools", c.bad, n);
	cr_assert(n >= i);
	/* the pools hold at most 15 + 32 frames */
	cr_assert(n <= 47, "%ld frames", n);
	cr_assert_eq((uint64_t)n, ht_arena_frames_used(e->arena));
	/* a second space cannot even get a root */
	{
		ht_as_t *as2 = NULL;

		arm_detail();
		rc = ht_as_create(e->ctx, 0, &as2);
		if (rc == 0) {
			/* possible only if a cached frame was reused */
			ht_as_destroy(as2);
		} else {
			cr_assert_eq(rc, -HT_ENOFRAME, "%s", ht_err_name(rc));
		}
	}
	/* everything mapped so far still translates */
	for (int j = 0; j < i; j++)
		XLATE(e->as, (ht_va_t)j * s1 + 7 * PG, 0x1000, PG,
		    eff(e, HT_W, 0));
	/* freeing makes room again */
	OK(ht_unmap(e->as, 0, (ht_va_t)i * s1, 0));
	(void) ht_as_purge(e->as);
	OK(ht_map(e->as, (ht_va_t)i * s1 + 7 * PG, 0x1000, PG, HT_W, 0));
	memset(&c, 0, sizeof (c));
	c.cfg = &cfg;
	n = ht_ctx_dump_frames(e->ctx, pool_cb, &c);
	cr_assert_eq(c.bad, 0);
	AUDIT(e->as);
	env_teardown(e);
}

/* ------------------------------------------------------------------ */
/* Import                                                              */
/* ------------------------------------------------------------------ */

static void
snap_eq2(ht_as_t *x, ht_as_t *y, const ht_geometry_t *g)
{
	snap_t a = { 0 }, b = { 0 };

	snap_take(x, g, &a);
	snap_take(y, g, &b);
	snap_eq(&a, &b, __LINE__);
	cr_assert(a.n > 0);
	snap_free(&a);
	snap_free(&b);
}

/* Write one entry of a raw table. */
static void
raw_put(env_t *e, ht_pa_t table, unsigned idx, uint64_t v)
{
	uint8_t *p = ht_arena_ptr(e->arena, table);

	cr_assert_not_null(p);
	if (e->g->pte_size == 4)
		*(uint32_t *)(void *)(p + idx * 4) = (uint32_t)v;
	else
		*(uint64_t *)(void *)(p + idx * 8) = v;
}

static ht_pa_t
raw_frame(env_t *e)
{
	ht_pfn_t pfn;
	ht_pa_t pa;

	OK(ht_arena_ops()->alloc(e->arena, ARENA_BASE, ARENA_BASE + 64 * MIB,
	    &pfn));
	pa = pfn << 12;
	memset(ht_arena_ptr(e->arena, pa), 0, PG);
	return (pa);
}

#define IMPORT_BAD(e, ctx2, root) do {					\
	ht_as_t *i_ = NULL;						\
	uint64_t u_ = ht_arena_frames_used((e)->arena);			\
	ht_stats_t s_;							\
	int rc_;							\
	arm_detail();							\
	rc_ = ht_as_import(ctx2, root, 0, &i_);				\
	cr_assert_eq(rc_, -HT_EBADTABLE, "line %d: import: %s (%s)",	\
	    __LINE__, rc_ < 0 ? ht_err_name(rc_) : "success",		\
	    ht_errdetail());						\
	check_detail(__LINE__, "import");				\
	cr_assert_null(i_);						\
	cr_assert_eq(ht_arena_frames_used((e)->arena), u_);		\
	ht_ctx_stats(ctx2, &s_);					\
	cr_assert_eq(s_.address_spaces, 0);				\
} while (0)

MODE_PARAMS(import)

ParameterizedTest(ht_mode_t *mode, api, import, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	ht_config_t cfg;
	ht_ctx_t *ctx2;
	ht_as_t *imp;
	uint64_t s1, used;
	ht_xlate_t x1, x2;
	static const ht_va_t probe[] = { 0x400000, 0x401000, 0x403000,
	    0x10000000, 0x10123000, 0x20000000, 0x7fff000 };

	env_setup(e, *mode);
	g = e->g;
	s1 = lsize(g, 1);
	OK(ht_map(e->as, 0x400000, 0x1000000, 4 * PG, HT_W | HT_U, 0));
	OK(ht_map(e->as, 0x10000000, 0x20000000, 2 * s1, HT_X | HT_G, 0));
	OK(ht_map(e->as, 0x20000000, 0x30000000, PG, HT_PCD, HT_MAP_LOCK));
	OK(ht_map(e->as, 0x7fff000, 0x5000, PG, HT_PAT, 0));
	if (g->levels >= 4)
		OK(ht_map(e->as, 0xffffffff80000000ull, 0x40000000, 3 * s1,
		    HT_W, 0));

	cfg = base_cfg(e, *mode);
	OK(ht_ctx_create(&cfg, &ctx2));
	used = ht_arena_frames_used(e->arena);
	OK(ht_as_import(ctx2, ht_as_root(e->as), 0, &imp));
	cr_assert_eq(ht_arena_frames_used(e->arena), used);
	cr_assert_eq(ht_as_root(imp), ht_as_root(e->as));
	cr_assert_eq(ht_as_ctx(imp), ctx2);
	AUDIT(imp);
	snap_eq2(e->as, imp, g);
	for (size_t i = 0; i < sizeof (probe) / sizeof (probe[0]); i++) {
		int r1 = ht_translate(e->as, probe[i], &x1);
		int r2 = ht_translate(imp, probe[i], &x2);

		cr_assert_eq(r1, r2);
		if (r1 == 0) {
			cr_assert_eq(x1.pa, x2.pa);
			cr_assert_eq(x1.attr, x2.attr);
			cr_assert_eq(x1.page_size, x2.page_size);
		}
	}
	{
		ht_xlate_t lx;

		OK(ht_translate(imp, 0x20000000, &lx));
		cr_assert(lx.attr & HT_LOCKED);
		cr_assert_eq(ht_unmap(imp, 0x20000000, PG, 0), -HT_ELOCKED);
	}
	/* changes through the import */
	OK(ht_unmap(imp, 0x401000, PG, 0));
	UNMAPPED(imp, 0x401000);
	UNMAPPED(e->as, 0x401000);	/* same frames */
	OK(ht_unmap(imp, 0x10000000, s1, 0));
	UNMAPPED(imp, 0x10000000);
	XLATE(imp, 0x10000000 + s1, 0x20000000 + s1, s1, eff(e, HT_X | HT_G,
	    0));
	OK(ht_unmap(imp, 0x7fff000, PG, 0));
	OK(ht_map(imp, 0x50000000, 0x9000000, 8 * PG, HT_W, 0));
	XLATE(imp, 0x50007000, 0x9007000, PG, eff(e, HT_W, 0));
	OK(ht_protect(imp, 0x400000, PG, 0));
	XLATE(imp, 0x400000, 0x1000000, PG, eff(e, 0, 0));
	AUDIT(imp);
	ht_as_destroy(imp);
	/* garbage imports */
	{
		ht_pa_t root = raw_frame(e), t1 = raw_frame(e);
		unsigned top = g->levels - 1;
		uint64_t ptp = g->mode == HT_MODE_PAE ? E_P : 0x7;
		ht_config_t c36 = cfg;
		ht_ctx_t *ctx36;

		/* a valid one first (root -> one empty table) */
		raw_put(e, root, 0, t1 | ptp);
		OK(ht_as_import(ctx2, root, 0, &imp));
		AUDIT(imp);
		ht_as_destroy(imp);

		/* two entries naming the same table */
		raw_put(e, root, 1, t1 | ptp);
		IMPORT_BAD(e, ctx2, root);
		raw_put(e, root, 1, 0);
		/* a self-referencing root */
		raw_put(e, root, 1, root | ptp);
		IMPORT_BAD(e, ctx2, root);
		raw_put(e, root, 1, 0);
		/* a table outside the arena */
		raw_put(e, root, 1, (ARENA_BASE + ARENA_SIZE + 16 * MIB) | ptp);
		IMPORT_BAD(e, ctx2, root);
		raw_put(e, root, 1, 0);
		/* a table reached twice on different levels */
		raw_put(e, t1, 5, t1 | 0x7);
		if (top >= 2)
			IMPORT_BAD(e, ctx2, root);
		raw_put(e, t1, 5, 0);
		/* reserved bits */
		if (g->pte_size == 4) {
			/* a 4 MiB leaf with bit 21 set */
			raw_put(e, root, 2, E_P | E_PS | (1ull << 21));
			IMPORT_BAD(e, ctx2, root);
			raw_put(e, root, 2, 0);
		} else if (g->mode == HT_MODE_PAE) {
			/* PDPTEs have no R/W bit */
			raw_put(e, root, 2, (t1 + PG) | E_P | 0x2);
			IMPORT_BAD(e, ctx2, root);
			raw_put(e, root, 2, 0);
		} else {
			/* no leaves in the root */
			raw_put(e, root, 2, E_P | E_PS | 0x2);
			IMPORT_BAD(e, ctx2, root);
			raw_put(e, root, 2, 0);
		}
		/* bits above a 36-bit physical width */
		c36.pa_bits = 36;
		OK(ht_ctx_create(&c36, &ctx36));
		if (g->pte_size == 4) {
			raw_put(e, root, 2, E_P | E_PS | (1ull << 18));
		} else {
			ht_pa_t t2 = raw_frame(e);

			raw_put(e, root, 2, t2 | ptp | (1ull << 40));
			IMPORT_BAD(e, ctx36, root);
			raw_put(e, root, 2, t2 | ptp);
			/* a leaf below with bits above the width */
			raw_put(e, t2, 3, 0x200000 | E_P | (1ull << 45));
			IMPORT_BAD(e, ctx36, root);
			raw_put(e, t2, 3, 0);
			ht_arena_ops()->free(e->arena, t2 >> 12);
			raw_put(e, root, 2, 0);
			raw_put(e, root, 2, E_P | E_PS | (1ull << 18));
			raw_put(e, root, 2, 0);
			raw_put(e, root, 2, (1ull << 41) | ptp);
		}
		IMPORT_BAD(e, ctx36, root);
		raw_put(e, root, 2, 0);
		/* and the valid one is still fine */
		OK(ht_as_import(ctx36, root, 0, &imp));
		AUDIT(imp);
		ht_as_destroy(imp);
		OK(ht_ctx_destroy(ctx36));

		/* import arguments */
		arm_detail();
		cr_assert_eq(ht_as_import(ctx2, root + (g->mode ==
		    HT_MODE_PAE ? 0x10 : 0x100), 0, &imp), -HT_EALIGN);
		check_detail(__LINE__, "import align");
		cr_assert_eq(ht_as_import(ctx2, root, 0x4, &imp), -HT_EINVAL);
		cr_assert_eq(ht_as_import(NULL, root, 0, &imp), -HT_EINVAL);
		cr_assert_eq(ht_as_import(ctx2, root, 0, NULL), -HT_EINVAL);
		arm_detail();
		cr_assert_eq(ht_as_import(ctx2, 1ull << 52, 0, &imp),
		    -HT_EPABITS);
		check_detail(__LINE__, "import pabits");

		ht_arena_ops()->free(e->arena, t1 >> 12);
		ht_arena_ops()->free(e->arena, root >> 12);
	}
	OK(ht_ctx_destroy(ctx2));
	env_teardown(e);
}

/* ------------------------------------------------------------------ */
/* Reap, purge, steal                                                  */
/* ------------------------------------------------------------------ */

MODE_PARAMS(reap_purge)

ParameterizedTest(ht_mode_t *mode, api, reap_purge, .timeout = 120)
{
	env_t *e = &E;
	uint64_t used_full, used_unmapped, used_start;
	ht_stats_t st;
	long n;

	env_setup(e, *mode);
	used_start = ht_arena_frames_used(e->arena);
	for (int pass = 0; pass < 2; pass++) {
		OK(ht_map(e->as, GIB, 0, GIB, HT_W, HT_MAP_SIZE(HT_PS_4K)));
		used_full = ht_arena_frames_used(e->arena);
		cr_assert(used_full >= used_start + 256);
		OK(ht_unmap(e->as, GIB, GIB, 0));
		used_unmapped = ht_arena_frames_used(e->arena);
		AUDIT(e->as);
		if (pass == 0) {
			n = ht_ctx_reap(e->ctx);
			ht_ctx_stats(e->ctx, &st);
			cr_assert(st.reaped >= (uint64_t)n);
			cr_assert(st.reap_attempts >= 1);
		} else {
			n = ht_as_purge(e->as);
		}
		cr_assert(n >= 256, "pass %d: %ld frames freed", pass, n);
		cr_assert_eq(ht_arena_frames_used(e->arena),
		    used_unmapped - (uint64_t)n);
		/* only the tables at and above the top page level stay */
		cr_assert(ht_arena_frames_used(e->arena) <= used_start +
		    e->g->levels, "pass %d: %llu frames, %llu at the start",
		    pass, (unsigned long long)ht_arena_frames_used(e->arena),
		    (unsigned long long)used_start);
		AUDIT(e->as);
		/* nothing left to give */
		cr_assert_eq(pass == 0 ? ht_ctx_reap(e->ctx) :
		    ht_as_purge(e->as), 0);
	}
	/* the space still works */
	OK(ht_map(e->as, GIB, 0, 64 * PG, HT_W, 0));
	XLATE(e->as, GIB + 63 * PG, 63 * PG, PG, eff(e, HT_W, 0));
	env_teardown(e);
}

MODE_PARAMS(steal)

ParameterizedTest(ht_mode_t *mode, api, steal, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	ht_as_t *victim, *thief, *keep;
	ht_stats_t st0, st1;
	uint64_t s1;
	int gone = 0;
	const int N = 48;
	const ht_va_t vr = 0, vl = 256 * MIB, vk = 0, vt = 512 * MIB;

	env_setup(e, *mode);
	g = e->g;
	s1 = lsize(g, 1);
	victim = e->as;
	OK(ht_as_create(e->ctx, 0, &thief));
	OK(ht_as_create(e->ctx, HT_AS_NOSTEAL, &keep));
	/* victim: one unlocked small page per table; locked ones */
	for (int i = 0; i < N; i++) {
		OK(ht_map(victim, vr + (ht_va_t)i * s1 + 5 * PG,
		    0x100000 + (ht_pa_t)i * PG, PG, HT_W, 0));
		OK(ht_map(victim, vl + (ht_va_t)i * s1,
		    0x200000 + (ht_pa_t)i * PG, 2 * PG, HT_W, HT_MAP_LOCK));
		OK(ht_map(keep, vk + (ht_va_t)i * s1 + 9 * PG,
		    0x300000 + (ht_pa_t)i * PG, PG, HT_U, 0));
	}
	ht_ctx_stats(e->ctx, &st0);
	ht_ctx_set_force_steal(e->ctx, 2);
	for (int i = 0; i < N; i++)
		OK(ht_map(thief, vt + (ht_va_t)i * s1, 0x400000, PG, HT_W, 0));
	ht_ctx_set_force_steal(e->ctx, 0);
	ht_ctx_stats(e->ctx, &st1);
	cr_assert(st1.stolen > st0.stolen, "nothing stolen");
	cr_assert(st1.steals > st0.steals);
	AUDIT(victim);
	AUDIT(thief);
	AUDIT(keep);
	for (int i = 0; i < N; i++) {
		ht_xlate_t x;
		ht_va_t v = vr + (ht_va_t)i * s1 + 5 * PG;
		int rc = ht_translate(victim, v, &x);

		if (rc == -HT_ENOTMAPPED) {
			gone++;
		} else {
			cr_assert_eq(rc, 0);
			cr_assert_eq(x.pa, 0x100000 + (ht_pa_t)i * PG);
		}
		XLATE(victim, vl + (ht_va_t)i * s1, 0x200000 + (ht_pa_t)i * PG,
		    PG, eff(e, HT_W, 0));
		XLATE(victim, vl + (ht_va_t)i * s1 + PG,
		    0x200000 + (ht_pa_t)i * PG + PG, PG, eff(e, HT_W, 0));
		XLATE(keep, vk + (ht_va_t)i * s1 + 9 * PG,
		    0x300000 + (ht_pa_t)i * PG, PG, eff(e, HT_U, 0));
		XLATE(thief, vt + (ht_va_t)i * s1, 0x400000, PG,
		    eff(e, HT_W, 0));
	}
	cr_assert(gone > 0, "no victim mapping was stolen");
	cr_assert((uint64_t)gone <= st1.stolen - st0.stolen);
	/* the victim can map again */
	OK(ht_map(victim, vr + 5 * PG, 0x100000, PG, HT_W, 0));
	XLATE(victim, vr + 5 * PG, 0x100000, PG, eff(e, HT_W, 0));
	(void) g;
	ht_as_destroy(thief);
	ht_as_destroy(keep);
	env_teardown(e);
}

/*
 * ht_walk(as, 0, last, ...) on an address space without any leaf returns
 * 0 and no leaves, in every mode (an old bug: the walk reached the root,
 * whose scan returns 0 for "past the top", and a wrap test that is false
 * for a walk begun at 0 started it over forever).  Short timeout.
 */
ParameterizedTestParameters(api, walk_empty)
{
	static ht_mode_t m[4] = { HT_MODE_32BIT, HT_MODE_PAE,
	    HT_MODE_4LEVEL, HT_MODE_5LEVEL };
	return (cr_make_param_array(ht_mode_t, m, 4));
}

ParameterizedTest(ht_mode_t *mode, api, walk_empty, .timeout = 5)
{
	env_t *e = &E;
	int n = 0;

	env_setup(e, *mode);
	OK(ht_walk(e->as, PG, va_last(e->g), count_cb, &n));
	cr_assert_eq(n, 0);
	OK(ht_walk(e->as, 0, va_last(e->g), count_cb, &n));
	cr_assert_eq(n, 0);
	/* and after everything was unmapped again */
	OK(ht_map(e->as, 0x400000, 0, PG, HT_W, 0));
	OK(ht_unmap(e->as, 0x400000, PG, 0));
	OK(ht_walk(e->as, 0, va_last(e->g), count_cb, &n));
	cr_assert_eq(n, 0);
	env_teardown(e);
}

/* ht_va2pa agrees with ht_translate everywhere, in every mode. */
ParameterizedTestParameters(api, va2pa)
{
	static ht_mode_t m[4] = { HT_MODE_32BIT, HT_MODE_PAE,
	    HT_MODE_4LEVEL, HT_MODE_5LEVEL };
	return (cr_make_param_array(ht_mode_t, m, 4));
}

ParameterizedTest(ht_mode_t *mode, api, va2pa, .timeout = 60)
{
	ht_arena_t *a;
	ht_ctx_t *ctx;
	ht_as_t *as;
	ht_pa_t pa;
	int top = *mode >= HT_MODE_4LEVEL;

	cr_assert_eq(ht_arena_create(0x100000, 16 << 20, 0, &a), 0);
	ht_config_t cfg = { .mode = *mode, .frame_ops = ht_arena_ops(),
	    .frame_arg = a };
	cr_assert_eq(ht_ctx_create(&cfg, &ctx), 0);
	cr_assert_eq(ht_as_create(ctx, 0, &as), 0);
	cr_assert_eq(ht_map(as, 0x400000, 0x800000, 0x1400000, HT_W, 0), 0);
	cr_assert_eq(ht_map(as, 0x3000, 0x7000, 0x2000, 0, 0), 0);
	if (top)
		cr_assert_eq(ht_map(as, ~0ull - 0x3fffff, 0x40000000, 0x400000,
		    0, 0), 0);
	const uint64_t probes[] = { 0, 0x3000, 0x4abc, 0x5000, 0x400123,
	    0x1234567, 0x17fffff, 0x1800000, ~0ull - 0x1000, 1ull << 47 };
	for (unsigned i = 0; i < sizeof (probes) / sizeof (probes[0]); i++) {
		ht_xlate_t x;
		int r1 = ht_translate(as, probes[i], &x);
		int r2 = ht_va2pa(as, probes[i], &pa);

		cr_assert_eq(r1, r2, "va 0x%llx", (unsigned long long)probes[i]);
		if (r1 == 0)
			cr_assert_eq(pa, x.pa);
	}
	cr_assert_eq(ht_va2pa(NULL, 0, &pa), -HT_EINVAL);
	cr_assert_eq(ht_va2pa(as, 0, NULL), -HT_EINVAL);
	ht_as_destroy(as);
	cr_assert_eq(ht_ctx_destroy(ctx), 0);
	ht_arena_destroy(a);
}
