/*
 * engine_qemu_svm.c - the QEMU engine's SVM host: nested paging (npt4,
 * npt5) and guest jobs on it.  engine_qemu.c runs QEMU, loads and reads
 * the RAM file and batches the probes for every mode; this file builds
 * what the SVM host needs in the area and says what its exits mean.
 *
 * Nested paging (npt4, npt5; AMD64 APM vol. 2, 15.25).  The image's
 * tables are a hypervisor's, every probe's va a guest-physical address
 * (GPA).  Our guest becomes that hypervisor: the same ROM and bootstrap
 * bring it to long mode on tables of its own that identity-map the area
 * (4-level for npt4; 5-level, CR4.LA57, for npt5: nested tables are
 * walked in the host's paging mode as of VMRUN, its CR4.LA57 and its
 * EFER.NXE, which therefore follows the job's HT_CPU_NXE), with
 * EFER.SVME on, and it stays there as the SVM host (L1).  The host side
 * builds everything else in the area beforehand:
 *  - the nested subtree: tables in the job's own format that map GPAs
 *    [slot_va, slot_va + 2 MiB) to the area with 4 KiB pages (P, RW, U),
 *    whose entry at slot_level goes into the image's empty slot entry,
 *    exactly as for the other modes (and out of mem_after again);
 *  - L2's own 4-level tables, at GPAs inside that range, so that every
 *    walk of L2's tables and every fetch of its code is translated by
 *    our subtree, never by the image's tables (only the image's entries
 *    above the slot are read, and get their accessed bits set): VA
 *    0..2 MiB maps its code and stack, VA QN_WINDOW is the window, one
 *    4 KiB PTE that L1 points at each probe's GPA page in turn;
 *  - the VMCB: intercepts of VMRUN (required), VMMCALL, HLT, SHUTDOWN
 *    and every exception; ASID 1; TLB_CONTROL 1 (flush on every VMRUN);
 *    NP_ENABLE with N_CR3 = the job's cr3; L2 at CPL 0 in 64-bit mode
 *    (CS.L), CR0 PE|PG without WP, CR4.PAE only, EFER LME|LMA|SVME
 *    without NXE, so that L2's own walk never faults.
 * Per probe L1 writes the window and L2's RIP (the stub of the op), RSP
 * and RAX (window VA + page offset) into the VMCB and runs VMRUN.  The
 * access reaches the GPA through the image's tables; it completes (the
 * stub's VMMCALL exits: PROBE_OK, RBX the bytes read), or the walk fails
 * and the CPU exits with #VMEXIT(NPF): PROBE_NPF with error_code
 * EXITINFO1's low 32 bits, qual all of it, cr2 EXITINFO2 (the GPA).  Any
 * other exit is PROBE_OTHER with vector the exit code.  Nested walks are
 * user accesses whatever the CPL, so L2 always runs at CPL 0; a probe's
 * cpl only sets the window's U bit.  A probe L2 cannot make (a GPA at or
 * above MAXPHYADDR, or beyond the mode's 2^48 / 2^57) is PROBE_NOTRUN,
 * and so is one whose exit names a GPA of the engine's own range (the
 * image's entries above the slot did not let L2 reach its own pages).
 *
 * A guest job (job->guest): L2 runs on the image's own guest tables
 * (job->guest_mode: 32-bit, PAE, 4- or 5-level paging from guest_cr3),
 * on a CPU that is job->gcpu, and every probe is one of its linear
 * addresses.  The window is gone; instead L2 reaches its code through
 * the guest slot, an empty entry of the guest's tables (host-physical
 * gslot_pa), into which the RAM file gets a guest-format link (restored
 * in mem_after as the host slot is) to guest-format tables in the area,
 * at GPAs of the host slot's range (QN_GTABLES), that map at gslot_va
 * the code pages (supervisor), the user stub page and a user stack (U,
 * with a protection key gcpu's PKRU leaves open), and a supervisor stack.
 * 32-bit paging cannot link a table above 4 GiB: when the host slot is
 * there, the link is a 4 MiB page (PSE-36), which L1 rewrites for each
 * probe, supervisor for CPL 0 and user for CPL 3, so that SMEP and SMAP
 * let L2 run its stubs either way (L1's tables map the entry for that).
 * The VMCB gets the guest's CR0 (WP), CR3, CR4 (PSE, PAE, LA57; SMEP,
 * SMAP, PKE) and EFER (LME/LMA, NXE); PKRU, which is no VMCB field, L1
 * loads itself (nested walks do not look at PKE).  Per probe L1 copies a
 * context for the probe's CPL into the VMCB (CS and SS with DPL 0 or 3,
 * the CPL, the stub of the op in 64- or 32-bit code, the stack, RFLAGS
 * with AC for CPL 0 when gcpu has it) and sets RAX = va.  The stub first
 * touches its stack (which also fetches its code page), so that a fault
 * of the engine's own pages is taken at another instruction than the
 * access; then the access, then VMMCALL.  Outcomes: VMMCALL PROBE_OK;
 * the intercepted #PF PROBE_PF (error code EXITINFO1, cr2 EXITINFO2, the
 * linear address), #GP PROBE_GP, another exception PROBE_OTHER with its
 * vector; #VMEXIT(NPF) PROBE_NPF, now also from the guest's own walk
 * (EXITINFO1 bit 33, EXITINFO2 the GPA of the guest's entry) as well as
 * for the final address (bit 32).  An exit whose RIP is not the stub's
 * access (or va, for a fetch) is the engine's own, and the probe is
 * PROBE_NOTRUN (noted): the image's guest entries above the guest slot,
 * or the host's leaves under those guest table pages, kept L2 from its
 * code.  QEMU's CPU has one MAXPHYADDR: gcpu's must be cpu's.
 *
 * Seen of QEMU 7.2's SVM (target/i386/tcg/sysemu/excp_helper.c walks
 * nested tables with the same code as the guest's own, as a user access,
 * in the host's paging mode; tests/hw/test_engine_qemu.sh shows each):
 * a reserved-bit NPF has no P in EXITINFO1 either (the APM's #PF error
 * code sets P with RSV); EXITINFO1 has bit 32 for the final GPA, bit 33
 * for a guest-table access, and no other bit above 31; the guest's walk
 * is a user write to each guest table page whatever the access (W in
 * EXITINFO1, A and D in the host's leaf, as the library has it too),
 * and sets the guest leaf's A (and D for a write) before the final GPA
 * is translated, so an NPF there leaves them set; bit 8 of a PML4E or
 * PML5E, must-be-zero on AMD (APM vol. 2, 5.3.3), is not checked (the
 * walk goes on below); HT_CPU_NO1G is not emulated (1 GiB nested pages
 * are walked even with pdpe1gb=off); in a PAE guest the walk sets bit 5
 * of the guest's PDPTEs too (noted).  qemu_quirk names the first two
 * (in a guest job too, where it can check the exit's GPA only for its
 * page offset or alignment: verify does not pass the GPA it predicted).
 */
