/*
 * spec.c - the layout language: one statement per line, '#' comments,
 * C-style numbers with an optional k/m/g suffix.
 *
 *	mode 32bit|pae|4level|5level|npt4|npt5|ept4|ept5
 *					(first statement if present)
 *	ept [ad] [mbec] [xonly]		(EPT modes: config.ept; before
 *					the statements below `kpti`)
 *	pagesizes 4k 2m ...		(what the target CPU supports)
 *	pool PA LEN			(page-table frames; at least one)
 *	kpti				(CPU roots come in KPTI pairs)
 *	map VA PA LEN [w x u g pwt pcd pat page=4k|2m|4m|1g sw=N]
 *	map VA PA LEN [w x xu noread mt=T ipat sve vgp pw page=.. sw=N]
 *					(EPT; T is uc|wc|wt|wp|wb or 0..7)
 *	unmap VA LEN
 *	np VA LEN VALUE [INCR]		(non-present entries with data)
 *	protect VA LEN [w] [x] [u]	(EPT: [w] [x] [xu] [noread])
 *	space NAME [copied] [pcid=N]	(select a space; make it if new)
 *	share VA from NAME SRC_VA LEN	(ht_share from an earlier space)
 *	unshare VA LEN
 *	cpu ID [kernel NAME] [kpti NAME] [user=N]	(a CPU root)
 *	switch ID NAME|none		(ht_switch)
 *	guest 32bit|pae|4level|5level [in NAME]
 *					(npt4, npt5, ept4, ept5: the rest
 *					of the file is the guest's)
 *
 * Theory of operation.  The mapping statements (map, unmap, np, protect)
 * and share/unshare act on the current space: the one the last `space`
 * statement named, or before any `space`, a space called "default" that
 * the first of them makes (a spec without `space` statements is one
 * space, as the language always was).  A name must be defined before a
 * statement uses it, so a space can share only from an earlier one and
 * a CPU root's kernel spaces exist when it is made; to tell "defined
 * later" from "never defined" the parser first reads the whole file and
 * notes where each space and CPU is defined.
 *
 * Statements are applied in order (spec_run): a space is made at its
 * first `space` statement (the default space first of all), a CPU root
 * at its `cpu` statement, so a map after a switch is a change to the
 * running space, seen through the CPU root at once.
 *
 * The guest section.  In a hypervisor's mode (npt4, npt5, ept4, ept5)
 * the statement `guest MODE` ends the host's statements: those after it
 * describe the guest's own tables, in the guest's mode, as a spec of
 * their own (spec_t.guest): pagesizes, pool, map, unmap, np and
 * protect, whose pools and physical addresses are guest-physical.  The
 * guest is one address space (no space, share, unshare, cpu, switch,
 * kpti, ept or mode in its section), and its memory is what one host
 * space maps: the current space at the `guest` statement (the default
 * space without `space` statements), or the one `in NAME` names, which
 * must have a root of its own (not copied).  guest.c builds it.
 *
 * Everything the library can check (alignment, canonical addresses,
 * physical width, page sizes, what a share or a CPU root may be, which
 * EPT attributes go together) is checked by it when the statement is
 * applied; the parser checks the syntax and the names, and that each
 * attribute word belongs to the file's entry format: the x86 one (u, g,
 * pwt, pcd, pat) or EPT's (xu, noread, mt=, ipat, sve, vgp, pw), so that
 * a word of the other format is refused with the word to use instead.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spec.h"

#define MAXTOK 16

int
spec_bad(FILE *err, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(err, "%s:%d: ", file, line);
	/*
	 * fmt is never NULL (every caller's is a literal); the test keeps
	 * gcc's format check quiet where UBSan's null checks make it see
	 * a NULL path into this extern function
	 */
	if (fmt != NULL) {
		va_start(ap, fmt);
		vfprintf(err, fmt, ap);
		va_end(ap);
	}
	fputc('\n', err);
	return (-1);
}

/* A number: 0x.. or decimal, optional k/m/g (powers of 1024). */
int
spec_number(const char *t, uint64_t *r)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!isdigit((unsigned char)t[0]))
		return (-1);
	errno = 0;
	v = strtoull(t, &end, 0);
	if (errno != 0 || end == t)
		return (-1);
	if (*end != '\0') {
		switch (tolower((unsigned char)*end)) {
		case 'k': shift = 10; break;
		case 'm': shift = 20; break;
		case 'g': shift = 30; break;
		default: return (-1);
		}
		if (end[1] != '\0')
			return (-1);
		if (v > (~0ull >> shift))
			return (-1);
	}
	*r = (uint64_t)v << shift;
	return (0);
}

static int
pagesize(const char *t, unsigned *r)
{
	static const struct { const char *n; unsigned ps; } sz[] = {
		{ "4k", HT_PS_4K }, { "2m", HT_PS_2M }, { "4m", HT_PS_4M },
		{ "1g", HT_PS_1G },
	};

	for (unsigned i = 0; i < 4; i++) {
		if (strcasecmp(t, sz[i].n) == 0) {
			*r = sz[i].ps;
			return (0);
		}
	}
	return (-1);
}

/*
 * sw=N: the client's software bits, bit n of N standing for HT_SW(n)
 * (whether the mode has them is the library's check).
 */
static int
sw_flag(FILE *err, const char *file, int line, const char *t,
    unsigned *attr)
{
	uint64_t v;

	if (spec_number(t, &v) != 0 || v > (HT_SW_MASK >> 16))
		return (spec_bad(err, file, line, "sw=%s: expected a mask of "
		    "software bits 0..0x%x", t, HT_SW_MASK >> 16));
	*attr |= (unsigned)v << 16;
	return (0);
}

static int
need(FILE *err, const char *file, int line, const char *what, int ntok,
    int min, int max)
{
	if (ntok < min)
		return (spec_bad(err, file, line, "%s: missing field (expected "
		    "%d, got %d)", what, min - 1, ntok - 1));
	if (max >= 0 && ntok > max)
		return (spec_bad(err, file, line, "%s: too many fields", what));
	return (0);
}

static int
nums(FILE *err, const char *file, int line, char **tok, int n, uint64_t *v)
{
	for (int i = 0; i < n; i++)
		if (spec_number(tok[i + 1], &v[i]) != 0)
			return (spec_bad(err, file, line, "bad number '%s'",
			    tok[i + 1]));
	return (0);
}

/*
 * Room for element n of the array a of n elements of size sz (NULL when
 * n is 0), or NULL (out of memory; a is kept).  The array's size is
 * always the power of two, at least 8, that n + 1 fits in, and it grows
 * only when n reaches it: a file of n statements costs O(n) copying,
 * not O(n^2), whatever realloc does (ASan's always moves).
 */
