/*
 * engine.c - the list of engines.  Its order is the preference of an
 * automatic choice: KVM first (a real CPU's MMU, where it runs the mode),
 * then QEMU's TCG (every x86 mode and nested paging, on any machine with
 * QEMU), then Bochs (EPT, and nested paging where QEMU is absent).  A
 * new engine is a file with its engine_ops_t and a line here.
 */
#include <string.h>

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
