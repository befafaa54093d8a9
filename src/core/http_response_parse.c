/* http_response_parse: the client half of the HTTP/1.1 codec — an incremental response parser.
 * A pure state machine over caller-owned bytes: any split of the input gives the same result. */
#include "core/http.h"
#include "core/http_syntax.h"

#include <stddef.h>
#include <string.h>

/* Every state at or after S_BODY_LENGTH belongs to the body; the others are counted against
 * max_header_bytes. Trailers reuse the header states with F_TRAILERS set. */
enum parse_state {
	S_VERSION, /* matching "HTTP/1."; name_len counts the bytes matched */
	S_MINOR,
	S_VERSION_SP,
	S_CODE, /* name_len counts the digits */
	S_CODE_END,
	S_REASON,
	S_STATUS_LF,
	S_LINE_START, /* a header (or trailer) line or the empty line that ends the block */
	S_NAME,
	S_VALUE_START,
	S_VALUE,
	S_VALUE_LF,
	S_HEAD_END_LF,
	S_BODY_LENGTH,
	S_BODY_CLOSE,
	S_CHUNK_FRAMING, /* a chunk-size line, or the line end after data: p->chunk */
	S_CHUNK_DATA,
	S_DONE,
	S_ERROR
};

/* The headers that decide framing and reuse, and the one the caller asked to capture; every
 * other header is only validated (and stored). */
enum header_kind { K_NONE, K_CONTENT_LENGTH, K_TRANSFER_ENCODING, K_CONNECTION, K_CAPTURE };

enum parse_flags {
	F_CL_SEEN = 0x01,    /* a Content-Length header was seen; its value is in content_length */
	F_CL_WS = 0x02,      /* whitespace followed the Content-Length digits: no more digits */
	F_TOKEN_LONG = 0x04, /* the current list token overflowed value[]: it matches nothing */
	F_TE = 0x08,         /* Transfer-Encoding named at least one coding */
	F_CHUNKED = 0x10,    /* ... and the last one so far is chunked */
	F_CLOSE = 0x20,      /* Connection: close */
	F_KEEP_ALIVE = 0x40, /* Connection: keep-alive */
	F_TRAILERS = 0x80    /* the header states are parsing the trailer section */
};

static const char *const error_names[HTTP_ERR_COUNT] = {
    [HTTP_ERR_NONE] = "none",
    [HTTP_ERR_STATUS_LINE] = "status_line",
    [HTTP_ERR_VERSION] = "version",
    [HTTP_ERR_HEADER] = "header",
    [HTTP_ERR_HEADER_TOO_LARGE] = "header_too_large",
    [HTTP_ERR_TOO_MANY_HEADERS] = "too_many_headers",
    [HTTP_ERR_CONTENT_LENGTH] = "content_length",
    [HTTP_ERR_TRANSFER_ENCODING] = "transfer_encoding",
    [HTTP_ERR_CHUNK] = "chunk",
    [HTTP_ERR_TRAILER] = "trailer",
    [HTTP_ERR_CLOSED_EARLY] = "closed_early",
};

const char *http_error_name(enum http_error e)
{
	if ((unsigned)e >= HTTP_ERR_COUNT)
		return "unknown";
	return error_names[e];
}

void http_response_parser_init(http_response_parser_t *p, bool head_request)
{
	memset(p, 0, sizeof(*p));
	p->limits.max_header_bytes = 64 * 1024;
	p->limits.max_headers = 100;
	p->head_request = head_request;
	http_response_parser_reset(p);
}

