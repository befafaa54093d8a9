/* libFuzzer driver for result documents read back (result_doc_parse and result_doc_check, the
 * input of `surge report`, `surge compare` and `surge merge`) and for what reads them: the
 * renderers, the comparison and the merge. Beyond "no crash": an accepted document passes the
 * check again once written out and read back, compared with itself it shows no regression and
 * no mismatch, and a merge of it is itself a document the checker accepts. A rejection names
 * the document, on one line. */
#include "report/report_compare.h"
#include "report/report_outputs.h"
#include "report/report.h"
#include "result/result.h"
#include "result/result_doc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define NAME "fuzz.json"

static void check_rejection(const char *err, size_t errlen)
{
	fuzz_check_message(err, errlen);
	if (strncmp(err, NAME, strlen(NAME)) != 0)
		abort();
}

/* Written out and read back, the document is still one (and the same one). */
static void check_round_trip(const json_t *doc)
{
	char err[1024];
	char *text = json_dumps(doc, JSON_COMPACT);
	json_t *again;

	if (!text)
		return; /* out of memory */
	again = result_doc_parse(NAME, text, strlen(text), err, sizeof(err));
	if (!again || !json_equal(again, doc))
		abort();
	json_decref(again);
	free(text);
}

static void check_self_compare(const result_t *doc);

/* An accepted document reads into the typed result, which renders, compares with itself when
 * it has what compare needs, and whose encoding the checker accepts again. */
static void check_model(const json_t *doc, bool comparable)
{
	int (*const render[])(const result_t *, buf_t *, char *, size_t) = {
	    report_csv_stats, report_csv_history, report_csv_failures,
	    report_junit,     report_hdrlog,      report_markdown,
	};
	char err[1024], *text = json_dumps(doc, JSON_COMPACT);
	result_t r;
	json_t *again;
	buf_t out;

	if (!text)
		return; /* out of memory */
	if (result_decode(NAME, text, strlen(text), &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "an accepted document does not decode: %s\n", err);
		abort();
	}
	buf_init(&out, 64u << 20);
	for (size_t i = 0; i < sizeof(render) / sizeof(render[0]); i++) {
		buf_reset(&out);
		err[0] = '\0';
		if (render[i](&r, &out, err, sizeof(err)) < 0)
			fuzz_check_message(err, sizeof(err));
	}
	if (comparable)
		check_self_compare(&r);
	buf_reset(&out);
	if (result_encode(&r, &out) == 0) {
		again = result_doc_parse("encoded", out.data, out.len, err, sizeof(err));
		if (!again) {
			fprintf(stderr, "the encoding of a decoded document is refused: %s\n", err);
			abort();
		}
		json_decref(again);
	}
	buf_free(&out);
	result_free(&r);
	free(text);
}

/* A document against itself: every delta 0, nothing to judge as worse or better. */
static void check_self_compare(const result_t *doc)
{
	compare_options_t o;
	compare_result_t r;
	buf_t out;

	compare_defaults(&o);
	if (report_compare(doc, doc, "a.json", "b.json", &o, &r) < 0)
		return; /* out of memory */
	if (r.regressions != 0 || r.mismatch[0] || r.scope_count < 1)
		abort();
	for (size_t i = 0; i < r.scope_count; i++) {
		if (r.scopes[i].presence != CMP_BOTH || r.scopes[i].regressions != 0)
			abort();
		for (int m = 0; m < CMP_METRIC_COUNT; m++)
			if (r.scopes[i].rows[m].verdict == CMP_REGRESSION ||
			    r.scopes[i].rows[m].verdict == CMP_IMPROVED)
				abort();
	}
	buf_init(&out, 64u << 20);
	compare_render_text(&r, false, &out);
	buf_reset(&out);
	compare_render_markdown(&r, &out);
	buf_reset(&out);
	compare_render_html(&r, &out);
	buf_reset(&out);
	compare_render_json(&r, &out);
	buf_free(&out);
	compare_result_free(&r);
}

/* One shard merged (surge merge's report_merge) is a whole run's document: the checker
 * accepts it. */
static void check_merge(json_t *doc)
{
	const char *names[] = {NAME};
	char err[1024], *text;
	result_t part, whole;
	json_t *merged;
	buf_t out;

	if (result_doc_require(doc, NAME, RESULT_DOC_FOR_MERGE, err, sizeof(err)) < 0) {
		check_rejection(err, sizeof(err));
		return;
	}
	if (!(text = json_dumps(doc, JSON_COMPACT)))
		return; /* out of memory */
	if (result_decode(NAME, text, strlen(text), &part, err, sizeof(err)) < 0) {
		free(text);
		return; /* check_model judges what decoding says */
	}
	free(text);
	err[0] = '\0';
	if (report_merge(&part, names, 1, &whole, err, sizeof(err)) < 0) {
		fuzz_check_message(err, sizeof(err));
	} else {
		buf_init(&out, 1u << 28);
		if (result_encode(&whole, &out) == 0) {
			merged = result_doc_parse("merged", out.data, out.len, err, sizeof(err));
			if (!merged) {
				fprintf(stderr, "merge of an accepted document is refused: %s\n",
				        err);
				abort();
			}
			json_decref(merged);
		}
		buf_free(&out);
	}
	result_free(&part);
	result_free(&whole);
}

static void check_histograms(const json_t *doc)
{
	static hist_t h; /* ~190 KB */
	const json_t *hists = result_doc_object(doc, "histograms"), *v;
	const char *key;

	json_object_foreach((json_t *)hists, key,
	                    v) if (result_doc_histogram(doc, key, &h) == -EINVAL)
	    abort(); /* the check decoded every histogram already */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];
	bool comparable;
	json_t *doc;

	err[0] = '\0';
	doc = result_doc_parse(NAME, (const char *)data, size, err, sizeof(err));
	if (!doc) {
		check_rejection(err, sizeof(err));
		return 0;
	}
	if (result_doc_check(doc, NAME, err, sizeof(err)) < 0)
		abort();
	check_round_trip(doc);
	check_histograms(doc);
	comparable = result_doc_require(doc, NAME, RESULT_DOC_FOR_COMPARE, err, sizeof(err)) == 0;
	if (!comparable)
		check_rejection(err, sizeof(err));
	check_model(doc, comparable);
	check_merge(doc);
	json_decref(doc);
	return 0;
}
