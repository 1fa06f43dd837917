/*
 * cmd_verify.c - `htable verify IMAGE --cr3 X --mode M [--probes FILE]
 * [--engine kvm|qemu|auto] [--cpu FLAGS] [--verbose]`: run probes through
 * an image's tables on a real MMU and compare each outcome with the
 * library's prediction (verify.c does the work).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "image.h"
#include "verify.h"

void
usage_verify(FILE *f)
{
	fprintf(f, "usage: htable verify IMAGE --cr3 X --mode M [--probes FILE]"
	    "\n       [--engine kvm|qemu|auto] [--cpu FLAGS] [--verbose]\n"
	    "  Run probes through the page tables in IMAGE on a real MMU\n"
	    "  (KVM for 4-level paging, QEMU's TCG for every mode) and\n"
	    "  compare each outcome with the library's prediction:\n"
	    "  completion and the PA reached, or the fault and its error\n"
	    "  code, and the Accessed/Dirty bits the run sets.\n"
	    "  --probes FILE  'VA OP' per line, OP one of r w x ur uw ux\n"
	    "                 (u: at CPL 3); default: the first, middle and\n"
	    "                 last page of every mapped range and the pages\n"
	    "                 around it, with every access kind\n"
	    "  --engine E     kvm, qemu, or auto (default: kvm for 4level\n"
	    "                 when /dev/kvm works, else qemu)\n"
	    "  --cpu FLAGS    comma-separated: wp nxe smep smap ac pke\n"
	    "                 pkru=N pa-bits=N (default: wp,nxe); 'none'\n"
	    "                 for none\n"
	    "  --verbose      print every probe, not only disagreements\n"
	    "Prints each disagreement and 'probes=N agree=N disagree=N'.\n"
	    "Exit status: 0 all agree, 1 failure, 2 bad usage or input,\n"
	    "3 disagreement, 4 no engine could run (nothing verified).\n");
}

int
cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cr3", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "probes", required_argument, NULL, 'P' },
		{ "engine", required_argument, NULL, 'e' },
		{ "cpu", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	image_opts_t io = { 0 };
	verify_opts_t o;
	int c;

	memset(&o, 0, sizeof (o));
	o.cpu.flags = HT_CPU_WP | HT_CPU_NXE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:m:P:e:u:vh", opts, NULL)) !=
	    -1) {
		if (c == 'c' || c == 'm') {
			if (image_opt(&io, c, optarg) != 1)
				return (EXIT_INPUT);
			continue;
		}
		switch (c) {
		case 'P':
			o.probes = optarg;
			break;
		case 'e':
			if (strcmp(optarg, "kvm") == 0)
				o.engine = ENG_KVM;
			else if (strcmp(optarg, "qemu") == 0)
				o.engine = ENG_QEMU;
			else if (strcmp(optarg, "auto") == 0)
				o.engine = ENG_AUTO;
			else {
				fprintf(stderr, "htable verify: --engine '%s': "
				    "not one of kvm, qemu, auto\n", optarg);
				return (EXIT_INPUT);
			}
			break;
		case 'u':
			if (verify_parse_cpu(optarg, &o.cpu) != 0) {
				fprintf(stderr, "htable verify: --cpu '%s': "
				    "flags are wp nxe smep smap ac pke pkru=N "
				    "pa-bits=N none\n", optarg);
				return (EXIT_INPUT);
			}
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			usage_verify(stdout);
			return (EXIT_OK);
		default:
			usage_verify(stderr);
			return (EXIT_INPUT);
		}
	}
	if (optind != argc - 1) {
		usage_verify(stderr);
		return (EXIT_INPUT);
	}
	if (image_opts_done(&io, "verify") != 0)
		return (EXIT_INPUT);
	o.mode = io.cfg.mode;
	o.cr3 = io.cfg.cr3;
	return (verify_image(argv[optind], &o, stdout));
}
