/* varint: unsigned LEB128 (7 bits a byte, low first, the high bit saying more follow) and
 * little-endian doubles — the pieces of surge's binary frames (a shard's seconds on the
 * wire, result/delta_wire.c; their batches, dist/dist_batch.c). Pure: no I/O, no allocation;
 * a read never passes `end` and refuses a number longer than 10 bytes or above 2^64 - 1. */
#ifndef SURGE_VARINT_H
#define SURGE_VARINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VARINT_MAX 10 /* bytes of the largest uint64_t */

/* v into p (room for VARINT_MAX bytes): how many bytes. */
static inline size_t varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* The number at *p into *v, *p moved past it; false (nothing moved) when it is cut by end,
 * longer than VARINT_MAX bytes or above 2^64 - 1. */
static inline bool varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	const uint8_t *q = *p;
	uint64_t x = 0;

	if (q < end && *q < 0x80) { /* one byte: most of what a histogram holds */
		*v = *q;
		*p = q + 1;
		return true;
	}
	for (unsigned shift = 0; q < end && shift < 7 * VARINT_MAX; shift += 7) {
		uint8_t b = *q++;

		if (shift == 63 && b > 1)
			return false; /* the 10th byte holds one bit */
		x |= (uint64_t)(b & 0x7f) << shift;
		if (b < 0x80) {
			*v = x;
			*p = q;
			return true;
		}
	}
	return false;
}

/* A double as its 8 IEEE-754 bytes, little-endian: exact by construction. */
static inline void f64_put(uint8_t *p, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(bits >> (8 * i));
}

static inline double f64_get(const uint8_t *p)
{
	uint64_t bits = 0;
	double v;

	for (int i = 0; i < 8; i++)
		bits |= (uint64_t)p[i] << (8 * i);
	memcpy(&v, &bits, sizeof(v));
	return v;
}

#endif
