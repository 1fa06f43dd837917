/*
 * test_errors.c - the "Errors:" line of every public function in
 * include/htable.h, checked both ways against the library.
 *
 * The header is parsed at run time (meson passes its path as
 * HT_HEADER_PATH).  Every HT_EXTERN function must have one line
 *     Errors: HT_EINVAL, HT_ERANGE.
 * ("Errors: none." for one that cannot fail; "the provider's alloc codes"
 * and "the read function's codes" for codes of a caller's callback passed
 * back as they are).  Then a barrage of calls runs in every paging mode:
 * bad arguments of every kind, every range fault, page sizes, locked
 * mappings, low memory (ht_arena_set_limit), a misbehaving provider and
 * image reader, callbacks that fail, and host memory exhaustion (a child
 * process under RLIMIT_AS with its heap used up).  Every call goes through
 * R(), which records the code returned.  The test fails when
 *  - a public function has no Errors line, or a line names an unknown code;
 *  - a function returns a negative code its line does not name;
 *  - a code a line names was never provoked (so the list can be trusted
 *    both ways).
 *
 * Adding a function: use R(name, args...) for its calls in barrage().
 * Adding a code: one more R() call that provokes it.
 */
#ifdef HT_STANDALONE
#include "standalone.h"	/* under ASan: see that file */
#else
#include <criterion/criterion.h>
#endif

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "htable.h"
#include "../lib/geom.h"

#ifndef HT_HEADER_PATH
#error "meson passes HT_HEADER_PATH, the path of include/htable.h"
#endif

#define PG		4096ull
#define MIB		(1024ull * 1024)
#define GIB		(1024ull * MIB)
#define ARENA_BASE	(1 * MIB)
#define ARENA_SIZE	(64 * MIB)
/* The code our callbacks fail with: the library itself never returns it. */
#define INJECTED	HT_ENOTSUP

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifdef UNDER_ASAN
static const int under_asan = 1;
/*
 * Memory exhaustion must be a NULL from malloc, not an ASan report (meson
 * also sets it in ASAN_OPTIONS: a shared libasan sees only exported names).
 */
const char *__asan_default_options(void)
    __attribute__((visibility("default")));
const char *
__asan_default_options(void)
{
	return ("allocator_may_return_null=1");
}
#else
static const int under_asan = 0;
#endif

/* ------------------------------------------------------------------ */
/* The header's Errors lines                                           */
/* ------------------------------------------------------------------ */

#define MAXFN		96
#define PASS_ALLOC	0x1u	/* "the provider's alloc codes" */
#define PASS_READ	0x2u	/* "the read function's codes" */

typedef struct fnrec {
	char		name[48];
	int		has_line;
	uint32_t	doc;		/* 1 << code of each code named */
	unsigned	pass;		/* PASS_* named */
	uint32_t	seen;		/* codes returned */
	unsigned	pass_seen;	/* injected codes passed back */
	unsigned	calls;
} fnrec_t;

static fnrec_t fns[MAXFN];
static unsigned nfns;
static unsigned nviol;		/* undocumented codes returned */
static unsigned injecting;	/* PASS_* our callbacks are failing now */

static int
code_of(const char *name)
{
	for (int c = 1; c < HT__NERR; c++)
		if (strcmp(ht_err_name(-c), name) == 0)
			return (c);
	return (-1);
}

/* Parse "Errors: ..." text (up to its '.', blanks folded) into r. */
static void
parse_errors(fnrec_t *r, const char *raw)
{
	char text[1024];
	const char *p = text;
	size_t n = 0;

	for (const char *q = raw; *q != '\0' && n < sizeof (text) - 1; q++) {
		if (isspace((unsigned char)*q) && n > 0 && text[n - 1] == ' ')
			continue;
		text[n++] = isspace((unsigned char)*q) ? ' ' : *q;
	}
	text[n] = '\0';

	r->has_line = 1;
	if (strstr(text, "provider's alloc codes") != NULL)
		r->pass |= PASS_ALLOC;
	if (strstr(text, "read function's codes") != NULL)
		r->pass |= PASS_READ;
	while ((p = strstr(p, "HT_E")) != NULL) {
		char tok[32];
		size_t n = 0;
		int c;

		while (n < sizeof (tok) - 1 && (isupper((unsigned char)p[n]) ||
		    p[n] == '_' || isdigit((unsigned char)p[n]))) {
			tok[n] = p[n];
			n++;
		}
		tok[n] = '\0';
		c = code_of(tok);
		cr_assert(c > 0, "%s: unknown code %s in its Errors line",
		    r->name, tok);
		r->doc |= 1u << c;
		p += n;
	}
	cr_assert(r->doc != 0 || r->pass != 0 ||
	    strncmp(text, " none", 5) == 0,
	    "%s: Errors line '%s' names nothing", r->name, text);
}

/*
 * Every HT_EXTERN declaration takes the last Errors line seen since the
 * previous declaration (the one in its own comment).
 */
static void
parse_header(void)
{
	FILE *f = fopen(HT_HEADER_PATH, "r");
	char line[512], pending[1024] = "", decl[512];
	int have = 0, in_errors = 0;

	cr_assert_not_null(f, "cannot open %s", HT_HEADER_PATH);
	while (fgets(line, sizeof (line), f) != NULL) {
		if (in_errors || strncmp(line, " * Errors:", 10) == 0) {
			/* a continuation line starts with " *" */
			const char *t = in_errors ? line + 2 : line + 10;
			char *dot;

			if (!in_errors)
				pending[0] = '\0';
			strncat(pending, t, sizeof (pending) -
			    strlen(pending) - 1);
			dot = strchr(pending, '.');
			in_errors = dot == NULL;
			if (dot != NULL)
				*dot = '\0';
			have = 1;
			continue;
		}
		if (strncmp(line, "HT_EXTERN", 9) != 0)
			continue;
		(void) snprintf(decl, sizeof (decl), "%s", line);
		while (strchr(decl, ';') == NULL &&
		    fgets(line, sizeof (line), f) != NULL)
			strncat(decl, line, sizeof (decl) - strlen(decl) - 1);

		char *paren = strchr(decl, '('), *b = paren;
		cr_assert_not_null(paren, "no '(' in %s", decl);
		while (b > decl && (isalnum((unsigned char)b[-1]) ||
		    b[-1] == '_'))
			b--;
		cr_assert_lt(nfns, MAXFN);
		fnrec_t *r = &fns[nfns++];
		size_t n = (size_t)(paren - b);
		cr_assert(n > 0 && n < sizeof (r->name));
		memcpy(r->name, b, n);
		r->name[n] = '\0';
		if (have)
			parse_errors(r, pending);
		have = 0;
	}
	fclose(f);
	cr_assert_gt(nfns, 30, "only %u HT_EXTERN functions in %s", nfns,
	    HT_HEADER_PATH);
}

static fnrec_t *
fn_find(const char *name)
{
	for (unsigned i = 0; i < nfns; i++)
		if (strcmp(fns[i].name, name) == 0)
			return (&fns[i]);
	return (NULL);
}

/* ------------------------------------------------------------------ */
/* The recorder                                                        */
/* ------------------------------------------------------------------ */

static long
rec(const char *name, long rc, int line)
{
	fnrec_t *r = fn_find(name);

	cr_assert_not_null(r, "line %d: %s is not in the header", line, name);
	r->calls++;
	if (rc >= 0 || rc < -(long)INT32_MAX)
		return (rc);
	if (rc == -INJECTED && injecting != 0) {
		r->pass_seen |= injecting;
		if (!(r->pass & injecting)) {
			fprintf(stderr, "line %d: %s passed back a callback's "
			    "code; its Errors line does not say so\n", line,
			    name);
			nviol++;
		}
		return (rc);
	}
	if (-rc >= HT__NERR || !(r->doc & (1u << -rc))) {
		fprintf(stderr, "line %d: %s returned %s (%s), not in its "
		    "Errors line\n", line, name, ht_err_name((int)rc),
		    ht_errdetail());
		nviol++;
		return (rc);
	}
	r->seen |= 1u << -rc;
	return (rc);
}

