/*
 * test_config.c - ht_ctx_create checks every field of ht_config_t: each
 * bad field gives its own error, ht_errdetail() names the field, and no
 * context is created (nothing allocated from the provider either).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "htable.h"

#define PG	4096ull
#define MIB	(1024ull * 1024)
#define GIB	(1024ull * MIB)

static ht_arena_t *arena;

static void
cfg_teardown(void)
{
	ht_arena_destroy(arena);
	arena = NULL;
}

TestSuite(config, .fini = cfg_teardown, .timeout = 60);

static ht_config_t
good_cfg(ht_mode_t mode)
{
	ht_config_t cfg;

	if (arena == NULL)
		cr_assert_eq(ht_arena_create(MIB, 64 * MIB, 0, &arena), 0);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = mode;
	cfg.frame_ops = ht_arena_ops();
	cfg.frame_arg = arena;
	cfg.npools = 1;
	cfg.pools[0].base = MIB;
	cfg.pools[0].len = 64 * MIB;
	return (cfg);
}

/*
 * Expect ht_ctx_create(cfg) to fail with code and a detail message that
 * contains every one of the (up to two) substrings.
 */
static void
bad(int line, const ht_config_t *cfg, int code, const char *s1,
    const char *s2)
{
	ht_ctx_t *ctx = NULL;
	uint64_t used = ht_arena_frames_used(arena);
	int rc = ht_ctx_create(cfg, &ctx);
	const char *d = ht_errdetail();

	cr_assert_eq(rc, -code, "line %d: got %s, want %s (%s)", line,
	    rc < 0 ? ht_err_name(rc) : "success", ht_err_name(code), d);
	cr_assert_null(ctx, "line %d: a context was created", line);
	cr_assert_not_null(strstr(d, s1), "line %d: detail '%s' lacks '%s'",
	    line, d, s1);
	if (s2 != NULL)
		cr_assert_not_null(strstr(d, s2), "line %d: detail '%s' lacks "
		    "'%s'", line, d, s2);
	cr_assert_eq(ht_arena_frames_used(arena), used);
}

#define BAD(cfg, code, s1, s2)	bad(__LINE__, &(cfg), code, s1, s2)

static void
good(const ht_config_t *cfg)
{
	ht_ctx_t *ctx = NULL;
	ht_as_t *as;

	cr_assert_eq(ht_ctx_create(cfg, &ctx), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_as_create(ctx, 0, &as), 0, "%s", ht_errdetail());
	cr_assert_eq(ht_audit(as), 0, "%s", ht_errdetail());
	ht_as_destroy(as);
	cr_assert_eq(ht_ctx_destroy(ctx), 0);
}

Test(config, mode_and_pagesizes)
{
	ht_config_t c = good_cfg(HT_MODE_4LEVEL);

	c.mode = (ht_mode_t)64;
	BAD(c, HT_EINVAL, "cfg.mode 64", NULL);
	c.mode = (ht_mode_t)-7;
	BAD(c, HT_EINVAL, "cfg.mode -7", NULL);

	c = good_cfg(HT_MODE_4LEVEL);
	c.pagesizes = HT_PS_4K | 0x30;
	BAD(c, HT_EPAGESIZE, "cfg.pagesizes", "unknown bits 0x30");
	c.pagesizes = HT_PS_4K | HT_PS_4M;
	BAD(c, HT_EPAGESIZE, "cfg.pagesizes", "4level");
	c.pagesizes = HT_PS_2M | HT_PS_1G;
	BAD(c, HT_EPAGESIZE, "cfg.pagesizes", "4 KiB");
	c.pagesizes = HT_PS_4K | HT_PS_1G;
	BAD(c, HT_EPAGESIZE, "cfg.pagesizes", "2 MiB");
	c = good_cfg(HT_MODE_32BIT);
	c.pagesizes = HT_PS_4K | HT_PS_2M;
	BAD(c, HT_EPAGESIZE, "cfg.pagesizes", "32bit");
	c = good_cfg(HT_MODE_PAE);
	c.pagesizes = HT_PS_4K | HT_PS_1G | HT_PS_2M;
	BAD(c, HT_EPAGESIZE, "cfg.pagesizes", "pae");
	c.pagesizes = HT_PS_4K;
	good(&c);
}

