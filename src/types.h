/*
 * types.h - the three internal objects: context, address space (hat) and
 * page-table descriptor (htable), with the lock that protects each field.
 *
 * Lock order (never take them the other way round):
 *   a no-MMU space's hat_nm_lock (outermost: one per call, nommu.c; held
 *   across provider callbacks and TLB hooks like a caller's own lock, so
 *   not in the debug record)  ->
 *   ctx_list_lock  ->  (dropped before anything below is taken)
 *   bucket lock (lock.h, at most one at a time)  ->  a cache lock (one
 *   shard's pm_lock, hat_pm_t)  ->  reserve_lock
 *   -> the arena's own lock (inside the provider).
 * ctx_frame_lock is a leaf: taken with any of them held, nothing inside.
 * No library lock is held while the TLB hook runs.  A space's
 * hat_stlb_lock (its soft TLBs, stlb.c) is taken with no library lock
 * held, where the hook would run, and nothing is taken under it.
 * Debug builds check this order at every lock site (src/lock.h).
 */
#ifndef HT_TYPES_H
#define HT_TYPES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "htable.h"
#include "mmu.h"
#include "lockmap.h"
#include "lock.h"
#include "shard.h"

typedef struct htable htable_t;
typedef struct ht_as hat_t;

/*
 * The hash of a space's tables (htable.c): hh_n chains, each a head and
 * the bucket lock (lock.h) that guards it, side by side, so that a
 * lookup touches one line for both.  Once there were 128 locks per
 * context, shared by every space: threads working on disjoint ranges,
 * or in different spaces, kept taking the same few lock words and
 * bounced their cache lines between CPUs (two threads ran slower than
 * one, issue 13).  With a lock per chain, tables in different regions
 * use different lines, as long as the regions' chains do not overlap:
 * so the hash grows with the space (htable_hash_grow).  A grown
 * hash replaces this one whole; the old one stays allocated (hh_old)
 * until the space is destroyed, because a thread may still be waiting
 * on one of its locks, which it then finds stale (htable_chain_enter).
 * hh_n never changes; nor does anything but the chains and the locks.
 */
typedef struct ht_chain {
	bucket_lock_t	hc_lock;
	uint32_t	hc_pad;
	htable_t	*hc_head;
} ht_chain_t;
typedef struct ht_hash {
	unsigned	hh_n;		/* chains: a power of two */
	unsigned	hh_mask;	/* hh_n - 1 */
	struct ht_hash	*hh_old;	/* the hash this one replaced */
	ht_chain_t	hh_chain[];
} ht_hash_t;
/*
 * calloc's 16-byte alignment and a 16-byte chain: a chain never straddles
 * two cache lines, so its lock and its head are one line.
 */
_Static_assert(sizeof (ht_hash_t) % 16 == 0, "the chains 16-byte aligned");
_Static_assert(sizeof (ht_chain_t) == 16, "a chain in one cache line");
#define HASH_GROWING	0x80000000u	/* hat_hash_use: growing */

/* ht_flags */
#define HTABLE_COPIED		0x01	/* root whose entries live in hat_copied_ptes */
#define HTABLE_SHARED_PFN	0x02	/* borrows ht_shares's frame */
#define HTABLE_IMPORTED		0x04	/* frame belongs to the caller */
#define HTABLE_FRESH		0x08	/* frame just came from the provider */

