/*
 * engine.h - the interface of an engine: something that runs probes
 * through an image's page tables on a real MMU implementation, for the
 * verification library (verify.h).  KVM (engine_kvm.c, /dev/kvm,
 * 4-level paging only on these machines), QEMU's TCG (engine_qemu.c,
 * the x86 modes, and nested paging through its SVM) and Bochs
 * (engine_bochs.c: EPT through its VMX, nested paging through its SVM)
 * are the engines today; another is one more file that
 * defines an engine_ops_t and one line in engine_list (engine.c).  The
 * library predicts each outcome with ht_scan_access() and compares; an
 * engine only runs and reports, it never predicts.
 *
 * Guest physical memory during a run:
 *  - [0, ram_size) is RAM.  Every 4 KiB page of it that is data in the
 *    image (image_is_data) is loaded from the image verbatim: those are
 *    the page tables.  Every other page is filled with markers: the
 *    8-byte word at physical address p holds MARKER(p), so a read that
 *    succeeds tells which PA it hit, and a fetch executes a `ret` (0xc3,
 *    the low byte of every marker) and comes straight back.
 *  - [guest_pa, guest_pa + GUEST_AREA) belongs to the engine: its code,
 *    stacks, GDT/IDT/TSS, its own page tables.  The caller chooses it
 *    inside RAM, below 4 GiB, where no table frame and no leaf of the
 *    image lies, so no probe can touch it.
 *  - The engine reaches its own pages through one borrowed entry: the
 *    entry at physical address slot_pa, in a table of level slot_level
 *    (>= 1; the root where the image leaves a root entry empty), which
 *    the image leaves not present and which maps [slot_va, slot_va +
 *    slot_size) (canonical).  The engine writes a link there to its own
 *    tables, and no probe VA lies in that range.  mem_after shows the
 *    entry restored to its value in the image (zero).
 *
 * Probes run in order.  A write probe is a locked OR of 0 into the byte
 * at va (a write access for the MMU that changes no data); a read loads
 * the 8 bytes at va; a fetch calls va, at the CPL of the probe.  TLBs are
 * flushed before each probe (the tables do not change, but a probe must
 * not be answered by a translation cached from an earlier one: CR3 reload
 * or INVLPG).
 */
#ifndef HTABLE_ENGINE_H
#define HTABLE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "htable.h"
#include "image.h"

#define GUEST_AREA	(2ull << 20)	/* bytes the engine may use */

/* The marker of the 8-byte word at physical address p (p % 8 == 0). */
#define MARKER(p)	(0xc3ull | (((uint64_t)(p) >> 3) << 8))
/* The physical address a marker names, or ~0 if v is no marker. */
#define MARKER_PA(v)	((uint64_t)(((v) & 0xff) == 0xc3 ? ((v) >> 8) << 3 : ~0ull))

typedef enum probe_op {
	PROBE_READ = HT_ACC_READ,
	PROBE_WRITE = HT_ACC_WRITE,
	PROBE_FETCH = HT_ACC_FETCH
} probe_op_t;

typedef struct probe {
	uint64_t	va;		/* 8-byte aligned */
	probe_op_t	op;
	unsigned	cpl;		/* 0 or 3 */
} probe_t;

typedef enum probe_outcome {
	PROBE_OK = 0,		/* the access completed */
	PROBE_PF,		/* page fault: error_code, cr2 */
	PROBE_GP,		/* general protection (a non-canonical VA) */
	PROBE_OTHER,		/* any other exception: vector */
	PROBE_NOTRUN,		/* the engine could not run it (why in note) */
	/*
	 * Nested modes (the image's tables are second-level ones, va is a
	 * guest-physical address): the nested guest's access made the VM
	 * exit.  cr2 is the guest-physical address the exit reports
	 * (EXITINFO2, or the VMCS's guest-physical address field), qual the
	 * whole EXITINFO1 or exit qualification.
	 */
	PROBE_NPF,		/* #VMEXIT(NPF): error_code EXITINFO1's
				   low 32 bits (HT_PF_*) */
	PROBE_EPT_VIOLATION,	/* error_code the qualification's low 32
				   bits (HT_EPTQ_*, with GLA and FINAL) */
	PROBE_EPT_MISCONFIG	/* error_code 0 */
} probe_outcome_t;

typedef struct probe_result {
	probe_outcome_t	outcome;
	unsigned	vector;		/* PROBE_OTHER: the vector, or in a
					   nested mode the exit reason/code */
	uint32_t	error_code;
	uint64_t	cr2;
	uint64_t	value;		/* PROBE_OK read: the 8 bytes read */
	uint64_t	qual;		/* nested exits: see above */
} probe_result_t;

