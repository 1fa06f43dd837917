/*
 * test_hash_race.c - a space's table hash growing while threads use it.
 *
 * The hash starts at 2 chains (cfg.hash_buckets) and grows 4x at the end
 * of any operation that leaves the space with more tables than an eighth
 * of its chains (htable_hash_grow): from 8 (the root's table made it
 * grow once) to 2048 chains while the writers run.  Meanwhile:
 *  - two writer threads map, unmap and protect single pages (the
 *    one-entry path, which takes a chain's lock with no hold) and runs
 *    of pages (the general path, which makes and frees tables) in
 *    regions of their own, in different 2 GiB windows where the mode
 *    has them, each keeping its own record of what it left mapped;
 *  - a reader translates their pages (lock-free walks);
 *  - a counter asks for the context's statistics, which walk every
 *    chain of every space with the hash pinned (htable_hash_pin);
 *  - a thief maps and unmaps in a space of its own with stealing forced
 *    on every allocation, so that stealers walk the writers' chains
 *    (pinned too) and take their tables, while the writers take the
 *    thief's.
 * A space is made anew for each of several rounds, so that every round
 * grows a hash from 8 chains.  Every mapping is va -> va + PA_OFF, so a
 * translation must be exactly that or nothing.  After each round: a page
 * a writer left unmapped is unmapped, one it left mapped is mapped
 * exactly or was stolen, the audit passes (every table on the chain its
 * key names, the hash's count of tables right), and the hash has grown
 * as far as the space's tables asked.  Every paging mode; built also as
 * a plain program for ThreadSanitizer.
 */
#include <sched.h>

#include "stress.h"

#define PA_OFF		(1 * GIB)
#define NWRITERS	2
#define ROUNDS		16
#define OPS		40000
#define NTAB		96	/* level-0 tables a writer plays in */
#define NPG		16	/* pages of each it plays with */
#define NSLOT		(NTAB * NPG)

typedef struct world {
	ht_ctx_t	*ctx;
	ht_as_t		*as;		/* the writers', this round */
	ht_as_t		*plain;		/* the thief's */
	uint64_t	l1;		/* the level-1 page size */
	uint64_t	apart;		/* between the writers' regions */
	_Atomic long	bad;
	stress_thief_t	thief;
	_Atomic long	counts;		/* the counter's rounds */
	_Atomic int	stop;		/* the thief and the counter */
	_Atomic int	round_done;	/* the reader */
} world_t;

typedef struct writer {
	world_t		*w;
	int		id;
	uint64_t	rng;
	uint8_t		mapped[NSLOT];
} writer_t;

/* va of slot i of writer id: NPG pages at the start of each table */
static ht_va_t
slot_va(const world_t *w, int id, unsigned i)
{
	return (GIB / 4 + (ht_va_t)id * w->apart + (ht_va_t)(i / NPG) *
	    w->l1 + (ht_va_t)(i % NPG) * PG);
}

static void *
writer(void *arg)
{
	writer_t *o = arg;
	world_t *w = o->w;

	for (int i = 0; i < OPS; i++) {
		uint64_t r = stress_rnd(&o->rng);
		unsigned s = (unsigned)(r % NSLOT);
		ht_va_t va = slot_va(w, o->id, s);
		unsigned first = s - s % NPG;
		int rc;

		switch (r / NSLOT % 10) {
		case 0: case 1: case 2: case 3:
			rc = ht_map(w->as, va, va + PA_OFF, PG, HT_W, 0);
			if (rc == 0)
				o->mapped[s] = 1;
			break;
		case 4: case 5:
			rc = ht_unmap(w->as, va, PG, 0);
			o->mapped[s] = 0;
			break;
		case 6:
			rc = ht_protect(w->as, va, PG, (r & 1) ? HT_W : 0);
			if (rc == -HT_ENOTMAPPED)
				rc = 0;	/* stolen, or never mapped */
			break;
		case 7:		/* a table's pages in one call */
			va = slot_va(w, o->id, first);
			rc = ht_map(w->as, va, va + PA_OFF, NPG * PG, HT_W, 0);
			if (rc == 0)
				memset(&o->mapped[first], 1, NPG);
			break;
		default:	/* empty a table: it is freed */
			rc = ht_unmap(w->as, slot_va(w, o->id, first),
			    NPG * PG, 0);
			memset(&o->mapped[first], 0, NPG);
			break;
		}
		/*
		 * A new table may find no frame: stealing is forced, and
		 * the thief's space may have none to give.  The call then
		 * changed nothing, and the record stays as it was.
		 */
		if (rc != 0 && rc != -HT_ENOFRAME)
			atomic_fetch_add(&w->bad, 1);
	}
	return (NULL);
}

