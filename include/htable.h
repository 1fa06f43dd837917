/*
 * htable.h - the one public header of libhtable.
 *
 * libhtable builds, manages, walks and checks x86 hardware page tables in
 * physical memory that the caller provides.  The tables it writes are in the
 * exact format the MMU reads (32-bit, PAE, 4-level and 5-level paging), so a
 * VMM can point a vCPU's CR3 at them.
 *
 * Objects (all opaque, all created and destroyed by the library):
 *   ht_ctx_t    one "machine": paging mode, frame provider, TLB hook,
 *               tunables, reserve pool, the list of address spaces and the
 *               statistics.  Several contexts may live in one process.
 *   ht_as_t     one address space: a root table and every table below it.
 *   ht_cpu_root_t one CPU's own top-level table (two with KPTI), into which
 *               ht_switch copies the running space's top-level entries.
 *   ht_arena_t  the default frame provider: one anonymous mapping that stands
 *               for guest-physical memory starting at a base address.
 *
 * Error reporting: every call that can fail returns 0 (or a non-negative
 * count) on success and a negative HT_E* code on failure.  ht_strerror()
 * names the code; ht_errdetail() gives the calling thread's detailed
 * message for its last failure (which argument, which address).  A failed
 * call changes nothing.  The library never prints, never exits and never
 * aborts on caller input; it aborts only when its own invariants are
 * broken.
 *
 * The comment above each function ends with one line
 *     Errors: HT_EINVAL, HT_ERANGE.
 * that names every code it can return, and no other ("Errors: none." for a
 * call that cannot fail).  "the provider's alloc codes" and "the read
 * function's codes" mean that a negative code returned by your callback is
 * passed back as it is.  tests/integration/test_errors.c reads these lines
 * and provokes each code.
 *
 * HT_MUST_CHECK marks calls whose failure must not go unnoticed (a lost
 * mapping, a leaked object).  gcc does NOT take a (void) cast as silencing
 * warn_unused_result (clang does); to drop a result on purpose, test it:
 *     if (ht_unmap(as, va, len, 0) != 0) {
 *         // already gone: nothing to undo
 *     }
 * or define HT_MUST_CHECK as empty before including this header
 * (tests/integration/must_check*.c compile both ways under -Werror).
 *
 * Levels: level 0 is the 4 KiB level (the tables whose entries map 4 KiB
 * pages), level 1 holds 2 MiB (4 MiB in 32-bit paging) pages, level 2
 * 1 GiB pages, and the root is level levels - 1.  Every "level" of this
 * header (ht_xlate_t.level, ht_leaf_t.level, the ht_frame_fn level,
 * ht_scan_step_t.level, ht_stats_t.tables[] and .leaves[], the bits of
 * ht_access_t.set_a) counts that way.  Arrays filled "root first"
 * (ht_xlate_t.entries, ht_scan_xlate_t.step) are indexed the other way:
 * element 0 is the root's entry.
 *
 * Threads: every call is thread-safe.  Operations on different address
 * spaces, or on disjoint VA ranges of one address space, run concurrently;
 * lookups, translations, walks, audits of a quiet address space, stealing
 * and reaping may run beside them.  Two calls that modify OVERLAPPING ranges
 * of one address space must be ordered by the caller (the illumos VM layer
 * does the same with its segment locks): the library keeps its own
 * structures consistent in that case, but which call wins is unspecified.
 * A CPU or vCPU may set Accessed/Dirty bits at any time; every change of a
 * valid entry is an atomic compare-and-swap that keeps them.
 */
#ifndef HTABLE_H
#define HTABLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HT_EXTERN __attribute__((visibility("default")))
#else
#define HT_EXTERN
#endif
/* The caller may define HT_MUST_CHECK (even as empty) before the include. */
#ifndef HT_MUST_CHECK
#if defined(__GNUC__)
#define HT_MUST_CHECK __attribute__((warn_unused_result))
#else
#define HT_MUST_CHECK
#endif
#endif

#define HT_VERSION_MAJOR 0
#define HT_VERSION_MINOR 1
#define HT_VERSION_PATCH 0
#define HT_VERSION_STRING "0.1.0"

typedef uint64_t ht_va_t;	/* virtual address (canonical in 4/5-level) */
typedef uint64_t ht_pa_t;	/* physical address */
typedef uint64_t ht_pfn_t;	/* physical frame number = pa >> 12 */

#define HT_PFN_INVALID	(~(ht_pfn_t)0)
#define HT_PAGE_SHIFT	12
#define HT_PAGE_SIZE	4096u
#define HT_MAX_LEVELS	5

typedef struct ht_ctx ht_ctx_t;
typedef struct ht_as ht_as_t;
typedef struct ht_arena ht_arena_t;
typedef struct ht_cpu_root ht_cpu_root_t;

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* XX(name, message): one list generates the enum and ht_strerror(). */
#define HT_ERRNO_MAP(XX)						\
	XX(EINVAL, "invalid argument")					\
	XX(ENOMEM, "out of host memory")				\
	XX(ENOFRAME, "no physical frame available for a page table")	\
	XX(ENONCANON, "virtual address is not canonical")		\
	XX(ERANGE, "address or length out of range for the paging mode") \
	XX(EALIGN, "address or length is not aligned")			\
	XX(EPAGESIZE, "page size not available in this mode or CPU")	\
	XX(EPABITS, "physical address beyond the physical width")	\
	XX(ENOTMAPPED, "address is not mapped")				\
	XX(EEXIST, "address is already mapped")				\
	XX(ELOCKED, "range holds locked mappings")			\
	XX(ENOTLOCKED, "mapping is not locked")				\
	XX(EPROVIDER, "frame provider misbehaved")			\
	XX(EBADTABLE, "page table contents are invalid")		\
	XX(ECORRUPT, "audit found an inconsistency")			\
	XX(EBUSY, "object is in use")					\
	XX(ENOTSUP, "operation not supported")				\
	XX(ESHARED, "range is shared from another address space")

enum {
	HT_OK = 0,
#define HT__ERRNUM(name, msg) HT_##name,
	HT__FIRST_ERR_PLACEHOLDER = 0,
	HT_ERRNO_MAP(HT__ERRNUM)
#undef HT__ERRNUM
	HT__NERR
};

/*
 * Message for an error code (negative or positive); never NULL.
 * Errors: none.
 */
HT_EXTERN const char *ht_strerror(int err);
/*
 * Symbolic name ("HT_EINVAL") for an error code; never NULL.
 * Errors: none.
 */
HT_EXTERN const char *ht_err_name(int err);
/*
 * The calling thread's detailed message for its most recent failed call,
 * such as "va 0x201000 is not aligned to 2 MiB"; "" when none.
 * Errors: none.
 */
HT_EXTERN const char *ht_errdetail(void);

/* ------------------------------------------------------------------ */
/* Paging modes and page sizes                                         */
/* ------------------------------------------------------------------ */

typedef enum ht_mode {
	HT_MODE_32BIT = 0,	/* 2 levels, 4-byte entries, 4 KiB + 4 MiB */
	HT_MODE_PAE = 1,	/* 3 levels, 4-entry root, 4 KiB + 2 MiB */
	HT_MODE_4LEVEL = 2,	/* 48-bit VAs, 4 KiB + 2 MiB + 1 GiB */
	HT_MODE_5LEVEL = 3,	/* LA57, 57-bit VAs, same page sizes */
	/*
	 * AMD nested paging (NPT, "RVI"): a hypervisor's tables from
	 * guest-physical to host-physical addresses, in the long-mode entry
	 * format of 4- or 5-level paging.  The addresses the space maps are
	 * guest-physical: [0, 2^48) or [0, 2^57), no canonical hole.  The
	 * hardware walks these tables as user accesses, so every entry the
	 * library writes has U set (HT_U is implied: map sets it, protect
	 * keeps it, translate reports it), and ht_access decides every
	 * access as a user one.
	 */
	HT_MODE_NPT4 = 4,	/* 48-bit guest-physical, 4K + 2M + 1G pages */
	HT_MODE_NPT5 = 5,	/* 57-bit guest-physical, same page sizes */
	/*
	 * Intel EPT (extended page tables): a hypervisor's tables from
	 * guest-physical to host-physical addresses, with an EPTP page-walk
	 * length of 4 or 5.  Guest-physical space [0, 2^48) or [0, 2^57), no
	 * hole.  Entries have their own format (read, write, execute bits
	 * 0-2, a memory type, no U/S and no NX); the attributes below say
	 * how each HT_* attribute reads there ("EPT attributes"), and
	 * ht_config_t.ept what the entries may hold.
	 */
	HT_MODE_EPT4 = 6,	/* 48-bit guest-physical, 4K + 2M + 1G pages */
	HT_MODE_EPT5 = 7	/* 57-bit guest-physical, same page sizes */
} ht_mode_t;

/* Page sizes as a bit mask. */
#define HT_PS_4K	0x1u
#define HT_PS_2M	0x2u
#define HT_PS_4M	0x4u
#define HT_PS_1G	0x8u

/*
 * Mode name ("32bit", "pae", "4level", "5level", "npt4", "npt5", "ept4",
 * "ept5"), NULL if bad.  Every mode has a name: a loop over modes stops
 * at the first NULL.
 * Errors: none.
 */
HT_EXTERN const char *ht_mode_name(ht_mode_t mode);
/*
 * Parse a mode name into *r_mode; 0 or a negative code.
 * Errors: HT_EINVAL.
 */
HT_EXTERN int ht_mode_parse(const char *name, ht_mode_t *r_mode);

/* Geometry of a paging mode, read-only (like illumos's mmu). */
typedef struct ht_geometry {
	ht_mode_t	mode;
	unsigned	levels;		/* number of table levels */
	unsigned	pte_size;	/* 4 or 8 bytes */
	unsigned	ptes_per_table;	/* entries in a non-root table */
	unsigned	top_level_count; /* entries in the root table */
	unsigned	level_shift[HT_MAX_LEVELS]; /* [0] = 12: the 4 KiB level */
	unsigned	va_bits;	/* 32, 48 or 57: with no hole, the
					   addresses are [0, 2^va_bits) */
	unsigned	pa_bits_max;	/* widest physical address the mode can name */
	unsigned	pagesizes;	/* HT_PS_* the mode has */
	int		has_nx;		/* entries have an NX bit */
	ht_va_t		hole_start;	/* first non-canonical VA, 0 if no hole */
	ht_va_t		hole_end;	/* last non-canonical VA (inclusive) */
	/*
	 * Reading entries without the library (a tool walking an image by
	 * hand): the bits that hold the address of the table an entry links
	 * (at the mode's widest physical address), the bits of CR3 that hold
	 * the root's address (PAE: a 32-byte aligned 4-entry root), and PS,
	 * which makes an entry above level 0 a leaf (at level 0 the same bit
	 * is PAT).
	 */
	uint64_t	link_mask;
	uint64_t	root_mask;
	uint64_t	ps_bit;
} ht_geometry_t;

/*
 * The geometry of a mode; NULL for an unknown mode.
 * Errors: none.
 */
HT_EXTERN const ht_geometry_t *ht_geometry(ht_mode_t mode);

/* ------------------------------------------------------------------ */
/* Frame providers                                                     */
/* ------------------------------------------------------------------ */

/*
 * The physical memory that page tables live in.  The library never
 * assumes that a pointer equals a physical address.
 *
 * alloc: give one 4 KiB frame whose physical address lies in [lo, hi);
 *        return 0 and the frame number, or a negative HT_E* code (usually
 *        -HT_ENOFRAME).  The frame need not be zeroed.  alloc may be
 *        called from several threads at once; a provider that hands each
 *        thread's frames out side by side (the arena keeps a 2 MiB run per
 *        thread) keeps threads that make tables at once from slowing each
 *        other's later calls (docs/design.md, "Frames side by side").
 * free:  take back a frame that alloc returned.
 * map:   return a host pointer to the frame's 4096 bytes (or NULL if the
 *        frame is not backed).  The pointer must stay valid while the
 *        frame is allocated; the library caches it.  Imported tables are
 *        reached through map only.
 * avail: optional; frames alloc could still return.  With a throttle set
 *        in the context, allocation stops early (and stealing starts)
 *        when this falls to the throttle.
 * window: optional; a linear host mapping of physical memory (like a
 *        kernel's direct map): returns the host pointer of physical address
 *        *r_base, the window covering *r_len bytes.  Frames inside it are
 *        reached by arithmetic instead of a call to map, which makes walks
 *        and translations cheaper.  window is called once, by
 *        ht_ctx_create: the mapping must stay valid, and unchanged, for
 *        the life of the context (a window that moves later is not seen).
 */
typedef struct ht_frame_ops {
	int	(*alloc)(void *arg, ht_pa_t lo, ht_pa_t hi, ht_pfn_t *r_pfn);
	void	(*free)(void *arg, ht_pfn_t pfn);
	void	*(*map)(void *arg, ht_pfn_t pfn);
	uint64_t (*avail)(void *arg);
	void	*(*window)(void *arg, ht_pa_t *r_base, uint64_t *r_len);
} ht_frame_ops_t;

/*
 * The default provider.  ht_arena_create maps `size` bytes (a multiple of
 * 4096, reserved lazily) standing for physical memory [base, base + size),
 * which must end at or below 2^52.  frame_limit (0 = none) caps the frames
 * the arena hands out at once, so that memory pressure can be simulated.
 * A thread (up to 15 at once) takes its frames from a 2 MiB run of its
 * own while one is free; a free frame is never refused.
 * Errors: HT_EINVAL, HT_EALIGN, HT_ERANGE, HT_ENOMEM.
 */
