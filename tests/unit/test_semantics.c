/*
 * test_semantics.c - what the calls mean where they once differed from the
 * seed or the header: effective rights in walks of imported tables,
 * stacked locks (with their lock map, checked by the audit) and
 * ht_chattr, in every mode (EPT in its own terms: its rights, its memory
 * types, its A/D bits).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "geom.h"
#include "htable_int.h"
#include "x86pte.h"

static const ht_mode_t modes[] = { ALL_MODES };
#define NMODES	((int)(sizeof (modes) / sizeof (modes[0])))

/* Raw EPT entry bits the tests write, from the SDM (vol. 3C, 29.3.2) */
#define RAW_EPT_X	0x004ull	/* execute (MBEC: supervisor) */
#define RAW_EPT_A	0x100ull
#define RAW_EPT_D	0x200ull
#define RAW_EPT_XU	0x400ull	/* MBEC: user-mode execute */

TestSuite(semantics, .fini = fx_teardown, .timeout = 120);

static uint64_t
rd(void *p, unsigned sz)
{
	return (sz == 8 ? *(uint64_t *)p : *(uint32_t *)p);
}

static void
wr(void *p, unsigned sz, uint64_t v)
{
	if (sz == 8)
		*(uint64_t *)p = v;
	else
		*(uint32_t *)p = (uint32_t)v;
}

static int
is_locked(ht_as_t *as, uint64_t va)
{
	ht_xlate_t x;

	cr_assert_eq(ht_translate(as, va, &x), 0, "va 0x%llx not mapped",
	    (unsigned long long)va);
	return ((x.attr & HT_LOCKED) != 0);
}

static void
audit_ok(ht_as_t *as)
{
	cr_assert_eq(ht_audit(as), 0, "%s", ht_errdetail());
}

/* ------------------------------------------------------------------ */
/* ht_walk: effective rights over every level                          */
/* ------------------------------------------------------------------ */

struct eff_rec {
	ht_as_t		*as;
	unsigned	n;
	unsigned	restricted;
};

static int
eff_check(void *arg, const ht_leaf_t *l)
{
	struct eff_rec *r = arg;
	ht_xlate_t x;

	cr_assert_eq(ht_translate(r->as, l->va, &x), 0);
	/*
	 * translate ANDs W/U and ORs NX over the entries it read (EPT: ANDs
	 * W, X and XU, and reads HT_NOREAD where any has no read right)
	 */
	cr_assert_eq(l->eff, x.attr & (HT_W | HT_U | HT_X | HT_NOREAD),
	    "va 0x%llx: walk says 0x%x, translate 0x%x",
	    (unsigned long long)l->va, l->eff, x.attr);
	if (l->eff != (l->attr & (HT_W | HT_U | HT_X | HT_NOREAD)))
		r->restricted++;
	r->n++;
	return (0);
}

