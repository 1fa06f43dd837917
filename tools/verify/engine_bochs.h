/*
 * engine_bochs.h - the layout shared by engine_bochs.c (the host side) and
 * engine_bochs_guest.S (the code that runs inside Bochs): where in the
 * engine's 2 MiB area each piece lives, the parameter block the host
 * fills in, the layout of the disk both sides exchange data through, and
 * the records written back.  Plain #defines, so that the assembler can
 * include it too; the engine's two C declarations at the end are hidden
 * from it.
 *
 * Area offsets (from guest_pa, host-physical; the nested guest L2 sees
 * the same offsets from slot_va, guest-physical, and at BL2_BASE,
 * linear):
 *
 *	0x000000	code of L1 (the hypervisor) and of L2 (the prober)
 *	0x008000	parameters (host -> L1)
 *	0x008800	the VMCS field table (VMX: field, how, value)
 *	0x009000	L1's GDT, then its TSS
 *	0x00a000	L1's IDT
 *	0x00b000	L1's stack (grows down from 0x00c000)
 *	0x00c000	L1's page tables: PML4, PDPT, 4 PDs (4 GiB, 2 MiB)
 *	0x012000	VMXON region, or SVM's host save area
 *	0x013000	the VMCS, or the VMCB (built by the host)
 *	0x014000	L2's page tables: PML4, PDPT, PD, the window's PT
 *			(a guest job: the guest-format tables the guest
 *			slot links, up to 3, then L2's user stack page)
 *	0x018000	L2's stack (grows down from 0x019000)
 *	0x019000	the second-level subtree linked into the slot
 *	0x01d000	end of what the boot ROM loads from the disk
 *	0x01d000	status page (L1 -> disk)
 *	0x020000	run index buffer (BIDX_CHUNK entries)
 *	0x040000	probe buffer (BPROBE_CHUNK probes)
 *	0x060000	result buffer (BPROBE_CHUNK results)
 *	0x1f0000	SVM: the I/O and MSR permission maps (L1 fills them)
 *
 * The disk (an ATA disk image, 512-byte sectors, read and written by L1
 * with PIO): the area's first BA_LOAD_END bytes at sector 0, then the
 * status page, the run index, the data pages, the probes, and room for
 * the results and for the data pages after the run; the parameter block
 * gives each region's first sector.
 */
#ifndef HTABLE_ENGINE_BOCHS_H
#define HTABLE_ENGINE_BOCHS_H

#define	BA_CODE		0x000000
#define	BA_PARAMS	0x008000
#define	BA_VMCSTAB	0x008800
#define	BA_GDT		0x009000
#define	BA_TSS		0x009100
#define	BA_IDT		0x00a000
#define	BA_STACK_TOP	0x00c000
#define	BA_L1PT		0x00c000	/* PML4, PDPT, PD x 4 */
#define	BA_VMXON	0x012000
#define	BA_VMCS		0x013000
#define	BA_L2PT		0x014000	/* PML4, PDPT, PD, PT */
#define	BA_L2WINPT	0x017000	/* the window's PT */
#define	BA_L2STACK_TOP	0x019000
#define	BA_GPT		0x014000	/* guest job: its tables, up to 3 */
#define	BA_GUSTACK	0x017000	/* guest job: L2's user stack page */
#define	BA_SLOTPT	0x019000	/* up to 4 tables */
#define	BA_LOAD_END	0x01d000
#define	BA_STATUS	0x01d000
#define	BA_INDEX	0x020000
#define	BA_PROBES	0x040000
#define	BA_RESULTS	0x060000
#define	BA_IOPM		0x1f0000	/* SVM: 12 KiB, all ones */
#define	BA_MSRPM	0x1f4000	/* SVM: 8 KiB, all ones */
#define	BA_END		0x200000

#define	BIDX_CHUNK	8192	/* run index entries per read */
#define	BPROBE_CHUNK	8192	/* probes per read/write */
#define	BPROBE_SIZE	16	/* va (8), op (4), cpl (4) */
#define	BVMCS_MAX	128	/* entries of the VMCS field table */
#define	BVMCS_SIZE	16	/* field (4), how (4), value (8) */
/*
 * A run of L2 ends after about this many instructions (a fetch that
 * lands on code other than a marker's `ret`): VMX's preemption timer,
 * SVM's APIC timer (vector BV_TIMER, #VMEXIT(INTR)).
 */
#define	BVMX_TIMER	0x100000
#define	BSVM_TIMER	0x100000
#define	BV_TIMER	0x40
#define	BV_SPURIOUS	0xff

/*
 * L2's linear addresses: a 2 MiB page at BL2_BASE maps the area (its
 * code, stack, tables), and a 4 KiB page at BL2_WINDOW, the window,
 * maps the page of the probe's guest-physical address.
 */
