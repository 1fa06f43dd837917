/*
 * roots.c - page-table roots in a physical-memory image, from the paging
 * structures alone (roots.h).
 *
 * Theory of operation.  judge(level, frame) says whether the frame
 * reads as a plausible table of that level, below the root: no present
 * entry with a reserved bit (the mode's, per level and for links and
 * leaves apart: address bits at or above MAXPHYADDR; PS where the level
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
 * The root level is judged apart, by candidate() (nothing links a root,
 * so there is nothing to remember): each frame once, or in PAE paging
 * each of its 128 32-byte slots once (CR3 names a 4-entry PDPT, 32-byte
 * aligned), 4 entries each, so a PAE frame costs 512 entry reads as any
 * other.  Roots lie below what CR3 can name (ht_geometry's root_mask:
 * 4 GiB in 32-bit and PAE paging).  The entry size (4 bytes in 32-bit
 * paging, else 8), the entries per table and in the root, the link
 * mask, PS and the level shifts are ht_geometry()'s.
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
#define PTE_P		0x1ull
#define PTE_AD		0x60ull		/* accessed, dirty: the CPU's */
#define MAXLEVELS	5

enum { UNKNOWN = 0, YES = 1, NO = 2, EMPTY = 3 };
enum { RESERVED = 0, LINK = 1, LEAF = 2 };

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
	const ht_geometry_t *g;	/* the mode's: sizes, link mask, PS,
					   shifts */
	int		levels;
	unsigned	esz;		/* entry bytes: 4 or 8 */
	unsigned	nent;		/* entries in a table below the root */
	unsigned	nroot;		/* entries in the root */
	unsigned	ksplit;		/* the root's first kernel entry */
	unsigned	slots;		/* roots a frame holds (PAE: 128) */
	uint64_t	rsvd_link[MAXLEVELS];	/* reserved in a link */
	uint64_t	rsvd_leaf[MAXLEVELS];	/* in a leaf; ~0: none */
	uint8_t		*state[MAXLEVELS - 1];	/* below the root, a byte
						   per frame */
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

/* Bits hi..lo (hi >= lo), 0 when lo > hi.  Errors: none. */
static uint64_t
bits(unsigned hi, unsigned lo)
{
	if (lo > hi)
		return (0);
	return ((hi == 63 ? ~0ull : (1ull << (hi + 1)) - 1) &
	    ~((1ull << lo) - 1));
}

/*
 * The reserved bits of each level of the mode, MAXPHYADDR pa (SDM vol.
 * 3, 4.3 to 4.5).  4- and 5-level: address bits 51:pa; a 2 MiB leaf's
 * 20:13 and a 1 GiB leaf's 29:13; PS in a PML4E or PML5E.  PAE: bits
 * 62:pa (63 is XD) and a 2 MiB leaf's 20:13; a PDPTE's 63:pa, 8:5 (PS
 * among them) and 2:1.  32-bit: none but a 4 MiB leaf's bit 21 and the
 * PSE-36 bits 20:13 beyond pa (at most 40).  Errors: none.
 */
static void
reserved_bits(rctx_t *c, unsigned pa)
{
	int top = c->levels - 1;

	for (int l = 0; l < c->levels; l++) {
		c->rsvd_link[l] = 0;
		c->rsvd_leaf[l] = ~0ull;
	}
	if (c->g->mode == HT_MODE_32BIT) {
		if (pa > c->g->pa_bits_max)
			pa = c->g->pa_bits_max;
		c->rsvd_leaf[0] = 0;
		c->rsvd_leaf[1] = bits(21, 21) | bits(20, 13 + pa - 32);
		return;
	}
	if (c->g->mode == HT_MODE_PAE) {
		for (int l = 0; l < top; l++) {
			c->rsvd_link[l] = bits(62, pa);
			c->rsvd_leaf[l] = bits(62, pa);
		}
		c->rsvd_leaf[1] |= bits(20, 13);
		c->rsvd_link[top] = bits(63, pa) | bits(8, 5) | bits(2, 1);
		return;
	}
	for (int l = 0; l < c->levels; l++) {
		c->rsvd_link[l] = bits(51, pa);
		if (l < 3)
			c->rsvd_leaf[l] = bits(51, pa) |
			    (l > 0 ? bits(c->g->level_shift[l] - 1, 13) : 0);
	}
}

/* Entry i of the table at t.  Errors: none. */
static uint64_t
entry(const rctx_t *c, const uint8_t *t, unsigned i)
{
	uint32_t e4;
	uint64_t e8;

	if (c->esz == 4) {
		(void) memcpy(&e4, t + (size_t)i * 4, 4);
		return (e4);
	}
	(void) memcpy(&e8, t + (size_t)i * 8, 8);
	return (e8);
}

/*
 * What present entry e is at level (0 the page table): RESERVED when a
 * bit reserved there is set, else LEAF (level 0, or PS) or LINK.
 * Errors: none.
 */
