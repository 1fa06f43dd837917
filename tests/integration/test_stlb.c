/*
 * test_stlb.c - integration tests of the translation cache (soft TLB,
 * ht_stlb_*): a fill answers as ht_access and sets A/D as the MMU does; a
 * hit needs the access allowed and, for a write, a Dirty leaf; every
 * change the TLB hook reports empties what it covers, also in a context
 * without a hook and in a space that shares the changed tables in; the
 * destroy of a space detaches its soft TLBs.
 *
 * Only htable.h is used; the environment (arena, context, space, TLB
 * record) is tests/lib/api_env.h.  Every test runs in every paging mode
 * and ends with every space destroyed and no frame left in the arena.
 * In EPT the CPU is the one the context's entries are made for (MBEC,
 * execute-only pages), a fault is an EPT violation, and HT_U is HT_XU:
 * a page mapped with it allows user-mode fetches; ept_rules has what EPT
 * adds (execute-only pages, misconfigurations, no A/D).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "../lib/api_env.h"

#define VA	(1 * GIB)
#define PA	(16 * MIB)

static ht_cpu_t
cpu_of(ht_mode_t mode)
{
	ht_cpu_t c;

	memset(&c, 0, sizeof (c));
	c.flags = HT_CPU_WP | (mode != HT_MODE_32BIT ? HT_CPU_NXE : 0);
	if (mode_ept(ht_geometry(mode)))
		c.flags = HT_CPU_EPT_MBEC | HT_CPU_EPT_XONLY;
	return (c);
}

/* Hit or miss, and on a hit the address. */
static void
hit_is(ht_stlb_t *t, ht_va_t va, unsigned acc, unsigned cpl, int want,
    ht_pa_t pa, int line)
{
	ht_pa_t got = 0;
	int h = ht_stlb_lookup(t, va, acc, cpl, &got);

	cr_assert_eq(h, want, "line %d: va 0x%llx acc %u cpl %u: %s", line,
	    (unsigned long long)va, acc, cpl, h ? "hit" : "miss");
	if (h)
		cr_assert_eq(got, pa, "line %d: pa 0x%llx, want 0x%llx", line,
		    (unsigned long long)got, (unsigned long long)pa);
}
#define HIT(t, va, acc, cpl, pa)	hit_is(t, va, acc, cpl, 1, pa, __LINE__)
#define MISS(t, va, acc, cpl)		hit_is(t, va, acc, cpl, 0, 0, __LINE__)

/* Fill and expect the access to complete at pa. */
static void
fill_ok(ht_stlb_t *t, ht_va_t va, unsigned acc, unsigned cpl, ht_pa_t pa,
    int line)
{
	ht_access_t a;
	int rc = ht_stlb_fill(t, va, acc, cpl, &a);

	cr_assert_eq(rc, 0, "line %d: fill: %s", line, ht_errdetail());
	cr_assert_eq(a.fault, HT_FAULT_NONE, "line %d: fault %d ec 0x%x",
	    line, (int)a.fault, a.error_code);
	cr_assert_eq(a.pa, pa, "line %d: pa 0x%llx", line,
	    (unsigned long long)a.pa);
}
#define FILL(t, va, acc, cpl, pa)	fill_ok(t, va, acc, cpl, pa, __LINE__)

/* Fill and expect `want` (a #PF; in EPT a violation) not cached. */
static void
fill_fault_is(ht_stlb_t *t, ht_va_t va, unsigned acc, unsigned cpl,
    ht_fault_t want, int line)
{
	ht_access_t a;
	int rc = ht_stlb_fill(t, va, acc, cpl, &a);

	if (want == HT_FAULT_PF &&
	    mode_ept(ht_ctx_geometry(ht_as_ctx(ht_stlb_as(t)))))
		want = HT_FAULT_EPT_VIOLATION;
	cr_assert_eq(rc, 0, "line %d: fill: %s", line, ht_errdetail());
	cr_assert_eq(a.fault, want, "line %d: fault %d, want %d", line,
	    (int)a.fault, (int)want);
	hit_is(t, va, acc, cpl, 0, 0, line);	/* nothing negative cached */
}
#define FAULT(t, va, acc, cpl)	\
	fill_fault_is(t, va, acc, cpl, HT_FAULT_PF, __LINE__)
