/*
 * image_opts.c - what every subcommand that reads an image shares: the
 * options --cr3, --roots, --mode, --pa-bits and --dump-cpu, the names of
 * the roots in the outputs, and opening the image with the messages the
 * command prints when that fails or the reader warns.  The reading
 * itself is tools/image/ (it never prints); the words are the command's.
 *
 * Roots.  --cr3 takes a CR3 value or NAME=VALUE and may be repeated;
 * --roots FILE takes every root that `htable build` printed: the lines
 * "root NAME cr3=0xHEX" of a spec with spaces or CPUs, or the last line
 * "mode=MODE cr3=0xHEX" of any other, and the mode from "mode=MODE"
 * (a root listed twice, as build --verify does, is read once).
 * With one unnamed root the outputs are what they always were; with
 * several, or a named one, each root's part begins with its header line,
 * "root NAME cr3=0xHEX", the very line build printed.
 *
 * Dump files.  Where --cr3 or --mode is left out and the image is a dump
 * that recorded CPU state (tools/image/dump.c), the root and the mode of
 * CPU 0, or of --dump-cpu N, stand in; what is given wins.  What the
 * dump's reader noticed (a truncated file, overlapping segments) is said
 * as warnings when the image is opened, and pages that failed to read
 * when it is closed.
 *
 * EPT.  An EPT image is read as it was built only with the EPT flags it
 * was built with.  A/D is bit 6 of each EPTP (the "CR3" of EPT); MBEC
 * and execute-only pages are controls of the VMCS and the CPU, in no
 * EPTP, so build prints them on its "mode=" line as "ept=FLAGS", which
 * --roots reads; --ept FLAGS gives them by hand (and `ad` sets bit 6 of
 * every EPTP).  The image itself stays a raw physical image.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "roots.h"
#include "spec.h"

/* Append a root; 0, or -1 (out of memory, said). */
static int
add_root(image_opts_t *o, const char *name, size_t namelen, uint64_t cr3)
{
	cli_root_t *r = realloc(o->roots, (size_t)(o->nroots + 1) *
	    sizeof (*r));

	if (r == NULL) {
		fprintf(stderr, "htable: out of memory\n");
		return (-1);
	}
	o->roots = r;
	r += o->nroots++;
	memset(r, 0, sizeof (*r));
	if (namelen >= sizeof (r->name))
		namelen = sizeof (r->name) - 1;
	memcpy(r->name, name, namelen);
	r->name[namelen] = '\0';
	r->cr3 = cr3;
	if (namelen > 0)
		o->named = 1;
	o->have_cr3 = 1;
	return (0);
}

/*
 * A name of a root: letters, digits, '_', '-' and '.' (a space's name,
 * "cpuN", "cpuN.user"), so that every output can print it as it is.
 */
static int
root_name_ok(const char *name, size_t len)
{
	if (len == 0 || len >= CLI_ROOT_NAME)
		return (0);
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '-' && name[i] != '.')
			return (0);
	return (1);
}

/* Is the root (name, cr3) in the list already? */
static int
have_root(const image_opts_t *o, const char *name, uint64_t cr3)
{
	for (int i = 0; i < o->nroots; i++)
		if (o->roots[i].cr3 == cr3 && strcmp(o->roots[i].name, name) ==
		    0)
			return (1);
	return (0);
}

/* --cr3 [NAME=]VALUE */
static int
cr3_opt(image_opts_t *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	const char *num = eq != NULL ? eq + 1 : arg;
	uint64_t v;

	if ((eq != NULL && !root_name_ok(arg, (size_t)(eq - arg))) ||
	    spec_number(num, &v) != 0) {
		fprintf(stderr, "htable: --cr3 '%s': not a number (or "
		    "NAME=NUMBER, NAME of letters, digits, '_', '-', '.')\n",
		    arg);
		return (-1);
	}
	return (add_root(o, arg, eq != NULL ? (size_t)(eq - arg) : 0, v));
}

