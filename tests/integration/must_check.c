/*
 * must_check.c - the two ways the header documents for dropping the
 * result of an HT_MUST_CHECK call compile warning-free under -Werror:
 * testing it, and (this file) defining HT_MUST_CHECK as empty before the
 * include, after which a (void) cast is enough.  Building this file is the
 * test; running it checks that the calls did what they say.
 */
#define HT_MUST_CHECK
#include "htable.h"

/* The first idiom, in a translation unit of its own with the attribute. */
int must_check_tested(ht_as_t *as);

int
main(void)
{
	ht_arena_t *arena = NULL;
	ht_ctx_t *ctx = NULL;
	ht_as_t *as = NULL;
	ht_config_t cfg = { .mode = HT_MODE_PAE, .frame_ops = ht_arena_ops() };

	(void) ht_arena_create(0x100000, 1 << 20, 0, &arena);
	cfg.frame_arg = arena;
	(void) ht_ctx_create(&cfg, &ctx);
	(void) ht_as_create(ctx, 0, &as);
	if (as == NULL)
		return (1);
	(void) ht_map(as, 0x1000, 0x1000, 0x1000, 0, 0);
	if (must_check_tested(as) != 0)
		return (1);
	ht_as_destroy(as);
	if (ht_ctx_destroy(ctx) != 0)
		return (1);
	ht_arena_destroy(arena);
	return (0);
}
