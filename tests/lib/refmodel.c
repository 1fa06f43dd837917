/*
 * refmodel.c - the reference address-space model of the model-based tests
 * (see refmodel.h).
 *
 * Every change works the same way: split the entries that straddle the
 * ends of the range, so that each entry is either wholly inside or wholly
 * outside it, then edit the inside ones, then merge equal neighbours.  The
 * array stays sorted and non-overlapping by construction; rm_check()
 * verifies that after every change anyway, because a wrong model would
 * make every report of the test worthless.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refmodel.h"

static void
rm_die(const char *what)
{
	/* The model is test infrastructure: a broken model must stop the run. */
	(void) fprintf(stderr, "refmodel: %s\n", what);
	abort();
}

static void
rm_check(const refmodel_t *rm)
{
	for (size_t i = 0; i < rm->n; i++) {
		const rm_ent_t *e = &rm->ents[i];

		if (e->last < e->va)
			rm_die("entry with last < va");
		if (i > 0 && rm->ents[i - 1].last >= e->va)
			rm_die("entries overlap or are out of order");
	}
}

void
rm_init(refmodel_t *rm)
{
	rm->ents = NULL;
	rm->n = 0;
	rm->cap = 0;
}

void
rm_fini(refmodel_t *rm)
{
	free(rm->ents);
	rm_init(rm);
}

void
rm_clear(refmodel_t *rm)
{
	rm->n = 0;
}

static void
rm_reserve(refmodel_t *rm, size_t want)
{
	if (want <= rm->cap)
		return;
	size_t cap = rm->cap == 0 ? 64 : rm->cap;
	while (cap < want)
		cap *= 2;
	rm_ent_t *p = realloc(rm->ents, cap * sizeof (*p));
	if (p == NULL)
		rm_die("out of memory");
	rm->ents = p;
	rm->cap = cap;
}

void
rm_copy(refmodel_t *dst, const refmodel_t *src)
{
	rm_reserve(dst, src->n);
	if (src->n != 0)
		memcpy(dst->ents, src->ents, src->n * sizeof (rm_ent_t));
	dst->n = src->n;
}

static int
same_state(const rm_ent_t *a, const rm_ent_t *b)
{
	return (a->attr == b->attr && a->locked == b->locked);
}

/* Can b be appended to a (adjacent in va, contiguous in pa, same state)? */
static int
joins(const rm_ent_t *a, const rm_ent_t *b)
{
	return (a->last != UINT64_MAX && a->last + 1 == b->va &&
	    a->pa + (a->last - a->va) + 1 == b->pa && same_state(a, b));
}

void
rm_coalesce(refmodel_t *rm)
{
	size_t o = 0;

	for (size_t i = 0; i < rm->n; i++) {
		if (o > 0 && joins(&rm->ents[o - 1], &rm->ents[i])) {
			rm->ents[o - 1].last = rm->ents[i].last;
			continue;
		}
		rm->ents[o++] = rm->ents[i];
	}
	rm->n = o;
	rm_check(rm);
}

int
rm_equal(const refmodel_t *a, const refmodel_t *b)
{
	/* Both are coalesced after every change, so equal means identical. */
	if (a->n != b->n)
		return (0);
	for (size_t i = 0; i < a->n; i++) {
		const rm_ent_t *x = &a->ents[i], *y = &b->ents[i];

		if (x->va != y->va || x->last != y->last || x->pa != y->pa ||
		    !same_state(x, y))
			return (0);
	}
	return (1);
}

