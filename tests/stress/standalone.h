/*
 * standalone.h - just enough of Criterion's interface to build a stress
 * test as a plain program.  ThreadSanitizer cannot run Criterion's runner
 * here (its arena allocator fails under TSan before any test starts), so
 * the test command builds the stress tests a second time with this header
 * and runs them under TSan.  Each parameterized test runs for each
 * parameter in this process; a failed assertion ends that case, and the
 * program ends with a Criterion-style synthesis line.
 *
 * Under AddressSanitizer test_errors is built this way too: Criterion
 * forks each test from a process that has threads of its own, and the
 * child can inherit ASan's allocator lock held by one of them (gcc 12's
 * libasan takes no such lock around fork): the child then waits in its
 * first malloc forever, before the test runs (seen in 3 of 9 fresh-root
 * runs, with gdb: Criterion's child in malloc, in
 * SizeClassAllocator64::GetFromAllocator's mutex).
 */
#ifndef HT_STANDALONE_H
#define HT_STANDALONE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct sa_params {
	void	*p;
	size_t	size;
	size_t	n;
};

typedef struct sa_test {
	const char		*name;
	struct sa_params	(*params)(void);
	void			(*fn)(void *);
} sa_test_t;

#define SA_MAX_TESTS 32
static sa_test_t sa_tests[SA_MAX_TESTS];
static int sa_ntests;
static jmp_buf sa_jmp;
static int sa_soft_failed;	/* a cr_expect failed in this case */

static void
sa_register(const char *name, struct sa_params (*params)(void),
    void (*fn)(void *))
{
	if (sa_ntests < SA_MAX_TESTS)
		sa_tests[sa_ntests++] = (sa_test_t){ name, params, fn };
}

__attribute__((format(printf, 4, 5), noreturn)) static void
sa_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[----] %s:%d: Assertion Failed: %s\n[----]   ", file,
	    line, expr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	longjmp(sa_jmp, 1);
}

#define cr_make_param_array(T, arr, n) \
	((struct sa_params){ (arr), sizeof (T), (n) })
#define ParameterizedTestParameters(suite, name) \
	static struct sa_params suite##_##name##_params(void)
#define ParameterizedTest(decl, suite, name, ...)			\
	static void suite##_##name##_impl(decl);			\
	static void suite##_##name##_thunk(void *p)			\
	{ suite##_##name##_impl(p); }					\
	__attribute__((constructor)) static void			\
	suite##_##name##_reg(void)					\
	{ sa_register(#suite "::" #name, suite##_##name##_params,	\
	    suite##_##name##_thunk); }					\
	static void suite##_##name##_impl(decl)

#define cr_assert(cond, ...) do {					\
	if (!(cond))							\
		sa_fail(__FILE__, __LINE__, #cond, " " __VA_ARGS__);	\
} while (0)
#define cr_assert_eq(a, b, ...)		cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...)	cr_assert((a) >= (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...)		cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...)		cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_not_null(a, ...)	cr_assert((a) != NULL, __VA_ARGS__)
/* A failed expectation is reported and fails the case, which goes on. */
#define cr_expect(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "[----] %s:%d: Expectation Failed: %s\n" \
		    "[----]   ", __FILE__, __LINE__, #cond);		\
		fprintf(stderr, " " __VA_ARGS__);			\
		fputc('\n', stderr);					\
		sa_soft_failed = 1;					\
	}								\
} while (0)
#define cr_expect_eq(a, b, ...)		cr_expect((a) == (b), __VA_ARGS__)

/* A test without parameters: one case. */
__attribute__((unused)) static struct sa_params
sa_one(void)
{
	static char one;

	return ((struct sa_params){ &one, 1, 1 });
}
#define Test(suite, name, ...)						\
	static void suite##_##name##_impl(void);			\
	static void suite##_##name##_thunk(void *p)			\
	{ (void) p; suite##_##name##_impl(); }				\
	__attribute__((constructor)) static void			\
	suite##_##name##_reg(void)					\
	{ sa_register(#suite "::" #name, sa_one,			\
	    suite##_##name##_thunk); }					\
	static void suite##_##name##_impl(void)
#define cr_log_info(...)	(fprintf(stderr, __VA_ARGS__), \
	fputc('\n', stderr))

/* Run one case; 1 if it passed.  setjmp lives here, not in main's loop. */
static int
sa_run(void (*fn)(void *), void *arg)
{
	sa_soft_failed = 0;
	if (setjmp(sa_jmp) != 0)
		return (0);
	fn(arg);
	return (!sa_soft_failed);
}

int
main(void)
{
	int tested = 0, passed = 0;

	for (int i = 0; i < sa_ntests; i++) {
		struct sa_params ps = sa_tests[i].params();

		for (size_t j = 0; j < ps.n; j++) {
			int ok = sa_run(sa_tests[i].fn, (char *)ps.p +
			    j * ps.size);

			tested++;
			passed += ok;
			fprintf(stderr, "[%s] %s/%zu\n", ok ? "PASS" : "FAIL",
			    sa_tests[i].name, j);
		}
	}
	fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | "
	    "Failing: %d | Crashing: 0\n", tested, passed, tested - passed);
	return (passed == tested ? 0 : 1);
}

#endif /* HT_STANDALONE_H */
