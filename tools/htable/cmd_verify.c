/*
 * cmd_verify.c - `htable verify IMAGE --cr3 X --mode M [--probes FILE]
 * [--engine kvm|qemu|bochs|auto] [--cpu FLAGS] [--verbose]`: run probes through
 * an image's tables on a real MMU and compare each outcome with the
 * library's prediction, under one root or under each of several (--cr3
 * repeated, or --roots: every root `htable build` printed; each is then
 * probed wherever any of them maps something).  The verification
 * library (tools/verify/) does the work and returns a report; this file
 * parses the arguments and the probe file, and words the report: one
 * line per disagreement (and per probe with --verbose), the engine's
 * quirks apart, then the summary "probes=N agree=N disagree=N"; with
 * several roots a header line before each report and a last line
 * "roots=N probes=N agree=N disagree=N" over them all.
 *
 * `htable build --verify` comes here too, with the spec's model of each
 * root (world.c): a probe whose prediction the model contradicts is a
 * disagreement, printed with what the model says, and the summary ends
 * with "model=N", the probes the model judged.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "spec.h"

/* A probe's kind in probe files and in messages: u is CPL 3. */
static const char *const op_names[] = { "r", "w", "x", "ur", "uw", "ux" };

#define OP_NAME(p)	(op_names[(p)->op + 3 * ((p)->cpl == 3)])

void
usage_verify(FILE *f)
{
	fprintf(f, "usage: htable verify IMAGE --cr3 [NAME=]X... --mode M "
	    "[--probes FILE]\n"
	    "       [--engine kvm|qemu|bochs|auto] [--cpu FLAGS] "
	    "[--verbose] [--ept FLAGS]\n"
	    "       htable verify IMAGE --roots FILE ...\n"
	    "  Run probes through the page tables in IMAGE on a real MMU\n"
	    "  (KVM for 4-level paging; QEMU's TCG for 32bit, pae, 4level,\n"
	    "  5level, npt4 and npt5; Bochs for ept4, ept5, npt4, npt5) and\n"
	    "  compare each outcome with the library's prediction:\n"
	    "  completion and the PA reached, or the fault and its error\n"
	    "  code (in npt and ept modes the nested guest's VM exit: #NPF,\n"
	    "  EPT violation with its qualification, misconfiguration),\n"
	    "  and the Accessed/Dirty bits the run sets.\n"
	    "  --cr3 [NAME=]X  a root; repeat it for several: each is\n"
	    "                 verified, probed wherever any of them maps\n"
	    "  --roots FILE   every root (and the mode and EPT flags) that\n"
	    "                 htable build printed into FILE\n"
	    "  --dump-cpu N   IMAGE a dump file: its CPU whose CR3 and mode\n"
	    "                 stand for --cr3 and --mode when left out\n"
	    "                 (default 0)\n"
	    "  --ept FLAGS    EPT: ad,mbec,xonly or none (default: what\n"
	    "                 --roots says)\n"
	    "  --probes FILE  'VA OP' per line, OP one of r w x ur uw ux\n"
	    "                 (u: at CPL 3); default: the first, middle and\n"
	    "                 last page of every mapped range and the pages\n"
	    "                 around it, with every access kind\n"
	    "  --engine E     kvm, qemu, bochs, or auto (default: kvm for\n"
	    "                 4level when /dev/kvm works, else qemu; bochs\n"
	    "                 for ept4 and ept5)\n"
	    "  --cpu FLAGS    comma-separated: wp nxe smep smap ac pke\n"
	    "                 pkru=N pa-bits=N (default: wp,nxe); 'none'\n"
	    "                 for none\n"
	    "  --verbose      print every probe, not only disagreements\n"
	    "  --guest-mode GM --guest-cr3 GX  (npt and ept modes) the\n"
	    "                 probes are a guest's linear addresses, through\n"
	    "                 its own tables in IMAGE (mode GM, root at\n"
	    "                 guest-physical GX) and each guest-physical\n"
	    "                 address through the root under test, as\n"
	    "                 translate --nested decides them; --cpu is the\n"
	    "                 guest's CPU\n"
	    "Prints each disagreement and 'probes=N agree=N disagree=N'\n"
	    "(per root, then 'roots=N probes=N agree=N disagree=N').\n"
	    "Exit status: 0 all agree, 1 failure, 2 bad usage or input,\n"
	    "3 disagreement, 4 no engine could run (nothing verified).\n");
}

