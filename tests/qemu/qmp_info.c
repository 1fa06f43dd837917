/*
 * qmp_info.c - run QEMU, wait until its guest has turned paging on and
 * halted, capture the text of HMP monitor commands (`info tlb`,
 * `info mem`, ...) into files, and quit QEMU.  The QEMU agreement test
 * uses it to read what QEMU's own page-table walk prints; it is C so that
 * the test needs nothing beyond a compiler and QEMU.
 *
 *	qmp_info [-t SECONDS] [-w] [-o FILE] -c COMMAND ... -- QEMU ARGS...
 *
 * QEMU is started with its QMP monitor on stdio (two pipes to us), so no
 * socket path is needed and QEMU cannot outlive us: it is killed when we
 * fail and when we die (PR_SET_PDEATHSIG), and always reaped.  Each -c runs
 * one HMP command line through QMP's human-monitor-command.  Its output
 * (the JSON string decoded, with the monitor's "\r\n" turned into "\n")
 * goes to the FILE of the -o before it; a -c without -o must print
 * nothing (pmemsave, for example), or it is an error.  -w first polls
 * `info registers` until CPU 0 shows CR0.PG set and HLT=1.  -t bounds the
 * whole run (default 60 seconds).  Exit status: 0 done, 1 failed (the
 * reason on stderr), 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define	MAXCMDS		64
#define	POLL_MS		20

/* A growable byte buffer; always NUL-terminated once anything is added. */
typedef struct buf {
	char	*p;
	size_t	len;
	size_t	cap;
} buf_t;

typedef struct cmd {
	const char	*line;		/* the HMP command line */
	const char	*out;		/* its file; NULL: prints nothing */
} cmd_t;

/* What one QMP message was. */
typedef enum { MSG_OTHER, MSG_GREETING, MSG_RETURN, MSG_ERROR, MSG_EVENT }
    msg_kind_t;

typedef struct msg {
	msg_kind_t	kind;
	int		ret_is_string;	/* "return" was a string */
	buf_t		text;		/* string, error desc or event */
} msg_t;

/* A JSON reader over one line. */
typedef struct jp {
	const char	*p;
	const char	*end;
} jp_t;

static volatile pid_t qemu_pid = -1;	/* read by on_signal */
static int to_qemu = -1, from_qemu = -1;	/* our ends of the pipes */
static buf_t inbuf;			/* read from QEMU, not yet parsed */
static size_t inbuf_scanned;		/* bytes of inbuf without a '\n' */
static struct timespec deadline;	/* of the whole run */
static int greeted;			/* QEMU's monitor has answered */

/* Kill QEMU if it runs, and reap it.  Safe to call more than once. */
static void
kill_qemu(void)
{
	if (qemu_pid > 0) {
		(void) kill(qemu_pid, SIGKILL);
		while (waitpid(qemu_pid, NULL, 0) < 0 && errno == EINTR)
			;
		qemu_pid = -1;
	}
}

/* Report a failure, kill QEMU, exit 1. */
__attribute__((format(printf, 1, 2), noreturn)) static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("qmp_info: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	kill_qemu();
	exit(1);
}

/*
 * On SIGTERM/SIGINT/SIGHUP (a test timeout): take QEMU down with us and
 * reap it (kill and waitpid are async-signal-safe), then die of sig.
 */
static void
on_signal(int sig)
{
	if (qemu_pid > 0) {
		(void) kill(qemu_pid, SIGKILL);
		(void) waitpid(qemu_pid, NULL, 0);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Append n bytes to b (and keep a NUL after them); exit on no memory. */
static void
buf_add(buf_t *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL)
			die("out of memory");
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append one byte to b. */
static void
buf_addc(buf_t *b, char c)
{
	buf_add(b, &c, 1);
}

/* Milliseconds left until the deadline (0 if it has passed). */
static int
ms_left(void)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline.tv_sec - now.tv_sec) * 1000 +
	    (deadline.tv_nsec - now.tv_nsec) / 1000000;
	return (ms < 0 ? 0 : ms > 1000000 ? 1000000 : (int)ms);
}

