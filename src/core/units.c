/* units: strict parsers for durations, rates, sizes and counts, and their formatting. */
#include "core/units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/echo.h"

struct unit {
	const char *suffix;
	double factor;
};

int units_parse_number(const char *s, double *out, const char **rest)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return -EINVAL;
	/* strtod accepts "inf", "nan" and hex; only plain decimals are quantities */
	for (const char *p = s; p < end; p++)
		if (!strchr("0123456789.eE+-", *p))
			return -EINVAL;
	*out = v;
	*rest = end;
	return 0;
}

int units_parse_percent(const char *s, double max, double *out, char *err, size_t errlen)
{
	const char *rest;
	double v;

	if (units_parse_number(s, &v, &rest) < 0 || (*rest && strcmp(rest, "%") != 0)) {
		snprintf(err, errlen, "'%s' is not a percentage (examples: 10%%, 0.1)", ECHO(s));
		return -EINVAL;
	}
	if (*rest == '%')
		v /= 100;
	if (v > max) {
		char limit[32];

		units_format_number(max * 100, limit, sizeof(limit));
		snprintf(err, errlen, "'%s' is more than %s%%", ECHO(s), limit);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int find_unit(const struct unit *units, const char *suffix, double *factor)
{
	for (; units->suffix; units++) {
		if (strcmp(units->suffix, suffix) == 0) {
			*factor = units->factor;
			return 0;
		}
	}
	return -EINVAL;
}

int units_parse_duration(const char *s, uint64_t default_unit_ns, uint64_t *out_ns, char *err,
                         size_t errlen)
{
	static const struct unit units[] = {
	    {"ns", 1},   {"us", 1e3},   {"µs", 1e3},   {"ms", 1e6}, {"s", 1e9},
	    {"m", 60e9}, {"min", 60e9}, {"h", 3600e9}, {NULL, 0},
	};
	const char *rest;
	double v, factor = (double)default_unit_ns, ns;

	if (units_parse_number(s, &v, &rest) < 0 ||
	    (*rest && find_unit(units, rest, &factor) < 0)) {
		snprintf(err, errlen, "'%s' is not a duration (examples: 250ms, 30s, 5m, 1h)",
		         ECHO(s));
		return -EINVAL;
	}
	ns = v * factor;
	if (ns > 1e4 * 86400 * 1e9) {
		snprintf(err, errlen, "duration '%s' is too long (at most 10,000 days)", ECHO(s));
		return -EINVAL;
	}
	*out_ns = (uint64_t)llround(ns);
	return 0;
}

int units_parse_rate(const char *s, double *out_per_s, char *err, size_t errlen)
{
	static const struct unit units[] = {
	    {"", 1}, {"/s", 1}, {"/m", 1.0 / 60}, {"/min", 1.0 / 60}, {"/h", 1.0 / 3600}, {NULL, 0},
	};
	const char *rest;
	double v, factor;

	if (units_parse_number(s, &v, &rest) < 0 || find_unit(units, rest, &factor) < 0 ||
	    v * factor > 1e9) {
		snprintf(err, errlen, "'%s' is not a rate (examples: 500, 500/s, 30000/m)",
		         ECHO(s));
		return -EINVAL;
	}
	*out_per_s = v * factor;
	return 0;
}

int units_parse_size(const char *s, uint64_t *out_bytes, char *err, size_t errlen)
{
	static const struct unit units[] = {
	    {"", 1},           {"b", 1},          {"B", 1},
	    {"k", 1024},       {"K", 1024},       {"KiB", 1024},
	    {"KB", 1e3},       {"kB", 1e3},       {"m", 1048576},
	    {"M", 1048576},    {"MiB", 1048576},  {"MB", 1e6},
	    {"g", 1073741824}, {"G", 1073741824}, {"GiB", 1073741824},
	    {"GB", 1e9},       {NULL, 0},
	};
	const char *rest;
	double v, factor;

	if (units_parse_number(s, &v, &rest) < 0 || find_unit(units, rest, &factor) < 0 ||
	    v * factor > 1e18) {
		snprintf(err, errlen, "'%s' is not a size (examples: 512, 64k, 10MiB, 1GB)",
		         ECHO(s));
		return -EINVAL;
	}
	*out_bytes = (uint64_t)llround(v * factor);
	return 0;
}

int units_parse_cpu_quantity(const char *s, uint64_t *out_millicores, char *err, size_t errlen)
{
	const char *rest;
	double v;

	if (units_parse_number(s, &v, &rest) < 0 || (*rest && strcmp(rest, "m") != 0)) {
		snprintf(err, errlen, "'%s' is not a CPU quantity (examples: 200m, 0.5, 2)",
		         ECHO(s));
		return -EINVAL;
	}
	if (!*rest)
		v *= 1000;
	if (v < 10 || v > 1e6) {
		snprintf(err, errlen, "'%s' is outside 10m..1000 (cores)", ECHO(s));
		return -EINVAL;
	}
	*out_millicores = (uint64_t)llround(v);
	return 0;
}

int units_parse_memory_quantity(const char *s, uint64_t *out_bytes, char *err, size_t errlen)
{
	static const struct unit units[] = {
	    {"", 1},
	    {"k", 1e3},
	    {"M", 1e6},
	    {"G", 1e9},
	    {"T", 1e12},
	    {"P", 1e15},
	    {"E", 1e18},
	    {"Ki", 1024.0},
	    {"Mi", 1048576},
	    {"Gi", 1073741824},
	    {"Ti", 1099511627776.0},
	    {"Pi", 1125899906842624.0},
	    {"Ei", 1152921504606846976.0},
	    {NULL, 0},
	};
	const char *rest;
	double v, factor;

	if (units_parse_number(s, &v, &rest) < 0 || find_unit(units, rest, &factor) < 0) {
		snprintf(err, errlen, "'%s' is not a memory quantity (examples: 128Mi, 1Gi, 500M)",
		         ECHO(s));
		return -EINVAL;
	}
	v *= factor;
	if (v < 1048576 || v > 1152921504606846976.0) {
		snprintf(err, errlen, "'%s' is outside 1Mi..1Ei", ECHO(s));
		return -EINVAL;
	}
	*out_bytes = (uint64_t)llround(v);
	return 0;
}

int units_parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
                      size_t errlen)
{
	char *end, lo[32], hi[32];
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		goto fail;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto fail;
	*out = v;
	return 0;
fail:
	units_format_count(min, lo, sizeof(lo));
	units_format_count(max, hi, sizeof(hi));
	snprintf(err, errlen, "'%s' is not a whole number from %s to %s", ECHO(s), lo, hi);
	return -EINVAL;
}

int units_parse_bool(const char *s, bool *out, char *err, size_t errlen)
{
	static const char *const yes[] = {"true", "1", "yes", "on"};
	static const char *const no[] = {"false", "0", "no", "off"};

	for (size_t i = 0; s && i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
			*out = strcasecmp(s, yes[i]) == 0;
			return 0;
		}
	}
	snprintf(err, errlen, "'%s' is not a boolean (true/false, 1/0, yes/no, on/off)", ECHO(s));
	return -EINVAL;
}

