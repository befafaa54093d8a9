/* http_fields: what a client keeps of a response's header fields when they come whole — HTTP/2's,
 * HPACK-decoded by nghttp2 — in the forms the HTTP/1.1 parser fills from a header line: the
 * captured header of --group-by-header and a scenario's header store. Pure: no I/O, no
 * allocation; bounded by the caller's capture and store. */
#include <errno.h>
#include <string.h>

#include "core/http.h"

static bool is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

void http_header_capture_take(http_header_capture_t *c, const char *name, size_t name_len,
                              const char *value, size_t value_len)
{
	if (c->found || name_len != c->name_len)
		return; /* only the first field of the name counts, as over HTTP/1.1 */
	for (size_t i = 0; i < name_len; i++) {
		char ch = name[i];

		if ((ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch) != c->name[i])
			return;
	}
	while (value_len && is_ows(*value)) {
		value++;
		value_len--;
	}
	while (value_len && is_ows(value[value_len - 1]))
		value_len--;
	c->truncated = value_len > HTTP_CAPTURE_MAX;
	c->len = (uint8_t)(c->truncated ? HTTP_CAPTURE_MAX : value_len);
	memcpy(c->value, value, c->len);
	c->found = true;
}

void http_header_capture_clear(http_header_capture_t *c)
{
	c->found = false;
	c->truncated = false;
	c->len = 0;
}

int http_header_store_add(http_header_store_t *s, const char *name, size_t name_len,
                          const char *value, size_t value_len)
{
	if (name_len + value_len + 2 > s->cap - s->len)
		return -ENOBUFS;
	memcpy(s->data + s->len, name, name_len);
	s->len += name_len;
	s->data[s->len++] = '\0';
	memcpy(s->data + s->len, value, value_len);
	s->len += value_len;
	s->data[s->len++] = '\0';
	return 0;
}
