/*
 * xlat_agree.c - agreement of `htable dump` with libaddrxlat, the page-
 * table walker of libkdumpfile: an independent implementation of the same
 * architecture, so that a bug htable's walker shares with its own tests
 * (they come from the same reading of the manuals) shows up here.
 *
 *	xlat_agree [-v] IMAGE MODE CR3 < JSON
 *
 * JSON is what `htable dump IMAGE --cr3 CR3 --mode MODE --format json`
 * printed (one range per line: va, last, pa, page, pages).  MODE is
 * 32bit, pae, 4level, 5level, npt4 or npt5 (AMD nested tables have the
 * 4- and 5-level format; their addresses are unsigned, so they are sign-
 * extended for libaddrxlat, which selects the same entries).  IMAGE is a
 * raw physical image (read with pread: offset = physical address) or a
 * dump file (ELF core, kdump; read through libkdumpfile), told apart by
 * their magic as htable does.  Pages beyond a raw image, or that a dump
 * does not hold, read as zeros, as they do in htable.
 *
 * Every address is translated by libaddrxlat (an ADDRXLAT_PGT method with
 * the mode's PTE format and field widths, rooted at CR3 as the mode masks
 * it, reading memory through a get-page callback), one step at a time so
 * that the level of the leaf, hence the page size, and the entries read
 * are known.  Checks:
 *  - in every range, the first and last byte of each page (of a bounded
 *    sample of pages when the range has more than SMALL_RANGE: its first
 *    and last pages, pages spread over it, and both sides of every
 *    boundary of a larger page or table span, up to a bound per span)
 *    translate, to the PA htable printed, through a leaf of the page
 *    size htable printed; and no entry on the way has a bit that the
 *    Intel SDM (vol. 3, ch. 4) says is reserved;
 *  - addresses in no range (each gap's ends, the pages next to them, the
 *    aligned addresses of every span near the ends, random ones) do not
 *    translate: ADDRXLAT_ERR_NOTPRESENT;
 *  - non-canonical addresses (or above the mode's width) are refused
 *    (ADDRXLAT_ERR_INVALID);
 *  - the census: every entry of every table libaddrxlat reaches from the
 *    root (the first address each entry maps is translated; where the
 *    walk stops tells a hole, a leaf or a link to follow), so each leaf
 *    libaddrxlat finds must be in one of htable's ranges, at the same PA
 *    with the same page size, and each page of htable's ranges must be
 *    among those leaves: exact agreement on the whole space, holes
 *    included.  Past CENSUS_MAX walks it stops and says so (the other
 *    checks still run).
 *
 * One known class is not a disagreement: libaddrxlat checks no reserved
 * bit (x86_64.c and ia32.c of libkdumpfile 0.5.1 test only P and PS, and
 * treat PS in a PML4E, PML5E or PAE PDPTE as no leaf but a link), so an
 * address that htable leaves unmapped because a reserved bit on its walk
 * makes the MMU fault translates in libaddrxlat.  Such an address or leaf
 * counts as "lenient" (listed with -v; the census counts them per class
 * of bit) when, and only when, an entry that libaddrxlat read on the way
 * has an SDM-reserved bit; any other hole that translates is a
 * disagreement.
 *
 * Prints each disagreement (the first MAX_SHOWN of each kind) and a
 * summary line; exit status 0 when all agree, 1 on a disagreement, 2 on
 * bad usage, input or image.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libkdumpfile/addrxlat.h>
#include <libkdumpfile/kdumpfile.h>

#define	PAGE		4096ull
#define	SMALL_RANGE	64	/* ranges up to this many pages: every page */
#define	SPREAD		32	/* pages spread over a larger range */
#define	PER_SPAN	16	/* boundaries checked per span and range */
#define	GAP_RANDOM	8	/* random addresses per gap */
#define	MAX_SHOWN	20	/* disagreements printed per kind */
#define	MAX_LEVELS	5
#define	CENSUS_MAX	(1u << 22)	/* walks of the census at most */

#define	PG_P		0x1ull
#define	PG_PS		0x80ull

/* Bits lo..hi (inclusive) set; empty when lo > hi. */
#define	BITS(lo, hi)	((lo) > (hi) ? 0ull : \
	((~0ull >> (63 - (hi))) & ~((1ull << (lo)) - 1)))

/* A paging mode: its libaddrxlat form and its address space. */
typedef struct mode {
	const char	*name;
	addrxlat_pte_format_t fmt;
	unsigned short	nfields;	/* libaddrxlat: offset field too */
	unsigned short	fieldsz[MAX_LEVELS + 1];
	int		levels;
	int		va_bits;	/* width of the address space */
	int		canonical;	/* two halves, sign-extended */
	int		nested;		/* unsigned: sign-extend for xlat */
	uint64_t	root_mask;	/* CR3 bits that address the root */
	int		pa_bits;	/* MAXPHYADDR (htable's default) */
} pmode_t;

