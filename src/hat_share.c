/*
 * hat_share.c - shared page tables (illumos ISM, hat_share/hat_unshare):
 * ht_share, ht_unshare, and ht_as_destroy, which ends a space's shares
 * both ways before the space goes.
 *
 * A region [va, va + len) of a sharer shows [src_va, src_va + len) of a
 * source.  ht_share cuts the range into steps, largest first: where va
 * and src_va are both aligned to the span of a table below the root and
 * the rest of the range covers it, the sharer's entry one level up links
 * the source's table itself (an HTABLE_SHARED_PFN descriptor, alloc.c);
 * the source makes that table, empty, if it has none there, so that what
 * it maps later is shared too.  Where no table fits (unaligned edges, a
 * large leaf of the source over a whole span, a table the sharer has of
 * its own), the source's leaves are copied into the sharer, locked so
 * that no stealer takes them.
 *
 * The steps of a share, each in an operation of its own space (an
 * operation that touches the other space on the way batches that space's
 * TLB calls and defers its frees too, op.c):
 *  1. the region goes on the register (share.c), SR_MAKING: from now on
 *     the sharer's writes to the range are refused and the source's TLB
 *     calls are forwarded;
 *  2. the sharer's range must be empty (operation on the sharer);
 *  3. plan (operation on the source): the steps, the source's tables to
 *     share (held; made where missing) and the leaves to copy;
 *  4. link (operation on the sharer): the shared tables, each keeping a
 *     hold of its descriptor as the region's; a step whose place the
 *     sharer has taken with a table of its own is copied instead;
 *  5. copy: map_apply per run of copied leaves (its own operations);
 *  6. SR_LIVE.  On any failure the region is ended as an unshare would.
 *
 * Ending a region (unshare, either space's destroy), by the thread that
 * claimed it: in one operation on the sharer, each shared table's
 * descriptor loses the region's hold (so it is unlinked, and its hold on
 * the source's table goes with it), then every leaf left in the range (the
 * copies) is removed; the region leaves the register, after which no TLB
 * call names the sharer for it.
 *
 * Invariants: the region's shared tables are exactly sr_toff/sr_tlevel,
 * each a SHARED_PFN descriptor with busy 1 (the region's hold); the
 * sharer's other leaves in the range are copies, locked; the sharer never
 * writes its range while the region is on the register.
 */
#include <stdlib.h>

#include "iter.h"
#include "op.h"
#include "hat.h"
#include "hat_range.h"
#include "share.h"
#include "rmap.h"
#include "debug.h"

/* One step of a share: a table to share, or a stretch to copy. */
typedef struct share_step {
	uint64_t	off;		/* from va and src_va */
	uint64_t	len;
	int		level;		/* of the table; -1: copy */
	htable_t	*sht;		/* the source's table, held */
} share_step_t;

/* A run of copied leaves: contiguous in VA and PA, one attribute set. */
typedef struct copy_run {
	uint64_t	off;
	ht_pa_t		pa;
	uint64_t	len;
	unsigned	attr;
} copy_run_t;

typedef struct share_plan {
	share_step_t	*steps;
	size_t		nsteps, cap;
	copy_run_t	*runs;
	size_t		nruns, rcap;
} share_plan_t;

static int
grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 16;
	void *q;

	if (n < *cap)
		return (0);
	q = realloc(*p, c * size);
	if (q == NULL)
		return (ht__fail(HT_ENOMEM, "no memory to plan a share"));
	*p = q;
	*cap = c;
	return (0);
}

/*
 * The highest level below the root whose tables' span both va and src_va
 * start and `left` covers; -1 if none.
 */
static int
share_level(const mmu_t *m, int max_level, uint64_t va, uint64_t src_va,
    uint64_t left)
{
	for (int l = max_level - 1; l >= 0; l--) {
		uint64_t span = LEVEL_SIZE(m, l + 1);

		if (((va | src_va) & (span - 1)) == 0 && span <= left)
			return (l);
	}
	return (-1);
}

