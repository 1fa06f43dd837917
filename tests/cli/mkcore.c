/*
 * mkcore.c - writes the dump files that tests/cli/test_dumpfiles.sh gives
 * to htable: valid ones (an ELF core as QEMU's dump-guest-memory writes
 * it, a kdump-compressed file, either with a Linux VMCOREINFO note as
 * /proc/vmcore and makedumpfile have it) made from a raw physical image,
 * whose mappings must therefore be the raw image's, and hostile ones:
 * truncated, overlapping, lying about their size, their notes, their
 * CPUs or their VMCOREINFO.  It is a test-input generator, not a
 * parser: it only writes the structures of <elf.h> and of makedumpfile's
 * diskdump_mod.h (the layout libkdumpfile's diskdump.c reads) that the
 * readers look at.  Little-endian host only.
 *
 * usage: mkcore KIND OUT [RAW] [OPTIONS]
 * Kinds that take RAW (a raw physical image: byte offset = address):
 *   elf           ELF64 x86-64 core: a PT_NOTE with, per CPU, a "CORE"
 *                 NT_PRSTATUS and a "QEMU" note (QEMUCPUState: CR0, CR3,
 *                 CR4), then a PT_LOAD of RAW at physical address 0
 *   elf32         the same in ELFCLASS32 with EM_386
 *   trunc-seg     elf whose PT_LOAD claims 1 MiB more than the file holds
 *   overlap-same  elf and a second PT_LOAD over [64, 128 KiB) holding
 *                 RAW's own bytes there (as /proc/vmcore maps the kernel
 *                 image twice)
 *   overlap       elf and a second PT_LOAD over [64, 128 KiB) of 0xa5
 *                 bytes (RAW's are zeros there: no table is)
 *   huge-memsz    elf whose PT_LOAD has p_memsz 16 TiB (p_filesz RAW's)
 *   huge-paddr    elf and a one-page PT_LOAD at 0xffffffffff000000 whose
 *                 p_memsz (1 TiB) passes 2^64
 *   note-short    elf whose QEMU note has descsz 100 (the state's own
 *                 size field says 440); the rest of a valid state follows
 *                 the PT_NOTE in the file, for a reader that ignores
 *                 descsz to find
 *   note-absurd   elf whose QEMU note has descsz 0xffffffff
 *   note-namesz   elf whose QEMU note has namesz 0x7ffffff0
 *   note-huge     elf whose PT_NOTE has p_filesz 1 TiB
 *   noload        elf without its PT_LOAD (the notes only)
 *   kdump         kdump-compressed (diskdump v6, "KDUMP   "): pages
 *                 stored uncompressed (or as --compress says), the
 *                 notes in the sub-header as QEMU writes them
 *   kdump-baddesc kdump whose page descriptors point beyond the file
 *   kdump-flip    kdump --compress M whose compressed pages have every
 *                 byte of their data inverted
 *   kdump-oversize kdump --compress M whose compressed pages'
 *                 descriptors claim two blocks (data that follows:
 *                 the next pages', two blocks of zeros after the last)
 * Kinds without RAW:
 *   phnum         an ELF64 header with e_phnum 65535 (PN_XNUM) and
 *                 e_shoff 0, in a file that holds three program headers
 *   phnum-xnum    e_phnum PN_XNUM and a section 0 whose sh_info (the
 *                 real count) is 0xffffffff
 *   diskdump-huge a kdump-compressed header and sub-header only:
 *                 max_mapnr_64 2^40 pages, bitmap blocks beyond the file
 *   flat          the flattened makedumpfile signature, then garbage
 * Options:
 *   --cr3 X       a CPU with CR3 X; repeat for more CPUs (default one
 *                 CPU, CR3 0x100000)
 *   --cr0 X       every CPU's CR0 (default 0x80000011: PG, ET, PE)
 *   --cr4 X       every CPU's CR4 (default 0x20: PAE)
 *   --la57        CR4.LA57 too
 *   --machine M   x86_64 or 386 (default: x86_64; elf32: 386)
 *   --no-qemu     no QEMU notes (no CPU state); --no-prstatus likewise
 *   --vmcoreinfo LINE  a line of a Linux VMCOREINFO note (KEY=VALUE, as
 *                 SYMBOL(init_top_pgt)=ffffffff82a0a000); repeat for
 *                 more.  The note ("VMCOREINFO", type 0, the lines each
 *                 ended by a newline) follows the CPUs' notes: in the
 *                 PT_NOTE of the ELF kinds, in the sub-header's notes of
 *                 the kdump kinds, whose offset_vmcoreinfo and
 *                 size_vmcoreinfo name its text (as makedumpfile and
 *                 QEMU write them)
 *   --kdump-version N  the kdump kinds' header_version (default 6).
 *                 libkdumpfile reads a version 4 or later file's notes,
 *                 and of a version 3 file only the VMCOREINFO text at
 *                 offset_vmcoreinfo
 *   --phys-base X the kdump kinds' sub-header phys_base (default 0)
 *   --hdr32       the kdump kinds' header and sub-header in the layout
 *                 of 32-bit machines (IA-32: timestamp of two 32-bit
 *                 words, the sub-header's fields 32-bit and packed), the
 *                 machine i686; the sub-header keeps its 104 bytes, so
 *                 what follows it lies where it would
 *   --compress M  the kdump kinds: each page compressed with M (zlib:
 *                 compress2 at Z_BEST_SPEED, lzo: lzo1x_1_compress,
 *                 snappy, zstd: level 1, as makedumpfile -c, -l, -p,
 *                 -z and QEMU's dump-guest-memory -z, -l, -s do), its
 *                 descriptor's flags and the header's status saying
 *                 so; a page that does not shrink is stored as it is
 *                 (flags 0); pages of zeros share one uncompressed
 *                 block at the start of the data, as QEMU writes them
 *   --sparse      a PT_LOAD (kdump: a dumpable page) per run of pages
 *                 of RAW that are not all zeros, none for the others
 *   --pad N       the ELF kinds: N bytes of zeros after RAW, in its
 *                 PT_LOAD (a hole in OUT: a big core on little disk)
 *   --bitmap-blocks N, --max-mapnr N, --nr-cpus N: diskdump-huge's
 *                 header fields (defaults 0x100000, 2^40, 1)
 * Exit status 0, or 1 with a message.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <lzo/lzo1x.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#define PAGE		4096
#define MAXCPU		64
#define QEMU_DESCSZ	440

/* QEMU's target/i386/arch_dump.c: QEMUCPUSegment, QEMUCPUState. */
typedef struct qemu_seg {
	uint32_t	selector, limit, flags, pad;
	uint64_t	base;
} qemu_seg_t;

