/* buf: a growable byte buffer with a hard maximum (curl's dynbuf idea).
 * Every append that would pass `max` fails with -ENOBUFS and leaves the buffer as it was. */
#ifndef SURGE_BUF_H
#define SURGE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
	char *data; /* NUL-terminated when len > 0 (one byte beyond len is always reserved) */
	size_t len;
	size_t cap;
	size_t max; /* the most bytes this buffer may ever hold */
} buf_t;

void buf_init(buf_t *b, size_t max);
void buf_free(buf_t *b);
void buf_reset(buf_t *b); /* len = 0, memory kept */
int buf_reserve(buf_t *b, size_t extra);
int buf_append(buf_t *b, const void *data, size_t len);
int buf_append_str(buf_t *b, const char *s);
int buf_append_char(buf_t *b, char c);
/* Decimal digits of v, without printf (hot paths build responses with it). */
int buf_append_uint(buf_t *b, uint64_t v);
int buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf_t *b, const char *fmt, va_list ap);
/* Hands the bytes to the caller (who frees them) and leaves b empty. */
char *buf_steal(buf_t *b, size_t *len);

#endif
