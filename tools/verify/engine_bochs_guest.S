/*
 * engine_bochs_guest.S - the code engine_bochs.c runs inside Bochs: a boot
 * ROM piece, and L1, a hypervisor of a few hundred instructions that
 * runs the probes in L2, a nested guest, through the image's
 * second-level tables (EPT with VMX, nested paging with SVM).
 *
 * Both pieces are data to the htable binary (section .rodata): the host
 * copies the ROM piece under the reset vector of a 64 KiB ROM image and
 * the blob into the engine's area, which it writes at the start of an ATA
 * disk image with everything else L1 needs.  The blob starts with a
 * header (magic, entry offsets) and is position-independent: every
 * address is a constant, a difference of two labels, or computed from
 * the area's base at run time.
 *
 * Boot: the CPU starts in real mode at 0xfffffff0.  The ROM piece enables
 * A20, enters 32-bit protected mode with a flat GDT, reads the area's
 * first BA_LOAD_END bytes from the disk (PIO, sector 0 on) to the area's
 * physical address, which the host patched in, and jumps to g_entry32
 * there with %ebp = that address.  g_entry32 opens the i440FX's legacy
 * windows (PAM and SMRAM), so that 0xa0000-0xfffff is RAM like the rest,
 * turns the I/O APIC off, loads L1's GDT and page tables (the host built
 * them: the low 4 GiB identity-mapped with 2 MiB pages) and enters long
 * mode, where it puts the local APIC in x2APIC mode: a probe may reach
 * any physical address, and Bochs panics at 8-byte reads of those two
 * devices' registers.
 *
 * L1 in long mode: fills RAM with markers (AVX-512 or SSE stores,
 * MARKER(pa) at every 8-byte word of the 2 MiB blocks the host's fill map
 * names: those under the image's leaves), loads the image's data pages
 * from the disk (a run index says where; runs of zero pages are cleared,
 * not read), writes the link to the host-built second-level subtree into
 * the borrowed slot entry, and turns on VMX (VMXON, then the VMCS from the
 * host's field table, each control adjusted by its capability MSR) or SVM
 * (EFER.SVME, the host save area; the host built the VMCB).  Then, per
 * probe: point the window PTE of L2's own tables at the probe's
 * guest-physical page, set L2's RIP to the stub of the access (read,
 * locked OR of 0, call) and RAX to the window address, enter L2
 * (VMLAUNCH/VMRESUME or VMRUN).  The stub ends with VMCALL/VMMCALL, so
 * every probe comes back as a VM exit: that one if the access completed,
 * else the EPT violation or misconfiguration, or #VMEXIT(NPF), or an
 * exception (all are intercepted).  L1 stores the exit's raw facts
 * (reason, qualification, guest-physical address, RBX, RIP) in a result
 * record; the host decides what they mean.  Probes and results move
 * through the disk in chunks of BPROBE_CHUNK.  VM entry flushes the TLB
 * (no VPID; TLB_CONTROL=1 for SVM), so no probe is answered from a
 * translation an earlier one left.  L2 runs with I/O, HLT and (SVM) MSR
 * accesses intercepted and under a timer (VMX's preemption timer, SVM's
 * local APIC timer with INTR intercepted), so a fetch that lands on code
 * other than a marker's `ret` comes back too.
 *
 * A guest job (BP_GUEST): L1 also writes the guest slot's link
 * (BP_GSLOTLINK, 4 or 8 bytes) after the data pages; per probe it loads
 * the context of the probe's CPL (BP_GCTX: CS, SS, CPL, the stub set,
 * RSP, RFLAGS; with BP_GPERPROBE the guest slot's entry too) into the
 * VMCS or the VMCB, RAX = va, and enters L2 on the guest's own tables.
 * The exit's interruption error code (VMX) and L2's RCX (the high half
 * of a 32-bit read) go into the result record too.
 *
 * At the end L1 writes the image's non-zero data pages back to the disk
 * (the accessed and dirty bits the MMU set), then the status page, and
 * ends Bochs through its shutdown port (0x8900).  A failure prints
 * "htbochs: error CODE A B" on port 0xe9 (Bochs's stdout) and ends it the
 * same way; a fault of L1 itself is error BE_EXCEPTION.
 */
#include "engine_bochs.h"

#define	MSR_EFER	0xc0000080
#define	MSR_FEATCTL	0x3a
#define	MSR_VMX_BASIC	0x480
#define	MSR_PROC2	0x48b
#define	MSR_EPTCAP	0x48c
#define	MSR_HSAVE	0xc0010117
#define	EFER_SVME	0x1000
#define	CR0_PE		0x00000001
#define	CR4_VMXE	0x00002000
#define	PORT_E9		0xe9
#define	PORT_SHUTDOWN	0x8900
#define	ATA_DATA	0x1f0
#define	ATA_COUNT	0x1f2
#define	ATA_LBA0	0x1f3
#define	ATA_DRIVE	0x1f6
#define	ATA_CMD		0x1f7
#define	ATA_CTL		0x3f6
#define	ATA_READ	0x20
#define	ATA_WRITE	0x30
#define	ATA_BSY		0x80
#define	ATA_DRQ		0x08
#define	ATA_ERRS	0x21	/* ERR, DF */
#define	ATA_CHUNK	128	/* sectors per command */

/* VMCS fields L1 reads or writes itself */
#define	VM_INSTR_ERROR	0x4400
#define	VM_EXIT_REASON	0x4402
#define	VM_EXIT_INTINFO	0x4404
#define	VM_EXIT_INTERR	0x4406
#define	VM_EXIT_QUAL	0x6400
#define	VM_GUEST_PA	0x2400
#define	VM_GUEST_RSP	0x681c
#define	VM_GUEST_RIP	0x681e
#define	VM_GUEST_RFLAGS	0x6820
#define	VM_HOST_RSP	0x6c14
#define	VM_HOST_RIP	0x6c16
#define	VMX_EXIT_FAILED	0x80000000

/* VMCB offsets */
#define	VMCB_TLBCTL	0x05c
#define	VMCB_EXITCODE	0x070
#define	VMCB_EXITINFO1	0x078
#define	VMCB_EXITINFO2	0x080
#define	VMCB_EXITINT	0x088
#define	VMCB_CS		0x410
#define	VMCB_SS		0x420
#define	VMCB_CPL	0x4cb
#define	VMCB_RFLAGS	0x570
#define	VMCB_RIP	0x578
#define	VMCB_RSP	0x5d8
#define	VMCB_RAX	0x5f8

