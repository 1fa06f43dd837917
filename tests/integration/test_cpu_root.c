/*
 * test_cpu_root.c - per-CPU roots (ht_cpu_root_create, ht_switch), in
 * every paging mode, checked the way an MMU would see them: each CR3 that
 * ht_switch gives is walked with the image reader (ht_scan_translate over
 * the arena's bytes), which knows nothing of the manager.
 *  - a switch copies the running space's top-level entries; later changes
 *    of the running space and of the kernel space are seen through every
 *    CPU root at once, and ht_cpu_root_audit agrees;
 *  - the extended TLB hook names the CPU roots that run a space (and
 *    those that copy a kernel space), with the space's PCID;
 *  - ht_switch_t.flush: 0 only when the PCID's entries are still right;
 *  - destroying a running space or a kernel space empties that half;
 *  - KPTI: the user root shows the user half and only the kernel pages
 *    named for it; no mapping is global (EPT: HT_G is ignore-PAT, and
 *    stays); user PCIDs carry bit 11;
 *  - an ordinary space runs on its own root;
 *  - ht_access and ht_translate on a copied space (no root frame);
 *  - sharing into a copied space, and stealing from one, keep the
 *    copies right; every frame is accounted for.
 * PCIDs are 4- and 5-level paging's (and nested paging's): EPT has none,
 * ht_as_set_pcid refuses it there as in 32-bit and PAE paging, and what
 * a switch gives is an EPT pointer (walk length, A/D, WB) where the x86
 * modes have the root and the PCID (cr3_low).
 */
#include "../lib/api_env.h"

#define NOPA	(~(ht_pa_t)0)

MODE_PARAMS(cpu_root, switch_copies_and_follows);
MODE_PARAMS(cpu_root, hook_names_cpu_roots);
MODE_PARAMS(cpu_root, flush_only_when_stale);
MODE_PARAMS(cpu_root, destroyed_spaces_leave_cpu_roots);
MODE_PARAMS(cpu_root, kpti_pairs);
MODE_PARAMS(cpu_root, ordinary_space_runs_on_its_own_root);
MODE_PARAMS(cpu_root, access_on_a_copied_space);
MODE_PARAMS(cpu_root, share_and_steal_keep_copies);

/* ------------------------------------------------------------------ */
/* The MMU's view                                                      */
/* ------------------------------------------------------------------ */

static int
arena_read(void *arg, ht_pa_t pa, void *buf, size_t len)
{
	uint8_t *p = ht_arena_ptr(arg, pa);

	if (p == NULL) {
		memset(buf, 0, len);
		return (1);
	}
	memcpy(buf, p, len);
	return (0);
}

/* What an MMU loaded with cr3 finds at va: the PA, or NOPA. */
static ht_pa_t
mmu_sees(env_t *e, uint64_t cr3, ht_va_t va)
{
	ht_scan_cfg_t c;
	ht_scan_xlate_t x;

	memset(&c, 0, sizeof (c));
	c.mode = e->mode;
	c.cr3 = cr3;
	c.read = arena_read;
	c.read_arg = e->arena;
	cr_assert_eq(ht_scan_translate(&c, va, &x), 0, "%s", ht_errdetail());
	return (x.stop == HT_STOP_MAPPED ? x.pa : NOPA);
}

#define SEES(e, cr3, va, pa) do {					\
	ht_pa_t got_ = mmu_sees(e, cr3, va);				\
	cr_assert_eq(got_, (ht_pa_t)(pa), "line %d: cr3 0x%llx va 0x%llx: "\
	    "MMU sees 0x%llx, want 0x%llx", __LINE__,			\
	    (unsigned long long)(cr3), (unsigned long long)(va),		\
	    (unsigned long long)got_, (unsigned long long)(pa));		\
} while (0)

#define CR_AUDIT(cr) do {						\
	int rc_ = ht_cpu_root_audit(cr);				\
	cr_assert_eq(rc_, 0, "line %d: %s", __LINE__, ht_errdetail());	\
} while (0)

