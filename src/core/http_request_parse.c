/* http_request_parse: the server half of the HTTP/1.1 codec — the request-head parser, header
 * lookup and the in-place chunked body decoder. Pure: no I/O, no allocation, no hidden state. */
#include "core/http.h"
#include "core/http_syntax.h"

#include <string.h>
#include <strings.h>

/* Status codes the head parser answers (r->error_status), and why:
 *   400  any syntax error: bad method token, request-target with a control, space or byte >= 0x80,
 *        a target that is none of origin-form, "*" (OPTIONS only) or http(s) absolute-form,
 *        version not "HTTP/d.d", bare CR, whitespace before a colon, obs-fold, a control in a
 *        value, a bad or conflicting Content-Length, chunked not the last coding or given twice,
 *        and — against request smuggling — Transfer-Encoding together with Content-Length or in
 *        an HTTP/1.0 request (RFC 9112 6.1 says the framing is then faulty): a front proxy and
 *        this server could disagree on where the body ends, so neither is trusted.
 *   414  the request line (without its line ending) is longer than max_request_line.
 *   417  an Expect value other than 100-continue.
 *   431  the head is longer than max_header_bytes, or has more header lines than max_headers.
 *   501  a transfer coding other than chunked ("gzip", "gzip, chunked"): the body cannot be read.
 *   505  a version of the right shape whose major is not 1 ("HTTP/2.0", the h2 preface);
 *        HTTP/1.2..1.9 are read as HTTP/1.1, as RFC 9110 2.5 asks.
 * Faults and limits are checked in byte order (the framing headers, Expect included, once the
 * head is complete), so a refusal never changes as more bytes arrive, and an oversized line or
 * head is refused as soon as its limit is passed, not at its end. Host is not required: surge
 * serve answers any host. */

/* Returned by the scanners when they reach the end of the bytes they may look at; the caller
 * turns it into HTTP_AGAIN, or 431 when that end is max_header_bytes. Errors are HTTP statuses. */
#define NEED_MORE 1

/* The whole trailer section of a chunked body, final empty line included. */
#define CHUNK_TRAILERS_MAX 8192

/* What the head's headers said about framing and reuse; judged once the head is complete, so a
 * syntax error later in the head still wins over these. */
struct head_flags {
	bool te_seen;      /* a Transfer-Encoding line named at least one coding */
	bool te_chunked;   /* ... chunked was among them */
	bool te_bad;       /* chunked given twice, or not last */
	bool te_other;     /* a coding we cannot undo */
	bool conn_close;   /* Connection: close */
	bool conn_keep;    /* Connection: keep-alive */
	bool expect_100;   /* Expect: 100-continue */
	bool expect_other; /* any other expectation */
};

/* The bytes the parser may look at: [p, end), end = min(len, max_header_bytes). */
struct scan {
	const char *p;
	const char *end;
};

/* Compares bytes that passed token, target or field validation with a lowercase literal made of
 * letters, digits, '-', ':' and '/': OR-ing 0x20 folds case, and the only other bytes it maps
 * onto those are controls, which never get this far. */
static bool ascii_case_eq(const char *s, size_t n, const char *lower, size_t lower_len)
{
	if (n != lower_len)
		return false;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] | 0x20) != (unsigned char)lower[i])
			return false;
	return true;
}

#define LITERAL_EQ(s, n, lit) ascii_case_eq((s), (n), (lit), sizeof(lit) - 1)

static http_slice_t slice(const char *from, const char *to)
{
	return (http_slice_t){.p = from, .len = (size_t)(to - from)};
}

/* Request-target bytes are visible ASCII (0x21..0x7e): one subtraction and compare each. */
static const char *scan_target(const char *s, const char *end)
{
	while (s < end && (unsigned char)(*s - 0x21) < 0x5e)
		s++;
	return s;
}

/* Steps over CRLF or a bare LF at *pp; a CR must be followed by LF. */
static int end_of_line(const char **pp, const char *end)
{
	const char *p = *pp;

	if (p == end)
		return NEED_MORE;
	if (*p == '\r' && ++p == end)
		return NEED_MORE;
	if (*p != '\n')
		return 400;
	*pp = p + 1;
	return 0;
}

