/*
 * scan.c - reading page tables out of a memory image that someone else
 * wrote: the view of a debugger, a forensics tool or a VMM looking at its
 * guest.  The input is untrusted; nothing here assumes the tables were
 * built by this library.
 *
 * Theory of operation
 *
 * A scan is a depth-first visit from the root named by CR3, one table per
 * level, entries in index order, so leaves come out in ascending VA order
 * (the upper canonical half follows the lower one because it has the
 * higher root indices).  Each entry is read as the MMU reads it at that
 * level; a link always goes one level down, so the depth is the mode's
 * number of levels, whatever the entries say: self-maps and shared tables
 * cannot make a scan loop.
 *
 * They can make it long, though: a table linked from many places is
 * visited once per link, and a hostile image can multiply visits without
 * end.  Two things bound the work:
 *  - the memo: for each (frame, level) visited, a bitmap of its *live*
 *    entries, those that yield at least one leaf.  A table is read whole
 *    once per level; a revisit reads only its live entries, so every entry
 *    read after the first visit leads to a leaf.  A dead subtree (empty, or
 *    only reserved-bit entries) costs nothing the second time.
 *  - cfg->max_leaves, which ends the scan with -HT_ERANGE.
 * Whether a subtree yields leaves does not depend on where it is reached
 * from (permissions accumulate, presence does not), which is what makes
 * the memo sound.
 *
 * Two readings (cfg->flags): the MMU's, with the reserved-bit checks of
 * the mode and MAXPHYADDR (an entry with reserved bits set is a fault, so
 * it maps nothing and is counted); and QEMU's monitor's (HT_SCAN_QEMU),
 * which masks addresses to bits 12..49, checks no reserved bits and honours
 * PS only in PDEs and 64-bit PDPTEs, so that `htable dump` can reproduce
 * `info tlb` byte for byte even for odd tables.
 *
 * Physical memory is reached only through cfg->read, which reports frames
 * beyond the image; they read as zeros and are counted.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "reader.h"
#include "debug.h"

#define SCAN_MAX_ENTRIES	1024	/* 32-bit tables */
#define MEMO_MIN		16	/* slots in scan_t; then 32, 64, ... */
#define POOL0_WORDS	128	/* bitmap words in scan_t: 16 tables of 512 */
#define POOL_WORDS	1024	/* bitmap words per block after those */

/* One visited table: its key and which entries lead to leaves. */
typedef struct memo_slot {
	uint64_t	key;		/* pa | level + 1; 0 = empty slot */
	uint64_t	*live;		/* bitmap, one bit per entry */
} memo_slot_t;

/* Bitmaps of the visited tables are cut from blocks freed with the scan. */
typedef struct pool_block {
	struct pool_block *next;
	uint64_t	w[POOL_WORDS];
} pool_block_t;

/*
 * A small scan (one space's few tables) allocates nothing: its memo slots
 * and bitmaps fit in here.  scan_init zeroes everything before pool0.
 */
typedef struct scan {
	const ht_scan_cfg_t *cfg;
	mmu_t		m;
	int		qemu;
	ht_walk_fn	fn;
	void		*arg;
	ht_scan_stats_t	st;
	memo_slot_t	*memo;		/* memo0 until it grows */
	size_t		memo_size;	/* a power of 2 */
	size_t		memo_used;
	uint64_t	*pool;		/* free bitmap words: pool_left of them */
	size_t		pool_left;
	pool_block_t	*blocks;
	memo_slot_t	memo0[MEMO_MIN];
	uint64_t	pool0[POOL0_WORDS];
} scan_t;

/* ------------------------------------------------------------------ */
/* Reading the image                                                   */
/* ------------------------------------------------------------------ */

static uint64_t
entry_at(const scan_t *s, const void *table, unsigned i)
{
	if (s->m.pte_size == 4)
		return (((const uint32_t *)table)[i]);
	return (((const uint64_t *)table)[i]);
}

ht_pa_t
rd_root(const mmu_t *m, const ht_scan_cfg_t *cfg)
{
	if ((cfg->flags & HT_SCAN_QEMU) && m->pte_size == 8 &&
	    m->mode != HT_MODE_PAE)
		return (cfg->cr3 & QEMU_ADDR_MASK);
	return (mmu_cr3_root(m, cfg->cr3));
}