/*
 * One hardware page table.  The first fields are the ones a hash lookup
 * compares, so a lookup touches one cache line.
 *
 * Two counts, as in illumos:
 *  ht_busy	holds on the pointer: callers' lookup/create/acquire holds,
 *		plus one per child table, plus permanent holds (the root).
 *		Changed only under the table's bucket mutex.
 *  valid	valid entries (and non-present data entries, mmu.h), in
 *		two parts that only their sum means (ht_valid):
 *		ht_valid_cnt, changed atomically by a thread that holds the
 *		table (or, for a link, its new child), and ht_valid_lk,
 *		changed by a load and a store by the one-entry path
 *		(hat_one.c), which holds the table's bucket mutex instead
 *		of a hold, or runs in a serial space.  Two parts, because
 *		a holder's add and the one-entry path's may run at once:
 *		one part would need a locked add on both sides, and the
 *		one-entry path, one locked instruction in all with its
 *		lock, would pay a second (~5 ns, a fifth of the call).
 *		Either part alone may go negative (a leaf that one path
 *		counted and the other removed); ht_valid_lk_add folds its
 *		part into the other before it grows large.
 * A table is freed exactly when its releaser sees busy == 1 and a valid
 * count of 0 under the bucket mutex: anyone who could add an entry
 * would own a hold or that mutex, so the count cannot grow once
 * busy == 1 is seen.
 */
struct htable {
	htable_t	*ht_next;	/* hash chain; also cache/reserve lists */
	hat_t		*ht_hat;	/* owner; NULL on the reserve */
	uint64_t	ht_vaddr;	/* lowest VA covered (canonical) */
	int8_t		ht_level;
	uint8_t		ht_flags;
	_Atomic int32_t	ht_busy;	/* changed under the bucket mutex */
	htable_t	*ht_prev;	/* hash chain, NULL at the head */
	_Atomic int32_t	ht_valid_cnt;	/* the valid count's holders' part */
	_Atomic int32_t	ht_valid_lk;	/* its one-entry path's part */
	ht_pfn_t	ht_pfn;		/* HT_PFN_INVALID when bare */
	void		*ht_ptr;	/* host pointer to the entries */
	htable_t	*ht_parent;	/* table holding our PTP */
	htable_t	*ht_shares;	/* SHARED_PFN: the source */
	_Atomic int32_t	ht_nsharers;	/* SHARED_PFN tables borrowing this
					   frame; each holds us once */
	_Atomic uint32_t ht_lock_cnt;	/* locked leaves in this table, and
					   non-present data entries (mmu.h) */
};

/* hat_flags */
#define HAT_FREEING	0x01	/* being destroyed: no TLB work, no caching */
#define HAT_VICTIM	0x02	/* a stealer is looking at it */
#define HAT_SHARED	0x04	/* exports tables for sharing */
#define HAT_COPIED	0x10	/* root is an HTABLE_COPIED table */
#define HAT_NOSTEAL	0x40	/* caller asked: never steal (like HAT_PCP) */
#define HAT_IMPORTED	0x80	/* built from someone else's tables */
#define HAT_NP		0x100	/* has held non-present data entries */
#define HAT_NOROOTLEAF	0x200	/* 32-bit paging: no 4 MiB pages (its root
				   entries are copied into CPU roots) */
#define HAT_NOMMU	0x400	/* no MMU walks it (HT_AS_NOMMU): changed
				   under hat_nm_lock and ctx_share_lock */
#define HAT_SERIAL	0x800	/* the caller serializes its calls
				   (HT_AS_SERIAL): the one-entry path takes
				   no lock (hat_one.c) */

typedef struct ht_cpu_root cpu_root_t;

/*
 * A space's leaf counts per level, in cache-line shards: every map and
 * unmap adds to them, and threads working in one space would fight over
 * one line (issue 13: two threads ran slower than one).  Shards 1.. are
 * each owned by one thread at a time (shard.h: handed out on a thread's
 * first count, taken back when it exits), so their owner adds with a
 * plain load and store, no locked instruction; threads beyond them share
 * shard 0 with atomic adds.  A reader sums the shards (hat_pm_get),
 * which is exact whenever nobody is changing the space.  A shard may
 * hold a negative count (another shard has the leaf): the sum is taken
 * modulo 2^64.
 *
 * The same line holds the shard's part of the space's cache of free
 * tables (htable.c, hat_cache_get): a thread frees into and takes from
 * its own shard's list, so that two threads making and freeing tables in
 * one space share neither a lock nor a count, and a frame comes back to
 * the core that zeroed it.  pm_lock guards pm_cached and pm_ncached: the
 * owner takes it uncontended; a thread whose own list is empty, a
 * stealer, a purge or the audit take any shard's.
 */
