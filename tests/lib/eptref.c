/*
 * eptref.c - the independent reference model of Intel EPT (see eptref.h
 * for what it covers and what it leaves out).
 *
 * Theory of operation.  Everything follows the order in which the SDM
 * states the rules, so that each line can be checked against the text:
 *
 *  1. Presence.  An entry is present if any of bits 2:0 is set; with the
 *     "mode-based execute control for EPT" (MBEC) control, bit 10 (user
 *     execute) also makes it present.  A not-present entry is not looked
 *     at any further (bits 62:3 are ignored), except bit 63, which
 *     suppresses #VE for the violation it causes.
 *  2. Misconfiguration, of a present entry: write permitted without read;
 *     execute (or, under MBEC, user execute) without read when execute-
 *     only is not a capability; a reserved bit set (51:MAXPHYADDR in
 *     every entry; 6:3 in every non-leaf entry and bit 7 in a PML4E or
 *     PML5E; bit 7 of a PDPTE/PDE when that page size is not supported;
 *     the address bits below the page size in a 2 MiB or 1 GiB leaf); and
 *     in the leaf, memory type 2, 3 or 7.  All reasons are collected,
 *     because the SDM gives no priority among them and a test wants to
 *     know that each is detected on its own.
 *  3. The walk reads one entry per level from the root the EPTP names,
 *     stopping at a not-present entry (EPT violation), a misconfigured one
 *     (EPT misconfiguration) or a leaf.  Only when the translation has no
 *     misconfiguration are the permissions judged: the access needs its
 *     bit set in every entry used (the AND along the walk), and those ANDs
 *     are what exit-qualification bits 5:3 (and 6 under MBEC) report.
 *  4. Accessed and dirty flags are set only when EPTP bit 6 enables them:
 *     A in each entry used, D in the leaf for a write.
 *
 * Guest-physical address width.  The SDM says the EPT translation uses
 * only bits 47:0 of the address with a page-walk length of 4 (56:0 with 5):
 * higher bits are not looked at.  A guest cannot produce an address at or
 * above 2^MAXPHYADDR (its own paging reports such bits as reserved, and
 * CR3 loads fault), so such an address is not a walk input at all and the
 * model refuses it (EPTREF_BAD_GPA) rather than invent an outcome.  With
 * MAXPHYADDR above 48 and a 4-level walk, bits MAXPHYADDR-1:48 can be
 * produced and are ignored: the translation is that of the address with
 * those bits clear (out->gpa says what was used; out->hpa keeps only the
 * page offset from the address, so nothing of the ignored bits leaks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eptref.h"

/*
 * Bit masks of the entry format.  Local names, written from the SDM's
 * tables, not taken from any other header.
 */
#define	B(n)		(1ull << (n))
#define	BITS(hi, lo)	(((~0ull) >> (63 - (hi))) & ~(B(lo) - 1))

static void
eptref_die(const char *what)
{
	/* The model is test infrastructure: misuse must stop the run. */
	(void) fprintf(stderr, "eptref: %s\n", what);
	abort();
}

static void
eptref_check_cpu(const eptref_cpu_t *cpu)
{
	if (cpu->maxphyaddr < 36 || cpu->maxphyaddr > 52)
		eptref_die("MAXPHYADDR outside 36..52");
}

/* Bits 51:MAXPHYADDR: reserved in every present entry (and the EPTP). */
static uint64_t
rsvd_addr_mask(const eptref_cpu_t *cpu)
{
	if (cpu->maxphyaddr >= 52)
		return (0);
	return (BITS(51, cpu->maxphyaddr));
}

/* Bits MAXPHYADDR-1:12: where an entry holds an address. */
static uint64_t
addr_mask(const eptref_cpu_t *cpu)
{
	return (BITS(cpu->maxphyaddr - 1, 12));
}

/* Memory types 2, 3 and 7 are reserved in EPT (7 is UC- only in PAT). */
static bool
ept_memtype_ok(unsigned mt)
{
	return (mt == EPTREF_MT_UC || mt == EPTREF_MT_WC ||
	    mt == EPTREF_MT_WT || mt == EPTREF_MT_WP || mt == EPTREF_MT_WB);
}

