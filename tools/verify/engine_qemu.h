/*
 * engine_qemu.h - the layout shared by engine_qemu.c (the host side) and
 * engine_qemu_guest.S (the code that runs inside QEMU): where in the
 * engine's 2 MiB area each piece lives, the parameter block the host
 * fills in, and the result record the guest writes back.  Only plain
 * #defines, so that the assembler can include it too.
 *
 * Area offsets (from guest_pa physically, from slot_va virtually):
 *
 *	0x000000	guest code (supervisor pages)
 *	0x003000	user-mode probe code (the one U=1 code page)
 *	0x004000	parameters, GDT, TSS
 *	0x005000	IDT
 *	0x006000	kernel stack (grows down from 0x008000)
 *	0x008000	user stack (U=1, grows down from 0x009000)
 *	0x010000	probes (QA_PROBE_SIZE each), then results
 *	0x1f0000	the engine's own page tables
 *
 * In nested paging (npt4, npt5) the same area holds an SVM host (L1,
 * which sees it at its physical address) and its nested guest (L2, which
 * sees it at guest-physical slot_va and runs its stubs at VA = offset):
 *
 *	0x000000	code of both (the same blob)
 *	0x004000	parameters, GDT
 *	0x005000	L1's IDT
 *	0x006000	L1's stack (grows down from 0x008000)
 *	0x008000	L2's stack (grows down from 0x009000, its VA)
 *	0x009000	the VMCB
 *	0x00a000	the host save area (VM_HSAVE_PA)
 *	0x00b000	L2's tables: PML4, PDPT, PD, the PT of its pages, and
 *			the PT whose entry 0 is the window (VA 0x200000)
 *	0x010000	probes, then results
 *	0x1f0000	the nested subtree the slot links (the job's format)
 *	0x1f8000	L1's own tables (the area, identity-mapped)
 *
 * A guest job (L2 on the image's own guest tables) keeps that layout but
 * for L2's tables, and L2 sees the area at the linear address the guest
 * slot gives it (QN_GCTX says where):
 *
 *	0x003000	L2's user stubs (its only U=1 code page)
 *	0x004400	the two contexts L1 enters L2 in (CPL 0, CPL 3)
 *	0x00b000	the guest-format tables the guest slot links (up to
 *			four, the guest slot's level down to the page table)
 *	0x00f000	L2's user stack (U=1, grows down from 0x010000)
 */
#ifndef HTABLE_ENGINE_QEMU_H
#define HTABLE_ENGINE_QEMU_H

#define	QA_CODE		0x000000
#define	QA_UCODE	0x003000
#define	QA_PARAMS	0x004000
#define	QA_GDT		0x004100
#define	QA_TSS		0x004200
#define	QA_IDT		0x005000
#define	QA_KSTACK_TOP	0x008000
#define	QA_USTACK	0x008000
#define	QA_USTACK_TOP	0x009000
#define	QA_PROBES	0x010000
#define	QA_TABLES	0x1f0000
#define	QA_END		0x200000

#define	QA_PROBE_SIZE	16	/* va (8), op (4), cpl (4) */

/* The parameter block, at QA_PARAMS; every field 8 bytes wide. */
#define	QP_IMGCR3	(QA_PARAMS + 0x00)	/* CR3 of the image */
#define	QP_MYCR3	(QA_PARAMS + 0x08)	/* CR3 of the bootstrap */
#define	QP_CR4BOOT	(QA_PARAMS + 0x10)	/* PSE/PAE/LA57 */
#define	QP_CR4FINAL	(QA_PARAMS + 0x18)	/* + SMEP/SMAP/PKE */
#define	QP_EFER		(QA_PARAMS + 0x20)	/* LME, NXE */
#define	QP_CR0OR	(QA_PARAMS + 0x28)	/* WP or 0 */
#define	QP_SLOTVA	(QA_PARAMS + 0x30)	/* the area's VA */
#define	QP_NPROBES	(QA_PARAMS + 0x38)
#define	QP_RESULTS	(QA_PARAMS + 0x40)	/* area offset of results */
#define	QP_KFLAGS	(QA_PARAMS + 0x48)	/* EFLAGS.AC or 0 (CPL 0) */
#define	QP_PKRU		(QA_PARAMS + 0x50)
#define	QP_PKE		(QA_PARAMS + 0x58)	/* 1: wrpkru */
#define	QP_LONG		(QA_PARAMS + 0x60)	/* 1: 4- or 5-level */
#define	QP_NEXT		(QA_PARAMS + 0x68)	/* probe running now */
#define	QP_PHASE	(QA_PARAMS + 0x70)	/* 1 once probing began */
#define	QP_DONE		(QA_PARAMS + 0x78)	/* QG_DONE or QG_SETUP */
#define	QP_SETUP_VEC	(QA_PARAMS + 0x80)	/* a fault before probing */
#define	QP_SETUP_IP	(QA_PARAMS + 0x88)
#define	QP_GDTR_PHYS	(QA_PARAMS + 0x90)	/* limit, base = guest_pa */
#define	QP_GDTR_VIRT	(QA_PARAMS + 0xa0)	/* limit, base = slot_va */
#define	QP_IDTR_VIRT	(QA_PARAMS + 0xb0)
#define	QP_NESTED	(QA_PARAMS + 0xc0)	/* 1: npt4 or npt5 (SVM) */
#define	QP_GUEST	(QA_PARAMS + 0xc8)	/* 1: a guest job */
#define	QP_GLEGACY	(QA_PARAMS + 0xd0)	/* 1: L2 in 32-bit code */
#define	QP_GSLOTW	(QA_PARAMS + 0xd8)	/* 1: L1 writes the guest */
#define	QP_GSLOTPA	(QA_PARAMS + 0xe0)	/* slot entry, here (4 B) */

