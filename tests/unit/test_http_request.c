/* Tests for http_request_build.c: the exact bytes of the requests surge sends, and every
 * rejection of a field that could break or smuggle into the request. */
#include "test.h"

#include "core/http.h"

#include <errno.h>
#include <stdlib.h>

/* The version comes from `git describe` when each object is compiled, so objects built at
 * different commits disagree on it: the tests check its shape and compare the rest exactly. */
#define UA "User-Agent: surge/<version>\r\n"

/* Builds the request and returns its bytes with the User-Agent version replaced by
 * "<version>", or NULL on failure (or a malformed version). */
static const char *build(const http_request_spec_t *spec, buf_t *out, int *rc)
{
	static char normal[4096];
	const char *ua, *version, *eol;

	*rc = http_request_build(spec, out);
	if (*rc != 0)
		return NULL;
	ua = strstr(out->data, "User-Agent: surge/");
	if (!ua)
		return out->data;
	version = ua + strlen("User-Agent: surge/");
	eol = strstr(version, "\r\n");
	if (!eol || eol == version || memchr(version, ' ', (size_t)(eol - version)))
		return NULL;
	snprintf(normal, sizeof(normal), "%.*s<version>%s", (int)(version - out->data), out->data,
	         eol);
	return normal;
}

static int build_rc(const http_request_spec_t *spec)
{
	buf_t out;
	int rc;

	buf_init(&out, 4096);
	rc = http_request_build(spec, &out);
	if (rc != 0)
		CHECK_INT(out.len, 0);
	buf_free(&out);
	return rc;
}

TEST(http_request_get)
{
	http_request_spec_t spec = {
	    .method = "GET", .host = "example.com", .port = 80, .target = "/"};
	buf_t out;
	int rc;

	buf_init(&out, 4096);
	CHECK_STR(build(&spec, &out, &rc), "GET / HTTP/1.1\r\nHost: example.com\r\n" UA "\r\n");
	CHECK_INT(rc, 0);

	/* a second build replaces the first */
	spec.target = "/index.html?q=1&r=%20";
	spec.port = 8080;
	CHECK_STR(build(&spec, &out, &rc),
	          "GET /index.html?q=1&r=%20 HTTP/1.1\r\nHost: example.com:8080\r\n" UA "\r\n");

	/* port 0 means the scheme's default */
	spec.port = 0;
	CHECK_STR(build(&spec, &out, &rc),
	          "GET /index.html?q=1&r=%20 HTTP/1.1\r\nHost: example.com\r\n" UA "\r\n");
	buf_free(&out);
}

TEST(http_request_post_body)
{
	static const char *const headers[] = {"Content-Type: application/json"};
	http_request_spec_t spec = {.method = "POST",
	                            .host = "10.0.0.1",
	                            .port = 8080,
	                            .target = "/submit",
	                            .headers = headers,
	                            .header_count = 1,
	                            .body = "{\"a\":1}",
	                            .body_len = 7};
	buf_t out;
	int rc;

	buf_init(&out, 4096);
	CHECK_STR(build(&spec, &out, &rc),
	          "POST /submit HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n" UA
	          "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}");

	/* POST, PUT and PATCH always announce a length, even an empty one */
	spec.body = NULL;
	spec.body_len = 0;
	spec.header_count = 0;
	spec.method = "PUT";
	CHECK_STR(build(&spec, &out, &rc),
	          "PUT /submit HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n" UA "Content-Length: 0\r\n\r\n");

	/* other methods only when asked for */
	spec.method = "DELETE";
	CHECK_STR(build(&spec, &out, &rc),
	          "DELETE /submit HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n" UA "\r\n");
	spec.has_body = true;
	CHECK_STR(build(&spec, &out, &rc), "DELETE /submit HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n" UA
	                                   "Content-Length: 0\r\n\r\n");

	/* a binary body is copied as is, NUL bytes included */
	spec.method = "GET";
	spec.body = "a\0b";
	spec.body_len = 3;
	CHECK_INT(http_request_build(&spec, &out), 0);
	CHECK(out.len > 3 && memcmp(out.data + out.len - 7, "\r\n\r\na\0b", 7) == 0);
	buf_free(&out);
}