/* RFC 9112 2.2: a server SHOULD ignore empty lines before the request line (some clients send a
 * CRLF after a POST body). They count against max_header_bytes, so they are bounded too. */
static int skip_empty_lines(struct scan *s)
{
	while (s->p < s->end && (*s->p == '\r' || *s->p == '\n')) {
		int st = end_of_line(&s->p, s->end);

		if (st)
			return st;
	}
	return 0;
}

/* A request-line scan stopped at line_end. If more bytes exist there, the line is either over
 * max_request_line (414) or ended before its version (400); if not, wait for them. */
static int line_overrun(const struct scan *s, const char *line_end)
{
	if (line_end == s->end)
		return NEED_MORE;
	return *line_end == '\r' || *line_end == '\n' ? 400 : 414;
}

static int parse_version(const char *v, http_request_t *r)
{
	if (memcmp(v, "HTTP/", 5) != 0 || !http_is_digit(v[5]) || v[6] != '.' ||
	    !http_is_digit(v[7]))
		return 400;
	if (v[5] != '1')
		return 505;
	r->minor_version = v[7] == '0' ? 0 : 1; /* 1.2..1.9 are read as 1.1 (RFC 9110 2.5) */
	return 0;
}

static void split_path_query(http_request_t *r, const char *path)
{
	const char *end = r->target.p + r->target.len;
	const char *q = memchr(path, '?', (size_t)(end - path));

	r->path = slice(path, q ? q : end);
	r->query = q ? slice(q + 1, end) : slice(end, end);
}

/* Absolute-form (a proxy-style "http://host/p?q"): path and query are what follows the
 * authority. Without a path, path is "/" — one of the scheme's own slashes, so that every slice
 * still points into the caller's buffer. */
static int split_absolute_form(http_request_t *r)
{
	const char *t = r->target.p, *end = t + r->target.len, *authority, *p;

	if (r->target.len > 7 && LITERAL_EQ(t, 7, "http://"))
		authority = t + 7;
	else if (r->target.len > 8 && LITERAL_EQ(t, 8, "https://"))
		authority = t + 8;
	else
		return 400;
	for (p = authority; p < end && *p != '/' && *p != '?'; p++)
		;
	if (p == authority)
		return 400; /* no host */
	split_path_query(r, p);
	if (r->path.len == 0)
		r->path = (http_slice_t){.p = authority - 1, .len = 1};
	return 0;
}

/* Sets path and query from the target, and checks the target's form against the method. */
static int split_target(http_request_t *r)
{
	if (r->target.p[0] == '/') {
		split_path_query(r, r->target.p);
		return 0;
	}
	if (r->target.p[0] != '*')
		return split_absolute_form(r);
	/* methods are case-sensitive: only OPTIONS may ask about the server as a whole */
	if (r->target.len != 1 || r->method.len != 7 || memcmp(r->method.p, "OPTIONS", 7) != 0)
		return 400;
	r->path = r->target;
	r->query = slice(r->target.p + 1, r->target.p + 1);
	return 0;
}

/* "METHOD SP request-target SP HTTP/1.x" and its line end. Content bytes are looked at only up to
 * line_end = the first byte past max_request_line, so an endless line is refused there. */
static int parse_request_line(struct scan *s, http_request_t *r, uint32_t max_line)
{
	const char *p = s->p, *target, *line_end = s->end;
	int st;

	if ((size_t)(s->end - p) > max_line)
		line_end = p + max_line;
	p = http_scan_token(p, line_end);
	if (p == line_end)
		return line_overrun(s, line_end);
	if (*p != ' ' || p == s->p)
		return 400;
	r->method = slice(s->p, p);
	target = ++p;
	p = scan_target(p, line_end);
	if (p == line_end)
		return line_overrun(s, line_end);
	if (*p != ' ' || p == target)
		return 400;
	r->target = slice(target, p);
	p++;
	if (line_end - p < 8)
		return line_overrun(s, line_end);
	if ((st = parse_version(p, r)) != 0)
		return st;
	p += 8;
	if ((st = end_of_line(&p, s->end)) != 0)
		return st;
	s->p = p;
	return split_target(r);
}

/* Returns the next non-empty element of a comma-separated list with its OWS trimmed, or false at
 * the end (RFC 9110 5.6.1: empty elements are ignored). */
