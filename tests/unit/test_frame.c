/*
 * test_frame.c - frame providers: the arena (allocation inside a range,
 * limits, the window, each thread's frames side by side), and
 * ptable_alloc's rules: pools, the root limit, the throttle, force_steal,
 * and a provider that misbehaves.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "fixture.h"
#include "frame.h"
#include "htable_int.h"

TestSuite(frame, .fini = fx_teardown, .timeout = 60);

Test(frame, arena_arguments)
{
	ht_arena_t *a;
	cr_assert_eq(ht_arena_create(0, 0, 0, &a), -HT_EALIGN);
	cr_assert_eq(ht_arena_create(0x800, 0x1000, 0, &a), -HT_EALIGN);
	cr_assert_eq(ht_arena_create(0, 0x1800, 0, &a), -HT_EALIGN);
	cr_assert_eq(ht_arena_create(1ull << 52, 0x1000, 0, &a), -HT_ERANGE);
	cr_assert_eq(ht_arena_create(0, 0x1000, 0, NULL), -HT_EINVAL);
}

Test(frame, arena_allocates_inside_the_range_and_limit)
{
	ht_arena_t *a;
	const ht_frame_ops_t *ops = ht_arena_ops();
	ht_pfn_t pfn;

	cr_assert_eq(ht_arena_create(0x10000000, 64 * 4096, 0, &a), 0);
	cr_assert_eq(ht_arena_base(a), 0x10000000);
	cr_assert_eq(ht_arena_size(a), 64 * 4096);
	/* a sub-range */
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(ops->alloc(a, 0x10008000, 0x1000c000, &pfn), 0);
		cr_assert(pfn >= 0x10008 && pfn < 0x1000c);
	}
	cr_assert_eq(ops->alloc(a, 0x10008000, 0x1000c000, &pfn),
	    -HT_ENOFRAME);
	cr_assert_eq(ops->alloc(a, 0, 0x10000000, &pfn), -HT_ENOFRAME,
	    "below the arena");
	cr_assert_eq(ht_arena_frames_used(a), 4);
	cr_assert_eq(ops->avail(a), 60);
	ht_arena_set_limit(a, 5);
	cr_assert_eq(ops->avail(a), 1);
	cr_assert_eq(ops->alloc(a, 0, ~0ull, &pfn), 0);
	cr_assert_eq(ops->alloc(a, 0, ~0ull, &pfn), -HT_ENOFRAME, "limit");
	ops->free(a, pfn);
	cr_assert_eq(ops->alloc(a, 0, ~0ull, &pfn), 0);
	ht_arena_set_limit(a, 0);
	/* everything, then nothing */
	while (ops->alloc(a, 0, ~0ull, &pfn) == 0)
		;
	cr_assert_eq(ht_arena_frames_used(a), 64);
	ht_pa_t wbase;
	uint64_t wlen;
	uint8_t *w = ops->window(a, &wbase, &wlen);
	cr_assert_eq(wbase, 0x10000000);
	cr_assert_eq(wlen, 64 * 4096);
	cr_assert_eq(ht_arena_ptr(a, 0x10001234), w + 0x1234);
	cr_assert_null(ht_arena_ptr(a, 0x10000000 + 64 * 4096));
	cr_assert_eq(ops->map(a, 0x10003), w + 0x3000);
	ht_arena_destroy(a);
}

/*
 * Threads that take frames from one arena in strict turns, one frame a
 * turn, until they have n each or the arena has none left.
 */
#define TAKERS_MAX	3
#define TAKES_MAX	(2 * ARENA_RUN)

typedef struct takers {
	ht_arena_t	*a;
	unsigned	nthreads, n;
	_Atomic unsigned turn;
	_Atomic int	done;		/* an allocation failed */
	int		fail_err;
	ht_pfn_t	pfn[TAKERS_MAX][TAKES_MAX];
	unsigned	got[TAKERS_MAX];
} takers_t;

