/* libFuzzer driver for the `-H` header and method checks and the request they build
 * (http_header_check, http_method_check, http_request_build). Beyond "no crash": the checks
 * and the builder agree, and a request built from accepted headers is read back by an HTTP
 * parser (surge serve's) as exactly that method, target and those headers — no header
 * smuggled in or lost — unless a header the user gave changes the framing itself. */
#include "core/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_common.h"

#define MAX_FIELDS 8

/* The input, split at '\n' (or at '\0' with option bit 0): field 0 the method, the rest
 * headers. Empty pieces stay, so an empty header is tried too. */
struct fields {
	char *text;
	const char *method;
	const char *headers[MAX_FIELDS];
	size_t count;
};

static void split(const uint8_t *data, size_t size, char sep, struct fields *f)
{
	char *p;

	f->text = malloc(size + 1);
	if (!f->text)
		abort();
	memcpy(f->text, data, size);
	f->text[size] = '\0';
	f->count = 0;
	f->method = f->text;
	p = f->text;
	for (size_t i = 0; i < size && f->count < MAX_FIELDS; i++) {
		if (p[i] != sep)
			continue;
		p[i] = '\0';
		f->headers[f->count++] = p + i + 1;
	}
}

static bool framing_header(const char *h)
{
	static const char *const names[] = {"content-length:", "transfer-encoding:", "expect:"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncasecmp(h, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

/* What the server's parser makes of the value: optional whitespace on both sides dropped. */
static void trimmed_value(const char *h, const char **v, size_t *len)
{
	const char *p = strchr(h, ':') + 1, *end = p + strlen(p);

	while (*p == ' ' || *p == '\t')
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*v = p;
	*len = (size_t)(end - p);
}

/* The built request, parsed back: method, target and the user's headers, in order. */
static void check_read_back(const buf_t *out, const http_request_spec_t *spec, bool framing)
{
	static const http_request_limits_t limits = {65536, 65536, HTTP_REQUEST_MAX_HEADERS};
	static http_request_t r;
	size_t head_len, at = 0;
	int rc = http_request_parse(&limits, out->data, out->len, &r, &head_len);

	if (rc != HTTP_DONE) {
		if (!framing)
			abort();
		return;
	}
	if (head_len != out->len - spec->body_len || r.method.len != strlen(spec->method) ||
	    memcmp(r.method.p, spec->method, r.method.len) != 0 ||
	    r.target.len != strlen(spec->target) ||
	    memcmp(r.target.p, spec->target, r.target.len) != 0)
		abort();
	/* the builder may add Host, User-Agent and Content-Length around the user's headers */
	for (size_t i = 0; i < spec->header_count; i++) {
		const char *h = spec->headers[i], *v;
		size_t name_len = (size_t)(strchr(h, ':') - h), len;

		trimmed_value(h, &v, &len);
		while (at < r.header_count && !(r.header_names[at].len == name_len &&
		                                memcmp(r.header_names[at].p, h, name_len) == 0))
			at++;
		if (at == r.header_count || r.header_values[at].len != len ||
		    memcmp(r.header_values[at].p, v, len) != 0)
			abort();
		at++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const targets[] = {"/", "/a?b=c", "/%7e/x;y", "http://h/x"};
	struct fields f;
	http_request_spec_t spec = {0};
	bool all_ok = true, framing = false;
	char err[256];
	buf_t out;
	int rc;

	if (size < 1)
		return 0;
	split(data + 1, size - 1, data[0] & 1 ? '\0' : '\n', &f);
	for (size_t i = 0; i < f.count; i++) {
		err[0] = '\0';
		rc = http_header_check(f.headers[i], err, sizeof(err));
		if (rc < 0)
			fuzz_check_message(err, sizeof(err));
		if (rc != http_header_check(f.headers[i], NULL, 0))
			abort(); /* the message is optional; the verdict is not */
		all_ok &= rc == 0;
		framing |= rc == 0 && framing_header(f.headers[i]);
	}
	err[0] = '\0';
	rc = http_method_check(f.method, err, sizeof(err));
	if (rc < 0)
		fuzz_check_message(err, sizeof(err));
	all_ok &= rc == 0;

	spec.method = f.method;
	spec.host = data[0] & 2 ? "::1" : "example.test";
	spec.port = data[0] & 4 ? 8080 : 80;
	spec.tls = data[0] & 8;
	spec.target = targets[data[0] >> 4 & 3];
	spec.headers = f.headers;
	spec.header_count = f.count;
	spec.body = "body";
	spec.body_len = data[0] & 0x40 ? 4 : 0;
	buf_init(&out, 1 << 20);
	rc = http_request_build(&spec, &out);
	/* the builder refuses exactly what the checks refuse (and an empty host it never gets) */
	if ((rc == 0) != all_ok || (rc < 0 && out.len != 0))
		abort();
	if (rc == 0 && f.count + 3 <= HTTP_REQUEST_MAX_HEADERS)
		check_read_back(&out, &spec, framing);
	buf_free(&out);
	free(f.text);
	return 0;
}