typedef struct qemu_cpu {
	uint32_t	version, size;
	uint64_t	gpr[16];	/* rax rbx rcx rdx rsi rdi rsp rbp
					   r8-r15 */
	uint64_t	rip, rflags;
	qemu_seg_t	seg[10];	/* cs ds es fs gs ss ldt tr gdt idt */
	uint64_t	cr[5];
	uint64_t	kernel_gs_base;
} qemu_cpu_t;

_Static_assert(sizeof (qemu_cpu_t) == QEMU_DESCSZ, "QEMUCPUState");

/* makedumpfile's diskdump_mod.h, 64-bit (x86-64) flavour. */
#define UTS_LEN		65
typedef struct dd_header {
	char		signature[8];
	int32_t		header_version;
	char		utsname[6][UTS_LEN];
	char		pad1[6];
	uint64_t	tv_sec, tv_usec;
	uint32_t	status;
	int32_t		block_size;
	int32_t		sub_hdr_size;	/* blocks */
	uint32_t	bitmap_blocks;
	uint32_t	max_mapnr;
	uint32_t	total_ram_blocks, device_blocks, written_blocks;
	uint32_t	current_cpu;
	int32_t		nr_cpus;
} __attribute__((packed)) dd_header_t;

typedef struct dd_sub {
	uint64_t	phys_base;
	int32_t		dump_level, split;
	uint64_t	start_pfn, end_pfn;
	uint64_t	offset_vmcoreinfo, size_vmcoreinfo;
	uint64_t	offset_note, size_note;
	uint64_t	offset_eraseinfo, size_eraseinfo;
	uint64_t	start_pfn_64, end_pfn_64, max_mapnr_64;
} __attribute__((packed)) dd_sub_t;

typedef struct dd_desc {
	uint64_t	offset;
	uint32_t	size, flags;
	uint64_t	page_flags;
} dd_desc_t;

_Static_assert(sizeof (dd_header_t) == 464, "disk_dump_header");
_Static_assert(sizeof (dd_sub_t) == 104, "kdump_sub_header");
_Static_assert(sizeof (dd_desc_t) == 24, "page_desc");

/* diskdump_mod.h: a page descriptor's flags, the header's status */
#define DH_ZLIB		0x1
#define DH_LZO		0x2
#define DH_SNAPPY	0x4
#define DH_ZSTD		0x20

/* A program header, class-neutral: written as Elf32_ or Elf64_Phdr. */
typedef struct seg {
	uint32_t	type;
	uint64_t	off, paddr, filesz, memsz;
} seg_t;
#define MAXSEG		4096

static const char *kind, *out, *rawpath;
static uint64_t cr3s[MAXCPU];
static int ncpu;
static uint64_t cr0 = 0x80000011, cr4 = 0x20;
static int machine = EM_X86_64, is32, noqemu, noprstatus, sparse, hdr32;
static uint64_t bitmap_blocks = 0x100000, max_mapnr = 1ULL << 40;
static uint64_t nr_cpus = 1, pad;
static int kdump_version = 6;
static uint64_t phys_base;
static uint32_t zflag;		/* --compress: a DH_ flag, 0 for none */
static void *lzo_wrk;		/* lzo1x_1_compress's work memory */

/* The VMCOREINFO text (--vmcoreinfo), and where make_notes put it. */
static char vmci[1 << 14];
static size_t vmcisz, vmci_off;
static int have_vmci;

static unsigned char *raw;
static uint64_t rawsz;

static unsigned char notes[1 << 16];
static size_t notesz;

static seg_t segs[MAXSEG];
static int nseg;

/* Say msg about OUT and exit 1. */
static _Noreturn void
die(const char *msg)
{
	fprintf(stderr, "mkcore: %s: %s\n", out ? out : kind, msg);
	exit(1);
}

