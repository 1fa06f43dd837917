/*
 * cmd_translate.c - `htable translate IMAGE --cr3 X --mode M VA...`: walk
 * the tables of a raw image or a dump file for each VA as the MMU would and
 * print the result with every entry read, or where and why the walk
 * stopped; under each of several roots (--cr3 repeated, --roots) after
 * that root's header line.  An unmapped VA is an answer, not an error:
 * the exit status is 0 unless the arguments or the image are bad.  In
 * EPT (ept4, ept5) the "CR3" is the EPTP, each VA a guest-physical
 * address, and a mapping shows EPT's rights, memory type and attributes.
 *
 * --nested: each VA is a guest's linear address, through the guest's
 * tables (--guest-mode, --guest-cr3, or the "guest" line of --roots) and
 * each guest-physical address through the host's (the root above, in
 * npt4, npt5, ept4 or ept5): one access (--access, --cpl, --cpu), every
 * stage of it (cmd_nested.c).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "format.h"
#include "image.h"
#include "spec.h"

void
usage_translate(FILE *f)
{
	fprintf(f, "usage: htable translate IMAGE --cr3 [NAME=]X... --mode M "
	    "[--pa-bits N]\n"
	    "       [--ept FLAGS] VA...\n"
	    "       htable translate IMAGE --roots FILE [--pa-bits N] VA...\n"
	    "  Translate each VA through the page tables in IMAGE (a raw\n"
	    "  physical image, or a dump file: see htable dump --help)\n"
	    "  from the root that CR3 value X names, in paging mode M\n"
	    "  (32bit, pae, 4level, 5level, npt4, npt5, ept4,\n"
	    "  ept5; in EPT, X is the EPTP and each VA a guest-physical\n"
	    "  address).  Prints the PA, page size, effective permissions\n"
	    "  (EPT: rights, memory type and attributes) and the entry read\n"
	    "  at every level, or the level where the walk stopped and why.\n"
	    "  --cr3 [NAME=]X  a root; repeat it for several (each after a\n"
	    "                  line 'root NAME cr3=0xX')\n"
	    "  --roots FILE    every root (and the mode and EPT flags) that\n"
	    "                  htable build printed into FILE\n"
	    "  --ept FLAGS     EPT: ad,mbec,xonly or none (ad sets bit 6 of\n"
	    "                  the EPTP; default: what --roots says)\n"
	    "  --dump-cpu N    a dump's CPU whose CR3 and mode stand for\n"
	    "                  --cr3 and --mode when left out (default 0)\n"
	    "  --pa-bits N     MAXPHYADDR for the reserved-bit checks\n"
	    "       htable translate IMAGE --nested --roots FILE [OPTIONS] VA...\n"
	    "       htable translate IMAGE --nested --cr3 X --mode M [--ept F]\n"
	    "           --guest-mode GM --guest-cr3 GX [OPTIONS] VA...\n"
	    "  Each VA is a guest's linear address: one access through the\n"
	    "  guest's tables (mode GM: 32bit, pae, 4level, 5level; root at\n"
	    "  guest-physical GX) and every guest-physical address through\n"
	    "  the hypervisor's (X in M: npt4, npt5, ept4, ept5).  Prints\n"
	    "  each guest entry (guest- and host-physical), each host walk,\n"
	    "  the fault (guest #PF or #GP, EPT violation, misconfiguration,\n"
	    "  NPF) and its stage, or the host-physical address, and the\n"
	    "  A/D bits both stages set.\n"
	    "  --roots FILE    also the guest's mode and CR3 ('guest mode=')\n"
	    "  --access r|w|x  read (default), write or fetch\n"
	    "  --cpl 0|3       the guest's privilege level (default 3)\n"
	    "  --cpu FLAGS     the guest's CPU: wp,nxe,smep,smap,ac,pke,\n"
	    "                  pkru=N,no1g,pa-bits=N or none (default wp,nxe)\n"
	    "  --format F      text (default) or json\n"
	    "Exit status: 0 success (mapped or not), 1 I/O failure,\n"
	    "2 bad usage or input.\n");
}

/* The SDM's name of an entry at level l in a mode with n levels. */
static const char *
entry_name(unsigned n, unsigned l)
{
	static const char *const names[] = { "PTE", "PDE", "PDPTE", "PML4E",
	    "PML5E" };

	if (n == 2 && l == 1)
		return ("PDE");
	return (l < 5 ? names[l] : "?");
}

/*
 * One VA's answer under the root cfg->cr3: the mapping (in EPT its
 * rights, memory type and attributes, fmt_ept_text) or why there is
 * none, then every entry read.
 */
