/* name_index: an open-addressing hash index from a name — a request's method and name — to
 * its position in the caller's table, so the tables of endpoints (a thread's, the result's)
 * find one of thousands of names in a probe or two instead of comparing every entry.
 * The index holds positions and hashes only; the caller's table holds the names and says
 * whether a position is the one asked for (same()). */
#ifndef SURGE_NAME_INDEX_H
#define SURGE_NAME_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How the index gets its memory (the result model counts every byte it holds); NULL: realloc
 * and free. realloc_fn(ctx, p, old, 0) frees. */
typedef void *(*name_index_realloc_t)(void *ctx, void *p, size_t old_size, size_t new_size);

typedef struct name_index_slot {
	uint32_t hash;
	uint32_t position; /* + 1: 0 is an empty slot */
} name_index_slot_t;

typedef struct name_index {
	name_index_slot_t *slots;
	uint32_t cap, used; /* cap: a power of two, at most half used */
	name_index_realloc_t realloc_fn;
	void *ctx;
} name_index_t;

/* A zeroed name_index_t is an empty index on realloc too. */
void name_index_init(name_index_t *x, name_index_realloc_t realloc_fn, void *ctx);
void name_index_free(name_index_t *x);
/* Every position forgotten, the memory kept (a table emptied for its next use). */
void name_index_clear(name_index_t *x);
/* The hash of a name: FNV-1a over the method, a separator and the name (len bytes of each). */
uint32_t name_index_hash(const char *method, size_t method_len, const char *name, size_t name_len);
/* The position stored under hash for which same(ctx, position) holds, or -1. */
int64_t name_index_find(const name_index_t *x, uint32_t hash,
                        bool (*same)(const void *ctx, uint32_t position), const void *ctx);
/* Stores position under hash (the caller has checked it is not there): 0, or -ENOMEM (the
 * index unchanged). */
int name_index_add(name_index_t *x, uint32_t hash, uint32_t position);

#endif
