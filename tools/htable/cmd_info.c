/*
 * cmd_info.c - `htable info IMAGE [--json]`: what an image is before
 * anything reads its tables: raw or a dump (and which format), how many
 * pages it holds in how many runs, and the CPUs whose state a dump
 * recorded, each with the mode and CR3 that dump and translate take
 * from it.  The first step of a forensic session (README).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "image.h"

void
usage_info(FILE *f)
{
	fprintf(f, "usage: htable info IMAGE [--json]\n"
	    "  Say what IMAGE is: a raw physical image, an ELF core (QEMU's\n"
	    "  dump-guest-memory, /proc/vmcore, kdump) or a kdump-compressed\n"
	    "  file (makedumpfile); the pages it holds; and each CPU whose\n"
	    "  state the dump recorded (QEMU's CPU notes, or the kernel's\n"
	    "  root from a Linux dump's VMCOREINFO): mode, CR3, CR0, CR4.\n"
	    "  dump, translate and verify take --cr3 and --mode from CPU 0,\n"
	    "  or from --dump-cpu N, when they are not given.\n"
	    "  --json  one JSON object\n");
}

/* One CPU line (text) or object (JSON). */
static void
print_cpu(const image_cpu_t *c, unsigned i, int json)
{
	/* only QEMU's notes hold CR0 and CR4: VMCOREINFO names a root */
	int regs = strcmp(c->source, "qemu-note") == 0;
	char mode[32];

	/* a mode the dump leaves open reads "pae|4level" */
	(void) snprintf(mode, sizeof (mode), "%s%s", !c->paging ? "" :
	    c->long_unknown ? "pae|" : "", c->paging ?
	    ht_mode_name(c->mode) : "none");

	if (json) {
		printf("%s{\"cpu\":%u,\"mode\":\"%s\",\"cr3\":\"0x%" PRIx64
		    "\"", i ? "," : "", i, mode, c->cr3);
		if (regs)
			printf(",\"cr0\":\"0x%" PRIx64 "\",\"cr4\":\"0x%"
			    PRIx64 "\"", c->cr0, c->cr4);
		printf(",\"source\":\"%s\"}", c->source);
		return;
	}
	printf("cpu %u mode=%s cr3=0x%" PRIx64, i, mode, c->cr3);
	if (regs)
		printf(" cr0=0x%" PRIx64 " cr4=0x%" PRIx64, c->cr0, c->cr4);
	printf(" source=%s\n", c->source);
}

int
cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t pages = 0;
	int json = 0, c, rc = EXIT_OK;
	image_t im;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			usage_info(stdout);
			return (EXIT_OK);
		default:
			usage_info(stderr);
			return (EXIT_INPUT);
		}
	}
	if (optind != argc - 1) {
		usage_info(stderr);
		return (EXIT_INPUT);
	}
	if (cli_image_open(argv[optind], &im) != 0)
		return (EXIT_IO);
	for (size_t i = 0; i < im.next; i++)
		pages += (im.ext[i].end - im.ext[i].start + 4095) / 4096;
	if (json) {
		printf("{\"image\":\"");
		for (const char *p = argv[optind]; *p != '\0'; p++)
			printf((*p == '"' || *p == '\\') ? "\\%c" :
			    ((unsigned char)*p < 0x20 ? "?" : "%c"), *p);
		printf("\",\"format\":\"%s\",\"description\":\"%s\","
		    "\"pages\":%" PRIu64 ",\"runs\":%zu,\"end\":\"0x%" PRIx64
		    "\",\"cpus\":[", im.format, im.desc, pages, im.next,
		    im.size);
		for (unsigned i = 0; i < im.ncpu; i++)
			print_cpu(&im.cpu[i], i, 1);
		printf("]}\n");
	} else {
		printf("image %s\n", argv[optind]);
		if (im.desc[0] != '\0')
			printf("format %s (%s)\n", im.desc, im.format);
		else
			printf("format %s\n", im.format);
		printf("pages %" PRIu64 " in %zu run%s, up to 0x%" PRIx64
		    "\n", pages, im.next, im.next == 1 ? "" : "s", im.size);
		printf("cpus %u\n", im.ncpu);
		for (unsigned i = 0; i < im.ncpu; i++)
			print_cpu(&im.cpu[i], i, 0);
	}
	cli_image_close(argv[optind], &im);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "htable info: writing the output failed\n");
		rc = EXIT_IO;
	}
	return (rc);
}