/* Parse a number (decimal or 0x hex) or die. */
static uint64_t
num(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *s == '\0' || *end != '\0')
		die("bad number");
	return (v);
}

/* Read RAW whole (test images are small and sparse). */
static void
read_raw(void)
{
	FILE *f;
	long n;

	if (rawpath == NULL)
		die("this kind needs a RAW image");
	if ((f = fopen(rawpath, "rb")) == NULL ||
	    fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		die("cannot read RAW");
	rawsz = (uint64_t)n;
	if ((raw = calloc(1, rawsz + PAGE)) == NULL)
		die("out of memory");
	if (fread(raw, 1, rawsz, f) != rawsz)
		die("short read of RAW");
	fclose(f);
}

/* Whether page p of RAW (a partial last page too) is all zeros. */
static int
zero_page(uint64_t p)
{
	uint64_t i, end = (p + 1) * PAGE < rawsz ? (p + 1) * PAGE : rawsz;

	for (i = p * PAGE; i < end; i++)
		if (raw[i] != 0)
			return (0);
	return (1);
}

/*
 * Append a note (name, type, desc of len bytes; descsz is what the
 * header claims, namesz likewise unless 0 = strlen + 1) to notes[].
 * A note's name and desc are padded to 4 bytes in both ELF classes.
 */
static void
add_note(const char *name, uint32_t namesz, uint32_t type,
    const void *desc, size_t len, uint32_t descsz)
{
	Elf64_Nhdr h;
	size_t nl = strlen(name) + 1;

	h.n_namesz = namesz != 0 ? namesz : (uint32_t)nl;
	h.n_descsz = descsz;
	h.n_type = type;
	if (notesz + sizeof (h) + 2 * ((nl + 3) & ~3) + len + 4 >
	    sizeof (notes))
		die("notes too long");
	memcpy(notes + notesz, &h, sizeof (h));
	notesz += sizeof (h);
	memcpy(notes + notesz, name, nl);
	notesz += (nl + 3) & ~(size_t)3;
	memcpy(notes + notesz, desc, len);
	notesz += (len + 3) & ~(size_t)3;
}

/* The QEMUCPUState of CPU i. */
static qemu_cpu_t
cpu_state(int i)
{
	qemu_cpu_t s;

	memset(&s, 0, sizeof (s));
	s.version = 1;
	s.size = QEMU_DESCSZ;
	s.rip = 0xffffffff81000000ULL;
	s.rflags = 0x2;
	s.cr[0] = cr0;
	s.cr[3] = cr3s[i];
	s.cr[4] = cr4;
	return (s);
}

/*
 * The notes QEMU writes per CPU: NT_PRSTATUS (elf_prstatus: 336 bytes on
 * x86-64, pr_pid at 32; 144 bytes on i386, pr_pid at 24), then "QEMU".
 * The hostile kinds change the last CPU's QEMU note; note-short returns
 * in *tail the part of the state its note leaves out.  Then the
 * VMCOREINFO note, if any, its text at vmci_off in notes[].
 */
static void
make_notes(unsigned char *tail, size_t *tailsz)
{
	unsigned char pr[336];
	uint32_t pid;
	qemu_cpu_t s;
	int i, last;

	*tailsz = 0;
	for (i = 0; i < ncpu; i++) {
		last = i == ncpu - 1;
		if (!noprstatus) {
			memset(pr, 0, sizeof (pr));
			pid = i + 1;
			memcpy(pr + (machine == EM_X86_64 ? 32 : 24), &pid,
			    sizeof (pid));
			add_note("CORE", 0, NT_PRSTATUS, pr,
			    machine == EM_X86_64 ? 336 : 144,
			    machine == EM_X86_64 ? 336 : 144);
		}
		if (noqemu)
			continue;
		s = cpu_state(i);
		if (last && strcmp(kind, "note-short") == 0) {
			add_note("QEMU", 0, 0, &s, 100, 100);
			memcpy(tail, (unsigned char *)&s + 100,
			    QEMU_DESCSZ - 100);
			*tailsz = QEMU_DESCSZ - 100;
		} else if (last && strcmp(kind, "note-absurd") == 0) {
			add_note("QEMU", 0, 0, &s, QEMU_DESCSZ, 0xffffffff);
		} else if (last && strcmp(kind, "note-namesz") == 0) {
			add_note("QEMU", 0x7ffffff0, 0, &s, QEMU_DESCSZ,
			    QEMU_DESCSZ);
		} else {
			add_note("QEMU", 0, 0, &s, QEMU_DESCSZ, QEMU_DESCSZ);
		}
	}
	if (have_vmci) {
		add_note("VMCOREINFO", 0, 0, vmci, vmcisz, (uint32_t)vmcisz);
		vmci_off = notesz - ((vmcisz + 3) & ~(size_t)3);
	}
}

/* Append a program header to segs[]. */
static void
add_seg(uint32_t type, uint64_t off, uint64_t paddr, uint64_t filesz,
    uint64_t memsz)
{
	if (nseg == MAXSEG)
		die("too many segments");
	segs[nseg].type = type;
	segs[nseg].off = off;
	segs[nseg].paddr = paddr;
	segs[nseg].filesz = filesz;
	segs[nseg].memsz = memsz;
	nseg++;
}

/* Write n bytes or die. */
static void
put(FILE *f, const void *p, size_t n)
{
	if (n != 0 && fwrite(p, 1, n, f) != n)
		die("write failed");
}

/* Write the ELF header for nph program headers at offset phoff. */
static void
put_ehdr(FILE *f, uint64_t nph, uint64_t phoff, uint64_t shoff,
    uint64_t nsh)
{
	Elf64_Ehdr e;
	Elf32_Ehdr e32;

	memset(&e, 0, sizeof (e));
	memcpy(e.e_ident, ELFMAG, SELFMAG);
	e.e_ident[EI_CLASS] = is32 ? ELFCLASS32 : ELFCLASS64;
	e.e_ident[EI_DATA] = ELFDATA2LSB;
	e.e_ident[EI_VERSION] = EV_CURRENT;
	e.e_type = ET_CORE;
	e.e_machine = machine;
	e.e_version = EV_CURRENT;
	if (!is32) {
		e.e_phoff = phoff;
		e.e_shoff = shoff;
		e.e_ehsize = sizeof (Elf64_Ehdr);
		e.e_phentsize = sizeof (Elf64_Phdr);
		e.e_phnum = (uint16_t)nph;
		e.e_shentsize = sizeof (Elf64_Shdr);
		e.e_shnum = (uint16_t)nsh;
		put(f, &e, sizeof (e));
		return;
	}
	memset(&e32, 0, sizeof (e32));
	memcpy(e32.e_ident, e.e_ident, EI_NIDENT);
	e32.e_type = ET_CORE;
	e32.e_machine = machine;
	e32.e_version = EV_CURRENT;
	e32.e_phoff = (uint32_t)phoff;
	e32.e_shoff = (uint32_t)shoff;
	e32.e_ehsize = sizeof (Elf32_Ehdr);
	e32.e_phentsize = sizeof (Elf32_Phdr);
	e32.e_phnum = (uint16_t)nph;
	e32.e_shentsize = sizeof (Elf32_Shdr);
	e32.e_shnum = (uint16_t)nsh;
	put(f, &e32, sizeof (e32));
}

/* Write s as an Elf64_Phdr, or an Elf32_Phdr (die if it does not fit). */
static void
put_phdr(FILE *f, const seg_t *s)
{
	Elf64_Phdr p;
	Elf32_Phdr p32;

	if (!is32) {
		memset(&p, 0, sizeof (p));
		p.p_type = s->type;
		p.p_offset = s->off;
		p.p_vaddr = s->paddr;
		p.p_paddr = s->paddr;
		p.p_filesz = s->filesz;
		p.p_memsz = s->memsz;
		p.p_flags = s->type == PT_LOAD ? PF_R | PF_W | PF_X : 0;
		put(f, &p, sizeof (p));
		return;
	}
	if (s->off > UINT32_MAX || s->paddr > UINT32_MAX ||
	    s->filesz > UINT32_MAX || s->memsz > UINT32_MAX)
		die("a segment does not fit ELFCLASS32");
	memset(&p32, 0, sizeof (p32));
	p32.p_type = s->type;
	p32.p_offset = (uint32_t)s->off;
	p32.p_vaddr = (uint32_t)s->paddr;
	p32.p_paddr = (uint32_t)s->paddr;
	p32.p_filesz = (uint32_t)s->filesz;
	p32.p_memsz = (uint32_t)s->memsz;
	p32.p_flags = s->type == PT_LOAD ? PF_R | PF_W | PF_X : 0;
	put(f, &p32, sizeof (p32));
}

/*
 * The ELF kinds.  Layout as QEMU's: header, program headers, notes, then
 * the memory, unaligned.  The PT_LOADs of RAW (one, or one per non-zero
 * run with --sparse) come first, then the hostile kinds' extra segment.
 */
static void
write_elf(void)
{
	unsigned char tail[QEMU_DESCSZ], junk[PAGE];
	size_t tailsz, ehsz, phsz;
	uint64_t off, p, q, npages, extra_off = 0;
	FILE *f;
	int i, nload;

	read_raw();
	make_notes(tail, &tailsz);
	ehsz = is32 ? sizeof (Elf32_Ehdr) : sizeof (Elf64_Ehdr);
	phsz = is32 ? sizeof (Elf32_Phdr) : sizeof (Elf64_Phdr);

	/* count the loads first: the data starts after every header */
	npages = (rawsz + PAGE - 1) / PAGE;
	nload = 0;
	if (strcmp(kind, "noload") == 0)
		nload = 0;
	else if (!sparse)
		nload = 1;
	else
		for (p = 0; p < npages; p = q) {
			for (; p < npages && zero_page(p); p++)
				;
			if (p == npages)
				break;
			for (q = p; q < npages && !zero_page(q); q++)
				;
			nload++;
		}
	if (strcmp(kind, "overlap") == 0 ||
	    strcmp(kind, "overlap-same") == 0 ||
	    strcmp(kind, "huge-paddr") == 0)
		nload++;

	off = ehsz + phsz * (1 + nload);
	add_seg(PT_NOTE, off, 0, notesz, 0);
	if (strcmp(kind, "note-huge") == 0)
		segs[0].filesz = 1ULL << 40;
	off += notesz + tailsz;
	if (strcmp(kind, "noload") == 0) {
		/* nothing */
	} else if (!sparse) {
		add_seg(PT_LOAD, off, 0, rawsz, rawsz);
		off += rawsz + pad;
		segs[nseg - 1].filesz += pad;
		segs[nseg - 1].memsz += pad;
	} else {
		for (p = 0; p < npages; p = q) {
			for (; p < npages && zero_page(p); p++)
				;
			if (p == npages)
				break;
			for (q = p; q < npages && !zero_page(q); q++)
				;
			add_seg(PT_LOAD, off + p * PAGE, p * PAGE,
			    (q - p) * PAGE, (q - p) * PAGE);
		}
		if (pad != 0)
			add_seg(PT_LOAD, off + npages * PAGE, npages * PAGE,
			    pad, pad);
		off += npages * PAGE + pad;
	}
	if (strcmp(kind, "trunc-seg") == 0) {
		segs[nseg - 1].filesz += 1 << 20;
		segs[nseg - 1].memsz += 1 << 20;
	} else if (strcmp(kind, "huge-memsz") == 0) {
		segs[nseg - 1].memsz = 1ULL << 44;
	} else if (strcmp(kind, "overlap") == 0 ||
	    strcmp(kind, "overlap-same") == 0) {
		if (rawsz < 0x10000 + 16 * PAGE)
			die("overlap needs RAW of 128 KiB at least");
		extra_off = off;
		add_seg(PT_LOAD, off, 0x10000, 16 * PAGE, 16 * PAGE);
	} else if (strcmp(kind, "huge-paddr") == 0) {
		extra_off = off;
		add_seg(PT_LOAD, off, 0xffffffffff000000ULL, PAGE,
		    1ULL << 40);
	}

	if ((f = fopen(out, "wb")) == NULL)
		die("cannot create");
	put_ehdr(f, nseg, ehsz, 0, 0);
	for (i = 0; i < nseg; i++)
		put_phdr(f, &segs[i]);
	put(f, notes, notesz);
	put(f, tail, tailsz);
	if (strcmp(kind, "noload") != 0)
		put(f, raw, sparse ? npages * PAGE : rawsz);
	if (pad != 0 && (fseeko(f, (off_t)pad - 1, SEEK_CUR) != 0 ||
	    fputc(0, f) == EOF))
		die("cannot pad");
	if (strcmp(kind, "overlap-same") == 0) {
		put(f, raw + 0x10000, 16 * PAGE);
	} else if (extra_off != 0) {
		memset(junk, strcmp(kind, "overlap") == 0 ? 0xa5 : 0x5a,
		    sizeof (junk));
		for (i = 0; i < (strcmp(kind, "overlap") == 0 ? 16 : 1); i++)
			put(f, junk, sizeof (junk));
	}
	if (fclose(f) != 0)
		die("write failed");
}

/* ELF header, three program headers' worth of bytes, and lies. */
static void
write_phnum(void)
{
	unsigned char buf[3 * sizeof (Elf64_Phdr)];
	Elf64_Shdr sh;
	FILE *f;

	if ((f = fopen(out, "wb")) == NULL)
		die("cannot create");
	memset(buf, 0, sizeof (buf));
	if (strcmp(kind, "phnum") == 0) {
		put_ehdr(f, PN_XNUM, sizeof (Elf64_Ehdr), 0, 0);
		put(f, buf, sizeof (buf));
	} else {
		/* section 0 right after the header holds the count */
		put_ehdr(f, PN_XNUM, sizeof (Elf64_Ehdr) + sizeof (sh),
		    sizeof (Elf64_Ehdr), 1);
		memset(&sh, 0, sizeof (sh));
		sh.sh_info = 0xffffffff;
		put(f, &sh, sizeof (sh));
		put(f, buf, sizeof (buf));
	}
	if (fclose(f) != 0)
		die("write failed");
}

/* A disk_dump_header of x86-64 Linux: signature, version 6, 4 KiB. */
static void
fill_header(dd_header_t *h)
{
	static const char *uts[6] = { "Linux", "mkcore", "6.1.0",
	    "#1 SMP", "x86_64", "(none)" };
	int i;

	memset(h, 0, sizeof (*h));
	memcpy(h->signature, "KDUMP   ", 8);
	h->header_version = 6;
	for (i = 0; i < 6; i++)
		strcpy(h->utsname[i], uts[i]);
	h->block_size = PAGE;
	h->nr_cpus = ncpu;
}

/* Append the n low bytes of v (little-endian) at *pp. */
static void
le_put(unsigned char **pp, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		*(*pp)++ = (unsigned char)(v >> (8 * i));
}

/*
 * --hdr32: h and sub in the layout of 32-bit machines (the header's
 * fields from byte 416, the packed sub-header: phys_base, dump_level,
 * split, start_pfn, end_pfn of 32 bits, then offset_vmcoreinfo (64),
 * size_vmcoreinfo (32), offset_note, size_note, offset_eraseinfo,
 * size_eraseinfo likewise, start_pfn_64, end_pfn_64, max_mapnr_64), the
 * machine i686; the sub-header padded to the 104 bytes of the other.
 */
static void
put_hdr32(FILE *f, const dd_header_t *h, const dd_sub_t *sub)
{
	unsigned char b[PAGE] = { 0 }, *p = b;

	memcpy(p, h->signature, 8);
	p += 8;
	le_put(&p, (uint32_t)h->header_version, 4);
	memcpy(p, h->utsname, sizeof (h->utsname));
	strcpy((char *)p + 4 * UTS_LEN, "i686");
	p += sizeof (h->utsname) + 2;
	le_put(&p, h->tv_sec, 4);
	le_put(&p, h->tv_usec, 4);
	le_put(&p, h->status, 4);
	le_put(&p, (uint32_t)h->block_size, 4);
	le_put(&p, (uint32_t)h->sub_hdr_size, 4);
	le_put(&p, h->bitmap_blocks, 4);
	le_put(&p, h->max_mapnr, 4);
	le_put(&p, h->total_ram_blocks, 4);
	le_put(&p, h->device_blocks, 4);
	le_put(&p, h->written_blocks, 4);
	le_put(&p, h->current_cpu, 4);
	le_put(&p, (uint32_t)h->nr_cpus, 4);
	put(f, b, PAGE);
	memset(b, 0, sizeof (*sub));
	p = b;
	le_put(&p, sub->phys_base, 4);
	le_put(&p, (uint32_t)sub->dump_level, 4);
	le_put(&p, (uint32_t)sub->split, 4);
	le_put(&p, sub->start_pfn, 4);
	le_put(&p, sub->end_pfn, 4);
	le_put(&p, sub->offset_vmcoreinfo, 8);
	le_put(&p, sub->size_vmcoreinfo, 4);
	le_put(&p, sub->offset_note, 8);
	le_put(&p, sub->size_note, 4);
	le_put(&p, sub->offset_eraseinfo, 8);
	le_put(&p, sub->size_eraseinfo, 4);
	le_put(&p, sub->start_pfn_64, 8);
	le_put(&p, sub->end_pfn_64, 8);
	le_put(&p, sub->max_mapnr_64, 8);
	put(f, b, sizeof (*sub));
}

/*
 * Create OUT and write a kdump file's first block (the header h, zero
 * filled) and the sub-header sub; zero (a page) is cleared for the
 * caller's padding.  The open file.
 */
static FILE *
open_kdump(const dd_header_t *h, const dd_sub_t *sub, unsigned char *zero)
{
	FILE *f;

	if ((f = fopen(out, "wb")) == NULL)
		die("cannot create");
	memset(zero, 0, PAGE);
	if (hdr32) {
		put_hdr32(f, h, sub);
		return (f);
	}
	put(f, h, sizeof (*h));
	put(f, zero, PAGE - sizeof (*h));
	put(f, sub, sizeof (*sub));
	return (f);
}

/*
 * Compress the page at in with the method of zflag into out (room for
 * cap bytes, at least 2 * PAGE: every method's worst case).  The size
 * of the compressed page, or 0 when it is not smaller than the page
 * (which is then stored as it is, as makedumpfile and QEMU do).  Dies
 * if the library fails.
 */
static size_t
pack(const unsigned char *in, unsigned char *out, size_t cap)
{
	uLongf zn = cap;
	lzo_uint ln = cap;
	size_t n = cap;

	switch (zflag) {
	case DH_ZLIB:
		if (compress2(out, &zn, in, PAGE, Z_BEST_SPEED) != Z_OK)
			die("compress2 failed");
		n = zn;
		break;
	case DH_LZO:
		if (lzo1x_1_compress(in, PAGE, out, &ln, lzo_wrk) !=
		    LZO_E_OK)
			die("lzo1x_1_compress failed");
		n = ln;
		break;
	case DH_SNAPPY:
		if (snappy_compress((const char *)in, PAGE, (char *)out,
		    &n) != SNAPPY_OK)
			die("snappy_compress failed");
		break;
	default:
		n = ZSTD_compress(out, cap, in, PAGE, 1);
		if (ZSTD_isError(n))
			die("ZSTD_compress failed");
		break;
	}
	return (n < PAGE ? n : 0);
}

/*
 * The descriptors (ds, one per page set in bitmap, of npages) and the
 * page data (*pk, *pklen bytes, malloc'd; the data starts at file
 * offset data) of a kdump file: each page as it is, or compressed with
 * --compress, the pages of zeros then sharing one block at data.  The
 * hostile kinds' changes made.  Dies if out of memory.
 */
static void
pack_pages(const unsigned char *bitmap, uint64_t npages, uint64_t data,
    dd_desc_t *ds, unsigned char **pk, uint64_t *pklen)
{
	static unsigned char z[2 * PAGE];
	uint64_t p, i, k = 0, off = 0, n;
	unsigned char *d;
	int flip = strcmp(kind, "kdump-flip") == 0, zp;

	if ((d = calloc(npages + 1, PAGE)) == NULL)
		die("out of memory");
	if (zflag != 0)
		off = PAGE;		/* QEMU's shared page of zeros */
	for (p = 0; p < npages; p++) {
		if (!(bitmap[p / 8] & (1 << (p % 8))))
			continue;
		memset(&ds[k], 0, sizeof (ds[k]));
		zp = zflag != 0 && zero_page(p);
		n = zflag != 0 && !zp ? pack(raw + p * PAGE, z, sizeof (z)) :
		    0;
		if (zp) {
			ds[k].offset = data;
			ds[k].size = PAGE;
		} else if (n == 0) {
			memcpy(d + off, raw + p * PAGE, PAGE);
			ds[k].offset = data + off;
			ds[k].size = PAGE;
			off += PAGE;
		} else {
			for (i = 0; i < n; i++)
				d[off + i] = (unsigned char)(flip ? ~z[i] :
				    z[i]);
			ds[k].offset = data + off;
			ds[k].size = strcmp(kind, "kdump-oversize") == 0 ?
			    2 * PAGE : (uint32_t)n;
			ds[k].flags = zflag;
			off += n;
		}
		if (strcmp(kind, "kdump-baddesc") == 0)
			ds[k].offset += 1ULL << 50;
		k++;
	}
	*pk = d;
	*pklen = off;
}

/*
 * kdump-compressed, as QEMU's write_dump_header and write_dump_bitmap
 * lay it out: block 0 the header, block 1 the sub-header and the notes,
 * two bitmaps (the pages that exist, the pages dumped), the page
 * descriptors, the pages (pack_pages: uncompressed, flags 0 and size
 * the block size, unless --compress).  kdump-oversize: two blocks of
 * zeros after them, which the last page's descriptor claims.  Dies if
 * it cannot.
 */
static void
write_kdump(void)
{
	unsigned char tail[QEMU_DESCSZ], *bitmap, zero[PAGE], *pk;
	uint64_t npages, len, p, ndump, sub_blocks, pklen;
	dd_header_t h;
	dd_sub_t sub;
	dd_desc_t *ds;
	size_t tailsz;
	FILE *f;

	if ((strcmp(kind, "kdump-flip") == 0 ||
	    strcmp(kind, "kdump-oversize") == 0) && zflag == 0)
		die("this kind needs --compress");
	read_raw();
	make_notes(tail, &tailsz);
	npages = (rawsz + PAGE - 1) / PAGE;
	len = ((npages + 7) / 8 + PAGE - 1) / PAGE * PAGE;
	if ((bitmap = calloc(1, len)) == NULL ||
	    (ds = calloc(npages + 1, sizeof (*ds))) == NULL)
		die("out of memory");
	sub_blocks = (sizeof (sub) + notesz + PAGE - 1) / PAGE;

	fill_header(&h);
	h.header_version = kdump_version;
	h.status = zflag;
	h.sub_hdr_size = (int32_t)sub_blocks;
	h.bitmap_blocks = (uint32_t)(2 * len / PAGE);
	h.max_mapnr = (uint32_t)npages;
	memset(&sub, 0, sizeof (sub));
	sub.phys_base = phys_base;
	sub.dump_level = 1;
	sub.offset_note = PAGE + sizeof (sub);
	sub.size_note = notesz;
	if (have_vmci) {
		sub.offset_vmcoreinfo = PAGE + sizeof (sub) + vmci_off;
		sub.size_vmcoreinfo = vmcisz;
	}
	sub.max_mapnr_64 = npages;

	f = open_kdump(&h, &sub, zero);
	put(f, notes, notesz);
	put(f, zero, sub_blocks * PAGE - sizeof (sub) - notesz);

	/* the first bitmap: every page exists */
	for (p = 0; p < npages; p++)
		bitmap[p / 8] |= 1 << (p % 8);
	put(f, bitmap, len);
	/* the second: the pages dumped */
	ndump = 0;
	for (p = 0; p < npages; p++)
		if (sparse && zero_page(p))
			bitmap[p / 8] &= ~(1 << (p % 8));
		else
			ndump++;
	put(f, bitmap, len);

	pack_pages(bitmap, npages, (1 + sub_blocks + 2 * len / PAGE) *
	    PAGE + ndump * sizeof (*ds), ds, &pk, &pklen);
	put(f, ds, ndump * sizeof (*ds));
	put(f, pk, pklen);
	if (strcmp(kind, "kdump-oversize") == 0) {
		put(f, zero, PAGE);
		put(f, zero, PAGE);
	}
	if (fclose(f) != 0)
		die("write failed");
	free(pk);
	free(ds);
	free(bitmap);
}

/* A header that claims the world, and nothing behind it. */
static void
write_diskdump_huge(void)
{
	unsigned char zero[PAGE];
	dd_header_t h;
	dd_sub_t sub;
	FILE *f;

	fill_header(&h);
	h.nr_cpus = (int32_t)nr_cpus;
	h.sub_hdr_size = 1;
	h.bitmap_blocks = (uint32_t)bitmap_blocks;
	h.max_mapnr = max_mapnr > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)max_mapnr;
	memset(&sub, 0, sizeof (sub));
	sub.dump_level = 1;
	sub.max_mapnr_64 = max_mapnr;

	f = open_kdump(&h, &sub, zero);
	put(f, zero, PAGE - sizeof (sub));
	if (fclose(f) != 0)
		die("write failed");
}

