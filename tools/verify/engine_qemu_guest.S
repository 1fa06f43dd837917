/*
 * engine_qemu_guest.S - the code engine_qemu.c runs inside QEMU: a boot
 * ROM piece and a position-independent guest that turns paging on with
 * the engine's own tables, moves onto the image's tables through the
 * borrowed slot, and runs the probes, recording how each one ended.
 *
 * Both pieces are data to the htable binary (section .rodata): the host
 * copies the ROM piece into a 64 KiB -bios image (at QROM_AT, just below
 * the reset vector) and the guest blob into the engine's area of guest
 * RAM.  The blob starts with a header of offsets (read by the host to
 * build the IDT and to check where faults were taken), so nothing here
 * needs a relocation: every address is either a constant, a difference of
 * two labels, or computed from the area's base at run time.
 *
 * The CPU starts in real mode at 0xfffffff0.  The ROM piece loads a flat
 * GDT, enters protected mode and jumps to the address the host patched
 * into it (QROM_ENTRY): g_entry32, in RAM, with %ebp = that address,
 * from which g_entry32 finds the area's physical base.  g_entry32 loads
 * EFER, CR4 (the paging mode), CR3 (the engine's bootstrap tables, which
 * map the area both at its physical address and at slot_va) and turns
 * paging on; the next fetch goes through those tables at the same
 * (identity-mapped) address.  It then jumps to the copy of itself at
 * slot_va (through a far return into a 64-bit code segment first, for
 * 4- and 5-level paging), reloads GDT, IDT and TR from slot_va, and
 * loads CR3 with the image's root.  The host wrote the link to the
 * engine's subtree into the image's empty slot entry beforehand, so the
 * area stays mapped at slot_va, and nothing else of the image changes.
 *
 * The probe loop flushes the TLB (a CR3 reload: CR4.PGE stays clear, so
 * nothing survives it), then either runs the access in place (CPL 0) or
 * irets into the user page, which runs it and comes back with int
 * $QV_BACK.  A fault lands in an exception stub that records vector,
 * error code, CR2 and the faulting IP in the probe's result, resets the
 * stack and goes on with the next probe: the interrupted context is
 * dropped, never resumed.  At the end the done flag is written and the
 * isa-debug-exit port (0xf4) ends QEMU.
 *
 * Nested paging (QP_NESTED, npt4 and npt5): the same bootstrap turns on
 * long mode (with EFER.SVME, and LA57 for npt5) on the engine's tables,
 * which here only identity-map the area; g_long64 then branches to
 * g_svm64, which stays at the area's physical address: it is the SVM
 * host (L1).  It sets VM_HSAVE_PA and, per probe, points the window (the
 * nested guest's PTE for VA QN_WINDOW, in L2's tables in the area) at
 * the probe's guest-physical page, sets RIP (the stub of the op), RSP
 * and RAX (the window VA plus the page offset) in the VMCB the host
 * built, and runs the nested guest (L2) with VMRUN.  L2 runs one stub of
 * l2_stubs: the access, then VMMCALL, which is intercepted; a nested
 * page fault or an exception (all intercepted) ends it earlier.  After
 * the #VMEXIT the host state is back (RIP, RSP, RAX; the other registers
 * hold what L2 left, RBX the bytes a read loaded), and L1 records the
 * exit code, EXITINFO1 and EXITINFO2.  L1's own exceptions (it takes
 * none by design) are setup faults: recorded, and the run ends.
 *
 * A guest job (QP_GUEST): L2 runs on the image's guest tables, which the
 * host linked to L2's pages through the guest slot; no window.  Per probe
 * L1 copies the context of the probe's CPL (QN_GCTX: CS, SS, CPL, the
 * address of the stubs, RSP, RFLAGS) into the VMCB, sets RAX = va, and
 * when the guest slot is a 4 MiB page (QP_GSLOTW: a 32-bit guest whose
 * tables cannot link a table above 4 GiB) rewrites that entry with U as
 * the CPL says.  L2 runs one stub of the set for its code size and CPL
 * (GSTUBS64, GSTUBS32; CPL-3 ones in the user page): a push and pop that
 * touch its stack, the access, VMMCALL.  L1 records the exit as above,
 * with L2's RIP (where an exception or NPF was taken, for the host to
 * tell the probe's own from the engine's), and classifies #PF and #GP.
 * PKRU is no VMCB field: L1 sets CR4.PKE and loads it once (QP_PKE).
 */
