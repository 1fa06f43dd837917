/*
 * cmd_dump.c - `htable dump IMAGE --cr3 X --mode M [--format F]
 * [--max-leaves N] [--pa-bits N]`: list the mappings that the page tables
 * in a raw physical image describe.  The image may come from anywhere (a
 * guest's memory saved by QEMU's pmemsave, a crash dump), so it is read
 * through ht_scan, which trusts nothing in it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "format.h"
#include "image.h"
#include "spec.h"

#define DEFAULT_MAX_LEAVES	(1ull << 24)

void
usage_dump(FILE *f)
{
	fprintf(f, "usage: htable dump IMAGE --cr3 X --mode M [--format F] "
	    "[--max-leaves N] [--pa-bits N]\n"
	    "  List the mappings the page tables in IMAGE (a raw physical\n"
	    "  image: offset = physical address) describe, from the root\n"
	    "  that CR3 value X names, in paging mode M (32bit, pae, 4level,\n"
	    "  5level).  Table frames beyond the image read as zeros, with a\n"
	    "  warning; shared and self-referencing tables are read as the\n"
	    "  MMU reads them.\n"
	    "  --format text      one line per coalesced range (default):\n"
	    "                     START-LAST PA SIZE PERM U/S GAD patN\n"
	    "  --format json      the same ranges as a JSON array\n"
	    "  --format qemu-tlb  what QEMU 7.2's `info tlb` prints\n"
	    "  --format qemu-mem  what QEMU's `info mem` prints\n"
	    "  --max-leaves N     stop with an error past N leaves "
	    "(default %llu)\n"
	    "  --pa-bits N        MAXPHYADDR for the reserved-bit checks\n"
	    "                     (default: the widest the mode has)\n"
	    "Exit status: 0 success, 1 I/O failure, 2 bad usage or input.\n",
	    (unsigned long long)DEFAULT_MAX_LEAVES);
}

/*
 * Report what the scan met that a reader should know of; the output is
 * still right for what the image holds.
 */
void
scan_warnings(const char *path, const ht_scan_stats_t *st)
{
	if (st->unbacked != 0)
		fprintf(stderr, "htable: warning: %s: %" PRIu64 " table "
		    "frame(s) lie beyond the image and read as zeros (the "
		    "first at pa 0x%" PRIx64 ")\n", path, st->unbacked,
		    st->first_unbacked);
	if (st->reserved != 0)
		fprintf(stderr, "htable: warning: %s: %" PRIu64 " present "
		    "entr%s with reserved bits set (the MMU faults on them; "
		    "they map nothing)\n", path, st->reserved,
		    st->reserved == 1 ? "y" : "ies");
}

int
cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cr3", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "pa-bits", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "max-leaves", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	image_opts_t o = { .cfg.max_leaves = DEFAULT_MAX_LEAVES };
	const fmt_t *fmt = fmt_lookup("text");
	fmt_state_t fs = { .out = stdout };
	ht_scan_stats_t st;
	image_t im;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:m:p:f:n:h", opts, NULL)) != -1) {
		switch (image_opt(&o, c, optarg)) {
		case 1: continue;
		case -1: return (EXIT_INPUT);
		default: break;
		}
		switch (c) {
		case 'f':
			if ((fmt = fmt_lookup(optarg)) == NULL) {
				fprintf(stderr, "htable dump: --format '%s': "
				    "not one of text, json, qemu-tlb, "
				    "qemu-mem\n", optarg);
				return (EXIT_INPUT);
			}
			break;
		case 'n':
			if (spec_number(optarg, &o.cfg.max_leaves) != 0 ||
			    o.cfg.max_leaves == 0) {
				fprintf(stderr, "htable dump: --max-leaves "
				    "'%s': not a positive number\n", optarg);
				return (EXIT_INPUT);
			}
			break;
		case 'h':
			usage_dump(stdout);
			return (EXIT_OK);
		default:
			usage_dump(stderr);
			return (EXIT_INPUT);
		}
	}
	if (optind != argc - 1) {
		usage_dump(stderr);
		return (EXIT_INPUT);
	}
	if (image_opts_done(&o, "dump") != 0)
		return (EXIT_INPUT);
	if (cli_image_open(argv[optind], &im) != 0)
		return (EXIT_IO);

	o.cfg.flags = fmt->scan_flags;
	o.cfg.read_arg = &im;
	fs.g = ht_geometry(o.cfg.mode);
	if (fmt->begin != NULL)
		fmt->begin(&fs);
	rc = ht_scan(&o.cfg, fmt->leaf, &fs, &st);
	if (rc == 0 && fmt->finish != NULL)
		fmt->finish(&fs);
	scan_warnings(im.path, &st);
	image_close(&im);
	if (rc != 0) {
		(void) fflush(stdout);
		fprintf(stderr, "htable dump: %s: %s\n", argv[optind],
		    ht_errdetail());
		return (rc == -HT_ERANGE ? EXIT_INPUT : EXIT_IO);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "htable dump: writing the output: %s\n",
		    strerror(errno));
		return (EXIT_IO);
	}
	return (EXIT_OK);
}
