/*
 * test_dump_model.c - randomized end-to-end test of `htable build` and
 * `htable dump` against an independent model of the layout language.
 *
 * For every paging mode and many seeds it writes a random layout file,
 * builds it with `htable build SPEC -o IMG`, dumps the image with
 * `htable dump IMG --cr3 CR3 --mode MODE` and compares the dump, line by
 * line, with what its own model of the language predicts.  The model knows
 * nothing of page tables and does not use the library: it is a sorted
 * array of runs of equal pages {va, last, pa, page size, attributes} that
 * follows the documented semantics (docs/htable.1 and the issue):
 *   - map picks, page by page, the largest page size that the VA, the PA
 *     and the remaining length allow among the sizes the mode and
 *     `pagesizes` permit, unless page= forces one; it replaces what was
 *     mapped there;
 *   - map, unmap and protect split the large pages that stick out of
 *     their range: the straddled page becomes pages of the next smaller
 *     size, and so on down to the page that no longer straddles; the
 *     pieces keep the attributes of the page they came from;
 *   - protect sets exactly w/x/u and keeps g/pwt/pcd/pat;
 *   - 32-bit paging has no NX (everything is executable), its 4 KiB pages
 *     end at 4 GiB and a 4 MiB page above 4 GiB cannot be split;
 *   - `pagesizes` always has 4k, and 1g needs 2m.
 * A generated statement that the model rejects is dropped, except in the
 * few specs chosen to fail: there the build must exit 2 with the error on
 * that line ("SPEC:LINE: ...") and write no image.  The generator aims at
 * what breaks page-table code: upper-half kernel addresses, the very top
 * of the space, just below the non-canonical hole (or 4 GiB), 1 GiB, 2 MiB
 * and 4 MiB pages, overlapping maps, partial unmaps and protects of large
 * pages, physical addresses of every alignment (and above 4 GiB in 32-bit
 * paging), and maps whose physical addresses continue the previous map's,
 * so that dump's coalescing across statements is exercised.
 *
 * usage: test_dump_model HTABLE
 * Environment: HT_SEED (decimal or 0x hex) sets the base seed, spec i of a
 * mode uses seed base + i; HT_COUNT sets the specs per mode (100);
 * HT_MODES (e.g. "4level,pae") limits the modes; HT_VERBOSE=1 prints one
 * line per spec; HT_KEEP=1 keeps every spec and image in the work
 * directory.  A failure prints the seed, the spec, the first differing
 * lines diff-style, the kept spec file and the command that reruns just
 * that spec.  The last line is a Criterion-style synthesis (one test per
 * spec) that the test command counts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#define KIB		((uint64_t)1024)
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define PG		(4 * KIB)

/* Attributes of a page (the model's own encoding). */
#define A_W		0x01u
#define A_X		0x02u
#define A_U		0x04u
#define A_G		0x08u
#define A_PWT		0x10u
#define A_PCD		0x20u
#define A_PAT		0x40u
#define A_PERM		(A_W | A_X | A_U)

/* Page sizes as a mask of their shifts: bit s stands for 2^s bytes. */
#define S_4K		(1u << 12)
#define S_2M		(1u << 21)
#define S_4M		(1u << 22)
#define S_1G		(1u << 30)

#define DEFAULT_SEED	0x5eed0000ull
#define DEFAULT_COUNT	100
#define MIN_STMTS	10
#define MAX_STMTS	60
#define NWIN		3
#define NHOT		48
#define MAX_TRIES	64
#define MAX_4K_PER_MAP	(64ull * 1024)	/* 256 MiB of 4 KiB pages */
#define MAX_4K_TOTAL	(256ull * 1024)	/* at most 512 level-0 tables */
#define MAX_RUNS	4096
#define MAX_TABLES	8192		/* the pool has 16384 frames */
#define POOL_LEN	(64 * MIB)
#define FAIL_PCT	8		/* specs meant to end in a failure */
#define SHOW_DIFFS	8

/* ------------------------------------------------------------------ */
/* Paging modes as the language sees them                              */
/* ------------------------------------------------------------------ */

typedef struct mdesc {
	const char	*name;
	unsigned	sizes;		/* page sizes of the mode */
	uint64_t	lo_last;	/* last VA of the lower (only) part */
	uint64_t	hi_first;	/* first VA of the upper half, or 0 */
	uint64_t	pa_limit;	/* physical addresses end below this */
	int		nx;		/* 0: every page is executable */
	int		is32;		/* 32-bit paging (4-byte entries) */
	uint64_t	win;		/* window size the generator works in */
	uint64_t	kva;		/* a kernel-style window base */
	unsigned	nlev;		/* table levels */
	unsigned	span[5];	/* log2 of a level-l table's reach */
	int		nested;		/* 1 NPT, 2 EPT: --emit only (the
					   hardware tests), not dumped here */
} mdesc_t;

static const mdesc_t modes[] = {
	{ "32bit", S_4K | S_4M, 0xffffffffull, 0, 1ull << 40, 0, 1,
	    64 * MIB, 0xc0000000ull, 2, { 22, 32 }, 0 },
	{ "pae", S_4K | S_2M, 0xffffffffull, 0, 1ull << 52, 1, 0, 64 * MIB,
	    0xc0000000ull, 3, { 21, 30, 32 }, 0 },
	{ "4level", S_4K | S_2M | S_1G, (1ull << 47) - 1, ~0ull << 47,
	    1ull << 52, 1, 0, 8 * GIB, 0xffff888000000000ull, 4,
	    { 21, 30, 39, 48 }, 0 },
	{ "5level", S_4K | S_2M | S_1G, (1ull << 56) - 1, ~0ull << 56,
	    1ull << 52, 1, 0, 8 * GIB, 0xff11000000000000ull, 5,
	    { 21, 30, 39, 48, 57 }, 0 },
	/*
	 * Second-level tables: guest-physical addresses without a hole,
	 * generated below 2^40 (the space goes on to 2^48 or 2^57), where
	 * a guest of an emulator's CPU (Bochs: MAXPHYADDR 40) can reach
	 * them all; the "kernel" window at 256 GiB.
	 */
	{ "npt4", S_4K | S_2M | S_1G, (1ull << 40) - 1, 0, 1ull << 52, 1, 0,
	    8 * GIB, 256 * GIB, 4, { 21, 30, 39, 48 }, 1 },
	{ "npt5", S_4K | S_2M | S_1G, (1ull << 40) - 1, 0, 1ull << 52, 1, 0,
	    8 * GIB, 256 * GIB, 5, { 21, 30, 39, 48, 57 }, 1 },
	{ "ept4", S_4K | S_2M | S_1G, (1ull << 40) - 1, 0, 1ull << 52, 1, 0,
	    8 * GIB, 256 * GIB, 4, { 21, 30, 39, 48 }, 2 },
	{ "ept5", S_4K | S_2M | S_1G, (1ull << 40) - 1, 0, 1ull << 52, 1, 0,
	    8 * GIB, 256 * GIB, 5, { 21, 30, 39, 48, 57 }, 2 },
};
#define NMODES	(sizeof (modes) / sizeof (modes[0]))

