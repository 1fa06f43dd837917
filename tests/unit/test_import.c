/*
 * test_import.c - htable_attach / ht_as_import: wrapping tables someone
 * else built, in every mode, and refusing hostile ones without keeping
 * anything.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "geom.h"
#include "htable_int.h"
#include "x86pte.h"
#include "op.h"
#include "frame.h"

static const ht_mode_t modes[] = { ALL_MODES };
#define NMODES	((int)(sizeof (modes) / sizeof (modes[0])))

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
	for (int i = 0; i < NMODES; i++) {
		fx_setup_mode(modes[i], 0, 64);
		const ht_geometry_t *mg = ht_geometry(modes[i]);
		/* 4 MiB below the top of the space */
		uint64_t top = mg->hole_start != 0 ? 0xffffffffffc00000ull :
		    mg->va_bits == 32 ? 0xffc00000ull :
		    (1ull << mg->va_bits) - 0x400000;

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

/*
 * One owner per table frame in a context.  Helpers: frames the test takes
 * from the arena itself (the caller's own, never the context's), entries
 * written in the mode's format, and the frames a context reports.
 */
static ht_pa_t
own_frame(void)
{
	ht_pfn_t pfn;

	/* from the top of the arena, far from where the context allocates */
	cr_assert_eq(ht_arena_ops()->alloc(fx.arena, 0x100000 + (40ull << 20),
	    0x100000 + (64ull << 20), &pfn), 0);
	memset(ht_arena_ptr(fx.arena, pfn << 12), 0, 4096);
	return (pfn << 12);
}

static void
own_free(ht_pa_t pa)
{
	ht_arena_ops()->free(fx.arena, pa >> 12);
}

static void
put_entry(ht_pa_t table, unsigned idx, uint64_t v)
{
	const ht_geometry_t *g = ht_ctx_geometry(fx.ctx);
	uint8_t *p = (uint8_t *)ht_arena_ptr(fx.arena, table) +
	    (size_t)idx * g->pte_size;

	if (g->pte_size == 8)
		*(uint64_t *)p = v;
	else
		*(uint32_t *)p = (uint32_t)v;
}

/* A link from a level-`level` entry (PAE PDPTEs take P only). */
static uint64_t
link_to(ht_pa_t pa, unsigned level)
{
	const ht_geometry_t *g = ht_ctx_geometry(fx.ctx);

	if (g->mode == HT_MODE_PAE && level == 2)
		return (pa | 0x1);
	return (pa | 0x7);
}

/* The frame that the entry for va at `level` of as links to. */
static ht_pa_t
table_below(ht_as_t *as, uint64_t va, int level)
{
	const ht_geometry_t *g = ht_ctx_geometry(fx.ctx);
	void *e = fx_entry(as, va, level);
	uint64_t pte;

	cr_assert_not_null(e);
	pte = g->pte_size == 8 ? *(uint64_t *)e : *(uint32_t *)e;
	cr_assert(pte & 1);
	return (pte & (g->pte_size == 8 ? 0x000ffffffffff000ull :
	    0xfffff000ull));
}

typedef struct frame_census {
	long		n;
	ht_pfn_t	pfn[256];
} frame_census_t;

static void
census_cb(void *arg, const ht_as_t *as, ht_pfn_t pfn, int level)
{
	frame_census_t *c = arg;

	(void) as;
	(void) level;
	if (c->n < 256)
		c->pfn[c->n] = pfn;
	c->n++;
}

/* No frame is reported twice by the spaces of ctx. */
static long
census_unique(ht_ctx_t *ctx)
{
	frame_census_t c = { 0 };
	long n = ht_ctx_dump_frames(ctx, census_cb, &c);

	cr_assert_eq(n, c.n);
	for (long i = 0; i < c.n && i < 256; i++)
		for (long j = 0; j < i; j++)
			cr_assert_neq(c.pfn[i], c.pfn[j], "frame 0x%llx twice",
			    (unsigned long long)c.pfn[i] << 12);
	return (n);
}

