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

/*
 * A root to read an image from: a CR3 value, its name in the outputs,
 * and (build --verify) the spec's account of what it shows.
 */
#define CLI_ROOT_NAME	64
typedef struct cli_root {
	char		name[CLI_ROOT_NAME];	/* "" = unnamed */
	uint64_t	cr3;
	verify_model_fn	model;		/* NULL: none */
	void		*model_arg;
} cli_root_t;

/* The options of a command that reads tables from an image. */
typedef struct image_opts {
	int		have_cr3, have_mode;
	ht_scan_cfg_t	cfg;		/* cr3: the first root's */
	cli_root_t	*roots;		/* every --cr3 and --roots root */
	int		nroots;
	int		named;		/* a root has a name: the outputs
					   print a header per root */
	int		have_file_mode;	/* --roots named a mode */
	ht_mode_t	file_mode;
	int		have_ept;	/* --ept: HT_EPT_* (after
					   image_opts_done: --ept's or
					   --roots's; A/D is each EPTP's
					   bit 6 too) */
	unsigned	ept;
	int		have_file_ept;	/* --roots named ept=FLAGS */
	unsigned	file_ept;
	/* --roots named a guest: "guest mode=M cr3=X [host=NAME]" */
	int		have_file_guest;
	ht_mode_t	file_guest_mode;
	uint64_t	file_guest_cr3;
	char		file_guest_host[CLI_ROOT_NAME];	/* "" = none */
	/* --dump-cpu: whose CR3 and mode a dump file gives */
	int		have_dump_cpu;
	unsigned	dump_cpu;
	int		all_roots;	/* dump --all-roots: a header each */
	/* --all-roots ('A') asked, --min-confidence ('C') */
	int		want_all;
	int		have_minc;
	unsigned	minc;
} image_opts_t;

/* translate --nested: the guest's side, the access, the output. */
typedef struct nested_opts {
	int		have_mode, have_cr3;
	ht_mode_t	mode;		/* --guest-mode */
	uint64_t	cr3;		/* --guest-cr3 (guest-physical) */
	unsigned	acc;		/* --access: HT_ACC_* */
	unsigned	cpl;		/* --cpl */
	ht_cpu_t	cpu;		/* --cpu: the guest's CPU */
	int		json;		/* --format json */
} nested_opts_t;

int cmd_build(int argc, char **argv);
void usage_build(FILE *f);
int cmd_dump(int argc, char **argv);
void usage_dump(FILE *f);
int cmd_translate(int argc, char **argv);
void usage_translate(FILE *f);
int cmd_verify(int argc, char **argv);
void usage_verify(FILE *f);
int cmd_roots(int argc, char **argv);
void usage_roots(FILE *f);
int cmd_info(int argc, char **argv);
void usage_info(FILE *f);
int cmd_show(int argc, char **argv);
void usage_show(FILE *f);
int cmd_diff(int argc, char **argv);
void usage_diff(FILE *f);
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
/*
 * The same for every root of roots: each is probed where any of them
 * maps something, each with its model if it has one; a header before
 * each report, and a last line "roots=N probes=N agree=N disagree=N"
 * over them all.  The exit status is the worst of the roots':
 * EXIT_DISAGREE, then EXIT_IO, EXIT_INPUT, EXIT_NOENGINE, EXIT_OK.
 */
int cli_verify_roots(const char *path, const verify_opts_t *o,
    const cli_root_t *roots, int nroots, const engine_ops_t *e,
    const char *probes, int verbose);
/* The worse of two exit statuses of verify, in the order above. */
int cli_verify_worst(int a, int b);
/*
 * --cpu FLAGS: "wp,nxe,smep,smap,ac,pke,pkru=N,no1g,pa-bits=N" (or
 * "none") into *cpu.  0, or -1 for a flag it does not know or out of
 * memory (no message).
 */
int cli_parse_cpu(const char *s, ht_cpu_t *cpu);
/*
 * --engine NAME of command cmd: an engine of engine_list, or auto (*r_e
 * NULL).  0, or -1 after a message.
 */
int cli_parse_engine(const char *cmd, const char *name,
    const engine_ops_t **r_e);
/*
 * translate --nested (cmd_nested.c): each VA of va[0..nva) through the
 * guest's tables and the host's (ht_nested_access), on the image at path,
 * with o done (image_opts_done) for the host.  An exit status, after a
 * message when it is not EXIT_OK.
 */
int translate_nested(image_opts_t *o, nested_opts_t *n, const char *path,
    char **va, int nva);
/* dump --format tables (tables.c): 0, or an exit status after a message */
int dump_tables(const char *path, image_opts_t *o, FILE *out);

/*
 * EPT flags in words, as build prints them after "ept=" and --ept takes
 * them: "ad", "mbec", "xonly" joined by commas, or "none".  cli_ept_parse:
 * 0 with HT_EPT_* in *r, or -1 for a word it does not know (no message).
 * cli_ept_words: the words of ept into buf; returns buf.
 */
