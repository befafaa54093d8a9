/* Tests for http_response_parse.c: every valid response form, hostile inputs and EOF handling.
 * Every case is also parsed split at each byte offset and byte by byte, which must not matter. */
#include "test.h"

#include "core/http.h"

#include <stdbool.h>
#include <stdlib.h>

#define MAX_MESSAGES 4

/* What one response parsed into, captured when the parser stopped (DONE, ERROR or input end). */
struct message {
	int rc;
	enum http_error error;
	int status;
	int minor_version;
	bool keep_alive;
	bool chunked;
	bool headers_done;
	int64_t content_length;
	uint64_t body_bytes;
	uint16_t header_count;
	uint32_t header_bytes;
	size_t end; /* offset in the whole input just past this message (DONE only) */
	size_t store_len;
	char store[512];
	bool captured, capture_truncated; /* with options.capture */
	size_t capture_len;
	char capture[HTTP_CAPTURE_MAX];
};

struct outcome {
	size_t count;
	struct message msg[MAX_MESSAGES];
	size_t body_len; /* every message's on_body bytes, concatenated */
	char body[8192];
};

struct options {
	bool head;
	bool eof;                  /* call http_response_eof when the input ends mid-message */
	uint32_t max_header_bytes; /* 0: the default */
	uint16_t max_headers;      /* 0: the default */
	size_t store_cap;          /* 0: no store */
	const char *capture;       /* a header to capture (lower case), or NULL */
};

static void collect_body(void *ctx, const char *data, size_t len)
{
	struct outcome *o = ctx;

	if (o->body_len + len > sizeof(o->body))
		abort();
	memcpy(o->body + o->body_len, data, len);
	o->body_len += len;
}

static void record(struct outcome *o, const http_response_parser_t *p, int rc, size_t end)
{
	struct message *m = &o->msg[o->count++];

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
	if (p->store) {
		m->store_len = p->store->len;
		memcpy(m->store, p->store->data, p->store->len);
	}
	if (p->capture) {
		m->captured = p->capture->found;
		m->capture_truncated = p->capture->truncated;
		m->capture_len = p->capture->len;
		memcpy(m->capture, p->capture->value, p->capture->len);
	}
}

/* Feeds in[0..len) as a first piece of `first` bytes, then pieces of `step` bytes (0: the rest
 * at once), resetting the parser after each complete message as a pipelining client would. */
static void feed(const char *in, size_t len, size_t first, size_t step, const struct options *opt,
                 struct outcome *o)
{
	http_response_parser_t p;
	http_header_store_t store = {0};
	http_header_capture_t capture = {0};
	char store_data[512];
	size_t off = 0;
	int rc = HTTP_AGAIN;

	memset(o, 0, sizeof(*o));
	http_response_parser_init(&p, opt->head);
	if (opt->max_header_bytes)
		p.limits.max_header_bytes = opt->max_header_bytes;
	if (opt->max_headers)
		p.limits.max_headers = opt->max_headers;
	if (opt->store_cap) {
		store.data = store_data;
		store.cap =
		    opt->store_cap < sizeof(store_data) ? opt->store_cap : sizeof(store_data);
		p.store = &store;
	}
	if (opt->capture) {
		capture.name = opt->capture;
		capture.name_len = (uint8_t)strlen(opt->capture);
		p.capture = &capture;
	}
	p.on_body = collect_body;
	p.ctx = o;
	while (off < len && o->count < MAX_MESSAGES) {
		size_t piece = off < first ? first - off : step ? step : len - off, used;

		if (piece > len - off)
			piece = len - off;
		rc = http_response_parse(&p, in + off, piece, &used);
		if (rc == HTTP_AGAIN && used != piece)
			test_fail(__FILE__, __LINE__, "AGAIN consumed %zu of %zu", used, piece);
		off += used;
		if (rc == HTTP_ERROR)
			break;
		if (rc == HTTP_DONE) {
			record(o, &p, rc, off);
			http_response_parser_reset(&p);
			rc = HTTP_AGAIN;
		}
	}
	/* a message in progress when the input ends is recorded, after EOF if asked for */
	if (rc == HTTP_AGAIN && (o->count == MAX_MESSAGES || p.header_bytes == 0))
		return;
	if (rc == HTTP_AGAIN && opt->eof)
		rc = http_response_eof(&p);
	record(o, &p, rc, off);
}

/* After an error, how far into the failing line the header bytes and the store got depends on
 * where the input was split; everything else must match. */
