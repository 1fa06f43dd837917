/*
 * world.c - what a built spec offers a CPU: its roots (the CR3 values of
 * its spaces and of its CPU roots), and what each root should show, by
 * the spec's own account (the model `htable build --verify` holds the
 * real MMU to).
 *
 * Theory of operation.  A root shows spaces, VA by VA:
 *  - a space's own root shows that space everywhere;
 *  - a CPU root's kernel root (cr3) shows, in its user half (the first
 *    user_entries top-level entries), the copied space it runs, and in
 *    the rest its kernel space; a CPU root that runs an ordinary space
 *    was given that space's own root by the switch, which shows the
 *    space everywhere; its KPTI user root (user_cr3) shows the same user
 *    half and, in the rest, the KPTI space;
 *  - nothing shows there: the access faults as not present.
 * The answer is the library's own decision for that space (ht_access),
 * except inside a region that a space shares from another: there the
 * library promises that the sharer shows what the source maps, so the
 * model asks the source, at the matching address, wherever the sharer
 * really reads the source's tables (its walk ends on the same entry as
 * the source's).  Where the share copied the leaves (unaligned edges,
 * whole large pages) the sharer keeps what it had, and the model asks
 * the sharer.  So the MMU is held, through a sharer's root, to what the
 * source says now, including what the source changed after the share.
 *
 * In EPT a root's value is the EPTP that names the root table (spec_cr3),
 * not a CR3: the page-walk length, the A/D enable and the memory type of
 * the walk's own accesses (WB, as ht_as_eptp and ht_switch give it) in
 * its low bits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

/* The value a CPU loads for the root at cr3 (spec.h). */
uint64_t
spec_cr3(const spec_t *s, uint64_t cr3)
{
	const ht_geometry_t *g = ht_geometry(s->mode);

	if (!spec_mode_ept(s->mode))
		return (cr3);
	return ((cr3 & g->root_mask) | (uint64_t)(g->levels - 1) << 3 |
	    ((s->ept & HT_EPT_AD) ? 0x40u : 0) | HT_EPT_WB);
}

int
spec_roots(const spec_t *s, const spec_world_t *w, spec_root_t **r, int *n)
{
	spec_root_t *a = calloc((size_t)(s->nspaces + 2 * s->ncpus) + 1,
	    sizeof (*a));
	int k = 0;

	if (a == NULL)
		return (-1);
	for (int i = 0; i < s->nspaces; i++) {
		const spec_space_t *sp = &s->spaces[i];

		if (sp->copied || w->as[i] == NULL)
			continue;
		(void) snprintf(a[k].name, sizeof (a[k].name), "%s", sp->name);
		a[k].cr3 = spec_cr3(s, ht_as_root(w->as[i]) |
		    (sp->pcid > 0 ? (uint64_t)sp->pcid : 0));
		a[k].space = i;
		a[k].cpu = -1;
		k++;
	}
	for (int i = 0; i < s->ncpus; i++) {
		if (w->cr[i] == NULL)
			continue;
		for (int u = 0; u < 1 + s->kpti; u++) {
			(void) snprintf(a[k].name, sizeof (a[k].name),
			    "cpu%u%s", s->cpus[i].id, u ? ".user" : "");
			a[k].cr3 = spec_cr3(s, u ? w->sw[i].user_cr3 :
			    w->sw[i].cr3);
			a[k].space = -1;
			a[k].cpu = i;
			a[k].user = u;
			k++;
		}
	}
	*r = a;
	*n = k;
	return (0);
}

/* The number of top-level entries of cpu's user half (as the library). */
static unsigned
user_entries(const spec_t *s, const ht_geometry_t *g, const spec_cpu_t *c)
{
	unsigned n = g->top_level_count;

	(void) s;
	if (c->user_entries != 0)
		return (c->user_entries);
	if (c->kernel < 0 && c->kpti < 0)
		return (n);
	return (g->levels >= 4 ? n / 2 : n / 4 * 3);
}

/* The top-level entry va goes through. */
static unsigned
top_index(const ht_geometry_t *g, uint64_t va)
{
	return ((unsigned)(va >> g->level_shift[g->levels - 1]) &
	    (g->top_level_count - 1));
}

/*
 * Does the sharer's walk of va end on the very entry that the source's
 * walk of src_va ends on (the sharer reads the source's table there)?
 */
static int
reads_source(ht_as_t *sharer, uint64_t va, ht_as_t *src, uint64_t src_va)
{
	ht_xlate_t a, b;
	int ra = ht_translate(sharer, va, &a);
	int rb = ht_translate(src, src_va, &b);

	if ((ra != 0 && ra != -HT_ENOTMAPPED) ||
	    (rb != 0 && rb != -HT_ENOTMAPPED) || a.nlevels == 0 ||
	    b.nlevels == 0)
		return (0);
	return (a.entry_pa[a.nlevels - 1] == b.entry_pa[b.nlevels - 1]);
}

int
spec_model(const spec_t *s, const spec_world_t *w, const spec_root_t *root,
    const ht_cpu_t *cpu, uint64_t va, unsigned acc, unsigned cpl,
    ht_access_t *r_acc, const char **r_space, uint64_t *r_va)
{
	const ht_geometry_t *g = ht_ctx_geometry(w->ctx);
	uint64_t at = va;
	int sp = root->space, rc;

	if (root->cpu >= 0) {
		const spec_cpu_t *c = &s->cpus[root->cpu];
		int run = w->runs[root->cpu];

		if (run >= 0 && !s->spaces[run].copied)
			sp = run;
		else if (top_index(g, va) < user_entries(s, g, c))
			sp = run;
		else
			sp = root->user ? c->kpti : c->kernel;
	}
	*r_va = va;
	memset(r_acc, 0, sizeof (*r_acc));
	if (sp < 0) {
		*r_space = "(none)";
		/* a VA in the canonical hole is a #GP wherever it goes */
		if (g->hole_start != 0 && va >= g->hole_start &&
		    va <= g->hole_end) {
			r_acc->fault = HT_FAULT_GP;
			return (SPEC_MODEL_ACCESS);
		}
		return (SPEC_MODEL_UNMAPPED);
	}
	for (int i = 0; i < w->nregions; i++) {
		const spec_region_t *r = &w->regions[i];
		uint64_t sva = r->src_va + (va - r->va);

		if (!r->live || r->space != sp || va < r->va ||
		    va - r->va >= r->len ||
		    !reads_source(w->as[sp], va, w->as[r->src], sva))
			continue;
		sp = r->src;
		at = sva;
		break;
	}
	*r_space = s->spaces[sp].name;
	*r_va = at;
	if ((rc = ht_access(w->as[sp], cpu, at, acc, cpl, r_acc)) != 0)
		return (rc);
	return (SPEC_MODEL_ACCESS);
}
