/*
 * test_as_import.c - integration tests of ht_as_import (import.c, through
 * the public API; the internal side is tests/unit/test_import.c): an
 * imported space shares the frames and sees the same leaves, locks
 * included, and changes through it land in them; hostile tables (a table
 * named twice, a self-referencing root, a table outside the arena, a
 * table on two levels, reserved bits, bits above the physical width) are
 * refused with nothing kept; bad arguments.
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

MODE_PARAMS(as_import, import)

ParameterizedTest(ht_mode_t *mode, as_import, import, .timeout = 120)
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
	OK(ht_map(e->as, 0x20000000, 0x30000000, PG, mode_attr(e, HT_PCD),
	    HT_MAP_LOCK));
	OK(ht_map(e->as, 0x7fff000, 0x5000, PG, HT_PAT, 0));
	/* the top of the space: the kernel's half, or nested paging's top */
	if (g->levels >= 4)
		OK(ht_map(e->as, g->hole_start != 0 ? 0xffffffff80000000ull :
		    va_last(g) + 1 - 4 * s1, 0x40000000, 3 * s1, HT_W, 0));

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
	/*
	 * EPT: a leaf the CPU calls a misconfiguration (write without read,
	 * memory type 2, 3 or 7) is one it cannot have
	 */
	if (mode_ept(g)) {
		static const uint64_t bad[] = { EPT_W, EPT_W | EPT_X,
		    EPT_R | (2ull << 3), EPT_R | EPT_W | (3ull << 3),
		    EPT_R | EPT_X | (7ull << 3) };
		unsigned l;
		uint64_t *p = raw_leaf(e->arena, g, e->as, 0x400000, &l);
		uint64_t old;

		cr_assert_not_null(p);
		old = *p;
		for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
			*p = (old & ~0x47full) | bad[i];
			IMPORT_BAD(e, ctx2, ht_as_root(e->as));
		}
		*p = old;
	}
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
		/* EPT: a link's bits 6:3 are reserved (a leaf's type) */
		if (mode_ept(g)) {
			raw_put(e, root, 2, (t1 + PG) | ptp | (6ull << 3));
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
		cr_assert_eq(ht_as_import(ctx2, root, 0x80, &imp), -HT_EINVAL);
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
