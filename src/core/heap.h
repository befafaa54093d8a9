/* heap: the allocator's free memory given back to the system. glibc keeps what is freed
 * inside its arenas (a heap is trimmed only from its top, when its top chunk is free): after
 * a burst — a stall of the host, every user's request in flight at once, a 1 MB response to
 * each — a process keeps the burst's size for the rest of its life, though it holds none of
 * it. heap_give_back returns every whole free page of every arena to the system (glibc's
 * malloc_trim(0)); long-running commands call it every HEAP_GIVE_BACK_NS from a thread that
 * waits anyway (surge serve's main thread, surge run's supervisor). */
#ifndef SURGE_HEAP_H
#define SURGE_HEAP_H

#include <stdint.h>

#define HEAP_GIVE_BACK_NS (10ull * 1000 * 1000 * 1000)

/* The free pages of every arena given back; a no-op where the C library has no such call. */
void heap_give_back(void);
/* heap_give_back when HEAP_GIVE_BACK_NS have passed since *last (monotonic ns, updated). */
void heap_give_back_every(uint64_t now_ns, uint64_t *last);

#endif
