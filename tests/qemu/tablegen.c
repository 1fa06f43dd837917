/*
 * tablegen.c - hand-made page tables for the QEMU agreement test: a raw
 * physical image of tables that `htable build` would never write, so
 * that `htable dump` is compared with QEMU on what a real guest's memory
 * may hold.  Entries carry random bits everywhere: software bits 9-11 and
 * 52-62, NX, PAT, A and D, reserved bits in the address field (bit 21 of
 * a 4 MiB PDE, bits 13-20 of a 2 MiB or 1 GiB leaf, bits 50-51 that QEMU
 * masks off), PS where it means nothing (PML4E, PML5E, PAE PDPTE),
 * non-present entries with other bits set, intermediate entries without
 * U or W, links back to the root and to other tables (shared and
 * self-referencing tables), links into zeroed RAM outside the image and
 * above 4 GiB (where the guest has no memory), and for PAE a root that is
 * not page aligned.
 *
 *	tablegen MODE SEED POOL_PA NFRAMES IMAGE
 *
 * The tables take NFRAMES frames from POOL_PA; links into "zeroed RAM"
 * reach up to 4096 frames further, so guest RAM must cover that much and
 * hold zeros there.
 *
 * Writes IMAGE (byte offset = physical address; frames of the pool only)
 * and prints a layout-file style comment, the line "pool PA LEN", and,
 * last, "mode=MODE cr3=0xHEX" like `htable build` (CR3 may carry PWT and
 * PCD).  One path is clean: it maps the boot stub's page 0xffff0000 to
 * itself, executable, with no reserved bit and no accessed bit, so the
 * guest can run and its MMU marks that path accessed.  Every table has
 * at most a handful of present entries, so even a self-referencing set
 * of tables prints a bounded number of lines.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

#include <fcntl.h>
#include <unistd.h>

#define	PG_P		UINT64_C(0x001)
#define	PG_W		UINT64_C(0x002)
#define	PG_U		UINT64_C(0x004)
#define	PG_PWT		UINT64_C(0x008)
#define	PG_PCD		UINT64_C(0x010)
#define	PG_A		UINT64_C(0x020)
#define	PG_D		UINT64_C(0x040)
#define	PG_PS		UINT64_C(0x080)
#define	PG_G		UINT64_C(0x100)
#define	PG_AVL		UINT64_C(0xe00)	/* bits 9-11 */
#define	PG_NX		(UINT64_C(1) << 63)
#define	PG_HIAVL	(UINT64_C(0x7ff) << 52)	/* bits 52-62 */
#define	STUB_VA		UINT64_C(0xffff0000)
#define	MAXFRAMES	256
#define	MAXLEVELS	5

typedef enum { M_32BIT, M_PAE, M_4LEVEL, M_5LEVEL } gmode_t;

static gmode_t mode;
static unsigned levels;		/* table levels; root: levels - 1 */
static unsigned esize;			/* 4 or 8 bytes per entry */
static uint64_t pool_pa;
static unsigned nframes;
static uint8_t *frames;			/* nframes * 4096 bytes */
static unsigned char level_of[MAXFRAMES];	/* natural level + 1 */
static uint64_t root_pa;		/* may be inside a frame (PAE) */
static unsigned nused;			/* frames taken, from the first */

/* Shift of the VA bits a level-l entry translates. */
static unsigned
shift_of(unsigned l)
{
	if (mode == M_32BIT)
		return (l == 0 ? 12 : 22);
	return (12 + 9 * l);
}

/* Entries in a level-l table (the PAE root has 4). */
static unsigned
entries_of(unsigned l)
{
	if (mode == M_32BIT)
		return (1024);
	if (mode == M_PAE && l == levels - 1)
		return (4);
	return (512);
}

/* Whether PS makes a leaf of a level-l entry (as QEMU and CPUs read it). */
static int
ps_leaf(unsigned l)
{
	if (l == 1)
		return (1);
	return (l == 2 && (mode == M_4LEVEL || mode == M_5LEVEL));
}

