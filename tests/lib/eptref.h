/*
 * eptref.h - an independent reference model of Intel EPT (extended page
 * tables): the meaning of one EPT paging-structure entry, and a whole
 * guest-physical to host-physical walk with the VM exit it would cause.
 *
 * Theory of operation.  This file and eptref.c were written from the Intel
 * SDM, volume 3C, "The Extended Page Table Mechanism" (EPT translation, EPT
 * misconfigurations, EPT violations, accessed and dirty flags, memory
 * typing, mode-based execute control, the exit qualification of an EPT
 * violation) and the EPTP checks of VM entry.  They deliberately share no
 * code, header or constant with the library under test: a test that checks
 * the library's EPT support against this model is only worth something if
 * a misreading of the SDM in one cannot silently reappear in the other.
 * It links nothing but libc.
 *
 * The model has three layers, each usable alone:
 *  - eptref_classify(): one 64-bit entry at one level (0 = PTE, 1 = PDE,
 *    2 = PDPTE, 3 = PML4E, 4 = PML5E) is not present, misconfigured (with
 *    every reason that applies, as a mask), a link to the next table, or a
 *    leaf mapping a 4 KiB, 2 MiB or 1 GiB page;
 *  - eptref_walk(): the walk from an EPTP through a physical memory image
 *    (read through a caller's function), for one access, giving success,
 *    EPT violation (with exit-qualification bits 6:0 and the suppress-#VE
 *    bit that governs it) or EPT misconfiguration, every entry read, and
 *    the accessed/dirty bits the processor sets;
 *  - eptref_memtype(): the effective memory type of an access through a
 *    leaf (EPT type, ignore-PAT, guest PAT type, CR0.CD).
 *
 * What the processor is and how the VMCS is set is an eptref_cpu_t, so a
 * test can sweep MAXPHYADDR and each optional feature.
 *
 * Not modelled (treated as "ignored" bits or left to the caller), because
 * each needs a VM-execution control or EPTP bit that the model assumes off
 * and the library does not drive: supervisor shadow-stack pages (EPTP bit
 * 7, entry bit 60; an EPTP with bit 7 set is refused), sub-page write
 * permissions (bit 61), guest-paging verification and paging-write (bits
 * 57 and 58, HLAT), the page-modification log, #VE delivery itself (only
 * the suppress-#VE bit is reported), the implementation-specific read bit
 * of a read-modify-write, and exit-qualification bits 7 and up (they
 * describe the guest's linear access, which this model never sees).
 */
#ifndef HT_TEST_EPTREF_H
#define HT_TEST_EPTREF_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Bits of an EPT paging-structure entry, named here for the tests that
 * build images; the model itself spells out the SDM's bit numbers.
 */
#define	EPTREF_R	(1ull << 0)	/* data reads allowed */
#define	EPTREF_W	(1ull << 1)	/* data writes allowed */
#define	EPTREF_X	(1ull << 2)	/* fetches (MBEC: supervisor ones) */
#define	EPTREF_MT(t)	((uint64_t)(t) << 3)	/* leaf memory type, 5:3 */
#define	EPTREF_IPAT	(1ull << 6)	/* leaf: ignore the guest PAT type */
#define	EPTREF_PS	(1ull << 7)	/* PDE/PDPTE: maps a page */
#define	EPTREF_A	(1ull << 8)	/* accessed, when EPTP bit 6 is set */
#define	EPTREF_D	(1ull << 9)	/* leaf: dirty, with EPTP bit 6 set */
#define	EPTREF_XU	(1ull << 10)	/* MBEC: user-mode fetches allowed */
#define	EPTREF_SVE	(1ull << 63)	/* suppress #VE */

/* Memory types, as both EPT (bits 5:3) and PAT encode them. */
#define	EPTREF_MT_UC	0
#define	EPTREF_MT_WC	1
#define	EPTREF_MT_WT	4
#define	EPTREF_MT_WP	5
#define	EPTREF_MT_WB	6
#define	EPTREF_MT_UCM	7	/* UC-: a PAT type only; reserved in EPT */

/* EPTP fields. */
#define	EPTREF_EPTP_AD	(1ull << 6)	/* enable accessed and dirty flags */
#define	EPTREF_EPTP_MAKE(root, levels, ad, mt)				\
	(((uint64_t)(root) & ~0xfffull) |				\
	((uint64_t)((levels) - 1) << 3) |				\
	((ad) ? EPTREF_EPTP_AD : 0) | (uint64_t)(mt))