/* Add the source's leaves in [off, off + len) of the region as runs. */
static int
plan_copy(share_plan_t *p, share_rec_t *rec, uint64_t off, uint64_t len)
{
	hat_t *src = rec->sr_src;
	const mmu_t *m = hat_mmu(src);
	uint64_t lo = rec->sr_src_va + off, last = lo + (len - 1);
	iter_t it;
	int err = 0;

	for_each_leaf(&it, src, lo, last) {
		uint64_t a = it.it_va < lo ? lo : it.it_va;
		uint64_t z = it.it_va + (it.it_size - 1) > last ? last :
		    it.it_va + (it.it_size - 1);
		ht_pa_t pa = pte_pa(m, it.it_pte, it.it_level) +
		    (a - it.it_va);
		unsigned attr = (pte_attr(m, it.it_pte, it.it_level) &
		    ~(HT_A | HT_D | HT_LOCKED)) | HT_LOCKED;
		copy_run_t *r = p->nruns ? &p->runs[p->nruns - 1] : NULL;
		uint64_t roff = a - rec->sr_src_va;

		rec->sr_info.copied++;
		rec->sr_info.copied_bytes += z - a + 1;
		if (r != NULL && r->off + r->len == roff && r->pa + r->len ==
		    pa && r->attr == attr) {
			r->len += z - a + 1;
			continue;
		}
		if ((err = grow((void **)&p->runs, &p->rcap, p->nruns,
		    sizeof (*p->runs))) != 0)
			break;
		p->runs[p->nruns++] = (copy_run_t){ roff, pa, z - a + 1,
		    attr };
	}
	iter_stop(&it);
	return (err);
}

/*
 * Step 3, in an operation on the source: cut the region into steps, hold
 * (or make) the source's tables to share, gather the leaves to copy.
 */
static int
plan_share(share_plan_t *p, share_rec_t *rec)
{
	hat_t *src = rec->sr_src;
	const mmu_t *m = hat_mmu(src);
	uint64_t off = 0;
	op_t op;
	int err = 0;

	op_begin(&op, src);
	while (off < rec->sr_len && err == 0) {
		uint64_t left = rec->sr_len - off, sva = rec->sr_src_va + off;
		int l = share_level(m, src->hat_max_level, rec->sr_va + off,
		    sva, left);
		share_step_t st = { off, 0, l, NULL };

		if (l < 0) {
			/* copy up to the next place a level-0 table may fit */
			uint64_t span = LEVEL_SIZE(m, 1);
			uint64_t n = span - ((rec->sr_va + off) & (span - 1));

			st.len = n < left ? n : left;
		} else {
			st.len = LEVEL_SIZE(m, l + 1);
			st.sht = htable_lookup(src, sva, l);
			if (st.sht == NULL) {
				unsigned e;
				htable_t *lp = htable_getpage(src, sva, &e);

				if (lp != NULL && lp->ht_level <= l) {
					/*
					 * Not a large leaf: the source made
					 * the table since we looked (a map on
					 * another thread).  Look again.
					 */
					htable_release(lp);
					continue;
				} else if (lp != NULL) {
					/* a large leaf covers the span */
					htable_release(lp);
					st.level = -1;
				} else {
					st.sht = htable_create(src, sva, l,
					    NULL, &err);
					if (st.sht == NULL && err == -HT_ELPAGE) {
						err = 0;	/* one came */
						st.level = -1;
					}
				}
			}
		}
		if (err == 0 && st.level < 0)
			err = plan_copy(p, rec, off, st.len);
		if (err == 0)
			err = grow((void **)&p->steps, &p->cap, p->nsteps,
			    sizeof (*p->steps));
		if (err != 0) {
			if (st.sht != NULL)
				htable_release(st.sht);
			break;
		}
		p->steps[p->nsteps++] = st;
		off += st.len;
	}
	if (err != 0) {
		for (size_t i = 0; i < p->nsteps; i++)
			if (p->steps[i].sht != NULL)
				htable_release(p->steps[i].sht);
		p->nsteps = 0;
	}
	op_end(&op);
	return (err);
}

/*
 * Step 4, in an operation on the sharer: link the source's tables; copy
 * where the sharer has a table of its own.  The source's holds are
 * dropped here, success or not.
 */
