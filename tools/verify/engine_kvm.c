/*
 * engine_kvm.c - run probes through an image's page tables on the MMU of
 * a KVM vCPU (/dev/kvm).  Only 4-level paging runs: the kvm_pvm module on
 * these machines runs nothing but long mode with paging.
 *
 * Theory of operation.  The guest is one vCPU in long mode whose RAM is
 * the image (engine.h tells what fills it).  The engine's own pages live
 * in [guest_pa, guest_pa + GUEST_AREA) and are mapped at slot_va through
 * the borrowed entry, so during a run the guest's CR3 is the image's own
 * root and every probe is translated by the image's tables alone:
 *
 *   offset   what                              page
 *   0x00000  our tables below the slot entry   (levels slot_level-1 .. 0)
 *   0x03000  GDT: null, ring-0 code/data,      supervisor
 *            ring-3 code/data, TSS
 *   0x04000  TSS (RSP0 = top of kernel stack)  supervisor
 *   0x05000  IDT: 32 interrupt gates           supervisor
 *   0x06000  ring-0 code: one `hlt` stub per   supervisor
 *            vector, the ring-0 snippets
 *   0x08000  kernel stack (2 pages)            supervisor
 *   0x10000  ring-3 snippets                   user
 *   0x11000  user stack (2 pages)              user
 *
 * Every page is in one page table of our own, so each can be user or
 * supervisor as SMEP and SMAP need: ring-0 code, stack and descriptor
 * tables are supervisor pages (SMEP forbids ring-0 fetches from user
 * pages, SMAP implicit supervisor accesses to them); ring-3 code and stack
 * are user pages.
 *
 * One probe is one KVM_RUN that always starts at ring 0 (so the special
 * registers are set once, not per probe) with RAX = va:
 *
 *   ring-0 probe:  invlpg (%rax); ACCESS; hlt
 *   ring-3 probe:  invlpg (%rax); iretq    -> ACCESS; hlt   (at ring 3)
 *
 * where ACCESS is `mov (%rax),%rbx` (read), `lock orb $0,(%rax)` (write)
 * or `jmp *%rax` (fetch: the marker at va is a `ret`, which pops the
 * address of the `hlt` that the host left on the stack).  The host writes
 * the iretq frame (ring-3 CS/SS, user stack, RFLAGS) on the kernel stack
 * before the run.  Every exception vector's gate points at its own `hlt`
 * stub, so the HLT exit's RIP names the vector; the error code and the
 * faulting RIP are read from the exception frame on the kernel stack and
 * CR2 from the special registers.  A ring-3 `hlt` is itself a #GP, so a
 * ring-3 probe succeeded when the #GP's RIP is the snippet's `hlt`; the
 * host tells that apart from a probe's #GP (a non-canonical va) by that
 * RIP.  Any other exit, or a fault at a RIP that is not the probe's
 * access, makes that probe PROBE_NOTRUN and the special registers are set
 * again before the next one.
 *
 * Ring-0 guest code is emulated by kvm_pvm (slow), ring-3 code runs
 * natively, so ring-0 code is kept to the few instructions above.  The
 * INVLPG makes KVM drop its shadow entry for va, so a ring-0 access after
 * it is a fresh walk of the guest's tables.  Ring-3 accesses go through
 * kvm_pvm's user-mode shadow tables, which that INVLPG was not seen to
 * drop (an A bit cleared behind KVM's back stays clear); they still
 * answer as a fresh walk would, because KVM keeps shadow entries
 * coherent with the guest's tables and nothing but the MMU's own A/D
 * updates changes those tables during a run.
 *
 * Control bits: CR0.WP, CR4.SMEP/SMAP/PKE and EFER.NXE as the job's CPU
 * says, each refused (ENGINE_CANNOT) when KVM's supported CPUID lacks
 * the feature; PKRU is loaded through the vCPU's XSAVE image; EFLAGS.AC
 * is in every probe's RFLAGS.  A protection key that forbids our user
 * stack makes the fetch's `ret` fault after va was fetched: that #PF
 * (RIP = va, CR2 in our area) counts as the fetch completing.  On
 * kvm_pvm the borrowed entry must not be PML4 slot 256, where no ring-3
 * code runs.
 *
 * Memory beyond RAM (a leaf naming a PA past ram_size) is MMIO to KVM:
 * reads are answered with all ones, as unassigned memory reads on a PC,
 * writes are dropped, and a fetch there cannot be run (KVM cannot
 * emulate it): PROBE_NOTRUN.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "engine.h"

/* Layout of the guest area: offsets from guest_pa, and from slot_va. */
#define	OFF_TABLES	0x00000ull
#define	OFF_GDT		0x03000ull
#define	OFF_TSS		0x04000ull
#define	OFF_IDT		0x05000ull
#define	OFF_KCODE	0x06000ull
#define	OFF_KSNIP	(OFF_KCODE + 0x200)	/* after the 32 stubs */
#define	OFF_KSTACK_TOP	0x0a000ull
#define	OFF_USER	0x10000ull	/* first user page */
#define	OFF_USNIP	OFF_USER
#define	OFF_USTACK_TOP	0x13000ull
#define	OFF_END		0x13000ull	/* pages mapped: [0, OFF_END) */

#define	STUB_SIZE	16
#define	SNIP_SIZE	16
#define	NVEC		32