/* The local APIC, in x2APIC mode */
#define	MSR_APICBASE	0x1b
#define	APIC_EXTD	0x400
#define	APIC_EN		0x800
#define	X2APIC_EOI	0x80b
#define	X2APIC_SVR	0x80f
#define	X2APIC_LVT_TIMER 0x832
#define	X2APIC_COUNT	0x838
#define	X2APIC_DIVIDE	0x83e

/* The window PTE: P, RW, A, D (U added for CPL 3 probes) */
#define	WIN_PTE		0x63
#define	WIN_U		0x04

/* ROM piece: mapped at 0xffff0000 + BROM_AT. */
#define	ROMABS(s)	(0xffff0000 + BROM_AT + ((s) - rom_start))
#define	ROMCS(s)	(BROM_AT + ((s) - rom_start))
/* The blob: offsets from its start, the area's start. */
#define	GOFF(s)		((s) - g_start)
/* L2's linear address of a label of the blob */
#define	L2VA(s)		(BL2_BASE + GOFF(s))

	.section .rodata.htable_bochs, "a"
	.globl	engine_bochs_rom
	.hidden	engine_bochs_rom
	.globl	engine_bochs_guest
	.hidden	engine_bochs_guest
	.globl	engine_bochs_guest_end
	.hidden	engine_bochs_guest_end

/* ------------------------------------------------------------------ */
engine_bochs_rom:
rom_start:
	.code32
/* Protected mode, flat: read the area from the disk, jump into it. */
rom32:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movl	ROMABS(rom_dest), %edi
	/* a stack above what is loaded (the area's last bytes) */
	leal	BA_END(%edi), %esp
	movl	ROMABS(rom_nsect), %ecx
	xorl	%esi, %esi
	movw	$ATA_CTL, %dx
	movb	$2, %al			/* nIEN: no interrupts */
	outb	%al, %dx
rom_more:
	testl	%ecx, %ecx
	jz	rom_go
	movl	%ecx, %ebx
	cmpl	$ATA_CHUNK, %ebx
	jbe	1f
	movl	$ATA_CHUNK, %ebx
1:	call	rom_bsy
	movw	$ATA_DRIVE, %dx
	movl	%esi, %eax
	shrl	$24, %eax
	andb	$0x0f, %al
	orb	$0xe0, %al
	outb	%al, %dx
	movw	$ATA_COUNT, %dx
	movb	%bl, %al
	outb	%al, %dx
	movl	%esi, %eax
	incw	%dx
	outb	%al, %dx
	shrl	$8, %eax
	incw	%dx
	outb	%al, %dx
	shrl	$8, %eax
	incw	%dx
	outb	%al, %dx
	movw	$ATA_CMD, %dx
	movb	$ATA_READ, %al
	outb	%al, %dx
	subl	%ebx, %ecx
	addl	%ebx, %esi
2:	call	rom_drq
	pushl	%ecx
	movl	$256, %ecx
	movw	$ATA_DATA, %dx
	rep insw
	popl	%ecx
	decl	%ebx
	jnz	2b
	jmp	rom_more
rom_go:
	movl	ROMABS(rom_dest), %ebp
	movl	ROMABS(rom_entry), %eax
	jmp	*%eax

/* Wait while the disk is busy. */
rom_bsy:
	movw	$ATA_CMD, %dx
1:	inb	%dx, %al
	testb	$ATA_BSY, %al
	jnz	1b
	ret
/* Wait for a sector's data; an error stops everything. */
rom_drq:
	movw	$ATA_CMD, %dx
1:	inb	%dx, %al
	testb	$ATA_BSY, %al
	jnz	1b
	testb	$ATA_ERRS, %al
	jnz	rom_fail
	testb	$ATA_DRQ, %al
	jz	1b
	ret
rom_fail:
	movl	$ROMABS(rom_msg), %esi
	movw	$PORT_E9, %dx
1:	movb	(%esi), %al
	testb	%al, %al
	jz	2f
	outb	%al, %dx
	incl	%esi
	jmp	1b
2:	movl	$ROMABS(rom_down), %esi
	movw	$PORT_SHUTDOWN, %dx
3:	movb	(%esi), %al
	testb	%al, %al
	jz	4f
	outb	%al, %dx
	incl	%esi
	jmp	3b
4:	hlt
	jmp	4b

rom_msg:
	.asciz	"htbochs: error 1 0 0 (boot disk)\n"
rom_down:
	.asciz	"Shutdown"

	.balign	8
rom_gdt:
	.quad	0
	.quad	0x00cf9b000000ffff	/* SEL_CODE32: flat 32-bit code */
	.quad	0x00cf93000000ffff	/* SEL_DATA: flat data */
rom_gdtr:
	.word	3 * 8 - 1
	.long	ROMABS(rom_gdt)

	/* Real mode with CS.base = 0xffff0000. */
	.code16
rom16:
	cli
	cld
	inb	$0x92, %al		/* fast A20 on (bit 0 would reset) */
	orb	$0x02, %al
	andb	$0xfe, %al
	outb	%al, $0x92
	lgdtl	%cs:ROMCS(rom_gdtr)
	movl	%cr0, %eax
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$SEL_CODE32, $ROMABS(rom32)

	.org	rom_start + BROM_DEST
rom_dest:
	.long	0			/* patched: the area's address */
	.org	rom_start + BROM_NSECT
rom_nsect:
	.long	0			/* patched: sectors to load */
	.org	rom_start + BROM_ENTRY
rom_entry:
	.long	0			/* patched: g_entry32's address */
	.org	rom_start + 0x1f0	/* the reset vector, 0xfffffff0 */
	jmp	rom16
	.org	rom_start + BROM_PIECE

/* ------------------------------------------------------------------ */
engine_bochs_guest:
g_start:
	/* The header: the host reads it as struct bg_header. */
	.long	BG_HDRMAGIC
	.long	GOFF(g_entry32)
	.long	GOFF(g_exc64)
	.long	GOFF(engine_bochs_guest_end)
	.long	GOFF(g_timer64)
	.long	GOFF(g_spurious64)
	/* a guest job's stub sets (GOFF), by BGS_* */
	.long	GOFF(gs_vmx_k64), GOFF(gs_vmx_u64)
	.long	GOFF(gs_svm_k64), GOFF(gs_svm_u64)
	.long	GOFF(gs_vmx_k32), GOFF(gs_vmx_u32)
	.long	GOFF(gs_svm_k32), GOFF(gs_svm_u32)
	.long	GOFF(g_upage)		/* the user page */

	.code32
