/*
 * op_tables.c - the tables an operation holds (op.c has the frame): the
 * pins it keeps on tables its plan counted on, the tables freed during it
 * and deferred until its TLB hook has run, and the preallocated tables it
 * did not use; and op_end, which lets go of all three in that order.
 * It sits above htable.c (it releases and frees descriptors) and below
 * steal.c, which works on a victim inside an operation of its own.
 */
#include <stdlib.h>

#include "htable_int.h"
#include "op.h"
#include "debug.h"

void
op_give_back(htable_t *list, int all)
{
	htable_t *ht;

	while ((ht = list) != NULL) {
		int fresh = all || (ht->ht_flags & HTABLE_FRESH) != 0;

		list = ht->ht_next;
		ht->ht_flags &= (uint8_t)~HTABLE_FRESH;
		if (fresh)
			htable_free_now(ht);	/* never cached */
		else
			htable_retire_now(ht);
	}
}

int
op_pin(op_t *op, htable_t *ht)
{
	if (op->op_npinned == op->op_maxpinned) {
		unsigned n = op->op_maxpinned ? op->op_maxpinned * 2 : 64;
		htable_t **p = realloc(op->op_pinned, n * sizeof (*p));

		if (p == NULL) {
			htable_release(ht);
			return (ht__fail(HT_ENOMEM, "no memory to pin tables"));
		}
		op->op_pinned = p;
		op->op_maxpinned = n;
	}
	op->op_pinned[op->op_npinned++] = ht;
	return (0);
}

void
op_end(op_t *op)
{
	htable_t *ht;

	HT_VERIFY(op_cur() == op);
	/* Releases may free tables: still deferred, so before the hook. */
	while (op->op_npinned > 0)
		htable_release(op->op_pinned[--op->op_npinned]);
	free(op->op_pinned);
	op_unwind(op);
	/* Only now may the frames of unlinked tables be reused. */
	while ((ht = op->op_deferred) != NULL) {
		op->op_deferred = ht->ht_next;
		htable_retire_now(ht);
	}
	/*
	 * The plan reserves exactly what the operation creates, so frames
	 * are left over only when another thread made a table first (a split
	 * in the same large page).  They go back to the provider: a spare
	 * frame cached in the space would be lost to every other space.
	 */
	op_give_back(op->op_prealloc, 1);
	op->op_prealloc = NULL;
	op_close(op);
	/*
	 * The outermost operation's end holds no library lock: where the
	 * space's hash may grow (htable_hash_grow), if the tables the
	 * operation made call for it.
	 */
	if (op__depth == 0 && op->op_hat != NULL)
		htable_hash_check(op->op_hat);
}