static void *
room(void *a, int n, size_t sz)
{
	size_t cap = 8;

	while (cap < (size_t)n)
		cap *= 2;
	if (a != NULL && (size_t)n < cap)
		return (a);
	return (realloc(a, (a == NULL ? cap : cap * 2) * sz));
}

static int
add_stmt(spec_t *s, const spec_stmt_t *st)
{
	spec_stmt_t *n = room(s->stmts, s->nstmts, sizeof (*n));

	if (n == NULL)
		return (-1);
	s->stmts = n;
	s->stmts[s->nstmts++] = *st;
	return (0);
}

/* Is mode one of EPT's?  (spec.h) */
int
spec_mode_ept(ht_mode_t mode)
{
	return (mode == HT_MODE_EPT4 || mode == HT_MODE_EPT5);
}

/* Is mode a hypervisor's?  (spec.h) */
int
spec_mode_nested(ht_mode_t mode)
{
	return (spec_mode_ept(mode) || mode == HT_MODE_NPT4 ||
	    mode == HT_MODE_NPT5);
}

/*
 * The attribute words of map and protect.  Each belongs to the x86 entry
 * format (every mode but EPT), to EPT's, or to both; a word of the other
 * format is refused, and `instead` says what EPT has in its place.
 */
#define AW_X86		1
#define AW_EPT		2
#define AW_BOTH		(AW_X86 | AW_EPT)

typedef struct aword {
	const char	*word;
	unsigned	attr;
	int		fmt;		/* AW_* */
	int		protect;	/* a permission protect takes */
	const char	*instead;	/* x86 words: EPT's equivalent */
} aword_t;

static const aword_t awords[] = {
	{ "w", HT_W, AW_BOTH, 1, NULL },
	{ "x", HT_X, AW_BOTH, 1, NULL },
	{ "u", HT_U, AW_X86, 1, "EPT has no user bit; use 'xu' to allow "
	    "fetches from user-mode addresses (with 'ept mbec')" },
	{ "g", HT_G, AW_X86, 0, "EPT has no global pages; its bit 6 is "
	    "'ipat' (ignore the guest's PAT type)" },
	{ "pwt", HT_PWT, AW_X86, 0, "EPT names a memory type instead: use "
	    "mt=uc|wc|wt|wp|wb" },
	{ "pcd", HT_PCD, AW_X86, 0, "EPT names a memory type instead: use "
	    "mt=uc|wc|wt|wp|wb" },
	{ "pat", HT_PAT, AW_X86, 0, "EPT names a memory type instead: use "
	    "mt=uc|wc|wt|wp|wb" },
	{ "xu", HT_XU, AW_EPT, 1, NULL },
	{ "noread", HT_NOREAD, AW_EPT, 1, NULL },
	{ "ipat", HT_EPT_IPAT, AW_EPT, 0, NULL },
	{ "sve", HT_EPT_SVE, AW_EPT, 0, NULL },
	{ "vgp", HT_EPT_VGP, AW_EPT, 0, NULL },
	{ "pw", HT_EPT_PW, AW_EPT, 0, NULL },
};
#define NAWORDS	(sizeof (awords) / sizeof (awords[0]))

/*
 * mt=T of statement what: an EPT memory type by name, or by number 0..7
 * (the library refuses the reserved 2, 3 and 7).  0 with HT_EPT_MT(type)
 * ORed into *attr, or -1 after a message.
 */
static int
mt_word(FILE *err, const char *file, int line, const char *what,
    const char *t, unsigned *attr)
{
	static const struct { const char *n; unsigned t; } mt[] = {
		{ "uc", HT_EPT_UC }, { "wc", HT_EPT_WC }, { "wt", HT_EPT_WT },
		{ "wp", HT_EPT_WP }, { "wb", HT_EPT_WB },
	};
	uint64_t v;

	for (unsigned i = 0; i < sizeof (mt) / sizeof (mt[0]); i++) {
		if (strcmp(t, mt[i].n) == 0) {
			*attr |= HT_EPT_MT(mt[i].t);
			return (0);
		}
	}
	if (spec_number(t, &v) == 0 && v <= 7) {
		*attr |= HT_EPT_MT(v);
		return (0);
	}
	return (spec_bad(err, file, line, "%s: mt=%s: expected an EPT memory "
	    "type: uc, wc, wt, wp or wb (or its number 0..7)", what, t));
}

/*
 * One attribute word t of statement what (map, or protect when prot) in
 * mode: its bits ORed into *attr (*mt counts the mt= words).  1 taken,
 * 0 not a word of the statement (the caller says so), -1 after a
 * message: a word of the other entry format, or mt= twice.
 */
static int
attr_word(FILE *err, const char *file, int line, ht_mode_t mode,
    const char *what, int prot, const char *t, unsigned *attr, int *mt)
{
	int fmt = spec_mode_ept(mode) ? AW_EPT : AW_X86;

	for (unsigned i = 0; i < NAWORDS; i++) {
		const aword_t *a = &awords[i];

		if (strcmp(t, a->word) != 0)
			continue;
		if (prot && !a->protect)
			return (0);
		if (!(a->fmt & fmt) && fmt == AW_EPT)
			return (spec_bad(err, file, line, "%s: '%s' is an x86 "
			    "attribute, not one of EPT: %s", what, t,
			    a->instead));
		if (!(a->fmt & fmt))
			return (spec_bad(err, file, line, "%s: '%s' is an EPT "
			    "attribute (modes ept4 and ept5), not one of %s "
			    "paging", what, t, ht_mode_name(mode)));
		*attr |= a->attr;
		return (1);
	}
	if (strncmp(t, "mt=", 3) == 0 && !prot) {
		if (fmt != AW_EPT)
			return (spec_bad(err, file, line, "%s: '%s' is an EPT "
			    "attribute (modes ept4 and ept5), not one of %s "
			    "paging; x86 selects a PAT entry with pwt, pcd "
			    "and pat", what, t, ht_mode_name(mode)));
		if ((*mt)++ != 0)
			return (spec_bad(err, file, line, "%s: mt= given twice",
			    what));
		return (mt_word(err, file, line, what, t + 3, attr) == 0 ?
		    1 : -1);
	}
	return (0);
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

#define LINE_BYTES	4096	/* a longer line is read as several */

/* Where the file defines a space (name) or a CPU (id): the look-ahead. */
typedef struct defn {
	char		name[SPEC_NAME_MAX + 1];	/* "" for a CPU */
	unsigned	id;
	int		line;
} defn_t;

typedef struct pstate {
	spec_t		*s;
	FILE		*err;
	const char	*path;
	int		line;
	int		cur;		/* the current space, -1 before any */
	defn_t		*defs;		/* every `space` and `cpu` line */
	int		ndefs;
	int		used;		/* the first line that makes or changes
					   a space or CPU root; 0 = none yet */
	spec_t		*host;		/* in the guest section: the host's
					   spec (s is then the guest's) */
} pstate_t;

/*
 * Cut the comment off buf and split it at blanks into tok.  The number
 * of tokens, or -1 when there are more than MAXTOK.
 */
static int
tokenize(char *buf, char **tok)
{
	char *p, *save;
	int ntok = 0;

	if ((p = strchr(buf, '#')) != NULL)
		*p = '\0';
	for (p = strtok_r(buf, " \t\r\n", &save); p != NULL;
	    p = strtok_r(NULL, " \t\r\n", &save)) {
		if (ntok == MAXTOK)
			return (-1);
		tok[ntok++] = p;
	}
	return (ntok);
}

/* A name of a space: a letter or '_', then letters, digits, '_', '-'. */
static int
name_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > SPEC_NAME_MAX ||
	    !(isalpha((unsigned char)t[0]) || t[0] == '_'))
		return (0);
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '-')
			return (0);
	return (1);
}

