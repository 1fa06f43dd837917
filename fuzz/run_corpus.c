/*
 * run_corpus.c - replay fuzz inputs without libFuzzer.
 *
 * A plain main() that feeds every file named on the command line, or found
 * (not recursively) in a directory named there, to LLVMFuzzerTestOneInput.
 * It is linked with fuzz_scan.c into a test of the integration suite, so
 * the checked-in seed corpus (fuzz/corpus/) runs in every build, with
 * whatever sanitizers that build has, and crashes found by the fuzzer can
 * be replayed with any compiler.  A broken promise abort()s in the target;
 * an input that cannot be read, or no input at all, fails the run.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read the file at path and run it; 0, or -1 (message printed). */
static int
run_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (fp == NULL) {
		perror(path);
		return (-1);
	}
	if (fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		perror(path);
		(void) fclose(fp);
		return (-1);
	}
	/* one byte more so that an empty file still has a buffer */
	if ((buf = malloc((size_t)len + 1)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		(void) fclose(fp);
		return (-1);
	}
	if (fread(buf, 1, (size_t)len, fp) != (size_t)len) {
		fprintf(stderr, "%s: short read\n", path);
		free(buf);
		(void) fclose(fp);
		return (-1);
	}
	(void) fclose(fp);
	(void) LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return (0);
}

/* Run every regular file in dir; the number run, or -1. */
static long
run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	long n = 0;

	if (d == NULL) {
		perror(dir);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof (path), "%s/%s", dir,
		    de->d_name) >= (int)sizeof (path)) {
			fprintf(stderr, "%s/%s: path too long\n", dir,
			    de->d_name);
			n = -1;
			break;
		}
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (run_file(path) != 0) {
			n = -1;
			break;
		}
		n++;
	}
	(void) closedir(d);
	return (n);
}

int
main(int argc, char **argv)
{
	long total = 0;

	for (int i = 1; i < argc; i++) {
		struct stat sb;
		long n;

		if (stat(argv[i], &sb) != 0) {
			perror(argv[i]);
			return (1);
		}
		n = S_ISDIR(sb.st_mode) ? run_dir(argv[i]) :
		    run_file(argv[i]) == 0 ? 1 : -1;
		if (n < 0)
			return (1);
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "usage: %s file|dir ... (no input run)\n",
		    argv[0]);
		return (1);
	}
	printf("%ld inputs run\n", total);
	return (0);
}