/* GDT selectors */
#define	SEL_KCODE	0x08
#define	SEL_KDATA	0x10
#define	SEL_UCODE	0x18
#define	SEL_UDATA	0x20
#define	SEL_TSS		0x28

/* Architectural bits */
#define	PTE_P		0x001ull
#define	PTE_W		0x002ull
#define	PTE_U		0x004ull
#define	CR0_PE		0x00000001ull
#define	CR0_ET		0x00000010ull
#define	CR0_NE		0x00000020ull
#define	CR0_WP		0x00010000ull
#define	CR0_PG		0x80000000ull
#define	CR4_PAE		0x00000020ull
#define	CR4_SMEP	(1ull << 20)
#define	CR4_SMAP	(1ull << 21)
#define	CR4_PKE		(1ull << 22)
#define	EFER_LME	0x100ull
#define	EFER_LMA	0x400ull
#define	EFER_NXE	0x800ull
#define	RFLAGS_FIXED	0x2ull
#define	RFLAGS_AC	(1ull << 18)
#define	XSTATE_PKRU	9		/* XSAVE component of PKRU */

#define	VEC_GP		13
#define	VEC_PF		14

/* Exits on the way to the HLT that are answered and run on (MMIO). */
#define	MAX_REENTRIES	64

/*
 * The body of each probe kind: the access, then `hlt`.  The ring-0
 * snippet is INVLPG_LEN bytes of invlpg in front of the same body.
 */
static const uint8_t invlpg_rax[] = { 0x0f, 0x01, 0x38 };
#define	INVLPG_LEN	sizeof (invlpg_rax)

typedef struct body {
	uint8_t		len;
	uint8_t		hlt;		/* offset of the hlt in the body */
	uint8_t		code[8];
} body_t;

static const body_t bodies[3] = {
	/* mov (%rax),%rbx; hlt */
	[PROBE_READ] = { 4, 3, { 0x48, 0x8b, 0x18, 0xf4 } },
	/* lock orb $0,(%rax); hlt */
	[PROBE_WRITE] = { 5, 4, { 0xf0, 0x80, 0x08, 0x00, 0xf4 } },
	/* jmp *%rax; hlt (the marker's ret comes back to the hlt) */
	[PROBE_FETCH] = { 3, 2, { 0xff, 0xe0, 0xf4 } },
};

/* invlpg (%rax); iretq: the way into ring 3 */
static const uint8_t to_user[] = { 0x0f, 0x01, 0x38, 0x48, 0xcf };
#define	OFF_TOUSER	(OFF_KSNIP + 3 * SNIP_SIZE)

/* Everything one run holds; released by kvm_teardown(). */
typedef struct kvm {
	engine_job_t	*job;
	int		kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run	*run;
	size_t		run_size;
	uint8_t		*ram;
	uint64_t	ram_size;
	uint8_t		*area;		/* host view of guest_pa */
	uint64_t	base;		/* guest VA of the area (slot_va) */
	uint64_t	slot_old;	/* the borrowed entry as in the image */
	struct kvm_sregs sregs;		/* as set for every probe */
	int		sregs_stale;	/* set them again before the next run */
	uint64_t	rflags;
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID */
	unsigned	notrun;		/* probes not run so far */
	int		pvm;		/* the kernel's KVM is kvm_pvm */
	int		mmio_noted;
} kvm_t;

/*
 * Append a formatted sentence to job->note, as far as it fits: the note
 * collects the reason for a refusal and the quirks met during a run.
 */
static void
note(engine_job_t *job, const char *fmt, ...)
{
	size_t n = strnlen(job->note, sizeof (job->note));
	va_list ap;

	if (n + 3 >= sizeof (job->note))
		return;
	if (n != 0) {
		job->note[n++] = ';';
		job->note[n++] = ' ';
		job->note[n] = '\0';
	}
	va_start(ap, fmt);
	(void) vsnprintf(job->note + n, sizeof (job->note) - n, fmt, ap);
	va_end(ap);
}

/*
 * The entry of the supported-CPUID list for (function, index), or NULL.
 * Leaves without subleaves match any index.
 */
static struct kvm_cpuid_entry2 *
cpuid_find(kvm_t *k, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < k->cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &k->cpuid->entries[i];

		if (e->function != fn)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) &&
		    e->index != idx)
			continue;
		return (e);
	}
	return (NULL);
}

/*
 * Fetch the CPUID leaves KVM supports, growing the buffer while KVM says
 * E2BIG.  0, or -1 with a note.
 */
