/*
 * test_ept.c - Intel EPT spaces (HT_MODE_EPT4, HT_MODE_EPT5): the entries
 * the library writes, the attributes it refuses, protect, chattr, splits,
 * A/D, and ht_access / ht_scan_access against an independent reference.
 *
 * The reference is tests/lib/eptref.c, written from the SDM's EPT chapter
 * without the library's headers: every entry the library writes must
 * classify there as the link or leaf the test asked for (an EPTP can point
 * at our tables), and every access decided by ht_access must match its
 * walk: outcome (completes, EPT violation, misconfiguration), the exit
 * qualification, the host-physical address and page size, the entries
 * read and the A/D bits set.  Entries are read out of the arena with the
 * reference's own walk, so the test never relies on the library to find
 * them.
 *
 * Each test runs over both modes and the four settings of the context's
 * HT_EPT_* flags that change what an entry holds: none, A/D, MBEC with
 * execute-only pages, and all three.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/api_env.h"
#include "../lib/eptref.h"
#include "../lib/rng.h"

#define SW_EPT	(HT_SW(2) | HT_SW(3) | HT_SW(4) | HT_SW(5) | HT_SW(6))

static const ht_mode_t ept_modes[] = { HT_MODE_EPT4, HT_MODE_EPT5 };
static const unsigned ept_sets[] = {
	0, HT_EPT_AD, HT_EPT_MBEC | HT_EPT_XONLY,
	HT_EPT_AD | HT_EPT_MBEC | HT_EPT_XONLY
};
#define NMODES	(sizeof (ept_modes) / sizeof (ept_modes[0]))
#define NSETS	(sizeof (ept_sets) / sizeof (ept_sets[0]))

static void
setup(ht_mode_t mode, unsigned ept)
{
	ht_config_t cfg;

	memset(&cfg, 0, sizeof (cfg));
	cfg.ept = ept;
	env_setup_cfg(&E, mode, &cfg);
}

/* The reference's CPU for a context's flags (every optional feature). */
static eptref_cpu_t
ref_cpu(unsigned ept, unsigned maxphy)
{
	eptref_cpu_t c;

	memset(&c, 0, sizeof (c));
	c.maxphyaddr = maxphy;
	c.xonly = (ept & HT_EPT_XONLY) != 0;
	c.walk5 = true;
	c.page_2m = true;
	c.page_1g = true;
	c.ad = true;
	c.mbec = (ept & HT_EPT_MBEC) != 0;
	return (c);
}

static int
arena_rd(void *arg, uint64_t pa, uint64_t *val)
{
	uint64_t *p = ht_arena_ptr(arg, pa);

	if (p == NULL) {
		*val = 0;	/* beyond the arena: no table of ours */
		return (0);
	}
	*val = *p;
	return (0);
}

static uint64_t
eptp(ht_as_t *as, int ad)
{
	return (EPTREF_EPTP_MAKE(ht_as_root(as), E.g->levels, ad,
	    EPTREF_MT_WB));
}

/*
 * The reference's walk of gpa in E's space: the leaf entry (its address
 * in *r_addr) whatever the access would do; 0 when none is reached.
 */
static uint64_t
ref_leaf(ht_as_t *as, unsigned ept, uint64_t gpa, uint64_t *r_addr,
    eptref_walk_t *w)
{
	eptref_cpu_t c = ref_cpu(ept | HT_EPT_XONLY, 52);

	(void) eptref_walk(&c, eptp(as, 0), arena_rd, E.arena, gpa,
	    EPTREF_ACC_READ, false, w);
	if (!w->reached_leaf)
		return (0);
	if (r_addr != NULL)
		*r_addr = w->steps[w->nsteps - 1].addr;
	return (w->steps[w->nsteps - 1].val);
}

/* Check every link on the way to gpa: what our links must be in EPT. */
static void
links_ok(ht_as_t *as, unsigned ept, uint64_t gpa, int line)
{
	eptref_cpu_t c = ref_cpu(ept, 52);
	eptref_walk_t w;
	uint64_t want = EPTREF_R | EPTREF_W | EPTREF_X |
	    ((ept & HT_EPT_MBEC) ? EPTREF_XU : 0) |
	    ((ept & HT_EPT_AD) ? EPTREF_A : 0);

	(void) ref_leaf(as, ept, gpa, NULL, &w);
	cr_assert(w.reached_leaf, "line %d: gpa 0x%llx: no leaf", line,
	    (unsigned long long)gpa);
	for (int i = 0; i < w.nsteps - 1; i++) {
		eptref_entry_t en;

		eptref_classify(&c, w.steps[i].level, w.steps[i].val, &en);
		cr_assert_eq(en.kind, EPTREF_LINK, "line %d: level %d entry "
		    "0x%llx is not a link (mc 0x%x)", line, w.steps[i].level,
		    (unsigned long long)w.steps[i].val, en.mc);
		cr_assert_eq(w.steps[i].val & 0xfff, want, "line %d: level "
		    "%d link 0x%llx, want low bits 0x%llx", line,
		    w.steps[i].level, (unsigned long long)w.steps[i].val,
		    (unsigned long long)want);
	}
}

/* One mapping of the entry test: what to map and the leaf it must be. */
typedef struct leafcase {
	uint64_t	gpa, pa, len;
	unsigned	attr;
	unsigned	need;		/* HT_EPT_* the case needs */
	uint64_t	bits;		/* the leaf's bits besides the address */
} leafcase_t;

#define B(n)	(1ull << (n))

