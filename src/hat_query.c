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
 *
 * ht_as_picture hands the same read function to the reader's picture
 * (reader/picture.c), which reads whole tables; the space must hold
 * still meanwhile, as for ht_audit.
 */
#include <stddef.h>
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
 * The fast walk (issue 13).  ht_va2pa and ht_translate are an emulator's
 * hot queries, so each is a small function that does only the 4/5-level
 * walk through the provider's window, with everything it needs in the
 * space's first cache line (hat_qd and hat_gen, types.h): no frame, few
 * saved registers, no pointer chase to the context, the mmu_t or the root
 * descriptor.  Anything else (NULL arguments, a copied root, 32-bit and
 * PAE, an address in the hole, a table outside the window) goes to the
 * general walk, a separate cold function, which gives the same answers
 * and the error details.
 */

/* qd_walk's answers */
#define QD_SLOW		0	/* a table outside the window */
#define QD_LEAF		1	/* a leaf: the report is made */
#define QD_NONE		2	/* not present */

/* The page offset mask of a leaf at level (a constant where it is). */
#define QD_OFF(level)	((1ull << (12 + 9 * (level))) - 1)

/* The report's part that every format shares: where the leaf is. */
static inline __attribute__((always_inline)) void
qd_report_where(const hat_qd_t *q, const int nlev, const int level,
    ht_va_t va, x86pte_t pte, ht_xlate_t *x)
{
	const uint64_t off = QD_OFF(level);

	x->va = va;
	x->nlevels = (unsigned)(nlev - level);
	x->level = (unsigned)level;
	x->page_size = off + 1;
	/* a large leaf's PAT bit (12) lies inside off */
	x->pa = (pte & q->qd_amask & ~off) | (va & off);
}

/*
 * ht_translate's report of the leaf pte at level, w the AND and nx the
 * OR of the entries read (the rights: W and U ANDed, X lost to any NX).
 * The attributes are pte_attr's for the modes of the fast walk (all nine
 * HT_SW bits, NX honoured: hat_qd_init), with W, U and X the effective
 * ones.  Called with a constant level, so each page size gets its own
 * straight tail instead of one tail that tests the level.
 */
static inline __attribute__((always_inline)) void
qd_report(const hat_qd_t *q, const int nlev, const int level, ht_va_t va,
    x86pte_t pte, x86pte_t w, x86pte_t nx, ht_xlate_t *x)
{
	qd_report_where(q, nlev, level, va, pte, x);
	x->attr = pte_attr_lo[(unsigned)(pte >> 3) & PTE_ATTR_LO_IDX(level)] |
	    (level != 0 ? (unsigned)(pte >> 6) & HT_PAT : 0) |
	    ((unsigned)(pte >> 34) & (HT_SW_MASK & ~(HT_SW(0) | HT_SW(1)))) |
	    ((unsigned)(w >> 1) & (HT_W | HT_U)) |
	    ((unsigned)(~nx >> 63) << 2);
}

/*
 * qd_report in EPT, out of line (the x86 tails stay as they are): the
 * attributes of the leaf (ept_attr), the rights ANDed over the walk (w:
 * read, write, execute, user-execute).  The mmu_t is the context's: the
 * space (hat_qd is its first field) names it.
 */
_Static_assert(offsetof(hat_t, hat_qd) == 0, "the space begins with hat_qd");
_Static_assert(offsetof(hat_t, hat_gen) + sizeof (uint64_t) <= 64,
    "hat_qd and hat_gen: one cache line");

static inline __attribute__((always_inline)) void
qd_report_ept(const hat_qd_t *q, int nlev, int level, ht_va_t va,
    x86pte_t pte, x86pte_t w, ht_xlate_t *x)
{
	const hat_t *hat = (const hat_t *)(const void *)q;
	const mmu_t *m = hat_mmu(hat);

	const unsigned rights = HT_W | HT_X | HT_XU | HT_NOREAD;
	const unsigned lw = (unsigned)w;

	qd_report_where(q, nlev, level, va, pte, x);
	/*
	 * The leaf's attributes, then the rights of the walk (w: their
	 * AND), moved as ept_attr moves them
	 */
	x->attr = (ept_attr(m, pte) & ~rights) | ((lw >> 1) & HT_W) |
	    (lw & HT_X) | ((lw & (unsigned)m->ept_xu) >> 9) |
	    ((~lw & 1u) << 7);
}

/*
 * qd_report of a leaf above level 1 (1 GiB), out of line: with one
 * inlined tail per page size the compiler merged them into one that tests
 * the level and needs five saved registers.  The 4 KiB and 2 MiB tails,
 * the common ones, stay inline (two tails still leave the walk two saved
 * registers; the 2 MiB one saves 20 of 134 instructions a call).
 */
