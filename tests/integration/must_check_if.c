/*
 * must_check_if.c - with HT_MUST_CHECK in force (warn_unused_result), a
 * result is dropped on purpose by testing it; gcc ignores a (void) cast.
 */
#include "htable.h"

int must_check_tested(ht_as_t *as);

int
must_check_tested(ht_as_t *as)
{
	ht_va_t va = 0x1000;

	if (ht_unmap(as, va, 0x1000, 0) != 0) {
		/* nothing to undo: the page may have been gone already */
	}
	return (ht_translate(as, va, &(ht_xlate_t){ 0 }) != -HT_ENOTMAPPED);
}
