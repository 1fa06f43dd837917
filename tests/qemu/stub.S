/*
 * stub.S - a 64 KiB boot firmware (QEMU -bios) that turns paging on with
 * page tables someone else put in guest RAM, then halts.  It exists so
 * that QEMU's monitor (`info tlb`, `info mem`) walks tables made by the
 * test, and the test can compare that walk with `htable dump`.
 *
 * QEMU maps a 64 KiB -bios image at 0xffff0000..0xffffffff.  The CPU
 * starts in real mode at 0xfffffff0 with CS.base = 0xffff0000.  The stub
 * loads a flat 32-bit GDT, enters protected mode, and far-jumps to 32-bit
 * code at its own address below 4 GiB.  It then reads the parameter block
 * that the harness put at physical PARAMS (QEMU's `-device loader,data=`):
 *
 *	PARAMS + 0x00	CR3 (low 32 bits used)
 *	PARAMS + 0x08	CR4 (low 32 bits used)
 *	PARAMS + 0x10	EFER (written only when not zero)
 *
 * and loads EFER, CR4, CR3, then CR0 |= PG | WP | PE.  The instruction
 * after that is fetched through the new tables, so the tables must map
 * the stub's first page (0xffff0000, where all the code that runs with
 * paging on lies) at the same virtual address, executable.  With
 * EFER.LME the CPU is then in IA-32e compatibility mode, which is all the
 * monitor looks at (CR0.PG, CR4, EFER.LMA).  Interrupts stay disabled and
 * the stub halts forever: nothing touches memory after the last fetch.
 *
 * Every absolute address is 0xffff0000 plus the distance from `base`, so
 * the object has no relocations and objcopy -O binary gives the image.
 */

#define	ROM_BASE	0xffff0000
#define	ABS(sym)	(ROM_BASE + ((sym) - base))
#define	PARAMS		0x8000
#define	MSR_EFER	0xc0000080
#define	CR0_PE		0x00000001
#define	CR0_WP		0x00010000
#define	CR0_PG		0x80000000
#define	SEL_CODE	0x08
#define	SEL_DATA	0x10

	.text
	.globl	base
base:
	.code32
prot32:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs

	/* EFER first: LME and NXE must be set while paging is off. */
	movl	PARAMS + 0x10, %eax
	movl	PARAMS + 0x14, %edx
	movl	%eax, %ecx
	orl	%edx, %ecx
	jz	1f
	movl	$MSR_EFER, %ecx
	wrmsr
1:
	/* CR4 (PSE, PAE, LA57) before CR3 and before paging. */
	movl	PARAMS + 0x08, %eax
	movl	%eax, %cr4
	movl	PARAMS + 0x00, %eax
	movl	%eax, %cr3

	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_WP | CR0_PE), %eax
	movl	%eax, %cr0
	/* From here every fetch goes through the page tables. */
halt:
	hlt
	jmp	halt

/* A flat GDT: null, 4 GiB code (0x08), 4 GiB data (0x10), accessed set. */
	.balign	8
gdt:
	.quad	0
	.quad	0x00cf9b000000ffff
	.quad	0x00cf93000000ffff
gdt_end:
gdtr:
	.word	gdt_end - gdt - 1
	.long	ABS(gdt)

/*
 * Real mode, CS.base = 0xffff0000: offsets in CS are offsets from base.
 * It sits just below the reset vector so that the jump there is short.
 */
	.org	0xff80
	.code16
real16:
	cli
	cld
	lgdtl	%cs:(gdtr - base)
	movl	%cr0, %eax
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$SEL_CODE, $ABS(prot32)

/* The reset vector: 16 bytes below 4 GiB, still in real mode. */
	.org	0xfff0
reset:
	jmp	real16
	.org	0x10000
