/*
 * access.c - the MMU's verdict on one access: does a read, write or
 * instruction fetch at a given CPL complete, and if not, which fault with
 * which error code; if it does, where it lands and which Accessed/Dirty
 * bits the MMU sets on the way (Intel SDM vol. 3, sections 4.5-4.8).
 *
 * Theory of operation
 *
 * One walk, root first, one entry per level, as the page-miss handler
 * does it (rd_walk in fwalk.c, the walk ht_scan_translate takes too).  At
 * each entry, in this order:
 *   1. P clear: a not-present #PF (error code without P).
 *   2. a reserved bit set: a #PF with P and RSVD.  Which bits are reserved
 *      depends on the CPU, not on the tables: MAXPHYADDR, EFER.NXE (bit 63
 *      is NX only with NXE), the page sizes the CPU has (PS in a PDPTE
 *      without 1 GiB pages; PS in a PML4E or PML5E always), PAE PDPTEs'
 *      own rules.  The masks come from mmu_init() for the CPU in question,
 *      the same code that decides what the library itself may write.
 *   3. a leaf (level 0, or PS): stop; otherwise follow the link.
 * The permissions accumulate on the way: U/S and R/W are ANDed over the
 * entries that have them (not PAE PDPTEs), NX is ORed (only with NXE).
 * Then the rights of the access against them (4.6), and the protection
 * keys of user-mode addresses (4.6.2).  The PK error bit follows PKRU
 * alone, whether or not the page rights also forbid the access, as the SDM
 * defines the bit.  A non-canonical VA is a #GP before any walk.
 *
 * The I/D bit of the error code is set for a fetch only when the CPU can
 * tell fetches apart: with SMEP, or with PAE-style entries and NXE.
 *
 * EPT (SDM 3C, "EPT Violations", "EPT Misconfigurations") takes the same
 * walk over its own format (mmu.c): an entry that is not present is an
 * EPT violation, one with reserved bits or a misconfigured value an EPT
 * misconfiguration (step 2 becomes that), and at the leaf the access needs
 * read, write or execute (MBEC: user-mode execute for a fetch at CPL 3)
 * along the whole walk.  The violation's exit qualification gives the
 * access and the AND of each right over the walk; A and D are set only
 * when the EPTP enables them.
 *
 * Images are read through the ht_scan_cfg_t read function.  An address
 * space of ours is read the same way, through a reader over its frames
 * (ht_access, in hat_query.c, which also retries a walk that raced with
 * the removal of a table it used).
 */
#include <string.h>

#include "reader.h"
#include "debug.h"

#define CPU_FLAGS	(HT_CPU_WP | HT_CPU_NXE | HT_CPU_SMEP | HT_CPU_SMAP | \
			HT_CPU_AC | HT_CPU_PKE | HT_CPU_NO1G | CPU_EPT)
#define CPU_EPT		(HT_CPU_EPT_MBEC | HT_CPU_EPT_XONLY)

/*
 * EPT: may access acc (at cpl: 3 is a user-mode linear address) use a
 * page whose walk gave eff?  A fetch needs X, or with MBEC XU at CPL 3.
 */
static int
ept_ok(const mmu_t *m, unsigned acc, unsigned cpl, unsigned eff)
{
	switch (acc) {
	case HT_ACC_READ:
		return (!(eff & HT_NOREAD));
	case HT_ACC_WRITE:
		return ((eff & HT_W) != 0);
	default:
		return ((eff & (m->ept_xu && cpl == 3 ? HT_XU : HT_X)) != 0);
	}
}

