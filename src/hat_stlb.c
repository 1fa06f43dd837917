/*
 * hat_stlb.c - soft TLBs, the public calls: create, fill (the miss path),
 * flush, destroy.  The invalidation side and the theory of operation
 * (why a fill can never leave a stale entry, why its A/D writes never
 * land in a freed frame) are in stlb.c; the hit path is inline in
 * htable.h.
 *
 * A fill is ht_access and then what an MMU does when the access
 * completes: set A in every entry read and D in the leaf for a write,
 * each by compare-and-swap from the value the walk read, so a change in
 * between is never overwritten (the walk runs again), and cache the
 * leaf's page with every access the same leaf allows.  Setting A before
 * caching matters beyond the MMU's semantics: the library reports a
 * change of an entry only when it had A or D (x86pte.c), since only
 * those can be in a TLB; a soft TLB obeys the same rule.
 */
#include <stdlib.h>
#include <string.h>

#include "htable_int.h"
#include "stlb.h"
#include "frame.h"
#include "x86pte.h"
#include "debug.h"

#define STLB_MAX_ENTRIES	(1u << 24)

/* The writes of every (acc, CPL): a clean leaf's entry lacks them. */
#define STLB_WRITES	(HT_STLB_BIT(HT_ACC_WRITE, 0) | \
			HT_STLB_BIT(HT_ACC_WRITE, 3))

static stlb_t *
stlb_of(const ht_stlb_t *pub)
{
	/* st_pub is the first member: the caller's pointer is ours */
	return ((stlb_t *)(uintptr_t)pub);
}

/*
 * Where the walk's step k read its entry, as a host pointer (the copied
 * root's entries live in the descriptor, as hat_query.c's reader knows).
 */
static void *
step_ptr(hat_t *hat, unsigned k, ht_pa_t addr, int *r_size)
{
	const mmu_t *m = hat_mmu(hat);
	uint8_t *p;

	if (k == 0 && (hat->hat_htable->ht_flags & HTABLE_COPIED)) {
		*r_size = 8;
		return (&hat->hat_copied_ptes[addr >> m->pte_shift]);
	}
	*r_size = m->pte_size;
	p = ptable_map(hat->hat_ctx, addr >> HT_PAGE_SHIFT);
	return (p == NULL ? NULL : p + (addr & (HT_PAGE_SIZE - 1)));
}

/*
 * Set the A and D bits the completed access r sets (r->set_a, set_d) and
 * that its entries lack.  0 done (*r_dirty: the leaf is now Dirty), 1 an
 * entry changed since the walk read it (walk again), 2 a table the
 * provider maps no longer (walk again: the walk reads it as not present,
 * as it would have if the provider had said so first).
 */
static int
set_ad(hat_t *hat, const ht_access_t *r, int *r_dirty)
{
	const mmu_t *m = hat_mmu(hat);

	*r_dirty = 0;
	for (unsigned k = 0; k < r->nsteps; k++) {
		const ht_scan_step_t *s = &r->step[k];
		uint64_t want = s->pte;
		void *p;
		int size;

		if ((r->set_a >> s->level) & 1)
			want |= m->pt_ref;
		if (k == r->nsteps - 1) {
			if (r->set_d)
				want |= m->pt_mod;
			/* no D bit (EPT without A/D): nothing to wait for */
			*r_dirty = m->pt_mod == 0 || (want & m->pt_mod) != 0;
		}
		if (want == s->pte)
			continue;	/* the common case: nothing to write */
		if ((p = step_ptr(hat, k, s->addr, &size)) == NULL)
			return (2);
		if (pte_cas_raw(size, p, s->pte, want) != s->pte)
			return (1);
	}
	return (0);
}

/* cpu as ht_access takes it: ask it (va 0 is valid in every mode). */
static int
cpu_check(hat_t *hat, const ht_cpu_t *cpu)
{
	ht_access_t probe;

	return (hat_access(hat, cpu, 0, HT_ACC_READ, 0, &probe, NULL));
}

int
ht_stlb_create(ht_as_t *as, unsigned entries, const ht_cpu_t *cpu,
    ht_stlb_t **r_stlb)
{
	stlb_t *st;
	ht_stlb_ent_t *ent;
	size_t bytes;
	int rc;

	if (as == NULL || cpu == NULL || r_stlb == NULL)
		return (ht__fail(HT_EINVAL, "stlb create: NULL argument"));
	if (entries == 0 || (entries & (entries - 1)) != 0 ||
	    entries > STLB_MAX_ENTRIES)
		return (ht__fail(HT_EINVAL, "stlb create: %u entries (a power "
		    "of two, 1 .. %u)", entries, STLB_MAX_ENTRIES));
	if ((rc = cpu_check(as, cpu)) != 0)
		return (rc);
	/* aligned_alloc wants a multiple of the alignment */
	bytes = ((size_t)entries * sizeof (ht_stlb_ent_t) + 63) & ~(size_t)63;
	st = aligned_alloc(64, sizeof (*st));
	ent = aligned_alloc(64, bytes);
	if (st == NULL || ent == NULL) {
		free(st);
		free(ent);
		return (ht__fail(HT_ENOMEM, "stlb create: %u entries",
		    entries));
	}
	memset(st, 0, sizeof (*st));
	memset(ent, 0, bytes);
	st->st_pub.st_ent = ent;
	st->st_pub.st_mask = entries - 1;
	st->st_cpu = *cpu;
	stlb_attach(st, as);
	*r_stlb = &st->st_pub;
	return (0);
}