/*
 * From the ROM: flat protected mode, paging off, %ebp = the area.  Open
 * the i440FX's PAM registers (0x59-0x5f: 0x33 = read and write go to
 * RAM) and SMRAM's D_OPEN (0x72), then long mode on L1's tables.
 */
g_entry32:
	leal	BA_STACK_TOP(%ebp), %esp
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
	/*
	 * The I/O APIC off (the PIIX3's XBCS, 0x4f: bit 0): Bochs panics at
	 * an 8-byte read of its registers, which a probe may make.
	 */
	movw	$0xcf8, %dx
	movl	$0x8000084c, %eax
	outl	%eax, %dx
	movw	$0xcff, %dx
	xorl	%eax, %eax
	outb	%al, %dx

	lgdtl	BP_GDTR(%ebp)
	movl	BP_CR4(%ebp), %eax
	movl	%eax, %cr4
	movl	BP_CR3(%ebp), %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	movl	BP_EFER(%ebp), %eax
	xorl	%edx, %edx
	wrmsr
	movl	BP_CR0(%ebp), %eax
	movl	%eax, %cr0
	/* Compatibility mode: a far return into the 64-bit code segment. */
	leal	GOFF(g_long64)(%ebp), %eax
	pushl	$SEL_CODE64
	pushl	%eax
	lret

/* ------------------------------------------------------------------ */
	.code64
g_long64:
	leaq	g_start(%rip), %rbp
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	leaq	BA_STACK_TOP(%rbp), %rsp
	lidtq	BP_IDTR(%rbp)
	movw	$SEL_TSS, %ax
	ltr	%ax
	movl	$0x80000008, %eax
	cpuid
	movq	%rax, BA_STATUS + BS_CPUID8(%rbp)
	/*
	 * The local APIC in x2APIC mode: its registers are MSRs and nothing
	 * answers at 0xfee00000 (Bochs panics at an 8-byte read there too).
	 */
	movl	$MSR_APICBASE, %ecx
	rdmsr
	orl	$APIC_EN | APIC_EXTD, %eax
	wrmsr

	/*
	 * Markers in the blocks of RAM the fill map names; then the image's
	 * data pages over them.
	 */
	call	simd_setup
	xorl	%r12d, %r12d		/* block */
1:	cmpl	$BFILL_BLOCKS, %r12d
	jae	3f
	btl	%r12d, BP_FILLMAP(%rbp)
	jnc	2f
	movq	%r12, %rdi
	shlq	$BFILL_SHIFT, %rdi
	leaq	(1 << BFILL_SHIFT)(%rdi), %rsi
	call	fill_markers
2:	incl	%r12d
	jmp	1b
3:	xorl	%r15d, %r15d		/* load */
	call	walk_runs
	/* The link to the engine's subtree in the borrowed slot. */
	movq	BP_SLOTPA(%rbp), %rdi
	movq	BP_SLOTLINK(%rbp), %rax
	movq	%rax, (%rdi)
	/* A guest job: the link to our guest-format tables too. */
	cmpq	$0, BP_GUEST(%rbp)
	je	1f
	movq	BP_GSLOTPA(%rbp), %rdi
	movq	BP_GSLOTLINK(%rbp), %rax
	movl	%eax, (%rdi)
	cmpq	$8, BP_GSLOTW(%rbp)
	jne	1f
	movq	%rax, (%rdi)
1:

	cmpq	$BK_VMX, BP_KIND(%rbp)
	jne	1f
	call	vmx_setup
	jmp	2f
1:	call	svm_setup
2:
	/* The probes, a chunk at a time. */
	movq	$0, BP_DONE(%rbp)
g_chunk:
	movq	BP_NPROBES(%rbp), %rcx
	subq	BP_DONE(%rbp), %rcx
	jz	g_finish
	cmpq	$BPROBE_CHUNK, %rcx
	jbe	1f
	movq	$BPROBE_CHUNK, %rcx
1:	movq	%rcx, BP_N(%rbp)
	movq	$0, BP_I(%rbp)
	/* read: sector BP_LBA_PROBES + done * 16 / 512 */
	leaq	BA_PROBES(%rbp), %rdi
	movq	BP_DONE(%rbp), %r8
	shrq	$5, %r8
	addq	BP_LBA_PROBES(%rbp), %r8
	movq	%rcx, %r9
	shlq	$4, %r9
	addq	$511, %r9
	shrq	$9, %r9
	call	ata_read
	/* clear the results */
	leaq	BA_RESULTS(%rbp), %rdi
	movq	BP_N(%rbp), %rcx
	imulq	$BRS_SIZE / 8, %rcx
	xorl	%eax, %eax
	rep stosq
	cmpq	$BK_VMX, BP_KIND(%rbp)
	je	vmx_probes
	jmp	svm_probes
	/* Both come back here (a jump: a VM exit resets the stack). */
g_chunk_done:
	/* write: sector BP_LBA_RESULTS + done * 48 / 512 */
	leaq	g_start(%rip), %rbp
	leaq	BA_STACK_TOP(%rbp), %rsp
	leaq	BA_RESULTS(%rbp), %rsi
	movq	BP_DONE(%rbp), %r8
	imulq	$BRS_SIZE, %r8
	shrq	$9, %r8
	addq	BP_LBA_RESULTS(%rbp), %r8
	movq	BP_N(%rbp), %r9
	imulq	$BRS_SIZE, %r9
	addq	$511, %r9
	shrq	$9, %r9
	call	ata_write
	movq	BP_N(%rbp), %rcx
	addq	%rcx, BP_DONE(%rbp)
	jmp	g_chunk

g_finish:
	/* The data pages as the run left them, then the status. */
	movl	$1, %r15d		/* store */
	call	walk_runs
	movq	BP_DONE(%rbp), %rax
	movq	%rax, BA_STATUS + BS_NDONE(%rbp)
	movq	$BG_DONE, BA_STATUS + BS_DONE(%rbp)
	leaq	BA_STATUS(%rbp), %rsi
	movq	BP_LBA_STATUS(%rbp), %r8
	movl	$8, %r9d
	call	ata_write
	jmp	shutdown

/* ------------------------------------------------------------------ */
/*
 * fill_markers: [%rdi, %rsi) gets MARKER(pa) at every 8-byte word pa;
 * both ends 256-byte aligned.  Vector registers hold consecutive markers
 * (the marker of pa + 8 is the marker of pa + 0x100) and each step adds
 * the width of the stores to every lane: AVX-512 when the CPU has it
 * (BP_AVX512, set by simd_setup), else SSE2.  Bochs spends its time on
 * the stores, so the wider the better.
 */
