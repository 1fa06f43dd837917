/*
 * test_access.c - integration tests of ht_access() and ht_scan_access(),
 * the MMU's decision on one access.
 *
 * Only htable.h is used.  The expected outcomes come from ref_access(), a
 * reference written here from the Intel SDM vol. 3 text (4.3-4.8: the
 * entry formats and their reserved bits, 4.6 access rights and protection
 * keys, 4.7 the error code, 4.8 accessed and dirty flags), independent of
 * the library: it has its own idea of the modes, reads the entries through
 * the same read callback as the library, and decides in the order the SDM
 * gives.  Hand-written exact cases at the top pin the reference itself.
 *
 * The tables are built by hand in a memory image (a calloc'd buffer whose
 * byte offset is the physical address), one chain of entries from the root
 * to a leaf at each level that can map a page.  The exhaustive tests then
 * rewrite the entries of the chain in place: every combination of R/W,
 * U/S and XD over the levels against every combination of CR0.WP, NXE,
 * SMEP, SMAP, AC, access kind and CPL; every single bit flipped in every
 * entry against MAXPHYADDR, NXE and the 1 GiB feature; every protection
 * key with every PKRU setting of it.  The last tests run ht_access over
 * address spaces the library built and hold it to ht_scan_access over the
 * same frames, to the reference, and to ht_translate.
 *
 * AMD nested paging (npt4, npt5) reads the long-mode entry format over a
 * guest-physical space (AMD APM vol. 2, 15.25): no canonical hole, only a
 * width; every walk a user access whatever the CPL; of the CPU's bits only
 * EFER.NXE and the page sizes count; and AMD's PML4Es and PML5Es reserve
 * bit 8 (APM 5.3.3), which Intel ignores.  The reference has these rules
 * too, and the exhaustive tests run in both modes; the npt_* tests pin
 * them by hand.
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

#define IMG_SIZE	(1 * MIB)
#define IMG_ROOT	0x1000ull	/* the root table of every chain */
#define IMG_FREE	0x20000ull	/* chains take frames from here */

/* Raw x86 entry bits. */
#define E_P		0x001ull
#define E_W		0x002ull
#define E_U		0x004ull
#define E_A		0x020ull
#define E_D		0x040ull
#define E_PS		0x080ull
#define E_NX		(1ull << 63)

#define BIT(b)		(1ull << (b))
#define BITS(lo, hi)	bits((lo), (hi))

#define CPU_ALL		(HT_CPU_WP | HT_CPU_NXE | HT_CPU_SMEP | \
	HT_CPU_SMAP | HT_CPU_AC | HT_CPU_PKE | HT_CPU_NO1G)

/* Bits lo..hi inclusive (hi <= 63); empty when lo > hi. */
static uint64_t
bits(unsigned lo, unsigned hi)
{
	if (lo > hi)
		return (0);
	return ((~0ull >> (63 - hi)) & (~0ull << lo));
}

/* ------------------------------------------------------------------ */
/* The image                                                           */
/* ------------------------------------------------------------------ */

/* A configuration reading im in mode from cr3. */
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

/* A CPU with these flags, PKRU and MAXPHYADDR. */
static ht_cpu_t
mkcpu(unsigned flags, uint32_t pkru, unsigned pa_bits)
{
	ht_cpu_t c;

	memset(&c, 0, sizeof (c));
	c.flags = flags;
	c.pkru = pkru;
	c.pa_bits = pa_bits;
	return (c);
}

/* ------------------------------------------------------------------ */
/* The reference, from the SDM                                         */
/* ------------------------------------------------------------------ */

/*
 * The paging modes as SDM 4.3 (32-bit), 4.4 (PAE) and 4.5 describe them,
 * and AMD's nested paging (APM vol. 2, 15.25): the long-mode tables over
 * a guest-physical space.
 */
typedef struct refmode {
	unsigned	levels;		/* paging-structure levels */
	unsigned	esize;		/* bytes per entry */
	unsigned	va_bits;	/* linear-address width */
	unsigned	pa_widest;	/* MAXPHYADDR when the CPU says 0 */
	int		nested;		/* NPT: no hole, user walks */
} refmode_t;

#define NMODES		6

static const refmode_t refmodes[NMODES] = {
	[HT_MODE_32BIT] = { 2, 4, 32, 40, 0 },
	[HT_MODE_PAE] = { 3, 8, 32, 52, 0 },
	[HT_MODE_4LEVEL] = { 4, 8, 48, 52, 0 },
	[HT_MODE_5LEVEL] = { 5, 8, 57, 52, 0 },
	[HT_MODE_NPT4] = { 4, 8, 48, 52, 1 },
	[HT_MODE_NPT5] = { 5, 8, 57, 52, 1 },
};

/* Is mode AMD nested paging? */
static int
nested(ht_mode_t mode)
{
	return (refmodes[mode].nested);
}

/* The last address of mode's space (with a hole: all 64 bits). */
static ht_va_t
space_last(ht_mode_t mode)
{
	const refmode_t *rm = &refmodes[mode];

	return (rm->va_bits == 32 || rm->nested ? BITS(0, rm->va_bits - 1) :
	    ~0ull);
}

/* Shift of the VA bits that index a level-l table; the page size there. */
static unsigned
ref_shift(ht_mode_t mode, unsigned l)
{
	return (mode == HT_MODE_32BIT ? 12 + 10 * l : 12 + 9 * l);
}

/* The index of va's entry in a level-l table. */
static unsigned
ref_index(ht_mode_t mode, ht_va_t va, unsigned l)
{
	if (mode == HT_MODE_32BIT)
		return ((unsigned)(va >> ref_shift(mode, l)) & 0x3ff);
	if (mode == HT_MODE_PAE && l == 2)
		return ((unsigned)(va >> 30) & 3);	/* bits 31:30 */
	return ((unsigned)(va >> ref_shift(mode, l)) & 0x1ff);
}

/*
 * The reserved bits of present entry v at level l (tables 4-4 to 4-6,
 * 4-8 to 4-11, 4-14 to 4-20).  m is MAXPHYADDR.
 */
static uint64_t
ref_rsvd(ht_mode_t mode, unsigned l, uint64_t v, unsigned m, unsigned flags)
{
	uint64_t r = 0;

	if (mode == HT_MODE_32BIT) {
		/* a 4 MiB PDE (CR4.PSE): 21 and 20:(M-19), M <= 40 */
		unsigned m32 = m < 40 ? m : 40;

		if (l == 1 && (v & E_PS))
			r = BITS(m32 - 19, 21);
		return (v & r);
	}
	/* PAE: 62:M; 4/5-level: 51:M (62:52 ignored, or the key) */
	r = mode == HT_MODE_PAE ? BITS(m, 62) : BITS(m, 51);
	if (!(flags & HT_CPU_NXE))
		r |= E_NX;
	if (mode == HT_MODE_PAE && l == 2) {
		/* a PDPTE (table 4-8): 2:1, 8:5, 63:M */
		r |= BITS(1, 2) | BITS(5, 8) | E_NX;
	} else if (v & E_PS) {
		if (l >= 3)
			r |= E_PS;	/* PML4E, PML5E */
		else if (l == 2 && (flags & HT_CPU_NO1G))
			r |= E_PS;	/* no 1 GiB pages */
		else if (l == 2)
			r |= BITS(13, 29);
		else if (l == 1)
			r |= BITS(13, 20);
	}
	/*
	 * AMD's long-mode PML4E and PML5E have bits 8:7 MBZ (APM vol. 2,
	 * 5.3.3, the PML4E and PML5E figures; KVM's nonleaf_bit8_rsvd),
	 * where Intel ignores bit 8.  Nested tables are AMD's only.
	 */
	if (refmodes[mode].nested && l >= 3)
		r |= BIT(8);
	return (v & r);
}

/* Physical address of the page a leaf at level l maps. */
static ht_pa_t
ref_frame(ht_mode_t mode, unsigned l, uint64_t v)
{
	if (mode == HT_MODE_32BIT && l == 0)
		return (v & 0xfffff000ull);
	if (mode == HT_MODE_32BIT)	/* PSE-36: 20:13 are PA 39:32 */
		return ((v & 0xffc00000ull) | (((v >> 13) & 0xff) << 32));
	return (v & BITS(12, 51) & ~(BIT(ref_shift(mode, l)) - 1));
}

/*
 * What the MMU does with one access (SDM 4.5-4.8).  The answer in *r as
 * ht_scan_access gives it; 0, or -HT_ERANGE for a VA the mode cannot
 * name.  Arguments are taken as valid.
 */
static int
ref_access(ht_phys_read_fn rd, void *rd_arg, ht_mode_t mode, uint64_t cr3,
    const ht_cpu_t *cpu, ht_va_t va, unsigned acc, unsigned cpl,
    ht_access_t *r)
{
	const refmode_t *rm = &refmodes[mode];
	unsigned f = cpu->flags;
	unsigned m = cpu->pa_bits != 0 ? cpu->pa_bits : rm->pa_widest;
	int user = cpl == 3, write = acc == HT_ACC_WRITE;
	int fetch = acc == HT_ACC_FETCH;
	int us = 1, rw = 1, xd = 0, ok;
	uint32_t ec;
	ht_pa_t table;
	uint64_t v = 0;
	unsigned l, a = 0;

	memset(r, 0, sizeof (*r));
	if (rm->va_bits == 32 && va > 0xffffffffull)
		return (-HT_ERANGE);
	if (rm->nested) {
		/*
		 * AMD nested paging (APM vol. 2, 15.25.5): a guest-physical
		 * address has a width and no canonical form; the walk is a
		 * user access whatever the guest's CPL, and of the control
		 * bits only EFER.NXE and the page sizes apply: CR0.WP, SMEP,
		 * SMAP with AC and protection keys are the guest's.
		 */
		if ((va >> rm->va_bits) != 0)
			return (-HT_ERANGE);
		user = 1;
		f &= HT_CPU_NXE | HT_CPU_NO1G;
	}
	/* 4.7: the error code's W/R, U/S and I/D describe the access */
	ec = (write ? HT_PF_W : 0) | (user ? HT_PF_U : 0);
	if (fetch && ((f & HT_CPU_SMEP) ||
	    (mode != HT_MODE_32BIT && (f & HT_CPU_NXE))))
		ec |= HT_PF_I;
	if (rm->va_bits > 32 && !rm->nested) {
		/* bits 63:va_bits-1 all equal, or #GP */
		uint64_t top = va >> (rm->va_bits - 1);

		if (top != 0 && top != (~0ull >> (rm->va_bits - 1))) {
			r->fault = HT_FAULT_GP;
			return (0);
		}
	}

	table = mode == HT_MODE_32BIT ? cr3 & 0xfffff000ull :
	    mode == HT_MODE_PAE ? cr3 & 0xffffffe0ull : cr3 & BITS(12, 51);
	for (l = rm->levels; l-- > 0; ) {
		ht_scan_step_t *s = &r->step[r->nsteps++];
		uint64_t buf = 0;
		int rc;

		s->level = l;
		s->index = ref_index(mode, va, l);
		s->addr = table + (uint64_t)s->index * rm->esize;
		rc = rd(rd_arg, s->addr, &buf, rm->esize);
		cr_assert(rc == 0 || rc == 1, "read rc %d", rc);
		s->unbacked = rc == 1;
		v = rm->esize == 4 ? (uint32_t)buf : buf;
		s->pte = v;
		if (!(v & E_P)) {
			r->fault = HT_FAULT_PF;
			r->error_code = ec;
			return (0);
		}
		if (ref_rsvd(mode, l, v, m, f) != 0) {
			r->fault = HT_FAULT_PF;
			r->error_code = ec | HT_PF_P | HT_PF_RSVD;
			return (0);
		}
		if (mode == HT_MODE_PAE && l == 2) {
			/* a PDPTE: no rights, no accessed flag */
			table = v & BITS(12, 51);
			continue;
		}
		us &= (v & E_U) != 0;
		rw &= (v & E_W) != 0;
		if (mode != HT_MODE_32BIT && (f & HT_CPU_NXE) && (v & E_NX))
			xd = 1;
		a |= 1u << l;
		if (l == 0 || (v & E_PS))
			break;
		table = mode == HT_MODE_32BIT ? v & 0xfffff000ull :
		    v & BITS(12, 51);
	}

	/* 4.6.1: the rights of the user-mode or supervisor-mode address */
	if (user) {
		ok = us && (!write || rw) && (!fetch || !xd);
	} else if (fetch) {
		ok = (!us || !(f & HT_CPU_SMEP)) && !xd;
	} else {
		/* SMAP: explicit supervisor data accesses, lifted by AC */
		ok = !us || !(f & HT_CPU_SMAP) || (f & HT_CPU_AC);
		if (write && (f & HT_CPU_WP) && !rw)
			ok = 0;
	}
	/* 4.6.2: protection keys, user-mode addresses, data accesses */
	if ((mode == HT_MODE_4LEVEL || mode == HT_MODE_5LEVEL) &&
	    (f & HT_CPU_PKE) && us && !fetch) {
		unsigned key = (unsigned)(v >> 59) & 0xf;
		int ad = (cpu->pkru >> (2 * key)) & 1;
		int wd = (cpu->pkru >> (2 * key + 1)) & 1;

		if (ad || (write && wd && (user || (f & HT_CPU_WP)))) {
			ok = 0;
			ec |= HT_PF_PK;
		}
	}
	if (!ok) {
		r->fault = HT_FAULT_PF;
		r->error_code = ec | HT_PF_P;
		return (0);
	}
	r->fault = HT_FAULT_NONE;
	r->page_size = 1ull << ref_shift(mode, l);
	r->pa = ref_frame(mode, l, v) + (va & (r->page_size - 1));
	r->set_a = a;		/* 4.8: A in every entry used */
	r->set_d = write;	/* D in the leaf for a write */
	return (0);
}