/* The exit qualification of an EPT violation (bits 6:0). */
static uint32_t
ept_qual(const mmu_t *m, unsigned acc, const rd_walk_t *w)
{
	static const uint32_t accbit[] = {
		HT_EPTQ_READ, HT_EPTQ_WRITE, HT_EPTQ_FETCH
	};
	uint32_t q = accbit[acc];

	/* a walk that stopped at a missing entry allowed nothing */
	if (w->stop != HT_STOP_MAPPED)
		return (q);
	if (!(w->eff & HT_NOREAD))
		q |= HT_EPTQ_R;
	if (w->eff & HT_W)
		q |= HT_EPTQ_W;
	if (w->eff & HT_X)
		q |= HT_EPTQ_X;
	if (m->ept_xu && (w->eff & HT_XU))
		q |= HT_EPTQ_XU;
	return (q);
}

/* The error-code bits that describe the access itself. */
static uint32_t
access_bits(const mmu_t *m, const ht_cpu_t *cpu, unsigned acc, unsigned cpl)
{
	uint32_t ec = 0;

	if (acc == HT_ACC_WRITE)
		ec |= HT_PF_W;
	if (cpl == 3)
		ec |= HT_PF_U;
	if (acc == HT_ACC_FETCH && ((cpu->flags & HT_CPU_SMEP) ||
	    (m->pte_size == 8 && (cpu->flags & HT_CPU_NXE))))
		ec |= HT_PF_I;
	return (ec);
}

/*
 * The page rights (4.6): may an access acc at cpl use a page whose
 * effective permissions are eff (HT_W/U/X)?  Protection keys aside.
 */
static int
rights_ok(const ht_cpu_t *cpu, unsigned acc, unsigned cpl, unsigned eff)
{
	unsigned f = cpu->flags;
	int user = (eff & HT_U) != 0, writable = (eff & HT_W) != 0;
	int nx = !(eff & HT_X);
	int smap = (f & HT_CPU_SMAP) && !(f & HT_CPU_AC);

	if (cpl == 3) {
		if (!user)
			return (0);
		if (acc == HT_ACC_WRITE)
			return (writable);
		if (acc == HT_ACC_FETCH)
			return (!nx);
		return (1);
	}
	switch (acc) {
	case HT_ACC_READ:
		return (!(user && smap));
	case HT_ACC_WRITE:
		if (user && smap)
			return (0);
		return (writable || !(f & HT_CPU_WP));
	default:
		return (!nx && !(user && (f & HT_CPU_SMEP)));
	}
}

/* Does PKRU forbid this data access to a user-mode page with key k? */
static int
pkey_denies(const ht_cpu_t *cpu, unsigned acc, unsigned cpl, unsigned k)
{
	unsigned ad = (cpu->pkru >> (2 * k)) & 1;
	unsigned wd = (cpu->pkru >> (2 * k + 1)) & 1;

	if (ad)
		return (1);
	return (acc == HT_ACC_WRITE && wd &&
	    (cpl == 3 || (cpu->flags & HT_CPU_WP)));
}

/*
 * May an access acc at cpl complete on a leaf reached with eff (HT_W/U/X)
 * whose entry is pte: the rights (4.6), then the protection keys of
 * user-mode addresses (4.6.2).  *r_pk: PKRU forbids it.
 */
static int
allowed(const mmu_t *m, const ht_cpu_t *cpu, unsigned acc, unsigned cpl,
    unsigned eff, uint64_t pte, int *r_pk)
{
	int ok = rights_ok(cpu, acc, cpl, eff);

	*r_pk = 0;
	if ((cpu->flags & HT_CPU_PKE) && m->pte_size == 8 &&
	    m->mode != HT_MODE_PAE && (eff & HT_U) && acc != HT_ACC_FETCH &&
	    pkey_denies(cpu, acc, cpl, (unsigned)(pte >> 59) & 0xf)) {
		*r_pk = 1;
		ok = 0;
	}
	return (ok);
}

/*
 * rd_access's end in EPT, after the walk w: the violation or
 * misconfiguration, or the completed access with its A/D bits and, in
 * *r_rights, every access the leaf allows (as rd_access's).
 */
