/*
 * image.c - opening an image, and reading a raw one.  image_open tells a
 * dump from a raw image by its first bytes and hands dumps to dump.c.
 * A raw image is mapped read-only and every read is bounds-checked
 * against its size, so tables that name frames beyond the image read as
 * zeros (as unassigned memory reads on a PC) instead of touching anything
 * else.  The extents that hold data (SEEK_DATA/SEEK_HOLE) are listed
 * once at open, so that an engine can tell the image's pages from the
 * holes it fills with markers.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* SEEK_DATA, SEEK_HOLE */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

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

/*
 * What the first bytes of fd say: 1 a dump libkdumpfile reads (ELF, or
 * a kdump-compressed file: "KDUMP   ", "DISKDUMP"), 2 makedumpfile's
 * flattened format, 0 anything else (raw).  A raw image starts with
 * physical page 0, the real-mode vector table on a PC: no such magic.
 */
static int
magic(int fd)
{
	char b[16];
	ssize_t n = pread(fd, b, sizeof (b), 0);

	if (n >= 4 && memcmp(b, "\177ELF", 4) == 0)
		return (1);
	if (n >= 8 && (memcmp(b, "KDUMP   ", 8) == 0 ||
	    memcmp(b, "DISKDUMP", 8) == 0))
		return (1);
	if (n >= 12 && memcmp(b, "makedumpfile", 12) == 0)
		return (2);
	return (0);
}

int
image_open(const char *path, image_t *im)
{
	struct stat sb;
	int fd, err;

	memset(im, 0, sizeof (*im));
	im->path = path;
	if ((fd = open(path, O_RDONLY)) < 0)
		return (errno);
	if (fstat(fd, &sb) != 0) {
		err = errno;
		(void) close(fd);
		return (err);
	}
	if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode)) {
		(void) close(fd);
		return (IMAGE_ENOTREG);
	}
	im->size = (uint64_t)sb.st_size;
	im->format = "raw";
	switch (magic(fd)) {
	case 1:
		err = image_dump_open(im, fd, im->size);
		(void) close(fd);
		if (err != 0) {
			image_close(im);
			im->size = 0;
		}
		return (err);
	case 2:
		(void) close(fd);
		im->size = 0;
		(void) snprintf(im->err, sizeof (im->err), "a flattened "
		    "makedumpfile file (QEMU's dump-guest-memory -z, -l and -s "
		    "write them): reassemble it first with 'makedumpfile -R "
		    "OUT < %s'", path);
		return (IMAGE_EFLAT);
	default:
		break;
	}
	if (im->size != 0) {
		void *p = mmap(NULL, (size_t)im->size, PROT_READ, MAP_PRIVATE,
		    fd, 0);

		if (p == MAP_FAILED) {
			err = errno;
			(void) close(fd);
			im->size = 0;
			return (err);
		}
		im->base = p;
		if (find_extents(im, fd) != 0) {
			(void) close(fd);
			image_close(im);
			im->size = 0;
			return (IMAGE_ENOMEM);
		}
	}
	(void) close(fd);
	return (0);
}

void
image_close(image_t *im)
{
	if (im->kd != NULL)
		image_dump_close(im);
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
	image_t *im = arg;
	size_t have = 0;

	if (im->kd != NULL)
		return (image_dump_read(im, pa, buf, len));
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
image_is_dump(const image_t *im)
{
	return (im->kd != NULL);
}

void
image_warn(image_t *im, const char *fmt, ...)
{
	va_list ap;

	if (im->nwarn == IMAGE_NWARN) {
		im->nwarn_lost++;
		return;
	}
	va_start(ap, fmt);
	(void) vsnprintf(im->warn[im->nwarn++], sizeof (im->warn[0]), fmt,
	    ap);
	va_end(ap);
}

const char *
image_strerror(const image_t *im, int err)
{
	switch (err) {
	case IMAGE_ENOTREG:
		return ("not a regular file");
	case IMAGE_ENOMEM:
		return ("out of memory");
	case IMAGE_EDUMP:
	case IMAGE_EFLAT:
		return (im->err);
	default:
		return (strerror(err));
	}
}