HT_EXTERN int ht_arena_create(ht_pa_t base, uint64_t size,
    uint64_t frame_limit, ht_arena_t **r_arena) HT_MUST_CHECK;
/*
 * Unmap the arena; no context may still use it.
 * Errors: none.
 */
HT_EXTERN void ht_arena_destroy(ht_arena_t *arena);
/*
 * The arena's frame operations (frame_arg = the arena).
 * Errors: none.
 */
HT_EXTERN const ht_frame_ops_t *ht_arena_ops(void);
/*
 * Host pointer to physical address pa; NULL if outside the arena.
 * Errors: none.
 */
HT_EXTERN void *ht_arena_ptr(ht_arena_t *arena, ht_pa_t pa);
/*
 * The arena's base physical address.
 * Errors: none.
 */
HT_EXTERN ht_pa_t ht_arena_base(const ht_arena_t *arena);
/*
 * The arena's size in bytes.
 * Errors: none.
 */
HT_EXTERN uint64_t ht_arena_size(const ht_arena_t *arena);
/*
 * Frames now handed out.
 * Errors: none.
 */
HT_EXTERN uint64_t ht_arena_frames_used(const ht_arena_t *arena);
/*
 * Change the frame limit (0 = none).  Frames already out stay out; only
 * later allocations are refused (-HT_ENOFRAME to the library).
 * Errors: none.
 */
HT_EXTERN void ht_arena_set_limit(ht_arena_t *arena, uint64_t frame_limit);

/* ------------------------------------------------------------------ */
/* Contexts                                                            */
/* ------------------------------------------------------------------ */

typedef struct ht_range {
	ht_pa_t		base;
	uint64_t	len;
} ht_range_t;

/* What a TLB callback must drop. */
#define HT_TLB_ALL	(~(uint64_t)0)	/* as `len`: every entry, global too */

/*
 * TLB-invalidation hook.  Called after entries that an MMU may have cached
 * changed: [va, va + len) of `as`, or everything when len == HT_TLB_ALL
 * (global entries included: a VMM flushes all, by toggling CR4.PGE for
 * instance).  Calls are batched per operation; no library lock is held
 * during it.
 *
 * len is a multiple of 4 KiB and can be large: a whole 2 MiB, 4 MiB or
 * 1 GiB page, or the span a freed table covered (2 MiB, or 4 MiB in 32-bit
 * paging, for a level-0 table; 1 GiB for a level-1 table; more above),
 * since the MMU may cache the links as well as the leaves
 * (paging-structure caches).  A hook that invalidates page by page
 * (INVLPG) must not loop over a large len: beyond a few dozen pages it
 * should flush the whole TLB instead (a CR3 reload; CR4.PGE as well if
 * global pages may be in the range), as kernels do.
 *
 * In PAE paging the CPU holds the four root entries (PDPTEs) in registers
 * that only a CR3 load refills: a change of a root entry comes as
 * HT_TLB_ALL, which a PAE hook must answer with a CR3 load.
 *
 * A change in a space that shares tables out (ht_share) is also told to
 * every sharer of the changed range: `as` names the sharer and the range
 * is in its addresses.  A hook must not share, unshare or destroy a
 * space.
 */
typedef void (*ht_tlb_fn)(void *arg, ht_as_t *as, ht_va_t va, uint64_t len);

/*
 * The same call with what a VMM or kernel with CPU roots (ht_switch)
 * needs to aim it: config.tlb_info instead of config.tlb.  cpus lists
 * the ids of the CPU roots that ran `as` when the call was made (the
 * copies of its top-level entries in them are already refreshed); a CPU
 * root that switched to `as` after the change needs nothing: its switch
 * said whether to flush (ht_switch_t.flush).  With HT_TLBI_ALLCPUS the
 * list did not fit in memory: every CPU root must act.  pcid is as's
 * (ht_as_set_pcid); with KPTI the user root's copies carry pcid | 0x800.
 */
#define HT_TLBI_ALLCPUS	0x1u
typedef struct ht_tlb_info {
	ht_as_t		*as;
	ht_va_t		va;
	uint64_t	len;		/* HT_TLB_ALL as for ht_tlb_fn */
	unsigned	pcid;
	unsigned	flags;		/* HT_TLBI_* */
	unsigned	ncpus;
	const unsigned	*cpus;		/* ids of the CPU roots running as */
} ht_tlb_info_t;
typedef void (*ht_tlb_info_fn)(void *arg, const ht_tlb_info_t *ti);

#define HT_MAX_POOLS 8

typedef struct ht_config {
	ht_mode_t	mode;
	unsigned	pagesizes;	/* HT_PS_* the target CPU has; 0 = all.
					   HT_PS_4K must be in it, and HT_PS_1G
					   needs HT_PS_2M: else HT_EPAGESIZE */
	unsigned	pa_bits;	/* MAXPHYADDR; 0 = the mode's widest */
	int		no_nx;		/* EFER.NXE off: entries get no NX bit */
	unsigned	ept;		/* EPT modes only: HT_EPT_* below */
	const ht_frame_ops_t *frame_ops; /* required */
	void		*frame_arg;
	ht_range_t	pools[HT_MAX_POOLS]; /* page-table frames only from these */
	unsigned	npools;		/* 0 = anywhere the mode can address */
	ht_tlb_fn	tlb;		/* optional */
	ht_tlb_info_fn	tlb_info;	/* optional, instead of tlb */
	void		*tlb_arg;
	int		rmap;		/* 1: keep a reverse map, frame to
					   mappings (ht_page_*); it costs
					   memory (ht_stats_t.rmap_bytes) and
					   a context lock per changed table */
	int		kpti;		/* 1: CPU roots come in KPTI pairs and
					   no mapping is global (HT_G is
					   dropped: a kernel page must not
					   outlive the switch to user mode) */
	/*
	 * Tunables, 0 = the default.  reserve_amount: frameless descriptors
	 * kept for allocation under pressure (200, as illumos).
	 * steal_passes: passes over other address spaces before giving up
	 * (8).  throttle: frames left in the provider at which allocation
	 * stops and stealing starts (needs ops->avail).  force_steal: make
	 * every Nth frame allocation fail, to exercise stealing (tests).
	 * hash_buckets: the size a space's table hash starts at, a power of
	 * two (1024); it grows 4x whenever the space holds more tables than
	 * an eighth of its chains, up to 2^20 (ht_stats_t.hash_chains).
	 */
	unsigned	reserve_amount;
	unsigned	steal_passes;
	uint64_t	throttle;
	unsigned	force_steal;
	unsigned	hash_buckets;
} ht_config_t;

/*
 * ht_config_t.ept: what the CPU and the VMCS that will use the tables
 * allow.  HT_EPT_AD: the EPTP enables accessed/dirty flags (bits 8 and 9:
 * HT_A/HT_D are kept, harvested and reported; without it they are not
 * there).  HT_EPT_MBEC: mode-based execute control is on (bit 10 allows
 * fetches from user-mode linear addresses: HT_XU; bit 2 then allows
 * supervisor-mode ones).  HT_EPT_XONLY: the CPU allows execute-only
 * pages (IA32_VMX_EPT_VPID_CAP bit 0): a page without read access.
 */
#define HT_EPT_AD	0x1u
#define HT_EPT_MBEC	0x2u
#define HT_EPT_XONLY	0x4u

/*
 * Create a context.  Every field of cfg is checked first; the first wrong
 * one fails the call, ht_errdetail() names it ("cfg.pools[2].base 0x...
 * beyond pa_bits 40"), and nothing is allocated.  The provider's window is
 * read now, once.
 * Codes:
 *   EINVAL	NULL cfg or r_ctx; cfg.mode unknown; cfg.pa_bits outside
 *		32..the mode's widest; cfg.no_nx not 0 or 1, or 1 in EPT
 *		(EPT has no NX bit); cfg.ept with unknown bits, or not 0
 *		outside the EPT modes; cfg.frame_ops
 *		NULL, or without alloc, free, or both map and window;
 *		cfg.npools > HT_MAX_POOLS; a pool of length 0, or one that
 *		overlaps an earlier pool; cfg.reserve_amount > 65536;
 *		cfg.steal_passes > the entries of a table; cfg.throttle
 *		without frame_ops->avail; cfg.hash_buckets not a power of
 *		two or > 2^20; both tlb and tlb_info; cfg.kpti or cfg.rmap
 *		not 0 or 1.
 *   EPAGESIZE	cfg.pagesizes with unknown bits, sizes the mode lacks,
 *		without 4K, or 1G without 2M.
 *   EALIGN	a pool's base or length not a multiple of 4 KiB.
 *   ERANGE	a pool that wraps past 2^64; in 32-bit paging a pool
 *		entirely above 4 GiB (tables must lie below); in PAE, pools
 *		none of which reaches below 4 GiB (the root must).
 *   EPABITS	a pool that starts or ends beyond 2^pa_bits.
 *   ENOMEM	no memory for the context or its reserve.
 * Errors: HT_EINVAL, HT_EPAGESIZE, HT_EALIGN, HT_ERANGE, HT_EPABITS,
 * HT_ENOMEM.
 */
HT_EXTERN int ht_ctx_create(const ht_config_t *cfg,
    ht_ctx_t **r_ctx) HT_MUST_CHECK;
/*
 * Free a context that has no address space and no CPU root left (NULL is
 * fine).
 * Errors: HT_EBUSY.
 */
HT_EXTERN int ht_ctx_destroy(ht_ctx_t *ctx);
/*
 * The geometry of the context's mode.
 * Errors: none.
 */
HT_EXTERN const ht_geometry_t *ht_ctx_geometry(const ht_ctx_t *ctx);
/*
 * The page sizes in force (mode & caller's CPU).
 * Errors: none.
 */
HT_EXTERN unsigned ht_ctx_pagesizes(const ht_ctx_t *ctx);
/*
 * The physical width in force (MAXPHYADDR).
 * Errors: none.
 */
HT_EXTERN unsigned ht_ctx_pa_bits(const ht_ctx_t *ctx);
/*
 * The HT_SW bits the mode has: HT_SW(0..1), plus HT_SW(2..8) in 4/5-level
 * and nested paging; HT_SW(2..6) in EPT.
 * Errors: none.
 */
HT_EXTERN unsigned ht_ctx_swbits(const ht_ctx_t *ctx);
/*
 * Change force_steal at run time (0 = off).
 * Errors: none.
 */
HT_EXTERN void ht_ctx_set_force_steal(ht_ctx_t *ctx, unsigned every_nth);
/*
 * Memory pressure: give back idle cached tables of every address space
 * (illumos htable_reap).  Returns the number of frames freed.
 * Errors: none.
 */
HT_EXTERN long ht_ctx_reap(ht_ctx_t *ctx);
/*
 * Call fn for every frame that holds a page table of any address space of
 * the context (illumos hat_dump), with the table's level (0 = a table of
 * 4 KiB entries), and for the frames of the CPU roots (as NULL, the root
 * level).  Returns the number of frames.  fn must not create or destroy
 * CPU roots.
 * Errors: none.
 */
typedef void (*ht_frame_fn)(void *arg, const ht_as_t *as, ht_pfn_t pfn,
    int level);
HT_EXTERN long ht_ctx_dump_frames(ht_ctx_t *ctx, ht_frame_fn fn, void *arg);

/* Counters, like illumos HATSTAT, for a context or one address space. */
typedef struct ht_stats {
	uint64_t	ptable_allocs;	/* frames taken from the provider */
	uint64_t	ptable_frees;	/* frames given back */
	uint64_t	htable_rgets;	/* descriptors taken from the reserve */
	uint64_t	htable_rputs;	/* descriptors put on the reserve */
	uint64_t	reap_attempts;
	uint64_t	reaped;		/* tables freed by reaping */
	uint64_t	steals;		/* allocations that had to steal */
	uint64_t	stolen;		/* tables taken from address spaces */
	uint64_t	cache_hits;	/* allocations served by an AS cache */
	uint64_t	splits;		/* large pages split */
	uint64_t	lpage_fallbacks; /* large page refused: table below */
	uint64_t	tlb_calls;	/* calls of the TLB hook */
	uint64_t	tables[HT_MAX_LEVELS]; /* live tables per level,
						  [0] = 4 KiB-entry tables;
						  a source's table shared
						  into others counts once,
						  in the source; an
						  HT_AS_COPIED space's root
						  has no frame and does not
						  count */
	uint64_t	leaves[HT_MAX_LEVELS]; /* live leaves per level,
						  [0] = 4 KiB pages */
	uint64_t	reserve_count;	/* descriptors now on the reserve */
	uint64_t	address_spaces;
	uint64_t	rmap_extents;	/* config.rmap: the reverse map's
					   extents (a run of pages mapped
					   in one VA and PA order is one),
					   context only */
	uint64_t	rmap_bytes;	/* the memory they (and the spares
					   kept for stealers) take */
	uint64_t	hash_chains;	/* chains of the spaces' table
					   hashes: each starts at
					   cfg.hash_buckets and grows 4x
					   whenever the space holds more
					   tables than an eighth of
					   its chains
					   (16 bytes a chain) */
} ht_stats_t;

/*
 * The context's counters.
 * Errors: none.
 */
HT_EXTERN void ht_ctx_stats(ht_ctx_t *ctx, ht_stats_t *r_stats);

/* ------------------------------------------------------------------ */
/* Address spaces                                                      */
/* ------------------------------------------------------------------ */

