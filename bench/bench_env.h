/*
 * bench_env.h - what the benchmarks of the library's newer parts share
 * (bench_many.c, bench_calls.c): a checked call, and an arena with a
 * 4-level context on it.  Include bench.h and htable.h first.
 */
#ifndef BENCH_ENV_H
#define BENCH_ENV_H

#include <string.h>

/* A library call that must not fail: the run stops with its detail. */
#define CHECK(call) do {						\
	long rc_ = (long)(call);					\
	if (rc_ < 0)							\
		bench_die("%s: %s (%s), line %d", #call,		\
		    ht_err_name((int)rc_), ht_errdetail(), __LINE__);	\
} while (0)

typedef struct env {
	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
} env_t;

/*
 * An arena of size bytes at base and a 4-level context on it; cfg (may
 * be NULL) gives the other settings (its mode and frame fields are ours).
 */
static inline void
env_init_cfg(env_t *e, ht_pa_t base, uint64_t size, const ht_config_t *cfg)
{
	ht_config_t c;

	if (cfg != NULL)
		c = *cfg;
	else
		memset(&c, 0, sizeof (c));
	CHECK(ht_arena_create(base, size, 0, &e->arena));
	c.mode = bench_mode();
	c.ept = bench_ept();
	c.frame_ops = ht_arena_ops();
	c.frame_arg = e->arena;
	CHECK(ht_ctx_create(&c, &e->ctx));
}

static inline void
env_fini(env_t *e)
{
	CHECK(ht_ctx_destroy(e->ctx));
	ht_arena_destroy(e->arena);
}

#endif /* BENCH_ENV_H */
