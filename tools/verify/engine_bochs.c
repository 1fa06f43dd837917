/*
 * engine_bochs.c - the Bochs engine of the verification library: run an
 * image's probes through its second-level tables on Bochs's MMU, Intel
 * EPT (ept4) with Bochs's VMX and AMD nested paging (npt4) with its SVM.
 *
 * Theory of operation
 *
 * Our guest is a hypervisor (L1, engine_bochs_guest.S) and runs every
 * probe in a tiny nested guest (L2) whose guest-physical accesses the
 * image's tables translate: the EPT pointer (VMX) or nCR3 (SVM) is the
 * job's cr3.  L2 is 64-bit, CPL 0, with its own 4-level tables; its
 * code, stack and tables lie in the engine's area, which it reaches at
 * guest-physical slot_va through the borrowed slot, where L1 links a
 * second-level subtree of ours (the area's 2 MiB, 4 KiB pages, all
 * rights).  One PTE of L2's tables, the window, is pointed at the
 * probe's guest-physical page before each run; L2 then reads, writes
 * (locked OR of 0) or calls through the window and comes back with
 * VMCALL/VMMCALL.  Whatever the MMU does to that access is a VM exit: the
 * hypercall (the access completed), an EPT violation or misconfiguration
 * (exit reasons 48, 49), #VMEXIT(NPF) (0x400), or an exception (all
 * intercepted).  L1 records the exit's raw facts; probe_result() here
 * tells what they mean.  An exit that is not about the probe's own
 * guest-physical page (L2's stack or tables behind image entries that
 * do not allow them) makes the probe PROBE_NOTRUN, with a note.
 *
 * A guest job (job->guest): L2 runs on the image's own guest tables
 * (job->guest_mode 4level, pae or 32bit from guest_cr3; 5level is
 * ENGINE_CANNOT: Bochs 2.7 has no LA57) at the probe's CPL, on a CPU
 * that is job->gcpu (CR0.WP, CR4.SMEP/SMAP, EFER.NXE, EFLAGS.AC for
 * CPL 0; no PKE), and every probe is one of its linear addresses.  No
 * window: L2 reaches its code through the guest slot, an empty entry of
 * the guest's tables (host-physical gslot_pa), where L1 writes a
 * guest-format link (P, RW, US, A; restored in mem_after as the host
 * slot is) to guest-format tables in the area at BA_GPT, which L2 sees
 * at guest-physical slot_va + BA_GPT through our subtree; they map at
 * gslot_va the blob's code (supervisor), its user page (U, the CPL-3
 * stubs), a user stack (U) and a supervisor stack.  32-bit paging cannot
 * link a table above 4 GiB: when the host slot is there, the link is a
 * 4 MiB page (PSE-36) that L1 rewrites per probe, supervisor for CPL 0
 * and user for CPL 3, so that SMEP and SMAP let L2 run its stubs.  In
 * PAE through EPT, VM entry takes the guest's PDPTEs from the VMCS: the
 * host reads them from the image (through its EPT) into the VMCS table.
 * Per probe L1 loads the context of the probe's CPL (engine_bochs.h:
 * CS and SS with RPL/DPL 0 or 3, the VMCB's CPL, the stub set, the
 * stack, RFLAGS) into the VMCS or the VMCB and sets RAX = va.  Each stub
 * first touches its stack (which also fetches its code page), so that a
 * fault of the engine's own pages is taken at another instruction than
 * the access; then the access, then VMCALL/VMMCALL (which exit at any
 * CPL).  Every exception is intercepted (VMX: exception bitmap all ones,
 * PFEC mask and match 0): L2's #PF is PROBE_PF (error code: VMX's exit
 * interruption error code, SVM's EXITINFO1; cr2: VMX's qualification,
 * SVM's EXITINFO2), #GP PROBE_GP, another vector PROBE_OTHER; the exits
 * of the second-level tables are as in a nested job, now also from the
 * guest's own walk (EPT: qualification bit 8 clear, bit 7 set; NPF:
 * EXITINFO1 bit 33 instead of 32), cr2 the guest-physical address.  An
 * exit whose RIP is not the stub's access (or va, for a fetch), or at a
 * GPA of the engine's own, is PROBE_NOTRUN with a note: the guest's
 * entries above the guest slot, or the host's under those guest table
 * pages, kept L2 from its own code or stack.
 *
 * Bochs has no file-backed RAM, so memory goes in and out through an ATA
 * disk image that L1 reads and writes with PIO: the area (code, tables,
 * VMCS field table or VMCB, parameters; built here completely), a run
 * index and the image's non-zero data pages, the probes; L1 writes back
 * the results, the data pages after the run (the MMU's accessed and dirty
 * bits) and a status page.  L1 writes the markers itself, in the 2 MiB
 * blocks of RAM under the image's leaves (plan_fill: elsewhere no access
 * can land, and filling is most of a run's time); mem_after shows markers
 * in every page that is not data, as engine.h says.  A 64 KiB ROM image
 * (romimage) holds only the reset vector and the piece that loads the area
 * from the disk.  The guest ends Bochs through its shutdown port
 * (0x8900); a run that does not end in time is killed.  An error of L1 is
 * a line "htbochs: error ..." on port 0xe9, which Bochs prints on its
 * stdout.
 *
 * Bochs is run as the CPU model bx_generic, whose CPUID the run sets:
 * long mode, SMEP and SMAP (for a guest job's CR4), 1 GiB pages unless
 * the job's CPU lacks them (HT_CPU_NO1G: then both walks take PS in a
 * PDPTE as reserved, and IA32_VMX_EPT_VPID_CAP lacks bit 17), and
 * vmx=2 (VMX with EPT, EPT A/D, execute-only pages) or svm=1 (nested
 * paging).  Its MAXPHYADDR is fixed at build
 * time: 40 bits in Debian's Bochs 2.7, which L1 reads back (CPUID
 * 0x80000008) and the note reports if it differs.  L2 cannot name a
 * guest-physical address at or beyond it, so such probes are not run,
 * and a borrowed slot there is refused (ENGINE_CANNOT): the plan keeps
 * every nested job's slot below 2^39 (plan.c), so the engine does not
 * choose another of its own.  Bochs 2.7 has no 5-level paging: no EPT
 * page-walk length 5 (IA32_VMX_EPT_VPID_CAP bit 7 clear; VM entry
 * refuses such an EPTP) and a 4-level nested walk only, so ept5 and
 * npt5 are ENGINE_CANNOT.
 * It has no mode-based execute control for EPT either.
 *
 * Headless: Debian's Bochs has no "nogui" display; the "term" display
 * (with the internal debugger compiled in) draws on a pseudo-terminal of
 * its own and never touches ours; the debugger is told to continue (-rc
 * file) and reads /dev/null after.  Builds with "nogui" and without the
 * debugger are taken too (run_bochs).  The speaker plugin stays unloaded:
 * its sound mixer thread aborts Bochs ("buffer overflow detected") when
 * MALLOC_PERTURB_ is set, as meson's test runner sets it.
 *
 * L2 cannot run away: it runs with every exception, I/O port, HLT and
 * (SVM) MSR intercepted, and a timer ends a run that does not come back
 * (VMX's preemption timer; SVM: the local APIC's, as #VMEXIT(INTR)):
 * such a probe is PROBE_OTHER with the exit in vector.  A probe may
 * reach any physical address, and Bochs panics at an 8-byte read of an
 * APIC's registers: L1 turns the I/O APIC off and puts the local APIC in
 * x2APIC mode, so that nothing answers at 0xfec00000 and 0xfee00000.
 *
 * Seen of Bochs 2.7 against the SDM and the APM (bochs_quirk names them
 * for the verification library; tests/hw/test_engine_bochs.sh shows
 * each): an NPF of a fetch has I/D (bit 4) in EXITINFO1 also without the
 * host's EFER.NXE; bit 12 of an EPT 2 MiB or 1 GiB leaf is ignored, not
 * a misconfiguration; bit 8 of a nested PML4E is ignored, not a
 * reserved-bit NPF; in a guest job with EPT A/D, an EPT violation of the
 * guest's walk has W but not R in its qualification (the SDM: both).
 * Not deviations, but different from QEMU: memory beyond RAM reads as
 * all ones; the bx_generic CPU with svm=1 does not set
 * CPUID.80000001h:ECX.SVM (L1 looks at leaf 0x8000000a instead).
 *
 * HTABLE_BOCHS_KEEP=DIR keeps the run's files (disk, ROM, bochsrc, log,
 * output) in DIR and has Bochs log its errors (every EPT violation among
 * them), for debugging the guest code.  HTABLE_BOCHS_TIMEOUT=S bounds a
 * run to S seconds instead of the generous default.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "engine_bochs.h"
#include "engine_util.h"

#define	BOCHS_BIN	"bochs"
#define	BOCHS_PA_BITS	40		/* MAXPHYADDR of Bochs 2.7 x86-64 */
#define	PAGE		4096ull
#define	SECT		512ull
#define	SECTS_PER_CYL	(16ull * 63)	/* Bochs's autodetected geometry */
#define	RAM_MAX		(3ull << 30)	/* below the APIC, IOAPIC, BIOS */
#define	LOG_TAIL	4096		/* bytes of the log searched */

/* Entry bits of the tables the host builds */
#define	PTE_P		0x001ull
#define	PTE_RW		0x002ull
#define	PTE_US		0x004ull
#define	PTE_A		0x020ull
#define	PTE_D		0x040ull
#define	PTE_PS		0x080ull
#define	EPT_RWX		0x007ull
#define	EPT_WB		(6ull << 3)
#define	EPT_PS		0x080ull

/* Control registers of L1 and L2 */
#define	CR0_PE		0x00000001ull
#define	CR0_MP		0x00000002ull
#define	CR0_ET		0x00000010ull
#define	CR0_NE		0x00000020ull
#define	CR0_PG		0x80000000ull
#define	CR4_PSE		0x00000010ull
#define	CR4_PAE		0x00000020ull
#define	CR4_OSFXSR	0x00000200ull
#define	CR4_OSXMMEXCPT	0x00000400ull
#define	CR4_VMXE	0x00002000ull
#define	CR4_SMEP	0x00100000ull
#define	CR4_SMAP	0x00200000ull
#define	CR0_WP		0x00010000ull
#define	EFL_AC		0x00040000ull
#define	EFER_LME	0x00000100ull
#define	EFER_LMA	0x00000400ull
#define	EFER_NXE	0x00000800ull
#define	EFER_SVME	0x00001000ull

/* VMX exit reasons, SVM exit codes */
#define	VMX_EXIT_EXCEPTION	0
#define	VMX_EXIT_VMCALL		18
#define	VMX_EXIT_EPT_VIOL	48
#define	VMX_EXIT_EPT_MISC	49
#define	VMX_QUAL_GLA_XLATE	0x100ull	/* bit 8: the final access */
#define	SVM_EXIT_EXCP		0x40	/* + the vector */
#define	SVM_EXIT_VMMCALL	0x81
#define	SVM_EXIT_NPF		0x400
#define	SVM_NPF_FINAL		(1ull << 32)	/* the final GPA access */

/* The guest blob's header (engine_bochs_guest.S, at its first byte). */
typedef struct bg_header {
	uint32_t	magic;
	uint32_t	entry32;
	uint32_t	exc64;
	uint32_t	size;
	uint32_t	timer64;
	uint32_t	spurious64;
	uint32_t	gstub[8];	/* a guest job's stub sets, by BGS_* */
	uint32_t	upage;		/* the user page (its stubs) */
} bg_header_t;

/* A guest job's stub sets: VMX or SVM, CPL 0 or 3, 64- or 32-bit code */
#define	BGS_SET(svm, user, legacy) \
	((legacy) * 4 + (svm) * 2 + (user))

extern const uint8_t engine_bochs_rom[];
extern const uint8_t engine_bochs_guest[];
extern const uint8_t engine_bochs_guest_end[];

