/*
 * roots.h - finding the page-table roots in a physical-memory image
 * without knowing the operating system (`htable roots`): from the paging
 * structures alone.
 *
 * Every frame that holds data (below 4 GiB in 32-bit and PAE paging,
 * which is all CR3 names there) is scored as a candidate root of each
 * mode asked; in PAE paging each 32-byte slot of the frame is, the
 * root being a 4-entry PDPT.  It must read as a root table with a
 * present entry and a leaf below, whose present entries have no
 * reserved bit set and link only to frames that are themselves
 * plausible tables one level down (empty ones too), all the way to the
 * leaves.  Each (frame, level) is judged once and remembered, so the
 * time is at most levels x frames x 1024 entry reads, linear in the
 * image, whatever the tables share or however often they link each
 * other (levels strictly fall, so no walk can loop).  For each
 * candidate: its leaves, the bytes they map in the user and the kernel
 * part of the root, how many other candidates, copies of the whole root
 * left out, have the same kernel part (the kernel's, shared by every
 * process), an entry that links the root to itself (a self-map), and a
 * confidence from those.
 *
 * Modes: 32bit (4-byte entries, 1024 a table, 4 MiB pages with PSE-36;
 * kernel part: PD entries 768 on, Linux's 3G/1G split and inside
 * Windows' 2G/2G), pae (a 4-entry PDPT, then tables of 512 8-byte
 * entries; kernel part: PDPTE 3), 4level and 5level (8-byte entries,
 * 512 a table; kernel part: the upper half).  Nothing is trusted: a
 * frame beyond the image or in a hole is not a table.
 */
#ifndef HTABLE_ROOTS_H
#define HTABLE_ROOTS_H

#include <stddef.h>
#include <stdint.h>

#include <htable.h>

#include "image.h"

typedef struct roots_cand {
	ht_mode_t	mode;
	uint64_t	cr3;		/* the root's address (PAE: 32-byte
					   aligned, else a frame's) */
	unsigned	present;	/* present entries in the root */
	uint64_t	leaves;		/* leaves under it, shared ones counted
					   once per path, as a walk sees them */
	uint64_t	user_bytes;	/* mapped from the user part */
	uint64_t	kernel_bytes;	/* from the kernel part */
	unsigned	shared;		/* other candidates, not copies of
					   this root, with the same kernel
					   part (0: none or empty) */
	int		selfmap;	/* entry linking the root to itself, or
					   -1 (always in PAE paging) */
	unsigned	confidence;	/* 0..100 (roots_find's comment) */
} roots_cand_t;

/* roots_find's failures */
#define ROOTS_ENOMEM	(-1)	/* out of memory */
#define ROOTS_EMODE	(-2)	/* a mode it does not score, or twice */

/*
 * Score every data frame of im as a root of each of the nmodes modes
 * (32bit, pae, 4level, 5level; each once), MAXPHYADDR pa_bits (0: 52;
 * 32bit reads at most 40, PSE-36's).  On success *r_c is a
 * malloc'ed array of *r_n candidates, best first (confidence, then
 * leaves, then address), and 0 is returned; else ROOTS_ENOMEM or
 * ROOTS_EMODE with *r_c NULL and *r_n 0.
 *
 * Confidence: 40 when the kernel part is shared with another candidate
 * (the kernel half of every Linux or Windows process), 20 for a
 * self-map (Windows keeps one), 10 when both parts map something, and
 * up to 30 for the leaves (3 for each doubling, from 2 leaves on).
 * Errors: ROOTS_ENOMEM, ROOTS_EMODE.
 */
int roots_find(const image_t *im, const ht_mode_t *modes, int nmodes,
    unsigned pa_bits, roots_cand_t **r_c, size_t *r_n);

#endif