static const leafcase_t cases[] = {
	/* a readable, writable, executable WB page that ignores PAT */
	{ 0x1000, 0x200000, PG, HT_W | HT_X | HT_EPT_MT(HT_EPT_WB) |
	    HT_EPT_IPAT, 0, EPTREF_R | EPTREF_W | EPTREF_X | EPTREF_MT(6) |
	    EPTREF_IPAT },
	/* read-only UC: no attribute names nothing but read */
	{ 0x2000, 0x201000, PG, 0, 0, EPTREF_R },
	/* WC, WT, WP */
	{ 0x3000, 0x202000, PG, HT_EPT_MT(HT_EPT_WC), 0, EPTREF_R |
	    EPTREF_MT(1) },
	{ 0x4000, 0x203000, PG, HT_W | HT_EPT_MT(HT_EPT_WT), 0, EPTREF_R |
	    EPTREF_W | EPTREF_MT(4) },
	{ 0x5000, 0x204000, PG, HT_X | HT_EPT_MT(HT_EPT_WP), 0, EPTREF_R |
	    EPTREF_X | EPTREF_MT(5) },
	/* a 2 MiB page with suppress-#VE, VGP, PW and two software bits */
	{ 0x200000, 0x40000000, 2 * MIB, HT_X | HT_EPT_MT(HT_EPT_WT) |
	    HT_EPT_SVE | HT_EPT_VGP | HT_EPT_PW | HT_SW(2) | HT_SW(6), 0,
	    EPTREF_R | EPTREF_X | EPTREF_MT(4) | B(63) | B(57) | B(58) |
	    B(52) | B(56) | EPTREF_PS },
	/* a 1 GiB page, writable */
	{ 1 * GIB, 2 * GIB, GIB, HT_W, 0, EPTREF_R | EPTREF_W | EPTREF_PS },
	/* A and D preset (only with A/D) */
	{ 0x6000, 0x205000, PG, HT_W | HT_A | HT_D, HT_EPT_AD, EPTREF_R |
	    EPTREF_W | EPTREF_A | EPTREF_D },
	/* user-mode execute (MBEC), and an execute-only page */
	{ 0x7000, 0x206000, PG, HT_XU | HT_EPT_MT(HT_EPT_WB), HT_EPT_MBEC,
	    EPTREF_R | EPTREF_XU | EPTREF_MT(6) },
	{ 0x8000, 0x207000, PG, HT_X | HT_NOREAD, HT_EPT_XONLY, EPTREF_X },
	{ 0x9000, 0x208000, PG, HT_XU | HT_NOREAD, HT_EPT_XONLY |
	    HT_EPT_MBEC, EPTREF_XU },
};
#define NCASES	(sizeof (cases) / sizeof (cases[0]))

static int
one_leaf_cb(void *arg, const ht_leaf_t *l)
{
	*(ht_leaf_t *)arg = *l;
	return (1);
}

/*
 * Every case's leaf, bit for bit, as the reference reads it, with links
 * the reference takes; translate and walk report the attributes mapped.
 */
Test(ept, entries_exact, .timeout = 60)
{
	for (unsigned mi = 0; mi < NMODES; mi++) {
		for (unsigned si = 0; si < NSETS; si++) {
			unsigned ept = ept_sets[si];
			eptref_cpu_t c = ref_cpu(ept, 52);

			setup(ept_modes[mi], ept);
			for (unsigned k = 0; k < NCASES; k++) {
				const leafcase_t *lc = &cases[k];
				eptref_walk_t w;
				eptref_entry_t en;
				ht_xlate_t x;
				ht_leaf_t leaf;
				uint64_t pte;

				if ((lc->need & ept) != lc->need)
					continue;
				OK(ht_map(E.as, lc->gpa, lc->pa, lc->len,
				    lc->attr, 0));
				pte = ref_leaf(E.as, ept, lc->gpa, NULL, &w);
				cr_assert_eq(pte, lc->pa | lc->bits, "%s 0x%x "
				    "case %u: leaf 0x%llx, want 0x%llx",
				    ht_mode_name(E.mode), ept, k,
				    (unsigned long long)pte,
				    (unsigned long long)(lc->pa | lc->bits));
				eptref_classify(&c, w.steps[w.nsteps - 1].level,
				    pte, &en);
				cr_assert_eq(en.kind, EPTREF_LEAF, "case %u: "
				    "mc 0x%x", k, en.mc);
				cr_assert_eq(en.size, lc->len);
				links_ok(E.as, ept, lc->gpa, __LINE__);
				OK(ht_translate(E.as, lc->gpa + 8, &x));
				cr_assert_eq(x.pa, lc->pa + 8);
				cr_assert_eq(x.page_size, lc->len);
				cr_assert_eq(x.attr, lc->attr, "case %u: attr "
				    "0x%x, want 0x%x", k, x.attr, lc->attr);
				int wr = ht_walk(E.as, lc->gpa, lc->gpa,
				    one_leaf_cb, &leaf);
				cr_assert_eq(wr, 1, "case %u: walk %d (%s)", k,
				    wr, ht_errdetail());
				cr_assert_eq(leaf.attr, lc->attr);
				cr_assert_eq(leaf.eff, lc->attr & (HT_W |
				    HT_X | HT_XU | HT_NOREAD));
				cr_assert_eq(leaf.pte, pte);
			}
			AUDIT(E.as);
			cr_assert_eq(ht_ctx_swbits(E.ctx), SW_EPT);
			env_teardown(&E);
		}
	}
}