typedef struct taker {
	takers_t	*t;
	unsigned	idx;
} taker_t;

static void *
taker_main(void *arg)
{
	taker_t *me = arg;
	takers_t *t = me->t;
	const ht_frame_ops_t *ops = ht_arena_ops();

	for (unsigned k = 0; k < t->n; k++) {
		while (atomic_load(&t->turn) % t->nthreads != me->idx)
			(void) sched_yield();
		if (!atomic_load(&t->done)) {
			int err = ops->alloc(t->a, 0, ~0ull,
			    &t->pfn[me->idx][k]);

			if (err == 0) {
				t->got[me->idx]++;
			} else {
				t->fail_err = err;
				atomic_store(&t->done, 1);
			}
		}
		atomic_fetch_add(&t->turn, 1);
	}
	return (NULL);
}

static void
take_in_turns(takers_t *t)
{
	pthread_t tid[TAKERS_MAX];
	taker_t me[TAKERS_MAX];

	cr_assert_leq(t->nthreads, TAKERS_MAX);
	cr_assert_leq(t->n, TAKES_MAX);
	for (unsigned i = 0; i < t->nthreads; i++) {
		me[i].t = t;
		me[i].idx = i;
		cr_assert_eq(pthread_create(&tid[i], NULL, taker_main, &me[i]),
		    0);
	}
	for (unsigned i = 0; i < t->nthreads; i++)
		cr_assert_eq(pthread_join(tid[i], NULL), 0);
}

/*
 * Two threads taking frames in turns get frames of runs of their own
 * (arena.c): with the one cursor, one took every even frame and the
 * other every odd one, and their tables interleaved page by page.
 */
static void
check_runs_apart(takers_t *t, uint64_t base)
{
	uint8_t run_of[4] = { 0, 0, 0, 0 };	/* taker + 1, or 0 */

	cr_assert_not(atomic_load(&t->done));
	for (unsigned i = 0; i < 2; i++) {
		cr_assert_eq(t->got[i], 2 * ARENA_RUN);
		for (unsigned k = 0; k < 2 * ARENA_RUN; k++) {
			uint64_t f = t->pfn[i][k] - base;

			cr_assert_lt(f, 4 * ARENA_RUN);
			cr_assert(run_of[f / ARENA_RUN] == 0 ||
			    run_of[f / ARENA_RUN] == i + 1,
			    "frame %llu of taker %u lies in the other's run",
			    (unsigned long long)f, i);
			run_of[f / ARENA_RUN] = (uint8_t)(i + 1);
			/* side by side: the frame after the last one */
			if (k % ARENA_RUN != 0)
				cr_assert_eq(t->pfn[i][k],
				    t->pfn[i][k - 1] + 1);
		}
	}
}

Test(frame, arena_keeps_each_threads_frames_together)
{
	static takers_t t;
	const ht_frame_ops_t *ops = ht_arena_ops();
	const uint64_t base = 0x10000000 >> 12;

	cr_assert_eq(ht_arena_create(base << 12, 4 * ARENA_RUN * 4096, 0,
	    &t.a), 0);
	t.nthreads = 2;
	t.n = 2 * ARENA_RUN;
	take_in_turns(&t);
	check_runs_apart(&t, base);
	cr_assert_eq(ht_arena_frames_used(t.a), 4 * ARENA_RUN);
	/* all given back, in another order: every run can be claimed again */
	for (unsigned k = 0; k < 2 * ARENA_RUN; k++)
		for (unsigned i = 0; i < 2; i++)
			ops->free(t.a, t.pfn[1 - i][k]);
	cr_assert_eq(ht_arena_frames_used(t.a), 0);
	memset(t.got, 0, sizeof (t.got));
	atomic_store(&t.turn, 0);
	take_in_turns(&t);
	check_runs_apart(&t, base);
	ht_arena_destroy(t.a);
}

/*
 * Runs are a preference: three threads in turns over an arena of two
 * runs and two frames past the last run still get every frame, each
 * once, and then the arena says it has none.
 */
