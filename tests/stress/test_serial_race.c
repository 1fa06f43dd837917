/*
 * test_serial_race.c - serial spaces (HT_AS_SERIAL) among busy threads.
 *
 * A serial space's one-entry calls take no lock (hat_one.c): what would
 * have raced with them is kept out by the caller's promise (one thread
 * changes the space) and by the flag (no other space steals its tables,
 * none shares with it).  Two owner threads each change their own serial
 * space of one context, mostly one page or one large page per call, with
 * their own reverse bookkeeping of what they mapped; a third thread
 * maps and unmaps a plain space of the same context with stealing forced
 * on every allocation, so stealers keep walking the context's spaces
 * while the owners work; a reader translates in both serial spaces (the
 * lookups may run from any thread).  Every mapping is va -> va + PA_OFF,
 * so a translation must be exactly that or nothing.  At the end each
 * serial space must hold exactly the pages its owner left mapped (a
 * stolen table would have lost some), ht_audit must pass for every
 * space, and stealing must have happened.  Every paging mode; built
 * also as a plain program for ThreadSanitizer.
 */
#include <sched.h>

#include "stress.h"

#define WIN		(1 * GIB)
#define PA_OFF		(1 * GIB)
#define NOWNERS		2
#define OPS		100000
#define NSLOT		1024	/* 4 KiB pages an owner plays with */

typedef struct world {
	ht_ctx_t	*ctx;
	ht_as_t		*own[NOWNERS];
	ht_as_t		*plain;
	uint64_t	l1;		/* the level-1 page size */
	_Atomic long	bad;
	_Atomic int	stop;
	stress_thief_t	thief;
} world_t;

typedef struct owner {
	world_t		*w;
	ht_as_t		*as;
	uint64_t	rng;
	uint8_t		mapped[NSLOT];	/* what the owner left mapped */
	int		bigmapped;	/* the large page at WIN + l1 */
} owner_t;

static uint64_t
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (*s >> 33);
}

/* va of slot i: spread over a few level-0 tables, with gaps */
static ht_va_t
slot_va(unsigned i)
{
	return (WIN + 64 * MIB + (ht_va_t)(i / 64) * 4 * MIB +
	    (ht_va_t)(i % 64) * 2 * PG);
}

static void *
owner(void *arg)
{
	owner_t *o = arg;
	world_t *w = o->w;

	for (int i = 0; i < OPS; i++) {
		uint64_t r = rnd(&o->rng);
		unsigned s = (unsigned)(r % NSLOT);
		ht_va_t va = slot_va(s);
		int rc;

		switch (r / NSLOT % 8) {
		case 0: case 1: case 2:
			rc = ht_map(o->as, va, va + PA_OFF, PG, HT_W, 0);
			o->mapped[s] = 1;
			break;
		case 3: case 4:
			rc = ht_unmap(o->as, va, PG, 0);
			o->mapped[s] = 0;
			break;
		case 5:
			rc = ht_protect(o->as, va, PG, (r & 1) ? HT_W : 0);
			break;
		case 6:			/* a large page, one entry too */
			if (o->bigmapped)
				rc = ht_unmap(o->as, WIN + w->l1, w->l1, 0);
			else
				rc = ht_map(o->as, WIN + w->l1, WIN + w->l1 +
				    PA_OFF, w->l1, HT_W, 0);
			o->bigmapped = !o->bigmapped;
			break;
		default:		/* a run: the general path */
			rc = ht_unmap(o->as, slot_va(s & ~7u), 16 * PG, 0);
			for (unsigned k = s & ~7u; k < (s & ~7u) + 8 &&
			    k < NSLOT; k++)
				o->mapped[k] = 0;
			break;
		}
		if (rc != 0)
			atomic_fetch_add(&w->bad, 1);
	}
	return (NULL);
}

/*
 * Before the threads start: one page that stays mapped in each level-0
 * table the slots use, so that the owners need no new table (stealing
 * is forced on every allocation, and only the plain space has tables to
 * give).
 */
static void
anchor(owner_t *o)
{
	for (unsigned g = 0; g < NSLOT / 64; g++) {
		ht_va_t va = slot_va(g * 64) + 256 * PG;

		cr_assert_eq(ht_map(o->as, va, va + PA_OFF, PG, HT_W, 0), 0);
	}
}

static void *
reader(void *arg)
{
	world_t *w = arg;
	uint64_t s = 99;

	while (!atomic_load(&w->stop)) {
		ht_as_t *as = w->own[rnd(&s) % NOWNERS];
		ht_va_t va = (rnd(&s) % 4 == 0 ? WIN + w->l1 +
		    rnd(&s) % (w->l1 / PG) * PG : slot_va((unsigned)(rnd(&s) %
		    NSLOT))) + 8;

		if (xlate_wrong(as, va, PA_OFF))
			atomic_fetch_add(&w->bad, 1);
	}
	return (NULL);
}

