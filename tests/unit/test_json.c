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
	json_init(&w, &b, false);
	json_object_begin(&w);
	json_key(&w, "s");
	json_string(&w, "a\"b\\c\n\x01");
	json_key(&w, "n");
	json_array_begin(&w);
	json_int(&w, -3);
	json_uint(&w, 18446744073709551615ULL);
	json_double(&w, 1.5, 3);
	json_double(&w, 2.0, 3);
	json_double(&w, NAN, 3);
	json_double(&w, -0.0001, 3);
	json_bool(&w, true);
	json_null(&w);
	json_array_end(&w);
	json_key(&w, "empty");
	json_object_begin(&w);
	json_object_end(&w);
	json_object_end(&w);
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
	json_init(&w, &b, true);
	json_object_begin(&w);
	json_key(&w, "a");
	json_array_begin(&w);
	json_int(&w, 1);
	json_array_end(&w);
	json_object_end(&w);
	CHECK_STR(b.data, "{\n  \"a\": [\n    1\n  ]\n}");
	json_object_end(&w); /* one close too many */
	CHECK_INT(w.err, -EINVAL);
	buf_free(&b);

	buf_init(&b, 8); /* too small: the error is sticky, the buffer bounded */
	json_init(&w, &b, false);
	json_string(&w, "longer than eight bytes");
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
	buf_free(&b);
}
