/*
 * test_races.c - the races between a table's holder and a stealer, and
 * between two calls on the same entries, made to happen on purpose.
 *
 * Each test stops one thread inside the library at a named point of
 * src/hook.h (a debug-build hook) and lets another thread act in the
 * window, then lets the first go on and checks the outcome:
 *  - unmap_vs_steal: a stealer has chosen a table and is about to clear
 *    it while the owner's unmap has read an entry: only one of them may
 *    count that entry (else the table is freed with a live leaf in it);
 *  - unmap_vs_unmap: the same with two overlapping unmaps;
 *  - protect_vs_unmap, lock_vs_unmap: a change that lost its CAS to an
 *    unmap must not write protection or lock bits into the empty entry;
 *  - lock_vs_steal: a leaf locked while a stealer had the table chosen
 *    must stay;
 *  - tlb_hook_unlocked_on_steal: the victim's TLB hook runs with no
 *    library lock held (it calls back into the library), before the
 *    stolen frame is used;
 *  - access_generation: ht_access racing with a table's removal and the
 *    frame's reuse must not give a verdict from the new entries.
 * Nothing here waits on time: threads wait on events only.  Every case
 * runs in each paging mode.  The file is built twice: as a Criterion
 * suite (unit) and as a plain program for ThreadSanitizer (tsan; see
 * tests/stress/standalone.h).
 */
#ifdef HT_STANDALONE
#include "standalone.h"
#else
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "htable_int.h"
#include "x86pte.h"
#include "hook.h"
#include "../lib/geom.h"

#define PG		4096ull
#define VA_A		0x40000000ull	/* two leaves of one level-0 table */
#define VA_B		(VA_A + PG)
#define PA_A		0x10000000ull
#define PA_B		0x10001000ull
#define PA_C		0x20000000ull
#define PA_T		0x30000000ull	/* what the thief maps */

/* events */
#define EV_S_WINDOW	0x001u	/* the stealer stopped at T */
#define EV_S_DONE	0x002u	/* the stealer's (thief's) call returned */
#define EV_LOADED	0x004u	/* the second actor stopped in its window */
#define EV_A_DONE	0x008u	/* the second actor's call returned */
#define EV_MAIN_DONE	0x010u	/* the main thread did its part */

enum role { R_NONE, R_STEALER, R_UNMAP, R_PROTECT, R_LOCK, R_ACCESS };

typedef struct world {
	const ht_geometry_t *g;
	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
	ht_as_t		*v;		/* the owner (and victim) */
	ht_as_t		*x;		/* the thief */
	uint64_t	lsize;		/* what one level-0 table covers */
	htable_t	*target;	/* V's level-0 table of VA_A */
	pthread_mutex_t	mu;
	pthread_cond_t	cv;
	unsigned	ev;
	unsigned	until[R_ACCESS + 1];	/* what a stopped role waits for */
	int		stopped[R_ACCESS + 1];	/* each role stops once */
	unsigned	reads;		/* R_ACCESS: entries read */
	/* the TLB hook's findings (tlb_hook_unlocked_on_steal) */
	int		tlb_check;
	unsigned	tlb_v_calls;
	int		tlb_locked;	/* a library lock was held */
	int		tlb_early;	/* the stolen frame was in use already */
	int		tlb_walk_rc;
	long		tlb_walk_leaves;
	int		tlb_covers_t;
} world_t;

static world_t W;
static _Thread_local int role;

static void
post(unsigned ev)
{
	(void) pthread_mutex_lock(&W.mu);
	W.ev |= ev;
	(void) pthread_cond_broadcast(&W.cv);
	(void) pthread_mutex_unlock(&W.mu);
}

static unsigned
wait_any(unsigned mask)
{
	unsigned got;

	(void) pthread_mutex_lock(&W.mu);
	while ((W.ev & mask) == 0)
		(void) pthread_cond_wait(&W.cv, &W.mu);
	got = W.ev & mask;
	(void) pthread_mutex_unlock(&W.mu);
	return (got);
}

