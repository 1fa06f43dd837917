/*
 * himage.h - libhtimage: physical-memory images and dump files for
 * programs other than the htable command (the Python package, a
 * debugger's script, a VMM's tooling).
 *
 * A stable, small face over tools/image: the image is an opaque handle
 * (hti_t), every struct it fills is this header's own (so image.h and
 * roots.h may change beneath it), and the reader is a function with the
 * shape of ht_phys_read_fn, so that a caller hands hti_read and the
 * handle straight to ht_scan_cfg_t.read and .read_arg: the scan then
 * reads the image with no call through the caller per table.
 *
 * What an image is (raw, or an ELF core or kdump-compressed file read
 * through libkdumpfile), how pages it does not hold read (zeros, and
 * the read says 1), and what a dump records of its CPUs: image.h says
 * it all; this header only names it.
 *
 * Errors: calls return 0 or a non-negative count on success.  hti_open
 * returns a positive errno value when the system refused (open, fstat,
 * mmap), or a negative HTI_E* code, and words for either in the
 * caller's buffer.  Nothing here prints or exits.
 *
 * Threads: one handle may be used from several threads at once.  The
 * reads of a dump share one page cache and libkdumpfile's context, so
 * hti_read takes the handle's lock around them (a raw image is read
 * without it); everything else reads what hti_open settled.
 */
#ifndef HTABLE_HIMAGE_H
#define HTABLE_HIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <htable.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hti hti_t;

/* hti_open's own failures (a positive answer is an errno value) */
#define HTI_EINVAL	(-1)	/* NULL path or r_img */
#define HTI_ENOTREG	(-2)	/* neither a regular file nor a block device */
#define HTI_ENOMEM	(-3)	/* out of memory */
#define HTI_EDUMP	(-4)	/* a dump's magic, but a file the reader
				   refuses (cut inside its headers, lying) */
#define HTI_EFLAT	(-5)	/* makedumpfile's flattened format */

/* hti_roots_find's failures */
#define HTI_EMODE	(-6)	/* a mode roots are not looked for in, or
				   one named twice */

/*
 * Open the image at path (a raw image or a dump file) into *r_img.  0, a
 * positive errno value (open, fstat or mmap failed), or HTI_EINVAL,
 * HTI_ENOTREG, HTI_ENOMEM, HTI_EDUMP, HTI_EFLAT; on failure *r_img is
 * NULL and, when msg is not NULL, msg (msglen bytes, NUL-terminated if
 * msglen > 0) holds the words ("not a regular file", the dump reader's
 * own, strerror's), without the path.  What the reader noticed and
 * lived with is in hti_warning().
 * Errors: HTI_EINVAL, HTI_ENOTREG, HTI_ENOMEM, HTI_EDUMP, HTI_EFLAT, and
 * errno values.
 */
HT_EXTERN int hti_open(const char *path, hti_t **r_img, char *msg,
    size_t msglen);
/*
 * Close the image and free the handle (NULL is fine).  No read may run
 * meanwhile.
 * Errors: none.
 */
HT_EXTERN void hti_close(hti_t *img);
/*
 * Words for a code of this header ("not a regular file"; strerror's for
 * an errno value); never NULL.
 * Errors: none.
 */
HT_EXTERN const char *hti_strerror(int err);

/*
 * The ht_phys_read_fn over an image: arg is the hti_t.  Copies len bytes
 * of physical memory at pa into buf; 0, or 1 when some of them are not
 * in the image (beyond its end, or a page a dump does not hold): those
 * read as zeros.  A dump's page that fails to read reads as zeros and
 * is counted (hti_bad_pages).
 * Errors: none (1 is the read function's "not backed").
 */
HT_EXTERN int hti_read(void *arg, ht_pa_t pa, void *buf, size_t len);

/*
 * The path given to hti_open (a copy).
 * Errors: none.
 */
HT_EXTERN const char *hti_path(const hti_t *img);
/*
 * "raw", or the dump reader's format name ("elf", "diskdump", ...).
 * Errors: none.
 */
HT_EXTERN const char *hti_format(const hti_t *img);
/*
 * The dump reader's description ("ELF64 dump"); "" for a raw image.
 * Errors: none.
 */