#define MISCONFIG(t, va, acc, cpl)	\
	fill_fault_is(t, va, acc, cpl, HT_FAULT_EPT_MISCONFIG, __LINE__)

/* The raw leaf of va. */
static uint64_t
leaf_of(env_t *e, ht_as_t *as, ht_va_t va)
{
	unsigned level;
	void *p = raw_leaf(e->arena, e->g, as, va, &level);

	cr_assert_not_null(p);
	return (e->g->pte_size == 8 ? *(uint64_t *)p : *(uint32_t *)p);
}

/* The raw leaf of va has all of bits (E_A, E_D: the format's). */
static int
leaf_has(env_t *e, ht_as_t *as, ht_va_t va, uint64_t bits)
{
	bits = raw_ad(e->g, bits);
	return ((leaf_of(e, as, va) & bits) == bits);
}

MODE_PARAMS(stlb, fill_and_hit)

ParameterizedTest(ht_mode_t *mode, stlb, fill_and_hit, .timeout = 120)
{
	env_t *e = &E;
	ht_cpu_t cpu = cpu_of(*mode);
	ht_stlb_t *t;
	ht_stlb_stats_t st;

	env_setup(e, *mode);
	OK(ht_map(e->as, VA, PA, 4 * PG, HT_W | HT_U, 0));
	OK(ht_stlb_create(e->as, 64, &cpu, &t));
	cr_assert_eq(ht_stlb_as(t), e->as);

	MISS(t, VA + 0x123, HT_ACC_READ, 3);
	cr_assert(!leaf_has(e, e->as, VA, E_A), "fresh map has no A");
	FILL(t, VA + 0x123, HT_ACC_READ, 3, PA + 0x123);
	cr_assert(leaf_has(e, e->as, VA, E_A), "the fill set A");
	cr_assert(!leaf_has(e, e->as, VA, E_D), "a read sets no D");
	HIT(t, VA + 0x456, HT_ACC_READ, 3, PA + 0x456);
	HIT(t, VA + 0x456, HT_ACC_READ, 0, PA + 0x456);	/* no SMAP */
	/* clean: a write misses, and its fill sets D */
	MISS(t, VA, HT_ACC_WRITE, 3);
	MISS(t, VA, HT_ACC_WRITE, 0);
	FILL(t, VA + 8, HT_ACC_WRITE, 3, PA + 8);
	cr_assert(leaf_has(e, e->as, VA, E_A | E_D), "the fill set D");
	HIT(t, VA + 16, HT_ACC_WRITE, 3, PA + 16);
	HIT(t, VA + 16, HT_ACC_WRITE, 0, PA + 16);
	/* no HT_X: a fetch faults where the mode has NX */
	if (mode_ept(e->g)) {
		/* EPT: HT_U is HT_XU, user-mode fetches only (MBEC) */
		HIT(t, VA, HT_ACC_FETCH, 3, PA);
		MISS(t, VA, HT_ACC_FETCH, 0);
		FAULT(t, VA, HT_ACC_FETCH, 0);
	} else if (*mode != HT_MODE_32BIT) {
		MISS(t, VA, HT_ACC_FETCH, 3);
		FAULT(t, VA, HT_ACC_FETCH, 3);
	} else {
		HIT(t, VA, HT_ACC_FETCH, 3, PA);
	}
	/* the neighbour page has its own entry */
	MISS(t, VA + PG, HT_ACC_READ, 3);
	FILL(t, VA + PG, HT_ACC_READ, 3, PA + PG);
	HIT(t, VA + PG, HT_ACC_READ, 3, PA + PG);
	/* out-of-range arguments always miss */
	MISS(t, VA, 3, 3);
	MISS(t, VA, HT_ACC_READ, 4);

	OK(ht_stlb_stats(t, &st));
	cr_assert_eq(st.fills, 3);
	cr_assert_eq(st.entries, 2);
	ht_stlb_flush(t);
	MISS(t, VA, HT_ACC_READ, 3);
	OK(ht_stlb_stats(t, &st));
	cr_assert_eq(st.entries, 0);

	ht_stlb_destroy(t);
	env_teardown(e);
}

MODE_PARAMS(stlb, rights)

