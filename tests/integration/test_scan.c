/*
 * test_scan.c - integration tests of ht_scan() and ht_scan_translate(),
 * the readers of page tables in an untrusted memory image.
 *
 * Only htable.h is used.  Most tests build an image by hand: a calloc'd
 * buffer whose byte offset is the physical address, entries written with
 * the raw x86 bits (Intel SDM vol. 3, chapter 4), so that the expected
 * leaves are known exactly and do not come from the library under test.
 * The read callback bounds-checks (zeros and 1 beyond the end, as the
 * contract asks) and records every request, so the tests also see what was
 * read: nothing outside the tables, no table read twice when it is shared.
 *
 * Every scan is also checked for the properties every scan must have:
 * leaves in strictly ascending VA order, not overlapping, each of a page
 * size of its level and aligned to it, and stats.leaves equal to the number
 * of leaves reported.  The last test compares ht_scan with ht_walk over
 * address spaces the library built, in every mode, leaf for leaf.
 *
 * AMD nested paging (npt4, npt5) reads the long-mode entry format over a
 * guest-physical space: [0, 2^48) or [0, 2^57), no canonical hole, so the
 * upper half of the root maps addresses that 4- and 5-level paging would
 * sign-extend.  The tests that loop over the modes run in them too.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htable.h"
#include "../lib/scan_image.h"

#define PG		4096ull
#define MIB		(1024ull * 1024)
#define GIB		(1024ull * MIB)

#define IMG_SIZE	(1 * MIB)	/* the default image */
#define IMG_FREE	0x20000ull	/* build() takes frames from here */

/* Raw x86 entry bits. */
#define E_P		0x001ull
#define E_W		0x002ull
#define E_U		0x004ull
#define E_PWT		0x008ull
#define E_PCD		0x010ull
#define E_A		0x020ull
#define E_D		0x040ull
#define E_PS		0x080ull
#define E_G		0x100ull
#define E_PATL		0x1000ull	/* PAT of a large leaf */
#define E_NX		(1ull << 63)
#define LINK		(E_P | E_W | E_U)

#define WUX		(HT_W | HT_U | HT_X)

#define NMODES		6

static const ht_mode_t all_modes[NMODES] = {
	HT_MODE_32BIT, HT_MODE_PAE, HT_MODE_4LEVEL, HT_MODE_5LEVEL,
	HT_MODE_NPT4, HT_MODE_NPT5
};

/* ------------------------------------------------------------------ */
/* The image                                                           */
/* ------------------------------------------------------------------ */


/* Read back an entry of the mode's size at pa. */
static uint64_t
get(const scan_image_t *im, const ht_geometry_t *g, ht_pa_t pa)
{
	uint32_t w;
	uint64_t v;

	if (g->pte_size == 4) {
		memcpy(&w, im->mem + pa, 4);
		return (w);
	}
	memcpy(&v, im->mem + pa, 8);
	return (v);
}

/* ------------------------------------------------------------------ */
/* Geometry helpers (from the public geometry only)                    */
/* ------------------------------------------------------------------ */

static unsigned
root_level(const ht_geometry_t *g)
{
	return (g->levels - 1);
}

static unsigned
nentries(const ht_geometry_t *g, unsigned level)
{
	return (level == root_level(g) ? g->top_level_count :
	    g->ptes_per_table);
}

/* Index of va in a level-`level` table. */
static unsigned
idx(const ht_geometry_t *g, ht_va_t va, unsigned level)
{
	return ((unsigned)(va >> g->level_shift[level]) &
	    (nentries(g, level) - 1));
}

/* Address of va's entry in the level-`level` table at table. */
static ht_pa_t
ent(const ht_geometry_t *g, ht_pa_t table, ht_va_t va, unsigned level)
{
	return (table + (ht_pa_t)idx(g, va, level) * g->pte_size);
}

static uint64_t
lsize(const ht_geometry_t *g, unsigned level)
{
	return (1ull << g->level_shift[level]);
}

/*
 * Canonical form of a linear address in the mode; without a hole (32-bit
 * and PAE paging, nested paging's guest-physical space) the address cut
 * to the mode's width.
 */
static ht_va_t
canon(const ht_geometry_t *g, uint64_t va)
{
	unsigned b = g->va_bits;

	if (g->hole_start == 0)
		return (va & ~(~0ull << b));
	va &= ~(~0ull << b);
	if (va & (1ull << (b - 1)))
		va |= ~0ull << b;
	return (va);
}

/* Table address held by a link entry (as the library's own tables). */
static ht_pa_t
link_addr(const ht_geometry_t *g, uint64_t pte)
{
	return (pte & (g->pte_size == 4 ? 0xfffff000ull :
	    0x000ffffffffff000ull));
}

/* The bits of a link entry at level l when the test names none. */
static uint64_t
link_bits(const ht_geometry_t *g, unsigned level)
{
	if (g->mode == HT_MODE_PAE && level == 2)
		return (E_P);		/* a PDPTE: no R/W, U/S */
	return (LINK);
}

/*
 * Make va map through leaf (an entry at leaf_level) in the tables under
 * root, taking missing tables from im->next.  link[l] (NULL: the defaults)
 * are the bits of the link entry at level l; an existing link keeps its
 * table and takes these bits.
 */
static void
build(scan_image_t *im, ht_mode_t mode, ht_pa_t root, ht_va_t va,
    unsigned leaf_level, uint64_t leaf, const uint64_t *link)
{
	const ht_geometry_t *g = ht_geometry(mode);
	ht_pa_t table = root;

	for (unsigned l = root_level(g); l > leaf_level; l--) {
		ht_pa_t e = ent(g, table, va, l);
		uint64_t old = get(im, g, e);
		ht_pa_t next;

		if (old & E_P) {
			next = link_addr(g, old);
		} else {
			next = im->next;
			im->next += PG;
			cr_assert(next < im->size, "image full");
		}
		put(im, g->pte_size, e, next | (link != NULL && link[l] != 0 ?
		    link[l] : link_bits(g, l)));
		table = next;
	}
	put(im, g->pte_size, ent(g, table, va, leaf_level), leaf);
}

/* ------------------------------------------------------------------ */
/* Scanning and checking                                               */
/* ------------------------------------------------------------------ */

typedef struct leaves {
	ht_leaf_t	*v;
	size_t		n, cap;
	size_t		stop_at;	/* stop_rc at leaf n; 0 never */
	int		stop_rc;
} leaves_t;

/* The walk function: record the leaf; stop as lv->stop_at says. */
static int
collect(void *arg, const ht_leaf_t *l)
{
	leaves_t *lv = arg;

	if (lv->n == lv->cap) {
		lv->cap = lv->cap ? lv->cap * 2 : 64;
		lv->v = realloc(lv->v, lv->cap * sizeof (*lv->v));
		cr_assert_not_null(lv->v);
	}
	lv->v[lv->n++] = *l;
	if (lv->stop_at != 0 && lv->n == lv->stop_at)
		return (lv->stop_rc);
	return (0);
}

static void
leaves_free(leaves_t *lv)
{
	free(lv->v);
	memset(lv, 0, sizeof (*lv));
}

/* A configuration reading im in mode from cr3, everything else 0. */
static ht_scan_cfg_t
mkcfg(scan_image_t *im, ht_mode_t mode, uint64_t cr3)
{
	ht_scan_cfg_t cfg;

	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.cr3 = cr3;
	cfg.read = img_read;
	cfg.read_arg = im;
	return (cfg);
}

/*
 * The properties of every list of leaves: ascending, not overlapping,
 * each of its level's page size and aligned to it, within the mode.
 */
static void
check_order(ht_mode_t mode, const leaves_t *lv)
{
	const ht_geometry_t *g = ht_geometry(mode);

	for (size_t i = 0; i < lv->n; i++) {
		const ht_leaf_t *l = &lv->v[i];

		cr_assert(l->level < g->levels, "leaf %zu: level %u", i,
		    l->level);
		cr_assert_eq(l->size, lsize(g, l->level), "leaf %zu: size "
		    "0x%llx at level %u", i, (unsigned long long)l->size,
		    l->level);
		cr_assert_eq(l->va & (l->size - 1), 0, "leaf %zu: va 0x%llx "
		    "not aligned", i, (unsigned long long)l->va);
		cr_assert_eq(l->va, canon(g, l->va), "leaf %zu: va 0x%llx "
		    "not canonical", i, (unsigned long long)l->va);
		if (i == 0)
			continue;
		cr_assert(l->va > lv->v[i - 1].va &&
		    l->va - lv->v[i - 1].va >= lv->v[i - 1].size,
		    "leaf %zu: va 0x%llx after 0x%llx (size 0x%llx)", i,
		    (unsigned long long)l->va,
		    (unsigned long long)lv->v[i - 1].va,
		    (unsigned long long)lv->v[i - 1].size);
	}
}

/*
 * ht_scan(cfg) into lv (emptied first), with the checks every scan must
 * pass; returns what ht_scan returned, the stats in *st.
 */
static int
do_scan(const ht_scan_cfg_t *cfg, leaves_t *lv, ht_scan_stats_t *st)
{
	int rc;

	lv->n = 0;
	memset(st, 0xa5, sizeof (*st));	/* ht_scan must fill it */
	rc = ht_scan(cfg, collect, lv, st);
	if (cfg != NULL)
		check_order(cfg->mode, lv);
	cr_assert_eq(st->leaves, lv->n, "stats.leaves %llu, %zu reported",
	    (unsigned long long)st->leaves, lv->n);
	cr_assert(st->unbacked <= st->tables);
	if (st->unbacked == 0)
		cr_assert_eq(st->first_unbacked, 0);
	return (rc);
}

#define EXPECT_LEAF(g, l, va, pa, lvl, attr, eff, pte)			\
	expect_leaf(__LINE__, (g), (l), (va), (pa), (lvl), (attr), (eff), (pte))

/* One leaf is exactly this. */
static void
expect_leaf(int line, const ht_geometry_t *g, const ht_leaf_t *l, ht_va_t va,
    ht_pa_t pa, unsigned level, unsigned attr, unsigned eff, uint64_t pte)
{
	cr_assert(l->va == va && l->pa == pa && l->level == level &&
	    l->size == lsize(g, level) && l->attr == attr && l->eff == eff &&
	    l->pte == pte,
	    "line %d: %s leaf va 0x%llx pa 0x%llx level %u size 0x%llx "
	    "attr 0x%x eff 0x%x pte 0x%llx, expected va 0x%llx pa 0x%llx "
	    "level %u size 0x%llx attr 0x%x eff 0x%x pte 0x%llx", line,
	    ht_mode_name(g->mode), (unsigned long long)l->va,
	    (unsigned long long)l->pa, l->level, (unsigned long long)l->size,
	    l->attr, l->eff, (unsigned long long)l->pte,
	    (unsigned long long)va, (unsigned long long)pa, level,
	    (unsigned long long)lsize(g, level), attr, eff,
	    (unsigned long long)pte);
}

#define EXPECT_STATS(st, lv, tb, ub, first, rsv)			\
	expect_stats(__LINE__, (st), (lv), (tb), (ub), (first), (rsv))

