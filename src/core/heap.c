/* heap: the allocator's free memory given back to the system (heap.h). */
#include "core/heap.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void heap_setup(void)
{
#if defined(__GLIBC__)
	/* setting it also turns off glibc's moving of the threshold (and of M_TRIM_THRESHOLD,
	 * which stays at its default of 128 KiB) */
	mallopt(M_MMAP_THRESHOLD, HEAP_MAP_FROM);
#endif
}

void heap_give_back(void)
{
#if defined(__GLIBC__)
	/* every arena in turn, each under its own lock: a few milliseconds every ten seconds,
	 * on a thread that serves nothing */
	malloc_trim(0);
#endif
}

void heap_give_back_every(uint64_t now_ns, uint64_t *last)
{
	if (!*last) {
		*last = now_ns;
		return;
	}
	if (now_ns - *last < HEAP_GIVE_BACK_NS)
		return;
	*last = now_ns;
	heap_give_back();
}
