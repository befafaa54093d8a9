/* serve_dist: the strict parser for value distributions (constant, weighted list, uniform,
 * normal, lognormal) over a pointer+length slice, and the sampler that draws from them. */
#include "serve/serve_dist.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VALUE_LIMIT   1e18 /* in base units: about 31 years in ns, an exabyte in bytes */
#define INTEGER_LIMIT 1000000000000000000ull
#define NUMBER_MAX    63                 /* longest number text copied out for strtod */
#define WORD_SHOWN    16                 /* longest unknown word quoted back in an error */
#define Z_99          2.3263478740408408 /* the standard normal's 99th percentile */
#define TWO_PI        6.283185307179586
#define DEFAULT_STATE 0x9E3779B97F4A7C15ull /* stands in for a zero xorshift state */

/* Where the parser is in the caller's slice, and where its error goes. */
struct cursor {
	const char *text;
	size_t len, pos;
	dist_unit_t unit;
	char *err;
	size_t errlen;
};

struct suffix {
	const char *name;
	double factor;
};

static const struct suffix time_suffixes[] = {
    {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}, {NULL, 0},
};

static const struct suffix byte_suffixes[] = {
    {"B", 1},          {"k", 1024},       {"K", 1024},         {"KiB", 1024},    {"KB", 1e3},
    {"kB", 1e3},       {"m", 1048576},    {"M", 1048576},      {"MiB", 1048576}, {"MB", 1e6},
    {"g", 1073741824}, {"G", 1073741824}, {"GiB", 1073741824}, {"GB", 1e9},      {NULL, 0},
};

static const struct {
	const char *name;
	dist_kind_t kind;
} functions[] = {
    {"uniform", DIST_UNIFORM},
    {"normal", DIST_NORMAL},
    {"lognormal", DIST_LOGNORMAL},
};

/* Every error names its offset first, so a user can find the spot in a long query. */
static int fail(struct cursor *c, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct cursor *c, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->err || c->errlen == 0)
		return -EINVAL;
	n = snprintf(c->err, c->errlen, "at offset %zu: ", at);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* The next byte, or -1 at the end: the slice has no terminator to stop on. */
static int peek(const struct cursor *c)
{
	return c->pos < c->len ? (unsigned char)c->text[c->pos] : -1;
}

static int peek_at(const struct cursor *c, size_t pos)
{
	return pos < c->len ? (unsigned char)c->text[pos] : -1;
}