/* Configurations that mean nothing, refused with a reason. */
Test(ept, config, .timeout = 30)
{
	ht_config_t cfg;
	ht_ctx_t *ctx;

	env_arena(&E, HT_MODE_EPT4);
	cfg = base_cfg(&E, HT_MODE_4LEVEL);
	cfg.ept = HT_EPT_AD;
	arm_detail();
	cr_assert_eq(ht_ctx_create(&cfg, &ctx), -HT_EINVAL);
	check_detail(__LINE__, "ept flags in 4level");
	cfg.mode = HT_MODE_EPT4;
	cfg.ept = 0x8;
	arm_detail();
	cr_assert_eq(ht_ctx_create(&cfg, &ctx), -HT_EINVAL);
	check_detail(__LINE__, "unknown ept flag");
	cfg.ept = 0;
	cfg.no_nx = 1;
	arm_detail();
	cr_assert_eq(ht_ctx_create(&cfg, &ctx), -HT_EINVAL);
	check_detail(__LINE__, "no_nx in EPT");
	cfg.no_nx = 0;
	cfg.ept = HT_EPT_AD | HT_EPT_MBEC | HT_EPT_XONLY;
	OK(ht_ctx_create(&cfg, &ctx));
	OK(ht_ctx_destroy(ctx));
	env_teardown(&E);
}

/* Attributes EPT cannot hold: refused, nothing changed, fast paths too. */
Test(ept, refused_attributes, .timeout = 60)
{
	for (unsigned mi = 0; mi < NMODES; mi++) {
		ht_as_t *ser;

		setup(ept_modes[mi], 0);
		OK(ht_map(E.as, 0, 0x100000, PG, HT_W, 0));
		OK(ht_as_create(E.ctx, HT_AS_SERIAL, &ser));
		for (int k = 0; k < 2; k++) {
			ht_as_t *as = k == 0 ? E.as : ser;
			ht_as_t *keep = E.as;

			E.as = as;	/* EXPECT_ERR checks E.as */
			/* a page in a table that exists: the one-page path */
			OK(ht_map(as, 0x1000, 0x101000, PG, HT_W, 0));
			EXPECT_ERR(&E, HT_EINVAL, ht_map(as, 0x2000, 0x1000, PG,
			    HT_XU, 0));
			EXPECT_ERR(&E, HT_EINVAL, ht_map(as, 0x2000, 0x1000, PG,
			    HT_EPT_MT(2), 0));
			EXPECT_ERR(&E, HT_EINVAL, ht_map(as, 0x2000, 0x1000, PG,
			    HT_EPT_MT(3) | HT_W, 0));
			EXPECT_ERR(&E, HT_EINVAL, ht_map(as, 0x2000, 0x1000, PG,
			    HT_EPT_MT(7), 0));
			EXPECT_ERR(&E, HT_EINVAL, ht_map(as, 0x2000, 0x1000, PG,
			    HT_W | HT_NOREAD, 0));
			EXPECT_ERR(&E, HT_EINVAL, ht_map(as, 0x2000, 0x1000, PG,
			    HT_NOREAD, 0));
			EXPECT_ERR(&E, HT_EINVAL, ht_map(as, 0x2000, 0x1000, PG,
			    HT_X | HT_NOREAD, 0));
			EXPECT_ERR(&E, HT_EINVAL, ht_map(as, 0x2000, 0x1000, PG,
			    HT_A, 0));
			EXPECT_ERR(&E, HT_EINVAL, ht_map(as, 0x2000, 0x1000, PG,
			    HT_SW(0), 0));
			EXPECT_ERR(&E, HT_EINVAL, ht_protect(as, 0x1000, PG,
			    HT_NOREAD));
			EXPECT_ERR(&E, HT_EINVAL, ht_protect(as, 0x1000, PG,
			    HT_W | HT_NOREAD));
			EXPECT_ERR(&E, HT_EINVAL, ht_protect(as, 0x1000, PG,
			    HT_X | HT_NOREAD));
			EXPECT_ERR(&E, HT_EINVAL, ht_protect(as, 0x1000, PG,
			    HT_XU));
			EXPECT_ERR(&E, HT_EINVAL, ht_protect(as, 0x1000, PG,
			    HT_G));
			/* chattr: rights and type whole or not at all */
			EXPECT_ERR(&E, HT_EINVAL, ht_chattr(as, 0x1000, PG,
			    HT_W, 0));
			EXPECT_ERR(&E, HT_EINVAL, ht_chattr(as, 0x1000, PG,
			    0, HT_PCD));
			EXPECT_ERR(&E, HT_EINVAL, ht_chattr(as, 0x1000, PG,
			    HT_PWT | HT_PAT, HT_PCD));
			EXPECT_ERR(&E, HT_EINVAL, ht_chattr(as, 0x1000, PG,
			    HT_X, HT_W | HT_NOREAD));
			EXPECT_ERR(&E, HT_EINVAL, ht_chattr(as, 0x1000, PG,
			    HT_XU, 0));
			E.as = keep;
		}
		ht_as_destroy(ser);
		env_teardown(&E);
	}
	/* and EPT's attributes outside EPT */
	env_setup(&E, HT_MODE_4LEVEL);
	OK(ht_map(E.as, 0, 0x100000, PG, HT_W, 0));
	EXPECT_ERR(&E, HT_EINVAL, ht_map(E.as, 0x1000, 0x1000, PG,
	    HT_X | HT_NOREAD, 0));
	EXPECT_ERR(&E, HT_EINVAL, ht_map(E.as, 0x1000, 0x1000, PG,
	    HT_EPT_SVE, 0));
	EXPECT_ERR(&E, HT_EINVAL, ht_protect(E.as, 0, PG, HT_NOREAD | HT_X));
	EXPECT_ERR(&E, HT_EINVAL, ht_chattr(E.as, 0, PG, 0, HT_NOREAD));
	env_teardown(&E);
}

