/* libFuzzer driver for http_response_parse: hostile bytes straight in, parsed whole, split at
 * two fuzzer-chosen offsets and byte by byte; any difference between the three is a bug. */
#include "core/http.h"

#include <stdlib.h>
#include <string.h>

/* Input layout: byte 0 holds option bits, bytes 1 and 2 choose the split offsets, and the rest
 * is what the peer sent (one or more pipelined responses). */
#define MAX_MESSAGES 8

enum option_bits {
	OPT_HEAD = 0x01,         /* the request was HEAD */
	OPT_STORE = 0x02,        /* copy headers into a small store */
	OPT_SMALL_LIMITS = 0x04, /* 200 header bytes, 4 header lines */
	OPT_EOF = 0x08,          /* the peer closes after the last byte */
	OPT_CAPTURE = 0x10       /* capture X-Served-By's value (--group-by-header) */
};

struct message {
	int rc;
	enum http_error error;
	int status;
	uint8_t minor_version;
	bool keep_alive, chunked, headers_done;
	int64_t content_length;
	uint64_t body_bytes;
	uint16_t header_count;
	uint32_t header_bytes;
	size_t end;
	size_t store_len;
	char store[256];
	bool captured, truncated;
	uint8_t capture_len;
	char capture[HTTP_CAPTURE_MAX];
};

struct run {
	size_t count;
	struct message msg[MAX_MESSAGES];
	uint64_t body_len, body_hash, message_body; /* message_body: this message's on_body bytes */
};

static void on_body(void *ctx, const char *data, size_t len)
{
	struct run *r = ctx;

	if (len == 0)
		abort(); /* empty slices are never handed out */
	for (size_t i = 0; i < len; i++)
		r->body_hash = (r->body_hash ^ (uint8_t)data[i]) * 0x100000001b3ull;
	r->body_len += len;
	r->message_body += len;
}

/* A complete message must agree with itself: what on_body saw, what the store holds, and the
 * length its headers promised. */
static void check_message(const http_response_parser_t *p, const struct run *r, int rc)
{
	if ((rc == HTTP_ERROR) != (p->error != HTTP_ERR_NONE))
		abort();
	if (p->body_bytes != r->message_body)
		abort();
	if (p->store && (p->store->len > p->store->cap))
		abort();
	if (p->capture && (p->capture->len > HTTP_CAPTURE_MAX ||
	                   (p->capture->truncated && p->capture->len != HTTP_CAPTURE_MAX)))
		abort();
	if (rc != HTTP_DONE)
		return;
	if (!p->headers_done || p->status < 100 || p->status > 999 ||
	    (p->status < 200 && p->status != 101))
		abort();
	if (!p->chunked && p->content_length >= 0 && !p->head_request && p->status != 204 &&
	    p->status != 304 && p->status != 101 && p->body_bytes != (uint64_t)p->content_length)
		abort();
}

static void record(struct run *r, const http_response_parser_t *p, int rc, size_t end)
{
	struct message *m = &r->msg[r->count++];

	check_message(p, r, rc);
	memset(m, 0, sizeof(*m));
	m->rc = rc;
	m->error = p->error;
	m->status = p->status;
	m->minor_version = p->minor_version;
	m->keep_alive = p->keep_alive;
	m->chunked = p->chunked;
	m->headers_done = p->headers_done;
	m->content_length = p->content_length;
	m->body_bytes = p->body_bytes;
	m->header_count = p->header_count;
	m->header_bytes = p->header_bytes;
	m->end = rc == HTTP_DONE ? end : 0;
	if (p->store && rc != HTTP_ERROR) {
		m->store_len = p->store->len;
		memcpy(m->store, p->store->data, p->store->len);
	}
	if (p->capture && rc != HTTP_ERROR) {
		m->captured = p->capture->found;
		m->truncated = p->capture->truncated;
		m->capture_len = p->capture->len;
		memcpy(m->capture, p->capture->value, p->capture->len);
	}
	r->message_body = 0;
}

