/* libFuzzer driver for two result documents read together, as `surge compare A B` and `surge
 * merge A B` read them (fuzz_result_doc reads one, compared with itself and merged alone): the
 * input is document A, a line "--", then document B (no JSON text holds "\n--\n": a string
 * cannot hold a raw line break, and "--" is no JSON outside one). Beyond "no crash":
 *   - a refusal names its document, on one line;
 *   - A compared with B and B with A render in every format, with one scope at least;
 *   - a merge of A and B is refused with one line naming a file, or is a document the checker
 *     accepts whose requests and errors are the parts' sums. */
#include "report/report.h"
#include "report/report_compare.h"
#include "result/result.h"
#include "result/result_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

static const char *const names[] = {"a.json", "b.json"};

static void check_rejection(const char *name, const char *err, size_t errlen)
{
	fuzz_check_message(err, errlen);
	if (strncmp(err, name, strlen(name)) != 0)
		abort();
}

/* The documents (accepted) into results: false when one does not decode for want of memory
 * (fuzz_result_doc checks that an accepted document decodes). */
static bool decode(json_t *const *docs, result_t *r)
{
	char err[1024];

	for (int i = 0; i < 2; i++) {
		char *text = json_dumps(docs[i], JSON_COMPACT);
		int rc = text ? result_decode(names[i], text, strlen(text), &r[i], err, sizeof(err))
		              : -1;

		free(text);
		if (rc < 0) {
			if (i == 1)
				result_free(&r[0]);
			return false;
		}
	}
	return true;
}

static void check_compare(json_t *const *docs)
{
	compare_options_t o;
	compare_result_t c;
	result_t r[2];
	buf_t out;

	if (!decode(docs, r))
		return;
	compare_defaults(&o);
	buf_init(&out, 64u << 20);
	for (int way = 0; way < 2; way++) {
		if (report_compare(&r[way], &r[1 - way], names[way], names[1 - way], &o, &c) < 0)
			continue; /* out of memory */
		if (c.scope_count < 1)
			abort();
		buf_reset(&out);
		compare_render_text(&c, way == 1, &out);
		buf_reset(&out);
		compare_render_markdown(&c, &out);
		buf_reset(&out);
		compare_render_html(&c, &out);
		buf_reset(&out);
		compare_render_json(&c, &out);
		compare_result_free(&c);
	}
	buf_free(&out);
	result_free(&r[0]);
	result_free(&r[1]);
}

static void check_merge(json_t *const *docs)
{
	char err[1024] = "";
	result_t parts[2], whole;
	uint64_t requests, errors;
	json_t *merged;
	buf_t out;

	if (!decode(docs, parts))
		return;
	requests = parts[0].counters.requests + parts[1].counters.requests;
	errors =
	    result_requests(&parts[0].counters) + result_requests(&parts[1].counters) - requests;
	if (report_merge(parts, names, 2, &whole, err, sizeof(err)) < 0) {
		fuzz_check_message(err, sizeof(err));
		if (!strstr(err, names[0]) && !strstr(err, names[1])) {
			fprintf(stderr, "a merge refused without naming a file: %s\n", err);
			abort();
		}
	} else {
		if (whole.counters.requests != requests ||
		    result_requests(&whole.counters) - whole.counters.requests != errors) {
			fprintf(stderr,
			        "merged %llu responses and %llu failures, the parts %llu, %llu\n",
			        (unsigned long long)whole.counters.requests,
			        (unsigned long long)(result_requests(&whole.counters) -
			                             whole.counters.requests),
			        (unsigned long long)requests, (unsigned long long)errors);
			abort();
		}
		buf_init(&out, 1u << 28);
		if (result_encode(&whole, &out) == 0) {
			merged = result_doc_parse("merged", out.data, out.len, err, sizeof(err));
			if (!merged) {
				fprintf(stderr, "a merge of accepted documents is refused: %s\n",
				        err);
				abort();
			}
			json_decref(merged);
		}
		buf_free(&out);
	}
	result_free(&parts[0]);
	result_free(&parts[1]);
	result_free(&whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *cut = memmem(data, size, "\n--\n", 4);
	size_t len[2];
	json_t *docs[2] = {NULL, NULL};
	bool compare = true, merge = true;
	char err[1024];

	if (!cut)
		return 0;
	len[0] = (size_t)(cut - text);
	len[1] = size - len[0] - 4;
	for (int i = 0; i < 2; i++) {
		const char *at = i ? cut + 4 : text;

		err[0] = '\0';
		if (!(docs[i] = result_doc_parse(names[i], at, len[i], err, sizeof(err)))) {
			check_rejection(names[i], err, sizeof(err));
			json_decref(docs[0]);
			return 0;
		}
		if (result_doc_require(docs[i], names[i], RESULT_DOC_FOR_COMPARE, err,
		                       sizeof(err)) < 0) {
			check_rejection(names[i], err, sizeof(err));
			compare = false;
		}
		if (result_doc_require(docs[i], names[i], RESULT_DOC_FOR_MERGE, err, sizeof(err)) <
		    0) {
			check_rejection(names[i], err, sizeof(err));
			merge = false;
		}
	}
	if (compare)
		check_compare(docs);
	if (merge)
		check_merge(docs);
	json_decref(docs[0]);
	json_decref(docs[1]);
	return 0;
}
