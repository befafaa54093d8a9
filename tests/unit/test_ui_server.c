/* Tests for the UI server (src/ui/) over real sockets: each test starts it on 127.0.0.1, port 0,
 * on its own thread, and talks HTTP/1.1 to it from here with plain blocking sockets (every read
 * bounded by SO_RCVTIMEO; every loop bounded in count). Nothing of the server is mocked; the
 * callbacks are the test's. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "ui/ui.h"

#define IO_TIMEOUT_S 10
#define TOKEN        "0123456789abcdef0123456789abcdef"

/* ---- the callbacks: a tiny engine stand-in, state behind a mutex (they run on the UI
 * thread, the checks on this one) ---- */

typedef struct engine {
	pthread_mutex_t lock;
	int users;
	int running;
	int controls_done;
	int download_status; /* what download() answers: 0 or a status */
	size_t download_bytes;
} engine_t;

static engine_t engine = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int on_control(void *ctx, const char *name, const json_t *args, buf_t *reply, char *err,
                      size_t errlen)
{
	engine_t *e = ctx;
	int rc = 0;

	pthread_mutex_lock(&e->lock);
	if (strcmp(name, "start") == 0) {
		if (e->running) {
			snprintf(err, errlen, "already running");
			rc = 409;
		} else {
			e->running = 1;
		}
	} else if (strcmp(name, "users") == 0) {
		json_t *u = json_object_get(args, "users");

		if (!json_is_integer(u) || json_integer_value(u) < 0 ||
		    json_integer_value(u) > 1000) {
			snprintf(err, errlen, "users: expected an integer from 0 to 1000");
			rc = 400;
		} else {
			e->users = (int)json_integer_value(u);
			buf_printf(reply, "{\"users\":%d}", e->users);
		}
	} else if (strcmp(name, "huge") == 0) {
		for (int i = 0; i < 70000; i++)
			buf_append_char(reply, ' ');
	} else {
		snprintf(err, errlen, "no such control");
		rc = 404;
	}
	if (rc == 0)
		e->controls_done++;
	pthread_mutex_unlock(&e->lock);
	return rc;
}

static int on_metrics(void *ctx, buf_t *out)
{
	buf_append_str(out, "# HELP surge_test_up A test.\n# TYPE surge_test_up gauge\n"
	                    "surge_test_up 1\n");
	return 0;
}

static int on_download(void *ctx, const char *name, buf_t *out, char *err, size_t errlen)
{
	engine_t *e = ctx;
	int status;
	size_t bytes;

	pthread_mutex_lock(&e->lock);
	status = e->download_status;
	bytes = e->download_bytes;
	pthread_mutex_unlock(&e->lock);
	if (status) {
		snprintf(err, errlen, "no result yet");
		return status;
	}
	if (bytes) {
		for (size_t i = 0; i < bytes; i++)
			buf_append_char(out, 'x');
		return 0;
	}
	buf_printf(out, "{\"file\":\"%s\"}", name);
	return 0;
}

static const ui_download_t downloads[] = {
    {"result.json", "application/json", "surge-result.json"},
    {"stats.csv", "text/csv; charset=utf-8", "surge_stats.csv"},
    {"state", "application/json", NULL},
};

static void engine_reset(void)
{
	pthread_mutex_lock(&engine.lock);
	engine.users = 0;
	engine.running = 0;
	engine.controls_done = 0;
	engine.download_status = 0;
	engine.download_bytes = 0;
	pthread_mutex_unlock(&engine.lock);
}

static int engine_controls_done(void)
{
	int n;

	pthread_mutex_lock(&engine.lock);
	n = engine.controls_done;
	pthread_mutex_unlock(&engine.lock);
	return n;
}

static void test_config(ui_config_t *cfg)
{
	ui_config_defaults(cfg);
	cfg->port = 0;
	cfg->control = on_control;
	cfg->metrics = on_metrics;
	cfg->download = on_download;
	cfg->downloads = downloads;
	cfg->download_count = sizeof(downloads) / sizeof(downloads[0]);
	cfg->ctx = &engine;
	engine_reset();
}

static ui_t *start(const ui_config_t *cfg)
{
	char err[512];
	ui_t *ui = NULL;

	if (ui_server_start(cfg, &ui, err, sizeof(err)) < 0) {
		test_fail(__FILE__, __LINE__, "ui_server_start: %s", err);
		return NULL;
	}
	return ui;
}

/* ---- a plain HTTP client ---- */

static int dial(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

typedef struct response {
	int status;
	char head[8192];
	char *body;
	size_t body_len;
	bool closed; /* the server closed after it */
} response_t;

static void response_free(response_t *r)
{
	free(r->body);
	r->body = NULL;
}

/* A header's value in r->head ("name: value\r\n", name lower case), copied into out. */
static const char *header(const response_t *r, const char *name, char *out, size_t len)
{
	const char *p = r->head;

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, strlen(name)) == 0 && p[strlen(name)] == ':') {
			const char *v = p + strlen(name) + 1, *end = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(out, len, "%.*s", (int)(end - v), v);
			return out;
		}
	}
	return NULL;
}

/* Reads one response: its head, then Content-Length bytes of body (none for HEAD), or the
 * body up to the close when there is no length. 0, or -1 on a timeout or a malformed head. */
static int read_response(int fd, response_t *r, bool head_request)
{
	size_t have = 0, body_want = 0, cap;
	char cl[32], *end = NULL;
	bool has_length;

	memset(r, 0, sizeof(*r));
	while (!end) {
		ssize_t n;

		if (have + 1 >= sizeof(r->head))
			return -1;
		n = recv(fd, r->head + have, 1, 0); /* a byte at a time: the body stays unread */
		if (n <= 0)
			return -1;
		have++;
		r->head[have] = '\0';
		end = strstr(r->head, "\r\n\r\n");
	}
	if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
		return -1;
	has_length = header(r, "content-length", cl, sizeof(cl)) != NULL;
	body_want = has_length ? strtoull(cl, NULL, 10) : 0;
	r->closed = header(r, "connection", cl, sizeof(cl)) && strcasecmp(cl, "close") == 0;
	if (head_request)
		return 0;
	cap = has_length ? body_want + 1 : (1 << 20);
	r->body = malloc(cap);
	if (!r->body)
		return -1;
	while (has_length ? r->body_len < body_want : r->body_len + 1 < cap) {
		ssize_t n = recv(fd, r->body + r->body_len,
		                 has_length ? body_want - r->body_len : cap - 1 - r->body_len, 0);

		if (n == 0 && !has_length)
			break;
		if (n <= 0)
			return -1;
		r->body_len += (size_t)n;
	}
	r->body[r->body_len] = '\0';
	return 0;
}