static bool is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_letter(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Quotes a byte for a message without ever printing control or non-ASCII bytes raw. */
static const char *describe(int ch, char *out, size_t len)
{
	if (ch < 0)
		snprintf(out, len, "end of input");
	else if (ch > 0x20 && ch < 0x7f)
		snprintf(out, len, "'%c'", ch);
	else
		snprintf(out, len, "byte 0x%02x", ch);
	return out;
}

static int fail_expected(struct cursor *c, const char *what)
{
	char got[16];

	return fail(c, c->pos, "expected %s, got %s", what, describe(peek(c), got, sizeof(got)));
}

static size_t word_length(const struct cursor *c, size_t from)
{
	size_t end = from;

	while (is_letter(peek_at(c, end)))
		end++;
	return end - from;
}

static bool word_is(const struct cursor *c, size_t from, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(c->text + from, word, n) == 0;
}

/* A word where a number belongs: "nan" and "inf" get their own message, as strtod would
 * have taken them. */
static int reject_word(struct cursor *c)
{
	size_t n = word_length(c, c->pos);
	const char *w = c->text + c->pos;

	if ((n == 3 && (strncasecmp(w, "nan", 3) == 0 || strncasecmp(w, "inf", 3) == 0)) ||
	    (n == 8 && strncasecmp(w, "infinity", 8) == 0))
		return fail(c, c->pos, "'%.*s' is not allowed: NaN and infinity are not values",
		            (int)n, w);
	return fail_expected(c, "a number");
}

/* Checks the first byte of a number and turns away what strtod would otherwise accept:
 * signs, words (nan, inf) and hexadecimal. */
static int check_number_start(struct cursor *c)
{
	int ch = peek(c);

	if (ch == '-')
		return fail(c, c->pos, "negative numbers are not allowed");
	if (is_letter(ch))
		return reject_word(c);
	if (!is_digit(ch) && ch != '.')
		return fail_expected(c, "a number");
	if (ch == '0' && (peek_at(c, c->pos + 1) == 'x' || peek_at(c, c->pos + 1) == 'X'))
		return fail(c, c->pos, "hexadecimal numbers are not allowed");
	return 0;
}

/* Skips "e5", "E-3" when an exponent really follows, so "1e" leaves 'e' as a suffix. */
static void skip_exponent(struct cursor *c)
{
	int ch = peek(c);
	size_t at = c->pos + 1;

	if (ch != 'e' && ch != 'E')
		return;
	if (peek_at(c, at) == '+' || peek_at(c, at) == '-')
		at++;
	if (!is_digit(peek_at(c, at)))
		return;
	while (is_digit(peek_at(c, at)))
		at++;
	c->pos = at;
}

/* Reads digits exactly, so an integer just over the limit cannot round down to it. */
static int scan_integer(struct cursor *c, double *out)
{
	size_t start = c->pos;
	uint64_t whole = 0;

	for (; is_digit(peek(c)); c->pos++)
		if (whole <= INTEGER_LIMIT) /* saturates well inside uint64_t */
			whole = whole * 10 + (uint64_t)(peek(c) - '0');
	if (peek(c) == '.')
		return fail(c, c->pos, "integers take no fraction");
	if (c->pos == start)
		return fail(c, start, "expected digits in a number");
	if (whole > INTEGER_LIMIT)
		return fail(c, start, "value is over the limit of 1e18");
	*out = (double)whole;
	return 0;
}

/* Reads an unsigned decimal ("12", "0.25", ".5", "1e3"). The span is copied out because
 * strtod needs a terminator the slice lacks. */
static int scan_decimal(struct cursor *c, double *out)
{
	size_t start = c->pos, digits = 0;
	char copy[NUMBER_MAX + 1];

	for (; is_digit(peek(c)); c->pos++)
		digits++;
	if (peek(c) == '.')
		for (c->pos++; is_digit(peek(c)); c->pos++)
			digits++;
	if (digits == 0)
		return fail(c, start, "expected digits in a number");
	skip_exponent(c);
	if (c->pos - start > NUMBER_MAX)
		return fail(c, start, "number is longer than %d characters", NUMBER_MAX);
	memcpy(copy, c->text + start, c->pos - start);
	copy[c->pos - start] = '\0';
	*out = strtod(copy, NULL);
	if (!isfinite(*out))
		return fail(c, start, "number is too large");
	return 0;
}

static int scan_number(struct cursor *c, bool integer_only, double *out)
{
	if (check_number_start(c) < 0)
		return -EINVAL;
	return integer_only ? scan_integer(c, out) : scan_decimal(c, out);
}

static const struct suffix *suffixes_for(dist_unit_t unit)
{
	return unit == DIST_BYTES ? byte_suffixes : time_suffixes;
}

/* The unit's factor for the letters after a number; none means the unit's bare meaning. */
static int parse_suffix(struct cursor *c, double *factor)
{
	size_t start = c->pos, n = word_length(c, start);
	const struct suffix *s;

	*factor = c->unit == DIST_SECONDS ? 1e9 : c->unit == DIST_MILLISECONDS ? 1e6 : 1;
	if (n == 0)
		return 0;
	if (c->unit == DIST_INTEGER)
		return fail(c, start, "'%.*s': integers take no unit suffix",
		            (int)(n < WORD_SHOWN ? n : WORD_SHOWN), c->text + start);
	for (s = suffixes_for(c->unit); s->name; s++) {
		if (word_is(c, start, n, s->name)) {
			*factor = s->factor;
			c->pos += n;
			return 0;
		}
	}
	return fail(c, start, "unknown unit '%.*s' (expected %s)",
	            (int)(n < WORD_SHOWN ? n : WORD_SHOWN), c->text + start,
	            c->unit == DIST_BYTES ? "B, k/K, KiB, KB/kB, m/M, MiB, MB, g/G, GiB or GB"
	                                  : "ns, us, ms, s, m or h");
}

/* One value with its unit, rounded to whole base units (ns, bytes) and bounded. */
static int parse_value(struct cursor *c, double *out)
{
	size_t start = c->pos;
	double number, factor;

	if (scan_number(c, c->unit == DIST_INTEGER, &number) < 0 || parse_suffix(c, &factor) < 0)
		return -EINVAL;
	*out = round(number * factor);
	if (!(*out <= VALUE_LIMIT))
		return fail(c, start, "value is over the limit of 1e18 %s",
		            c->unit == DIST_BYTES ? "bytes" : "ns");
	return 0;
}

/* A weight is a bare percentage: no unit, and bounded like a value. */
static int parse_weight(struct cursor *c, double *out)
{
	size_t start = c->pos;

	if (scan_number(c, false, out) < 0)
		return -EINVAL;
	if (is_letter(peek(c)))
		return fail(c, c->pos, "a weight is a plain percentage and takes no unit");
	if (*out > VALUE_LIMIT)
		return fail(c, start, "weight is over the limit of 1e18");
	return 0;
}

/* Gives unweighted choices equal shares of what the explicit weights (at most 100 in all)
 * leave below 100. */
static void share_weights(dist_t *d, const bool *weighted, double sum)
{
	double left = sum < 100 ? 100 - sum : 0;
	int unweighted = 0;

	for (int i = 0; i < d->count; i++)
		unweighted += !weighted[i];
	for (int i = 0; i < d->count; i++)
		if (!weighted[i])
			d->weights[i] = left / unweighted;
}

/* "v", or "v[:w],v[:w],..." — one unweighted choice alone is a constant. */
static int parse_list(struct cursor *c, dist_t *d)
{
	bool weighted[DIST_MAX_CHOICES] = {false};
	double sum = 0;
	int i;

	for (;;) {
		if (d->count == DIST_MAX_CHOICES)
			return fail(c, c->pos, "more than %d choices", DIST_MAX_CHOICES);
		i = d->count++;
		if (parse_value(c, &d->values[i]) < 0)
			return -EINVAL;
		weighted[i] = peek(c) == ':';
		if (weighted[i]) {
			size_t at = ++c->pos;

			if (parse_weight(c, &d->weights[i]) < 0)
				return -EINVAL;
			sum += d->weights[i];
			/* weights are shares of all requests: past 100 % they cannot all be had */
			if (sum > 100 + 1e-9)
				return fail(
				    c, at,
				    "the weights add up to %g%%, more than 100%% of requests", sum);
		}
		if (peek(c) < 0)
			break;
		if (peek(c) != ',')
			return fail_expected(c, weighted[i] ? "',' or end of input"
			                                    : "':', ',' or end of input");
		c->pos++;
	}
	d->kind = d->count == 1 && !weighted[0] ? DIST_CONSTANT : DIST_WEIGHTED;
	share_weights(d, weighted, sum);
	return 0;
}

static int expect(struct cursor *c, int ch, const char *what)
{
	if (peek(c) != ch)
		return fail_expected(c, what);
	c->pos++;
	return 0;
}

/* Checks the parameters against the function's domain; lognormal keeps mu and sigma in a and
 * b, derived so that exp(mu + sigma * Z_99) is the asked p99. */
static int check_parameters(struct cursor *c, dist_t *d, size_t a_at, size_t b_at)
{
	if (d->kind == DIST_UNIFORM && d->a > d->b)
		return fail(c, b_at, "uniform(a,b) needs a <= b");
	if (d->kind != DIST_LOGNORMAL)
		return 0;
	if (d->a <= 0)
		return fail(c, a_at, "lognormal median must be greater than 0");
	if (d->b < d->a)
		return fail(c, b_at, "lognormal p99 must not be below the median");
	d->b = log(d->b / d->a) / Z_99;
	d->a = log(d->a);
	return 0;
}

/* The index of the function named by the n letters at from, or -1. */
static int find_function(const struct cursor *c, size_t from, size_t n)
{
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
		if (word_is(c, from, n, functions[i].name))
			return (int)i;
	return -1;
}

/* "name(a,b)" with nothing after the closing parenthesis. */
static int parse_function(struct cursor *c, size_t name_len, dist_t *d)
{
	int i = find_function(c, c->pos, name_len);
	size_t a_at, b_at;

	if (i < 0)
		return fail(c, c->pos,
		            "unknown function '%.*s' (expected uniform, normal or lognormal)",
		            (int)(name_len < WORD_SHOWN ? name_len : WORD_SHOWN), c->text + c->pos);
	d->kind = functions[i].kind;
	c->pos += name_len;
	if (expect(c, '(', "'('") < 0)
		return -EINVAL;
	a_at = c->pos;
	if (parse_value(c, &d->a) < 0 || expect(c, ',', "','") < 0)
		return -EINVAL;
	b_at = c->pos;
	if (parse_value(c, &d->b) < 0 || expect(c, ')', "')'") < 0)
		return -EINVAL;
	if (peek(c) >= 0)
		return fail_expected(c, "end of input after ')'");
	return check_parameters(c, d, a_at, b_at);
}

int dist_parse(const char *text, size_t len, dist_unit_t unit, dist_t *d, char *err, size_t errlen)
{
	struct cursor c = {.text = text, .len = len, .unit = unit, .err = err, .errlen = errlen};
	size_t word;
	int rc;

	memset(d, 0, sizeof(*d));
	if (len == 0)
		return fail(&c, 0, "empty value");
	/* a leading word is a function when it is one or is called like one; otherwise the
	 * number parser explains what is wrong with it ("nan", "ten") */
	word = word_length(&c, 0);
	if (word > 0 && (peek_at(&c, word) == '(' || find_function(&c, 0, word) >= 0))
		rc = parse_function(&c, word, d);
	else
		rc = parse_list(&c, d);
	if (rc < 0)
		memset(d, 0, sizeof(*d)); /* a half-parsed d must not be usable */
	return rc;
}

/* xorshift64*: fast, good enough in its high bits, and all its state is the caller's. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state ? *state : DEFAULT_STATE;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, 1) from the top 53 bits. */
static double next_unit(uint64_t *state)
{
	return (double)(next_random(state) >> 11) * 0x1.0p-53;
}

/* A standard normal by Box–Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
static double next_gaussian(uint64_t *state)
{
	double u1 = 1.0 - next_unit(state), u2 = next_unit(state);

	return sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2);
}

/* Walks the cumulative percentages; past them the request keeps its own value. Rounding in
 * weights that sum to 100 must not leave a sliver of leftover, so that case ends on the last
 * choice that has a weight. */
static bool sample_weighted(const dist_t *d, uint64_t *rng, double *out)
{
	double u = next_unit(rng) * 100, cumulative = 0;
	int last = -1;

	for (int i = 0; i < d->count; i++) {
		if (d->weights[i] <= 0)
			continue;
		cumulative += d->weights[i];
		last = i;
		if (u < cumulative) {
			*out = d->values[i];
			return true;
		}
	}
	if (last < 0 || cumulative < 100 - 1e-9)
		return false;
	*out = d->values[last];
	return true;
}

/* *out is left alone when the result is false, so callers may preset their default. */
bool dist_sample(const dist_t *d, uint64_t *rng, double *out)
{
	switch (d->kind) {
	case DIST_CONSTANT: *out = d->values[0]; return true;
	case DIST_WEIGHTED: return sample_weighted(d, rng, out);
	case DIST_UNIFORM: *out = fmin(d->a + next_unit(rng) * (d->b - d->a), d->b); return true;
	case DIST_NORMAL: *out = fmax(0.0, d->a + d->b * next_gaussian(rng)); return true;
	case DIST_LOGNORMAL: *out = exp(d->a + d->b * next_gaussian(rng)); return true;
	}
	return false;
}

/* Only choices that can be drawn count toward a weighted list's maximum. */
double dist_max(const dist_t *d)
{
	double max = 0;

	switch (d->kind) {
	case DIST_CONSTANT: return d->values[0];
	case DIST_WEIGHTED:
		for (int i = 0; i < d->count; i++)
			if (d->weights[i] > 0 && d->values[i] > max)
				max = d->values[i];
		return max;
	case DIST_UNIFORM: return d->b;
	case DIST_NORMAL:
	case DIST_LOGNORMAL: return HUGE_VAL;
	}
	return 0;
}
