/*
 * mmu.h - paging-mode geometry and PTE encoding (illumos's `mmu` and
 * hat_pte.h, for the four x86 paging modes, AMD's nested paging and
 * Intel's EPT).
 *
 * A `mmu_t` lives in each context: the fixed geometry of the mode plus
 * what the caller's CPU allows (page sizes, physical width, NX).  Every
 * other module asks it instead of testing the mode, so one code path
 * serves 4- and 8-byte entries, 2 to 5 levels and the PAE 4-entry root.
 *
 * Level numbering is illumos's: 0 holds 4 KiB leaves, max_level is the
 * root.  Entries are handled as uint64_t in software; 32-bit mode widens on
 * read and truncates on write (x86pte.c).
 *
 * Encoding facts (Intel SDM vol. 3, 4.3-4.5):
 *  - bit 7 is PS above level 0 and PAT at level 0; large leaves keep PAT in
 *    bit 12, so their address field starts at bit 13 (PT_PADDR_LGPG).
 *  - 32-bit 4 MiB leaves (PSE-36) hold PA bits 32..39 in entry bits 13..20.
 *  - PAE PDPTEs allow only P, PWT, PCD and the address: no R/W, U/S, A, NX.
 *  - bits 9..11 are ignored by the MMU in every mode; we keep a leaf's
 *    "locked" state in bit 9 and give 10 and 11 to the client (HT_SW(0),
 *    HT_SW(1)), with 52..58 in 4- and 5-level paging (HT_SW(2..8)); PAE
 *    reserves 52..62 and 59..62 are protection keys, so those stay ours.
 *
 * EPT entries (Intel SDM vol. 3C, "The Extended Page Table Mechanism")
 * share the geometry of 4- and 5-level paging, PS in bit 7 and the
 * address field, and differ in the rest: bits 0-2 are read, write and
 * execute (present if any is set, or bit 10 with MBEC), bits 5:3 a leaf's
 * memory type, 6 ignore-PAT, 8 and 9 accessed and dirty when the EPTP
 * enables them, 10 user-execute with MBEC, 63 suppress-#VE; no U/S, no
 * NX, no PAT bit (bit 12 of a large leaf is reserved).  Bit 11 is
 * ignored and is our lock bit; 52..56 are the client's.  The mmu_t
 * fields below (pt_present ... fast_bad) say where each format keeps
 * what the library reads and writes, and the few functions whose answer
 * is a different formula in EPT branch on m->ept once.
 */
#ifndef HT_MMU_H
#define HT_MMU_H

#include <stdint.h>
#include "htable.h"

typedef uint64_t x86pte_t;

#define PT_VALID	0x001ull
#define PT_WRITABLE	0x002ull
#define PT_USER		0x004ull
#define PT_WRITETHRU	0x008ull
#define PT_NOCACHE	0x010ull
#define PT_REF		0x020ull
#define PT_MOD		0x040ull
#define PT_PAGESIZE	0x080ull
#define PT_PAT_4K	0x080ull
#define PT_GLOBAL	0x100ull
#define PT_LOCKED	0x200ull	/* software: mapping is locked */
#define PT_PAT_LARGE	0x1000ull
#define PT_SW_LO	0xc00ull		/* bits 10, 11: HT_SW(0..1) */
#define PT_SW_HI	0x07f0000000000000ull	/* bits 52..58: HT_SW(2..8) */
#define PT_NX		(1ull << 63)

/* EPT entry bits that have no x86 twin (bits 1 and 7 are as above) */
#define EPT_R		0x001ull
#define EPT_X		0x004ull
#define EPT_MT		0x038ull	/* leaf: memory type, bits 5:3 */
#define EPT_IPAT	0x040ull
#define EPT_A		0x100ull
#define EPT_D		0x200ull
#define EPT_XU		0x400ull	/* MBEC: user-mode execute */
#define EPT_LOCKED	0x800ull	/* software: mapping is locked */
#define EPT_SW_HI	0x01f0000000000000ull	/* 52..56: HT_SW(2..6) */