/* The stats are exactly these. */
static void
expect_stats(int line, const ht_scan_stats_t *st, uint64_t leaves,
    uint64_t tables, uint64_t unbacked, ht_pa_t first, uint64_t reserved)
{
	cr_assert(st->leaves == leaves && st->tables == tables &&
	    st->unbacked == unbacked && st->first_unbacked == first &&
	    st->reserved == reserved,
	    "line %d: stats leaves %llu tables %llu unbacked %llu first "
	    "0x%llx reserved %llu, expected %llu %llu %llu 0x%llx %llu", line,
	    (unsigned long long)st->leaves, (unsigned long long)st->tables,
	    (unsigned long long)st->unbacked,
	    (unsigned long long)st->first_unbacked,
	    (unsigned long long)st->reserved, (unsigned long long)leaves,
	    (unsigned long long)tables, (unsigned long long)unbacked,
	    (unsigned long long)first, (unsigned long long)reserved);
}

/* ht_scan_translate that must succeed (rc 0). */
static ht_scan_xlate_t
xlate(const ht_scan_cfg_t *cfg, ht_va_t va)
{
	ht_scan_xlate_t x;
	int rc;

	memset(&x, 0xa5, sizeof (x));
	rc = ht_scan_translate(cfg, va, &x);
	cr_assert_eq(rc, 0, "translate 0x%llx: %s (%s)",
	    (unsigned long long)va, ht_err_name(rc), ht_errdetail());
	cr_assert_eq(x.va, va);
	cr_assert(x.nsteps <= HT_MAX_LEVELS);
	return (x);
}

#define EXPECT_STEP(x, i, addr, lvl, index, pte, ub)			\
	expect_step(__LINE__, (x), (i), (addr), (lvl), (index), (pte), (ub))

/* Step i of a translation is exactly this. */
static void
expect_step(int line, const ht_scan_xlate_t *x, unsigned i, ht_pa_t addr,
    unsigned level, unsigned index, uint64_t pte, int unbacked)
{
	const ht_scan_step_t *s = &x->step[i];

	cr_assert(i < x->nsteps, "line %d: step %u of %u", line, i,
	    x->nsteps);
	cr_assert(s->addr == addr && s->level == level && s->index == index &&
	    s->pte == pte && (s->unbacked != 0) == (unbacked != 0),
	    "line %d: step %u addr 0x%llx level %u index %u pte 0x%llx "
	    "unbacked %d, expected 0x%llx %u %u 0x%llx %d", line, i,
	    (unsigned long long)s->addr, s->level, s->index,
	    (unsigned long long)s->pte, s->unbacked,
	    (unsigned long long)addr, level, index, (unsigned long long)pte,
	    unbacked);
}

/*
 * The steps of a translation of va follow the path from root: each step's
 * address is va's entry in the table the previous step named.
 */
static void
expect_path(const scan_image_t *im, const ht_geometry_t *g, const ht_scan_xlate_t *x,
    ht_pa_t root)
{
	ht_pa_t table = root;

	for (unsigned i = 0; i < x->nsteps; i++) {
		unsigned l = root_level(g) - i;
		ht_pa_t a = ent(g, table, x->va, l);

		EXPECT_STEP(x, i, a, l, idx(g, x->va, l),
		    a < im->size ? get(im, g, a) : 0, a >= im->size);
		table = link_addr(g, x->step[i].pte);
	}
}

/* ------------------------------------------------------------------ */
/* Simple chains, every mode                                           */
/* ------------------------------------------------------------------ */

/*
 * Per mode: a VA in the low part and one in the high part (in nested
 * paging, where 4- and 5-level paging have their holes).
 */
static const ht_va_t va_lo[NMODES] = {
	0x00401000ull, 0x00201000ull, 0x00007f1234567000ull,
	0x00ff123456789000ull, 0x00007f1234567000ull, 0x00ff123456789000ull
};
static const ht_va_t va_hi[NMODES] = {
	0xdeadb000ull, 0xc0123000ull, 0xffff800000201000ull,
	0xff00000000201000ull, 0x0000ff8000201000ull, 0x0100000000201000ull
};

/* HT_X as a leaf without NX reports it: always in 32-bit mode. */
static unsigned
x_if(const ht_geometry_t *g, int nx)
{
	return (!g->has_nx || !nx ? HT_X : 0);
}

/*
 * Two chains to 4 KiB leaves, one in each half of the space (both halves
 * of the canonical space in 4/5-level), in every mode.
 */
Test(scan, chains, .timeout = 60)
{
	for (int mi = 0; mi < NMODES; mi++) {
		ht_mode_t mode = all_modes[mi];
		const ht_geometry_t *g = ht_geometry(mode);
		uint64_t nx = g->has_nx ? E_NX : 0;
		uint64_t lo = 0x12345000ull | E_P | E_W | E_U | E_A | E_D;
		uint64_t hi = 0x6789a000ull | E_P | E_G | nx;
		ht_scan_cfg_t cfg;
		ht_scan_stats_t st;
		leaves_t lv = { 0 };
		scan_image_t im;
		unsigned ntables = 1 + 2 * (g->levels - 1);

		img_init(&im, IMG_SIZE, IMG_FREE);
		build(&im, mode, 0x1000, va_lo[mi], 0, lo, NULL);
		build(&im, mode, 0x1000, va_hi[mi], 0, hi, NULL);
		cfg = mkcfg(&im, mode, 0x1000);

		cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
		cr_assert_eq(lv.n, 2, "%s: %zu leaves", ht_mode_name(mode),
		    lv.n);
		EXPECT_LEAF(g, &lv.v[0], va_lo[mi], 0x12345000, 0,
		    HT_W | HT_U | HT_X | HT_A | HT_D, WUX, lo);
		EXPECT_LEAF(g, &lv.v[1], va_hi[mi], 0x6789a000, 0,
		    HT_G | x_if(g, 1), x_if(g, 1), hi);
		EXPECT_STATS(&st, 2, ntables, 0, 0, 0);
		/* the tables and nothing else, each read once */
		cr_assert(im.hi <= im.next, "read up to 0x%llx",
		    (unsigned long long)im.hi);
		cr_assert(im.bytes <= ntables * PG);

		/* the same in QEMU's reading */
		cfg.flags = HT_SCAN_QEMU;
		cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
		cr_assert_eq(lv.n, 2);
		EXPECT_LEAF(g, &lv.v[0], va_lo[mi], 0x12345000, 0,
		    HT_W | HT_U | HT_X | HT_A | HT_D, WUX, lo);
		EXPECT_STATS(&st, 2, ntables, 0, 0, 0);

		/* max_leaves: exactly the count is fine, one less is not */
		cfg.flags = 0;
		cfg.max_leaves = 2;
		cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
		cr_assert_eq(lv.n, 2);
		cfg.max_leaves = 1;
		cr_assert_eq(do_scan(&cfg, &lv, &st), -HT_ERANGE);
		cr_assert_eq(lv.n, 1);
		cr_assert_eq(lv.v[0].va, va_lo[mi]);

		leaves_free(&lv);
		img_free(&im);
	}
}

/* The large page sizes of every mode, with PAT in bit 12. */
Test(scan, page_sizes, .timeout = 60)
{
	for (int mi = 0; mi < NMODES; mi++) {
		ht_mode_t mode = all_modes[mi];
		const ht_geometry_t *g = ht_geometry(mode);
		ht_scan_cfg_t cfg;
		ht_scan_stats_t st;
		leaves_t lv = { 0 };
		scan_image_t im;
		uint64_t a, b, c;

		img_init(&im, IMG_SIZE, IMG_FREE);
		cfg = mkcfg(&im, mode, 0x1000);
		switch (mode) {
		case HT_MODE_32BIT:
			/* two 4 MiB leaves */
			a = 0x00c00000ull | E_PS | E_P | E_W;
			b = 0x01000000ull | E_PS | E_P | E_U | E_PATL | E_D;
			build(&im, mode, 0x1000, 0x00800000, 1, a, NULL);
			build(&im, mode, 0x1000, 0x00c00000, 1, b, NULL);
			cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
			cr_assert_eq(lv.n, 2);
			EXPECT_LEAF(g, &lv.v[0], 0x00800000, 0x00c00000, 1,
			    HT_W | HT_X, HT_W | HT_X, a);
			EXPECT_LEAF(g, &lv.v[1], 0x00c00000, 0x01000000, 1,
			    HT_U | HT_X | HT_PAT | HT_D, HT_U | HT_X, b);
			EXPECT_STATS(&st, 2, 1, 0, 0, 0);
			break;
		case HT_MODE_PAE:
			/* two 2 MiB leaves under different PDPTEs */
			a = 0x7fe00000ull | E_PS | E_P | E_W | E_U | E_PATL |
			    E_NX;
			b = 0x3c00000000ull | E_PS | E_P | E_G | E_PCD;
			build(&im, mode, 0x1000, 0x40200000, 1, a, NULL);
			build(&im, mode, 0x1000, 0xffe00000, 1, b, NULL);
			cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
			cr_assert_eq(lv.n, 2);
			EXPECT_LEAF(g, &lv.v[0], 0x40200000, 0x7fe00000, 1,
			    HT_W | HT_U | HT_PAT, HT_W | HT_U, a);
			EXPECT_LEAF(g, &lv.v[1], 0xffe00000, 0x3c00000000ull,
			    1, HT_G | HT_PCD | HT_X, HT_X, b);
			EXPECT_STATS(&st, 2, 3, 0, 0, 0);
			break;
		default: {
			/* a 2 MiB leaf, a 1 GiB leaf and a 4 KiB leaf */
			ht_va_t va2 = g->levels == 4 ? 0x40200000ull :
			    (3ull << 48) | 0x40200000ull;
			ht_va_t va1 = va2 - 0x40200000ull + 0x80000000ull;
			ht_va_t va0 = va2 - 0x40200000ull + 0x0fffff000ull;
			unsigned nt = g->levels - 3;	/* above the PDPT */

			a = 0x80000000ull | E_PS | E_P | E_W | E_G | E_PATL;
			b = 0x1c0000000ull | E_PS | E_P | E_U | E_NX | E_A |
			    E_D;
			c = 0xfffff000ull | E_P | E_W | E_U | E_PS;  /* PAT */
			build(&im, mode, 0x1000, va2, 1, a, NULL);
			build(&im, mode, 0x1000, va1, 2, b, NULL);
			build(&im, mode, 0x1000, va0, 0, c, NULL);
			cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
			cr_assert_eq(lv.n, 3);
			EXPECT_LEAF(g, &lv.v[0], va2, 0x80000000ull, 1,
			    HT_W | HT_X | HT_G | HT_PAT, HT_W | HT_X, a);
			EXPECT_LEAF(g, &lv.v[1], va1, 0x1c0000000ull, 2,
			    HT_U | HT_A | HT_D, HT_U, b);
			EXPECT_LEAF(g, &lv.v[2], va0, 0xfffff000ull, 0,
			    WUX | HT_PAT, WUX, c);
			/* root (and PML4), PDPT, PD for va2, PD + PT for va0 */
			EXPECT_STATS(&st, 3, nt + 1 + 2 + 1, 0, 0, 0);
			break;
		}
		}
		leaves_free(&lv);
		img_free(&im);
	}
}

/* ------------------------------------------------------------------ */
/* Effective permissions                                               */
/* ------------------------------------------------------------------ */

/*
 * W and U are ANDed over the levels and NX at any level clears X
 * (4-level, and the long-mode entries of 5-level and nested paging): a
 * PDE without W makes the leaf read-only, and so on.
 */
