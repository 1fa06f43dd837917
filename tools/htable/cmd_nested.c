/*
 * cmd_nested.c - `htable translate --nested`: a guest's linear address
 * through the guest's tables and, for every guest-physical address that
 * walk touches, through the hypervisor's (ht_nested_access), on an image
 * that `htable build` made from a spec with a guest section (or any
 * image that holds both).
 *
 * The host is what the other image options say (--roots, or --cr3,
 * --mode and --ept): its mode must be a hypervisor's.  The guest is
 * --guest-mode and --guest-cr3, or the "guest mode=M cr3=X [host=NAME]"
 * line of --roots (a --guest-cr3 given by hand wins; modes that differ
 * are an error); host=NAME picks the host root among several, else there
 * must be one.  The host CPU is the one the host's tables were built for:
 * under EPT its MBEC and execute-only controls are --ept's (or the
 * summary's); under NPT, EFER.NXE on (build gives nested entries NX).
 *
 * Text output, per VA: a headline (the outcome: the host-physical
 * address, page size and guest-physical address, or the fault, its stage
 * and code in words), one line per guest entry read ("guest LEVEL NAME
 * [INDEX] gpa G hpa H: VALUE") each followed by its host walk on one
 * line ("host: L3 ADDR=VALUE ... -> SIZE page", the A/D bits it sets,
 * or the fault), then the final address and its host walk, then the A/D
 * bits the guest's walk sets.  JSON: an array with one object per VA.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "format.h"
#include "image.h"
#include "spec.h"

static const char *const acc_name[] = { "read", "write", "fetch" };

/* The SDM's name of a guest entry at level l of n levels. */
static const char *
gentry_name(unsigned n, unsigned l)
{
	static const char *const names[] = { "PTE", "PDE", "PDPTE", "PML4E",
	    "PML5E" };

	if (n == 2 && l == 1)
		return ("PDE");
	return (l < 5 ? names[l] : "?");
}

/* Word lists of the fault codes. */
typedef struct bitword {
	uint64_t	bit;
	const char	*word;
} bitword_t;

static const bitword_t pf_words[] = {
	{ HT_PF_W, "write" }, { HT_PF_U, "user" },
	{ HT_PF_RSVD, "reserved-bit" }, { HT_PF_I, "fetch" },
	{ HT_PF_PK, "protection-key" }, { HT_NPF_FINAL, "final" },
	{ HT_NPF_TABLE, "table" },
};

static const bitword_t eptq_words[] = {
	{ HT_EPTQ_READ, "read" }, { HT_EPTQ_WRITE, "write" },
	{ HT_EPTQ_FETCH, "fetch" }, { HT_EPTQ_R, "readable" },
	{ HT_EPTQ_W, "writable" }, { HT_EPTQ_X, "executable" },
	{ HT_EPTQ_XU, "user-executable" }, { HT_EPTQ_GLA, "gla-valid" },
	{ HT_EPTQ_FINAL, "final" },
};

/*
 * The words of code: for a #PF-style code (pf) "protection" or
 * "not-present" first, then a word per bit set; as JSON strings when
 * json.  Bits without a word are left out (none is defined).
 */
static void
code_words(uint64_t code, int pf, int json)
{
	const bitword_t *w = pf ? pf_words : eptq_words;
	size_t nw = pf ? sizeof (pf_words) / sizeof (pf_words[0]) :
	    sizeof (eptq_words) / sizeof (eptq_words[0]);
	int n = pf;

	if (pf)
		printf(json ? "\"%s\"" : "%s", (code & HT_PF_P) ?
		    "protection" : "not-present");
	for (size_t i = 0; i < nw; i++) {
		if (!(code & w[i].bit))
			continue;
		printf(json ? "%s\"%s\"" : "%s%s", n ? (json ? "," : " ") :
		    "", w[i].word);
		n++;
	}
}

