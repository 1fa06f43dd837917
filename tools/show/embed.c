/*
 * embed.c - a build step of `htable show`: make one C file of the page
 * (page.html with show.css and show.js put in its place), cut in two at
 * the place where the command writes the pictures' data.
 *
 *   embed page.html show.css show.js show_page.c
 *
 * page.html holds "<!--STYLE-->", "<!--DATA-->" and "<!--SCRIPT-->" once
 * each, in that order, inside the elements they fill; the result defines
 * the page in six strings: show_page_head, show_page_style (show.css),
 * show_page_mid, then (where the command writes the data)
 * show_page_pre_script, show_page_script (show.js), show_page_end.  A missing
 * mark, an unreadable file or a failed write is a message and status 1:
 * the build stops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole of file path, NUL-terminated, or NULL after a message. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		perror(path);
		return (NULL);
	}
	do {
		if (cap - len < 4096) {
			char *b = realloc(buf, cap = cap * 2 + 65536);

			if (b == NULL) {
				fprintf(stderr, "embed: out of memory\n");
				free(buf);
				(void) fclose(f);
				return (NULL);
			}
			buf = b;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n != 0);
	if (ferror(f)) {
		perror(path);
		free(buf);
		buf = NULL;
	} else
		buf[len] = '\0';
	(void) fclose(f);
	return (buf);
}

/* Write [s, e) as the C string literal lines of a definition. */
static void
literal(FILE *out, const char *name, const char *s, const char *e)
{
	fprintf(out, "const char %s[] =\n\"", name);
	for (; s < e; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			fputs("\\n\"\n\"", out);
		else if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			/* octal: no hex digit after it can extend it */
			fprintf(out, "\\%03o", c);
		else if (c == '?' && s + 1 < e && s[1] == '?')
			fputs("?\"\"", out);	/* no trigraph */
		else
			fputc(c, out);
	}
	fputs("\";\n", out);
}

/* The one place of mark in page, or NULL after a message. */
static char *
mark(char *page, const char *m)
{
	char *p = strstr(page, m);

	if (p == NULL || strstr(p + 1, m) != NULL) {
		fprintf(stderr, "embed: page.html must hold %s once\n", m);
		return (NULL);
	}
	return (p);
}

int
main(int argc, char **argv)
{
	char *page = NULL, *css = NULL, *js = NULL, *st, *sc, *da;
	FILE *out = NULL;
	int rc = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: embed page.html show.css show.js "
		    "out.c\n");
		return (1);
	}
	if ((page = slurp(argv[1])) == NULL || (css = slurp(argv[2])) ==
	    NULL || (js = slurp(argv[3])) == NULL)
		goto done;
	if ((st = mark(page, "<!--STYLE-->")) == NULL ||
	    (sc = mark(page, "<!--SCRIPT-->")) == NULL ||
	    (da = mark(page, "<!--DATA-->")) == NULL)
		goto done;
	if (!(st < da && da < sc)) {
		fprintf(stderr, "embed: page.html must hold STYLE, DATA and "
		    "SCRIPT in that order\n");
		goto done;
	}
	if (strstr(css, "</style") != NULL || strstr(js, "</script") != NULL) {
		fprintf(stderr, "embed: show.css or show.js closes its own "
		    "element\n");
		goto done;
	}
	if ((out = fopen(argv[4], "w")) == NULL) {
		perror(argv[4]);
		goto done;
	}
	fputs("/* Made by tools/show/embed.c from page.html, show.css and "
	    "show.js. */\n", out);
	fprintf(out, "extern const char show_page_head[], show_page_style[], "
	    "show_page_mid[],\n    show_page_pre_script[], show_page_script[], "
	    "show_page_end[];\n");
	literal(out, "show_page_head", page, st);
	literal(out, "show_page_style", css, css + strlen(css));
	literal(out, "show_page_mid", st + strlen("<!--STYLE-->"), da);
	literal(out, "show_page_script", js, js + strlen(js));
	literal(out, "show_page_pre_script", da + strlen("<!--DATA-->"), sc);
	literal(out, "show_page_end", sc + strlen("<!--SCRIPT-->"),
	    sc + strlen(sc));
	if (fclose(out) != 0) {
		out = NULL;
		perror(argv[4]);
		goto done;
	}
	out = NULL;
	rc = 0;
done:
	if (out != NULL)
		(void) fclose(out);
	free(page);
	free(css);
	free(js);
	return (rc);
}
