/* json_write: the JSON writer — commas, indentation and string escaping in one place. */
#include "core/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void jsonw_init(json_writer_t *w, buf_t *out, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->pretty = pretty;
	w->first[0] = true;
}

static void put(json_writer_t *w, const char *s, size_t n)
{
	int rc;

	if (w->err)
		return;
	rc = buf_append(w->out, s, n);
	if (rc < 0)
		w->err = rc;
}

static void newline(json_writer_t *w)
{
	static const char spaces[] =
	    "                                                                ";

	if (!w->pretty)
		return;
	put(w, "\n", 1);
	put(w, spaces, (size_t)(w->depth * 2 < 64 ? w->depth * 2 : 64));
}

/* Emits the separator a new value needs: nothing after a key, a comma between members. */
static void before_value(json_writer_t *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		put(w, ",", 1);
	w->first[w->depth] = false;
	if (w->depth > 0)
		newline(w);
}

static void open(json_writer_t *w, char c)
{
	before_value(w);
	put(w, &c, 1);
	if (w->depth + 1 >= JSON_MAX_DEPTH) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	w->first[++w->depth] = true;
}

static void close_(json_writer_t *w, char c)
{
	bool empty = w->first[w->depth];

	if (w->depth == 0) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	w->depth--;
	if (!empty)
		newline(w);
	put(w, &c, 1);
}

void jsonw_object_begin(json_writer_t *w)
{
	open(w, '{');
}

void jsonw_object_end(json_writer_t *w)
{
	close_(w, '}');
}

void jsonw_array_begin(json_writer_t *w)
{
	open(w, '[');
}

void jsonw_array_end(json_writer_t *w)
{
	close_(w, ']');
}

static void put_escaped(json_writer_t *w, const char *s, size_t len)
{
	const char *run = s;
	char esc[8];

	put(w, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(w, run, (size_t)(s + i - run));
		run = s + i + 1;
		switch (c) {
		case '"': put(w, "\\\"", 2); break;
		case '\\': put(w, "\\\\", 2); break;
		case '\n': put(w, "\\n", 2); break;
		case '\r': put(w, "\\r", 2); break;
		case '\t': put(w, "\\t", 2); break;
		default: snprintf(esc, sizeof(esc), "\\u%04x", c); put(w, esc, 6);
		}
	}
	put(w, run, (size_t)(s + len - run));
	put(w, "\"", 1);
}

void jsonw_key(json_writer_t *w, const char *key)
{
	before_value(w);
	put_escaped(w, key, strlen(key));
	put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
	w->after_key = true;
}

void jsonw_string_n(json_writer_t *w, const char *s, size_t len)
{
	before_value(w);
	put_escaped(w, s, len);
}

void jsonw_string(json_writer_t *w, const char *s)
{
	if (!s) {
		jsonw_null(w);
		return;
	}
	jsonw_string_n(w, s, strlen(s));
}

void jsonw_int(json_writer_t *w, int64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);

	before_value(w);
	put(w, tmp, (size_t)n);
}

void jsonw_uint(json_writer_t *w, uint64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);

	before_value(w);
	put(w, tmp, (size_t)n);
}

void jsonw_double(json_writer_t *w, double v, int digits)
{
	char tmp[64];
	int n;

	if (!isfinite(v)) {
		jsonw_null(w);
		return;
	}
	n = snprintf(tmp, sizeof(tmp), "%.*f", digits, v);
	if (n >= (int)sizeof(tmp)) { /* astronomically large: let %g keep it short */
		n = snprintf(tmp, sizeof(tmp), "%.17g", v);
	} else if (memchr(tmp, '.', (size_t)n)) {
		while (tmp[n - 1] == '0')
			n--;
		if (tmp[n - 1] == '.')
			n--;
	}
	if (n == 2 && tmp[0] == '-' && tmp[1] == '0')
		n = 1, tmp[0] = '0';
	before_value(w);
	put(w, tmp, (size_t)n);
}

void jsonw_bool(json_writer_t *w, bool v)
{
	before_value(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_null(json_writer_t *w)
{
	before_value(w);
	put(w, "null", 4);
}

void jsonw_raw(json_writer_t *w, const char *text, size_t len)
{
	before_value(w);
	put(w, text, len);
}
