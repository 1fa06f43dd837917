/*
 * test_cpu_race.c - per-CPU roots under concurrency.
 *
 * Three HT_AS_COPIED spaces, an ordinary kernel space K with a page in
 * the kernel half (and a second one that comes and goes in another root
 * entry there), an ordinary source space S, and four CPU roots whose
 * kernel half is K's.  Copied space i always maps its probe page j to a
 * frame that encodes (i, j); S maps its pages at frames that encode
 * their place too.  The first copied space shares two regions of S in
 * and out, round after round: two level-0 tables, and a whole table
 * below the root (a root entry's span: its root entry is linked to S's
 * table and cleared again, so root entries come and go in every mode).
 * Meanwhile:
 *  - two "CPU" threads, each driving two CPU roots, switch them between
 *    the copied spaces (and sometimes nothing), or stay, and read through
 *    the CR3 value the last switch gave, as an MMU would
 *    (ht_scan_translate over the arena's bytes, one entry at a time,
 *    atomically): K's page is always there at its frame; a probe page is
 *    either unmapped or at exactly the frame the running space maps
 *    there, a region page unmapped or at S's frame (another space's
 *    frame, or a torn or reserved entry, is a failure).  Where no call
 *    that may change the page (or its region's share) overlapped the
 *    walk, exactly what the last one left must be seen: a call that
 *    returned has changed every CPU root that runs the space, so a copy
 *    of a root entry that a CPU root missed shows as a stale page
 *    (ht_protect is no such call: a permission change never unmaps);
 *  - one mapper thread per copied space maps, unmaps and protects its
 *    probe pages, which lie in several root entries and level-0 tables,
 *    unmaps whole groups and purges the space's cached tables;
 *  - a source thread maps and unmaps S's pages in both regions, and K's
 *    second page;
 *  - a share thread shares the regions of S into the first copied space
 *    and ends the shares.
 * The TLB hook (config.tlb_info) counts its calls and checks that each
 * names a live space (with its PCID) and only live CPU roots; then it
 * does what a kernel's shootdown does: it waits until each CPU root it
 * names is out of the walk it may be in (a CPU root is never walked while
 * its thread switches it), so no walker reads a table frame freed after
 * the hook.  Every CHECK_EVERY rounds all threads stop at a barrier and
 * the checker asserts that ht_cpu_root_audit of every CPU root and
 * ht_audit of every space return 0, and that what the MMU sees through
 * each CPU root equals what its running space (ht_va2pa) and K map, at
 * every probe.  At the end the same checks, then everything is
 * destroyed: ht_ctx_destroy returns 0 and no frame is left in the arena.
 * Failures are counted in an atomic (the first one is described) and
 * asserted 0.  Every paging mode; built also as a plain program for
 * ThreadSanitizer (standalone.h).
 */
#include "stress.h"

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "htable.h"

#define NOPA		(~(ht_pa_t)0)	/* unmapped */
#define BADPA		(~(ht_pa_t)1)	/* reserved bits, a read error */
#define NSPACE		3		/* HT_AS_COPIED spaces */
#define NSP		(NSPACE + 2)	/* and K, S */
#define SP_K		NSPACE
#define SP_S		(NSPACE + 1)
#define NCPU		4		/* CPU roots */
#define NCPUT		2		/* CPU threads, NCPU / NCPUT roots
					   each */
#define NWORK		(NCPUT + NSPACE + 2)	/* threads at the barrier */
#define ID0		40		/* CPU root c has id ID0 + c */
#define NPROBE		12		/* probe pages of each copied space */
#define PPG		6		/* probes per group, in one root entry
					   (in 32-bit paging one each) */
#define NTOP		64		/* S's pages in the root-entry region */
#define KPA		(128 * MIB)	/* K's page */
#define KPA2		(130 * MIB)	/* K's page that comes and goes */
#define PPA(i, j)	(256 * MIB + ((ht_pa_t)((i) * NPROBE + (j)) << 12))
#define SRC_PA		(512 * MIB)	/* S's page k of the level-0 region */
#define TOP_PA		(768 * MIB)	/* S's page k of the root-entry one */
#ifdef HT_STANDALONE
#define ROUNDS		300		/* ThreadSanitizer is slow */
#else
#define ROUNDS		2000
#endif
#define CPU_STEPS	100		/* steps of each CPU root a round */
#define MAP_OPS		150		/* each mapper's operations a round */
#define SRC_OPS		150
#define SHARE_OPS	40		/* shares and unshares a round */
#define CHECK_EVERY	2		/* rounds between quiet checks */
#define MAXSRC		2048		/* level-0 region pages, at most */