/* One run's state. */
typedef struct bctx {
	engine_job_t	*job;
	bg_header_t	hdr;
	int		kind;		/* BK_VMX or BK_SVM */
	int		no1g;		/* the CPU lacks 1 GiB pages */
	uint8_t		*area;		/* BA_LOAD_END bytes */
	/* the slot the engine uses (the job's, or its own) */
	uint64_t	slot_pa, slot_va;
	int		slot_level;
	uint64_t	link;
	/* a guest job (job->guest): L2 on the image's guest tables */
	int		guest;
	int		glegacy;	/* 32-bit or PAE: 32-bit L2 code */
	unsigned	gpte;		/* bytes of a guest entry: 4 or 8 */
	uint64_t	lbase;		/* L2's linear address of the area */
	/* L2's control registers */
	uint64_t	l2cr0, l2cr3, l2cr4, l2efer;
	/* the image's pages in RAM: runs of data and zero pages */
	uint64_t	*runs;
	size_t		nruns, cap;
	uint64_t	ndata;		/* data pages on the disk */
	uint64_t	*seenset;	/* plan_fill's tables walked */
	size_t		nseen, seencap;
	/* the probes sent: index into job->probes */
	size_t		*sent;
	size_t		nsent;
	/* disk layout, in sectors */
	uint64_t	lba_status, lba_index, lba_data, lba_probes;
	uint64_t	lba_results, lba_after, nsect;
	char		dir[PATH_MAX / 2];
	char		disk[PATH_MAX], rom[PATH_MAX], rc[PATH_MAX];
	char		dbg[PATH_MAX], log[PATH_MAX], out[PATH_MAX];
	char		bochs[PATH_MAX];
	char		version[32];
	const char	*display;	/* display_library's value */
	int		keep;
} bctx_t;

/*
 * Word why the run failed (printf-style), replacing a note about a probe
 * or the slot (enote keeps the first reason).  Errors: none.
 */
__attribute__((format(printf, 2, 3))) static void
fail(engine_job_t *job, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(job->note, sizeof (job->note), fmt, ap);
	va_end(ap);
}

/*
 * The first line of file path holding key, from key on, into buf (empty
 * when there is none); with last, the last such line.  Only the file's
 * last LOG_TAIL * 16 bytes are searched.  Errors: none.
 */
static void
find_line(const char *path, const char *key, int last, char *buf,
    size_t len)
{
	FILE *f = fopen(path, "r");
	char line[512];
	long size;

	buf[0] = '\0';
	if (f == NULL)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > LOG_TAIL * 16)
		(void) fseek(f, size - LOG_TAIL * 16, SEEK_SET);
	else
		rewind(f);
	while (fgets(line, sizeof (line), f) != NULL) {
		const char *k = strstr(line, key);

		if (k == NULL)
			continue;
		(void) snprintf(buf, len, "%s", k);
		buf[strcspn(buf, "\r\n")] = '\0';
		if (!last)
			break;
	}
	(void) fclose(f);
}

/* ---------------- checking the job ---------------- */

/* Is pa inside RAM and in a data page of the image?  Errors: none. */
static int
in_data(const engine_job_t *job, uint64_t pa)
{
	return (pa + 8 <= job->ram_size && pa < job->img->size &&
	    image_is_data(job->img, pa));
}

/* Is entry e of a second-level table present?  Errors: none. */
static int
sl_present(const bctx_t *c, uint64_t e)
{
	return (c->kind == BK_VMX ? (e & EPT_RWX) != 0 : (e & PTE_P) != 0);
}

/*
 * Check the job against what Bochs and this engine can do, and choose
 * the slot.  ENGINE_OK, or ENGINE_CANNOT with a note.
 * Errors: ENGINE_CANNOT.
 */
static int
check_job(bctx_t *c)
{
	engine_job_t *job = c->job;
	uint64_t paddr = ((1ull << BOCHS_PA_BITS) - 1) & ~0xfffull;
	uint64_t span;

	switch (job->mode) {
	case HT_MODE_EPT4:
		c->kind = BK_VMX;
		break;
	case HT_MODE_NPT4:
		c->kind = BK_SVM;
		break;
	case HT_MODE_EPT5:
		enote(job, "bochs: Bochs 2.7 has no 5-level EPT: "
		    "IA32_VMX_EPT_VPID_CAP lacks bit 7 (page-walk length 5) "
		    "and VM entry refuses an EPTP with walk length 5");
		return (ENGINE_CANNOT);
	case HT_MODE_NPT5:
		enote(job, "bochs: Bochs 2.7 has no 5-level paging (no LA57): "
		    "its nested-paging walk is the host's 4-level one");
		return (ENGINE_CANNOT);
	default:
		enote(job, "bochs: the engine runs second-level tables only "
		    "(ept4, npt4), not %s", ht_mode_name(job->mode) != NULL ?
		    ht_mode_name(job->mode) : "an unknown mode");
		return (ENGINE_CANNOT);
	}
	if (c->kind == BK_VMX) {
		unsigned mt = (unsigned)(job->cr3 & 7);

		if ((mt != 0 && mt != 6) || ((job->cr3 >> 3) & 7) != 3 ||
		    (job->cr3 & 0xf80) != 0 ||
		    (job->cr3 & ~paddr & ~0xfffull) != 0) {
			enote(job, "bochs: EPTP %#" PRIx64 " is not one Bochs "
			    "takes: memory type UC or WB, walk length 4, bits "
			    "11:7 clear, the root below 2^%u", job->cr3,
			    BOCHS_PA_BITS);
			return (ENGINE_CANNOT);
		}
	} else if (job->cr3 & ~paddr & ~0xfffull) {
		enote(job, "bochs: nCR3 %#" PRIx64 " is beyond MAXPHYADDR %u",
		    job->cr3, BOCHS_PA_BITS);
		return (ENGINE_CANNOT);
	}
	if (job->ram_size == 0 || job->ram_size % (2u << 20) != 0 ||
	    job->ram_size > RAM_MAX) {
		enote(job, "bochs: ram_size %#" PRIx64 " must be a multiple of "
		    "2 MiB up to %#" PRIx64, job->ram_size, (uint64_t)RAM_MAX);
		return (ENGINE_CANNOT);
	}
	if (job->guest_pa % GUEST_AREA != 0 ||
	    job->guest_pa + GUEST_AREA > job->ram_size) {
		enote(job, "bochs: guest_pa %#" PRIx64 " must be 2 MiB-aligned "
		    "and inside RAM", job->guest_pa);
		return (ENGINE_CANNOT);
	}
	for (uint64_t p = job->guest_pa; p < job->guest_pa + GUEST_AREA;
	    p += PAGE) {
		if (p < job->img->size && image_is_data(job->img, p)) {
			enote(job, "bochs: the image has data at %#" PRIx64
			    ", in the engine's area at guest_pa %#" PRIx64, p,
			    job->guest_pa);
			return (ENGINE_CANNOT);
		}
	}
	if (job->slot_level < 1 || job->slot_level > 3) {
		enote(job, "bochs: the borrowed slot must be at level 1 to 3, "
		    "not %d", job->slot_level);
		return (ENGINE_CANNOT);
	}
	span = 1ull << (12 + 9 * job->slot_level);
	if (job->slot_va & (span - 1)) {
		enote(job, "bochs: slot_va %#" PRIx64 " is not aligned to the "
		    "%#" PRIx64 " bytes its level-%d entry maps", job->slot_va,
		    span, job->slot_level);
		return (ENGINE_CANNOT);
	}
	if (job->slot_pa % 8 != 0) {
		enote(job, "bochs: slot_pa %#" PRIx64 " is not 8-byte aligned",
		    job->slot_pa);
		return (ENGINE_CANNOT);
	}
	c->slot_pa = job->slot_pa;
	c->slot_va = job->slot_va;
	c->slot_level = job->slot_level;
	if (in_data(job, job->slot_pa)) {
		uint64_t e = 0;

		(void) image_read((void *)job->img, job->slot_pa, &e, 8);
		if (sl_present(c, e)) {
			enote(job, "bochs: the borrowed entry at %#" PRIx64
			    " is present (%#" PRIx64 ")", job->slot_pa, e);
			return (ENGINE_CANNOT);
		}
		if (job->slot_va + GUEST_AREA <= (1ull << BOCHS_PA_BITS))
			return (ENGINE_OK);
	}
	/*
	 * The slot is the plan's to choose (plan.c keeps a nested job's
	 * below 2^39, for every engine): one L2 cannot reach is refused,
	 * not replaced, so that one placement rule holds for every run.
	 */
	enote(job, "bochs: the borrowed slot (GPA %#" PRIx64 ", entry at %#"
	    PRIx64 ") is %s %u: L2 cannot reach it", job->slot_va,
	    job->slot_pa, in_data(job, job->slot_pa) ? "beyond Bochs's "
	    "MAXPHYADDR," : "not in a data page of the image inside RAM, "
	    "MAXPHYADDR", BOCHS_PA_BITS);
	return (ENGINE_CANNOT);
}

/*
 * A guest job against what Bochs and this engine can do, once check_job
 * took the host side: the guest's paging mode (not 5-level: Bochs 2.7
 * has no LA57), its borrowed entry, its CPU (no protection keys: the
 * bx_generic CPU has no PKU).  Sets c->guest, c->glegacy, c->gpte.
 * ENGINE_OK, or ENGINE_CANNOT with a note.  Errors: ENGINE_CANNOT.
 */
static int
check_guest(bctx_t *c)
{
	engine_job_t *job = c->job;
	ht_mode_t gm = job->guest_mode;
	unsigned glevels, gflags = job->gcpu != NULL ? job->gcpu->flags : 0;
	uint64_t span, lim = 1ull << BOCHS_PA_BITS;

	c->guest = 1;
	switch (gm) {
	case HT_MODE_32BIT:
	case HT_MODE_PAE:
		c->glegacy = 1;
		break;
	case HT_MODE_4LEVEL:
		break;
	case HT_MODE_5LEVEL:
		enote(job, "bochs: Bochs 2.7 has no 5-level paging for the "
		    "guest: no LA57 (CPUID.7:ECX bit 16 clear, no cpuid "
		    "option for it; CR4.LA57 is a reserved bit, which VM "
		    "entry and VMRUN refuse)");
		return (ENGINE_CANNOT);
	default:
		enote(job, "bochs: the guest's tables must be in 32bit, pae or "
		    "4level paging, not %s", ht_mode_name(gm) != NULL ?
		    ht_mode_name(gm) : "?");
		return (ENGINE_CANNOT);
	}
	glevels = (unsigned)gm + 2;
	c->gpte = gm == HT_MODE_32BIT ? 4 : 8;
	if (job->gslot_level < 1 || (unsigned)job->gslot_level >= glevels) {
		enote(job, "bochs: the guest slot must be at level 1 or above "
		    "and below the root's %u (level %d)", glevels - 1,
		    job->gslot_level);
		return (ENGINE_CANNOT);
	}
	span = 1ull << egshift(gm, (unsigned)job->gslot_level);
	if (job->gslot_va & (span - 1)) {
		enote(job, "bochs: gslot_va %#" PRIx64 " is not aligned to the "
		    "%#" PRIx64 " bytes its level-%d entry maps",
		    job->gslot_va, span, job->gslot_level);
		return (ENGINE_CANNOT);
	}
	if (job->gslot_pa % c->gpte != 0 ||
	    job->gslot_pa + c->gpte > job->ram_size ||
	    !in_data(job, job->gslot_pa & ~7ull) ||
	    (job->gslot_pa + c->gpte > job->guest_pa &&
	    job->gslot_pa < job->guest_pa + GUEST_AREA)) {
		enote(job, "bochs: gslot_pa %#" PRIx64 " is not an entry of "
		    "the image in RAM outside the engine's area",
		    job->gslot_pa);
		return (ENGINE_CANNOT);
	}
	if ((job->guest_cr3 & ~(1ull << 63)) >= lim ||
	    (c->glegacy && job->gslot_va >> 32 != 0)) {
		enote(job, "bochs: guest_cr3 %#" PRIx64 " is beyond MAXPHYADDR "
		    "%u or gslot_va %#" PRIx64 " beyond the guest's linear "
		    "space", job->guest_cr3, BOCHS_PA_BITS, job->gslot_va);
		return (ENGINE_CANNOT);
	}
	if (gflags & HT_CPU_PKE) {
		enote(job, "bochs: the guest's CPU has protection keys (PKE): "
		    "the engine does not run them (no PKU in its CPUID, no "
		    "PKRU for L2)");
		return (ENGINE_CANNOT);
	}
	if (job->gcpu != NULL && job->gcpu->pa_bits != 0 &&
	    job->gcpu->pa_bits != BOCHS_PA_BITS)
		enote(job, "bochs: the guest's MAXPHYADDR is Bochs's %u, not "
		    "the %u asked: predictions may differ", BOCHS_PA_BITS,
		    job->gcpu->pa_bits);
	return (ENGINE_OK);
}