/* The span of one root entry, and the default split. */
static uint64_t
slot(const env_t *e)
{
	return (1ull << e->g->level_shift[e->g->levels - 1]);
}

static unsigned
nuser(const env_t *e)
{
	unsigned n = e->g->top_level_count;

	return (e->g->levels >= 4 ? n / 2 : n / 4 * 3);
}

/*
 * The first VA of the kernel half (canonical; without a hole, the root
 * entries after nuser's), and a second one.
 */
static ht_va_t
kva(const env_t *e, unsigned i)
{
	ht_va_t v = e->g->hole_start != 0 ? 0 - (1ull << (e->g->va_bits - 1)) :
	    (ht_va_t)nuser(e) * slot(e);

	if (i == 0)
		return (v);
	/* another root entry where there is one (PAE has one kernel entry) */
	return (e->g->top_level_count - nuser(e) >= 2 ? v + slot(e) :
	    v + 64 * MIB);
}

/* The space's switches carry PCIDs (4/5-level and nested paging). */
static int
has_pcid(const env_t *e)
{
	return (e->g->levels >= 4 && !mode_ept(e->g));
}

/*
 * The low 12 bits of a CR3 that ht_switch gives with PCID pcid: the PCID;
 * in EPT the EPT pointer's walk length less one (bits 5:3), A/D enabled
 * (bit 6: EPT_ENV has HT_EPT_AD) and the WB memory type (bits 2:0).
 */
static uint64_t
cr3_low(const env_t *e, unsigned pcid)
{
	if (mode_ept(e->g))
		return (((uint64_t)(e->g->levels - 1) << 3) | 0x40 |
		    HT_EPT_WB);
	return (pcid);
}

/*
 * Give as the PCID where the mode has them; in EPT, check that there is
 * none to give (a VMCS tags guest-physical translations by EPTP, and a
 * PCID in bits 0..11 of an EPTP would be its memory type and walk
 * length).  A PCID taken there fails the test, and is taken back so that
 * the rest of the test still checks the rest.
 */
static void
set_pcid(const env_t *e, ht_as_t *as, unsigned pcid)
{
	int rc;

	if (has_pcid(e)) {
		OK(ht_as_set_pcid(as, pcid));
	} else if (mode_ept(e->g)) {
		rc = ht_as_set_pcid(as, pcid);
		cr_expect_eq(rc, -HT_EINVAL, "a PCID in %s: %s",
		    ht_mode_name(e->mode), rc == 0 ? "taken" :
		    ht_err_name(rc));
		if (rc == 0)
			OK(ht_as_set_pcid(as, 0));
	}
}

static ht_cpu_root_t *
croot(env_t *e, ht_ctx_t *ctx, unsigned id, ht_as_t *kernel,
    ht_as_t *kpti_user)
{
	ht_cpu_root_cfg_t rc;
	ht_cpu_root_t *cr;

	(void) e;
	memset(&rc, 0, sizeof (rc));
	rc.id = id;
	rc.kernel = kernel;
	rc.kpti_user = kpti_user;
	OK(ht_cpu_root_create(ctx, &rc, &cr));
	return (cr);
}

/*
 * Every frame the provider gave is a table frame the context reports (a
 * space's cache of emptied tables must be purged first).
 */
static void
frames_accounted(env_t *e)
{
	long n = ht_ctx_dump_frames(e->ctx, NULL, NULL);

	cr_assert_eq((uint64_t)n, ht_arena_frames_used(e->arena),
	    "frames in use %llu, reported %ld",
	    (unsigned long long)ht_arena_frames_used(e->arena), n);
}

/* ------------------------------------------------------------------ */
/* A hook that keeps what it was told                                  */
/* ------------------------------------------------------------------ */

#define TI_CAP	256
typedef struct ti_rec {
	ht_as_t		*as;
	ht_va_t		va;
	uint64_t	len;
	unsigned	pcid;
	unsigned	flags;
	unsigned	ncpus;
	unsigned	cpus[8];
} ti_rec_t;

