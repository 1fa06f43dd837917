/*
 * test_np.c - non-present entries that carry the client's data
 * (ht_set_np, ht_get_np, ht_walk_np), in every mode: what they read back
 * as, that the MMU sees them as not present, that unmap removes them and
 * map replaces them, that protect, lock and A/D harvesting leave them
 * alone, that a table holding only them survives purge, reap and stealing
 * under memory pressure, that import keeps them, that bad values and a
 * lack of frames change nothing, and that the audit agrees throughout.
 * In EPT an entry is present with any of bits 0-2 (and 10, with MBEC),
 * so the values there keep those clear, and the MMU's answer is an EPT
 * violation that found nothing.
 */
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>
#include "htable.h"
#include "../lib/scan_image.h"
#include "../lib/geom.h"

#define PG		4096ull
#define MIB		(1024ull * 1024)
#define GIB		(1024ull * MIB)
#define AS_BASE		(1 * MIB)
#define AS_SIZE		(64 * MIB)
#define VA0		GIB

#define OK(x)	do { int rc_ = (x); cr_assert_eq(rc_, 0, "%s: %s (%s)", #x, \
	ht_err_name(rc_), ht_errdetail()); } while (0)
#define AUDIT(as) cr_assert_eq(ht_audit(as), 0, "audit: %s", ht_errdetail())

typedef struct env {
	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
	ht_as_t		*as;
	const ht_geometry_t *g;
	uint64_t	s1;		/* the level-1 page size */
	int		ept;		/* EPT's entry format */
} env_t;

static void
env_init(env_t *e, ht_mode_t mode)
{
	ht_config_t cfg;

	memset(e, 0, sizeof (*e));
	OK(ht_arena_create(AS_BASE, AS_SIZE, 0, &e->arena));
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = e->arena;
	e->ept = mode_ept(ht_geometry(mode));
	cfg.ept = e->ept ? EPT_ENV : 0;
	OK(ht_ctx_create(&cfg, &e->ctx));
	OK(ht_as_create(e->ctx, 0, &e->as));
	e->g = ht_ctx_geometry(e->ctx);
	e->s1 = 1ull << e->g->level_shift[1];
}

static void
env_fini(env_t *e)
{
	AUDIT(e->as);
	ht_as_destroy(e->as);
	OK(ht_ctx_destroy(e->ctx));
	cr_assert_eq(ht_arena_frames_used(e->arena), 0, "frames leaked");
	ht_arena_destroy(e->arena);
}

/* What ht_walk_np reported. */
typedef struct nps {
	unsigned	n;
	ht_va_t		va[8192];
	uint64_t	value[8192];
} nps_t;

static nps_t nps;

static int
collect_np(void *arg, ht_va_t va, uint64_t value)
{
	nps_t *s = arg;

	cr_assert_lt(s->n, 8192u);
	cr_assert(s->n == 0 || va > s->va[s->n - 1], "not ascending");
	s->va[s->n] = va;
	s->value[s->n++] = value;
	return (0);
}

/* The np entries of the whole space. */
static unsigned
all_np(env_t *e, ht_as_t *as)
{
	nps.n = 0;
	OK(ht_walk_np(as, 0, va_last(e->g),
	    collect_np, &nps));
	return (nps.n);
}

static int
count_leaf(void *arg, const ht_leaf_t *l)
{
	(void) l;
	(*(unsigned *)arg)++;
	return (0);
}

static unsigned
all_leaves(env_t *e, ht_as_t *as)
{
	unsigned n = 0;

	OK(ht_walk(as, 0, va_last(e->g),
	    count_leaf, &n));
	return (n);
}

static void
expect_np(ht_as_t *as, ht_va_t va, uint64_t value)
{
	uint64_t v = 0;
	int rc = ht_get_np(as, va, &v);

	cr_assert_eq(rc, 0, "get_np 0x%llx: %s", (unsigned long long)va,
	    ht_err_name(rc));
	cr_assert_eq(v, value, "get_np 0x%llx: 0x%llx, want 0x%llx",
	    (unsigned long long)va, (unsigned long long)v,
	    (unsigned long long)value);
}

static void
expect_get(ht_as_t *as, ht_va_t va, int want)
{
	uint64_t v;
	int rc = ht_get_np(as, va, &v);

	cr_assert_eq(rc, want, "get_np 0x%llx: %s, want %s",
	    (unsigned long long)va, ht_err_name(rc), ht_err_name(want));
}

