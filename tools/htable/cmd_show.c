/*
 * cmd_show.c - `htable show`: a picture of address spaces, as one
 * self-contained HTML page (tools/show/) or as the picture data alone.
 *
 * The spaces come from an image's roots (as dump takes them: --cr3,
 * --roots, --all-roots, a dump's CPU state), each written by
 * ht_scan_picture, and from data files (--data) that ht_as_picture, a
 * program's own space, or `show --format json` wrote; the page lists them
 * all and switches between them.
 *
 * A data file is untrusted: it must be picture data (a JSON object
 * starting {"htable_picture": or an array of them) and hold no '<' (the
 * library escapes it), so nothing in it can end the script element the
 * page keeps it in; the page itself parses it and says what it cannot
 * read.  The output is written to a temporary file beside it and renamed
 * over it only when everything went well: bad input changes nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli.h"
#include "show.h"

#define SHOW_MAX_LEAVES	(1ull << 24)
#define SHOW_MAX_DATA	8

void
usage_show(FILE *f)
{
	fprintf(f, "usage: htable show IMAGE --cr3 [NAME=]X... --mode M "
	    "[-o FILE]\n"
	    "       htable show IMAGE --roots FILE | --all-roots ... "
	    "[-o FILE]\n"
	    "       htable show [IMAGE] --data FILE... [-o FILE]\n"
	    "  Draw the address spaces that IMAGE's page tables describe\n"
	    "  (roots and mode as htable dump takes them) as one HTML page\n"
	    "  that needs nothing else: a map of the whole virtual address\n"
	    "  space that zooms down to single pages, coloured by rights;\n"
	    "  the tables per level, shared ones and self-maps; the walk of\n"
	    "  the address under the pointer (what htable translate\n"
	    "  prints); a list of the spaces to switch between, and any\n"
	    "  two of a mode side by side with what htable diff prints.\n"
	    "  -o, --output FILE   where the page goes (default: stdout)\n"
	    "  --format html|json  the page (default), or only its data: a\n"
	    "                      JSON array of picture objects (the\n"
	    "                      library's ht_scan_picture, htable.h)\n"
	    "  --data FILE         spaces from picture data that --format\n"
	    "                      json or a program's ht_as_picture wrote\n"
	    "                      (repeatable, up to %d): two snapshots\n"
	    "                      side by side, a program's own spaces\n"
	    "  --cr3, --roots, --mode, --pa-bits, --ept, --dump-cpu,\n"
	    "  --all-roots, --min-confidence, --max-leaves  as htable dump\n"
	    "Exit status: 0 success, 1 I/O failure, 2 bad usage or input\n"
	    "(nothing is written then).\n", SHOW_MAX_DATA);
}

/* The output: a stream, and the first failure of a write to it. */
typedef struct sink {
	FILE	*f;
	int	err;		/* errno of the first failed write */
} sink_t;

static int
sink_write(void *arg, const void *buf, size_t len)
{
	sink_t *s = arg;

	if (fwrite(buf, 1, len, s->f) != len) {
		if (s->err == 0)
			s->err = errno != 0 ? errno : EIO;
		return (-HT_EPROVIDER);
	}
	return (0);
}

/*
 * Copy the picture data of file path to s, without an array's brackets:
 * *first says whether an object has been written before (a comma goes
 * between).  0, or an exit status after a message.
 */