/* mmu_init's flags: EFER.NXE off, and ht_config_t.ept shifted up by one */
#define MMU_NONX	0x1u
#define MMU_EPT(f)	((unsigned)(f) << 1)
#define MMU_EPT_OF(f)	((unsigned)(f) >> 1)

/* Never a real entry: x86pte_set's "large page over a table" answer. */
#define LPAGE_ERROR	(~(x86pte_t)0)

typedef struct mmu {
	ht_mode_t	mode;
	int		num_level;
	int		max_level;		/* root level */
	int		max_page_level;		/* highest level with leaves */
	unsigned	leaf_levels;		/* bit l: leaves allowed at l */
	unsigned	pagesizes;		/* HT_PS_* in force */
	int		pte_size;		/* 4 or 8 */
	int		pte_shift;		/* 2 or 3 */
	/*
	 * Where the entry format keeps what the library itself reads in
	 * every entry (FreeBSD's pmap_valid_bit() and friends): an entry is
	 * present when any bit of pt_present is set; pt_ref and pt_mod are
	 * the accessed and dirty bits (0 where the format has none);
	 * pt_locked is the ignored bit that says a leaf is locked.  One
	 * code path reads every format through these.
	 */
	x86pte_t	pt_present;
	x86pte_t	pt_ref;
	x86pte_t	pt_mod;
	x86pte_t	pt_locked;
	/*
	 * The bits of a present entry that say a TLB may hold it (x86pte.h's
	 * TLB rule): the MMU sets A as it caches an entry, so one without A
	 * (or D, which a caller may preset alone) is in no TLB.  A format
	 * without A/D bits has its present bits here: every present entry
	 * may be cached.
	 */
	x86pte_t	pt_cached;
	unsigned	ptes_per_table;
	unsigned	top_level_count;
	unsigned	level_shift[HT_MAX_LEVELS];
	uint64_t	level_size[HT_MAX_LEVELS];
	uint64_t	level_offset[HT_MAX_LEVELS];
	uint64_t	level_mask[HT_MAX_LEVELS];
	unsigned	va_bits;
	unsigned	pa_bits;		/* MAXPHYADDR in force */
	int		has_hole;
	uint64_t	hole_start;
	uint64_t	hole_end;		/* inclusive */
	/*
	 * The last address of the space: ~0 with a hole (the upper half
	 * is canonical), else 2^va_bits - 1 (32-bit and PAE paging, and the
	 * guest-physical space of nested paging).
	 */
	uint64_t	va_last;
	/*
	 * Nested paging (NPT): the hardware walks the tables as user
	 * accesses, so every entry carries U (leaf_force, which mkpte adds
	 * and protect never clears) and ht_access decides every access as
	 * one at CPL 3.
	 */
	int		user_walk;
	x86pte_t	leaf_force;
	/*
	 * EPT: ept is 1 and ept_flags holds HT_EPT_*; ept_xu is bit 10
	 * with MBEC, else 0 (the bit is ignored).
	 */
	int		ept;
	unsigned	ept_flags;
	x86pte_t	ept_xu;
	/*
	 * What a format keeps of a large leaf when it splits (pte_demote),
	 * the bits of a leaf that HT_W/U/X/G/PWT/PCD/PAT (HT_NOREAD too
	 * in EPT) set, in a 4 KiB leaf [0] and a large one [1]
	 * (ht_chattr), and the right whose entry bit is set by its
	 * absence: neg_attr (HT_X in x86, HT_NOREAD in EPT) and neg_bit (NX,
	 * or EPT's read bit).  attr_map: the attributes ht_map takes.
	 * fast_bad: bit (a >> 1) & 63 set when attributes a (within
	 * W U X G PWT PCD PAT) are refused here, for the one-page paths that
	 * skip the full check (EPT: U without MBEC, memory types 2, 3, 7);
	 * made by mmu_tables with prot_bad, as the write paths need them.
	 */
	x86pte_t	leaf_keep;
	x86pte_t	attr_keep[2];
	unsigned	neg_attr;
	x86pte_t	neg_bit;
	unsigned	attr_map;
	uint64_t	fast_bad;
	unsigned	prot_bad;	/* bit PROT_IDX(a): protect refuses a */
	uint64_t	pt_nx;			/* PT_NX or 0 */
	uint64_t	pt_global;		/* PT_GLOBAL, 0 with KPTI */
	x86pte_t	ptp_bits[HT_MAX_LEVELS]; /* PTP in a level-l table */
	x86pte_t	paddr_mask;		/* address of 4K leaf / PTP */
	x86pte_t	lgpg_mask;		/* address of a large leaf */
	ht_pa_t		pa_limit;		/* 1 + highest mappable PA */
	ht_pa_t		table_pa_limit;		/* table frames below this */
	ht_pa_t		root_pa_limit;		/* the root frame below this */
	/*
	 * Reserved bits of a valid entry in a level-l table, as a leaf
	 * (rsvd_leaf) and as a PTP (rsvd_ptp); an entry with any of them set
	 * makes the MMU raise a reserved-bit fault.
	 */
	x86pte_t	rsvd_leaf[HT_MAX_LEVELS];
	x86pte_t	rsvd_ptp[HT_MAX_LEVELS];
	/* for the translate hot path */
	unsigned	idx_mask[HT_MAX_LEVELS]; /* entries at level l, minus 1 */
	x86pte_t	noperm[HT_MAX_LEVELS];	/* W/U bits level l cannot clear */
	x86pte_t	nx_bit[HT_MAX_LEVELS];	/* NX as level l holds it */
	unsigned	sw_attr;		/* HT_SW bits the mode has */
	/*
	 * Last, and left alone by mmu_init (a reader's mmu_t, made per
	 * ht_access call, never builds entries): the tables of the write
	 * paths, made by mmu_tables from mkpte_slow.  enc[c][a]: the entry
	 * bits of attributes a (bits 0-7: W U X G PWT PCD PAT NOREAD) in a
	 * 4 KiB leaf (c 0) or a large one (c 1); ht_protect's masks per
	 * level, prot_set indexed by W|U|X and NOREAD as 8 (PROT_IDX).
	 */
	x86pte_t	enc[2][256];
	x86pte_t	prot_clr[HT_MAX_LEVELS];
	x86pte_t	prot_set[16][HT_MAX_LEVELS];
} mmu_t;