/* The MMU's view: not present, with the value as the last entry read. */
static void
expect_not_present(env_t *e, ht_as_t *as, ht_va_t va, uint64_t value)
{
	ht_xlate_t x;
	ht_access_t a;
	ht_cpu_t cpu;
	ht_pa_t pa;

	cr_assert_eq(ht_translate(as, va, &x), -HT_ENOTMAPPED);
	cr_assert_eq(x.nlevels, e->g->levels);
	cr_assert_eq(x.entries[x.nlevels - 1], value);
	cr_assert_eq(ht_va2pa(as, va, &pa), -HT_ENOTMAPPED);
	memset(&cpu, 0, sizeof (cpu));
	cpu.flags = e->g->has_nx ? HT_CPU_NXE : 0;
	if (e->ept)
		cpu.flags = HT_CPU_EPT_MBEC | HT_CPU_EPT_XONLY;
	for (unsigned acc = HT_ACC_READ; acc <= HT_ACC_FETCH; acc++) {
		OK(ht_access(as, &cpu, va, acc, 3, &a));
		if (e->ept) {
			/* a violation: the access, and no right found */
			cr_assert_eq(a.fault, HT_FAULT_EPT_VIOLATION);
			cr_assert_eq(a.error_code, 1u << acc,
			    "qualification 0x%x", a.error_code);
		} else {
			cr_assert_eq(a.fault, HT_FAULT_PF);
			cr_assert_eq(a.error_code & (HT_PF_P | HT_PF_RSVD), 0,
			    "error code 0x%x", a.error_code);
		}
		cr_assert_eq(a.nsteps, e->g->levels);
	}
}

#define FOR_MODES(m)							\
	for (ht_mode_t m = HT_MODE_32BIT; m <= LAST_MODE;		\
	    m = (ht_mode_t)(m + 1))

/* EPT: the widest value that is not present (bits 0-2 and 10 clear) */
#define EPT_WIDE	(~0ull & ~0x407ull)

/*
 * A value or increment of these tests (a multiple of 0x10 where it is an
 * increment) in EPT's terms: shifted past bit 10, since ht_set_np takes
 * there only increments whose bits 0-10 are clear (none can carry into a
 * present bit, 0-2 or MBEC's 10), as it takes even ones elsewhere.
 */
static uint64_t
np_val(const env_t *e, uint64_t v)
{
	return (e->ept ? v << 7 : v);
}

/* set, get, enumerate; translate, access, walk and scan see nothing */
Test(np, set_get_walk)
{
	FOR_MODES(mode) {
		env_t e;
		ht_scan_cfg_t sc;
		unsigned n = 0;
		ht_stats_t st;
		uint64_t v0, top;

		env_init(&e, mode);
		/*
		 * A and D (bits 5, 6) and W in the values: still not present
		 * (EPT: the bits of a leaf's type, IPAT, A/D and lock)
		 */
		v0 = e.ept ? 0x1b78 : 0x1062;
		top = e.ept ? 0xfffffbf8 : 0xfffffffe;
		OK(ht_map(e.as, VA0 + 16 * PG, 0x10000, 2 * PG, HT_W, 0));
		OK(ht_map(e.as, VA0 + e.s1, 0, e.s1, HT_W, 0));
		OK(ht_set_np(e.as, VA0, 8 * PG, v0, 0x2000));
		OK(ht_set_np(e.as, VA0 + 2 * e.s1 + 5 * PG, PG, top,
		    0x1234567));
		AUDIT(e.as);
		cr_assert_eq(all_np(&e, e.as), 9);
		for (unsigned i = 0; i < 8; i++) {
			cr_assert_eq(nps.va[i], VA0 + i * PG);
			cr_assert_eq(nps.value[i], v0 + i * 0x2000ull);
			expect_np(e.as, VA0 + i * PG + 123, v0 + i * 0x2000ull);
			expect_not_present(&e, e.as, VA0 + i * PG,
			    v0 + i * 0x2000ull);
		}
		expect_np(e.as, VA0 + 2 * e.s1 + 5 * PG, top);
		/* part of the range; nothing before or after */
		nps.n = 0;
		OK(ht_walk_np(e.as, VA0 + 3 * PG + 5, VA0 + 5 * PG, collect_np,
		    &nps));
		cr_assert_eq(nps.n, 3);
		cr_assert_eq(nps.va[0], VA0 + 3 * PG);
		expect_get(e.as, VA0 + 8 * PG, -HT_ENOTMAPPED);
		expect_get(e.as, VA0 + 16 * PG, -HT_EEXIST);
		expect_get(e.as, VA0 + e.s1 + 7 * PG, -HT_EEXIST);
		expect_get(e.as, VA0 + 3 * e.s1, -HT_ENOTMAPPED);
		/* the leaves alone are reported */
		cr_assert_eq(all_leaves(&e, e.as), 3);
		memset(&sc, 0, sizeof (sc));
		sc.mode = mode;
		sc.cr3 = ht_as_root(e.as);
		sc.read = arena_read;
		sc.read_arg = e.arena;
		OK(ht_scan(&sc, count_leaf, &n, NULL));
		cr_assert_eq(n, 3);
		ht_as_stats(e.as, &st);
		cr_assert_eq(st.leaves[0], 2);
		/* bad arguments */
		cr_assert_eq(ht_get_np(e.as, VA0, NULL), -HT_EINVAL);
		cr_assert_eq(ht_get_np(NULL, VA0, &st.leaves[0]), -HT_EINVAL);
		cr_assert_eq(ht_walk_np(e.as, VA0, VA0, NULL, NULL),
		    -HT_EINVAL);
		cr_assert_eq(ht_walk_np(e.as, VA0 + PG, VA0, collect_np,
		    &nps), -HT_ERANGE);
		env_fini(&e);
	}
}

