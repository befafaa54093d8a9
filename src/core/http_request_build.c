/* http_request_build: the client half of the HTTP/1.1 codec that writes requests.
 * Requests are built once per scenario and then replayed, so this favours checks over speed. */
#include "core/version.h"
#include "core/http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_token_char(unsigned char c)
{
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
		return true;
	if (c >= '0' && c <= '9')
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Visible characters only: a space or control byte would end or split the request line. */
static bool is_visible(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

#define TOKEN_RULE "letters, digits and !#$%&'*+-.^_`|~ only"

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

/* 0 when s[0..n) is a token; else -EINVAL with what is wrong with it in err. */
static int token_check(const char *what, const char *s, size_t n, char *err, size_t errlen)
{
	char c[48];

	if (n == 0) {
		snprintf(err, errlen, "the %s is empty", what);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!is_token_char((unsigned char)s[i])) {
			describe_char((unsigned char)s[i], c, sizeof(c));
			snprintf(err, errlen, "the %s has %s (%s)", what, c, TOKEN_RULE);
			return -EINVAL;
		}
	}
	return 0;
}

int http_method_check(const char *method, char *err, size_t errlen)
{
	char scratch[1];

	if (!err)
		err = scratch, errlen = sizeof(scratch);
	return token_check("method", method ? method : "", method ? strlen(method) : 0, err,
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
	if (token_check("name", h, (size_t)(colon - h), err, errlen) < 0)
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

static bool header_named(const char *h, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(h, name, n) == 0 && h[n] == ':';
}

static bool spec_has_header(const http_request_spec_t *spec, const char *name)
{
	for (size_t i = 0; i < spec->header_count; i++)
		if (header_named(spec->headers[i], name))
			return true;
	return false;
}

static int validate(const http_request_spec_t *spec)
{
	if (http_method_check(spec->method, NULL, 0) < 0)
		return -EINVAL;
	if (!is_visible(spec->target))
		return -EINVAL;
	if (spec->header_count && !spec->headers)
		return -EINVAL;
	for (size_t i = 0; i < spec->header_count; i++)
		if (http_header_check(spec->headers[i], NULL, 0) < 0)
			return -EINVAL;
	if (!spec_has_header(spec, "host") && !is_visible(spec->host))
		return -EINVAL;
	if (spec->body_len && !spec->body)
		return -EINVAL;
	return 0;
}

/* Host is host[:port]; an IPv6 literal needs brackets so its colons are not read as the port. */
static int append_host(const http_request_spec_t *spec, buf_t *out)
{
	bool ipv6 = strchr(spec->host, ':') && spec->host[0] != '[';
	uint16_t default_port = spec->tls ? 443 : 80;
	int rc;

	rc = buf_printf(out, ipv6 ? "Host: [%s]" : "Host: %s", spec->host);
	if (rc == 0 && spec->port && spec->port != default_port)
		rc = buf_printf(out, ":%u", (unsigned)spec->port);
	if (rc == 0)
		rc = buf_append(out, "\r\n", 2);
	return rc;
}

/* A body is announced with Content-Length unless the caller framed it (Content-Length or
 * Transfer-Encoding among the headers); POST, PUT and PATCH always announce one, as servers
 * may otherwise answer 411 Length Required. */
static bool wants_content_length(const http_request_spec_t *spec)
{
	const char *m = spec->method;

	if (spec_has_header(spec, "content-length") || spec_has_header(spec, "transfer-encoding"))
		return false;
	return spec->has_body || spec->body_len > 0 || strcmp(m, "POST") == 0 ||
	       strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

int http_request_build(const http_request_spec_t *spec, buf_t *out)
{
	int rc = validate(spec);

	buf_reset(out);
	if (rc < 0)
		return rc;
	rc = buf_printf(out, "%s %s HTTP/1.1\r\n", spec->method, spec->target);
	if (rc == 0 && !spec_has_header(spec, "host"))
		rc = append_host(spec, out);
	if (rc == 0 && !spec_has_header(spec, "user-agent"))
		rc = buf_printf(out, "User-Agent: surge/%s\r\n", surge_version);
	for (size_t i = 0; rc == 0 && i < spec->header_count; i++)
		rc = buf_printf(out, "%s\r\n", spec->headers[i]);
	if (rc == 0 && wants_content_length(spec))
		rc = buf_printf(out, "Content-Length: %zu\r\n", spec->body_len);
	if (rc == 0)
		rc = buf_append(out, "\r\n", 2);
	if (rc == 0 && spec->body_len)
		rc = buf_append(out, spec->body, spec->body_len);
	if (rc < 0)
		buf_reset(out);
	return rc;
}
