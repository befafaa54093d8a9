/* Tests for http2_request.c (a request's HTTP/2 header list) and for how --h2 deals its
 * streams into TCP connections and threads (gen_h2_connections, gen_h2_threads). */
#include "test.h"

#include "core/http2_request.h"
#include "gen/gen.h"

#include <errno.h>

/* The list as "name=value;" pairs, the user-agent's value left out (it follows git). */
static const char *fields(const http2_request_t *r)
{
	static char out[2048];
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < r->count && n < sizeof(out) - 1; i++) {
		const nghttp2_nv *f = &r->fields[i];
		bool agent = f->namelen == 10 && memcmp(f->name, "user-agent", 10) == 0 &&
		             memcmp(f->value, "surge/", 6) == 0;

		n += (size_t)snprintf(out + n, sizeof(out) - n, "%.*s=%.*s;", (int)f->namelen,
		                      (const char *)f->name, agent ? 5 : (int)f->valuelen,
		                      agent ? "surge" : (const char *)f->value);
	}
	return out;
}

TEST(http2_request_pseudo_headers_first_and_names_lower_case)
{
	const char *headers[] = {"X-Trace:  abc ", "Accept: */*"};
	http_request_spec_t spec = {.method = "GET",
	                            .host = "example.com",
	                            .port = 8443,
	                            .tls = true,
	                            .target = "/a?b=1",
	                            .headers = headers,
	                            .header_count = 2};
	http2_request_t r;
	char err[200] = "";

	CHECK_INT(http2_request_build(&spec, &r, err, sizeof(err)), 0);
	CHECK_STR(fields(&r), ":method=GET;:scheme=https;:authority=example.com:8443;:path=/a?b=1;"
	                      "user-agent=surge;x-trace=abc;accept=*/*;");
	CHECK(r.fields[0].flags & NGHTTP2_NV_FLAG_NO_COPY_VALUE);
	/* a scenario's list: copied by nghttp2 at each submit, the fields unchanged */
	http2_request_copied_at_submit(&r);
	for (size_t i = 0; i < r.count; i++)
		CHECK_INT(r.fields[i].flags, NGHTTP2_NV_FLAG_NONE);
	CHECK_STR(fields(&r), ":method=GET;:scheme=https;:authority=example.com:8443;:path=/a?b=1;"
	                      "user-agent=surge;x-trace=abc;accept=*/*;");
	http2_request_free(&r);
}

TEST(http2_request_host_becomes_authority_and_a_body_its_length)
{
	const char *headers[] = {"Host: api.example", "User-Agent: mine"};
	http_request_spec_t spec = {.method = "POST",
	                            .host = "::1",
	                            .port = 80,
	                            .target = "/p",
	                            .headers = headers,
	                            .header_count = 2,
	                            .body = "abc",
	                            .body_len = 3,
	                            .has_body = true};
	http_request_spec_t v6 = {.method = "GET", .host = "::1", .port = 8080, .target = "/"};
	http2_request_t r;
	char err[200] = "";

	CHECK_INT(http2_request_build(&spec, &r, err, sizeof(err)), 0);
	CHECK_STR(fields(&r), ":method=POST;:scheme=http;:authority=api.example;:path=/p;"
	                      "user-agent=mine;content-length=3;");
	http2_request_free(&r);
	CHECK_INT(http2_request_build(&v6, &r, err, sizeof(err)), 0);
	CHECK_STR(fields(&r), ":method=GET;:scheme=http;:authority=[::1]:8080;:path=/;"
	                      "user-agent=surge;");
	http2_request_free(&r);
}

TEST(http2_request_refuses_http11_headers_naming_them)
{
	const char *bad[] = {"Connection: close", "keep-alive: 5", "Transfer-Encoding: gzip",
	                     "Upgrade: h2c",      "TE: gzip",      "Proxy-Connection: x"};
	char err[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_request_spec_t spec = {.method = "GET",
		                            .host = "h",
		                            .port = 80,
		                            .target = "/",
		                            .headers = &bad[i],
		                            .header_count = 1};
		http2_request_t r;

		err[0] = '\0';
		CHECK_INT(http2_request_build(&spec, &r, err, sizeof(err)), -EINVAL);
		CHECK(strstr(err, "HTTP/") != NULL);
		CHECK_INT(http2_header_check(bad[i], err, sizeof(err)), -EINVAL);
	}
	CHECK_INT(http2_header_check("TE: trailers", err, sizeof(err)), 0);
	CHECK_INT(http2_header_check("X-Connection: close", err, sizeof(err)), 0);
}