static void
eff_long(ht_mode_t mode)
{
	const ht_geometry_t *g = ht_geometry(mode);
	const uint64_t full = E_P | E_W | E_U;
	uint64_t no_w_pde[5] = { [1] = E_P | E_U };
	uint64_t nx_pml4e[5] = { [3] = LINK | E_NX };
	uint64_t no_u_pdpte[5] = { [2] = E_P | E_W };
	uint64_t all[5] = { [3] = E_P | E_U, [2] = LINK | E_NX,
	    [1] = E_P | E_W };
	ht_scan_cfg_t cfg;
	ht_scan_stats_t st;
	leaves_t lv = { 0 };
	scan_image_t im;

	img_init(&im, IMG_SIZE, IMG_FREE);
	build(&im, mode, 0x1000, 0, 0, 0xa000 | full, NULL);
	build(&im, mode, 0x1000, 1ull << 30, 0, 0xb000 | full, no_w_pde);
	build(&im, mode, 0x1000, 2ull << 30, 0, 0xc000 | full, no_u_pdpte);
	build(&im, mode, 0x1000, 3ull << 30, 0, 0xd000 | E_P | E_U | E_NX,
	    NULL);
	build(&im, mode, 0x1000, 1ull << 39, 0, 0xe000 | full, nx_pml4e);
	build(&im, mode, 0x1000, 2ull << 39, 0, 0xf000 | full, all);
	cfg = mkcfg(&im, mode, 0x1000);

	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 6);
	EXPECT_LEAF(g, &lv.v[0], 0, 0xa000, 0, WUX, WUX, 0xa000 | full);
	EXPECT_LEAF(g, &lv.v[1], 1ull << 30, 0xb000, 0, WUX, HT_U | HT_X,
	    0xb000 | full);
	EXPECT_LEAF(g, &lv.v[2], 2ull << 30, 0xc000, 0, WUX, HT_W | HT_X,
	    0xc000 | full);
	EXPECT_LEAF(g, &lv.v[3], 3ull << 30, 0xd000, 0, HT_U, HT_U,
	    0xd000 | E_P | E_U | E_NX);
	EXPECT_LEAF(g, &lv.v[4], 1ull << 39, 0xe000, 0, WUX, HT_W | HT_U,
	    0xe000 | full);
	EXPECT_LEAF(g, &lv.v[5], 2ull << 39, 0xf000, 0, WUX, 0,
	    0xf000 | full);

	/* ht_scan_translate computes the same */
	cr_assert_eq(xlate(&cfg, (1ull << 30) + 5).eff, HT_U | HT_X);
	cr_assert_eq(xlate(&cfg, (2ull << 30) + 5).eff, HT_W | HT_X);
	cr_assert_eq(xlate(&cfg, (1ull << 39) + 5).eff, HT_W | HT_U);
	cr_assert_eq(xlate(&cfg, (2ull << 39) + 5).eff, 0);
	cr_assert_eq(xlate(&cfg, (2ull << 39) + 5).attr, WUX);

	leaves_free(&lv);
	img_free(&im);
}

Test(scan, eff_4level, .timeout = 30)
{
	eff_long(HT_MODE_4LEVEL);
}

Test(scan, eff_5level, .timeout = 30)
{
	eff_long(HT_MODE_5LEVEL);
}

Test(scan, eff_npt4, .timeout = 30)
{
	eff_long(HT_MODE_NPT4);
}

Test(scan, eff_npt5, .timeout = 30)
{
	eff_long(HT_MODE_NPT5);
}

/*
 * PAE: PDPTEs hold no R/W, U/S or NX and restrict nothing (they may have
 * PWT/PCD); PDEs and PTEs restrict as in 4-level paging.
 */
Test(scan, eff_pae, .timeout = 30)
{
	const ht_mode_t mode = HT_MODE_PAE;
	const ht_geometry_t *g = ht_geometry(mode);
	const uint64_t full = E_P | E_W | E_U;
	uint64_t cache_pdpte[3] = { [2] = E_P | E_PWT | E_PCD,
	    [1] = E_P | E_W };
	uint64_t nx_pde[3] = { [1] = LINK | E_NX };
	ht_scan_cfg_t cfg;
	ht_scan_stats_t st;
	leaves_t lv = { 0 };
	scan_image_t im;
	uint64_t big = 0x40000000ull | E_PS | E_P | E_U | E_NX;

	img_init(&im, IMG_SIZE, IMG_FREE);
	build(&im, mode, 0x1000, 0, 0, 0xa000 | full, NULL);
	build(&im, mode, 0x1000, 1ull << 30, 0, 0xb000 | full, cache_pdpte);
	build(&im, mode, 0x1000, 2ull << 30, 0, 0xc000 | full, nx_pde);
	build(&im, mode, 0x1000, 3ull << 30, 1, big, NULL);
	cfg = mkcfg(&im, mode, 0x1000);

	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 4);
	EXPECT_LEAF(g, &lv.v[0], 0, 0xa000, 0, WUX, WUX, 0xa000 | full);
	EXPECT_LEAF(g, &lv.v[1], 1ull << 30, 0xb000, 0, WUX, HT_W | HT_X,
	    0xb000 | full);
	EXPECT_LEAF(g, &lv.v[2], 2ull << 30, 0xc000, 0, WUX, HT_W | HT_U,
	    0xc000 | full);
	EXPECT_LEAF(g, &lv.v[3], 3ull << 30, 0x40000000, 1, HT_U, HT_U, big);
	EXPECT_STATS(&st, 4, 1 + 4 + 3, 0, 0, 0);
	cr_assert_eq(xlate(&cfg, 0x123).eff, WUX);
	cr_assert_eq(xlate(&cfg, (2ull << 30) + 0x123).eff, HT_W | HT_U);

	leaves_free(&lv);
	img_free(&im);
}

/* 32-bit paging: W and U ANDed; there is no NX, X is always there. */
Test(scan, eff_32bit, .timeout = 30)
{
	const ht_mode_t mode = HT_MODE_32BIT;
	const ht_geometry_t *g = ht_geometry(mode);
	const uint64_t full = E_P | E_W | E_U;
	uint64_t no_w[2] = { [1] = E_P | E_U };
	uint64_t no_u[2] = { [1] = E_P | E_W };
	ht_scan_cfg_t cfg;
	ht_scan_stats_t st;
	leaves_t lv = { 0 };
	scan_image_t im;
	uint64_t big = 0x00c00000ull | E_PS | E_P;

	img_init(&im, IMG_SIZE, IMG_FREE);
	build(&im, mode, 0x1000, 0, 0, 0xa000 | full, NULL);
	build(&im, mode, 0x1000, 4 * MIB, 0, 0xb000 | full, no_w);
	build(&im, mode, 0x1000, 8 * MIB, 0, 0xc000 | full, no_u);
	build(&im, mode, 0x1000, 12 * MIB, 1, big, NULL);
	cfg = mkcfg(&im, mode, 0x1000);

	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 4);
	EXPECT_LEAF(g, &lv.v[0], 0, 0xa000, 0, WUX, WUX, 0xa000 | full);
	EXPECT_LEAF(g, &lv.v[1], 4 * MIB, 0xb000, 0, WUX, HT_U | HT_X,
	    0xb000 | full);
	EXPECT_LEAF(g, &lv.v[2], 8 * MIB, 0xc000, 0, WUX, HT_W | HT_X,
	    0xc000 | full);
	EXPECT_LEAF(g, &lv.v[3], 12 * MIB, 0x00c00000, 1, HT_X, HT_X, big);
	EXPECT_STATS(&st, 4, 4, 0, 0, 0);

	leaves_free(&lv);
	img_free(&im);
}

/* ------------------------------------------------------------------ */
/* Self-maps                                                           */
/* ------------------------------------------------------------------ */

/*
 * A Windows-style self-map: root entry 510 names the root itself (P|W|A,
 * no U), and R[0] -> ... -> X maps VA 0.  The MMU sees, level by level,
 * the leaf X at 0 and then each table of the chain as a 4 KiB page:
 * at canon(510 << top) the last table above the leaf, then one table up
 * for each further 510 index, ending with the root itself.
 */
static void
self_map(ht_mode_t mode)
{
	const ht_geometry_t *g = ht_geometry(mode);
	const ht_pa_t R = 0x1000, X = 0x7000000;
	const uint64_t self = R | E_P | E_W | E_A;
	unsigned top = root_level(g);
	ht_pa_t chain[HT_MAX_LEVELS];	/* chain[l]: table at level l */
	ht_scan_cfg_t cfg;
	ht_scan_stats_t st;
	leaves_t lv = { 0 };
	scan_image_t im;
	ht_va_t va;

	img_init(&im, IMG_SIZE, IMG_FREE);
	build(&im, mode, R, 0, 0, X | LINK, NULL);
	put(&im, g->pte_size, R + 510 * 8, self);
	chain[top] = R;
	for (unsigned l = top; l > 0; l--)
		chain[l - 1] = link_addr(g, get(&im, g, chain[l]));
	cfg = mkcfg(&im, mode, R);

	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, g->levels + 1, "%s: %zu leaves",
	    ht_mode_name(mode), lv.n);
	EXPECT_LEAF(g, &lv.v[0], 0, X, 0, WUX, WUX, X | LINK);
	/*
	 * Leaf k (k = 1..levels) has k indices of 510 from the top and
	 * maps the table k levels above the bottom of the chain.
	 */
	va = 0;
	for (unsigned k = 1; k <= g->levels; k++) {
		va |= 510ull << g->level_shift[top - (k - 1)];
		if (k < g->levels)
			EXPECT_LEAF(g, &lv.v[k], canon(g, va), chain[k - 1],
			    0, WUX, HT_W | HT_X, chain[k - 1] | LINK);
		else
			EXPECT_LEAF(g, &lv.v[k], canon(g, va), R, 0,
			    HT_W | HT_X | HT_A, HT_W | HT_X, self);
	}
	/* each table once per level it is reached at: R at every level,
	   the next one at every level but the top, ... */
	EXPECT_STATS(&st, g->levels + 1, g->levels * (g->levels + 1) / 2,
	    0, 0, 0);
	cr_assert(im.bytes <= st.tables * PG);

	/* translating the root's own page walks 510 at every level */
	ht_scan_xlate_t x = xlate(&cfg, canon(g, va) + 0x123);
	cr_assert_eq(x.stop, HT_STOP_MAPPED);
	cr_assert_eq(x.pa, R + 0x123);
	cr_assert_eq(x.nsteps, g->levels);
	for (unsigned i = 0; i < g->levels; i++)
		EXPECT_STEP(&x, i, R + 510 * 8, top - i, 510, self, 0);
	cr_assert_eq(x.eff, HT_W | HT_X);

	leaves_free(&lv);
	img_free(&im);
}

Test(scan, self_map_4level, .timeout = 30)
{
	self_map(HT_MODE_4LEVEL);
}

Test(scan, self_map_5level, .timeout = 30)
{
	self_map(HT_MODE_5LEVEL);
}

Test(scan, self_map_npt4, .timeout = 30)
{
	self_map(HT_MODE_NPT4);
}

Test(scan, self_map_npt5, .timeout = 30)
{
	self_map(HT_MODE_NPT5);
}

/*
 * The expected VAs of the self-map test, written out for 4-level, and for
 * npt4, where the same tables map guest-physical addresses below 2^48:
 * not sign-extended.
 */
static void
self_map_vas(ht_mode_t mode, const ht_va_t want[5])
{
	const ht_geometry_t *g = ht_geometry(mode);
	ht_scan_cfg_t cfg;
	ht_scan_stats_t st;
	leaves_t lv = { 0 };
	scan_image_t im;

	img_init(&im, IMG_SIZE, IMG_FREE);
	build(&im, mode, 0x1000, 0, 0, 0x7000000 | LINK, NULL);
	put(&im, g->pte_size, 0x1000 + 510 * 8, 0x1000 | LINK);
	cfg = mkcfg(&im, mode, 0x1000);
	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 5);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(lv.v[i].va, want[i], "%s leaf %d: 0x%llx",
		    ht_mode_name(mode), i, (unsigned long long)lv.v[i].va);
	cr_assert_eq(lv.v[4].pa, 0x1000);
	leaves_free(&lv);
	img_free(&im);
}