/*
 * Import must fail with -HT_EBUSY, name the frame and `who` in the detail,
 * and change nothing: the spaces, the frames, the provider.
 */
static void
expect_busy(ht_ctx_t *ctx, ht_pa_t root, ht_pa_t frame, const char *who,
    int line)
{
	ht_as_t *imp = NULL;
	ht_stats_t s0, s1;
	uint64_t used = ht_arena_frames_used(fx.arena);
	long frames = census_unique(ctx);
	char pa[32];
	int rc;

	ht_ctx_stats(ctx, &s0);
	rc = ht_as_import(ctx, root, 0, &imp);
	cr_assert_eq(rc, -HT_EBUSY, "line %d: %s (%s)", line,
	    rc < 0 ? ht_err_name(rc) : "success", ht_errdetail());
	cr_assert_null(imp);
	(void) snprintf(pa, sizeof (pa), "0x%llx", (unsigned long long)frame);
	cr_assert_not_null(strstr(ht_errdetail(), pa), "line %d: '%s' lacks "
	    "%s", line, ht_errdetail(), pa);
	cr_assert_not_null(strstr(ht_errdetail(), who), "line %d: '%s' lacks "
	    "'%s'", line, ht_errdetail(), who);
	ht_ctx_stats(ctx, &s1);
	cr_assert_eq(s1.address_spaces, s0.address_spaces);
	cr_assert_eq(census_unique(ctx), frames);
	cr_assert_eq(ht_arena_frames_used(fx.arena), used);
}

static char *
as_name(const ht_as_t *as, char *buf, size_t len)
{
	(void) snprintf(buf, len, "%p", (const void *)as);
	return (buf);
}

Test(import, root_of_a_live_space_is_refused)
{
	for (int i = 0; i < NMODES; i++) {
		char who[32];

		fx_setup_mode(modes[i], 0, 64);
		cr_assert_eq(ht_map(fx.as, 0x400000, 0x800000, 0x1000, HT_W,
		    0), 0);
		as_name(fx.as, who, sizeof (who));
		/* twice: the first refusal left nothing behind */
		expect_busy(fx.ctx, ht_as_root(fx.as), ht_as_root(fx.as), who,
		    __LINE__);
		expect_busy(fx.ctx, ht_as_root(fx.as), ht_as_root(fx.as), who,
		    __LINE__);
		cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
		cr_assert_eq(census_unique(fx.ctx), (long)ht_arena_frames_used(
		    fx.arena));
		ht_xlate_t x;
		cr_assert_eq(ht_translate(fx.as, 0x400000, &x), 0);
		fx_teardown();
	}
}

/* VA of entry idx of a root (the upper half sign-extended). */
static uint64_t
root_va(const ht_geometry_t *g, unsigned idx)
{
	unsigned top = g->levels - 1;
	uint64_t va = (uint64_t)idx << g->level_shift[top];

	if (g->va_bits > 32 && (va >> (g->va_bits - 1)) & 1)
		va |= ~0ull << g->va_bits;
	return (va);
}

/*
 * A link of an import to a table that a live space has at that level is
 * sharing (the import reads it through the space, sees its changes, may
 * not write it); at another level, or a root, it is refused.
 */
