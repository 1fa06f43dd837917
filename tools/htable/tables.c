/*
 * tables.c - `htable dump --format tables`: the page-table frames under
 * each root of an image, and which of them other roots reach too, so
 * that sharing can be seen: a CPU root and the space it runs share every
 * table below the top level, a KPTI pair shares its user half, a space
 * shares a source's tables (ht_share).
 *
 * Theory of operation.  Each root is walked depth first from its top
 * table, in VA order; a (frame, level) pair is listed once per root,
 * where it is first reached (a table reached again, through a self-map
 * or twice-linked tables, is counted, not walked again), so a walk is
 * bounded by the image's frames whatever the tables hold.  Which
 * entries link a table is the library's decision, not ours: for each
 * present entry above level 0 the walk asks ht_scan_translate about the
 * first VA the entry maps, and follows the entry only if the MMU's walk
 * goes on below it (not a leaf, no reserved bits), to the table the
 * translation read next.  Then the tables of every root are sorted by
 * (frame, level), and each line names the other roots that reach the
 * same table at the same level, with the VA there when it differs.
 *
 * A line:  [indent]L<level> <frame> <first VA>-<last VA> <n> entries
 *          [not in the image] [reached N times] [also: ROOT[@VA] ...]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A table reached from a root. */
typedef struct tnode {
	ht_pa_t		pa;		/* its frame (PAE: the 32-byte root) */
	unsigned	level;
	int		root;		/* index in the options' roots */
	unsigned	depth;		/* levels below the root */
	uint64_t	va, last;	/* the VAs it maps, first reached */
	unsigned	entries;	/* present entries */
	unsigned	reached;	/* times reached from this root */
	int		unbacked;	/* not in the image: zeros */
	size_t		grp, ngrp;	/* its (frame, level) group in order */
} tnode_t;

typedef struct twalk {
	ht_scan_cfg_t	cfg;		/* cr3: the root being walked */
	const ht_geometry_t *g;
	uint64_t	present;	/* an entry with any of these bits is
					   present: P (bit 0); EPT's R, W, X
					   (bits 0-2) and with MBEC bit 10 */
	tnode_t		*n;
	size_t		nn, cap;
	size_t		first;		/* the current root's first node */
	size_t		*hash;		/* (frame, level) -> node + 1, for the
					   current root; 0 = empty */
	size_t		hcap;		/* a power of two */
	int		err;		/* a negative HT_E* code */
} twalk_t;

static size_t
hslot(const twalk_t *t, ht_pa_t pa, unsigned level)
{
	uint64_t h = (pa ^ level) * 0x9e3779b97f4a7c15ull;

	return ((size_t)(h >> 20) & (t->hcap - 1));
}

/* The node of (pa, level) under the current root, or -1. */
static long
lookup(const twalk_t *t, ht_pa_t pa, unsigned level)
{
	if (t->hcap == 0)
		return (-1);
	for (size_t i = hslot(t, pa, level); t->hash[i] != 0;
	    i = (i + 1) & (t->hcap - 1)) {
		const tnode_t *x = &t->n[t->hash[i] - 1];

		if (x->pa == pa && x->level == level)
			return ((long)(t->hash[i] - 1));
	}
	return (-1);
}

static void
hput(twalk_t *t, size_t node)
{
	size_t i = hslot(t, t->n[node].pa, t->n[node].level);

	while (t->hash[i] != 0)
		i = (i + 1) & (t->hcap - 1);
	t->hash[i] = node + 1;
}