/*
 * What a page's writer last did, for the walkers: (version << 2) |
 * ST_MAPPED if it is mapped, | ST_BUSY while a call that may change it
 * runs.  A walk between two equal reads without ST_BUSY must see exactly
 * that (a call that returned has changed every CPU root that runs the
 * space: only a walk that overlaps it may see either).
 */
#define ST_BUSY		1ul
#define ST_MAPPED	2ul
typedef _Atomic unsigned long st_t;

typedef struct race race_t;

typedef struct cpu {
	ht_cpu_root_t	*cr;
	_Atomic unsigned long seq;	/* odd: a walk through cr is on */
	_Atomic int	live;
	int		sp;		/* its thread's: the space it runs,
					   -1 for nothing */
	uint64_t	cr3;		/* its thread's: the last switch's */
} cpu_t;

typedef struct targ {
	race_t		*r;
	unsigned	i;
} targ_t;

struct race {
	ht_mode_t	mode;
	const ht_geometry_t *g;
	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
	ht_as_t		*sp[NSP];	/* copied spaces, K, S */
	_Atomic int	live[NSP];
	cpu_t		cpu[NCPU];
	uint64_t	slot;		/* a root entry's span */
	uint64_t	span;		/* a level-0 table's span */
	unsigned	nsrc;		/* pages of the level-0 region */
	ht_va_t		kva[2];		/* K's pages */
	ht_va_t		vs, vsh;	/* the level-0 region in S, in sp[0] */
	ht_va_t		vt, vth;	/* the root-entry region in S, sp[0] */
	st_t		pst[NSPACE][NPROBE];	/* the probes */
	st_t		sst[MAXSRC];	/* S's pages: level-0 region */
	st_t		tst[NTOP];	/* root-entry region */
	st_t		kst;		/* K's second page */
	st_t		rst[2];		/* the regions: ST_MAPPED = shared */
	pthread_barrier_t bar;
	_Atomic long	bad;		/* failures, the first in why */
	char		why[512];
	_Atomic long	walks, hooks, named;
};

/* ------------------------------------------------------------------ */
/* Failures, randomness, addresses                                     */
/* ------------------------------------------------------------------ */

__attribute__((format(printf, 2, 3))) static void
fail(race_t *r, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&r->bad, 1) == 0) {
		va_start(ap, fmt);
		(void) vsnprintf(r->why, sizeof (r->why), fmt, ap);
		va_end(ap);
	}
}

static uint64_t
rnd(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return (*x >> 17);
}

/* Probe page j of every copied space (space i maps it at PPA(i, j)). */
static ht_va_t
probe_va(const race_t *r, unsigned j)
{
	if (r->g->levels == 2)		/* a root entry is a level-0 table */
		return ((2 * (ht_va_t)j + 1) * r->slot + j * PG);
	return ((j / PPG) * r->slot + (2 * (ht_va_t)(j % PPG) + 1) *
	    r->span + (j % PPG) * PG);
}

/* S's page k of the root-entry region, at vt + top_off(k). */
static uint64_t
top_off(const race_t *r, unsigned k)
{
	return (k * (r->slot / NTOP));
}

static unsigned
nuser(const race_t *r)
{
	unsigned n = r->g->top_level_count;

	return (r->g->levels >= 4 ? n / 2 : n / 4 * 3);
}

/* The PCID of space sp: none in 32-bit and PAE paging, nor in EPT */
static unsigned
pcid_of(const race_t *r, int sp)
{
	return (r->g->levels >= 4 && !mode_ept(r->g) && sp >= 0 &&
	    sp < NSPACE ? (unsigned)sp + 1 : 0);
}

/*
 * What a switch of the CPU root at root to space sp gives: the root and
 * the space's PCID; in EPT the EPT pointer (the walk length, A/D: the
 * context has HT_EPT_AD, and the tables' memory type, WB).
 */
