/*
 * test_iter.c - unit tests of the iterators (iter.h, iter.c), called
 * directly:
 *  - for_each_leaf visits every leaf of a range, and only those, in VA
 *    order across tables and levels (4 KiB, large and 1 GiB leaves, both
 *    halves of the space), starts with a large leaf the range begins
 *    inside, and stops at the range's end; an empty range visits nothing;
 *    every mode;
 *  - iter_skip_table leaves the rest of the current table;
 *  - iter_bulk and iter_cas record and do not apply: a table's valid
 *    count, lock count and the space's leaves per level (hat_pm)
 *    change once, when the iterator leaves the table, by the sum of its
 *    changes (checked on the tables' counts, on ht_as_stats and by
 *    ht_audit);
 *  - iter_cas of a leaf changed behind the iterator's back fails once and
 *    refreshes the snapshot;
 *  - the TLB hook sees one range per table, from the first to the last
 *    entry changed, when the iterator leaves it, and nothing for a change
 *    made without a flush;
 *  - for_each_entry visits the links, leaves and non-present data entries
 *    of one table, every non-zero entry and nothing else, in entry order;
 *    every mode.
 * The tests hold the tables they look at (htable_lookup), so that a table
 * the iterator empties stays to be read; they drop the holds before the
 * audit.
 */
#include <criterion/criterion.h>

#include "fixture.h"
#include "geom.h"
#include "htable_int.h"
#include "x86pte.h"
#include "iter.h"
#include "op.h"

#define PG	0x1000ull

static const ht_mode_t modes[] = { ALL_MODES };
#define NMODES	((int)(sizeof (modes) / sizeof (modes[0])))

TestSuite(iter, .fini = fx_teardown, .timeout = 60);

typedef struct seen {
	unsigned	n;
	uint64_t	va[32];
	int		level[32];
} seen_t;

/* Visit [va, last] with for_each_leaf, checking each stop, into *s. */
static void
visit(seen_t *s, uint64_t va, uint64_t last)
{
	const mmu_t *m = hat_mmu(fx.as);
	iter_t it;

	s->n = 0;
	for_each_leaf(&it, fx.as, va, last) {
		cr_assert_lt(s->n, 32);
		cr_assert_not_null(it.it_ht);
		cr_assert_eq(it.it_level, it.it_ht->ht_level);
		cr_assert_eq(it.it_size, LEVEL_SIZE(m, it.it_level));
		cr_assert_eq(htable_e2va(it.it_ht, it.it_entry), it.it_va);
		cr_assert_eq(it.it_pte, x86pte_get(it.it_ht, it.it_entry),
		    "the snapshot is the entry");
		cr_assert(pte_is_page(m, it.it_pte, it.it_level));
		s->va[s->n] = it.it_va;
		s->level[s->n] = it.it_level;
		s->n++;
	}
	cr_assert(it.it_done);
	iter_stop(&it);
	cr_assert_null(it.it_ht, "no hold left");
}

static void
expect_seen(const seen_t *s, const uint64_t *va, const int *level,
    unsigned n)
{
	cr_assert_eq(s->n, n, "%u leaves visited, want %u", s->n, n);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(s->va[i], va[i], "leaf %u at 0x%llx, want 0x%llx",
		    i, (unsigned long long)s->va[i],
		    (unsigned long long)va[i]);
		cr_assert_eq(s->level[i], level[i], "leaf %u", i);
	}
}

/* The page size flag of level 1 in the fixture's mode. */
static unsigned
ps1(void)
{
	return (LEVEL_SIZE(hat_mmu(fx.as), 1) == (4ull << 20) ? HT_PS_4M :
	    HT_PS_2M);
}

