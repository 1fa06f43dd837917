/*
 * fixture.h - shared set-up for the unit suites: an arena behind a
 * counting, fault-injecting frame provider (SQLite test_malloc style:
 * "the next N allocations succeed, then M fail"), a context, an address
 * space, and a TLB hook that records what it was told.
 */
#ifndef HT_TEST_FIXTURE_H
#define HT_TEST_FIXTURE_H

#include <stdint.h>
#include "htable.h"

#define FX_MAX_TLB 4096

typedef struct fixture {
	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
	ht_as_t		*as;
	ht_config_t	cfg;
	/* provider counters and fault injection */
	uint64_t	allocs, frees;
	long		fail_after;	/* -1: never; else succeed this many */
	long		fail_count;	/* then fail this many (-1: forever) */
	/* TLB hook record */
	unsigned	ntlb;
	uint64_t	tlb_va[FX_MAX_TLB];
	uint64_t	tlb_len[FX_MAX_TLB];
	ht_as_t		*tlb_as[FX_MAX_TLB];
} fixture_t;

extern fixture_t fx;

/*
 * The HT_EPT_* flags of the fixture's EPT contexts: every one, so that an
 * entry holds what it holds in the other modes (A/D bits, HT_U as
 * user-mode execute).
 */
#define FX_EPT	(HT_EPT_AD | HT_EPT_MBEC | HT_EPT_XONLY)

/*
 * Arena of `mib` MiB at physical 1 MiB, a context of `mode` (in EPT with
 * FX_EPT), one space.
 */
void fx_setup_mode(ht_mode_t mode, unsigned pagesizes, unsigned mib);
/* Destroy everything; asserts no frame leaked. */
void fx_teardown(void);
/* Pointer to the entry that maps va at `level` (NULL if no such table). */
void *fx_entry(ht_as_t *as, uint64_t va, int level);
/* Did the TLB hook cover [va, va + len) for as since the last reset? */
int fx_tlb_covers(ht_as_t *as, uint64_t va, uint64_t len);
void fx_tlb_reset(void);
/*
 * Drop a hold on a table (an htable_t) as the library does, inside an
 * operation on its space: a table freed by the release is unlinked under
 * its bucket mutex, and the TLB hook must run only once that is dropped
 * (src/lock.h), at op_end.  A bare htable_release outside an operation
 * would call the hook at once, under the mutex.
 */
struct htable;
void fx_release(struct htable *ht);

#endif
