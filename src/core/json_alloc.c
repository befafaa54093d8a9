/* json_alloc: jansson's malloc, counting in each thread the allocations that failed
 * (json_alloc.h says why). */
#include "core/json_alloc.h"

#include <jansson.h>
#include <stdlib.h>

static _Thread_local unsigned long failures;

static void *counted_malloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		failures++;
	return p;
}

void json_alloc_install(void)
{
	json_set_alloc_funcs(counted_malloc, free);
}

unsigned long json_alloc_failures(void)
{
	return failures;
}