/*
 * EPT: the low bits of an EPT pointer to this format's tables, the
 * memory type aside: the page-walk length less one (bits 5:3) and A/D
 * enabled (bit 6) when the format has them.  ht_as_eptp, ht_switch and
 * ht_access's reader all build their pointers from it.
 */
static inline uint64_t
mmu_eptp_low(const mmu_t *m)
{
	return (((uint64_t)m->max_level << 3) | (m->pt_ref != 0 ? 0x40 : 0));
}

/* prot_set's index of ht_protect's attributes (checked) */
#define PROT_IDX(attr)	(((attr) & 7u) | (((attr) & HT_NOREAD) >> 4))

/*
 * Fill *m for a mode and what the caller's CPU allows (flags: MMU_NONX,
 * MMU_EPT(HT_EPT_*)); 0 or -HT_EINVAL / -HT_EPAGESIZE with a detail
 * message.  MMU_NONX and MMU_EPT are each refused where they mean
 * nothing (NONX in EPT, EPT flags outside it).
 */
int mmu_init(mmu_t *m, ht_mode_t mode, unsigned pagesizes, unsigned pa_bits,
    unsigned flags);
/*
 * May a leaf have attributes attr (the rights and attribute bits; lock,
 * A/D and software bits are checked by their callers)?  0, or
 * -HT_EINVAL with a detail naming what is wrong; `what` starts it ("map",
 * "protect").  In x86 modes everything within attr_map passes; in EPT the
 * combinations the CPU would take as a misconfiguration, and a page with
 * no right (not present), are refused.
 */
