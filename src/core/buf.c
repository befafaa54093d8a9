/* buf: bounded growable byte buffers. */
#include "core/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf_t *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->err = 0;
}

void buf_free(buf_t *b)
{
	free(b->data);
	buf_init(b, b->max);
}

void buf_reset(buf_t *b)
{
	buf_truncate(b, 0);
}

void buf_truncate(buf_t *b, size_t len)
{
	if (len < b->len)
		b->len = len;
	if (b->data)
		b->data[b->len] = '\0';
	b->err = 0;
}

int buf_error(const buf_t *b)
{
	return b->err;
}

/* Remembers the first failure. */
static int failed(buf_t *b, int rc)
{
	if (!b->err)
		b->err = rc;
	return rc;
}

int buf_reserve(buf_t *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return -ENOBUFS;
	need = b->len + extra + 1; /* room for the terminating NUL */
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append(buf_t *b, const void *data, size_t len)
{
	int rc = b->err ? b->err : buf_reserve(b, len);

	if (rc < 0)
		return failed(b, rc);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf_append_str(buf_t *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_append_char(buf_t *b, char c)
{
	return buf_append(b, &c, 1);
}

int buf_vprintf(buf_t *b, const char *fmt, va_list ap)
{
	va_list again;
	size_t room = b->cap > b->len ? b->cap - b->len : 0;
	int n, rc;

	if (b->err)
		return b->err;
	/* one pass when it fits (the usual case), a second only to grow */
	va_copy(again, ap);
	n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, again);
	va_end(again);
	if (n < 0)
		return failed(b, -EINVAL);
	if ((size_t)n < room) {
		if ((size_t)n > b->max - b->len) {
			b->data[b->len] = '\0';
			return failed(b, -ENOBUFS);
		}
		b->len += (size_t)n;
		return 0;
	}
	if (b->data)
		b->data[b->len] = '\0';
	rc = buf_reserve(b, (size_t)n);
	if (rc < 0)
		return failed(b, rc);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(buf_t *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int buf_append_uint(buf_t *b, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do
		tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return buf_append(b, tmp + sizeof(tmp) - n, n);
}

char *buf_steal(buf_t *b, size_t *len)
{
	char *p = b->data;

	if (len)
		*len = b->len;
	buf_init(b, b->max);
	return p;
}