#include "engine_qemu.h"

#define	MSR_EFER	0xc0000080
#define	PTE_WINDOW	0x63		/* P, RW, A, D */
#define	PTE_US		0x04
#define	CR4_PKE		0x00400000
#define	CR0_PE		0x00000001
#define	CR0_PG		0x80000000
#define	EFL_AC		0x00040000
#define	EFL_RSVD	0x00000002
#define	DEBUG_EXIT	0xf4

/* ROM piece: QEMU maps it at 0xffff0000 + QROM_AT. */
#define	ROMABS(s)	(0xffff0000 + QROM_AT + ((s) - rom_start))
#define	ROMCS(s)	(QROM_AT + ((s) - rom_start))
/* Guest blob: offsets from its start, which is the area's start. */
#define	GOFF(s)		((s) - g_start)

	.section .rodata.htable_qemu, "a"
	.globl	engine_qemu_rom
	.hidden	engine_qemu_rom
	.globl	engine_qemu_guest
	.hidden	engine_qemu_guest
	.globl	engine_qemu_guest_end
	.hidden	engine_qemu_guest_end

/* ------------------------------------------------------------------ */
engine_qemu_rom:
rom_start:
	.code32
rom32:
	movw	$SEL_KDATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movl	ROMABS(rom_entry), %ebp
	jmp	*%ebp

	.balign	8
rom_gdt:
	.quad	0
	.quad	0x00cf9b000000ffff	/* SEL_KCODE: flat 32-bit code */
	.quad	0x00cf93000000ffff	/* SEL_KDATA: flat data */
rom_gdtr:
	.word	3 * 8 - 1
	.long	ROMABS(rom_gdt)

	/* Real mode with CS.base = 0xffff0000. */
	.code16
rom16:
	cli
	cld
	lgdtl	%cs:ROMCS(rom_gdtr)
	movl	%cr0, %eax
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$SEL_KCODE, $ROMABS(rom32)

	.org	rom_start + QROM_ENTRY
rom_entry:
	.long	0			/* patched by the host */
	.org	rom_start + 0x1f0	/* the reset vector, 0xfffffff0 */
	jmp	rom16
	.org	rom_start + QROM_SIZE

/* ------------------------------------------------------------------ */
engine_qemu_guest:
g_start:
	/* The header: the host reads it as struct qg_header. */
	.long	QG_MAGIC
	.long	GOFF(g_entry32)
	.long	GOFF(g_exc32)
	.long	GOFF(g_back32)
	.long	GOFF(g_exc64)
	.long	GOFF(g_back64)
	.long	GOFF(g_user32)
	.long	GOFF(g_user64)
	/* Where a probe's own fault may be taken: the access instructions. */
	.long	14
	.long	GOFF(k32_r1), GOFF(k32_r2), GOFF(k32_w), GOFF(k32_c)
	.long	GOFF(u32_r1), GOFF(u32_r2), GOFF(u32_w), GOFF(u32_c)
	.long	GOFF(k64_r), GOFF(k64_w), GOFF(k64_c)
	.long	GOFF(u64_r), GOFF(u64_w), GOFF(u64_c)
	/*
	 * A guest job's stub sets (CPL 0 and 3 in 64-bit code, then in
	 * 32-bit code), then in the same order the access instructions of
	 * each: read (twice: 32-bit code reads in two loads), write, fetch.
	 */
	.long	GOFF(gk64), GOFF(gu64), GOFF(gk32), GOFF(gu32)
	.long	GOFF(gk64_r), GOFF(gk64_r), GOFF(gk64_w), GOFF(gk64_c)
	.long	GOFF(gu64_r), GOFF(gu64_r), GOFF(gu64_w), GOFF(gu64_c)
	.long	GOFF(gk32_r1), GOFF(gk32_r2), GOFF(gk32_w), GOFF(gk32_c)
	.long	GOFF(gu32_r1), GOFF(gu32_r2), GOFF(gu32_w), GOFF(gu32_c)

	.code32
/*
 * From the ROM: protected mode, paging off, %ebp = the area's physical
 * address.  Open the chipset's legacy windows first, so that RAM in
 * 0xa0000-0xfffff reads as RAM like everywhere else: on the i440FX the
 * PAM registers (0x59-0x5f: 0x33 = read/write to RAM), without which
 * 0xf0000-0xfffff shows the BIOS (seen: reads there return ROM bytes,
 * not markers), and SMRAM's D_OPEN (0x72) for the VGA window, which
 * -nodefaults leaves empty anyway.
 */
