/*
 * mmu.c - the geometry table of each paging mode and PTE encoding.
 *
 * One static description per mode (levels, shifts, entry size, table
 * sizes, page sizes, VA width, hole) is turned by mmu_init into the
 * per-context mmu_t, applying what the caller's CPU allows: the page sizes,
 * the physical width (MAXPHYADDR), EFER.NXE and, for EPT, the EPTP's A/D
 * enable, mode-based execute control and execute-only pages.  The
 * reserved-bit masks are derived here once so that audit and import test
 * them with one AND.  The entry format is the other half of a mode: the
 * x86 one (every mode but EPT) or EPT's, and the few places where it is a
 * formula rather than a mask (building a leaf, reading its attributes,
 * EPT's misconfigurations) are here, each with one branch on m->ept.
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
	/* EPT: the same geometry, EPT's entry format (no NX: X is a right) */
	[HT_MODE_EPT4] = {
		.mode = HT_MODE_EPT4, .levels = 4, .pte_size = 8,
		.ptes_per_table = 512, .top_level_count = 512,
		.level_shift = { 12, 21, 30, 39 }, .va_bits = 48,
		.pa_bits_max = 52, .pagesizes = HT_PS_4K | HT_PS_2M | HT_PS_1G,
		.has_nx = 0,
		.link_mask = 0x000ffffffffff000ull,
		.root_mask = 0x000ffffffffff000ull, .ps_bit = PT_PAGESIZE,
	},
	[HT_MODE_EPT5] = {
		.mode = HT_MODE_EPT5, .levels = 5, .pte_size = 8,
		.ptes_per_table = 512, .top_level_count = 512,
		.level_shift = { 12, 21, 30, 39, 48 }, .va_bits = 57,
		.pa_bits_max = 52, .pagesizes = HT_PS_4K | HT_PS_2M | HT_PS_1G,
		.has_nx = 0,
		.link_mask = 0x000ffffffffff000ull,
		.root_mask = 0x000ffffffffff000ull, .ps_bit = PT_PAGESIZE,
	},
};
#define NMODES	(sizeof (geometries) / sizeof (geometries[0]))

static const char *const mode_names[NMODES] = {
	"32bit", "pae", "4level", "5level", "npt4", "npt5", "ept4", "ept5"
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
	    "32bit, pae, 4level, 5level, npt4, npt5, ept4 or ept5)", name));
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
static void mmu_init_ept(mmu_t *m, unsigned ept);

/* Why a leaf may not have some attributes (mmu_attr_check's cases). */
enum {
	AF_OK, AF_EPT_ONLY, AF_XU, AF_AD, AF_UNKNOWN, AF_MT, AF_WNOR,
	AF_NONE, AF_XONLY
};

static int
attr_fault(const mmu_t *m, unsigned attr)
{
	const unsigned ept_only = HT_NOREAD | HT_EPT_SVE | HT_EPT_VGP |
	    HT_EPT_PW;
	unsigned bad = attr & ~HT_SW_MASK & ~m->attr_map, t;

	if (bad != 0) {
		if (!m->ept && (bad & ept_only))
			return (AF_EPT_ONLY);
		if (m->ept && (bad & HT_XU))
			return (AF_XU);
		if (m->ept && (bad & (HT_A | HT_D)))
			return (AF_AD);
		return (AF_UNKNOWN);
	}
	if (!m->ept)
		return (AF_OK);
	t = HT_EPT_MT_OF(attr);
	if (t == 2 || t == 3 || t == 7)
		return (AF_MT);
	if (attr & HT_NOREAD) {
		if (attr & HT_W)
			return (AF_WNOR);
		if (!(attr & (HT_X | HT_XU)))
			return (AF_NONE);
		if (!(m->ept_flags & HT_EPT_XONLY))
			return (AF_XONLY);
	}
	return (AF_OK);
}

static int
is_ept(ht_mode_t mode)
{
	return (mode == HT_MODE_EPT4 || mode == HT_MODE_EPT5);
}

int
mmu_init(mmu_t *m, ht_mode_t mode, unsigned pagesizes, unsigned pa_bits,
    unsigned flags)
{
	const unsigned ept = MMU_EPT_OF(flags);
	int rc;

	if (ept & ~(HT_EPT_AD | HT_EPT_MBEC | HT_EPT_XONLY))
		return (ht__fail(HT_EINVAL, "EPT flags 0x%x: unknown bits "
		    "(HT_EPT_AD, HT_EPT_MBEC, HT_EPT_XONLY are 0x7)", ept));
	if (ept != 0 && !is_ept(mode))
		return (ht__fail(HT_EINVAL, "EPT flags 0x%x in %s paging: "
		    "they mean something only in ept4 and ept5", ept,
		    ht_mode_name(mode) != NULL ? ht_mode_name(mode) : "?"));
	if ((flags & MMU_NONX) && is_ept(mode))
		return (ht__fail(HT_EINVAL, "no_nx in EPT: its entries have "
		    "no NX bit (bit 2 allows execution)"));
	/*
	 * Not the attribute tables (mmu_tables): an mmu_t for reading
	 * (ht_access builds one per call) never builds entries, and making
	 * them costs ~600 mkpte_slow calls.
	 */
	rc = mmu_init_modes(m, mode, pagesizes, pa_bits,
	    (flags & MMU_NONX) != 0);
	if (rc != 0)
		return (rc);
	if (is_ept(mode))
		mmu_init_ept(m, ept);
	return (0);
}

