/*
 * roots.c - page-table roots in a physical-memory image, from the paging
 * structures alone (roots.h).
 *
 * Theory of operation.  judge(level, frame) says whether the frame
 * reads as a plausible table of that level: no present entry with a
 * reserved bit (address bits at or above MAXPHYADDR; PS where the level
 * has no large page; the must-be-zero bits of a large leaf's address),
 * and every link to a frame that is a plausible table one level down.
 * An empty table is plausible (Linux keeps linked tables whose entries
 * are all gone); only a root needs a present entry.  The answer, with
 * the leaves and bytes under the table, is kept per (frame, level):
 * `state` a byte per frame and level, the counts in a hash of the
 * plausible tables that map something (an empty one is a state of its
 * own, so that zero-filled memory, a plausible empty table at every
 * level, costs no memory).  So each (frame, level) is read at most once,
 * and a candidate's subtree costs nothing more once its tables were
 * judged: the whole search reads at most levels x frames tables.  Levels
 * strictly fall along a link, so no chain of links can loop, self-maps
 * and shared tables included; the recursion is at most `levels` deep.
 *
 * The frames judged are the image's data frames only, numbered densely
 * (`frun_t`: the runs of data frames with the count before each), so the
 * state and the walk over candidates cost what the image holds, not what
 * its addresses span: a dump whose one segment sits at 2^51 costs a page,
 * not 2^39 bytes of state and a loop over 2^39 frames.
 *
 * Invariants: a frame is judged only if it lies wholly in the image and
 * holds data; state is never YES without its counts in the hash, and
 * EMPTY is plausible with no leaves.
 */
#include <stdlib.h>
#include <string.h>

#include "roots.h"

#define PAGE		4096ull
#define ENTRIES		512
#define PTE_P		0x1ull

enum { UNKNOWN = 0, YES = 1, NO = 2, EMPTY = 3 };

typedef struct counts {
	uint64_t	key;		/* frame * 8 + level + 1; 0: empty */
	uint64_t	leaves, bytes;
} counts_t;

/* A run of data frames [fs, fe), the data frames before it in base. */
typedef struct frun {
	uint64_t	fs, fe, base;
} frun_t;

typedef struct rctx {
	const image_t	*im;
	uint64_t	nframes;
	frun_t		*runs;		/* ascending, disjoint */
	size_t		nruns;
	uint64_t	ndata;		/* data frames in all */
	const ht_geometry_t *g;	/* the mode's: link mask, PS, shifts */
	int		levels;
	uint64_t	rsvd;		/* address bits above MAXPHYADDR */
	uint8_t		*state[5];	/* per level, a byte per frame */
	counts_t	*tab;		/* open addressing, power of two */
	size_t		cap, used;
	int		nomem;
} rctx_t;

static uint64_t
mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (k);
}

/* The counts slot of key (empty if absent).  Errors: none. */
static counts_t *
slot(const rctx_t *c, uint64_t key)
{
	size_t i = (size_t)mix(key) & (c->cap - 1);

	while (c->tab[i].key != 0 && c->tab[i].key != key)
		i = (i + 1) & (c->cap - 1);
	return (&c->tab[i]);
}

/* Keep a plausible table's counts; -1 out of memory.  Errors: -1. */
static int
keep(rctx_t *c, uint64_t key, uint64_t leaves, uint64_t bytes)
{
	counts_t *s;

	if ((c->used + 1) * 2 > c->cap) {
		size_t ncap = c->cap * 2;
		counts_t *old = c->tab, *nt = calloc(ncap, sizeof (*nt));
		size_t ocap = c->cap;

		if (nt == NULL)
			return (-1);
		c->tab = nt;
		c->cap = ncap;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].key != 0)
				*slot(c, old[i].key) = old[i];
		free(old);
	}
	s = slot(c, key);
	s->key = key;
	s->leaves = leaves;
	s->bytes = bytes;
	c->used++;
	return (0);
}