/* Physical address of the root table, from CR3 as the CPU holds it. */
static ht_pa_t
root_pa(const scan_t *s)
{
	return (rd_root(&s->m, s->cfg));
}

/* ------------------------------------------------------------------ */
/* The memo                                                            */
/* ------------------------------------------------------------------ */

static size_t
memo_hash(uint64_t key, size_t size)
{
	key ^= key >> 29;
	key *= 0xbf58476d1ce4e5b9ull;
	key ^= key >> 32;
	return ((size_t)key & (size - 1));
}

static memo_slot_t *
memo_find(scan_t *s, uint64_t key)
{
	size_t i;

	for (i = memo_hash(key, s->memo_size); s->memo[i].key != 0;
	    i = (i + 1) & (s->memo_size - 1)) {
		if (s->memo[i].key == key)
			return (&s->memo[i]);
	}
	return (NULL);
}

/* Record a table's live bitmap (taken over); 0 or -HT_ENOMEM. */
static int
memo_add(scan_t *s, uint64_t key, uint64_t *live)
{
	size_t i;

	if ((s->memo_used + 1) * 2 > s->memo_size) {
		size_t nsize = s->memo_size * 2;
		memo_slot_t *n = calloc(nsize, sizeof (*n));

		if (n == NULL)
			return (ht__fail(HT_ENOMEM, "scan: no memory for "
			    "%zu visited tables", s->memo_used));
		for (size_t j = 0; j < s->memo_size; j++) {
			if (s->memo[j].key == 0)
				continue;
			for (i = memo_hash(s->memo[j].key, nsize); n[i].key;
			    i = (i + 1) & (nsize - 1))
				;
			n[i] = s->memo[j];
		}
		if (s->memo != s->memo0)
			free(s->memo);
		s->memo = n;
		s->memo_size = nsize;
	}
	for (i = memo_hash(key, s->memo_size); s->memo[i].key != 0;
	    i = (i + 1) & (s->memo_size - 1))
		;
	s->memo[i].key = key;
	s->memo[i].live = live;
	s->memo_used++;
	return (0);
}

/* A zeroed bitmap of `words` words (at most 16), or NULL: out of memory. */
static uint64_t *
bits_new(scan_t *s, size_t words)
{
	uint64_t *b;

	if (s->pool_left < words) {
		pool_block_t *blk = malloc(sizeof (*blk));

		if (blk == NULL)
			return (NULL);
		blk->next = s->blocks;
		s->blocks = blk;
		s->pool = blk->w;
		s->pool_left = POOL_WORDS;
	}
	b = s->pool;
	s->pool += words;
	s->pool_left -= words;
	memset(b, 0, words * sizeof (uint64_t));
	return (b);
}

static void
memo_free(scan_t *s)
{
	pool_block_t *blk, *next;

	for (blk = s->blocks; blk != NULL; blk = next) {
		next = blk->next;
		free(blk);
	}
	if (s->memo != s->memo0)
		free(s->memo);
}

/* ------------------------------------------------------------------ */
/* The scan                                                            */
/* ------------------------------------------------------------------ */

static int visit(scan_t *s, ht_pa_t pa, int level, uint64_t va,
    unsigned eff, int *r_live);

/* Report the leaf pte at level for linear address va. */
/*
 * A scanned leaf's own attributes: our lock bit (9; EPT's 11) is the image
 * writer's, so it means nothing here and shows as HT_SW_BIT9.
 */
static unsigned
scan_attr(const mmu_t *m, uint64_t pte, int level)
{
	return ((pte_attr(m, pte, level) & ~HT_LOCKED) |
	    ((pte & m->pt_locked) ? HT_SW_BIT9 : 0));
}

static int
emit(scan_t *s, uint64_t pte, int level, uint64_t va, unsigned eff)
{
	const mmu_t *m = &s->m;
	ht_leaf_t leaf;

	if (s->cfg->max_leaves != 0 && s->st.leaves >= s->cfg->max_leaves)
		return (ht__fail(HT_ERANGE, "more than %llu leaves (shared "
		    "tables multiply them): raise the limit",
		    (unsigned long long)s->cfg->max_leaves));
	s->st.leaves++;
	leaf.va = mmu_sext(m, va);
	leaf.pa = pte_pa(m, pte, level);
	leaf.size = LEVEL_SIZE(m, level);
	leaf.level = (unsigned)level;
	leaf.attr = scan_attr(m, pte, level);
	leaf.eff = eff;
	leaf.pte = pte;
	return (s->fn(s->arg, &leaf));
}

