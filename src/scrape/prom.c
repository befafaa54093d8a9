/* prom: the Prometheus text exposition format, one line at a time. Every read is bounded by
 * the line's length, so hostile text (a fuzzer's, or a broken exporter's) costs a counted bad
 * line, never a crash. */
#include "scrape/prom.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One item of a label list: name="value", or a bare quoted metric name (UTF-8 style). */
typedef struct label_item {
	http_slice_t key;   /* the label name, or the quoted metric name, without quotes */
	http_slice_t value; /* raw, escapes still in, without quotes */
	bool quoted_key;
	bool has_value;
} label_item_t;

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_name_start(char c, bool metric)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':');
}

static bool is_name_char(char c, bool metric)
{
	return is_name_start(c, metric) || (c >= '0' && c <= '9');
}

static size_t skip_blanks(const char *p, size_t len, size_t i)
{
	while (i < len && is_blank(p[i]))
		i++;
	return i;
}

/* A name at p[i]: its end, or i when there is none. */
static size_t scan_name(const char *p, size_t len, size_t i, bool metric)
{
	if (i >= len || !is_name_start(p[i], metric))
		return i;
	while (i < len && is_name_char(p[i], metric))
		i++;
	return i;
}

/* A quoted string opening at p[i]: its contents into *s and the index after the closing
 * quote; 0 when it is not closed (an escape may hide any character, even a quote). */
static size_t scan_quoted(const char *p, size_t len, size_t i, http_slice_t *s)
{
	size_t start = ++i;

	while (i < len) {
		if (p[i] == '\\') {
			if (i + 1 >= len)
				return 0;
			i += 2;
		} else if (p[i] == '"') {
			s->p = p + start;
			s->len = i - start;
			return i + 1;
		} else {
			i++;
		}
	}
	return 0;
}

/* The next item of a label list at p[*pos], with the ',' after it: 1 with *item, 0 at the
 * closing '}' or at the end of the text (*pos then points at it), -1 when malformed (*pos at
 * the fault, *why saying what). */
static int next_label(const char *p, size_t len, size_t *pos, label_item_t *item, const char **why)
{
	size_t i = skip_blanks(p, len, *pos), end;

	*pos = i;
	if (i >= len || p[i] == '}')
		return 0;
	memset(item, 0, sizeof(*item));
	if (p[i] == '"') {
		end = scan_quoted(p, len, i, &item->key);
		if (!end)
			return *why = "unterminated quoted name", -1;
		item->quoted_key = true;
	} else {
		end = scan_name(p, len, i, false);
		if (end == i)
			return *why = "expected a label name", -1;
		item->key.p = p + i;
		item->key.len = end - i;
	}
	i = skip_blanks(p, len, end);
	if (i < len && p[i] == '=') {
		i = skip_blanks(p, len, i + 1);
		if (i >= len || p[i] != '"')
			return *pos = i, *why = "expected '\"' to open a label value", -1;
		end = scan_quoted(p, len, i, &item->value);
		if (!end)
			return *pos = i, *why = "unterminated label value", -1;
		item->has_value = true;
		i = skip_blanks(p, len, end);
	} else if (!item->quoted_key) {
		return *pos = i, *why = "expected '=' after a label name", -1;
	}
	if (i < len && p[i] == ',')
		i++;
	else if (i < len && p[i] != '}')
		return *pos = i, *why = "expected ',' or '}' after a label", -1;
	*pos = i;
	return 1;
}

/* The label list after '{' at p[*pos]; on success *pos is just after the '}'. */
static int parse_labels(const char *p, size_t len, size_t *pos, prom_sample_t *out,
                        const char **why)
{
	size_t i = *pos, start = i;
	label_item_t item;
	int rc, items = 0;

	while ((rc = next_label(p, len, &i, &item, why)) == 1) {
		if (!item.has_value) {
			if (items > 0 ||
			    out->name.len) /* only the first item may name the metric */
				return *pos = i, *why = "a quoted metric name must come first", -1;
			out->name = item.key;
		}
		items++;
	}
	if (rc < 0 || i >= len)
		return *pos = i, *why = rc < 0 ? *why : "expected '}'", -1;
	out->labels.p = p + start;
	out->labels.len = i - start;
	*pos = i + 1;
	return 0;
}

/* A whitespace-free token at p[*pos] into a NUL-terminated copy; false when empty or long. */
static bool take_token(const char *p, size_t len, size_t *pos, char *tok)
{
	size_t i = *pos, n = 0;

	while (i < len && !is_blank(p[i]) && p[i] != '\r') {
		if (n + 1 >= PROM_VALUE_MAX)
			return false;
		tok[n++] = p[i++];
	}
	tok[n] = '\0';
	*pos = i;
	return n > 0;
}

