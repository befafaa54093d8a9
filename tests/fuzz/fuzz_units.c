/* libFuzzer driver for core/units: durations, rates, sizes, percentages, counts and plain
 * numbers as users type them, and the formatters that print them back. Beyond "no crash":
 * every accepted value is within its documented bounds, a value printed in its base unit parses
 * back to itself, and the formatters never write past the room they are given. */
#include "core/units.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define MAX_DURATION_NS 8.64e17 /* 10,000 days */

static void check_duration(const char *s, uint64_t unit_ns)
{
	char err[256], text[48];
	uint64_t ns, again;

	err[0] = '\0';
	if (units_parse_duration(s, unit_ns, &ns, err, sizeof(err)) < 0) {
		fuzz_check_message(err, sizeof(err));
		return;
	}
	if ((double)ns > MAX_DURATION_NS + 1)
		abort();
	snprintf(text, sizeof(text), "%lluns", (unsigned long long)ns);
	if (units_parse_duration(text, 1, &again, err, sizeof(err)) < 0 || again != ns)
		abort();
}

static void check_rate(const char *s)
{
	char err[256], text[64];
	double rate, again;

	err[0] = '\0';
	if (units_parse_rate(s, &rate, err, sizeof(err)) < 0) {
		fuzz_check_message(err, sizeof(err));
		return;
	}
	if (!(rate >= 0 && rate <= 1e9))
		abort();
	snprintf(text, sizeof(text), "%.17g/s", rate);
	if (units_parse_rate(text, &again, err, sizeof(err)) < 0 || again != rate)
		abort();
}

static void check_size(const char *s)
{
	char err[256], text[32];
	uint64_t bytes, again;

	err[0] = '\0';
	if (units_parse_size(s, &bytes, err, sizeof(err)) < 0) {
		fuzz_check_message(err, sizeof(err));
		return;
	}
	if (bytes > 1000000000000000000ull)
		abort();
	snprintf(text, sizeof(text), "%llu", (unsigned long long)bytes);
	if (units_parse_size(text, &again, err, sizeof(err)) < 0 || again != bytes)
		abort();
}

static void check_percent(const char *s, double max)
{
	char err[256];
	double v;

	err[0] = '\0';
	if (units_parse_percent(s, max, &v, err, sizeof(err)) < 0) {
		fuzz_check_message(err, sizeof(err));
		return;
	}
	if (!(v >= 0 && v <= max) || !isfinite(v))
		abort();
}

static void check_count(const char *s, uint64_t min, uint64_t max)
{
	char err[256], text[32];
	uint64_t v, again;

	err[0] = '\0';
	if (units_parse_count(s, min, max, &v, err, sizeof(err)) < 0) {
		fuzz_check_message(err, sizeof(err));
		return;
	}
	if (v < min || v > max)
		abort();
	snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
	if (units_parse_count(text, min, max, &again, err, sizeof(err)) < 0 || again != v)
		abort();
}

/* Drops the digit grouping of units_format_count/number. */
static void strip_commas(const char *in, char *out)
{
	for (; *in; in++)
		if (*in != ',')
			*out++ = *in;
	*out = '\0';
}

/* A plain number, and what units_format_number makes of it: three decimals at most, so it reads
 * back within half a thousandth (and the double's own rounding). */
static void check_number(const char *s)
{
	const char *rest;
	char shown[64], plain[64];
	double v, back;

	if (units_parse_number(s, &v, &rest) < 0)
		return;
	if (!(v >= 0) || !isfinite(v) || rest < s || rest > s + strlen(s))
		abort();
	if (v >= 1e19)
		return; /* printed as ∞ */
	units_format_number(v, shown, sizeof(shown));
	strip_commas(shown, plain);
	if (units_parse_number(plain, &back, &rest) < 0 || *rest)
		abort();
	if (fabs(back - v) > 0.0005 + v * 1e-15)
		abort();
}

/* Every formatter into exactly `room` bytes of heap: ASan sees a write past them. */
static void check_formatters(double v, uint64_t n, size_t room)
{
	char *out = malloc(room ? room : 1);

	if (!out)
		abort();
	units_format_duration_us(v, out, room);
	if (room && !memchr(out, '\0', room))
		abort();
	units_format_bytes(v, out, room);
	if (room && !memchr(out, '\0', room))
		abort();
	units_format_count(n, out, room);
	if (room && !memchr(out, '\0', room))
		abort();
	units_format_number(v, out, room);
	if (room && !memchr(out, '\0', room))
		abort();
	free(out);
}

/* Byte 0 steers the parameters (default unit, limits, the formatters' room); the rest is text. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t units_ns[] = {1, 1000, 1000000, 1000000000};
	uint64_t h = fuzz_hash(data, size), lo, hi;
	char *s;
	double v;

	if (size < 1)
		return 0;
	s = fuzz_string(data + 1, size - 1);
	check_duration(s, units_ns[data[0] & 3]);
	check_rate(s);
	check_size(s);
	check_percent(s, data[0] & 4 ? INFINITY : 1);
	lo = h & 0xff;
	hi = data[0] & 8 ? UINT64_MAX : lo + (h >> 8 & 0xffffff);
	check_count(s, lo, hi);
	check_number(s);
	memcpy(&v, &h, sizeof(v));
	check_formatters(v, h, data[0] >> 4);
	if (units_parse_number(s, &v, &(const char *){NULL}) == 0)
		check_formatters(v, (uint64_t)fmin(v, 1e19), data[0] >> 4);
	free(s);
	return 0;
}