Test(semantics, walk_eff_combines_every_level_of_imported_tables)
{
	for (int i = 0; i < NMODES; i++) {
		fx_setup_mode(modes[i], 0, 64);
		const ht_geometry_t *g = ht_ctx_geometry(fx.ctx);
		unsigned sz = g->pte_size;
		int top = (int)g->levels - 1;
		int ept = mode_ept(g);
		/* 4 KiB pages with every right, in three 4 MiB regions */
		const uint64_t va[3] = { 0x400000, 0x800000, 0xc00000 };

		for (int k = 0; k < 3; k++)
			cr_assert_eq(ht_map(fx.as, va[k], 0x2000000 + va[k],
			    0x4000, HT_W | HT_U | HT_X, 0), 0);
		/*
		 * Restrict the links above them, each differently: W (bit 1
		 * in both formats); U, or EPT's X (also bit 2); NX, or EPT's
		 * user-mode execute (bit 10).
		 */
		void *pde0 = fx_entry(fx.as, va[0], 1);
		void *pde1 = fx_entry(fx.as, va[1], 1);
		void *pde2 = fx_entry(fx.as, va[2], 1);
		unsigned lost1 = ept ? HT_X : HT_U;

		wr(pde0, sz, rd(pde0, sz) & ~(uint64_t)PT_WRITABLE);
		wr(pde1, sz, rd(pde1, sz) & ~(ept ? RAW_EPT_X :
		    (uint64_t)PT_USER));
		if (ept)
			wr(pde2, sz, rd(pde2, sz) & ~RAW_EPT_XU);
		else if (g->has_nx)
			wr(pde2, sz, rd(pde2, sz) | PT_NX);
		if (top >= 3) {
			/* and a PML4E/PML5E that takes W from everything */
			void *t = fx_entry(fx.as, va[0], top);

			wr(t, sz, rd(t, sz) & ~(uint64_t)PT_WRITABLE);
		}
		ht_config_t cfg = fx.cfg;
		ht_ctx_t *c2;
		ht_as_t *imp;

		cfg.tlb = NULL;
		cr_assert_eq(ht_ctx_create(&cfg, &c2), 0);
		cr_assert_eq(ht_as_import(c2, ht_as_root(fx.as), 0, &imp), 0,
		    "%s", ht_errdetail());
		struct eff_rec r = { imp, 0, 0 };

		cr_assert_eq(ht_walk(imp, 0, 0xffffffff, eff_check, &r), 0);
		cr_assert_eq(r.n, 12);
		cr_assert_eq(r.restricted, g->has_nx || ept ? 12 : 8,
		    "mode %d", i);

		/* the expected rights, spelled out */
		ht_xlate_t x;

		cr_assert_eq(ht_translate(imp, va[0], &x), 0);
		cr_assert_eq(x.attr & (HT_W | HT_U | HT_X | HT_NOREAD),
		    HT_U | HT_X);
		cr_assert_eq(ht_translate(imp, va[1], &x), 0);
		cr_assert_eq(x.attr & (HT_W | HT_U | HT_X | HT_NOREAD),
		    (top >= 3 ? 0 : HT_W) | ((HT_U | HT_X) & ~lost1));
		cr_assert_eq(ht_translate(imp, va[2], &x), 0);
		cr_assert_eq(x.attr & (HT_W | HT_U | HT_X | HT_NOREAD),
		    (top >= 3 ? 0 : HT_W) | (ept ? HT_X : g->has_nx ? HT_U :
		    HT_U | HT_X));
		ht_as_destroy(imp);
		cr_assert_eq(ht_ctx_destroy(c2), 0);
		/* give the owner its links back before its teardown */
		wr(pde0, sz, rd(pde0, sz) | PT_WRITABLE);
		wr(pde1, sz, rd(pde1, sz) | (ept ? RAW_EPT_X :
		    (uint64_t)PT_USER));
		if (ept)
			wr(pde2, sz, rd(pde2, sz) | RAW_EPT_XU);
		else
			wr(pde2, sz, rd(pde2, sz) & ~PT_NX);
		if (top >= 3) {
			void *t = fx_entry(fx.as, va[0], top);

			wr(t, sz, rd(t, sz) | PT_WRITABLE);
		}
		audit_ok(fx.as);
		fx_teardown();
	}
}

/* ------------------------------------------------------------------ */
/* Stacked locks                                                       */
/* ------------------------------------------------------------------ */

Test(semantics, locks_stack_and_unstack)
{
	for (int i = 0; i < NMODES; i++) {
		fx_setup_mode(modes[i], 0, 64);
		cr_assert_eq(ht_map(fx.as, 0x1000, 0x10000, 0x4000, HT_W,
		    HT_MAP_LOCK), 0);
		cr_assert_eq(ht_lock(fx.as, 0x1000, 0x2000), 0);
		cr_assert_eq(ht_lock(fx.as, 0x1000, 0x1000), 0);
		audit_ok(fx.as);
		/* counts: 0x1000: 3, 0x2000: 2, 0x3000/0x4000: 1 */
		cr_assert_eq(ht_unlock(fx.as, 0x1000, 0x4000), 0);
		audit_ok(fx.as);
		cr_assert(is_locked(fx.as, 0x1000));
		cr_assert(is_locked(fx.as, 0x2000));
		cr_assert(!is_locked(fx.as, 0x3000));
		cr_assert(!is_locked(fx.as, 0x4000));
		/* an unlock over an unlocked page changes nothing */
		cr_assert_eq(ht_unlock(fx.as, 0x1000, 0x3000), -HT_ENOTLOCKED);
		cr_assert(is_locked(fx.as, 0x2000));
		cr_assert_eq(ht_unmap(fx.as, 0x2000, 0x1000, 0), -HT_ELOCKED);
		cr_assert_eq(ht_unlock(fx.as, 0x1000, 0x2000), 0);
		cr_assert(is_locked(fx.as, 0x1000));
		cr_assert(!is_locked(fx.as, 0x2000));
		cr_assert_eq(ht_unlock(fx.as, 0x1000, 0x1000), 0);
		cr_assert(!is_locked(fx.as, 0x1000));
		cr_assert_eq(ht_unlock(fx.as, 0x1000, 0x1000), -HT_ENOTLOCKED);
		audit_ok(fx.as);
		cr_assert_eq(lockmap_count(&fx.as->hat_locks), 0);
		fx_teardown();
	}
}