/* ------------------------------------------------------------------ */
/* Comparing                                                           */
/* ------------------------------------------------------------------ */

/* The name of an access kind, for messages. */
static const char *
acc_name(unsigned acc)
{
	return (acc == HT_ACC_READ ? "read" : acc == HT_ACC_WRITE ? "write" :
	    acc == HT_ACC_FETCH ? "fetch" : "?");
}

/* Why two answers differ, or NULL. */
static const char *
differ(const ht_access_t *w, const ht_access_t *g)
{
	if (w->fault != g->fault)
		return ("fault");
	if (w->error_code != g->error_code)
		return ("error_code");
	if (w->nsteps != g->nsteps)
		return ("nsteps");
	for (unsigned i = 0; i < w->nsteps; i++) {
		const ht_scan_step_t *a = &w->step[i], *b = &g->step[i];

		if (a->addr != b->addr || a->pte != b->pte ||
		    a->level != b->level || a->index != b->index ||
		    a->unbacked != b->unbacked)
			return ("step");
	}
	if (w->set_a != g->set_a)
		return ("set_a");
	if (w->set_d != g->set_d)
		return ("set_d");
	if (w->fault == HT_FAULT_NONE &&
	    (w->pa != g->pa || w->page_size != g->page_size))
		return ("pa/page_size");
	return (NULL);
}

/* Format an answer into buf. */
static void
fmt_acc(char *buf, size_t len, const ht_access_t *x)
{
	int n = snprintf(buf, len, "fault %d ec 0x%x pa 0x%llx size 0x%llx "
	    "set_a 0x%x set_d %d steps", (int)x->fault, x->error_code,
	    (unsigned long long)x->pa, (unsigned long long)x->page_size,
	    x->set_a, x->set_d);

	for (unsigned i = 0; i < x->nsteps && n > 0 && (size_t)n < len; i++)
		n += snprintf(buf + n, len - (size_t)n, " [l%u i%u @0x%llx "
		    "0x%llx%s]", x->step[i].level, x->step[i].index,
		    (unsigned long long)x->step[i].addr,
		    (unsigned long long)x->step[i].pte,
		    x->step[i].unbacked ? " unbacked" : "");
}

/* Fail with both answers and the case. */
static void
mismatch(const char *what, ht_mode_t mode, const ht_cpu_t *cpu, ht_va_t va,
    unsigned acc, unsigned cpl, int wrc, const ht_access_t *w, int grc,
    const ht_access_t *g)
{
	char wb[512], gb[512];

	fmt_acc(wb, sizeof (wb), w);
	fmt_acc(gb, sizeof (gb), g);
	cr_assert_fail("%s: %s va 0x%llx %s cpl %u flags 0x%x pkru 0x%x "
	    "pa_bits %u:\n  want rc %d %s\n  got  rc %d %s", what,
	    ht_mode_name(mode), (unsigned long long)va, acc_name(acc), cpl,
	    cpu->flags, cpu->pkru, cpu->pa_bits, wrc, wb, grc, gb);
}

/*
 * ht_scan_access on cfg against the reference; returns the answer.
 */
static ht_access_t
check(const ht_scan_cfg_t *cfg, const ht_cpu_t *cpu, ht_va_t va,
    unsigned acc, unsigned cpl)
{
	ht_access_t w, g;
	int wrc, grc;
	const char *d;

	wrc = ref_access(cfg->read, cfg->read_arg, cfg->mode, cfg->cr3, cpu,
	    va, acc, cpl, &w);
	memset(&g, 0xa5, sizeof (g));
	grc = ht_scan_access(cfg, cpu, va, acc, cpl, &g);
	if (wrc != grc)
		mismatch("rc", cfg->mode, cpu, va, acc, cpl, wrc, &w, grc, &g);
	if (wrc == 0 && (d = differ(&w, &g)) != NULL)
		mismatch(d, cfg->mode, cpu, va, acc, cpl, wrc, &w, grc, &g);
	return (g);
}

/* ------------------------------------------------------------------ */
/* Chains of entries                                                   */
/* ------------------------------------------------------------------ */

/*
 * A VA per mode whose index at every level is neither 0 nor the last; the
 * nested ones lie where 4- and 5-level paging have their holes.
 */
static const ht_va_t chain_va[NMODES] = {
	0xb7654321ull, 0xb7654321ull, 0x00007abcd1234567ull,
	0x00abcdef12345678ull, 0x0000fabcd1234567ull, 0x01abcdef12345678ull
};

typedef struct chain {
	ht_mode_t	mode;
	unsigned	esize;
	unsigned	top;		/* root level */
	unsigned	leaf;		/* leaf level */
	ht_va_t		va;
	uint64_t	size;		/* of the page */
	ht_pa_t		page;		/* its physical address */
	ht_pa_t		addr[HT_MAX_LEVELS];	/* entry per level */
	uint64_t	base[HT_MAX_LEVELS];	/* its address bits */
	uint64_t	bits[HT_MAX_LEVELS];	/* its other bits */
} chain_t;

/* Can mode map a page at level l (with 1 GiB pages)? */
static int
leaf_ok(ht_mode_t mode, unsigned l)
{
	return (l == 0 || l == 1 || (l == 2 && mode >= HT_MODE_4LEVEL));
}

/*
 * The entry bits of a level-l link or leaf of c with the given rights:
 * PAE PDPTEs have P only (they have no R/W, U/S or XD).
 */
static uint64_t
rights(const chain_t *c, unsigned l, int w, int u, int nx)
{
	uint64_t v = E_P;

	if (c->mode == HT_MODE_PAE && l == 2)
		return (v);
	v |= (w ? E_W : 0) | (u ? E_U : 0);
	if (nx && c->esize == 8)
		v |= E_NX;
	if (l == c->leaf && l > 0)
		v |= E_PS;
	return (v);
}

/* Write c's entries as c->base | c->bits. */
static void
chain_write(scan_image_t *im, const chain_t *c)
{
	for (unsigned l = c->leaf; l <= c->top; l++)
		put(im, c->esize, c->addr[l], c->base[l] | c->bits[l]);
}

/*
 * A chain in im (from IMG_ROOT) mapping va through a leaf at level leaf,
 * every entry present, writable and user (PAE PDPTE: P).  The page is at
 * a physical address that needs 36 bits, 32 for a 32-bit 4 KiB one.
 */
static void
chain_init_va(scan_image_t *im, chain_t *c, ht_mode_t mode, unsigned leaf,
    ht_va_t va)
{
	const refmode_t *rm = &refmodes[mode];
	ht_pa_t table = IMG_ROOT;

	memset(c, 0, sizeof (*c));
	c->mode = mode;
	c->esize = rm->esize;
	c->top = rm->levels - 1;
	c->leaf = leaf;
	c->va = va;
	c->size = 1ull << ref_shift(mode, leaf);
	if (mode == HT_MODE_32BIT && leaf == 0)
		c->page = 0x89abc000ull;
	else
		c->page = 0x92c7ff000ull & ~(c->size - 1);
	for (unsigned l = c->top; l + 1 > leaf; l--) {
		c->addr[l] = table + (uint64_t)ref_index(mode, c->va, l) *
		    c->esize;
		if (l > leaf) {
			c->base[l] = im->next;
			im->next += PG;
			cr_assert(im->next <= im->size, "image full");
			table = c->base[l];
		} else if (mode == HT_MODE_32BIT && l == 1) {
			c->base[l] = (c->page & 0xffc00000ull) |
			    ((c->page >> 32) << 13);
		} else {
			c->base[l] = c->page;
		}
		c->bits[l] = rights(c, l, 1, 1, 0);
		if (l == 0)
			break;
	}
	chain_write(im, c);
}

/* chain_init_va at the mode's chain_va. */
static void
chain_init(scan_image_t *im, chain_t *c, ht_mode_t mode, unsigned leaf)
{
	chain_init_va(im, c, mode, leaf, chain_va[mode]);
}

/* ------------------------------------------------------------------ */
/* Exact cases (they pin the reference too)                            */
/* ------------------------------------------------------------------ */

/* The expected outcome of a hand-written case, checked field by field. */
static void
expect(int line, const ht_access_t *g, ht_fault_t fault, uint32_t ec,
    ht_pa_t pa, uint64_t size, unsigned nsteps, unsigned set_a, int set_d)
{
	cr_assert_eq(g->fault, fault, "line %d: fault %d, want %d", line,
	    (int)g->fault, (int)fault);
	cr_assert_eq(g->error_code, ec, "line %d: error code 0x%x, want 0x%x",
	    line, g->error_code, ec);
	cr_assert_eq(g->nsteps, nsteps, "line %d: nsteps %u, want %u", line,
	    g->nsteps, nsteps);
	cr_assert_eq(g->set_a, set_a, "line %d: set_a 0x%x, want 0x%x", line,
	    g->set_a, set_a);
	cr_assert_eq(g->set_d, set_d, "line %d: set_d %d, want %d", line,
	    g->set_d, set_d);
	if (fault == HT_FAULT_NONE) {
		cr_assert_eq(g->pa, pa, "line %d: pa 0x%llx, want 0x%llx",
		    line, (unsigned long long)g->pa, (unsigned long long)pa);
		cr_assert_eq(g->page_size, size, "line %d: size 0x%llx", line,
		    (unsigned long long)g->page_size);
	}
}

#define EXPECT(g, fault, ec, pa, size, nsteps, set_a, set_d)		\
	expect(__LINE__, &(g), fault, ec, pa, size, nsteps, set_a, set_d)

/* Check one access against the reference and return the library's. */
static ht_access_t
one(scan_image_t *im, ht_mode_t mode, unsigned flags, uint32_t pkru,
    unsigned pa_bits, ht_va_t va, unsigned acc, unsigned cpl)
{
	ht_scan_cfg_t cfg = mkcfg(im, mode, IMG_ROOT);
	ht_cpu_t cpu = mkcpu(flags, pkru, pa_bits);

	return (check(&cfg, &cpu, va, acc, cpl));
}

