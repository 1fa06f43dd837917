/*
 * image.h - a raw physical-memory image opened for reading (byte offset =
 * physical address), and the options every command that reads one shares:
 * --cr3, --mode, --pa-bits.
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

/*
 * Map the image at path read-only.  0, or -1 after printing
 * "htable: PATH: reason" to stderr.
 */
int image_open(const char *path, image_t *im);
void image_close(image_t *im);

/*
 * Does the image hold written data at pa (not a hole of a sparse file,
 * not beyond the end)?  An image without holes is data everywhere.
 */
int image_is_data(const image_t *im, uint64_t pa);

/*
 * The ht_phys_read_fn over an image_t: bytes beyond the end read as zeros
 * and make it return 1.  Nothing outside the mapping is touched.
 */
int image_read(void *arg, ht_pa_t pa, void *buf, size_t len);

/* The options of a command that reads tables from an image. */
typedef struct image_opts {
	int		have_cr3, have_mode;
	ht_scan_cfg_t	cfg;
} image_opts_t;

/*
 * Take option c (with optarg) if it is one of --cr3 (c == 'c'), --mode
 * ('m') or --pa-bits ('p').  1 taken, 0 not ours, -1 bad value (a message
 * has been printed).
 */
int image_opt(image_opts_t *o, int c, const char *arg);
/* After option parsing: both --cr3 and --mode given?  0, or -1 + message. */
int image_opts_done(image_opts_t *o, const char *cmd);

#endif
