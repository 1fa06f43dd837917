/*
 * test_nested.c - ht_nested_access: a guest's 4-level walk whose every
 * entry, and final address, goes through an EPT space the library built,
 * against a composed reference: tests/lib/eptref.c (written from the SDM
 * apart from the library) for each guest-physical access, and a guest
 * walk written here from the SDM's 4-level paging rules (P, R/W with
 * CR0.WP, U/S, NX with EFER.NXE; no SMEP, SMAP or keys).
 *
 * The guest's four tables and its data page live in a host buffer of the
 * test's own, outside the arena; the EPT space maps their guest-physical
 * pages there with random rights (or not at all), the guest entries have
 * random rights (or are missing), and every access kind at both CPLs is
 * decided both ways: the outcome (completes, the guest's #PF with its
 * error code, an EPT violation with its qualification and where it
 * happened, a misconfiguration), the entries read in both spaces, and
 * the A/D bits.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../lib/api_env.h"
#include "../lib/eptref.h"
#include "../lib/rng.h"

#define HBUF		(1ull << 30)	/* the host buffer's first byte */
#define HBUF_SIZE	(1 * MIB)
#define G_PML4		0x10000ull	/* guest-physical */
#define G_DATA		0x200000ull
#define H_OF(gpa)	(HBUF + ((gpa) & (HBUF_SIZE - 1)))
#define GVA		((1ull << 39) + (2ull << 30) + (3ull << 21) + \
			(4ull << 12) + 0x123)

/* guest x86 entry bits */
#define G_P		0x1ull
#define G_W		0x2ull
#define G_U		0x4ull
#define G_A		0x20ull
#define G_D		0x40ull
#define G_NX		(1ull << 63)

static uint8_t hbuf[HBUF_SIZE];

static uint64_t rng = 0x6a09e667f3bcc909ull;

static uint64_t
rnd(void)
{
	return (rng_next(&rng));
}

/* Host memory: the test's buffer, else the arena (the EPT tables). */
static int
host_rd(void *arg, ht_pa_t pa, void *buf, size_t len)
{
	void *p;

	if (pa >= HBUF && pa + len <= HBUF + HBUF_SIZE) {
		memcpy(buf, hbuf + (pa - HBUF), len);
		return (0);
	}
	if ((p = ht_arena_ptr(arg, pa)) == NULL) {
		memset(buf, 0, len);
		return (1);
	}
	memcpy(buf, p, len);
	return (0);
}

static int
ref_rd(void *arg, uint64_t pa, uint64_t *val)
{
	(void) host_rd(arg, pa, val, 8);
	return (0);
}

/* The guest-physical page of the guest's level-l table (3 = PML4). */
static uint64_t
gtable(int l)
{
	return (G_PML4 + (uint64_t)(3 - l) * PG);
}

static unsigned
gidx(int l)
{
	return ((unsigned)(GVA >> (12 + 9 * l)) & 511);
}

/* The guest entry at level l, in the host buffer. */
static uint64_t *
gentry(int l)
{
	return ((uint64_t *)(void *)(hbuf + (H_OF(gtable(l)) - HBUF) +
	    gidx(l) * 8));
}

/* Random EPT rights for a page, or 0 for "not mapped". */
static unsigned
rnd_ept(unsigned ept)
{
	unsigned r = (unsigned)(rnd() % 20);

	if (r < 13)
		return (HT_W | HT_X | ((ept & HT_EPT_MBEC) ? HT_XU : 0) |
		    HT_EPT_MT(HT_EPT_WB));
	if (r < 15)
		return (HT_EPT_MT(HT_EPT_WB));		/* read only */
	if (r < 17 && (ept & HT_EPT_XONLY))
		return (HT_X | HT_NOREAD);
	if (r < 18)
		return (HT_X);
	return (0);
}

/* Random guest rights for an entry, P included unless it is missing. */
static uint64_t
rnd_guest(void)
{
	uint64_t e = 0;

	if (rnd() % 12 != 0)
		e |= G_P;
	if (rnd() % 6 != 0)
		e |= G_W;
	if (rnd() % 6 != 0)
		e |= G_U;
	if (rnd() % 6 == 0)
		e |= G_NX;
	return (e);
}

typedef struct expect {
	ht_fault_t	fault;
	uint32_t	ec;
	int		stage;
	uint64_t	fault_gpa;
	uint64_t	pa;
	unsigned	nsteps;
	uint64_t	hpa[4];
} expect_t;

/*
 * The composed reference: the guest walk of GVA, each entry's
 * guest-physical address through eptref_walk first.
 */