static int
entry_kind(const rctx_t *c, uint64_t e, int level)
{
	if (level == 0 || (e & c->g->ps_bit))
		return ((e & c->rsvd_leaf[level]) ? RESERVED : LEAF);
	return ((e & c->rsvd_link[level]) ? RESERVED : LINK);
}

/*
 * Is frame a plausible table of level, below the root?  1 with
 * *r_leaves and *r_bytes set, 0 if not (or out of memory: c->nomem).
 * Errors: none.
 */
static int
judge(rctx_t *c, int level, uint64_t frame, uint64_t *r_leaves,
    uint64_t *r_bytes)
{
	uint8_t t[PAGE];
	uint64_t leaves = 0, bytes = 0;
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
	(void) image_read((void *)c->im, frame * PAGE, t, sizeof (t));
	for (unsigned i = 0; i < c->nent; i++) {
		uint64_t e = entry(c, t, i), cl, cb;

		if (!(e & PTE_P))
			continue;
		switch (entry_kind(c, e, level)) {
		case RESERVED:
			return (0);
		case LEAF:
			leaves++;
			bytes += 1ull << c->g->level_shift[level];
			continue;
		default:
			break;
		}
		if (!judge(c, level - 1, (e & c->g->link_mask) / PAGE, &cl,
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

/*
 * FNV-1a of the root at t's entries [from, c->nroot), the accessed and
 * dirty bits left out: the CPU sets them in each copy of a kernel entry
 * on its own.  Errors: none.
 */
static uint64_t
root_hash(const rctx_t *c, const uint8_t *t, unsigned from)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (unsigned i = from; i < c->nroot; i++) {
		uint64_t e = entry(c, t, i) & ~PTE_AD;

		for (unsigned b = 0; b < 8 * c->esz; b += 8) {
			h ^= (e >> b) & 0xff;
			h *= 0x100000001b3ull;
		}
	}
	return (h);
}

/* A candidate's hashes: its kernel part's and the whole root's. */
typedef struct hashed {
	uint64_t	hash;
	uint64_t	whole;
	size_t		idx;
} hashed_t;

/*
 * Is the root table at t (physical address pa) a candidate: a present
 * entry, none with a reserved bit, every link to a plausible table one
 * level down, and a leaf below?  1 with rc filled (its halves split at
 * ksplit, a self-map where the root fills its frame), r_h->hash the
 * kernel part's hash (0 when that part maps nothing) and r_h->whole the
 * whole root's; 0 if not (or out of memory: c->nomem).  Errors: none.
 */
static int
candidate(rctx_t *c, const uint8_t *t, uint64_t pa, roots_cand_t *rc,
    hashed_t *r_h)
{
	int top = c->levels - 1;

	memset(rc, 0, sizeof (*rc));
	rc->mode = c->g->mode;
	rc->cr3 = pa;
	rc->selfmap = -1;
	for (unsigned i = 0; i < c->nroot; i++) {
		uint64_t e = entry(c, t, i), child, cl, cb;

		if (!(e & PTE_P))
			continue;
		switch (entry_kind(c, e, top)) {
		case RESERVED:
			return (0);
		case LEAF:
			cl = 1;
			cb = 1ull << c->g->level_shift[top];
			break;
		default:
			child = (e & c->g->link_mask) / PAGE;
			if (child == pa / PAGE && c->slots == 1 &&
			    rc->selfmap < 0)
				rc->selfmap = (int)i;
			if (!judge(c, top - 1, child, &cl, &cb))
				return (0);
			break;
		}
		rc->present++;
		rc->leaves += cl;
		if (i < c->ksplit)
			rc->user_bytes += cb;
		else
			rc->kernel_bytes += cb;
	}
	/*
	 * An empty table roots nothing, and neither does one whose links
	 * all end in empty tables: in memory where every frame holds data
	 * (a dump's zero-filled RAM) the page tables of a space read as
	 * such roots, each frame of zeros below them an empty table.
	 */
	if (rc->present == 0 || rc->leaves == 0)
		return (0);
	r_h->hash = rc->kernel_bytes != 0 ? root_hash(c, t, c->ksplit) : 0;
	r_h->whole = r_h->hash != 0 ? root_hash(c, t, 0) : 0;
	return (1);
}

static int
cmp_hashed(const void *a, const void *b)
{
	const hashed_t *x = a, *y = b;

	if (x->hash != y->hash)
		return (x->hash < y->hash ? -1 : 1);
	if (x->whole != y->whole)
		return (x->whole < y->whole ? -1 : 1);
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
find_mode(rctx_t *c, roots_cand_t **r_c, size_t *r_n, size_t *r_cap)
{
	uint8_t t[PAGE];
	hashed_t *h = NULL;
	size_t first = *r_n, nh = 0, hcap = 0;
	uint64_t rootbits = c->g->root_mask | (PAGE - 1);
	size_t rootsz = (size_t)c->nroot * c->esz;

	for (size_t r = 0; r < c->nruns; r++)
	for (uint64_t f = c->runs[r].fs; f < c->runs[r].fe; f++) {
		if ((f * PAGE) & ~rootbits)
			break;		/* above what CR3 names */
		(void) image_read((void *)c->im, f * PAGE, t, sizeof (t));
		for (unsigned s = 0; s < c->slots; s++) {
			roots_cand_t rc;
			hashed_t hs;

			if (!candidate(c, t + s * rootsz, f * PAGE +
			    s * rootsz, &rc, &hs)) {
				if (c->nomem)
					goto nomem;
				continue;
			}
			if (*r_n == *r_cap) {
				size_t ncap = *r_cap ? *r_cap * 2 : 64;
				roots_cand_t *nc = realloc(*r_c,
				    ncap * sizeof (*nc));

				if (nc == NULL)
					goto nomem;
				*r_c = nc;
				*r_cap = ncap;
			}
			if (nh == hcap) {
				size_t ncap = hcap ? hcap * 2 : 64;
				hashed_t *nhh = realloc(h,
				    ncap * sizeof (*nhh));

				if (nhh == NULL)
					goto nomem;
				h = nhh;
				hcap = ncap;
			}
			(*r_c)[(*r_n)++] = rc;
			if (hs.hash != 0) {
				hs.idx = *r_n - 1;
				h[nh++] = hs;
			}
		}
	}
	/*
	 * How many share each kernel part, copies of the whole root left
	 * out: they do not vouch for each other (a page of code or data
	 * read as a root has its twins in memory; an operating system's
	 * roots differ in their user part).
	 */
	if (nh > 0)
		qsort(h, nh, sizeof (*h), cmp_hashed);
	for (size_t i = 0, j; i < nh; i = j) {
		for (j = i + 1; j < nh && h[j].hash == h[i].hash; j++)
			;
		for (size_t k = i, l; k < j; k = l) {
			for (l = k + 1; l < j && h[l].whole == h[k].whole;
			    l++)
				;
			for (size_t m = k; m < l; m++)
				(*r_c)[h[m].idx].shared =
				    (unsigned)(j - i - (l - k));
		}
	}
	for (size_t i = first; i < *r_n; i++)
		(*r_c)[i].confidence = confidence(&(*r_c)[i]);
	free(h);
	return (0);
nomem:
	free(h);
	return (ROOTS_ENOMEM);
}

/*
 * The mode's facts in c (ht_geometry's, and where the kernel part of
 * the root starts: 32-bit, the upper quarter of the PD, entries 768 on
 * (Linux's 3G/1G split, inside Windows' 2G/2G kernel half); PAE, PDPTE
 * 3 (Linux PAE links every process's to the same kernel PD); 4- and
 * 5-level, the upper half).  0 or ROOTS_ENOMEM.  Errors: ROOTS_ENOMEM.
 */
static int
setup(rctx_t *c, const image_t *im, ht_mode_t mode, unsigned pa_bits)
{
	memset(c, 0, sizeof (*c));
	c->im = im;
	c->nframes = im->size / PAGE;
	c->g = ht_geometry(mode);
	c->levels = (int)c->g->levels;
	c->esz = c->g->pte_size;
	c->nent = c->g->ptes_per_table;
	c->nroot = c->g->top_level_count;
	c->slots = (unsigned)(PAGE / ((uint64_t)c->nroot * c->esz));
	c->ksplit = mode == HT_MODE_32BIT ? c->nroot / 4 * 3 :
	    mode == HT_MODE_PAE ? 3 : c->nroot / 2;
	reserved_bits(c, pa_bits);
	c->cap = 1024;
	if ((c->tab = calloc(c->cap, sizeof (*c->tab))) == NULL ||
	    frame_runs(c) != 0)
		return (ROOTS_ENOMEM);
	for (int l = 0; l < c->levels - 1; l++)
		if ((c->state[l] = calloc(c->ndata + 1, 1)) == NULL)
			return (ROOTS_ENOMEM);
	return (0);
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
	for (int m = 0; m < nmodes; m++) {
		if (modes[m] != HT_MODE_32BIT && modes[m] != HT_MODE_PAE &&
		    modes[m] != HT_MODE_4LEVEL && modes[m] != HT_MODE_5LEVEL)
			return (ROOTS_EMODE);
		for (int k = 0; k < m; k++)
			if (modes[k] == modes[m])
				return (ROOTS_EMODE);
	}
	if (pa_bits < 32 || pa_bits > 52)
		return (ROOTS_EMODE);
	for (int m = 0; m < nmodes && err == 0; m++) {
		rctx_t c;

		err = setup(&c, im, modes[m], pa_bits);
		if (err == 0)
			err = find_mode(&c, &cand, &n, &cap);
		for (int l = 0; l < MAXLEVELS - 1; l++)
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