Test(access, exact_4level, .timeout = 30)
{
	scan_image_t im;
	chain_t c;
	ht_access_t g;
	const ht_mode_t m = HT_MODE_4LEVEL;
	ht_va_t va = chain_va[m];	/* 0x00007abcd1234567 */

	img_init(&im, IMG_SIZE, IMG_FREE);
	chain_init(&im, &c, m, 0);
	/* a user RW page: a user write completes, A at 4 levels, D */
	g = one(&im, m, HT_CPU_WP, 0, 0, va, HT_ACC_WRITE, 3);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff567ull, PG, 4, 0xf, 1);
	/* the path: PML4 index 0xf5 of the root, then 0xf3, 0x89, 0x34 */
	cr_assert_eq(g.step[0].addr, IMG_ROOT + 0xf5 * 8);
	cr_assert_eq(g.step[0].index, 0xf5);
	cr_assert_eq(g.step[0].level, 3);
	cr_assert_eq(g.step[0].pte, IMG_FREE | E_P | E_W | E_U);
	cr_assert_eq(g.step[1].addr, IMG_FREE + 0xf3 * 8);
	cr_assert_eq(g.step[2].index, 0x89);
	cr_assert_eq(g.step[3].index, 0x34);
	cr_assert_eq(g.step[3].pte, 0x92c7ff000ull | E_P | E_W | E_U);
	cr_assert_eq(g.step[3].unbacked, 0);
	/* the MMU's A/D are reported, not written into the image */
	for (unsigned l = 0; l < 4; l++) {
		uint64_t v;

		memcpy(&v, im.mem + c.addr[l], 8);
		cr_assert_eq(v, c.base[l] | E_P | E_W | E_U, "level %u", l);
	}
	g = one(&im, m, 0, 0, 0, va, HT_ACC_READ, 0);
	cr_assert_eq(g.step[3].pte, 0x92c7ff000ull | E_P | E_W | E_U);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff567ull, PG, 4, 0xf, 0);
	/* SMAP: a supervisor read of a user page faults P, unless AC */
	g = one(&im, m, HT_CPU_SMAP, 0, 0, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P, 0, 0, 4, 0, 0);
	g = one(&im, m, HT_CPU_SMAP | HT_CPU_AC, 0, 0, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff567ull, PG, 4, 0xf, 0);
	/* SMAP does not apply at CPL 3 (that is a user access) */
	g = one(&im, m, HT_CPU_SMAP, 0, 0, va, HT_ACC_READ, 3);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff567ull, PG, 4, 0xf, 0);
	/* SMEP: a supervisor fetch from a user page: P | I */
	g = one(&im, m, HT_CPU_SMEP, 0, 0, va, HT_ACC_FETCH, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_I, 0, 0, 4, 0, 0);
	/* SMAP alone leaves fetches be */
	g = one(&im, m, HT_CPU_SMAP, 0, 0, va, HT_ACC_FETCH, 0);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff567ull, PG, 4, 0xf, 0);

	/* a read-only PDE above the writable PTE */
	c.bits[1] = E_P | E_U;
	chain_write(&im, &c);
	g = one(&im, m, 0, 0, 0, va, HT_ACC_WRITE, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_W | HT_PF_U, 0, 0, 4, 0, 0);
	g = one(&im, m, 0, 0, 0, va, HT_ACC_WRITE, 0);	/* WP clear */
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff567ull, PG, 4, 0xf, 1);
	g = one(&im, m, HT_CPU_WP, 0, 0, va, HT_ACC_WRITE, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_W, 0, 0, 4, 0, 0);

	/* a supervisor-only PML4E above the user leaf */
	c.bits[1] = E_P | E_W | E_U;
	c.bits[3] = E_P | E_W;
	chain_write(&im, &c);
	g = one(&im, m, 0, 0, 0, va, HT_ACC_READ, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_U, 0, 0, 4, 0, 0);
	/* now a supervisor page: SMAP and SMEP have nothing to say */
	g = one(&im, m, HT_CPU_SMAP | HT_CPU_SMEP, 0, 0, va, HT_ACC_FETCH, 0);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff567ull, PG, 4, 0xf, 0);

	/* NX in the PDPTE: a fetch with NXE is P | I; without NXE, RSVD */
	c.bits[3] = E_P | E_W | E_U;
	c.bits[2] = E_P | E_W | E_U | E_NX;
	chain_write(&im, &c);
	g = one(&im, m, HT_CPU_NXE, 0, 0, va, HT_ACC_FETCH, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_U | HT_PF_I, 0, 0, 4, 0, 0);
	g = one(&im, m, HT_CPU_NXE, 0, 0, va, HT_ACC_READ, 3);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff567ull, PG, 4, 0xf, 0);
	g = one(&im, m, 0, 0, 0, va, HT_ACC_READ, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_U | HT_PF_RSVD, 0, 0, 2, 0,
	    0);
	/* without NXE and SMEP a fetch fault has no I */
	g = one(&im, m, 0, 0, 0, va, HT_ACC_FETCH, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_RSVD, 0, 0, 2, 0, 0);

	/* the PDE not present: P clear, the walk stops there */
	c.bits[2] = E_P | E_W | E_U;
	c.bits[1] = E_W | E_U | BIT(51);	/* reserved bits are ignored */
	chain_write(&im, &c);
	g = one(&im, m, HT_CPU_NXE, 0, 46, va, HT_ACC_FETCH, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_U | HT_PF_I, 0, 0, 3, 0, 0);
	g = one(&im, m, 0, 0, 0, va, HT_ACC_WRITE, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_W | HT_PF_U, 0, 0, 3, 0, 0);

	/* bit 51 of the PTE: reserved under MAXPHYADDR 46, not under 52 */
	c.bits[1] = E_P | E_W | E_U;
	c.bits[0] = E_P | E_W | E_U | BIT(51);
	chain_write(&im, &c);
	g = one(&im, m, 0, 0, 46, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_RSVD, 0, 0, 4, 0, 0);
	g = one(&im, m, 0, 0, 52, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_NONE, 0, BIT(51) | 0x92c7ff567ull, PG, 4, 0xf, 0);
	/* bits 62:52 of a PTE are ignored; 58:52 even with PKE */
	c.bits[0] = E_P | E_W | E_U | BITS(52, 58);
	chain_write(&im, &c);
	g = one(&im, m, HT_CPU_PKE, 0, 0, va, HT_ACC_WRITE, 3);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff567ull, PG, 4, 0xf, 1);

	/* PS in the PML4E is reserved */
	c.bits[0] = E_P | E_W | E_U;
	c.bits[3] = E_P | E_W | E_U | E_PS;
	chain_write(&im, &c);
	g = one(&im, m, 0, 0, 0, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_RSVD, 0, 0, 1, 0, 0);

	/* the high half maps through PML4 entry 256 and up */
	c.bits[3] = E_P | E_W | E_U;
	chain_write(&im, &c);
	g = one(&im, m, 0, 0, 0, 0xffff800000000000ull, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, 0, 0, 0, 1, 0, 0);
	cr_assert_eq(g.step[0].index, 256);
	cr_assert_eq(g.step[0].addr, IMG_ROOT + 256 * 8);
	img_free(&im);
}

Test(access, exact_large_pages, .timeout = 30)
{
	scan_image_t im;
	chain_t c;
	ht_access_t g;

	/* 4level 1 GiB: PA bits 29:13 reserved, PS reserved without 1G */
	img_init(&im, IMG_SIZE, IMG_FREE);
	chain_init(&im, &c, HT_MODE_4LEVEL, 2);
	g = one(&im, HT_MODE_4LEVEL, 0, 0, 0, c.va, HT_ACC_WRITE, 3);
	EXPECT(g, HT_FAULT_NONE, 0, 0x900000000ull + 0x11234567ull, GIB, 2,
	    0xc, 1);
	g = one(&im, HT_MODE_4LEVEL, HT_CPU_NO1G, 0, 0, c.va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_RSVD, 0, 0, 2, 0, 0);
	c.bits[2] |= BIT(29);
	chain_write(&im, &c);
	g = one(&im, HT_MODE_4LEVEL, 0, 0, 0, c.va, HT_ACC_READ, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_U | HT_PF_RSVD, 0, 0, 2, 0, 0);
	c.bits[2] ^= BIT(29) | BIT(12);	/* PAT is no address bit */
	chain_write(&im, &c);
	g = one(&im, HT_MODE_4LEVEL, 0, 0, 0, c.va, HT_ACC_READ, 3);
	EXPECT(g, HT_FAULT_NONE, 0, 0x911234567ull, GIB, 2, 0xc, 0);
	img_free(&im);

	/* 5level 2 MiB: bits 20:13 reserved */
	img_init(&im, IMG_SIZE, IMG_FREE);
	chain_init(&im, &c, HT_MODE_5LEVEL, 1);
	g = one(&im, HT_MODE_5LEVEL, 0, 0, 0, c.va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c600000ull + 0x145678ull, 2 * MIB,
	    4, 0x1e, 0);
	c.bits[1] |= BIT(13);
	chain_write(&im, &c);
	g = one(&im, HT_MODE_5LEVEL, 0, 0, 0, c.va, HT_ACC_WRITE, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_W | HT_PF_RSVD, 0, 0, 4, 0, 0);
	img_free(&im);

	/* PAE 2 MiB: A at the PDE only, never the PDPTE */
	img_init(&im, IMG_SIZE, IMG_FREE);
	chain_init(&im, &c, HT_MODE_PAE, 1);
	g = one(&im, HT_MODE_PAE, 0, 0, 0, 0xb7654321ull, HT_ACC_WRITE, 0);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c600000ull + 0x54321ull, 2 * MIB,
	    2, 0x2, 1);
	cr_assert_eq(g.step[0].addr, IMG_ROOT + 2 * 8);
	cr_assert_eq(g.step[0].index, 2);
	cr_assert_eq(g.step[0].pte, IMG_FREE | E_P);
	cr_assert_eq(g.step[1].index, 0x1bb);
	/* CR3 names a 32-byte-aligned PDPT, not a page */
	put(&im, 8, IMG_ROOT + 0x40 + 2 * 8, IMG_FREE | E_P);
	{
		ht_scan_cfg_t cfg = mkcfg(&im, HT_MODE_PAE, IMG_ROOT + 0x40);
		ht_cpu_t cpu = mkcpu(0, 0, 0);

		g = check(&cfg, &cpu, 0xb7654321ull, HT_ACC_READ, 3);
		EXPECT(g, HT_FAULT_NONE, 0, 0x92c654321ull, 2 * MIB, 2, 0x2,
		    0);
		cr_assert_eq(g.step[0].addr, IMG_ROOT + 0x40 + 2 * 8);
	}
	/* PDPTE bits 1 (R/W), 5 (A), 63 are reserved */
	c.bits[2] = E_P | E_W;
	chain_write(&im, &c);
	g = one(&im, HT_MODE_PAE, HT_CPU_NXE, 0, 0, 0xb7654321ull,
	    HT_ACC_FETCH, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_U | HT_PF_I | HT_PF_RSVD, 0,
	    0, 1, 0, 0);
	c.bits[2] = E_P | E_A;
	chain_write(&im, &c);
	g = one(&im, HT_MODE_PAE, 0, 0, 0, 0xb7654321ull, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_RSVD, 0, 0, 1, 0, 0);
	c.bits[2] = E_P | E_NX;
	chain_write(&im, &c);
	g = one(&im, HT_MODE_PAE, HT_CPU_NXE, 0, 0, 0xb7654321ull,
	    HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_RSVD, 0, 0, 1, 0, 0);
	/* PAE: bit 62 of a PDE is reserved (62:M), unlike 4-level */
	c.bits[2] = E_P;
	c.bits[1] |= BIT(62);
	chain_write(&im, &c);
	g = one(&im, HT_MODE_PAE, 0, 0, 0, 0xb7654321ull, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_RSVD, 0, 0, 2, 0, 0);
	/* and a PAE fetch from an NX page with NXE: P | I */
	c.bits[1] ^= BIT(62) | E_NX;
	chain_write(&im, &c);
	g = one(&im, HT_MODE_PAE, HT_CPU_NXE, 0, 0, 0xb7654321ull,
	    HT_ACC_FETCH, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_I, 0, 0, 2, 0, 0);
	img_free(&im);
}

Test(access, exact_32bit, .timeout = 30)
{
	scan_image_t im;
	chain_t c;
	ht_access_t g;
	const ht_mode_t m = HT_MODE_32BIT;

	/* a PSE-36 4 MiB page at 0x92c400000: PDE bits 20:13 = 0x09 */
	img_init(&im, IMG_SIZE, IMG_FREE);
	chain_init(&im, &c, m, 1);
	cr_assert_eq(c.base[1], 0x2c400000ull | (0x9ull << 13));
	g = one(&im, m, 0, 0, 0, 0xb7654321ull, HT_ACC_WRITE, 3);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c654321ull, 4 * MIB, 1, 0x2, 1);
	cr_assert_eq(g.step[0].addr, IMG_ROOT + 0x2dd * 4);
	/* PA bit 35 is bit 16: reserved with MAXPHYADDR 32 (not 36) */
	g = one(&im, m, 0, 0, 36, 0xb7654321ull, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c654321ull, 4 * MIB, 1, 0x2, 0);
	g = one(&im, m, 0, 0, 32, 0xb7654321ull, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_RSVD, 0, 0, 1, 0, 0);
	/* bit 21 is always reserved */
	c.bits[1] |= BIT(21);
	chain_write(&im, &c);
	g = one(&im, m, 0, 0, 0, 0xb7654321ull, HT_ACC_READ, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_U | HT_PF_RSVD, 0, 0, 1, 0, 0);
	img_free(&im);

	/* 4 KiB: a user fetch from a supervisor page: no I without SMEP */
	img_init(&im, IMG_SIZE, IMG_FREE);
	chain_init(&im, &c, m, 0);
	c.bits[1] = E_P | E_W;
	chain_write(&im, &c);
	g = one(&im, m, HT_CPU_NXE, 0, 0, 0xb7654321ull, HT_ACC_FETCH, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_U, 0, 0, 2, 0, 0);
	g = one(&im, m, HT_CPU_SMEP, 0, 0, 0xb7654321ull, HT_ACC_FETCH, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_U | HT_PF_I, 0, 0, 2, 0, 0);
	g = one(&im, m, 0, 0, 0, 0xb7654321ull, HT_ACC_FETCH, 0);
	EXPECT(g, HT_FAULT_NONE, 0, 0x89abc321ull, PG, 2, 0x3, 0);
	/* not present, 32-bit: no I even for a fetch with NXE */
	c.bits[0] = 0;
	chain_write(&im, &c);
	g = one(&im, m, HT_CPU_NXE, 0, 0, 0xb7654321ull, HT_ACC_FETCH, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_U, 0, 0, 2, 0, 0);
	/* PKE means nothing here */
	c.bits[0] = E_P | E_W | E_U;
	c.bits[1] = E_P | E_W | E_U;
	chain_write(&im, &c);
	g = one(&im, m, HT_CPU_PKE | HT_CPU_WP, 0xffffffffu, 0,
	    0xb7654321ull, HT_ACC_WRITE, 3);
	EXPECT(g, HT_FAULT_NONE, 0, 0x89abc321ull, PG, 2, 0x3, 1);
	img_free(&im);
}

