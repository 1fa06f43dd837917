/*
 * main.c - the htable command: build page tables from a layout file, and
 * read the page tables of any raw physical image.
 * One subcommand per file (cmd_*.c); this file only dispatches.
 */
#include <stdio.h>
#include <string.h>

#include "htable.h"
#include "cli.h"

static const struct cmd {
	const char	*name;
	int		(*fn)(int, char **);
	void		(*usage)(FILE *);
	const char	*what;
} cmds[] = {
	{ "build", cmd_build, usage_build,
	    "build the page tables a layout file describes into an image" },
	{ "dump", cmd_dump, usage_dump,
	    "list the mappings the page tables in an image describe" },
	{ "translate", cmd_translate, usage_translate,
	    "walk an image's page tables for virtual addresses" },
	{ "verify", cmd_verify, usage_verify,
	    "run an image's page tables on a real MMU against the library" },
	{ "roots", cmd_roots, usage_roots,
	    "find the page-table roots in an image from the tables alone" },
	{ "info", cmd_info, usage_info,
	    "say what an image or dump file is, and its CPUs' roots" },
	{ "show", cmd_show, usage_show,
	    "draw address spaces as a self-contained HTML page" },
	{ "diff", cmd_diff, usage_diff,
	    "say what changed between two address spaces" },
};

void
usage_build(FILE *f)
{
	fprintf(f, "usage: htable build SPEC -o IMAGE [--json]\n"
	    "       [--verify [--engine kvm|qemu|bochs|auto] [--cpu FLAGS]]\n"
	    "  Build the page tables SPEC describes; write them to IMAGE as a\n"
	    "  raw physical image (offset = physical address, sparse), and\n"
	    "  print a summary whose last line is 'mode=MODE cr3=0xHEX'; for\n"
	    "  a SPEC with spaces or CPU roots, a line 'root NAME cr3=0xHEX'\n"
	    "  per root (what dump --roots reads), then 'mode=MODE roots=N'.\n"
	    "  In EPT each cr3= is the EPTP, and the last line ends with\n"
	    "  ' ept=FLAGS' (the `ept` statement's; --roots reads them).\n"
	    "  A SPEC with a guest section ends with the guest's lines, the\n"
	    "  last 'guest mode=MODE cr3=0xHEX' (guest-physical; what\n"
	    "  translate --nested --roots reads).\n"
	    "  -o, --output IMAGE  the image to write\n"
	    "  --json              print the summary as one JSON object\n"
	    "  --verify            then run the tables on a real MMU and\n"
	    "                      compare with the library (htable verify),\n"
	    "                      every root, each also against the spaces\n"
	    "                      the SPEC says it shows\n"
	    "  --engine, --cpu     for --verify, as htable verify takes them\n"
	    "Exit status: 0 success, 1 I/O failure, 2 bad usage or input\n"
	    "(reported as FILE:LINE: message; no image is written); with\n"
	    "--verify, 3 disagreement, 4 no engine could run.\n");
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: htable COMMAND [ARGS...]\n"
	    "       htable --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof (cmds) / sizeof (cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].what);
	fprintf(f, "\n'htable COMMAND --help' describes a command.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return (EXIT_INPUT);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return (EXIT_OK);
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("htable %s\n", HT_VERSION_STRING);
		return (EXIT_OK);
	}
	for (size_t i = 0; i < sizeof (cmds) / sizeof (cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return (cmds[i].fn(argc - 1, argv + 1));
	fprintf(stderr, "htable: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return (EXIT_INPUT);
}
