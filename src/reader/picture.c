/*
 * picture.c - the data of a picture of one address space (ht_scan_picture,
 * htable.h): what `htable show` draws and what its page walks on hover.
 *
 * Theory of operation
 *
 * Two passes over the image, both through cfg->read and both bounded by
 * the image, not by what its entries claim:
 *  - the ranges: ht_scan's leaves, coalesced by the rule of `htable dump`
 *    (VA and PA both continue; page size, effective rights and the
 *    attributes a range line shows all equal), so that a picture draws
 *    exactly the ranges that dump prints;
 *  - the tables: a breadth-first visit from the root in which every
 *    (frame, level) the MMU can reach is read once and written once, with
 *    its non-zero entries in runs (entry index + k holds value + k * step)
 *    and each link naming the table it leads to by its number.  A table
 *    reached again (a shared table, or a self-map's target seen before) is
 *    counted, not read again, so the visit is at most levels x frames
 *    table reads whatever the entries say; levels only go down, so it
 *    ends.  Tables are numbered in the order they are first reached, which
 *    is the order they are written, so a link's number is known when its
 *    entry is written; how often each is reached is known only at the end
 *    and comes after the tables ("reached").
 * A self-map is a link to the frame of the table that holds it or of a
 * table above it on the path by which that table was first reached.
 *
 * The bytes go out through the caller's write function in blocks of
 * PIC_BUF.  Strings are escaped so that the object may sit inside an HTML
 * script element.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader.h"
#include "debug.h"

#define PIC_BUF		65536
#define PIC_TABLE_MAX	1024		/* entries of a 32-bit table */

/* The attributes a range line of `htable dump` shows (format.c). */
#define PIC_RANGE_ATTRS	(HT_G | HT_A | HT_D | HT_PWT | HT_PCD | HT_PAT | \
	HT_SW_MASK | HT_SW_BIT9 | HT_EPT_SVE | HT_EPT_VGP | HT_EPT_PW)

/* Entry kinds in a table's runs */
#define PK_LEAF		0
#define PK_LINK		1
#define PK_SELF		2
#define PK_NOTPRESENT	3
#define PK_RESERVED	4

/* A table reached: (pa, level), where, and by what. */
typedef struct pnode {
	ht_pa_t		pa;
	int		level;
	uint64_t	vpn;		/* linear VA >> 12, first reached */
	uint64_t	reached;
	size_t		parent;		/* SIZE_MAX: the root */
} pnode_t;

typedef struct pic {
	const ht_scan_cfg_t *cfg;
	mmu_t		m;
	uint64_t	va_mask;	/* the linear VA's bits */
	ht_write_fn	out;
	void		*arg;
	int		err;		/* the first failure, negative */
	size_t		len;
	/* ranges */
	int		open;
	ht_leaf_t	run;
	uint64_t	run_pages;
	uint64_t	nranges;
	/* tables */
	pnode_t		*n;
	size_t		nn, cap;
	size_t		*hash;		/* node + 1; 0 = empty */
	size_t		hcap;		/* a power of two */
	uint64_t	selfmaps, unbacked;
	char		buf[PIC_BUF];
} pic_t;

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static void
pic_flush(pic_t *p)
{
	if (p->err == 0 && p->len != 0) {
		int rc = p->out(p->arg, p->buf, p->len);

		if (rc < 0)
			p->err = rc;
		else if (rc > 0)
			p->err = ht__fail(HT_EINVAL, "picture: the write "
			    "function returned %d (not 0 or a negative code)",
			    rc);
	}
	p->len = 0;
}

static void
pic_put(pic_t *p, const char *s, size_t n)
{
	while (n > 0 && p->err == 0) {
		size_t k = PIC_BUF - p->len;

		if (k > n)
			k = n;
		memcpy(p->buf + p->len, s, k);
		p->len += k;
		s += k;
		n -= k;
		if (p->len == PIC_BUF)
			pic_flush(p);
	}
}

static void __attribute__((format(printf, 2, 3)))
pic_printf(pic_t *p, const char *fmt, ...)
{
	char t[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t, sizeof (t), fmt, ap);
	va_end(ap);
	HT_ASSERT(n >= 0 && (size_t)n < sizeof (t));
	pic_put(p, t, (size_t)n);
}

