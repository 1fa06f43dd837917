/*
 * test_mmu_ept.c - every EPT entry rule of mmu.h / mmu.c against the
 * independent reference (tests/lib/eptref.c, written from the SDM without
 * the library's headers).
 *
 * For each EPT mode, each setting of the context's HT_EPT_* flags, several
 * MAXPHYADDRs and page-size sets, at every level: a valid link and a valid
 * leaf of every attribute set, each with every single bit flipped, and
 * random entries, are read both ways.  The library's reading (pte_valid,
 * pte_reserved, leaf or link, pte_pa, ept_eff's rights, pte_attr's memory
 * type, IPAT, A/D and user-execute) must be the reference's
 * (eptref_classify).  Then what the library writes: every attribute set
 * mmu_attr_check accepts builds (mkpte_slow, and mkpte's tables) a leaf
 * the reference takes with exactly those rights and that type, every set
 * it refuses for the CPU's sake would be a misconfigured or not-present
 * entry, and a split
 * (pte_demote) keeps everything but the size.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "htable.h"
#include "mmu.h"
#include "eptref.h"
#include "rng.h"

static const ht_mode_t emodes[] = { HT_MODE_EPT4, HT_MODE_EPT5 };
static const unsigned maxphys[] = { 36, 39, 46, 52 };
static const unsigned psets[] = {
	HT_PS_4K | HT_PS_2M | HT_PS_1G, HT_PS_4K | HT_PS_2M, HT_PS_4K
};

#define N(a)	(sizeof (a) / sizeof ((a)[0]))

/* The reference CPU for an mmu_init of these flags and sizes. */
static eptref_cpu_t
ref_cpu(unsigned ept, unsigned maxphy, unsigned ps)
{
	eptref_cpu_t c;

	memset(&c, 0, sizeof (c));
	c.maxphyaddr = maxphy;
	c.xonly = (ept & HT_EPT_XONLY) != 0;
	c.walk5 = true;
	c.page_2m = (ps & HT_PS_2M) != 0;
	c.page_1g = (ps & HT_PS_1G) != 0;
	c.ad = true;
	c.mbec = (ept & HT_EPT_MBEC) != 0;
	return (c);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	return (rng_next(&rng));
}

/*
 * One entry read both ways; returns the number of disagreements (and
 * logs the first few).
 */
static unsigned long
compare(const mmu_t *m, const eptref_cpu_t *c, int level, uint64_t e)
{
	static unsigned logged;
	eptref_entry_t en;
	const unsigned all = HT_W | HT_X | HT_XU;
	unsigned bad = 0;

	eptref_classify(c, level, e, &en);
	if (pte_valid(m, e) != (en.kind != EPTREF_NOTPRESENT))
		bad |= 1;
	else if (en.kind != EPTREF_NOTPRESENT &&
	    pte_reserved(m, e, level) != (en.kind == EPTREF_MISCONFIG))
		bad |= 2;
	else if (en.kind == EPTREF_LINK || en.kind == EPTREF_LEAF) {
		int leaf = level == 0 || (e & PT_PAGESIZE);
		unsigned eff = ept_eff(m, all, e);

		if (leaf != (en.kind == EPTREF_LEAF))
			bad |= 4;
		else if (pte_pa(m, e, level) != en.addr)
			bad |= 8;
		else if (!!(eff & HT_W) != en.w || !!(eff & HT_X) != en.x ||
		    !!(eff & HT_XU) != en.xu || !(eff & HT_NOREAD) != en.r)
			bad |= 16;
		else if (leaf) {
			unsigned a = pte_attr(m, e, level);

			if (HT_EPT_MT_OF(a) != en.memtype ||
			    !!(a & HT_EPT_IPAT) != en.ipat ||
			    !!(a & HT_EPT_SVE) != en.sve ||
			    ((m->ept_flags & HT_EPT_AD) &&
			    (!!(a & HT_A) != en.a || !!(a & HT_D) != en.d)) ||
			    (!(m->ept_flags & HT_EPT_AD) &&
			    (a & (HT_A | HT_D))) ||
			    (a & (HT_W | HT_X | HT_XU | HT_NOREAD)) !=
			    (eff & (HT_W | HT_X | HT_XU | HT_NOREAD)))
				bad |= 32;
		}
	}
	if (bad != 0 && logged++ < 8)
		cr_log_error("%s ept 0x%x maxphy %u ps 0x%x level %d entry "
		    "0x%016llx: disagreement 0x%x (reference kind %d mc 0x%x)",
		    ht_mode_name(m->mode), m->ept_flags, m->pa_bits,
		    m->pagesizes, level, (unsigned long long)e, bad, en.kind,
		    en.mc);
	return (bad != 0);
}

