/*
 * error.c - error names, messages, the per-thread detail message, and the
 * assertion failure handlers.
 *
 * Error codes come from the one X-macro list in htable.h.  The detail
 * message lives in thread-local storage so that concurrent callers never
 * see each other's text; it is only written on failure paths.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "htable.h"
#include "debug.h"

static const char *const ht_msgs[] = {
	[HT_OK] = "success",
#define HT__MSG(name, msg) [HT_##name] = msg,
	HT_ERRNO_MAP(HT__MSG)
#undef HT__MSG
};

static const char *const ht_names[] = {
	[HT_OK] = "HT_OK",
#define HT__NAME(name, msg) [HT_##name] = "HT_" #name,
	HT_ERRNO_MAP(HT__NAME)
#undef HT__NAME
};

static _Thread_local char ht_detail[256];

/* Table index of an error code, either sign; -1 if unknown. */
static int
err_index(int err)
{
	if (err < 0) {
		if (err < -HT__NERR)	/* also keeps -INT_MIN from happening */
			return (-1);
		err = -err;
	}
	return (err < HT__NERR ? err : -1);
}

const char *
ht_strerror(int err)
{
	int i = err_index(err);

	return (i < 0 ? "unknown error" : ht_msgs[i]);
}

const char *
ht_err_name(int err)
{
	int i = err_index(err);

	return (i < 0 ? "HT_UNKNOWN" : ht_names[i]);
}

const char *
ht_errdetail(void)
{
	return (ht_detail);
}

int
ht__fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(ht_detail, sizeof (ht_detail), fmt, ap);
	va_end(ap);
	return (-err);
}

void
ht__assfail(const char *expr, const char *file, int line)
{
	/*
	 * Only our own broken invariants get here, never caller input: the
	 * tables may be read by an MMU, so stopping is safer than going on.
	 */
	(void) fprintf(stderr, "htable: assertion failed: %s, %s:%d\n",
	    expr, file, line);
	abort();
}

void
ht__assfail3(const char *expr, uint64_t a, uint64_t b, const char *file,
    int line)
{
	(void) fprintf(stderr, "htable: assertion failed: %s "
	    "(0x%llx vs 0x%llx), %s:%d\n", expr, (unsigned long long)a,
	    (unsigned long long)b, file, line);
	abort();
}
