/*
 * cmd_dump.c - `htable dump IMAGE --cr3 X|--roots FILE|--all-roots
 * --mode M [--format F] [--max-leaves N] [--pa-bits N] [--ept FLAGS]`:
 * list the mappings that the page tables in a raw image or a dump file
 * describe, under one root or under each of several (--cr3 repeated,
 * every root that `htable build` printed, or every root that `htable
 * roots` finds: --all-roots), or the tables themselves with those that
 * several roots share (--format tables, tables.c).  The image may come
 * from anywhere (a guest's memory saved by QEMU's pmemsave, a crash
 * dump), so it is read through ht_scan, which trusts nothing in it.  EPT
 * tables (ept4, ept5) are read from an EPTP with the flags --ept or
 * --roots gives (image_opts.c), and their leaves print in their own
 * fields (format.c); QEMU's formats have no EPT reading and are refused
 * there.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format.h"
#include "image.h"
#include "roots.h"
#include "spec.h"

#define DEFAULT_MAX_LEAVES	(1ull << 24)

void
usage_dump(FILE *f)
{
	fprintf(f, "usage: htable dump IMAGE --cr3 [NAME=]X... --mode M "
	    "[--format F]\n"
	    "       [--max-leaves N] [--pa-bits N] [--ept FLAGS]\n"
	    "       htable dump IMAGE --roots FILE [--format F] ...\n"
	    "       htable dump IMAGE [--all-roots [--min-confidence N]] "
	    "...\n"
	    "  List the mappings the page tables in IMAGE (a raw physical\n"
	    "  image: offset = physical address; or a dump file: an ELF\n"
	    "  core or a kdump-compressed file) describe, from the root\n"
	    "  that CR3 value X names, in paging mode M (32bit, pae, 4level,\n"
	    "  5level, npt4, npt5, ept4, ept5; in EPT, X is the EPTP).\n"
	    "  A dump that recorded CPU state gives X and M when they are\n"
	    "  left out (see htable info).\n"
	    "  Table frames beyond the image read as zeros, with a warning;\n"
	    "  shared and self-referencing tables are read as the MMU reads\n"
	    "  them.\n"
	    "  --cr3 [NAME=]X     a root; repeat it for several: each one's\n"
	    "                     list follows a line 'root NAME cr3=0xX'\n"
	    "  --roots FILE       every root (and the mode and EPT flags)\n"
	    "                     that htable build printed into FILE\n"
	    "  --all-roots        every root htable roots finds, in one\n"
	    "                     mode: --mode's, the dump's CPU's, or the\n"
	    "                     best 4level or 5level candidate's; each\n"
	    "                     after its line 'root cr3=0xX'; when some\n"
	    "                     share their kernel part, only those\n"
	    "  --min-confidence N with --all-roots: instead, every root\n"
	    "                     scoring at least N (0..100, as htable\n"
	    "                     roots scores)\n"
	    "  --dump-cpu N       the dump's CPU whose CR3 and mode are\n"
	    "                     taken (default 0)\n"
	    "  --ept FLAGS        EPT: ad,mbec,xonly or none (ad sets bit 6\n"
	    "                     of the EPTP; default: what --roots says)\n"
	    "  --format text      one line per coalesced range (default):\n"
	    "                     START-LAST PA SIZE PERM U/S GAD patN\n"
	    "                     (EPT: START-LAST PA SIZE PERM MT [AD]\n"
	    "                     [ipat] [sve] [vgp] [pw])\n"
	    "  --format json      the same ranges as a JSON array\n"
	    "  --format qemu-tlb  what QEMU 7.2's `info tlb` prints (not\n"
	    "                     EPT)\n"
	    "  --format qemu-mem  what QEMU's `info mem` prints (not EPT)\n"
	    "  --format tables    the table frames, one line each, indented\n"
	    "                     by level: LEVEL PA FIRST-LAST ENTRIES, and\n"
	    "                     the other roots that reach the same table\n"
	    "                     ('also: NAME[@VA] ...')\n"
	    "  --max-leaves N     stop with an error past N leaves (tables\n"
	    "                     per root for --format tables; default "
	    "%llu)\n"
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
scan_warnings(const char *path, ht_mode_t mode, const ht_scan_stats_t *st)
{
	if (st->unbacked != 0)
		fprintf(stderr, "htable: warning: %s: %" PRIu64 " table "
		    "frame(s) lie beyond the image (or where a dump holds "
		    "no page) and read as zeros (the first at pa 0x%" PRIx64
		    ")\n", path, st->unbacked,
		    st->first_unbacked);
	if (st->reserved != 0 && spec_mode_ept(mode))
		fprintf(stderr, "htable: warning: %s: %" PRIu64 " present "
		    "entr%s with an EPT misconfiguration (reserved bits, or "
		    "rights the CPU does not allow: see --ept; they map "
		    "nothing)\n", path, st->reserved, st->reserved == 1 ? "y" :
		    "ies");
	else if (st->reserved != 0)
		fprintf(stderr, "htable: warning: %s: %" PRIu64 " present "
		    "entr%s with reserved bits set (the MMU faults on them; "
		    "they map nothing)\n", path, st->reserved,
		    st->reserved == 1 ? "y" : "ies");
}


/*
 * List the mappings under each root of o in format fmt on stdout.  0,
 * or an exit status after a message.
 */