/*
 * Entry i of a table at `level` whose first VA is va: report it or go
 * down.  *r_live says whether it led to any leaf.
 */
static int
visit_entry(scan_t *s, uint64_t pte, int level, unsigned i, uint64_t va,
    unsigned eff, int *r_live)
{
	ht_pa_t next = 0;
	int kind = rd_classify(&s->m, s->qemu, pte, level, &next);

	*r_live = 0;
	va += (uint64_t)i << LEVEL_SHIFT(&s->m, level);
	if (kind == -1) {
		s->st.reserved++;
		return (0);
	}
	if (kind == 0)
		return (0);
	eff = pte_eff(&s->m, eff, pte, level);
	if (kind == 2) {
		*r_live = 1;
		return (emit(s, pte, level, va, eff));
	}
	return (visit(s, next, level - 1, va, eff, r_live));
}

/*
 * Is no entry of the 64 bytes at p present?  Four 16-byte ORs and one
 * test over 8 entries of 8 bytes or 16 of 4 (the present bits pres of
 * each 4-byte lane): a sparse table, such as a root with a few links, is
 * passed over a cache line per test instead of an entry.
 */
typedef uint64_t scan_v2_t __attribute__((vector_size(16)));

static inline __attribute__((always_inline)) int
line_idle(const void *p, const int sz, const uint64_t pres)
{
	scan_v2_t a, b, c, d;

	memcpy(&a, p, 16);
	memcpy(&b, (const char *)p + 16, 16);
	memcpy(&c, (const char *)p + 32, 16);
	memcpy(&d, (const char *)p + 48, 16);
	a |= b | c | d;
	return (((a[0] | a[1]) & (sz == 8 ? pres : pres | pres << 32)) == 0);
}

static inline __attribute__((always_inline)) unsigned
idle_lines_sz(const char *table, unsigned i, unsigned n, const int sz,
    const uint64_t pres)
{
	while (i < n && line_idle(table + (size_t)i * sz, sz, pres))
		i += 64 / sz;
	return (i);
}

/*
 * The first entry at or after i (a line's first) of the first line with a
 * present entry, or n.  Out of line: the loop over a dense table keeps its
 * registers.
 */
static __attribute__((noinline)) unsigned
idle_lines(const void *table, unsigned i, unsigned n, int sz, uint64_t pres)
{
	return (sz == 8 ? idle_lines_sz(table, i, n, 8, pres) :
	    idle_lines_sz(table, i, n, 4, pres));
}

/*
 * The first visit's loop over a table read whole (the MMU's reading; the
 * QEMU reading goes through visit_entry): what visit_entry and
 * rd_classify decide for each entry, with the level's reserved-bit masks
 * in registers, one present test per entry, and a leaf's attr and eff
 * recomputed only when its non-address bits differ from the previous
 * leaf's (PTE_LEAF_KEY).  sz is a constant (4 or 8); so is lvl, the
 * level when it is 0 (any entry size) or 1 (8-byte entries), where the
 * leaves of most scans are (their shift, page size and address masks are
 * then constants), or -1 for any level.  Sets the live bits; 0, or the
 * first error or non-zero answer of fn.
 *
 * What the loop writes for every leaf stays in registers until it
 * returns or goes down a link: the leaves it may still report before
 * cfg->max_leaves (left, counted down; what it used is added to
 * s->st.leaves, which fn could see through no pointer it has but which
 * the compiler must otherwise store around every call), and the live
 * bits of the current 64 entries (lw, or-ed into bits when i leaves
 * them).  Few values live across the call to fn, so that they fit the
 * callee-saved registers instead of being stored and loaded around it.
 */