static bool next_element(const char **pp, const char *end, http_slice_t *element)
{
	const char *p = *pp, *stop;

	while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
		p++;
	if (p == end)
		return false;
	stop = memchr(p, ',', (size_t)(end - p));
	*pp = stop ? stop + 1 : end;
	if (!stop)
		stop = end;
	while (stop[-1] == ' ' || stop[-1] == '\t')
		stop--;
	*element = slice(p, stop);
	return true;
}

/* 1*DIGIT, overflow checked; repeats must agree (RFC 9112 6.3: differing values are an error,
 * and a list like "5, 5" is refused rather than trusted). */
static int parse_content_length(const http_slice_t *v, http_request_t *r)
{
	int64_t n = 0;

	if (v->len == 0)
		return 400;
	for (size_t i = 0; i < v->len; i++) {
		int digit = (unsigned char)v->p[i] - '0';

		if (!http_is_digit((unsigned char)v->p[i]) || n > (INT64_MAX - digit) / 10)
			return 400;
		n = n * 10 + digit;
	}
	if (r->content_length >= 0 && r->content_length != n)
		return 400;
	r->content_length = n;
	return 0;
}

/* Codings accumulate across lines in order; chunked must come once and last. */
static int parse_transfer_encoding(const http_slice_t *v, struct head_flags *f)
{
	const char *p = v->p, *end = p + v->len;
	http_slice_t e;
	bool any = false;

	while (next_element(&p, end, &e)) {
		size_t name_len = (size_t)(http_scan_token(e.p, e.p + e.len) - e.p);

		if (name_len == 0)
			return 400;
		if (LITERAL_EQ(e.p, name_len, "chunked")) {
			if (name_len != e.len || f->te_chunked)
				return 400; /* chunked takes no parameters, and once is enough */
			f->te_chunked = true;
		} else {
			f->te_bad |= f->te_chunked; /* a coding after chunked */
			f->te_other = true;
		}
		any = true;
	}
	if (!any)
		return 400;
	f->te_seen = true;
	return 0;
}

static void parse_connection(const http_slice_t *v, struct head_flags *f)
{
	const char *p = v->p, *end = p + v->len;
	http_slice_t e;

	while (next_element(&p, end, &e)) {
		if (LITERAL_EQ(e.p, e.len, "close"))
			f->conn_close = true;
		else if (LITERAL_EQ(e.p, e.len, "keep-alive"))
			f->conn_keep = true;
	}
}

/* Only the headers that decide framing, reuse or expectations are looked into; the length
 * switch keeps the common case (Host, User-Agent, Accept) to one compare. */
static int interpret_header(const http_slice_t *name, const http_slice_t *v, http_request_t *r,
                            struct head_flags *f)
{
	switch (name->len) {
	case 6:
		if (LITERAL_EQ(name->p, 6, "expect")) {
			if (LITERAL_EQ(v->p, v->len, "100-continue"))
				f->expect_100 = true;
			else
				f->expect_other = true;
		}
		return 0;
	case 10:
		if (LITERAL_EQ(name->p, 10, "connection"))
			parse_connection(v, f);
		return 0;
	case 14: return LITERAL_EQ(name->p, 14, "content-length") ? parse_content_length(v, r) : 0;
	case 17:
		return LITERAL_EQ(name->p, 17, "transfer-encoding") ? parse_transfer_encoding(v, f)
		                                                    : 0;
	default: return 0;
	}
}

/* One "name: value" line. A line starting with whitespace is obs-fold (or whitespace before
 * the first header); both are refused, as RFC 9112 5.2 and 2.2 allow. */
static int parse_header_line(struct scan *s, http_request_t *r, struct head_flags *f)
{
	const char *p, *value, *value_end;
	http_slice_t name, v;
	int st;

	p = http_scan_token(s->p, s->end);
	if (p == s->end)
		return NEED_MORE;
	if (*p != ':' || p == s->p)
		return 400;
	name = slice(s->p, p);
	p++;
	while (p < s->end && (*p == ' ' || *p == '\t'))
		p++;
	value = p;
	p = http_scan_field(p, s->end);
	value_end = p;
	if ((st = end_of_line(&p, s->end)) != 0)
		return st;
	while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
		value_end--;
	v = slice(value, value_end);
	r->header_names[r->header_count] = name;
	r->header_values[r->header_count] = v;
	r->header_count++;
	s->p = p;
	return interpret_header(&name, &v, r, f);
}

