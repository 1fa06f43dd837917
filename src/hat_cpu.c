/*
 * hat_cpu.c - the public calls on CPU roots (illumos hat_switch,
 * hat_pcp_update, KPTI's per-CPU user root): create, destroy, switch,
 * the PCID of a space, and the audit of a CPU root.  Keeping the copies
 * equal to their spaces is cpuroot.c's; this file checks arguments,
 * takes frames and says what to load in CR3.
 *
 * A CPU root lives on its context's list (ctx_cpus, ctx_cpu_lock) from
 * create to destroy; its switches are serialized by its cr_lock.  Lock
 * order: ctx_cpu_lock, cr_lock, then a space's hat_cpu_lock (cpuroot.c).
 */
#include <stdlib.h>
#include <string.h>

#include "htable_int.h"
#include "x86pte.h"
#include "frame.h"
#include "cpuroot.h"
#include "nommu.h"
#include "debug.h"
#include "lock.h"

#define KPTI_USER_PCID	0x800u	/* the user root's PCID bit (as Linux) */

static uint64_t
top_va(const mmu_t *m, unsigned e)
{
	return (mmu_canon(m, (uint64_t)e << LEVEL_SHIFT(m, m->max_level)));
}

/*
 * Check a kernel space for cr (what): of ctx, not copied, and in 32-bit
 * paging without a 4 MiB page in the kernel half [nuser, n).
 */
static int
kernel_check(ht_ctx_t *ctx, hat_t *k, unsigned nuser, const char *what)
{
	const mmu_t *m = &ctx->ctx_mmu;

	if (k->hat_ctx != ctx)
		return (ht__fail(HT_EINVAL, "cfg.%s is a space of another "
		    "context", what));
	if (k->hat_htable->ht_flags & HTABLE_COPIED)
		return (ht__fail(HT_EINVAL, "cfg.%s is an HT_AS_COPIED space "
		    "(it has no root of its own to copy)", what));
	if (m->mode != HT_MODE_32BIT)
		return (0);
	for (unsigned e = nuser; e < m->top_level_count; e++) {
		x86pte_t pte = x86pte_get(k->hat_htable, e);

		if (pte_valid(m, pte) && (pte & PT_PAGESIZE))
			return (ht__fail(HT_EINVAL, "cfg.%s maps a 4 MiB page "
			    "at 0x%llx, in the kernel half: a CPU root would "
			    "hold a copy of it", what,
			    (unsigned long long)top_va(m, e)));
	}
	return (0);
}

/* Every page kpti_user maps in the kernel half, the kernel maps alike. */
struct kpti_check {
	hat_t		*kernel;
	int		err;
};

static int
kpti_leaf(void *arg, const ht_leaf_t *leaf)
{
	struct kpti_check *kc = arg;
	uint64_t off = 0;

	if (kc->kernel == NULL) {
		kc->err = ht__fail(HT_EINVAL, "cfg.kpti_user maps va 0x%llx "
		    "in the kernel half and there is no cfg.kernel to map it "
		    "too (the entry code runs on both roots)",
		    (unsigned long long)leaf->va);
		return (1);
	}
	while (off < leaf->size) {
		ht_xlate_t x;
		uint64_t step;

		if (ht_translate(kc->kernel, leaf->va + off, &x) != 0 ||
		    x.pa != leaf->pa + off) {
			kc->err = ht__fail(HT_EINVAL, "cfg.kpti_user maps va "
			    "0x%llx to pa 0x%llx, which cfg.kernel does not "
			    "map the same (the entry code runs on both "
			    "roots)", (unsigned long long)(leaf->va + off),
			    (unsigned long long)(leaf->pa + off));
			return (1);
		}
		/* the rest of the kernel's page, at most */
		step = x.page_size - ((leaf->va + off) & (x.page_size - 1));
		off += step;
	}
	return (0);
}

