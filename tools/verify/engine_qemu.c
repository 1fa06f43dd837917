/*
 * engine_qemu.c - the QEMU engine of the verification library: run an
 * image's probes on QEMU's TCG MMU (qemu-system-x86_64 -accel tcg -cpu
 * max), in any of the four paging modes, and through AMD nested page
 * tables (npt4, npt5) with QEMU's SVM, either as guest-physical accesses
 * or as a guest's linear ones through its own tables in the image (guest
 * jobs).  Not EPT: QEMU 7.2's TCG has no VMX (the Bochs engine runs
 * EPT).
 *
 * Guest RAM is a file: QEMU's main memory is a shared memory-backend-file
 * that we fill before the run (image data pages, markers everywhere else,
 * the engine's area, the link in the borrowed slot) and read after it, so
 * no monitor protocol is needed to load or save memory: every store of
 * the guest (results, the MMU's accessed and dirty bits) is in the file
 * when QEMU exits.  The guest ends the run itself by writing to the
 * isa-debug-exit port; a run that does not end in time is killed.
 *
 * The engine's area [guest_pa, guest_pa + 2 MiB) is laid out as
 * engine_qemu.h says and built here completely: the guest code
 * (engine_qemu_guest.S, embedded in the binary), the parameter block,
 * GDT, TSS and IDT (their addresses are slot_va-based, the VA the area
 * keeps once the image's CR3 is loaded), the probe list, and bootstrap
 * page tables in the job's own paging mode.  The bootstrap tables map
 * the area twice: at its physical address (the code that turns paging on
 * keeps running at the address it was fetched from) and at slot_va with
 * 4 KiB pages, all supervisor except the user code page and the user
 * stack.  Their entry for slot_va at slot_level is exactly what the
 * image's empty slot entry must hold to give the area the same VA under
 * the image's root, so we copy it there (in the RAM file) before the run
 * and put the image's value (zero) back into mem_after afterwards.
 *
 * The -bios image is a 64 KiB ROM that holds only the reset vector and a
 * jump to protected mode (the ROM piece of the guest code), patched with
 * the guest's entry address; the guest itself runs from RAM.
 *
 * Probes and results share the area, so one run takes at most
 * QPROBES_MAX probes; a longer list runs in batches, each a new QEMU run
 * on the same RAM file, so the accessed and dirty bits accumulate as if
 * it were one run.
 *
 * What the engine cannot hide: the walks that fetch its own code set the
 * accessed bits of the image's entries above the slot (when slot_level
 * is below the root), and a user-mode probe needs those entries to allow
 * user access (otherwise the probe faults in the engine's user page and
 * is reported PROBE_NOTRUN, with the reason in the note).  A fault taken
 * anywhere but at the probe's own access instruction (or at va, for a
 * fetch) is likewise reported PROBE_NOTRUN rather than as the probe's
 * outcome.
 *
 * How QEMU is run, and why:
 *  - `-machine pc -nodefaults -bios ROM -device isa-debug-exit`: nothing
 *    but the CPU, the i440FX (whose PAM registers the guest opens, so
 *    0xc0000-0xfffff is RAM and not the BIOS), and the exit port.
 *  - `-smp 2 -accel tcg,thread=multi`: with one vCPU, TCG turns the
 *    write probe's `lock orb` into a load and a store, so a write to a
 *    not-present or supervisor page faults as a read (no W in the error
 *    code).  Multi-threaded TCG needs the atomic, which asks for a write.
 *  - `-cpu max,phys-bits=N`: MAXPHYADDR decides the reserved bits; N is
 *    the job's pa_bits, or the mode's widest.  HT_CPU_NO1G adds
 *    pdpe1gb=off, which QEMU 7.2's walk ignores (said in the note).
 *
 * Seen of QEMU 7.2 (tests/hw/test_engine_qemu.sh shows each): a
 * reserved-bit page fault has no P in its error code; in PAE the walk
 * sets bit 5 (accessed; reserved there) in the PDPTEs it uses, which
 * mem_after keeps and the note reports; a call to a non-canonical VA
 * takes its #GP at the target, not at the call (both are accepted as
 * the probe's own fault).
 *
 * Nested paging (npt4, npt5) and guest jobs on it are engine_qemu_svm.c's:
 * the area it builds, the results of its exits; the rest of a run (the
 * RAM file, the ROM, the batches, QEMU itself) is the same.
 *
 * HTABLE_QEMU_TRACE=FILE makes QEMU log every exception and reset of the
 * guest there, for debugging the guest code.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "engine_qemu.h"
#include "engine_qemu_int.h"


/* The first line of a file (for notes), without its newline. */
static void
first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(buf, (int)len, f) != NULL)
		buf[strcspn(buf, "\n")] = '\0';
	(void) fclose(f);
}

/*
 * QEMU's version, "7.2" from "QEMU emulator version 7.2.22 (...)", into
 * c->version; empty when it cannot be told (the engine name then lacks
 * it, nothing else depends on it).
 */
static void
qemu_version(qctx_t *c)
{
	char *argv[] = { c->qemu, (char *)"--version", NULL };
	char line[256];
	unsigned maj, min;
	const char *v;

	c->version[0] = '\0';
	if (erun_bounded(argv, NULL, c->log, NULL, 10000) != 0)
		return;
	first_line(c->log, line, sizeof (line));
	if ((v = strstr(line, "version ")) != NULL &&
	    sscanf(v + 8, "%u.%u", &maj, &min) == 2)
		(void) snprintf(c->version, sizeof (c->version), " %u.%u",
		    maj, min);
}

/* ---------------- the bootstrap page tables ---------------- */

static unsigned
level_shift(const qctx_t *c, unsigned level)
{
	if (c->job->mode == HT_MODE_32BIT)
		return (level == 1 ? 12 : 22);
	return (12 + 9 * (level - 1));
}

static unsigned
level_index(const qctx_t *c, uint64_t va, unsigned level)
{
	unsigned mask = c->job->mode == HT_MODE_32BIT ? 0x3ff : 0x1ff;

	return ((unsigned)(va >> level_shift(c, level)) & mask);
}

static uint64_t
entry_get(const qctx_t *c, uint64_t table, unsigned idx)
{
	const uint8_t *p = c->area + table + (uint64_t)idx * c->pte_size;

	return (c->pte_size == 4 ? eget32(p) : eget64(p));
}