Test(scan, self_map_4level_vas, .timeout = 30)
{
	static const ht_va_t want[5] = {
		0,
		0xffffff0000000000ull,	/* 510 << 39 */
		0xffffff7f80000000ull,	/* | 510 << 30 */
		0xffffff7fbfc00000ull,	/* | 510 << 21 */
		0xffffff7fbfdfe000ull,	/* | 510 << 12 */
	};

	self_map_vas(HT_MODE_4LEVEL, want);
}

Test(scan, self_map_npt4_vas, .timeout = 30)
{
	static const ht_va_t want[5] = {
		0,
		0x0000ff0000000000ull,	/* 510 << 39 */
		0x0000ff7f80000000ull,	/* | 510 << 30 */
		0x0000ff7fbfc00000ull,	/* | 510 << 21 */
		0x0000ff7fbfdfe000ull,	/* | 510 << 12 */
	};

	self_map_vas(HT_MODE_NPT4, want);
}

/* ------------------------------------------------------------------ */
/* Sharing                                                             */
/* ------------------------------------------------------------------ */

/*
 * Every entry of every table names the same next table: root -> P -> D
 * -> T at frames 0x1000.., in 4-, 5-level or nested paging.  Returns the PT.
 */
static ht_pa_t
share_all(scan_image_t *im, ht_mode_t mode)
{
	const ht_geometry_t *g = ht_geometry(mode);

	for (unsigned l = root_level(g); l > 0; l--) {
		ht_pa_t t = (ht_pa_t)(root_level(g) - l + 1) * PG;

		for (unsigned i = 0; i < 512; i++)
			put(im, g->pte_size, t + i * 8ull, (t + PG) | LINK);
	}
	return ((ht_pa_t)g->levels * PG);
}

/*
 * (a) An empty PT under complete sharing: 512^(levels-1) paths, no leaf.
 * The memo reads each (frame, level) once and never again, so this ends
 * at once; without it the PT would be read 2^27 (4-level) times.
 */
Test(scan, sharing_empty, .timeout = 30)
{
	for (int mi = 2; mi < NMODES; mi++) {
		ht_mode_t mode = all_modes[mi];
		const ht_geometry_t *g = ht_geometry(mode);
		ht_scan_cfg_t cfg;
		ht_scan_stats_t st;
		leaves_t lv = { 0 };
		scan_image_t im;

		img_init(&im, IMG_SIZE, IMG_FREE);
		(void) share_all(&im, mode);
		cfg = mkcfg(&im, mode, PG);
		for (int q = 0; q < 2; q++) {
			cfg.flags = q ? HT_SCAN_QEMU : 0;
			img_clear_counts(&im);
			cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
			cr_assert_eq(lv.n, 0);
			EXPECT_STATS(&st, 0, g->levels, 0, 0, 0);
			/* each table read once, nothing else */
			cr_assert(im.bytes <= g->levels * PG,
			    "%llu bytes read", (unsigned long long)im.bytes);
			cr_assert(im.hi <= (g->levels + 1) * PG);
		}
		leaves_free(&lv);
		img_free(&im);
	}
}

/*
 * (b) One leaf in the shared PT: 2^27 leaves in 4-level paging, so
 * max_leaves ends the scan with -HT_ERANGE after exactly that many, in
 * order, and the reads stay proportional to the leaves reported.
 * (c) A walk function that returns 7 stops the scan with 7.
 * npt4's tables are 4-level's, the leaves at the same (low) addresses.
 */
static void
bomb(ht_mode_t mode)
{
	const ht_geometry_t *g = ht_geometry(mode);
	const uint64_t max = 100000;
	const uint64_t leaf = 0x5000 | E_P | E_W;
	ht_scan_cfg_t cfg;
	ht_scan_stats_t st;
	leaves_t lv = { 0 };
	scan_image_t im;
	ht_pa_t pt;
	int rc;

	img_init(&im, IMG_SIZE, IMG_FREE);
	pt = share_all(&im, mode);
	put(&im, g->pte_size, pt, leaf);
	cfg = mkcfg(&im, mode, PG);
	cfg.max_leaves = max;

	rc = do_scan(&cfg, &lv, &st);
	cr_assert_eq(rc, -HT_ERANGE, "rc %d (%s)", rc, ht_err_name(rc));
	cr_assert_eq(lv.n, max);
	EXPECT_STATS(&st, max, 4, 0, 0, 0);
	for (uint64_t n = 0; n < max; n++) {
		ht_va_t va = ((n >> 18) << 39) | (((n >> 9) & 511) << 30) |
		    ((n & 511) << 21);

		EXPECT_LEAF(g, &lv.v[n], va, 0x5000, 0, HT_W | HT_X, HT_W |
		    HT_X, leaf);
	}
	cr_assert(im.nreads <= 4 + 4 * max, "%llu reads for %llu leaves",
	    (unsigned long long)im.nreads, (unsigned long long)max);

	/* (c) */
	cfg.max_leaves = 0;
	lv.stop_at = 3;
	lv.stop_rc = 7;
	cr_assert_eq(do_scan(&cfg, &lv, &st), 7);
	cr_assert_eq(lv.n, 3);
	cr_assert_eq(lv.v[2].va, 2ull << 21);
	/* a negative answer is passed on as well */
	lv.stop_rc = -HT_EBUSY;
	cr_assert_eq(do_scan(&cfg, &lv, &st), -HT_EBUSY);
	cr_assert_eq(lv.n, 3);

	leaves_free(&lv);
	img_free(&im);
}

Test(scan, sharing_bomb, .timeout = 60)
{
	bomb(HT_MODE_4LEVEL);
}

Test(scan, sharing_bomb_npt4, .timeout = 60)
{
	bomb(HT_MODE_NPT4);
}

/*
 * A PD shared by two PDPTEs that grant different permissions: each path's
 * leaves carry that path's effective permissions (the memo records
 * which entries lead to leaves, not what they grant).  In 4-level
 * paging and in npt4, whose entries grant the same.
 */
static void
share_perm(ht_mode_t mode)
{
	const ht_geometry_t *g = ht_geometry(mode);
	const uint64_t leaf = 0x9000 | E_P | E_W | E_U;
	static const unsigned eff[3] = { WUX, HT_U | HT_X, HT_W | HT_U };
	ht_scan_cfg_t cfg;
	ht_scan_stats_t st;
	leaves_t lv = { 0 };
	scan_image_t im;
	ht_pa_t pdpt, pd;

	img_init(&im, IMG_SIZE, IMG_FREE);
	build(&im, mode, 0x1000, 0, 0, leaf, NULL);
	build(&im, mode, 0x1000, 2 * MIB, 0, leaf, NULL);
	pdpt = link_addr(g, get(&im, g, 0x1000));
	pd = link_addr(g, get(&im, g, pdpt));
	/* PDPT[1] and PDPT[3] name the same PD: read-only, NX */
	put(&im, g->pte_size, pdpt + 1 * 8, pd | E_P | E_U);
	put(&im, g->pte_size, pdpt + 3 * 8, pd | LINK | E_NX);
	cfg = mkcfg(&im, mode, 0x1000);

	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 6);
	for (int i = 0; i < 6; i++) {
		static const ht_va_t gib[3] = { 0, 1ull << 30, 3ull << 30 };

		EXPECT_LEAF(g, &lv.v[i], gib[i / 2] +
		    (ht_va_t)(i % 2) * 2 * MIB, 0x9000, 0, WUX, eff[i / 2],
		    leaf);
	}
	/* PML4, PDPT, the PD, two PTs: the PD is read at one level */
	EXPECT_STATS(&st, 6, 5, 0, 0, 0);

	leaves_free(&lv);
	img_free(&im);
}

Test(scan, sharing_permissions, .timeout = 30)
{
	share_perm(HT_MODE_4LEVEL);
}

Test(scan, sharing_permissions_npt4, .timeout = 30)
{
	share_perm(HT_MODE_NPT4);
}

/*
 * A PT shared by two PDEs, with leaves placed around the edges of the
 * 64-byte lines that the first visit passes over when they are empty, and
 * of the 64-entry words of the live bitmap: the revisit through the second
 * PDE reads only the entries the first found live, so a bit lost or set
 * wrongly shows as a leaf missing or added under the second PDE.
 */
Test(scan, sharing_sparse_live, .timeout = 30)
{
	static const unsigned at[] = { 0, 7, 8, 15, 16, 63, 64, 65, 127, 200,
	    448, 511, 512, 700, 1023 };

	for (int mi = 0; mi < NMODES; mi++) {
		ht_mode_t mode = all_modes[mi];
		const ht_geometry_t *g = ht_geometry(mode);
		const unsigned n = 4096 / g->pte_size;
		const uint64_t l1 = lsize(g, 1);
		ht_scan_cfg_t cfg;
		ht_scan_stats_t st;
		leaves_t lv = { 0 };
		scan_image_t im;
		ht_pa_t t = 0x1000;
		unsigned k = 0, want = 0;

		if (mode == HT_MODE_PAE)
			continue;	/* its 4-entry root: the same in 4-level */
		img_init(&im, IMG_SIZE, IMG_FREE);
		for (unsigned i = 0; i < sizeof (at) / sizeof (at[0]); i++) {
			if (at[i] >= n)
				continue;
			build(&im, mode, 0x1000, (ht_va_t)at[i] * PG, 0,
			    (0x100000 + (uint64_t)at[i] * PG) | E_P | E_W,
			    NULL);
			want++;
		}
		for (unsigned l = root_level(g); l > 1; l--)
			t = link_addr(g, get(&im, g, ent(g, t, 0, l)));
		put(&im, g->pte_size, ent(g, t, l1, 1), get(&im, g, ent(g, t, 0,
		    1)));
		cfg = mkcfg(&im, mode, 0x1000);

		cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
		cr_assert_eq(lv.n, 2 * want, "%s: %zu leaves, not %u",
		    ht_mode_name(mode), lv.n, 2 * want);
		for (unsigned half = 0; half < 2; half++) {
			for (unsigned i = 0; i < sizeof (at) / sizeof (at[0]);
			    i++) {
				const ht_leaf_t *l;

				if (at[i] >= n)
					continue;
				l = &lv.v[k++];
				cr_assert(l->va == half * l1 +
				    (ht_va_t)at[i] * PG && l->pa == 0x100000 +
				    (uint64_t)at[i] * PG, "%s: leaf %u va 0x%llx"
				    " pa 0x%llx", ht_mode_name(mode), k - 1,
				    (unsigned long long)l->va,
				    (unsigned long long)l->pa);
			}
		}
		/* every table once: the PT's second visit is the memo's */
		EXPECT_STATS(&st, 2 * want, g->levels, 0, 0, 0);
		leaves_free(&lv);
		img_free(&im);
	}
}

/* ------------------------------------------------------------------ */
/* Frames beyond the image                                             */
/* ------------------------------------------------------------------ */

/*
 * A PDPT beyond the end of a 64 KiB image: it reads as zeros, yields
 * nothing and is counted; the rest of the tables are scanned.  In
 * 4-level paging and in npt4, which reads the same tables.
 */