static bool parse_value(const char *tok, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(tok, &end);
	return end != tok && *end == '\0';
}

static bool parse_timestamp(const char *tok, int64_t *ts)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(tok, &end, 10);
	if (end == tok || *end || errno == ERANGE)
		return false;
	*ts = v;
	return true;
}

static enum prom_line fail(char *err, size_t errlen, size_t column, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "column %zu: %s", column + 1, why);
	return PROM_LINE_ERROR;
}

enum prom_line prom_parse_line(const char *line, size_t len, prom_sample_t *out, char *err,
                               size_t errlen)
{
	char tok[PROM_VALUE_MAX];
	const char *why = NULL;
	size_t i, end;

	memset(out, 0, sizeof(*out));
	if (len && line[len - 1] == '\r')
		len--;
	i = skip_blanks(line, len, 0);
	if (i == len || line[i] == '#')
		return PROM_LINE_SKIP;
	end = scan_name(line, len, i, true);
	if (end == i && line[i] != '{')
		return fail(err, errlen, i, "expected a metric name");
	out->name.p = line + i;
	out->name.len = end - i;
	i = skip_blanks(line, len, end);
	if (i < len && line[i] == '{') {
		i++;
		if (parse_labels(line, len, &i, out, &why) < 0)
			return fail(err, errlen, i, why);
		i = skip_blanks(line, len, i);
	} else if (i == end) {
		return fail(err, errlen, i, "expected '{' or a blank after the metric name");
	}
	if (!out->name.len)
		return fail(err, errlen, i, "no metric name");
	end = i;
	if (!take_token(line, len, &i, tok) || !parse_value(tok, &out->value))
		return fail(err, errlen, end, "expected a number (or NaN, +Inf, -Inf)");
	i = skip_blanks(line, len, i);
	if (i < len) {
		end = i;
		if (!take_token(line, len, &i, tok) || !parse_timestamp(tok, &out->timestamp_ms))
			return fail(err, errlen, end, "expected an integer timestamp in ms");
		out->has_timestamp = true;
		i = skip_blanks(line, len, i);
		if (i < len)
			return fail(err, errlen, i, "unexpected text after the timestamp");
	}
	return PROM_LINE_SAMPLE;
}

void prom_parse(const char *text, size_t len, prom_sample_fn fn, void *ctx, prom_stats_t *st)
{
	size_t start = 0, line_no = 0;
	char err[120];

	memset(st, 0, sizeof(*st));
	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - text) : len;
		prom_sample_t s;

		line_no++;
		switch (prom_parse_line(text + start, end - start, &s, err, sizeof(err))) {
		case PROM_LINE_SAMPLE:
			st->samples++;
			if (fn)
				fn(ctx, &s);
			break;
		case PROM_LINE_ERROR:
			if (!st->bad_lines++)
				snprintf(st->first_error, sizeof(st->first_error), "line %zu, %s",
				         line_no, err);
			break;
		case PROM_LINE_SKIP: break;
		}
		start = end + 1;
	}
}

/* Copies raw into out, cut at cap - 1; returns the full unescaped length. Only the format's
 * three escapes (\\ \" \n) are decoded; any other backslash is kept as written. */
static size_t unescape(http_slice_t raw, char *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < raw.len; i++) {
		char c = raw.p[i];

		if (c == '\\' && i + 1 < raw.len) {
			char e = raw.p[i + 1];

			if (e == 'n' || e == '\\' || e == '"') {
				c = e == 'n' ? '\n' : e;
				i++;
			}
		}
		if (n + 1 < cap)
			out[n] = c;
		n++;
	}
	if (cap)
		out[n < cap ? n : cap - 1] = '\0';
	return n;
}

int prom_label(const prom_sample_t *s, const char *name, char *value, size_t cap)
{
	size_t pos = 0, name_len = strlen(name);
	const char *why;
	label_item_t item;

	while (next_label(s->labels.p, s->labels.len, &pos, &item, &why) == 1) {
		if (item.has_value && item.key.len == name_len &&
		    memcmp(item.key.p, name, name_len) == 0)
			return (int)unescape(item.value, value, cap);
	}
	return -1;
}

bool prom_name_is(const prom_sample_t *s, const char *name)
{
	size_t n = strlen(name);

	return s->name.len == n && memcmp(s->name.p, name, n) == 0;
}
