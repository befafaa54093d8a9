/* buf: a growable byte buffer with a hard maximum (curl's dynbuf idea).
 * Every append that would pass `max` fails with -ENOBUFS and leaves the buffer as it was.
 * The first failed append is remembered (err): every later append is a no-op returning it,
 * so a renderer appends freely and checks buf_error once at the end — its output is a
 * prefix of what it meant to write, never one with a hole. buf_reset, buf_truncate and
 * buf_steal start afresh. */
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
	int err;    /* the first failed append: -ENOBUFS, -ENOMEM or -EINVAL; 0: none */
} buf_t;

void buf_init(buf_t *b, size_t max);
void buf_free(buf_t *b);
void buf_reset(buf_t *b); /* len = 0, no error, memory kept */
/* Keeps the first len bytes (len <= b->len) and forgets the error: what failed was after
 * them (a log line that did not fit, dropped whole). */
void buf_truncate(buf_t *b, size_t len);
/* The first failed append since the last start, or 0. */
int buf_error(const buf_t *b);
/* Room for extra more bytes: 0, or -ENOBUFS / -ENOMEM (not remembered: it only asks). */
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
