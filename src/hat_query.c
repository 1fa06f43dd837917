/*
 * hat_query.c - reading an address space: translate (one address, as the
 * MMU walks it) and walk (every leaf of a range, through the iterator).
 *
 * Translate walks the hardware tables from the root frame the way the MMU
 * does, without the hash or holds: it is the hot query of emulators, and
 * like the MMU it reads a consistent snapshot of each entry it uses.  A
 * translation racing with an unmap of the same address may see the tables
 * before the unmap; frames of removed tables are handed back to the
 * provider only after the TLB hook ran, and the arena keeps them readable.
 */
#include "iter.h"
#include "frame.h"
#include "hat.h"
#include "debug.h"

int
ht_translate(ht_as_t *hat, ht_va_t va, ht_xlate_t *x)
{
	const mmu_t *m;
	const htable_t *root;
	const uint8_t *tbl;
	x86pte_t w = PT_WRITABLE | PT_USER, nx = 0, pte;
	int level, sz, shift;
	unsigned n = 0;

	if (HT_UNLIKELY(hat == NULL || x == NULL))
		return (ht__fail(HT_EINVAL, "NULL argument"));
	m = hat_mmu(hat);
	x->va = va;
	if (HT_UNLIKELY(!mmu_va_ok(m, va))) {
		x->nlevels = 0;
		return (ht__fail(m->va_bits == 32 ? HT_ERANGE : HT_ENONCANON,
		    "va 0x%llx is not an address of %s paging",
		    (unsigned long long)va, ht_mode_name(m->mode)));
	}
	root = hat->hat_htable;
	if (HT_UNLIKELY(root->ht_flags & HTABLE_COPIED)) {
		tbl = (const uint8_t *)hat->hat_copied_ptes;
		sz = 8;
		shift = 3;
	} else {
		tbl = root->ht_ptr;
		sz = m->pte_size;
		shift = m->pte_shift;
	}
	/*
	 * The walk keeps everything in registers and does the least work per
	 * level (index, load, permission AND/OR, leaf test, window
	 * arithmetic): consecutive translations then overlap in the CPU.
	 */
	const uint8_t *win = hat->hat_ctx->ctx_win;
	const ht_pa_t wbase = hat->hat_ctx->ctx_win_base;
	const uint64_t wlen = hat->hat_ctx->ctx_win_len;

	for (level = m->max_level; ; level--) {
		unsigned e = (unsigned)(va >> LEVEL_SHIFT(m, level)) &
		    m->idx_mask[level];
		ht_pa_t next;

		if (HT_LIKELY(sz == 8))
			pte = atomic_load_explicit((_Atomic uint64_t *)(tbl +
			    ((size_t)e << 3)), memory_order_relaxed);
		else
			pte = pte_load(sz, tbl + ((size_t)e << shift));
		x->entries[n++] = pte;
		if (HT_UNLIKELY(!(pte & PT_VALID))) {
			x->nlevels = n;
			return (-HT_ENOTMAPPED);	/* quiet: a normal answer */
		}
		w &= pte | m->noperm[level];
		nx |= pte & m->nx_bit[level];
		if (level == 0 || (pte & PT_PAGESIZE))
			break;
		next = pte & m->paddr_mask;
		if (HT_LIKELY(next - wbase < wlen && next >= wbase))
			tbl = win + (next - wbase);
		else if ((tbl = ptable_map_slow(hat->hat_ctx,
		    next >> HT_PAGE_SHIFT)) == NULL) {
			x->nlevels = n;
			return (ht__fail(HT_EBADTABLE, "level-%d entry 0x%llx "
			    "links to a frame the provider cannot reach",
			    level, (unsigned long long)pte));
		}
		sz = m->pte_size;
		shift = m->pte_shift;
	}
	x->nlevels = n;
	x->level = (unsigned)level;
	x->page_size = LEVEL_SIZE(m, level);
	x->pa = pte_pa(m, pte, level) + (va & LEVEL_OFFSET(m, level));
	x->attr = (pte_attr(m, pte, level) & ~(HT_W | HT_U | HT_X)) |
	    ((w & PT_WRITABLE) ? HT_W : 0) | ((w & PT_USER) ? HT_U : 0) |
	    (nx ? 0 : HT_X);
	return (0);
}

int
ht_walk(ht_as_t *hat, ht_va_t start, ht_va_t last, ht_walk_fn fn, void *arg)
{
	const mmu_t *m;
	ht_iter_t it;
	ht_leaf_t leaf;
	ht_op_t op;
	int rc = 0;

	if (hat == NULL || fn == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	m = hat_mmu(hat);
	if (start > last || !mmu_va_ok(m, start) || last > mmu_va_last(m))
		return (ht__fail(HT_ERANGE, "bad walk range [0x%llx, 0x%llx]",
		    (unsigned long long)start, (unsigned long long)last));
	ht_op_begin(&op, hat);
	for (ht_iter_start(&it, hat, start, last); !it.it_done;
	    ht_iter_next(&it)) {
		/* a large leaf may begin before start: report it whole */
		leaf.va = it.it_va;
		leaf.size = it.it_size;
		leaf.level = (unsigned)it.it_level;
		leaf.pte = it.it_pte;
		leaf.pa = pte_pa(m, it.it_pte, it.it_level);
		leaf.attr = pte_attr(m, it.it_pte, it.it_level);
		if ((rc = fn(arg, &leaf)) != 0)
			break;
	}
	ht_iter_stop(&it);
	ht_op_end(&op);
	return (rc);
}