/* Call f and record what it returned. */
#define R(f, ...)	rec(#f, (long)f(__VA_ARGS__), __LINE__)
/*
 * The calls that share another's checks and machinery are made beside it,
 * with the same arguments, so that every setting provokes both:
 * ht_map_ad beside ht_map; beside a failed ht_unmap, ht_unmap_ad, a
 * splitting harvest and ht_set_np (all three replace or split the same
 * leaves, so they fail the same way; after a success the range is empty
 * and they would change nothing worth testing); ht_chattr beside
 * ht_protect.
 */
static void
ad_note(void *arg, ht_va_t va, uint64_t size, unsigned bits)
{
	(void) arg; (void) va; (void) size; (void) bits;
}

#define R_MAP(as, ...)	do {						\
	R(ht_map, as, __VA_ARGS__);					\
	R(ht_map_ad, as, __VA_ARGS__, ad_note, NULL);			\
} while (0)
#define R_UNMAP(as, va, len, fl)	do {				\
	long un_rc_ = R(ht_unmap, as, va, len, fl);			\
									\
	if (un_rc_ < 0)							\
		R(ht_unmap_ad, as, va, len, fl, ad_note, NULL);		\
	/* a harvest splits locked leaves: only where splitting failed */ \
	if (un_rc_ < 0 && un_rc_ != -HT_EINVAL && un_rc_ != -HT_ELOCKED) \
		cr_assert_lt(R(ht_harvest_ad, as, va, len, HT_A,	\
		    HT_AD_SPLIT, NULL, NULL), 0, "line %d", __LINE__);	\
	/* not where only unmap's flags were wrong: it would replace */	\
	if (un_rc_ < 0 && un_rc_ != -HT_EINVAL)				\
		cr_assert_lt(R(ht_set_np, as, va, len, 2, 2), 0,	\
		    "line %d: ht_set_np succeeded where ht_unmap "	\
		    "failed with %s", __LINE__,				\
		    ht_err_name((int)un_rc_));				\
} while (0)
#define R_PROT(as, va, len, attr)	do {				\
	R(ht_protect, as, va, len, attr);				\
	R(ht_chattr, as, va, len, (HT_W | HT_U | HT_X) & ~(attr),	\
	    (attr) & (HT_W | HT_U | HT_X));				\
} while (0)

/* The same, for a call that must succeed (a step of the setting up). */
#define OK(f, ...)	do {						\
	long ok_rc_ = R(f, __VA_ARGS__);				\
	cr_assert_geq(ok_rc_, 0, "line %d: %s: %s (%s)", __LINE__, #f,	\
	    ht_err_name((int)ok_rc_), ht_errdetail());			\
} while (0)

/* ------------------------------------------------------------------ */
/* A provider and an image reader that misbehave on demand             */
/* ------------------------------------------------------------------ */

typedef struct prov {
	ht_arena_t	*arena;
	int		inject;		/* alloc fails with INJECTED */
	int		bad;		/* alloc gives a frame outside [lo, hi) */
	int		map_null;	/* map forgets every frame */
} prov_t;

static int
prov_alloc(void *arg, ht_pa_t lo, ht_pa_t hi, ht_pfn_t *r_pfn)
{
	prov_t *p = arg;

	(void) lo;
	if (p->inject)
		return (-INJECTED);
	if (p->bad) {
		*r_pfn = hi >> 12;
		return (0);
	}
	return (ht_arena_ops()->alloc(p->arena, lo, hi, r_pfn));
}

static void
prov_free(void *arg, ht_pfn_t pfn)
{
	prov_t *p = arg;

	if (!p->bad)	/* the bad frame was never the arena's */
		ht_arena_ops()->free(p->arena, pfn);
}

static void *
prov_map(void *arg, ht_pfn_t pfn)
{
	prov_t *p = arg;

	return (p->map_null ? NULL : ht_arena_ops()->map(p->arena, pfn));
}

/* No window: every table below the root is reached through map. */
static const ht_frame_ops_t prov_ops = {
	.alloc = prov_alloc, .free = prov_free, .map = prov_map
};

typedef struct reader {
	ht_arena_t	*arena;
	int		inject;		/* fail with INJECTED */
	int		bad;		/* return 7, which means nothing */
} reader_t;

static int
image_read(void *arg, ht_pa_t pa, void *buf, size_t len)
{
	reader_t *rd = arg;
	void *p = ht_arena_ptr(rd->arena, pa);

	if (rd->inject)
		return (-INJECTED);
	if (rd->bad)
		return (7);
	if (p == NULL || ht_arena_ptr(rd->arena, pa + len - 1) == NULL) {
		memset(buf, 0, len);
		return (1);
	}
	memcpy(buf, p, len);
	return (0);
}

static int
leaf_go(void *arg, const ht_leaf_t *leaf)
{
	(void) arg;
	(void) leaf;
	return (0);
}

/* A picture's write function that keeps nothing. */
static int
write_go(void *arg, const void *buf, size_t len)
{
	(void) arg;
	(void) buf;
	(void) len;
	return (0);
}

static uint64_t npv;	/* ht_get_np's answer, unused */

static int
np_go(void *arg, ht_va_t va, uint64_t value)
{
	(void) arg;
	(void) va;
	(void) value;
	return (0);
}

static void
frame_cb(void *arg, const ht_as_t *as, ht_pfn_t pfn, int level)
{
	(void) arg;
	(void) as;
	(void) pfn;
	(void) level;
}

/* ------------------------------------------------------------------ */
/* The barrage                                                         */
/* ------------------------------------------------------------------ */

/* One mode's objects and the mappings the barrage works on. */
typedef struct env {
	ht_mode_t		mode;
	const ht_geometry_t	*g;
	uint64_t		l1;	/* the level-1 page size */
	ht_va_t			big;	/* two level-1 pages mapped here */
	ht_va_t			lk;	/* a locked level-1 page */
	ht_va_t			pg;	/* two 4 KiB pages */
	ht_arena_t		*arena;
	ht_ctx_t		*ctx;
	ht_as_t			*as;
} env_t;

static ht_config_t
cfg_for(ht_mode_t mode, const ht_frame_ops_t *ops, void *arg)
{
	return ((ht_config_t){ .mode = mode, .frame_ops = ops,
	    .frame_arg = arg });
}

static void
env_init(env_t *e, ht_mode_t mode)
{
	ht_config_t cfg;

	memset(e, 0, sizeof (*e));
	e->mode = mode;
	e->g = ht_geometry(mode);
	e->l1 = 1ull << e->g->level_shift[1];
	OK(ht_arena_create, ARENA_BASE, ARENA_SIZE, 0, &e->arena);
	cfg = cfg_for(mode, ht_arena_ops(), e->arena);
	OK(ht_ctx_create, &cfg, &e->ctx);
	OK(ht_as_create, e->ctx, 0, &e->as);
	e->big = 1 * GIB;
	e->lk = e->big + 4 * e->l1;
	e->pg = e->big + 8 * e->l1;
	OK(ht_map, e->as, e->big, 2 * GIB, 2 * e->l1, HT_W, 0);
	OK(ht_map, e->as, e->lk, 2 * GIB, e->l1, HT_W, HT_MAP_LOCK);
	OK(ht_map, e->as, e->pg, 3 * GIB, 2 * PG, HT_W, 0);
}

static void
env_fini(env_t *e)
{
	ht_as_destroy(e->as);
	OK(ht_ctx_destroy, e->ctx);
	ht_arena_destroy(e->arena);
}