Test(config, pa_bits_and_no_nx)
{
	static const struct { ht_mode_t m; unsigned max; } w[] = {
		{ HT_MODE_32BIT, 40 }, { HT_MODE_PAE, 52 },
		{ HT_MODE_4LEVEL, 52 }, { HT_MODE_5LEVEL, 52 },
		{ HT_MODE_NPT4, 52 }, { HT_MODE_NPT5, 52 },
		{ HT_MODE_EPT4, 52 }, { HT_MODE_EPT5, 52 },
	};

	for (unsigned i = 0; i < sizeof (w) / sizeof (w[0]); i++) {
		ht_config_t c = good_cfg(w[i].m);

		c.pa_bits = 31;
		BAD(c, HT_EINVAL, "cfg.pa_bits 31", NULL);
		c.pa_bits = w[i].max + 1;
		BAD(c, HT_EINVAL, "cfg.pa_bits", "out of range");
		c.pa_bits = 1000;
		BAD(c, HT_EINVAL, "cfg.pa_bits 1000", NULL);
		c.pa_bits = w[i].max;
		good(&c);
		c.pa_bits = 32;
		good(&c);
		c.pa_bits = 0;
		c.no_nx = 2;
		BAD(c, HT_EINVAL, "cfg.no_nx 2", NULL);
		c.no_nx = -1;
		BAD(c, HT_EINVAL, "cfg.no_nx -1", NULL);
		c.no_nx = 1;
		/* EPT's entries have no NX bit to leave out */
		if (w[i].m == HT_MODE_EPT4 || w[i].m == HT_MODE_EPT5)
			BAD(c, HT_EINVAL, "no_nx", "EPT");
		else
			good(&c);
	}
}

/* cfg.ept: EPT's flags, every set of them in EPT, none elsewhere. */
Test(config, ept_flags)
{
	static const ht_mode_t em[] = { HT_MODE_EPT4, HT_MODE_EPT5 };
	ht_config_t c;

	for (unsigned i = 0; i < 2; i++) {
		for (unsigned f = 0; f <= 7; f++) {
			c = good_cfg(em[i]);
			c.ept = f;
			good(&c);
		}
		c.ept = 0x8;
		BAD(c, HT_EINVAL, "cfg.ept 0x8", "unknown bits");
		c.ept = HT_EPT_AD | 0x100;
		BAD(c, HT_EINVAL, "cfg.ept 0x101", "unknown bits");
	}
	c = good_cfg(HT_MODE_NPT4);
	c.ept = HT_EPT_AD;
	BAD(c, HT_EINVAL, "cfg.ept 0x1", "npt4");
	c = good_cfg(HT_MODE_32BIT);
	c.ept = HT_EPT_XONLY;
	BAD(c, HT_EINVAL, "cfg.ept 0x4", "32bit");
}

Test(config, frame_ops)
{
	ht_config_t c = good_cfg(HT_MODE_4LEVEL);
	ht_frame_ops_t ops = *ht_arena_ops();

	c.frame_ops = NULL;
	BAD(c, HT_EINVAL, "cfg.frame_ops is NULL", NULL);
	c.frame_ops = &ops;
	ops.alloc = NULL;
	BAD(c, HT_EINVAL, "cfg.frame_ops->alloc", NULL);
	ops = *ht_arena_ops();
	ops.free = NULL;
	BAD(c, HT_EINVAL, "cfg.frame_ops->free", NULL);
	ops = *ht_arena_ops();
	ops.map = NULL;
	ops.window = NULL;
	BAD(c, HT_EINVAL, "cfg.frame_ops", "map");
	/* a throttle needs avail to read */
	ops = *ht_arena_ops();
	ops.avail = NULL;
	c.throttle = 10;
	BAD(c, HT_EINVAL, "cfg.throttle 10", "avail");
	c.throttle = 0;
	good(&c);
	c.frame_ops = ht_arena_ops();
	c.throttle = 10;
	good(&c);
}

