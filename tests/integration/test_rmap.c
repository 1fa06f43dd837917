/*
 * test_rmap.c - the reverse map (config.rmap, ht_page_*), in every paging
 * mode.  One frame is mapped in several spaces, at several VAs, by 4 KiB
 * and large leaves, and through a shared table; then
 *  - ht_page_mappings names each mapping once, with its leaf and page
 *    size, and follows every change (map, unmap, replace, split, steal,
 *    share, import), while ht_audit checks the map against the leaves;
 *  - a run mapped page by page in order is one extent;
 *  - ht_page_unload removes every leaf that maps the frame (a large one
 *    whole), reports their A/D bits, refuses locked ones, and the sharer
 *    sees it go;
 *  - ht_page_clear_write write-protects every mapping, the sharer's view
 *    too, and tells the TLB hook;
 *  - ht_page_sync gathers and clears the A/D bits the MMU set.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include "../lib/api_env.h"

#define F	(3 * GIB / 2)		/* the frame under test */

MODE_PARAMS(rmap, mappings_follow_changes);
MODE_PARAMS(rmap, runs_are_one_extent);
MODE_PARAMS(rmap, unload_everywhere);
MODE_PARAMS(rmap, clear_write_and_sync);
MODE_PARAMS(rmap, steal_and_import_keep_it_exact);

/* What ht_page_mappings reported. */
#define MAXM	32
typedef struct seen {
	unsigned	n;
	ht_mapping_t	m[MAXM];
} seen_t;

static int
seen_cb(void *arg, const ht_mapping_t *m)
{
	seen_t *s = arg;

	cr_assert_lt(s->n, MAXM);
	s->m[s->n++] = *m;
	return (0);
}

static seen_t
mappings_of(ht_ctx_t *ctx, ht_pa_t pa)
{
	seen_t s;
	long n;

	memset(&s, 0, sizeof (s));
	n = ht_page_mappings(ctx, pa, seen_cb, &s);
	cr_assert_geq(n, 0, "page_mappings: %s", ht_errdetail());
	cr_assert_eq((unsigned long)n, (unsigned long)s.n);
	return (s);
}

/* The mapping of as at va in s, or NULL. */
static const ht_mapping_t *
find(const seen_t *s, ht_as_t *as, ht_va_t va)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->m[i].as == as && s->m[i].va == va)
			return (&s->m[i]);
	return (NULL);
}

#define HAS(S, AS, VA, SZ) do {						\
	seen_t s_ = (S);						\
	const ht_mapping_t *m_ = find(&s_, (AS), (VA));		\
	cr_assert_not_null(m_, "line %d: no mapping at va 0x%llx",	\
	    __LINE__, (unsigned long long)(VA));			\
	cr_assert_eq(m_->size, (uint64_t)(SZ), "line %d: size 0x%llx",	\
	    __LINE__, (unsigned long long)m_->size);			\
	cr_assert_eq(m_->leaf_va, (VA) & ~((uint64_t)(SZ) - 1));	\
} while (0)

static void
env_rmap(env_t *e, ht_mode_t mode)
{
	ht_config_t c;

	c = base_cfg(e, mode);	/* (EPT: EPT_ENV) */
	c.rmap = 1;
	env_setup_cfg(e, mode, &c);
}

static uint64_t
extents(env_t *e)
{
	ht_stats_t st;

	ht_ctx_stats(e->ctx, &st);
	return (st.rmap_extents);
}