g_entry32:
	subl	$GOFF(g_entry32), %ebp	/* the ROM jumped with %ebp = here */
	leal	QA_KSTACK_TOP(%ebp), %esp
	movw	$0xcf8, %dx
	movl	$0x80000058, %eax
	outl	%eax, %dx
	movw	$0xcfd, %dx
	movb	$0x33, %al
	outb	%al, %dx
	incw	%dx
	outb	%al, %dx
	incw	%dx
	outb	%al, %dx
	movw	$0xcf8, %dx
	movl	$0x8000005c, %eax
	outl	%eax, %dx
	movw	$0xcfc, %dx
	movl	$0x33333333, %eax
	outl	%eax, %dx
	movw	$0xcf8, %dx
	movl	$0x80000070, %eax
	outl	%eax, %dx
	movw	$0xcfe, %dx
	movb	$0x4a, %al
	outb	%al, %dx

	lgdtl	QP_GDTR_PHYS(%ebp)
	/* EFER (LME, NXE) and CR4 (PSE/PAE/LA57) before paging. */
	movl	QP_EFER(%ebp), %eax
	xorl	%edx, %edx
	testl	%eax, %eax
	jz	1f
	movl	$MSR_EFER, %ecx
	wrmsr
1:
	movl	QP_CR4BOOT(%ebp), %eax
	movl	%eax, %cr4
	movl	QP_MYCR3(%ebp), %eax
	movl	%eax, %cr3
	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_PE), %eax
	movl	%eax, %cr0
	/* Paging is on; this code is identity-mapped. */
	cmpl	$0, QP_LONG(%ebp)
	jne	2f
	movl	QP_SLOTVA(%ebp), %eax
	addl	$GOFF(g_main32), %eax
	jmp	*%eax
2:
	/* Compatibility mode: a far return into the 64-bit code segment. */
	leal	GOFF(g_long64)(%ebp), %eax
	pushl	$SEL_KCODE
	pushl	%eax
	lret

/* At slot_va, on the bootstrap tables. */
g_main32:
	call	1f
1:	popl	%ebp
	subl	$GOFF(1b), %ebp
	lgdtl	QP_GDTR_VIRT(%ebp)
	lidtl	QP_IDTR_VIRT(%ebp)
	leal	GOFF(2f)(%ebp), %eax
	pushl	$SEL_KCODE
	pushl	%eax
	lret
2:
	movw	$SEL_KDATA, %ax
	movw	%ax, %ss
	/* DPL 3 data works at CPL 0 too: never reloaded after user mode. */
	movw	$(SEL_UDATA | 3), %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	$SEL_TSS, %ax
	ltr	%ax
	leal	QA_KSTACK_TOP(%ebp), %esp
	/* Onto the image's tables; then the control bits of the job. */
	movl	QP_IMGCR3(%ebp), %eax
	movl	%eax, %cr3
	movl	QP_CR4FINAL(%ebp), %eax
	movl	%eax, %cr4
	movl	%cr0, %eax
	orl	QP_CR0OR(%ebp), %eax
	movl	%eax, %cr0
	movl	$1, QP_PHASE(%ebp)

g_loop32:
	movl	QP_NEXT(%ebp), %ebx
	cmpl	QP_NPROBES(%ebp), %ebx
	jae	g_done32
	movl	%ebx, %esi
	shll	$4, %esi
	leal	QA_PROBES(%ebp, %esi), %esi
	imull	$QR_SIZE, %ebx, %edi
	addl	QP_RESULTS(%ebp), %edi
	addl	%ebp, %edi
	movl	$1, QR_RAN(%edi)
	movl	%cr3, %eax
	movl	%eax, %cr3
	movl	(%esi), %eax		/* va */
	movl	8(%esi), %ebx		/* op */
	xorl	%edx, %edx
	xorl	%ecx, %ecx
	cmpl	$3, 12(%esi)
	je	g_user_go32
	pushfl
	popl	%esi
	andl	$~EFL_AC, %esi
	orl	QP_KFLAGS(%ebp), %esi
	pushl	%esi
	popfl
	cmpl	$0, %ebx
	jne	1f
k32_r1:	movl	(%eax), %edx
k32_r2:	movl	4(%eax), %ecx
	jmp	g_kok32
1:	cmpl	$1, %ebx
	jne	2f
