/*
 * cmd_diff.c - `htable diff`: what changed between two address spaces,
 * two roots of one image or the same root in two snapshots.
 *
 * Theory of operation.  Each side is scanned and coalesced as `htable
 * dump` coalesces it (format.c: its ranges, collected through on_range),
 * so both are ascending lists of disjoint ranges.  One sweep over the
 * union of their boundaries cuts the VA space into pieces, each covered
 * by one range of A or none and one of B or none; a piece is
 *   added     in B only,
 *   removed   in A only,
 *   changed   in both, but to another PA or with other rights or
 *             attributes (the text dump prints after the address),
 *   the same  otherwise (not printed).
 * Consecutive pieces of the same kind join into one line while they
 * continue (in VA, and in PA on the sides they have); so a range whose
 * rights changed over its whole length is one line.  The page of
 * `htable show` computes the same diff in its script, line for line (the
 * browser test compares the two).
 *
 * A line:  + START-LAST PA SIZE PERM...          (added: B's)
 *          - START-LAST PA SIZE PERM...          (removed: A's)
 *          ~ START-LAST PA SIZE PERM... => PA SIZE PERM...  (A's, B's)
 * then "added N (B bytes), removed N (B bytes), changed N (B bytes)".
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format.h"

#define DIFF_MAX_LEAVES	(1ull << 24)

void
usage_diff(FILE *f)
{
	fprintf(f, "usage: htable diff A B --cr3 [NAME=]X [--cr3 Y] --mode M"
	    "\n"
	    "       htable diff IMAGE --cr3 X --cr3 Y --mode M\n"
	    "       htable diff DUMP-A DUMP-B\n"
	    "  What changed from the address space A to B: the same root in\n"
	    "  two snapshots (A and B images, one --cr3, or each dump's own\n"
	    "  CPU), two roots of one image (two --cr3 or a --roots file\n"
	    "  naming two), or root X of A and Y of B.  One line per change,\n"
	    "  ranges as htable dump prints them:\n"
	    "    + START-LAST PA SIZE PERM ...        added: mapped in B only\n"
	    "    - START-LAST PA SIZE PERM ...        removed: in A only\n"
	    "    ~ START-LAST A's PA SIZE PERM ... => B's\n"
	    "                                         changed: another PA,\n"
	    "                                         rights or attributes\n"
	    "  then a line 'added N (B bytes), removed N (B bytes), changed N\n"
	    "  (B bytes)'.\n"
	    "  --cr3, --roots, --mode, --pa-bits, --ept, --dump-cpu,\n"
	    "  --max-leaves  as htable dump (for both sides)\n"
	    "Exit status: 0 the same, 3 they differ, 1 I/O failure, 2 bad\n"
	    "usage or input.\n");
}

/* A side: its ranges, as dump coalesces them. */
typedef struct side {
	fmt_state_t	fs;
	ht_leaf_t	*r;		/* first leaf of each range */
	uint64_t	*last;		/* its last VA */
	size_t		n, cap;
	int		nomem;
} side_t;

static void
collect(fmt_state_t *f)
{
	side_t *s = f->on_arg;

	if (s->n == s->cap) {
		size_t cap = s->cap != 0 ? s->cap * 2 : 256;
		ht_leaf_t *r = realloc(s->r, cap * sizeof (*r));
		uint64_t *l = r == NULL ? NULL :
		    realloc(s->last, cap * sizeof (*l));

		if (r != NULL)
			s->r = r;
		if (l == NULL) {
			s->nomem = 1;
			return;
		}
		s->last = l;
		s->cap = cap;
	}
	s->r[s->n] = f->run;
	s->last[s->n++] = f->run_last;
}

/* Scan side s of the image im under cfg.  0, or an exit status. */
static int
side_scan(side_t *s, const char *path, ht_scan_cfg_t *cfg, image_t *im)
{
	const fmt_t *text = fmt_lookup("text");
	int rc;

	s->fs.g = ht_geometry(cfg->mode);
	s->fs.ept_mode = cfg->mode == HT_MODE_EPT4 ||
	    cfg->mode == HT_MODE_EPT5;
	s->fs.ept = ((cfg->cr3 & 0x40) && s->fs.ept_mode ? HT_EPT_AD : 0) |
	    ((cfg->flags & HT_SCAN_EPT_MBEC) ? HT_EPT_MBEC : 0) |
	    ((cfg->flags & HT_SCAN_EPT_XONLY) ? HT_EPT_XONLY : 0);
	s->fs.on_range = collect;
	s->fs.on_arg = s;
	cfg->read_arg = im;
	rc = ht_scan(cfg, text->leaf, &s->fs, NULL);
	if (rc == 0)
		text->finish(&s->fs);
	if (rc == 0 && s->nomem)
		rc = -HT_ENOMEM;
	if (rc != 0) {
		fprintf(stderr, "htable diff: %s: %s\n", path,
		    rc == -HT_ENOMEM ? "out of memory" : ht_errdetail());
		return (rc == -HT_ERANGE ? EXIT_INPUT : EXIT_IO);
	}
	return (0);
}