int
ht_cpu_root_create(ht_ctx_t *ctx, const ht_cpu_root_cfg_t *cfg,
    ht_cpu_root_t **r_cr)
{
	const mmu_t *m;
	cpu_root_t *cr;
	unsigned n, nuser;
	int err;

	if (ctx == NULL || cfg == NULL || r_cr == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	m = &ctx->ctx_mmu;
	n = m->top_level_count;
	nuser = cfg->user_entries;
	if (nuser == 0) {
		if (cfg->kernel == NULL && cfg->kpti_user == NULL)
			nuser = n;
		else
			nuser = m->num_level >= 4 ? n / 2 : n / 4 * 3;
	}
	if (nuser > n)
		return (ht__fail(HT_EINVAL, "cfg.user_entries %u is more than "
		    "the root's %u", nuser, n));
	if (nuser == n && (cfg->kernel != NULL || cfg->kpti_user != NULL))
		return (ht__fail(HT_EINVAL, "cfg.user_entries %u leaves no "
		    "kernel half for the kernel space", nuser));
	if (ctx->ctx_cfg.kpti && cfg->kpti_user == NULL)
		return (ht__fail(HT_EINVAL, "cfg.kpti_user is required with "
		    "config.kpti (the user root's kernel half)"));
	if (!ctx->ctx_cfg.kpti && cfg->kpti_user != NULL)
		return (ht__fail(HT_EINVAL, "cfg.kpti_user without "
		    "config.kpti"));
	if (cfg->kernel != NULL &&
	    (err = kernel_check(ctx, cfg->kernel, nuser, "kernel")) != 0)
		return (err);
	if (cfg->kpti_user != NULL &&
	    (err = kernel_check(ctx, cfg->kpti_user, nuser, "kpti_user")) != 0)
		return (err);
	if (cfg->kpti_user != NULL) {
		struct kpti_check kc = { cfg->kernel, 0 };
		uint64_t lo = top_va(m, nuser);

		err = ht_walk(cfg->kpti_user, lo, mmu_va_last(m),
		    kpti_leaf, &kc);
		if (kc.err != 0)
			return (kc.err);
		if (err < 0)
			return (err);
	}
	/* their entries are copied into roots that MMUs walk (nommu.c) */
	if ((cfg->kernel != NULL && (err = nm_set_mmu(cfg->kernel, 1)) != 0) ||
	    (cfg->kpti_user != NULL &&
	    (err = nm_set_mmu(cfg->kpti_user, 1)) != 0))
		return (err);
	if ((cr = calloc(1, sizeof (*cr))) == NULL)
		return (ht__fail(HT_ENOMEM, "no memory for a CPU root"));
	cr->cr_ctx = ctx;
	cr->cr_id = cfg->id;
	cr->cr_nuser = nuser;
	cr->cr_kpti = ctx->ctx_cfg.kpti;
	cr->cr_pfn[0] = cr->cr_pfn[1] = HT_PFN_INVALID;
	for (int i = 0; i < 1 + cr->cr_kpti; i++) {
		if ((err = ptable_alloc(ctx, 1, &cr->cr_pfn[i])) != 0 ||
		    (cr->cr_ptr[i] = ptable_map(ctx, cr->cr_pfn[i])) == NULL) {
			if (err == 0) {
				err = ht__fail(HT_EPROVIDER, "the provider "
				    "cannot map frame 0x%llx",
				    (unsigned long long)cr->cr_pfn[i]);
				ptable_free(ctx, cr->cr_pfn[i]);
			} else if (err == -HT_ENOFRAME) {
				(void) ht__fail(HT_ENOFRAME, "no frame for a "
				    "CPU root");
			}
			if (i == 1)
				ptable_free(ctx, cr->cr_pfn[0]);
			free(cr);
			return (err);
		}
		memset(cr->cr_ptr[i], 0, HT_PAGE_SIZE);
	}
	(void) pthread_mutex_init(&cr->cr_lock, NULL);
	cr->cr_kernel = cfg->kernel;
	cr->cr_ukernel = cfg->kpti_user;
	mutex_enter(&ctx->ctx_cpu_lock, LR_CPUS);
	for (cpu_root_t *o = ctx->ctx_cpus; o != NULL; o = o->cr_next) {
		if (o->cr_id == cfg->id) {
			mutex_exit(&ctx->ctx_cpu_lock);
			for (int i = 0; i < 1 + cr->cr_kpti; i++)
				ptable_free(ctx, cr->cr_pfn[i]);
			(void) pthread_mutex_destroy(&cr->cr_lock);
			free(cr);
			return (ht__fail(HT_EEXIST, "CPU root id %u is taken",
			    cfg->id));
		}
	}
	/* 32-bit paging: no 4 MiB page may come into a copied half later */
	if (m->mode == HT_MODE_32BIT) {
		if (cfg->kernel != NULL)
			atomic_fetch_or(&cfg->kernel->hat_flags,
			    HAT_NOROOTLEAF);
		if (cfg->kpti_user != NULL)
			atomic_fetch_or(&cfg->kpti_user->hat_flags,
			    HAT_NOROOTLEAF);
	}
	cpu_attach_kernel(cr);
	cr->cr_next = ctx->ctx_cpus;
	ctx->ctx_cpus = cr;
	mutex_exit(&ctx->ctx_cpu_lock);
	*r_cr = cr;
	return (0);
}

void
ht_cpu_root_destroy(ht_cpu_root_t *cr)
{
	ht_ctx_t *ctx;

	if (cr == NULL)
		return;
	ctx = cr->cr_ctx;
	mutex_enter(&ctx->ctx_cpu_lock, LR_CPUS);
	for (cpu_root_t **pp = &ctx->ctx_cpus; ; pp = &(*pp)->cr_next) {
		HT_VERIFY(*pp != NULL);		/* cr is on the list */
		if (*pp == cr) {
			*pp = cr->cr_next;
			break;
		}
	}
	mutex_enter(&cr->cr_lock, LR_CROOT);
	(void) cpu_run(cr, NULL, 0);
	cpu_detach_kernel(cr, 0);
	mutex_exit(&cr->cr_lock);
	mutex_exit(&ctx->ctx_cpu_lock);
	for (int i = 0; i < 1 + cr->cr_kpti; i++)
		ptable_free(ctx, cr->cr_pfn[i]);
	(void) pthread_mutex_destroy(&cr->cr_lock);
	free(cr);
}

int
ht_switch(ht_cpu_root_t *cr, ht_as_t *as, ht_switch_t *r_sw)
{
	hat_t *hat = as;
	const mmu_t *m;
	unsigned pcid = 0;
	uint64_t root;
	int fresh, err;

	if (cr == NULL || r_sw == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	if (hat != NULL && hat->hat_ctx != cr->cr_ctx)
		return (ht__fail(HT_EINVAL, "the space is of another context"));
	if (hat != NULL && cr->cr_kpti &&
	    !(hat->hat_htable->ht_flags & HTABLE_COPIED))
		return (ht__fail(HT_EINVAL, "a KPTI CPU root runs only "
		    "HT_AS_COPIED spaces"));
	/* the CR3 we give is what an MMU walks next: live (nommu.c) */
	if (hat != NULL && (err = nm_set_mmu(hat, 1)) != 0)
		return (err);
	if (hat != NULL)
		pcid = atomic_load(&hat->hat_pcid);
	mutex_enter(&cr->cr_lock, LR_CROOT);
	fresh = cpu_run(cr, hat, pcid);
	mutex_exit(&cr->cr_lock);
	if (hat != NULL && !(hat->hat_htable->ht_flags & HTABLE_COPIED))
		root = hat_root_pa(hat);
	else
		root = (uint64_t)cr->cr_pfn[CR_KERN] << HT_PAGE_SHIFT;
	r_sw->cr3 = root | pcid;
	r_sw->user_cr3 = r_sw->cr3;
	if (cr->cr_kpti)
		r_sw->user_cr3 = ((uint64_t)cr->cr_pfn[CR_USER] <<
		    HT_PAGE_SHIFT) | (pcid != 0 ? pcid | KPTI_USER_PCID : 0);
	/*
	 * EPT: EPT pointers (ht_as_eptp's, WB); a KPTI pair is two of them,
	 * two views of guest-physical memory (pcid is 0: ht_as_set_pcid)
	 */
	m = &cr->cr_ctx->ctx_mmu;
	if (m->ept) {
		uint64_t low = mmu_eptp_low(m) | HT_EPT_WB;

		r_sw->cr3 |= low;
		r_sw->user_cr3 |= low;
	}
	r_sw->flush = !fresh;
	return (0);
}

ht_as_t *
ht_cpu_root_running(const ht_cpu_root_t *cr)
{
	return (atomic_load(&((cpu_root_t *)cr)->cr_running));
}

unsigned
ht_cpu_root_id(const ht_cpu_root_t *cr)
{
	return (cr->cr_id);
}

ht_pa_t
ht_cpu_root_pa(const ht_cpu_root_t *cr, int user)
{
	if (user && !cr->cr_kpti)
		return (0);
	return ((ht_pa_t)cr->cr_pfn[user ? CR_USER : CR_KERN] <<
	    HT_PAGE_SHIFT);
}

int
ht_as_set_pcid(ht_as_t *as, unsigned pcid)
{
	hat_t *hat = as;
	const mmu_t *m;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	m = hat_mmu(hat);
	if (m->num_level < 4)
		return (ht__fail(HT_EINVAL, "no PCIDs in %s paging",
		    m->mode == HT_MODE_PAE ? "PAE" : "32-bit"));
	/* an EPTP's low bits are its memory type, walk length and A/D */
	if (m->ept)
		return (ht__fail(HT_EINVAL, "no PCIDs in EPT: a VMM tags a "
		    "guest's translations with its VPID"));
	if (pcid >= (hat->hat_ctx->ctx_cfg.kpti ? KPTI_USER_PCID : 4096u))
		return (ht__fail(HT_EINVAL, "PCID 0x%x is out of range "
		    "(below 0x%x%s)", pcid, hat->hat_ctx->ctx_cfg.kpti ?
		    KPTI_USER_PCID : 4096u, hat->hat_ctx->ctx_cfg.kpti ?
		    ": KPTI's user roots use bit 11" : ""));
	atomic_store(&hat->hat_pcid, pcid);
	return (0);
}

/* Does entry e of root `which` of cr equal `want`? */
static int
audit_entry(const cpu_root_t *cr, int which, unsigned e, x86pte_t want,
    const char *half)
{
	const mmu_t *m = &cr->cr_ctx->ctx_mmu;
	x86pte_t have = cpu_root_entry(cr, which, e);

	/* the MMU may set Accessed in a link it walked */
	if ((have & ~m->pt_ref) == (want & ~m->pt_ref))
		return (0);
	return (ht__fail(HT_ECORRUPT, "CPU root %u, %s root, entry %u (va "
	    "0x%llx, %s half): 0x%llx, its space has 0x%llx", cr->cr_id,
	    which == CR_KERN ? "kernel" : "user", e,
	    (unsigned long long)top_va(m, e), half,
	    (unsigned long long)have, (unsigned long long)want));
}

static x86pte_t
space_entry(hat_t *hat, unsigned e)
{
	if (hat == NULL)
		return (0);
	return (x86pte_get(hat->hat_htable, e));
}

int
ht_cpu_root_audit(ht_cpu_root_t *cr)
{
	unsigned n;
	hat_t *run;
	int err = 0;

	if (cr == NULL)
		return (ht__fail(HT_EINVAL, "NULL CPU root"));
	n = cr->cr_ctx->ctx_mmu.top_level_count;
	mutex_enter(&cr->cr_lock, LR_CROOT);
	run = atomic_load(&cr->cr_running);
	if (run != NULL && !(run->hat_htable->ht_flags & HTABLE_COPIED))
		run = NULL;	/* it runs on its own root */
	for (int w = 0; w < 1 + cr->cr_kpti && err == 0; w++) {
		hat_t *k = w == CR_KERN ? cr->cr_kernel : cr->cr_ukernel;

		for (unsigned e = 0; e < n && err == 0; e++)
			err = audit_entry(cr, w, e, e < cr->cr_nuser ?
			    space_entry(run, e) : space_entry(k, e),
			    e < cr->cr_nuser ? "user" : "kernel");
	}
	mutex_exit(&cr->cr_lock);
	return (err);
}