/*
 * Names no space may have: "none" (`switch ID none` runs nothing) and
 * "cpuN", the name of CPU root N in every output.
 */
static const char *
name_reserved(const char *t)
{
	if (strcmp(t, "none") == 0)
		return ("'switch ID none' runs no space");
	if (strncmp(t, "cpu", 3) == 0 && t[3] != '\0' &&
	    strspn(t + 3, "0123456789") == strlen(t + 3))
		return ("CPU roots are called cpuN");
	return (NULL);
}

static int
find_space(const spec_t *s, const char *name)
{
	for (int i = 0; i < s->nspaces; i++)
		if (strcmp(s->spaces[i].name, name) == 0)
			return (i);
	return (-1);
}

static int
find_cpu(const spec_t *s, unsigned id)
{
	for (int i = 0; i < s->ncpus; i++)
		if (s->cpus[i].id == id)
			return (i);
	return (-1);
}

/* Grow an array of n elements of size sz by one; the new one zeroed. */
static void *
grow(void *a, int n, size_t sz)
{
	char *p = room(a, n, sz);

	if (p != NULL)
		memset(p + (size_t)n * sz, 0, sz);
	return (p);
}

/* Note where each space and CPU is first defined (for messages). */
static int
lookahead(pstate_t *ps, char **lines, int n)
{
	for (int i = 0; i < n; i++) {
		char buf[LINE_BYTES], *tok[MAXTOK];
		uint64_t v;
		defn_t *d;
		int ntok;

		(void) snprintf(buf, sizeof (buf), "%s", lines[i]);
		if ((ntok = tokenize(buf, tok)) < 2)
			continue;
		if (!(strcmp(tok[0], "space") == 0 && name_ok(tok[1])) &&
		    !(strcmp(tok[0], "cpu") == 0 &&
		    spec_number(tok[1], &v) == 0 && v <= 0xffffffffull))
			continue;
		if ((d = grow(ps->defs, ps->ndefs, sizeof (*d))) == NULL)
			return (-1);
		ps->defs = d;
		d += ps->ndefs++;
		d->line = i + 1;
		if (tok[0][0] == 's')
			(void) snprintf(d->name, sizeof (d->name), "%s",
			    tok[1]);
		else
			d->id = (unsigned)v;
	}
	return (0);
}

/* The first line after the current one that defines name or CPU id. */
static int
defined_later(const pstate_t *ps, const char *name, unsigned id)
{
	for (int i = 0; i < ps->ndefs; i++) {
		const defn_t *d = &ps->defs[i];

		if (d->line > ps->line && (name != NULL ?
		    strcmp(d->name, name) == 0 :
		    d->name[0] == '\0' && d->id == id))
			return (d->line);
	}
	return (0);
}

/* The space a statement names (what: for the message); 0 or -1. */
static int
use_space(pstate_t *ps, const char *what, const char *name, int *r)
{
	int at;

	if ((*r = find_space(ps->s, name)) >= 0)
		return (0);
	if ((at = defined_later(ps, name, 0)) != 0)
		return (spec_bad(ps->err, ps->path, ps->line, "%s: space '%s' is "
		    "defined later, at line %d: a statement can name only a "
		    "space defined before it", what, name, at));
	return (spec_bad(ps->err, ps->path, ps->line, "%s: no space '%s'", what,
	    name));
}

static int
add_space(spec_t *s, const spec_space_t *sp)
{
	spec_space_t *n = grow(s->spaces, s->nspaces, sizeof (*n));

	if (n == NULL)
		return (-1);
	s->spaces = n;
	s->spaces[s->nspaces++] = *sp;
	return (0);
}

static int
add_ctl(pstate_t *ps, const spec_ctl_t *c)
{
	spec_ctl_t *n = grow(ps->s->ctl, ps->s->nctl, sizeof (*n));

	if (n == NULL)
		return (spec_bad(ps->err, ps->path, ps->line, "out of memory"));
	ps->s->ctl = n;
	n[ps->s->nctl] = *c;
	n[ps->s->nctl++].line = ps->line;
	return (0);
}

/*
 * The space a mapping statement goes to: the current one, or before any
 * `space` statement the default space, made here.  0 or -1.
 */
static int
current(pstate_t *ps)
{
	spec_space_t sp;

	if (ps->cur >= 0)
		return (0);
	memset(&sp, 0, sizeof (sp));
	(void) snprintf(sp.name, sizeof (sp.name), "default");
	sp.line = ps->line;
	sp.implicit = 1;
	sp.pcid = -1;
	if (add_space(ps->s, &sp) != 0)
		return (spec_bad(ps->err, ps->path, ps->line, "out of memory"));
	ps->cur = ps->s->nspaces - 1;
	return (0);
}