/*
 * A JSON string: quotes, backslashes and control characters escaped, and
 * '<', '>', '&' and every byte above 0x7e as \u00XX, so that no "</script"
 * can end the element the page keeps the data in.
 */
static void
pic_string(pic_t *p, const char *s)
{
	pic_put(p, "\"", 1);
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };

			pic_put(p, e, 2);
		} else if (c < 0x20 || c > 0x7e || c == '<' || c == '>' ||
		    c == '&')
			pic_printf(p, "\\u%04x", c);
		else
			pic_put(p, (const char *)&c, 1);
	}
	pic_put(p, "\"", 1);
}

/* ------------------------------------------------------------------ */
/* Ranges                                                              */
/* ------------------------------------------------------------------ */

static void
range_write(pic_t *p)
{
	const ht_leaf_t *r = &p->run;

	pic_printf(p, "%s[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%u,%u,%u]",
	    p->nranges != 0 ? ",\n" : "\n",
	    (r->va & p->va_mask) >> HT_PAGE_SHIFT, p->run_pages *
	    (r->size >> HT_PAGE_SHIFT), r->pa >> HT_PAGE_SHIFT, r->level,
	    r->eff, r->attr & PIC_RANGE_ATTRS);
	p->nranges++;
}

static int
range_leaf(void *arg, const ht_leaf_t *l)
{
	pic_t *p = arg;
	const ht_leaf_t *r = &p->run;
	uint64_t span = p->run_pages * r->size;

	if (p->open && l->va == r->va + span && l->pa == r->pa + span &&
	    l->size == r->size && l->eff == r->eff &&
	    (l->attr & PIC_RANGE_ATTRS) == (r->attr & PIC_RANGE_ATTRS)) {
		p->run_pages++;
		return (0);
	}
	if (p->open)
		range_write(p);
	p->run = *l;
	p->run_pages = 1;
	p->open = 1;
	return (p->err);
}

/* ------------------------------------------------------------------ */
/* Tables                                                              */
/* ------------------------------------------------------------------ */

static size_t
node_slot(const pic_t *p, ht_pa_t pa, int level)
{
	uint64_t h = (pa ^ (uint64_t)level) * 0x9e3779b97f4a7c15ull;

	return ((size_t)(h >> 20) & (p->hcap - 1));
}

/*
 * The node of (pa, level): found (reached once more), or added, reached
 * from parent at linear VA page vpn.  Its index, or SIZE_MAX out of
 * memory.
 */
static size_t
node_get(pic_t *p, ht_pa_t pa, int level, uint64_t vpn, size_t parent)
{
	size_t i;

	if (p->hcap != 0) {
		for (i = node_slot(p, pa, level); p->hash[i] != 0;
		    i = (i + 1) & (p->hcap - 1)) {
			pnode_t *x = &p->n[p->hash[i] - 1];

			if (x->pa == pa && x->level == level) {
				x->reached++;
				return (p->hash[i] - 1);
			}
		}
	}
	if (p->nn == p->cap) {
		size_t cap = p->cap != 0 ? p->cap * 2 : 64;
		pnode_t *n = realloc(p->n, cap * sizeof (*n));

		if (n == NULL)
			return (SIZE_MAX);
		p->n = n;
		p->cap = cap;
	}
	/* the hash at most half full */
	if ((p->nn + 1) * 2 > p->hcap) {
		size_t hcap = p->hcap != 0 ? p->hcap * 2 : 128;
		size_t *h = calloc(hcap, sizeof (*h));

		if (h == NULL)
			return (SIZE_MAX);
		free(p->hash);
		p->hash = h;
		p->hcap = hcap;
		for (size_t k = 0; k < p->nn; k++) {
			for (i = node_slot(p, p->n[k].pa, p->n[k].level);
			    h[i] != 0; i = (i + 1) & (hcap - 1))
				;
			h[i] = k + 1;
		}
	}
	for (i = node_slot(p, pa, level); p->hash[i] != 0;
	    i = (i + 1) & (p->hcap - 1))
		;
	p->hash[i] = p->nn + 1;
	p->n[p->nn] = (pnode_t){ .pa = pa, .level = level, .vpn = vpn,
	    .reached = 1, .parent = parent };
	return (p->nn++);
}