static int
cpuid_get(kvm_t *k)
{
	for (uint32_t n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof (*c) +
		    n * sizeof (struct kvm_cpuid_entry2));

		if (c == NULL) {
			note(k->job, "out of memory");
			return (-1);
		}
		c->nent = n;
		if (ioctl(k->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			k->cpuid = c;
			return (0);
		}
		free(c);
		if (errno != E2BIG)
			break;
	}
	note(k->job, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
	return (-1);
}

/*
 * Check that the vCPU can have every control bit the job asks for, and
 * set the guest's CPUID: the supported list, with MAXPHYADDR lowered to
 * the job's pa_bits (KVM's guest walker takes the reserved bits from it).
 * ENGINE_OK, ENGINE_CANNOT (a missing feature, named in the note) or
 * ENGINE_FAILED.
 */
static int
cpu_setup(kvm_t *k)
{
	const ht_cpu_t *cpu = k->job->cpu;
	struct kvm_cpuid_entry2 *l7, *ext, *sz;
	static const struct {
		unsigned	flag;
		int		reg;	/* 0 leaf 7 EBX, 1 ECX, 2 ext. EDX */
		unsigned	bit;
		const char	*name;
	} need[] = {
		{ HT_CPU_SMEP, 0, 7, "SMEP" },
		{ HT_CPU_SMAP, 0, 20, "SMAP" },
		{ HT_CPU_PKE, 1, 3, "PKE (PKU)" },
		{ HT_CPU_NXE, 2, 20, "NXE (NX)" },
	};
	unsigned maxpa;

	if (cpuid_get(k) != 0)
		return (ENGINE_FAILED);
	l7 = cpuid_find(k, 7, 0);
	ext = cpuid_find(k, 0x80000001, 0);
	sz = cpuid_find(k, 0x80000008, 0);
	for (size_t i = 0; i < sizeof (need) / sizeof (need[0]); i++) {
		uint32_t r;

		if ((cpu->flags & need[i].flag) == 0)
			continue;
		if (need[i].reg == 2)
			r = ext != NULL ? ext->edx : 0;
		else if (l7 == NULL)
			r = 0;
		else
			r = need[i].reg == 0 ? l7->ebx : l7->ecx;
		if ((r & (1u << need[i].bit)) == 0) {
			note(k->job, "this KVM does not support %s",
			    need[i].name);
			return (ENGINE_CANNOT);
		}
	}
	maxpa = sz != NULL ? (sz->eax & 0xff) : 36;
	if (cpu->pa_bits > maxpa) {
		note(k->job, "pa-bits %u: this KVM's guests have at most %u",
		    cpu->pa_bits, maxpa);
		return (ENGINE_CANNOT);
	}
	if (cpu->pa_bits != 0 && cpu->pa_bits < maxpa && sz != NULL)
		sz->eax = (sz->eax & ~0xffu) | cpu->pa_bits;
	/*
	 * Without PDPE1GB a PDPTE with PS set is a reserved-bit fault; the
	 * caller's prediction must know (HT_CPU_NO1G), so say it.
	 */
	if ((ext == NULL || (ext->edx & (1u << 26)) == 0) &&
	    (cpu->flags & HT_CPU_NO1G) == 0)
		note(k->job, "no 1 GiB pages in this KVM's guest CPUID "
		    "(a PDPTE with PS faults RSVD)");
	if (ioctl(k->vcpu_fd, KVM_SET_CPUID2, k->cpuid) != 0) {
		note(k->job, "KVM_SET_CPUID2: %s", strerror(errno));
		return (ENGINE_FAILED);
	}
	return (ENGINE_OK);
}

/*
 * Load PKRU into the vCPU through its XSAVE image (KVM takes PKRU from
 * there), at the offset CPUID leaf 0xd names.  ENGINE_OK, or
 * ENGINE_CANNOT / ENGINE_FAILED with a note.
 */
static int
pkru_setup(kvm_t *k)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(k, 0xd, XSTATE_PKRU);
	struct kvm_xsave *xs;
	uint64_t bv;
	int rc = ENGINE_OK;

	if (e == NULL || e->eax < 4 || e->ebx + 4 > sizeof (xs->region)) {
		note(k->job, "this KVM has no XSAVE state for PKRU");
		return (ENGINE_CANNOT);
	}
	if ((xs = calloc(1, sizeof (*xs))) == NULL) {
		note(k->job, "out of memory");
		return (ENGINE_FAILED);
	}
	if (ioctl(k->vcpu_fd, KVM_GET_XSAVE, xs) != 0) {
		note(k->job, "KVM_GET_XSAVE: %s", strerror(errno));
		rc = ENGINE_FAILED;
	} else {
		uint8_t *x = (uint8_t *)xs->region;

		memcpy(x + e->ebx, &k->job->cpu->pkru, 4);
		/* XSTATE_BV at byte 512: PKRU is not in its init state */
		memcpy(&bv, x + 512, 8);
		bv |= 1ull << XSTATE_PKRU;
		memcpy(x + 512, &bv, 8);
		if (ioctl(k->vcpu_fd, KVM_SET_XSAVE, xs) != 0) {
			note(k->job, "KVM_SET_XSAVE (PKRU): %s",
			    strerror(errno));
			rc = ENGINE_FAILED;
		}
	}
	free(xs);
	return (rc);
}

/*
 * Fill RAM as engine.h describes: the image's data pages verbatim, every
 * other page with markers.  Nothing beyond img->size is read.
 */
static void
ram_fill(kvm_t *k)
{
	const image_t *img = k->job->img;

	for (uint64_t pa = 0; pa < k->ram_size; pa += HT_PAGE_SIZE) {
		uint64_t *w = (uint64_t *)(void *)(k->ram + pa);

		if (pa < img->size && image_is_data(img, pa)) {
			(void) image_read((void *)img, pa, w, HT_PAGE_SIZE);
			continue;
		}
		for (unsigned i = 0; i < HT_PAGE_SIZE / 8; i++)
			w[i] = MARKER(pa + 8 * i);
	}
}

/* A 64-bit code or data segment descriptor of privilege dpl. */
static uint64_t
gdt_seg(int code, unsigned dpl)
{
	/* limit 0xfffff, G; code: L, type execute/read; data: D/B, r/w */
	uint64_t d = 0xffffull | (0xfull << 48) | (1ull << 55) |
	    (1ull << 47) | (1ull << 44) | ((uint64_t)dpl << 45);

	if (code)
		d |= (0xaull << 40) | (1ull << 53);
	else
		d |= (0x2ull << 40) | (1ull << 54);
	return (d);
}