/* space NAME [copied] [pcid=N] */
static int
st_space(pstate_t *ps, char **tok, int ntok)
{
	spec_t *s = ps->s;
	spec_space_t sp;
	spec_ctl_t c;
	const char *why;
	uint64_t v;
	int rc, i;

	if ((rc = need(ps->err, ps->path, ps->line, "space", ntok, 2, 4)))
		return (rc);
	if (!name_ok(tok[1]))
		return (spec_bad(ps->err, ps->path, ps->line, "space: bad name "
		    "'%s' (a letter or '_', then letters, digits, '_' or '-'; "
		    "at most %d)", tok[1], SPEC_NAME_MAX));
	if ((why = name_reserved(tok[1])) != NULL)
		return (spec_bad(ps->err, ps->path, ps->line, "space: the name '%s' "
		    "is reserved (%s)", tok[1], why));
	s->multi = 1;
	if ((i = find_space(s, tok[1])) >= 0) {
		if (ntok > 2)
			return (spec_bad(ps->err, ps->path, ps->line, "space %s: "
			    "its options go where it is first named (line %d)",
			    tok[1], s->spaces[i].line));
		ps->cur = i;
		return (0);
	}
	memset(&sp, 0, sizeof (sp));
	(void) snprintf(sp.name, sizeof (sp.name), "%s", tok[1]);
	sp.line = ps->line;
	sp.pcid = -1;
	for (int k = 2; k < ntok; k++) {
		if (strcmp(tok[k], "copied") == 0 && !sp.copied) {
			sp.copied = 1;
		} else if (strncmp(tok[k], "pcid=", 5) == 0 && sp.pcid < 0) {
			if (spec_number(tok[k] + 5, &v) != 0 || v > 4095)
				return (spec_bad(ps->err, ps->path, ps->line,
				    "space %s: %s: expected a PCID 0..4095",
				    sp.name, tok[k]));
			sp.pcid = (int)v;
		} else {
			return (spec_bad(ps->err, ps->path, ps->line, "space %s: "
			    "unknown or repeated option '%s' (copied, pcid=N)",
			    sp.name, tok[k]));
		}
	}
	if (add_space(s, &sp) != 0)
		return (spec_bad(ps->err, ps->path, ps->line, "out of memory"));
	ps->cur = s->nspaces - 1;
	memset(&c, 0, sizeof (c));
	c.kind = CT_SPACE;
	c.space = ps->cur;
	return (add_ctl(ps, &c));
}

/* share VA from NAME SRC_VA LEN */
static int
st_share(pstate_t *ps, char **tok, int ntok)
{
	spec_ctl_t c;
	int rc;

	if ((rc = need(ps->err, ps->path, ps->line, "share", ntok, 6, 6)))
		return (rc);
	if (strcmp(tok[2], "from") != 0)
		return (spec_bad(ps->err, ps->path, ps->line, "share: expected "
		    "'share VA from NAME SRC_VA LEN'"));
	memset(&c, 0, sizeof (c));
	c.kind = CT_SHARE;
	{
		const char *t[3] = { tok[1], tok[4], tok[5] };
		uint64_t *v[3] = { &c.va, &c.src_va, &c.len };

		for (int i = 0; i < 3; i++)
			if (spec_number(t[i], v[i]) != 0)
				return (spec_bad(ps->err, ps->path, ps->line,
				    "bad number '%s'", t[i]));
	}
	if ((rc = use_space(ps, "share", tok[3], &c.src)) != 0 ||
	    (rc = current(ps)) != 0)
		return (rc);
	if (c.src == ps->cur)
		return (spec_bad(ps->err, ps->path, ps->line, "share: space '%s' "
		    "cannot share from itself", tok[3]));
	c.space = ps->cur;
	return (add_ctl(ps, &c));
}

/* unshare VA LEN */
static int
st_unshare(pstate_t *ps, char **tok, int ntok)
{
	spec_ctl_t c;
	uint64_t v[2];
	int rc;

	if ((rc = need(ps->err, ps->path, ps->line, "unshare", ntok, 3, 3)) ||
	    (rc = nums(ps->err, ps->path, ps->line, tok, 2, v)) ||
	    (rc = current(ps)))
		return (rc);
	memset(&c, 0, sizeof (c));
	c.kind = CT_UNSHARE;
	c.space = ps->cur;
	c.va = v[0];
	c.len = v[1];
	return (add_ctl(ps, &c));
}

/* The half space of `cpu ID kernel|kpti NAME` into *r; 0 or -1. */
static int
cpu_half(pstate_t *ps, unsigned id, const char *opt, const char *name,
    int *r)
{
	char what[64];
	int rc;

	if (*r >= 0)
		return (spec_bad(ps->err, ps->path, ps->line, "cpu %u: '%s' given "
		    "twice", id, opt));
	if (name == NULL)
		return (spec_bad(ps->err, ps->path, ps->line, "cpu %u: '%s' needs "
		    "the name of a space", id, opt));
	(void) snprintf(what, sizeof (what), "cpu %u: %s", id, opt);
	if ((rc = use_space(ps, what, name, r)) != 0)
		return (rc);
	if (ps->s->spaces[*r].copied)
		return (spec_bad(ps->err, ps->path, ps->line, "cpu %u: %s space "
		    "'%s' is copied: the halves of a CPU root come from "
		    "ordinary spaces", id, opt, name));
	return (0);
}

/* cpu ID [kernel NAME] [kpti NAME] [user=N] */
static int
st_cpu(pstate_t *ps, char **tok, int ntok)
{
	spec_t *s = ps->s;
	spec_cpu_t cp, *n;
	spec_ctl_t c;
	uint64_t v;
	int rc, k, user = 0;

	if ((rc = need(ps->err, ps->path, ps->line, "cpu", ntok, 2, 7)))
		return (rc);
	if (spec_number(tok[1], &v) != 0 || v > 0xffffffffull)
		return (spec_bad(ps->err, ps->path, ps->line, "cpu: bad id '%s' "
		    "(a number below 2^32)", tok[1]));
	memset(&cp, 0, sizeof (cp));
	cp.id = (unsigned)v;
	cp.line = ps->line;
	cp.kernel = cp.kpti = -1;
	if ((k = find_cpu(s, cp.id)) >= 0)
		return (spec_bad(ps->err, ps->path, ps->line, "cpu %u is already "
		    "defined at line %d", cp.id, s->cpus[k].line));
	for (k = 2; k < ntok; k++) {
		const char *next = k + 1 < ntok ? tok[k + 1] : NULL;

		if (strcmp(tok[k], "kernel") == 0) {
			if ((rc = cpu_half(ps, cp.id, "kernel", next,
			    &cp.kernel)) != 0)
				return (rc);
			k++;
		} else if (strcmp(tok[k], "kpti") == 0) {
			if ((rc = cpu_half(ps, cp.id, "kpti", next,
			    &cp.kpti)) != 0)
				return (rc);
			k++;
		} else if (strncmp(tok[k], "user=", 5) == 0 && !user) {
			if (spec_number(tok[k] + 5, &v) != 0 || v == 0 ||
			    v > 4096)
				return (spec_bad(ps->err, ps->path, ps->line,
				    "cpu %u: %s: expected the number of "
				    "top-level entries of the user half, "
				    "1..4096", cp.id, tok[k]));
			cp.user_entries = (unsigned)v;
			user = 1;
		} else {
			return (spec_bad(ps->err, ps->path, ps->line, "cpu %u: "
			    "unknown or repeated option '%s' (kernel NAME, "
			    "kpti NAME, user=N)", cp.id, tok[k]));
		}
	}
	if ((n = grow(s->cpus, s->ncpus, sizeof (*n))) == NULL)
		return (spec_bad(ps->err, ps->path, ps->line, "out of memory"));
	s->cpus = n;
	s->cpus[s->ncpus++] = cp;
	s->multi = 1;
	memset(&c, 0, sizeof (c));
	c.kind = CT_CPU;
	c.cpu = s->ncpus - 1;
	return (add_ctl(ps, &c));
}