typedef struct hat_pm {
	_Atomic uint64_t pm[HT_MAX_LEVELS];
	bucket_lock_t	pm_lock;	/* LR_HAT */
	_Atomic uint32_t pm_ncached;	/* tables on pm_cached */
	htable_t	*pm_cached;	/* free tables with zeroed frames */
	char		pm_pad[64 - 8 * HT_MAX_LEVELS - 16];
} hat_pm_t;
_Static_assert(sizeof (hat_pm_t) == 64, "a shard is one cache line");

/*
 * One extent of the reverse map (rmap.c): [re_va, re_va + re_len) of
 * re_hat maps [re_pa, re_pa + re_len).  It sits in two treaps: its
 * space's, by VA (a space's extents never overlap), and its context's,
 * by (PA, address), with the highest PA end of each subtree.
 */
typedef struct rmap_ext {
	struct ht_as	*re_hat;
	uint64_t	re_va;
	uint64_t	re_pa;
	uint64_t	re_len;
	struct rmap_ext	*re_vl, *re_vr;	/* the space's treap */
	struct rmap_ext	*re_pl, *re_pr;	/* the context's treap */
	uint64_t	re_pmax;	/* highest PA (inclusive) below here */
	uint32_t	re_prio;	/* heap order, both treaps */
} rmap_ext_t;

/* The extents an operation has in hand (rmap_prep). */
#define RMAP_PREP	2
typedef struct rmap_prep {
	rmap_ext_t	*rp_ext[RMAP_PREP];
} rmap_prep_t;

/*
 * What a lock-free walk of a 4- or 5-level space needs (hat_query.c:
 * ht_va2pa, ht_translate), copied out of the context, its mmu_t and the
 * root descriptor once the root exists (hat_qd_init), so that the hot
 * path reads this line and hat_gen instead of chasing hat -> ctx -> mmu
 * and hat -> root on every call.  Fixed for the life of the space.
 */
typedef struct hat_qd {
	const uint8_t	*qd_root;	/* the root's entries */
	uintptr_t	qd_wadj;	/* ctx_win - ctx_win_base: a link's
					   table is at qd_wadj + its PA */
	ht_pa_t		qd_wbase;	/* PA of its first byte */
	uint64_t	qd_wlen;	/* its length; 0: no window */
	x86pte_t	qd_amask;	/* address bits of a link or leaf */
	ht_pa_t		qd_root_pa;	/* the root's PA (entry_pa) */
	/*
	 * The last 8 bytes before hat_gen, so that the walk still reads
	 * one line.  qd_nlev: 4 or 5; 0: no fast walk (copied root, 32-bit,
	 * PAE, no_nx).  qd_hole: 1 with the canonical hole, 0 without one
	 * (the guest-physical space [0, 2^va_bits) of nested paging and
	 * EPT): the address check adds qd_hole << (va_bits - 1) before it
	 * shifts out the walk's bits, so that both canonical halves land
	 * on 0.  qd_nlev has QD_NLEV_EPT when the entries are EPT's:
	 * the walk of that format is its own code (hat_query.c's
	 * QD_FAST), whose present test is qd_pmask (mmu_t pt_present).
	 */
	uint8_t		qd_nlev;
	uint8_t		qd_hole;
	uint16_t	qd_pmask;
} hat_qd_t;
#define QD_NLEV_EPT	0x10	/* in qd_nlev: EPT's entry format */

/*
 * A serial space's write cursor (hat_one.h), one per level below 2: the
 * level-l table that its last one-entry call found by hashing, so that
 * the next call in the same table goes straight to the entry, with what
 * that call needs of the geometry copied in (one line to read).  Set only
 * in a serial space without a reverse map (one_find), by the one thread
 * that changes the space at a time; emptied when its table leaves the
 * hash (htable_hash_remove), which in a serial space happens only in that
 * thread's own calls (no stealer, no sharer: hat_one.c).
 */