static const pmode_t modes[] = {
	{ "32bit", ADDRXLAT_PTE_IA32, 3, { 12, 10, 10 }, 2, 32, 0, 0,
	    0xfffff000ull, 40 },
	{ "pae", ADDRXLAT_PTE_IA32_PAE, 4, { 12, 9, 9, 2 }, 3, 32, 0, 0,
	    0xffffffe0ull, 52 },
	{ "4level", ADDRXLAT_PTE_X86_64, 5, { 12, 9, 9, 9, 9 }, 4, 48, 1, 0,
	    BITS(12, 51), 52 },
	{ "5level", ADDRXLAT_PTE_X86_64, 6, { 12, 9, 9, 9, 9, 9 }, 5, 57,
	    1, 0, BITS(12, 51), 52 },
	{ "npt4", ADDRXLAT_PTE_X86_64, 5, { 12, 9, 9, 9, 9 }, 4, 48, 0, 1,
	    BITS(12, 51), 52 },
	{ "npt5", ADDRXLAT_PTE_X86_64, 6, { 12, 9, 9, 9, 9, 9 }, 5, 57,
	    0, 1, BITS(12, 51), 52 },
};

/* One range of htable's dump. */
typedef struct range {
	uint64_t	va;
	uint64_t	last;
	uint64_t	pa;
	uint64_t	psize;
	uint64_t	pages;
} range_t;

/* The image, and how many page reads found nothing (read as zeros). */
typedef struct image {
	int		fd;
	kdump_ctx_t	*kd;		/* NULL: a raw image */
	uint64_t	zero_reads;
} image_t;

/* What libaddrxlat made of one address. */
typedef struct walk {
	addrxlat_status	st;
	uint64_t	pa;
	int		leaf;		/* level of the leaf (1: 4 KiB) */
	int		top, bottom;	/* levels whose entry was read */
	uint64_t	pte[MAX_LEVELS + 1];
	char		err[160];
} walk_t;

/* Counters, and what a check needs. */
typedef struct run {
	const pmode_t	*m;
	addrxlat_ctx_t	*ctx;
	addrxlat_meth_t	meth;
	int		verbose;
	uint64_t	rng;
	uint64_t	leaf_ok, leaf_n;
	uint64_t	hole_ok, hole_n;
	uint64_t	nc_ok, nc_n;
	uint64_t	lenient;
	unsigned	shown[5];	/* leaf, rsvd, hole, nc, census */
	/* the census: every leaf libaddrxlat finds in the tables */
	const range_t	*g;		/* htable's ranges, sorted */
	size_t		ng;
	uint64_t	*found;		/* per range: pages seen */
	uint64_t	c_walks, c_leaves, c_lenient, c_diff;
	uint64_t	c_class[4];	/* lenient leaves per rsvd_names */
	int		c_stopped;
} run_t;

/* splitmix64: the sample is the same on every run. */
static uint64_t
rnd(run_t *r)
{
	uint64_t z = (r->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31));
}

/* ------------------------------------------------------------------ */
/* memory                                                              */
/* ------------------------------------------------------------------ */

/*
 * Read the page at pa (aligned) into buf: zeros where the image has
 * nothing.  Counts the reads that found no data at all.
 */