static void
print_xlate(const ht_scan_cfg_t *cfg, const ht_scan_xlate_t *x)
{
	const ht_geometry_t *g = ht_geometry(cfg->mode);
	int w = g->pte_size == 4 ? 8 : 16, ept = spec_mode_ept(cfg->mode);
	char t[64];

	printf("va 0x%" PRIx64 ": ", x->va);
	switch (x->stop) {
	case HT_STOP_MAPPED:
		if (ept) {
			printf("pa 0x%" PRIx64 ", %s page, %s", x->pa,
			    fmt_pagesize(x->page_size), fmt_ept_text(
			    ((cfg->cr3 & 0x40) ? HT_EPT_AD : 0) |
			    ((cfg->flags & HT_SCAN_EPT_MBEC) ? HT_EPT_MBEC :
			    0), x->eff, x->attr, ", ", t, sizeof (t)));
			if (fmt_sw(x->attr) != 0)
				printf(" sw=0x%x", fmt_sw(x->attr));
			putchar('\n');
			break;
		}
		printf("pa 0x%" PRIx64 ", %s page, r%c%c %c, %c%c%c pat%u",
		    x->pa, fmt_pagesize(x->page_size),
		    (x->eff & HT_W) ? 'w' : '-', (x->eff & HT_X) ? 'x' : '-',
		    (x->eff & HT_U) ? 'u' : 's',
		    (x->attr & HT_G) ? 'G' : '-', (x->attr & HT_A) ? 'A' : '-',
		    (x->attr & HT_D) ? 'D' : '-',
		    ((x->attr & HT_PAT) ? 4 : 0) | ((x->attr & HT_PCD) ? 2 :
		    0) | ((x->attr & HT_PWT) ? 1 : 0));
		if (fmt_sw(x->attr) != 0)
			printf(" sw=0x%x", fmt_sw(x->attr));
		putchar('\n');
		break;
	case HT_STOP_NONCANON:
		if (g->va_bits == 32)
			printf("beyond 4 GiB: %s paging has 32-bit linear "
			    "addresses\n", ht_mode_name(cfg->mode));
		else if (g->hole_start == 0)
			printf("beyond the %u-bit guest-physical space of %s "
			    "paging\n", g->va_bits, ht_mode_name(cfg->mode));
		else
			printf("not canonical for %s paging (the CPU raises "
			    "#GP)\n", ht_mode_name(cfg->mode));
		return;
	case HT_STOP_NOTPRESENT:
	case HT_STOP_RESERVED:
		printf("not mapped: the %s (level %u) %s\n",
		    entry_name(g->levels, x->step[x->nsteps - 1].level),
		    x->step[x->nsteps - 1].level,
		    x->stop == HT_STOP_NOTPRESENT ? (ept ? "is not present "
		    "(an EPT violation)" : "is not present") : ept ?
		    "is misconfigured: reserved bits or rights it may not "
		    "have (an EPT misconfiguration)" :
		    "has reserved bits set (a reserved-bit page fault)");
		break;
	}
	for (unsigned i = 0; i < x->nsteps; i++) {
		const ht_scan_step_t *s = &x->step[i];

		printf("  L%u %-5s [%4u] at 0x%0*" PRIx64 ": 0x%0*" PRIx64
		    "%s\n", s->level, entry_name(g->levels, s->level),
		    s->index, w, s->addr, w, s->pte,
		    s->unbacked ? " (not in the image: read as zero)" : "");
	}
}

/* The long name of option c in opts. */
static const char *
opts_name(const struct option *opts, int c)
{
	for (; opts->name != NULL; opts++)
		if (opts->val == c)
			return (opts->name);
	return ("?");
}

/*
 * Take option c of --nested into *n: --guest-mode ('G'), --guest-cr3
 * ('g'), --access ('a'), --cpl ('l'), --cpu ('u'), --format ('f').  1
 * taken, 0 not one of them, -1 bad value (a message has been printed).
 */
static int
nested_opt(nested_opts_t *n, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case 'G':
		if (ht_mode_parse(arg, &n->mode) != 0 ||
		    spec_mode_nested(n->mode)) {
			fprintf(stderr, "htable translate: --guest-mode '%s': "
			    "not one of 32bit, pae, 4level, 5level\n", arg);
			return (-1);
		}
		n->have_mode = 1;
		return (1);
	case 'g':
		if (spec_number(arg, &v) != 0) {
			fprintf(stderr, "htable translate: --guest-cr3 '%s': "
			    "not a number\n", arg);
			return (-1);
		}
		n->cr3 = v;
		n->have_cr3 = 1;
		return (1);
	case 'a':
		if (strcmp(arg, "r") == 0 || strcmp(arg, "read") == 0)
			n->acc = HT_ACC_READ;
		else if (strcmp(arg, "w") == 0 || strcmp(arg, "write") == 0)
			n->acc = HT_ACC_WRITE;
		else if (strcmp(arg, "x") == 0 || strcmp(arg, "fetch") == 0)
			n->acc = HT_ACC_FETCH;
		else {
			fprintf(stderr, "htable translate: --access '%s': not "
			    "r, w or x (read, write, fetch)\n", arg);
			return (-1);
		}
		return (1);
	case 'l':
		if (strcmp(arg, "0") != 0 && strcmp(arg, "3") != 0) {
			fprintf(stderr, "htable translate: --cpl '%s': not 0 "
			    "or 3\n", arg);
			return (-1);
		}
		n->cpl = (unsigned)(arg[0] - '0');
		return (1);
	case 'u':
		if (cli_parse_cpu(arg, &n->cpu) != 0) {
			fprintf(stderr, "htable translate: --cpu '%s': flags "
			    "are wp nxe smep smap ac pke pkru=N no1g pa-bits=N "
			    "none\n", arg);
			return (-1);
		}
		return (1);
	case 'f':
		if (strcmp(arg, "text") != 0 && strcmp(arg, "json") != 0) {
			fprintf(stderr, "htable translate: --format '%s': not "
			    "text or json\n", arg);
			return (-1);
		}
		n->json = strcmp(arg, "json") == 0;
		return (1);
	default:
		return (0);
	}
}