#define WC_LEVELS	2
typedef struct hat_wc {
	uint64_t	wc_base;	/* va of the table's entry 0 */
	uint64_t	wc_span;	/* bytes the table maps; 0: empty */
	uint8_t		*wc_ptes;	/* its entries */
	htable_t	*wc_ht;
	_Atomic uint64_t *wc_pm;	/* the space's leaves here, shard 0 */
	const x86pte_t	*wc_enc;	/* mmu_t enc[] of a leaf here */
	x86pte_t	wc_amask;	/* address bits of a leaf here */
	x86pte_t	wc_ps;		/* PT_PAGESIZE above level 0 */
	ht_pa_t		wc_pal;		/* a leaf's last byte below this;
					   0: no leaf of this size */
	uint64_t	wc_bad;		/* mmu_t fast_bad (both levels) */
	uint8_t		wc_shift;	/* LEVEL_SHIFT of the level */
	uint8_t		wc_pte_shift;	/* 3 or 2 */
} hat_wc_t;

struct ht_as {
	/*
	 * First, and the space 64-byte aligned (hat.c): a lock-free walk
	 * reads the descriptor and the generation, one cache line.
	 */
	hat_qd_t	hat_qd;		/* set once the root exists */
	_Atomic uint64_t hat_gen;	/* bumped before any table is unlinked */
	ht_ctx_t	*hat_ctx;
	/*
	 * The tables (above), and hh_mask of that hash, where a lookup
	 * reads it without a dependent load.  The grower stores the hash,
	 * then the mask: a lookup that reads the mask first never pairs a
	 * new mask with an old, smaller hash (htable_chain_enter).
	 */
	ht_hash_t * _Atomic hat_hash;
	_Atomic unsigned hat_hash_mask;
	int		hat_max_level;
	htable_t	*hat_htable;	/* root, permanently held */
	_Atomic unsigned hat_flags;	/* VICTIM/FREEING: ctx_list_lock */
	/*
	 * Bit l (l > 0): a leaf at level l has been counted in this space
	 * (hat_leaf_level_note, before the count); never cleared.  Walks
	 * ask the leaf counts of only these levels (max_mapped_level), so
	 * a space of 4 KiB pages never reads the counter shards that other
	 * threads write at every map: summing them at every census made
	 * two threads that make tables in one space 3-5x slower each.
	 */
	_Atomic unsigned hat_leaf_levels;
	hat_wc_t	hat_wc[WC_LEVELS]; /* cursors: serial spaces only
					   (above); their geometry: all */
	/*
	 * A line of their own: every table made or freed adds to
	 * hat_ntables, and every hash lookup reads hat_wc[1].wc_shift
	 * (hash_key) and every count hat_pm, which shared its line; two
	 * threads making tables in one space ran their lookups 2-4x slower
	 * beside each other than alone.
	 */
	_Alignas(64) _Atomic unsigned hat_ntables; /* tables on the hash */
	_Atomic unsigned hat_hash_use;	/* HASH_GROWING, or the pins of
					   htable_hash_pin */
	_Alignas(64) unsigned	hat_num_copied;
	x86pte_t	*hat_copied_ptes;
	hat_pm_t	*hat_pm;	/* leaves per level and the cache of
					   free tables, in shards */
	lockmap_t	hat_locks;	/* locks beyond the first (lockmap.h) */
	_Atomic unsigned hat_nshared_in; /* regions others share into us */
	_Atomic unsigned hat_nshared_out; /* regions we share out (HAT_SHARED) */
	hat_t		*hat_next;	/* ctx list; ctx_list_lock */
	hat_t		*hat_prev;
	/*
	 * The CPU roots that copy our top-level entries (cpuroot.c), under
	 * hat_cpu_lock: those running us, those whose kernel root's kernel
	 * half we fill, those whose KPTI user root's kernel half we fill.
	 */
	pthread_mutex_t	hat_cpu_lock;
	cpu_root_t	*hat_cpus;
	cpu_root_t	*hat_kcpus;
	cpu_root_t	*hat_ukcpus;
	_Atomic unsigned hat_pcid;	/* ht_as_set_pcid */
	uint64_t	hat_id;		/* unique in the context, never reused */
	_Atomic uint64_t hat_tlb_gen;	/* bumped by every TLB hook call */
	rmap_ext_t	*hat_rmap;	/* its reverse-map extents; ctx_rmap_lock */
	uint64_t	hat_rmap_n;
	/*
	 * While HAT_NOMMU: held by the one call at a time that changes the
	 * space, whose entries it then writes with plain stores (nommu.c).
	 */
	pthread_mutex_t	hat_nm_lock;
	/*
	 * The soft TLBs attached to us (stlb.c): changed under
	 * hat_stlb_lock, which every invalidation holds while it empties
	 * them; the head is atomic so that a space with none costs an
	 * invalidation one load and no lock.
	 */
	pthread_mutex_t	hat_stlb_lock;
	struct stlb * _Atomic hat_stlbs;
};
_Static_assert(offsetof(struct ht_as, hat_gen) + sizeof (uint64_t) <= 64,
    "a lock-free walk reads one cache line of the space");

