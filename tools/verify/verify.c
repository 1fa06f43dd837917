/*
 * verify.c - the second half of the verification library: the MMU's
 * verdict against the library's, probe by probe (plan.c made the plan).
 *
 * Theory of operation
 *
 *  3. Predict.  ht_scan_access on the image for every probe, for the CPU
 *     the engine really is (engine_ops_t.cpu: this KVM has no 1 GiB pages
 *     and MAXPHYADDR 48).  A fetch that would complete somewhere other
 *     than marker memory is not run: it would execute table bytes or
 *     device memory.
 *     With a model (verify_opts_t.model: the caller's own account of
 *     what the root shows, such as the spaces and CPU roots a layout
 *     file built), each prediction is also held to the model's answer:
 *     the same fault, error code and PA.  The prediction reads the
 *     image as the MMU does, so this asks whether the tables are what
 *     their builder says they are.
 *  4. Run the probes on the engine and compare: the fault and its error
 *     code and CR2, or completion; a completed read must have hit the PA
 *     the library says (the marker it read names it).  An outcome that
 *     differs as the engine is known to differ from the SDM
 *     (engine_ops_t.quirk) is a quirk, counted apart, neither agreement
 *     nor disagreement.  A probe whose prediction the model contradicts
 *     disagrees, whatever the MMU did.
 *  5. A/D: import the image before and after the run as address spaces
 *     and harvest both with ht_harvest_ad; what the run set must be
 *     exactly what the completed probes predict (A on each leaf used, D
 *     on each leaf written).  Images the import refuses (shared tables)
 *     are not compared, and the report says why.
 *
 * With no engine named, verify_run tries engine_list in order: the first
 * that runs the mode, then the next while one is absent or cannot take
 * the job.  Each try starts the report's probes and counts afresh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_impl.h"

/* Would a completed access at pa read marker memory? */
static int
is_marker(const verify_t *v, ht_pa_t pa)
{
	const engine_job_t *job = &v->place;

	return (pa < job->ram_size && !image_is_data(&v->im, pa) &&
	    !(pa >= job->guest_pa && pa < job->guest_pa + GUEST_AREA));
}

/* ------------------------------------------------------------------ */
/* 3. Predict                                                          */
/* ------------------------------------------------------------------ */

/* The outcome an engine reports for an access the library decided. */
static probe_outcome_t
expected(const ht_access_t *a)
{
	return (a->fault == HT_FAULT_NONE ? PROBE_OK :
	    a->fault == HT_FAULT_GP ? PROBE_GP : PROBE_PF);
}

/*
 * Ask the model about probe p and hold the prediction c->want to its
 * answer: the same fault, error code and PA; "unmapped" is a fault
 * without P (not present) or RSVD.  0, or -1 with r->err set
 * (VERIFY_EPREDICT: the model refused the probe).
 */
static int
model_check(const verify_t *v, const ht_cpu_t *cpu, const probe_t *p,
    verify_check_t *c, verify_report_t *r)
{
	const ht_access_t *w = &c->want;
	ht_access_t m;
	int rc;

	c->model_what = "";
	rc = v->o.model(v->o.model_arg, cpu, p, &m, &c->model_what,
	    &c->model_va);
	if (rc < 0) {
		r->err.code = VERIFY_EPREDICT;
		r->err.va = p->va;
		(void) snprintf(r->err.detail, sizeof (r->err.detail),
		    "the model: %s", ht_errdetail());
		return (-1);
	}
	c->model = rc;
	switch (rc) {
	case VERIFY_MODEL_ACCESS:
		c->model_fault = m.fault;
		c->model_ec = m.error_code;
		c->model_pa = m.pa;
		c->model_differs = w->fault != m.fault ||
		    (m.fault == HT_FAULT_PF && w->error_code != m.error_code) ||
		    (m.fault == HT_FAULT_NONE && w->pa != m.pa);
		break;
	case VERIFY_MODEL_UNMAPPED:
		c->model_differs = w->fault != HT_FAULT_PF ||
		    (w->error_code & (HT_PF_P | HT_PF_RSVD)) != 0;
		break;
	default:
		return (0);
	}
	r->model_checked++;
	return (0);
}

