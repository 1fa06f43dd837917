/*
 * mmu.c - the geometry table of each paging mode and PTE encoding.
 *
 * One static description per mode (levels, shifts, entry size, table
 * sizes, page sizes, VA width, hole) is turned by mmu_init into the
 * per-context mmu_t, applying what the caller's CPU allows: the page sizes,
 * the physical width (MAXPHYADDR) and EFER.NXE.  The reserved-bit masks are
 * derived here once so that audit and import test them with one AND.
 */
#include <stddef.h>
#include <string.h>

#include "mmu.h"
#include "debug.h"

/*
 * pte_attr_lo (mmu.h): entry i holds the attributes of a leaf whose bits
 * 3..11 are i, each bit moved to its HT_* place: PWT 3 -> 0x10, PCD 4 ->
 * 0x20, A 5 -> 0x100, D 6 -> 0x200, PAT 7 -> 0x40, G 8 -> 0x8, LOCKED 9
 * -> 0x400, SW 10, 11 -> 0x10000, 0x20000.
 */
#define ATTR_LO(i)	((((i) & 0x03u) << 4) | (((i) & 0x0cu) << 6) |	\
	(((i) & 0x10u) << 2) | (((i) & 0x20u) >> 2) | (((i) & 0x40u) << 4) | \
	(((i) & 0x180u) << 9))
#define ATTR_LO4(i)	ATTR_LO(i), ATTR_LO((i) + 1), ATTR_LO((i) + 2),	\
	ATTR_LO((i) + 3)
#define ATTR_LO16(i)	ATTR_LO4(i), ATTR_LO4((i) + 4), ATTR_LO4((i) + 8), \
	ATTR_LO4((i) + 12)
#define ATTR_LO64(i)	ATTR_LO16(i), ATTR_LO16((i) + 16),		\
	ATTR_LO16((i) + 32), ATTR_LO16((i) + 48)
#define ATTR_LO256(i)	ATTR_LO64(i), ATTR_LO64((i) + 64),		\
	ATTR_LO64((i) + 128), ATTR_LO64((i) + 192)

const uint32_t pte_attr_lo[512] = { ATTR_LO256(0u), ATTR_LO256(256u) };
_Static_assert(ATTR_LO(0x1ffu) == (HT_PWT | HT_PCD | HT_A | HT_D | HT_PAT |
    HT_G | HT_LOCKED | HT_SW(0) | HT_SW(1)), "pte_attr_lo's bit moves");

static const ht_geometry_t geometries[] = {
	[HT_MODE_32BIT] = {
		.mode = HT_MODE_32BIT, .levels = 2, .pte_size = 4,
		.ptes_per_table = 1024, .top_level_count = 1024,
		.level_shift = { 12, 22 }, .va_bits = 32, .pa_bits_max = 40,
		.pagesizes = HT_PS_4K | HT_PS_4M, .has_nx = 0,
		.link_mask = 0xfffff000ull, .root_mask = 0xfffff000ull,
		.ps_bit = PT_PAGESIZE,
	},
	[HT_MODE_PAE] = {
		.mode = HT_MODE_PAE, .levels = 3, .pte_size = 8,
		.ptes_per_table = 512, .top_level_count = 4,
		.level_shift = { 12, 21, 30 }, .va_bits = 32, .pa_bits_max = 52,
		.pagesizes = HT_PS_4K | HT_PS_2M, .has_nx = 1,
		.link_mask = 0x000ffffffffff000ull, .root_mask = 0xffffffe0ull,
		.ps_bit = PT_PAGESIZE,
	},
	[HT_MODE_4LEVEL] = {
		.mode = HT_MODE_4LEVEL, .levels = 4, .pte_size = 8,
		.ptes_per_table = 512, .top_level_count = 512,
		.level_shift = { 12, 21, 30, 39 }, .va_bits = 48,
		.pa_bits_max = 52, .pagesizes = HT_PS_4K | HT_PS_2M | HT_PS_1G,
		.has_nx = 1, .hole_start = 1ull << 47,
		.hole_end = ~0ull - (1ull << 47),
		.link_mask = 0x000ffffffffff000ull,
		.root_mask = 0x000ffffffffff000ull, .ps_bit = PT_PAGESIZE,
	},
	[HT_MODE_5LEVEL] = {
		.mode = HT_MODE_5LEVEL, .levels = 5, .pte_size = 8,
		.ptes_per_table = 512, .top_level_count = 512,
		.level_shift = { 12, 21, 30, 39, 48 }, .va_bits = 57,
		.pa_bits_max = 52, .pagesizes = HT_PS_4K | HT_PS_2M | HT_PS_1G,
		.has_nx = 1, .hole_start = 1ull << 56,
		.hole_end = ~0ull - (1ull << 56),
		.link_mask = 0x000ffffffffff000ull,
		.root_mask = 0x000ffffffffff000ull, .ps_bit = PT_PAGESIZE,
	},
	/* nested paging: the long-mode geometry over guest-physical space */
	[HT_MODE_NPT4] = {
		.mode = HT_MODE_NPT4, .levels = 4, .pte_size = 8,
		.ptes_per_table = 512, .top_level_count = 512,
		.level_shift = { 12, 21, 30, 39 }, .va_bits = 48,
		.pa_bits_max = 52, .pagesizes = HT_PS_4K | HT_PS_2M | HT_PS_1G,
		.has_nx = 1,
		.link_mask = 0x000ffffffffff000ull,
		.root_mask = 0x000ffffffffff000ull, .ps_bit = PT_PAGESIZE,
	},
	[HT_MODE_NPT5] = {
		.mode = HT_MODE_NPT5, .levels = 5, .pte_size = 8,
		.ptes_per_table = 512, .top_level_count = 512,
		.level_shift = { 12, 21, 30, 39, 48 }, .va_bits = 57,
		.pa_bits_max = 52, .pagesizes = HT_PS_4K | HT_PS_2M | HT_PS_1G,
		.has_nx = 1,
		.link_mask = 0x000ffffffffff000ull,
		.root_mask = 0x000ffffffffff000ull, .ps_bit = PT_PAGESIZE,
	},
};
#define NMODES	(sizeof (geometries) / sizeof (geometries[0]))