static __attribute__((noinline)) void
qd_report_large(const hat_qd_t *q, int nlev, int level, ht_va_t va,
    x86pte_t pte, x86pte_t w, x86pte_t nx, ht_xlate_t *x)
{
	if (level == 2)
		qd_report(q, nlev, 2, va, pte, w, nx, x);
	else if (level == 3)
		qd_report(q, nlev, 3, va, pte, w, nx, x);
	else
		qd_report(q, nlev, 4, va, pte, w, nx, x);
}

/*
 * The 4- and 5-level walk with everything the compiler can know made
 * constant (nlev, 9 index bits a level, 8-byte entries): unrolled into
 * straight code, so that independent lookups overlap in the CPU.  With x
 * (ht_translate) it fills the report: the entries read and where, and at
 * a leaf the rest (qd_report), at a non-present entry va and nlevels.
 * Without x (ht_va2pa) only *r_pa, at a leaf.  Inside the read side of
 * the seqlock (hat_read_begin): the caller drops what it made if the
 * walk raced with an unlink (the general walk then makes it again).
 *
 * From one level to the next the dependent chain is the entry's load,
 * one AND (the address bits) and the next load: the window's offset
 * (qd_wadj) is added to the index, which is known from va before the
 * walk starts, not to the link's address.  The window check is off the
 * chain.  The descriptor's fields are read where they are used: after
 * each acquire load the compiler reads them again, as operands of the
 * instructions that use them (no extra instruction), which leaves the
 * registers to the walk and saves no callee-saved register.
 */
static inline __attribute__((always_inline)) int
qd_walk(const hat_qd_t *q, const int nlev, const int ept, ht_va_t va,
    ht_xlate_t *x, ht_pa_t *r_pa)
{
	uintptr_t base = (uintptr_t)q->qd_root, adj = 0;
	ht_pa_t tpa = q->qd_root_pa;
	x86pte_t w = ~0ull, nx = 0;

#pragma GCC unroll 5
	for (int level = nlev - 1; level >= 0; level--) {
		uintptr_t off = (uintptr_t)(va >> (9 + 9 * level)) & 0xff8;
		uintptr_t offw = off + adj;

		/*
		 * An empty asm keeps offw whole, so that the load is
		 * [base + offw] and not the sum regrouped onto the chain.
		 * Acquire: a link is published by link_ptp's CAS after
		 * the child's frame was zeroed or filled; this load
		 * orders the reads of the child after it (a plain load on
		 * x86).
		 */
		__asm__("" : "+r" (offw));
		x86pte_t pte = atomic_load_explicit((_Atomic uint64_t *)
		    (base + offw), memory_order_acquire);

		if (x != NULL) {
			x->entries[nlev - 1 - level] = pte;
			x->entry_pa[nlev - 1 - level] = tpa + off;
		}
		if (HT_UNLIKELY(!(pte & (ept ? q->qd_pmask : PT_VALID)))) {
			if (x != NULL) {
				x->va = va;
				x->nlevels = (unsigned)(nlev - level);
			}
			return (QD_NONE);
		}
		w &= pte;
		nx |= pte;
		if (level == 0 || (pte & PT_PAGESIZE)) {
			if (x != NULL && ept)
				qd_report_ept(q, nlev, level, va, pte, w, x);
			else if (x != NULL && level == 0)
				qd_report(q, nlev, 0, va, pte, w, nx, x);
			else if (x != NULL && level == 1)
				qd_report(q, nlev, 1, va, pte, w, nx, x);
			else if (x != NULL)
				qd_report_large(q, nlev, level, va, pte, w,
				    nx, x);
			else
				*r_pa = (pte & q->qd_amask & ~QD_OFF(level)) |
				    (va & QD_OFF(level));
			return (QD_LEAF);
		}
		/* one unsigned compare: below the base wraps to huge */
		tpa = pte & q->qd_amask;
		if (HT_UNLIKELY(tpa - q->qd_wbase >= q->qd_wlen))
			return (QD_SLOW);
		base = (uintptr_t)tpa;
		adj = q->qd_wadj;
	}
	return (QD_SLOW);	/* not reached: level 0 is a leaf */
}

/*
 * Is va an address of the space of 12 + 9 * nlev bits: canonical (the
 * hole check), or below 2^vab where there is no hole (qd_hole 0)?
 */
