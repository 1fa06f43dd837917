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
/*
 * Take write permission from every leaf of [va, va + len), nothing else
 * changed: bit 1 is W in every entry format, so this needs none of
 * ht_chattr's attribute rules (EPT's "rights whole" among them).
 * ht_page_clear_write's change; errors as ht_chattr's.
 */
int hat_clear_write(hat_t *hat, ht_va_t va, uint64_t len);
/*
 * A quick yes for the common single-entry call: [va, va + len) is one
 * naturally aligned block of a page size that range_check would accept
 * (len a power of two from 4 KiB up, va aligned to it, both ends valid
 * addresses: an aligned block cannot straddle the hole).  0 means "ask
 * range_check", never "bad".
 */
static inline int
range_one_ok(const mmu_t *m, uint64_t va, uint64_t len)
{
	return (len >= HT_PAGE_SIZE && (len & (len - 1)) == 0 &&
	    (va & (len - 1)) == 0 && va + len - 1 > va &&
	    mmu_va_ok(m, va) && mmu_va_ok(m, va + len - 1));
}

/* range_check, with range_one_ok's quick yes first (no call). */
static inline int
range_check_quick(const mmu_t *m, uint64_t va, uint64_t len,
    uint64_t *r_last)
{
	if (range_one_ok(m, va, len)) {
		*r_last = va + len - 1;
		return (0);
	}
	return (range_check(m, va, len, r_last));
}

/* A walk's inclusive range [start, last]: 0 or -HT_ERANGE. */
int walk_check(const mmu_t *m, uint64_t start, uint64_t last);

/*
 * The census of [va, last]: the locked leaves exactly, and the leaves
 * exactly with `exact`, else only "none" (0) or "some".
 */
void range_census(hat_t *hat, uint64_t va, uint64_t last, int exact,
    uint64_t *r_leaves, uint64_t *r_locked);

/*
 * The plan of an operation: the distinct tables it will create, named by
 * (level, base VA).  The splits at the edges create a few (at most one per
 * level and edge), which are listed so that a map's runs do not count them
 * again; the tables a map's runs lack are only counted.  `need` is the
 * number of frames to reserve.
 */
#define PLAN_MAX_SPLIT	(2 * (HT_MAX_LEVELS - 1))
typedef struct plan {
	uint64_t	need;
	unsigned	nsplit;
	int		split_level[PLAN_MAX_SPLIT];
	uint64_t	split_base[PLAN_MAX_SPLIT];
	unsigned	seen;		/* bit l: last_base[l] is set */
	unsigned	absent;		/* bit l: last_base[l] is absent */
	uint64_t	last_base[HT_MAX_LEVELS];
} plan_t;

/* An empty plan. */
void plan_init(plan_t *p);
/*
 * Add the tables the splits at va and last + 1 create (none if no large
 * page sticks out there); 0 or -HT_EPABITS (a PSE-36 page above 4 GiB
 * cannot be split).
 */
int plan_edges(hat_t *hat, plan_t *p, uint64_t va, uint64_t last);
/*
 * Count the table (level, base) that the operation needs, once: missing
 * and not made by a split, it is one more frame and *r_absent is set
 * (nothing below it exists either: see plan_subtree); present, it is
 * pinned for the rest of the operation (op_pin).  Calls must come in
 * ascending base order per level.  0 or -HT_ENOMEM.
 */
int plan_table(hat_t *hat, op_t *op, plan_t *p, int level,
    uint64_t base, int *r_absent);
/*
 * Count, without looking, the tables at levels `level` .. `top` that cover
 * part of [lo, hi], all of it inside one absent table of level top + 1:
 * below a table nobody has made, no table exists, so a large map into
 * empty space costs arithmetic per level instead of a lookup per table.
 * The same ascending order as plan_table, with which it shares the count
 * of a table two runs meet in.
 */
void plan_subtree(plan_t *p, const mmu_t *m, int top, int level,
    uint64_t lo, uint64_t hi);
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
 * Census, then (if `check` accepts it and anything is mapped) reserve the
 * tables the edge splits create and do the splits.  *r_leaves: the
 * census's leaf answer.
 */
int range_prepare(hat_t *hat, op_t *op, uint64_t va, uint64_t last,
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
 * one_table at level 0, then, for a range of whole large pages, at the
 * level of each page size it is aligned to (a one-page unmap or protect
 * of a 2 MiB leaf touches one table).
 */
htable_t *one_table_any(hat_t *hat, uint64_t va, uint64_t last,
    int locked_ok, unsigned *r_e, unsigned *r_n);
/*
 * The one-entry path (hat_one.c): [va, va + len) is one entry of an
 * existing table; do the call there under the table's bucket mutex.
 * 1: done (nothing can fail there); 0: nothing changed, take the general
 * path.  one_map maps into an empty entry only (attr without HT_LOCKED,
 * `levels` the allowed leaf levels); one_unmap removes an unlocked leaf
 * that is not its table's last (fn: the caller's A/D sink, or NULL);
 * one_change sets a present leaf of level l to (old & ~clr[l]) | set[l].
 */
int one_map(hat_t *hat, uint64_t va, ht_pa_t pa, uint64_t len, unsigned attr,
    unsigned levels);
int one_unmap(hat_t *hat, uint64_t va, uint64_t len, ht_ad_fn fn, void *arg);
int one_change(hat_t *hat, uint64_t va, uint64_t len, const x86pte_t *clr,
    const x86pte_t *set);

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
 * bits of the leaves removed (ht_map_ad).  one_tried: the caller tried
 * the one-entry path already (ht_map's quick test), so it is not tried
 * again.  0 or a negative error.
 */
int map_apply(hat_t *hat, uint64_t va, ht_pa_t pa, uint64_t len,
    unsigned attr, unsigned levels, unsigned flags, const np_src_t *np,
    int one_tried, ht_ad_fn fn, void *arg);

/*
 * ht_unmap_ad after its argument checks (hat_change.c): remove the leaves
 * of [va, last] (flags HT_UNMAP_UNLOCK: locked ones too), reporting their
 * A/D bits to fn (may be NULL).  Runs its own operation.
 */
int unmap_apply(hat_t *hat, uint64_t va, uint64_t last, unsigned flags,
    ht_ad_fn fn, void *arg);
/*
 * unmap_apply with its memory in hand (ht_page_unload, which must not
 * fail half way across spaces): rp (the reverse map's extents, or NULL
 * when the context keeps none) and, with HT_UNMAP_UNLOCK, one lock-map
 * reservation already made (lockmap_reserve).  Both are used or given
 * back.  Fails only as unmap_apply does before changing anything.
 */
int unmap_apply_held(hat_t *hat, uint64_t va, uint64_t last,
    unsigned flags, ht_ad_fn fn, void *arg, rmap_prep_t *rp);

/*
 * Remove the non-present data entries of [va, last] (hat_np.c says what
 * they are); cannot fail.  Callers test HAT_NP first: a space that never
 * had one skips it.
 */
void np_clear(hat_t *hat, uint64_t va, uint64_t last);
/*
 * Call fn for every level-0 table that may hold np entries in [va, last]
 * (held during the call), with the entries of the range in it; stop at
 * fn's first non-zero answer and return it.  The tables are found by hash
 * lookups level by level, skipping every region whose table is missing,
 * and only tables whose lock count is non-zero are handed to fn.
 */
typedef int (*np_table_fn)(htable_t *ht, unsigned lo, unsigned hi,
    void *arg);
int np_tables(hat_t *hat, uint64_t va, uint64_t last, np_table_fn fn,
    void *arg);

#endif /* HT_HAT_RANGE_H */