static int
stop_at_third(void *arg, ht_va_t va, uint64_t value)
{
	(void) va;
	(void) value;
	return (++*(int *)arg == 3 ? 42 : 0);
}

Test(np, walk_stops)
{
	env_t e;
	int calls = 0;

	env_init(&e, HT_MODE_4LEVEL);
	OK(ht_set_np(e.as, VA0, 10 * PG, 2, 2));
	cr_assert_eq(ht_walk_np(e.as, 0, ~0ull, stop_at_third, &calls), 42);
	cr_assert_eq(calls, 3);
	env_fini(&e);
}

/* values that are empty, present or too wide: EINVAL, nothing changed */
Test(np, bad_values)
{
	FOR_MODES(mode) {
		env_t e;
		uint64_t top;

		env_init(&e, mode);
		top = e.g->pte_size == 4 ? 0xffffffffull : ~0ull;
		OK(ht_set_np(e.as, VA0, PG, 0x1000, 0));
		cr_assert_eq(ht_set_np(e.as, VA0, 2 * PG, 0, 0x1000),
		    -HT_EINVAL);
		cr_assert_eq(ht_set_np(e.as, VA0, 2 * PG, 0x1001, 0),
		    -HT_EINVAL);
		cr_assert_eq(ht_set_np(e.as, VA0, 2 * PG, 0x1000, 3),
		    -HT_EINVAL);
		cr_assert_eq(ht_set_np(e.as, VA0, 4 * PG, top - 5, 2),
		    -HT_EINVAL);
		if (e.ept) {
			/* any right present: read, write, execute, MBEC's */
			for (unsigned b = 0; b < 11; b++)
				if ((0x407u >> b) & 1)
					cr_assert_eq(ht_set_np(e.as, VA0, PG,
					    0x1000 | (1ull << b), 0),
					    -HT_EINVAL, "bit %u", b);
			/* an increment that could carry into one */
			cr_assert_eq(ht_set_np(e.as, VA0, 2 * PG, 0x1000, 8),
			    -HT_EINVAL);
			cr_assert_eq(ht_set_np(e.as, VA0, 2 * PG, 0x1000,
			    0x400), -HT_EINVAL);
			/* past the widest value */
			cr_assert_eq(ht_set_np(e.as, VA0, 4 * PG,
			    EPT_WIDE - 0x1000, 0x800), -HT_EINVAL);
		}
		if (e.g->pte_size == 4)
			cr_assert_eq(ht_set_np(e.as, VA0, PG, 1ull << 32, 0),
			    -HT_EINVAL);
		cr_assert_eq(ht_set_np(e.as, VA0 + 1, PG, 2, 0), -HT_EALIGN);
		cr_assert_eq(ht_set_np(e.as, VA0, 0, 2, 0), -HT_EINVAL);
		cr_assert_eq(ht_set_np(NULL, VA0, PG, 2, 0), -HT_EINVAL);
		cr_assert_eq(all_np(&e, e.as), 1);
		expect_np(e.as, VA0, 0x1000);
		expect_get(e.as, VA0 + PG, -HT_ENOTMAPPED);
		/* the edges: odd increment for one page, the widest value */
		OK(ht_set_np(e.as, VA0, PG, 0x1000, 3));
		if (e.ept) {
			OK(ht_set_np(e.as, VA0, 3 * PG, EPT_WIDE - 0x1000,
			    0x800));
			expect_np(e.as, VA0 + 2 * PG, EPT_WIDE);
		} else {
			OK(ht_set_np(e.as, VA0, 3 * PG, top - 5, 2));
			expect_np(e.as, VA0 + 2 * PG, top - 1);
		}
		env_fini(&e);
	}
}

