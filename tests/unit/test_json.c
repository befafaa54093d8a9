/* Tests for core/json_write and core/buf. */
#include <errno.h>
#include <math.h>

#include "core/buf.h"
#include "core/json.h"
#include "test.h"

TEST(json_compact_document)
{
	buf_t b;
	json_writer_t w;

	buf_init(&b, 4096);
	jsonw_init(&w, &b, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "s");
	jsonw_string(&w, "a\"b\\c\n\x01");
	jsonw_key(&w, "n");
	jsonw_array_begin(&w);
	jsonw_int(&w, -3);
	jsonw_uint(&w, 18446744073709551615ULL);
	jsonw_double(&w, 1.5, 3);
	jsonw_double(&w, 2.0, 3);
	jsonw_double(&w, NAN, 3);
	jsonw_double(&w, -0.0001, 3);
	jsonw_bool(&w, true);
	jsonw_null(&w);
	jsonw_array_end(&w);
	jsonw_key(&w, "empty");
	jsonw_object_begin(&w);
	jsonw_object_end(&w);
	jsonw_object_end(&w);
	CHECK_INT(w.err, 0);
	CHECK_STR(b.data, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":[-3,18446744073709551615,1.5,2,"
	                  "null,0,true,null],\"empty\":{}}");
	buf_free(&b);
}

TEST(json_pretty_and_errors)
{
	buf_t b;
	json_writer_t w;

	buf_init(&b, 4096);
	jsonw_init(&w, &b, true);
	jsonw_object_begin(&w);
	jsonw_key(&w, "a");
	jsonw_array_begin(&w);
	jsonw_int(&w, 1);
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	CHECK_STR(b.data, "{\n  \"a\": [\n    1\n  ]\n}");
	jsonw_object_end(&w); /* one close too many */
	CHECK_INT(w.err, -EINVAL);
	buf_free(&b);

	buf_init(&b, 8); /* too small: the error is sticky, the buffer bounded */
	jsonw_init(&w, &b, false);
	jsonw_string(&w, "longer than eight bytes");
	CHECK_INT(w.err, -ENOBUFS);
	CHECK(b.len <= 8);
	buf_free(&b);
}

TEST(buf_bounds)
{
	buf_t b;

	buf_init(&b, 10);
	CHECK_INT(buf_append_str(&b, "0123456789"), 0);
	CHECK_INT(buf_append_char(&b, 'x'), -ENOBUFS);
	CHECK_INT(b.len, 10);
	CHECK_STR(b.data, "0123456789");
	buf_reset(&b);
	CHECK_INT(buf_printf(&b, "%d-%s", 42, "ab"), 0);
	CHECK_STR(b.data, "42-ab");
	CHECK_INT(buf_printf(&b, "%s", "too long for it"), -ENOBUFS);
	CHECK_STR(b.data, "42-ab");
	buf_truncate(&b, b.len);                     /* the failure forgotten, the bytes kept */
	CHECK_INT(buf_printf(&b, "%s", "12345"), 0); /* exactly up to the maximum */
	CHECK_STR(b.data, "42-ab12345");
	CHECK_INT(buf_printf(&b, "%s", "x"), -ENOBUFS);
	CHECK_STR(b.data, "42-ab12345");
	buf_free(&b);
}

/* The first failure is remembered: later appends are no-ops returning it, so what a renderer
 * wrote is a prefix of what it meant to, never one with a hole where a piece did not fit. */
TEST(buf_sticky_error)
{
	buf_t b;

	buf_init(&b, 10);
	CHECK_INT(buf_append_str(&b, "abc"), 0);
	CHECK_INT(buf_error(&b), 0);
	CHECK_INT(buf_append_str(&b, "far too long"), -ENOBUFS);
	CHECK_INT(buf_error(&b), -ENOBUFS);
	CHECK_INT(buf_append_str(&b, "de"), -ENOBUFS); /* it would fit, but comes after a hole */
	CHECK_INT(buf_printf(&b, "%d", 1), -ENOBUFS);
	CHECK_INT(buf_append_char(&b, 'f'), -ENOBUFS);
	CHECK_INT(buf_append_uint(&b, 7), -ENOBUFS);
	CHECK_STR(b.data, "abc");
	CHECK_INT(buf_reserve(&b, 1), 0); /* reserve only asks: the room is there */
	buf_truncate(&b, 2);
	CHECK_INT(buf_error(&b), 0);
	CHECK_STR(b.data, "ab");
	CHECK_INT(buf_append_str(&b, "de"), 0);
	CHECK_STR(b.data, "abde");
	CHECK_INT(buf_printf(&b, "%s", "0123456789"), -ENOBUFS);
	buf_reset(&b);
	CHECK_INT(buf_error(&b), 0);
	CHECK_INT(b.len, 0);
	CHECK_INT(buf_append_str(&b, "ok"), 0);
	buf_free(&b);
	CHECK_INT(buf_error(&b), 0);
}

TEST(buf_append_uint_digits)
{
	static const uint64_t values[] = {0, 7, 10, 99, 1000, 4294967296ULL, UINT64_MAX};
	char expect[32];
	buf_t b;

	buf_init(&b, 64);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		buf_reset(&b);
		CHECK_INT(buf_append_uint(&b, values[i]), 0);
		snprintf(expect, sizeof(expect), "%llu", (unsigned long long)values[i]);
		CHECK_STR(b.data, expect);
	}
	buf_free(&b);
}
