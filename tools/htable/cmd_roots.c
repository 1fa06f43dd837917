/*
 * cmd_roots.c - `htable roots IMAGE [--mode M[,M...]] [--pa-bits N]
 * [--min-confidence N] [--json]`: the frames of a raw physical image
 * that read as page-table roots (tools/image/roots.c) in 32-bit, PAE,
 * 4- or 5-level paging, best first, each with what it maps; for an
 * image whose operating system and CR3 nobody told us.  Each line is
 * also a `--cr3` that `dump` and `translate` take.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "image.h"
#include "roots.h"
#include "spec.h"

void
usage_roots(FILE *f)
{
	fprintf(f, "usage: htable roots IMAGE [--mode M[,M...]]\n"
	    "       [--pa-bits N] [--min-confidence N] [--json]\n"
	    "  List the frames of IMAGE (a raw image or a dump file) that\n"
	    "  read as page-table roots, from the tables alone: every\n"
	    "  present entry free of reserved bits, every link to a frame\n"
	    "  that is itself a plausible table, down to the leaves.  Best\n"
	    "  first, one line each: mode, cr3 (PAE: a PDPT's, 32-byte\n"
	    "  aligned), present root entries, leaves, bytes mapped in the\n"
	    "  user and kernel part (4level, 5level: lower and upper half;\n"
	    "  32bit: entries 0-767 and 768-1023; pae: PDPTEs 0-2 and 3),\n"
	    "  how many other roots (not copies of it) share its kernel\n"
	    "  part, a self-map entry, and a confidence 0-100 (shared\n"
	    "  kernel part 40, self-map 20, both parts 10, up to 30 for the\n"
	    "  leaves).\n"
	    "  --mode M[,M...]     32bit, pae, 4level, 5level (default:\n"
	    "                      4level,5level; a 64-bit system's tables\n"
	    "                      read as 32-bit ones by the thousand)\n"
	    "  --pa-bits N         MAXPHYADDR, 32..52 (default 52; 32bit\n"
	    "                      paging reads at most 40)\n"
	    "  --min-confidence N  only roots scoring at least N\n"
	    "  --json              a JSON array\n");
}

/* --mode's list into modes; the count, or -1 (a message).  */
static int
parse_modes(const char *s, ht_mode_t *modes)
{
	char buf[64], *save = NULL;
	int n = 0;

	if (snprintf(buf, sizeof (buf), "%s", s) >= (int)sizeof (buf))
		goto bad;
	for (char *t = strtok_r(buf, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		ht_mode_t m;

		if (n == 4 || ht_mode_parse(t, &m) != 0 ||
		    (m != HT_MODE_32BIT && m != HT_MODE_PAE &&
		    m != HT_MODE_4LEVEL && m != HT_MODE_5LEVEL))
			goto bad;
		for (int i = 0; i < n; i++)
			if (modes[i] == m)
				goto bad;
		modes[n++] = m;
	}
	if (n > 0)
		return (n);
bad:
	fprintf(stderr, "htable roots: --mode '%s': a list of 32bit, pae, "
	    "4level and 5level, each once\n", s);
	return (-1);
}

static void
print_one(const roots_cand_t *c, int json, int first)
{
	if (json) {
		printf("%s{\"mode\":\"%s\",\"cr3\":\"0x%" PRIx64 "\","
		    "\"present\":%u,\"leaves\":%" PRIu64 ",\"user_bytes\":"
		    "\"0x%" PRIx64 "\",\"kernel_bytes\":\"0x%" PRIx64 "\","
		    "\"shared\":%u,\"selfmap\":%d,\"confidence\":%u}",
		    first ? "" : ",\n", ht_mode_name(c->mode), c->cr3,
		    c->present, c->leaves, c->user_bytes, c->kernel_bytes,
		    c->shared, c->selfmap, c->confidence);
		return;
	}
	printf("mode=%s cr3=0x%" PRIx64 " present=%u leaves=%" PRIu64
	    " user=0x%" PRIx64 " kernel=0x%" PRIx64 " shared=%u",
	    ht_mode_name(c->mode), c->cr3, c->present, c->leaves,
	    c->user_bytes, c->kernel_bytes, c->shared);
	if (c->selfmap >= 0)
		printf(" selfmap=%d", c->selfmap);
	printf(" confidence=%u\n", c->confidence);
}

int
cmd_roots(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "pa-bits", required_argument, NULL, 'p' },
		{ "min-confidence", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	ht_mode_t modes[4] = { HT_MODE_4LEVEL, HT_MODE_5LEVEL };
	int nmodes = 2, json = 0, c, err, first = 1;
	uint64_t pa_bits = 0, minc = 0;
	roots_cand_t *cand;
	size_t n, shown = 0;
	image_t im;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if ((nmodes = parse_modes(optarg, modes)) < 0)
				return (EXIT_INPUT);
			break;
		case 'p':
			if (spec_number(optarg, &pa_bits) != 0 ||
			    pa_bits < 32 || pa_bits > 52) {
				fprintf(stderr, "htable roots: --pa-bits '%s': "
				    "a number from 32 to 52\n", optarg);
				return (EXIT_INPUT);
			}
			break;
		case 'c':
			if (spec_number(optarg, &minc) != 0 || minc > 100) {
				fprintf(stderr, "htable roots: "
				    "--min-confidence '%s': a number from 0 "
				    "to 100\n", optarg);
				return (EXIT_INPUT);
			}
			break;
		case 'j':
			json = 1;
			break;
		default:
			usage_roots(stderr);
			return (EXIT_INPUT);
		}
	}
	if (optind != argc - 1) {
		usage_roots(stderr);
		return (EXIT_INPUT);
	}
	if (cli_image_open(argv[optind], &im) != 0)
		return (EXIT_IO);
	err = roots_find(&im, modes, nmodes, (unsigned)pa_bits, &cand, &n);
	cli_image_close(argv[optind], &im);
	if (err != 0) {
		fprintf(stderr, "htable roots: %s\n", err == ROOTS_ENOMEM ?
		    "out of memory" : "internal: a mode it cannot score");
		return (EXIT_IO);
	}
	if (json)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		if (cand[i].confidence < minc)
			continue;
		print_one(&cand[i], json, first);
		first = 0;
		shown++;
	}
	if (json)
		printf("]\n");
	else
		printf("roots=%zu of %zu candidates\n", shown, n);
	free(cand);
	return (EXIT_OK);
}
