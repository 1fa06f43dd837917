/*
 * test_import.c - htable_attach / ht_as_import: wrapping tables someone
 * else built, in every mode, and refusing hostile ones without keeping
 * anything.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fixture.h"
#include "htable_int.h"
#include "x86pte.h"

static const ht_mode_t modes[] = { HT_MODE_32BIT, HT_MODE_PAE,
    HT_MODE_4LEVEL, HT_MODE_5LEVEL };

TestSuite(import, .fini = fx_teardown, .timeout = 60);

static ht_ctx_t *
second_ctx(void)
{
	ht_ctx_t *c2;
	ht_config_t cfg = fx.cfg;

	cfg.tlb = NULL;
	cr_assert_eq(ht_ctx_create(&cfg, &c2), 0);
	return (c2);
}

Test(import, imported_tables_translate_the_same)
{
	for (int i = 0; i < 4; i++) {
		fx_setup_mode(modes[i], 0, 64);
		uint64_t top = i >= 2 ? 0xffffffffffc00000ull : 0xffc00000ull;

		cr_assert_eq(ht_map(fx.as, 0x400000, 0x800000, 0x1c00000,
		    HT_W | HT_X, 0), 0);
		cr_assert_eq(ht_map(fx.as, 0x1000, 0x9000, 0x3000, HT_U, 0), 0);
		cr_assert_eq(ht_map(fx.as, top, 0xc00000, 0x400000, HT_G, 0),
		    0);
		cr_assert_eq(ht_lock(fx.as, 0x2000, 0x1000), 0);
		ht_ctx_t *c2 = second_ctx();
		ht_as_t *imp;
		uint64_t used = ht_arena_frames_used(fx.arena);

		cr_assert_eq(ht_as_import(c2, ht_as_root(fx.as), 0, &imp), 0,
		    "mode %d: %s", i, ht_errdetail());
		cr_assert_eq(ht_audit(imp), 0, "mode %d: %s", i,
		    ht_errdetail());
		cr_assert_eq(ht_as_root(imp), ht_as_root(fx.as));
		const uint64_t probes[] = { 0x1000, 0x2fff, 0x4000, 0x400000,
		    0x1234567, 0x1ffffff, top, top + 0x3fffff, 0x9000000 };
		for (unsigned p = 0; p < 9; p++) {
			ht_xlate_t a, b;
			int ra = ht_translate(fx.as, probes[p], &a);
			int rb = ht_translate(imp, probes[p], &b);

			cr_assert_eq(ra, rb);
			if (ra == 0) {
				cr_assert_eq(a.pa, b.pa);
				cr_assert_eq(a.attr, b.attr);
				cr_assert_eq(a.page_size, b.page_size);
			}
		}
		ht_stats_t st;
		ht_as_stats(imp, &st);
		cr_assert_eq(ht_arena_frames_used(fx.arena), used);
		/* the import can be changed: the locked page is known */
		cr_assert_eq(ht_unmap(imp, 0x1000, 0x3000, 0), -HT_ELOCKED);
		cr_assert_eq(ht_unmap(imp, 0x1000, 0x3000, HT_UNMAP_UNLOCK), 0);
		ht_xlate_t x;
		cr_assert_eq(ht_translate(fx.as, 0x1000, &x), -HT_ENOTMAPPED,
		    "the same frames");
		cr_assert_eq(ht_audit(imp), 0, "%s", ht_errdetail());
		ht_as_destroy(imp);
		cr_assert_eq(ht_ctx_destroy(c2), 0);
		/* imported frames are not freed by the importer */
		cr_assert_eq(ht_arena_frames_used(fx.arena), used);
		fx_teardown();
	}
}

static void
expect_bad(ht_pa_t root, const char *why)
{
	ht_ctx_t *c2 = second_ctx();
	ht_as_t *imp = NULL;
	uint64_t used = ht_arena_frames_used(fx.arena);

	cr_assert_eq(ht_as_import(c2, root, 0, &imp), -HT_EBADTABLE, "%s",
	    why);
	cr_assert_null(imp);
	cr_assert_neq(ht_errdetail()[0], '\0');
	cr_assert_eq(ht_arena_frames_used(fx.arena), used);
	cr_assert_eq(ht_ctx_destroy(c2), 0);
}

