/*
 * ctx.c - contexts: what illumos keeps in globals (the mmu description,
 * the reserve pool, the bucket mutexes, the list of address spaces, the
 * tunables and the statistics) lives in one object per "machine", so that
 * several can coexist in a process.
 */
#include <stdlib.h>
#include <string.h>

#include "htable_int.h"
#include "hat.h"
#include "frame.h"
#include "debug.h"
#include "lock.h"

int
ht_ctx_create(const ht_config_t *cfg, ht_ctx_t **r_ctx)
{
	ht_ctx_t *ctx;
	int err;

	if (cfg == NULL || r_ctx == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	if (cfg->frame_ops == NULL || cfg->frame_ops->alloc == NULL ||
	    cfg->frame_ops->free == NULL || (cfg->frame_ops->map == NULL &&
	    cfg->frame_ops->window == NULL))
		return (ht__fail(HT_EINVAL, "frame_ops needs alloc, free and "
		    "map or window"));
	if (cfg->npools > HT_MAX_POOLS)
		return (ht__fail(HT_EINVAL, "%u pools, at most %d", cfg->npools,
		    HT_MAX_POOLS));
	for (unsigned i = 0; i < cfg->npools; i++) {
		const ht_range_t *p = &cfg->pools[i];
		if (p->len < HT_PAGE_SIZE || p->base + p->len < p->base)
			return (ht__fail(HT_EINVAL, "pool %u [0x%llx, +0x%llx) "
			    "is empty or wraps", i, (unsigned long long)p->base,
			    (unsigned long long)p->len));
	}
	if (cfg->hash_buckets != 0 && (cfg->hash_buckets &
	    (cfg->hash_buckets - 1)) != 0)
		return (ht__fail(HT_EINVAL, "hash_buckets %u is not a power "
		    "of two", cfg->hash_buckets));
	if ((ctx = calloc(1, sizeof (*ctx))) == NULL)
		return (ht__fail(HT_ENOMEM, "no memory for a context"));
	err = mmu_init(&ctx->ctx_mmu, cfg->mode, cfg->pagesizes, cfg->pa_bits,
	    cfg->no_nx);
	if (err != 0) {
		free(ctx);
		return (err);
	}
	ctx->ctx_cfg = *cfg;
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
	for (int i = 0; i < HTABLE_NMUTEX; i++)
		(void) pthread_mutex_init(&ctx->ctx_bucket_mtx[i], NULL);
	(void) pthread_mutex_init(&ctx->ctx_list_lock, NULL);
	(void) pthread_cond_init(&ctx->ctx_list_cv, NULL);
	(void) pthread_mutex_init(&ctx->ctx_reserve_lock, NULL);
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
	while ((ht = ctx->ctx_reserve) != NULL) {
		ctx->ctx_reserve = ht->ht_next;
		free(ht);
	}
	for (int i = 0; i < HTABLE_NMUTEX; i++)
		(void) pthread_mutex_destroy(&ctx->ctx_bucket_mtx[i]);
	(void) pthread_mutex_destroy(&ctx->ctx_list_lock);
	(void) pthread_cond_destroy(&ctx->ctx_list_cv);
	(void) pthread_mutex_destroy(&ctx->ctx_reserve_lock);
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
	ht_op_t op;
	long n;

	ht_op_begin(&op, NULL);
	n = htable_reap(ctx);
	ht_op_end(&op);
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
	return (d.count);
}

static void
stats_counters(ht_ctx_t *ctx, ht_stats_t *s)
{
	ht_ctr_t *c = &ctx->ctx_stat;

	s->ptable_allocs = atomic_load(&c->ptable_allocs);
	s->ptable_frees = atomic_load(&c->ptable_frees);
	s->htable_rgets = atomic_load(&c->htable_rgets);
	s->htable_rputs = atomic_load(&c->htable_rputs);
	s->reap_attempts = atomic_load(&c->reap_attempts);
	s->reaped = atomic_load(&c->reaped);
	s->steals = atomic_load(&c->steals);
	s->stolen = atomic_load(&c->stolen);
	s->cache_hits = atomic_load(&c->cache_hits);
	s->splits = atomic_load(&c->splits);
	s->lpage_fallbacks = atomic_load(&c->lpage_fallbacks);
	s->tlb_calls = atomic_load(&c->tlb_calls);
}

/* Add hat's tables and leaves to *s (the hat must not be destroyed). */
static void
stats_hat(hat_t *hat, ht_stats_t *s)
{
	ht_ctx_t *ctx = hat->hat_ctx;

	for (int l = 0; l < HT_MAX_LEVELS; l++)
		s->leaves[l] += atomic_load(&hat->hat_pages_mapped[l]);
	for (unsigned h = 0; h < hat->hat_num_hash; h++) {
		pthread_mutex_t *mtx = &ctx->ctx_bucket_mtx[h &
		    (HTABLE_NMUTEX - 1)];

		mutex_enter(mtx, LR_BUCKET);
		for (htable_t *ht = hat->hat_ht_hash[h]; ht != NULL;
		    ht = ht->ht_next)
			s->tables[ht->ht_level]++;
		mutex_exit(mtx);
	}
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