/*
 * One CPU's own top-level table (two with KPTI): its user half copies
 * the running space's top-level entries, its kernel half a kernel
 * space's (cpuroot.c keeps them so).  Fixed at creation except where
 * said.
 */
#define CR_SEEN		8	/* PCIDs whose TLB state a root remembers */
#define CR_KERN		0	/* cr_pfn[] / cr_ptr[]: the kernel root */
#define CR_USER		1	/* the KPTI user root */
struct ht_cpu_root {
	ht_ctx_t	*cr_ctx;
	unsigned	cr_id;
	unsigned	cr_nuser;	/* entries [0, cr_nuser): user half */
	int		cr_kpti;
	ht_pfn_t	cr_pfn[2];
	void		*cr_ptr[2];
	hat_t		*cr_kernel;	/* NULL once destroyed (its lock) */
	hat_t		*cr_ukernel;
	pthread_mutex_t	cr_lock;	/* one switch at a time; cr_seen */
	hat_t * _Atomic	cr_running;	/* written under cr_lock and the
					   running space's hat_cpu_lock */
	cpu_root_t	*cr_run_next;	/* lists of the spaces above */
	cpu_root_t	*cr_kern_next;
	cpu_root_t	*cr_ukern_next;
	cpu_root_t	*cr_next;	/* ctx_cpus; ctx_cpu_lock */
	struct {
		uint64_t	hat_id;	/* 0: none */
		uint64_t	gen;
		unsigned	pcid;
	} cr_seen[CR_SEEN];
	unsigned	cr_seen_next;	/* the slot to reuse next */
	unsigned	cr_run_pcid;	/* the PCID cr_running runs under */
};

/*
 * One shared region (share.c, hat_share.c): [sr_va, sr_va + sr_len) of
 * sr_sharer shows [sr_src_va, sr_src_va + sr_len) of sr_src, through the
 * source's own tables where whole tables fit and as copied leaves
 * elsewhere.  Fixed once on the context's list, except sr_state.
 */
typedef enum share_state {
	SR_MAKING,	/* ht_share is building it */
	SR_LIVE,	/* built, in use */
	SR_GOING	/* claimed by an unshare, a revoke or a destroy */
} share_state_t;

typedef struct share_rec {
	struct share_rec * _Atomic sr_next;	/* ctx_shares */
	hat_t		*sr_sharer;
	hat_t		*sr_src;
	uint64_t	sr_va;
	uint64_t	sr_src_va;
	uint64_t	sr_len;
	share_state_t	sr_state;	/* ctx_share_lock */
	ht_share_info_t	sr_info;	/* what the share made */
	/* the tables it links, by offset and level (its maker's, then its
	   ender's: one thread at a time) */
	uint64_t	*sr_toff;
	int8_t		*sr_tlevel;
	size_t		sr_ntables;
	size_t		sr_tcap;
	rmap_prep_t	sr_rmap;	/* for removing its copies (rmap.h) */
} share_rec_t;

