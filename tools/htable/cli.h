/*
 * cli.h - the htable command: exit codes, subcommands, usage texts.
 */
#ifndef HTABLE_CLI_H
#define HTABLE_CLI_H

#include <stdio.h>

#include "htable.h"
#include "image.h"
#include "verify.h"

#define EXIT_OK		0
#define EXIT_IO		1	/* a runtime failure (I/O) */
#define EXIT_INPUT	2	/* bad usage or bad input */
#define EXIT_DISAGREE	3	/* verify: the MMU and the library disagree */
#define EXIT_NOENGINE	4	/* verify: no engine could run: nothing
				   verified */

int cmd_build(int argc, char **argv);
void usage_build(FILE *f);
int cmd_dump(int argc, char **argv);
void usage_dump(FILE *f);
int cmd_translate(int argc, char **argv);
void usage_translate(FILE *f);
int cmd_verify(int argc, char **argv);
void usage_verify(FILE *f);
/*
 * Verify the image at path (tools/verify/) on engine e (NULL: the
 * automatic choice) with the probes of file probes (NULL: generated) and
 * print the report: each disagreement (each probe with verbose), the
 * quirks, the summary on stdout; problems on stderr.  Returns the exit
 * status: EXIT_OK only when every probe agrees, EXIT_DISAGREE,
 * EXIT_NOENGINE, EXIT_IO or EXIT_INPUT.  `verify` and `build --verify`.
 */
int cli_verify(const char *path, const verify_opts_t *o, const engine_ops_t *e,
    const char *probes, int verbose);

/* The options of a command that reads tables from an image. */
typedef struct image_opts {
	int		have_cr3, have_mode;
	ht_scan_cfg_t	cfg;
} image_opts_t;

/*
 * Take option c (with optarg) if it is one of --cr3 (c == 'c'), --mode
 * ('m') or --pa-bits ('p').  1 taken, 0 not ours, -1 bad value (a message
 * has been printed).
 */
int image_opt(image_opts_t *o, int c, const char *arg);
/*
 * After option parsing: both --cr3 and --mode given, --pa-bits within the
 * mode?  Sets the image reader.  0, or -1 + message.
 */
int image_opts_done(image_opts_t *o, const char *cmd);
/*
 * image_open, saying "htable: PATH: reason" on stderr when it fails.
 * 0 or -1.
 */
int cli_image_open(const char *path, image_t *im);

#endif