void
eptref_classify(const eptref_cpu_t *cpu, int level, uint64_t e,
    eptref_entry_t *out)
{
	bool r = (e & B(0)) != 0, w = (e & B(1)) != 0, x = (e & B(2)) != 0;
	bool xu = cpu->mbec && (e & B(10)) != 0;
	unsigned mc = 0;

	eptref_check_cpu(cpu);
	if (level < 0 || level >= EPTREF_MAXLEVELS)
		eptref_die("level outside 0..4");
	(void) memset(out, 0, sizeof (*out));
	out->level = level;

	/* 1. Presence: bit 10 counts only when MBEC gives it a meaning. */
	if (!r && !w && !x && !xu) {
		out->kind = EPTREF_NOTPRESENT;
		out->sve = (e & B(63)) != 0;
		return;
	}

	out->r = r;
	out->w = w;
	out->x = x;
	out->xu = xu;
	out->a = (e & B(8)) != 0;

	/* 2. The permission combinations the processor does not support. */
	if (w && !r)
		mc |= EPTREF_MC_WNOR;
	if (!cpu->xonly && !r) {
		if (x)
			mc |= EPTREF_MC_XONLY;
		if (xu)
			mc |= EPTREF_MC_XUONLY;
	}
	if ((e & rsvd_addr_mask(cpu)) != 0)
		mc |= EPTREF_MC_ADDR;

	/* What the entry is, by level and bit 7 (ignored in a PTE). */
	if (level >= 3) {
		/* PML4E, PML5E: bits 7:3 reserved; never map a page. */
		if ((e & BITS(6, 3)) != 0)
			mc |= EPTREF_MC_RSVD;
		if ((e & B(7)) != 0)
			mc |= EPTREF_MC_PS_TOP;
	} else if (level >= 1 && (e & B(7)) != 0) {
		bool ok = level == 1 ? cpu->page_2m : cpu->page_1g;

		out->leaf = true;
		out->size = level == 1 ? B(21) : B(30);
		/*
		 * Without the page size the bit is simply reserved; the rest
		 * of the leaf format does not apply, so no leaf checks.
		 */
		if (!ok)
			mc |= EPTREF_MC_PS_UNSUP;
		else if ((e & BITS(level == 1 ? 20 : 29, 12)) != 0)
			mc |= EPTREF_MC_LARGE_ADDR;
	} else if (level >= 1) {
		/* PDPTE or PDE referencing a table: bits 6:3 reserved. */
		if ((e & BITS(6, 3)) != 0)
			mc |= EPTREF_MC_RSVD;
	} else {
		out->leaf = true;
		out->size = B(12);
	}

	if (out->leaf) {
		out->memtype = (unsigned)((e >> 3) & 7);
		out->ipat = (e & B(6)) != 0;
		out->d = (e & B(9)) != 0;
		out->sve = (e & B(63)) != 0;
		out->addr = e & addr_mask(cpu) & ~(out->size - 1);
		if ((mc & EPTREF_MC_PS_UNSUP) == 0 &&
		    !ept_memtype_ok(out->memtype))
			mc |= EPTREF_MC_MEMTYPE;
	} else {
		out->addr = e & addr_mask(cpu);
	}

	out->mc = mc;
	if (mc != 0)
		out->kind = EPTREF_MISCONFIG;
	else
		out->kind = out->leaf ? EPTREF_LEAF : EPTREF_LINK;
}

unsigned
eptref_eptp_check(const eptref_cpu_t *cpu, uint64_t eptp)
{
	unsigned bad = 0, mt = (unsigned)(eptp & 7);
	unsigned len = (unsigned)((eptp >> 3) & 7) + 1;

	eptref_check_cpu(cpu);
	/*
	 * The paging-structure memory type must be UC or WB (whether each
	 * is offered is another capability, bits 8 and 14: both assumed).
	 */
	if (mt != EPTREF_MT_UC && mt != EPTREF_MT_WB)
		bad |= EPTREF_EPTP_BAD_MT;
	if (len != 4 && !(len == 5 && cpu->walk5))
		bad |= EPTREF_EPTP_BAD_PWL;
	if ((eptp & EPTREF_EPTP_AD) != 0 && !cpu->ad)
		bad |= EPTREF_EPTP_BAD_AD;
	/* bit 7 is the unmodelled shadow-stack enable: reserved here */
	if ((eptp & BITS(11, 7)) != 0 ||
	    (eptp & BITS(63, cpu->maxphyaddr)) != 0)
		bad |= EPTREF_EPTP_BAD_RSVD;
	return (bad);
}

