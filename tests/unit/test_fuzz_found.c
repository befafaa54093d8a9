/* What the fuzz drivers (tests/fuzz/) found, one test per finding, each named after the
 * driver and the corpus file that holds the input (tests/fuzz/corpus/DRIVER/found-*). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/http.h"
#include "core/url.h"
#include "gen/gen.h"
#include "gen/schedule.h"
#include "result/result_doc.h"
#include "report/report.h"
#include "report/thresholds.h"
#include "scenario/scenario_internal.h"
#include "test.h"
#include "ui/ui_access.h"
#include "ui/ui_control.h"

/* A message is one line of printable text: a quoted value has its controls escaped. */
static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* fuzz_thresholds found-newline: a line break in a threshold broke its message in two. */
TEST(fuzz_found_threshold_message_escapes_controls)
{
	threshold_t t;
	char err[256];

	CHECK(threshold_parse("\n", &t, err, sizeof(err)) < 0);
	CHECK(!has_control(err));
	CHECK(strstr(err, "'\\n'") && strstr(err, "control character (0x0a)"));
	CHECK(threshold_parse("p95<200ms\x1b[2J", &t, err, sizeof(err)) < 0);
	CHECK(!has_control(err) && strstr(err, "\\x1b"));
}

/* fuzz_stages found-control ("\x11" after the option byte): a stage's text was quoted raw
 * in its message. */
TEST(fuzz_found_stage_message_escapes_controls)
{
	static schedule_t s;
	char err[256];

	CHECK(schedule_parse("\n\x11", 0, 100, &s, err, sizeof(err)) < 0);
	CHECK(!has_control(err));
	CHECK(schedule_parse("30\ts:10", 0, 100, &s, err, sizeof(err)) < 0);
	CHECK(!has_control(err) && strstr(err, "30\\ts"));
	CHECK(schedule_parse("30s:1\x7f", 0, 100, &s, err, sizeof(err)) < 0);
	CHECK(!has_control(err) && strstr(err, "\\x7f"));
}

/* fuzz_result_doc found-del: jansson's message quotes the text near the fault raw. */
TEST(fuzz_found_result_doc_parser_message_escapes_controls)
{
	static const char text[] = "\x7f\xef\x9a\x9a\xef\x9a\x9a\n\n";
	char err[512];
	json_t *doc = result_doc_parse("r.json", text, sizeof(text) - 1, err, sizeof(err));

	CHECK(doc == NULL);
	CHECK(!has_control(err));
	CHECK(strncmp(err, "r.json:1:1: ", 12) == 0 && strstr(err, "\\x7f"));
}

/* fuzz_result_pair found-del-in-a-value: a DEL (0x7f) in a string value the checker refuses
 * was quoted raw in its message (JSON text escapes the C0 controls only). */
TEST(fuzz_found_result_doc_check_message_escapes_del)
{
	static const char text[] = "{\"tool\":\"surge\",\"started_at\":\"2026-12-04T16:48:37.\x7f"
	                           "904Z\"}";
	char err[512];
	json_t *doc = result_doc_parse("r.json", text, sizeof(text) - 1, err, sizeof(err));

	CHECK(doc == NULL); /* the parse applies the check */
	CHECK(!has_control(err));
	CHECK(strncmp(err, "r.json: started_at: ", 20) == 0 && strstr(err, "\\x7f"));
}

/* fuzz_url found-bracket: a ']' in a host name, or a non-hex byte in an IPv6 literal, was
 * accepted, and the URL written back from the parts meant another host. */
TEST(fuzz_found_url_brackets_only_around_ipv6)
{
	static url_t u;
	char err[256];

	CHECK(url_parse("http://uhtttp&&p]t/~", &u, err, sizeof(err)) < 0);
	CHECK_STR(err, "invalid host in URL");
	CHECK(url_parse("http://a[b/", &u, err, sizeof(err)) < 0);
	CHECK(url_parse("http://[[a]/", &u, err, sizeof(err)) < 0);
	CHECK(url_parse("http://[fe80::g]/", &u, err, sizeof(err)) < 0);
	CHECK(url_parse("http://[2001:DB8::1]:8080/x", &u, err, sizeof(err)) == 0);
	CHECK_STR(u.host, "2001:DB8::1");
	CHECK_INT(u.port, 8080);
	CHECK(url_parse("http://[::ffff:127.0.0.1]/", &u, err, sizeof(err)) == 0);
	CHECK_STR(u.host, "::ffff:127.0.0.1");
}