int
cli_parse_cpu(const char *s, ht_cpu_t *cpu)
{
	char *dup = strdup(s), *tok, *save = NULL;
	int rc = 0;

	if (dup == NULL)
		return (-1);
	memset(cpu, 0, sizeof (*cpu));
	for (tok = strtok_r(dup, ",", &save); tok != NULL && rc == 0;
	    tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		if (strcmp(tok, "wp") == 0)
			cpu->flags |= HT_CPU_WP;
		else if (strcmp(tok, "nxe") == 0)
			cpu->flags |= HT_CPU_NXE;
		else if (strcmp(tok, "smep") == 0)
			cpu->flags |= HT_CPU_SMEP;
		else if (strcmp(tok, "smap") == 0)
			cpu->flags |= HT_CPU_SMAP;
		else if (strcmp(tok, "ac") == 0)
			cpu->flags |= HT_CPU_AC;
		else if (strcmp(tok, "pke") == 0)
			cpu->flags |= HT_CPU_PKE;
		else if (strcmp(tok, "no1g") == 0)
			cpu->flags |= HT_CPU_NO1G;
		else if (strncmp(tok, "pkru=", 5) == 0 &&
		    spec_number(tok + 5, &v) == 0 && v <= 0xffffffffull)
			cpu->pkru = (uint32_t)v;
		else if (strncmp(tok, "pa-bits=", 8) == 0 &&
		    spec_number(tok + 8, &v) == 0 && v >= 32 && v <= 52)
			cpu->pa_bits = (unsigned)v;
		else if (strcmp(tok, "none") != 0)
			rc = -1;
	}
	free(dup);
	return (rc);
}

/*
 * Read "VA OP" lines into the session's plan.  0, or -1 after a message
 * (FILE:LINE for a bad line; none when out of memory, as before the
 * library: the status is still 2).
 */
static int
read_probes(verify_t *v, ht_mode_t mode, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	int ln = 0;

	if (f == NULL) {
		fprintf(stderr, "htable verify: %s: %m\n", path);
		return (-1);
	}
	while (fgets(line, sizeof (line), f) != NULL) {
		char va_s[128], op_s[16], extra[2];
		uint64_t va;
		unsigned k;
		int n;

		ln++;
		line[strcspn(line, "#\n")] = '\0';
		n = sscanf(line, "%127s %15s %1s", va_s, op_s, extra);
		if (n <= 0)
			continue;
		for (k = 0; k < 6 && (n < 2 || strcmp(op_s, op_names[k]) != 0);
		    k++)
			;
		if (n != 2 || spec_number(va_s, &va) != 0 || k == 6) {
			fprintf(stderr, "%s:%d: expected 'VA OP' with OP one "
			    "of r w x ur uw ux\n", path, ln);
			(void) fclose(f);
			return (-1);
		}
		if ((va & 7) != 0 || (ht_geometry(mode)->hole_start == 0 &&
		    va >> ht_geometry(mode)->va_bits != 0)) {
			fprintf(stderr, "%s:%d: VA 0x%" PRIx64 " is not an "
			    "8-byte-aligned address of %s paging\n", path, ln,
			    va, ht_mode_name(mode));
			(void) fclose(f);
			return (-1);
		}
		if (verify_add_probe(v, va, (probe_op_t)(k % 3),
		    k < 3 ? 0 : 3) != 0) {
			(void) fclose(f);
			return (-1);
		}
	}
	(void) fclose(f);
	return (0);
}

