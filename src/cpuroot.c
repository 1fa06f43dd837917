/*
 * cpuroot.c - CPU roots (illumos's per-CPU page tables): keeping the
 * copies of top-level entries that they hold equal to the entries they
 * copy, and the TLB hook, which names the CPU roots that run a space.
 *
 * A CPU root (types.h, struct ht_cpu_root) is a frame whose entries
 * [0, cr_nuser) copy the top-level entries of the space it runs and
 * whose other entries copy those of its kernel space (with KPTI, a
 * second frame: the same user half, and a second kernel space's entries
 * above).  Each space lists the CPU roots that copy it (hat_cpus,
 * hat_kcpus, hat_ukcpus) under its hat_cpu_lock.
 *
 * Invariant: while cr is on a list of hat, every entry that cr copies
 * from hat equals hat's entry, except between the write of hat's entry
 * and cpu_refresh, which its writer calls at once (link_ptp, unlink_ptp
 * in htable.c: the only writers of a root entry in a space that a CPU
 * root copies; 32-bit paging keeps 4 MiB pages out of such roots,
 * HAT_NOROOTLEAF).  Both the copy that joins a list (cpu_attach) and
 * cpu_refresh read hat's entry under hat_cpu_lock after it was written,
 * so whichever of them runs last copies the newest value.  cpu_refresh
 * runs before the writer's TLB batch is delivered: the hook never names
 * a CPU root whose copy is older than the change it reports.
 *
 * Every call of the hook first empties the space's soft TLBs
 * (stlb_inval, stlb.c), and reaches them even when the context has no
 * hook (then it does only that).
 *
 * The TLB hook (cpu_tlb_call, for op.c, share.c and hat.c) names the
 * CPU roots that run the space or copy it as a kernel half, and bumps
 * the space's hat_tlb_gen, in one step under hat_cpu_lock (with
 * config.tlb_info; the plain hook names nobody and ht_switch always
 * says flush).  A CPU root that leaves a space remembers the generation
 * it left at (cr_seen, per PCID), in the same step as it leaves; one
 * that joins reads it in the same step as it joins.  So every hook call
 * either named the CPU root while it ran the space or moved the
 * generation past what it remembers, and ht_switch_t.flush is 0 only
 * when the PCID's cached entries are of this space and still right.
 *
 * Lock order: the context's ctx_cpu_lock (its list of CPU roots: a CPU
 * root is created and destroyed under it, and a space that goes looks
 * for the CPU roots that copy it under it), then a CPU root's cr_lock
 * (its switches, its kernel spaces), then one space's hat_cpu_lock (a
 * leaf: only the context's frame lock may be taken under it).
 * hat_cpu_lock is also taken under a bucket mutex (link_ptp,
 * unlink_ptp), where no other of these is held.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cpuroot.h"
#include "stlb.h"
#include "frame.h"
#include "x86pte.h"
#include "debug.h"
#include "lock.h"

/* hat's top-level entry e as the MMU would read it from its root. */
static x86pte_t
hat_top_entry(const hat_t *hat, unsigned e)
{
	const htable_t *root = hat->hat_htable;
	const mmu_t *m = &hat->hat_ctx->ctx_mmu;

	if (root == NULL)
		return (0);
	if (root->ht_flags & HTABLE_COPIED)
		return (atomic_load_explicit((_Atomic uint64_t *)
		    &hat->hat_copied_ptes[e], memory_order_acquire));
	return (pte_load(m->pte_size, pte_ptr(m->pte_shift, root->ht_ptr, e)));
}

static void
cr_store(const cpu_root_t *cr, int which, unsigned e, x86pte_t v)
{
	const mmu_t *m = &cr->cr_ctx->ctx_mmu;

	pte_store(m->pte_size, pte_ptr(m->pte_shift, cr->cr_ptr[which], e), v);
}

x86pte_t
cpu_root_entry(const cpu_root_t *cr, int which, unsigned e)
{
	const mmu_t *m = &cr->cr_ctx->ctx_mmu;

	return (pte_load(m->pte_size, pte_ptr(m->pte_shift, cr->cr_ptr[which],
	    e)));
}

