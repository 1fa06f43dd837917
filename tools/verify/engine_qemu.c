/*
 * engine_qemu.c - the QEMU engine of the verification library: run an
 * image's probes on QEMU's TCG MMU (qemu-system-x86_64 -accel tcg -cpu
 * max), in any of the four paging modes.
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
 * HTABLE_QEMU_TRACE=FILE makes QEMU log every exception and reset of the
 * guest there, for debugging the guest code.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "engine_qemu.h"

#define	QEMU_BIN	"qemu-system-x86_64"
#define	ROM_SIZE	0x10000
#define	PAGE		4096ull
#define	CHUNK		(1u << 20)	/* bytes per write of the RAM file */
#define	QPROBES_MAX	((QA_TABLES - QA_PROBES - 64) / \
			    (QA_PROBE_SIZE + QR_SIZE))
#define	NIPS_MAX	14

/* Entry bits of the bootstrap tables. */
#define	PTE_P		0x001ull
#define	PTE_RW		0x002ull
#define	PTE_US		0x004ull
#define	PTE_A		0x020ull
#define	PTE_D		0x040ull

/* Control-register bits the parameter block carries. */
#define	CR0_WP		0x00010000ull
#define	CR4_PSE		0x00000010ull
#define	CR4_PAE		0x00000020ull
#define	CR4_LA57	0x00001000ull
#define	CR4_SMEP	0x00100000ull
#define	CR4_SMAP	0x00200000ull
#define	CR4_PKE		0x00400000ull
#define	EFER_LME	0x00000100ull
#define	EFER_NXE	0x00000800ull
#define	EFL_AC		0x00040000ull

/* The guest blob's header (engine_qemu_guest.S, at its first byte). */
typedef struct qg_header {
	uint32_t	magic;
	uint32_t	entry32;
	uint32_t	exc32, back32;
	uint32_t	exc64, back64;
	uint32_t	user32, user64;
	uint32_t	nips;
	uint32_t	ips[NIPS_MAX];	/* 8 of 32-bit code, then 6 of 64 */
} qg_header_t;

extern const uint8_t engine_qemu_rom[];
extern const uint8_t engine_qemu_guest[];
extern const uint8_t engine_qemu_guest_end[];

/* One run's state. */
typedef struct qctx {
	engine_job_t	*job;
	qg_header_t	hdr;
	int		is_long;	/* 4- or 5-level */
	unsigned	levels, pte_size;
	uint8_t		*area;		/* QA_END bytes, the area's image */
	uint64_t	next_table;	/* area offset of the next free table */
	uint64_t	link;		/* what the slot entry gets */
	unsigned	ukey;		/* protection key of the user pages */
	unsigned	pa_bits;	/* MAXPHYADDR the guest CPU gets */
	char		dir[PATH_MAX / 2];	/* room for "/ram" after it */
	char		ram[PATH_MAX], rom[PATH_MAX], log[PATH_MAX];
	char		qemu[PATH_MAX];
	char		version[32];
} qctx_t;

/* Set the job's note (printf-style); the first reason wins. */
__attribute__((format(printf, 2, 3))) static void
note(engine_job_t *job, const char *fmt, ...)
{
	va_list ap;

	if (job->note[0] != '\0')
		return;
	va_start(ap, fmt);
	(void) vsnprintf(job->note, sizeof (job->note), fmt, ap);
	va_end(ap);
}

static void
put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return (v);
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return (v);
}

/*
 * Find prog on PATH (as execvp would) into out.  0, or -1 when there is
 * no executable of that name: the engine is then absent, not broken.
 */
static int
find_on_path(const char *prog, char *out, size_t outlen)
{
	const char *path = getenv("PATH");

	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path != '\0') {
		const char *end = strchr(path, ':');
		size_t len = end != NULL ? (size_t)(end - path) : strlen(path);
		int n;

		/* An empty element means the current directory, as for sh. */
		n = len == 0 ? snprintf(out, outlen, "./%s", prog) :
		    snprintf(out, outlen, "%.*s/%s", (int)len, path, prog);
		if (n > 0 && (size_t)n < outlen && access(out, X_OK) == 0)
			return (0);
		if (end == NULL)
			break;
		path = end + 1;
	}
	return (-1);
}

/*
 * Run argv with stdin from /dev/null and stdout + stderr into log, for
 * at most ms milliseconds; a run that takes longer is killed.  QEMU dies
 * with us (PR_SET_PDEATHSIG) and is always reaped.  Returns the exit
 * status (0..255), -2 on a timeout, -3 when killed by a signal, -1 when
 * it could not start (errno set).
 */
