/* http_syntax: the character rules of HTTP/1.1 (RFC 9110 5.6.2 tokens, 5.5 field values) and
 * the chunked transfer coding (RFC 9112 7.1), shared by the request parser, the response
 * parser and the request builder so the three can never disagree on what a header name or a
 * chunk is. Internal to the codec (core/http_*.c); pure, no I/O, no allocation. The scanners
 * are inline: they are the parsers' hot loops. */
#ifndef SURGE_HTTP_SYNTAX_H
#define SURGE_HTTP_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~" (1), everything else 0 (obs-text included). */
extern const uint8_t http_token_chars[256];

#define HTTP_TOKEN_RULE "letters, digits and !#$%&'*+-.^_`|~ only"

static inline bool http_is_digit(unsigned char c)
{
	return (unsigned)(c - '0') < 10u;
}

/* Field values (and reason phrases, chunk extensions): HTAB, visible ASCII and obs-text. */
static inline bool http_is_field_char(unsigned char c)
{
	return c >= 0x20 ? c != 0x7f : c == '\t';
}

static inline int http_hex_value(unsigned char c)
{
	if (http_is_digit(c))
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The end of the token starting at s (s itself when none). Four bytes per loop test: names
 * and methods are short, so the loop overhead is half the work. */
static inline const char *http_scan_token(const char *s, const char *end)
{
	const unsigned char *u = (const unsigned char *)s, *e = (const unsigned char *)end;
	const uint8_t *t = http_token_chars;

	while (e - u >= 4 && t[u[0]] && t[u[1]] && t[u[2]] && t[u[3]])
		u += 4;
	while (u < e && t[*u])
		u++;
	return (const char *)u;
}

/* The first byte in [s, end) that may not appear in a field value (a control other than HTAB,
 * or DEL) — normally the CR ending the line. Eight bytes at a time: the mask flags bytes below
 * 0x20 or equal to 0x7f, and its lowest flag is always a real one (a borrow only spreads
 * upwards), so on little-endian machines it says where to stop; an HTAB is flagged too and
 * simply stepped over. */
static inline const char *http_scan_field(const char *s, const char *end)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

	while (end - s >= 8) {
		uint64_t w, del, mask;

		memcpy(&w, s, 8);
		del = w ^ (0x7f * ones);
		mask = ((w - 0x20 * ones) & ~w & highs) | ((del - ones) & ~del & highs);
		if (!mask) {
			s += 8;
			continue;
		}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		s += __builtin_ctzll(mask) / 8;
		if (*s != '\t')
			return s;
		s++; /* HTAB is flagged but allowed */
#else
		break;
#endif
	}
	while (s < end && http_is_field_char((unsigned char)*s))
		s++;
	return s;
}

/* 0 when s[0..n) is a token; else -EINVAL with what is wrong ("the name has a space (...)")
 * in err, naming the token `what`. */
int http_token_check(const char *what, const char *s, size_t n, char *err, size_t errlen);

/* ---- the chunked transfer coding's framing ---- */

/* A chunk-size line (size, extensions, line end) longer than this is malformed: extensions
 * are skipped, never stored, but a peer must not keep a decoder scanning one line forever. */
#define HTTP_CHUNK_LINE_MAX 4096

/* The framing around chunk data: 1*HEXDIG (at most INT64_MAX), then
 * [ BWS ";" extensions ] and a line end (CRLF or a bare LF, as in the heads), the data (the
 * caller's), and the line end after it. A zeroed http_chunk_t expects a chunk-size line. */
typedef struct http_chunk {
	uint64_t remaining;  /* the size just read: the data bytes the caller takes next */
	uint16_t line_bytes; /* bytes of the current size line, bounded by HTTP_CHUNK_LINE_MAX */
	uint8_t state;
} http_chunk_t;

enum http_chunk_event {
	HTTP_CHUNK_MORE, /* framing goes on: give the next byte */
	HTTP_CHUNK_DATA, /* a size line ended: c->remaining data bytes follow (then
	                    http_chunk_data_end) */
	HTTP_CHUNK_LAST, /* the last chunk's size line (0) ended: the trailer section follows */
	HTTP_CHUNK_BAD,  /* malformed or over a bound; stays so */
};

/* Reads framing bytes from p[0..len) until something other than framing follows (DATA or
 * LAST), it is malformed (BAD), or the bytes run out (MORE); *used says how many it took.
 * A whole run of framing (the line end after one chunk's data and the next size line) is
 * one call: the parsers' per-chunk cost. */
enum http_chunk_event http_chunk_scan(http_chunk_t *c, const char *p, size_t len, size_t *used);
/* The caller has taken the chunk's data: the line end after it comes next. */
void http_chunk_data_end(http_chunk_t *c);

#endif