Test(semantics, a_count_survives_the_split_of_a_large_page)
{
	for (int i = 0; i < NMODES; i++) {
		fx_setup_mode(modes[i], 0, 64);
		const ht_geometry_t *g = ht_ctx_geometry(fx.ctx);
		uint64_t big = 1ull << g->level_shift[1];	/* 2 or 4 MiB */

		cr_assert_eq(ht_map(fx.as, big, big, big, HT_W, 0), 0);
		cr_assert_eq(ht_lock(fx.as, big, big), 0);
		cr_assert_eq(ht_lock(fx.as, big, big), 0);
		audit_ok(fx.as);
		/* one 4 KiB page: the leaf is split, the page keeps one lock */
		cr_assert_eq(ht_unlock(fx.as, big + 0x5000, 0x1000), 0);
		audit_ok(fx.as);
		cr_assert(is_locked(fx.as, big + 0x5000));
		cr_assert_eq(ht_unlock(fx.as, big + 0x5000, 0x1000), 0);
		cr_assert(!is_locked(fx.as, big + 0x5000));
		cr_assert_eq(ht_unlock(fx.as, big, big), -HT_ENOTLOCKED);
		audit_ok(fx.as);
		/* the rest still needs two unlocks */
		cr_assert_eq(ht_unlock(fx.as, big, 0x5000), 0);
		cr_assert_eq(ht_unlock(fx.as, big + 0x6000, big - 0x6000), 0);
		cr_assert(is_locked(fx.as, big));
		cr_assert(is_locked(fx.as, 2 * big - 0x1000));
		cr_assert_eq(ht_unlock(fx.as, big, 0x5000), 0);
		cr_assert_eq(ht_unlock(fx.as, big + 0x6000, big - 0x6000), 0);
		cr_assert(!is_locked(fx.as, big));
		cr_assert(!is_locked(fx.as, 2 * big - 0x1000));
		audit_ok(fx.as);
		cr_assert_eq(lockmap_count(&fx.as->hat_locks), 0);
		fx_teardown();
	}
}

Test(semantics, unmap_with_unlock_forgets_every_count)
{
	for (int i = 0; i < NMODES; i++) {
		fx_setup_mode(modes[i], 0, 64);
		cr_assert_eq(ht_map(fx.as, 0x10000, 0x10000, 0x8000, HT_W, 0),
		    0);
		for (int k = 0; k < 3; k++)
			cr_assert_eq(ht_lock(fx.as, 0x10000, 0x8000), 0);
		cr_assert_eq(ht_unmap(fx.as, 0x12000, 0x2000, 0), -HT_ELOCKED);
		/* fast path (one table) and general path both forget */
		cr_assert_eq(ht_unmap(fx.as, 0x12000, 0x2000,
		    HT_UNMAP_UNLOCK), 0);
		audit_ok(fx.as);
		cr_assert_eq(ht_map(fx.as, 0x12000, 0x12000, 0x2000, HT_W, 0),
		    0);
		cr_assert(!is_locked(fx.as, 0x12000));
		cr_assert_eq(ht_unlock(fx.as, 0x12000, 0x1000),
		    -HT_ENOTLOCKED);
		cr_assert(is_locked(fx.as, 0x10000));
		cr_assert_eq(ht_unmap(fx.as, 0, 0x40000000, HT_UNMAP_UNLOCK),
		    0);
		audit_ok(fx.as);
		cr_assert_eq(lockmap_count(&fx.as->hat_locks), 0);
		fx_teardown();
	}
}

