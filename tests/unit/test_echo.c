/* Tests for core/echo (values quoted back in messages), units' number formatting for
 * messages, the request codec's checks of a method and a header, and the generator's
 * classification of errno values into error kinds. */
#include <errno.h>

#include "core/echo.h"
#include "core/http.h"
#include "core/units.h"
#include "gen/gen.h"
#include "test.h"

TEST(echo_short_values_unchanged)
{
	CHECK_STR(ECHO("http://127.0.0.1:8080/x"), "http://127.0.0.1:8080/x");
	CHECK_STR(ECHO(""), "");
	CHECK_STR(ECHO(NULL), "");
	CHECK_STR(ECHO("naïve ✓"), "naïve ✓"); /* UTF-8 passes whole */
}

TEST(echo_control_characters_are_escaped)
{
	CHECK_STR(ECHO("X-A: b\r\nX-Evil: 1"), "X-A: b\\r\\nX-Evil: 1");
	CHECK_STR(ECHO("a\tb\x01\x7f"), "a\\tb\\x01\\x7f");
	CHECK_STR(ECHO("bad \xff utf-8 \xc3"), "bad \\xff utf-8 \\xc3");
}

/* A whole message escaped in place: uncut while it fits, "…" where it no longer does. */
TEST(echo_controls_escapes_a_message_in_place)
{
	char msg[64] = "f.lua:1: near '\x1b[2J' \r\n\tend";
	char small[16] = "ab\x01\x02\x03\x04\x05xyz";
	char clean[32] = "naïve, no control";

	echo_controls(msg, sizeof(msg));
	CHECK_STR(msg, "f.lua:1: near '\\x1b[2J' \\r\\n\\tend");
	echo_controls(small, sizeof(small));
	CHECK_STR(small, "ab\\x01\\x02…");
	echo_controls(clean, sizeof(clean));
	CHECK_STR(clean, "naïve, no control");
}

TEST(echo_long_values_are_cut)
{
	static char long_value[100001];
	const char *shown;

	memset(long_value, 'a', sizeof(long_value) - 1);
	shown = ECHO(long_value);
	CHECK_INT(strlen(shown), ECHO_MAX + strlen("…"));
	CHECK(strcmp(shown + ECHO_MAX, "…") == 0);
	/* exactly ECHO_MAX characters need no cut; one more does */
	long_value[ECHO_MAX] = '\0';
	CHECK_STR(ECHO(long_value), long_value);
	long_value[ECHO_MAX] = 'a';
	long_value[ECHO_MAX + 1] = '\0';
	CHECK(strstr(ECHO(long_value), "…") != NULL);
	/* escapes and multi-byte characters count as one character each */
	for (int i = 0; i < 1000; i++)
		memcpy(long_value + i * 3, "✓", 3);
	long_value[3000] = '\0';
	shown = ECHO(long_value);
	CHECK_INT(strlen(shown), ECHO_MAX * 3 + strlen("…"));
	memset(long_value, '\n', 1000);
	long_value[1000] = '\0';
	CHECK_INT(strlen(ECHO(long_value)), ECHO_MAX * 2 + strlen("…"));
	/* a small buffer is cut where it is full, still ending in "…" */
	char small[16];
	CHECK_STR(echo_value("abcdefghijklmnopqrstuvwxyz", small, sizeof(small)), "abcdefghijkl…");
}

