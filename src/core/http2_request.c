/* http2_request: the HTTP/2 header list of a request spec — the pseudo-headers, then the
 * caller's headers with their names lower-cased, nothing HTTP/2 forbids. Built once per run,
 * so it favours checks over speed (as http_request_build does). */
#include "core/http2_request.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/version.h"

typedef struct field {
	const char *name, *value;
	size_t name_len, value_len;
	bool lower; /* the name is copied lower-cased */
} field_t;

/* Connection-specific fields have no meaning in HTTP/2 and make a request malformed (RFC 9113
 * §8.2.2); TE may only say "trailers". */
static const char *const forbidden[] = {"connection", "keep-alive", "proxy-connection",
                                        "transfer-encoding", "upgrade"};

static bool name_is(const field_t *f, const char *name)
{
	return f->name_len == strlen(name) && strncasecmp(f->name, name, f->name_len) == 0;
}

/* "Name: value" into its name and its value without the spaces around it. */
static void split_header(const char *h, field_t *f)
{
	const char *colon = strchr(h, ':'), *v, *end;

	f->name = h;
	f->name_len = (size_t)(colon - h);
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	f->value = v;
	f->value_len = (size_t)(end - v);
	f->lower = true;
}

static int check_header(const field_t *f, const char *h, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		if (name_is(f, forbidden[i])) {
			snprintf(err, errlen,
			         "the header '%.*s' is HTTP/1.1's own: HTTP/2 forbids it (leave it "
			         "out with --h2)",
			         (int)f->name_len, f->name);
			return -EINVAL;
		}
	if (name_is(f, "te") && !(f->value_len == 8 && strncasecmp(f->value, "trailers", 8) == 0)) {
		snprintf(err, errlen, "the header '%.60s': HTTP/2 allows TE only as 'trailers'", h);
		return -EINVAL;
	}
	return 0;
}

/* The authority: a Host header's value, else host[:port] as http_request_build writes Host. */
static int authority(const http_request_spec_t *spec, const field_t *host, char *out, size_t len)
{
	bool ipv6 = strchr(spec->host, ':') && spec->host[0] != '[';
	uint16_t default_port = spec->tls ? 443 : 80;
	int n;

	if (host)
		n = snprintf(out, len, "%.*s", (int)host->value_len, host->value);
	else if (spec->port && spec->port != default_port)
		n = snprintf(out, len, ipv6 ? "[%s]:%u" : "%s:%u", spec->host,
		             (unsigned)spec->port);
	else
		n = snprintf(out, len, ipv6 ? "[%s]" : "%s", spec->host);
	return n > 0 && (size_t)n < len ? n : -EINVAL;
}

static bool wants_content_length(const http_request_spec_t *spec, bool given)
{
	const char *m = spec->method;

	if (given)
		return false;
	return spec->has_body || spec->body_len > 0 || strcmp(m, "POST") == 0 ||
	       strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

/* Copies the fields into one block and points the list at it. */
static int store(http2_request_t *out, const field_t *f, size_t n)
{
	size_t total = 0;
	char *p;

	for (size_t i = 0; i < n; i++)
		total += f[i].name_len + f[i].value_len + 2;
	if (!(out->storage = malloc(total)))
		return -ENOMEM;
	p = out->storage;
	for (size_t i = 0; i < n; i++) {
		nghttp2_nv *nv = &out->fields[i];

		for (size_t k = 0; k < f[i].name_len; k++)
			p[k] =
			    f[i].lower ? (char)tolower((unsigned char)f[i].name[k]) : f[i].name[k];
		p[f[i].name_len] = '\0';
		nv->name = (uint8_t *)p;
		nv->namelen = f[i].name_len;
		p += f[i].name_len + 1;
		memcpy(p, f[i].value, f[i].value_len);
		p[f[i].value_len] = '\0';
		nv->value = (uint8_t *)p;
		nv->valuelen = f[i].value_len;
		p += f[i].value_len + 1;
		/* nghttp2 copies neither: the block outlives every session of the run */
		nv->flags = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
	}
	out->count = n;
	return 0;
}

int http2_request_build(const http_request_spec_t *spec, http2_request_t *out, char *err,
                        size_t errlen)
{
	field_t f[HTTP2_REQUEST_MAX_FIELDS], user[64];
	const field_t *host = NULL;
	bool has_agent = false, has_length = false;
	char auth[300], length[32], agent[64];
	size_t n = 0;
	int rc, alen;

	memset(out, 0, sizeof(*out));
	if (spec->header_count > 64) {
		snprintf(err, errlen, "at most 64 headers");
		return -EINVAL;
	}
	if (http_method_check(spec->method, err, errlen) < 0)
		return -EINVAL;
	if (!spec->target || spec->target[0] != '/' || strpbrk(spec->target, " \t\r\n")) {
		snprintf(err, errlen, "invalid request target");
		return -EINVAL;
	}
	for (size_t i = 0; i < spec->header_count; i++) {
		if (http_header_check(spec->headers[i], err, errlen) < 0)
			return -EINVAL;
		split_header(spec->headers[i], &user[i]);
		if ((rc = check_header(&user[i], spec->headers[i], err, errlen)) < 0)
			return rc;
		host = name_is(&user[i], "host") ? &user[i] : host;
		has_agent |= name_is(&user[i], "user-agent");
		has_length |= name_is(&user[i], "content-length");
	}
	if ((alen = authority(spec, host, auth, sizeof(auth))) < 0) {
		snprintf(err, errlen, "the host is longer than %zu bytes", sizeof(auth) - 1);
		return -EINVAL;
	}
	f[n++] = (field_t){":method", spec->method, 7, strlen(spec->method), false};
	f[n++] = (field_t){":scheme", spec->tls ? "https" : "http", 7, spec->tls ? 5 : 4, false};
	f[n++] = (field_t){":authority", auth, 10, (size_t)alen, false};
	f[n++] = (field_t){":path", spec->target, 5, strlen(spec->target), false};
	if (!has_agent)
		f[n++] = (field_t){
		    "user-agent", agent, 10,
		    (size_t)snprintf(agent, sizeof(agent), "surge/%.50s", surge_version), false};
	for (size_t i = 0; i < spec->header_count; i++)
		if (&user[i] != host)
			f[n++] = user[i];
	if (wants_content_length(spec, has_length))
		f[n++] = (field_t){"content-length", length, 14,
		                   (size_t)snprintf(length, sizeof(length), "%zu", spec->body_len),
		                   false};
	if ((rc = store(out, f, n)) < 0)
		snprintf(err, errlen, "out of memory");
	return rc;
}

int http2_header_check(const char *header, char *err, size_t errlen)
{
	field_t f;

	if (!strchr(header, ':'))
		return 0; /* http_header_check's to refuse */
	split_header(header, &f);
	return check_header(&f, header, err, errlen);
}

void http2_request_copied_at_submit(http2_request_t *r)
{
	for (size_t i = 0; i < r->count; i++)
		r->fields[i].flags = NGHTTP2_NV_FLAG_NONE;
}

void http2_request_free(http2_request_t *r)
{
	free(r->storage);
	r->storage = NULL;
	r->count = 0;
}