static ti_rec_t ti[TI_CAP];
static unsigned nti;

static void
ti_hook(void *arg, const ht_tlb_info_t *t)
{
	ti_rec_t *r;

	(void) arg;
	cr_assert_lt(nti, TI_CAP);
	r = &ti[nti++];
	r->as = t->as;
	r->va = t->va;
	r->len = t->len;
	r->pcid = t->pcid;
	r->flags = t->flags;
	r->ncpus = t->ncpus;
	for (unsigned i = 0; i < t->ncpus && i < 8; i++)
		r->cpus[i] = t->cpus[i];
}

/* Did a call for as name CPU root id?  Any call for as at all? */
static int
ti_named(ht_as_t *as, unsigned id)
{
	for (unsigned i = 0; i < nti; i++)
		for (unsigned j = 0; ti[i].as == as && j < ti[i].ncpus; j++)
			if (ti[i].cpus[j] == id)
				return (1);
	return (0);
}

static int
ti_calls(ht_as_t *as)
{
	int n = 0;

	for (unsigned i = 0; i < nti; i++)
		n += ti[i].as == as;
	return (n);
}

static void
env_info(env_t *e, ht_mode_t mode, int kpti)
{
	ht_config_t c;

	env_arena(e, mode);
	c = base_cfg(e, mode);
	c.tlb = NULL;
	c.tlb_arg = NULL;
	c.tlb_info = ti_hook;
	c.kpti = kpti;
	OK(ht_ctx_create(&c, &e->ctx));
	OK(ht_as_create(e->ctx, 0, &e->as));
	nti = 0;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

ParameterizedTest(ht_mode_t *mode, cpu_root, switch_copies_and_follows,
    .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *a, *b, *k;
	ht_cpu_root_t *c0, *c1;
	ht_switch_t sw, sw1;
	ht_va_t u1, u2;

	env_setup(e, *mode);
	u1 = slot(e) + 5 * PG;
	u2 = 2 * slot(e) + 7 * PG;
	OK(ht_as_create(e->ctx, HT_AS_COPIED, &a));
	OK(ht_as_create(e->ctx, HT_AS_COPIED, &b));
	k = e->as;				/* the kernel space */
	cr_assert_eq(ht_as_root(a), 0, "a copied space has no root frame");
	OK(ht_map(k, kva(e, 0), 0x100000, PG, HT_W, 0));
	OK(ht_map(a, u1, 0x200000, PG, HT_W | HT_U, 0));
	OK(ht_map(b, u2, 0x300000, PG, HT_W | HT_U, 0));

	c0 = croot(e, e->ctx, 0, k, NULL);
	c1 = croot(e, e->ctx, 1, k, NULL);
	cr_assert_null(ht_cpu_root_running(c0));
	cr_assert_eq(ht_cpu_root_id(c1), 1);
	cr_assert_eq(ht_cpu_root_pa(c0, 1), 0, "no KPTI: no user root");
	CR_AUDIT(c0);
	OK(ht_switch(c0, a, &sw));
	OK(ht_switch(c1, a, &sw1));
	cr_assert_eq(ht_cpu_root_running(c0), a);
	cr_assert_eq(sw.cr3, ht_cpu_root_pa(c0, 0) | cr3_low(e, 0),
	    "no PCID: the frame");
	cr_assert_eq(sw.user_cr3, sw.cr3);
	cr_assert_neq(sw.cr3, sw1.cr3, "each CPU has its own root");
	SEES(e, sw.cr3, u1, 0x200000);
	SEES(e, sw.cr3, kva(e, 0), 0x100000);
	SEES(e, sw.cr3, u2, NOPA);
	SEES(e, sw1.cr3, u1, 0x200000);

	/* a change of a running space: a new root entry, seen at once */
	OK(ht_map(a, u2, 0x400000, PG, HT_W | HT_U, 0));
	SEES(e, sw.cr3, u2, 0x400000);
	SEES(e, sw1.cr3, u2, 0x400000);
	CR_AUDIT(c0);
	CR_AUDIT(c1);
	/* the kernel space grows in a new root entry: every CPU root */
	OK(ht_map(k, kva(e, 1), 0x500000, PG, HT_W, 0));
	SEES(e, sw.cr3, kva(e, 1), 0x500000);
	SEES(e, sw1.cr3, kva(e, 1), 0x500000);
	/* unmapping: gone through both */
	OK(ht_unmap(a, u2, PG, 0));
	SEES(e, sw.cr3, u2, NOPA);
	SEES(e, sw1.cr3, u2, NOPA);
	cr_assert_geq(ht_as_purge(a), 0);
	CR_AUDIT(c0);
	CR_AUDIT(c1);

	/* another space: a's entries go, b's come */
	OK(ht_switch(c1, b, &sw1));
	SEES(e, sw1.cr3, u1, NOPA);
	SEES(e, sw1.cr3, u2, 0x300000);
	SEES(e, sw1.cr3, kva(e, 0), 0x100000);
	SEES(e, sw.cr3, u1, 0x200000);
	OK(ht_map(a, u1 + PG, 0x600000, PG, 0, 0));
	SEES(e, sw.cr3, u1 + PG, 0x600000);
	SEES(e, sw1.cr3, u1 + PG, NOPA);
	CR_AUDIT(c1);
	/* nothing: the user half is empty, the kernel half stays */
	OK(ht_switch(c1, NULL, &sw1));
	cr_assert_null(ht_cpu_root_running(c1));
	SEES(e, sw1.cr3, u2, NOPA);
	SEES(e, sw1.cr3, kva(e, 0), 0x100000);
	CR_AUDIT(c1);
	frames_accounted(e);

	ht_cpu_root_destroy(c0);
	ht_cpu_root_destroy(c1);
	ht_cpu_root_destroy(NULL);
	AUDIT(a);
	ht_as_destroy(a);
	ht_as_destroy(b);
	env_teardown(e);
}

ParameterizedTest(ht_mode_t *mode, cpu_root, hook_names_cpu_roots,
    .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *a, *b, *k;
	ht_cpu_root_t *c[3];
	ht_switch_t sw;
	ht_va_t u;

	env_info(e, *mode, 0);
	u = slot(e) + 3 * PG;
	k = e->as;
	OK(ht_as_create(e->ctx, HT_AS_COPIED, &a));
	OK(ht_as_create(e->ctx, HT_AS_COPIED, &b));
	set_pcid(e, a, 7);
	for (unsigned i = 0; i < 3; i++)
		c[i] = croot(e, e->ctx, 10 + i, k, NULL);
	OK(ht_map(a, u, 0x200000, PG, HT_W, 0));
	OK(ht_map(b, u, 0x300000, PG, HT_W, 0));
	OK(ht_switch(c[0], a, &sw));
	cr_assert_eq(sw.cr3 & 0xfff, cr3_low(e, has_pcid(e) ? 7u : 0u),
	    "PCID");
	OK(ht_switch(c[1], a, &sw));
	OK(ht_switch(c[2], b, &sw));

	/* a change in a: told once, naming the CPU roots that run a */
	nti = 0;
	OK(ht_protect(a, u, PG, 0));
	cr_assert_eq(ti_calls(a), 1);
	cr_assert(ti_named(a, 10) && ti_named(a, 11));
	cr_assert(!ti_named(a, 12), "c2 runs b");
	cr_assert_eq(ti[0].ncpus, 2);
	cr_assert_eq(ti[0].pcid, has_pcid(e) ? 7u : 0u);
	cr_assert_eq(ti[0].flags, 0u);
	/* a change in the kernel space: every CPU root that copies it */
	OK(ht_map(k, kva(e, 0), 0x100000, PG, HT_W, 0));
	nti = 0;
	OK(ht_protect(k, kva(e, 0), PG, 0));
	cr_assert(ti_named(k, 10) && ti_named(k, 11) && ti_named(k, 12));
	/* a space nobody runs: named to nobody */
	OK(ht_switch(c[2], a, &sw));
	nti = 0;
	OK(ht_unmap(b, u, PG, 0));
	cr_assert_eq(ti_calls(b), 1);
	cr_assert_eq(ti[0].ncpus, 0);
	/* destroying a running space names who ran it */
	nti = 0;
	ht_as_destroy(a);
	cr_assert(ti_named(a, 10) && ti_named(a, 11) && ti_named(a, 12));
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_null(ht_cpu_root_running(c[i]));
		CR_AUDIT(c[i]);
		ht_cpu_root_destroy(c[i]);
	}
	ht_as_destroy(b);
	env_teardown(e);
}