/*
 * makedumpfile's flattened format: a 4 KiB header (signature
 * "makedumpfile" in 16 bytes, type and version as big-endian 64-bit
 * numbers), here followed by pseudo-random bytes.
 */
static void
write_flat(void)
{
	unsigned char buf[PAGE];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	FILE *f;
	int i;

	memset(buf, 0, sizeof (buf));
	memcpy(buf, "makedumpfile", 12);
	buf[23] = 1;
	buf[31] = 1;
	if ((f = fopen(out, "wb")) == NULL)
		die("cannot create");
	put(f, buf, sizeof (buf));
	for (i = 0; i < PAGE; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
	put(f, buf, sizeof (buf));
	if (fclose(f) != 0)
		die("write failed");
}

/* --compress M: zflag, and LZO's set-up.  Dies for an unknown M. */
static void
set_compress(const char *m)
{
	static const struct {
		const char	*name;
		uint32_t	flag;
	} methods[] = { { "zlib", DH_ZLIB }, { "lzo", DH_LZO },
	    { "snappy", DH_SNAPPY }, { "zstd", DH_ZSTD } };
	size_t i;

	zflag = 0;
	for (i = 0; i < sizeof (methods) / sizeof (methods[0]); i++)
		if (strcmp(m, methods[i].name) == 0)
			zflag = methods[i].flag;
	if (zflag == 0)
		die("--compress: zlib, lzo, snappy or zstd");
	if (zflag == DH_LZO && lzo_wrk == NULL &&
	    (lzo_init() != LZO_E_OK ||
	    (lzo_wrk = malloc(LZO1X_1_MEM_COMPRESS)) == NULL))
		die("cannot set up LZO");
}

/* Parse KIND OUT [RAW] [OPTIONS] and write OUT. */
int
main(int argc, char **argv)
{
	static const char *elf_kinds[] = { "elf", "elf32", "trunc-seg",
	    "overlap", "overlap-same", "huge-memsz", "huge-paddr",
	    "note-short",
	    "note-absurd", "note-namesz", "note-huge", "noload", NULL };
	int i, have_machine = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: mkcore KIND OUT [RAW] [OPTIONS]\n");
		return (1);
	}
	kind = argv[1];
	out = argv[2];
	for (i = 3; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--la57") == 0) {
			cr4 |= 0x1000;
			continue;
		} else if (strcmp(a, "--no-qemu") == 0) {
			noqemu = 1;
			continue;
		} else if (strcmp(a, "--no-prstatus") == 0) {
			noprstatus = 1;
			continue;
		} else if (strcmp(a, "--sparse") == 0) {
			sparse = 1;
			continue;
		} else if (strcmp(a, "--hdr32") == 0) {
			hdr32 = 1;
			continue;
		} else if (a[0] != '-' || a[1] != '-') {
			if (rawpath != NULL)
				die("two RAW images");
			rawpath = a;
			continue;
		}
		if (v == NULL)
			die("an option without its value");
		i++;
		if (strcmp(a, "--cr3") == 0) {
			if (ncpu == MAXCPU)
				die("too many CPUs");
			cr3s[ncpu++] = num(v);
		} else if (strcmp(a, "--cr0") == 0) {
			cr0 = num(v);
		} else if (strcmp(a, "--cr4") == 0) {
			cr4 = num(v) | (cr4 & 0x1000);
		} else if (strcmp(a, "--machine") == 0) {
			if (strcmp(v, "x86_64") == 0)
				machine = EM_X86_64;
			else if (strcmp(v, "386") == 0)
				machine = EM_386;
			else
				die("--machine: x86_64 or 386");
			have_machine = 1;
		} else if (strcmp(a, "--bitmap-blocks") == 0) {
			bitmap_blocks = num(v);
		} else if (strcmp(a, "--max-mapnr") == 0) {
			max_mapnr = num(v);
		} else if (strcmp(a, "--nr-cpus") == 0) {
			nr_cpus = num(v);
		} else if (strcmp(a, "--pad") == 0) {
			pad = num(v);
		} else if (strcmp(a, "--vmcoreinfo") == 0) {
			size_t l = strlen(v);

			if (vmcisz + l + 1 > sizeof (vmci))
				die("--vmcoreinfo: too long");
			memcpy(vmci + vmcisz, v, l);
			vmci[vmcisz + l] = '\n';
			vmcisz += l + 1;
			have_vmci = 1;
		} else if (strcmp(a, "--kdump-version") == 0) {
			kdump_version = (int)num(v);
		} else if (strcmp(a, "--phys-base") == 0) {
			phys_base = num(v);
		} else if (strcmp(a, "--compress") == 0) {
			set_compress(v);
		} else {
			die("unknown option");
		}
	}
	if (ncpu == 0)
		cr3s[ncpu++] = 0x100000;
	if (strcmp(kind, "elf32") == 0) {
		is32 = 1;
		if (!have_machine)
			machine = EM_386;
	}

	for (i = 0; elf_kinds[i] != NULL; i++)
		if (strcmp(kind, elf_kinds[i]) == 0) {
			write_elf();
			return (0);
		}
	if (strcmp(kind, "kdump") == 0 || strcmp(kind, "kdump-baddesc") == 0 ||
	    strcmp(kind, "kdump-flip") == 0 ||
	    strcmp(kind, "kdump-oversize") == 0)
		write_kdump();
	else if (strcmp(kind, "phnum") == 0 || strcmp(kind, "phnum-xnum") == 0)
		write_phnum();
	else if (strcmp(kind, "diskdump-huge") == 0)
		write_diskdump_huge();
	else if (strcmp(kind, "flat") == 0)
		write_flat();
	else
		die("unknown kind");
	return (0);
}