int mmu_attr_check(const mmu_t *m, unsigned attr, const char *what);
/*
 * Fill m's attribute tables (enc, prot_*), which mkpte and ht_protect
 * use: a context's mmu_t, once its pt_global is settled (KPTI).
 */
void mmu_tables(mmu_t *m);

/* Page-size bit (HT_PS_*) of a leaf at level l. */
unsigned mmu_level_ps(const mmu_t *m, int level);
/*
 * The bytes of page size ps (one HT_PS_* bit), 0 for anything else:
 * mmu_level_ps backwards, without a walk over the levels (ht_map's quick
 * test of a one-page call).
 */
static inline uint64_t
mmu_ps_bytes(unsigned ps)
{
	switch (ps) {
	case HT_PS_4K:
		return (1ull << 12);
	case HT_PS_2M:
		return (1ull << 21);
	case HT_PS_4M:
		return (1ull << 22);
	case HT_PS_1G:
		return (1ull << 30);
	default:
		return (0);
	}
}
/* Level whose leaves have page-size bit ps, -1 if none. */
int mmu_ps_level(const mmu_t *m, unsigned ps);

#define LEVEL_SHIFT(m, l)	((m)->level_shift[l])
#define LEVEL_SIZE(m, l)	((m)->level_size[l])
#define LEVEL_OFFSET(m, l)	((m)->level_offset[l])
#define LEVEL_MASK(m, l)	((m)->level_mask[l])

static inline int
mmu_leaf_ok(const mmu_t *m, int level)
{
	return ((m->leaf_levels >> level) & 1);
}

/* Is va inside the non-canonical hole? */
static inline int
mmu_in_hole(const mmu_t *m, uint64_t va)
{
	return (m->has_hole && va >= m->hole_start && va <= m->hole_end);
}

/* Is va a valid address of the mode (canonical, inside va_bits)? */
static inline int
mmu_va_ok(const mmu_t *m, uint64_t va)
{
	if (!m->has_hole)
		return (va <= m->va_last);
	return (!mmu_in_hole(m, va));
}

/*
 * The address space of a mode without a hole, for messages: "4 GiB
 * address space", "256 TiB guest-physical space", ...
 */
static inline const char *
mmu_space(const mmu_t *m)
{
	switch (m->va_bits) {
	case 32:
		return ("4 GiB address space");
	case 48:
		return ("256 TiB guest-physical space");
	default:
		return ("128 PiB guest-physical space");
	}
}

/* Last valid VA of the mode. */
static inline uint64_t
mmu_va_last(const mmu_t *m)
{
	return (m->va_last);
}

/*
 * Start of the next level-l region after va (illumos NEXT_ENTRY_VA); at the
 * hole it jumps to the canonical upper half.  Returns 0 on wrap past the top.
 */
static inline uint64_t
mmu_next_va(const mmu_t *m, uint64_t va, int level)
{
	uint64_t n = (va & LEVEL_MASK(m, level)) + LEVEL_SIZE(m, level);

	if (m->has_hole && n >= m->hole_start && n <= m->hole_end)
		n = m->hole_end + 1;
	if (n > m->va_last)
		n = 0;
	return (n);
}

/* Sign-extend a linear (index-derived) address into canonical form. */
static inline uint64_t
mmu_canon(const mmu_t *m, uint64_t va)
{
	if (!m->has_hole)
		return (va);
	if (va >= m->hole_start && va <= m->hole_end)
		return (va + (m->hole_end - m->hole_start + 1));
	return (va);
}

/* Is the entry present (the MMU reads it rather than faulting)? */
static inline int
pte_valid(const mmu_t *m, x86pte_t pte)
{
	return ((pte & m->pt_present) != 0);
}

/* Is this PTE a leaf at this level (present and level 0 or PS)? */
static inline int
pte_is_page(const mmu_t *m, x86pte_t pte, int level)
{
	return (pte_valid(m, pte) && (level == 0 || (pte & PT_PAGESIZE)));
}

/* Is this PTE a link to a lower table? */
static inline int
pte_is_ptp(const mmu_t *m, x86pte_t pte, int level)
{
	return (pte_valid(m, pte) && level > 0 && !(pte & PT_PAGESIZE));
}