static void
reference(const eptref_cpu_t *c, uint64_t eptp, int ad, unsigned acc,
    unsigned cpl, expect_t *x)
{
	static const eptref_access_t ea[] = {
		EPTREF_ACC_READ, EPTREF_ACC_WRITE, EPTREF_ACC_FETCH
	};
	uint32_t acc_ec = (acc == HT_ACC_WRITE ? HT_PF_W : 0) |
	    (cpl == 3 ? HT_PF_U : 0) | (acc == HT_ACC_FETCH ? HT_PF_I : 0);
	uint64_t and = G_W | G_U, nx = 0, e = 0;
	eptref_walk_t w;

	memset(x, 0, sizeof (*x));
	x->stage = -1;
	for (int l = 3; l >= 0; l--) {
		uint64_t gpa = gtable(l) + gidx(l) * 8;

		(void) eptref_walk(c, eptp, ref_rd, E.arena, gpa,
		    EPTREF_ACC_GUEST_PT, false, &w);
		x->nsteps++;
		if (w.outcome != EPTREF_OK) {
			x->fault = w.outcome == EPTREF_VIOLATION ?
			    HT_FAULT_EPT_VIOLATION : HT_FAULT_EPT_MISCONFIG;
			x->ec = w.outcome == EPTREF_VIOLATION ?
			    (uint32_t)w.qual | HT_EPTQ_GLA : 0;
			x->stage = 3 - l;
			x->fault_gpa = gpa;
			return;
		}
		x->hpa[3 - l] = w.hpa;
		e = *gentry(l);
		if (!(e & G_P)) {
			x->fault = HT_FAULT_PF;
			x->ec = acc_ec;
			return;
		}
		and &= e;
		nx |= e & G_NX;
	}
	/* the guest's rights (4.6), CR0.WP and EFER.NXE on */
	int ok = cpl == 3 ? (and & G_U) != 0 : 1;
	if (acc == HT_ACC_WRITE && !(and & G_W))
		ok = 0;
	if (acc == HT_ACC_FETCH && nx)
		ok = 0;
	if (!ok) {
		x->fault = HT_FAULT_PF;
		x->ec = acc_ec | HT_PF_P;
		return;
	}
	(void) eptref_walk(c, eptp, ref_rd, E.arena, G_DATA + (GVA & 0xfff),
	    ea[acc], (and & G_U) != 0, &w);
	if (w.outcome != EPTREF_OK) {
		x->fault = w.outcome == EPTREF_VIOLATION ?
		    HT_FAULT_EPT_VIOLATION : HT_FAULT_EPT_MISCONFIG;
		x->ec = w.outcome == EPTREF_VIOLATION ? (uint32_t)w.qual |
		    HT_EPTQ_GLA | HT_EPTQ_FINAL : 0;
		x->stage = 4;
		x->fault_gpa = G_DATA + (GVA & 0xfff);
		return;
	}
	x->pa = w.hpa;
	(void) ad;
}