/* The entry array of the table at physical address pa (in the pool). */
static uint8_t *
table_at(uint64_t pa)
{
	return (frames + (pa - pool_pa));
}

/* Store v as entry i of the table at table_pa (4 or 8 bytes). */
static void
put(uint64_t table_pa, unsigned i, uint64_t v)
{
	uint8_t *t = table_at(table_pa);

	if (esize == 4) {
		uint32_t w = (uint32_t)v;

		memcpy(t + 4 * i, &w, 4);
	} else {
		memcpy(t + 8 * i, &v, 8);
	}
}

/* Entry i of the table at table_pa. */
static uint64_t
get(uint64_t table_pa, unsigned i)
{
	const uint8_t *t = table_at(table_pa);

	if (esize == 4) {
		uint32_t w;

		memcpy(&w, t + 4 * i, 4);
		return (w);
	}
	uint64_t v;

	memcpy(&v, t + 8 * i, 8);
	return (v);
}

/* Random low flag bits: all but P and PS. */
static uint64_t
rand_flags(void)
{
	return (rnd() & (PG_W | PG_U | PG_PWT | PG_PCD | PG_A | PG_D | PG_G |
	    PG_AVL));
}

/* The high bits of an 8-byte entry: software bits, NX, now and then. */
static uint64_t
rand_high(void)
{
	uint64_t h = 0;

	if (esize == 4)
		return (0);
	if (chance(30))
		h |= rnd() & PG_HIAVL;
	if (chance(40))
		h |= PG_NX;
	return (h);
}

/*
 * A random leaf at level l: any physical address the entry can hold, with
 * the bits below the page size random too (bit 12 is PAT in a large
 * leaf; the others are reserved, and QEMU prints some of them).
 */
static uint64_t
rand_leaf(unsigned l)
{
	uint64_t v, addr;

	if (esize == 4) {
		addr = rnd() & UINT64_C(0xfffff000);
		v = addr | PG_P | rand_flags();
		if (l == 1)
			v |= PG_PS;
		else if (chance(30))
			v |= PG_PS;		/* PAT of a 4 KiB page */
		return (v);
	}
	addr = rnd() & UINT64_C(0x000ffffffffff000);
	if (l > 0 && chance(60))	/* mostly clean large pages */
		addr &= ~((UINT64_C(1) << shift_of(l)) - 1) |
		    (chance(30) ? UINT64_C(0x1000) : 0);
	v = addr | PG_P | rand_flags() | rand_high();
	if (l > 0)
		v |= PG_PS;
	else if (chance(30))
		v |= PG_PS;			/* PAT of a 4 KiB page */
	return (v);
}

/* Take the next unused frame as a table of natural level l; 0 if none. */
static uint64_t
alloc_table(unsigned l)
{
	if (nused == nframes)
		return (0);
	level_of[nused] = (unsigned char)(l + 1);
	return (pool_pa + (uint64_t)nused++ * 4096);
}

/* A random existing table of natural level l; 0 if there is none. */
static uint64_t
some_table(unsigned l)
{
	unsigned n = 0, pick;

	for (unsigned f = 0; f < nused; f++)
		n += level_of[f] == l + 1;
	if (n == 0)
		return (0);
	pick = (unsigned)below(n);
	for (unsigned f = 0; f < nused; f++)
		if (level_of[f] == l + 1 && pick-- == 0)
			return (pool_pa + (uint64_t)f * 4096);
	return (0);
}

/*
 * A link at level l to target, with bits QEMU ignores in a link set at
 * random (PS where it means nothing, software bits, NX, bits 50-51), and
 * U and W often cleared.
 */
static uint64_t
link_to(uint64_t target, unsigned l)
{
	uint64_t v = target | PG_P | rand_flags();

	if (esize == 8) {
		v |= rand_high();
		if (chance(20))
			v |= (rnd() & 3) << 50; /* QEMU masks bits 50-51 */
		if (!ps_leaf(l) && chance(30))
			v |= PG_PS;		/* PS that means nothing */
	}
	if (chance(40))
		v |= PG_W | PG_U;
	return (v);
}