#define	BL2_BASE	0x200000
#define	BL2_WINDOW	0x400000

/* The parameter block, at BA_PARAMS; every field 8 bytes wide. */
#define	BP_MAGIC	(BA_PARAMS + 0x00)	/* BG_MAGIC */
#define	BP_KIND		(BA_PARAMS + 0x08)	/* BK_VMX or BK_SVM */
#define	BP_RAMSIZE	(BA_PARAMS + 0x10)
#define	BP_SLOTPA	(BA_PARAMS + 0x18)	/* the borrowed entry */
#define	BP_SLOTLINK	(BA_PARAMS + 0x20)	/* what it gets */
#define	BP_NRUNS	(BA_PARAMS + 0x28)	/* run index entries */
#define	BP_LBA_INDEX	(BA_PARAMS + 0x30)
#define	BP_LBA_DATA	(BA_PARAMS + 0x38)
#define	BP_NPROBES	(BA_PARAMS + 0x40)
#define	BP_LBA_PROBES	(BA_PARAMS + 0x48)
#define	BP_LBA_RESULTS	(BA_PARAMS + 0x50)
#define	BP_LBA_AFTER	(BA_PARAMS + 0x58)
#define	BP_LBA_STATUS	(BA_PARAMS + 0x60)
#define	BP_CR0		(BA_PARAMS + 0x68)	/* L1's control registers */
#define	BP_CR4		(BA_PARAMS + 0x70)
#define	BP_EFER		(BA_PARAMS + 0x78)
#define	BP_CR3		(BA_PARAMS + 0x80)
#define	BP_NVMCS	(BA_PARAMS + 0x88)	/* VMCS table entries */
#define	BP_GPAMASK	(BA_PARAMS + 0x90)	/* window PTE address bits */
#define	BP_GDTR		(BA_PARAMS + 0xa0)	/* limit (2), base (8) */
#define	BP_IDTR		(BA_PARAMS + 0xb0)
/* A guest job (L2 on the image's guest tables): 0 otherwise */
#define	BP_GUEST	(BA_PARAMS + 0xc0)	/* 1: a guest job */
#define	BP_GSLOTPA	(BA_PARAMS + 0xc8)	/* the guest slot entry */
#define	BP_GSLOTLINK	(BA_PARAMS + 0xd0)	/* what it gets */
#define	BP_GSLOTW	(BA_PARAMS + 0xd8)	/* its width: 4 or 8 */
#define	BP_GLEGACY	(BA_PARAMS + 0xe0)	/* 1: 32-bit L2 code */
#define	BP_GPERPROBE	(BA_PARAMS + 0xe8)	/* 1: BC_GLINK per probe */
/* L1's own variables (the host leaves them zero) */
#define	BP_LAUNCHED	(BA_PARAMS + 0x100)	/* VMX: VMLAUNCH done */
#define	BP_I		(BA_PARAMS + 0x108)	/* probe of the chunk */
#define	BP_N		(BA_PARAMS + 0x110)	/* probes in the chunk */
#define	BP_DONE		(BA_PARAMS + 0x118)	/* probes before it */
#define	BP_AVX512	(BA_PARAMS + 0x120)	/* 1: fill with AVX-512 */
/*
 * A guest job's two contexts (CPL 0, then CPL 3), BC_SIZE bytes each
 * from BP_GCTX: what L1 loads into L2 before each probe.  VMX: BC_CS and
 * BC_SS are the selectors, BC_CSAR and BC_SSAR the access rights; SVM:
 * BC_CS and BC_SS the first 8 bytes of the VMCB's segment (selector,
 * attributes, limit) and BC_CPL the VMCB's CPL.  BC_STUBS is L2's
 * address of the set of stubs (read, write, fetch; BG_STUB apart).
 */
#define	BP_GCTX		(BA_PARAMS + 0x140)
#define	BC_CS		0x00
#define	BC_CSAR		0x08
#define	BC_SS		0x10
#define	BC_SSAR		0x18
#define	BC_STUBS	0x20
#define	BC_RSP		0x28
#define	BC_RFLAGS	0x30
#define	BC_CPL		0x38
#define	BC_GLINK	0x40	/* BP_GPERPROBE: the guest slot's entry */
#define	BC_SIZE		0x48
/* A guest job: the blob's user page (its CPL 3 stubs), an offset */
#define	BG_UPAGE	0x2000
/* A guest job's stub: BG_STUB bytes, its access at BG_ACCESS in it */
#define	BG_STUB		16
#define	BG_ACCESS	2

/*
 * The fill map, at BP_FILLMAP: bit b set: the 2 MiB of RAM at b << 21
 * get markers (the blocks that hold a page some leaf of the image maps;
 * never the area's block).  BFILL_BLOCKS bits: 4 GiB.
 */