/* switch ID NAME|none */
static int
st_switch(pstate_t *ps, char **tok, int ntok)
{
	spec_ctl_t c;
	uint64_t v;
	int rc, at;

	if ((rc = need(ps->err, ps->path, ps->line, "switch", ntok, 3, 3)))
		return (rc);
	if (spec_number(tok[1], &v) != 0 || v > 0xffffffffull)
		return (spec_bad(ps->err, ps->path, ps->line, "switch: bad cpu id "
		    "'%s'", tok[1]));
	memset(&c, 0, sizeof (c));
	c.kind = CT_SWITCH;
	if ((c.cpu = find_cpu(ps->s, (unsigned)v)) < 0) {
		if ((at = defined_later(ps, NULL, (unsigned)v)) != 0)
			return (spec_bad(ps->err, ps->path, ps->line, "switch: cpu "
			    "%u is defined later, at line %d: a statement can "
			    "name only a cpu defined before it", (unsigned)v,
			    at));
		return (spec_bad(ps->err, ps->path, ps->line, "switch: no cpu %u",
		    (unsigned)v));
	}
	c.space = -1;
	if (strcmp(tok[2], "none") != 0 &&
	    (rc = use_space(ps, "switch", tok[2], &c.space)) != 0)
		return (rc);
	return (add_ctl(ps, &c));
}

/* One statement of the old language: mode pagesizes pool map unmap np
   protect.  0 or -1. */
static int
st_classic(pstate_t *ps, char **tok, int ntok, int any)
{
	spec_t *s = ps->s;
	FILE *err = ps->err;
	const char *path = ps->path;
	int line = ps->line, rc = 0;
	spec_stmt_t st;

	memset(&st, 0, sizeof (st));
	st.line = line;
	if (strcmp(tok[0], "mode") == 0) {
		if ((rc = need(err, path, line, "mode", ntok, 2, 2)))
			return (rc);
		if (any)
			return (spec_bad(err, path, line, "mode must be the first "
			    "statement"));
		if (ht_mode_parse(tok[1], &s->mode) != 0)
			rc = spec_bad(err, path, line, "unknown mode '%s' (32bit, "
			    "pae, 4level, 5level, npt4, npt5, ept4 or ept5)",
			    tok[1]);
		return (rc);
	}
	if (strcmp(tok[0], "pagesizes") == 0) {
		if ((rc = need(err, path, line, "pagesizes", ntok, 2, -1)))
			return (rc);
		s->pagesizes = 0;
		s->pagesizes_line = line;
		for (int i = 1; i < ntok && rc == 0; i++) {
			unsigned ps_;

			if (pagesize(tok[i], &ps_) != 0)
				rc = spec_bad(err, path, line, "unknown page size "
				    "'%s'", tok[i]);
			else
				s->pagesizes |= ps_;
		}
		return (rc);
	}
	if (strcmp(tok[0], "pool") == 0) {
		uint64_t v[2];

		if ((rc = need(err, path, line, "pool", ntok, 3, 3)) ||
		    (rc = nums(err, path, line, tok, 2, v)))
			return (rc);
		if (s->npools == HT_MAX_POOLS)
			return (spec_bad(err, path, line, "at most %d pools",
			    HT_MAX_POOLS));
		if (v[1] == 0 || ((v[0] | v[1]) & 0xfff))
			return (spec_bad(err, path, line, "pool 0x%llx +0x%llx "
			    "must be non-empty and 4 KiB aligned",
			    (unsigned long long)v[0],
			    (unsigned long long)v[1]));
		s->pools[s->npools].base = v[0];
		s->pools[s->npools].len = v[1];
		s->pool_line[s->npools] = line;
		s->npools++;
		return (0);
	}
	if (strcmp(tok[0], "map") == 0) {
		uint64_t v[3];
		int mt = 0, a;

		if ((rc = need(err, path, line, "map", ntok, 4, -1)) ||
		    (rc = nums(err, path, line, tok, 3, v)))
			return (rc);
		st.kind = ST_MAP;
		st.va = v[0];
		st.pa = v[1];
		st.len = v[2];
		for (int i = 4; i < ntok && rc == 0; i++) {
			const char *t = tok[i];

			if ((a = attr_word(err, path, line, s->mode, "map", 0,
			    t, &st.attr, &mt)) != 0)
				rc = a < 0 ? -1 : 0;
			else if (strncmp(t, "sw=", 3) == 0)
				rc = sw_flag(err, path, line, t + 3, &st.attr);
			else if (strncmp(t, "page=", 5) == 0) {
				if (pagesize(t + 5, &st.pagesize) != 0)
					rc = spec_bad(err, path, line, "unknown "
					    "page size '%s'", t + 5);
			} else
				rc = spec_bad(err, path, line, "unknown flag '%s' "
				    "(%s page= sw=)", t,
				    spec_mode_ept(s->mode) ?
				    "w x xu noread mt= ipat sve vgp pw" :
				    "w x u g pwt pcd pat");
		}
	} else if (strcmp(tok[0], "unmap") == 0) {
		uint64_t v[2];

		if ((rc = need(err, path, line, "unmap", ntok, 3, 3)) ||
		    (rc = nums(err, path, line, tok, 2, v)))
			return (rc);
		st.kind = ST_UNMAP;
		st.va = v[0];
		st.len = v[1];
	} else if (strcmp(tok[0], "np") == 0) {
		uint64_t v[4] = { 0, 0, 0, 0 };

		if ((rc = need(err, path, line, "np", ntok, 4, 5)) ||
		    (rc = nums(err, path, line, tok, ntok - 1, v)))
			return (rc);
		st.kind = ST_NP;
		st.va = v[0];
		st.len = v[1];
		st.pa = v[2];
		st.incr = v[3];
	} else if (strcmp(tok[0], "protect") == 0) {
		uint64_t v[2];
		int mt = 0, a;

		if ((rc = need(err, path, line, "protect", ntok, 3, 7)) ||
		    (rc = nums(err, path, line, tok, 2, v)))
			return (rc);
		st.kind = ST_PROTECT;
		st.va = v[0];
		st.len = v[1];
		for (int i = 3; i < ntok && rc == 0; i++) {
			if ((a = attr_word(err, path, line, s->mode,
			    "protect", 1, tok[i], &st.attr, &mt)) != 0)
				rc = a < 0 ? -1 : 0;
			else
				rc = spec_bad(err, path, line, "unknown permission "
				    "'%s' (%s)", tok[i],
				    spec_mode_ept(s->mode) ?
				    "w, x, xu, noread" : "w, x, u");
		}
	} else {
		return (spec_bad(err, path, line, "unknown statement '%s'",
		    tok[0]));
	}
	if (rc != 0 || (rc = current(ps)) != 0)
		return (rc);
	st.space = ps->cur;
	if (add_stmt(s, &st) != 0)
		rc = spec_bad(err, path, line, "out of memory");
	return (rc);
}