ParameterizedTest(ht_mode_t *mode, stlb, rights, .timeout = 120)
{
	env_t *e = &E;
	ht_cpu_t cpu = cpu_of(*mode);
	ht_stlb_t *t;

	env_setup(e, *mode);
	/* supervisor only, read-only, executable */
	OK(ht_map(e->as, VA, PA, PG, HT_X, 0));
	OK(ht_stlb_create(e->as, 16, &cpu, &t));
	if (mode_npt(e->g)) {
		/*
		 * Nested paging: every entry has U and every access is a
		 * user one, at any CPL: reads and fetches pass, a write to
		 * the read-only page faults, and CR0.WP changes nothing.
		 */
		FILL(t, VA, HT_ACC_READ, 0, PA);
		HIT(t, VA, HT_ACC_READ, 3, PA);
		HIT(t, VA, HT_ACC_FETCH, 0, PA);
		FAULT(t, VA, HT_ACC_WRITE, 0);
		FAULT(t, VA, HT_ACC_WRITE, 3);
		cpu.flags &= ~HT_CPU_WP;
		OK(ht_stlb_set_cpu(t, &cpu));
		FAULT(t, VA, HT_ACC_WRITE, 0);
		/*
		 * A dirty page made read-only: a fill caches the leaf's
		 * rights for every access, and the "CPL 0" write is a user
		 * one too (an old bug cached it as allowed without WP).
		 */
		OK(ht_map(e->as, VA + PG, PA + PG, PG, HT_W, 0));
		FILL(t, VA + PG, HT_ACC_WRITE, 0, PA + PG);
		OK(ht_protect(e->as, VA + PG, PG, 0));
		FILL(t, VA + PG, HT_ACC_READ, 3, PA + PG);
		MISS(t, VA + PG, HT_ACC_WRITE, 0);
		FAULT(t, VA + PG, HT_ACC_WRITE, 0);
		ht_stlb_destroy(t);
		env_teardown(e);
		return;
	}
	if (mode_ept(e->g)) {
		/*
		 * EPT: no U/S and no WP.  Reads pass at any CPL, a write to
		 * the read-only page is a violation at any CPL, and with
		 * MBEC bit 2 allows supervisor-mode fetches only.
		 */
		FILL(t, VA, HT_ACC_READ, 3, PA);
		HIT(t, VA, HT_ACC_READ, 0, PA);
		HIT(t, VA, HT_ACC_FETCH, 0, PA);
		MISS(t, VA, HT_ACC_FETCH, 3);
		FAULT(t, VA, HT_ACC_FETCH, 3);
		MISS(t, VA, HT_ACC_WRITE, 0);
		FAULT(t, VA, HT_ACC_WRITE, 0);
		FAULT(t, VA, HT_ACC_WRITE, 3);
		/* without MBEC bit 2 allows every fetch */
		cpu.flags &= ~HT_CPU_EPT_MBEC;
		OK(ht_stlb_set_cpu(t, &cpu));
		MISS(t, VA, HT_ACC_READ, 0);	/* set_cpu flushed */
		FILL(t, VA, HT_ACC_FETCH, 3, PA);
		HIT(t, VA, HT_ACC_FETCH, 0, PA);
		HIT(t, VA, HT_ACC_READ, 3, PA);
		MISS(t, VA, HT_ACC_WRITE, 3);
		FAULT(t, VA, HT_ACC_WRITE, 3);
		ht_stlb_destroy(t);
		env_teardown(e);
		return;
	}
	FAULT(t, VA, HT_ACC_READ, 3);
	FILL(t, VA, HT_ACC_FETCH, 0, PA);
	HIT(t, VA, HT_ACC_READ, 0, PA);
	HIT(t, VA, HT_ACC_FETCH, 0, PA);
	MISS(t, VA, HT_ACC_READ, 3);
	MISS(t, VA, HT_ACC_WRITE, 0);
	FAULT(t, VA, HT_ACC_WRITE, 0);		/* WP */
	/* without WP the supervisor may write, and the fill sets D */
	cpu.flags &= ~HT_CPU_WP;
	OK(ht_stlb_set_cpu(t, &cpu));
	MISS(t, VA, HT_ACC_READ, 0);		/* set_cpu flushed */
	FILL(t, VA, HT_ACC_WRITE, 0, PA);
	HIT(t, VA, HT_ACC_WRITE, 0, PA);
	MISS(t, VA, HT_ACC_WRITE, 3);
	ht_stlb_destroy(t);
	env_teardown(e);
}