/* The levels of the bits of set (A bits by level): "L3 L2", or "3,2". */
static void
level_list(unsigned set, int json)
{
	int n = 0;

	for (int l = HT_MAX_LEVELS - 1; l >= 0; l--)
		if (set & (1u << l))
			printf(json ? "%s%d" : "%sL%d", n++ ? (json ? "," :
			    " ") : "", l);
}

/*
 * The name of a fault (JSON): the guest's (guest) or a host walk's, whose
 * #PF is an NPF (the walk of nested tables).
 */
static const char *
fault_name(ht_fault_t f, int guest)
{
	switch (f) {
	case HT_FAULT_NONE: return ("none");
	case HT_FAULT_PF: return (guest ? "guest_pf" : "npf");
	case HT_FAULT_GP: return (guest ? "guest_gp" : "gp");
	case HT_FAULT_EPT_VIOLATION: return ("ept_violation");
	case HT_FAULT_EPT_MISCONFIG: return ("ept_misconfig");
	case HT_FAULT_NPF: return ("npf");
	default: return ("?");
	}
}

/* A host fault in the text's words (an NPT walk's #PF is an NPF) */
static const char *
fault_text(ht_fault_t f)
{
	switch (f) {
	case HT_FAULT_EPT_VIOLATION: return ("EPT violation");
	case HT_FAULT_EPT_MISCONFIG: return ("EPT misconfiguration");
	case HT_FAULT_PF:
	case HT_FAULT_NPF: return ("NPF");
	default: return ("fault");
	}
}

/*
 * One host walk on one line (text), after "    host: ": each entry's
 * level, address and value, then the page size and the A/D bits the walk
 * sets, or the fault.
 */
static void
walk_text(const ht_access_t *h)
{
	for (unsigned i = 0; i < h->nsteps; i++)
		printf("%sL%u 0x%" PRIx64 "=0x%" PRIx64, i ? " " : "",
		    h->step[i].level, h->step[i].addr, h->step[i].pte);
	if (h->fault != HT_FAULT_NONE) {
		printf(" -> %s\n", fault_text(h->fault));
		return;
	}
	printf(" -> %s page", fmt_pagesize(h->page_size));
	if (h->set_a != 0) {
		printf(", sets A ");
		level_list(h->set_a, 0);
	}
	if (h->set_d)
		printf(", D L%u", h->nsteps > 0 ?
		    h->step[h->nsteps - 1].level : 0);
	putchar('\n');
}

/* One host walk as a JSON object. */
static void
walk_json(const ht_access_t *h)
{
	printf("{\"fault\":\"%s\",", fault_name(h->fault, 0));
	if (h->fault == HT_FAULT_NONE)
		printf("\"pa\":\"0x%" PRIx64 "\",\"page_size\":\"%s\",",
		    h->pa, fmt_pagesize(h->page_size));
	printf("\"entries\":[");
	for (unsigned i = 0; i < h->nsteps; i++)
		printf("%s{\"level\":%u,\"addr\":\"0x%" PRIx64 "\",\"pte\":"
		    "\"0x%" PRIx64 "\"}", i ? "," : "", h->step[i].level,
		    h->step[i].addr, h->step[i].pte);
	printf("],\"set_a\":[");
	level_list(h->set_a, 1);
	printf("],\"set_d\":%s}", h->set_d ? "true" : "false");
}

/*
 * Guest entry k of r as the walk read it, or (the entry whose read the
 * host stopped) as the CPU was about to: its level and index from va.
 */
static void
gstep(const ht_geometry_t *g, const ht_nested_t *r, ht_va_t va,
    unsigned k, ht_scan_step_t *s)
{
	unsigned l = g->levels - 1 - k;
	unsigned n = k == 0 ? g->top_level_count : g->ptes_per_table;

	*s = r->step[k].guest;
	if ((int)k == r->stage) {
		s->level = l;
		s->index = (unsigned)(va >> g->level_shift[l]) & (n - 1);
		s->addr = r->fault_gpa;
		s->pte = 0;
	}
}

