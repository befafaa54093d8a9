/* libFuzzer driver for the server half of the codec: request heads parsed whole and as a prefix,
 * chunked bodies decoded whole, split and byte by byte; any disagreement is a bug.
 * Input layout: byte 0 = options (see below), bytes 1-2 = cut selectors, the rest = client bytes.
 */
#include "core/http.h"

#include <stdlib.h>
#include <string.h>

enum option_bits {
	OPT_SMALL_LIMITS = 0x01, /* 64-byte request line, 256-byte head, 4 header lines */
	OPT_CHUNKS_ONLY = 0x02   /* decode the whole input as a chunked body, head or not */
};

/* Parses from a heap copy of exactly len bytes, so ASan catches a read past len. */
static int parse_copy(const http_request_limits_t *limits, const char *in, size_t len,
                      http_request_t *r, size_t *head_len)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, in, len);
	rc = http_request_parse(limits, copy, len, r, head_len);
	free(copy);
	return rc;
}

static void check_within(http_slice_t s, const char *from, const char *to)
{
	if (!s.p || s.p < from || s.len > (size_t)(to - s.p))
		abort();
}

/* A complete head's slices lie inside it, and its results agree with each other. */
static void check_head(const http_request_limits_t *limits, const char *in, size_t len,
                       const http_request_t *r, size_t head_len)
{
	const char *end = in + head_len;
	size_t max_headers = limits->max_headers;

	if (max_headers > HTTP_REQUEST_MAX_HEADERS)
		max_headers = HTTP_REQUEST_MAX_HEADERS;
	if (head_len == 0 || head_len > len || head_len > limits->max_header_bytes ||
	    r->error_status != 0 || r->header_count > max_headers || r->minor_version > 1 ||
	    r->content_length < -1 || (r->chunked && r->content_length >= 0) ||
	    r->method.len == 0 || r->target.len == 0 || r->path.len == 0)
		abort();
	check_within(r->method, in, end);
	check_within(r->target, in, end);
	check_within(r->path, r->target.p, r->target.p + r->target.len);
	check_within(r->query, r->target.p, r->target.p + r->target.len);
	for (uint16_t i = 0; i < r->header_count; i++) {
		http_slice_t found;
		char name[256];

		check_within(r->header_names[i], in, end);
		check_within(r->header_values[i], in, end);
		if (r->header_names[i].len == 0 || r->header_names[i].len >= sizeof(name))
			continue;
		memcpy(name, r->header_names[i].p, r->header_names[i].len);
		name[r->header_names[i].len] = '\0';
		found = http_request_header(r, name);
		if (!found.p || (i == 0 && found.p != r->header_values[0].p))
			abort();
	}
}

/* The parse of a prefix must never contradict the parse of the whole: a prefix shorter than a
 * complete head waits, and a prefix that decides decides the same way. */
static void check_prefix(const http_request_limits_t *limits, const char *in, size_t n, int rc,
                         const http_request_t *whole, size_t head_len)
{
	http_request_t r;
	size_t prefix_head;
	int prc = parse_copy(limits, in, n, &r, &prefix_head);

	if (prc == HTTP_DONE && (rc != HTTP_DONE || prefix_head != head_len))
		abort();
	if (prc == HTTP_ERROR && (rc != HTTP_ERROR || r.error_status != whole->error_status))
		abort();
	if (rc == HTTP_DONE && (prc == HTTP_DONE) != (n >= head_len))
		abort();
}

static void check_status(int rc, const http_request_t *r)
{
	static const int allowed[] = {400, 414, 417, 431, 501, 505};

	if (rc != HTTP_ERROR)
		return;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (r->error_status == allowed[i])
			return;
	abort();
}

struct decoding {
	int rc;
	size_t used;
	size_t body_len;
	char *body;
};

/* Decodes in[0..len) in pieces of `step` bytes (or split once at cut when step is 0), each piece
 * in place in a scratch copy; collects the body and checks the decoder's promises. */
static void decode(const char *in, size_t len, size_t cut, size_t step, struct decoding *out)
{
	http_chunked_decoder_t d = {0};
	char *copy = malloc(len ? len : 1);
	size_t off = 0;

	memcpy(copy, in, len);
	out->rc = HTTP_AGAIN;
	out->body_len = 0;
	while (out->rc == HTTP_AGAIN && off < len) {
		size_t piece = step ? step : off < cut ? cut - off : len - off, used, decoded;

		if (piece > len - off)
			piece = len - off;
		out->rc = http_chunked_decode(&d, copy + off, piece, &used, &decoded);
		if (decoded > used || used > piece || (out->rc == HTTP_AGAIN && used != piece))
			abort();
		memcpy(out->body + out->body_len, copy + off, decoded);
		out->body_len += decoded;
		off += used;
	}
	if (memcmp(copy + off, in + off, len - off) != 0)
		abort(); /* bytes after the body were written */
	out->used = off;
	free(copy);
}

static void same_decoding(const struct decoding *a, const struct decoding *b)
{
	if (a->rc != b->rc || a->used != b->used || a->body_len != b->body_len ||
	    memcmp(a->body, b->body, a->body_len) != 0)
		abort();
}

static void check_chunked(const char *body, size_t len, size_t cut)
{
	static char whole_body[1 << 20], split_body[1 << 20], byte_body[1 << 20];
	struct decoding whole = {.body = whole_body}, split = {.body = split_body},
	                bytes = {.body = byte_body};

	if (len > sizeof(whole_body))
		return;
	decode(body, len, len, 0, &whole);
	decode(body, len, cut, 0, &split);
	same_decoding(&whole, &split);
	if (len <= 2048) {
		decode(body, len, 0, 1, &bytes);
		same_decoding(&whole, &bytes);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const http_request_limits_t roomy = {8192, 65536, HTTP_REQUEST_MAX_HEADERS};
	static const http_request_limits_t small = {64, 256, 4};
	const http_request_limits_t *limits;
	const char *in = (const char *)data + 3;
	http_request_t r;
	size_t len, head_len = 0, body_off;
	int rc;

	if (size < 3)
		return 0;
	len = size - 3;
	limits = data[0] & OPT_SMALL_LIMITS ? &small : &roomy;
	/* libFuzzer's buffer ends at in + len, so the whole parse needs no copy, and the slices
	 * stay valid for check_head */
	rc = http_request_parse(limits, in, len, &r, &head_len);
	check_status(rc, &r);
	if (rc == HTTP_DONE)
		check_head(limits, in, len, &r, head_len);
	check_prefix(limits, in, data[1] % (len + 1), rc, &r, head_len);
	body_off = rc == HTTP_DONE && !(data[0] & OPT_CHUNKS_ONLY) ? head_len : 0;
	check_chunked(in + body_off, len - body_off, data[2] % (len - body_off + 1));
	return 0;
}
