/*
 * api_env.h - what the integration suites of the address-space API share
 * (the public header only; the functions are in api_env.c):
 *  - the environment E: an arena, a context and one address space, with a
 *    TLB hook that records every call;
 *  - the geometry helpers (level sizes and page-size flags);
 *  - "nothing changed": snapshots of a space's leaves (a full ht_walk) and
 *    EXPECT_ERR, which checks that a failing call returned its code,
 *    changed no leaf, left the audit clean and set a fresh ht_errdetail();
 *  - translate checks (XLATE, UNMAPPED) and OK / AUDIT;
 *  - playing the MMU: setting bits in the raw leaf entries (raw_touch),
 *    and whether the TLB calls covered a range;
 *  - MODE_PARAMS(suite, name): the parameters "every paging mode";
 *  - entry formats: EPT spaces (ept4, ept5) have the EPT_ENV flags, and
 *    mode_attr, mode_chattr and raw_ad give a test's attributes, chattr
 *    and raw A/D bits in the mode's own terms.
 * Every test ends with env_teardown: all spaces destroyed and no frame
 * left allocated in the arena.  Criterion tests only (they assert).
 */
#ifndef HT_TEST_API_ENV_H
#define HT_TEST_API_ENV_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "htable.h"
#include "geom.h"

#define PG		4096ull
#define MIB		(1024ull * 1024)
#define GIB		(1024ull * MIB)

#define ARENA_BASE	(1 * MIB)
#define ARENA_SIZE	(256 * MIB)

/*
 * The attributes translate checks compare: in EPT HT_U is HT_XU, HT_G
 * ignore-PAT and the three cache bits the memory type; HT_NOREAD (EPT's
 * "no read right") must never appear where a test did not ask for it.
 */
#define KEEP_ATTR	(HT_W | HT_U | HT_X | HT_G | HT_PWT | HT_PCD | \
	HT_PAT | HT_NOREAD)

/*
 * Raw x86 entry bits (Intel SDM vol. 3, chapter 4).  E_A and E_D name the
 * accessed and dirty bits in raw_touch and raw_ad, whatever the format.
 */
#define E_P		0x001ull
#define E_A		0x020ull
#define E_D		0x040ull
#define E_PS		0x080ull
/* Raw EPT entry bits (SDM vol. 3C, "EPT Translation Mechanism"). */
#define EPT_R		0x001ull
#define EPT_W		0x002ull
#define EPT_X		0x004ull
#define EPT_A		0x100ull
#define EPT_D		0x200ull
#define EPT_XU		0x400ull
#define EPT_LOCK	0x800ull	/* the library's lock bit */
#define EPT_PRESENT	(EPT_R | EPT_W | EPT_X | EPT_XU)

/* ------------------------------------------------------------------ */
/* Environment                                                         */
/* ------------------------------------------------------------------ */

typedef struct tlb_call {
	ht_as_t		*as;
	ht_va_t		va;
	uint64_t	len;
} tlb_call_t;

#define TLB_CAP	4096

typedef struct env {
	ht_mode_t		mode;
	const ht_geometry_t	*g;
	ht_arena_t		*arena;
	ht_ctx_t		*ctx;
	ht_as_t			*as;
	size_t			ntlb;		/* recorded (capped) */
	uint64_t		ntlb_total;	/* all calls */
	tlb_call_t		tlb[TLB_CAP];
} env_t;

extern env_t E;

/* The TLB hook of the environment's contexts (arg: the env_t). */
void tlb_hook(void *arg, ht_as_t *as, ht_va_t va, uint64_t len);
void tlb_reset(env_t *e);
/*
 * A configuration of mode with the arena's frames and the TLB hook (and
 * in EPT, cfg.ept = EPT_ENV).
 */
ht_config_t base_cfg(env_t *e, ht_mode_t mode);
/* A fresh e with its arena only. */
void env_arena(env_t *e, ht_mode_t mode);
/*
 * Arena, context from tweak (frame ops and TLB hook filled in), one
 * space; env_setup: from base_cfg.  In EPT tweak->ept is taken as it is
 * (0 is a setting, "no A/D, no MBEC, no execute-only pages"): start a
 * tweak from base_cfg to have EPT_ENV.
 */
