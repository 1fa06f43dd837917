/*
 * test_lockrank.c - the lock-order checks of debug builds (src/lock.h):
 * the per-thread record of library mutexes, and each violation stopping
 * the process (HT_VERIFY -> abort, SIGABRT; Criterion runs every test in
 * its own process).  Built only with -Ddebug_checks=true.
 */
#include <criterion/criterion.h>
#include <signal.h>

#include "fixture.h"
#include "htable_int.h"
#include "frame.h"
#include "op.h"
#include "lock.h"

TestSuite(lockrank, .fini = fx_teardown, .timeout = 30);

static bucket_lock_t *
bucket(unsigned i)
{
	ht_hash_t *t = htable_hash_cur(fx.as);

	return (htable_chain_lock(t, i % t->hh_n));
}

Test(lockrank, the_order_is_allowed_and_recorded)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	cr_assert(lock_none_held());
	mutex_enter(&fx.ctx->ctx_list_lock, LR_LIST);
	cr_assert(lock_held(&fx.ctx->ctx_list_lock));
	mutex_exit(&fx.ctx->ctx_list_lock);
	mutex_enter(bucket(3), LR_BUCKET);
	mutex_enter(&fx.as->hat_pm[0].pm_lock, LR_HAT);
	mutex_enter(&fx.ctx->ctx_reserve_lock, LR_RESERVE);
	cr_assert(lock_held(bucket(3)) && lock_held(&fx.as->hat_pm[0].pm_lock) &&
	    lock_held(&fx.ctx->ctx_reserve_lock));
	cr_assert(!lock_held(bucket(4)));
	/* released in any order */
	mutex_exit(&fx.as->hat_pm[0].pm_lock);
	cr_assert(!lock_held(&fx.as->hat_pm[0].pm_lock));
	mutex_exit(bucket(3));
	mutex_exit(&fx.ctx->ctx_reserve_lock);
	cr_assert(lock_none_held());
	/* a bucket mutex again after the first one went */
	mutex_enter(bucket(4), LR_BUCKET);
	mutex_exit(bucket(4));
	cr_assert(lock_none_held());
}

Test(lockrank, bucket_under_reserve_lock, .signal = SIGABRT)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	mutex_enter(&fx.ctx->ctx_reserve_lock, LR_RESERVE);
	mutex_enter(bucket(0), LR_BUCKET);
}

Test(lockrank, bucket_under_cache_lock, .signal = SIGABRT)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	mutex_enter(&fx.as->hat_pm[0].pm_lock, LR_HAT);
	mutex_enter(bucket(0), LR_BUCKET);
}

Test(lockrank, second_bucket_mutex, .signal = SIGABRT)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	mutex_enter(bucket(1), LR_BUCKET);
	mutex_enter(bucket(2), LR_BUCKET);
}

Test(lockrank, anything_under_the_list_lock, .signal = SIGABRT)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	mutex_enter(&fx.ctx->ctx_list_lock, LR_LIST);
	mutex_enter(&fx.ctx->ctx_reserve_lock, LR_RESERVE);
}

Test(lockrank, list_lock_under_a_bucket, .signal = SIGABRT)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	mutex_enter(bucket(1), LR_BUCKET);
	mutex_enter(&fx.ctx->ctx_list_lock, LR_LIST);
}

Test(lockrank, release_of_a_lock_not_held, .signal = SIGABRT)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	mutex_exit(&fx.as->hat_pm[0].pm_lock);
}

Test(lockrank, hash_insert_needs_the_bucket_mutex, .signal = SIGABRT)
{
	int err;
	htable_t *ht;

	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	ht = htable_create(fx.as, 0x400000, 0, NULL, &err);
	cr_assert_not_null(ht);
	htable_hash_remove(ht);	/* without its mutex: stops here */
}

Test(lockrank, no_lock_at_the_tlb_hook, .signal = SIGABRT)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	mutex_enter(bucket(5), LR_BUCKET);
	op_tlb_inval(fx.as, 0x400000, 0x1000);	/* no operation: at once */
}

Test(lockrank, no_lock_at_a_provider_callback, .signal = SIGABRT)
{
	ht_pfn_t pfn;

	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	mutex_enter(&fx.ctx->ctx_reserve_lock, LR_RESERVE);
	(void) ptable_alloc(fx.ctx, 0, &pfn);
}

/*
 * The bucket lock itself (lock.h): more threads than CPUs add to a plain
 * counter under one lock, so that contenders spin, yield and nap while
 * a preempted holder keeps it; not one increment may be lost.
 */
#define BL_THREADS	4
#define BL_ROUNDS	200000

static bucket_lock_t bl_lock;
static unsigned long bl_count;

static void *
bl_worker(void *arg)
{
	(void) arg;
	for (int i = 0; i < BL_ROUNDS; i++) {
		bucket_lock_raw(&bl_lock);
		bl_count++;
		bucket_unlock_raw(&bl_lock);
	}
	return (NULL);
}

Test(lockrank, bucket_lock_excludes_under_contention)
{
	pthread_t t[BL_THREADS];

	for (int i = 0; i < BL_THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, bl_worker, NULL), 0);
	for (int i = 0; i < BL_THREADS; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	cr_assert_eq(bl_count, (unsigned long)BL_THREADS * BL_ROUNDS);
	cr_assert_eq(atomic_load(&bl_lock.bl_word), 0u, "free at the end");
}