/*
 * Non-present entries that carry the client's data (ht_set_np) live only
 * in level-0 tables.  There they count in ht_valid_cnt (a table holding
 * one is not empty) and in ht_lock_cnt (it must never be stolen: its
 * data would be lost).  Elsewhere a non-present entry counts nowhere.
 */
static inline int
pte_is_np(const mmu_t *m, x86pte_t pte, int level)
{
	return (level == 0 && pte != 0 && !pte_valid(m, pte));
}

/* Does the entry count in its table's ht_valid_cnt? */
static inline int
pte_counted(const mmu_t *m, x86pte_t pte, int level)
{
	return (pte_valid(m, pte) || pte_is_np(m, pte, level));
}

/* Does it pin its table against stealing (ht_lock_cnt)? */
static inline int
pte_pins(const mmu_t *m, x86pte_t pte, int level)
{
	return (pte_valid(m, pte) ? (pte & m->pt_locked) != 0 :
	    pte_is_np(m, pte, level));
}

/* May a TLB hold the present entry pte (pt_cached)? */
static inline int
pte_cached(const mmu_t *m, x86pte_t pte)
{
	return ((pte & m->pt_cached) != 0);
}

/* The HT_A and HT_D that an entry's accessed and dirty bits give. */
static inline unsigned
pte_ad(const mmu_t *m, x86pte_t pte)
{
	return (((pte & m->pt_ref) ? HT_A : 0) |
	    ((pte & m->pt_mod) ? HT_D : 0));
}

/* Physical address a leaf or PTP names (PSE-36 aware). */
static inline ht_pa_t
pte_pa(const mmu_t *m, x86pte_t pte, int level)
{
	if (level > 0 && (pte & PT_PAGESIZE)) {
		ht_pa_t pa = pte & m->lgpg_mask & ~LEVEL_OFFSET(m, level);
		if (m->pte_size == 4)
			pa |= ((pte >> 13) & 0xffull) << 32;
		return (pa);
	}
	return (pte & m->paddr_mask);
}

static inline ht_pfn_t
pte_pfn(const mmu_t *m, x86pte_t pte, int level)
{
	return (pte_pa(m, pte, level) >> HT_PAGE_SHIFT);
}

/* A PTP that links to the level-(l-1) table in frame pfn, from level l. */
static inline x86pte_t
mkptp(const mmu_t *m, ht_pfn_t pfn, int level)
{
	return (((x86pte_t)pfn << HT_PAGE_SHIFT) | m->ptp_bits[level]);
}

/*
 * Reading tables as the MMU does (scan.c, access.c)
 */

/* Entries in a level-l table (the PAE root has 4). */
static inline unsigned
mmu_entries(const mmu_t *m, int level)
{
	return (m->idx_mask[level] + 1);
}

/*
 * The canonical form of a linear address of va_bits bits; without a hole,
 * the address cut to va_bits.
 */
static inline uint64_t
mmu_sext(const mmu_t *m, uint64_t va)
{
	if (!m->has_hole)
		return (va & m->va_last);
	va &= ~(~0ull << m->va_bits);
	if (va & (1ull << (m->va_bits - 1)))
		va |= ~0ull << m->va_bits;
	return (va);
}

/*
 * The root table's physical address from CR3 as the CPU holds it: PCID
 * and flag bits and bit 63 ignored; PAE's root is 32-byte aligned.
 */
static inline ht_pa_t
mmu_cr3_root(const mmu_t *m, uint64_t cr3)
{
	if (m->mode == HT_MODE_32BIT)
		return (cr3 & 0xfffff000ull);
	if (m->mode == HT_MODE_PAE)
		return (cr3 & 0xffffffe0ull);
	return (cr3 & m->paddr_mask);
}

/*
 * EPT's misconfigurations that are not one reserved bit (SDM 3C, "EPT
 * Misconfigurations"): write without read, execute without read on a
 * CPU without execute-only pages, and a leaf's memory type 2, 3 or 7.
 */
