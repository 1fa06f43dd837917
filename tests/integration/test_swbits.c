/*
 * test_swbits.c - the client's software bits of present entries (HT_SW):
 * in every mode, page size and bit, ht_map writes exactly that entry bit;
 * ht_translate, ht_walk and ht_scan (reading the arena as an image) report
 * it; the MMU (ht_access) takes the entry as a normal one; protect, lock,
 * unlock and splitting keep it; a bit the mode lacks is refused with
 * nothing changed.  In EPT (HT_SW(2..6), bits 52..56) the lock bit is
 * bit 11 and bits 9 and 10 are D and user-execute: the bits the MMU
 * ignores there are 11 and 52..56.
 */
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>
#include "htable.h"
#include "../lib/scan_image.h"
#include "../lib/geom.h"

#define MIB		(1024ull * 1024)
#define GIB		(1024ull * MIB)
#define AS_BASE		(1 * MIB)
#define AS_SIZE		(64 * MIB)
#define VA0		GIB		/* aligned to every page size */
#define NPAGES		3		/* the fill loop's increments too */
#define LOCK_BIT	0x200ull
/* Every entry bit the MMU ignores in a leaf of some mode: 9..11, 52..58 */
#define IGNORED		(0xe00ull | 0x07f0000000000000ull)
/*
 * EPT: the lock bit is 11; of the bits above, 9 and 10 are D and
 * user-execute there, and 57, 58 the VGP and PW attributes, which no
 * test here sets: the bits checked are 11 and 52..58.
 */
#define EPT_LOCK_BIT	0x800ull
#define EPT_IGNORED	(0x800ull | 0x07f0000000000000ull)

typedef struct env {
	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
	ht_as_t		*as;
	const ht_geometry_t *g;
	uint64_t	lock_bit;	/* the format's */
	uint64_t	ignored;	/* the bits checked */
} env_t;

