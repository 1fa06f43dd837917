/*
 * test_hat_range.c - integration tests of what the range operations share
 * (hat_range.c): the argument checks of every range-taking call (NULL,
 * zero length, alignment, addresses outside the mode, the hole, wrapping,
 * the physical width, page sizes, unknown attributes and flags) and the
 * census of a range (HT_EEXIST under HT_MAP_NOREPLACE, HT_ELOCKED,
 * HT_ENOTLOCKED), each failing with nothing changed, for every mode and
 * physical width; and the splitting of a large page at a range's edges by
 * unmap, protect and lock, at every level, with the pieces checked leaf
 * by leaf.
 *
 * Only htable.h is used; the environment (arena, context, space, TLB
 * record) and the checks (EXPECT_ERR: a failing call changed nothing and
 * set a fresh ht_errdetail(); XLATE; AUDIT) are tests/lib/api_env.h.
 * Every test runs in every paging mode and ends with every space
 * destroyed and no frame left allocated in the arena.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "../lib/api_env.h"

/* ------------------------------------------------------------------ */
/* Parameters                                                          */
/* ------------------------------------------------------------------ */

typedef struct mode_pab {
	ht_mode_t	mode;
	unsigned	pa_bits;
} mode_pab_t;

static mode_pab_t pab_params[] = {
	{ HT_MODE_32BIT, 0 }, { HT_MODE_32BIT, 36 },
	{ HT_MODE_32BIT, 40 }, { HT_MODE_32BIT, 32 },
	{ HT_MODE_PAE, 0 }, { HT_MODE_PAE, 36 }, { HT_MODE_PAE, 40 },
	{ HT_MODE_4LEVEL, 0 }, { HT_MODE_4LEVEL, 36 },
	{ HT_MODE_4LEVEL, 40 },
	{ HT_MODE_5LEVEL, 0 }, { HT_MODE_5LEVEL, 36 },
	{ HT_MODE_5LEVEL, 40 },
	{ HT_MODE_NPT4, 0 }, { HT_MODE_NPT4, 36 },
	{ HT_MODE_NPT5, 0 }, { HT_MODE_NPT5, 40 },
	{ HT_MODE_EPT4, 0 }, { HT_MODE_EPT4, 36 },
	{ HT_MODE_EPT5, 0 }, { HT_MODE_EPT5, 40 },
};

