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
	x86pte_t w = PT_WRITABLE | PT_USER, nx = 0;
	int level, sz, shift;

	if (hat == NULL || x == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	m = hat_mmu(hat);
	x->va = va;
	x->nlevels = 0;
	if (!mmu_va_ok(m, va))
		return (ht__fail(m->va_bits == 32 ? HT_ERANGE : HT_ENONCANON,
		    "va 0x%llx is not an address of %s paging",
		    (unsigned long long)va, ht_mode_name(m->mode)));
	root = hat->hat_htable;
	tbl = (root->ht_flags & HTABLE_COPIED) ?
	    (const uint8_t *)hat->hat_copied_ptes : root->ht_ptr;
	sz = (root->ht_flags & HTABLE_COPIED) ? 8 : m->pte_size;
	shift = (root->ht_flags & HTABLE_COPIED) ? 3 : m->pte_shift;
	for (level = m->max_level; ; level--) {
		unsigned n = level == m->max_level ? m->top_level_count :
		    m->ptes_per_table;
		unsigned e = (unsigned)(va >> LEVEL_SHIFT(m, level)) & (n - 1);
		x86pte_t pte = pte_load(sz, tbl + ((size_t)e << shift));

		x->entries[x->nlevels++] = pte;
		if (!(pte & PT_VALID))
			return (-HT_ENOTMAPPED);	/* quiet: a normal answer */
		/* PAE PDPTEs carry no permission bits. */
		if (!(m->mode == HT_MODE_PAE && level == 2)) {
			w &= pte;
			nx |= pte & m->pt_nx;
		}
		if (pte_is_page(pte, level)) {
			ht_pa_t base = pte_pa(m, pte, level);

			x->level = (unsigned)level;
			x->page_size = LEVEL_SIZE(m, level);
			x->pa = base + (va & LEVEL_OFFSET(m, level));
			x->attr = (pte_attr(m, pte, level) &
			    ~(HT_W | HT_U | HT_X)) |
			    ((w & PT_WRITABLE) ? HT_W : 0) |
			    ((w & PT_USER) ? HT_U : 0) |
			    (nx ? 0 : HT_X);
			return (0);
		}
		tbl = ptable_map(hat->hat_ctx, pte_pfn(m, pte, level));
		sz = m->pte_size;
		shift = m->pte_shift;
		if (tbl == NULL)
			return (ht__fail(HT_EBADTABLE, "level-%d entry 0x%llx "
			    "links to a frame the provider cannot reach",
			    level, (unsigned long long)pte));
	}
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