static void
env_init(env_t *e, ht_mode_t mode)
{
	ht_config_t cfg;
	int rc;

	memset(e, 0, sizeof (*e));
	cr_assert_eq(ht_arena_create(AS_BASE, AS_SIZE, 0, &e->arena), 0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = e->arena;
	if (mode_ept(ht_geometry(mode)))
		cfg.ept = EPT_ENV;
	rc = ht_ctx_create(&cfg, &e->ctx);
	cr_assert_eq(rc, 0, "ctx: %s (%s)", ht_err_name(rc), ht_errdetail());
	cr_assert_eq(ht_as_create(e->ctx, 0, &e->as), 0);
	e->g = ht_ctx_geometry(e->ctx);
	e->lock_bit = mode_ept(e->g) ? EPT_LOCK_BIT : LOCK_BIT;
	e->ignored = mode_ept(e->g) ? EPT_IGNORED : IGNORED;
}

static void
env_fini(env_t *e)
{
	cr_assert_eq(ht_audit(e->as), 0, "audit: %s", ht_errdetail());
	ht_as_destroy(e->as);
	cr_assert_eq(ht_ctx_destroy(e->ctx), 0);
	ht_arena_destroy(e->arena);
}

/* The entry bit of HT_SW(n). */
static uint64_t
sw_entry_bit(int n)
{
	return (1ull << (n < 2 ? 10 + n : 50 + n));
}

static unsigned
ps_of(uint64_t size)
{
	switch (size) {
	case 4096: return (HT_PS_4K);
	case 2 * MIB: return (HT_PS_2M);
	case 4 * MIB: return (HT_PS_4M);
	case GIB: return (HT_PS_1G);
	default: return (0);
	}
}

/* Leaves a walk or scan reported. */
typedef struct leaves {
	unsigned	n;
	ht_leaf_t	v[1100];
} leaves_t;

static int
collect(void *arg, const ht_leaf_t *l)
{
	leaves_t *lv = arg;

	cr_assert_lt(lv->n, sizeof (lv->v) / sizeof (lv->v[0]));
	lv->v[lv->n++] = *l;
	return (0);
}

/* The raw leaf entry for va (through ht_translate's entries). */
static uint64_t
raw_leaf(ht_as_t *as, ht_va_t va, ht_xlate_t *x)
{
	int rc = ht_translate(as, va, x);

	cr_assert_eq(rc, 0, "translate 0x%llx: %s", (unsigned long long)va,
	    ht_err_name(rc));
	return (x->entries[x->nlevels - 1]);
}

/*
 * Each page of [va, va + len) (page size `size`) must be a leaf of
 * that size with exactly `want` of the software bits (plus the lock bit
 * if locked), as translate, walk and scan see it, and the MMU must take
 * it without a fault.
 */
static void
check_pages(env_t *e, ht_va_t va, uint64_t size, uint64_t len, unsigned want,
    int locked, const char *what)
{
	uint64_t bits = locked ? e->lock_bit : 0;
	leaves_t *lv = calloc(1, sizeof (*lv));
	ht_scan_cfg_t sc;
	ht_cpu_t cpu;
	unsigned seen = 0;

	cr_assert_not_null(lv);
	for (int n = 0; n < 9; n++)
		if (want & HT_SW(n))
			bits |= sw_entry_bit(n);
	for (uint64_t off = 0; off < len; off += size) {
		ht_xlate_t x;
		ht_access_t a;
		uint64_t raw = raw_leaf(e->as, va + off, &x);

		cr_assert_eq(x.page_size, size, "%s: page size", what);
		cr_assert_eq(raw & e->ignored, bits, "%s: entry 0x%llx, want "
		    "ignored bits 0x%llx", what, (unsigned long long)raw,
		    (unsigned long long)bits);
		cr_assert_eq(x.attr & HT_SW_MASK, want, "%s: translate attr "
		    "0x%x", what, x.attr);
		cr_assert_eq(!!(x.attr & HT_LOCKED), locked);
		memset(&cpu, 0, sizeof (cpu));
		cpu.flags = e->g->has_nx ? HT_CPU_NXE : 0;
		if (mode_ept(e->g))
			cpu.flags = HT_CPU_EPT_MBEC | HT_CPU_EPT_XONLY;
		cr_assert_eq(ht_access(e->as, &cpu, va + off, HT_ACC_READ, 0,
		    &a), 0);
		cr_assert_eq(a.fault, HT_FAULT_NONE, "%s: the MMU faults "
		    "(error code 0x%x)", what, a.error_code);
	}
	cr_assert_eq(ht_walk(e->as, va, va + len - 1, collect, lv), 0);
	cr_assert_eq(lv->n, len / size, "%s: walk saw %u leaves", what, lv->n);
	for (unsigned i = 0; i < lv->n; i++) {
		cr_assert_eq(lv->v[i].attr & HT_SW_MASK, want, "%s: walk attr "
		    "0x%x", what, lv->v[i].attr);
		cr_assert_eq(lv->v[i].pte & e->ignored, bits);
	}
	/* the arena as an image: bit 9 (EPT: 11) is the writer's there */
	memset(&sc, 0, sizeof (sc));
	sc.mode = e->g->mode;
	sc.cr3 = ht_as_root(e->as);
	sc.read = arena_read;
	sc.read_arg = e->arena;
	lv->n = 0;
	cr_assert_eq(ht_scan(&sc, collect, lv, NULL), 0);
	for (unsigned i = 0; i < lv->n; i++) {
		if (lv->v[i].va < va || lv->v[i].va - va >= len)
			continue;
		seen++;
		cr_assert_eq(lv->v[i].size, size);
		cr_assert_eq(lv->v[i].attr & (HT_SW_MASK | HT_SW_BIT9 |
		    HT_LOCKED), want | (locked ? HT_SW_BIT9 : 0),
		    "%s: scan attr 0x%x", what, lv->v[i].attr);
	}
	cr_assert_eq(seen, len / size, "%s: scan saw %u leaves", what, seen);
	free(lv);
}

static void
one_bit(env_t *e, uint64_t size, int n)
{
	uint64_t len = NPAGES * size;
	unsigned ps = ps_of(size), sw = HT_SW(n);
	char what[64];
	int rc;

	snprintf(what, sizeof (what), "%s %llu KiB HT_SW(%d)",
	    ht_mode_name(e->g->mode), (unsigned long long)(size >> 10), n);
	rc = ht_map(e->as, VA0, 3 * size, len, HT_W | HT_U | sw,
	    HT_MAP_SIZE(ps));
	cr_assert_eq(rc, 0, "%s: map: %s (%s)", what, ht_err_name(rc),
	    ht_errdetail());
	check_pages(e, VA0, size, len, sw, 0, what);

	/* protect keeps it */
	cr_assert_eq(ht_protect(e->as, VA0, len, HT_X), 0);
	check_pages(e, VA0, size, len, sw, 0, what);

	/* lock and unlock keep it */
	cr_assert_eq(ht_lock(e->as, VA0, len), 0);
	check_pages(e, VA0, size, len, sw, 1, what);
	cr_assert_eq(ht_unlock(e->as, VA0, len), 0);
	check_pages(e, VA0, size, len, sw, 0, what);

	/* a split (protecting one 4 KiB page) keeps it in every piece */
	if (size > 4096) {
		cr_assert_eq(ht_protect(e->as, VA0 + 4096, 4096, HT_W), 0);
		check_pages(e, VA0, 4096, 2 * 4096, sw, 0, what);
		/* the next large page is untouched */
		check_pages(e, VA0 + size, size, size, sw, 0, what);
	}
	cr_assert_eq(ht_unmap(e->as, VA0, len, 0), 0);
}

static void
every_bit(ht_mode_t mode)
{
	env_t e;
	unsigned have;

	env_init(&e, mode);
	have = ht_ctx_swbits(e.ctx);
	/*
	 * long-mode entries (nested paging's too) ignore bits 52..58; EPT's
	 * 52..56 (bits 10 and 11 are user-execute and the lock there)
	 */
	if (mode_ept(e.g))
		cr_assert_eq(have, HT_SW(2) | HT_SW(3) | HT_SW(4) | HT_SW(5) |
		    HT_SW(6), "swbits 0x%x", have);
	else
		cr_assert_eq(have, mode == HT_MODE_4LEVEL ||
		    mode == HT_MODE_5LEVEL || mode_npt(e.g) ? HT_SW_MASK :
		    HT_SW(0) | HT_SW(1), "swbits 0x%x", have);
	for (unsigned l = 0; l < e.g->levels; l++) {
		uint64_t size = 1ull << e.g->level_shift[l];

		if (!(ht_ctx_pagesizes(e.ctx) & ps_of(size)))
			continue;
		for (int n = 0; n < 9; n++)
			if (have & HT_SW(n))
				one_bit(&e, size, n);
		/* all of them at once */
		cr_assert_eq(ht_map(e.as, VA0, 0, NPAGES * size, have,
		    HT_MAP_SIZE(ps_of(size))), 0);
		check_pages(&e, VA0, size, NPAGES * size, have, 0, "all bits");
		cr_assert_eq(ht_unmap(e.as, VA0, NPAGES * size, 0), 0);
	}
	env_fini(&e);
}

Test(swbits, every_bit_32bit) { every_bit(HT_MODE_32BIT); }
Test(swbits, every_bit_pae) { every_bit(HT_MODE_PAE); }
Test(swbits, every_bit_4level) { every_bit(HT_MODE_4LEVEL); }
Test(swbits, every_bit_5level) { every_bit(HT_MODE_5LEVEL); }
Test(swbits, every_bit_npt4) { every_bit(HT_MODE_NPT4); }
Test(swbits, every_bit_npt5) { every_bit(HT_MODE_NPT5); }
Test(swbits, every_bit_ept4) { every_bit(HT_MODE_EPT4); }
Test(swbits, every_bit_ept5) { every_bit(HT_MODE_EPT5); }

/* Bits the mode lacks: EINVAL naming the bit, and nothing changed. */
static void
refused(ht_mode_t mode)
{
	env_t e;
	unsigned have;
	ht_xlate_t x;
	uint64_t before;
	unsigned sw0;

	env_init(&e, mode);
	have = ht_ctx_swbits(e.ctx);
	sw0 = have & -have;	/* the mode's first: HT_SW(0), EPT HT_SW(2) */
	cr_assert_eq(ht_map(e.as, VA0, 0x5000, 4096, HT_W | sw0, 0), 0);
	before = raw_leaf(e.as, VA0, &x);
	for (int n = 0; n < 10; n++) {
		unsigned sw = HT_SW(n);
		char name[16];
		int rc;

		if (have & sw)
			continue;
		/* a new range and a replacement both fail */
		rc = ht_map(e.as, VA0 + 4096, 0x6000, 4096, sw, 0);
		cr_assert_eq(rc, -HT_EINVAL, "HT_SW(%d) in %s: %d", n,
		    ht_mode_name(mode), rc);
		snprintf(name, sizeof (name), "HT_SW(%d)", n);
		cr_assert(n == 9 || strstr(ht_errdetail(), name) != NULL,
		    "detail '%s'", ht_errdetail());
		cr_assert_eq(ht_translate(e.as, VA0 + 4096, &x),
		    -HT_ENOTMAPPED);
		rc = ht_map(e.as, VA0, 0x7000, 4096, sw0 | sw, 0);
		cr_assert_eq(rc, -HT_EINVAL);
		cr_assert_eq(raw_leaf(e.as, VA0, &x), before);
	}
	/* HT_SW_BIT9 is a scan report, never an attribute */
	cr_assert_eq(ht_map(e.as, VA0, 0x7000, 4096, HT_SW_BIT9, 0),
	    -HT_EINVAL);
	cr_assert_eq(raw_leaf(e.as, VA0, &x), before);
	env_fini(&e);
}

Test(swbits, refused_32bit) { refused(HT_MODE_32BIT); }
Test(swbits, refused_pae) { refused(HT_MODE_PAE); }
Test(swbits, refused_4level) { refused(HT_MODE_4LEVEL); }
Test(swbits, refused_5level) { refused(HT_MODE_5LEVEL); }
Test(swbits, refused_npt4) { refused(HT_MODE_NPT4); }
Test(swbits, refused_ept4) { refused(HT_MODE_EPT4); }
Test(swbits, refused_ept5) { refused(HT_MODE_EPT5); }
