/* libFuzzer driver for the two chunked decoders: the response parser's (what `surge run` reads
 * from a target) and http_chunked_decode (what `surge serve` reads from a client). They share
 * one framing (core/http_syntax.c) and differ in how they hand over data (streamed, or moved
 * down in place) and read trailers (the response's header states, or the decoder's own), which
 * is what this driver holds together. Two modes:
 * - raw: the input is a chunked body as a peer sent it, fed whole and split; each decoder gives
 *   the same verdict and bytes for every split, and when both accept it they agree on the
 *   body and on where it ends;
 * - encoded: the input is a body and a recipe (chunk sizes, extensions, trailers, LF or CRLF)
 *   the driver encodes; both decoders must give back exactly that body, ending exactly there. */
#include "core/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define HEAD     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
#define HEAD_LEN (sizeof(HEAD) - 1)

struct outcome {
	int rc;
	size_t consumed; /* bytes of the body the decoder used */
	uint64_t body_len, hash;
};

static void add_body(struct outcome *o, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		o->hash = (o->hash ^ (uint8_t)data[i]) * 0x100000001b3ull;
	o->body_len += len;
}

static void on_body(void *ctx, const char *data, size_t len)
{
	add_body(ctx, data, len);
}

/* The response parser over HEAD + body, in pieces ending at cut and at len. */
static void response_decode(const char *body, size_t len, size_t cut, struct outcome *o)
{
	static char buf[HEAD_LEN + 65536];
	http_response_parser_t p;
	size_t off = 0, used;

	memset(o, 0, sizeof(*o));
	o->rc = HTTP_AGAIN;
	if (len > sizeof(buf) - HEAD_LEN)
		abort();
	memcpy(buf, HEAD, HEAD_LEN);
	memcpy(buf + HEAD_LEN, body, len);
	http_response_parser_init(&p, false);
	p.on_body = on_body;
	p.ctx = o;
	cut += HEAD_LEN;
	while (off < HEAD_LEN + len && o->rc == HTTP_AGAIN) {
		size_t stop = off < cut ? cut : HEAD_LEN + len;

		o->rc = http_response_parse(&p, buf + off, stop - off, &used);
		off += used;
		if (o->rc == HTTP_AGAIN && off != stop)
			abort();
	}
	if (off < HEAD_LEN || o->body_len != p.body_bytes)
		abort();
	o->consumed = off - HEAD_LEN;
}

/* http_chunked_decode in place over a copy, in pieces ending at cut and at len; the bytes it
 * decodes are the body. */
static void request_decode(const char *body, size_t len, size_t cut, struct outcome *o)
{
	char *copy = malloc(len ? len : 1);
	http_chunked_decoder_t d = {0};
	size_t off = 0, used, decoded;

	if (!copy)
		abort();
	memcpy(copy, body, len);
	memset(o, 0, sizeof(*o));
	o->rc = HTTP_AGAIN;
	while (off < len && o->rc == HTTP_AGAIN) {
		size_t stop = off < cut ? cut : len;

		o->rc = http_chunked_decode(&d, copy + off, stop - off, &used, &decoded);
		if (decoded > used || used > stop - off ||
		    (o->rc == HTTP_AGAIN && used != stop - off))
			abort();
		add_body(o, copy + off, decoded);
		off += used;
	}
	o->consumed = off;
	free(copy);
}

static bool same(const struct outcome *a, const struct outcome *b)
{
	if (a->rc != b->rc)
		return false;
	if (a->rc == HTTP_ERROR) /* how far an error got may depend on the split */
		return true;
	return a->consumed == b->consumed && a->body_len == b->body_len && a->hash == b->hash;
}

static void check_raw(const char *body, size_t len, size_t cut)
{
	struct outcome rw, rs, qw, qs;

	response_decode(body, len, len, &rw);
	response_decode(body, len, cut, &rs);
	request_decode(body, len, len, &qw);
	request_decode(body, len, cut, &qs);
	if (!same(&rw, &rs) || !same(&qw, &qs))
		abort();
	if (rw.rc == HTTP_DONE && qw.rc == HTTP_DONE &&
	    (rw.consumed != qw.consumed || rw.body_len != qw.body_len || rw.hash != qw.hash))
		abort();
}

/* Encodes body[0..len) as chunks: sizes from the recipe bytes, each size line in upper or lower
 * hex with leading zeros, BWS or an extension, then trailers; LF or CRLF line ends. */
static size_t encode(const uint8_t *recipe, size_t recipe_len, const char *body, size_t len,
                     char *out, size_t cap)
{
	size_t used = 0, at = 0, r = 0;
	const char *eol;

#define PUT(...) used += (size_t)snprintf(out + used, cap - used, __VA_ARGS__)
	while (at < len || r < recipe_len) {
		uint8_t k = r < recipe_len ? recipe[r++] : 0xff;
		size_t n = k & 0x3f ? (size_t)(k & 0x3f) * (k & 0x40 ? 7 : 1) : 1;

		if (n > len - at)
			n = len - at;
		if (n == 0)
			break;
		eol = k & 0x80 ? "\n" : "\r\n";
		PUT(k & 0x40 ? "%0*zX" : "%0*zx", (int)(k >> 6) + 1, n);
		if ((k & 0x30) == 0x30)
			PUT(" ;name=\"v a l\";x");
		else if ((k & 0x30) == 0x20)
			PUT(";ext");
		PUT("%s", eol);
		memcpy(out + used, body + at, n);
		used += n;
		at += n;
		PUT("%s", eol);
	}
	PUT("0%s", recipe_len & 1 ? ";last\r\n" : "\r\n");
	if (recipe_len & 2)
		PUT("X-Trailer: yes\r\nOther:\tvalue\r\n");
	PUT("\r\n");
#undef PUT
	if (used >= cap)
		abort();
	return used;
}

static void check_encoded(const uint8_t *recipe, size_t recipe_len, const char *body, size_t len,
                          size_t cut)
{
	static char out[65536];
	struct outcome want = {0}, got;
	size_t n;

	if (len > 4096 || recipe_len > 256)
		return;
	n = encode(recipe, recipe_len, body, len, out, sizeof(out));
	add_body(&want, body, len);
	want.rc = HTTP_DONE;
	want.consumed = n;
	cut %= n + 1;
	response_decode(out, n, cut, &got);
	if (!same(&got, &want))
		abort();
	request_decode(out, n, cut, &got);
	if (!same(&got, &want))
		abort();
}

/* Byte 0: mode and the recipe's length; byte 1: where to cut; then the recipe and the body. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t recipe_len, cut;

	if (size < 2 || size > 65536 - 512)
		return 0;
	cut = data[1];
	if (!(data[0] & 1)) {
		check_raw((const char *)data + 2, size - 2, cut % (size - 1));
		return 0;
	}
	recipe_len = (data[0] >> 1) % (size - 1);
	check_encoded(data + 2, recipe_len, (const char *)data + 2 + recipe_len,
	              size - 2 - recipe_len, cut * 31);
	return 0;
}