/* The name of a page size in the language and in dump ("4k"...). */
static const char *
size_name(unsigned shift)
{
	switch (shift) {
	case 12: return ("4k");
	case 21: return ("2m");
	case 22: return ("4m");
	case 30: return ("1g");
	default: return ("?");
	}
}

/* The largest shift in mask `sizes` that is below `below` (0 if none). */
static unsigned
size_below(unsigned sizes, unsigned below)
{
	for (unsigned s = below; s-- > 0; )
		if (sizes & (1u << s))
			return (s);
	return (0);
}

/* ------------------------------------------------------------------ */
/* The model: a sorted array of runs of equal, contiguous pages        */
/* ------------------------------------------------------------------ */

/*
 * A run: pages of 2^shift bytes covering [va, last], each mapping the
 * physical address that continues the previous one, all with `attr`.
 * Runs never overlap; each run's va is aligned to its page size.
 */
typedef struct run {
	uint64_t	va;
	uint64_t	last;
	uint64_t	pa;
	unsigned	shift;
	unsigned	attr;
} run_t;

typedef struct model {
	const mdesc_t	*md;
	unsigned	sizes;		/* permitted: the mode's & pagesizes */
	run_t		*r;
	size_t		n;
	size_t		cap;
	uint64_t	splits[31];	/* straddled pages split, by shift */
	uint64_t	new4k;		/* 4 KiB pages the last map made */
} model_t;

/*
 * Stop the run on a broken test harness (not a finding about htable): the
 * message, exit 2, no synthesis line.
 */
static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void) fprintf(stderr, "test_dump_model: ");
	(void) vfprintf(stderr, fmt, ap);
	(void) fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* Make room for `want` runs. */
static void
model_reserve(model_t *m, size_t want)
{
	size_t cap = m->cap ? m->cap : 64;
	run_t *p;

	if (want <= m->cap)
		return;
	while (cap < want)
		cap *= 2;
	if ((p = realloc(m->r, cap * sizeof (*p))) == NULL)
		die("out of memory");
	m->r = p;
	m->cap = cap;
}

/* An empty model of mode md with the permitted page sizes `sizes`. */
static void
model_init(model_t *m, const mdesc_t *md, unsigned sizes)
{
	memset(m, 0, sizeof (*m));
	m->md = md;
	m->sizes = sizes;
}

/* Free the runs; m is empty (and may be initialized again). */
static void
model_fini(model_t *m)
{
	free(m->r);
	m->r = NULL;
	m->n = m->cap = 0;
}

/* dst becomes a copy of src (dst initialized). */
static void
model_copy(model_t *dst, const model_t *src)
{
	run_t *r = dst->r;
	size_t cap = dst->cap;

	*dst = *src;
	dst->r = r;
	dst->cap = cap;
	dst->n = 0;
	model_reserve(dst, src->n);
	if (src->n != 0)
		memcpy(dst->r, src->r, src->n * sizeof (run_t));
	dst->n = src->n;
}

/* Replace the `del` runs at index i by the `nins` runs of ins. */
static void
model_splice(model_t *m, size_t i, size_t del, const run_t *ins, size_t nins)
{
	model_reserve(m, m->n - del + nins);
	memmove(&m->r[i + nins], &m->r[i + del],
	    (m->n - i - del) * sizeof (run_t));
	if (nins != 0)
		memcpy(&m->r[i], ins, nins * sizeof (run_t));
	m->n = m->n - del + nins;
}

/* The index of the first run whose last >= va (m->n if none). */
static size_t
model_find(const model_t *m, uint64_t va)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->r[mid].last < va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* Abort if the runs are out of order, overlap or are malformed. */
static void
model_check(const model_t *m)
{
	for (size_t i = 0; i < m->n; i++) {
		const run_t *r = &m->r[i];
		uint64_t sz = 1ull << r->shift;

		if (r->last < r->va || (r->va & (sz - 1)) != 0 ||
		    ((r->last + 1) & (sz - 1)) != 0 || (r->pa & (sz - 1)) != 0)
			die("model: malformed run at 0x%" PRIx64, r->va);
		if (i > 0 && m->r[i - 1].last >= r->va)
			die("model: runs overlap at 0x%" PRIx64, r->va);
	}
}

/*
 * Make addr a page boundary: cut the run that holds addr (not at its
 * start) there, and split the page that straddles addr into pages of the
 * next smaller permitted size until none does.  addr == 0 stands for the
 * end of the space: nothing to do.  0, or -1 with *why when a 32-bit
 * 4 MiB page at or above 4 GiB would have to be split.
 */
static int
split_at(model_t *m, uint64_t addr, const char **why)
{
	for (;;) {
		size_t i = model_find(m, addr);
		run_t r, p[3];
		uint64_t sz, ps, ppa;
		size_t np = 0;

		if (i == m->n || m->r[i].va >= addr)
			return (0);
		r = m->r[i];
		sz = 1ull << r.shift;
		ps = r.va + ((addr - r.va) & ~(sz - 1));
		ppa = r.pa + (ps - r.va);
		if (ps == addr) {
			/* a page boundary already: only the run is cut */
			p[0] = r;
			p[0].last = addr - 1;
			p[1] = r;
			p[1].va = addr;
			p[1].pa = ppa;
			model_splice(m, i, 1, p, 2);
			return (0);
		}
		if (m->md->is32 && ppa >= 4 * GIB) {
			*why = "a 4 MiB page above 4 GiB cannot be split";
			return (-1);
		}
		m->splits[r.shift]++;
		if (ps > r.va) {
			p[np] = r;
			p[np++].last = ps - 1;
		}
		p[np] = r;
		p[np].va = ps;
		p[np].last = ps + sz - 1;
		p[np].pa = ppa;
		p[np++].shift = size_below(m->sizes, r.shift);
		if (ps + sz - 1 < r.last) {
			p[np] = r;
			p[np].va = ps + sz;
			p[np++].pa = ppa + sz;
		}
		model_splice(m, i, 1, p, np);
	}
}

/* Split at both ends of [va, last]; then every run is in or out of it. */
static int
split_edges(model_t *m, uint64_t va, uint64_t last, const char **why)
{
	if (split_at(m, va, why) != 0)
		return (-1);
	return (split_at(m, last + 1, why));
}

/* The index range [*r_i, *r_j) of the runs inside [va, last]. */
static void
inside(const model_t *m, uint64_t va, uint64_t last, size_t *r_i,
    size_t *r_j)
{
	size_t i = model_find(m, va), j = i;

	while (j < m->n && m->r[j].va <= last)
		j++;
	*r_i = i;
	*r_j = j;
}

/*
 * The checks every range statement shares: non-empty, 4 KiB aligned, no
 * wrap, inside one canonical part of the space (below 4 GiB in 32-bit
 * modes).  NULL, or why not.
 */
static const char *
range_bad(const mdesc_t *md, uint64_t va, uint64_t len)
{
	uint64_t last = va + len - 1;

	if (len == 0)
		return ("zero length");
	if (((va | len) & (PG - 1)) != 0)
		return ("not 4 KiB aligned");
	if (last < va)
		return ("wraps past the top");
	if (last <= md->lo_last)
		return (NULL);
	if (md->hi_first != 0 && va >= md->hi_first)
		return (NULL);
	return ("beyond the space or across the hole");
}