/* The bits besides the address of the leaf that maps gpa. */
static uint64_t
leaf_bits(ht_as_t *as, unsigned ept, uint64_t gpa)
{
	eptref_walk_t w;
	uint64_t pte = ref_leaf(as, ept, gpa, NULL, &w);

	cr_assert_neq(pte, 0, "gpa 0x%llx: no leaf",
	    (unsigned long long)gpa);
	return (pte & ~0x000ffffffffff000ull);
}

/*
 * protect and chattr change exactly the named bits, splitting a large page
 * whose pieces keep everything else (memory type, IPAT, SVE, SW bits).
 */
Test(ept, protect_chattr_split, .timeout = 60)
{
	const uint64_t keep = EPTREF_MT(6) | EPTREF_IPAT | B(63) | B(53);

	for (unsigned mi = 0; mi < NMODES; mi++) {
		for (unsigned si = 0; si < NSETS; si++) {
			unsigned ept = ept_sets[si];
			uint64_t xu = (ept & HT_EPT_MBEC) ? EPTREF_XU : 0;

			setup(ept_modes[mi], ept);
			OK(ht_map(E.as, 0x200000, 0x400000, 2 * MIB, HT_W |
			    HT_X | HT_EPT_MT(HT_EPT_WB) | HT_EPT_IPAT |
			    HT_EPT_SVE | HT_SW(3), 0));
			OK(ht_protect(E.as, 0x201000, PG, HT_X));
			cr_assert_eq(leaf_bits(E.as, ept, 0x201000), keep |
			    EPTREF_R | EPTREF_X);
			cr_assert_eq(leaf_bits(E.as, ept, 0x200000), keep |
			    EPTREF_R | EPTREF_W | EPTREF_X);
			cr_assert_eq(leaf_bits(E.as, ept, 0x3ff000), keep |
			    EPTREF_R | EPTREF_W | EPTREF_X);
			/* read-only, then back */
			OK(ht_protect(E.as, 0x202000, PG, 0));
			cr_assert_eq(leaf_bits(E.as, ept, 0x202000), keep |
			    EPTREF_R);
			if (ept & HT_EPT_XONLY) {
				OK(ht_protect(E.as, 0x203000, PG, HT_X |
				    HT_NOREAD));
				cr_assert_eq(leaf_bits(E.as, ept, 0x203000),
				    keep | EPTREF_X);
				OK(ht_protect(E.as, 0x203000, PG, HT_X |
				    HT_XU | HT_W));
				cr_assert_eq(leaf_bits(E.as, ept, 0x203000),
				    keep | EPTREF_R | EPTREF_W | EPTREF_X |
				    xu);
			}
			/* the memory type, whole: WB to WC */
			OK(ht_chattr(E.as, 0x204000, PG, HT_EPT_MT(6),
			    HT_EPT_MT(HT_EPT_WC)));
			cr_assert_eq(leaf_bits(E.as, ept, 0x204000), (keep &
			    ~EPTREF_MT(7)) | EPTREF_MT(1) | EPTREF_R |
			    EPTREF_W | EPTREF_X);
			/* the rights, whole: write and execute off */
			OK(ht_chattr(E.as, 0x205000, PG, HT_W | HT_X |
			    (xu ? HT_XU : 0) | HT_NOREAD, 0));
			cr_assert_eq(leaf_bits(E.as, ept, 0x205000), keep |
			    EPTREF_R);
			/* IPAT off, leaving the rest */
			OK(ht_chattr(E.as, 0x206000, PG, HT_EPT_IPAT, 0));
			cr_assert_eq(leaf_bits(E.as, ept, 0x206000), (keep &
			    ~EPTREF_IPAT) | EPTREF_R | EPTREF_W | EPTREF_X);
			links_ok(E.as, ept, 0x201000, __LINE__);
			AUDIT(E.as);
			env_teardown(&E);
		}
	}
}

static void
ad_cb(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	unsigned *got = arg;

	(void) va;
	(void) size;
	*got |= bits;
}

/* A/D: harvested with HT_EPT_AD, ignored bits without it. */
Test(ept, accessed_dirty, .timeout = 60)
{
	for (unsigned mi = 0; mi < NMODES; mi++) {
		for (unsigned si = 0; si < NSETS; si++) {
			unsigned ept = ept_sets[si], got = 0;
			eptref_walk_t w;
			uint64_t addr, *p;

			setup(ept_modes[mi], ept);
			OK(ht_map(E.as, 0x10000, 0x300000, PG, HT_W, 0));
			(void) ref_leaf(E.as, ept, 0x10000, &addr, &w);
			p = ht_arena_ptr(E.arena, addr);
			*p |= EPTREF_A | EPTREF_D;	/* as the CPU would */
			cr_assert_geq(ht_harvest_ad(E.as, 0x10000, PG,
			    HT_A | HT_D, HT_AD_CLEAR, ad_cb, &got), 0);
			if (ept & HT_EPT_AD) {
				cr_assert_eq(got, HT_A | HT_D);
				cr_assert_eq(*p & (EPTREF_A | EPTREF_D), 0);
			} else {
				/* bits 8 and 9 are ignored: not A/D, kept */
				cr_assert_eq(got, 0);
				cr_assert_eq(*p & (EPTREF_A | EPTREF_D),
				    EPTREF_A | EPTREF_D);
			}
			env_teardown(&E);
		}
	}
}

/* ------------------------------------------------------------------ */
/* ht_access against the reference                                     */
/* ------------------------------------------------------------------ */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t
rnd(void)
{
	return (rng_next(&rng));
}

