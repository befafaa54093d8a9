/* Unit tests for the server half of the HTTP/1.1 codec: http_request_parse, http_request_header
 * and http_chunked_decode — every valid form, every prefix, each refusal with its status. */
#include "test.h"

#include "core/http.h"

#include <stdlib.h>

static const http_request_limits_t roomy = {
    .max_request_line = 8192,
    .max_header_bytes = 65536,
    .max_headers = HTTP_REQUEST_MAX_HEADERS,
};

/* Parses exactly n bytes from a heap copy of that size, so ASan sees any read past len. */
static int parse_n(const http_request_limits_t *limits, const char *in, size_t n, http_request_t *r,
                   size_t *head_len)
{
	char *copy = malloc(n ? n : 1);
	int rc;

	memcpy(copy, in, n);
	rc = http_request_parse(limits, copy, n, r, head_len);
	/* the slices point into copy: re-aim them at `in` so the caller may still read them */
	if (rc == HTTP_DONE) {
		http_slice_t *all[] = {&r->method, &r->target, &r->path, &r->query};

		for (size_t i = 0; i < 4; i++)
			all[i]->p = in + (all[i]->p - copy);
		for (uint16_t i = 0; i < r->header_count; i++) {
			r->header_names[i].p = in + (r->header_names[i].p - copy);
			r->header_values[i].p = in + (r->header_values[i].p - copy);
		}
	}
	free(copy);
	return rc;
}

static int parse(const char *in, http_request_t *r, size_t *head_len)
{
	return parse_n(&roomy, in, strlen(in), r, head_len);
}

/* A slice as a C string, from a small ring of buffers so a CHECK can hold several. */
static const char *str(http_slice_t s)
{
	static char ring[8][512];
	static int next;
	char *out = ring[next++ % 8];

	if (!s.p)
		return "(null)";
	snprintf(out, sizeof(ring[0]), "%.*s", (int)s.len, s.p);
	return out;
}

/* Every proper prefix of a complete head is HTTP_AGAIN; the head itself and anything longer is
 * HTTP_DONE with the same head_len. */
static void check_prefixes(const http_request_limits_t *limits, const char *in, size_t len)
{
	http_request_t r;
	size_t head_len = 0, full_len;

	CHECK_INT(parse_n(limits, in, len, &r, &full_len), HTTP_DONE);
	for (size_t n = 0; n < full_len; n++) {
		int rc = parse_n(limits, in, n, &r, &head_len);

		if (rc != HTTP_AGAIN) {
			test_fail(__FILE__, __LINE__, "prefix %zu of \"%.40s\" gave %d/%d", n, in,
			          rc, r.error_status);
			return;
		}
	}
	for (size_t n = full_len; n <= len; n++) {
		CHECK_INT(parse_n(limits, in, n, &r, &head_len), HTTP_DONE);
		CHECK_INT(head_len, full_len);
	}
}

/* A refused input refuses with `status`, and each prefix either waits or refuses the same way. */
static void check_refused(const http_request_limits_t *limits, const char *in, size_t len,
                          int status)
{
	http_request_t r;
	size_t head_len;
	int rc = parse_n(limits, in, len, &r, &head_len);

	if (rc != HTTP_ERROR || r.error_status != status) {
		test_fail(__FILE__, __LINE__, "\"%.60s\" gave %d/%d, expected status %d", in, rc,
		          r.error_status, status);
		return;
	}
	for (size_t n = 0; n < len; n++) {
		rc = parse_n(limits, in, n, &r, &head_len);
		if (rc == HTTP_DONE || (rc == HTTP_ERROR && r.error_status != status)) {
			test_fail(__FILE__, __LINE__, "prefix %zu of \"%.40s\" gave %d/%d", n, in,
			          rc, r.error_status);
			return;
		}
	}
}

static void refused(const char *in, int status)
{
	check_refused(&roomy, in, strlen(in), status);
}

static void refused_by(const http_request_limits_t *limits, const char *in, int status)
{
	check_refused(limits, in, strlen(in), status);
}

static void prefixes_wait(const http_request_limits_t *limits, const char *in)
{
	check_prefixes(limits, in, strlen(in));
}

/* "GET /" followed by n 'a's and then tail: a request line of n + 5 bytes before tail. */
static const char *long_target(char *out, size_t n, const char *tail)
{
	memcpy(out, "GET /", 5);
	memset(out + 5, 'a', n);
	strcpy(out + 5 + n, tail);
	return out;
}