ParameterizedTest(ht_mode_t *mode, cpu_root, flush_only_when_stale,
    .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *a, *b;
	ht_cpu_root_t *c0, *c1;
	ht_switch_t sw;
	ht_va_t u;
	int pcid;

	env_info(e, *mode, 0);
	u = slot(e) + 3 * PG;
	pcid = has_pcid(e);
	OK(ht_as_create(e->ctx, HT_AS_COPIED, &a));
	OK(ht_as_create(e->ctx, HT_AS_COPIED, &b));
	set_pcid(e, a, 1);
	set_pcid(e, b, 2);
	OK(ht_map(a, u, 0x200000, PG, HT_W, 0));
	c0 = croot(e, e->ctx, 0, NULL, NULL);
	c1 = croot(e, e->ctx, 1, NULL, NULL);
	OK(ht_switch(c0, a, &sw));
	cr_assert_eq(sw.flush, 1, "never ran a: nothing known");
	OK(ht_switch(c0, b, &sw));
	cr_assert_eq(sw.flush, 1);
	OK(ht_switch(c0, a, &sw));
	/* with PCIDs a's entries are still cached and right; without, b
	   used the same (no) PCID since */
	cr_assert_eq(sw.flush, !pcid);
	OK(ht_switch(c0, a, &sw));
	cr_assert_eq(sw.flush, 0, "running a, a did not change");
	/* a changes while c0 runs b: stale */
	OK(ht_switch(c0, b, &sw));
	OK(ht_protect(a, u, PG, 0));
	OK(ht_switch(c0, a, &sw));
	cr_assert_eq(sw.flush, 1, "a changed while c0 was away");
	/* a changes while c0 runs it: the hook named c0, no flush later */
	OK(ht_protect(a, u, PG, HT_W));
	cr_assert(ti_named(a, 0));
	OK(ht_switch(c0, b, &sw));
	OK(ht_switch(c0, a, &sw));
	cr_assert_eq(sw.flush, !pcid);
	/* another CPU's history is its own */
	OK(ht_switch(c1, a, &sw));
	cr_assert_eq(sw.flush, 1);
	if (pcid) {
		/* b takes a's PCID: c0's PCID-1 entries are a's, not b's */
		OK(ht_switch(c0, NULL, &sw));
		OK(ht_as_set_pcid(b, 1));
		OK(ht_switch(c0, b, &sw));
		cr_assert_eq(sw.flush, 1);
	}
	ht_cpu_root_destroy(c0);
	ht_cpu_root_destroy(c1);
	ht_as_destroy(a);
	ht_as_destroy(b);
	env_teardown(e);

	/* the plain hook names nobody: always flush */
	env_setup(e, *mode);
	OK(ht_as_create(e->ctx, HT_AS_COPIED, &a));
	c0 = croot(e, e->ctx, 0, NULL, NULL);
	OK(ht_switch(c0, a, &sw));
	OK(ht_switch(c0, a, &sw));
	cr_assert_eq(sw.flush, 1);
	ht_cpu_root_destroy(c0);
	ht_as_destroy(a);
	env_teardown(e);
}