MODE_PARAMS(stlb, large_page)

ParameterizedTest(ht_mode_t *mode, stlb, large_page, .timeout = 120)
{
	env_t *e = &E;
	ht_cpu_t cpu = cpu_of(*mode);
	uint64_t s1;
	ht_stlb_t *t;

	env_setup(e, *mode);
	s1 = lsize(e->g, 1);
	OK(ht_map(e->as, VA, 2 * s1, s1, HT_W | HT_U, 0));
	OK(ht_stlb_create(e->as, 1024, &cpu, &t));
	FILL(t, VA + 5 * PG + 7, HT_ACC_WRITE, 3, 2 * s1 + 5 * PG + 7);
	HIT(t, VA + 5 * PG, HT_ACC_WRITE, 3, 2 * s1 + 5 * PG);
	MISS(t, VA + 6 * PG, HT_ACC_READ, 3);	/* one entry per 4 KiB */
	FILL(t, VA + 6 * PG, HT_ACC_READ, 3, 2 * s1 + 6 * PG);
	/* the leaf is dirty now: a read's fill caches the write too */
	HIT(t, VA + 6 * PG, HT_ACC_WRITE, 3, 2 * s1 + 6 * PG);
	/* one small page out of the large one: both entries go */
	OK(ht_unmap(e->as, VA + 6 * PG, PG, 0));
	MISS(t, VA + 5 * PG, HT_ACC_READ, 3);
	MISS(t, VA + 6 * PG, HT_ACC_READ, 3);
	FAULT(t, VA + 6 * PG, HT_ACC_READ, 3);
	FILL(t, VA + 5 * PG, HT_ACC_READ, 3, 2 * s1 + 5 * PG);
	ht_stlb_destroy(t);
	env_teardown(e);
}

/*
 * Every kind of change empties what it covers: unmap, protect, a remap
 * to another frame, a harvest that clears A/D, a large unmap (the
 * look-at-every-entry path).
 */
static void
changes(env_t *e, ht_as_t *as, ht_stlb_t *t)
{
	FILL(t, VA, HT_ACC_WRITE, 3, PA);
	OK(ht_protect(as, VA, PG, HT_U));
	MISS(t, VA, HT_ACC_WRITE, 3);
	MISS(t, VA, HT_ACC_READ, 3);
	FAULT(t, VA, HT_ACC_WRITE, 3);
	FILL(t, VA, HT_ACC_READ, 3, PA);

	OK(ht_map(as, VA, PA + 64 * PG, PG, HT_W | HT_U, 0));
	MISS(t, VA, HT_ACC_READ, 3);
	FILL(t, VA, HT_ACC_WRITE, 3, PA + 64 * PG);

	/* harvest clears D: the next write must miss to set it again */
	cr_assert(ht_harvest_ad(as, VA, PG, HT_A | HT_D, HT_AD_CLEAR, NULL,
	    NULL) >= 0, "harvest: %s", ht_errdetail());
	MISS(t, VA, HT_ACC_WRITE, 3);
	FILL(t, VA, HT_ACC_WRITE, 3, PA + 64 * PG);
	cr_assert(leaf_has(e, as, VA, E_A | E_D));

	FILL(t, VA + PG, HT_ACC_READ, 3, PA + PG);
	OK(ht_unmap(as, VA, lsize(e->g, 1), 0));
	MISS(t, VA, HT_ACC_READ, 3);
	MISS(t, VA + PG, HT_ACC_READ, 3);
	FAULT(t, VA + PG, HT_ACC_READ, 3);
}

MODE_PARAMS(stlb, invalidation)

ParameterizedTest(ht_mode_t *mode, stlb, invalidation, .timeout = 120)
{
	env_t *e = &E;
	ht_cpu_t cpu = cpu_of(*mode);
	ht_stlb_stats_t st;
	ht_stlb_t *t;

	env_setup(e, *mode);
	OK(ht_map(e->as, VA, PA, 4 * PG, HT_W | HT_U, 0));
	OK(ht_stlb_create(e->as, 8, &cpu, &t));	/* small: the scan path */
	changes(e, e->as, t);
	OK(ht_stlb_stats(t, &st));
	cr_assert(st.invals >= 4, "%llu invalidations",
	    (unsigned long long)st.invals);
	ht_stlb_destroy(t);
	env_teardown(e);
}