/*
 * Build the engine's pages in the guest area (layout at the top of the
 * file) and link them at slot_va through the borrowed entry.
 */
static void
area_build(kvm_t *k)
{
	engine_job_t *job = k->job;
	uint8_t *a = k->area;
	uint64_t *gdt, *idt, *pt, tss = k->base + OFF_TSS;
	int lvl = job->slot_level;

	memset(a, 0, GUEST_AREA);

	/*
	 * Tables for the levels below the slot entry, the highest first;
	 * slot_va is aligned to slot_size, so our pages are entry 0 of
	 * every table below the slot.
	 */
	for (int l = lvl - 1; l >= 1; l--) {
		uint64_t *t = (uint64_t *)(void *)(a + OFF_TABLES +
		    (uint64_t)(lvl - 1 - l) * HT_PAGE_SIZE);

		t[0] = (job->guest_pa + OFF_TABLES +
		    (uint64_t)(lvl - l) * HT_PAGE_SIZE) | PTE_P | PTE_W | PTE_U;
	}
	pt = (uint64_t *)(void *)(a + OFF_TABLES +
	    (uint64_t)(lvl - 1) * HT_PAGE_SIZE);
	for (uint64_t off = 0; off < OFF_END; off += HT_PAGE_SIZE)
		pt[off >> HT_PAGE_SHIFT] = (job->guest_pa + off) | PTE_P |
		    PTE_W | (off >= OFF_USER ? PTE_U : 0);
	/* intermediate entries allow everything: the leaves decide */
	memcpy(k->ram + job->slot_pa, &(uint64_t){ (job->guest_pa +
	    OFF_TABLES) | PTE_P | PTE_W | PTE_U }, 8);

	gdt = (uint64_t *)(void *)(a + OFF_GDT);
	gdt[SEL_KCODE / 8] = gdt_seg(1, 0);
	gdt[SEL_KDATA / 8] = gdt_seg(0, 0);
	gdt[SEL_UCODE / 8] = gdt_seg(1, 3);
	gdt[SEL_UDATA / 8] = gdt_seg(0, 3);
	/* 64-bit available TSS: 16 bytes, limit 103 */
	gdt[SEL_TSS / 8] = 103ull | ((tss & 0xffffff) << 16) |
	    (0x89ull << 40) | (((tss >> 24) & 0xff) << 56);
	gdt[SEL_TSS / 8 + 1] = tss >> 32;

	/* TSS: RSP0 at byte 4, no I/O bitmap (its offset past the limit) */
	memcpy(a + OFF_TSS + 4, &(uint64_t){ k->base + OFF_KSTACK_TOP }, 8);
	memcpy(a + OFF_TSS + 102, &(uint16_t){ 104 }, 2);

	idt = (uint64_t *)(void *)(a + OFF_IDT);
	for (unsigned v = 0; v < NVEC; v++) {
		uint64_t h = k->base + OFF_KCODE + (uint64_t)v * STUB_SIZE;
		uint8_t *s = a + OFF_KCODE + (uint64_t)v * STUB_SIZE;

		/* hlt; jmp back to the hlt (should the host run on) */
		s[0] = 0xf4;
		s[1] = 0xeb;
		s[2] = 0xfd;
		/* interrupt gate, DPL 0, IST 0 */
		idt[2 * v] = (h & 0xffff) | ((uint64_t)SEL_KCODE << 16) |
		    (0x8eull << 40) | (((h >> 16) & 0xffff) << 48);
		idt[2 * v + 1] = h >> 32;
	}
	for (unsigned op = 0; op < 3; op++) {
		uint8_t *ks = a + OFF_KSNIP + op * SNIP_SIZE;

		memcpy(ks, invlpg_rax, INVLPG_LEN);
		memcpy(ks + INVLPG_LEN, bodies[op].code, bodies[op].len);
		memcpy(a + OFF_USNIP + op * SNIP_SIZE, bodies[op].code,
		    bodies[op].len);
	}
	memcpy(a + OFF_TOUSER, to_user, sizeof (to_user));
}

/* A flat 64-bit segment register for selector sel. */
static struct kvm_segment
kseg(uint16_t sel, int code)
{
	struct kvm_segment s;

	memset(&s, 0, sizeof (s));
	s.selector = sel;
	s.limit = 0xffffffff;
	s.type = code ? 11 : 3;
	s.present = 1;
	s.dpl = sel & 3;
	s.s = 1;
	s.l = code;
	s.db = !code;
	s.g = 1;
	return (s);
}

/*
 * Compute the special registers every probe starts with: ring 0, the
 * image's root, and the control bits the job's CPU asks for.
 */