static void
read_page(image_t *im, uint64_t pa, uint8_t *buf)
{
	size_t got = 0;

	if (im->kd != NULL) {
		size_t len = PAGE;

		if (kdump_read(im->kd, KDUMP_MACHPHYSADDR, pa, buf, &len) ==
		    KDUMP_OK)
			return;
		got = len < PAGE ? len : 0;
	} else if (pa <= (uint64_t)INT64_MAX - PAGE) {
		while (got < PAGE) {
			ssize_t n = pread(im->fd, buf + got, PAGE - got,
			    (off_t)(pa + got));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (got == PAGE)
			return;
	}
	memset(buf + got, 0, PAGE - got);
	if (got == 0)
		im->zero_reads++;
}

static void
put_page(const addrxlat_buffer_t *buf)
{
	free(buf->priv);
}

/* libaddrxlat's get-page callback: the image's page holding buf->addr. */
static addrxlat_status
get_page(const addrxlat_cb_t *cb, addrxlat_buffer_t *buf)
{
	uint8_t *p;

	if (buf->addr.as != ADDRXLAT_MACHPHYSADDR)
		return (ADDRXLAT_ERR_NOMETH);
	if ((p = malloc(PAGE)) == NULL)
		return (ADDRXLAT_ERR_NOMEM);
	buf->addr.addr &= ~(PAGE - 1);
	read_page(cb->priv, buf->addr.addr, p);
	buf->ptr = p;
	buf->size = PAGE;
	buf->byte_order = ADDRXLAT_LITTLE_ENDIAN;
	buf->put_page = put_page;
	buf->priv = p;
	return (ADDRXLAT_OK);
}

static unsigned long
read_caps(const addrxlat_cb_t *cb)
{
	(void) cb;
	return (ADDRXLAT_CAPS(ADDRXLAT_MACHPHYSADDR));
}

/*
 * Open IMAGE: a dump (by its magic, as htable tells them) through
 * libkdumpfile, anything else raw.  0, or -1 with a message printed.
 */
static int
image_open(image_t *im, const char *path)
{
	char magic[8] = { 0 };

	memset(im, 0, sizeof (*im));
	if ((im->fd = open(path, O_RDONLY)) < 0) {
		(void) fprintf(stderr, "xlat_agree: %s: %s\n", path,
		    strerror(errno));
		return (-1);
	}
	if (pread(im->fd, magic, sizeof (magic), 0) < 0)
		magic[0] = 0;
	if (memcmp(magic, "makedump", 8) == 0) {
		(void) fprintf(stderr, "xlat_agree: %s: a flattened "
		    "makedumpfile file: reassemble it (makedumpfile -R)\n",
		    path);
		return (-1);
	}
	if (memcmp(magic, "\177ELF", 4) != 0 &&
	    memcmp(magic, "KDUMP   ", 8) != 0 &&
	    memcmp(magic, "DISKDUMP", 8) != 0)
		return (0);
	if ((im->kd = kdump_new()) == NULL ||
	    kdump_open_fd(im->kd, im->fd) != KDUMP_OK) {
		(void) fprintf(stderr, "xlat_agree: %s: libkdumpfile: %s\n",
		    path, im->kd != NULL ? kdump_get_err(im->kd) : "no memory");
		return (-1);
	}
	return (0);
}

/* ------------------------------------------------------------------ */
/* translation                                                         */
/* ------------------------------------------------------------------ */

/* What one entry at level lvl maps (1: a 4 KiB page; 2: 2 or 4 MiB). */
static uint64_t
level_size(const pmode_t *m, int lvl)
{
	unsigned shift = m->fieldsz[0];
	int i;

	for (i = 1; i < lvl; i++)
		shift += m->fieldsz[i];
	return (1ull << shift);
}

/* va, sign-extended when the mode's space has two halves. */
static uint64_t
canon(const pmode_t *m, uint64_t va)
{
	if (m->canonical && ((va >> (m->va_bits - 1)) & 1))
		va |= ~0ull << m->va_bits;
	return (va);
}

/*
 * Translate va with libaddrxlat, one step at a time, into w: the status,
 * the PA, the level of the leaf and every entry read.
 */
static void
xlat(run_t *r, uint64_t va, walk_t *w)
{
	addrxlat_step_t step;
	uint64_t in = va;
	int vb = r->m->va_bits;

	memset(w, 0, sizeof (*w));
	if (r->m->nested && va < (1ull << vb) && (va >> (vb - 1)) != 0)
		in |= ~0ull << vb;
	memset(&step, 0, sizeof (step));
	step.ctx = r->ctx;
	step.sys = NULL;
	step.meth = &r->meth;
	w->st = addrxlat_launch(&step, in);
	while (w->st == ADDRXLAT_OK && step.remain > 0) {
		unsigned before = step.remain;

		w->st = addrxlat_step(&step);
		if (before >= 2) {
			/* this step read the entry at level before - 1 */
			if (w->top == 0)
				w->top = (int)before - 1;
			w->bottom = (int)before - 1;
			w->pte[before - 1] = step.raw.pte;
			if (w->st == ADDRXLAT_OK && step.remain == 1)
				w->leaf = (int)before - 1;
		}
	}
	if (w->st == ADDRXLAT_OK)
		w->pa = step.base.addr;
	else
		(void) snprintf(w->err, sizeof (w->err), "%s: %s",
		    addrxlat_strerror(w->st), addrxlat_ctx_get_err(r->ctx));
}

/*
 * The bits of entry e at level lvl (leaf: it maps a page) that the SDM
 * reserves in mode m with MAXPHYADDR m->pa_bits, and NX enabled (EFER.NXE,
 * as htable's modes assume).  Nonzero: the MMU faults on the entry.
 */
static uint64_t
reserved(const pmode_t *m, int lvl, uint64_t e, int leaf)
{
	uint64_t mask, hi;

	if (!(e & PG_P))
		return (0);
	switch (m->fmt) {
	case ADDRXLAT_PTE_IA32:
		/* 4 MiB page: PA bits 39:32 in 20:13, bit 21 reserved */
		if (lvl == 2 && (e & PG_PS))
			mask = BITS(13 + m->pa_bits - 32, 21);
		else
			mask = 0;
		return (e & mask);
	case ADDRXLAT_PTE_IA32_PAE:
		/* bits 62:M reserved in PAE (no ignored high bits) */
		hi = BITS(m->pa_bits, 62);
		if (lvl == 3)	/* PDPTE: 2:1, 8:5 and 63:M */
			mask = 0x6ull | BITS(5, 8) | BITS(m->pa_bits, 63);
		else if (lvl == 2 && leaf)
			mask = hi | BITS(13, 20);
		else
			mask = hi;
		return (e & mask);
	default:
		hi = BITS(m->pa_bits, 51);
		if (lvl >= 4)		/* PML4E, PML5E: PS reserved */
			mask = hi | PG_PS;
		else if (lvl == 3 && leaf)
			mask = hi | BITS(13, 29);
		else if (lvl == 2 && leaf)
			mask = hi | BITS(13, 20);
		else
			mask = hi;
		return (e & mask);
	}
}

/* The classes of reserved bits, for the report. */
static const char *const rsvd_names[] = {
	"PS in a PML4E/PML5E", "PAE PDPTE", "address bits >= MAXPHYADDR",
	"low bits of a large page's address"
};

/* The class of the reserved bits found at level lvl. */
static int
rsvd_class(const pmode_t *m, int lvl, uint64_t bits)
{
	if (m->fmt == ADDRXLAT_PTE_X86_64 && lvl >= 4 && (bits & PG_PS))
		return (0);
	if (m->fmt == ADDRXLAT_PTE_IA32_PAE && lvl == 3)
		return (1);
	if (lvl >= 2 && (bits & BITS(13, 29)) != 0)
		return (3);
	return (2);
}

/* The level of the first entry of w with a reserved bit, or 0. */
static int
walk_reserved(const run_t *r, const walk_t *w, uint64_t *bits)
{
	int lvl;

	for (lvl = w->top; lvl >= w->bottom && lvl >= 1; lvl--) {
		int leaf = lvl == w->leaf || lvl == 1;

		if ((*bits = reserved(r->m, lvl, w->pte[lvl], leaf)) != 0)
			return (lvl);
	}
	return (0);
}

/* The entries of a walk, top down, for a message. */
static const char *
walk_ptes(const walk_t *w, char *buf, size_t len)
{
	size_t n = 0;
	int lvl;

	buf[0] = 0;
	for (lvl = w->top; lvl >= w->bottom && lvl >= 1 && n < len; lvl--)
		n += (size_t)snprintf(buf + n, len - n, " L%d=0x%" PRIx64,
		    lvl, w->pte[lvl]);
	return (buf);
}

static void
show(run_t *r, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Print a disagreement (the first MAX_SHOWN of its kind). */
static void
show(run_t *r, int kind, const char *fmt, ...)
{
	va_list ap;

	if (r->shown[kind]++ >= MAX_SHOWN)
		return;
	va_start(ap, fmt);
	(void) vprintf(fmt, ap);
	va_end(ap);
}

/* va lies in range g: libaddrxlat must map it the same way. */
static void
check_leaf(run_t *r, const range_t *g, uint64_t va)
{
	uint64_t want = g->pa + (va - g->va), bits;
	char ptes[160];
	walk_t w;
	int lvl;

	r->leaf_n++;
	xlat(r, va, &w);
	if (w.st != ADDRXLAT_OK) {
		show(r, 0, "[DIFF] va 0x%" PRIx64 ": htable pa 0x%" PRIx64
		    " (%" PRIu64 "k page); libaddrxlat: %s\n", va, want,
		    g->psize >> 10, w.err);
		return;
	}
	if (w.pa != want || level_size(r->m, w.leaf) != g->psize) {
		show(r, 0, "[DIFF] va 0x%" PRIx64 ": htable pa 0x%" PRIx64
		    " (%" PRIu64 "k page); libaddrxlat pa 0x%" PRIx64
		    " (%" PRIu64 "k page);%s\n", va, want, g->psize >> 10,
		    w.pa, level_size(r->m, w.leaf) >> 10,
		    walk_ptes(&w, ptes, sizeof (ptes)));
		return;
	}
	if ((lvl = walk_reserved(r, &w, &bits)) != 0) {
		show(r, 1, "[DIFF] va 0x%" PRIx64 ": htable maps it, but the "
		    "level-%d entry has reserved bits 0x%" PRIx64 ";%s\n",
		    va, lvl, bits, walk_ptes(&w, ptes, sizeof (ptes)));
		return;
	}
	r->leaf_ok++;
}

/* va is in no range: libaddrxlat must not translate it. */
static void
check_hole(run_t *r, uint64_t va)
{
	uint64_t bits;
	char ptes[160];
	walk_t w;
	int lvl;

	r->hole_n++;
	xlat(r, va, &w);
	if (w.st == ADDRXLAT_ERR_NOTPRESENT) {
		r->hole_ok++;
		return;
	}
	if (w.st == ADDRXLAT_OK &&
	    (lvl = walk_reserved(r, &w, &bits)) != 0) {
		/* the documented class: libaddrxlat checks no reserved bit */
		r->lenient++;
		if (r->verbose)
			(void) printf("[LENIENT] va 0x%" PRIx64 ": libaddrxlat "
			    "pa 0x%" PRIx64 " through reserved bits 0x%"
			    PRIx64 " at level %d;%s\n", va, w.pa, bits, lvl,
			    walk_ptes(&w, ptes, sizeof (ptes)));
		return;
	}
	if (w.st == ADDRXLAT_OK)
		show(r, 2, "[DIFF] va 0x%" PRIx64 ": in no htable range; "
		    "libaddrxlat pa 0x%" PRIx64 " (%" PRIu64 "k page);%s\n",
		    va, w.pa, level_size(r->m, w.leaf) >> 10,
		    walk_ptes(&w, ptes, sizeof (ptes)));
	else
		show(r, 2, "[DIFF] va 0x%" PRIx64 ": in no htable range; "
		    "libaddrxlat: %s (want not present)\n", va, w.err);
}

/* va is outside the mode's address space: libaddrxlat must refuse it. */
static void
check_noncanonical(run_t *r, uint64_t va)
{
	walk_t w;

	r->nc_n++;
	xlat(r, va, &w);
	if (w.st == ADDRXLAT_ERR_INVALID) {
		r->nc_ok++;
		return;
	}
	show(r, 3, "[DIFF] va 0x%" PRIx64 ": outside the %s space; "
	    "libaddrxlat: %s\n", va, r->m->name, w.st == ADDRXLAT_OK ?
	    "translates it" : w.err);
}

/* ------------------------------------------------------------------ */
/* census                                                              */
/* ------------------------------------------------------------------ */

/* The range of htable's that holds va, or NULL. */
static const range_t *
find_range(const run_t *r, uint64_t va)
{
	size_t lo = 0, hi = r->ng;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->g[mid].last < va)
			lo = mid + 1;
		else if (r->g[mid].va > va)
			hi = mid;
		else
			return (&r->g[mid]);
	}
	return (NULL);
}