ParameterizedTest(ht_mode_t *mode, cpu_root, destroyed_spaces_leave_cpu_roots,
    .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *a, *k;
	ht_cpu_root_t *c0;
	ht_switch_t sw;
	ht_va_t u;

	env_setup(e, *mode);
	u = slot(e) + 3 * PG;
	OK(ht_as_create(e->ctx, 0, &k));
	OK(ht_as_create(e->ctx, HT_AS_COPIED, &a));
	OK(ht_map(k, kva(e, 0), 0x100000, PG, HT_W, 0));
	OK(ht_map(a, u, 0x200000, PG, HT_W, 0));
	c0 = croot(e, e->ctx, 0, k, NULL);
	OK(ht_switch(c0, a, &sw));
	SEES(e, sw.cr3, u, 0x200000);
	cr_assert_eq(ht_ctx_destroy(e->ctx), -HT_EBUSY);
	ht_as_destroy(a);
	cr_assert_null(ht_cpu_root_running(c0));
	SEES(e, sw.cr3, u, NOPA);
	SEES(e, sw.cr3, kva(e, 0), 0x100000);
	CR_AUDIT(c0);
	ht_as_destroy(k);
	SEES(e, sw.cr3, kva(e, 0), NOPA);
	CR_AUDIT(c0);
	frames_accounted(e);
	ht_cpu_root_destroy(c0);
	env_teardown(e);
}