static void
entry_set(qctx_t *c, uint64_t table, unsigned idx, uint64_t v)
{
	uint8_t *p = c->area + table + (uint64_t)idx * c->pte_size;

	if (c->pte_size == 4) {
		uint32_t w = (uint32_t)v;

		memcpy(p, &w, 4);
	} else {
		eput64(p, v);
	}
}

/* The area offset of the table an entry links (it is always ours). */
static uint64_t
entry_table(const qctx_t *c, uint64_t e)
{
	return ((e & ht_geometry(c->job->mode)->link_mask) -
	    c->job->guest_pa);
}

/*
 * Map the 4 KiB page at va to pa with leaf bits flags, making tables as
 * needed.  Intermediate entries allow everything (P, RW, US) so that the
 * leaf alone decides, except PAE's PDPTEs, where RW and US are reserved.
 * A page already mapped to the same pa is left as it is.  0, or -1 when
 * va is mapped elsewhere or the tables would not fit.
 */
int
qmap_page(qctx_t *c, uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t t = QA_TABLES;
	unsigned level;

	for (level = c->levels; level > 1; level--) {
		unsigned i = level_index(c, va, level);
		uint64_t e = entry_get(c, t, i);

		if (!(e & PTE_P)) {
			if (c->next_table >= (c->nested ? QN_L1TABLES :
			    QA_END))
				return (-1);
			e = (c->job->guest_pa + c->next_table) | PTE_P;
			if (!(c->job->mode == HT_MODE_PAE &&
			    level == c->levels))
				e |= PTE_RW | PTE_US;
			entry_set(c, t, i, e);
			c->next_table += PAGE;
		}
		t = entry_table(c, e);
	}
	{
		unsigned i = level_index(c, va, 1);
		uint64_t e = entry_get(c, t, i);

		if (e & PTE_P)
			return (entry_table(c, e) + c->job->guest_pa == pa ?
			    0 : -1);
		entry_set(c, t, i, pa | flags);
	}
	return (0);
}

/* Our entry for slot_va at slot_level: the link the image's slot gets. */
uint64_t
qslot_link(const qctx_t *c)
{
	const engine_job_t *job = c->job;
	uint64_t t = QA_TABLES;
	unsigned level;

	for (level = c->levels; ; level--) {
		uint64_t e = entry_get(c, t, level_index(c, job->slot_va,
		    level));

		/* engine.h counts levels from 0 (the page table), we from 1. */
		if (level == (unsigned)job->slot_level + 1)
			return (e);
		t = entry_table(c, e);
	}
}

/* ---------------- the area ---------------- */

/* A 32-bit interrupt gate (8 bytes) or a 64-bit one (16) at p. */
static void
put_gate(const qctx_t *c, uint8_t *p, uint64_t off, unsigned dpl)
{
	uint64_t lo = (off & 0xffff) | ((uint64_t)SEL_KCODE << 16) |
	    ((uint64_t)(0x8e | dpl << 5) << 40) |
	    (((off >> 16) & 0xffff) << 48);

	eput64(p, lo);
	if (c->is_long)
		eput64(p + 8, off >> 32);
}

/*
 * L1's own tables (nested paging: 4 or 5 levels from QN_L1TABLES):
 * identity-map the 2 MiB page that holds pa, taking the tables it lacks
 * from area offset *next on (seven at most for two pages: they fit below
 * QA_END).  Errors: none.
 */
void
ql1_map(qctx_t *c, unsigned levels, uint64_t pa, uint64_t *next)
{
	uint64_t t = QN_L1TABLES, gpa = c->job->guest_pa;

	for (unsigned level = levels; level > 2; level--) {
		uint8_t *p = c->area + t +
		    ((pa >> (12 + 9 * (level - 1))) & 511) * 8;
		uint64_t e = eget64(p);

		if (!(e & PTE_P)) {
			e = (gpa + *next) | PTE_P | PTE_RW | PTE_A;
			eput64(p, e);
			*next += PAGE;
		}
		t = (e & 0x000ffffffffff000ull) - gpa;
	}
	eput64(c->area + t + ((pa >> 21) & 511) * 8,
	    (pa & ~0x1fffffull) | PTE_P | PTE_RW | PTE_PS | PTE_A | PTE_D);
}

/*
 * Lay out the area: code, parameters, GDT, TSS, IDT and the bootstrap
 * tables, or in nested paging what build_nested adds (the probes go in
 * per batch).  0, or ENGINE_CANNOT with a note.
 */
