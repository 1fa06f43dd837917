/*
 * nommu.h - the no-MMU state of a space (HT_AS_NOMMU): the write lock
 * that each call changing a no-MMU space holds, so that it may write
 * entries with plain stores (nommu.c has the theory).
 *
 *	nm_hold_t nh;
 *	nm_enter(hat, &nh);
 *	err = ... the call's work ...;
 *	nm_exit(&nh);
 */
#ifndef HT_NOMMU_H
#define HT_NOMMU_H

#include "op.h"

typedef struct nm_hold {
	hat_t	*nh_hat;	/* the space whose lock we took, or NULL */
	hat_t	*nh_prev;	/* op__nm before (a call nested in another's
				   callback) */
	int	nh_locked;	/* hat_nm_lock taken (not in a serial space,
				   HAT_SERIAL, whose caller is the lock) */
} nm_hold_t;

void nm_enter_slow(hat_t *hat, nm_hold_t *h);
void nm_exit_slow(nm_hold_t *h);

/*
 * A call that changes hat's entries begins: if hat has no MMU, take its
 * write lock (not when this thread holds it already: a callback of our
 * own call).  A live space pays one relaxed load and a branch.
 */
static inline void
nm_enter(hat_t *hat, nm_hold_t *h)
{
	h->nh_hat = NULL;
	if (HT_UNLIKELY(atomic_load_explicit(&hat->hat_flags,
	    memory_order_relaxed) & HAT_NOMMU))
		nm_enter_slow(hat, h);
}

/* The call ends: give back what nm_enter took. */
static inline void
nm_exit(nm_hold_t *h)
{
	if (HT_UNLIKELY(h->nh_hat != NULL))
		nm_exit_slow(h);
}

/*
 * ht_as_set_mmu(hat, live) (hat not NULL): 0, or -HT_EBUSY (see the
 * header).  ht_switch and ht_cpu_root_create turn their spaces live
 * with it.
 */
int nm_set_mmu(hat_t *hat, int live);

#endif /* HT_NOMMU_H */
