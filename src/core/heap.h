/* heap: the allocator's free memory given back to the system. glibc keeps what is freed
 * inside its arenas (a heap is trimmed only from its top, when its top chunk is free): after
 * a burst — a stall of the host, every user's request in flight at once, a 1 MB response to
 * each — a process keeps the burst's size for the rest of its life, though it holds none of
 * it. heap_give_back returns every whole free page of every arena to the system (glibc's
 * malloc_trim(0)); long-running commands call it every HEAP_GIVE_BACK_NS from a thread that
 * waits anyway (surge serve's main thread, surge run's supervisor).
 *
 * Large blocks are another case: glibc maps a block of 128 KiB or more on its own and unmaps
 * it when freed, but the first such free raises that threshold to the block's size (up to
 * 32 MiB), after which blocks of that size come from the arenas and stay there. heap_setup
 * fixes the threshold at HEAP_MAP_FROM, so a large block's pages — a 16 MiB response body a
 * scenario captured, a memory-spike's buffer — leave the process the moment it is freed. */
#ifndef SURGE_HEAP_H
#define SURGE_HEAP_H

#include <stdint.h>

#define HEAP_GIVE_BACK_NS (10ull * 1000 * 1000 * 1000)
#define HEAP_MAP_FROM     (1024 * 1024)

/* Once, before the first thread: blocks of HEAP_MAP_FROM or more mapped on their own, always. */
void heap_setup(void);

/* The free pages of every arena given back; a no-op where the C library has no such call. */
void heap_give_back(void);
/* heap_give_back when HEAP_GIVE_BACK_NS have passed since *last (monotonic ns, updated). */
void heap_give_back_every(uint64_t now_ns, uint64_t *last);

#endif
