/* gen_h2_pool: the free lists a generator thread's nghttp2 sessions allocate from (see
 * gen_h2_pool.c): bounded, unlocked, one thread's. */
#ifndef SURGE_GEN_H2_POOL_H
#define SURGE_GEN_H2_POOL_H

#include <nghttp2/nghttp2.h>
#include <stdint.h>

#define H2_POOL_CLASSES 8 /* 32 bytes .. 4 KiB, with a 16-byte header each */

typedef struct gen_h2_pool {
	nghttp2_mem mem; /* what nghttp2_session_client_new3 is given */
	struct free_block *free[H2_POOL_CLASSES];
	uint32_t kept[H2_POOL_CLASSES];
} gen_h2_pool_t;

void gen_h2_pool_init(gen_h2_pool_t *p);
/* Gives back the blocks kept: every session using the pool must be deleted first. */
void gen_h2_pool_free(gen_h2_pool_t *p);

#endif