#include <inttypes.h>
#include <string.h>

#include "engine_qemu_int.h"

/* A VMCB segment: selector, attributes, limit 4 GiB - 1, base 0. */
static void
vmcb_seg(uint8_t *p, uint16_t sel, uint16_t attrib)
{
	uint32_t limit = 0xffffffffu;

	memcpy(p, &sel, 2);
	memcpy(p + 2, &attrib, 2);
	memcpy(p + 4, &limit, 4);
	eput64(p + 8, 0);
}

/* Set guest-format entry idx of the table at area offset table; no errors. */
static void
gentry_set(qctx_t *c, uint64_t table, unsigned idx, uint64_t v)
{
	uint8_t *p = c->area + table + (uint64_t)idx * c->gpte_size;

	if (c->gpte_size == 4) {
		uint32_t w = (uint32_t)v;

		memcpy(p, &w, 4);
	} else {
		eput64(p, v);
	}
}

/* The first 8 bytes of a VMCB segment (sel, attrib, limit); no errors. */
static uint64_t
gseg(uint16_t sel, uint16_t attrib)
{
	return ((uint64_t)sel | (uint64_t)attrib << 16 | 0xffffffffull << 32);
}

/*
 * A guest job's part of the area (the top of the file says what and
 * why): the guest-format tables the guest slot links, which map L2's
 * code, stubs and stacks at c->lbase, and the link itself (c->glink);
 * L2's CPU in the VMCB (job->gcpu) and the two contexts L1 enters it
 * in.  Errors: none (check_guest refused what cannot be built).
 */
