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
 * --all-roots: the roots htable roots finds in im into o, in one mode:
 * --mode's, else the mode of the dump's CPU (--dump-cpu's or 0) when it
 * has paging on, else the best 4- or 5-level candidate's (a 5-level
 * root's tables read as 4-level roots too, and the best reading names
 * the mode; 32-bit and PAE are looked for only when named, as htable
 * roots does).  With minc (--min-confidence), those scoring at least
 * minc; without, when some share their kernel part with others (an
 * operating system's, in every process), only those: a table of a
 * lower level read as a root shares nothing, and its leaves would be
 * listed at addresses no CPU uses; else every candidate.  0 (no root
 * found is said, and is not an error), or an exit status after a
 * message.
 */
static int
all_roots(const char *path, image_opts_t *o, image_t *im, int have_minc,
    unsigned minc)
{
	ht_mode_t modes[2] = { HT_MODE_4LEVEL, HT_MODE_5LEVEL }, m;
	int nmodes = 2, rc = 0, shared = 0;
	roots_cand_t *c;
	size_t n;

	if (o->have_cr3) {
		fprintf(stderr, "htable dump: --all-roots finds the roots: "
		    "not with --cr3 or --roots\n");
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
		fprintf(stderr, "htable dump: --all-roots: roots are found "
		    "in 32bit, pae, 4level and 5level tables, not %s\n",
		    ht_mode_name(modes[0]));
		return (EXIT_INPUT);
	}
	if ((rc = roots_find(im, modes, nmodes, o->cfg.pa_bits, &c, &n)) !=
	    0) {
		fprintf(stderr, "htable dump: %s: %s\n", path,
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
		fprintf(stderr, "htable dump: %s: no %s roots found%s\n", path,
		    ht_mode_name(m), minc ? " at that confidence" : "");
	return (rc);
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
		{ "cr3", required_argument, NULL, 'c' },
		{ "roots", required_argument, NULL, 'R' },
		{ "mode", required_argument, NULL, 'm' },
		{ "pa-bits", required_argument, NULL, 'p' },
		{ "dump-cpu", required_argument, NULL, 'U' },
		{ "format", required_argument, NULL, 'f' },
		{ "max-leaves", required_argument, NULL, 'n' },
		{ "ept", required_argument, NULL, 'E' },
		{ "all-roots", no_argument, NULL, 'A' },
		{ "min-confidence", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	image_opts_t o = { .cfg.max_leaves = DEFAULT_MAX_LEAVES };
	const fmt_t *fmt = fmt_lookup("text");
	int tables = 0, c, rc = EXIT_INPUT, ioerr, all = 0, opened = 0;
	uint64_t minc = 0, have_minc = 0;
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
		case 'n':
			if (spec_number(optarg, &o.cfg.max_leaves) != 0 ||
			    o.cfg.max_leaves == 0) {
				fprintf(stderr, "htable dump: --max-leaves "
				    "'%s': not a positive number\n", optarg);
				goto out;
			}
			break;
		case 'A':
			all = 1;
			break;
		case 'C':
			if (spec_number(optarg, &minc) != 0 || minc > 100) {
				fprintf(stderr, "htable dump: --min-confidence "
				    "'%s': a number from 0 to 100\n", optarg);
				goto out;
			}
			have_minc = 1;
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
	if (have_minc && !all) {
		fprintf(stderr, "htable dump: --min-confidence goes with "
		    "--all-roots\n");
		goto out;
	}
	if (all) {
		if (cli_image_open(argv[optind], &im) != 0) {
			rc = EXIT_IO;
			goto out;
		}
		opened = 1;
		if ((rc = all_roots(argv[optind], &o, &im, (int)have_minc,
		    (unsigned)minc)) != 0 || o.nroots == 0)
			goto done;
		rc = EXIT_INPUT;
	}
	if (image_opts_done(&o, "dump", argv[optind], &ioerr) != 0) {
		if (ioerr)
			rc = EXIT_IO;
		goto done;
	}
	if (!tables && (fmt->scan_flags & HT_SCAN_QEMU) &&
	    spec_mode_ept(o.cfg.mode)) {
		fprintf(stderr, "htable dump: --format %s: QEMU's monitor "
		    "reads a CPU's own x86 tables; it shows nothing of EPT "
		    "tables (%s)\n", fmt->name, ht_mode_name(o.cfg.mode));
		goto done;
	}
	if (!opened && cli_image_open(argv[optind], &im) != 0) {
		rc = EXIT_IO;
		goto out;
	}
	opened = 1;
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
