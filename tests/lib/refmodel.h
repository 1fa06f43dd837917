/*
 * refmodel.h - a reference model of one address space for the model-based
 * tests: an interval map from virtual ranges to {pa, attributes, locked}.
 *
 * It knows nothing about page tables, page sizes or the library; it is a
 * sorted array of non-overlapping ranges kept deliberately simple (O(n) per
 * change) so that it is obviously correct.  Ranges are stored with an
 * inclusive last byte so that a range ending at the very top of a 64-bit
 * space (va + len == 2^64) needs no special case.
 */
#ifndef HT_TEST_REFMODEL_H
#define HT_TEST_REFMODEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct rm_ent {
	uint64_t	va;	/* first byte */
	uint64_t	last;	/* last byte, inclusive */
	uint64_t	pa;	/* physical address of va */
	unsigned	attr;	/* HT_W|HT_U|HT_X|HT_G|HT_PWT|HT_PCD|HT_PAT */
	int		locked;	/* lock count: locks stack */
} rm_ent_t;

typedef struct refmodel {
	rm_ent_t	*ents;	/* sorted by va, never overlapping */
	size_t		n;
	size_t		cap;
} refmodel_t;

void rm_init(refmodel_t *rm);
void rm_fini(refmodel_t *rm);
void rm_clear(refmodel_t *rm);
/* Deep copy (dst must be initialized); used to prove "nothing changed". */
void rm_copy(refmodel_t *dst, const refmodel_t *src);
/* 1 if both models describe the same mapping (after coalescing). */
int rm_equal(const refmodel_t *a, const refmodel_t *b);

/*
 * Translate one address: 1 and the pa of va itself (with its offset), the
 * attributes and the locked flag if mapped, 0 if not.  Out pointers may be
 * NULL.
 */
int rm_lookup(const refmodel_t *rm, uint64_t va, uint64_t *r_pa,
    unsigned *r_attr, int *r_locked);

/* Map [va, last] to pa..; whatever was there is replaced. */
void rm_map(refmodel_t *rm, uint64_t va, uint64_t last, uint64_t pa,
    unsigned attr, int locked);
/* Remove whatever is mapped in [va, last]. */
void rm_unmap(refmodel_t *rm, uint64_t va, uint64_t last);
/* Set the bits of `mask` to those of `attr` on every mapped part. */
void rm_set_attr(refmodel_t *rm, uint64_t va, uint64_t last, unsigned mask,
    unsigned attr);
/* Lock (add one to the lock count of) or unlock every mapped part. */
void rm_set_locked(refmodel_t *rm, uint64_t va, uint64_t last, int locked);

/* Queries over [va, last]. */
int rm_any_mapped(const refmodel_t *rm, uint64_t va, uint64_t last);
int rm_all_mapped(const refmodel_t *rm, uint64_t va, uint64_t last);
int rm_any_locked(const refmodel_t *rm, uint64_t va, uint64_t last);
/* Any mapped byte that is not locked? */
int rm_any_unlocked(const refmodel_t *rm, uint64_t va, uint64_t last);
/* Mapped bytes in [va, last]. */
uint64_t rm_mapped_bytes(const refmodel_t *rm, uint64_t va, uint64_t last);
/*
 * Is all of [va, last] mapped to one physically contiguous run starting
 * at pa with exactly these attributes and this locked state?  This is what
 * one page-table leaf must correspond to.
 */
int rm_uniform(const refmodel_t *rm, uint64_t va, uint64_t last,
    uint64_t pa, unsigned attr, int locked);

/* Merge neighbours that are contiguous in va and pa with equal state. */
void rm_coalesce(refmodel_t *rm);

#endif /* HT_TEST_REFMODEL_H */