/* Arguments of no use: NULLs, zero and unaligned lengths, unknown bits. */
static void
bad_arguments(env_t *e)
{
	ht_as_t *as = e->as, *nas = NULL;
	ht_mode_t mode;
	ht_arena_t *a;
	ht_xlate_t x;
	ht_pa_t pa;
	ht_cpu_t cpu = { 0, 0, 0 };
	ht_access_t acc;
	ht_va_t v = e->pg;

	R(ht_mode_parse, NULL, &mode);
	R(ht_mode_parse, "6level", &mode);
	OK(ht_mode_parse, ht_mode_name(e->mode), &mode);
	R(ht_arena_create, 0, PG, 0, NULL);
	R(ht_arena_create, 0, 0, 0, &a);
	R(ht_arena_create, 100, PG, 0, &a);
	R(ht_arena_create, 1ull << 52, PG, 0, &a);
	R(ht_arena_create, 0, 0 - PG, 0, &a);
	/* more than the host's address space: the mapping fails */
	R(ht_arena_create, 0, 1ull << 51, 0, &a);

	R(ht_as_create, NULL, 0, &nas);
	R(ht_as_create, e->ctx, 0, NULL);
	R(ht_as_create, e->ctx, 0x80, &nas);
	R(ht_as_import, NULL, 0, 0, &nas);
	R(ht_as_import, e->ctx, ht_as_root(as), 0x80, &nas);
	R(ht_as_import, e->ctx, ht_as_root(as) + 8, 0, &nas);
	R(ht_as_import, e->ctx, 1ull << 60, 0, &nas);
	/* a root the provider cannot reach */
	R(ht_as_import, e->ctx, ARENA_BASE + ARENA_SIZE + 16 * PG, 0, &nas);
	/* a live space's own tables: one owner per frame */
	R(ht_as_import, e->ctx, ht_as_root(as), 0, &nas);

	R_MAP(NULL, v, 0, PG, 0, 0);
	R_MAP(as, v, 0, 0, 0, 0);
	R_MAP(as, v + 8, 0, PG, 0, 0);
	R_MAP(as, v, 8, PG, 0, 0);
	R_MAP(as, v, 0, PG, HT_LOCKED, 0);
	R_MAP(as, v, 0, PG, 0, 0x80);
	R_MAP(as, v, 1ull << ht_ctx_pa_bits(e->ctx), PG, 0, 0);
	R_MAP(as, v, 0, PG, 0, HT_MAP_NOREPLACE);
	R_MAP(as, e->lk, 0, PG, 0, 0);
	R_MAP(as, e->big, 0, e->l1 / 2, 0, HT_MAP_SIZE(HT_PS_2M |
	    HT_PS_4M));
	R_MAP(as, v, 0, PG, 0, HT_MAP_SIZE(HT_PS_1G) |
	    HT_MAP_SIZE(HT_PS_4M) | HT_MAP_SIZE(HT_PS_2M));
	R_MAP(as, v, 0, PG, 0, e->g->pagesizes & HT_PS_4M ?
	    HT_MAP_SIZE(HT_PS_1G) : HT_MAP_SIZE(HT_PS_4M));

	R_UNMAP(NULL, v, PG, 0);
	R_UNMAP(as, v, 0, 0);
	R_UNMAP(as, v, PG, 0x80);
	R_UNMAP(as, v + 1, PG, 0);
	R_UNMAP(as, e->lk, PG, 0);

	R(ht_chattr, as, v, PG, HT_W, HT_W);
	R(ht_chattr, as, v, PG, 0, HT_LOCKED);
	R(ht_map_ad, as, v, 0, PG, HT_LOCKED, 0, ad_note, NULL);
	R(ht_unmap_ad, as, v, PG, 0x80, ad_note, NULL);
	R(ht_harvest_ad, as, v, PG, HT_A, 0x80, NULL, NULL);
	R(ht_set_np, NULL, v, PG, 2, 0);
	R(ht_set_np, as, v, PG, 3, 0);
	R(ht_set_np, as, v, 0, 2, 0);
	R(ht_set_np, as, v + 8, PG, 2, 0);
	R(ht_set_np, as, e->lk, PG, 2, 0);
	R(ht_get_np, NULL, v, &npv);
	R(ht_get_np, as, v, NULL);
	R(ht_get_np, as, e->pg, &npv);		/* present: not such an entry */
	R(ht_get_np, as, 0, &npv);		/* empty */
	R(ht_walk_np, NULL, 0, 0, np_go, NULL);
	R(ht_walk_np, as, 0, 0, NULL, NULL);
	R(ht_walk_np, as, 2 * PG, PG, np_go, NULL);
	OK(ht_set_np, as, 0, PG, 2, 0);
	OK(ht_get_np, as, 0, &npv);
	OK(ht_walk_np, as, 0, PG, np_go, NULL);
	OK(ht_unmap, as, 0, PG, 0);
	R_PROT(NULL, v, PG, 0);
	R_PROT(as, v, PG, HT_G);
	R_PROT(as, v, 100, HT_W);
	R(ht_lock, NULL, v, PG);
	R(ht_lock, as, v, 0);
	R(ht_lock, as, v + 16, PG);
	R(ht_unlock, NULL, v, PG);
	R(ht_unlock, as, v, PG - 1);
	R(ht_unlock, as, v, PG);	/* not locked */

	R(ht_harvest_ad, NULL, v, PG, HT_A, 0, NULL, NULL);
	R(ht_harvest_ad, as, v, PG, 0, 0, NULL, NULL);
	R(ht_harvest_ad, as, v, PG, HT_W, 0, NULL, NULL);
	R(ht_harvest_ad, as, v + PG / 2, PG, HT_A, 0, NULL, NULL);
	OK(ht_harvest_ad, as, v, PG, HT_A | HT_D, 1, NULL, NULL);

	R(ht_translate, NULL, v, &x);
	R(ht_get_np, NULL, v, &npv);
	R(ht_translate, as, v, NULL);
	R(ht_translate, as, 0, &x);
	R(ht_get_np, as, 0, &npv);		/* nothing at 0 */
	OK(ht_translate, as, v, &x);
	R(ht_va2pa, NULL, v, &pa);
	R(ht_va2pa, as, v, NULL);
	R(ht_va2pa, as, 0, &pa);
	OK(ht_va2pa, as, v, &pa);

	R(ht_walk, NULL, 0, 0, leaf_go, NULL);
	R(ht_walk_np, NULL, 0, 0, np_go, NULL);
	R(ht_walk, as, 0, 0, NULL, NULL);
	R(ht_walk, as, 2 * PG, PG, leaf_go, NULL);
	R(ht_walk_np, as, 2 * PG, PG, np_go, NULL);
	R(ht_audit, NULL);
	OK(ht_audit, as);

	R(ht_access, NULL, &cpu, v, HT_ACC_READ, 0, &acc);
	R(ht_access, as, NULL, v, HT_ACC_READ, 0, &acc);
	R(ht_access, as, &cpu, v, HT_ACC_READ, 0, NULL);
	R(ht_access, as, &cpu, v, 3, 0, &acc);
	R(ht_access, as, &cpu, v, HT_ACC_READ, 4, &acc);
	cpu.flags = 0x8000;
	R(ht_access, as, &cpu, v, HT_ACC_READ, 0, &acc);
	cpu.flags = 0;
	cpu.pa_bits = 20;
	R(ht_access, as, &cpu, v, HT_ACC_READ, 0, &acc);
	cpu.pa_bits = 0;
	OK(ht_access, as, &cpu, v, HT_ACC_WRITE, 3, &acc);

	OK(ht_ctx_reap, e->ctx);
	OK(ht_ctx_swbits, e->ctx);
	OK(ht_as_purge, as);
	OK(ht_ctx_dump_frames, e->ctx, frame_cb, NULL);
}

/* Bad configurations of ht_ctx_create. */
static void
bad_configs(env_t *e)
{
	ht_frame_ops_t noop = *ht_arena_ops();
	ht_config_t c;
	ht_ctx_t *ctx;

	R(ht_ctx_create, NULL, &ctx);
	c = cfg_for(e->mode, ht_arena_ops(), e->arena);
	R(ht_ctx_create, &c, NULL);
	c.mode = (ht_mode_t)9;
	R(ht_ctx_create, &c, &ctx);
	c = cfg_for(e->mode, NULL, e->arena);
	R(ht_ctx_create, &c, &ctx);
	noop.map = NULL;
	noop.window = NULL;
	c = cfg_for(e->mode, &noop, e->arena);
	R(ht_ctx_create, &c, &ctx);
	c = cfg_for(e->mode, ht_arena_ops(), e->arena);
	c.npools = HT_MAX_POOLS + 1;
	R(ht_ctx_create, &c, &ctx);
	c.npools = 1;
	c.pools[0].base = 0;
	c.pools[0].len = 0;
	R(ht_ctx_create, &c, &ctx);
	c.pools[0].base = PG / 2;		/* unaligned */
	c.pools[0].len = 16 * PG;
	R(ht_ctx_create, &c, &ctx);
	c.pools[0].base = 0 - 16 * PG;		/* wraps */
	c.pools[0].len = 32 * PG;
	R(ht_ctx_create, &c, &ctx);
	c.pools[0].base = 1ull << 53;		/* beyond any pa_bits */
	c.pools[0].len = 16 * PG;
	R(ht_ctx_create, &c, &ctx);
	c.npools = 0;
	c.hash_buckets = 3;
	R(ht_ctx_create, &c, &ctx);
	c.hash_buckets = 0;
	c.pa_bits = 20;
	R(ht_ctx_create, &c, &ctx);
	c.pa_bits = 0;
	c.pagesizes = HT_PS_2M;			/* no 4 KiB */
	R(ht_ctx_create, &c, &ctx);
	c.pagesizes = HT_PS_4K | HT_PS_1G;	/* 1G without 2M (or none) */
	R(ht_ctx_create, &c, &ctx);
	c.pagesizes = HT_PS_4K | (e->mode == HT_MODE_32BIT ? HT_PS_2M :
	    HT_PS_4M);				/* a size the mode lacks */
	R(ht_ctx_create, &c, &ctx);
	/* busy */
	R(ht_ctx_destroy, e->ctx);
}