/* Random locks and unlocks against a count per page. */
Test(semantics, lock_counts_follow_a_model)
{
	enum { NP = 2048 };	/* pages of the first 8 MiB */
	static unsigned cnt[NP];

	for (int i = 0; i < NMODES; i++) {
		fx_setup_mode(modes[i], 0, 64);
		const ht_geometry_t *g = ht_ctx_geometry(fx.ctx);
		uint64_t big = 1ull << g->level_shift[1];
		uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);

		memset(cnt, 0, sizeof (cnt));
		/* large pages where they fit, then 4 KiB pages */
		cr_assert_eq(ht_map(fx.as, 0, 0, big, HT_W, 0), 0);
		cr_assert_eq(ht_map(fx.as, big, 0x100000, (uint64_t)NP *
		    4096 - big, HT_W, 0), 0);
		for (int op = 0; op < 3000; op++) {
			seed = seed * 6364136223846793005ull +
			    1442695040888963407ull;
			unsigned a = (unsigned)(seed >> 33) % NP;
			unsigned n = 1 + (unsigned)(seed >> 20) % 64;
			int lock = (seed >> 60) & 1;
			int ok = 1, rc;

			if (a + n > NP)
				n = NP - a;
			for (unsigned p = a; p < a + n; p++)
				ok &= cnt[p] > 0;
			if (lock)
				rc = ht_lock(fx.as, (uint64_t)a << 12,
				    (uint64_t)n << 12);
			else
				rc = ht_unlock(fx.as, (uint64_t)a << 12,
				    (uint64_t)n << 12);
			if (lock || ok) {
				cr_assert_eq(rc, 0, "op %d: %s", op,
				    ht_errdetail());
				for (unsigned p = a; p < a + n; p++)
					cnt[p] += lock ? 1 : -1u;
			} else {
				cr_assert_eq(rc, -HT_ENOTLOCKED, "op %d", op);
			}
			if (op % 100 == 0)
				audit_ok(fx.as);
		}
		audit_ok(fx.as);
		for (unsigned p = 0; p < NP; p++)
			cr_assert_eq(is_locked(fx.as, (uint64_t)p << 12),
			    cnt[p] > 0, "page %u count %u", p, cnt[p]);
		/* unlock everything down to zero, page by page */
		for (unsigned p = 0; p < NP; p++)
			for (; cnt[p] > 0; cnt[p]--)
				cr_assert_eq(ht_unlock(fx.as, (uint64_t)p << 12,
				    0x1000), 0);
		audit_ok(fx.as);
		cr_assert_eq(lockmap_count(&fx.as->hat_locks), 0);
		fx_teardown();
	}
}

Test(semantics, audit_catches_a_count_on_an_unlocked_leaf)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 64);
	cr_assert_eq(ht_map(fx.as, 0x1000, 0x1000, 0x2000, HT_W, 0), 0);
	cr_assert_eq(ht_lock(fx.as, 0x1000, 0x2000), 0);
	cr_assert_eq(ht_lock(fx.as, 0x1000, 0x2000), 0);
	audit_ok(fx.as);
	/* clear the bit behind the library's back */
	uint64_t *pte = fx_entry(fx.as, 0x2000, 0);

	*pte &= ~PT_LOCKED;
	cr_assert_eq(ht_audit(fx.as), -HT_ECORRUPT);
	*pte |= PT_LOCKED;
	audit_ok(fx.as);
	/* a run over a hole */
	cr_assert_eq(lockmap_reserve(&fx.as->hat_locks, 4), 0);
	(void) lockmap_add(&fx.as->hat_locks, 0x5000, 0x5fff, 1);
	cr_assert_eq(ht_audit(fx.as), -HT_ECORRUPT);
	cr_assert(strstr(ht_errdetail(), "lock count") != NULL, "%s",
	    ht_errdetail());
	(void) lockmap_clear(&fx.as->hat_locks, 0x5000, 0x5fff);
	lockmap_unreserve(&fx.as->hat_locks, 3);
	audit_ok(fx.as);
	cr_assert_eq(ht_unmap(fx.as, 0x1000, 0x2000, HT_UNMAP_UNLOCK), 0);
}

