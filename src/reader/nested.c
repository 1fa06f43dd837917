/*
 * nested.c - nested translation: a guest's linear address through the
 * guest's tables, each of whose entries, and then the final address, is a
 * guest-physical address that the hypervisor's tables (EPT or NPT)
 * translate to host-physical memory (Intel SDM vol. 3C, "EPT Translation
 * Mechanism" and "EPT Violations"; AMD APM vol. 2, 15.25 "Nested Paging").
 *
 * Theory of operation
 *
 * The guest walk is rd_access's own (reader/access.c), over a read
 * function that is itself a host walk: to read a guest entry at a
 * guest-physical address, nested_read asks rd_access of the host tables
 * for that address, and reads host memory where it lands.  So each guest
 * entry read is recorded with the host's full answer, in the order the
 * CPU reads them, and a host fault stops the guest walk right there (the
 * read returns NESTED_STOP, which no read function returns: the walk
 * gives it back unchanged).  The guest's table accesses are host writes
 * when the host sets A/D bits (the guest's A/D updates must be allowed:
 * NPT always, EPT when the EPTP enables them), reads otherwise, and user
 * accesses; PAE's four PDPTEs are loaded as reads.  When the guest walk
 * completes, the final guest-physical address is the guest's own access
 * (a fetch from a user page is a user-mode one under EPT's MBEC).
 *
 * Faults keep the order the hardware gives them: a host fault on a guest
 * entry comes before anything the guest would make of that entry; the
 * guest's #PF or #GP before the final address is translated.
 */
#include <string.h>

#include "reader.h"
#include "debug.h"

/* nested_read's "a host fault stopped the walk": no HT_E* code */
#define NESTED_STOP	(-0x4e50)

typedef struct nested {
	const ht_nested_cfg_t *cfg;
	const ht_cpu_t	*hcpu;
	ht_scan_cfg_t	host;		/* the host tables as an image */
	ht_nested_t	*r;
	unsigned	table_acc;	/* a guest table access, to the host */
	int		pae;
} nested_t;

static int
is_nested_mode(ht_mode_t m)
{
	return (m == HT_MODE_NPT4 || m == HT_MODE_NPT5 ||
	    m == HT_MODE_EPT4 || m == HT_MODE_EPT5);
}

static int
is_ept_mode(ht_mode_t m)
{
	return (m == HT_MODE_EPT4 || m == HT_MODE_EPT5);
}

/*
 * A host fault at guest-physical gpa, on the guest's table access (stage
 * < nsteps) or the final one: the VM exit the host's tables make.
 */
static void
host_fault(nested_t *n, int stage, ht_pa_t gpa, const ht_access_t *h,
    int final)
{
	ht_nested_t *r = n->r;

	r->stage = stage;
	r->fault_gpa = gpa;
	if (is_ept_mode(n->cfg->host_mode)) {
		r->fault = h->fault;
		r->error_code = h->fault != HT_FAULT_EPT_VIOLATION ? 0 :
		    h->error_code | HT_EPTQ_GLA | (final ? HT_EPTQ_FINAL : 0);
		/* a table access that is a write with A/D reads too */
		if (h->fault == HT_FAULT_EPT_VIOLATION && !final &&
		    n->table_acc == HT_ACC_WRITE)
			r->error_code |= HT_EPTQ_READ;
		return;
	}
	r->fault = HT_FAULT_NPF;
	r->error_code = h->error_code;
	r->exit_info1 = h->error_code | (final ? HT_NPF_FINAL : HT_NPF_TABLE);
}