/*
 * Fill the level-l table at pa with a few random entries (never over a
 * present one: the stub's path) and build the tables they create.  A
 * link goes to a new table of level l - 1, an existing one (shared), the
 * root (self-referencing: it is then read at a lower level), zeroed RAM
 * past the pool, or (8-byte entries) above 4 GiB where the guest has no
 * memory and QEMU reads zeros.  A link in a table of natural level l leads to a
 * table of natural level l - 1 or to the root, so every frame is read at
 * its own level or lower, where a large leaf stays a leaf and a link
 * still names a pool frame or zeroed RAM: no walk, QEMU's or dump's,
 * reads anything else (low memory, the ROM, MMIO) as a table.
 */
static void
build(uint64_t pa, unsigned l, unsigned depth)
{
	unsigned n = entries_of(l), k = 2 + (unsigned)below(7);
	uint64_t created[16];
	unsigned ncreated = 0;
	int selfmap = 0;

	for (unsigned j = 0; j < k; j++) {
		unsigned i = (unsigned)below(n), r = (unsigned)below(100);
		uint64_t v, t = 0;

		if (get(pa, i) & PG_P)
			continue;		/* the stub's path */
		if (l == 0 || (ps_leaf(l) && r < 35)) {
			v = rand_leaf(l);
		} else if (r < 50) {
			v = rnd() & ~PG_P;	/* not present, bits set */
			if (esize == 4)
				v &= UINT64_C(0xffffffff);
		} else {
			if (r < 58 && !selfmap) {
				t = root_pa & ~UINT64_C(0xfff);
				selfmap = 1;
			} else if (r < 62 || (r < 66 && esize == 4)) {
				t = pool_pa + (uint64_t)(nframes +
				    below(4096)) * 4096;
			} else if (r < 66) {
				/* above 4 GiB: no RAM there, it reads as
				 * zeros; the low 32 bits name a pool frame,
				 * so a walk that truncated would differ */
				t = pool_pa + below(nframes) * 4096 +
				    ((1 + below((UINT64_C(1) << 18) - 1)) << 32);
			} else if (r < 80 || depth > 6 ||
			    (t = alloc_table(l - 1)) == 0) {
				t = some_table(l - 1);
			} else {
				created[ncreated++] = t;
			}
			if (t == 0)
				t = pool_pa + (uint64_t)nframes * 4096;
			v = link_to(t, l);
		}
		put(pa, i, v);
	}
	for (unsigned c = 0; c < ncreated; c++)
		build(created[c], l - 1, depth + 1);
}

/*
 * The clean path for STUB_VA, with a leaf at level leaf_l: every entry
 * present, no reserved bit (bits 52-62 are reserved in PAE paging, ignored
 * in 4- and 5-level), no A, no D, no NX; links may lack U or W.
 * The path's tables are recorded in path[] to be filled afterwards.
 */
static void
make_path(unsigned leaf_l, uint64_t *path)
{
	uint64_t t = root_pa;

	for (int l = (int)levels - 1; l >= (int)leaf_l; l--) {
		unsigned sh = shift_of((unsigned)l);
		unsigned i = (unsigned)((STUB_VA >> sh) & (entries_of(
		    (unsigned)l) - 1));
		uint64_t v, next;

		path[l] = t;
		if ((unsigned)l == leaf_l) {
			v = (STUB_VA & ~((UINT64_C(1) << sh) - 1)) | PG_P |
			    (rnd() & (PG_W | PG_U | PG_PWT | PG_PCD | PG_G |
			    PG_AVL));
			if (l > 0)
				v |= PG_PS | (chance(30) ? UINT64_C(0x1000) :
				    0);
			else if (chance(30))
				v |= PG_PS;	/* PAT */
			if (levels >= 4 && chance(30))
				v |= rnd() & PG_HIAVL; /* PAE: reserved */
			put(t, i, v);
			return;
		}
		next = alloc_table((unsigned)l - 1);
		if (mode == M_PAE && (unsigned)l == levels - 1) {
			/* a PDPTE the CPU uses: P, PWT, PCD, bits 9-11 */
			v = next | PG_P | (rnd() & (PG_PWT | PG_PCD | PG_AVL));
		} else {
			v = next | PG_P | (rnd() & (PG_W | PG_U | PG_PWT |
			    PG_PCD | PG_AVL));
			if (levels >= 4 && chance(30))
				v |= rnd() & PG_HIAVL;
		}
		put(t, i, v);
		t = next;
	}
}

