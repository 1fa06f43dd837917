/*
 * verify.h - `htable verify` and `htable build --verify`: run probes
 * through an image's tables on a real MMU (engine.h) and compare every
 * outcome with the library's prediction (ht_scan_access).
 */
#ifndef HTABLE_VERIFY_H
#define HTABLE_VERIFY_H

#include <stdio.h>
#include "htable.h"

typedef enum { ENG_AUTO, ENG_KVM, ENG_QEMU } verify_engine_t;

/* Exit statuses beyond cli.h's */
#define EXIT_DISAGREE	3	/* the MMU and the library disagree */
#define EXIT_NOENGINE	4	/* no engine could run: nothing verified */

typedef struct verify_opts {
	ht_mode_t	mode;
	uint64_t	cr3;
	ht_cpu_t	cpu;		/* what the user asked for */
	const char	*probes;	/* probe file, or NULL: generate */
	verify_engine_t	engine;
	int		verbose;	/* print every probe */
} verify_opts_t;

/*
 * Verify the image at path; prints the disagreements and the summary to
 * out, problems to stderr.  Returns the exit status (EXIT_OK only when
 * every probe agrees).
 */
int verify_image(const char *path, const verify_opts_t *o, FILE *out);

/* Parse "wp,nxe,smep,smap,ac,pke,pkru=N,no1g,pa-bits=N" into *cpu. */
int verify_parse_cpu(const char *s, ht_cpu_t *cpu);

#endif