/* An outcome in words: "completes", "#PF ec=0x5 P U", "#GP", ... */
static void
describe(char *buf, size_t len, probe_outcome_t o, uint32_t ec, uint64_t x)
{
	switch (o) {
	case PROBE_OK:
		snprintf(buf, len, "completes");
		break;
	case PROBE_PF:
		snprintf(buf, len, "#PF ec=0x%x%s%s%s%s%s%s", ec,
		    ec & HT_PF_P ? " P" : "", ec & HT_PF_W ? " W" : "",
		    ec & HT_PF_U ? " U" : "", ec & HT_PF_RSVD ? " RSVD" : "",
		    ec & HT_PF_I ? " I" : "", ec & HT_PF_PK ? " PK" : "");
		break;
	case PROBE_GP:
		snprintf(buf, len, "#GP");
		break;
	case PROBE_OTHER:
		snprintf(buf, len, "exception %" PRIu64, x);
		break;
	case PROBE_NPF:
		snprintf(buf, len, "#NPF ec=0x%x%s%s%s%s%s", ec,
		    ec & HT_PF_P ? " P" : "", ec & HT_PF_W ? " W" : "",
		    ec & HT_PF_U ? " U" : "", ec & HT_PF_RSVD ? " RSVD" : "",
		    ec & HT_PF_I ? " I" : "");
		break;
	case PROBE_EPT_VIOLATION:
		ec &= 0x7f;
		snprintf(buf, len, "EPT violation q=0x%x (%s%s%s; allowed "
		    "%s%s%s%s)", ec, ec & HT_EPTQ_READ ? "r" : "",
		    ec & HT_EPTQ_WRITE ? "w" : "", ec & HT_EPTQ_FETCH ? "x" : "",
		    ec & HT_EPTQ_R ? "r" : "-", ec & HT_EPTQ_W ? "w" : "-",
		    ec & HT_EPTQ_X ? "x" : "-", ec & HT_EPTQ_XU ? "u" : "");
		break;
	case PROBE_EPT_MISCONFIG:
		snprintf(buf, len, "EPT misconfiguration");
		break;
	default:
		snprintf(buf, len, "not run");
		break;
	}
}

/*
 * Say why a step before the run failed; the exit status.  Out of memory
 * while planning exits 2 without a word, as it did before the library.
 */
static int
say_error(const char *path, const verify_error_t *err)
{
	switch (err->code) {
	case VERIFY_EIMAGE:
		fprintf(stderr, "htable: %s: %s\n", path, err->detail);
		return (EXIT_IO);
	case VERIFY_ESCAN:
		fprintf(stderr, "htable verify: %s: %s\n", path, err->detail);
		return (EXIT_INPUT);
	case VERIFY_ENOSLOT:
		fprintf(stderr, "htable verify: no empty entry of at least "
		    "2 MiB in the tables that no probe needs: nowhere to put "
		    "the probing code\n");
		return (EXIT_INPUT);
	case VERIFY_ENORAM:
		fprintf(stderr, "htable verify: no free 2 MiB of RAM below "
		    "4 GiB for the probing code\n");
		return (EXIT_INPUT);
	case VERIFY_EGUEST:
		fprintf(stderr, "htable verify: a guest needs a hypervisor's "
		    "tables (npt4, npt5, ept4, ept5) and an x86 guest mode\n");
		return (EXIT_INPUT);
	case VERIFY_EPREDICT:
		fprintf(stderr, "htable verify: 0x%" PRIx64 ": %s\n", err->va,
		    err->detail);
		return (EXIT_INPUT);
	default:
		return (EXIT_INPUT);
	}
}

/*
 * A probe whose prediction the model contradicts: what the MMU did, what
 * the library reads in the tables, what the model says, and of which
 * space at which address.
 */
