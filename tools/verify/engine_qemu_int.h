/*
 * engine_qemu_int.h - what the two files of the QEMU engine share:
 * engine_qemu.c (a run: the RAM file, the ROM, the bootstrap tables,
 * the batches, QEMU itself) and engine_qemu_svm.c (nested paging and
 * guest jobs: the SVM host's area and the meaning of its exits).  Not
 * for the rest of the verification library: engine.h is the interface.
 */
#ifndef HTABLE_ENGINE_QEMU_INT_H
#define HTABLE_ENGINE_QEMU_INT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "engine_qemu.h"
#include "engine_util.h"

#define	QEMU_BIN	"qemu-system-x86_64"
#define	ROM_SIZE	0x10000
#define	PAGE		4096ull
#define	CHUNK		(1u << 20)	/* bytes per write of the RAM file */
#define	QPROBES_MAX	((QA_TABLES - QA_PROBES - 64) / \
			    (QA_PROBE_SIZE + QR_SIZE))
#define	NIPS_MAX	14

/* Entry bits of the bootstrap tables. */
#define	PTE_P		0x001ull
#define	PTE_RW		0x002ull
#define	PTE_US		0x004ull
#define	PTE_A		0x020ull
#define	PTE_D		0x040ull
#define	PTE_PS		0x080ull

/* Control-register bits the parameter block (and the VMCB) carries. */
#define	CR0_PE		0x00000001ull
#define	CR0_ET		0x00000010ull
#define	CR0_NE		0x00000020ull
#define	CR0_WP		0x00010000ull
#define	CR0_PG		0x80000000ull
#define	CR4_PSE		0x00000010ull
#define	CR4_PAE		0x00000020ull
#define	CR4_LA57	0x00001000ull
#define	CR4_SMEP	0x00100000ull
#define	CR4_SMAP	0x00200000ull
#define	CR4_PKE		0x00400000ull
#define	EFER_LME	0x00000100ull
#define	EFER_LMA	0x00000400ull
#define	EFER_NXE	0x00000800ull
#define	EFER_SVME	0x00001000ull
#define	EFL_AC		0x00040000ull
#define	EFL_RSVD	0x00000002ull

/* VMCB: intercepts (VMCB_ICPT), segment attributes, the guest's PAT. */
#define	ICPT_HLT	(1ull << 24)
#define	ICPT_SHUTDOWN	(1ull << 31)
#define	ICPT_VMRUN	(1ull << 32)
#define	ICPT_VMMCALL	(1ull << 33)
#define	SEG_CODE64	0x0a9b		/* P, S, code RX accessed, L, G */
#define	SEG_CODE32	0x0c9b		/* P, S, code RX accessed, D, G */
#define	SEG_DATA	0x0c93		/* P, S, data RW accessed, D/B, G */
#define	PAT_DEFAULT	0x0007040600070406ull

/* The guest blob's header (engine_qemu_guest.S, at its first byte). */
typedef struct qg_header {
	uint32_t	magic;
	uint32_t	entry32;
	uint32_t	exc32, back32;
	uint32_t	exc64, back64;
	uint32_t	user32, user64;
	uint32_t	nips;
	uint32_t	ips[NIPS_MAX];	/* 8 of 32-bit code, then 6 of 64 */
	uint32_t	gstub[4];	/* a guest job's stubs, by GS_* */
	uint32_t	gips[4][4];	/* their accesses: read (2), write,
					   fetch */
} qg_header_t;

/* A guest job's stub sets (qg_header_t.gstub): 64-bit code or 32. */
#define	GS_K64		0
#define	GS_U64		1
#define	GS_K32		2
#define	GS_U32		3

extern const uint8_t engine_qemu_rom[];
extern const uint8_t engine_qemu_guest[];
extern const uint8_t engine_qemu_guest_end[];

/* One run's state. */
typedef struct qctx {
	engine_job_t	*job;
	qg_header_t	hdr;
	int		is_long;	/* 4- or 5-level, or nested */
	int		nested;		/* npt4 or npt5: an SVM host */
	unsigned	levels, pte_size;
	uint8_t		*area;		/* QA_END bytes, the area's image */
	uint64_t	next_table;	/* area offset of the next free table */
	uint64_t	link;		/* what the slot entry gets */
	unsigned	ukey;		/* protection key of the user pages */
	unsigned	pa_bits;	/* MAXPHYADDR the guest CPU gets */
	/* A guest job (job->guest): L2 on the image's guest tables. */
	int		guest;
	int		glong;		/* 4- or 5-level guest paging */
	unsigned	gpte_size;	/* 4 (32-bit paging) or 8 */
	uint64_t	glink;		/* what the guest slot entry gets */
	uint64_t	lbase;		/* L2's linear address of the area */
	char		dir[PATH_MAX / 2];	/* room for "/ram" after it */
	char		ram[PATH_MAX], rom[PATH_MAX], log[PATH_MAX];
	char		qemu[PATH_MAX];
	char		version[32];
} qctx_t;

/* engine_qemu.c */

/*
 * Map va to pa (4 KiB, flags) in the bootstrap tables of the job's mode;
 * 0, or -1 with the note set.  Errors: -1.
 */
int qmap_page(qctx_t *c, uint64_t va, uint64_t pa, uint64_t flags);
/* The link the image's slot entry gets.  Errors: none. */
uint64_t qslot_link(const qctx_t *c);
/*
 * L1's identity map of the area, `levels` deep, tables from *next.
 * Errors: none.
 */
void ql1_map(qctx_t *c, unsigned levels, uint64_t pa, uint64_t *next);

/* engine_qemu_svm.c: each with its contract there */
int qbuild_nested(qctx_t *c);
int qbatch_results_nested(qctx_t *c, size_t first, size_t n,
    uint64_t results);
int qbatch_results_guest(qctx_t *c, size_t first, size_t n,
    uint64_t results);
int qcheck_guest(qctx_t *c);
uint64_t qhost_hpa(const qctx_t *c, uint64_t gpa);

#endif