/* libaddrxlat maps [va, va + size) by the walk w: htable must agree. */
static void
census_leaf(run_t *r, uint64_t va, uint64_t size, const walk_t *w)
{
	const range_t *g = find_range(r, va);
	uint64_t bits;
	char ptes[160];
	int lvl;

	r->c_leaves++;
	if ((lvl = walk_reserved(r, w, &bits)) != 0) {
		if (g == NULL) {
			/* the documented class: see the top of the file */
			r->c_lenient++;
			r->c_class[rsvd_class(r->m, lvl, bits)]++;
			if (r->verbose)
				(void) printf("[LENIENT] census: va 0x%" PRIx64
				    " (%" PRIu64 "k page) to 0x%" PRIx64
				    " through reserved bits 0x%" PRIx64 " at "
				    "level %d;%s\n", va, size >> 10, w->pa,
				    bits, lvl,
				    walk_ptes(w, ptes, sizeof (ptes)));
			return;
		}
		r->c_diff++;
		show(r, 4, "[DIFF] census: va 0x%" PRIx64 ": htable maps "
		    "it, through reserved bits 0x%" PRIx64 ";%s\n", va, bits,
		    walk_ptes(w, ptes, sizeof (ptes)));
		return;
	}
	if (g == NULL || g->psize != size || g->pa + (va - g->va) != w->pa) {
		r->c_diff++;
		if (g == NULL)
			show(r, 4, "[DIFF] census: libaddrxlat maps va 0x%"
			    PRIx64 " (%" PRIu64 "k page) to 0x%" PRIx64
			    "; htable: no range;%s\n", va, size >> 10, w->pa,
			    walk_ptes(w, ptes, sizeof (ptes)));
		else
			show(r, 4, "[DIFF] census: libaddrxlat maps va 0x%"
			    PRIx64 " (%" PRIu64 "k page) to 0x%" PRIx64
			    "; htable to 0x%" PRIx64 " (%" PRIu64 "k page);%s"
			    "\n", va, size >> 10, w->pa,
			    g->pa + (va - g->va), g->psize >> 10,
			    walk_ptes(w, ptes, sizeof (ptes)));
		return;
	}
	r->found[g - r->g]++;
}

