/* Tests for gen_h2_pool.c: the free lists nghttp2's sessions allocate from — a block freed is
 * the next one of its class given out, a realloc within its class stays in place, large
 * blocks go to malloc, and what a list keeps is bounded. */
#include "test.h"

#include "gen/gen_h2_pool.h"

TEST(h2_pool_reuses_a_freed_block_of_its_class)
{
	gen_h2_pool_t p;
	nghttp2_mem *m = &p.mem;
	void *a, *b, *c;

	gen_h2_pool_init(&p);
	a = m->malloc(100, m->mem_user_data);
	CHECK(a != NULL);
	CHECK_INT((uintptr_t)a % 16, 0);
	memset(a, 0xab, 100);
	m->free(a, m->mem_user_data);
	b = m->malloc(90, m->mem_user_data); /* the same class (128 with the header) */
	CHECK(b == a);
	c = m->malloc(100, m->mem_user_data); /* none kept: a new one */
	CHECK(c != NULL && c != b);
	m->free(b, m->mem_user_data);
	m->free(c, m->mem_user_data);
	CHECK_INT(p.kept[2], 2);
	b = m->calloc(10, 10, m->mem_user_data);
	CHECK(b != NULL && ((unsigned char *)b)[0] == 0 && ((unsigned char *)b)[99] == 0);
	m->free(b, m->mem_user_data);
	CHECK(m->calloc(SIZE_MAX / 2, 4, m->mem_user_data) == NULL);
	m->free(NULL, m->mem_user_data);
	gen_h2_pool_free(&p);
	CHECK_INT(p.kept[2], 0);
}

TEST(h2_pool_realloc_and_large_blocks)
{
	gen_h2_pool_t p;
	nghttp2_mem *m = &p.mem;
	char *a, *b;

	gen_h2_pool_init(&p);
	a = m->malloc(20, m->mem_user_data);
	memcpy(a, "0123456789", 10);
	b = m->realloc(a, 40, m->mem_user_data); /* 64 with the header: still its class */
	CHECK(b == a);
	b = m->realloc(a, 1000, m->mem_user_data);
	CHECK(b != a && memcmp(b, "0123456789", 10) == 0);
	CHECK_INT(p.kept[1], 1); /* a (64 bytes with the header) went back to its list */
	a = m->realloc(b, 100000, m->mem_user_data); /* past the classes: malloc's own */
	CHECK(a != NULL && memcmp(a, "0123456789", 10) == 0);
	a = m->realloc(a, 200000, m->mem_user_data);
	CHECK(a != NULL && memcmp(a, "0123456789", 10) == 0);
	m->free(a, m->mem_user_data);
	gen_h2_pool_free(&p);
}

TEST(h2_pool_keeps_a_bounded_number_of_blocks)
{
	static void *blocks[1000];
	gen_h2_pool_t p;
	nghttp2_mem *m = &p.mem;

	gen_h2_pool_init(&p);
	for (int i = 0; i < 1000; i++)
		blocks[i] = m->malloc(200, m->mem_user_data);
	for (int i = 0; i < 1000; i++)
		m->free(blocks[i], m->mem_user_data);
	CHECK_INT(p.kept[3], 256); /* 256 bytes with the header; the other 744 went to free() */
	gen_h2_pool_free(&p);
}
