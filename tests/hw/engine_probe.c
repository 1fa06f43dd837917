/*
 * engine_probe.c - a command-line front for one engine's run function, so
 * that the engine tests (test_engine_qemu.sh, test_engine_bochs.sh) can
 * run probes through an image built with `htable build` and check the
 * outcomes with ordinary tools.  Built once per engine: PROBE_ENGINE is
 * its run function (engine_qemu, engine_bochs), PROBE_NAME the program's
 * name (qemu_probe, bochs_probe).
 *
 *	PROBE_NAME [-g GMODE GCR3 GSLOT_GPA GSLOT_PA GSLOT_LEVEL GSLOT_VA
 *	    GSLOT_SIZE GCPU_FLAGS GPKRU] IMAGE MODE CR3 RAM_MB GUEST_PA
 *	    SLOT_PA SLOT_LEVEL SLOT_VA SLOT_SIZE CPU_FLAGS PKRU [MEM_AFTER]
 *	    < PROBES
 *
 * PROBES holds one probe a line, "VA OP CPL" with OP r, w or x; '#'
 * starts a comment.  CPU_FLAGS is the HT_CPU_* mask, optionally followed
 * by ":N" for MAXPHYADDR (cpu.pa_bits).  -g makes it a guest job (MODE
 * npt4 or npt5): the nested guest runs on the image's guest tables in
 * paging mode GMODE from root GCR3 (guest-physical), its CPU GCPU_FLAGS
 * (":N" as above) and GPKRU, and the engine borrows the guest's entry at
 * GSLOT_GPA (host-physical GSLOT_PA, level GSLOT_LEVEL, mapping
 * [GSLOT_VA, + GSLOT_SIZE)); every VA is then the guest's linear
 * address.  The output is one line with the engine's name ("engine:
 * ..."), then one per probe:
 *
 *	VA OP CPL OUTCOME VECTOR ERROR CR2 VALUE QUAL
 *
 * with OUTCOME ok, pf, gp, other, notrun, or in a nested mode npf, eptv
 * (EPT violation) or eptm (EPT misconfiguration), and the numbers in hex
 * (in a nested mode VECTOR is the exit code or reason, CR2 the GPA the
 * exit reports, QUAL the whole EXITINFO1 or exit qualification; in a
 * guest job the guest's own pf, gp and other have the vector, CR2 the
 * linear address, and npf is as in a nested mode).  The
 * memory after the run goes to MEM_AFTER when given.  Exit status: 0 the
 * engine ran, 77 it is absent (the test then skips), 1 it could not run
 * or failed (its note on stderr), 2 bad usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htable.h"
#include "engine.h"
#include "image.h"

#ifndef PROBE_ENGINE
#error "PROBE_ENGINE names the engine's run function (meson sets it)"
#endif
#ifndef PROBE_NAME
#define	PROBE_NAME	"engine_probe"
#endif

#define	MAXPROBES	1000000

static uint64_t
num(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, PROBE_NAME ": bad number %s\n", s);
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
	ht_cpu_t cpu, gcpu;
	image_t img;
	probe_t *pr;
	char line[256];
	size_t n = 0, i;
	int rc;

	memset(&job, 0, sizeof (job));
	memset(&cpu, 0, sizeof (cpu));
	memset(&gcpu, 0, sizeof (gcpu));
	memset(&img, 0, sizeof (img));
	if (argc > 10 && strcmp(argv[1], "-g") == 0) {
		char *colon = strchr(argv[9], ':');

		if (ht_mode_parse(argv[2], &job.guest_mode) != 0) {
			fprintf(stderr, PROBE_NAME ": bad guest mode %s\n",
			    argv[2]);
			return (2);
		}
		job.guest = 1;
		job.guest_cr3 = num(argv[3]);
		job.gslot_gpa = num(argv[4]);
		job.gslot_pa = num(argv[5]);
		job.gslot_level = (int)num(argv[6]);
		job.gslot_va = num(argv[7]);
		job.gslot_size = num(argv[8]);
		if (colon != NULL) {
			*colon = '\0';
			gcpu.pa_bits = (unsigned)num(colon + 1);
		}
		gcpu.flags = (unsigned)num(argv[9]);
		gcpu.pkru = (uint32_t)num(argv[10]);
		job.gcpu = &gcpu;
		argv += 10;
		argc -= 10;
	}
	if (argc != 12 && argc != 13) {
		fprintf(stderr, "usage: " PROBE_NAME " [-g GMODE GCR3 GSLOT_GPA "
		    "GSLOT_PA GSLOT_LEVEL GSLOT_VA GSLOT_SIZE GCPU_FLAGS "
		    "GPKRU] IMAGE MODE CR3 RAM_MB GUEST_PA SLOT_PA SLOT_LEVEL "
		    "SLOT_VA SLOT_SIZE CPU_FLAGS PKRU [MEM_AFTER] < PROBES\n");
		return (2);
	}
	if ((rc = image_open(argv[1], &img)) != 0) {
		fprintf(stderr, "htable: %s: %s\n", argv[1],
		    image_strerror(&img, rc));
		return (1);
	}
	if (ht_mode_parse(argv[2], &job.mode) != 0) {
		fprintf(stderr, PROBE_NAME ": bad mode %s\n", argv[2]);
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
	job.cpu = &cpu;
	job.img = &img;

	if ((pr = calloc(MAXPROBES, sizeof (*pr))) == NULL) {
		fprintf(stderr, PROBE_NAME ": out of memory\n");
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
			fprintf(stderr, PROBE_NAME ": bad probe: %s\n", line);
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
		fprintf(stderr, PROBE_NAME ": out of memory\n");
		return (1);
	}

	rc = PROBE_ENGINE(&job);
	if (job.note[0] != '\0')
		fprintf(stderr, PROBE_NAME ": note: %s\n", job.note);
	if (rc == ENGINE_ABSENT)
		return (77);
	if (rc != ENGINE_OK)
		return (1);
	printf("engine: %s\n", job.engine);
	for (i = 0; i < n; i++) {
		const probe_result_t *r = &job.results[i];

		printf("%#" PRIx64 " %c %u %s %#x %#x %#" PRIx64 " %#" PRIx64
		    " %#" PRIx64 "\n", pr[i].va, ops[pr[i].op], pr[i].cpl,
		    (unsigned)r->outcome < sizeof (names) / sizeof (names[0]) ?
		    names[r->outcome] : "?", r->vector,
		    (unsigned)r->error_code, r->cr2, r->value, r->qual);
	}
	if (argc == 13 && job.mem_after != NULL) {
		FILE *f = fopen(argv[12], "wb");

		if (f == NULL || fwrite(job.mem_after, 1, img.size, f) !=
		    img.size || fclose(f) != 0) {
			fprintf(stderr, PROBE_NAME ": cannot write %s\n",
			    argv[12]);
			return (1);
		}
	}
	engine_mem_free(&job, job.mem_after);
	free(job.results);
	free(pr);
	image_close(&img);
	return (0);
}