/* The head is complete: judge the framing headers together (see the top of the file). */
static int finish_head(http_request_t *r, const struct head_flags *f)
{
	if (f->te_seen) {
		if (r->minor_version == 0 || r->content_length >= 0 || f->te_bad)
			return 400;
		if (f->te_other)
			return 501;
		r->chunked = true;
	}
	if (f->expect_other)
		return 417;
	/* RFC 9110 10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored */
	r->expect_continue = f->expect_100 && r->minor_version >= 1;
	r->keep_alive = !f->conn_close && (r->minor_version >= 1 || f->conn_keep);
	return 0;
}

static int parse_headers(struct scan *s, http_request_t *r, uint16_t max_headers)
{
	struct head_flags f = {0};
	int st;

	if (max_headers > HTTP_REQUEST_MAX_HEADERS)
		max_headers = HTTP_REQUEST_MAX_HEADERS;
	for (;;) {
		if (s->p == s->end)
			return NEED_MORE;
		if (*s->p == '\r' || *s->p == '\n')
			break;
		if (r->header_count == max_headers)
			return 431;
		if ((st = parse_header_line(s, r, &f)) != 0)
			return st;
	}
	if ((st = end_of_line(&s->p, s->end)) != 0)
		return st;
	return finish_head(r, &f);
}

static void reset_request(http_request_t *r)
{
	r->method = r->target = r->path = r->query = (http_slice_t){0};
	r->minor_version = 0;
	r->keep_alive = r->chunked = r->expect_continue = false;
	r->content_length = -1;
	r->header_count = 0;
	r->error_status = 0;
}

int http_request_parse(const http_request_limits_t *limits, const char *buf, size_t len,
                       http_request_t *r, size_t *head_len)
{
	bool at_limit = len >= limits->max_header_bytes;
	struct scan s = {.p = buf, .end = buf + (at_limit ? limits->max_header_bytes : len)};
	int st;

	reset_request(r);
	*head_len = 0;
	st = skip_empty_lines(&s);
	if (!st)
		st = parse_request_line(&s, r, limits->max_request_line);
	if (!st)
		st = parse_headers(&s, r, limits->max_headers);
	if (st == NEED_MORE && !at_limit)
		return HTTP_AGAIN;
	if (st) {
		/* bytes ran out at max_header_bytes: the head cannot fit */
		r->error_status = (uint16_t)(st == NEED_MORE ? 431 : st);
		return HTTP_ERROR;
	}
	*head_len = (size_t)(s.p - buf);
	return HTTP_DONE;
}

static bool name_eq(const http_slice_t *name, const char *want, size_t want_len)
{
	if (name->len != want_len)
		return false;
	for (size_t i = 0; i < want_len; i++) {
		unsigned char a = (unsigned char)name->p[i], b = (unsigned char)want[i];

		if ((unsigned)(a - 'A') < 26u)
			a |= 0x20;
		if ((unsigned)(b - 'A') < 26u)
			b |= 0x20;
		if (a != b)
			return false;
	}
	return true;
}

http_slice_t http_request_header(const http_request_t *r, const char *name)
{
	size_t want_len = strlen(name);

	for (uint16_t i = 0; i < r->header_count; i++)
		if (name_eq(&r->header_names[i], name, want_len))
			return r->header_values[i];
	return (http_slice_t){0};
}

bool http_list_has(http_slice_t v, const char *token)
{
	size_t tlen = strlen(token);
	/* an absent header is {NULL, 0}: NULL + 0 is undefined (fuzz_serve_h2 found it on every
	 * HTTP/1.1 request without Upgrade) */
	const char *p = v.p, *end = p ? p + v.len : NULL;

	while (p && p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p)), *stop = comma ? comma : end;

		while (p < stop && (*p == ' ' || *p == '\t'))
			p++;
		while (stop > p && (stop[-1] == ' ' || stop[-1] == '\t'))
			stop--;
		if ((size_t)(stop - p) == tlen && strncasecmp(p, token, tlen) == 0)
			return true;
		p = comma ? comma + 1 : end;
	}
	return false;
}