/*
 * Predict every probe of the plan for cpu and list those to run in r.
 * 0, or -1 with r->err set: VERIFY_ENOMEM, or VERIFY_EPREDICT (a probe
 * ht_scan_access refuses).
 */
static int
predict(verify_t *v, const ht_cpu_t *cpu, verify_report_t *r)
{
	size_t n = v->np ? v->np : 1;

	r->probe = calloc(n, sizeof (*r->probe));
	r->got = calloc(n, sizeof (*r->got));
	r->check = calloc(n, sizeof (*r->check));
	/* a disagreement at most per probe: no allocation after the run */
	r->ad = calloc(n, sizeof (*r->ad));
	if (r->probe == NULL || r->got == NULL || r->check == NULL ||
	    r->ad == NULL) {
		r->err.code = VERIFY_ENOMEM;
		return (-1);
	}
	for (size_t i = 0; i < v->np; i++) {
		const probe_t *p = &v->p[i];
		verify_check_t *c = &r->check[r->n];

		if (ht_scan_access(&v->cfg, cpu, p->va, p->op, p->cpl,
		    &c->want) != 0) {
			r->err.code = VERIFY_EPREDICT;
			r->err.va = p->va;
			(void) snprintf(r->err.detail, sizeof (r->err.detail),
			    "%s", ht_errdetail());
			return (-1);
		}
		/* a fetch that completes must land on a `ret` marker */
		if (p->op == PROBE_FETCH && c->want.fault == HT_FAULT_NONE &&
		    !is_marker(v, c->want.pa)) {
			r->skipped++;
			continue;
		}
		c->expect = expected(&c->want);
		if (v->o.model != NULL && model_check(v, cpu, p, c, r) != 0)
			return (-1);
		r->probe[r->n++] = *p;
	}
	return (0);
}

/* ------------------------------------------------------------------ */
/* 4. Compare                                                          */
/* ------------------------------------------------------------------ */

/* The verdict on every probe that ran, with the engine's quirks. */
static void
compare(const verify_t *v, const engine_ops_t *e, verify_report_t *r)
{
	for (size_t k = 0; k < r->n; k++) {
		const probe_t *p = &r->probe[k];
		const probe_result_t *got = &r->got[k];
		verify_check_t *c = &r->check[k];
		const ht_access_t *a = &c->want;
		int same = got->outcome == c->expect;

		/* the error code's architectural bits, and where */
		if (same && c->expect == PROBE_PF)
			same = (got->error_code & 0x3f) == a->error_code &&
			    got->cr2 == p->va;
		if (same && c->expect == PROBE_OK && p->op == PROBE_READ &&
		    is_marker(v, a->pa) &&
		    MARKER_PA(got->value) != (a->pa & ~7ull)) {
			same = 0;
			c->wrong_pa = 1;
			c->read_pa = MARKER_PA(got->value);
		}
		if (c->model_differs) {
			/* the tables are not what the model says */
			c->verdict = VERDICT_DISAGREE;
			r->disagree++;
			r->model_disagree++;
		} else if (same) {
			c->verdict = VERDICT_AGREE;
			r->agree++;
		} else if (e->quirk != NULL &&
		    (c->quirk = e->quirk(p, a, got)) != NULL) {
			c->verdict = VERDICT_QUIRK;
			r->quirk++;
		} else {
			c->verdict = VERDICT_DISAGREE;
			r->disagree++;
		}
	}
}

/* ------------------------------------------------------------------ */
/* 5. Accessed and Dirty bits, through the library's harvest            */
/* ------------------------------------------------------------------ */

/* A set of leaves (by VA) and their A/D bits. */
typedef struct adset {
	uint64_t	*va;
	unsigned	*bits;
	size_t		n, cap;
} adset_t;

/* Add leaf va with bits; 0, or -1 when out of memory. */
static int
ad_add(adset_t *s, uint64_t va, unsigned bits)
{
	if (s->n == s->cap) {
		size_t c = s->cap ? s->cap * 2 : 64;
		uint64_t *nv = realloc(s->va, c * sizeof (*nv));
		unsigned *b = nv ? realloc(s->bits, c * sizeof (*b)) : NULL;

		if (nv != NULL)
			s->va = nv;
		if (b == NULL)
			return (-1);
		s->bits = b;
		s->cap = c;
	}
	s->va[s->n] = va;
	s->bits[s->n++] = bits;
	return (0);
}