/* Random attributes the context takes. */
static unsigned
rnd_attr(unsigned ept)
{
	static const unsigned mts[] = { 0, 1, 4, 5, 6 };
	unsigned a = HT_EPT_MT(mts[rnd() % 5]);

	if (rnd() & 1)
		a |= HT_EPT_IPAT;
	if ((ept & HT_EPT_XONLY) && rnd() % 4 == 0) {
		a |= HT_NOREAD | HT_X;
		if ((ept & HT_EPT_MBEC) && (rnd() & 1))
			a ^= HT_X | HT_XU;
		return (a);
	}
	if (rnd() & 1)
		a |= HT_W;
	if (rnd() & 1)
		a |= HT_X;
	if ((ept & HT_EPT_MBEC) && (rnd() & 1))
		a |= HT_XU;
	return (a);
}

/* The outcomes compared, by the reference's eptref_outcome_t. */
static unsigned long outcomes[3];

/* One access compared: ours through scan or as, and the reference's. */
static void
cmp_access(const ht_access_t *r, const eptref_walk_t *w, unsigned acc,
    uint64_t gpa, int ad)
{
	char what[160];

	if ((unsigned)w->outcome < 3)
		outcomes[w->outcome]++;
	snprintf(what, sizeof (what), "%s gpa 0x%llx acc %u",
	    ht_mode_name(E.mode), (unsigned long long)gpa, acc);
	switch (w->outcome) {
	case EPTREF_OK:
		cr_assert_eq(r->fault, HT_FAULT_NONE, "%s: fault %d, "
		    "want none", what, r->fault);
		cr_assert_eq(r->pa, w->hpa, "%s: pa", what);
		cr_assert_eq(r->page_size, w->page_size, "%s", what);
		for (int i = 0; i < w->nsteps; i++) {
			int want = (w->set[i] & EPTREF_A) != 0;
			int have = (r->set_a >> w->steps[i].level) & 1;

			cr_assert_eq(have, want, "%s: A at level %d",
			    what, w->steps[i].level);
		}
		cr_assert_eq(r->set_d, (w->set[w->nsteps - 1] & EPTREF_D) !=
		    0, "%s: D", what);
		if (!ad)
			cr_assert_eq(r->set_a, 0, "%s", what);
		break;
	case EPTREF_VIOLATION:
		cr_assert_eq(r->fault, HT_FAULT_EPT_VIOLATION, "%s: fault "
		    "%d, want a violation (qual 0x%llx)", what, r->fault,
		    (unsigned long long)w->qual);
		cr_assert_eq(r->error_code, w->qual, "%s: qual 0x%x, want "
		    "0x%llx", what, r->error_code,
		    (unsigned long long)w->qual);
		break;
	case EPTREF_MISCONF:
		cr_assert_eq(r->fault, HT_FAULT_EPT_MISCONFIG, "%s: fault %d, "
		    "want a misconfiguration (mc 0x%x)", what, r->fault,
		    w->mc);
		break;
	default:
		cr_assert_fail("%s: reference outcome %d", what, w->outcome);
	}
	cr_assert_eq(r->nsteps, (unsigned)w->nsteps, "%s: steps", what);
	for (int i = 0; i < w->nsteps; i++) {
		cr_assert_eq(r->step[i].addr, w->steps[i].addr, "%s", what);
		cr_assert_eq(r->step[i].pte, w->steps[i].val, "%s", what);
	}
}

static int
scan_rd(void *arg, ht_pa_t pa, void *buf, size_t len)
{
	void *p = ht_arena_ptr(arg, pa);

	if (p == NULL) {
		memset(buf, 0, len);
		return (1);
	}
	memcpy(buf, p, len);
	return (0);
}

/*
 * Random spaces of every flag setting, some leaves then corrupted by hand
 * into each misconfiguration; every access kind at both CPLs to random
 * addresses, on CPUs with and without each feature, through ht_access and
 * ht_scan_access (EPTP A/D on and off), against the reference.
 */