/*
 * Copy entries [lo, hi) of hat (NULL: zeros) into root `which` of cr: a
 * switch's work, so the loop is plain (the source found once, and only
 * entries that differ written: two spaces' unused entries cost a load).
 */
static void
cr_copy(cpu_root_t *cr, int which, const hat_t *hat, unsigned lo,
    unsigned hi)
{
	const mmu_t *m = &cr->cr_ctx->ctx_mmu;
	uint8_t *dst = cr->cr_ptr[which];
	const htable_t *root = hat != NULL ? hat->hat_htable : NULL;
	int sz = m->pte_size, shift = m->pte_shift;

	if (root != NULL && (root->ht_flags & HTABLE_COPIED) && sz == 8) {
		/* the common case, 8-byte entries both sides: a tight loop */
		_Atomic uint64_t *s8 = (_Atomic uint64_t *)hat->hat_copied_ptes;
		_Atomic uint64_t *d8 = (_Atomic uint64_t *)(void *)dst;

		for (unsigned e = lo; e < hi; e++) {
			uint64_t v = atomic_load_explicit(&s8[e],
			    memory_order_acquire);

			if (atomic_load_explicit(&d8[e], memory_order_relaxed) !=
			    v)
				atomic_store_explicit(&d8[e], v,
				    memory_order_release);
		}
		return;
	}
	for (unsigned e = lo; e < hi; e++) {
		x86pte_t v = hat != NULL ? hat_top_entry(hat, e) : 0;
		void *p = pte_ptr(shift, dst, e);

		if (pte_load(sz, p) != v)
			pte_store(sz, p, v);
	}
}

static void
list_add(cpu_root_t **head, cpu_root_t *cr, size_t link)
{
	*(cpu_root_t **)((char *)cr + link) = *head;
	*head = cr;
}

static void
list_del(cpu_root_t **head, cpu_root_t *cr, size_t link)
{
	for (cpu_root_t **pp = head; *pp != NULL;
	    pp = (cpu_root_t **)((char *)*pp + link)) {
		if (*pp == cr) {
			*pp = *(cpu_root_t **)((char *)cr + link);
			return;
		}
	}
	HT_VERIFY(0);	/* cr was on the list */
}

#define RUN_LINK	offsetof(cpu_root_t, cr_run_next)
#define KERN_LINK	offsetof(cpu_root_t, cr_kern_next)
#define UKERN_LINK	offsetof(cpu_root_t, cr_ukern_next)

void
cpu_refresh(hat_t *hat, unsigned e)
{
	x86pte_t v;

	mutex_enter(&hat->hat_cpu_lock, LR_CPU);
	v = hat_top_entry(hat, e);
	for (cpu_root_t *cr = hat->hat_cpus; cr != NULL; cr = cr->cr_run_next)
		if (e < cr->cr_nuser) {
			cr_store(cr, CR_KERN, e, v);
			if (cr->cr_kpti)
				cr_store(cr, CR_USER, e, v);
		}
	for (cpu_root_t *cr = hat->hat_kcpus; cr != NULL;
	    cr = cr->cr_kern_next)
		if (e >= cr->cr_nuser)
			cr_store(cr, CR_KERN, e, v);
	for (cpu_root_t *cr = hat->hat_ukcpus; cr != NULL;
	    cr = cr->cr_ukern_next)
		if (e >= cr->cr_nuser)
			cr_store(cr, CR_USER, e, v);
	mutex_exit(&hat->hat_cpu_lock);
}

/* Kernel half `which` (CR_KERN, CR_USER) of cr: its space, its list. */
static hat_t **
kslot(cpu_root_t *cr, int which)
{
	return (which == CR_KERN ? &cr->cr_kernel : &cr->cr_ukernel);
}

static cpu_root_t **
klist(hat_t *k, int which)
{
	return (which == CR_KERN ? &k->hat_kcpus : &k->hat_ukcpus);
}

#define KLINK(which)	((which) == CR_KERN ? KERN_LINK : UKERN_LINK)

