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
 * Each entry read is reported with its physical address: the table's
 * (the root's from ht_as_root, which includes the PAE root's offset in its
 * frame; below it the address the parent entry names) plus index * size.
 *
 * ht_access asks the reader of foreign images (reader/access.c) for the
 * MMU's verdict, through a read function over the space's own frames
 * with single-copy atomic loads of each entry, so that a change racing
 * with the call gives the entry before or after, as the MMU would see
 * it; a walk that raced with the removal of a table it used is done
 * again (hat_gen, as in ht_translate), so its verdict never comes from a
 * reused frame.
 */
#include <string.h>

#include "iter.h"
#include "frame.h"
#include "op.h"
#include "hat_range.h"
#include "debug.h"
#include "hook.h"
#include "stlb.h"
#include "reader/reader.h"

/*
 * The 4- and 5-level walk with everything the compiler can know made
 * constant (9 index bits a level, 8-byte entries, no PAE root): straight
 * code, about a third of the instructions of the general walk, so that
 * independent lookups overlap in the CPU.  ents (may be NULL, then the
 * stores vanish) receives the entries read, and epa their physical
 * addresses (with ents only).  Returns 1 with the leaf in
 * *r_pte at *r_level, 2 when the entry at *r_level is not present, 0 when
 * a table lies outside the provider's window (the general walk decides).
 * *r_w is the AND and *r_nx the OR of the entries read.
 */
static inline __attribute__((always_inline)) int
descend_long(hat_t *hat, const mmu_t *m, const int nlev, ht_va_t va,
    uint64_t *ents, ht_pa_t *epa, x86pte_t *r_pte, int *r_level,
    x86pte_t *r_w, x86pte_t *r_nx)
{
	const ht_ctx_t *ctx = hat->hat_ctx;
	const uint8_t *win = ctx->ctx_win;
	const ht_pa_t wbase = ctx->ctx_win_base;
	const uint64_t wlen = ctx->ctx_win_len;
	const x86pte_t amask = m->paddr_mask;
	const uint64_t *tbl = hat->hat_htable->ht_ptr;
	ht_pa_t tpa = (ht_pa_t)hat->hat_htable->ht_pfn << HT_PAGE_SHIFT;
	x86pte_t w = ~0ull, nx = 0;

	/* nlev is a constant: the compiler unrolls this into straight code */
#pragma GCC unroll 5
	for (int level = nlev - 1; level >= 0; level--) {
		/*
		 * Acquire: a link is published by link_ptp's CAS after the
		 * child's frame was zeroed or filled; this load orders the
		 * reads of the child after it (a plain load on x86).
		 */
		unsigned idx = (unsigned)(va >> (12 + 9 * level)) & 511;
		x86pte_t pte = atomic_load_explicit((_Atomic uint64_t *)
		    &tbl[idx], memory_order_acquire);
		ht_pa_t next;

		if (ents != NULL) {
			ents[nlev - 1 - level] = pte;
			epa[nlev - 1 - level] = tpa + ((ht_pa_t)idx << 3);
		}
		*r_level = level;
		if (HT_UNLIKELY(!(pte & PT_VALID)))
			return (2);
		w &= pte;
		nx |= pte;
		if (level == 0 || (pte & PT_PAGESIZE)) {
			*r_pte = pte;
			*r_w = w;
			*r_nx = nx;
			return (1);
		}
		tpa = pte & amask;
		next = tpa - wbase;
		if (HT_UNLIKELY(next >= wlen))
			return (0);
		tbl = (const uint64_t *)(win + next);
	}
	return (0);
}

/* The physical address a leaf at `level` gives va (4/5-level walk). */
static inline ht_pa_t
long_pa(const mmu_t *m, x86pte_t pte, int level, ht_va_t va)
{
	uint64_t off = (1ull << (12 + 9 * level)) - 1;

	return (((pte & (level == 0 ? m->paddr_mask : m->lgpg_mask)) & ~off) +
	    (va & off));
}

/* translate_once's 4/5-level case; 1 when decided (*r_rc). */
static inline __attribute__((always_inline)) int
translate_long(hat_t *hat, const mmu_t *m, const int nlev, ht_va_t va,
    ht_xlate_t *x, int *r_rc)
{
	x86pte_t pte = 0, w = 0, nx = 0;
	int level = 0;
	int st = descend_long(hat, m, nlev, va, x->entries, x->entry_pa, &pte,
	    &level, &w, &nx);

	if (st == 0)
		return (0);
	x->nlevels = (unsigned)(nlev - level);
	if (st == 2) {
		*r_rc = -HT_ENOTMAPPED;
		return (1);
	}
	x->level = (unsigned)level;
	x->page_size = 1ull << (12 + 9 * level);
	x->pa = long_pa(m, pte, level, va);
	x->attr = (pte_attr(m, pte, level) & ~(HT_W | HT_U | HT_X)) |
	    (unsigned)((w >> 1) & (HT_W | HT_U)) |
	    ((nx & m->pt_nx) ? 0 : HT_X);
	*r_rc = 0;
	return (1);
}

