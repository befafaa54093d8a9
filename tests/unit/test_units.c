/* Tests for core/units (durations, rates, sizes, counts) and core/url. */
#include <errno.h>

#include "core/clock.h"
#include "core/units.h"
#include "core/url.h"
#include "test.h"

TEST(units_durations)
{
	static const struct {
		const char *in;
		uint64_t ns;
	} ok[] = {
	    {"250ms", 250 * NS_PER_MS},
	    {"30s", 30 * NS_PER_S},
	    {"5m", 300 * NS_PER_S},
	    {"1h", 3600 * NS_PER_S},
	    {"1.5s", 1500 * NS_PER_MS},
	    {"100us", 100 * NS_PER_US},
	    {"10ns", 10},
	    {"2", 2 * NS_PER_S},
	    {"0.25", 250 * NS_PER_MS},
	    {"0s", 0},
	};
	char err[128];
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK_INT(units_parse_duration(ok[i].in, NS_PER_S, &v, err, sizeof(err)), 0);
		CHECK_INT(v, ok[i].ns);
	}
	CHECK_INT(units_parse_duration("2", NS_PER_MS, &v, err, sizeof(err)), 0);
	CHECK_INT(v, 2 * NS_PER_MS);
}

TEST(units_duration_rejects)
{
	static const char *const bad[] = {"",    "ten",   "-1s",   "1x",  "1 s", "s",  "inf",
	                                  "nan", "0x10s", "1e30h", "+3s", " 3s", "3s "};
	char err[128];
	uint64_t v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_INT(units_parse_duration(bad[i], NS_PER_S, &v, err, sizeof(err)), -EINVAL);
		CHECK(strstr(err, "duration") != NULL);
	}
	CHECK_INT(units_parse_duration(NULL, NS_PER_S, &v, err, sizeof(err)), -EINVAL);
}

TEST(units_rates_sizes_counts)
{
	char err[128];
	double r;
	uint64_t v;

	CHECK_INT(units_parse_rate("500", &r, err, sizeof(err)), 0);
	CHECK_NEAR(r, 500, 1e-9);
	CHECK_INT(units_parse_rate("500/s", &r, err, sizeof(err)), 0);
	CHECK_NEAR(r, 500, 1e-9);
	CHECK_INT(units_parse_rate("30000/m", &r, err, sizeof(err)), 0);
	CHECK_NEAR(r, 500, 1e-9);
	CHECK_INT(units_parse_rate("36/h", &r, err, sizeof(err)), 0);
	CHECK_NEAR(r, 0.01, 1e-12);
	CHECK_INT(units_parse_rate("5/d", &r, err, sizeof(err)), -EINVAL);
	CHECK_INT(units_parse_rate("fast", &r, err, sizeof(err)), -EINVAL);

	CHECK_INT(units_parse_size("64k", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 65536);
	CHECK_INT(units_parse_size("10MiB", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 10 * 1048576);
	CHECK_INT(units_parse_size("1MB", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 1000000);
	CHECK_INT(units_parse_size("12", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 12);
	CHECK_INT(units_parse_size("12q", &v, err, sizeof(err)), -EINVAL);

	CHECK_INT(units_parse_count("42", 1, 100, &v, err, sizeof(err)), 0);
	CHECK_INT(v, 42);
	CHECK_INT(units_parse_count("0", 1, 100, &v, err, sizeof(err)), -EINVAL);
	CHECK_INT(units_parse_count("101", 1, 100, &v, err, sizeof(err)), -EINVAL);
	CHECK_INT(units_parse_count("4x", 1, 100, &v, err, sizeof(err)), -EINVAL);
	CHECK_INT(units_parse_count("-4", 0, 100, &v, err, sizeof(err)), -EINVAL);
	CHECK_INT(units_parse_count("99999999999999999999999", 0, UINT64_MAX, &v, err, sizeof(err)),
	          -EINVAL);
}

TEST(units_formatting)
{
	char s[32];

	units_format_duration_us(12.5, s, sizeof(s));
	CHECK_STR(s, "12.50us");
	units_format_duration_us(1500, s, sizeof(s));
	CHECK_STR(s, "1.50ms");
	units_format_duration_us(2.5e6, s, sizeof(s));
	CHECK_STR(s, "2.50s");
	units_format_bytes(2048, s, sizeof(s));
	CHECK_STR(s, "2.00KB");
	units_format_bytes(10, s, sizeof(s));
	CHECK_STR(s, "10.00B");
}

TEST(url_parse_forms)
{
	char err[128];
	url_t u;

	CHECK_INT(url_parse("http://127.0.0.1:8080/health?x=1#frag", &u, err, sizeof(err)), 0);
	CHECK(!u.tls);
	CHECK_STR(u.host, "127.0.0.1");
	CHECK_INT(u.port, 8080);
	CHECK_STR(u.target, "/health?x=1");
	CHECK_INT(url_parse("https://example.com", &u, err, sizeof(err)), 0);
	CHECK(u.tls);
	CHECK_INT(u.port, 443);
	CHECK_STR(u.target, "/");
	CHECK_INT(url_parse("HTTP://[::1]:81?q", &u, err, sizeof(err)), 0);
	CHECK_STR(u.host, "::1");
	CHECK_INT(u.port, 81);
	CHECK_STR(u.target, "/?q");
	CHECK_INT(url_parse("http://localhost", &u, err, sizeof(err)), 0);
	CHECK_INT(u.port, 80);
}

TEST(url_parse_rejects)
{
	static const char *const bad[] = {
	    "",
	    "localhost:80",
	    "ftp://x/",
	    "http://",
	    "http:///path",
	    "http://h:0/",
	    "http://h:65536/",
	    "http://h:12a/",
	    "http://user@h/",
	    "http://[::1/",
	    "http://h/a b",
	    "http://h:/",
	    "http://[::1]x/",
	    "http://h\x01/",
	};
	char err[128];
	url_t u;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_INT(url_parse(bad[i], &u, err, sizeof(err)), -EINVAL);
		CHECK(err[0] != '\0');
	}
}

TEST(url_parse_names_the_fault)
{
	static char long_host[400], long_path[9000];
	char err[128];
	url_t u;

	CHECK_INT(url_parse("http:///x", &u, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "no host in URL");
	memcpy(long_host, "http://", 7);
	memset(long_host + 7, 'a', 300);
	CHECK_INT(url_parse(long_host, &u, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "host in URL is longer than 255 characters");
	memcpy(long_path, "http://h/", 9);
	memset(long_path + 9, 'a', sizeof(long_path) - 10);
	CHECK_INT(url_parse(long_path, &u, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "URL path is longer than 8,190 bytes");
}

TEST(units_booleans)
{
	static const char *const yes[] = {"true", "TRUE", "True", "1", "yes", "YES", "on", "On"};
	static const char *const no[] = {"false", "False", "0", "no", "NO", "off", "OFF"};
	static const char *const bad[] = {"",  "maybe",   "2",   "-1",  "y",  "n",
	                                  "t", "enabled", " on", "on ", "10", "truee"};
	char err[300];
	bool b;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		CHECK_INT(units_parse_bool(yes[i], &b, err, sizeof(err)), 0);
		CHECK(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		CHECK_INT(units_parse_bool(no[i], &b, err, sizeof(err)), 0);
		CHECK(!b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(units_parse_bool(bad[i], &b, err, sizeof(err)), -EINVAL);
		CHECK(strstr(err, "is not a boolean") != NULL);
	}
	CHECK_INT(units_parse_bool("maybe", &b, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "'maybe' is not a boolean (true/false, 1/0, yes/no, on/off)");
}
