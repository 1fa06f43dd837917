/*
 * iter.c - the slow half of the leaf iterator: moving between tables and
 * applying a table's pending bookkeeping.  See iter.h.
 */
#include "iter.h"
#include "op.h"
#include "debug.h"

/* Apply the counts and the TLB range gathered for it_ht. */
static void
iter_settle(iter_t *it)
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
iter_load(iter_t *it, htable_t *ht, uint64_t va, x86pte_t pte)
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
iter_start(iter_t *it, hat_t *hat, uint64_t va, uint64_t last)
{
	it->it_hat = hat;
	it->it_m = hat_mmu(hat);
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
	iter_next_table(it);
}

void
iter_next_table(iter_t *it)
{
	htable_t *ht = it->it_ht;
	uint64_t va = it->it_va + it->it_size;
	x86pte_t pte;

	iter_settle(it);
	if (it->it_size != 0 && va <= it->it_va) {	/* wrapped */
		iter_stop(it);
		return;
	}
	if (va > it->it_last) {
		iter_stop(it);
		return;
	}
	it->it_ht = NULL;
	pte = htable_next_leaf(it->it_hat, &ht, &va, it->it_last);
	if (ht == NULL) {
		it->it_done = 1;
		return;
	}
	iter_load(it, ht, va, pte);
}

void
iter_stop(iter_t *it)
{
	iter_settle(it);
	if (it->it_ht != NULL)
		htable_release(it->it_ht);
	it->it_ht = NULL;
	it->it_done = 1;
}
