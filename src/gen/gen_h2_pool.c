/* gen_h2_pool: a thread's free lists for what nghttp2 allocates per stream (its stream, the
 * request's queued frame, the header list's copy, ...), so that a steady run reuses blocks
 * instead of going to malloc for each request. Blocks come in power-of-two classes up to
 * 4 KiB; each list keeps at most H2_POOL_KEEP blocks, the rest go back to malloc, so the
 * pool is bounded (kept blocks: at most 2 MiB a thread). Larger blocks go to malloc directly.
 * One thread's sessions only: no lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen_h2_pool.h"

#define H2_POOL_MIN_SHIFT 5 /* the smallest class: 32 bytes with the header */
#define H2_POOL_KEEP      256
#define H2_POOL_LARGE     0xff /* the class of a block malloc'd for itself */

/* Before each block, keeping the caller's part 16-byte aligned as malloc's is. */
typedef struct block_head {
	uint32_t class_index;
	uint32_t pad[3];
} block_head_t;

typedef struct free_block {
	struct free_block *next;
} free_block_t;

static uint32_t class_of(size_t total)
{
	uint32_t c = 0;

	while (((size_t)1 << (c + H2_POOL_MIN_SHIFT)) < total)
		c++;
	return c;
}

static size_t class_size(uint32_t c)
{
	return (size_t)1 << (c + H2_POOL_MIN_SHIFT);
}

static void *pool_malloc(size_t size, void *ctx)
{
	gen_h2_pool_t *p = ctx;
	size_t total = size + sizeof(block_head_t);
	uint32_t c;
	block_head_t *h;

	if (total < size)
		return NULL;
	c = class_of(total);
	if (c >= H2_POOL_CLASSES) {
		if (!(h = malloc(total)))
			return NULL;
		h->class_index = H2_POOL_LARGE;
		return h + 1;
	}
	if (p->free[c]) {
		free_block_t *b = p->free[c];

		p->free[c] = b->next;
		p->kept[c]--;
		h = (block_head_t *)b;
	} else if (!(h = malloc(class_size(c)))) {
		return NULL;
	}
	h->class_index = c;
	return h + 1;
}

static void pool_free(void *ptr, void *ctx)
{
	gen_h2_pool_t *p = ctx;
	block_head_t *h;
	uint32_t c;

	if (!ptr)
		return;
	h = (block_head_t *)ptr - 1;
	c = h->class_index;
	if (c == H2_POOL_LARGE || p->kept[c] >= H2_POOL_KEEP) {
		free(h);
		return;
	}
	((free_block_t *)h)->next = p->free[c];
	p->free[c] = (free_block_t *)h;
	p->kept[c]++;
}

static void *pool_calloc(size_t n, size_t size, void *ctx)
{
	void *ptr;

	if (size && n > SIZE_MAX / size)
		return NULL;
	if ((ptr = pool_malloc(n * size, ctx)))
		memset(ptr, 0, n * size);
	return ptr;
}

static void *pool_realloc(void *ptr, size_t size, void *ctx)
{
	block_head_t *h;
	size_t room;
	void *grown;

	if (!ptr)
		return pool_malloc(size, ctx);
	h = (block_head_t *)ptr - 1;
	if (h->class_index == H2_POOL_LARGE) {
		if (!(h = realloc(h, size + sizeof(*h))))
			return NULL;
		return h + 1;
	}
	room = class_size(h->class_index) - sizeof(*h);
	if (size <= room)
		return ptr;
	if (!(grown = pool_malloc(size, ctx)))
		return NULL;
	memcpy(grown, ptr, room);
	pool_free(ptr, ctx);
	return grown;
}

void gen_h2_pool_init(gen_h2_pool_t *p)
{
	memset(p, 0, sizeof(*p));
	p->mem = (nghttp2_mem){
	    .mem_user_data = p,
	    .malloc = pool_malloc,
	    .free = pool_free,
	    .calloc = pool_calloc,
	    .realloc = pool_realloc,
	};
}

void gen_h2_pool_free(gen_h2_pool_t *p)
{
	for (uint32_t c = 0; c < H2_POOL_CLASSES; c++)
		while (p->free[c]) {
			free_block_t *b = p->free[c];

			p->free[c] = b->next;
			free(b);
		}
	memset(p->kept, 0, sizeof(p->kept));
}
