/*
 * nommu.c - spaces that no MMU walks yet (HT_AS_NOMMU): tables built
 * before the first CR3 load, an image being prepared.
 *
 * Why atomics at all: in a live space an MMU may set the Accessed and
 * Dirty bits of any valid entry at any moment, so every change of one is
 * a locked read-modify-write (x86pte.c, the bulk loops of iter.h), which
 * also settles two library writers racing for one entry (exactly one
 * sees each old value, so counts stay exact).  With no MMU, only the
 * second reason is left, and a lock settles it more cheaply: one lock
 * pair per call instead of one `lock cmpxchg` per entry.
 *
 * Invariants:
 *  1. While HAT_NOMMU is set, every call that changes the space's leaves
 *     (map, unmap, protect, chattr, lock, unlock, set_np, harvest with
 *     a flag, page_unload) holds hat_nm_lock for its whole length
 *     (nm_enter / nm_exit at the public entry points), and records it in
 *     the thread-local op__nm.  Only such a thread writes plainly
 *     (nm_plain, op.h): x86pte_set/inval/update, iter_cas, the bulk loop
 *     pte_range_update.  Everyone else who writes the space's entries
 *     uses atomics as in a live space: a stealer (it holds the only hold
 *     on its victim table, so no writer is inside it), ht_share and
 *     ht_unshare (their regions refuse every other writer), and links
 *     (link_ptp / unlink_ptp, a CAS: rare, and lock-free readers
 *     descend through them).  So no plain store ever races with another
 *     write of the same entry.
 *  2. Plain stores are C11 release stores (a `mov` on x86): lock-free
 *     readers (ht_translate, ht_va2pa, ht_walk) never see a torn entry,
 *     and the seqlock argument of design.md ("every non-zero entry is
 *     written by a release store or a CAS") still holds.
 *  3. No TLB hook is called for a no-MMU space (op_tlb_inval, share
 *     forwarding, destroy): nothing was ever cached.  op_tlb_inval reads
 *     the flag after the entry was written, so a space turned live in
 *     between was turned after the write, and no MMU loaded it before.
 *  4. A live space never shows a no-MMU space's tables: a region whose
 *     sharer is live and source is not is refused when made
 *     (share_insert), and the flag flips that would make one are
 *     refused (share_set_mmu); both under ctx_share_lock.
 *  5. A space that a CPU root runs or copies is live: ht_switch and
 *     ht_cpu_root_create turn their spaces live first, and turning back
 *     is refused while a CPU root uses the space.
 *
 * States and transitions: created or imported no-MMU (HT_AS_NOMMU) or
 * live; live -> no-MMU and back by ht_as_set_mmu (nm_set_mmu), and
 * no-MMU -> live by ht_switch / ht_cpu_root_create.  Turning live takes
 * hat_nm_lock, so it waits for the call in flight (whose plain stores
 * the lock's release then publishes), flips the flag with a
 * sequentially consistent RMW (a release) and drops the lock.  A call
 * that read the flag before the flip and waits for the lock sees the
 * flag again once it has the lock and goes on as a live call, unlocked.
 * Turning back is the caller's promise, as for ht_as_destroy, that no
 * MMU uses the tables and no other call changes the space meanwhile: a
 * live call already in flight writes with atomics and takes no lock, so
 * nothing here could wait for it, and making every live call count
 * itself would cost the live fast path a locked instruction.
 *
 * A serial space (HT_AS_SERIAL) skips hat_nm_lock: its caller already
 * makes the calls one at a time, which is all the lock is for; the
 * thread still records itself in op__nm, so nm_plain says the same.
 * Turning it live is one of those calls (the header says so of
 * ht_switch and ht_as_set_mmu there), so no plain store is in flight
 * when the flag flips.
 *
 * Lock order: hat_nm_lock is outermost: taken at a public entry point
 * with no library lock held, before anything else.  It stays held while
 * the provider and the TLB hook (of other spaces) run, as a caller's
 * own lock around the call would (illumos's segment locks), so it is
 * not in the debug lock record (lock.h); a callback that re-enters the
 * library for the same space on the same thread finds it held (op__nm)
 * and goes on; one that waits for another thread changing the space
 * deadlocks, as with any caller lock.  A call nested in another space's
 * callback may take a second space's lock (nh_prev restores op__nm).
 */
#include "nommu.h"
#include "share.h"
#include "lock.h"
#include "debug.h"

void
nm_enter_slow(hat_t *hat, nm_hold_t *h)
{
	if (op__nm == hat)
		return;		/* a callback of this thread's own call */
	if (atomic_load(&hat->hat_flags) & HAT_SERIAL) {
		/* the caller serializes the calls: it is the lock */
		h->nh_hat = hat;
		h->nh_prev = op__nm;
		h->nh_locked = 0;
		op__nm = hat;
		return;
	}
	(void) pthread_mutex_lock(&hat->hat_nm_lock);
	if (!(atomic_load(&hat->hat_flags) & HAT_NOMMU)) {
		/* turned live while we waited: an ordinary live call */
		(void) pthread_mutex_unlock(&hat->hat_nm_lock);
		return;
	}
	h->nh_hat = hat;
	h->nh_prev = op__nm;
	h->nh_locked = 1;
	op__nm = hat;
}

void
nm_exit_slow(nm_hold_t *h)
{
	HT_VERIFY(op__nm == h->nh_hat);
	op__nm = h->nh_prev;
	if (h->nh_locked)
		(void) pthread_mutex_unlock(&h->nh_hat->hat_nm_lock);
}

int
nm_set_mmu(hat_t *hat, int live)
{
	int err = 0;

	live = live != 0;
	if ((!(atomic_load(&hat->hat_flags) & HAT_NOMMU)) == live)
		return (0);	/* already so */
	if (op__nm == hat)
		return (ht__fail(HT_EBUSY, "called from inside a call that "
		    "changes this space (a callback of it): it would wait "
		    "for itself"));
	(void) pthread_mutex_lock(&hat->hat_nm_lock);
	if (!live) {
		int used;

		mutex_enter(&hat->hat_cpu_lock, LR_CPU);
		used = hat->hat_cpus != NULL || hat->hat_kcpus != NULL ||
		    hat->hat_ukcpus != NULL;
		mutex_exit(&hat->hat_cpu_lock);
		if (used)
			err = ht__fail(HT_EBUSY, "a CPU root runs the space "
			    "or copies it as its kernel half: an MMU walks "
			    "its tables");
	}
	if (err == 0)
		err = share_set_mmu(hat, live);
	/*
	 * Going live: the flip is an RMW (sequentially consistent) and the
	 * unlock a release, after every plain store of the calls that held
	 * the lock before us; a CPU that loads CR3 after this returns sees
	 * them all.
	 */
	(void) pthread_mutex_unlock(&hat->hat_nm_lock);
	return (err);
}

int
ht_as_set_mmu(ht_as_t *as, int live)
{
	if (as == NULL)
		return (ht__fail(HT_EINVAL, "NULL address space"));
	return (nm_set_mmu(as, live));
}

int
ht_as_mmu(const ht_as_t *as)
{
	return (!(atomic_load(&as->hat_flags) & HAT_NOMMU));
}
