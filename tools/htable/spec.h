/*
 * spec.h - the layout language of the htable command (a .spec file):
 * parsing it into statements, and applying them to address spaces.
 *
 * A spec describes one context (mode, page sizes, pools, kpti) and, in
 * it, one or more address spaces and CPU roots.  The mapping statements
 * (map, unmap, np, protect) go to the current space: the one the last
 * `space` statement named, or before any, the space called "default".
 * The statements that make spaces and CPU roots, share and switch (the
 * "control" statements) are kept apart from the mapping statements, so
 * that a reader of stmts sees only the four kinds it always saw; both
 * lists are in line order, and spec_run applies them merged, in that
 * order.
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
	int		space;		/* index in spec_t.spaces */
} spec_stmt_t;

#define SPEC_NAME_MAX	31	/* letters, digits, '_' and '-' */

/* An address space the spec names. */
typedef struct spec_space {
	char		name[SPEC_NAME_MAX + 1];
	int		line;		/* where it is first named */
	int		implicit;	/* "default": made by a mapping
					   statement before any `space` */
	int		copied;		/* HT_AS_COPIED */
	int		pcid;		/* ht_as_set_pcid; -1 = none */
} spec_space_t;

/* A CPU root the spec makes (`cpu`). */
typedef struct spec_cpu {
	unsigned	id;
	int		line;
	int		kernel;		/* space index of its kernel half, -1 */
	int		kpti;		/* space index of the KPTI user root's
					   kernel half, -1 */
	unsigned	user_entries;	/* 0 = the library's default */
} spec_cpu_t;

/* The control statements. */
typedef enum {
	CT_SPACE,	/* space NAME [copied] [pcid=N]: select, make if new */
	CT_SHARE,	/* share VA from NAME SRC_VA LEN */
	CT_UNSHARE,	/* unshare VA LEN */
	CT_CPU,		/* cpu ID [kernel NAME] [kpti NAME] [user=N] */
	CT_SWITCH	/* switch ID NAME|none */
} ct_kind_t;

typedef struct spec_ctl {
	ct_kind_t	kind;
	int		line;
	int		space;		/* CT_SPACE: the space; CT_SHARE and
					   CT_UNSHARE: the current space;
					   CT_SWITCH: the space run, -1 none */
	int		src;		/* CT_SHARE: the source space */
	int		cpu;		/* CT_CPU, CT_SWITCH: index in cpus */
	uint64_t	va, src_va, len;
} spec_ctl_t;

typedef struct spec {
	const char	*file;
	ht_mode_t	mode;
	unsigned	pagesizes;	/* 0 = all the mode has */
	int		pagesizes_line;
	int		last_line;
	int		npools;
	ht_range_t	pools[HT_MAX_POOLS];
	int		pool_line[HT_MAX_POOLS];
	int		nstmts;
	spec_stmt_t	*stmts;
	/* spaces and CPU roots */
	int		multi;		/* a `space` or `cpu` statement: the
					   outputs name every root */
	int		kpti;		/* the `kpti` statement: config.kpti */
	unsigned	ept;		/* the `ept` statement: config.ept,
					   HT_EPT_* (EPT modes only) */
	int		ept_line;	/* its line; 0 = none */
	int		nspaces;	/* >= 1 after a successful parse */
	spec_space_t	*spaces;
	int		ncpus;
	spec_cpu_t	*cpus;
	int		nctl;
	spec_ctl_t	*ctl;
	/*
	 * The guest section (`guest MODE [in SPACE]`, nested modes only):
	 * the guest's own spec (its mode, page sizes, pools and mapping
	 * statements, all at guest-physical addresses; one space, no CPU
	 * roots), and the host space that maps its guest-physical memory.
	 * NULL without one.
	 */
	struct spec	*guest;
	int		guest_line;
	int		guest_space;	/* index in spaces */
} spec_t;

/*
 * Parse the file at path into *s.  0, or -1 after printing
 * "FILE:LINE: message" to err.
 */
int spec_parse(const char *path, spec_t *s, FILE *err);
/* The same from an open stream; path names it in messages. */
int spec_read(FILE *f, const char *path, spec_t *s, FILE *err);
void spec_free(spec_t *s);

/* Is mode one of Intel EPT's (ept4, ept5)?  Errors: none. */
int spec_mode_ept(ht_mode_t mode);
/* Is mode a hypervisor's (npt4, npt5, ept4, ept5)?  Errors: none. */
int spec_mode_nested(ht_mode_t mode);

/*
 * A number of the layout language: C-style 0x.. or decimal with an
 * optional k, m or g suffix (powers of 1024).  0, or -1 if t is not one.
 */
int spec_number(const char *t, uint64_t *r);
/*
 * Print "file:line: " and the message to err, with a newline; returns -1
 * (the parser's and the guest builder's refusals).
 */
__attribute__((format(printf, 4, 5)))
int spec_bad(FILE *err, const char *file, int line, const char *fmt, ...);

/* A region that a `share` statement made. */
typedef struct spec_region {
	int		space, src;	/* the sharer, the source */
	uint64_t	va, src_va, len;
	ht_share_info_t	info;
	int		line;
	int		live;		/* 0 once `unshare` ended it */
} spec_region_t;

/*
 * What applying a spec made: its spaces (by index of spec_t.spaces), its
 * CPU roots (by index of spec_t.cpus) with the CR3 values of their last
 * switch, and its shared regions.
 */
typedef struct spec_world {
	ht_ctx_t	*ctx;
	int		nspaces, ncpus;	/* those of the spec */
	ht_as_t		**as;		/* NULL until its statement ran */
	ht_as_t		*first;		/* the caller's space 0 (not freed) */
	ht_cpu_root_t	**cr;		/* NULL until its statement ran */
	ht_switch_t	*sw;		/* each CPU root's last switch (before
					   any: its frames, no PCID) */
	int		*runs;		/* the space each runs, -1 none */
	int		*nswitch;	/* switches made on each */
	int		nregions;
	spec_region_t	*regions;
} spec_world_t;