static int
dump_roots(const char *path, image_opts_t *o, const fmt_t *fmt,
    image_t *im)
{
	int multi = image_opts_multi(o), json = strcmp(fmt->name, "json") == 0;
	int rc = 0;

	o->cfg.flags |= fmt->scan_flags;
	o->cfg.read_arg = im;
	if (multi && json)
		fputs("[\n", stdout);
	for (int k = 0; k < o->nroots && rc == 0; k++) {
		fmt_state_t fs = { .out = stdout };
		ht_scan_stats_t st;
		char name[CLI_ROOT_NAME];

		o->cfg.cr3 = o->roots[k].cr3;
		fs.g = ht_geometry(o->cfg.mode);
		fs.ept_mode = spec_mode_ept(o->cfg.mode);
		fs.ept = ((o->cfg.cr3 & 0x40) ? HT_EPT_AD : 0) |
		    ((o->cfg.flags & HT_SCAN_EPT_MBEC) ? HT_EPT_MBEC : 0) |
		    ((o->cfg.flags & HT_SCAN_EPT_XONLY) ? HT_EPT_XONLY : 0);
		if (multi && json)
			printf("{\"root\":\"%s\",\"cr3\":\"0x%" PRIx64
			    "\",\"ranges\":", cli_root_name(&o->roots[k],
			    name, sizeof (name)), o->roots[k].cr3);
		else if (multi)
			cli_root_header(stdout, &o->roots[k]);
		if (fmt->begin != NULL)
			fmt->begin(&fs);
		rc = ht_scan(&o->cfg, fmt->leaf, &fs, &st);
		if (rc == 0 && fmt->finish != NULL)
			fmt->finish(&fs);
		if (rc == 0 && multi && json)
			printf("}%s\n", k + 1 < o->nroots ? "," : "");
		scan_warnings(im->path, o->cfg.mode, &st);
	}
	if (rc == 0 && multi && json)
		fputs("]\n", stdout);
	if (rc != 0) {
		(void) fflush(stdout);
		fprintf(stderr, "htable dump: %s: %s\n", path,
		    ht_errdetail());
		return (rc == -HT_ERANGE ? EXIT_INPUT : EXIT_IO);
	}
	return (0);
}

int
cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		IMAGE_LONG_OPTIONS,
		ROOTS_LONG_OPTIONS,
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	image_opts_t o = { .cfg.max_leaves = DEFAULT_MAX_LEAVES };
	const fmt_t *fmt = fmt_lookup("text");
	int tables = 0, c, rc = EXIT_INPUT, opened = 0;
	image_t im;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:m:p:f:n:h", opts, NULL)) != -1) {
		switch (image_opt(&o, c, optarg)) {
		case 1: continue;
		case -1: goto out;
		default: break;
		}
		switch (c) {
		case 'f':
			tables = strcmp(optarg, "tables") == 0;
			if (!tables && (fmt = fmt_lookup(optarg)) == NULL) {
				fprintf(stderr, "htable dump: --format '%s': "
				    "not one of text, json, qemu-tlb, "
				    "qemu-mem, tables\n", optarg);
				goto out;
			}
			break;
		case 'h':
			usage_dump(stdout);
			rc = EXIT_OK;
			goto out;
		default:
			usage_dump(stderr);
			goto out;
		}
	}
	if (optind != argc - 1) {
		usage_dump(stderr);
		goto out;
	}
	if ((rc = image_opts_open(&o, "dump", argv[optind], &im)) != 0)
		goto out;
	opened = 1;
	if (o.nroots == 0)
		goto done;
	if (!tables && (fmt->scan_flags & HT_SCAN_QEMU) &&
	    spec_mode_ept(o.cfg.mode)) {
		fprintf(stderr, "htable dump: --format %s: QEMU's monitor "
		    "reads a CPU's own x86 tables; it shows nothing of EPT "
		    "tables (%s)\n", fmt->name, ht_mode_name(o.cfg.mode));
		rc = EXIT_INPUT;
		goto done;
	}
	o.cfg.read_arg = &im;
	rc = tables ? dump_tables(argv[optind], &o, stdout) :
	    dump_roots(argv[optind], &o, fmt, &im);
done:
	if (opened)
		cli_image_close(argv[optind], &im);
	if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
		fprintf(stderr, "htable dump: writing the output: %s\n",
		    strerror(errno));
		rc = EXIT_IO;
	}
out:
	image_opts_free(&o);
	return (rc);
}
