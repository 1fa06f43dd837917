/*
 * cmd_build.c - `htable build SPEC -o IMAGE [--json] [--verify [--engine
 * E] [--cpu FLAGS]]`: build the page tables a layout file describes and
 * write them as a raw physical image (byte offset = physical address;
 * unwritten ranges are holes).  The image is written to a temporary file
 * and renamed, so that no image exists after any error.
 *
 * A spec of one space (no `space` or `cpu` statement) prints the summary
 * it always printed, ending "mode=MODE cr3=0xHEX".  A spec with spaces
 * or CPU roots prints one part per space (its tables and leaves, and the
 * regions it shares in), one line per CPU root (what it runs after its
 * last switch), the frames, then one line "root NAME cr3=0xHEX" per root
 * a CPU could load (world.c: each space with a root frame of its own,
 * each CPU root's cr3 and, with KPTI, its user root as "cpuN.user"),
 * and last "mode=MODE roots=N".  Those lines are what `dump`,
 * `translate` and `verify --roots` read.  --verify then verifies every
 * root, each held to the spec's model of what it shows (world.c), and
 * a guest's tables as a guest job (verify_guest).
 *
 * EPT.  Every root's value is the EPTP (spec_cr3), and the "mode=" line
 * ends with " ept=FLAGS", the flags of the `ept` statement: the image,
 * a raw physical image, has no room for them, and `dump --roots` needs
 * them to read the tables as they were built.
 *
 * A guest (`guest MODE`, in a hypervisor's mode): after the host's
 * tables, the guest's are built in a context of their own (guest.c) and
 * written where the host maps their guest-physical pages.  The summary
 * then ends with three lines of the guest's, "guest tables per level
 * ...; leaves: ...", "guest frames: N in [GPA, GPA)..." and
 * "guest mode=MODE cr3=0xHEX" (the guest's CR3, guest-physical; with
 * " host=NAME" when the host has named roots: the root of the host
 * space that maps the guest), which `translate --nested --roots` reads;
 * the JSON has a "guest" object before "pools".
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


/* The pools as the JSON summaries end: "pools":[...]} and a newline. */
static void
print_pools_json(const spec_t *s)
{
	printf("\"pools\":[");
	for (int i = 0; i < s->npools; i++)
		printf("%s{\"base\":\"0x%" PRIx64 "\",\"len\":\"0x%" PRIx64
		    "\"}", i ? "," : "", s->pools[i].base, s->pools[i].len);
	printf("]}\n");
}
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

