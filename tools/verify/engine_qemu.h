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

#define	QG_DONE		0x656e6f64	/* "done": every probe ran */
#define	QG_SETUP	0x70746573	/* "setp": a fault before probing */
#define	QG_MAGIC	0x75716768	/* "hgqu": the blob's header */

/* A result record, written by the guest. */
#define	QR_OUTCOME	0	/* 0 ok, 1 page fault, 2 #GP, 3 other */
#define	QR_VECTOR	4
#define	QR_ERROR	8
#define	QR_RAN		12	/* 1 once the probe started */
#define	QR_CR2		16
#define	QR_VALUE	24
#define	QR_IP		32	/* where a fault was taken */
#define	QR_SIZE		48

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
