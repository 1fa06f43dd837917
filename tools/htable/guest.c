/*
 * guest.c - the guest of a nested spec: its tables, built at
 * guest-physical addresses and laid down in host memory where the host's
 * tables put them.
 *
 * Theory of operation.  The guest's context has a frame provider of its
 * own.  Its frames are the pages of the guest's pools, numbered by their
 * guest-physical addresses, so that every entry the library writes holds
 * a guest-physical address, as the guest's CPU reads it.  Before the
 * context is made, each of those pages is translated by the host space
 * (ht_translate): a page the host does not map is an error at its pool's
 * line, since the guest's tables there would be in no memory at all; so
 * is a page that lands inside a host pool (the guest's tables would
 * overwrite the hypervisor's) or on the same host page as another (they
 * would overwrite each other).  A page mapped with fewer rights (read
 * only, no read) is taken: what the guest's walk then meets is the
 * point of such a layout.  The provider's map callback gives a buffer
 * that stands for the host-physical page; spec_guest_write hands each
 * table frame's buffer out with its host-physical address, and build
 * writes it into the image there.
 *
 * The provider hands out the lowest free page in the range asked (a
 * build is one thread and deterministic); the host space does not change
 * while the guest is built.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

/* Guest pools hold at most this much (a page costs a lookup and 32 B). */
#define GUEST_POOL_MAX	(1ull << 30)

struct spec_gpage {
	uint64_t	gpa, hpa;
	int		pool;		/* index in the guest's pools */
	int		used;		/* handed out */
	uint8_t		*buf;		/* the host page; NULL until mapped */
};

/* The page of g at guest-physical gpa (by bisection), or NULL. */
static spec_gpage_t *
gpage(spec_guest_t *g, uint64_t gpa)
{
	size_t lo = 0, hi = g->npg;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->pg[mid].gpa == gpa)
			return (&g->pg[mid]);
		if (g->pg[mid].gpa < gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (NULL);
}

/* ht_frame_ops_t.alloc: the lowest free page in [lo, hi). */
static int
g_alloc(void *arg, ht_pa_t lo, ht_pa_t hi, ht_pfn_t *r_pfn)
{
	spec_guest_t *g = arg;

	for (size_t i = g->next; i < g->npg; i++) {
		spec_gpage_t *p = &g->pg[i];

		if (p->used || p->gpa < lo)
			continue;
		if (p->gpa >= hi)
			break;
		p->used = 1;
		if (i == g->next)
			g->next++;
		*r_pfn = p->gpa >> HT_PAGE_SHIFT;
		return (0);
	}
	return (-HT_ENOFRAME);
}

/* ht_frame_ops_t.free: the page is free again (its buffer is kept). */
static void
g_free(void *arg, ht_pfn_t pfn)
{
	spec_guest_t *g = arg;
	spec_gpage_t *p = gpage(g, (uint64_t)pfn << HT_PAGE_SHIFT);

	if (p == NULL)
		return;
	p->used = 0;
	if ((size_t)(p - g->pg) < g->next)
		g->next = (size_t)(p - g->pg);
}

/* ht_frame_ops_t.map: the buffer standing for the page's host memory. */
static void *
g_map(void *arg, ht_pfn_t pfn)
{
	spec_guest_t *g = arg;
	spec_gpage_t *p = gpage(g, (uint64_t)pfn << HT_PAGE_SHIFT);

	if (p == NULL)
		return (NULL);
	if (p->buf == NULL &&
	    (p->buf = aligned_alloc(HT_PAGE_SIZE, HT_PAGE_SIZE)) != NULL)
		memset(p->buf, 0, HT_PAGE_SIZE);
	return (p->buf);
}

static const ht_frame_ops_t g_ops = {
	.alloc = g_alloc, .free = g_free, .map = g_map,
};

/* qsort's orders of pages: by guest-physical, by host-physical address */
static int
by_gpa(const void *a, const void *b)
{
	const spec_gpage_t *x = a, *y = b;

	return (x->gpa < y->gpa ? -1 : x->gpa > y->gpa);
}

static int
by_hpa(const void *a, const void *b)
{
	const spec_gpage_t *x = a, *y = b;

	return (x->hpa < y->hpa ? -1 : x->hpa > y->hpa);
}

/*
 * Every page of the guest's pools with the host-physical page the host
 * space as maps it to; the file's comment says what is refused.  0 or -1
 * after a message.
 */