/* ---------------- the image's pages ---------------- */

/* Append a run; 0, or -1 out of memory.  Errors: -1. */
static int
add_run(bctx_t *c, uint64_t pa, int zero)
{
	if (c->nruns > 0) {
		uint64_t *r = &c->runs[c->nruns - 1];
		uint64_t n = *r & BR_COUNT, at = *r & ~0xfffull;
		int rz = (*r & BR_ZERO) != 0;

		if (rz == zero && at + n * PAGE == pa &&
		    n < (zero ? BR_COUNT : BR_MAXDATA)) {
			(*r)++;
			if (!zero)
				c->ndata++;
			return (0);
		}
	}
	if (c->nruns == c->cap) {
		size_t cap = c->cap != 0 ? 2 * c->cap : 256;
		uint64_t *n = realloc(c->runs, cap * sizeof (*n));

		if (n == NULL)
			return (-1);
		c->runs = n;
		c->cap = cap;
	}
	c->runs[c->nruns++] = pa | 1 | (zero ? BR_ZERO : 0);
	if (!zero)
		c->ndata++;
	return (0);
}

/*
 * The image's data pages in RAM as runs (those beyond RAM the guest
 * never sees).  0, or -1 out of memory.  Errors: -1.
 */
static int
build_runs(bctx_t *c)
{
	const engine_job_t *job = c->job;
	const image_t *im = job->img;
	uint64_t end = im->size < job->ram_size ? im->size : job->ram_size;
	uint8_t buf[PAGE];

	for (size_t x = 0; x < im->next || (im->next == 0 && x == 0); x++) {
		uint64_t s = im->next ? im->ext[x].start : 0;
		uint64_t e = im->next ? im->ext[x].end : im->size;

		s &= ~(PAGE - 1);
		for (uint64_t pa = s; pa < e && pa < end; pa += PAGE) {
			int zero = 1;

			if (!image_is_data(im, pa))
				continue;
			(void) image_read((void *)im, pa, buf, PAGE);
			for (size_t i = 0; i < PAGE && zero; i++)
				zero = buf[i] == 0;
			if (add_run(c, pa, zero) != 0)
				return (-1);
		}
	}
	return (0);
}

/* ---------------- the markers ---------------- */

/* Mark the fill map's blocks under [pa, pa + size).  Errors: none. */
static void
fill_mark(bctx_t *c, uint64_t pa, uint64_t size)
{
	uint64_t ram = c->job->ram_size;
	uint8_t *map = c->area + BP_FILLMAP;

	for (uint64_t b = pa >> BFILL_SHIFT; b < BFILL_BLOCKS &&
	    (b << BFILL_SHIFT) < ram && (b << BFILL_SHIFT) < pa + size; b++)
		map[b / 8] |= (uint8_t)(1u << (b % 8));
}

/*
 * Has table t been walked at level already?  If not, remember it.  0 or
 * 1, or -1 out of memory.  An open-addressing set of (t | level).
 * Errors: -1.
 */
static int
seen(bctx_t *c, uint64_t t, int level)
{
	uint64_t key = t | (uint64_t)(level + 1), h;

	if (2 * (c->nseen + 1) > c->seencap) {
		size_t cap = c->seencap ? 2 * c->seencap : 1024;
		uint64_t *n = calloc(cap, sizeof (*n));

		if (n == NULL)
			return (-1);
		for (size_t i = 0; i < c->seencap; i++) {
			if (c->seenset[i] == 0)
				continue;
			h = (c->seenset[i] * 0x9e3779b97f4a7c15ull) % cap;
			while (n[h] != 0)
				h = (h + 1) % cap;
			n[h] = c->seenset[i];
		}
		free(c->seenset);
		c->seenset = n;
		c->seencap = cap;
	}
	h = (key * 0x9e3779b97f4a7c15ull) % c->seencap;
	while (c->seenset[h] != 0) {
		if (c->seenset[h] == key)
			return (1);
		h = (h + 1) % c->seencap;
	}
	c->seenset[h] = key;
	c->nseen++;
	return (0);
}

/*
 * Mark the blocks under every leaf the table at t (of level level) can
 * lead to, whatever the rights and reserved bits: any present entry
 * links on, or maps with PS at levels 1 and 2 (a superset of what an MMU
 * can reach, so that a deviation of Bochs lands on markers too).  Each
 * (table, level) once.  0, or -1 out of memory.  Errors: -1.
 */
static int
fill_walk(bctx_t *c, uint64_t t, int level)
{
	const engine_job_t *job = c->job;
	int r;

	if (!in_data(job, t))
		return (0);
	if ((r = seen(c, t, level)) != 0)
		return (r < 0 ? -1 : 0);
	for (unsigned k = 0; k < 512; k++) {
		uint64_t e = 0, at;

		(void) image_read((void *)job->img, t + 8ull * k, &e, 8);
		if (!sl_present(c, e))
			continue;
		at = e & 0x000ffffffffff000ull;
		if (level == 0) {
			fill_mark(c, at, PAGE);
		} else if ((e & PTE_PS) && level <= 2) {
			uint64_t sz = 1ull << (12 + 9 * level);

			fill_mark(c, at & ~(sz - 1), sz);
		} else if (!(e & PTE_PS) &&
		    fill_walk(c, at, level - 1) != 0) {
			return (-1);
		}
	}
	return (0);
}

/*
 * The fill map (engine_bochs.h): the 2 MiB blocks of RAM under the
 * image's leaves.  Filling RAM is most of a run's time (Bochs stores
 * some 150 MB/s), and an access can only land under a leaf: elsewhere
 * RAM stays zero, which no probe reads.  mem_after shows markers
 * everywhere, as if all were filled.  Out of memory, every block is
 * filled.  Errors: none.
 */
static void
plan_fill(bctx_t *c)
{
	const engine_job_t *job = c->job;
	uint8_t *map = c->area + BP_FILLMAP;
	uint64_t area = job->guest_pa >> BFILL_SHIFT;

	memset(map, 0, BFILL_BLOCKS / 8);
	if (fill_walk(c, job->cr3 & 0x000ffffffffff000ull, 3) != 0)
		fill_mark(c, 0, job->ram_size);
	map[area / 8] &= (uint8_t)~(1u << (area % 8));
}

/* ---------------- the area ---------------- */

/*
 * A VMCS table entry: field, how (BV_* | MSR << 16), value.  Past
 * BVMCS_MAX entries (a mistake of this file) *n still counts and
 * engine_bochs refuses the table.  Errors: none.
 */
static void
vmcs_put(bctx_t *c, unsigned *n, uint32_t field, uint32_t how,
    uint64_t v)
{
	uint8_t *p = c->area + BA_VMCSTAB + (size_t)*n * BVMCS_SIZE;

	if (*n >= BVMCS_MAX) {
		(*n)++;
		return;
	}
	eput32(p, field);
	eput32(p + 4, how);
	eput64(p + 8, v);
	(*n)++;
}

#define	CTLS(msr)	(BV_CTLS | ((uint32_t)(msr) << 16))
#define	FIXED(msr)	(BV_FIXED | ((uint32_t)(msr) << 16))

/*
 * A guest job: the host-physical address of guest-physical gpa through
 * the image's second-level tables (a read), or ~0 where they do not map
 * it.  Errors: none (~0).
 */
static uint64_t
host_hpa(const bctx_t *c, uint64_t gpa)
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
	hcpu.flags = HT_CPU_NXE | (c->kind == BK_VMX ? HT_CPU_EPT_XONLY : 0);
	hcpu.pa_bits = BOCHS_PA_BITS;
	if (ht_scan_access(&cfg, &hcpu, gpa, HT_ACC_READ, 0, &a) != 0 ||
	    a.fault != HT_FAULT_NONE)
		return (~0ull);
	return (a.pa);
}

/*
 * A guest job in PAE paging through EPT: VM entry loads the guest's
 * PDPTEs from the VMCS (fields 0x280a-0x2810), not from memory; read
 * them from the image (the guest slot's link in place of its entry)
 * into the VMCS table.  Errors: none (unmapped: zeros, which the walk
 * then finds not present).
 */
static void
vmcs_pdptes(bctx_t *c, unsigned *n)
{
	const engine_job_t *job = c->job;
	uint64_t root = job->guest_cr3 & 0xffffffe0ull;

	for (unsigned i = 0; i < 4; i++) {
		uint64_t hpa = host_hpa(c, root + 8 * i), e = 0;

		if (hpa != ~0ull && hpa + 8 <= job->img->size)
			(void) image_read((void *)job->img, hpa, &e, 8);
		if (hpa == job->gslot_pa)
			e = eget64(c->area + BP_GSLOTLINK);
		vmcs_put(c, n, 0x280a + 2 * i, BV_PLAIN, e);
	}
}

/*
 * The VMCS as L1 writes it: controls (EPT, 64-bit guest and host, every
 * exception intercepted), L2's state (64-bit, CPL 0, paging on its own
 * tables at slot_va, flat segments), L1's state to return to.  L1
 * writes the host RIP and RSP itself.  Errors: none.
 */