/* Index of the first entry whose last byte is >= addr (n if none). */
static size_t
first_from(const refmodel_t *rm, uint64_t addr)
{
	size_t lo = 0, hi = rm->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (rm->ents[mid].last < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* Index of the first entry that starts after addr (n if none). */
static size_t
first_after(const refmodel_t *rm, uint64_t addr)
{
	size_t lo = 0, hi = rm->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (rm->ents[mid].va <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

static void
insert_at(refmodel_t *rm, size_t i, const rm_ent_t *e)
{
	rm_reserve(rm, rm->n + 1);
	memmove(&rm->ents[i + 1], &rm->ents[i],
	    (rm->n - i) * sizeof (rm_ent_t));
	rm->ents[i] = *e;
	rm->n++;
}

static void
remove_range(refmodel_t *rm, size_t i, size_t j)
{
	if (i == j)
		return;		/* also keeps memmove away from a NULL array */
	memmove(&rm->ents[i], &rm->ents[j], (rm->n - j) * sizeof (rm_ent_t));
	rm->n -= j - i;
}

/* Make addr the start of an entry if some entry straddles it. */
static void
split_at(refmodel_t *rm, uint64_t addr)
{
	size_t i = first_from(rm, addr);

	if (i == rm->n || rm->ents[i].va >= addr)
		return;
	rm_ent_t hi = rm->ents[i];
	hi.pa += addr - hi.va;
	hi.va = addr;
	rm->ents[i].last = addr - 1;
	insert_at(rm, i + 1, &hi);
}

/*
 * Split at both ends of [va, last] and return the index range [*r_i, *r_j)
 * of the entries inside it.
 */
static void
isolate(refmodel_t *rm, uint64_t va, uint64_t last, size_t *r_i, size_t *r_j)
{
	if (last < va)
		rm_die("range with last < va");
	split_at(rm, va);
	if (last != UINT64_MAX)
		split_at(rm, last + 1);
	*r_i = first_from(rm, va);
	*r_j = first_after(rm, last);
}

int
rm_lookup(const refmodel_t *rm, uint64_t va, uint64_t *r_pa,
    unsigned *r_attr, int *r_locked)
{
	size_t i = first_from(rm, va);

	if (i == rm->n || rm->ents[i].va > va)
		return (0);
	if (r_pa != NULL)
		*r_pa = rm->ents[i].pa + (va - rm->ents[i].va);
	if (r_attr != NULL)
		*r_attr = rm->ents[i].attr;
	if (r_locked != NULL)
		*r_locked = rm->ents[i].locked;
	return (1);
}

void
rm_map(refmodel_t *rm, uint64_t va, uint64_t last, uint64_t pa,
    unsigned attr, int locked)
{
	size_t i, j;
	rm_ent_t e = { va, last, pa, attr, locked };

	isolate(rm, va, last, &i, &j);
	remove_range(rm, i, j);
	insert_at(rm, i, &e);
	rm_coalesce(rm);
}

void
rm_unmap(refmodel_t *rm, uint64_t va, uint64_t last)
{
	size_t i, j;

	isolate(rm, va, last, &i, &j);
	remove_range(rm, i, j);
	rm_coalesce(rm);
}

void
rm_set_attr(refmodel_t *rm, uint64_t va, uint64_t last, unsigned mask,
    unsigned attr)
{
	size_t i, j;

	isolate(rm, va, last, &i, &j);
	for (size_t k = i; k < j; k++)
		rm->ents[k].attr = (rm->ents[k].attr & ~mask) | (attr & mask);
	rm_coalesce(rm);
}

void
rm_set_locked(refmodel_t *rm, uint64_t va, uint64_t last, int locked)
{
	size_t i, j;

	isolate(rm, va, last, &i, &j);
	for (size_t k = i; k < j; k++) {
		/* locks stack: a lock adds one, an unlock takes one away */
		if (locked)
			rm->ents[k].locked++;
		else if (rm->ents[k].locked > 0)
			rm->ents[k].locked--;
	}
	rm_coalesce(rm);
}

/*
 * The queries visit the entries that intersect [va, last] in order; lo/hi
 * are the bounds of each intersection.
 */
static int
next_in(const refmodel_t *rm, size_t *ix, uint64_t va, uint64_t last,
    const rm_ent_t **r_e, uint64_t *r_lo, uint64_t *r_hi)
{
	if (*ix == rm->n || rm->ents[*ix].va > last)
		return (0);
	const rm_ent_t *e = &rm->ents[(*ix)++];
	*r_e = e;
	*r_lo = e->va < va ? va : e->va;
	*r_hi = e->last > last ? last : e->last;
	return (1);
}

int
rm_any_mapped(const refmodel_t *rm, uint64_t va, uint64_t last)
{
	size_t i = first_from(rm, va);

	return (i < rm->n && rm->ents[i].va <= last);
}

int
rm_all_mapped(const refmodel_t *rm, uint64_t va, uint64_t last)
{
	size_t ix = first_from(rm, va);
	const rm_ent_t *e;
	uint64_t lo, hi, next = va;	/* first byte not known mapped */

	while (next_in(rm, &ix, va, last, &e, &lo, &hi)) {
		if (lo != next)
			return (0);
		if (hi == last)
			return (1);
		next = hi + 1;
	}
	return (0);
}

int
rm_any_locked(const refmodel_t *rm, uint64_t va, uint64_t last)
{
	size_t ix = first_from(rm, va);
	const rm_ent_t *e;
	uint64_t lo, hi;

	while (next_in(rm, &ix, va, last, &e, &lo, &hi)) {
		if (e->locked)
			return (1);
	}
	return (0);
}

int
rm_any_unlocked(const refmodel_t *rm, uint64_t va, uint64_t last)
{
	size_t ix = first_from(rm, va);
	const rm_ent_t *e;
	uint64_t lo, hi;

	while (next_in(rm, &ix, va, last, &e, &lo, &hi)) {
		if (!e->locked)
			return (1);
	}
	return (0);
}

uint64_t
rm_mapped_bytes(const refmodel_t *rm, uint64_t va, uint64_t last)
{
	size_t ix = first_from(rm, va);
	const rm_ent_t *e;
	uint64_t lo, hi, sum = 0;

	while (next_in(rm, &ix, va, last, &e, &lo, &hi))
		sum += hi - lo + 1;
	return (sum);
}

int
rm_uniform(const refmodel_t *rm, uint64_t va, uint64_t last, uint64_t pa,
    unsigned attr, int locked)
{
	size_t ix = first_from(rm, va);
	const rm_ent_t *e;
	uint64_t lo, hi, next = va;

	while (next_in(rm, &ix, va, last, &e, &lo, &hi)) {
		if (lo != next || e->attr != attr || !e->locked != !locked ||
		    e->pa + (lo - e->va) != pa + (lo - va))
			return (0);
		if (hi == last)
			return (1);
		next = hi + 1;
	}
	return (0);
}
