/*
 * dump.c - reading a dump file: the physical memory of an ELF core (QEMU's
 * dump-guest-memory, Linux /proc/vmcore, kdump ELF) or of a kdump-
 * compressed file (makedumpfile), and the CPU state it recorded.
 *
 * Theory of operation.  The formats are libkdumpfile's business: it
 * detects them, decompresses pages and keeps its own bounded cache; this
 * file reads no page of a dump itself, and reads of its headers only
 * what it checks before libkdumpfile believes it (below).  What it adds:
 *
 *   - the runs of pages the file holds (libkdumpfile's file.pagemap),
 *     listed once at open into im->ext, so that image_is_data answers by
 *     a binary search and the engines can walk the runs as they walk a
 *     sparse raw image's extents;
 *   - a small cache of pages (NPAGES, direct-mapped by frame): the
 *     library reads a table's entries one by one and a translation reads
 *     a table of each level, so the pages read last serve the next reads
 *     (libkdumpfile's own cache holds decompressed pages, but its look-up
 *     costs microseconds where a compare costs nothing);
 *   - the mapping of the file: libkdumpfile maps it, which a truncated
 *     file answers with SIGBUS where a read(2) answers "end of file".
 *     The file is opened reading, and only when the checks below found
 *     every page's data inside it is libkdumpfile let map it (three to
 *     ten times faster a page);
 *   - the checks a hostile file needs before anyone reads it: claims
 *     libkdumpfile would allocate for unchecked (an ELF file's count of
 *     program headers; a kdump header's pages and bitmaps, in the
 *     layout libkdumpfile will choose: elf_look, kdump_header), more
 *     runs than we keep (IMAGE_MAX_RUNS), an ELF segment that passes
 *     the end of the file or overlaps another with other bytes (whose
 *     bytes win is libkdumpfile's choice: said, not hidden), and a kdump
 *     file whose page data pass its end (kdump_check: libkdumpfile reads
 *     them as zeros, silently); what is missing reads as zeros, said;
 *   - the CPU state.  libkdumpfile 0.5 keeps the registers of NT_PRSTATUS
 *     notes, which hold no control register.  QEMU writes a "QEMU" note
 *     per CPU with CR0..CR4 (its QEMUCPUState, version 1: CR0 at byte
 *     392 of the descriptor); in an ELF core they are read with libelf,
 *     in a kdump-compressed file (QEMU's -z, -l, -s) from the notes its
 *     sub-header names (libkdumpfile reads those notes but keeps none of
 *     QEMU's).  The mode follows from CR0.PG, CR4.PAE, CR4.LA57 and
 *     whether long mode was on: QEMU writes an EM_X86_64 core and an
 *     x86-64 NT_PRSTATUS note exactly when its first CPU has it on, so
 *     an ELF core's machine tells, and in a kdump file the note's size
 *     (kdump_qemu_notes); where neither does, the mode of a CPU with
 *     CR4.PAE is left open (image_cpu_t's long_unknown).  A Linux dump
 *     with VMCOREINFO instead names the kernel's root table, which
 *     libaddrxlat finds (its "pgt" method) and which stands for CPU 0
 *     when no note gave one.
 *
 * Memory: the page cache (NPAGES pages), the runs (at most
 * IMAGE_MAX_RUNS), the CPUs (at most MAX_CPUS) and libkdumpfile's cache;
 * never the file (an intact one libkdumpfile maps: page cache the kernel
 * can take back, as a raw image's mapping is).
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <libkdumpfile/kdumpfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"

#define PAGE		4096ull
#define NPAGES		64		/* the page cache: 256 KiB */
#define IMAGE_MAX_RUNS	(1u << 22)	/* 64 MiB of runs at most */
#define MAX_CPUS	65536u
#define MAX_PFN		(1ull << 40)	/* 52 bits of physical address */
#define MAX_NOTES	(1u << 20)	/* a kdump file's notes read */
#define OVERLAP_CMP_MAX	(256ull << 20)	/* bytes read to compare overlaps */

/* QEMUCPUState (QEMU's target/i386/arch_dump.c), version 1 */
#define QEMU_NOTE_CR0	392		/* u64 cr[5] from here */
#define QEMU_NOTE_MIN	(QEMU_NOTE_CR0 + 5 * 8)

#define CR0_PG		(1ull << 31)
#define CR4_PAE		(1ull << 5)
#define CR4_LA57	(1ull << 12)
#define QEMU_NOTE_CS	152		/* CS: u32 selector, limit, flags */
#define CS_L		(1u << 21)	/* QEMU's CS flags: 64-bit code */

/*
 * What this file reads of a kdump-compressed file's headers itself, in
 * either layout: the header's fields lie 12 bytes further on in the
 * layout of 64-bit machines (its timestamp is two 64-bit words), and the
 * sub-header's fields are 64-bit words there, 32-bit ones packed or
 * padded to 8 bytes in the others.
 */
typedef struct kdump_hdr {
	int		bits;		/* the layout: 32 or 64 */
	int32_t		version;	/* header_version */
	uint64_t	bs;		/* block_size */
	uint64_t	shs, bmb;	/* sub-header and bitmap blocks */
	uint64_t	pages;		/* max_mapnr, or max_mapnr_64 (v6) */
	uint64_t	note_off, note_sz;	/* the notes (v4); 0: none */
} kdump_hdr_t;