/* ht_as_create flags */
#define HT_AS_NOSTEAL	0x1u	/* never steal this space's tables */
/*
 * HT_AS_COPIED: the space runs on CPU roots (ht_switch) and has no root
 * frame of its own (illumos HAT_COPIED): its top-level entries live in
 * the descriptor and every change of one is copied into each CPU root
 * that runs it before the TLB hook is called.  ht_as_root() gives 0.  In
 * 32-bit paging it has no 4 MiB pages: they would be root entries, and
 * the MMU would set their Accessed and Dirty bits in the copies.
 */
#define HT_AS_COPIED	0x2u
/*
 * HT_AS_NOMMU: no MMU walks or caches the space's tables yet (tables
 * built before the first CR3 load, an image being prepared).  While so,
 * the calls that change it write entries with plain stores instead of
 * locked read-modify-writes (no MMU can set Accessed or Dirty under
 * them), call no TLB hook for it, and run one at a time in the space
 * (a per-space lock, taken once per call; lookups, translations and
 * walks stay lock-free and never see a torn entry).  ht_as_set_mmu
 * turns the space live (ht_switch and ht_cpu_root_create do it for the
 * spaces they run), and back.  A live space never shows the tables of a
 * no-MMU one: sharing from a no-MMU source into a live sharer is refused
 * (HT_EBUSY).  A frame provider or TLB hook that calls into the library
 * while a call of a no-MMU space runs may change that space from the
 * same thread (the lock is held by its call), but must not wait for
 * another thread that changes it.
 */
#define HT_AS_NOMMU	0x4u
/*
 * HT_AS_SERIAL: the caller makes the calls that name the space one at a
 * time (one owning thread, or a lock of its own around them, as Rust's
 * `&mut` or SQLite's multi-thread mode), ht_walk and ht_audit included.
 * Only the lookups that take no lock may run from other threads
 * meanwhile: ht_translate, ht_va2pa, ht_access, the soft TLB calls, and
 * ht_switch of a live space (turning a no-MMU space live, by ht_switch
 * or ht_as_set_mmu, is a call that changes it).  In return a call that
 * maps, unmaps or protects one entry of an existing table takes no lock
 * and no locked instruction but the entry's own update where an MMU may
 * set Accessed or Dirty (none at all with HT_AS_NOMMU, whose per-space
 * lock it also skips), and one in the same table as the call before it
 * goes to the entry without a search.  Other spaces never take its
 * tables (it implies HT_AS_NOSTEAL), and it neither shares nor is shared
 * (ht_share, and an import that would share with it, give HT_EINVAL):
 * their calls would change its tables from other threads.
 */
#define HT_AS_SERIAL	0x8u

/*
 * A new, empty address space: its root table comes from the provider now
 * (a root is never stolen, so no frame gives HT_ENOFRAME).
 * Errors: HT_EINVAL, HT_ENOMEM, HT_ENOFRAME, HT_EPROVIDER, and the
 * provider's alloc codes.
 */
HT_EXTERN int ht_as_create(ht_ctx_t *ctx, unsigned flags,
    ht_as_t **r_as) HT_MUST_CHECK;
/*
 * Say whether an MMU may walk as's tables (live != 0) or not (0; see
 * HT_AS_NOMMU).  Turning live waits for the calls changing the space to
 * finish and publishes every entry (a release: a CPU that loads CR3
 * after this returns, ordered after it by the caller, sees them all);
 * the next calls use atomics and call the TLB hook.  Nothing was cached,
 * so the hook is not called.  Turning back to no-MMU is the caller's
 * promise that no MMU uses the tables any more (every CPU that ran the
 * space has switched away and flushed its TLB) and that no other call
 * changes the space meanwhile, as for ht_as_destroy.  Either way an
 * unchanged state is no error.
 * HT_EINVAL: NULL as.  HT_EBUSY: turning live, as shares in from a
 * space that is not live; turning back, a CPU root runs as or copies it
 * as its kernel half, or a live space shares in from as; either way,
 * the calling thread is inside a call that changes as (a provider
 * callback or TLB hook of it).  On failure nothing changed.
 * Errors: HT_EINVAL, HT_EBUSY.
 */
HT_EXTERN int ht_as_set_mmu(ht_as_t *as, int live);
/*
 * 1 when an MMU may walk as's tables, 0 while HT_AS_NOMMU holds (see
 * ht_as_set_mmu).
 * Errors: none.
 */
HT_EXTERN int ht_as_mmu(const ht_as_t *as);
/*
 * Wrap tables that someone else built (illumos htable_attach): the root
 * at root_pa and every table below it, read through the provider's map.
 * The frames stay the caller's: the library never frees them.  flags:
 * HT_AS_NOSTEAL, HT_AS_NOMMU, HT_AS_SERIAL (as for ht_as_create).
 *
 * A table frame has one owner in a context.  While the import lives, its
 * frames belong to it; once it is destroyed (or a table of it is emptied
 * and freed) they are the caller's again.  A link to a table that another
 * space of ctx has at the same level, below its root, is sharing, not a
 * second owner: the new space shares that table as ht_share would (one
 * region per such table; the other space becomes a source, and what it
 * changes there is seen through the new space, whose TLB hook is told;
 * ht_unshare and ht_as_destroy end it; the hook may name the new space
 * while the import still runs).  Any other frame that the context
 * holds cannot be imported: a root, a table at another level, a cached
 * free table or a frame reserved by an operation in flight, of any space
 * of ctx, created or imported, or a table of a space that shares in
 * itself (sharing is one level deep).  The check
 * and the claim of each frame are one step under a context lock that
 * every table frame taken from the provider goes through as well, so an
 * import racing with table creation in another space never shares a
 * frame with it: whichever claims the frame first keeps it.  Contexts do
 * not know each other: another context may import the same tables.
 *
 * Non-zero entries without the present bit are the writer's data: in
 * level-0 tables they are kept and counted as ht_set_np's entries are;
 * above level 0, where the library keeps nothing, a successful import
 * clears them (the MMU ignores them).
 *
 * The caller must not leave the imported frames free in the provider.  If
 * the provider hands one out for a new table of any space of ctx, that
 * allocation fails with -HT_EPROVIDER (the frame is given back to the
 * provider; the call changes nothing), for as long as the import holds it.
 *
 * On failure nothing is kept: HT_EINVAL (NULL ctx or r_as, unknown flags);
 * EALIGN (root_pa not page aligned, 32-byte aligned for PAE); EPABITS
 * (root_pa beyond what CR3 holds); EBADTABLE (an entry with reserved
 * bits or a leaf the CPU cannot have, a table reached twice, a table
 * beyond the physical width or outside the provider); EBUSY (a frame the
 * context holds: ht_errdetail() names the frame and its holder, e.g. the
 * address space and its root; a table of another space when either
 * is serial, see HT_AS_SERIAL; or, for a live import, a table shared
 * from a space that is not live, see HT_AS_NOMMU); ENOMEM.
 * Errors: HT_EINVAL, HT_EALIGN, HT_EPABITS, HT_EBADTABLE, HT_EBUSY,
 * HT_ENOMEM.
 */
HT_EXTERN int ht_as_import(ht_ctx_t *ctx, ht_pa_t root_pa, unsigned flags,
    ht_as_t **r_as) HT_MUST_CHECK;
/*
 * Unmap everything, free every table frame, free the space.  Soft TLBs
 * still attached to it (ht_stlb_create) are detached first: emptied, and
 * their fills fail from then on; ht_stlb_destroy still frees them.
 * Errors: none.
 */
HT_EXTERN void ht_as_destroy(ht_as_t *as);
/*
 * The value for CR3: the root table's physical address (without the
 * PCID); 0 for an HT_AS_COPIED space, which has no root frame (ht_switch
 * gives the CR3 of a CPU root that runs it).
 * Errors: none.
 */
HT_EXTERN ht_pa_t ht_as_root(const ht_as_t *as);
/*
 * EPT: the EPT pointer a VMCS needs for the space: the root's address,
 * the page-walk length less one (3 for ept4, 4 for ept5) in bits 5:3,
 * bit 6 (A/D enabled) when the context has HT_EPT_AD, and the memory type
 * of the processor's own accesses to the tables in bits 2:0, `memtype`
 * (HT_EPT_UC or HT_EPT_WB, the two the CPU allows there).  HT_EINVAL:
 * NULL as or r_eptp, a space not in an EPT mode, an HT_AS_COPIED space
 * (no root frame), another memory type.
 * Errors: HT_EINVAL.
 */
HT_EXTERN int ht_as_eptp(const ht_as_t *as, unsigned memtype,
    uint64_t *r_eptp);
/*
 * The context of the space.
 * Errors: none.
 */
HT_EXTERN ht_ctx_t *ht_as_ctx(const ht_as_t *as);
/*
 * The space's counters.
 * Errors: none.
 */
HT_EXTERN void ht_as_stats(ht_as_t *as, ht_stats_t *r_stats);
/*
 * Free the space's cached empty tables (illumos htable_purge_hat);
 * returns the number of frames freed.
 * Errors: none.
 */
HT_EXTERN long ht_as_purge(ht_as_t *as);

/* Mapping attributes (map, protect, translate) */
#define HT_W		0x001u	/* writable */
#define HT_U		0x002u	/* user accessible */
#define HT_X		0x004u	/* executable (no NX bit) */
#define HT_G		0x008u	/* global */
#define HT_PWT		0x010u
#define HT_PCD		0x020u
#define HT_PAT		0x040u
#define HT_A		0x100u	/* accessed: reported, harvested, and may be
				   preset by ht_map (no locked MMU write) */
#define HT_D		0x200u	/* dirty: likewise */
#define HT_LOCKED	0x400u	/* reported by translate/walk; not an
				   ht_map attribute (use HT_MAP_LOCK) */
/*
 * Software bits: entry bits the MMU ignores, the client's to keep its own
 * data in (a VMM's or kernel's page state).  HT_SW(0) and HT_SW(1) are
 * PTE bits 10 and 11 (every mode); HT_SW(2)..HT_SW(8) are PTE bits 52..58
 * (4- and 5-level only: PAE reserves 52..62, and 59..62 are protection
 * keys).  Bit 9 is the library's lock bit.  ht_map sets them, protect,
 * lock and splitting keep them, translate and walk report them in attr.
 */
#define HT_SW(n)	(0x10000u << (n))	/* n = 0..8 */
#define HT_SW_MASK	0x1ff0000u
/*
 * ht_scan / ht_scan_translate only: bit 9 of an image's leaf (EPT: bit
 * 11), the bit that is our lock bit elsewhere (there it is the writer's).
 */
#define HT_SW_BIT9	0x2000000u

/*
 * EPT attributes.  In the EPT modes the attributes above read:
 *   HT_W	bit 1, writes allowed;
 *   HT_X	bit 2, fetches allowed (with HT_EPT_MBEC: supervisor-mode
 *		ones);
 *   HT_XU	(= HT_U) bit 10, fetches from user-mode linear addresses,
 *		only with HT_EPT_MBEC;
 *   reads	bit 0, set unless HT_NOREAD: a page is readable unless
 *		asked otherwise.  HT_NOREAD with HT_W is refused (the CPU
 *		calls write-without-read a misconfiguration), and without
 *		HT_EPT_XONLY so is a page with HT_X or HT_XU but no read;
 *		a page with no right at all is not present, not a mapping;
 *   HT_EPT_MT(t) the memory type in bits 5:3 of a leaf, t one of
 *		HT_EPT_UC (0, also when no type is named), WC, WT, WP, WB;
 *		types 2, 3 and 7 are refused.  It occupies HT_PWT, HT_PCD
 *		and HT_PAT, which have no other meaning in EPT;
 *   HT_EPT_IPAT (= HT_G) bit 6, ignore the guest's PAT type;
 *   HT_A, HT_D	bits 8 and 9, only with HT_EPT_AD;
 *   HT_EPT_SVE	bit 63, suppress #VE;
 *   HT_EPT_VGP, HT_EPT_PW bits 57 and 58, verify guest paging and
 *		paging-write (HLAT);
 *   HT_SW(2..6) bits 52..56; bit 11 is the library's lock bit.
 * Outside EPT, HT_NOREAD, HT_EPT_SVE, HT_EPT_VGP and HT_EPT_PW are refused.
 * Translate and walk report a leaf's read right the same way: HT_NOREAD
 * in attr when bit 0 is clear, and in eff when any entry of the walk has
 * it clear.
 */
#define HT_XU		HT_U
#define HT_NOREAD	0x080u
#define HT_EPT_IPAT	HT_G
#define HT_EPT_MT(t)	(((unsigned)(t) & 7u) << 4)
#define HT_EPT_MT_MASK	(HT_PWT | HT_PCD | HT_PAT)
#define HT_EPT_MT_OF(attr) (((attr) >> 4) & 7u)
#define HT_EPT_UC	0u
#define HT_EPT_WC	1u
#define HT_EPT_WT	4u
#define HT_EPT_WP	5u
#define HT_EPT_WB	6u
#define HT_EPT_SVE	0x800u
#define HT_EPT_VGP	0x1000u
#define HT_EPT_PW	0x2000u

/*
 * Reports of Accessed/Dirty bits (ht_harvest_ad, ht_map_ad,
 * ht_unmap_ad): the leaf [va, va + size) had `bits` (HT_A, HT_D).  The
 * callback runs inside the call and must not change this address space.
 */
typedef void (*ht_ad_fn)(void *arg, ht_va_t va, uint64_t size,
    unsigned bits);