HT_EXTERN const char *hti_description(const hti_t *img);
/*
 * Bytes of physical address space the image covers: a raw image's file
 * size, a dump's end of data.
 * Errors: none.
 */
HT_EXTERN uint64_t hti_size(const hti_t *img);
/*
 * 1 for a dump file, 0 for a raw image.
 * Errors: none.
 */
HT_EXTERN int hti_is_dump(const hti_t *img);
/*
 * 1 when the image holds written data at pa (not a hole of a sparse
 * file, not a page a dump lacks, not beyond the end).
 * Errors: none.
 */
HT_EXTERN int hti_is_data(const hti_t *img, ht_pa_t pa);

/* A CPU whose control registers a dump recorded. */
typedef struct hti_cpu {
	int		paging;		/* CR0.PG: mode is meaningful */
	ht_mode_t	mode;		/* from CR0, CR4 and the machine */
	int		long_unknown;	/* the dump does not say whether long
					   mode was on: mode, or pae */
	uint64_t	cr0;
	uint64_t	cr3;
	uint64_t	cr4;
	const char	*source;	/* "qemu-note" or "vmcoreinfo"; lives
					   as long as the handle */
} hti_cpu_t;

/*
 * The number of CPUs the dump recorded (0 for a raw image); *r_lost
 * (may be NULL) the ones beyond those kept.
 * Errors: none.
 */
HT_EXTERN unsigned hti_ncpus(const hti_t *img, unsigned *r_lost);
/*
 * CPU i into *r_cpu: 0, or HTI_EINVAL (NULL argument, i not below
 * hti_ncpus).
 * Errors: HTI_EINVAL.
 */
HT_EXTERN int hti_cpu(const hti_t *img, unsigned i, hti_cpu_t *r_cpu);

/*
 * The number of warnings the reader kept (what it noticed and lived
 * with: a truncated segment, overlapping ones); *r_lost (may be NULL)
 * those beyond.
 * Errors: none.
 */
HT_EXTERN unsigned hti_nwarnings(const hti_t *img, unsigned *r_lost);
/*
 * Warning i, NULL when i is not below hti_nwarnings.
 * Errors: none.
 */
HT_EXTERN const char *hti_warning(const hti_t *img, unsigned i);
/*
 * Pages of a dump that failed to read so far (they read as zeros), the
 * first one's address in *r_pa and the reason in *r_why (either may be
 * NULL; unset when the count is 0).  Takes the handle's lock.
 * Errors: none.
 */
HT_EXTERN uint64_t hti_bad_pages(hti_t *img, ht_pa_t *r_pa,
    const char **r_why);

/* A candidate page-table root (roots.h's account of it). */
typedef struct hti_root {
	ht_mode_t	mode;
	uint64_t	cr3;		/* PAE: 32-byte aligned */
	unsigned	present;	/* present entries in the root */
	uint64_t	leaves;		/* leaves under it */
	uint64_t	user_bytes;	/* mapped from the user part */
	uint64_t	kernel_bytes;	/* from the kernel part */
	unsigned	shared;		/* other candidates with its kernel
					   part */
	int		selfmap;	/* entry linking the root to itself,
					   or -1 */
	unsigned	confidence;	/* 0..100 */
} hti_root_t;

/*
 * Score every data frame of img as a root of each of the nmodes modes
 * (HT_MODE_32BIT, _PAE, _4LEVEL, _5LEVEL, each once) at MAXPHYADDR
 * pa_bits (0: 52), as `htable roots` does.  0 with *r_roots a new
 * array of *r_n candidates, best first (free it with hti_roots_free),
 * or HTI_EINVAL (NULL argument, nmodes not 1..4), HTI_EMODE, HTI_ENOMEM
 * with *r_roots NULL and *r_n 0.  Takes the handle's lock (it reads).
 * Errors: HTI_EINVAL, HTI_EMODE, HTI_ENOMEM.
 */
HT_EXTERN int hti_roots_find(hti_t *img, const ht_mode_t *modes,
    int nmodes, unsigned pa_bits, hti_root_t **r_roots, size_t *r_n);
/*
 * Free what hti_roots_find gave (NULL is fine).
 * Errors: none.
 */
HT_EXTERN void hti_roots_free(hti_root_t *roots);

#ifdef __cplusplus
}
#endif
#endif /* HTABLE_HIMAGE_H */