static void
sregs_init(kvm_t *k)
{
	const ht_cpu_t *cpu = k->job->cpu;
	struct kvm_sregs *s = &k->sregs;

	s->cs = kseg(SEL_KCODE, 1);
	s->ds = s->es = s->fs = s->gs = s->ss = kseg(SEL_KDATA, 0);
	memset(&s->tr, 0, sizeof (s->tr));
	s->tr.selector = SEL_TSS;
	s->tr.base = k->base + OFF_TSS;
	s->tr.limit = 103;
	s->tr.type = 11;		/* busy 64-bit TSS */
	s->tr.present = 1;
	memset(&s->ldt, 0, sizeof (s->ldt));
	s->ldt.unusable = 1;
	s->gdt.base = k->base + OFF_GDT;
	s->gdt.limit = SEL_TSS + 15;
	s->idt.base = k->base + OFF_IDT;
	s->idt.limit = NVEC * 16 - 1;
	s->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG |
	    ((cpu->flags & HT_CPU_WP) ? CR0_WP : 0);
	s->cr4 = CR4_PAE | ((cpu->flags & HT_CPU_SMEP) ? CR4_SMEP : 0) |
	    ((cpu->flags & HT_CPU_SMAP) ? CR4_SMAP : 0) |
	    ((cpu->flags & HT_CPU_PKE) ? CR4_PKE : 0);
	s->efer = EFER_LME | EFER_LMA |
	    ((cpu->flags & HT_CPU_NXE) ? EFER_NXE : 0);
	s->cr3 = k->job->cr3;
	s->cr2 = 0;
	memset(s->interrupt_bitmap, 0, sizeof (s->interrupt_bitmap));
	k->rflags = RFLAGS_FIXED | ((cpu->flags & HT_CPU_AC) ? RFLAGS_AC : 0);
}

/* Is va canonical for 48-bit virtual addresses? */
static int
canonical(uint64_t va)
{
	return ((uint64_t)((int64_t)(va << 16) >> 16) == va);
}

/* Which vectors push an error code. */
static int
has_errcode(unsigned v)
{
	return (v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 ||
	    v == 29 || v == 30);
}

/* Host pointer of guest VA va in our area, or NULL if outside. */
static uint8_t *
area_ptr(kvm_t *k, uint64_t va, uint64_t len)
{
	if (va < k->base || va - k->base > GUEST_AREA - len)
		return (NULL);
	return (k->area + (va - k->base));
}

/*
 * KVM_RUN until the guest halts: MMIO exits (a leaf that names memory
 * beyond RAM) are answered the way unassigned memory is (reads all ones,
 * writes dropped) and run on.  0 on HLT, else -1 with *why set.
 */
static int
run_to_hlt(kvm_t *k, const char **why, int *mmio)
{
	for (int n = 0; n < MAX_REENTRIES; n++) {
		if (ioctl(k->vcpu_fd, KVM_RUN, 0) != 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*why = "KVM_RUN failed";
			return (-1);
		}
		switch (k->run->exit_reason) {
		case KVM_EXIT_HLT:
			return (0);
		case KVM_EXIT_MMIO:
			if (!k->run->mmio.is_write)
				memset(k->run->mmio.data, 0xff,
				    sizeof (k->run->mmio.data));
			*mmio = 1;
			continue;
		case KVM_EXIT_SHUTDOWN:
			*why = "triple fault";
			return (-1);
		case KVM_EXIT_INTERNAL_ERROR:
			/* seen: a fetch from memory beyond RAM */
			*why = k->run->internal.suberror ==
			    KVM_INTERNAL_ERROR_EMULATION ? "KVM could not "
			    "emulate it (a fetch beyond RAM?)" :
			    "KVM internal error";
			return (-1);
		case KVM_EXIT_FAIL_ENTRY:
			*why = "vCPU entry failed";
			return (-1);
		default:
			*why = "unexpected exit";
			return (-1);
		}
	}
	*why = "too many MMIO exits";
	return (-1);
}

/*
 * Run probe p; fill *r.  Only this probe's result depends on what
 * happens here: a breakdown makes it PROBE_NOTRUN (the reason goes to
 * the note) and the special registers are loaded again for the next.
 */