static uint64_t
cr3_of(const race_t *r, ht_pa_t root, int sp)
{
	if (mode_ept(r->g))
		return (root | ((uint64_t)(r->g->levels - 1) << 3) | 0x40 |
		    HT_EPT_WB);
	return (root | pcid_of(r, sp));
}

/* The writer of *s starts a call that may change it. */
static void
st_begin(st_t *s)
{
	atomic_store(s, atomic_load(s) | ST_BUSY);
}

/* ... and it ended: mapped or not (or, on failure, as it was). */
static void
st_end(st_t *s, int rc, int mapped)
{
	unsigned long v = atomic_load(s);

	if (rc != 0)
		mapped = (v & ST_MAPPED) != 0;
	atomic_store(s, (((v >> 2) + 1) << 2) | (mapped ? ST_MAPPED : 0));
}

/* ------------------------------------------------------------------ */
/* The MMU's view: the arena's bytes, an entry at a time               */
/* ------------------------------------------------------------------ */

static int
arena_read(void *arg, ht_pa_t pa, void *buf, size_t len)
{
	void *p = ht_arena_ptr(arg, pa);

	if (p == NULL) {
		memset(buf, 0, len);
		return (1);
	}
	if (len == 8 && (pa & 7) == 0) {
		uint64_t v = atomic_load_explicit((_Atomic uint64_t *)p,
		    memory_order_acquire);

		memcpy(buf, &v, sizeof (v));
	} else if (len == 4 && (pa & 3) == 0) {
		uint32_t v = atomic_load_explicit((_Atomic uint32_t *)p,
		    memory_order_acquire);

		memcpy(buf, &v, sizeof (v));
	} else {
		return (-HT_EINVAL);	/* the walker reads whole entries */
	}
	return (0);
}

/* What an MMU loaded with cr3 finds at va: the frame, NOPA or BADPA. */
static ht_pa_t
mmu_sees(race_t *r, uint64_t cr3, ht_va_t va)
{
	ht_scan_cfg_t c;
	ht_scan_xlate_t x;

	memset(&c, 0, sizeof (c));
	c.mode = r->mode;
	c.cr3 = cr3;
	c.read = arena_read;
	c.read_arg = r->arena;
	if (ht_scan_translate(&c, va, &x) != 0)
		return (BADPA);
	if (x.stop == HT_STOP_MAPPED)
		return (x.pa);
	return (x.stop == HT_STOP_NOTPRESENT ? NOPA : BADPA);
}

/* What as maps at va (NULL: nothing), by the library's own lookup. */
static ht_pa_t
truth(ht_as_t *as, ht_va_t va)
{
	ht_pa_t pa;
	int rc;

	if (as == NULL)
		return (NOPA);
	rc = ht_va2pa(as, va, &pa);
	if (rc == 0)
		return (pa);
	return (rc == -HT_ENOTMAPPED ? NOPA : BADPA);
}

/* ------------------------------------------------------------------ */
/* The TLB hook: checks, then a shootdown                              */
/* ------------------------------------------------------------------ */

/* Wait until CPU root c is out of the walk it may be in. */
static void
shoot(race_t *r, unsigned c)
{
	unsigned long s = atomic_load(&r->cpu[c].seq);

	if (s & 1) {
		while (atomic_load(&r->cpu[c].seq) == s)
			(void) sched_yield();
	}
}

static void
tlb_hook(void *arg, const ht_tlb_info_t *ti)
{
	race_t *r = arg;
	int sp;

	atomic_fetch_add(&r->hooks, 1);
	for (sp = 0; sp < NSP; sp++)
		if (r->sp[sp] == ti->as && atomic_load(&r->live[sp]))
			break;
	if (sp == NSP)
		fail(r, "TLB hook for %p, not a live space", (void *)ti->as);
	else if (ti->pcid != pcid_of(r, sp))
		fail(r, "TLB hook for space %d with PCID %u", sp, ti->pcid);
	if (ti->ncpus > 0 && ti->cpus == NULL)
		fail(r, "TLB hook names %u CPU roots, no list", ti->ncpus);
	for (unsigned i = 0; i < ti->ncpus && ti->cpus != NULL; i++) {
		unsigned id = ti->cpus[i];

		if (id < ID0 || id >= ID0 + NCPU ||
		    !atomic_load(&r->cpu[id - ID0].live)) {
			fail(r, "TLB hook for space %d names CPU root id %u",
			    sp, id);
			continue;
		}
		atomic_fetch_add(&r->named, 1);
		shoot(r, id - ID0);
	}
	if (ti->flags & HT_TLBI_ALLCPUS) {
		for (unsigned c = 0; c < NCPU; c++)
			shoot(r, c);
	}
}