TEST(http2_request_refuses_what_http11_refuses)
{
	const char *bad_header[] = {"Bad Name: x"};
	http_request_spec_t method = {.method = "G T", .host = "h", .port = 80, .target = "/"};
	http_request_spec_t target = {.method = "GET", .host = "h", .port = 80, .target = "/a b"};
	http_request_spec_t header = {.method = "GET",
	                              .host = "h",
	                              .port = 80,
	                              .target = "/",
	                              .headers = bad_header,
	                              .header_count = 1};
	http2_request_t r;
	char err[200];

	CHECK_INT(http2_request_build(&method, &r, err, sizeof(err)), -EINVAL);
	CHECK_INT(http2_request_build(&target, &r, err, sizeof(err)), -EINVAL);
	CHECK_INT(http2_request_build(&header, &r, err, sizeof(err)), -EINVAL);
}

TEST(h2_threads_run_whole_connections)
{
	CHECK_INT(gen_h2_connections(100, 10), 10);
	CHECK_INT(gen_h2_connections(101, 10), 11);
	CHECK_INT(gen_h2_connections(5, 1), 5);
	CHECK_INT(gen_h2_threads(100, 10, 2), 2); /* 10 connections: 5 each */
	CHECK_INT(gen_h2_threads(30, 10, 2), 2);  /* 3 connections: 2 and 1 */
	CHECK_INT(gen_h2_threads(10, 10, 4), 1);  /* 1 connection */
	CHECK_INT(gen_h2_threads(60, 10, 4), 4);  /* 6 connections: 2, 2, 1, 1 */
	CHECK_INT(gen_h2_threads(7, 1, 8), 7);
	CHECK_INT(gen_h2_threads(1, 1, 1), 1);
	/* -c 3 --streams 4 -t 2: 8 and 4 slots, the second thread's after the first's */
	CHECK_INT(gen_h2_thread_slots(12, 4, (deal_part_t){0, 2}), 8);
	CHECK_INT(gen_h2_thread_slots(12, 4, (deal_part_t){1, 2}), 4);
	CHECK_INT(gen_h2_thread_first_slot(12, 4, (deal_part_t){1, 2}), 8);
	/* 10 streams on 3 connections of 4: the last carries 2 */
	CHECK_INT(gen_h2_thread_slots(10, 4, (deal_part_t){0, 2}), 8);
	CHECK_INT(gen_h2_thread_slots(10, 4, (deal_part_t){1, 2}), 2);
}

/* The users a thread of uneven connections takes: every count from 0 to the slots, every
 * split, shares that add up, fit, and never shrink as the users grow. */
TEST(h2_thread_users_fit_their_connections)
{
	static const uint32_t totals[] = {1, 5, 9, 10, 12, 13, 40, 41};

	for (size_t k = 0; k < sizeof(totals) / sizeof(*totals); k++)
		for (uint32_t m = 1; m <= 6; m++)
			for (uint32_t threads = 1; threads <= 5; threads++) {
				uint32_t s = totals[k];
				uint32_t t = gen_h2_threads(s, m, threads), prev[5] = {0};

				for (uint32_t u = 0; u <= s; u++) {
					uint32_t sum = 0;

					for (uint32_t i = 0; i < t; i++) {
						deal_part_t p = {i, t};
						uint32_t share = gen_h2_thread_users(u, s, m, p);

						CHECK(share <= gen_h2_thread_slots(s, m, p));
						CHECK(share >= prev[i]);
						prev[i] = share;
						sum += share;
					}
					CHECK_INT(sum, u);
				}
			}
	CHECK_INT(gen_h2_thread_users(6, 12, 4, (deal_part_t){0, 2}), 4); /* 2 a connection */
	CHECK_INT(gen_h2_thread_users(6, 12, 4, (deal_part_t){1, 2}), 2);
	CHECK_INT(gen_h2_thread_users(12, 12, 4, (deal_part_t){1, 2}), 4);
}