static int
data_copy(const char *path, sink_t *s, int *first)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n, b, e;
	int rc = EXIT_INPUT;

	if (f == NULL) {
		fprintf(stderr, "htable show: --data %s: %s\n", path,
		    strerror(errno));
		return (EXIT_IO);
	}
	do {
		if (cap - len < 65536) {
			char *nb = realloc(buf, cap = cap * 2 + (1u << 20));

			if (nb == NULL) {
				fprintf(stderr, "htable show: --data %s: out "
				    "of memory\n", path);
				rc = EXIT_IO;
				goto out;
			}
			buf = nb;
		}
		len += n = fread(buf + len, 1, cap - len, f);
	} while (n != 0);
	if (ferror(f)) {
		fprintf(stderr, "htable show: --data %s: %s\n", path,
		    strerror(errno));
		rc = EXIT_IO;
		goto out;
	}
	for (b = 0; b < len && strchr(" \t\r\n", buf[b]) != NULL; b++)
		;
	for (e = len; e > b && strchr(" \t\r\n", buf[e - 1]) != NULL; e--)
		;
	if (e - b >= 2 && buf[b] == '[' && buf[e - 1] == ']') {
		for (b++; b < e && strchr(" \t\r\n", buf[b]) != NULL; b++)
			;
		for (e--; e > b && strchr(" \t\r\n", buf[e - 1]) != NULL; e--)
			;
	}
	static const char magic[] = "{\"htable_picture\":";
	if (e - b < sizeof (magic) || memcmp(buf + b, magic,
	    sizeof (magic) - 1) != 0 || buf[e - 1] != '}') {
		fprintf(stderr, "htable show: --data %s: not picture data (a "
		    "JSON object {\"htable_picture\":..} or an array of "
		    "them, as show --format json writes)\n", path);
		goto out;
	}
	for (size_t i = b; i < e; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '<' || c == 0 || c > 0x7e) {
			fprintf(stderr, "htable show: --data %s: byte %zu is "
			    "0x%02x: picture data is ASCII with every '<' "
			    "escaped\n", path, i, c);
			goto out;
		}
	}
	if (!*first)
		(void) sink_write(s, ",\n", 2);
	(void) sink_write(s, buf + b, e - b);
	*first = 0;
	rc = 0;
out:
	free(buf);
	(void) fclose(f);
	return (rc);
}

/* The last part of path, for a space's name. */
static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return (s != NULL && s[1] != '\0' ? s + 1 : path);
}

/*
 * Write the picture of every root of o over the image at path.  0, or an
 * exit status after a message.
 */
static int
image_pictures(const char *path, image_opts_t *o, image_t *im, sink_t *s,
    int *first)
{
	for (int k = 0; k < o->nroots; k++) {
		char name[CLI_ROOT_NAME + 256], rn[CLI_ROOT_NAME];
		int rc;

		o->cfg.cr3 = o->roots[k].cr3;
		o->cfg.read_arg = im;
		if (image_opts_multi(o))
			(void) snprintf(name, sizeof (name), "%s %s",
			    base_name(path), cli_root_name(&o->roots[k], rn,
			    sizeof (rn)));
		else
			(void) snprintf(name, sizeof (name), "%s",
			    base_name(path));
		if (!*first)
			(void) sink_write(s, ",\n", 2);
		*first = 0;
		rc = ht_scan_picture(&o->cfg, name, sink_write, s);
		if (rc != 0 && s->err == 0) {
			fprintf(stderr, "htable show: %s: %s\n", path,
			    ht_errdetail());
			return (rc == -HT_ERANGE ? EXIT_INPUT : EXIT_IO);
		}
		if (s->err != 0)
			return (EXIT_IO);
	}
	return (0);
}