k32_w:	lock orb $0, (%eax)
	jmp	g_kok32
2:
k32_c:	call	*%eax
g_kok32:
	pushl	$EFL_RSVD
	popfl
	movl	$0, QR_OUTCOME(%edi)
	movl	%edx, QR_VALUE(%edi)
	movl	%ecx, QR_VALUE + 4(%edi)
g_next32:
	incl	QP_NEXT(%ebp)
	jmp	g_loop32

g_user_go32:
	pushl	$(SEL_UDATA | 3)
	leal	QA_USTACK_TOP(%ebp), %esi
	pushl	%esi
	pushl	$EFL_RSVD
	pushl	$(SEL_UCODE | 3)
	leal	GOFF(g_user32)(%ebp), %esi
	pushl	%esi
	iretl

g_done32:
	movl	$QG_DONE, QP_DONE(%ebp)
g_exit32:
	movw	$DEBUG_EXIT, %dx
	xorl	%eax, %eax
	outb	%al, %dx
3:	hlt
	jmp	3b

/* int $QV_BACK from the user page: the probe completed. */
g_back32:
	call	1f
1:	popl	%ebp
	subl	$GOFF(1b), %ebp
	movl	QP_NEXT(%ebp), %ebx
	imull	$QR_SIZE, %ebx, %edi
	addl	QP_RESULTS(%ebp), %edi
	addl	%ebp, %edi
	movl	$0, QR_OUTCOME(%edi)
	movl	%edx, QR_VALUE(%edi)
	movl	%ecx, QR_VALUE + 4(%edi)
	leal	QA_KSTACK_TOP(%ebp), %esp
	jmp	g_next32

/*
 * Exceptions: a 16-byte stub per vector pushes a zero error code where
 * the CPU pushes none, then the vector.
 */
	.macro	EXC32_NOERR v
	.balign	16
	pushl	$0
	pushl	$\v
	jmp	g_exccommon32
	.endm
	.macro	EXC32_ERR v
	.balign	16
	pushl	$\v
	jmp	g_exccommon32
	.endm

	.balign	16
g_exc32:
	EXC32_NOERR 0
	EXC32_NOERR 1
	EXC32_NOERR 2
	EXC32_NOERR 3
	EXC32_NOERR 4
	EXC32_NOERR 5
	EXC32_NOERR 6
	EXC32_NOERR 7
	EXC32_ERR 8
	EXC32_NOERR 9
	EXC32_ERR 10
	EXC32_ERR 11
	EXC32_ERR 12
	EXC32_ERR 13
	EXC32_ERR 14
	EXC32_NOERR 15
	EXC32_NOERR 16
	EXC32_ERR 17
	EXC32_NOERR 18
	EXC32_NOERR 19
	EXC32_NOERR 20
	EXC32_ERR 21
	EXC32_NOERR 22
	EXC32_NOERR 23
	EXC32_NOERR 24
	EXC32_NOERR 25
	EXC32_NOERR 26
	EXC32_NOERR 27
	EXC32_NOERR 28
	EXC32_ERR 29
	EXC32_ERR 30
	EXC32_NOERR 31

/* Stack: vector, error code, EIP, CS, EFLAGS [, ESP, SS]. */
g_exccommon32:
	call	1f
1:	popl	%ebp
	subl	$GOFF(1b), %ebp
	cmpl	$0, QP_PHASE(%ebp)
	jne	2f
	/* A fault while setting up: report it and stop. */
	movl	(%esp), %eax
	movl	%eax, QP_SETUP_VEC(%ebp)
	movl	8(%esp), %eax
	movl	%eax, QP_SETUP_IP(%ebp)
	movl	$QG_SETUP, QP_DONE(%ebp)
	jmp	g_exit32
2:
	movl	QP_NEXT(%ebp), %ebx
	cmpl	QP_NPROBES(%ebp), %ebx
	jae	g_done32
	imull	$QR_SIZE, %ebx, %edi
	addl	QP_RESULTS(%ebp), %edi
	addl	%ebp, %edi
	movl	(%esp), %eax
	movl	%eax, QR_VECTOR(%edi)
	movl	$3, %ecx		/* other */
	cmpl	$14, %eax
	jne	3f
	movl	$1, %ecx		/* page fault */
3:	cmpl	$13, %eax
	jne	4f
	movl	$2, %ecx		/* general protection */