ParameterizedTest(ht_mode_t *mode, rmap, mappings_follow_changes,
    .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *a, *b, *sh;
	uint64_t l1;
	ht_va_t va1, va2, vb, vs;
	ht_share_info_t info;
	seen_t s;

	env_rmap(e, *mode);
	l1 = lsize(e->g, 1);
	a = e->as;
	OK(ht_as_create(e->ctx, 0, &b));
	OK(ht_as_create(e->ctx, 0, &sh));
	cr_assert_eq(mappings_of(e->ctx, F).n, 0u);
	/* a: the frame at two VAs; b: inside a large page */
	va1 = 4 * l1 + 5 * PG;
	va2 = 8 * l1;
	vb = 16 * l1 + (F % l1);
	OK(ht_map(a, va1, F, PG, HT_W, 0));
	OK(ht_map(a, va2, F, PG, 0, 0));
	OK(ht_map(b, 16 * l1, F - (F % l1), l1, HT_W, 0));
	AUDIT(a);
	AUDIT(b);
	s = mappings_of(e->ctx, F + 0x123);
	cr_assert_eq(s.n, 3u);
	HAS(s, a, va1, PG);
	HAS(s, a, va2, PG);
	HAS(s, b, vb, l1);
	cr_assert_eq(find(&s, b, vb)->level, 1u);
	cr_assert_eq(find(&s, a, va1)->attr & HT_W, HT_W);
	cr_assert_eq(find(&s, a, va1)->shared, 0);

	/* a shared table of a is seen through sh too */
	vs = 32 * l1;
	OK(ht_share(sh, vs, a, 4 * l1, l1, &info));
	cr_assert_eq(info.tables, 1u);
	s = mappings_of(e->ctx, F);
	cr_assert_eq(s.n, 4u);
	HAS(s, sh, vs + 5 * PG, PG);
	cr_assert_eq(find(&s, sh, vs + 5 * PG)->shared, 1);
	cr_assert_eq(ht_unshare(sh, vs, l1), 1);

	/* replacing, unmapping, splitting */
	OK(ht_map(a, va2, F + PG, PG, 0, 0));		/* another frame */
	s = mappings_of(e->ctx, F);
	cr_assert_eq(s.n, 2u);
	cr_assert_null(find(&s, a, va2));
	HAS(mappings_of(e->ctx, F + PG), a, va2, PG);
	OK(ht_unmap(a, va1, PG, 0));
	OK(ht_harvest_ad(b, vb, PG, HT_A, HT_AD_SPLIT, NULL, NULL) >= 0 ?
	    0 : -1);
	s = mappings_of(e->ctx, F);
	cr_assert_eq(s.n, 1u);
	HAS(s, b, vb, PG);			/* split: same frame, 4 KiB */
	OK(ht_protect(b, vb, PG, 0));
	HAS(mappings_of(e->ctx, F), b, vb, PG);
	OK(ht_unmap(b, 16 * l1 + PG, PG, 0));	/* a neighbour goes */
	HAS(mappings_of(e->ctx, F), b, vb, PG);
	AUDIT(a);
	AUDIT(b);
	AUDIT(sh);
	/* a space that goes takes its mappings along */
	ht_as_destroy(b);
	cr_assert_eq(mappings_of(e->ctx, F).n, 0u);
	ht_as_destroy(sh);
	env_teardown(e);
}

ParameterizedTest(ht_mode_t *mode, rmap, runs_are_one_extent,
    .timeout = 120)
{
	env_t *e = &E;
	ht_stats_t st;
	uint64_t base = 64 * MIB;

	env_rmap(e, *mode);
	/* page by page, in order: one extent */
	for (unsigned i = 0; i < 600; i++)
		OK(ht_map(e->as, base + i * PG, F + i * PG, PG, HT_W, 0));
	cr_assert_eq(extents(e), 1u);
	/* backwards: each page meets the run above it */
	for (unsigned i = 600; i-- > 0; )
		OK(ht_map(e->as, 2 * base + i * PG, F + i * PG, PG, HT_W, 0));
	cr_assert_eq(extents(e), 2u);
	/* a hole cuts one in two, filling it joins them again */
	OK(ht_unmap(e->as, base + 300 * PG, PG, 0));
	cr_assert_eq(extents(e), 3u);
	OK(ht_map(e->as, base + 300 * PG, F + 300 * PG, PG, HT_W, 0));
	cr_assert_eq(extents(e), 2u);
	/* every other page remapped elsewhere: many */
	for (unsigned i = 0; i < 600; i += 2)
		OK(ht_map(e->as, base + i * PG, 2 * F + i * PG, PG, HT_W, 0));
	cr_assert_eq(extents(e), 601u);
	AUDIT(e->as);
	ht_ctx_stats(e->ctx, &st);
	cr_assert_geq(st.rmap_bytes, st.rmap_extents * 64);
	cr_assert_leq(st.rmap_bytes, (st.rmap_extents + 64) * 128);
	OK(ht_unmap(e->as, base, 600 * PG, 0));
	OK(ht_unmap(e->as, 2 * base, 600 * PG, 0));
	cr_assert_eq(extents(e), 0u);
	AUDIT(e->as);
	env_teardown(e);
}

/* ht_page_unload's reports */
static int
unload_cb(void *arg, const ht_mapping_t *m)
{
	seen_t *s = arg;

	return (seen_cb(s, m));
}

