/*
 * engine_util.c - the emulator engines' shared helpers (engine_util.h):
 * the job's note, finding the emulator on PATH, and running it bounded
 * in time.  No state of its own; nothing here knows an emulator.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine_util.h"

extern char **environ;

void
enote(engine_job_t *job, const char *fmt, ...)
{
	va_list ap;

	if (job->note[0] != '\0')
		return;
	va_start(ap, fmt);
	(void) vsnprintf(job->note, sizeof (job->note), fmt, ap);
	va_end(ap);
}

int
efind_on_path(const char *prog, char *out, size_t outlen)
{
	const char *path = getenv("PATH");

	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path != '\0') {
		const char *end = strchr(path, ':');
		size_t len = end != NULL ? (size_t)(end - path) : strlen(path);
		struct stat sb;
		int n;

		n = len == 0 ? snprintf(out, outlen, "./%s", prog) :
		    snprintf(out, outlen, "%.*s/%s", (int)len, path, prog);
		/*
		 * A directory of the same name is no program (Debian's
		 * /usr/lib/x86_64-linux-gnu/bochs holds Bochs's plugins, and
		 * meson puts that directory on a test's PATH when a test
		 * links a library from it).
		 */
		if (n > 0 && (size_t)n < outlen && access(out, X_OK) == 0 &&
		    stat(out, &sb) == 0 && S_ISREG(sb.st_mode))
			return (0);
		if (end == NULL)
			break;
		path = end + 1;
	}
	return (-1);
}

/* Milliseconds from a to b.  Errors: none. */
static long
ms_between(const struct timespec *a, const struct timespec *b)
{
	return ((long)(b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / 1000000);
}

int
erun_bounded(char *const argv[], char *const envp[], const char *out,
    const char *err, long ms)
{
	struct timespec start, now, nap = { 0, 2000000 };
	pid_t pid;
	int st;

	(void) clock_gettime(CLOCK_MONOTONIC, &start);
	if ((pid = fork()) < 0)
		return (-1);
	if (pid == 0) {
		/* the child: only async-signal-safe calls until exec */
		int in = open("/dev/null", O_RDONLY);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = err != NULL ? open(err, O_WRONLY | O_CREAT | O_TRUNC,
		    0600) : o;

		(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
		(void) setsid();
		if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 ||
		    dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		execve(argv[0], argv, envp != NULL ? envp : environ);
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			(void) kill(pid, SIGKILL);
			return (-1);
		}
		(void) clock_gettime(CLOCK_MONOTONIC, &now);
		if (ms_between(&start, &now) > ms) {
			(void) kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			return (-2);
		}
		(void) nanosleep(&nap, NULL);
	}
	if (WIFEXITED(st))
		return (WEXITSTATUS(st));
	return (-3);
}