/* Exit-qualification bits of an EPT violation that the model produces. */
#define	EPTREF_Q_READ	(1ull << 0)	/* the access was a data read */
#define	EPTREF_Q_WRITE	(1ull << 1)	/* ... a data write */
#define	EPTREF_Q_FETCH	(1ull << 2)	/* ... an instruction fetch */
#define	EPTREF_Q_R	(1ull << 3)	/* AND of bit 0 along the walk */
#define	EPTREF_Q_W	(1ull << 4)	/* AND of bit 1 */
#define	EPTREF_Q_X	(1ull << 5)	/* AND of bit 2 (supervisor, MBEC) */
#define	EPTREF_Q_XU	(1ull << 6)	/* MBEC: AND of bit 10; else 0 */

/*
 * The processor and the VMCS settings that change what an entry means.
 * The IA32_VMX_EPT_VPID_CAP bit each flag stands for is noted.
 */
typedef struct eptref_cpu {
	unsigned	maxphyaddr;	/* CPUID 80000008H EAX[7:0]: 36..52 */
	bool		xonly;		/* bit 0: execute-only allowed */
	bool		walk5;		/* bit 7: page-walk length 5 allowed */
	bool		page_2m;	/* bit 16: PDE bit 7 may be 1 */
	bool		page_1g;	/* bit 17: PDPTE bit 7 may be 1 */
	bool		ad;		/* bit 21: EPTP bit 6 may be 1 */
	/* the "mode-based execute control for EPT" VM-execution control */
	bool		mbec;
} eptref_cpu_t;

typedef enum eptref_kind {
	EPTREF_NOTPRESENT,
	EPTREF_MISCONFIG,	/* present, with an unsupported value */
	EPTREF_LINK,		/* references the next EPT paging structure */
	EPTREF_LEAF		/* maps a page */
} eptref_kind_t;

/* Why an entry is misconfigured: a mask, every reason that applies. */
#define	EPTREF_MC_WNOR		0x001	/* bit 1 set, bit 0 clear */
#define	EPTREF_MC_XONLY		0x002	/* bit 2 set, bit 0 clear, no xonly */
#define	EPTREF_MC_XUONLY	0x004	/* MBEC: bit 10 set, bit 0 clear, */
					/* no xonly */
#define	EPTREF_MC_ADDR		0x008	/* a bit of 51:MAXPHYADDR set */
#define	EPTREF_MC_RSVD		0x010	/* non-leaf: a bit of 6:3 set */
#define	EPTREF_MC_PS_TOP	0x020	/* PML4E/PML5E: bit 7 set */
#define	EPTREF_MC_PS_UNSUP	0x040	/* PDE/PDPTE bit 7: size unsupported */
#define	EPTREF_MC_LARGE_ADDR	0x080	/* 2 MiB leaf 20:12, 1 GiB 29:12 set */
#define	EPTREF_MC_MEMTYPE	0x100	/* leaf memory type 2, 3 or 7 */

/*
 * One entry decoded.  For a misconfigured entry the fields below `mc` are
 * still filled as far as they can be (what it would have been), so a test
 * can print it; only `kind` and `mc` are the verdict.
 */
typedef struct eptref_entry {
	eptref_kind_t	kind;
	unsigned	mc;		/* EPTREF_MC_*, for EPTREF_MISCONFIG */
	int		level;
	bool		leaf;		/* maps a page (or would, if valid) */
	uint64_t	addr;		/* next table, or page base */
	uint64_t	size;		/* page size of a leaf, else 0 */
	bool		r, w, x;	/* bits 0, 1, 2 (x: supervisor, MBEC) */
	bool		xu;		/* MBEC: bit 10; false without MBEC */
	unsigned	memtype;	/* leaf: bits 5:3 */
	bool		ipat;		/* leaf: bit 6 */
	bool		a;		/* bit 8 (meaningful with EPTP A/D) */
	bool		d;		/* leaf: bit 9 (likewise) */
	/* bit 63: for a not-present entry and a leaf (ignored elsewhere) */
	bool		sve;
} eptref_entry_t;

void eptref_classify(const eptref_cpu_t *cpu, int level, uint64_t e,
    eptref_entry_t *out);

/* Why an EPTP would fail the VM-entry checks: a mask. */
#define	EPTREF_EPTP_BAD_MT	0x1	/* bits 2:0 neither UC (0) nor WB (6) */
#define	EPTREF_EPTP_BAD_PWL	0x2	/* bits 5:3 not a supported length-1 */
#define	EPTREF_EPTP_BAD_AD	0x4	/* bit 6 without A/D support */
#define	EPTREF_EPTP_BAD_RSVD	0x8	/* bits 11:7 or 63:MAXPHYADDR set */