static bool same_message(const struct message *a, const struct message *b)
{
	if (a->rc != b->rc || a->error != b->error || a->status != b->status ||
	    a->minor_version != b->minor_version || a->keep_alive != b->keep_alive ||
	    a->chunked != b->chunked || a->headers_done != b->headers_done ||
	    a->content_length != b->content_length || a->body_bytes != b->body_bytes ||
	    a->header_count != b->header_count || a->end != b->end)
		return false;
	if (a->rc == HTTP_ERROR)
		return true;
	return a->header_bytes == b->header_bytes && a->store_len == b->store_len &&
	       memcmp(a->store, b->store, a->store_len) == 0 && a->captured == b->captured &&
	       a->capture_truncated == b->capture_truncated && a->capture_len == b->capture_len &&
	       memcmp(a->capture, b->capture, a->capture_len) == 0;
}

static bool same_outcome(const struct outcome *a, const struct outcome *b)
{
	if (a->count != b->count || a->body_len != b->body_len ||
	    memcmp(a->body, b->body, a->body_len) != 0)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (!same_message(&a->msg[i], &b->msg[i]))
			return false;
	return true;
}

static bool same_when_split(const char *in, size_t len, size_t k, const struct options *opt,
                            const struct outcome *whole)
{
	static struct outcome other;

	feed(in, len, k, 0, opt, &other);
	if (same_outcome(whole, &other))
		return true;
	test_fail(__FILE__, __LINE__, "split at %zu of %zu differs", k, len);
	return false;
}

/* Parses the input whole, then split at every offset (a few hundred of them for big inputs),
 * then in small pieces; every way must give the same outcome. Returns the whole parse's first
 * message. */
static const struct message *parse_with(const char *in, size_t len, const struct options *opt,
                                        struct outcome *whole)
{
	static struct outcome other;
	static const size_t steps[] = {1, 2, 3, 7};
	size_t stride = len > 4096 ? len / 300 : 1;

	feed(in, len, len, 0, opt, whole);
	for (size_t k = 0; k < len; k += stride)
		if (!same_when_split(in, len, k, opt, whole))
			break;
	same_when_split(in, len, len - 1, opt, whole);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		feed(in, len, 0, steps[i], opt, &other);
		if (!same_outcome(whole, &other))
			test_fail(__FILE__, __LINE__, "%zu-byte pieces differ", steps[i]);
	}
	return &whole->msg[0];
}

static struct outcome result;

static const struct message *parse(const char *in)
{
	static const struct options defaults = {.eof = true, .store_cap = 512};

	return parse_with(in, strlen(in), &defaults, &result);
}

static const struct message *parse_opt(const char *in, struct options opt)
{
	return parse_with(in, strlen(in), &opt, &result);
}

static void check_body(const char *expected)
{
	CHECK_INT(result.body_len, strlen(expected));
	CHECK(result.body_len == strlen(expected) &&
	      memcmp(result.body, expected, result.body_len) == 0);
}

#define CHECK_STORE(m, literal)                                                                    \
	CHECK((m)->store_len == sizeof(literal) - 1 &&                                             \
	      memcmp((m)->store, literal, sizeof(literal) - 1) == 0)

static void check_error(const char *in, enum http_error e)
{
	const struct message *m = parse(in);

	CHECK_INT(result.count, 1);
	CHECK_INT(m->rc, HTTP_ERROR);
	CHECK_STR(http_error_name(m->error), http_error_name(e));
}

TEST(http_response_content_length)
{
	const struct message *m =
	    parse("HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 5\r\n\r\nhello");

	CHECK_INT(m->rc, HTTP_DONE);
	CHECK_INT(m->status, 200);
	CHECK_INT(m->minor_version, 1);
	CHECK(m->keep_alive);
	CHECK(!m->chunked);
	CHECK_INT(m->content_length, 5);
	CHECK_INT(m->body_bytes, 5);
	CHECK_INT(m->header_count, 2);
	CHECK_INT(m->header_bytes,
	          strlen("HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 5\r\n\r\n"));
	check_body("hello");
}

static const char nginx_200[] = "HTTP/1.1 200 OK\r\n"
                                "Server: nginx/1.22.1\r\n"
                                "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
                                "Content-Type: text/html\r\n"
                                "Content-Length: 12\r\n"
                                "Last-Modified: Tue, 19 Dec 2023 10:00:00 GMT\r\n"
                                "Connection: keep-alive\r\n"
                                "ETag: \"6581697c-c\"\r\n"
                                "Accept-Ranges: bytes\r\n"
                                "\r\n"
                                "hello world\n";

