/*
 * test_eptref.c - checks of the independent EPT reference model
 * (tests/lib/eptref.c) against cases worked by hand from the SDM, before
 * the model is trusted to judge the library: every misconfiguration
 * reason on its own, each exit-qualification bit, execute-only with and
 * without the capability, MBEC user and supervisor execute, the leaf
 * memory types, A/D only when the EPTP enables them, 4- and 5-level walks,
 * 2 MiB and 1 GiB pages, the bits above MAXPHYADDR, and a not-present
 * entry at each level.
 *
 * Walks run over a small image: 64 pages of host-physical memory from
 * address 0, the EPT root in page 1 and each lower table in the next page,
 * so an entry's address is easy to predict by hand.  The expected values
 * are written out literally (not computed with the model's own helpers)
 * so a mistake in the model cannot cancel out.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "eptref.h"

#define	NPAGES		64
#define	PG(n)		((uint64_t)(n) * 4096)
#define	RWX		(EPTREF_R | EPTREF_W | EPTREF_X)
#define	LEAF_WB		(RWX | EPTREF_MT(EPTREF_MT_WB))

static uint64_t mem[NPAGES][512];
/* the host-physical address of the entry of each level, set by chain() */
static uint64_t slot[EPTREF_MAXLEVELS];

static int
rd(void *arg, uint64_t pa, uint64_t *val)
{
	uint64_t (*m)[512] = arg;

	if ((pa & 7) != 0 || pa / 4096 >= NPAGES)
		return (-1);
	*val = m[pa / 4096][(pa % 4096) / 8];
	return (0);
}

static uint64_t *
at(uint64_t pa)
{
	return (&mem[pa / 4096][(pa % 4096) / 8]);
}

/* A processor with everything: MAXPHYADDR 46, no MBEC. */
static eptref_cpu_t
full_cpu(void)
{
	eptref_cpu_t c = { .maxphyaddr = 46, .xonly = true, .walk5 = true,
	    .page_2m = true, .page_1g = true, .ad = true, .mbec = false };

	return (c);
}

/*
 * Map gpa through a fresh chain: non-leaf entries get `upper`, the leaf
 * (at leaf_level, with PS when large) gets `leaf` and the page `page`.
 * Returns the EPTP (WB, A/D as asked).
 */
static uint64_t
chain(int levels, uint64_t gpa, int leaf_level, uint64_t upper,
    uint64_t leaf, uint64_t page, bool ad)
{
	uint64_t table = PG(1);

	(void) memset(mem, 0, sizeof (mem));
	(void) memset(slot, 0, sizeof (slot));
	for (int l = levels - 1; l >= leaf_level; l--) {
		unsigned idx = (unsigned)(gpa >> (12 + 9 * l)) & 511;
		uint64_t next = PG(2 + levels - 1 - l);

		slot[l] = table + (uint64_t)idx * 8;
		if (l == leaf_level)
			*at(slot[l]) = page | leaf | (l > 0 ? EPTREF_PS : 0);
		else
			*at(slot[l]) = next | upper;
		table = next;
	}
	return (EPTREF_EPTP_MAKE(PG(1), levels, ad, EPTREF_MT_WB));
}

static eptref_walk_t
walk(const eptref_cpu_t *c, uint64_t eptp, uint64_t gpa,
    eptref_access_t acc, bool user)
{
	eptref_walk_t w;

	(void) eptref_walk(c, eptp, rd, mem, gpa, acc, user, &w);
	return (w);
}

static eptref_entry_t
cls(const eptref_cpu_t *c, int level, uint64_t e)
{
	eptref_entry_t out;

	eptref_classify(c, level, e, &out);
	return (out);
}

/* A valid present entry for a level: a link, or a 4 KiB leaf at level 0. */
static uint64_t
good(int level)
{
	return (level == 0 ? EPTREF_R | EPTREF_MT(EPTREF_MT_WB) | PG(5) :
	    EPTREF_R | PG(5));
}

/* ---- classification ---- */

Test(eptref, not_present_each_level)
{
	eptref_cpu_t c = full_cpu();
	/* everything but bits 2:0 and bit 10: all ignored when not present */
	uint64_t junk = ~0ull & ~7ull & ~EPTREF_XU;

	for (int l = 0; l < EPTREF_MAXLEVELS; l++) {
		eptref_entry_t e = cls(&c, l, 0);

		cr_assert_eq(e.kind, EPTREF_NOTPRESENT, "level %d", l);
		cr_assert(!e.sve);
		e = cls(&c, l, junk);
		cr_assert_eq(e.kind, EPTREF_NOTPRESENT, "level %d", l);
		cr_assert(e.sve, "bit 63 of a not-present entry is kept");
		/* without MBEC bit 10 is ignored: still not present */
		e = cls(&c, l, junk | EPTREF_XU);
		cr_assert_eq(e.kind, EPTREF_NOTPRESENT, "level %d", l);
		c.mbec = true;
		e = cls(&c, l, junk);
		cr_assert_eq(e.kind, EPTREF_NOTPRESENT, "level %d mbec", l);
		c.mbec = false;
	}
}

