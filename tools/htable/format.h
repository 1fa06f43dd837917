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
	int		ept_mode;	/* EPT entries (ept4, ept5) */
	unsigned	ept;		/* their HT_EPT_* flags: A/D from the
					   root's EPTP, MBEC, XONLY */
	int		open;		/* a range or run is pending */
	uint64_t	nranges;
	ht_leaf_t	run;		/* text/json: first leaf of the range */
	uint64_t	run_last;	/* its last VA (inclusive) */
	uint64_t	run_pages;
	uint64_t	mem_start;	/* qemu-mem: linear start, end, prot */
	uint64_t	mem_end;
	unsigned	mem_prot;
	/*
	 * text and json: when set, each range (run, run_last, run_pages)
	 * goes to on_range (with on_arg) instead of out
	 */
	void		(*on_range)(struct fmt_state *f);
	void		*on_arg;
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

/*
 * A range r (its first leaf, as f's text format keeps it) as dump's text
 * line shows it after "START-LAST ": "PA SIZE PERM U/S GAD patN" (EPT:
 * "PA SIZE PERM MT [AD] [ipat] [sve] [vgp] [pw]"), and " sw=0xN" for
 * software bits, into buf.  Returns buf.
 */
const char *fmt_range_text(const fmt_state_t *f, const ht_leaf_t *r,
    char *buf, size_t len);

/* "4k", "2m", "4m", "1g" for a page of that many bytes, "?" otherwise. */
const char *fmt_pagesize(uint64_t size);
unsigned fmt_sw(unsigned attr);

/*
 * The name of EPT memory type t: "uc", "wc", "wt", "wp", "wb", or
 * "mtN" for a reserved one (the library reads none as a mapping).
 */
const char *fmt_ept_mt(unsigned t);
/*
 * An EPT leaf as dump's text and translate show it, into buf: "PERM",
 * sep, then "MT", " AD" when the EPTP enables A/D, " ipat", " sve",
 * " vgp", " pw" for those set.  PERM is r, w and x, and under MBEC u
 * (user-mode execute; x is then supervisor-mode), '-' for each right the
 * walk does not give.  eff: the effective rights (HT_W, HT_X, HT_XU,
 * HT_NOREAD); attr: the leaf's own attributes; ept: HT_EPT_* in force.
 * Returns buf.
 */
const char *fmt_ept_text(unsigned ept, unsigned eff, unsigned attr,
    const char *sep, char *buf, size_t len);

#endif