/*
 * A context of its own with `hook` (NULL: none), one space (flags) with
 * four pages mapped, and a soft TLB of 512 entries on it.
 */
static ht_as_t *
own_space(env_t *e, ht_mode_t mode, ht_tlb_fn hook, unsigned flags,
    ht_ctx_t **r_ctx, ht_stlb_t **r_t)
{
	ht_cpu_t cpu = cpu_of(mode);
	ht_config_t cfg;
	ht_as_t *as;

	env_setup(e, mode);
	cfg = base_cfg(e, mode);
	cfg.tlb = hook;
	cfg.tlb_info = NULL;
	OK(ht_ctx_create(&cfg, r_ctx));
	OK(ht_as_create(*r_ctx, flags, &as));
	OK(ht_map(as, VA, PA, 4 * PG, HT_W | HT_U, 0));
	OK(ht_stlb_create(as, 512, &cpu, r_t));
	return (as);
}

MODE_PARAMS(stlb, no_hook)

/* A context without a TLB hook still empties its soft TLBs. */
ParameterizedTest(ht_mode_t *mode, stlb, no_hook, .timeout = 120)
{
	env_t *e = &E;
	ht_cpu_t cpu = cpu_of(*mode);
	ht_ctx_t *ctx;
	ht_stlb_t *t, *t2;
	ht_as_t *as = own_space(e, *mode, NULL, 0, &ctx, &t);

	OK(ht_stlb_create(as, 2, &cpu, &t2));	/* two on one space */
	changes(e, as, t);
	OK(ht_map(as, VA, PA, PG, HT_W | HT_U, 0));
	FILL(t2, VA, HT_ACC_READ, 3, PA);
	OK(ht_unmap(as, VA, PG, 0));
	MISS(t2, VA, HT_ACC_READ, 3);
	ht_stlb_destroy(t);
	ht_stlb_destroy(t2);
	ht_as_destroy(as);
	OK(ht_ctx_destroy(ctx));
	env_teardown(e);
}

MODE_PARAMS(stlb, nommu)

static unsigned long nommu_hook_calls;

static void
nommu_hook(void *arg, ht_as_t *as, ht_va_t va, uint64_t len)
{
	(void) arg;
	(void) as;
	(void) va;
	(void) len;
	nommu_hook_calls++;
}

/*
 * A space no MMU walks yet (HT_AS_NOMMU) calls no TLB hook, but its soft
 * TLBs read its tables all the same: every change still empties them.
 */
ParameterizedTest(ht_mode_t *mode, stlb, nommu, .timeout = 120)
{
	env_t *e = &E;
	ht_ctx_t *ctx;
	ht_stlb_t *t;
	ht_as_t *as = own_space(e, *mode, nommu_hook, HT_AS_NOMMU, &ctx, &t);

	nommu_hook_calls = 0;
	changes(e, as, t);
	cr_assert_eq(nommu_hook_calls, 0, "no hook for a no-MMU space");
	OK(ht_as_set_mmu(as, 1));
	OK(ht_map(as, VA, PA, PG, HT_W | HT_U, 0));
	FILL(t, VA, HT_ACC_WRITE, 3, PA);
	OK(ht_unmap(as, VA, PG, 0));
	MISS(t, VA, HT_ACC_READ, 3);
	cr_assert(nommu_hook_calls > 0, "live again: the hook hears of it");
	ht_stlb_destroy(t);
	ht_as_destroy(as);
	OK(ht_ctx_destroy(ctx));
	env_teardown(e);
}

MODE_PARAMS(stlb, shared)

