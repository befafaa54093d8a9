/* result_doc: a result document (SPEC §2.6) read back as a jansson tree — loading it from a
 * file with clear errors, and the small typed lookups every renderer of a saved result shares
 * (CSV, JUnit, markdown, HDR log, HTML, compare, merge). Loading checks every known key's
 * type and range (result_doc_check), so a mistyped value is refused with its file and key;
 * lookups never fail after that: a missing key gives the caller's default, so sparse
 * documents from older surges render. */
#ifndef SURGE_RESULT_DOC_H
#define SURGE_RESULT_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hist.h"
#include "result/result.h"

/* The largest document read; a result with per-second histograms for a day is ~100 MiB. */
#define RESULT_DOC_MAX (256u * 1024 * 1024)

/* Reads and checks a result document. NULL with err set to one line naming the file:
 * "FILE: No such file or directory", "FILE: empty", "FILE: not a text file (...)",
 * "FILE: starts with a UTF-8 byte-order mark ...", "FILE:LINE:COL: <parser error>",
 * "FILE: not a surge result document (no "tool": "surge")", or result_doc_check's
 * "FILE: KEY: expected ..., got ...". The caller json_decref()s. */
json_t *result_doc_load(const char *path, char *err, size_t errlen);
/* The same checks on a document already in memory; name is used in messages. */
json_t *result_doc_parse(const char *name, const char *text, size_t len, char *err, size_t errlen);

/* The contents check result_doc_parse applies (result_doc_check.c): every known key, where
 * present, has its type and range (counts are non-negative integers, latencies and durations
 * non-negative numbers, rates fractions 0..1, times RFC 3339, histograms decode); unknown
 * keys pass. 0, or -EINVAL with "NAME: totals.requests: expected a non-negative integer, got
 * \"many\"" in err (values echoed cut at 200 characters). */
int result_doc_check(const json_t *doc, const char *name, char *err, size_t errlen);

/* What a document is read for (result_doc_use_t, result/result.h): 0, or -EINVAL with "NAME:
 * totals: missing (surge compare needs it)". */
int result_doc_require(const json_t *doc, const char *name, result_doc_use_t use, char *err,
                       size_t errlen);

/* Member lookups on an object (obj may be NULL or not an object: the default is returned).
 * Numbers accept JSON integers and reals; counts clamp negatives to 0. */
const json_t *result_doc_get(const json_t *obj, const char *key);
double result_doc_number(const json_t *obj, const char *key, double def);
uint64_t result_doc_count(const json_t *obj, const char *key, uint64_t def);
const char *result_doc_string(const json_t *obj, const char *key, const char *def);
bool result_doc_bool(const json_t *obj, const char *key, bool def);
/* NULL unless the member exists and has that type. */
const json_t *result_doc_object(const json_t *obj, const char *key);
const json_t *result_doc_array(const json_t *obj, const char *key);
/* A dotted path from the root ("latency_ms.p95", "assessment.targets.p95_ms"); NULL when any
 * step is missing. Keys containing dots cannot be reached this way: use result_doc_get. */
const json_t *result_doc_path(const json_t *doc, const char *path);
double result_doc_path_number(const json_t *doc, const char *path, double def);

/* The number of a JSON value (integer or real); def for anything else. */
double result_doc_value_number(const json_t *v, double def);
uint64_t result_doc_value_count(const json_t *v, uint64_t def);

/* "METHOD name" of an endpoint object (its key in "histograms"), e.g. "GET /health". */
void result_doc_endpoint_key(const json_t *endpoint, char *out, size_t outlen);

/* Decodes histograms[key] ("all", or an endpoint key) into h (the caller owns h, ~190 KB:
 * allocate it). 0; -ENOENT when the document has no such histogram (h left empty);
 * -EINVAL when it is malformed; -ENOMEM. */
int result_doc_histogram(const json_t *doc, const char *key, hist_t *h);
/* Decodes one base64 histogram string value (a timeline point's "hist", ...), same returns. */
int result_doc_histogram_value(const json_t *text, hist_t *h);

/* A threshold's measured value in its expression's unit: "243.000 ms" (latencies),
 * "1.25%" (error_rate), "512.3/s" (rps), or "nothing measured" when value is not a number. */
void result_doc_threshold_value(const char *expr, const json_t *value, char *out, size_t len);
/* The same for a value (NAN: nothing measured). */
void result_threshold_text(const char *expr, double value, char *out, size_t len);

/* started_at (RFC 3339, UTC "Z" or an offset) as seconds since the epoch; false when the
 * document has none or it does not parse. */
bool result_doc_started_at(const json_t *doc, double *epoch_s);
/* The same for one RFC 3339 text. */
bool result_doc_parse_time(const char *s, double *epoch_s);

/* The start of timeline point i, seconds from the run's start: the previous point's "t"
 * (0 for the first), since "t" is the end of the interval. */
double result_doc_point_start(const json_t *timeline, size_t i);

#endif