/* Everything from `status` on is per-message; the fields before it are the caller's settings. */
#define SETTING_BEFORE_STATUS(field)                                                               \
	_Static_assert(offsetof(http_response_parser_t, field) <                                   \
	                   offsetof(http_response_parser_t, status),                               \
	               #field " must stay before status")
SETTING_BEFORE_STATUS(limits);
SETTING_BEFORE_STATUS(head_request);
SETTING_BEFORE_STATUS(on_body);
SETTING_BEFORE_STATUS(ctx);
SETTING_BEFORE_STATUS(store);
SETTING_BEFORE_STATUS(capture);

static void capture_reset(http_response_parser_t *p)
{
	if (p->capture) {
		p->capture->found = false;
		p->capture->truncated = false;
		p->capture->len = 0;
	}
}

void http_response_parser_reset(http_response_parser_t *p)
{
	size_t settings = offsetof(http_response_parser_t, status);

	memset((char *)p + settings, 0, sizeof(*p) - settings);
	p->content_length = -1;
	if (p->store)
		p->store->len = 0;
	capture_reset(p);
}

static int fail(http_response_parser_t *p, enum http_error e)
{
	p->error = e;
	p->state = S_ERROR;
	return HTTP_ERROR;
}

/* A malformed line is a header error or a trailer error depending on where it is. */
static int fail_line(http_response_parser_t *p)
{
	return fail(p, p->flags & F_TRAILERS ? HTTP_ERR_TRAILER : HTTP_ERR_HEADER);
}

static int finish(http_response_parser_t *p)
{
	p->state = S_DONE;
	return HTTP_DONE;
}

/* Compares a token with a lowercase literal of letters and '-': OR-ing 0x20 folds case, and the
 * only other byte it maps onto '-' is CR, which never reaches here. */
static bool ascii_case_eq(const char *s, const char *lower, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] | 0x20) != (unsigned char)lower[i])
			return false;
	return true;
}

/* Copies header bytes into the optional store, as many as fit; running out of room is reported
 * by the caller after it has looked at the bytes that did fit, so errors keep their byte order. */
static size_t store_room(const http_response_parser_t *p, size_t n)
{
	size_t room;

	if (!p->store)
		return n;
	room = p->store->cap - p->store->len;
	return n < room ? n : room;
}

static void store_copy(http_response_parser_t *p, const char *s, size_t n)
{
	if (p->store && n) {
		memcpy(p->store->data + p->store->len, s, n);
		p->store->len += n;
	}
}

static int store_terminate(http_response_parser_t *p)
{
	if (!p->store)
		return HTTP_AGAIN;
	if (p->store->len == p->store->cap)
		return fail(p, HTTP_ERR_HEADER_TOO_LARGE);
	p->store->data[p->store->len++] = '\0';
	return HTTP_AGAIN;
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* A run of name bytes against the captured header's name (which is lower case): capture_at
 * counts the bytes that matched so far, 0xff once the name differs or runs longer. */
static void capture_name_bytes(http_response_parser_t *p, const char *s, size_t n)
{
	const http_header_capture_t *c = p->capture;

	if (p->capture_at == 0xff)
		return;
	if (n > (size_t)(c->name_len - p->capture_at)) {
		p->capture_at = 0xff;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)c->name[p->capture_at + i]) {
			p->capture_at = 0xff;
			return;
		}
	p->capture_at += (uint8_t)n;
}

/* Only the first header of the captured name counts: later ones are ordinary headers. */
static bool capture_wanted(const http_response_parser_t *p, size_t matched)
{
	return p->capture && !p->capture->found && matched == p->capture->name_len;
}

static void capture_value_bytes(http_response_parser_t *p, const char *s, size_t n)
{
	http_header_capture_t *c = p->capture;
	size_t room = HTTP_CAPTURE_MAX - c->len;

	if (n > room) {
		n = room;
		c->truncated = true;
	}
	memcpy(c->value + c->len, s, n);
	c->len += (uint8_t)n;
}

static void capture_end(http_response_parser_t *p)
{
	http_header_capture_t *c = p->capture;

	/* trailing OWS is the line's; in a value cut short it is the value's own */
	while (!c->truncated && c->len &&
	       (c->value[c->len - 1] == ' ' || c->value[c->len - 1] == '\t'))
		c->len--;
	c->found = true;
}