static const char *const mode_names[NMODES] = {
	"32bit", "pae", "4level", "5level", "npt4", "npt5"
};

const ht_geometry_t *
ht_geometry(ht_mode_t mode)
{
	if ((unsigned)mode >= NMODES)
		return (NULL);
	return (&geometries[mode]);
}

const char *
ht_mode_name(ht_mode_t mode)
{
	if ((unsigned)mode >= NMODES)
		return (NULL);
	return (mode_names[mode]);
}

int
ht_mode_parse(const char *name, ht_mode_t *r_mode)
{
	if (name == NULL || r_mode == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	for (unsigned i = 0; i < NMODES; i++) {
		if (strcmp(name, mode_names[i]) == 0) {
			*r_mode = (ht_mode_t)i;
			return (0);
		}
	}
	return (ht__fail(HT_EINVAL, "unknown paging mode '%s' (expected "
	    "32bit, pae, 4level, 5level, npt4 or npt5)", name));
}

unsigned
mmu_level_ps(const mmu_t *m, int level)
{
	switch (m->level_shift[level]) {
	case 12:
		return (HT_PS_4K);
	case 21:
		return (HT_PS_2M);
	case 22:
		return (HT_PS_4M);
	case 30:
		return (HT_PS_1G);
	default:
		return (0);
	}
}

int
mmu_ps_level(const mmu_t *m, unsigned ps)
{
	for (int l = 0; l < m->num_level; l++) {
		if (mmu_level_ps(m, l) == ps)
			return (l);
	}
	return (-1);
}

static uint64_t
bits(unsigned hi, unsigned lo)
{
	/* mask of bits lo..hi inclusive, empty when hi < lo */
	if (hi < lo)
		return (0);
	return ((~0ull >> (63 - hi)) & ~((1ull << lo) - 1));
}

static int mmu_init_modes(mmu_t *m, ht_mode_t mode, unsigned pagesizes,
    unsigned pa_bits, int no_nx);

int
mmu_init(mmu_t *m, ht_mode_t mode, unsigned pagesizes, unsigned pa_bits,
    int no_nx)
{
	/*
	 * Not the attribute tables (mmu_tables): an mmu_t for reading
	 * (ht_access builds one per call) never builds entries, and making
	 * them costs ~300 mkpte_slow calls.
	 */
	return (mmu_init_modes(m, mode, pagesizes, pa_bits, no_nx));
}

void
mmu_tables(mmu_t *m)
{
	/*
	 * The large form without PS (mkpte adds it with the address); in a
	 * 4 KiB leaf the same bit 7 is PAT, which stays.
	 */
	for (unsigned a = 0; a < 128; a++) {
		m->enc[0][a] = mkpte_slow(m, 0, 0, a);
		m->enc[1][a] = mkpte_slow(m, 0, 1, a) & ~(x86pte_t)PT_PAGESIZE;
	}
	/* protect: W, U and NX replaced; X is NX clear */
	for (unsigned a = 0; a < 8; a++) {
		unsigned attr = ((a & 1) ? HT_W : 0) | ((a & 2) ? HT_U : 0) |
		    ((a & 4) ? HT_X : 0);

		for (int l = 0; l < HT_MAX_LEVELS; l++) {
			m->prot_clr[l] = (PT_WRITABLE | PT_USER | m->pt_nx) &
			    ~m->leaf_force;
			m->prot_set[a][l] = m->enc[l != 0][attr] &
			    m->prot_clr[l];
		}
	}
}

static int
mmu_init_modes(mmu_t *m, ht_mode_t mode, unsigned pagesizes,
    unsigned pa_bits, int no_nx)
{
	const ht_geometry_t *g = ht_geometry(mode);

	if (g == NULL)
		return (ht__fail(HT_EINVAL, "unknown paging mode %d",
		    (int)mode));
	if (pagesizes == 0)
		pagesizes = g->pagesizes;
	if ((pagesizes & ~g->pagesizes) != 0)
		return (ht__fail(HT_EPAGESIZE, "page sizes 0x%x: %s paging "
		    "has only 0x%x", pagesizes, mode_names[mode],
		    g->pagesizes));
	if (!(pagesizes & HT_PS_4K))
		return (ht__fail(HT_EPAGESIZE, "4 KiB pages cannot be "
		    "turned off"));
	/*
	 * Splitting a 1 GiB page makes 2 MiB leaves, and every CPU with
	 * 1 GiB pages has 2 MiB ones: a set without them names no CPU.
	 */
	if ((pagesizes & HT_PS_1G) && !(pagesizes & HT_PS_2M))
		return (ht__fail(HT_EPAGESIZE, "1 GiB pages need 2 MiB pages "
		    "(splitting one makes them; every CPU with 1 GiB pages "
		    "has them)"));
	if (pa_bits == 0)
		pa_bits = g->pa_bits_max;
	if (pa_bits < 32 || pa_bits > g->pa_bits_max)
		return (ht__fail(HT_EINVAL, "physical width %u out of range "
		    "32..%u for %s paging", pa_bits, g->pa_bits_max,
		    mode_names[mode]));

	memset(m, 0, offsetof(mmu_t, enc));	/* the tables: mmu_tables */
	m->mode = mode;
	m->num_level = (int)g->levels;
	m->max_level = m->num_level - 1;
	m->pte_size = (int)g->pte_size;
	m->pt_present = PT_VALID;
	m->pt_ref = PT_REF;
	m->pt_mod = PT_MOD;
	m->pt_locked = PT_LOCKED;
	m->pt_cached = PT_REF | PT_MOD;
	m->pte_shift = g->pte_size == 8 ? 3 : 2;
	m->ptes_per_table = g->ptes_per_table;
	m->top_level_count = g->top_level_count;
	m->va_bits = g->va_bits;
	m->pa_bits = pa_bits;
	m->pagesizes = pagesizes;
	for (int l = 0; l < m->num_level; l++) {
		m->level_shift[l] = g->level_shift[l];
		m->level_size[l] = 1ull << g->level_shift[l];
		m->level_offset[l] = m->level_size[l] - 1;
		m->level_mask[l] = ~m->level_offset[l];
	}
	for (int l = 0; l < m->num_level; l++) {
		if (pagesizes & mmu_level_ps(m, l)) {
			m->leaf_levels |= 1u << l;
			m->max_page_level = l;
		}
	}
	for (int l = 0; l < m->num_level; l++) {
		m->idx_mask[l] = (l == m->num_level - 1 ? m->top_level_count :
		    m->ptes_per_table) - 1;
		m->noperm[l] = 0;
		m->nx_bit[l] = (g->has_nx && !no_nx) ? PT_NX : 0;
	}
	if (mode == HT_MODE_PAE) {
		/* PDPTEs carry no R/W, U/S or NX: they restrict nothing */
		m->noperm[2] = PT_WRITABLE | PT_USER;
		m->nx_bit[2] = 0;
	}
	m->has_hole = g->hole_start != 0;
	m->hole_start = g->hole_start;
	m->hole_end = g->hole_end;
	m->va_last = m->has_hole ? ~0ull : bits(g->va_bits - 1, 0);
	if (mode == HT_MODE_NPT4 || mode == HT_MODE_NPT5) {
		m->user_walk = 1;
		m->leaf_force = PT_USER;
	}
	m->pt_nx = (g->has_nx && !no_nx) ? PT_NX : 0;
	m->pt_global = PT_GLOBAL;	/* the context drops it for KPTI */
	m->pa_limit = 1ull << pa_bits;
	/* PAE reserves 52..62; long-mode entries (NPT's too) ignore 52..58 */
	m->sw_attr = HT_SW(0) | HT_SW(1);
	if (mode == HT_MODE_4LEVEL || mode == HT_MODE_5LEVEL ||
	    m->user_walk)
		m->sw_attr = HT_SW_MASK;

	if (m->pte_size == 4) {
		m->paddr_mask = 0xfffff000ull;
		m->lgpg_mask = 0xffffe000ull;
		m->table_pa_limit = 1ull << 32;
		m->root_pa_limit = 1ull << 32;
		m->ptp_bits[1] = PT_VALID | PT_USER | PT_WRITABLE | PT_REF;
		/* 4 MiB leaf: bit 21 and PSE-36 bits above the width */
		m->rsvd_leaf[1] = bits(21, 21) | bits(20, 13 + (pa_bits - 32));
		return (0);
	}

	m->paddr_mask = bits(pa_bits - 1, 12);
	m->lgpg_mask = m->paddr_mask & ~PT_PAT_LARGE;
	m->table_pa_limit = m->pa_limit;
	m->root_pa_limit = mode == HT_MODE_PAE ? (1ull << 32) : m->pa_limit;
	for (int l = 1; l < m->num_level; l++)
		m->ptp_bits[l] = PT_VALID | PT_USER | PT_WRITABLE | PT_REF;

	/* Bits above the physical width (PAE: up to 62; else up to 51). */
	uint64_t high = mode == HT_MODE_PAE ? bits(62, pa_bits) :
	    bits(51, pa_bits);
	uint64_t nx = m->pt_nx ? 0 : PT_NX;
	for (int l = 0; l < m->num_level; l++) {
		m->rsvd_ptp[l] = high | nx;
		m->rsvd_leaf[l] = high | nx;
		if (l > 0)	/* large leaf: between PAT and the address */
			m->rsvd_leaf[l] |= bits(m->level_shift[l] - 1, 13);
	}
	if (mode == HT_MODE_PAE) {
		/* PDPTEs: only P, PWT, PCD, address (and ignored 9..11). */
		m->ptp_bits[2] = PT_VALID;
		m->rsvd_ptp[2] = high | PT_NX | bits(8, 5) | bits(2, 1);
		m->rsvd_leaf[2] = ~0ull;
	} else {
		/* PS is reserved in PML4Es and PML5Es */
		for (int l = 3; l < m->num_level; l++)
			m->rsvd_leaf[l] = ~0ull;
	}
	/*
	 * Nested paging runs only on AMD CPUs, whose PML4Es and PML5Es
	 * have bit 8 must-be-zero where Intel's ignore it (APM vol. 2,
	 * 5.3.3; KVM's nonleaf_bit8_rsvd); the library's links never set it.
	 */
	if (m->user_walk) {
		for (int l = 3; l < m->num_level; l++)
			m->rsvd_ptp[l] |= PT_GLOBAL;
	}
	return (0);
}

x86pte_t
mkpte_slow(const mmu_t *m, ht_pa_t pa, int level, unsigned attr)
{
	x86pte_t pte = PT_VALID;

	if (level == 0) {
		pte |= pa & m->paddr_mask;
		if (attr & HT_PAT)
			pte |= PT_PAT_4K;
	} else {
		pte |= PT_PAGESIZE | (pa & m->lgpg_mask & m->level_mask[level]);
		if (m->pte_size == 4)
			pte |= ((pa >> 32) & 0xffull) << 13;
		if (attr & HT_PAT)
			pte |= PT_PAT_LARGE;
	}
	if (attr & HT_W)
		pte |= PT_WRITABLE;
	if (attr & HT_U)
		pte |= PT_USER;
	if (attr & HT_PWT)
		pte |= PT_WRITETHRU;
	if (attr & HT_PCD)
		pte |= PT_NOCACHE;
	if (attr & HT_G)
		pte |= m->pt_global;
	if (attr & HT_A)
		pte |= m->pt_ref;
	if (attr & HT_D)
		pte |= m->pt_mod;
	if (!(attr & HT_X))
		pte |= m->pt_nx;
	return (pte | m->leaf_force | sw_pte(m, attr));
}

x86pte_t
pte_demote(const mmu_t *m, x86pte_t large, int level, ht_pa_t pa)
{
	const x86pte_t keep = PT_VALID | PT_WRITABLE | PT_USER |
	    PT_WRITETHRU | PT_NOCACHE | m->pt_ref | m->pt_mod | PT_GLOBAL |
	    m->pt_locked | PT_SW_LO | PT_SW_HI | PT_NX;
	x86pte_t pte = large & keep;

	HT_ASSERT(level > 0 && (large & PT_PAGESIZE));
	if (level - 1 == 0) {
		pte |= pa & m->paddr_mask;
		if (large & PT_PAT_LARGE)
			pte |= PT_PAT_4K;
	} else {
		pte |= PT_PAGESIZE | (pa & m->lgpg_mask);
		pte |= large & PT_PAT_LARGE;
	}
	return (pte);
}