static inline __attribute__((always_inline)) int
visit_table(scan_t *s, const void *table, unsigned n, int level, uint64_t va,
    unsigned eff, uint64_t *bits, int *r_live, const int sz, const int lvl)
{
	const mmu_t *m = &s->m;
	const unsigned shift = lvl >= 0 ? HT_PAGE_SHIFT + 9 * (unsigned)lvl :
	    LEVEL_SHIFT(m, level);
	const uint64_t size = lvl >= 0 ? 1ull << shift : LEVEL_SIZE(m, level);
	/*
	 * A leaf where the CPU has no such page size reads as reserved:
	 * every bit reserved, so that one test decides both (a present
	 * entry has bit 0).
	 */
	const x86pte_t rl = lvl == 0 || level == 0 || mmu_leaf_ok(m, level) ?
	    m->rsvd_leaf[level] : ~0ull;
	const x86pte_t rp = m->rsvd_ptp[level];
	const x86pte_t kmask = PTE_LEAF_KEY(lvl >= 0 ? lvl : level);
	/*
	 * Below the root a table's entries share the sign bit of their
	 * addresses (it spans at most half the space), so the canonical
	 * form of each is its first one's plus its offset; the root's
	 * entries are each made canonical.  lvl >= 0 is never the root.
	 */
	const int below = lvl >= 0 || level < m->max_level;
	const uint64_t vbase = mmu_sext(m, va);
	const x86pte_t amask = m->paddr_mask, pres = m->pt_present;
	/* a large leaf's address: bit 12 is PAT (pte_pa) */
	const x86pte_t lgmask = m->lgpg_mask & ~(size - 1);
	/* entries in 64 bytes; the PAE root's 4 fill no line */
	const unsigned per_line = 64 / sz;
	const int lines = n % per_line == 0;
	const uint64_t maxl = s->cfg->max_leaves;
	/* leaves fn may still be given: maxl - s->st.leaves (<= maxl) */
	uint64_t room = maxl == 0 ? ~0ull : maxl - s->st.leaves, left = room;
	uint64_t lw = 0, any = 0;
	/* no leaf's key (PTE_LEAF_KEY clears the address bits) */
	x86pte_t key = ~0ull;
	/*
	 * EPT's misconfigurations that are no reserved bit (ept_misconfig)
	 * depend on bits the key holds: decided with the key, for leaves
	 */
	const int ept = m->ept;
	int key_bad = 0;
	int rc = 0, live;
	ht_leaf_t leaf;
	unsigned i;

	HT_ASSERT(lvl < 0 || (level == lvl && (lvl == 0 || sz == 8)));
	HT_ASSERT(lvl < 0 || level < m->max_level);
	/* what every leaf of the table shares is stored once (fn's is const) */
	leaf.size = size;
	leaf.level = (unsigned)level;
	for (i = 0; i < n; i++) {
		uint64_t pte;

		if (HT_UNLIKELY(i % 64 == 0 && lw != 0)) {
			bits[i / 64 - 1] |= lw;
			any = lw;
			lw = 0;
		}
		pte = sz == 8 ? ((const uint64_t *)table)[i] :
		    ((const uint32_t *)table)[i];
		if (!(pte & pres)) {
			/*
			 * At the first entry of a line: past every empty
			 * line that follows (the i % 64 flush above needs
			 * no turn of the loop while lw stays 0).
			 */
			if (i % per_line == 0 && lines) {
				unsigned j = idle_lines(table, i, n, sz, pres);

				if (j > i) {
					if (lw != 0 && j / 64 != i / 64) {
						bits[i / 64] |= lw;
						any = lw;
						lw = 0;
					}
					i = j - 1;
				}
			}
			continue;
		}
		if (lvl == 0 || level == 0 || (pte & PT_PAGESIZE)) {
			if (HT_UNLIKELY((pte & rl) != 0)) {
				s->st.reserved++;
				continue;
			}
			if (HT_UNLIKELY((pte & kmask) != key)) {
				key = pte & kmask;
				leaf.attr = scan_attr(m, pte, level);
				leaf.eff = pte_eff(m, eff, pte, level);
				key_bad = ept && ept_misconfig(m, pte, 1);
			}
			if (HT_UNLIKELY(key_bad)) {
				s->st.reserved++;
				continue;
			}
			if (HT_UNLIKELY(left == 0)) {
				rc = ht__fail(HT_ERANGE, "more than %llu "
				    "leaves (shared tables multiply them): "
				    "raise the limit",
				    (unsigned long long)maxl);
				break;
			}
			left--;
			leaf.va = below ? vbase + ((uint64_t)i << shift) :
			    mmu_sext(m, va + ((uint64_t)i << shift));
			leaf.pa = lvl == 0 ? pte & amask : lvl > 0 ?
			    pte & lgmask : pte_pa(m, pte, level);
			leaf.pte = pte;
			lw |= 1ull << (i % 64);
			if (HT_UNLIKELY((rc = s->fn(s->arg, &leaf)) != 0))
				break;
			continue;
		}
		if (HT_UNLIKELY((pte & rp) != 0 ||
		    (ept && ept_misconfig(m, pte, 0)))) {
			s->st.reserved++;
			continue;
		}
		/* the subtree counts its own leaves against the limit */
		s->st.leaves += room - left;
		rc = visit(s, pte & amask, level - 1, va + ((uint64_t)i <<
		    shift), pte_eff(m, eff, pte, level), &live);
		room = left = maxl == 0 ? ~0ull : maxl - s->st.leaves;
		if (rc != 0)
			break;
		if (live)
			lw |= 1ull << (i % 64);
	}
	s->st.leaves += room - left;
	if (lw != 0)	/* the word of the last entry looked at */
		bits[(i < n ? i : n - 1) / 64] |= lw;
	if ((any | lw) != 0)
		*r_live = 1;
	return (rc);
}