void units_format_duration_us(double us, char *out, size_t len)
{
	if (us >= 1e6)
		snprintf(out, len, "%.2fs", us / 1e6);
	else if (us >= 1e3)
		snprintf(out, len, "%.2fms", us / 1e3);
	else
		snprintf(out, len, "%.2fus", us);
}

void units_format_bytes(double bytes, char *out, size_t len)
{
	static const char *const names[] = {"B", "KB", "MB", "GB", "TB"};
	int i = 0;

	while (bytes >= 1024 && i < 4) {
		bytes /= 1024;
		i++;
	}
	snprintf(out, len, "%.2f%s", bytes, names[i]);
}

/* ---- numbers in messages: what a person reads, never 1e+06 ---- */

void units_format_count(uint64_t v, char *out, size_t len)
{
	char digits[24];
	size_t n = (size_t)snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v),
	       used = 0;

	for (size_t i = 0; i < n && used + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			out[used++] = ',';
		out[used++] = digits[i];
	}
	if (len)
		out[used < len ? used : len - 1] = '\0';
}

void units_format_number(double v, char *out, size_t len)
{
	double whole = floor(fabs(v)), frac = fabs(v) - whole;
	char digits[32], tail[16] = "";

	if (!isfinite(v) || fabs(v) >= 1e19) {
		snprintf(out, len, "%s", isnan(v) ? "none" : v < 0 ? "-∞" : "∞");
		return;
	}
	/* up to three decimals, without trailing zeros: 0.001, 2.5, 1,000,000 */
	snprintf(tail, sizeof(tail), "%.3f", frac);
	if (strcmp(tail, "1.000") == 0)
		whole += 1, tail[0] = '\0';
	else if (strcmp(tail, "0.000") == 0)
		tail[0] = '\0';
	for (size_t n = strlen(tail); n > 0 && tail[n - 1] == '0'; n--)
		tail[n - 1] = '\0';
	units_format_count((uint64_t)whole, digits, sizeof(digits));
	snprintf(out, len, "%s%s%s", v < 0 ? "-" : "", digits, tail[0] ? tail + 1 : "");
}