Test(import, hostile_tables_are_refused)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 64);
	cr_assert_eq(ht_map(fx.as, 0x1000, 0x2000, 0x1000, 0, 0), 0);
	uint64_t *root = ht_arena_ptr(fx.arena, ht_as_root(fx.as));
	uint64_t saved0 = root[0], *l3;

	/* a shared lower table: two root entries name one PDPT */
	root[1] = root[0];
	expect_bad(ht_as_root(fx.as), "shared table");
	root[1] = 0;
	/* a self-map (Windows style): the root names itself */
	root[510] = ht_as_root(fx.as) | 0x63;
	expect_bad(ht_as_root(fx.as), "self map");
	root[510] = 0;
	/* reserved bits: PS in a PML4E, bits above MAXPHYADDR */
	root[0] = saved0 | 0x80;
	expect_bad(ht_as_root(fx.as), "PS in PML4E");
	root[0] = saved0 | (1ull << 51);
	expect_bad(ht_as_root(fx.as), "reserved high bit");
	/* a table outside the provider's memory */
	root[0] = 0x7f00000000ull | 0x63;
	expect_bad(ht_as_root(fx.as), "outside");
	root[0] = saved0;
	/* a 1 GiB leaf where the CPU has none */
	l3 = ht_arena_ptr(fx.arena, saved0 & 0xffffffffff000ull);
	uint64_t saved3 = l3[5];
	l3[5] = 0x40000000ull | 0x83;
	{
		ht_config_t cfg = fx.cfg;
		ht_ctx_t *c2;
		ht_as_t *imp = NULL;

		cfg.tlb = NULL;
		cfg.pagesizes = HT_PS_4K | HT_PS_2M;
		cr_assert_eq(ht_ctx_create(&cfg, &c2), 0);
		cr_assert_eq(ht_as_import(c2, ht_as_root(fx.as), 0, &imp),
		    -HT_EBADTABLE);
		cr_assert_eq(ht_ctx_destroy(c2), 0);
	}
	l3[5] = saved3;
	/* misaligned or too-high roots */
	ht_ctx_t *c2 = second_ctx();
	ht_as_t *imp;
	cr_assert_eq(ht_as_import(c2, ht_as_root(fx.as) + 8, 0, &imp),
	    -HT_EALIGN);
	cr_assert_eq(ht_as_import(c2, 1ull << 52, 0, &imp), -HT_EPABITS);
	cr_assert_eq(ht_ctx_destroy(c2), 0);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}

Test(import, pae_root_is_32_byte_aligned)
{
	fx_setup_mode(HT_MODE_PAE, 0, 16);
	cr_assert_eq(ht_map(fx.as, 0x40001000, 0x5000, 0x1000, HT_W, 0), 0);
	/* copy the 4 PDPTEs to offset 0x20 of a frame of our own */
	uint8_t *src = ht_arena_ptr(fx.arena, ht_as_root(fx.as));
	ht_pa_t spare = 0x100000 + (15ull << 20);
	uint8_t *dst = ht_arena_ptr(fx.arena, spare);
	memcpy(dst + 0x20, src, 32);
	ht_ctx_t *c2 = second_ctx();
	ht_as_t *imp;
	cr_assert_eq(ht_as_import(c2, spare + 0x20, 0, &imp), 0, "%s",
	    ht_errdetail());
	cr_assert_eq(ht_as_root(imp), spare + 0x20);
	ht_xlate_t x;
	cr_assert_eq(ht_translate(imp, 0x40001abc, &x), 0);
	cr_assert_eq(x.pa, 0x5abc);
	cr_assert_eq(ht_audit(imp), 0, "%s", ht_errdetail());
	ht_as_destroy(imp);
	cr_assert_eq(ht_ctx_destroy(c2), 0);
}