static void
build_guest(qctx_t *c)
{
	static const uint64_t pages[] = { QA_CODE, QA_CODE + PAGE,
	    QA_CODE + 2 * PAGE, QA_UCODE, QN_L2STACK, QN_GUSTACK };
	engine_job_t *job = c->job;
	ht_mode_t gm = job->guest_mode;
	const ht_cpu_t *gcpu = job->gcpu;
	unsigned gflags = gcpu != NULL ? gcpu->flags : 0;
	unsigned level, top = (unsigned)job->gslot_level, ukey = 0;
	uint64_t g = job->slot_va, upper = PTE_P | PTE_RW | PTE_US | PTE_A;
	uint64_t cr0, cr4, efer, pt;
	uint8_t *v = c->area + QN_VMCB;

	if (gm == HT_MODE_32BIT && (g + QA_END - 1) >> 32 != 0) {
		/*
		 * 32-bit paging cannot link a table above 4 GiB: one 4 MiB
		 * page (PSE-36 names bits 39:32) maps the area instead,
		 * supervisor for CPL-0 probes and user for CPL-3 ones (so
		 * that SMEP and SMAP let each run its stubs): L1 writes the
		 * entry for each probe.
		 */
		c->lbase = job->gslot_va + (g & 0x3fffffull);
		c->glink = (g & 0xffc00000ull) | (((g >> 32) & 0xff) << 13) |
		    PTE_P | PTE_RW | PTE_PS | PTE_A | PTE_D;
		eput64(c->area + QP_GSLOTW, 1);
		eput64(c->area + QP_GSLOTPA, job->gslot_pa);
	} else {
		/* a protection key PKRU leaves open, for the user pages */
		if (c->glong && (gflags & HT_CPU_PKE)) {
			for (ukey = 0; ukey < 16; ukey++)
				if (((gcpu->pkru >> (2 * ukey)) & 3) == 0)
					break;
			if (ukey == 16)
				ukey = 0;
		}
		c->lbase = job->gslot_va;
		/* level top - 1 at QN_GTABLES, ..., the page table last */
		for (level = top - 1; level >= 1; level--) {
			uint64_t t = QN_GTABLES + (top - 1 - level) * PAGE;

			gentry_set(c, t, egindex(gm, c->lbase, level),
			    (g + t + PAGE) | upper);
		}
		pt = QN_GTABLES + (top - 1) * PAGE;
		for (size_t i = 0; i < sizeof (pages) / sizeof (pages[0]);
		    i++) {
			uint64_t e = (g + pages[i]) | PTE_P | PTE_RW | PTE_A |
			    PTE_D;

			if (pages[i] == QA_UCODE || pages[i] == QN_GUSTACK)
				e |= PTE_US | (c->glong ?
				    (uint64_t)ukey << 59 : 0);
			gentry_set(c, pt, egindex(gm, c->lbase + pages[i], 0),
			    e);
		}
		/* PAE's PDPTEs have no RW, US or A */
		c->glink = (g + QN_GTABLES) | (gm == HT_MODE_PAE && top == 2 ?
		    PTE_P : upper);
	}

	/* L2's CPU: the guest's paging mode and control bits. */
	cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG |
	    ((gflags & HT_CPU_WP) ? CR0_WP : 0);
	efer = EFER_SVME;
	switch (gm) {
	case HT_MODE_32BIT:
		cr4 = CR4_PSE;
		break;
	case HT_MODE_PAE:
		cr4 = CR4_PAE;
		break;
	case HT_MODE_5LEVEL:
		cr4 = CR4_PAE | CR4_LA57;
		efer |= EFER_LME | EFER_LMA;
		break;
	default:
		cr4 = CR4_PAE;
		efer |= EFER_LME | EFER_LMA;
		break;
	}
	/* NXE means nothing to 32-bit paging but I in QEMU's codes */
	if ((gflags & HT_CPU_NXE) && gm != HT_MODE_32BIT)
		efer |= EFER_NXE;
	if (gflags & HT_CPU_SMEP)
		cr4 |= CR4_SMEP;
	if (gflags & HT_CPU_SMAP)
		cr4 |= CR4_SMAP;
	if ((gflags & HT_CPU_PKE) && c->glong) {
		cr4 |= CR4_PKE;
		eput64(c->area + QP_PKE, 1);
		eput64(c->area + QP_PKRU, gcpu->pkru);
	}
	eput64(v + VMCB_CR0, cr0);
	/* bit 63 (no flush, with PCIDE) would make VMRUN refuse it */
	eput64(v + VMCB_CR3, job->guest_cr3 & ~(1ull << 63));
	eput64(v + VMCB_CR4, cr4);
	eput64(v + VMCB_EFER, efer);
	eput64(v + VMCB_ES, gseg(SEL_UDATA | 3, SEG_DATA | 0x60));
	eput64(v + VMCB_DS, gseg(SEL_UDATA | 3, SEG_DATA | 0x60));
	eput64(v + VMCB_FS, gseg(SEL_UDATA | 3, SEG_DATA | 0x60));
	eput64(v + VMCB_GS, gseg(SEL_UDATA | 3, SEG_DATA | 0x60));

	/* The contexts of CPL 0 and 3 (L1 copies one per probe). */
	for (unsigned u = 0; u < 2; u++) {
		uint8_t *x = c->area + QN_GCTX + u * QN_GCTX_SIZE;
		uint16_t dpl = u ? 0x60 : 0;
		unsigned set = (c->glong ? GS_K64 : GS_K32) + u;

		eput64(x + QC_CS, gseg(u ? SEL_UCODE | 3 : SEL_KCODE,
		    (c->glong ? SEG_CODE64 : SEG_CODE32) | dpl));
		eput64(x + QC_SS, gseg(u ? SEL_UDATA | 3 : SEL_KDATA,
		    SEG_DATA | dpl));
		eput64(x + QC_CPL, u ? 3 : 0);
		eput64(x + QC_STUBS, c->lbase + c->hdr.gstub[set]);
		eput64(x + QC_RSP, c->lbase + (u ? QN_GUSTACK_TOP :
		    QN_L2STACK_TOP));
		eput64(x + QC_RFLAGS, EFL_RSVD | (!u && (gflags & HT_CPU_AC) ?
		    EFL_AC : 0));
		eput64(x + QC_GLINK, c->glink | (u ? PTE_US : 0));
	}
	memcpy(v + VMCB_CS, c->area + QN_GCTX + QC_CS, 8);
	memcpy(v + VMCB_SS, c->area + QN_GCTX + QC_SS, 8);
	eput64(c->area + QP_GUEST, 1);
	eput64(c->area + QP_GLEGACY, (uint64_t)!c->glong);
}

