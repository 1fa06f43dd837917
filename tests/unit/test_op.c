/*
 * test_op.c - unit tests of the operation frame (op.c, op_tables.c, and
 * op_prealloc_tables in alloc.c): frames an operation reserved and did
 * not use go back to the provider when it ends, and a reservation that
 * cannot be met takes nothing.
 */
#include <criterion/criterion.h>

#include "fixture.h"
#include "htable_int.h"
#include "op.h"

TestSuite(op, .fini = fx_teardown, .timeout = 60);

/*
 * Frames an operation reserved and did not use (another thread made the
 * table first) go back to the provider when it ends, not to the space's
 * cache; a failed reservation gives back what it had got.
 */
Test(op, leftover_frames_go_back_to_the_provider)
{
	fx_setup_mode(HT_MODE_4LEVEL, 0, 16);
	uint64_t used = ht_arena_frames_used(fx.arena);
	op_t op;

	op_begin(&op, fx.as);
	cr_assert_eq(op_prealloc_tables(&op, 3), 0);
	cr_assert_eq(ht_arena_frames_used(fx.arena), used + 3);
	op_end(&op);
	cr_assert_eq(hat_cache_count(fx.as), 0);
	cr_assert_eq(ht_arena_frames_used(fx.arena), used);

	/* a reservation that cannot be met takes nothing */
	ht_arena_set_limit(fx.arena, used + 2);
	op_begin(&op, fx.as);
	cr_assert_eq(op_prealloc_tables(&op, 3), -HT_ENOFRAME);
	cr_assert_eq(ht_arena_frames_used(fx.arena), used);
	cr_assert_eq(op.op_prealloc, NULL);
	op_end(&op);
	cr_assert_eq(hat_cache_count(fx.as), 0);
	cr_assert_eq(ht_arena_frames_used(fx.arena), used);
	ht_arena_set_limit(fx.arena, 0);
}