Test(frame, arena_runs_never_refuse_a_free_frame)
{
	static takers_t t;
	static uint8_t seen[2 * ARENA_RUN + 2];
	const uint64_t base = 0x10000000 >> 12;
	const unsigned nframes = 2 * ARENA_RUN + 2;
	unsigned total = 0;

	cr_assert_eq(ht_arena_create(base << 12, nframes * 4096ull, 0, &t.a),
	    0);
	t.nthreads = 3;
	t.n = nframes / 2;	/* half as much again asked as there is */
	take_in_turns(&t);
	cr_assert(atomic_load(&t.done));
	cr_assert_eq(t.fail_err, -HT_ENOFRAME);
	for (unsigned i = 0; i < 3; i++) {
		for (unsigned k = 0; k < t.got[i]; k++) {
			uint64_t f = t.pfn[i][k] - base;

			cr_assert_lt(f, nframes);
			cr_assert_eq(seen[f], 0, "frame %llu twice",
			    (unsigned long long)f);
			seen[f] = 1;
		}
		total += t.got[i];
	}
	cr_assert_eq(total, nframes);
	cr_assert_eq(ht_arena_frames_used(t.a), nframes);
	ht_arena_destroy(t.a);
}

/* One thread alone gets the frames one after another, as the cursor gave. */
Test(frame, arena_gives_one_thread_consecutive_frames)
{
	const ht_frame_ops_t *ops = ht_arena_ops();
	const unsigned nframes = 2 * ARENA_RUN + 100;
	ht_arena_t *a;
	ht_pfn_t pfn;

	cr_assert_eq(ht_arena_create(0x10000000, nframes * 4096ull, 0, &a),
	    0);
	for (unsigned k = 0; k < nframes; k++) {
		cr_assert_eq(ops->alloc(a, 0, ~0ull, &pfn), 0);
		cr_assert_eq(pfn, 0x10000 + k);
	}
	cr_assert_eq(ops->alloc(a, 0, ~0ull, &pfn), -HT_ENOFRAME);
	/* what is freed is found again */
	ops->free(a, 0x10000 + 70);
	cr_assert_eq(ops->alloc(a, 0, ~0ull, &pfn), 0);
	cr_assert_eq(pfn, 0x10000 + 70);
	ht_arena_destroy(a);
}

Test(frame, tables_come_only_from_the_pools)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 64);
	ht_as_destroy(fx.as);
	fx.as = NULL;
	cr_assert_eq(ht_ctx_destroy(fx.ctx), 0);
	fx.cfg.pools[0].base = 0x100000 + (8 << 20);
	fx.cfg.pools[0].len = 16 * 4096;
	fx.cfg.npools = 1;
	cr_assert_eq(ht_ctx_create(&fx.cfg, &fx.ctx), 0);
	cr_assert_eq(ht_as_create(fx.ctx, 0, &fx.as), 0);
	cr_assert_eq(ht_map(fx.as, 0, 0, 8 << 20, 0, HT_MAP_SIZE(HT_PS_4K)),
	    0);
	for (unsigned h = 0; h < htable_hash_cur(fx.as)->hh_n; h++)
		for (htable_t *ht = *htable_head(htable_hash_cur(fx.as), h); ht;
		    ht = ht->ht_next)
			cr_assert(ptable_in_pools(fx.ctx, ht->ht_pfn));
	/* 16 frames: root + 2 + 4 used, 9 left; 10 more tables fail */
	cr_assert_eq(ht_map(fx.as, 1ull << 30, 0, 20 << 20, 0,
	    HT_MAP_SIZE(HT_PS_4K)), -HT_ENOFRAME);
	cr_assert_eq(ht_audit(fx.as), 0, "%s", ht_errdetail());
}

