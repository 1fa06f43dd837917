/*
 * reader.h - what the reader of foreign images shares inside itself
 * (scan.c, access.c, fwalk.c): reading an entry through the caller's read
 * function, and the one walk of one address.  Nothing here knows a
 * descriptor, a hash or a frame of ours: only the geometry (mmu.h).
 */
#ifndef HT_READER_H
#define HT_READER_H

#include "htable.h"
#include "mmu.h"

/* The address bits QEMU's walker takes from a 4/5-level or PAE entry. */
#define QEMU_ADDR_MASK		0x3fffffffff000ull

/*
 * Read len bytes at pa through cfg->read.  0, 1 if some were unbacked
 * (read as zeros), or the read function's negative code.  A positive
 * value other than 1 is a misbehaving reader: with `strict` it is
 * -HT_EPROVIDER, without it (ht_scan_access's documented contract) it is
 * taken as 0.
 */
int rd_read(const ht_scan_cfg_t *cfg, int strict, ht_pa_t pa, void *buf,
    size_t len);

/*
 * Check cfg as every reader entry point does (a read function, known
 * flags, HT_SCAN_QEMU outside EPT and HT_SCAN_EPT_* inside it, the
 * EPTP's walk length, pa_bits) and set up *m for its mode.  0 or
 * -HT_EINVAL.
 */
int rd_setup(const ht_scan_cfg_t *cfg, mmu_t *m);

/*
 * The root table's physical address from cfg->cr3 as the CPU holds it
 * (HT_SCAN_QEMU: QEMU's address mask), in the mode *m was set up for.
 */
ht_pa_t rd_root(const mmu_t *m, const ht_scan_cfg_t *cfg);

/*
 * How an entry at `level` reads: 0 not present, 1 a link (*r_next the
 * table it names), 2 a leaf, -1 reserved bits (a fault).  With `qemu`, as
 * QEMU's TCG walker reads it (HT_SCAN_QEMU: no reserved-bit faults, PS
 * only where QEMU looks at it, its address mask).
 */
int rd_classify(const mmu_t *m, int qemu, uint64_t pte, int level,
    ht_pa_t *r_next);

/* Where a walk of one address stopped, and what it found there. */
typedef struct rd_walk {
	ht_scan_stop_t	stop;	/* NOTPRESENT, RESERVED or MAPPED */
	int		level;	/* of the entry it stopped at */
	uint64_t	pte;	/* that entry */
	unsigned	eff;	/* HT_W/U/X down to it (MAPPED) */
} rd_walk_t;

/*
 * Walk va (already checked canonical) down from the table at `root`, one
 * entry per level, as the MMU does: each entry read is recorded in
 * steps[*r_nsteps++] (root first); the walk stops at an entry that is not
 * present, has reserved bits (rd_classify) or is a leaf.  0 with *r
 * filled, or rd_read's error.  ht_scan_translate and ht_scan_access (and
 * through it ht_access) are this walk and what they make of its end.
 */
int rd_walk(const mmu_t *m, const ht_scan_cfg_t *cfg, int strict, int qemu,
    ht_pa_t root, ht_va_t va, ht_scan_step_t *steps, unsigned *r_nsteps,
    rd_walk_t *r);

/*
 * The EPT flags an EPT image's EPTP (cfg->cr3) gives: HT_EPT_AD from bit
 * 6.  0 or -HT_EINVAL if bits 5:3 are neither 0 nor the walk length of
 * cfg->mode less one.  Outside EPT: 0, *r_ept 0.
 */
int rd_eptp(const ht_scan_cfg_t *cfg, unsigned *r_ept);

/*
 * ht_scan_access, and when the access completes, in *r_rights (may be
 * NULL) every access the same leaf allows: bit acc for acc at CPL 0-2,
 * bit acc + 3 at CPL 3 (HT_STLB_BIT's layout), for a soft TLB's entry.
 */
int rd_access(const ht_scan_cfg_t *cfg, const ht_cpu_t *cpu, ht_va_t va,
    unsigned acc, unsigned cpl, ht_access_t *r, unsigned *r_rights);
/*
 * rd_access, and in *r_eff (may be NULL) the leaf's effective rights
 * (HT_W/U/X, HT_NOREAD) when the walk reached one, else 0: nested
 * translation asks whether the guest's page is a user one.
 */
int rd_access_eff(const ht_scan_cfg_t *cfg, const ht_cpu_t *cpu,
    ht_va_t va, unsigned acc, unsigned cpl, ht_access_t *r,
    unsigned *r_rights, unsigned *r_eff);

#endif /* HT_READER_H */