ParameterizedTest(ht_mode_t *mode, cpu_root, kpti_pairs, .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *kk, *ku, *a;
	ht_cpu_root_t *c0;
	ht_switch_t sw;
	ht_xlate_t x;
	ht_va_t u, tramp, secret;

	env_info(e, *mode, 1);
	u = slot(e) + 3 * PG;
	tramp = kva(e, 0);
	secret = kva(e, 1);
	kk = e->as;
	OK(ht_as_create(e->ctx, 0, &ku));
	OK(ht_as_create(e->ctx, HT_AS_COPIED, &a));
	/* the kernel maps its entry code and a secret; user mode sees the
	   entry code only */
	OK(ht_map(kk, tramp, 0x100000, PG, HT_X | HT_G, 0));
	OK(ht_map(kk, secret, 0x700000, PG, HT_W | HT_G, 0));
	OK(ht_map(ku, tramp, 0x100000, PG, HT_X | HT_G, 0));
	OK(ht_translate(kk, secret, &x));
	if (mode_ept(e->g))	/* no global bit: HT_G is IPAT, kept */
		cr_assert_eq(x.attr & HT_G, HT_G, "EPT: IPAT dropped");
	else
		cr_assert_eq(x.attr & HT_G, 0u, "KPTI: nothing is global");
	OK(ht_map(a, u, 0x200000, PG, HT_W | HT_U, 0));
	set_pcid(e, a, 3);
	c0 = croot(e, e->ctx, 4, kk, ku);
	cr_assert_neq(ht_cpu_root_pa(c0, 1), 0);
	OK(ht_switch(c0, a, &sw));
	cr_assert_eq(sw.cr3 & ~0xfffull, ht_cpu_root_pa(c0, 0));
	cr_assert_eq(sw.user_cr3 & ~0xfffull, ht_cpu_root_pa(c0, 1));
	if (has_pcid(e)) {
		cr_assert_eq(sw.cr3 & 0xfff, 3u);
		cr_assert_eq(sw.user_cr3 & 0xfff, 0x803u);
	}
	if (mode_ept(e->g)) {	/* both roots: EPT pointers */
		cr_assert_eq(sw.cr3 & 0xfff, cr3_low(e, 0));
		cr_expect_eq(sw.user_cr3 & 0xfff, cr3_low(e, 0),
		    "user_cr3 0x%llx is not an EPT pointer",
		    (unsigned long long)sw.user_cr3);
	}
	SEES(e, sw.cr3, u, 0x200000);
	SEES(e, sw.cr3, tramp, 0x100000);
	SEES(e, sw.cr3, secret, 0x700000);
	SEES(e, sw.user_cr3, u, 0x200000);
	SEES(e, sw.user_cr3, tramp, 0x100000);
	SEES(e, sw.user_cr3, secret, NOPA);
	/* the running space changes: both roots see it */
	OK(ht_map(a, 2 * slot(e), 0x800000, PG, HT_U, 0));
	SEES(e, sw.cr3, 2 * slot(e), 0x800000);
	SEES(e, sw.user_cr3, 2 * slot(e), 0x800000);
	CR_AUDIT(c0);
	/* the hook names the pair once, with a's PCID */
	nti = 0;
	OK(ht_unmap(a, 2 * slot(e), PG, 0));
	cr_assert(ti_named(a, 4));
	cr_assert_eq(ti[0].pcid, has_pcid(e) ? 3u : 0u);
	SEES(e, sw.user_cr3, 2 * slot(e), NOPA);
	CR_AUDIT(c0);
	/* the emptied tables wait in a's cache: not tables any more */
	cr_assert_gt(ht_as_purge(a), 0);
	frames_accounted(e);
	ht_cpu_root_destroy(c0);
	ht_as_destroy(a);
	ht_as_destroy(ku);
	env_teardown(e);
}

