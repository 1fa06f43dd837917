/*
 * spec.c - the layout language: one statement per line, '#' comments,
 * C-style numbers with an optional k/m/g suffix.
 *
 *	mode 32bit|pae|4level|5level	(first statement if present)
 *	pagesizes 4k 2m ...		(what the target CPU supports)
 *	pool PA LEN			(page-table frames; at least one)
 *	map VA PA LEN [w x u g pwt pcd pat page=4k|2m|4m|1g sw=N]
 *	unmap VA LEN
 *	np VA LEN VALUE [INCR]		(non-present entries with data)
 *	protect VA LEN [w] [x] [u]
 *
 * Everything the library can check (alignment, canonical addresses,
 * physical width, page sizes) is checked by it when the statement is
 * applied; the parser checks the syntax.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spec.h"

#define MAXTOK 16

__attribute__((format(printf, 4, 5))) static int
bad(FILE *err, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(err, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
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
		return (bad(err, file, line, "sw=%s: expected a mask of "
		    "software bits 0..0x%x", t, HT_SW_MASK >> 16));
	*attr |= (unsigned)v << 16;
	return (0);
}

static int
need(FILE *err, const char *file, int line, const char *what, int ntok,
    int min, int max)
{
	if (ntok < min)
		return (bad(err, file, line, "%s: missing field (expected "
		    "%d, got %d)", what, min - 1, ntok - 1));
	if (max >= 0 && ntok > max)
		return (bad(err, file, line, "%s: too many fields", what));
	return (0);
}

static int
nums(FILE *err, const char *file, int line, char **tok, int n, uint64_t *v)
{
	for (int i = 0; i < n; i++)
		if (spec_number(tok[i + 1], &v[i]) != 0)
			return (bad(err, file, line, "bad number '%s'",
			    tok[i + 1]));
	return (0);
}

static int
add_stmt(spec_t *s, const spec_stmt_t *st)
{
	spec_stmt_t *n = realloc(s->stmts, (size_t)(s->nstmts + 1) *
	    sizeof (*n));

	if (n == NULL)
		return (-1);
	s->stmts = n;
	s->stmts[s->nstmts++] = *st;
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
	char buf[4096];
	int line = 0, any = 0, rc = 0;

	memset(s, 0, sizeof (*s));
	s->file = path;
	s->mode = HT_MODE_4LEVEL;
	while (rc == 0 && fgets(buf, sizeof (buf), f) != NULL) {
		char *tok[MAXTOK], *p, *save;
		int ntok = 0;
		spec_stmt_t st;

		line++;
		if ((p = strchr(buf, '#')) != NULL)
			*p = '\0';
		for (p = strtok_r(buf, " \t\r\n", &save); p != NULL;
		    p = strtok_r(NULL, " \t\r\n", &save)) {
			if (ntok == MAXTOK) {
				rc = bad(err, path, line, "too many fields");
				break;
			}
			tok[ntok++] = p;
		}
		if (rc != 0 || ntok == 0)
			continue;
		memset(&st, 0, sizeof (st));
		st.line = line;
		if (strcmp(tok[0], "mode") == 0) {
			if ((rc = need(err, path, line, "mode", ntok, 2, 2)))
				break;
			if (any) {
				rc = bad(err, path, line, "mode must be the "
				    "first statement");
				break;
			}
			if (ht_mode_parse(tok[1], &s->mode) != 0)
				rc = bad(err, path, line, "unknown mode '%s' "
				    "(32bit, pae, 4level or 5level)", tok[1]);
		} else if (strcmp(tok[0], "pagesizes") == 0) {
			if ((rc = need(err, path, line, "pagesizes", ntok, 2,
			    -1)))
				break;
			s->pagesizes = 0;
			s->pagesizes_line = line;
			for (int i = 1; i < ntok && rc == 0; i++) {
				unsigned ps;

				if (pagesize(tok[i], &ps) != 0)
					rc = bad(err, path, line, "unknown page "
					    "size '%s'", tok[i]);
				else
					s->pagesizes |= ps;
			}
		} else if (strcmp(tok[0], "pool") == 0) {
			uint64_t v[2];

			if ((rc = need(err, path, line, "pool", ntok, 3, 3)) ||
			    (rc = nums(err, path, line, tok, 2, v)))
				break;
			if (s->npools == HT_MAX_POOLS) {
				rc = bad(err, path, line, "at most %d pools",
				    HT_MAX_POOLS);
				break;
			}
			if (v[1] == 0 || ((v[0] | v[1]) & 0xfff)) {
				rc = bad(err, path, line, "pool 0x%llx +0x%llx "
				    "must be non-empty and 4 KiB aligned",
				    (unsigned long long)v[0],
				    (unsigned long long)v[1]);
				break;
			}
			s->pools[s->npools].base = v[0];
			s->pools[s->npools].len = v[1];
			s->npools++;
		} else if (strcmp(tok[0], "map") == 0) {
			uint64_t v[3];

			if ((rc = need(err, path, line, "map", ntok, 4, -1)) ||
			    (rc = nums(err, path, line, tok, 3, v)))
				break;
			st.kind = ST_MAP;
			st.va = v[0];
			st.pa = v[1];
			st.len = v[2];
			for (int i = 4; i < ntok && rc == 0; i++) {
				const char *t = tok[i];

				if (strcmp(t, "w") == 0)
					st.attr |= HT_W;
				else if (strcmp(t, "x") == 0)
					st.attr |= HT_X;
				else if (strcmp(t, "u") == 0)
					st.attr |= HT_U;
				else if (strcmp(t, "g") == 0)
					st.attr |= HT_G;
				else if (strcmp(t, "pwt") == 0)
					st.attr |= HT_PWT;
				else if (strcmp(t, "pcd") == 0)
					st.attr |= HT_PCD;
				else if (strcmp(t, "pat") == 0)
					st.attr |= HT_PAT;
				else if (strncmp(t, "sw=", 3) == 0)
					rc = sw_flag(err, path, line, t + 3,
					    &st.attr);
				else if (strncmp(t, "page=", 5) == 0) {
					if (pagesize(t + 5, &st.pagesize) != 0)
						rc = bad(err, path, line,
						    "unknown page size '%s'",
						    t + 5);
				} else
					rc = bad(err, path, line, "unknown flag "
					    "'%s'", t);
			}
			if (rc == 0 && add_stmt(s, &st) != 0)
				rc = bad(err, path, line, "out of memory");
		} else if (strcmp(tok[0], "unmap") == 0) {
			uint64_t v[2];

			if ((rc = need(err, path, line, "unmap", ntok, 3, 3)) ||
			    (rc = nums(err, path, line, tok, 2, v)))
				break;
			st.kind = ST_UNMAP;
			st.va = v[0];
			st.len = v[1];
			if (add_stmt(s, &st) != 0)
				rc = bad(err, path, line, "out of memory");
		} else if (strcmp(tok[0], "np") == 0) {
			uint64_t v[4] = { 0, 0, 0, 0 };

			if ((rc = need(err, path, line, "np", ntok, 4, 5)) ||
			    (rc = nums(err, path, line, tok, ntok - 1, v)))
				break;
			st.kind = ST_NP;
			st.va = v[0];
			st.len = v[1];
			st.pa = v[2];
			st.incr = v[3];
			if (add_stmt(s, &st) != 0)
				rc = bad(err, path, line, "out of memory");
		} else if (strcmp(tok[0], "protect") == 0) {
			uint64_t v[2];

			if ((rc = need(err, path, line, "protect", ntok, 3,
			    6)) || (rc = nums(err, path, line, tok, 2, v)))
				break;
			st.kind = ST_PROTECT;
			st.va = v[0];
			st.len = v[1];
			for (int i = 3; i < ntok && rc == 0; i++) {
				if (strcmp(tok[i], "w") == 0)
					st.attr |= HT_W;
				else if (strcmp(tok[i], "x") == 0)
					st.attr |= HT_X;
				else if (strcmp(tok[i], "u") == 0)
					st.attr |= HT_U;
				else
					rc = bad(err, path, line, "unknown "
					    "permission '%s' (w, x, u)", tok[i]);
			}
			if (rc == 0 && add_stmt(s, &st) != 0)
				rc = bad(err, path, line, "out of memory");
		} else {
			rc = bad(err, path, line, "unknown statement '%s'",
			    tok[0]);
		}
		any = 1;
	}
	s->last_line = line;
	if (rc == 0 && ferror(f))
		rc = bad(err, path, line, "read error");
	if (rc == 0 && s->npools == 0)
		rc = bad(err, path, line, "no pool: page-table frames need "
		    "at least one 'pool PA LEN'");
	if (rc != 0)
		spec_free(s);
	return (rc);
}

void
spec_free(spec_t *s)
{
	free(s->stmts);
	s->stmts = NULL;
	s->nstmts = 0;
}

int
spec_apply(const spec_t *s, ht_as_t *as, FILE *err)
{
	for (int i = 0; i < s->nstmts; i++) {
		const spec_stmt_t *st = &s->stmts[i];
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
		if (rc != 0) {
			const char *d = ht_errdetail();

			if (rc == -HT_ENOFRAME)
				d = "the pools are too small for the tables";
			return (bad(err, s->file, st->line, "%s: %s",
			    ht_strerror(rc), d));
		}
	}
	return (0);
}