static inline int
qd_canonical(const hat_qd_t *q, const int nlev, ht_va_t va)
{
	const int vab = 12 + 9 * nlev;

	return (((va + ((uint64_t)q->qd_hole << (vab - 1))) >> vab) == 0);
}

/*
 * fast(hat, nlev, ept, va, out) with nlev and ept constants, so that each
 * depth of each entry format gets its own straight code (the x86 ones
 * first, and untouched by EPT's); 1 (the general walk) for a space with
 * no fast walk.
 */
#define QD_FAST(fast, hat, va, out)					\
	(HT_LIKELY((hat)->hat_qd.qd_nlev == 4) ?			\
	fast((hat), 4, 0, (va), (out)) :				\
	(hat)->hat_qd.qd_nlev == 5 ? fast((hat), 5, 0, (va), (out)) :	\
	(hat)->hat_qd.qd_nlev == (4 | QD_NLEV_EPT) ?			\
	fast((hat), 4, 1, (va), (out)) :				\
	(hat)->hat_qd.qd_nlev == (5 | QD_NLEV_EPT) ?			\
	fast((hat), 5, 1, (va), (out)) : 1)

static int translate_once(hat_t *hat, ht_va_t va, ht_xlate_t *x);

/*
 * The general walk of ht_translate and ht_va2pa, out of the hot
 * functions' way: every mode, the checks with their error details, and
 * the provider's map for tables outside its window.
 */