Test(access, exact_pkeys, .timeout = 30)
{
	scan_image_t im;
	chain_t c;
	ht_access_t g;
	const ht_mode_t m = HT_MODE_5LEVEL;
	const unsigned pke = HT_CPU_PKE;
	ht_va_t va = chain_va[m];

	img_init(&im, IMG_SIZE, IMG_FREE);
	chain_init(&im, &c, m, 0);
	c.bits[0] |= 5ull << 59;	/* key 5: PKRU bits 10 (AD), 11 */
	chain_write(&im, &c);
	/* AD: no data access, user or supervisor; fetches go on */
	g = one(&im, m, pke, 1u << 10, 0, va, HT_ACC_READ, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_U | HT_PF_PK, 0, 0, 5, 0, 0);
	g = one(&im, m, pke, 1u << 10, 0, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_PK, 0, 0, 5, 0, 0);
	g = one(&im, m, pke | HT_CPU_NXE, 1u << 10, 0, va, HT_ACC_FETCH, 3);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff678ull, PG, 5, 0x1f, 0);
	/* another key's AD is nothing to key 5 */
	g = one(&im, m, pke, ~(3u << 10), 0, va, HT_ACC_WRITE, 3);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff678ull, PG, 5, 0x1f, 1);
	/* without PKE, PKRU is nothing */
	g = one(&im, m, 0, 0xffffffffu, 0, va, HT_ACC_WRITE, 3);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff678ull, PG, 5, 0x1f, 1);
	/* WD: user writes fault; supervisor writes only with WP */
	g = one(&im, m, pke, 1u << 11, 0, va, HT_ACC_WRITE, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_W | HT_PF_U | HT_PF_PK, 0, 0,
	    5, 0, 0);
	g = one(&im, m, pke, 1u << 11, 0, va, HT_ACC_READ, 3);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff678ull, PG, 5, 0x1f, 0);
	g = one(&im, m, pke, 1u << 11, 0, va, HT_ACC_WRITE, 0);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff678ull, PG, 5, 0x1f, 1);
	g = one(&im, m, pke | HT_CPU_WP, 1u << 11, 0, va, HT_ACC_WRITE, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_W | HT_PF_PK, 0, 0, 5, 0, 0);
	/* the PK bit with a read-only page that fails anyway */
	c.bits[0] &= ~E_W;
	chain_write(&im, &c);
	g = one(&im, m, pke, 1u << 11, 0, va, HT_ACC_WRITE, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_W | HT_PF_U | HT_PF_PK, 0, 0,
	    5, 0, 0);
	g = one(&im, m, pke, 0, 0, va, HT_ACC_WRITE, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_W | HT_PF_U, 0, 0, 5, 0, 0);
	/* and with SMAP failing a supervisor read */
	g = one(&im, m, pke | HT_CPU_SMAP, 1u << 10, 0, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_PK, 0, 0, 5, 0, 0);
	/* a supervisor page: keys do not apply */
	c.bits[2] &= ~E_U;
	chain_write(&im, &c);
	g = one(&im, m, pke | HT_CPU_WP, 0xffffffffu, 0, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff678ull, PG, 5, 0x1f, 0);
	g = one(&im, m, pke, 0xffffffffu, 0, va, HT_ACC_READ, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_U, 0, 0, 5, 0, 0);
	img_free(&im);
}

/* ------------------------------------------------------------------ */
/* Canonical addresses, ranges, arguments                              */
/* ------------------------------------------------------------------ */

Test(access, noncanonical, .timeout = 30)
{
	static const struct {
		ht_mode_t	mode;
		ht_va_t		va;
	} gp[] = {
		{ HT_MODE_4LEVEL, 0x0000800000000000ull },
		{ HT_MODE_4LEVEL, 0x8000000000000000ull | 0x1234 },
		{ HT_MODE_4LEVEL, 0xffff7fffffffffffull },
		{ HT_MODE_4LEVEL, 0x00ff800000000000ull },
		{ HT_MODE_5LEVEL, 0x0100000000000000ull },
		{ HT_MODE_5LEVEL, 0x8000000000000000ull | 0x1234 },
		{ HT_MODE_5LEVEL, 0xfeffffffffffffffull },
	};
	scan_image_t im;
	chain_t c;

	img_init(&im, IMG_SIZE, IMG_FREE);
	for (size_t i = 0; i < sizeof (gp) / sizeof (gp[0]); i++) {
		ht_scan_cfg_t cfg = mkcfg(&im, gp[i].mode, IMG_ROOT);

		for (unsigned acc = 0; acc < 3; acc++) {
			for (unsigned f = 0; f <= CPU_ALL; f++) {
				ht_cpu_t cpu = mkcpu(f, 0, 0);
				ht_access_t g;

				g = check(&cfg, &cpu, gp[i].va, acc, 3);
				EXPECT(g, HT_FAULT_GP, 0, 0, 0, 0, 0, 0);
			}
		}
	}
	/* 0x00ff800000000000 is canonical in 5level: a walk */
	chain_init(&im, &c, HT_MODE_5LEVEL, 0);
	{
		ht_access_t g = one(&im, HT_MODE_5LEVEL, 0, 0, 0,
		    0x00ff800000000000ull, HT_ACC_READ, 0);

		EXPECT(g, HT_FAULT_PF, 0, 0, 0, 1, 0, 0);
	}
	img_free(&im);
}

Test(access, range_32, .timeout = 30)
{
	scan_image_t im;
	chain_t c;
	ht_access_t g;

	for (int m = HT_MODE_32BIT; m <= HT_MODE_PAE; m++) {
		ht_scan_cfg_t cfg;
		ht_cpu_t cpu = mkcpu(0, 0, 0);

		img_init(&im, IMG_SIZE, IMG_FREE);
		cfg = mkcfg(&im, (ht_mode_t)m, IMG_ROOT);
		chain_init(&im, &c, (ht_mode_t)m, 0);
		cr_assert_eq(ht_scan_access(&cfg, &cpu, 0x100000000ull,
		    HT_ACC_READ, 0, &g), -HT_ERANGE);
		cr_assert_eq(ht_scan_access(&cfg, &cpu, ~0ull, HT_ACC_READ, 0,
		    &g), -HT_ERANGE);
		g = check(&cfg, &cpu, 0xffffffffull, HT_ACC_READ, 0);
		cr_assert_eq(g.fault, HT_FAULT_PF);
		g = check(&cfg, &cpu, c.va, HT_ACC_READ, 0);
		cr_assert_eq(g.fault, HT_FAULT_NONE);
		img_free(&im);
	}
}

Test(access, bad_arguments, .timeout = 30)
{
	scan_image_t im;
	chain_t c;
	ht_scan_cfg_t cfg;
	ht_cpu_t cpu = mkcpu(0, 0, 0), bad;
	ht_access_t g;

	img_init(&im, IMG_SIZE, IMG_FREE);
	chain_init(&im, &c, HT_MODE_4LEVEL, 0);
	cfg = mkcfg(&im, HT_MODE_4LEVEL, IMG_ROOT);
	cr_assert_eq(ht_scan_access(&cfg, &cpu, c.va, HT_ACC_READ, 0, &g), 0);
	cr_assert_eq(ht_scan_access(&cfg, &cpu, c.va, 3, 0, &g), -HT_EINVAL);
	cr_assert_eq(ht_scan_access(&cfg, &cpu, c.va, ~0u, 0, &g),
	    -HT_EINVAL);
	cr_assert_eq(ht_scan_access(&cfg, &cpu, c.va, HT_ACC_READ, 4, &g),
	    -HT_EINVAL);
	for (unsigned b = 7; b < 32; b++) {
		bad = mkcpu(1u << b, 0, 0);
		cr_assert_eq(ht_scan_access(&cfg, &bad, c.va, HT_ACC_READ, 0,
		    &g), -HT_EINVAL, "flag bit %u", b);
	}
	cr_assert_eq(ht_scan_access(NULL, &cpu, c.va, HT_ACC_READ, 0, &g),
	    -HT_EINVAL);
	cr_assert_eq(ht_scan_access(&cfg, NULL, c.va, HT_ACC_READ, 0, &g),
	    -HT_EINVAL);
	cr_assert_eq(ht_scan_access(&cfg, &cpu, c.va, HT_ACC_READ, 0, NULL),
	    -HT_EINVAL);
	cfg.read = NULL;
	cr_assert_eq(ht_scan_access(&cfg, &cpu, c.va, HT_ACC_READ, 0, &g),
	    -HT_EINVAL);
	cfg = mkcfg(&im, (ht_mode_t)64, IMG_ROOT);
	cr_assert_eq(ht_scan_access(&cfg, &cpu, c.va, HT_ACC_READ, 0, &g),
	    -HT_EINVAL);
	cr_assert_eq(ht_access(NULL, &cpu, c.va, HT_ACC_READ, 0, &g),
	    -HT_EINVAL);
	/*
	 * Nested paging ignores CPL and most CPU flags, but the arguments
	 * are still checked: a flag that no CPU has, acc, cpl, MAXPHYADDR.
	 */
	for (int m = HT_MODE_NPT4; m <= HT_MODE_NPT5; m++) {
		cfg = mkcfg(&im, (ht_mode_t)m, IMG_ROOT);
		cr_assert_eq(ht_scan_access(&cfg, &cpu, 0x1000, HT_ACC_READ,
		    0, &g), 0);
		cr_assert_eq(ht_scan_access(&cfg, &cpu, 0x1000, 3, 0, &g),
		    -HT_EINVAL);
		cr_assert_eq(ht_scan_access(&cfg, &cpu, 0x1000, HT_ACC_READ,
		    4, &g), -HT_EINVAL);
		for (unsigned b = 7; b < 32; b++) {
			bad = mkcpu(1u << b, 0, 0);
			cr_assert_eq(ht_scan_access(&cfg, &bad, 0x1000,
			    HT_ACC_READ, 0, &g), -HT_EINVAL, "flag bit %u", b);
		}
		bad = mkcpu(0, 0, 31);
		cr_assert_eq(ht_scan_access(&cfg, &bad, 0x1000, HT_ACC_READ,
		    0, &g), -HT_EINVAL);
		bad = mkcpu(0, 0, 53);
		cr_assert_eq(ht_scan_access(&cfg, &bad, 0x1000, HT_ACC_READ,
		    0, &g), -HT_EINVAL);
	}
	img_free(&im);
}

/* The read function's error ends the access with it. */
static int
fail_read(void *arg, ht_pa_t pa, void *buf, size_t len)
{
	(void) arg;
	(void) pa;
	memset(buf, 0, len);
	return (-HT_EPROVIDER);
}

Test(access, read_error, .timeout = 30)
{
	ht_scan_cfg_t cfg = mkcfg(NULL, HT_MODE_4LEVEL, IMG_ROOT);
	ht_cpu_t cpu = mkcpu(0, 0, 0);
	ht_access_t g;

	cfg.read = fail_read;
	cr_assert_eq(ht_scan_access(&cfg, &cpu, 0x1000, HT_ACC_READ, 0, &g),
	    -HT_EPROVIDER);
	/* a #GP needs no read */
	cr_assert_eq(ht_scan_access(&cfg, &cpu, 0x0000800000000000ull,
	    HT_ACC_READ, 0, &g), 0);
	cr_assert_eq(g.fault, HT_FAULT_GP);
	/*
	 * Nested paging has no hole: that address is walked (and the read
	 * fails); 2^48 is out of range before anything is read.
	 */
	cfg.mode = HT_MODE_NPT4;
	cr_assert_eq(ht_scan_access(&cfg, &cpu, 0x0000800000000000ull,
	    HT_ACC_READ, 0, &g), -HT_EPROVIDER);
	cr_assert_eq(ht_scan_access(&cfg, &cpu, 1ull << 48, HT_ACC_READ, 0,
	    &g), -HT_ERANGE);
}

/*
 * Entries beyond the image read as zeros: not present, unbacked.  In
 * nested paging the same at CPL 0, a user walk.
 */
Test(access, unbacked, .timeout = 30)
{
	static const ht_mode_t modes[] = { HT_MODE_4LEVEL, HT_MODE_NPT4 };
	scan_image_t im;
	chain_t c;
	ht_access_t g;

	for (size_t i = 0; i < sizeof (modes) / sizeof (modes[0]); i++) {
		const ht_mode_t m = modes[i];

		img_init(&im, IMG_SIZE, IMG_FREE);
		chain_init(&im, &c, m, 0);
		c.base[1] = 0x40000000ull;	/* a page table at 1 GiB */
		chain_write(&im, &c);
		g = one(&im, m, 0, 0, 0, c.va, HT_ACC_WRITE, 3);
		EXPECT(g, HT_FAULT_PF, HT_PF_W | HT_PF_U, 0, 0, 4, 0, 0);
		cr_assert_eq(g.step[3].unbacked, 1);
		cr_assert_eq(g.step[3].addr, 0x40000000ull + 0x34 * 8);
		cr_assert_eq(g.step[3].pte, 0);
		cr_assert_eq(g.step[2].unbacked, 0);
		if (nested(m)) {
			g = one(&im, m, HT_CPU_WP, 0, 0, c.va, HT_ACC_WRITE,
			    0);
			EXPECT(g, HT_FAULT_PF, HT_PF_W | HT_PF_U, 0, 0, 4, 0,
			    0);
			cr_assert_eq(g.step[3].unbacked, 1);
		}
		img_free(&im);
	}
}

/* ------------------------------------------------------------------ */
/* Exhaustive: rights over the levels x the CPU x the access          */
/* ------------------------------------------------------------------ */

/* Rights bits per entry: R/W, U/S and (with 8-byte entries) XD. */
static unsigned
rights_bits(const chain_t *c, unsigned l)
{
	if (c->mode == HT_MODE_PAE && l == 2)
		return (0);
	return (c->esize == 8 ? 3 : 2);
}

/*
 * Every combination of R/W, U/S and XD over the entries of c, against
 * every combination of flags in cpu_mask, every access and CPL 0..3.
 * Returns the number of completed accesses.
 */