fill_markers:
	cmpq	%rsi, %rdi
	jae	9f
	movq	%rdi, %rax
	shlq	$5, %rax
	orq	$0xc3, %rax
	cmpq	$0, BP_AVX512(%rbp)
	je	3f
	vpbroadcastq %rax, %zmm0
	vpaddq	lanes(%rip), %zmm0, %zmm0
	movl	$0x800, %eax
	vpbroadcastq %rax, %zmm4
	vpaddq	%zmm4, %zmm0, %zmm1
	vpaddq	%zmm4, %zmm1, %zmm2
	vpaddq	%zmm4, %zmm2, %zmm3
	vpaddq	%zmm4, %zmm4, %zmm5
	vpaddq	%zmm5, %zmm5, %zmm5
1:	vmovdqa64 %zmm0, (%rdi)
	vmovdqa64 %zmm1, 64(%rdi)
	vmovdqa64 %zmm2, 128(%rdi)
	vmovdqa64 %zmm3, 192(%rdi)
	vpaddq	%zmm5, %zmm0, %zmm0
	vpaddq	%zmm5, %zmm1, %zmm1
	vpaddq	%zmm5, %zmm2, %zmm2
	vpaddq	%zmm5, %zmm3, %zmm3
	addq	$256, %rdi
	cmpq	%rsi, %rdi
	jb	1b
	ret
3:	movq	%rax, %xmm0
	addq	$0x100, %rax
	movq	%rax, %xmm5
	punpcklqdq %xmm5, %xmm0
	movl	$0x200, %eax
	movq	%rax, %xmm6
	punpcklqdq %xmm6, %xmm6
	movdqa	%xmm0, %xmm1
	paddq	%xmm6, %xmm1
	movdqa	%xmm1, %xmm2
	paddq	%xmm6, %xmm2
	movdqa	%xmm2, %xmm3
	paddq	%xmm6, %xmm3
	movdqa	%xmm6, %xmm4
	paddq	%xmm4, %xmm4
	paddq	%xmm4, %xmm4
4:	movdqa	%xmm0, (%rdi)
	movdqa	%xmm1, 16(%rdi)
	movdqa	%xmm2, 32(%rdi)
	movdqa	%xmm3, 48(%rdi)
	paddq	%xmm4, %xmm0
	paddq	%xmm4, %xmm1
	paddq	%xmm4, %xmm2
	paddq	%xmm4, %xmm3
	addq	$64, %rdi
	cmpq	%rsi, %rdi
	jb	4b
9:	ret

/*
 * simd_setup: AVX-512 for fill_markers if CPUID has AVX512F and XSAVE:
 * CR4.OSXSAVE, XCR0 = x87, SSE, AVX, opmask, ZMM state; BP_AVX512 = 1.
 */
simd_setup:
	movq	$0, BP_AVX512(%rbp)
	movl	$1, %eax
	cpuid
	testl	$(1 << 26), %ecx	/* XSAVE */
	jz	9f
	xorl	%eax, %eax
	cpuid
	cmpl	$7, %eax
	jb	9f
	movl	$7, %eax
	xorl	%ecx, %ecx
	cpuid
	testl	$(1 << 16), %ebx	/* AVX512F */
	jz	9f
	movq	%cr4, %rax
	orq	$(1 << 18), %rax	/* OSXSAVE */
	movq	%rax, %cr4
	xorl	%ecx, %ecx
	movl	$0xe7, %eax
	xorl	%edx, %edx
	xsetbv
	movq	$1, BP_AVX512(%rbp)
9:	ret

	.balign	64
lanes:
	.quad	0, 0x100, 0x200, 0x300, 0x400, 0x500, 0x600, 0x700

/*
 * walk_runs: every entry of the run index, read from the disk a chunk at
 * a time.  %r15 = 0: load each data run from BP_LBA_DATA on and clear
 * each zero run; %r15 = 1: write each data run to BP_LBA_AFTER on.
 */
walk_runs:
	movq	BP_NRUNS(%rbp), %r12	/* entries left */
	movq	BP_LBA_INDEX(%rbp), %r13
	movq	BP_LBA_DATA(%rbp), %r14
	testq	%r15, %r15
	jz	1f
	movq	BP_LBA_AFTER(%rbp), %r14
1:	testq	%r12, %r12
	jz	9f
	movq	%r12, %rbx
	cmpq	$BIDX_CHUNK, %rbx
	jbe	2f
	movq	$BIDX_CHUNK, %rbx
2:	leaq	BA_INDEX(%rbp), %rdi
	movq	%r13, %r8
	leaq	511(, %rbx, 8), %r9
	shrq	$9, %r9
	call	ata_read
	addq	$BIDX_CHUNK * 8 / 512, %r13
	subq	%rbx, %r12
	leaq	BA_INDEX(%rbp), %r10
3:	movq	(%r10), %rax		/* one run */
	movq	%rax, %r11
	andq	$BR_COUNT, %r11		/* pages */
	movq	%rax, %rdi
	andq	$~0xfff, %rdi		/* its address */
	testq	$BR_ZERO, %rax
	jz	4f
	testq	%r15, %r15
	jnz	5f
	movq	%r11, %rcx
	shlq	$9, %rcx
	xorl	%eax, %eax
	rep stosq
	jmp	5f
4:	leaq	(, %r11, 8), %r9	/* sectors */
	movq	%r14, %r8
	addq	%r9, %r14
	testq	%r15, %r15
	jnz	6f
	call	ata_read
	jmp	5f
6:	movq	%rdi, %rsi
	call	ata_write
5:	addq	$8, %r10
	decq	%rbx
	jnz	3b
	jmp	1b
9:	ret

/* ------------------------------------------------------------------ */
/*
 * The disk, by PIO (LBA28).  ata_read: %r9 sectors from sector %r8 to
 * %rdi; ata_write: %r9 sectors from %rsi to sector %r8.  %rdi / %rsi end
 * past the data; %rax, %rcx, %rdx, %r8, %r9 are used.  An error of the
 * disk is fatal (BE_ATA).
 */
ata_read:
	movb	$ATA_READ, %al
	call	ata_command
	jz	9f
1:	call	ata_drq
	movl	$256, %ecx
	movw	$ATA_DATA, %dx
	rep insw
	decq	%r11
	jnz	1b
	jmp	ata_read
9:	ret

ata_write:
	movb	$ATA_WRITE, %al
	call	ata_command
	jz	9f