static void
unbacked(ht_mode_t mode)
{
	const ht_geometry_t *g = ht_geometry(mode);
	const ht_pa_t far = 0x40000000;
	const uint64_t leaf = 0x3000 | E_P | E_W | E_U;
	ht_scan_cfg_t cfg;
	ht_scan_stats_t st;
	leaves_t lv = { 0 };
	scan_image_t im;

	img_init(&im, 64 * 1024, IMG_FREE);
	im.next = 0x2000;
	put(&im, g->pte_size, 0x1000, far | LINK);
	build(&im, mode, 0x1000, 1ull << 39, 0, leaf, NULL);
	cfg = mkcfg(&im, mode, 0x1000);

	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 1);
	EXPECT_LEAF(g, &lv.v[0], 1ull << 39, 0x3000, 0, WUX, WUX, leaf);
	EXPECT_STATS(&st, 1, 5, 1, far, 0);
	cr_assert(im.hi <= far + PG, "read up to 0x%llx",
	    (unsigned long long)im.hi);

	/* translate: the second step is unbacked and not present */
	ht_scan_xlate_t x = xlate(&cfg, 0x12345678);
	cr_assert_eq(x.stop, HT_STOP_NOTPRESENT);
	cr_assert_eq(x.nsteps, 2);
	EXPECT_STEP(&x, 0, 0x1000, 3, 0, far | LINK, 0);
	EXPECT_STEP(&x, 1, far, 2, 0, 0, 1);

	/* a root beyond the image */
	cfg.cr3 = 0x80000000;
	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 0);
	EXPECT_STATS(&st, 0, 1, 1, 0x80000000, 0);
	x = xlate(&cfg, 0x12345678);
	cr_assert_eq(x.stop, HT_STOP_NOTPRESENT);
	cr_assert_eq(x.nsteps, 1);
	EXPECT_STEP(&x, 0, 0x80000000, 3, 0, 0, 1);

	leaves_free(&lv);
	img_free(&im);
}

Test(scan, unbacked, .timeout = 30)
{
	unbacked(HT_MODE_4LEVEL);
}

Test(scan, unbacked_npt4, .timeout = 30)
{
	unbacked(HT_MODE_NPT4);
}

/*
 * A PT cut by the end of the image: its first half is used, the second
 * half reads as zeros, and the table counts as unbacked.
 */
Test(scan, unbacked_partly, .timeout = 30)
{
	const ht_mode_t mode = HT_MODE_PAE;
	const ht_geometry_t *g = ht_geometry(mode);
	const uint64_t leaf = 0x77000 | E_P | E_W;
	ht_scan_cfg_t cfg;
	ht_scan_stats_t st;
	leaves_t lv = { 0 };
	scan_image_t im;

	img_init(&im, 0x3800, IMG_FREE);
	im.next = 0x2000;	/* PD 0x2000, PT 0x3000 (half of it) */
	build(&im, mode, 0x1000, 0x5000, 0, leaf, NULL);
	cr_assert_eq(im.next, 0x4000);
	cfg = mkcfg(&im, mode, 0x1000);

	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 1);
	EXPECT_LEAF(g, &lv.v[0], 0x5000, 0x77000, 0, HT_W | HT_X,
	    HT_W | HT_X, leaf);
	EXPECT_STATS(&st, 1, 3, 1, 0x3000, 0);

	ht_scan_xlate_t x = xlate(&cfg, 0x5000);
	cr_assert_eq(x.stop, HT_STOP_MAPPED);
	cr_assert_eq(x.step[2].unbacked, 0);	/* its entry is backed */
	x = xlate(&cfg, 0x1ff000);		/* the last entry is not */
	cr_assert_eq(x.stop, HT_STOP_NOTPRESENT);
	EXPECT_STEP(&x, 2, 0x3ff8, 0, 511, 0, 1);

	leaves_free(&lv);
	img_free(&im);
}

/* ------------------------------------------------------------------ */
/* Reserved bits: the MMU's reading and QEMU's                         */
/* ------------------------------------------------------------------ */

/*
 * A PDE with bit 51 set, MAXPHYADDR 48: a reserved-bit fault for the MMU
 * (skipped, counted), followed by QEMU's reading (it masks to bits 12..49);
 * with MAXPHYADDR 52 bit 51 is address, beyond the image.  In 4-level
 * paging and in npt4, whose PDEs reserve the same bits.
 */
static void
reserved_pde(ht_mode_t mode)
{
	const ht_geometry_t *g = ht_geometry(mode);
	const uint64_t la = 0xa000 | E_P | E_W, lb = 0xb000 | E_P | E_W;
	ht_scan_cfg_t cfg;
	ht_scan_stats_t st;
	leaves_t lv = { 0 };
	scan_image_t im;
	ht_pa_t pde;
	uint64_t v;

	img_init(&im, IMG_SIZE, IMG_FREE);
	build(&im, mode, 0x1000, 0, 0, la, NULL);
	build(&im, mode, 0x1000, 2 * MIB, 0, lb, NULL);
	pde = link_addr(g, get(&im, g, link_addr(g, get(&im, g, 0x1000))));
	v = get(&im, g, pde) | (1ull << 51);
	put(&im, g->pte_size, pde, v);
	cfg = mkcfg(&im, mode, 0x1000);
	cfg.pa_bits = 48;

	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 1);
	EXPECT_LEAF(g, &lv.v[0], 2 * MIB, 0xb000, 0, HT_W | HT_X,
	    HT_W | HT_X, lb);
	EXPECT_STATS(&st, 1, 4, 0, 0, 1);

	ht_scan_xlate_t x = xlate(&cfg, 0x42);
	cr_assert_eq(x.stop, HT_STOP_RESERVED);
	cr_assert_eq(x.nsteps, 3);
	EXPECT_STEP(&x, 2, pde, 1, 0, v, 0);

	cfg.flags = HT_SCAN_QEMU;
	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 2);
	EXPECT_LEAF(g, &lv.v[0], 0, 0xa000, 0, HT_W | HT_X, HT_W | HT_X, la);
	EXPECT_LEAF(g, &lv.v[1], 2 * MIB, 0xb000, 0, HT_W | HT_X,
	    HT_W | HT_X, lb);
	EXPECT_STATS(&st, 2, 5, 0, 0, 0);
	x = xlate(&cfg, 0x42);
	cr_assert_eq(x.stop, HT_STOP_MAPPED);
	cr_assert_eq(x.pa, 0xa042);

	cfg.flags = 0;
	cfg.pa_bits = 0;	/* 52: bit 51 is an address bit */
	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 1);
	EXPECT_STATS(&st, 1, 5, 1, link_addr(g, v), 0);
	cr_assert_eq(link_addr(g, v) >> 51, 1);

	leaves_free(&lv);
	img_free(&im);
}

Test(scan, reserved_pde, .timeout = 30)
{
	reserved_pde(HT_MODE_4LEVEL);
}

Test(scan, reserved_pde_npt4, .timeout = 30)
{
	reserved_pde(HT_MODE_NPT4);
}

/*
 * More reserved bits: PS in a PML4E (4-level) and in a PML5E (5-level),
 * R/W or PS in a PAE PDPTE (QEMU reads all of them as links), bits 13..20
 * of a 2 MiB leaf, a leaf above MAXPHYADDR; the same long-mode cases in
 * nested paging.  QEMU's reading maps va 0 in every case.
 */
Test(scan, reserved_more, .timeout = 30)
{
	struct {
		ht_mode_t	mode;
		unsigned	pa_bits;
		unsigned	level;	/* spoil va 0's entry here */
		uint64_t	bits;	/* set in it */
		unsigned	leaf_level;
	} c[] = {
		{ HT_MODE_4LEVEL, 0, 3, E_PS, 0 },
		{ HT_MODE_5LEVEL, 0, 4, E_PS, 0 },
		{ HT_MODE_5LEVEL, 0, 3, E_PS, 0 },
		{ HT_MODE_PAE, 0, 2, E_W, 0 },
		{ HT_MODE_PAE, 0, 2, E_U, 0 },
		{ HT_MODE_PAE, 0, 2, E_PS, 0 },
		{ HT_MODE_PAE, 0, 2, E_NX, 0 },
		{ HT_MODE_PAE, 40, 1, 1ull << 50, 0 },
		{ HT_MODE_4LEVEL, 0, 1, 1ull << 13, 1 },
		{ HT_MODE_4LEVEL, 0, 2, 1ull << 29, 2 },
		{ HT_MODE_4LEVEL, 40, 0, 1ull << 40, 0 },
		{ HT_MODE_32BIT, 0, 1, 1ull << 21, 1 },
		{ HT_MODE_32BIT, 36, 1, 1ull << 17, 1 },
		{ HT_MODE_NPT4, 0, 3, E_PS, 0 },
		{ HT_MODE_NPT4, 0, 1, 1ull << 13, 1 },
		{ HT_MODE_NPT4, 0, 2, 1ull << 29, 2 },
		{ HT_MODE_NPT4, 40, 0, 1ull << 40, 0 },
		{ HT_MODE_NPT5, 0, 4, E_PS, 0 },
		{ HT_MODE_NPT5, 0, 3, E_PS, 0 },
		{ HT_MODE_NPT5, 0, 1, 1ull << 20, 1 },
	};

	for (size_t k = 0; k < sizeof (c) / sizeof (c[0]); k++) {
		const ht_geometry_t *g = ht_geometry(c[k].mode);
		uint64_t leaf = (c[k].leaf_level ? 0x40000000ull | E_PS :
		    0x8000ull) | E_P | E_W;
		ht_pa_t table = 0x1000, e = 0;
		ht_scan_cfg_t cfg;
		ht_scan_stats_t st;
		leaves_t lv = { 0 };
		scan_image_t im;

		img_init(&im, IMG_SIZE, IMG_FREE);
		build(&im, c[k].mode, 0x1000, 0, c[k].leaf_level, leaf, NULL);
		for (int l = (int)root_level(g); l >= (int)c[k].level; l--) {
			e = ent(g, table, 0, (unsigned)l);
			table = link_addr(g, get(&im, g, e));
		}
		put(&im, g->pte_size, e, get(&im, g, e) | c[k].bits);
		cfg = mkcfg(&im, c[k].mode, 0x1000);
		cfg.pa_bits = c[k].pa_bits;

		cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
		cr_assert_eq(lv.n, 0, "case %zu: %zu leaves", k, lv.n);
		cr_assert_eq(st.reserved, 1, "case %zu: reserved %llu", k,
		    (unsigned long long)st.reserved);
		ht_scan_xlate_t x = xlate(&cfg, 0);
		cr_assert_eq(x.stop, HT_STOP_RESERVED, "case %zu: stop %d",
		    k, (int)x.stop);
		cr_assert_eq(x.nsteps, root_level(g) - c[k].level + 1);

		cfg.flags = HT_SCAN_QEMU;
		cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
		cr_assert_eq(st.reserved, 0);
		cr_assert_eq(lv.n, 1, "case %zu: QEMU: %zu leaves", k, lv.n);
		cr_assert_eq(lv.v[0].va, 0);
		cr_assert_eq(lv.v[0].level, c[k].leaf_level);
		x = xlate(&cfg, 0);
		cr_assert_eq(x.stop, HT_STOP_MAPPED, "case %zu", k);

		leaves_free(&lv);
		img_free(&im);
	}
}

/* ------------------------------------------------------------------ */
/* Nested paging: no hole, AMD's root entries                          */
/* ------------------------------------------------------------------ */

/*
 * Nested paging's guest-physical space has no hole: the leaves under the
 * upper half of the root come out at their own addresses, below 2^48
 * (2^57), after those of the lower half; 4-level (5-level) paging reads
 * the same tables with those addresses sign-extended.  The first address
 * past the space is stopped before anything is read.
 */