void
ht_stlb_destroy(ht_stlb_t *stlb)
{
	stlb_t *st = stlb_of(stlb);

	if (st == NULL)
		return;
	stlb_detach(st);
	free(st->st_pub.st_ent);
	free(st);
}

int
ht_stlb_fill(ht_stlb_t *stlb, ht_va_t va, unsigned acc, unsigned cpl,
    ht_access_t *r_acc)
{
	stlb_t *st = stlb_of(stlb);
	ht_stlb_ent_t *e;
	unsigned rights = 0;
	uint64_t seq;
	hat_t *hat;
	int rc, dirty = 0, unmapped = 0;

	if (st == NULL || r_acc == NULL)
		return (ht__fail(HT_EINVAL, "stlb fill: NULL argument"));
	if (acc > HT_ACC_FETCH || cpl > 3)
		return (ht__fail(HT_EINVAL, "stlb fill: access %u, CPL %u",
		    acc, cpl));
	if ((hat = atomic_load(&st->st_hat)) == NULL)
		return (ht__fail(HT_EINVAL, "stlb fill: detached (its address "
		    "space was destroyed)"));
	/*
	 * In flight from here (stlb.c, invariant 4); the fence orders the
	 * walk after the attach and after any change whose invalidation
	 * this fill's first look at st_seq sees (invariants 2 and 3).
	 */
	atomic_store(&st->st_busy, 1);
	stlb__filling = st;
	atomic_thread_fence(memory_order_seq_cst);
	seq = atomic_load(&st->st_seq);
	for (;;) {
		rc = hat_access(hat, &st->st_cpu, va, acc, cpl, r_acc, &rights);
		if (rc != 0 || r_acc->fault != HT_FAULT_NONE)
			goto out;	/* a fault is not cached */
		if ((rc = set_ad(hat, r_acc, &dirty)) == 0)
			break;
		/*
		 * A provider whose map flickers could keep the walk going
		 * for ever: after a few tries answer without caching.
		 */
		if (rc == 2 && ++unmapped > 8) {
			rc = 0;
			goto out;
		}
	}
	if (!dirty)
		rights &= ~(unsigned)STLB_WRITES;	/* a write must miss */
	e = &st->st_pub.st_ent[(va >> HT_PAGE_SHIFT) & st->st_pub.st_mask];
	e->se_pa = r_acc->pa & ~(ht_pa_t)0xfff;
	__atomic_store_n(&e->se_tag, (va & ~(uint64_t)0xfff) | rights,
	    __ATOMIC_SEQ_CST);
	atomic_fetch_add_explicit(&st->st_fills, 1, memory_order_relaxed);
	if (atomic_load(&st->st_seq) != seq) {
		/* a change was reported meanwhile: maybe ours (invariant 3) */
		__atomic_store_n(&e->se_tag, 0, __ATOMIC_SEQ_CST);
		atomic_fetch_add_explicit(&st->st_races, 1,
		    memory_order_relaxed);
	}
out:
	stlb__filling = NULL;
	atomic_store(&st->st_busy, 0);
	return (rc);
}

void
ht_stlb_flush(ht_stlb_t *stlb)
{
	if (stlb != NULL)
		stlb_clear(stlb_of(stlb));
}

int
ht_stlb_set_cpu(ht_stlb_t *stlb, const ht_cpu_t *cpu)
{
	stlb_t *st = stlb_of(stlb);
	hat_t *hat;
	int rc;

	if (st == NULL || cpu == NULL)
		return (ht__fail(HT_EINVAL, "stlb set_cpu: NULL argument"));
	if ((hat = atomic_load(&st->st_hat)) == NULL)
		return (ht__fail(HT_EINVAL, "stlb set_cpu: detached (its "
		    "address space was destroyed)"));
	if ((rc = cpu_check(hat, cpu)) != 0)
		return (rc);
	st->st_cpu = *cpu;
	/* the rights in every tag were decided for the old CPU */
	stlb_clear(st);
	return (0);
}

ht_as_t *
ht_stlb_as(const ht_stlb_t *stlb)
{
	return (stlb == NULL ? NULL : atomic_load(&stlb_of(stlb)->st_hat));
}

int
ht_stlb_stats(const ht_stlb_t *stlb, ht_stlb_stats_t *r_st)
{
	stlb_t *st = stlb_of(stlb);

	if (st == NULL || r_st == NULL)
		return (ht__fail(HT_EINVAL, "stlb stats: NULL argument"));
	memset(r_st, 0, sizeof (*r_st));
	r_st->fills = atomic_load(&st->st_fills);
	r_st->races = atomic_load(&st->st_races);
	r_st->invals = atomic_load(&st->st_invals);
	for (uint64_t i = 0; i <= st->st_pub.st_mask; i++)
		if (__atomic_load_n(&st->st_pub.st_ent[i].se_tag,
		    __ATOMIC_RELAXED) != 0)
			r_st->entries++;
	return (0);
}