/* One request on a fresh connection, then the close. */
static int request(uint16_t port, const char *raw, response_t *r)
{
	int fd = dial(port), rc;

	if (fd < 0)
		return -1;
	if (!send_all(fd, raw, strlen(raw))) {
		close(fd);
		return -1;
	}
	rc = read_response(fd, r, strncmp(raw, "HEAD ", 5) == 0);
	close(fd);
	return rc;
}

/* GET path with the given extra header lines ("" or "Name: v\r\n..."). */
static int get(uint16_t port, const char *path, const char *headers, response_t *r)
{
	char raw[4096];

	snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s\r\n", path, port,
	         headers);
	return request(port, raw, r);
}

/* POST /api/control/NAME with a body and extra header lines. */
static int post(uint16_t port, const char *name, const char *headers, const char *body,
                response_t *r)
{
	char raw[8192];

	snprintf(raw, sizeof(raw),
	         "POST /api/control/%s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%sContent-Length: "
	         "%zu\r\n\r\n%s",
	         name, port, headers, strlen(body), body);
	return request(port, raw, r);
}

/* ---- an event-stream client ---- */

typedef struct sse {
	int fd;
	char buf[1 << 16];
	size_t len;
} sse_t;

typedef struct sse_event {
	char type[32];    /* "" for a message */
	uint64_t id;      /* 0: none */
	char data[70000]; /* data lines joined */
} sse_event_t;

/* Opens /api/events after last_id (< 0: none); the response head read. 0 or -1. */
static int sse_open(sse_t *s, uint16_t port, long long last_id, int rcvbuf)
{
	char raw[512], last[64] = "";
	response_t r;

	s->len = 0;
	s->fd = -1;
	if (last_id >= 0)
		snprintf(last, sizeof(last), "Last-Event-ID: %lld\r\n", last_id);
	snprintf(raw, sizeof(raw), "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s\r\n", port,
	         last);
	if (rcvbuf) {
		/* small before connect, so the window the server sees stays small */
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
		struct timeval tv = {.tv_sec = IO_TIMEOUT_S};

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			return -1;
	} else {
		s->fd = dial(port);
	}
	if (s->fd < 0 || !send_all(s->fd, raw, strlen(raw)))
		return -1;
	/* the head, byte by byte, so the stream's bytes stay in s->buf's reach */
	memset(&r, 0, sizeof(r));
	for (size_t have = 0; have + 1 < sizeof(r.head);) {
		if (recv(s->fd, r.head + have, 1, 0) != 1)
			return -1;
		r.head[++have] = '\0';
		if (strstr(r.head, "\r\n\r\n"))
			break;
	}
	if (!strstr(r.head, "HTTP/1.1 200") || !strstr(r.head, "text/event-stream"))
		return -1;
	return 0;
}

/* The next event (comments skipped): 0, or -1 at the end of the stream or a timeout. */
static int sse_next(sse_t *s, sse_event_t *e)
{
	for (int reads = 0; reads < 100000; reads++) {
		char *end = memmem(s->buf, s->len, "\n\n", 2);

		if (end) {
			size_t flen = (size_t)(end - s->buf) + 2, dlen = 0;
			char *line = s->buf;

			memset(e, 0, sizeof(*e) - sizeof(e->data));
			e->data[0] = '\0';
			while (line < end + 1) {
				char *nl = memchr(line, '\n', (size_t)(end + 1 - line));
				size_t llen = (size_t)(nl - line);

				if (llen >= 4 && memcmp(line, "id: ", 4) == 0)
					e->id = strtoull(line + 4, NULL, 10);
				else if (llen >= 7 && memcmp(line, "event: ", 7) == 0)
					snprintf(e->type, sizeof(e->type), "%.*s", (int)llen - 7,
					         line + 7);
				else if (llen >= 6 && memcmp(line, "data: ", 6) == 0 &&
				         dlen + llen < sizeof(e->data)) {
					if (dlen)
						e->data[dlen++] = '\n';
					memcpy(e->data + dlen, line + 6, llen - 6);
					dlen += llen - 6;
					e->data[dlen] = '\0';
				}
				line = nl + 1;
			}
			memmove(s->buf, s->buf + flen, s->len - flen);
			s->len -= flen;
			if (dlen || e->type[0])
				return 0;
			continue; /* a comment (heartbeat) or retry alone */
		}
		if (s->len == sizeof(s->buf))
			return -1;
		ssize_t n = recv(s->fd, s->buf + s->len, sizeof(s->buf) - s->len, 0);

		if (n <= 0)
			return -1;
		s->len += (size_t)n;
	}
	return -1;
}