1:	call	ata_drq
	movl	$256, %ecx
	movw	$ATA_DATA, %dx
	rep outsw
	decq	%r11
	jnz	1b
	call	ata_bsy
	testb	$ATA_ERRS, %al
	jnz	ata_fail
	jmp	ata_write
9:	ret

/*
 * ata_command: start command %al on the next min(%r9, ATA_CHUNK)
 * sectors from %r8, and account for them: %r11 = their number, %r8 and
 * %r9 advanced.  ZF set (nothing done) when %r9 is 0.  %r11 is the
 * caller's count of sectors still to move in this command.
 */
ata_command:
	testq	%r9, %r9
	jz	9f
	pushq	%rax
	call	ata_bsy
	movw	$ATA_CTL, %dx
	movb	$2, %al
	outb	%al, %dx
	movq	%r9, %r11
	cmpq	$ATA_CHUNK, %r11
	jbe	1f
	movq	$ATA_CHUNK, %r11
1:	movw	$ATA_DRIVE, %dx
	movq	%r8, %rax
	shrq	$24, %rax
	andb	$0x0f, %al
	orb	$0xe0, %al
	outb	%al, %dx
	movw	$ATA_COUNT, %dx
	movb	%r11b, %al
	outb	%al, %dx
	movq	%r8, %rax
	incw	%dx
	outb	%al, %dx
	shrq	$8, %rax
	incw	%dx
	outb	%al, %dx
	shrq	$8, %rax
	incw	%dx
	outb	%al, %dx
	popq	%rax
	movw	$ATA_CMD, %dx
	outb	%al, %dx
	addq	%r11, %r8
	subq	%r11, %r9
	orl	$1, %eax		/* ZF clear */
9:	ret

ata_bsy:
	movw	$ATA_CMD, %dx
1:	inb	%dx, %al
	testb	$ATA_BSY, %al
	jnz	1b
	ret

ata_drq:
	movw	$ATA_CMD, %dx
1:	inb	%dx, %al
	testb	$ATA_BSY, %al
	jnz	1b
	testb	$ATA_ERRS, %al
	jnz	ata_fail
	testb	$ATA_DRQ, %al
	jz	1b
	ret

ata_fail:
	movl	$BE_ATA, %edi
	movzbl	%al, %esi
	movq	%r8, %rdx
	jmp	fatal

/* ------------------------------------------------------------------ */
/* VMX: VMXON, the VMCS from the host's table. */
vmx_setup:
	movl	$1, %eax
	cpuid
	testl	$0x20, %ecx		/* CPUID.1:ECX.VMX */
	jz	novirt
	movl	$MSR_FEATCTL, %ecx
	rdmsr
	movl	%eax, BA_STATUS + BS_FEATCTL(%rbp)
	testl	$1, %eax		/* locked: must allow VMXON */
	jnz	1f
	movl	$5, %eax		/* lock, VMX outside SMX */
	xorl	%edx, %edx
	wrmsr
	jmp	2f
1:	testl	$4, %eax
	jz	novirt
2:	movl	$MSR_VMX_BASIC, %ecx
	rdmsr
	movl	%eax, BA_STATUS + BS_VMXBASIC(%rbp)
	movl	%edx, BA_STATUS + BS_VMXBASIC + 4(%rbp)
	andl	$0x7fffffff, %eax
	movl	%eax, BA_VMXON(%rbp)
	movl	%eax, BA_VMCS(%rbp)
	movl	$MSR_PROC2, %ecx
	rdmsr
	movl	%eax, BA_STATUS + BS_PROC2(%rbp)
	movl	%edx, BA_STATUS + BS_PROC2 + 4(%rbp)
	testl	$2, %edx		/* EPT allowed */
	jz	novirt
	movl	$MSR_EPTCAP, %ecx
	rdmsr
	movl	%eax, BA_STATUS + BS_EPTCAP(%rbp)
	movl	%edx, BA_STATUS + BS_EPTCAP + 4(%rbp)
	movq	%cr4, %rax
	orq	$CR4_VMXE, %rax
	movq	%rax, %cr4
	/* the regions' addresses, in memory for the instructions */
	leaq	BA_VMXON(%rbp), %rax
	movq	%rax, BP_I(%rbp)
	vmxon	BP_I(%rbp)
	jbe	vmxon_fail
	leaq	BA_VMCS(%rbp), %rax
	movq	%rax, BP_I(%rbp)
	vmclear	BP_I(%rbp)
	jbe	vmcs_fail
	vmptrld	BP_I(%rbp)
	jbe	vmcs_fail
	/* the table: field, how, value */
	leaq	BA_VMCSTAB(%rbp), %r12
	movq	BP_NVMCS(%rbp), %r13
3:	testq	%r13, %r13
	jz	8f
	movl	(%r12), %r14d		/* field */
	movl	4(%r12), %ecx		/* how | MSR << 16 */
	movq	8(%r12), %rbx		/* value */
	movl	%ecx, %eax
	andl	$0xffff, %eax
	shrl	$16, %ecx
	cmpl	$BV_CTLS, %eax
	je	4f
	cmpl	$BV_FIXED, %eax
	je	5f
	cmpl	$BV_AREA, %eax
	jne	7f
	addq	%rbp, %rbx
	jmp	7f
	/* needed bits in the low half, wanted ones in the high half */
4:	rdmsr				/* allowed 0 in EAX, 1 in EDX */
	movq	%rbx, %r15
	shrq	$32, %rbx
	orl	%r15d, %ebx
	orl	%eax, %ebx
	andl	%edx, %ebx
	movl	%ebx, %eax
	notl	%eax
	andl	%r15d, %eax		/* needed but not allowed */
	jz	7f
	movl	$BE_CTLS, %edi
	movq	%r14, %rsi
	movq	%r15, %rdx
	jmp	fatal
5:	rdmsr				/* fixed 0: must be 1 */
	shlq	$32, %rdx
	orq	%rdx, %rax
	orq	%rax, %rbx
	incl	%ecx
	rdmsr				/* fixed 1: may be 1 */
	shlq	$32, %rdx
	orq	%rdx, %rax
	andq	%rax, %rbx
7:	vmwrite	%rbx, %r14
	jbe	vmwrite_fail
	addq	$BVMCS_SIZE, %r12
	decq	%r13
	jmp	3b
8:	leaq	vmx_exit(%rip), %rax
	movl	$VM_HOST_RIP, %ecx
	vmwrite	%rax, %rcx
	jbe	vmwrite_fail
	leaq	BA_STACK_TOP(%rbp), %rax
	movl	$VM_HOST_RSP, %ecx
	vmwrite	%rax, %rcx
	jbe	vmwrite_fail
	movq	$0, BP_LAUNCHED(%rbp)
	ret