/* A statement of the language. */
typedef enum { K_MAP, K_UNMAP, K_PROTECT } kind_t;

typedef struct stmt {
	kind_t		kind;
	uint64_t	va;
	uint64_t	pa;
	uint64_t	len;
	unsigned	attr;		/* A_* as written */
	unsigned	force;		/* page= shift, 0 if none */
} stmt_t;

/*
 * map: the pages, largest first as alignment and length allow, replacing
 * what is there.  0, or -1 with *why (the model is then unspecified).
 */
static int
model_map(model_t *m, const stmt_t *st, const char **why)
{
	const mdesc_t *md = m->md;
	uint64_t va = st->va, pa = st->pa, len = st->len, last = va + len - 1;
	unsigned attr = st->attr, sizes = m->sizes;
	run_t *nr = NULL;
	size_t nn = 0, ncap = 0, i, j;
	int rc = -1;

	if ((*why = range_bad(md, va, len)) != NULL)
		return (-1);
	if ((pa & (PG - 1)) != 0) {
		*why = "pa not 4 KiB aligned";
		return (-1);
	}
	if (pa + len - 1 < pa || pa + len - 1 >= md->pa_limit) {
		*why = "pa beyond the physical width";
		return (-1);
	}
	if (st->force != 0) {
		uint64_t fs = 1ull << st->force;

		if (!(sizes & (1u << st->force))) {
			*why = "forced page size not permitted";
			return (-1);
		}
		if (((va | pa | len) & (fs - 1)) != 0) {
			*why = "not aligned to the forced page size";
			return (-1);
		}
		sizes = 1u << st->force;
	}
	if (!md->nx)
		attr |= A_X;
	m->new4k = 0;
	/* page by page: the largest permitted size that fits here */
	for (uint64_t off = 0; off < len; ) {
		unsigned s = 0;
		uint64_t sz;

		for (unsigned c = 31; c-- > 12; ) {
			uint64_t csz = 1ull << c;

			if ((sizes & (1u << c)) &&
			    ((va + off) & (csz - 1)) == 0 &&
			    ((pa + off) & (csz - 1)) == 0 && len - off >= csz) {
				s = c;
				break;
			}
		}
		if (s == 0)
			die("model: no page size fits (cannot happen)");
		sz = 1ull << s;
		m->new4k += s == 12;
		if (md->is32 && s == 12 && pa + off + sz > 4 * GIB) {
			*why = "32-bit 4 KiB pages end at 4 GiB";
			goto out;
		}
		if (nn > 0 && nr[nn - 1].shift == s) {
			nr[nn - 1].last += sz;
		} else {
			if (nn == ncap) {
				ncap = ncap ? 2 * ncap : 8;
				if ((nr = realloc(nr, ncap * sizeof (*nr))) ==
				    NULL)
					die("out of memory");
			}
			nr[nn].va = va + off;
			nr[nn].last = va + off + sz - 1;
			nr[nn].pa = pa + off;
			nr[nn].shift = s;
			nr[nn].attr = attr;
			nn++;
		}
		off += sz;
	}
	if (split_edges(m, va, last, why) != 0)
		goto out;
	inside(m, va, last, &i, &j);
	model_splice(m, i, j - i, nr, nn);
	rc = 0;
out:
	free(nr);
	return (rc);
}

/* unmap: remove the pages in the range, splitting what sticks out. */
static int
model_unmap(model_t *m, const stmt_t *st, const char **why)
{
	uint64_t last = st->va + st->len - 1;
	size_t i, j;

	if ((*why = range_bad(m->md, st->va, st->len)) != NULL)
		return (-1);
	if (split_edges(m, st->va, last, why) != 0)
		return (-1);
	inside(m, st->va, last, &i, &j);
	model_splice(m, i, j - i, NULL, 0);
	return (0);
}

/* protect: exactly these w/x/u on every mapped page in the range. */
static int
model_protect(model_t *m, const stmt_t *st, const char **why)
{
	uint64_t last = st->va + st->len - 1;
	unsigned perm = st->attr & A_PERM;
	size_t i, j;

	if ((*why = range_bad(m->md, st->va, st->len)) != NULL)
		return (-1);
	if (!m->md->nx)
		perm |= A_X;
	if (split_edges(m, st->va, last, why) != 0)
		return (-1);
	inside(m, st->va, last, &i, &j);
	for (size_t k = i; k < j; k++)
		m->r[k].attr = (m->r[k].attr & ~A_PERM) | perm;
	return (0);
}

/* Apply one statement: 0, or -1 with *why (the build must fail there). */
static int
model_apply(model_t *m, const stmt_t *st, const char **why)
{
	int rc;

	*why = NULL;
	switch (st->kind) {
	case K_MAP: rc = model_map(m, st, why); break;
	case K_UNMAP: rc = model_unmap(m, st, why); break;
	default: rc = model_protect(m, st, why); break;
	}
	if (rc == 0)
		model_check(m);
	return (rc);
}

/* The number of pages of size 2^shift in the model. */
static uint64_t
model_pages(const model_t *m, unsigned shift)
{
	uint64_t n = 0;

	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].shift == shift)
			n += ((m->r[i].last - m->r[i].va) >> shift) + 1;
	return (n);
}

/*
 * An upper bound of the page tables the model's pages need: for each run,
 * the tables of every level down to its page size that it spans (shared
 * tables are counted once per run).  Keeps the pools big enough.
 */
static uint64_t
model_tables(const model_t *m)
{
	const mdesc_t *md = m->md;
	uint64_t n = 1;

	for (size_t i = 0; i < m->n; i++) {
		const run_t *r = &m->r[i];

		for (unsigned l = 0; l + 1 < md->nlev; l++) {
			unsigned sp = md->span[l];

			if (r->shift < sp)
				n += (r->last >> sp) - (r->va >> sp) + 1;
		}
	}
	return (n);
}

/* ------------------------------------------------------------------ */
/* What dump must print                                                */
/* ------------------------------------------------------------------ */

typedef struct lines {
	char		**v;
	size_t		n;
	size_t		cap;
} lines_t;

/* Append a copy of s. */
static void
lines_add(lines_t *l, const char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		if ((l->v = realloc(l->v, l->cap * sizeof (char *))) == NULL)
			die("out of memory");
	}
	if ((l->v[l->n++] = strdup(s)) == NULL)
		die("out of memory");
}

/* Free every line; l is empty. */
static void
lines_free(lines_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof (*l));
}

/*
 * The dump text of the model: one line per range of pages that follow
 * each other in VA and PA with equal size, permissions, G and memory
 * type.  A and D are never set by build.
 */