/* Addresses outside the mode: the 32-bit limit, the hole, wrapping. */
static void
bad_ranges(env_t *e)
{
	ht_as_t *as = e->as;
	ht_xlate_t x;
	ht_pa_t pa;
	ht_cpu_t cpu = { 0, 0, 0 };
	ht_access_t acc;

	/* no hole (32-bit, PAE, nested paging): the space's end */
	if (e->g->hole_start == 0) {
		ht_va_t b = va_last(e->g) + 1;

		R_MAP(as, b, 0, PG, 0, 0);
		R_UNMAP(as, b - PG, 2 * PG, 0);
		R_PROT(as, b, PG, 0);
		R(ht_lock, as, b, PG);
		R(ht_unlock, as, b, PG);
		R(ht_harvest_ad, as, b, PG, HT_A, 0, NULL, NULL);
		R(ht_translate, as, b, &x);
		R(ht_get_np, as, b, &npv);
		R(ht_va2pa, as, b, &pa);
		R(ht_walk, as, 0, b, leaf_go, NULL);
		R(ht_walk_np, as, 0, b, np_go, NULL);
		R(ht_access, as, &cpu, b, HT_ACC_READ, 0, &acc);
		return;
	}
	ht_va_t h = e->g->hole_start;

	R_MAP(as, h, 0, PG, 0, 0);
	R_MAP(as, 0 - PG, 0, 2 * PG, 0, 0);		/* wraps */
	R_UNMAP(as, h - PG, 2 * PG, 0);
	R_UNMAP(as, 0 - PG, 2 * PG, 0);
	R_PROT(as, h, PG, 0);
	R_PROT(as, 0 - PG, 2 * PG, 0);
	R(ht_lock, as, h, PG);
	R(ht_lock, as, 0 - PG, 2 * PG);
	R(ht_unlock, as, h, PG);
	R(ht_unlock, as, 0 - PG, 2 * PG);
	R(ht_harvest_ad, as, h, PG, HT_A, 0, NULL, NULL);
	R(ht_harvest_ad, as, 0 - PG, 2 * PG, HT_A, 0, NULL, NULL);
	R(ht_translate, as, h, &x);
	R(ht_get_np, as, h, &npv);
	R(ht_va2pa, as, h, &pa);
	R(ht_walk, as, h, 0 - PG, leaf_go, NULL);
	R(ht_walk_np, as, h, 0 - PG, np_go, NULL);
	/* a non-canonical VA is a #GP answer, not an error */
	OK(ht_access, as, &cpu, h, HT_ACC_READ, 0, &acc);
	cr_assert_eq(acc.fault, HT_FAULT_GP);
}

/*
 * 32-bit paging: a 4 MiB page above 4 GiB cannot be split (4 KiB entries
 * hold 32-bit addresses).
 */
static void
unsplittable(env_t *e)
{
	ht_va_t v = e->big + 16 * e->l1;

	if (e->g->pte_size != 4)
		return;
	OK(ht_map, e->as, v, 8 * GIB, e->l1, HT_W, 0);
	R_UNMAP(e->as, v + PG, PG, 0);
	R_PROT(e->as, v + PG, PG, 0);
	R(ht_lock, e->as, v + PG, PG);
	OK(ht_lock, e->as, v, e->l1);
	R(ht_unlock, e->as, v + PG, PG);
	OK(ht_unmap, e->as, v, e->l1, HT_UNMAP_UNLOCK);
}

/* A CPU root, which needs a frame (gone again if it was made). */
static void
croot_needer(ht_ctx_t *ctx)
{
	ht_cpu_root_cfg_t rc = { 77, 0, NULL, NULL };
	ht_cpu_root_t *cr;

	if (R(ht_cpu_root_create, ctx, &rc, &cr) == 0)
		ht_cpu_root_destroy(cr);
}

/*
 * Every call that may need a new table, while tables cannot be had.
 * split_va: a 4 KiB page inside the level-1 page at e->big.
 */
static void
table_needers(ht_as_t *as, env_t *e)
{
	ht_va_t s = e->big + PG;
	ht_as_t *nas;

	R(ht_as_create, ht_as_ctx(as), 0, &nas);
	croot_needer(ht_as_ctx(as));
	R_MAP(as, e->big + 32 * e->l1, 0, PG, 0, 0);
	R_UNMAP(as, s, PG, 0);
	R_PROT(as, s, PG, HT_W);
	R(ht_lock, as, s, PG);
	R(ht_unlock, as, e->lk + PG, PG);
}

/*
 * A share that needs tables of the sharer (copies of the large pages at
 * e->big) and one that links a table of src (the 4 KiB pages at e->pg)
 * into a sharer that lacks the tables above it, while tables cannot be
 * had.  The sharer is made before the shortage.
 */
static void
share_needers(ht_as_t *src, ht_as_t *sharer, env_t *e)
{
	R(ht_share, sharer, e->big, src, e->big, 2 * e->l1, NULL);
	R(ht_share, sharer, e->big + 64 * e->l1, src, e->pg, e->l1, NULL);
}

/* The arena runs dry: ENOFRAME (nothing to steal: one space). */
static void
no_frames(env_t *e)
{
	ht_as_t *sh;

	OK(ht_as_create, e->ctx, HT_AS_NOSTEAL, &sh);
	OK(ht_as_purge, e->as);
	ht_arena_set_limit(e->arena, ht_arena_frames_used(e->arena));
	table_needers(e->as, e);
	share_needers(e->as, sh, e);
	ht_arena_set_limit(e->arena, 0);
	OK(ht_audit, e->as);
	OK(ht_audit, sh);
	ht_as_destroy(sh);
}

/*
 * Shared regions: bad arguments of ht_share and ht_unshare, and every
 * call that would write through a sharer refused over its region.
 */