Test(semantics, locked_pages_are_not_stolen_whatever_their_count)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 64);
	ht_as_t *thief;

	cr_assert_eq(ht_map(fx.as, 0x200000, 0x200000, 0x10000, HT_W, 0),
	    0);
	cr_assert_eq(ht_lock(fx.as, 0x200000, 0x10000), 0);
	cr_assert_eq(ht_lock(fx.as, 0x200000, 0x10000), 0);
	cr_assert_eq(ht_unlock(fx.as, 0x200000, 0x10000), 0);
	cr_assert_eq(ht_as_create(fx.ctx, 0, &thief), 0);
	ht_ctx_set_force_steal(fx.ctx, 1);
	/* every allocation must steal; the locked table is never taken */
	int rc = ht_map(thief, 0x40000000, 0x200000, 0x1000, HT_W, 0);

	cr_assert(rc == 0 || rc == -HT_ENOFRAME, "%d", rc);
	ht_ctx_set_force_steal(fx.ctx, 0);
	cr_assert(is_locked(fx.as, 0x200000));
	cr_assert(is_locked(fx.as, 0x20f000));
	audit_ok(fx.as);
	ht_as_destroy(thief);
	cr_assert_eq(ht_unmap(fx.as, 0x200000, 0x10000, HT_UNMAP_UNLOCK), 0);
}

/* ------------------------------------------------------------------ */
/* ht_chattr                                                           */
/* ------------------------------------------------------------------ */

/*
 * EPT's chattr names the rights whole (W, X, XU and HT_NOREAD) and the
 * memory type whole (the three cache bits), so each change there is a
 * state; the space goes back to what the map gave (HT_W: read and
 * write, UC, no ignore-PAT) after each.
 */
static const struct ept_change {
	unsigned	clear, set;
} ept_changes[] = {
	{ 0, HT_EPT_IPAT },
	{ HT_EPT_MT_MASK & ~HT_EPT_MT(HT_EPT_WB), HT_EPT_MT(HT_EPT_WB) },
	{ HT_EPT_MT_MASK & ~HT_EPT_MT(HT_EPT_WC), HT_EPT_MT(HT_EPT_WC) },
	{ HT_EPT_MT_MASK & ~HT_EPT_MT(HT_EPT_WT), HT_EPT_MT(HT_EPT_WT) },
	{ HT_EPT_MT_MASK & ~HT_EPT_MT(HT_EPT_WP), HT_EPT_MT(HT_EPT_WP) },
	{ HT_NOREAD, HT_W | HT_X | HT_XU },		/* every right */
	{ HT_W | HT_XU | HT_NOREAD, HT_X },		/* read, execute */
	{ HT_W | HT_X | HT_NOREAD, HT_XU },		/* read, user exec */
	{ HT_W, HT_X | HT_XU | HT_NOREAD },		/* execute-only */
	{ HT_W | HT_X | HT_XU | HT_NOREAD, 0 },		/* read-only */
};
#define EPT_BACK	(HT_X | HT_XU | HT_NOREAD | HT_EPT_MT_MASK | \
	HT_EPT_IPAT)

/* The EPT changes over [va, va + 2 * size), leaves of level l. */
static void
chattr_ept(uint64_t va, uint64_t size, int l)
{
	ht_xlate_t x;
	unsigned orig;

	cr_assert_eq(ht_translate(fx.as, va, &x), 0);
	orig = x.attr & ~(HT_A | HT_D);
	cr_assert_eq(orig, HT_W | HT_LOCKED, "attr 0x%x", x.attr);
	for (unsigned c = 0; c < sizeof (ept_changes) /
	    sizeof (ept_changes[0]); c++) {
		const struct ept_change *ch = &ept_changes[c];
		unsigned want = (orig & ~ch->clear) | ch->set;

		fx_tlb_reset();
		cr_assert_eq(ht_chattr(fx.as, va, 2 * size, ch->clear,
		    ch->set), 0, "change %u: %s", c, ht_errdetail());
		cr_assert(want == orig || fx_tlb_covers(fx.as, va, 2 * size),
		    "level %d change %u: %u calls", l, c, fx.ntlb);
		for (int k = 0; k < 2; k++) {
			cr_assert_eq(ht_translate(fx.as, va + (uint64_t)k *
			    size, &x), 0);
			cr_assert_eq(x.level, (unsigned)l);
			cr_assert_eq(x.attr & ~(HT_A | HT_D), want, "level %d "
			    "change %u: 0x%x, want 0x%x", l, c, x.attr, want);
		}
		cr_assert_eq(ht_chattr(fx.as, va, 2 * size, EPT_BACK, HT_W),
		    0, "%s", ht_errdetail());
		cr_assert_eq(ht_translate(fx.as, va, &x), 0);
		cr_assert_eq(x.attr & ~(HT_A | HT_D), orig);
	}
}