static void sse_close(sse_t *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Publishes {"n":N} for N in [from, to]. */
static void publish_range(ui_t *ui, int from, int to)
{
	char ev[64];

	for (int i = from; i <= to; i++) {
		int len = snprintf(ev, sizeof(ev), "{\"n\":%d}", i);

		CHECK_INT(ui_publish(ui, ev, (size_t)len, UI_EVENT_KEPT), i);
	}
}

/* Waits (bounded) until the server's figure reaches want. */
static uint64_t wait_stat(ui_t *ui, size_t offset, uint64_t want)
{
	ui_stats_t st;
	uint64_t v = 0;

	for (int i = 0; i < 1000; i++) {
		ui_stats(ui, &st);
		memcpy(&v, (char *)&st + offset, sizeof(v));
		if (v >= want)
			break;
		nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	}
	return v;
}
#define WAIT_STAT(ui, field, want) wait_stat(ui, offsetof(ui_stats_t, field), want)

/* ---- the page, assets, keep-alive ---- */

TEST(ui_server_page_and_versioned_assets)
{
	ui_config_t cfg;
	ui_t *ui;
	response_t r;
	char v[256], path[256];
	const char *js;

	test_config(&cfg);
	if (!(ui = start(&cfg)))
		return;
	CHECK_INT(get(ui_port(ui), "/", "", &r), 0);
	CHECK_INT(r.status, 200);
	CHECK_STR(header(&r, "content-type", v, sizeof(v)), "text/html; charset=utf-8");
	CHECK_STR(header(&r, "cache-control", v, sizeof(v)), "no-cache");
	CHECK(header(&r, "content-security-policy", v, sizeof(v)) &&
	      strstr(v, "frame-ancestors 'none'"));
	CHECK_STR(header(&r, "x-frame-options", v, sizeof(v)), "DENY");
	js = r.body ? strstr(r.body, "/assets/ui/ui.js?v=") : NULL;
	CHECK(js != NULL);
	CHECK(r.body && !strstr(r.body, "{{"));
	if (js) {
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(js, "\""), js);
		response_free(&r);
		CHECK_INT(get(ui_port(ui), path, "", &r), 0);
		CHECK_INT(r.status, 200);
		CHECK_STR(header(&r, "content-type", v, sizeof(v)),
		          "text/javascript; charset=utf-8");
		CHECK_STR(header(&r, "cache-control", v, sizeof(v)),
		          "public, max-age=31536000, immutable");
		CHECK(r.body && strstr(r.body, "EventSource"));
	}
	response_free(&r);
	/* without its version (or with another) the file is not cached for long */
	CHECK_INT(get(ui_port(ui), "/assets/ui/ui.js?v=0000000000000000", "", &r), 0);
	CHECK_INT(r.status, 200);
	CHECK_STR(header(&r, "cache-control", v, sizeof(v)), "no-cache");
	response_free(&r);
	CHECK_INT(get(ui_port(ui), "/assets/uplot/dist/uPlot.iife.min.js", "", &r), 0);
	CHECK_INT(r.status, 200);
	CHECK(r.body_len > 10000);
	response_free(&r);
	/* the report's template is not this server's to serve */
	CHECK_INT(get(ui_port(ui), "/assets/report/report.html", "", &r), 0);
	CHECK_INT(r.status, 404);
	response_free(&r);
	ui_server_stop(ui);
}

TEST(ui_server_keep_alive_head_and_pipelining)
{
	ui_config_t cfg;
	ui_t *ui;
	response_t r1, r2, r3;
	char raw[512], v[64];
	int fd;

	test_config(&cfg);
	if (!(ui = start(&cfg)))
		return;
	fd = dial(ui_port(ui));
	CHECK(fd >= 0);
	/* HEAD, then two GETs sent at once, on one connection */
	snprintf(raw, sizeof(raw),
	         "HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n"
	         "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"
	         "GET /api/result.json HTTP/1.1\r\nHost: localhost\r\n\r\n");
	CHECK(send_all(fd, raw, strlen(raw)));
	CHECK_INT(read_response(fd, &r1, true), 0);
	CHECK_INT(r1.status, 200);
	CHECK(header(&r1, "content-length", v, sizeof(v)) && atoi(v) > 100);
	CHECK_INT(read_response(fd, &r2, false), 0);
	CHECK_INT(r2.status, 200);
	CHECK(r2.body && strstr(r2.body, "surge_test_up 1"));
	CHECK_INT(read_response(fd, &r3, false), 0);
	CHECK_INT(r3.status, 200);
	CHECK(!r3.closed);
	response_free(&r2);
	response_free(&r3);
	close(fd);
	ui_server_stop(ui);
}

TEST(ui_server_404_and_405_say_why)
{
	ui_config_t cfg;
	ui_t *ui;
	response_t r;
	char v[128];

	test_config(&cfg);
	if (!(ui = start(&cfg)))
		return;
	CHECK_INT(get(ui_port(ui), "/nope", "", &r), 0);
	CHECK_INT(r.status, 404);
	CHECK(r.body && strstr(r.body, "no such path: '/nope'"));
	response_free(&r);
	CHECK_INT(request(ui_port(ui),
	                  "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n", &r),
	          0);
	CHECK_INT(r.status, 405);
	CHECK_STR(header(&r, "allow", v, sizeof(v)), "GET, HEAD");
	response_free(&r);
	/* a control read with GET changes nothing */
	CHECK_INT(get(ui_port(ui), "/api/control/start", "", &r), 0);
	CHECK_INT(r.status, 405);
	CHECK_STR(header(&r, "allow", v, sizeof(v)), "POST");
	CHECK(r.body && strstr(r.body, "control requests are POST"));
	response_free(&r);
	CHECK_INT(engine_controls_done(), 0);
	ui_server_stop(ui);
}

/* ---- safety (docs/ui.md) ---- */