static void init_parser(http_response_parser_t *p, uint8_t options, http_header_store_t *store,
                        http_header_capture_t *capture, struct run *r)
{
	http_response_parser_init(p, options & OPT_HEAD);
	if (options & OPT_SMALL_LIMITS) {
		p->limits.max_header_bytes = 200;
		p->limits.max_headers = 4;
	}
	if (options & OPT_STORE)
		p->store = store;
	if (options & OPT_CAPTURE)
		p->capture = capture;
	p->on_body = on_body;
	p->ctx = r;
}

/* Feeds in[0..len) in pieces ending at cut1, cut2 and len, then `step`-byte pieces when step is
 * set, resetting after each complete message as a pipelining client does. */
static void drive(const char *in, size_t len, size_t cut1, size_t cut2, size_t step,
                  uint8_t options, struct run *r)
{
	static char store_data[256];
	http_header_store_t store = {.data = store_data, .cap = sizeof(store_data)};
	http_header_capture_t capture = {.name = "x-served-by", .name_len = 11};
	http_response_parser_t p;
	size_t off = 0, used;
	int rc = HTTP_AGAIN;

	memset(r, 0, sizeof(*r));
	init_parser(&p, options, &store, &capture, r);
	while (off < len && r->count < MAX_MESSAGES) {
		size_t stop = step ? off + step : off < cut1 ? cut1 : off < cut2 ? cut2 : len;

		if (stop > len)
			stop = len;
		rc = http_response_parse(&p, in + off, stop - off, &used);
		if (used > stop - off || (rc == HTTP_AGAIN && used != stop - off))
			abort();
		off += used;
		if (rc == HTTP_ERROR)
			break;
		if (rc == HTTP_DONE) {
			record(r, &p, rc, off);
			http_response_parser_reset(&p);
			rc = HTTP_AGAIN;
		}
	}
	if (rc == HTTP_AGAIN && (r->count == MAX_MESSAGES || p.header_bytes == 0))
		return;
	if (rc == HTTP_AGAIN && (options & OPT_EOF))
		rc = http_response_eof(&p);
	record(r, &p, rc, off);
}

/* After an error, how much of the failing line reached header_bytes and the store depends on
 * the split; everything else must be the same. */
static bool same_message(const struct message *x, const struct message *y)
{
	if (x->rc != y->rc || x->error != y->error || x->status != y->status ||
	    x->minor_version != y->minor_version || x->keep_alive != y->keep_alive ||
	    x->chunked != y->chunked || x->headers_done != y->headers_done ||
	    x->content_length != y->content_length || x->body_bytes != y->body_bytes ||
	    x->header_count != y->header_count || x->end != y->end)
		return false;
	if (x->rc == HTTP_ERROR)
		return true;
	return x->header_bytes == y->header_bytes && x->store_len == y->store_len &&
	       memcmp(x->store, y->store, x->store_len) == 0 && x->captured == y->captured &&
	       x->truncated == y->truncated && x->capture_len == y->capture_len &&
	       memcmp(x->capture, y->capture, x->capture_len) == 0;
}

static void compare(const struct run *a, const struct run *b)
{
	if (a->count != b->count || a->body_len != b->body_len || a->body_hash != b->body_hash)
		abort();
	for (size_t i = 0; i < a->count; i++)
		if (!same_message(&a->msg[i], &b->msg[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run whole, split, bytes;
	const char *in = (const char *)data + 3;
	size_t len, cut1, cut2;

	if (size < 3)
		return 0;
	len = size - 3;
	/* one cut counted from the start, one from the end, so both ends of long inputs get split
	 */
	cut1 = data[1] % (len + 1);
	cut2 = len - data[2] % (len + 1);
	if (cut2 < cut1)
		cut2 = cut1;
	drive(in, len, len, len, 0, data[0], &whole);
	drive(in, len, cut1, cut2, 0, data[0], &split);
	compare(&whole, &split);
	if (len <= 4096) {
		drive(in, len, 0, 0, 1, data[0], &bytes);
		compare(&whole, &bytes);
	}
	return 0;
}