static void
model_dump(const model_t *m, lines_t *out)
{
	char buf[160];

	for (size_t i = 0; i < m->n; ) {
		run_t c = m->r[i++];

		while (i < m->n && c.last != ~0ull &&
		    m->r[i].va == c.last + 1 &&
		    m->r[i].pa == c.pa + (c.last - c.va + 1) &&
		    m->r[i].shift == c.shift && m->r[i].attr == c.attr)
			c.last = m->r[i++].last;
		(void) snprintf(buf, sizeof (buf),
		    "%016" PRIx64 "-%016" PRIx64 " %016" PRIx64
		    " %s r%c%c %c %c-- pat%u", c.va, c.last, c.pa,
		    size_name(c.shift), (c.attr & A_W) ? 'w' : '-',
		    (c.attr & A_X) ? 'x' : '-', (c.attr & A_U) ? 'u' : 's',
		    (c.attr & A_G) ? 'G' : '-',
		    ((c.attr & A_PAT) ? 4u : 0u) +
		    ((c.attr & A_PCD) ? 2u : 0u) +
		    ((c.attr & A_PWT) ? 1u : 0u));
		lines_add(out, buf);
	}
}

/* ------------------------------------------------------------------ */
/* The generator                                                       */
/* ------------------------------------------------------------------ */

typedef struct window {
	uint64_t	base;
	uint64_t	size;
	uint64_t	focus;		/* a 64 MiB part that most ops go to */
} window_t;

typedef struct text {
	char		*s;
	size_t		len;
	size_t		cap;
} text_t;

typedef struct gen {
	uint64_t	rng;
	const mdesc_t	*md;
	model_t		m;
	window_t	win[NWIN];
	int		nwin;
	uint64_t	hot[NHOT];	/* addresses earlier statements named */
	int		nhot;
	uint64_t	next_pa;	/* where the last map's PA ended */
	int		want_fail;
	text_t		t;		/* the spec */
	int		line;		/* lines in t */
	int		nstmts;
	int		fail_line;	/* expected failure, 0 if none */
	const char	*fail_why;
} gen_t;

/* The next pseudo-random number (splitmix64: seeds need no warm-up). */
static uint64_t
rnd(gen_t *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31));
}

/* A number in [0, n); n > 0. */
static uint64_t
below(gen_t *g, uint64_t n)
{
	return (rnd(g) % n);
}

/* True with probability pct %. */
static int
chance(gen_t *g, unsigned pct)
{
	return (below(g, 100) < pct);
}

/* Append printf-style text to t, growing it. */
static void
out(text_t *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->cap == 0) {
		t->cap = 4096;
		if ((t->s = malloc(t->cap)) == NULL)
			die("out of memory");
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			die("vsnprintf failed");
		if ((size_t)n < t->cap - t->len)
			break;
		t->cap = (t->cap + (size_t)n + 1) * 2;
		if ((t->s = realloc(t->s, t->cap)) == NULL)
			die("out of memory");
	}
	t->len += (size_t)n;
}

/* A number as the language reads it: hex, decimal, or with k/m/g. */
static const char *
num(gen_t *g, uint64_t v, char *buf, size_t len)
{
	unsigned r = (unsigned)below(g, 100);

	if (r < 15 && v != 0 && v % GIB == 0)
		(void) snprintf(buf, len, "%" PRIu64 "g", v / GIB);
	else if (r < 25 && v != 0 && v % MIB == 0)
		(void) snprintf(buf, len, "%" PRIu64 "m", v / MIB);
	else if (r < 30 && v != 0 && v % KIB == 0)
		(void) snprintf(buf, len, "%" PRIu64 "k", v / KIB);
	else if (r < 38)
		(void) snprintf(buf, len, "%" PRIu64, v);
	else
		(void) snprintf(buf, len, "0x%" PRIx64, v);
	return (buf);
}

/* Remember an address later statements may start or end at. */
static void
hot_add(gen_t *g, uint64_t va)
{
	if (g->nhot < NHOT)
		g->hot[g->nhot++] = va;
	else
		g->hot[below(g, NHOT)] = va;
}

/*
 * Choose the windows of this spec: places in the space where the
 * statements pile up (low memory, the top of the space, just below the
 * hole, the start of the upper half, kernel-style addresses, random).
 */
static void
pick_windows(gen_t *g)
{
	const mdesc_t *md = g->md;
	uint64_t w = md->win, cand[8];
	int nc = 0;

	cand[nc++] = 0;
	cand[nc++] = md->lo_last - w + 1;		/* below the hole/top */
	if (md->hi_first != 0) {
		cand[nc++] = md->hi_first;		/* upper half start */
		cand[nc++] = 0 - w;			/* top of the space */
		cand[nc++] = md->kva;			/* direct map */
		cand[nc++] = md->hi_first + below(g, (0 - w - md->hi_first) /
		    GIB) * GIB;
		cand[nc++] = below(g, (md->lo_last - w) / GIB) * GIB;
	} else {
		cand[nc++] = md->kva;
		cand[nc++] = below(g, (4 * GIB - w) / (4 * MIB)) * 4 * MIB;
	}
	g->nwin = 1 + (int)below(g, NWIN);
	for (int i = 0; i < g->nwin; i++) {
		window_t *wi = &g->win[i];

		wi->base = cand[below(g, (uint64_t)nc)];
		wi->size = w;
		wi->focus = wi->base + (w > 64 * MIB ?
		    below(g, (w - 64 * MIB) / (2 * MIB)) * 2 * MIB : 0);
	}
}

/* The largest page size the mode and pagesizes permit. */
static uint64_t
largest(const gen_t *g)
{
	return (1ull << size_below(g->m.sizes, 31));
}

/* A page-aligned VA in window wi, at an alignment worth testing. */
static uint64_t
pick_va(gen_t *g, const window_t *wi)
{
	uint64_t va, off;
	unsigned r = (unsigned)below(g, 100), k;

	if (r < 30 && g->nhot > 0) {
		va = g->hot[below(g, (uint64_t)g->nhot)];
		if (va >= wi->base && va - wi->base < wi->size) {
			if (chance(g, 30))
				va += (below(g, 5) - 2) * PG;
			else if (chance(g, 20))
				va += (below(g, 3) - 1) * 2 * MIB;
			if (va >= wi->base && va - wi->base < wi->size)
				return (va);
		}
	}
	if (chance(g, 60))
		off = wi->focus - wi->base + below(g, 64 * MIB);
	else
		off = below(g, wi->size);
	r = (unsigned)below(g, 100);
	if (r < 25)
		k = 12;
	else if (r < 50)
		k = g->md->is32 ? 22 : 21;
	else if (r < 75 && g->md->hi_first != 0)
		k = 30;
	else
		k = 12 + (unsigned)below(g, 18);
	off &= ~((1ull << k) - 1);
	return (wi->base + off);
}

