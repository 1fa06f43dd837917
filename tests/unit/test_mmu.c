/*
 * test_mmu.c - unit tests of the geometry and the entry encodings
 * (mmu.c): the geometry of every mode, mode names, an entry's PA and
 * attributes at every level (PSE-36 included) and demotion, pte_attr's
 * table against a bit-by-bit decoding, the page size and physical width
 * combinations mmu_init refuses, and the table-driven mkpte against the
 * bit-by-bit one.
 */
#include <criterion/criterion.h>

#include "htable.h"
#include "mmu.h"

static const ht_mode_t modes[] = { HT_MODE_32BIT, HT_MODE_PAE,
    HT_MODE_4LEVEL, HT_MODE_5LEVEL, HT_MODE_NPT4, HT_MODE_NPT5 };
#define NMODES	((int)(sizeof (modes) / sizeof (modes[0])))

Test(mmu, geometry_of_every_mode)
{
	const ht_geometry_t *g = ht_geometry(HT_MODE_32BIT);
	cr_assert_eq(g->levels, 2);
	cr_assert_eq(g->pte_size, 4);
	cr_assert_eq(g->ptes_per_table, 1024);
	g = ht_geometry(HT_MODE_PAE);
	cr_assert_eq(g->top_level_count, 4);
	cr_assert_eq(g->pagesizes, HT_PS_4K | HT_PS_2M);
	g = ht_geometry(HT_MODE_5LEVEL);
	cr_assert_eq(g->level_shift[4], 48);
	cr_assert_eq(g->hole_start, 1ull << 56);
	cr_assert_eq(g->hole_end, 0xfeffffffffffffffull);
	cr_assert_null(ht_geometry((ht_mode_t)64));
	ht_mode_t mm;
	cr_assert_eq(ht_mode_parse("pae", &mm), 0);
	cr_assert_eq(mm, HT_MODE_PAE);
	cr_assert_eq(ht_mode_parse("6level", &mm), -HT_EINVAL);
}

Test(mmu, pte_roundtrip_every_level_and_pse36)
{
	for (int i = 0; i < NMODES; i++) {
		mmu_t m;
		cr_assert_eq(mmu_init(&m, modes[i], 0, 0, 0), 0);
		mmu_tables(&m);
		for (int l = 0; l <= m.max_page_level; l++) {
			if (!mmu_leaf_ok(&m, l))
				continue;
			ht_pa_t pa = (m.pa_limit - LEVEL_SIZE(&m, l)) &
			    LEVEL_MASK(&m, l);
			/* 4 KiB entries of 32-bit paging stop at 4 GiB */
			if (m.pte_size == 4)
				pa = 0xffffffffull & LEVEL_MASK(&m, l);
			x86pte_t pte = mkpte(&m, pa, l, HT_W | HT_U | HT_PAT |
			    HT_G);
			cr_assert_eq(pte_pa(&m, pte, l), pa, "mode %d level "
			    "%d: 0x%llx", i, l, (unsigned long long)pte);
			cr_assert_eq(pte & m.rsvd_leaf[l], 0);
			unsigned a = pte_attr(&m, pte, l);
			cr_assert_eq(a & (HT_W | HT_U | HT_PAT | HT_G),
			    HT_W | HT_U | HT_PAT | HT_G);
			cr_assert_eq(!!(a & HT_X), !m.pt_nx);
			if (l > 0) {
				x86pte_t d = pte_demote(&m, pte, l, pa +
				    LEVEL_SIZE(&m, l - 1));
				cr_assert_eq(pte_pa(&m, d, l - 1), pa +
				    LEVEL_SIZE(&m, l - 1));
				cr_assert_eq(pte_attr(&m, d, l - 1), a);
			}
		}
	}
	/* PSE-36: a 4 MiB page at 0xff_ffc0_0000 puts bits 32..39 in 13..20 */
	mmu_t m32;
	cr_assert_eq(mmu_init(&m32, HT_MODE_32BIT, 0, 40, 0), 0);
	mmu_tables(&m32);
	x86pte_t p = mkpte(&m32, 0xffffc00000ull, 1, 0);
	cr_assert_eq(p & 0x1fe000, 0x1fe000);
	cr_assert_eq(p >> 32, 0);
	cr_assert_eq(pte_pa(&m32, p, 1), 0xffffc00000ull);
}