Test(nested, ept_vs_reference, .timeout = 300)
{
	static const unsigned sets[] = {
		0, HT_EPT_AD, HT_EPT_MBEC | HT_EPT_XONLY,
		HT_EPT_AD | HT_EPT_MBEC | HT_EPT_XONLY
	};
	unsigned long n = 0, outcome[8] = { 0 };

	for (unsigned si = 0; si < 4; si++) {
		unsigned ept = sets[si];
		ht_config_t cfg;
		eptref_cpu_t c;

		memset(&cfg, 0, sizeof (cfg));
		cfg.ept = ept;
		env_setup_cfg(&E, HT_MODE_EPT4, &cfg);
		memset(&c, 0, sizeof (c));
		c.maxphyaddr = 52;
		c.xonly = (ept & HT_EPT_XONLY) != 0;
		c.page_2m = c.page_1g = c.ad = c.walk5 = true;
		c.mbec = (ept & HT_EPT_MBEC) != 0;
		for (int t = 0; t < 3000; t++) {
			ht_cpu_t gcpu = { HT_CPU_NXE | HT_CPU_WP, 0, 0 };
			ht_cpu_t hcpu = { 0, 0, 0 };
			ht_nested_cfg_t nc;
			ht_nested_t r;
			expect_t x;
			uint64_t eptp;
			unsigned acc = (unsigned)(rnd() % 3);
			unsigned cpl = rnd() & 1 ? 3 : 0;

			if (ept & HT_EPT_MBEC)
				hcpu.flags |= HT_CPU_EPT_MBEC;
			if (ept & HT_EPT_XONLY)
				hcpu.flags |= HT_CPU_EPT_XONLY;
			memset(hbuf, 0, 5 * PG);
			for (int l = 3; l >= 0; l--)
				*gentry(l) = (l ? gtable(l - 1) : G_DATA) |
				    rnd_guest();
			/* the EPT mappings of the four tables and the page */
			for (int k = 0; k < 5; k++) {
				uint64_t gpa = k < 4 ? gtable(3 - k) : G_DATA;
				unsigned a = rnd_ept(ept);

				if (a == 0)
					OK(ht_unmap(E.as, gpa, PG, 0));
				else
					OK(ht_map(E.as, gpa, H_OF(gpa), PG, a,
					    0));
			}
			OK(ht_as_eptp(E.as, HT_EPT_WB, &eptp));
			/* now and then a leaf the CPU calls misconfigured */
			if (rnd() % 10 == 0) {
				uint64_t gpa = rnd() % 5 < 4 ?
				    gtable((int)(rnd() % 4)) : G_DATA;
				eptref_walk_t w;
				uint64_t *p;

				(void) eptref_walk(&c, eptp, ref_rd, E.arena,
				    gpa, EPTREF_ACC_READ, false, &w);
				if (w.reached_leaf) {
					p = ht_arena_ptr(E.arena,
					    w.steps[w.nsteps - 1].addr);
					*p = (*p & ~EPTREF_MT(7)) |
					    EPTREF_MT(2);
				}
			}
			memset(&nc, 0, sizeof (nc));
			nc.guest_mode = HT_MODE_4LEVEL;
			nc.guest_cr3 = G_PML4;
			nc.host_mode = HT_MODE_EPT4;
			nc.host_root = eptp;
			nc.read = host_rd;
			nc.read_arg = E.arena;
			OK(ht_nested_access(&nc, &gcpu, &hcpu, GVA, acc, cpl,
			    &r));
			reference(&c, eptp, (ept & HT_EPT_AD) != 0, acc, cpl,
			    &x);
			cr_assert_eq(r.fault, x.fault, "trial %d acc %u cpl %u: "
			    "fault %d, want %d (stage %d/%d)", t, acc, cpl,
			    r.fault, x.fault, r.stage, x.stage);
			cr_assert_eq(r.error_code, x.ec, "trial %d: code 0x%x, "
			    "want 0x%x", t, r.error_code, x.ec);
			cr_assert_eq(r.stage, x.stage, "trial %d", t);
			cr_assert_eq(r.fault_gpa, x.fault_gpa, "trial %d", t);
			cr_assert_eq(r.nsteps, x.nsteps, "trial %d", t);
			for (unsigned k = 0; k < r.nsteps; k++) {
				cr_assert_eq(r.step[k].guest.addr,
				    gtable(3 - (int)k) + gidx(3 - (int)k) * 8);
				if (x.stage != (int)k)
					cr_assert_eq(r.step[k].hpa, x.hpa[k]);
			}
			if (x.fault == HT_FAULT_NONE) {
				cr_assert_eq(r.pa, x.pa);
				cr_assert_eq(r.gpa, G_DATA + (GVA & 0xfff));
				cr_assert_eq(r.page_size, PG);
				cr_assert_eq(r.guest_set_a, 0xf);
				cr_assert_eq(r.guest_set_d, acc == HT_ACC_WRITE);
				/* the guest's table reads set host D with A/D */
				cr_assert_eq(r.step[3].host.set_d,
				    (ept & HT_EPT_AD) != 0);
			}
			outcome[r.fault == HT_FAULT_NONE ? 0 :
			    r.fault == HT_FAULT_PF ? 1 :
			    r.fault == HT_FAULT_EPT_VIOLATION ? 2 : 3]++;
			n++;
		}
		env_teardown(&E);
	}
	cr_log_info("%lu nested accesses: %lu complete, %lu guest #PF, %lu "
	    "EPT violations, %lu misconfigurations", n, outcome[0],
	    outcome[1], outcome[2], outcome[3]);
	for (int o = 0; o < 3; o++)
		cr_assert_gt(outcome[o], n / 20, "outcome %d: %lu", o,
		    outcome[o]);
	cr_assert_gt(outcome[3], n / 100);
}