typedef struct dump {
	kdump_ctx_t	*kd;
	kdump_hdr_t	kh;		/* a kdump-compressed file's */
	int		fd;		/* our own: libkdumpfile reads it */
	uint16_t	machine;	/* ELF cores: e_machine, else 0 */
	int		diskdump;	/* a kdump-compressed file */
	int		truncated;	/* data past the end of the file */
	uint64_t	*lie;		/* pages whose descriptors lie */
	size_t		nlie, caplie;
	int		lie_oom;	/* some could not be noted */
} dump_t;

/* IMAGE_EDUMP with its words in im->err. */
static int
fail(image_t *im, const char *what, const char *why)
{
	(void) snprintf(im->err, sizeof (im->err), "%s%s%s", what,
	    why != NULL ? ": " : "", why != NULL ? why : "");
	return (IMAGE_EDUMP);
}

/* Append the run [s, e) of page frames to im->ext.  0 or IMAGE_ENOMEM. */
static int
add_run(image_t *im, size_t *cap, uint64_t s, uint64_t e)
{
	if (im->next == *cap) {
		size_t n = *cap ? *cap * 2 : 16;
		image_extent_t *x = realloc(im->ext, n * sizeof (*x));

		if (x == NULL)
			return (IMAGE_ENOMEM);
		im->ext = x;
		*cap = n;
	}
	im->ext[im->next].start = s * PAGE;
	im->ext[im->next].end = e * PAGE;
	im->next++;
	return (0);
}

/*
 * The runs of pages the file holds, from libkdumpfile's file.pagemap,
 * into im->ext; im->size past the last.  Frames at or above MAX_PFN (no
 * x86 address names them) are dropped with a warning.  0, IMAGE_ENOMEM
 * or IMAGE_EDUMP.
 */
static int
list_runs(image_t *im, kdump_ctx_t *kd)
{
	kdump_attr_t a;
	kdump_addr_t pfn = 0, end;
	size_t cap = 0;
	int err;

	if (kdump_get_attr(kd, KDUMP_ATTR_FILE_PAGEMAP, &a) != KDUMP_OK ||
	    a.type != KDUMP_BITMAP)
		return (fail(im, "the dump has no map of its pages",
		    kdump_get_err(kd)));
	while (kdump_bmp_find_set(a.val.bitmap, &pfn) == KDUMP_OK) {
		if (pfn >= MAX_PFN) {
			image_warn(im, "pages from physical 0x%llx up are "
			    "beyond 52 bits of address: left out",
			    (unsigned long long)(pfn * PAGE));
			break;
		}
		end = pfn;
		if (kdump_bmp_find_clear(a.val.bitmap, &end) != KDUMP_OK ||
		    end > MAX_PFN)
			end = MAX_PFN;
		/*
		 * libkdumpfile 0.5.1's map of overlapping ELF segments
		 * answers find_clear at the very frame find_set found: take
		 * that frame as a run of one, or the loop would not advance.
		 */
		if (end <= pfn)
			end = pfn + 1;
		if (im->next != 0 && im->ext[im->next - 1].end == pfn * PAGE) {
			im->ext[im->next - 1].end = end * PAGE;
			pfn = end;
			continue;
		}
		if (im->next == IMAGE_MAX_RUNS)
			return (fail(im, "the dump's pages come in more "
			    "than 4194304 separate runs", NULL));
		if ((err = add_run(im, &cap, pfn, end)) != 0)
			return (err);
		pfn = end;
	}
	im->size = im->next ? im->ext[im->next - 1].end : 0;
	return (0);
}

static int
cmp_u64quad(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return (x[0] < y[0] ? -1 : x[0] > y[0]);
}

/*
 * Do two overlapping memory segments (physical start, end, file offset,
 * bytes in the file; a > b's start) hold the same bytes where they
 * overlap?  Linux's /proc/vmcore maps the kernel image twice (its text
 * segment and the direct map): the same bytes, and no reason to warn.
 * Bytes past a segment's data are zeros.  At most *budget bytes of the
 * file are read (it counts down; 0: too much to compare, an answer of
 * "no").  Errors: none (a failed read is "no").
 */
static int
same_bytes(int fd, const uint64_t *a, const uint64_t *b, uint64_t *budget)
{
	uint8_t x[1u << 14], y[1u << 14];
	uint64_t end = a[1] < b[1] ? a[1] : b[1];

	for (uint64_t pa = b[0]; pa < end; ) {
		uint64_t ia = pa - a[0], ib = pa - b[0];
		size_t n = end - pa < sizeof (x) ? (size_t)(end - pa) :
		    sizeof (x);
		size_t na = ia >= a[3] ? 0 : a[3] - ia < n ?
		    (size_t)(a[3] - ia) : n;
		size_t nb = ib >= b[3] ? 0 : b[3] - ib < n ?
		    (size_t)(b[3] - ib) : n;

		if (*budget < na + nb) {
			*budget = 0;
			return (0);
		}
		*budget -= na + nb;
		memset(x, 0, n);
		memset(y, 0, n);
		if ((na != 0 && pread(fd, x, na, (off_t)(a[2] + ia)) !=
		    (ssize_t)na) || (nb != 0 && pread(fd, y, nb,
		    (off_t)(b[2] + ib)) != (ssize_t)nb) ||
		    memcmp(x, y, n) != 0)
			return (0);
		pa += n;
	}
	return (1);
}

/*
 * The mode a CPU's control registers select, in a dump of machine m
 * (EM_X86_64: long mode on; EM_386: off; EM_NONE: the dump does not say,
 * and with CR4.PAE the mode is the long one or PAE: cpu->long_unknown):
 * 0 with cpu->mode set, or -1 paging off.
 */