/*
 * The nested part of the area (the top of the file says what and why):
 * L1's identity map, the nested subtree and the slot's link, L2's tables,
 * the VMCB.  0, or ENGINE_CANNOT with a note.
 */
int
qbuild_nested(qctx_t *c)
{
	engine_job_t *job = c->job;
	uint64_t gpa = job->guest_pa, g = job->slot_va, t, off;
	uint64_t upper = PTE_P | PTE_RW | PTE_US | PTE_A;
	uint8_t *v = c->area + QN_VMCB;
	unsigned l1levels = job->mode == HT_MODE_NPT5 ? 5 : 4;
	static const unsigned dsegs[] = { VMCB_ES, VMCB_SS, VMCB_DS,
	    VMCB_FS, VMCB_GS };

	/*
	 * L1: the area at its physical address, one 2 MiB page (and for a
	 * guest job the one of the guest slot entry, which L1 may write).
	 */
	t = QN_L1TABLES + PAGE;
	ql1_map(c, l1levels, gpa, &t);
	if (c->guest)
		ql1_map(c, l1levels, job->gslot_pa, &t);

	/* The nested subtree: GPAs [slot_va, + 2 MiB) onto the area. */
	c->next_table = QA_TABLES + PAGE;
	for (off = 0; off < QA_END; off += PAGE)
		if (qmap_page(c, g + off, gpa + off, PTE_P | PTE_RW | PTE_US |
		    PTE_A | PTE_D) != 0) {
			enote(job, "qemu: the nested subtree for slot_va %#"
			    PRIx64 " does not fit", g);
			return (ENGINE_CANNOT);
		}
	c->link = qslot_link(c);

	/* L2's tables, at GPAs in that range: its pages, the window. */
	if (!c->guest) {
		eput64(c->area + QN_L2PML4, (g + QN_L2PDPT) | upper);
		eput64(c->area + QN_L2PDPT, (g + QN_L2PD) | upper);
		eput64(c->area + QN_L2PD, (g + QN_L2PT) | upper);
		eput64(c->area + QN_L2PD + 8, (g + QN_L2WIN) | upper);
		for (off = QA_CODE; off < QA_PARAMS; off += PAGE)
			eput64(c->area + QN_L2PT + (off >> 12) * 8,
			    (g + off) | PTE_P | PTE_RW | PTE_A | PTE_D);
		eput64(c->area + QN_L2PT + (QN_L2STACK >> 12) * 8,
		    (g + QN_L2STACK) | PTE_P | PTE_RW | PTE_A | PTE_D);
	}

	/* The VMCB: control area, then L2's state (RIP etc. per probe). */
	memcpy(v + VMCB_ICPT_EXC, &(uint32_t){ 0xffffffffu }, 4);
	eput64(v + VMCB_ICPT, ICPT_HLT | ICPT_SHUTDOWN | ICPT_VMRUN |
	    ICPT_VMMCALL);
	memcpy(v + VMCB_ASID, &(uint32_t){ 1 }, 4);
	v[VMCB_TLB_CTL] = 1;
	eput64(v + VMCB_NP_ENABLE, 1);
	eput64(v + VMCB_NCR3, job->cr3);
	vmcb_seg(v + VMCB_CS, SEL_KCODE, SEG_CODE64);
	for (size_t i = 0; i < sizeof (dsegs) / sizeof (dsegs[0]); i++)
		vmcb_seg(v + dsegs[i], SEL_KDATA, SEG_DATA);
	v[VMCB_CPL] = 0;
	eput64(v + VMCB_EFER, EFER_LME | EFER_LMA | EFER_SVME);
	eput64(v + VMCB_CR0, CR0_PE | CR0_ET | CR0_NE | CR0_PG);
	eput64(v + VMCB_CR3, g + QN_L2PML4);
	eput64(v + VMCB_CR4, CR4_PAE);
	eput64(v + VMCB_DR6, 0xffff0ff0ull);
	eput64(v + VMCB_DR7, 0x400ull);
	eput64(v + VMCB_RFLAGS, EFL_RSVD);
	eput64(v + VMCB_RSP, QN_L2STACK_TOP);
	eput64(v + VMCB_GPAT, PAT_DEFAULT);
	if (c->guest)
		build_guest(c);
	return (ENGINE_OK);
}