/* The first time only: say we are in the window, wait for W.until[r]. */
static void
stop_once(int r, unsigned ev)
{
	int first;

	(void) pthread_mutex_lock(&W.mu);
	first = !W.stopped[r];
	W.stopped[r] = 1;
	(void) pthread_mutex_unlock(&W.mu);
	if (!first)
		return;
	post(ev);
	(void) wait_any(W.until[r]);
}

static void
test_hook(hook_point_t pt, const void *arg)
{
	switch (role) {
	case R_STEALER:
		if (pt == HT_HOOK_STEAL_CLEAR && arg == W.target)
			stop_once(R_STEALER, EV_S_WINDOW);
		break;
	case R_UNMAP:
	case R_PROTECT:
		if (pt == HT_HOOK_PTE_LOADED)
			stop_once(role, EV_LOADED);
		break;
	case R_LOCK:
		if (pt == HT_HOOK_ITER_CAS)
			stop_once(R_LOCK, EV_LOADED);
		break;
	case R_ACCESS:
		/* after the link to the level-0 table: before reading it */
		if (pt == HT_HOOK_ACCESS_READ && ++W.reads == W.g->levels - 1)
			stop_once(R_ACCESS, EV_LOADED);
		break;
	default:
		break;
	}
}

static int
count_leaf(void *arg, const ht_leaf_t *l)
{
	(void) l;
	(*(long *)arg)++;
	return (0);
}

/* Is any library lock held (by this thread: the others are idle)? */
static int
library_locked(void)
{
	ht_ctx_t *ctx = W.ctx;
	pthread_mutex_t *m[4];
	int n = 0, held = 0;

	/* a bucket lock is a word: non-zero while held (src/lock.h) */
	for (int s = 0; s < 2; s++) {
		ht_hash_t *t = htable_hash_cur(s == 0 ? W.v : W.x);

		for (unsigned i = 0; i < t->hh_n; i++)
			if (atomic_load(&htable_chain_lock(t, i)->bl_word) != 0)
				held = 1;
	}
	/* and so is each shard's cache lock (src/types.h, hat_pm_t) */
	for (unsigned s = 0; s < HAT_SHARDS; s++)
		if (atomic_load(&W.v->hat_pm[s].pm_lock.bl_word) != 0 ||
		    atomic_load(&W.x->hat_pm[s].pm_lock.bl_word) != 0)
			held = 1;
	m[n++] = &ctx->ctx_list_lock;
	m[n++] = &ctx->ctx_reserve_lock;
	for (int i = 0; i < n; i++) {
		if (pthread_mutex_trylock(m[i]) == EBUSY)
			held = 1;
		else
			(void) pthread_mutex_unlock(m[i]);
	}
	return (held);
}

static void
tlb_hook(void *arg, ht_as_t *as, ht_va_t va, uint64_t len)
{
	ht_xlate_t x;

	(void) arg;
	if (!W.tlb_check || as != W.v)
		return;
	W.tlb_v_calls++;
	if (va <= VA_A && (len == HT_TLB_ALL || va + len >= VA_A + W.lsize))
		W.tlb_covers_t = 1;
	/* The thief must not have its page in the stolen frame yet. */
	if (ht_translate(W.x, VA_A + W.lsize, &x) != -HT_ENOTMAPPED)
		W.tlb_early = 1;
	if (library_locked()) {
		W.tlb_locked = 1;
		return;		/* calling in now would deadlock */
	}
	/* A hook may call back into the library: walk the victim. */
	W.tlb_walk_leaves = 0;
	W.tlb_walk_rc = ht_walk(W.v, 0, VA_A + 2 * W.lsize - 1, count_leaf,
	    &W.tlb_walk_leaves);
}