#define	BP_FILLMAP	(BA_PARAMS + 0x200)
#define	BFILL_BLOCKS	2048
#define	BFILL_SHIFT	21

#define	BK_VMX		1
#define	BK_SVM		2

#define	BG_MAGIC	0x6f6863625f746822	/* the parameters' */
#define	BG_HDRMAGIC	0x68636f62		/* "boch", the blob's */
#define	BG_DONE		0x656e6f64		/* "done" */

/*
 * A run index entry: a page-aligned host-physical address, with the
 * number of pages in bits 9:0 and BR_ZERO for a run of zero pages (not
 * on the disk: L1 clears them).
 */
#define	BR_COUNT	0x3ff
#define	BR_ZERO		0x400
#define	BR_MAXDATA	32	/* pages of a data run: 256 sectors */

/* The VMCS field table: how L1 gets the value it writes. */
#define	BV_PLAIN	0	/* as it is */
#define	BV_CTLS		1	/* (v | MSR's low half) & its high half;
				   v's low 32 bits are needed, its high
				   32 bits wanted where allowed */
#define	BV_FIXED	2	/* (v | MSR) & MSR + 1 (CR0, CR4) */
#define	BV_AREA		3	/* v + the area's address */

/* A result record (L1 -> disk). */
#define	BRS_RAN		0	/* 4: 1 once the probe ran */
#define	BRS_REASON	4	/* 4: exit reason / SVM exit code */
#define	BRS_QUAL	8	/* exit qualification / EXITINFO1 */
#define	BRS_GPA		16	/* guest-physical address / EXITINFO2 */
#define	BRS_VALUE	24	/* L2's RBX: what a read loaded */
#define	BRS_INFO	32	/* exit interruption info / EXITINTINFO */
#define	BRS_RIP		40	/* L2's RIP at the exit */
#define	BRS_ERROR	48	/* VMX: the exit's interruption error code */
#define	BRS_RCX		56	/* L2's RCX: a 32-bit read's high half */
#define	BRS_SIZE	64

/* The status page (L1 -> disk, at BP_LBA_STATUS). */
#define	BS_DONE		0x00	/* BG_DONE once every probe ran */
#define	BS_NDONE	0x08	/* probes that ran */
#define	BS_VMXBASIC	0x10	/* IA32_VMX_BASIC */
#define	BS_EPTCAP	0x18	/* IA32_VMX_EPT_VPID_CAP */
#define	BS_PROC2	0x20	/* IA32_VMX_PROCBASED_CTLS2 */
#define	BS_CPUID8	0x28	/* CPUID 0x80000008 EAX: MAXPHYADDR */
#define	BS_SVMFEAT	0x30	/* CPUID 0x8000000a EDX */
#define	BS_FEATCTL	0x38	/* IA32_FEATURE_CONTROL as found */

/* L1's error codes (printed on port 0xe9: "htbochs: error C A B"). */
#define	BE_ATA		1	/* the disk said no: status, LBA */
#define	BE_NOVIRT	2	/* no VMX / SVM / EPT / NPT in CPUID */
#define	BE_VMXON	3	/* VMXON failed: RFLAGS */
#define	BE_VMCS		4	/* VMCLEAR / VMPTRLD failed: RFLAGS */
#define	BE_VMWRITE	5	/* VMWRITE failed: field, error */
#define	BE_CTLS		6	/* a control would not stick: field */
#define	BE_ENTRY	7	/* VMLAUNCH/VMRESUME failed: error */
#define	BE_BADGUEST	8	/* VM entry failed: reason, qual */
#define	BE_EXCEPTION	9	/* L1 took an exception: vector, RIP */
#define	BE_VMRUN	10	/* VMRUN failed (VMEXIT_INVALID) */

/* Selectors of L1's GDT (the boot ROM's GDT shares the first two). */
#define	SEL_CODE32	0x08
#define	SEL_DATA	0x10
#define	SEL_CODE64	0x18
#define	SEL_TSS		0x20

/* The boot ROM: 64 KiB at 0xffff0000, its piece at the end. */
#define	BROM_SIZE	0x10000
#define	BROM_AT		0xfe00
#define	BROM_PIECE	0x200
#define	BROM_DEST	0x1d0	/* piece offsets of the patched fields */
#define	BROM_NSECT	0x1d4
#define	BROM_ENTRY	0x1d8

#ifndef __ASSEMBLER__
#include "engine.h"
/*
 * The engine's run function and its operations (engine.h's list of
 * engines names them too once the engine is listed there).
 * Errors: ENGINE_ABSENT, ENGINE_CANNOT, ENGINE_FAILED.
 */
int engine_bochs(engine_job_t *job);
extern const engine_ops_t engine_bochs_ops;
#endif

#endif