#define	QG_DONE		0x656e6f64	/* "done": every probe ran */
#define	QG_SETUP	0x70746573	/* "setp": a fault before probing */
#define	QG_MAGIC	0x75716768	/* "hgqu": the blob's header */

/*
 * A result record, written by the guest.  Nested: QR_VECTOR is the exit
 * code, QR_ERROR and QR_QUAL EXITINFO1, QR_CR2 EXITINFO2, QR_IP the
 * nested guest's RIP at the exit.
 */
#define	QR_OUTCOME	0	/* 0 ok, 1 page fault, 2 #GP, 3 other,
				   4 #VMEXIT(NPF) */
#define	QR_VECTOR	4
#define	QR_ERROR	8
#define	QR_RAN		12	/* 1 once the probe started */
#define	QR_CR2		16
#define	QR_VALUE	24
#define	QR_IP		32	/* where a fault was taken */
#define	QR_QUAL		40	/* nested: the whole EXITINFO1 */
#define	QR_SIZE		48

/* Nested: a probe op above 2 is not run (the host decided). */
#define	QOP_SKIP	0xff

/* The nested layout (see the top). */
#define	QN_L1STACK_TOP	QA_KSTACK_TOP
#define	QN_L2STACK	0x008000
#define	QN_L2STACK_TOP	0x009000	/* an offset, and L2's VA */
#define	QN_VMCB		0x009000
#define	QN_HSAVE	0x00a000
#define	QN_L2PML4	0x00b000
#define	QN_L2PDPT	0x00c000
#define	QN_L2PD		0x00d000
#define	QN_L2PT		0x00e000
#define	QN_L2WIN	0x00f000
#define	QN_WINDOW	0x200000	/* L2's VA of the window page */
#define	QN_L1TABLES	0x1f8000
#define	QN_GTABLES	0x00b000	/* a guest job's guest-format tables */
#define	QN_GUSTACK	0x00f000	/* a guest job's user stack */
#define	QN_GUSTACK_TOP	0x010000

/*
 * A guest job's L2 contexts, at QN_GCTX for CPL 0 and QN_GCTX +
 * QN_GCTX_SIZE for CPL 3; each field 8 bytes wide.  The segments are
 * the first 8 bytes of a VMCB segment (selector, attributes, limit).
 */
#define	QN_GCTX		0x004400
#define	QN_GCTX_SIZE	0x40
#define	QC_CS		0x00
#define	QC_SS		0x08
#define	QC_CPL		0x10
#define	QC_STUBS	0x18	/* L2's address of the op's stubs (16 B) */
#define	QC_RSP		0x20
#define	QC_RFLAGS	0x28
#define	QC_GLINK	0x30	/* the guest slot entry (QP_GSLOTW) */

/*
 * The VMCB (AMD64 APM vol. 2, appendix B): the control area, then the
 * state save area at 0x400 (segments are selector, attrib, limit, base).
 */
#define	VMCB_ICPT_EXC	0x008	/* exception intercepts, one bit each */
#define	VMCB_ICPT	0x00c	/* 64 bits: vectors 3 (low) and 4 */
#define	VMCB_ASID	0x058
#define	VMCB_TLB_CTL	0x05c
#define	VMCB_EXITCODE	0x070
#define	VMCB_EXITINFO1	0x078
#define	VMCB_EXITINFO2	0x080
#define	VMCB_NP_ENABLE	0x090
#define	VMCB_NCR3	0x0b0
#define	VMCB_ES		0x400
#define	VMCB_CS		0x410
#define	VMCB_SS		0x420
#define	VMCB_DS		0x430
#define	VMCB_FS		0x440
#define	VMCB_GS		0x450
#define	VMCB_CPL	0x4cb
#define	VMCB_EFER	0x4d0
#define	VMCB_CR4	0x548
#define	VMCB_CR3	0x550
#define	VMCB_CR0	0x558
#define	VMCB_DR7	0x560
#define	VMCB_DR6	0x568
#define	VMCB_RFLAGS	0x570
#define	VMCB_RIP	0x578
#define	VMCB_RSP	0x5d8
#define	VMCB_RAX	0x5f8
#define	VMCB_GPAT	0x668

/* Exit codes. */
#define	EXIT_EXCP_BASE	0x40	/* + the vector */
#define	EXIT_VMMCALL	0x81
#define	EXIT_NPF	0x400
#define	EXIT_INVALID	0xffffffff	/* low 32 bits of -1 */
#define	MSR_VM_HSAVE_PA	0xc0010117

/* Selectors of the engine's GDT. */
#define	SEL_KCODE	0x08
#define	SEL_KDATA	0x10
#define	SEL_UCODE	0x18
#define	SEL_UDATA	0x20
#define	SEL_TSS		0x28
#define	QV_BACK		0x80	/* user code returns to the kernel */

/* Where the ROM piece goes in the 64 KiB -bios image. */
#define	QROM_AT		0xfe00
#define	QROM_SIZE	0x200
#define	QROM_ENTRY	0x1e0	/* the 32-bit entry address, patched */

#endif
