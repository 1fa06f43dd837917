/*
 * engine_util.h - what the emulator engines (engine_qemu*.c,
 * engine_bochs.c) share that is not the engine interface (engine.h):
 * the job's note, little-endian fields of the area an engine hands its
 * guest, a guest format's shifts from the geometry table, and running
 * the emulator as a child that cannot outlive its time or its parent.
 * Not for the rest of the verification library.  Every name starts with
 * "e" (for engine), short because the engines call these on most lines.
 */
#ifndef HTABLE_ENGINE_UTIL_H
#define HTABLE_ENGINE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <htable.h>

#include "engine.h"

/*
 * Set the job's note (printf-style) unless it has one: the first reason
 * wins, so a run that fails after a probe's note keeps the earlier word.
 * Errors: none.
 */
__attribute__((format(printf, 2, 3)))
void enote(engine_job_t *job, const char *fmt, ...);

/* Little-endian stores and loads of the area's fields.  Errors: none. */
static inline void
eput64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static inline void
eput32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline void
eput16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static inline uint64_t
eget64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return (v);
}

static inline uint32_t
eget32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return (v);
}

/*
 * A guest job's guest-format tables, from the library's geometry table
 * (levels counted as engine.h does: 0 is the page table): the bytes an
 * entry of a level maps (log2), and the index of va's entry in a table
 * of that level (a PAE root's four fall out of the same sum, va being
 * below 4 GiB).  Errors: none.
 */
static inline unsigned
egshift(ht_mode_t gm, unsigned level)
{
	return (ht_geometry(gm)->level_shift[level]);
}

static inline unsigned
egindex(ht_mode_t gm, uint64_t va, unsigned level)
{
	return ((unsigned)(va >> egshift(gm, level)) &
	    (ht_geometry(gm)->ptes_per_table - 1));
}

/*
 * Find prog on PATH (as execvp would; an empty element is the current
 * directory, as for sh) into out: a regular file we may execute (a
 * directory of that name is passed over).  0, or -1 when there is none:
 * the engine is then absent, not broken.  Errors: -1.
 */
int efind_on_path(const char *prog, char *out, size_t outlen);

/*
 * Run argv (argv[0] a path) with environment envp (NULL: ours), stdin
 * from /dev/null, stdout into the file out and stderr into err (NULL:
 * into out as well), in a session of its own (no controlling terminal
 * of ours), for at most ms milliseconds: a run that takes longer is
 * killed.  The child dies with us (PR_SET_PDEATHSIG) and is always
 * reaped.  Returns the exit status (0..255), -2 on a timeout, -3 when
 * killed by a signal, -1 when it could not start (errno set).
 * Errors: -1, -2, -3.
 */
int erun_bounded(char *const argv[], char *const envp[], const char *out,
    const char *err, long ms);

#endif /* HTABLE_ENGINE_UTIL_H */
