/* http_syntax: the token table, token checks with a message, and the chunked framing machine
 * (see http_syntax.h). */
#include <errno.h>
#include <stdio.h>

#include "core/http.h"
#include "core/http_syntax.h"

const uint8_t http_token_chars[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, /* 0x20  !"#$%&'()*+,-./ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, /* 0x30 0-9 :;<=>? */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 @A-O */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, /* 0x50 P-Z[\]^_ */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 `a-o */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, /* 0x70 p-z{|}~DEL */
    /* 0x80..0xff: obs-text is not allowed in a token */
};

/* Names character c for a message: "a space", "a control character (0x0d)", "'@'". */
static void describe_char(unsigned char c, char *out, size_t len)
{
	if (c == ' ')
		snprintf(out, len, "a space");
	else if (c < 0x20 || c == 0x7f)
		snprintf(out, len, "a control character (0x%02x)", c);
	else if (c >= 0x80)
		snprintf(out, len, "a non-ASCII byte (0x%02x)", c);
	else
		snprintf(out, len, "'%c'", c);
}

int http_token_check(const char *what, const char *s, size_t n, char *err, size_t errlen)
{
	const char *end = http_scan_token(s, s + n);
	char c[48];

	if (n == 0) {
		snprintf(err, errlen, "the %s is empty", what);
		return -EINVAL;
	}
	if (end != s + n) {
		describe_char((unsigned char)*end, c, sizeof(c));
		snprintf(err, errlen, "the %s has %s (%s)", what, c, HTTP_TOKEN_RULE);
		return -EINVAL;
	}
	return 0;
}

int http_method_check(const char *method, char *err, size_t errlen)
{
	char scratch[1];

	if (!err)
		err = scratch, errlen = sizeof(scratch);
	return http_token_check("method", method ? method : "", method ? strlen(method) : 0, err,
	                        errlen);
}

/* "Name: value" with a token name; CR and LF would let one header smuggle in another, and
 * no other control character (but a tab) belongs in a value (RFC 9110 §5.5). */
int http_header_check(const char *h, char *err, size_t errlen)
{
	const char *colon = h ? strchr(h, ':') : NULL;
	char scratch[1], c[48];

	if (!err)
		err = scratch, errlen = sizeof(scratch);
	if (!colon) {
		snprintf(err, errlen, "expected 'Name: value'");
		return -EINVAL;
	}
	if (http_token_check("name", h, (size_t)(colon - h), err, errlen) < 0)
		return -EINVAL;
	for (const char *p = colon + 1; *p; p++) {
		unsigned char b = (unsigned char)*p;

		if (b == '\r' || b == '\n') {
			snprintf(err, errlen,
			         "the value has a line break (CR or LF), which would start another "
			         "header");
			return -EINVAL;
		}
		if ((b < 0x20 && b != '\t') || b == 0x7f) {
			describe_char(b, c, sizeof(c));
			snprintf(err, errlen, "the value has %s", c);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- chunked framing (RFC 9112 7.1) ---- */

/* Whitespace after a size may only lead to an extension ("5 \r\n" is malformed, as in the
 * grammar: BWS belongs to chunk-ext); a size past INT64_MAX is malformed (no body that large
 * can be read, and a signed length must hold it). */
enum chunk_state {
	C_SIZE_FIRST, /* a hex digit must come first */
	C_SIZE,       /* more digits, or what ends the size */
	C_SIZE_BWS,   /* whitespace after the size: only an extension may follow */
	C_EXT,        /* skipping extensions up to the line end */
	C_SIZE_LF,
	C_DATA,     /* the caller's: it takes `remaining` bytes, then calls http_chunk_data_end */
	C_DATA_END, /* the line end every chunk's data must be followed by */
	C_DATA_LF,
	C_TRAILERS, /* the last chunk was read: the caller parses the trailer section */
	C_BAD,
};

static enum http_chunk_event chunk_bad(http_chunk_t *c)
{
	c->state = C_BAD;
	return HTTP_CHUNK_BAD;
}

static enum http_chunk_event end_size_line(http_chunk_t *c)
{
	c->line_bytes = 0;
	c->state = c->remaining ? C_DATA : C_TRAILERS;
	return c->remaining ? HTTP_CHUNK_DATA : HTTP_CHUNK_LAST;
}

static inline enum http_chunk_event chunk_byte(http_chunk_t *c, unsigned char b)
{
	int digit;

	if (c->state <= C_SIZE_LF && ++c->line_bytes > HTTP_CHUNK_LINE_MAX)
		return chunk_bad(c);
	switch (c->state) {
	case C_SIZE_FIRST:
		if ((digit = http_hex_value(b)) < 0)
			return chunk_bad(c);
		c->remaining = (uint64_t)digit;
		c->state = C_SIZE;
		return HTTP_CHUNK_MORE;
	case C_SIZE:
		if ((digit = http_hex_value(b)) >= 0) {
			if (c->remaining >> 59)
				return chunk_bad(c); /* a size past INT64_MAX */
			c->remaining = c->remaining << 4 | (uint64_t)digit;
		} else if (b == ' ' || b == '\t') {
			c->state = C_SIZE_BWS;
		} else if (b == ';') {
			c->state = C_EXT;
		} else if (b == '\r') {
			c->state = C_SIZE_LF;
		} else if (b == '\n') {
			return end_size_line(c);
		} else {
			return chunk_bad(c);
		}
		return HTTP_CHUNK_MORE;
	case C_SIZE_BWS:
		if (b == ';')
			c->state = C_EXT;
		else if (b != ' ' && b != '\t')
			return chunk_bad(c);
		return HTTP_CHUNK_MORE;
	case C_EXT:
		if (b == '\r')
			c->state = C_SIZE_LF;
		else if (b == '\n')
			return end_size_line(c);
		else if (!http_is_field_char(b))
			return chunk_bad(c);
		return HTTP_CHUNK_MORE;
	case C_SIZE_LF:
		if (b != '\n')
			return chunk_bad(c);
		return end_size_line(c);
	case C_DATA_END:
	case C_DATA_LF:
		if (b == '\r' && c->state == C_DATA_END)
			c->state = C_DATA_LF;
		else if (b == '\n')
			c->state = C_SIZE_FIRST;
		else
			return chunk_bad(c);
		return HTTP_CHUNK_MORE;
	default: return chunk_bad(c); /* data, trailers and errors are not framing bytes */
	}
}

enum http_chunk_event http_chunk_scan(http_chunk_t *c, const char *p, size_t len, size_t *used)
{
	enum http_chunk_event ev = HTTP_CHUNK_MORE;
	size_t i = 0;

	while (i < len && ev == HTTP_CHUNK_MORE)
		ev = chunk_byte(c, (unsigned char)p[i++]);
	*used = i;
	return ev;
}

void http_chunk_data_end(http_chunk_t *c)
{
	c->remaining = 0;
	c->state = C_DATA_END;
}