Test(eptref, mbec_bit10_makes_present)
{
	eptref_cpu_t c = full_cpu();

	c.mbec = true;
	for (int l = 0; l < EPTREF_MAXLEVELS; l++) {
		uint64_t v = EPTREF_XU | PG(5) |
		    (l == 0 ? EPTREF_MT(EPTREF_MT_WB) : 0);
		eptref_entry_t e = cls(&c, l, v);

		cr_assert_eq(e.kind, l == 0 ? EPTREF_LEAF : EPTREF_LINK,
		    "level %d", l);
		cr_assert(e.xu && !e.r && !e.w && !e.x);
		/* user-execute-only is execute-only: needs the capability */
		c.xonly = false;
		e = cls(&c, l, v);
		cr_assert_eq(e.kind, EPTREF_MISCONFIG, "level %d", l);
		cr_assert_eq(e.mc, EPTREF_MC_XUONLY, "level %d mc %#x", l,
		    e.mc);
		c.xonly = true;
	}
}

Test(eptref, write_without_read)
{
	eptref_cpu_t c = full_cpu();

	for (int l = 0; l < EPTREF_MAXLEVELS; l++) {
		uint64_t base = good(l) & ~EPTREF_R;
		eptref_entry_t e = cls(&c, l, base | EPTREF_W);

		cr_assert_eq(e.kind, EPTREF_MISCONFIG, "level %d", l);
		cr_assert_eq(e.mc, EPTREF_MC_WNOR, "level %d", l);
		/* 110b: write/execute; with execute-only the W is the fault */
		e = cls(&c, l, base | EPTREF_W | EPTREF_X);
		cr_assert_eq(e.mc, EPTREF_MC_WNOR, "level %d", l);
		c.xonly = false;
		e = cls(&c, l, base | EPTREF_W | EPTREF_X);
		cr_assert_eq(e.mc, EPTREF_MC_WNOR | EPTREF_MC_XONLY,
		    "level %d", l);
		c.xonly = true;
		/* 011b is fine */
		e = cls(&c, l, base | EPTREF_R | EPTREF_W);
		cr_assert_eq(e.mc, 0, "level %d", l);
	}
}

Test(eptref, execute_only_capability)
{
	eptref_cpu_t c = full_cpu();

	for (int l = 0; l < EPTREF_MAXLEVELS; l++) {
		uint64_t v = (good(l) & ~EPTREF_R) | EPTREF_X;
		eptref_entry_t e = cls(&c, l, v);

		cr_assert_eq(e.kind, l == 0 ? EPTREF_LEAF : EPTREF_LINK);
		cr_assert(e.x && !e.r && !e.w);
		c.xonly = false;
		e = cls(&c, l, v);
		cr_assert_eq(e.kind, EPTREF_MISCONFIG, "level %d", l);
		cr_assert_eq(e.mc, EPTREF_MC_XONLY, "level %d", l);
		/* with read, execute never needs the capability */
		e = cls(&c, l, v | EPTREF_R);
		cr_assert_eq(e.mc, 0, "level %d", l);
		c.xonly = true;
	}
}

Test(eptref, address_bits_above_maxphyaddr)
{
	static const unsigned widths[] = { 36, 39, 40, 46, 48, 52 };

	for (size_t i = 0; i < sizeof (widths) / sizeof (widths[0]); i++) {
		eptref_cpu_t c = full_cpu();
		unsigned n = widths[i];

		c.maxphyaddr = n;
		for (int l = 0; l < EPTREF_MAXLEVELS; l++) {
			/* the top address bit the processor has is fine */
			eptref_entry_t e = cls(&c, l, good(l) |
			    (1ull << (n - 1)));

			cr_assert_eq(e.mc, 0, "N %u level %d", n, l);
			cr_assert_eq(e.addr, PG(5) | (1ull << (n - 1)));
			for (unsigned b = n; b <= 51; b++) {
				e = cls(&c, l, good(l) | (1ull << b));
				cr_assert_eq(e.kind, EPTREF_MISCONFIG,
				    "N %u level %d bit %u", n, l, b);
				cr_assert_eq(e.mc, EPTREF_MC_ADDR);
			}
		}
	}
}

Test(eptref, nonleaf_reserved_bits)
{
	eptref_cpu_t c = full_cpu();

	for (int l = 1; l < EPTREF_MAXLEVELS; l++) {
		for (int b = 3; b <= 6; b++) {
			eptref_entry_t e = cls(&c, l, good(l) | (1ull << b));

			cr_assert_eq(e.kind, EPTREF_MISCONFIG, "level %d", l);
			cr_assert_eq(e.mc, EPTREF_MC_RSVD, "level %d bit %d",
			    l, b);
		}
	}
	/* bit 7 of a PML4E or PML5E: never a page */
	for (int l = 3; l < EPTREF_MAXLEVELS; l++) {
		eptref_entry_t e = cls(&c, l, good(l) | EPTREF_PS);

		cr_assert_eq(e.kind, EPTREF_MISCONFIG);
		cr_assert_eq(e.mc, EPTREF_MC_PS_TOP, "level %d", l);
	}
	/* several reasons at once are all reported */
	eptref_entry_t e = cls(&c, 1, EPTREF_W | PG(5) | (1ull << 50) |
	    (1ull << 4));
	cr_assert_eq(e.mc, EPTREF_MC_WNOR | EPTREF_MC_ADDR | EPTREF_MC_RSVD);
}

