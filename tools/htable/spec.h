/*
 * spec.h - the layout language of the htable command (a .spec file):
 * parsing it into statements, and applying them to an address space.
 */
#ifndef HTABLE_SPEC_H
#define HTABLE_SPEC_H

#include <stdio.h>
#include "htable.h"

typedef enum { ST_MAP, ST_UNMAP, ST_PROTECT, ST_NP } st_kind_t;

typedef struct spec_stmt {
	st_kind_t	kind;
	int		line;
	uint64_t	va, pa, len;	/* np: pa is the value */
	uint64_t	incr;		/* np */
	unsigned	attr;		/* HT_* */
	unsigned	pagesize;	/* HT_PS_* forced, 0 = largest */
} spec_stmt_t;

typedef struct spec {
	const char	*file;
	ht_mode_t	mode;
	unsigned	pagesizes;	/* 0 = all the mode has */
	int		pagesizes_line;
	int		last_line;
	int		npools;
	ht_range_t	pools[HT_MAX_POOLS];
	int		nstmts;
	spec_stmt_t	*stmts;
} spec_t;

/*
 * Parse the file at path into *s.  0, or -1 after printing
 * "FILE:LINE: message" to err.
 */
int spec_parse(const char *path, spec_t *s, FILE *err);
/* The same from an open stream; path names it in messages. */
int spec_read(FILE *f, const char *path, spec_t *s, FILE *err);
void spec_free(spec_t *s);

/*
 * A number of the layout language: C-style 0x.. or decimal with an
 * optional k, m or g suffix (powers of 1024).  0, or -1 if t is not one.
 */
int spec_number(const char *t, uint64_t *r);

/*
 * Apply the statements in order to as; 0, or -1 after printing
 * "FILE:LINE: message" (with the library's detail) to err.
 */
int spec_apply(const spec_t *s, ht_as_t *as, FILE *err);

#endif