static int
run_bounded(char *const argv[], const char *log, long ms)
{
	struct timespec start, now, nap = { 0, 2000000 };
	pid_t pid;
	int st;

	(void) clock_gettime(CLOCK_MONOTONIC, &start);
	if ((pid = fork()) < 0)
		return (-1);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (in < 0 || out < 0 || dup2(in, 0) < 0 ||
		    dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			(void) kill(pid, SIGKILL);
			return (-1);
		}
		(void) clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000 > ms) {
			(void) kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			return (-2);
		}
		(void) nanosleep(&nap, NULL);
	}
	if (WIFEXITED(st))
		return (WEXITSTATUS(st));
	return (-3);
}

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
	if (run_bounded(argv, c->log, 10000) != 0)
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

	return (c->pte_size == 4 ? get32(p) : get64(p));
}

static void
entry_set(qctx_t *c, uint64_t table, unsigned idx, uint64_t v)
{
	uint8_t *p = c->area + table + (uint64_t)idx * c->pte_size;

	if (c->pte_size == 4) {
		uint32_t w = (uint32_t)v;

		memcpy(p, &w, 4);
	} else {
		put64(p, v);
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
static int
map_page(qctx_t *c, uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t t = QA_TABLES;
	unsigned level;

	for (level = c->levels; level > 1; level--) {
		unsigned i = level_index(c, va, level);
		uint64_t e = entry_get(c, t, i);

		if (!(e & PTE_P)) {
			if (c->next_table >= QA_END)
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
static uint64_t
slot_link(const qctx_t *c)
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

	put64(p, lo);
	if (c->is_long)
		put64(p + 8, off >> 32);
}

/*
 * Lay out the area: code, parameters, GDT, TSS, IDT and the bootstrap
 * tables (the probes go in per batch).  0, or ENGINE_CANNOT with a note.
 */
static int
build_area(qctx_t *c)
{
	engine_job_t *job = c->job;
	const ht_cpu_t *cpu = job->cpu;
	unsigned flags = cpu != NULL ? cpu->flags : 0;
	uint64_t base = job->slot_va, cr4 = 0, efer = 0, tss, limit;
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
	default:	/* nested paging: check_job refused it */
		return (ENGINE_CANNOT);
	}
	if ((flags & HT_CPU_NXE) && job->mode != HT_MODE_32BIT)
		efer |= EFER_NXE;
	put64(c->area + QP_IMGCR3, job->cr3);
	put64(c->area + QP_MYCR3, job->guest_pa + QA_TABLES);
	put64(c->area + QP_CR4BOOT, cr4);
	if (flags & HT_CPU_SMEP)
		cr4 |= CR4_SMEP;
	if (flags & HT_CPU_SMAP)
		cr4 |= CR4_SMAP;
	if ((flags & HT_CPU_PKE) && c->is_long) {
		cr4 |= CR4_PKE;
		put64(c->area + QP_PKE, 1);
		put64(c->area + QP_PKRU, cpu->pkru);
	}
	put64(c->area + QP_CR4FINAL, cr4);
	put64(c->area + QP_EFER, efer);
	put64(c->area + QP_CR0OR, (flags & HT_CPU_WP) ? CR0_WP : 0);
	put64(c->area + QP_KFLAGS, (flags & HT_CPU_AC) ? EFL_AC : 0);
	put64(c->area + QP_SLOTVA, base);
	put64(c->area + QP_LONG, (uint64_t)c->is_long);

	/* GDT: null, kernel code/data, user code/data, TSS. */
	put64(gdt + SEL_KCODE, c->is_long ? 0x00af9b000000ffffull :
	    0x00cf9b000000ffffull);
	put64(gdt + SEL_KDATA, 0x00cf93000000ffffull);
	put64(gdt + SEL_UCODE, c->is_long ? 0x00affb000000ffffull :
	    0x00cffb000000ffffull);
	put64(gdt + SEL_UDATA, 0x00cff3000000ffffull);
	tss = base + QA_TSS;
	put64(gdt + SEL_TSS, 0x67 | ((tss & 0xffffff) << 16) |
	    (0x89ull << 40) | (((tss >> 24) & 0xff) << 56));
	if (c->is_long)
		put64(gdt + SEL_TSS + 8, tss >> 32);
	limit = SEL_TSS + 16 - 1;
	memcpy(c->area + QP_GDTR_PHYS, &(uint16_t){ (uint16_t)limit }, 2);
	put64(c->area + QP_GDTR_PHYS + 2, job->guest_pa + QA_GDT);
	memcpy(c->area + QP_GDTR_VIRT, &(uint16_t){ (uint16_t)limit }, 2);
	put64(c->area + QP_GDTR_VIRT + 2, base + QA_GDT);

	/* TSS: the stack of the ring 0 entry from ring 3; no I/O bitmap. */
	if (c->is_long) {
		put64(c->area + QA_TSS + 4, base + QA_KSTACK_TOP);
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
	put64(c->area + QP_IDTR_VIRT + 2, base + QA_IDT);

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
		if (map_page(c, base + off, job->guest_pa + off, fl) != 0)
			goto conflict;
	}
	for (pa = job->guest_pa; pa < job->guest_pa + QA_KSTACK_TOP;
	    pa += PAGE) {
		if (map_page(c, pa, pa, PTE_P | PTE_RW | PTE_A | PTE_D) != 0)
			goto conflict;
	}
	c->link = slot_link(c);
	return (0);
conflict:
	note(job, "qemu: cannot map the engine at both slot_va %#" PRIx64
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
					put64(buf + p + w, MARKER(pa + w));
			}
		}
		if (pwrite(fd, buf, len, (off_t)at) != (ssize_t)len)
			goto out;
	}
	if (pwrite(fd, &c->link, c->pte_size, (off_t)job->slot_pa) !=
	    (ssize_t)c->pte_size)
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

		put64(p, pr->va);
		memcpy(p + 8, &op, 4);
		memcpy(p + 12, &cpl, 4);
	}
	put64(c->area + QP_NPROBES, n);
	put64(c->area + QP_RESULTS, results);
	put64(c->area + QP_NEXT, 0);
	put64(c->area + QP_PHASE, 0);
	put64(c->area + QP_DONE, 0);
	/* ltr of an earlier batch left the TSS busy: available again. */
	c->area[QA_GDT + SEL_TSS + 5] = 0x89;
	if ((fd = open(c->ram, O_RDWR)) < 0 ||
	    pwrite(fd, c->area, QA_END, (off_t)job->guest_pa) != QA_END) {
		note(job, "qemu: %s: %s", c->ram, strerror(errno));
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
	(void) snprintf(a->cpu, sizeof (a->cpu), "max,phys-bits=%u%s",
	    c->pa_bits, (flags & HT_CPU_NO1G) ? ",pdpe1gb=off" : "");
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
		note(job, "qemu: cannot read back %s", c->ram);
		return (ENGINE_FAILED);
	}
	switch (get32(c->area + QP_DONE)) {
	case QG_DONE:
		return (ENGINE_OK);
	case QG_SETUP:
		note(job, "qemu: the guest faulted while moving onto the "
		    "image's tables (vector %" PRIu64 " at %#" PRIx64 "): is "
		    "cr3 %#" PRIx64 " a valid root for %s?",
		    get64(c->area + QP_SETUP_VEC) & 0xff,
		    get64(c->area + QP_SETUP_IP), job->cr3,
		    ht_mode_name(job->mode));
		return (ENGINE_CANNOT);
	default:
		break;
	}
	first_line(c->log, line, sizeof (line));
	if (get64(c->area + QP_PHASE) == 0) {
		/*
		 * No IDT of ours was in reach: a fault while moving onto the
		 * image's tables resets the CPU (exit 0).
		 */
		note(job, "qemu: the guest reset before probing began (exit "
		    "status %d%s%s): do the image's entries above the slot "
		    "let the engine's pages at %#" PRIx64 " be reached and "
		    "executed?", st, line[0] != '\0' ? ": " : "", line,
		    job->slot_va);
		return (ENGINE_CANNOT);
	}
	note(job, "qemu: the guest stopped after %" PRIu64 " of %zu probes "
	    "(exit status %d%s%s)", get64(c->area + QP_NEXT), n, st,
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
		uint64_t ip = get64(r + QR_IP);

		memset(res, 0, sizeof (*res));
		if (get32(r + QR_RAN) == 0) {
			res->outcome = PROBE_NOTRUN;
			continue;
		}
		switch (get32(r + QR_OUTCOME)) {
		case 0:
			res->outcome = PROBE_OK;
			if (pr->op == PROBE_READ)
				res->value = get64(r + QR_VALUE);
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
		res->vector = get32(r + QR_VECTOR);
		res->error_code = get32(r + QR_ERROR);
		/* CR2 means something after a page fault only. */
		if (res->outcome == PROBE_PF)
			res->cr2 = get64(r + QR_CR2);
		if (!c->is_long)
			res->cr2 &= 0xffffffffull;
		if (!fault_ip_ok(c, pr, ip)) {
			note(job, "qemu: probe %zu (va %#" PRIx64 ", cpl %u) "
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
	st = run_bounded(a.argv, c->log, ms);
	if (st == -2) {
		note(c->job, "qemu: the guest did not finish within %ld s",
		    ms / 1000);
		return (ENGINE_FAILED);
	}
	if (st == -1) {
		note(c->job, "qemu: cannot run %s: %s", c->qemu,
		    strerror(errno));
		return (ENGINE_FAILED);
	}
	if ((rc = batch_ended(c, n, st)) != ENGINE_OK)
		return (rc);
	batch_results(c, first, n, results);
	return (ENGINE_OK);
}

/* ---------------- the engine ---------------- */

/* Check the job against what this engine can do; ENGINE_OK or CANNOT. */
static int
check_job(qctx_t *c)
{
	engine_job_t *job = c->job;
	uint64_t span;

	if (job->mode == HT_MODE_NPT4 || job->mode == HT_MODE_NPT5) {
		note(job, "qemu: the engine runs the image's tables as a "
		    "guest's own; nested paging (%s) needs a guest that enters "
		    "an SVM guest, which this engine does not build yet",
		    ht_mode_name(job->mode));
		return (ENGINE_CANNOT);
	}
	if (job->mode == HT_MODE_EPT4 || job->mode == HT_MODE_EPT5) {
		note(job, "qemu: the engine runs the image's tables as a "
		    "guest's own; EPT (%s) needs a guest that enters a VMX "
		    "guest, which this engine does not build yet (and QEMU's "
		    "TCG has no VMX)", ht_mode_name(job->mode));
		return (ENGINE_CANNOT);
	}
	if (job->mode > HT_MODE_5LEVEL) {
		note(job, "qemu: unknown paging mode %d", (int)job->mode);
		return (ENGINE_CANNOT);
	}
	if (job->slot_level < 1 || (unsigned)job->slot_level >= c->levels) {
		note(job, "qemu: the borrowed slot must be at level 1 or "
		    "above (level %d maps too little for the engine)",
		    job->slot_level);
		return (ENGINE_CANNOT);
	}
	span = 1ull << level_shift(c, (unsigned)job->slot_level + 1);
	if (job->slot_va & (span - 1)) {
		note(job, "qemu: slot_va %#" PRIx64 " is not aligned to the "
		    "%#" PRIx64 " bytes its level-%d entry maps",
		    job->slot_va, span, job->slot_level);
		return (ENGINE_CANNOT);
	}
	if (job->guest_pa % GUEST_AREA != 0 || job->guest_pa >> 32 != 0 ||
	    job->guest_pa + GUEST_AREA > job->ram_size) {
		note(job, "qemu: guest_pa %#" PRIx64 " must be 2 MiB-aligned, "
		    "below 4 GiB and inside RAM", job->guest_pa);
		return (ENGINE_CANNOT);
	}
	if (job->ram_size == 0 || job->ram_size % (2u << 20) != 0 ||
	    job->slot_pa + c->pte_size > job->ram_size ||
	    job->slot_pa % c->pte_size != 0) {
		note(job, "qemu: ram_size %#" PRIx64 " or slot_pa %#" PRIx64
		    " is out of bounds", job->ram_size, job->slot_pa);
		return (ENGINE_CANNOT);
	}
	if (!c->is_long && job->cr3 >> 32 != 0) {
		note(job, "qemu: cr3 %#" PRIx64 " does not fit 32 bits",
		    job->cr3);
		return (ENGINE_CANNOT);
	}
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

/* Copy RAM [0, img->size) after the run into job->mem_after. */
static int
save_mem_after(qctx_t *c)
{
	engine_job_t *job = c->job;
	uint64_t size = job->img->size;
	uint64_t inram = size < job->ram_size ? size : job->ram_size;
	uint8_t *m;
	int fd;

	if ((m = malloc(size != 0 ? size : 1)) == NULL)
		return (-1);
	if ((fd = open(c->ram, O_RDONLY)) < 0) {
		free(m);
		return (-1);
	}
	if (pread(fd, m, inram, 0) != (ssize_t)inram) {
		(void) close(fd);
		free(m);
		return (-1);
	}
	(void) close(fd);
	/* Beyond RAM the guest saw nothing: the image as it was. */
	if (size > inram)
		(void) image_read((void *)job->img, inram, m + inram,
		    size - inram);
	/* The borrowed slot goes back to the image's value. */
	if (job->slot_pa + c->pte_size <= size)
		(void) image_read((void *)job->img, job->slot_pa,
		    m + job->slot_pa, c->pte_size);
	/*
	 * QEMU 7.2 sets bit 5 (accessed) in PAE PDPTEs it walks, where the
	 * bit is reserved and a CPU never writes (it reads the PDPTEs once,
	 * at the CR3 load).  Leave memory as QEMU left it, but say so.
	 */
	if (job->mode == HT_MODE_PAE) {
		uint64_t root = job->cr3 & ht_geometry(job->mode)->root_mask;
		uint64_t i, n = 0;

		for (i = 0; i < 4 && root + 8 * i + 8 <= inram; i++) {
			uint64_t was;

			(void) image_read((void *)job->img, root + 8 * i, &was,
			    8);
			if ((get64(m + root + 8 * i) & ~was) & PTE_A)
				n++;
		}
		if (n != 0)
			note(job, "qemu: QEMU set the accessed bit (bit 5, "
			    "reserved in PAE) in %" PRIu64 " PDPTE(s) of "
			    "the root at %#" PRIx64 "; mem_after shows it",
			    n, root);
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
		note(job, "qemu: out of memory");
		return (ENGINE_FAILED);
	}
	c->job = job;
	if (find_on_path(QEMU_BIN, c->qemu, sizeof (c->qemu)) != 0) {
		note(job, "qemu: %s is not installed (Debian: "
		    "qemu-system-x86)", QEMU_BIN);
		free(c);
		return (ENGINE_ABSENT);
	}
	memcpy(&c->hdr, engine_qemu_guest, sizeof (c->hdr));
	if (c->hdr.magic != QG_MAGIC || c->hdr.nips != NIPS_MAX) {
		note(job, "qemu: the embedded guest code is damaged");
		free(c);
		return (ENGINE_FAILED);
	}
	if ((unsigned)job->mode <= HT_MODE_5LEVEL)
		c->levels = levels[job->mode];
	c->is_long = job->mode == HT_MODE_4LEVEL ||
	    job->mode == HT_MODE_5LEVEL;
	c->pte_size = job->mode == HT_MODE_32BIT ? 4 : 8;
	if ((rc = check_job(c)) != ENGINE_OK) {
		free(c);
		return (rc);
	}
	c->pa_bits = job->cpu != NULL && job->cpu->pa_bits != 0 ?
	    job->cpu->pa_bits : ht_geometry(job->mode)->pa_bits_max;
	if (job->cpu != NULL && (job->cpu->flags & HT_CPU_NO1G) &&
	    c->is_long)
		note(job, "qemu: QEMU 7.2's TCG walks 1 GiB pages even with "
		    "pdpe1gb=off: HT_CPU_NO1G is not emulated");
	/* A protection key whose access PKRU does not restrict. */
	if (job->cpu != NULL && (job->cpu->flags & HT_CPU_PKE)) {
		for (c->ukey = 0; c->ukey < 16; c->ukey++)
			if (((job->cpu->pkru >> (2 * c->ukey)) & 3) == 0)
				break;
		if (c->ukey == 16)
			c->ukey = 0;
	}
	if ((c->area = calloc(1, QA_END)) == NULL) {
		note(job, "qemu: out of memory");
		free(c);
		return (ENGINE_FAILED);
	}
	if ((rc = build_area(c)) != ENGINE_OK)
		goto out;

	rc = ENGINE_FAILED;
	(void) snprintf(c->dir, sizeof (c->dir), "%s/htable-qemu.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(c->dir) == NULL) {
		note(job, "qemu: cannot make a directory %s: %s", c->dir,
		    strerror(errno));
		c->dir[0] = '\0';
		goto out;
	}
	(void) snprintf(c->ram, sizeof (c->ram), "%s/ram", c->dir);
	(void) snprintf(c->rom, sizeof (c->rom), "%s/bios", c->dir);
	(void) snprintf(c->log, sizeof (c->log), "%s/log", c->dir);
	if (write_ram(c) != 0 || write_rom(c) != 0) {
		note(job, "qemu: cannot write the guest's memory in %s: %s",
		    c->dir, strerror(errno));
		goto out;
	}
	qemu_version(c);
	(void) snprintf(job->engine, sizeof (job->engine), "qemu%s tcg, %s",
	    c->version, ht_mode_name(job->mode));

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
		note(job, "qemu: cannot read back the guest's memory: %s",
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
	return (NULL);
}

const engine_ops_t engine_qemu_ops = {
	.name = "qemu",
	.modes = ENGINE_MODE(HT_MODE_32BIT) | ENGINE_MODE(HT_MODE_PAE) |
	    ENGINE_MODE(HT_MODE_4LEVEL) | ENGINE_MODE(HT_MODE_5LEVEL),
	.run = engine_qemu,
	.cpu = qemu_cpu,
	.quirk = qemu_quirk,
};
