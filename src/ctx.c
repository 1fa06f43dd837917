/*
 * ctx.c - contexts: what illumos keeps in globals (the mmu description,
 * the reserve pool, the list of address spaces, the tunables and the
 * statistics) lives in one object per "machine", so that several can
 * coexist in a process.  (illumos's hashed bucket mutexes are each
 * space's now: types.h, ht_hash_t.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htable_int.h"
#include "hat.h"
#include "op.h"
#include "frame.h"
#include "share.h"
#include "rmap.h"
#include "debug.h"
#include "lock.h"

/*
 * Limits of the tunables: beyond them a value is a mistake, not a choice.
 * The reserve is allocated up front (a descriptor each) and every address
 * space allocates hash_buckets pointers.
 */
#define CTX_MAX_RESERVE		65536u
#define CTX_MAX_HASH_BUCKETS	(1u << 20)

/*
 * Check one pool against the mode m (already checked) and the pools before
 * it.  Every message names the field, so that a caller with eight pools
 * knows which one is wrong.
 */
static int
ctx_check_pool(const ht_config_t *cfg, const mmu_t *m, unsigned i)
{
	const ht_range_t *p = &cfg->pools[i];
	unsigned long long base = p->base, len = p->len;

	if (len == 0)
		return (ht__fail(HT_EINVAL, "cfg.pools[%u].len is 0", i));
	if (base & (HT_PAGE_SIZE - 1))
		return (ht__fail(HT_EALIGN, "cfg.pools[%u].base 0x%llx is not "
		    "4 KiB aligned", i, base));
	if (len & (HT_PAGE_SIZE - 1))
		return (ht__fail(HT_EALIGN, "cfg.pools[%u].len 0x%llx is not "
		    "a multiple of 4 KiB", i, len));
	if (base + len < base)
		return (ht__fail(HT_ERANGE, "cfg.pools[%u] [0x%llx, +0x%llx) "
		    "wraps past the top of the address space", i, base, len));
	if (base >= m->pa_limit)
		return (ht__fail(HT_EPABITS, "cfg.pools[%u].base 0x%llx beyond "
		    "pa_bits %u", i, base, m->pa_bits));
	if (base + len > m->pa_limit)
		return (ht__fail(HT_EPABITS, "cfg.pools[%u] ends at 0x%llx, "
		    "beyond pa_bits %u", i, base + len, m->pa_bits));
	/* 32-bit entries name tables below 4 GiB only. */
	if (base >= m->table_pa_limit)
		return (ht__fail(HT_ERANGE, "cfg.pools[%u].base 0x%llx: %s "
		    "tables must lie below 0x%llx, the pool has no frame "
		    "there", i, base, ht_mode_name(m->mode),
		    (unsigned long long)m->table_pa_limit));
	for (unsigned j = 0; j < i; j++) {
		const ht_range_t *q = &cfg->pools[j];

		if (base < q->base + q->len && q->base < base + len)
			return (ht__fail(HT_EINVAL, "cfg.pools[%u] [0x%llx, "
			    "0x%llx) overlaps cfg.pools[%u] [0x%llx, 0x%llx)",
			    i, base, base + len, j,
			    (unsigned long long)q->base,
			    (unsigned long long)(q->base + q->len)));
	}
	return (0);
}

/*
 * Check every field of a configuration before anything is allocated; the
 * detail message names the field ("cfg.pools[2].base ...").  The order is
 * the order of the fields, so that the first wrong one is reported.
 */
