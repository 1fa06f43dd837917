/*
 * fuzz_import.c - libFuzzer target for ht_as_import() of hostile tables,
 * followed by random operations on what was imported.
 *
 * Tables handed to ht_as_import are untrusted: whatever they hold, the
 * import either refuses them (nothing kept) or wraps them, and every later
 * operation on the import keeps the library's invariants.  This target
 * abort()s (so that libFuzzer reports the input) when a promise fails:
 *  - import returns 0 or one of its documented errors, and on failure the
 *    provider's frame count is unchanged and the context has no space;
 *  - after the import and after EVERY operation (map, unmap, protect,
 *    lock, unlock, test_clear_ad, translate, walk), ht_audit passes;
 *  - a successful map translates to what was mapped;
 *  - walks report leaves in ascending VA order;
 *  - destroying the import gives back every frame the library took (the
 *    imported ones stay the caller's), and the context can be destroyed.
 * run_corpus.c feeds the checked-in seeds (fuzz/corpus_import/) through the
 * same function in every build.
 *
 * Input: [mode][cfg][nwrites] then nwrites records of 11 bytes
 *	[frame][entry lo][entry hi][value: 8 bytes LE]
 * then operations of 5 bytes [op][idx lo][idx hi][len][attr].
 *   mode	byte & 3.
 *   cfg	bits 0..1: page sizes (all, 4K only, 4K + the mode's middle
 *		size, all); bits 2..4: pa_bits from pab[]; bit 5: no_nx.
 *   record	writes value (truncated to 4 bytes in 32-bit paging) to entry
 *		((hi << 8 | lo) & 1023) of image frame (frame & 7).  With bit 7
 *		of hi set, the value's address field keeps only bits 12..14,
 *		so that the value names one of the image's frames.
 *   op		bits 0..2: the operation; bits 3..5: the VA granularity
 *		(4 KiB << 9 * g); bits 6..7 vary flags.
 * The image is 8 frames at physical 0 (frame 0 is the root), allocated
 * from the provider before the import, as a well-behaved caller does; 64
 * more frames are there for the tables the library adds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htable.h"

#define IMG_FRAMES	8
#define FREE_FRAMES	64
#define REC		11
#define OPSZ		5
#define MAX_OPS		64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned pab[8] = { 0, 32, 36, 40, 46, 48, 52, 0 };

static struct {
	const ht_geometry_t *g;
	ht_config_t	cfg;
	ht_as_t		*as;
	int		op;
	uint64_t	last_va;
	int		order_ok;
} F;

static void
fail(int line, const char *what)
{
	fprintf(stderr, "fuzz_import.c:%d: check failed: %s (mode %s, op %d: "
	    "%s)\n", line, what, ht_mode_name(F.cfg.mode), F.op,
	    ht_errdetail());
	abort();
}

#define CHECK(c)	do { if (!(c)) fail(__LINE__, #c); } while (0)

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return (v);
}

/* The canonical form of an address of va_bits bits. */
static uint64_t
canon(uint64_t va)
{
	unsigned drop = 64 - F.g->va_bits;

	if (F.g->va_bits == 32)
		return (va & 0xffffffffull);
	/* shift the top bit of the VA to bit 63, then back, signed */
	return ((uint64_t)((int64_t)(va << drop) >> drop));
}

static int
walk_fn(void *arg, const ht_leaf_t *leaf)
{
	(void) arg;
	if (!F.order_ok)
		return (1);
	if (F.last_va != ~0ull && leaf->va <= F.last_va)
		F.order_ok = 0;
	F.last_va = leaf->va + leaf->size - 1;
	return (0);
}

static void
audit(void)
{
	if (ht_audit(F.as) != 0)
		fail(__LINE__, "ht_audit");
}