/* Where a host fault happened, in words (text). */
static void
stage_text(const ht_geometry_t *g, const ht_nested_t *r, ht_va_t va)
{
	ht_scan_step_t s;

	if ((unsigned)r->stage >= r->nsteps) {
		printf("the final address (stage %d)", r->stage);
		return;
	}
	gstep(g, r, va, (unsigned)r->stage, &s);
	printf("the guest's L%u %s (stage %d)", s.level,
	    gentry_name(g->levels, s.level), r->stage);
}

/* The text of one VA's answer. */
static void
print_text(const ht_nested_cfg_t *cfg, const nested_opts_t *n, ht_va_t va,
    const ht_nested_t *r)
{
	const ht_geometry_t *g = ht_geometry(cfg->guest_mode);
	int w = g->pte_size == 4 ? 8 : 16;

	printf("va 0x%" PRIx64 ": ", va);
	switch (r->fault) {
	case HT_FAULT_NONE:
		printf("pa 0x%" PRIx64 ", %s page, gpa 0x%" PRIx64 " (%s, cpl "
		    "%u)\n", r->pa, fmt_pagesize(r->page_size), r->gpa,
		    acc_name[n->acc], n->cpl);
		break;
	case HT_FAULT_PF:
		printf("guest #PF (%s, cpl %u), error code 0x%x: ",
		    acc_name[n->acc], n->cpl, r->error_code);
		code_words(r->error_code, 1, 0);
		putchar('\n');
		break;
	case HT_FAULT_GP:
		printf("guest #GP (%s, cpl %u): not canonical for %s paging\n",
		    acc_name[n->acc], n->cpl, ht_mode_name(cfg->guest_mode));
		break;
	default:
		printf("%s (%s, cpl %u) at gpa 0x%" PRIx64 ", on ",
		    fault_text(r->fault), acc_name[n->acc], n->cpl,
		    r->fault_gpa);
		stage_text(g, r, va);
		if (r->fault == HT_FAULT_EPT_VIOLATION) {
			printf("; qualification 0x%x: ", r->error_code);
			code_words(r->error_code, 0, 0);
		} else if (r->fault == HT_FAULT_NPF) {
			printf("; EXITINFO1 0x%" PRIx64 ": ", r->exit_info1);
			code_words(r->exit_info1, 1, 0);
		}
		putchar('\n');
		break;
	}
	for (unsigned k = 0; k < r->nsteps; k++) {
		ht_scan_step_t s;

		gstep(g, r, va, k, &s);
		printf("  guest L%u %-5s [%4u] gpa 0x%" PRIx64, s.level,
		    gentry_name(g->levels, s.level), s.index, s.addr);
		if ((int)k == r->stage)
			printf(": not read\n");
		else
			printf(" hpa 0x%" PRIx64 ": 0x%0*" PRIx64 "%s\n",
			    r->step[k].hpa, w, s.pte, s.unbacked ?
			    " (not in the image: read as zero)" : "");
		printf("    host: ");
		walk_text(&r->step[k].host);
	}
	if (r->stage == (int)r->nsteps || r->fault == HT_FAULT_NONE) {
		printf("  final gpa 0x%" PRIx64, r->stage >= 0 ?
		    r->fault_gpa : r->gpa);
		if (r->fault == HT_FAULT_NONE)
			printf(" hpa 0x%" PRIx64, r->pa);
		printf("\n    host: ");
		walk_text(&r->final);
	}
	if (r->fault == HT_FAULT_NONE) {
		printf("  guest sets A ");
		level_list(r->guest_set_a, 0);
		if (r->guest_set_d)
			printf(", D L%u", r->nsteps > 0 ?
			    r->step[r->nsteps - 1].guest.level : 0);
		putchar('\n');
	}
}

