/*
 * verify.h - the verification library: run probes through an image's
 * page tables on a real MMU (an engine, engine.h) and compare every
 * outcome with the library's prediction (ht_scan_access).  The htable
 * command (`htable verify`, `htable build --verify`) and the hardware
 * tests use it; it never prints: what happened is in a report, and the
 * caller words it.
 *
 * A session, step by step:
 *
 *	verify_open		map the image, coalesce its leaves into ranges
 *	verify_add_probe	(optional) the caller's own probes
 *	verify_plan		the generated probes (unless the caller gave
 *				its own), in VA order; a place for the engine
 *	verify_run		predict, run on an engine, compare, check A/D:
 *				fills a verify_report_t
 *	verify_report_free, verify_close
 *
 * Build: a static library (libhtverify), only where its engines can be
 * built (Linux on x86: /dev/kvm, and QEMU's guest assembled by the host
 * compiler).
 */
#ifndef HTABLE_VERIFY_H
#define HTABLE_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "htable.h"
#include "engine.h"

/*
 * A model: the caller's own account of what an access through the root
 * under test does (the htable command's is the spaces and CPU roots a
 * layout file built), to hold the library's reading of the image to.
 * Called once per probe that runs, with the CPU the prediction assumes.
 * Returns VERIFY_MODEL_ACCESS with *r_acc filled (fault, error_code and
 * pa are compared), VERIFY_MODEL_UNMAPPED (the access must fault as not
 * present), VERIFY_MODEL_NONE (no claim), or a negative HT_E* code (the
 * probe is then refused as bad input).  *r_what (a string that lives as
 * long as the session) and *r_va name what the model asked, for the
 * report.
 */
#define VERIFY_MODEL_NONE	0
#define VERIFY_MODEL_ACCESS	1
#define VERIFY_MODEL_UNMAPPED	2
typedef int (*verify_model_fn)(void *arg, const ht_cpu_t *cpu,
    const probe_t *p, ht_access_t *r_acc, const char **r_what,
    uint64_t *r_va);

/* What one session verifies. */
typedef struct verify_opts {
	ht_mode_t	mode;
	uint64_t	cr3;		/* EPT: the EPTP */
	unsigned	scan_flags;	/* EPT: HT_SCAN_EPT_MBEC / _XONLY, the
					   VMCS's and CPU's controls that the
					   tables were made for; else 0 */
	ht_cpu_t	cpu;		/* what the user asked for; each engine
					   adds what it really is (engine.h) */
	verify_model_fn	model;		/* optional */
	void		*model_arg;
	/*
	 * A guest (nested modes only; optional).  With guest set, the
	 * probes are linear addresses of a guest whose own tables are in
	 * the image too (guest_mode, an x86 mode; guest_cr3 guest-physical,
	 * as ht_nested_cfg_t): each access goes through the guest's walk and
	 * every guest-physical address it touches through the tables under
	 * test (mode, cr3), as ht_nested_access decides it.  cpu is then
	 * the guest's CPU; the second stage uses the engine's, with NXE.
	 * No model, and no probes of non-present data entries.
	 */
	int		guest;
	ht_mode_t	guest_mode;
	uint64_t	guest_cr3;
} verify_opts_t;

/* Why a step could not be taken. */
typedef enum verify_errcode {
	VERIFY_OK = 0,
	VERIFY_EIMAGE,		/* the image cannot be opened: sys */
	VERIFY_ESCAN,		/* ht_scan refused the tables: detail */
	VERIFY_ENOMEM,		/* out of memory */
	VERIFY_ENOSLOT,		/* no empty entry of at least GUEST_AREA that
				   no probe needs, to link the engine from */
	VERIFY_ENORAM,		/* no free GUEST_AREA of RAM below 4 GiB */
	VERIFY_EPREDICT,	/* ht_scan_access refused probe va: detail */
	VERIFY_EGUEST		/* a guest job's modes: the host's must be
				   npt4, npt5, ept4 or ept5, the guest's
				   an x86 one */
} verify_errcode_t;