/*
 * Nested: turn the SVM host's records (at area offset results) into the
 * results of probes [first, first + n): VMMCALL is PROBE_OK, an NPF
 * PROBE_NPF, any other exit PROBE_OTHER.  An exit that names a GPA of
 * the engine's own range is not the probe's: PROBE_NOTRUN (noted).
 * ENGINE_OK, or ENGINE_FAILED when VMRUN refused the nested guest
 * (VMEXIT_INVALID: the note says so).
 */
int
qbatch_results_nested(qctx_t *c, size_t first, size_t n, uint64_t results)
{
	engine_job_t *job = c->job;

	for (size_t i = 0; i < n; i++) {
		const probe_t *pr = &job->probes[first + i];
		const uint8_t *r = c->area + results + i * QR_SIZE;
		probe_result_t *res = &job->results[first + i];
		uint64_t gpa = eget64(r + QR_CR2);

		memset(res, 0, sizeof (*res));
		if (eget32(r + QR_RAN) == 0) {
			res->outcome = PROBE_NOTRUN;
			continue;
		}
		if (eget32(r + QR_OUTCOME) == 0) {
			res->outcome = PROBE_OK;
			if (pr->op == PROBE_READ)
				res->value = eget64(r + QR_VALUE);
			continue;
		}
		res->outcome = eget32(r + QR_OUTCOME) == 4 ? PROBE_NPF :
		    PROBE_OTHER;
		res->vector = eget32(r + QR_VECTOR);
		res->error_code = eget32(r + QR_ERROR);
		res->qual = eget64(r + QR_QUAL);
		res->cr2 = gpa;
		if (res->vector == EXIT_INVALID) {
			enote(job, "qemu: VMRUN refused the nested guest's "
			    "state (VMEXIT_INVALID) at probe %zu", first + i);
			return (ENGINE_FAILED);
		}
		if (res->outcome == PROBE_NPF && gpa >= job->slot_va &&
		    gpa - job->slot_va < GUEST_AREA) {
			enote(job, "qemu: probe %zu (GPA %#" PRIx64 ") stopped "
			    "at the engine's own GPA %#" PRIx64 " (EXITINFO1 %#"
			    PRIx64 "): do the image's entries above the slot "
			    "let the nested guest reach it? not run",
			    first + i, pr->va, gpa, res->qual);
			memset(res, 0, sizeof (*res));
			res->outcome = PROBE_NOTRUN;
		}
	}
	return (ENGINE_OK);
}