TEST(ui_server_token_is_asked_for)
{
	ui_config_t cfg;
	ui_t *ui;
	response_t r;
	char v[256], url[256], origin[256];

	test_config(&cfg);
	cfg.token = TOKEN;
	if (!(ui = start(&cfg)))
		return;
	ui_url(ui, url, sizeof(url));
	CHECK(strstr(url, "?token=" TOKEN) != NULL);
	/* what another process connects to (a coordinator's join hint): the URL's host and port */
	snprintf(v, sizeof(v), "http://127.0.0.1:%u", ui_port(ui));
	ui_origin(ui, origin, sizeof(origin));
	CHECK_STR(origin, v);
	CHECK(strncmp(url, v, strlen(v)) == 0 && url[strlen(v)] == '/');
	CHECK_INT(get(ui_port(ui), "/", "", &r), 0);
	CHECK_INT(r.status, 401);
	CHECK(header(&r, "www-authenticate", v, sizeof(v)) != NULL);
	response_free(&r);
	CHECK_INT(
	    get(ui_port(ui), "/api/events", "Authorization: Bearer wrongwrongwrongwrong\r\n", &r),
	    0);
	CHECK_INT(r.status, 403);
	CHECK(r.body && strstr(r.body, "wrong token"));
	response_free(&r);
	CHECK_INT(get(ui_port(ui), "/metrics", "Authorization: Bearer " TOKEN "\r\n", &r), 0);
	CHECK_INT(r.status, 200);
	response_free(&r);
	CHECK_INT(get(ui_port(ui), "/api/result.json", "Cookie: surge_ui_token=" TOKEN "\r\n", &r),
	          0);
	CHECK_INT(r.status, 200);
	response_free(&r);
	/* the printed address: the token becomes a cookie and leaves the address bar */
	CHECK_INT(get(ui_port(ui), "/?token=" TOKEN, "", &r), 0);
	CHECK_INT(r.status, 303);
	CHECK_STR(header(&r, "location", v, sizeof(v)), "/");
	CHECK(header(&r, "set-cookie", v, sizeof(v)) && strstr(v, "surge_ui_token=" TOKEN) &&
	      strstr(v, "HttpOnly") && strstr(v, "SameSite=Strict"));
	response_free(&r);
	/* control: a token is not enough from another site's page */
	CHECK_INT(post(ui_port(ui), "start",
	               "Authorization: Bearer " TOKEN "\r\nOrigin: http://evil.example\r\n", "",
	               &r),
	          0);
	CHECK_INT(r.status, 403);
	response_free(&r);
	CHECK_INT(post(ui_port(ui), "start", "", "", &r), 0);
	CHECK_INT(r.status, 401);
	response_free(&r);
	CHECK_INT(engine_controls_done(), 0);
	CHECK_INT(post(ui_port(ui), "start", "Authorization: Bearer " TOKEN "\r\n", "", &r), 0);
	CHECK_INT(r.status, 200);
	response_free(&r);
	CHECK_INT(engine_controls_done(), 1);
	CHECK(WAIT_STAT(ui, refused_auth, 4) >= 4);
	ui_server_stop(ui);
}

/* A bound raised for large bodies (a coordinator's shards send megabytes) holds for those
 * that pass the access check only: a head without the token asking to send more than
 * UI_BODY_UNCHECKED_MAX is refused at once, before a byte of its body is read. */
TEST(ui_server_large_body_only_after_the_token)
{
	static const char head[] =
	    "POST /api/control/users HTTP/1.1\r\nHost: localhost\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n";
	size_t len = UI_BODY_UNCHECKED_MAX + 1000;
	char text[512], *body = malloc(len + 1);
	ui_config_t cfg;
	ui_t *ui;
	response_t r;
	int fd;

	test_config(&cfg);
	cfg.token = TOKEN;
	cfg.max_body_bytes = 1u << 20;
	if (!body || !(ui = start(&cfg))) {
		free(body);
		return;
	}
	/* the head alone, no body sent: answered 401 at once (else it would wait for the body) */
	fd = dial(ui_port(ui));
	snprintf(text, sizeof(text), head, len, "");
	CHECK(fd >= 0 && send_all(fd, text, strlen(text)));
	CHECK_INT(read_response(fd, &r, false), 0);
	CHECK_INT(r.status, 401);
	response_free(&r);
	close(fd);
	CHECK(WAIT_STAT(ui, refused_auth, 1) >= 1);
	/* with the token, the whole body is read and the control gets it */
	memset(body, ' ', len);
	memcpy(body, "{\"users\":7", 10);
	body[len - 1] = '}';
	body[len] = '\0';
	fd = dial(ui_port(ui));
	snprintf(text, sizeof(text), head, len, "Authorization: Bearer " TOKEN "\r\n");
	CHECK(fd >= 0 && send_all(fd, text, strlen(text)) && send_all(fd, body, len));
	CHECK_INT(read_response(fd, &r, false), 0);
	CHECK_INT(r.status, 200);
	CHECK(r.body && strstr(r.body, "\"users\":7"));
	response_free(&r);
	close(fd);
	free(body);
	ui_server_stop(ui);
}

TEST(ui_server_off_loopback_needs_a_token)
{
	ui_config_t cfg;
	ui_t *ui = NULL;
	char err[512];

	test_config(&cfg);
	cfg.host = "0.0.0.0";
	CHECK_INT(ui_server_start(&cfg, &ui, err, sizeof(err)), -EPERM);
	CHECK(ui == NULL);
	CHECK(strstr(err, "not a loopback address") && strstr(err, "token"));
	/* a token that is too short is refused before anything is opened */
	cfg.token = "short";
	CHECK_INT(ui_server_start(&cfg, &ui, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "token") != NULL);
	/* /metrics alone reads figures, as any exporter: it may listen without one */
	cfg.token = NULL;
	cfg.mode = UI_MODE_METRICS_ONLY;
	CHECK_INT(ui_server_start(&cfg, &ui, err, sizeof(err)), 0);
	ui_server_stop(ui);
	/* with a token the UI starts there */
	cfg.mode = UI_MODE_FULL;
	cfg.token = TOKEN;
	ui = NULL;
	CHECK_INT(ui_server_start(&cfg, &ui, err, sizeof(err)), 0);
	ui_server_stop(ui);
}

TEST(ui_server_host_must_be_loopback_without_token)
{
	ui_config_t cfg;
	ui_t *ui;
	response_t r;

	test_config(&cfg);
	if (!(ui = start(&cfg)))
		return;
	CHECK_INT(request(ui_port(ui), "GET / HTTP/1.1\r\nHost: evil.example:8089\r\n\r\n", &r), 0);
	CHECK_INT(r.status, 403);
	CHECK(r.body && strstr(r.body, "not a loopback name"));
	response_free(&r);
	CHECK_INT(request(ui_port(ui), "GET /metrics HTTP/1.1\r\nHost: localhost:1234\r\n\r\n", &r),
	          0);
	CHECK_INT(r.status, 200);
	response_free(&r);
	ui_server_stop(ui);
}