Test(frame, pae_root_must_be_below_4g)
{
	ht_arena_t *a;
	ht_ctx_t *ctx;
	ht_as_t *as;

	cr_assert_eq(ht_arena_create(1ull << 32, 1 << 20, 0, &a), 0);
	ht_config_t cfg = { .mode = HT_MODE_PAE, .frame_ops = ht_arena_ops(),
	    .frame_arg = a };
	cr_assert_eq(ht_ctx_create(&cfg, &ctx), 0);
	cr_assert_eq(ht_as_create(ctx, 0, &as), -HT_ENOFRAME);
	cr_assert_eq(ht_ctx_destroy(ctx), 0);
	/* 32-bit paging: no table at all above 4 GiB */
	cfg.mode = HT_MODE_32BIT;
	cr_assert_eq(ht_ctx_create(&cfg, &ctx), 0);
	cr_assert_eq(ht_as_create(ctx, 0, &as), -HT_ENOFRAME);
	cr_assert_eq(ht_ctx_destroy(ctx), 0);
	cr_assert_eq(ht_arena_frames_used(a), 0);
	ht_arena_destroy(a);
}

Test(frame, throttle_and_force_steal)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 1);	/* 256 frames */
	ht_as_destroy(fx.as);
	fx.as = NULL;
	cr_assert_eq(ht_ctx_destroy(fx.ctx), 0);
	fx.cfg.throttle = 250;
	cr_assert_eq(ht_ctx_create(&fx.cfg, &fx.ctx), 0);
	cr_assert_eq(ht_as_create(fx.ctx, 0, &fx.as), 0);
	ht_pfn_t got[16];
	int n = 0;
	for (int i = 0; i < 5; i++)
		cr_assert_eq(ptable_alloc(fx.ctx, 0, &got[n++]), 0);
	cr_assert_eq(ptable_alloc(fx.ctx, 0, &got[n]), -HT_ENOFRAME,
	    "6 used: 250 left is the throttle");
	fx.ctx->ctx_cfg.throttle = 0;
	ht_ctx_set_force_steal(fx.ctx, 3);
	int fails = 0;
	for (int i = 0; i < 9; i++) {
		if (ptable_alloc(fx.ctx, 0, &got[n]) == 0)
			n++;
		else
			fails++;
	}
	cr_assert_eq(fails, 3, "every third fails");
	ht_ctx_set_force_steal(fx.ctx, 0);
	while (n > 0)
		ptable_free(fx.ctx, got[--n]);
	cr_assert_eq(ht_arena_frames_used(fx.arena), 1, "the root");
}

static int
bad_alloc(void *arg, ht_pa_t lo, ht_pa_t hi, ht_pfn_t *r_pfn)
{
	(void) lo;
	(void) hi;
	int rc = ht_arena_ops()->alloc(arg, 0, ~0ull, r_pfn);
	if (rc == 0)
		*r_pfn += 1ull << 30;	/* far outside what was asked */
	return (rc);
}

static void
bad_free(void *arg, ht_pfn_t pfn)
{
	ht_arena_ops()->free(arg, pfn - (1ull << 30));
}

Test(frame, misbehaving_provider_is_an_error)
{
	ht_arena_t *a;
	ht_ctx_t *ctx;
	ht_as_t *as;
	ht_frame_ops_t ops = *ht_arena_ops();

	ops.alloc = bad_alloc;
	ops.free = bad_free;
	ops.window = NULL;
	cr_assert_eq(ht_arena_create(0, 1 << 20, 0, &a), 0);
	ht_config_t cfg = { .mode = HT_MODE_4LEVEL, .frame_ops = &ops,
	    .frame_arg = a, .pools = { { 0, 1 << 20 } }, .npools = 1 };
	cr_assert_eq(ht_ctx_create(&cfg, &ctx), 0);
	cr_assert_eq(ht_as_create(ctx, 0, &as), -HT_EPROVIDER);
	cr_assert_neq(ht_errdetail()[0], 0);
	cr_assert_eq(ht_arena_frames_used(a), 0, "the frame went back");
	cr_assert_eq(ht_ctx_destroy(ctx), 0);
	ht_arena_destroy(a);
}
