/*
 * bench-list.h - the registry of htable benchmarks, in the manner of
 * libuv's test/benchmark-list.h: one BENCH_DECLARE per benchmark (which
 * bench.h turns into a prototype, so that every file defining one is
 * checked against it), then, for bench_main.c only (BENCH_LIST_TABLE),
 * the table the runner walks.
 *
 * Include bench.h first.  The order of the table is the order of a full
 * run: the floors come first because every other row is compared with
 * them.
 *
 * BENCH_ENTRY(name, unit, provides, floor, floor2, peer_ns):
 *   unit      what one operation is (figures are ns per unit)
 *   provides  the BENCH_FLOOR_* this benchmark measures, or NONE
 *   floor     the BENCH_FLOOR_* it is compared to, or NONE
 *   floor2    a second floor noted beside it, or NONE: ZERO for maps
 *             (the tables they build must be cleared), CAS for unmap
 *             and protect (the header requires an atomic compare-and-
 *             swap for every change of a valid entry, to keep A/D bits)
 *   peer_ns   the rust-osdev x86_64 crate (v0.15.4, OffsetPageTable)
 *             measured EARLIER on this machine (perf-anchors.md section
 *             4), not in this run; 0 when it has no counterpart.  The
 *             2 MiB figures are those of its 2 MiB x 32,768 run.
 */

BENCH_DECLARE(floor_store)
BENCH_DECLARE(floor_zero)
BENCH_DECLARE(floor_cas)
BENCH_DECLARE(floor_call)
BENCH_DECLARE(floor_report)
BENCH_DECLARE(map_4k)
BENCH_DECLARE(unmap_4k)
BENCH_DECLARE(protect_4k)
BENCH_DECLARE(map_4k_nommu)
BENCH_DECLARE(unmap_4k_nommu)
BENCH_DECLARE(protect_4k_nommu)
BENCH_DECLARE(xlate_seq_4k)
BENCH_DECLARE(xlate_rand_4k)
BENCH_DECLARE(xlate_dep_4k)
BENCH_DECLARE(va2pa_seq_4k)
BENCH_DECLARE(va2pa_rand_4k)
BENCH_DECLARE(va2pa_dep_4k)
BENCH_DECLARE(stlb_hit_seq_4k)
BENCH_DECLARE(stlb_hit_rand_4k)
BENCH_DECLARE(stlb_miss_fill_4k)
BENCH_DECLARE(walk_4k)
BENCH_DECLARE(scan_4k)
BENCH_DECLARE(map_1page_4k)
BENCH_DECLARE(unmap_1page_4k)
BENCH_DECLARE(map_2m)
BENCH_DECLARE(unmap_2m)
BENCH_DECLARE(protect_2m)
BENCH_DECLARE(map_2m_nommu)
BENCH_DECLARE(unmap_2m_nommu)
BENCH_DECLARE(protect_2m_nommu)
BENCH_DECLARE(xlate_seq_2m)
BENCH_DECLARE(xlate_rand_2m)
BENCH_DECLARE(xlate_dep_2m)
BENCH_DECLARE(va2pa_seq_2m)
BENCH_DECLARE(va2pa_rand_2m)
BENCH_DECLARE(va2pa_dep_2m)
BENCH_DECLARE(walk_2m)
BENCH_DECLARE(scan_2m)
BENCH_DECLARE(map_1page_rand_4k)
BENCH_DECLARE(unmap_1page_rand_4k)
BENCH_DECLARE(protect_1page_4k)
BENCH_DECLARE(map_1page_2m)
BENCH_DECLARE(unmap_1page_2m)
BENCH_DECLARE(protect_1page_2m)
BENCH_DECLARE(map_1page_rand_4k_nommu)
BENCH_DECLARE(unmap_1page_rand_4k_nommu)
BENCH_DECLARE(protect_1page_4k_nommu)
BENCH_DECLARE(unmap_1page_2m_nommu)
BENCH_DECLARE(protect_1page_2m_nommu)
BENCH_DECLARE(map_1page_4k_serial)
BENCH_DECLARE(unmap_1page_4k_serial)
BENCH_DECLARE(protect_1page_4k_serial)
BENCH_DECLARE(map_1page_rand_4k_serial)
BENCH_DECLARE(map_1page_2m_serial)
BENCH_DECLARE(unmap_1page_2m_serial)
BENCH_DECLARE(protect_1page_2m_serial)
BENCH_DECLARE(map_1page_4k_serial_nommu)
BENCH_DECLARE(unmap_1page_4k_serial_nommu)
BENCH_DECLARE(protect_1page_4k_serial_nommu)
BENCH_DECLARE(unmap_1page_2m_serial_nommu)
BENCH_DECLARE(protect_1page_2m_serial_nommu)
BENCH_DECLARE(map_1page_rand_t1)
BENCH_DECLARE(map_1page_rand_t2_one)
BENCH_DECLARE(map_1page_rand_t2_two)
BENCH_DECLARE(map_1page_cached_t1)
BENCH_DECLARE(map_1page_cached_t2_one)
BENCH_DECLARE(map_1page_cached_t2_two)
BENCH_DECLARE(map_1page_steady_t1)
BENCH_DECLARE(map_1page_steady_t2_one)
BENCH_DECLARE(map_1page_steady_t2_two)
BENCH_DECLARE(map_1page_steady_t2_one_2g)
BENCH_DECLARE(map_1page_steady_t2_one_far)
BENCH_DECLARE(map_1page_steady_t1_serial)
BENCH_DECLARE(map_1page_steady_t2_two_serial)
BENCH_DECLARE(floor_private_t2)
BENCH_DECLARE(switch)
BENCH_DECLARE(switch_kpti)
BENCH_DECLARE(map_1page_rmap)
BENCH_DECLARE(page_unload_1)
BENCH_DECLARE(page_unload_8)
BENCH_DECLARE(page_unload_64)