/* The guest walk's read function: a guest entry through the host. */
static int
nested_read(void *arg, ht_pa_t gpa, void *buf, size_t len)
{
	nested_t *n = arg;
	ht_nested_t *r = n->r;
	ht_nested_step_t *s;
	unsigned acc = n->table_acc;
	int rc;

	if (r->nsteps >= HT_MAX_LEVELS)
		return (-HT_EINVAL);	/* not reached: a walk is that deep */
	s = &r->step[r->nsteps];
	/* PAE's PDPTEs: loaded by the CPU as reads, never dirtied */
	if (n->pae && r->nsteps == 0)
		acc = HT_ACC_READ;
	rc = rd_access(&n->host, n->hcpu, gpa, acc, 3, &s->host, NULL);
	if (rc != 0)
		return (rc);
	if (s->host.fault != HT_FAULT_NONE) {
		host_fault(n, (int)r->nsteps, gpa, &s->host, 0);
		r->nsteps++;
		return (NESTED_STOP);
	}
	s->hpa = s->host.pa;
	r->nsteps++;
	return (n->cfg->read(n->cfg->read_arg, s->hpa, buf, len));
}

int
ht_nested_access(const ht_nested_cfg_t *cfg, const ht_cpu_t *gcpu,
    const ht_cpu_t *hcpu, ht_va_t va, unsigned acc, unsigned cpl,
    ht_nested_t *r)
{
	ht_scan_cfg_t guest;
	ht_access_t g;
	nested_t n;
	unsigned eff;
	int rc;

	if (cfg == NULL || gcpu == NULL || hcpu == NULL || r == NULL ||
	    cfg->read == NULL)
		return (ht__fail(HT_EINVAL, "nested: missing argument"));
	memset(r, 0, sizeof (*r));
	r->stage = -1;
	if (ht_geometry(cfg->guest_mode) == NULL ||
	    is_nested_mode(cfg->guest_mode))
		return (ht__fail(HT_EINVAL, "nested: guest mode %d is not one "
		    "of the CPU's own (32bit, pae, 4level, 5level)",
		    (int)cfg->guest_mode));
	if (!is_nested_mode(cfg->host_mode))
		return (ht__fail(HT_EINVAL, "nested: host mode %d is not a "
		    "hypervisor's (npt4, npt5, ept4, ept5)",
		    (int)cfg->host_mode));
	memset(&n, 0, sizeof (n));
	n.cfg = cfg;
	n.hcpu = hcpu;
	n.r = r;
	n.pae = cfg->guest_mode == HT_MODE_PAE;
	n.host.mode = cfg->host_mode;
	n.host.cr3 = cfg->host_root;
	n.host.read = cfg->read;
	n.host.read_arg = cfg->read_arg;
	/* the guest's A/D updates need the host's write permission */
	n.table_acc = !is_ept_mode(cfg->host_mode) ||
	    (cfg->host_root & 0x40) ? HT_ACC_WRITE : HT_ACC_READ;
	memset(&guest, 0, sizeof (guest));
	guest.mode = cfg->guest_mode;
	guest.cr3 = cfg->guest_cr3;
	guest.read = nested_read;
	guest.read_arg = &n;

	rc = rd_access_eff(&guest, gcpu, va, acc, cpl, &g, NULL, &eff);
	/* what the guest walk read, host fault or not */
	for (unsigned k = 0; k < g.nsteps && k < r->nsteps; k++)
		r->step[k].guest = g.step[k];
	if (rc == NESTED_STOP)
		return (0);
	if (rc != 0)
		return (rc);
	if (g.fault != HT_FAULT_NONE) {
		r->fault = g.fault;
		r->error_code = g.error_code;
		return (0);
	}
	r->guest_set_a = g.set_a;
	r->guest_set_d = g.set_d;
	r->gpa = g.pa;
	rc = rd_access(&n.host, hcpu, g.pa, acc, (eff & HT_U) ? 3 : 0,
	    &r->final, NULL);
	if (rc != 0)
		return (rc);
	if (r->final.fault != HT_FAULT_NONE) {
		host_fault(&n, (int)r->nsteps, g.pa, &r->final, 1);
		return (0);
	}
	r->pa = r->final.pa;
	r->page_size = g.page_size < r->final.page_size ? g.page_size :
	    r->final.page_size;
	return (0);
}