typedef struct verify_error {
	verify_errcode_t code;
	int		sys;		/* VERIFY_EIMAGE: image_open's answer
					   (its words in detail) */
	uint64_t	va;		/* VERIFY_EPREDICT */
	char		detail[256];	/* ht_errdetail() when it failed;
					   VERIFY_EIMAGE: image_strerror */
} verify_error_t;

/* How a run ended. */
typedef enum verify_status {
	VERIFY_AGREE = 0,	/* every probe and every A/D bit agrees */
	VERIFY_FAILED,		/* the engine broke down, or out of memory */
	VERIFY_BADINPUT,	/* a probe the prediction refuses (err) */
	VERIFY_DISAGREE,	/* at least one disagreement */
	VERIFY_NOENGINE		/* no engine could run: nothing verified */
} verify_status_t;

/* One probe that ran: the engine's answer against the library's. */
typedef enum verify_verdict {
	VERDICT_AGREE,		/* the MMU did what the library predicts */
	VERDICT_QUIRK,		/* it did not, as the engine is known not to
				   (check.quirk says how) */
	VERDICT_DISAGREE
} verify_verdict_t;

typedef struct verify_check {
	ht_access_t	want;		/* the library's prediction (a guest
					   job: ht_nested_access's fault,
					   error_code, pa and page_size) */
	uint64_t	want_gpa;	/* a guest job's exit: the guest-
					   physical address it names */
	uint64_t	want_qual;	/* a guest job's #NPF: EXITINFO1 */
	probe_outcome_t	expect;		/* want, as an engine reports it */
	verify_verdict_t verdict;
	const char	*quirk;		/* VERDICT_QUIRK: the engine's words */
	int		wrong_pa;	/* a completed read hit read_pa, not */
	uint64_t	read_pa;	/*   want.pa (the marker it read) */
	/* the model's answer (verify_opts_t.model), if it has one */
	int		model;		/* VERIFY_MODEL_* */
	int		model_differs;	/* it is not want: a disagreement */
	ht_fault_t	model_fault;	/* VERIFY_MODEL_ACCESS: its fault, */
	uint32_t	model_ec;	/*   error code */
	ht_pa_t		model_pa;	/*   and PA */
	const char	*model_what;	/* what it asked, and where */
	uint64_t	model_va;
} verify_check_t;

/* A leaf whose Accessed/Dirty bits the run set otherwise than predicted. */
typedef struct verify_ad {
	uint64_t	leaf;		/* its VA (a guest job: the address of
					   the entry, host-physical) */
	unsigned	got;		/* HT_A | HT_D the run set */
	unsigned	want;		/* those the completed probes predict */
} verify_ad_t;

/* One engine tried (verify_run tries the next only if one is absent). */
typedef struct verify_try {
	const engine_ops_t *engine;
	int		rc;		/* ENGINE_OK, _ABSENT, _CANNOT, _FAILED
					   (also when the library could not
					   start it: report.err says why) */
	char		name[96];	/* ENGINE_OK: what ran, e.g. "qemu 7.2
					   tcg, pae" */
	char		note[256];	/* why it could not run / quirks seen */
} verify_try_t;

#define VERIFY_MAX_TRIES	8

/* The A/D check after a run. */
typedef enum verify_ad_state {
	VERIFY_AD_NONE,		/* not made (the run left no memory) */
	VERIFY_AD_REFUSED,	/* the library's import refuses the tables:
				   ad_detail says why; nothing compared */
	VERIFY_AD_CHECKED
} verify_ad_state_t;