/*
 * The dense number of frame if it lies wholly in the image and is data
 * (what image_is_data says of its first byte), else -1.  Errors: none.
 */
static int64_t
frame_idx(const rctx_t *c, uint64_t frame)
{
	size_t lo = 0, hi = c->nruns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (frame < c->runs[mid].fs)
			hi = mid;
		else if (frame >= c->runs[mid].fe)
			lo = mid + 1;
		else
			return ((int64_t)(c->runs[mid].base + frame -
			    c->runs[mid].fs));
	}
	return (-1);
}

static int
frame_ok(const rctx_t *c, uint64_t frame)
{
	return (frame_idx(c, frame) >= 0);
}

/*
 * The runs of data frames from the image's extents: frame f is data when
 * byte f * PAGE is, and f < nframes.  0 or -1 out of memory.
 */
static int
frame_runs(rctx_t *c)
{
	const image_t *im = c->im;

	if (im->next != 0 &&
	    (c->runs = calloc(im->next, sizeof (*c->runs))) == NULL)
		return (-1);
	for (size_t i = 0; i < im->next; i++) {
		uint64_t fs = (im->ext[i].start + PAGE - 1) / PAGE;
		uint64_t fe = (im->ext[i].end + PAGE - 1) / PAGE;

		if (fe > c->nframes)
			fe = c->nframes;
		if (c->nruns > 0 && fs < c->runs[c->nruns - 1].fe)
			fs = c->runs[c->nruns - 1].fe;
		if (fs >= fe)
			continue;
		c->runs[c->nruns].fs = fs;
		c->runs[c->nruns].fe = fe;
		c->runs[c->nruns].base = c->ndata;
		c->ndata += fe - fs;
		c->nruns++;
	}
	return (0);
}

/*
 * May present entry e stand at level (0 the page table)?  Its address
 * bits above MAXPHYADDR, PS where the level has no large page (the top
 * one or two levels), and the zero bits of a large leaf's address.
 * Errors: none.
 */
static int
entry_ok(const rctx_t *c, uint64_t e, int level)
{
	if (e & c->rsvd)
		return (0);
	if (level == 0 || !(e & c->g->ps_bit))
		return (1);
	if (level >= 3)
		return (0);	/* PML4E, PML5E: PS is reserved */
	/* a 1 GiB leaf's bits 29:13, a 2 MiB leaf's 20:13 */
	return ((e & (level == 2 ? 0x3fffe000ull : 0x1fe000ull)) == 0);
}

/*
 * Is frame a plausible table of level?  1 with *r_leaves and *r_bytes
 * set, 0 if not (or out of memory: c->nomem).  Errors: none.
 */
static int
judge(rctx_t *c, int level, uint64_t frame, uint64_t *r_leaves,
    uint64_t *r_bytes)
{
	uint64_t e[ENTRIES], leaves = 0, bytes = 0;
	int64_t idx = frame_idx(c, frame);
	uint8_t *st;

	if (idx < 0)
		return (0);
	st = &c->state[level][idx];
	if (*st == EMPTY) {
		*r_leaves = 0;
		*r_bytes = 0;
		return (1);
	}
	if (*st == YES) {
		counts_t *s = slot(c, frame * 8 + (uint64_t)level + 1);

		*r_leaves = s->leaves;
		*r_bytes = s->bytes;
		return (1);
	}
	if (*st == NO)
		return (0);
	*st = NO;	/* until proved: a frame is judged once */
	(void) image_read((void *)c->im, frame * PAGE, e, sizeof (e));
	for (int i = 0; i < ENTRIES; i++) {
		uint64_t cl, cb;

		if (!(e[i] & PTE_P))
			continue;
		if (!entry_ok(c, e[i], level))
			return (0);
		if (level == 0 || (e[i] & c->g->ps_bit)) {
			leaves++;
			bytes += 1ull << c->g->level_shift[level];
			continue;
		}
		if (!judge(c, level - 1, (e[i] & c->g->link_mask) / PAGE, &cl,
		    &cb))
			return (0);
		leaves += cl;
		bytes += cb;
	}
	*r_leaves = leaves;
	*r_bytes = bytes;
	if (leaves == 0) {
		/* no counts to keep: zero-filled memory costs no memory */
		*st = EMPTY;
		return (1);
	}
	if (keep(c, frame * 8 + (uint64_t)level + 1, leaves, bytes) != 0) {
		c->nomem = 1;
		return (0);
	}
	*st = YES;
	return (1);
}