static int
build_area(qctx_t *c)
{
	engine_job_t *job = c->job;
	const ht_cpu_t *cpu = job->cpu;
	unsigned flags = cpu != NULL ? cpu->flags : 0;
	uint64_t base = c->nested ? job->guest_pa : job->slot_va;
	uint64_t cr4 = 0, efer = 0, tss, limit;
	size_t codelen = (size_t)(engine_qemu_guest_end - engine_qemu_guest);
	uint8_t *gdt = c->area + QA_GDT;
	unsigned v, nvec;
	uint64_t off, pa;

	memcpy(c->area + QA_CODE, engine_qemu_guest, codelen);

	switch (job->mode) {
	case HT_MODE_32BIT:
		cr4 = CR4_PSE;
		break;
	case HT_MODE_PAE:
		cr4 = CR4_PAE;
		break;
	case HT_MODE_4LEVEL:
		cr4 = CR4_PAE;
		efer = EFER_LME;
		break;
	case HT_MODE_5LEVEL:
		cr4 = CR4_PAE | CR4_LA57;
		efer = EFER_LME;
		break;
	case HT_MODE_NPT4:	/* the SVM host's own paging mode */
		cr4 = CR4_PAE;
		efer = EFER_LME | EFER_SVME;
		break;
	case HT_MODE_NPT5:
		cr4 = CR4_PAE | CR4_LA57;
		efer = EFER_LME | EFER_SVME;
		break;
	default:	/* EPT: check_job refused it */
		return (ENGINE_CANNOT);
	}
	if ((flags & HT_CPU_NXE) && job->mode != HT_MODE_32BIT)
		efer |= EFER_NXE;
	eput64(c->area + QP_IMGCR3, job->cr3);
	eput64(c->area + QP_MYCR3, job->guest_pa +
	    (c->nested ? QN_L1TABLES : QA_TABLES));
	eput64(c->area + QP_CR4BOOT, cr4);
	eput64(c->area + QP_NESTED, (uint64_t)c->nested);
	if (c->nested)
		flags &= HT_CPU_NXE;	/* the only one nested walks use */
	if (flags & HT_CPU_SMEP)
		cr4 |= CR4_SMEP;
	if (flags & HT_CPU_SMAP)
		cr4 |= CR4_SMAP;
	if ((flags & HT_CPU_PKE) && c->is_long) {
		cr4 |= CR4_PKE;
		eput64(c->area + QP_PKE, 1);
		eput64(c->area + QP_PKRU, cpu->pkru);
	}
	eput64(c->area + QP_CR4FINAL, cr4);
	eput64(c->area + QP_EFER, efer);
	eput64(c->area + QP_CR0OR, (flags & HT_CPU_WP) ? CR0_WP : 0);
	eput64(c->area + QP_KFLAGS, (flags & HT_CPU_AC) ? EFL_AC : 0);
	eput64(c->area + QP_SLOTVA, base);
	eput64(c->area + QP_LONG, (uint64_t)c->is_long);

	/* GDT: null, kernel code/data, user code/data, TSS. */
	eput64(gdt + SEL_KCODE, c->is_long ? 0x00af9b000000ffffull :
	    0x00cf9b000000ffffull);
	eput64(gdt + SEL_KDATA, 0x00cf93000000ffffull);
	eput64(gdt + SEL_UCODE, c->is_long ? 0x00affb000000ffffull :
	    0x00cffb000000ffffull);
	eput64(gdt + SEL_UDATA, 0x00cff3000000ffffull);
	tss = base + QA_TSS;
	eput64(gdt + SEL_TSS, 0x67 | ((tss & 0xffffff) << 16) |
	    (0x89ull << 40) | (((tss >> 24) & 0xff) << 56));
	if (c->is_long)
		eput64(gdt + SEL_TSS + 8, tss >> 32);
	limit = SEL_TSS + 16 - 1;
	memcpy(c->area + QP_GDTR_PHYS, &(uint16_t){ (uint16_t)limit }, 2);
	eput64(c->area + QP_GDTR_PHYS + 2, job->guest_pa + QA_GDT);
	memcpy(c->area + QP_GDTR_VIRT, &(uint16_t){ (uint16_t)limit }, 2);
	eput64(c->area + QP_GDTR_VIRT + 2, base + QA_GDT);

	/* TSS: the stack of the ring 0 entry from ring 3; no I/O bitmap. */
	if (c->is_long) {
		eput64(c->area + QA_TSS + 4, base + QA_KSTACK_TOP);
	} else {
		uint32_t esp0 = (uint32_t)(base + QA_KSTACK_TOP);
		uint32_t ss0 = SEL_KDATA;

		memcpy(c->area + QA_TSS + 4, &esp0, 4);
		memcpy(c->area + QA_TSS + 8, &ss0, 4);
	}
	memcpy(c->area + QA_TSS + 0x66, &(uint16_t){ 0x68 }, 2);

	/* IDT: the 32 exceptions, and the way back from user mode. */
	nvec = 256;
	for (v = 0; v < 32; v++) {
		off = base + (c->is_long ? c->hdr.exc64 : c->hdr.exc32) +
		    16 * v;
		put_gate(c, c->area + QA_IDT + v * (c->is_long ? 16 : 8),
		    off, 0);
	}
	off = base + (c->is_long ? c->hdr.back64 : c->hdr.back32);
	put_gate(c, c->area + QA_IDT + QV_BACK * (c->is_long ? 16 : 8),
	    off, 3);
	memcpy(c->area + QP_IDTR_VIRT,
	    &(uint16_t){ (uint16_t)(nvec * (c->is_long ? 16 : 8) - 1) }, 2);
	eput64(c->area + QP_IDTR_VIRT + 2, base + QA_IDT);
	if (c->nested)
		return (qbuild_nested(c));

	/*
	 * Bootstrap tables: the area at slot_va (user bits on the user
	 * code page and stack, with a protection key PKRU leaves open),
	 * then its code, parameters and stack at their physical address.
	 */
	c->next_table = QA_TABLES + PAGE;
	for (off = 0; off < QA_END; off += PAGE) {
		uint64_t fl = PTE_P | PTE_RW | PTE_A | PTE_D;

		if (off == QA_UCODE || off == QA_USTACK) {
			fl |= PTE_US;
			if (c->is_long)
				fl |= (uint64_t)c->ukey << 59;
		}
		if (qmap_page(c, base + off, job->guest_pa + off, fl) != 0)
			goto conflict;
	}
	for (pa = job->guest_pa; pa < job->guest_pa + QA_KSTACK_TOP;
	    pa += PAGE) {
		if (qmap_page(c, pa, pa, PTE_P | PTE_RW | PTE_A | PTE_D) != 0)
			goto conflict;
	}
	c->link = qslot_link(c);
	return (0);
conflict:
	enote(job, "qemu: cannot map the engine at both slot_va %#" PRIx64
	    " and its physical address %#" PRIx64, base, job->guest_pa);
	return (ENGINE_CANNOT);
}

/* ---------------- RAM and ROM files ---------------- */

/*
 * Write the RAM file: image data pages verbatim, markers elsewhere, the
 * area, and the link in the slot entry.  0, or -1 (errno).
 */