int ept_misconfig(const mmu_t *m, x86pte_t pte, int leaf);

/*
 * Does a present entry at `level` fault for reserved bits (EPT: is it a
 * misconfiguration)?  A leaf at a level whose page size the CPU lacks
 * counts as one (PS is reserved there).
 */
static inline int
pte_reserved(const mmu_t *m, x86pte_t pte, int level)
{
	int leaf = level == 0 || (pte & PT_PAGESIZE);

	if (__builtin_expect(m->ept, 0) && ept_misconfig(m, pte, leaf))
		return (1);
	if (leaf)
		return ((level > 0 && !mmu_leaf_ok(m, level)) ||
		    (pte & m->rsvd_leaf[level]) != 0);
	return ((pte & m->rsvd_ptp[level]) != 0);
}

/*
 * The effective rights after an EPT entry: W, X and (with MBEC) XU ANDed,
 * HT_NOREAD ORed when the entry does not allow reads.
 */
static inline unsigned
ept_eff(const mmu_t *m, unsigned eff, x86pte_t pte)
{
	if (!(pte & PT_WRITABLE))
		eff &= ~HT_W;
	if (!(pte & EPT_X))
		eff &= ~HT_X;
	if (!(pte & m->ept_xu))
		eff &= ~HT_XU;
	if (!(pte & EPT_R))
		eff |= HT_NOREAD;
	return (eff);
}

/*
 * The effective HT_W/U/X after the entry pte at `level` is passed: W and U
 * ANDed where the level has them (not PAE PDPTEs), X lost to any NX.
 * EPT: ept_eff.
 */
static inline unsigned
pte_eff(const mmu_t *m, unsigned eff, x86pte_t pte, int level)
{
	if (__builtin_expect(m->ept, 0))
		return (ept_eff(m, eff, pte));
	if (!(m->noperm[level] & PT_WRITABLE) && !(pte & PT_WRITABLE))
		eff &= ~HT_W;
	if (!(m->noperm[level] & PT_USER) && !(pte & PT_USER))
		eff &= ~HT_U;
	if (pte & m->nx_bit[level])
		eff &= ~HT_X;
	return (eff);
}

/* The entry bits of the HT_SW bits in attr (those the mode has). */
static inline x86pte_t
sw_pte(const mmu_t *m, unsigned attr)
{
	x86pte_t sw = attr & m->sw_attr;

	return (((sw >> 6) & PT_SW_LO) | ((sw << 34) & PT_SW_HI));
}

/*
 * The entry bits of EPT's suppress-#VE (63), verify-guest-paging (57) and
 * paging-write (58) attributes; 0 outside EPT, where they are refused.
 */
static inline x86pte_t
ept_hi_pte(unsigned attr)
{
	return (((x86pte_t)(attr & HT_EPT_SVE) << 52) |
	    ((x86pte_t)(attr & (HT_EPT_VGP | HT_EPT_PW)) << 45));
}

/* Build a leaf at `level` for pa with HT_* attributes, bit by bit. */
x86pte_t mkpte_slow(const mmu_t *m, ht_pa_t pa, int level, unsigned attr);

/*
 * The same leaf, with the attribute bits from the table mmu_tables made
 * (m->enc, which must have been made): one load instead of a dozen
 * tests, on the map path of every call.
 */
static inline x86pte_t
mkpte(const mmu_t *m, ht_pa_t pa, int level, unsigned attr)
{
	x86pte_t pte = m->enc[level != 0][attr & 0xff];

	if (level == 0) {
		pte |= pa & m->paddr_mask;
	} else {
		pte |= PT_PAGESIZE | (pa & m->lgpg_mask & m->level_mask[level]);
		if (m->pte_size == 4)
			pte |= ((pa >> 32) & 0xffull) << 13;
	}
	if (__builtin_expect((attr & ~0xffu) != 0, 0))
		pte |= ((attr & HT_A) ? m->pt_ref : 0) |
		    ((attr & HT_D) ? m->pt_mod : 0) | sw_pte(m, attr) |
		    ept_hi_pte(attr);
	return (pte);
}
/* Turn a large leaf at level l into the equivalent leaf at l - 1, pa. */
x86pte_t pte_demote(const mmu_t *m, x86pte_t large, int level, ht_pa_t pa);