static uint64_t
rights_all(scan_image_t *im, chain_t *c, unsigned cpu_mask, uint32_t pkru)
{
	ht_scan_cfg_t cfg = mkcfg(im, c->mode, IMG_ROOT);
	unsigned nbits = 0, shift[HT_MAX_LEVELS];
	uint64_t done = 0;

	for (unsigned l = c->leaf; l <= c->top; l++) {
		shift[l] = nbits;
		nbits += rights_bits(c, l);
	}
	for (uint64_t combo = 0; combo < (1ull << nbits); combo++) {
		for (unsigned l = c->leaf; l <= c->top; l++) {
			unsigned r = (unsigned)(combo >> shift[l]);

			c->bits[l] = rights(c, l, r & 1, (r >> 1) & 1,
			    rights_bits(c, l) == 3 && ((r >> 2) & 1));
		}
		chain_write(im, c);
		for (unsigned f = 0; f <= cpu_mask; f++) {
			ht_cpu_t cpu;

			if ((f & ~cpu_mask) != 0)
				continue;
			cpu = mkcpu(f, pkru, 0);
			for (unsigned acc = 0; acc < 3; acc++) {
				for (unsigned cpl = 0; cpl < 4; cpl++) {
					ht_access_t g = check(&cfg, &cpu,
					    c->va + 0x123, acc, cpl);

					done += g.fault == HT_FAULT_NONE;
				}
			}
		}
	}
	return (done);
}

/*
 * rights_all() over a chain to each leaf level of mode.  The 32-bit modes
 * also run with CR4.PKE and PKRU all ones: they have no keys; and so does
 * nested paging, whose walks keys do not apply to.
 */
static void
rights_mode(ht_mode_t mode)
{
	const unsigned five = HT_CPU_WP | HT_CPU_NXE | HT_CPU_SMEP |
	    HT_CPU_SMAP | HT_CPU_AC;

	for (unsigned leaf = 0; leaf < refmodes[mode].levels; leaf++) {
		scan_image_t im;
		chain_t c;
		uint64_t done;

		if (!leaf_ok(mode, leaf))
			continue;
		img_init(&im, IMG_SIZE, IMG_FREE);
		chain_init(&im, &c, mode, leaf);
		/* PKE with PKRU all ones: only 4/5-level have keys */
		if (mode <= HT_MODE_PAE || nested(mode))
			done = rights_all(&im, &c, five | HT_CPU_PKE,
			    0xffffffffu);
		else
			done = rights_all(&im, &c, five, 0);
		cr_assert(done > 0, "%s leaf %u: nothing completed",
		    ht_mode_name(mode), leaf);
		img_free(&im);
	}
}

Test(access, rights_32bit, .timeout = 120)
{
	rights_mode(HT_MODE_32BIT);
}

Test(access, rights_pae, .timeout = 120)
{
	rights_mode(HT_MODE_PAE);
}

Test(access, rights_4level, .timeout = 240)
{
	rights_mode(HT_MODE_4LEVEL);
}

Test(access, rights_5level, .timeout = 280)
{
	rights_mode(HT_MODE_5LEVEL);
}

Test(access, rights_npt4, .timeout = 240)
{
	rights_mode(HT_MODE_NPT4);
}

Test(access, rights_npt5, .timeout = 280)
{
	rights_mode(HT_MODE_NPT5);
}

/* ------------------------------------------------------------------ */
/* Exhaustive: every bit of every entry x MAXPHYADDR x NXE x 1G         */
/* ------------------------------------------------------------------ */

/*
 * One changed chain against the MAXPHYADDRs and CPU flags below, every
 * access, CPL 0 and 3; counts the completed and the RSVD outcomes.
 */
static void
bits_one(const ht_scan_cfg_t *cfg, const chain_t *c, uint64_t *r_done,
    uint64_t *r_rsvd)
{
	static const unsigned pa_bits[] = { 0, 32, 36, 39, 40, 46, 48, 52 };
	static const unsigned flags[] = {
		0, HT_CPU_NXE, HT_CPU_NO1G, HT_CPU_NXE | HT_CPU_NO1G,
		HT_CPU_NXE | HT_CPU_SMEP | HT_CPU_WP
	};

	for (size_t p = 0; p < sizeof (pa_bits) / sizeof (pa_bits[0]); p++) {
		/* 32 only for 32-bit paging; wider than 40 there is
		   pa_bits_wide_32bit's */
		if (c->mode != HT_MODE_32BIT ? pa_bits[p] == 32 :
		    pa_bits[p] > 40)
			continue;
		for (size_t f = 0; f < sizeof (flags) / sizeof (flags[0]);
		    f++) {
			ht_cpu_t cpu = mkcpu(flags[f], 0, pa_bits[p]);

			for (unsigned a = 0; a < 3; a++) {
				for (unsigned cpl = 0; cpl < 4; cpl += 3) {
					ht_access_t g = check(cfg, &cpu,
					    c->va, a, cpl);

					*r_done += g.fault == HT_FAULT_NONE;
					*r_rsvd += (g.error_code &
					    HT_PF_RSVD) != 0;
				}
			}
		}
	}
}

/*
 * Every bit of every entry of a chain to each leaf level of mode flipped
 * on its own (P cleared, PS set or cleared, reserved and address bits
 * set), through bits_one().
 */
static void
bits_mode(ht_mode_t mode)
{
	for (unsigned leaf = 0; leaf < refmodes[mode].levels; leaf++) {
		scan_image_t im;
		chain_t c;
		ht_scan_cfg_t cfg;
		uint64_t done = 0, rsvd = 0;

		if (!leaf_ok(mode, leaf))
			continue;
		img_init(&im, IMG_SIZE, IMG_FREE);
		chain_init(&im, &c, mode, leaf);
		cfg = mkcfg(&im, mode, IMG_ROOT);
		for (unsigned l = leaf; l <= c.top; l++) {
			for (unsigned b = 0; b < 8 * c.esize; b++) {
				uint64_t keep = c.bits[l];

				c.bits[l] ^= BIT(b);
				chain_write(&im, &c);
				bits_one(&cfg, &c, &done, &rsvd);
				c.bits[l] = keep;
			}
		}
		cr_assert(done > 0 && rsvd > 0, "%s leaf %u: %llu done, %llu "
		    "reserved", ht_mode_name(mode), leaf,
		    (unsigned long long)done, (unsigned long long)rsvd);
		img_free(&im);
	}
}

Test(access, bits_32bit, .timeout = 120)
{
	bits_mode(HT_MODE_32BIT);
}

Test(access, bits_pae, .timeout = 120)
{
	bits_mode(HT_MODE_PAE);
}

Test(access, bits_4level, .timeout = 120)
{
	bits_mode(HT_MODE_4LEVEL);
}

Test(access, bits_5level, .timeout = 120)
{
	bits_mode(HT_MODE_5LEVEL);
}

Test(access, bits_npt4, .timeout = 120)
{
	bits_mode(HT_MODE_NPT4);
}

Test(access, bits_npt5, .timeout = 120)
{
	bits_mode(HT_MODE_NPT5);
}

/*
 * Bits 36..62 of the level-l entry of c set one at a time, MAXPHYADDR
 * pa_bits: exactly those from M up (to 51; to 62 in PAE) are reserved, a
 * #PF with P and RSVD at that entry.  The others complete, or (an address
 * bit of a link) reach a table beyond the image, not present: a CPL 0
 * read then has error code 0 (U in nested paging, a user walk).
 */
static void
maxphy_one(scan_image_t *im, chain_t *c, unsigned l, unsigned pa_bits)
{
	const uint32_t u = nested(c->mode) ? HT_PF_U : 0;

	for (unsigned b = 36; b < 63; b++) {
		ht_access_t g;
		int want;

		c->bits[l] |= BIT(b);
		chain_write(im, c);
		g = one(im, c->mode, HT_CPU_NXE, 0, pa_bits, c->va,
		    HT_ACC_READ, 0);
		want = b >= pa_bits && (c->mode == HT_MODE_PAE || b < 52);
		cr_assert_eq((g.error_code & ~u) != 0, want, "%s leaf %u "
		    "level %u bit %u pa_bits %u: ec 0x%x",
		    ht_mode_name(c->mode), c->leaf, l, b, pa_bits,
		    g.error_code);
		if (want) {
			cr_assert_eq(g.error_code, u | HT_PF_P | HT_PF_RSVD);
			cr_assert_eq(g.nsteps, c->top - l + 1);
		} else {
			cr_assert_eq(g.error_code, g.fault == HT_FAULT_NONE ?
			    0 : u);
		}
		c->bits[l] &= ~BIT(b);
	}
	chain_write(im, c);
}

/* Address bits at and above MAXPHYADDR, in links and leaves, exactly. */
Test(access, maxphyaddr, .timeout = 60)
{
	static const unsigned pa_bits[] = { 36, 39, 46, 48, 52 };

	for (int m = HT_MODE_PAE; m < NMODES; m++) {
		for (unsigned leaf = 0; leaf < 3; leaf++) {
			scan_image_t im;
			chain_t c;

			if (!leaf_ok((ht_mode_t)m, leaf))
				continue;
			img_init(&im, IMG_SIZE, IMG_FREE);
			chain_init(&im, &c, (ht_mode_t)m, leaf);
			for (unsigned l = leaf; l <= c.top; l++) {
				for (size_t p = 0; p < 5; p++)
					maxphy_one(&im, &c, l, pa_bits[p]);
			}
			img_free(&im);
		}
	}
}

/*
 * 32-bit paging takes M = min(MAXPHYADDR, 40) for PSE-36 (SDM 4.3, table
 * 4-4), so a CPU with a wider MAXPHYADDR, as every 64-bit CPU has, runs
 * 32-bit paging exactly as with 40.
 */
Test(access, pa_bits_wide_32bit, .timeout = 30)
{
	static const unsigned wide[] = { 41, 46, 48, 52 };
	scan_image_t im;
	chain_t c;

	img_init(&im, IMG_SIZE, IMG_FREE);
	chain_init(&im, &c, HT_MODE_32BIT, 1);
	/* PA 0xffffc00000 */
	c.base[1] = 0xffc00000ull | (0xffull << 13);
	chain_write(&im, &c);
	for (size_t i = 0; i < sizeof (wide) / sizeof (wide[0]); i++) {
		ht_access_t g = one(&im, HT_MODE_32BIT, 0, 0, wide[i], c.va,
		    HT_ACC_READ, 0);

		EXPECT(g, HT_FAULT_NONE, 0, 0xffffc00000ull + 0x254321ull,
		    4 * MIB, 1, 0x2, 0);
	}
	c.bits[1] |= BIT(21);
	chain_write(&im, &c);
	for (size_t i = 0; i < sizeof (wide) / sizeof (wide[0]); i++) {
		ht_access_t g = one(&im, HT_MODE_32BIT, 0, 0, wide[i], c.va,
		    HT_ACC_READ, 0);

		EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_RSVD, 0, 0, 1, 0, 0);
	}
	img_free(&im);
}

/* ------------------------------------------------------------------ */
/* Exhaustive: protection keys                                         */
/* ------------------------------------------------------------------ */

/*
 * The leaf of c with protection key key, PKRU with AD/WD of the key as
 * adw and random bits for the other keys, against every combination of
 * WP, NXE, SMEP, SMAP, AC and PKE, every access, CPL 0 and 3.  Returns
 * the number of faults with PK.
 */
static uint64_t
pkeys_one(const ht_scan_cfg_t *cfg, const chain_t *c, unsigned key,
    unsigned adw, uint64_t *s)
{
	uint32_t pkru = ((uint32_t)rnd(s) & ~(3u << (2 * key))) |
	    (adw << (2 * key));
	uint64_t pk = 0;

	for (unsigned f = 0; f < 64; f++) {
		ht_cpu_t cpu = mkcpu(f, pkru, 0);

		for (unsigned a = 0; a < 3; a++) {
			for (unsigned cpl = 0; cpl < 4; cpl += 3) {
				ht_access_t g = check(cfg, &cpu, c->va, a,
				    cpl);

				pk += (g.error_code & HT_PF_PK) != 0;
			}
		}
	}
	return (pk);
}

/*
 * Every key of a leaf at each level of mode, user or supervisor (U/S of
 * the root entry), writable or not, with every AD/WD of the key.  Nested
 * walks have no keys: there no fault may have PK.
 */
static void
pkeys_mode(ht_mode_t mode)
{
	uint64_t s = 0x243f6a8885a308d3ull ^ mode;

	for (unsigned leaf = 0; leaf < 3; leaf++) {
		scan_image_t im;
		chain_t c;
		ht_scan_cfg_t cfg;
		uint64_t pk = 0;

		img_init(&im, IMG_SIZE, IMG_FREE);
		chain_init(&im, &c, mode, leaf);
		cfg = mkcfg(&im, mode, IMG_ROOT);
		for (unsigned v = 0; v < 4; v++) {
			for (unsigned key = 0; key < 16; key++) {
				c.bits[c.top] = rights(&c, c.top, 1, !(v & 1),
				    0);
				c.bits[leaf] = rights(&c, leaf, !(v & 2), 1,
				    0) | ((uint64_t)key << 59);
				chain_write(&im, &c);
				for (unsigned adw = 0; adw < 4; adw++)
					pk += pkeys_one(&cfg, &c, key, adw,
					    &s);
			}
		}
		if (nested(mode))
			cr_assert_eq(pk, 0, "%s: %llu PK faults",
			    ht_mode_name(mode), (unsigned long long)pk);
		else
			cr_assert(pk > 0);
		img_free(&im);
	}
}