Test(scan, npt_no_hole, .timeout = 30)
{
	static const struct {
		ht_mode_t	npt, x86;
		ht_va_t		va[3];		/* ascending */
		ht_va_t		xva[3];		/* the same, sign-extended */
	} c[] = {
		{ HT_MODE_NPT4, HT_MODE_4LEVEL,
		    { 0x00007ffffffff000ull, 0x0000800000000000ull,
		    0x0000fffffffff000ull },
		    { 0x00007ffffffff000ull, 0xffff800000000000ull,
		    0xfffffffffffff000ull } },
		{ HT_MODE_NPT5, HT_MODE_5LEVEL,
		    { 0x00fffffffffff000ull, 0x0100000000000000ull,
		    0x01fffffffffff000ull },
		    { 0x00fffffffffff000ull, 0xff00000000000000ull,
		    0xfffffffffffff000ull } },
	};

	for (size_t k = 0; k < sizeof (c) / sizeof (c[0]); k++) {
		const ht_geometry_t *g = ht_geometry(c[k].npt);
		const ht_geometry_t *xg = ht_geometry(c[k].x86);
		const uint64_t leaf = E_P | E_W | E_U | E_A | E_D;
		const ht_va_t end = 1ull << g->va_bits;
		ht_scan_cfg_t cfg;
		ht_scan_stats_t st;
		leaves_t lv = { 0 };
		scan_image_t im;
		ht_scan_xlate_t x;

		cr_assert_eq(g->hole_start, 0);
		img_init(&im, IMG_SIZE, IMG_FREE);
		for (int i = 0; i < 3; i++)
			build(&im, c[k].npt, 0x1000, c[k].va[i], 0,
			    (0x10000ull + (uint64_t)i * PG) | leaf, NULL);

		cfg = mkcfg(&im, c[k].npt, 0x1000);
		for (int q = 0; q < 2; q++) {
			cfg.flags = q ? HT_SCAN_QEMU : 0;
			cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
			cr_assert_eq(lv.n, 3);
			for (int i = 0; i < 3; i++)
				EXPECT_LEAF(g, &lv.v[i], c[k].va[i],
				    0x10000ull + (uint64_t)i * PG, 0,
				    WUX | HT_A | HT_D, WUX,
				    (0x10000ull + (uint64_t)i * PG) | leaf);
		}
		cfg.flags = 0;
		x = xlate(&cfg, c[k].va[2] + 0xfff);
		cr_assert_eq(x.stop, HT_STOP_MAPPED);
		cr_assert_eq(x.pa, 0x12fffull);
		EXPECT_STEP(&x, 0, 0x1000 + 511 * 8, g->levels - 1, 511,
		    get(&im, g, 0x1000 + 511 * 8), 0);
		x = xlate(&cfg, c[k].va[1]);
		cr_assert_eq(x.stop, HT_STOP_MAPPED);
		cr_assert_eq(x.step[0].index, 256);
		img_clear_counts(&im);
		x = xlate(&cfg, end);
		cr_assert_eq(x.stop, HT_STOP_NONCANON);
		cr_assert_eq(x.nsteps, 0);
		cr_assert_eq(im.nreads, 0);

		/* the x86 mode: sign-extended, and va[2] is in its hole */
		cfg = mkcfg(&im, c[k].x86, 0x1000);
		cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
		cr_assert_eq(lv.n, 3);
		for (int i = 0; i < 3; i++)
			cr_assert_eq(lv.v[i].va, c[k].xva[i], "%s leaf %d: "
			    "0x%llx", ht_mode_name(xg->mode), i,
			    (unsigned long long)lv.v[i].va);
		cr_assert_eq(xlate(&cfg, c[k].va[2]).stop, HT_STOP_NONCANON);

		leaves_free(&lv);
		img_free(&im);
	}
}

/*
 * AMD reserves bit 8 of PML4Es and PML5Es (APM vol. 2, 5.3.3: bits 8:7
 * MBZ) where Intel ignores it; in a PDPTE or PDE that links a table it
 * is ignored by both.  Nested tables are AMD's: a root entry with bit 8
 * maps nothing there (QEMU's reading checks no reserved bits), while
 * 4-level paging reads the same tables as before.
 */
Test(scan, npt_bit8, .timeout = 30)
{
	static const struct {
		ht_mode_t	mode;
		unsigned	level;	/* set bit 8 in va 0's entry here */
		int		rsvd;
	} c[] = {
		{ HT_MODE_NPT4, 3, 1 },
		{ HT_MODE_NPT4, 2, 0 },
		{ HT_MODE_NPT4, 1, 0 },
		{ HT_MODE_NPT5, 4, 1 },
		{ HT_MODE_NPT5, 3, 1 },
		{ HT_MODE_NPT5, 2, 0 },
		{ HT_MODE_4LEVEL, 3, 0 },
		{ HT_MODE_5LEVEL, 4, 0 },
	};

	for (size_t k = 0; k < sizeof (c) / sizeof (c[0]); k++) {
		const ht_geometry_t *g = ht_geometry(c[k].mode);
		const uint64_t leaf = 0x8000ull | E_P | E_W | E_U;
		ht_pa_t table = 0x1000, e = 0;
		ht_scan_cfg_t cfg;
		ht_scan_stats_t st;
		leaves_t lv = { 0 };
		scan_image_t im;
		ht_scan_xlate_t x;

		img_init(&im, IMG_SIZE, IMG_FREE);
		build(&im, c[k].mode, 0x1000, 0, 0, leaf, NULL);
		for (int l = (int)root_level(g); l >= (int)c[k].level; l--) {
			e = ent(g, table, 0, (unsigned)l);
			table = link_addr(g, get(&im, g, e));
		}
		put(&im, g->pte_size, e, get(&im, g, e) | (1ull << 8));
		cfg = mkcfg(&im, c[k].mode, 0x1000);

		cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
		cr_assert_eq(lv.n, c[k].rsvd ? 0 : 1, "case %zu: %zu leaves",
		    k, lv.n);
		cr_assert_eq(st.reserved, c[k].rsvd ? 1 : 0,
		    "case %zu: reserved %llu", k,
		    (unsigned long long)st.reserved);
		x = xlate(&cfg, 0);
		cr_assert_eq(x.stop, c[k].rsvd ? HT_STOP_RESERVED :
		    HT_STOP_MAPPED, "case %zu: stop %d", k, (int)x.stop);
		if (c[k].rsvd)
			cr_assert_eq(x.nsteps, root_level(g) - c[k].level +
			    1);
		else
			EXPECT_LEAF(g, &lv.v[0], 0, 0x8000, 0, WUX, WUX,
			    leaf);

		cfg.flags = HT_SCAN_QEMU;
		cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
		cr_assert_eq(lv.n, 1, "case %zu: QEMU: %zu leaves", k, lv.n);
		cr_assert_eq(st.reserved, 0);

		leaves_free(&lv);
		img_free(&im);
	}
}

/* ------------------------------------------------------------------ */
/* CR3 as the CPU holds it                                             */
/* ------------------------------------------------------------------ */

/*
 * The same leaves whatever else CR3 holds: a PCID in bits 0..11 (4/5-level),
 * PWT/PCD, bit 63 (no-flush on a MOV to CR3).
 */
Test(scan, cr3_bits, .timeout = 30)
{
	for (int mi = 0; mi < NMODES; mi++) {
		ht_mode_t mode = all_modes[mi];
		const ht_geometry_t *g = ht_geometry(mode);
		const uint64_t leaf = 0x12345000ull | E_P | E_W;
		const ht_pa_t root = 0x3000;
		uint64_t extra[4] = { E_PWT | E_PCD, 1ull << 63,
		    E_PWT | (1ull << 63), 0 };
		ht_scan_cfg_t cfg;
		ht_scan_stats_t st;
		leaves_t lv = { 0 };
		scan_image_t im;

		if (g->levels >= 4)
			extra[3] = 0xabc;	/* a PCID */
		img_init(&im, IMG_SIZE, IMG_FREE);
		build(&im, mode, root, va_hi[mi], 0, leaf, NULL);
		for (int k = 0; k < 4; k++) {
			cfg = mkcfg(&im, mode, root | extra[k]);
			for (int q = 0; q < 2; q++) {
				cfg.flags = q ? HT_SCAN_QEMU : 0;
				cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
				cr_assert_eq(lv.n, 1, "%s cr3 0x%llx: %zu",
				    ht_mode_name(mode),
				    (unsigned long long)cfg.cr3, lv.n);
				EXPECT_LEAF(g, &lv.v[0], va_hi[mi],
				    0x12345000ull, 0, HT_W | HT_X,
				    HT_W | HT_X, leaf);
				ht_scan_xlate_t x = xlate(&cfg, va_hi[mi]);
				cr_assert_eq(x.stop, HT_STOP_MAPPED);
				cr_assert_eq(x.step[0].addr,
				    ent(g, root, va_hi[mi], root_level(g)));
			}
		}
		leaves_free(&lv);
		img_free(&im);
	}
}

/*
 * PAE takes its 4-entry PDPT at any 32-byte boundary: the root at 0x1020
 * (the entries at 0x1000 belong to someone else and must not be used).
 */
Test(scan, cr3_pae_32byte, .timeout = 30)
{
	const ht_mode_t mode = HT_MODE_PAE;
	const ht_geometry_t *g = ht_geometry(mode);
	const uint64_t leaf = 0x55000 | E_P | E_U;
	ht_scan_cfg_t cfg;
	ht_scan_stats_t st;
	leaves_t lv = { 0 };
	scan_image_t im;

	img_init(&im, IMG_SIZE, IMG_FREE);
	/* a decoy PDPT at 0x1000 mapping VA 0 */
	build(&im, mode, 0x1000, 0, 0, 0x66000 | E_P, NULL);
	/* the real one at 0x1020 mapping 0xc0005000 */
	build(&im, mode, 0x1020, 0xc0005000, 0, leaf, NULL);
	cfg = mkcfg(&im, mode, 0x1020 | E_PWT | E_PCD);

	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 1);
	EXPECT_LEAF(g, &lv.v[0], 0xc0005000, 0x55000, 0, HT_U | HT_X,
	    HT_U | HT_X, leaf);
	EXPECT_STATS(&st, 1, 3, 0, 0, 0);

	ht_scan_xlate_t x = xlate(&cfg, 0xc0005abc);
	cr_assert_eq(x.stop, HT_STOP_MAPPED);
	cr_assert_eq(x.pa, 0x55abc);
	EXPECT_STEP(&x, 0, 0x1020 + 3 * 8, 2, 3, get(&im, g, 0x1038), 0);
	cr_assert_eq(xlate(&cfg, 0x1000).stop, HT_STOP_NOTPRESENT);

	cfg.flags = HT_SCAN_QEMU;
	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 1);
	cr_assert_eq(lv.v[0].va, 0xc0005000);

	leaves_free(&lv);
	img_free(&im);
}

/*
 * 32-bit paging with PSE-36: a 4 MiB leaf holds PA bits 32..39 in entry
 * bits 13..20, so it can map above 4 GiB.
 */