static int
cpu_mode(image_cpu_t *cpu, uint16_t m)
{
	if (!(cpu->cr0 & CR0_PG))
		return (-1);
	if (m == EM_NONE && (cpu->cr4 & CR4_PAE))
		cpu->long_unknown = 1;
	if (m == EM_X86_64 || cpu->long_unknown)
		cpu->mode = (cpu->cr4 & CR4_LA57) ? HT_MODE_5LEVEL :
		    HT_MODE_4LEVEL;
	else
		cpu->mode = (cpu->cr4 & CR4_PAE) ? HT_MODE_PAE :
		    HT_MODE_32BIT;
	return (0);
}

/* Append a CPU.  0 or IMAGE_ENOMEM; beyond MAX_CPUS: dropped, said. */
static int
add_cpu(image_t *im, const image_cpu_t *c)
{
	image_cpu_t *n;

	if (im->ncpu == MAX_CPUS) {
		if (!im->cpus_lost++)
			image_warn(im, "more than %u CPUs noted: the rest "
			    "are left out", MAX_CPUS);
		return (0);
	}
	if ((im->ncpu & (im->ncpu - 1)) == 0) {
		size_t cap = im->ncpu ? 2 * (size_t)im->ncpu : 1;

		if ((n = realloc(im->cpu, cap * sizeof (*n))) == NULL)
			return (IMAGE_ENOMEM);
		im->cpu = n;
	}
	im->cpu[im->ncpu++] = *c;
	return (0);
}

/*
 * One "QEMU" note's descriptor (desc, n bytes) as a CPU, in a dump of
 * machine m.  0 or IMAGE_ENOMEM; a descriptor too short is said once.
 */
static int
qemu_cpu(image_t *im, const uint8_t *desc, size_t n, uint16_t m,
    int *warned)
{
	image_cpu_t c = { .source = "qemu-note" };
	uint32_t size = 0;

	if (n >= 8)
		memcpy(&size, desc + 4, 4);
	if (n < QEMU_NOTE_MIN || size < QEMU_NOTE_MIN) {
		if (!*warned)
			image_warn(im, "a QEMU CPU note of %zu bytes, too "
			    "short to hold the control registers: skipped", n);
		*warned = 1;
		return (0);
	}
	memcpy(&c.cr0, desc + QEMU_NOTE_CR0, 8);
	memcpy(&c.cr3, desc + QEMU_NOTE_CR0 + 24, 8);
	memcpy(&c.cr4, desc + QEMU_NOTE_CR0 + 32, 8);
	c.paging = cpu_mode(&c, m) == 0;
	return (add_cpu(im, &c));
}

/* The "QEMU" notes of one PT_NOTE segment.  0 or IMAGE_ENOMEM. */
static int
qemu_notes(image_t *im, Elf *elf, const GElf_Phdr *ph, uint16_t m,
    int *warned)
{
	Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph->p_offset,
	    (size_t)ph->p_filesz, ELF_T_NHDR);
	size_t off = 0, next, name, desc;
	GElf_Nhdr nh;
	int err;

	if (d == NULL)
		return (0);
	while (off < d->d_size) {
		if ((next = gelf_getnote(d, off, &nh, &name, &desc)) == 0) {
			/* trailing padding is no note; anything else is */
			const uint8_t *q = (const uint8_t *)d->d_buf;
			size_t z = off;

			while (z < d->d_size && q[z] == 0)
				z++;
			if (z < d->d_size)
				image_warn(im, "a malformed note at byte %zu "
				    "of the notes at file offset 0x%llx: the "
				    "notes after it are not read", off,
				    (unsigned long long)ph->p_offset);
			break;
		}
		const uint8_t *p = (const uint8_t *)d->d_buf;

		off = next;
		if (nh.n_type != 0 || nh.n_namesz != 5 ||
		    memcmp(p + name, "QEMU", 5) != 0)
			continue;
		if ((err = qemu_cpu(im, p + desc, nh.n_descsz, m,
		    warned)) != 0)
			return (err);
	}
	return (0);
}

/*
 * An ELF core's segments and notes, through libelf: the warnings about
 * segments beyond the file or overlapping, and the QEMU CPU notes.
 * 0, IMAGE_ENOMEM or IMAGE_EDUMP.
 */