/* A set of frame numbers (frame.c): open addressing, linear probing. */
typedef struct pfnset {
	ht_pfn_t	*slots;
	size_t		cap;
	size_t		n;
} pfnset_t;

/* Counters: atomic, relaxed; cheap enough to keep in release builds. */
/*
 * ht_busy is written only under the bucket mutex, but a stealer re-reads
 * it without the mutex to give up early (as illumos does): relaxed atomics
 * make that read defined, and cost nothing on x86.
 */
#define BUSY(ht)	atomic_load_explicit(&(ht)->ht_busy, memory_order_relaxed)
#define BUSY_ADD(ht, n)	atomic_store_explicit(&(ht)->ht_busy, BUSY(ht) + (n), \
	memory_order_relaxed)
#define BUSY_SET(ht, n)	atomic_store_explicit(&(ht)->ht_busy, (n), \
	memory_order_relaxed)

/* The counters, each also a field of ht_stats_t (ht_ctx_stats sums them). */
#define CTR_FIELDS(X)							\
	X(ptable_allocs) X(ptable_frees) X(htable_rgets) X(htable_rputs) \
	X(reap_attempts) X(reaped) X(steals) X(stolen) X(cache_hits)	\
	X(splits) X(lpage_fallbacks) X(tlb_calls)
#define CTR_DECL(f)	_Atomic uint64_t f;
typedef struct ctr {
	CTR_FIELDS(CTR_DECL)
} __attribute__((aligned(64))) ctr_t;	/* a thread's lines alone */

#define HATSTAT_INC(ctx, f) \
	atomic_fetch_add_explicit(&(ctx)->ctx_stat[shard_slot()].f, 1, \
	    memory_order_relaxed)
#define HATSTAT_ADD(ctx, f, n) \
	atomic_fetch_add_explicit(&(ctx)->ctx_stat[shard_slot()].f, (n), \
	    memory_order_relaxed)

struct ht_ctx {
	mmu_t		ctx_mmu;
	ht_config_t	ctx_cfg;
	const ht_frame_ops_t *ctx_fops;
	void		*ctx_farg;
	uint8_t		*ctx_win;	/* provider's linear window, or NULL */
	ht_pa_t		ctx_win_base;
	uint64_t	ctx_win_len;
	pthread_mutex_t	ctx_list_lock;	/* the hat list, VICTIM, FREEING */
	pthread_cond_t	ctx_list_cv;
	hat_t		*ctx_hat_head;	/* newest first */
	hat_t		*ctx_hat_tail;
	unsigned	ctx_num_hats;
	pthread_mutex_t	ctx_reserve_lock;
	htable_t	*ctx_reserve;	/* frameless descriptors */
	_Atomic unsigned ctx_reserve_count; /* changed under reserve_lock */
	unsigned	ctx_reserve_amount;
	unsigned	ctx_steal_passes;
	_Atomic unsigned ctx_dont_cache; /* >0: htable_retire never caches */
	_Atomic long	ctx_active_ptables;
	_Atomic unsigned ctx_force_steal;
	_Atomic unsigned ctx_force_cnt;
	_Atomic unsigned ctx_steal_seed; /* victim bucket rotation */
	pthread_mutex_t	ctx_share_lock;	/* the shared regions (share.c) */
	pthread_cond_t	ctx_share_cv;	/* a region or a delivery ended */
	share_rec_t * _Atomic ctx_shares; /* every shared region */
	unsigned	ctx_share_readers; /* forwarding walks in flight */
	pthread_mutex_t	ctx_cpu_lock;	/* the CPU roots (cpuroot.c) */
	cpu_root_t	*ctx_cpus;
	_Atomic uint64_t ctx_next_hat_id;
	int		ctx_tlb_on;	/* a TLB hook of either kind */
	_Atomic unsigned ctx_nstlb;	/* soft TLBs attached to its spaces:
					   while any, TLB ranges are batched
					   and delivered even with no hook */
	pthread_mutex_t	ctx_rmap_lock;	/* the reverse map (rmap.c) */
	rmap_ext_t	*ctx_rmap;	/* every extent, by PA */
	rmap_ext_t	*ctx_rmap_spare; /* for stealers, via re_vr */
	unsigned	ctx_rmap_nspare;
	uint64_t	ctx_rmap_n;	/* extents */
	uint64_t	ctx_rmap_seed;	/* treap priorities */
	pthread_mutex_t	ctx_frame_lock;	/* a leaf: protects ctx_frames */
	pfnset_t	ctx_frames;	/* every table frame the context holds */
	/*
	 * Per thread shard (shard.h), each on lines of its own: a table
	 * taken from a space's cache counts a hit, and two threads making
	 * tables in two spaces of one context took the one line in turns
	 * (the allocation 2x slower beside each other than alone).
	 */
	ctr_t	ctx_stat[HAT_SHARDS];
};

