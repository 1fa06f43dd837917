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
 * Second-level tables (npt4, npt5, ept4, ept5): each probe is a nested
 * guest's access to a guest-physical address, and its fault is a VM exit:
 * #VMEXIT(NPF) with the #PF-style code ht_scan_access gives, or an EPT
 * violation with its qualification (the access, the rights the walk
 * allowed; the linear address valid and translated), or an EPT
 * misconfiguration, each at the probe's address.  A probe beyond the
 * engine CPU's MAXPHYADDR is not run: no guest can make that address.
 * A guest job (verify_opts_t.guest) probes a guest's linear addresses
 * through both stages; ht_nested_access predicts the guest's #PF or the
 * exit, at which guest-physical address, during the guest's walk or for
 * the final address, and the A/D bits both stages set; those are checked
 * entry by entry (the guest's leaf and the host's of each completed
 * access), since the guest's tables cannot be imported from host memory.
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

/*
 * The outcome an engine reports for an access the library decided.  In
 * nested paging ht_scan_access words a fault of the nested tables as a
 * #PF (its error code is the one EXITINFO1 carries); the engine's nested
 * guest sees it as a VM exit, #VMEXIT(NPF).
 */
static probe_outcome_t
expected(ht_mode_t mode, int guest, const ht_access_t *a)
{
	switch (a->fault) {
	case HT_FAULT_NPF:
		return (PROBE_NPF);
	case HT_FAULT_NONE:
		return (PROBE_OK);
	case HT_FAULT_GP:
		return (PROBE_GP);
	case HT_FAULT_EPT_VIOLATION:
		return (PROBE_EPT_VIOLATION);
	case HT_FAULT_EPT_MISCONFIG:
		return (PROBE_EPT_MISCONFIG);
	default:
		return (!guest && (mode == HT_MODE_NPT4 ||
		    mode == HT_MODE_NPT5) ? PROBE_NPF : PROBE_PF);
	}
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
		    ((m.fault == HT_FAULT_PF ||
		    m.fault == HT_FAULT_EPT_VIOLATION) &&
		    w->error_code != m.error_code) ||
		    (m.fault == HT_FAULT_NONE && w->pa != m.pa);
		break;
	case VERIFY_MODEL_UNMAPPED:
		/* EPT: a violation where no entry allowed anything */
		if (w->fault == HT_FAULT_EPT_VIOLATION)
			c->model_differs = (w->error_code & (HT_EPTQ_R |
			    HT_EPTQ_W | HT_EPTQ_X | HT_EPTQ_XU)) != 0;
		else
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
 * A/D of a guest job, entry by entry (the tables of both stages are at
 * host-physical addresses; a guest job cannot import the guest's, which
 * are at guest-physical ones).  watch: the entries compared, the guest's
 * leaf and the host's leaf of each completed access, with the bits those
 * set (in the entry's own format); more: bits other accesses set there
 * too (the host's leaves under the guest's table pages); maybe: bits a
 * faulting access may or may not have set (the guest's walk before an
 * exit for the final address), not compared.
 */
typedef struct gad {
	uint64_t	*at;
	uint64_t	*watch, *more, *maybe;
	unsigned char	*size;		/* the entry's width, 4 or 8, + 1 for
					   the host's (second-level) entries */
	size_t		n, cap;
} gad_t;

/*
 * The record of the entry at at (size: its width, + 1 for a host entry),
 * added if new; ~0 when out of memory.
 */
static size_t
gad_slot(gad_t *s, uint64_t at, unsigned size)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->at[i] == at && s->size[i] == size)
			return (i);
	if (s->n == s->cap) {
		size_t c = s->cap ? s->cap * 2 : 64;
		uint64_t *a = realloc(s->at, c * sizeof (*a));
		uint64_t *w = a ? realloc(s->watch, c * sizeof (*w)) : NULL;
		uint64_t *m = w ? realloc(s->more, c * sizeof (*m)) : NULL;
		uint64_t *y = m ? realloc(s->maybe, c * sizeof (*y)) : NULL;
		unsigned char *z = y ? realloc(s->size, c) : NULL;

		if (a != NULL)
			s->at = a;
		if (w != NULL)
			s->watch = w;
		if (m != NULL)
			s->more = m;
		if (y != NULL)
			s->maybe = y;
		if (z == NULL)
			return (~(size_t)0);
		s->size = z;
		s->cap = c;
	}
	s->at[s->n] = at;
	s->watch[s->n] = s->more[s->n] = s->maybe[s->n] = 0;
	s->size[s->n] = (unsigned char)size;
	return (s->n++);
}