/* ------------------------------------------------------------------ */
/* The threads                                                         */
/* ------------------------------------------------------------------ */

/* The quiet point: the checker looks between the two waits. */
static void
pause_here(race_t *r)
{
	(void) pthread_barrier_wait(&r->bar);
	(void) pthread_barrier_wait(&r->bar);
}

/*
 * A CPU walk found got at va (what), where pa or nothing may be: pa
 * exactly if `mapped`, nothing else, when the state did not move.
 */
static void
walk_saw(race_t *r, unsigned c, const char *what, ht_va_t va, ht_pa_t got,
    ht_pa_t pa, int stable, int mapped)
{
	ht_pa_t want = mapped ? pa : NOPA;

	if (stable ? got != want : got != NOPA && got != pa)
		fail(r, "CPU root %u, space %d: %s (va 0x%llx) at 0x%llx, want "
		    "%s0x%llx", c, r->cpu[c].sp, what, (unsigned long long)va,
		    (unsigned long long)got, stable ? "" : "nothing or ",
		    (unsigned long long)(stable ? want : pa));
}

/* What an MMU sees at va through CPU root c, between two looks at *s. */
static ht_pa_t
walk_one(race_t *r, unsigned c, ht_va_t va, st_t *s, unsigned long *r_st,
    int *r_stable)
{
	unsigned long a = atomic_load(s);
	ht_pa_t got = mmu_sees(r, r->cpu[c].cr3, va);

	*r_st = a;
	*r_stable = !(a & ST_BUSY) && atomic_load(s) == a;
	return (got);
}

/* A page of region w (0: level-0 tables, 1: a root entry's), S's page k */
static void
walk_region(race_t *r, unsigned c, int w, unsigned k)
{
	st_t *ps = w ? &r->tst[k] : &r->sst[k];
	ht_va_t va = w ? r->vth + top_off(r, k) : r->vsh + k * PG;
	ht_pa_t pa = w ? TOP_PA + k * PG : SRC_PA + k * PG;
	unsigned long a = atomic_load(&r->rst[w]), pst;
	int stable;
	ht_pa_t got = walk_one(r, c, va, ps, &pst, &stable);

	stable = stable && !(a & ST_BUSY) && atomic_load(&r->rst[w]) == a;
	if (r->cpu[c].sp != 0)		/* only sp[0] shares */
		walk_saw(r, c, "a region page", va, got, NOPA, 1, 0);
	else
		walk_saw(r, c, w ? "a root-entry region page" :
		    "a level-0 region page", va, got, pa, stable,
		    (a & ST_MAPPED) && (pst & ST_MAPPED));
}

/*
 * One step of CPU root c: switch it (to a random copied space, or
 * nothing) or stay, then walk through its CR3 as the MMU would.
 */