Test(import, inner_table_of_a_live_space_is_shared)
{
	for (int i = 0; i < NMODES; i++) {
		const ht_geometry_t *g;
		ht_as_t *imp;
		ht_xlate_t x;
		char who[32];

		fx_setup_mode(modes[i], 0, 64);
		g = ht_ctx_geometry(fx.ctx);
		unsigned top = g->levels - 1;
		uint64_t v = root_va(g, 1) + 0x400000 % (1ull <<
		    g->level_shift[top]);
		cr_assert_eq(ht_map(fx.as, 0x400000, 0x800000, 0x1000, HT_W,
		    0), 0);
		as_name(fx.as, who, sizeof (who));
		ht_pa_t mine = table_below(fx.as, 0x400000, (int)top);
		ht_pa_t root = own_frame();

		/* a root of the caller's that links to the space's table */
		put_entry(root, 1, link_to(mine, top));
		cr_assert_eq(ht_as_import(fx.ctx, root, 0, &imp), 0, "%s",
		    ht_errdetail());
		cr_assert_eq(ht_translate(imp, v, &x), 0, "%s", ht_errdetail());
		cr_assert_eq(x.pa, 0x800000);
		cr_assert_eq(ht_audit(imp), 0, "%s", ht_errdetail());
		cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
		/* the space's changes are seen; the import may not write */
		cr_assert_eq(ht_map(fx.as, 0x401000, 0x900000, 0x1000, HT_W,
		    0), 0);
		cr_assert_eq(ht_translate(imp, v + 0x1000, &x), 0);
		cr_assert_eq(x.pa, 0x900000);
		cr_assert_eq(ht_unmap(imp, v, 0x1000, 0), -HT_ESHARED);
		ht_as_destroy(imp);
		cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
		cr_assert_eq(ht_translate(fx.as, 0x401000, &x), 0);
		/* the space's root is never shared */
		put_entry(root, 1, 0);
		expect_busy(fx.ctx, ht_as_root(fx.as), ht_as_root(fx.as), who,
		    __LINE__);
		if (top >= 2) {
			ht_pa_t t = own_frame();
			ht_pa_t low = table_below(fx.as, 0x400000, (int)top - 1);

			/* a table of the space at another level: refused */
			put_entry(root, 1, link_to(low, top));
			expect_busy(fx.ctx, root, low, who, __LINE__);
			/* deeper, at its own level: shared */
			put_entry(root, 1, link_to(t, top));
			put_entry(t, 0, link_to(low, top - 1));
			cr_assert_eq(ht_as_import(fx.ctx, root, 0, &imp), 0,
			    "%s", ht_errdetail());
			cr_assert_eq(ht_translate(imp, root_va(g, 1) + 0x400000 %
			    (1ull << g->level_shift[top - 1]), &x), 0, "%s",
			    ht_errdetail());
			cr_assert_eq(x.pa, 0x800000);
			cr_assert_eq(ht_audit(imp), 0, "%s", ht_errdetail());
			/* the source's destroy ends the share first */
			ht_as_t *src = fx.as;
			fx.as = NULL;
			ht_as_destroy(src);
			cr_assert_eq(ht_translate(imp, root_va(g, 1), &x),
			    -HT_ENOTMAPPED);
			cr_assert_eq(ht_audit(imp), 0, "%s", ht_errdetail());
			ht_as_destroy(imp);
			put_entry(root, 1, 0);
			put_entry(t, 0, 0);
			own_free(t);
		}
		own_free(root);
		fx_teardown();
	}
}

Test(import, tables_of_an_imported_space_are_refused)
{
	for (int i = 0; i < NMODES; i++) {
		ht_ctx_t *c2;
		ht_as_t *imp, *again;
		char who[32];

		fx_setup_mode(modes[i], 0, 64);
		cr_assert_eq(ht_map(fx.as, 0x400000, 0x800000, 0x1000, HT_W,
		    0), 0);
		c2 = second_ctx();
		cr_assert_eq(ht_as_import(c2, ht_as_root(fx.as), 0, &imp), 0,
		    "%s", ht_errdetail());
		as_name(imp, who, sizeof (who));
		expect_busy(c2, ht_as_root(fx.as), ht_as_root(fx.as), who,
		    __LINE__);
		cr_assert_not_null(strstr(ht_errdetail(), "imported"));
		cr_assert_eq(ht_audit(imp), 0, "%s", ht_errdetail());
		/* once the first import is gone, the frames are free again */
		ht_as_destroy(imp);
		cr_assert_eq(ht_as_import(c2, ht_as_root(fx.as), 0, &again), 0,
		    "%s", ht_errdetail());
		cr_assert_eq(ht_audit(again), 0, "%s", ht_errdetail());
		ht_as_destroy(again);
		cr_assert_eq(ht_ctx_destroy(c2), 0);
		fx_teardown();
	}
}

