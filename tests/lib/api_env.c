/*
 * api_env.c - see api_env.h.
 */
#include <stdlib.h>
#include <string.h>

#include "api_env.h"

env_t E;

void
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

void
tlb_reset(env_t *e)
{
	e->ntlb = 0;
	e->ntlb_total = 0;
}

ht_config_t
base_cfg(env_t *e, ht_mode_t mode)
{
	ht_config_t cfg;

	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = e->arena;
	cfg.tlb = tlb_hook;
	cfg.tlb_arg = e;
	if (mode_ept(ht_geometry(mode)))
		cfg.ept = EPT_ENV;
	return (cfg);
}

void
env_arena(env_t *e, ht_mode_t mode)
{
	memset(e, 0, sizeof (*e));
	e->mode = mode;
	e->g = ht_geometry(mode);
	cr_assert_not_null(e->g);
	cr_assert_eq(ht_arena_create(ARENA_BASE, ARENA_SIZE, 0, &e->arena), 0);
}

/* Arena, context from cfg (frame ops and TLB hook filled in), one space. */
void
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

void
env_setup(env_t *e, ht_mode_t mode)
{
	env_setup_cfg(e, mode, NULL);
}

/* Destroy the main space (if any), the context and the arena. */
void
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

uint64_t
lsize(const ht_geometry_t *g, unsigned level)
{
	return (1ull << g->level_shift[level]);
}

unsigned
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
int
leaf_level(const ht_geometry_t *g, unsigned ps_in_force, unsigned level)
{
	return ((level_ps(g, level) & ps_in_force) != 0);
}

/* Largest page size level of the mode (with these page sizes). */
unsigned
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

int
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
uint64_t
leaf_count(ht_as_t *as)
{
	ht_stats_t st;
	uint64_t n = 0;

	ht_as_stats(as, &st);
	for (int l = 0; l < HT_MAX_LEVELS; l++)
		n += st.leaves[l];
	return (n);
}

void
snap_take(ht_as_t *as, const ht_geometry_t *g, snap_t *s)
{
	int rc;

	s->n = 0;
	rc = ht_walk(as, 0, va_last(g), snap_cb, s);
	cr_assert_eq(rc, 0, "walk: %s", ht_err_name(rc));
}

void
snap_free(snap_t *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

void
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

/* Leave a known detail message, so that a fresh one can be recognized. */
void
arm_detail(void)
{
	ht_mode_t m;

	cr_assert_eq(ht_mode_parse(SENTINEL, &m), -HT_EINVAL);
	cr_assert_not_null(strstr(ht_errdetail(), SENTINEL));
}

void
check_detail(int line, const char *what)
{
	const char *d = ht_errdetail();

	cr_assert_not_null(d);
	cr_assert(d[0] != '\0', "line %d: %s: empty ht_errdetail()", line,
	    what);
	cr_assert_null(strstr(d, SENTINEL), "line %d: %s: ht_errdetail() "
	    "was not set by the failing call", line, what);
}

void
xlate_is(ht_as_t *as, ht_va_t va, ht_pa_t pa, uint64_t size, unsigned attr,
    unsigned mask, int line)
{
	ht_xlate_t x;
	int rc = ht_translate(as, va, &x);

	/* nested paging: every leaf has U (the walk is a user access) */
	if (mode_npt(ht_ctx_geometry(ht_as_ctx(as))))
		attr |= HT_U;

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

void
unmapped_is(ht_as_t *as, ht_va_t va, int line)
{
	ht_xlate_t x;
	int rc = ht_translate(as, va, &x);

	cr_assert_eq(rc, -HT_ENOTMAPPED, "line %d: va 0x%llx: %s (pa 0x%llx)",
	    line, (unsigned long long)va, ht_err_name(rc),
	    (unsigned long long)x.pa);
}

/*
 * Attributes as translate reports them: no NX bit means always X; nested
 * paging's leaves always have U; EPT has no NX bit and no U/S, and its
 * X and XU (= U) are rights like W: exactly what was mapped.
 */
unsigned
eff(const env_t *e, unsigned attr, int no_nx)
{
	if (mode_ept(e->g))
		return (attr);
	if (!e->g->has_nx || no_nx)
		attr |= HT_X;
	if (mode_npt(e->g))
		attr |= HT_U;
	return (attr);
}

/* A test's attributes as the mode takes them (EPT's memory types). */
unsigned
mode_attr(const env_t *e, unsigned attr)
{
	if (!mode_ept(e->g))
		return (attr);
	switch (HT_EPT_MT_OF(attr)) {
	case 2:		/* HT_PCD: WB */
		return (attr | HT_PAT);
	case 3:		/* HT_PWT | HT_PCD: WP */
		return ((attr & ~HT_PCD) | HT_PAT);
	case 7:		/* all three: WB */
		return (attr & ~HT_PWT);
	default:
		return (attr);
	}
}

/* A test's chattr as the mode takes it (EPT: rights and type whole). */
void
mode_chattr(const env_t *e, unsigned *clear, unsigned *set)
{
	const unsigned rights = HT_W | HT_X | HT_XU | HT_NOREAD;
	unsigned c = *clear, s = *set;

	if (!mode_ept(e->g))
		return;
	if ((c | s) & rights)
		c = (c & ~rights) | (rights & ~s);
	if ((c | s) & HT_EPT_MT_MASK) {
		s = (s & ~HT_EPT_MT_MASK) |
		    (mode_attr(e, s & HT_EPT_MT_MASK) & HT_EPT_MT_MASK);
		c = (c & ~HT_EPT_MT_MASK) | (HT_EPT_MT_MASK & ~s);
	}
	*clear = c;
	*set = s;
}

/* ------------------------------------------------------------------ */
/* Playing the MMU: find leaf entries in the raw tables                */
/* ------------------------------------------------------------------ */

/* Address of the leaf entry for va (NULL if unmapped); *r_level its level. */
void *
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
		if (!(pte & (mode_ept(g) ? EPT_PRESENT : E_P)))
			return (NULL);
		if (l == 0 || ((pte & E_PS) && level_ps(g, (unsigned)l) != 0)) {
			*r_level = (unsigned)l;
			return (p);
		}
		tpa = pte & amask;
	}
	return (NULL);
}

