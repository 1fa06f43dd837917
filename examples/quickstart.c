/*
 * quickstart.c - build a 4-level address space in an arena, the way a VMM
 * would for a guest: a direct map of the first 4 GiB with 1 GiB pages, a
 * kernel image with 2 MiB pages, a user process in 4 KiB pages; then
 * translate a few addresses, walk the leaves and audit the tables.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "htable.h"

#define CHECK(call) do {						\
	int rc_ = (call);						\
	if (rc_ < 0) {							\
		fprintf(stderr, "%s: %s (%s)\n", #call,			\
		    ht_strerror(rc_), ht_errdetail());			\
		exit(1);						\
	}								\
} while (0)

static int
print_leaf(void *arg, const ht_leaf_t *l)
{
	int *n = arg;

	if ((*n)++ < 12)
		printf("  %016" PRIx64 " -> %013" PRIx64 " %8" PRIu64 " KiB %c%c%c\n",
		    l->va, l->pa, l->size >> 10, (l->attr & HT_W) ? 'w' : '-',
		    (l->attr & HT_U) ? 'u' : '-', (l->attr & HT_X) ? 'x' : '-');
	return (0);
}

int
main(void)
{
	ht_arena_t *arena;
	ht_ctx_t *ctx;
	ht_as_t *as;
	ht_stats_t st;
	int n = 0;

	/* 16 MiB of "guest RAM" at 1 MiB for the page-table frames. */
	CHECK(ht_arena_create(0x100000, 16 << 20, 0, &arena));
	ht_config_t cfg = {
		.mode = HT_MODE_4LEVEL,
		.frame_ops = ht_arena_ops(),
		.frame_arg = arena,
	};
	CHECK(ht_ctx_create(&cfg, &ctx));
	CHECK(ht_as_create(ctx, 0, &as));

	/* direct map of 4 GiB: 1 GiB pages, global, not executable */
	CHECK(ht_map(as, 0xffff888000000000ull, 0, 4ull << 30, HT_W | HT_G, 0));
	/* kernel text: 2 MiB pages, executable */
	CHECK(ht_map(as, 0xffffffff81000000ull, 0x1000000, 16 << 20,
	    HT_X | HT_G, 0));
	/* user text, heap, stack: 4 KiB pages, with a guard hole */
	CHECK(ht_map(as, 0x400000, 0x20000000, 0x5000, HT_U | HT_X, 0));
	CHECK(ht_map(as, 0x600000, 0x20100000, 0x21000, HT_U | HT_W, 0));
	CHECK(ht_map(as, 0x7ffffffde000, 0x20200000, 0x21000, HT_U | HT_W, 0));
	CHECK(ht_unmap(as, 0x610000, 0x1000, 0));	/* a guard page */
	CHECK(ht_audit(as));

	printf("4-level address space, CR3 = 0x%" PRIx64 "\n", ht_as_root(as));
	const uint64_t probes[] = { 0xffff888012345678ull,
	    0xffffffff81234567ull, 0x401abcull, 0x610000ull,
	    0x7fffffffe123ull };
	for (size_t i = 0; i < sizeof (probes) / sizeof (probes[0]); i++) {
		ht_xlate_t x;
		int rc = ht_translate(as, probes[i], &x);

		if (rc == 0)
			printf("  translate %016" PRIx64 " -> pa %013" PRIx64
			    " (%" PRIu64 " KiB page, %s%s%s)\n", probes[i],
			    x.pa, x.page_size >> 10, (x.attr & HT_W) ? "w" :
			    "r", (x.attr & HT_U) ? "u" : "s",
			    (x.attr & HT_X) ? "x" : "");
		else
			printf("  translate %016" PRIx64 " -> %s after %u "
			    "levels\n", probes[i], ht_strerror(rc), x.nlevels);
	}
	printf("leaves:\n");
	CHECK(ht_walk(as, 0, ~0ull, print_leaf, &n));
	if (n > 12)
		printf("  ... %d leaves in all\n", n);
	ht_as_stats(as, &st);
	printf("tables per level: %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
	    "; frames in use: %" PRIu64 "\n", st.tables[0], st.tables[1],
	    st.tables[2], st.tables[3], ht_arena_frames_used(arena));
	ht_as_destroy(as);
	CHECK(ht_ctx_destroy(ctx));
	ht_arena_destroy(arena);
	return (0);
}