void
cpu_attach_kernel(cpu_root_t *cr)
{
	unsigned n = cr->cr_ctx->ctx_mmu.top_level_count;

	for (int w = CR_KERN; w <= CR_USER; w++) {
		hat_t *k = *kslot(cr, w);

		if (k == NULL)
			continue;
		mutex_enter(&k->hat_cpu_lock, LR_CPU);
		list_add(klist(k, w), cr, KLINK(w));
		cr_copy(cr, w, k, cr->cr_nuser, n);
		mutex_exit(&k->hat_cpu_lock);
	}
}

void
cpu_detach_kernel(cpu_root_t *cr, int zero)
{
	unsigned n = cr->cr_ctx->ctx_mmu.top_level_count;

	HT_ASSERT(lock_held(&cr->cr_lock));
	for (int w = CR_KERN; w <= CR_USER; w++) {
		hat_t *k = *kslot(cr, w);

		if (k == NULL)
			continue;
		mutex_enter(&k->hat_cpu_lock, LR_CPU);
		list_del(klist(k, w), cr, KLINK(w));
		if (zero)
			cr_copy(cr, w, NULL, cr->cr_nuser, n);
		mutex_exit(&k->hat_cpu_lock);
		*kslot(cr, w) = NULL;
	}
}

/* The PCID cr last ran hat under (hat_pcid may change meanwhile). */
static void
seen_record(cpu_root_t *cr, unsigned pcid, uint64_t hat_id, uint64_t gen)
{
	unsigned i;

	for (i = 0; i < CR_SEEN; i++)
		if (cr->cr_seen[i].hat_id != 0 && cr->cr_seen[i].pcid == pcid)
			break;
	if (i == CR_SEEN)
		i = cr->cr_seen_next++ % CR_SEEN;
	cr->cr_seen[i].pcid = pcid;
	cr->cr_seen[i].hat_id = hat_id;
	cr->cr_seen[i].gen = gen;
}

/* Are the entries cached under pcid hat's, as of generation gen? */
static int
seen_fresh(const cpu_root_t *cr, unsigned pcid, uint64_t hat_id,
    uint64_t gen)
{
	for (unsigned i = 0; i < CR_SEEN; i++)
		if (cr->cr_seen[i].hat_id != 0 && cr->cr_seen[i].pcid == pcid)
			return (cr->cr_seen[i].hat_id == hat_id &&
			    cr->cr_seen[i].gen == gen);
	return (0);
}

int
cpu_run(cpu_root_t *cr, hat_t *hat, unsigned pcid)
{
	hat_t *old = atomic_load(&cr->cr_running);
	int copied = hat != NULL &&
	    (hat->hat_htable->ht_flags & HTABLE_COPIED);
	int fresh;

	HT_ASSERT(lock_held(&cr->cr_lock));
	if (old != NULL) {
		uint64_t gen;

		mutex_enter(&old->hat_cpu_lock, LR_CPU);
		gen = atomic_load(&old->hat_tlb_gen);
		list_del(&old->hat_cpus, cr, RUN_LINK);
		atomic_store(&cr->cr_running, NULL);
		mutex_exit(&old->hat_cpu_lock);
		seen_record(cr, cr->cr_run_pcid, old->hat_id, gen);
	}
	if (hat == NULL || !copied) {
		/* nothing, or a space that runs on its own root */
		cr_copy(cr, CR_KERN, NULL, 0, cr->cr_nuser);
		if (cr->cr_kpti)
			cr_copy(cr, CR_USER, NULL, 0, cr->cr_nuser);
	}
	if (hat == NULL)
		return (0);
	mutex_enter(&hat->hat_cpu_lock, LR_CPU);
	list_add(&hat->hat_cpus, cr, RUN_LINK);
	atomic_store(&cr->cr_running, hat);
	if (copied) {
		cr_copy(cr, CR_KERN, hat, 0, cr->cr_nuser);
		if (cr->cr_kpti)
			cr_copy(cr, CR_USER, hat, 0, cr->cr_nuser);
	}
	fresh = seen_fresh(cr, pcid, hat->hat_id,
	    atomic_load(&hat->hat_tlb_gen));
	mutex_exit(&hat->hat_cpu_lock);
	cr->cr_run_pcid = pcid;
	return (fresh && hat->hat_ctx->ctx_cfg.tlb_info != NULL);
}