/* translations of the writers' pages meanwhile (one round's space) */
static void *
reader(void *arg)
{
	world_t *w = arg;
	uint64_t s = 99;

	while (!atomic_load(&w->round_done)) {
		ht_va_t va = slot_va(w, (int)(stress_rnd(&s) % NWRITERS),
		    (unsigned)(stress_rnd(&s) % NSLOT)) + 8;

		if (xlate_wrong(w->as, va, PA_OFF))
			atomic_fetch_add(&w->bad, 1);
	}
	return (NULL);
}

static void *
counter(void *arg)
{
	world_t *w = arg;

	while (!atomic_load(&w->stop)) {
		ht_stats_t st;

		ht_ctx_stats(w->ctx, &st);
		atomic_fetch_add(&w->counts, 1);
	}
	return (NULL);
}

static void
check_writer(const world_t *w, const writer_t *o, ht_mode_t mode)
{
	for (unsigned i = 0; i < NSLOT; i++) {
		ht_va_t va = slot_va(w, o->id, i);
		ht_pa_t pa;
		int rc = ht_va2pa(w->as, va, &pa);

		if (o->mapped[i])
			cr_assert(rc == -HT_ENOTMAPPED || (rc == 0 &&
			    pa == va + PA_OFF), "%s: slot %u: %s", ht_mode_name(
			    mode), i, ht_err_name(rc));
		else
			cr_assert_eq(rc, -HT_ENOTMAPPED, "%s: writer %d slot "
			    "%u: left unmapped, the space %s", ht_mode_name(
			    mode), o->id, i, rc == 0 ? "maps it" :
			    ht_err_name(rc));
	}
}

/* The space's tables, the root included, as its stats count them. */
static uint64_t
stats_tables(const ht_stats_t *st)
{
	uint64_t n = 0;

	for (unsigned l = 0; l < HT_MAX_LEVELS; l++)
		n += st->tables[l];
	return (n);
}

/*
 * Has as's hash grown to 512 chains, or to what its tables ask (an
 * eighth full)?
 */
static int
hash_fits(ht_as_t *as, ht_stats_t *st)
{
	ht_as_stats(as, st);
	return (st->hash_chains >= 512 ||
	    stats_tables(st) <= st->hash_chains / 8);
}

STRESS_MODES(hash, race)