/*
 * Every entry of the table at level lvl that maps [prefix, prefix + the
 * table's span): libaddrxlat translates the first address of each, and
 * the level where its walk stops says what the entry is: not present
 * (the walk failed at lvl), a leaf (the leaf is at lvl), or a link (the
 * walk went deeper: its table is visited in turn).  Stops past
 * CENSUS_MAX walks.
 */
static void
census(run_t *r, uint64_t prefix, int lvl)
{
	uint64_t n = 1ull << r->m->fieldsz[lvl];
	uint64_t span = level_size(r->m, lvl), i;

	for (i = 0; i < n && !r->c_stopped; i++) {
		uint64_t va = prefix + i * span;
		walk_t w;

		if (++r->c_walks > CENSUS_MAX) {
			r->c_stopped = 1;
			return;
		}
		xlat(r, canon(r->m, va), &w);
		if (w.st == ADDRXLAT_ERR_NOTPRESENT && w.bottom == lvl)
			continue;
		if (w.st == ADDRXLAT_OK && w.leaf == lvl)
			census_leaf(r, canon(r->m, va), span, &w);
		else if (w.st == ADDRXLAT_OK ||
		    (w.st == ADDRXLAT_ERR_NOTPRESENT && w.bottom < lvl))
			census(r, va, lvl - 1);
		else {
			r->c_diff++;
			show(r, 4, "[DIFF] census: va 0x%" PRIx64 ": %s\n",
			    canon(r->m, va), w.err);
		}
	}
}