TEST(units_numbers_for_messages)
{
	char out[48];

	units_format_count(0, out, sizeof(out));
	CHECK_STR(out, "0");
	units_format_count(999, out, sizeof(out));
	CHECK_STR(out, "999");
	units_format_count(1000, out, sizeof(out));
	CHECK_STR(out, "1,000");
	units_format_count(1000000000, out, sizeof(out));
	CHECK_STR(out, "1,000,000,000");
	units_format_count(UINT64_MAX, out, sizeof(out));
	CHECK_STR(out, "18,446,744,073,709,551,615");
	units_format_number(1e6, out, sizeof(out));
	CHECK_STR(out, "1,000,000");
	units_format_number(1048576, out, sizeof(out));
	CHECK_STR(out, "1,048,576");
	units_format_number(0.001, out, sizeof(out));
	CHECK_STR(out, "0.001");
	units_format_number(2.5, out, sizeof(out));
	CHECK_STR(out, "2.5");
	units_format_number(0.9999, out, sizeof(out));
	CHECK_STR(out, "1");
	units_format_number(-3, out, sizeof(out));
	CHECK_STR(out, "-3");
	units_format_number(0.0 / 0.0, out, sizeof(out));
	CHECK_STR(out, "none");
}

TEST(units_count_limits_read_as_numbers)
{
	char err[256];
	uint64_t v;

	CHECK_INT(units_parse_count("0", 1, 1000000, &v, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "'0' is not a whole number from 1 to 1,000,000");
	CHECK_INT(units_parse_duration("99999999h", 1000000000ULL, &v, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "1e") == NULL && strstr(err, "10,000 days") != NULL);
}

TEST(http_method_and_header_checks_name_the_fault)
{
	char err[200];

	CHECK_INT(http_method_check("GET", err, sizeof(err)), 0);
	CHECK_INT(http_method_check("M-SEARCH", err, sizeof(err)), 0);
	CHECK_INT(http_method_check("GE T", err, sizeof(err)), -EINVAL);
	CHECK(strncmp(err, "the method has a space", 22) == 0);
	CHECK_INT(http_method_check("", err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "the method is empty");
	CHECK_INT(http_method_check(NULL, NULL, 0), -EINVAL);

	CHECK_INT(http_header_check("X-A: b", err, sizeof(err)), 0);
	CHECK_INT(http_header_check("X-A:\tb c", err, sizeof(err)), 0); /* tabs and spaces */
	CHECK_INT(http_header_check("X-A: café", err, sizeof(err)), 0); /* obs-text */
	CHECK_INT(http_header_check("X-A: b\r\nX-Evil: 1", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "line break") != NULL);
	CHECK_INT(http_header_check("X-A: b\n", err, sizeof(err)), -EINVAL);
	CHECK_INT(http_header_check("X-A: b\x01", err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "the value has a control character (0x01)");
	CHECK_INT(http_header_check("Bad Name: v", err, sizeof(err)), -EINVAL);
	CHECK(strncmp(err, "the name has a space", 20) == 0);
	CHECK_INT(http_header_check("B@d: v", err, sizeof(err)), -EINVAL);
	CHECK(strncmp(err, "the name has '@'", 16) == 0);
	CHECK_INT(http_header_check(": v", err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "the name is empty");
	CHECK_INT(http_header_check("NoColon", err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "expected 'Name: value'");
}

TEST(gen_resource_errors_are_their_own_kind)
{
	static const int resource[] = {ENOMEM, ENOBUFS, EMFILE, ENFILE, EADDRNOTAVAIL, ENOSPC};

	for (size_t i = 0; i < sizeof(resource) / sizeof(resource[0]); i++) {
		CHECK_INT(gen_error_kind_of(resource[i], GEN_ERR_CONNECT), GEN_ERR_RESOURCE);
		CHECK_INT(gen_error_kind_of(-resource[i], GEN_ERR_RESET), GEN_ERR_RESOURCE);
	}
	CHECK_INT(gen_error_kind_of(-ENETUNREACH, GEN_ERR_CONNECT), GEN_ERR_CONNECT);
	CHECK_INT(gen_error_kind_of(-ECONNRESET, GEN_ERR_RESET), GEN_ERR_RESET);
	CHECK_STR(gen_error_kind_name(GEN_ERR_RESOURCE), "resource_error");
	CHECK_STR(gen_error_kind_name(GEN_ERR_PROTOCOL), "protocol_error");
}