/* The attribute sets within W U X G PWT PCD PAT NOREAD, and extras. */
static unsigned
attr_of(unsigned i)
{
	static const unsigned extra[] = {
		0, HT_EPT_SVE, HT_EPT_VGP | HT_EPT_PW, HT_A | HT_D | HT_SW(2)
	};

	return ((i & 0xff) | extra[(i >> 8) & 3]);
}

Test(mmu_ept, reading_every_bit_against_reference, .timeout = 120)
{
	unsigned long n = 0, bad = 0;

	for (unsigned mi = 0; mi < N(emodes); mi++)
	for (unsigned f = 0; f < 8; f++)
	for (unsigned pi = 0; pi < N(maxphys); pi++)
	for (unsigned si = 0; si < N(psets); si++) {
		mmu_t m;
		eptref_cpu_t c = ref_cpu(f, maxphys[pi], psets[si]);

		cr_assert_eq(mmu_init(&m, emodes[mi], psets[si], maxphys[pi],
		    MMU_EPT(f)), 0, "%s", ht_errdetail());
		for (int l = 0; l < m.num_level; l++) {
			uint64_t base[4];
			int nb = 0;
			uint64_t pa = (rnd() & m.paddr_mask) &
			    ~LEVEL_OFFSET(&m, l > 0 ? l : 0);

			if (l > 0)
				base[nb++] = mkptp(&m, pa >> 12, l);
			/* a leaf here, whether or not the level has them */
			base[nb++] = mkpte_slow(&m, pa, l, HT_W | HT_X |
			    HT_EPT_MT(HT_EPT_WB));
			base[nb++] = mkpte_slow(&m, pa, l, HT_EPT_MT(4) |
			    HT_EPT_IPAT | HT_EPT_SVE);
			base[nb++] = 0;
			for (int b = 0; b < nb; b++) {
				n++;
				bad += compare(&m, &c, l, base[b]);
				for (int bit = 0; bit < 64; bit++) {
					n++;
					bad += compare(&m, &c, l, base[b] ^
					    (1ull << bit));
				}
			}
			for (int k = 0; k < 400; k++) {
				/* random low bits over a valid address */
				uint64_t e = (rnd() & 0xfffull) |
				    (rnd() & (1ull << 63)) |
				    (rnd() % 4 == 0 ? rnd() : pa);

				n++;
				bad += compare(&m, &c, l, e);
			}
		}
	}
	cr_log_info("%lu entries read both ways", n);
	cr_assert_eq(bad, 0, "%lu of %lu entries read differently", bad, n);
}