/* visit_table with its constants: the entry size, and level 0 or 1 */
static int
scan_table(scan_t *s, const void *table, unsigned n, int level, uint64_t va,
    unsigned eff, uint64_t *bits, int *r_live)
{
	if (s->m.pte_size == 4)
		return (level == 0 ?
		    visit_table(s, table, n, 0, va, eff, bits, r_live, 4, 0) :
		    visit_table(s, table, n, level, va, eff, bits, r_live, 4,
		    -1));
	if (level == 0)
		return (visit_table(s, table, n, 0, va, eff, bits, r_live, 8,
		    0));
	if (level == 1)
		return (visit_table(s, table, n, 1, va, eff, bits, r_live, 8,
		    1));
	return (visit_table(s, table, n, level, va, eff, bits, r_live, 8,
	    -1));
}

/*
 * Visit the level-`level` table at pa, first VA va, effective permissions
 * eff so far.  *r_live: did it yield any leaf.
 */
static int
visit(scan_t *s, ht_pa_t pa, int level, uint64_t va, unsigned eff,
    int *r_live)
{
	const mmu_t *m = &s->m;
	unsigned n = mmu_entries(m, level);
	uint64_t key = pa | (uint64_t)(level + 1);
	memo_slot_t *slot = memo_find(s, key);
	uint64_t table[SCAN_MAX_ENTRIES / 2];	/* 4 KiB */
	int rc, live;

	HT_ASSERT(level >= 0 && level < m->num_level);
	*r_live = 0;
	if (slot != NULL) {
		/* A revisit: only the entries known to lead to leaves. */
		for (unsigned w = 0; w < (n + 63) / 64; w++) {
			for (uint64_t b = slot->live[w]; b != 0; b &= b - 1) {
				unsigned i = w * 64 + (unsigned)__builtin_ctzll(b);
				uint64_t pte = 0;

				rc = rd_read(s->cfg, 1, pa + ((ht_pa_t)i <<
				    m->pte_shift), &pte, (size_t)m->pte_size);
				if (rc < 0)
					return (rc);
				rc = visit_entry(s, pte, level, i, va, eff,
				    &live);
				if (rc != 0)
					return (rc);
				*r_live |= live;
			}
		}
		return (0);
	}

	/* First visit: read the whole table, find its live entries. */
	uint64_t *bits = bits_new(s, (n + 63) / 64);
	if (bits == NULL)
		return (ht__fail(HT_ENOMEM, "scan: no memory"));
	rc = rd_read(s->cfg, 1, pa, table, (size_t)n << m->pte_shift);
	if (rc < 0)
		return (rc);
	s->st.tables++;
	if (rc == 1 && s->st.unbacked++ == 0)
		s->st.first_unbacked = pa;
	/* Recorded before the entries are visited: a subtree never reaches
	 * the same (frame, level) again, levels only go down. */
	if ((rc = memo_add(s, key, bits)) != 0)
		return (rc);
	if (!s->qemu)
		return (scan_table(s, table, n, level, va, eff, bits, r_live));
	for (unsigned i = 0; i < n; i++) {
		rc = visit_entry(s, entry_at(s, table, i), level, i, va, eff,
		    &live);
		if (rc != 0)
			return (rc);
		if (live) {
			bits[i / 64] |= 1ull << (i % 64);
			*r_live = 1;
		}
	}
	return (0);
}