int
main(int argc, char **argv)
{
	static const char *const modes[] = { "32bit", "pae", "4level",
	    "5level" };
	uint64_t cr3, path[MAXLEVELS] = { 0 };
	unsigned leaf_l;
	char *end;
	int fd, i;

	if (argc != 6) {
		fprintf(stderr, "usage: tablegen MODE SEED POOL_PA NFRAMES "
		    "IMAGE\n");
		return (2);
	}
	for (i = 0; i < 4; i++)
		if (strcmp(argv[1], modes[i]) == 0)
			break;
	if (i == 4) {
		fprintf(stderr, "tablegen: unknown mode '%s'\n", argv[1]);
		return (2);
	}
	mode = (gmode_t)i;
	rng_state = strtoull(argv[2], &end, 0) ^ ((uint64_t)mode << 56) ^
	    UINT64_C(0x5eed);
	pool_pa = strtoull(argv[3], NULL, 0);
	nframes = (unsigned)strtoul(argv[4], NULL, 0);
	if (*end != '\0' || (pool_pa & 0xfff) || nframes < 8 ||
	    nframes > MAXFRAMES || pool_pa + (uint64_t)(nframes + 4096) *
	    4096 > UINT64_C(1) << 32) {
		fprintf(stderr, "tablegen: bad seed, pool or frame count\n");
		return (2);
	}
	levels = mode == M_32BIT ? 2 : mode == M_PAE ? 3 :
	    mode == M_4LEVEL ? 4 : 5;
	esize = mode == M_32BIT ? 4 : 8;
	if ((frames = calloc(nframes, 4096)) == NULL) {
		fprintf(stderr, "tablegen: out of memory\n");
		return (1);
	}

	/* the root: PAE's anywhere 32-byte aligned in its frame */
	root_pa = alloc_table(levels - 1);
	if (mode == M_PAE)
		root_pa += below(128) * 32;
	cr3 = root_pa;
	if (mode != M_PAE && chance(50))
		cr3 |= rnd() & (PG_PWT | PG_PCD);

	/* the stub's path: a 4 KiB leaf, or a large one */
	leaf_l = 0;
	if (chance(40))
		leaf_l = (mode == M_4LEVEL || mode == M_5LEVEL) && chance(50) ?
		    2 : 1;
	make_path(leaf_l, path);
	for (int l = (int)levels - 1; l >= (int)leaf_l; l--)
		build(path[l], (unsigned)l, 0);

	if ((fd = open(argv[5], O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
		perror(argv[5]);
		return (1);
	}
	for (unsigned f = 0; f < nframes; f++) {
		const uint8_t *p = frames + (size_t)f * 4096;
		unsigned j;

		for (j = 0; j < 4096 && p[j] == 0; j++)
			;
		if (j < 4096 && pwrite(fd, p, 4096, (off_t)(pool_pa +
		    (uint64_t)f * 4096)) != 4096) {
			perror(argv[5]);
			return (1);
		}
	}
	if (ftruncate(fd, (off_t)(pool_pa + (uint64_t)nframes * 4096)) != 0 ||
	    close(fd) != 0) {
		perror(argv[5]);
		return (1);
	}
	printf("# hand-made tables: tablegen %s %s\n", argv[1], argv[2]);
	printf("pool 0x%" PRIx64 " 0x%x\n", pool_pa, nframes * 4096);
	printf("mode=%s cr3=0x%" PRIx64 "\n", modes[mode], cr3);
	free(frames);
	return (0);
}