vmxon_fail:
	pushfq
	popq	%rsi
	movl	$BE_VMXON, %edi
	xorl	%edx, %edx
	jmp	fatal
vmcs_fail:
	pushfq
	popq	%rsi
	movl	$BE_VMCS, %edi
	xorl	%edx, %edx
	jmp	fatal
vmwrite_fail:
	movl	$VM_INSTR_ERROR, %eax
	xorl	%edx, %edx
	vmread	%rax, %rdx
	movq	%r14, %rsi
	movl	$BE_VMWRITE, %edi
	jmp	fatal

/*
 * The probes of the chunk through VMX: BP_I up to BP_N.  Each VM exit
 * comes back at vmx_exit with L1's stack and nothing else of its state.
 */
vmx_probes:
	movq	BP_I(%rbp), %rbx
	cmpq	BP_N(%rbp), %rbx
	jae	9f
	shlq	$4, %rbx
	leaq	BA_PROBES(%rbp, %rbx), %rsi
	cmpq	$0, BP_GUEST(%rbp)
	jne	vmx_guest
	call	window			/* %rax = L2's address */
	movq	%rax, %r12
	movl	8(%rsi), %ecx		/* op */
	leaq	l2_stubs_vmx(%rip), %rax
	movq	(%rax, %rcx, 8), %rax
	movl	$VM_GUEST_RIP, %ecx
	vmwrite	%rax, %rcx
	movq	$BL2_BASE + BA_L2STACK_TOP, %rax
	movl	$VM_GUEST_RSP, %ecx
	vmwrite	%rax, %rcx
	movl	$2, %eax
	movl	$VM_GUEST_RFLAGS, %ecx
	vmwrite	%rax, %rcx
vmx_enter:
	movq	%r12, %rax
	xorl	%ebx, %ebx
	xorl	%ecx, %ecx
	cmpq	$0, BP_LAUNCHED(%rbp)
	jne	1f
	vmlaunch
	jmp	2f
1:	vmresume
2:	movl	$VM_INSTR_ERROR, %eax
	xorl	%esi, %esi
	vmread	%rax, %rsi
	movl	$BE_ENTRY, %edi
	movq	BP_LAUNCHED(%rbp), %rdx
	jmp	fatal
9:	jmp	g_chunk_done

/*
 * A guest job: L2 in the context of the probe's CPL (gcontext), its
 * segments, RIP (the stub of the op), RSP and RFLAGS into the VMCS;
 * RAX = va.
 */
	.macro	GVMW off, field
	movq	\off(%r8), %rax
	movl	$\field, %r14d
	vmwrite	%rax, %r14
	jbe	vmwrite_fail
	.endm
vmx_guest:
	call	gcontext
	GVMW	BC_CS, 0x0802
	GVMW	BC_CSAR, 0x4816
	GVMW	BC_SS, 0x0804
	GVMW	BC_SSAR, 0x4818
	GVMW	BC_RSP, VM_GUEST_RSP
	GVMW	BC_RFLAGS, VM_GUEST_RFLAGS
	movl	8(%rsi), %eax		/* op */
	shll	$4, %eax		/* BG_STUB apart */
	addq	BC_STUBS(%r8), %rax
	movl	$VM_GUEST_RIP, %r14d
	vmwrite	%rax, %r14
	jbe	vmwrite_fail
	movq	(%rsi), %r12
	jmp	vmx_enter

/*
 * gcontext: %r8 = the context of probe (%rsi)'s CPL; with BP_GPERPROBE
 * its guest slot entry goes in (4 bytes: a 32-bit guest).  Uses %rax,
 * %rdx.
 */
gcontext:
	leaq	BP_GCTX(%rbp), %r8
	cmpl	$3, 12(%rsi)		/* cpl */
	jne	1f
	addq	$BC_SIZE, %r8
1:	cmpq	$0, BP_GPERPROBE(%rbp)
	je	2f
	movq	BP_GSLOTPA(%rbp), %rdx
	movq	BC_GLINK(%r8), %rax
	movl	%eax, (%rdx)
2:	ret

/* Host RIP: a VM exit from L2.  %rbx and %rcx are L2's. */
vmx_exit:
	leaq	g_start(%rip), %rbp
	movq	$1, BP_LAUNCHED(%rbp)
	movq	BP_I(%rbp), %rdi
	imulq	$BRS_SIZE, %rdi
	leaq	BA_RESULTS(%rbp, %rdi), %rdi
	movq	%rbx, BRS_VALUE(%rdi)
	movq	%rcx, BRS_RCX(%rdi)
	movl	$1, BRS_RAN(%rdi)
	movl	$VM_EXIT_REASON, %eax
	xorl	%edx, %edx
	vmread	%rax, %rdx
	movl	%edx, BRS_REASON(%rdi)
	testl	$VMX_EXIT_FAILED, %edx
	jnz	1f
	movl	$VM_EXIT_QUAL, %eax
	vmread	%rax, BRS_QUAL(%rdi)
	movl	$VM_GUEST_PA, %eax
	vmread	%rax, BRS_GPA(%rdi)
	movl	$VM_EXIT_INTINFO, %eax
	vmread	%rax, BRS_INFO(%rdi)
	movl	$VM_EXIT_INTERR, %eax
	vmread	%rax, BRS_ERROR(%rdi)
	movl	$VM_GUEST_RIP, %eax
	vmread	%rax, BRS_RIP(%rdi)
	incq	BP_I(%rbp)
	jmp	vmx_probes
1:	movl	$VM_EXIT_QUAL, %eax
	xorl	%ecx, %ecx
	vmread	%rax, %rcx
	movq	%rdx, %rsi
	movq	%rcx, %rdx
	movl	$BE_BADGUEST, %edi
	jmp	fatal

/*
 * window: point the window PTE of L2 at probe (%rsi)'s page; %rax = the
 * address L2 uses for it.  Uses %rcx, %rdx.
 */
window:
	movq	(%rsi), %rax		/* va: a guest-physical address */
	movq	%rax, %rdx
	andq	BP_GPAMASK(%rbp), %rdx
	orq	$WIN_PTE, %rdx
	cmpl	$3, 12(%rsi)		/* cpl */
	jne	1f
	orq	$WIN_U, %rdx
1:	movq	%rdx, BA_L2WINPT(%rbp)
	andl	$0xfff, %eax
	addq	$BL2_WINDOW, %rax
	ret