TEST(ui_server_control_input_is_checked)
{
	ui_config_t cfg;
	ui_t *ui;
	response_t r;
	char own[128], big[80000 + 512];
	uint16_t port;

	test_config(&cfg);
	cfg.max_response_bytes = 65536; /* a control's answer is bounded by it too */
	if (!(ui = start(&cfg)))
		return;
	port = ui_port(ui);
	snprintf(own, sizeof(own),
	         "Origin: http://127.0.0.1:%u\r\nContent-Type: application/json\r\n", port);
	/* another site's page */
	CHECK_INT(post(port, "users",
	               "Origin: http://evil.example\r\nContent-Type: application/json\r\n",
	               "{\"users\":5}", &r),
	          0);
	CHECK_INT(r.status, 403);
	CHECK(r.body && strstr(r.body, "Origin 'http://evil.example' is not this server's own"));
	response_free(&r);
	/* not JSON, not an object, not the right type, a bad value, an unknown control */
	CHECK_INT(post(port, "users", own, "{\"users\":", &r), 0);
	CHECK_INT(r.status, 400);
	CHECK(r.body && strstr(r.body, "body: not JSON"));
	response_free(&r);
	CHECK_INT(post(port, "users", own, "[1]", &r), 0);
	CHECK_INT(r.status, 400);
	CHECK(r.body && strstr(r.body, "expected a JSON object, got an array"));
	response_free(&r);
	CHECK_INT(post(port, "users", "Content-Type: text/plain\r\n", "{\"users\":5}", &r), 0);
	CHECK_INT(r.status, 415);
	response_free(&r);
	CHECK_INT(post(port, "users", own, "{\"users\":\"many\"}", &r), 0);
	CHECK_INT(r.status, 400);
	CHECK(r.body && strstr(r.body, "users: expected an integer"));
	response_free(&r);
	CHECK_INT(post(port, "launch", own, "{}", &r), 0);
	CHECK_INT(r.status, 404);
	response_free(&r);
	CHECK_INT(post(port, "Bad%20Name", own, "{}", &r), 0);
	CHECK_INT(r.status, 404);
	response_free(&r);
	/* a body over the bound: refused from its Content-Length, before it is read */
	snprintf(big, sizeof(big),
	         "POST /api/control/users HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
	         "application/json\r\nContent-Length: %u\r\n\r\n",
	         cfg.max_body_bytes + 1);
	CHECK_INT(request(port, big, &r), 0);
	CHECK_INT(r.status, 413);
	CHECK(r.closed);
	response_free(&r);
	CHECK_INT(engine_controls_done(), 0);
	/* the page's own origin, and a client without one */
	CHECK_INT(post(port, "users", own, "{\"users\":7}", &r), 0);
	CHECK_INT(r.status, 200);
	CHECK(r.body && strstr(r.body, "{\"users\":7}"));
	response_free(&r);
	CHECK_INT(post(port, "start", "", "", &r), 0);
	CHECK_INT(r.status, 200);
	CHECK(r.body && strstr(r.body, "{\"ok\":true}"));
	response_free(&r);
	CHECK_INT(post(port, "start", "", "", &r), 0);
	CHECK_INT(r.status, 409);
	CHECK(r.body && strstr(r.body, "already running"));
	response_free(&r);
	CHECK_INT(engine_controls_done(), 2);
	CHECK(WAIT_STAT(ui, body_too_large, 1) == 1);
	/* the caller's answer over its bound is said, not cut */
	CHECK_INT(post(port, "huge", "", "", &r), 0);
	CHECK_INT(r.status, 500);
	CHECK(r.body && strstr(r.body, "did not fit in 65536 bytes"));
	response_free(&r);
	ui_server_stop(ui);
}

/* What a binary control body's callback got (a coordinator's batches are bytes). */
static struct {
	char name[32];
	uint8_t bytes[64];
	size_t len;
} got_bytes;

static int on_control_bytes(void *ctx, const char *name, const uint8_t *body, size_t len,
                            buf_t *reply, char *err, size_t errlen)
{
	snprintf(got_bytes.name, sizeof(got_bytes.name), "%s", name);
	got_bytes.len = len;
	memcpy(got_bytes.bytes, body,
	       len < sizeof(got_bytes.bytes) ? len : sizeof(got_bytes.bytes));
	buf_printf(reply, "{\"got\":%zu}", len);
	return 0;
}

/* POST name with an application/octet-stream body of len bytes (NULs and all). */
static int post_bytes(uint16_t port, const char *name, const uint8_t *body, size_t len,
                      response_t *r)
{
	char head[256];
	int fd = dial(port), rc;

	if (fd < 0)
		return -1;
	snprintf(head, sizeof(head),
	         "POST /api/control/%s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: "
	         "application/octet-stream\r\nContent-Length: %zu\r\n\r\n",
	         name, port, len);
	rc = send_all(fd, head, strlen(head)) && send_all(fd, (const char *)body, len)
	         ? read_response(fd, r, false)
	         : -1;
	close(fd);
	return rc;
}

/* An application/octet-stream body reaches control_bytes as it came, every byte; a server
 * without control_bytes refuses it (415) as any body not JSON; JSON still goes to control. */