/* ---- chunked request bodies ---- */

/* The framing is core/http_syntax.c's, the response parser's too; what is the request side's
 * own is the in-place move and the trailer section: each trailer is checked (token name,
 * colon, field value) and dropped, the section bounded by CHUNK_TRAILERS_MAX. The zero state
 * is the start, so a zeroed decoder is ready. */
enum decode_state {
	D_FRAMING, /* size lines and the line ends after data: http_chunk_byte */
	D_DATA,
	D_TRAILER_START, /* a trailer line, or the empty line that ends the body */
	D_TRAILER_NAME,
	D_TRAILER_VALUE,
	D_TRAILER_LF,
	D_FINAL_LF,
	D_DONE,
	D_ERROR
};

static int decode_fail(http_chunked_decoder_t *d)
{
	d->state = D_ERROR;
	return HTTP_ERROR;
}

/* One byte of the trailer section. */
static int trailer_step(http_chunked_decoder_t *d, unsigned char c)
{
	if (++d->trailer_bytes > CHUNK_TRAILERS_MAX)
		return decode_fail(d);
	switch (d->state) {
	case D_TRAILER_START:
		if (c == '\r')
			d->state = D_FINAL_LF;
		else if (c == '\n')
			d->state = D_DONE;
		else if (http_token_chars[c])
			d->state = D_TRAILER_NAME;
		else
			return decode_fail(d);
		break;
	case D_TRAILER_NAME:
		if (c == ':')
			d->state = D_TRAILER_VALUE;
		else if (!http_token_chars[c])
			return decode_fail(d);
		break;
	case D_TRAILER_VALUE:
		if (c == '\r')
			d->state = D_TRAILER_LF;
		else if (c == '\n')
			d->state = D_TRAILER_START;
		else if (!http_is_field_char(c))
			return decode_fail(d);
		break;
	case D_TRAILER_LF:
	case D_FINAL_LF:
		if (c != '\n')
			return decode_fail(d);
		d->state = d->state == D_FINAL_LF ? D_DONE : D_TRAILER_START;
		break;
	default: return decode_fail(d);
	}
	return d->state == D_DONE ? HTTP_DONE : HTTP_AGAIN;
}

/* A run of framing bytes (size lines, the line end after data) from buf[0..len); *used says
 * how many it took. */
static int framing_run(http_chunked_decoder_t *d, const char *buf, size_t len, size_t *used)
{
	switch (http_chunk_scan(&d->chunk, buf, len, used)) {
	case HTTP_CHUNK_MORE: return HTTP_AGAIN;
	case HTTP_CHUNK_DATA: d->state = D_DATA; return HTTP_AGAIN;
	case HTTP_CHUNK_LAST: d->state = D_TRAILER_START; return HTTP_AGAIN;
	default: return decode_fail(d);
	}
}

/* Chunk data is moved down over the framing already read; the output never overtakes the input,
 * so bytes past *consumed (the next pipelined request, once DONE) are never written. */
int http_chunked_decode(http_chunked_decoder_t *d, char *buf, size_t len, size_t *consumed,
                        size_t *decoded)
{
	size_t in = 0, out = 0;
	int rc = d->state == D_DONE ? HTTP_DONE : d->state == D_ERROR ? HTTP_ERROR : HTTP_AGAIN;

	while (rc == HTTP_AGAIN && in < len) {
		if (d->state == D_DATA) {
			uint64_t left = d->chunk.remaining;
			size_t n = len - in < left ? len - in : (size_t)left;

			if (out != in)
				memmove(buf + out, buf + in, n);
			in += n;
			out += n;
			d->chunk.remaining -= n;
			if (!d->chunk.remaining) {
				http_chunk_data_end(&d->chunk);
				d->state = D_FRAMING;
			}
			continue;
		}
		if (d->state == D_FRAMING) {
			size_t used;

			rc = framing_run(d, buf + in, len - in, &used);
			in += used;
		} else {
			rc = trailer_step(d, (unsigned char)buf[in++]);
		}
	}
	*consumed = in;
	*decoded = out;
	return rc;
}