Test(import, cached_and_preallocated_frames_are_refused)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 64);
	char who[32];
	ht_pa_t root = own_frame(), t3 = own_frame(), t2 = own_frame();

	put_entry(root, 0, link_to(t3, 3));
	put_entry(t3, 0, link_to(t2, 2));
	/* an emptied page table goes to the space's cache */
	cr_assert_eq(ht_map(fx.as, 0x1000, 0x5000, 0x1000, HT_W, 0), 0);
	cr_assert_eq(ht_unmap(fx.as, 0x1000, 0x1000, 0), 0);
	cr_assert_not_null(hat_cache_peek(fx.as));
	ht_pa_t cached = hat_cache_peek(fx.as)->ht_pfn << 12;
	put_entry(t2, 0, link_to(cached, 1));
	as_name(fx.as, who, sizeof (who));
	expect_busy(fx.ctx, root, cached, "cached", __LINE__);
	cr_assert_not_null(strstr(ht_errdetail(), who));

	/* a frame that an operation preallocated */
	op_t op;
	op_begin(&op, fx.as);
	cr_assert_eq(op_prealloc_tables(&op, 1), 0);
	ht_pa_t pre = op.op_prealloc->ht_pfn << 12;
	put_entry(t2, 0, link_to(pre, 1));
	expect_busy(fx.ctx, root, pre, "operation in flight", __LINE__);
	op_end(&op);

	put_entry(t2, 0, 0);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	own_free(root);
	own_free(t3);
	own_free(t2);
}

/*
 * The fixture, with table frames only from a pool of n frames at 9 MiB
 * (and no TLB hook: the race below has two threads).  Returns the pool.
 */
static ht_pa_t
setup_pool(ht_mode_t mode, unsigned n)
{
	ht_pa_t p = 0x100000 + (8ull << 20);

	fx_setup_mode(mode, 0, 64);
	ht_as_destroy(fx.as);
	fx.as = NULL;
	cr_assert_eq(ht_ctx_destroy(fx.ctx), 0);
	fx.cfg.npools = 1;
	fx.cfg.pools[0].base = p;
	fx.cfg.pools[0].len = (uint64_t)n * 4096;
	fx.cfg.tlb = NULL;
	cr_assert_eq(ht_ctx_create(&fx.cfg, &fx.ctx), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_as_create(fx.ctx, 0, &fx.as), 0);
	return (p);
}

/*
 * The reverse: frames the caller imported but never took from the
 * provider.  When the provider hands one out for a new table, that
 * allocation is refused with -HT_EPROVIDER and the frame goes back; the
 * call changes nothing.
 */
Test(import, provider_frame_held_by_an_import_is_refused)
{
	/* a pool of two frames: the root of a space, and one other */
	ht_pa_t p = setup_pool(HT_MODE_32BIT, 2);
	ht_pa_t free_one = ht_as_root(fx.as) == p ? p + 4096 : p;

	/* the caller's root links to the frame the provider thinks free */
	ht_pa_t root = own_frame();
	ht_as_t *imp;
	memset(ht_arena_ptr(fx.arena, free_one), 0, 4096);
	put_entry(root, 3, link_to(free_one, 1));
	cr_assert_eq(ht_as_import(fx.ctx, root, 0, &imp), 0, "%s",
	    ht_errdetail());
	cr_assert_eq(ht_map(imp, 0xc00000, 0x7000, 0x1000, HT_W, 0), 0);

	uint64_t used = ht_arena_frames_used(fx.arena);
	char pa[32];
	(void) snprintf(pa, sizeof (pa), "0x%llx", (unsigned long long)
	    free_one);
	cr_assert_eq(ht_map(fx.as, 0x1000, 0x5000, 0x1000, HT_W, 0),
	    -HT_EPROVIDER);
	cr_assert_not_null(strstr(ht_errdetail(), pa), "%s", ht_errdetail());
	cr_assert_eq(ht_arena_frames_used(fx.arena), used);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_audit(imp), 0, "%s", ht_errdetail());
	ht_xlate_t x;
	cr_assert_eq(ht_translate(fx.as, 0x1000, &x), -HT_ENOTMAPPED);
	cr_assert_eq(ht_translate(imp, 0xc00000, &x), 0);
	cr_assert_eq(x.pa, 0x7000);
	census_unique(fx.ctx);

	/* the import is gone: the frame is the context's to use */
	cr_assert_eq(ht_unmap(imp, 0xc00000, 0x1000, 0), 0);
	ht_as_destroy(imp);
	cr_assert_eq(ht_map(fx.as, 0x1000, 0x5000, 0x1000, HT_W, 0), 0);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	own_free(root);
}

