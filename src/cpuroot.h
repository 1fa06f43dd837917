/*
 * cpuroot.h - CPU roots (cpuroot.c): the copies of top-level entries
 * they hold, kept equal to their spaces', and the TLB hook, which names
 * the CPU roots that run a space.  The public calls are in hat_cpu.c.
 */
#ifndef HT_CPUROOT_H
#define HT_CPUROOT_H

#include "types.h"

/*
 * Entry e of hat's root changed (link_ptp, unlink_ptp): copy it into
 * every CPU root that copies it.  Takes hat_cpu_lock.
 */
void cpu_refresh(hat_t *hat, unsigned e);

/*
 * Join the lists of cr's kernel spaces and copy their entries into
 * cr's kernel halves; cpu_detach_kernel leaves them (zero: empty those
 * halves) and forgets them.  cr_lock held, or cr not yet published.
 */
void cpu_attach_kernel(cpu_root_t *cr);
void cpu_detach_kernel(cpu_root_t *cr, int zero);

/*
 * Make cr run hat (NULL: nothing) under pcid: leave the old space's
 * list, join hat's and copy its entries (an ordinary space's are not
 * copied: it runs on its own root, and cr's user half is emptied).
 * Returns 1 when the TLB entries cached under pcid are hat's and still
 * right (no flush needed), else 0.  cr_lock held.
 */
int cpu_run(cpu_root_t *cr, hat_t *hat, unsigned pcid);

/*
 * hat goes: no CPU root may go on copying it; then, with tlb, the hook
 * is called for all of hat, naming the CPU roots that ran it.  No lock
 * held.
 */
void cpu_detach_hat(hat_t *hat, int tlb);

/*
 * The audit's check (audit.c): every copy of hat's top-level entries in
 * a CPU root equals the entry, and in 32-bit paging none of them is a
 * 4 MiB page.  0 or -HT_ECORRUPT.  hat is quiet.
 */
int cpu_audit_copies(hat_t *hat);

/* Entry e of root `which` (CR_KERN, CR_USER) of cr. */
x86pte_t cpu_root_entry(const cpu_root_t *cr, int which, unsigned e);

/*
 * Call the TLB hook (config.tlb or config.tlb_info) for [va, va + len)
 * of hat; len HT_TLB_ALL: everything.  No library lock may be held.
 */
void cpu_tlb_call(hat_t *hat, uint64_t va, uint64_t len);

#endif /* HT_CPUROOT_H */