/* ht_unmap removes them; the emptied tables go */
Test(np, unmap_removes)
{
	FOR_MODES(mode) {
		env_t e;
		uint64_t used0;

		env_init(&e, mode);
		/* the tables an empty range keeps (PAE keeps its PDs) */
		OK(ht_map(e.as, VA0 - 4 * PG, 0, 8 * PG, HT_W, 0));
		OK(ht_unmap(e.as, VA0 - 4 * PG, 8 * PG, 0));
		(void) ht_as_purge(e.as);
		used0 = ht_arena_frames_used(e.arena);
		OK(ht_set_np(e.as, VA0 - 4 * PG, 8 * PG, np_val(&e, 0x20),
		    np_val(&e, 0x20)));
		OK(ht_map(e.as, VA0 + 8 * PG, 0x5000, PG, HT_W, 0));
		cr_assert_gt(ht_arena_frames_used(e.arena), used0);
		/* one table's fast path, then a range over two tables */
		OK(ht_unmap(e.as, VA0, PG, 0));
		expect_get(e.as, VA0, -HT_ENOTMAPPED);
		expect_np(e.as, VA0 + PG, np_val(&e, 0xc0));
		cr_assert_eq(all_np(&e, e.as), 7);
		AUDIT(e.as);
		OK(ht_unmap(e.as, VA0 - 2 * PG, 4 * PG, 0));
		cr_assert_eq(all_np(&e, e.as), 4);
		expect_np(e.as, VA0 - 3 * PG, np_val(&e, 0x40));
		expect_np(e.as, VA0 + 2 * PG, np_val(&e, 0xe0));
		AUDIT(e.as);
		/* everything: the space is empty and its tables are gone */
		OK(ht_unmap(e.as, 0, VA0 + GIB, 0));
		cr_assert_eq(all_np(&e, e.as), 0);
		cr_assert_eq(all_leaves(&e, e.as), 0);
		AUDIT(e.as);
		(void) ht_as_purge(e.as);
		cr_assert_eq(ht_arena_frames_used(e.arena), used0,
		    "%s: %llu frames, %llu before", ht_mode_name(mode),
		    (unsigned long long)ht_arena_frames_used(e.arena),
		    (unsigned long long)used0);
		env_fini(&e);
	}
}

/* ht_map replaces them, and they replace mappings */
Test(np, map_replaces)
{
	FOR_MODES(mode) {
		env_t e;
		ht_xlate_t x;
		ht_stats_t st;
		ht_va_t big;

		env_init(&e, mode);
		big = VA0 + 4 * e.s1;
		OK(ht_set_np(e.as, VA0, 4 * PG, np_val(&e, 0x100),
		    np_val(&e, 0x100)));
		OK(ht_map(e.as, VA0 + PG, 0x7000, 2 * PG, HT_W, 0));
		cr_assert_eq(all_np(&e, e.as), 2);
		OK(ht_translate(e.as, VA0 + 2 * PG, &x));
		cr_assert_eq(x.pa, 0x8000);
		expect_np(e.as, VA0 + 3 * PG, np_val(&e, 0x400));
		AUDIT(e.as);
		/* NOREPLACE refuses only over present mappings */
		OK(ht_map(e.as, VA0, 0x9000, PG, 0, HT_MAP_NOREPLACE));
		expect_get(e.as, VA0, -HT_EEXIST);
		/* np entries replace mappings (the leaf count goes down) */
		OK(ht_set_np(e.as, VA0, 4 * PG, 0x2000, 0));
		cr_assert_eq(all_np(&e, e.as), 4);
		cr_assert_eq(all_leaves(&e, e.as), 0);
		ht_as_stats(e.as, &st);
		cr_assert_eq(st.leaves[0], 0);
		AUDIT(e.as);
		/* a large page over a table of np entries only takes its place */
		OK(ht_set_np(e.as, big + 7 * PG, 3 * PG, np_val(&e, 0x10),
		    np_val(&e, 0x10)));
		OK(ht_map(e.as, big, 0, e.s1, HT_W, 0));
		OK(ht_translate(e.as, big + 8 * PG, &x));
		cr_assert_eq(x.page_size, e.s1);
		cr_assert_eq(all_np(&e, e.as), 4);
		AUDIT(e.as);
		/* np entries inside a large page split it; the rest stays */
		OK(ht_set_np(e.as, big + 9 * PG, PG, np_val(&e, 0x30), 0));
		expect_np(e.as, big + 9 * PG, np_val(&e, 0x30));
		OK(ht_translate(e.as, big + 10 * PG, &x));
		cr_assert_eq(x.pa, 10 * PG);
		cr_assert_eq(x.page_size, PG);
		OK(ht_translate(e.as, big + e.s1 - PG, &x));
		cr_assert_eq(x.pa, e.s1 - PG);
		AUDIT(e.as);
		/* over a whole large page: it goes, a table of np comes */
		OK(ht_map(e.as, big + e.s1, 0, e.s1, HT_W, 0));
		OK(ht_set_np(e.as, big + e.s1, e.s1, np_val(&e, 0x40),
		    np_val(&e, 0x40)));
		expect_not_present(&e, e.as, big + e.s1 + e.s1 - PG,
		    np_val(&e, 0x40) * (e.s1 / PG));
		AUDIT(e.as);
		env_fini(&e);
	}
}