/*
 * Races: one thread creates and frees tables in a space whose pool holds
 * a frame F, another imports, again and again, a root of its own that
 * links to F.  Whoever claims F first wins: the import gets -HT_EBUSY
 * while the space has F as a table (cached or in flight included), the
 * space's allocation gets -HT_EPROVIDER while the import holds it, and
 * nobody ever sees the other's entries (the audits after each step).
 */
#define RACE_ROUNDS	1500

typedef struct race {
	ht_pa_t		root;		/* the importer's */
	int		imported, busy;	/* outcomes, for the message */
	int		mapped, refused;
} race_t;

static void *
race_importer(void *arg)
{
	race_t *r = arg;

	for (int i = 0; i < RACE_ROUNDS; i++) {
		ht_as_t *imp = NULL;
		ht_xlate_t x;
		int rc = ht_as_import(fx.ctx, r->root, 0, &imp);

		cr_assert(rc == 0 || rc == -HT_EBUSY, "import: %s (%s)",
		    ht_err_name(rc), ht_errdetail());
		if (rc != 0) {
			r->busy++;
			continue;
		}
		r->imported++;
		cr_assert_eq(ht_audit(imp), 0, "import: %s", ht_errdetail());
		cr_assert_eq(ht_translate(imp, 0x5000, &x), -HT_ENOTMAPPED);
		ht_as_destroy(imp);
	}
	return (NULL);
}

Test(import, racing_table_creation_never_shares_a_frame, .timeout = 120)
{
	ht_pa_t p = setup_pool(HT_MODE_4LEVEL, 8);
	/* the space keeps its root and one PDPT; F is some other frame */
	cr_assert_eq(ht_map(fx.as, 0x1000, 0x5000, 0x1000, HT_W, 0), 0);
	ht_pa_t keep = table_below(fx.as, 0x1000, 3);
	cr_assert_eq(ht_unmap(fx.as, 0x1000, 0x1000, 0), 0);
	(void) ht_as_purge(fx.as);
	ht_pa_t f = p;
	while (f == ht_as_root(fx.as) || f == keep)
		f += 4096;

	race_t r = { .root = own_frame() };
	put_entry(r.root, 0, link_to(f, 3));
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, race_importer, &r), 0);
	for (int i = 0; i < RACE_ROUNDS; i++) {
		uint64_t va = (uint64_t)(i % 64) << 21;
		int rc = ht_map(fx.as, va + 0x1000, 0x5000, 0x1000, HT_W, 0);

		cr_assert(rc == 0 || rc == -HT_EPROVIDER, "map: %s (%s)",
		    ht_err_name(rc), ht_errdetail());
		cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
		if (rc != 0) {
			r.refused++;
			continue;
		}
		r.mapped++;
		cr_assert_eq(ht_unmap(fx.as, va + 0x1000, 0x1000, 0), 0);
		cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
		(void) ht_as_purge(fx.as);
	}
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(census_unique(fx.ctx) + 1,
	    (long)ht_arena_frames_used(fx.arena));
	own_free(r.root);
}