Test(iter, for_each_leaf_in_va_order_and_to_the_end_every_mode)
{
	for (int i = 0; i < NMODES; i++) {
		fx_setup_mode(modes[i], 0, 16);
		uint64_t s1 = LEVEL_SIZE(hat_mmu(fx.as), 1);
		seen_t s;

		/* the last two entries of one table, the first of the next */
		cr_assert_eq(ht_map(fx.as, s1 - 2 * PG, 0x100000, 3 * PG, HT_W,
		    HT_MAP_SIZE(HT_PS_4K)), 0, "%s", ht_errdetail());
		/* a large leaf, then a small page in the table after it */
		cr_assert_eq(ht_map(fx.as, 2 * s1, 4 * s1, s1, HT_W,
		    HT_MAP_SIZE(ps1())), 0, "%s", ht_errdetail());
		cr_assert_eq(ht_map(fx.as, 3 * s1 + PG, 0x200000, PG, 0, 0), 0);

		const uint64_t all_va[] = { s1 - 2 * PG, s1 - PG, s1, 2 * s1,
		    3 * s1 + PG };
		const int all_lv[] = { 0, 0, 0, 1, 0 };
		visit(&s, 0, 0xffffffffull);
		expect_seen(&s, all_va, all_lv, 5);

		/* from the middle of a table to inside the large leaf */
		visit(&s, s1 - PG, 2 * s1 + s1 / 2);
		expect_seen(&s, all_va + 1, all_lv + 1, 3);
		/* the end falls just before a leaf: it is not visited */
		visit(&s, 0, 3 * s1);
		expect_seen(&s, all_va, all_lv, 4);
		visit(&s, 0, s1 - 1);
		expect_seen(&s, all_va, all_lv, 2);
		/* begun inside the large leaf: that leaf, whole */
		visit(&s, 2 * s1 + s1 / 2, 3 * s1 + PG);
		expect_seen(&s, all_va + 3, all_lv + 3, 2);
		/* nothing in the range; an empty range */
		visit(&s, s1 + PG, 2 * s1 - 1);
		cr_assert_eq(s.n, 0);
		visit(&s, 3 * s1, 3 * s1 - 1);
		cr_assert_eq(s.n, 0);
		cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
		fx_teardown();
	}
}

Test(iter, for_each_leaf_across_levels_and_halves)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	const uint64_t G = 1ull << 30, M2 = 2ull << 20;
	const uint64_t top = 0xffff800000000000ull;

	cr_assert_eq(ht_map(fx.as, PG, 0x100000, 2 * PG, HT_W,
	    HT_MAP_SIZE(HT_PS_4K)), 0);
	cr_assert_eq(ht_map(fx.as, M2, 0x40000000, M2, HT_W,
	    HT_MAP_SIZE(HT_PS_2M)), 0);
	cr_assert_eq(ht_map(fx.as, G, 2 * G, G, HT_W, HT_MAP_SIZE(HT_PS_1G)),
	    0);
	cr_assert_eq(ht_map(fx.as, 2 * G + 5 * PG, 0x100000, PG, 0, 0), 0);
	cr_assert_eq(ht_map(fx.as, top, 0x100000, PG, 0, 0), 0);
	cr_assert_eq(ht_map(fx.as, ~0ull - PG + 1, 0x100000, PG, 0, 0), 0);

	const uint64_t va[] = { PG, 2 * PG, M2, G, 2 * G + 5 * PG, top,
	    ~0ull - PG + 1 };
	const int lv[] = { 0, 0, 1, 2, 0, 0, 0 };
	seen_t s;

	visit(&s, 0, ~0ull);
	expect_seen(&s, va, lv, 7);
	/* from inside the 1 GiB leaf to the top of the lower half */
	visit(&s, G + 12345 * PG, 0x00007fffffffffffull);
	expect_seen(&s, va + 3, lv + 3, 2);
	/* the upper half alone, to the very top */
	visit(&s, top, ~0ull);
	expect_seen(&s, va + 5, lv + 5, 2);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}

Test(iter, skip_table_leaves_the_rest_of_the_table)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	const uint64_t s1 = 2ull << 20;
	iter_t it;
	seen_t s = { 0 };

	cr_assert_eq(ht_map(fx.as, PG, 0x100000, 4 * PG, HT_W, 0), 0);
	cr_assert_eq(ht_map(fx.as, s1 + PG, 0x100000, 3 * PG, HT_W, 0), 0);
	cr_assert_eq(ht_map(fx.as, 2 * s1 + 7 * PG, 0x100000, PG, HT_W, 0),
	    0);
	for_each_leaf(&it, fx.as, 0, ~0ull) {
		s.va[s.n] = it.it_va;
		s.level[s.n] = it.it_level;
		s.n++;
		iter_skip_table(&it);
		cr_assert_eq(it.it_entry, it.it_n - 1);
	}
	iter_stop(&it);
	const uint64_t va[] = { PG, s1 + PG, 2 * s1 + 7 * PG };
	const int lv[] = { 0, 0, 0 };
	expect_seen(&s, va, lv, 3);

	/* without the skip every leaf is visited */
	visit(&s, 0, ~0ull);
	cr_assert_eq(s.n, 8);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}