static void
cpu_step(race_t *r, unsigned c, uint64_t *x, int must_switch)
{
	cpu_t *cp = &r->cpu[c];
	uint64_t v = rnd(x);
	ht_switch_t sw;
	unsigned long st;
	ht_pa_t got;
	ht_va_t va;
	int sp, stable;

	if (must_switch || (v & 1) != 0) {
		sp = (v & 0x1c) == 0 ? -1 : (int)((v >> 5) % NSPACE);
		if (ht_switch(cp->cr, sp < 0 ? NULL : r->sp[sp], &sw) != 0) {
			fail(r, "ht_switch of CPU root %u: %s", c,
			    ht_errdetail());
			return;
		}
		cp->sp = sp;
		cp->cr3 = sw.cr3;
		if (sw.cr3 != cr3_of(r, ht_cpu_root_pa(cp->cr, 0), sp) ||
		    sw.user_cr3 != sw.cr3)
			fail(r, "CPU root %u, space %d: cr3 0x%llx, user cr3 "
			    "0x%llx", c, sp, (unsigned long long)sw.cr3,
			    (unsigned long long)sw.user_cr3);
		if (ht_cpu_root_running(cp->cr) != (sp < 0 ? NULL : r->sp[sp]))
			fail(r, "CPU root %u does not run space %d", c, sp);
	}
	sp = cp->sp;

	atomic_fetch_add(&cp->seq, 1);		/* the walk begins */
	got = mmu_sees(r, cp->cr3, r->kva[0]);
	walk_saw(r, c, "the kernel page", r->kva[0], got, KPA, 1, 1);
	got = walk_one(r, c, r->kva[1], &r->kst, &st, &stable);
	walk_saw(r, c, "the second kernel page", r->kva[1], got, KPA2, stable,
	    (st & ST_MAPPED) != 0);
	for (int n = 0; n < 4; n++) {
		unsigned j = (unsigned)(rnd(x) % NPROBE);

		va = probe_va(r, j);
		if (sp < 0) {
			got = mmu_sees(r, cp->cr3, va);
			walk_saw(r, c, "a probe", va, got, NOPA, 1, 0);
			continue;
		}
		got = walk_one(r, c, va, &r->pst[sp][j], &st, &stable);
		walk_saw(r, c, "a probe", va, got, PPA(sp, j), stable,
		    (st & ST_MAPPED) != 0);
	}
	for (int n = 0; n < 2; n++) {
		walk_region(r, c, 0, (unsigned)(rnd(x) % r->nsrc));
		walk_region(r, c, 1, (unsigned)(rnd(x) % NTOP));
	}
	atomic_fetch_add(&cp->seq, 1);		/* and ends */
	atomic_fetch_add(&r->walks, 1);
}

static void *
cpu_thread(void *arg)
{
	targ_t *t = arg;
	race_t *r = t->r;
	uint64_t x = 11 + t->i;

	for (int round = 0; round < ROUNDS; round++) {
		for (int n = 0; n < CPU_STEPS; n++)
			for (unsigned c = t->i; c < NCPU; c += NCPUT)
				cpu_step(r, c, &x, round == 0 && n == 0);
		pause_here(r);
	}
	return (NULL);
}

/* Copied space i: its probes come and go, and tables with them. */
static void *
mapper_thread(void *arg)
{
	targ_t *t = arg;
	race_t *r = t->r;
	ht_as_t *as = r->sp[t->i];
	uint64_t x = 101 + t->i;

	for (int round = 0; round < ROUNDS; round++) {
		for (int n = 0; n < MAP_OPS; n++) {
			uint64_t v = rnd(&x);
			unsigned j = (unsigned)(v % NPROBE), g = j / PPG;
			unsigned op = (unsigned)((v >> 8) % 16);
			ht_va_t va = probe_va(r, j), lo, hi;
			int rc = 0;

			switch (op) {
			case 0: case 1: case 2: case 3: case 4: case 5:
				st_begin(&r->pst[t->i][j]);
				rc = ht_map(as, va, PPA(t->i, j), PG,
				    HT_W | HT_U, 0);
				st_end(&r->pst[t->i][j], rc, 1);
				break;
			case 6: case 7: case 8: case 9: case 10:
				st_begin(&r->pst[t->i][j]);
				rc = ht_unmap(as, va, PG, 0);
				st_end(&r->pst[t->i][j], rc, 0);
				break;
			case 11: case 12: case 13:
				/* a change of permissions: never unmapped */
				rc = ht_protect(as, va, PG,
				    (v & 0x10000) ? HT_U : HT_W | HT_U);
				break;
			case 14:	/* a group: its tables empty */
				lo = probe_va(r, g * PPG);
				hi = probe_va(r, g * PPG + PPG - 1) + PG;
				for (unsigned p = g * PPG; p < g * PPG + PPG;
				    p++)
					st_begin(&r->pst[t->i][p]);
				rc = ht_unmap(as, lo, hi - lo, 0);
				for (unsigned p = g * PPG; p < g * PPG + PPG;
				    p++)
					st_end(&r->pst[t->i][p], rc, 0);
				break;
			default:
				rc = ht_as_purge(as) < 0;
				break;
			}
			if (rc != 0)
				fail(r, "space %u, probe %u, op %u: %d %s",
				    t->i, j, op, rc, ht_errdetail());
		}
		pause_here(r);
	}
	return (NULL);
}

