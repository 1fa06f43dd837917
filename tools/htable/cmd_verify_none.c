/*
 * cmd_verify_none.c - `htable verify` where the verification library is
 * not built (it needs Linux on x86 for its engines): the command says so
 * and exits 4, "no engine could run: nothing verified".
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

void
usage_verify(FILE *f)
{
	fprintf(f, "usage: htable verify IMAGE --cr3 X --mode M ...\n"
	    "  Not built on this platform: verification runs on KVM or\n"
	    "  QEMU's TCG, from Linux on x86.\n");
}

int
cli_verify(const char *path, const verify_opts_t *o, const engine_ops_t *e,
    const char *probes, int verbose)
{
	(void) path;
	(void) o;
	(void) e;
	(void) probes;
	(void) verbose;
	fprintf(stderr, "htable verify: not built on this platform (it "
	    "needs Linux on x86)\n");
	return (EXIT_NOENGINE);
}

int
cli_verify_roots(const char *path, const verify_opts_t *o,
    const cli_root_t *roots, int nroots, const engine_ops_t *e,
    const char *probes, int verbose)
{
	(void) roots;
	(void) nroots;
	return (cli_verify(path, o, e, probes, verbose));
}

int
cli_parse_cpu(const char *s, ht_cpu_t *cpu)
{
	(void) s;
	memset(cpu, 0, sizeof (*cpu));
	return (0);
}

int
cli_parse_engine(const char *cmd, const char *name,
    const engine_ops_t **r_e)
{
	(void) cmd;
	(void) name;
	*r_e = NULL;
	return (0);
}

int
cmd_verify(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		usage_verify(stdout);
		return (EXIT_OK);
	}
	return (cli_verify(NULL, NULL, NULL, NULL, 0));
}