static __attribute__((noinline, cold)) int
translate_slow(hat_t *hat, ht_va_t va, ht_xlate_t *x)
{
	uint64_t gen;
	int rc;

	if (hat == NULL || x == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	do {
		gen = hat_read_begin(hat);
		rc = translate_once(hat, va, x);
	} while (hat_read_retry(hat, gen));
	return (rc);
}

/* ht_translate's fast walk: 0 or -HT_ENOTMAPPED, 1 for the general one. */
static inline __attribute__((always_inline)) int
translate_fast(hat_t *hat, const int nlev, const int ept, ht_va_t va,
    ht_xlate_t *x)
{
	uint64_t gen;
	int st;

	if (HT_UNLIKELY(!qd_canonical(&hat->hat_qd, nlev, va)))
		return (1);
	/*
	 * The seqlock's read side (hat_read_begin).  A walk that raced
	 * with an unlink is redone by the general walk, which makes the
	 * report again: no loop here, so the compiler has no reason to
	 * hoist the index arithmetic out of one and keep it in saved
	 * registers.
	 */
	gen = hat_read_begin(hat);
	st = qd_walk(&hat->hat_qd, nlev, ept, va, x, NULL);
	if (HT_UNLIKELY(hat_read_retry(hat, gen)))
		return (1);
	if (HT_LIKELY(st == QD_LEAF))
		return (0);
	return (st == QD_NONE ? -HT_ENOTMAPPED : 1);	/* quiet: normal */
}

/*
 * ht_translate: a lock-free walk, like the MMU's, inside the read side of
 * the space's seqlock (hat_read_begin): a table it used may be unlinked
 * and its frame reused while it reads.
 */
int
ht_translate(ht_as_t *as, ht_va_t va, ht_xlate_t *x)
{
	int rc;

	if (HT_LIKELY(as != NULL && x != NULL) &&
	    HT_LIKELY((rc = QD_FAST(translate_fast, as, va, x)) <= 0))
		return (rc);
	return (translate_slow(as, va, x));
}

static int
translate_once(hat_t *hat, ht_va_t va, ht_xlate_t *x)
{
	const mmu_t *m;
	const htable_t *root;
	const uint8_t *tbl;
	ht_pa_t tpa = ht_as_root(hat);
	x86pte_t pte;
	unsigned eff = HT_W | HT_U | HT_X;
	int level, sz, shift;
	unsigned n = 0;

	m = hat_mmu(hat);
	x->va = va;
	if (HT_UNLIKELY(!mmu_va_ok(m, va))) {
		x->nlevels = 0;
		return (ht__fail(!m->has_hole ? HT_ERANGE : HT_ENONCANON,
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
	 * Every mode, one entry per level: the geometry comes from the
	 * mmu_t, and a table outside the provider's window is reached
	 * through its map.
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
		if (HT_UNLIKELY(!pte_valid(m, pte))) {
			x->nlevels = n;
			return (-HT_ENOTMAPPED);	/* quiet: a normal answer */
		}
		eff = pte_eff(m, eff, pte, level);
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
	x->attr = (pte_attr(m, pte, level) & ~(HT_W | HT_U | HT_X |
	    HT_NOREAD)) | eff;
	return (0);
}

/* ht_va2pa's general walk: the report of ht_translate, kept to the PA. */
static __attribute__((noinline, cold)) int
va2pa_slow(hat_t *hat, ht_va_t va, ht_pa_t *r_pa)
{
	ht_xlate_t x;
	int rc;

	if (r_pa == NULL)
		return (ht__fail(HT_EINVAL, "NULL argument"));
	if ((rc = translate_slow(hat, va, &x)) == 0)
		*r_pa = x.pa;
	return (rc);
}

/* ht_va2pa's fast walk: 0 or -HT_ENOTMAPPED, 1 for the general one. */
static inline __attribute__((always_inline)) int
va2pa_fast(hat_t *hat, const int nlev, const int ept, ht_va_t va,
    ht_pa_t *r_pa)
{
	ht_pa_t pa = 0;
	uint64_t gen;
	int st;

	if (HT_UNLIKELY(!qd_canonical(&hat->hat_qd, nlev, va)))
		return (1);
	/* the seqlock's read side, as in translate_fast */
	gen = hat_read_begin(hat);
	st = qd_walk(&hat->hat_qd, nlev, ept, va, NULL, &pa);
	if (HT_UNLIKELY(hat_read_retry(hat, gen)))
		return (1);
	if (HT_LIKELY(st == QD_LEAF)) {
		/* only now: a failed call leaves *r_pa as it was */
		*r_pa = pa;
		return (0);
	}
	return (st == QD_NONE ? -HT_ENOTMAPPED : 1);
}

int
ht_va2pa(ht_as_t *as, ht_va_t va, ht_pa_t *r_pa)
{
	int rc;

	if (HT_LIKELY(as != NULL && r_pa != NULL) &&
	    HT_LIKELY((rc = QD_FAST(va2pa_fast, as, va, r_pa)) <= 0))
		return (rc);
	return (va2pa_slow(as, va, r_pa));
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

/*
 * ht_walk's loop over the leaves of one table, from the iterator's leaf
 * to the end of the table or of the range, or up to a link: one load and
 * one present test per entry, the per-table values (level, size, base,
 * the links' rights) in registers, attr and eff recomputed only when a
 * leaf's non-address bits differ from the previous one's, and the
 * iterator told only where the loop stopped (iter_seek).  sz is a
 * constant (4 or 8), so each entry size gets its own loop; so is lvl,
 * the level when it is 0 or (8-byte entries) 1, where most leaves are
 * (their size, level and address mask are then constants, not values
 * that the call to fn makes the compiler save and restore around every
 * leaf), or -1 for any level.  Returns fn's non-zero answer, or 0.
 */
static inline __attribute__((always_inline)) int
walk_run(iter_t *it, const mmu_t *m, unsigned up, ht_walk_fn fn, void *arg,
    const int sz, const int lvl)
{
	const uint8_t *base = it->it_base;
	const int level = lvl >= 0 ? lvl : it->it_level;
	const uint64_t size = lvl >= 0 ? 1ull << (HT_PAGE_SHIFT + 9 * lvl) :
	    it->it_size;
	const x86pte_t kmask = PTE_LEAF_KEY(level);
	/*
	 * What a leaf at this level has set (PS is PAT in a 4 KiB one).
	 * Bit 0 makes an entry present in every format (EPT's read bit), so
	 * the test is exact for entries that have it; a present one without
	 * it (EPT's execute-only) takes the search below.
	 */
	const x86pte_t lbits = level == 0 ? PT_VALID : PT_VALID | PT_PAGESIZE;
	const x86pte_t amask = lvl == 0 ? m->paddr_mask : lvl > 0 ?
	    m->lgpg_mask & ~(size - 1) : 0;
	unsigned e = it->it_entry, end = iter_run_end(it);
	/* entry f's VA is va0 + f * size: no running sum to keep */
	const uint64_t va0 = it->it_va - (uint64_t)e * size;
	uint64_t va = it->it_va;
	x86pte_t pte = it->it_pte, key;
	ht_leaf_t leaf;
	int rc = 0;

	key = pte & kmask;
	leaf.size = size;
	leaf.level = (unsigned)level;
	leaf.attr = pte_attr(m, pte, level);
	leaf.eff = pte_eff(m, up, pte, level);
	for (;;) {
		if (HT_UNLIKELY((pte & kmask) != key)) {
			key = pte & kmask;
			leaf.attr = pte_attr(m, pte, level);
			leaf.eff = pte_eff(m, up, pte, level);
		}
		/* a large leaf may begin before start: report it whole */
		leaf.va = va;
		leaf.pte = pte;
		leaf.pa = lvl >= 0 ? pte & amask : pte_pa(m, pte, level);
		if (HT_UNLIKELY((rc = fn(arg, &leaf)) != 0))
			break;
		/* the next present entry; stop before a link */
		unsigned f = e + 1;
		x86pte_t next = 0;

		/*
		 * A dense table's next entry is its next leaf: straight on.
		 * (The search below loads entry e + 1 again; carrying this
		 * load into it measured slower on walk_2m.)
		 */
		if (HT_LIKELY(f <= end) && HT_LIKELY(((next = pte_load(sz,
		    base + (size_t)f * (size_t)sz)) & lbits) == lbits)) {
			va += size;
			e = f;
			pte = next;
			continue;
		}
		for (f = e; ++f <= end; ) {
			next = pte_load(sz, base + (size_t)f * (size_t)sz);
			if (pte_valid(m, next))
				break;
		}
		if (f > end) {
			/* the rest is empty: the iterator moves on from end */
			va = va0 + (uint64_t)end * size;
			e = end;
			pte = 0;
			break;
		}
		if (HT_UNLIKELY(!pte_is_page(m, next, level)))
			break;		/* a link: iter_next descends it */
		va = va0 + (uint64_t)f * size;
		e = f;
		pte = next;
	}
	iter_seek(it, e, va, pte);
	return (rc);
}

int
ht_walk(ht_as_t *as, ht_va_t start, ht_va_t last, ht_walk_fn fn, void *arg)
{
	hat_t *hat = as;
	const mmu_t *m;
	iter_t it;
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
		if (it.it_sz == 4)
			rc = it.it_level == 0 ?
			    walk_run(&it, m, up, fn, arg, 4, 0) :
			    walk_run(&it, m, up, fn, arg, 4, -1);
		else if (HT_LIKELY(it.it_level == 0))
			rc = walk_run(&it, m, up, fn, arg, 8, 0);
		else if (it.it_level == 1)
			rc = walk_run(&it, m, up, fn, arg, 8, 1);
		else
			rc = walk_run(&it, m, up, fn, arg, 8, -1);
		if (rc != 0)
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

/*
 * The configuration under which the reader sees space as through its
 * frames: mode, root (EPT: the EPTP its tables are made for), EPT flags.
 */
static void
as_scan_cfg(hat_t *as, struct as_reader *ar, ht_scan_cfg_t *cfg)
{
	const mmu_t *m = hat_mmu(as);

	memset(cfg, 0, sizeof (*cfg));
	cfg->mode = m->mode;
	cfg->cr3 = ht_as_root(as);
	/*
	 * EPT: the EPTP the context's tables are made for (rd_eptp), as
	 * ht_as_eptp makes it (which refuses a copied space; its reader
	 * serves the root from the descriptor)
	 */
	if (m->ept)
		cfg->cr3 |= mmu_eptp_low(m);
	cfg->read = as_read;
	cfg->read_arg = ar;
	ar->hat = as;
	ar->nread = 0;
}

int
ht_as_picture(ht_as_t *as, const char *name, ht_write_fn out, void *arg)
{
	ht_scan_cfg_t cfg;
	struct as_reader ar;

	if (as == NULL)
		return (ht__fail(HT_EINVAL, "picture: no address space"));
	/*
	 * A copied root has no frame: its entries live in the descriptor,
	 * and as_read serves only a walk's first single entry from there.
	 */
	if (as->hat_htable->ht_flags & HTABLE_COPIED)
		return (ht__fail(HT_EINVAL, "picture: an HT_AS_COPIED space "
		    "has no root frame to read; picture a CPU root that "
		    "runs it"));
	as_scan_cfg(as, &ar, &cfg);
	if (hat_mmu(as)->ept) {
		/* the EPTP as ht_as_eptp(as, HT_EPT_WB) makes it */
		cfg.cr3 |= HT_EPT_WB;
		if (hat_mmu(as)->ept_flags & HT_EPT_MBEC)
			cfg.flags |= HT_SCAN_EPT_MBEC;
		if (hat_mmu(as)->ept_flags & HT_EPT_XONLY)
			cfg.flags |= HT_SCAN_EPT_XONLY;
	}
	return (ht_scan_picture(&cfg, name, out, arg));
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
	as_scan_cfg(as, &ar, &cfg);
	/* the seqlock read side, as in ht_translate */
	do {
		gen = hat_read_begin(as);
		ar.nread = 0;
		rc = rd_access(&cfg, cpu, va, acc, cpl, r_acc, r_rights);
	} while (hat_read_retry(as, gen));
	return (rc);
}