static enum header_kind classify(const char *name, size_t len)
{
	switch (len) {
	case 10: return ascii_case_eq(name, "connection", 10) ? K_CONNECTION : K_NONE;
	case 14: return ascii_case_eq(name, "content-length", 14) ? K_CONTENT_LENGTH : K_NONE;
	case 17: return ascii_case_eq(name, "transfer-encoding", 17) ? K_TRANSFER_ENCODING : K_NONE;
	default: return K_NONE;
	}
}

/* Name bytes are kept only while the name could still be one of the interesting ones; a longer
 * name saturates name_len past the buffer and matches nothing. */
static int take_name(http_response_parser_t *p, const char *s, size_t n)
{
	size_t fit = store_room(p, n);

	if (p->name_len + n <= sizeof(p->name)) {
		memcpy(p->name + p->name_len, s, n);
		p->name_len += n;
	} else {
		p->name_len = sizeof(p->name) + 1;
	}
	if (p->capture)
		capture_name_bytes(p, s, n);
	store_copy(p, s, fit);
	return fit < n ? fail(p, HTTP_ERR_HEADER_TOO_LARGE) : HTTP_AGAIN;
}

/* Content-Length: 1*DIGIT with optional trailing whitespace, accumulated in `remaining` (unused
 * until the body starts) so that no value length limits it — only int64 overflow does. */
static int content_length_bytes(http_response_parser_t *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (http_is_digit(c) && !(p->flags & F_CL_WS)) {
			if (p->remaining > (uint64_t)(INT64_MAX - (c - '0')) / 10)
				return fail(p, HTTP_ERR_CONTENT_LENGTH);
			p->remaining = p->remaining * 10 + (c - '0');
			p->value_len = 1;
		} else if ((c == ' ' || c == '\t') && p->value_len) {
			p->flags |= F_CL_WS;
		} else {
			return fail(p, HTTP_ERR_CONTENT_LENGTH);
		}
	}
	return HTTP_AGAIN;
}

/* One element of a Connection or Transfer-Encoding list is complete (at a comma or the end of
 * the line). Chunked must be the final transfer coding (RFC 9112 6.1), so any coding after it,
 * in this line or a later Transfer-Encoding line, is an error. */
static int end_token(http_response_parser_t *p)
{
	size_t n = p->value_len;
	bool too_long = p->flags & F_TOKEN_LONG;

	while (n && (p->value[n - 1] == ' ' || p->value[n - 1] == '\t'))
		n--;
	p->value_len = 0;
	p->flags &= ~F_TOKEN_LONG;
	if (n == 0 && !too_long)
		return HTTP_AGAIN; /* empty list elements are allowed */
	if (p->kind == K_CONNECTION) {
		if (!too_long && n == 5 && ascii_case_eq(p->value, "close", 5))
			p->flags |= F_CLOSE;
		else if (!too_long && n == 10 && ascii_case_eq(p->value, "keep-alive", 10))
			p->flags |= F_KEEP_ALIVE;
		return HTTP_AGAIN;
	}
	if (p->flags & F_CHUNKED)
		return fail(p, HTTP_ERR_TRANSFER_ENCODING);
	p->flags |= F_TE;
	if (!too_long && n == 7 && ascii_case_eq(p->value, "chunked", 7))
		p->flags |= F_CHUNKED;
	return HTTP_AGAIN;
}

static int token_list_bytes(http_response_parser_t *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == ',') {
			if (end_token(p) != HTTP_AGAIN)
				return HTTP_ERROR;
		} else if (p->value_len == 0 && (c == ' ' || c == '\t')) {
			continue;
		} else if (p->value_len < sizeof(p->value)) {
			p->value[p->value_len++] = c;
		} else {
			p->flags |= F_TOKEN_LONG;
		}
	}
	return HTTP_AGAIN;
}

/* What an interesting header's value bytes mean: a length, a capture, or list tokens. */
static int interpret_value(http_response_parser_t *p, const char *s, size_t n)
{
	if (p->kind == K_CONTENT_LENGTH)
		return content_length_bytes(p, s, n);
	if (p->kind == K_CAPTURE) {
		capture_value_bytes(p, s, n);
		return HTTP_AGAIN;
	}
	return token_list_bytes(p, s, n);
}