int
cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		IMAGE_LONG_OPTIONS,
		ROOTS_LONG_OPTIONS,
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "data", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	image_opts_t o = { .cfg.max_leaves = SHOW_MAX_LEAVES };
	const char *data[SHOW_MAX_DATA], *outpath = NULL, *img = NULL;
	char *tmp = NULL;
	int ndata = 0, json = 0, c, rc = EXIT_INPUT, opened = 0, first = 1;
	sink_t s = { .f = NULL };
	image_t im;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:m:p:o:f:n:h", opts, NULL)) !=
	    -1) {
		switch (image_opt(&o, c, optarg)) {
		case 1: continue;
		case -1: goto out;
		default: break;
		}
		switch (c) {
		case 'o':
			outpath = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "html") != 0 &&
			    strcmp(optarg, "json") != 0) {
				fprintf(stderr, "htable show: --format '%s': "
				    "not html or json\n", optarg);
				goto out;
			}
			json = strcmp(optarg, "json") == 0;
			break;
		case 'D':
			if (ndata == SHOW_MAX_DATA) {
				fprintf(stderr, "htable show: more than %d "
				    "--data files\n", SHOW_MAX_DATA);
				goto out;
			}
			data[ndata++] = optarg;
			break;
		case 'h':
			usage_show(stdout);
			rc = EXIT_OK;
			goto out;
		default:
			usage_show(stderr);
			goto out;
		}
	}
	if (optind < argc - 1 || (optind == argc && ndata == 0)) {
		usage_show(stderr);
		goto out;
	}
	if (optind == argc - 1)
		img = argv[optind];
	if (img == NULL && (o.have_cr3 || o.have_mode || o.want_all)) {
		fprintf(stderr, "htable show: the roots and the mode are an "
		    "IMAGE's: none is given\n");
		goto out;
	}
	if (img != NULL) {
		if ((rc = image_opts_open(&o, "show", img, &im)) != 0)
			goto out;
		opened = 1;
		rc = EXIT_INPUT;
		if (o.nroots == 0 && ndata == 0) {
			fprintf(stderr, "htable show: %s: no space to show\n",
			    img);
			goto out;
		}
	}

	/* the output: a temporary file renamed over outpath at the end */
	if (outpath == NULL || strcmp(outpath, "-") == 0) {
		s.f = stdout;
	} else {
		int fd;

		if ((tmp = malloc(strlen(outpath) + 16)) == NULL) {
			fprintf(stderr, "htable show: out of memory\n");
			rc = EXIT_IO;
			goto out;
		}
		(void) sprintf(tmp, "%s.tmp.XXXXXX", outpath);
		/* a page for anyone the umask lets read it, not 0600 */
		mode_t um = umask(0);

		(void) umask(um);
		if ((fd = mkstemp(tmp)) < 0 || fchmod(fd, 0666 & ~um) != 0 ||
		    (s.f = fdopen(fd, "w")) == NULL) {
			fprintf(stderr, "htable show: %s: %s\n", outpath,
			    strerror(errno));
			if (fd >= 0) {
				(void) close(fd);
				(void) unlink(tmp);
			}
			free(tmp);
			tmp = NULL;
			rc = EXIT_IO;
			goto out;
		}
	}
	if (!json)
		show_page_open(s.f);
	(void) sink_write(&s, "[\n", 2);
	rc = 0;
	if (img != NULL)
		rc = image_pictures(img, &o, &im, &s, &first);
	for (int i = 0; i < ndata && rc == 0; i++)
		rc = data_copy(data[i], &s, &first);
	if (rc == 0) {
		(void) sink_write(&s, "]\n", 2);
		if (!json)
			show_page_close(s.f);
		if (fflush(s.f) != 0 && s.err == 0)
			s.err = errno;
	}
	if (rc == 0 && (s.err != 0 || ferror(s.f))) {
		fprintf(stderr, "htable show: writing %s: %s\n",
		    tmp != NULL ? outpath : "the output",
		    strerror(s.err != 0 ? s.err : EIO));
		rc = EXIT_IO;
	}
	if (tmp != NULL) {
		if (fclose(s.f) != 0 && rc == 0) {
			fprintf(stderr, "htable show: writing %s: %s\n",
			    outpath, strerror(errno));
			rc = EXIT_IO;
		}
		if (rc == 0 && rename(tmp, outpath) != 0) {
			fprintf(stderr, "htable show: %s: %s\n", outpath,
			    strerror(errno));
			rc = EXIT_IO;
		}
		if (rc != 0)
			(void) unlink(tmp);
		free(tmp);
	}
out:
	if (opened)
		cli_image_close(img, &im);
	image_opts_free(&o);
	return (rc);
}