ParameterizedTest(ht_mode_t *mode, hash, race, .timeout = 600)
{
	static world_t w;
	static writer_t o[NWRITERS];
	pthread_t t[NWRITERS], rt, ct, tt;
	ht_arena_t *arena;
	ht_config_t cfg;
	ht_stats_t st;

	memset(&w, 0, sizeof (w));
	cr_assert_eq(ht_arena_create(1 * MIB, 64 * MIB, 0, &arena), 0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = *mode;
	cfg.ept = stress_ept(*mode);
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = arena;
	cfg.hash_buckets = 2;
	cr_assert_eq(ht_ctx_create(&cfg, &w.ctx), 0);
	cr_assert_eq(ht_as_create(w.ctx, 0, &w.plain), 0);
	w.l1 = 1ull << ht_geometry(*mode)->level_shift[1];
	/* 2 GiB: neighbouring windows of the hash; 32-bit has 4 GiB */
	w.apart = *mode == HT_MODE_32BIT || *mode == HT_MODE_PAE ? GIB :
	    2 * GIB;
	cr_assert_eq(ht_as_create(w.ctx, 0, &w.as), 0);
	/* every 4th frame from stealing: the writers' tables come and go */
	ht_ctx_set_force_steal(w.ctx, 4);
	cr_assert_eq(pthread_create(&ct, NULL, counter, &w), 0);
	w.thief = (stress_thief_t){ .as = w.plain, .base = 3 * GIB,
	    .step = w.l1, .n = 64, .pa_off = PA_OFF / 2, .stop = &w.stop,
	    .bad = &w.bad };
	cr_assert_eq(pthread_create(&tt, NULL, stress_thief, &w.thief), 0);
	for (int round = 0; round < ROUNDS; round++) {
		long thefts = atomic_load(&w.thief.thefts);

		memset(o, 0, sizeof (o));
		atomic_store(&w.round_done, 0);
		cr_assert_eq(pthread_create(&rt, NULL, reader, &w), 0);
		for (int i = 0; i < NWRITERS; i++) {
			o[i].w = &w;
			o[i].id = i;
			o[i].rng = 0x9e3779b9ull * (uint64_t)(1 + i + 2 * round);
			cr_assert_eq(pthread_create(&t[i], NULL, writer,
			    &o[i]), 0);
		}
		for (int i = 0; i < NWRITERS; i++)
			cr_assert_eq(pthread_join(t[i], NULL), 0);
		/* the thief overlapped the writers at least a little */
		stress_wait_thefts(&w.thief, thefts + 16);
		atomic_store(&w.round_done, 1);
		cr_assert_eq(pthread_join(rt, NULL), 0);
		cr_assert_eq(atomic_load(&w.bad), 0, "%s: round %d: %ld calls "
		    "failed or read wrong", ht_mode_name(*mode), round,
		    atomic_load(&w.bad));
		for (int i = 0; i < NWRITERS; i++)
			check_writer(&w, &o[i], *mode);
		cr_assert_eq(ht_audit(w.as), 0, "%s: audit: %s",
		    ht_mode_name(*mode), ht_errdetail());
		/*
		 * Grown: to 512 chains (what the writers' 192 tables ask
		 * for at their peak), or as far as the tables left ask.  A
		 * grow that meets a pin (the counter's walk, a stealer's)
		 * is tried again at the end of the next operation, and the
		 * counter pins the hash nearly all the time, so under load
		 * the writers' last operations could all meet one (8 or
		 * 128 chains after a round, about once in ten runs): the
		 * test makes more operations until a grow gets through.
		 */
		for (int k = 0; k < 1000 && !hash_fits(w.as, &st); k++) {
			ht_va_t va = slot_va(&w, 0, 0);
			int rc = ht_map(w.as, va, va + PA_OFF, PG, HT_W, 0);

			/* a frame may be wanting: stealing is forced */
			cr_assert(rc == 0 || rc == -HT_ENOFRAME, "%s",
			    ht_err_name(rc));
			cr_assert_eq(ht_unmap(w.as, va, PG, 0), 0);
			(void) sched_yield();
		}
		cr_assert(hash_fits(w.as, &st), "%s: round %d: the hash has "
		    "%llu chains for %llu tables", ht_mode_name(*mode), round,
		    (unsigned long long)st.hash_chains,
		    (unsigned long long)stats_tables(&st));
		/* a new space: its hash grows from 8 chains again */
		ht_as_destroy(w.as);
		ht_ctx_set_force_steal(w.ctx, 0);	/* for its root */
		cr_assert_eq(ht_as_create(w.ctx, 0, &w.as), 0);
		ht_ctx_set_force_steal(w.ctx, 4);
		ht_as_stats(w.as, &st);
		cr_assert_eq(st.hash_chains, 8);
	}
	atomic_store(&w.stop, 1);
	cr_assert_eq(pthread_join(ct, NULL), 0);
	cr_assert_eq(pthread_join(tt, NULL), 0);
	ht_ctx_set_force_steal(w.ctx, 0);
	cr_assert(atomic_load(&w.counts) > 0);
	cr_assert_eq(ht_audit(w.plain), 0, "audit: %s", ht_errdetail());
	ht_ctx_stats(w.ctx, &st);
	cr_assert(st.steals > 0, "%s: nothing was stolen", ht_mode_name(*mode));
	ht_as_destroy(w.as);
	ht_as_destroy(w.plain);
	cr_assert_eq(ht_ctx_destroy(w.ctx), 0);
	ht_arena_destroy(arena);
}