TEST(http_request_parse_wrk_get)
{
	const char *in = "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
	http_request_t r;
	size_t head_len;

	CHECK_INT(parse(in, &r, &head_len), HTTP_DONE);
	CHECK_INT(head_len, strlen(in));
	CHECK_STR(str(r.method), "GET");
	CHECK_STR(str(r.target), "/index.html");
	CHECK_STR(str(r.path), "/index.html");
	CHECK_INT(r.query.len, 0);
	CHECK(r.query.p != NULL);
	CHECK_INT(r.minor_version, 1);
	CHECK(r.keep_alive);
	CHECK(!r.chunked);
	CHECK(!r.expect_continue);
	CHECK_INT(r.content_length, -1);
	CHECK_INT(r.header_count, 1);
	CHECK_STR(str(r.header_names[0]), "Host");
	CHECK_STR(str(r.header_values[0]), "127.0.0.1:8080");
	CHECK_INT(r.error_status, 0);
	check_prefixes(&roomy, in, strlen(in));
}

TEST(http_request_parse_post_content_length)
{
	const char *in = "POST /submit?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	                 "Content-Type: text/plain\r\n\r\nhello";
	http_request_t r;
	size_t head_len;

	CHECK_INT(parse(in, &r, &head_len), HTTP_DONE);
	CHECK_STR(in + head_len, "hello");
	CHECK_STR(str(r.method), "POST");
	CHECK_STR(str(r.path), "/submit");
	CHECK_STR(str(r.query), "x=1");
	CHECK_INT(r.content_length, 5);
	CHECK(!r.chunked);
	CHECK_INT(r.header_count, 3);
	check_prefixes(&roomy, in, strlen(in));
}

TEST(http_request_parse_chunked)
{
	const char *in = "POST /up HTTP/1.1\r\nHost: a\r\ntransfer-encoding: Chunked\r\n\r\n"
	                 "5\r\nhello\r\n0\r\n\r\n";
	http_request_t r;
	size_t head_len;

	CHECK_INT(parse(in, &r, &head_len), HTTP_DONE);
	CHECK(r.chunked);
	CHECK_INT(r.content_length, -1);
	CHECK_STR(in + head_len, "5\r\nhello\r\n0\r\n\r\n");
	/* empty list elements are ignored */
	CHECK_INT(parse("POST / HTTP/1.1\r\nTransfer-Encoding: , chunked ,\r\n\r\n", &r, &head_len),
	          HTTP_DONE);
	CHECK(r.chunked);
	check_prefixes(&roomy, in, strlen(in));
}