typedef struct engine_job {
	ht_mode_t	mode;
	uint64_t	cr3;		/* the root of the tables under test */
	const image_t	*img;
	const ht_cpu_t	*cpu;		/* WP, NXE, SMEP, SMAP, PKE, PKRU */
	uint64_t	ram_size;	/* a multiple of 2 MiB */
	uint64_t	guest_pa;	/* GUEST_AREA-aligned, below 4 GiB */
	uint64_t	slot_pa;	/* the borrowed entry */
	int		slot_level;
	uint64_t	slot_va;
	uint64_t	slot_size;
	/*
	 * A guest job (verify_opts_t.guest; nested modes only): the nested
	 * guest runs on the image's own guest tables (guest_mode, guest_cr3
	 * guest-physical) at the probes' CPL, on a CPU that is gcpu (CR0.WP,
	 * CR4.SMEP/SMAP/PKE, EFER.NXE, PKRU; cpu above is then the host
	 * side's), and each probe's va is a linear address of that guest.
	 * The engine reaches its own code in the guest's linear space
	 * through a second borrowed entry: the guest entry at guest-physical
	 * gslot_gpa (host-physical gslot_pa), of level gslot_level, empty in
	 * the image, mapping [gslot_va, gslot_va + gslot_size), where no
	 * probe lies; the engine links its own guest-format tables there
	 * (at guest-physical addresses in [slot_va, slot_va + slot_size),
	 * which no guest walk touches) and mem_after shows the entry
	 * restored.  Outcomes: the guest's own #PF (PROBE_PF, cr2 the linear
	 * address) or #GP, and the exits of nested paging, during the
	 * guest's walk or for the final address (cr2 the guest-physical
	 * address; qual tells which).
	 */
	int		guest;
	ht_mode_t	guest_mode;
	uint64_t	guest_cr3;
	const ht_cpu_t	*gcpu;
	uint64_t	gslot_pa, gslot_gpa;
	int		gslot_level;
	uint64_t	gslot_va;
	uint64_t	gslot_size;
	const probe_t	*probes;
	size_t		nprobes;
	/* out */
	probe_result_t	*results;	/* nprobes of them, caller's */
	uint8_t		*mem_after;	/* RAM [0, img->size) after the run
					   (A/D bits; engine_mem_after), or
					   NULL */
	char		engine[96];	/* what ran, e.g. "kvm (kvm_pvm)" */
	char		note[256];	/* why it could not run / quirks seen */
} engine_job_t;

/* What an engine returns. */
#define ENGINE_OK	0
#define ENGINE_ABSENT	1	/* not on this machine: skip (note says) */
#define ENGINE_CANNOT	2	/* present, but cannot run this job (note) */
#define ENGINE_FAILED	(-1)	/* broke down (note says how) */

/*
 * Run every probe of job through the MMU the engine drives; fill
 * job->results, job->mem_after, job->engine, job->note.  Never prints.
 * Returns ENGINE_OK, or ENGINE_ABSENT, ENGINE_CANNOT or ENGINE_FAILED
 * with the reason in job->note.  These two are the engines' run
 * functions, public for the hardware tests, which drive them directly.
 * Errors: ENGINE_ABSENT, ENGINE_CANNOT, ENGINE_FAILED.
 */
int engine_kvm(engine_job_t *job);

/*
 * A job's mem_after, RAM not yet in it: img->size bytes, rounded up to
 * whole pages, of zeros holding, at and above from, the image's data as
 * it was (the guest saw no RAM there).  The engine then puts RAM
 * [0, from) in.  The memory is mapped, not malloc'd: its untouched pages
 * cost nothing, which matters for an image of 4 GiB that is mostly hole
 * (a dump with the ROM below 4 GiB), and calloc is no promise of that (a
 * MALLOC_PERTURB_ glibc clears every byte).  Free it with
 * engine_mem_free.  NULL when out of memory.
 */
uint8_t *engine_mem_after(const engine_job_t *job, uint64_t from);
void engine_mem_free(const engine_job_t *job, uint8_t *m);

int engine_qemu(engine_job_t *job);
int engine_bochs(engine_job_t *job);

/*
 * An engine as the library sees it.
 *  name:  its word for --engine and in messages ("kvm", "qemu").
 *  modes: bit m set: an automatic choice may give it mode m (ht_mode_t).
 *  run:   the function above.
 *  cpu:   the CPU the prediction must assume when the user asked for
 *         *asked on an image of geometry g: what the engine really is
 *         (e.g. no 1 GiB pages, a narrower MAXPHYADDR).
 *  quirk: optional; for a probe whose outcome got differs from the
 *         prediction want, the engine's known deviation from the SDM
 *         that explains it, in words for the user, or NULL.
 */
typedef struct engine_ops {
	const char	*name;
	unsigned	modes;
	int		(*run)(engine_job_t *job);
	void		(*cpu)(const ht_geometry_t *g, const ht_cpu_t *asked,
			    ht_cpu_t *r_cpu);
	const char	*(*quirk)(const probe_t *p, const ht_access_t *want,
			    const probe_result_t *got);
} engine_ops_t;

#define ENGINE_MODE(m)	(1u << (m))

extern const engine_ops_t engine_kvm_ops;
extern const engine_ops_t engine_qemu_ops;
extern const engine_ops_t engine_bochs_ops;

/*
 * Every engine, in the order an automatic choice tries them (the first
 * that runs the mode, then the next while one is absent or cannot take
 * the job); NULL ends it.  Defined in engine.c.
 */
extern const engine_ops_t *const engine_list[];

/* The engine called name, or NULL.  Errors: none. */
const engine_ops_t *engine_find(const char *name);

#endif