void
raw_or(const ht_geometry_t *g, void *p, uint64_t bits)
{
	if (g->pte_size == 4)
		(void) __atomic_fetch_or((uint32_t *)p, (uint32_t)bits,
		    __ATOMIC_SEQ_CST);
	else
		(void) __atomic_fetch_or((uint64_t *)p, bits,
		    __ATOMIC_SEQ_CST);
}

/* The format's raw bits for E_A and E_D. */
uint64_t
raw_ad(const ht_geometry_t *g, uint64_t bits)
{
	cr_assert_eq(bits & ~(E_A | E_D), 0, "raw_ad: bits 0x%llx",
	    (unsigned long long)bits);
	if (!mode_ept(g))
		return (bits);
	return (((bits & E_A) ? EPT_A : 0) | ((bits & E_D) ? EPT_D : 0));
}

/* Set A/D (E_A, E_D) on every leaf in [va, va + len) (mapped). */
void
raw_touch(env_t *e, ht_as_t *as, ht_va_t va, uint64_t len, uint64_t bits)
{
	ht_va_t end = va + len;

	bits = raw_ad(e->g, bits);
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
int
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

/* The TLB calls recorded for as. */
uint64_t
tlb_count_for(const env_t *e, ht_as_t *as)
{
	uint64_t n = 0;

	for (size_t i = 0; i < e->ntlb; i++)
		n += e->tlb[i].as == as;
	return (n);
}

/* Both spaces pass ht_audit and hold the same leaves. */
void
same_leaves(ht_as_t *a, ht_as_t *b, const ht_geometry_t *g, int line)
{
	snap_t sa = { 0 }, sb = { 0 };

	cr_assert_eq(ht_audit(a), 0, "line %d: audit: %s", line,
	    ht_errdetail());
	cr_assert_eq(ht_audit(b), 0, "line %d: audit: %s", line,
	    ht_errdetail());
	snap_take(a, g, &sa);
	snap_take(b, g, &sb);
	snap_eq(&sa, &sb, line);
	snap_free(&sa);
	snap_free(&sb);
}

void
serial_twins(env_t *e, void (*seq)(env_t *, ht_as_t *), ht_as_t **r_se,
    ht_as_t **r_sn, int line)
{
	ht_as_t *se, *sn;
	ht_stats_t a, b, c;

	cr_assert_eq(ht_as_create(e->ctx, HT_AS_SERIAL, &se), 0);
	cr_assert_eq(ht_as_create(e->ctx, HT_AS_SERIAL | HT_AS_NOMMU, &sn),
	    0);
	seq(e, e->as);
	seq(e, se);
	seq(e, sn);
	same_leaves(e->as, se, e->g, line);
	same_leaves(e->as, sn, e->g, line);
	ht_as_stats(e->as, &a);
	ht_as_stats(se, &b);
	ht_as_stats(sn, &c);
	cr_assert_eq(memcmp(a.leaves, b.leaves, sizeof (a.leaves)), 0,
	    "line %d", line);
	cr_assert_eq(memcmp(a.leaves, c.leaves, sizeof (a.leaves)), 0,
	    "line %d", line);
	cr_assert_eq(memcmp(a.tables, b.tables, sizeof (a.tables)), 0,
	    "line %d", line);
	cr_assert_eq(memcmp(a.tables, c.tables, sizeof (a.tables)), 0,
	    "line %d", line);
	*r_se = se;
	*r_sn = sn;
}

/* Write entry idx of a raw table frame (4 or 8 bytes, as the mode). */
void
raw_put(env_t *e, ht_pa_t table, unsigned idx, uint64_t v)
{
	uint8_t *p = ht_arena_ptr(e->arena, table);

	cr_assert_not_null(p);
	if (e->g->pte_size == 4)
		*(uint32_t *)(void *)(p + idx * 4) = (uint32_t)v;
	else
		*(uint64_t *)(void *)(p + idx * 8) = v;
}

/* A zeroed frame from the arena, outside any context's accounting. */
ht_pa_t
raw_frame(env_t *e)
{
	ht_pfn_t pfn;
	ht_pa_t pa;

	cr_assert_eq(ht_arena_ops()->alloc(e->arena, ARENA_BASE,
	    ARENA_BASE + 64 * MIB, &pfn), 0);
	pa = pfn << 12;
	memset(ht_arena_ptr(e->arena, pa), 0, PG);
	return (pa);
}

void
steal_by_maps(env_t *e, ht_as_t *thief, ht_va_t va, uint64_t step, int n,
    ht_stats_t *r0, ht_stats_t *r1)
{
	ht_ctx_stats(e->ctx, r0);
	ht_ctx_set_force_steal(e->ctx, 2);
	for (int i = 0; i < n; i++)
		OK(ht_map(thief, va + (ht_va_t)i * step, 0x400000, PG, HT_W,
		    0));
	ht_ctx_set_force_steal(e->ctx, 0);
	ht_ctx_stats(e->ctx, r1);
	cr_assert(r1->stolen > r0->stolen, "nothing stolen");
}

/* An ht_walk callback that counts the leaves. */
int
count_cb(void *arg, const ht_leaf_t *l)
{
	(void) l;
	(*(int *)arg)++;
	return (0);
}