TEST(http_request_overrides)
{
	static const char *const headers[] = {"host: other.example", "USER-AGENT: custom/1",
	                                      "Accept: */*"};
	http_request_spec_t spec = {.method = "GET",
	                            .host = "example.com",
	                            .port = 81,
	                            .target = "/",
	                            .headers = headers,
	                            .header_count = 3};
	buf_t out;
	int rc;

	buf_init(&out, 4096);
	CHECK_STR(build(&spec, &out, &rc), "GET / HTTP/1.1\r\nhost: other.example\r\n"
	                                   "USER-AGENT: custom/1\r\nAccept: */*\r\n\r\n");

	/* with its own Host header the request needs no host at all */
	spec.host = NULL;
	CHECK_INT(http_request_build(&spec, &out), 0);

	/* a caller-framed body gets no second length */
	static const char *const framed[] = {"Transfer-Encoding: chunked"};
	spec = (http_request_spec_t){.method = "POST",
	                             .host = "h",
	                             .target = "/",
	                             .headers = framed,
	                             .header_count = 1,
	                             .body = "0\r\n\r\n",
	                             .body_len = 5};
	CHECK_STR(build(&spec, &out, &rc), "POST / HTTP/1.1\r\nHost: h\r\n" UA
	                                   "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	buf_free(&out);
}

TEST(http_request_host_forms)
{
	http_request_spec_t spec = {.method = "GET", .host = "::1", .port = 8080, .target = "/"};
	buf_t out;
	int rc;

	buf_init(&out, 4096);
	CHECK_STR(build(&spec, &out, &rc), "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n" UA "\r\n");
	spec.port = 80;
	CHECK_STR(build(&spec, &out, &rc), "GET / HTTP/1.1\r\nHost: [::1]\r\n" UA "\r\n");
	spec.host = "[fe80::1]";
	CHECK_STR(build(&spec, &out, &rc), "GET / HTTP/1.1\r\nHost: [fe80::1]\r\n" UA "\r\n");

	spec.host = "secure.example";
	spec.tls = true;
	spec.port = 443;
	CHECK_STR(build(&spec, &out, &rc), "GET / HTTP/1.1\r\nHost: secure.example\r\n" UA "\r\n");
	spec.port = 80;
	CHECK_STR(build(&spec, &out, &rc),
	          "GET / HTTP/1.1\r\nHost: secure.example:80\r\n" UA "\r\n");
	spec.tls = false;
	spec.port = 443;
	CHECK_STR(build(&spec, &out, &rc),
	          "GET / HTTP/1.1\r\nHost: secure.example:443\r\n" UA "\r\n");
	buf_free(&out);
}

TEST(http_request_rejects)
{
	static const char *const bad_headers[] = {
	    "X-Foo",      "X-Foo; bar", ": value",      "X Foo: 1", "X-Foo : 1", "X-Foo: a\r\nB: c",
	    "X-Foo: a\n", "X-Foo: a\r", "X\xc3\xa9: 1", "X(1): 2",  NULL,
	};
	const char *one[1];
	http_request_spec_t ok = {.method = "GET", .host = "h", .port = 80, .target = "/"};
	http_request_spec_t spec;

	CHECK_INT(build_rc(&ok), 0);
	static const char *const bad_methods[] = {NULL, "", "GE T", "GET\r\n", "GET/", "G\x01T"};
	for (size_t i = 0; i < sizeof(bad_methods) / sizeof(bad_methods[0]); i++) {
		spec = ok;
		spec.method = bad_methods[i];
		CHECK_INT(build_rc(&spec), -EINVAL);
	}
	static const char *const bad_targets[] = {NULL, "", "/a b", "/a\r\n", "/\t", "/\x7f"};
	for (size_t i = 0; i < sizeof(bad_targets) / sizeof(bad_targets[0]); i++) {
		spec = ok;
		spec.target = bad_targets[i];
		CHECK_INT(build_rc(&spec), -EINVAL);
	}
	for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
		spec = ok;
		one[0] = bad_headers[i];
		spec.headers = one;
		spec.header_count = 1;
		CHECK_INT(build_rc(&spec), -EINVAL);
	}
	static const char *const bad_hosts[] = {NULL, "", "a b", "h\r\nX: 1"};
	for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
		spec = ok;
		spec.host = bad_hosts[i];
		CHECK_INT(build_rc(&spec), -EINVAL);
	}
	spec = ok;
	spec.body_len = 4; /* a length without bytes */
	CHECK_INT(build_rc(&spec), -EINVAL);
	spec = ok;
	spec.header_count = 1; /* a count without headers */
	CHECK_INT(build_rc(&spec), -EINVAL);
}

TEST(http_request_buffer_limit)
{
	http_request_spec_t spec = {.method = "GET", .host = "example.com", .target = "/"};
	buf_t out;

	buf_init(&out, 16);
	CHECK_INT(http_request_build(&spec, &out), -ENOBUFS);
	CHECK_INT(out.len, 0);
	buf_free(&out);

	/* exactly as many bytes as the request needs is enough */
	buf_init(&out, 4096);
	CHECK_INT(http_request_build(&spec, &out), 0);
	size_t need = out.len;
	buf_free(&out);
	buf_init(&out, need);
	CHECK_INT(http_request_build(&spec, &out), 0);
	buf_free(&out);
	buf_init(&out, need - 1);
	CHECK_INT(http_request_build(&spec, &out), -ENOBUFS);
	buf_free(&out);
}

TEST(http_request_round_trip)
{
	/* a wrong length would desynchronise every later request on the connection */
	static const char body[] = "x=1&y=2";
	http_request_spec_t spec = {.method = "PATCH",
	                            .host = "h",
	                            .target = "/r",
	                            .body = body,
	                            .body_len = sizeof(body) - 1};
	buf_t out;
	const char *cl;

	buf_init(&out, 4096);
	CHECK_INT(http_request_build(&spec, &out), 0);
	cl = strstr(out.data, "Content-Length: ");
	CHECK(cl != NULL);
	if (cl) {
		CHECK_INT(strtol(cl + 16, NULL, 10), (long)sizeof(body) - 1);
		CHECK_STR(strstr(out.data, "\r\n\r\n") + 4, body);
	}
	buf_free(&out);
}