/*
 * The context's frame set deletes with backward shifts: after any mix of
 * additions and deletions (colliding frame numbers included) it answers
 * exactly like a plain array.
 */
Test(import, pfnset_matches_a_reference)
{
	static uint8_t ref[8192];
	pfnset_t s = { NULL, 0, 0 };
	uint64_t x = 88172645463325252ull;
	size_t n = 0;

	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* multiples of 1024 collide in the low bits */
		ht_pfn_t pfn = (x >> 8) % 8192;
		if (x & 1)
			pfn = (pfn % 8) * 1024;
		if ((x >> 1) & 1) {
			int r = pfnset_add(&s, pfn);

			cr_assert_eq(r, ref[pfn], "add 0x%llx",
			    (unsigned long long)pfn);
			n += !ref[pfn];
			ref[pfn] = 1;
		} else {
			cr_assert_eq(pfnset_del(&s, pfn), ref[pfn]);
			n -= ref[pfn];
			ref[pfn] = 0;
		}
		cr_assert_eq(s.n, n);
		if (i % 4096 == 0) {
			for (ht_pfn_t p = 0; p < 8192; p++)
				cr_assert_eq(pfnset_has(&s, p), ref[p],
				    "pfn 0x%llx", (unsigned long long)p);
		}
	}
	pfnset_fini(&s);
}

/*
 * Found by fuzz_import: a non-present entry with data in it (legal: the
 * MMU ignores it) where ht_map later links a new table.  The link's
 * compare-and-swap expected 0 and took the leftover for a large page in
 * the way, then failed its own assertion.  A successful import now clears
 * such entries; a failed one leaves them alone.
 */
Test(import, non_present_entries_with_data_are_cleared)
{
	for (int i = 0; i < NMODES; i++) {
		fx_setup_mode(modes[i], 0, 64);
		const ht_geometry_t *g = ht_ctx_geometry(fx.ctx);
		unsigned top = g->levels - 1;
		ht_pa_t root = own_frame(), t = own_frame();
		ht_as_t *imp;
		ht_xlate_t x;

		/* root entry 0 links to t; t's entry 0 holds "swap" data */
		put_entry(root, 0, link_to(t, top));
		put_entry(t, 0, 0xabcd0000ull);
		put_entry(root, 1, 0x5a5a0000ull);
		/* a failed import leaves them alone */
		put_entry(root, 2, link_to(t, top));
		cr_assert_eq(ht_as_import(fx.ctx, root, 0, &imp),
		    -HT_EBADTABLE);
		cr_assert_eq(*(uint32_t *)((uint8_t *)ht_arena_ptr(fx.arena,
		    t)), 0xabcd0000u);
		put_entry(root, 2, 0);
		cr_assert_eq(ht_as_import(fx.ctx, root, 0, &imp), 0, "%s",
		    ht_errdetail());
		cr_assert_eq(ht_audit(imp), 0, "%s", ht_errdetail());
		/* a page in t's entry 0 region needs a new table there */
		cr_assert_eq(ht_map(imp, 0, 0x5000, 0x1000, HT_W, 0), 0, "%s",
		    ht_errdetail());
		cr_assert_eq(ht_translate(imp, 0, &x), 0);
		cr_assert_eq(x.pa, 0x5000);
		/* and one under the root's entry 1 */
		uint64_t va1 = 1ull << g->level_shift[top];
		cr_assert_eq(ht_map(imp, va1, 0x6000, 0x1000, HT_W, 0), 0, "%s",
		    ht_errdetail());
		cr_assert_eq(ht_audit(imp), 0, "%s", ht_errdetail());
		cr_assert_eq(ht_unmap(imp, 0, 0x1000, 0), 0);
		cr_assert_eq(ht_unmap(imp, va1, 0x1000, 0), 0);
		cr_assert_eq(ht_audit(imp), 0, "%s", ht_errdetail());
		ht_as_destroy(imp);
		own_free(root);
		own_free(t);
		fx_teardown();
	}
}