/* A run of valid value bytes: interpreted first (up to what the store can take), then stored.
 * Most headers are of no interest: they cost one test here. */
static int take_value(http_response_parser_t *p, const char *s, size_t n)
{
	size_t fit = store_room(p, n);

	if (p->kind != K_NONE && interpret_value(p, s, fit) != HTTP_AGAIN)
		return HTTP_ERROR;
	store_copy(p, s, fit);
	return fit < n ? fail(p, HTTP_ERR_HEADER_TOO_LARGE) : HTTP_AGAIN;
}

static void start_value(http_response_parser_t *p, enum header_kind kind)
{
	p->kind = p->flags & F_TRAILERS ? K_NONE : kind;
	p->value_len = 0;
	p->remaining = 0;
	p->flags &= ~(F_CL_WS | F_TOKEN_LONG);
	p->state = S_VALUE_START;
}

/* The end of an interesting header's line: its value is complete. */
static int end_interesting(http_response_parser_t *p)
{
	if (p->kind == K_CONTENT_LENGTH) {
		if (!p->value_len)
			return fail(p, HTTP_ERR_CONTENT_LENGTH);
		if ((p->flags & F_CL_SEEN) && (uint64_t)p->content_length != p->remaining)
			return fail(p, HTTP_ERR_CONTENT_LENGTH);
		p->content_length = (int64_t)p->remaining;
		p->flags |= F_CL_SEEN;
		return HTTP_AGAIN;
	}
	if (p->kind == K_CAPTURE) {
		capture_end(p);
		return HTTP_AGAIN;
	}
	return end_token(p);
}

static int end_header_line(http_response_parser_t *p)
{
	if (p->kind != K_NONE && end_interesting(p) != HTTP_AGAIN)
		return HTTP_ERROR;
	if (p->store) {
		/* trailing OWS was copied as it arrived; the name's NUL stops this loop at worst */
		while (p->store->data[p->store->len - 1] == ' ' ||
		       p->store->data[p->store->len - 1] == '\t')
			p->store->len--;
		if (store_terminate(p) != HTTP_AGAIN)
			return HTTP_ERROR;
	}
	p->header_count++;
	p->state = S_LINE_START;
	return HTTP_AGAIN;
}

/* The usual case: a whole "name: value" line sits in the buffer. It is parsed here in one go,
 * through the same steps as the state machine so errors come out alike; when the line is split
 * or unusual, NULL is returned with nothing changed and the state machine takes it instead. */
static const char *whole_header_line(http_response_parser_t *p, const char *s, const char *end,
                                     int *rc)
{
	const char *colon = http_scan_token(s, end), *value, *eol;
	enum header_kind kind;
	size_t fit;

	if (colon == end || *colon != ':')
		return NULL;
	for (value = colon + 1; value < end && (*value == ' ' || *value == '\t');)
		value++;
	eol = http_scan_field(value, end);
	if (eol == end || (*eol == '\r' ? eol + 1 == end || eol[1] != '\n' : *eol != '\n'))
		return NULL;
	kind = classify(s, (size_t)(colon - s));
	if (kind == K_NONE && p->capture) {
		p->capture_at = 0;
		capture_name_bytes(p, s, (size_t)(colon - s));
		if (capture_wanted(p, p->capture_at))
			kind = K_CAPTURE;
	}
	start_value(p, kind);
	fit = store_room(p, (size_t)(colon - s));
	store_copy(p, s, fit);
	if (fit < (size_t)(colon - s))
		*rc = fail(p, HTTP_ERR_HEADER_TOO_LARGE);
	else if ((*rc = store_terminate(p)) == HTTP_AGAIN &&
	         (*rc = take_value(p, value, (size_t)(eol - value))) == HTTP_AGAIN)
		*rc = end_header_line(p);
	return *eol == '\r' ? eol + 2 : eol + 1;
}

