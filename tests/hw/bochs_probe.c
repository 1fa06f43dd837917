/*
 * bochs_probe.c - a command-line front for engine_bochs(), so that the
 * Bochs engine test (test_engine_bochs.sh) can run probes through an
 * image's second-level tables (EPT, nested paging) and check the
 * outcomes with ordinary tools.  The arguments are qemu_probe's:
 *
 *	bochs_probe IMAGE MODE CR3 RAM_MB GUEST_PA SLOT_PA SLOT_LEVEL
 *	    SLOT_VA SLOT_SIZE CPU_FLAGS PKRU [MEM_AFTER] < PROBES
 *
 * MODE is ept4, ept5, npt4 or npt5; CR3 the EPT pointer or nCR3.  PROBES
 * holds one probe a line, "GPA OP CPL" with OP r, w or x; '#' starts a
 * comment.  CPU_FLAGS is the HT_CPU_* mask, optionally followed by ":N"
 * for MAXPHYADDR (cpu.pa_bits).  The output is one line with the
 * engine's name ("engine: ..."), then one per probe:
 *
 *	GPA OP CPL OUTCOME VECTOR ERROR CR2 VALUE QUAL
 *
 * with OUTCOME ok, pf, gp, other, notrun, npf, eptv (EPT violation) or
 * eptm (EPT misconfiguration) and the numbers in hex (CR2 is the
 * guest-physical address the exit reported, QUAL the whole exit
 * qualification or EXITINFO1).  The memory after the run goes to
 * MEM_AFTER when given.  Exit status: 0 the engine ran, 77 it is absent
 * (the test then skips), 1 it could not run or failed (its note on
 * stderr), 2 bad usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htable.h"
#include "engine.h"
#include "engine_bochs.h"
#include "image.h"

#define	MAXPROBES	1000000

/* A number (strtoull base 0), or exit 2.  Errors: exits. */
static uint64_t
num(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "bochs_probe: bad number %s\n", s);
		exit(2);
	}
	return (v);
}

int
main(int argc, char **argv)
{
	static const char *names[] = { "ok", "pf", "gp", "other", "notrun",
	    "npf", "eptv", "eptm" };
	static const char ops[] = "rwx";
	engine_job_t job;
	ht_cpu_t cpu;
	image_t img;
	probe_t *pr;
	char line[256];
	size_t n = 0, i;
	int rc;

	if (argc != 12 && argc != 13) {
		fprintf(stderr, "usage: bochs_probe IMAGE MODE CR3 RAM_MB "
		    "GUEST_PA SLOT_PA SLOT_LEVEL SLOT_VA SLOT_SIZE CPU_FLAGS "
		    "PKRU [MEM_AFTER] < PROBES\n");
		return (2);
	}
	memset(&job, 0, sizeof (job));
	memset(&cpu, 0, sizeof (cpu));
	memset(&img, 0, sizeof (img));
	if (ht_mode_parse(argv[2], &job.mode) != 0) {
		fprintf(stderr, "bochs_probe: bad mode %s\n", argv[2]);
		return (2);
	}
	job.cr3 = num(argv[3]);
	job.ram_size = num(argv[4]) << 20;
	job.guest_pa = num(argv[5]);
	job.slot_pa = num(argv[6]);
	job.slot_level = (int)num(argv[7]);
	job.slot_va = num(argv[8]);
	job.slot_size = num(argv[9]);
	{
		/* FLAGS[:PA_BITS] */
		char *colon = strchr(argv[10], ':');

		if (colon != NULL) {
			*colon = '\0';
			cpu.pa_bits = (unsigned)num(colon + 1);
		}
		cpu.flags = (unsigned)num(argv[10]);
	}
	cpu.pkru = (uint32_t)num(argv[11]);
	if ((rc = image_open(argv[1], &img)) != 0) {
		fprintf(stderr, "bochs_probe: %s: %s\n", argv[1],
		    image_strerror(rc));
		return (1);
	}
	job.cpu = &cpu;
	job.img = &img;

	if ((pr = calloc(MAXPROBES, sizeof (*pr))) == NULL) {
		fprintf(stderr, "bochs_probe: out of memory\n");
		return (1);
	}
	while (fgets(line, sizeof (line), stdin) != NULL) {
		char va[64], op[8];
		unsigned cpl;
		const char *o;

		line[strcspn(line, "#\n")] = '\0';
		if (line[strspn(line, " \t")] == '\0')
			continue;
		if (n == MAXPROBES || sscanf(line, "%63s %7s %u", va, op,
		    &cpl) != 3 || (o = strchr(ops, op[0])) == NULL ||
		    op[0] == '\0' || op[1] != '\0') {
			fprintf(stderr, "bochs_probe: bad probe: %s\n", line);
			return (2);
		}
		pr[n].va = num(va);
		pr[n].op = (probe_op_t)(o - ops);
		pr[n].cpl = cpl;
		n++;
	}
	job.probes = pr;
	job.nprobes = n;
	if ((job.results = calloc(n + 1, sizeof (*job.results))) == NULL) {
		fprintf(stderr, "bochs_probe: out of memory\n");
		return (1);
	}

	rc = engine_bochs(&job);
	if (job.note[0] != '\0')
		fprintf(stderr, "bochs_probe: note: %s\n", job.note);
	if (rc == ENGINE_ABSENT)
		return (77);
	if (rc != ENGINE_OK)
		return (1);
	printf("engine: %s\n", job.engine);
	for (i = 0; i < n; i++) {
		const probe_result_t *r = &job.results[i];
		unsigned o = (unsigned)r->outcome;

		printf("%#" PRIx64 " %c %u %s %#x %#x %#" PRIx64 " %#" PRIx64
		    " %#" PRIx64 "\n", pr[i].va, ops[pr[i].op], pr[i].cpl,
		    o < sizeof (names) / sizeof (names[0]) ? names[o] : "?",
		    r->vector, (unsigned)r->error_code, r->cr2, r->value,
		    r->qual);
	}
	if (argc == 13 && job.mem_after != NULL) {
		FILE *f = fopen(argv[12], "wb");

		if (f == NULL || fwrite(job.mem_after, 1, img.size, f) !=
		    img.size || fclose(f) != 0) {
			fprintf(stderr, "bochs_probe: cannot write %s\n",
			    argv[12]);
			return (1);
		}
	}
	free(job.mem_after);
	free(job.results);
	free(pr);
	image_close(&img);
	return (0);
}