/*
 * After a complete census, every page of every htable range must have
 * been found: a range with pages libaddrxlat does not map is reported.
 */
static void
census_check(run_t *r)
{
	size_t i;

	for (i = 0; i < r->ng; i++) {
		if (r->found[i] == r->g[i].pages)
			continue;
		r->c_diff++;
		show(r, 4, "[DIFF] census: htable range 0x%" PRIx64 "-0x%"
		    PRIx64 ": %" PRIu64 " of its %" PRIu64 " pages are not "
		    "among libaddrxlat's leaves\n", r->g[i].va,
		    r->g[i].last, r->g[i].pages - r->found[i],
		    r->g[i].pages);
	}
}

/* ------------------------------------------------------------------ */
/* sampling                                                            */
/* ------------------------------------------------------------------ */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/* The sizes of the spans above a page of size ps: 2 MiB ... the top. */
static int
spans(const pmode_t *m, uint64_t ps, uint64_t *out)
{
	int n = 0, lvl;
	unsigned shift = 12;

	for (lvl = 1; lvl <= m->levels; lvl++) {
		shift += m->fieldsz[lvl];
		if (shift < 64 && (1ull << shift) > ps)
			out[n++] = 1ull << shift;
	}
	return (n);
}

/*
 * Check range g: every page when it is small, else a sample: the first
 * and last four pages, SPREAD pages spread over it, and both sides of the
 * boundaries of every larger span it crosses (PER_SPAN per span at most,
 * spread).  Each page: its first and last byte.
 */
static void
check_range(run_t *r, const range_t *g)
{
	uint64_t idx[8 + SPREAD + 2 * PER_SPAN * (MAX_LEVELS + 1)];
	uint64_t sp[MAX_LEVELS + 1], n = g->pages, i;
	size_t k = 0, j;
	int ns, s;

	if (n <= SMALL_RANGE) {
		for (i = 0; i < n; i++) {
			check_leaf(r, g, g->va + i * g->psize);
			check_leaf(r, g, g->va + i * g->psize + g->psize - 1);
		}
		return;
	}
	for (i = 0; i < 4; i++) {
		idx[k++] = i;
		idx[k++] = n - 1 - i;
	}
	for (i = 0; i < SPREAD; i++)
		idx[k++] = (rnd(r) % n);
	ns = spans(r->m, g->psize, sp);
	for (s = 0; s < ns; s++) {
		uint64_t first = g->va / sp[s] + 1, last = g->last / sp[s];
		uint64_t nb = g->va / sp[s] == last ? 0 : last - first + 1;

		for (i = 0; i < nb && i < PER_SPAN; i++) {
			uint64_t b = first + (nb <= PER_SPAN ? i :
			    i * (nb - 1) / (PER_SPAN - 1));
			uint64_t p = (b * sp[s] - g->va) / g->psize;

			idx[k++] = p - 1;
			idx[k++] = p;
		}
	}
	qsort(idx, k, sizeof (idx[0]), cmp_u64);
	for (j = 0; j < k; j++) {
		uint64_t va;

		if (j > 0 && idx[j] == idx[j - 1])
			continue;
		va = g->va + idx[j] * g->psize;
		check_leaf(r, g, va);
		check_leaf(r, g, va + g->psize - 1);
	}
}

/*
 * Check the gap [lo, hi] (no range there): its ends, the pages next to
 * them, the first and last aligned address of every span in it, and
 * GAP_RANDOM addresses.
 */
