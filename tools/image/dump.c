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
 *     program headers; a kdump header's pages and bitmaps: elf_look,
 *     kdump_precheck), more runs than we keep (IMAGE_MAX_RUNS), an ELF
 *     segment that passes the end of the file or overlaps another (whose
 *     bytes win is libkdumpfile's choice: said, not hidden), and a kdump
 *     file whose page data pass its end (kdump_check: libkdumpfile reads
 *     them as zeros, silently); what is missing reads as zeros, said;
 *   - the CPU state.  libkdumpfile 0.5 keeps the registers of NT_PRSTATUS
 *     notes, which hold no control register.  QEMU writes a "QEMU" note
 *     per CPU with CR0..CR4 (its QEMUCPUState, version 1: CR0 at byte
 *     392 of the descriptor); those notes are read with libelf (the ELF
 *     cores only: a kdump-compressed file's notes are libkdumpfile's, and
 *     it drops QEMU's).  The mode follows from CR0.PG, CR4.PAE, CR4.LA57
 *     and the core's machine (QEMU writes EM_X86_64 exactly when its
 *     first CPU is in long mode).  A Linux dump with VMCOREINFO instead
 *     names the kernel's root table, which libaddrxlat finds (its "pgt"
 *     method) and which stands for CPU 0 when no note gave one.
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

/* QEMUCPUState (QEMU's target/i386/arch_dump.c), version 1 */
#define QEMU_NOTE_CR0	392		/* u64 cr[5] from here */
#define QEMU_NOTE_MIN	(QEMU_NOTE_CR0 + 5 * 8)

#define CR0_PG		(1ull << 31)
#define CR4_PAE		(1ull << 5)
#define CR4_LA57	(1ull << 12)

typedef struct dump {
	kdump_ctx_t	*kd;
	int		fd;		/* our own: libkdumpfile reads it */
	uint16_t	machine;	/* ELF cores: e_machine, else 0 */
	int		diskdump;	/* a kdump-compressed file */
	int		truncated;	/* data past the end of the file */
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
cmp_u64pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return (x[0] < y[0] ? -1 : x[0] > y[0]);
}

/*
 * The mode a CPU's control registers select, in a core of machine m:
 * 0 with cpu->mode set, or -1 paging off.
 */
static int
cpu_mode(image_cpu_t *cpu, uint16_t m)
{
	if (!(cpu->cr0 & CR0_PG))
		return (-1);
	if (m == EM_X86_64)
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
		image_cpu_t c = { .source = "qemu-note" };
		uint32_t size = 0;

		off = next;
		if (nh.n_type != 0 || nh.n_namesz != 5 ||
		    memcmp(p + name, "QEMU", 5) != 0)
			continue;
		memcpy(&size, p + desc + 4, nh.n_descsz >= 8 ? 4 : 0);
		if (nh.n_descsz < QEMU_NOTE_MIN || size < QEMU_NOTE_MIN) {
			if (!*warned)
				image_warn(im, "a QEMU CPU note of %u bytes, "
				    "too short to hold the control registers: "
				    "skipped", (unsigned)nh.n_descsz);
			*warned = 1;
			continue;
		}
		memcpy(&c.cr0, p + desc + QEMU_NOTE_CR0, 8);
		memcpy(&c.cr3, p + desc + QEMU_NOTE_CR0 + 24, 8);
		memcpy(&c.cr4, p + desc + QEMU_NOTE_CR0 + 32, 8);
		c.paging = cpu_mode(&c, m) == 0;
		if ((err = add_cpu(im, &c)) != 0)
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
	uint64_t (*loads)[2] = NULL;
	size_t n = 0, nload = 0, beyond = 0, overlap = 0, badph = 0;
	uint64_t claim;
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
			nload++;
		}
	}
	if (beyond > 1)
		image_warn(im, "%zu segments in all pass the end of the "
		    "file", beyond);
	if (beyond != 0 || badph != 0)
		dp->truncated = 1;
	qsort(loads, nload, sizeof (*loads), cmp_u64pair);
	for (size_t i = 1; i < nload; i++)
		if (loads[i][0] < loads[i - 1][1] && overlap++ == 0)
			image_warn(im, "memory segments overlap at physical "
			    "0x%llx: the bytes read there are one segment's, "
			    "as libkdumpfile chooses",
			    (unsigned long long)loads[i][0]);
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