/* Call the hook for hat with the CPU roots ids[0..n) (no lock held). */
static void
tlb_call_to(hat_t *hat, uint64_t va, uint64_t len, const unsigned *ids,
    unsigned n, unsigned flags)
{
	ht_ctx_t *ctx = hat->hat_ctx;
	ht_tlb_info_t ti;

	HT_ASSERT(lock_none_held());	/* none at the TLB hook */
	/* the soft TLBs first: they are emptied whether or not a hook is */
	stlb_inval(hat, va, len);
	/* no MMU caches a no-MMU space's entries: no hook (nommu.c) */
	if (!ctx->ctx_tlb_on ||
	    (atomic_load(&hat->hat_flags) & HAT_NOMMU))
		return;
	HATSTAT_INC(ctx, tlb_calls);
	if (ctx->ctx_cfg.tlb != NULL) {
		ctx->ctx_cfg.tlb(ctx->ctx_cfg.tlb_arg, hat, va, len);
		return;
	}
	memset(&ti, 0, sizeof (ti));
	ti.as = hat;
	ti.va = va;
	ti.len = len;
	ti.pcid = atomic_load_explicit(&hat->hat_pcid, memory_order_relaxed);
	ti.flags = flags;
	ti.ncpus = n;
	ti.cpus = ids;
	ctx->ctx_cfg.tlb_info(ctx->ctx_cfg.tlb_arg, &ti);
}

/*
 * An id list that grows: ids starts as the caller's buffer of cap; on
 * no memory for more, HT_TLBI_ALLCPUS is set in *flags instead.
 */
typedef struct idlist {
	unsigned	*ids;
	unsigned	n;
	unsigned	cap;
	unsigned	flags;
	unsigned	*own;	/* ids when it is ours to free */
} idlist_t;

static void
idlist_add(idlist_t *l, unsigned id)
{
	if (l->n == l->cap) {
		unsigned *nids = NULL;

		if (l->cap < (1u << 24))
			nids = malloc(2 * (size_t)l->cap * sizeof (*nids));
		if (nids == NULL) {
			l->flags |= HT_TLBI_ALLCPUS;
			return;
		}
		memcpy(nids, l->ids, l->n * sizeof (*nids));
		free(l->own);
		l->ids = l->own = nids;
		l->cap *= 2;
	}
	l->ids[l->n++] = id;
}

/* The hook, told of [va, va + len) of hat (no library lock held). */
void
cpu_tlb_call(hat_t *hat, uint64_t va, uint64_t len)
{
	unsigned buf[64];
	idlist_t l = { buf, 0, 64, 0, NULL };

	/* the list and the generation in one step: see the header comment */
	if (hat->hat_ctx->ctx_cfg.tlb_info != NULL) {
		mutex_enter(&hat->hat_cpu_lock, LR_CPU);
		for (cpu_root_t *cr = hat->hat_cpus; cr != NULL;
		    cr = cr->cr_run_next)
			idlist_add(&l, cr->cr_id);
		for (cpu_root_t *cr = hat->hat_kcpus; cr != NULL;
		    cr = cr->cr_kern_next)
			idlist_add(&l, cr->cr_id);
		for (cpu_root_t *cr = hat->hat_ukcpus; cr != NULL;
		    cr = cr->cr_ukern_next)
			if (cr->cr_kernel != hat)
				idlist_add(&l, cr->cr_id);
		atomic_fetch_add(&hat->hat_tlb_gen, 1);
		mutex_exit(&hat->hat_cpu_lock);
	}
	tlb_call_to(hat, va, len, l.ids, l.n, l.flags);
	free(l.own);
}