/* S's pages in both regions, and K's second page. */
static void *
src_thread(void *arg)
{
	targ_t *t = arg;
	race_t *r = t->r;
	ht_as_t *s = r->sp[SP_S], *k = r->sp[SP_K];
	uint64_t x = 7;

	for (int round = 0; round < ROUNDS; round++) {
		for (int n = 0; n < SRC_OPS; n++) {
			uint64_t v = rnd(&x);
			int map = (v & 0x10000) != 0, rc;
			unsigned i;
			ht_as_t *as;
			ht_va_t va;
			ht_pa_t pa;
			st_t *ps;

			switch ((v >> 20) % 16) {
			case 0:
				as = k;
				va = r->kva[1];
				pa = KPA2;
				ps = &r->kst;
				break;
			case 1: case 2: case 3: case 4: case 5: case 6:
				i = (unsigned)(v % NTOP);
				as = s;
				va = r->vt + top_off(r, i);
				pa = TOP_PA + i * PG;
				ps = &r->tst[i];
				break;
			default:
				i = (unsigned)(v % r->nsrc);
				as = s;
				va = r->vs + i * PG;
				pa = SRC_PA + i * PG;
				ps = &r->sst[i];
				break;
			}
			st_begin(ps);
			rc = map ? ht_map(as, va, pa, PG, HT_W | HT_U, 0) :
			    ht_unmap(as, va, PG, 0);
			st_end(ps, rc, map);
			if (rc != 0)
				fail(r, "source op %d: %d %s", n, rc,
				    ht_errdetail());
		}
		pause_here(r);
	}
	return (NULL);
}

/* Share region `which` (0: level-0 tables, 1: a root entry's table). */
static void
share_flip(race_t *r, int which, int round)
{
	ht_as_t *a = r->sp[0], *s = r->sp[SP_S];
	ht_va_t va = which ? r->vth : r->vsh, src = which ? r->vt : r->vs;
	uint64_t len = which ? r->slot : 2 * r->span;
	uint64_t tables = which ? 1 : 2;
	ht_share_info_t info;
	int shared = (atomic_load(&r->rst[which]) & ST_MAPPED) != 0, rc;

	st_begin(&r->rst[which]);
	if (!shared) {
		memset(&info, 0, sizeof (info));
		rc = ht_share(a, va, s, src, len, &info);
		if (rc != 0 || info.tables != tables)
			fail(r, "share of region %d, round %d: %d, %llu tables "
			    "%s", which, round, rc,
			    (unsigned long long)info.tables, ht_errdetail());
	} else {
		rc = ht_unshare(a, va, len);
		if (rc != 1)
			fail(r, "unshare of region %d, round %d: %d %s", which,
			    round, rc, ht_errdetail());
		rc = rc == 1 ? 0 : -1;
	}
	st_end(&r->rst[which], rc, !shared);
}

/* The regions of S come into the first copied space and go. */
static void *
share_thread(void *arg)
{
	targ_t *t = arg;
	race_t *r = t->r;
	uint64_t x = 3;

	for (int round = 0; round < ROUNDS; round++) {
		for (int n = 0; n < SHARE_OPS; n++) {
			share_flip(r, (int)(rnd(&x) & 1), round);
			(void) sched_yield();
		}
		pause_here(r);
	}
	return (NULL);
}

/* ------------------------------------------------------------------ */
/* The checker                                                         */
/* ------------------------------------------------------------------ */

static void
check_view(race_t *r, unsigned c, uint64_t cr3, ht_as_t *as, ht_va_t va,
    const char *when)
{
	ht_pa_t got = mmu_sees(r, cr3, va);
	ht_pa_t want = truth(as, va);

	if (got != want)
		fail(r, "%s: through CPU root %u the MMU sees 0x%llx at va "
		    "0x%llx, the space maps 0x%llx", when, c,
		    (unsigned long long)got, (unsigned long long)va,
		    (unsigned long long)want);
}