static void
print_model(const probe_t *p, const verify_check_t *c, const char *got_s,
    FILE *out)
{
	char lib[128], mod[128];

	describe(lib, sizeof (lib), c->expect, c->want.error_code, 0);
	if (c->expect == PROBE_OK)
		snprintf(lib + strlen(lib), sizeof (lib) - strlen(lib),
		    " at pa 0x%" PRIx64, c->want.pa);
	if (c->model == VERIFY_MODEL_UNMAPPED) {
		snprintf(mod, sizeof (mod), "not mapped (a not-present "
		    "fault)");
	} else {
		describe(mod, sizeof (mod), c->model_fault == HT_FAULT_NONE ?
		    PROBE_OK : c->model_fault == HT_FAULT_GP ? PROBE_GP :
		    c->model_fault == HT_FAULT_EPT_VIOLATION ?
		    PROBE_EPT_VIOLATION :
		    c->model_fault == HT_FAULT_EPT_MISCONFIG ?
		    PROBE_EPT_MISCONFIG : c->expect == PROBE_NPF ? PROBE_NPF :
		    PROBE_PF, c->model_ec, 0);
		if (c->model_fault == HT_FAULT_NONE)
			snprintf(mod + strlen(mod), sizeof (mod) - strlen(mod),
			    " at pa 0x%" PRIx64, c->model_pa);
	}
	fprintf(out, "DISAGREE 0x%016" PRIx64 " %-2s: mmu %s; library %s; "
	    "model (space %s at 0x%" PRIx64 ") %s\n", p->va, OP_NAME(p), got_s,
	    lib, c->model_what, c->model_va, mod);
}

/*
 * What else is wrong with a fault the MMU reported: the address it names
 * (CR2, or the exit's guest-physical address) is not the probe's, or a
 * nested exit was not for the final address (EXITINFO1 bit 32; the EPT
 * qualification's bits 7 and 8).
 */
static const char *
fault_note(const probe_t *p, const verify_check_t *c,
    const probe_result_t *got, int guest)
{
	/* a guest job's exits name the guest-physical address predicted */
	uint64_t gpa = guest ? c->want_gpa : p->va;

	switch (got->outcome) {
	case PROBE_PF:
		return (got->cr2 != p->va ? " (cr2 differs)" : "");
	case PROBE_NPF:
		if (got->cr2 != gpa)
			return (" (exit gpa differs)");
		if (guest && (got->qual & HT_NPF_TABLE))
			return (" (during the guest's walk)");
		return (!(got->qual & HT_NPF_FINAL) ?
		    " (not the final address)" : "");
	case PROBE_EPT_VIOLATION:
		if (got->cr2 != gpa)
			return (" (exit gpa differs)");
		if (guest && !(got->qual & HT_EPTQ_FINAL))
			return (" (during the guest's walk)");
		return ((~got->qual & (HT_EPTQ_GLA | HT_EPTQ_FINAL)) != 0 ?
		    " (not the final address)" : "");
	case PROBE_EPT_MISCONFIG:
		return (got->cr2 != gpa ? " (exit gpa differs)" : "");
	default:
		return ("");
	}
}

/*
 * One line per probe that disagrees (every probe with verbose); guest:
 * a guest job's.
 */
static void
print_probes(const verify_report_t *r, int verbose, int guest, FILE *out)
{
	size_t quirks = 0;

	for (size_t k = 0; k < r->n; k++) {
		const probe_t *p = &r->probe[k];
		const probe_result_t *got = &r->got[k];
		const verify_check_t *c = &r->check[k];
		char got_s[96], want_s[96], extra[96] = "";

		describe(got_s, sizeof (got_s), got->outcome, got->error_code,
		    got->outcome == PROBE_OTHER ? got->vector : 0);
		describe(want_s, sizeof (want_s), c->expect,
		    c->want.error_code, 0);
		switch (c->verdict) {
		case VERDICT_AGREE:
			if (verbose)
				fprintf(out, "agree 0x%016" PRIx64 " %-2s: "
				    "%s\n", p->va, OP_NAME(p), got_s);
			break;
		case VERDICT_QUIRK:
			/* the first five, so that they do not hide the rest */
			if (verbose || ++quirks <= 5)
				fprintf(out, "QUIRK 0x%016" PRIx64 " %-2s: mmu "
				    "%s; library %s (%s)\n", p->va, OP_NAME(p),
				    got_s, want_s, c->quirk);
			break;
		case VERDICT_DISAGREE:
			if (c->model_differs) {
				print_model(p, c, got_s, out);
				break;
			}
			if (c->wrong_pa)
				snprintf(extra, sizeof (extra), " (read pa 0x%"
				    PRIx64 ", library says 0x%" PRIx64 ")",
				    c->read_pa, c->want.pa);
			fprintf(out, "DISAGREE 0x%016" PRIx64 " %-2s: mmu "
			    "%s%s; library %s%s\n", p->va, OP_NAME(p), got_s,
			    fault_note(p, c, got, guest), want_s, extra);
			break;
		}
	}
}

