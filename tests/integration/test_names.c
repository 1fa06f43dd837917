/*
 * test_names.c - integration tests of the names (error.c, mmu.c): mode
 * names and ht_mode_parse, ht_geometry, ht_err_name and ht_strerror for
 * every code (distinct, never empty, the same for -code and code) and for
 * unknown ones, INT_MIN included; the version string.
 *
 * Only htable.h is used (tests/lib/api_env.h for OK and the detail
 * checks).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <limits.h>

#include "../lib/api_env.h"

static const ht_mode_t all_modes[] = {
	HT_MODE_32BIT, HT_MODE_PAE, HT_MODE_4LEVEL, HT_MODE_5LEVEL,
	HT_MODE_NPT4, HT_MODE_NPT5, HT_MODE_EPT4, HT_MODE_EPT5
};
#define NMODES	(sizeof (all_modes) / sizeof (all_modes[0]))

/* Modes, geometry, error names. */
Test(names, modes_and_errors, .timeout = 30)
{
	const char *seen_names[HT__NERR];
	ht_mode_t m;

	for (unsigned i = 0; i < NMODES; i++) {
		const char *n = ht_mode_name(all_modes[i]);

		cr_assert_not_null(n);
		OK(ht_mode_parse(n, &m));
		cr_assert_eq(m, all_modes[i]);
		cr_assert_not_null(ht_geometry(all_modes[i]));
		cr_assert_eq(ht_geometry(all_modes[i])->mode, all_modes[i]);
	}
	/* the modes are 0..NMODES-1: a loop over them stops at a NULL */
	cr_assert_null(ht_mode_name((ht_mode_t)NMODES));
	cr_assert_null(ht_mode_name((ht_mode_t)-1));
	cr_assert_null(ht_geometry((ht_mode_t)NMODES));
	cr_assert_null(ht_geometry((ht_mode_t)-1));
	/*
	 * nested paging and EPT: the long-mode geometry over guest-physical
	 * space; EPT has no NX bit (execute is a right)
	 */
	for (ht_mode_t n = HT_MODE_NPT4; n <= HT_MODE_EPT5; n++) {
		static const char *const names[] = {
			"npt4", "npt5", "ept4", "ept5"
		};
		const ht_geometry_t *g = ht_geometry(n);
		const int four = n == HT_MODE_NPT4 || n == HT_MODE_EPT4;
		const ht_geometry_t *l = ht_geometry(four ? HT_MODE_4LEVEL :
		    HT_MODE_5LEVEL);

		cr_assert_str_eq(ht_mode_name(n), names[n - HT_MODE_NPT4]);
		cr_assert_eq(g->levels, l->levels);
		cr_assert_eq(g->va_bits, l->va_bits);
		cr_assert_eq(g->pagesizes, l->pagesizes);
		cr_assert_eq(g->link_mask, l->link_mask);
		cr_assert_eq(g->has_nx, n <= HT_MODE_NPT5);
		cr_assert_eq(g->hole_start, 0, "no canonical hole");
		cr_assert_eq(g->hole_end, 0);
	}
	arm_detail();
	cr_assert_eq(ht_mode_parse("PAE", &m), -HT_EINVAL);
	check_detail(__LINE__, "mode_parse");
	cr_assert_eq(ht_mode_parse(NULL, &m), -HT_EINVAL);
	cr_assert_eq(ht_mode_parse("pae", NULL), -HT_EINVAL);

	cr_assert_str_eq(ht_err_name(0), "HT_OK");
	cr_assert_str_eq(ht_err_name(-HT_EINVAL), "HT_EINVAL");
	cr_assert_str_eq(ht_err_name(HT_EINVAL), "HT_EINVAL");
	cr_assert_str_eq(ht_err_name(-HT_ENOTSUP), "HT_ENOTSUP");
	cr_assert_str_eq(ht_err_name(-HT_EBADTABLE), "HT_EBADTABLE");
	cr_assert_str_eq(ht_strerror(-HT_ENOFRAME),
	    "no physical frame available for a page table");
	for (int c = 0; c < HT__NERR; c++) {
		const char *s = ht_strerror(-c), *n = ht_err_name(-c);

		cr_assert_not_null(s);
		cr_assert_not_null(n);
		cr_assert(s[0] != '\0' && n[0] != '\0');
		cr_assert_str_eq(s, ht_strerror(c));
		cr_assert_str_eq(n, ht_err_name(c));
		cr_assert_eq(strncmp(n, "HT_", 3), 0, "%s", n);
		cr_assert_str_neq(s, "unknown error", "code %d", c);
		cr_assert_str_neq(n, "HT_UNKNOWN", "code %d", c);
		for (int d = 0; d < c; d++)
			cr_assert_str_neq(n, seen_names[d]);
		seen_names[c] = n;
	}
	{
		static const int bad[] = { HT__NERR, -HT__NERR, HT__NERR + 1,
		    -(HT__NERR + 1), 100, -100, 4096, -65536, INT_MAX,
		    -INT_MAX };

		for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
			const char *s = ht_strerror(bad[i]);
			const char *n = ht_err_name(bad[i]);

			cr_assert_not_null(s);
			cr_assert_not_null(n);
			cr_assert(s[0] != '\0' && n[0] != '\0');
			cr_assert_str_eq(n, "HT_UNKNOWN", "%d -> %s", bad[i], n);
		}
	}
	cr_assert_str_eq(HT_VERSION_STRING, "0.1.0");
}

/*
 * ht_strerror(INT_MIN) and ht_err_name(INT_MIN): the code cannot be
 * negated (an old bug indexed the tables with the still-negative result).
 * The header promises "never NULL" for any code.
 */
Test(names, int_min, .timeout = 30)
{
	const char *s = ht_strerror(INT_MIN);
	const char *n = ht_err_name(INT_MIN);

	cr_assert_not_null(s);
	cr_assert_not_null(n);
	cr_assert_str_eq(n, "HT_UNKNOWN");
	cr_assert_str_eq(s, "unknown error");
}