/* A length from va that stays inside window wi. */
static uint64_t
pick_len(gen_t *g, const window_t *wi, uint64_t va)
{
	uint64_t big = g->md->is32 ? 4 * MIB : 2 * MIB, len, room;
	unsigned r = (unsigned)below(g, 100);

	room = wi->base + (wi->size - 1) - va + 1;	/* may be 2^64 - va */
	if (r < 25) {
		len = (1 + below(g, 16)) * PG;
	} else if (r < 50) {
		len = (1 + below(g, 4)) * big;
		if (chance(g, 50))
			len += below(g, 512) * PG;
		else if (chance(g, 50) && len > big)
			len -= below(g, 512) * PG;
	} else if (r < 80 && g->md->hi_first != 0) {
		len = (1 + below(g, 3)) * GIB;
		if (chance(g, 50))
			len += below(g, 512) * (chance(g, 50) ? PG : big);
	} else if (r < 88) {
		len = room;	/* to the top, the hole or 4 GiB, often */
		if (len > 512 * MIB && chance(g, 50))
			len = room & (big - 1) ? room & (big - 1) : big;
	} else {
		uint64_t h = g->nhot ? g->hot[below(g, (uint64_t)g->nhot)] : 0;

		if (h > va && h - va <= room)
			len = h - va;
		else
			len = (1 + below(g, 64)) * PG;
	}
	if (len > room)
		len = room;
	return (len);
}

/* A physical address for a map of len bytes at va. */
static uint64_t
pick_pa(gen_t *g, uint64_t va, uint64_t len)
{
	const mdesc_t *md = g->md;
	uint64_t lim = md->is32 && !chance(g, g->want_fail ? 40 : 10) ?
	    4 * GIB : md->pa_limit;
	uint64_t L = largest(g), pa;
	unsigned r = (unsigned)below(g, 100);

	if (len >= lim)
		return (0);
	if (r < 40) {
		/* congruent with va: large pages are possible */
		pa = below(g, lim / L) * L + (va & (L - 1));
	} else if (r < 70) {
		unsigned k = 12 + (unsigned)below(g, 19);

		pa = below(g, lim) & ~((1ull << k) - 1);
	} else if (r < 85) {
		pa = g->next_pa;		/* continue the previous map */
	} else {
		pa = (lim - len - below(g, 4) * L) & ~(PG - 1);
		if (chance(g, 50))
			pa = (pa & ~(L - 1)) + (va & (L - 1));
	}
	if (pa >= lim || lim - pa < len)
		pa = (lim - len) & ~(L - 1);
	return (pa);
}

/* Flags of a map: each with some probability. */
static unsigned
pick_attr(gen_t *g, unsigned pct)
{
	static const unsigned all[] = { A_W, A_X, A_U, A_G, A_PWT, A_PCD,
	    A_PAT };
	unsigned a = 0;

	for (size_t i = 0; i < sizeof (all) / sizeof (all[0]); i++)
		if (chance(g, pct))
			a |= all[i];
	return (a);
}

/*
 * A deliberately bad statement (only in specs meant to fail): forced
 * page sizes that do not fit or do not exist, ranges past the hole or
 * 4 GiB, physical addresses past the width, 4 KiB pages above 4 GiB in
 * 32-bit paging, cutting into a 4 MiB page above 4 GiB, zero lengths,
 * misalignment.
 */
static void
mutate(gen_t *g, stmt_t *st)
{
	const mdesc_t *md = g->md;

	if (md->is32 && chance(g, 40)) {
		/* cut into a PSE-36 page (4 MiB above 4 GiB) */
		for (size_t i = 0; i < g->m.n; i++) {
			const run_t *r = &g->m.r[i];

			if (r->shift != 22 || r->pa < 4 * GIB || chance(g, 50))
				continue;
			st->kind = chance(g, 50) ? K_UNMAP : K_PROTECT;
			st->va = r->va + (1 + below(g, 1023)) * PG;
			st->len = (1 + below(g, 8)) * PG;
			return;
		}
	}
	switch (below(g, 7)) {
	case 0:
		st->kind = K_MAP;
		st->force = chance(g, 50) ? 21 : 22;
		if (chance(g, 50))
			st->va += PG;
		break;
	case 1:
		st->va = md->lo_last + 1 - PG;
		st->len = 2 * PG;
		break;
	case 2:
		st->kind = K_MAP;
		st->pa = md->pa_limit - PG;
		st->len = 2 * PG;
		break;
	case 3:
		st->kind = K_MAP;
		st->force = 30;
		break;
	case 4:
		st->len = 0;
		break;
	case 5:
		st->kind = K_MAP;
		st->pa = 4 * GIB + below(g, 1024) * PG;
		st->len = PG * (1 + below(g, 4));
		st->force = 0;
		break;
	default:
		st->va |= 0x800;
		break;
	}
}

/* Write statement st as a line of the spec. */
static void
emit(gen_t *g, const stmt_t *st)
{
	static const struct { unsigned a; const char *n; } fl[] = {
		{ A_W, "w" }, { A_X, "x" }, { A_U, "u" }, { A_G, "g" },
		{ A_PWT, "pwt" }, { A_PCD, "pcd" }, { A_PAT, "pat" },
	};
	char b1[40], b2[40], b3[40];

	if (chance(g, 5)) {
		out(&g->t, chance(g, 50) ? "\n" : "# statement %d\n",
		    g->nstmts + 1);
		g->line++;
	}
	switch (st->kind) {
	case K_MAP:
		out(&g->t, "map %s %s %s", num(g, st->va, b1, sizeof (b1)),
		    num(g, st->pa, b2, sizeof (b2)),
		    num(g, st->len, b3, sizeof (b3)));
		break;
	case K_UNMAP:
		out(&g->t, "unmap %s %s", num(g, st->va, b1, sizeof (b1)),
		    num(g, st->len, b3, sizeof (b3)));
		break;
	default:
		out(&g->t, "protect %s %s", num(g, st->va, b1, sizeof (b1)),
		    num(g, st->len, b3, sizeof (b3)));
		break;
	}
	if (g->md->nested == 2) {
		/*
		 * EPT: readable always, w and x as drawn; the x86 cache bits
		 * pick a memory type and G stands for ignore-PAT (U, the
		 * user-execute right, needs MBEC: left out).
		 */
		if (st->attr & A_W)
			out(&g->t, " w");
		if (st->attr & A_X)
			out(&g->t, " x");
		if (st->kind == K_MAP && (st->attr & A_G))
			out(&g->t, " ipat");
		if (st->kind == K_MAP && (st->attr & (A_PWT | A_PCD | A_PAT)))
			out(&g->t, " mt=%s", (st->attr & A_PCD) ? "uc" :
			    (st->attr & A_PWT) ? "wt" : "wc");
	} else {
		for (size_t i = 0; i < sizeof (fl) / sizeof (fl[0]); i++)
			if (st->attr & fl[i].a)
				out(&g->t, " %s", fl[i].n);
	}
	if (st->force != 0)
		out(&g->t, " page=%s", size_name(st->force));
	out(&g->t, chance(g, 5) ? "\t# trailing comment\n" : "\n");
	g->line++;
	g->nstmts++;
}