void
cpu_detach_hat(hat_t *hat, int tlb)
{
	ht_ctx_t *ctx = hat->hat_ctx;
	unsigned buf[64];
	idlist_t l = { buf, 0, 64, 0, NULL };
	int used;

	mutex_enter(&hat->hat_cpu_lock, LR_CPU);
	used = hat->hat_cpus != NULL || hat->hat_kcpus != NULL ||
	    hat->hat_ukcpus != NULL;
	mutex_exit(&hat->hat_cpu_lock);
	if (!used) {
		if (tlb)
			cpu_tlb_call(hat, 0, HT_TLB_ALL);
		return;
	}
	/*
	 * The space goes: no CPU root may keep a link to its tables.  The
	 * context's list lock keeps every CPU root alive while we look, and
	 * each one's own lock keeps its switches out.
	 */
	mutex_enter(&ctx->ctx_cpu_lock, LR_CPUS);
	for (cpu_root_t *cr = ctx->ctx_cpus; cr != NULL; cr = cr->cr_next) {
		mutex_enter(&cr->cr_lock, LR_CROOT);
		if (atomic_load(&cr->cr_running) == hat) {
			(void) cpu_run(cr, NULL, 0);
			idlist_add(&l, cr->cr_id);
		}
		if (cr->cr_kernel == hat || cr->cr_ukernel == hat) {
			hat_t *k = cr->cr_kernel, *uk = cr->cr_ukernel;

			/* detach both, then put back the one that stays */
			cpu_detach_kernel(cr, 1);
			cr->cr_kernel = k == hat ? NULL : k;
			cr->cr_ukernel = uk == hat ? NULL : uk;
			cpu_attach_kernel(cr);
		}
		mutex_exit(&cr->cr_lock);
	}
	mutex_exit(&ctx->ctx_cpu_lock);
	/* the CPU roots that ran it no longer link its tables: now flush */
	if (tlb) {
		atomic_fetch_add(&hat->hat_tlb_gen, 1);
		tlb_call_to(hat, 0, HT_TLB_ALL, l.ids, l.n, l.flags);
	}
	free(l.own);
}

/* Does the copy at (cr, which, e) equal v (the MMU may set Accessed)? */
static int
copy_ok(const cpu_root_t *cr, int which, unsigned e, x86pte_t v)
{
	const mmu_t *m = &cr->cr_ctx->ctx_mmu;
	x86pte_t have = cpu_root_entry(cr, which, e);

	if ((have & ~m->pt_ref) != (v & ~m->pt_ref))
		return (ht__fail(HT_ECORRUPT, "CPU root %u, %s root, entry %u: "
		    "0x%llx, the space's entry is 0x%llx", cr->cr_id,
		    which == CR_KERN ? "kernel" : "user", e,
		    (unsigned long long)have, (unsigned long long)v));
	if (m->mode == HT_MODE_32BIT && pte_valid(m, v) && (v & PT_PAGESIZE))
		return (ht__fail(HT_ECORRUPT, "CPU root %u copies a 4 MiB page "
		    "at entry %u", cr->cr_id, e));
	return (0);
}

int
cpu_audit_copies(hat_t *hat)
{
	unsigned n = hat->hat_ctx->ctx_mmu.top_level_count;
	int err = 0;

	mutex_enter(&hat->hat_cpu_lock, LR_CPU);
	for (cpu_root_t *cr = hat->hat_cpus; cr != NULL && err == 0;
	    cr = cr->cr_run_next) {
		if (!(hat->hat_htable->ht_flags & HTABLE_COPIED))
			continue;	/* it runs on its own root */
		for (unsigned e = 0; e < cr->cr_nuser && err == 0; e++)
			for (int w = 0; w < 1 + cr->cr_kpti && err == 0; w++)
				err = copy_ok(cr, w, e, hat_top_entry(hat, e));
	}
	for (cpu_root_t *cr = hat->hat_kcpus; cr != NULL && err == 0;
	    cr = cr->cr_kern_next)
		for (unsigned e = cr->cr_nuser; e < n && err == 0; e++)
			err = copy_ok(cr, CR_KERN, e, hat_top_entry(hat, e));
	for (cpu_root_t *cr = hat->hat_ukcpus; cr != NULL && err == 0;
	    cr = cr->cr_ukern_next)
		for (unsigned e = cr->cr_nuser; e < n && err == 0; e++)
			err = copy_ok(cr, CR_USER, e, hat_top_entry(hat, e));
	mutex_exit(&hat->hat_cpu_lock);
	return (err);
}
