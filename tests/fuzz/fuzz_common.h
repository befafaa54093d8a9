/* fuzz_common: what several fuzz drivers share — the input as an exact-size C string (so ASan
 * sees any read past its end) and the checks every rejection message must pass. */
#ifndef SURGE_FUZZ_COMMON_H
#define SURGE_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* data[0..size) as a NUL-terminated string in a buffer of exactly size + 1 bytes (an embedded
 * NUL ends it early, as it would on a command line). The caller frees it. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A rejection says something, on one line, within the buffer it was given: a value it quotes
 * has its control characters escaped (core/echo), so no CR, LF or escape sequence gets out. */
static inline void fuzz_check_message(const char *err, size_t errlen)
{
	size_t len = strnlen(err, errlen);

	if (len == 0 || len == errlen)
		abort();
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f) {
			fprintf(stderr, "a control character at %zu in the message: %.*s\n", i,
			        (int)len, err);
			abort();
		}
	}
}

/* FNV-1a, to let the input steer what a driver derives from it. */
static inline uint64_t fuzz_hash(const uint8_t *data, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 0x100000001b3ull;
	return h;
}

#endif