4:	movl	%ecx, QR_OUTCOME(%edi)
	movl	4(%esp), %eax
	movl	%eax, QR_ERROR(%edi)
	movl	8(%esp), %eax
	movl	%eax, QR_IP(%edi)
	movl	%cr2, %eax
	movl	%eax, QR_CR2(%edi)
	leal	QA_KSTACK_TOP(%ebp), %esp
	jmp	g_next32

/* ------------------------------------------------------------------ */
	.code64
/* Long mode at the identity address: jump to the copy at slot_va. */
g_long64:
	movl	%ebp, %ebp
	cmpq	$0, QP_NESTED(%rbp)
	jne	g_svm64
	movq	QP_SLOTVA(%rbp), %rax
	addq	$GOFF(g_main64), %rax
	jmp	*%rax

g_main64:
	leaq	g_start(%rip), %rbp
	lgdtq	QP_GDTR_VIRT(%rbp)
	lidtq	QP_IDTR_VIRT(%rbp)
	leaq	2f(%rip), %rax
	pushq	$SEL_KCODE
	pushq	%rax
	lretq
2:
	movw	$SEL_KDATA, %ax
	movw	%ax, %ss
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	$SEL_TSS, %ax
	ltr	%ax
	leaq	QA_KSTACK_TOP(%rbp), %rsp
	movq	QP_IMGCR3(%rbp), %rax
	movq	%rax, %cr3
	movq	QP_CR4FINAL(%rbp), %rax
	movq	%rax, %cr4
	movq	%cr0, %rax
	orq	QP_CR0OR(%rbp), %rax
	movq	%rax, %cr0
	cmpq	$0, QP_PKE(%rbp)
	je	3f
	movl	QP_PKRU(%rbp), %eax
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	.byte	0x0f, 0x01, 0xef	/* wrpkru */
3:
	movq	$1, QP_PHASE(%rbp)

g_loop64:
	movq	QP_NEXT(%rbp), %rbx
	cmpq	QP_NPROBES(%rbp), %rbx
	jae	g_done64
	movq	%rbx, %rsi
	shlq	$4, %rsi
	leaq	QA_PROBES(%rbp, %rsi), %rsi
	imulq	$QR_SIZE, %rbx, %rdi
	addq	QP_RESULTS(%rbp), %rdi
	addq	%rbp, %rdi
	movl	$1, QR_RAN(%rdi)
	movq	%cr3, %rax
	movq	%rax, %cr3
	movq	(%rsi), %rax		/* va */
	movl	8(%rsi), %ebx		/* op */
	xorl	%edx, %edx
	cmpl	$3, 12(%rsi)
	je	g_user_go64
	pushfq
	popq	%rcx
	andq	$~EFL_AC, %rcx
	orq	QP_KFLAGS(%rbp), %rcx
	pushq	%rcx
	popfq
	cmpl	$0, %ebx
	jne	1f
k64_r:	movq	(%rax), %rdx
	jmp	g_kok64
1:	cmpl	$1, %ebx
	jne	2f
k64_w:	lock orb $0, (%rax)
	jmp	g_kok64
2:
k64_c:	call	*%rax
g_kok64:
	pushq	$EFL_RSVD
	popfq
	movl	$0, QR_OUTCOME(%rdi)
	movq	%rdx, QR_VALUE(%rdi)
g_next64:
	incq	QP_NEXT(%rbp)
	jmp	g_loop64

g_user_go64:
	pushq	$(SEL_UDATA | 3)
	leaq	QA_USTACK_TOP(%rbp), %rcx
	pushq	%rcx
	pushq	$EFL_RSVD
	pushq	$(SEL_UCODE | 3)
	leaq	g_user64(%rip), %rcx
	pushq	%rcx
	iretq

g_done64:
	movl	$QG_DONE, QP_DONE(%rbp)
g_exit64:
	movw	$DEBUG_EXIT, %dx
	xorl	%eax, %eax
	outb	%al, %dx
3:	hlt
	jmp	3b

g_back64:
	leaq	g_start(%rip), %rbp
	movq	QP_NEXT(%rbp), %rbx
	imulq	$QR_SIZE, %rbx, %rdi
	addq	QP_RESULTS(%rbp), %rdi
	addq	%rbp, %rdi
	movl	$0, QR_OUTCOME(%rdi)
	movq	%rdx, QR_VALUE(%rdi)
	leaq	QA_KSTACK_TOP(%rbp), %rsp
	jmp	g_next64

	.macro	EXC64_NOERR v
	.balign	16
	pushq	$0
	pushq	$\v
	jmp	g_exccommon64
	.endm
	.macro	EXC64_ERR v
	.balign	16
	pushq	$\v
	jmp	g_exccommon64
	.endm

	.balign	16