/* FNV-1a of the upper half of a root.  Errors: none. */
static uint64_t
upper_hash(const uint64_t *e)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int i = ENTRIES / 2; i < ENTRIES; i++) {
		for (int b = 0; b < 64; b += 8) {
			h ^= (e[i] >> b) & 0xff;
			h *= 0x100000001b3ull;
		}
	}
	return (h);
}

/*
 * A candidate root: its halves, self-map and upper-half hash (into
 * *r_hash, 0 when the upper half maps nothing).  Errors: none.
 */
static void
describe(rctx_t *c, uint64_t frame, roots_cand_t *rc, uint64_t *r_hash)
{
	uint64_t e[ENTRIES];
	int top = c->levels - 1;

	(void) image_read((void *)c->im, frame * PAGE, e, sizeof (e));
	rc->cr3 = frame * PAGE;
	rc->selfmap = -1;
	for (int i = 0; i < ENTRIES; i++) {
		uint64_t child = (e[i] & c->g->link_mask) / PAGE;
		uint64_t cl = 0, cb = 0;

		if (!(e[i] & PTE_P))
			continue;
		rc->present++;
		if (child == frame && rc->selfmap < 0)
			rc->selfmap = i;
		if (frame_ok(c, child))
			(void) judge(c, top - 1, child, &cl, &cb);
		rc->leaves += cl;
		if (i < ENTRIES / 2)
			rc->user_bytes += cb;
		else
			rc->kernel_bytes += cb;
	}
	*r_hash = rc->kernel_bytes != 0 ? upper_hash(e) : 0;
}

typedef struct hashed {
	uint64_t	hash;
	size_t		idx;
} hashed_t;