static void
world_setup(ht_mode_t mode)
{
	ht_config_t cfg;
	htable_t *t;

	memset(&W, 0, sizeof (W));
	(void) pthread_mutex_init(&W.mu, NULL);
	(void) pthread_cond_init(&W.cv, NULL);
	W.g = ht_geometry(mode);
	W.lsize = 1ull << W.g->level_shift[1];
	cr_assert_eq(ht_arena_create(0x100000, 64ull << 20, 0, &W.arena), 0,
	    "arena");
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = W.arena;
	cfg.tlb = tlb_hook;
	/* EPT: A/D bits, and HT_U (user-mode execute) as in the others */
	if (mode_ept(W.g))
		cfg.ept = HT_EPT_AD | HT_EPT_MBEC | HT_EPT_XONLY;
	cr_assert_eq(ht_ctx_create(&cfg, &W.ctx), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_as_create(W.ctx, 0, &W.v), 0, "space V");
	cr_assert_eq(ht_as_create(W.ctx, 0, &W.x), 0, "space X");
	cr_assert_eq(ht_map(W.v, VA_A, PA_A, PG, HT_W, 0), 0, "%s",
	    ht_errdetail());
	cr_assert_eq(ht_map(W.v, VA_B, PA_B, PG, HT_W, 0), 0, "map B");
	/* X has its upper tables: the thief needs one level-0 table */
	cr_assert_eq(ht_map(W.x, VA_A, PA_T, PG, HT_W, 0), 0, "map X");
	t = htable_lookup(W.v, VA_A, 0);
	cr_assert_not_null(t, "no level-0 table at VA_A");
	W.target = t;
	htable_release(t);
	atomic_store(&debug_hook, test_hook);
}

static void
world_teardown(void)
{
	atomic_store(&debug_hook, NULL);
	W.tlb_check = 0;
	ht_arena_set_limit(W.arena, 0);
	ht_as_destroy(W.v);
	ht_as_destroy(W.x);
	cr_assert_eq(ht_ctx_destroy(W.ctx), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_arena_frames_used(W.arena), 0, "frames leaked");
	ht_arena_destroy(W.arena);
	(void) pthread_cond_destroy(&W.cv);
	(void) pthread_mutex_destroy(&W.mu);
}

/* No frame left: the next table anyone needs is stolen. */
static void
exhaust(void)
{
	ht_arena_set_limit(W.arena, ht_arena_frames_used(W.arena));
}

/* One call in a thread of its own, in a role. */
enum op { OP_THIEF_MAP, OP_UNMAP_A, OP_PROTECT_A, OP_LOCK_A, OP_ACCESS_A };

typedef struct actor {
	pthread_t	tid;
	int		role;
	enum op		op;
	unsigned	done_ev;
	int		rc;
	ht_access_t	acc;
} actor_t;

static void *
actor_main(void *arg)
{
	actor_t *a = arg;
	ht_cpu_t cpu = { HT_CPU_WP | HT_CPU_NXE, 0, 0 };

	/* EPT takes none of the x86 flags: the CPU the context is for */
	if (mode_ept(W.g))
		cpu.flags = HT_CPU_EPT_MBEC | HT_CPU_EPT_XONLY;
	role = a->role;
	switch (a->op) {
	case OP_THIEF_MAP:
		a->rc = ht_map(W.x, VA_A + W.lsize, PA_T, PG, HT_W, 0);
		break;
	case OP_UNMAP_A:
		a->rc = ht_unmap(W.v, VA_A, PG, 0);
		break;
	case OP_PROTECT_A:
		a->rc = ht_protect(W.v, VA_A, PG, HT_W | HT_U);
		break;
	case OP_LOCK_A:
		a->rc = ht_lock(W.v, VA_A, PG);
		break;
	case OP_ACCESS_A:
		a->rc = ht_access(W.v, &cpu, VA_A, HT_ACC_READ, 0, &a->acc);
		break;
	}
	post(a->done_ev);
	return (NULL);
}

static void
actor_start(actor_t *a, int r, enum op op, unsigned done_ev)
{
	memset(a, 0, sizeof (*a));
	a->role = r;
	a->op = op;
	a->done_ev = done_ev;
	cr_assert_eq(pthread_create(&a->tid, NULL, actor_main, a), 0,
	    "thread");
}