static void
build_vmcs(bctx_t *c, uint64_t cr0, uint64_t cr4, uint64_t efer)
{
	const engine_job_t *job = c->job;
	uint64_t g = job->guest_pa;
	unsigned n = 0;
	static const uint32_t dsegs[] = { 0x0800, 0x0804, 0x0806, 0x0808,
	    0x080a };	/* ES, SS, DS, FS, GS selectors */

	/*
	 * Pin: the preemption timer bounds every run of L2 (a fetch that
	 * lands on code other than a marker's `ret`).  Primary: secondary
	 * controls; HLT, every I/O port (Bochs's shutdown port, the disk);
	 * MWAIT and MONITOR where Bochs has them.
	 */
	vmcs_put(c, &n, 0x4000, CTLS(0x481), 1ull << 6);
	vmcs_put(c, &n, 0x482e, BV_PLAIN, BVMX_TIMER);
	vmcs_put(c, &n, 0x4002, CTLS(0x482), (1ull << 31) | (1ull << 7) |
	    (1ull << 24) | (((1ull << 10) | (1ull << 29)) << 32));
	vmcs_put(c, &n, 0x401e, CTLS(0x48b), 1ull << 1);	/* EPT */
	/* exit: 64-bit host, load IA32_EFER; entry: IA-32e guest, EFER */
	vmcs_put(c, &n, 0x400c, CTLS(0x483), (1ull << 9) | (1ull << 21));
	vmcs_put(c, &n, 0x4012, CTLS(0x484), (c->glegacy ? 0 : 1ull << 9) |
	    (1ull << 15));
	vmcs_put(c, &n, 0x4004, BV_PLAIN, 0xffffffffull);	/* exceptions */
	vmcs_put(c, &n, 0x4006, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x4008, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x400a, BV_PLAIN, 0);		/* CR3 targets */
	vmcs_put(c, &n, 0x400e, BV_PLAIN, 0);		/* MSR lists */
	vmcs_put(c, &n, 0x4010, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x4014, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x4016, BV_PLAIN, 0);		/* no injection */
	vmcs_put(c, &n, 0x6000, BV_PLAIN, 0);		/* CR0/CR4 masks */
	vmcs_put(c, &n, 0x6002, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x6004, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x6006, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x201a, BV_PLAIN, job->cr3);	/* EPTP */
	vmcs_put(c, &n, 0x2800, BV_PLAIN, ~0ull);	/* VMCS link */

	/* L2 */
	vmcs_put(c, &n, 0x6800, FIXED(0x486), c->l2cr0);
	vmcs_put(c, &n, 0x6802, BV_PLAIN, c->l2cr3);
	vmcs_put(c, &n, 0x6804, FIXED(0x488), c->l2cr4 | CR4_VMXE);
	vmcs_put(c, &n, 0x681a, BV_PLAIN, 0x400);		/* DR7 */
	vmcs_put(c, &n, 0x2802, BV_PLAIN, 0);		/* DEBUGCTL */
	vmcs_put(c, &n, 0x2806, BV_PLAIN, c->l2efer);
	vmcs_put(c, &n, 0x6820, BV_PLAIN, 2);		/* RFLAGS */
	vmcs_put(c, &n, 0x0802, BV_PLAIN, SEL_CODE32);	/* CS */
	vmcs_put(c, &n, 0x4802, BV_PLAIN, 0xffffffffull);
	vmcs_put(c, &n, 0x4816, BV_PLAIN, c->glegacy ? 0xc09b : 0xa09b);
	if (c->guest && c->job->guest_mode == HT_MODE_PAE)
		vmcs_pdptes(c, &n);
	vmcs_put(c, &n, 0x6808, BV_PLAIN, 0);
	for (unsigned i = 0; i < sizeof (dsegs) / sizeof (dsegs[0]); i++) {
		uint32_t f = dsegs[i];

		vmcs_put(c, &n, f, BV_PLAIN, SEL_DATA);
		vmcs_put(c, &n, f + 0x4000, BV_PLAIN, 0xffffffffull);
		vmcs_put(c, &n, 0x4814 + (f - 0x0800), BV_PLAIN, 0xc093);
		vmcs_put(c, &n, 0x6806 + (f - 0x0800), BV_PLAIN, 0);
	}
	vmcs_put(c, &n, 0x080c, BV_PLAIN, 0);		/* LDTR: unusable */
	vmcs_put(c, &n, 0x480c, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x4820, BV_PLAIN, 0x10000);
	vmcs_put(c, &n, 0x6812, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x080e, BV_PLAIN, SEL_CODE64);	/* TR: busy TSS */
	vmcs_put(c, &n, 0x480e, BV_PLAIN, 0x67);
	vmcs_put(c, &n, 0x4822, BV_PLAIN, 0x8b);
	vmcs_put(c, &n, 0x6814, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x4810, BV_PLAIN, 0x1f);		/* GDTR, IDTR */
	vmcs_put(c, &n, 0x6816, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x4812, BV_PLAIN, 0xfff);
	vmcs_put(c, &n, 0x6818, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x4824, BV_PLAIN, 0);		/* interruptibility */
	vmcs_put(c, &n, 0x4826, BV_PLAIN, 0);		/* active */
	vmcs_put(c, &n, 0x6822, BV_PLAIN, 0);		/* pending #DB */
	vmcs_put(c, &n, 0x482a, BV_PLAIN, 0);		/* SYSENTER */
	vmcs_put(c, &n, 0x6824, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x6826, BV_PLAIN, 0);

	/* L1, at a VM exit */
	vmcs_put(c, &n, 0x6c00, FIXED(0x486), cr0);
	vmcs_put(c, &n, 0x6c02, BV_PLAIN, g + BA_L1PT);
	vmcs_put(c, &n, 0x6c04, FIXED(0x488), cr4 | CR4_VMXE);
	vmcs_put(c, &n, 0x0c00, BV_PLAIN, SEL_DATA);	/* ES */
	vmcs_put(c, &n, 0x0c02, BV_PLAIN, SEL_CODE64);	/* CS */
	vmcs_put(c, &n, 0x0c04, BV_PLAIN, SEL_DATA);	/* SS */
	vmcs_put(c, &n, 0x0c06, BV_PLAIN, SEL_DATA);	/* DS */
	vmcs_put(c, &n, 0x0c08, BV_PLAIN, SEL_DATA);	/* FS */
	vmcs_put(c, &n, 0x0c0a, BV_PLAIN, SEL_DATA);	/* GS */
	vmcs_put(c, &n, 0x0c0c, BV_PLAIN, SEL_TSS);	/* TR */
	vmcs_put(c, &n, 0x6c06, BV_PLAIN, 0);		/* FS, GS base */
	vmcs_put(c, &n, 0x6c08, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x6c0a, BV_PLAIN, g + BA_TSS);
	vmcs_put(c, &n, 0x6c0c, BV_PLAIN, g + BA_GDT);
	vmcs_put(c, &n, 0x6c0e, BV_PLAIN, g + BA_IDT);
	vmcs_put(c, &n, 0x4c00, BV_PLAIN, 0);		/* SYSENTER */
	vmcs_put(c, &n, 0x6c10, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x6c12, BV_PLAIN, 0);
	vmcs_put(c, &n, 0x2c02, BV_PLAIN, efer | EFER_LMA);
	eput64(c->area + BP_NVMCS, n);
}

/*
 * A VMCB segment: selector, attributes (12 bits), limit, base 0.
 * Errors: none.
 */
static void
vmcb_seg(uint8_t *vmcb, unsigned off, uint16_t sel, uint16_t attr,
    uint32_t limit)
{
	eput16(vmcb + off, sel);
	eput16(vmcb + off + 2, attr);
	eput32(vmcb + off + 4, limit);
	eput64(vmcb + off + 8, 0);
}

/*
 * The VMCB: nested paging on the job's nCR3, VMRUN, VMMCALL, HLT,
 * shutdown and every exception intercepted, L2's state as in the VMCS.
 * L1 sets RIP, RSP, RAX and the TLB control per probe.  Errors: none.
 */
static void
build_vmcb(bctx_t *c)
{
	uint8_t *v = c->area + BA_VMCS;
	static const unsigned dsegs[] = { 0x400, 0x420, 0x430, 0x440,
	    0x450 };	/* ES, SS, DS, FS, GS */

	/*
	 * Intercepted: every exception; INTR (the APIC timer that bounds a
	 * run of L2), INVD, HLT, INVLPGA, I/O (every
	 * port: the IOPM is all ones), MSRs (likewise), task switches,
	 * FERR, shutdown; VMRUN, VMMCALL and the rest of SVM's
	 * instructions, RDTSCP, ICEBP, WBINVD, MONITOR, MWAIT, XSETBV.
	 */
	eput32(v + 0x008, 0xffffffffu);
	eput32(v + 0x00c, 1u | (1u << 22) | (1u << 24) | (1u << 26) |
	    (1u << 27) | (1u << 28) | (1u << 29) | (1u << 30) | (1u << 31));
	eput32(v + 0x010, 0x3fff);
	eput64(v + 0x040, c->job->guest_pa + BA_IOPM);
	eput64(v + 0x048, c->job->guest_pa + BA_MSRPM);
	eput32(v + 0x058, 1);				/* ASID */
	eput32(v + 0x05c, 1);				/* flush TLB */
	eput64(v + 0x090, 1);				/* nested paging */
	eput64(v + 0x0b0, c->job->cr3);			/* nCR3 */
	vmcb_seg(v, 0x410, SEL_CODE32, c->glegacy ? 0xc9b : 0xa9b,
	    0xffffffffu);					/* CS */
	for (unsigned i = 0; i < sizeof (dsegs) / sizeof (dsegs[0]); i++)
		vmcb_seg(v, dsegs[i], SEL_DATA, 0xc93, 0xffffffffu);
	vmcb_seg(v, 0x460, 0, 0, 0x1f);			/* GDTR */
	vmcb_seg(v, 0x470, 0, 0, 0);			/* LDTR */
	vmcb_seg(v, 0x480, 0, 0, 0xfff);		/* IDTR */
	vmcb_seg(v, 0x490, SEL_CODE64, 0x8b, 0x67);	/* TR */
	v[0x4cb] = 0;					/* CPL */
	eput64(v + 0x4d0, c->l2efer | EFER_SVME);
	eput64(v + 0x548, c->l2cr4);
	eput64(v + 0x550, c->l2cr3);
	eput64(v + 0x558, c->l2cr0);
	eput64(v + 0x560, 0x400);			/* DR7 */
	eput64(v + 0x568, 0xffff0ff0);			/* DR6 */
	eput64(v + 0x570, 0x202);	/* RFLAGS: IF, for the timer's exit */
	eput64(v + 0x668, 0x0007040600070406ull);	/* guest PAT */
}

/* An IDT gate (64-bit interrupt gate, DPL 0) to off.  Errors: none. */
static void
put_gate(uint8_t *p, uint64_t off)
{
	eput16(p, (uint16_t)off);
	eput16(p + 2, SEL_CODE64);
	p[4] = 0;
	p[5] = 0x8e;
	eput16(p + 6, (uint16_t)(off >> 16));
	eput32(p + 8, (uint32_t)(off >> 32));
	eput32(p + 12, 0);
}

/* Set guest-format entry idx of the table at area offset t; no errors. */
static void
gentry_set(bctx_t *c, uint64_t t, unsigned idx, uint64_t v)
{
	uint8_t *p = c->area + t + (uint64_t)idx * c->gpte;

	if (c->gpte == 4)
		eput32(p, (uint32_t)v);
	else
		eput64(p, v);
}

/*
 * A guest job's part of the area (the top of the file says what and
 * why): the guest-format tables the guest slot links (at BA_GPT, which
 * L2 sees at guest-physical slot_va + BA_GPT), mapping at c->lbase the
 * blob's pages (supervisor), its user page and the user stack (U), the
 * supervisor stack; the link (BP_GSLOTLINK, or per context when a
 * 32-bit guest's link is a 4 MiB page); L2's control registers; the two
 * contexts L1 enters L2 in.  Errors: none (check_guest refused what
 * cannot be built).
 */
static void
build_guest(bctx_t *c)
{
	engine_job_t *job = c->job;
	ht_mode_t gm = job->guest_mode;
	unsigned gflags = job->gcpu != NULL ? job->gcpu->flags : 0;
	unsigned top = (unsigned)job->gslot_level, level;
	uint64_t g = c->slot_va, upper = PTE_P | PTE_RW | PTE_US | PTE_A;
	uint64_t blob = (uint64_t)(engine_bochs_guest_end -
	    engine_bochs_guest), glink, perprobe = 0;
	uint8_t *a = c->area;
	int svm = c->kind == BK_SVM;

	if (gm == HT_MODE_32BIT && (g + GUEST_AREA - 1) >> 32 != 0) {
		/*
		 * 32-bit paging cannot link a table above 4 GiB: one 4 MiB
		 * page (PSE-36: bits 39:32 of its address in 20:13) maps the
		 * area instead, supervisor for CPL-0 probes and user for
		 * CPL-3 ones, so that SMEP and SMAP let each run its stubs:
		 * L1 writes the entry per probe.
		 */
		c->lbase = job->gslot_va + (g & 0x3fffffull);
		glink = (g & 0xffc00000ull) | (((g >> 32) & 0xff) << 13) |
		    PTE_P | PTE_RW | PTE_PS | PTE_A | PTE_D;
		perprobe = 1;
	} else {
		c->lbase = job->gslot_va;
		/* level top - 1 at BA_GPT, ..., the page table last */
		for (level = top - 1; level >= 1; level--) {
			uint64_t t = BA_GPT + (top - 1 - level) * PAGE;

			gentry_set(c, t, egindex(gm, c->lbase, level),
			    (g + t + PAGE) | upper);
		}
		for (uint64_t off = 0; off < BA_L2STACK_TOP; off += PAGE) {
			uint64_t t = BA_GPT + (top - 1) * PAGE;
			uint64_t e = (g + off) | PTE_P | PTE_RW | PTE_A | PTE_D;

			if (off == c->hdr.upage || off == BA_GUSTACK)
				e |= PTE_US;
			else if (off >= blob && off != BA_L2STACK_TOP - PAGE)
				continue;
			gentry_set(c, t, egindex(gm, c->lbase + off, 0), e);
		}
		/* PAE's PDPTEs have no RW, US or A */
		glink = (g + BA_GPT) | (gm == HT_MODE_PAE && top == 2 ?
		    PTE_P : upper);
	}
	eput64(a + BP_GUEST, 1);
	eput64(a + BP_GSLOTPA, job->gslot_pa);
	eput64(a + BP_GSLOTLINK, glink);
	eput64(a + BP_GSLOTW, c->gpte);
	eput64(a + BP_GLEGACY, (uint64_t)c->glegacy);
	eput64(a + BP_GPERPROBE, perprobe);

	/* L2's CPU: the guest's paging mode and control bits */
	c->l2cr0 = CR0_PG | CR0_NE | CR0_ET | CR0_PE |
	    ((gflags & HT_CPU_WP) ? CR0_WP : 0);
	c->l2cr3 = job->guest_cr3 & ~(1ull << 63);
	c->l2cr4 = (gm == HT_MODE_32BIT ? CR4_PSE : CR4_PAE) |
	    ((gflags & HT_CPU_SMEP) ? CR4_SMEP : 0) |
	    ((gflags & HT_CPU_SMAP) ? CR4_SMAP : 0);
	c->l2efer = (c->glegacy ? 0 : EFER_LME | EFER_LMA) |
	    ((gflags & HT_CPU_NXE) && gm != HT_MODE_32BIT ? EFER_NXE : 0);

	/* the contexts of CPL 0 and 3 */
	for (unsigned u = 0; u < 2; u++) {
		uint8_t *x = a + BP_GCTX + u * BC_SIZE;
		uint64_t dpl = u ? 3 : 0, cs, ss, csar, ssar;

		cs = u ? SEL_CODE32 | 3 : SEL_CODE32;
		ss = u ? SEL_DATA | 3 : SEL_DATA;
		csar = (c->glegacy ? 0xc09b : 0xa09b) | dpl << 5;
		ssar = 0xc093 | dpl << 5;
		if (svm) {
			/* the VMCB's 12-bit attributes, the limit */
			cs |= ((csar & 0xff) | ((csar >> 4) & 0xf00)) << 16 |
			    0xffffffffull << 32;
			ss |= ((ssar & 0xff) | ((ssar >> 4) & 0xf00)) << 16 |
			    0xffffffffull << 32;
		}
		eput64(x + BC_CS, cs);
		eput64(x + BC_CSAR, csar);
		eput64(x + BC_SS, ss);
		eput64(x + BC_SSAR, ssar);
		eput64(x + BC_STUBS, c->lbase +
		    c->hdr.gstub[BGS_SET(svm, (int)u, c->glegacy)]);
		eput64(x + BC_RSP, c->lbase + (u ? BA_GUSTACK + PAGE :
		    BA_L2STACK_TOP));
		eput64(x + BC_RFLAGS, (svm ? 0x202 : 2) |
		    (!u && (gflags & HT_CPU_AC) ? EFL_AC : 0));
		eput64(x + BC_CPL, dpl);
		eput64(x + BC_GLINK, glink | (u ? PTE_US : 0));
	}
}