static int
cmp_hashed(const void *a, const void *b)
{
	const hashed_t *x = a, *y = b;

	if (x->hash != y->hash)
		return (x->hash < y->hash ? -1 : 1);
	return (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static int
cmp_cand(const void *a, const void *b)
{
	const roots_cand_t *x = a, *y = b;

	if (x->confidence != y->confidence)
		return (x->confidence > y->confidence ? -1 : 1);
	if (x->leaves != y->leaves)
		return (x->leaves > y->leaves ? -1 : 1);
	if (x->mode != y->mode)
		return (x->mode < y->mode ? -1 : 1);
	return (x->cr3 < y->cr3 ? -1 : x->cr3 > y->cr3);
}

/* The confidence of a described candidate (roots.h).  Errors: none. */
static unsigned
confidence(const roots_cand_t *rc)
{
	unsigned s = 0, lg = 0;

	if (rc->shared > 0)
		s += 40;
	if (rc->selfmap >= 0)
		s += 20;
	if (rc->user_bytes != 0 && rc->kernel_bytes != 0)
		s += 10;
	for (uint64_t l = rc->leaves; l > 1; l >>= 1)
		lg++;
	s += lg * 3 > 30 ? 30 : lg * 3;
	return (s);
}

/*
 * The candidates of one mode, appended to *r_c (capacity *r_cap).
 * 0 or ROOTS_ENOMEM.  Errors: ROOTS_ENOMEM.
 */
static int
find_mode(rctx_t *c, ht_mode_t mode, roots_cand_t **r_c, size_t *r_n,
    size_t *r_cap)
{
	hashed_t *h = NULL;
	size_t first = *r_n, nh = 0, hcap = 0;

	for (size_t r = 0; r < c->nruns; r++)
	for (uint64_t f = c->runs[r].fs; f < c->runs[r].fe; f++) {
		uint64_t l, b, hash;
		roots_cand_t *rc;

		if (!judge(c, c->levels - 1, f, &l, &b)) {
			if (c->nomem)
				goto nomem;
			continue;
		}
		if (*r_n == *r_cap) {
			size_t ncap = *r_cap ? *r_cap * 2 : 64;
			roots_cand_t *nc = realloc(*r_c, ncap * sizeof (*nc));

			if (nc == NULL)
				goto nomem;
			*r_c = nc;
			*r_cap = ncap;
		}
		if (nh == hcap) {
			size_t ncap = hcap ? hcap * 2 : 64;
			hashed_t *nhh = realloc(h, ncap * sizeof (*nhh));

			if (nhh == NULL)
				goto nomem;
			h = nhh;
			hcap = ncap;
		}
		rc = &(*r_c)[*r_n];
		memset(rc, 0, sizeof (*rc));
		rc->mode = mode;
		describe(c, f, rc, &hash);
		/*
		 * An empty table roots nothing, and neither does one whose
		 * links all end in empty tables: in memory where every frame
		 * holds data (a dump's zero-filled RAM) the page tables of
		 * a space read as such roots, each frame of zeros below them
		 * an empty table.
		 */
		if (rc->present == 0 || rc->leaves == 0)
			continue;
		(*r_n)++;
		if (hash != 0) {
			h[nh].hash = hash;
			h[nh++].idx = *r_n - 1;
		}
	}
	/* how many share each upper half */
	if (nh > 0)
		qsort(h, nh, sizeof (*h), cmp_hashed);
	for (size_t i = 0, j; i < nh; i = j) {
		for (j = i + 1; j < nh && h[j].hash == h[i].hash; j++)
			;
		for (size_t k = i; k < j; k++)
			(*r_c)[h[k].idx].shared = (unsigned)(j - i - 1);
	}
	for (size_t i = first; i < *r_n; i++)
		(*r_c)[i].confidence = confidence(&(*r_c)[i]);
	free(h);
	return (0);
nomem:
	free(h);
	return (ROOTS_ENOMEM);
}

int
roots_find(const image_t *im, const ht_mode_t *modes, int nmodes,
    unsigned pa_bits, roots_cand_t **r_c, size_t *r_n)
{
	roots_cand_t *cand = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	*r_c = NULL;
	*r_n = 0;
	if (pa_bits == 0)
		pa_bits = 52;
	for (int m = 0; m < nmodes; m++)
		if (modes[m] != HT_MODE_4LEVEL && modes[m] != HT_MODE_5LEVEL)
			return (ROOTS_EMODE);
	if (pa_bits < 32 || pa_bits > 52)
		return (ROOTS_EMODE);
	for (int m = 0; m < nmodes && err == 0; m++) {
		rctx_t c;

		memset(&c, 0, sizeof (c));
		c.im = im;
		c.nframes = im->size / PAGE;
		c.g = ht_geometry(modes[m]);
		c.levels = (int)c.g->levels;
		c.rsvd = c.g->link_mask & ~((1ull << pa_bits) - 1);
		c.cap = 1024;
		c.tab = calloc(c.cap, sizeof (*c.tab));
		err = c.tab == NULL || frame_runs(&c) != 0 ? ROOTS_ENOMEM :
		    0;
		for (int l = 0; l < c.levels && err == 0; l++)
			if ((c.state[l] = calloc(c.ndata + 1, 1)) == NULL)
				err = ROOTS_ENOMEM;
		if (err == 0)
			err = find_mode(&c, modes[m], &cand, &n, &cap);
		for (int l = 0; l < c.levels; l++)
			free(c.state[l]);
		free(c.tab);
		free(c.runs);
	}
	if (err != 0) {
		free(cand);
		return (err);
	}
	if (n > 0)
		qsort(cand, n, sizeof (*cand), cmp_cand);
	*r_c = cand;
	*r_n = n;
	return (0);
}