static int
link_share(share_plan_t *p, share_rec_t *rec)
{
	hat_t *hat = rec->sr_sharer;
	op_t op;
	int err = 0;

	rec->sr_toff = malloc((p->nsteps + 1) * sizeof (*rec->sr_toff));
	rec->sr_tlevel = malloc((p->nsteps + 1) * sizeof (*rec->sr_tlevel));
	if (rec->sr_toff == NULL || rec->sr_tlevel == NULL)
		err = ht__fail(HT_ENOMEM, "no memory to record a share");
	op_begin(&op, hat);
	for (size_t i = 0; i < p->nsteps; i++) {
		share_step_t *st = &p->steps[i];
		htable_t *ht;
		int e2 = 0;

		if (st->sht == NULL)
			continue;
		if (err == 0) {
			ht = htable_create(hat, rec->sr_va + st->off, st->level,
			    st->sht, &e2);
			if (ht != NULL) {
				/* its hold is the region's */
				rec->sr_toff[rec->sr_ntables] = st->off;
				rec->sr_tlevel[rec->sr_ntables++] =
				    (int8_t)st->level;
				rec->sr_info.tables++;
				rec->sr_info.table_bytes += st->len;
			} else if (e2 == -HT_EEXIST || e2 == -HT_ELPAGE) {
				/* the sharer's own table is there: copy */
				err = plan_copy(p, rec, st->off, st->len);
			} else {
				err = e2;
			}
		}
		htable_release(st->sht);
		st->sht = NULL;
	}
	op_end(&op);
	return (err);
}

/* Step 5: map the copies, locked, refusing to replace anything. */
static int
copy_share(const share_plan_t *p, share_rec_t *rec)
{
	hat_t *hat = rec->sr_sharer;
	int err = 0;

	for (size_t i = 0; i < p->nruns && err == 0; i++) {
		const copy_run_t *r = &p->runs[i];

		err = map_apply(hat, rec->sr_va + r->off, r->pa, r->len,
		    r->attr, hat_mmu(hat)->leaf_levels,
		    HT_MAP_LOCK | HT_MAP_NOREPLACE, NULL, 0, NULL, NULL);
	}
	return (err);
}

/*
 * End a region its caller made or claimed: drop the shared tables and
 * remove the copies, in one operation on the sharer; then take it off the
 * register.
 */
static void
region_end(share_rec_t *rec)
{
	hat_t *hat = rec->sr_sharer;
	uint64_t last = rec->sr_va + (rec->sr_len - 1);
	op_t op;

	op_begin(&op, hat);
	op.op_rmap = &rec->sr_rmap;
	for (size_t i = 0; i < rec->sr_ntables; i++) {
		htable_t *ht = htable_lookup(hat, rec->sr_va + rec->sr_toff[i],
		    rec->sr_tlevel[i]);

		HT_VERIFY(ht != NULL && (ht->ht_flags & HTABLE_SHARED_PFN));
		htable_release(ht);	/* the lookup's */
		htable_release(ht);	/* the region's: the table goes */
	}
	rec->sr_ntables = 0;
	/* what is left in the range is copies (and no stacked lock) */
	range_clear(hat, rec->sr_va, last);
	op_end(&op);
	share_remove(rec);
}

/* Step 2: does [va, last] of hat map anything (leaves or np entries)? */
static int
np_any(htable_t *ht, unsigned lo, unsigned hi, void *arg)
{
	(void) ht;
	(void) lo;
	(void) hi;
	(void) arg;
	return (1);
}

static int
range_empty(hat_t *hat, uint64_t va, uint64_t last)
{
	uint64_t leaves, locked;
	int np = 0;
	op_t op;

	op_begin(&op, hat);
	range_census(hat, va, last, 0, &leaves, &locked);
	if (leaves == 0 && (atomic_load(&hat->hat_flags) & HAT_NP))
		np = np_tables(hat, va, last, np_any, NULL);
	op_end(&op);
	if (leaves != 0 || np != 0)
		return (ht__fail(HT_EEXIST, "[0x%llx, 0x%llx] of the sharing "
		    "space is not empty", (unsigned long long)va,
		    (unsigned long long)last));
	return (0);
}