Test(semantics, chattr_sets_and_clears_every_attribute_at_every_size)
{
	const unsigned attrs[] = { HT_G, HT_PWT, HT_PCD, HT_PAT, HT_W, HT_U,
	    HT_X };

	for (int i = 0; i < NMODES; i++) {
		fx_setup_mode(modes[i], 0, 64);
		const ht_geometry_t *g = ht_ctx_geometry(fx.ctx);

		for (int l = 0; l < (int)g->levels - 1 && l <= 2; l++) {
			uint64_t size = 1ull << g->level_shift[l];
			uint64_t va = l == 2 ? 0x40000000 : 4 * size;

			if (!(ht_ctx_pagesizes(fx.ctx) & (l == 0 ? HT_PS_4K :
			    l == 2 ? HT_PS_1G : g->pte_size == 4 ? HT_PS_4M :
			    HT_PS_2M)))
				continue;
			cr_assert_eq(ht_map(fx.as, va, va, 2 * size, HT_W,
			    HT_MAP_SIZE(l == 0 ? HT_PS_4K : l == 2 ? HT_PS_1G :
			    g->pte_size == 4 ? HT_PS_4M : HT_PS_2M) |
			    HT_MAP_LOCK), 0, "%s", ht_errdetail());
			if (mode_ept(g)) {
				chattr_ept(va, size, l);
				/* the memory type in bits 5:3 at every level */
				cr_assert_eq(ht_chattr(fx.as, va, size,
				    HT_PWT, HT_PCD | HT_PAT), 0);
				uint64_t e = rd(fx_entry(fx.as, va, l), 8);
				cr_assert_eq((e >> 3) & 7, HT_EPT_WB);
				cr_assert(l == 0 || (e & PT_PAGESIZE));
				audit_ok(fx.as);
				cr_assert_eq(ht_unmap(fx.as, va, 2 * size,
				    HT_UNMAP_UNLOCK), 0);
				continue;
			}
			for (unsigned a = 0; a < 7; a++) {
				unsigned want;
				ht_xlate_t x;

				if (attrs[a] == HT_X && !g->has_nx)
					continue;
				cr_assert_eq(ht_translate(fx.as, va, &x), 0);
				want = (x.attr | attrs[a]) & ~(HT_A | HT_D);
				fx_tlb_reset();
				cr_assert_eq(ht_chattr(fx.as, va, 2 * size, 0,
				    attrs[a]), 0, "%s", ht_errdetail());
				cr_assert((x.attr & attrs[a]) != 0 ||
				    fx_tlb_covers(fx.as, va, 2 * size),
				    "mode %d level %d attr 0x%x: %u calls, "
				    "first 0x%llx+0x%llx", i, l, attrs[a],
				    fx.ntlb, (unsigned long long)fx.tlb_va[0],
				    (unsigned long long)fx.tlb_len[0]);
				for (int k = 0; k < 2; k++) {
					cr_assert_eq(ht_translate(fx.as, va +
					    (uint64_t)k * size, &x), 0);
					cr_assert_eq(x.level, (unsigned)l, "mode %d level %d attr 0x%x k %d", i, l, attrs[a], k);
					cr_assert_eq(x.attr & ~(HT_A | HT_D),
					    want, "mode %d level %d attr 0x%x: "
					    "0x%x", i, l, attrs[a], x.attr);
				}
				cr_assert_eq(ht_chattr(fx.as, va, 2 * size,
				    attrs[a], 0), 0);
				cr_assert_eq(ht_translate(fx.as, va, &x), 0);
				/* nested paging keeps U on every leaf */
				cr_assert_eq(x.attr & ~(HT_A | HT_D),
				    want & ~(attrs[a] & ~(hat_mmu(fx.as)->
				    user_walk ? HT_U : 0u)));
			}
			/* PAT sits in bit 7 at level 0, bit 12 above */
			cr_assert_eq(ht_chattr(fx.as, va, size, 0, HT_PAT), 0);
			uint64_t e = rd(fx_entry(fx.as, va, l), g->pte_size);
			cr_assert_eq(!!(e & (l == 0 ? PT_PAT_4K :
			    PT_PAT_LARGE)), 1);
			cr_assert(l == 0 || (e & PT_PAGESIZE));
			audit_ok(fx.as);
			cr_assert_eq(ht_unmap(fx.as, va, 2 * size,
			    HT_UNMAP_UNLOCK), 0);
		}
		fx_teardown();
	}
}