static void
probe_run(kvm_t *k, size_t idx, const probe_t *p, probe_result_t *r)
{
	const body_t *b;
	struct kvm_regs regs;
	uint64_t body, ksp, frame_va, rip, hlt_at;
	const char *why = NULL;
	int mmio = 0;

	memset(r, 0, sizeof (*r));
	r->outcome = PROBE_NOTRUN;
	if ((unsigned)p->op > PROBE_FETCH || (p->cpl != 0 && p->cpl != 3)) {
		why = "bad probe (op or cpl)";
		goto notrun;
	}
	b = &bodies[p->op];
	if (k->sregs_stale) {
		if (ioctl(k->vcpu_fd, KVM_SET_SREGS, &k->sregs) != 0) {
			why = "KVM_SET_SREGS failed";
			goto notrun;
		}
		k->sregs_stale = 0;
	}

	memset(&regs, 0, sizeof (regs));
	regs.rax = p->va;
	regs.rflags = k->rflags;
	if (p->cpl == 0) {
		body = k->base + OFF_KSNIP + (uint64_t)p->op * SNIP_SIZE +
		    INVLPG_LEN;
		/* INVLPG of a non-canonical va would #GP in KVM's emulator */
		regs.rip = canonical(p->va) ? body - INVLPG_LEN : body;
		ksp = k->base + OFF_KSTACK_TOP - 8;
		/* where the fetch's ret goes */
		memcpy(area_ptr(k, ksp, 8), &(uint64_t){ body + b->hlt }, 8);
		regs.rsp = ksp;
	} else {
		uint64_t usp = k->base + OFF_USTACK_TOP - 8;
		uint64_t fr[5];

		body = k->base + OFF_USNIP + (uint64_t)p->op * SNIP_SIZE;
		memcpy(area_ptr(k, usp, 8), &(uint64_t){ body + b->hlt }, 8);
		fr[0] = body;
		fr[1] = SEL_UCODE | 3;
		fr[2] = k->rflags;
		fr[3] = usp;
		fr[4] = SEL_UDATA | 3;
		ksp = k->base + OFF_KSTACK_TOP - sizeof (fr);
		memcpy(area_ptr(k, ksp, sizeof (fr)), fr, sizeof (fr));
		regs.rsp = ksp;
		regs.rip = k->base + OFF_TOUSER + (canonical(p->va) ? 0 :
		    INVLPG_LEN);
	}
	if (ioctl(k->vcpu_fd, KVM_SET_REGS, &regs) != 0) {
		why = "KVM_SET_REGS failed";
		goto notrun;
	}
	if (run_to_hlt(k, &why, &mmio) != 0)
		goto notrun;
	if (ioctl(k->vcpu_fd, KVM_GET_REGS, &regs) != 0) {
		why = "KVM_GET_REGS failed";
		goto notrun;
	}
	hlt_at = regs.rip - 1;

	/* ring 0 reached its hlt: the access completed */
	if (p->cpl == 0 && hlt_at == body + b->hlt) {
		r->outcome = PROBE_OK;
		if (p->op == PROBE_READ)
			r->value = regs.rbx;
		goto done;
	}
	if (hlt_at < k->base + OFF_KCODE ||
	    hlt_at >= k->base + OFF_KCODE + NVEC * STUB_SIZE ||
	    (hlt_at - k->base - OFF_KCODE) % STUB_SIZE != 0) {
		why = "halted outside the probe and the stubs";
		goto notrun;
	}
	r->vector = (unsigned)((hlt_at - k->base - OFF_KCODE) / STUB_SIZE);
	frame_va = regs.rsp;
	if (has_errcode(r->vector)) {
		uint8_t *ec = area_ptr(k, frame_va, 8);

		if (ec == NULL) {
			why = "exception frame outside the engine's area";
			goto notrun;
		}
		memcpy(&r->error_code, ec, 4);
		frame_va += 8;
	}
	if (area_ptr(k, frame_va, 8) == NULL) {
		why = "exception frame outside the engine's area";
		goto notrun;
	}
	memcpy(&rip, area_ptr(k, frame_va, 8), 8);

	/* ring 3 reached its hlt, which faults #GP there */
	if (p->cpl == 3 && r->vector == VEC_GP && rip == body + b->hlt) {
		r->outcome = PROBE_OK;
		r->vector = 0;
		r->error_code = 0;
		if (p->op == PROBE_READ)
			r->value = regs.rbx;
		goto done;
	}
	if (r->vector == VEC_PF) {
		struct kvm_sregs s;

		if (ioctl(k->vcpu_fd, KVM_GET_SREGS, &s) != 0) {
			why = "KVM_GET_SREGS failed";
			goto notrun;
		}
		r->cr2 = s.cr2;
		/*
		 * A fetch whose `ret` could not pop our stack (a protection
		 * key that forbids the user stack) did fetch va: an OK.
		 */
		if (p->op == PROBE_FETCH && rip == p->va &&
		    area_ptr(k, s.cr2, 1) != NULL) {
			r->outcome = PROBE_OK;
			r->vector = 0;
			r->error_code = 0;
			r->cr2 = 0;
			goto done;
		}
	}
	/*
	 * The fault must be the probe's own: at the access (or at va for a
	 * fetch), and not a page fault on our own pages (fetching the
	 * snippet itself faults at the same RIP).
	 */
	if ((rip != body && !(p->op == PROBE_FETCH && rip == p->va)) ||
	    (r->vector == VEC_PF && area_ptr(k, r->cr2, 1) != NULL)) {
		why = "fault outside the probe's access";
		goto notrun;
	}
	r->outcome = r->vector == VEC_PF ? PROBE_PF : r->vector == VEC_GP ?
	    PROBE_GP : PROBE_OTHER;
done:
	if (mmio && !k->mmio_noted) {
		/* once per run: why such a read gave all ones */
		note(k->job, "probe %zu reached memory beyond RAM (reads "
		    "as all ones, writes are dropped)", idx);
		k->mmio_noted = 1;
	}
	return;
notrun:
	memset(r, 0, sizeof (*r));
	r->outcome = PROBE_NOTRUN;
	if (k->notrun < 4)
		note(k->job, "probe %zu (va 0x%" PRIx64 ") not run: %s", idx,
		    p->va, why);
	k->notrun++;
	k->sregs_stale = 1;
}

/*
 * kvm_pvm keeps PML4 slot 256 for itself: every ring-3 access there
 * is a #PF, whatever the tables say, and its error code is not even
 * stable (seen: not-present in one process, P|RSVD in the next).  Say so
 * once if a probe went there, so that a disagreement is not blamed on
 * the tables.
 */
static void
slot256_note(engine_job_t *job)
{
	for (size_t i = 0; i < job->nprobes; i++) {
		const probe_t *p = &job->probes[i];
		const probe_result_t *r = &job->results[i];

		if (p->cpl != 3 || !canonical(p->va) ||
		    ((p->va >> 39) & 511) != 256)
			continue;
		note(job, "kvm_pvm: ring-3 accesses to PML4 slot 256 always "
		    "fault (probe %zu: %s, error code 0x%x)", i,
		    r->outcome == PROBE_PF ? "#PF" : "no #PF", r->error_code);
		return;
	}
}