/* NPT: hand-worked cases (the APM's NPF codes) and the arguments. */
Test(nested, npt_cases_and_arguments, .timeout = 60)
{
	ht_cpu_t gcpu = { HT_CPU_NXE | HT_CPU_WP, 0, 0 };
	ht_cpu_t hcpu = { HT_CPU_NXE, 0, 0 };
	ht_nested_cfg_t nc;
	ht_nested_t r;

	env_setup(&E, HT_MODE_NPT4);
	memset(hbuf, 0, 5 * PG);
	for (int l = 3; l >= 0; l--)
		*gentry(l) = (l ? gtable(l - 1) : G_DATA) | G_P | G_W | G_U;
	for (int k = 0; k < 4; k++)
		OK(ht_map(E.as, gtable(3 - k), H_OF(gtable(3 - k)), PG,
		    HT_W | HT_X, 0));
	OK(ht_map(E.as, G_DATA, H_OF(G_DATA), PG, HT_X, 0));
	memset(&nc, 0, sizeof (nc));
	nc.guest_mode = HT_MODE_4LEVEL;
	nc.guest_cr3 = G_PML4;
	nc.host_mode = HT_MODE_NPT4;
	nc.host_root = ht_as_root(E.as);
	nc.read = host_rd;
	nc.read_arg = E.arena;
	/* a read completes, through the guest's and the host's pages */
	OK(ht_nested_access(&nc, &gcpu, &hcpu, GVA, HT_ACC_READ, 3, &r));
	cr_assert_eq(r.fault, HT_FAULT_NONE);
	cr_assert_eq(r.pa, H_OF(G_DATA) + 0x123);
	cr_assert_eq(r.nsteps, 4);
	for (int k = 0; k < 4; k++)
		cr_assert_eq(r.step[k].hpa, H_OF(gtable(3 - k)) +
		    gidx(3 - k) * 8);
	/* a write to the read-only host page: NPF on the final address */
	OK(ht_nested_access(&nc, &gcpu, &hcpu, GVA, HT_ACC_WRITE, 3, &r));
	cr_assert_eq(r.fault, HT_FAULT_NPF);
	cr_assert_eq(r.error_code, HT_PF_P | HT_PF_W | HT_PF_U);
	cr_assert_eq(r.exit_info1, HT_NPF_FINAL | HT_PF_P | HT_PF_W |
	    HT_PF_U);
	cr_assert_eq(r.stage, 4);
	/* the PD page read-only to the host: the guest's walk writes A/D */
	OK(ht_protect(E.as, gtable(1), PG, HT_X));
	OK(ht_nested_access(&nc, &gcpu, &hcpu, GVA, HT_ACC_READ, 3, &r));
	cr_assert_eq(r.fault, HT_FAULT_NPF);
	cr_assert_eq(r.stage, 2);
	cr_assert_eq(r.fault_gpa, gtable(1) + gidx(1) * 8);
	cr_assert_eq(r.exit_info1, HT_NPF_TABLE | HT_PF_P | HT_PF_W |
	    HT_PF_U);
	/* the PT page not mapped: not present */
	OK(ht_protect(E.as, gtable(1), PG, HT_W | HT_X));
	OK(ht_unmap(E.as, gtable(0), PG, 0));
	OK(ht_nested_access(&nc, &gcpu, &hcpu, GVA, HT_ACC_FETCH, 0, &r));
	cr_assert_eq(r.fault, HT_FAULT_NPF);
	cr_assert_eq(r.stage, 3);
	cr_assert_eq(r.exit_info1, HT_NPF_TABLE | HT_PF_W | HT_PF_U);
	/* the guest's own fault comes first where its entry says so */
	*gentry(2) &= ~G_U;
	OK(ht_nested_access(&nc, &gcpu, &hcpu, GVA, HT_ACC_READ, 3, &r));
	cr_assert_eq(r.fault, HT_FAULT_NPF, "the PT page is still missing");
	OK(ht_map(E.as, gtable(0), H_OF(gtable(0)), PG, HT_W | HT_X, 0));
	OK(ht_nested_access(&nc, &gcpu, &hcpu, GVA, HT_ACC_READ, 3, &r));
	cr_assert_eq(r.fault, HT_FAULT_PF);
	cr_assert_eq(r.error_code, HT_PF_P | HT_PF_U);
	cr_assert_eq(r.stage, -1);
	/* arguments */
	arm_detail();
	nc.guest_mode = HT_MODE_EPT4;
	cr_assert_eq(ht_nested_access(&nc, &gcpu, &hcpu, GVA, 0, 0, &r),
	    -HT_EINVAL);
	check_detail(__LINE__, "EPT as the guest's mode");
	nc.guest_mode = HT_MODE_4LEVEL;
	nc.host_mode = HT_MODE_4LEVEL;
	arm_detail();
	cr_assert_eq(ht_nested_access(&nc, &gcpu, &hcpu, GVA, 0, 0, &r),
	    -HT_EINVAL);
	check_detail(__LINE__, "4level as the host's mode");
	nc.host_mode = HT_MODE_NPT4;
	cr_assert_eq(ht_nested_access(&nc, NULL, &hcpu, GVA, 0, 0, &r),
	    -HT_EINVAL);
	arm_detail();
	cr_assert_eq(ht_nested_access(&nc, &gcpu, &hcpu, 1ull << 47, 0, 0,
	    &r), 0);
	cr_assert_eq(r.fault, HT_FAULT_GP, "a non-canonical guest address");
	env_teardown(&E);
}