/*
 * The EPT format over the long-mode geometry mmu_init_modes made (SDM
 * 3C, "EPT Translation Mechanism", "EPT Misconfigurations"): which bits
 * are present, A/D, the lock, the client's, reserved, and how attributes
 * map onto them.
 */
static void
mmu_init_ept(mmu_t *m, unsigned ept)
{
	const uint64_t high = bits(51, m->pa_bits);
	const int ad = (ept & HT_EPT_AD) != 0;

	m->ept = 1;
	m->ept_flags = ept;
	m->ept_xu = (ept & HT_EPT_MBEC) ? EPT_XU : 0;
	/* with MBEC, an entry with only bit 10 set is present too */
	m->pt_present = EPT_R | PT_WRITABLE | EPT_X | m->ept_xu;
	m->pt_ref = ad ? EPT_A : 0;
	m->pt_mod = ad ? EPT_D : 0;
	m->pt_cached = ad ? EPT_A | EPT_D : m->pt_present;
	m->pt_locked = EPT_LOCKED;
	m->pt_nx = 0;
	m->pt_global = 0;
	m->sw_attr = HT_SW(2) | HT_SW(3) | HT_SW(4) | HT_SW(5) | HT_SW(6);
	/* no PAT bit: bit 12 of a large leaf is reserved, not attribute */
	m->lgpg_mask = m->paddr_mask;
	for (int l = 0; l < m->num_level; l++) {
		m->nx_bit[l] = 0;
		m->ptp_bits[l] = l == 0 ? 0 : EPT_R | PT_WRITABLE | EPT_X |
		    m->ept_xu | m->pt_ref;
		/* a link's bits 6:3 are reserved; PS above PDPTEs too */
		m->rsvd_ptp[l] = high | bits(6, 3);
		m->rsvd_leaf[l] = high;
		if (l > 0)
			m->rsvd_leaf[l] |= bits(m->level_shift[l] - 1, 12);
		if (l >= 3)
			m->rsvd_leaf[l] = ~0ull;
	}
	/* everything but the address and PS survives a split */
	m->leaf_keep = ~(bits(51, 12) | PT_PAGESIZE);
	m->attr_keep[0] = m->attr_keep[1] = PT_WRITABLE | EPT_X | m->ept_xu |
	    EPT_MT | EPT_IPAT;
	m->neg_attr = HT_NOREAD;
	m->neg_bit = EPT_R;
	m->attr_map = HT_W | HT_X | HT_G | HT_PWT | HT_PCD | HT_PAT |
	    HT_NOREAD | HT_EPT_SVE | HT_EPT_VGP | HT_EPT_PW |
	    ((ept & HT_EPT_MBEC) ? HT_XU : 0) | (ad ? HT_A | HT_D : 0);
}

int
ept_misconfig(const mmu_t *m, x86pte_t pte, int leaf)
{
	unsigned t;

	if (!(pte & EPT_R)) {
		if (pte & PT_WRITABLE)
			return (1);
		if ((pte & (EPT_X | m->ept_xu)) &&
		    !(m->ept_flags & HT_EPT_XONLY))
			return (1);
	}
	t = (unsigned)(pte >> 3) & 7;
	return (leaf && (t == 2 || t == 3 || t == 7));
}

int
mmu_attr_check(const mmu_t *m, unsigned attr, const char *what)
{
	unsigned bad = attr & ~HT_SW_MASK & ~m->attr_map;

	switch (attr_fault(m, attr)) {
	case AF_OK:
		return (0);
	case AF_EPT_ONLY:
		return (ht__fail(HT_EINVAL, "%s: attributes 0x%x: HT_NOREAD "
		    "and HT_EPT_* exist only in EPT", what, bad));
	case AF_XU:
		return (ht__fail(HT_EINVAL, "%s: HT_XU (user-mode execute, "
		    "bit 10) needs HT_EPT_MBEC", what));
	case AF_AD:
		return (ht__fail(HT_EINVAL, "%s: HT_A/HT_D: EPT entries have "
		    "accessed/dirty bits only with HT_EPT_AD", what));
	case AF_UNKNOWN:
		return (ht__fail(HT_EINVAL, "%s: unknown attributes 0x%x",
		    what, bad));
	case AF_MT:
		return (ht__fail(HT_EINVAL, "%s: EPT memory type %u is "
		    "reserved (UC 0, WC 1, WT 4, WP 5, WB 6)", what,
		    HT_EPT_MT_OF(attr)));
	case AF_WNOR:
		return (ht__fail(HT_EINVAL, "%s: write without read (HT_W "
		    "with HT_NOREAD) is an EPT misconfiguration", what));
	case AF_NONE:
		return (ht__fail(HT_EINVAL, "%s: HT_NOREAD without HT_X or "
		    "HT_XU allows nothing: such an EPT entry is not present "
		    "(unmap instead)", what));
	default:
		return (ht__fail(HT_EINVAL, "%s: an execute-only page needs "
		    "HT_EPT_XONLY (a CPU that allows them)", what));
	}
}

