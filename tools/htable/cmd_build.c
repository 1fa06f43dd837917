/*
 * cmd_build.c - `htable build SPEC -o IMAGE [--json]`: build the page
 * tables a layout file describes and write them as a raw physical image
 * (byte offset = physical address; unwritten ranges are holes).  The image
 * is written to a temporary file and renamed, so that no image exists
 * after any error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "spec.h"

struct img {
	ht_arena_t	*arena;
	int		fd;
	int		err;		/* errno of the first failed write */
	uint64_t	frames;
};

static void
write_frame(void *arg, const ht_as_t *as, ht_pfn_t pfn, int level)
{
	struct img *im = arg;
	ht_pa_t pa = pfn << HT_PAGE_SHIFT;
	const void *p = ht_arena_ptr(im->arena, pa);

	(void) as;
	(void) level;
	im->frames++;
	if (im->err == 0 && pwrite(im->fd, p, HT_PAGE_SIZE, (off_t)pa) !=
	    (ssize_t)HT_PAGE_SIZE)
		im->err = errno ? errno : EIO;
}

/* The page size a leaf of 2^shift bytes is: its HT_PS_* bit and name. */
static unsigned
ps_of(unsigned shift, const char **r_name)
{
	static const struct { unsigned shift, bit; const char *name; } t[] = {
		{ 12, HT_PS_4K, "4k" }, { 21, HT_PS_2M, "2m" },
		{ 22, HT_PS_4M, "4m" }, { 30, HT_PS_1G, "1g" },
	};

	for (unsigned i = 0; i < sizeof (t) / sizeof (t[0]); i++) {
		if (t[i].shift == shift) {
			*r_name = t[i].name;
			return (t[i].bit);
		}
	}
	*r_name = "-";
	return (0);
}

static void
summary(const spec_t *s, ht_ctx_t *ctx, ht_as_t *as, uint64_t frames,
    int json)
{
	const ht_geometry_t *g = ht_ctx_geometry(ctx);
	ht_stats_t st;

	ht_as_stats(as, &st);
	if (json) {
		printf("{\"mode\":\"%s\",\"cr3\":\"0x%" PRIx64 "\",\"tables\":{",
		    ht_mode_name(s->mode), ht_as_root(as));
		for (unsigned l = 0; l < g->levels; l++)
			printf("%s\"%u\":%" PRIu64, l ? "," : "", l,
			    st.tables[l]);
		printf("},\"leaves\":{");
		for (unsigned l = 0, n = 0; l < g->levels; l++) {
			const char *nm;

			if (g->pagesizes & ps_of(g->level_shift[l], &nm))
				printf("%s\"%s\":%" PRIu64, n++ ? "," : "",
				    nm, st.leaves[l]);
		}
		printf("},\"frames\":%" PRIu64 ",\"pools\":[", frames);
		for (int i = 0; i < s->npools; i++)
			printf("%s{\"base\":\"0x%" PRIx64 "\",\"len\":\"0x%"
			    PRIx64 "\"}", i ? "," : "", s->pools[i].base,
			    s->pools[i].len);
		printf("]}\n");
		return;
	}
	printf("tables per level (root first):");
	for (int l = (int)g->levels - 1; l >= 0; l--)
		printf(" L%d=%" PRIu64, l, st.tables[l]);
	printf("\nleaves:");
	for (unsigned l = 0; l < g->levels; l++) {
		const char *nm;

		if (g->pagesizes & ps_of(g->level_shift[l], &nm))
			printf(" %" PRIu64 " x %s", st.leaves[l], nm);
	}
	printf("\nframes: %" PRIu64 " in", frames);
	for (int i = 0; i < s->npools; i++)
		printf(" [0x%" PRIx64 ", 0x%" PRIx64 ")", s->pools[i].base,
		    s->pools[i].base + s->pools[i].len);
	printf("\nmode=%s cr3=0x%" PRIx64 "\n", ht_mode_name(s->mode),
	    ht_as_root(as));
}

int
cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "verify", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	int json = 0, verify = 0, c, rc = EXIT_INPUT;
	spec_t s;
	ht_arena_t *arena = NULL;
	ht_ctx_t *ctx = NULL;
	ht_as_t *as = NULL;
	char *tmp = NULL;
	struct img im = { 0 };

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'j': json = 1; break;
		case 'V': verify = 1; break;
		case 'h': usage_build(stdout); return (EXIT_OK);
		default: usage_build(stderr); return (EXIT_INPUT);
		}
	}
	if (optind != argc - 1 || out == NULL) {
		usage_build(stderr);
		return (EXIT_INPUT);
	}
	if (spec_parse(argv[optind], &s, stderr) != 0)
		return (EXIT_INPUT);

	/* One arena covers every pool: the "physical memory" of the image. */
	ht_pa_t lo = ~0ull, hi = 0;
	for (int i = 0; i < s.npools; i++) {
		if (s.pools[i].base < lo)
			lo = s.pools[i].base;
		if (s.pools[i].base + s.pools[i].len > hi)
			hi = s.pools[i].base + s.pools[i].len;
	}
	if (ht_arena_create(lo, hi - lo, 0, &arena) != 0) {
		fprintf(stderr, "%s:%d: pools: %s\n", s.file, s.last_line,
		    ht_errdetail());
		goto out;
	}
	ht_config_t cfg = { .mode = s.mode, .pagesizes = s.pagesizes,
	    .frame_ops = ht_arena_ops(), .frame_arg = arena,
	    .npools = (unsigned)s.npools };
	memcpy(cfg.pools, s.pools, sizeof (s.pools));
	if (ht_ctx_create(&cfg, &ctx) != 0) {
		fprintf(stderr, "%s:%d: %s\n", s.file, s.pagesizes_line ?
		    s.pagesizes_line : 1, ht_errdetail());
		goto out;
	}
	if (ht_as_create(ctx, 0, &as) != 0) {
		fprintf(stderr, "%s:%d: no frame for the root table in the "
		    "pools (%s)\n", s.file, s.last_line, ht_errdetail());
		goto out;
	}
	if (spec_apply(&s, as, stderr) != 0)
		goto out;

	rc = EXIT_IO;
	if (asprintf(&tmp, "%s.tmpXXXXXX", out) < 0 ||
	    (im.fd = mkstemp(tmp)) < 0) {
		fprintf(stderr, "htable: %s: %s\n", out, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	im.arena = arena;
	(void) ht_ctx_dump_frames(ctx, write_frame, &im);
	if (im.err == 0 && fchmod(im.fd, 0644) != 0)
		im.err = errno;
	if (close(im.fd) != 0 && im.err == 0)
		im.err = errno;
	if (im.err == 0 && rename(tmp, out) != 0)
		im.err = errno;
	if (im.err != 0) {
		fprintf(stderr, "htable: %s: %s\n", out, strerror(im.err));
		(void) unlink(tmp);
		goto out;
	}
	summary(&s, ctx, as, im.frames, json);
	rc = EXIT_OK;
	if (verify) {
		/* the image as written, on a real MMU, against the library */
		verify_opts_t vo = { .mode = s.mode, .cr3 = ht_as_root(as),
		    .cpu.flags = HT_CPU_WP | HT_CPU_NXE };

		(void) fflush(stdout);
		rc = cli_verify(out, &vo, NULL, NULL, 0);
	}
out:
	free(tmp);
	if (as != NULL)
		ht_as_destroy(as);
	if (ctx != NULL)
		(void) ht_ctx_destroy(ctx);
	ht_arena_destroy(arena);
	spec_free(&s);
	return (rc);
}