TEST(http_response_nginx)
{
	const struct message *m = parse(nginx_200);

	CHECK_INT(m->rc, HTTP_DONE);
	CHECK_INT(m->status, 200);
	CHECK(m->keep_alive);
	CHECK_INT(m->header_count, 8);
	CHECK_INT(m->end, strlen(nginx_200));
	check_body("hello world\n");
}

TEST(http_response_chunked)
{
	const struct message *m = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	                                "5;name=value\r\nhello\r\n"
	                                "6 ; a=\"b c\" ;d\r\n world\r\n"
	                                "A\r\n0123456789\r\n"
	                                "0\r\nX-Checksum: abc\r\nX-Other:  1 \r\n\r\n");

	CHECK_INT(m->rc, HTTP_DONE);
	CHECK(m->chunked);
	CHECK(m->keep_alive);
	CHECK_INT(m->content_length, -1);
	CHECK_INT(m->body_bytes, 21);
	CHECK_INT(m->header_count, 3); /* one header line and two trailer lines */
	check_body("hello world0123456789");
	/* the store has the header and then the trailers */
	CHECK_STORE(m, "Transfer-Encoding\0chunked\0X-Checksum\0abc\0X-Other\0001\0");
}

TEST(http_response_chunked_forms)
{
	const struct message *m;

	m = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK_INT(m->body_bytes, 0);

	m = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
	          "00003  ;x\r\nabc\n0000\n\n");
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK(m->chunked);
	check_body("abc");

	m = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
	          "1\r\nz\r\n0\r\n\r\n");
	CHECK_INT(m->rc, HTTP_DONE);
	check_body("z");

	/* the largest chunk size there is (INT64_MAX, as for request bodies) is accepted (and then
	 * waited for) */
	m = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7FFFFFFFFFFFFFFF\r\nab");
	CHECK_INT(m->rc, HTTP_ERROR);
	CHECK_INT(m->error, HTTP_ERR_CLOSED_EARLY);
	CHECK_INT(m->body_bytes, 2);
}

TEST(http_response_close_delimited)
{
	const struct message *m = parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc");

	CHECK_INT(m->rc, HTTP_DONE); /* at EOF */
	CHECK(!m->keep_alive);
	CHECK_INT(m->content_length, -1);
	CHECK_INT(m->body_bytes, 3);
	check_body("abc");

	m = parse_opt("HTTP/1.1 200 OK\r\n\r\nabc", (struct options){.eof = false});
	CHECK_INT(m->rc, HTTP_AGAIN);
	CHECK(m->headers_done);

	/* a transfer coding without chunked is delimited by close, whatever Content-Length says */
	m = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\nxyz");
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK(!m->keep_alive);
	CHECK(!m->chunked);
	check_body("xyz");
}