TEST(ui_server_binary_control_body_reaches_control_bytes)
{
	static const uint8_t body[] = {'S', 'R', 'G', 'D', 3, 0, 0xff, '\n', 0, 7};
	ui_config_t cfg;
	ui_t *ui;
	response_t r;

	test_config(&cfg);
	if (!(ui = start(&cfg)))
		return;
	CHECK_INT(post_bytes(ui_port(ui), "deltas", body, sizeof(body), &r), 0);
	CHECK_INT(r.status, 415);
	CHECK(r.body && strstr(r.body, "expected application/json"));
	response_free(&r);
	ui_server_stop(ui);

	test_config(&cfg);
	cfg.control_bytes = on_control_bytes;
	memset(&got_bytes, 0, sizeof(got_bytes));
	if (!(ui = start(&cfg)))
		return;
	CHECK_INT(post_bytes(ui_port(ui), "deltas", body, sizeof(body), &r), 0);
	CHECK_INT(r.status, 200);
	CHECK(r.body && strstr(r.body, "{\"got\":10}"));
	response_free(&r);
	CHECK_STR(got_bytes.name, "deltas");
	CHECK_INT(got_bytes.len, sizeof(body));
	CHECK(memcmp(got_bytes.bytes, body, sizeof(body)) == 0);
	CHECK_INT(
	    post(ui_port(ui), "users", "Content-Type: application/json\r\n", "{\"users\":3}", &r),
	    0);
	CHECK_INT(r.status, 200);
	CHECK(r.body && strstr(r.body, "{\"users\":3}"));
	response_free(&r);
	ui_server_stop(ui);
}

/* ---- bounds ---- */