static uint64_t
pages_mapped(int level)
{
	return (hat_pm_get(fx.as, level));
}

static uint64_t
stats_leaves(int level)
{
	ht_stats_t st;

	ht_as_stats(fx.as, &st);
	return (st.leaves[level]);
}

Test(iter, bulk_and_cas_settle_the_counts_once_per_table)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	const uint64_t A = 0x400000, B = 0x600000;
	iter_t it;
	op_t op;
	int in_a = 0, in_b = 0;

	cr_assert_eq(ht_map(fx.as, A, 0x100000, 8 * PG, HT_W, 0), 0);
	cr_assert_eq(ht_map(fx.as, B, 0x200000, 8 * PG, HT_W, 0), 0);
	htable_t *a = htable_lookup(fx.as, A, 0);
	htable_t *b = htable_lookup(fx.as, B, 0);
	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert_eq(ht_valid(a), 8);
	cr_assert_eq(ht_valid(b), 8);
	cr_assert_eq(pages_mapped(0), 16);
	cr_assert_eq(stats_leaves(0), 16);

	op_begin(&op, fx.as);
	for_each_leaf(&it, fx.as, A, B + 0x1fffff) {
		if (it.it_ht == a) {
			/* one pass removes every leaf of A */
			cr_assert_eq(in_a++, 0, "A is done in one step");
			cr_assert_eq(iter_bulk(&it, 0, 0, 1), 1);
			cr_assert_eq(it.it_entry, it.it_n - 1);
			cr_assert_eq(it.it_dvalid, -8);
			cr_assert_eq(ht_valid(a), 8,
			    "applied only when the iterator leaves A");
			cr_assert_eq(pages_mapped(0), 16);
			for (unsigned e = 0; e < 8; e++)
				cr_assert_eq(x86pte_get(a, e), 0);
			continue;
		}
		cr_assert_eq(it.it_ht, b);
		if (in_b++ == 0) {
			/* A was settled on the way out, before its release */
			cr_assert_eq(ht_valid(a), 0);
			cr_assert_eq(pages_mapped(0), 8);
			cr_assert_eq(stats_leaves(0), 8);
		}
		/* lock each leaf of B, one CAS each */
		cr_assert_eq(iter_cas(&it, it.it_pte | PT_LOCKED, 0), 1);
		cr_assert(it.it_pte & PT_LOCKED);
		cr_assert_eq(x86pte_get(b, it.it_entry), it.it_pte);
		cr_assert_eq(atomic_load(&b->ht_lock_cnt), 0,
		    "applied only when the iterator leaves B");
		cr_assert_eq(it.it_dlock, in_b);
	}
	cr_assert_eq(atomic_load(&b->ht_lock_cnt), 8, "settled at the end");
	iter_stop(&it);
	op_end(&op);
	cr_assert_eq(in_a, 1);
	cr_assert_eq(in_b, 8);
	cr_assert_eq(ht_valid(a), 0);
	cr_assert_eq(ht_valid(b), 8);
	cr_assert_eq(atomic_load(&b->ht_lock_cnt), 8);
	cr_assert_eq(pages_mapped(0), 8);
	cr_assert_eq(stats_leaves(0), 8);

	/* the emptied table goes with our hold; the counts match the frames */
	fx_release(a);
	fx_release(b);
	cr_assert_null(htable_lookup(fx.as, A, 0));
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
	/* the locks are real ones */
	ht_xlate_t x;
	cr_assert_eq(ht_translate(fx.as, B + 3 * PG, &x), 0);
	cr_assert(x.attr & HT_LOCKED);
	cr_assert_eq(ht_unmap(fx.as, B, 8 * PG, 0), -HT_ELOCKED);
	cr_assert_eq(ht_unlock(fx.as, B, 8 * PG), 0);
	cr_assert_eq(ht_translate(fx.as, A, &x), -HT_ENOTMAPPED);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}