/* The text of range i of s cut to start at va, after "START-LAST ". */
static const char *
piece_text(const side_t *s, size_t i, uint64_t va, char *buf, size_t len)
{
	ht_leaf_t r = s->r[i];

	r.pa += va - r.va;
	r.va = va;
	return (fmt_range_text(&s->fs, &r, buf, len));
}

/* The change being gathered into one line. */
typedef struct pending {
	int		kind;		/* '+', '-', '~'; 0 none */
	uint64_t	va, last;
	size_t		ia, ib;		/* the ranges of its first piece */
	uint64_t	pa_a, pa_b;	/* where its next piece must land */
} pending_t;

typedef struct tally {
	uint64_t	n[3], bytes[3];	/* added, removed, changed */
} tally_t;

static void
flush(const side_t *a, const side_t *b, pending_t *p, tally_t *t)
{
	char ta[128], tb[128];
	int k;

	if (p->kind == 0)
		return;
	k = p->kind == '+' ? 0 : p->kind == '-' ? 1 : 2;
	t->n[k]++;
	t->bytes[k] += p->last - p->va + 1;
	printf("%c %016" PRIx64 "-%016" PRIx64 " %s", p->kind, p->va, p->last,
	    p->kind == '+' ? piece_text(b, p->ib, p->va, tb, sizeof (tb)) :
	    piece_text(a, p->ia, p->va, ta, sizeof (ta)));
	if (p->kind == '~')
		printf(" => %s", piece_text(b, p->ib, p->va, tb, sizeof (tb)));
	putchar('\n');
	p->kind = 0;
}

/* Do ranges i of a and j of b show the same text at va (the same PA)? */
static int
same(const side_t *a, size_t i, const side_t *b, size_t j, uint64_t va)
{
	char ta[128], tb[128];

	return (strcmp(piece_text(a, i, va, ta, sizeof (ta)),
	    piece_text(b, j, va, tb, sizeof (tb))) == 0);
}

/* Do ranges i and j of s show the same text but for the PA? */
static int
same_attrs(const side_t *s, size_t i, size_t j)
{
	ht_leaf_t ri = s->r[i], rj = s->r[j];
	char x[128], y[128];

	ri.pa = rj.pa = 0;
	return (i == j || strcmp(fmt_range_text(&s->fs, &ri, x, sizeof (x)),
	    fmt_range_text(&s->fs, &rj, y, sizeof (y))) == 0);
}

/*
 * Add the piece [va, last] covered by range ia of A and ib of B
 * (SIZE_MAX: none) to the pending line, or start a new one.
 */
static void
piece(const side_t *a, const side_t *b, size_t ia, size_t ib, uint64_t va,
    uint64_t last, pending_t *p, tally_t *t)
{
	int kind = ia == SIZE_MAX ? '+' : ib == SIZE_MAX ? '-' : '~';
	uint64_t pa = ia != SIZE_MAX ? a->r[ia].pa + (va - a->r[ia].va) : 0;
	uint64_t pb = ib != SIZE_MAX ? b->r[ib].pa + (va - b->r[ib].va) : 0;

	if (kind == '~' && same(a, ia, b, ib, va)) {
		flush(a, b, p, t);
		return;
	}
	/*
	 * It joins the pending line when it continues it: the same kind,
	 * the next VA, on each side it has the PA that continues and the
	 * same text but for the PA.
	 */
	if (p->kind == kind && va == p->last + 1 &&
	    (ia == SIZE_MAX || (pa == p->pa_a && same_attrs(a, ia, p->ia))) &&
	    (ib == SIZE_MAX || (pb == p->pa_b && same_attrs(b, ib, p->ib)))) {
		p->last = last;
		p->pa_a = pa + (last - va + 1);
		p->pa_b = pb + (last - va + 1);
		return;
	}
	flush(a, b, p, t);
	*p = (pending_t){ .kind = kind, .va = va, .last = last, .ia = ia,
	    .ib = ib, .pa_a = pa + (last - va + 1),
	    .pa_b = pb + (last - va + 1) };
}

