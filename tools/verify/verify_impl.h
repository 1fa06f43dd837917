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
	 * and ram_size of every job.
	 */
	engine_job_t	place;
};

/*
 * Import the tables in mem (len bytes of physical memory from 0) as an
 * address space of the library and call fn on it.  fn's answer, or a
 * negative HT_E* code: the import refused the tables (ht_errdetail()
 * says why) or memory ran out.
 */
int verify__with_import(const verify_t *v, const uint8_t *mem, uint64_t len,
    int (*fn)(ht_as_t *, const verify_t *, void *), void *arg);

#endif