/*
 * Does a kdump-compressed file hold the data its page descriptors name?
 * libkdumpfile 0.5.1 reads what lies past the end of a cut file as
 * zeros, with no error, so a truncated dump would read as memory of
 * zeros; this check only says so (the reading stays libkdumpfile's).
 * The descriptors (24 bytes each: the data's offset, u64, and size,
 * u32) follow the header block, the sub-header and the bitmaps, whose
 * sizes in blocks are in the header (block_size at byte 428,
 * sub_hdr_size at 432, bitmap_blocks at 436), one per page the file
 * holds, in the order of im->ext.  Read in chunks: memory stays small.
 */
static void
kdump_check(image_t *im, int fd, uint64_t file_size)
{
	uint8_t h[12], d[24 * 512];
	uint64_t start, npages = 0, k = 0, bad = 0, first = 0;
	size_t run = 0;
	uint64_t pa = im->next ? im->ext[0].start : 0;

	if (pread(fd, h, sizeof (h), 428) != (ssize_t)sizeof (h))
		return;
	start = (1 + le(h + 4, 4) + le(h + 8, 4)) * le(h, 4);
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
	if (bad != 0)
		((dump_t *)im->kd)->truncated = 1;
	if (bad != 0)
		image_warn(im, "%llu page%s' data lie%s past the end of the "
		    "file (the first at physical 0x%llx): a truncated dump; "
		    "they read as zeros", (unsigned long long)bad,
		    bad == 1 ? "" : "s", bad == 1 ? "s" : "",
		    (unsigned long long)first);
}

/*
 * What a kdump-compressed file's header claims, against the file, before
 * libkdumpfile is given it: libkdumpfile 0.5.1 allocates and scans a
 * bitmap as large as the header's page count says (a header claiming
 * 2^35 pages cost 4 GiB and 20 s), unchecked.  The header: version at
 * byte 8, block_size at 428, sub_hdr_size at 432, bitmap_blocks at 436,
 * max_mapnr (32 bits) at 440; from version 6 the sub-header's
 * max_mapnr_64 (at byte 96 of it) counts.  The headers and the bitmaps
 * (two, of max_mapnr bits each) must lie in the file.  0 or IMAGE_EDUMP.
 */
static int
kdump_precheck(image_t *im, int fd, uint64_t file_size)
{
	uint8_t h[16], m[8];
	uint64_t bs, need, pages;

	if (pread(fd, h, 4, 8) != 4 || pread(fd, h + 4, 12, 428) != 12 ||
	    pread(fd, m, 4, 440) != 4)
		return (fail(im, "a kdump-compressed file cut inside its "
		    "header", NULL));
	bs = le(h + 4, 4);
	pages = le(m, 4);
	if (bs < 512 || bs > (1u << 20) || (bs & (bs - 1)) != 0)
		return (fail(im, "a kdump-compressed header with a block "
		    "size that is no power of two from 512 to 1 MiB", NULL));
	if ((int32_t)le(h, 4) >= 6 &&
	    pread(fd, m, 8, (off_t)(bs + 96)) == 8 && le(m, 8) > pages)
		pages = le(m, 8);
	need = (1 + le(h + 8, 4) + le(h + 12, 4)) * bs;
	if (need > file_size || pages / 4 > le(h + 12, 4) * bs) {
		(void) snprintf(im->err, sizeof (im->err), "the header "
		    "claims %llu pages and %llu bytes of headers and bitmaps; "
		    "the file has %llu bytes, or the bitmaps have no room for "
		    "those pages", (unsigned long long)pages,
		    (unsigned long long)need, (unsigned long long)file_size);
		return (IMAGE_EDUMP);
	}
	return (0);
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
	if (dp->diskdump && (err = kdump_precheck(im, fd, file_size)) != 0)
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
	if (!dp->truncated)
		(void) kdump_set_number_attr(dp->kd,
		    KDUMP_ATTR_FILE_MMAP_POLICY, KDUMP_MMAP_TRY);
	if (im->ncpu == 0 && (err = kernel_root(im, dp->kd)) != 0)
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

	while (len != 0) {
		uint64_t page = pa & ~(PAGE - 1), in = pa - page;
		size_t n = PAGE - in < len ? (size_t)(PAGE - in) : len;

		if (pa >= im->size || page + PAGE < page) {
			memset(out, 0, len);
			return (1);
		}
		if (!image_is_data(im, page)) {
			memset(out, 0, n);
		} else {
			memcpy(out, get_page(im, page) + in, n);
		}
		out += n;
		pa += n;
		len -= n;
	}
	return (0);
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