Test(access, pkeys_4level, .timeout = 120)
{
	pkeys_mode(HT_MODE_4LEVEL);
}

Test(access, pkeys_5level, .timeout = 120)
{
	pkeys_mode(HT_MODE_5LEVEL);
}

Test(access, pkeys_npt4, .timeout = 120)
{
	pkeys_mode(HT_MODE_NPT4);
}

Test(access, pkeys_npt5, .timeout = 120)
{
	pkeys_mode(HT_MODE_NPT5);
}

/* ------------------------------------------------------------------ */
/* Address spaces the library built                                    */
/* ------------------------------------------------------------------ */

#define AS_BASE		(1 * MIB)
#define AS_SIZE		(128 * MIB)

typedef struct leaves {
	ht_leaf_t	v[2048];
	size_t		n;
} leaves_t;

/* The walk function: keep the leaf. */
static int
collect(void *arg, const ht_leaf_t *l)
{
	leaves_t *lv = arg;

	cr_assert(lv->n < sizeof (lv->v) / sizeof (lv->v[0]));
	lv->v[lv->n++] = *l;
	return (0);
}

/*
 * A canonical VA of the mode from random bits (nested paging: an address
 * below 2^48 or 2^57, no sign to extend).
 */
static ht_va_t
canon_va(ht_mode_t mode, uint64_t x)
{
	unsigned b = refmodes[mode].va_bits;

	if (b == 32 || nested(mode))
		return (x & BITS(0, b - 1));
	x &= BITS(0, b - 1);
	if (x & BIT(b - 1))
		x |= ~0ull << b;
	return (x);
}

/*
 * Map random pages of every size with random attributes; then at VAs in
 * them and elsewhere, ht_access must give what ht_scan_access over the
 * arena and the reference give, for random CPUs, accesses and CPLs, and
 * completed CPL 0 reads must land where ht_translate says, with the
 * rights it reports.
 */
static void
built(ht_mode_t mode, int no_nx, uint64_t seed)
{
	const ht_geometry_t *g = ht_geometry(mode);
	const unsigned attrs = HT_W | HT_U | HT_X | HT_G | HT_PWT | HT_PCD |
	    HT_PAT;
	static const unsigned pa_bits[] = { 0, 36, 39, 46, 48, 52 };
	ht_arena_t *arena;
	ht_ctx_t *ctx;
	ht_as_t *as;
	ht_config_t cfgc;
	ht_scan_cfg_t cfg;
	leaves_t *lv;
	uint64_t s = seed;
	size_t n;
	int rc;

	cr_assert_eq(ht_arena_create(AS_BASE, AS_SIZE, 0, &arena), 0);
	memset(&cfgc, 0, sizeof (cfgc));
	cfgc.mode = mode;
	cfgc.no_nx = no_nx;
	cfgc.frame_ops = ht_arena_ops();
	cfgc.frame_arg = arena;
	rc = ht_ctx_create(&cfgc, &ctx);
	cr_assert_eq(rc, 0, "ctx: %s (%s)", ht_err_name(rc), ht_errdetail());
	cr_assert_eq(ht_as_create(ctx, 0, &as), 0);

	for (unsigned l = 0; l < g->levels; l++) {
		uint64_t size = 1ull << g->level_shift[l];
		unsigned ps = size == PG ? HT_PS_4K : size == 2 * MIB ?
		    HT_PS_2M : size == 4 * MIB ? HT_PS_4M : size == GIB ?
		    HT_PS_1G : 0;
		uint64_t pmax = g->pte_size == 4 && l == 0 ? 1ull << 32 :
		    g->pte_size == 4 ? 1ull << 40 : 1ull << 46;

		if (!(g->pagesizes & ps))
			continue;
		for (int i = 0; i < 60; i++) {
			ht_va_t va = canon_va(mode, rnd(&s)) & ~(size - 1);
			ht_pa_t pa = rnd(&s) & (pmax - 1) & ~(size - 1);

			rc = ht_map(as, va, pa, size, (unsigned)rnd(&s) &
			    attrs, HT_MAP_SIZE(ps));
			cr_assert_eq(rc, 0, "map: %s (%s)", ht_err_name(rc),
			    ht_errdetail());
		}
	}
	lv = calloc(1, sizeof (*lv));
	cr_assert_not_null(lv);
	cr_assert_eq(ht_walk(as, 0, space_last(mode), collect, lv), 0);
	n = lv->n;
	cr_assert(n >= 100, "%zu leaves", n);

	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.cr3 = ht_as_root(as);
	cfg.read = arena_read;
	cfg.read_arg = arena;
	for (int i = 0; i < 20000; i++) {
		const ht_leaf_t *l = &lv->v[rnd(&s) % n];
		ht_va_t va = i % 4 == 3 ? canon_va(mode, rnd(&s)) :
		    l->va + rnd(&s) % l->size;
		ht_cpu_t cpu = mkcpu((unsigned)rnd(&s) & CPU_ALL,
		    (uint32_t)rnd(&s), pa_bits[rnd(&s) % 6]);

		/* 32-bit paging above 40: pa_bits_wide_32bit */
		if (mode == HT_MODE_32BIT && cpu.pa_bits > 40)
			cpu.pa_bits = 40;
		unsigned acc = (unsigned)(rnd(&s) % 3);
		unsigned cpl = (unsigned)(rnd(&s) % 4);
		ht_access_t a, b;
		const char *d;

		/* some of them not canonical (nested: in the same space) */
		if (i % 8 == 0 && g->va_bits > 32)
			va |= 0x0000800000000000ull;
		/* nested paging: some beyond the guest-physical space */
		if (i % 8 == 4 && nested(mode)) {
			va |= 1ull << g->va_bits;
			rc = ht_access(as, &cpu, va, acc, cpl, &a);
			cr_assert_eq(rc, -HT_ERANGE, "ht_access 0x%llx: %s",
			    (unsigned long long)va, ht_err_name(rc));
			(void) check(&cfg, &cpu, va, acc, cpl);
			continue;
		}
		memset(&a, 0x5a, sizeof (a));
		rc = ht_access(as, &cpu, va, acc, cpl, &a);
		b = check(&cfg, &cpu, va, acc, cpl);
		cr_assert_eq(rc, 0, "ht_access: %s", ht_err_name(rc));
		if ((d = differ(&b, &a)) != NULL)
			mismatch(d, mode, &cpu, va, acc, cpl, 0, &b, rc, &a);
	}
	/* ht_translate: completed CPL 0 reads, and the rights of attr */
	for (size_t i = 0; i < n; i++) {
		const ht_leaf_t *l = &lv->v[i];
		ht_va_t va = l->va + rnd(&s) % l->size;
		/* NX bits are reserved without NXE */
		unsigned nxe = no_nx ? 0 : HT_CPU_NXE;
		ht_cpu_t c0 = mkcpu(nxe, 0, 0);
		ht_cpu_t cwp = mkcpu(nxe | HT_CPU_WP, 0, 0);
		ht_cpu_t cnx = mkcpu(nxe, 0, 0);
		ht_xlate_t x;
		ht_access_t a;
		unsigned set_a;

		cr_assert_eq(ht_translate(as, va, &x), 0);
		cr_assert_eq(ht_access(as, &c0, va, HT_ACC_READ, 0, &a), 0);
		/* A at the levels read, none in a PAE PDPTE */
		set_a = (unsigned)BITS(x.level, g->levels - 1) &
		    (mode == HT_MODE_PAE ? ~4u : ~0u);
		EXPECT(a, HT_FAULT_NONE, 0, x.pa, x.page_size, x.nlevels,
		    set_a, 0);
		for (unsigned k = 0; k < x.nlevels; k++)
			cr_assert_eq(a.step[k].pte, x.entries[k]);
		cr_assert_eq(ht_access(as, &cwp, va, HT_ACC_WRITE, 0, &a), 0);
		cr_assert_eq(a.fault == HT_FAULT_NONE, (x.attr & HT_W) != 0,
		    "va 0x%llx attr 0x%x", (unsigned long long)va, x.attr);
		cr_assert_eq(ht_access(as, &c0, va, HT_ACC_READ, 3, &a), 0);
		cr_assert_eq(a.fault == HT_FAULT_NONE, (x.attr & HT_U) != 0);
		cr_assert_eq(ht_access(as, &c0, va, HT_ACC_WRITE, 3, &a), 0);
		cr_assert_eq(a.fault == HT_FAULT_NONE,
		    (x.attr & (HT_U | HT_W)) == (HT_U | HT_W));
		cr_assert_eq(ht_access(as, &cnx, va, HT_ACC_FETCH, 0, &a), 0);
		cr_assert_eq(a.fault == HT_FAULT_NONE, (x.attr & HT_X) != 0);
		/*
		 * WP clear: a supervisor write completes on any page; in
		 * nested paging it is a user write, which R/W decides.
		 */
		cr_assert_eq(ht_access(as, &c0, va, HT_ACC_WRITE, 0, &a), 0);
		cr_assert_eq(a.fault == HT_FAULT_NONE,
		    nested(mode) ? (x.attr & HT_W) != 0 : 1);
		if (nested(mode)) {
			/* every leaf has U; SMAP, SMEP, keys do not apply */
			ht_cpu_t call = mkcpu(nxe | HT_CPU_WP | HT_CPU_SMEP |
			    HT_CPU_SMAP | HT_CPU_PKE, ~0u, 0);

			cr_assert(x.attr & HT_U, "va 0x%llx attr 0x%x",
			    (unsigned long long)va, x.attr);
			cr_assert_eq(ht_access(as, &call, va, HT_ACC_READ, 0,
			    &a), 0);
			EXPECT(a, HT_FAULT_NONE, 0, x.pa, x.page_size,
			    x.nlevels, set_a, 0);
			cr_assert_eq(ht_access(as, &call, va, HT_ACC_FETCH, 0,
			    &a), 0);
			cr_assert_eq(a.fault == HT_FAULT_NONE,
			    (x.attr & HT_X) != 0);
		}
	}

	free(lv);
	ht_as_destroy(as);
	cr_assert_eq(ht_ctx_destroy(ctx), 0);
	ht_arena_destroy(arena);
}

Test(access, built_32bit, .timeout = 120)
{
	built(HT_MODE_32BIT, 1, 0x9e3779b97f4a7c15ull);
}

Test(access, built_pae, .timeout = 120)
{
	built(HT_MODE_PAE, 0, 0xd1b54a32d192ed03ull);
	built(HT_MODE_PAE, 1, 0x94d049bb133111ebull);
}

Test(access, built_4level, .timeout = 120)
{
	built(HT_MODE_4LEVEL, 0, 0x8cb92ba72f3d8dd7ull);
	built(HT_MODE_4LEVEL, 1, 0xbf58476d1ce4e5b9ull);
}

Test(access, built_5level, .timeout = 120)
{
	built(HT_MODE_5LEVEL, 0, 0xabc98388fb8fac03ull);
}

Test(access, built_npt4, .timeout = 120)
{
	built(HT_MODE_NPT4, 0, 0x2545f4914f6cdd1dull);
	built(HT_MODE_NPT4, 1, 0x9fb21c651e98df25ull);
}

Test(access, built_npt5, .timeout = 120)
{
	built(HT_MODE_NPT5, 0, 0xc2b2ae3d27d4eb4full);
}

/* ------------------------------------------------------------------ */
/* Nested paging, by hand                                              */
/* ------------------------------------------------------------------ */

/* The CPU bits of the guest, which nested walks do not look at. */
#define CPU_GUEST	(HT_CPU_WP | HT_CPU_SMEP | HT_CPU_SMAP | HT_CPU_AC | \
	HT_CPU_PKE)

/*
 * A 4 KiB page of npt4 above 2^47, where 4-level paging has its hole.
 * Every access is a user access (AMD APM vol. 2, 15.25.5), at any CPL:
 * U/S, R/W and NX decide as for CPL 3, and WP, SMEP, SMAP with AC and
 * the protection keys change nothing; only NXE does (NX, and I).
 */
