/*
 * format.c - what `htable dump` prints.
 *
 * text and json list coalesced ranges: consecutive leaves whose VAs and
 * PAs both continue and whose page size, effective permissions, G/A/D
 * and memory-type index (PAT*4 + PCD*2 + PWT) are all equal.  EPT
 * leaves have their own fields: the rights r, w, x (and u, user-mode
 * execute, under MBEC), the memory type by name, A/D only when the EPTP
 * enables them, and ipat, sve, vgp and pw; a range's leaves agree on all.
 *
 * qemu-tlb and qemu-mem reproduce, byte for byte, QEMU 7.2's monitor
 * commands `info tlb` and `info mem` (target/i386/monitor.c) for a CPU
 * with this CR3; the scan reads the tables as QEMU does (HT_SCAN_QEMU).
 * What they print, from QEMU's behaviour rather than its code:
 *  - info tlb: a line per present leaf, "VA: ENTRY FLAGS", VA canonical;
 *    ENTRY is the leaf masked per mode and size (below; 4 KiB entries
 *    have bit 7 cleared first, so P shows only for large pages); FLAGS
 *    are X G P D A C T U W from bits 63 8 7 6 5 4 3 2 1, '-' when clear.
 *  - info mem: runs over *linear* addresses (a run may cross the
 *    canonical hole) of present pages with equal effective U and W; a
 *    not-present entry ends a run; "START-END SIZE u|- r w|-", each number
 *    sign-extended from bit 47 (4-level) or 56 (5-level) when that bit is
 *    set, so a run to the top ends at 0001000000000000 (or 1<<57).  QEMU
 *    7.2's 5-level `info mem` is broken (an inverted present test, fixed
 *    upstream later); this prints what the fixed one prints.
 */
#include <inttypes.h>
#include <string.h>

#include "format.h"

const char *
fmt_pagesize(uint64_t size)
{
	switch (size) {
	case 1ull << 12: return ("4k");
	case 1ull << 21: return ("2m");
	case 1ull << 22: return ("4m");
	case 1ull << 30: return ("1g");
	default: return ("?");
	}
}

/* Memory-type index: which PAT entry the leaf selects. */
static unsigned
mt_index(unsigned attr)
{
	return (((attr & HT_PAT) ? 4 : 0) | ((attr & HT_PCD) ? 2 : 0) |
	    ((attr & HT_PWT) ? 1 : 0));
}

/*
 * The software bits of a leaf as `sw=` shows them: bit n is HT_SW(n) (the
 * layout language's sw=N), bit 9 the entry's bit 9.
 */
unsigned
fmt_sw(unsigned attr)
{
	return ((attr & (HT_SW_MASK | HT_SW_BIT9)) >> 16);
}

#define RANGE_ATTRS	(HT_G | HT_A | HT_D | HT_PWT | HT_PCD | HT_PAT | \
	HT_SW_MASK | HT_SW_BIT9 | HT_EPT_SVE | HT_EPT_VGP | HT_EPT_PW)

const char *
fmt_ept_mt(unsigned t)
{
	static const char *const names[8] = { "uc", "wc", "mt2", "mt3",
	    "wt", "wp", "wb", "mt7" };

	return (names[t & 7]);
}

const char *
fmt_ept_text(unsigned ept, unsigned eff, unsigned attr, const char *sep,
    char *buf, size_t len)
{
	char u[2] = { (eff & HT_XU) ? 'u' : '-', '\0' };
	char ad[4] = { ' ', (attr & HT_A) ? 'A' : '-',
	    (attr & HT_D) ? 'D' : '-', '\0' };

	(void) snprintf(buf, len, "%c%c%c%s%s%s%s%s%s%s%s",
	    (eff & HT_NOREAD) ? '-' : 'r', (eff & HT_W) ? 'w' : '-',
	    (eff & HT_X) ? 'x' : '-', (ept & HT_EPT_MBEC) ? u : "", sep,
	    fmt_ept_mt(HT_EPT_MT_OF(attr)), (ept & HT_EPT_AD) ? ad : "",
	    (attr & HT_EPT_IPAT) ? " ipat" : "",
	    (attr & HT_EPT_SVE) ? " sve" : "",
	    (attr & HT_EPT_VGP) ? " vgp" : "",
	    (attr & HT_EPT_PW) ? " pw" : "");
	return (buf);
}

/* ------------------------------------------------------------------ */
/* text and json                                                       */
/* ------------------------------------------------------------------ */

/* JSON's true and false. */
static const char *
jb(unsigned v)
{
	return (v != 0 ? "true" : "false");
}