static void
check_gap(run_t *r, uint64_t lo, uint64_t hi)
{
	uint64_t sp[MAX_LEVELS + 1], len = hi - lo, i;
	int ns, s;

	check_hole(r, lo);
	check_hole(r, hi);
	if (len >= PAGE) {
		check_hole(r, lo + PAGE - 1);
		check_hole(r, hi - PAGE + 1);
	}
	ns = spans(r->m, PAGE, sp);		/* 2 or 4 MiB and up */
	for (s = 0; s < ns; s++) {
		uint64_t a = (lo + sp[s] - 1) & ~(sp[s] - 1);
		uint64_t b = hi & ~(sp[s] - 1);

		if (a < lo || a > hi)	/* wrapped, or none in the gap */
			continue;
		check_hole(r, a);
		if (b != a)
			check_hole(r, b);
	}
	for (i = 0; i < GAP_RANDOM && len > 1; i++)
		check_hole(r, len == UINT64_MAX ? rnd(r) :
		    lo + rnd(r) % (len + 1));
}

/*
 * The gaps of the space [lo, hi] between the sorted ranges: check each.
 */
static void
check_gaps(run_t *r, const range_t *g, size_t ng, uint64_t lo, uint64_t hi)
{
	uint64_t at = lo;
	size_t i;

	for (i = 0; i < ng; i++) {
		if (g[i].last < lo || g[i].va > hi)
			continue;
		if (g[i].va > at)
			check_gap(r, at, g[i].va - 1);
		if (g[i].last >= hi)
			return;
		at = g[i].last + 1;
	}
	check_gap(r, at, hi);
}

/* ------------------------------------------------------------------ */
/* input                                                               */
/* ------------------------------------------------------------------ */

/* The value of "key" in a JSON line: a quoted hex string or a number. */
static int
field(const char *line, const char *key, uint64_t *v)
{
	char pat[32];
	const char *p;
	char *end;

	(void) snprintf(pat, sizeof (pat), "\"%s\":", key);
	if ((p = strstr(line, pat)) == NULL)
		return (-1);
	p += strlen(pat);
	if (*p == '"')
		p++;
	errno = 0;
	*v = strtoull(p, &end, 0);
	return (end == p || errno != 0 ? -1 : 0);
}

static uint64_t
page_size(const char *line)
{
	static const struct { const char *s; uint64_t v; } t[] = {
		{ "\"page\":\"4k\"", 1ull << 12 },
		{ "\"page\":\"2m\"", 1ull << 21 },
		{ "\"page\":\"4m\"", 1ull << 22 },
		{ "\"page\":\"1g\"", 1ull << 30 },
	};
	size_t i;

	for (i = 0; i < sizeof (t) / sizeof (t[0]); i++)
		if (strstr(line, t[i].s) != NULL)
			return (t[i].v);
	return (0);
}

/* A page size that mode m has. */
static int
size_ok(const pmode_t *m, uint64_t ps)
{
	return (ps == level_size(m, 1) || ps == level_size(m, 2) ||
	    (ps == level_size(m, 3) && m->levels >= 4));
}

static int
cmp_range(const void *a, const void *b)
{
	const range_t *x = a, *y = b;

	return (x->va < y->va ? -1 : x->va > y->va);
}

/*
 * Read htable's JSON ranges from stdin, sorted by VA, into *out; their
 * number, or -1 with a message when a line or the ranges make no sense.
 */
static long
read_ranges(const pmode_t *m, range_t **out)
{
	range_t *g = NULL, *ng;
	size_t n = 0, cap = 0, lineno = 0, len = 0, i;
	char *line = NULL;

	while (getline(&line, &len, stdin) > 0) {
		range_t x;

		lineno++;
		if (strstr(line, "\"va\":") == NULL)
			continue;
		if (field(line, "va", &x.va) != 0 ||
		    field(line, "last", &x.last) != 0 ||
		    field(line, "pa", &x.pa) != 0 ||
		    field(line, "pages", &x.pages) != 0 ||
		    (x.psize = page_size(line)) == 0 || x.pages == 0 ||
		    x.last - x.va + 1 != x.pages * x.psize ||
		    (x.va | x.pa) % x.psize != 0 || !size_ok(m, x.psize)) {
			(void) fprintf(stderr, "xlat_agree: stdin:%zu: not a "
			    "range of a %s dump: %s", lineno, m->name, line);
			goto fail;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			if ((ng = realloc(g, cap * sizeof (*g))) == NULL)
				goto fail;
			g = ng;
		}
		g[n++] = x;
	}
	free(line);
	line = NULL;
	qsort(g, n, sizeof (*g), cmp_range);
	for (i = 1; i < n; i++) {
		if (g[i].va <= g[i - 1].last) {
			(void) fprintf(stderr, "xlat_agree: ranges at 0x%"
			    PRIx64 " and 0x%" PRIx64 " overlap\n",
			    g[i - 1].va, g[i].va);
			goto fail;
		}
	}
	*out = g;
	return ((long)n);
fail:
	free(line);
	free(g);
	return (-1);
}

static const pmode_t *
find_mode(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof (modes) / sizeof (modes[0]); i++)
		if (strcmp(modes[i].name, name) == 0)
			return (&modes[i]);
	return (NULL);
}