ParameterizedTest(ht_mode_t *mode, rmap, unload_everywhere, .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *a, *b, *sh, *cp;
	uint64_t l1;
	ht_va_t va1, vb, vs;
	ht_share_info_t info;
	seen_t s, r;
	long n;

	env_rmap(e, *mode);
	l1 = lsize(e->g, 1);
	a = e->as;
	OK(ht_as_create(e->ctx, 0, &b));
	OK(ht_as_create(e->ctx, 0, &sh));
	OK(ht_as_create(e->ctx, 0, &cp));
	va1 = 4 * l1 + 5 * PG;
	vb = 16 * l1 + (F % l1);
	OK(ht_map(a, va1, F, PG, HT_W, 0));
	OK(ht_map(a, va1 + PG, F + PG, PG, HT_W, 0));
	OK(ht_map(b, 16 * l1, F - (F % l1), l1, HT_W, 0));
	vs = 32 * l1;
	OK(ht_share(sh, vs, a, 4 * l1, l1, &info));
	/* copies (an unaligned share) are the sharer's own, locked */
	OK(ht_share(cp, 8 * l1 + 5 * PG, a, va1, PG, &info));
	cr_assert_eq(info.copied, 1u);
	raw_touch(e, a, va1, PG, E_A | E_D);
	raw_touch(e, b, 16 * l1, l1, E_A);
	s = mappings_of(e->ctx, F);
	cr_assert_eq(s.n, 4u);		/* a, b, sh's view, cp's copy */

	/* the copy is locked: nothing changes */
	tlb_reset(e);
	cr_assert_eq(ht_page_unload(e->ctx, F, 0, NULL, NULL), -HT_ELOCKED);
	cr_assert_eq(mappings_of(e->ctx, F).n, 4u);
	cr_assert_eq(e->ntlb_total, 0u);
	memset(&r, 0, sizeof (r));
	n = ht_page_unload(e->ctx, F, HT_UNMAP_UNLOCK, unload_cb, &r);
	cr_assert_eq(n, 3, "%ld: a, b (whole) and cp's copy", n);
	cr_assert_eq(r.n, 3u);
	cr_assert_eq(find(&r, a, va1)->ad, HT_A | HT_D);
	cr_assert_eq(find(&r, b, vb)->ad, HT_A);
	cr_assert_eq(find(&r, b, vb)->size, l1);
	cr_assert_eq(mappings_of(e->ctx, F).n, 0u);
	UNMAPPED(a, va1);
	UNMAPPED(b, 16 * l1);			/* the large page went whole */
	UNMAPPED(sh, vs + 5 * PG);		/* the sharer sees it go */
	XLATE(a, va1 + PG, F + PG, PG, HT_W);	/* the neighbour stays */
	XLATE(sh, vs + 6 * PG, F + PG, PG, HT_W);
	cr_assert(tlb_covers(e, a, va1, PG));
	cr_assert(tlb_covers(e, b, 16 * l1, l1));
	cr_assert(tlb_covers(e, sh, vs + 5 * PG, PG));
	AUDIT(a);
	AUDIT(b);
	AUDIT(sh);
	AUDIT(cp);
	/* nothing maps it now: nothing to do */
	cr_assert_eq(ht_page_unload(e->ctx, F, 0, NULL, NULL), 0);
	ht_as_destroy(cp);
	ht_as_destroy(sh);
	ht_as_destroy(b);
	env_teardown(e);
}

ParameterizedTest(ht_mode_t *mode, rmap, clear_write_and_sync,
    .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *a, *b, *sh;
	uint64_t l1;
	ht_va_t va1, vb, vs;
	ht_share_info_t info;
	ht_xlate_t x;
	seen_t s;

	env_rmap(e, *mode);
	l1 = lsize(e->g, 1);
	a = e->as;
	OK(ht_as_create(e->ctx, 0, &b));
	OK(ht_as_create(e->ctx, 0, &sh));
	va1 = 4 * l1 + 5 * PG;
	vb = 16 * l1 + (F % l1);
	OK(ht_map(a, va1, F, PG, HT_W | HT_U, 0));
	OK(ht_map(b, 16 * l1, F - (F % l1), l1, HT_W, 0));
	vs = 32 * l1;
	OK(ht_share(sh, vs, a, 4 * l1, l1, &info));

	/* sync: nothing set yet */
	cr_assert_eq(ht_page_sync(e->ctx, F, 0, NULL, NULL), 0);
	raw_touch(e, a, va1, PG, E_A | E_D);
	raw_touch(e, b, 16 * l1, l1, E_A);
	memset(&s, 0, sizeof (s));
	cr_assert_eq(ht_page_sync(e->ctx, F, 0, seen_cb, &s), HT_A | HT_D);
	cr_assert_eq(s.n, 2u, "the owners' leaves, not the sharer's view");
	cr_assert_eq(find(&s, a, va1)->ad, HT_A | HT_D);
	cr_assert_eq(find(&s, b, vb)->ad, HT_A);
	tlb_reset(e);
	cr_assert_eq(ht_page_sync(e->ctx, F, HT_AD_CLEAR, NULL, NULL),
	    HT_A | HT_D);
	cr_assert(tlb_covers(e, a, va1, PG));
	cr_assert_eq(ht_page_sync(e->ctx, F, 0, NULL, NULL), 0, "cleared");
	OK(ht_translate(b, vb, &x));
	cr_assert_eq(x.attr & (HT_A | HT_D), 0u);

	/* clear_write: every leaf, and the sharer's view */
	tlb_reset(e);
	cr_assert_eq(ht_page_clear_write(e->ctx, F), 2);
	OK(ht_translate(a, va1, &x));
	cr_assert_eq(x.attr & HT_W, 0u);
	cr_assert_eq(x.attr & HT_U, HT_U, "only W goes");
	if (mode_ept(e->g))	/* read stays, and so does HT_U (= HT_XU) */
		cr_assert_eq(x.attr & (HT_W | HT_X | HT_XU | HT_NOREAD),
		    HT_XU, "attr 0x%x", x.attr);
	OK(ht_translate(b, vb, &x));
	cr_assert_eq(x.attr & HT_W, 0u);
	cr_assert_eq(x.page_size, l1, "whole: not split");
	OK(ht_translate(sh, vs + 5 * PG, &x));
	cr_assert_eq(x.attr & HT_W, 0u);
	cr_assert(tlb_covers(e, a, va1, PG));
	cr_assert(tlb_covers(e, b, 16 * l1, l1));
	cr_assert(tlb_covers(e, sh, vs + 5 * PG, PG));
	cr_assert_eq(ht_page_clear_write(e->ctx, F), 0, "already");
	AUDIT(a);
	AUDIT(b);
	AUDIT(sh);
	ht_as_destroy(sh);
	ht_as_destroy(b);
	env_teardown(e);
}

