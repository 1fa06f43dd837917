/*
 * image.h - a raw physical-memory image opened for reading (byte offset =
 * physical address), for everything that reads tables out of a file: the
 * htable command's dump, translate and verify, the verification library
 * and its engines.  Never prints: a failure is a code that
 * image_strerror() words.
 */
#ifndef HTABLE_IMAGE_H
#define HTABLE_IMAGE_H

#include <stdint.h>
#include "htable.h"

typedef struct image_extent {
	uint64_t	start, end;	/* [start, end) holds data */
} image_extent_t;

typedef struct image {
	const char	*path;
	const uint8_t	*base;		/* read-only mapping, NULL if empty */
	uint64_t	size;
	/* the ranges that were written (not holes), ascending */
	image_extent_t	*ext;
	size_t		next;
} image_t;

/* image_open's own failures (a positive answer is an errno value) */
#define IMAGE_ENOTREG	(-1)	/* neither a regular file nor a block device */
#define IMAGE_ENOMEM	(-2)	/* no memory for the list of extents */

/*
 * Map the image at path read-only and find its written extents.
 * Returns 0, or a non-zero error with *im empty (image_close is then a
 * no-op): the errno of open, fstat or mmap, IMAGE_ENOTREG or
 * IMAGE_ENOMEM.
 */
int image_open(const char *path, image_t *im);
/* Unmap the image and free its extents.  Errors: none. */
void image_close(image_t *im);
/*
 * The words for an error of image_open ("not a regular file", "out of
 * memory", or strerror's).  Errors: none.
 */
const char *image_strerror(int err);

/*
 * Does the image hold written data at pa (not a hole of a sparse file,
 * not beyond the end)?  An image without holes is data everywhere.
 * Errors: none.
 */
int image_is_data(const image_t *im, uint64_t pa);

/*
 * The ht_phys_read_fn over an image_t: bytes beyond the end read as zeros
 * and make it return 1, else 0.  Nothing outside the mapping is touched.
 * Errors: none (1 is the read function's "beyond the image").
 */
int image_read(void *arg, ht_pa_t pa, void *buf, size_t len);

#endif