static int translate_once(hat_t *hat, ht_va_t va, ht_xlate_t *x);

/*
 * ht_translate: a lock-free walk, like the MMU's, inside the read side of
 * the space's seqlock (hat_read_begin): a table it used may be unlinked
 * and its frame reused while it reads.
 */
int
ht_translate(ht_as_t *as, ht_va_t va, ht_xlate_t *x)
{
	hat_t *hat = as;
	uint64_t gen;
	int rc;

	if (HT_UNLIKELY(hat == NULL || x == NULL))
		return (ht__fail(HT_EINVAL, "NULL argument"));
	do {
		gen = hat_read_begin(hat);
		rc = translate_once(hat, va, x);
	} while (hat_read_retry(hat, gen));
	return (rc);
}

static int
translate_once(hat_t *hat, ht_va_t va, ht_xlate_t *x)
{
	const mmu_t *m;
	const htable_t *root;
	const uint8_t *tbl;
	ht_pa_t tpa = ht_as_root(hat);
	x86pte_t w = PT_WRITABLE | PT_USER, nx = 0, pte;
	int level, sz, shift;
	unsigned n = 0;

	m = hat_mmu(hat);
	x->va = va;
	if (HT_UNLIKELY(!mmu_va_ok(m, va))) {
		x->nlevels = 0;
		return (ht__fail(m->va_bits == 32 ? HT_ERANGE : HT_ENONCANON,
		    "va 0x%llx is not an address of %s paging",
		    (unsigned long long)va, ht_mode_name(m->mode)));
	}
	root = hat->hat_htable;
	if (HT_LIKELY(!(root->ht_flags & HTABLE_COPIED) && m->pte_size == 8 &&
	    m->mode != HT_MODE_PAE)) {
		int rc;

		if (m->num_level == 4 && translate_long(hat, m, 4, va, x, &rc))
			return (rc);
		if (m->num_level == 5 && translate_long(hat, m, 5, va, x, &rc))
			return (rc);
	}
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
			    ((size_t)e << 3)), memory_order_acquire);
		else
			pte = pte_load(sz, tbl + ((size_t)e << shift));
		x->entry_pa[n] = tpa + ((ht_pa_t)e << shift);
		x->entries[n++] = pte;
		if (HT_UNLIKELY(!(pte & PT_VALID))) {
			x->nlevels = n;
			return (-HT_ENOTMAPPED);	/* quiet: a normal answer */
		}
		w &= pte | m->noperm[level];
		nx |= pte & m->nx_bit[level];
		if (level == 0 || (pte & PT_PAGESIZE))
			break;
		next = tpa = pte & m->paddr_mask;
		if (HT_LIKELY(next - wbase < wlen && next >= wbase))
			tbl = win + (next - wbase);
		else if ((tbl = ptable_map_slow(hat->hat_ctx,
		    next >> HT_PAGE_SHIFT)) == NULL) {
			/*
			 * The link was checked when written (or imported):
			 * a provider that stops mapping a frame misbehaves.
			 */
			x->nlevels = n;
			return (ht__fail(HT_EPROVIDER, "level-%d entry 0x%llx "
			    "links to a frame the provider no longer maps",
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
ht_va2pa(ht_as_t *as, ht_va_t va, ht_pa_t *r_pa)
{
	hat_t *hat = as;
	const mmu_t *m;
	uint64_t gen;
	ht_xlate_t x;
	int rc, done;

	if (HT_UNLIKELY(hat == NULL || r_pa == NULL))
		return (ht__fail(HT_EINVAL, "NULL argument"));
	m = hat_mmu(hat);
	if (HT_LIKELY(m->pte_size == 8 && m->mode != HT_MODE_PAE &&
	    !(hat->hat_htable->ht_flags & HTABLE_COPIED) && m->has_hole &&
	    !mmu_in_hole(m, va))) {
		x86pte_t pte = 0, w, nx;
		int level = 0;

		do {	/* the seqlock read side, as in ht_translate */
			gen = hat_read_begin(hat);
			done = m->num_level == 4 ?
			    descend_long(hat, m, 4, va, NULL, NULL, &pte, &level,
			    &w, &nx) : descend_long(hat, m, 5, va, NULL, NULL, &pte,
			    &level, &w, &nx);
		} while (hat_read_retry(hat, gen));
		if (HT_LIKELY(done == 1)) {
			*r_pa = long_pa(m, pte, level, va);
			return (0);
		}
		if (done == 2)
			return (-HT_ENOTMAPPED);
	}
	if ((rc = ht_translate(hat, va, &x)) == 0)
		*r_pa = x.pa;
	return (rc);
}

/*
 * The rights the links above table ht leave to its leaves: HT_W, HT_U and
 * HT_X narrowed by every entry from the root down to ht (SDM 4.6: W and U
 * ANDed, X lost to any NX).  The links this library writes grant all
 * three, but imported tables may restrict at any level.  The walk calls
 * this once per table it enters; the chain is stable while ht is held
 * (a held table keeps its parent, and its link, in place).
 */
static unsigned
links_eff(htable_t *ht)
{
	const mmu_t *m = hat_mmu(ht->ht_hat);
	unsigned eff = HT_W | HT_U | HT_X;

	for (htable_t *c = ht; c->ht_parent != NULL; c = c->ht_parent) {
		htable_t *p = c->ht_parent;

		eff = pte_eff(m, eff, x86pte_get(p, htable_va2entry(c->ht_vaddr,
		    p)), p->ht_level);
	}
	return (eff);
}

int
ht_walk(ht_as_t *as, ht_va_t start, ht_va_t last, ht_walk_fn fn, void *arg)
{
	hat_t *hat = as;
	const mmu_t *m;
	iter_t it;
	ht_leaf_t leaf;
	op_t op;
	htable_t *eff_ht = NULL;
	unsigned up = 0;
	int rc = 0;

	if (hat == NULL || fn == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	m = hat_mmu(hat);
	if ((rc = walk_check(m, start, last)) != 0)
		return (rc);
	op_begin(&op, hat);
	for_each_leaf(&it, hat, start, last) {
		if (it.it_ht != eff_ht) {
			eff_ht = it.it_ht;
			up = links_eff(eff_ht);
		}
		/* a large leaf may begin before start: report it whole */
		leaf.va = it.it_va;
		leaf.size = it.it_size;
		leaf.level = (unsigned)it.it_level;
		leaf.pte = it.it_pte;
		leaf.pa = pte_pa(m, it.it_pte, it.it_level);
		leaf.attr = pte_attr(m, it.it_pte, it.it_level);
		leaf.eff = pte_eff(m, up, it.it_pte, it.it_level);
		if ((rc = fn(arg, &leaf)) != 0)
			break;
	}
	iter_stop(&it);
	op_end(&op);
	return (rc);
}

/*
 * The reader over an address space's own frames (ht_access).  A copied
 * root has no frame: the first read of a walk is its root entry, which
 * comes from the descriptor (the walk reads one entry per level).
 */
struct as_reader {
	const hat_t	*hat;
	int		nread;
};

static int
as_read(void *arg, ht_pa_t pa, void *buf, size_t len)
{
	struct as_reader *ar = arg;
	const ht_ctx_t *ctx = ar->hat->hat_ctx;
	const uint8_t *p;

	if (ar->nread++ == 0 && (ar->hat->hat_htable->ht_flags &
	    HTABLE_COPIED)) {
		const mmu_t *m = &ctx->ctx_mmu;
		x86pte_t e = atomic_load_explicit((_Atomic uint64_t *)
		    &ar->hat->hat_copied_ptes[pa >> m->pte_shift],
		    memory_order_acquire);

		HT_ASSERT(len == (size_t)m->pte_size);
		if (len == 8)
			*(uint64_t *)buf = e;
		else
			*(uint32_t *)buf = (uint32_t)e;
		return (0);
	}
	p = ptable_map(ctx, pa >> HT_PAGE_SHIFT);

	if (p == NULL) {
		memset(buf, 0, len);
		return (1);
	}
	p += pa & (HT_PAGE_SIZE - 1);
	/* one entry, read whole, as the MMU reads it */
	if (len == 8)
		*(uint64_t *)buf = __atomic_load_n((const uint64_t *)p,
		    __ATOMIC_ACQUIRE);
	else if (len == 4)
		*(uint32_t *)buf = __atomic_load_n((const uint32_t *)p,
		    __ATOMIC_ACQUIRE);
	else
		memcpy(buf, p, len);
	HT_HOOK(HT_HOOK_ACCESS_READ, &pa);
	return (0);
}

int
ht_access(ht_as_t *as, const ht_cpu_t *cpu, ht_va_t va, unsigned acc,
    unsigned cpl, ht_access_t *r_acc)
{
	return (hat_access(as, cpu, va, acc, cpl, r_acc, NULL));
}

int
hat_access(hat_t *as, const ht_cpu_t *cpu, ht_va_t va, unsigned acc,
    unsigned cpl, ht_access_t *r_acc, unsigned *r_rights)
{
	ht_scan_cfg_t cfg;
	struct as_reader ar;
	uint64_t gen;
	int rc;

	if (as == NULL)
		return (ht__fail(HT_EINVAL, "access: no address space"));
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = hat_mmu(as)->mode;
	cfg.cr3 = ht_as_root(as);
	cfg.read = as_read;
	cfg.read_arg = &ar;
	ar.hat = as;
	/* the seqlock read side, as in ht_translate */
	do {
		gen = hat_read_begin(as);
		ar.nread = 0;
		rc = rd_access(&cfg, cpu, va, acc, cpl, r_acc, r_rights);
	} while (hat_read_retry(as, gen));
	return (rc);
}