int
ht_share(ht_as_t *as, ht_va_t va, ht_as_t *src, ht_va_t src_va, uint64_t len,
    ht_share_info_t *r_info)
{
	hat_t *hat = as;
	share_plan_t plan = { NULL, 0, 0, NULL, 0, 0 };
	share_rec_t *rec;
	uint64_t last, slast;
	int err;

	if (hat == NULL || src == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	if (hat == src)
		return (ht__fail(HT_EINVAL, "a space cannot share from "
		    "itself"));
	if (hat->hat_ctx != src->hat_ctx)
		return (ht__fail(HT_EINVAL, "the spaces belong to different "
		    "contexts"));
	/* before anything is made; share_insert asserts it */
	if ((atomic_load(&hat->hat_flags) | atomic_load(&src->hat_flags)) &
	    HAT_SERIAL)
		return (ht__fail(HT_EINVAL, "a serial space (HT_AS_SERIAL) "
		    "neither shares nor is shared"));
	if ((err = range_check(hat_mmu(hat), va, len, &last)) != 0 ||
	    (err = range_check(hat_mmu(hat), src_va, len, &slast)) != 0)
		return (err);
	if ((rec = calloc(1, sizeof (*rec))) == NULL)
		return (ht__fail(HT_ENOMEM, "no memory for a shared region"));
	/* the extents its end may need, so that the end cannot fail */
	if (rmap_on(hat->hat_ctx) && (err = rmap_prep(hat->hat_ctx,
	    &rec->sr_rmap)) != 0) {
		free(rec);
		return (err);
	}
	rec->sr_sharer = hat;
	rec->sr_src = src;
	rec->sr_va = va;
	rec->sr_src_va = src_va;
	rec->sr_len = len;
	if ((err = share_insert(rec)) != 0) {
		rmap_unprep(hat->hat_ctx, &rec->sr_rmap);
		free(rec);
		return (err);
	}
	if ((err = range_empty(hat, va, last)) != 0) {
		/* nothing made: the sharer's mappings there stay */
		share_remove(rec);
		return (err);
	}
	if ((err = plan_share(&plan, rec)) == 0) {
		err = link_share(&plan, rec);
		if (err == 0)
			err = copy_share(&plan, rec);
	}
	free(plan.steps);
	free(plan.runs);
	if (err != 0) {
		/* the range was empty: what is in it now, we made */
		region_end(rec);
		return (err);
	}
	if (r_info != NULL)
		*r_info = rec->sr_info;
	share_publish(rec);
	return (0);
}

int
ht_unshare(ht_as_t *as, ht_va_t va, uint64_t len)
{
	hat_t *hat = as;
	share_match_t sm;
	share_rec_t *rec;
	uint64_t last, cva, clen;
	int err, n = 0;

	if (hat == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	if ((err = range_check(hat_mmu(hat), va, len, &last)) != 0)
		return (err);
	if (share_cuts(hat, va, last, &cva, &clen))
		return (ht__fail(HT_EINVAL, "[0x%llx, +0x%llx) cuts the shared "
		    "region [0x%llx, +0x%llx): regions end whole",
		    (unsigned long long)va, (unsigned long long)len,
		    (unsigned long long)cva, (unsigned long long)clen));
	sm.sm_sharer = hat;
	sm.sm_src = NULL;
	sm.sm_va = va;
	sm.sm_last = last;
	while ((rec = share_claim(hat->hat_ctx, &sm)) != NULL) {
		region_end(rec);
		n++;
	}
	return (n);
}

void
ht_as_destroy(ht_as_t *as)
{
	hat_t *hat = as;
	share_match_t sm = { NULL, NULL, 0, ~0ull };
	share_rec_t *rec;

	if (hat == NULL)
		return;
	/* the regions it shares in, then those it shares out */
	sm.sm_sharer = hat;
	while ((rec = share_claim(hat->hat_ctx, &sm)) != NULL)
		region_end(rec);
	sm.sm_sharer = NULL;
	sm.sm_src = hat;
	while ((rec = share_claim(hat->hat_ctx, &sm)) != NULL)
		region_end(rec);
	hat_destroy(hat, 1);
}