static int
elf_look(image_t *im, dump_t *dp, uint64_t file_size)
{
	uint64_t (*loads)[4] = NULL;
	size_t n = 0, nload = 0, beyond = 0, overlap = 0, badph = 0;
	uint64_t claim, budget = OVERLAP_CMP_MAX;
	Elf_Scn *scn;
	GElf_Shdr sh;
	int err = 0, warned = 0;
	GElf_Ehdr eh;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return (fail(im, "libelf refused to start", elf_errmsg(-1)));
	if ((elf = elf_begin(dp->fd, ELF_C_READ_MMAP, NULL)) == NULL)
		return (fail(im, "not an ELF file libelf can read",
		    elf_errmsg(-1)));
	if (gelf_getehdr(elf, &eh) == NULL || elf_getphdrnum(elf, &n) != 0) {
		err = fail(im, "an ELF header libelf cannot read",
		    elf_errmsg(-1));
		goto out;
	}
	dp->machine = eh.e_machine;
	/*
	 * libkdumpfile allocates 80 bytes for each program header the file
	 * claims (e_phnum, or section 0's sh_info past PN_XNUM), unchecked;
	 * libelf answers with what fits in the file.  The claim must fit.
	 */
	claim = eh.e_phnum;
	if (claim == PN_XNUM && (scn = elf_getscn(elf, 0)) != NULL &&
	    gelf_getshdr(scn, &sh) != NULL)
		claim = sh.sh_info;
	if (claim > file_size / (eh.e_ident[EI_CLASS] == ELFCLASS64 ?
	    sizeof (Elf64_Phdr) : sizeof (Elf32_Phdr))) {
		(void) snprintf(im->err, sizeof (im->err), "the ELF header "
		    "claims %llu program headers, more than a file of %llu "
		    "bytes holds", (unsigned long long)claim,
		    (unsigned long long)file_size);
		err = IMAGE_EDUMP;
		goto out;
	}
	if (n != 0 && (loads = calloc(n, sizeof (*loads))) == NULL) {
		err = IMAGE_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n && err == 0; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) == NULL) {
			if (badph++ == 0)
				image_warn(im, "program header %zu cannot be "
				    "read (a truncated file?): %s", i,
				    elf_errmsg(-1));
			continue;
		}
		if (ph.p_offset > file_size ||
		    ph.p_filesz > file_size - ph.p_offset) {
			if (beyond++ == 0)
				image_warn(im, "segment %zu (%s, physical "
				    "0x%llx, %llu bytes) passes the end of "
				    "the file: a truncated dump; what is "
				    "missing reads as zeros", i,
				    ph.p_type == PT_LOAD ? "memory" : "notes",
				    (unsigned long long)ph.p_paddr,
				    (unsigned long long)ph.p_filesz);
			if (ph.p_type != PT_LOAD)
				continue;
		}
		if (ph.p_type == PT_NOTE && ph.p_offset <= file_size &&
		    ph.p_filesz <= file_size - ph.p_offset)
			err = qemu_notes(im, elf, &ph, eh.e_machine, &warned);
		else if (ph.p_type == PT_LOAD && ph.p_memsz != 0) {
			loads[nload][0] = ph.p_paddr;
			loads[nload][1] = ph.p_paddr + ph.p_memsz;
			if (loads[nload][1] < ph.p_paddr)
				loads[nload][1] = ~0ull;
			loads[nload][2] = ph.p_offset;
			loads[nload][3] = ph.p_offset > file_size ? 0 :
			    ph.p_filesz < file_size - ph.p_offset ?
			    ph.p_filesz : file_size - ph.p_offset;
			nload++;
		}
	}
	if (beyond > 1)
		image_warn(im, "%zu segments in all pass the end of the "
		    "file", beyond);
	if (beyond != 0 || badph != 0)
		dp->truncated = 1;
	qsort(loads, nload, sizeof (*loads), cmp_u64quad);
	for (size_t i = 1; i < nload; i++)
		if (loads[i][0] < loads[i - 1][1] &&
		    !same_bytes(dp->fd, loads[i - 1], loads[i], &budget) &&
		    overlap++ == 0)
			image_warn(im, "memory segments overlap at physical "
			    "0x%llx%s: the bytes read there are one segment's, "
			    "as libkdumpfile chooses",
			    (unsigned long long)loads[i][0], budget == 0 ?
			    " (too much overlap to compare)" :
			    " with different bytes");
out:
	free(loads);
	(void) elf_end(elf);
	return (err);
}

/* A little-endian field of a header.  Errors: none. */
static uint64_t
le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return (v);
}

/* Any of the page descriptor's compression flags (zlib, LZO, snappy, zstd) */
#define DH_COMPRESSED	(0x1u | 0x2u | 0x4u | 0x20u)

/*
 * Note that the page at pa has a lying descriptor (ascending pa).  Out of
 * memory, dp->lie_oom is set: the open must fail, since libkdumpfile
 * must never read an unnoted one.  Errors: none.
 */
static void
add_lie(dump_t *dp, uint64_t pa)
{
	if (dp->nlie == dp->caplie) {
		size_t n = dp->caplie ? 2 * dp->caplie : 16;
		uint64_t *l = realloc(dp->lie, n * sizeof (*l));

		if (l == NULL) {
			dp->lie_oom = 1;
			return;
		}
		dp->lie = l;
		dp->caplie = n;
	}
	dp->lie[dp->nlie++] = pa;
}