/*
 * QEMU closed its end (EOF or EPIPE) while we were waiting for what:
 * reap it and say how it ended.
 */
__attribute__((noreturn)) static void
qemu_gone(const char *what)
{
	int st = 0;

	if (qemu_pid > 0 && waitpid(qemu_pid, &st, 0) == qemu_pid) {
		qemu_pid = -1;
		if (WIFEXITED(st))
			die("QEMU exited with status %d while waiting for %s%s",
			    WEXITSTATUS(st), what, greeted ? " (with "
			    "-no-reboot, a triple fault in the guest ends "
			    "QEMU)" : "");
		die("QEMU died of signal %d while waiting for %s",
		    WTERMSIG(st), what);
	}
	die("QEMU closed the monitor while waiting for %s", what);
}

/* Read one line ('\n' ended) from QEMU into line, by the deadline. */
static void
read_line(buf_t *line, const char *waiting_for)
{
	for (;;) {
		char *nl = inbuf.len > inbuf_scanned ? memchr(inbuf.p +
		    inbuf_scanned, '\n', inbuf.len - inbuf_scanned) : NULL;
		struct pollfd pfd = { .fd = from_qemu, .events = POLLIN };
		char chunk[65536];
		ssize_t n;
		int left, r;

		if (nl != NULL) {
			size_t n1 = (size_t)(nl - inbuf.p) + 1;

			line->len = 0;
			buf_add(line, inbuf.p, n1);
			memmove(inbuf.p, inbuf.p + n1, inbuf.len - n1);
			inbuf.len -= n1;
			inbuf_scanned = 0;
			return;
		}
		inbuf_scanned = inbuf.len;
		if ((left = ms_left()) == 0)
			die("timed out waiting for %s", waiting_for);
		r = poll(&pfd, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("poll: %s", strerror(errno));
		if (r == 0)
			continue;
		n = read(from_qemu, chunk, sizeof (chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("reading from QEMU: %s", strerror(errno));
		if (n == 0)
			qemu_gone(waiting_for);
		buf_add(&inbuf, chunk, (size_t)n);
	}
}

/* Send a whole string to QEMU, for what (named in errors). */
static void
send_str(const char *s, const char *what)
{
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t n = write(to_qemu, s + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EPIPE)
			qemu_gone(what);
		if (n < 0)
			die("writing to QEMU: %s", strerror(errno));
		off += (size_t)n;
	}
}

/* Skip JSON white space. */
static void
jp_ws(jp_t *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

/* The value of hex digit c, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Four hex digits after \u; -1 if they are not there. */
static long
hex4(jp_t *j)
{
	long v = 0;

	if (j->end - j->p < 4)
		return (-1);
	for (int i = 0; i < 4; i++) {
		int h = hexval(j->p[i]);

		if (h < 0)
			return (-1);
		v = v * 16 + h;
	}
	j->p += 4;
	return (v);
}

/* Append code point cp to out as UTF-8. */
static void
put_utf8(buf_t *out, unsigned long cp)
{
	if (cp < 0x80) {
		buf_addc(out, (char)cp);
	} else if (cp < 0x800) {
		buf_addc(out, (char)(0xc0 | (cp >> 6)));
		buf_addc(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_addc(out, (char)(0xe0 | (cp >> 12)));
		buf_addc(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		buf_addc(out, (char)(0xf0 | (cp >> 18)));
		buf_addc(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
		buf_addc(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		buf_addc(out, (char)(0x80 | (cp & 0x3f)));
	}
}

/*
 * A JSON string at j->p (the opening quote); decoded into out when out is
 * not NULL.  Returns 0, or -1 if it is malformed.
 */
static int
jp_string(jp_t *j, buf_t *out)
{
	if (j->p >= j->end || *j->p != '"')
		return (-1);
	j->p++;
	if (out != NULL) {
		out->len = 0;
		buf_add(out, "", 0);
	}
	while (j->p < j->end) {
		char c = *j->p++;
		long cp;

		if (c == '"')
			return (0);
		if (c != '\\') {
			if (out != NULL)
				buf_addc(out, c);
			continue;
		}
		if (j->p >= j->end)
			return (-1);
		c = *j->p++;
		switch (c) {
		case '"': case '\\': case '/': break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			if ((cp = hex4(j)) < 0)
				return (-1);
			/* a surrogate pair is one code point */
			if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 &&
			    j->p[0] == '\\' && j->p[1] == 'u') {
				jp_t k = { j->p + 2, j->end };
				long lo = hex4(&k);

				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
					j->p = k.p;
				}
			}
			if (out != NULL)
				put_utf8(out, (unsigned long)cp);
			continue;
		default:
			return (-1);
		}
		if (out != NULL)
			buf_addc(out, c);
	}
	return (-1);
}

/* Skip one JSON value; 0, or -1 if it is malformed. */
static int
jp_skip(jp_t *j, int depth)
{
	jp_ws(j);
	if (j->p >= j->end || depth > 64)
		return (-1);
	if (*j->p == '"')
		return (jp_string(j, NULL));
	if (*j->p == '{' || *j->p == '[') {
		char close = *j->p == '{' ? '}' : ']';

		j->p++;
		jp_ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return (0);
		}
		for (;;) {
			if (close == '}') {
				jp_ws(j);
				if (jp_string(j, NULL) != 0)
					return (-1);
				jp_ws(j);
				if (j->p >= j->end || *j->p++ != ':')
					return (-1);
			}
			if (jp_skip(j, depth + 1) != 0)
				return (-1);
			jp_ws(j);
			if (j->p >= j->end)
				return (-1);
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p++ != close)
				return (-1);
			return (0);
		}
	}
	/* a number, true, false or null */
	if (*j->p == '\0' || strchr("-0123456789tfn", *j->p) == NULL)
		return (-1);
	while (j->p < j->end && *j->p != '\0' &&
	    strchr("+-.0123456789eEtruefalsn", *j->p) != NULL)
		j->p++;
	return (0);
}

/* In the object at j->p, the string value of key (into out); 0 or -1. */
static int
jp_member_string(jp_t *j, const char *key, buf_t *out)
{
	buf_t k = { 0 };
	int found = -1;

	jp_ws(j);
	if (j->p >= j->end || *j->p != '{')
		return (-1);
	j->p++;
	for (;;) {
		jp_ws(j);
		if (jp_string(j, &k) != 0)
			break;
		jp_ws(j);
		if (j->p >= j->end || *j->p++ != ':')
			break;
		jp_ws(j);
		if (strcmp(k.p, key) == 0 && j->p < j->end && *j->p == '"') {
			if (jp_string(j, out) != 0)
				break;
			found = 0;
		} else if (jp_skip(j, 1) != 0) {
			break;
		}
		jp_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == '}')
			j->p++;
		break;
	}
	free(k.p);
	return (found);
}

/* Classify one QMP message (one line); exits if it is not JSON. */
static void
parse_msg(const buf_t *line, msg_t *m)
{
	jp_t j = { line->p, line->p + line->len };
	buf_t key = { 0 };

	m->kind = MSG_OTHER;
	m->ret_is_string = 0;
	m->text.len = 0;
	buf_add(&m->text, "", 0);
	jp_ws(&j);
	if (j.p >= j.end || *j.p++ != '{')
		die("QEMU sent something that is not a JSON object: %.200s",
		    line->p);
	for (;;) {
		jp_ws(&j);
		if (j.p < j.end && *j.p == '}')
			break;
		if (jp_string(&j, &key) != 0)
			goto bad;
		jp_ws(&j);
		if (j.p >= j.end || *j.p++ != ':')
			goto bad;
		jp_ws(&j);
		if (strcmp(key.p, "QMP") == 0) {
			m->kind = MSG_GREETING;
			if (jp_skip(&j, 1) != 0)
				goto bad;
		} else if (strcmp(key.p, "return") == 0) {
			m->kind = MSG_RETURN;
			if (j.p < j.end && *j.p == '"') {
				m->ret_is_string = 1;
				if (jp_string(&j, &m->text) != 0)
					goto bad;
			} else if (jp_skip(&j, 1) != 0) {
				goto bad;
			}
		} else if (strcmp(key.p, "error") == 0) {
			m->kind = MSG_ERROR;
			if (jp_member_string(&j, "desc", &m->text) != 0)
				goto bad;
		} else if (strcmp(key.p, "event") == 0) {
			m->kind = MSG_EVENT;
			if (jp_string(&j, &m->text) != 0)
				goto bad;
		} else if (jp_skip(&j, 1) != 0) {
			goto bad;
		}
		jp_ws(&j);
		if (j.p < j.end && *j.p == ',') {
			j.p++;
			continue;
		}
		if (j.p < j.end && *j.p == '}')
			break;
		goto bad;
	}
	free(key.p);
	return;
bad:
	die("malformed JSON from QEMU: %.200s", line->p);
}

/*
 * Wait for the reply to the command just sent (events in between are
 * skipped; a guest reset or shutdown is a failure).  Returns the reply,
 * which must be a return, in m.
 */
static void
await_return(msg_t *m, const char *what)
{
	buf_t line = { 0 };

	for (;;) {
		read_line(&line, what);
		parse_msg(&line, m);
		if (m->kind == MSG_EVENT) {
			if (strcmp(m->text.p, "SHUTDOWN") == 0 ||
			    strcmp(m->text.p, "RESET") == 0 ||
			    strcmp(m->text.p, "GUEST_PANICKED") == 0)
				die("the guest stopped (event %s; a triple "
				    "fault?) while waiting for %s", m->text.p,
				    what);
			continue;
		}
		if (m->kind == MSG_ERROR)
			die("QEMU refused %s: %s", what, m->text.p);
		if (m->kind == MSG_RETURN)
			break;
		die("unexpected QMP message while waiting for %s: %.200s",
		    what, line.p);
	}
	free(line.p);
}

/* Append s to b as a JSON string literal. */
static void
json_quote(buf_t *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
		} else if (c < 0x20) {
			snprintf(esc, sizeof (esc), "\\u%04x", c);
			buf_add(b, esc, strlen(esc));
		} else {
			buf_addc(b, (char)c);
		}
	}
	buf_addc(b, '"');
}