g_exc64:
	EXC64_NOERR 0
	EXC64_NOERR 1
	EXC64_NOERR 2
	EXC64_NOERR 3
	EXC64_NOERR 4
	EXC64_NOERR 5
	EXC64_NOERR 6
	EXC64_NOERR 7
	EXC64_ERR 8
	EXC64_NOERR 9
	EXC64_ERR 10
	EXC64_ERR 11
	EXC64_ERR 12
	EXC64_ERR 13
	EXC64_ERR 14
	EXC64_NOERR 15
	EXC64_NOERR 16
	EXC64_ERR 17
	EXC64_NOERR 18
	EXC64_NOERR 19
	EXC64_NOERR 20
	EXC64_ERR 21
	EXC64_NOERR 22
	EXC64_NOERR 23
	EXC64_NOERR 24
	EXC64_NOERR 25
	EXC64_NOERR 26
	EXC64_NOERR 27
	EXC64_NOERR 28
	EXC64_ERR 29
	EXC64_ERR 30
	EXC64_NOERR 31

/* Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS. */
g_exccommon64:
	leaq	g_start(%rip), %rbp
	cmpq	$0, QP_PHASE(%rbp)
	jne	2f
	movq	(%rsp), %rax
	movq	%rax, QP_SETUP_VEC(%rbp)
	movq	16(%rsp), %rax
	movq	%rax, QP_SETUP_IP(%rbp)
	movl	$QG_SETUP, QP_DONE(%rbp)
	jmp	g_exit64
2:
	movq	QP_NEXT(%rbp), %rbx
	cmpq	QP_NPROBES(%rbp), %rbx
	jae	g_done64
	imulq	$QR_SIZE, %rbx, %rdi
	addq	QP_RESULTS(%rbp), %rdi
	addq	%rbp, %rdi
	movq	(%rsp), %rax
	movl	%eax, QR_VECTOR(%rdi)
	movl	$3, %ecx
	cmpl	$14, %eax
	jne	3f
	movl	$1, %ecx
3:	cmpl	$13, %eax
	jne	4f
	movl	$2, %ecx
4:	movl	%ecx, QR_OUTCOME(%rdi)
	movq	8(%rsp), %rax
	movl	%eax, QR_ERROR(%rdi)
	movq	16(%rsp), %rax
	movq	%rax, QR_IP(%rdi)
	movq	%cr2, %rax
	movq	%rax, QR_CR2(%rdi)
	leaq	QA_KSTACK_TOP(%rbp), %rsp
	jmp	g_next64

/* ------------------------------------------------------------------ */
/*
 * The SVM host (nested paging), at the area's physical address, which its
 * tables identity-map: %rbp = the area.
 */
g_svm64:
	movw	$SEL_KDATA, %ax
	movw	%ax, %ss
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	lidtq	QP_IDTR_VIRT(%rbp)
	leaq	QN_L1STACK_TOP(%rbp), %rsp
	leaq	QN_HSAVE(%rbp), %rax
	movq	%rax, %rdx
	shrq	$32, %rdx
	movl	$MSR_VM_HSAVE_PA, %ecx
	wrmsr
	/*
	 * A guest job with protection keys: PKRU is not part of the VMCB,
	 * L2 runs with the value L1 leaves (L1's own pages are supervisor
	 * ones, which PKRU does not govern; nested walks ignore CR4.PKE).
	 */
	cmpq	$0, QP_PKE(%rbp)
	je	g_svmloop
	movq	%cr4, %rax
	orq	$CR4_PKE, %rax
	movq	%rax, %cr4
	movl	QP_PKRU(%rbp), %eax
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	.byte	0x0f, 0x01, 0xef	/* wrpkru */