const char *
fmt_range_text(const fmt_state_t *f, const ht_leaf_t *r, char *buf,
    size_t len)
{
	unsigned e = r->eff, a = r->attr;
	char t[64], sw[24] = "";

	if (a & (HT_SW_MASK | HT_SW_BIT9))
		(void) snprintf(sw, sizeof (sw), " sw=0x%x", fmt_sw(a));
	if (f->ept_mode)
		(void) snprintf(buf, len, "%016" PRIx64 " %s %s%s", r->pa,
		    fmt_pagesize(r->size), fmt_ept_text(f->ept, e, a, " ", t,
		    sizeof (t)), sw);
	else
		(void) snprintf(buf, len, "%016" PRIx64 " %s r%c%c %c %c%c%c "
		    "pat%u%s", r->pa, fmt_pagesize(r->size),
		    (e & HT_W) ? 'w' : '-', (e & HT_X) ? 'x' : '-',
		    (e & HT_U) ? 'u' : 's',
		    (a & HT_G) ? 'G' : '-', (a & HT_A) ? 'A' : '-',
		    (a & HT_D) ? 'D' : '-', mt_index(a), sw);
	return (buf);
}

/* An EPT range: its own fields (fmt_ept_text), in text or JSON. */
static void
ept_range_print(fmt_state_t *f, int json)
{
	const ht_leaf_t *r = &f->run;
	unsigned e = r->eff, a = r->attr;
	char t[64];

	if (!json) {
		fprintf(f->out, "%016" PRIx64 "-%016" PRIx64 " %s\n", r->va,
		    f->run_last, fmt_range_text(f, r, t, sizeof (t)));
		return;
	}
	fprintf(f->out, "%s\n{\"va\":\"0x%" PRIx64 "\",\"last\":\"0x%" PRIx64
	    "\",\"pa\":\"0x%" PRIx64 "\",\"page\":\"%s\",\"pages\":%" PRIu64
	    ",\"perm\":\"%c%c%c\"", f->nranges ? "," : "", r->va, f->run_last,
	    r->pa, fmt_pagesize(r->size), f->run_pages,
	    (e & HT_NOREAD) ? '-' : 'r',
	    (e & HT_W) ? 'w' : '-', (e & HT_X) ? 'x' : '-');
	if (f->ept & HT_EPT_MBEC)
		fprintf(f->out, ",\"xu\":%s", jb(e & HT_XU));
	fprintf(f->out, ",\"mt\":\"%s\",\"ipat\":%s,\"sve\":%s,\"vgp\":%s,"
	    "\"pw\":%s", fmt_ept_mt(HT_EPT_MT_OF(a)), jb(a & HT_EPT_IPAT),
	    jb(a & HT_EPT_SVE), jb(a & HT_EPT_VGP), jb(a & HT_EPT_PW));
	if (f->ept & HT_EPT_AD)
		fprintf(f->out, ",\"a\":%s,\"d\":%s", jb(a & HT_A),
		    jb(a & HT_D));
	if (a & (HT_SW_MASK | HT_SW_BIT9))
		fprintf(f->out, ",\"sw\":\"0x%x\"", fmt_sw(a));
	fputc('}', f->out);
}

static void
range_print(fmt_state_t *f, int json)
{
	const ht_leaf_t *r = &f->run;
	unsigned e = r->eff, a = r->attr;
	char t[96];

	if (f->on_range != NULL) {
		f->on_range(f);
		f->nranges++;
		return;
	}
	if (f->ept_mode) {
		ept_range_print(f, json);
		f->nranges++;
		return;
	}
	if (json) {
		fprintf(f->out, "%s\n{\"va\":\"0x%" PRIx64 "\",\"last\":\"0x%"
		    PRIx64 "\",\"pa\":\"0x%" PRIx64 "\",\"page\":\"%s\","
		    "\"pages\":%" PRIu64 ",\"perm\":\"r%c%c\",\"user\":%s,"
		    "\"g\":%s,\"a\":%s,\"d\":%s,\"pat\":%u",
		    f->nranges ? "," : "", r->va, f->run_last, r->pa,
		    fmt_pagesize(r->size), f->run_pages,
		    (e & HT_W) ? 'w' : '-', (e & HT_X) ? 'x' : '-',
		    (e & HT_U) ? "true" : "false",
		    (a & HT_G) ? "true" : "false",
		    (a & HT_A) ? "true" : "false",
		    (a & HT_D) ? "true" : "false", mt_index(a));
		if (a & (HT_SW_MASK | HT_SW_BIT9))
			fprintf(f->out, ",\"sw\":\"0x%x\"}", fmt_sw(a));
		else
			fputc('}', f->out);
	} else {
		fprintf(f->out, "%016" PRIx64 "-%016" PRIx64 " %s\n", r->va,
		    f->run_last, fmt_range_text(f, r, t, sizeof (t)));
	}
	f->nranges++;
}

static int
range_leaf(fmt_state_t *f, const ht_leaf_t *l, int json)
{
	const ht_leaf_t *r = &f->run;

	if (f->open && l->va == f->run_last + 1 &&
	    l->pa == r->pa + (f->run_last - r->va + 1) &&
	    l->size == r->size && l->eff == r->eff &&
	    (l->attr & RANGE_ATTRS) == (r->attr & RANGE_ATTRS)) {
		f->run_last += l->size;
		f->run_pages++;
		return (0);
	}
	if (f->open)
		range_print(f, json);
	f->run = *l;
	f->run_last = l->va + (l->size - 1);
	f->run_pages = 1;
	f->open = 1;
	return (0);
}