void
mmu_tables(mmu_t *m)
{
	/*
	 * The large form without PS (mkpte adds it with the address); in a
	 * 4 KiB leaf the same bit 7 is PAT, which stays.
	 */
	/* the one-page paths' and ht_protect's quick refusals */
	m->fast_bad = 0;
	for (unsigned i = 0; i < 64; i++) {
		if (attr_fault(m, i << 1) != AF_OK)
			m->fast_bad |= 1ull << i;
	}
	m->prot_bad = 0;
	for (unsigned i = 0; i < 16; i++) {
		unsigned a = (i & 7) | ((i & 8) ? HT_NOREAD : 0);

		if (attr_fault(m, a) != AF_OK)
			m->prot_bad |= 1u << i;
	}
	for (unsigned a = 0; a < 256; a++) {
		m->enc[0][a] = mkpte_slow(m, 0, 0, a);
		m->enc[1][a] = mkpte_slow(m, 0, 1, a) & ~(x86pte_t)PT_PAGESIZE;
	}
	/*
	 * protect: W, U and NX replaced, X is NX clear; EPT: R, W, X and
	 * XU replaced, R unless HT_NOREAD (index 8)
	 */
	for (unsigned a = 0; a < 16; a++) {
		unsigned attr = ((a & 1) ? HT_W : 0) | ((a & 2) ? HT_U : 0) |
		    ((a & 4) ? HT_X : 0) | ((a & 8) ? HT_NOREAD : 0);

		for (int l = 0; l < HT_MAX_LEVELS; l++) {
			m->prot_clr[l] = m->ept ? EPT_R | PT_WRITABLE |
			    EPT_X | m->ept_xu : (PT_WRITABLE | PT_USER |
			    m->pt_nx) & ~m->leaf_force;
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
	m->leaf_keep = PT_VALID | PT_WRITABLE | PT_USER | PT_WRITETHRU |
	    PT_NOCACHE | PT_REF | PT_MOD | PT_GLOBAL | PT_LOCKED | PT_SW_LO |
	    PT_SW_HI | PT_NX;
	m->attr_keep[0] = PT_WRITABLE | PT_USER | PT_WRITETHRU | PT_NOCACHE |
	    PT_GLOBAL | PT_PAT_4K;
	m->attr_keep[1] = (m->attr_keep[0] & ~PT_PAT_4K) | PT_PAT_LARGE;
	m->neg_attr = HT_X;
	m->neg_bit = m->pt_nx;
	m->attr_map = HT_W | HT_U | HT_X | HT_G | HT_PWT | HT_PCD | HT_PAT |
	    HT_A | HT_D;
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

/* mkpte_slow in EPT: the rights, memory type and IPAT in their bits */
static x86pte_t
mkpte_ept(const mmu_t *m, ht_pa_t pa, int level, unsigned attr)
{
	x86pte_t pte = (attr & HT_NOREAD) ? 0 : EPT_R;

	if (level == 0)
		pte |= pa & m->paddr_mask;
	else
		pte |= PT_PAGESIZE | (pa & m->lgpg_mask & m->level_mask[level]);
	if (attr & HT_W)
		pte |= PT_WRITABLE;
	if (attr & HT_X)
		pte |= EPT_X;
	if (attr & HT_XU)
		pte |= m->ept_xu;
	if (attr & HT_EPT_IPAT)
		pte |= EPT_IPAT;
	pte |= (x86pte_t)(attr & HT_EPT_MT_MASK) >> 1;
	if (attr & HT_A)
		pte |= m->pt_ref;
	if (attr & HT_D)
		pte |= m->pt_mod;
	return (pte | sw_pte(m, attr) | ept_hi_pte(attr));
}

x86pte_t
mkpte_slow(const mmu_t *m, ht_pa_t pa, int level, unsigned attr)
{
	x86pte_t pte = PT_VALID;

	if (m->ept)
		return (mkpte_ept(m, pa, level, attr));

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
	x86pte_t pte = large & m->leaf_keep;

	HT_ASSERT(level > 0 && (large & PT_PAGESIZE));
	if (level - 1 == 0) {
		pte |= pa & m->paddr_mask;
		if (!m->ept && (large & PT_PAT_LARGE))
			pte |= PT_PAT_4K;	/* PAT moves to bit 7 */
	} else {
		pte |= PT_PAGESIZE | (pa & m->lgpg_mask);
		if (!m->ept)
			pte |= large & PT_PAT_LARGE;
	}
	return (pte);
}