/* Does the page at pa have a lying descriptor? */
static int
is_lie(const dump_t *dp, uint64_t pa)
{
	size_t lo = 0, hi = dp->nlie;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (dp->lie[mid] == pa)
			return (1);
		if (dp->lie[mid] < pa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (0);
}

/*
 * Does a kdump-compressed file hold the data its page descriptors name?
 * libkdumpfile 0.5.1 reads what lies past the end of a cut file as
 * zeros, with no error, so a truncated dump would read as memory of
 * zeros; this check only says so (the reading stays libkdumpfile's).
 * The descriptors (24 bytes each: the data's offset, u64, and size,
 * u32) follow the header block, the sub-header and the bitmaps, one per
 * page the file holds, in the order of im->ext.  Read in chunks: memory
 * stays small.  A compressed page whose descriptor claims more bytes than
 * a block is never given to libkdumpfile: 0.5.1 copies that many into a
 * buffer of one block (a heap overflow), so such pages are listed
 * (dp->lie) and read as zeros, said.
 */
static void
kdump_check(image_t *im, int fd, uint64_t file_size)
{
	dump_t *dp = im->kd;
	const kdump_hdr_t *kh = &dp->kh;
	uint8_t d[24 * 512];
	uint64_t start, npages = 0, k = 0, bad = 0, first = 0;
	uint64_t nlie = 0, lie_size = 0;
	size_t run = 0;
	uint64_t pa = im->next ? im->ext[0].start : 0;

	start = (1 + kh->shs + kh->bmb) * kh->bs;
	for (size_t i = 0; i < im->next; i++)
		npages += (im->ext[i].end - im->ext[i].start) / PAGE;
	while (k < npages) {
		size_t want = npages - k < 512 ? (size_t)(npages - k) : 512;
		ssize_t got = start + k * 24 < file_size ?
		    pread(fd, d, want * 24, (off_t)(start + k * 24)) : 0;
		size_t n = got > 0 ? (size_t)got / 24 : 0;

		for (size_t j = 0; j < want; j++, k++) {
			if (j >= n || le(d + 24 * j, 8) > file_size ||
			    le(d + 24 * j + 8, 4) > file_size -
			    le(d + 24 * j, 8)) {
				if (bad++ == 0)
					first = pa;
			} else if ((le(d + 24 * j + 12, 4) & DH_COMPRESSED) &&
			    le(d + 24 * j + 8, 4) > kh->bs) {
				if (nlie++ == 0)
					lie_size = le(d + 24 * j + 8, 4);
				add_lie(dp, pa);
			}
			pa += PAGE;
			if (run < im->next && pa >= im->ext[run].end &&
			    ++run < im->next)
				pa = im->ext[run].start;
		}
		if (n < want && start + k * 24 >= file_size) {
			bad += npages - k;
			break;
		}
	}
	if (nlie != 0)
		image_warn(im, "%llu page%s' descriptors claim more compressed "
		    "bytes than a block holds (the first %llu): a lying file; "
		    "they read as zeros", (unsigned long long)nlie,
		    nlie == 1 ? "" : "s", (unsigned long long)lie_size);
	if (bad != 0)
		dp->truncated = 1;
	if (bad != 0)
		image_warn(im, "%llu page%s' data lie%s past the end of the "
		    "file (the first at physical 0x%llx): a truncated dump; "
		    "they read as zeros", (unsigned long long)bad,
		    bad == 1 ? "" : "s", bad == 1 ? "s" : "",
		    (unsigned long long)first);
}

/*
 * Is (bs, bmb, pages) a header libkdumpfile believes?  Its test: a block
 * of 4 KiB to 256 KiB, a power of two, and bitmaps covering the pages.
 */
static int
kdump_plausible(uint64_t bs, uint64_t bmb, uint64_t pages)
{
	return (bs >= 4096 && bs <= (256u << 10) && (bs & (bs - 1)) == 0 &&
	    8 * bmb * bs >= pages);
}

/*
 * A kdump-compressed file's headers into dp->kh, checked against the
 * file before libkdumpfile is given it: libkdumpfile 0.5.1 allocates and
 * scans a bitmap as large as the header's page count says (a header
 * claiming 2^35 pages cost 4 GiB and 20 s), unchecked.  The layout is
 * chosen as libkdumpfile chooses it: the 32-bit one (block_size at byte
 * 416, sub_hdr_size, bitmap_blocks, max_mapnr after it) when it is
 * plausible, else the 64-bit one (the same fields from byte 428).  The
 * sub-header one block in: the notes' offset and size from version 4,
 * max_mapnr_64 from version 6; a 32-bit sub-header is packed unless its
 * VMCOREINFO offset only makes sense padded (libkdumpfile's test too).
 * The headers and the bitmaps must lie in the file.  0 or IMAGE_EDUMP.
 */
static int
kdump_header(image_t *im, kdump_hdr_t *kh, int fd, uint64_t file_size)
{
	uint8_t h[448], sh[104] = { 0 };
	uint64_t need, vo, vs;
	int pad;

	memset(kh, 0, sizeof (*kh));
	if (pread(fd, h, sizeof (h), 0) != (ssize_t)sizeof (h))
		return (fail(im, "a kdump-compressed file cut inside its "
		    "header", NULL));
	kh->version = (int32_t)le(h + 8, 4);
	kh->bits = kdump_plausible(le(h + 416, 4), le(h + 424, 4),
	    le(h + 428, 4)) ? 32 : 64;
	{
		const uint8_t *f = h + (kh->bits == 32 ? 416 : 428);

		kh->bs = le(f, 4);
		kh->shs = le(f + 4, 4);
		kh->bmb = le(f + 8, 4);
		kh->pages = le(f + 12, 4);
	}
	if (!kdump_plausible(kh->bs, kh->bmb, kh->pages))
		return (fail(im, "a kdump-compressed header whose block "
		    "size (a power of two from 4 KiB to 256 KiB) or bitmap "
		    "size is wrong in either layout", NULL));
	(void) pread(fd, sh, sizeof (sh), (off_t)kh->bs);
	if (kh->bits == 64) {
		if (kh->version >= 4) {
			kh->note_off = le(sh + 48, 8);
			kh->note_sz = le(sh + 56, 8);
		}
		if (kh->version >= 6 && le(sh + 96, 8) > kh->pages)
			kh->pages = le(sh + 96, 8);
	} else {
		vo = le(sh + 20, 8);
		vs = le(sh + 28, 4);
		pad = kh->version >= 3 && !((vo == 0 && vs == 0) ||
		    (vo > kh->bs && vo + vs <= (1 + kh->shs) * kh->bs));
		if (kh->version >= 4) {
			kh->note_off = le(sh + (pad ? 40 : 32), 8);
			kh->note_sz = le(sh + (pad ? 48 : 40), 4);
		}
		if (kh->version >= 6 && le(sh + (pad ? 88 : 72), 8) > kh->pages)
			kh->pages = le(sh + (pad ? 88 : 72), 8);
	}
	need = (1 + kh->shs + kh->bmb) * kh->bs;
	if (need > file_size || kh->pages / 4 > kh->bmb * kh->bs) {
		(void) snprintf(im->err, sizeof (im->err), "the header "
		    "claims %llu pages and %llu bytes of headers and bitmaps; "
		    "the file has %llu bytes, or the bitmaps have no room for "
		    "those pages", (unsigned long long)kh->pages,
		    (unsigned long long)need, (unsigned long long)file_size);
		return (IMAGE_EDUMP);
	}
	return (0);
}

/*
 * The notes of a kdump-compressed file (n bytes at b), as ELF notes:
 * name size, descriptor size, type; name and descriptor padded to 4
 * bytes.  Calls fn on each whole one; the first that passes the end
 * stops the walk, and *bad says where (n when none did).
 */
static void
walk_notes(const uint8_t *b, uint64_t n, uint64_t *bad,
    void (*fn)(const uint8_t *name, uint64_t nsz, uint32_t type,
    const uint8_t *desc, uint64_t dsz, void *arg), void *arg)
{
	uint64_t at = 0;

	while (at + 12 <= n) {
		uint64_t nsz = le(b + at, 4), dsz = le(b + at + 4, 4);
		uint64_t desc = at + 12 + ((nsz + 3) & ~3ull);

		if (desc > n || dsz > n - desc)
			break;
		fn(b + at + 12, nsz, (uint32_t)le(b + at + 8, 4), b + desc,
		    dsz, arg);
		at = desc + ((dsz + 3) & ~3ull);
	}
	*bad = at + 12 <= n ? at : n;
}

/* What the notes say of long mode: LONG_* */
#define LONG_UNKNOWN	0
#define LONG_OFF	1
#define LONG_ON		2
#define PRSTATUS_IA32	144	/* NT_PRSTATUS of IA-32 (elf_prstatus) */
#define PRSTATUS_X86_64	336	/* of x86-64 */

typedef struct note_scan {
	image_t		*im;
	int		prstatus;	/* LONG_*: the first NT_PRSTATUS */
	int		cs_l;		/* a QEMU note with CS.L */
	uint16_t	machine;	/* for qemu_cpu: EM_*, EM_NONE */
	int		warned, err;
} note_scan_t;

static int
is_note(const uint8_t *name, uint64_t nsz, const char *want)
{
	return (nsz == strlen(want) + 1 && memcmp(name, want, nsz) == 0);
}

/* walk_notes: the evidence of long mode. */
static void
note_mode(const uint8_t *name, uint64_t nsz, uint32_t type,
    const uint8_t *desc, uint64_t dsz, void *arg)
{
	note_scan_t *ns = arg;

	if (type == NT_PRSTATUS && is_note(name, nsz, "CORE") &&
	    ns->prstatus == LONG_UNKNOWN)
		ns->prstatus = dsz == PRSTATUS_X86_64 ? LONG_ON :
		    dsz == PRSTATUS_IA32 ? LONG_OFF : LONG_UNKNOWN;
	if (type == 0 && is_note(name, nsz, "QEMU") && dsz >= QEMU_NOTE_MIN &&
	    (le(desc + QEMU_NOTE_CS + 8, 4) & CS_L))
		ns->cs_l = 1;
}

/* walk_notes: each QEMU note a CPU. */
static void
note_cpu(const uint8_t *name, uint64_t nsz, uint32_t type,
    const uint8_t *desc, uint64_t dsz, void *arg)
{
	note_scan_t *ns = arg;

	if (ns->err == 0 && type == 0 && is_note(name, nsz, "QEMU"))
		ns->err = qemu_cpu(ns->im, desc, (size_t)dsz, ns->machine,
		    &ns->warned);
}

/*
 * QEMU's CPU notes in a kdump-compressed file (dump-guest-memory -z, -l,
 * -s), which the sub-header names: libkdumpfile 0.5.1 reads them but
 * keeps none of QEMU's.  At most MAX_NOTES bytes are read.  Whether long
 * mode was on the file does not say outright (QEMU writes a 64-bit
 * header for a 32-bit guest too once a ROM ends at 4 GiB, and names
 * x86_64 in it always), so the notes are asked, as QEMU chose them: it
 * writes an x86-64 NT_PRSTATUS exactly when its first CPU has long mode
 * active, an IA-32 one otherwise; without one, a CPU in 64-bit code (CS.L
 * in the flags QEMU keeps of CS) has it on; else the mode of a CPU with
 * CR4.PAE stays unknown (qemu_cpu).  0 or IMAGE_ENOMEM.
 */
static int
kdump_qemu_notes(image_t *im, int fd, uint64_t file_size)
{
	const kdump_hdr_t *kh = &((dump_t *)im->kd)->kh;
	note_scan_t ns = { .im = im };
	uint64_t n = kh->note_sz, bad;
	uint8_t *b;

	if (n == 0 || kh->note_off > file_size ||
	    n > file_size - kh->note_off)
		return (0);
	if (n > MAX_NOTES) {
		image_warn(im, "notes of %llu bytes: only the first %u read",
		    (unsigned long long)n, MAX_NOTES);
		n = MAX_NOTES;
	}
	if ((b = malloc((size_t)n)) == NULL)
		return (IMAGE_ENOMEM);
	if (pread(fd, b, (size_t)n, (off_t)kh->note_off) != (ssize_t)n)
		n = 0;
	walk_notes(b, n, &bad, note_mode, &ns);
	if (bad != n)
		image_warn(im, "a malformed note at byte %llu of the notes at "
		    "file offset 0x%llx: the notes after it are not read",
		    (unsigned long long)bad,
		    (unsigned long long)kh->note_off);
	ns.machine = ns.prstatus == LONG_ON || (ns.prstatus == LONG_UNKNOWN &&
	    ns.cs_l) ? EM_X86_64 : ns.prstatus == LONG_OFF ? EM_386 :
	    EM_NONE;
	walk_notes(b, n, &bad, note_cpu, &ns);
	free(b);
	return (ns.err);
}

/*
 * A Linux dump's kernel root table, from VMCOREINFO through libaddrxlat,
 * as CPU 0 when no note gave a CPU.  Nothing when the dump cannot say.
 * 0 or IMAGE_ENOMEM.
 */
static int
kernel_root(image_t *im, kdump_ctx_t *kd)
{
	addrxlat_ctx_t *axc = NULL;
	addrxlat_sys_t *axs = NULL;
	const addrxlat_meth_t *m;
	image_cpu_t c = { .paging = 1, .source = "vmcoreinfo" };
	addrxlat_fulladdr_t root;
	int err = 0;

	kdump_attr_t raw;

	/*
	 * libkdumpfile 0.5.1 leaves addrxlat.ostype unset, and without it
	 * libaddrxlat has no Linux method at all: a dump with VMCOREINFO
	 * is a Linux dump, so say so.
	 */
	if (kdump_get_attr(kd, "linux.vmcoreinfo.raw", &raw) != KDUMP_OK ||
	    kdump_set_string_attr(kd, KDUMP_ATTR_OSTYPE, "linux") !=
	    KDUMP_OK || kdump_get_addrxlat(kd, &axc, &axs) != KDUMP_OK)
		return (0);
	m = addrxlat_sys_get_meth(axs, ADDRXLAT_SYS_METH_PGT);
	if (m == NULL || m->kind != ADDRXLAT_PGT ||
	    m->param.pgt.root.as == ADDRXLAT_NOADDR)
		goto out;
	/* pages are read machine-physical: so is the root (Xen aside, the
	 * same as kernel-physical) */
	root = m->param.pgt.root;
	if (addrxlat_fulladdr_conv(&root, ADDRXLAT_MACHPHYSADDR, axc, axs) !=
	    ADDRXLAT_OK)
		goto out;
	if (root.addr & (PAGE - 1))
		image_warn(im, "VMCOREINFO puts the kernel's root table at "
		    "0x%llx, inside a page: taken as its page",
		    (unsigned long long)root.addr);
	if (m->param.pgt.pte_mask != 0)
		image_warn(im, "the kernel's entries carry a mask (0x%llx, "
		    "AMD's memory encryption bit): their addresses are read "
		    "with it", (unsigned long long)m->param.pgt.pte_mask);
	switch (m->param.pgt.pf.pte_format) {
	case ADDRXLAT_PTE_X86_64:
		c.mode = m->param.pgt.pf.nfields == 6 ? HT_MODE_5LEVEL :
		    HT_MODE_4LEVEL;
		break;
	case ADDRXLAT_PTE_IA32_PAE:
		c.mode = HT_MODE_PAE;
		break;
	case ADDRXLAT_PTE_IA32:
		c.mode = HT_MODE_32BIT;
		break;
	default:
		goto out;
	}
	c.cr3 = root.addr & ~(PAGE - 1);
	err = add_cpu(im, &c);
out:
	addrxlat_ctx_decref(axc);
	addrxlat_sys_decref(axs);
	return (err);
}

int
image_dump_open(image_t *im, int fd, uint64_t file_size)
{
	const char *s;
	char magic[8] = { 0 };
	kdump_num_t num;
	dump_t *dp;
	int err;

	if ((dp = calloc(1, sizeof (*dp))) == NULL)
		return (IMAGE_ENOMEM);
	im->kd = dp;
	if ((dp->fd = dup(fd)) < 0) {
		dp->fd = -1;
		return (errno);
	}
	if (pread(fd, magic, sizeof (magic), 0) == (ssize_t)sizeof (magic))
		dp->diskdump = memcmp(magic, "KDUMP   ", 8) == 0 ||
		    memcmp(magic, "DISKDUMP", 8) == 0;
	if ((im->page = malloc(NPAGES * PAGE)) == NULL ||
	    (im->page_pa = malloc(NPAGES * sizeof (uint64_t))) == NULL ||
	    (dp->kd = kdump_new()) == NULL)
		return (IMAGE_ENOMEM);
	memset(im->page_pa, 0xff, NPAGES * sizeof (uint64_t));
	/*
	 * read(2), never mmap(2): a mapping of a truncated file raises
	 * SIGBUS where a read says "end of file".
	 */
	if (kdump_set_number_attr(dp->kd, KDUMP_ATTR_FILE_MMAP_POLICY,
	    KDUMP_MMAP_NEVER) != KDUMP_OK)
		return (fail(im, "libkdumpfile refused to read without mmap",
		    kdump_get_err(dp->kd)));
	/* what libkdumpfile would believe unchecked, checked first */
	if (dp->diskdump &&
	    (err = kdump_header(im, &dp->kh, fd, file_size)) != 0)
		return (err);
	if (memcmp(magic, "\177ELF", 4) == 0 &&
	    (err = elf_look(im, dp, file_size)) != 0)
		return (err);
	if (kdump_open_fd(dp->kd, dp->fd) != KDUMP_OK)
		return (fail(im, "a dump file libkdumpfile cannot read",
		    kdump_get_err(dp->kd)));
	if (kdump_get_string_attr(dp->kd, KDUMP_ATTR_FILE_FORMAT, &s) ==
	    KDUMP_OK)
		im->format = s;
	else
		im->format = "dump";
	if (kdump_get_string_attr(dp->kd, "file.description", &s) ==
	    KDUMP_OK)
		(void) snprintf(im->desc, sizeof (im->desc), "%s", s);
	if (kdump_get_string_attr(dp->kd, KDUMP_ATTR_ARCH_NAME, &s) ==
	    KDUMP_OK && strcmp(s, KDUMP_ARCH_X86_64) != 0 &&
	    strcmp(s, KDUMP_ARCH_IA32) != 0)
		return (fail(im, "a dump of another machine than x86", s));
	if (kdump_get_number_attr(dp->kd, KDUMP_ATTR_PAGE_SIZE, &num) ==
	    KDUMP_OK && num != PAGE)
		return (fail(im, "a dump of pages other than 4 KiB", NULL));
	if ((err = list_runs(im, dp->kd)) != 0)
		return (err);
	/*
	 * A kdump file's bitmap marks the pages it holds: none marked is
	 * a file cut inside its headers or bitmap.  An ELF core without
	 * memory segments is only empty.
	 */
	if (im->next == 0 && dp->diskdump)
		return (fail(im, "a kdump-compressed file whose bitmap marks "
		    "no page (a file cut short?)", NULL));
	if (im->next == 0)
		image_warn(im, "the dump holds no page of memory");
	if (dp->diskdump)
		kdump_check(im, dp->fd, file_size);
	if (dp->lie_oom)
		return (IMAGE_ENOMEM);
	if (dp->diskdump &&
	    (err = kdump_qemu_notes(im, dp->fd, file_size)) != 0)
		return (err);
	if (!dp->truncated)
		(void) kdump_set_number_attr(dp->kd,
		    KDUMP_ATTR_FILE_MMAP_POLICY, KDUMP_MMAP_TRY);
	/*
	 * libaddrxlat reads through libkdumpfile, where a lying descriptor
	 * is a heap overflow: a file with one gets no kernel root.
	 */
	if (im->ncpu == 0 && dp->nlie == 0 &&
	    (err = kernel_root(im, dp->kd)) != 0)
		return (err);
	return (0);
}

/*
 * The cached copy of the page at pa (page-aligned, data), read into its
 * slot if it is not there.  Errors: none (a failed read is zeros,
 * counted).
 */
static const uint8_t *
get_page(image_t *im, uint64_t pa)
{
	dump_t *dp = im->kd;
	size_t slot = (size_t)((pa / PAGE) ^ (pa / PAGE / NPAGES)) %
	    NPAGES, len = PAGE;
	uint8_t *p = im->page + slot * PAGE;
	kdump_status st;

	if (im->page_pa[slot] == pa)
		return (p);
	im->page_pa[slot] = pa;
	if (dp->nlie != 0 && is_lie(dp, pa)) {
		memset(p, 0, PAGE);
		if (im->nbad++ == 0) {
			im->bad_pa = pa;
			(void) snprintf(im->bad_why, sizeof (im->bad_why),
			    "its descriptor claims more than a block");
		}
		return (p);
	}
	st = kdump_read(dp->kd, KDUMP_MACHPHYSADDR, pa, p, &len);
	if (st == KDUMP_OK)
		return (p);
	if (len < PAGE)
		memset(p + len, 0, PAGE - len);
	if (im->nbad++ == 0) {
		im->bad_pa = pa;
		(void) snprintf(im->bad_why, sizeof (im->bad_why), "%s",
		    kdump_get_err(dp->kd));
	}
	return (p);
}

int
image_dump_read(image_t *im, uint64_t pa, void *buf, size_t len)
{
	uint8_t *out = buf;
	int missing = 0;

	while (len != 0) {
		uint64_t page = pa & ~(PAGE - 1), in = pa - page;
		size_t n = PAGE - in < len ? (size_t)(PAGE - in) : len;

		if (pa >= im->size || page + PAGE < page) {
			memset(out, 0, len);
			return (1);
		}
		/*
		 * A page the dump does not hold (a gap between an ELF
		 * core's segments, a page makedumpfile filtered out) is
		 * no memory of zeros: unbacked, so that a table there is
		 * counted and said, not read as an empty table in silence.
		 */
		if (!image_is_data(im, page)) {
			memset(out, 0, n);
			missing = 1;
		} else {
			memcpy(out, get_page(im, page) + in, n);
		}
		out += n;
		pa += n;
		len -= n;
	}
	return (missing);
}

void
image_dump_close(image_t *im)
{
	dump_t *dp = im->kd;

	/*
	 * libkdumpfile 0.5.1 (Debian 12) frees a kdump-compressed file's
	 * page-size attribute and then writes to it in kdump_free (its
	 * diskdump_attr_cleanup; drgn met it as osandov/drgn#280, fixed in
	 * later libkdumpfile): a crash, or a heap corrupted for whoever
	 * allocates next.  Such a context is left allocated instead; its
	 * file is closed, and nothing reads through it again.  The
	 * command opens an image once or twice a run; tests/lsan.supp
	 * names this leak.
	 */
	if (dp->kd != NULL && !dp->diskdump)
		kdump_free(dp->kd);
	if (dp->fd >= 0)
		(void) close(dp->fd);
	free(dp->lie);
	free(dp);
	im->kd = NULL;
	free(im->page);
	im->page = NULL;
	free(im->page_pa);
	im->page_pa = NULL;
	free(im->cpu);
	im->cpu = NULL;
	im->ncpu = 0;
}
