/* Tests for http_fields.c: a whole header field (HTTP/2's, decoded) kept as the HTTP/1.1
 * parser keeps a line's — the captured header of --group-by-header and a scenario's store. */
#include "test.h"

#include "core/http.h"

#include <errno.h>

static http_header_capture_t capture(const char *name)
{
	http_header_capture_t c = {.name = name, .name_len = (uint8_t)strlen(name)};

	return c;
}

static void take(http_header_capture_t *c, const char *name, const char *value)
{
	http_header_capture_take(c, name, strlen(name), value, strlen(value));
}

TEST(http_fields_capture_takes_the_first_field_of_its_name_trimmed)
{
	http_header_capture_t c = capture("x-served-by");

	take(&c, "x-served", "no");
	take(&c, "x-served-by-other", "no");
	CHECK(!c.found);
	take(&c, "X-Served-By", " \tpod-a \t");
	take(&c, "x-served-by", "pod-b");
	CHECK(c.found && !c.truncated);
	CHECK_INT(c.len, 5);
	CHECK(memcmp(c.value, "pod-a", 5) == 0);
	http_header_capture_clear(&c);
	CHECK(!c.found && c.len == 0);
	take(&c, "x-served-by", "");
	CHECK(c.found && c.len == 0);
}

TEST(http_fields_capture_cuts_a_long_value_and_says_so)
{
	http_header_capture_t c = capture("x-a");
	char value[HTTP_CAPTURE_MAX + 10];

	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	take(&c, "x-a", value);
	CHECK(c.found && c.truncated);
	CHECK_INT(c.len, HTTP_CAPTURE_MAX);
	c = capture("x-a");
	value[HTTP_CAPTURE_MAX] = '\0';
	take(&c, "x-a", value);
	CHECK(c.found && !c.truncated);
	CHECK_INT(c.len, HTTP_CAPTURE_MAX);
}

TEST(http_fields_store_is_bounded_and_writes_nothing_past_it)
{
	char data[16];
	http_header_store_t s = {.data = data, .cap = sizeof(data)};

	CHECK_INT(http_header_store_add(&s, "a", 1, "bc", 2), 0);
	CHECK_INT(s.len, 5);
	CHECK(memcmp(data, "a\0bc\0", 5) == 0);
	CHECK_INT(http_header_store_add(&s, "name", 4, "value", 5), 0); /* 11 more: exactly full */
	CHECK_INT(s.len, 16);
	CHECK_INT(http_header_store_add(&s, "", 0, "", 0), -ENOBUFS);
	CHECK_INT(s.len, 16);
}