/*
 * Whether the permissions ANDed along the walk allow the access.  The
 * guest paging-structure read has become a write by now when A/D is on.
 */
static bool
allowed(const eptref_cpu_t *cpu, eptref_access_t acc, bool user, bool r,
    bool w, bool x, bool xu)
{
	switch (acc) {
	case EPTREF_ACC_READ:
	case EPTREF_ACC_GUEST_PT:
	case EPTREF_ACC_PDPTE_LOAD:
		return (r);
	case EPTREF_ACC_WRITE:
		return (w);
	case EPTREF_ACC_FETCH:
		/* under MBEC the guest's user/supervisor choice picks a bit */
		if (cpu->mbec && user)
			return (xu);
		return (x);
	}
	eptref_die("unknown access");
	return (false);
}

eptref_outcome_t
eptref_walk(const eptref_cpu_t *cpu, uint64_t eptp, eptref_read_fn rd,
    void *arg, uint64_t gpa, eptref_access_t acc, bool user,
    eptref_walk_t *out)
{
	unsigned levels = (unsigned)((eptp >> 3) & 7) + 1;
	bool ad = (eptp & EPTREF_EPTP_AD) != 0;
	bool and_r = true, and_w = true, and_x = true, and_xu = true;
	bool is_write;
	uint64_t table, qual;
	eptref_entry_t e;

	eptref_check_cpu(cpu);
	(void) memset(out, 0, sizeof (*out));
	out->stop_level = -1;

	out->eptp_bad = eptref_eptp_check(cpu, eptp);
	if (out->eptp_bad != 0) {
		out->outcome = EPTREF_BAD_EPTP;
		return (out->outcome);
	}
	if (cpu->maxphyaddr < 64 && (gpa >> cpu->maxphyaddr) != 0) {
		out->outcome = EPTREF_BAD_GPA;
		return (out->outcome);
	}

	/*
	 * With A/D enabled the processor's reads of guest paging structures
	 * count as writes for EPT (the PAE PDPTE load excepted).
	 */
	if (acc == EPTREF_ACC_GUEST_PT && ad)
		is_write = true;
	else
		is_write = acc == EPTREF_ACC_WRITE;

	/* Only bits 12 + 9 * levels - 1 : 0 take part in the walk. */
	out->gpa = gpa & BITS(12 + 9 * levels - 1, 0);
	table = eptp & addr_mask(cpu);

	for (int level = (int)levels - 1; level >= 0; level--) {
		unsigned idx = (unsigned)(out->gpa >> (12 + 9 * level)) & 511;
		eptref_step_t *s = &out->steps[out->nsteps];

		s->level = level;
		s->addr = table + (uint64_t)idx * 8;
		if (rd(arg, s->addr, &s->val) != 0) {
			out->outcome = EPTREF_READ_FAIL;
			return (out->outcome);
		}
		out->nsteps++;
		eptref_classify(cpu, level, s->val, &e);

		if (e.kind == EPTREF_NOTPRESENT) {
			/*
			 * The ANDs include this entry, whose permission bits
			 * are all clear (bit 10 too, under MBEC): the SDM's
			 * "bits 5:3 are 0 when an entry was not present"
			 * comes out of the AND without a special case.
			 */
			and_r = and_w = and_x = and_xu = false;
			out->outcome = EPTREF_VIOLATION;
			out->stop_level = level;
			out->sve = e.sve;
			break;
		}
		if (e.kind == EPTREF_MISCONFIG) {
			out->outcome = EPTREF_MISCONF;
			out->stop_level = level;
			out->mc = e.mc;
			return (out->outcome);
		}
		and_r = and_r && e.r;
		and_w = and_w && e.w;
		and_x = and_x && e.x;
		and_xu = and_xu && e.xu;
		if (e.kind == EPTREF_LINK) {
			table = e.addr;
			continue;
		}

		/* the leaf: the translation is complete */
		out->reached_leaf = true;
		out->leaf = e;
		out->page_size = e.size;
		out->hpa = e.addr | (gpa & (e.size - 1));
		if (is_write ? and_w :
		    allowed(cpu, acc, user, and_r, and_w, and_x, and_xu)) {
			out->outcome = EPTREF_OK;
		} else {
			out->outcome = EPTREF_VIOLATION;
			out->sve = e.sve;
			out->hpa = 0;
			out->page_size = 0;
		}
		break;
	}

	if (out->outcome == EPTREF_OK) {
		/*
		 * A/D: A in every entry used, D in the leaf for a write.  A
		 * PDPTE load is a read and so never dirties.
		 */
		if (ad) {
			for (int i = 0; i < out->nsteps; i++)
				out->set[i] = EPTREF_A;
			if (is_write)
				out->set[out->nsteps - 1] |= EPTREF_D;
		}
		return (out->outcome);
	}

	/*
	 * An EPT violation.  Whether A flags were set in the entries walked
	 * before it is not stated by the SDM's EPT chapter; the model sets
	 * nothing and says so (eptref.h).  Bits 2:0 describe the access:
	 * a guest paging-structure access treated as a write sets both the
	 * read and the write bit.
	 */
	qual = 0;
	switch (acc) {
	case EPTREF_ACC_READ:
	case EPTREF_ACC_PDPTE_LOAD:
		qual |= EPTREF_Q_READ;
		break;
	case EPTREF_ACC_WRITE:
		qual |= EPTREF_Q_WRITE;
		break;
	case EPTREF_ACC_FETCH:
		qual |= EPTREF_Q_FETCH;
		break;
	case EPTREF_ACC_GUEST_PT:
		qual |= EPTREF_Q_READ;
		if (ad)
			qual |= EPTREF_Q_WRITE;
		break;
	}
	if (and_r)
		qual |= EPTREF_Q_R;
	if (and_w)
		qual |= EPTREF_Q_W;
	if (and_x)
		qual |= EPTREF_Q_X;
	/* bit 6 is undefined without MBEC; the model reports 0 then */
	if (cpu->mbec && and_xu)
		qual |= EPTREF_Q_XU;
	out->qual = qual;
	return (out->outcome);
}