int
rd_setup(const ht_scan_cfg_t *cfg, mmu_t *m)
{
	if (cfg == NULL || cfg->read == NULL)
		return (ht__fail(HT_EINVAL, "scan: no configuration or no "
		    "read function"));
	const unsigned eflags = HT_SCAN_EPT_MBEC | HT_SCAN_EPT_XONLY;
	const int is_ept = cfg->mode == HT_MODE_EPT4 ||
	    cfg->mode == HT_MODE_EPT5;
	unsigned ept;
	int rc;

	if ((cfg->flags & ~(HT_SCAN_QEMU | eflags)) != 0)
		return (ht__fail(HT_EINVAL, "scan: unknown flags 0x%x",
		    cfg->flags & ~(HT_SCAN_QEMU | eflags)));
	if (is_ept && (cfg->flags & HT_SCAN_QEMU))
		return (ht__fail(HT_EINVAL, "scan: HT_SCAN_QEMU reads x86 "
		    "entries as QEMU's monitor does; it has no EPT reading"));
	if (!is_ept && (cfg->flags & eflags))
		return (ht__fail(HT_EINVAL, "scan: HT_SCAN_EPT_* in %s "
		    "paging", ht_mode_name(cfg->mode) != NULL ?
		    ht_mode_name(cfg->mode) : "an unknown"));
	if ((rc = rd_eptp(cfg, &ept)) != 0)
		return (rc);
	if (cfg->flags & HT_SCAN_EPT_MBEC)
		ept |= HT_EPT_MBEC;
	if (cfg->flags & HT_SCAN_EPT_XONLY)
		ept |= HT_EPT_XONLY;
	/* every page size the mode has: the image decides, not a policy */
	return (mmu_init(m, cfg->mode, 0, cfg->pa_bits, MMU_EPT(ept)));
}

/* Check cfg and set up *s for it; 0 or -HT_EINVAL. */
static int
scan_init(scan_t *s, const ht_scan_cfg_t *cfg)
{
	memset(s, 0, offsetof(scan_t, pool0));
	s->memo = s->memo0;
	s->memo_size = MEMO_MIN;
	s->pool = s->pool0;
	s->pool_left = POOL0_WORDS;
	s->cfg = cfg;
	s->qemu = cfg != NULL && (cfg->flags & HT_SCAN_QEMU) != 0;
	return (rd_setup(cfg, &s->m));
}

int
ht_scan(const ht_scan_cfg_t *cfg, ht_walk_fn fn, void *arg,
    ht_scan_stats_t *r_stats)
{
	scan_t s;
	int rc, live;

	if ((rc = scan_init(&s, cfg)) == 0 && fn == NULL)
		rc = ht__fail(HT_EINVAL, "scan: no leaf function");
	if (rc == 0) {
		s.fn = fn;
		s.arg = arg;
		rc = visit(&s, root_pa(&s), s.m.max_level, 0,
		    HT_W | HT_U | HT_X, &live);
	}
	if (r_stats != NULL)
		*r_stats = s.st;
	memo_free(&s);
	return (rc);
}

int
ht_scan_translate(const ht_scan_cfg_t *cfg, ht_va_t va, ht_scan_xlate_t *r_x)
{
	scan_t s;
	const mmu_t *m = &s.m;
	int rc;

	if (r_x == NULL)
		return (ht__fail(HT_EINVAL, "scan: no result"));
	memset(r_x, 0, sizeof (*r_x));
	r_x->va = va;
	if ((rc = scan_init(&s, cfg)) != 0)
		return (rc);
	if (!mmu_va_ok(m, va)) {
		r_x->stop = HT_STOP_NONCANON;
		return (0);
	}

	rd_walk_t w;

	rc = rd_walk(m, cfg, 1, s.qemu, root_pa(&s), va, r_x->step,
	    &r_x->nsteps, &w);
	if (rc != 0)
		return (rc);
	r_x->stop = w.stop;
	if (w.stop == HT_STOP_MAPPED) {
		r_x->level = (unsigned)w.level;
		r_x->page_size = LEVEL_SIZE(m, w.level);
		r_x->pa = pte_pa(m, w.pte, w.level) +
		    (va & LEVEL_OFFSET(m, w.level));
		r_x->attr = scan_attr(m, w.pte, w.level);
		r_x->eff = w.eff;
	}
	return (0);
}