/* Release everything the run holds (any subset may be set up). */
static void
kvm_teardown(kvm_t *k)
{
	if (k->run != NULL)
		(void) munmap(k->run, k->run_size);
	if (k->vcpu_fd >= 0)
		(void) close(k->vcpu_fd);
	if (k->vm_fd >= 0)
		(void) close(k->vm_fd);
	if (k->kvm_fd >= 0)
		(void) close(k->kvm_fd);
	if (k->ram != NULL)
		(void) munmap(k->ram, k->ram_size);
	free(k->cpuid);
}

/*
 * Is the job one this engine can lay out?  ENGINE_OK, or ENGINE_CANNOT
 * with the reason in the note.
 */
static int
job_check(engine_job_t *job)
{
	uint64_t span;

	if (job->mode != HT_MODE_4LEVEL) {
		note(job, "KVM here runs 4-level paging only (mode %s %s)",
		    ht_mode_name(job->mode) != NULL ?
		    ht_mode_name(job->mode) : "?", job->mode <= HT_MODE_5LEVEL ?
		    "needs QEMU" : "has no engine yet");
		return (ENGINE_CANNOT);
	}
	if (job->img == NULL || job->cpu == NULL ||
	    (job->nprobes != 0 && (job->probes == NULL ||
	    job->results == NULL))) {
		note(job, "bad job: missing image, cpu or results");
		return (ENGINE_FAILED);
	}
	if (job->slot_level < 1 || job->slot_level > 3) {
		note(job, "bad job: slot level %d (4-level needs 1..3)",
		    job->slot_level);
		return (ENGINE_FAILED);
	}
	span = 1ull << (HT_PAGE_SHIFT + 9 * job->slot_level);
	if (job->ram_size == 0 || job->ram_size % (2ull << 20) != 0 ||
	    job->guest_pa % GUEST_AREA != 0 ||
	    job->guest_pa + GUEST_AREA > job->ram_size ||
	    job->guest_pa + GUEST_AREA > (1ull << 32) ||
	    job->slot_pa % 8 != 0 || job->slot_pa + 8 > job->ram_size ||
	    !canonical(job->slot_va) || job->slot_va % span != 0 ||
	    (job->slot_size != 0 && job->slot_size != span) ||
	    (job->cr3 & ht_geometry(job->mode)->root_mask) >= job->ram_size) {
		note(job, "bad job: RAM, guest area, root or slot out of "
		    "place");
		return (ENGINE_FAILED);
	}
	/*
	 * kvm_pvm keeps PML4 slot 256 for itself (every ring-3 access there
	 * faults), so our ring-3 code cannot live there.
	 */
	if (access("/sys/module/kvm_pvm", F_OK) == 0 &&
	    ((job->slot_va >> 39) & 511) == 256) {
		note(job, "kvm_pvm cannot run ring-3 code in PML4 slot 256: "
		    "borrow another entry");
		return (ENGINE_CANNOT);
	}
	if (job->slot_pa >= job->guest_pa &&
	    job->slot_pa < job->guest_pa + GUEST_AREA) {
		note(job, "bad job: the slot entry lies in the guest area");
		return (ENGINE_FAILED);
	}
	return (ENGINE_OK);
}

/*
 * When the borrowed entry is below the root, the image's entries above it
 * also govern our pages: they must let ring 3 run our code and ring 0
 * write our stack.  ENGINE_OK, or ENGINE_CANNOT with the reason.
 */
static int
path_check(engine_job_t *job)
{
	const ht_geometry_t *g = ht_geometry(job->mode);
	uint64_t table = job->cr3 & g->root_mask;

	for (int l = 3; l > job->slot_level; l--) {
		uint64_t e = 0;
		unsigned i = (unsigned)(job->slot_va >>
		    (HT_PAGE_SHIFT + 9 * l)) & 511;

		(void) image_read((void *)job->img, table + i * 8, &e, 8);
		if ((e & (PTE_P | PTE_W | PTE_U)) != (PTE_P | PTE_W | PTE_U) ||
		    (e & g->ps_bit) != 0 || ((job->cpu->flags & HT_CPU_NXE) &&
		    (e >> 63) != 0)) {
			note(job, "the level-%d entry above the borrowed slot "
			    "(0x%" PRIx64 ") does not allow the engine's code "
			    "and stacks (needs P, W, U, no NX)", l, e);
			return (ENGINE_CANNOT);
		}
		table = e & g->link_mask;
	}
	return (ENGINE_OK);
}

/*
 * Create the VM and its vCPU with job->ram_size bytes of RAM at GPA 0.
 * ENGINE_OK, ENGINE_ABSENT (no usable /dev/kvm) or ENGINE_FAILED; the
 * note says why.
 */