/*
 * The SDM's table of effective memory types for a range type (here the
 * EPT type takes the MTRR's place) and a PAT type, indexed by the 3-bit
 * encodings; 0xff marks an encoding that cannot occur.
 */
#define	NA	0xff
static const unsigned char combine[8][8] = {
	/* PAT:	  UC  WC  -   -   WT  WP  WB  UC- */
	[EPTREF_MT_UC] = { 0, 1, NA, NA, 0, 0, 0, 0 },
	[EPTREF_MT_WC] = { 0, 1, NA, NA, 0, 0, 1, 1 },
	[EPTREF_MT_WT] = { 0, 1, NA, NA, 4, 5, 4, 0 },
	[EPTREF_MT_WP] = { 0, 1, NA, NA, 4, 5, 5, 1 },
	[EPTREF_MT_WB] = { 0, 1, NA, NA, 4, 5, 6, 0 },
	[2] = { NA, NA, NA, NA, NA, NA, NA, NA },
	[3] = { NA, NA, NA, NA, NA, NA, NA, NA },
	[7] = { NA, NA, NA, NA, NA, NA, NA, NA },
};

unsigned
eptref_memtype(unsigned ept_mt, bool ipat, unsigned pat_mt, bool cd)
{
	if (ept_mt > 7 || !ept_memtype_ok(ept_mt))
		eptref_die("EPT memory type 2, 3 or 7 is a misconfiguration");
	if (pat_mt > 7 || pat_mt == 2 || pat_mt == 3)
		eptref_die("PAT memory type 2 or 3 does not exist");
	/* CR0.CD forces UC whatever EPT or PAT say */
	if (cd)
		return (EPTREF_MT_UC);
	if (ipat)
		return (ept_mt);
	return (combine[ept_mt][pat_mt]);
}

unsigned
eptref_pt_memtype(uint64_t eptp, bool cd)
{
	return (cd ? EPTREF_MT_UC : (unsigned)(eptp & 7));
}
