/*
 * himage.c - libhtimage (himage.h): the stable face of tools/image.
 *
 * Theory of operation.  An hti_t is an image_t (image.h) on the heap,
 * with a copy of the path it was opened from (image_t keeps only the
 * caller's pointer) and a mutex.  Everything hti_open settles (format,
 * size, extents, CPUs, warnings) is read without the lock afterwards;
 * what changes later is a dump's page cache, libkdumpfile's context and
 * the bad-page count, all touched only by image_read, so every call
 * that reads (hti_read on a dump, hti_roots_find) or looks at the count
 * (hti_bad_pages) holds the lock.  A raw image's read is a bounded
 * memcpy from a read-only mapping and takes no lock.
 *
 * Invariants: a handle exists only for an image that opened (hti_open
 * never hands out a half-opened one); the structs this header fills are
 * copies, field by field, so image_t and roots_cand_t may change
 * without changing this library's ABI.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "himage.h"
#include "image.h"
#include "roots.h"

struct hti {
	image_t		im;		/* im.path points at path below */
	char		*path;
	pthread_mutex_t	lock;		/* a dump's reads, nbad */
};

/*
 * The HTI_E* code of image_open's answer (an errno stays as it is).
 * Errors: none.
 */
static int
open_code(int err)
{
	switch (err) {
	case IMAGE_ENOTREG:
		return (HTI_ENOTREG);
	case IMAGE_ENOMEM:
		return (HTI_ENOMEM);
	case IMAGE_EDUMP:
		return (HTI_EDUMP);
	case IMAGE_EFLAT:
		return (HTI_EFLAT);
	default:
		return (err);
	}
}

/* Copy s into msg (msglen bytes) when there is room.  Errors: none. */
static void
say(char *msg, size_t msglen, const char *s)
{
	if (msg != NULL && msglen > 0)
		(void) snprintf(msg, msglen, "%s", s);
}

/*
 * Open: a handle, the path's copy, the lock, then image_open.  Failure
 * frees all of it (image_open leaves its image empty on failure).
 * Errors: HTI_EINVAL, HTI_ENOTREG, HTI_ENOMEM, HTI_EDUMP, HTI_EFLAT, and
 * errno values.
 */
int
hti_open(const char *path, hti_t **r_img, char *msg, size_t msglen)
{
	hti_t *h;
	int err;

	if (r_img != NULL)
		*r_img = NULL;
	if (path == NULL || r_img == NULL) {
		say(msg, msglen, hti_strerror(HTI_EINVAL));
		return (HTI_EINVAL);
	}
	if ((h = calloc(1, sizeof (*h))) == NULL ||
	    (h->path = strdup(path)) == NULL) {
		free(h);
		say(msg, msglen, hti_strerror(HTI_ENOMEM));
		return (HTI_ENOMEM);
	}
	if ((err = pthread_mutex_init(&h->lock, NULL)) != 0) {
		free(h->path);
		free(h);
		say(msg, msglen, strerror(err));
		return (err);
	}
	if ((err = image_open(h->path, &h->im)) != 0) {
		say(msg, msglen, image_strerror(&h->im, err));
		(void) pthread_mutex_destroy(&h->lock);
		free(h->path);
		free(h);
		return (open_code(err));
	}
	*r_img = h;
	return (0);
}

/* Errors: none. */
void
hti_close(hti_t *img)
{
	if (img == NULL)
		return;
	image_close(&img->im);
	(void) pthread_mutex_destroy(&img->lock);
	free(img->path);
	free(img);
}

/* Errors: none. */
const char *
hti_strerror(int err)
{
	switch (err) {
	case 0:
		return ("success");
	case HTI_EINVAL:
		return ("invalid argument");
	case HTI_ENOTREG:
		return ("not a regular file");
	case HTI_ENOMEM:
		return ("out of memory");
	case HTI_EDUMP:
		return ("a dump file its reader cannot read");
	case HTI_EFLAT:
		return ("a flattened makedumpfile file (reassemble it with "
		    "makedumpfile -R)");
	case HTI_EMODE:
		return ("a mode roots are not looked for in (32bit, pae, "
		    "4level, 5level, each once)");
	default:
		return (err > 0 ? strerror(err) : "unknown error");
	}
}

/*
 * A dump's read under the lock; a raw one without (image.c reads a
 * read-only mapping, bounds-checked).
 * Errors: none.
 */
int
hti_read(void *arg, ht_pa_t pa, void *buf, size_t len)
{
	hti_t *h = arg;
	int rc;

	if (!image_is_dump(&h->im))
		return (image_read(&h->im, pa, buf, len));
	(void) pthread_mutex_lock(&h->lock);
	rc = image_read(&h->im, pa, buf, len);
	(void) pthread_mutex_unlock(&h->lock);
	return (rc);
}