/* Is frame pa that of node k or of a table above it? */
static int
is_ancestor(const pic_t *p, size_t k, ht_pa_t pa)
{
	for (; k != SIZE_MAX; k = p->n[k].parent)
		if (p->n[k].pa >> HT_PAGE_SHIFT == pa >> HT_PAGE_SHIFT)
			return (1);
	return (0);
}

/* The run of entries being gathered in a table. */
typedef struct prun {
	unsigned	idx, count;
	int		kind;
	uint64_t	val, step;
} prun_t;

static void
run_write(pic_t *p, const prun_t *r, int *first)
{
	pic_printf(p, "%s[%u,%u,%d,\"%" PRIx64 "\",", *first ? "" : ",",
	    r->idx, r->count, r->kind, r->val);
	if (r->kind == PK_LINK || r->kind == PK_SELF)
		pic_printf(p, "%" PRIu64 "]", r->step);
	else
		pic_printf(p, "\"%" PRIx64 "\"]", r->step);
	*first = 0;
}

/* Read node k's table and write it, adding the nodes it links. */
static int
table_write(pic_t *p, size_t k)
{
	const mmu_t *m = &p->m;
	const int level = p->n[k].level;
	const ht_pa_t pa = p->n[k].pa;
	const uint64_t vpn0 = p->n[k].vpn;
	unsigned n = mmu_entries(m, level);
	uint64_t table[PIC_TABLE_MAX / 2];
	prun_t r = { .kind = -1 };
	int rc, first = 1;

	rc = rd_read(p->cfg, 1, pa, table, (size_t)n << m->pte_shift);
	if (rc < 0)
		return (rc);
	if (rc == 1)
		p->unbacked++;
	pic_printf(p, "%s[\"%" PRIx64 "\",%d,%" PRIu64 ",%d,[",
	    k != 0 ? ",\n" : "\n", pa, level, vpn0, rc == 1);
	for (unsigned i = 0; i < n; i++) {
		uint64_t pte = m->pte_size == 4 ? ((uint32_t *)table)[i] :
		    table[i];
		ht_pa_t next = 0;
		int kind;

		if (pte == 0)
			continue;
		switch (rd_classify(m, 0, pte, level, &next)) {
		case 0: kind = PK_NOTPRESENT; break;
		case -1: kind = PK_RESERVED; break;
		case 2: kind = PK_LEAF; break;
		default: kind = PK_LINK; break;
		}
		if (kind != PK_LINK && kind == r.kind &&
		    i == r.idx + r.count &&
		    (r.count == 1 || pte == r.val + r.count * r.step)) {
			if (r.count == 1)
				r.step = pte - r.val;
			r.count++;
			continue;
		}
		if (r.kind >= 0)
			run_write(p, &r, &first);
		r = (prun_t){ .idx = i, .count = 1, .kind = kind, .val = pte };
		if (kind == PK_LINK) {
			uint64_t vpn = vpn0 + (((uint64_t)i <<
			    LEVEL_SHIFT(m, level)) >> HT_PAGE_SHIFT);
			size_t c;

			if (is_ancestor(p, k, next)) {
				r.kind = PK_SELF;
				p->selfmaps++;
			}
			c = node_get(p, next, level - 1, vpn, k);
			if (c == SIZE_MAX)
				return (ht__fail(HT_ENOMEM, "picture: no "
				    "memory for %zu tables", p->nn));
			r.step = c;
		}
	}
	if (r.kind >= 0)
		run_write(p, &r, &first);
	pic_put(p, "]]", 2);
	return (p->err);
}

/* ------------------------------------------------------------------ */
/* The object                                                          */
/* ------------------------------------------------------------------ */