Test(ept, access_vs_reference, .timeout = 300)
{
	unsigned long checked = 0;

	for (unsigned mi = 0; mi < NMODES; mi++) {
		for (unsigned si = 0; si < NSETS; si++) {
			unsigned ept = ept_sets[si];
			uint64_t gpas[256];
			unsigned n = 0;

			setup(ept_modes[mi], ept);
			/* leaves of each size over the first 8 GiB */
			for (int k = 0; k < 120; k++) {
				unsigned lv = rnd() % 10 < 7 ? 0 : rnd() % 4 ?
				    1 : 2;
				uint64_t sz = lv == 0 ? PG : lv == 1 ? 2 * MIB :
				    GIB;
				uint64_t gpa = (rnd() % (8 * GIB)) & ~(sz - 1);
				uint64_t pa = (rnd() % (1ull << 40)) &
				    ~(sz - 1);

				OK(ht_map(E.as, gpa, pa, sz, rnd_attr(ept), 0));
				gpas[n++] = gpa + (rnd() % sz);
			}
			/* misconfigurations by hand, in some leaves */
			for (int k = 0; k < 24; k++) {
				uint64_t addr, *p;
				eptref_walk_t w;
				uint64_t gpa = gpas[rnd() % n];

				if (ref_leaf(E.as, ept, gpa, &addr, &w) == 0)
					continue;
				p = ht_arena_ptr(E.arena, addr);
				switch (k % 6) {
				case 0:	/* write without read */
					*p = (*p & ~7ull) | EPTREF_W;
					break;
				case 1:	/* memory type 2, 3, 7 */
					*p = (*p & ~EPTREF_MT(7)) |
					    EPTREF_MT(k % 4 ? 2 : 7);
					break;
				case 2:	/* execute-only */
					*p = (*p & ~7ull) | EPTREF_X;
					break;
				case 3:	/* an address bit above 2^40 */
					*p |= 1ull << 45;
					break;
				case 4:	/* a reserved bit of a PDE link */
					if (w.steps[w.nsteps - 1].level != 0)
						continue;
					p = ht_arena_ptr(E.arena,
					    w.steps[w.nsteps - 2].addr);
					*p |= EPTREF_MT(1);
					break;
				default: /* not present */
					*p &= ~(7ull | EPTREF_XU);
					break;
				}
				gpas[n++] = gpa;
			}
			for (unsigned q = 0; q < 12 * n; q++) {
				uint64_t gpa = rnd() & 1 ? gpas[rnd() % n] :
				    rnd() % (8 * GIB);
				unsigned acc = (unsigned)(rnd() % 3);
				unsigned cpl = rnd() & 1 ? 3 : 0;
				unsigned maxphy = rnd() % 3 ? 52 : 44;
				ht_cpu_t cpu = { 0, 0, maxphy };
				eptref_cpu_t c;
				eptref_walk_t w;
				ht_access_t r;
				ht_scan_cfg_t cfg;
				int ad = (int)(rnd() & 1);

				if (rnd() & 1)
					cpu.flags |= HT_CPU_EPT_MBEC;
				if (rnd() & 1)
					cpu.flags |= HT_CPU_EPT_XONLY;
				if (rnd() % 4 == 0)
					cpu.flags |= HT_CPU_NO1G;
				c = ref_cpu(((cpu.flags & HT_CPU_EPT_MBEC) ?
				    HT_EPT_MBEC : 0) | ((cpu.flags &
				    HT_CPU_EPT_XONLY) ? HT_EPT_XONLY : 0),
				    maxphy);
				c.page_1g = !(cpu.flags & HT_CPU_NO1G);
				/* through the space: the context's A/D */
				OK(ht_access(E.as, &cpu, gpa, acc, cpl, &r));
				(void) eptref_walk(&c, eptp(E.as, (ept &
				    HT_EPT_AD) != 0), arena_rd, E.arena, gpa,
				    (eptref_access_t)acc, cpl == 3, &w);
				cmp_access(&r, &w, acc, gpa, (ept &
				    HT_EPT_AD) != 0);
				/* through an image: the EPTP's */
				memset(&cfg, 0, sizeof (cfg));
				cfg.mode = E.mode;
				cfg.cr3 = eptp(E.as, ad);
				cfg.read = scan_rd;
				cfg.read_arg = E.arena;
				OK(ht_scan_access(&cfg, &cpu, gpa, acc, cpl,
				    &r));
				(void) eptref_walk(&c, cfg.cr3, arena_rd,
				    E.arena, gpa, (eptref_access_t)acc,
				    cpl == 3, &w);
				cmp_access(&r, &w, acc, gpa, ad);
				checked += 2;
			}
			env_teardown(&E);
		}
	}
	cr_log_info("%lu accesses checked against the reference: %lu "
	    "complete, %lu violations, %lu misconfigurations", checked,
	    outcomes[EPTREF_OK], outcomes[EPTREF_VIOLATION],
	    outcomes[EPTREF_MISCONF]);
	/* the sweep reached every outcome, in numbers */
	for (int o = 0; o < 3; o++)
		cr_assert_gt(outcomes[o], checked / 50, "outcome %d: %lu", o,
		    outcomes[o]);
}

/* The reader's arguments: EPTPs, flags, CPU flags in the wrong mode. */
Test(ept, reader_arguments, .timeout = 30)
{
	ht_scan_cfg_t cfg;
	ht_cpu_t cpu = { 0, 0, 0 };
	ht_access_t r;
	ht_scan_xlate_t x;

	setup(HT_MODE_EPT4, HT_EPT_AD);
	OK(ht_map(E.as, 0x1000, 0x200000, PG, HT_W, 0));
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = HT_MODE_EPT4;
	cfg.cr3 = EPTREF_EPTP_MAKE(ht_as_root(E.as), 5, 1, 6);
	cfg.read = scan_rd;
	cfg.read_arg = E.arena;
	arm_detail();
	cr_assert_eq(ht_scan_access(&cfg, &cpu, 0x1000, 0, 0, &r),
	    -HT_EINVAL);
	check_detail(__LINE__, "walk length 5 in ept4");
	cr_assert_eq(ht_scan_translate(&cfg, 0x1000, &x), -HT_EINVAL);
	/* the root alone (bits 5:3 zero) and the right EPTP both read */
	cfg.cr3 = ht_as_root(E.as);
	OK(ht_scan_translate(&cfg, 0x1000, &x));
	cr_assert_eq(x.stop, HT_STOP_MAPPED);
	cr_assert_eq(x.pa, 0x200000);
	cr_assert_eq(x.attr, HT_W);	/* no A/D without EPTP bit 6 */
	cfg.cr3 = eptp(E.as, 1);
	OK(ht_scan_translate(&cfg, 0x1000, &x));
	cr_assert_eq(x.eff, HT_W, "eff 0x%x", x.eff);
	cfg.flags = HT_SCAN_QEMU;
	arm_detail();
	cr_assert_eq(ht_scan_translate(&cfg, 0x1000, &x), -HT_EINVAL);
	check_detail(__LINE__, "qemu reading in EPT");
	cfg.flags = 0;
	cfg.mode = HT_MODE_4LEVEL;
	cfg.flags = HT_SCAN_EPT_MBEC;
	arm_detail();
	cr_assert_eq(ht_scan_translate(&cfg, 0x1000, &x), -HT_EINVAL);
	check_detail(__LINE__, "EPT flag in 4level");
	cfg.flags = 0;
	cpu.flags = HT_CPU_EPT_XONLY;
	arm_detail();
	cr_assert_eq(ht_scan_access(&cfg, &cpu, 0x1000, 0, 0, &r),
	    -HT_EINVAL);
	check_detail(__LINE__, "EPT CPU flag in 4level");
	/* beyond the guest-physical space */
	cpu.flags = 0;
	arm_detail();
	cr_assert_eq(ht_access(E.as, &cpu, 1ull << 48, 0, 0, &r),
	    -HT_ERANGE);
	check_detail(__LINE__, "beyond 2^48");
	env_teardown(&E);
}