/* ht_map flags */
#define HT_MAP_LOCK	0x001u	/* lock the new mappings against stealing */
#define HT_MAP_NOREPLACE 0x002u	/* -HT_EEXIST if anything is mapped there */
/* Force one page size: HT_MAP_SIZE(HT_PS_2M). */
#define HT_MAP_SIZE(ps)	((unsigned)(ps) << 8)

/*
 * Map [va, va + len) to [pa, pa + len).  Each page is the largest size the
 * alignment of va and pa, the remaining length and the page sizes in force
 * allow (or the forced size).  Mappings already in the range are replaced;
 * large pages that stick out of the range are split first.  attr is
 * HT_W, HT_U, HT_X, HT_G, HT_PWT, HT_PCD, HT_PAT, HT_A / HT_D to preset
 * Accessed / Dirty, and HT_SW bits (see ht_ctx_swbits).  On failure
 * nothing changed.  HT_EINVAL: NULL as, zero length, unknown attr or flags
 * bits, an HT_SW bit the mode lacks.  HT_EALIGN: va, pa or len
 * not aligned to 4 KiB (or to the forced size).  HT_ENONCANON / HT_ERANGE:
 * the range is not canonical / wraps or leaves the 32-bit space.
 * HT_EPABITS: pa beyond the physical width (or a 32-bit split that cannot
 * be expressed, or, in 32-bit paging, a 4 MiB page above 4 GiB where a
 * table that other spaces share (ht_share) would have to go).
 * HT_EPAGESIZE: the forced size is not in force (or a 4 MiB page in an
 * HT_AS_COPIED space or a CPU root's kernel space of 32-bit paging).
 * HT_EEXIST: something is mapped there and HT_MAP_NOREPLACE.  HT_ELOCKED:
 * a locked mapping would be replaced.  HT_ENOFRAME / HT_ENOMEM /
 * HT_EPROVIDER: no table frame, no host memory, a provider error.
 * HT_ESHARED: the range overlaps a region shared into the space
 * (ht_share).
 * Errors: HT_EINVAL, HT_ESHARED, HT_EALIGN, HT_ENONCANON, HT_ERANGE,
 * HT_EPABITS, HT_EPAGESIZE, HT_EEXIST, HT_ELOCKED, HT_ENOFRAME, HT_ENOMEM,
 * HT_EPROVIDER, and the provider's alloc codes.
 */
HT_EXTERN int ht_map(ht_as_t *as, ht_va_t va, ht_pa_t pa, uint64_t len,
    unsigned attr, unsigned flags) HT_MUST_CHECK;

/*
 * ht_map, and fn (if not NULL) is told the A/D bits of each mapping the
 * call removes: once per removed leaf that had HT_A or HT_D, with that
 * leaf's own va and size (a table of 4 KiB leaves replaced by a 2 MiB
 * leaf reports its 4 KiB leaves).  A leaf replaced by one of the same
 * size and frame keeps its A/D bits and is not reported; a leaf split
 * because it sticks out of the range is not removed either (its pages
 * outside keep the bits).  fn runs after the entry was cleared, so the
 * bits are final: no MMU can set one in an entry that is gone.  It is not
 * called when the call fails (nothing was removed).
 * HT_ESHARED: the range overlaps a region shared into the space
 * (ht_share).
 * Errors: HT_EINVAL, HT_ESHARED, HT_EALIGN, HT_ENONCANON, HT_ERANGE,
 * HT_EPABITS, HT_EPAGESIZE, HT_EEXIST, HT_ELOCKED, HT_ENOFRAME, HT_ENOMEM,
 * HT_EPROVIDER, and the provider's alloc codes.
 */
HT_EXTERN int ht_map_ad(ht_as_t *as, ht_va_t va, ht_pa_t pa, uint64_t len,
    unsigned attr, unsigned flags, ht_ad_fn fn, void *arg) HT_MUST_CHECK;

/* ht_unmap flags */
#define HT_UNMAP_UNLOCK	0x001u	/* also remove locked mappings */

/*
 * Remove the mappings in [va, va + len); large pages that stick out are
 * split and keep their outer parts (the split needs a table: HT_ENOFRAME,
 * HT_ENOMEM, HT_EPROVIDER; in 32-bit paging a 4 MiB page above 4 GiB
 * cannot be split: HT_EPABITS).  Holes are fine.  HT_ELOCKED if a locked
 * mapping is in the range without HT_UNMAP_UNLOCK.  On failure nothing
 * changed.  Range errors as ht_map.
 * HT_ESHARED: the range overlaps a region shared into the space
 * (ht_share).
 * Errors: HT_EINVAL, HT_ESHARED, HT_EALIGN, HT_ENONCANON, HT_ERANGE,
 * HT_EPABITS, HT_ELOCKED, HT_ENOFRAME, HT_ENOMEM, HT_EPROVIDER, and the
 * provider's alloc codes.
 */
HT_EXTERN int ht_unmap(ht_as_t *as, ht_va_t va, uint64_t len,
    unsigned flags) HT_MUST_CHECK;

/*
 * ht_unmap, and fn (if not NULL) is told the A/D bits of each mapping the
 * call removes, as ht_map_ad does: once per removed leaf that had HT_A or
 * HT_D, with the leaf's va and size, after its entry was cleared (the
 * bits are final; during live migration a page dirty at unmap time must
 * be sent again).  A large page that sticks out is split first; the
 * removed part is then made of smaller leaves that inherited the large
 * leaf's bits, and those are reported.  Not called when the call fails.
 * HT_ESHARED: the range overlaps a region shared into the space
 * (ht_share).
 * Errors: HT_EINVAL, HT_ESHARED, HT_EALIGN, HT_ENONCANON, HT_ERANGE,
 * HT_EPABITS, HT_ELOCKED, HT_ENOFRAME, HT_ENOMEM, HT_EPROVIDER, and the
 * provider's alloc codes.
 */
HT_EXTERN int ht_unmap_ad(ht_as_t *as, ht_va_t va, uint64_t len,
    unsigned flags, ht_ad_fn fn, void *arg) HT_MUST_CHECK;

/*
 * Set the permissions HT_W, HT_U, HT_X of every mapped page in the range
 * to exactly those in attr (other attributes are kept); large pages that
 * stick out are split (errors of splits and ranges as ht_unmap).
 * HT_EINVAL also for attr bits other than HT_W, HT_U, HT_X.
 * HT_ESHARED: the range overlaps a region shared into the space
 * (ht_share).
 * Errors: HT_EINVAL, HT_ESHARED, HT_EALIGN, HT_ENONCANON, HT_ERANGE,
 * HT_EPABITS, HT_ENOFRAME, HT_ENOMEM, HT_EPROVIDER, and the provider's alloc
 * codes.
 */
HT_EXTERN int ht_protect(ht_as_t *as, ht_va_t va, uint64_t len,
    unsigned attr) HT_MUST_CHECK;

/*
 * Change other attributes of every mapped page in the range: each leaf's
 * attributes in `clear` are removed and those in `set` added, the rest
 * kept (A/D and the lock state included).  Both take HT_W, HT_U, HT_X,
 * HT_G, HT_PWT, HT_PCD and HT_PAT; a bit in both is an error.  Large
 * pages that stick out are split (a 32-bit 4 MiB page above 4 GiB cannot
 * be: HT_EPABITS); changed leaves go to the TLB hook (a caching-attribute
 * change needs the flush as much as a permission change).
 * ht_protect(as, va, len, a) is ht_chattr(as, va, len,
 * (HT_W | HT_U | HT_X) & ~a, a).  In EPT both take HT_NOREAD too; chattr
 * names the rights (HT_W, HT_X, HT_NOREAD, and HT_XU with MBEC) whole or
 * not at all, and the memory type (HT_PWT, HT_PCD, HT_PAT) likewise, so
 * that every leaf it changes is one the CPU takes; what `set` gives then
 * passes ht_map's EPT checks (HT_EINVAL otherwise).
 * HT_ESHARED: the range overlaps a region shared into the space
 * (ht_share).
 * Errors: HT_EINVAL, HT_ESHARED, HT_EALIGN, HT_ENONCANON, HT_ERANGE,
 * HT_EPABITS, HT_ENOFRAME, HT_ENOMEM, HT_EPROVIDER, and the provider's alloc
 * codes.
 */
HT_EXTERN int ht_chattr(ht_as_t *as, ht_va_t va, uint64_t len,
    unsigned clear, unsigned set) HT_MUST_CHECK;

/*
 * Lock the mappings of a range: a locked one is never stolen, and ht_map
 * and ht_unmap refuse to remove it.  Locks stack, as the seed's lock
 * counts do: a page locked n times stays locked until it is unlocked n
 * times (two users may pin one page); HT_UNMAP_UNLOCK drops every count.
 * Large pages that stick out are split, so a count always covers whole
 * leaves (errors of splits and ranges as ht_unmap); holes are fine.
 * HT_ESHARED: the range overlaps a region shared into the space
 * (ht_share).
 * Errors: HT_EINVAL, HT_ESHARED, HT_EALIGN, HT_ENONCANON, HT_ERANGE,
 * HT_EPABITS, HT_ENOFRAME, HT_ENOMEM, HT_EPROVIDER, and the provider's alloc
 * codes.
 */
HT_EXTERN int ht_lock(ht_as_t *as, ht_va_t va, uint64_t len) HT_MUST_CHECK;
/*
 * Unlock the mappings of a range: take one lock away from each (the
 * last one unlocks it); HT_ENOTLOCKED (nothing changed) if one of them is
 * not locked.  Otherwise as ht_lock.
 * HT_ESHARED: the range overlaps a region shared into the space
 * (ht_share).
 * Errors: HT_EINVAL, HT_ESHARED, HT_EALIGN, HT_ENONCANON, HT_ERANGE,
 * HT_EPABITS, HT_ENOTLOCKED, HT_ENOFRAME, HT_ENOMEM, HT_EPROVIDER, and the
 * provider's alloc codes.
 */
HT_EXTERN int ht_unlock(ht_as_t *as, ht_va_t va, uint64_t len) HT_MUST_CHECK;

/* ht_harvest_ad flags */
#define HT_AD_CLEAR	0x1u	/* clear the bits found (was `clear` = 1) */
#define HT_AD_SPLIT	0x2u	/* first split large pages to 4 KiB */

/*
 * Harvest Accessed/Dirty bits: test and optionally clear (HT_AD_CLEAR)
 * HT_A and/or HT_D (`bits`) on the leaves in [va, va + len).  fn
 * (optional) is called for each leaf that had any of them, with the leaf's own va and size and the bits it
 * had; it must not change this address space.  Clearing calls the TLB
 * hook for what was cleared (a cached translation would let the MMU skip
 * setting the bits again).  Returns the number of such leaves.
 *
 * PARTIAL LARGE PAGES: a large leaf that sticks out of the range is
 * reported WHOLE (its own va and size, not the range's part of it) and
 * its bits are NOT CLEARED, even with HT_AD_CLEAR: they stand for its
 * pages outside the range too, whose state clearing would lose.  The same
 * range harvested again reports it again, and a caller that needs to know
 * which 4 KiB page was written cannot tell from it.  For dirty tracking
 * at 4 KiB (live migration) pass HT_AD_SPLIT: every large leaf in the
 * range is first split until the range holds only 4 KiB leaves (parts
 * outside the range stay as large as they can: a 1 GiB leaf sticking out
 * leaves 2 MiB leaves outside); the new leaves inherit the large leaf's
 * A/D bits, so the harvest reports each 4 KiB page with them, and from
 * then on each page's bits are its own (as KVM splits huge pages when
 * dirty logging starts).  The space stays split; ht_map may merge it
 * again.  The frames the splits need are reserved before anything
 * changes.
 *
 * On failure nothing changed.  HT_EINVAL: NULL space, zero length, bits
 * not HT_A/HT_D, unknown flags.  With HT_AD_SPLIT also HT_ENOFRAME,
 * HT_ENOMEM, HT_EPROVIDER (the split frames cannot be had) and HT_EPABITS
 * (32-bit paging: a 4 MiB page above 4 GiB has no 4 KiB equivalent).
 * HT_ESHARED: the range overlaps a region shared into the space
 * (ht_share) and flags ask for a change.
 * Errors: HT_EINVAL, HT_ESHARED, HT_EALIGN, HT_ENONCANON, HT_ERANGE,
 * HT_EPABITS, HT_ENOFRAME, HT_ENOMEM, HT_EPROVIDER, and the provider's alloc
 * codes.
 */
HT_EXTERN long ht_harvest_ad(ht_as_t *as, ht_va_t va, uint64_t len,
    unsigned bits, unsigned flags, ht_ad_fn fn, void *arg);
/*
 * ht_harvest_ad's first name (it read like a test hook; it is the
 * production A/D harvest), kept for source compatibility.
 */
#define ht_test_clear_ad	ht_harvest_ad

/* One translation, as the MMU would do it. */
typedef struct ht_xlate {
	ht_va_t		va;
	ht_pa_t		pa;		/* of va itself (page + offset) */
	uint64_t	page_size;
	unsigned	level;		/* level of the leaf (0 = 4 KiB) */
	unsigned	attr;		/* effective: W/U AND over levels,
					   X unless any NX; G A D, HT_SW and
					   HT_LOCKED of the leaf */
	unsigned	nlevels;	/* entries read, root first */
	uint64_t	entries[HT_MAX_LEVELS];	/* [0] = the root's entry */
	ht_pa_t		entry_pa[HT_MAX_LEVELS]; /* where each was read: the
					   table's PA + index * entry size
					   (PAE root: the 32-byte root's PA
					   + 8 * index) */
} ht_xlate_t;