Test(access, npt_exact, .timeout = 60)
{
	const ht_mode_t m = HT_MODE_NPT4;
	const ht_va_t va = chain_va[m];	/* 0x0000fabcd1234567 */
	const ht_pa_t pa = 0x92c7ff567ull;
	const uint32_t u = HT_PF_U;
	scan_image_t im;
	chain_t c;
	ht_access_t g;

	img_init(&im, IMG_SIZE, IMG_FREE);
	chain_init(&im, &c, m, 0);
	/* the path: PML4 index 0x1f5, then 0xf3, 0x89, 0x34 */
	g = one(&im, m, 0, 0, 0, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_NONE, 0, pa, PG, 4, 0xf, 0);
	cr_assert_eq(g.step[0].addr, IMG_ROOT + 0x1f5 * 8);
	cr_assert_eq(g.step[0].index, 0x1f5);
	cr_assert_eq(g.step[0].level, 3);
	cr_assert_eq(g.step[0].pte, IMG_FREE | E_P | E_W | E_U);
	cr_assert_eq(g.step[1].index, 0xf3);
	cr_assert_eq(g.step[2].index, 0x89);
	cr_assert_eq(g.step[3].index, 0x34);
	cr_assert_eq(g.step[3].pte, 0x92c7ff000ull | E_P | E_W | E_U);

	/*
	 * A user RW page: every access completes at every CPL, whatever
	 * the guest's bits (SMAP without AC would stop a supervisor read
	 * of it, SMEP a supervisor fetch, PKRU all ones a user access).
	 */
	for (unsigned cpl = 0; cpl < 4; cpl++) {
		for (unsigned f = 0; f <= CPU_GUEST; f++) {
			if ((f & ~CPU_GUEST) != 0)
				continue;
			g = one(&im, m, f, ~0u, 0, va, HT_ACC_READ, cpl);
			EXPECT(g, HT_FAULT_NONE, 0, pa, PG, 4, 0xf, 0);
			g = one(&im, m, f, ~0u, 0, va, HT_ACC_WRITE, cpl);
			EXPECT(g, HT_FAULT_NONE, 0, pa, PG, 4, 0xf, 1);
			g = one(&im, m, f, ~0u, 0, va, HT_ACC_FETCH, cpl);
			EXPECT(g, HT_FAULT_NONE, 0, pa, PG, 4, 0xf, 0);
		}
	}

	/* a read-only PTE: a write faults at CPL 0, WP clear or not */
	c.bits[0] = E_P | E_U;
	chain_write(&im, &c);
	g = one(&im, m, 0, 0, 0, va, HT_ACC_WRITE, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_W | u, 0, 0, 4, 0, 0);
	g = one(&im, m, HT_CPU_WP, 0, 0, va, HT_ACC_WRITE, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_W | u, 0, 0, 4, 0, 0);
	g = one(&im, m, 0, 0, 0, va, HT_ACC_WRITE, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_W | u, 0, 0, 4, 0, 0);
	g = one(&im, m, 0, 0, 0, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_NONE, 0, pa, PG, 4, 0xf, 0);
	/* a read-only PDPTE above a writable PTE: the same */
	c.bits[0] = E_P | E_W | E_U;
	c.bits[2] = E_P | E_U;
	chain_write(&im, &c);
	g = one(&im, m, 0, 0, 0, va, HT_ACC_WRITE, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_W | u, 0, 0, 4, 0, 0);

	/* no U in the PTE: a CPL 0 read faults as a user read, P | U */
	c.bits[2] = E_P | E_W | E_U;
	c.bits[0] = E_P | E_W;
	chain_write(&im, &c);
	g = one(&im, m, 0, 0, 0, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | u, 0, 0, 4, 0, 0);
	g = one(&im, m, 0, 0, 0, va, HT_ACC_WRITE, 1);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_W | u, 0, 0, 4, 0, 0);
	/* a fetch has I with NXE, not with SMEP, which does not apply */
	g = one(&im, m, HT_CPU_SMEP, 0, 0, va, HT_ACC_FETCH, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | u, 0, 0, 4, 0, 0);
	g = one(&im, m, HT_CPU_NXE, 0, 0, va, HT_ACC_FETCH, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | u | HT_PF_I, 0, 0, 4, 0, 0);

	/* NX in the PDE: with NXE a fetch faults P | U | I, reads go on */
	c.bits[0] = E_P | E_W | E_U;
	c.bits[1] = E_P | E_W | E_U | E_NX;
	chain_write(&im, &c);
	g = one(&im, m, HT_CPU_NXE, 0, 0, va, HT_ACC_FETCH, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | u | HT_PF_I, 0, 0, 4, 0, 0);
	g = one(&im, m, HT_CPU_NXE | HT_CPU_SMEP, 0, 0, va, HT_ACC_FETCH, 3);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | u | HT_PF_I, 0, 0, 4, 0, 0);
	g = one(&im, m, HT_CPU_NXE, 0, 0, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_NONE, 0, pa, PG, 4, 0xf, 0);
	/* without NXE bit 63 is reserved: RSVD at the PDE, and no I */
	g = one(&im, m, 0, 0, 0, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | u | HT_PF_RSVD, 0, 0, 3, 0, 0);
	g = one(&im, m, HT_CPU_SMEP, 0, 0, va, HT_ACC_FETCH, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | u | HT_PF_RSVD, 0, 0, 3, 0, 0);

	/* the PTE not present: no P in the error code, U all the same */
	c.bits[1] = E_P | E_W | E_U;
	c.bits[0] = E_W | E_U;
	chain_write(&im, &c);
	g = one(&im, m, 0, 0, 0, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, u, 0, 0, 4, 0, 0);
	g = one(&im, m, HT_CPU_NXE, 0, 0, va, HT_ACC_FETCH, 1);
	EXPECT(g, HT_FAULT_PF, u | HT_PF_I, 0, 0, 4, 0, 0);
	g = one(&im, m, CPU_GUEST, 0, 0, va, HT_ACC_WRITE, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_W | u, 0, 0, 4, 0, 0);

	/* bits 62:52 hold no key: PKE with PKRU all ones lets a write by */
	c.bits[0] = E_P | E_W | E_U | BITS(52, 62);
	chain_write(&im, &c);
	g = one(&im, m, HT_CPU_PKE | HT_CPU_WP, ~0u, 0, va, HT_ACC_WRITE, 0);
	EXPECT(g, HT_FAULT_NONE, 0, pa, PG, 4, 0xf, 1);

	/* PS in the PML4E is reserved, as in 4-level paging */
	c.bits[0] = E_P | E_W | E_U;
	c.bits[3] = E_P | E_W | E_U | E_PS;
	chain_write(&im, &c);
	g = one(&im, m, 0, 0, 0, va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | u | HT_PF_RSVD, 0, 0, 1, 0, 0);
	img_free(&im);

	/* npt5: a 2 MiB page at 0x01abcdef12200000, above 2^56 */
	img_init(&im, IMG_SIZE, IMG_FREE);
	chain_init(&im, &c, HT_MODE_NPT5, 1);
	g = one(&im, HT_MODE_NPT5, HT_CPU_SMAP, 0, 0, chain_va[HT_MODE_NPT5],
	    HT_ACC_WRITE, 0);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c745678ull, 2 * MIB, 4, 0x1e, 1);
	cr_assert_eq(g.step[0].index, 0x1ab);
	c.bits[4] = E_P | E_W;		/* no U in the PML5E */
	chain_write(&im, &c);
	g = one(&im, HT_MODE_NPT5, 0, 0, 0, chain_va[HT_MODE_NPT5],
	    HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_P | u, 0, 0, 4, 0, 0);
	img_free(&im);
}

/*
 * AMD reserves bit 8 of PML4Es and PML5Es (APM vol. 2, 5.3.3: bits 8:7
 * MBZ) where Intel ignores it (SDM table 4-15); in a PDPTE or PDE that
 * links a table bit 8 is ignored by both, and in a leaf it is G.  A
 * nested walk through a root entry with bit 8 set is a reserved-bit
 * fault; 4-level paging over the same tables is not.
 */
Test(access, npt_bit8, .timeout = 30)
{
	for (int m = HT_MODE_NPT4; m <= HT_MODE_NPT5; m++) {
		const ht_mode_t mode = (ht_mode_t)m;
		scan_image_t im;
		chain_t c;
		ht_access_t g;
		ht_pa_t pa;

		img_init(&im, IMG_SIZE, IMG_FREE);
		chain_init(&im, &c, mode, 0);
		pa = c.page | (c.va & 0xfff);
		for (unsigned l = 0; l <= c.top; l++) {
			c.bits[l] |= BIT(8);
			chain_write(&im, &c);
			g = one(&im, mode, HT_CPU_NXE, 0, 0, c.va,
			    HT_ACC_READ, 0);
			if (l >= 3)
				EXPECT(g, HT_FAULT_PF, HT_PF_P | HT_PF_U |
				    HT_PF_RSVD, 0, 0, c.top - l + 1, 0, 0);
			else
				EXPECT(g, HT_FAULT_NONE, 0, pa, PG, c.top + 1,
				    (unsigned)BITS(0, c.top), 0);
			c.bits[l] &= ~BIT(8);
		}
		img_free(&im);
	}
	/* Intel's 4-level paging: bit 8 of a PML4E is ignored */
	{
		scan_image_t im;
		chain_t c;
		ht_access_t g;

		img_init(&im, IMG_SIZE, IMG_FREE);
		chain_init(&im, &c, HT_MODE_4LEVEL, 0);
		c.bits[3] |= BIT(8);
		chain_write(&im, &c);
		g = one(&im, HT_MODE_4LEVEL, 0, 0, 0, c.va, HT_ACC_READ, 3);
		EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff567ull, PG, 4, 0xf, 0);
		img_free(&im);
	}
}

/*
 * Entries without U: a nested walk is a user access at every CPL, so
 * every access to such a page faults with P and U (W for a write, I for
 * a fetch with NXE), at CPL 0 as at 3, whatever the guest's bits; the
 * walk reads every entry down to the leaf and sets no A or D.
 */
Test(access, npt_no_u, .timeout = 60)
{
	for (int m = HT_MODE_NPT4; m <= HT_MODE_NPT5; m++) {
		const ht_mode_t mode = (ht_mode_t)m;

		for (unsigned leaf = 0; leaf < 3; leaf++) {
			scan_image_t im;
			chain_t c;

			img_init(&im, IMG_SIZE, IMG_FREE);
			chain_init(&im, &c, mode, leaf);
			for (unsigned l = leaf; l <= c.top; l++) {
				c.bits[l] = rights(&c, l, 1, 0, 0);
				chain_write(&im, &c);
				for (unsigned f = 0; f <= (CPU_GUEST |
				    HT_CPU_NXE); f++) {
					if ((f & ~(CPU_GUEST | HT_CPU_NXE)) !=
					    0)
						continue;
					for (unsigned acc = 0; acc < 3;
					    acc++) {
						uint32_t ec = HT_PF_P |
						    HT_PF_U;

						if (acc == HT_ACC_WRITE)
							ec |= HT_PF_W;
						if (acc == HT_ACC_FETCH &&
						    (f & HT_CPU_NXE))
							ec |= HT_PF_I;
						for (unsigned cpl = 0;
						    cpl < 4; cpl++) {
							ht_access_t g = one(
							    &im, mode, f,
							    ~0u, 0, c.va,
							    acc, cpl);

							EXPECT(g,
							    HT_FAULT_PF, ec,
							    0, 0, c.top -
							    leaf + 1, 0, 0);
						}
					}
				}
				c.bits[l] = rights(&c, l, 1, 1, 0);
			}
			img_free(&im);
		}
	}
}

/*
 * Nested paging over the tables of a 4-level (5-level) chain, at a VA
 * both modes can name: every access, at every CPL and with any bits of
 * the guest, is decided as the x86 mode decides a CPL 3 access on a CPU
 * with only NXE and the page sizes (that answer held to the reference),
 * for every R/W, U/S and NX over the entries.
 */
static void
user_like(ht_mode_t npt, ht_mode_t x86)
{
	static const unsigned flags[] = {
		0, HT_CPU_NXE, HT_CPU_WP, HT_CPU_SMEP, HT_CPU_SMAP,
		HT_CPU_SMAP | HT_CPU_AC, HT_CPU_PKE, CPU_GUEST,
		CPU_GUEST | HT_CPU_NXE, HT_CPU_NO1G, CPU_ALL
	};

	for (unsigned leaf = 0; leaf < 3; leaf++) {
		scan_image_t im;
		chain_t c;
		ht_scan_cfg_t ncfg, xcfg;
		unsigned nbits = 0, shift[HT_MAX_LEVELS];

		img_init(&im, IMG_SIZE, IMG_FREE);
		chain_init_va(&im, &c, npt, leaf, chain_va[x86]);
		ncfg = mkcfg(&im, npt, IMG_ROOT);
		xcfg = mkcfg(&im, x86, IMG_ROOT);
		for (unsigned l = leaf; l <= c.top; l++) {
			shift[l] = nbits;
			nbits += rights_bits(&c, l);
		}
		for (uint64_t combo = 0; combo < (1ull << nbits); combo++) {
			for (unsigned l = leaf; l <= c.top; l++) {
				unsigned r = (unsigned)(combo >> shift[l]);

				c.bits[l] = rights(&c, l, r & 1, (r >> 1) & 1,
				    (r >> 2) & 1);
			}
			chain_write(&im, &c);
			for (size_t i = 0; i < sizeof (flags) /
			    sizeof (flags[0]); i++) {
				ht_cpu_t nc = mkcpu(flags[i], ~0u, 0);
				ht_cpu_t xc = mkcpu(flags[i] & (HT_CPU_NXE |
				    HT_CPU_NO1G), 0, 0);

				for (unsigned acc = 0; acc < 3; acc++) {
					ht_access_t w = check(&xcfg, &xc,
					    c.va, acc, 3);

					for (unsigned cpl = 0; cpl < 4;
					    cpl++) {
						ht_access_t g;
						const char *d;
						int rc;

						rc = ht_scan_access(&ncfg,
						    &nc, c.va, acc, cpl, &g);
						cr_assert_eq(rc, 0);
						d = differ(&w, &g);
						if (d != NULL)
							mismatch(d, npt, &nc,
							    c.va, acc, cpl, 0,
							    &w, rc, &g);
					}
				}
			}
		}
		img_free(&im);
	}
}

