/*
 * engine.c - the list of engines.  Its order is the preference of an
 * automatic choice: KVM first (a real CPU's MMU, where it runs the mode),
 * then QEMU's TCG (every x86 mode and nested paging, on any machine with
 * QEMU), then Bochs (EPT, and nested paging where QEMU is absent).  A
 * new engine is a file with its engine_ops_t and a line here.
 */
#include <string.h>
#include <sys/mman.h>

#include "engine.h"

const engine_ops_t *const engine_list[] = {
	&engine_kvm_ops,
	&engine_qemu_ops,
	&engine_bochs_ops,
	NULL
};

const engine_ops_t *
engine_find(const char *name)
{
	for (size_t i = 0; engine_list[i] != NULL; i++)
		if (strcmp(engine_list[i]->name, name) == 0)
			return (engine_list[i]);
	return (NULL);
}

/* The bytes of a job's mem_after: whole pages, at least one. */
static size_t
mem_after_len(const engine_job_t *job)
{
	uint64_t n = (job->img->size + 4095) & ~4095ull;

	return (n != 0 ? (size_t)n : 4096);
}

uint8_t *
engine_mem_after(const engine_job_t *job, uint64_t from)
{
	const image_t *im = job->img;
	void *m;

	m = mmap(NULL, mem_after_len(job), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return (NULL);
	/* only the data: reading a hole would touch zero pages for nothing */
	for (size_t x = 0; x < im->next; x++) {
		uint64_t s = im->ext[x].start, e = im->ext[x].end;

		if (s < from)
			s = from;
		if (e > im->size)
			e = im->size;
		if (s < e)
			(void) image_read((image_t *)im, s, (uint8_t *)m + s,
			    e - s);
	}
	return (m);
}

void
engine_mem_free(const engine_job_t *job, uint8_t *m)
{
	if (m != NULL)
		(void) munmap(m, mem_after_len(job));
}