/*
 * Run one HMP command line; its output, "\r\n" made "\n", into out.
 * what names the wait in errors (NULL: the command line).
 */
static void
hmp(const char *cmdline, const char *what_arg, buf_t *out)
{
	buf_t req = { 0 };
	msg_t m = { 0 };
	const char *pre = "{\"execute\":\"human-monitor-command\","
	    "\"arguments\":{\"command-line\":";
	char what[256];

	buf_add(&req, pre, strlen(pre));
	json_quote(&req, cmdline);
	buf_add(&req, "}}\n", 3);
	if (what_arg != NULL)
		snprintf(what, sizeof (what), "%s", what_arg);
	else
		snprintf(what, sizeof (what), "'%s'", cmdline);
	send_str(req.p, what);
	await_return(&m, what);
	if (!m.ret_is_string)
		die("%s: the reply is not a string", what);
	out->len = 0;
	buf_add(out, "", 0);
	for (size_t i = 0; i < m.text.len; i++) {
		if (m.text.p[i] == '\r' && i + 1 < m.text.len &&
		    m.text.p[i + 1] == '\n')
			continue;
		buf_addc(out, m.text.p[i]);
	}
	free(req.p);
	free(m.text.p);
}

/*
 * Whether `info registers` text r shows CPU 0 halted with paging on:
 * "HLT=1" and bit 31 of "CR0=".
 */
