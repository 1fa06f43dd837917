/*
 * hat.c - address spaces: create, import, destroy, and what a space is
 * asked about itself (root, context, purge).  Every call on a space runs
 * in an operation frame (op.c, op_tables.c); the tables come from
 * alloc.c and, for an import, import.c.
 */
#include <stdlib.h>
#include <string.h>

#include "htable_int.h"
#include "x86pte.h"
#include "frame.h"
#include "hat.h"
#include "hat_one.h"
#include "op.h"
#include "share.h"
#include "cpuroot.h"
#include "stlb.h"
#include "rmap.h"
#include "debug.h"
#include "lock.h"

static hat_t *
hat_alloc_struct(ht_ctx_t *ctx, unsigned flags)
{
	/* 64-byte aligned: hat_qd and hat_gen share one line (types.h) */
	size_t sz = (sizeof (hat_t) + 63) & ~(size_t)63;
	hat_t *hat = aligned_alloc(64, sz);
	ht_hash_t *t;

	if (hat == NULL)
		return (NULL);
	memset(hat, 0, sz);
	hat->hat_ctx = ctx;
	t = htable_hash_alloc(ctx->ctx_cfg.hash_buckets);
	hat->hat_pm = aligned_alloc(64, HAT_SHARDS * sizeof (hat_pm_t));
	if (t == NULL || hat->hat_pm == NULL) {
		free(t);
		free(hat->hat_pm);
		free(hat);
		return (NULL);
	}
	atomic_store(&hat->hat_hash, t);
	atomic_store(&hat->hat_hash_mask, t->hh_mask);
	memset(hat->hat_pm, 0, HAT_SHARDS * sizeof (hat_pm_t));
	hat->hat_max_level = ctx->ctx_mmu.max_level;
	wc_init(hat, &ctx->ctx_mmu);
	atomic_store(&hat->hat_flags, flags);
	(void) pthread_mutex_init(&hat->hat_cpu_lock, NULL);
	(void) pthread_mutex_init(&hat->hat_nm_lock, NULL);
	(void) pthread_mutex_init(&hat->hat_stlb_lock, NULL);
	hat->hat_id = atomic_fetch_add(&ctx->ctx_next_hat_id, 1) + 1;
	lockmap_init(&hat->hat_locks);
	return (hat);
}

static void
hat_list_insert(hat_t *hat)
{
	ht_ctx_t *ctx = hat->hat_ctx;

	mutex_enter(&ctx->ctx_list_lock, LR_LIST);
	hat->hat_prev = NULL;
	hat->hat_next = ctx->ctx_hat_head;
	if (ctx->ctx_hat_head != NULL)
		ctx->ctx_hat_head->hat_prev = hat;
	else
		ctx->ctx_hat_tail = hat;
	ctx->ctx_hat_head = hat;
	ctx->ctx_num_hats++;
	mutex_exit(&ctx->ctx_list_lock);
}

/* Remove from the list (ctx_list_lock held). */
static void
hat_list_remove(hat_t *hat)
{
	ht_ctx_t *ctx = hat->hat_ctx;

	if (hat->hat_prev != NULL)
		hat->hat_prev->hat_next = hat->hat_next;
	else
		ctx->ctx_hat_head = hat->hat_next;
	if (hat->hat_next != NULL)
		hat->hat_next->hat_prev = hat->hat_prev;
	else
		ctx->ctx_hat_tail = hat->hat_prev;
	ctx->ctx_num_hats--;
}

void
hat_free_struct(hat_t *hat)
{
	(void) pthread_mutex_destroy(&hat->hat_cpu_lock);
	(void) pthread_mutex_destroy(&hat->hat_nm_lock);
	(void) pthread_mutex_destroy(&hat->hat_stlb_lock);
	lockmap_fini(&hat->hat_locks);
	for (ht_hash_t *t = htable_hash_cur(hat), *old; t != NULL; t = old) {
		old = t->hh_old;
		free(t);
	}
	free(hat->hat_pm);
	free(hat->hat_copied_ptes);
	free(hat);
}

/*
 * hat_create: a new address space with HAT_* flags.  HAT_COPIED makes the
 * root a frameless HTABLE_COPIED table whose entries live in
 * hat_copied_ptes (illumos's per-CPU page tables: ht_switch copies them
 * into CPU roots, and cpuroot.c keeps the copies equal).
 */
int
hat_create(ht_ctx_t *ctx, unsigned hat_flags, hat_t **r_hat)
{
	hat_t *hat;
	htable_t *root;
	op_t op;
	int err = 0;

	hat = hat_alloc_struct(ctx, hat_flags);
	if (hat == NULL)
		return (ht__fail(HT_ENOMEM, "no memory for an address space"));
	if (hat_flags & HAT_COPIED) {
		hat->hat_num_copied = ctx->ctx_mmu.top_level_count;
		hat->hat_copied_ptes = calloc(hat->hat_num_copied,
		    sizeof (x86pte_t));
		if (hat->hat_copied_ptes == NULL) {
			hat_free_struct(hat);
			return (ht__fail(HT_ENOMEM, "no memory for copied "
			    "root entries"));
		}
	}
	op_begin(&op, hat);
	root = htable_create(hat, 0, hat->hat_max_level, NULL, &err);
	op_end(&op);
	if (root == NULL) {
		hat_free_struct(hat);
		return (err);
	}
	/* The root's hold is never released. */
	hat->hat_htable = root;
	hat_qd_init(hat);
	hat_list_insert(hat);
	*r_hat = hat;
	return (0);
}

/*
 * The hat_flags that ht_as_create's and ht_as_import's common flags ask
 * for (a serial space is never stolen from: hat_one.c).
 */
