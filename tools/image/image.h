/*
 * image.h - a physical-memory image opened for reading, for everything
 * that reads tables out of a file: the htable command's dump, translate,
 * roots and verify, the verification library and its engines.
 *
 * Two kinds of file.  A raw image (byte offset = physical address, as
 * QEMU's pmemsave or `htable build` write it) is mapped read-only.  A
 * dump file (an ELF core: QEMU's dump-guest-memory, Linux /proc/vmcore,
 * kdump ELF; or a kdump-compressed file: makedumpfile, QEMU's -z/-l/-s
 * after `makedumpfile -R`) is read through libkdumpfile (dump.c), a page
 * at a time, so that memory stays bounded whatever the file's size.  The
 * kind is told by the file's first bytes; whatever has no dump's magic
 * is raw.  Either way every read goes through image_read, pages the file
 * does not hold read as zeros, and image_is_data tells them apart.
 *
 * A dump may record CPU state: QEMU's ELF cores carry CR0, CR3 and CR4
 * of each CPU in a "QEMU" note; a Linux dump with VMCOREINFO names the
 * kernel's root page table.  im->cpu lists what was found.
 *
 * Never prints: a failure is a code that image_strerror() words, and
 * what a dump's reader noticed but could live with (a truncated segment,
 * overlapping segments, pages it could not read) is kept as warnings
 * for the command to print.  Not safe for two threads at once: a dump's
 * reads share one page buffer and libkdumpfile's context.
 */
#ifndef HTABLE_IMAGE_H
#define HTABLE_IMAGE_H

#include <stdint.h>
#include "htable.h"

typedef struct image_extent {
	uint64_t	start, end;	/* [start, end) holds data */
} image_extent_t;

/* A CPU whose control registers the dump recorded. */
typedef struct image_cpu {
	int		paging;		/* CR0.PG: mode is meaningful */
	ht_mode_t	mode;		/* from CR0, CR4 and the ELF machine */
	int		long_unknown;	/* the dump does not say whether long
					   mode was on: mode (4level or
					   5level) or pae */
	uint64_t	cr0, cr3, cr4;
	const char	*source;	/* "qemu-note" or "vmcoreinfo" */
} image_cpu_t;

#define	IMAGE_NWARN	8		/* warnings kept; more are counted */

typedef struct image {
	const char	*path;
	const char	*format;	/* "raw", "elf", "diskdump", ... */
	char		desc[64];	/* the reader's description */
	const uint8_t	*base;		/* raw: read-only mapping, or NULL */
	uint64_t	size;		/* raw: the file's; dump: past data */
	/* the ranges that hold data (not holes), ascending */
	image_extent_t	*ext;
	size_t		next;
	/* a dump: what reads it (dump.c) */
	void		*kd;		/* libkdumpfile's context */
	uint8_t		*page;		/* IMAGE_NPAGES pages read, ... */
	uint64_t	*page_pa;	/* ... at these addresses (~0: none) */
	image_cpu_t	*cpu;		/* CPUs with recorded state */
	unsigned	ncpu;
	unsigned	cpus_lost;	/* beyond the ones kept */
	/* what the reader noticed and lived with */
	char		warn[IMAGE_NWARN][200];
	unsigned	nwarn, nwarn_lost;
	uint64_t	nbad;		/* pages that failed to read */
	uint64_t	bad_pa;		/* the first of them */
	char		bad_why[120];
	char		err[200];	/* IMAGE_EDUMP's words */
} image_t;

/* image_open's own failures (a positive answer is an errno value) */
#define IMAGE_ENOTREG	(-1)	/* neither a regular file nor a block device */
#define IMAGE_ENOMEM	(-2)	/* no memory for the list of extents */
#define IMAGE_EDUMP	(-3)	/* a dump libkdumpfile refused: im->err */
#define IMAGE_EFLAT	(-4)	/* makedumpfile's flattened format */

/*
 * Open the image at path: a raw one is mapped read-only and its written
 * extents found; a dump is opened with libkdumpfile, its pages' runs
 * listed and its CPU state read.  Returns 0, or a non-zero error with
 * *im empty (image_close is then a no-op): the errno of open, fstat or
 * mmap, IMAGE_ENOTREG, IMAGE_ENOMEM, IMAGE_EDUMP (a dump's magic but a
 * file libkdumpfile cannot read, or whose claims are absurd: the words
 * are in im->err) or IMAGE_EFLAT.
 */
int image_open(const char *path, image_t *im);
/* Unmap the image and free its extents.  Errors: none. */
void image_close(image_t *im);
/*
 * The words for an error of image_open ("not a regular file", "out of
 * memory", a dump's own words, or strerror's).  im is the image that
 * image_open was given.  Errors: none.
 */
const char *image_strerror(const image_t *im, int err);

/*
 * Does the image hold written data at pa (not a hole of a sparse file,
 * not beyond the end)?  An image without holes is data everywhere.
 * Errors: none.
 */
int image_is_data(const image_t *im, uint64_t pa);

/*
 * The ht_phys_read_fn over an image_t: bytes beyond the end, and a dump's
 * pages that it does not hold, read as zeros and make it return 1, else
 * 0 (a raw image's holes are data: zeros it holds).  Nothing outside the
 * mapping is touched.  A dump's page that its reader fails to read reads
 * as zeros and is counted in im->nbad.  Errors: none (1 is the read
 * function's "not in the image").
 */
int image_read(void *arg, ht_pa_t pa, void *buf, size_t len);

/* A dump file (not raw)?  Errors: none. */
int image_is_dump(const image_t *im);

/*
 * dump.c, for image.c only: open the dump at path (fd open on it, of
 * file_size bytes) into im, whose path is set; read a page of it; close
 * it.  image_dump_open: 0 or IMAGE_EDUMP / IMAGE_ENOMEM, with im->err.
 */
int image_dump_open(image_t *im, int fd, uint64_t file_size);
int image_dump_read(image_t *im, uint64_t pa, void *buf, size_t len);
void image_dump_close(image_t *im);
/* Keep a warning (printf-like) for the command to print. */
void image_warn(image_t *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
