/*
 * test_contracts.c - promises of the header that other tests do not pin
 * down: ht_xlate_t.entry_pa names where each entry was read, and ht_map
 * takes HT_A / HT_D (preset Accessed / Dirty), which translate and walk
 * report and ht_harvest_ad harvests.  Every mode, every page size (in EPT
 * with HT_EPT_AD, whose A and D are bits 8 and 9).
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "htable.h"
#include "../lib/geom.h"

#define PG	4096ull
#define MIB	(1024ull * 1024)
#define GIB	(1024ull * MIB)

/* Raw entry bits (Intel SDM vol. 3, chapter 4; EPT: 3C 29.3.5). */
#define E_A	0x20ull
#define E_D	0x40ull
#define EPT_A	0x100ull
#define EPT_D	0x200ull

static const ht_mode_t modes[] = { ALL_MODES };
static const unsigned sizes[] = { HT_PS_4K, HT_PS_2M, HT_PS_4M, HT_PS_1G };

typedef struct setup {
	const ht_geometry_t	*g;
	ht_arena_t		*arena;
	ht_ctx_t		*ctx;
	ht_as_t			*as;
} setup_t;

static void
setup(setup_t *s, ht_mode_t mode)
{
	ht_config_t cfg = { .mode = mode, .frame_ops = ht_arena_ops() };

	s->g = ht_geometry(mode);
	cr_assert_eq(ht_arena_create(MIB, 64 * MIB, 0, &s->arena), 0);
	cfg.frame_arg = s->arena;
	cfg.ept = mode_ept(s->g) ? EPT_ENV : 0;
	cr_assert_eq(ht_ctx_create(&cfg, &s->ctx), 0);
	cr_assert_eq(ht_as_create(s->ctx, 0, &s->as), 0);
}

static void
teardown(setup_t *s)
{
	cr_assert_eq(ht_audit(s->as), 0, "%s", ht_errdetail());
	ht_as_destroy(s->as);
	cr_assert_eq(ht_ctx_destroy(s->ctx), 0);
	cr_assert_eq(ht_arena_frames_used(s->arena), 0);
	ht_arena_destroy(s->arena);
}

static uint64_t
ps_bytes(unsigned ps)
{
	return (ps == HT_PS_4K ? PG : ps == HT_PS_2M ? 2 * MIB :
	    ps == HT_PS_4M ? 4 * MIB : GIB);
}

/* Every entry of x read again at entry_pa, through the arena. */
static void
check_entry_pa(const setup_t *s, const ht_xlate_t *x)
{
	unsigned top = (unsigned)(x->va >> s->g->level_shift[s->g->levels -
	    1]) & (s->g->top_level_count - 1);

	cr_assert_gt(x->nlevels, 0);
	/* the root's entry: CR3 + index * size (PAE: in the 32-byte root) */
	cr_assert_eq(x->entry_pa[0], ht_as_root(s->as) +
	    (ht_pa_t)top * s->g->pte_size, "mode %s va 0x%llx: root entry at "
	    "0x%llx", ht_mode_name(s->g->mode), (unsigned long long)x->va,
	    (unsigned long long)x->entry_pa[0]);
	for (unsigned i = 0; i < x->nlevels; i++) {
		const void *p = ht_arena_ptr(s->arena, x->entry_pa[i]);
		uint64_t v = 0;

		cr_assert_not_null(p, "entry %u at 0x%llx is outside the arena",
		    i, (unsigned long long)x->entry_pa[i]);
		cr_assert_eq(x->entry_pa[i] % s->g->pte_size, 0);
		memcpy(&v, p, s->g->pte_size);
		cr_assert_eq(v, x->entries[i], "mode %s va 0x%llx entry %u: "
		    "0x%llx at 0x%llx, translate read 0x%llx",
		    ht_mode_name(s->g->mode), (unsigned long long)x->va, i,
		    (unsigned long long)v, (unsigned long long)x->entry_pa[i],
		    (unsigned long long)x->entries[i]);
	}
}