/*
 * One library operation in progress on this thread (ht_map, ht_unmap, ...).
 * It carries
 *  - the frames allocated up front so that the operation cannot fail half
 *    way for lack of memory (like KVM's topped-up caches),
 *  - tables freed during the operation: their frames go back only after
 *    the TLB hook ran, so no MMU can still walk a reused frame
 *    (FreeBSD's delayed free),
 *  - the batched TLB ranges,
 *  - the caller's A/D sink (ht_map_ad, ht_unmap_ad): every place that
 *    removes a leaf of op_hat during the operation reports the Accessed
 *    and Dirty bits the leaf had when it was cleared (op_ad_removed,
 *    op_ad_sink), so that a VMM learns whether an unmapped page was
 *    dirty.  NULL costs the removal paths one test per table.
 */
#define HT_OP_TLB_RANGES 8
#define HT_OP_XHATS	4
typedef struct op_frame {
	struct op_frame	*op_prev;	/* the operation this one nests in */
	hat_t		*op_hat;
	htable_t	*op_prealloc;	/* unhashed tables with zeroed frames */
	htable_t	*op_deferred;	/* freed, waiting for the TLB hook */
	htable_t	**op_pinned;	/* held until the end (op_tables.c) */
	unsigned	op_npinned;
	unsigned	op_maxpinned;
	unsigned	op_ntlb;
	int		op_tlb_all;
	uint64_t	op_tlb_va[HT_OP_TLB_RANGES];
	uint64_t	op_tlb_len[HT_OP_TLB_RANGES];
	ht_ad_fn	op_ad_fn;	/* A/D of removed leaves, or NULL */
	void		*op_ad_arg;
	rmap_prep_t	*op_rmap;	/* extents for the reverse map, or NULL */
	/*
	 * Other spaces whose tables this operation changed (a share reads
	 * and makes its source's tables): one covering range each, delivered
	 * with the operation's own, before the deferred frees.
	 */
	unsigned	op_nx;
	hat_t		*op_xhat[HT_OP_XHATS];
	uint64_t	op_xlo[HT_OP_XHATS];
	uint64_t	op_xlast[HT_OP_XHATS];	/* inclusive */
} op_t;

/*
 * An operation's A/D sink as a bulk loop over the entries of one table
 * uses it (op_ad_sink fills it in): the leaf at entry e + k of the loop
 * starts at ad_va + (k << ad_shift).
 */
typedef struct ad_sink {
	const struct mmu *ad_m;	/* the format of the entries reported */
	ht_ad_fn	ad_fn;
	void		*ad_arg;
	uint64_t	ad_va;		/* VA of the loop's first entry */
	int		ad_shift;	/* log2 of the leaves' size */
} ad_sink_t;

#endif /* HT_TYPES_H */