/*
 * Walk va from the root as the MMU would.  0 with the leaf in *r_x, or
 * HT_ENOTMAPPED (r_x->nlevels, entries and entry_pa tell where the walk
 * stopped; this answer does not set ht_errdetail()).  HT_EINVAL: NULL
 * argument; HT_ENONCANON: va in the hole (4/5-level); HT_ERANGE: va
 * beyond 4 GiB (32-bit and PAE); HT_EPROVIDER: a table outside the
 * provider's window that its map no longer returns.  Lock-free, like the
 * MMU: it may run beside any change of the space and returns the state
 * before or after a racing change of the same address, never a mix; a
 * walk that raced with a table's removal is done again.
 * Errors: HT_EINVAL, HT_ENONCANON, HT_ERANGE, HT_ENOTMAPPED, HT_EPROVIDER.
 */
HT_EXTERN int ht_translate(ht_as_t *as, ht_va_t va, ht_xlate_t *r_x);

/*
 * The physical address of va only (an emulator's hot lookup): the same
 * walk, the same codes and the same guarantees as ht_translate, without
 * the report.
 * Errors: HT_EINVAL, HT_ENONCANON, HT_ERANGE, HT_ENOTMAPPED, HT_EPROVIDER.
 */
HT_EXTERN int ht_va2pa(ht_as_t *as, ht_va_t va, ht_pa_t *r_pa);

/* One leaf mapping as walks report it. */
typedef struct ht_leaf {
	ht_va_t		va;
	ht_pa_t		pa;
	uint64_t	size;
	unsigned	level;		/* 0 = a 4 KiB page */
	unsigned	attr;		/* the leaf's own attributes */
	unsigned	eff;		/* effective HT_W/U/X: W and U ANDed
					   over the levels, X unless any NX */
	uint64_t	pte;
} ht_leaf_t;

/*
 * Call fn for every leaf in [start, last] (inclusive, so the whole space
 * can be named), in ascending VA order.  fn returns 0 to go on, anything
 * else to stop the walk (that value is returned as it is, whatever its
 * sign).  Returns 0 at the end.  Empty subtrees are skipped without being
 * read.  HT_EINVAL: NULL as or fn.  HT_ENONCANON: start in the
 * non-canonical hole (last may be in it: the walk skips the hole).
 * HT_ERANGE: start > last, or beyond 4 GiB in 32-bit and PAE.
 * Errors: HT_EINVAL, HT_ENONCANON, HT_ERANGE.
 */
typedef int (*ht_walk_fn)(void *arg, const ht_leaf_t *leaf);
HT_EXTERN int ht_walk(ht_as_t *as, ht_va_t start, ht_va_t last,
    ht_walk_fn fn, void *arg);

/*
 * Non-present entries that carry the client's data (a VMM's MMIO marks, a
 * kernel's swap entries): the MMU sees them as not present (bit 0 clear),
 * the library keeps them.  They live in the level-0 entry of a 4 KiB page
 * and pin their table: it is never freed (release, purge, reap) or stolen
 * while it holds one.  ht_unmap removes them; ht_map replaces them (also
 * with HT_MAP_NOREPLACE, which refuses only over present mappings);
 * protect, lock, unlock, test_clear_ad, ht_walk and ht_scan skip them;
 * ht_translate, ht_va2pa and ht_access see "not present" (ht_translate's
 * entries[] shows the value).
 *
 * ht_set_np writes value + i * incr into the level-0 entry of the i-th
 * 4 KiB page of [va, va + len), replacing what is there as ht_map does
 * (large pages that stick out are split; level-0 tables are created).
 * Every value must be non-zero, have bit 0 clear and fit the entry (32
 * bits in 32-bit paging): value even and non-zero, incr even when there
 * is more than one page, no value past the entry's width.  In EPT the
 * present bits are 0-2 (and 10 with HT_EPT_MBEC): every value has them
 * clear, and incr is a multiple of 8 (of 0x800 with MBEC).  On failure
 * nothing changed.  HT_EINVAL: a bad value (or NULL as, zero length);
 * HT_ELOCKED: locked mappings in the range; HT_EPABITS: in 32-bit paging
 * a 4 MiB page above 4 GiB that sticks out cannot be split; the rest as
 * ht_map.
 * HT_ESHARED: the range overlaps a region shared into the space
 * (ht_share).
 * Errors: HT_EINVAL, HT_ESHARED, HT_EALIGN, HT_ENONCANON, HT_ERANGE,
 * HT_EPABITS, HT_ELOCKED, HT_ENOFRAME, HT_ENOMEM, HT_EPROVIDER, and the
 * provider's alloc codes.
 */
HT_EXTERN int ht_set_np(ht_as_t *as, ht_va_t va, uint64_t len,
    uint64_t value, uint64_t incr) HT_MUST_CHECK;
/*
 * The non-present entry of the page holding va: 0 with *r_value, or
 * -HT_ENOTMAPPED (the entry is empty), -HT_EEXIST (a present mapping is
 * there: not such an entry), -HT_EINVAL (NULL argument), -HT_ENONCANON,
 * -HT_ERANGE (beyond 4 GiB in the 32-bit modes).
 * Errors: HT_EINVAL, HT_ENONCANON, HT_ERANGE, HT_ENOTMAPPED, HT_EEXIST.
 */
HT_EXTERN int ht_get_np(ht_as_t *as, ht_va_t va, uint64_t *r_value);
/*
 * Call fn for every non-present data entry in [start, last] (inclusive),
 * in ascending VA order, with the VA of its page and its value.  fn
 * returns 0 to go on, anything else to stop (that value is returned); it
 * must not change this address space.  0 at the end; HT_EINVAL, HT_ENONCANON
 * and HT_ERANGE as ht_walk.
 * Errors: HT_EINVAL, HT_ENONCANON, HT_ERANGE.
 */
typedef int (*ht_np_fn)(void *arg, ht_va_t va, uint64_t value);
HT_EXTERN int ht_walk_np(ht_as_t *as, ht_va_t start, ht_va_t last,
    ht_np_fn fn, void *arg);

/*
 * Check every invariant of an address space against its frames: each
 * table's valid count equals its valid entries, each link matches its
 * child, hash membership, holds, no frame used twice, tables only from
 * the pools, leaf and page counts.  0, or -HT_ECORRUPT with the first
 * problem in ht_errdetail(); -HT_EINVAL for a NULL space.  No call of
 * the caller may change the space meanwhile; the audit keeps the
 * context's stealers (other spaces' operations, ht_ctx_reap) off it.
 * Errors: HT_EINVAL, HT_ECORRUPT.
 */
HT_EXTERN int ht_audit(ht_as_t *as);

/* ------------------------------------------------------------------ */
/* Shared page tables (illumos ISM: hat_share / hat_unshare)           */
/* ------------------------------------------------------------------ */

/*
 * A region is built once in a source space and shared by many: the
 * sharers' entries one level up point at the source's own table frames,
 * so a change the source makes there is seen at once through every
 * sharer, and the TLB hook is called for every sharer of the changed
 * table (its `as` argument names the sharer, its range is in the sharer's
 * addresses).  Translations, walks, access checks and the audit of a
 * sharer read through the shared tables; every call that would write
 * them through the sharer (map, unmap, protect, chattr, lock, unlock,
 * set_np, and harvest_ad with HT_AD_CLEAR or HT_AD_SPLIT) is refused over
 * a shared region with -HT_ESHARED, until ht_unshare.  The sharer's
 * statistics count only its own leaves and tables, and the source's
 * non-present data entries (ht_set_np) are not seen through it.
 */
typedef struct ht_share_info {
	uint64_t	tables;		/* source tables linked into the sharer */
	uint64_t	table_bytes;	/* the VA they span */
	uint64_t	copied;		/* leaves copied into the sharer */
	uint64_t	copied_bytes;	/* the VA they map */
} ht_share_info_t;

/*
 * Make [va, va + len) of as show what [src_va, src_va + len) of src
 * maps.  Where va and src_va are both aligned to the span of a table
 * below the root (2 MiB for a level-0 table, 4 MiB in 32-bit paging;
 * 1 GiB for level 1; 512 GiB for level 2; ...) and the rest of the range
 * covers that span, the largest such table of src is shared: a table
 * that src lacks there is made, empty, so that what src maps there later
 * is shared too.  Elsewhere (unaligned edges, large pages of src that
 * cover a whole span) the leaves src has now are copied into as, locked
 * (never stolen), and later changes in src are not seen there.  What was
 * done is counted in *r_info (may be NULL).
 *
 * The range of as must be empty; src is not changed except for tables
 * made for sharing.  A space that shares out cannot share in and the
 * other way round.  The source's tables are never stolen while shared.
 * Destroying a sharer drops its shares; destroying a source first
 * unshares the region from every sharer (their TLB hooks are called and
 * they read it as unmapped), so neither order leaves a dangling table.
 * A TLB hook must not share, unshare or destroy a space.
 *
 * On failure no mapping of either space changed (empty tables made for
 * the share may remain, as after an unmap).  HT_EINVAL: NULL space,
 * zero length, as == src, spaces of different contexts, as shares out
 * or src shares in, either is serial (HT_AS_SERIAL).  HT_EALIGN / HT_ENONCANON / HT_ERANGE: either range
 * is not 4 KiB aligned / not canonical / wraps or leaves the space.
 * HT_EEXIST: the range of as maps something or overlaps a shared
 * region.  HT_EBUSY: as is live and src is not (HT_AS_NOMMU: an MMU
 * would walk tables written without atomics).  HT_ENOFRAME / HT_ENOMEM
 * / HT_EPROVIDER: no table frame, no host memory, a provider error.
 * Errors: HT_EINVAL, HT_EALIGN, HT_ENONCANON, HT_ERANGE, HT_EEXIST,
 * HT_EBUSY, HT_ENOFRAME, HT_ENOMEM, HT_EPROVIDER, and the provider's
 * alloc codes.
 */
HT_EXTERN int ht_share(ht_as_t *as, ht_va_t va, ht_as_t *src, ht_va_t src_va,
    uint64_t len, ht_share_info_t *r_info) HT_MUST_CHECK;
/*
 * End every shared region of as inside [va, va + len): the links to the
 * source's tables and the copied leaves go (the source's frames never
 * do); the TLB hook is called for as.  Returns the number of regions
 * ended (0 if there were none).  HT_EINVAL: NULL as, zero length, or a
 * region that the range cuts (regions end whole).  HT_EALIGN /
 * HT_ENONCANON / HT_ERANGE as for ht_unmap.  It needs no memory: a
 * region ends whole, so nothing is split.
 * Errors: HT_EINVAL, HT_EALIGN, HT_ENONCANON, HT_ERANGE.
 */
HT_EXTERN int ht_unshare(ht_as_t *as, ht_va_t va, uint64_t len);

/* ------------------------------------------------------------------ */
/* The reverse map (illumos hment): from a frame to its mappings       */
/* ------------------------------------------------------------------ */

/*
 * With config.rmap the context keeps, for every physical frame, where it
 * is mapped: in which space, at which VA, by which leaf.  Every call that
 * adds or removes a leaf keeps it exact (map, unmap, set_np, share's
 * copies, import, stealing, destroy; splits, protect and harvest change
 * no mapping), and ht_audit checks it against the leaves.  It is kept as
 * extents: a run of pages mapped in VA and PA order is one, however many
 * leaves and page sizes it takes (ht_stats_t.rmap_extents, rmap_bytes).
 *
 * The calls below take the 4 KiB frame that holds pa.  A large page that
 * maps it is one mapping, reported and acted on whole (as illumos's
 * hat_pageunload: split it first, with ht_unmap of the 4 KiB page, when
 * the rest of it must stay).  A leaf that a space reads through a table
 * shared from a source (ht_share) is the source's: ht_page_mappings
 * reports it for the source and again for each sharer (shared = 1); the
 * other calls change the source's leaf, which every sharer sees.  No space
 * of the context may be destroyed during these calls, and none may change
 * the mappings of pa meanwhile (as for overlapping ranges, htable.h's
 * threads rule).
 */
typedef struct ht_mapping {
	ht_as_t		*as;
	ht_va_t		va;		/* where pa's 4 KiB page is mapped */
	ht_va_t		leaf_va;	/* the leaf that maps it */
	uint64_t	size;		/* its page size */
	unsigned	level;		/* its level (0 = 4 KiB) */
	unsigned	attr;		/* as ht_translate reports them */
	unsigned	ad;		/* its HT_A / HT_D (ht_page_unload:
					   when it was removed; ht_page_sync:
					   before clearing) */
	int		shared;		/* seen through a source's table */
} ht_mapping_t;
/* Return non-zero to stop (ht_page_mappings only; the others go on). */
typedef int (*ht_mapping_fn)(void *arg, const ht_mapping_t *m);

/*
 * Call fn for every mapping of pa's frame in every space of ctx; returns
 * the number reported.  HT_EINVAL: NULL ctx, or config.rmap off.
 * HT_EPABITS: pa beyond the physical width.  HT_ENOMEM: no memory for
 * the list.
 * Errors: HT_EINVAL, HT_EPABITS, HT_ENOMEM.
 */
HT_EXTERN long ht_page_mappings(ht_ctx_t *ctx, ht_pa_t pa, ht_mapping_fn fn,
    void *arg) HT_MUST_CHECK;