/*
 * The A/D part of the report (guest: a guest job's, whose entries are
 * named by their host-physical address).
 */
static void
print_ad(const verify_report_t *r, int guest, FILE *out)
{
	if (r->pdpte_bit5 != 0)
		fprintf(out, "quirk: the engine set bit 5 (reserved in PAE) "
		    "in %u PDPTE(s); cleared before the A/D check\n",
		    r->pdpte_bit5);
	if (r->ad_state == VERIFY_AD_REFUSED)
		fprintf(out, "a/d: not checked: the library's import refuses "
		    "these tables (%s)\n", r->ad_detail);
	for (size_t i = 0; i < r->nad; i++) {
		const verify_ad_t *a = &r->ad[i];

		fprintf(out, "DISAGREE a/d of the %s 0x%016" PRIx64 ": "
		    "the run set %s%s, the library predicts %s%s\n", guest ?
		    "leaf entry at host-physical" : "leaf at", a->leaf,
		    a->got & HT_A ? "A" : "-", a->got & HT_D ? "D" : "-",
		    a->want & HT_A ? "A" : "-", a->want & HT_D ? "D" : "-");
	}
}

/*
 * Word a report on out (problems on stderr); the exit status.  model:
 * the session had one (the summary then says how many probes it judged);
 * guest: it was a guest job.
 */
static int
print_report(const verify_report_t *r, ht_mode_t mode, int verbose,
    int model, int guest, FILE *out)
{
	const verify_try_t *last;

	if (r->ntried == 0) {
		/* no engine runs the mode (the library knows every mode) */
		fprintf(out, "engine: none of the engines runs %s paging "
		    "(--engine NAME says why)\n", ht_mode_name(mode));
		fprintf(out, "probes=0 agree=0 disagree=0 (nothing "
		    "verified)\n");
		return (EXIT_NOENGINE);
	}
	last = &r->tried[r->ntried - 1];
	/* the engines tried before the last were absent */
	for (int i = 0; i + 1 < r->ntried; i++)
		fprintf(out, "engine: %s skipped: %s\n",
		    r->tried[i].engine->name, r->tried[i].note);
	switch (r->status) {
	case VERIFY_BADINPUT:
		fprintf(stderr, "htable verify: 0x%" PRIx64 ": %s\n",
		    r->err.va, r->err.detail);
		return (EXIT_INPUT);
	case VERIFY_FAILED:
	case VERIFY_NOENGINE:
		if (r->err.code == VERIFY_ENOMEM)
			fprintf(stderr, "htable verify: out of memory\n");
		fprintf(out, "engine: %s %s: %s\n", last->engine->name,
		    r->status == VERIFY_FAILED ? "failed" : "skipped",
		    last->note);
		fprintf(out, "probes=0 agree=0 disagree=0 (nothing "
		    "verified)\n");
		return (r->status == VERIFY_FAILED ? EXIT_IO : EXIT_NOENGINE);
	default:
		break;
	}
	fprintf(out, "engine: %s\n", last->name);
	print_probes(r, verbose, guest, out);
	print_ad(r, guest, out);
	fprintf(out, "probes=%zu agree=%zu disagree=%zu", r->n, r->agree,
	    r->disagree + r->nad);
	if (r->quirk)
		fprintf(out, " quirk=%zu", r->quirk);
	if (r->skipped)
		fprintf(out, " skipped=%zu", r->skipped);
	if (r->beyond_pa)
		fprintf(out, " beyond-maxphyaddr=%zu", r->beyond_pa);
	if (model)
		fprintf(out, " model=%zu", r->model_checked);
	fputc('\n', out);
	return (r->status == VERIFY_DISAGREE ? EXIT_DISAGREE : EXIT_OK);
}