static void
actor_join(actor_t *a)
{
	(void) pthread_join(a->tid, NULL);
}

/* Start the thief and wait until the stealer stops at V's table. */
static void
stealer_start(actor_t *s)
{
	exhaust();
	actor_start(s, R_STEALER, OP_THIEF_MAP, EV_S_DONE);
	cr_assert_eq(wait_any(EV_S_WINDOW | EV_S_DONE), EV_S_WINDOW,
	    "the stealer never chose V's table");
}

static uint64_t
raw_entry(ht_as_t *as, uint64_t va)
{
	htable_t *ht = htable_lookup(as, va, 0);
	uint64_t pte;

	cr_assert_not_null(ht, "no table at 0x%llx", (unsigned long long)va);
	pte = x86pte_get(ht, htable_va2entry(va, ht));
	htable_release(ht);
	return (pte);
}

/* Invalid means zero: nothing was written into an emptied entry. */
static void
expect_zero_entry(uint64_t va)
{
	uint64_t pte = raw_entry(W.v, va);

	cr_assert_eq(pte, 0, "the entry of 0x%llx is 0x%llx, not 0",
	    (unsigned long long)va, (unsigned long long)pte);
}

static void
expect_pa(ht_as_t *as, uint64_t va, uint64_t pa, const char *what)
{
	ht_xlate_t x;
	int rc = ht_translate(as, va, &x);

	cr_assert_eq(rc, 0, "%s: va 0x%llx is not mapped (%d)", what,
	    (unsigned long long)va, rc);
	cr_assert_eq(x.pa, pa, "%s: va 0x%llx maps 0x%llx, not 0x%llx", what,
	    (unsigned long long)va, (unsigned long long)x.pa,
	    (unsigned long long)pa);
}

static void
expect_unmapped(ht_as_t *as, uint64_t va, const char *what)
{
	ht_xlate_t x;
	int rc = ht_translate(as, va, &x);

	cr_assert_eq(rc, -HT_ENOTMAPPED, "%s: va 0x%llx maps 0x%llx", what,
	    (unsigned long long)va, rc == 0 ? (unsigned long long)x.pa : 0);
}

/*
 * After a race on A: B is still mapped, both spaces audit clean, and a
 * new table of V (from V's cache, if a table went there) shows no stale
 * leaf.
 */
static void
check_b_survived(void)
{
	uint64_t c = VA_A + 2 * W.lsize;

	expect_pa(W.v, VA_B, PA_B, "B was never unmapped");
	cr_assert_eq(ht_audit(W.v), 0, "V: %s", ht_errdetail());
	cr_assert_eq(ht_audit(W.x), 0, "X: %s", ht_errdetail());
	cr_assert_eq(ht_map(W.v, c, PA_C, PG, HT_W, 0), 0, "%s",
	    ht_errdetail());
	expect_unmapped(W.v, c + PG, "a reused table");
	cr_assert_eq(ht_audit(W.v), 0, "V after reuse: %s", ht_errdetail());
}

/* Each case runs in every paging mode (geom.h's list). */
static ht_mode_t modes[] = { ALL_MODES };
#define EVERY_MODE(name)						\
	ParameterizedTestParameters(races, name)			\
	{								\
		return (cr_make_param_array(ht_mode_t, modes,		\
		    sizeof (modes) / sizeof (modes[0])));		\
	}

/*
 * In `mode`, start op in role r; when it stops in its window, unmap A from
 * this thread; then let it go on.  Whatever op was, A ends empty (its
 * entry zero, no lock counted for it) and B and the tables are intact.
 */
