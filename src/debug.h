/*
 * debug.h - assertion tiers and small compiler helpers.
 *
 * Three tiers, as in illumos sys/debug.h:
 *   HT_ASSERT(x), HT_ASSERT3U/3S/3P(a, op, b)   debug builds only (HT_DEBUG);
 *       in release builds the expression is kept inside sizeof so that it
 *       stays type-checked but generates no code.
 *   HT_VERIFY(x)   always on: our own state is corrupt, continuing would
 *       damage page tables that an MMU reads.
 *   HT_IMPLY(a, b), HT_EQUIV(a, b)   debug-only logical forms.
 * None of these may ever fire on caller input: bad input is an error code.
 */
#ifndef HT_DEBUG_H
#define HT_DEBUG_H

#include <stdint.h>

#if defined(__GNUC__)
#define HT_LIKELY(x)	__builtin_expect(!!(x), 1)
#define HT_UNLIKELY(x)	__builtin_expect(!!(x), 0)
#define HT_INTERNAL	__attribute__((visibility("hidden")))
#define HT_NORETURN	__attribute__((noreturn))
#define HT_UNUSED	__attribute__((unused))
#else
#define HT_LIKELY(x)	(x)
#define HT_UNLIKELY(x)	(x)
#define HT_INTERNAL
#define HT_NORETURN
#define HT_UNUSED
#endif

HT_NORETURN void ht__assfail(const char *expr, const char *file, int line);
HT_NORETURN void ht__assfail3(const char *expr, uint64_t a, uint64_t b,
    const char *file, int line);

#define HT_VERIFY(x)							\
	((void)(HT_LIKELY(x) ? 0 : (ht__assfail(#x, __FILE__, __LINE__), 0)))
#define HT_VERIFY3_IMPL(a, op, b, type) do {				\
	type ht__a = (type)(a), ht__b = (type)(b);			\
	if (HT_UNLIKELY(!(ht__a op ht__b)))				\
		ht__assfail3(#a " " #op " " #b, (uint64_t)ht__a,	\
		    (uint64_t)ht__b, __FILE__, __LINE__);		\
} while (0)

#ifdef HT_DEBUG
#define HT_ASSERT(x)		HT_VERIFY(x)
#define HT_ASSERT3U(a, op, b)	HT_VERIFY3_IMPL(a, op, b, uint64_t)
#define HT_ASSERT3S(a, op, b)	HT_VERIFY3_IMPL(a, op, b, int64_t)
#define HT_ASSERT3P(a, op, b)	HT_VERIFY3_IMPL(a, op, b, uintptr_t)
static const int config_debug = 1;
#else
#define HT_ASSERT(x)		((void)sizeof (!(x)))
#define HT_ASSERT3U(a, op, b)	((void)sizeof ((a) op (b)))
#define HT_ASSERT3S(a, op, b)	((void)sizeof ((a) op (b)))
#define HT_ASSERT3P(a, op, b)	((void)sizeof ((a) op (b)))
static const int config_debug = 0;
#endif
#define HT_IMPLY(a, b)	HT_ASSERT(!(a) || (b))
#define HT_EQUIV(a, b)	HT_ASSERT(!(a) == !(b))

/* Record a detailed message for ht_errdetail(); returns -err. */
int ht__fail(int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* HT_DEBUG_H */
