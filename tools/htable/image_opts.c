/*
 * image_opts.c - what every subcommand that reads an image shares: the
 * options --cr3, --mode and --pa-bits, and opening the image with the
 * message the command prints when that fails.  The reading itself is
 * tools/image/ (it never prints); the words are the command's.
 */
#include <stdio.h>

#include "cli.h"
#include "spec.h"

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

int
cli_image_open(const char *path, image_t *im)
{
	int err = image_open(path, im);

	if (err != 0) {
		fprintf(stderr, "htable: %s: %s\n", path,
		    image_strerror(err));
		return (-1);
	}
	return (0);
}