Test(semantics, chattr_splits_what_sticks_out_and_keeps_ad)
{
	for (int i = 0; i < NMODES; i++) {
		fx_setup_mode(modes[i], 0, 64);
		const ht_geometry_t *g = ht_ctx_geometry(fx.ctx);
		uint64_t big = 1ull << g->level_shift[1];
		int ept = mode_ept(g);
		/* EPT: its own A/D bits; HT_PCD alone is no memory type */
		uint64_t ad = ept ? RAW_EPT_A | RAW_EPT_D : PT_REF | PT_MOD;
		unsigned set = HT_PCD | HT_G | (ept ? HT_PAT : 0);
		ht_xlate_t x;

		cr_assert_eq(ht_map(fx.as, big, big, big, HT_W, 0), 0);
		void *p = fx_entry(fx.as, big, 1);

		wr(p, g->pte_size, rd(p, g->pte_size) | ad);
		cr_assert_eq(ht_chattr(fx.as, big + 0x3000, 0x1000, ept ?
		    HT_PWT : 0, set), 0, "%s", ht_errdetail());
		cr_assert_eq(ht_translate(fx.as, big + 0x3000, &x), 0);
		cr_assert_eq(x.page_size, 4096);
		cr_assert_eq(x.attr & (set | HT_A | HT_D | HT_W),
		    set | HT_A | HT_D | HT_W);
		cr_assert_eq(ht_translate(fx.as, big + 0x4000, &x), 0);
		cr_assert_eq(x.attr & set, 0);
		cr_assert_eq(x.attr & (HT_A | HT_D), HT_A | HT_D);
		audit_ok(fx.as);
		fx_teardown();
	}
}

Test(semantics, chattr_refuses_bad_arguments_and_changes_nothing)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 64);
	ht_xlate_t x;

	cr_assert_eq(ht_map(fx.as, 0x1000, 0x1000, 0x1000, HT_W, 0), 0);
	cr_assert_eq(ht_chattr(fx.as, 0x1000, 0x1000, HT_W, HT_W),
	    -HT_EINVAL);
	cr_assert_eq(ht_chattr(fx.as, 0x1000, 0x1000, 0, HT_A), -HT_EINVAL);
	cr_assert_eq(ht_chattr(fx.as, 0x1000, 0x1000, HT_LOCKED, 0),
	    -HT_EINVAL);
	cr_assert_eq(ht_chattr(NULL, 0x1000, 0x1000, 0, HT_G), -HT_EINVAL);
	cr_assert_eq(ht_chattr(fx.as, 0x1001, 0x1000, 0, HT_G), -HT_EALIGN);
	cr_assert_eq(ht_chattr(fx.as, 0x1000, 0, 0, HT_G), -HT_EINVAL);
	cr_assert_eq(ht_chattr(fx.as, 0x0000800000000000ull, 0x1000, 0,
	    HT_G), -HT_ENONCANON);
	cr_assert_eq(ht_translate(fx.as, 0x1000, &x), 0);
	cr_assert_eq(x.attr & ~(HT_A | HT_D), HT_W);
	/* a hole is fine: nothing to change */
	cr_assert_eq(ht_chattr(fx.as, 0x100000, 0x1000, 0, HT_G), 0);
	audit_ok(fx.as);
}