Test(access, npt_is_user_npt4, .timeout = 120)
{
	user_like(HT_MODE_NPT4, HT_MODE_4LEVEL);
}

Test(access, npt_is_user_npt5, .timeout = 240)
{
	user_like(HT_MODE_NPT5, HT_MODE_5LEVEL);
}

/* Out of nested paging's space: -HT_ERANGE, any access, CPL or CPU. */
static void
npt_out(scan_image_t *im, ht_mode_t mode, ht_va_t va)
{
	ht_scan_cfg_t cfg = mkcfg(im, mode, IMG_ROOT);

	for (unsigned acc = 0; acc < 3; acc++) {
		for (unsigned cpl = 0; cpl < 4; cpl += 3) {
			ht_cpu_t cpu = mkcpu(cpl == 0 ? 0 : CPU_ALL, 0, 0);
			ht_access_t g;

			cr_assert_eq(ht_scan_access(&cfg, &cpu, va, acc, cpl,
			    &g), -HT_ERANGE, "%s va 0x%llx",
			    ht_mode_name(mode), (unsigned long long)va);
			(void) check(&cfg, &cpu, va, acc, cpl);
		}
	}
}

/*
 * No hole in a guest-physical space: npt4 walks 2^47 .. 2^48 - 1, where
 * 4-level paging gives #GP, and 2^48 and up are out of range (no #GP:
 * there is no canonical form to break); npt5 likewise up to 2^57 - 1,
 * through 2^56 where 5-level paging has its hole.
 */
Test(access, npt_no_hole, .timeout = 30)
{
	scan_image_t im;
	chain_t c, c2;
	ht_access_t g;

	/* npt4: the last page below 2^48, index 511 at every level */
	img_init(&im, IMG_SIZE, IMG_FREE);
	chain_init_va(&im, &c, HT_MODE_NPT4, 0, 0x0000fffffffff123ull);
	g = one(&im, HT_MODE_NPT4, 0, 0, 0, c.va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff123ull, PG, 4, 0xf, 0);
	for (unsigned i = 0; i < 4; i++)
		cr_assert_eq(g.step[i].index, 511);
	/* 4-level paging: that page at the sign-extended VA, #GP here */
	g = one(&im, HT_MODE_4LEVEL, 0, 0, 0, 0xfffffffffffff123ull,
	    HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff123ull, PG, 4, 0xf, 0);
	g = one(&im, HT_MODE_4LEVEL, 0, 0, 0, c.va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_GP, 0, 0, 0, 0, 0, 0);
	/* the first address of 4-level's hole: a walk, entry 256 empty */
	g = one(&im, HT_MODE_NPT4, 0, 0, 0, 0x0000800000000000ull,
	    HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_U, 0, 0, 1, 0, 0);
	cr_assert_eq(g.step[0].index, 256);
	cr_assert_eq(g.step[0].addr, IMG_ROOT + 256 * 8);
	npt_out(&im, HT_MODE_NPT4, 1ull << 48);
	npt_out(&im, HT_MODE_NPT4, 0x0001000000000123ull);
	npt_out(&im, HT_MODE_NPT4, 0xffff800000000000ull);
	npt_out(&im, HT_MODE_NPT4, 0xfffffffffffff123ull);
	npt_out(&im, HT_MODE_NPT4, ~0ull);
	img_free(&im);

	/* npt5: 2^56, 5-level's first non-canonical VA, root index 256 */
	img_init(&im, IMG_SIZE, IMG_FREE);
	chain_init_va(&im, &c, HT_MODE_NPT5, 0, 0x0100000000000abcull);
	g = one(&im, HT_MODE_NPT5, 0, 0, 0, c.va, HT_ACC_READ, 3);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ffabcull, PG, 5, 0x1f, 0);
	cr_assert_eq(g.step[0].index, 256);
	g = one(&im, HT_MODE_5LEVEL, 0, 0, 0, c.va, HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_GP, 0, 0, 0, 0, 0, 0);
	g = one(&im, HT_MODE_5LEVEL, 0, 0, 0, 0xff00000000000abcull,
	    HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ffabcull, PG, 5, 0x1f, 0);
	/* 2^47, 4-level's first non-canonical VA: PML4 index 256 */
	chain_init_va(&im, &c2, HT_MODE_NPT5, 0, 0x0000800000000123ull);
	g = one(&im, HT_MODE_NPT5, 0, 0, 0, c2.va, HT_ACC_WRITE, 0);
	EXPECT(g, HT_FAULT_NONE, 0, 0x92c7ff123ull, PG, 5, 0x1f, 1);
	cr_assert_eq(g.step[0].index, 0);
	cr_assert_eq(g.step[1].index, 256);
	/* the last address walks (root entry 511 empty); 2^57 is out */
	g = one(&im, HT_MODE_NPT5, 0, 0, 0, 0x01ffffffffffffffull,
	    HT_ACC_READ, 0);
	EXPECT(g, HT_FAULT_PF, HT_PF_U, 0, 0, 1, 0, 0);
	cr_assert_eq(g.step[0].index, 511);
	npt_out(&im, HT_MODE_NPT5, 1ull << 57);
	npt_out(&im, HT_MODE_NPT5, 0xff00000000000abcull);
	npt_out(&im, HT_MODE_NPT5, ~0ull);
	img_free(&im);
}

/*
 * Accessed and dirty in nested paging are the long-mode bits: A (bit 5)
 * in every entry of the walk, the root's included (nothing like PAE's
 * PDPTEs without one), D (bit 6) in the leaf for a write.  Set where the
 * access says, they read back as the leaf's HT_A and HT_D.
 */
Test(access, npt_ad, .timeout = 30)
{
	static const struct {
		ht_mode_t	mode;
		unsigned	leaf;
		ht_pa_t		pa;
		uint64_t	size;
		unsigned	nsteps;
		unsigned	set_a;
	} k[] = {
		{ HT_MODE_NPT4, 0, 0x92c7ff567ull, PG, 4, 0xf },
		{ HT_MODE_NPT4, 1, 0x92c634567ull, 2 * MIB, 3, 0xe },
		{ HT_MODE_NPT4, 2, 0x911234567ull, GIB, 2, 0xc },
		{ HT_MODE_NPT5, 0, 0x92c7ff678ull, PG, 5, 0x1f },
		{ HT_MODE_NPT5, 1, 0x92c745678ull, 2 * MIB, 4, 0x1e },
		{ HT_MODE_NPT5, 2, 0x912345678ull, GIB, 3, 0x1c },
	};

	for (size_t i = 0; i < sizeof (k) / sizeof (k[0]); i++) {
		scan_image_t im;
		chain_t c;
		ht_access_t g;
		ht_scan_cfg_t cfg;
		ht_scan_xlate_t x;
		unsigned n = k[i].nsteps;

		img_init(&im, IMG_SIZE, IMG_FREE);
		chain_init(&im, &c, k[i].mode, k[i].leaf);
		cfg = mkcfg(&im, k[i].mode, IMG_ROOT);
		g = one(&im, k[i].mode, 0, 0, 0, c.va, HT_ACC_READ, 0);
		EXPECT(g, HT_FAULT_NONE, 0, k[i].pa, k[i].size, n,
		    k[i].set_a, 0);
		g = one(&im, k[i].mode, 0, 0, 0, c.va, HT_ACC_WRITE, 0);
		EXPECT(g, HT_FAULT_NONE, 0, k[i].pa, k[i].size, n,
		    k[i].set_a, 1);
		/* the MMU's part, as the access reports it */
		for (unsigned s = 0; s < n; s++) {
			uint64_t v = g.step[s].pte;

			if (g.set_a & (1u << g.step[s].level))
				v |= E_A;
			if (s == n - 1 && g.set_d)
				v |= E_D;
			put(&im, 8, g.step[s].addr, v);
		}
		cr_assert_eq(ht_scan_translate(&cfg, c.va, &x), 0);
		cr_assert_eq(x.stop, HT_STOP_MAPPED);
		cr_assert_eq(x.attr, HT_W | HT_U | HT_X | HT_A | HT_D,
		    "%s leaf %u: attr 0x%x", ht_mode_name(k[i].mode),
		    k[i].leaf, x.attr);
		for (unsigned s = 0; s < n; s++)
			cr_assert_eq(x.step[s].pte, c.base[c.top - s] |
			    c.bits[c.top - s] | E_A |
			    (s == n - 1 ? E_D : 0));
		/* the bits already set: the same report */
		g = one(&im, k[i].mode, 0, 0, 0, c.va, HT_ACC_WRITE, 3);
		EXPECT(g, HT_FAULT_NONE, 0, k[i].pa, k[i].size, n,
		    k[i].set_a, 1);
		img_free(&im);
	}
}

/*
 * In a space of ours the soft TLB sets what ht_access reports: after a
 * write fill of a clean page, the leaf has gained bit 5 (A) and bit 6
 * (D), every link bit 5, and nothing else changed; the pages lie where
 * 4- and 5-level paging have their holes, and the first address beyond
 * the space is out of range.
 */
Test(access, npt_ad_built, .timeout = 60)
{
	static const struct {
		ht_mode_t	mode;
		ht_va_t		va;
		uint64_t	size;
	} k[] = {
		{ HT_MODE_NPT4, 0x0000800000000000ull, PG },
		{ HT_MODE_NPT4, 0x0000ffffffe00000ull, 2 * MIB },
		{ HT_MODE_NPT4, 0x0000ffff40000000ull, GIB },
		{ HT_MODE_NPT5, 0x0100000000000000ull, PG },
		{ HT_MODE_NPT5, 0x01ffffffffe00000ull, 2 * MIB },
		{ HT_MODE_NPT5, 0x0000800040000000ull, GIB },
	};

	for (size_t i = 0; i < sizeof (k) / sizeof (k[0]); i++) {
		const ht_geometry_t *g = ht_geometry(k[i].mode);
		const ht_pa_t pa = 0x80000000ull;
		const ht_va_t va = k[i].va + k[i].size - 0x123;
		ht_cpu_t cpu = mkcpu(HT_CPU_NXE | CPU_GUEST, ~0u, 0);
		unsigned ps = k[i].size == PG ? HT_PS_4K : k[i].size ==
		    GIB ? HT_PS_1G : HT_PS_2M;
		ht_arena_t *arena;
		ht_ctx_t *ctx;
		ht_as_t *as;
		ht_config_t cfgc;
		ht_stlb_t *t;
		ht_xlate_t x0, x1;
		ht_access_t a;
		unsigned n, lvl;
		int rc;

		cr_assert_eq(ht_arena_create(AS_BASE, AS_SIZE, 0, &arena), 0);
		memset(&cfgc, 0, sizeof (cfgc));
		cfgc.mode = k[i].mode;
		cfgc.frame_ops = ht_arena_ops();
		cfgc.frame_arg = arena;
		cr_assert_eq(ht_ctx_create(&cfgc, &ctx), 0);
		cr_assert_eq(ht_as_create(ctx, 0, &as), 0);
		rc = ht_map(as, k[i].va, pa, k[i].size, HT_W,
		    HT_MAP_SIZE(ps));
		cr_assert_eq(rc, 0, "map: %s (%s)", ht_err_name(rc),
		    ht_errdetail());
		cr_assert_eq(ht_translate(as, va, &x0), 0);
		n = x0.nlevels;
		lvl = x0.level;
		cr_assert_eq(n, g->levels - lvl);
		cr_assert_eq(x0.pa, pa + k[i].size - 0x123);
		/* mapped clean, and user: map sets U in nested paging */
		cr_assert_eq(x0.entries[n - 1] & (E_A | E_D), 0);
		cr_assert(x0.attr & HT_U);

		cr_assert_eq(ht_stlb_create(as, 16, &cpu, &t), 0);
		rc = ht_stlb_fill(t, va, HT_ACC_WRITE, 0, &a);
		cr_assert_eq(rc, 0, "fill: %s", ht_err_name(rc));
		EXPECT(a, HT_FAULT_NONE, 0, x0.pa, k[i].size, n,
		    (unsigned)BITS(lvl, g->levels - 1), 1);
		cr_assert_eq(ht_translate(as, va, &x1), 0);
		for (unsigned s = 0; s < n; s++)
			cr_assert_eq(x1.entries[s], x0.entries[s] | E_A |
			    (s == n - 1 ? E_D : 0), "%s va 0x%llx entry %u: "
			    "0x%llx, was 0x%llx", ht_mode_name(k[i].mode),
			    (unsigned long long)va, s,
			    (unsigned long long)x1.entries[s],
			    (unsigned long long)x0.entries[s]);
		cr_assert_eq(x1.attr & (HT_A | HT_D), HT_A | HT_D);
		/* the space ends at 2^va_bits */
		cr_assert_eq(ht_access(as, &cpu, 1ull << g->va_bits,
		    HT_ACC_READ, 0, &a), -HT_ERANGE);
		cr_assert_eq(ht_access(as, &cpu, ~0ull, HT_ACC_READ, 3, &a),
		    -HT_ERANGE);

		ht_stlb_destroy(t);
		ht_as_destroy(as);
		cr_assert_eq(ht_ctx_destroy(ctx), 0);
		ht_arena_destroy(arena);
	}
}
