/*
 * format.h - the output formats of `htable dump`: each is a leaf function
 * for ht_scan (leaves arrive in ascending VA order) and a finish step.
 */
#ifndef HTABLE_FORMAT_H
#define HTABLE_FORMAT_H

#include <stdio.h>
#include "htable.h"

typedef struct fmt_state {
	FILE		*out;
	const ht_geometry_t *g;
	int		open;		/* a range or run is pending */
	uint64_t	nranges;
	ht_leaf_t	run;		/* text/json: first leaf of the range */
	uint64_t	run_last;	/* its last VA (inclusive) */
	uint64_t	run_pages;
	uint64_t	mem_start;	/* qemu-mem: linear start, end, prot */
	uint64_t	mem_end;
	unsigned	mem_prot;
} fmt_state_t;

typedef struct fmt {
	const char	*name;
	unsigned	scan_flags;	/* HT_SCAN_* the format reads with */
	void		(*begin)(fmt_state_t *);
	ht_walk_fn	leaf;		/* arg = the fmt_state_t */
	void		(*finish)(fmt_state_t *);
} fmt_t;

/* The format called name, or NULL. */
const fmt_t *fmt_lookup(const char *name);

/* "4k", "2m", "4m", "1g" for a page of that many bytes, "?" otherwise. */
const char *fmt_pagesize(uint64_t size);
unsigned fmt_sw(unsigned attr);

#endif