TEST(ui_server_bounds_of_head_and_connections)
{
	ui_config_t cfg;
	ui_t *ui;
	response_t r;
	static const char hold[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
	char *raw;
	int fds[3], extra;
	uint16_t port;

	test_config(&cfg);
	cfg.max_connections = 3;
	if (!(ui = start(&cfg)))
		return;
	port = ui_port(ui);
	/* a head over max_header_bytes */
	raw = malloc(cfg.max_header_bytes + 1024);
	snprintf(raw, 64, "GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ");
	memset(raw + strlen(raw), 'a', cfg.max_header_bytes);
	strcpy(raw + strlen("GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ") + cfg.max_header_bytes,
	       "\r\n\r\n");
	CHECK_INT(request(port, raw, &r), 0);
	CHECK_INT(r.status, 431);
	CHECK(r.body && strstr(r.body, "larger than 16384 bytes"));
	response_free(&r);
	free(raw);
	CHECK(WAIT_STAT(ui, header_too_large, 1) == 1);
	/* three connections held open, each answered once */
	for (int i = 0; i < 3; i++) {
		fds[i] = dial(port);
		CHECK(fds[i] >= 0);
		CHECK(send_all(fds[i], hold, strlen(hold)));
		CHECK_INT(read_response(fds[i], &r, false), 0);
		CHECK_INT(r.status, 200);
		response_free(&r);
	}
	/* a fourth is told why, not reset */
	CHECK_INT(get(port, "/metrics", "", &r), 0);
	CHECK_INT(r.status, 503);
	CHECK(r.body && strstr(r.body, "too many connections (at most 3)"));
	response_free(&r);
	CHECK(WAIT_STAT(ui, connections_refused, 1) >= 1);
	/* one leaves: there is room again (its close is seen by the server's thread soon) */
	close(fds[0]);
	extra = 503;
	for (int i = 0; i < 500 && extra == 503; i++) {
		CHECK_INT(get(port, "/metrics", "", &r), 0);
		extra = r.status;
		response_free(&r);
		if (extra == 503)
			nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	}
	CHECK_INT(extra, 200);
	close(fds[1]);
	close(fds[2]);
	ui_server_stop(ui);
}

TEST(ui_server_slow_head_times_out)
{
	ui_config_t cfg;
	ui_t *ui;
	response_t r;
	int fd;

	test_config(&cfg);
	cfg.header_timeout_ns = 100 * 1000000ull;
	if (!(ui = start(&cfg)))
		return;
	fd = dial(ui_port(ui));
	CHECK(send_all(fd, "GET / HTTP/1.1\r\nHost: loc", 25));
	CHECK_INT(read_response(fd, &r, false), 0);
	CHECK_INT(r.status, 408);
	CHECK(r.closed);
	response_free(&r);
	close(fd);
	CHECK(WAIT_STAT(ui, timeouts, 1) == 1);
	ui_server_stop(ui);
}

/* ---- /metrics and downloads ---- */

TEST(ui_server_metrics_and_downloads)
{
	ui_config_t cfg;
	ui_t *ui;
	response_t r;
	char v[256];

	test_config(&cfg);
	cfg.max_response_bytes = 4096;
	if (!(ui = start(&cfg)))
		return;
	CHECK_INT(get(ui_port(ui), "/metrics", "", &r), 0);
	CHECK_INT(r.status, 200);
	CHECK_STR(header(&r, "content-type", v, sizeof(v)),
	          "text/plain; version=0.0.4; charset=utf-8");
	response_free(&r);
	CHECK_INT(get(ui_port(ui), "/api/stats.csv", "", &r), 0);
	CHECK_INT(r.status, 200);
	CHECK_STR(header(&r, "content-type", v, sizeof(v)), "text/csv; charset=utf-8");
	CHECK_STR(header(&r, "content-disposition", v, sizeof(v)),
	          "attachment; filename=\"surge_stats.csv\"");
	CHECK_STR(r.body, "{\"file\":\"stats.csv\"}");
	response_free(&r);
	/* a document the page reads (/api/state): no attachment */
	CHECK_INT(get(ui_port(ui), "/api/state", "", &r), 0);
	CHECK_INT(r.status, 200);
	CHECK(header(&r, "content-disposition", v, sizeof(v)) == NULL);
	CHECK_STR(r.body, "{\"file\":\"state\"}");
	response_free(&r);
	/* the caller's refusal, and a file over the bound */
	pthread_mutex_lock(&engine.lock);
	engine.download_status = 409;
	pthread_mutex_unlock(&engine.lock);
	CHECK_INT(get(ui_port(ui), "/api/result.json", "", &r), 0);
	CHECK_INT(r.status, 409);
	CHECK(r.body && strstr(r.body, "result.json: no result yet"));
	response_free(&r);
	pthread_mutex_lock(&engine.lock);
	engine.download_status = 0;
	engine.download_bytes = 5000;
	pthread_mutex_unlock(&engine.lock);
	CHECK_INT(get(ui_port(ui), "/api/result.json", "", &r), 0);
	CHECK_INT(r.status, 503);
	CHECK(r.body && strstr(r.body, "larger than this server sends"));
	response_free(&r);
	CHECK(WAIT_STAT(ui, responses_too_large, 1) == 1);
	ui_server_stop(ui);
	/* --metrics ADDR: only /metrics */
	test_config(&cfg);
	cfg.mode = UI_MODE_METRICS_ONLY;
	if (!(ui = start(&cfg)))
		return;
	CHECK_INT(get(ui_port(ui), "/metrics", "", &r), 0);
	CHECK_INT(r.status, 200);
	response_free(&r);
	CHECK_INT(get(ui_port(ui), "/", "", &r), 0);
	CHECK_INT(r.status, 404);
	CHECK(r.body && strstr(r.body, "/metrics only"));
	response_free(&r);
	CHECK_INT(get(ui_port(ui), "/api/events", "", &r), 0);
	CHECK_INT(r.status, 404);
	response_free(&r);
	ui_server_stop(ui);
}

/* ---- the event stream ---- */

static sse_event_t ev; /* large: kept off the stack */

TEST(ui_server_events_replay_after_last_event_id_then_live)
{
	ui_config_t cfg;
	ui_t *ui;
	sse_t *s = malloc(sizeof(*s));

	test_config(&cfg);
	if (!s || !(ui = start(&cfg))) {
		free(s);
		return;
	}
	publish_range(ui, 1, 10);
	CHECK_INT(sse_open(s, ui_port(ui), 4, 0), 0);
	CHECK_INT(sse_next(s, &ev), 0);
	CHECK_STR(ev.type, "history");
	CHECK(strstr(ev.data,
	             "\"first_id\":1,\"last_id\":10,\"next_id\":5,\"dropped\":0,\"missed\":0"));
	for (int want = 5; want <= 10; want++) {
		CHECK_INT(sse_next(s, &ev), 0);
		CHECK_INT(ev.id, want);
		CHECK_STR(ev.type, "");
	}
	CHECK_STR(ev.data, "{\"n\":10}");
	/* then live, with nothing in between */
	publish_range(ui, 11, 11);
	CHECK_INT(sse_next(s, &ev), 0);
	CHECK_INT(ev.id, 11);
	CHECK_STR(ev.data, "{\"n\":11}");
	sse_close(s);
	free(s);
	CHECK(WAIT_STAT(ui, connections_accepted, 1) == 1);
	ui_server_stop(ui);
}

TEST(ui_server_events_two_clients_one_late)
{
	ui_config_t cfg;
	ui_t *ui;
	sse_t *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	test_config(&cfg);
	if (!a || !b || !(ui = start(&cfg))) {
		free(a);
		free(b);
		return;
	}
	CHECK_INT(sse_open(a, ui_port(ui), -1, 0), 0);
	CHECK_INT(sse_next(a, &ev), 0);
	CHECK_STR(ev.type, "history");
	CHECK(strstr(ev.data, "\"last_id\":0"));
	publish_range(ui, 1, 3);
	for (int want = 1; want <= 3; want++) {
		CHECK_INT(sse_next(a, &ev), 0);
		CHECK_INT(ev.id, want);
	}
	/* the late one gets the whole history, then both get the live events */
	CHECK_INT(sse_open(b, ui_port(ui), -1, 0), 0);
	CHECK_INT(sse_next(b, &ev), 0);
	CHECK_STR(ev.type, "history");
	for (int want = 1; want <= 3; want++) {
		CHECK_INT(sse_next(b, &ev), 0);
		CHECK_INT(ev.id, want);
	}
	CHECK(WAIT_STAT(ui, stream_clients, 2) == 2);
	publish_range(ui, 4, 6);
	for (int want = 4; want <= 6; want++) {
		CHECK_INT(sse_next(a, &ev), 0);
		CHECK_INT(ev.id, want);
		CHECK_INT(sse_next(b, &ev), 0);
		CHECK_INT(ev.id, want);
	}
	sse_close(a);
	sse_close(b);
	free(a);
	free(b);
	ui_server_stop(ui);
}

TEST(ui_server_events_slow_client_is_cut_and_loses_nothing)
{
	ui_config_t cfg;
	ui_t *ui;
	sse_t *s = malloc(sizeof(*s));
	ui_stats_t st;
	char *big = malloc(16384);
	uint64_t last = 0;
	int published = 0, got;

	test_config(&cfg);
	cfg.client_queue_max_bytes = 64 << 10;
	if (!s || !big || !(ui = start(&cfg))) {
		free(s);
		free(big);
		return;
	}
	CHECK_INT(sse_open(s, ui_port(ui), -1, 4096), 0);
	CHECK_INT(sse_next(s, &ev), 0);
	CHECK_STR(ev.type, "history");
	/* the client reads no more: the socket buffers fill, then the live lag passes the cap */
	memset(big, 'x', 16384);
	big[0] = '"';
	big[16383] = '"';
	for (int i = 0; i < 3000; i++) {
		CHECK(ui_publish(ui, big, 16384, UI_EVENT_KEPT) > 0);
		published++;
		ui_stats(ui, &st);
		if (st.stream_slow)
			break;
	}
	CHECK(WAIT_STAT(ui, stream_slow, 1) == 1);
	/* what reached the client is whole events up to some id, then the close */
	for (got = 0; got < published && sse_next(s, &ev) == 0; got++) {
		CHECK_INT(ev.id, last + 1);
		last = ev.id;
	}
	CHECK(last < (uint64_t)published);
	sse_close(s);
	/* it reconnects with Last-Event-ID and misses nothing: the history still holds it */
	CHECK_INT(sse_open(s, ui_port(ui), (long long)last, 0), 0);
	CHECK_INT(sse_next(s, &ev), 0);
	CHECK_STR(ev.type, "history");
	CHECK(strstr(ev.data, "\"missed\":0"));
	for (uint64_t want = last + 1; want <= (uint64_t)published; want++) {
		if (sse_next(s, &ev) != 0) {
			test_fail(__FILE__, __LINE__, "stream ended before event %llu",
			          (unsigned long long)want);
			break;
		}
		CHECK_INT(ev.id, want);
	}
	sse_close(s);
	free(s);
	free(big);
	ui_server_stop(ui);
}

TEST(ui_server_events_one_event_over_the_lag_bound_cuts_nobody)
{
	ui_config_t cfg;
	ui_t *ui;
	sse_t *s = malloc(sizeof(*s));
	char *big = malloc(50000);
	ui_stats_t st;

	test_config(&cfg);
	cfg.client_queue_max_bytes = 16 << 10;
	if (!s || !big || !(ui = start(&cfg))) {
		free(s);
		free(big);
		return;
	}
	CHECK_INT(sse_open(s, ui_port(ui), -1, 0), 0);
	CHECK_INT(sse_next(s, &ev), 0);
	CHECK(WAIT_STAT(ui, stream_clients, 1) == 1);
	memset(big, 'x', 50000);
	CHECK_INT(ui_publish(ui, big, 50000, UI_EVENT_KEPT), 1);
	CHECK_INT(sse_next(s, &ev), 0);
	CHECK_INT(ev.id, 1);
	CHECK_INT(strlen(ev.data), 50000);
	ui_stats(ui, &st);
	CHECK_INT(st.stream_slow, 0);
	sse_close(s);
	free(s);
	free(big);
	ui_server_stop(ui);
}

TEST(ui_server_events_client_behind_the_history_is_cut_and_told)
{
	ui_config_t cfg;
	ui_t *ui;
	sse_t *s = malloc(sizeof(*s));
	ui_stats_t st;
	char *big = malloc(16384), want[64];
	uint64_t last = 0;
	int published = 0;

	test_config(&cfg);
	cfg.history_max_bytes = 256 << 10;    /* 15 events of 16 KiB */
	cfg.client_queue_max_bytes = 1 << 30; /* never the cut for lag: the history's comes first */
	if (!s || !big || !(ui = start(&cfg))) {
		free(s);
		free(big);
		return;
	}
	CHECK_INT(sse_open(s, ui_port(ui), -1, 4096), 0);
	CHECK_INT(sse_next(s, &ev), 0);
	memset(big, 'x', 16384);
	for (int i = 0; i < 3000; i++) {
		CHECK(ui_publish(ui, big, 16384, UI_EVENT_KEPT) > 0);
		published++;
		ui_stats(ui, &st);
		if (st.stream_behind)
			break;
	}
	CHECK(WAIT_STAT(ui, stream_behind, 1) == 1);
	for (int got = 0; got < published && sse_next(s, &ev) == 0; got++)
		last = ev.id;
	sse_close(s);
	/* back with its last id: told how many it missed, then the rest from the oldest kept */
	ui_stats(ui, &st);
	CHECK_INT(sse_open(s, ui_port(ui), (long long)last, 0), 0);
	CHECK_INT(sse_next(s, &ev), 0);
	CHECK_STR(ev.type, "history");
	snprintf(want, sizeof(want), "\"missed\":%llu",
	         (unsigned long long)(st.history_first_id - last - 1));
	CHECK(strstr(ev.data, want) != NULL);
	CHECK(st.history_first_id > last + 1);
	CHECK_INT(sse_next(s, &ev), 0);
	CHECK_INT(ev.id, st.history_first_id);
	sse_close(s);
	free(s);
	free(big);
	ui_server_stop(ui);
}

TEST(ui_server_events_history_bound_is_reported)
{
	ui_config_t cfg;
	ui_t *ui;
	sse_t *s = malloc(sizeof(*s));
	ui_stats_t st;
	char want[160];

	test_config(&cfg);
	cfg.history_max_bytes = 4096;
	if (!s || !(ui = start(&cfg))) {
		free(s);
		return;
	}
	publish_range(ui, 1, 200);
	ui_stats(ui, &st);
	CHECK(st.events_dropped > 0);
	CHECK_INT(st.history_first_id, st.events_dropped + 1);
	CHECK(st.history_bytes <= 4096);
	/* a client that had event 3: told what it missed, then everything kept, in order */
	CHECK_INT(sse_open(s, ui_port(ui), 3, 0), 0);
	CHECK_INT(sse_next(s, &ev), 0);
	CHECK_STR(ev.type, "history");
	snprintf(
	    want, sizeof(want),
	    "\"first_id\":%llu,\"last_id\":200,\"next_id\":%llu,\"dropped\":%llu,\"missed\":%llu",
	    (unsigned long long)st.history_first_id, (unsigned long long)st.history_first_id,
	    (unsigned long long)st.events_dropped, (unsigned long long)(st.history_first_id - 4));
	CHECK(strstr(ev.data, want) != NULL);
	for (uint64_t id = st.history_first_id; id <= 200; id++) {
		CHECK_INT(sse_next(s, &ev), 0);
		CHECK_INT(ev.id, id);
	}
	sse_close(s);
	free(s);
	/* an event larger than the whole history is refused, and said so */
	CHECK_INT(ui_publish(ui, want, 0, UI_EVENT_KEPT), -EINVAL);
	{
		char *big = calloc(1, 8192);

		memset(big, 'x', 8191);
		CHECK_INT(ui_publish(ui, big, 8191, UI_EVENT_KEPT), -E2BIG);
		free(big);
	}
	ui_stats(ui, &st);
	CHECK_INT(st.events_refused, 1);
	ui_server_stop(ui);
}

TEST(ui_server_events_bad_last_event_id)
{
	ui_config_t cfg;
	ui_t *ui;
	response_t r;

	test_config(&cfg);
	if (!(ui = start(&cfg)))
		return;
	CHECK_INT(get(ui_port(ui), "/api/events", "Last-Event-ID: abc\r\n", &r), 0);
	CHECK_INT(r.status, 400);
	CHECK(r.body && strstr(r.body, "Last-Event-ID"));
	response_free(&r);
	ui_server_stop(ui);
}