int cli_ept_parse(const char *s, unsigned *r);
const char *cli_ept_words(unsigned ept, char *buf, size_t len);

/*
 * The long options image_opt takes, for the option table of a command
 * that reads an image's tables (dump, translate, show); and those of
 * the commands that read its roots as htable roots finds them (dump,
 * show).
 */
#define IMAGE_LONG_OPTIONS					\
	{ "cr3", required_argument, NULL, 'c' },		\
	{ "roots", required_argument, NULL, 'R' },		\
	{ "mode", required_argument, NULL, 'm' },		\
	{ "pa-bits", required_argument, NULL, 'p' },		\
	{ "dump-cpu", required_argument, NULL, 'U' },		\
	{ "ept", required_argument, NULL, 'E' }
#define ROOTS_LONG_OPTIONS					\
	{ "all-roots", no_argument, NULL, 'A' },		\
	{ "min-confidence", required_argument, NULL, 'C' },	\
	{ "max-leaves", required_argument, NULL, 'n' }

/*
 * Take option c (with optarg) if it is one of --cr3 (c == 'c': a CR3
 * value, or NAME=VALUE; repeatable; in EPT the EPTP), --roots ('R': the
 * roots, mode and EPT flags that `htable build` printed), --mode ('m'),
 * --pa-bits ('p'), --ept ('E': EPT flags), --dump-cpu ('U'),
 * --max-leaves ('n'), --all-roots ('A') or --min-confidence ('C').  1 taken, 0 not ours, -1
 * bad value (a message has been printed).
 */
int image_opt(image_opts_t *o, int c, const char *arg);
/*
 * After option parsing: a root and a mode given (by --cr3 and --mode, by
 * --roots, or by the CPU state of the dump file at path: CPU 0's or
 * --dump-cpu's, for what the options left out), --pa-bits within the
 * mode, EPT flags only in EPT and agreeing with --roots, each EPTP's walk
 * length the mode's?  Sets the image reader, cfg.cr3 to the first root
 * and, in EPT, the EPT flags: o->ept, HT_SCAN_EPT_* in cfg.flags and,
 * with A/D, bit 6 in every root's EPTP.  0, or -1 + message (*io set
 * when the image could not be opened, for EXIT_IO).
 */
int image_opts_done(image_opts_t *o, const char *cmd, const char *path,
    int *io);
/*
 * After option parsing, for a command that reads roots from the image at
 * path (dump, show): --min-confidence only with --all-roots; with
 * --all-roots, the roots `htable roots` finds (below); image_opts_done;
 * the image opened into *im (cli_image_open).  0 with *im open (and
 * o->nroots 0 when --all-roots found none, which was said: not an
 * error), or an exit status after a message, with nothing open.
 *
 * --all-roots: the roots in one mode: --mode's, else the mode of the
 * dump's CPU (--dump-cpu's or 0) when it has paging on, else the best 4-
 * or 5-level candidate's (a 5-level root's tables read as 4-level roots
 * too, and the best reading names the mode; 32-bit and PAE are looked
 * for only when named, as htable roots does).  With --min-confidence,
 * those scoring at least that; without, when some share their kernel
 * part with others (an operating system's, in every process), only
 * those: a table of a lower level read as a root shares nothing, and its
 * leaves would be listed at addresses no CPU uses; else every candidate.
 */
int image_opts_open(image_opts_t *o, const char *cmd, const char *path,
    image_t *im);
/* Free what the options hold. */
void image_opts_free(image_opts_t *o);
/* Add an unnamed root at cr3.  0, or -1 (out of memory, said). */
int image_opts_add_root(image_opts_t *o, uint64_t cr3);
/* Do the outputs name each root (several, or a named one)? */
int image_opts_multi(const image_opts_t *o);
/*
 * The name of root r in the outputs: its own, or its CR3 in hex.
 * Returns buf.
 */
const char *cli_root_name(const cli_root_t *r, char *buf, size_t len);
/* The header line of root r: "root NAME cr3=0xHEX" (no NAME unnamed). */
void cli_root_header(FILE *f, const cli_root_t *r);
/*
 * image_open, saying "htable: PATH: reason" on stderr when it fails, and
 * "htable: PATH: warning: ..." for what the dump's reader noticed.  0 or
 * -1.
 */
int cli_image_open(const char *path, image_t *im);
/*
 * image_close, saying first how many of a dump's pages failed to read
 * (they read as zeros).  Errors: none.
 */
void cli_image_close(const char *path, image_t *im);
/*
 * dump's warnings after a scan of the image at path in mode (cmd_dump.c).
 */
void scan_warnings(const char *path, ht_mode_t mode,
    const ht_scan_stats_t *st);

#endif