ParameterizedTest(ht_mode_t *mode, rmap, steal_and_import_keep_it_exact,
    .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *a, *b, *imp;
	ht_config_t c;
	ht_ctx_t *ictx;
	ht_stats_t st;
	uint64_t l1;
	seen_t s;

	env_rmap(e, *mode);
	l1 = lsize(e->g, 1);
	a = e->as;
	OK(ht_as_create(e->ctx, 0, &b));
	/* tables move from space to space; the map follows the leaves */
	for (unsigned i = 0; i < 48; i++) {
		ht_va_t v = (ht_va_t)(i + 1) * l1 + (i % 3) * PG;

		OK(ht_map(a, v, F + i * PG, 2 * PG, HT_W, 0));
		OK(ht_map(b, v, F + i * PG, PG, HT_W, 0));
	}
	ht_ctx_set_force_steal(e->ctx, 2);
	for (unsigned i = 0; i < 48; i++) {
		ht_va_t v = (ht_va_t)(i + 64) * l1;

		/* under pressure a map may fail, changing nothing */
		if (ht_map(a, v, F + i * PG, PG, HT_W, 0) != 0)
			UNMAPPED(a, v);
		if (ht_map(b, v, F + i * PG, PG, HT_W, 0) != 0)
			UNMAPPED(b, v);
		AUDIT(a);
		AUDIT(b);
	}
	ht_ctx_set_force_steal(e->ctx, 0);
	ht_ctx_stats(e->ctx, &st);
	cr_assert_gt(st.stolen, 0u);
	for (unsigned i = 0; i < 48; i++) {
		ht_va_t v = (ht_va_t)(i + 1) * l1 + (i % 3) * PG;
		ht_xlate_t x;

		s = mappings_of(e->ctx, F + i * PG);
		/* exactly the spaces whose leaf survived */
		cr_assert_eq(!!find(&s, a, v), ht_translate(a, v, &x) == 0);
		cr_assert_eq(!!find(&s, b, v), ht_translate(b, v, &x) == 0);
	}

	/* import: the wrapped tables' leaves are in the new map */
	memset(&c, 0, sizeof (c));
	c.mode = *mode;
	c.frame_ops = ht_arena_ops();
	c.frame_arg = e->arena;
	c.ept = mode_ept(e->g) ? EPT_ENV : 0;
	c.rmap = 1;
	OK(ht_ctx_create(&c, &ictx));
	OK(ht_as_import(ictx, ht_as_root(a), 0, &imp));
	AUDIT(imp);
	for (unsigned i = 0; i < 48; i++) {
		ht_va_t v = (ht_va_t)(i + 1) * l1 + (i % 3) * PG;
		ht_xlate_t x;
		seen_t si = mappings_of(ictx, F + i * PG);

		cr_assert_eq(!!find(&si, imp, v), ht_translate(a, v, &x) == 0);
	}
	ht_as_destroy(imp);
	OK(ht_ctx_destroy(ictx));
	ht_as_destroy(b);
	env_teardown(e);
}