/* protect, lock, unlock and A/D harvesting leave them alone */
Test(np, changes_skip)
{
	FOR_MODES(mode) {
		env_t e;
		ht_xlate_t x;
		long n;
		uint64_t v0;

		env_init(&e, mode);
		/*
		 * the values have W, U, A, D and bit 9 set: none may move
		 * (EPT: the type, IPAT, A, D and the lock bit)
		 */
		v0 = e.ept ? 0x10b78 : 0x10266;
		OK(ht_set_np(e.as, VA0, 4 * PG, v0, 0x10000));
		OK(ht_map(e.as, VA0 + 4 * PG, 0x5000, 4 * PG, HT_W, 0));
		OK(ht_protect(e.as, VA0, 8 * PG, HT_U));
		OK(ht_lock(e.as, VA0, 8 * PG));
		OK(ht_translate(e.as, VA0 + 4 * PG, &x));
		cr_assert(x.attr & HT_LOCKED);
		OK(ht_unlock(e.as, VA0, 8 * PG));
		n = ht_harvest_ad(e.as, VA0, 8 * PG, HT_A | HT_D, 1, NULL,
		    NULL);
		cr_assert_eq(n, 0, "%ld leaves with A/D", n);
		cr_assert_eq(all_np(&e, e.as), 4);
		for (unsigned i = 0; i < 4; i++)
			expect_np(e.as, VA0 + i * PG, v0 + i * 0x10000ull);
		AUDIT(e.as);
		/* over a locked mapping: ELOCKED, nothing changed */
		OK(ht_map(e.as, VA0 + 10 * PG, 0x5000, PG, HT_W, HT_MAP_LOCK));
		cr_assert_eq(ht_set_np(e.as, VA0 + 8 * PG, 4 * PG,
		    np_val(&e, 2), 0), -HT_ELOCKED);
		cr_assert_eq(all_np(&e, e.as), 4);
		expect_get(e.as, VA0 + 10 * PG, -HT_EEXIST);
		/* unmap with a locked mapping in the range keeps them too */
		cr_assert_eq(ht_unmap(e.as, VA0, 16 * PG, 0), -HT_ELOCKED);
		cr_assert_eq(all_np(&e, e.as), 4);
		AUDIT(e.as);
		env_fini(&e);
	}
}

/*
 * A table holding only np entries survives purge, reap and stealing: a
 * second space allocating with every other allocation failing steals the
 * first space's tables of unlocked pages, never those.
 */