/* Translate argv[first..argc) under the root in o->cfg; an exit status. */
static int
translate_root(image_opts_t *o, image_t *im, int argc, char **argv,
    int first)
{
	for (int i = first; i < argc; i++) {
		ht_scan_xlate_t x;
		uint64_t va = 0;

		(void) spec_number(argv[i], &va);
		if (ht_scan_translate(&o->cfg, va, &x) != 0) {
			fprintf(stderr, "htable translate: %s: %s\n",
			    argv[first - 1], ht_errdetail());
			return (EXIT_IO);
		}
		print_xlate(&o->cfg, &x);
		for (unsigned k = 0; k < x.nsteps; k++)
			if (x.step[k].unbacked)
				fprintf(stderr, "htable: warning: %s: the "
				    "table at pa 0x%" PRIx64 " is not in "
				    "the image and reads as zeros\n",
				    im->path, x.step[k].addr -
				    (ht_pa_t)x.step[k].index *
				    ht_geometry(o->cfg.mode)->pte_size);
	}
	return (EXIT_OK);
}

int
cmd_translate(int argc, char **argv)
{
	static const struct option opts[] = {
		IMAGE_LONG_OPTIONS,
		{ "nested", no_argument, NULL, 'N' },
		{ "guest-mode", required_argument, NULL, 'G' },
		{ "guest-cr3", required_argument, NULL, 'g' },
		{ "access", required_argument, NULL, 'a' },
		{ "cpl", required_argument, NULL, 'l' },
		{ "cpu", required_argument, NULL, 'u' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	image_opts_t o = { 0 };
	nested_opts_t n = { .acc = HT_ACC_READ, .cpl = 3,
	    .cpu = { HT_CPU_WP | HT_CPU_NXE, 0, 0 } };
	const char *nopt = NULL;	/* a --nested option given */
	image_t im;
	int c, nested = 0, rc = EXIT_INPUT, ioerr;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:m:p:h", opts, NULL)) != -1) {
		switch (image_opt(&o, c, optarg)) {
		case 1: continue;
		case -1: goto out;
		default: break;
		}
		if (c == 'N') {
			nested = 1;
			continue;
		}
		if (c != 'h' && c != '?') {
			switch (nested_opt(&n, c, optarg)) {
			case 1:
				nopt = opts_name(opts, c);
				continue;
			case -1: goto out;
			default: break;
			}
		}
		if (c == 'h') {
			usage_translate(stdout);
			rc = EXIT_OK;
			goto out;
		}
		usage_translate(stderr);
		goto out;
	}
	if (argc - optind < 2) {
		usage_translate(stderr);
		goto out;
	}
	if (nopt != NULL && !nested) {
		fprintf(stderr, "htable translate: --%s goes with --nested\n",
		    nopt);
		goto out;
	}
	if (image_opts_done(&o, "translate", argv[optind], &ioerr) != 0) {
		if (ioerr)
			rc = EXIT_IO;
		goto out;
	}
	/* Every VA is checked before anything is printed. */
	for (int i = optind + 1; i < argc; i++) {
		uint64_t va;

		if (spec_number(argv[i], &va) != 0) {
			fprintf(stderr, "htable translate: VA '%s': not a "
			    "number\n", argv[i]);
			goto out;
		}
	}
	if (nested) {
		rc = translate_nested(&o, &n, argv[optind], argv + optind + 1,
		    argc - optind - 1);
		goto out;
	}
	if (cli_image_open(argv[optind], &im) != 0) {
		rc = EXIT_IO;
		goto out;
	}
	o.cfg.read_arg = &im;
	rc = EXIT_OK;
	for (int k = 0; k < o.nroots && rc == EXIT_OK; k++) {
		o.cfg.cr3 = o.roots[k].cr3;
		if (image_opts_multi(&o))
			cli_root_header(stdout, &o.roots[k]);
		rc = translate_root(&o, &im, argc, argv, optind + 1);
	}
	cli_image_close(argv[optind], &im);
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = EXIT_IO;
out:
	image_opts_free(&o);
	return (rc);
}