/* What several roots' reports add up to. */
typedef struct vtotal {
	size_t		probes, agree, disagree, quirk, model;
} vtotal_t;

/*
 * One session: the root o->cr3, probed (without a probe file) also where
 * each of roots maps something; the report printed; the exit status.
 * Adds the report's counts to *t (may be NULL).
 */
static int
verify_one(const char *path, const verify_opts_t *o, const cli_root_t *roots,
    int nroots, const engine_ops_t *e, const char *probes, int verbose,
    vtotal_t *t)
{
	verify_t *v;
	verify_error_t err;
	verify_report_t r;
	int rc;

	if (verify_open(path, o, &v, &err) != 0)
		return (say_error(path, &err));
	if (probes != NULL && read_probes(v, o->mode, probes) != 0) {
		verify_close(v);
		return (EXIT_INPUT);
	}
	for (int k = 0; probes == NULL && k < nroots; k++) {
		if (roots[k].cr3 != o->cr3 &&
		    verify_add_root_probes(v, roots[k].cr3, &err) != 0) {
			verify_close(v);
			return (say_error(path, &err));
		}
	}
	if (verify_plan(v, probes == NULL, &err) != 0) {
		verify_close(v);
		return (say_error(path, &err));
	}
	(void) verify_run(v, e, &r);
	rc = print_report(&r, o->mode, verbose, o->model != NULL, o->guest,
	    stdout);
	if (t != NULL && r.ntried > 0 && r.status != VERIFY_FAILED &&
	    r.status != VERIFY_NOENGINE && r.status != VERIFY_BADINPUT) {
		t->probes += r.n;
		t->agree += r.agree;
		t->disagree += r.disagree + r.nad;
		t->quirk += r.quirk;
		t->model += r.model_checked;
	}
	verify_report_free(&r);
	verify_close(v);
	return (rc);
}

int
cli_verify(const char *path, const verify_opts_t *o, const engine_ops_t *e,
    const char *probes, int verbose)
{
	return (verify_one(path, o, NULL, 0, e, probes, verbose, NULL));
}

/* The rank of an exit status among several roots': the worst wins. */
static int
severity(int rc)
{
	switch (rc) {
	case EXIT_DISAGREE: return (4);
	case EXIT_IO: return (3);
	case EXIT_INPUT: return (2);
	case EXIT_NOENGINE: return (1);
	default: return (0);
	}
}

int
cli_verify_worst(int a, int b)
{
	return (severity(b) > severity(a) ? b : a);
}

int
cli_verify_roots(const char *path, const verify_opts_t *o,
    const cli_root_t *roots, int nroots, const engine_ops_t *e,
    const char *probes, int verbose)
{
	vtotal_t t = { 0, 0, 0, 0, 0 };
	int rc = EXIT_OK, model = 0;

	for (int k = 0; k < nroots; k++) {
		verify_opts_t ov = *o;
		int r;

		ov.cr3 = roots[k].cr3;
		ov.model = roots[k].model;
		ov.model_arg = roots[k].model_arg;
		model |= ov.model != NULL;
		cli_root_header(stdout, &roots[k]);
		(void) fflush(stdout);
		r = verify_one(path, &ov, roots, nroots, e, probes, verbose,
		    &t);
		rc = cli_verify_worst(rc, r);
		(void) fflush(stdout);
	}
	printf("roots=%d probes=%zu agree=%zu disagree=%zu", nroots, t.probes,
	    t.agree, t.disagree);
	if (t.quirk)
		printf(" quirk=%zu", t.quirk);
	if (model)
		printf(" model=%zu", t.model);
	if (rc == EXIT_NOENGINE)
		printf(" (nothing verified)");
	putchar('\n');
	return (rc);
}

int
cli_parse_engine(const char *cmd, const char *name, const engine_ops_t **r_e)
{
	if (strcmp(name, "auto") == 0) {
		*r_e = NULL;
		return (0);
	}
	if ((*r_e = engine_find(name)) != NULL)
		return (0);
	fprintf(stderr, "htable %s: --engine '%s': not one of ", cmd, name);
	for (size_t i = 0; engine_list[i] != NULL; i++)
		fprintf(stderr, "%s, ", engine_list[i]->name);
	fprintf(stderr, "auto\n");
	return (-1);
}