static void
gad_free(gad_t *s)
{
	free(s->at);
	free(s->watch);
	free(s->more);
	free(s->maybe);
	free(s->size);
}

/* The A and D bits of an entry of mode m, in its own format. */
static uint64_t
ad_bits(ht_mode_t m, int a, int d)
{
	unsigned sh = m == HT_MODE_EPT4 || m == HT_MODE_EPT5 ? 8 : 5;

	return ((a ? 1ull << sh : 0) | (d ? 2ull << sh : 0));
}

/* Entry bits b of an entry of mode m as HT_A | HT_D. */
static unsigned
ad_of(ht_mode_t m, uint64_t b)
{
	return ((b & ad_bits(m, 1, 0) ? HT_A : 0) |
	    (b & ad_bits(m, 0, 1) ? HT_D : 0));
}

/* A host walk's leaf: the bits it sets, into the record's `which`. */
static int
gad_host(gad_t *s, ht_mode_t m, const ht_access_t *h, int which)
{
	const ht_scan_step_t *l;
	size_t i;
	uint64_t b;

	if (h->fault != HT_FAULT_NONE || h->nsteps == 0)
		return (0);
	l = &h->step[h->nsteps - 1];
	b = ad_bits(m, (h->set_a >> l->level) & 1, h->set_d);
	if ((i = gad_slot(s, l->addr, 8 + 1)) == ~(size_t)0)
		return (-1);
	if (which == 0)
		s->watch[i] |= b;
	else
		s->more[i] |= b;
	return (0);
}

/*
 * What one guest access sets: the guest's leaf and the final host leaf
 * when it completes; the host leaves under every guest entry it read.
 * 0, or -1 when out of memory.
 */
static int
gad_note(gad_t *s, const verify_t *v, const ht_nested_t *n, probe_op_t op)
{
	unsigned gsz = v->o.guest_mode == HT_MODE_32BIT ? 4 : 8;

	for (unsigned k = 0; k < n->nsteps; k++)
		if (gad_host(s, v->o.mode, &n->step[k].host, 1) != 0)
			return (-1);
	if (n->nsteps > 0 && n->fault != HT_FAULT_PF &&
	    n->fault != HT_FAULT_GP) {
		const ht_nested_step_t *l = &n->step[n->nsteps - 1];
		size_t i = gad_slot(s, l->hpa, gsz);
		uint64_t b = ad_bits(v->o.guest_mode,
		    (n->guest_set_a >> l->guest.level) & 1, n->guest_set_d);

		if (i == ~(size_t)0)
			return (-1);
		if (n->fault == HT_FAULT_NONE)
			s->watch[i] |= b;
		else	/* the exit came after the guest's walk */
			s->maybe[i] |= ad_bits(v->o.guest_mode, 1,
			    op == PROBE_WRITE);
	}
	if (n->fault == HT_FAULT_NONE &&
	    gad_host(s, v->o.mode, &n->final, 0) != 0)
		return (-1);
	return (0);
}

/*
 * The engine's own fetches walk the guest's tables down to the borrowed
 * guest entry: whatever the host's leaves under those table pages get
 * from them is not compared.  0, or -1 when out of memory.
 */