/* An interim 1xx response was read: start over on the next status line. header_bytes and
 * header_count keep counting, so a peer cannot send interim responses forever. */
static void start_next_status(http_response_parser_t *p)
{
	p->status = 0;
	p->minor_version = 0;
	p->flags = 0;
	p->name_len = 0;
	p->content_length = -1;
	p->remaining = 0;
	if (p->store)
		p->store->len = 0;
	capture_reset(p);
	p->state = S_VERSION;
}

static void start_chunked_body(http_response_parser_t *p)
{
	memset(&p->chunk, 0, sizeof(p->chunk));
	p->state = S_CHUNK_FRAMING;
}

/* The empty line ended the header block: decide how the body is delimited (RFC 9112 6.3). When
 * Transfer-Encoding and Content-Length both appear, chunked wins and content_length is reported
 * as -1; the connection is then not reused, as 6.1 asks, since one of the two lied. */
static int finish_head(http_response_parser_t *p)
{
	if (p->flags & F_TRAILERS)
		return finish(p);
	if (p->status < 200 && p->status != 101) {
		start_next_status(p);
		return HTTP_AGAIN;
	}
	p->headers_done = true;
	if (p->minor_version >= 1)
		p->keep_alive = !(p->flags & F_CLOSE);
	else
		p->keep_alive = (p->flags & F_KEEP_ALIVE) && !(p->flags & F_CLOSE);
	if (p->status == 101) {
		p->keep_alive = false; /* the connection no longer speaks HTTP/1.1 */
		return finish(p);
	}
	if (p->head_request || p->status == 204 || p->status == 304)
		return finish(p);
	if (p->flags & F_TE) {
		if (p->minor_version == 0 || (p->flags & F_CL_SEEN))
			p->keep_alive = false;
		p->content_length = -1;
		if (p->flags & F_CHUNKED) {
			p->chunked = true;
			start_chunked_body(p);
			return HTTP_AGAIN;
		}
	} else if (p->flags & F_CL_SEEN) {
		if (p->content_length == 0)
			return finish(p);
		p->remaining = (uint64_t)p->content_length;
		p->state = S_BODY_LENGTH;
		return HTTP_AGAIN;
	}
	p->keep_alive = false;
	p->state = S_BODY_CLOSE;
	return HTTP_AGAIN;
}

/* Matches "HTTP/1.d NNN " in one go, the shape nearly every status line starts with. Anything
 * else takes the byte-at-a-time path, which alone decides what is an error. */
static bool status_fast(http_response_parser_t *p, const char *s)
{
	if (memcmp(s, "HTTP/1.", 7) != 0 || !http_is_digit(s[7]) || s[8] != ' ' || s[9] < '1' ||
	    s[9] > '9' || !http_is_digit(s[10]) || !http_is_digit(s[11]) || s[12] != ' ')
		return false;
	p->minor_version = s[7] - '0';
	p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return true;
}

/* Status line, headers and trailers over [*posp, end), end already clipped to the header byte
 * budget. Returns HTTP_AGAIN when it ran out of bytes or the body starts. */