/* One operation on the import; every one is followed by an audit. */
static void
run_op(const uint8_t *o, uint64_t pa_limit)
{
	unsigned kind = o[0] & 7, gran = (o[0] >> 3) & 7, var = o[0] >> 6;
	unsigned idx = (unsigned)o[1] | ((unsigned)o[2] << 8);
	unsigned shift = 12 + 9 * (gran > 4 ? 4 : gran);
	uint64_t va = canon((uint64_t)idx << shift);
	uint64_t len = (uint64_t)((o[3] & 15) + 1) << (12 + 9 * ((o[3] >> 4) &
	    3));
	unsigned attr = o[4] & (HT_W | HT_U | HT_X | HT_G | HT_PWT | HT_PCD |
	    HT_PAT);
	uint64_t pa = va & (pa_limit - 1) & ~0xfffull;
	ht_xlate_t x;
	int rc;

	switch (kind) {
	case 0:
	case 1: {
		unsigned flags = 0;

		if (var & 1)
			flags |= HT_MAP_LOCK;
		if (var & 2)
			flags |= HT_MAP_NOREPLACE;
		if (o[4] & 0x80)
			flags |= HT_MAP_SIZE(1u << ((o[4] >> 5) & 3));
		rc = ht_map(F.as, va, pa, len, attr, flags);
		if (rc == 0) {
			CHECK(ht_translate(F.as, va, &x) == 0);
			CHECK(x.pa == pa);
			CHECK(ht_translate(F.as, va + len - 1, &x) == 0);
			CHECK(x.pa == pa + len - 1);
		}
		break;
	}
	case 2:
		rc = ht_unmap(F.as, va, len, (var & 1) ? HT_UNMAP_UNLOCK : 0);
		if (rc == 0)
			CHECK(ht_translate(F.as, va, &x) == -HT_ENOTMAPPED);
		break;
	case 3:
		rc = ht_protect(F.as, va, len, attr);
		CHECK(rc <= 0);
		break;
	case 4:
		if (var & 1)
			rc = ht_unlock(F.as, va, len);
		else
			rc = ht_lock(F.as, va, len);
		CHECK(rc <= 0);
		break;
	case 5:
		(void) ht_harvest_ad(F.as, va, len, HT_A | HT_D, var & 1,
		    NULL, NULL);
		break;
	case 6:
		F.last_va = ~0ull;
		F.order_ok = 1;
		rc = ht_walk(F.as, va, var & 1 ? va + len - 1 : ~0ull, walk_fn,
		    NULL);
		CHECK(rc == 0 || rc == 1 || rc < 0);
		CHECK(F.order_ok);
		break;
	default:
		rc = ht_translate(F.as, va, &x);
		CHECK(rc == 0 || rc == -HT_ENOTMAPPED || rc == -HT_ENONCANON ||
		    rc == -HT_ERANGE);
		if (rc == 0) {
			ht_pa_t p2;

			CHECK(ht_va2pa(F.as, va, &p2) == 0 && p2 == x.pa);
		}
		break;
	}
	audit();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ht_arena_t *arena;
	ht_ctx_t *ctx;
	ht_pfn_t pfn;
	size_t nrec, off;
	int rc;

	if (size < 3)
		return (0);
	memset(&F, 0, sizeof (F));
	F.cfg.mode = (ht_mode_t)(data[0] & 3);
	F.g = ht_geometry(F.cfg.mode);
	switch (data[1] & 3) {
	case 1:
		F.cfg.pagesizes = HT_PS_4K;
		break;
	case 2:
		F.cfg.pagesizes = HT_PS_4K | (F.g->pagesizes & (HT_PS_2M |
		    HT_PS_4M));
		break;
	default:
		F.cfg.pagesizes = 0;
		break;
	}
	F.cfg.pa_bits = pab[(data[1] >> 2) & 7];
	if (F.cfg.pa_bits > F.g->pa_bits_max)
		F.cfg.pa_bits = 0;
	F.cfg.no_nx = (data[1] >> 5) & 1;
	nrec = data[2];
	off = 3;

	/*
	 * One arena for every input: mapping, faulting in and unmapping a
	 * fresh one was a quarter of the time per input.  Each input starts
	 * from an arena with no frame out (checked at the end of the last
	 * one) and a zeroed image; the library zeroes the frames it takes.
	 */
	if (arena == NULL && ht_arena_create(0, (IMG_FRAMES + FREE_FRAMES) *
	    4096ull, 0, &arena) != 0)
		abort();
	CHECK(ht_arena_frames_used(arena) == 0);
	memset(ht_arena_ptr(arena, 0), 0, IMG_FRAMES * 4096);
	/* The image's frames are the caller's: taken from the provider. */
	for (unsigned i = 0; i < IMG_FRAMES; i++) {
		CHECK(ht_arena_ops()->alloc(arena, (ht_pa_t)i * 4096,
		    (ht_pa_t)(i + 1) * 4096, &pfn) == 0 && pfn == i);
	}
	for (size_t r = 0; r < nrec && off + REC <= size; r++, off += REC) {
		const uint8_t *p = data + off;
		unsigned fr = p[0] & 7;
		unsigned ent = ((unsigned)p[1] | ((unsigned)p[2] << 8)) & 1023;
		uint64_t v = le64(p + 3);
		uint8_t *t = ht_arena_ptr(arena, (ht_pa_t)fr * 4096);

		if (p[2] & 0x80)
			v &= ~0x000ffffffffff000ull | 0x7000ull;
		if (F.g->pte_size == 4) {
			uint32_t w = (uint32_t)v;

			memcpy(t + (size_t)ent * 4, &w, 4);
		} else {
			memcpy(t + (size_t)(ent & 511) * 8, &v, 8);
		}
	}

	F.cfg.frame_ops = ht_arena_ops();
	F.cfg.frame_arg = arena;
	/*
	 * A space of at most 8 image tables and 64 of ours: a small hash and
	 * reserve keep each input's set-up and audits cheap (with the
	 * defaults, scanning 1024 empty buckets per audit was most of the
	 * time per input).
	 */
	F.cfg.hash_buckets = 16;
	F.cfg.reserve_amount = 8;
	CHECK(ht_ctx_create(&F.cfg, &ctx) == 0);
	rc = ht_as_import(ctx, 0, 0, &F.as);
	if (rc != 0) {
		ht_stats_t st;

		CHECK(rc == -HT_EBADTABLE || rc == -HT_ENOMEM);
		CHECK(F.as == NULL);
		CHECK(ht_errdetail()[0] != '\0');
		ht_ctx_stats(ctx, &st);
		CHECK(st.address_spaces == 0);
	} else {
		uint64_t pa_limit = 1ull << ht_ctx_pa_bits(ctx);

		audit();
		for (int n = 0; n < MAX_OPS && off + OPSZ <= size;
		    n++, off += OPSZ) {
			F.op = n;
			run_op(data + off, pa_limit);
		}
		ht_as_destroy(F.as);
	}
	CHECK(ht_ctx_destroy(ctx) == 0);
	/* Every frame the library took went back; the image stays. */
	CHECK(ht_arena_frames_used(arena) == IMG_FRAMES);
	for (unsigned i = 0; i < IMG_FRAMES; i++)
		ht_arena_ops()->free(arena, i);
	return (0);
}