static int
gad_engine(gad_t *s, const verify_t *v, const ht_cpu_t *gcpu,
    const ht_cpu_t *hcpu)
{
	ht_nested_cfg_t nc = { v->o.guest_mode, v->o.guest_cr3, v->o.mode,
	    v->o.cr3, image_read, (void *)&v->im };
	ht_nested_t n;

	if (ht_nested_access(&nc, gcpu, hcpu, v->place.gslot_va,
	    HT_ACC_FETCH, 0, &n) != 0)
		return (0);
	for (unsigned k = 0; k < n.nsteps; k++) {
		const ht_access_t *h = &n.step[k].host;
		size_t i;

		if (h->nsteps == 0)
			continue;
		i = gad_slot(s, h->step[h->nsteps - 1].addr, 8 + 1);
		if (i == ~(size_t)0)
			return (-1);
		s->maybe[i] |= ad_bits(v->o.mode, 1, 1);
	}
	return (0);
}

/*
 * Predict a guest job's probe p into c (and its A/D into *s).  0, or -1
 * with r->err set: VERIFY_EPREDICT, VERIFY_ENOMEM.
 */
static int
predict_guest(const verify_t *v, const ht_cpu_t *gcpu, const ht_cpu_t *hcpu,
    const probe_t *p, verify_check_t *c, gad_t *s, verify_report_t *r)
{
	ht_nested_cfg_t nc = { v->o.guest_mode, v->o.guest_cr3, v->o.mode,
	    v->o.cr3, image_read, (void *)&v->im };
	ht_nested_t n;

	if (ht_nested_access(&nc, gcpu, hcpu, p->va, p->op, p->cpl, &n) !=
	    0) {
		r->err.code = VERIFY_EPREDICT;
		r->err.va = p->va;
		(void) snprintf(r->err.detail, sizeof (r->err.detail), "%s",
		    ht_errdetail());
		return (-1);
	}
	memset(&c->want, 0, sizeof (c->want));
	c->want.fault = n.fault;
	c->want.error_code = n.error_code;
	c->want.pa = n.pa;
	c->want.page_size = n.page_size;
	c->want_gpa = n.fault_gpa;
	c->want_qual = n.exit_info1;
	if (gad_note(s, v, &n, p->op) != 0) {
		r->err.code = VERIFY_ENOMEM;
		return (-1);
	}
	return (0);
}

/*
 * Predict every probe of the plan for cpu and list those to run in r.
 * 0, or -1 with r->err set: VERIFY_ENOMEM, or VERIFY_EPREDICT (a probe
 * ht_scan_access refuses).
 */