/*
 * Unmap pa's frame from every space (balloon, page migration, KSM): every
 * leaf that maps it goes, whole; fn (may be NULL) is told each, with the
 * A/D bits it had when it was removed.  Returns the number of leaves
 * removed.  flags: HT_UNMAP_UNLOCK removes locked leaves too (a locked
 * one is HT_ELOCKED otherwise, as are ht_share's copies, which are
 * locked).  All or nothing: on failure no mapping changed.  HT_EINVAL:
 * NULL ctx, config.rmap off, unknown flags.  HT_EPABITS as above.
 * HT_ENOMEM: no memory for the list or the reverse map's extents.
 * Errors: HT_EINVAL, HT_EPABITS, HT_ELOCKED, HT_ENOMEM.
 */
HT_EXTERN long ht_page_unload(ht_ctx_t *ctx, ht_pa_t pa, unsigned flags,
    ht_mapping_fn fn, void *arg) HT_MUST_CHECK;
/*
 * Write-protect every mapping of pa's frame (copy on write, dirty
 * tracking): HT_W goes from each leaf that maps it, whole, and the TLB
 * hook is told.  Returns the number of leaves changed.
 * Errors: HT_EINVAL, HT_EPABITS, HT_ENOMEM.
 */
HT_EXTERN long ht_page_clear_write(ht_ctx_t *ctx, ht_pa_t pa) HT_MUST_CHECK;
/*
 * The Accessed and Dirty bits of pa's frame over all its mappings
 * (illumos hat_pagesync): returns HT_A | HT_D as any leaf that maps it
 * has them; fn (may be NULL) is told each leaf and its bits; with
 * HT_AD_CLEAR they are cleared (the TLB hook is told).  A large page's
 * bits are the whole page's.  HT_EINVAL: unknown flags, as above.
 * Errors: HT_EINVAL, HT_EPABITS, HT_ENOMEM.
 */
HT_EXTERN long ht_page_sync(ht_ctx_t *ctx, ht_pa_t pa, unsigned flags,
    ht_mapping_fn fn, void *arg) HT_MUST_CHECK;

/* ------------------------------------------------------------------ */
/* Per-CPU roots (illumos hat_switch, hat_pcp_update, KPTI)            */
/* ------------------------------------------------------------------ */

/*
 * A CPU root is one CPU's (or vCPU's) own top-level table, a frame from
 * the provider.  Its first user_entries entries (the user half) are
 * copies of the top-level entries of the space the CPU runs; the rest
 * (the kernel half) are copies of the top-level entries of a kernel
 * space, the same for every CPU.  ht_switch makes the copies and gives
 * the CR3 value; from then on every change of a top-level entry of the
 * running space or of the kernel space is copied into the CPU root
 * before the TLB hook is called, and the hook (config.tlb_info) names
 * the CPU roots that run the changed space.
 *
 * With config.kpti each CPU root is a pair: the kernel root as above and
 * a user root, whose user half is the same copies and whose kernel half
 * comes from a second space that maps only what user mode must see of
 * the kernel (entry code, GDT/IDT, TSS, entry stacks); those pages must
 * be mapped at the same addresses to the same frames in the kernel space
 * too, as the entry code runs on both roots (ht_cpu_root_create checks
 * it).  No mapping of a KPTI context is global.
 *
 * Only the top level is per CPU: every table below it belongs to its
 * space, so a CPU root costs one frame (two with KPTI) and a switch
 * copies user_entries entries.  A space may run on any number of CPU
 * roots at once; its changes are seen on all of them.
 */
typedef struct ht_cpu_root_cfg {
	unsigned	id;		/* the caller's CPU number, unique in
					   the context: the hook names it */
	unsigned	user_entries;	/* top-level entries [0, n) that come
					   from the running space; 0 = the
					   lower half in 4/5-level paging and
					   3/4 in 32-bit and PAE paging with
					   a kernel or kpti_user space, all
					   with neither */
	ht_as_t		*kernel;	/* the rest of the kernel root; NULL:
					   empty */
	ht_as_t		*kpti_user;	/* config.kpti: the rest of the user
					   root (required); else NULL */
} ht_cpu_root_cfg_t;

/*
 * A new CPU root running no space: its user half is empty, its kernel
 * half the kernel space's.  The kernel spaces must be ordinary (not
 * HT_AS_COPIED) spaces of ctx; ht_as_destroy of one empties that half in
 * every CPU root that uses it.  In 32-bit paging they may have no 4 MiB
 * page in the kernel half, and get none there later (see HT_AS_COPIED).
 * HT_EINVAL: NULL ctx, cfg or r_cr; user_entries larger than the root;
 * a kernel space of another context or HT_AS_COPIED, or with a 4 MiB
 * page in its kernel half in 32-bit paging; kpti_user missing with
 * config.kpti or given without it; a page that kpti_user maps in its
 * kernel half that the kernel space does not map at the same address to
 * the same frame; a kernel space given with user_entries covering the
 * whole root.  HT_EEXIST: the id is taken.  A kernel space that is not
 * live (HT_AS_NOMMU) is turned live first, as ht_as_set_mmu(k, 1) does:
 * its entries are copied into a root that an MMU walks; HT_EBUSY when
 * that fails (then nothing changed, unless the other kernel space
 * turned live).  HT_ENOMEM, HT_ENOFRAME, HT_EPROVIDER and the provider's
 * codes: no memory, no frame.
 * Errors: HT_EINVAL, HT_EEXIST, HT_EBUSY, HT_ENOMEM, HT_ENOFRAME,
 * HT_EPROVIDER, and the provider's alloc codes.
 */
HT_EXTERN int ht_cpu_root_create(ht_ctx_t *ctx, const ht_cpu_root_cfg_t *cfg,
    ht_cpu_root_t **r_cr) HT_MUST_CHECK;
/*
 * Free a CPU root and its frames (NULL is fine).  No CPU may still run
 * on it.
 * Errors: none.
 */
HT_EXTERN void ht_cpu_root_destroy(ht_cpu_root_t *cr);

/* What ht_switch gives. */
typedef struct ht_switch {
	uint64_t	cr3;		/* load this: the CPU root (or, for
					   an ordinary space, its own root),
					   PCID in bits 0..11; EPT: the EPT
					   pointer, as ht_as_eptp's with WB */
	uint64_t	user_cr3;	/* KPTI: the user root, PCID | 0x800;
					   else equal to cr3 */
	int		flush;		/* 1: the TLB may hold stale entries
					   under this PCID (the space changed
					   since this CPU root last ran it, or
					   the PCID served another space, or
					   there is no TLB hook): do not set
					   CR3 bit 63 (no-flush) */
} ht_switch_t;

/*
 * Make cr run as (NULL: nothing; the user half is emptied): an
 * HT_AS_COPIED space's top-level entries are copied into the user half
 * of cr (both roots with KPTI) and cr3 names cr; an ordinary space is
 * loaded through its own root (its kernel half is its own business) and
 * cr's user half is emptied.  Either way cr is recorded as running as
 * until the next switch, and the TLB hook names it for as.  Switches of
 * different CPU roots run concurrently; a CPU switches its own root.
 * HT_EINVAL: NULL cr or r_sw; as of another context; an ordinary space
 * on a KPTI pair (KPTI needs HT_AS_COPIED spaces, as illumos makes every
 * process under KPTI).  A space that is not live (HT_AS_NOMMU) is turned
 * live first, as ht_as_set_mmu(as, 1) does, since the CR3 this gives is
 * what an MMU will walk; HT_EBUSY when that fails (nothing changed).
 * Errors: HT_EINVAL, HT_EBUSY.
 */
HT_EXTERN int ht_switch(ht_cpu_root_t *cr, ht_as_t *as, ht_switch_t *r_sw);
/*
 * The space cr runs (NULL if none).
 * Errors: none.
 */
HT_EXTERN ht_as_t *ht_cpu_root_running(const ht_cpu_root_t *cr);
/*
 * cr's id (ht_cpu_root_cfg_t.id).
 * Errors: none.
 */
HT_EXTERN unsigned ht_cpu_root_id(const ht_cpu_root_t *cr);
/*
 * The physical address of cr's kernel root (user = 0) or of its KPTI
 * user root (user = 1; 0 without KPTI), without PCID.
 * Errors: none.
 */
HT_EXTERN ht_pa_t ht_cpu_root_pa(const ht_cpu_root_t *cr, int user);
/*
 * Give as a PCID (0..4095, below 0x800 with KPTI; 0 = none) for the CR3
 * values of its switches and for the TLB hook.  The next switch uses it.
 * HT_EINVAL: NULL as, a PCID out of range, or 32-bit, PAE or EPT paging
 * (they have no PCIDs; an EPT pointer's low bits are its own).
 * Errors: HT_EINVAL.
 */
HT_EXTERN int ht_as_set_pcid(ht_as_t *as, unsigned pcid);
/*
 * Check cr against its spaces: every entry of its user half equals the
 * running space's top-level entry (zero for none or an ordinary space),
 * every entry of its kernel half the kernel space's (zero for none), in
 * both roots with KPTI.  0, or -HT_ECORRUPT naming the first entry that
 * differs.  The spaces must not change meanwhile.
 * Errors: HT_EINVAL, HT_ECORRUPT.
 */
HT_EXTERN int ht_cpu_root_audit(ht_cpu_root_t *cr);

/* ------------------------------------------------------------------ */
/* Scanning tables in a memory image (untrusted input)                 */
/* ------------------------------------------------------------------ */

/*
 * Tables that someone else wrote (a guest's memory saved by a VMM, a crash
 * dump) are read, never trusted: shared tables and entries that point back
 * up (self-maps) are legal and read the way the MMU reads them, level by
 * level, so no walk loops or goes deeper than the mode's levels; a table
 * frame beyond the image reads as zeros; nothing outside the image is read.
 *
 * read: copy len bytes of physical memory at pa into buf.  Return 0; or 1
 *       when some of the range is not backed (those bytes must be zero,
 *       as unassigned memory reads on a PC); or a negative HT_E* code,
 *       which ends the scan with that code.
 */
typedef int (*ht_phys_read_fn)(void *arg, ht_pa_t pa, void *buf,
    size_t len);

/* ht_scan_cfg_t flags */
#define HT_SCAN_QEMU	0x1u	/* read as QEMU's monitor does (below) */
/*
 * EPT images: the VMCS has mode-based execute control on (bit 10 makes an
 * entry present and allows user-mode fetches), the CPU allows
 * execute-only pages (else they are misconfigurations).  Refused in other
 * modes, as HT_SCAN_QEMU is in EPT.  ht_scan_access takes both from its
 * ht_cpu_t instead (HT_CPU_EPT_*).
 */
#define HT_SCAN_EPT_MBEC 0x2u
#define HT_SCAN_EPT_XONLY 0x4u

typedef struct ht_scan_cfg {
	ht_mode_t	mode;
	uint64_t	cr3;		/* as the CPU holds it: PCID, PWT/PCD
					   and bit 63 are ignored; PAE takes a
					   32-byte-aligned PDPT.  EPT: the
					   EPTP; bit 6 enables A/D, bits 5:3
					   are 0 or the walk length - 1 (3 for
					   ept4, 4 for ept5), bits 2:0 and
					   11:7 are ignored */
	unsigned	pa_bits;	/* MAXPHYADDR; 0 = the mode's widest */
	unsigned	flags;
	uint64_t	max_leaves;	/* ht_scan fails past this; 0 = none */
	ht_phys_read_fn	read;
	void		*read_arg;
} ht_scan_cfg_t;

typedef struct ht_scan_stats {
	uint64_t	leaves;		/* leaves reported */
	uint64_t	tables;		/* distinct (frame, level) tables read */
	uint64_t	unbacked;	/* of them, beyond the image (zeros) */
	ht_pa_t		first_unbacked;	/* the first such frame */
	uint64_t	reserved;	/* present entries skipped: reserved
					   bits set (the MMU would fault);
					   once per (table, level), however
					   often a shared table is reached */
} ht_scan_stats_t;

/*
 * Call fn for every leaf the tables map, in ascending (canonical) VA order,
 * with leaf->eff the effective permissions (leaf->attr never has
 * HT_LOCKED: bit 9 (EPT: 11) belongs to whoever wrote the image and shows
 * as HT_SW_BIT9, beside the HT_SW bits of the mode).  Entries with
 * reserved bits set (EPT: misconfigured ones) are skipped as the faults
 * they are, unless HT_SCAN_QEMU: then
 * entries are read as QEMU 7.2's `info tlb` reads them (table addresses
 * masked to bits 12..49, no reserved-bit checks, PS honoured in PDEs and
 * 64-bit PDPTEs only).  32-bit paging is read with CR4.PSE set.
 *
 * fn returns 0 to go on, anything else to stop: ht_scan returns that
 * value.  Returns 0 at the end, -HT_ERANGE past cfg->max_leaves,
 * -HT_EINVAL for a bad cfg (NULL cfg, read or fn, unknown flags or mode,
 * pa_bits outside 32..the mode's widest), -HT_ENOMEM, -HT_EPROVIDER when
 * read returns a positive value other than 1, or the read function's
 * negative code.  r_stats (optional) is filled in every case.  Each table
 * is read once per level it is reached at; revisits of a shared table
 * read only its live entries, so the time is bounded by the leaves
 * reported and the distinct tables, whatever the sharing.
 * Errors: HT_EINVAL, HT_ERANGE, HT_ENOMEM, HT_EPROVIDER, and the read
 * function's codes.
 */