static void
shares(env_t *e)
{
	ht_as_t *as = e->as, *sh, *sh2, *other;
	ht_ctx_t *octx;
	ht_config_t cfg = cfg_for(e->mode, ht_arena_ops(), e->arena);
	ht_share_info_t info;
	ht_va_t r = e->big + 64 * e->l1;	/* the sharer's region */

	OK(ht_as_create, e->ctx, 0, &sh);
	OK(ht_as_create, e->ctx, 0, &sh2);
	OK(ht_ctx_create, &cfg, &octx);
	OK(ht_as_create, octx, 0, &other);

	R(ht_share, NULL, r, as, e->pg, e->l1, &info);
	R(ht_share, sh, r, NULL, e->pg, e->l1, &info);
	R(ht_share, sh, r, sh, e->pg, e->l1, &info);
	R(ht_share, other, r, as, e->pg, e->l1, &info);
	R(ht_share, sh, r, as, e->pg, 0, &info);
	R(ht_share, sh, r + 1, as, e->pg, e->l1, &info);
	R(ht_share, sh, r, as, e->pg + 1, e->l1, &info);
	R(ht_share, sh, r, as, e->pg, e->l1 - 1, &info);
	if (e->g->hole_start != 0) {
		R(ht_share, sh, 1ull << (e->g->va_bits - 1), as, e->pg, e->l1,
		    &info);
		R(ht_share, sh, r, as, 1ull << (e->g->va_bits - 1), e->l1,
		    &info);
	} else {	/* beyond the space, on either side */
		R(ht_share, sh, va_last(e->g) + 1, as, e->pg, e->l1, &info);
		R(ht_share, sh, r, as, va_last(e->g) + 1, e->l1, &info);
	}
	R(ht_share, sh, 0 - PG, as, e->pg, 2 * PG, &info);
	/* not empty */
	OK(ht_map, sh, r + PG, 0, PG, 0, 0);
	R(ht_share, sh, r, as, e->pg, e->l1, &info);
	OK(ht_unmap, sh, r + PG, PG, 0);

	OK(ht_share, sh, r, as, e->pg, e->l1, &info);
	cr_assert_eq(info.tables, 1);
	cr_assert_eq(info.copied, 0);
	/* overlapping, and one level deep only */
	R(ht_share, sh, r, as, e->pg, e->l1, &info);
	R(ht_share, as, e->big + 96 * e->l1, sh2, e->big, e->l1, &info);
	R(ht_share, sh2, e->big, sh, e->big, e->l1, &info);

	/* nothing writes through the sharer */
	R_MAP(sh, r, 0, PG, 0, 0);
	R_UNMAP(sh, r, PG, 0);
	R_PROT(sh, r, PG, HT_W);
	R(ht_lock, sh, r, PG);
	R(ht_unlock, sh, r, PG);
	R(ht_harvest_ad, sh, r, PG, HT_A, HT_AD_CLEAR, NULL, NULL);
	OK(ht_harvest_ad, sh, r, PG, HT_A, 0, NULL, NULL);

	R(ht_unshare, NULL, r, e->l1);
	R(ht_unshare, sh, r, 0);
	R(ht_unshare, sh, r + PG, e->l1);	/* cuts the region */
	R(ht_unshare, sh, r + 1, e->l1);
	R(ht_unshare, sh, r, e->l1 + 1);
	if (e->g->hole_start != 0)
		R(ht_unshare, sh, 1ull << (e->g->va_bits - 1), e->l1);
	else
		R(ht_unshare, sh, va_last(e->g) + 1, e->l1);
	R(ht_unshare, sh, 0 - PG, 2 * PG);
	OK(ht_audit, sh);
	OK(ht_audit, as);
	OK(ht_unshare, sh, r, e->l1);
	OK(ht_audit, sh);
	OK(ht_audit, as);

	ht_as_destroy(other);
	OK(ht_ctx_destroy, octx);
	ht_as_destroy(sh2);
	ht_as_destroy(sh);
}

static void
tlb_nop(void *arg, ht_as_t *as, ht_va_t va, uint64_t len)
{
	(void) arg; (void) as; (void) va; (void) len;
}

static void
tlbi_nop(void *arg, const ht_tlb_info_t *ti)
{
	(void) arg; (void) ti;
}

/*
 * CPU roots: bad configurations, kernel spaces that cannot be copied,
 * KPTI's rules, switches, PCIDs, and an audit that finds a wrong copy.
 */
static void
cpu_roots(env_t *e)
{
	ht_config_t c = cfg_for(e->mode, ht_arena_ops(), e->arena);
	unsigned n = e->g->top_level_count;
	/*
	 * The first VA of the default kernel half: the canonical upper half,
	 * its root entries without a hole (nested paging), 3 GiB otherwise
	 */
	ht_va_t kva = e->g->hole_start != 0 ?
	    0 - (1ull << (e->g->va_bits - 1)) : e->g->va_bits > 32 ?
	    1ull << (e->g->va_bits - 1) : 3 * GIB;
	ht_cpu_root_cfg_t rc;
	ht_cpu_root_t *cr, *cr2;
	ht_ctx_t *octx, *kctx;
	ht_as_t *cp, *k, *other, *kk, *ku, *kc;
	ht_switch_t sw;
	uint8_t *p;
	uint64_t saved = 0;

	c.tlb = tlb_nop;
	c.tlb_info = tlbi_nop;
	R(ht_ctx_create, &c, &octx);
	c.tlb = NULL;
	c.kpti = 2;
	R(ht_ctx_create, &c, &octx);
	c.kpti = 0;
	OK(ht_ctx_create, &c, &octx);
	OK(ht_as_create, octx, 0, &other);

	OK(ht_as_create, e->ctx, HT_AS_COPIED, &cp);
	OK(ht_as_create, e->ctx, 0, &k);
	if (e->g->pte_size == 4) {
		/* a copied space of 32-bit paging has no 4 MiB page */
		R_MAP(cp, 0, 0, e->l1, 0, HT_MAP_SIZE(HT_PS_4M));
		OK(ht_map, cp, 0, 0, e->l1, 0, 0);
		OK(ht_unmap, cp, 0, e->l1, 0);
	}
	memset(&rc, 0, sizeof (rc));
	rc.id = 1;
	R(ht_cpu_root_create, NULL, &rc, &cr);
	R(ht_cpu_root_create, e->ctx, NULL, &cr);
	R(ht_cpu_root_create, e->ctx, &rc, NULL);
	rc.user_entries = n + 1;
	R(ht_cpu_root_create, e->ctx, &rc, &cr);
	rc.user_entries = n;
	rc.kernel = k;
	R(ht_cpu_root_create, e->ctx, &rc, &cr);	/* no kernel half */
	rc.user_entries = 0;
	rc.kernel = cp;
	R(ht_cpu_root_create, e->ctx, &rc, &cr);	/* copied */
	rc.kernel = other;
	R(ht_cpu_root_create, e->ctx, &rc, &cr);	/* other context */
	rc.kernel = k;
	rc.kpti_user = k;
	R(ht_cpu_root_create, e->ctx, &rc, &cr);	/* no config.kpti */
	rc.kpti_user = NULL;
	if (e->g->pte_size == 4) {
		/* a 4 MiB page in the kernel half would be copied */
		OK(ht_map, k, kva, 0, e->l1, 0, 0);
		R(ht_cpu_root_create, e->ctx, &rc, &cr);
		OK(ht_unmap, k, kva, e->l1, 0);
	}
	OK(ht_cpu_root_create, e->ctx, &rc, &cr);
	R(ht_cpu_root_create, e->ctx, &rc, &cr2);	/* id taken */
	R(ht_ctx_destroy, e->ctx);			/* a CPU root is left */

	R(ht_switch, NULL, cp, &sw);
	R(ht_switch, cr, cp, NULL);
	R(ht_switch, cr, other, &sw);
	OK(ht_switch, cr, cp, &sw);
	R(ht_as_set_pcid, NULL, 1);
	{
		uint64_t eptp;

		R(ht_as_eptp, NULL, HT_EPT_WB, &eptp);
		R(ht_as_eptp, cp, HT_EPT_WB, &eptp);	/* copied, or not EPT */
	}
	if (e->g->levels >= 4) {
		R(ht_as_set_pcid, cp, 4096);
		OK(ht_as_set_pcid, cp, 5);
	} else {
		R(ht_as_set_pcid, cp, 1);
	}
	R(ht_cpu_root_audit, NULL);
	OK(ht_cpu_root_audit, cr);
	/* an entry of the user half that cp does not have */
	p = ht_arena_ptr(e->arena, ht_cpu_root_pa(cr, 0) + e->g->pte_size);
	cr_assert_not_null(p);
	memcpy(&saved, p, e->g->pte_size);
	cr_assert_eq(saved, 0);
	p[0] = 0x01;
	R(ht_cpu_root_audit, cr);
	cr_assert_eq(ht_audit(cp), -HT_ECORRUPT, "the space's audit too");
	memcpy(p, &saved, e->g->pte_size);
	OK(ht_cpu_root_audit, cr);
	ht_cpu_root_destroy(cr);
	ht_as_destroy(cp);

	/* KPTI: pairs, a user root's kernel pages, copied spaces only */
	c.kpti = 1;
	OK(ht_ctx_create, &c, &kctx);
	OK(ht_as_create, kctx, 0, &kk);
	OK(ht_as_create, kctx, 0, &ku);
	OK(ht_as_create, kctx, HT_AS_COPIED, &kc);
	memset(&rc, 0, sizeof (rc));
	rc.id = 2;
	rc.kernel = kk;
	R(ht_cpu_root_create, kctx, &rc, &cr);		/* no kpti_user */
	rc.kpti_user = ku;
	OK(ht_map, ku, kva, 0x5000, PG, 0, 0);
	R(ht_cpu_root_create, kctx, &rc, &cr);		/* kernel lacks it */
	OK(ht_map, kk, kva, 0x6000, PG, 0, 0);
	R(ht_cpu_root_create, kctx, &rc, &cr);		/* another frame */
	OK(ht_map, kk, kva, 0x5000, PG, HT_W, 0);
	rc.kernel = NULL;
	R(ht_cpu_root_create, kctx, &rc, &cr);		/* no kernel */
	rc.kernel = kk;
	OK(ht_cpu_root_create, kctx, &rc, &cr);
	R(ht_switch, cr, kk, &sw);			/* not copied */
	OK(ht_switch, cr, kc, &sw);
	if (e->g->levels >= 4)
		R(ht_as_set_pcid, kc, 0x800);
	ht_cpu_root_destroy(cr);
	ht_as_destroy(kc);
	ht_as_destroy(ku);
	ht_as_destroy(kk);
	OK(ht_ctx_destroy, kctx);

	ht_as_destroy(k);
	ht_as_destroy(other);
	OK(ht_ctx_destroy, octx);
}