/*
 * ept [ad] [mbec] [xonly]: what the EPT tables may hold (config.ept).
 * Only in the EPT modes, once, and before the first statement that makes
 * or changes a space or CPU root, since they are made for it.  0 or -1.
 */
static int
st_ept(pstate_t *ps, char **tok, int ntok)
{
	spec_t *s = ps->s;

	if (s->ept_line != 0)
		return (spec_bad(ps->err, ps->path, ps->line, "ept: given twice "
		    "(first at line %d)", s->ept_line));
	if (!spec_mode_ept(s->mode))
		return (spec_bad(ps->err, ps->path, ps->line, "ept: EPT flags need "
		    "'mode ept4' or 'mode ept5' as the first statement (the "
		    "mode is %s)", ht_mode_name(s->mode)));
	if (ps->used != 0)
		return (spec_bad(ps->err, ps->path, ps->line, "ept must come before "
		    "the statements that make or change spaces and CPU roots "
		    "(the first is at line %d)", ps->used));
	for (int i = 1; i < ntok; i++) {
		if (strcmp(tok[i], "ad") == 0)
			s->ept |= HT_EPT_AD;
		else if (strcmp(tok[i], "mbec") == 0)
			s->ept |= HT_EPT_MBEC;
		else if (strcmp(tok[i], "xonly") == 0)
			s->ept |= HT_EPT_XONLY;
		else
			return (spec_bad(ps->err, ps->path, ps->line, "ept: unknown "
			    "word '%s' (ad, mbec, xonly)", tok[i]));
	}
	s->ept_line = ps->line;
	return (0);
}

/*
 * guest MODE [in NAME]: the statements after it are the guest's (the
 * file's comment).  0 or -1.
 */
static int
st_guest(pstate_t *ps, char **tok, int ntok)
{
	spec_t *s = ps->s, *g;
	ht_mode_t m;
	int rc, sp;

	if (ps->host != NULL)
		return (spec_bad(ps->err, ps->path, ps->line, "guest: given twice "
		    "(the guest section begins at line %d)",
		    ps->host->guest_line));
	if ((rc = need(ps->err, ps->path, ps->line, "guest", ntok, 2, 4)))
		return (rc);
	if (!spec_mode_nested(s->mode))
		return (spec_bad(ps->err, ps->path, ps->line, "guest: a guest's "
		    "tables need a hypervisor's: 'mode npt4', 'npt5', 'ept4' "
		    "or 'ept5' as the first statement (the mode is %s)",
		    ht_mode_name(s->mode)));
	if (ht_mode_parse(tok[1], &m) != 0 || spec_mode_nested(m))
		return (spec_bad(ps->err, ps->path, ps->line, "guest: unknown "
		    "guest mode '%s' (32bit, pae, 4level or 5level)", tok[1]));
	if (ntok == 3 || (ntok == 4 && strcmp(tok[2], "in") != 0))
		return (spec_bad(ps->err, ps->path, ps->line, "guest: expected "
		    "'guest MODE [in SPACE]'"));
	if (ntok == 4) {
		if ((rc = use_space(ps, "guest", tok[3], &sp)) != 0)
			return (rc);
	} else {
		if ((rc = current(ps)) != 0)
			return (rc);
		sp = ps->cur;
	}
	if (s->spaces[sp].copied)
		return (spec_bad(ps->err, ps->path, ps->line, "guest: space '%s' is "
		    "copied (no root of its own): the guest's memory must be "
		    "what a hypervisor's root maps", s->spaces[sp].name));
	if ((g = calloc(1, sizeof (*g))) == NULL)
		return (spec_bad(ps->err, ps->path, ps->line, "out of memory"));
	g->file = s->file;
	g->mode = m;
	s->guest = g;
	s->guest_line = ps->line;
	s->guest_space = sp;
	ps->host = s;
	ps->s = g;
	ps->cur = -1;
	return (0);
}

/*
 * A statement the guest section does not take: 0 if tok[0] is not one,
 * else -1 after a message.
 */
static int
guest_refuse(pstate_t *ps, const char *kw)
{
	static const char *const no[] = { "ept", "kpti", "space", "share",
	    "unshare", "cpu", "switch" };

	if (strcmp(kw, "mode") == 0)
		return (spec_bad(ps->err, ps->path, ps->line, "mode: the guest's "
		    "mode is the one 'guest' names (line %d)",
		    ps->host->guest_line));
	for (unsigned i = 0; i < sizeof (no) / sizeof (no[0]); i++)
		if (strcmp(kw, no[i]) == 0)
			return (spec_bad(ps->err, ps->path, ps->line, "%s: not in "
			    "the guest section (from line %d): the guest is "
			    "one address space; its statements are pagesizes, "
			    "pool, map, unmap, np and protect", kw,
			    ps->host->guest_line));
	return (0);
}

/* One statement (tok[0] is its keyword); 0 or -1. */
static int
statement(pstate_t *ps, char **tok, int ntok, int any)
{
	static const char *const context[] = { "mode", "pagesizes", "pool",
	    "kpti", "ept" };
	int ctx = 0;

	if (strcmp(tok[0], "guest") == 0)
		return (st_guest(ps, tok, ntok));
	if (ps->host != NULL && guest_refuse(ps, tok[0]) != 0)
		return (-1);

	/* the statements that make or change spaces and CPU roots */
	for (unsigned i = 0; i < sizeof (context) / sizeof (context[0]); i++)
		ctx |= strcmp(tok[0], context[i]) == 0;
	if (!ctx && ps->used == 0)
		ps->used = ps->line;
	if (strcmp(tok[0], "ept") == 0)
		return (st_ept(ps, tok, ntok));
	if (strcmp(tok[0], "space") == 0)
		return (st_space(ps, tok, ntok));
	if (strcmp(tok[0], "share") == 0)
		return (st_share(ps, tok, ntok));
	if (strcmp(tok[0], "unshare") == 0)
		return (st_unshare(ps, tok, ntok));
	if (strcmp(tok[0], "cpu") == 0)
		return (st_cpu(ps, tok, ntok));
	if (strcmp(tok[0], "switch") == 0)
		return (st_switch(ps, tok, ntok));
	if (strcmp(tok[0], "kpti") == 0) {
		int rc = need(ps->err, ps->path, ps->line, "kpti", ntok, 1, 1);

		if (rc == 0)
			ps->s->kpti = 1;
		return (rc);
	}
	return (st_classic(ps, tok, ntok, any));
}