HT_EXTERN int ht_scan(const ht_scan_cfg_t *cfg, ht_walk_fn fn, void *arg,
    ht_scan_stats_t *r_stats);

/* Why a scanned translation stopped. */
typedef enum ht_scan_stop {
	HT_STOP_MAPPED = 0,	/* a leaf: pa, page_size, attr, eff valid */
	HT_STOP_NONCANON,	/* va is not canonical: nothing was read */
	HT_STOP_NOTPRESENT,	/* the last entry read has P clear */
	HT_STOP_RESERVED	/* the last entry read has reserved bits */
} ht_scan_stop_t;

typedef struct ht_scan_step {
	ht_pa_t		addr;		/* physical address of the entry */
	uint64_t	pte;		/* its value as read */
	unsigned	level;		/* of its table; 0 = 4 KiB entries */
	unsigned	index;		/* entry number in its table */
	int		unbacked;	/* beyond the image: read as zero */
} ht_scan_step_t;

typedef struct ht_scan_xlate {
	ht_va_t		va;
	ht_scan_stop_t	stop;
	ht_pa_t		pa;		/* of va itself (page + offset) */
	uint64_t	page_size;
	unsigned	level;		/* of the leaf */
	unsigned	attr;		/* the leaf's own attributes */
	unsigned	eff;		/* effective HT_W/U/X */
	unsigned	nsteps;		/* entries read, root first */
	ht_scan_step_t	step[HT_MAX_LEVELS];
} ht_scan_xlate_t;

/*
 * Translate va through the image's tables, one entry per level, as the
 * MMU would.  0 with the outcome in r_x->stop (an unmapped or
 * non-canonical va is not an error), or -HT_EINVAL (bad cfg as ht_scan,
 * NULL r_x), -HT_EPROVIDER (read returned a positive value other than 1)
 * or the read function's negative code.
 * Errors: HT_EINVAL, HT_EPROVIDER, and the read function's codes.
 */
HT_EXTERN int ht_scan_translate(const ht_scan_cfg_t *cfg, ht_va_t va,
    ht_scan_xlate_t *r_x);

/* ------------------------------------------------------------------ */
/* Pictures: the data of `htable show`                                 */
/* ------------------------------------------------------------------ */

/*
 * Where a picture's bytes go: take len bytes at buf.  Return 0, or a
 * negative HT_E* code, which ends the picture with that code.
 */
typedef int (*ht_write_fn)(void *arg, const void *buf, size_t len);

/*
 * Write the data of a picture of the space under cfg's root: one JSON
 * object (ASCII; '<', '>' and '&' escaped, so that it may sit in an HTML
 * script element) that `htable show --data` makes a page of.  The tables
 * are read as ht_scan reads them, MMU-wise (HT_SCAN_QEMU is refused: a
 * picture shows what the MMU sees).  name (may be NULL: "") names the
 * space.  Version 1 holds:
 *  - "htable_picture": 1, "name", "mode" (ht_mode_name), "cr3" and
 *    "root" (hex strings: the CR3 or EPTP as given, the root table's PA),
 *    "ept" (HT_EPT_* of the EPTP and cfg->flags; 0 outside EPT);
 *  - "geometry": "levels", "pte_size", "top" and "entries" (entries in
 *    the root and in other tables), "shift" (per level, [0] = 12),
 *    "va_bits", "hole" (true when the upper half is sign-extended);
 *  - "bits": the HT_* attribute bits by name ("w", "u", "x", "g", "pwt",
 *    "pcd", "pat", "noread", "a", "d", "sw_mask", "sw9", "sve", "vgp",
 *    "pw"), so a reader needs no copy of this header;
 *  - "ranges": the leaves as `htable dump` coalesces them (consecutive
 *    in VA and PA, the same page size, effective rights, G/A/D, memory
 *    type and software bits), ascending, each [vpn, pages, ppn, level,
 *    eff, attr]: vpn the first *linear* VA >> 12 (the VA cut to va_bits
 *    bits: no sign extension, so every number is below 2^53), pages the
 *    number of 4 KiB pages, ppn the PA >> 12, eff and attr as ht_leaf_t;
 *  - "tables": every table the MMU can reach, each (frame, level) once,
 *    root first then breadth first, each ["pa", level, vpn, unbacked,
 *    entries]: pa in hex, vpn the linear VA >> 12 where it was first
 *    reached, unbacked 1 when the image does not hold it (read as
 *    zeros); entries its non-zero entries, ascending,
 *    as [index, count, kind, "value", step]: kind 0 leaves, 3 not
 *    present, 4 reserved bits (EPT: misconfigured), where entry
 *    index + k holds value + k * step (step in hex); kind 1 a link and
 *    kind 2 a self-map (a link to the frame of the table itself or of a
 *    table above it), count 1 and step the index of the linked table;
 *  - "reached": for each table, the number of entries that link it (the
 *    root 1; more: a shared table, or one a self-map reaches again);
 *  - "stats": "leaves", "ranges", "tables", "unbacked", "reserved" (as
 *    ht_scan_stats_t), "selfmaps", "shared" (tables reached more than
 *    once).
 * Returns 0, or -HT_EINVAL (bad cfg as ht_scan, HT_SCAN_QEMU, NULL out,
 * or out returned a positive value), -HT_ERANGE (past cfg->max_leaves),
 * -HT_ENOMEM, -HT_EPROVIDER (read returned a positive value other than
 * 1), the read function's or out's negative code; out may have been
 * given part of the object then.  The bytes come in blocks of up to
 * 64 KiB, most of them whole.
 * Errors: HT_EINVAL, HT_ERANGE, HT_ENOMEM, HT_EPROVIDER, the read
 * function's codes, and the write function's.
 */
HT_EXTERN int ht_scan_picture(const ht_scan_cfg_t *cfg, const char *name,
    ht_write_fn out, void *arg);

/*
 * The same for an address space of ours, read through its frames: the
 * space must not change meanwhile (like ht_audit).  The EPTP of an EPT
 * space is ht_as_eptp's with write-back tables.  HT_EINVAL: NULL as or
 * out, or an HT_AS_COPIED space (its root has no frame: picture a CPU
 * root that runs it, or the image it lives in).
 * Errors: HT_EINVAL, HT_ENOMEM, and the write function's codes.
 */
HT_EXTERN int ht_as_picture(ht_as_t *as, const char *name,
    ht_write_fn out, void *arg);

/* ------------------------------------------------------------------ */
/* Access checks: what the MMU does with one access                    */
/* ------------------------------------------------------------------ */

/* Kinds of access */
#define HT_ACC_READ	0
#define HT_ACC_WRITE	1
#define HT_ACC_FETCH	2

/* ht_cpu_t flags: the control bits an access depends on */
#define HT_CPU_WP	0x01u	/* CR0.WP: supervisor writes obey R/W */
#define HT_CPU_NXE	0x02u	/* EFER.NXE: bit 63 is NX, else reserved */
#define HT_CPU_SMEP	0x04u	/* CR4.SMEP */
#define HT_CPU_SMAP	0x08u	/* CR4.SMAP */
#define HT_CPU_AC	0x10u	/* EFLAGS.AC: lifts SMAP for explicit
				   supervisor data accesses */
#define HT_CPU_PKE	0x20u	/* CR4.PKE (4- and 5-level paging) */
#define HT_CPU_NO1G	0x40u	/* no 1 GiB pages: PS in a PDPTE is
				   reserved (CPUID lacks PDPE1GB) */
/* EPT only (refused elsewhere), with HT_CPU_NO1G the only others used */
#define HT_CPU_EPT_MBEC	0x80u	/* mode-based execute control on */
#define HT_CPU_EPT_XONLY 0x100u	/* execute-only pages allowed */

/*
 * The CPU an access runs on.  32-bit paging is taken with CR4.PSE set
 * (PSE-36), like every CPU of the last 25 years.
 */
typedef struct ht_cpu {
	unsigned	flags;		/* HT_CPU_* */
	uint32_t	pkru;		/* with HT_CPU_PKE */
	unsigned	pa_bits;	/* MAXPHYADDR; 0 = the mode's widest */
} ht_cpu_t;

/* Page-fault error code bits (Intel SDM vol. 3, 4.7) */
#define HT_PF_P		0x01u	/* a protection fault, not a missing page */
#define HT_PF_W		0x02u	/* the access was a write */
#define HT_PF_U		0x04u	/* the access was at CPL 3 */
#define HT_PF_RSVD	0x08u	/* a reserved bit was set */
#define HT_PF_I		0x10u	/* an instruction fetch (with SMEP or NXE) */
#define HT_PF_PK	0x20u	/* a protection-key violation */

/*
 * EPT violation exit qualification bits (SDM 3C, table "Exit
 * Qualification for EPT Violations"): the access, then the AND of each
 * right over the entries of the walk (0 where an entry was not present).
 */
#define HT_EPTQ_READ	0x01u	/* the access was a data read */
#define HT_EPTQ_WRITE	0x02u	/* a data write */
#define HT_EPTQ_FETCH	0x04u	/* an instruction fetch */
#define HT_EPTQ_R	0x08u	/* the address was readable */
#define HT_EPTQ_W	0x10u	/* writable */
#define HT_EPTQ_X	0x20u	/* executable (MBEC: supervisor-mode) */
#define HT_EPTQ_XU	0x40u	/* MBEC: user-mode executable; else 0 */

/* What an access does */
typedef enum ht_fault {
	HT_FAULT_NONE = 0,	/* it completes */
	HT_FAULT_PF = 14,	/* #PF with error_code */
	HT_FAULT_GP = 13,	/* #GP: the VA is not canonical */
	/* EPT: the VM exits (basic exit reasons 48 and 49) */
	HT_FAULT_EPT_VIOLATION = 48,	/* error_code: HT_EPTQ_* */
	HT_FAULT_EPT_MISCONFIG = 49,	/* error_code 0 */
	/* AMD nested paging: #VMEXIT(NPF), exit code 0x400 */
	HT_FAULT_NPF = 0x400		/* error_code: the HT_PF_* bits */
} ht_fault_t;

typedef struct ht_access {
	ht_fault_t	fault;
	uint32_t	error_code;	/* HT_PF_* for HT_FAULT_PF, HT_EPTQ_*
					   for HT_FAULT_EPT_VIOLATION */
	ht_pa_t		pa;		/* HT_FAULT_NONE: where it lands */
	uint64_t	page_size;
	unsigned	nsteps;		/* entries read, root first */
	ht_scan_step_t	step[HT_MAX_LEVELS];
	/*
	 * The bits the MMU sets when the access completes: A in every entry
	 * read that has one (bit l for the level-l entry; PAE PDPTEs have
	 * none), and D in the leaf for a write.
	 */
	unsigned	set_a;
	int		set_d;
} ht_access_t;

/*
 * Decide one access (HT_ACC_*, at CPL cpl) to va on cpu, exactly as the
 * MMU does: the walk, reserved bits for cpu's MAXPHYADDR, NXE and page
 * sizes, then U/S, R/W with WP, NX, SMEP, SMAP with AC, and protection
 * keys.  ht_access reads an address space of ours, ht_scan_access an
 * image.  0 with the answer in *r_acc (a non-canonical va is a #GP
 * answer, not an error), or -HT_EINVAL (NULL argument, acc or cpl out of
 * range, unknown cpu flags or HT_CPU_EPT_* outside EPT, cpu->pa_bits
 * outside 32..52, an EPTP whose bits 5:3 name another walk length),
 * -HT_ERANGE for a VA beyond 4 GiB in 32-bit and PAE paging, or beyond
 * 2^48 / 2^57 in nested paging and EPT.  In nested paging (HT_MODE_NPT4,
 * HT_MODE_NPT5) every access is a user one whatever cpl says (the CPU
 * walks nested tables as user accesses: the error code has HT_PF_U), and
 * of cpu's flags only HT_CPU_NXE and HT_CPU_NO1G apply.  In EPT
 * (HT_MODE_EPT4, HT_MODE_EPT5)
 * the access is to a guest-physical address: it completes, or is an EPT
 * violation (error_code the exit qualification's bits 6:0, HT_EPTQ_*) or
 * an EPT misconfiguration (a present entry with reserved bits, write
 * without read, execute-only on a CPU without HT_CPU_EPT_XONLY, memory
 * type 2, 3 or 7, or a page size the CPU lacks); of cpu's flags only
 * HT_CPU_NO1G, HT_CPU_EPT_MBEC and HT_CPU_EPT_XONLY apply, a fetch at
 * cpl 3 is one from a user-mode linear address (MBEC checks bit 10, else
 * bit 2), and set_a/set_d are the EPT accessed and dirty bits, only when
 * the EPTP enables them (ht_access: the context's HT_EPT_AD;
 * ht_scan_access: bit 6 of cfg->cr3).  cpu->pa_bits is the CPU's
 * MAXPHYADDR, not the mode's: 32-bit paging names min(MAXPHYADDR, 40)
 * bits (SDM 4.3), so a 52-bit CPU is a valid question in that mode.
 * Errors: HT_EINVAL, HT_ERANGE.
 */
HT_EXTERN int ht_access(ht_as_t *as, const ht_cpu_t *cpu, ht_va_t va,
    unsigned acc, unsigned cpl, ht_access_t *r_acc);
/*
 * ht_access over an image (cfg as ht_scan's; its flags and max_leaves
 * are not used).  Errors of ht_access, or the read function's negative
 * code.  (Unlike ht_scan, a positive value other than 1 from read is
 * taken as 0.)
 * Errors: HT_EINVAL, HT_ERANGE, and the read function's codes.
 */