Test(config, pools)
{
	ht_config_t c = good_cfg(HT_MODE_4LEVEL);

	c.npools = HT_MAX_POOLS + 1;
	BAD(c, HT_EINVAL, "cfg.npools 9", NULL);
	c.npools = 3;
	c.pools[1].base = 80 * MIB;
	c.pools[1].len = MIB;
	c.pools[2].base = 90 * MIB;
	c.pools[2].len = MIB;
	good(&c);

	c.pools[2].len = 0;
	BAD(c, HT_EINVAL, "cfg.pools[2].len is 0", NULL);
	c.pools[2].len = MIB + 0x800;
	BAD(c, HT_EALIGN, "cfg.pools[2].len", NULL);
	c.pools[2].len = MIB;
	c.pools[2].base = 90 * MIB + 8;
	BAD(c, HT_EALIGN, "cfg.pools[2].base", NULL);
	c.pools[2].base = 0 - PG;
	c.pools[2].len = 2 * PG;
	BAD(c, HT_ERANGE, "cfg.pools[2]", "wraps");
	/* the case: a pool above pa_bits */
	c.pa_bits = 40;
	c.pools[2].base = 1ull << 41;
	c.pools[2].len = MIB;
	BAD(c, HT_EPABITS, "cfg.pools[2].base 0x20000000000 beyond pa_bits 40",
	    NULL);
	c.pools[2].base = (1ull << 40) - MIB;
	c.pools[2].len = 2 * MIB;
	BAD(c, HT_EPABITS, "cfg.pools[2] ends at", "pa_bits 40");
	c.pools[2].len = MIB;
	good(&c);
	/* overlaps, partial and whole */
	c.pools[2].base = 80 * MIB + 0x80000;
	BAD(c, HT_EINVAL, "cfg.pools[2]", "overlaps cfg.pools[1]");
	c.pools[2].base = 2 * MIB;
	c.pools[2].len = PG;
	BAD(c, HT_EINVAL, "cfg.pools[2]", "overlaps cfg.pools[0]");
	/* adjacent is fine */
	c.pools[2].base = 81 * MIB;
	good(&c);
}

Test(config, pools_below_4g_in_32bit_modes)
{
	ht_config_t c = good_cfg(HT_MODE_32BIT);

	/* 32-bit entries name tables below 4 GiB only */
	c.npools = 2;
	c.pools[1].base = 4 * GIB;
	c.pools[1].len = MIB;
	BAD(c, HT_ERANGE, "cfg.pools[1].base 0x100000000", "below");
	/* straddling 4 GiB: the part below is usable */
	c.pools[1].base = 4 * GIB - MIB;
	c.pools[1].len = 2 * MIB;
	good(&c);

	/* PAE tables may lie anywhere, its root below 4 GiB */
	c = good_cfg(HT_MODE_PAE);
	c.pools[0].base = 4 * GIB;
	c.pools[0].len = MIB;
	BAD(c, HT_ERANGE, "cfg.pools", "root");
	c.npools = 2;
	c.pools[1].base = MIB;
	c.pools[1].len = MIB;
	good(&c);
}

Test(config, tunables)
{
	ht_config_t c = good_cfg(HT_MODE_5LEVEL);

	c.hash_buckets = 3;
	BAD(c, HT_EINVAL, "cfg.hash_buckets 3", "power of two");
	c.hash_buckets = 1u << 31;
	BAD(c, HT_EINVAL, "cfg.hash_buckets 2147483648", "above");
	c.hash_buckets = 1;
	good(&c);
	c.hash_buckets = 0;
	c.reserve_amount = 1u << 30;
	BAD(c, HT_EINVAL, "cfg.reserve_amount", NULL);
	c.reserve_amount = 1;
	good(&c);
	c.steal_passes = 513;
	BAD(c, HT_EINVAL, "cfg.steal_passes 513", NULL);
	c.steal_passes = 512;
	good(&c);
	c = good_cfg(HT_MODE_32BIT);
	c.steal_passes = 1025;
	BAD(c, HT_EINVAL, "cfg.steal_passes 1025", NULL);
	c.steal_passes = 1024;
	good(&c);
}

Test(config, null_arguments)
{
	ht_config_t c = good_cfg(HT_MODE_4LEVEL);
	ht_ctx_t *ctx = NULL;

	cr_assert_eq(ht_ctx_create(NULL, &ctx), -HT_EINVAL);
	cr_assert_null(ctx);
	cr_assert_eq(ht_ctx_create(&c, NULL), -HT_EINVAL);
}