/*
 * Build the area's loaded part: the blob, L1's GDT, TSS, IDT and page
 * tables, L2's page tables, the second-level subtree for the slot and the
 * slot's link, the VMCS table or the VMCB, the parameters.  Errors: none.
 */
static void
build_area(bctx_t *c)
{
	const engine_job_t *job = c->job;
	uint64_t g = job->guest_pa, sv = c->slot_va, tss = g + BA_TSS;
	int nxe = job->cpu != NULL && (job->cpu->flags & HT_CPU_NXE);
	uint64_t cr0 = CR0_PG | CR0_NE | CR0_ET | CR0_MP | CR0_PE;
	uint64_t cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	uint64_t efer = EFER_LME;
	uint64_t nonleaf, leaf;
	uint8_t *a = c->area;

	memcpy(a + BA_CODE, engine_bochs_guest,
	    (size_t)(engine_bochs_guest_end - engine_bochs_guest));
	/* GDT: null, 32-bit code, data, 64-bit code, TSS */
	eput64(a + BA_GDT + SEL_CODE32, 0x00cf9b000000ffffull);
	eput64(a + BA_GDT + SEL_DATA, 0x00cf93000000ffffull);
	eput64(a + BA_GDT + SEL_CODE64, 0x00af9b000000ffffull);
	eput64(a + BA_GDT + SEL_TSS, 0x67 | ((tss & 0xffffff) << 16) |
	    (0x89ull << 40) | (((tss >> 24) & 0xff) << 56));
	eput64(a + BA_GDT + SEL_TSS + 8, tss >> 32);
	eput16(a + BP_GDTR, SEL_TSS + 16 - 1);
	eput64(a + BP_GDTR + 2, g + BA_GDT);
	eput16(a + BA_TSS + 0x66, 0x68);			/* no I/O map */
	for (unsigned v = 0; v < 32; v++)
		put_gate(a + BA_IDT + 16 * v, g + c->hdr.exc64 + 16 * v);
	put_gate(a + BA_IDT + 16 * BV_TIMER, g + c->hdr.timer64);
	put_gate(a + BA_IDT + 16 * BV_SPURIOUS, g + c->hdr.spurious64);
	eput16(a + BP_IDTR, 256 * 16 - 1);
	eput64(a + BP_IDTR + 2, g + BA_IDT);

	/* L1: the low 4 GiB, identity-mapped with 2 MiB pages */
	eput64(a + BA_L1PT, (g + BA_L1PT + PAGE) | PTE_P | PTE_RW);
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t pd = BA_L1PT + (2 + i) * PAGE;

		eput64(a + BA_L1PT + PAGE + 8 * i, (g + pd) | PTE_P | PTE_RW);
		for (uint64_t j = 0; j < 512; j++)
			eput64(a + pd + 8 * j, ((i * 512 + j) << 21) |
			    PTE_P | PTE_RW | PTE_PS);
	}

	/*
	 * L2: the area at BL2_BASE (2 MiB), the window's PT at BL2_WINDOW;
	 * a guest job's L2 runs on the guest's tables instead.
	 */
	c->l2cr0 = CR0_PG | CR0_NE | CR0_ET | CR0_PE;
	c->l2cr3 = sv + BA_L2PT;
	c->l2cr4 = CR4_PAE;
	c->l2efer = EFER_LME | EFER_LMA;
	if (c->guest) {
		build_guest(c);
	} else {
		eput64(a + BA_L2PT, (sv + BA_L2PT + PAGE) | PTE_P | PTE_RW |
		    PTE_US | PTE_A);
		eput64(a + BA_L2PT + PAGE, (sv + BA_L2PT + 2 * PAGE) | PTE_P |
		    PTE_RW | PTE_US | PTE_A);
		eput64(a + BA_L2PT + 2 * PAGE + 8 * (BL2_BASE >> 21), sv |
		    PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D | PTE_PS);
		eput64(a + BA_L2PT + 2 * PAGE + 8 * (BL2_WINDOW >> 21),
		    (sv + BA_L2WINPT) | PTE_P | PTE_RW | PTE_US | PTE_A);
	}

	/* the subtree: one table per level below the slot's, all rights */
	nonleaf = c->kind == BK_VMX ? EPT_RWX : PTE_P | PTE_RW | PTE_US;
	leaf = c->kind == BK_VMX ? EPT_RWX | EPT_WB : PTE_P | PTE_RW |
	    PTE_US;
	for (uint64_t i = 0; i < 512; i++)
		eput64(a + BA_SLOTPT + 8 * i, (g + i * PAGE) | leaf);
	for (int l = 1; l < c->slot_level; l++)
		eput64(a + BA_SLOTPT + (uint64_t)l * PAGE,
		    (g + BA_SLOTPT + (uint64_t)(l - 1) * PAGE) | nonleaf);
	c->link = (g + BA_SLOTPT + (uint64_t)(c->slot_level - 1) * PAGE) |
	    nonleaf;

	if (c->kind == BK_SVM && nxe)
		efer |= EFER_NXE;
	if (c->kind == BK_VMX)
		build_vmcs(c, cr0, cr4, efer);
	else
		build_vmcb(c);

	eput64(a + BP_MAGIC, BG_MAGIC);
	eput64(a + BP_KIND, (uint64_t)c->kind);
	eput64(a + BP_RAMSIZE, job->ram_size);
	eput64(a + BP_SLOTPA, c->slot_pa);
	eput64(a + BP_SLOTLINK, c->link);
	eput64(a + BP_NRUNS, c->nruns);
	eput64(a + BP_LBA_INDEX, c->lba_index);
	eput64(a + BP_LBA_DATA, c->lba_data);
	eput64(a + BP_NPROBES, c->nsent);
	eput64(a + BP_LBA_PROBES, c->lba_probes);
	eput64(a + BP_LBA_RESULTS, c->lba_results);
	eput64(a + BP_LBA_AFTER, c->lba_after);
	eput64(a + BP_LBA_STATUS, c->lba_status);
	eput64(a + BP_CR0, cr0);
	eput64(a + BP_CR4, cr4);
	eput64(a + BP_EFER, efer);
	eput64(a + BP_CR3, g + BA_L1PT);
	eput64(a + BP_GPAMASK, ((1ull << BOCHS_PA_BITS) - 1) & ~(PAGE - 1));
	plan_fill(c);
}

/* ---------------- the probes ---------------- */

/*
 * Choose the probes L2 can make: op and cpl known, the GPA below
 * MAXPHYADDR and outside the slot (a guest job: the linear address
 * outside the guest slot, and below 4 GiB for a 32-bit guest).  The
 * others are PROBE_NOTRUN (the first reason noted).  0, or -1 out of
 * memory.  Errors: -1.
 */
static int
choose_probes(bctx_t *c)
{
	engine_job_t *job = c->job;
	uint64_t slot_size = 1ull << (12 + 9 * c->slot_level);

	if ((c->sent = calloc(job->nprobes + 1, sizeof (*c->sent))) == NULL)
		return (-1);
	for (size_t i = 0; i < job->nprobes; i++) {
		const probe_t *p = &job->probes[i];

		memset(&job->results[i], 0, sizeof (job->results[i]));
		job->results[i].outcome = PROBE_NOTRUN;
		if ((unsigned)p->op > PROBE_FETCH ||
		    (p->cpl != 0 && p->cpl != 3)) {
			enote(job, "bochs: probe %zu has an unknown op or cpl: "
			    "not run", i);
			continue;
		}
		if (c->guest) {
			if (p->va - c->job->gslot_va < c->job->gslot_size ||
			    (c->glegacy && p->va >> 32 != 0)) {
				enote(job, "bochs: probe %zu (va %#" PRIx64 ") "
				    "lies in the guest slot or beyond the "
				    "guest's linear space: not run", i, p->va);
				continue;
			}
			c->sent[c->nsent++] = i;
			continue;
		}
		if (p->va >> BOCHS_PA_BITS) {
			enote(job, "bochs: probe %zu (GPA %#" PRIx64 ") is "
			    "beyond Bochs's MAXPHYADDR %u, which L2 cannot "
			    "address: not run", i, p->va, BOCHS_PA_BITS);
			continue;
		}
		if (p->va - c->slot_va < slot_size ||
		    p->va - c->job->slot_va < c->job->slot_size) {
			enote(job, "bochs: probe %zu (GPA %#" PRIx64 ") lies "
			    "in the borrowed slot: not run", i, p->va);
			continue;
		}
		c->sent[c->nsent++] = i;
	}
	return (0);
}

/*
 * A guest job: is ip (L2's RIP at the exit) where probe pr may stop on
 * its own account?  At its stub's access instruction (a 32-bit read's
 * second load too), or for a fetch at va itself (the call completed and
 * the fetch of its target faulted).  Errors: none.
 */
static int
guest_ip_ok(const bctx_t *c, const probe_t *pr, uint64_t ip)
{
	uint64_t set = c->lbase + c->hdr.gstub[BGS_SET(c->kind == BK_SVM,
	    pr->cpl == 3, c->glegacy)] + (uint64_t)pr->op * BG_STUB;
	uint64_t va = pr->va;

	if (c->glegacy) {
		ip &= 0xffffffffull;
		va &= 0xffffffffull;
		set &= 0xffffffffull;
	}
	if (ip == set + BG_ACCESS)
		return (1);
	if (pr->op == PROBE_READ && c->glegacy)
		return (ip == set + BG_ACCESS + 2);
	return (pr->op == PROBE_FETCH && ip == va);
}

/*
 * A guest job: the result of probe pr (number i) from L1's record r.
 * The hypercall is PROBE_OK; L2's intercepted #PF PROBE_PF (error code
 * the exit's, cr2 the linear address: VMX's qualification, SVM's
 * EXITINFO2), #GP PROBE_GP, another exception PROBE_OTHER with its
 * vector; an EPT violation, misconfiguration or NPF as in a nested job,
 * now also from the guest's own walk (qual tells), cr2 the GPA; any
 * other exit PROBE_OTHER with the exit reason or code.  An exit that is
 * not at the probe's access (the engine's own code or stack faulted), or
 * at a GPA of the engine's own, is PROBE_NOTRUN (noted).  Errors: none.
 */
