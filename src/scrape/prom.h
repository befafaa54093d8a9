/* prom: a parser for the Prometheus text exposition format (0.0.4, and the sample lines of
 * OpenMetrics) — pure, like the HTTP codec: no I/O, no allocation, slices into the caller's
 * text. Comments (# HELP, # TYPE, # EOF) are skipped; a malformed line is an error for that
 * line only, never a read outside the text. */
#ifndef SURGE_PROM_H
#define SURGE_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/http.h" /* http_slice_t: the one slice type */

#define PROM_VALUE_MAX 64 /* characters of a value or timestamp token */

/* One sample line: name{labels} value [timestamp]. Slices point into the parsed text. */
typedef struct prom_sample {
	http_slice_t name;   /* as written; a quoted name (UTF-8 style) without its quotes */
	http_slice_t labels; /* what lies between the braces, validated; empty when none */
	double value;        /* NaN and ±Inf included */
	bool has_timestamp;
	int64_t timestamp_ms;
} prom_sample_t;

enum prom_line {
	PROM_LINE_ERROR = -1, /* malformed; *err says where and what */
	PROM_LINE_SKIP = 0,   /* blank or a comment */
	PROM_LINE_SAMPLE = 1,
};

/* Parses one line (without its '\n'; a trailing '\r' is tolerated). On PROM_LINE_ERROR, err
 * holds "column N: what" (when err is not NULL). */
enum prom_line prom_parse_line(const char *line, size_t len, prom_sample_t *out, char *err,
                               size_t errlen);

typedef void (*prom_sample_fn)(void *ctx, const prom_sample_t *s);

typedef struct prom_stats {
	size_t samples;
	size_t bad_lines;
	char first_error[160]; /* "line N, column M: what" for the first bad line */
} prom_stats_t;

/* Parses text[0..len): fn for every valid sample, bad lines counted and skipped. */
void prom_parse(const char *text, size_t len, prom_sample_fn fn, void *ctx, prom_stats_t *st);

/* The value of label `name`, unescaped into value[0..cap) (NUL-terminated, cut at cap - 1).
 * Returns its unescaped length, or -1 when the sample has no such label. */
int prom_label(const prom_sample_t *s, const char *name, char *value, size_t cap);
/* The sample's name equals `name` exactly. */
bool prom_name_is(const prom_sample_t *s, const char *name);

#endif