/*
 * A guest job: is ip (L2's RIP at the exit) where probe pr may stop on
 * its own account?  At its stub's access instruction, or for a fetch at
 * va itself: QEMU takes a fetch's fault at the target of the call (even
 * the #GP of a non-canonical one, which a CPU takes at the call).
 * Errors: none.
 */
static int
guest_ip_ok(const qctx_t *c, const probe_t *pr, uint64_t ip)
{
	unsigned set = (c->glong ? GS_K64 : GS_K32) + (pr->cpl == 3);
	const uint32_t *a = c->hdr.gips[set];
	uint64_t va = pr->va;

	if (!c->glong) {
		ip &= 0xffffffffull;
		va &= 0xffffffffull;
	}
	switch (pr->op) {
	case PROBE_FETCH:
		return (ip == va || ip == c->lbase + a[3]);
	case PROBE_WRITE:
		return (ip == c->lbase + a[2]);
	default:
		return (ip == c->lbase + a[0] || ip == c->lbase + a[1]);
	}
}

/*
 * A guest job: turn the SVM host's records (at area offset results) into
 * the results of probes [first, first + n).  VMMCALL is PROBE_OK; the
 * intercepted #PF of L2 PROBE_PF (error code EXITINFO1, cr2 EXITINFO2,
 * the linear address), its #GP PROBE_GP, another exception PROBE_OTHER
 * with the vector; an NPF PROBE_NPF (qual EXITINFO1 with bit 32 or 33,
 * cr2 the GPA); any other exit PROBE_OTHER with the exit code.  An exit
 * that is not at the probe's access (the engine's own code or stack
 * faulted), or an NPF on the engine's own GPAs, is PROBE_NOTRUN (the
 * first one noted).  ENGINE_OK, or ENGINE_FAILED when VMRUN refused the
 * nested guest's state (the note says so).
 */