#ifdef BENCH_LIST_TABLE
BENCH_LIST_START
	BENCH_ENTRY(floor_store, "entry", BENCH_FLOOR_STORE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(floor_zero, "frame", BENCH_FLOOR_ZERO,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(floor_cas, "entry", BENCH_FLOOR_CAS,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(floor_call, "call", BENCH_FLOOR_CALL,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(floor_report, "report", BENCH_FLOOR_REPORT,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)

	BENCH_ENTRY(map_4k, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_ZERO, 2.74)
	BENCH_ENTRY(unmap_4k, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_CAS, 1.81)
	BENCH_ENTRY(protect_4k, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_CAS, 1.80)
	/* HT_AS_NOMMU: no MMU walks the space, plain stores (floor: store) */
	BENCH_ENTRY(map_4k_nommu, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_ZERO, 2.74)
	BENCH_ENTRY(unmap_4k_nommu, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 1.81)
	BENCH_ENTRY(protect_4k_nommu, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 1.80)
	BENCH_ENTRY(xlate_seq_4k, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_REPORT, BENCH_FLOOR_NONE, 1.84)
	BENCH_ENTRY(xlate_rand_4k, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_REPORT, BENCH_FLOOR_NONE, 4.29)
	BENCH_ENTRY(xlate_dep_4k, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_REPORT, BENCH_FLOOR_NONE, 16.7)
	/* ht_va2pa returns what the peer's translate_addr returns */
	BENCH_ENTRY(va2pa_seq_4k, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_CALL, BENCH_FLOOR_NONE, 1.84)
	BENCH_ENTRY(va2pa_rand_4k, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_CALL, BENCH_FLOOR_NONE, 4.29)
	BENCH_ENTRY(va2pa_dep_4k, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_CALL, BENCH_FLOOR_NONE, 16.7)
	/* the soft TLB: hits inline, a miss walks and fills (bench_ops.c) */
	BENCH_ENTRY(stlb_hit_seq_4k, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(stlb_hit_rand_4k, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(stlb_miss_fill_4k, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(walk_4k, "leaf", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 0)
	/* ht_scan: the same leaves read as an untrusted image */
	BENCH_ENTRY(scan_4k, "leaf", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 0)
	/* The peer's map_to and unmap are one call per page as well. */
	BENCH_ENTRY(map_1page_4k, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_ZERO, 2.74)
	BENCH_ENTRY(unmap_1page_4k, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_CAS, 1.81)

	BENCH_ENTRY(map_2m, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_ZERO, 2.13)
	BENCH_ENTRY(unmap_2m, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_CAS, 1.34)
	BENCH_ENTRY(protect_2m, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_CAS, 1.35)
	BENCH_ENTRY(map_2m_nommu, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_ZERO, 2.13)
	BENCH_ENTRY(unmap_2m_nommu, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 1.34)
	BENCH_ENTRY(protect_2m_nommu, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 1.35)
	BENCH_ENTRY(xlate_seq_2m, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_REPORT, BENCH_FLOOR_NONE, 2.08)
	BENCH_ENTRY(xlate_rand_2m, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_REPORT, BENCH_FLOOR_NONE, 2.91)
	BENCH_ENTRY(xlate_dep_2m, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_REPORT, BENCH_FLOOR_NONE, 8.08)
	/* ht_va2pa returns what the peer's translate_addr returns */
	BENCH_ENTRY(va2pa_seq_2m, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_CALL, BENCH_FLOOR_NONE, 2.08)
	BENCH_ENTRY(va2pa_rand_2m, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_CALL, BENCH_FLOOR_NONE, 2.91)
	BENCH_ENTRY(va2pa_dep_2m, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_CALL, BENCH_FLOOR_NONE, 8.08)
	BENCH_ENTRY(walk_2m, "leaf", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(scan_2m, "leaf", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 0)

	/* one page per call, as a fault handler calls (bench_calls.c) */
	BENCH_ENTRY(map_1page_rand_4k, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 2.74)
	BENCH_ENTRY(unmap_1page_rand_4k, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_CAS, 1.81)
	BENCH_ENTRY(protect_1page_4k, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_CAS, 1.80)
	BENCH_ENTRY(map_1page_2m, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 2.70)
	BENCH_ENTRY(unmap_1page_2m, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_CAS, 1.39)
	BENCH_ENTRY(protect_1page_2m, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_CAS, 1.55)
	/* the same calls in an HT_AS_NOMMU space */
	BENCH_ENTRY(map_1page_rand_4k_nommu, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 2.74)
	BENCH_ENTRY(unmap_1page_rand_4k_nommu, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 1.81)
	BENCH_ENTRY(protect_1page_4k_nommu, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 1.80)
	BENCH_ENTRY(unmap_1page_2m_nommu, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 1.39)
	BENCH_ENTRY(protect_1page_2m_nommu, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 1.55)
	/*
	 * in an HT_AS_SERIAL space (the caller serializes: no lock), live
	 * and with no MMU
	 */
	BENCH_ENTRY(map_1page_4k_serial, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 2.74)
	BENCH_ENTRY(unmap_1page_4k_serial, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_CAS, 1.81)
	BENCH_ENTRY(protect_1page_4k_serial, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_CAS, 1.80)
	BENCH_ENTRY(map_1page_rand_4k_serial, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 2.74)
	BENCH_ENTRY(map_1page_2m_serial, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 2.70)
	BENCH_ENTRY(unmap_1page_2m_serial, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_CAS, 1.39)
	BENCH_ENTRY(protect_1page_2m_serial, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_CAS, 1.55)
	BENCH_ENTRY(map_1page_4k_serial_nommu, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 2.74)
	BENCH_ENTRY(unmap_1page_4k_serial_nommu, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 1.81)
	BENCH_ENTRY(protect_1page_4k_serial_nommu, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 1.80)
	BENCH_ENTRY(unmap_1page_2m_serial_nommu, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 1.39)
	BENCH_ENTRY(protect_1page_2m_serial_nommu, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 1.55)
	/* threads: ns per call over all threads (perfect scaling halves) */
	BENCH_ENTRY(map_1page_rand_t1, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(map_1page_rand_t2_one, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(map_1page_rand_t2_two, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(map_1page_cached_t1, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(map_1page_cached_t2_one, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(map_1page_cached_t2_two, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(map_1page_steady_t1, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(map_1page_steady_t2_one, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(map_1page_steady_t2_two, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(map_1page_steady_t2_one_2g, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(map_1page_steady_t2_one_far, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(map_1page_steady_t1_serial, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(map_1page_steady_t2_two_serial, "call", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(floor_private_t2, "entry", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)

	/* many parties (bench_many.c): no peer has them */
	BENCH_ENTRY(switch, "switch", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(switch_kpti, "switch", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(map_1page_rmap, "page", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_STORE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(page_unload_1, "unload", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(page_unload_8, "unload", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
	BENCH_ENTRY(page_unload_64, "unload", BENCH_FLOOR_NONE,
	    BENCH_FLOOR_NONE, BENCH_FLOOR_NONE, 0)
BENCH_LIST_END
#endif /* BENCH_LIST_TABLE */