/* Every thread is at the barrier: audits, and each MMU view is exact. */
static void
check_quiet(race_t *r, const char *when)
{
	for (unsigned c = 0; c < NCPU; c++) {
		ht_cpu_root_t *cr = r->cpu[c].cr;
		ht_as_t *run = ht_cpu_root_running(cr);
		uint64_t cr3 = ht_cpu_root_pa(cr, 0);
		int rc = ht_cpu_root_audit(cr);

		if (rc != 0)
			fail(r, "%s: ht_cpu_root_audit of CPU root %u: %d %s",
			    when, c, rc, ht_errdetail());
		for (unsigned j = 0; j < NPROBE; j++)
			check_view(r, c, cr3, run, probe_va(r, j), when);
		for (unsigned k = 0; k < r->nsrc; k += 7)
			check_view(r, c, cr3, run, r->vsh + k * PG, when);
		for (unsigned k = 0; k < NTOP; k++)
			check_view(r, c, cr3, run, r->vth + top_off(r, k),
			    when);
		for (int i = 0; i < 2; i++)
			check_view(r, c, cr3, r->sp[SP_K], r->kva[i], when);
	}
	for (int sp = 0; sp < NSP; sp++) {
		int rc = ht_audit(r->sp[sp]);

		if (rc != 0)
			fail(r, "%s: ht_audit of space %d: %d %s", when, sp,
			    rc, ht_errdetail());
	}
}

/* ------------------------------------------------------------------ */
/* The test                                                            */
/* ------------------------------------------------------------------ */

/* Where everything is, in the mode's geometry. */
static void
race_layout(race_t *r, ht_mode_t mode)
{
	r->mode = mode;
	r->g = ht_geometry(mode);
	cr_assert_not_null(r->g);
	r->slot = 1ull << r->g->level_shift[r->g->levels - 1];
	r->span = 1ull << r->g->level_shift[1];	/* a level-0 table */
	r->nsrc = (unsigned)(2 * r->span / PG);
	cr_assert(r->nsrc <= MAXSRC);
	/*
	 * The kernel half: 3 GiB in 32-bit and PAE paging, the canonical
	 * top in 4- and 5-level paging, the upper half without a hole
	 */
	r->kva[0] = r->g->hole_start != 0 ? 0 - (1ull << (r->g->va_bits - 1)) :
	    (ht_va_t)nuser(r) * r->slot;
	/* another root entry where there is one (PAE has one kernel entry) */
	r->kva[1] = r->g->top_level_count - nuser(r) >= 2 ?
	    r->kva[0] + r->slot : r->kva[0] + 64 * MIB;
	/* S: a root entry's table at its second entry, level-0 tables at
	   its third; the sharer: beside its probes, in the user half */
	r->vt = r->slot;
	r->vs = 2 * r->slot;
	if (r->g->levels == 2) {
		r->vsh = 64 * r->slot;
		r->vth = 80 * r->slot;
	} else {
		r->vsh = r->slot + 16 * r->span;
		r->vth = 2 * r->slot;
	}
	cr_assert(r->vth + r->slot <= (ht_va_t)nuser(r) * r->slot);
}