static void
guest_result(bctx_t *c, size_t i, const probe_t *pr, const uint8_t *r)
{
	engine_job_t *job = c->job;
	probe_result_t *res = &job->results[i];
	uint32_t reason = eget32(r + BRS_REASON);
	uint64_t qual = eget64(r + BRS_QUAL), gpa = eget64(r + BRS_GPA);
	uint64_t info = eget64(r + BRS_INFO), ip = eget64(r + BRS_RIP);
	int exc = -1, nested = 0;

	if (c->kind == BK_VMX) {
		switch (reason & 0xffff) {
		case VMX_EXIT_VMCALL:
			res->outcome = PROBE_OK;
			break;
		case VMX_EXIT_EXCEPTION:
			exc = (int)(info & 0xff);
			res->error_code = (info & (1u << 11)) ?
			    eget32(r + BRS_ERROR) : 0;
			res->cr2 = qual;
			break;
		case VMX_EXIT_EPT_VIOL:
			res->outcome = PROBE_EPT_VIOLATION;
			res->error_code = (uint32_t)qual;
			res->qual = qual;
			res->cr2 = gpa;
			nested = 1;
			break;
		case VMX_EXIT_EPT_MISC:
			res->outcome = PROBE_EPT_MISCONFIG;
			res->cr2 = gpa;
			nested = 1;
			break;
		default:
			res->outcome = PROBE_OTHER;
			res->vector = reason;
			res->error_code = (uint32_t)info;
			res->qual = qual;
			break;
		}
	} else {
		switch (reason) {
		case SVM_EXIT_VMMCALL:
			res->outcome = PROBE_OK;
			break;
		case SVM_EXIT_NPF:
			res->outcome = PROBE_NPF;
			res->error_code = (uint32_t)qual;
			res->qual = qual;
			res->cr2 = gpa;
			nested = 1;
			break;
		default:
			if (reason >= SVM_EXIT_EXCP && reason < SVM_EXIT_EXCP +
			    32) {
				exc = (int)(reason - SVM_EXIT_EXCP);
				res->error_code = (uint32_t)qual;
				res->cr2 = gpa;
				break;
			}
			res->outcome = PROBE_OTHER;
			res->vector = reason;
			res->error_code = (uint32_t)info;
			res->qual = qual;
			break;
		}
	}
	if (exc >= 0) {
		res->vector = (unsigned)exc;
		res->outcome = exc == 14 ? PROBE_PF : exc == 13 ? PROBE_GP :
		    PROBE_OTHER;
		if (exc != 14)
			res->cr2 = 0;
		else if (c->glegacy)
			res->cr2 &= 0xffffffffull;
	} else if (res->outcome == PROBE_OK) {
		if (pr->op == PROBE_READ)
			res->value = c->glegacy ? (eget64(r + BRS_VALUE) &
			    0xffffffffull) | eget64(r + BRS_RCX) << 32 :
			    eget64(r + BRS_VALUE);
		return;
	}
	if (!guest_ip_ok(c, pr, ip) || (nested && gpa >= c->slot_va &&
	    gpa - c->slot_va < GUEST_AREA)) {
		enote(job, "bochs: probe %zu (va %#" PRIx64 ", cpl %u) stopped "
		    "(exit %#x, qualification %#" PRIx64 ", GPA %#" PRIx64
		    ") at %#" PRIx64 ", not at its access: do the guest's "
		    "entries above the guest slot (and the host's under them) "
		    "let the engine's code at %#" PRIx64 " run? not run", i,
		    pr->va, pr->cpl, reason, qual, gpa, ip, c->lbase);
		memset(res, 0, sizeof (*res));
		res->outcome = PROBE_NOTRUN;
		return;
	}
	if (res->outcome == PROBE_OTHER && exc < 0)
		enote(job, "bochs: probe %zu (va %#" PRIx64 ") ended in VM "
		    "exit %#x (interruption info %#" PRIx64 ", L2 RIP %#" PRIx64
		    ")", i, pr->va, reason, info, ip);
}

/*
 * The result of probe pr from L1's record r: a VM exit that tells the
 * outcome, or PROBE_NOTRUN (noted) when the exit is not about the
 * probe's own guest-physical page.  Errors: none.
 */
static void
probe_result(bctx_t *c, size_t i, const probe_t *pr, const uint8_t *r)
{
	engine_job_t *job = c->job;
	probe_result_t *res = &job->results[i];
	uint32_t reason = eget32(r + BRS_REASON);
	uint64_t qual = eget64(r + BRS_QUAL), gpa = eget64(r + BRS_GPA);
	int own = (gpa & ~(PAGE - 1)) == (pr->va & ~(PAGE - 1));

	memset(res, 0, sizeof (*res));
	if (eget32(r + BRS_RAN) == 0) {
		res->outcome = PROBE_NOTRUN;
		return;
	}
	if (c->guest) {
		guest_result(c, i, pr, r);
		return;
	}
	if (c->kind == BK_VMX) {
		switch (reason & 0xffff) {
		case VMX_EXIT_VMCALL:
			res->outcome = PROBE_OK;
			if (pr->op == PROBE_READ)
				res->value = eget64(r + BRS_VALUE);
			return;
		case VMX_EXIT_EPT_VIOL:
			if (!own || !(qual & VMX_QUAL_GLA_XLATE))
				break;
			res->outcome = PROBE_EPT_VIOLATION;
			res->error_code = (uint32_t)qual;
			res->qual = qual;
			res->cr2 = gpa;
			return;
		case VMX_EXIT_EPT_MISC:
			if (!own)
				break;
			res->outcome = PROBE_EPT_MISCONFIG;
			res->cr2 = gpa;
			return;
		default:
			res->outcome = PROBE_OTHER;
			res->vector = reason;
			res->error_code = (uint32_t)eget64(r + BRS_INFO);
			res->qual = qual;
			res->cr2 = gpa;
			enote(job, "bochs: probe %zu (GPA %#" PRIx64
			    ") ended in VM exit %u (interruption info %#"
			    PRIx64 ", L2 RIP %#" PRIx64 ")", i, pr->va, reason,
			    eget64(r + BRS_INFO), eget64(r + BRS_RIP));
			return;
		}
	} else {
		switch (reason) {
		case SVM_EXIT_VMMCALL:
			res->outcome = PROBE_OK;
			if (pr->op == PROBE_READ)
				res->value = eget64(r + BRS_VALUE);
			return;
		case SVM_EXIT_NPF:
			if (!own || !(qual & SVM_NPF_FINAL))
				break;
			res->outcome = PROBE_NPF;
			res->error_code = (uint32_t)qual;
			res->qual = qual;
			res->cr2 = gpa;
			return;
		default:
			res->outcome = PROBE_OTHER;
			res->vector = reason;
			res->error_code = (uint32_t)eget64(r + BRS_INFO);
			res->qual = qual;
			res->cr2 = gpa;
			enote(job, "bochs: probe %zu (GPA %#" PRIx64
			    ") ended in #VMEXIT %#x (EXITINTINFO %#" PRIx64
			    ", L2 RIP %#" PRIx64 ")", i, pr->va, reason,
			    eget64(r + BRS_INFO), eget64(r + BRS_RIP));
			return;
		}
	}
	res->outcome = PROBE_NOTRUN;
	enote(job, "bochs: probe %zu (GPA %#" PRIx64 ") stopped at GPA %#"
	    PRIx64 " (exit %#x, qualification %#" PRIx64 "): an access of "
	    "L2's own (its code, stack or tables, through the image's "
	    "entries above the slot), not the probe's: not run", i, pr->va,
	    gpa, reason, qual);
}

/* ---------------- the run's files ---------------- */

/* pwrite all of it, or -1.  Errors: -1 (errno). */
static int
pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return (0);
}

/* pread all of it, or -1.  Errors: -1 (errno, or EIO when short). */
static int
pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return (0);
}

/* Sectors that hold bytes.  Errors: none. */
static uint64_t
sectors(uint64_t bytes)
{
	return ((bytes + SECT - 1) / SECT);
}

/*
 * The disk layout, in sectors (the area's parameters need it).
 * Errors: none.
 */
static void
lay_out_disk(bctx_t *c)
{
	c->lba_status = BA_LOAD_END / SECT;
	c->lba_index = c->lba_status + PAGE / SECT;
	c->lba_data = c->lba_index + sectors(c->nruns * 8);
	c->lba_probes = c->lba_data + c->ndata * (PAGE / SECT);
	c->lba_results = c->lba_probes + sectors(c->nsent * BPROBE_SIZE);
	c->lba_after = c->lba_results + sectors(c->nsent * BRS_SIZE);
	c->nsect = c->lba_after + c->ndata * (PAGE / SECT);
	/* whole cylinders, so that Bochs takes the image's geometry */
	c->nsect = (c->nsect + SECTS_PER_CYL - 1) / SECTS_PER_CYL *
	    SECTS_PER_CYL;
}

/*
 * Write the disk image: the area, the run index, the data pages, the
 * probes; the rest reads as zeros.  0, or -1 (errno).  Errors: -1.
 */
static int
write_disk(bctx_t *c)
{
	const engine_job_t *job = c->job;
	uint8_t buf[PAGE], *pb = NULL;
	uint64_t at;
	int fd, rc = -1;

	if ((fd = open(c->disk, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0)
		return (-1);
	if (ftruncate(fd, (off_t)(c->nsect * SECT)) != 0 ||
	    pwrite_all(fd, c->area, BA_LOAD_END, 0) != 0 ||
	    pwrite_all(fd, c->runs, c->nruns * 8, c->lba_index * SECT) != 0)
		goto out;
	at = c->lba_data * SECT;
	for (size_t r = 0; r < c->nruns; r++) {
		uint64_t pa = c->runs[r] & ~(PAGE - 1);
		uint64_t n = c->runs[r] & BR_COUNT;

		if (c->runs[r] & BR_ZERO)
			continue;
		for (uint64_t k = 0; k < n; k++, at += PAGE) {
			(void) image_read((void *)job->img, pa + k * PAGE, buf,
			    PAGE);
			if (pwrite_all(fd, buf, PAGE, at) != 0)
				goto out;
		}
	}
	if (c->nsent > 0) {
		if ((pb = calloc(c->nsent, BPROBE_SIZE)) == NULL)
			goto out;
		for (size_t i = 0; i < c->nsent; i++) {
			const probe_t *p = &job->probes[c->sent[i]];

			eput64(pb + i * BPROBE_SIZE, p->va);
			eput32(pb + i * BPROBE_SIZE + 8, (uint32_t)p->op);
			eput32(pb + i * BPROBE_SIZE + 12, p->cpl);
		}
		if (pwrite_all(fd, pb, c->nsent * BPROBE_SIZE,
		    c->lba_probes * SECT) != 0)
			goto out;
	}
	rc = 0;
out:
	free(pb);
	if (close(fd) != 0)
		rc = -1;
	return (rc);
}

/* Write a whole file, or -1 (errno).  Errors: -1. */
static int
write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int rc;

	if (fd < 0)
		return (-1);
	rc = pwrite_all(fd, buf, len, 0);
	if (close(fd) != 0)
		rc = -1;
	return (rc);
}

/* The ROM: the piece under the reset vector, patched.  Errors: -1. */
static int
write_rom(bctx_t *c)
{
	uint8_t *rom = calloc(1, BROM_SIZE);
	int rc;

	if (rom == NULL)
		return (-1);
	memcpy(rom + BROM_AT, engine_bochs_rom, BROM_PIECE);
	eput32(rom + BROM_AT + BROM_DEST, (uint32_t)c->job->guest_pa);
	eput32(rom + BROM_AT + BROM_NSECT, BA_LOAD_END / SECT);
	eput32(rom + BROM_AT + BROM_ENTRY,
	    (uint32_t)(c->job->guest_pa + c->hdr.entry32));
	rc = write_file(c->rom, rom, BROM_SIZE);
	free(rom);
	return (rc);
}

/*
 * The bochsrc of the run and the debugger's commands.  Why each option:
 * the top of the file.  Errors: -1 (errno).
 */
static int
write_config(bctx_t *c)
{
	char rc[4 * PATH_MAX + 1024];
	int n;

	n = snprintf(rc, sizeof (rc),
	    "display_library: %s\n"
	    "memory: guest=%" PRIu64 ", host=%" PRIu64 "\n"
	    "romimage: file=\"%s\", address=0xffff0000\n"
	    "cpu: model=bx_generic, count=1, ips=100000000, "
	    "reset_on_triple_fault=0, ignore_bad_msrs=0\n"
	    "cpuid: x86_64=1, 1g_pages=%d, simd=avx512, xsave=1, "
	    "apic=x2apic, smep=1, smap=1, %s\n"
	    "pci: enabled=1, chipset=i440fx\n"
	    "ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14\n"
	    "ata0-master: type=disk, path=\"%s\", mode=flat\n"
	    "clock: sync=none, time0=1\n"
	    "log: \"%s\"\n"
	    "panic: action=fatal\n"
	    "error: action=%s\n"
	    "info: action=ignore\n"
	    "debug: action=ignore\n"
	    "port_e9_hack: enabled=1\n"
	    "plugin_ctrl: speaker=0\n"
	    "sound: waveoutdrv=dummy\n"
	    "mouse: enabled=0\n",
	    c->display, c->job->ram_size >> 20, c->job->ram_size >> 20, c->rom,
	    !c->no1g, c->kind == BK_VMX ? "vmx=2, svm=0" : "vmx=0, svm=1",
	    c->disk, c->log, c->keep ? "report" : "ignore");
	if (n < 0 || (size_t)n >= sizeof (rc)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if (write_file(c->rc, rc, (size_t)n) != 0)
		return (-1);
	return (write_file(c->dbg, "continue\n", 9));
}

/*
 * The environment of the run: ours, with TERM for the term display;
 * malloc'd (the strings are environ's), or NULL out of memory.
 * Errors: NULL.
 */
static char **
child_env(void)
{
	extern char **environ;
	size_t n = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 2, sizeof (*env))) == NULL)
		return (NULL);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "TERM=", 5) != 0)
			env[k++] = environ[i];
	env[k++] = (char *)"TERM=dumb";
	env[k] = NULL;
	return (env);
}