Test(eptref, ignored_bits)
{
	eptref_cpu_t c = full_cpu();
	/* 11:8 and 62:52 (and 63 in a non-leaf) mean nothing here */
	uint64_t ign = (0xfull << 8) | (0x7ffull << 52);

	for (int l = 0; l < EPTREF_MAXLEVELS; l++) {
		eptref_entry_t e = cls(&c, l, good(l) | ign | EPTREF_SVE);

		cr_assert_eq(e.kind, l == 0 ? EPTREF_LEAF : EPTREF_LINK,
		    "level %d", l);
		cr_assert_eq(e.addr, PG(5));
	}
	/* bit 7 of a PTE is ignored: still a 4 KiB leaf */
	eptref_entry_t e = cls(&c, 0, good(0) | EPTREF_PS);
	cr_assert_eq(e.kind, EPTREF_LEAF);
	cr_assert_eq(e.size, PG(1));
}

Test(eptref, large_pages_supported_or_not)
{
	eptref_cpu_t c = full_cpu();
	uint64_t mt = EPTREF_MT(EPTREF_MT_WB);
	eptref_entry_t e;

	e = cls(&c, 1, EPTREF_R | mt | EPTREF_PS | (3ull << 21));
	cr_assert_eq(e.kind, EPTREF_LEAF);
	cr_assert_eq(e.size, 1ull << 21);
	cr_assert_eq(e.addr, 3ull << 21);
	e = cls(&c, 2, EPTREF_R | mt | EPTREF_PS | (3ull << 30));
	cr_assert_eq(e.kind, EPTREF_LEAF);
	cr_assert_eq(e.size, 1ull << 30);
	cr_assert_eq(e.addr, 3ull << 30);

	c.page_2m = false;
	e = cls(&c, 1, EPTREF_R | mt | EPTREF_PS | (3ull << 21));
	cr_assert_eq(e.kind, EPTREF_MISCONFIG);
	cr_assert_eq(e.mc, EPTREF_MC_PS_UNSUP);
	/* the 1 GiB capability is separate */
	e = cls(&c, 2, EPTREF_R | mt | EPTREF_PS | (3ull << 30));
	cr_assert_eq(e.kind, EPTREF_LEAF);
	c.page_1g = false;
	e = cls(&c, 2, EPTREF_R | mt | EPTREF_PS | (3ull << 30));
	cr_assert_eq(e.kind, EPTREF_MISCONFIG);
	cr_assert_eq(e.mc, EPTREF_MC_PS_UNSUP);
}

Test(eptref, large_page_reserved_address_bits)
{
	eptref_cpu_t c = full_cpu();
	uint64_t base = EPTREF_R | EPTREF_MT(EPTREF_MT_WB) | EPTREF_PS;
	eptref_entry_t e;

	for (int b = 12; b <= 20; b++) {
		e = cls(&c, 1, base | (1ull << 21) | (1ull << b));
		cr_assert_eq(e.kind, EPTREF_MISCONFIG, "2M bit %d", b);
		cr_assert_eq(e.mc, EPTREF_MC_LARGE_ADDR);
	}
	e = cls(&c, 1, base | (1ull << 21));
	cr_assert_eq(e.kind, EPTREF_LEAF);
	for (int b = 12; b <= 29; b++) {
		e = cls(&c, 2, base | (1ull << 30) | (1ull << b));
		cr_assert_eq(e.kind, EPTREF_MISCONFIG, "1G bit %d", b);
		cr_assert_eq(e.mc, EPTREF_MC_LARGE_ADDR);
	}
	e = cls(&c, 2, base | (1ull << 30));
	cr_assert_eq(e.kind, EPTREF_LEAF);
	/* and a large leaf still has the MAXPHYADDR rule */
	e = cls(&c, 2, base | (1ull << 47));
	cr_assert_eq(e.mc, EPTREF_MC_ADDR);
}

Test(eptref, leaf_memory_types)
{
	eptref_cpu_t c = full_cpu();

	for (int l = 0; l <= 2; l++) {
		uint64_t base = EPTREF_R | (l > 0 ? EPTREF_PS : 0);

		for (unsigned mt = 0; mt < 8; mt++) {
			eptref_entry_t e = cls(&c, l, base | EPTREF_MT(mt));
			bool bad = mt == 2 || mt == 3 || mt == 7;

			cr_assert_eq(e.kind, bad ? EPTREF_MISCONFIG :
			    EPTREF_LEAF, "level %d type %u", l, mt);
			cr_assert_eq(e.mc, bad ? EPTREF_MC_MEMTYPE : 0u);
			cr_assert_eq(e.memtype, mt);
		}
	}
	/* in a link, 5:3 are reserved bits, not a memory type */
	eptref_entry_t e = cls(&c, 1, good(1) | EPTREF_MT(EPTREF_MT_WB));
	cr_assert_eq(e.mc, EPTREF_MC_RSVD);
	e = cls(&c, 1, good(1) | EPTREF_MT(2));
	cr_assert_eq(e.mc, EPTREF_MC_RSVD);
}

Test(eptref, leaf_decode)
{
	eptref_cpu_t c = full_cpu();
	uint64_t v = RWX | EPTREF_MT(EPTREF_MT_WP) | EPTREF_IPAT |
	    EPTREF_A | EPTREF_D | EPTREF_XU | EPTREF_SVE | 0x123456000ull;
	eptref_entry_t e = cls(&c, 0, v);

	cr_assert_eq(e.kind, EPTREF_LEAF);
	cr_assert_eq(e.addr, 0x123456000ull);
	cr_assert_eq(e.size, 4096);
	cr_assert(e.r && e.w && e.x && e.ipat && e.a && e.d && e.sve);
	cr_assert(!e.xu, "bit 10 means nothing without MBEC");
	cr_assert_eq(e.memtype, EPTREF_MT_WP);
	c.mbec = true;
	e = cls(&c, 0, v & ~EPTREF_X);
	cr_assert(e.xu && !e.x);
}