g_svmloop:
	leaq	g_start(%rip), %rbp
	movq	QP_NEXT(%rbp), %rbx
	cmpq	QP_NPROBES(%rbp), %rbx
	jae	g_done64
	movq	%rbx, %rsi
	shlq	$4, %rsi
	leaq	QA_PROBES(%rbp, %rsi), %rsi
	imulq	$QR_SIZE, %rbx, %rdi
	addq	QP_RESULTS(%rbp), %rdi
	addq	%rbp, %rdi
	movl	8(%rsi), %ecx		/* op */
	cmpl	$2, %ecx
	ja	g_svmnext		/* QOP_SKIP: not to be run */
	movl	$1, QR_RAN(%rdi)
	cmpq	$0, QP_GUEST(%rbp)
	jne	g_svmguest
	/* The window: the probe's page, U as its CPL says. */
	movq	(%rsi), %rax		/* the guest-physical address */
	movq	%rax, %rdx
	andq	$-0x1000, %rax
	orq	$PTE_WINDOW, %rax
	cmpl	$3, 12(%rsi)
	jne	1f
	orq	$PTE_US, %rax
1:	movq	%rax, QN_L2WIN(%rbp)
	andl	$0xfff, %edx
	addq	$QN_WINDOW, %rdx
	movq	%rdx, QN_VMCB + VMCB_RAX(%rbp)
	/* The stub of the op: 16 bytes each, at L2's VA = offset. */
	shll	$4, %ecx
	addq	$GOFF(l2_stubs), %rcx
	movq	%rcx, QN_VMCB + VMCB_RIP(%rbp)
	movq	$QN_L2STACK_TOP, QN_VMCB + VMCB_RSP(%rbp)
	movq	$EFL_RSVD, QN_VMCB + VMCB_RFLAGS(%rbp)
	jmp	g_svmgo

	/*
	 * A guest job: L2 on the image's guest tables, in the context of
	 * the probe's CPL (segments, CPL, stubs, stack, flags), RAX = va.
	 */
g_svmguest:
	movq	(%rsi), %rax
	movq	%rax, QN_VMCB + VMCB_RAX(%rbp)
	leaq	QN_GCTX(%rbp), %r8
	cmpl	$3, 12(%rsi)
	jne	1f
	addq	$QN_GCTX_SIZE, %r8
1:	movq	QC_CS(%r8), %rax
	movq	%rax, QN_VMCB + VMCB_CS(%rbp)
	movq	QC_SS(%r8), %rax
	movq	%rax, QN_VMCB + VMCB_SS(%rbp)
	movb	QC_CPL(%r8), %al
	movb	%al, QN_VMCB + VMCB_CPL(%rbp)
	shll	$4, %ecx
	addq	QC_STUBS(%r8), %rcx
	movq	%rcx, QN_VMCB + VMCB_RIP(%rbp)
	movq	QC_RSP(%r8), %rax
	movq	%rax, QN_VMCB + VMCB_RSP(%rbp)
	movq	QC_RFLAGS(%r8), %rax
	movq	%rax, QN_VMCB + VMCB_RFLAGS(%rbp)
	cmpq	$0, QP_GSLOTW(%rbp)
	je	g_svmgo
	movq	QP_GSLOTPA(%rbp), %rdx
	movl	QC_GLINK(%r8), %eax
	movl	%eax, (%rdx)

g_svmgo:
	xorl	%ebx, %ebx
	xorl	%ecx, %ecx
	leaq	QN_VMCB(%rbp), %rax
	.byte	0x0f, 0x01, 0xd8	/* vmrun */
	/*
	 * #VMEXIT: RBX and RCX are L2's; nothing else of L1 but RIP/RSP/RAX.
	 * 32-bit L2 code read the 8 bytes into EBX (low) and ECX (high).
	 */
	leaq	g_start(%rip), %rbp
	cmpq	$0, QP_GLEGACY(%rbp)
	je	1f
	movl	%ebx, %ebx
	shlq	$32, %rcx
	orq	%rcx, %rbx
1:	movq	QP_NEXT(%rbp), %rcx
	imulq	$QR_SIZE, %rcx, %rdi
	addq	QP_RESULTS(%rbp), %rdi
	addq	%rbp, %rdi
	movq	QN_VMCB + VMCB_EXITCODE(%rbp), %rax
	movq	QN_VMCB + VMCB_EXITINFO1(%rbp), %rcx
	movq	QN_VMCB + VMCB_EXITINFO2(%rbp), %rdx
	movl	%eax, QR_VECTOR(%rdi)
	movl	%ecx, QR_ERROR(%rdi)
	movq	%rcx, QR_QUAL(%rdi)
	movq	%rdx, QR_CR2(%rdi)
	movq	%rbx, QR_VALUE(%rdi)
	movq	QN_VMCB + VMCB_RIP(%rbp), %rdx
	movq	%rdx, QR_IP(%rdi)
	movl	$3, %esi		/* other */
	cmpq	$EXIT_VMMCALL, %rax
	jne	2f
	xorl	%esi, %esi		/* ok */