static int
usage(void)
{
	(void) fprintf(stderr, "usage: xlat_agree [-v] IMAGE MODE CR3 "
	    "< JSON\n  MODE: 32bit, pae, 4level, 5level, npt4, npt5; JSON: "
	    "htable dump IMAGE --cr3 CR3 --mode MODE --format json\n");
	return (2);
}

int
main(int argc, char **argv)
{
	const pmode_t *m;
	addrxlat_cb_t *cb;
	range_t *g = NULL;
	image_t im;
	run_t r;
	uint64_t cr3, top, diff;
	long ng, i;
	char *end;
	int a = 1;

	memset(&r, 0, sizeof (r));
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		r.verbose = 1;
		a++;
	}
	if (argc - a != 3 || (m = find_mode(argv[a + 1])) == NULL)
		return (usage());
	errno = 0;
	cr3 = strtoull(argv[a + 2], &end, 0);
	if (*end != 0 || end == argv[a + 2] || errno != 0)
		return (usage());
	r.m = m;
	r.rng = cr3 ^ 0x61677265ull;
	if ((ng = read_ranges(m, &g)) < 0)
		return (2);
	if (image_open(&im, argv[a]) != 0)
		return (2);
	if ((r.ctx = addrxlat_ctx_new()) == NULL ||
	    (cb = addrxlat_ctx_add_cb(r.ctx)) == NULL) {
		(void) fprintf(stderr, "xlat_agree: out of memory\n");
		return (2);
	}
	cb->priv = &im;
	cb->get_page = get_page;
	cb->read_caps = read_caps;
	r.meth.kind = ADDRXLAT_PGT;
	r.meth.target_as = ADDRXLAT_MACHPHYSADDR;
	r.meth.param.pgt.root.as = ADDRXLAT_MACHPHYSADDR;
	r.meth.param.pgt.root.addr = cr3 & m->root_mask;
	r.meth.param.pgt.pte_mask = 0;
	r.meth.param.pgt.pf.pte_format = m->fmt;
	r.meth.param.pgt.pf.nfields = m->nfields;
	memcpy(r.meth.param.pgt.pf.fieldsz, m->fieldsz,
	    sizeof (m->fieldsz));

	r.g = g;
	r.ng = (size_t)ng;
	if ((r.found = calloc((size_t)ng + 1, sizeof (*r.found))) == NULL) {
		(void) fprintf(stderr, "xlat_agree: out of memory\n");
		return (2);
	}
	census(&r, 0, m->levels);
	if (!r.c_stopped)
		census_check(&r);
	for (i = 0; i < ng; i++)
		check_range(&r, &g[i]);
	top = m->canonical ? 1ull << (m->va_bits - 1) : 1ull << m->va_bits;
	check_gaps(&r, g, (size_t)ng, 0, top - 1);
	if (m->canonical) {
		check_gaps(&r, g, (size_t)ng, -top, UINT64_MAX);
		check_noncanonical(&r, top);
		check_noncanonical(&r, -top - 1);
		check_noncanonical(&r, 1ull << 62);
	} else {
		check_noncanonical(&r, top);
		check_noncanonical(&r, 1ull << 62);
		if (m->va_bits == 32)
			check_noncanonical(&r, UINT64_MAX);
	}

	diff = (r.leaf_n - r.leaf_ok) + (r.hole_n - r.hole_ok - r.lenient) +
	    (r.nc_n - r.nc_ok) + r.c_diff;
	(void) printf("%s mode=%s cr3=0x%" PRIx64 ": %ld ranges; leaf "
	    "addresses %" PRIu64 "/%" PRIu64 " agree; holes %" PRIu64 "/%"
	    PRIu64 " not present, %" PRIu64 " lenient; outside the space %"
	    PRIu64 "/%" PRIu64 " refused; census %s: %" PRIu64 " walks, %"
	    PRIu64 " leaves, %" PRIu64 " lenient; %" PRIu64 " disagree; %"
	    PRIu64 " zero-filled page reads\n", argv[a], m->name, cr3, ng,
	    r.leaf_ok, r.leaf_n, r.hole_ok, r.hole_n, r.lenient, r.nc_ok,
	    r.nc_n, r.c_stopped ? "stopped (too many walks)" : "complete",
	    r.c_walks, r.c_leaves, r.c_lenient, diff, im.zero_reads);
	addrxlat_ctx_decref(r.ctx);
	if (im.kd != NULL)
		kdump_free(im.kd);
	(void) close(im.fd);
	for (i = 0; i < 4; i++)
		if (r.c_class[i] != 0)
			(void) printf("  census: %" PRIu64 " lenient leaves: "
			    "%s\n", r.c_class[i], rsvd_names[i]);
	free(r.found);
	free(g);
	return (diff == 0 ? 0 : 1);
}