int
cli_ept_parse(const char *s, unsigned *r)
{
	static const struct { const char *w; unsigned f; } fl[] = {
		{ "ad", HT_EPT_AD }, { "mbec", HT_EPT_MBEC },
		{ "xonly", HT_EPT_XONLY }, { "none", 0 },
	};
	size_t n;

	*r = 0;
	for (;;) {
		unsigned i;

		n = strcspn(s, ",");
		for (i = 0; i < sizeof (fl) / sizeof (fl[0]); i++)
			if (strlen(fl[i].w) == n && strncmp(s, fl[i].w, n) == 0)
				break;
		if (i == sizeof (fl) / sizeof (fl[0]))
			return (-1);
		*r |= fl[i].f;
		if (s[n] == '\0')
			return (0);
		s += n + 1;
	}
}

const char *
cli_ept_words(unsigned ept, char *buf, size_t len)
{
	(void) snprintf(buf, len, "%s%s%s%s%s%s",
	    (ept & HT_EPT_AD) ? "ad" : "",
	    (ept & HT_EPT_AD) && (ept & (HT_EPT_MBEC | HT_EPT_XONLY)) ?
	    "," : "",
	    (ept & HT_EPT_MBEC) ? "mbec" : "",
	    (ept & HT_EPT_MBEC) && (ept & HT_EPT_XONLY) ? "," : "",
	    (ept & HT_EPT_XONLY) ? "xonly" : "",
	    ept == 0 ? "none" : "");
	return (buf);
}

/* "mode=MODE" at the start of a token: the mode, 0; else -1. */
static int
file_mode(const char *tok, ht_mode_t *m)
{
	char buf[16];
	size_t n;

	if (strncmp(tok, "mode=", 5) != 0)
		return (-1);
	n = strcspn(tok + 5, " \t\n");
	if (n >= sizeof (buf))
		return (-1);
	memcpy(buf, tok + 5, n);
	buf[n] = '\0';
	return (ht_mode_parse(buf, m));
}

/*
 * "ept=FLAGS" of a --roots file (t points past "ept="): the flags the
 * image was built with.  0, or -1 + message.
 */
static int
file_ept(image_opts_t *o, const char *path, const char *t)
{
	char buf[32];
	size_t n = strcspn(t, " \t\n");

	if (n < sizeof (buf)) {
		memcpy(buf, t, n);
		buf[n] = '\0';
	}
	if (n >= sizeof (buf) || cli_ept_parse(buf, &o->file_ept) != 0) {
		fprintf(stderr, "htable: --roots %s: 'ept=%.*s': not a list "
		    "of ad, mbec, xonly (or none)\n", path, (int)n, t);
		return (-1);
	}
	o->have_file_ept = 1;
	return (0);
}

/*
 * "guest mode=M cr3=0xX [host=NAME]" of a --roots file (line past
 * "guest ").  0, or -1 + message.
 */
static int
file_guest(image_opts_t *o, const char *path, const char *line)
{
	char host[CLI_ROOT_NAME];
	const char *c;
	unsigned long long v;
	ht_mode_t m;

	if (file_mode(line, &m) != 0 || (c = strstr(line, " cr3=0x")) ==
	    NULL || sscanf(c + 5, "%llx", &v) != 1) {
		fprintf(stderr, "htable: --roots %s: 'guest %.*s': expected "
		    "'guest mode=MODE cr3=0xHEX'\n", path,
		    (int)strcspn(line, "\n"), line);
		return (-1);
	}
	o->have_file_guest = 1;
	o->file_guest_mode = m;
	o->file_guest_cr3 = v;
	o->file_guest_host[0] = '\0';
	if ((c = strstr(line, " host=")) != NULL) {
		if (sscanf(c + 6, "%63s", host) != 1 ||
		    !root_name_ok(host, strlen(host))) {
			fprintf(stderr, "htable: --roots %s: 'guest ... %.*s': "
			    "not the name of a root\n", path,
			    (int)strcspn(c + 1, "\n"), c + 1);
			return (-1);
		}
		(void) snprintf(o->file_guest_host,
		    sizeof (o->file_guest_host), "%s", host);
	}
	return (0);
}