static int
mapping_go(void *arg, const ht_mapping_t *m)
{
	(void) arg; (void) m;
	return (0);
}

/*
 * No-MMU spaces (HT_AS_NOMMU): a live space never shows a no-MMU one's
 * tables, a space a CPU root uses stays live, and the state's calls.
 */
static void
nommu(env_t *e)
{
	ht_as_t *src, *sh, *lv;
	ht_cpu_root_t *cr;
	ht_cpu_root_cfg_t rc;
	ht_share_info_t info;
	ht_switch_t sw;
	ht_va_t r = e->big + 64 * e->l1;	/* the sharer's region */

	R(ht_as_create, e->ctx, HT_AS_NOMMU | 0x80, &src);
	OK(ht_as_create, e->ctx, HT_AS_NOMMU, &src);
	OK(ht_as_create, e->ctx, HT_AS_NOMMU, &sh);
	OK(ht_as_create, e->ctx, 0, &lv);
	cr_assert_eq(ht_as_mmu(src), 0);
	cr_assert_eq(ht_as_mmu(lv), 1);
	OK(ht_map, src, e->pg, 0x7000, PG, HT_W, 0);
	OK(ht_share, sh, r, src, e->pg, e->l1, &info);
	/* a live sharer of a no-MMU source, either way round */
	R(ht_share, lv, r, src, e->pg, e->l1, &info);
	R(ht_as_set_mmu, sh, 1);
	memset(&rc, 0, sizeof (rc));
	rc.id = 7;
	rc.kernel = sh;
	R(ht_cpu_root_create, e->ctx, &rc, &cr);
	rc.kernel = NULL;
	OK(ht_cpu_root_create, e->ctx, &rc, &cr);
	R(ht_switch, cr, sh, &sw);
	cr_assert_eq(ht_as_mmu(sh), 0, "a failed switch changed nothing");
	R(ht_as_set_mmu, NULL, 1);
	OK(ht_as_set_mmu, src, 1);
	OK(ht_as_set_mmu, src, 1);		/* no change: no error */
	OK(ht_switch, cr, sh, &sw);		/* turns it live */
	cr_assert_eq(ht_as_mmu(sh), 1);
	R(ht_as_set_mmu, src, 0);		/* sh, live, shares in */
	R(ht_as_set_mmu, sh, 0);		/* cr runs it */
	OK(ht_switch, cr, NULL, &sw);
	OK(ht_as_set_mmu, sh, 0);
	OK(ht_as_set_mmu, src, 0);
	OK(ht_audit, src);
	OK(ht_audit, sh);
	ht_cpu_root_destroy(cr);
	OK(ht_unshare, sh, r, e->l1);
	ht_as_destroy(lv);
	ht_as_destroy(sh);
	ht_as_destroy(src);
}

/* The reverse map's calls: no map kept, bad addresses, locked leaves. */
static void
rmaps(env_t *e)
{
	ht_config_t c = cfg_for(e->mode, ht_arena_ops(), e->arena);
	ht_pa_t far = 1ull << e->g->pa_bits_max;
	ht_ctx_t *rctx;
	ht_as_t *as;

	R(ht_page_mappings, NULL, 0, mapping_go, NULL);
	R(ht_page_mappings, e->ctx, 0, mapping_go, NULL);	/* no rmap */
	R(ht_page_unload, e->ctx, 0, 0, mapping_go, NULL);
	R(ht_page_clear_write, e->ctx, 0);
	R(ht_page_sync, e->ctx, 0, 0, mapping_go, NULL);
	c.rmap = 2;
	R(ht_ctx_create, &c, &rctx);
	c.rmap = 1;
	OK(ht_ctx_create, &c, &rctx);
	OK(ht_as_create, rctx, 0, &as);
	OK(ht_map, as, e->pg, 2 * GIB, PG, HT_W, 0);
	OK(ht_map, as, e->pg + PG, 2 * GIB + PG, PG, HT_W, HT_MAP_LOCK);
	R(ht_page_mappings, rctx, far, mapping_go, NULL);
	R(ht_page_unload, rctx, far, 0, mapping_go, NULL);
	R(ht_page_clear_write, rctx, far);
	R(ht_page_sync, rctx, far, 0, mapping_go, NULL);
	R(ht_page_unload, rctx, 2 * GIB, 0x80, mapping_go, NULL);
	R(ht_page_sync, rctx, 2 * GIB, 0x80, mapping_go, NULL);
	OK(ht_page_mappings, rctx, 2 * GIB, mapping_go, NULL);
	OK(ht_page_clear_write, rctx, 2 * GIB);
	OK(ht_page_sync, rctx, 2 * GIB, HT_AD_CLEAR, mapping_go, NULL);
	R(ht_page_unload, rctx, 2 * GIB + PG, 0, mapping_go, NULL); /* locked */
	OK(ht_page_unload, rctx, 2 * GIB + PG, HT_UNMAP_UNLOCK, mapping_go,
	    NULL);
	OK(ht_page_unload, rctx, 2 * GIB, 0, NULL, NULL);
	OK(ht_audit, as);
	ht_as_destroy(as);
	OK(ht_ctx_destroy, rctx);
}

/* A provider that fails with its own code, gives bad frames, forgets. */
static void
bad_provider(env_t *e)
{
	prov_t p = { e->arena, 0, 0, 0 };
	ht_config_t c = cfg_for(e->mode, &prov_ops, &p);
	env_t pe = *e;
	ht_as_t *sh;
	ht_xlate_t x;
	ht_pa_t pa;

	OK(ht_ctx_create, &c, &pe.ctx);
	OK(ht_as_create, pe.ctx, 0, &pe.as);
	OK(ht_map, pe.as, e->big, 2 * GIB, 2 * e->l1, HT_W, 0);
	OK(ht_map, pe.as, e->lk, 2 * GIB, e->l1, HT_W, HT_MAP_LOCK);
	OK(ht_map, pe.as, e->pg, 3 * GIB, 2 * PG, HT_W, 0);

	OK(ht_as_create, pe.ctx, HT_AS_NOSTEAL, &sh);
	p.inject = 1;
	injecting = PASS_ALLOC;
	table_needers(pe.as, &pe);
	share_needers(pe.as, sh, &pe);
	injecting = 0;
	p.inject = 0;
	p.bad = 1;
	table_needers(pe.as, &pe);
	share_needers(pe.as, sh, &pe);
	p.bad = 0;
	OK(ht_audit, sh);
	ht_as_destroy(sh);
	/* the tables below the root are reached through map only */
	p.map_null = 1;
	R(ht_translate, pe.as, e->pg, &x);
	R(ht_get_np, pe.as, e->pg, &npv);
	R(ht_va2pa, pe.as, e->pg, &pa);
	p.map_null = 0;
	OK(ht_audit, pe.as);
	ht_as_destroy(pe.as);
	OK(ht_ctx_destroy, pe.ctx);
}