/* The owner's bookkeeping against the space. */
static void
check_owner(const owner_t *o, ht_mode_t mode)
{
	ht_stats_t st;
	uint64_t want = 0;

	for (unsigned i = 0; i < NSLOT; i++) {
		ht_pa_t pa;
		int rc = ht_va2pa(o->as, slot_va(i), &pa);

		cr_assert_eq(rc == 0, o->mapped[i] != 0, "%s: slot %u: owner "
		    "says %s, the space %s", ht_mode_name(mode), i,
		    o->mapped[i] ? "mapped" : "unmapped", rc == 0 ? "maps it" :
		    ht_err_name(rc));
		want += o->mapped[i];
	}
	ht_as_stats(o->as, &st);
	want += NSLOT / 64;		/* the anchors */
	cr_assert_eq(st.leaves[0], want, "%s: %llu small leaves, owner "
	    "left %llu", ht_mode_name(mode), (unsigned long long)st.leaves[0],
	    (unsigned long long)want);
	cr_assert_eq(ht_audit(o->as), 0, "%s: audit: %s", ht_mode_name(mode),
	    ht_errdetail());
}

STRESS_MODES(serial, race)

ParameterizedTest(ht_mode_t *mode, serial, race, .timeout = 300)
{
	static world_t w;
	static owner_t o[NOWNERS];
	pthread_t t[NOWNERS], rt, tt;
	ht_arena_t *arena;
	ht_config_t cfg;
	ht_stats_t st;

	memset(&w, 0, sizeof (w));
	memset(o, 0, sizeof (o));
	cr_assert_eq(ht_arena_create(1 * MIB, 64 * MIB, 0, &arena), 0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = *mode;
	cfg.ept = stress_ept(*mode);
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = arena;
	cr_assert_eq(ht_ctx_create(&cfg, &w.ctx), 0);
	for (int i = 0; i < NOWNERS; i++)
		cr_assert_eq(ht_as_create(w.ctx, HT_AS_SERIAL |
		    (i == 1 ? HT_AS_NOMMU : 0), &w.own[i]), 0);
	cr_assert_eq(ht_as_create(w.ctx, 0, &w.plain), 0);
	w.l1 = 1ull << ht_geometry(*mode)->level_shift[1];
	for (int i = 0; i < NOWNERS; i++) {
		o[i].as = w.own[i];
		anchor(&o[i]);
	}
	ht_ctx_set_force_steal(w.ctx, 1);
	cr_assert_eq(pthread_create(&rt, NULL, reader, &w), 0);
	w.thief = (stress_thief_t){ .as = w.plain, .base = WIN,
	    .step = 2 * w.l1, .n = 256, .pa_off = PA_OFF, .stop = &w.stop,
	    .bad = &w.bad };
	cr_assert_eq(pthread_create(&tt, NULL, stress_thief, &w.thief), 0);
	/*
	 * The thief's steals must overlap the owners' calls however the
	 * scheduler runs the threads (on a loaded machine the owners could
	 * finish before the thief ran at all, and the check that something
	 * was stolen failed): they start after its first round, and it
	 * stops after its 64th.
	 */
	stress_wait_thefts(&w.thief, 1);
	for (int i = 0; i < NOWNERS; i++) {
		o[i].w = &w;
		o[i].as = w.own[i];
		o[i].rng = 0x9e3779b9ull * (uint64_t)(i + 1);
		cr_assert_eq(pthread_create(&t[i], NULL, owner, &o[i]), 0);
	}
	for (int i = 0; i < NOWNERS; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	stress_wait_thefts(&w.thief, 64);
	atomic_store(&w.stop, 1);
	cr_assert_eq(pthread_join(rt, NULL), 0);
	cr_assert_eq(pthread_join(tt, NULL), 0);
	ht_ctx_set_force_steal(w.ctx, 0);
	cr_assert_eq(atomic_load(&w.bad), 0, "%ld calls failed or read "
	    "wrong", atomic_load(&w.bad));
	for (int i = 0; i < NOWNERS; i++)
		check_owner(&o[i], *mode);
	cr_assert_eq(ht_audit(w.plain), 0, "audit: %s", ht_errdetail());
	ht_ctx_stats(w.ctx, &st);
	cr_assert(st.steals > 0, "%s: nothing was stolen", ht_mode_name(*mode));
	for (int i = 0; i < NOWNERS; i++)
		ht_as_destroy(w.own[i]);
	ht_as_destroy(w.plain);
	cr_assert_eq(ht_ctx_destroy(w.ctx), 0);
	ht_arena_destroy(arena);
}