static int
predict(verify_t *v, const ht_cpu_t *cpu, const ht_cpu_t *gcpu, gad_t *gad,
    verify_report_t *r)
{
	size_t n = v->np ? v->np : 1;

	r->probe = calloc(n, sizeof (*r->probe));
	r->got = calloc(n, sizeof (*r->got));
	r->check = calloc(n, sizeof (*r->check));
	/*
	 * a disagreement at most per probe (a guest job: per entry, two a
	 * probe): no allocation after the run
	 */
	r->ad = calloc(v->o.guest ? 2 * n : n, sizeof (*r->ad));
	if (r->probe == NULL || r->got == NULL || r->check == NULL ||
	    r->ad == NULL) {
		r->err.code = VERIFY_ENOMEM;
		return (-1);
	}
	if (v->o.guest && gad_engine(gad, v, gcpu, cpu) != 0) {
		r->err.code = VERIFY_ENOMEM;
		return (-1);
	}
	for (size_t i = 0; i < v->np; i++) {
		const probe_t *p = &v->p[i];
		verify_check_t *c = &r->check[r->n];

		/*
		 * A nested guest cannot make a guest-physical address that
		 * its CPU's MAXPHYADDR does not reach.
		 */
		if (verify__nested_mode(v->o.mode) && !v->o.guest &&
		    cpu->pa_bits < 64 &&
		    (p->va >> cpu->pa_bits) != 0) {
			r->beyond_pa++;
			continue;
		}
		if (v->o.guest) {
			if (predict_guest(v, gcpu, cpu, p, c, gad, r) != 0)
				return (-1);
		} else if (ht_scan_access(&v->cfg, cpu, p->va, p->op, p->cpl,
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
		c->expect = expected(v->o.mode, v->o.guest, &c->want);
		if (v->o.model != NULL && !v->o.guest &&
		    model_check(v, cpu, p, c, r) != 0)
			return (-1);
		r->probe[r->n++] = *p;
	}
	return (0);
}

/* ------------------------------------------------------------------ */
/* 4. Compare                                                          */
/* ------------------------------------------------------------------ */

/*
 * A guest job's fault against ht_nested_access's: the guest's #PF by its
 * error code and linear address; an exit by its guest-physical address
 * and its code: #NPF's low bits and whether it was the final address or
 * a guest table's (EXITINFO1 bits 32 and 33), an EPT violation's
 * qualification bits 8:0 (the access, the rights, a valid linear
 * address, the final address or not).
 */
static int
guest_same(const verify_check_t *c, const probe_t *p,
    const probe_result_t *got)
{
	const ht_access_t *a = &c->want;

	switch (c->expect) {
	case PROBE_PF:
		return ((got->error_code & 0x3f) == a->error_code &&
		    got->cr2 == p->va);
	case PROBE_NPF:
		return ((got->error_code & 0x3f) == (a->error_code & 0x3f) &&
		    (got->qual & (HT_NPF_FINAL | HT_NPF_TABLE)) ==
		    (c->want_qual & (HT_NPF_FINAL | HT_NPF_TABLE)) &&
		    got->cr2 == c->want_gpa);
	case PROBE_EPT_VIOLATION:
		return ((got->qual & 0x1ff) == a->error_code &&
		    got->cr2 == c->want_gpa);
	case PROBE_EPT_MISCONFIG:
		return (got->cr2 == c->want_gpa);
	default:
		return (1);
	}
}

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

		/*
		 * The error code's architectural bits, and where.  A nested
		 * exit must also say that the fault was on the final
		 * address, not on one of the nested guest's own table
		 * entries (EXITINFO1 bit 32; for EPT, qualification bits 7
		 * and 8: the linear address is valid and was translated).
		 */
		if (v->o.guest)
			same = same && guest_same(c, p, got);
		else if (same && (c->expect == PROBE_PF ||
		    c->expect == PROBE_NPF))
			same = (got->error_code & 0x3f) == a->error_code &&
			    got->cr2 == p->va;
		if (same && c->expect == PROBE_NPF && !v->o.guest)
			same = (got->qual & HT_NPF_FINAL) != 0;
		if (same && c->expect == PROBE_EPT_VIOLATION && !v->o.guest)
			same = (got->error_code & 0x7f) == a->error_code &&
			    (got->qual & (HT_EPTQ_GLA | HT_EPTQ_FINAL)) ==
			    (HT_EPTQ_GLA | HT_EPTQ_FINAL) && got->cr2 == p->va;
		if (same && c->expect == PROBE_EPT_MISCONFIG && !v->o.guest)
			same = got->cr2 == p->va;
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
 * The A/D bits of the tables in mem (len bytes of physical memory from 0,
 * the run's RAM below dense; NULL: the image's) over every range of the
 * plan.  0, or a negative error (the import refused the tables).
 */
static int
harvest(const verify_t *v, const uint8_t *mem, uint64_t len, uint64_t dense,
    adset_t *out)
{
	memset(out, 0, sizeof (*out));
	return (verify__with_import(v, mem, len, dense, harvest_as, out));
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
 * What the run set (mem_after, whose RAM ends at ram, against the image)
 * against what the completed probes predict, leaf by leaf: each leaf
 * that differs goes into r->ad once.
 */
static void
check_ad(const verify_t *v, uint8_t *mem_after, uint64_t ram,
    verify_report_t *r)
{
	adset_t before, after, want = { 0 };
	int h1, h2;

	if (mem_after == NULL)
		return;
	if (v->cfg.mode == HT_MODE_PAE)
		scrub_pdptes(v, mem_after, r);
	h1 = harvest(v, NULL, v->im.size, 0, &before);
	h2 = h1 ? h1 : harvest(v, mem_after, v->im.size, ram, &after);
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

		/* (EPT without A/D in the EPTP: the access sets none) */
		if (a->fault != HT_FAULT_NONE || r->got[k].outcome != PROBE_OK ||
		    (a->set_a == 0 && !a->set_d))
			continue;
		(void) ad_or(&want, leaf, (a->set_a ? HT_A : 0) |
		    (a->set_d ? HT_D : 0));
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

/*
 * A guest job's A/D: each watched entry (host-physical) as the run left
 * it against what the completed accesses predict; bits some faulting
 * access may have set are not compared.  Each entry that differs goes
 * into r->ad, its address in leaf.
 */
static void
check_ad_guest(const verify_t *v, const gad_t *s, const uint8_t *mem_after,
    verify_report_t *r)
{
	uint64_t gmask = ad_bits(v->o.guest_mode, 1, 1);
	uint64_t hmask = ad_bits(v->o.mode, 1, 1);

	if (mem_after == NULL)
		return;
	r->ad_state = VERIFY_AD_CHECKED;
	for (size_t i = 0; i < s->n; i++) {
		uint64_t before = 0, after = 0, mask, got, want;
		unsigned w = s->size[i] & ~1u;
		ht_mode_t m = (s->size[i] & 1) ? v->o.mode : v->o.guest_mode;

		if (s->watch[i] == 0 || s->at[i] + w > v->im.size)
			continue;
		(void) image_read((void *)&v->im, s->at[i], &before, w);
		memcpy(&after, mem_after + s->at[i], w);
		mask = ((s->size[i] & 1) ? hmask : gmask) & ~s->maybe[i];
		got = after & ~before & mask;
		want = (s->watch[i] | s->more[i]) & ~before & mask;
		if (got == want)
			continue;
		r->ad[r->nad].leaf = s->at[i];
		r->ad[r->nad].got = ad_of(m, got);
		r->ad[r->nad].want = ad_of(m, want);
		r->nad++;
	}
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
	r->beyond_pa = 0;
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
	ht_cpu_t cpu, gcpu, asked;
	gad_t gad;

	report_clear(r);
	memset(&gad, 0, sizeof (gad));
	t->engine = e;
	/*
	 * EPT: the controls the image's tables were made for, as asked; the
	 * engine says what its CPU really has (Bochs: execute-only always,
	 * MBEC never).
	 */
	asked = v->o.cpu;
	if (v->o.scan_flags & HT_SCAN_EPT_MBEC)
		asked.flags |= HT_CPU_EPT_MBEC;
	if (v->o.scan_flags & HT_SCAN_EPT_XONLY)
		asked.flags |= HT_CPU_EPT_XONLY;
	if (v->o.guest) {
		/*
		 * The guest's CPU as asked; the host side's with NXE, and the
		 * same MAXPHYADDR: one CPU runs both stages.
		 */
		ht_cpu_t hasked = v->hcpu;

		hasked.pa_bits = v->o.cpu.pa_bits;
		e->cpu(v->g, &v->o.cpu, &gcpu);
		e->cpu(v->hg, &hasked, &cpu);
		job->gcpu = &gcpu;
	} else {
		e->cpu(v->g, &asked, &cpu);
	}
	job->cpu = &cpu;
	if (predict(v, &cpu, &gcpu, &gad, r) != 0) {
		gad_free(&gad);
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
		if (v->o.guest)
			check_ad_guest(v, &gad, job->mem_after, r);
		else
			check_ad(v, job->mem_after, job->ram_size, r);
		r->status = r->disagree != 0 || r->nad != 0 ?
		    VERIFY_DISAGREE : VERIFY_AGREE;
	}
	gad_free(&gad);
	engine_mem_free(job, job->mem_after);
	job->mem_after = NULL;
	job->results = NULL;
	job->cpu = NULL;
	job->gcpu = NULL;
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