/* A random statement over the model's current state. */
static void
gen_stmt(gen_t *g, stmt_t *st, int first)
{
	const window_t *wi = &g->win[below(g, (uint64_t)g->nwin)];
	unsigned r = (unsigned)below(g, 100);

	memset(st, 0, sizeof (*st));
	st->kind = first || r < 50 ? K_MAP : r < 75 ? K_UNMAP : K_PROTECT;
	st->va = pick_va(g, wi);
	st->len = pick_len(g, wi, st->va);
	if (st->kind == K_PROTECT) {
		st->attr = pick_attr(g, 50) & A_PERM;
		return;
	}
	if (st->kind == K_UNMAP)
		return;
	st->attr = pick_attr(g, 35);
	st->pa = pick_pa(g, st->va, st->len);
	if (g->md->hi_first != 0 && chance(g, 10)) {
		/* a direct map: whole gigabytes, mostly 1 GiB pages */
		st->va = wi->base + below(g, wi->size / GIB - 2) * GIB;
		st->pa = below(g, 64) * GIB + (chance(g, 20) ? 2 * MIB : 0);
		st->len = (1 + below(g, 2)) * GIB + (chance(g, 30) ?
		    below(g, 512) * 2 * MIB : 0);
	}
	if (g->md->is32 && st->pa >= 4 * GIB && chance(g, 80)) {
		/* PSE-36: above 4 GiB only 4 MiB pages work; align for them */
		uint64_t end;

		st->va &= ~(4 * MIB - 1);
		st->pa &= ~(4 * MIB - 1);
		st->len = (st->len + 4 * MIB - 1) & ~(4 * MIB - 1);
		end = wi->base + (wi->size - 1) - st->va + 1;
		if (st->len > end)
			st->len = end & ~(4 * MIB - 1);
	}
	if (chance(g, 15)) {
		/* force a permitted size: align everything to it */
		unsigned s = 0;
		uint64_t fs, end;

		while (s == 0) {
			unsigned c = 12 + (unsigned)below(g, 19);

			if (g->m.sizes & (1u << c))
				s = c;
		}
		fs = 1ull << s;
		st->force = s;
		st->va &= ~(fs - 1);
		st->pa &= ~(fs - 1);
		if (st->va < wi->base)
			st->va = wi->base;
		end = wi->base + (wi->size - 1) - st->va + 1;
		st->len = (st->len + fs - 1) & ~(fs - 1);
		if (st->len > end)
			st->len = end & ~(fs - 1);
		if (s == 12 && st->len > 4096 * PG)
			st->len = (1 + below(g, 4096)) * PG;
	}
}

/*
 * Generate one spec into g->t: mode, maybe pagesizes, pools, then
 * statements applied to g->m as they are chosen.  Sets g->fail_line when
 * the spec is meant to end in a failing statement.
 */
static void
gen_spec(gen_t *g, const mdesc_t *md, uint64_t seed, unsigned mi)
{
	unsigned sizes = md->sizes;
	char b1[40], b2[40];
	model_t snap;
	int n, stop = 0;

	g->rng = seed * 0x100000001b3ull + mi + 1;
	(void) rnd(g);
	g->md = md;
	g->nhot = 0;
	g->line = 0;
	g->nstmts = 0;
	g->fail_line = 0;
	g->fail_why = NULL;
	g->t.len = 0;
	out(&g->t, "# random spec: mode %s seed 0x%" PRIx64 "\n", md->name,
	    seed);
	g->line++;
	if (!chance(g, 10)) {
		out(&g->t, "mode %s\n", md->name);
		g->line++;
	} else if (strcmp(md->name, "4level") != 0) {
		out(&g->t, "mode %s\n", md->name);	/* 4level is default */
		g->line++;
	}
	if (md->nested == 2 && chance(g, 50)) {
		/* EPT: accessed and dirty flags on in the EPTP */
		out(&g->t, "ept ad\n");
		g->line++;
	}
	if (chance(g, 30)) {
		unsigned r = (unsigned)below(g, 100);

		/* a subset that has 4k; rarely 4k 1g, which names no CPU */
		if (r < 25)
			sizes = S_4K;
		else if (md->sizes & S_1G)
			sizes = r < 50 ? (S_4K | S_2M) : r < 55 ?
			    (S_4K | S_1G) : md->sizes;
		out(&g->t, "pagesizes");
		for (unsigned s = 12; s < 31; s++)
			if (sizes & (1u << s))
				out(&g->t, " %s", size_name(s));
		out(&g->t, "\n");
		g->line++;
		if ((sizes & S_1G) && !(sizes & S_2M)) {
			g->fail_line = g->line;
			g->fail_why = "1g without 2m";
		}
	}
	model_fini(&g->m);
	model_init(&g->m, md, sizes);
	{
		uint64_t pb = (1 + below(g, 255)) * MIB + below(g, 256) * PG;

		out(&g->t, "pool %s %s\n", num(g, pb, b1, sizeof (b1)),
		    num(g, POOL_LEN, b2, sizeof (b2)));
		g->line++;
		if (chance(g, 20)) {
			pb = 512 * MIB + below(g, 1024) * MIB;
			out(&g->t, "pool %s %s\n", num(g, pb, b1, sizeof (b1)),
			    num(g, 16 * MIB, b2, sizeof (b2)));
			g->line++;
		}
	}
	pick_windows(g);
	g->next_pa = 0;
	g->want_fail = chance(g, FAIL_PCT);
	n = MIN_STMTS + (int)below(g, MAX_STMTS - MIN_STMTS + 1);
	memset(&snap, 0, sizeof (snap));
	while (g->nstmts < n && !stop) {
		int tries;

		for (tries = 0; tries < MAX_TRIES; tries++) {
			stmt_t st;
			const char *why;
			int rc;

			gen_stmt(g, &st, g->nstmts < 3);
			if (g->want_fail && chance(g, 10))
				mutate(g, &st);
			model_copy(&snap, &g->m);
			rc = model_apply(&g->m, &st, &why);
			if (rc == 0 && (g->m.new4k > MAX_4K_PER_MAP ||
			    model_pages(&g->m, 12) > MAX_4K_TOTAL ||
			    g->m.n > MAX_RUNS ||
			    model_tables(&g->m) > MAX_TABLES))
				rc = 1;
			if (rc == 0 || (rc < 0 && g->want_fail)) {
				emit(g, &st);
				hot_add(g, st.va);
				hot_add(g, st.va + st.len);
				if (st.kind == K_MAP)
					g->next_pa = st.pa + st.len;
				if (rc < 0) {
					stop = 1;
					if (g->fail_line == 0) {
						g->fail_line = g->line;
						g->fail_why = why;
					}
				}
				break;
			}
			model_copy(&g->m, &snap);
		}
		if (tries == MAX_TRIES)
			break;
	}
	model_fini(&snap);
	/* statements after a failing one are never applied */
	if (stop && chance(g, 50)) {
		out(&g->t, "unmap 0 4k\n");
		g->line++;
	}
}

/* ------------------------------------------------------------------ */
/* Running the command                                                 */
/* ------------------------------------------------------------------ */

/*
 * Run argv with stdout and stderr to files; its exit status, or 128 +
 * signal if it died of one (-1 if it could not run).
 */
static int
run(char *const argv[], const char *outp, const char *errp)
{
	pid_t pid;
	int st;

	(void) fflush(stdout);
	(void) fflush(stderr);
	if ((pid = fork()) < 0)
		return (-1);
	if (pid == 0) {
		int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		(void) close(o);
		(void) close(e);
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return (-1);
	if (WIFEXITED(st))
		return (WEXITSTATUS(st));
	return (WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1);
}

/* Read a file into lines (without their newlines). */
static void
read_lines(const char *path, lines_t *l)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL)
		return;
	while ((n = getline(&buf, &cap, f)) >= 0) {
		if (n > 0 && buf[n - 1] == '\n')
			buf[n - 1] = '\0';
		lines_add(l, buf);
	}
	free(buf);
	(void) fclose(f);
}

