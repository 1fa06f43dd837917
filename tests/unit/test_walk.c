/*
 * test_walk.c - unit tests of the walks inside our tables (walk.c):
 * htable_next_leaf finds the leaves in VA order across the canonical hole
 * and stops at the end of its range (a large leaf it starts inside is
 * returned whole), also EPT's leaves without the read right (bit 0
 * clear); htable_getpte and htable_getpage.
 */
#include <criterion/criterion.h>

#include "fixture.h"
#include "geom.h"
#include "htable_int.h"
#include "x86pte.h"

TestSuite(walk, .fini = fx_teardown, .timeout = 60);

Test(walk, walk_finds_leaves_in_order_across_the_hole)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 64);
	const uint64_t vas[] = { 0x1000, 0x200000, 0x7ffffffff000ull,
	    0xffff800000000000ull, 0xffffffffc0000000ull,
	    0xfffffffffffff000ull };
	const uint64_t lens[] = { 0x1000, 0x200000, 0x1000, 0x1000,
	    0x3fe00000, 0x1000 };

	for (int i = 0; i < 6; i++)
		cr_assert_eq(ht_map(fx.as, vas[i], 0x100000000ull, lens[i], 0,
		    0), 0, "%d: %s", i, ht_errdetail());
	htable_t *ht = NULL;
	uint64_t va = 0;
	int i = 0;
	x86pte_t pte;
	while ((pte = htable_next_leaf(fx.as, &ht, &va, ~0ull)) != 0) {
		cr_assert(i < 6);
		cr_assert_eq(va, vas[i], "leaf %d at 0x%llx", i,
		    (unsigned long long)va);
		cr_assert(pte_is_page(hat_mmu(fx.as), pte, ht->ht_level));
		va += lens[i];
		i++;
		if (va == 0)
			break;
	}
	if (ht != NULL)
		fx_release(ht);
	cr_assert_eq(i, 6);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}

/*
 * EPT: a leaf without the read right (execute-only, X or XU: bit 0
 * clear) is a leaf all the same.  Among readable ones, at every size and
 * at the top of the space, htable_next_leaf and ht_walk find each in
 * order, with HT_NOREAD in its attributes.
 */
typedef struct walk_rec {
	unsigned	n;
	uint64_t	va[8];
	unsigned	attr[8];
} walk_rec_t;

static int
walk_rec(void *arg, const ht_leaf_t *l)
{
	walk_rec_t *w = arg;

	cr_assert_lt(w->n, 8);
	w->va[w->n] = l->va;
	w->attr[w->n] = l->attr;
	w->n++;
	return (0);
}

Test(walk, ept_leaves_without_read_are_found)
{
	static const ht_mode_t em[] = { HT_MODE_EPT4, HT_MODE_EPT5 };

	for (unsigned k = 0; k < 2; k++) {
		fx_setup_mode(em[k], 0, 64);
		const ht_geometry_t *g = ht_ctx_geometry(fx.ctx);
		const uint64_t vas[] = { 0x1000, 0x2000, 0x3000, 0x200000,
		    0x40000000, 0x80000000, va_last(g) - 0xfff };
		const uint64_t lens[] = { 0x1000, 0x1000, 0x1000, 0x200000,
		    0x40000000, 0x1000, 0x1000 };
		const unsigned attrs[] = { HT_X | HT_NOREAD, HT_W,
		    HT_XU | HT_NOREAD, HT_X | HT_XU | HT_NOREAD,
		    HT_X | HT_NOREAD, HT_XU | HT_NOREAD, HT_X | HT_NOREAD };
		walk_rec_t w = { 0 };

		for (int i = 0; i < 7; i++)
			cr_assert_eq(ht_map(fx.as, vas[i], 0x100000000ull +
			    (lens[i] == 0x40000000 ? 0 : 0x40000000),
			    lens[i], attrs[i], 0), 0, "%d: %s", i,
			    ht_errdetail());
		htable_t *ht = NULL;
		uint64_t va = 0;
		int i = 0;
		x86pte_t pte;
		while ((pte = htable_next_leaf(fx.as, &ht, &va,
		    va_last(g))) != 0) {
			cr_assert(i < 7);
			cr_assert_eq(va, vas[i], "%s: leaf %d at 0x%llx",
			    ht_mode_name(em[k]), i, (unsigned long long)va);
			cr_assert(pte_is_page(hat_mmu(fx.as), pte,
			    ht->ht_level));
			cr_assert_eq((pte & 1) == 0, (attrs[i] &
			    HT_NOREAD) != 0);
			va += lens[i];
			i++;
			if (va > va_last(g))
				break;
		}
		if (ht != NULL)
			fx_release(ht);
		cr_assert_eq(i, 7, "%s: %d leaves", ht_mode_name(em[k]), i);
		cr_assert_eq(ht_walk(fx.as, 0, va_last(g), walk_rec, &w), 0);
		cr_assert_eq(w.n, 7);
		for (unsigned j = 0; j < 7; j++) {
			cr_assert_eq(w.va[j], vas[j]);
			cr_assert_eq(w.attr[j] & (HT_W | HT_X | HT_XU |
			    HT_NOREAD), attrs[j], "leaf %u: 0x%x", j,
			    w.attr[j]);
		}
		cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
		fx_teardown();
	}
}

Test(walk, walk_respects_the_end)
{
	fx_setup_mode(HT_MODE_32BIT, 0, 16);
	cr_assert_eq(ht_map(fx.as, 0x400000, 0, 0x800000, 0, 0), 0);
	htable_t *ht = NULL;
	uint64_t va = 0;
	x86pte_t pte = htable_next_leaf(fx.as, &ht, &va, 0x3fffff);
	cr_assert_eq(pte, 0);
	cr_assert_null(ht);
	/* inside a large leaf: that leaf, whole (illumos rounds down) */
	va = 0x500000;
	pte = htable_next_leaf(fx.as, &ht, &va, 0xffffffff);
	cr_assert_eq(va, 0x400000);
	cr_assert_eq(ht->ht_level, 1);
	va += 0x400000;
	pte = htable_next_leaf(fx.as, &ht, &va, 0xffffffff);
	cr_assert_eq(va, 0x800000);
	va += 0x400000;
	pte = htable_next_leaf(fx.as, &ht, &va, 0xffffffff);
	cr_assert_eq(pte, 0);
	cr_assert_null(ht);
}

Test(walk, getpte_getpage)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	unsigned e;
	x86pte_t pte;

	cr_assert_eq(ht_map(fx.as, 0x40000000, 0x80000000, 0x40000000, 0, 0),
	    0);
	cr_assert_eq(ht_map(fx.as, 0x1000, 0x2000, 0x1000, 0, 0), 0);
	htable_t *ht = htable_getpage(fx.as, 0x40001000, &e);
	cr_assert_not_null(ht);
	cr_assert_eq(ht->ht_level, 2);
	fx_release(ht);
	cr_assert_null(htable_getpage(fx.as, 0x3000, &e));
	ht = htable_getpte(fx.as, 0x3000, &e, &pte, 2);
	cr_assert_not_null(ht);
	cr_assert_eq(ht->ht_level, 0);
	cr_assert_eq(e, 3);
	cr_assert_eq(pte, 0);
	fx_release(ht);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}