int
cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cr3", required_argument, NULL, 'c' },
		{ "roots", required_argument, NULL, 'R' },
		{ "mode", required_argument, NULL, 'm' },
		{ "dump-cpu", required_argument, NULL, 'U' },
		{ "probes", required_argument, NULL, 'P' },
		{ "engine", required_argument, NULL, 'e' },
		{ "cpu", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "ept", required_argument, NULL, 'E' },
		{ "guest-mode", required_argument, NULL, 'G' },
		{ "guest-cr3", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	image_opts_t io = { 0 };
	verify_opts_t o;
	const engine_ops_t *e = NULL;
	const char *probes = NULL;
	int c, verbose = 0, rc = EXIT_INPUT, have_gmode = 0, have_gcr3 = 0;
	int ioerr;

	memset(&o, 0, sizeof (o));
	o.cpu.flags = HT_CPU_WP | HT_CPU_NXE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:m:P:e:u:vG:g:h", opts,
	    NULL)) != -1) {
		if (c == 'c' || c == 'm' || c == 'R' || c == 'E') {
			if (image_opt(&io, c, optarg) != 1)
				goto out;
			continue;
		}
		switch (c) {
		case 'P':
			probes = optarg;
			break;
		case 'e':
			if (cli_parse_engine("verify", optarg, &e) != 0)
				goto out;
			break;
		case 'u':
			if (cli_parse_cpu(optarg, &o.cpu) != 0) {
				fprintf(stderr, "htable verify: --cpu '%s': "
				    "flags are wp nxe smep smap ac pke pkru=N "
				    "pa-bits=N none\n", optarg);
				goto out;
			}
			break;
		case 'v':
			verbose = 1;
			break;
		case 'G':
			if (ht_mode_parse(optarg, &o.guest_mode) != 0 ||
			    spec_mode_nested(o.guest_mode)) {
				fprintf(stderr, "htable verify: --guest-mode "
				    "'%s': not one of 32bit, pae, 4level, "
				    "5level\n", optarg);
				goto out;
			}
			have_gmode = 1;
			break;
		case 'g':
			if (spec_number(optarg, &o.guest_cr3) != 0) {
				fprintf(stderr, "htable verify: --guest-cr3 "
				    "'%s': not a number\n", optarg);
				goto out;
			}
			have_gcr3 = 1;
			break;
		case 'h':
			usage_verify(stdout);
			rc = EXIT_OK;
			goto out;
		default:
			usage_verify(stderr);
			goto out;
		}
	}
	if (optind != argc - 1) {
		usage_verify(stderr);
		goto out;
	}
	if (image_opts_done(&io, "verify", argv[optind], &ioerr) != 0) {
		if (ioerr)
			rc = EXIT_IO;
		goto out;
	}
	o.mode = io.cfg.mode;
	o.cr3 = io.cfg.cr3;
	o.scan_flags = io.cfg.flags;
	if (have_gmode || have_gcr3) {
		if (!have_gmode || !have_gcr3) {
			fprintf(stderr, "htable verify: a guest needs both "
			    "--guest-mode and --guest-cr3\n");
			goto out;
		}
		if (!spec_mode_nested(o.mode) || image_opts_multi(&io)) {
			fprintf(stderr, "htable verify: a guest runs on one "
			    "hypervisor's root (one --cr3 in npt4, npt5, "
			    "ept4 or ept5), not on %s\n",
			    image_opts_multi(&io) ? "several roots" :
			    ht_mode_name(o.mode));
			goto out;
		}
		o.guest = 1;
	}
	if (image_opts_multi(&io))
		rc = cli_verify_roots(argv[optind], &o, io.roots, io.nroots, e,
		    probes, verbose);
	else
		rc = cli_verify(argv[optind], &o, e, probes, verbose);
out:
	image_opts_free(&io);
	return (rc);
}
