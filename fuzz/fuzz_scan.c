/*
 * fuzz_scan.c - libFuzzer target for ht_scan() and ht_scan_translate().
 *
 * Page tables read out of a memory image are untrusted input: whatever the
 * image holds, the readers must not crash, loop or read outside it, and
 * must keep their promises.  This target checks those promises on every
 * input and abort()s (so that libFuzzer reports the input) when one fails.
 * run_corpus.c feeds the checked-in seeds through the same function in
 * every build.
 *
 * Input: [mode][cr3: 8 bytes, little-endian][flags][image ...]
 *   mode	byte & 3 is the paging mode.
 *   flags	bit 0: HT_SCAN_QEMU.  Bits 1..3 pick pa_bits from pab[] (some
 *		are out of range for some modes: then -HT_EINVAL is the only
 *		right answer).  Bits 4..7 all set: an unknown flag as well
 *		(-HT_EINVAL again).
 *   image	physical memory from address 0; beyond its end the read
 *		callback returns zeros and 1, as the contract asks.
 *
 * Checked:
 *  - ht_scan returns 0, or -HT_ERANGE after exactly max_leaves (4096)
 *    leaves; -HT_EINVAL for a bad configuration, having read nothing;
 *  - leaves come in strictly ascending VA order without overlapping, each
 *    canonical, of a page size of the mode for its level, aligned, with
 *    eff within the leaf's own W/U/X; the stats agree with what was seen;
 *  - the reads are bounded by the distinct tables plus the leaves times
 *    the levels (the memo's promise: sharing cannot multiply the work);
 *  - ht_scan_translate of an address inside a reported leaf finds that
 *    leaf, and of other addresses (from the input) gives a well-formed
 *    answer that agrees with the scan: mapped if and only if some leaf of
 *    a complete scan covers it, with the same page, attr and eff.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htable.h"

#define MAX_LEAVES	4096
#define HDR		10	/* mode, cr3, flags */
#define WUX		(HT_W | HT_U | HT_X)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* MAXPHYADDR choices; 0 is the mode's widest, 53 is never valid. */
static const unsigned pab[8] = { 0, 32, 36, 40, 46, 48, 52, 53 };

typedef struct fz {
	const uint8_t	*img;
	size_t		size;
	const ht_geometry_t *g;
	ht_scan_cfg_t	cfg;
	uint64_t	nreads;
	size_t		n;
	ht_leaf_t	leaves[MAX_LEAVES];
} fz_t;

static fz_t F;

/* Report a broken promise with the input's parameters, then abort. */
static void
fail(int line, const char *what)
{
	fprintf(stderr, "fuzz_scan.c:%d: check failed: %s (mode %s cr3 "
	    "0x%llx flags 0x%x pa_bits %u, %zu image bytes, %zu leaves)\n",
	    line, what, ht_mode_name(F.cfg.mode),
	    (unsigned long long)F.cfg.cr3, F.cfg.flags, F.cfg.pa_bits,
	    F.size, F.n);
	abort();
}

#define CHECK(c)	do { if (!(c)) fail(__LINE__, #c); } while (0)

/* The read callback: the image, zeros (and 1) beyond its end. */
static int
fz_read(void *arg, ht_pa_t pa, void *buf, size_t len)
{
	fz_t *f = arg;
	size_t n;

	f->nreads++;
	memset(buf, 0, len);
	if (pa >= f->size)
		return (len != 0);
	n = f->size - (size_t)pa < len ? f->size - (size_t)pa : len;
	memcpy(buf, f->img + pa, n);
	return (n < len);
}

/* Is va canonical in the mode? */
static int
canonical(const ht_geometry_t *g, ht_va_t va)
{
	uint64_t top;

	if (g->va_bits == 32)
		return (va <= 0xffffffffull);
	top = va >> (g->va_bits - 1);
	return (top == 0 || top == ~0ull >> (g->va_bits - 1));
}

/* HT_PS_* of a size, 0 if none. */
static unsigned
size_ps(uint64_t size)
{
	switch (size) {
	case 1ull << 12: return (HT_PS_4K);
	case 1ull << 21: return (HT_PS_2M);
	case 1ull << 22: return (HT_PS_4M);
	case 1ull << 30: return (HT_PS_1G);
	default: return (0);
	}
}

/* The walk function: check the leaf against the mode and the previous. */
static int
on_leaf(void *arg, const ht_leaf_t *l)
{
	fz_t *f = arg;
	const ht_geometry_t *g = f->g;

	CHECK(f->n < MAX_LEAVES);
	CHECK(l->level < g->levels);
	CHECK(l->size == 1ull << g->level_shift[l->level]);
	CHECK((size_ps(l->size) & g->pagesizes) != 0);
	CHECK((l->va & (l->size - 1)) == 0);
	CHECK((l->pa & (l->size - 1)) == 0);
	CHECK(canonical(g, l->va));
	CHECK((l->eff & ~WUX) == 0);
	CHECK((l->eff & ~l->attr) == 0);
	if (f->n > 0) {
		const ht_leaf_t *p = &f->leaves[f->n - 1];

		CHECK(l->va > p->va);
		CHECK(l->va - p->va >= p->size);
	}
	f->leaves[f->n++] = *l;
	return (0);
}