2:	cmpq	$EXIT_NPF, %rax
	jne	3f
	movl	$4, %esi		/* nested page fault */
3:	cmpq	$EXIT_EXCP_BASE + 14, %rax
	jne	4f
	movl	$1, %esi		/* the guest's page fault */
4:	cmpq	$EXIT_EXCP_BASE + 13, %rax
	jne	5f
	movl	$2, %esi		/* the guest's #GP */
5:	movl	%esi, QR_OUTCOME(%rdi)
g_svmnext:
	incq	QP_NEXT(%rbp)
	jmp	g_svmloop

/*
 * The nested guest's stubs (64-bit, CPL 0): %rax = the window VA of the
 * probe, 16 bytes per op (read, write, fetch), each ending in VMMCALL.
 */
	.balign	16
l2_stubs:
	movq	(%rax), %rbx
	.byte	0x0f, 0x01, 0xd9	/* vmmcall */
	.balign	16
	lock orb $0, (%rax)
	.byte	0x0f, 0x01, 0xd9
	.balign	16
	call	*%rax
	.byte	0x0f, 0x01, 0xd9
	.balign	16

/*
 * A guest job's stubs, one set per code size and CPL: 16 bytes per op
 * (read, write, fetch), %rax/%eax = va.  Each first touches its stack
 * (which also fetches its code page), so that a fault of the engine's
 * own pages is taken at another instruction than the access; the access
 * itself (whose address the header lists), then VMMCALL.  32-bit code
 * reads the 8 bytes in two loads, into EBX and ECX.
 */
	.macro	GSTUBS64 n
	.balign	16
\n:
	pushq	%rcx
	popq	%rcx
\n\()_r:
	movq	(%rax), %rbx
	.byte	0x0f, 0x01, 0xd9	/* vmmcall */
	.balign	16
	pushq	%rcx
	popq	%rcx
\n\()_w:
	lock orb $0, (%rax)
	.byte	0x0f, 0x01, 0xd9
	.balign	16
	pushq	%rcx
	popq	%rcx
\n\()_c:
	call	*%rax
	.byte	0x0f, 0x01, 0xd9
	.balign	16
	.endm

	.macro	GSTUBS32 n
	.balign	16
\n:
	pushl	%ecx
	popl	%ecx
\n\()_r1:
	movl	(%eax), %ebx
\n\()_r2:
	movl	4(%eax), %ecx
	.byte	0x0f, 0x01, 0xd9	/* vmmcall */
	.balign	16
	pushl	%ecx
	popl	%ecx
\n\()_w:
	lock orb $0, (%eax)
	.byte	0x0f, 0x01, 0xd9
	.balign	16
	pushl	%ecx
	popl	%ecx
\n\()_c:
	call	*%eax
	.byte	0x0f, 0x01, 0xd9
	.balign	16
	.endm

	GSTUBS64 gk64
	.code32
	GSTUBS32 gk32
	.code64

/* ------------------------------------------------------------------ */
/*
 * The user page (U=1, mapped at slot_va + QA_UCODE): %eax/%rax = va,
 * %ebx = op.  A read leaves the 8 bytes in %edx:%ecx (32-bit) or %rdx.
 */
	.org	g_start + QA_UCODE
	.code32
g_user32:
	cmpl	$0, %ebx
	jne	1f
u32_r1:	movl	(%eax), %edx
u32_r2:	movl	4(%eax), %ecx
	int	$QV_BACK
1:	cmpl	$1, %ebx
	jne	2f
u32_w:	lock orb $0, (%eax)
	int	$QV_BACK
2:
u32_c:	call	*%eax
	int	$QV_BACK

	.code64
	.balign	64
g_user64:
	cmpl	$0, %ebx
	jne	1f
u64_r:	movq	(%rax), %rdx
	int	$QV_BACK
1:	cmpl	$1, %ebx
	jne	2f
u64_w:	lock orb $0, (%rax)
	int	$QV_BACK
2:
u64_c:	call	*%rax
	int	$QV_BACK

	/* A guest job's CPL 3 stubs (see GSTUBS64). */
	GSTUBS64 gu64
	.code32
	GSTUBS32 gu32
	.code64
	.org	g_start + QA_UCODE + 0x1000
engine_qemu_guest_end:

	.section .note.GNU-stack, "", @progbits
