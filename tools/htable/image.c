/*
 * image.c - reading a raw physical-memory image: the file is mapped
 * read-only and every read is bounds-checked against its size, so tables
 * that name frames beyond the image read as zeros (as unassigned memory
 * reads on a PC) instead of touching anything else.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* SEEK_DATA, SEEK_HOLE */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "spec.h"

/*
 * Find the written ranges of fd (size bytes) with SEEK_DATA/SEEK_HOLE; a
 * file system without them reports the whole file as data.  0 or -1.
 */
static int
find_extents(image_t *im, int fd)
{
	size_t cap = 0;
	off_t pos = 0;

	while ((uint64_t)pos < im->size) {
		off_t d = lseek(fd, pos, SEEK_DATA), h;

		if (d < 0) {
			if (errno == ENXIO)	/* only a hole is left */
				break;
			d = pos;		/* no SEEK_DATA: all data */
			h = (off_t)im->size;
		} else if ((h = lseek(fd, d, SEEK_HOLE)) < 0) {
			h = (off_t)im->size;
		}
		if (im->next == cap) {
			image_extent_t *n;

			cap = cap ? cap * 2 : 16;
			if ((n = realloc(im->ext, cap * sizeof (*n))) == NULL)
				return (-1);
			im->ext = n;
		}
		im->ext[im->next].start = (uint64_t)d;
		im->ext[im->next].end = (uint64_t)h;
		im->next++;
		pos = h;
	}
	return (0);
}

int
image_is_data(const image_t *im, uint64_t pa)
{
	size_t lo = 0, hi = im->next;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pa < im->ext[mid].start)
			hi = mid;
		else if (pa >= im->ext[mid].end)
			lo = mid + 1;
		else
			return (1);
	}
	return (0);
}

int
image_open(const char *path, image_t *im)
{
	struct stat sb;
	int fd;

	memset(im, 0, sizeof (*im));
	im->path = path;
	if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &sb) != 0) {
		fprintf(stderr, "htable: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			(void) close(fd);
		return (-1);
	}
	if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode)) {
		fprintf(stderr, "htable: %s: not a regular file\n", path);
		(void) close(fd);
		return (-1);
	}
	im->size = (uint64_t)sb.st_size;
	if (im->size != 0) {
		void *p = mmap(NULL, (size_t)im->size, PROT_READ, MAP_PRIVATE,
		    fd, 0);

		if (p == MAP_FAILED) {
			fprintf(stderr, "htable: %s: %s\n", path,
			    strerror(errno));
			(void) close(fd);
			return (-1);
		}
		im->base = p;
		if (find_extents(im, fd) != 0) {
			fprintf(stderr, "htable: %s: out of memory\n", path);
			(void) close(fd);
			image_close(im);
			return (-1);
		}
	}
	(void) close(fd);
	return (0);
}

void
image_close(image_t *im)
{
	if (im->base != NULL)
		(void) munmap((void *)im->base, (size_t)im->size);
	im->base = NULL;
	free(im->ext);
	im->ext = NULL;
	im->next = 0;
}

int
image_read(void *arg, ht_pa_t pa, void *buf, size_t len)
{
	const image_t *im = arg;
	size_t have = 0;

	if (pa < im->size)
		have = im->size - pa < len ? (size_t)(im->size - pa) : len;
	if (have != 0)
		memcpy(buf, im->base + pa, have);
	if (have == len)
		return (0);
	memset((uint8_t *)buf + have, 0, len - have);
	return (1);
}

int
image_opt(image_opts_t *o, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case 'c':
		if (spec_number(arg, &v) != 0) {
			fprintf(stderr, "htable: --cr3 '%s': not a number\n",
			    arg);
			return (-1);
		}
		o->cfg.cr3 = v;
		o->have_cr3 = 1;
		return (1);
	case 'm':
		if (ht_mode_parse(arg, &o->cfg.mode) != 0) {
			fprintf(stderr, "htable: --mode '%s': not one of "
			    "32bit, pae, 4level, 5level\n", arg);
			return (-1);
		}
		o->have_mode = 1;
		return (1);
	case 'p':
		if (spec_number(arg, &v) != 0 || v < 32 || v > 52) {
			fprintf(stderr, "htable: --pa-bits '%s': not a "
			    "physical width 32..52\n", arg);
			return (-1);
		}
		o->cfg.pa_bits = (unsigned)v;
		return (1);
	default:
		return (0);
	}
}

int
image_opts_done(image_opts_t *o, const char *cmd)
{
	if (!o->have_cr3 || !o->have_mode) {
		fprintf(stderr, "htable %s: --cr3 and --mode are required\n",
		    cmd);
		return (-1);
	}
	if (o->cfg.pa_bits != 0 &&
	    o->cfg.pa_bits > ht_geometry(o->cfg.mode)->pa_bits_max) {
		fprintf(stderr, "htable %s: --pa-bits %u: %s paging names at "
		    "most %u bits\n", cmd, o->cfg.pa_bits,
		    ht_mode_name(o->cfg.mode),
		    ht_geometry(o->cfg.mode)->pa_bits_max);
		return (-1);
	}
	o->cfg.read = image_read;
	return (0);
}