/* Write t to path (created or truncated), or die. */
static void
write_file(const char *path, const text_t *t)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(t->s, 1, t->len, f) != t->len ||
	    fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
}

/* Print a file indented, for a failure report. */
static void
show_file(const char *title, const char *path)
{
	lines_t l = { 0 };

	read_lines(path, &l);
	(void) printf("  --- %s (%s) ---\n", title, path);
	for (size_t i = 0; i < l.n && i < 40; i++)
		(void) printf("  | %s\n", l.v[i]);
	if (l.n > 40)
		(void) printf("  | ... (%zu lines)\n", l.n);
	lines_free(&l);
}

/* The index of the first line where model and dump differ, or -1. */
static long
first_diff(const lines_t *want, const lines_t *got)
{
	size_t i = 0;

	while (i < want->n && i < got->n && strcmp(want->v[i], got->v[i]) == 0)
		i++;
	return (i == want->n && i == got->n ? -1 : (long)i);
}

/*
 * Print the differences from line i on, diff-style (" " context, "-"
 * model, "+" dump), at most SHOW_DIFFS differing lines.
 */
static void
show_diff(const lines_t *want, const lines_t *got, size_t i)
{
	size_t n = want->n > got->n ? want->n : got->n, shown = 0;

	(void) printf("  first difference at line %zu (model %zu lines, dump "
	    "%zu lines); - model, + dump:\n", i + 1, want->n, got->n);
	for (size_t k = i >= 2 ? i - 2 : 0; k < i; k++)
		(void) printf("    %s\n", want->v[k]);
	for (; i < n && shown < SHOW_DIFFS; i++) {
		const char *w = i < want->n ? want->v[i] : NULL;
		const char *g = i < got->n ? got->v[i] : NULL;

		if (w != NULL && g != NULL && strcmp(w, g) == 0) {
			(void) printf("    %s\n", w);
			continue;
		}
		if (w != NULL)
			(void) printf("  - %s\n", w);
		if (g != NULL)
			(void) printf("  + %s\n", g);
		shown++;
	}
}

typedef struct stats {
	unsigned	specs;
	unsigned	pass;
	unsigned	fail;
	unsigned	crash;		/* build or dump died of a signal */
	unsigned	expect_fail;
	unsigned	stmts;
	uint64_t	lines;
	uint64_t	splits[31];
	uint64_t	pages[31];
	uint64_t	high;		/* pages at or above 4 GiB physical */
} stats_t;

typedef struct ctx {
	const char	*htable;
	char		dir[256];
	int		verbose;
	int		keep;		/* keep every spec and image */
	int		kept;
} ctx_t;

/*
 * Build, dump and compare one generated spec (already in g).  0 on
 * success, -1 on failure (reported, spec kept).  A failure where build
 * or dump died of a signal counts as a crash.
 */
static int
check_spec(ctx_t *c, gen_t *g, uint64_t seed, stats_t *s)
{
	const char *mode = g->md->name;
	char spec[400], img[400], o[400], e[400], cr3s[40], expect[40];
	char *av[8];
	lines_t want = { 0 }, got = { 0 }, so = { 0 };
	unsigned long long cr3 = 0, frames = 0;
	char mname[16];
	struct stat sb;
	long d;
	int rc, bad = 0, crashed = 0;

	(void) snprintf(spec, sizeof (spec), "%s/%s-0x%" PRIx64 ".spec",
	    c->dir, mode, seed);
	(void) snprintf(img, sizeof (img), "%s/%s-0x%" PRIx64 ".img", c->dir,
	    mode, seed);
	(void) snprintf(o, sizeof (o), "%s/out", c->dir);
	(void) snprintf(e, sizeof (e), "%s/err", c->dir);
	write_file(spec, &g->t);
	(void) unlink(img);

	av[0] = (char *)c->htable;
	av[1] = "build";
	av[2] = spec;
	av[3] = "-o";
	av[4] = img;
	av[5] = NULL;
	rc = run(av, o, e);
	crashed |= rc >= 128;
	if (g->fail_line != 0) {
		/* expected: exit 2, "SPEC:LINE: ...", no image */
		lines_t el = { 0 };
		int found = 0;

		(void) snprintf(expect, sizeof (expect), ":%d: ",
		    g->fail_line);
		read_lines(e, &el);
		for (size_t i = 0; i < el.n; i++)
			if (strncmp(el.v[i], spec, strlen(spec)) == 0 &&
			    strncmp(el.v[i] + strlen(spec), expect,
			    strlen(expect)) == 0)
				found = 1;
		lines_free(&el);
		if (rc != 2 || !found || stat(img, &sb) == 0) {
			(void) printf("[FAIL] dump_model %s seed=0x%" PRIx64
			    ": the model expects exit 2 at line %d (%s); "
			    "build exited %d%s%s\n", mode, seed, g->fail_line,
			    g->fail_why, rc, found ? "" : ", no such message",
			    stat(img, &sb) == 0 ? ", image written" : "");
			show_file("build stderr", e);
			bad = 1;
		}
		s->expect_fail++;
		goto done;
	}
	if (rc != 0) {
		(void) printf("[FAIL] dump_model %s seed=0x%" PRIx64 ": build "
		    "exited %d\n", mode, seed, rc);
		show_file("build stderr", e);
		bad = 1;
		goto done;
	}
	read_lines(o, &so);
	for (size_t i = 0; i < so.n; i++)
		(void) sscanf(so.v[i], "frames: %llu", &frames);
	if (so.n == 0 || sscanf(so.v[so.n - 1], "mode=%15s cr3=0x%llx",
	    mname, &cr3) != 2 || strcmp(mname, mode) != 0) {
		(void) printf("[FAIL] dump_model %s seed=0x%" PRIx64 ": "
		    "build's last line is not 'mode=%s cr3=0xHEX'\n", mode,
		    seed, mode);
		show_file("build stdout", o);
		bad = 1;
		goto done;
	}
	/* sparse: only the table frames are allocated */
	if (stat(img, &sb) != 0 || frames == 0 ||
	    (uint64_t)sb.st_blocks * 512 > 2 * frames * PG + MIB ||
	    (uint64_t)sb.st_size > 2 * GIB) {
		(void) printf("[FAIL] dump_model %s seed=0x%" PRIx64 ": image "
		    "%s: %llu frames, %llu bytes allocated, size %llu\n", mode,
		    seed, img, frames, (unsigned long long)sb.st_blocks * 512,
		    (unsigned long long)sb.st_size);
		bad = 1;
		goto done;
	}
	(void) snprintf(cr3s, sizeof (cr3s), "0x%llx", cr3);
	av[1] = "dump";
	av[2] = img;
	av[3] = "--cr3";
	av[4] = cr3s;
	av[5] = "--mode";
	av[6] = (char *)mode;
	av[7] = NULL;
	rc = run(av, o, e);
	crashed |= rc >= 128;
	if (rc != 0 || (stat(e, &sb) == 0 && sb.st_size != 0)) {
		/* build's own tables: no frame beyond the image, no fault */
		(void) printf("[FAIL] dump_model %s seed=0x%" PRIx64 ": dump "
		    "exited %d%s\n", mode, seed, rc, rc == 0 ?
		    " with warnings" : "");
		show_file("dump stderr", e);
		bad = 1;
		goto done;
	}
	model_dump(&g->m, &want);
	read_lines(o, &got);
	s->lines += want.n;
	if ((d = first_diff(&want, &got)) >= 0) {
		(void) printf("[FAIL] dump_model %s seed=0x%" PRIx64 ": dump "
		    "differs from the model\n", mode, seed);
		show_diff(&want, &got, (size_t)d);
		bad = 1;
	}
done:
	s->specs++;
	s->stmts += (unsigned)g->nstmts;
	if (bad) {
		if (crashed)
			s->crash++;
		else
			s->fail++;
		c->kept++;
		(void) printf("  spec kept: %s\n", spec);
		(void) printf("  rerun: HT_SEED=0x%" PRIx64 " HT_COUNT=1 "
		    "HT_MODES=%s test_dump_model %s\n", seed, mode, c->htable);
		show_file("spec", spec);
	} else {
		s->pass++;
		if (!c->keep) {
			(void) unlink(spec);
			(void) unlink(img);
		}
		for (unsigned k = 0; k < 31; k++) {
			s->splits[k] += g->m.splits[k];
			s->pages[k] += model_pages(&g->m, k);
		}
		for (size_t k = 0; k < g->m.n; k++)
			if (g->m.r[k].pa >= 4 * GIB)
				s->high += ((g->m.r[k].last - g->m.r[k].va) >>
				    g->m.r[k].shift) + 1;
	}
	if (c->verbose)
		(void) printf("%s %s seed=0x%" PRIx64 " stmts=%d lines=%zu%s%s"
		    "\n", bad ? "FAIL" : "ok  ", mode, seed, g->nstmts, want.n,
		    g->fail_line ? " expected failure: " : "",
		    g->fail_line ? g->fail_why : "");
	lines_free(&want);
	lines_free(&got);
	lines_free(&so);
	return (bad ? -1 : 0);
}