/* Errors: none. */
const char *
hti_path(const hti_t *img)
{
	return (img->path);
}

/* Errors: none. */
const char *
hti_format(const hti_t *img)
{
	return (img->im.format);
}

/* Errors: none. */
const char *
hti_description(const hti_t *img)
{
	return (img->im.desc);
}

/* Errors: none. */
uint64_t
hti_size(const hti_t *img)
{
	return (img->im.size);
}

/* Errors: none. */
int
hti_is_dump(const hti_t *img)
{
	return (image_is_dump(&img->im));
}

/* Errors: none. */
int
hti_is_data(const hti_t *img, ht_pa_t pa)
{
	return (image_is_data(&img->im, pa));
}

/* Errors: none. */
unsigned
hti_ncpus(const hti_t *img, unsigned *r_lost)
{
	if (r_lost != NULL)
		*r_lost = img->im.cpus_lost;
	return (img->im.ncpu);
}

/* Errors: HTI_EINVAL. */
int
hti_cpu(const hti_t *img, unsigned i, hti_cpu_t *r_cpu)
{
	const image_cpu_t *c;

	if (img == NULL || r_cpu == NULL || i >= img->im.ncpu)
		return (HTI_EINVAL);
	c = &img->im.cpu[i];
	memset(r_cpu, 0, sizeof (*r_cpu));
	r_cpu->paging = c->paging;
	r_cpu->mode = c->mode;
	r_cpu->long_unknown = c->long_unknown;
	r_cpu->cr0 = c->cr0;
	r_cpu->cr3 = c->cr3;
	r_cpu->cr4 = c->cr4;
	r_cpu->source = c->source != NULL ? c->source : "";
	return (0);
}

/* Errors: none. */
unsigned
hti_nwarnings(const hti_t *img, unsigned *r_lost)
{
	if (r_lost != NULL)
		*r_lost = img->im.nwarn_lost;
	return (img->im.nwarn);
}

/* Errors: none. */
const char *
hti_warning(const hti_t *img, unsigned i)
{
	return (i < img->im.nwarn ? img->im.warn[i] : NULL);
}

/* Errors: none. */
uint64_t
hti_bad_pages(hti_t *img, ht_pa_t *r_pa, const char **r_why)
{
	uint64_t n;

	(void) pthread_mutex_lock(&img->lock);
	n = img->im.nbad;
	if (n != 0 && r_pa != NULL)
		*r_pa = img->im.bad_pa;
	if (n != 0 && r_why != NULL)
		*r_why = img->im.bad_why;
	(void) pthread_mutex_unlock(&img->lock);
	return (n);
}

/*
 * roots_find under the lock, its candidates copied into this header's
 * struct.
 * Errors: HTI_EINVAL, HTI_EMODE, HTI_ENOMEM.
 */
int
hti_roots_find(hti_t *img, const ht_mode_t *modes, int nmodes,
    unsigned pa_bits, hti_root_t **r_roots, size_t *r_n)
{
	roots_cand_t *c = NULL;
	hti_root_t *out;
	size_t n = 0;
	int rc;

	if (r_roots != NULL)
		*r_roots = NULL;
	if (r_n != NULL)
		*r_n = 0;
	if (img == NULL || modes == NULL || r_roots == NULL || r_n == NULL ||
	    nmodes < 1 || nmodes > 4)
		return (HTI_EINVAL);
	(void) pthread_mutex_lock(&img->lock);
	rc = roots_find(&img->im, modes, nmodes, pa_bits, &c, &n);
	(void) pthread_mutex_unlock(&img->lock);
	if (rc != 0)
		return (rc == ROOTS_EMODE ? HTI_EMODE : HTI_ENOMEM);
	/* one more than asked: malloc(0) may give NULL */
	if ((out = calloc(n + 1, sizeof (*out))) == NULL) {
		free(c);
		return (HTI_ENOMEM);
	}
	for (size_t i = 0; i < n; i++) {
		out[i].mode = c[i].mode;
		out[i].cr3 = c[i].cr3;
		out[i].present = c[i].present;
		out[i].leaves = c[i].leaves;
		out[i].user_bytes = c[i].user_bytes;
		out[i].kernel_bytes = c[i].kernel_bytes;
		out[i].shared = c[i].shared;
		out[i].selfmap = c[i].selfmap;
		out[i].confidence = c[i].confidence;
	}
	free(c);
	*r_roots = out;
	*r_n = n;
	return (0);
}

/* Errors: none. */
void
hti_roots_free(hti_root_t *roots)
{
	free(roots);
}