/* Room for one more node of the current root; 0 or -HT_ENOMEM. */
static int
reserve(twalk_t *t)
{
	size_t live = t->nn - t->first;

	if (t->nn == t->cap) {
		size_t c = t->cap ? 2 * t->cap : 256;
		tnode_t *n = realloc(t->n, c * sizeof (*n));

		if (n == NULL)
			return (-HT_ENOMEM);
		t->n = n;
		t->cap = c;
	}
	if (2 * (live + 1) > t->hcap) {
		size_t c = t->hcap ? 2 * t->hcap : 1024;
		size_t *h = calloc(c, sizeof (*h));

		if (h == NULL)
			return (-HT_ENOMEM);
		free(t->hash);
		t->hash = h;
		t->hcap = c;
		for (size_t i = t->first; i < t->nn; i++)
			hput(t, i);
	}
	return (0);
}

/* va sign-extended from the mode's width (the modes with a hole). */
static uint64_t
canon(const ht_geometry_t *g, uint64_t va)
{
	if (g->hole_start != 0 && (va & (1ull << (g->va_bits - 1))))
		va |= ~0ull << g->va_bits;
	return (va);
}

/* Walk the table at pa, of level, first reached at va; 0 or an error. */
static int
walk(twalk_t *t, int root, ht_pa_t pa, unsigned level, uint64_t va,
    unsigned depth)
{
	const ht_geometry_t *g = t->g;
	int top = level == g->levels - 1;
	unsigned n = top ? g->top_level_count : g->ptes_per_table;
	uint64_t span = (uint64_t)n << g->level_shift[level];
	uint8_t buf[HT_PAGE_SIZE];
	long at = lookup(t, pa, level);
	size_t me;
	int rc;

	if (at >= 0) {
		t->n[at].reached++;
		return (0);
	}
	if (t->nn - t->first >= t->cfg.max_leaves)
		return (-HT_ERANGE);
	if ((rc = reserve(t)) != 0)
		return (rc);
	me = t->nn++;
	memset(&t->n[me], 0, sizeof (t->n[me]));
	t->n[me].pa = pa;
	t->n[me].level = level;
	t->n[me].root = root;
	t->n[me].depth = depth;
	t->n[me].va = va;
	t->n[me].last = top ? (g->va_bits == 64 || g->hole_start != 0 ?
	    ~0ull : (1ull << g->va_bits) - 1) : va + (span - 1);
	t->n[me].reached = 1;
	hput(t, me);
	rc = t->cfg.read(t->cfg.read_arg, pa, buf, (size_t)n * g->pte_size);
	if (rc < 0)
		return (rc);
	t->n[me].unbacked = rc == 1;
	for (unsigned i = 0; i < n; i++) {
		uint64_t e = 0, cva;
		unsigned k = g->levels - 1 - level;
		ht_scan_xlate_t x;

		memcpy(&e, buf + (size_t)i * g->pte_size, g->pte_size);
		if (!(e & t->present))
			continue;
		t->n[me].entries++;
		if (level == 0)
			continue;
		cva = canon(g, va + ((uint64_t)i << g->level_shift[level]));
		if ((rc = ht_scan_translate(&t->cfg, cva, &x)) != 0)
			return (rc);
		/* the MMU's walk goes on below this entry: a link */
		if (x.nsteps <= k + 1 || x.step[k].addr != pa +
		    (ht_pa_t)i * g->pte_size)
			continue;
		if ((rc = walk(t, root, x.step[k + 1].addr -
		    (ht_pa_t)x.step[k + 1].index * g->pte_size, level - 1, cva,
		    depth + 1)) != 0)
			return (rc);
	}
	return (0);
}

static const tnode_t *sort_base;

static int
by_table(const void *a, const void *b)
{
	const tnode_t *x = &sort_base[*(const size_t *)a];
	const tnode_t *y = &sort_base[*(const size_t *)b];

	if (x->pa != y->pa)
		return (x->pa < y->pa ? -1 : 1);
	if (x->level != y->level)
		return (x->level < y->level ? -1 : 1);
	return (x->root < y->root ? -1 : x->root > y->root);
}

