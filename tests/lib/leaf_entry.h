/*
 * leaf_entry.h - playing the MMU in tests that use the public API only:
 * the address of the raw leaf entry that maps a VA of one of our address
 * spaces, in the arena that holds its tables.  The leaf's table is the
 * one the last link that ht_translate read names (the root when the leaf
 * is in the root), so no other reading of the tables is needed.
 */
#ifndef HT_TEST_LEAF_ENTRY_H
#define HT_TEST_LEAF_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "htable.h"

/* The entry mapping va, or NULL if va is not mapped; *r_size its page. */
static inline void *
leaf_entry_of(ht_as_t *as, ht_arena_t *arena, ht_va_t va, uint64_t *r_size)
{
	const ht_geometry_t *g = ht_ctx_geometry(ht_as_ctx(as));
	uint64_t amask = g->pte_size == 4 ? 0xfffff000ull :
	    0x000ffffffffff000ull;
	ht_xlate_t x;
	ht_pa_t table;
	unsigned n, idx;

	if (ht_translate(as, va, &x) != 0)
		return (NULL);
	table = x.nlevels == 1 ? ht_as_root(as) :
	    (x.entries[x.nlevels - 2] & amask);
	n = x.level == g->levels - 1 ? g->top_level_count :
	    g->ptes_per_table;
	idx = (unsigned)(va >> g->level_shift[x.level]) & (n - 1);
	if (r_size != NULL)
		*r_size = x.page_size;
	return (ht_arena_ptr(arena, table + (ht_pa_t)idx * g->pte_size));
}

#endif /* HT_TEST_LEAF_ENTRY_H */