static int
gpages(const spec_t *s, ht_as_t *as, spec_guest_t *g, FILE *err)
{
	const spec_t *gs = s->guest;
	const char *name = s->spaces[s->guest_space].name;
	uint64_t total = 0;
	size_t n = 0;

	for (int i = 0; i < gs->npools; i++) {
		total += gs->pools[i].len;
		if (gs->pools[i].len > GUEST_POOL_MAX ||
		    total > GUEST_POOL_MAX)
			return (spec_bad(err, s->file, gs->pool_line[i], "pool: "
			    "the guest's pools hold at most 1 GiB in all"));
	}
	if ((g->pg = calloc((size_t)(total >> HT_PAGE_SHIFT),
	    sizeof (*g->pg))) == NULL)
		return (spec_bad(err, s->file, s->guest_line, "out of memory"));
	for (int i = 0; i < gs->npools; i++) {
		const ht_range_t *r = &gs->pools[i];

		for (uint64_t o = 0; o < r->len; o += HT_PAGE_SIZE) {
			spec_gpage_t *p = &g->pg[n++];
			ht_xlate_t x;
			int rc;

			p->gpa = r->base + o;
			p->pool = i;
			g->npg = n;
			if ((rc = ht_translate(as, p->gpa, &x)) == 0) {
				p->hpa = x.pa;
				continue;
			}
			if (rc == -HT_ENOTMAPPED)
				return (spec_bad(err, s->file, gs->pool_line[i],
				    "pool: guest-physical page 0x%llx is not "
				    "mapped by the host space '%s': the "
				    "guest's tables there would be in no "
				    "memory", (unsigned long long)p->gpa,
				    name));
			return (spec_bad(err, s->file, gs->pool_line[i], "pool: "
			    "guest-physical page 0x%llx: %s: %s",
			    (unsigned long long)p->gpa, ht_strerror(rc),
			    ht_errdetail()));
		}
	}
	/* no page twice; each on a host page of its own, none in a host pool */
	qsort(g->pg, g->npg, sizeof (*g->pg), by_gpa);
	for (size_t k = 1; k < g->npg; k++) {
		int a = gs->pool_line[g->pg[k - 1].pool];
		int b = gs->pool_line[g->pg[k].pool];

		if (g->pg[k - 1].gpa == g->pg[k].gpa)
			return (spec_bad(err, s->file, a > b ? a : b, "pool: the "
			    "guest's pools overlap at 0x%llx",
			    (unsigned long long)g->pg[k].gpa));
	}
	qsort(g->pg, g->npg, sizeof (*g->pg), by_hpa);
	for (size_t k = 0; k < g->npg; k++) {
		const spec_gpage_t *p = &g->pg[k];

		for (int i = 0; i < s->npools; i++)
			if (p->hpa >= s->pools[i].base &&
			    p->hpa - s->pools[i].base < s->pools[i].len)
				return (spec_bad(err, s->file,
				    gs->pool_line[p->pool], "pool: "
				    "guest-physical page 0x%llx is "
				    "host-physical 0x%llx, in the host's pool "
				    "of line %d: the guest's tables would "
				    "overwrite the hypervisor's",
				    (unsigned long long)p->gpa,
				    (unsigned long long)p->hpa,
				    s->pool_line[i]));
		if (k > 0 && p[-1].hpa == p->hpa)
			return (spec_bad(err, s->file, gs->pool_line[p->pool],
			    "pool: guest-physical pages 0x%llx and 0x%llx "
			    "are both host-physical 0x%llx: the guest's "
			    "tables would overwrite each other",
			    (unsigned long long)p[-1].gpa,
			    (unsigned long long)p->gpa,
			    (unsigned long long)p->hpa));
	}
	qsort(g->pg, g->npg, sizeof (*g->pg), by_gpa);
	return (0);
}

int
spec_guest_build(const spec_t *s, const spec_world_t *hw, spec_guest_t *g,
    FILE *err)
{
	const spec_t *gs = s->guest;
	ht_config_t cfg;

	memset(g, 0, sizeof (*g));
	g->host = s;
	if (gpages(s, hw->as[s->guest_space], g, err) != 0)
		return (-1);
	memset(&cfg, 0, sizeof (cfg));
	cfg.mode = gs->mode;
	cfg.pagesizes = gs->pagesizes;
	cfg.frame_ops = &g_ops;
	cfg.frame_arg = g;
	cfg.npools = (unsigned)gs->npools;
	memcpy(cfg.pools, gs->pools, sizeof (gs->pools));
	if (ht_ctx_create(&cfg, &g->ctx) != 0)
		return (spec_bad(err, s->file, gs->pagesizes_line ?
		    gs->pagesizes_line : s->guest_line, "guest: %s",
		    ht_errdetail()));
	g->ran = 1;
	return (spec_run(gs, g->ctx, NULL, &g->w, err));
}

/* What spec_guest_write's frame function needs. */
typedef struct gwrite {
	spec_guest_t	*g;
	void		(*fn)(void *, uint64_t, const void *);
	void		*arg;
} gwrite_t;

/* ht_ctx_dump_frames's function: a guest table frame to write. */
static void
gw_frame(void *arg, const ht_as_t *as, ht_pfn_t pfn, int level)
{
	gwrite_t *w = arg;
	spec_gpage_t *p = gpage(w->g, (uint64_t)pfn << HT_PAGE_SHIFT);

	(void) as;
	(void) level;
	if (p == NULL || p->buf == NULL)
		return;		/* not reached: every table was mapped */
	w->g->frames++;
	w->fn(w->arg, p->hpa, p->buf);
}

void
spec_guest_write(spec_guest_t *g,
    void (*fn)(void *arg, uint64_t hpa, const void *bytes), void *arg)
{
	gwrite_t w = { g, fn, arg };

	g->frames = 0;
	(void) ht_ctx_dump_frames(g->ctx, gw_frame, &w);
}

uint64_t
spec_guest_cr3(const spec_guest_t *g)
{
	return (ht_as_root(g->w.as[0]));
}

void
spec_guest_free(spec_guest_t *g)
{
	if (g->ran)
		spec_world_free(&g->w);
	if (g->ctx != NULL)
		(void) ht_ctx_destroy(g->ctx);
	for (size_t i = 0; i < g->npg; i++)
		free(g->pg[i].buf);
	free(g->pg);
	memset(g, 0, sizeof (*g));
}