/*
 * EPT: import a chain of the caller's tables (root .. level 0, each
 * linked by entry 0; the leaf maps va 0x1000) in a context of EPT flags
 * `ept`.  The result; on success *r_rc and *r_x are translate's of
 * 0x1000, and the import is gone again.  A failed import takes no frame.
 */
static int
import_ept(unsigned ept, ht_pa_t root, int *r_rc, ht_xlate_t *r_x)
{
	ht_config_t cfg = fx.cfg;
	uint64_t used = ht_arena_frames_used(fx.arena);
	ht_ctx_t *c2;
	ht_as_t *imp = NULL;
	int rc;

	cfg.tlb = NULL;
	cfg.ept = ept;
	cr_assert_eq(ht_ctx_create(&cfg, &c2), 0, "%s", ht_errdetail());
	rc = ht_as_import(c2, root, 0, &imp);
	if (rc == 0) {
		cr_assert_eq(ht_audit(imp), 0, "%s", ht_errdetail());
		*r_rc = ht_translate(imp, 0x1000, r_x);
		ht_as_destroy(imp);
	} else {
		cr_assert_null(imp);
		cr_assert_neq(ht_errdetail()[0], '\0');
	}
	cr_assert_eq(ht_arena_frames_used(fx.arena), used);
	cr_assert_eq(ht_ctx_destroy(c2), 0);
	return (rc);
}

/* Raw EPT entry bits, from the SDM (vol. 3C, 29.3.2) */
#define RAW_EPT_R	0x001ull
#define RAW_EPT_W	0x002ull
#define RAW_EPT_X	0x004ull
#define RAW_EPT_MT(t)	((uint64_t)(t) << 3)
#define RAW_EPT_PS	0x080ull
#define RAW_EPT_XU	0x400ull

/*
 * What makes EPT tables hostile is EPT's own (SDM 3C, "EPT
 * Misconfigurations"): write without read, execute without read on a
 * CPU without execute-only pages, bits 6:3 of a link, PS in a PML4E or
 * PML5E, memory type 2, 3 or 7 in a leaf.  Each is refused.  An entry
 * whose only right is user-mode execute (bit 10) is present under MBEC
 * (a page, or a link, with XONLY; refused without) and an ignored bit
 * without it: a not-present data entry at level 0, one a successful
 * import clears above.
 */
