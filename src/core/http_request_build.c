/* http_request_build: the client half of the HTTP/1.1 codec that writes requests.
 * Requests are built once per scenario and then replayed, so this favours checks over speed. */
#include "core/version.h"
#include "core/http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
