/*
 * test_picture.c - ht_scan_picture and ht_as_picture: the data of
 * `htable show`.
 *
 * Only htable.h is used.  A picture of a space of ours must equal, byte
 * for byte, the picture of the same frames read back as an image; its
 * ranges and counts must be what was mapped; hand-made images give a
 * self-map, a shared table, a table beyond the image and an entry with
 * reserved bits, whose marks the data must carry; names are escaped so
 * that nothing can end an HTML script element; every error of the
 * contract is returned, and a failing write function stops the picture.
 * (The page's reading of the data is tested in a browser:
 * tests/show/test_show.py.)
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htable.h"
#include "../lib/scan_image.h"

#define MIB		(1024ull * 1024)
#define E_P		0x001ull
#define E_W		0x002ull
#define E_U		0x004ull
#define E_PS		0x080ull
#define LINK		(E_P | E_W | E_U)

/* A growing buffer the pictures are written into. */
typedef struct out {
	char		*s;
	size_t		len, cap;
	int		fail_at;	/* > 0: fail on that call */
	int		rc;		/* ... with this */
	int		calls;
} out_t;

static int
out_write(void *arg, const void *buf, size_t len)
{
	out_t *o = arg;

	if (o->fail_at != 0 && ++o->calls == o->fail_at)
		return (o->rc);
	if (o->len + len + 1 > o->cap) {
		o->cap = (o->len + len + 1) * 2;
		o->s = realloc(o->s, o->cap);
		cr_assert_not_null(o->s);
	}
	memcpy(o->s + o->len, buf, len);
	o->len += len;
	o->s[o->len] = '\0';
	return (0);
}

/* The number after "key": in s (the first one), or -1. */
static long long
num(const char *s, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof (k), "\"%s\":", key);
	p = strstr(s, k);
	return (p == NULL ? -1 : strtoll(p + strlen(k), NULL, 10));
}

typedef struct world {
	ht_arena_t	*arena;
	ht_ctx_t	*ctx;
	ht_as_t		*as;
} world_t;

static void
world_make(world_t *w, ht_mode_t mode, unsigned asflags)
{
	cr_assert_eq(ht_arena_create(0x100000, 16 * MIB, 0, &w->arena), 0);
	ht_config_t cfg = { .mode = mode, .frame_ops = ht_arena_ops(),
	    .frame_arg = w->arena };
	if (mode == HT_MODE_EPT4 || mode == HT_MODE_EPT5)
		cfg.ept = HT_EPT_AD;
	cr_assert_eq(ht_ctx_create(&cfg, &w->ctx), 0);
	cr_assert_eq(ht_as_create(w->ctx, asflags, &w->as), 0);
}

static void
world_free(world_t *w)
{
	ht_as_destroy(w->as);
	cr_assert_eq(ht_ctx_destroy(w->ctx), 0);
	ht_arena_destroy(w->arena);
}

/*
 * In every mode: three separate ranges (one of them 2 MiB pages where
 * the mode has them) give three ranges; the picture of the space equals
 * the picture of its frames read back as an image.
 */
Test(picture, space_equals_image, .timeout = 60)
{
	static const ht_mode_t modes[] = { HT_MODE_32BIT, HT_MODE_PAE,
	    HT_MODE_4LEVEL, HT_MODE_5LEVEL, HT_MODE_NPT4, HT_MODE_EPT4,
	    HT_MODE_EPT5 };

	for (size_t i = 0; i < sizeof (modes) / sizeof (modes[0]); i++) {
		const ht_geometry_t *g = ht_geometry(modes[i]);
		unsigned big = g->level_shift[1];
		world_t w;
		out_t a = { 0 }, b = { 0 };
		uint64_t eptp = 0;
		int ept = modes[i] == HT_MODE_EPT4 || modes[i] == HT_MODE_EPT5;
		unsigned u = ept ? 0 : HT_U;	/* EPT's U is MBEC's XU */

		world_make(&w, modes[i], 0);
		cr_assert_eq(ht_map(w.as, 0x400000, 0x20000000, 0x5000,
		    HT_W | u, 0), 0);
		cr_assert_eq(ht_map(w.as, 0x800000, 0x20100000, 0x1000,
		    HT_X | u, 0), 0);
		cr_assert_eq(ht_map(w.as, 1ull << 30, 1ull << 30, 2ull << big,
		    HT_W, 0), 0);
		cr_assert_eq(ht_as_picture(w.as, "mine", out_write, &a), 0,
		    "%s: %s", ht_mode_name(modes[i]), ht_errdetail());
		cr_assert_eq(num(strstr(a.s, "\"stats\""), "ranges"), 3,
		    "%s: %s", ht_mode_name(modes[i]), a.s);
		cr_assert_eq(num(strstr(a.s, "\"stats\""), "leaves"),
		    5 + 1 + 2, "%s", a.s);

		ht_scan_cfg_t cfg = { .mode = modes[i], .cr3 =
		    ht_as_root(w.as), .read = arena_read, .read_arg = w.arena };
		if (ept) {
			cr_assert_eq(ht_as_eptp(w.as, HT_EPT_WB, &eptp), 0);
			cfg.cr3 = eptp;
		}
		cr_assert_eq(ht_scan_picture(&cfg, "mine", out_write, &b), 0,
		    "%s", ht_errdetail());
		cr_assert_str_eq(a.s, b.s, "%s", ht_mode_name(modes[i]));
		free(a.s);
		free(b.s);
		world_free(&w);
	}
}