static int
ept_access(const mmu_t *m, unsigned acc, unsigned cpl, ht_va_t va,
    const rd_walk_t *w, ht_access_t *r, unsigned *r_rights)
{
	if (w->stop == HT_STOP_RESERVED) {
		r->fault = HT_FAULT_EPT_MISCONFIG;
		return (0);
	}
	if (w->stop != HT_STOP_MAPPED || !ept_ok(m, acc, cpl, w->eff)) {
		r->fault = HT_FAULT_EPT_VIOLATION;
		r->error_code = ept_qual(m, acc, w);
		return (0);
	}
	/* A in every entry used, D in the leaf of a write: with A/D on */
	if (m->pt_ref != 0) {
		for (unsigned k = 0; k < r->nsteps; k++)
			r->set_a |= 1u << r->step[k].level;
		r->set_d = acc == HT_ACC_WRITE;
	}
	r->page_size = LEVEL_SIZE(m, w->level);
	r->pa = pte_pa(m, w->pte, w->level) + (va & LEVEL_OFFSET(m, w->level));
	if (r_rights != NULL) {
		for (unsigned a = HT_ACC_READ; a <= HT_ACC_FETCH; a++) {
			if (ept_ok(m, a, 0, w->eff))
				*r_rights |= 1u << a;
			if (ept_ok(m, a, 3, w->eff))
				*r_rights |= 1u << (a + 3);
		}
	}
	return (0);
}

int
ht_scan_access(const ht_scan_cfg_t *cfg, const ht_cpu_t *cpu, ht_va_t va,
    unsigned acc, unsigned cpl, ht_access_t *r)
{
	return (rd_access(cfg, cpu, va, acc, cpl, r, NULL));
}

int
rd_access(const ht_scan_cfg_t *cfg, const ht_cpu_t *cpu, ht_va_t va,
    unsigned acc, unsigned cpl, ht_access_t *r, unsigned *r_rights)
{
	return (rd_access_eff(cfg, cpu, va, acc, cpl, r, r_rights, NULL));
}