/* Client data in non-present entries: bits 0-2 (and 10 with MBEC) clear. */
Test(ept, set_np, .timeout = 30)
{
	setup(HT_MODE_EPT4, HT_EPT_MBEC);
	OK(ht_set_np(E.as, 0x1000, 4 * PG, 0x1000, 0x800));
	EXPECT_ERR(&E, HT_EINVAL, ht_set_np(E.as, 0x10000, PG, 0x4, 0));
	EXPECT_ERR(&E, HT_EINVAL, ht_set_np(E.as, 0x10000, PG, 0x400, 0));
	/* an increment that carries into bit 10 in some entry */
	EXPECT_ERR(&E, HT_EINVAL, ht_set_np(E.as, 0x10000, 4 * PG, 0x800,
	    0x200));
	AUDIT(E.as);
	env_teardown(&E);
}

/* The EPT pointer of a space: the reference's VM-entry checks pass. */
Test(ept, eptp, .timeout = 30)
{
	for (unsigned mi = 0; mi < NMODES; mi++) {
		for (unsigned si = 0; si < NSETS; si++) {
			unsigned ept = ept_sets[si];
			eptref_cpu_t c = ref_cpu(ept, 52);
			uint64_t p;

			setup(ept_modes[mi], ept);
			OK(ht_as_eptp(E.as, HT_EPT_WB, &p));
			cr_assert_eq(p, eptp(E.as, (ept & HT_EPT_AD) != 0));
			cr_assert_eq(eptref_eptp_check(&c, p), 0);
			OK(ht_as_eptp(E.as, HT_EPT_UC, &p));
			cr_assert_eq(p & 7, EPTREF_MT_UC);
			cr_assert_eq(eptref_eptp_check(&c, p), 0);
			arm_detail();
			cr_assert_eq(ht_as_eptp(E.as, HT_EPT_WT, &p),
			    -HT_EINVAL);
			check_detail(__LINE__, "memory type WT");
			cr_assert_eq(ht_as_eptp(E.as, HT_EPT_WB, NULL),
			    -HT_EINVAL);
			env_teardown(&E);
		}
	}
	env_setup(&E, HT_MODE_4LEVEL);
	{
		uint64_t p;

		arm_detail();
		cr_assert_eq(ht_as_eptp(E.as, HT_EPT_WB, &p), -HT_EINVAL);
		check_detail(__LINE__, "4level");
	}
	env_teardown(&E);
}

/*
 * A soft TLB over EPT spaces: EPT's answers, A/D set by the fill only with
 * A/D on, and writes cached at once when there is no dirty bit to set.
 */
Test(ept, soft_tlb, .timeout = 30)
{
	for (unsigned si = 0; si < NSETS; si++) {
		unsigned ept = ept_sets[si];
		ht_cpu_t cpu = { 0, 0, 0 };
		ht_stlb_t *st;
		ht_access_t r;
		ht_pa_t pa;
		eptref_walk_t w;
		uint64_t pte;

		setup(HT_MODE_EPT4, ept);
		if (ept & HT_EPT_MBEC)
			cpu.flags |= HT_CPU_EPT_MBEC;
		if (ept & HT_EPT_XONLY)
			cpu.flags |= HT_CPU_EPT_XONLY;
		OK(ht_map(E.as, 0x1000, 0x300000, PG, HT_W, 0));
		OK(ht_map(E.as, 0x2000, 0x301000, PG, HT_X, 0));
		OK(ht_stlb_create(E.as, 64, &cpu, &st));
		/* a fetch from a page without X: a violation, not cached */
		OK(ht_stlb_fill(st, 0x1000, HT_ACC_FETCH, 0, &r));
		cr_assert_eq(r.fault, HT_FAULT_EPT_VIOLATION);
		cr_assert_eq(r.error_code, HT_EPTQ_FETCH | HT_EPTQ_R |
		    HT_EPTQ_W);
		cr_assert_eq(ht_stlb_lookup(st, 0x1000, HT_ACC_FETCH, 0, &pa),
		    0);
		/* a write completes; the next one hits */
		OK(ht_stlb_fill(st, 0x1008, HT_ACC_WRITE, 0, &r));
		cr_assert_eq(r.fault, HT_FAULT_NONE);
		cr_assert_eq(ht_stlb_lookup(st, 0x1010, HT_ACC_WRITE, 0, &pa),
		    1);
		cr_assert_eq(pa, 0x300010);
		pte = ref_leaf(E.as, ept, 0x1000, NULL, &w);
		cr_assert_eq(pte & (EPTREF_A | EPTREF_D), (ept & HT_EPT_AD) ?
		    EPTREF_A | EPTREF_D : 0);
		/* a read of an execute-only... here readable page: hits */
		OK(ht_stlb_fill(st, 0x2000, HT_ACC_READ, 0, &r));
		cr_assert_eq(ht_stlb_lookup(st, 0x2000, HT_ACC_FETCH, 3, &pa),
		    (ept & HT_EPT_MBEC) ? 0 : 1, "user-mode fetch: XU under "
		    "MBEC");
		ht_stlb_destroy(st);
		env_teardown(&E);
	}
}

