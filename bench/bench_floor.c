/*
 * bench_floor.c - physical floors, measured in the same run as the
 * library figures so that the ratios do not mix a quiet moment with a busy
 * one (this is a shared 2-vCPU VM; see perf-anchors.md).
 *
 *   floor_store  sequential 8-byte PTE-like stores into a 2 MiB buffer
 *                (262,144 entries, the leaf tables of 1 GiB of 4 KiB
 *                pages), ns/entry.  Nothing that writes one PTE per page
 *                can go faster.
 *   floor_zero   memset of one 4 KiB frame over a ring of 515 frames,
 *                ns/frame: what a new page table costs before the first
 *                entry is written.  515 is the number of table frames of
 *                1 GiB of 4 KiB pages in 4-level mode (512 PT + PD + PDPT
 *                + PML4), so the ring is the size of those tables.
 *   floor_cas    a successful 64-bit compare-and-swap (lock cmpxchg) on
 *                each entry of a 2 MiB table in turn, ns/entry.  The
 *                header requires one for every change of a valid entry
 *                (an MMU may set A/D at any time), so unmap and protect
 *                cannot go below it.  These CASes are independent of
 *                each other (other entries), so they overlap somewhat:
 *                expect about half the 4.7 ns that perf-anchors.md gives
 *                for a chain of CASes on one hot word.
 *   floor_call   a call into libhtable.so that does almost nothing
 *                (ht_mode_name: a bounds check and a load), through the
 *                PLT, ns/call: what every library call pays that a
 *                walk inlined into the caller's loop (the peer's
 *                translate_addr) does not.
 *   floor_report the stores of one ht_translate report of a 4 KiB page
 *                in 4-level paging (va, pa, page size, level, attr,
 *                nlevels, four entries and the four addresses they were
 *                read at: 14 fields) into one report, ns/report: what
 *                ht_translate writes besides ht_va2pa's one word.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <htable.h>

#include "bench.h"
#include "bench-list.h"

#define STORE_BYTES	(2u << 20)
#define STORE_ENTRIES	(STORE_BYTES / 8)
#define STORE_PASSES	16		/* about 1 ms per sample */

#define CAS_PASSES	2		/* about 2.5 ms per sample */

#define CALLS		(1u << 20)	/* about 2 ms per sample */
#define REPORTS		(1u << 20)

#define ZERO_FRAMES	515
#define ZERO_PASSES	64		/* about 1 ms per sample */

/*
 * The value a 4-level leaf entry would hold: frame address | A | D | W |
 * P.  Kept out of line so that the loop is compiled the same whatever
 * the caller, and free to be vectorised, as a library's fill loop may be.
 */
static void __attribute__((noinline))
store_fill(uint64_t *t, size_t n, uint64_t pa)
{
	size_t i;

	for (i = 0; i < n; i++)
		t[i] = (pa + ((uint64_t)i << 12)) | 0x63;
}

int
bench_floor_store(bench_run_t *r)
{
	uint64_t *buf = bench_map_huge(STORE_BYTES);
	uint64_t t0, pa = 0;
	int s, k;

	r->ops = (uint64_t)STORE_PASSES * STORE_ENTRIES;
	for (s = -r->warmup; s < r->reps; s++) {
		t0 = bench_now();
		for (k = 0; k < STORE_PASSES; k++) {
			store_fill(buf, STORE_ENTRIES, pa);
			/* Every pass's stores must reach memory. */
			BENCH_CLOBBER();
			pa += (uint64_t)1 << 30;
		}
		if (s >= 0)
			r->ns[s] = (double)(bench_now() - t0) / (double)r->ops;
	}
	bench_sink = buf[STORE_ENTRIES - 1];
	bench_unmap(buf, STORE_BYTES);
	return (0);
}

/*
 * Called through a volatile pointer so that the compiler cannot inline or
 * specialise it: the figure is glibc's memset, which is what a library
 * calls to clear a frame.
 */
static void *(*volatile zero_fn)(void *, int, size_t) = memset;

int
bench_floor_zero(bench_run_t *r)
{
	const size_t bytes = (size_t)ZERO_FRAMES * 4096;
	char *ring = bench_map_huge(bytes);
	uint64_t t0;
	int s, k, f;

	r->ops = (uint64_t)ZERO_PASSES * ZERO_FRAMES;
	for (s = -r->warmup; s < r->reps; s++) {
		t0 = bench_now();
		for (k = 0; k < ZERO_PASSES; k++) {
			for (f = 0; f < ZERO_FRAMES; f++)
				(void) zero_fn(ring + (size_t)f * 4096, 0,
				    4096);
			BENCH_CLOBBER();
		}
		if (s >= 0)
			r->ns[s] = (double)(bench_now() - t0) / (double)r->ops;
	}
	bench_sink = (uint64_t)ring[bytes - 1];
	bench_unmap(ring, bytes);
	return (0);
}

/*
 * Each entry holds the value the previous pass stored, so every
 * compare-and-swap succeeds, as in an unmap or protect of a quiet space.
 */
int
bench_floor_cas(bench_run_t *r)
{
	_Atomic uint64_t *t = bench_map_huge(STORE_BYTES);
	uint64_t t0, expect, gen = 0;
	size_t i;
	int s, k;

	for (i = 0; i < STORE_ENTRIES; i++)
		atomic_init(&t[i], 0);
	r->ops = (uint64_t)CAS_PASSES * STORE_ENTRIES;
	for (s = -r->warmup; s < r->reps; s++) {
		t0 = bench_now();
		for (k = 0; k < CAS_PASSES; k++, gen++) {
			for (i = 0; i < STORE_ENTRIES; i++) {
				expect = gen;
				if (!atomic_compare_exchange_strong(&t[i],
				    &expect, gen + 1))
					bench_die("floor_cas: entry %zu changed "
					    "under us", i);
			}
		}
		if (s >= 0)
			r->ns[s] = (double)(bench_now() - t0) / (double)r->ops;
	}
	bench_sink = atomic_load(&t[STORE_ENTRIES - 1]);
	bench_unmap((void *)t, STORE_BYTES);
	return (0);
}

int
bench_floor_call(bench_run_t *r)
{
	uint64_t t0, acc = 0;
	uint32_t i;
	int s;

	r->ops = CALLS;
	for (s = -r->warmup; s < r->reps; s++) {
		t0 = bench_now();
		for (i = 0; i < CALLS; i++)
			acc += (uintptr_t)ht_mode_name((ht_mode_t)(i & 1));
		if (s >= 0)
			r->ns[s] = (double)(bench_now() - t0) / (double)r->ops;
	}
	bench_sink = acc;
	return (0);
}

int
bench_floor_report(bench_run_t *r)
{
	ht_xlate_t x;
	uint64_t t0;
	uint32_t i;
	int s;

	r->ops = REPORTS;
	for (s = -r->warmup; s < r->reps; s++) {
		t0 = bench_now();
		for (i = 0; i < REPORTS; i++) {
			uint64_t va = (uint64_t)i << 12;

			x.va = va;
			x.pa = va | 0x100000000ull;
			x.page_size = 4096;
			x.level = 0;
			x.attr = i & 7;
			x.nlevels = 4;
			for (int k = 0; k < 4; k++) {
				x.entries[k] = (va >> (9 * k)) | 0x63;
				x.entry_pa[k] = (va >> (9 * k)) + 8u * k;
			}
			/* every report's stores must be made */
			__asm__ __volatile__("" : : "r" (&x) : "memory");
		}
		if (s >= 0)
			r->ns[s] = (double)(bench_now() - t0) / (double)r->ops;
	}
	bench_sink = x.entries[3];
	return (0);
}