/* The JSON object of one VA's answer. */
static void
print_json(const ht_nested_cfg_t *cfg, const nested_opts_t *n, ht_va_t va,
    const ht_nested_t *r)
{
	const ht_geometry_t *g = ht_geometry(cfg->guest_mode);
	int guest = r->fault == HT_FAULT_PF || r->fault == HT_FAULT_GP;

	printf("{\"va\":\"0x%" PRIx64 "\",\"access\":\"%s\",\"cpl\":%u,"
	    "\"fault\":\"%s\",", va, acc_name[n->acc], n->cpl,
	    fault_name(r->fault, guest));
	if (r->fault == HT_FAULT_PF || r->fault == HT_FAULT_EPT_VIOLATION) {
		printf("\"error_code\":\"0x%x\",\"%s\":[", r->error_code,
		    r->fault == HT_FAULT_PF ? "error_bits" : "qualification");
		code_words(r->error_code, r->fault == HT_FAULT_PF, 1);
		printf("],");
	}
	if (r->fault == HT_FAULT_NPF) {
		printf("\"exit_info1\":\"0x%" PRIx64 "\",\"error_bits\":[",
		    r->exit_info1);
		code_words(r->exit_info1, 1, 1);
		printf("],");
	}
	if (r->stage >= 0)
		printf("\"stage\":%d,\"stage_kind\":\"%s\",\"fault_gpa\":\"0x%"
		    PRIx64 "\",", r->stage, r->stage < (int)r->nsteps ?
		    "table" : "final", r->fault_gpa);
	else
		printf("\"stage\":null,");
	if (r->fault == HT_FAULT_NONE)
		printf("\"gpa\":\"0x%" PRIx64 "\",\"pa\":\"0x%" PRIx64 "\","
		    "\"page_size\":\"%s\",", r->gpa, r->pa,
		    fmt_pagesize(r->page_size));
	printf("\"guest\":[");
	for (unsigned k = 0; k < r->nsteps; k++) {
		ht_scan_step_t s;

		gstep(g, r, va, k, &s);
		printf("%s{\"level\":%u,\"name\":\"%s\",\"index\":%u,\"gpa\":"
		    "\"0x%" PRIx64 "\",", k ? "," : "", s.level,
		    gentry_name(g->levels, s.level), s.index, s.addr);
		if ((int)k == r->stage)
			printf("\"hpa\":null,\"pte\":null,");
		else
			printf("\"hpa\":\"0x%" PRIx64 "\",\"pte\":\"0x%" PRIx64
			    "\",", r->step[k].hpa, s.pte);
		printf("\"host\":");
		walk_json(&r->step[k].host);
		putchar('}');
	}
	printf("],\"final\":");
	if (r->stage == (int)r->nsteps || r->fault == HT_FAULT_NONE)
		walk_json(&r->final);
	else
		printf("null");
	printf(",\"guest_set_a\":[");
	level_list(r->guest_set_a, 1);
	printf("],\"guest_set_d\":%s}", r->guest_set_d ? "true" : "false");
}

/*
 * The guest and the host root: from the options and the summary (the
 * file's comment).  0, or -1 after a message.
 */