Test(mmu_ept, writing_against_reference, .timeout = 120)
{
	unsigned long ok = 0, refused = 0;

	for (unsigned mi = 0; mi < N(emodes); mi++)
	for (unsigned f = 0; f < 8; f++)
	for (unsigned si = 0; si < N(psets); si++) {
		mmu_t m;
		eptref_cpu_t c = ref_cpu(f, 46, psets[si]);

		cr_assert_eq(mmu_init(&m, emodes[mi], psets[si], 46,
		    MMU_EPT(f)), 0);
		mmu_tables(&m);
		for (int l = 0; l < m.num_level; l++) {
			ht_pa_t pa = 0x123456789000ull & m.paddr_mask &
			    m.level_mask[l];

			if (!mmu_leaf_ok(&m, l))
				continue;
			for (unsigned i = 0; i < 1024; i++) {
				unsigned a = attr_of(i);
				x86pte_t e = mkpte_slow(&m, pa, l, a);
				eptref_entry_t en;

				cr_assert_eq(mkpte(&m, pa, l, a), e, "attr "
				    "0x%x level %d", a, l);
				eptref_classify(&c, l, e, &en);
				if (mmu_attr_check(&m, a, "t") != 0) {
					refused++;
					/*
					 * A bit the context lacks (XU without
					 * MBEC, A/D without A/D) is just not
					 * built; the rest is what the CPU
					 * would refuse.
					 */
					if (a & ~HT_SW_MASK & ~m.attr_map)
						continue;
					cr_assert_neq(en.kind, EPTREF_LEAF,
					    "attr 0x%x: refused, yet entry "
					    "0x%llx is a valid leaf", a,
					    (unsigned long long)e);
					continue;
				}
				ok++;
				cr_assert_eq(en.kind, EPTREF_LEAF, "%s ept 0x%x "
				    "attr 0x%x level %d: entry 0x%llx, mc "
				    "0x%x", ht_mode_name(m.mode), f, a, l,
				    (unsigned long long)e, en.mc);
				cr_assert_eq(en.addr, pa);
				cr_assert_eq(en.w, !!(a & HT_W));
				cr_assert_eq(en.x, !!(a & HT_X));
				cr_assert_eq(en.xu, !!(a & HT_XU));
				cr_assert_eq(en.r, !(a & HT_NOREAD));
				cr_assert_eq(en.memtype, HT_EPT_MT_OF(a));
				cr_assert_eq(en.ipat, !!(a & HT_EPT_IPAT));
				cr_assert_eq(en.sve, !!(a & HT_EPT_SVE));
				cr_assert_eq(!!(e & (1ull << 57)),
				    !!(a & HT_EPT_VGP));
				cr_assert_eq(!!(e & (1ull << 58)),
				    !!(a & HT_EPT_PW));
				if (f & HT_EPT_AD) {
					cr_assert_eq(en.a, !!(a & HT_A));
					cr_assert_eq(en.d, !!(a & HT_D));
				}
				/* read back: the same attributes */
				cr_assert_eq(pte_attr(&m, e, l) & ~HT_SW_MASK,
				    a & ~HT_SW_MASK, "attr 0x%x read as "
				    "0x%x", a, pte_attr(&m, e, l));
				if (l == 0)
					continue;
				/* split: every piece the same but its size */
				x86pte_t d = pte_demote(&m, e, l, pa +
				    LEVEL_SIZE(&m, l - 1));
				eptref_entry_t dn;

				eptref_classify(&c, l - 1, d, &dn);
				if (!mmu_leaf_ok(&m, l - 1))
					continue;
				cr_assert_eq(dn.kind, EPTREF_LEAF);
				cr_assert_eq(dn.addr, pa + LEVEL_SIZE(&m,
				    l - 1));
				cr_assert_eq(pte_attr(&m, d, l - 1),
				    pte_attr(&m, e, l));
			}
			/* the links the library makes */
			if (l > 0) {
				eptref_entry_t en;

				eptref_classify(&c, l, mkptp(&m, pa >> 12, l),
				    &en);
				cr_assert_eq(en.kind, EPTREF_LINK);
				cr_assert(en.r && en.w && en.x);
				cr_assert_eq(en.xu, (f & HT_EPT_MBEC) != 0);
			}
		}
	}
	cr_log_info("%lu attribute sets built, %lu refused", ok, refused);
	cr_assert_gt(ok, 1000);
	cr_assert_gt(refused, 1000);
}

/* mmu_init's refusals of EPT flags where they mean nothing. */
Test(mmu_ept, flags_refused)
{
	mmu_t m;

	cr_assert_eq(mmu_init(&m, HT_MODE_4LEVEL, 0, 0, MMU_EPT(HT_EPT_AD)),
	    -HT_EINVAL);
	cr_assert_eq(mmu_init(&m, HT_MODE_EPT4, 0, 0, MMU_EPT(0x8)),
	    -HT_EINVAL);
	cr_assert_eq(mmu_init(&m, HT_MODE_EPT5, 0, 0, MMU_NONX), -HT_EINVAL);
	cr_assert_eq(mmu_init(&m, HT_MODE_EPT5, 0, 0, 0), 0);
	cr_assert_eq(m.va_last, (1ull << 57) - 1);
	cr_assert_eq(m.has_hole, 0);
	cr_assert_eq(m.pt_present, 7);
	cr_assert_eq(m.pt_ref, 0);
	cr_assert_eq(m.pt_cached, 7, "no A/D: every present entry counts");
}