int
qbatch_results_guest(qctx_t *c, size_t first, size_t n, uint64_t results)
{
	engine_job_t *job = c->job;

	for (size_t i = 0; i < n; i++) {
		const probe_t *pr = &job->probes[first + i];
		const uint8_t *r = c->area + results + i * QR_SIZE;
		probe_result_t *res = &job->results[first + i];
		uint32_t code = eget32(r + QR_VECTOR);
		uint64_t info2 = eget64(r + QR_CR2), ip = eget64(r + QR_IP);

		memset(res, 0, sizeof (*res));
		if (eget32(r + QR_RAN) == 0) {
			res->outcome = PROBE_NOTRUN;
			continue;
		}
		if (code == EXIT_INVALID) {
			enote(job, "qemu: VMRUN refused the nested guest's "
			    "state (VMEXIT_INVALID) at probe %zu", first + i);
			return (ENGINE_FAILED);
		}
		res->error_code = eget32(r + QR_ERROR);
		res->qual = eget64(r + QR_QUAL);
		switch (eget32(r + QR_OUTCOME)) {
		case 0:
			res->outcome = PROBE_OK;
			res->error_code = 0;
			res->qual = 0;
			if (pr->op == PROBE_READ)
				res->value = eget64(r + QR_VALUE);
			continue;
		case 1:
			res->outcome = PROBE_PF;
			res->vector = 14;
			res->cr2 = c->glong ? info2 : info2 & 0xffffffffull;
			break;
		case 2:
			res->outcome = PROBE_GP;
			res->vector = 13;
			break;
		case 4:
			res->outcome = PROBE_NPF;
			res->vector = code;
			res->cr2 = info2;
			break;
		default:
			res->outcome = PROBE_OTHER;
			res->vector = code >= EXIT_EXCP_BASE &&
			    code < EXIT_EXCP_BASE + 32 ? code - EXIT_EXCP_BASE :
			    code;
			break;
		}
		if (!guest_ip_ok(c, pr, ip) || (res->outcome == PROBE_NPF &&
		    info2 >= job->slot_va &&
		    info2 - job->slot_va < GUEST_AREA)) {
			enote(job, "qemu: probe %zu (va %#" PRIx64 ", cpl %u) "
			    "stopped (exit %#x, EXITINFO1 %#" PRIx64 ", "
			    "EXITINFO2 %#" PRIx64 ") at %#" PRIx64 ", not at "
			    "its access: do the guest's entries above the "
			    "guest slot (and the host's under them) let the "
			    "engine's code at %#" PRIx64 " run? not run",
			    first + i, pr->va, pr->cpl, code, res->qual, info2,
			    ip, c->lbase);
			memset(res, 0, sizeof (*res));
			res->outcome = PROBE_NOTRUN;
		}
	}
	return (ENGINE_OK);
}

/*
 * A guest job against what the engine can do, once check_job settled
 * c->pa_bits: the guest's paging mode, its borrowed entry, one MAXPHYADDR
 * for both stages (QEMU's CPU has one).  Sets c->glong and c->gpte_size.
 * ENGINE_OK, or ENGINE_CANNOT with a note.
 */