/*
 * The HT_* attributes that a leaf's bits 3..11 give, indexed by
 * (pte >> 3) & 511: PWT, PCD, A, D, bit 7 as PAT (level 0 only: above it
 * bit 7 is PS, and pte_attr masks it out of the index), G, LOCKED, SW(0)
 * and SW(1).  One load in place of six shift-and-mask pairs on the
 * translate and walk hot paths; 2 KiB, of which a run of leaves with the
 * same attributes touches one line.  Built at compile time (mmu.c).
 */
extern const uint32_t pte_attr_lo[512];

/* pte_attr_lo's index mask at `level`: bit 7 (index bit 4) is PS above 0 */
#define PTE_ATTR_LO_IDX(level)	((level) == 0 ? 0x1ffu : 0x1efu)

/*
 * pte_attr of an EPT leaf, without a branch: W, X, the memory type,
 * IPAT, A/D and the lock bit move by shifts (A and D are in HT_A's and
 * HT_D's places, masked by the format's), read is HT_NOREAD's absence,
 * XU bit 10 (0 in ept_xu without MBEC), and the high bits as in x86.
 */
static inline unsigned
ept_attr(const mmu_t *m, x86pte_t pte)
{
	const unsigned lo = (unsigned)pte;

	return (((lo >> 1) & HT_W) | (lo & HT_X) |		/* 1, 2 */
	    ((lo << 1) & HT_EPT_MT_MASK) |			/* 5:3 */
	    ((lo >> 3) & HT_EPT_IPAT) |				/* 6 */
	    (lo & (unsigned)(m->pt_ref | m->pt_mod)) |		/* 8, 9 */
	    ((lo & (unsigned)m->ept_xu) >> 9) |			/* 10 */
	    ((lo >> 1) & HT_LOCKED) |				/* 11 */
	    ((~lo & 1u) << 7) |					/* 0 */
	    ((unsigned)(pte >> 34) & m->sw_attr) |		/* 52..56 */
	    ((unsigned)(pte >> 52) & HT_EPT_SVE) |		/* 63 */
	    ((unsigned)(pte >> 45) & (HT_EPT_VGP | HT_EPT_PW)));	/* 57, 58 */
}

/*
 * The HT_* attributes of a leaf entry (its own, not effective): the
 * table for bits 3..11, bit moves for the rest.
 */
static inline unsigned
pte_attr(const mmu_t *m, x86pte_t pte, int level)
{
	unsigned a;

	if (__builtin_expect(m->ept, 0))
		return (ept_attr(m, pte));
	a = pte_attr_lo[(unsigned)(pte >> 3) & PTE_ATTR_LO_IDX(level)];
	a |= (unsigned)(pte >> 1) & (HT_W | HT_U);		/* bits 1, 2 */
	if (level != 0)
		a |= (unsigned)(pte >> 6) & HT_PAT;		/* bit 12 */
	a |= (unsigned)(pte >> 34) & (HT_SW_MASK & ~(HT_SW(0) |	/* 52..58 */
	    HT_SW(1)));
	a &= m->sw_attr | ~HT_SW_MASK;
	if (!(pte & m->pt_nx))
		a |= HT_X;
	return (a);
}

/*
 * The bits of a leaf at `level` that its attributes and its effective
 * rights depend on (pte_attr, pte_eff, and the scan's bit 9): all but
 * the address (bit 12 is PAT in a large leaf, an address bit at level
 * 0).  Loops over many leaves (ht_walk, ht_scan) recompute attr and eff
 * only when these bits differ from the previous leaf's; most runs of
 * leaves agree on them.
 */
#define PTE_LEAF_KEY(level)	((level) == 0 ? 0xfff0000000000fffull : \
	0xfff0000000001fffull)

#endif /* HT_MMU_H */