/* The reported leaf covering va, NULL if none (leaves are sorted). */
static const ht_leaf_t *
covering(const fz_t *f, ht_va_t va)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {		/* first leaf with va > the address */
		size_t mid = lo + (hi - lo) / 2;

		if (f->leaves[mid].va <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return (NULL);
	if (va - f->leaves[lo - 1].va < f->leaves[lo - 1].size)
		return (&f->leaves[lo - 1]);
	return (NULL);
}

/*
 * Translate va and check the answer's form; `complete`: the scan saw every
 * leaf, so the answer must agree with it.
 */
static void
check_translate(fz_t *f, ht_va_t va, int complete)
{
	const ht_geometry_t *g = f->g;
	const ht_leaf_t *l;
	ht_scan_xlate_t x;
	int rc;

	rc = ht_scan_translate(&f->cfg, va, &x);
	CHECK(rc == 0);
	CHECK(x.va == va);
	if (x.stop == HT_STOP_NONCANON) {
		CHECK(!canonical(g, va));
		CHECK(x.nsteps == 0);
		return;
	}
	CHECK(canonical(g, va));
	CHECK(x.stop == HT_STOP_MAPPED || x.stop == HT_STOP_NOTPRESENT ||
	    x.stop == HT_STOP_RESERVED);
	CHECK(x.nsteps >= 1 && x.nsteps <= g->levels);
	for (unsigned i = 0; i < x.nsteps; i++) {
		unsigned lv = g->levels - 1 - i;
		unsigned n = lv == g->levels - 1 ? g->top_level_count :
		    g->ptes_per_table;

		CHECK(x.step[i].level == lv);
		CHECK(x.step[i].index < n);
		CHECK(x.step[i].index ==
		    ((va >> g->level_shift[lv]) & (n - 1)));
	}
	l = complete ? covering(f, va) : NULL;
	if (x.stop != HT_STOP_MAPPED) {
		CHECK(!complete || l == NULL);
		return;
	}
	CHECK(x.level == x.step[x.nsteps - 1].level);
	CHECK(x.nsteps == g->levels - x.level);
	CHECK(x.page_size == 1ull << g->level_shift[x.level]);
	CHECK((x.eff & ~x.attr & WUX) == 0);
	if (!complete)
		return;
	CHECK(l != NULL);
	CHECK(l->level == x.level);
	CHECK(l->pa + (va - l->va) == x.pa);
	CHECK(l->attr == x.attr);
	CHECK(l->eff == x.eff);
	CHECK(l->pte == x.step[x.nsteps - 1].pte);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ht_scan_stats_t st;
	uint64_t cr3 = 0, extra = 0;
	unsigned fl;
	int bad, rc;

	if (size < HDR)
		return (0);
	memset(&F.cfg, 0, sizeof (F.cfg));
	for (int i = 0; i < 8; i++)
		cr3 |= (uint64_t)data[1 + i] << (8 * i);
	fl = data[9];
	F.img = data + HDR;
	F.size = size - HDR;
	F.nreads = 0;
	F.n = 0;
	F.g = ht_geometry((ht_mode_t)(data[0] & 3));
	F.cfg.mode = F.g->mode;
	F.cfg.cr3 = cr3;
	F.cfg.flags = (fl & 1) ? HT_SCAN_QEMU : 0;
	if ((fl & 0xf0) == 0xf0)
		F.cfg.flags |= 0x80;
	F.cfg.pa_bits = pab[(fl >> 1) & 7];
	F.cfg.max_leaves = MAX_LEAVES;
	F.cfg.read = fz_read;
	F.cfg.read_arg = &F;
	bad = (F.cfg.flags & 0x80) != 0 || F.cfg.pa_bits > F.g->pa_bits_max ||
	    (F.cfg.pa_bits != 0 && F.cfg.pa_bits < 32);

	rc = ht_scan(&F.cfg, on_leaf, &F, &st);
	if (bad) {
		ht_scan_xlate_t x;

		CHECK(rc == -HT_EINVAL);
		CHECK(F.n == 0 && F.nreads == 0);
		CHECK(st.leaves == 0 && st.tables == 0);
		CHECK(ht_scan_translate(&F.cfg, 0, &x) == -HT_EINVAL);
		CHECK(F.nreads == 0);
		return (0);
	}
	CHECK(rc == 0 || rc == -HT_ERANGE);
	CHECK(rc == 0 || F.n == MAX_LEAVES);
	CHECK(st.leaves == F.n);
	CHECK(st.tables >= 1);
	CHECK(st.unbacked <= st.tables);
	CHECK(st.unbacked != 0 || st.first_unbacked == 0);
	CHECK(F.nreads <= st.tables + (st.leaves + 1) * F.g->levels);

	/* inside reported leaves: the first, a middle one, the last */
	if (F.n > 0) {
		size_t pick[3] = { 0, F.n / 2, F.n - 1 };

		for (int i = 0; i < 3; i++) {
			const ht_leaf_t *l = &F.leaves[pick[i]];

			check_translate(&F, l->va + (cr3 ^ (uint64_t)i *
			    0x9e3779b97f4a7c15ull) % l->size, rc == 0);
			check_translate(&F, l->va, rc == 0);
		}
	}
	/* addresses from the input */
	for (size_t i = 0; i < 8 && i < F.size; i++)
		extra |= (uint64_t)F.img[F.size - 1 - i] << (8 * i);
	check_translate(&F, 0, rc == 0);
	check_translate(&F, cr3, rc == 0);
	check_translate(&F, ~cr3, rc == 0);
	check_translate(&F, extra, rc == 0);
	check_translate(&F, extra & 0xffffffffull, rc == 0);
	check_translate(&F, extra | 0xffff800000000000ull, rc == 0);
	return (0);
}