Test(scan, pse36, .timeout = 30)
{
	const ht_mode_t mode = HT_MODE_32BIT;
	const ht_geometry_t *g = ht_geometry(mode);
	const uint64_t pde = 0xc0000000ull | (0x5aull << 13) | E_PS | E_P |
	    E_W | E_PATL;
	const ht_pa_t pa = 0x5ac0000000ull;
	ht_scan_cfg_t cfg;
	ht_scan_stats_t st;
	leaves_t lv = { 0 };
	scan_image_t im;

	img_init(&im, IMG_SIZE, IMG_FREE);
	build(&im, mode, 0x1000, 0x80400000, 1, pde, NULL);
	cfg = mkcfg(&im, mode, 0x1000);

	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 1);
	EXPECT_LEAF(g, &lv.v[0], 0x80400000, pa, 1, HT_W | HT_X | HT_PAT,
	    HT_W | HT_X, pde);
	EXPECT_STATS(&st, 1, 1, 0, 0, 0);

	ht_scan_xlate_t x = xlate(&cfg, 0x80412345);
	cr_assert_eq(x.stop, HT_STOP_MAPPED);
	cr_assert_eq(x.pa, pa + 0x12345);
	cr_assert_eq(x.page_size, 4 * MIB);
	cr_assert_eq(x.level, 1);
	cr_assert_eq(x.nsteps, 1);
	EXPECT_STEP(&x, 0, 0x1000 + 0x201 * 4, 1, 0x201, pde, 0);

	/* MAXPHYADDR 36: PA bits 36..39 (entry bits 17..20) are reserved */
	cfg.pa_bits = 36;
	cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
	cr_assert_eq(lv.n, 0);
	cr_assert_eq(st.reserved, 1);

	leaves_free(&lv);
	img_free(&im);
}

/* ------------------------------------------------------------------ */
/* ht_scan_translate                                                   */
/* ------------------------------------------------------------------ */

/*
 * A mapped address in every mode, 4 KiB and large: pa includes the offset,
 * the steps run root first with each entry's address, index and value.
 */
Test(scan, translate_mapped, .timeout = 30)
{
	for (int mi = 0; mi < NMODES; mi++) {
		ht_mode_t mode = all_modes[mi];
		const ht_geometry_t *g = ht_geometry(mode);
		unsigned big = 1;
		uint64_t bs = lsize(g, big);
		ht_va_t vbig = (va_lo[mi] & ~(bs - 1)) + bs;
		uint64_t leaf = 0x12345000ull | E_P | E_W | E_D;
		uint64_t lleaf = (g->pte_size == 4 ? 0x00c00000ull :
		    0x7fe00000ull) | E_PS | E_P | E_U | E_A;
		ht_scan_cfg_t cfg;
		scan_image_t im;

		img_init(&im, IMG_SIZE, IMG_FREE);
		build(&im, mode, 0x1000, va_lo[mi], 0, leaf, NULL);
		build(&im, mode, 0x1000, vbig, big, lleaf, NULL);
		cfg = mkcfg(&im, mode, 0x1000);

		ht_scan_xlate_t x = xlate(&cfg, va_lo[mi] + 0xabc);
		cr_assert_eq(x.stop, HT_STOP_MAPPED);
		cr_assert_eq(x.pa, 0x12345abcull);
		cr_assert_eq(x.page_size, PG);
		cr_assert_eq(x.level, 0);
		cr_assert_eq(x.attr, HT_W | HT_X | HT_D);
		cr_assert_eq(x.eff, HT_W | HT_X);
		cr_assert_eq(x.nsteps, g->levels);
		expect_path(&im, g, &x, 0x1000);
		cr_assert_eq(x.step[g->levels - 1].pte, leaf);

		x = xlate(&cfg, vbig + bs - 1);
		cr_assert_eq(x.stop, HT_STOP_MAPPED);
		cr_assert_eq(x.pa, (lleaf & ~(bs - 1) & 0xffffffffffull) +
		    bs - 1);
		cr_assert_eq(x.page_size, bs);
		cr_assert_eq(x.level, big);
		cr_assert_eq(x.attr, HT_U | HT_X | HT_A);
		cr_assert_eq(x.eff, HT_U | HT_X);
		cr_assert_eq(x.nsteps, g->levels - big);
		expect_path(&im, g, &x, 0x1000);
		cr_assert_eq(x.step[x.nsteps - 1].pte, lleaf);
		img_free(&im);
	}
}

/*
 * NOTPRESENT at each level: the chain to va with its entry at one level
 * cleared stops there, having read the entries above it.
 */
Test(scan, translate_notpresent, .timeout = 30)
{
	for (int mi = 0; mi < NMODES; mi++) {
		ht_mode_t mode = all_modes[mi];
		const ht_geometry_t *g = ht_geometry(mode);
		ht_va_t va = va_hi[mi];

		for (int cut = (int)root_level(g); cut >= 0; cut--) {
			ht_pa_t table = 0x1000, e = 0;
			ht_scan_cfg_t cfg;
			ht_scan_stats_t st;
			leaves_t lv = { 0 };
			scan_image_t im;

			img_init(&im, IMG_SIZE, IMG_FREE);
			build(&im, mode, 0x1000, va, 0, 0x4000 | E_P, NULL);
			for (int l = (int)root_level(g); l >= cut; l--) {
				e = ent(g, table, va, (unsigned)l);
				table = link_addr(g, get(&im, g, e));
			}
			/* P clear, other bits left: still not present */
			put(&im, g->pte_size, e, get(&im, g, e) & ~E_P);
			cfg = mkcfg(&im, mode, 0x1000);

			ht_scan_xlate_t x = xlate(&cfg, va + 8);
			cr_assert_eq(x.stop, HT_STOP_NOTPRESENT, "%s cut %d",
			    ht_mode_name(mode), cut);
			cr_assert_eq(x.nsteps, root_level(g) - (unsigned)cut +
			    1);
			expect_path(&im, g, &x, 0x1000);
			cr_assert_eq(x.step[x.nsteps - 1].addr, e);
			cr_assert_eq(x.step[x.nsteps - 1].pte & E_P, 0);
			cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
			cr_assert_eq(lv.n, 0);
			cr_assert_eq(st.reserved, 0);
			leaves_free(&lv);
			img_free(&im);
		}
	}
}

/*
 * Non-canonical addresses: stopped before anything is read.  Nested
 * paging has no hole: an address below 2^48 (2^57) is walked, wherever
 * it lies, and one above it is stopped the same way.
 */
Test(scan, translate_noncanon, .timeout = 30)
{
	static const struct {
		ht_mode_t	mode;
		ht_va_t		va;
		int		noncanon;
	} c[] = {
		{ HT_MODE_4LEVEL, 0x0000800000000000ull, 1 },
		{ HT_MODE_4LEVEL, 0x0008000000000000ull, 1 },
		{ HT_MODE_4LEVEL, 0xffff7fffffffffffull, 1 },
		{ HT_MODE_4LEVEL, 0x8000000000000000ull, 1 },
		{ HT_MODE_4LEVEL, 0x00007fffffffffffull, 0 },
		{ HT_MODE_4LEVEL, 0xffff800000000000ull, 0 },
		{ HT_MODE_5LEVEL, 0x0100000000000000ull, 1 },
		{ HT_MODE_5LEVEL, 0xfeffffffffffffffull, 1 },
		{ HT_MODE_5LEVEL, 0x0000800000000000ull, 0 },
		{ HT_MODE_5LEVEL, 0xff00000000000000ull, 0 },
		{ HT_MODE_32BIT, 0x100000000ull, 1 },
		{ HT_MODE_32BIT, 0xffffffffffffffffull, 1 },
		{ HT_MODE_32BIT, 0xffffffffull, 0 },
		{ HT_MODE_PAE, 0x100000000ull, 1 },
		{ HT_MODE_PAE, 0xfffffffff0000000ull, 1 },
		{ HT_MODE_PAE, 0xffffffffull, 0 },
		{ HT_MODE_NPT4, 0x0000800000000000ull, 0 },
		{ HT_MODE_NPT4, 0x0000ffffffffffffull, 0 },
		{ HT_MODE_NPT4, 0x0001000000000000ull, 1 },
		{ HT_MODE_NPT4, 0x0008000000000000ull, 1 },
		{ HT_MODE_NPT4, 0xffff800000000000ull, 1 },
		{ HT_MODE_NPT4, 0xffffffffffffffffull, 1 },
		{ HT_MODE_NPT5, 0x0000800000000000ull, 0 },
		{ HT_MODE_NPT5, 0x0100000000000000ull, 0 },
		{ HT_MODE_NPT5, 0x01ffffffffffffffull, 0 },
		{ HT_MODE_NPT5, 0x0200000000000000ull, 1 },
		{ HT_MODE_NPT5, 0xff00000000000000ull, 1 },
		{ HT_MODE_NPT5, 0x8000000000000000ull, 1 },
	};
	scan_image_t im;

	img_init(&im, IMG_SIZE, IMG_FREE);
	for (size_t k = 0; k < sizeof (c) / sizeof (c[0]); k++) {
		ht_scan_cfg_t cfg = mkcfg(&im, c[k].mode, 0x1000);

		img_clear_counts(&im);
		ht_scan_xlate_t x = xlate(&cfg, c[k].va);
		if (c[k].noncanon) {
			cr_assert_eq(x.stop, HT_STOP_NONCANON, "case %zu", k);
			cr_assert_eq(x.nsteps, 0);
			cr_assert_eq(im.nreads, 0, "case %zu: %llu reads", k,
			    (unsigned long long)im.nreads);
		} else {
			cr_assert_eq(x.stop, HT_STOP_NOTPRESENT, "case %zu",
			    k);
			cr_assert_eq(x.nsteps, 1);
		}
	}
	img_free(&im);
}

/* ------------------------------------------------------------------ */
/* Arguments and read errors                                           */
/* ------------------------------------------------------------------ */

/* A read function that fails the test if it is called. */
static int
never_read(void *arg, ht_pa_t pa, void *buf, size_t len)
{
	(void) arg;
	(void) buf;
	cr_assert_fail("read(0x%llx, %zu) called", (unsigned long long)pa,
	    len);
	return (-HT_EINVAL);
}

/* A walk function that fails the test if it is called. */
static int
never_leaf(void *arg, const ht_leaf_t *l)
{
	(void) arg;
	cr_assert_fail("leaf 0x%llx reported", (unsigned long long)l->va);
	return (1);
}

/* ht_scan and ht_scan_translate both give -HT_EINVAL, read nothing. */
static void
expect_einval(const ht_scan_cfg_t *cfg, const char *what)
{
	ht_scan_stats_t st;
	ht_scan_xlate_t x;
	int rc;

	memset(&st, 0xa5, sizeof (st));
	rc = ht_scan(cfg, never_leaf, NULL, &st);
	cr_assert_eq(rc, -HT_EINVAL, "%s: ht_scan %d", what, rc);
	cr_assert_neq(ht_errdetail()[0], '\0', "%s: no detail", what);
	EXPECT_STATS(&st, 0, 0, 0, 0, 0);
	rc = ht_scan_translate(cfg, 0, &x);
	cr_assert_eq(rc, -HT_EINVAL, "%s: translate %d", what, rc);
}