/* An unsigned number from the environment, or def. */
static uint64_t
env_num(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long n;

	if (v == NULL || *v == '\0')
		return (def);
	errno = 0;
	n = strtoull(v, &end, 0);
	if (errno != 0 || *end != '\0')
		die("%s=%s: not a number", name, v);
	return (n);
}

/*
 * usage: test_dump_model HTABLE.  Every mode (or those in HT_MODES), every
 * seed; the last line is the synthesis.  Exit 0 iff every spec passed.
 */
int
main(int argc, char **argv)
{
	ctx_t c = { 0 };
	gen_t g;
	stats_t tot = { 0 };
	uint64_t base = env_num("HT_SEED", DEFAULT_SEED);
	uint64_t count = env_num("HT_COUNT", DEFAULT_COUNT);
	const char *only = getenv("HT_MODES"), *tmp = getenv("TMPDIR");

	if (argc == 4 && strcmp(argv[1], "--emit") == 0) {
		/*
		 * The generator alone, for the hardware tests: one spec of
		 * MODE from SEED on stdout; exit 3 (and no spec) when that
		 * seed makes a spec meant to fail.
		 */
		memset(&g, 0, sizeof (g));
		for (unsigned mi = 0; mi < NMODES; mi++) {
			if (strcmp(modes[mi].name, argv[2]) != 0)
				continue;
			int rc = 3;

			gen_spec(&g, &modes[mi], strtoull(argv[3], NULL, 0),
			    mi);
			if (g.fail_line == 0) {
				(void) fwrite(g.t.s, 1, g.t.len, stdout);
				rc = 0;
			}
			/* freed, so that the generator runs under LSan too */
			model_fini(&g.m);
			free(g.t.s);
			return (rc);
		}
		(void) fprintf(stderr, "test_dump_model: no mode '%s'\n",
		    argv[2]);
		return (2);
	}
	if (argc != 2) {
		(void) fprintf(stderr, "usage: test_dump_model HTABLE\n"
		    "       test_dump_model --emit MODE SEED\n");
		return (2);
	}
	c.htable = argv[1];
	c.verbose = env_num("HT_VERBOSE", 0) != 0;
	c.keep = env_num("HT_KEEP", 0) != 0;
	(void) snprintf(c.dir, sizeof (c.dir), "%s/htable-dump-model.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(c.dir) == NULL)
		die("mkdtemp %s: %s", c.dir, strerror(errno));
	memset(&g, 0, sizeof (g));
	(void) printf("dump_model: base seed 0x%" PRIx64 ", %" PRIu64
	    " specs per mode, work dir %s\n", base, count, c.dir);
	for (unsigned mi = 0; mi < NMODES; mi++) {
		const mdesc_t *md = &modes[mi];
		stats_t s = { 0 };

		if (md->nested)
			continue;

		if (only != NULL && *only != '\0') {
			const char *p = strstr(only, md->name);
			size_t l = strlen(md->name);

			if (p == NULL || (p[l] != '\0' && p[l] != ','))
				continue;
		}
		for (uint64_t i = 0; i < count; i++) {
			gen_spec(&g, md, base + i, mi);
			(void) check_spec(&c, &g, base + i, &s);
		}
		(void) printf("dump_model %s: %u specs, %u passed, %u failed, "
		    "%u crashed; %u statements, %u expected build failures, "
		    "%" PRIu64 " dump lines; pages at the end 4k:%" PRIu64
		    " 2m:%" PRIu64 " 4m:%" PRIu64 " 1g:%" PRIu64 " (%" PRIu64
		    " at pa >= 4 GiB); splits 2m:%" PRIu64 " 4m:%" PRIu64
		    " 1g:%" PRIu64 "\n", md->name, s.specs, s.pass, s.fail,
		    s.crash, s.stmts, s.expect_fail, s.lines, s.pages[12],
		    s.pages[21], s.pages[22], s.pages[30], s.high, s.splits[21],
		    s.splits[22], s.splits[30]);
		tot.specs += s.specs;
		tot.pass += s.pass;
		tot.fail += s.fail;
		tot.crash += s.crash;
	}
	model_fini(&g.m);
	free(g.t.s);
	{
		char p[400];

		(void) snprintf(p, sizeof (p), "%s/out", c.dir);
		(void) unlink(p);
		(void) snprintf(p, sizeof (p), "%s/err", c.dir);
		(void) unlink(p);
	}
	if (c.kept == 0 && !c.keep)
		(void) rmdir(c.dir);
	else
		(void) printf("dump_model: specs kept in %s\n", c.dir);
	(void) printf("[====] Synthesis: Tested: %u | Passing: %u | Failing: "
	    "%u | Crashing: %u \n", tot.specs, tot.pass, tot.fail, tot.crash);
	return (tot.fail == 0 && tot.crash == 0 ? 0 : 1);
}