/* --roots FILE: what build printed.  0, or -1 + message. */
static int
roots_opt(image_opts_t *o, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int before = o->nroots, rc = 0;

	if (f == NULL) {
		fprintf(stderr, "htable: --roots %s: %m\n", path);
		return (-1);
	}
	while (rc == 0 && fgets(line, sizeof (line), f) != NULL) {
		char name[CLI_ROOT_NAME], hex[32];
		unsigned long long v;
		const char *c;
		ht_mode_t m;

		if (strncmp(line, "guest mode=", 11) == 0) {
			rc = file_guest(o, path, line + 6);
		} else if (sscanf(line, "root %63s cr3=%31s", name, hex) ==
		    2 && root_name_ok(name, strlen(name)) &&
		    sscanf(hex, "%llx", &v) == 1) {
			/* build --verify repeats each root before its report */
			if (!have_root(o, name, v))
				rc = add_root(o, name, strlen(name), v);
		} else if (file_mode(line, &m) == 0) {
			o->have_file_mode = 1;
			o->file_mode = m;
			/* the single root of a summary without spaces */
			if ((c = strstr(line, " cr3=0x")) != NULL &&
			    sscanf(c + 5, "%llx", &v) == 1)
				rc = add_root(o, "", 0, v);
			/* an EPT image's flags */
			if (rc == 0 && (c = strstr(line, " ept=")) != NULL)
				rc = file_ept(o, path, c + 5);
		}
	}
	(void) fclose(f);
	if (rc == 0 && o->nroots == before) {
		fprintf(stderr, "htable: --roots %s: no 'root NAME cr3=X' or "
		    "'mode=M cr3=X' line: not what htable build printed\n",
		    path);
		rc = -1;
	}
	return (rc);
}

int
image_opt(image_opts_t *o, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case 'c':
		return (cr3_opt(o, arg) == 0 ? 1 : -1);
	case 'R':
		return (roots_opt(o, arg) == 0 ? 1 : -1);
	case 'm':
		if (ht_mode_parse(arg, &o->cfg.mode) != 0) {
			fprintf(stderr, "htable: --mode '%s': not one of "
			    "32bit, pae, 4level, 5level, npt4, npt5, ept4, "
			    "ept5\n", arg);
			return (-1);
		}
		o->have_mode = 1;
		return (1);
	case 'E':
		if (cli_ept_parse(arg, &o->ept) != 0) {
			fprintf(stderr, "htable: --ept '%s': not a list of "
			    "ad, mbec, xonly (or none)\n", arg);
			return (-1);
		}
		o->have_ept = 1;
		return (1);
	case 'U':
		if (spec_number(arg, &v) != 0 || v > 0xffffffffull) {
			fprintf(stderr, "htable: --dump-cpu '%s': not a CPU "
			    "number\n", arg);
			return (-1);
		}
		o->have_dump_cpu = 1;
		o->dump_cpu = (unsigned)v;
		return (1);
	case 'p':
		if (spec_number(arg, &v) != 0 || v < 32 || v > 52) {
			fprintf(stderr, "htable: --pa-bits '%s': not a "
			    "physical width 32..52\n", arg);
			return (-1);
		}
		o->cfg.pa_bits = (unsigned)v;
		return (1);
	case 'n':
		if (spec_number(arg, &v) != 0 || v == 0) {
			fprintf(stderr, "htable: --max-leaves '%s': not a "
			    "positive number\n", arg);
			return (-1);
		}
		o->cfg.max_leaves = v;
		return (1);
	case 'A':
		o->want_all = 1;
		return (1);
	case 'C':
		if (spec_number(arg, &v) != 0 || v > 100) {
			fprintf(stderr, "htable: --min-confidence '%s': a "
			    "number from 0 to 100\n", arg);
			return (-1);
		}
		o->have_minc = 1;
		o->minc = (unsigned)v;
		return (1);
	default:
		return (0);
	}
}