void env_setup_cfg(env_t *e, ht_mode_t mode, const ht_config_t *tweak);
void env_setup(env_t *e, ht_mode_t mode);
/* Destroy the main space (if any), the context and the arena. */
void env_teardown(env_t *e);

uint64_t lsize(const ht_geometry_t *g, unsigned level);
unsigned level_ps(const ht_geometry_t *g, unsigned level);
/* The levels that can hold leaves in this mode (with these page sizes). */
int leaf_level(const ht_geometry_t *g, unsigned ps_in_force, unsigned level);
/* Largest page size level of the mode (with these page sizes). */
unsigned top_leaf(const ht_geometry_t *g, unsigned ps);

/* ------------------------------------------------------------------ */
/* Snapshots and "nothing changed"                                     */
/* ------------------------------------------------------------------ */

typedef struct snap {
	ht_leaf_t	*v;
	size_t		n, cap;
} snap_t;

int snap_cb(void *arg, const ht_leaf_t *l);
/* Leaves in a space, from its counters. */
uint64_t leaf_count(ht_as_t *as);
void snap_take(ht_as_t *as, const ht_geometry_t *g, snap_t *s);
void snap_free(snap_t *s);
void snap_eq(const snap_t *a, const snap_t *b, int line);
/* An ht_walk callback that counts the leaves in *(int *)arg. */
int count_cb(void *arg, const ht_leaf_t *l);

#define SENTINEL	"sentinel-detail-7f3a"

/* Leave a known detail message, so that a fresh one can be recognized. */
void arm_detail(void);
void check_detail(int line, const char *what);

/*
 * Expect `call` to fail with -code and to change nothing in env e's main
 * address space.
 */
#define EXPECT_ERR(e, code, call) do {					\
	snap_t b_ = { 0 }, a_ = { 0 };					\
	long rc_;							\
	snap_take((e)->as, (e)->g, &b_);				\
	arm_detail();							\
	rc_ = (long)(call);						\
	cr_assert_eq(rc_, -(long)(code), "line %d: %s: got %ld (%s), "	\
	    "want %s [%s]", __LINE__, #call, rc_,			\
	    rc_ < 0 ? ht_err_name((int)rc_) : "success",		\
	    ht_err_name(code), ht_errdetail());				\
	check_detail(__LINE__, #call);					\
	cr_assert_eq(ht_audit((e)->as), 0, "line %d: audit: %s",	\
	    __LINE__, ht_errdetail());					\
	snap_take((e)->as, (e)->g, &a_);				\
	snap_eq(&b_, &a_, __LINE__);					\
	snap_free(&a_);							\
	snap_free(&b_);							\
} while (0)

#define OK(call) do {							\
	long rc_ = (long)(call);					\
	cr_assert_eq(rc_, 0, "line %d: %s: %s (%s)", __LINE__, #call,	\
	    rc_ < 0 ? ht_err_name((int)rc_) : "positive", ht_errdetail()); \
} while (0)

#define AUDIT(as) do {							\
	int arc_ = ht_audit(as);					\
	cr_assert_eq(arc_, 0, "line %d: audit: %s", __LINE__,		\
	    ht_errdetail());						\
} while (0)

/*
 * Attributes as translate reports them: no NX bit means always X (in the
 * x86 modes), nested paging's leaves always have U; in EPT exactly the
 * rights mapped.
 */
unsigned eff(const env_t *e, unsigned attr, int no_nx);
/*
 * A test's attributes as the mode takes them.  In EPT the cache bits are
 * a memory type, and three of their sets are types that EPT refuses
 * (HT_PCD alone is 2, HT_PWT | HT_PCD is 3, all three are 7): these
 * become WB (HT_PCD | HT_PAT), WP (HT_PWT | HT_PAT) and WB, each keeping
 * HT_PCD or HT_PWT where it can.  Everything else, and every attribute in
 * the other modes, is returned as it is.
 */