Test(iter, cas_refreshes_a_leaf_changed_behind_its_back)
{
	fx_setup_mode(HT_MODE_PAE, 0, 16);
	iter_t it;
	op_t op;
	int n = 0;

	cr_assert_eq(ht_map(fx.as, 0x400000, 0x100000, 2 * PG, HT_W, 0), 0);
	op_begin(&op, fx.as);
	for_each_leaf(&it, fx.as, 0x400000, 0x401fff) {
		x86pte_t was = it.it_pte;

		/* an MMU marks the leaf accessed */
		cr_assert_eq(x86pte_cas(it.it_ht, it.it_entry, was,
		    was | PT_REF), was);
		cr_assert_eq(iter_cas(&it, was & ~PT_WRITABLE, 1), 0);
		cr_assert_eq(it.it_pte, was | PT_REF, "snapshot refreshed");
		cr_assert_eq(x86pte_get(it.it_ht, it.it_entry), was | PT_REF);
		cr_assert_eq(iter_cas(&it, it.it_pte & ~PT_WRITABLE, 1), 1);
		cr_assert_eq(x86pte_get(it.it_ht, it.it_entry),
		    (was | PT_REF) & ~PT_WRITABLE, "A kept, W gone");
		n++;
	}
	iter_stop(&it);
	op_end(&op);
	cr_assert_eq(n, 2);
	ht_xlate_t x;
	cr_assert_eq(ht_translate(fx.as, 0x401000, &x), 0);
	cr_assert_eq(x.attr & (HT_W | HT_A), HT_A);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}

Test(iter, tlb_hook_sees_one_range_per_table)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	const uint64_t A = 0x400000, B = 0x600000;
	iter_t it;

	cr_assert_eq(ht_map(fx.as, A, 0x100000, 8 * PG, HT_W, 0), 0);
	cr_assert_eq(ht_map(fx.as, B, 0x200000, 8 * PG, HT_W, 0), 0);
	/* our holds: no table is freed, so no operation is needed */
	htable_t *a = htable_lookup(fx.as, A, 0);
	htable_t *b = htable_lookup(fx.as, B, 0);

	/* leaves 2..5 of A, one CAS each: one call when A is left */
	fx_tlb_reset();
	for_each_leaf(&it, fx.as, A + 2 * PG, A + 5 * PG) {
		cr_assert_eq(iter_cas(&it, it.it_pte & ~PT_WRITABLE, 1), 1);
		cr_assert_eq(fx.ntlb, 0, "batched, not told at once");
	}
	iter_stop(&it);
	cr_assert_eq(fx.ntlb, 1);
	cr_assert_eq(fx.tlb_as[0], fx.as);
	cr_assert_eq(fx.tlb_va[0], A + 2 * PG);
	cr_assert_eq(fx.tlb_len[0], 4 * PG);

	/* a bulk change over the end of A and the start of B: one range each */
	fx_tlb_reset();
	for_each_leaf(&it, fx.as, A + 6 * PG, B + PG)
		cr_assert_eq(iter_bulk(&it, PT_WRITABLE, 0, 0), 1);
	iter_stop(&it);
	cr_assert_eq(fx.ntlb, 2);
	cr_assert_eq(fx.tlb_va[0], A + 6 * PG);
	cr_assert_eq(fx.tlb_len[0], 2 * PG);
	cr_assert_eq(fx.tlb_va[1], B);
	cr_assert_eq(fx.tlb_len[1], 2 * PG);
	for (unsigned e = 0; e < 8; e++) {
		x86pte_t wa = e < 2 ? PT_WRITABLE : 0;

		cr_assert_eq(x86pte_get(a, e) & PT_WRITABLE, wa, "A %u", e);
		cr_assert_eq(x86pte_get(b, e) & PT_WRITABLE, PT_WRITABLE ^ wa,
		    "B %u", e);
	}

	/* a change that needs no flush (a software bit) tells nobody */
	fx_tlb_reset();
	for_each_leaf(&it, fx.as, B, B + 7 * PG)
		cr_assert_eq(iter_cas(&it, it.it_pte | PT_LOCKED, 0), 1);
	iter_stop(&it);
	cr_assert_eq(fx.ntlb, 0);
	cr_assert_eq(atomic_load(&b->ht_lock_cnt), 8);
	cr_assert_eq(ht_unlock(fx.as, B, 8 * PG), 0);

	fx_release(a);
	fx_release(b);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}