ParameterizedTest(ht_mode_t *mode, cpu_root,
    ordinary_space_runs_on_its_own_root, .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *a;
	ht_cpu_root_t *c0;
	ht_switch_t sw;
	ht_va_t u;

	env_setup(e, *mode);
	u = slot(e) + 3 * PG;
	OK(ht_as_create(e->ctx, HT_AS_COPIED, &a));
	OK(ht_map(a, u, 0x200000, PG, 0, 0));
	OK(ht_map(e->as, u, 0x300000, PG, 0, 0));
	set_pcid(e, e->as, 9);
	c0 = croot(e, e->ctx, 0, NULL, NULL);
	OK(ht_switch(c0, a, &sw));
	SEES(e, sw.cr3, u, 0x200000);
	OK(ht_switch(c0, e->as, &sw));
	cr_assert_eq(sw.cr3, ht_as_root(e->as) | cr3_low(e, has_pcid(e) ? 9 :
	    0));
	if (mode_ept(e->g)) {	/* ht_as_eptp's, with WB */
		uint64_t eptp;

		OK(ht_as_eptp(e->as, HT_EPT_WB, &eptp));
		cr_assert_eq(sw.cr3, eptp);
	}
	cr_assert_eq(ht_cpu_root_running(c0), e->as);
	SEES(e, sw.cr3, u, 0x300000);
	/* and the CPU root's own user half is empty meanwhile */
	SEES(e, ht_cpu_root_pa(c0, 0), u, NOPA);
	CR_AUDIT(c0);
	ht_cpu_root_destroy(c0);
	ht_as_destroy(a);
	env_teardown(e);
}

ParameterizedTest(ht_mode_t *mode, cpu_root, access_on_a_copied_space,
    .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *a;
	ht_cpu_t cpu = { HT_CPU_WP | HT_CPU_NXE, 0, 0 };
	ht_access_t acc;
	ht_xlate_t x;
	ht_va_t u;
	int ept;

	env_setup(e, *mode);
	u = slot(e) + 3 * PG;
	/* EPT: the CPU the context's entries are made for; VM exits */
	ept = mode_ept(e->g);
	if (ept)
		cpu.flags = HT_CPU_EPT_MBEC | HT_CPU_EPT_XONLY;
	OK(ht_as_create(e->ctx, HT_AS_COPIED, &a));
	OK(ht_map(a, u, 0x200000, PG, HT_U, 0));
	OK(ht_translate(a, u + 0x10, &x));
	cr_assert_eq(x.pa, 0x200010);
	OK(ht_access(a, &cpu, u + 0x10, HT_ACC_READ, 3, &acc));
	cr_assert_eq(acc.fault, HT_FAULT_NONE, "a user read of a user page");
	cr_assert_eq(acc.pa, 0x200010);
	OK(ht_access(a, &cpu, u, HT_ACC_WRITE, 3, &acc));
	cr_assert_eq(acc.fault, ept ? HT_FAULT_EPT_VIOLATION : HT_FAULT_PF,
	    "read-only");
	if (ept)	/* a write; readable and user-executable (HT_U) */
		cr_assert_eq(acc.error_code, HT_EPTQ_WRITE | HT_EPTQ_R |
		    HT_EPTQ_XU, "qualification 0x%x", acc.error_code);
	OK(ht_access(a, &cpu, 2 * slot(e), HT_ACC_READ, 3, &acc));
	cr_assert_eq(acc.fault, ept ? HT_FAULT_EPT_VIOLATION : HT_FAULT_PF,
	    "an empty root entry");
	if (ept)	/* a read, no right where nothing is present */
		cr_assert_eq(acc.error_code, HT_EPTQ_READ,
		    "qualification 0x%x", acc.error_code);
	if (e->g->pte_size == 4) {
		/* 32-bit paging: 4 MiB made of 4 KiB pages */
		OK(ht_map(a, 4 * slot(e), 0x400000, slot(e), 0, 0));
		OK(ht_translate(a, 4 * slot(e), &x));
		cr_assert_eq(x.level, 0u);
	}
	AUDIT(a);
	ht_as_destroy(a);
	env_teardown(e);
}