static int
text_leaf(void *arg, const ht_leaf_t *l)
{
	return (range_leaf(arg, l, 0));
}

static void
text_finish(fmt_state_t *f)
{
	if (f->open)
		range_print(f, 0);
}

static void
json_begin(fmt_state_t *f)
{
	fputc('[', f->out);
}

static int
json_leaf(void *arg, const ht_leaf_t *l)
{
	return (range_leaf(arg, l, 1));
}

static void
json_finish(fmt_state_t *f)
{
	if (f->open)
		range_print(f, 1);
	fputs("\n]\n", f->out);
}

/* ------------------------------------------------------------------ */
/* qemu-tlb                                                            */
/* ------------------------------------------------------------------ */

/* The part of a leaf entry QEMU prints, by mode and level. */
static uint64_t
qemu_tlb_mask(const ht_geometry_t *g, unsigned level)
{
	switch (g->mode) {
	case HT_MODE_32BIT:
		return (level == 0 ? ~0xfffull : ~0x1fffffull);
	case HT_MODE_PAE:
		return (level == 0 ? ~0xfffull : ~0xfffffull);
	default:
		return (level == 0 ? 0x3fffffffff000ull :
		    level == 1 ? 0x3ffffffe00000ull : 0x3ffffc0000000ull);
	}
}

static int
qemu_tlb_leaf(void *arg, const ht_leaf_t *l)
{
	fmt_state_t *f = arg;
	uint64_t pte = l->pte;

	if (l->level == 0)	/* bit 7 of a 4 KiB entry is PAT, not PS */
		pte &= ~0x80ull;
	fprintf(f->out, "%016" PRIx64 ": %016" PRIx64 " %c%c%c%c%c%c%c%c%c\n",
	    l->va, pte & qemu_tlb_mask(f->g, l->level),
	    (pte >> 63) & 1 ? 'X' : '-', (pte >> 8) & 1 ? 'G' : '-',
	    (pte >> 7) & 1 ? 'P' : '-', (pte >> 6) & 1 ? 'D' : '-',
	    (pte >> 5) & 1 ? 'A' : '-', (pte >> 4) & 1 ? 'C' : '-',
	    (pte >> 3) & 1 ? 'T' : '-', (pte >> 2) & 1 ? 'U' : '-',
	    (pte >> 1) & 1 ? 'W' : '-');
	return (0);
}

/* ------------------------------------------------------------------ */
/* qemu-mem                                                            */
/* ------------------------------------------------------------------ */

/*
 * QEMU's addr_canonical: sign-extend from the top VA bit if it is set
 * (modes with a hole; nested paging's guest-physical addresses have none).
 */
static uint64_t
qemu_canon(const ht_geometry_t *g, uint64_t a)
{
	if (g->hole_start != 0 && (a & (1ull << (g->va_bits - 1))))
		a |= ~0ull << g->va_bits;
	return (a);
}

static void
mem_print(fmt_state_t *f)
{
	const ht_geometry_t *g = f->g;

	fprintf(f->out, "%016" PRIx64 "-%016" PRIx64 " %016" PRIx64 " %cr%c\n",
	    qemu_canon(g, f->mem_start), qemu_canon(g, f->mem_end),
	    qemu_canon(g, f->mem_end - f->mem_start),
	    (f->mem_prot & HT_U) ? 'u' : '-', (f->mem_prot & HT_W) ? 'w' : '-');
	f->nranges++;
}

static int
qemu_mem_leaf(void *arg, const ht_leaf_t *l)
{
	fmt_state_t *f = arg;
	const ht_geometry_t *g = f->g;
	uint64_t lin = g->va_bits == 64 ? l->va :
	    l->va & ((1ull << g->va_bits) - 1);
	unsigned prot = l->eff & (HT_U | HT_W);

	if (f->open && (lin != f->mem_end || prot != f->mem_prot)) {
		mem_print(f);
		f->open = 0;
	}
	if (!f->open) {
		f->mem_start = lin;
		f->mem_prot = prot;
		f->open = 1;
	}
	f->mem_end = lin + l->size;
	return (0);
}

static void
qemu_mem_finish(fmt_state_t *f)
{
	if (f->open)
		mem_print(f);
}

static const fmt_t formats[] = {
	{ "text", 0, NULL, text_leaf, text_finish },
	{ "json", 0, json_begin, json_leaf, json_finish },
	{ "qemu-tlb", HT_SCAN_QEMU, NULL, qemu_tlb_leaf, NULL },
	{ "qemu-mem", HT_SCAN_QEMU, NULL, qemu_mem_leaf, qemu_mem_finish },
};

const fmt_t *
fmt_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof (formats) / sizeof (formats[0]); i++)
		if (strcmp(formats[i].name, name) == 0)
			return (&formats[i]);
	return (NULL);
}