/* The bits recorded for leaf va (a linear search: the sets are small). */
static unsigned
ad_get(const adset_t *s, uint64_t va)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->va[i] == va)
			return (s->bits[i]);
	return (0);
}

/* OR bits into leaf va's entry, adding it if new; 0 or -1 (memory). */
static int
ad_or(adset_t *s, uint64_t va, unsigned bits)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->va[i] == va) {
			s->bits[i] |= bits;
			return (0);
		}
	}
	return (ad_add(s, va, bits));
}

static void
ad_free(adset_t *s)
{
	free(s->va);
	free(s->bits);
}

/* ht_harvest_ad callback: record a leaf's bits. */
static void
ad_fn(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	(void) size;
	(void) ad_or(arg, va, bits);
}

/* Harvest A/D over every range of the plan, without clearing. */
static int
harvest_as(ht_as_t *as, const verify_t *v, void *arg)
{
	int rc = 0;

	for (size_t i = 0; i < v->nr && rc >= 0; i++)
		rc = (int)ht_harvest_ad(as, v->r[i].va,
		    v->r[i].last - v->r[i].va + 1, HT_A | HT_D, 0, ad_fn,
		    arg);
	return (rc < 0 ? rc : 0);
}

/*
 * The A/D bits of the tables in mem (len bytes of physical memory from 0)
 * over every range of the plan.  0, or a negative error (the import
 * refused the tables).
 */
static int
harvest(const verify_t *v, const uint8_t *mem, uint64_t len, adset_t *out)
{
	memset(out, 0, sizeof (*out));
	return (verify__with_import(v, mem, len, harvest_as, out));
}

/*
 * QEMU sets bit 5 (A) in the PAE PDPTEs it walks, where the bit is
 * reserved and real CPUs write nothing.  Take it out of mem_after before
 * the harvest (the import would refuse the tables); the report says how
 * many.
 */
static void
scrub_pdptes(const verify_t *v, uint8_t *mem_after, verify_report_t *r)
{
	uint64_t root = v->cfg.cr3 & v->g->root_mask;

	for (unsigned k = 0; k < 4; k++) {
		uint64_t at = root + 8 * k, was = 0, now;

		if (at + 8 > v->im.size)
			break;
		(void) image_read((void *)&v->im, at, &was, 8);
		memcpy(&now, mem_after + at, 8);
		if ((now & 0x20) && !(was & 0x20)) {
			now &= ~0x20ull;
			memcpy(mem_after + at, &now, 8);
			r->pdpte_bit5++;
		}
	}
}

/*
 * What the run set (mem_after against the image) against what the
 * completed probes predict, leaf by leaf: each leaf that differs goes
 * into r->ad once.
 */
static void
check_ad(const verify_t *v, uint8_t *mem_after, verify_report_t *r)
{
	adset_t before, after, want = { 0 };
	int h1, h2;

	if (mem_after == NULL)
		return;
	if (v->cfg.mode == HT_MODE_PAE)
		scrub_pdptes(v, mem_after, r);
	h1 = harvest(v, v->im.base, v->im.size, &before);
	h2 = h1 ? h1 : harvest(v, mem_after, v->im.size, &after);
	if (h1 != 0 || h2 != 0) {
		r->ad_state = VERIFY_AD_REFUSED;
		(void) snprintf(r->ad_detail, sizeof (r->ad_detail), "%s",
		    ht_errdetail());
		/* harvest cleared each set it was given before filling it */
		ad_free(&before);
		if (h1 == 0)
			ad_free(&after);
		return;
	}
	r->ad_state = VERIFY_AD_CHECKED;
	for (size_t k = 0; k < r->n; k++) {
		const ht_access_t *a = &r->check[k].want;
		uint64_t leaf = r->probe[k].va & ~(a->page_size - 1);

		if (a->fault != HT_FAULT_NONE || r->got[k].outcome != PROBE_OK)
			continue;
		(void) ad_or(&want, leaf, HT_A | (a->set_d ? HT_D : 0));
	}
	for (size_t k = 0; k < r->n; k++) {
		const ht_access_t *a = &r->check[k].want;
		uint64_t leaf = r->probe[k].va & ~(a->page_size - 1);
		unsigned b = ad_get(&before, leaf);
		unsigned got = ad_get(&after, leaf) & ~b;
		unsigned exp = ad_get(&want, leaf) & ~b;

		if (a->page_size == 0 || got == exp)
			continue;
		r->ad[r->nad].leaf = leaf;
		r->ad[r->nad].got = got;
		r->ad[r->nad].want = exp;
		r->nad++;
		/* report each leaf once */
		(void) ad_or(&before, leaf, HT_A | HT_D);
	}
	ad_free(&want);
	ad_free(&before);
	ad_free(&after);
}