static int csv(const char *in, scenario_csv_t *c, char *err, size_t errlen)
{
	size_t len = strlen(in);
	char *text = malloc(len + 1);
	int rc;

	memcpy(text, in, len + 1);
	memset(c, 0, sizeof(*c));
	rc = scenario_csv_parse(c, text, len, err, errlen);
	if (rc < 0)
		free(text);
	return rc;
}

static void csv_free(scenario_csv_t *c)
{
	free(c->cells[0]);
	free(c->cells);
}

/* fuzz_csv found-trailing-comma: a ',' as the file's last byte lost the empty field after it
 * and the line's column count was never checked — the last row silently dropped, or a line
 * of the wrong width accepted. */
TEST(fuzz_found_csv_trailing_comma_is_a_field)
{
	scenario_csv_t c;
	char err[256];

	CHECK(csv("a,b\n1,2\n3,", &c, err, sizeof(err)) == 0);
	CHECK_INT(c.rows, 3);
	CHECK_STR(c.cells[4], "3");
	CHECK_STR(c.cells[5], "");
	csv_free(&c);
	CHECK(csv("\n\n,", &c, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "line 3: 2 fields, the header has 1");
	CHECK(csv("a,b\n1,2\n3,4,", &c, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "line 3: 3 fields, the header has 2");
	CHECK(csv("a,b\n1,2\n", &c, err, sizeof(err)) == 0);
	CHECK_INT(c.rows, 2);
	csv_free(&c);
}

/* Loads a scenario file NAME holding the len bytes of text from a scratch folder, removed
 * again: whether it loaded, err its message, path where it was. */
static bool load_scenario_text(const char *name, const char *text, size_t len, char *path,
                               size_t path_len, char *err, size_t err_len)
{
	char dir[] = "/tmp/surge-unit-XXXXXX";
	scenario_t *s;
	FILE *f;

	if (!mkdtemp(dir))
		return false;
	snprintf(path, path_len, "%s/%s", dir, name);
	if ((f = fopen(path, "wb"))) {
		fwrite(text, 1, len, f);
		fclose(f);
	}
	s = scenario_load(path, err, err_len);
	scenario_free(s);
	unlink(path);
	rmdir(dir);
	return s != NULL;
}

/* Found writing fuzz_scenario: a file that starts with LuaJIT's bytecode signature was loaded
 * as bytecode, which LuaJIT does not verify (a crafted one corrupts memory). */
TEST(fuzz_found_scenario_bytecode_refused)
{
	static const char bytecode[] = "\033LJ\002\012\000\377\377\377\377\017";
	char path[64], err[512];

	CHECK(!load_scenario_text("compiled.lua", bytecode, sizeof(bytecode) - 1, path,
	                          sizeof(path), err, sizeof(err)));
	CHECK(strstr(err, path) == err && strstr(err, "compiled Lua (bytecode)"));
}

/* fuzz_result_doc found-errors-over-requests.json: a document whose errors outnumber its
 * requests loads (each figure is valid on its own), and its merge had an error rate above 1,
 * which the checker then refused in surge's own output. */
TEST(fuzz_found_merge_error_rate_stays_a_fraction)
{
	static const char text[] =
	    "{\"tool\": \"surge\", \"duration_s\": 2, \"started_at\": \"2026-01-01T00:00:00Z\","
	    " \"totals\": {\"requests\": 98, \"responses\": 99, \"errors\": 99, \"error_rate\": 1},"
	    " \"endpoints\": [{\"name\": \"/\", \"method\": \"GET\", \"requests\": 3,"
	    " \"errors\": 5, \"error_rate\": 1}]}";
	const char *names[] = {"a.json"};
	char err[512], *with_hist;
	json_t *doc = result_doc_parse("a.json", text, sizeof(text) - 1, err, sizeof(err)), *merged;
	result_t part, whole;
	static hist_t h;
	buf_t b64, out;

	CHECK(doc != NULL);
	if (!doc)
		return;
	/* a histogram of the 99 responses, which the merge adds up */
	hist_reset(&h);
	hist_record_n(&h, 1000, 99);
	buf_init(&b64, 1 << 20);
	buf_init(&out, 1 << 24);
	CHECK(hist_encode_base64(&h, &b64) == 0);
	json_object_set_new(doc, "histograms", json_pack("{s:s%}", "all", b64.data, b64.len));
	buf_free(&b64);
	with_hist = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	CHECK(result_decode("a.json", with_hist, strlen(with_hist), &part, err, sizeof(err)) == 0);
	free(with_hist);
	if (report_merge(&part, names, 1, &whole, err, sizeof(err)) < 0)
		printf("    %s\n", err);
	CHECK(result_encode(&whole, &out) == 0);
	merged = result_doc_parse("merged", out.data, out.len, err, sizeof(err));
	if (!merged)
		printf("    %s\n", err);
	CHECK(merged != NULL); /* the checker accepts the whole: its rates are fractions */
	if (merged) {
		CHECK_NEAR(result_doc_path_number(merged, "totals.error_rate", -1), 1, 0);
		CHECK_NEAR(
		    result_doc_number(json_array_get(result_doc_array(merged, "endpoints"), 0),
		                      "error_rate", -1),
		    1, 0);
		json_decref(merged);
	}
	result_free(&part);
	result_free(&whole);
	buf_free(&out);
}

/* Found writing fuzz_csv: people:random() used whatever math.random returned as a row index;
 * a script that replaced math.random read far past the rows (a crash). */
TEST(fuzz_found_feeder_random_checks_math_random)
{
	char dir[] = "/tmp/surge-unit-XXXXXX", csv_path[64], lua_path[64], err[512];
	scenario_t *s;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(csv_path, sizeof(csv_path), "%s/d.csv", dir);
	snprintf(lua_path, sizeof(lua_path), "%s/s.lua", dir);
	f = fopen(csv_path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("a,b\n1,2\n3,4\n", f);
	fclose(f);
	f = fopen(lua_path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("local people = surge.csv('d.csv')\n"
	      "assert(people:random().a)\n"
	      "math.random = function() return 100000 end\n"
	      "local row = people:random()\n"
	      "tasks = { function(u) end }\n",
	      f);
	fclose(f);
	s = scenario_load(lua_path, err, sizeof(err));
	CHECK(s == NULL);
	scenario_free(s);
	CHECK(strstr(err, "s.lua:4:") && strstr(err, "random(): math.random(2) gave 100000"));
	unlink(csv_path);
	unlink(lua_path);
	rmdir(dir);
}

/* A request head parsed as the UI server parses it (for the tests of its control input). */
static int parse_ui_request(const char *text, http_request_t *r, size_t *head_len)
{
	const http_request_limits_t limits = {
	    .max_request_line = 8192, .max_header_bytes = 16 << 10, .max_headers = 64};

	return http_request_parse(&limits, text, strlen(text), r, head_len);
}

/* fuzz_ui_control found-no-host: a request without a Host header, to a UI without a token,
 * had its Host check compute NULL + 0 (undefined; clang's UBSan stops there). It is refused,
 * 403, saying the Host is missing. */
TEST(fuzz_found_ui_control_request_without_host)
{
	static const char text[] = "POST /api/control/stop HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
	const ui_access_t access = {.loopback_hosts = true};
	enum ui_token_source source;
	http_request_t r;
	size_t head_len;
	char why[768];

	CHECK(parse_ui_request(text, &r, &head_len) == HTTP_DONE);
	CHECK(!ui_host_names_loopback(NULL, 0, NULL));
	CHECK(ui_access_check(&access, &r, true, &source, why, sizeof(why)) == 403);
	CHECK(strstr(why, "no Host header") != NULL);
}

/* fuzz_ui_control found-body-control-byte: jansson's message about a control body that is not
 * JSON quotes the text near the fault raw, a control byte (here 0x1a) and all. */
TEST(fuzz_found_ui_control_body_message_escapes_controls)
{
	static const char text[] = "POST /api/control/start HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                           "Content-Type: application/json\r\nContent-Length: 6\r\n\r\n"
	                           "{\x1a\"a\":0}";
	http_request_t r;
	size_t head_len;
	json_t *args;
	char err[512];

	CHECK(parse_ui_request(text, &r, &head_len) == HTTP_DONE);
	CHECK(ui_control_args(&r, text + head_len, strlen(text) - head_len, &args, err,
	                      sizeof(err)) == 400);
	CHECK(args == NULL);
	CHECK(!has_control(err));
	CHECK(strncmp(err, "body: not JSON: ", 16) == 0 && strstr(err, "\\x1a"));
}

/* fuzz_ui_control found-host-tab-in-origin-message: a control request from another Origin was
 * refused with its Host quoted raw (a field value may hold a tab and obs-text bytes). */
TEST(fuzz_found_ui_control_origin_message_escapes_the_host)
{
	static const char text[] = "POST /api/control/stop HTTP/1.1\r\nHost: a\tb\xff\r\n"
	                           "Origin: http://evil.example\r\nContent-Length: 0\r\n\r\n";
	const ui_access_t access = {.token = "0123456789abcdef0123456789abcdef"};
	const ui_access_t loopback = {.loopback_hosts = true, .bound_host = "a\tb\xff"};
	enum ui_token_source source;
	http_request_t r;
	size_t head_len;
	char why[2048];

	CHECK(parse_ui_request(text, &r, &head_len) == HTTP_DONE);
	/* the token is missing: refused before the Origin is looked at */
	CHECK(ui_access_check(&access, &r, true, &source, why, sizeof(why)) == 401);
	CHECK(ui_access_check(&loopback, &r, true, &source, why, sizeof(why)) == 403);
	CHECK(!has_control(why));
	CHECK(strstr(why, "Origin 'http://evil.example'") && strstr(why, "(http://a\\tb"));
}

/* fuzz_scenario found-escape-in-error, once its check of a rejection was that of every other
 * driver (no control character): a scenario's load error quoted what its Lua said raw, an
 * escape sequence and all, for the terminal to obey. */
TEST(fuzz_found_scenario_error_message_escapes_controls)
{
	static const char text[] = "error('\\27[2J\\27]0;x\\7cleared')\n";
	char path[64], err[1024];

	CHECK(!load_scenario_text("s.lua", text, sizeof(text) - 1, path, sizeof(path), err,
	                          sizeof(err)));
	CHECK(!has_control(err));
	CHECK(strstr(err, "s.lua:1: \\x1b[2J\\x1b]0;x\\x07cleared") != NULL);
}

/* fuzz_scenario: an error that quotes the file's path, but not at its start, was taken for
 * one that names the file and its line, and shown without them */
TEST(fuzz_found_scenario_error_quoting_its_path_still_names_the_file)
{
	static const char text[] = "error('not ' .. debug.getinfo(1, 'S').source:sub(2), 0)\n";
	char path[64], err[1024];

	CHECK(!load_scenario_text("s.lua", text, sizeof(text) - 1, path, sizeof(path), err,
	                          sizeof(err)));
	CHECK(strncmp(err, path, strlen(path)) == 0 && err[strlen(path)] == ':');
	CHECK(strstr(err, ": not /tmp/surge-unit-") != NULL);
}

/* fuzz_serve_h2 found-http1-without-upgrade: every HTTP/1.1 request without an Upgrade header
 * had its h2c check compute NULL + 0 on the absent header (undefined; clang's UBSan stops
 * there, as `make asan` runs this test). An absent or empty list holds nothing; a present one
 * its items, blanks and case aside. */
TEST(fuzz_found_serve_h2_absent_upgrade_header_holds_no_token)
{
	static const char text[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
	const http_request_limits_t limits = {
	    .max_request_line = 1024, .max_header_bytes = 1024, .max_headers = 16};
	http_request_t r;
	size_t head_len;

	CHECK(http_request_parse(&limits, text, sizeof(text) - 1, &r, &head_len) == HTTP_DONE);
	CHECK(!http_list_has(http_request_header(&r, "upgrade"), "h2c"));
	CHECK(!http_list_has((http_slice_t){"", 0}, "h2c"));
	CHECK(http_list_has((http_slice_t){"websocket , H2C", 15}, "h2c"));
	CHECK(!http_list_has((http_slice_t){"h2c2", 4}, "h2c"));
}

/* A server that answers every connection with the same bytes (after reading the client's
 * preface), then half-closes, as fuzz_gen_h2's does. */
typedef struct raw_server {
	int listen_fd, port;
	const char *bytes;
	size_t len;
	atomic_bool stop;
	pthread_t tid;
} raw_server_t;

static void *raw_server_main(void *arg)
{
	raw_server_t *s = arg;
	char in[4096];

	while (!atomic_load(&s->stop)) {
		struct pollfd p = {.fd = s->listen_fd, .events = POLLIN};
		int fd;

		if (poll(&p, 1, 10) <= 0 || (fd = accept(s->listen_fd, NULL, NULL)) < 0)
			continue;
		p.fd = fd;
		for (size_t got = 0; got < 24 && poll(&p, 1, 1000) > 0;) {
			ssize_t n = recv(fd, in, sizeof(in), 0);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
		send(fd, s->bytes, s->len, MSG_NOSIGNAL);
		shutdown(fd, SHUT_WR);
		/* until the client closes (bounded: 10 s) */
		for (int i = 0; i < 1000 && !atomic_load(&s->stop); i++) {
			int r = poll(&p, 1, 10);

			if (r < 0 || (r > 0 && recv(fd, in, sizeof(in), 0) <= 0))
				break;
		}
		close(fd);
	}
	return NULL;
}

/* Runs 8 GET requests over --h2 (4 streams on a connection) against a server answering
 * `bytes`, into *g. 0 or -1. */
static int h2_run_against(const char *bytes, size_t len, gen_result_t *g)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	raw_server_t s = {.bytes = bytes, .len = len};
	gen_config_t cfg = {.h2 = true,
	                    .streams = 4,
	                    .connections = 4,
	                    .threads = 1,
	                    .requests = 8,
	                    .timeout_ns = 5 * NS_PER_S,
	                    .method = "GET",
	                    .url_text = "http://127.0.0.1/x"};
	gen_run_t *run;
	char err[256];
	int rc = -1;

	s.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s.listen_fd < 0 || bind(s.listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s.listen_fd, 16) < 0 ||
	    getsockname(s.listen_fd, (struct sockaddr *)&a, &alen) < 0)
		goto fail;
	snprintf(cfg.url.host, sizeof(cfg.url.host), "127.0.0.1");
	cfg.url.port = ntohs(a.sin_port);
	snprintf(cfg.url.target, sizeof(cfg.url.target), "/x");
	if (pthread_create(&s.tid, NULL, raw_server_main, &s) != 0)
		goto fail;
	run = gen_start(&cfg, err, sizeof(err));
	rc = run ? gen_finish(run, g) : -1;
	atomic_store(&s.stop, true);
	pthread_join(s.tid, NULL);
fail:
	if (s.listen_fd >= 0)
		close(s.listen_fd);
	return rc;
}

/* fuzz_gen_h2 found-data-on-stream-0-then-close, found-window-overflow-then-close: a server
 * that sends a frame only a connection error answers (DATA on stream 0; a WINDOW_UPDATE past
 * 2^31 - 1) and then closes had its requests counted closed_early: nghttp2 reports such frames
 * to on_invalid_frame_recv, not to the error callback gen_h2 watched, so its GOAWAY waited
 * for a write the close came before. They are protocol_error and flow_control. */
TEST(fuzz_found_gen_h2_connection_error_then_close_keeps_its_cause)
{
	static const char settings[] = "\0\0\0\x04\0\0\0\0\0"
	                               "\0\0\0\x04\x01\0\0\0\0";
	static const char data0[] = "\0\0\x01\0\0\0\0\0\0x";
	static const char window0[] = "\0\0\x04\x08\0\0\0\0\0\x7f\xff\xff\xff";
	char bytes[64];
	gen_result_t g;

	memcpy(bytes, settings, 18);
	memcpy(bytes + 18, data0, 10);
	CHECK_INT(h2_run_against(bytes, 28, &g), 0);
	CHECK_INT(g.counters.errors_by_kind[GEN_ERR_PROTOCOL], 8);
	CHECK_INT(g.counters.errors_by_kind[GEN_ERR_CLOSED_EARLY], 0);
	gen_result_free(&g);
	memcpy(bytes + 18, window0, 13);
	CHECK_INT(h2_run_against(bytes, 31, &g), 0);
	CHECK_INT(g.counters.errors_by_kind[GEN_ERR_FLOW_CONTROL], 8);
	CHECK_INT(g.counters.errors_by_kind[GEN_ERR_CLOSED_EARLY], 0);
	gen_result_free(&g);
}