/* ---- EPTP ---- */

Test(eptref, eptp_checks)
{
	eptref_cpu_t c = full_cpu();
	eptref_walk_t w;

	cr_assert_eq(eptref_eptp_check(&c, EPTREF_EPTP_MAKE(PG(1), 4, 1,
	    EPTREF_MT_WB)), 0);
	cr_assert_eq(eptref_eptp_check(&c, EPTREF_EPTP_MAKE(PG(1), 5, 0,
	    EPTREF_MT_UC)), 0);
	cr_assert_eq(eptref_eptp_check(&c, EPTREF_EPTP_MAKE(PG(1), 3, 0,
	    EPTREF_MT_WB)), EPTREF_EPTP_BAD_PWL);
	cr_assert_eq(eptref_eptp_check(&c, EPTREF_EPTP_MAKE(PG(1), 4, 0,
	    EPTREF_MT_WC)), EPTREF_EPTP_BAD_MT);
	cr_assert_eq(eptref_eptp_check(&c, EPTREF_EPTP_MAKE(PG(1), 4, 0,
	    EPTREF_MT_WB) | (1ull << 8)), EPTREF_EPTP_BAD_RSVD);
	cr_assert_eq(eptref_eptp_check(&c, EPTREF_EPTP_MAKE(PG(1), 4, 0,
	    EPTREF_MT_WB) | (1ull << 7)), EPTREF_EPTP_BAD_RSVD);
	cr_assert_eq(eptref_eptp_check(&c, EPTREF_EPTP_MAKE(1ull << 46, 4, 0,
	    EPTREF_MT_WB)), EPTREF_EPTP_BAD_RSVD);
	c.walk5 = false;
	c.ad = false;
	cr_assert_eq(eptref_eptp_check(&c, EPTREF_EPTP_MAKE(PG(1), 5, 1,
	    EPTREF_MT_WB)), EPTREF_EPTP_BAD_PWL | EPTREF_EPTP_BAD_AD);
	(void) eptref_walk(&c, EPTREF_EPTP_MAKE(PG(1), 5, 1, EPTREF_MT_WB),
	    rd, mem, 0, EPTREF_ACC_READ, false, &w);
	cr_assert_eq(w.outcome, EPTREF_BAD_EPTP);
	cr_assert_eq(w.eptp_bad, EPTREF_EPTP_BAD_PWL | EPTREF_EPTP_BAD_AD);
	cr_assert_eq(w.nsteps, 0);
}

/* ---- walks ---- */

Test(eptref, walk4_4k)
{
	eptref_cpu_t c = full_cpu();
	/* PML4 index 1, PDPT 2, PD 3, PT 4, offset 0x567 */
	uint64_t gpa = (1ull << 39) | (2ull << 30) | (3ull << 21) |
	    (4ull << 12) | 0x567;
	uint64_t eptp = chain(4, gpa, 0, RWX, LEAF_WB, 0x3f000, false);
	eptref_walk_t w = walk(&c, eptp, gpa, EPTREF_ACC_READ, false);

	cr_assert_eq(w.outcome, EPTREF_OK);
	cr_assert_eq(w.hpa, 0x3f567);
	cr_assert_eq(w.page_size, 4096);
	cr_assert_eq(w.nsteps, 4);
	/* root page 1 index 1, then pages 2, 3, 4 at indexes 2, 3, 4 */
	cr_assert_eq(w.steps[0].addr, 0x1008);
	cr_assert_eq(w.steps[1].addr, 0x2010);
	cr_assert_eq(w.steps[2].addr, 0x3018);
	cr_assert_eq(w.steps[3].addr, 0x4020);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(w.steps[i].level, 3 - i);
		cr_assert_eq(w.steps[i].val, *at(w.steps[i].addr));
	}
	cr_assert_eq(w.steps[3].val, 0x3f000 | LEAF_WB);
	cr_assert(w.reached_leaf);
	cr_assert_eq(w.leaf.memtype, EPTREF_MT_WB);
	cr_assert_eq(w.set[0] | w.set[3], 0, "A/D off: nothing set");
}

Test(eptref, walk_2m_and_1g)
{
	eptref_cpu_t c = full_cpu();
	uint64_t gpa = (5ull << 30) | (7ull << 21) | 0x12345;
	uint64_t eptp = chain(4, gpa, 1, RWX, LEAF_WB, 9ull << 21, false);
	eptref_walk_t w = walk(&c, eptp, gpa, EPTREF_ACC_WRITE, false);

	cr_assert_eq(w.outcome, EPTREF_OK);
	cr_assert_eq(w.hpa, (9ull << 21) | 0x12345);
	cr_assert_eq(w.page_size, 1ull << 21);
	cr_assert_eq(w.nsteps, 3);

	gpa = (5ull << 30) | 0x2345678;
	eptp = chain(4, gpa, 2, RWX, LEAF_WB, 3ull << 30, false);
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, false);
	cr_assert_eq(w.outcome, EPTREF_OK);
	cr_assert_eq(w.hpa, (3ull << 30) | 0x2345678);
	cr_assert_eq(w.page_size, 1ull << 30);
	cr_assert_eq(w.nsteps, 2);

	/* the same tables on a processor without the sizes */
	c.page_1g = false;
	w = walk(&c, eptp, gpa, EPTREF_ACC_READ, false);
	cr_assert_eq(w.outcome, EPTREF_MISCONF);
	cr_assert_eq(w.mc, EPTREF_MC_PS_UNSUP);
	cr_assert_eq(w.stop_level, 2);
	/* a large leaf with a low address bit set */
	c.page_1g = true;
	*at(slot[2]) |= 1ull << 29;
	w = walk(&c, eptp, gpa, EPTREF_ACC_READ, false);
	cr_assert_eq(w.outcome, EPTREF_MISCONF);
	cr_assert_eq(w.mc, EPTREF_MC_LARGE_ADDR);
}