static void
race_with_unmap(ht_mode_t mode, int r, enum op op)
{
	actor_t a;

	world_setup(mode);
	W.until[r] = EV_MAIN_DONE;
	actor_start(&a, r, op, EV_A_DONE);
	cr_assert_eq(wait_any(EV_LOADED | EV_A_DONE), EV_LOADED,
	    "the call never stopped at A");
	cr_assert_eq(ht_unmap(W.v, VA_A, PG, 0), 0, "%s", ht_errdetail());
	post(EV_MAIN_DONE);
	actor_join(&a);
	/* for lock: the lock came first, then the unmap took the leaf */
	cr_assert_eq(a.rc, 0, "the racing call: %d", a.rc);
	expect_pa(W.v, VA_B, PA_B, "B was never unmapped");
	expect_zero_entry(VA_A);
	cr_assert_eq(atomic_load(&W.target->ht_lock_cnt), 0,
	    "a lock is counted for a leaf that does not exist");
	check_b_survived();
	world_teardown();
}

EVERY_MODE(unmap_vs_steal)

/*
 * The stealer has chosen V's table (A and B in it); the owner unmaps A
 * and has read A's entry; then the stealer goes on; then the owner.
 */
ParameterizedTest(ht_mode_t *mode, races, unmap_vs_steal, .timeout = 60)
{
	actor_t s, u;

	world_setup(*mode);
	W.until[R_STEALER] = EV_LOADED | EV_A_DONE;
	W.until[R_UNMAP] = EV_S_DONE;
	stealer_start(&s);
	actor_start(&u, R_UNMAP, OP_UNMAP_A, EV_A_DONE);
	actor_join(&s);
	actor_join(&u);
	atomic_store(&debug_hook, NULL);
	ht_arena_set_limit(W.arena, 0);
	cr_assert_eq(u.rc, 0, "unmap: %d", u.rc);
	expect_unmapped(W.v, VA_A, "A was unmapped");
	check_b_survived();
	world_teardown();
}

EVERY_MODE(unmap_vs_unmap)

/* Two unmaps of A: one has read the entry when the other clears it. */
ParameterizedTest(ht_mode_t *mode, races, unmap_vs_unmap, .timeout = 60)
{
	race_with_unmap(*mode, R_UNMAP, OP_UNMAP_A);
}

EVERY_MODE(protect_vs_unmap)

/* Protect has read A when an unmap clears it: A must stay zero. */
ParameterizedTest(ht_mode_t *mode, races, protect_vs_unmap, .timeout = 60)
{
	race_with_unmap(*mode, R_PROTECT, OP_PROTECT_A);
}

EVERY_MODE(lock_vs_unmap)

/* Lock has read A when an unmap clears it: no lock bit, no lock count. */
ParameterizedTest(ht_mode_t *mode, races, lock_vs_unmap, .timeout = 60)
{
	race_with_unmap(*mode, R_LOCK, OP_LOCK_A);
}

EVERY_MODE(lock_vs_steal)

/* A is locked while the stealer has V's table chosen: A must stay. */
ParameterizedTest(ht_mode_t *mode, races, lock_vs_steal, .timeout = 60)
{
	actor_t s;

	world_setup(*mode);
	W.until[R_STEALER] = EV_MAIN_DONE;
	stealer_start(&s);
	cr_assert_eq(ht_lock(W.v, VA_A, PG), 0, "%s", ht_errdetail());
	post(EV_MAIN_DONE);
	actor_join(&s);
	atomic_store(&debug_hook, NULL);
	ht_arena_set_limit(W.arena, 0);
	expect_pa(W.v, VA_A, PA_A, "a locked mapping was stolen");
	cr_assert(raw_entry(W.v, VA_A) & hat_mmu(W.v)->pt_locked,
	    "A lost its lock");
	cr_assert_eq(ht_audit(W.v), 0, "V: %s", ht_errdetail());
	cr_assert_eq(ht_audit(W.x), 0, "X: %s", ht_errdetail());
	world_teardown();
}

EVERY_MODE(tlb_hook_unlocked_on_steal)

/*
 * The thief steals V's table.  V's TLB hook finds no library lock held,
 * calls back into the library, and runs before the thief uses the frame.
 */