/* The changes of a source reach a soft TLB of a space that shares in. */
ParameterizedTest(ht_mode_t *mode, stlb, shared, .timeout = 120)
{
	env_t *e = &E;
	ht_cpu_t cpu = cpu_of(*mode);
	uint64_t s1;
	ht_as_t *sharer;
	ht_stlb_t *t;
	ht_share_info_t si;

	env_setup(e, *mode);
	s1 = lsize(e->g, 1);
	OK(ht_map(e->as, VA, PA, 4 * PG, HT_W | HT_U, 0));
	OK(ht_as_create(e->ctx, 0, &sharer));
	OK(ht_share(sharer, 2 * GIB, e->as, VA, s1, &si));
	cr_assert(si.tables >= 1, "a table is shared");
	OK(ht_stlb_create(sharer, 64, &cpu, &t));
	FILL(t, 2 * GIB + PG, HT_ACC_WRITE, 3, PA + PG);
	HIT(t, 2 * GIB + PG, HT_ACC_WRITE, 3, PA + PG);
	OK(ht_protect(e->as, VA + PG, PG, HT_U));
	MISS(t, 2 * GIB + PG, HT_ACC_READ, 3);
	FAULT(t, 2 * GIB + PG, HT_ACC_WRITE, 3);
	FILL(t, 2 * GIB + PG, HT_ACC_READ, 3, PA + PG);
	OK(ht_unmap(e->as, VA + PG, PG, 0));
	MISS(t, 2 * GIB + PG, HT_ACC_READ, 3);
	FAULT(t, 2 * GIB + PG, HT_ACC_READ, 3);
	/* the source goes: the sharer reads the region as unmapped */
	FILL(t, 2 * GIB, HT_ACC_READ, 3, PA);
	ht_as_destroy(e->as);
	e->as = NULL;
	MISS(t, 2 * GIB, HT_ACC_READ, 3);
	FAULT(t, 2 * GIB, HT_ACC_READ, 3);
	ht_stlb_destroy(t);
	ht_as_destroy(sharer);
	env_teardown(e);
}

MODE_PARAMS(stlb, destroy_space)

/* ht_as_destroy detaches: the soft TLB is empty and its fills fail. */
ParameterizedTest(ht_mode_t *mode, stlb, destroy_space, .timeout = 120)
{
	env_t *e = &E;
	ht_cpu_t cpu = cpu_of(*mode);
	ht_access_t a;
	ht_as_t *as;
	ht_stlb_t *t;

	env_setup(e, *mode);
	OK(ht_as_create(e->ctx, 0, &as));
	OK(ht_map(as, VA, PA, PG, HT_W | HT_U, 0));
	OK(ht_stlb_create(as, 64, &cpu, &t));
	FILL(t, VA, HT_ACC_READ, 3, PA);
	ht_as_destroy(as);
	cr_assert_null(ht_stlb_as(t));
	MISS(t, VA, HT_ACC_READ, 3);
	cr_assert_eq(ht_stlb_fill(t, VA, HT_ACC_READ, 3, &a), -HT_EINVAL);
	cr_assert_eq(ht_stlb_set_cpu(t, &cpu), -HT_EINVAL);
	ht_stlb_destroy(t);
	env_teardown(e);
}

/*
 * What EPT adds: read is a right (execute-only pages), the CPL of a fetch
 * picks bit 2 or bit 10 (MBEC), a misconfigured leaf is a fault that is
 * never cached, A/D are bits 8 and 9 (the memory type and IPAT in bits
 * 3-6 stay as mapped), and a space whose EPTP enables no A/D has nothing
 * to set: a write hits after any fill, and every change empties.
 */