/*
 * The EPT part of image_opts_done: the flags only in EPT, --ept and
 * --roots agreeing, every EPTP's walk length (bits 5:3) 0 or the mode's
 * less one; then the flags in force.  0, or -1 + message.
 */
static int
ept_done(image_opts_t *o, const char *cmd)
{
	const ht_geometry_t *g = ht_geometry(o->cfg.mode);
	char a[32], b[32];

	if (!spec_mode_ept(o->cfg.mode)) {
		if (o->have_ept || o->have_file_ept) {
			fprintf(stderr, "htable %s: %s: EPT flags need mode "
			    "ept4 or ept5, not %s\n", cmd, o->have_ept ?
			    "--ept" : "--roots", ht_mode_name(o->cfg.mode));
			return (-1);
		}
		return (0);
	}
	if (o->have_ept && o->have_file_ept && o->ept != o->file_ept) {
		fprintf(stderr, "htable %s: --ept %s, but --roots names "
		    "ept=%s\n", cmd, cli_ept_words(o->ept, a, sizeof (a)),
		    cli_ept_words(o->file_ept, b, sizeof (b)));
		return (-1);
	}
	if (!o->have_ept)
		o->ept = o->file_ept;
	for (int k = 0; k < o->nroots; k++) {
		unsigned pwl = (unsigned)(o->roots[k].cr3 >> 3) & 7;

		if (pwl != 0 && pwl != g->levels - 1) {
			fprintf(stderr, "htable %s: EPTP 0x%llx: bits 5:3 say "
			    "a walk of %u levels, but %s walks %u (they are "
			    "%u or 0)\n", cmd,
			    (unsigned long long)o->roots[k].cr3, pwl + 1,
			    ht_mode_name(o->cfg.mode), g->levels,
			    g->levels - 1);
			return (-1);
		}
		if (o->ept & HT_EPT_AD)
			o->roots[k].cr3 |= 0x40;
	}
	o->cfg.flags = ((o->ept & HT_EPT_MBEC) ? HT_SCAN_EPT_MBEC : 0) |
	    ((o->ept & HT_EPT_XONLY) ? HT_SCAN_EPT_XONLY : 0);
	return (0);
}

/*
 * What the options left out of the root and the mode, from the CPU state
 * of the dump at path (CPU 0's, or --dump-cpu's).  0, or -1 + message
 * (*io set when the image could not be opened).
 */
static int
dump_cpu_done(image_opts_t *o, const char *cmd, const char *path, int *io)
{
	const image_cpu_t *c;
	image_t im;
	int rc = -1, err;

	if (o->have_cr3 && o->have_mode && !o->have_dump_cpu)
		return (0);
	/* opened again to be read: its warnings are said then */
	if ((err = image_open(path, &im)) != 0) {
		fprintf(stderr, "htable: %s: %s\n", path,
		    image_strerror(&im, err));
		*io = 1;
		return (-1);
	}
	if (im.ncpu == 0) {
		if (o->have_dump_cpu || image_is_dump(&im))
			fprintf(stderr, "htable %s: %s: %s records no CPU "
			    "state: give --cr3 and --mode (htable roots %s "
			    "finds candidate roots)\n", cmd, path,
			    image_is_dump(&im) ? "the dump" :
			    "a raw image", path);
		else
			fprintf(stderr, "htable %s: --cr3 and --mode are "
			    "required (or --roots FILE)\n", cmd);
		goto out;
	}
	if (o->dump_cpu >= im.ncpu) {
		fprintf(stderr, "htable %s: --dump-cpu %u: %s records CPUs 0 "
		    "to %u\n", cmd, o->dump_cpu, path, im.ncpu - 1);
		goto out;
	}
	c = &im.cpu[o->dump_cpu];
	/* --dump-cpu with --cr3 and --mode: the CPU must exist, no more */
	if (o->have_cr3 && o->have_mode) {
		rc = 0;
		goto out;
	}
	if (!c->paging) {
		fprintf(stderr, "htable %s: %s: CPU %u has paging off "
		    "(CR0=0x%llx): it walks no tables; give --cr3 and "
		    "--mode\n", cmd, path, o->dump_cpu,
		    (unsigned long long)c->cr0);
		goto out;
	}
	if (!o->have_mode && c->long_unknown) {
		fprintf(stderr, "htable %s: %s: CPU %u pages with PAE or in "
		    "long mode (%s), and the dump does not say which: give "
		    "--mode pae or --mode %s\n", cmd, path, o->dump_cpu,
		    ht_mode_name(c->mode), ht_mode_name(c->mode));
		goto out;
	}
	if (!o->have_mode) {
		o->cfg.mode = c->mode;
		o->have_mode = 1;
	}
	if (!o->have_cr3 && add_root(o, "", 0, c->cr3) != 0)
		goto out;
	rc = 0;
out:
	/* the image is not opened again: what its reader noticed is said */
	for (unsigned i = 0; rc != 0 && i < im.nwarn; i++)
		fprintf(stderr, "htable: %s: warning: %s\n", path,
		    im.warn[i]);
	image_close(&im);
	return (rc);
}

