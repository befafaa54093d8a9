/* name_index: open addressing with linear probing, grown to stay at most half full. */
#include "core/name_index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void *plain_realloc(void *ctx, void *p, size_t old_size, size_t new_size)
{
	(void)ctx;
	(void)old_size;
	if (new_size == 0) {
		free(p);
		return NULL;
	}
	return realloc(p, new_size);
}

void name_index_init(name_index_t *x, name_index_realloc_t realloc_fn, void *ctx)
{
	memset(x, 0, sizeof(*x));
	x->realloc_fn = realloc_fn ? realloc_fn : plain_realloc;
	x->ctx = ctx;
}

static name_index_realloc_t alloc_of(const name_index_t *x)
{
	return x->realloc_fn ? x->realloc_fn : plain_realloc;
}

void name_index_free(name_index_t *x)
{
	name_index_realloc_t fn = alloc_of(x);

	if (x->slots)
		fn(x->ctx, x->slots, x->cap * sizeof(*x->slots), 0);
	name_index_init(x, fn, x->ctx);
}

void name_index_clear(name_index_t *x)
{
	if (x->slots)
		memset(x->slots, 0, x->cap * sizeof(*x->slots));
	x->used = 0;
}

static uint32_t fnv(uint32_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

uint32_t name_index_hash(const char *method, size_t method_len, const char *name, size_t name_len)
{
	return fnv(fnv(fnv(2166136261u, method, method_len), " ", 1), name, name_len);
}

int64_t name_index_find(const name_index_t *x, uint32_t hash,
                        bool (*same)(const void *ctx, uint32_t position), const void *ctx)
{
	if (!x->cap)
		return -1;
	for (uint32_t i = hash & (x->cap - 1);; i = (i + 1) & (x->cap - 1)) {
		const name_index_slot_t *s = &x->slots[i];

		if (!s->position)
			return -1; /* at most half full: an empty slot ends every probe */
		if (s->hash == hash && same(ctx, s->position - 1))
			return s->position - 1;
	}
}

static void place(name_index_slot_t *slots, uint32_t cap, name_index_slot_t s)
{
	uint32_t i = s.hash & (cap - 1);

	while (slots[i].position)
		i = (i + 1) & (cap - 1);
	slots[i] = s;
}

int name_index_add(name_index_t *x, uint32_t hash, uint32_t position)
{
	if (position == UINT32_MAX)
		return -EINVAL;
	if ((x->used + 1) * 2 > x->cap) {
		uint32_t cap = x->cap ? x->cap * 2 : 16;
		name_index_slot_t *slots = alloc_of(x)(x->ctx, NULL, 0, cap * sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		memset(slots, 0, cap * sizeof(*slots));
		for (uint32_t i = 0; i < x->cap; i++)
			if (x->slots[i].position)
				place(slots, cap, x->slots[i]);
		if (x->slots)
			alloc_of(x)(x->ctx, x->slots, x->cap * sizeof(*x->slots), 0);
		x->slots = slots;
		x->cap = cap;
	}
	place(x->slots, x->cap, (name_index_slot_t){hash, position + 1});
	x->used++;
	return 0;
}