typedef struct verify_report {
	verify_status_t	status;
	verify_error_t	err;		/* VERIFY_FAILED, VERIFY_BADINPUT */
	verify_try_t	tried[VERIFY_MAX_TRIES];	/* in order; the
					   last one is the run reported */
	int		ntried;
	/* the probes that ran, in VA order, and how each went */
	size_t		n;
	probe_t		*probe;
	probe_result_t	*got;
	verify_check_t	*check;
	/* counts over them (a probe the model contradicts disagrees) */
	size_t		agree, disagree, quirk;
	size_t		model_checked;	/* probes the model judged */
	size_t		model_disagree;	/* of them, contradicted */
	size_t		skipped;	/* fetches not run: they would have
					   executed table bytes or the
					   engine's own pages */
	size_t		beyond_pa;	/* nested modes: probes not run, their
					   guest-physical address is beyond
					   the engine CPU's MAXPHYADDR */
	/* Accessed and Dirty bits */
	unsigned	pdpte_bit5;	/* PAE PDPTEs in which the engine set
					   bit 5 (reserved): cleared before
					   the A/D check */
	verify_ad_state_t ad_state;
	char		ad_detail[256];
	verify_ad_t	*ad;		/* disagreeing leaves, in probe order */
	size_t		nad;
} verify_report_t;

typedef struct verify verify_t;

/*
 * Open the image at path for verification with *o, and read its leaves
 * (ht_scan) into VA/PA-contiguous ranges.  0 with *r_v set, or -1 with
 * *r_err filled and *r_v NULL.
 * Errors: VERIFY_EIMAGE, VERIFY_ESCAN, VERIFY_ENOMEM, VERIFY_EGUEST.
 */
int verify_open(const char *path, const verify_opts_t *o, verify_t **r_v,
    verify_error_t *r_err);

/*
 * Add a probe of the caller's: an access (PROBE_READ, _WRITE, _FETCH) at
 * CPL cpl (0 or 3) to the 8-byte word at va.  Not checked here: the
 * caller validates, the prediction refuses what it cannot take.
 * 0, or -1 when out of memory.
 * Errors: VERIFY_ENOMEM.
 */
int verify_add_probe(verify_t *v, uint64_t va, probe_op_t op, unsigned cpl);

/*
 * Add the probes verify_plan would generate for the tables under another
 * root of the same image (cr3): the first, middle and last page of each
 * of its ranges and of its runs of non-present data entries, and the
 * pages around each range, all six kinds.  So a root is probed where
 * another root maps something too (a KPTI user root where only the
 * kernel root maps a page, a CPU root where the space it ran before
 * maps).  For verify_plan with generate (its dedup drops repeats).
 * 0, or -1 with *r_err filled.
 * Errors: VERIFY_ESCAN, VERIFY_ENOMEM.
 */
int verify_add_root_probes(verify_t *v, uint64_t cr3, verify_error_t *r_err);

/*
 * Finish the plan.  With generate, add the default probes: the first,
 * middle and last page of every range and of every run of pages whose
 * entries hold data without being present, and the pages just outside
 * each range, with all six access kinds (r w x at CPL 0 and 3), at most
 * about 2^20; generated repeats are dropped.  Then order the probes by
 * VA and place the engine: a not-present entry of the tables to borrow
 * (one whose VA range holds no probe) and a free GUEST_AREA of RAM.
 * A guest job borrows an entry of the guest's tables too, and places
 * the host's one away from every guest-physical address a probe's walk
 * touches.  0, or -1 with *r_err filled.
 * Errors: VERIFY_ENOMEM, VERIFY_ENOSLOT, VERIFY_ENORAM, VERIFY_EPREDICT
 * (a guest job's probe that ht_nested_access refuses).
 */
int verify_plan(verify_t *v, int generate, verify_error_t *r_err);

/*
 * Run the plan on engine e, or with e NULL on the first engine of
 * engine_list that runs the mode, then the next while each is absent or
 * cannot run the job.  For each probe: the library's prediction for the
 * CPU the engine really is, the engine's outcome, the verdict; then the
 * A/D bits the run set against those predicted.  Fills *r (free it with
 * verify_report_free, whatever the answer) and returns r->status.
 * Errors (in r->err): VERIFY_ENOMEM (VERIFY_FAILED), VERIFY_EPREDICT
 * (VERIFY_BADINPUT).
 */
verify_status_t verify_run(verify_t *v, const engine_ops_t *e,
    verify_report_t *r);

/* Free what a report holds (not the report).  Errors: none. */
void verify_report_free(verify_report_t *r);
/* Close the image and free the session; NULL is ignored.  Errors: none. */
void verify_close(verify_t *v);

#endif