/* spec_guest_write's function: a guest table at host-physical hpa. */
static void
write_guest(void *arg, uint64_t hpa, const void *bytes)
{
	struct img *im = arg;

	if (im->err == 0 && pwrite(im->fd, bytes, HT_PAGE_SIZE, (off_t)hpa) !=
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

/* EPT: the flags as a JSON member and a comma; else nothing. */
static void
ept_json(const spec_t *s)
{
	if (spec_mode_ept(s->mode))
		printf("\"ept\":{\"ad\":%s,\"mbec\":%s,\"xonly\":%s},",
		    (s->ept & HT_EPT_AD) ? "true" : "false",
		    (s->ept & HT_EPT_MBEC) ? "true" : "false",
		    (s->ept & HT_EPT_XONLY) ? "true" : "false");
}

/* EPT: " ept=FLAGS" at the end of the "mode=" line; else nothing. */
static void
ept_text(const spec_t *s)
{
	char w[32];

	if (spec_mode_ept(s->mode))
		printf(" ept=%s", cli_ept_words(s->ept, w, sizeof (w)));
}

static void guest_summary(const spec_t *s, const spec_guest_t *gst,
    int json);

/* The summary of a spec of one space (the file's comment). */
static void
summary(const spec_t *s, ht_ctx_t *ctx, ht_as_t *as, uint64_t frames,
    const spec_guest_t *gst, int json)
{
	const ht_geometry_t *g = ht_ctx_geometry(ctx);
	ht_stats_t st;

	ht_as_stats(as, &st);
	if (json) {
		printf("{\"mode\":\"%s\",\"cr3\":\"0x%" PRIx64 "\",",
		    ht_mode_name(s->mode), spec_cr3(s, ht_as_root(as)));
		ept_json(s);
		printf("\"tables\":{");
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
		printf("},\"frames\":%" PRIu64 ",", frames);
		if (gst != NULL)
			guest_summary(s, gst, 1);
		print_pools_json(s);
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
	printf("\nmode=%s cr3=0x%" PRIx64, ht_mode_name(s->mode),
	    spec_cr3(s, ht_as_root(as)));
	ept_text(s);
	putchar('\n');
	if (gst != NULL)
		guest_summary(s, gst, 0);
}

/* The "L3=1 L2=2 ..." and leaves parts of a space's counts. */
static void
counts_text(const ht_geometry_t *g, const ht_stats_t *st)
{
	printf("tables per level (root first):");
	for (int l = (int)g->levels - 1; l >= 0; l--)
		printf(" L%d=%" PRIu64, l, st->tables[l]);
	printf("; leaves:");
	for (unsigned l = 0; l < g->levels; l++) {
		const char *nm;

		if (g->pagesizes & ps_of(g->level_shift[l], &nm))
			printf(" %" PRIu64 " x %s", st->leaves[l], nm);
	}
}

static void
counts_json(const ht_geometry_t *g, const ht_stats_t *st)
{
	printf("\"tables\":{");
	for (unsigned l = 0; l < g->levels; l++)
		printf("%s\"%u\":%" PRIu64, l ? "," : "", l, st->tables[l]);
	printf("},\"leaves\":{");
	for (unsigned l = 0, n = 0; l < g->levels; l++) {
		const char *nm;

		if (g->pagesizes & ps_of(g->level_shift[l], &nm))
			printf("%s\"%s\":%" PRIu64, n++ ? "," : "", nm,
			    st->leaves[l]);
	}
	printf("}");
}

/* The guest's pools: " [GPA, GPA)" each, or as a JSON array. */
static void
guest_pools(const spec_t *gs, int json)
{
	for (int i = 0; i < gs->npools; i++)
		printf(json ? "%s{\"base\":\"0x%" PRIx64 "\",\"len\":\"0x%"
		    PRIx64 "\"}" : "%s[0x%" PRIx64 ", 0x%" PRIx64 ")",
		    json ? (i ? "," : "") : " ", gs->pools[i].base, json ?
		    gs->pools[i].len : gs->pools[i].base + gs->pools[i].len);
}

/*
 * The guest's part of the summary (the file's comment): its lines after
 * the host's, or in JSON its object and a comma.
 */
static void
guest_summary(const spec_t *s, const spec_guest_t *gst, int json)
{
	const spec_t *gs = s->guest;
	const ht_geometry_t *g = ht_ctx_geometry(gst->ctx);
	const char *host = s->spaces[s->guest_space].name;
	ht_stats_t st;

	ht_as_stats(gst->w.as[0], &st);
	if (json) {
		printf("\"guest\":{\"mode\":\"%s\",\"cr3\":\"0x%" PRIx64
		    "\",\"host\":\"%s\",", ht_mode_name(gs->mode),
		    spec_guest_cr3(gst), host);
		counts_json(g, &st);
		printf(",\"frames\":%" PRIu64 ",\"pools\":[", gst->frames);
		guest_pools(gs, 1);
		printf("]},");
		return;
	}
	printf("guest ");
	counts_text(g, &st);
	printf("\nguest frames: %" PRIu64 " in", gst->frames);
	guest_pools(gs, 0);
	printf("\nguest mode=%s cr3=0x%" PRIx64, ht_mode_name(gs->mode),
	    spec_guest_cr3(gst));
	if (s->multi)
		printf(" host=%s", host);
	putchar('\n');
}

/* The name of space i, or of none (-1). */
static const char *
space_name(const spec_t *s, int i)
{
	return (i >= 0 ? s->spaces[i].name : "none");
}

/* A JSON string of space i's name, or null. */
static void
json_space(const spec_t *s, int i)
{
	if (i >= 0)
		printf("\"%s\"", s->spaces[i].name);
	else
		printf("null");
}

/*
 * The summary of a spec with spaces or CPU roots (the file's comment
 * says what it holds).
 */
static void
summary_multi(const spec_t *s, const spec_world_t *w, const spec_root_t *roots,
    int nroots, uint64_t frames, const spec_guest_t *gst, int json)
{
	const ht_geometry_t *g = ht_ctx_geometry(w->ctx);

	if (json) {
		printf("{\"mode\":\"%s\",", ht_mode_name(s->mode));
		ept_json(s);
		printf("\"kpti\":%s,\"spaces\":[", s->kpti ? "true" :
		    "false");
	}
	for (int i = 0; i < s->nspaces; i++) {
		const spec_space_t *sp = &s->spaces[i];
		ht_stats_t st;
		int nr = 0;

		ht_as_stats(w->as[i], &st);
		if (json) {
			printf("%s{\"name\":\"%s\",\"copied\":%s,", i ? "," :
			    "", sp->name, sp->copied ? "true" : "false");
			if (sp->pcid >= 0)
				printf("\"pcid\":%d,", sp->pcid);
			if (sp->copied)
				printf("\"cr3\":null,");
			else
				printf("\"cr3\":\"0x%" PRIx64 "\",",
				    spec_cr3(s, ht_as_root(w->as[i]) |
				    (sp->pcid > 0 ? (uint64_t)sp->pcid : 0)));
			counts_json(g, &st);
			printf(",\"shares\":[");
		} else {
			printf("space %s", sp->name);
			if (sp->copied || sp->pcid >= 0)
				printf(" (%s%s", sp->copied ? "copied" : "",
				    sp->copied && sp->pcid >= 0 ? ", " : "");
			if (sp->pcid >= 0)
				printf("pcid %d", sp->pcid);
			printf("%s: ", sp->copied || sp->pcid >= 0 ? ")" : "");
			counts_text(g, &st);
			putchar('\n');
		}
		for (int k = 0; k < w->nregions; k++) {
			const spec_region_t *r = &w->regions[k];

			if (r->space != i)
				continue;
			if (json) {
				printf("%s{\"va\":\"0x%" PRIx64 "\",\"len\":"
				    "\"0x%" PRIx64 "\",\"from\":\"%s\","
				    "\"src_va\":\"0x%" PRIx64 "\",\"tables\":"
				    "%" PRIu64 ",\"table_bytes\":\"0x%" PRIx64
				    "\",\"copied\":%" PRIu64 ",\"copied_bytes"
				    "\":\"0x%" PRIx64 "\",\"live\":%s}",
				    nr ? "," : "", r->va, r->len,
				    s->spaces[r->src].name, r->src_va,
				    r->info.tables, r->info.table_bytes,
				    r->info.copied, r->info.copied_bytes,
				    r->live ? "true" : "false");
			} else {
				printf("  shares [0x%" PRIx64 ", +0x%" PRIx64
				    ") from %s 0x%" PRIx64 ": %" PRIu64
				    " table%s linked (0x%" PRIx64 " bytes), %"
				    PRIu64 " lea%s copied (0x%" PRIx64
				    " bytes)%s\n", r->va, r->len,
				    s->spaces[r->src].name, r->src_va,
				    r->info.tables,
				    r->info.tables == 1 ? "" : "s",
				    r->info.table_bytes, r->info.copied,
				    r->info.copied == 1 ? "f" : "ves",
				    r->info.copied_bytes,
				    r->live ? "" : "; ended by unshare");
			}
			nr++;
		}
		if (json)
			printf("]}");
	}
	if (json)
		printf("],\"cpus\":[");
	for (int i = 0; i < s->ncpus; i++) {
		const spec_cpu_t *c = &s->cpus[i];

		if (json) {
			printf("%s{\"id\":%u,\"kernel\":", i ? "," : "",
			    c->id);
			json_space(s, c->kernel);
			printf(",\"kpti\":");
			json_space(s, c->kpti);
			printf(",\"runs\":");
			json_space(s, w->runs[i]);
			printf(",\"switches\":%d,\"flush\":%s,\"cr3\":\"0x%"
			    PRIx64 "\",\"user_cr3\":\"0x%" PRIx64 "\"}",
			    w->nswitch[i], w->sw[i].flush ? "true" : "false",
			    spec_cr3(s, w->sw[i].cr3),
			    spec_cr3(s, w->sw[i].user_cr3));
			continue;
		}
		printf("cpu %u: kernel %s", c->id, space_name(s, c->kernel));
		if (s->kpti)
			printf(", kpti %s", space_name(s, c->kpti));
		if (w->nswitch[i] == 0)
			printf("; never switched\n");
		else
			printf("; runs %s after %d switch%s (flush=%d)\n",
			    space_name(s, w->runs[i]), w->nswitch[i],
			    w->nswitch[i] == 1 ? "" : "es", w->sw[i].flush);
	}
	if (json) {
		printf("],\"roots\":[");
		for (int i = 0; i < nroots; i++)
			printf("%s{\"name\":\"%s\",\"cr3\":\"0x%" PRIx64
			    "\"}", i ? "," : "", roots[i].name, roots[i].cr3);
		printf("],\"frames\":%" PRIu64 ",", frames);
		if (gst != NULL)
			guest_summary(s, gst, 1);
		print_pools_json(s);
		return;
	}
	printf("frames: %" PRIu64 " in", frames);
	for (int i = 0; i < s->npools; i++)
		printf(" [0x%" PRIx64 ", 0x%" PRIx64 ")", s->pools[i].base,
		    s->pools[i].base + s->pools[i].len);
	putchar('\n');
	for (int i = 0; i < nroots; i++)
		printf("root %s cr3=0x%" PRIx64 "\n", roots[i].name,
		    roots[i].cr3);
	printf("mode=%s roots=%d", ht_mode_name(s->mode), nroots);
	ept_text(s);
	putchar('\n');
	if (gst != NULL)
		guest_summary(s, gst, 0);
}

/* What the model of one root needs. */
typedef struct model_arg {
	const spec_t	*s;
	const spec_world_t *w;
	const spec_root_t *root;
} model_arg_t;

/* verify_model_fn over spec_model. */
static int
build_model(void *arg, const ht_cpu_t *cpu, const probe_t *p,
    ht_access_t *r_acc, const char **r_what, uint64_t *r_va)
{
	const model_arg_t *m = arg;
	int rc = spec_model(m->s, m->w, m->root, cpu, p->va, (unsigned)p->op,
	    p->cpl, r_acc, r_what, r_va);

	if (rc < 0)
		return (rc);
	return (rc == SPEC_MODEL_ACCESS ? VERIFY_MODEL_ACCESS :
	    VERIFY_MODEL_UNMAPPED);
}

/*
 * The library's own checks of what it built: every space (ht_audit) and
 * every CPU root (ht_cpu_root_audit).  0, or EXIT_DISAGREE after saying
 * which failed.
 */
static int
audit_world(const spec_t *s, const spec_world_t *w)
{
	int rc = EXIT_OK;

	for (int i = 0; i < s->nspaces; i++) {
		if (ht_audit(w->as[i]) != 0) {
			printf("DISAGREE audit of space %s: %s\n",
			    s->spaces[i].name, ht_errdetail());
			rc = EXIT_DISAGREE;
		}
	}
	for (int i = 0; i < s->ncpus; i++) {
		if (ht_cpu_root_audit(w->cr[i]) != 0) {
			printf("DISAGREE audit of cpu %u: %s\n", s->cpus[i].id,
			    ht_errdetail());
			rc = EXIT_DISAGREE;
		}
	}
	return (rc);
}

/*
 * build --verify of a spec with spaces or CPU roots: the library's
 * audits, then every root on a real MMU, each held to its model.
 */
static int
verify_world(const char *out, const spec_t *s, const spec_world_t *w,
    const spec_root_t *roots, int nroots, const verify_opts_t *vo,
    const engine_ops_t *e)
{
	cli_root_t *cr = calloc((size_t)nroots + 1, sizeof (*cr));
	model_arg_t *ma = calloc((size_t)nroots + 1, sizeof (*ma));
	int rc, arc;

	if (cr == NULL || ma == NULL) {
		free(cr);
		free(ma);
		fprintf(stderr, "htable build: out of memory\n");
		return (EXIT_IO);
	}
	for (int i = 0; i < nroots; i++) {
		(void) snprintf(cr[i].name, sizeof (cr[i].name), "%s",
		    roots[i].name);
		cr[i].cr3 = roots[i].cr3;
		ma[i].s = s;
		ma[i].w = w;
		ma[i].root = &roots[i];
		cr[i].model = build_model;
		cr[i].model_arg = &ma[i];
	}
	arc = audit_world(s, w);
	rc = cli_verify_roots(out, vo, cr, nroots, e, NULL, 0);
	free(cr);
	free(ma);
	return (arc != EXIT_OK && rc != EXIT_DISAGREE ? arc : rc);
}

/*
 * build --verify of a spec with a guest, after the host's roots: the
 * guest's own tables as a guest job (`verify --guest-mode`): each probe
 * a linear address of the guest, through the guest's walk, with every
 * guest-physical address it touches taken through the host space that
 * maps the guest, on the CPU of --cpu.  It is held to the library's
 * nested prediction; the spec's model speaks of the host's mappings
 * only.  A header "guest mode=M cr3=0xG host cr3=0xH" comes before its
 * report.  Returns the worse of rc (the host's status) and the guest's.
 */
static int
verify_guest(const char *out, const spec_t *s, const spec_world_t *w,
    const spec_guest_t *gst, const verify_opts_t *host,
    const engine_ops_t *e, int rc)
{
	verify_opts_t vo = *host;

	vo.cr3 = spec_cr3(s, ht_as_root(w->as[s->guest_space]));
	vo.model = NULL;
	vo.model_arg = NULL;
	vo.guest = 1;
	vo.guest_mode = s->guest->mode;
	vo.guest_cr3 = spec_guest_cr3(gst);
	printf("guest mode=%s cr3=0x%" PRIx64 " host cr3=0x%" PRIx64 "\n",
	    ht_mode_name(vo.guest_mode), vo.guest_cr3, vo.cr3);
	(void) fflush(stdout);
	return (cli_verify_worst(rc, cli_verify(out, &vo, e, NULL, 0)));
}

int
cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "verify", no_argument, NULL, 'V' },
		{ "engine", required_argument, NULL, 'e' },
		{ "cpu", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	int json = 0, verify = 0, vopt = 0, c, rc = EXIT_INPUT, nroots = 0;
	const engine_ops_t *engine = NULL;
	ht_cpu_t cpu = { HT_CPU_WP | HT_CPU_NXE, 0, 0 };
	spec_t s;
	spec_world_t w;
	spec_root_t *roots = NULL;
	ht_arena_t *arena = NULL;
	ht_ctx_t *ctx = NULL;
	char *tmp = NULL;
	struct img im = { 0 };
	spec_guest_t gst;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'j': json = 1; break;
		case 'V': verify = 1; break;
		case 'e':
			if (cli_parse_engine("build", optarg, &engine) != 0)
				return (EXIT_INPUT);
			vopt = 1;
			break;
		case 'u':
			if (cli_parse_cpu(optarg, &cpu) != 0) {
				fprintf(stderr, "htable build: --cpu '%s': "
				    "flags are wp nxe smep smap ac pke pkru=N "
				    "pa-bits=N none\n", optarg);
				return (EXIT_INPUT);
			}
			vopt = 1;
			break;
		case 'h': usage_build(stdout); return (EXIT_OK);
		default: usage_build(stderr); return (EXIT_INPUT);
		}
	}
	if (optind != argc - 1 || out == NULL) {
		usage_build(stderr);
		return (EXIT_INPUT);
	}
	if (vopt && !verify) {
		fprintf(stderr, "htable build: --engine and --cpu go with "
		    "--verify\n");
		return (EXIT_INPUT);
	}
	if (spec_parse(argv[optind], &s, stderr) != 0)
		return (EXIT_INPUT);
	memset(&w, 0, sizeof (w));
	memset(&gst, 0, sizeof (gst));

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
	    .npools = (unsigned)s.npools, .kpti = s.kpti, .ept = s.ept };
	memcpy(cfg.pools, s.pools, sizeof (s.pools));
	if (ht_ctx_create(&cfg, &ctx) != 0) {
		fprintf(stderr, "%s:%d: %s\n", s.file, s.pagesizes_line ?
		    s.pagesizes_line : 1, ht_errdetail());
		goto out;
	}
	if (spec_run(&s, ctx, NULL, &w, stderr) != 0)
		goto out;
	/* the guest's tables, where the host maps their memory */
	if (s.guest != NULL && spec_guest_build(&s, &w, &gst, stderr) != 0)
		goto out;
	if (s.multi && spec_roots(&s, &w, &roots, &nroots) != 0) {
		fprintf(stderr, "htable build: out of memory\n");
		rc = EXIT_IO;
		goto out;
	}

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
	if (s.guest != NULL)
		spec_guest_write(&gst, write_guest, &im);
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
	if (s.multi)
		summary_multi(&s, &w, roots, nroots, im.frames,
		    s.guest != NULL ? &gst : NULL, json);
	else
		summary(&s, ctx, w.as[0], im.frames,
		    s.guest != NULL ? &gst : NULL, json);
	rc = EXIT_OK;
	if (verify) {
		/* the image as written, on a real MMU, against the library */
		verify_opts_t vo = { .mode = s.mode, .cpu = cpu,
		    .scan_flags = ((s.ept & HT_EPT_MBEC) ? HT_SCAN_EPT_MBEC :
		    0) | ((s.ept & HT_EPT_XONLY) ? HT_SCAN_EPT_XONLY : 0) };

		(void) fflush(stdout);
		if (s.multi) {
			rc = verify_world(out, &s, &w, roots, nroots, &vo,
			    engine);
		} else {
			vo.cr3 = spec_cr3(&s, ht_as_root(w.as[0]));
			rc = cli_verify(out, &vo, engine, NULL, 0);
		}
		if (s.guest != NULL && rc != EXIT_INPUT && rc != EXIT_IO)
			rc = verify_guest(out, &s, &w, &gst, &vo, engine, rc);
	}
out:
	free(tmp);
	free(roots);
	spec_guest_free(&gst);
	spec_world_free(&w);
	if (ctx != NULL)
		(void) ht_ctx_destroy(ctx);
	ht_arena_destroy(arena);
	spec_free(&s);
	return (rc);
}