/* ------------------------------------------------------------------ */
/* SVM: EFER.SVME and the host save area; the host built the VMCB. */
svm_setup:
	/*
	 * Not CPUID.80000001h:ECX.SVM: Bochs 2.7's bx_generic leaves it
	 * clear with svm=1.  Leaf 0x8000000a is there only with SVM.
	 */
	movl	$0x80000000, %eax
	cpuid
	cmpl	$0x8000000a, %eax
	jb	novirt
	movl	$0x8000000a, %eax
	cpuid
	movl	%edx, BA_STATUS + BS_SVMFEAT(%rbp)
	testl	$1, %edx		/* nested paging */
	jz	novirt
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_SVME, %eax
	wrmsr
	movl	$MSR_HSAVE, %ecx
	leaq	BA_VMXON(%rbp), %rax
	movq	%rax, %rdx
	shrq	$32, %rdx
	wrmsr
	/*
	 * The local APIC's timer bounds every run of L2 (one-shot, armed
	 * per probe): its interrupt is a #VMEXIT(INTR) in L2, which runs
	 * with IF set for it.  GIF stays clear in L1 but where svm_drain
	 * takes a pending interrupt.
	 */
	clgi
	movl	$X2APIC_SVR, %ecx
	movl	$0x100 | BV_SPURIOUS, %eax
	xorl	%edx, %edx
	wrmsr
	movl	$X2APIC_LVT_TIMER, %ecx
	movl	$BV_TIMER, %eax
	wrmsr
	movl	$X2APIC_DIVIDE, %ecx
	movl	$0xb, %eax		/* divide by 1 */
	wrmsr
	movl	$X2APIC_COUNT, %ecx
	xorl	%eax, %eax
	wrmsr
	sti
	/* every I/O port and MSR intercepted */
	leaq	BA_IOPM(%rbp), %rdi
	movl	$(BA_MSRPM + 0x2000 - BA_IOPM) / 8, %ecx
	movq	$-1, %rax
	rep stosq
	ret

/* The probes of the chunk through SVM: BP_I up to BP_N. */
svm_probes:
	movq	BP_I(%rbp), %rbx
	cmpq	BP_N(%rbp), %rbx
	jae	9f
	shlq	$4, %rbx
	leaq	BA_PROBES(%rbp, %rbx), %rsi
	cmpq	$0, BP_GUEST(%rbp)
	jne	svm_guest
	call	window
	leaq	BA_VMCS(%rbp), %rdi
	movq	%rax, VMCB_RAX(%rdi)
	movl	8(%rsi), %ecx		/* op */
	leaq	l2_stubs_svm(%rip), %rax
	movq	(%rax, %rcx, 8), %rax
	movq	%rax, VMCB_RIP(%rdi)
	movq	$BL2_BASE + BA_L2STACK_TOP, VMCB_RSP(%rdi)
	movq	$0x202, VMCB_RFLAGS(%rdi)	/* IF: the timer's exit */
	jmp	svm_enter
	/*
	 * A guest job: the context of the probe's CPL (segments, CPL, the
	 * stub of the op, stack, flags with IF) into the VMCB; RAX = va.
	 */
svm_guest:
	call	gcontext
	leaq	BA_VMCS(%rbp), %rdi
	movq	(%rsi), %rax
	movq	%rax, VMCB_RAX(%rdi)
	movq	BC_CS(%r8), %rax
	movq	%rax, VMCB_CS(%rdi)
	movq	BC_SS(%r8), %rax
	movq	%rax, VMCB_SS(%rdi)
	movb	BC_CPL(%r8), %al
	movb	%al, VMCB_CPL(%rdi)
	movq	BC_RSP(%r8), %rax
	movq	%rax, VMCB_RSP(%rdi)
	movq	BC_RFLAGS(%r8), %rax
	movq	%rax, VMCB_RFLAGS(%rdi)
	movl	8(%rsi), %eax		/* op */
	shll	$4, %eax		/* BG_STUB apart */
	addq	BC_STUBS(%r8), %rax
	movq	%rax, VMCB_RIP(%rdi)
svm_enter:
	movl	$1, VMCB_TLBCTL(%rdi)	/* flush the TLB at VMRUN */
	movl	$X2APIC_COUNT, %ecx
	movl	$BSVM_TIMER, %eax
	xorl	%edx, %edx
	wrmsr
	xorl	%ebx, %ebx
	xorl	%ecx, %ecx
	movq	%rdi, %rax
	vmrun	%rax
	movq	%rcx, %r12		/* L2's */
	movl	$X2APIC_COUNT, %ecx
	xorl	%eax, %eax
	xorl	%edx, %edx
	wrmsr
	/* an interrupt the timer left pending: take it now */
	stgi
	nop
	clgi
	leaq	g_start(%rip), %rbp
	leaq	BA_VMCS(%rbp), %rsi
	movq	VMCB_EXITCODE(%rsi), %rax
	cmpq	$-1, %rax
	je	svm_invalid
	movq	BP_I(%rbp), %rdi
	imulq	$BRS_SIZE, %rdi
	leaq	BA_RESULTS(%rbp, %rdi), %rdi
	movq	%rbx, BRS_VALUE(%rdi)
	movq	%r12, BRS_RCX(%rdi)
	movl	$1, BRS_RAN(%rdi)
	movl	%eax, BRS_REASON(%rdi)
	movq	VMCB_EXITINFO1(%rsi), %rax
	movq	%rax, BRS_QUAL(%rdi)
	movq	VMCB_EXITINFO2(%rsi), %rax
	movq	%rax, BRS_GPA(%rdi)
	movq	VMCB_EXITINT(%rsi), %rax
	movq	%rax, BRS_INFO(%rdi)
	movq	VMCB_RIP(%rsi), %rax
	movq	%rax, BRS_RIP(%rdi)
	incq	BP_I(%rbp)
	jmp	svm_probes
9:	jmp	g_chunk_done
svm_invalid:
	movl	$BE_VMRUN, %edi
	movq	%rax, %rsi
	xorl	%edx, %edx
	jmp	fatal

novirt:
	movl	$BE_NOVIRT, %edi
	movq	BP_KIND(%rbp), %rsi
	xorl	%edx, %edx
	jmp	fatal

/* ------------------------------------------------------------------ */
/*
 * fatal: print "htbochs: error %edi %rsi %rdx" (hex) on port 0xe9 and
 * end Bochs.
 */
fatal:
	movq	%rdx, %r13
	movq	%rsi, %r12
	movl	%edi, %ebx
	leaq	msg_error(%rip), %rsi
	call	puts
	movq	%rbx, %rax
	call	puthex
	movb	$' ', %al
	call	putc
	movq	%r12, %rax
	call	puthex
	movb	$' ', %al
	call	putc
	movq	%r13, %rax
	call	puthex
	movb	$'\n', %al
	call	putc