Test(eptref, walk5)
{
	eptref_cpu_t c = full_cpu();
	/* PML5 index 1 (bit 48), PML4 index 2, 4 KiB page 0x11 */
	uint64_t gpa = (1ull << 48) | (2ull << 39) | (0x11ull << 12) | 0xabc;
	uint64_t eptp;
	eptref_walk_t w;

	c.maxphyaddr = 52;
	eptp = chain(5, gpa, 0, RWX, LEAF_WB, PG(40), false);
	w = walk(&c, eptp, gpa, EPTREF_ACC_READ, false);
	cr_assert_eq(w.outcome, EPTREF_OK);
	cr_assert_eq(w.nsteps, 5);
	cr_assert_eq(w.steps[0].level, 4);
	cr_assert_eq(w.steps[0].addr, 0x1008);
	cr_assert_eq(w.steps[1].addr, 0x2010);
	cr_assert_eq(w.steps[4].addr, PG(5) + 0x11 * 8);
	cr_assert_eq(w.hpa, PG(40) | 0xabc);
	cr_assert_eq(w.gpa, gpa);
	/* bit 51 too: PML5 index 9, nothing there */
	w = walk(&c, eptp, gpa | (1ull << 51), EPTREF_ACC_READ, false);
	cr_assert_eq(w.outcome, EPTREF_VIOLATION);
	cr_assert_eq(w.steps[0].addr, 0x1000 + 8 * 9);
	cr_assert_eq(w.stop_level, 4);
}

Test(eptref, gpa_width)
{
	eptref_cpu_t c = full_cpu();
	uint64_t gpa = (3ull << 39) | 0x5123;
	uint64_t eptp = chain(4, gpa, 0, RWX, LEAF_WB, PG(30), false);
	eptref_walk_t w;

	/* MAXPHYADDR 46: a guest cannot produce bit 46 */
	w = walk(&c, eptp, gpa | (1ull << 46), EPTREF_ACC_READ, false);
	cr_assert_eq(w.outcome, EPTREF_BAD_GPA);
	cr_assert_eq(w.nsteps, 0);
	w = walk(&c, eptp, gpa | (1ull << 45), EPTREF_ACC_READ, false);
	cr_assert_eq(w.outcome, EPTREF_VIOLATION, "bit 45 is a PML4 index");
	/* MAXPHYADDR 52 with 4 levels: bits 51:48 are not used */
	c.maxphyaddr = 52;
	for (int b = 48; b <= 51; b++) {
		w = walk(&c, eptp, gpa | (1ull << b), EPTREF_ACC_READ, false);
		cr_assert_eq(w.outcome, EPTREF_OK, "bit %d", b);
		cr_assert_eq(w.gpa, gpa);
		cr_assert_eq(w.hpa, PG(30) | 0x123);
	}
	w = walk(&c, eptp, gpa | (1ull << 52), EPTREF_ACC_READ, false);
	cr_assert_eq(w.outcome, EPTREF_BAD_GPA);
}

Test(eptref, walk_not_present_each_level)
{
	eptref_cpu_t c = full_cpu();
	uint64_t gpa = (1ull << 48) | (1ull << 39) | (1ull << 30) |
	    (1ull << 21) | (1ull << 12);

	c.maxphyaddr = 52;
	for (int l = 4; l >= 0; l--) {
		uint64_t eptp = chain(5, gpa, 0, RWX, LEAF_WB, PG(50), false);
		eptref_walk_t w;

		/* no permission, a stale address: still "not present" */
		*at(slot[l]) = PG(60) | EPTREF_SVE | EPTREF_XU;
		w = walk(&c, eptp, gpa, EPTREF_ACC_WRITE, false);
		cr_assert_eq(w.outcome, EPTREF_VIOLATION, "level %d", l);
		cr_assert_eq(w.stop_level, l);
		cr_assert_eq(w.nsteps, 5 - l);
		/* bits 6:3 all 0: a not-present entry allows nothing */
		cr_assert_eq(w.qual, EPTREF_Q_WRITE, "level %d qual %#llx", l,
		    (unsigned long long)w.qual);
		cr_assert(w.sve);
		cr_assert(!w.reached_leaf);
		*at(slot[l]) = PG(60);
		w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, false);
		cr_assert_eq(w.qual, EPTREF_Q_FETCH);
		cr_assert(!w.sve);
	}
}

