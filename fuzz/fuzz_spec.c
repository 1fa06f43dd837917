/*
 * fuzz_spec.c - libFuzzer target for the layout language of the htable
 * command (tools/htable/spec.c), parsed and then applied as `htable build`
 * does.
 *
 * A .spec file is untrusted text.  Whatever it holds, the parser and the
 * builder must not crash, loop or leak, and must keep their promises; this
 * target abort()s (so that libFuzzer reports the input) when one fails:
 *  - spec_read returns 0 and prints nothing, or -1 and prints exactly one
 *    line "fuzz.spec:LINE: message\n" with LINE a line of the input;
 *  - a parsed spec has 1..HT_MAX_POOLS pools, statements of known kinds
 *    whose line numbers are lines of the input, in increasing order, and
 *    forced page sizes that are single HT_PS_* bits;
 *  - applied to an address space over an arena that covers its pools
 *    (small pools only, to keep executions fast), ht_ctx_create either
 *    accepts the pools or names one; spec_apply returns 0 or -1 with one
 *    message line of the same form; ht_audit passes afterwards; and
 *    destroying everything gives every frame back.
 * run_corpus.c feeds the checked-in seeds (fuzz/corpus_spec/) through the
 * same function in every build.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htable.h"
#include "spec.h"

#define NAME		"fuzz.spec"
#define MAX_SPAN	(2ull << 20)	/* arena bytes covering the pools */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(int line, const char *what, const char *msg)
{
	fprintf(stderr, "fuzz_spec.c:%d: check failed: %s (message: %s)\n",
	    line, what, msg != NULL ? msg : "none");
	abort();
}

#define CHECK(c, msg)	do { if (!(c)) fail(__LINE__, #c, msg); } while (0)

/* Lines of the input: newlines, plus one for a last unterminated line. */
static long
count_lines(const uint8_t *data, size_t size)
{
	long n = 0;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	if (size > 0 && data[size - 1] != '\n')
		n++;
	return (n);
}

/*
 * msg must be one line "fuzz.spec:LINE: ...\n" with 1 <= LINE <= lines
 * (LINE may be the last line + 1 for "no pool" at the end: the parser
 * names the line it stopped at).
 */
static void
check_message(const char *msg, size_t len, long lines)
{
	const char *p = msg + strlen(NAME) + 1;
	char *end;
	long line;

	CHECK(len > strlen(NAME) + 1, msg);
	CHECK(memcmp(msg, NAME ":", strlen(NAME) + 1) == 0, msg);
	CHECK(strlen(msg) == len, msg);
	CHECK(strchr(msg, '\n') == msg + len - 1, msg);
	line = strtol(p, &end, 10);
	CHECK(end > p && *end == ':', msg);
	CHECK(line >= 0 && line <= lines, msg);
}

static void
apply(const spec_t *s, long lines)
{
	ht_pa_t lo = ~0ull, hi = 0;
	ht_arena_t *arena;
	ht_ctx_t *ctx;
	ht_as_t *as;
	char *msg = NULL;
	size_t len = 0;
	FILE *err;
	int rc;

	for (int i = 0; i < s->npools; i++) {
		ht_pa_t b = s->pools[i].base, e = b + s->pools[i].len;

		if (e < b)
			return;		/* wraps: ht_ctx_create's business */
		lo = b < lo ? b : lo;
		hi = e > hi ? e : hi;
	}
	if (hi - lo > MAX_SPAN)
		return;
	/* pools beyond what an arena can stand for: the tool says so too */
	if ((rc = ht_arena_create(lo, hi - lo, 0, &arena)) != 0) {
		CHECK(rc == -HT_EPABITS || rc == -HT_EINVAL ||
		    rc == -HT_ERANGE || rc == -HT_ENOMEM, ht_errdetail());
		return;
	}
	ht_config_t cfg = { .mode = s->mode, .pagesizes = s->pagesizes,
	    .frame_ops = ht_arena_ops(), .frame_arg = arena,
	    .npools = (unsigned)s->npools, .ept = s->ept };
	memcpy(cfg.pools, s->pools, sizeof (s->pools));
	rc = ht_ctx_create(&cfg, &ctx);
	if (rc != 0) {
		CHECK(strncmp(ht_errdetail(), "cfg.", 4) == 0, ht_errdetail());
		ht_arena_destroy(arena);
		return;
	}
	rc = ht_as_create(ctx, 0, &as);
	if (rc == 0) {
		err = open_memstream(&msg, &len);
		if (err == NULL)
			abort();
		rc = spec_apply(s, as, err);
		fclose(err);
		if (rc != 0)
			check_message(msg, len, lines);
		else
			CHECK(len == 0, msg);
		free(msg);
		CHECK(ht_audit(as) == 0, ht_errdetail());
		ht_as_destroy(as);
	} else {
		CHECK(rc == -HT_ENOFRAME, ht_errdetail());
	}
	CHECK(ht_ctx_destroy(ctx) == 0, ht_errdetail());
	CHECK(ht_arena_frames_used(arena) == 0, NULL);
	ht_arena_destroy(arena);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* fmemopen wants a buffer of at least one byte */
	char *buf = malloc(size + 1);
	long lines = count_lines(data, size);
	char *msg = NULL;
	size_t len = 0;
	FILE *in, *err;
	spec_t s;
	int rc;

	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	in = fmemopen(buf, size > 0 ? size : 1, "r");
	err = open_memstream(&msg, &len);
	if (in == NULL || err == NULL)
		abort();
	if (size == 0)
		(void) fgetc(in);	/* the one byte is not input */
	rc = spec_read(in, NAME, &s, err);
	fclose(in);
	fclose(err);
	if (rc != 0) {
		check_message(msg, len, lines);
		CHECK(s.stmts == NULL && s.nstmts == 0, msg);
	} else {
		CHECK(len == 0, msg);
		CHECK(s.npools >= 1 && s.npools <= HT_MAX_POOLS, NULL);
		for (int i = 0; i < s.nstmts; i++) {
			const spec_stmt_t *st = &s.stmts[i];

			CHECK(st->kind == ST_MAP || st->kind == ST_UNMAP ||
			    st->kind == ST_PROTECT || st->kind == ST_NP, NULL);
			CHECK(st->line >= 1 && st->line <= lines, NULL);
			CHECK(i == 0 || st->line > s.stmts[i - 1].line, NULL);
			CHECK((st->pagesize & (st->pagesize - 1)) == 0 &&
			    (st->pagesize & ~0xfu) == 0, NULL);
		}
		apply(&s, lines);
		spec_free(&s);
	}
	free(msg);
	free(buf);
	return (0);
}