/*
 * After the last line: the default space of a spec without mapping or
 * `space` statements, and KPTI on every CPU or on none.  0 or -1.
 */
static int
finish(pstate_t *ps)
{
	spec_t *s = ps->s;

	if (s->nspaces == 0) {
		ps->line = s->last_line;
		if (current(ps) != 0)
			return (-1);
	}
	for (int i = 0; i < s->ncpus; i++) {
		const spec_cpu_t *c = &s->cpus[i];

		if (s->kpti && c->kpti < 0)
			return (spec_bad(ps->err, ps->path, c->line, "cpu %u: with "
			    "kpti every CPU root is a pair: 'kpti NAME' names "
			    "the space of the user root's kernel half", c->id));
		if (!s->kpti && c->kpti >= 0)
			return (spec_bad(ps->err, ps->path, c->line, "cpu %u: 'kpti "
			    "%s' needs the 'kpti' statement", c->id,
			    s->spaces[c->kpti].name));
	}
	return (0);
}

int
spec_parse(const char *path, spec_t *s, FILE *err)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL) {
		memset(s, 0, sizeof (*s));
		fprintf(err, "%s: %s\n", path, strerror(errno));
		return (-1);
	}
	rc = spec_read(f, path, s, err);
	fclose(f);
	return (rc);
}

int
spec_read(FILE *f, const char *path, spec_t *s, FILE *err)
{
	char buf[LINE_BYTES], **lines = NULL;
	int nlines = 0, any = 0, rc = 0;
	pstate_t ps;

	memset(s, 0, sizeof (*s));
	s->file = path;
	s->mode = HT_MODE_4LEVEL;
	memset(&ps, 0, sizeof (ps));
	ps.s = s;
	ps.err = err;
	ps.path = path;
	ps.cur = -1;
	/* the whole file first, for the look-ahead */
	while (rc == 0 && fgets(buf, sizeof (buf), f) != NULL) {
		char **n = room(lines, nlines, sizeof (*n));

		if (n == NULL || (n[nlines] = strdup(buf)) == NULL) {
			if (n != NULL)
				lines = n;
			rc = spec_bad(err, path, nlines + 1, "out of memory");
			break;
		}
		lines = n;
		nlines++;
	}
	if (rc == 0 && lookahead(&ps, lines, nlines) != 0)
		rc = spec_bad(err, path, 1, "out of memory");
	for (int i = 0; rc == 0 && i < nlines; i++) {
		char *tok[MAXTOK];
		int ntok;

		ps.line = i + 1;
		if ((ntok = tokenize(lines[i], tok)) < 0) {
			rc = spec_bad(err, path, ps.line, "too many fields");
			break;
		}
		if (ntok == 0)
			continue;
		rc = statement(&ps, tok, ntok, any);
		any = 1;
	}
	s->last_line = nlines;
	if (ps.host != NULL) {
		/* the guest's section ends: its pools, its one space */
		ps.s->last_line = nlines;
		ps.line = nlines;
		if (rc == 0 && ps.s->npools == 0)
			rc = spec_bad(err, path, nlines, "guest: no pool: the "
			    "guest's page-table frames need at least one "
			    "'pool GPA LEN' after 'guest' (line %d)",
			    s->guest_line);
		if (rc == 0 && ps.s->nspaces == 0)
			rc = current(&ps);
		ps.s = ps.host;
		ps.cur = -1;
	}
	if (rc == 0 && ferror(f))
		rc = spec_bad(err, path, nlines, "read error");
	if (rc == 0 && s->npools == 0)
		rc = spec_bad(err, path, nlines, "no pool: page-table frames need "
		    "at least one 'pool PA LEN'");
	if (rc == 0)
		rc = finish(&ps);
	for (int i = 0; i < nlines; i++)
		free(lines[i]);
	free(lines);
	free(ps.defs);
	if (rc != 0)
		spec_free(s);
	return (rc);
}

void
spec_free(spec_t *s)
{
	if (s->guest != NULL) {
		spec_free(s->guest);
		free(s->guest);
		s->guest = NULL;
	}
	free(s->stmts);
	free(s->spaces);
	free(s->cpus);
	free(s->ctl);
	s->stmts = NULL;
	s->spaces = NULL;
	s->cpus = NULL;
	s->ctl = NULL;
	s->nstmts = s->nspaces = s->ncpus = s->nctl = 0;
}

/* ------------------------------------------------------------------ */
/* Applying                                                            */
/* ------------------------------------------------------------------ */

/* A call of the library failed with rc at line: say so; -1. */
static int
lib_error(const spec_t *s, int line, int rc, FILE *err)
{
	const char *d = ht_errdetail();

	if (rc == -HT_ENOFRAME)
		d = "the pools are too small for the tables";
	return (spec_bad(err, s->file, line, "%s: %s", ht_strerror(rc), d));
}

/* Make space i at line (its first `space`; the default space first). */
static int
make_space(const spec_t *s, spec_world_t *w, int i, int line, FILE *err)
{
	const spec_space_t *sp = &s->spaces[i];
	ht_as_t *as;
	int rc;

	if (i == 0 && w->first != NULL && !sp->copied) {
		as = w->first;
	} else if ((rc = ht_as_create(w->ctx, sp->copied ? HT_AS_COPIED : 0,
	    &as)) != 0) {
		if (rc != -HT_ENOFRAME)
			return (lib_error(s, line, rc, err));
		if (sp->implicit)
			return (spec_bad(err, s->file, s->last_line, "no frame for "
			    "the root table in the pools (%s)",
			    ht_errdetail()));
		return (spec_bad(err, s->file, line, "space %s: no frame for its "
		    "root table in the pools (%s)", sp->name, ht_errdetail()));
	}
	w->as[i] = as;
	if (sp->pcid >= 0 && (rc = ht_as_set_pcid(as, (unsigned)sp->pcid)) !=
	    0)
		return (lib_error(s, line, rc, err));
	return (0);
}

/* A mapping statement, on its space. */
static int
apply_stmt(const spec_t *s, spec_world_t *w, const spec_stmt_t *st,
    FILE *err)
{
	ht_as_t *as = w->as[st->space];
	unsigned attr = st->attr;
	int rc;

	/* 32-bit paging has no NX: every page is executable */
	if (s->mode == HT_MODE_32BIT)
		attr |= HT_X;
	switch (st->kind) {
	case ST_MAP:
		rc = ht_map(as, st->va, st->pa, st->len, attr,
		    HT_MAP_SIZE(st->pagesize));
		break;
	case ST_UNMAP:
		rc = ht_unmap(as, st->va, st->len, 0);
		break;
	case ST_NP:
		rc = ht_set_np(as, st->va, st->len, st->pa, st->incr);
		break;
	default:
		rc = ht_protect(as, st->va, st->len, attr);
		break;
	}
	return (rc != 0 ? lib_error(s, st->line, rc, err) : 0);
}