static int parse_head(http_response_parser_t *p, const char **posp, const char *end)
{
	const char *pos = *posp, *q;
	enum header_kind kind;
	int rc = HTTP_AGAIN;

	while (pos < end && rc == HTTP_AGAIN) {
		unsigned char c = (unsigned char)*pos;

		switch (p->state) {
		case S_VERSION:
			if (p->name_len == 0 && end - pos >= 13 && status_fast(p, pos)) {
				pos += 13;
				p->state = S_REASON;
			} else if (c != (unsigned char)"HTTP/1."[p->name_len]) {
				bool major = p->name_len == 5 && http_is_digit(c);
				rc = fail(p, major ? HTTP_ERR_VERSION : HTTP_ERR_STATUS_LINE);
			} else {
				pos++;
				if (++p->name_len == 7)
					p->state = S_MINOR;
			}
			break;
		case S_MINOR: /* any HTTP/1.x is read as 1.1 (RFC 9110 2.5) */
			if (!http_is_digit(c)) {
				rc = fail(p, HTTP_ERR_VERSION);
				break;
			}
			p->minor_version = c - '0';
			pos++;
			p->state = S_VERSION_SP;
			break;
		case S_VERSION_SP:
			if (c != ' ') {
				rc = fail(p, HTTP_ERR_STATUS_LINE);
				break;
			}
			pos++;
			p->name_len = 0;
			p->state = S_CODE;
			break;
		case S_CODE:
			if (!http_is_digit(c) || (p->name_len == 0 && c == '0')) {
				rc = fail(p, HTTP_ERR_STATUS_LINE);
				break;
			}
			p->status = p->status * 10 + (c - '0');
			pos++;
			if (++p->name_len == 3)
				p->state = S_CODE_END;
			break;
		case S_CODE_END:
			pos++;
			if (c == ' ')
				p->state = S_REASON;
			else if (c == '\r')
				p->state = S_STATUS_LF;
			else if (c == '\n')
				p->state = S_LINE_START;
			else
				rc = fail(p, HTTP_ERR_STATUS_LINE);
			break;
		case S_REASON:
			pos = http_scan_field(pos, end);
			if (pos == end)
				break;
			c = (unsigned char)*pos++;
			if (c == '\r')
				p->state = S_STATUS_LF;
			else if (c == '\n')
				p->state = S_LINE_START;
			else
				rc = fail(p, HTTP_ERR_STATUS_LINE);
			break;
		case S_STATUS_LF:
			pos++;
			if (c == '\n')
				p->state = S_LINE_START;
			else
				rc = fail(p, HTTP_ERR_STATUS_LINE);
			break;
		case S_LINE_START:
			if (c == '\r') {
				pos++;
				p->state = S_HEAD_END_LF;
			} else if (c == '\n') {
				pos++;
				rc = finish_head(p);
			} else if (!http_token_chars[c]) {
				/* this includes obs-fold: a line starting with SP or HTAB */
				rc = fail_line(p);
			} else if (p->header_count >= p->limits.max_headers) {
				rc = fail(p, HTTP_ERR_TOO_MANY_HEADERS);
			} else if ((q = whole_header_line(p, pos, end, &rc)) != NULL) {
				pos = q;
			} else {
				p->name_len = 0;
				p->capture_at = 0;
				p->kind = K_NONE;
				p->state = S_NAME;
			}
			break;
		case S_NAME:
			q = http_scan_token(pos, end);
			rc = take_name(p, pos, (size_t)(q - pos));
			pos = q;
			if (rc != HTTP_AGAIN || pos == end)
				break;
			if (*pos != ':') {
				rc = fail_line(p);
				break;
			}
			pos++;
			kind = classify(p->name, p->name_len);
			start_value(p, kind == K_NONE && capture_wanted(p, p->capture_at)
			                   ? K_CAPTURE
			                   : kind);
			rc = store_terminate(p);
			break;
		case S_VALUE_START:
			while (pos < end && (*pos == ' ' || *pos == '\t'))
				pos++;
			if (pos < end)
				p->state = S_VALUE;
			break;
		case S_VALUE:
			q = http_scan_field(pos, end);
			rc = take_value(p, pos, (size_t)(q - pos));
			pos = q;
			if (rc != HTTP_AGAIN || pos == end)
				break;
			c = (unsigned char)*pos++;
			if (c == '\r')
				p->state = S_VALUE_LF;
			else if (c == '\n')
				rc = end_header_line(p);
			else
				rc = fail_line(p);
			break;
		case S_VALUE_LF:
			pos++;
			rc = c == '\n' ? end_header_line(p) : fail_line(p);
			break;
		case S_HEAD_END_LF:
			pos++;
			rc = c == '\n' ? finish_head(p) : fail_line(p);
			break;
		}
		if (p->state >= S_BODY_LENGTH)
			break;
	}
	*posp = pos;
	return rc;
}