/* ------------------------------------------------------------------ */
/* The run                                                             */
/* ------------------------------------------------------------------ */

/* Free the probes and A/D of a report and zero its counts. */
static void
report_clear(verify_report_t *r)
{
	free(r->probe);
	free(r->got);
	free(r->check);
	free(r->ad);
	r->probe = NULL;
	r->got = NULL;
	r->check = NULL;
	r->ad = NULL;
	r->n = r->agree = r->disagree = r->quirk = r->skipped = 0;
	r->model_checked = r->model_disagree = 0;
	r->nad = 0;
	r->pdpte_bit5 = 0;
	r->ad_state = VERIFY_AD_NONE;
	r->ad_detail[0] = '\0';
	memset(&r->err, 0, sizeof (r->err));
}

/*
 * One try: predict for engine e, run, compare, check A/D.  job carries
 * the placement, and the note of an earlier try until e writes its own.
 * Sets and returns r->status.
 */
static verify_status_t
try_engine(verify_t *v, const engine_ops_t *e, engine_job_t *job,
    verify_report_t *r)
{
	verify_try_t *t = &r->tried[r->ntried++];
	ht_cpu_t cpu;

	report_clear(r);
	t->engine = e;
	e->cpu(v->g, &v->o.cpu, &cpu);
	/* EPT: the controls the image's tables were made for */
	if (v->o.scan_flags & HT_SCAN_EPT_MBEC)
		cpu.flags |= HT_CPU_EPT_MBEC;
	if (v->o.scan_flags & HT_SCAN_EPT_XONLY)
		cpu.flags |= HT_CPU_EPT_XONLY;
	job->cpu = &cpu;
	if (predict(v, &cpu, r) != 0) {
		t->rc = ENGINE_FAILED;
		(void) snprintf(t->note, sizeof (t->note), "%s", job->note);
		r->status = r->err.code == VERIFY_ENOMEM ? VERIFY_FAILED :
		    VERIFY_BADINPUT;
		return (r->status);
	}
	job->probes = r->probe;
	job->nprobes = r->n;
	job->results = r->got;
	t->rc = e->run(job);
	(void) snprintf(t->name, sizeof (t->name), "%s", job->engine);
	(void) snprintf(t->note, sizeof (t->note), "%s", job->note);
	if (t->rc != ENGINE_OK) {
		r->status = t->rc == ENGINE_FAILED ? VERIFY_FAILED :
		    VERIFY_NOENGINE;
	} else {
		compare(v, e, r);
		check_ad(v, job->mem_after, r);
		r->status = r->disagree != 0 || r->nad != 0 ?
		    VERIFY_DISAGREE : VERIFY_AGREE;
	}
	free(job->mem_after);
	job->mem_after = NULL;
	job->results = NULL;
	job->cpu = NULL;
	return (r->status);
}

verify_status_t
verify_run(verify_t *v, const engine_ops_t *e, verify_report_t *r)
{
	engine_job_t job = v->place;

	memset(r, 0, sizeof (*r));
	r->status = VERIFY_NOENGINE;
	job.mode = v->o.mode;
	job.cr3 = v->o.cr3;
	job.img = &v->im;
	if (e != NULL)
		return (try_engine(v, e, &job, r));
	for (size_t i = 0; engine_list[i] != NULL &&
	    r->ntried < VERIFY_MAX_TRIES; i++) {
		if (!(engine_list[i]->modes & ENGINE_MODE(v->o.mode)))
			continue;
		if (try_engine(v, engine_list[i], &job, r) != VERIFY_NOENGINE)
			break;
	}
	return (r->status);
}

void
verify_report_free(verify_report_t *r)
{
	report_clear(r);
}