ParameterizedTest(ht_mode_t *mode, races, tlb_hook_unlocked_on_steal,
    .timeout = 60)
{
	ht_stats_t st;
	int rc;

	world_setup(*mode);
	exhaust();
	W.tlb_check = 1;
	rc = ht_map(W.x, VA_A + W.lsize, PA_T, PG, HT_W, 0);
	W.tlb_check = 0;
	cr_assert_eq(rc, 0, "the thief: %s", ht_errdetail());
	ht_ctx_stats(W.ctx, &st);
	cr_assert_eq(st.stolen, 1, "%llu tables stolen",
	    (unsigned long long)st.stolen);
	cr_assert(W.tlb_v_calls > 0, "V's TLB hook was not called");
	cr_assert(W.tlb_covers_t, "V was not told about its table's range");
	cr_assert(!W.tlb_locked, "V's TLB hook ran with a library lock held");
	cr_assert(!W.tlb_early, "the thief used the frame before V was told");
	cr_assert_eq(W.tlb_walk_rc, 0, "walk from the hook: %d",
	    W.tlb_walk_rc);
	cr_assert_eq(W.tlb_walk_leaves, 0, "V still had %ld leaves",
	    W.tlb_walk_leaves);
	expect_pa(W.x, VA_A + W.lsize, PA_T, "the thief's page");
	expect_unmapped(W.v, VA_A, "A was stolen");
	expect_unmapped(W.v, VA_B, "B was stolen");
	ht_arena_set_limit(W.arena, 0);
	cr_assert_eq(ht_audit(W.v), 0, "V: %s", ht_errdetail());
	cr_assert_eq(ht_audit(W.x), 0, "X: %s", ht_errdetail());
	world_teardown();
}

EVERY_MODE(access_generation)

/*
 * ht_access has read the link to A's table when A and B are unmapped
 * (the table goes to V's cache) and C is mapped one table further on, in
 * the same frame at the same index: the verdict on A must be "not
 * present", never C's page.
 */
ParameterizedTest(ht_mode_t *mode, races, access_generation, .timeout = 60)
{
	uint64_t c;
	ht_pfn_t pfn;
	htable_t *ht;
	actor_t r;

	world_setup(*mode);
	c = VA_A + W.lsize;
	pfn = W.target->ht_pfn;
	/* keeps the level-1 table when A's table goes (kept above) */
	cr_assert_eq(ht_map(W.v, VA_A + 2 * W.lsize, PA_B, PG, HT_W, 0), 0,
	    "%s", ht_errdetail());
	W.until[R_ACCESS] = EV_MAIN_DONE;
	actor_start(&r, R_ACCESS, OP_ACCESS_A, EV_A_DONE);
	cr_assert_eq(wait_any(EV_LOADED | EV_A_DONE), EV_LOADED,
	    "access never reached the level-0 table");
	cr_assert_eq(ht_unmap(W.v, VA_A, 2 * PG, 0), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_map(W.v, c, PA_C, PG, HT_W, 0), 0, "%s",
	    ht_errdetail());
	ht = htable_lookup(W.v, c, 0);
	cr_assert_not_null(ht, "no table for C");
	cr_assert_eq(ht->ht_pfn, pfn, "C's table is not A's old frame: the "
	    "case did not happen");
	htable_release(ht);
	post(EV_MAIN_DONE);
	actor_join(&r);
	cr_assert_eq(r.rc, 0, "access: %d", r.rc);
	/* EPT: a violation whose walk had no right (a not-present entry) */
	cr_assert_eq(r.acc.fault, mode_ept(W.g) ? HT_FAULT_EPT_VIOLATION :
	    HT_FAULT_PF, "A (unmapped) gave fault %d, pa 0x%llx",
	    (int)r.acc.fault, (unsigned long long)r.acc.pa);
	cr_assert_eq(r.acc.error_code & (mode_ept(W.g) ? HT_EPTQ_R |
	    HT_EPTQ_W | HT_EPTQ_X | HT_EPTQ_XU : HT_PF_P), 0, "not a "
	    "not-present fault (error code 0x%x, %u steps)",
	    r.acc.error_code, r.acc.nsteps);
	world_teardown();
}