/* share: the region is recorded for the outputs and the model. */
static int
apply_share(const spec_t *s, spec_world_t *w, const spec_ctl_t *c,
    FILE *err)
{
	spec_region_t *r;
	ht_share_info_t info;
	int rc;

	if ((rc = ht_share(w->as[c->space], c->va, w->as[c->src], c->src_va,
	    c->len, &info)) != 0)
		return (lib_error(s, c->line, rc, err));
	if ((r = grow(w->regions, w->nregions, sizeof (*r))) == NULL)
		return (spec_bad(err, s->file, c->line, "out of memory"));
	w->regions = r;
	r += w->nregions++;
	r->space = c->space;
	r->src = c->src;
	r->va = c->va;
	r->src_va = c->src_va;
	r->len = c->len;
	r->info = info;
	r->line = c->line;
	r->live = 1;
	return (0);
}

/* unshare: every region inside the range ends (the library's rule). */
static int
apply_unshare(const spec_t *s, spec_world_t *w, const spec_ctl_t *c,
    FILE *err)
{
	int rc = ht_unshare(w->as[c->space], c->va, c->len);

	if (rc < 0)
		return (lib_error(s, c->line, rc, err));
	if (rc == 0)
		return (spec_bad(err, s->file, c->line, "unshare: no shared region "
		    "of space '%s' inside [0x%llx, +0x%llx)",
		    s->spaces[c->space].name, (unsigned long long)c->va,
		    (unsigned long long)c->len));
	for (int i = 0; i < w->nregions; i++) {
		spec_region_t *r = &w->regions[i];

		if (r->live && r->space == c->space && r->va >= c->va &&
		    r->va - c->va + r->len <= c->len)
			r->live = 0;
	}
	return (0);
}

/* cpu: a CPU root; before any switch its CR3 values are its frames. */
static int
apply_cpu(const spec_t *s, spec_world_t *w, const spec_ctl_t *c,
    FILE *err)
{
	const spec_cpu_t *cp = &s->cpus[c->cpu];
	ht_cpu_root_cfg_t cfg;
	ht_cpu_root_t *cr;
	int rc;

	memset(&cfg, 0, sizeof (cfg));
	cfg.id = cp->id;
	cfg.user_entries = cp->user_entries;
	cfg.kernel = cp->kernel >= 0 ? w->as[cp->kernel] : NULL;
	cfg.kpti_user = cp->kpti >= 0 ? w->as[cp->kpti] : NULL;
	if ((rc = ht_cpu_root_create(w->ctx, &cfg, &cr)) != 0)
		return (lib_error(s, c->line, rc, err));
	w->cr[c->cpu] = cr;
	w->sw[c->cpu].cr3 = ht_cpu_root_pa(cr, 0);
	w->sw[c->cpu].user_cr3 = cfg.kpti_user != NULL ?
	    ht_cpu_root_pa(cr, 1) : w->sw[c->cpu].cr3;
	w->sw[c->cpu].flush = 0;
	return (0);
}

static int
apply_switch(const spec_t *s, spec_world_t *w, const spec_ctl_t *c,
    FILE *err)
{
	ht_switch_t sw;
	int rc;

	if ((rc = ht_switch(w->cr[c->cpu], c->space >= 0 ? w->as[c->space] :
	    NULL, &sw)) != 0)
		return (lib_error(s, c->line, rc, err));
	w->sw[c->cpu] = sw;
	w->runs[c->cpu] = c->space;
	w->nswitch[c->cpu]++;
	return (0);
}

static int
apply_ctl(const spec_t *s, spec_world_t *w, const spec_ctl_t *c, FILE *err)
{
	switch (c->kind) {
	case CT_SPACE:
		return (w->as[c->space] == NULL ?
		    make_space(s, w, c->space, c->line, err) : 0);
	case CT_SHARE:
		return (apply_share(s, w, c, err));
	case CT_UNSHARE:
		return (apply_unshare(s, w, c, err));
	case CT_CPU:
		return (apply_cpu(s, w, c, err));
	default:
		return (apply_switch(s, w, c, err));
	}
}

int
spec_run(const spec_t *s, ht_ctx_t *ctx, ht_as_t *first, spec_world_t *w,
    FILE *err)
{
	size_t ns = s->nspaces > 0 ? (size_t)s->nspaces : 1;
	size_t nc = s->ncpus > 0 ? (size_t)s->ncpus : 1;
	int i = 0, k = 0, rc = 0;

	memset(w, 0, sizeof (*w));
	w->ctx = ctx;
	w->first = first;
	w->as = calloc(ns, sizeof (*w->as));
	w->cr = calloc(nc, sizeof (*w->cr));
	w->sw = calloc(nc, sizeof (*w->sw));
	w->runs = calloc(nc, sizeof (*w->runs));
	w->nswitch = calloc(nc, sizeof (*w->nswitch));
	if (w->as == NULL || w->cr == NULL || w->sw == NULL ||
	    w->runs == NULL || w->nswitch == NULL)
		return (spec_bad(err, s->file, s->last_line, "out of memory"));
	w->nspaces = s->nspaces;
	w->ncpus = s->ncpus;
	for (int c = 0; c < s->ncpus; c++)
		w->runs[c] = -1;
	if (s->nspaces > 0 && s->spaces[0].implicit &&
	    (rc = make_space(s, w, 0, s->spaces[0].line, err)) != 0)
		return (rc);
	/* both lists are in line order: merge them */
	while (rc == 0 && (i < s->nstmts || k < s->nctl)) {
		if (k < s->nctl && (i == s->nstmts ||
		    s->ctl[k].line < s->stmts[i].line))
			rc = apply_ctl(s, w, &s->ctl[k++], err);
		else
			rc = apply_stmt(s, w, &s->stmts[i++], err);
	}
	return (rc);
}

void
spec_world_free(spec_world_t *w)
{
	for (int i = 0; w->cr != NULL && i < w->ncpus; i++)
		ht_cpu_root_destroy(w->cr[i]);
	for (int i = w->nspaces; w->as != NULL && i-- > 0;)
		if (w->as[i] != NULL && w->as[i] != w->first)
			ht_as_destroy(w->as[i]);
	free(w->as);
	free(w->cr);
	free(w->sw);
	free(w->runs);
	free(w->nswitch);
	free(w->regions);
	memset(w, 0, sizeof (*w));
}

int
spec_apply(const spec_t *s, ht_as_t *as, FILE *err)
{
	spec_world_t w;
	int rc = spec_run(s, ht_as_ctx(as), as, &w, err);

	spec_world_free(&w);
	return (rc);
}
