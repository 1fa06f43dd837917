/*
 * specgen.c - a random layout file for `htable build`, for the QEMU
 * agreement test: maps of every page size the mode has, with random
 * w/x/u/g/pwt/pcd/pat, overlapping maps, unmaps and protects that split
 * large pages at their edges, and the addresses where QEMU's printing
 * has corner cases (the top of the address space, both sides of the
 * canonical hole, the top of 4 GiB, physical addresses above 4 GiB and
 * up to the mode's widest).  The same mode and seed always give the same
 * file, so a failure can be replayed.
 *
 *	specgen MODE SEED POOL_PA POOL_LEN [low]
 *
 * With "low" (4- and 5-level), everything lies in the lowest 128 TiB,
 * below bit 47: under one PML5 entry and in the lower half of its PML4,
 * where a 5-level layout reads the same as a 4-level one.
 *
 * The page-table pool is the caller's; the generator keeps the total work
 * small enough for it (a few hundred tables at most).  The spec does not
 * map the boot stub: the test appends that mapping itself.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

#define	K4	(UINT64_C(1) << 12)
#define	M2	(UINT64_C(1) << 21)
#define	M4	(UINT64_C(1) << 22)
#define	G1	(UINT64_C(1) << 30)
#define	G4	(UINT64_C(1) << 32)
/* where 32-bit layouts map 4 MiB pages above 4 GiB (nothing else goes) */
#define	PSE36_VA	(G4 - (UINT64_C(128) << 20))

typedef enum { M_32BIT, M_PAE, M_4LEVEL, M_5LEVEL } gmode_t;

/* A window of virtual addresses that the statements of a spec share. */
typedef struct win {
	uint64_t	base;
	uint64_t	len;
} win_t;


/* The large page size of the mode (4 MiB in 32-bit paging, else 2 MiB). */
static uint64_t
large(gmode_t m)
{
	return (m == M_32BIT ? M4 : M2);
}

/*
 * A physical address aligned to ps for n pages of size ps: mostly low
 * (below 4 GiB), sometimes anywhere the mode can name (52 bits), sometimes
 * at the very top of that width.  In 32-bit paging only 4 MiB pages reach
 * above 4 GiB (PSE-36, 40 bits), and a 4 MiB page there cannot be split
 * into 4 KiB pages, so those come only from the PSE-36 window (pse36).
 */
static uint64_t
pick_pa(gmode_t m, uint64_t ps, uint64_t n, int pse36)
{
	unsigned bits = m != M_32BIT ? 52 : pse36 ? 40 : 32;
	uint64_t top = UINT64_C(1) << bits, span = n * ps, pa;

	if (pse36)
		return (G4 + below((top - G4 - span) / ps + 1) * ps);
	if (chance(70))
		top = G4;
	if (chance(15))
		pa = top - span;		/* the widest addresses */
	else
		pa = below(top - span + 1);
	return (pa & ~(ps - 1));
}

/* The attribute flags of a map: each one at random. */
static void
put_flags(FILE *f, int with_cache)
{
	static const char *const perm[] = { "w", "x", "u" };
	static const char *const cache[] = { "g", "pwt", "pcd", "pat" };

	for (unsigned i = 0; i < 3; i++)
		if (chance(50))
			fprintf(f, " %s", perm[i]);
	if (with_cache)
		for (unsigned i = 0; i < 4; i++)
			if (chance(30))
				fprintf(f, " %s", cache[i]);
}

/*
 * The windows: random ones in each half of the address space, and the
 * corner cases of the mode.  4-level: just below and above the canonical
 * hole, the top 1 GiB.  5-level: the same for its hole, and the 4-level
 * hole (canonical here).  32-bit and PAE: the top of 4 GiB and page 0;
 * the 64 MiB below the top one are left to the PSE-36 pages.
 */
static int
make_windows(gmode_t m, int low, win_t *w)
{
	int n = 0;

	if (m == M_32BIT || m == M_PAE) {
		uint64_t wl = UINT64_C(64) << 20;

		w[n++] = (win_t){ 0, wl };
		w[n++] = (win_t){ G4 - wl, wl };
		for (int i = 0; i < 3; i++)
			w[n++] = (win_t){ below(G4 / wl - 2) * wl, wl };
		return (n);
	}

	unsigned vabits = m == M_4LEVEL ? 48 : 57;
	uint64_t half = UINT64_C(1) << (vabits - 1), wl = 4 * G1;

	if (low) {
		half = UINT64_C(1) << 47;
		w[n++] = (win_t){ half - wl, wl };
		w[n++] = (win_t){ 0, wl };
		for (int i = 0; i < 4; i++)
			w[n++] = (win_t){ below(half / wl - 1) * wl, wl };
		return (n);
	}

	w[n++] = (win_t){ half - wl, wl };		/* below the hole */
	w[n++] = (win_t){ 0 - half, wl };		/* above the hole */
	w[n++] = (win_t){ 0 - wl, wl };			/* the top */
	w[n++] = (win_t){ 0, wl };
	if (m == M_5LEVEL) {
		w[n++] = (win_t){ (UINT64_C(1) << 47) - wl, wl };
		w[n++] = (win_t){ UINT64_C(1) << 47, wl };
		w[n++] = (win_t){ 0 - (UINT64_C(1) << 47) - wl, wl };
	}
	for (int i = 0; i < 2; i++) {
		uint64_t va = below(half / wl - 1) * wl;

		w[n++] = (win_t){ chance(50) ? va : 0 - half + va, wl };
	}
	return (n);
}

