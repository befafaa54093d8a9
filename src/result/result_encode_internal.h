/* result_encode_internal: what the files of the encoder share — the encoding in progress and
 * the small key/value writers. Not for use outside result_encode*.c. */
#ifndef SURGE_RESULT_ENCODE_INTERNAL_H
#define SURGE_RESULT_ENCODE_INTERNAL_H

#include "core/buf.h"
#include "core/hist.h"
#include "core/json.h"
#include "result/result.h"

typedef struct enc {
	json_writer_t w;
	const result_t *r;
	hist_t *h;           /* scratch: one sparse histogram expanded at a time */
	buf_t text;          /* scratch: one histogram's base64 */
	int rc;              /* first histogram encoding failure */
	bool no_point_hists; /* result_encode_compact: timeline[].hist left out */
} enc_t;

static inline void key_number(json_writer_t *w, const char *key, double v, int digits)
{
	jsonw_key(w, key);
	jsonw_double(w, v, digits);
}

static inline void key_count(json_writer_t *w, const char *key, uint64_t v)
{
	jsonw_key(w, key);
	jsonw_uint(w, v);
}

static inline void key_string(json_writer_t *w, const char *key, const char *s)
{
	jsonw_key(w, key);
	jsonw_string(w, s);
}

static inline void key_verdict(json_writer_t *w, const char *key, bool ok)
{
	key_string(w, key, ok ? "PASS" : "FAIL");
}

/* The verdict sections (result_encode_verdicts.c): thresholds, assessment, the target,
 * recommendations and cost, and the generator with its self-check. */
void result_encode_thresholds(enc_t *e);
void result_encode_assessment(enc_t *e);
void result_encode_advice(enc_t *e);
void result_encode_generator(enc_t *e);

#endif