static void
race_run(ht_mode_t mode)
{
	static race_t r;
	ht_config_t cfg;
	ht_cpu_root_cfg_t rc;
	pthread_t tid[NWORK];
	targ_t ta[NWORK];
	unsigned nt = 0;

	memset(&r, 0, sizeof (r));
	race_layout(&r, mode);
	cr_assert_eq(ht_arena_create(1 * MIB, 64 * MIB, 0, &r.arena), 0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.ept = stress_ept(mode);
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = r.arena;
	cfg.tlb_info = tlb_hook;
	cfg.tlb_arg = &r;
	cr_assert_eq(ht_ctx_create(&cfg, &r.ctx), 0, "%s", ht_errdetail());
	for (int sp = 0; sp < NSP; sp++) {
		cr_assert_eq(ht_as_create(r.ctx, sp < NSPACE ? HT_AS_COPIED :
		    0, &r.sp[sp]), 0, "%s", ht_errdetail());
		atomic_store(&r.live[sp], 1);
		if (pcid_of(&r, sp) != 0)
			cr_assert_eq(ht_as_set_pcid(r.sp[sp], pcid_of(&r, sp)),
			    0, "%s", ht_errdetail());
	}
	cr_assert_eq(ht_map(r.sp[SP_K], r.kva[0], KPA, PG, HT_W, 0), 0, "%s",
	    ht_errdetail());
	for (unsigned c = 0; c < NCPU; c++) {
		memset(&rc, 0, sizeof (rc));
		rc.id = ID0 + c;
		rc.kernel = r.sp[SP_K];
		cr_assert_eq(ht_cpu_root_create(r.ctx, &rc, &r.cpu[c].cr), 0,
		    "%s", ht_errdetail());
		atomic_store(&r.cpu[c].live, 1);
		r.cpu[c].sp = -1;
	}
	/* half the probes of each space, to start with */
	for (unsigned i = 0; i < NSPACE; i++)
		for (unsigned j = 0; j < NPROBE; j += 2) {
			cr_assert_eq(ht_map(r.sp[i], probe_va(&r, j),
			    PPA(i, j), PG, HT_W | HT_U, 0), 0, "%s",
			    ht_errdetail());
			st_end(&r.pst[i][j], 0, 1);
		}
	check_quiet(&r, "start");
	cr_assert_eq(atomic_load(&r.bad), 0, "%s", r.why);

	cr_assert_eq(pthread_barrier_init(&r.bar, NULL, NWORK + 1), 0);
	for (unsigned i = 0; i < NCPUT; i++) {
		ta[nt] = (targ_t){ &r, i };
		cr_assert_eq(pthread_create(&tid[nt], NULL, cpu_thread,
		    &ta[nt]), 0);
		nt++;
	}
	for (unsigned i = 0; i < NSPACE; i++) {
		ta[nt] = (targ_t){ &r, i };
		cr_assert_eq(pthread_create(&tid[nt], NULL, mapper_thread,
		    &ta[nt]), 0);
		nt++;
	}
	ta[nt] = (targ_t){ &r, 0 };
	cr_assert_eq(pthread_create(&tid[nt], NULL, src_thread, &ta[nt]), 0);
	nt++;
	ta[nt] = (targ_t){ &r, 0 };
	cr_assert_eq(pthread_create(&tid[nt], NULL, share_thread, &ta[nt]),
	    0);
	nt++;
	for (int round = 0; round < ROUNDS; round++) {
		(void) pthread_barrier_wait(&r.bar);	/* all quiet */
		if (round % CHECK_EVERY == CHECK_EVERY - 1)
			check_quiet(&r, "quiet");
		(void) pthread_barrier_wait(&r.bar);	/* go on */
	}
	for (unsigned i = 0; i < nt; i++)
		pthread_join(tid[i], NULL);
	(void) pthread_barrier_destroy(&r.bar);
	check_quiet(&r, "end");
	cr_log_info("mode %d: %ld walks, %ld hook calls naming %ld CPU roots",
	    (int)mode, atomic_load(&r.walks), atomic_load(&r.hooks),
	    atomic_load(&r.named));
	cr_assert_eq(atomic_load(&r.bad), 0, "%ld failures; the first: %s",
	    atomic_load(&r.bad), r.why);
	cr_assert(atomic_load(&r.named) > 0, "the hook named CPU roots");

	for (unsigned c = 0; c < NCPU; c++) {
		atomic_store(&r.cpu[c].live, 0);
		ht_cpu_root_destroy(r.cpu[c].cr);
	}
	/* the source goes first: the sharer's regions end with it */
	ht_as_destroy(r.sp[SP_S]);
	atomic_store(&r.live[SP_S], 0);
	cr_assert_eq(ht_audit(r.sp[0]), 0, "%s", ht_errdetail());
	for (int sp = 0; sp < SP_S; sp++) {
		ht_as_destroy(r.sp[sp]);
		atomic_store(&r.live[sp], 0);
	}
	cr_assert_eq(atomic_load(&r.bad), 0, "%s", r.why);
	cr_assert_eq(ht_ctx_destroy(r.ctx), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_arena_frames_used(r.arena), 0);
	ht_arena_destroy(r.arena);
}

STRESS_MODES(cpu_race, switch_walk_map)

ParameterizedTest(ht_mode_t *mode, cpu_race, switch_walk_map, .timeout = 300)
{
	race_run(*mode);
}