Test(import, hostile_ept_entries_are_refused)
{
	static const ht_mode_t em[] = { HT_MODE_EPT4, HT_MODE_EPT5 };
	const unsigned all = HT_EPT_AD | HT_EPT_MBEC | HT_EPT_XONLY;
	const unsigned rights = HT_W | HT_X | HT_XU | HT_NOREAD;

	for (unsigned k = 0; k < 2; k++) {
		fx_setup_mode(em[k], 0, 64);
		const ht_geometry_t *g = ht_ctx_geometry(fx.ctx);
		unsigned top = g->levels - 1;
		ht_pa_t t[HT_MAX_LEVELS];
		uint64_t link, leaf;
		ht_xlate_t x;
		int xrc;

		/* links with every right, user-mode execute too */
		for (unsigned l = 0; l <= top; l++)
			t[l] = own_frame();
		for (unsigned l = top; l > 0; l--)
			put_entry(t[l], 0, t[l - 1] | RAW_EPT_R | RAW_EPT_W |
			    RAW_EPT_X | RAW_EPT_XU);
		link = t[top - 1] | RAW_EPT_R | RAW_EPT_W | RAW_EPT_X |
		    RAW_EPT_XU;
		leaf = 0x2000 | RAW_EPT_R | RAW_EPT_W | RAW_EPT_MT(6);

		/* the chain as it is: a readable, writable WB page */
		put_entry(t[0], 1, leaf);
		cr_assert_eq(import_ept(all, t[top], &xrc, &x), 0, "%s",
		    ht_errdetail());
		cr_assert_eq(xrc, 0);
		cr_assert_eq(x.pa, 0x2000);
		cr_assert_eq(x.attr & (rights | HT_EPT_MT_MASK), HT_W |
		    HT_EPT_MT(HT_EPT_WB), "0x%x", x.attr);

		/* the root's link: write without read, bit 3, PS */
		put_entry(t[top], 0, link & ~RAW_EPT_R);
		cr_assert_eq(import_ept(all, t[top], &xrc, &x), -HT_EBADTABLE);
		put_entry(t[top], 0, link | RAW_EPT_MT(1));
		cr_assert_eq(import_ept(all, t[top], &xrc, &x), -HT_EBADTABLE);
		put_entry(t[top], 0, link | RAW_EPT_PS);
		cr_assert_eq(import_ept(all, t[top], &xrc, &x), -HT_EBADTABLE);
		put_entry(t[top], 0, link);

		/* the leaf: reserved memory types, write without read */
		for (unsigned mt = 2; mt <= 7; mt += mt == 3 ? 4 : 1) {
			put_entry(t[0], 1, (leaf & ~RAW_EPT_MT(7)) |
			    RAW_EPT_MT(mt));
			cr_assert_eq(import_ept(all, t[top], &xrc, &x),
			    -HT_EBADTABLE, "memory type %u", mt);
		}
		put_entry(t[0], 1, leaf & ~RAW_EPT_R);
		cr_assert_eq(import_ept(all, t[top], &xrc, &x), -HT_EBADTABLE);

		/* execute-only: a page where the CPU allows it */
		put_entry(t[0], 1, (leaf & ~7ull) | RAW_EPT_X);
		cr_assert_eq(import_ept(all, t[top], &xrc, &x), 0, "%s",
		    ht_errdetail());
		cr_assert_eq(xrc, 0);
		cr_assert_eq(x.attr & rights, HT_X | HT_NOREAD);
		cr_assert_eq(import_ept(all & ~HT_EPT_XONLY, t[top], &xrc, &x),
		    -HT_EBADTABLE);

		/* user-mode execute only: MBEC's page, data without it */
		put_entry(t[0], 1, (leaf & ~7ull) | RAW_EPT_XU);
		cr_assert_eq(import_ept(all, t[top], &xrc, &x), 0, "%s",
		    ht_errdetail());
		cr_assert_eq(xrc, 0);
		cr_assert_eq(x.attr & rights, HT_XU | HT_NOREAD);
		cr_assert_eq(import_ept(all & ~HT_EPT_XONLY, t[top], &xrc, &x),
		    -HT_EBADTABLE);
		cr_assert_eq(import_ept(all & ~HT_EPT_MBEC, t[top], &xrc, &x),
		    0, "%s", ht_errdetail());
		cr_assert_eq(xrc, -HT_ENOTMAPPED);

		/* a link with user-mode execute only, over a full page */
		put_entry(t[0], 1, leaf | RAW_EPT_X | RAW_EPT_XU);
		put_entry(t[top], 0, t[top - 1] | RAW_EPT_XU);
		cr_assert_eq(import_ept(all, t[top], &xrc, &x), 0, "%s",
		    ht_errdetail());
		cr_assert_eq(xrc, 0);
		cr_assert_eq(x.attr & rights, HT_XU | HT_NOREAD, "0x%x",
		    x.attr);
		cr_assert_eq(import_ept(all & ~HT_EPT_XONLY, t[top], &xrc, &x),
		    -HT_EBADTABLE);
		/* without MBEC not present: the import clears it */
		cr_assert_eq(import_ept(all & ~HT_EPT_MBEC, t[top], &xrc, &x),
		    0, "%s", ht_errdetail());
		cr_assert_eq(xrc, -HT_ENOTMAPPED);
		cr_assert_eq(*(uint64_t *)ht_arena_ptr(fx.arena, t[top]), 0);

		for (unsigned l = 0; l <= top; l++) {
			memset(ht_arena_ptr(fx.arena, t[l]), 0, 4096);
			own_free(t[l]);
		}
		fx_teardown();
	}
}