/*
 * Apply the statements in order in ctx: make each space at its first
 * `space` statement (the default space first of all), each CPU root at
 * its `cpu` statement, and run the mapping, share and switch statements
 * on them.  first, if not NULL, is a space of ctx the caller made; it
 * stands for space 0 unless that space is copied.  *w is filled in
 * every case (spec_world_free it).  0, or -1 after printing
 * "FILE:LINE: message" (with the library's detail) to err.
 */
int spec_run(const spec_t *s, ht_ctx_t *ctx, ht_as_t *first,
    spec_world_t *w, FILE *err);
/*
 * Destroy what spec_run made (CPU roots first, then spaces; never
 * w->first) and free *w.
 */
void spec_world_free(spec_world_t *w);

/*
 * Apply the statements to as, which stands for the first space: run the
 * spec in as's context (spec_run) and destroy every other space and CPU
 * root it made.  0, or -1 after printing "FILE:LINE: message" to err.
 */
int spec_apply(const spec_t *s, ht_as_t *as, FILE *err);

/* ------------------------------------------------------------------ */
/* The roots of a world, and what each should show (world.c)           */
/* ------------------------------------------------------------------ */

/* A value for CR3 that the world offers. */
typedef struct spec_root {
	char		name[SPEC_NAME_MAX + 16];	/* the space's name,
					   "cpuN" or "cpuN.user" */
	uint64_t	cr3;		/* with the PCID, as ht_switch gave */
	int		space;		/* a space's own root: its index, else -1 */
	int		cpu;		/* a CPU root: its index, else -1 */
	int		user;		/* the KPTI user root of cpu */
} spec_root_t;

/*
 * The value a CPU loads to use the tables whose root is at cr3 (with a
 * PCID or KPTI bit as ht_switch gives it): cr3 itself, or in EPT the
 * EPTP: the root's address, the page-walk length less one in bits 5:3
 * and, with the spec's `ept ad`, bit 6 (A/D enabled).  Errors: none.
 */
uint64_t spec_cr3(const spec_t *s, uint64_t cr3);

/*
 * The roots of w, in order: each space that has a root frame of its own
 * (not the copied ones), then each CPU root (its cr3, then with KPTI its
 * user_cr3, after its last switch), each as spec_cr3 gives it.  0 with
 * *r (malloc'd) and *n set, or -1 when out of memory.
 */
int spec_roots(const spec_t *s, const spec_world_t *w, spec_root_t **r,
    int *n);

/* What the model answers (spec_model). */
#define SPEC_MODEL_ACCESS	1	/* *r_acc is what the access does */
#define SPEC_MODEL_UNMAPPED	2	/* nothing is there: not present */

/*
 * What the spec says an access (HT_ACC_*, at CPL cpl, on cpu) to va does
 * when root is in CR3: the answer of the space that root shows at va
 * (ht_access), which is, for a CPU root, the running space in the user
 * half and the kernel space (the KPTI space in the user root) in the
 * kernel half; inside a region a space shares from another, where the
 * sharer reads the source's own tables, the source's answer at the
 * matching address.  *r_space names the space asked and *r_va the
 * address asked (for messages).  SPEC_MODEL_ACCESS or SPEC_MODEL_UNMAPPED
 * (no space there), or a negative HT_E* code from ht_access.
 */
int spec_model(const spec_t *s, const spec_world_t *w,
    const spec_root_t *root, const ht_cpu_t *cpu, uint64_t va, unsigned acc,
    unsigned cpl, ht_access_t *r_acc, const char **r_space, uint64_t *r_va);

/* ------------------------------------------------------------------ */
/* The guest of a nested spec (guest.c)                                */
/* ------------------------------------------------------------------ */

/*
 * A guest's tables are built in a context of their own (the guest's
 * mode) whose frames are the guest-physical pages of the guest's pools;
 * each stands for host memory at the host-physical address that the
 * host space (spec_t.guest_space) maps it to, where the image holds it.
 */
typedef struct spec_gpage spec_gpage_t;	/* one page of a guest pool */

typedef struct spec_guest {
	const spec_t	*host;		/* the host spec (its guest: ->guest) */
	spec_gpage_t	*pg;		/* every guest pool page, by gpa */
	size_t		npg;
	size_t		next;		/* no free page below this one */
	ht_ctx_t	*ctx;		/* the guest's context */
	spec_world_t	w;		/* its one space: w.as[0] */
	int		ran;		/* w is to be freed */
	uint64_t	frames;		/* written by spec_guest_write */
} spec_guest_t;

/*
 * Build the guest of spec s (s->guest not NULL) over the host world hw
 * (spec_run of s, done): every page of the guest's pools must be mapped
 * by the host space, to host-physical pages of their own outside the
 * host's pools; then the guest's context and its statements.  0, or -1
 * after printing "FILE:LINE: message" to err.  *g is set in every case
 * (spec_guest_free it).
 */
int spec_guest_build(const spec_t *s, const spec_world_t *hw,
    spec_guest_t *g, FILE *err);
/*
 * Call fn for every frame of the guest's tables: its host-physical
 * address and its 4096 bytes.  Counts them in g->frames.
 */
void spec_guest_write(spec_guest_t *g,
    void (*fn)(void *arg, uint64_t hpa, const void *bytes), void *arg);
/* The guest's root (its CR3, guest-physical).  Errors: none. */
uint64_t spec_guest_cr3(const spec_guest_t *g);
void spec_guest_free(spec_guest_t *g);

#endif