/* An aligned random range of n pages of ps inside window w. */
static uint64_t
in_window(const win_t *w, uint64_t ps, uint64_t n)
{
	uint64_t slots = (w->len - n * ps) / ps + 1;

	/* favour the window's edges: that is where the corner cases are */
	if (chance(20))
		return (w->base);
	if (chance(20))
		return (w->base + (slots - 1) * ps);
	return (w->base + below(slots) * ps);
}

static void
gen_map(FILE *f, gmode_t m, const win_t *w)
{
	static const char *const name[] = { "4k", "2m", "4m", "1g" };
	uint64_t sizes[3], ps, n, va, pa;
	unsigned nsz = 0, forced;
	const char *pname;

	sizes[nsz++] = K4;
	sizes[nsz++] = large(m);
	if (m == M_4LEVEL || m == M_5LEVEL)
		sizes[nsz++] = G1;
	ps = sizes[below(nsz)];
	n = ps == K4 ? 1 + below(48) : ps == G1 ? 1 + below(2) :
	    1 + below(6);
	va = in_window(w, ps, n);
	pa = pick_pa(m, ps, n, 0);
	pname = name[ps == K4 ? 0 : ps == M2 ? 1 : ps == M4 ? 2 : 3];
	fprintf(f, "map 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64, va, pa,
	    n * ps);
	put_flags(f, 1);
	/* without page=, the library picks the size from the alignment */
	forced = ps == K4 ? chance(70) : chance(50);
	if (forced)
		fprintf(f, " page=%s", pname);
	fputc('\n', f);
}

/* An unmap or protect of a 4 KiB-aligned range, often splitting pages. */
static void
gen_change(FILE *f, gmode_t m, const win_t *w, int protect)
{
	uint64_t lp = large(m), unit = chance(60) ? K4 : lp, n, va;

	n = unit == K4 ? 1 + below(32) : 1 + below(3);
	va = in_window(w, unit, n);
	/* start inside a large page so that the edges split it */
	if (unit != K4 && chance(50) && va + n * unit + lp <=
	    w->base + w->len)
		va += (below(lp / K4)) * K4;
	fprintf(f, "%s 0x%" PRIx64 " 0x%" PRIx64, protect ? "protect" :
	    "unmap", va, n * unit);
	if (protect)
		put_flags(f, 0);
	fputc('\n', f);
}

int
main(int argc, char **argv)
{
	static const char *const modes[] = { "32bit", "pae", "4level",
	    "5level" };
	gmode_t m;
	win_t w[16];
	int nw, nstmt, i, low;
	char *end;

	low = argc == 6 && strcmp(argv[5], "low") == 0;
	if (argc != 5 && !low) {
		fprintf(stderr, "usage: specgen MODE SEED POOL_PA POOL_LEN "
		    "[low]\n");
		return (2);
	}
	for (i = 0; i < 4; i++)
		if (strcmp(argv[1], modes[i]) == 0)
			break;
	if (i == 4) {
		fprintf(stderr, "specgen: unknown mode '%s'\n", argv[1]);
		return (2);
	}
	m = (gmode_t)i;
	rng_state = strtoull(argv[2], &end, 0);
	if (*end != '\0') {
		fprintf(stderr, "specgen: bad seed '%s'\n", argv[2]);
		return (2);
	}
	rng_state ^= (uint64_t)m << 56;

	printf("# random layout: specgen %s %s%s\n", argv[1], argv[2],
	    low ? " (low)" : "");
	printf("mode %s\n", modes[m]);
	printf("pool %s %s\n", argv[3], argv[4]);
	if (low && m != M_4LEVEL && m != M_5LEVEL) {
		fprintf(stderr, "specgen: 'low' is for 4level and 5level\n");
		return (2);
	}
	nw = make_windows(m, low, w);
	/*
	 * The corner cases first, each with the same flags so that QEMU's
	 * info mem merges runs across them: both sides of the hole, the
	 * top page of the address space.
	 */
	if (low) {
		printf("map 0x%" PRIx64 " 0x%" PRIx64 " 0x1000 w u\n",
		    (UINT64_C(1) << 47) - K4, pick_pa(m, K4, 1, 0));
	} else if (m == M_4LEVEL || m == M_5LEVEL) {
		uint64_t half = UINT64_C(1) << (m == M_4LEVEL ? 47 : 56);

		printf("map 0x%" PRIx64 " 0x%" PRIx64 " 0x1000 w u\n",
		    half - K4, pick_pa(m, K4, 1, 0));
		printf("map 0x%" PRIx64 " 0x%" PRIx64 " 0x1000 w u\n",
		    0 - half, pick_pa(m, K4, 1, 0));
		printf("map 0x%" PRIx64 " 0x%" PRIx64 " 0x200000 w%s\n",
		    0 - M2, pick_pa(m, M2, 1, 0), chance(50) ? " page=2m" :
		    " page=4k");
	} else {
		printf("map 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 " w\n",
		    G4 - large(m), pick_pa(m, large(m), 1, 0), large(m));
		printf("map 0xfffef000 0x%" PRIx64 " 0x1000 w u\n",
		    pick_pa(m, K4, 1, 0));
		if (m == M_32BIT) {
			uint64_t n = 1 + below(4);

			printf("map 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64,
			    PSE36_VA, pick_pa(m, M4, n, 1), n * M4);
			put_flags(stdout, 1);
			printf("\n");
		}
	}
	nstmt = 12 + (int)below(14);
	for (i = 0; i < nstmt; i++) {
		const win_t *wi = &w[below((uint64_t)nw)];
		unsigned r = (unsigned)below(100);

		if (r < 60)
			gen_map(stdout, m, wi);
		else
			gen_change(stdout, m, wi, r >= 80);
	}
	return (ferror(stdout) ? 1 : 0);
}