typedef struct leaves {
	ht_leaf_t	v[1 << 15];
	unsigned	n;
} leaves_t;

static int
collect_cb(void *arg, const ht_leaf_t *l)
{
	leaves_t *s = arg;

	cr_assert_lt(s->n, 1u << 15);
	s->v[s->n++] = *l;
	return (0);
}

/*
 * ht_scan over an EPT space read as an image (the EPTP and the VMCS's
 * flags as scan flags): the leaves ht_walk reports, with the lock bit as
 * HT_SW_BIT9; a misconfigured leaf skipped and counted.
 */
Test(ept, scan_as_image, .timeout = 60)
{
	for (unsigned mi = 0; mi < NMODES; mi++) {
		for (unsigned si = 0; si < NSETS; si++) {
			unsigned ept = ept_sets[si];
			static leaves_t a, b;
			ht_scan_cfg_t cfg;
			ht_scan_stats_t st;
			eptref_walk_t w;
			uint64_t addr, *p;

			setup(ept_modes[mi], ept);
			for (int k = 0; k < 60; k++) {
				unsigned lv = rnd() % 4 ? 0 : 1;
				uint64_t sz = lv ? 2 * MIB : PG;
				uint64_t gpa = (rnd() % (4 * GIB)) & ~(sz - 1);

				OK(ht_map(E.as, gpa, (rnd() % (1ull << 36)) &
				    ~(sz - 1), sz, rnd_attr(ept),
				    k % 7 == 0 ? HT_MAP_LOCK : 0));
			}
			a.n = b.n = 0;
			OK(ht_walk(E.as, 0, va_last(E.g), collect_cb, &a));
			memset(&cfg, 0, sizeof (cfg));
			cfg.mode = E.mode;
			OK(ht_as_eptp(E.as, HT_EPT_WB, &cfg.cr3));
			cfg.flags = ((ept & HT_EPT_MBEC) ? HT_SCAN_EPT_MBEC :
			    0) | ((ept & HT_EPT_XONLY) ? HT_SCAN_EPT_XONLY : 0);
			cfg.read = scan_rd;
			cfg.read_arg = E.arena;
			OK(ht_scan(&cfg, collect_cb, &b, &st));
			cr_assert_eq(a.n, b.n);
			for (unsigned k = 0; k < a.n; k++) {
				unsigned want = a.v[k].attr;

				if (want & HT_LOCKED)
					want = (want & ~HT_LOCKED) | HT_SW_BIT9;
				cr_assert_eq(b.v[k].va, a.v[k].va);
				cr_assert_eq(b.v[k].pa, a.v[k].pa);
				cr_assert_eq(b.v[k].size, a.v[k].size);
				cr_assert_eq(b.v[k].attr, want, "leaf %u: 0x%x, "
				    "want 0x%x", k, b.v[k].attr, want);
				cr_assert_eq(b.v[k].eff, a.v[k].eff);
			}
			cr_assert_eq(st.reserved, 0);
			/* a leaf with memory type 2: skipped, counted */
			(void) ref_leaf(E.as, ept, a.v[0].va, &addr, &w);
			p = ht_arena_ptr(E.arena, addr);
			*p = (*p & ~EPTREF_MT(7)) | EPTREF_MT(2);
			b.n = 0;
			OK(ht_scan(&cfg, collect_cb, &b, &st));
			cr_assert_eq(b.n, a.n - 1);
			cr_assert_eq(st.reserved, 1);
			*p = (*p & ~EPTREF_MT(7)) | EPTREF_MT(6);
			env_teardown(&E);
		}
	}
}

/* A CPU root over EPT spaces: its switches give EPT pointers, no PCIDs. */
Test(ept, cpu_root_switch, .timeout = 30)
{
	ht_cpu_root_cfg_t rc;
	ht_cpu_root_t *cr;
	ht_switch_t sw;
	ht_as_t *cp;
	eptref_cpu_t c = ref_cpu(HT_EPT_AD, 52);

	setup(HT_MODE_EPT4, HT_EPT_AD);
	OK(ht_as_create(E.ctx, HT_AS_COPIED, &cp));
	OK(ht_map(cp, 0x1000, 0x300000, PG, HT_W, 0));
	memset(&rc, 0, sizeof (rc));
	OK(ht_cpu_root_create(E.ctx, &rc, &cr));
	OK(ht_switch(cr, cp, &sw));
	cr_assert_eq(sw.cr3 & 0xfff, 0x40 | (3 << 3) | EPTREF_MT_WB);
	cr_assert_eq(sw.cr3 & ~0xfffull, ht_cpu_root_pa(cr, 0));
	cr_assert_eq(eptref_eptp_check(&c, sw.cr3), 0);
	{
		eptref_walk_t w;

		cr_assert_eq(eptref_walk(&c, sw.cr3, arena_rd, E.arena,
		    0x1008, EPTREF_ACC_WRITE, false, &w), EPTREF_OK);
		cr_assert_eq(w.hpa, 0x300008);
	}
	OK(ht_switch(cr, E.as, &sw));
	{
		uint64_t p;

		OK(ht_as_eptp(E.as, HT_EPT_WB, &p));
		cr_assert_eq(sw.cr3, p);
	}
	arm_detail();
	cr_assert_eq(ht_as_set_pcid(cp, 5), -HT_EINVAL);
	check_detail(__LINE__, "PCID in EPT");
	OK(ht_switch(cr, NULL, &sw));
	ht_cpu_root_destroy(cr);
	ht_as_destroy(cp);
	env_teardown(&E);
}