/*
 * Remove the run's files and directory (whatever of them exists; all
 * kept with HTABLE_BOCHS_KEEP).  Errors: none.
 */
static void
cleanup(bctx_t *c)
{
	if (c->dir[0] == '\0' || c->keep)
		return;
	(void) unlink(c->disk);
	(void) unlink(c->rom);
	(void) unlink(c->rc);
	(void) unlink(c->dbg);
	(void) unlink(c->log);
	(void) unlink(c->out);
	{
		char path[PATH_MAX + 8];

		(void) snprintf(path, sizeof (path), "%s/err", c->dir);
		(void) unlink(path);
		/* Bochs's lock on the disk image, left when it was killed */
		(void) snprintf(path, sizeof (path), "%s.lock", c->disk);
		(void) unlink(path);
	}
	(void) rmdir(c->dir);
}

/* ---------------- after the run ---------------- */

/*
 * Why the run did not finish: L1's error line, else the log's last
 * panic, in the note.  Errors: none.
 */
static void
explain_failure(bctx_t *c, int st)
{
	engine_job_t *job = c->job;
	char line[256], why[256], how[32];
	unsigned code = 0;
	uint64_t a = 0, b = 0;

	find_line(c->out, "htbochs: error", 0, line, sizeof (line));
	/* what Bochs said about a refused VM entry, if anything */
	find_line(c->log, "VMFAIL", 1, why, sizeof (why));
	if (why[0] == '\0')
		find_line(c->log, "VMENTER FAIL", 1, why, sizeof (why));
	if (why[0] == '\0')
		find_line(c->log, "VMRUN", 1, why, sizeof (why));
	if (line[0] != '\0' && sscanf(line, "htbochs: error %x %" SCNx64
	    " %" SCNx64, &code, &a, &b) == 3) {
		static const char *const what[] = {
			"?", "the disk failed (status, sector)",
			"the CPU lacks VMX with EPT or SVM with nested paging",
			"VMXON failed (RFLAGS)",
			"VMCLEAR or VMPTRLD failed (RFLAGS)",
			"VMWRITE failed (field, VM-instruction error)",
			"a VMX control the engine needs is not allowed "
			    "(field, wanted)",
			"VM entry failed (VM-instruction error; 7: a control "
			    "field, e.g. the EPTP, is invalid)",
			"VM entry failed on L2's state (exit reason, "
			    "qualification)",
			"L1 took an exception (vector, RIP)",
			"VMRUN refused the VMCB (exit code)"
		};

		fail(job, "bochs: L1 stopped: %s: %#" PRIx64 ", %#" PRIx64
		    "%s%s", what[code < sizeof (what) / sizeof (what[0]) ?
		    code : 0], a, b, why[0] != '\0' ? "; log: " : "", why);
		return;
	}
	find_line(c->log, ">>PANIC<<", 1, line, sizeof (line));
	if (st == -3)
		(void) snprintf(how, sizeof (how), "Bochs died of a signal");
	else
		(void) snprintf(how, sizeof (how), "exit status %d", st);
	fail(job, "bochs: the run ended (%s) before every probe ran%s%s%s%s",
	    how, line[0] != '\0' ? "; log: " : "", line,
	    why[0] != '\0' ? "; " : "", why);
}

/*
 * Read back the status page, the results and the data pages; fill the
 * results and mem_after.  ENGINE_OK, or ENGINE_FAILED with a note.
 * Errors: ENGINE_FAILED.
 */