TEST(http_request_parse_keep_alive_rules)
{
	http_request_t r;
	size_t n;

	CHECK_INT(parse("GET / HTTP/1.0\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK_INT(r.minor_version, 0);
	CHECK(!r.keep_alive);
	CHECK_INT(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK(r.keep_alive);
	CHECK_INT(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK(!r.keep_alive);
	CHECK_INT(parse("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK(!r.keep_alive);
	CHECK_INT(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &r, &n),
	          HTTP_DONE);
	CHECK(!r.keep_alive);
	CHECK_INT(parse("GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK(r.keep_alive);
	/* "closed" is not "close" */
	CHECK_INT(parse("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK(r.keep_alive);
	/* HTTP/1.2..1.9 are read as 1.1 */
	CHECK_INT(parse("GET / HTTP/1.7\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK_INT(r.minor_version, 1);
	CHECK(r.keep_alive);
}

TEST(http_request_parse_target_forms)
{
	http_request_t r;
	size_t n;

	CHECK_INT(parse("GET http://example.com:8080/a/b?x=1&y HTTP/1.1\r\n\r\n", &r, &n),
	          HTTP_DONE);
	CHECK_STR(str(r.target), "http://example.com:8080/a/b?x=1&y");
	CHECK_STR(str(r.path), "/a/b");
	CHECK_STR(str(r.query), "x=1&y");
	CHECK_INT(parse("GET HTTPS://h HTTP/1.1\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK_STR(str(r.path), "/");
	CHECK_INT(r.query.len, 0);
	CHECK(r.path.p >= r.target.p && r.path.p < r.target.p + r.target.len);
	CHECK_INT(parse("GET http://h?q=2 HTTP/1.1\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK_STR(str(r.path), "/");
	CHECK_STR(str(r.query), "q=2");
	CHECK_INT(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK_STR(str(r.target), "*");
	CHECK_STR(str(r.path), "*");
	CHECK_INT(r.query.len, 0);
	CHECK_INT(parse("GET /p?a=1?b HTTP/1.1\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK_STR(str(r.path), "/p");
	CHECK_STR(str(r.query), "a=1?b");
	CHECK_INT(parse("GET /p? HTTP/1.1\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK_STR(str(r.path), "/p");
	CHECK_INT(r.query.len, 0);
	CHECK_INT(parse("GET /?x HTTP/1.1\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK_STR(str(r.path), "/");
	CHECK_STR(str(r.query), "x");
	/* any token is a method; they are case-sensitive and passed through */
	CHECK_INT(parse("get /%7e~!$&'()*+,;=:@[]\"<>{}|^`\\ HTTP/1.1\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK_STR(str(r.method), "get");
	CHECK_STR(str(r.path), "/%7e~!$&'()*+,;=:@[]\"<>{}|^`\\");
}

TEST(http_request_parse_headers_and_lookup)
{
	const char *in = "GET / HTTP/1.1\r\nHost:a\r\nX-Pad: \t  spaced  value \t\r\n"
	                 "X-Empty:\r\nX-Blank:   \r\nX-Obs: caf\xc3\xa9\r\nx-pad: second\r\n\r\n";
	http_request_t r;
	size_t n;

	CHECK_INT(parse(in, &r, &n), HTTP_DONE);
	CHECK_INT(r.header_count, 6);
	CHECK_STR(str(http_request_header(&r, "host")), "a");
	CHECK_STR(str(http_request_header(&r, "X-PAD")), "spaced  value");
	CHECK_STR(str(http_request_header(&r, "x-obs")), "caf\xc3\xa9");
	CHECK(http_request_header(&r, "X-Empty").p != NULL);
	CHECK_INT(http_request_header(&r, "X-Empty").len, 0);
	CHECK_INT(http_request_header(&r, "x-blank").len, 0);
	CHECK(http_request_header(&r, "X-Missing").p == NULL);
	CHECK(http_request_header(&r, "X-Pa").p == NULL);
	CHECK_STR(str(r.header_names[5]), "x-pad");
	CHECK_STR(str(r.header_values[5]), "second");
	check_prefixes(&roomy, in, strlen(in));
}

TEST(http_request_parse_many_headers)
{
	char in[8192];
	size_t len = (size_t)sprintf(in, "GET / HTTP/1.1\r\n"), n;
	http_request_limits_t three = roomy, huge = roomy;
	http_request_t r;

	for (int i = 0; i < HTTP_REQUEST_MAX_HEADERS; i++)
		len += (size_t)sprintf(in + len, "X-H%d: v%d\r\n", i, i);
	len += (size_t)sprintf(in + len, "\r\n");
	CHECK_INT(parse(in, &r, &n), HTTP_DONE);
	CHECK_INT(r.header_count, HTTP_REQUEST_MAX_HEADERS);
	CHECK_STR(str(http_request_header(&r, "x-h63")), "v63");
	/* one more than the array holds, even when the limit asks for more */
	huge.max_headers = 1000;
	sprintf(in + len - 2, "X-H64: v\r\n\r\n");
	check_refused(&huge, in, strlen(in), 431);
	three.max_headers = 3;
	prefixes_wait(&three, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
	refused_by(&three, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431);
	/* refused when the fourth line starts, before it ends */
	refused_by(&three, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD", 431);
}

TEST(http_request_parse_bare_lf_and_empty_lines)
{
	http_request_t r;
	size_t n;
	const char *lf = "GET /x HTTP/1.1\nHost: a\nContent-Length: 2\n\nhi";
	const char *mixed = "GET /x HTTP/1.1\r\nHost: a\nB: c\r\n\n";
	const char *leading = "\r\n\nGET /x HTTP/1.1\r\n\r\n";

	CHECK_INT(parse(lf, &r, &n), HTTP_DONE);
	CHECK_STR(lf + n, "hi");
	CHECK_STR(str(r.header_values[0]), "a");
	CHECK_INT(r.content_length, 2);
	check_prefixes(&roomy, lf, strlen(lf));
	CHECK_INT(parse(mixed, &r, &n), HTTP_DONE);
	CHECK_INT(n, strlen(mixed));
	CHECK_INT(r.header_count, 2);
	check_prefixes(&roomy, mixed, strlen(mixed));
	CHECK_INT(parse(leading, &r, &n), HTTP_DONE);
	CHECK_STR(str(r.method), "GET");
	CHECK_INT(n, strlen(leading));
	check_prefixes(&roomy, leading, strlen(leading));
}

TEST(http_request_parse_pipelined)
{
	const char *in = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
	                 "POST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
	                 "GET /3?z HTTP/1.0\r\n\r\n"
	                 "GET /4 HTTP/1.1\r\nHo";
	const char *want[] = {"/1", "/2", "/3"};
	size_t off = 0, len = strlen(in), n;
	http_request_t r;

	for (int i = 0; i < 3; i++) {
		CHECK_INT(parse_n(&roomy, in + off, len - off, &r, &n), HTTP_DONE);
		CHECK_STR(str(r.path), want[i]);
		off += n + (r.content_length > 0 ? (size_t)r.content_length : 0);
	}
	CHECK_STR(in + off, "GET /4 HTTP/1.1\r\nHo");
	CHECK_INT(parse_n(&roomy, in + off, len - off, &r, &n), HTTP_AGAIN);
}

TEST(http_request_parse_expect)
{
	http_request_t r;
	size_t n;

	CHECK_INT(
	    parse("PUT / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 9\r\n\r\n", &r, &n),
	    HTTP_DONE);
	CHECK(r.expect_continue);
	/* RFC 9110 10.1.1: ignored in an HTTP/1.0 request */
	CHECK_INT(parse("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &r, &n), HTTP_DONE);
	CHECK(!r.expect_continue);
	refused("PUT / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417);
	refused("PUT / HTTP/1.1\r\nExpect: 100-continue, x\r\n\r\n", 417);
	refused("PUT / HTTP/1.1\r\nExpect:\r\n\r\n", 417);
	/* a syntax error anywhere in the head wins over the expectation */
	refused("PUT / HTTP/1.1\r\nExpect: x\r\nBad Name: y\r\n\r\n", 400);
}

TEST(http_request_parse_content_length)
{
	http_request_t r;
	size_t n;

	CHECK_INT(parse("POST / HTTP/1.1\r\nContent-Length:  0 \r\n\r\n", &r, &n), HTTP_DONE);
	CHECK_INT(r.content_length, 0);
	CHECK_INT(parse("POST / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n", &r, &n),
	          HTTP_DONE);
	CHECK_INT(r.content_length, INT64_MAX);
	CHECK_INT(
	    parse("POST / HTTP/1.1\r\nContent-Length: 7\r\ncontent-length: 007\r\n\r\n", &r, &n),
	    HTTP_DONE);
	CHECK_INT(r.content_length, 7);
	refused("POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400);
}

TEST(http_request_parse_transfer_encoding)
{
	/* request smuggling: two framings, or chunked not last, are never trusted */
	refused("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", 400);
	refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
	        400);
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", 400);
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400);
	/* codings we cannot undo */
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
	        501);
	refused("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", 501);
}

TEST(http_request_parse_bad_request_line)
{
	refused("GET  / HTTP/1.1\r\n\r\n", 400);
	refused(" GET / HTTP/1.1\r\n\r\n", 400);
	refused("GET / HTTP/1.1 \r\n\r\n", 400);
	refused("GET /a b HTTP/1.1\r\n\r\n", 400);
	refused("GET /a\tb HTTP/1.1\r\n\r\n", 400);
	refused("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", 400);
	refused("GET /\x7f HTTP/1.1\r\n\r\n", 400);
	refused("GET /\r\n\r\n", 400); /* HTTP/0.9 */
	refused("GET\r\n\r\n", 400);
	refused("/ HTTP/1.1\r\n\r\n", 400);
	refused("G(T / HTTP/1.1\r\n\r\n", 400);
	refused("GET index.html HTTP/1.1\r\n\r\n", 400);
	refused("GET * HTTP/1.1\r\n\r\n", 400);
	refused("options * HTTP/1.1\r\n\r\n", 400);
	refused("OPTIONS *x HTTP/1.1\r\n\r\n", 400);
	refused("GET ftp://h/ HTTP/1.1\r\n\r\n", 400);
	refused("GET http:///p HTTP/1.1\r\n\r\n", 400);
	refused("GET http:// HTTP/1.1\r\n\r\n", 400);
	refused("GET / http/1.1\r\n\r\n", 400);
	refused("GET / HTTP/1.1x\r\n\r\n", 400);
	refused("GET / HTTP/1.10\r\n\r\n", 400);
	refused("GET / HTTP/1\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\r\n\r\n", 400);
	refused("GET / HTTP/1.1\rHost: a\r\n\r\n", 400);
	refused("\rGET / HTTP/1.1\r\n\r\n", 400);
	refused("\x16\x03\x01\x02\x00\x01", 400); /* a TLS ClientHello, refused at its first byte */
	refused("GET / HTTP/2.0\r\n\r\n", 505);
	refused("GET / HTTP/0.9\r\n\r\n", 505);
	refused("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
}

TEST(http_request_parse_bad_headers)
{
	refused("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400); /* obs-fold */
	refused("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\n: a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nX: a\r\n\r\r\n", 400);
	check_refused(&roomy, "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 27, 400);
	check_refused(&roomy, "GET / HTTP/1.1\r\nX\0: a\r\n\r\n", 26, 400);
}

/* 414 as soon as the line has one byte too many, with or without its end. */
TEST(http_request_parse_request_line_limit)
{
	http_request_limits_t small = roomy;
	char in[256];
	http_request_t r;
	size_t n;

	small.max_request_line = 40;
	/* "GET /" + 26 bytes + " HTTP/1.1" is exactly 40 bytes */
	prefixes_wait(&small, long_target(in, 26, " HTTP/1.1\r\n\r\n"));
	prefixes_wait(&small, long_target(in, 26, " HTTP/1.1\n\n"));
	refused_by(&small, long_target(in, 27, " HTTP/1.1\r\n\r\n"), 414);
	/* no line end at all: waits up to the limit, refused one byte past it */
	long_target(in, 200, "");
	for (size_t len = 0; len <= 40; len++)
		CHECK_INT(parse_n(&small, in, len, &r, &n), HTTP_AGAIN);
	check_refused(&small, in, 41, 414);
	/* the limit counts from the request line, after any leading empty lines */
	memcpy(in, "\r\n\r\n", 4);
	long_target(in + 4, 26, " HTTP/1.1\r\n\r\n");
	prefixes_wait(&small, in);
	/* the first fault in byte order decides: a bad byte within the limit is 400 ... */
	long_target(in, 100, "");
	in[10] = '\x01';
	check_refused(&small, in, 100, 400);
	/* ... and one past it is 414, the line being too long already */
	refused_by(&small, long_target(in, 35, "\x01"), 414);
	/* a line that ends at the limit without a version is malformed, not too long */
	refused_by(&small, long_target(in, 35, "\r\n\r\n"), 400);
}

/* 431 as soon as max_header_bytes have arrived without the head's end. */
TEST(http_request_parse_header_bytes_limit)
{
	http_request_limits_t small = roomy;
	const char *exact = "GET / HTTP/1.1\r\nHost: a\r\nX-Fill: 0123456789\r\n\r\n";
	size_t exact_len = strlen(exact);
	char in[512];
	http_request_t r;
	size_t n;

	small.max_header_bytes = (uint32_t)exact_len;
	check_prefixes(&small, exact, exact_len);
	small.max_header_bytes = (uint32_t)exact_len - 1;
	check_refused(&small, exact, exact_len, 431);
	/* a slowloris head with no end: waits below the limit, refused at it */
	small.max_header_bytes = 200;
	memset(in, 'x', sizeof(in));
	memcpy(in, "GET / HTTP/1.1\r\nX-Slow: ", 24);
	for (size_t len = 0; len < 200; len++)
		CHECK_INT(parse_n(&small, in, len, &r, &n), HTTP_AGAIN);
	check_refused(&small, in, 200, 431);
	check_refused(&small, in, sizeof(in), 431);
	/* endless empty lines before the request line are bounded by the same limit */
	memset(in, '\n', sizeof(in));
	check_refused(&small, in, sizeof(in), 431);
	/* a request line over the head limit but under the line limit */
	small.max_header_bytes = 30;
	refused_by(&small, long_target(in, 40, " HTTP/1.1\r\n\r\n"), 431);
}

/* ---- chunked bodies ---- */

/* Decodes in[0..len) fed as pieces of `step` bytes (or split once at `split` when step is 0),
 * each piece in place in its own copy as a server's read buffer would hold it. */
static int decode(const char *in, size_t len, size_t split, size_t step, char *body,
                  size_t *body_len, size_t *used)
{
	http_chunked_decoder_t d = {0};
	char *copy = malloc(len ? len : 1);
	size_t off = 0;
	int rc = HTTP_AGAIN;

	memcpy(copy, in, len);
	*body_len = 0;
	while (rc == HTTP_AGAIN && off < len) {
		size_t piece = step          ? step
		               : off < split ? split - off
		                             : len - off,
		       consumed, decoded;

		if (piece > len - off)
			piece = len - off;
		rc = http_chunked_decode(&d, copy + off, piece, &consumed, &decoded);
		CHECK(decoded <= consumed && consumed <= piece);
		if (rc == HTTP_AGAIN)
			CHECK_INT(consumed, piece);
		memcpy(body + *body_len, copy + off, decoded);
		*body_len += decoded;
		off += consumed;
	}
	/* bytes after the body (the next request) are untouched */
	CHECK(memcmp(copy + off, in + off, len - off) == 0);
	free(copy);
	*used = off;
	return rc;
}

TEST(http_request_parse_chunked_every_split)
{
	const char *in = "5\r\nhello\r\n1;name=value;x\r\n \r\n"
	                 "1A ; ext=\"q\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	                 "0\r\nTrailer-One: 1\r\nX-T:\r\n\r\n"
	                 "GET /next HTTP/1.1\r\n\r\n";
	const char *want = "hello abcdefghijklmnopqrstuvwxyz";
	size_t len = strlen(in), end = len - strlen("GET /next HTTP/1.1\r\n\r\n");
	char body[256];
	size_t body_len, used;

	for (size_t split = 0; split <= len; split++) {
		CHECK_INT(decode(in, len, split, 0, body, &body_len, &used), HTTP_DONE);
		CHECK_INT(used, end);
		CHECK_INT(body_len, strlen(want));
		CHECK(memcmp(body, want, strlen(want)) == 0);
	}
	for (size_t step = 1; step <= 3; step++) {
		CHECK_INT(decode(in, len, 0, step, body, &body_len, &used), HTTP_DONE);
		CHECK_INT(used, end);
		CHECK_INT(body_len, strlen(want));
		CHECK(memcmp(body, want, strlen(want)) == 0);
	}
}

TEST(http_request_parse_chunked_forms)
{
	char body[256];
	size_t body_len, used;
	http_chunked_decoder_t d = {0};
	char buf[] = "0\r\n\r\n";
	size_t consumed, decoded;

	CHECK_INT(decode("3\nabc\n0\n\n", 9, 0, 0, body, &body_len, &used), HTTP_DONE);
	CHECK_INT(body_len, 3);
	CHECK_INT(used, 9);
	CHECK_INT(decode("000A\r\n0123456789\r\n00\r\n\r\n", 24, 0, 0, body, &body_len, &used),
	          HTTP_DONE);
	CHECK_INT(body_len, 10);
	CHECK_INT(decode("7fffffffffffffff\r\nabc", 21, 0, 0, body, &body_len, &used), HTTP_AGAIN);
	CHECK_INT(body_len, 3);
	/* done stays done and touches nothing more */
	CHECK_INT(http_chunked_decode(&d, buf, 5, &consumed, &decoded), HTTP_DONE);
	CHECK_INT(consumed, 5);
	CHECK_INT(decoded, 0);
	CHECK_INT(http_chunked_decode(&d, buf, 5, &consumed, &decoded), HTTP_DONE);
	CHECK_INT(consumed, 0);
	CHECK_INT(http_chunked_decode(&d, buf, 0, &consumed, &decoded), HTTP_DONE);
}

static void chunk_refused_n(const char *in, size_t len)
{
	char *body = malloc(len + 1);
	size_t body_len, used;

	for (size_t step = 0; step <= 1; step++)
		if (decode(in, len, len, step, body, &body_len, &used) != HTTP_ERROR)
			test_fail(__FILE__, __LINE__,
			          "chunked \"%.40s\" was not refused (step %zu)", in, step);
	free(body);
}

static void chunk_refused(const char *in)
{
	chunk_refused_n(in, strlen(in));
}

TEST(http_request_parse_chunked_hostile)
{
	char long_line[6000], trailers[10000];
	size_t len;
	http_chunked_decoder_t d = {0};
	size_t consumed, decoded;

	chunk_refused("ffffffffffffffffff\r\n");
	chunk_refused("10000000000000000\r\n");
	chunk_refused("8000000000000000\r\n");
	chunk_refused("5\r\nhelloX\r\n0\r\n\r\n"); /* no line end after the data */
	chunk_refused("5\r\nhello\r0\r\n\r\n");
	chunk_refused("5\r\nhello0\r\n\r\n");
	chunk_refused("g\r\n");
	chunk_refused("0x5\r\nhello\r\n0\r\n\r\n");
	chunk_refused("-1\r\n");
	chunk_refused("\r\n");
	chunk_refused(" 5\r\nhello\r\n");
	chunk_refused("5 \r\nhello\r\n");
	chunk_refused("5\r\r\nhello\r\n");
	chunk_refused("5;a\x01\r\nhello\r\n");
	chunk_refused("0\r\n Folded: x\r\n\r\n");
	chunk_refused("0\r\nNoColon\r\n\r\n");
	chunk_refused("0\r\nX: a\x01\r\n\r\n");
	chunk_refused("0\r\n\rX");
	/* an endless extension is refused within the 4 KiB line budget */
	len = (size_t)sprintf(long_line, "5;");
	memset(long_line + len, 'e', sizeof(long_line) - len);
	chunk_refused_n(long_line, sizeof(long_line));
	CHECK_INT(http_chunked_decode(&d, long_line, sizeof(long_line), &consumed, &decoded),
	          HTTP_ERROR);
	CHECK(consumed <= 4097);
	/* endless trailers are refused within the 8 KiB trailer budget */
	len = (size_t)sprintf(trailers, "0\r\n");
	while (len + 8 < sizeof(trailers))
		len += (size_t)sprintf(trailers + len, "X: yy\r\n");
	chunk_refused_n(trailers, len);
	/* errors stay errors */
	CHECK_INT(http_chunked_decode(&d, (char[]){"0\r\n\r\n"}, 5, &consumed, &decoded),
	          HTTP_ERROR);
}

/* The response parser (what surge run reads) and the request decoder (what surge serve reads)
 * share one chunked framing: each body below gets the same verdict from both — before, the
 * response side took "5 \r\n" and sizes past INT64_MAX that the request side refused. */
TEST(http_chunked_one_framing_for_both_sides)
{
	static const struct {
		const char *body;
		int rc;
	} cases[] = {
	    {"5\r\nhello\r\n0\r\n\r\n", HTTP_DONE},
	    {"5\nhello\n0\n\n", HTTP_DONE},
	    {"05 ;a=b\r\nhello\r\n0;x\r\n\r\n", HTTP_DONE},
	    {"5\r\nhello\r\n0\r\nT: v\r\n\r\n", HTTP_DONE},
	    {"5 \r\nhello\r\n0\r\n\r\n", HTTP_ERROR},
	    {"5\t\r\nhello\r\n0\r\n\r\n", HTTP_ERROR},
	    {"8000000000000000\r\n", HTTP_ERROR},
	    {"10000000000000000\r\n", HTTP_ERROR},
	    {" 5\r\nhello\r\n0\r\n\r\n", HTTP_ERROR},
	    {"5\r\nhelloX\r\n0\r\n\r\n", HTTP_ERROR},
	    {"5;\x01\r\nhello\r\n0\r\n\r\n", HTTP_ERROR},
	    {"0\r\nbad trailer\r\n\r\n", HTTP_ERROR},
	    {"0\r\n\rX", HTTP_ERROR},
	    {"g\r\n", HTTP_ERROR},
	};
	static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *b = cases[i].body;
		size_t n = strlen(b), body_len, used, consumed;
		char body[64], response[256];
		http_response_parser_t p;
		int request_rc = decode(b, n, n, 0, body, &body_len, &used), response_rc;

		snprintf(response, sizeof(response), "%s%s", head, b);
		http_response_parser_init(&p, false);
		response_rc = http_response_parse(&p, response, strlen(response), &consumed);
		if (request_rc != cases[i].rc || response_rc != cases[i].rc)
			test_fail(__FILE__, __LINE__,
			          "\"%s\": request side %d, response side %d, expected %d", b,
			          request_rc, response_rc, cases[i].rc);
	}
}