Test(eptref, exit_qualification_bits)
{
	eptref_cpu_t c = full_cpu();
	uint64_t gpa = 0x7000;
	uint64_t eptp = chain(4, gpa, 0, RWX, EPTREF_MT(EPTREF_MT_WB),
	    PG(20), false);
	eptref_walk_t w;

	/* execute-only leaf: a read reports bit 0 and "executable" */
	*at(slot[0]) = PG(20) | EPTREF_X | EPTREF_MT(EPTREF_MT_WB);
	w = walk(&c, eptp, gpa, EPTREF_ACC_READ, false);
	cr_assert_eq(w.outcome, EPTREF_VIOLATION);
	cr_assert_eq(w.qual, EPTREF_Q_READ | EPTREF_Q_X);
	cr_assert(w.reached_leaf);
	cr_assert_eq(w.hpa, 0);
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, false);
	cr_assert_eq(w.outcome, EPTREF_OK);

	/* read/execute leaf: a write reports bits 1, 3, 5 */
	*at(slot[0]) = PG(20) | EPTREF_R | EPTREF_X |
	    EPTREF_MT(EPTREF_MT_WB);
	w = walk(&c, eptp, gpa, EPTREF_ACC_WRITE, false);
	cr_assert_eq(w.qual, EPTREF_Q_WRITE | EPTREF_Q_R | EPTREF_Q_X);

	/* read/write leaf: a fetch reports bits 2, 3, 4 */
	*at(slot[0]) = PG(20) | EPTREF_R | EPTREF_W |
	    EPTREF_MT(EPTREF_MT_WB);
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, false);
	cr_assert_eq(w.qual, EPTREF_Q_FETCH | EPTREF_Q_R | EPTREF_Q_W);
	/* bit 6 is 0 without MBEC even with bit 10 everywhere */
	for (int l = 0; l < 4; l++)
		*at(slot[l]) |= EPTREF_XU;
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, true);
	cr_assert_eq(w.qual, EPTREF_Q_FETCH | EPTREF_Q_R | EPTREF_Q_W);
}

Test(eptref, permissions_are_anded_along_the_walk)
{
	eptref_cpu_t c = full_cpu();
	uint64_t gpa = 0x40201000;
	uint64_t eptp = chain(4, gpa, 0, RWX, LEAF_WB, PG(20), false);
	eptref_walk_t w;

	/* the PML4E forbids writes; the leaf allows them */
	*at(slot[3]) &= ~EPTREF_W;
	w = walk(&c, eptp, gpa, EPTREF_ACC_WRITE, false);
	cr_assert_eq(w.outcome, EPTREF_VIOLATION);
	cr_assert_eq(w.qual, EPTREF_Q_WRITE | EPTREF_Q_R | EPTREF_Q_X);
	cr_assert(w.leaf.w, "the leaf alone would allow it");
	w = walk(&c, eptp, gpa, EPTREF_ACC_READ, false);
	cr_assert_eq(w.outcome, EPTREF_OK);

	/* an execute-only PDE: fetches pass, reads do not */
	*at(slot[3]) |= EPTREF_W;
	*at(slot[1]) = (*at(slot[1]) & ~RWX) | EPTREF_X;
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, false);
	cr_assert_eq(w.outcome, EPTREF_OK);
	w = walk(&c, eptp, gpa, EPTREF_ACC_READ, false);
	cr_assert_eq(w.qual, EPTREF_Q_READ | EPTREF_Q_X);
	/* without the capability that PDE is a misconfiguration instead */
	c.xonly = false;
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, false);
	cr_assert_eq(w.outcome, EPTREF_MISCONF);
	cr_assert_eq(w.mc, EPTREF_MC_XONLY);
	cr_assert_eq(w.stop_level, 1);
	cr_assert_eq(w.nsteps, 3);
}

Test(eptref, misconfiguration_beats_violation)
{
	eptref_cpu_t c = full_cpu();
	uint64_t gpa = 0x40201000;
	uint64_t eptp = chain(4, gpa, 0, EPTREF_R, EPTREF_R | EPTREF_W |
	    EPTREF_MT(2), PG(20), false);
	eptref_walk_t w;

	/* the PML4E already forbids the write, but the leaf is invalid */
	w = walk(&c, eptp, gpa, EPTREF_ACC_WRITE, false);
	cr_assert_eq(w.outcome, EPTREF_MISCONF);
	cr_assert_eq(w.mc, EPTREF_MC_MEMTYPE);
	cr_assert_eq(w.stop_level, 0);
	cr_assert_eq(w.qual, 0);

	/* a reserved bit in a PDPTE stops the walk there */
	*at(slot[2]) |= 1ull << 3;
	w = walk(&c, eptp, gpa, EPTREF_ACC_READ, false);
	cr_assert_eq(w.outcome, EPTREF_MISCONF);
	cr_assert_eq(w.mc, EPTREF_MC_RSVD);
	cr_assert_eq(w.stop_level, 2);
	cr_assert_eq(w.nsteps, 2);

	/* a link address above MAXPHYADDR (46) */
	*at(slot[2]) &= ~(1ull << 3);
	*at(slot[1]) |= 1ull << 47;
	w = walk(&c, eptp, gpa, EPTREF_ACC_READ, false);
	cr_assert_eq(w.outcome, EPTREF_MISCONF);
	cr_assert_eq(w.mc, EPTREF_MC_ADDR);
	cr_assert_eq(w.stop_level, 1);
}

