/*
 * verify_impl.h - what the two halves of the verification library share:
 * the session (plan.c builds it, verify.c runs it).  Not for callers:
 * verify.h is the interface.
 */
#ifndef HTABLE_VERIFY_IMPL_H
#define HTABLE_VERIFY_IMPL_H

#include "engine.h"
#include "image.h"
#include "verify.h"

/* A VA/PA-contiguous run of the image's leaves. */
typedef struct vrange {
	uint64_t	va, last;
	ht_pa_t		pa;
} vrange_t;

struct verify {
	verify_opts_t	o;
	image_t		im;
	ht_scan_cfg_t	cfg;		/* ht_scan / ht_scan_access over im */
	const ht_geometry_t *g;
	vrange_t	*r;		/* the leaves, coalesced, ascending */
	size_t		nr, cap;
	probe_t		*p;		/* the plan, by VA once planned */
	size_t		np, pcap;
	/*
	 * Where the engine goes (verify_plan): the slot_* fields, guest_pa
	 * and ram_size of every job (and the gslot_* ones of a guest job).
	 */
	engine_job_t	place;
	/*
	 * A guest job (o.guest): cfg, g, r and p are the guest's (cfg reads
	 * guest-physical memory through the host's tables: guest_read);
	 * hcfg, hg and hr the host's, the tables under test.  hcpu is the
	 * host CPU of those reads (any right the tables give is taken).
	 */
	ht_scan_cfg_t	hcfg;
	const ht_geometry_t *hg;
	ht_cpu_t	hcpu;
	vrange_t	*hr;
	size_t		nhr;
};

/* Is m a mode of second-level tables (npt4, npt5, ept4, ept5)? */
int verify__nested_mode(ht_mode_t m);

/*
 * Import the tables in mem (len bytes of physical memory from 0; NULL:
 * the image's own pages, read through image_read, which a dump file
 * needs: it has no mapping) as an address space of the library and call
 * fn on it.  Only [0, dense) of mem and the image's data pages are
 * copied: elsewhere mem holds zeros (a run's memory beyond its RAM, a
 * raw image's holes), and copying 4 GiB of them for a ROM near 4 GiB
 * cost half a minute a run.  fn's answer, or a negative HT_E* code: the
 * import refused the tables (ht_errdetail() says why) or memory ran out.
 */
int verify__with_import(const verify_t *v, const uint8_t *mem, uint64_t len,
    uint64_t dense, int (*fn)(ht_as_t *, const verify_t *, void *),
    void *arg);

#endif
