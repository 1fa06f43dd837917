/*
 * hat_range.h - the range machinery that map, unmap, protect, lock and
 * A/D harvesting share (hat_range.c).
 */
#ifndef HT_HAT_RANGE_H
#define HT_HAT_RANGE_H

#include "types.h"

/*
 * Check [va, va + len): non-zero, page aligned, canonical, not wrapping,
 * not crossing the hole.  0 (with *r_last) or a negative error.
 */
int range_check(const mmu_t *m, uint64_t va, uint64_t len, uint64_t *r_last);

/* A walk's inclusive range [start, last]: 0 or -HT_ERANGE. */
int walk_check(const mmu_t *m, uint64_t start, uint64_t last);

/*
 * The census of [va, last]: the locked leaves exactly, and the leaves
 * exactly with `exact`, else only "none" (0) or "some".
 */
void range_census(hat_t *hat, uint64_t va, uint64_t last, int exact,
    uint64_t *r_leaves, uint64_t *r_locked);

/* Frames needed for the splits at va and last + 1; 0 or -HT_EPABITS. */
int edges_cost(hat_t *hat, uint64_t va, uint64_t last, unsigned *r_n);
/* Split the large pages that stick out of [va, last]. */
int split_edges(hat_t *hat, uint64_t va, uint64_t last);

/*
 * Frames range_split_small(va, last) needs, exactly, in *r_n; 0 or
 * -HT_EPABITS (a 32-bit 4 MiB page above 4 GiB cannot be split).
 */
int range_small_cost(hat_t *hat, uint64_t va, uint64_t last, uint64_t *r_n);
/*
 * Split every large leaf in [va, last] until the range holds only 4 KiB
 * leaves (the parts outside stay as large as they can); the frames are
 * reserved.  0, or -HT_ENOFRAME/-HT_ENOMEM if they were not.
 */
int range_split_small(hat_t *hat, uint64_t va, uint64_t last);

/* Remove every leaf in [va, last]; the edges are already split. */
void range_clear(hat_t *hat, uint64_t va, uint64_t last);

/*
 * Census, then (if `check` accepts it and anything is mapped) reserve and
 * do the edge splits.  *r_leaves: the census's leaf answer.
 */
int range_prepare(hat_t *hat, ht_op_t *op, uint64_t va, uint64_t last,
    int exact, int (*check)(uint64_t leaves, uint64_t locked, void *arg),
    void *arg, uint64_t *r_leaves);

/*
 * The single-table fast path: the existing level-`level` table holding
 * all of [va, last], held, if its entries there are all empty or leaves
 * (not locked unless locked_ok); else NULL.
 */
htable_t *one_table(hat_t *hat, uint64_t va, uint64_t last, int level,
    int locked_ok, unsigned *r_e, unsigned *r_n);
/*
 * Entries [e, e + n) of ht: remove the leaves (unmap) or set them to
 * (old & ~clr) | set; apply the counts and the TLB range; release ht.
 */
void table_update(htable_t *ht, unsigned e, unsigned n, x86pte_t clr,
    x86pte_t set, int unmap);

/*
 * ht_set_np's entries: value + i * incr in the level-0 entry of the i-th
 * page from va (hat_np.c).
 */
typedef struct np_src {
	uint64_t	va;
	uint64_t	value;
	uint64_t	incr;
} np_src_t;

/*
 * ht_map after its argument checks (hat_map.c): census, reservation,
 * splits and fill of [va, va + len) with leaves at `levels`, or with np's
 * entries (levels = level 0, pa 0).  fn (may be NULL) receives the A/D
 * bits of the leaves removed (ht_map_ad).  0 or a negative error.
 */
int map_apply(hat_t *hat, uint64_t va, ht_pa_t pa, uint64_t len,
    unsigned attr, unsigned levels, unsigned flags, const np_src_t *np,
    ht_ad_fn fn, void *arg);

/*
 * Remove the non-present data entries of [va, last] (hat_np.c); cannot
 * fail.  Callers test HAT_NP first: a space that never had one skips it.
 */
void np_clear(hat_t *hat, uint64_t va, uint64_t last);

#endif /* HT_HAT_RANGE_H */