int
rd_access_eff(const ht_scan_cfg_t *cfg, const ht_cpu_t *cpu, ht_va_t va,
    unsigned acc, unsigned cpl, ht_access_t *r, unsigned *r_rights,
    unsigned *r_eff)
{
	mmu_t mm, *m = &mm;
	unsigned pagesizes;
	int rc;

	if (r == NULL || cfg == NULL || cfg->read == NULL || cpu == NULL)
		return (ht__fail(HT_EINVAL, "access: missing argument"));
	memset(r, 0, sizeof (*r));
	if (r_eff != NULL)
		*r_eff = 0;
	if (acc > HT_ACC_FETCH || cpl > 3 || (cpu->flags & ~CPU_FLAGS) != 0)
		return (ht__fail(HT_EINVAL, "access: bad access %u, CPL %u "
		    "or CPU flags 0x%x", acc, cpl, cpu->flags));
	if (ht_geometry(cfg->mode) == NULL)
		return (ht__fail(HT_EINVAL, "access: unknown mode %d",
		    (int)cfg->mode));
	unsigned ept;
	if ((rc = rd_eptp(cfg, &ept)) != 0)
		return (rc);
	int is_ept = cfg->mode == HT_MODE_EPT4 || cfg->mode == HT_MODE_EPT5;
	if ((cpu->flags & CPU_EPT) && !is_ept)
		return (ht__fail(HT_EINVAL, "access: CPU flags 0x%x: "
		    "HT_CPU_EPT_* in %s paging", cpu->flags,
		    ht_mode_name(cfg->mode)));
	if (cpu->flags & HT_CPU_EPT_MBEC)
		ept |= HT_EPT_MBEC;
	if (cpu->flags & HT_CPU_EPT_XONLY)
		ept |= HT_EPT_XONLY;
	pagesizes = ht_geometry(cfg->mode)->pagesizes;
	if (cpu->flags & HT_CPU_NO1G)
		pagesizes &= ~HT_PS_1G;
	/*
	 * 32-bit paging names at most 40 bits (PSE-36): M = min(MAXPHYADDR,
	 * 40), and any 64-bit CPU can run it (SDM 4.3).
	 */
	unsigned pa_bits = cpu->pa_bits;
	if (cfg->mode == HT_MODE_32BIT && pa_bits > 40)
		pa_bits = 40;
	if ((rc = mmu_init(m, cfg->mode, pagesizes, pa_bits, is_ept ?
	    MMU_EPT(ept) : (cpu->flags & HT_CPU_NXE) ? 0 : MMU_NONX)) != 0)
		return (rc);
	/*
	 * Nested paging: the hardware walks the tables as a user access
	 * (AMD APM vol. 2, 15.25.5), whatever the guest's CPL; the host's
	 * EFER.NXE decides NX, and nothing of CR0.WP, SMEP, SMAP or
	 * protection keys applies to a guest-physical address.
	 */
	ht_cpu_t ncpu;
	if (m->user_walk) {
		ncpu = *cpu;
		ncpu.flags &= HT_CPU_NXE | HT_CPU_NO1G;
		cpu = &ncpu;
		cpl = 3;
	}

	/*
	 * Linear addresses: 32 bits, or canonical 48/57 (else #GP); nested
	 * paging's guest-physical ones: below 2^48 or 2^57.
	 */
	if (!m->has_hole) {
		if (va > m->va_last)
			return (ht__fail(HT_ERANGE, "access: va 0x%llx is "
			    "beyond the %s", (unsigned long long)va,
			    mmu_space(m)));
	} else if (mmu_sext(m, va) != va) {
		r->fault = HT_FAULT_GP;
		return (0);
	}

	uint32_t ec = access_bits(m, cpu, acc, cpl);
	rd_walk_t w;
	int ok, pk;

	if (r_rights != NULL)
		*r_rights = 0;
	rc = rd_walk(m, cfg, 0, 0, mmu_cr3_root(m, cfg->cr3), va, r->step,
	    &r->nsteps, &w);
	if (rc != 0)
		return (rc);
	if (r_eff != NULL)
		*r_eff = w.stop == HT_STOP_MAPPED ? w.eff : 0;
	if (m->ept)
		return (ept_access(m, acc, cpl, va, &w, r, r_rights));
	if (w.stop != HT_STOP_MAPPED) {
		/* only a completed access is promised A/D: set_a stays 0 */
		r->fault = HT_FAULT_PF;
		r->error_code = w.stop == HT_STOP_RESERVED ?
		    ec | HT_PF_P | HT_PF_RSVD : ec;
		return (0);
	}
	ok = allowed(m, cpu, acc, cpl, w.eff, w.pte, &pk);
	if (pk)
		ec |= HT_PF_PK;
	if (!ok) {
		r->fault = HT_FAULT_PF;
		r->error_code = ec | HT_PF_P;
		return (0);
	}
	/* every entry read was present: A is set in each that has one */
	for (unsigned k = 0; k < r->nsteps; k++) {
		/* PAE PDPTEs have no A bit: bit 5 is reserved there */
		if (!(m->mode == HT_MODE_PAE && r->step[k].level == 2))
			r->set_a |= 1u << r->step[k].level;
	}
	r->page_size = LEVEL_SIZE(m, w.level);
	r->pa = pte_pa(m, w.pte, w.level) + (va & LEVEL_OFFSET(m, w.level));
	r->set_d = acc == HT_ACC_WRITE;
	/* the same leaf, every other access: a soft TLB's entry (stlb.c) */
	if (r_rights != NULL) {
		/* nested paging: a "CPL 0" access is a user one too */
		unsigned cpl0 = m->user_walk ? 3 : 0;

		for (unsigned a = HT_ACC_READ; a <= HT_ACC_FETCH; a++) {
			if (allowed(m, cpu, a, cpl0, w.eff, w.pte, &pk))
				*r_rights |= 1u << a;
			if (allowed(m, cpu, a, 3, w.eff, w.pte, &pk))
				*r_rights |= 1u << (a + 3);
		}
	}
	return (0);
}