Test(scan, bad_arguments, .timeout = 30)
{
	ht_scan_cfg_t cfg, good;

	memset(&good, 0, sizeof (good));
	good.mode = HT_MODE_4LEVEL;
	good.cr3 = 0x1000;
	good.read = never_read;

	expect_einval(NULL, "NULL cfg");
	cfg = good;
	cfg.read = NULL;
	expect_einval(&cfg, "NULL read");
	for (unsigned f = 2; f != 0; f <<= 1) {
		cfg = good;
		cfg.flags = f | HT_SCAN_QEMU;
		expect_einval(&cfg, "unknown flag");
	}
	cfg = good;
	cfg.mode = (ht_mode_t)64;
	expect_einval(&cfg, "mode 4");
	cfg.mode = (ht_mode_t)-1;
	expect_einval(&cfg, "mode -1");
	for (int mi = 0; mi < NMODES; mi++) {
		const ht_geometry_t *g = ht_geometry(all_modes[mi]);
		unsigned bad[4] = { 1, 31, g->pa_bits_max + 1, 64 };

		for (int k = 0; k < 4; k++) {
			cfg = good;
			cfg.mode = all_modes[mi];
			cfg.pa_bits = bad[k];
			expect_einval(&cfg, "pa_bits");
		}
	}
	/* the missing callback and result */
	cr_assert_eq(ht_scan(&good, NULL, NULL, NULL), -HT_EINVAL);
	cr_assert_eq(ht_scan_translate(&good, 0, NULL), -HT_EINVAL);
}

/*
 * The read function's error ends the scan with that error (4-level, and
 * npt4: nested paging reads through the same callback).
 */
static void
read_errors(ht_mode_t mode)
{
	ht_scan_cfg_t cfg;
	ht_scan_stats_t st;
	ht_scan_xlate_t x;
	leaves_t lv = { 0 };
	scan_image_t im;
	int rc;

	img_init(&im, IMG_SIZE, IMG_FREE);
	build(&im, mode, 0x1000, 0, 0, 0x5000 | E_P, NULL);
	cfg = mkcfg(&im, mode, 0x1000);

	im.rc = -HT_EPROVIDER;
	cr_assert_eq(do_scan(&cfg, &lv, &st), -HT_EPROVIDER);
	cr_assert_eq(lv.n, 0);
	cr_assert_eq(ht_scan_translate(&cfg, 0, &x), -HT_EPROVIDER);
	im.rc = -HT_ENOMEM;
	cr_assert_eq(do_scan(&cfg, &lv, &st), -HT_ENOMEM);

	/* a reader outside its contract is not trusted either */
	im.rc = 2;
	rc = do_scan(&cfg, &lv, &st);
	cr_assert(rc < 0, "rc %d", rc);
	cr_assert_eq(lv.n, 0);
	rc = ht_scan_translate(&cfg, 0, &x);
	cr_assert(rc < 0, "rc %d", rc);

	leaves_free(&lv);
	img_free(&im);
}

Test(scan, read_errors, .timeout = 30)
{
	read_errors(HT_MODE_4LEVEL);
}

Test(scan, read_errors_npt4, .timeout = 30)
{
	read_errors(HT_MODE_NPT4);
}

/* ------------------------------------------------------------------ */
/* Agreement with the library's own walk                               */
/* ------------------------------------------------------------------ */

#define AS_BASE		(1 * MIB)
#define AS_SIZE		(128 * MIB)

/* A random page-aligned VA of size bytes, canonical in the mode. */
static ht_va_t
rnd_va(const ht_geometry_t *g, uint64_t *s, uint64_t size)
{
	return (canon(g, rnd(s) & ~(size - 1)));
}

/* The last address of the mode's space: ht_walk's whole-space bound. */
static ht_va_t
space_last(const ht_geometry_t *g)
{
	return (g->hole_start != 0 ? ~0ull : ~(~0ull << g->va_bits));
}

/*
 * Map a few hundred random pages of every size with random attributes
 * (some locked), punch holes that split large pages, change some
 * permissions; then ht_scan over the arena must report exactly the
 * leaves of ht_walk, in both readings.
 */
static void
agree(ht_mode_t mode, uint64_t seed)
{
	const ht_geometry_t *g = ht_geometry(mode);
	const unsigned attrs = HT_W | HT_U | HT_X | HT_G | HT_PWT | HT_PCD |
	    HT_PAT;
	ht_arena_t *arena;
	ht_ctx_t *ctx;
	ht_as_t *as;
	ht_config_t c;
	ht_scan_cfg_t cfg;
	ht_scan_stats_t st;
	ht_stats_t hs;
	leaves_t w = { 0 }, lv = { 0 };
	uint64_t s = seed, tables = 0;
	int rc;

	cr_assert_eq(ht_arena_create(AS_BASE, AS_SIZE, 0, &arena), 0);
	memset(&c, 0, sizeof (c));
	c.mode = mode;
	c.frame_ops = ht_arena_ops();
	c.frame_arg = arena;
	rc = ht_ctx_create(&c, &ctx);
	cr_assert_eq(rc, 0, "ctx: %s (%s)", ht_err_name(rc), ht_errdetail());
	cr_assert_eq(ht_as_create(ctx, 0, &as), 0);

	for (unsigned l = 0; l < g->levels; l++) {
		uint64_t size = lsize(g, l);
		unsigned ps = size == PG ? HT_PS_4K : size == 2 * MIB ?
		    HT_PS_2M : size == 4 * MIB ? HT_PS_4M : size == GIB ?
		    HT_PS_1G : 0;
		uint64_t pmax = g->pte_size == 4 && l == 0 ? 1ull << 32 :
		    g->pte_size == 4 ? 1ull << 40 : 1ull << 46;

		if (!(g->pagesizes & ps))
			continue;
		for (int i = 0; i < 120; i++) {
			ht_va_t va = rnd_va(g, &s, size);
			ht_pa_t pa = rnd(&s) & (pmax - 1) & ~(size - 1);
			unsigned a = (unsigned)rnd(&s) & attrs;
			unsigned f = HT_MAP_SIZE(ps) |
			    (rnd(&s) % 8 == 0 ? HT_MAP_LOCK : 0);

			rc = ht_map(as, va, pa, size, a, f);
			cr_assert(rc == 0 || rc == -HT_ELOCKED, "map %s va "
			    "0x%llx pa 0x%llx size 0x%llx: %s (%s)",
			    ht_mode_name(mode), (unsigned long long)va,
			    (unsigned long long)pa, (unsigned long long)size,
			    ht_err_name(rc), ht_errdetail());
		}
	}
	/* holes in a few of the mappings and new permissions elsewhere */
	cr_assert_eq(ht_walk(as, 0, space_last(g), collect, &w), 0);
	for (int i = 0; i < 40 && w.n > 0; i++) {
		const ht_leaf_t *l = &w.v[rnd(&s) % w.n];
		uint64_t off = (rnd(&s) % (l->size / PG)) * PG;
		uint64_t len = PG * (1 + rnd(&s) % 16);

		if (off + len > l->size)
			len = l->size - off;
		if (i % 2 == 0)
			rc = ht_unmap(as, l->va + off, len, HT_UNMAP_UNLOCK);
		else
			rc = ht_protect(as, l->va + off, len,
			    (unsigned)rnd(&s) & (HT_W | HT_U | HT_X));
		/* a 4 MiB page above 4 GiB cannot be split into 4 KiB ones */
		cr_assert(rc == 0 || (rc == -HT_EPABITS && l->pa >> 32 != 0 &&
		    l->size > len), "%s: %s", ht_err_name(rc),
		    ht_errdetail());
		/* the list may be stale now: take it again */
		w.n = 0;
		cr_assert_eq(ht_walk(as, 0, space_last(g), collect, &w), 0);
	}
	cr_assert(w.n >= 200, "%s: only %zu leaves", ht_mode_name(mode), w.n);
	cr_assert_eq(ht_audit(as), 0, "%s", ht_errdetail());

	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.cr3 = ht_as_root(as);
	cfg.read = arena_read;
	cfg.read_arg = arena;
	ht_as_stats(as, &hs);
	for (int l = 0; l < HT_MAX_LEVELS; l++)
		tables += hs.tables[l];
	for (int q = 0; q < 2; q++) {
		cfg.flags = q ? HT_SCAN_QEMU : 0;
		cr_assert_eq(do_scan(&cfg, &lv, &st), 0);
		cr_assert_eq(lv.n, w.n, "%s%s: scan %zu leaves, walk %zu",
		    ht_mode_name(mode), q ? " (QEMU)" : "", lv.n, w.n);
		for (size_t i = 0; i < w.n; i++) {
			const ht_leaf_t *a = &w.v[i], *b = &lv.v[i];

			/* bit 9, our lock, is no attribute of a foreign
			 * image: the scan shows it as HT_SW_BIT9 */
			cr_assert(a->va == b->va && a->pa == b->pa &&
			    a->size == b->size && a->level == b->level &&
			    ((a->attr & ~HT_LOCKED) | ((a->attr & HT_LOCKED) ?
			    HT_SW_BIT9 : 0)) == b->attr &&
			    !(b->attr & HT_LOCKED) && a->eff == b->eff &&
			    a->pte == b->pte,
			    "%s%s leaf %zu: walk va 0x%llx pa 0x%llx size "
			    "0x%llx level %u attr 0x%x eff 0x%x pte 0x%llx; "
			    "scan va 0x%llx pa 0x%llx size 0x%llx level %u "
			    "attr 0x%x eff 0x%x pte 0x%llx",
			    ht_mode_name(mode), q ? " (QEMU)" : "", i,
			    (unsigned long long)a->va,
			    (unsigned long long)a->pa,
			    (unsigned long long)a->size, a->level, a->attr,
			    a->eff, (unsigned long long)a->pte,
			    (unsigned long long)b->va,
			    (unsigned long long)b->pa,
			    (unsigned long long)b->size, b->level, b->attr,
			    b->eff, (unsigned long long)b->pte);
		}
		cr_assert_eq(st.unbacked, 0);
		cr_assert_eq(st.reserved, 0);
		cr_assert_eq(st.tables, tables, "%s: scan read %llu tables, "
		    "the space has %llu", ht_mode_name(mode),
		    (unsigned long long)st.tables,
		    (unsigned long long)tables);
	}
	/* and the translation of some of them */
	for (size_t i = 0; i < w.n; i += 7) {
		const ht_leaf_t *a = &w.v[i];
		ht_va_t va = a->va + (rnd(&s) % a->size);
		ht_xlate_t lx;

		cfg.flags = 0;
		ht_scan_xlate_t x = xlate(&cfg, va);
		cr_assert_eq(ht_translate(as, va, &lx), 0);
		cr_assert_eq(x.stop, HT_STOP_MAPPED);
		cr_assert_eq(x.pa, lx.pa);
		cr_assert_eq(x.page_size, lx.page_size);
		cr_assert_eq(x.level, lx.level);
		cr_assert_eq(x.nsteps, lx.nlevels);
		for (unsigned k = 0; k < x.nsteps; k++)
			cr_assert_eq(x.step[k].pte, lx.entries[k]);
		cr_assert_eq(x.eff, a->eff);
	}

	leaves_free(&w);
	leaves_free(&lv);
	ht_as_destroy(as);
	cr_assert_eq(ht_ctx_destroy(ctx), 0);
	ht_arena_destroy(arena);
}

Test(scan, agree_32bit, .timeout = 120)
{
	agree(HT_MODE_32BIT, 0x9e3779b97f4a7c15ull);
}

Test(scan, agree_pae, .timeout = 120)
{
	agree(HT_MODE_PAE, 0xd1b54a32d192ed03ull);
}

Test(scan, agree_4level, .timeout = 120)
{
	agree(HT_MODE_4LEVEL, 0x8cb92ba72f3d8dd7ull);
}

Test(scan, agree_5level, .timeout = 120)
{
	agree(HT_MODE_5LEVEL, 0xabc98388fb8fac03ull);
}

Test(scan, agree_npt4, .timeout = 120)
{
	agree(HT_MODE_NPT4, 0x2545f4914f6cdd1dull);
}

Test(scan, agree_npt5, .timeout = 120)
{
	agree(HT_MODE_NPT5, 0xc2b2ae3d27d4eb4full);
}