static int
write_ram(qctx_t *c)
{
	engine_job_t *job = c->job;
	uint8_t *buf;
	uint64_t at, p;
	int fd, rc = -1;

	if ((buf = malloc(CHUNK)) == NULL)
		return (-1);
	if ((fd = open(c->ram, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0)
		goto out;
	for (at = 0; at < job->ram_size; at += CHUNK) {
		size_t len = job->ram_size - at < CHUNK ?
		    (size_t)(job->ram_size - at) : CHUNK;

		for (p = 0; p < len; p += PAGE) {
			uint64_t pa = at + p, w;

			if (pa >= job->guest_pa &&
			    pa < job->guest_pa + QA_END) {
				memcpy(buf + p, c->area + (pa - job->guest_pa),
				    PAGE);
			} else if (pa < job->img->size &&
			    image_is_data(job->img, pa)) {
				(void) image_read((void *)job->img, pa,
				    buf + p, PAGE);
			} else {
				for (w = 0; w < PAGE; w += 8)
					eput64(buf + p + w, MARKER(pa + w));
			}
		}
		if (pwrite(fd, buf, len, (off_t)at) != (ssize_t)len)
			goto out;
	}
	if (pwrite(fd, &c->link, c->pte_size, (off_t)job->slot_pa) !=
	    (ssize_t)c->pte_size)
		goto out;
	if (c->guest && pwrite(fd, &c->glink, c->gpte_size,
	    (off_t)job->gslot_pa) != (ssize_t)c->gpte_size)
		goto out;
	rc = 0;
out:
	if (fd >= 0 && close(fd) != 0)
		rc = -1;
	free(buf);
	return (rc);
}

/* The -bios file: the ROM piece under the reset vector, entry patched. */
static int
write_rom(qctx_t *c)
{
	uint8_t *rom = calloc(1, ROM_SIZE);
	uint32_t entry = (uint32_t)(c->job->guest_pa + c->hdr.entry32);
	int fd, rc = -1;

	if (rom == NULL)
		return (-1);
	memcpy(rom + QROM_AT, engine_qemu_rom, QROM_SIZE);
	memcpy(rom + QROM_AT + QROM_ENTRY, &entry, 4);
	if ((fd = open(c->rom, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0) {
		if (write(fd, rom, ROM_SIZE) == ROM_SIZE)
			rc = 0;
		if (close(fd) != 0)
			rc = -1;
	}
	free(rom);
	return (rc);
}

/* ---------------- one batch ---------------- */

/*
 * Can the nested guest make an access to guest-physical address va: its
 * window PTE must hold it (below MAXPHYADDR), and the mode name it
 * (below 2^48 or 2^57; QEMU would drop the bits above)?
 */
static int
gpa_runnable(const qctx_t *c, uint64_t va)
{
	return (va >> c->pa_bits == 0 &&
	    va >> ht_geometry(c->job->mode)->va_bits == 0);
}

/* Is ip where probe pr may fault on its own account? */
static int
fault_ip_ok(const qctx_t *c, const probe_t *pr, uint64_t ip)
{
	unsigned i, lo = c->is_long ? 8 : 0, hi = c->is_long ? 14 : 8;

	if (!c->is_long) {
		ip &= 0xffffffffull;
		if (pr->op == PROBE_FETCH && ip == (pr->va & 0xffffffffull))
			return (1);
	} else if (pr->op == PROBE_FETCH && ip == pr->va) {
		return (1);
	}
	for (i = lo; i < hi && i < c->hdr.nips; i++)
		if (ip == c->job->slot_va + c->hdr.ips[i])
			return (1);
	return (0);
}

/*
 * Put probes [first, first + n), an empty result area at area offset
 * results and a fresh parameter block into the area, and write the area
 * into the RAM file; the rest of RAM keeps what the earlier batches left
 * (their A/D bits).  ENGINE_OK, or ENGINE_FAILED with a note.
 */
static int
batch_load(qctx_t *c, size_t first, size_t n, uint64_t results)
{
	engine_job_t *job = c->job;
	int fd;

	memset(c->area + QA_PROBES, 0, QA_TABLES - QA_PROBES);
	for (size_t i = 0; i < n; i++) {
		const probe_t *pr = &job->probes[first + i];
		uint8_t *p = c->area + QA_PROBES + i * QA_PROBE_SIZE;
		uint32_t op = (uint32_t)pr->op, cpl = pr->cpl;

		if (c->nested && !c->guest && !gpa_runnable(c, pr->va)) {
			op = QOP_SKIP;
			enote(job, "qemu: probe %zu: the nested guest cannot "
			    "make an access to GPA %#" PRIx64 " (MAXPHYADDR %u,"
			    " %s): not run", first + i, pr->va, c->pa_bits,
			    ht_mode_name(job->mode));
		}
		if (c->guest && !c->glong && pr->va >> 32 != 0) {
			op = QOP_SKIP;
			enote(job, "qemu: probe %zu (va %#" PRIx64 "): beyond "
			    "32-bit linear addresses: not run", first + i,
			    pr->va);
		}
		eput64(p, pr->va);
		memcpy(p + 8, &op, 4);
		memcpy(p + 12, &cpl, 4);
	}
	eput64(c->area + QP_NPROBES, n);
	eput64(c->area + QP_RESULTS, results);
	eput64(c->area + QP_NEXT, 0);
	eput64(c->area + QP_PHASE, 0);
	eput64(c->area + QP_DONE, 0);
	/* ltr of an earlier batch left the TSS busy: available again. */
	c->area[QA_GDT + SEL_TSS + 5] = 0x89;
	if ((fd = open(c->ram, O_RDWR)) < 0 ||
	    pwrite(fd, c->area, QA_END, (off_t)job->guest_pa) != QA_END) {
		enote(job, "qemu: %s: %s", c->ram, strerror(errno));
		if (fd >= 0)
			(void) close(fd);
		return (ENGINE_FAILED);
	}
	(void) close(fd);
	return (ENGINE_OK);
}

/* A QEMU command line and the strings it points to. */
typedef struct qargs {
	char	*argv[32];
	char	size[64];
	char	mem[PATH_MAX + 128];
	char	bios[PATH_MAX];
	char	cpu[64];
} qargs_t;

/* The command line of one run (why each option: the top of the file). */
static void
qemu_args(const qctx_t *c, qargs_t *a)
{
	const engine_job_t *job = c->job;
	unsigned flags = job->cpu != NULL ? job->cpu->flags : 0;
	int ac = 0;

	(void) snprintf(a->size, sizeof (a->size), "%" PRIu64 "M",
	    job->ram_size >> 20);
	(void) snprintf(a->mem, sizeof (a->mem),
	    "memory-backend-file,id=htram,size=%s,mem-path=%s,share=on",
	    a->size, c->ram);
	(void) snprintf(a->bios, sizeof (a->bios), "%s", c->rom);
	/*
	 * MAXPHYADDR decides which entry bits are reserved: give QEMU the
	 * job's (the mode's widest when the job leaves it open), and take
	 * 1 GiB pages away when the job's CPU lacks them.
	 */
	if (c->guest && job->gcpu != NULL)
		flags |= job->gcpu->flags & HT_CPU_NO1G;
	(void) snprintf(a->cpu, sizeof (a->cpu), "max,phys-bits=%u%s%s",
	    c->pa_bits, (flags & HT_CPU_NO1G) ? ",pdpe1gb=off" : "",
	    c->nested ? ",svm=on,npt=on" : "");
	a->argv[ac++] = (char *)c->qemu;
	/*
	 * Two vCPUs and multi-threaded TCG: only then does TCG translate a
	 * locked instruction into a true atomic operation, which asks the
	 * MMU for a write.  With one vCPU it becomes a load and a store,
	 * and a write probe to a not-present or supervisor page faults on
	 * the load, without W in the error code.  The second vCPU never
	 * leaves wait-for-SIPI.
	 */
	a->argv[ac++] = (char *)"-accel";
	a->argv[ac++] = (char *)"tcg,thread=multi";
	a->argv[ac++] = (char *)"-smp";
	a->argv[ac++] = (char *)"2";
	a->argv[ac++] = (char *)"-cpu";
	a->argv[ac++] = a->cpu;
	a->argv[ac++] = (char *)"-machine";
	a->argv[ac++] = (char *)"pc,memory-backend=htram";
	a->argv[ac++] = (char *)"-object";
	a->argv[ac++] = a->mem;
	a->argv[ac++] = (char *)"-m";
	a->argv[ac++] = a->size;
	a->argv[ac++] = (char *)"-nodefaults";
	a->argv[ac++] = (char *)"-no-user-config";
	a->argv[ac++] = (char *)"-display";
	a->argv[ac++] = (char *)"none";
	a->argv[ac++] = (char *)"-no-reboot";
	a->argv[ac++] = (char *)"-bios";
	a->argv[ac++] = a->bios;
	a->argv[ac++] = (char *)"-device";
	a->argv[ac++] = (char *)"isa-debug-exit,iobase=0xf4,iosize=0x04";
	/*
	 * HTABLE_QEMU_TRACE=FILE: QEMU logs every interrupt and CPU reset
	 * there (for debugging the guest; costs speed).
	 */
	if (getenv("HTABLE_QEMU_TRACE") != NULL) {
		a->argv[ac++] = (char *)"-d";
		a->argv[ac++] = (char *)"int,cpu_reset";
		a->argv[ac++] = (char *)"-D";
		a->argv[ac++] = getenv("HTABLE_QEMU_TRACE");
	}
	a->argv[ac] = NULL;
}

/*
 * After a run of n probes that exited with status st: read back what the
 * guest wrote (parameters and results) and tell how the run ended.
 * ENGINE_OK when the guest got through every probe; ENGINE_CANNOT when
 * it never reached the probes (the job does not fit the image: the note
 * says what to check); ENGINE_FAILED when the RAM file cannot be read
 * or the guest stopped halfway (with a note).
 */
static int
batch_ended(qctx_t *c, size_t n, int st)
{
	engine_job_t *job = c->job;
	char line[200];
	ssize_t got;
	int fd;

	if ((fd = open(c->ram, O_RDONLY)) < 0)
		return (ENGINE_FAILED);
	got = pread(fd, c->area + QA_PARAMS, QA_TABLES - QA_PARAMS,
	    (off_t)(job->guest_pa + QA_PARAMS));
	(void) close(fd);
	if (got != (ssize_t)(QA_TABLES - QA_PARAMS)) {
		enote(job, "qemu: cannot read back %s", c->ram);
		return (ENGINE_FAILED);
	}
	first_line(c->log, line, sizeof (line));
	if (c->nested) {
		if (eget32(c->area + QP_DONE) == QG_DONE)
			return (ENGINE_OK);
		if (eget32(c->area + QP_DONE) == QG_SETUP)
			enote(job, "qemu: the SVM host took exception %" PRIu64
			    " at %#" PRIx64 " (probe %" PRIu64 "): does this "
			    "QEMU emulate SVM with nested paging?",
			    eget64(c->area + QP_SETUP_VEC) & 0xff,
			    eget64(c->area + QP_SETUP_IP),
			    eget64(c->area + QP_NEXT));
		else
			enote(job, "qemu: the SVM host stopped after %" PRIu64
			    " of %zu probes (exit status %d%s%s)",
			    eget64(c->area + QP_NEXT), n, st,
			    line[0] != '\0' ? ": " : "", line);
		return (ENGINE_FAILED);
	}
	switch (eget32(c->area + QP_DONE)) {
	case QG_DONE:
		return (ENGINE_OK);
	case QG_SETUP:
		enote(job, "qemu: the guest faulted while moving onto the "
		    "image's tables (vector %" PRIu64 " at %#" PRIx64 "): is "
		    "cr3 %#" PRIx64 " a valid root for %s?",
		    eget64(c->area + QP_SETUP_VEC) & 0xff,
		    eget64(c->area + QP_SETUP_IP), job->cr3,
		    ht_mode_name(job->mode));
		return (ENGINE_CANNOT);
	default:
		break;
	}
	if (eget64(c->area + QP_PHASE) == 0) {
		/*
		 * No IDT of ours was in reach: a fault while moving onto the
		 * image's tables resets the CPU (exit 0).
		 */
		enote(job, "qemu: the guest reset before probing began (exit "
		    "status %d%s%s): do the image's entries above the slot "
		    "let the engine's pages at %#" PRIx64 " be reached and "
		    "executed?", st, line[0] != '\0' ? ": " : "", line,
		    job->slot_va);
		return (ENGINE_CANNOT);
	}
	enote(job, "qemu: the guest stopped after %" PRIu64 " of %zu probes "
	    "(exit status %d%s%s)", eget64(c->area + QP_NEXT), n, st,
	    line[0] != '\0' ? ": " : "", line);
	return (ENGINE_FAILED);
}

/*
 * Turn the guest's result records (at area offset results) into the
 * results of probes [first, first + n).  A probe the guest never started,
 * or one that faulted anywhere but at its own access, is PROBE_NOTRUN
 * (the first such fault is noted).
 */
static void
batch_results(qctx_t *c, size_t first, size_t n, uint64_t results)
{
	engine_job_t *job = c->job;

	for (size_t i = 0; i < n; i++) {
		const probe_t *pr = &job->probes[first + i];
		const uint8_t *r = c->area + results + i * QR_SIZE;
		probe_result_t *res = &job->results[first + i];
		uint64_t ip = eget64(r + QR_IP);

		memset(res, 0, sizeof (*res));
		if (eget32(r + QR_RAN) == 0) {
			res->outcome = PROBE_NOTRUN;
			continue;
		}
		switch (eget32(r + QR_OUTCOME)) {
		case 0:
			res->outcome = PROBE_OK;
			if (pr->op == PROBE_READ)
				res->value = eget64(r + QR_VALUE);
			continue;
		case 1:
			res->outcome = PROBE_PF;
			break;
		case 2:
			res->outcome = PROBE_GP;
			break;
		default:
			res->outcome = PROBE_OTHER;
			break;
		}
		res->vector = eget32(r + QR_VECTOR);
		res->error_code = eget32(r + QR_ERROR);
		/* CR2 means something after a page fault only. */
		if (res->outcome == PROBE_PF)
			res->cr2 = eget64(r + QR_CR2);
		if (!c->is_long)
			res->cr2 &= 0xffffffffull;
		if (!fault_ip_ok(c, pr, ip)) {
			enote(job, "qemu: probe %zu (va %#" PRIx64 ", cpl %u) "
			    "faulted (vector %u, cr2 %#" PRIx64 ") in the "
			    "engine's code at %#" PRIx64 ", not at its access: "
			    "not run", first + i, pr->va, pr->cpl,
			    res->vector, res->cr2, ip);
			res->outcome = PROBE_NOTRUN;
		}
	}
}

/*
 * Run probes [first, first + n) in one QEMU run on the RAM file (which
 * holds the state the earlier batches left) and fill their results:
 * load the batch, start QEMU with a deadline, see how the guest ended,
 * decode.  ENGINE_OK, or ENGINE_FAILED/ENGINE_CANNOT with a note.
 */
static int
run_batch(qctx_t *c, size_t first, size_t n)
{
	uint64_t results = (QA_PROBES + n * QA_PROBE_SIZE + 63) & ~63ull;
	/* Generous: QEMU starts in well under a second, probes take µs. */
	long ms = 30000 + (long)n * 5;
	qargs_t a;
	int rc, st;

	if ((rc = batch_load(c, first, n, results)) != ENGINE_OK)
		return (rc);
	qemu_args(c, &a);
	st = erun_bounded(a.argv, NULL, c->log, NULL, ms);
	if (st == -2) {
		enote(c->job, "qemu: the guest did not finish within %ld s",
		    ms / 1000);
		return (ENGINE_FAILED);
	}
	if (st == -1) {
		enote(c->job, "qemu: cannot run %s: %s", c->qemu,
		    strerror(errno));
		return (ENGINE_FAILED);
	}
	if ((rc = batch_ended(c, n, st)) != ENGINE_OK)
		return (rc);
	if (c->guest)
		return (qbatch_results_guest(c, first, n, results));
	if (c->nested)
		return (qbatch_results_nested(c, first, n, results));
	batch_results(c, first, n, results);
	return (ENGINE_OK);
}

/* ---------------- the engine ---------------- */

/*
 * Check the job against what this engine can do, and settle the guest
 * CPU's MAXPHYADDR (c->pa_bits).  ENGINE_OK, or ENGINE_CANNOT with a
 * note.
 */
static int
check_job(qctx_t *c)
{
	engine_job_t *job = c->job;
	uint64_t span;

	if (job->mode == HT_MODE_EPT4 || job->mode == HT_MODE_EPT5) {
		enote(job, "qemu: EPT (%s) needs VMX, which QEMU 7.2's TCG "
		    "does not emulate (the bochs engine runs EPT)",
		    ht_mode_name(job->mode));
		return (ENGINE_CANNOT);
	}
	if (job->mode > HT_MODE_NPT5) {
		enote(job, "qemu: unknown paging mode %d", (int)job->mode);
		return (ENGINE_CANNOT);
	}
	if (job->guest && !c->nested) {
		enote(job, "qemu: a guest job needs second-level tables (npt4 "
		    "or npt5), not %s", ht_mode_name(job->mode));
		return (ENGINE_CANNOT);
	}
	if (job->slot_level < 1 || (unsigned)job->slot_level >= c->levels) {
		enote(job, "qemu: the borrowed slot must be at level 1 or "
		    "above (level %d maps too little for the engine)",
		    job->slot_level);
		return (ENGINE_CANNOT);
	}
	span = 1ull << level_shift(c, (unsigned)job->slot_level + 1);
	if (job->slot_va & (span - 1)) {
		enote(job, "qemu: slot_va %#" PRIx64 " is not aligned to the "
		    "%#" PRIx64 " bytes its level-%d entry maps",
		    job->slot_va, span, job->slot_level);
		return (ENGINE_CANNOT);
	}
	if (job->guest_pa % GUEST_AREA != 0 || job->guest_pa >> 32 != 0 ||
	    job->guest_pa + GUEST_AREA > job->ram_size) {
		enote(job, "qemu: guest_pa %#" PRIx64 " must be 2 MiB-aligned, "
		    "below 4 GiB and inside RAM", job->guest_pa);
		return (ENGINE_CANNOT);
	}
	if (job->ram_size == 0 || job->ram_size % (2u << 20) != 0 ||
	    job->slot_pa + c->pte_size > job->ram_size ||
	    job->slot_pa % c->pte_size != 0) {
		enote(job, "qemu: ram_size %#" PRIx64 " or slot_pa %#" PRIx64
		    " is out of bounds", job->ram_size, job->slot_pa);
		return (ENGINE_CANNOT);
	}
	if (!c->is_long && job->cr3 >> 32 != 0) {
		enote(job, "qemu: cr3 %#" PRIx64 " does not fit 32 bits",
		    job->cr3);
		return (ENGINE_CANNOT);
	}
	c->pa_bits = job->cpu != NULL && job->cpu->pa_bits != 0 ?
	    job->cpu->pa_bits : ht_geometry(job->mode)->pa_bits_max;
	/* L2's tables hold GPAs of the slot: below MAXPHYADDR. */
	if (c->nested && (job->slot_va + GUEST_AREA - 1) >> c->pa_bits != 0) {
		enote(job, "qemu: slot_va %#" PRIx64 " is at or above "
		    "MAXPHYADDR (%u bits): the nested guest could not reach "
		    "its own pages there", job->slot_va, c->pa_bits);
		return (ENGINE_CANNOT);
	}
	if (job->guest)
		return (qcheck_guest(c));
	return (ENGINE_OK);
}

/* Remove the run's files and directory (whatever of them exists). */
static void
cleanup(qctx_t *c)
{
	if (c->dir[0] == '\0')
		return;
	(void) unlink(c->ram);
	(void) unlink(c->rom);
	(void) unlink(c->log);
	(void) rmdir(c->dir);
}

/*
 * QEMU 7.2 sets bit 5 (accessed) in PAE PDPTEs it walks, where the bit
 * is reserved and a CPU never writes (it reads the PDPTEs once, at the
 * CR3 load).  Leave memory m (RAM up to inram) as QEMU left it, but say
 * so in the note: the PAE root at host-physical root, whose ("guest's "
 * or "").  Errors: none.
 */
static void
pae_note(qctx_t *c, const uint8_t *m, uint64_t inram, uint64_t root,
    const char *whose)
{
	uint64_t i, n = 0;

	for (i = 0; i < 4 && root + 8 * i + 8 <= inram; i++) {
		uint64_t was;

		(void) image_read((void *)c->job->img, root + 8 * i, &was, 8);
		if ((eget64(m + root + 8 * i) & ~was) & PTE_A)
			n++;
	}
	if (n != 0)
		enote(c->job, "qemu: QEMU set the accessed bit (bit 5, "
		    "reserved in PAE) in %" PRIu64 " PDPTE(s) of the %sroot "
		    "at %#" PRIx64 "; mem_after shows it", n, whose, root);
}

/* Copy RAM [0, img->size) after the run into job->mem_after. */
static int
save_mem_after(qctx_t *c)
{
	engine_job_t *job = c->job;
	uint64_t size = job->img->size;
	uint64_t inram = size < job->ram_size ? size : job->ram_size;
	uint8_t *m;
	int fd;

	if ((m = engine_mem_after(job, inram)) == NULL)
		return (-1);
	if ((fd = open(c->ram, O_RDONLY)) < 0) {
		engine_mem_free(job, m);
		return (-1);
	}
	if (pread(fd, m, inram, 0) != (ssize_t)inram) {
		(void) close(fd);
		engine_mem_free(job, m);
		return (-1);
	}
	(void) close(fd);
	/* The borrowed slots go back to the image's value. */
	if (job->slot_pa + c->pte_size <= size)
		(void) image_read((void *)job->img, job->slot_pa,
		    m + job->slot_pa, c->pte_size);
	if (c->guest && job->gslot_pa + c->gpte_size <= size)
		(void) image_read((void *)job->img, job->gslot_pa,
		    m + job->gslot_pa, c->gpte_size);
	if (job->mode == HT_MODE_PAE)
		pae_note(c, m, inram, job->cr3 &
		    ht_geometry(job->mode)->root_mask, "");
	if (c->guest && job->guest_mode == HT_MODE_PAE) {
		uint64_t root = qhost_hpa(c, job->guest_cr3 &
		    ht_geometry(HT_MODE_PAE)->root_mask);

		if (root != ~0ull)
			pae_note(c, m, inram, root, "guest's ");
	}
	job->mem_after = m;
	return (0);
}

int
engine_qemu(engine_job_t *job)
{
	static const unsigned levels[] = { 2, 3, 4, 5 };
	qctx_t *c;
	const char *tmp = getenv("TMPDIR");
	size_t first;
	int rc;

	job->note[0] = '\0';
	job->mem_after = NULL;
	(void) snprintf(job->engine, sizeof (job->engine), "qemu tcg, %s",
	    ht_mode_name(job->mode) != NULL ? ht_mode_name(job->mode) : "?");
	if ((c = calloc(1, sizeof (*c))) == NULL) {
		enote(job, "qemu: out of memory");
		return (ENGINE_FAILED);
	}
	c->job = job;
	if (efind_on_path(QEMU_BIN, c->qemu, sizeof (c->qemu)) != 0) {
		enote(job, "qemu: %s is not installed (Debian: "
		    "qemu-system-x86)", QEMU_BIN);
		free(c);
		return (ENGINE_ABSENT);
	}
	memcpy(&c->hdr, engine_qemu_guest, sizeof (c->hdr));
	if (c->hdr.magic != QG_MAGIC || c->hdr.nips != NIPS_MAX) {
		enote(job, "qemu: the embedded guest code is damaged");
		free(c);
		return (ENGINE_FAILED);
	}
	if ((unsigned)job->mode <= HT_MODE_5LEVEL)
		c->levels = levels[job->mode];
	c->nested = job->mode == HT_MODE_NPT4 || job->mode == HT_MODE_NPT5;
	if (c->nested)
		c->levels = job->mode == HT_MODE_NPT4 ? 4 : 5;
	c->is_long = job->mode == HT_MODE_4LEVEL ||
	    job->mode == HT_MODE_5LEVEL || c->nested;
	c->guest = job->guest != 0;
	c->pte_size = job->mode == HT_MODE_32BIT ? 4 : 8;
	if ((rc = check_job(c)) != ENGINE_OK) {
		free(c);
		return (rc);
	}
	if ((job->cpu != NULL && (job->cpu->flags & HT_CPU_NO1G) &&
	    c->is_long) || (c->guest && c->glong && job->gcpu != NULL &&
	    (job->gcpu->flags & HT_CPU_NO1G)))
		enote(job, "qemu: QEMU 7.2's TCG walks 1 GiB pages even with "
		    "pdpe1gb=off: HT_CPU_NO1G is not emulated");
	/* A protection key whose access PKRU does not restrict. */
	if (job->cpu != NULL && (job->cpu->flags & HT_CPU_PKE) &&
	    !c->nested) {
		for (c->ukey = 0; c->ukey < 16; c->ukey++)
			if (((job->cpu->pkru >> (2 * c->ukey)) & 3) == 0)
				break;
		if (c->ukey == 16)
			c->ukey = 0;
	}
	if ((c->area = calloc(1, QA_END)) == NULL) {
		enote(job, "qemu: out of memory");
		free(c);
		return (ENGINE_FAILED);
	}
	if ((rc = build_area(c)) != ENGINE_OK)
		goto out;

	rc = ENGINE_FAILED;
	(void) snprintf(c->dir, sizeof (c->dir), "%s/htable-qemu.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(c->dir) == NULL) {
		enote(job, "qemu: cannot make a directory %s: %s", c->dir,
		    strerror(errno));
		c->dir[0] = '\0';
		goto out;
	}
	(void) snprintf(c->ram, sizeof (c->ram), "%s/ram", c->dir);
	(void) snprintf(c->rom, sizeof (c->rom), "%s/bios", c->dir);
	(void) snprintf(c->log, sizeof (c->log), "%s/log", c->dir);
	if (write_ram(c) != 0 || write_rom(c) != 0) {
		enote(job, "qemu: cannot write the guest's memory in %s: %s",
		    c->dir, strerror(errno));
		goto out;
	}
	qemu_version(c);
	(void) snprintf(job->engine, sizeof (job->engine),
	    "qemu%s tcg%s, %s%s%s", c->version, c->nested ? " svm" : "",
	    ht_mode_name(job->mode), c->guest ? ", guest " : "",
	    c->guest ? ht_mode_name(job->guest_mode) : "");

	for (first = 0; first < job->nprobes || first == 0;
	    first += QPROBES_MAX) {
		size_t n = job->nprobes - first < QPROBES_MAX ?
		    job->nprobes - first : QPROBES_MAX;

		if ((rc = run_batch(c, first, n)) != ENGINE_OK)
			goto out;
		if (job->nprobes == 0)
			break;
	}
	if (save_mem_after(c) != 0) {
		enote(job, "qemu: cannot read back the guest's memory: %s",
		    strerror(errno));
		rc = ENGINE_FAILED;
		goto out;
	}
	rc = ENGINE_OK;
out:
	cleanup(c);
	free(c->area);
	free(c);
	return (rc);
}

/*
 * The CPU a prediction for QEMU's TCG must assume: the one asked for;
 * TCG takes any phys-bits, by default the widest the mode names.
 */
static void
qemu_cpu(const ht_geometry_t *g, const ht_cpu_t *asked, ht_cpu_t *r_cpu)
{
	*r_cpu = *asked;
	if (r_cpu->pa_bits == 0)
		r_cpu->pa_bits = g->pa_bits_max;
}

/*
 * QEMU 7.2's TCG reports a reserved-bit page fault without the P bit,
 * though the SDM (4.7) says RSVD can be set only with P.  A quirk of that
 * QEMU, listed apart: the rest of the error code and CR2 must still
 * agree.
 */
static const char *
qemu_quirk(const probe_t *p, const ht_access_t *want,
    const probe_result_t *got)
{
	if (want->fault == HT_FAULT_PF && (want->error_code & HT_PF_RSVD) &&
	    got->outcome == PROBE_PF &&
	    (got->error_code & 0x3f) == (want->error_code & ~HT_PF_P) &&
	    got->cr2 == p->va)
		return ("QEMU 7.2: no P with RSVD, against SDM 4.7");
	/*
	 * The same walk code for nested tables: an NPF for a reserved bit
	 * has RSV without P in EXITINFO1, where the APM (vol. 2, 8.4.2,
	 * which NPF's EXITINFO1 follows, 15.25.6) sets P with RSV.
	 */
	if (want->fault != HT_FAULT_NONE && want->fault != HT_FAULT_GP &&
	    (want->error_code & HT_PF_RSVD) && got->outcome == PROBE_NPF &&
	    (got->error_code & 0x3f) == (want->error_code & ~HT_PF_P) &&
	    (got->qual & HT_NPF_FINAL) && got->cr2 == p->va)
		return ("QEMU 7.2: no P with RSV in a nested page fault, "
		    "against APM 8.4.2 / 15.25.6");
	/*
	 * The same in a guest job (want is ht_nested_access's NPF): the
	 * exit's guest-physical address is not in want, so only what it
	 * must look like is checked: the probe's page offset for the final
	 * address, an entry's alignment for a guest table's.
	 */
	if (want->fault == HT_FAULT_NPF && (want->error_code & HT_PF_RSVD) &&
	    got->outcome == PROBE_NPF &&
	    (got->error_code & 0x3f) == (want->error_code & ~HT_PF_P) &&
	    ((got->qual & HT_NPF_FINAL) ? (got->cr2 & 0xfff) ==
	    (p->va & 0xfff) : (got->qual & HT_NPF_TABLE) &&
	    (got->cr2 & 3) == 0))
		return ("QEMU 7.2: no P with RSV in a nested page fault, "
		    "against APM 8.4.2 / 15.25.6");
	/*
	 * Bit 8 of a PML4E or PML5E is must-be-zero on AMD (APM vol. 2,
	 * 5.3.3), so in nested tables; QEMU 7.2's walk does not check it
	 * and goes on below (had it seen another reserved bit there, it
	 * would say RSV).
	 */
	if (want->fault != HT_FAULT_NONE && want->fault != HT_FAULT_GP &&
	    (want->error_code & HT_PF_RSVD) && want->nsteps > 0 &&
	    (got->outcome == PROBE_OK || (got->outcome == PROBE_NPF &&
	    !(got->error_code & HT_PF_RSVD)))) {
		const ht_scan_step_t *s = &want->step[want->nsteps - 1];

		if (s->level >= 3 && (s->pte & 0x100) && !(s->pte & 0x80))
			return ("QEMU 7.2: bit 8 of a PML4E/PML5E not "
			    "reserved, against APM 5.3.3 (AMD)");
	}
	return (NULL);
}

const engine_ops_t engine_qemu_ops = {
	.name = "qemu",
	.modes = ENGINE_MODE(HT_MODE_32BIT) | ENGINE_MODE(HT_MODE_PAE) |
	    ENGINE_MODE(HT_MODE_4LEVEL) | ENGINE_MODE(HT_MODE_5LEVEL) |
	    ENGINE_MODE(HT_MODE_NPT4) | ENGINE_MODE(HT_MODE_NPT5),
	.run = engine_qemu,
	.cpu = qemu_cpu,
	.quirk = qemu_quirk,
};