Test(np, survive_pressure)
{
	FOR_MODES(mode) {
		env_t e;
		ht_as_t *thief;
		ht_stats_t st0, st1;
		const int N = 40;
		int gone = 0;
		uint64_t step;

		env_init(&e, mode);
		step = e.ept ? 8 : 2;	/* not a present bit */
		OK(ht_as_create(e.ctx, 0, &thief));
		for (int i = 0; i < N; i++) {
			OK(ht_set_np(e.as, (ht_va_t)i * e.s1 + 3 * PG, PG,
			    0x1000 + (uint64_t)i * step, 0));
			OK(ht_map(e.as, 256 * MIB + (ht_va_t)i * e.s1, 0x1000,
			    PG, HT_W, 0));
		}
		(void) ht_as_purge(e.as);
		(void) ht_ctx_reap(e.ctx);
		AUDIT(e.as);
		ht_ctx_stats(e.ctx, &st0);
		ht_ctx_set_force_steal(e.ctx, 2);
		for (int i = 0; i < N; i++)
			OK(ht_map(thief, 512 * MIB + (ht_va_t)i * e.s1, 0x2000,
			    PG, HT_W, 0));
		ht_ctx_set_force_steal(e.ctx, 0);
		ht_ctx_stats(e.ctx, &st1);
		cr_assert_gt(st1.stolen, st0.stolen, "nothing stolen");
		(void) ht_as_purge(e.as);
		(void) ht_ctx_reap(e.ctx);
		AUDIT(e.as);
		AUDIT(thief);
		for (int i = 0; i < N; i++) {
			ht_pa_t pa;

			expect_np(e.as, (ht_va_t)i * e.s1 + 3 * PG,
			    0x1000 + (uint64_t)i * step);
			if (ht_va2pa(e.as, 256 * MIB + (ht_va_t)i * e.s1,
			    &pa) != 0)
				gone++;
		}
		cr_assert_gt(gone, 0, "no unlocked page was stolen");
		ht_as_destroy(thief);
		env_fini(&e);
	}
}

/* Without enough frames: ENOFRAME and nothing changed, then success. */
Test(np, enoframe_changes_nothing)
{
	FOR_MODES(mode) {
		env_t e;
		uint64_t used0, len;
		int failures = 0, rc = -1;

		env_init(&e, mode);
		OK(ht_set_np(e.as, VA0, PG, 0x800, 0));
		OK(ht_map(e.as, VA0 + e.s1, 0, e.s1, HT_W, 0));
		used0 = ht_arena_frames_used(e.arena);
		len = 3 * e.s1;
		for (uint64_t k = 0; k < 50; k++) {
			ht_arena_set_limit(e.arena, used0 + k);
			rc = ht_set_np(e.as, VA0 + PG, len, 0x1000, 0x1000);
			if (rc == 0)
				break;
			failures++;
			cr_assert_eq(rc, -HT_ENOFRAME, "%s", ht_err_name(rc));
			AUDIT(e.as);
			cr_assert_eq(all_np(&e, e.as), 1);
			expect_get(e.as, VA0 + e.s1 + PG, -HT_EEXIST);
			(void) ht_as_purge(e.as);
			cr_assert_eq(ht_arena_frames_used(e.arena), used0);
		}
		ht_arena_set_limit(e.arena, 0);
		cr_assert_eq(rc, 0);
		cr_assert_geq(failures, 3);
		cr_assert_eq(all_np(&e, e.as), 1 + len / PG);
		expect_np(e.as, VA0 + e.s1 + PG, 0x1000 + e.s1);
		AUDIT(e.as);
		env_fini(&e);
	}
}

/* Tables imported with non-present data in them keep it, counted. */
Test(np, import_keeps)
{
	FOR_MODES(mode) {
		env_t e;
		ht_as_t *imp;

		env_init(&e, mode);
		OK(ht_set_np(e.as, VA0, 3 * PG, 0x3000, 0x1000));
		OK(ht_map(e.as, VA0 + 3 * PG, 0x5000, PG, HT_W, 0));
		/* another context: a frame has one owner in a context */
		ht_config_t cfg;
		ht_ctx_t *c2;

		memset(&cfg, 0, sizeof (cfg));
		cfg.mode = mode;
		cfg.frame_ops = ht_arena_ops();
		cfg.frame_arg = e.arena;
		cfg.ept = e.ept ? EPT_ENV : 0;
		OK(ht_ctx_create(&cfg, &c2));
		OK(ht_as_import(c2, ht_as_root(e.as), 0, &imp));
		AUDIT(imp);
		cr_assert_eq(all_np(&e, imp), 3);
		expect_np(imp, VA0 + 2 * PG, 0x5000);
		expect_not_present(&e, imp, VA0 + PG, 0x4000);
		expect_get(imp, VA0 + 3 * PG, -HT_EEXIST);
		ht_as_destroy(imp);
		OK(ht_ctx_destroy(c2));
		env_fini(&e);
	}
}