static void
ept_rules(ht_mode_t mode)
{
	const uint64_t wb = (6ull << 3) | (1ull << 6);	/* WB, IPAT */
	env_t *e = &E;
	ht_cpu_t cpu = cpu_of(mode);
	ht_config_t cfg;
	ht_stlb_t *t;
	uint64_t *p, old;
	unsigned l;

	env_setup(e, mode);
	OK(ht_map(e->as, VA, PA, PG, HT_X | HT_NOREAD, 0));
	OK(ht_map(e->as, VA + PG, PA + PG, PG, HT_XU | HT_NOREAD, 0));
	OK(ht_map(e->as, VA + 2 * PG, PA + 2 * PG, PG, HT_W |
	    HT_EPT_MT(HT_EPT_WB) | HT_EPT_IPAT, 0));
	OK(ht_stlb_create(e->as, 64, &cpu, &t));
	/* execute-only: a fetch at the CPL its bit allows, nothing else */
	FILL(t, VA, HT_ACC_FETCH, 0, PA);
	HIT(t, VA, HT_ACC_FETCH, 1, PA);
	MISS(t, VA, HT_ACC_READ, 0);
	MISS(t, VA, HT_ACC_FETCH, 3);
	FAULT(t, VA, HT_ACC_READ, 0);
	FAULT(t, VA, HT_ACC_FETCH, 3);
	FAULT(t, VA, HT_ACC_WRITE, 0);
	FILL(t, VA + PG, HT_ACC_FETCH, 3, PA + PG);
	MISS(t, VA + PG, HT_ACC_FETCH, 0);
	FAULT(t, VA + PG, HT_ACC_FETCH, 0);
	FAULT(t, VA + PG, HT_ACC_READ, 3);
	/* A is bit 8, D bit 9; the memory type stays */
	cr_assert(leaf_has(e, e->as, VA, E_A), "the fetch set A");
	cr_assert(!leaf_has(e, e->as, VA, E_D), "a fetch sets no D");
	FILL(t, VA + 2 * PG, HT_ACC_WRITE, 3, PA + 2 * PG);
	cr_assert_eq(leaf_of(e, e->as, VA + 2 * PG) & 0x7ff, EPT_R | EPT_W |
	    wb | EPT_A | EPT_D, "leaf 0x%llx",
	    (unsigned long long)leaf_of(e, e->as, VA + 2 * PG));
	HIT(t, VA + 2 * PG, HT_ACC_WRITE, 0, PA + 2 * PG);
	/* a CPU without execute-only pages: those are misconfigured */
	cpu.flags &= ~HT_CPU_EPT_XONLY;
	OK(ht_stlb_set_cpu(t, &cpu));
	MISS(t, VA + 2 * PG, HT_ACC_READ, 3);	/* set_cpu flushed */
	MISCONFIG(t, VA, HT_ACC_FETCH, 0);
	MISCONFIG(t, VA + PG, HT_ACC_FETCH, 3);
	MISCONFIG(t, VA, HT_ACC_READ, 0);
	FILL(t, VA + 2 * PG, HT_ACC_READ, 3, PA + 2 * PG);
	/* a leaf that names memory type 2, as a bad hand could write it */
	p = raw_leaf(e->arena, e->g, e->as, VA + 2 * PG, &l);
	cr_assert_not_null(p);
	old = *p;
	*p = (old & ~(7ull << 3)) | (2ull << 3);
	ht_stlb_flush(t);
	MISCONFIG(t, VA + 2 * PG, HT_ACC_READ, 3);
	MISCONFIG(t, VA + 2 * PG, HT_ACC_WRITE, 0);
	*p = old;
	FILL(t, VA + 2 * PG, HT_ACC_READ, 3, PA + 2 * PG);
	ht_stlb_destroy(t);
	env_teardown(e);

	/* no A/D: nothing set, so a read's fill caches the write too */
	cfg = base_cfg(e, mode);
	cfg.ept = HT_EPT_MBEC | HT_EPT_XONLY;
	env_setup_cfg(e, mode, &cfg);
	cpu = cpu_of(mode);
	OK(ht_map(e->as, VA, PA, 2 * PG, HT_W | HT_EPT_MT(HT_EPT_WB), 0));
	OK(ht_stlb_create(e->as, 64, &cpu, &t));
	old = leaf_of(e, e->as, VA);
	FILL(t, VA, HT_ACC_READ, 3, PA);
	HIT(t, VA, HT_ACC_WRITE, 3, PA);
	HIT(t, VA, HT_ACC_WRITE, 0, PA);
	FILL(t, VA + PG, HT_ACC_WRITE, 0, PA + PG);
	cr_assert_eq(leaf_of(e, e->as, VA), old, "leaf 0x%llx, was 0x%llx",
	    (unsigned long long)leaf_of(e, e->as, VA),
	    (unsigned long long)old);
	/* every present leaf may be cached: a change empties it */
	OK(ht_protect(e->as, VA, PG, 0));
	MISS(t, VA, HT_ACC_READ, 3);
	FAULT(t, VA, HT_ACC_WRITE, 3);
	FILL(t, VA, HT_ACC_READ, 0, PA);
	OK(ht_unmap(e->as, VA, 2 * PG, 0));
	MISS(t, VA, HT_ACC_READ, 0);
	MISS(t, VA + PG, HT_ACC_WRITE, 0);
	FAULT(t, VA + PG, HT_ACC_READ, 0);
	ht_stlb_destroy(t);
	env_teardown(e);
}

Test(stlb, ept4_rules, .timeout = 60) { ept_rules(HT_MODE_EPT4); }
Test(stlb, ept5_rules, .timeout = 60) { ept_rules(HT_MODE_EPT5); }