/* The sweep: print every change of a to b; 0 same, 1 they differ. */
static int
sweep(const side_t *a, const side_t *b)
{
	size_t i = 0, j = 0;
	pending_t p = { 0 };
	tally_t t = { { 0 }, { 0 } };
	uint64_t va = 0;
	int done = 0;

	while (!done && (i < a->n || j < b->n)) {
		/* skip what ends before va */
		while (i < a->n && a->last[i] < va)
			i++;
		while (j < b->n && b->last[j] < va)
			j++;
		if (i == a->n && j == b->n)
			break;
		uint64_t sa = i < a->n ? (a->r[i].va > va ? a->r[i].va : va) :
		    UINT64_MAX;
		uint64_t sb = j < b->n ? (b->r[j].va > va ? b->r[j].va : va) :
		    UINT64_MAX;
		uint64_t start = sa < sb ? sa : sb, end;
		int ina = sa == start, inb = sb == start;

		/* the piece ends where either side next changes */
		end = ina ? a->last[i] : UINT64_MAX;
		if (inb && b->last[j] < end)
			end = b->last[j];
		if (!ina && sa != UINT64_MAX && sa - 1 < end)
			end = sa - 1;
		if (!inb && sb != UINT64_MAX && sb - 1 < end)
			end = sb - 1;
		piece(a, b, ina ? i : SIZE_MAX, inb ? j : SIZE_MAX, start, end,
		    &p, &t);
		if (end == UINT64_MAX)
			done = 1;
		va = end + 1;
	}
	flush(a, b, &p, &t);
	printf("added %" PRIu64 " (%" PRIu64 " bytes), removed %" PRIu64
	    " (%" PRIu64 " bytes), changed %" PRIu64 " (%" PRIu64 " bytes)\n",
	    t.n[0], t.bytes[0], t.n[1], t.bytes[1], t.n[2], t.bytes[2]);
	return (t.n[0] + t.n[1] + t.n[2] != 0);
}

/*
 * Parse argv into *o (image options; the rest are diff's own).  0, or an
 * exit status after a message (EXIT_OK after --help).
 */
static int
parse(int argc, char **argv, image_opts_t *o)
{
	static const struct option opts[] = {
		IMAGE_LONG_OPTIONS,
		{ "max-leaves", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:m:p:n:h", opts, NULL)) != -1) {
		switch (image_opt(o, c, optarg)) {
		case 1: continue;
		case -1: return (EXIT_INPUT);
		default: break;
		}
		if (c == 'h') {
			usage_diff(stdout);
			return (EXIT_OK);
		}
		usage_diff(stderr);
		return (EXIT_INPUT);
	}
	return (-1);
}

int
cmd_diff(int argc, char **argv)
{
	image_opts_t oa = { .cfg.max_leaves = DIFF_MAX_LEAVES };
	image_opts_t ob = { .cfg.max_leaves = DIFF_MAX_LEAVES };
	side_t a = { .fs.out = stdout }, b = { .fs.out = stdout };
	const char *pa, *pb;
	image_t ima, imb;
	int rc, opened_a = 0, opened_b = 0, two;

	if ((rc = parse(argc, argv, &oa)) >= 0)
		goto out;
	rc = EXIT_INPUT;
	two = argc - optind == 2;
	if (argc - optind != 1 && !two) {
		usage_diff(stderr);
		goto out;
	}
	pa = argv[optind];
	pb = two ? argv[optind + 1] : pa;
	/* B's options: the same, parsed again */
	if (two && parse(argc, argv, &ob) >= 0)
		goto out;
	if ((rc = image_opts_open(&oa, "diff", pa, &ima)) != 0)
		goto out;
	opened_a = 1;
	if (!two && oa.nroots != 2) {
		fprintf(stderr, "htable diff: %s: one image takes two roots "
		    "(two --cr3, or a --roots file naming two), not %d\n", pa,
		    oa.nroots);
		rc = EXIT_INPUT;
		goto out;
	}
	if (two && oa.nroots > 2) {
		fprintf(stderr, "htable diff: two images take one root (the "
		    "same in both) or two (A's, then B's), not %d\n",
		    oa.nroots);
		rc = EXIT_INPUT;
		goto out;
	}
	if (two) {
		if ((rc = image_opts_open(&ob, "diff", pb, &imb)) != 0)
			goto out;
		opened_b = 1;
	}
	oa.cfg.cr3 = oa.roots[0].cr3;
	if ((rc = side_scan(&a, pa, &oa.cfg, &ima)) != 0)
		goto out;
	if (two) {
		ob.cfg.cr3 = ob.roots[ob.nroots - 1].cr3;
		rc = side_scan(&b, pb, &ob.cfg, &imb);
	} else {
		oa.cfg.cr3 = oa.roots[1].cr3;
		rc = side_scan(&b, pb, &oa.cfg, &ima);
	}
	if (rc != 0)
		goto out;
	rc = sweep(&a, &b) ? EXIT_DISAGREE : EXIT_OK;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "htable diff: writing the output: %s\n",
		    strerror(errno));
		rc = EXIT_IO;
	}
out:
	if (opened_a)
		cli_image_close(pa, &ima);
	if (opened_b)
		cli_image_close(pb, &imb);
	image_opts_free(&oa);
	image_opts_free(&ob);
	free(a.r);
	free(a.last);
	free(b.r);
	free(b.last);
	return (rc);
}
