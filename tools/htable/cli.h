/*
 * cli.h - the htable command: exit codes, subcommands, usage texts.
 */
#ifndef HTABLE_CLI_H
#define HTABLE_CLI_H

#include <stdio.h>

#define EXIT_OK		0
#define EXIT_IO		1	/* a runtime failure (I/O) */
#define EXIT_INPUT	2	/* bad usage or bad input */

int cmd_build(int argc, char **argv);
void usage_build(FILE *f);
int cmd_dump(int argc, char **argv);
void usage_dump(FILE *f);
int cmd_translate(int argc, char **argv);
void usage_translate(FILE *f);
int cmd_verify(int argc, char **argv);
void usage_verify(FILE *f);

#endif
