/*
 * image.c - reading a raw physical-memory image: the file is mapped
 * read-only and every read is bounds-checked against its size, so tables
 * that name frames beyond the image read as zeros (as unassigned memory
 * reads on a PC) instead of touching anything else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "spec.h"

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