/* pte_attr as the SDM's bit list reads, one test per bit (the reference) */
static unsigned
attr_by_bits(const mmu_t *m, x86pte_t pte, int level)
{
	static const struct { x86pte_t bit; unsigned attr; } b[] = {
		{ PT_WRITABLE, HT_W }, { PT_USER, HT_U },
		{ PT_WRITETHRU, HT_PWT }, { PT_NOCACHE, HT_PCD },
		{ PT_REF, HT_A }, { PT_MOD, HT_D }, { PT_GLOBAL, HT_G },
		{ PT_LOCKED, HT_LOCKED },
	};
	unsigned a = 0;

	for (size_t i = 0; i < sizeof (b) / sizeof (b[0]); i++)
		if (pte & b[i].bit)
			a |= b[i].attr;
	if (pte & (level == 0 ? PT_PAT_4K : PT_PAT_LARGE))
		a |= HT_PAT;
	for (int n = 0; n < 9; n++) {
		int bit = n < 2 ? 10 + n : 52 + n - 2;

		if ((pte >> bit) & 1)
			a |= HT_SW(n) & m->sw_attr;
	}
	if (!(pte & m->pt_nx))
		a |= HT_X;
	return (a);
}

Test(mmu, attr_table_matches_bits)
{
	for (int i = 0; i < NMODES; i++) {
		for (int no_nx = 0; no_nx < 2; no_nx++) {
			mmu_t m;

			cr_assert_eq(mmu_init(&m, modes[i], 0, 0, no_nx), 0);
			/* every low 13 bits, with and without the high ones */
			for (x86pte_t lo = 0; lo < 0x2000; lo++) {
				for (int hi = 0; hi < 3; hi++) {
					x86pte_t pte = lo | (hi == 1 ? PT_NX |
					    PT_SW_HI : hi == 2 ?
					    0x0150000000000000ull : 0);

					for (int l = 0; l < 3; l++)
						cr_assert_eq(pte_attr(&m, pte,
						    l), attr_by_bits(&m, pte,
						    l), "mode %d level %d pte "
						    "0x%llx", i, l,
						    (unsigned long long)pte);
				}
			}
		}
	}
}

Test(mmu, bad_configs)
{
	mmu_t m;
	cr_assert_eq(mmu_init(&m, HT_MODE_PAE, HT_PS_1G, 0, 0), -HT_EPAGESIZE);
	cr_assert_eq(mmu_init(&m, HT_MODE_4LEVEL, HT_PS_2M, 0, 0),
	    -HT_EPAGESIZE);
	cr_assert_eq(mmu_init(&m, HT_MODE_32BIT, 0, 41, 0), -HT_EINVAL);
	cr_assert_eq(mmu_init(&m, HT_MODE_4LEVEL, 0, 31, 0), -HT_EINVAL);
	/* 1 GiB pages split into 2 MiB ones: the set must have both */
	cr_assert_eq(mmu_init(&m, HT_MODE_4LEVEL, HT_PS_4K | HT_PS_1G, 0, 0),
	    -HT_EPAGESIZE);
	cr_assert_eq(mmu_init(&m, HT_MODE_4LEVEL, HT_PS_4K | HT_PS_2M |
	    HT_PS_1G, 0, 0), 0);
	cr_assert_eq(m.leaf_levels, 0x7u);
	cr_assert_eq(m.max_page_level, 2);
	cr_assert_eq(mmu_init(&m, HT_MODE_4LEVEL, HT_PS_4K | HT_PS_2M, 0, 0),
	    0);
	cr_assert_eq(m.leaf_levels, 0x3u);
	cr_assert_eq(m.max_page_level, 1);
}

/*
 * The table-driven mkpte (m->enc, mmu_tables) builds exactly what the
 * bit-by-bit mkpte_slow builds: every attribute combination of the low
 * byte, with A, D and software bits, at every leaf level of every mode,
 * without NX and with KPTI's global bit dropped (the tables made again).
 */