static int
read_back(bctx_t *c, int st)
{
	engine_job_t *job = c->job;
	uint64_t size = job->img->size, inram;
	uint8_t status[PAGE], *res = NULL, *m = NULL;
	int fd, rc = ENGINE_FAILED;

	if ((fd = open(c->disk, O_RDONLY)) < 0 ||
	    pread_all(fd, status, PAGE, c->lba_status * SECT) != 0) {
		fail(job, "bochs: cannot read back %s: %s", c->disk,
		    strerror(errno));
		goto out;
	}
	if (eget32(status + BS_DONE) != BG_DONE ||
	    eget64(status + BS_NDONE) != c->nsent) {
		explain_failure(c, st);
		goto out;
	}
	if ((eget32(status + BS_CPUID8) & 0xff) != BOCHS_PA_BITS)
		enote(job, "bochs: the CPU's MAXPHYADDR is %u, not the %u the "
		    "engine assumes: predictions may differ",
		    eget32(status + BS_CPUID8) & 0xff, BOCHS_PA_BITS);
	/* (whole pages: the image's last data page may pass its end) */
	inram = size < job->ram_size ? size : job->ram_size;
	if ((res = malloc(c->nsent * BRS_SIZE + 1)) == NULL ||
	    (m = engine_mem_after(job, inram)) == NULL) {
		fail(job, "bochs: out of memory");
		goto out;
	}
	if (pread_all(fd, res, c->nsent * BRS_SIZE,
	    c->lba_results * SECT) != 0) {
		fail(job, "bochs: cannot read back the results: %s",
		    strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < c->nsent; i++)
		probe_result(c, c->sent[i], &job->probes[c->sent[i]],
		    res + i * BRS_SIZE);

	/*
	 * Memory after the run: the image beyond RAM (engine_mem_after put
	 * it there), markers in RAM but the image's pages, which come back
	 * from the disk.
	 */
	for (uint64_t pa = 0; pa < inram; pa += PAGE) {
		int data = image_is_data(job->img, pa);

		if (pa >= job->guest_pa &&
		    pa < job->guest_pa + GUEST_AREA) {
			/* the area: what the host built (L1's state is not
			   read back) */
			if (pa - job->guest_pa < BA_LOAD_END)
				memcpy(m + pa, c->area + (pa - job->guest_pa),
				    PAGE);
		} else if (!data) {
			for (uint64_t w = 0; w < PAGE; w += 8)
				eput64(m + pa + w, MARKER(pa + w));
		}
		/* data in RAM: zeros (calloc), or from the disk below */
	}
	{
		uint64_t at = c->lba_after * SECT;

		for (size_t r = 0; r < c->nruns; r++) {
			uint64_t pa = c->runs[r] & ~(PAGE - 1);
			uint64_t n = c->runs[r] & BR_COUNT;

			if (c->runs[r] & BR_ZERO)
				continue;
			if (pread_all(fd, m + pa, n * PAGE, at) != 0) {
				fail(job, "bochs: cannot read back the data "
				    "pages: %s", strerror(errno));
				goto out;
			}
			at += n * PAGE;
		}
	}
	/* The borrowed slot goes back to the image's value. */
	(void) image_read((void *)job->img, c->slot_pa, m + c->slot_pa, 8);
	if (c->guest && job->gslot_pa + c->gpte <= size)
		(void) image_read((void *)job->img, job->gslot_pa,
		    m + job->gslot_pa, c->gpte);
	job->mem_after = m;
	m = NULL;
	rc = ENGINE_OK;
out:
	if (fd >= 0)
		(void) close(fd);
	free(res);
	engine_mem_free(job, m);
	return (rc);
}

/*
 * Bochs's version from its banner on stdout ("... Emulator 2.7") into
 * c->version; empty when it cannot be told.  Errors: none.
 */
static void
bochs_version(bctx_t *c)
{
	char line[256];
	unsigned maj, min;

	find_line(c->out, "Bochs x86 Emulator ", 0, line, sizeof (line));
	if (sscanf(line, "Bochs x86 Emulator %u.%u", &maj, &min) == 2)
		(void) snprintf(c->version, sizeof (c->version), " %u.%u",
		    maj, min);
}

/* Make the run's directory and name its files.  Errors: -1 (errno). */
static int
make_dir(bctx_t *c)
{
	const char *keep = getenv("HTABLE_BOCHS_KEEP");
	const char *tmp = getenv("TMPDIR");

	if (keep != NULL && *keep != '\0') {
		(void) snprintf(c->dir, sizeof (c->dir), "%s", keep);
		if (mkdir(c->dir, 0700) != 0 && errno != EEXIST)
			return (-1);
		c->keep = 1;
	} else {
		(void) snprintf(c->dir, sizeof (c->dir),
		    "%s/htable-bochs.XXXXXX", tmp != NULL && *tmp != '\0' ?
		    tmp : "/tmp");
		if (mkdtemp(c->dir) == NULL) {
			c->dir[0] = '\0';
			return (-1);
		}
	}
	(void) snprintf(c->disk, sizeof (c->disk), "%s/disk", c->dir);
	(void) snprintf(c->rom, sizeof (c->rom), "%s/rom", c->dir);
	(void) snprintf(c->rc, sizeof (c->rc), "%s/bochsrc", c->dir);
	(void) snprintf(c->dbg, sizeof (c->dbg), "%s/debugger", c->dir);
	(void) snprintf(c->log, sizeof (c->log), "%s/log", c->dir);
	(void) snprintf(c->out, sizeof (c->out), "%s/out", c->dir);
	return (0);
}

/*
 * Start Bochs on the run's files and wait for it (bounded).  Bochs's
 * builds differ: Debian's has no "nogui" display but "term" (package
 * bochs-term) and the internal debugger (which needs the -rc file to
 * run at all); others have "nogui" and no debugger, and refuse -rc.
 * The first try is Debian's way; a refusal in Bochs's early messages
 * (its stderr) makes the next try drop what it refused.  ENGINE_OK, or
 * ENGINE_ABSENT (no display Bochs can run headless), ENGINE_FAILED with
 * a note.  Errors: ENGINE_ABSENT, ENGINE_FAILED.
 */
static int
run_bochs(bctx_t *c, int *r_st)
{
	engine_job_t *job = c->job;
	char err[PATH_MAX], line[256];
	char *argv[8];
	char **env = child_env();
	/* generous: a start takes ~0.3 s, filling RAM ~7 s per GiB */
	long ms = 60000 + (long)(job->ram_size >> 20) * 30 +
	    (long)c->nsent * 2 + (long)c->ndata * 2;
	const char *limit = getenv("HTABLE_BOCHS_TIMEOUT");
	int st = -1, use_rc = 1;

	if (limit != NULL && atol(limit) > 0)
		ms = atol(limit) * 1000;
	if (env == NULL) {
		fail(job, "bochs: out of memory");
		return (ENGINE_FAILED);
	}
	(void) snprintf(err, sizeof (err), "%s/err", c->dir);
	c->display = "term, options=\"hideIPS\"";
	for (int try = 0; try < 3; try++) {
		int ac = 0;

		if (write_config(c) != 0) {
			fail(job, "bochs: cannot write %s: %s", c->rc,
			    strerror(errno));
			free(env);
			return (ENGINE_FAILED);
		}
		argv[ac++] = c->bochs;
		argv[ac++] = (char *)"-q";
		argv[ac++] = (char *)"-f";
		argv[ac++] = c->rc;
		if (use_rc) {
			argv[ac++] = (char *)"-rc";
			argv[ac++] = c->dbg;
		}
		argv[ac] = NULL;
		st = erun_bounded(argv, env, c->out, err, ms);
		if (st < 0)
			break;
		find_line(err, "display library", 0, line, sizeof (line));
		if (line[0] != '\0' && strstr(line, "not available") != NULL &&
		    strncmp(c->display, "nogui", 5) != 0) {
			c->display = "nogui";
			continue;
		}
		find_line(err, "'-rc' was not understood", 0, line,
		    sizeof (line));
		if (line[0] != '\0' && use_rc) {
			use_rc = 0;
			continue;
		}
		break;
	}
	free(env);
	*r_st = st;
	if (st == -2) {
		fail(job, "bochs: the run did not finish within %ld s (killed)",
		    ms / 1000);
		return (ENGINE_FAILED);
	}
	if (st == -1) {
		fail(job, "bochs: cannot run %s: %s", c->bochs,
		    strerror(errno));
		return (ENGINE_FAILED);
	}
	find_line(err, "display library", 0, line, sizeof (line));
	if (line[0] != '\0' && strstr(line, "not available") != NULL) {
		fail(job, "bochs: this Bochs has neither the \"term\" display "
		    "(Debian: bochs-term) nor \"nogui\", so it cannot run "
		    "headless");
		return (ENGINE_ABSENT);
	}
	return (ENGINE_OK);
}

/*
 * The engine (engine.h): check the job, lay the image's pages, the
 * probes and the area out on a disk image, run Bochs on it (bounded),
 * read the results and the memory after the run back.  Never prints.
 * Errors: ENGINE_ABSENT (no bochs on PATH, or no headless display),
 * ENGINE_CANNOT (a mode, EPTP, slot, area or size it cannot take),
 * ENGINE_FAILED (files, Bochs or L1 failed; the note says how).
 */
/*
 * The job's engine field: Bochs, its version (may be empty), the CPU's
 * virtualization, the mode, and a guest job's guest mode, as the QEMU
 * engine words it.  Errors: none.
 */
static void
engine_name(bctx_t *c, const char *version)
{
	engine_job_t *job = c->job;

	(void) snprintf(job->engine, sizeof (job->engine),
	    "bochs%s (bx_generic, %s), %s%s%s", version, c->kind == BK_VMX ?
	    "vmx ept" : "svm npt", ht_mode_name(job->mode), job->guest ?
	    ", guest " : "", job->guest ? ht_mode_name(job->guest_mode) : "");
}

int
engine_bochs(engine_job_t *job)
{
	bctx_t *c;
	int rc, st = 0;

	job->note[0] = '\0';
	job->mem_after = NULL;
	(void) snprintf(job->engine, sizeof (job->engine), "bochs, %s",
	    ht_mode_name(job->mode) != NULL ? ht_mode_name(job->mode) : "?");
	if ((c = calloc(1, sizeof (*c))) == NULL) {
		enote(job, "bochs: out of memory");
		return (ENGINE_FAILED);
	}
	c->job = job;
	if (efind_on_path(BOCHS_BIN, c->bochs, sizeof (c->bochs)) != 0) {
		enote(job, "bochs: %s is not installed (Debian: bochs, "
		    "bochsbios, bochs-term)", BOCHS_BIN);
		free(c);
		return (ENGINE_ABSENT);
	}
	memcpy(&c->hdr, engine_bochs_guest, sizeof (c->hdr));
	if (c->hdr.magic != BG_HDRMAGIC ||
	    (size_t)(engine_bochs_guest_end - engine_bochs_guest) >
	    BA_PARAMS) {
		enote(job, "bochs: the embedded guest code is damaged");
		free(c);
		return (ENGINE_FAILED);
	}
	if (job->img == NULL || (job->nprobes > 0 && (job->probes == NULL ||
	    job->results == NULL))) {
		enote(job, "bochs: the job has no image, probes or results");
		free(c);
		return (ENGINE_CANNOT);
	}
	c->no1g = job->cpu != NULL && (job->cpu->flags & HT_CPU_NO1G);
	if ((rc = check_job(c)) != ENGINE_OK ||
	    (job->guest && (rc = check_guest(c)) != ENGINE_OK)) {
		free(c);
		return (rc);
	}
	engine_name(c, "");
	rc = ENGINE_FAILED;
	if ((c->area = calloc(1, BA_LOAD_END)) == NULL ||
	    build_runs(c) != 0 || choose_probes(c) != 0) {
		enote(job, "bochs: out of memory");
		goto out;
	}
	lay_out_disk(c);
	if (c->nsect >= (1ull << 28)) {
		enote(job, "bochs: %" PRIu64 " data pages and %zu probes do "
		    "not fit a disk L1 can address (LBA28)", c->ndata,
		    c->nsent);
		rc = ENGINE_CANNOT;
		goto out;
	}
	build_area(c);
	if (eget64(c->area + BP_NVMCS) > BVMCS_MAX) {
		enote(job, "bochs: internal: the VMCS table has %" PRIu64
		    " entries, more than %u", eget64(c->area + BP_NVMCS),
		    BVMCS_MAX);
		goto out;
	}
	if (make_dir(c) != 0) {
		fail(job, "bochs: cannot make a directory %s: %s", c->dir,
		    strerror(errno));
		goto out;
	}
	if (write_disk(c) != 0 || write_rom(c) != 0) {
		fail(job, "bochs: cannot write the run's files in %s: %s",
		    c->dir, strerror(errno));
		goto out;
	}
	if ((rc = run_bochs(c, &st)) != ENGINE_OK)
		goto out;
	bochs_version(c);
	engine_name(c, c->version);
	rc = read_back(c, st);
out:
	cleanup(c);
	free(c->area);
	free(c->runs);
	free(c->sent);
	free(c->seenset);
	free(c);
	return (rc);
}

/*
 * The CPU a prediction for Bochs must assume: MAXPHYADDR 40 whatever was
 * asked (Bochs's is fixed when it is built); 1 GiB pages as asked (the
 * run sets CPUID's 1g_pages accordingly, which EPT's capability bit 17
 * and the nested walk follow).  EPT: no mode-based execute control
 * (Bochs 2.7 has none), execute-only pages always allowed
 * (IA32_VMX_EPT_VPID_CAP bit 0 is set, so an execute-only entry is never
 * a misconfiguration there).  Nested paging: only NXE and NO1G apply.
 * Errors: none.
 */
static void
bochs_cpu(const ht_geometry_t *g, const ht_cpu_t *asked, ht_cpu_t *r_cpu)
{
	*r_cpu = *asked;
	r_cpu->pa_bits = BOCHS_PA_BITS;
	if (g->mode == HT_MODE_EPT4 || g->mode == HT_MODE_EPT5) {
		r_cpu->flags &= ~HT_CPU_EPT_MBEC;
		r_cpu->flags |= HT_CPU_EPT_XONLY;
	} else {
		r_cpu->flags &= ~(HT_CPU_EPT_MBEC | HT_CPU_EPT_XONLY);
	}
}

/*
 * Bochs 2.7's documented deviations (each shown by
 * tests/hw/test_engine_bochs.sh or seen with patched images), for a
 * probe whose outcome got differs from the prediction want; the rest
 * of the outcome must still agree.
 *  - An NPF of a fetch has I/D (bit 4) in EXITINFO1 also when the host's
 *    EFER.NXE is clear (paging.cc nested_page_fault sets it for every
 *    fetch); the APM (vol. 2, 8.4.2, whose format EXITINFO1 takes)
 *    defines I/D only with NXE on.
 *  - Bit 12 of an EPT entry that maps a 2 MiB or 1 GiB page is ignored
 *    (translate_guest_physical masks it off with the PAT-bit mask of
 *    ordinary paging); the SDM (vol. 3C, EPT translation, the formats of
 *    such PDEs and PDPTEs) reserves bits 20:12 and 29:12, a
 *    misconfiguration.
 *  - Bit 8 of a PML4E of the nested tables is ignored (the nested walk
 *    checks only the physical-address bits); the APM (vol. 2, 5.3.3)
 *    makes it must-be-zero, a reserved-bit NPF.
 *  - A guest job with EPT A/D on: an EPT violation of the guest's own
 *    walk (an access to a guest paging-structure entry, which EPT A/D
 *    makes a write) has bit 1 (write) but not bit 0 (read) in the exit
 *    qualification; the SDM (vol. 3C, table "Exit Qualification for EPT
 *    Violations", bits 0 and 1) sets both for such an access.  Seen on
 *    every walk violation of tests/hw/test_verify_nested.sh's "guest on
 *    ept4" layout (a guest page directory the EPT maps read-only):
 *    qualification 0xa (0x8a with bit 7), the library 0xb.
 * Errors: none (NULL: no known deviation explains the difference).
 */
static const char *
bochs_quirk(const probe_t *p, const ht_access_t *want,
    const probe_result_t *got)
{
	const ht_scan_step_t *last = want->nsteps > 0 ?
	    &want->step[want->nsteps - 1] : NULL;

	if (want->fault == HT_FAULT_EPT_VIOLATION &&
	    got->outcome == PROBE_EPT_VIOLATION &&
	    !(want->error_code & HT_EPTQ_FINAL) &&
	    (want->error_code & (HT_EPTQ_READ | HT_EPTQ_WRITE)) ==
	    (HT_EPTQ_READ | HT_EPTQ_WRITE) &&
	    (got->qual & 0x1ff) == (want->error_code & ~HT_EPTQ_READ))
		return ("Bochs 2.7: an EPT violation of the guest's table "
		    "walk with EPT A/D has W without R in the "
		    "qualification, where the SDM sets both");
	if (p->op == PROBE_FETCH && got->outcome == PROBE_NPF &&
	    (want->fault == HT_FAULT_PF || want->fault == HT_FAULT_NPF) &&
	    !(want->error_code & HT_PF_I) &&
	    (got->error_code & 0x3f) == (want->error_code | HT_PF_I) &&
	    got->cr2 == p->va)
		return ("Bochs 2.7: I/D set in an NPF of a fetch without "
		    "EFER.NXE, which APM 8.4.2 leaves undefined");
	if (want->fault == HT_FAULT_EPT_MISCONFIG && last != NULL &&
	    (last->level == 1 || last->level == 2) &&
	    (last->pte & EPT_PS) && (last->pte & 0x1000) &&
	    (last->pte & ((1ull << (12 + 9 * last->level)) - 1) &
	    ~0x1fffull) == 0 && got->outcome != PROBE_EPT_MISCONFIG)
		return ("Bochs 2.7: bit 12 of an EPT 2 MiB/1 GiB leaf "
		    "ignored, which the SDM reserves (misconfiguration)");
	if ((want->fault == HT_FAULT_PF || want->fault == HT_FAULT_NPF) &&
	    (want->error_code & HT_PF_RSVD) && want->nsteps == 1 &&
	    want->step[0].level == 3 && (want->step[0].pte & 0x100) &&
	    !(want->step[0].pte & PTE_PS) &&
	    !(got->outcome == PROBE_NPF && (got->error_code & HT_PF_RSVD)))
		return ("Bochs 2.7: bit 8 of a nested PML4E ignored, which "
		    "APM 5.3.3 makes must-be-zero (reserved-bit NPF)");
	return (NULL);
}

const engine_ops_t engine_bochs_ops = {
	.name = "bochs",
	.modes = ENGINE_MODE(HT_MODE_NPT4) | ENGINE_MODE(HT_MODE_NPT5) |
	    ENGINE_MODE(HT_MODE_EPT4) | ENGINE_MODE(HT_MODE_EPT5),
	.run = engine_bochs,
	.cpu = bochs_cpu,
	.quirk = bochs_quirk,
};