Test(eptref, walk_memory_types)
{
	eptref_cpu_t c = full_cpu();
	uint64_t gpa = 0x200000;

	for (unsigned mt = 0; mt < 8; mt++) {
		bool bad = mt == 2 || mt == 3 || mt == 7;

		for (int l = 0; l <= 2; l++) {
			uint64_t eptp = chain(4, gpa, l, RWX, RWX |
			    EPTREF_MT(mt), 0, false);
			eptref_walk_t w = walk(&c, eptp, gpa, EPTREF_ACC_READ,
			    false);

			cr_assert_eq(w.outcome, bad ? EPTREF_MISCONF :
			    EPTREF_OK, "type %u level %d", mt, l);
			if (!bad)
				cr_assert_eq(w.leaf.memtype, mt);
		}
	}
}

Test(eptref, mbec_user_and_supervisor_execute)
{
	eptref_cpu_t c = full_cpu();
	uint64_t gpa = 0x40201000;
	uint64_t all = RWX | EPTREF_XU;
	uint64_t eptp = chain(4, gpa, 0, all, all | EPTREF_MT(EPTREF_MT_WB),
	    PG(20), false);
	eptref_walk_t w;

	c.mbec = true;
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, true);
	cr_assert_eq(w.outcome, EPTREF_OK);
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, false);
	cr_assert_eq(w.outcome, EPTREF_OK);

	/* the PDE drops user execute: user fetches fault, bit 6 clear */
	*at(slot[1]) &= ~EPTREF_XU;
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, true);
	cr_assert_eq(w.outcome, EPTREF_VIOLATION);
	cr_assert_eq(w.qual, EPTREF_Q_FETCH | EPTREF_Q_R | EPTREF_Q_W |
	    EPTREF_Q_X);
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, false);
	cr_assert_eq(w.outcome, EPTREF_OK);

	/* now supervisor execute instead: bit 5 clear, bit 6 set */
	*at(slot[1]) = (*at(slot[1]) | EPTREF_XU) & ~EPTREF_X;
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, false);
	cr_assert_eq(w.outcome, EPTREF_VIOLATION);
	cr_assert_eq(w.qual, EPTREF_Q_FETCH | EPTREF_Q_R | EPTREF_Q_W |
	    EPTREF_Q_XU);
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, true);
	cr_assert_eq(w.outcome, EPTREF_OK);
	/* a data read reports both execute ANDs */
	*at(slot[0]) &= ~EPTREF_R & ~EPTREF_W;
	w = walk(&c, eptp, gpa, EPTREF_ACC_READ, false);
	cr_assert_eq(w.qual, EPTREF_Q_READ | EPTREF_Q_XU);

	/* without MBEC bit 2 decides for user fetches too */
	c.mbec = false;
	*at(slot[0]) |= EPTREF_R;
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, true);
	cr_assert_eq(w.outcome, EPTREF_VIOLATION);
	cr_assert_eq(w.qual, EPTREF_Q_FETCH | EPTREF_Q_R);
	/* ... and allows them with bit 2 everywhere, bit 10 or not */
	*at(slot[1]) = (*at(slot[1]) | EPTREF_X) & ~EPTREF_XU;
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, true);
	cr_assert_eq(w.outcome, EPTREF_OK);
}