/* Clips the head parser to what is left of max_header_bytes, so the limit is hit at the same
 * byte whatever the split, and turns running into the clip with more input into an error. */
static int parse_head_bounded(http_response_parser_t *p, const char **posp, const char *end)
{
	const char *start = *posp, *lim = end;
	size_t budget = p->limits.max_header_bytes - p->header_bytes;
	int rc;

	if ((size_t)(end - start) > budget)
		lim = start + budget;
	rc = parse_head(p, posp, lim);
	p->header_bytes += (uint32_t)(*posp - start);
	if (rc == HTTP_AGAIN && *posp == lim && lim < end && p->state < S_BODY_LENGTH)
		rc = fail(p, HTTP_ERR_HEADER_TOO_LARGE);
	return rc;
}

static void emit_body(http_response_parser_t *p, const char *s, size_t n)
{
	if (n && p->on_body)
		p->on_body(p->ctx, s, n);
	p->body_bytes += n;
}

/* Chunk-size lines and the line end after chunk data, a byte at a time through the codec's one
 * chunked framing (core/http_syntax.c): they are a few bytes each. Returns as soon as data or
 * trailers start so those take their fast paths; trailers reuse the header states. */
static int parse_chunk_line(http_response_parser_t *p, const char **posp, const char *end)
{
	const char *pos = *posp;
	int rc = HTTP_AGAIN;
	size_t used;

	switch (http_chunk_scan(&p->chunk, pos, (size_t)(end - pos), &used)) {
	case HTTP_CHUNK_MORE: break;
	case HTTP_CHUNK_DATA:
		p->remaining = p->chunk.remaining;
		p->state = S_CHUNK_DATA;
		break;
	case HTTP_CHUNK_LAST:
		p->flags |= F_TRAILERS;
		p->state = S_LINE_START;
		break;
	default: rc = fail(p, HTTP_ERR_CHUNK); break;
	}
	*posp = pos + used;
	return rc;
}

/* Body bytes are never looked at one by one: they are counted off and handed to on_body. */
static int parse_body(http_response_parser_t *p, const char **posp, const char *end)
{
	const char *pos = *posp;
	size_t avail = (size_t)(end - pos);

	switch (p->state) {
	case S_BODY_CLOSE:
		emit_body(p, pos, avail);
		*posp = end;
		return HTTP_AGAIN;
	case S_BODY_LENGTH:
	case S_CHUNK_DATA:
		if (avail > p->remaining)
			avail = (size_t)p->remaining;
		emit_body(p, pos, avail);
		*posp = pos + avail;
		p->remaining -= avail;
		if (p->remaining)
			return HTTP_AGAIN;
		if (p->state == S_BODY_LENGTH)
			return finish(p);
		http_chunk_data_end(&p->chunk);
		p->state = S_CHUNK_FRAMING;
		return HTTP_AGAIN;
	default: return parse_chunk_line(p, posp, end);
	}
}

int http_response_parse(http_response_parser_t *p, const char *data, size_t len, size_t *consumed)
{
	const char *pos = data, *end = data + len;
	int rc = HTTP_AGAIN;

	*consumed = 0;
	if (p->state == S_DONE)
		return HTTP_DONE;
	if (p->state == S_ERROR)
		return HTTP_ERROR;
	if (len == 0)
		return HTTP_AGAIN;
	while (rc == HTTP_AGAIN && pos < end) {
		if (p->state < S_BODY_LENGTH)
			rc = parse_head_bounded(p, &pos, end);
		else
			rc = parse_body(p, &pos, end);
	}
	*consumed = (size_t)(pos - data);
	return rc;
}

int http_response_eof(http_response_parser_t *p)
{
	if (p->state == S_BODY_CLOSE)
		return finish(p);
	if (p->state == S_DONE)
		return HTTP_DONE;
	if (p->state == S_ERROR)
		return HTTP_ERROR;
	return fail(p, HTTP_ERR_CLOSED_EARLY);
}