/* A copied space has no root frame: refused, with nothing written. */
Test(picture, copied_and_null, .timeout = 30)
{
	world_t w;
	out_t o = { 0 };

	world_make(&w, HT_MODE_4LEVEL, HT_AS_COPIED);
	cr_assert_eq(ht_as_picture(w.as, "c", out_write, &o), -HT_EINVAL);
	cr_assert_eq(o.len, 0);
	cr_assert_eq(ht_as_picture(NULL, "c", out_write, &o), -HT_EINVAL);
	world_free(&w);
	world_make(&w, HT_MODE_4LEVEL, 0);
	cr_assert_eq(ht_as_picture(w.as, "c", NULL, NULL), -HT_EINVAL);
	/* NULL name: "" */
	cr_assert_eq(ht_as_picture(w.as, NULL, out_write, &o), 0);
	cr_assert_not_null(strstr(o.s, "\"name\":\"\""));
	cr_assert_eq(num(strstr(o.s, "\"stats\""), "ranges"), 0);
	free(o.s);
	world_free(&w);
}

/*
 * A hand-made 4-level image: root R links T2 from entries 0 and 1 (a
 * shared table), itself from 510 (a self-map), a frame beyond the image
 * from 2, and holds a reserved-bit entry at 3 and a non-present one at
 * 4; T2 maps two 1 GiB pages.
 */
Test(picture, marks, .timeout = 30)
{
	const ht_pa_t R = 0x1000, T2 = 0x2000;
	scan_image_t im;
	out_t o = { 0 };
	char want[128];

	img_init(&im, MIB, 0x10000);
	put(&im, 8, R + 0 * 8, T2 | LINK);
	put(&im, 8, R + 1 * 8, T2 | LINK);
	put(&im, 8, R + 2 * 8, (64 * MIB) | LINK);
	put(&im, 8, R + 3 * 8, T2 | LINK | (1ull << 51));
	put(&im, 8, R + 4 * 8, 0xdead000);
	put(&im, 8, R + 510 * 8, R | LINK);
	put(&im, 8, T2 + 0 * 8, (1ull << 30) | LINK | E_PS);
	put(&im, 8, T2 + 1 * 8, (2ull << 30) | LINK | E_PS);

	ht_scan_cfg_t cfg = { .mode = HT_MODE_4LEVEL, .cr3 = R,
	    .pa_bits = 46, .read = img_read, .read_arg = &im };
	cr_assert_eq(ht_scan_picture(&cfg, "m", out_write, &o), 0, "%s",
	    ht_errdetail());
	const char *st = strstr(o.s, "\"stats\"");
	cr_assert_not_null(st);
	/*
	 * The self-map reads R again at every level below the top, each
	 * reading marked again: 3 self-maps, T2 reached twice at 3 levels,
	 * the frame beyond the image at 3 levels, the reserved entry at 4.
	 */
	cr_assert_eq(num(st, "selfmaps"), 3, "%s", o.s);
	cr_assert_eq(num(st, "shared"), 3, "%s", o.s);
	cr_assert_eq(num(st, "unbacked"), 3, "%s", o.s);
	cr_assert_eq(num(st, "reserved"), 4, "%s", o.s);
	cr_assert_eq(num(st, "tables"), 10, "%s", o.s);
	/* two 1 GiB pages twice through T2, then what R maps as a PD and
	   as a PT */
	cr_assert_eq(num(st, "leaves"), 16, "%s", o.s);
	/* the root's entries: links, the reserved and non-present ones,
	   the self-map (kind 2) */
	snprintf(want, sizeof (want), "[0,1,1,\"%llx\",1],[1,1,1,\"%llx\",1]",
	    (unsigned long long)(T2 | LINK), (unsigned long long)(T2 | LINK));
	cr_assert_not_null(strstr(o.s, want), "%s", o.s);
	snprintf(want, sizeof (want), "[3,1,4,\"%llx\",\"0\"],[4,1,3,"
	    "\"dead000\",\"0\"]", (unsigned long long)(T2 | LINK |
	    (1ull << 51)));
	cr_assert_not_null(strstr(o.s, want), "%s", o.s);
	snprintf(want, sizeof (want), "[510,1,2,\"%llx\",",
	    (unsigned long long)(R | LINK));
	cr_assert_not_null(strstr(o.s, want), "%s", o.s);
	/* T2 is reached twice; the unbacked table is marked */
	cr_assert_not_null(strstr(o.s, "\"reached\":[1,2,"), "%s", o.s);
	cr_assert_not_null(strstr(o.s, "[\"4000000\",2,268435456,1,[]]"),
	    "%s", o.s);
	/* T2's run: two leaves one GiB apart */
	cr_assert_not_null(strstr(o.s, "[0,2,0,\"40000087\",\"40000000\"]"),
	    "%s", o.s);
	free(o.s);
	img_free(&im);
}