int
qcheck_guest(qctx_t *c)
{
	engine_job_t *job = c->job;
	ht_mode_t gm = job->guest_mode;
	unsigned glevels, gbits, hbits;
	uint64_t span;

	if ((unsigned)gm > HT_MODE_5LEVEL) {
		enote(job, "qemu: the guest's tables must be in 32bit, pae, "
		    "4level or 5level paging, not %s", ht_mode_name(gm) !=
		    NULL ? ht_mode_name(gm) : "?");
		return (ENGINE_CANNOT);
	}
	glevels = (unsigned)gm + 2;
	c->glong = gm == HT_MODE_4LEVEL || gm == HT_MODE_5LEVEL;
	c->gpte_size = gm == HT_MODE_32BIT ? 4 : 8;
	if (job->gslot_level < 1 || (unsigned)job->gslot_level >= glevels) {
		enote(job, "qemu: the guest slot must be at level 1 or above "
		    "and below the root's %u (level %d)", glevels,
		    job->gslot_level);
		return (ENGINE_CANNOT);
	}
	span = 1ull << egshift(gm, (unsigned)job->gslot_level);
	if (job->gslot_va & (span - 1)) {
		enote(job, "qemu: gslot_va %#" PRIx64 " is not aligned to the "
		    "%#" PRIx64 " bytes its level-%d entry maps",
		    job->gslot_va, span, job->gslot_level);
		return (ENGINE_CANNOT);
	}
	if (job->gslot_pa % c->gpte_size != 0 ||
	    job->gslot_pa + c->gpte_size > job->ram_size ||
	    (job->gslot_pa + c->gpte_size > job->guest_pa &&
	    job->gslot_pa < job->guest_pa + GUEST_AREA)) {
		enote(job, "qemu: gslot_pa %#" PRIx64 " is not an entry in RAM "
		    "outside the engine's area", job->gslot_pa);
		return (ENGINE_CANNOT);
	}
	if (!c->glong && (job->guest_cr3 >> 32 != 0 ||
	    job->gslot_va >> 32 != 0)) {
		enote(job, "qemu: guest_cr3 %#" PRIx64 " or gslot_va %#" PRIx64
		    " does not fit 32 bits", job->guest_cr3, job->gslot_va);
		return (ENGINE_CANNOT);
	}
	/* 32-bit paging names 40 bits at most (PSE-36): more is alike. */
	gbits = job->gcpu != NULL && job->gcpu->pa_bits != 0 ?
	    job->gcpu->pa_bits : ht_geometry(gm)->pa_bits_max;
	hbits = c->pa_bits;
	if (gm == HT_MODE_32BIT) {
		gbits = gbits < 40 ? gbits : 40;
		hbits = hbits < 40 ? hbits : 40;
	}
	if (gbits != hbits) {
		enote(job, "qemu: the guest's MAXPHYADDR (%u) must be the "
		    "host side's (%u): QEMU's CPU has one", gbits, hbits);
		return (ENGINE_CANNOT);
	}
	if (gm == HT_MODE_32BIT && (job->slot_va + GUEST_AREA - 1) >> 40 != 0) {
		enote(job, "qemu: slot_va %#" PRIx64 " is beyond what 32-bit "
		    "paging can name (2^40): the guest could not reach the "
		    "engine's pages", job->slot_va);
		return (ENGINE_CANNOT);
	}
	return (ENGINE_OK);
}

/*
 * A guest job: the host-physical address of guest-physical gpa through
 * the image's second-level tables, or ~0 where they do not map it (or
 * the image cannot be read there).  Errors: none (~0).
 */
uint64_t
qhost_hpa(const qctx_t *c, uint64_t gpa)
{
	ht_scan_cfg_t cfg;
	ht_cpu_t hcpu;
	ht_access_t a;

	memset(&cfg, 0, sizeof (cfg));
	memset(&hcpu, 0, sizeof (hcpu));
	cfg.mode = c->job->mode;
	cfg.cr3 = c->job->cr3;
	cfg.read = image_read;
	cfg.read_arg = (void *)c->job->img;
	hcpu.flags = HT_CPU_NXE;
	hcpu.pa_bits = c->pa_bits;
	if (ht_scan_access(&cfg, &hcpu, gpa, HT_ACC_READ, 0, &a) != 0 ||
	    a.fault != HT_FAULT_NONE)
		return (~0ull);
	return (a.pa);
}