Test(eptref, accessed_dirty_only_when_enabled)
{
	eptref_cpu_t c = full_cpu();
	uint64_t gpa = (1ull << 30) | (1ull << 21);
	uint64_t eptp = chain(4, gpa, 1, RWX, LEAF_WB, 1ull << 21, true);
	eptref_walk_t w;

	w = walk(&c, eptp, gpa, EPTREF_ACC_READ, false);
	cr_assert_eq(w.outcome, EPTREF_OK);
	cr_assert_eq(w.nsteps, 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(w.set[i], EPTREF_A, "step %d", i);
	w = walk(&c, eptp, gpa, EPTREF_ACC_WRITE, false);
	cr_assert_eq(w.set[0], EPTREF_A);
	cr_assert_eq(w.set[1], EPTREF_A);
	cr_assert_eq(w.set[2], EPTREF_A | EPTREF_D);
	w = walk(&c, eptp, gpa, EPTREF_ACC_FETCH, false);
	cr_assert_eq(w.set[2], EPTREF_A);

	/* the same walk with EPTP bit 6 clear sets nothing */
	w = walk(&c, eptp & ~EPTREF_EPTP_AD, gpa, EPTREF_ACC_WRITE, false);
	cr_assert_eq(w.outcome, EPTREF_OK);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(w.set[i], 0);
	/* nor does a violation, enabled or not */
	*at(slot[1]) &= ~EPTREF_W;
	w = walk(&c, eptp, gpa, EPTREF_ACC_WRITE, false);
	cr_assert_eq(w.outcome, EPTREF_VIOLATION);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(w.set[i], 0);
}

Test(eptref, guest_paging_structure_access)
{
	eptref_cpu_t c = full_cpu();
	uint64_t gpa = 0x9000;
	uint64_t leaf_r = EPTREF_R | EPTREF_MT(EPTREF_MT_WB);
	uint64_t eptp = chain(4, gpa, 0, RWX, leaf_r, PG(20), true);
	eptref_walk_t w;

	/* A/D on: a guest page-table read is a write for EPT */
	w = walk(&c, eptp, gpa, EPTREF_ACC_GUEST_PT, false);
	cr_assert_eq(w.outcome, EPTREF_VIOLATION);
	cr_assert_eq(w.qual, EPTREF_Q_READ | EPTREF_Q_WRITE | EPTREF_Q_R);
	/* A/D off: a plain read */
	w = walk(&c, eptp & ~EPTREF_EPTP_AD, gpa, EPTREF_ACC_GUEST_PT,
	    false);
	cr_assert_eq(w.outcome, EPTREF_OK);
	cr_assert_eq(w.set[3], 0);
	/* ... whose violation reports only the read bit */
	*at(slot[0]) = PG(20) | EPTREF_X | EPTREF_MT(EPTREF_MT_WB);
	w = walk(&c, eptp & ~EPTREF_EPTP_AD, gpa, EPTREF_ACC_GUEST_PT,
	    false);
	cr_assert_eq(w.qual, EPTREF_Q_READ | EPTREF_Q_X);
	/* a PAE PDPTE load stays a read and never dirties */
	*at(slot[0]) = PG(20) | leaf_r;
	w = walk(&c, eptp, gpa, EPTREF_ACC_PDPTE_LOAD, false);
	cr_assert_eq(w.outcome, EPTREF_OK);
	cr_assert_eq(w.set[3], EPTREF_A);
	/* with write permission the guest page-table access dirties */
	*at(slot[0]) |= EPTREF_W;
	w = walk(&c, eptp, gpa, EPTREF_ACC_GUEST_PT, false);
	cr_assert_eq(w.outcome, EPTREF_OK);
	cr_assert_eq(w.set[3], EPTREF_A | EPTREF_D);
	cr_assert_eq(w.set[0], EPTREF_A);
}

Test(eptref, suppress_ve_of_the_deciding_entry)
{
	eptref_cpu_t c = full_cpu();
	uint64_t gpa = 0x9000;
	uint64_t eptp = chain(4, gpa, 0, RWX | EPTREF_SVE, EPTREF_R |
	    EPTREF_MT(EPTREF_MT_WB), PG(20), false);
	eptref_walk_t w;

	/* bit 63 of links is ignored; the leaf's is clear */
	w = walk(&c, eptp, gpa, EPTREF_ACC_WRITE, false);
	cr_assert_eq(w.outcome, EPTREF_VIOLATION);
	cr_assert(!w.sve);
	*at(slot[0]) |= EPTREF_SVE;
	w = walk(&c, eptp, gpa, EPTREF_ACC_WRITE, false);
	cr_assert(w.sve);
	w = walk(&c, eptp, gpa, EPTREF_ACC_READ, false);
	cr_assert_eq(w.outcome, EPTREF_OK);
}

Test(eptref, read_failure)
{
	eptref_cpu_t c = full_cpu();
	eptref_walk_t w;

	(void) memset(mem, 0, sizeof (mem));
	w = walk(&c, EPTREF_EPTP_MAKE(PG(NPAGES), 4, 0, EPTREF_MT_WB), 0,
	    EPTREF_ACC_READ, false);
	cr_assert_eq(w.outcome, EPTREF_READ_FAIL);
	cr_assert_eq(w.nsteps, 0);
}

/* ---- memory typing ---- */

Test(eptref, effective_memory_type)
{
	static const unsigned types[] = { EPTREF_MT_UC, EPTREF_MT_WC,
	    EPTREF_MT_WT, EPTREF_MT_WP, EPTREF_MT_WB };

	/* ignore-PAT: the EPT type, whatever the PAT says */
	for (size_t i = 0; i < 5; i++) {
		cr_assert_eq(eptref_memtype(types[i], true, EPTREF_MT_UC,
		    false), types[i]);
		cr_assert_eq(eptref_memtype(types[i], true, EPTREF_MT_WB,
		    false), types[i]);
		/* CR0.CD: UC */
		cr_assert_eq(eptref_memtype(types[i], true, EPTREF_MT_WB,
		    true), EPTREF_MT_UC);
		/* WB in the PAT (or guest paging off) keeps the EPT type */
		cr_assert_eq(eptref_memtype(types[i], false, EPTREF_MT_WB,
		    false), types[i]);
		/* WC in the PAT wins over every range type */
		cr_assert_eq(eptref_memtype(types[i], false, EPTREF_MT_WC,
		    false), EPTREF_MT_WC);
	}
	/* some rows of the SDM's combination table, by hand */
	cr_assert_eq(eptref_memtype(EPTREF_MT_WB, false, EPTREF_MT_UCM,
	    false), EPTREF_MT_UC);
	cr_assert_eq(eptref_memtype(EPTREF_MT_WC, false, EPTREF_MT_UCM,
	    false), EPTREF_MT_WC);
	cr_assert_eq(eptref_memtype(EPTREF_MT_WP, false, EPTREF_MT_UCM,
	    false), EPTREF_MT_WC);
	cr_assert_eq(eptref_memtype(EPTREF_MT_WT, false, EPTREF_MT_WP,
	    false), EPTREF_MT_WP);
	cr_assert_eq(eptref_memtype(EPTREF_MT_WC, false, EPTREF_MT_WT,
	    false), EPTREF_MT_UC);
	cr_assert_eq(eptref_memtype(EPTREF_MT_UC, false, EPTREF_MT_WB,
	    false), EPTREF_MT_UC);
	/* the paging structures use the EPTP's type */
	cr_assert_eq(eptref_pt_memtype(EPTREF_EPTP_MAKE(0, 4, 0,
	    EPTREF_MT_WB), false), EPTREF_MT_WB);
	cr_assert_eq(eptref_pt_memtype(EPTREF_EPTP_MAKE(0, 4, 0,
	    EPTREF_MT_WB), true), EPTREF_MT_UC);
}