TEST(http_response_no_body)
{
	const struct message *m;

	m = parse_opt("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
	              (struct options){.head = true});
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK_INT(m->content_length, 100);
	CHECK_INT(m->body_bytes, 0);
	CHECK(m->keep_alive);

	m = parse_opt("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	              (struct options){.head = true});
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK(!m->chunked);

	m = parse("HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n");
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK_INT(m->status, 204);
	CHECK(m->keep_alive);

	m = parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n");
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK_INT(m->body_bytes, 0);

	m = parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK(m->keep_alive);
}

TEST(http_response_interim)
{
	const struct message *m =
	    parse("HTTP/1.1 100 Continue\r\n\r\n"
	          "HTTP/1.1 102 Processing\r\n\r\n"
	          "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
	          "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");

	CHECK_INT(result.count, 1);
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK_INT(m->status, 201);
	check_body("ok");
	/* the store holds the final response's headers only */
	CHECK_STORE(m, "Content-Length\0002\0");
}

TEST(http_response_switching_protocols)
{
	static const char in[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                         "Connection: Upgrade\r\n\r\n";
	struct outcome o;
	struct options opt = {0};

	/* the bytes after a 101 are not HTTP: stop right after its header block */
	feed(in, strlen(in), strlen(in), 0, &opt, &o);
	CHECK_INT(o.count, 1);
	CHECK_INT(o.msg[0].rc, HTTP_DONE);
	CHECK_INT(o.msg[0].status, 101);
	CHECK(!o.msg[0].keep_alive);
	CHECK_INT(o.msg[0].end, strlen(in));
	parse(in);
	CHECK_INT(result.msg[0].status, 101);
}

TEST(http_response_http10)
{
	const struct message *m;

	m = parse("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK_INT(m->minor_version, 0);
	CHECK(!m->keep_alive);

	m = parse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok");
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK(m->keep_alive);

	m = parse(
	    "HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\nok");
	CHECK(!m->keep_alive);

	m = parse("HTTP/1.0 200 OK\r\n\r\nuntil close");
	CHECK_INT(m->rc, HTTP_DONE);
	check_body("until close");

	/* RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means the connection is not reused */
	m = parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
	          "0\r\n\r\n");
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK(!m->keep_alive);
}

TEST(http_response_connection)
{
	const struct message *m;

	m = parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK(!m->keep_alive);

	m = parse("HTTP/1.1 200 OK\r\nconnection:Upgrade ,  CLOSE \r\nContent-Length: 0\r\n\r\n");
	CHECK(!m->keep_alive);

	m = parse("HTTP/1.1 200 OK\r\nConnection: closed, xclose, ,\r\nContent-Length: 0\r\n\r\n");
	CHECK(m->keep_alive);

	/* a list element longer than the value buffer is skipped, not truncated into a match */
	m = parse("HTTP/1.1 200 OK\r\nConnection: "
	          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	          ", close\r\nContent-Length: 0\r\n\r\n");
	CHECK(!m->keep_alive);
	m = parse("HTTP/1.1 200 OK\r\nConnection: closeaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nContent-Length: 0\r\n\r\n");
	CHECK(m->keep_alive);
}

TEST(http_response_lenient_forms)
{
	const struct message *m;

	m = parse("HTTP/1.1 200 OK\nContent-Length: 2\n\nok");
	CHECK_INT(m->rc, HTTP_DONE);
	check_body("ok");

	m = parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK_INT(m->status, 200);

	m = parse("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n");
	CHECK_INT(m->status, 404);

	m = parse("HTTP/1.1 599 Odd\treason \x80\xff\r\nContent-Length:7\t \r\n\r\nabcdefg");
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK_INT(m->status, 599);
	CHECK_INT(m->content_length, 7);

	/* identical duplicate Content-Length lines are one length (RFC 9110 8.6) */
	m = parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length: 03\r\n\r\nabc");
	CHECK_INT(m->rc, HTTP_DONE);
	check_body("abc");

	m = parse("HTTP/1.1 200 OK\r\nX-A-Header-Name-Far-Longer-Than-The-Name-Buffer: 1\r\n"
	          "Content-Length: 1\r\n\r\nx");
	CHECK_INT(m->rc, HTTP_DONE);
}

TEST(http_response_both_lengths)
{
	/* chunked wins over Content-Length, and the connection is not reused (RFC 9112 6.1) */
	const struct message *m = parse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
	                                "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");

	CHECK_INT(m->rc, HTTP_DONE);
	CHECK(m->chunked);
	CHECK(!m->keep_alive);
	CHECK_INT(m->content_length, -1);
	check_body("abc");
}

TEST(http_response_pipelined)
{
#define ONE   "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
#define TWO   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
#define THREE "HTTP/1.1 204 No Content\r\n\r\n"
	static const char in[] = ONE TWO THREE "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfour";

	parse(in);
	CHECK_INT(result.count, 4);
	for (size_t i = 0; i < 4; i++)
		CHECK_INT(result.msg[i].rc, HTTP_DONE);
	CHECK_INT(result.msg[0].end, strlen(ONE));
	CHECK_INT(result.msg[1].end, strlen(ONE TWO));
	CHECK_INT(result.msg[2].end, strlen(ONE TWO THREE));
	CHECK_INT(result.msg[2].status, 204);
	CHECK_INT(result.msg[3].end, strlen(in));
	check_body("onetwofour");
#undef ONE
#undef TWO
#undef THREE
}

TEST(http_response_pipelined_manual)
{
	static const char in[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
	                         "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb";
	http_response_parser_t p;
	size_t used;

	http_response_parser_init(&p, false);
	CHECK_INT(http_response_parse(&p, in, sizeof(in) - 1, &used), HTTP_DONE);
	CHECK_INT(used, 39);
	/* without a reset the parser stays done and takes nothing */
	CHECK_INT(http_response_parse(&p, in + used, sizeof(in) - 1 - used, &used), HTTP_DONE);
	CHECK_INT(used, 0);
	http_response_parser_reset(&p);
	CHECK_INT(http_response_parse(&p, in + 39, sizeof(in) - 1 - 39, &used), HTTP_DONE);
	CHECK_INT(used, 39);
	CHECK_INT(p.body_bytes, 1);
}

TEST(http_response_store)
{
	const struct message *m = parse("HTTP/1.1 200 OK\r\nServer:  nginx \r\nX-Empty:\r\n"
	                                "X-Spaced: a  b\t\r\nContent-Length: 0\r\n\r\n");

	CHECK_INT(m->rc, HTTP_DONE);
	CHECK_STORE(m, "Server\0nginx\0X-Empty\0\0X-Spaced\0a  b\0Content-Length\0000\0");

	/* a full store is header_too_large, at the same byte whatever the split */
	m = parse_opt("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n",
	              (struct options){.store_cap = 20});
	CHECK_INT(m->rc, HTTP_ERROR);
	CHECK_INT(m->error, HTTP_ERR_HEADER_TOO_LARGE);
	m = parse_opt("HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\n",
	              (struct options){.store_cap = 13});
	CHECK_INT(m->rc, HTTP_AGAIN); /* exactly fits "Server\0nginx\0"; waits for the body */
	CHECK_INT(m->store_len, 13);
}

#define CHECK_CAPTURE(m, literal)                                                                  \
	CHECK((m)->captured && (m)->capture_len == sizeof(literal) - 1 &&                          \
	      memcmp((m)->capture, literal, sizeof(literal) - 1) == 0)

/* --group-by-header: one header's value kept as it is parsed, whatever the split (parse()
 * checks every one), the name in any case, the first occurrence only, OWS trimmed, long
 * names and values handled, trailers and interim responses not counted. */
TEST(http_response_capture)
{
	struct options o = {.eof = true, .store_cap = 512, .capture = "x-served-by"};
	const struct message *m;
	char big[1024], value[201];

	m = parse_opt("HTTP/1.1 200 OK\r\nServer: surge\r\nx-SERVED-by:  pod-a \t\r\n"
	              "X-Served-By: pod-b\r\nContent-Length: 2\r\n\r\nok",
	              o);
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK_CAPTURE(m, "pod-a");
	CHECK(!m->capture_truncated);
	/* the store still has every header; an empty value is found, and empty */
	CHECK_STORE(m, "Server\0surge\0x-SERVED-by\0pod-a\0X-Served-By\0pod-b\0Content-Length\0"
	               "2\0");
	m = parse_opt("HTTP/1.1 200 OK\r\nX-Served-By:\r\nContent-Length: 0\r\n\r\n", o);
	CHECK(m->captured && m->capture_len == 0);
	/* absent; a longer or shorter name is another header */
	m = parse_opt("HTTP/1.1 200 OK\r\nX-Served-By-Proxy: a\r\nX-Served-B: b\r\n"
	              "Content-Length: 0\r\n\r\n",
	              o);
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK(!m->captured && m->capture_len == 0);
	/* a name longer than the parser's own name buffer (24), and a value cut at the maximum */
	o.capture = "x-a-header-name-longer-than-the-parsers-own-buffer";
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	snprintf(big, sizeof(big),
	         "HTTP/1.1 200 OK\r\nX-A-Header-Name-Longer-Than-The-Parsers-Own-Buffer: %s\r\n"
	         "Content-Length: 0\r\n\r\n",
	         value);
	o.store_cap = 0;
	m = parse_opt(big, o);
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK(m->captured && m->capture_truncated && m->capture_len == HTTP_CAPTURE_MAX);
	/* a blank where the value is cut is the value's, not trailing OWS (fuzz_http_response) */
	value[HTTP_CAPTURE_MAX - 1] = ' ';
	snprintf(big, sizeof(big),
	         "HTTP/1.1 200 OK\r\nX-A-Header-Name-Longer-Than-The-Parsers-Own-Buffer: %s\r\n"
	         "Content-Length: 0\r\n\r\n",
	         value);
	m = parse_opt(big, o);
	CHECK(m->captured && m->capture_truncated && m->capture_len == HTTP_CAPTURE_MAX);
	/* trailers do not count; an interim response's header does not either */
	o.capture = "x-served-by";
	m = parse_opt("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
	              "X-Served-By: trailer\r\n\r\n",
	              o);
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK(!m->captured);
	m = parse_opt("HTTP/1.1 103 Early Hints\r\nX-Served-By: early\r\n\r\n"
	              "HTTP/1.1 200 OK\r\nX-Served-By: final\r\nContent-Length: 0\r\n\r\n",
	              o);
	CHECK_CAPTURE(m, "final");
	m = parse_opt("HTTP/1.1 103 Early Hints\r\nX-Served-By: early\r\n\r\n"
	              "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	              o);
	CHECK(!m->captured);
	/* the next message starts without the last one's value */
	m = parse_opt("HTTP/1.1 200 OK\r\nX-Served-By: one\r\nContent-Length: 0\r\n\r\n"
	              "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	              o);
	CHECK_INT(result.count, 2);
	CHECK_CAPTURE(&result.msg[0], "one");
	CHECK(!result.msg[1].captured && result.msg[1].capture_len == 0);
}

TEST(http_response_on_body_dechunked)
{
	char in[4096], expect[2048];
	size_t n = 0, body = 0;

	n += (size_t)sprintf(in, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 1; i <= 40; i++) {
		n += (size_t)sprintf(in + n, "%x\r\n", i);
		for (int j = 0; j < i; j++)
			in[n++] = expect[body++] = (char)('a' + (i + j) % 26);
		n += (size_t)sprintf(in + n, "\r\n");
	}
	n += (size_t)sprintf(in + n, "0\r\n\r\n");
	expect[body] = '\0';
	const struct message *m = parse(in);
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK_INT(m->body_bytes, body);
	check_body(expect);
}

TEST(http_response_garbage)
{
	check_error("hello world\r\n\r\n", HTTP_ERR_STATUS_LINE);
	check_error("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", HTTP_ERR_STATUS_LINE);
	check_error("http/1.1 200 OK\r\n\r\n", HTTP_ERR_STATUS_LINE);
	check_error("\r\nHTTP/1.1 200 OK\r\n\r\n", HTTP_ERR_STATUS_LINE);
	check_error("HTTP/2.0 200 OK\r\n\r\n", HTTP_ERR_VERSION);
	check_error("HTTP/2 200 OK\r\n\r\n", HTTP_ERR_VERSION);
	check_error("HTTP/1.x 200 OK\r\n\r\n", HTTP_ERR_VERSION);
	check_error("HTTP/1.10 200 OK\r\n\r\n", HTTP_ERR_STATUS_LINE);
	check_error("HTTP/1.1  200 OK\r\n\r\n", HTTP_ERR_STATUS_LINE);
	check_error("HTTP/1.1 1000 OK\r\n\r\n", HTTP_ERR_STATUS_LINE);
	check_error("HTTP/1.1 20 OK\r\n\r\n", HTTP_ERR_STATUS_LINE);
	check_error("HTTP/1.1 099 OK\r\n\r\n", HTTP_ERR_STATUS_LINE);
	check_error("HTTP/1.1 2x0 OK\r\n\r\n", HTTP_ERR_STATUS_LINE);
	check_error("HTTP/1.1 200OK\r\n\r\n", HTTP_ERR_STATUS_LINE);
	check_error("HTTP/1.1 200 O\x01K\r\n\r\n", HTTP_ERR_STATUS_LINE);
	check_error("HTTP/1.1 200 O\x7fK\r\n\r\n", HTTP_ERR_STATUS_LINE);
	check_error("HTTP/1.1 200 OK\rX\r\n\r\n", HTTP_ERR_STATUS_LINE);
}

TEST(http_response_nul_bytes)
{
	static const char status[] = "HTTP/1.1 200 O\0K\r\n\r\n";
	static const char name[] = "HTTP/1.1 200 OK\r\nX-F\0o: 1\r\n\r\n";
	static const char value[] = "HTTP/1.1 200 OK\r\nX-Foo: a\0b\r\n\r\n";
	static const char chunk[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;\0\r\n";
	struct options opt = {.eof = true};
	const struct message *m;

	m = parse_with(status, sizeof(status) - 1, &opt, &result);
	CHECK_INT(m->error, HTTP_ERR_STATUS_LINE);
	m = parse_with(name, sizeof(name) - 1, &opt, &result);
	CHECK_INT(m->error, HTTP_ERR_HEADER);
	m = parse_with(value, sizeof(value) - 1, &opt, &result);
	CHECK_INT(m->error, HTTP_ERR_HEADER);
	m = parse_with(chunk, sizeof(chunk) - 1, &opt, &result);
	CHECK_INT(m->error, HTTP_ERR_CHUNK);
}

TEST(http_response_bad_headers)
{
	check_error("HTTP/1.1 200 OK\r\nX-Foo: a\r\n folded\r\n\r\n", HTTP_ERR_HEADER);
	check_error("HTTP/1.1 200 OK\r\n\tX-Foo: a\r\n\r\n", HTTP_ERR_HEADER);
	check_error("HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n", HTTP_ERR_HEADER);
	check_error("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", HTTP_ERR_HEADER);
	check_error("HTTP/1.1 200 OK\r\n: empty-name\r\n\r\n", HTTP_ERR_HEADER);
	check_error("HTTP/1.1 200 OK\r\nX(y): 1\r\n\r\n", HTTP_ERR_HEADER);
	check_error("HTTP/1.1 200 OK\r\nX-Foo: a\rb\r\n\r\n", HTTP_ERR_HEADER);
	check_error("HTTP/1.1 200 OK\r\nX-Foo: a\x1b\r\n\r\n", HTTP_ERR_HEADER);
	check_error("HTTP/1.1 200 OK\r\n\r\r\n", HTTP_ERR_HEADER);
	check_error("HTTP/1.1 200 OK\r\nX-\xc3\xa9: 1\r\n\r\n", HTTP_ERR_HEADER);
}

TEST(http_response_bad_content_length)
{
	check_error("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
	            HTTP_ERR_CONTENT_LENGTH);
	check_error("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n",
	            HTTP_ERR_CONTENT_LENGTH);
	check_error("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", HTTP_ERR_CONTENT_LENGTH);
	check_error("HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n", HTTP_ERR_CONTENT_LENGTH);
	check_error("HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", HTTP_ERR_CONTENT_LENGTH);
	check_error("HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", HTTP_ERR_CONTENT_LENGTH);
	check_error("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", HTTP_ERR_CONTENT_LENGTH);
	check_error("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", HTTP_ERR_CONTENT_LENGTH);
	check_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	            HTTP_ERR_CONTENT_LENGTH);

	/* INT64_MAX itself is a valid length, waited for until EOF */
	const struct message *m =
	    parse("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\nab");
	CHECK_INT(m->error, HTTP_ERR_CLOSED_EARLY);
	CHECK(m->headers_done);
	CHECK_INT(m->content_length, INT64_MAX);
}

TEST(http_response_bad_transfer_encoding)
{
	check_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
	            HTTP_ERR_TRANSFER_ENCODING);
	check_error(
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
	    HTTP_ERR_TRANSFER_ENCODING);
	check_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
	            HTTP_ERR_TRANSFER_ENCODING);
}

TEST(http_response_bad_chunks)
{
#define CHUNKED "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	check_error(CHUNKED "10000000000000000\r\n", HTTP_ERR_CHUNK);
	/* the framing is the request decoder's too (core/http_syntax.c): a size past INT64_MAX,
	 * and whitespace after a size that no extension follows, are malformed */
	check_error(CHUNKED "8000000000000000\r\n", HTTP_ERR_CHUNK);
	check_error(CHUNKED "3 \r\nabc\r\n0\r\n\r\n", HTTP_ERR_CHUNK);
	check_error(CHUNKED "5\r\nhelloX0\r\n\r\n", HTTP_ERR_CHUNK);
	check_error(CHUNKED "5\r\nhello\r0\r\n\r\n", HTTP_ERR_CHUNK);
	check_error(CHUNKED "\r\n", HTTP_ERR_CHUNK);
	check_error(CHUNKED "g\r\n", HTTP_ERR_CHUNK);
	check_error(CHUNKED "-1\r\n", HTTP_ERR_CHUNK);
	check_error(CHUNKED "1 2\r\n", HTTP_ERR_CHUNK);
	check_error(CHUNKED "1\rx", HTTP_ERR_CHUNK);
	check_error(CHUNKED "0\r\nbad trailer\r\n\r\n", HTTP_ERR_TRAILER);
	check_error(CHUNKED "0\r\n folded: x\r\n\r\n", HTTP_ERR_TRAILER);
	check_error(CHUNKED "0\r\n\rx", HTTP_ERR_TRAILER);

	/* extensions are skipped but bounded */
	char in[6000];
	int n = sprintf(in, CHUNKED "1;");
	memset(in + n, 'x', 5000);
	strcpy(in + n + 5000, "\r\na\r\n0\r\n\r\n");
	check_error(in, HTTP_ERR_CHUNK);
#undef CHUNKED
}

TEST(http_response_header_limits)
{
	char in[70 * 1024];
	int n = sprintf(in, "HTTP/1.1 200 OK\r\nX-Big: ");

	memset(in + n, 'x', 66 * 1024);
	strcpy(in + n + 66 * 1024, "\r\n\r\n");
	check_error(in, HTTP_ERR_HEADER_TOO_LARGE);

	n = sprintf(in, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < 101; i++)
		n += sprintf(in + n, "X-%d: %d\r\n", i, i);
	strcpy(in + n, "\r\n");
	const struct message *m = parse_opt(in, (struct options){.eof = true}); /* no store */
	CHECK_INT(m->error, HTTP_ERR_TOO_MANY_HEADERS);
	CHECK_INT(m->header_count, 100);

	/* a header block of exactly max_header_bytes passes; one byte more does not */
	static const char exact[] = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
	struct options opt = {.eof = true, .max_header_bytes = sizeof(exact) - 2};
	m = parse_opt(exact, opt);
	CHECK_INT(m->rc, HTTP_DONE);
	CHECK_INT(m->header_bytes, sizeof(exact) - 2);
	opt.max_header_bytes--;
	m = parse_opt(exact, opt);
	CHECK_INT(m->error, HTTP_ERR_HEADER_TOO_LARGE);

	/* exactly max_headers header lines pass; trailers count against the same limit */
	opt = (struct options){.eof = true, .max_headers = 2};
	m = parse_opt("HTTP/1.1 200 OK\r\nA: 1\r\nContent-Length: 0\r\n\r\n", opt);
	CHECK_INT(m->rc, HTTP_DONE);
	m = parse_opt(
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\r\nU: 2\r\n\r\n", opt);
	CHECK_INT(m->error, HTTP_ERR_TOO_MANY_HEADERS);

	/* interim responses count too, so they cannot go on forever */
	opt = (struct options){.eof = true, .max_header_bytes = 100};
	m = parse_opt("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
	              "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
	              "HTTP/1.1 100 Continue\r\n\r\n",
	              opt);
	CHECK_INT(m->error, HTTP_ERR_HEADER_TOO_LARGE);
}

TEST(http_response_eof)
{
	const struct message *m;
	http_response_parser_t p;
	size_t used;

	http_response_parser_init(&p, false);
	CHECK_INT(http_response_eof(&p), HTTP_ERROR);
	CHECK_STR(http_error_name(p.error), "closed_early");
	/* an error sticks */
	CHECK_INT(http_response_parse(&p, "HTTP/1.1 200 OK\r\n", 17, &used), HTTP_ERROR);
	CHECK_INT(http_response_eof(&p), HTTP_ERROR);

	m = parse("HTTP/1.1 200 OK\r\nContent-Le");
	CHECK_INT(m->error, HTTP_ERR_CLOSED_EARLY);
	CHECK(!m->headers_done);
	m = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc");
	CHECK_INT(m->error, HTTP_ERR_CLOSED_EARLY);
	CHECK_INT(m->body_bytes, 3);
	m = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
	CHECK_INT(m->error, HTTP_ERR_CLOSED_EARLY);

	http_response_parser_init(&p, false);
	CHECK_INT(http_response_parse(&p, "HTTP/1.1 200 OK\r\n\r\nxy", 21, &used), HTTP_AGAIN);
	CHECK_INT(http_response_eof(&p), HTTP_DONE);
	CHECK_INT(http_response_eof(&p), HTTP_DONE);
	CHECK_INT(p.body_bytes, 2);
}

TEST(http_response_error_names)
{
	CHECK_STR(http_error_name(HTTP_ERR_NONE), "none");
	CHECK_STR(http_error_name(HTTP_ERR_STATUS_LINE), "status_line");
	CHECK_STR(http_error_name(HTTP_ERR_HEADER_TOO_LARGE), "header_too_large");
	CHECK_STR(http_error_name(HTTP_ERR_CLOSED_EARLY), "closed_early");
	CHECK_STR(http_error_name(HTTP_ERR_COUNT), "unknown");
	for (int e = 0; e < HTTP_ERR_COUNT; e++)
		CHECK(http_error_name((enum http_error)e) != NULL);
}

TEST(http_response_defaults)
{
	http_response_parser_t p;

	http_response_parser_init(&p, true);
	CHECK_INT(p.limits.max_header_bytes, 64 * 1024);
	CHECK_INT(p.limits.max_headers, 100);
	CHECK(p.head_request);
	CHECK_INT(p.content_length, -1);
	CHECK_INT(p.error, HTTP_ERR_NONE);
}

/* A deterministic little fuzzer for builds without clang: overwritten bytes in valid
 * responses must give an answer (any answer) that does not depend on how the input was split. */
TEST(http_response_mutations)
{
	static const char *const seeds[] = {
	    nginx_200,
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: "
	    "1\r\n\r\n",
	    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nbody",
	};
	static const char interesting[] = "\r\n:; \t0aF,\x7f";
	struct options opt = {.eof = true, .store_cap = 512};
	uint32_t rng = 12345;
	char in[512];

	for (int round = 0; round < 600; round++) {
		const char *seed = seeds[round % 3];
		size_t len = strlen(seed);

		memcpy(in, seed, len);
		for (int edits = 1 + round % 3; edits > 0; edits--) {
			rng = rng * 1103515245u + 12345u;
			size_t at = (rng >> 8) % len;
			in[at] = rng & 0x80 ? interesting[(rng >> 20) % (sizeof(interesting) - 1)]
			                    : (char)(rng >> 24);
		}
		parse_with(in, len, &opt, &result);
		CHECK(result.count >= 1);
	}
}