static int
ctx_check_config(const ht_config_t *cfg, mmu_t *m)
{
	const ht_geometry_t *g = ht_geometry(cfg->mode);
	const ht_frame_ops_t *ops = cfg->frame_ops;
	unsigned ps = cfg->pagesizes;
	int err;

	if (g == NULL)
		return (ht__fail(HT_EINVAL, "cfg.mode %d is not a paging mode "
		    "(0..%d)", (int)cfg->mode, (int)HT_MODE_NPT5));
	if (ps & ~(unsigned)(HT_PS_4K | HT_PS_2M | HT_PS_4M | HT_PS_1G))
		return (ht__fail(HT_EPAGESIZE, "cfg.pagesizes 0x%x has unknown "
		    "bits 0x%x", ps, ps & ~(unsigned)(HT_PS_4K | HT_PS_2M |
		    HT_PS_4M | HT_PS_1G)));
	if (ps & ~g->pagesizes)
		return (ht__fail(HT_EPAGESIZE, "cfg.pagesizes 0x%x: %s paging "
		    "has only page sizes 0x%x", ps, ht_mode_name(cfg->mode),
		    g->pagesizes));
	if (ps != 0 && !(ps & HT_PS_4K))
		return (ht__fail(HT_EPAGESIZE, "cfg.pagesizes 0x%x lacks 4 KiB "
		    "(HT_PS_4K), which cannot be turned off", ps));
	if ((ps & HT_PS_1G) && !(ps & HT_PS_2M))
		return (ht__fail(HT_EPAGESIZE, "cfg.pagesizes 0x%x: 1 GiB pages "
		    "need 2 MiB pages (every CPU with 1 GiB pages has them)",
		    ps));
	if (cfg->pa_bits != 0 && (cfg->pa_bits < 32 ||
	    cfg->pa_bits > g->pa_bits_max))
		return (ht__fail(HT_EINVAL, "cfg.pa_bits %u out of range "
		    "32..%u for %s paging (0 = %u)", cfg->pa_bits,
		    g->pa_bits_max, ht_mode_name(cfg->mode), g->pa_bits_max));
	/* A flag: any other value is a caller mixing up fields. */
	if (cfg->no_nx != 0 && cfg->no_nx != 1)
		return (ht__fail(HT_EINVAL, "cfg.no_nx %d is not 0 or 1",
		    cfg->no_nx));
	if (cfg->ept & ~(HT_EPT_AD | HT_EPT_MBEC | HT_EPT_XONLY))
		return (ht__fail(HT_EINVAL, "cfg.ept 0x%x: unknown bits "
		    "(HT_EPT_AD, HT_EPT_MBEC, HT_EPT_XONLY are 0x7)",
		    cfg->ept));
	if (cfg->no_nx && (cfg->mode == HT_MODE_EPT4 ||
	    cfg->mode == HT_MODE_EPT5))
		return (ht__fail(HT_EINVAL, "cfg.no_nx in EPT: its entries "
		    "have no NX bit (bit 2 allows execution)"));
	if (cfg->ept != 0 && (cfg->mode != HT_MODE_EPT4 &&
	    cfg->mode != HT_MODE_EPT5))
		return (ht__fail(HT_EINVAL, "cfg.ept 0x%x in %s paging: the "
		    "EPT flags mean something only in ept4 and ept5",
		    cfg->ept, ht_mode_name(cfg->mode)));
	if ((err = mmu_init(m, cfg->mode, ps, cfg->pa_bits,
	    (cfg->no_nx ? MMU_NONX : 0) | MMU_EPT(cfg->ept))) != 0)
		return (err);
	if (ops == NULL)
		return (ht__fail(HT_EINVAL, "cfg.frame_ops is NULL"));
	if (ops->alloc == NULL)
		return (ht__fail(HT_EINVAL, "cfg.frame_ops->alloc is NULL"));
	if (ops->free == NULL)
		return (ht__fail(HT_EINVAL, "cfg.frame_ops->free is NULL"));
	if (ops->map == NULL && ops->window == NULL)
		return (ht__fail(HT_EINVAL, "cfg.frame_ops has neither map nor "
		    "window: frames cannot be reached"));
	if (cfg->npools > HT_MAX_POOLS)
		return (ht__fail(HT_EINVAL, "cfg.npools %u, at most %d",
		    cfg->npools, HT_MAX_POOLS));
	for (unsigned i = 0; i < cfg->npools; i++) {
		if ((err = ctx_check_pool(cfg, m, i)) != 0)
			return (err);
	}
	/* PAE's CR3 holds 32 bits: some pool must reach below 4 GiB. */
	if (cfg->npools != 0 && m->root_pa_limit < m->pa_limit) {
		unsigned i;

		for (i = 0; i < cfg->npools; i++) {
			if (cfg->pools[i].base < m->root_pa_limit)
				break;
		}
		if (i == cfg->npools)
			return (ht__fail(HT_ERANGE, "cfg.pools: none reaches "
			    "below 0x%llx, where the %s root must lie",
			    (unsigned long long)m->root_pa_limit,
			    ht_mode_name(cfg->mode)));
	}
	if (cfg->reserve_amount > CTX_MAX_RESERVE)
		return (ht__fail(HT_EINVAL, "cfg.reserve_amount %u is above %u",
		    cfg->reserve_amount, CTX_MAX_RESERVE));
	/* Each pass raises the threshold; past one entry a pass it cannot. */
	if (cfg->steal_passes > m->ptes_per_table)
		return (ht__fail(HT_EINVAL, "cfg.steal_passes %u is above %u "
		    "(the entries of a table)", cfg->steal_passes,
		    m->ptes_per_table));
	if (cfg->throttle != 0 && ops->avail == NULL)
		return (ht__fail(HT_EINVAL, "cfg.throttle %llu needs "
		    "cfg.frame_ops->avail", (unsigned long long)cfg->throttle));
	if (cfg->hash_buckets != 0 && (cfg->hash_buckets &
	    (cfg->hash_buckets - 1)) != 0)
		return (ht__fail(HT_EINVAL, "cfg.hash_buckets %u is not a power "
		    "of two", cfg->hash_buckets));
	if (cfg->hash_buckets > CTX_MAX_HASH_BUCKETS)
		return (ht__fail(HT_EINVAL, "cfg.hash_buckets %u is above %u",
		    cfg->hash_buckets, CTX_MAX_HASH_BUCKETS));
	if (cfg->tlb != NULL && cfg->tlb_info != NULL)
		return (ht__fail(HT_EINVAL, "cfg.tlb and cfg.tlb_info are both "
		    "set (one hook or the other)"));
	if (cfg->rmap != 0 && cfg->rmap != 1)
		return (ht__fail(HT_EINVAL, "cfg.rmap %d is not 0 or 1",
		    cfg->rmap));
	if (cfg->kpti != 0 && cfg->kpti != 1)
		return (ht__fail(HT_EINVAL, "cfg.kpti %d is not 0 or 1",
		    cfg->kpti));
	return (0);
}