/* Every non-zero entry of ht, by reading each entry: the expected visit. */
static void
check_entries(htable_t *ht, unsigned want)
{
	unsigned n = htable_num_ptes(ht), e = 0, count = 0;
	entry_iter_t ei;

	for_each_entry(&ei, ht) {
		/* the entries skipped are zero */
		for (; e < ei.e; e++)
			cr_assert_eq(x86pte_get(ht, e), 0, "entry %u skipped",
			    e);
		cr_assert_eq(ei.pte, x86pte_get(ht, ei.e), "entry %u", ei.e);
		cr_assert_neq(ei.pte, 0);
		e = ei.e + 1;
		count++;
	}
	for (; e < n; e++)
		cr_assert_eq(x86pte_get(ht, e), 0, "entry %u skipped", e);
	cr_assert_eq(count, want, "level %d table at 0x%llx: %u entries",
	    ht->ht_level, (unsigned long long)ht->ht_vaddr, count);
}

Test(iter, for_each_entry_visits_links_leaves_and_np_entries)
{
	for (int i = 0; i < NMODES; i++) {
		fx_setup_mode(modes[i], 0, 16);
		const mmu_t *m = hat_mmu(fx.as);
		uint64_t s1 = LEVEL_SIZE(m, 1);
		entry_iter_t ei;
		unsigned n;

		/* in the level-1 table at 0: a link, a large leaf, a link */
		cr_assert_eq(ht_map(fx.as, PG, 0x100000, PG, HT_W, 0), 0);
		cr_assert_eq(ht_map(fx.as, s1, 4 * s1, s1, HT_W,
		    HT_MAP_SIZE(ps1())), 0, "%s", ht_errdetail());
		/* below the second link: two np entries and one page */
		cr_assert_eq(ht_set_np(fx.as, 3 * s1 + 2 * PG, 2 * PG, 0x1000,
		    0x2000), 0, "%s", ht_errdetail());
		cr_assert_eq(ht_map(fx.as, 3 * s1 + 5 * PG, 0x200000, PG, 0, 0),
		    0);
		htable_t *l1 = htable_lookup(fx.as, 0, 1);
		htable_t *np = htable_lookup(fx.as, 3 * s1, 0);
		cr_assert_not_null(l1);
		cr_assert_not_null(np);

		const unsigned want1[] = { 0, 1, 3 };
		n = 0;
		for_each_entry(&ei, l1) {
			cr_assert_lt(n, 3);
			cr_assert_eq(ei.e, want1[n], "mode %d: entry %u", i,
			    ei.e);
			if (ei.e == 1)
				cr_assert(pte_is_page(m, ei.pte, 1), "the leaf");
			else
				cr_assert(pte_is_ptp(m, ei.pte, 1), "a link");
			n++;
		}
		cr_assert_eq(n, 3);
		check_entries(l1, 3);

		const unsigned want0[] = { 2, 3, 5 };
		const x86pte_t npv[] = { 0x1000, 0x3000 };
		n = 0;
		for_each_entry(&ei, np) {
			cr_assert_lt(n, 3);
			cr_assert_eq(ei.e, want0[n]);
			if (n < 2) {
				cr_assert(pte_is_np(m, ei.pte, 0));
				cr_assert_eq(ei.pte, npv[n]);
			} else {
				cr_assert(pte_is_page(m, ei.pte, 0));
			}
			n++;
		}
		cr_assert_eq(n, 3);
		check_entries(np, 3);
		cr_assert_eq(ht_valid(np), 3,
		    "np entries count in the table too");
		/* the leaf iterator passes over the np entries */
		seen_t s;
		visit(&s, 3 * s1, 4 * s1 - 1);
		cr_assert_eq(s.n, 1);
		cr_assert_eq(s.va[0], 3 * s1 + 5 * PG);
		/* an empty table: nothing */
		htable_t *l0 = htable_lookup(fx.as, 0, 0);
		cr_assert_not_null(l0);
		cr_assert_eq(ht_unmap(fx.as, PG, PG, 0), 0);
		n = 0;
		for_each_entry(&ei, l0)
			n++;
		cr_assert_eq(n, 0);
		check_entries(l0, 0);

		fx_release(l0);
		fx_release(np);
		fx_release(l1);
		cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
		fx_teardown();
	}
}