/* An entry the library did not write: the audit notices. */
static void
corrupt(env_t *e)
{
	ht_xlate_t x;
	unsigned last;
	uint8_t *p;
	uint64_t saved = 0;

	OK(ht_translate, e->as, e->pg, &x);
	last = x.nlevels - 1;
	/* the next entry of the leaf's table is empty (a hole after pg) */
	p = ht_arena_ptr(e->arena, x.entry_pa[last] + 2 * e->g->pte_size);
	cr_assert_not_null(p);
	memcpy(&saved, p, e->g->pte_size);
	cr_assert_eq(saved, 0);
	p[0] = 0x01;	/* present, unaccounted for */
	R(ht_audit, e->as);
	memcpy(p, &saved, e->g->pte_size);
	OK(ht_audit, e->as);
}

/*
 * Nested translation over the space's own tables read as NPT tables (the
 * same format) by a guest of every x86 mode: bad arguments, a guest
 * address beyond 4 GiB, and the reader's codes.
 */
static void
nested(env_t *e, reader_t *rd)
{
	ht_nested_cfg_t nc;
	ht_nested_t r;
	ht_cpu_t cpu = { 0, 0, 0 };

	if (e->mode != HT_MODE_4LEVEL)
		return;
	memset(&nc, 0, sizeof (nc));
	nc.guest_mode = HT_MODE_4LEVEL;
	nc.guest_cr3 = 0;
	nc.host_mode = HT_MODE_NPT4;
	nc.host_root = ht_as_root(e->as);
	nc.read = image_read;
	nc.read_arg = rd;
	OK(ht_nested_access, &nc, &cpu, &cpu, e->pg, HT_ACC_READ, 0, &r);
	R(ht_nested_access, NULL, &cpu, &cpu, e->pg, HT_ACC_READ, 0, &r);
	R(ht_nested_access, &nc, &cpu, &cpu, e->pg, HT_ACC_READ, 0, NULL);
	nc.host_mode = HT_MODE_4LEVEL;
	R(ht_nested_access, &nc, &cpu, &cpu, e->pg, HT_ACC_READ, 0, &r);
	nc.host_mode = HT_MODE_NPT4;
	nc.guest_mode = HT_MODE_32BIT;
	R(ht_nested_access, &nc, &cpu, &cpu, 1ull << 32, HT_ACC_READ, 0, &r);
	nc.guest_mode = HT_MODE_4LEVEL;
	rd->bad = 1;
	R(ht_nested_access, &nc, &cpu, &cpu, e->pg, HT_ACC_READ, 0, &r);
	rd->bad = 0;
	rd->inject = 1;
	injecting = PASS_READ;
	R(ht_nested_access, &nc, &cpu, &cpu, e->pg, HT_ACC_READ, 0, &r);
	injecting = 0;
	rd->inject = 0;
}

/* The readers of images: bad configurations, bad readers, a leaf cap. */
static void
images(env_t *e)
{
	reader_t rd = { e->arena, 0, 0 };
	ht_scan_cfg_t c;
	ht_scan_xlate_t sx;
	ht_cpu_t cpu = { 0, 0, 0 };
	ht_access_t acc;
	ht_va_t v = e->pg;

	memset(&c, 0, sizeof (c));
	c.mode = e->mode;
	c.cr3 = ht_as_root(e->as);
	c.read = image_read;
	c.read_arg = &rd;
	OK(ht_scan, &c, leaf_go, NULL, NULL);
	OK(ht_scan_translate, &c, v, &sx);
	OK(ht_scan_access, &c, &cpu, v, HT_ACC_READ, 0, &acc);

	R(ht_scan, NULL, leaf_go, NULL, NULL);
	R(ht_scan, &c, NULL, NULL, NULL);
	R(ht_scan_translate, NULL, v, &sx);
	R(ht_scan_translate, &c, v, NULL);
	R(ht_scan_access, NULL, &cpu, v, HT_ACC_READ, 0, &acc);
	R(ht_scan_access, &c, NULL, v, HT_ACC_READ, 0, &acc);
	c.flags = 0x80;
	R(ht_scan, &c, leaf_go, NULL, NULL);
	R(ht_scan_translate, &c, v, &sx);
	c.flags = 0;
	c.pa_bits = 20;
	R(ht_scan, &c, leaf_go, NULL, NULL);
	R(ht_scan_translate, &c, v, &sx);
	c.pa_bits = 0;
	c.mode = (ht_mode_t)9;
	R(ht_scan, &c, leaf_go, NULL, NULL);
	R(ht_scan_access, &c, &cpu, v, HT_ACC_READ, 0, &acc);
	c.mode = e->mode;
	if (e->g->hole_start == 0)
		R(ht_scan_access, &c, &cpu, va_last(e->g) + 1, HT_ACC_READ, 0,
		    &acc);
	c.max_leaves = 1;
	R(ht_scan, &c, leaf_go, NULL, NULL);
	R(ht_scan_picture, &c, "x", write_go, NULL);
	c.max_leaves = 0;
	OK(ht_scan_picture, &c, "x", write_go, NULL);
	R(ht_scan_picture, NULL, "x", write_go, NULL);
	R(ht_scan_picture, &c, "x", NULL, NULL);
	R(ht_as_picture, NULL, "x", write_go, NULL);
	R(ht_as_picture, e->as, "x", NULL, NULL);
	if (ht_as_root(e->as) != 0)
		OK(ht_as_picture, e->as, "x", write_go, NULL);

	rd.bad = 1;
	R(ht_scan, &c, leaf_go, NULL, NULL);
	R(ht_scan_picture, &c, "x", write_go, NULL);
	R(ht_scan_translate, &c, v, &sx);
	R(ht_scan_access, &c, &cpu, v, HT_ACC_READ, 0, &acc);
	rd.bad = 0;
	rd.inject = 1;
	injecting = PASS_READ;
	R(ht_scan, &c, leaf_go, NULL, NULL);
	R(ht_scan_picture, &c, "x", write_go, NULL);
	R(ht_scan_translate, &c, v, &sx);
	R(ht_scan_access, &c, &cpu, v, HT_ACC_READ, 0, &acc);
	injecting = 0;
	rd.inject = 0;
	nested(e, &rd);
}

/*
 * Host memory runs out.  A child process caps its address space at what
 * it uses, uses up its heap, and makes every call that allocates; it
 * sends its records back through a pipe.
 */
static void
exhaust_heap(void)
{
	/* volatile: a compiler may not assume that malloc succeeds */
	void *volatile sink;

	for (size_t sz = 16; sz <= 1032; sz += 8)
		while ((sink = malloc(sz)) != NULL)
			continue;
	for (size_t sz = 2048; sz <= 64 * MIB; sz *= 2)
		while ((sink = malloc(sz)) != NULL)
			continue;
}