static unsigned
hat_user_flags(unsigned flags)
{
	return (((flags & (HT_AS_NOSTEAL | HT_AS_SERIAL)) ? HAT_NOSTEAL : 0) |
	    ((flags & HT_AS_NOMMU) ? HAT_NOMMU : 0) |
	    ((flags & HT_AS_SERIAL) ? HAT_SERIAL : 0));
}

int
ht_as_create(ht_ctx_t *ctx, unsigned flags, ht_as_t **r_as)
{
	if (ctx == NULL || r_as == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	if (flags & ~(HT_AS_NOSTEAL | HT_AS_COPIED | HT_AS_NOMMU |
	    HT_AS_SERIAL))
		return (ht__fail(HT_EINVAL, "unknown flags 0x%x", flags));
	/* 4 MiB pages of 32-bit paging would be root entries: copies */
	return (hat_create(ctx, hat_user_flags(flags) |
	    ((flags & HT_AS_COPIED) ? HAT_COPIED |
	    (ctx->ctx_mmu.mode == HT_MODE_32BIT ? HAT_NOROOTLEAF : 0) : 0),
	    r_as));
}

/* Tear down: everything goes at once (illumos hat_free_start/end). */
void
hat_destroy(hat_t *hat, int listed)
{
	ht_ctx_t *ctx = hat->hat_ctx;
	op_t op;

	mutex_enter(&ctx->ctx_list_lock, LR_LIST);
	while (atomic_load(&hat->hat_flags) & HAT_VICTIM)
		cv_wait(&ctx->ctx_list_cv,
		    &ctx->ctx_list_lock);
	atomic_fetch_or(&hat->hat_flags, HAT_FREEING);
	if (listed)
		hat_list_remove(hat);
	mutex_exit(&ctx->ctx_list_lock);
	/*
	 * No MMU may keep using the space's tables once frames go back:
	 * the CPU roots that run it or copy it as their kernel half let go
	 * (they are named to the hook as they were), then the hook.
	 */
	/* its soft TLBs let go: from here on no change is told to them */
	stlb_detach_all(hat);
	cpu_detach_hat(hat, listed && ctx->ctx_tlb_on &&
	    !(atomic_load(&hat->hat_flags) & HAT_NOMMU));
	/*
	 * In an operation: a shared descriptor (a failed import's) lets go
	 * of its source's table, whose release may free it there.
	 */
	rmap_drop_hat(hat);
	op_begin(&op, hat);
	(void) htable_purge_hat(hat);
	op_end(&op);
	/* a failed import's shared regions (their holds are dropped now) */
	share_drop_making(hat);
	hat_free_struct(hat);
}

int
ht_as_import(ht_ctx_t *ctx, ht_pa_t root_pa, unsigned flags, ht_as_t **r_as)
{
	const mmu_t *m;
	pfnset_t seen = { NULL, 0, 0 };
	rmap_prep_t rp;
	hat_t *hat;
	op_t op;
	int err;

	if (ctx == NULL || r_as == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	m = &ctx->ctx_mmu;
	if (flags & ~(HT_AS_NOSTEAL | HT_AS_NOMMU | HT_AS_SERIAL))
		return (ht__fail(HT_EINVAL, "unknown flags 0x%x", flags));
	if (root_pa & (m->mode == HT_MODE_PAE ? 0x1f : 0xfff))
		return (ht__fail(HT_EALIGN, "root 0x%llx is not %s aligned",
		    (unsigned long long)root_pa, m->mode == HT_MODE_PAE ?
		    "32-byte" : "page"));
	if (root_pa >= m->root_pa_limit)
		return (ht__fail(HT_EPABITS, "root 0x%llx is beyond what CR3 "
		    "can hold", (unsigned long long)root_pa));
	hat = hat_alloc_struct(ctx, HAT_IMPORTED | hat_user_flags(flags));
	if (hat == NULL)
		return (ht__fail(HT_ENOMEM, "no memory for an address space"));
	/* an operation: the other spaces whose tables it shares */
	memset(&rp, 0, sizeof (rp));
	op_begin(&op, hat);
	op.op_rmap = &rp;
	err = htable_attach(hat, 0, hat->hat_max_level, NULL, root_pa, &seen);
	op_end(&op);
	rmap_unprep(ctx, &rp);
	free(seen.slots);
	if (err != 0) {
		hat_destroy(hat, 0);
		return (err);
	}
	htable_attach_scrub(hat);
	hat_qd_init(hat);
	share_publish_all(hat);
	hat_list_insert(hat);
	*r_as = hat;
	return (0);
}

ht_pa_t
ht_as_root(const ht_as_t *as)
{
	return (hat_root_pa(as));
}

int
ht_as_eptp(const ht_as_t *as, unsigned memtype, uint64_t *r_eptp)
{
	const mmu_t *m;

	if (as == NULL || r_eptp == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	m = hat_mmu(as);
	if (!m->ept)
		return (ht__fail(HT_EINVAL, "an EPT pointer for a space in %s "
		    "paging (only ept4 and ept5 have one)",
		    ht_mode_name(m->mode)));
	if (hat_root_pa(as) == 0)
		return (ht__fail(HT_EINVAL, "an HT_AS_COPIED space has no root "
		    "frame for an EPT pointer"));
	if (memtype != HT_EPT_UC && memtype != HT_EPT_WB)
		return (ht__fail(HT_EINVAL, "EPTP memory type %u: the CPU "
		    "allows UC (0) or WB (6) there", memtype));
	*r_eptp = hat_root_pa(as) | mmu_eptp_low(m) | memtype;
	return (0);
}

ht_ctx_t *
ht_as_ctx(const ht_as_t *as)
{
	return (as->hat_ctx);
}

long
ht_as_purge(ht_as_t *as)
{
	return (htable_purge_hat(as));
}