static void
header_write(pic_t *p, const char *name, unsigned ept)
{
	const mmu_t *m = &p->m;
	const ht_geometry_t *g = ht_geometry(p->cfg->mode);

	pic_printf(p, "{\"htable_picture\":1,\"name\":");
	pic_string(p, name);
	pic_printf(p, ",\"mode\":\"%s\",\"cr3\":\"%" PRIx64 "\",\"root\":\""
	    "%" PRIx64 "\",\"ept\":%u,\n", ht_mode_name(p->cfg->mode),
	    p->cfg->cr3, rd_root(m, p->cfg), ept);
	pic_printf(p, "\"geometry\":{\"levels\":%u,\"pte_size\":%u,"
	    "\"top\":%u,\"entries\":%u,\"shift\":[", g->levels, g->pte_size,
	    g->top_level_count, g->ptes_per_table);
	for (unsigned l = 0; l < g->levels; l++)
		pic_printf(p, "%s%u", l != 0 ? "," : "", g->level_shift[l]);
	pic_printf(p, "],\"va_bits\":%u,\"hole\":%s},\n", g->va_bits,
	    g->hole_start != 0 ? "true" : "false");
	pic_printf(p, "\"bits\":{\"w\":%u,\"u\":%u,\"x\":%u,\"g\":%u,"
	    "\"pwt\":%u,\"pcd\":%u,\"pat\":%u,\"noread\":%u,\"a\":%u,"
	    "\"d\":%u,", HT_W, HT_U, HT_X, HT_G, HT_PWT, HT_PCD, HT_PAT,
	    HT_NOREAD, HT_A, HT_D);
	pic_printf(p, "\"sw_mask\":%u,\"sw9\":%u,\"sve\":%u,\"vgp\":%u,"
	    "\"pw\":%u,\"ept_ad\":%u,\"ept_mbec\":%u},\n", HT_SW_MASK,
	    HT_SW_BIT9, HT_EPT_SVE, HT_EPT_VGP, HT_EPT_PW, HT_EPT_AD,
	    HT_EPT_MBEC);
}

int
ht_scan_picture(const ht_scan_cfg_t *cfg, const char *name,
    ht_write_fn out, void *arg)
{
	ht_scan_stats_t st;
	unsigned ept = 0;
	uint64_t shared = 0;
	pic_t *p;
	int rc;

	if (out == NULL)
		return (ht__fail(HT_EINVAL, "picture: no write function"));
	if (cfg != NULL && (cfg->flags & HT_SCAN_QEMU))
		return (ht__fail(HT_EINVAL, "picture: HT_SCAN_QEMU: a picture "
		    "shows what the MMU reads"));
	if ((p = calloc(1, sizeof (*p))) == NULL)
		return (ht__fail(HT_ENOMEM, "picture: no memory"));
	p->cfg = cfg;
	p->out = out;
	p->arg = arg;
	if ((rc = rd_setup(cfg, &p->m)) != 0 ||
	    (rc = rd_eptp(cfg, &ept)) != 0)
		goto done;
	if (cfg->flags & HT_SCAN_EPT_MBEC)
		ept |= HT_EPT_MBEC;
	if (cfg->flags & HT_SCAN_EPT_XONLY)
		ept |= HT_EPT_XONLY;
	p->va_mask = p->m.va_bits >= 64 ? ~0ull :
	    (1ull << p->m.va_bits) - 1;
	header_write(p, name, ept);
	pic_put(p, "\"ranges\":[", 10);
	rc = ht_scan(cfg, range_leaf, p, &st);
	if (rc == 0 && p->open)
		range_write(p);
	if (rc == 0)
		rc = p->err;
	if (rc != 0)
		goto done;
	pic_put(p, "],\n\"tables\":[", 13);
	if (node_get(p, rd_root(&p->m, cfg), p->m.max_level, 0,
	    SIZE_MAX) == SIZE_MAX) {
		rc = ht__fail(HT_ENOMEM, "picture: no memory");
		goto done;
	}
	for (size_t k = 0; k < p->nn; k++)
		if ((rc = table_write(p, k)) != 0)
			goto done;
	pic_put(p, "],\n\"reached\":[", 14);
	for (size_t k = 0; k < p->nn; k++) {
		pic_printf(p, "%s%" PRIu64, k != 0 ? "," : "", p->n[k].reached);
		shared += p->n[k].reached > 1;
	}
	pic_printf(p, "],\n\"stats\":{\"leaves\":%" PRIu64 ",\"ranges\":%"
	    PRIu64 ",\"tables\":%zu,\"unbacked\":%" PRIu64 ",\"reserved\":%"
	    PRIu64 ",\"selfmaps\":%" PRIu64 ",\"shared\":%" PRIu64 "}}\n",
	    st.leaves, p->nranges, p->nn, p->unbacked, st.reserved,
	    p->selfmaps, shared);
	pic_flush(p);
	rc = p->err;
done:
	free(p->n);
	free(p->hash);
	free(p);
	return (rc);
}