static int
halted_with_paging(const char *r)
{
	const char *cr0 = strstr(r, "CR0=");
	unsigned long v;

	if (strstr(r, " HLT=1") == NULL || cr0 == NULL)
		return (0);
	v = strtoul(cr0 + 4, NULL, 16);
	return ((v & 0x80000000ul) != 0);
}

static void
usage(void)
{
	fprintf(stderr, "usage: qmp_info [-t SECONDS] [-w] [-o FILE] -c "
	    "COMMAND ... -- QEMU ARGS...\n");
	exit(2);
}

/* Start QEMU (argv) with its QMP monitor on pipes to us. */
static void
start_qemu(char **argv, int argc)
{
	int in[2], out[2];
	char **av = calloc((size_t)argc + 5, sizeof (char *));
	pid_t parent = getpid();

	if (av == NULL)
		die("out of memory");
	for (int i = 0; i < argc; i++)
		av[i] = argv[i];
	av[argc] = "-chardev";
	av[argc + 1] = "stdio,id=qmpinfo,signal=off";
	av[argc + 2] = "-mon";
	av[argc + 3] = "chardev=qmpinfo,mode=control";
	av[argc + 4] = NULL;
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	if ((qemu_pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (qemu_pid == 0) {
		/* QEMU dies with us, even if we are killed outright */
		(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		execvp(av[0], av);
		fprintf(stderr, "qmp_info: cannot run %s: %s\n", av[0],
		    strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	to_qemu = in[1];
	from_qemu = out[0];
	free(av);
}

/* Send quit and wait (by the deadline) for QEMU to exit; then reap. */
static void
quit_qemu(void)
{
	int st;

	send_str("{\"execute\":\"quit\"}\n", "quit");
	close(to_qemu);
	to_qemu = -1;
	for (;;) {
		pid_t r = waitpid(qemu_pid, &st, WNOHANG);

		if (r == qemu_pid)
			break;
		if (r < 0 && errno != EINTR)
			die("waitpid: %s", strerror(errno));
		if (ms_left() == 0)
			die("QEMU did not exit after quit");
		usleep(POLL_MS * 1000);
	}
	qemu_pid = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("QEMU ended badly after quit (status 0x%x)", st);
}

int
main(int argc, char **argv)
{
	cmd_t cmds[MAXCMDS];
	int ncmds = 0, wait_halt = 0, i;
	long timeout = 60;
	const char *out = NULL;
	buf_t text = { 0 }, line = { 0 };
	msg_t m = { 0 };

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		char *end;

		if (strcmp(argv[i], "-w") == 0) {
			wait_halt = 1;
		} else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			timeout = strtol(argv[++i], &end, 10);
			if (*end != '\0' || timeout <= 0)
				usage();
		} else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			out = argv[++i];
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			if (ncmds == MAXCMDS)
				usage();
			cmds[ncmds].line = argv[++i];
			cmds[ncmds++].out = out;
			out = NULL;
		} else {
			usage();
		}
	}
	if (i + 1 >= argc || out != NULL)
		usage();

	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout;

	start_qemu(argv + i + 1, argc - i - 1);
	read_line(&line, "the QMP greeting");
	parse_msg(&line, &m);
	if (m.kind != MSG_GREETING)
		die("no QMP greeting: %.200s", line.p);
	send_str("{\"execute\":\"qmp_capabilities\"}\n", "qmp_capabilities");
	await_return(&m, "qmp_capabilities");
	greeted = 1;

	if (wait_halt) {
		for (;;) {
			hmp("info registers", "the guest to halt with paging "
			    "on ('info registers')", &text);
			if (halted_with_paging(text.p))
				break;
			if (ms_left() == 0) {
				fprintf(stderr, "%s", text.p);
				die("timed out: the guest never halted with "
				    "paging on (registers above)");
			}
			usleep(POLL_MS * 1000);
		}
	}

	for (int c = 0; c < ncmds; c++) {
		FILE *f;

		hmp(cmds[c].line, NULL, &text);
		if (cmds[c].out == NULL) {
			if (text.len != 0)
				die("'%s' failed: %s", cmds[c].line, text.p);
			continue;
		}
		if ((f = fopen(cmds[c].out, "w")) == NULL)
			die("%s: %s", cmds[c].out, strerror(errno));
		if (fwrite(text.p, 1, text.len, f) != text.len ||
		    fclose(f) != 0)
			die("%s: write failed", cmds[c].out);
	}
	quit_qemu();
	free(text.p);
	free(line.p);
	free(m.text.p);
	free(inbuf.p);
	return (0);
}