Test(mmu, mkpte_table_matches_slow)
{
	static const unsigned extra[] = { 0, HT_A, HT_D, HT_A | HT_D,
	    HT_SW(1), HT_SW(3) | HT_A, HT_SW(8) | HT_D };

	for (int i = 0; i < NMODES; i++) {
		for (int v = 0; v < 3; v++) {
			mmu_t m;

			cr_assert_eq(mmu_init(&m, modes[i], 0, 0, v == 1), 0);
			if (v == 2)
				m.pt_global = 0;
			mmu_tables(&m);
			for (int l = 0; l <= m.max_page_level; l++) {
				ht_pa_t pa = LEVEL_SIZE(&m, l) * 3;

				if (!mmu_leaf_ok(&m, l))
					continue;
				for (unsigned a = 0; a < 128; a++) {
					for (size_t k = 0; k < sizeof (extra) /
					    sizeof (extra[0]); k++) {
						unsigned at = a | extra[k];

						cr_assert_eq(mkpte(&m, pa, l,
						    at), mkpte_slow(&m, pa, l,
						    at), "mode %d level %d "
						    "attr 0x%x", i, l, at);
					}
				}
			}
			/* protect's masks: the W/U/NX part of the encoding */
			for (unsigned a = 0; a < 8; a++)
				cr_assert_eq(m.prot_set[a][1], mkpte_slow(&m, 0,
				    1, a) & (PT_WRITABLE | PT_USER | m.pt_nx) &
				    ~m.leaf_force);
		}
	}
}

/*
 * Nested paging (AMD APM vol. 2, 15.25.5): the hardware walks the tables
 * as user accesses, so every entry carries U: links, every leaf encoding,
 * and protect never takes it away.  The space is guest-physical: no hole,
 * nothing at or above 2^va_bits.  Apart from that (and AMD's bit 8), the
 * 4-/5-level format.
 */
Test(mmu, nested_paging_entries_carry_u)
{
	for (ht_mode_t md = HT_MODE_NPT4; md <= HT_MODE_NPT5; md++) {
		ht_mode_t lm = md == HT_MODE_NPT4 ? HT_MODE_4LEVEL :
		    HT_MODE_5LEVEL;
		mmu_t m, l;

		cr_assert_eq(mmu_init(&m, md, 0, 0, 0), 0);
		cr_assert_eq(mmu_init(&l, lm, 0, 0, 0), 0);
		mmu_tables(&m);
		mmu_tables(&l);
		cr_assert(m.user_walk);
		cr_assert_eq(m.leaf_force, PT_USER);
		cr_assert_eq(m.pt_present, PT_VALID);
		cr_assert_eq(m.pt_ref, PT_REF);
		cr_assert_eq(m.pt_mod, PT_MOD);
		cr_assert_eq(m.sw_attr, HT_SW_MASK, "52..58 are ignored");
		cr_assert(!m.has_hole);
		cr_assert_eq(m.pt_locked, PT_LOCKED);
		cr_assert_eq(m.va_last, (1ull << m.va_bits) - 1);
		cr_assert(mmu_va_ok(&m, m.va_last));
		cr_assert(!mmu_va_ok(&m, m.va_last + 1));
		/* what is a hole in 4/5-level paging is guest memory here */
		cr_assert(mmu_va_ok(&m, 1ull << (m.va_bits - 1)));
		cr_assert_eq(mmu_next_va(&m, m.va_last & ~0xfffull, 0), 0,
		    "past the top is the end");
		cr_assert_eq(mmu_sext(&m, m.va_last + 1), 0);
		for (int lv = 0; lv < m.num_level; lv++) {
			cr_assert_eq(m.rsvd_leaf[lv], l.rsvd_leaf[lv]);
			/* AMD: bit 8 of PML4Es and PML5Es is MBZ */
			cr_assert_eq(m.rsvd_ptp[lv], l.rsvd_ptp[lv] |
			    (lv >= 3 ? 0x100ull : 0));
			cr_assert_eq(m.ptp_bits[lv] & m.rsvd_ptp[lv], 0,
			    "our links are never reserved");
			if (lv > 0)
				cr_assert(m.ptp_bits[lv] & PT_USER);
			cr_assert_eq(m.prot_clr[lv] & PT_USER, 0,
			    "protect keeps U");
			cr_assert_eq(m.prot_clr[lv], l.prot_clr[lv] & ~PT_USER);
		}
		for (unsigned a = 0; a < 128; a++) {
			cr_assert_eq(m.enc[0][a], l.enc[0][a] | PT_USER);
			cr_assert_eq(m.enc[1][a], l.enc[1][a] | PT_USER);
			cr_assert(mkpte_slow(&m, 0x5000, 0, a) & PT_USER);
		}
	}
}