unsigned eptref_eptp_check(const eptref_cpu_t *cpu, uint64_t eptp);

/* The kinds of access a walk is asked for. */
typedef enum eptref_access {
	EPTREF_ACC_READ,	/* data read */
	EPTREF_ACC_WRITE,	/* data write, incl. guest A/D updates */
	EPTREF_ACC_FETCH,	/* instruction fetch */
	/*
	 * The processor reading a guest paging-structure entry during a
	 * guest linear walk: a read, but treated as a write when EPTP bit 6
	 * enables A/D (it needs W, sets D, and reports both bits 0 and 1).
	 */
	EPTREF_ACC_GUEST_PT,
	/* a PAE PDPTE load by MOV to CR: always a read, never dirties */
	EPTREF_ACC_PDPTE_LOAD
} eptref_access_t;

typedef enum eptref_outcome {
	EPTREF_OK,
	EPTREF_VIOLATION,
	EPTREF_MISCONF,
	/* no walk at all: */
	EPTREF_BAD_EPTP,	/* VM entry would have failed */
	EPTREF_BAD_GPA,		/* a GPA bit >= MAXPHYADDR: see eptref.c */
	EPTREF_READ_FAIL	/* the read function failed */
} eptref_outcome_t;

#define	EPTREF_MAXLEVELS	5

typedef struct eptref_step {
	int		level;
	uint64_t	addr;		/* host-physical address of the entry */
	uint64_t	val;		/* what was read */
} eptref_step_t;

typedef struct eptref_walk {
	eptref_outcome_t outcome;
	unsigned	eptp_bad;	/* EPTREF_EPTP_BAD_*, for BAD_EPTP */
	uint64_t	gpa;		/* the GPA bits the walk used */
	/* EPTREF_OK: */
	uint64_t	hpa;
	uint64_t	page_size;
	/* EPTREF_OK, and a violation that reached the leaf: */
	bool		reached_leaf;
	eptref_entry_t	leaf;
	/* EPTREF_VIOLATION: */
	uint64_t	qual;		/* exit qualification, bits 6:0 */
	bool		sve;		/* suppress-#VE of the deciding entry */
	/* EPTREF_VIOLATION at a not-present entry, and EPTREF_MISCONF: */
	int		stop_level;
	unsigned	mc;		/* EPTREF_MISCONF: EPTREF_MC_* */
	/* every entry read, root first */
	int		nsteps;
	eptref_step_t	steps[EPTREF_MAXLEVELS];
	/*
	 * EPTREF_OK with EPTP A/D enabled: the bits (EPTREF_A, EPTREF_D)
	 * the processor sets in steps[i]; all 0 otherwise.  After a
	 * violation or misconfiguration the model claims nothing (see
	 * eptref.c), so a test must not check A/D then.
	 */
	uint64_t	set[EPTREF_MAXLEVELS];
} eptref_walk_t;

/* Read the 8-byte entry at host-physical pa; 0 on success. */
typedef int (*eptref_read_fn)(void *arg, uint64_t pa, uint64_t *val);

/*
 * Translate gpa for one access.  `user` says, for an instruction fetch
 * under MBEC, that the linear address is a user-mode one (the guest
 * paging decides that; the caller passes it); otherwise it is unused.
 * Returns out->outcome.  Nothing is written back to the image.
 */
eptref_outcome_t eptref_walk(const eptref_cpu_t *cpu, uint64_t eptp,
    eptref_read_fn rd, void *arg, uint64_t gpa, eptref_access_t acc,
    bool user, eptref_walk_t *out);

/*
 * The effective memory type of an access through a leaf with EPT memory
 * type `ept_mt` and ignore-PAT `ipat`, when the guest's paging selected
 * PAT type `pat_mt` (WB when guest CR0.PG is 0) and CR0.CD is `cd`.
 */
unsigned eptref_memtype(unsigned ept_mt, bool ipat, unsigned pat_mt,
    bool cd);

/*
 * The memory type of the processor's own accesses to the EPT paging
 * structures: EPTP bits 2:0, or UC when CR0.CD is set.
 */
unsigned eptref_pt_memtype(uint64_t eptp, bool cd);

#endif /* HT_TEST_EPTREF_H */