static void
no_memory_child(env_t *e, int fd)
{
	ht_config_t c = cfg_for(e->mode, ht_arena_ops(), e->arena);
	reader_t rd = { e->arena, 0, 0 };
	ht_scan_cfg_t sc;
	ht_ctx_t *ctx, *small, *rsmall;
	ht_as_t *as, *nas, *shr, *ras, *wide;
	unsigned long pages = 0;
	struct rlimit rl;
	FILE *f;

	/* few descriptors in reserve: two new tables need host memory */
	c.reserve_amount = 1;
	OK(ht_ctx_create, &c, &small);
	OK(ht_as_create, small, 0, &as);
	OK(ht_map, as, e->big, 2 * GIB, 2 * e->l1, HT_W, 0);
	OK(ht_map, as, e->lk, 2 * GIB, 2 * e->l1, HT_W, HT_MAP_LOCK);
	OK(ht_as_create, small, 0, &shr);
	/* a reverse map with one page mapped: its calls need a list */
	c.rmap = 1;
	OK(ht_ctx_create, &c, &rsmall);
	c.rmap = 0;
	OK(ht_as_create, rsmall, 0, &ras);
	OK(ht_map, ras, e->pg, 2 * GIB, PG, HT_W, 0);
	/*
	 * A scan keeps the memo of up to 16 tables in its own frame: this
	 * space's 24 level-0 tables make it allocate.
	 */
	OK(ht_as_create, e->ctx, 0, &wide);
	for (unsigned i = 0; i < 24; i++)
		OK(ht_map, wide, i * e->l1, 2 * GIB, PG, HT_W, 0);
	memset(&sc, 0, sizeof (sc));
	sc.mode = e->mode;
	sc.cr3 = ht_as_root(wide);
	sc.read = image_read;
	sc.read_arg = &rd;
	c.reserve_amount = 0;

	f = fopen("/proc/self/statm", "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%lu", &pages), 1);
	fclose(f);
	rl.rlim_cur = rl.rlim_max = pages * (unsigned long)getpagesize();
	cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0);
	exhaust_heap();

	R(ht_ctx_create, &c, &ctx);
	R(ht_as_create, small, 0, &nas);
	R(ht_as_import, small, ht_as_root(e->as), 0, &nas);
	/* a range across two level-1 regions: two new tables */
	R_MAP(as, e->big + 64 * e->l1 - PG, 0, 2 * PG, 0, 0);
	/* ranges across two level-1 pages: two splits */
	R_UNMAP(as, e->big + e->l1 - PG, 2 * PG, 0);
	R_PROT(as, e->big + e->l1 - PG, 2 * PG, 0);
	R(ht_lock, as, e->big + e->l1 - PG, 2 * PG);
	R(ht_unlock, as, e->lk + e->l1 - PG, 2 * PG);
	R(ht_share, shr, e->big, as, e->big, 2 * e->l1, NULL);
	croot_needer(small);
	R(ht_page_mappings, rsmall, 2 * GIB, mapping_go, NULL);
	R(ht_page_unload, rsmall, 2 * GIB, 0, mapping_go, NULL);
	R(ht_page_clear_write, rsmall, 2 * GIB);
	R(ht_page_sync, rsmall, 2 * GIB, 0, mapping_go, NULL);
	R(ht_scan, &sc, leaf_go, NULL, NULL);
	R(ht_scan_picture, &sc, "x", write_go, NULL);
	R(ht_as_picture, wide, "x", write_go, NULL);
	{
		ht_cpu_t cpu = { 0, 0, 0 };
		ht_stlb_t *t;

		R(ht_stlb_create, as, 1u << 22, &cpu, &t);
	}
	if (write(fd, fns, sizeof (fns)) != (ssize_t)sizeof (fns) ||
	    write(fd, &nviol, sizeof (nviol)) != (ssize_t)sizeof (nviol))
		_exit(3);
	_exit(0);
}

/*
 * Under ASan the allocator's space is reserved up front, so a cap on the
 * address space does not make malloc fail: the heap would fill real
 * memory.  There the ENOMEM cases are not run, and ENOMEM is not required.
 */
static int enomem_exempt;

static void
no_memory(env_t *e)
{
	static fnrec_t child[MAXFN];
	unsigned cviol = 0;
	int fds[2], status;
	pid_t pid;

	if (under_asan) {
		enomem_exempt = 1;
		return;
	}

	cr_assert_eq(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		no_memory_child(e, fds[1]);
	}
	close(fds[1]);
	size_t got = 0;
	while (got < sizeof (child)) {
		ssize_t n = read(fds[0], (char *)child + got,
		    sizeof (child) - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	cr_assert_eq(read(fds[0], &cviol, sizeof (cviol)),
	    (ssize_t)sizeof (cviol), "the child sent no records");
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the out-of-memory child died (status 0x%x)", status);
	cr_assert_eq(got, sizeof (child));
	for (unsigned i = 0; i < nfns; i++) {
		fns[i].seen |= child[i].seen;
		fns[i].pass_seen |= child[i].pass_seen;
		fns[i].calls += child[i].calls;
	}
	nviol += cviol;
}

/* Soft TLBs: bad arguments, an address beyond 4 GiB, a detached one. */
static void
stlbs(env_t *e)
{
	ht_cpu_t cpu = { 0, 0, 0 }, bad = { 0x8000, 0, 0 };
	ht_stlb_stats_t st;
	ht_access_t acc;
	ht_stlb_t *t;
	ht_as_t *as;

	R(ht_stlb_create, NULL, 64, &cpu, &t);
	R(ht_stlb_create, e->as, 64, NULL, &t);
	R(ht_stlb_create, e->as, 64, &cpu, NULL);
	R(ht_stlb_create, e->as, 0, &cpu, &t);
	R(ht_stlb_create, e->as, 48, &cpu, &t);
	R(ht_stlb_create, e->as, 1u << 25, &cpu, &t);
	R(ht_stlb_create, e->as, 64, &bad, &t);
	bad.flags = 0;
	bad.pa_bits = 20;
	R(ht_stlb_create, e->as, 64, &bad, &t);
	OK(ht_stlb_create, e->as, 64, &cpu, &t);

	R(ht_stlb_fill, NULL, e->pg, HT_ACC_READ, 0, &acc);
	R(ht_stlb_fill, t, e->pg, HT_ACC_READ, 0, NULL);
	R(ht_stlb_fill, t, e->pg, 3, 0, &acc);
	R(ht_stlb_fill, t, e->pg, HT_ACC_READ, 4, &acc);
	if (e->g->hole_start == 0)
		R(ht_stlb_fill, t, va_last(e->g) + 1, HT_ACC_READ, 0, &acc);
	OK(ht_stlb_fill, t, e->pg, HT_ACC_WRITE, 0, &acc);

	R(ht_stlb_set_cpu, NULL, &cpu);
	R(ht_stlb_set_cpu, t, NULL);
	R(ht_stlb_set_cpu, t, &bad);
	OK(ht_stlb_set_cpu, t, &cpu);
	R(ht_stlb_stats, NULL, &st);
	R(ht_stlb_stats, t, NULL);
	OK(ht_stlb_stats, t, &st);
	ht_stlb_flush(t);
	ht_stlb_destroy(t);

	/* detached by the destroy of its space */
	OK(ht_as_create, e->ctx, 0, &as);
	OK(ht_stlb_create, as, 4, &cpu, &t);
	ht_as_destroy(as);
	R(ht_stlb_fill, t, e->pg, HT_ACC_READ, 0, &acc);
	R(ht_stlb_set_cpu, t, &cpu);
	ht_stlb_destroy(t);
}

static void
barrage(ht_mode_t mode)
{
	env_t e;

	env_init(&e, mode);
	bad_arguments(&e);
	bad_configs(&e);
	bad_ranges(&e);
	stlbs(&e);
	unsplittable(&e);
	no_frames(&e);
	bad_provider(&e);
	shares(&e);
	cpu_roots(&e);
	nommu(&e);
	rmaps(&e);
	corrupt(&e);
	images(&e);
	no_memory(&e);
	OK(ht_audit, e.as);
	env_fini(&e);
}

Test(errors, every_documented_code_and_no_other, .timeout = 300)
{
	static const ht_mode_t modes[] = {
		HT_MODE_32BIT, HT_MODE_PAE, HT_MODE_4LEVEL, HT_MODE_5LEVEL,
		HT_MODE_NPT4, HT_MODE_NPT5
	};
	unsigned missing = 0;

	parse_header();
	for (unsigned i = 0; i < nfns; i++) {
		if (!fns[i].has_line) {
			fprintf(stderr, "%s has no Errors line\n",
			    fns[i].name);
			missing++;
		}
	}
	for (unsigned i = 0; i < sizeof (modes) / sizeof (modes[0]); i++)
		barrage(modes[i]);
	for (unsigned i = 0; i < nfns; i++) {
		const fnrec_t *r = &fns[i];

		for (int c = 1; c < HT__NERR; c++) {
			if (c == HT_ENOMEM && enomem_exempt)
				continue;
			if ((r->doc & (1u << c)) && !(r->seen & (1u << c))) {
				fprintf(stderr, "%s: %s is documented but was "
				    "never provoked\n", r->name,
				    ht_err_name(-c));
				missing++;
			}
		}
		if (r->pass & ~r->pass_seen) {
			fprintf(stderr, "%s: a callback's code was never "
			    "passed back\n", r->name);
			missing++;
		}
		if ((r->doc != 0 || r->pass != 0) && r->calls == 0) {
			fprintf(stderr, "%s: never called\n", r->name);
			missing++;
		}
	}
	cr_expect_eq(nviol, 0, "%u calls returned codes their Errors line "
	    "does not name (see above)", nviol);
	cr_expect_eq(missing, 0, "%u Errors lines missing or not provoked "
	    "(see above)", missing);
}