static int
nested_setup(image_opts_t *o, nested_opts_t *n, ht_nested_cfg_t *cfg)
{
	const char *host = o->have_file_guest ? o->file_guest_host : "";
	int k;

	if (!spec_mode_nested(o->cfg.mode)) {
		fprintf(stderr, "htable translate: --nested: the host's mode "
		    "is %s; a guest runs on a hypervisor's tables: npt4, npt5, "
		    "ept4 or ept5\n", ht_mode_name(o->cfg.mode));
		return (-1);
	}
	if (n->have_mode && o->have_file_guest &&
	    n->mode != o->file_guest_mode) {
		fprintf(stderr, "htable translate: --guest-mode %s, but "
		    "--roots names a %s guest\n", ht_mode_name(n->mode),
		    ht_mode_name(o->file_guest_mode));
		return (-1);
	}
	if (!n->have_mode && o->have_file_guest) {
		n->mode = o->file_guest_mode;
		n->have_mode = 1;
	}
	if (!n->have_cr3 && o->have_file_guest) {
		n->cr3 = o->file_guest_cr3;
		n->have_cr3 = 1;
	}
	if (!n->have_mode || !n->have_cr3) {
		fprintf(stderr, "htable translate: --nested needs the guest's "
		    "mode and CR3: --guest-mode and --guest-cr3, or --roots "
		    "FILE of a build with a guest section\n");
		return (-1);
	}
	k = 0;
	if (host[0] != '\0') {
		for (k = 0; k < o->nroots; k++)
			if (strcmp(o->roots[k].name, host) == 0)
				break;
		if (k == o->nroots) {
			fprintf(stderr, "htable translate: --nested: the "
			    "guest's host root '%s' is not among the roots\n",
			    host);
			return (-1);
		}
	} else if (o->nroots > 1) {
		fprintf(stderr, "htable translate: --nested: %d roots: give "
		    "the hypervisor's alone (one --cr3)\n", o->nroots);
		return (-1);
	}
	memset(cfg, 0, sizeof (*cfg));
	cfg->guest_mode = n->mode;
	cfg->guest_cr3 = n->cr3;
	cfg->host_mode = o->cfg.mode;
	cfg->host_root = o->roots[k].cr3;
	cfg->read = image_read;
	return (0);
}

int
translate_nested(image_opts_t *o, nested_opts_t *n, const char *path,
    char **va, int nva)
{
	ht_nested_cfg_t cfg;
	ht_cpu_t hcpu = { 0, 0, o->cfg.pa_bits };
	image_t im;
	int rc = EXIT_OK;

	if (nested_setup(o, n, &cfg) != 0)
		return (EXIT_INPUT);
	if (spec_mode_ept(o->cfg.mode))
		hcpu.flags = ((o->ept & HT_EPT_MBEC) ? HT_CPU_EPT_MBEC : 0) |
		    ((o->ept & HT_EPT_XONLY) ? HT_CPU_EPT_XONLY : 0);
	else
		hcpu.flags = HT_CPU_NXE;
	if (cli_image_open(path, &im) != 0)
		return (EXIT_IO);
	cfg.read_arg = &im;
	for (int i = 0; i < nva && rc == EXIT_OK; i++) {
		ht_nested_t r;
		uint64_t v = 0;
		int e;

		(void) spec_number(va[i], &v);
		e = ht_nested_access(&cfg, &n->cpu, &hcpu, v, n->acc, n->cpl,
		    &r);
		if (e == -HT_ERANGE && !n->json) {
			printf("va 0x%" PRIx64 ": beyond 4 GiB: %s paging has "
			    "32-bit linear addresses\n", v,
			    ht_mode_name(cfg.guest_mode));
			continue;
		}
		if (e == -HT_ERANGE) {
			printf("%s{\"va\":\"0x%" PRIx64 "\",\"access\":\"%s\","
			    "\"cpl\":%u,\"fault\":\"beyond\"}", i ? ",\n" : "[",
			    v, acc_name[n->acc], n->cpl);
			continue;
		}
		if (e != 0) {
			fprintf(stderr, "htable translate: --nested: %s\n",
			    ht_errdetail());
			rc = e == -HT_EINVAL ? EXIT_INPUT : EXIT_IO;
			break;
		}
		if (n->json) {
			printf("%s", i ? ",\n" : "[");
			print_json(&cfg, n, v, &r);
		} else {
			print_text(&cfg, n, v, &r);
		}
	}
	if (n->json && rc == EXIT_OK)
		printf("]\n");
	cli_image_close(path, &im);
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = EXIT_IO;
	return (rc);
}