HT_EXTERN int ht_scan_access(const ht_scan_cfg_t *cfg, const ht_cpu_t *cpu,
    ht_va_t va, unsigned acc, unsigned cpl, ht_access_t *r_acc);

/*
 * Nested translation: a guest's linear address through the guest's own
 * tables (32-bit, PAE, 4- or 5-level paging, at guest-physical addresses)
 * and every guest-physical address that walk touches through the
 * hypervisor's tables (EPT or NPT) to host-physical memory, as the CPU
 * does it in a guest.
 */
typedef struct ht_nested_cfg {
	ht_mode_t	guest_mode;
	uint64_t	guest_cr3;	/* as ht_scan_cfg_t.cr3, guest-physical */
	ht_mode_t	host_mode;	/* npt4, npt5, ept4 or ept5 */
	uint64_t	host_root;	/* nCR3, or the EPTP (as ht_scan_cfg_t) */
	ht_phys_read_fn	read;		/* host-physical memory */
	void		*read_arg;
} ht_nested_cfg_t;

/* EPT violation qualification bits of a guest's linear access */
#define HT_EPTQ_GLA	0x080u	/* the guest linear address is valid */
#define HT_EPTQ_FINAL	0x100u	/* the access was to the final address,
				   not to a guest paging-structure entry */
/* NPF EXITINFO1 bits above the error code */
#define HT_NPF_FINAL	(1ull << 32)	/* the final guest-physical address */
#define HT_NPF_TABLE	(1ull << 33)	/* a guest page-table access */

/* One guest entry read: where it is in both spaces, and the host's walk */
typedef struct ht_nested_step {
	ht_scan_step_t	guest;		/* addr: the entry's guest-physical
					   address; pte: its value */
	ht_pa_t		hpa;		/* its host-physical address */
	ht_access_t	host;		/* the host walk of guest.addr */
} ht_nested_step_t;

typedef struct ht_nested {
	/*
	 * HT_FAULT_NONE; the guest's own HT_FAULT_PF (error_code the guest's
	 * #PF error code) or HT_FAULT_GP; or a VM exit of the host's tables:
	 * HT_FAULT_EPT_VIOLATION (error_code the qualification, with
	 * HT_EPTQ_GLA and, for the final address, HT_EPTQ_FINAL),
	 * HT_FAULT_EPT_MISCONFIG, HT_FAULT_NPF (error_code the #PF-style
	 * code, exit_info1 that with HT_NPF_FINAL or HT_NPF_TABLE).
	 */
	ht_fault_t	fault;
	uint32_t	error_code;
	uint64_t	exit_info1;
	/*
	 * A host fault's place: the index in step[] of the guest entry whose
	 * read faulted, or nsteps for the final address; -1 otherwise.
	 * fault_gpa: the guest-physical address the host walk failed on.
	 */
	int		stage;
	ht_pa_t		fault_gpa;
	ht_pa_t		gpa;		/* the guest translation of va */
	ht_pa_t		pa;		/* host-physical (completed) */
	uint64_t	page_size;	/* the smaller of the two pages */
	unsigned	nsteps;		/* guest entries read, root first */
	ht_nested_step_t step[HT_MAX_LEVELS];
	ht_access_t	final;		/* the host walk of gpa */
	/* the A/D bits the guest walk sets in the guest's entries */
	unsigned	guest_set_a;
	int		guest_set_d;
} ht_nested_t;

/*
 * Decide one guest access (HT_ACC_*, at CPL cpl, on guest CPU gcpu) to va
 * through both stages, as ht_scan_access does for one.  Each guest entry
 * read is a host access to its guest-physical address: a write when the
 * host sets A/D (NPT always, EPT when the EPTP enables them; the SDM and
 * APM treat the guest's table accesses so), a read otherwise, at user
 * level; the final address is the guest's access itself (under EPT's
 * MBEC a fetch is a user-mode one when the guest's page is user).  hcpu
 * is the host CPU as ht_scan_access takes it in the host mode.  0 with
 * the answer in *r, or -HT_EINVAL (NULL argument; a guest mode that is
 * not an x86 one or a host mode that is not nested; acc, cpl or either
 * CPU's flags as ht_scan_access refuses them), -HT_ERANGE (as
 * ht_scan_access, for va), or the read function's negative code.
 * Errors: HT_EINVAL, HT_ERANGE, and the read function's codes.
 */
HT_EXTERN int ht_nested_access(const ht_nested_cfg_t *cfg,
    const ht_cpu_t *gcpu, const ht_cpu_t *hcpu, ht_va_t va, unsigned acc,
    unsigned cpl, ht_nested_t *r);

/* ------------------------------------------------------------------ */
/* The translation cache: a soft TLB for emulators                     */
/* ------------------------------------------------------------------ */

/*
 * A soft TLB caches 4 KiB translations of one address space for one
 * emulator thread (a vCPU, an interpreter): the thread looks an access up
 * with ht_stlb_lookup, inline, and on a miss calls ht_stlb_fill, which
 * decides the access as ht_access does, sets Accessed and Dirty as the MMU
 * would, and caches the answer.
 *
 * It never returns a stale translation.  Every change that the TLB hook
 * reports for the space empties the entries it covers before the changing
 * call returns, whether or not the context has a hook, and so do the
 * changes of a source forwarded to a space that shares its tables
 * (ht_share).  So once ht_map, ht_unmap, ht_protect, ht_harvest_ad, ... has
 * returned, no lookup on any thread returns what it replaced; a lookup
 * that runs beside such a call returns the translation of before or after
 * it, as a hardware TLB may until its shootdown completes.  A fill that
 * races with a change keeps nothing it cannot prove current.
 *
 * Like a hardware TLB:
 *  - an entry records which accesses (read, write, fetch, each at CPL 3
 *    and below) the translation allows on the CPU given at creation (WP,
 *    SMEP, SMAP and AC, NXE, PKE and PKRU), and a lookup hits only for an
 *    allowed access;
 *  - a write hits only if the leaf was Dirty when the entry was filled:
 *    otherwise it misses, and the fill sets D, as an MMU does on the
 *    first write through a clean TLB entry;
 *  - nothing negative is cached: a fault is never remembered, and a right
 *    granted later (a protect that adds W) shows at the next miss;
 *  - one entry per 4 KiB page, also inside a large page.
 * Direct-mapped by virtual page number: entry (va >> 12) & (n - 1).
 *
 * ABI: ht_stlb_t's two public fields and ht_stlb_ent_t are the one struct
 * layout of this library that callers compile against, because a hit
 * must cost no call (an index, the tag's load and compare, the address's
 * load: about a nanosecond; `make bench`, stlb_hit_*).  The library
 * allocates the object and its entries (64-byte aligned, four entries a
 * cache line; the counters that invalidating threads write are on lines
 * of their own), so the caller never needs its size.
 *
 * Threads: ht_stlb_lookup, ht_stlb_fill, ht_stlb_flush and
 * ht_stlb_set_cpu are the owner's (one thread at a time, in practice the
 * vCPU's); invalidations come from any thread at any time.  A space may
 * have any number of soft TLBs.  ht_as_destroy detaches those still
 * attached: they are emptied and their fills fail with HT_EINVAL; they
 * must still be freed with ht_stlb_destroy.  As with every call on a
 * space, none of these may run beside the destroy of its space.
 *
 * The provider's map callback (ht_frame_ops_t) must not change the space
 * that a fill reads through it: a change waits for fills of the space
 * in flight (as a TLB shootdown waits for the other CPUs' walks).
 */

/* An entry: the tag says which page and which accesses; 0 = empty. */
typedef struct ht_stlb_ent {
	uint64_t	se_tag;		/* (va & ~0xfff) | HT_STLB_BIT()s;
					   loaded and stored atomically */
	uint64_t	se_pa;		/* PA of the 4 KiB page */
} ht_stlb_ent_t;

typedef struct ht_stlb {
	ht_stlb_ent_t	*st_ent;	/* st_mask + 1 entries */
	uint64_t	st_mask;	/* entries - 1 (a power of two) */
	/* private below this line: the library's object continues */
} ht_stlb_t;

/*
 * The tag bit that allows access acc (HT_ACC_*) at CPL cpl; bit 11 (never
 * set in a tag) for values out of range, so that they always miss.
 */
#define HT_STLB_BIT(acc, cpl)						\
	((uint64_t)1 << ((acc) <= HT_ACC_FETCH && (cpl) <= 3 ?		\
	    (acc) + ((cpl) == 3 ? 3u : 0u) : 11u))

/*
 * The hit path: 1 with *r_pa = the physical address of va when the cache
 * holds va's page with access acc (HT_ACC_*) at CPL cpl allowed (and, for
 * a write, the page Dirty); 0 otherwise (call ht_stlb_fill).  Out-of-range
 * acc or cpl, a non-canonical va, or a detached cache: 0.  Owner thread
 * only.
 * Errors: none.
 */
static inline int
ht_stlb_lookup(const ht_stlb_t *stlb, ht_va_t va, unsigned acc,
    unsigned cpl, ht_pa_t *r_pa)
{
	const ht_stlb_ent_t *e = &stlb->st_ent[(va >> HT_PAGE_SHIFT) &
	    stlb->st_mask];
	uint64_t need = HT_STLB_BIT(acc, cpl);
	/* relaxed: only invalidations race, and they only empty tags */
	uint64_t tag = __atomic_load_n(&e->se_tag, __ATOMIC_RELAXED);

	/* the page and the right in one compare */
	if ((tag & (~(uint64_t)0xfff | need)) !=
	    ((va & ~(uint64_t)0xfff) | need))
		return (0);
	*r_pa = e->se_pa | (va & 0xfff);
	return (1);
}

/*
 * Make a soft TLB of `entries` entries (a power of two, 1 .. 2^24) for
 * `as`, deciding accesses as `cpu` does (copied), attached from now on:
 * every change of `as` reported after this call returns empties it.
 * Codes: EINVAL (NULL as, cpu or r_stlb; entries 0, not a power of two or
 * above 2^24; cpu as ht_access refuses it: unknown flags, pa_bits outside
 * 32..52); ENOMEM.  On failure nothing is made.
 * Errors: HT_EINVAL, HT_ENOMEM.
 */
HT_EXTERN int ht_stlb_create(ht_as_t *as, unsigned entries,
    const ht_cpu_t *cpu, ht_stlb_t **r_stlb) HT_MUST_CHECK;
/*
 * Detach stlb from its space (waiting for an invalidation in progress in
 * it) and free it.  NULL: nothing.  Not beside a call on stlb.
 * Errors: none.
 */
HT_EXTERN void ht_stlb_destroy(ht_stlb_t *stlb);
/*
 * The miss path: decide access acc (HT_ACC_*) at CPL cpl to va exactly as
 * ht_access(as, cpu, ...) does, with r_acc the same answer.  When the
 * access completes, set the bits the MMU sets (r_acc->set_a, set_d) that
 * are not set yet, each with a compare-and-swap from the value the walk
 * read (a change in between makes the walk run again, as the MMU's does),
 * and cache the page: its PA and every access the translation allows (a
 * write only if the leaf is now Dirty, or has no dirty bit: EPT without
 * A/D).  A fault is not cached.  0 with
 * *r_acc, or:
 *   EINVAL	NULL stlb or r_acc; acc or cpl out of range; stlb detached
 *		(its space was destroyed).
 *   ERANGE	va beyond 4 GiB in 32-bit and PAE paging.
 * A table that the provider's map no longer reaches reads as not present
 * (ht_access's reading).  Owner thread only.
 * Errors: HT_EINVAL, HT_ERANGE.
 */
HT_EXTERN int ht_stlb_fill(ht_stlb_t *stlb, ht_va_t va, unsigned acc,
    unsigned cpl, ht_access_t *r_acc) HT_MUST_CHECK;
/*
 * Empty stlb (a CR3 load of a TLB, without the space changing).  NULL:
 * nothing.  Owner thread only.
 * Errors: none.
 */
HT_EXTERN void ht_stlb_flush(ht_stlb_t *stlb);
/*
 * Decide later accesses as cpu does (CR0.WP, CR4, EFER.NXE, EFLAGS.AC or
 * PKRU changed) and empty stlb.  Codes: EINVAL (NULL argument, stlb
 * detached, cpu as ht_stlb_create refuses it); on failure nothing
 * changes.  Owner thread only.
 * Errors: HT_EINVAL.
 */
HT_EXTERN int ht_stlb_set_cpu(ht_stlb_t *stlb, const ht_cpu_t *cpu);
/*
 * The space stlb is attached to, NULL once detached (by the destroy of
 * the space) or for a NULL stlb.
 * Errors: none.
 */
HT_EXTERN ht_as_t *ht_stlb_as(const ht_stlb_t *stlb);

typedef struct ht_stlb_stats {
	uint64_t	fills;		/* entries ht_stlb_fill cached */
	uint64_t	races;		/* of those, emptied again at once: a
					   change was reported during the fill */
	uint64_t	invals;		/* invalidations received (one per
					   range reported for the space) */
	unsigned	entries;	/* non-empty entries now */
} ht_stlb_stats_t;
/*
 * Counts since creation (entries: now).  EINVAL: NULL argument.
 * Errors: HT_EINVAL.
 */
HT_EXTERN int ht_stlb_stats(const ht_stlb_t *stlb, ht_stlb_stats_t *r_st);

#ifdef __cplusplus
}
#endif
#endif /* HTABLE_H */