/* Names are escaped: no '<' or control byte reaches the output. */
Test(picture, name_escaped, .timeout = 30)
{
	scan_image_t im;
	out_t o = { 0 };

	img_init(&im, MIB, 0x10000);
	ht_scan_cfg_t cfg = { .mode = HT_MODE_4LEVEL, .cr3 = 0x1000,
	    .read = img_read, .read_arg = &im };
	cr_assert_eq(ht_scan_picture(&cfg, "</script>\"\\\n\xff&",
	    out_write, &o), 0);
	cr_assert_null(strchr(o.s, '<'));
	cr_assert_null(strchr(o.s, '&'));
	cr_assert_not_null(strstr(o.s, "\"name\":\"\\u003c/script\\u003e"
	    "\\\"\\\\\\u000a\\u00ff\\u0026\""), "%s", o.s);
	for (size_t i = 0; i < o.len; i++)
		cr_assert(o.s[i] == '\n' || (o.s[i] >= 0x20 && o.s[i] < 0x7f));
	free(o.s);
	img_free(&im);
}

/* Every error of the contract, and a write function that fails. */
Test(picture, errors, .timeout = 30)
{
	scan_image_t im;
	out_t o = { 0 };

	img_init(&im, MIB, 0x10000);
	put(&im, 8, 0x1000, 0x2000 | LINK);
	for (unsigned i = 0; i < 512; i++)
		put(&im, 8, 0x2000 + i * 8, ((uint64_t)i << 30) | LINK | E_PS);
	ht_scan_cfg_t cfg = { .mode = HT_MODE_4LEVEL, .cr3 = 0x1000,
	    .read = img_read, .read_arg = &im };

	cr_assert_eq(ht_scan_picture(NULL, "x", out_write, &o), -HT_EINVAL);
	cr_assert_eq(ht_scan_picture(&cfg, "x", NULL, NULL), -HT_EINVAL);
	cfg.flags = HT_SCAN_QEMU;
	cr_assert_eq(ht_scan_picture(&cfg, "x", out_write, &o), -HT_EINVAL);
	cfg.flags = 0;
	cfg.mode = (ht_mode_t)99;
	cr_assert_eq(ht_scan_picture(&cfg, "x", out_write, &o), -HT_EINVAL);
	cfg.mode = HT_MODE_4LEVEL;
	cfg.read = NULL;
	cr_assert_eq(ht_scan_picture(&cfg, "x", out_write, &o), -HT_EINVAL);
	cfg.read = img_read;
	cr_assert_eq(o.len, 0, "written before an argument error");

	/* past max_leaves */
	cfg.max_leaves = 100;
	cr_assert_eq(ht_scan_picture(&cfg, "x", out_write, &o), -HT_ERANGE);
	cfg.max_leaves = 0;
	/* the reader's code */
	im.rc = -HT_ENOMEM;
	cr_assert_eq(ht_scan_picture(&cfg, "x", out_write, &o), -HT_ENOMEM);
	im.rc = 7;
	cr_assert_eq(ht_scan_picture(&cfg, "x", out_write, &o),
	    -HT_EPROVIDER);
	im.rc = 0;
	/* the write function's code, at its first call and later ones */
	for (int at = 1; at <= 3; at++) {
		out_t f = { .fail_at = at, .rc = -HT_EBUSY };

		cr_assert_eq(ht_scan_picture(&cfg, "x", out_write, &f),
		    at == 1 ? -HT_EBUSY : 0, "fail at %d", at);
		free(f.s);
	}
	out_t f = { .fail_at = 1, .rc = 3 };
	cr_assert_eq(ht_scan_picture(&cfg, "x", out_write, &f), -HT_EINVAL);
	free(f.s);
	/* 512 leaves of 1 GiB in one range: the picture is whole */
	o.len = 0;
	cr_assert_eq(ht_scan_picture(&cfg, "x", out_write, &o), 0);
	cr_assert_eq(num(strstr(o.s, "\"stats\""), "ranges"), 1, "%s", o.s);
	cr_assert_eq(num(strstr(o.s, "\"stats\""), "leaves"), 512);
	free(o.s);
	img_free(&im);
}
