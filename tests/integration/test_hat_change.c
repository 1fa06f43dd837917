/*
 * test_hat_change.c - integration tests of the calls that change existing
 * mappings (hat_change.c): ht_harvest_ad reports Accessed and Dirty bits
 * the MMU set (small and large pages, part of a large page reported
 * whole), tests without clearing and without a TLB call, clears A or D
 * with the TLB told, and leaves every other bit alone; A/D survive a
 * split and a protect.  ht_protect sets exactly W, U and X and keeps the
 * rest, on small and large pages, over holes too; with no_nx (and in
 * 32-bit paging, which has no NX bit) X stays effective.  (Unmap, lock
 * and unlock are in test_hat_range.c's errors and splits, chattr in
 * tests/unit/test_semantics.c.)
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
/* Accessed and Dirty                                                  */
/* ------------------------------------------------------------------ */

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

/* The raw leaf entry that maps va in e's space. */
static uint64_t
raw_pte(env_t *e, ht_va_t va)
{
	unsigned l;
	uint64_t *p = raw_leaf(e->arena, e->g, e->as, va, &l);

	cr_assert_not_null(p, "va 0x%llx not mapped", (unsigned long long)va);
	return (*p);
}

MODE_PARAMS(hat_change, accessed_dirty)

ParameterizedTest(ht_mode_t *mode, hat_change, accessed_dirty, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	uint64_t s1;
	ht_va_t v = 64 * MIB, lv;
	ad_rec_t r;
	long n;
	unsigned mt;

	env_setup(e, *mode);
	g = e->g;
	s1 = lsize(g, 1);
	lv = v + 4 * s1;
	/*
	 * EPT: a memory type (WB) and IPAT, in bits 4-6, where the x86
	 * formats have A and D: harvesting must leave them alone.
	 */
	mt = mode_ept(g) ? HT_EPT_MT(HT_EPT_WB) | HT_EPT_IPAT : 0;
	OK(ht_map(e->as, v, 0x1000000, 4 * PG, HT_W | mt, 0));
	OK(ht_map(e->as, lv, 8 * s1, s1, HT_W | mt, 0));
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
	XLATE(e->as, v + 2 * PG, 0x1002000, PG, eff(e, HT_W | mt, 0));
	XLATE(e->as, lv + PG, 8 * s1 + PG, s1, eff(e, HT_W | mt, 0));
	/* EPT: D is bit 9, cleared; A (bit 8) and bits 0-6 as they were */
	if (mode_ept(g)) {
		cr_assert_eq(raw_pte(e, v + 2 * PG) & 0x3ff, EPT_R | EPT_W |
		    (6ull << 3) | (1ull << 6) | EPT_A, "pte 0x%llx",
		    (unsigned long long)raw_pte(e, v + 2 * PG));
		cr_assert_eq(raw_pte(e, lv) & (EPT_A | EPT_D), EPT_A);
	}
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
	if (mode_ept(g))
		for (int i = 0; i < 4; i++)
			cr_assert_eq(raw_pte(e, v + i * PG) & (EPT_A | EPT_D),
			    0);
	XLATE(e->as, v + 2 * PG, 0x1002000, PG, eff(e, HT_W | mt, 0));
	AUDIT(e->as);

	/* A/D survive a split and a protect */
	raw_touch(e, e->as, lv, s1, E_A | E_D);
	OK(ht_protect(e->as, lv + PG, PG, HT_W | HT_U));
	cr_assert_eq(xattr(e->as, lv) & (HT_A | HT_D), HT_A | HT_D);
	cr_assert_eq(xattr(e->as, lv + PG) & (HT_A | HT_D), HT_A | HT_D);
	XLATE(e->as, lv + PG, 8 * s1 + PG, PG, eff(e, HT_W | HT_U | mt, 0));
	cr_assert_eq(ht_harvest_ad(e->as, lv, s1, HT_D, 0, NULL, NULL),
	    (long)(s1 / PG));
	AUDIT(e->as);
	env_teardown(e);
}

/* ------------------------------------------------------------------ */
/* Protect                                                             */
/* ------------------------------------------------------------------ */

MODE_PARAMS(hat_change, protect)

ParameterizedTest(ht_mode_t *mode, hat_change, protect, .timeout = 120)
{
	env_t *e = &E;
	const ht_geometry_t *g;
	uint64_t s1;
	ht_va_t v = 16 * MIB;
	unsigned keep;

	env_setup(e, *mode);
	g = e->g;
	s1 = lsize(g, 1);
	/* what protect keeps (EPT: IPAT and a memory type it takes) */
	keep = mode_attr(e, HT_G | HT_PWT | HT_PCD | HT_PAT);

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
	} else if (mode_ept(g)) {
		/*
		 * EPT: no NX bit and no no_nx (refused), X is a right as W
		 * is: bit 2, set and cleared by protect; bit 63 is
		 * suppress-#VE, never NX
		 */
		ht_config_t cfg;
		ht_ctx_t *ctx;
		ht_xlate_t x;

		env_setup(e, *mode);
		cfg = base_cfg(e, *mode);
		cfg.no_nx = 1;
		arm_detail();
		cr_assert_eq(ht_ctx_create(&cfg, &ctx), -HT_EINVAL);
		check_detail(__LINE__, "no_nx in EPT");
		OK(ht_map(e->as, v, 0x4000000, PG, HT_W, 0));
		OK(ht_translate(e->as, v, &x));
		cr_assert_eq(x.attr & (HT_X | HT_XU), 0, "attr 0x%x", x.attr);
		cr_assert_eq(x.entries[x.nlevels - 1] & (EPT_X | EPT_XU |
		    (1ull << 63)), 0);
		OK(ht_protect(e->as, v, PG, HT_W | HT_X));
		OK(ht_translate(e->as, v, &x));
		cr_assert_eq(x.attr & (HT_W | HT_X | HT_XU), HT_W | HT_X);
		cr_assert_eq(x.entries[x.nlevels - 1] & (EPT_R | EPT_W |
		    EPT_X | EPT_XU | (1ull << 63)), EPT_R | EPT_W | EPT_X);
		OK(ht_protect(e->as, v, PG, HT_W));
		OK(ht_translate(e->as, v, &x));
		cr_assert_eq(x.attr & (HT_X | HT_XU), 0);
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
