/*
 * iter.c - the slow half of the leaf iterator: moving between tables and
 * applying a table's pending bookkeeping.  See iter.h.
 */
#include "iter.h"
#include "op.h"
#include "debug.h"

/* Apply the counts and the TLB range gathered for it_ht. */
static void
iter_settle(ht_iter_t *it)
{
	htable_t *ht = it->it_ht;

	if (ht == NULL)
		return;
	/* the TLB length wraps to 0 only for the whole 2^64 space */
	htable_apply(ht, it->it_dvalid, it->it_dvalid, it->it_dlock,
	    it->it_tlb_any, it->it_tlb_lo, it->it_tlb_last - it->it_tlb_lo + 1);
	it->it_dvalid = it->it_dlock = 0;
	it->it_tlb_any = 0;
}

static void
iter_load(ht_iter_t *it, htable_t *ht, uint64_t va, x86pte_t pte)
{
	const mmu_t *m = hat_mmu(it->it_hat);

	it->it_ht = ht;
	it->it_level = ht->ht_level;
	it->it_base = x86pte_access_pagetable(ht, 0);
	it->it_n = htable_num_ptes(ht);
	it->it_sz = (ht->ht_flags & HTABLE_COPIED) ? 8 : m->pte_size;
	it->it_shift = (ht->ht_flags & HTABLE_COPIED) ? 3 : m->pte_shift;
	it->it_entry = htable_va2entry(va, ht);
	it->it_size = LEVEL_SIZE(m, ht->ht_level);
	it->it_va = va;
	it->it_pte = pte;
}

void
ht_iter_start(ht_iter_t *it, hat_t *hat, uint64_t va, uint64_t last)
{
	it->it_hat = hat;
	it->it_last = last;
	it->it_ht = NULL;
	it->it_done = 0;
	it->it_dvalid = it->it_dlock = 0;
	it->it_tlb_any = 0;
	it->it_va = va;
	it->it_size = 0;
	if (va > last) {
		it->it_done = 1;
		return;
	}
	/* Pretend a previous leaf ended at va. */
	ht_iter_next_table(it);
}

void
ht_iter_next_table(ht_iter_t *it)
{
	htable_t *ht = it->it_ht;
	uint64_t va = it->it_va + it->it_size;
	x86pte_t pte;

	iter_settle(it);
	if (it->it_size != 0 && va <= it->it_va) {	/* wrapped */
		ht_iter_stop(it);
		return;
	}
	if (va > it->it_last) {
		ht_iter_stop(it);
		return;
	}
	it->it_ht = NULL;
	pte = htable_walk(it->it_hat, &ht, &va, it->it_last);
	if (ht == NULL) {
		it->it_done = 1;
		return;
	}
	iter_load(it, ht, va, pte);
}

void
ht_iter_stop(ht_iter_t *it)
{
	iter_settle(it);
	if (it->it_ht != NULL)
		htable_release(it->it_ht);
	it->it_ht = NULL;
	it->it_done = 1;
}