unsigned mode_attr(const env_t *e, unsigned attr);
/*
 * A test's ht_chattr(clear, set) as the mode takes it.  EPT names the
 * rights (HT_W, HT_X, HT_XU, HT_NOREAD) whole or not at all, and the
 * memory type too: there, when any right is named, each right in *set
 * is set and every other cleared (so read stays, unless *set names
 * HT_NOREAD), and when any cache bit is named, the type becomes
 * mode_attr's of *set's cache bits, the rest of them cleared.  (EPT_ENV:
 * HT_XU is a right.)  Elsewhere nothing changes.
 */
void mode_chattr(const env_t *e, unsigned *clear, unsigned *set);
/* Translate va and check pa, page size and (masked) attributes. */
void xlate_is(ht_as_t *as, ht_va_t va, ht_pa_t pa, uint64_t size,
    unsigned attr, unsigned mask, int line);
void unmapped_is(ht_as_t *as, ht_va_t va, int line);

#define XLATE(as, va, pa, size, attr) \
	xlate_is(as, va, pa, size, eff(&E, attr, 0), KEEP_ATTR, __LINE__)
#define UNMAPPED(as, va) unmapped_is(as, va, __LINE__)

/* ------------------------------------------------------------------ */
/* Playing the MMU: find leaf entries in the raw tables                */
/* ------------------------------------------------------------------ */

/*
 * Address of the leaf entry for va (NULL if unmapped); *r_level its level.
 * An entry is present with bit 0 (EPT: any of bits 0-2 and 10).
 */
void *raw_leaf(ht_arena_t *arena, const ht_geometry_t *g, ht_as_t *as,
    ht_va_t va, unsigned *r_level);
void raw_or(const ht_geometry_t *g, void *p, uint64_t bits);
/*
 * The raw bits of the format for E_A and E_D in bits: themselves (bits 5
 * and 6) in the x86 formats, bits 8 and 9 in EPT.
 */
uint64_t raw_ad(const ht_geometry_t *g, uint64_t bits);
/*
 * Set accessed and dirty (bits: E_A and E_D, raw_ad's) on every leaf in
 * [va, va + len) (which must be mapped), as the MMU would.
 */
void raw_touch(env_t *e, ht_as_t *as, ht_va_t va, uint64_t len,
    uint64_t bits);
/* Is [va, va + len) covered by the recorded TLB calls for as? */
int tlb_covers(const env_t *e, ht_as_t *as, ht_va_t va, uint64_t len);
/* The TLB calls recorded for as. */
uint64_t tlb_count_for(const env_t *e, ht_as_t *as);
/* Both spaces pass ht_audit and hold the same leaves (line: the caller's). */
void same_leaves(ht_as_t *a, ht_as_t *b, const ht_geometry_t *g, int line);
/*
 * Run seq on the environment's space and on two new ones, HT_AS_SERIAL
 * and HT_AS_SERIAL | HT_AS_NOMMU (their one-entry calls take the cursor
 * and no lock), and check that all three end with the same leaves and
 * the same counts of leaves and tables.  The serial spaces are returned
 * for the caller's own checks; it destroys them.
 */
void serial_twins(env_t *e, void (*seq)(env_t *, ht_as_t *), ht_as_t **r_se,
    ht_as_t **r_sn, int line);
/* Write entry idx of a raw table frame (4 or 8 bytes, as the mode). */
void raw_put(env_t *e, ht_pa_t table, unsigned idx, uint64_t v);
/* A zeroed frame from the arena, outside any context's accounting. */
ht_pa_t raw_frame(env_t *e);
/*
 * Map n pages into thief, one every step bytes from va, with stealing
 * forced: the context's stats before and after in *r0 and *r1.  Asserts
 * that something was stolen.
 */
void steal_by_maps(env_t *e, ht_as_t *thief, ht_va_t va, uint64_t step,
    int n, ht_stats_t *r0, ht_stats_t *r1);

/* ------------------------------------------------------------------ */
/* Parameters                                                          */
/* ------------------------------------------------------------------ */

#define MODE_PARAMS(suite, name)					\
ParameterizedTestParameters(suite, name)				\
{									\
	static ht_mode_t m[] = { ALL_MODES };				\
	return (cr_make_param_array(ht_mode_t, m,			\
	    sizeof (m) / sizeof (m[0])));				\
}

#endif /* HT_TEST_API_ENV_H */