/* Every mode with several physical widths. */
#define PAB_PARAMS(name)						\
ParameterizedTestParameters(hat_range, name)				\
{									\
	return (cr_make_param_array(mode_pab_t, pab_params,		\
	    sizeof (pab_params) / sizeof (pab_params[0])));		\
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/*
 * Every error of the range-taking calls, with some mappings in place: a
 * large page, small pages, a locked small page.  One test per kind of
 * error; each starts from the same mappings (errors_setup) and ends by
 * checking that they still work (errors_end).
 */
typedef struct errs {
	const ht_geometry_t *g;
	unsigned	ps, pab;
	uint64_t	s1, plim;
	ht_va_t		v0, vsmall, vlock;
	ht_va_t		fr;		/* free VA */
} errs_t;

static void
errors_setup(const mode_pab_t *p, errs_t *c)
{
	ht_config_t cfg;
	env_t *e = &E;
	const ht_geometry_t *g;
	unsigned ps, pab, l1;
	uint64_t s1, plim;
	ht_va_t v0, vsmall, vlock;

	cfg = base_cfg(e, p->mode);	/* (EPT: EPT_ENV) */
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

	c->g = g;
	c->ps = ps;
	c->pab = pab;
	c->s1 = s1;
	c->plim = plim;
	c->v0 = v0;
	c->vsmall = vsmall;
	c->vlock = vlock;
	c->fr = 2 * GIB + 64 * MIB;
}

/* Everything still works; then the teardown. */
static void
errors_end(const errs_t *c)
{
	env_t *e = &E;
	uint64_t s1 = c->s1;
	ht_va_t v0 = c->v0, vsmall = c->vsmall, vlock = c->vlock, fr = c->fr;

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

PAB_PARAMS(errors_null_and_zero_length)

ParameterizedTest(mode_pab_t *p, hat_range, errors_null_and_zero_length,
    .timeout = 120)
{
	env_t *e = &E;
	errs_t c;
	const ht_geometry_t *g;
	ht_va_t v0, vlock, fr;
	ht_xlate_t x;
	int n = 0;

	errors_setup(p, &c);
	g = c.g;
	v0 = c.v0;
	vlock = c.vlock;
	fr = c.fr;

	/* --- NULL and zero length --- */
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

	errors_end(&c);
}

PAB_PARAMS(errors_alignment)

ParameterizedTest(mode_pab_t *p, hat_range, errors_alignment,
    .timeout = 120)
{
	env_t *e = &E;
	errs_t c;
	const ht_geometry_t *g;
	unsigned ps;
	ht_va_t v0, vlock, fr;

	errors_setup(p, &c);
	g = c.g;
	ps = c.ps;
	v0 = c.v0;
	vlock = c.vlock;
	fr = c.fr;

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

	errors_end(&c);
}

PAB_PARAMS(errors_outside_the_mode)

ParameterizedTest(mode_pab_t *p, hat_range, errors_outside_the_mode,
    .timeout = 120)
{
	env_t *e = &E;
	errs_t c;
	const ht_geometry_t *g;
	ht_va_t v0;
	ht_xlate_t x;
	int n = 0;

	errors_setup(p, &c);
	g = c.g;
	v0 = c.v0;

	/* --- addresses outside the mode --- */
	if (g->hole_start == 0) {	/* 32-bit, PAE, nested paging */
		ht_va_t big = va_last(g) + 1;

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

	errors_end(&c);
}

PAB_PARAMS(errors_physical_width)

ParameterizedTest(mode_pab_t *p, hat_range, errors_physical_width,
    .timeout = 120)
{
	env_t *e = &E;
	errs_t c;
	const ht_geometry_t *g;
	unsigned pab;
	uint64_t plim;
	ht_va_t fr;

	errors_setup(p, &c);
	g = c.g;
	pab = c.pab;
	plim = c.plim;
	fr = c.fr;

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

	errors_end(&c);
}

PAB_PARAMS(errors_page_sizes)

ParameterizedTest(mode_pab_t *p, hat_range, errors_page_sizes,
    .timeout = 120)
{
	env_t *e = &E;
	errs_t c;
	const ht_geometry_t *g;
	unsigned ps;

	errors_setup(p, &c);
	g = c.g;
	ps = c.ps;

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

	errors_end(&c);
}

PAB_PARAMS(errors_unknown_attributes_and_flags)

ParameterizedTest(mode_pab_t *p, hat_range, errors_unknown_attributes_and_flags,
    .timeout = 120)
{
	env_t *e = &E;
	errs_t c;
	ht_va_t v0, fr;
	int ept;

	errors_setup(p, &c);
	v0 = c.v0;
	fr = c.fr;
	ept = mode_ept(c.g);

	/*
	 * --- unknown attributes and flags ---  (EPT: 0x80 is HT_NOREAD,
	 * alone no right at all; 0x800 is HT_EPT_SVE, so HT_SW(0) instead,
	 * whose bit 10 is HT_XU there)
	 */
	EXPECT_ERR(e, HT_EINVAL, ht_map(e->as, fr, 0, PG, 0x80, 0));
	EXPECT_ERR(e, HT_EINVAL, ht_map(e->as, fr, 0, PG,
	    ept ? HT_SW(0) : 0x800, 0));
	if (ept)	/* and a bit that no mode has */
		EXPECT_ERR(e, HT_EINVAL, ht_map(e->as, fr, 0, PG, 0x8000, 0));
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

	errors_end(&c);
}

PAB_PARAMS(errors_noreplace_and_locks)

ParameterizedTest(mode_pab_t *p, hat_range, errors_noreplace_and_locks,
    .timeout = 120)
{
	env_t *e = &E;
	errs_t c;
	const ht_geometry_t *g;
	uint64_t s1;
	ht_va_t v0, vsmall, vlock, fr;
	ht_xlate_t x;

	errors_setup(p, &c);
	g = c.g;
	s1 = c.s1;
	v0 = c.v0;
	vsmall = c.vsmall;
	vlock = c.vlock;
	fr = c.fr;

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

	errors_end(&c);
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

MODE_PARAMS(hat_range, splits)

ParameterizedTest(ht_mode_t *mode, hat_range, splits, .timeout = 120)
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