ParameterizedTest(ht_mode_t *mode, cpu_root, share_and_steal_keep_copies,
    .timeout = 120)
{
	env_t *e = &E;
	ht_as_t *a, *src;
	ht_cpu_root_t *c0;
	ht_switch_t sw;
	ht_share_info_t info;
	uint64_t span;
	ht_va_t r;

	env_setup(e, *mode);
	span = 1ull << e->g->level_shift[1];	/* a level-0 table */
	r = 3 * slot(e);
	if (r >= (ht_va_t)nuser(e) * slot(e))
		r = 2 * slot(e) + 8 * span;
	OK(ht_as_create(e->ctx, 0, &src));
	OK(ht_as_create(e->ctx, HT_AS_COPIED, &a));
	OK(ht_map(src, span, 0x900000, PG, HT_W, 0));
	c0 = croot(e, e->ctx, 0, NULL, NULL);
	OK(ht_switch(c0, a, &sw));
	/* a shared table linked below a's copied root: seen through c0 */
	OK(ht_share(a, r, src, span, span, &info));
	cr_assert_eq(info.tables, 1u);
	SEES(e, sw.cr3, r, 0x900000);
	OK(ht_map(src, span + PG, 0x901000, PG, HT_W, 0));
	SEES(e, sw.cr3, r + PG, 0x901000);
	CR_AUDIT(c0);
	cr_assert_eq(ht_unshare(a, r, span), 1);
	SEES(e, sw.cr3, r, NOPA);
	CR_AUDIT(c0);

	/* stealing: every other allocation fails, tables move between
	   spaces, and the copies follow */
	ht_ctx_set_force_steal(e->ctx, 2);
	for (unsigned i = 0; i < 24; i++) {
		ht_va_t v = (i % 2 ? slot(e) : 2 * slot(e)) + (ht_va_t)i * span;

		if (ht_map(a, v, 0x1000000 + i * PG, PG, 0, 0) == 0)
			SEES(e, sw.cr3, v, 0x1000000 + i * PG);
		if (ht_map(e->as, v, 0x2000000, PG, 0, 0) != 0)
			continue;
		CR_AUDIT(c0);
		AUDIT(a);
	}
	ht_ctx_set_force_steal(e->ctx, 0);
	ht_stats_t st;
	ht_ctx_stats(e->ctx, &st);
	cr_assert_gt(st.stolen, 0u, "tables were stolen");
	cr_assert_geq(ht_ctx_reap(e->ctx), 0);
	CR_AUDIT(c0);
	AUDIT(a);
	AUDIT(e->as);
	frames_accounted(e);
	ht_cpu_root_destroy(c0);
	ht_as_destroy(a);
	ht_as_destroy(src);
	frames_accounted(e);
	env_teardown(e);
}