int
image_opts_done(image_opts_t *o, const char *cmd, const char *path,
    int *io)
{
	*io = 0;
	if (o->have_file_mode && o->have_mode &&
	    o->file_mode != o->cfg.mode) {
		fprintf(stderr, "htable %s: --mode %s, but --roots names "
		    "%s paging\n", cmd, ht_mode_name(o->cfg.mode),
		    ht_mode_name(o->file_mode));
		return (-1);
	}
	if (o->have_file_mode && !o->have_mode) {
		o->cfg.mode = o->file_mode;
		o->have_mode = 1;
	}
	if (dump_cpu_done(o, cmd, path, io) != 0)
		return (-1);
	if (!o->have_cr3 || !o->have_mode) {
		fprintf(stderr, "htable %s: --cr3 and --mode are required "
		    "(or --roots FILE)\n", cmd);
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
	if (ept_done(o, cmd) != 0)
		return (-1);
	o->cfg.cr3 = o->roots[0].cr3;
	o->cfg.read = image_read;
	return (0);
}

void
image_opts_free(image_opts_t *o)
{
	free(o->roots);
	o->roots = NULL;
	o->nroots = 0;
}

int
image_opts_multi(const image_opts_t *o)
{
	return (o->nroots > 1 || o->named || o->all_roots);
}

int
image_opts_add_root(image_opts_t *o, uint64_t cr3)
{
	return (add_root(o, "", 0, cr3));
}

const char *
cli_root_name(const cli_root_t *r, char *buf, size_t len)
{
	if (r->name[0] != '\0')
		(void) snprintf(buf, len, "%s", r->name);
	else
		(void) snprintf(buf, len, "0x%llx",
		    (unsigned long long)r->cr3);
	return (buf);
}

void
cli_root_header(FILE *f, const cli_root_t *r)
{
	if (r->name[0] != '\0')
		fprintf(f, "root %s cr3=0x%llx\n", r->name,
		    (unsigned long long)r->cr3);
	else
		fprintf(f, "root cr3=0x%llx\n", (unsigned long long)r->cr3);
}

int
cli_image_open(const char *path, image_t *im)
{
	int err = image_open(path, im);

	if (err != 0) {
		fprintf(stderr, "htable: %s: %s\n", path,
		    image_strerror(im, err));
		return (-1);
	}
	for (unsigned i = 0; i < im->nwarn; i++)
		fprintf(stderr, "htable: %s: warning: %s\n", path,
		    im->warn[i]);
	if (im->nwarn_lost != 0)
		fprintf(stderr, "htable: %s: warning: and %u more\n", path,
		    im->nwarn_lost);
	return (0);
}

void
cli_image_close(const char *path, image_t *im)
{
	if (im->nbad != 0)
		fprintf(stderr, "htable: %s: warning: %llu page%s of the "
		    "dump could not be read and read as zeros (the first "
		    "at physical 0x%llx: %s)\n", path,
		    (unsigned long long)im->nbad, im->nbad == 1 ? "" : "s",
		    (unsigned long long)im->bad_pa, im->bad_why);
	image_close(im);
}

/* --all-roots (image_opts_open's comment): 0, or an exit status. */
static int
all_roots(image_opts_t *o, const char *cmd, const char *path, image_t *im)
{
	const int have_minc = o->have_minc;
	const unsigned minc = o->minc;
	ht_mode_t modes[2] = { HT_MODE_4LEVEL, HT_MODE_5LEVEL }, m;
	int nmodes = 2, rc = 0, shared = 0;
	roots_cand_t *c;
	size_t n;

	if (o->have_cr3) {
		fprintf(stderr, "htable %s: --all-roots finds the roots: "
		    "not with --cr3 or --roots\n", cmd);
		return (EXIT_INPUT);
	}
	if (o->have_mode) {
		modes[0] = o->cfg.mode;
		nmodes = 1;
	} else if (o->dump_cpu < im->ncpu && im->cpu[o->dump_cpu].paging) {
		modes[0] = im->cpu[o->dump_cpu].mode;
		nmodes = 1;
		/* the dump leaves PAE or long mode open: both */
		if (im->cpu[o->dump_cpu].long_unknown)
			modes[nmodes++] = HT_MODE_PAE;
	}
	if (modes[0] != HT_MODE_4LEVEL && modes[0] != HT_MODE_5LEVEL &&
	    modes[0] != HT_MODE_PAE && modes[0] != HT_MODE_32BIT) {
		fprintf(stderr, "htable %s: --all-roots: roots are found "
		    "in 32bit, pae, 4level and 5level tables, not %s\n", cmd,
		    ht_mode_name(modes[0]));
		return (EXIT_INPUT);
	}
	if ((rc = roots_find(im, modes, nmodes, o->cfg.pa_bits, &c, &n)) !=
	    0) {
		fprintf(stderr, "htable %s: %s: %s\n", cmd, path,
		    rc == ROOTS_ENOMEM ? "out of memory finding the roots" :
		    "internal: a mode roots cannot score");
		return (EXIT_IO);
	}
	m = n != 0 ? c[0].mode : modes[0];
	for (size_t i = 0; i < n && !have_minc; i++)
		shared |= c[i].mode == m && c[i].shared != 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (c[i].mode == m && c[i].confidence >= minc &&
		    (!shared || c[i].shared != 0) &&
		    image_opts_add_root(o, c[i].cr3) != 0)
			rc = EXIT_IO;
	free(c);
	o->cfg.mode = m;
	o->have_mode = 1;
	o->all_roots = 1;
	if (rc == 0 && o->nroots == 0)
		fprintf(stderr, "htable %s: %s: no %s roots found%s\n", cmd,
		    path, ht_mode_name(m), minc ? " at that confidence" : "");
	return (rc);
}

int
image_opts_open(image_opts_t *o, const char *cmd, const char *path,
    image_t *im)
{
	int rc, ioerr, opened = 0;

	if (o->have_minc && !o->want_all) {
		fprintf(stderr, "htable %s: --min-confidence goes with "
		    "--all-roots\n", cmd);
		return (EXIT_INPUT);
	}
	if (o->want_all) {
		if (cli_image_open(path, im) != 0)
			return (EXIT_IO);
		opened = 1;
		if ((rc = all_roots(o, cmd, path, im)) != 0) {
			cli_image_close(path, im);
			return (rc);
		}
		if (o->nroots == 0)
			return (0);
	}
	if (image_opts_done(o, cmd, path, &ioerr) != 0) {
		if (opened)
			cli_image_close(path, im);
		return (ioerr ? EXIT_IO : EXIT_INPUT);
	}
	if (!opened && cli_image_open(path, im) != 0)
		return (EXIT_IO);
	return (0);
}