int
ht_ctx_create(const ht_config_t *cfg, ht_ctx_t **r_ctx)
{
	ht_ctx_t *ctx;
	mmu_t m;
	int err;

	if (cfg == NULL || r_ctx == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	if ((err = ctx_check_config(cfg, &m)) != 0)
		return (err);
	/* aligned: the mmu description every call reads starts a line */
	if ((ctx = aligned_alloc(64, (sizeof (*ctx) + 63) & ~(size_t)63)) ==
	    NULL)
		return (ht__fail(HT_ENOMEM, "no memory for a context"));
	memset(ctx, 0, sizeof (*ctx));
	ctx->ctx_mmu = m;
	if (cfg->kpti)
		ctx->ctx_mmu.pt_global = 0;
	mmu_tables(&ctx->ctx_mmu);
	ctx->ctx_cfg = *cfg;
	ctx->ctx_tlb_on = cfg->tlb != NULL || cfg->tlb_info != NULL;
	if (ctx->ctx_cfg.hash_buckets == 0)
		ctx->ctx_cfg.hash_buckets = 1024;
	ctx->ctx_fops = cfg->frame_ops;
	ctx->ctx_farg = cfg->frame_arg;
	if (cfg->frame_ops->window != NULL)
		ctx->ctx_win = cfg->frame_ops->window(cfg->frame_arg,
		    &ctx->ctx_win_base, &ctx->ctx_win_len);
	if (ctx->ctx_win == NULL)
		ctx->ctx_win_len = 0;
	ctx->ctx_reserve_amount = cfg->reserve_amount ? cfg->reserve_amount :
	    200;
	ctx->ctx_steal_passes = cfg->steal_passes ? cfg->steal_passes : 8;
	atomic_store(&ctx->ctx_force_steal, cfg->force_steal);
	(void) pthread_mutex_init(&ctx->ctx_list_lock, NULL);
	(void) pthread_cond_init(&ctx->ctx_list_cv, NULL);
	(void) pthread_mutex_init(&ctx->ctx_reserve_lock, NULL);
	share_init(ctx);
	(void) pthread_mutex_init(&ctx->ctx_frame_lock, NULL);
	(void) pthread_mutex_init(&ctx->ctx_cpu_lock, NULL);
	rmap_init(ctx);
	if (htable_initial_reserve(ctx, ctx->ctx_reserve_amount) != 0) {
		(void) ht_ctx_destroy(ctx);
		return (ht__fail(HT_ENOMEM, "no memory for the reserve"));
	}
	*r_ctx = ctx;
	return (0);
}

int
ht_ctx_destroy(ht_ctx_t *ctx)
{
	htable_t *ht;

	if (ctx == NULL)
		return (0);
	mutex_enter(&ctx->ctx_list_lock, LR_LIST);
	if (ctx->ctx_hat_head != NULL) {
		mutex_exit(&ctx->ctx_list_lock);
		return (ht__fail(HT_EBUSY, "%u address spaces still exist",
		    ctx->ctx_num_hats));
	}
	mutex_exit(&ctx->ctx_list_lock);
	if (ctx->ctx_cpus != NULL)
		return (ht__fail(HT_EBUSY, "CPU roots still exist (id %u)",
		    ctx->ctx_cpus->cr_id));
	while ((ht = ctx->ctx_reserve) != NULL) {
		ctx->ctx_reserve = ht->ht_next;
		free(ht);
	}
	(void) pthread_mutex_destroy(&ctx->ctx_list_lock);
	(void) pthread_cond_destroy(&ctx->ctx_list_cv);
	(void) pthread_mutex_destroy(&ctx->ctx_reserve_lock);
	share_fini(ctx);
	/* Every space is gone, and with it every frame it held. */
	HT_VERIFY(ctx->ctx_frames.n == 0);
	pfnset_fini(&ctx->ctx_frames);
	(void) pthread_mutex_destroy(&ctx->ctx_frame_lock);
	(void) pthread_mutex_destroy(&ctx->ctx_cpu_lock);
	rmap_fini(ctx);
	free(ctx);
	return (0);
}

const ht_geometry_t *
ht_ctx_geometry(const ht_ctx_t *ctx)
{
	return (ht_geometry(ctx->ctx_mmu.mode));
}

unsigned
ht_ctx_pagesizes(const ht_ctx_t *ctx)
{
	return (ctx->ctx_mmu.pagesizes);
}

unsigned
ht_ctx_pa_bits(const ht_ctx_t *ctx)
{
	return (ctx->ctx_mmu.pa_bits);
}

unsigned
ht_ctx_swbits(const ht_ctx_t *ctx)
{
	return (ctx->ctx_mmu.sw_attr);
}

void
ht_ctx_set_force_steal(ht_ctx_t *ctx, unsigned every_nth)
{
	atomic_store(&ctx->ctx_force_cnt, 0);
	atomic_store(&ctx->ctx_force_steal, every_nth);
}

long
ht_ctx_reap(ht_ctx_t *ctx)
{
	op_t op;
	long n;

	op_begin(&op, NULL);
	n = htable_reap(ctx);
	op_end(&op);
	return (n);
}

/*
 * Call fn for every address space of the context.  Each is marked VICTIM
 * while fn runs, so that it cannot be destroyed under us, and the list
 * lock is dropped meanwhile (fn may take bucket mutexes).
 */
static void
ctx_foreach_hat(ht_ctx_t *ctx, void (*fn)(hat_t *, void *), void *arg)
{
	mutex_enter(&ctx->ctx_list_lock, LR_LIST);
	for (hat_t *hat = ctx->ctx_hat_head; hat != NULL;
	    hat = hat->hat_next) {
		if (atomic_load(&hat->hat_flags) & (HAT_VICTIM | HAT_FREEING))
			continue;
		atomic_fetch_or(&hat->hat_flags, HAT_VICTIM);
		mutex_exit(&ctx->ctx_list_lock);
		fn(hat, arg);
		mutex_enter(&ctx->ctx_list_lock, LR_LIST);
		atomic_fetch_and(&hat->hat_flags, ~HAT_VICTIM);
		(void) pthread_cond_broadcast(&ctx->ctx_list_cv);
	}
	mutex_exit(&ctx->ctx_list_lock);
}

struct owner_arg {
	ht_pfn_t	pfn;
	char		*buf;
	size_t		len;
	int		found;
};

static void
owner_one(hat_t *hat, void *arg)
{
	struct owner_arg *o = arg;
	const char *how = NULL;
	int level = -1;
	ht_hash_t *t;

	if (o->found)
		return;
	t = htable_hash_pin(hat);
	for (unsigned h = 0; h < t->hh_n && how == NULL; h++) {
		bucket_lock_t *mtx = htable_chain_lock(t, h);

		bucket_lock_raw(mtx);
		for (htable_t *ht = *htable_head(t, h); ht != NULL;
		    ht = ht->ht_next) {
			if (ht->ht_pfn == o->pfn && !(ht->ht_flags &
			    (HTABLE_SHARED_PFN | HTABLE_COPIED))) {
				how = "a table";
				level = ht->ht_level;
				break;
			}
		}
		bucket_unlock_raw(mtx);
	}
	htable_hash_unpin(hat);
	for (unsigned s = 0; how == NULL && s < HAT_SHARDS; s++) {
		hat_pm_t *c = &hat->hat_pm[s];

		bucket_lock_raw(&c->pm_lock);
		for (htable_t *ht = c->pm_cached; ht != NULL;
		    ht = ht->ht_next) {
			if (ht->ht_pfn == o->pfn) {
				how = "a cached free table";
				level = ht->ht_level;
				break;
			}
		}
		bucket_unlock_raw(&c->pm_lock);
	}
	if (how == NULL)
		return;
	o->found = 1;
	(void) snprintf(o->buf, o->len, "%s address space %p (root 0x%llx) "
	    "holds it as %s of level %d",
	    (atomic_load(&hat->hat_flags) & HAT_IMPORTED) ? "imported" :
	    "live", (void *)hat, (unsigned long long)hat_root_pa(hat), how,
	    level);
}

/*
 * Say who holds table frame pfn, for an error message: a space's table,
 * a space's cached table, or (found nowhere) an operation in flight.
 */
void
ctx_frame_owner(ht_ctx_t *ctx, ht_pfn_t pfn, char *buf, size_t len)
{
	struct owner_arg o = { pfn, buf, len, 0 };

	ctx_foreach_hat(ctx, owner_one, &o);
	if (!o.found)
		(void) snprintf(buf, len, "an operation in flight holds it "
		    "(preallocated, or freed and waiting for the TLB hook)");
}

struct share_find {
	hat_t		*sharer;
	ht_pfn_t	pfn;
	int		level;
	uint64_t	va;		/* where the sharer links it */
	htable_t	*found;		/* held */
	int		err;
};

static void
share_find_one(hat_t *hat, void *arg)
{
	struct share_find *f = arg;
	const mmu_t *m = hat_mmu(hat);
	share_rec_t *rec;
	htable_t *ht = NULL;
	ht_hash_t *hash;

	if (f->found != NULL || f->err != 0 || hat == f->sharer)
		return;
	/*
	 * A serial space neither shares nor is shared (HT_AS_SERIAL): its
	 * hash is not ours to search from this thread, and the frame stays
	 * one that the context holds (HT_EBUSY for the import).
	 */
	if ((atomic_load(&hat->hat_flags) |
	    atomic_load(&f->sharer->hat_flags)) & HAT_SERIAL)
		return;
	hash = htable_hash_pin(hat);
	for (unsigned h = 0; h < hash->hh_n && ht == NULL; h++) {
		bucket_lock_t *mtx = htable_chain_lock(hash, h);

		mutex_enter(mtx, LR_BUCKET);
		for (htable_t *t = *htable_head(hash, h); t != NULL;
		    t = t->ht_next) {
			if (t->ht_pfn == f->pfn && !(t->ht_flags &
			    (HTABLE_SHARED_PFN | HTABLE_COPIED))) {
				if (t->ht_level == f->level &&
				    t->ht_level < hat->hat_max_level) {
					BUSY_ADD(t, 1);
					ht = t;
				}
				break;
			}
		}
		mutex_exit(mtx);
	}
	htable_hash_unpin(hat);
	if (ht == NULL)
		return;
	/* The space is ours while we look (VICTIM): register the share. */
	if ((rec = calloc(1, sizeof (*rec))) == NULL ||
	    (rec->sr_toff = malloc(sizeof (*rec->sr_toff))) == NULL ||
	    (rec->sr_tlevel = malloc(sizeof (*rec->sr_tlevel))) == NULL) {
		if (rec != NULL) {
			free(rec->sr_toff);
			free(rec);
		}
		htable_release(ht);
		f->err = ht__fail(HT_ENOMEM, "no memory for a shared region");
		return;
	}
	rec->sr_sharer = f->sharer;
	rec->sr_src = hat;
	rec->sr_va = f->va;
	rec->sr_src_va = ht->ht_vaddr;
	rec->sr_len = LEVEL_SIZE(m, f->level + 1);
	rec->sr_toff[0] = 0;
	rec->sr_tlevel[0] = (int8_t)f->level;
	rec->sr_ntables = 1;
	rec->sr_info.tables = 1;
	rec->sr_info.table_bytes = rec->sr_len;
	if (share_insert(rec) != 0) {
		/*
		 * its space shares in (one level deep), or it has no MMU
		 * and the import is live (share_insert): not this way
		 */
		free(rec->sr_toff);
		free(rec->sr_tlevel);
		free(rec);
		htable_release(ht);
		return;
	}
	f->found = ht;
}

htable_t *
ctx_share_table(ht_ctx_t *ctx, hat_t *sharer, ht_pfn_t pfn, int level,
    uint64_t va, int *r_err)
{
	struct share_find f = { sharer, pfn, level, va, NULL, 0 };

	ctx_foreach_hat(ctx, share_find_one, &f);
	*r_err = f.err;
	return (f.found);
}

struct dump_arg {
	ht_frame_fn	fn;
	void		*arg;
	long		count;
};

static void
dump_one(hat_t *hat, void *arg)
{
	struct dump_arg *d = arg;

	htable_dump(hat, d->fn, d->arg, &d->count);
}

long
ht_ctx_dump_frames(ht_ctx_t *ctx, ht_frame_fn fn, void *arg)
{
	struct dump_arg d = { fn, arg, 0 };

	ctx_foreach_hat(ctx, dump_one, &d);
	/* the CPU roots' own frames belong to no space */
	mutex_enter(&ctx->ctx_cpu_lock, LR_CPUS);
	for (cpu_root_t *cr = ctx->ctx_cpus; cr != NULL; cr = cr->cr_next) {
		for (int i = 0; i < 1 + cr->cr_kpti; i++) {
			if (fn != NULL)
				fn(arg, NULL, cr->cr_pfn[i],
				    ctx->ctx_mmu.max_level);
			d.count++;
		}
	}
	mutex_exit(&ctx->ctx_cpu_lock);
	return (d.count);
}

static void
stats_counters(ht_ctx_t *ctx, ht_stats_t *s)
{
	/* the sum of the threads' shards (types.h, ctx_stat) */
	for (unsigned i = 0; i < HAT_SHARDS; i++) {
		ctr_t *c = &ctx->ctx_stat[i];

#define	CTR_SUM(f)	s->f += atomic_load(&c->f);
		CTR_FIELDS(CTR_SUM)
#undef	CTR_SUM
	}
}

/* Add hat's tables and leaves to *s (the hat must not be destroyed). */
static void
stats_hat(hat_t *hat, ht_stats_t *s)
{
	ht_hash_t *t;

	for (int l = 0; l < HT_MAX_LEVELS; l++)
		s->leaves[l] += hat_pm_get(hat, l);
	t = htable_hash_pin(hat);
	s->hash_chains += t->hh_n;
	for (unsigned h = 0; h < t->hh_n; h++) {
		mutex_enter(htable_chain_lock(t, h), LR_BUCKET);
		for (htable_t *ht = *htable_head(t, h); ht != NULL;
		    ht = ht->ht_next)
			/* a borrowed frame, or a copied root's none */
			if (!(ht->ht_flags & (HTABLE_SHARED_PFN |
			    HTABLE_COPIED)))
				s->tables[ht->ht_level]++;
		mutex_exit(htable_chain_lock(t, h));
	}
	htable_hash_unpin(hat);
}

static void
stats_one(hat_t *hat, void *arg)
{
	stats_hat(hat, arg);
}

void
ht_ctx_stats(ht_ctx_t *ctx, ht_stats_t *s)
{
	memset(s, 0, sizeof (*s));
	stats_counters(ctx, s);
	ctx_foreach_hat(ctx, stats_one, s);
	mutex_enter(&ctx->ctx_list_lock, LR_LIST);
	s->address_spaces = ctx->ctx_num_hats;
	mutex_exit(&ctx->ctx_list_lock);
	mutex_enter(&ctx->ctx_reserve_lock, LR_RESERVE);
	s->reserve_count = ctx->ctx_reserve_count;
	mutex_exit(&ctx->ctx_reserve_lock);
	if (rmap_on(ctx))
		rmap_usage(ctx, &s->rmap_extents, &s->rmap_bytes);
}

void
ht_as_stats(ht_as_t *as, ht_stats_t *s)
{
	memset(s, 0, sizeof (*s));
	stats_counters(as->hat_ctx, s);
	stats_hat(as, s);
	s->address_spaces = 1;
	s->reserve_count = as->hat_ctx->ctx_reserve_count;
}