static int
vm_create(kvm_t *k)
{
	struct kvm_userspace_memory_region mr;
	int n;

	if ((k->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0) {
		note(k->job, "/dev/kvm: %s", strerror(errno));
		return (ENGINE_ABSENT);
	}
	if (ioctl(k->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		note(k->job, "/dev/kvm: unknown KVM API version");
		return (ENGINE_ABSENT);
	}
	if ((k->vm_fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0)) < 0) {
		note(k->job, "KVM_CREATE_VM: %s", strerror(errno));
		return (ENGINE_ABSENT);
	}
	k->ram = mmap(NULL, k->ram_size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (k->ram == MAP_FAILED) {
		k->ram = NULL;
		note(k->job, "cannot map %" PRIu64 " bytes of guest RAM",
		    k->ram_size);
		return (ENGINE_FAILED);
	}
	memset(&mr, 0, sizeof (mr));
	mr.slot = 0;
	mr.guest_phys_addr = 0;
	mr.memory_size = k->ram_size;
	mr.userspace_addr = (uint64_t)(uintptr_t)k->ram;
	if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) != 0) {
		note(k->job, "KVM_SET_USER_MEMORY_REGION: %s",
		    strerror(errno));
		return (ENGINE_FAILED);
	}
	if ((k->vcpu_fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, 0)) < 0) {
		note(k->job, "KVM_CREATE_VCPU: %s", strerror(errno));
		return (ENGINE_FAILED);
	}
	if ((n = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0)) <= 0) {
		note(k->job, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return (ENGINE_FAILED);
	}
	k->run_size = (size_t)n;
	k->run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    k->vcpu_fd, 0);
	if (k->run == MAP_FAILED) {
		k->run = NULL;
		note(k->job, "cannot map the vCPU's run area");
		return (ENGINE_FAILED);
	}
	return (ENGINE_OK);
}

/*
 * The engine (contract in engine.h): check the job, build the VM, run the
 * probes one KVM_RUN each, hand back RAM as the probes left it.
 */
int
engine_kvm(engine_job_t *job)
{
	kvm_t k;
	int rc;

	job->note[0] = '\0';
	job->mem_after = NULL;
	(void) snprintf(job->engine, sizeof (job->engine), "kvm");
	if ((rc = job_check(job)) != ENGINE_OK ||
	    (rc = path_check(job)) != ENGINE_OK)
		return (rc);

	memset(&k, 0, sizeof (k));
	k.job = job;
	k.kvm_fd = k.vm_fd = k.vcpu_fd = -1;
	k.ram_size = job->ram_size;
	k.base = job->slot_va;
	k.pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	if ((rc = vm_create(&k)) != ENGINE_OK)
		goto out;
	if ((rc = cpu_setup(&k)) != ENGINE_OK)
		goto out;
	if ((job->cpu->flags & HT_CPU_PKE) &&
	    (rc = pkru_setup(&k)) != ENGINE_OK)
		goto out;

	ram_fill(&k);
	k.area = k.ram + job->guest_pa;
	memcpy(&k.slot_old, k.ram + job->slot_pa, 8);
	if (k.slot_old & PTE_P) {
		note(job, "the borrowed entry at 0x%" PRIx64 " is present",
		    job->slot_pa);
		rc = ENGINE_FAILED;
		goto out;
	}
	area_build(&k);
	sregs_init(&k);
	k.sregs_stale = 1;

	for (size_t i = 0; i < job->nprobes; i++)
		probe_run(&k, i, &job->probes[i], &job->results[i]);

	/* what the probes left behind: A/D bits, the slot as it was */
	memcpy(k.ram + job->slot_pa, &k.slot_old, 8);
	if (job->img->size != 0) {
		uint64_t n = job->img->size < k.ram_size ? job->img->size :
		    k.ram_size;

		if ((job->mem_after = engine_mem_after(job, n)) == NULL) {
			note(job, "out of memory for the memory after the run");
			rc = ENGINE_FAILED;
			goto out;
		}
		memcpy(job->mem_after, k.ram, (size_t)n);
	}
	(void) snprintf(job->engine, sizeof (job->engine), "kvm (%s4-level)",
	    k.pvm ? "kvm_pvm, " : "");
	if (k.pvm)
		slot256_note(job);
	rc = ENGINE_OK;
out:
	kvm_teardown(&k);
	return (rc);
}

/*
 * The CPU a prediction for this KVM must assume: no 1 GiB pages (its
 * guest CPUID lacks PDPE1GB) and a guest MAXPHYADDR of 48 at most (it
 * can be lowered).
 */
static void
kvm_cpu(const ht_geometry_t *g, const ht_cpu_t *asked, ht_cpu_t *r_cpu)
{
	(void) g;
	*r_cpu = *asked;
	r_cpu->flags |= HT_CPU_NO1G;
	if (r_cpu->pa_bits == 0 || r_cpu->pa_bits > 48)
		r_cpu->pa_bits = 48;
}

/*
 * kvm_pvm: every CPL-3 access to PML4 slot 256 (0xffff800000000000 ...
 * 0xffff807fffffffff) faults, as not-present or as P|RSVD depending on the
 * process, whatever the tables say.  A quirk of that KVM, listed apart.
 */
static const char *
kvm_quirk(const probe_t *p, const ht_access_t *want,
    const probe_result_t *got)
{
	if (p->cpl == 3 && (p->va >> 39) == 0x1ffff00ull &&
	    want->fault != HT_FAULT_GP && got->outcome == PROBE_PF)
		return ("kvm_pvm: CPL 3 in PML4 slot 256 always faults");
	return (NULL);
}

const engine_ops_t engine_kvm_ops = {
	.name = "kvm",
	.modes = ENGINE_MODE(HT_MODE_4LEVEL),
	.run = engine_kvm,
	.cpu = kvm_cpu,
	.quirk = kvm_quirk,
};