/* One table's line. */
static void
print_node(const twalk_t *t, const image_opts_t *o, const size_t *order,
    const tnode_t *x, FILE *out)
{
	fprintf(out, "%*sL%u %016" PRIx64 " %016" PRIx64 "-%016" PRIx64
	    " %u entr%s", (int)(2 * x->depth), "", x->level, x->pa, x->va,
	    x->last, x->entries, x->entries == 1 ? "y" : "ies");
	if (x->unbacked)
		fprintf(out, ", not in the image");
	if (x->reached > 1)
		fprintf(out, ", reached %u times", x->reached);
	for (size_t i = x->grp, any = 0; i < x->grp + x->ngrp; i++) {
		const tnode_t *y = &t->n[order[i]];
		char name[CLI_ROOT_NAME];

		if (y->root == x->root)
			continue;
		fprintf(out, "%s%s", any++ ? " " : "  also: ",
		    cli_root_name(&o->roots[y->root], name, sizeof (name)));
		if (y->va != x->va)
			fprintf(out, "@0x%" PRIx64, y->va);
	}
	fputc('\n', out);
}

int
dump_tables(const char *path, image_opts_t *o, FILE *out)
{
	twalk_t t;
	size_t *order = NULL;
	int rc = 0, multi = image_opts_multi(o);

	memset(&t, 0, sizeof (t));
	t.cfg = o->cfg;
	t.g = ht_geometry(o->cfg.mode);
	t.present = 1;
	if (o->cfg.mode == HT_MODE_EPT4 || o->cfg.mode == HT_MODE_EPT5)
		t.present = 7 | ((o->cfg.flags & HT_SCAN_EPT_MBEC) ? 0x400 :
		    0);
	for (int k = 0; k < o->nroots && rc == 0; k++) {
		t.cfg.cr3 = o->roots[k].cr3;
		t.first = t.nn;
		if (t.hash != NULL)
			memset(t.hash, 0, t.hcap * sizeof (*t.hash));
		rc = walk(&t, k, t.cfg.cr3 & t.g->root_mask, t.g->levels - 1,
		    0, 0);
	}
	if (rc == 0 && (order = malloc((t.nn ? t.nn : 1) *
	    sizeof (*order))) == NULL)
		rc = -HT_ENOMEM;
	if (rc != 0) {
		fprintf(stderr, "htable dump: %s: %s\n", path,
		    rc == -HT_ERANGE ? "more tables under one root than "
		    "--max-leaves allows" : rc == -HT_ENOMEM ?
		    "out of memory" : ht_errdetail());
		free(t.n);
		free(t.hash);
		return (rc == -HT_ERANGE ? EXIT_INPUT : EXIT_IO);
	}
	/* group the tables of every root by (frame, level) */
	for (size_t i = 0; i < t.nn; i++)
		order[i] = i;
	sort_base = t.n;
	qsort(order, t.nn, sizeof (*order), by_table);
	for (size_t i = 0, j; i < t.nn; i = j) {
		for (j = i + 1; j < t.nn && t.n[order[j]].pa ==
		    t.n[order[i]].pa && t.n[order[j]].level ==
		    t.n[order[i]].level; j++)
			;
		for (size_t m = i; m < j; m++) {
			t.n[order[m]].grp = i;
			t.n[order[m]].ngrp = j - i;
		}
	}
	for (size_t i = 0; i < t.nn; i++) {
		if (multi && (i == 0 || t.n[i].root != t.n[i - 1].root))
			cli_root_header(out, &o->roots[t.n[i].root]);
		print_node(&t, o, order, &t.n[i], out);
	}
	for (size_t i = 0; i < t.nn; i++)
		if (t.n[i].unbacked && t.n[i].reached != 0) {
			fprintf(stderr, "htable: warning: %s: table frames "
			    "lie beyond the image (or where a dump holds no "
			    "page) and read as zeros (the first at pa 0x%"
			    PRIx64 ")\n", path, t.n[i].pa);
			break;
		}
	free(order);
	free(t.n);
	free(t.hash);
	return (0);
}