shutdown:
	leaq	msg_down(%rip), %rsi
	movw	$PORT_SHUTDOWN, %dx
1:	movb	(%rsi), %al
	testb	%al, %al
	jz	2f
	outb	%al, %dx
	incq	%rsi
	jmp	1b
2:	hlt
	jmp	2b

puts:
	movb	(%rsi), %al
	testb	%al, %al
	jz	1f
	call	putc
	incq	%rsi
	jmp	puts
1:	ret

putc:
	movw	$PORT_E9, %dx
	outb	%al, %dx
	ret

/* %rax in hex, without leading zeros */
puthex:
	movq	%rax, %r8
	movl	$60, %ecx
	xorl	%r9d, %r9d		/* a digit was printed */
1:	movq	%r8, %rax
	shrq	%cl, %rax
	andl	$15, %eax
	testl	%ecx, %ecx
	jz	2f
	testl	%eax, %eax
	jnz	2f
	testl	%r9d, %r9d
	jz	3f
2:	movl	$1, %r9d
	leaq	hexdig(%rip), %rdx
	movb	(%rdx, %rax), %al
	call	putc
3:	subl	$4, %ecx
	jns	1b
	ret

msg_error:
	.asciz	"htbochs: error "
msg_down:
	.asciz	"Shutdown"
hexdig:
	.ascii	"0123456789abcdef"

/* L1's exceptions: a 16-byte stub per vector, then fatal. */
	.macro	EXC_NOERR v
	.balign	16
	pushq	$0
	pushq	$\v
	jmp	exc_common
	.endm
	.macro	EXC_ERR v
	.balign	16
	pushq	$\v
	jmp	exc_common
	.endm

	.balign	16
g_exc64:
	EXC_NOERR 0
	EXC_NOERR 1
	EXC_NOERR 2
	EXC_NOERR 3
	EXC_NOERR 4
	EXC_NOERR 5
	EXC_NOERR 6
	EXC_NOERR 7
	EXC_ERR 8
	EXC_NOERR 9
	EXC_ERR 10
	EXC_ERR 11
	EXC_ERR 12
	EXC_ERR 13
	EXC_ERR 14
	EXC_NOERR 15
	EXC_NOERR 16
	EXC_ERR 17
	EXC_NOERR 18
	EXC_NOERR 19
	EXC_NOERR 20
	EXC_ERR 21
	EXC_NOERR 22
	EXC_NOERR 23
	EXC_NOERR 24
	EXC_NOERR 25
	EXC_NOERR 26
	EXC_NOERR 27
	EXC_NOERR 28
	EXC_ERR 29
	EXC_ERR 30
	EXC_NOERR 31

/* The APIC timer's interrupt in L1 (SVM): end it. */
	.balign	16
g_timer64:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	movl	$X2APIC_EOI, %ecx
	xorl	%eax, %eax
	xorl	%edx, %edx
	wrmsr
	popq	%rdx
	popq	%rcx
	popq	%rax
	iretq
/* A spurious interrupt of the APIC: nothing to end. */
g_spurious64:
	iretq

/* Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS. */
exc_common:
	movq	(%rsp), %rsi
	movq	16(%rsp), %rdx
	movl	$BE_EXCEPTION, %edi
	jmp	fatal

/* ------------------------------------------------------------------ */
/*
 * L2's stubs, run at L2VA(): %rax = the window address of the probe.
 * A read loads %rbx, a write ORs 0 into the byte (locked: the MMU sees a
 * write), a fetch calls the marker's `ret`.  Each ends in the hypercall
 * that brings L2 back to L1.
 */
	.balign	8
l2_stubs_vmx:
	.quad	L2VA(l2_vmx_r), L2VA(l2_vmx_w), L2VA(l2_vmx_x)
l2_stubs_svm:
	.quad	L2VA(l2_svm_r), L2VA(l2_svm_w), L2VA(l2_svm_x)

	.balign	16
l2_vmx_r:
	movq	(%rax), %rbx
	vmcall
l2_vmx_w:
	lock orb $0, (%rax)
	vmcall
l2_vmx_x:
	call	*%rax
	vmcall
l2_svm_r:
	movq	(%rax), %rbx
	vmmcall
l2_svm_w:
	lock orb $0, (%rax)
	vmmcall
l2_svm_x:
	call	*%rax
	vmmcall

/*
 * A guest job's stubs: one set per hypercall, CPL and code size, the
 * user sets in the user page (U=1 in the guest slot's tables), BG_STUB
 * bytes per op (read, write, fetch), %rax/%eax = va.  Each first touches
 * its stack (which also fetches its code page), so that a fault of the
 * engine's own pages is taken at another instruction than the access
 * (at BG_ACCESS); then the access, then the hypercall.  32-bit code
 * reads the 8 bytes in two loads, into EBX and ECX.
 */
	.macro	GSTUBS64 call:vararg
	.balign	16
	pushq	%rcx
	popq	%rcx
	movq	(%rax), %rbx
	\call
	.balign	16
	pushq	%rcx
	popq	%rcx
	lock orb $0, (%rax)
	\call
	.balign	16
	pushq	%rcx
	popq	%rcx
	call	*%rax
	\call
	.balign	16
	.endm
	.macro	GSTUBS32 call:vararg
	.balign	16
	pushl	%ecx
	popl	%ecx
	movl	(%eax), %ebx
	movl	4(%eax), %ecx
	\call
	.balign	16
	pushl	%ecx
	popl	%ecx
	lock orb $0, (%eax)
	\call
	.balign	16
	pushl	%ecx
	popl	%ecx
	call	*%eax
	\call
	.balign	16
	.endm

	.balign	16
gs_vmx_k64:
	GSTUBS64 vmcall
gs_svm_k64:
	GSTUBS64 vmmcall
	.code32
gs_vmx_k32:
	GSTUBS32 vmcall
gs_svm_k32:
	GSTUBS32 vmmcall
	.code64

	.org	g_start + BG_UPAGE
g_upage:
gs_vmx_u64:
	GSTUBS64 vmcall
gs_svm_u64:
	GSTUBS64 vmmcall
	.code32
gs_vmx_u32:
	GSTUBS32 vmcall
gs_svm_u32:
	GSTUBS32 vmmcall
	.code64

	.balign	16
engine_bochs_guest_end:

	.section .note.GNU-stack, "", @progbits