Test(contracts, entry_pa_names_each_entry_read)
{
	for (size_t mi = 0; mi < sizeof (modes) / sizeof (modes[0]); mi++) {
		setup_t s;
		ht_xlate_t x;
		ht_va_t va = GIB;

		setup(&s, modes[mi]);
		for (size_t i = 0; i < sizeof (sizes) / sizeof (sizes[0]);
		    i++, va += GIB / 4) {
			uint64_t sz = ps_bytes(sizes[i]);

			if (!(s.g->pagesizes & sizes[i]))
				continue;
			if (sz == GIB)
				va = 64 * GIB;
			cr_assert_eq(ht_map(s.as, va, 2 * GIB, sz, HT_W,
			    HT_MAP_SIZE(sizes[i])), 0, "%s", ht_errdetail());
			cr_assert_eq(ht_translate(s.as, va + sz - 8, &x), 0);
			cr_assert_eq(x.page_size, sz);
			check_entry_pa(&s, &x);
			/* a miss reports where the walk stopped too */
			cr_assert_eq(ht_translate(s.as, va + (sz == GIB ? 2 :
			    8) * sz, &x), -HT_ENOTMAPPED);
			check_entry_pa(&s, &x);
		}
		/* above 4 GiB, where the PAE root entry index is 3 */
		va = s.g->va_bits == 32 ? 0xffc00000ull : 0x7fffffe00000ull;
		cr_assert_eq(ht_map(s.as, va, 0, PG, 0, 0), 0);
		cr_assert_eq(ht_translate(s.as, va, &x), 0);
		check_entry_pa(&s, &x);
		teardown(&s);
	}
}

typedef struct harvest {
	unsigned	n;
	unsigned	bits;
	uint64_t	size;
} harvest_t;

static void
harvest_cb(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	harvest_t *h = arg;

	(void) va;
	h->n++;
	h->bits |= bits;
	h->size = size;
}

static int
leaf_attr_cb(void *arg, const ht_leaf_t *leaf)
{
	*(unsigned *)arg = leaf->attr;
	return (0);
}

Test(contracts, map_presets_accessed_and_dirty)
{
	static const unsigned ad[] = { HT_A, HT_D, HT_A | HT_D };

	for (size_t mi = 0; mi < sizeof (modes) / sizeof (modes[0]); mi++) {
		setup_t s;

		setup(&s, modes[mi]);
		for (size_t i = 0; i < sizeof (sizes) / sizeof (sizes[0]);
		    i++) {
			uint64_t sz = ps_bytes(sizes[i]);

			if (!(s.g->pagesizes & sizes[i]))
				continue;
			for (size_t k = 0; k < 3; k++) {
				ht_va_t va = (sz == GIB ? 64 * GIB : GIB) +
				    k * 4 * sz;
				harvest_t h = { 0, 0, 0 };
				ht_xlate_t x;
				unsigned wattr = 0;
				uint64_t leaf;
				/* the format's A and D bits */
				uint64_t ra = mode_ept(s.g) ? EPT_A : E_A;
				uint64_t rd = mode_ept(s.g) ? EPT_D : E_D;

				cr_assert_eq(ht_map(s.as, va, 2 * GIB, sz,
				    HT_W | ad[k], HT_MAP_SIZE(sizes[i])), 0,
				    "%s", ht_errdetail());
				cr_assert_eq(ht_translate(s.as, va, &x), 0);
				cr_assert_eq(x.page_size, sz);
				cr_assert_eq(x.attr & (HT_A | HT_D), ad[k],
				    "mode %s size 0x%llx: attr 0x%x",
				    ht_mode_name(s.g->mode),
				    (unsigned long long)sz, x.attr);
				leaf = x.entries[x.nlevels - 1];
				cr_assert_eq(leaf & (ra | rd),
				    ((ad[k] & HT_A) ? ra : 0) |
				    ((ad[k] & HT_D) ? rd : 0));
				/* EPT: bits 5 and 6 are type and IPAT */
				if (mode_ept(s.g))
					cr_assert_eq(leaf & (E_A | E_D), 0);
				cr_assert_eq(ht_walk(s.as, va, va, leaf_attr_cb,
				    &wattr), 0);
				cr_assert_eq(wattr & (HT_A | HT_D), ad[k]);
				cr_assert_eq(ht_harvest_ad(s.as, va, sz,
				    HT_A | HT_D, 1, harvest_cb, &h), 1);
				cr_assert_eq(h.bits, ad[k]);
				cr_assert_eq(h.size, sz);
				cr_assert_eq(ht_translate(s.as, va, &x), 0);
				cr_assert_eq(x.attr & (HT_A | HT_D), 0);
				/* EPT: cleared in bits 8 and 9 */
				if (mode_ept(s.g))
					cr_assert_eq(x.entries[x.nlevels - 1] &
					    (ra | rd), 0);
				cr_assert_eq(ht_harvest_ad(s.as, va, sz,
				    HT_A | HT_D, 0, NULL, NULL), 0);
			}
		}
		teardown(&s);
	}
}
