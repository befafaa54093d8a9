/* json: a streaming JSON writer into a bounded buf. Errors are sticky: check w->err once
 * at the end instead of after every call. */
#ifndef SURGE_JSON_H
#define SURGE_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

#define JSON_MAX_DEPTH 32

typedef struct json_writer {
	buf_t *out;
	int err; /* first error: -ENOBUFS, -ENOMEM, or -EINVAL for misuse */
	int depth;
	bool pretty;
	bool first[JSON_MAX_DEPTH]; /* no member written yet at this depth */
	bool after_key;
} json_writer_t;

void jsonw_init(json_writer_t *w, buf_t *out, bool pretty);
void jsonw_object_begin(json_writer_t *w);
void jsonw_object_end(json_writer_t *w);
void jsonw_array_begin(json_writer_t *w);
void jsonw_array_end(json_writer_t *w);
void jsonw_key(json_writer_t *w, const char *key);
void jsonw_string(json_writer_t *w, const char *s);
void jsonw_string_n(json_writer_t *w, const char *s, size_t len);
void jsonw_int(json_writer_t *w, int64_t v);
void jsonw_uint(json_writer_t *w, uint64_t v);
/* Finite values with up to `digits` decimals and trailing zeros trimmed; NaN/Inf as null. */
void jsonw_double(json_writer_t *w, double v, int digits);
void jsonw_bool(json_writer_t *w, bool v);
void jsonw_null(json_writer_t *w);
/* Writes already-valid JSON text as a value (a document embedded in another). */
void jsonw_raw(json_writer_t *w, const char *text, size_t len);

#endif
