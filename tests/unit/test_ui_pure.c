/* Tests for the UI server's pure parts: access rules over parsed requests (ui_access.c) and the
 * event history (ui_history.c) — frames, joins after Last-Event-ID, the byte bound, lag. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "test.h"
#include "ui/ui.h"
#include "ui/ui_access.h"
#include "ui/ui_history.h"

/* ---- access ---- */

static int check(const ui_access_t *a, const char *head, bool control, enum ui_token_source *source)
{
	static const http_request_limits_t limits = {8192, 16384, HTTP_REQUEST_MAX_HEADERS};
	http_request_t r;
	size_t len;
	char why[512];
	enum ui_token_source s;

	if (http_request_parse(&limits, head, strlen(head), &r, &len) != HTTP_DONE)
		return -1;
	return ui_access_check(a, &r, control, source ? source : &s, why, sizeof(why));
}

TEST(ui_access_token_from_header_cookie_or_query)
{
	ui_access_t a = {.token = "0123456789abcdef0123456789abcdef"};
	enum ui_token_source s;

	CHECK_INT(check(&a, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", false, &s), 401);
	CHECK_INT(check(&a, "GET / HTTP/1.1\r\nAuthorization: Bearer nope\r\n\r\n", false, &s),
	          403);
	CHECK_INT(
	    check(
	        &a,
	        "GET / HTTP/1.1\r\nAuthorization: Bearer 0123456789abcdef0123456789abcdeF\r\n\r\n",
	        false, &s),
	    403);
	CHECK_INT(
	    check(
	        &a,
	        "GET / HTTP/1.1\r\nAuthorization: Bearer 0123456789abcdef0123456789abcdef\r\n\r\n",
	        false, &s),
	    0);
	CHECK_INT(s, UI_TOKEN_HEADER);
	CHECK_INT(check(&a,
	                "GET /api/events HTTP/1.1\r\nCookie: a=b; "
	                "surge_ui_token=0123456789abcdef0123456789abcdef; c=d\r\n\r\n",
	                false, &s),
	          0);
	CHECK_INT(s, UI_TOKEN_COOKIE_SOURCE);
	CHECK_INT(check(&a, "GET /?x=1&token=0123456789abcdef0123456789abcdef HTTP/1.1\r\n\r\n",
	                false, &s),
	          0);
	CHECK_INT(s, UI_TOKEN_QUERY);
	/* a prefix of the token is not the token */
	CHECK_INT(check(&a, "GET /?token=0123456789abcdef HTTP/1.1\r\n\r\n", false, &s), 403);
	CHECK_INT(
	    check(&a, "GET /?tokens=0123456789abcdef0123456789abcdef HTTP/1.1\r\n\r\n", false, &s),
	    401);
}

TEST(ui_access_origin_of_control_requests)
{
	ui_access_t a = {.loopback_hosts = true, .bound_host = "127.0.0.1"};

	/* no Origin: not a browser; the page's own origin; another site's; a sandboxed one */
	CHECK_INT(
	    check(&a, "POST /api/control/x HTTP/1.1\r\nHost: 127.0.0.1:8089\r\n\r\n", true, NULL),
	    0);
	CHECK_INT(check(&a,
	                "POST /api/control/x HTTP/1.1\r\nHost: 127.0.0.1:8089\r\nOrigin: "
	                "http://127.0.0.1:8089\r\n\r\n",
	                true, NULL),
	          0);
	CHECK_INT(check(&a,
	                "POST /api/control/x HTTP/1.1\r\nHost: localhost:8089\r\nOrigin: "
	                "http://LOCALHOST:8089\r\n\r\n",
	                true, NULL),
	          0);
	CHECK_INT(check(&a,
	                "POST /api/control/x HTTP/1.1\r\nHost: 127.0.0.1:8089\r\nOrigin: "
	                "http://evil.example\r\n\r\n",
	                true, NULL),
	          403);
	CHECK_INT(check(&a,
	                "POST /api/control/x HTTP/1.1\r\nHost: 127.0.0.1:8089\r\nOrigin: "
	                "http://127.0.0.1:9999\r\n\r\n",
	                true, NULL),
	          403);
	CHECK_INT(
	    check(&a,
	          "POST /api/control/x HTTP/1.1\r\nHost: 127.0.0.1:8089\r\nOrigin: null\r\n\r\n",
	          true, NULL),
	    403);
	/* a read is not a control: its Origin is not asked */
	CHECK_INT(check(&a,
	                "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:8089\r\nOrigin: "
	                "http://evil.example\r\n\r\n",
	                false, NULL),
	          0);
}

TEST(ui_access_host_must_be_loopback_without_token)
{
	ui_access_t a = {.loopback_hosts = true, .bound_host = "127.0.0.1"};
	ui_access_t with_token = {.token = "0123456789abcdef0123456789abcdef"};

	CHECK_INT(check(&a, "GET / HTTP/1.1\r\nHost: evil.example:8089\r\n\r\n", false, NULL), 403);
	CHECK_INT(check(&a, "GET / HTTP/1.0\r\n\r\n", false, NULL), 403);
	CHECK_INT(check(&a, "GET / HTTP/1.1\r\nHost: localhost:9000\r\n\r\n", false, NULL), 0);
	/* with a token the name does not matter: a rebinding page has no token */
	CHECK_INT(check(&with_token,
	                "GET / HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer "
	                "0123456789abcdef0123456789abcdef\r\n\r\n",
	                false, NULL),
	          0);
}

TEST(ui_access_loopback_names)
{
#define LB(s) ui_host_names_loopback(s, strlen(s), "127.0.0.1")
	CHECK(LB("localhost"));
	CHECK(LB("LocalHost:8089"));
	CHECK(LB("ui.localhost:1"));
	CHECK(LB("127.0.0.1"));
	CHECK(LB("127.1.2.3:80"));
	CHECK(LB("[::1]:8089"));
	CHECK(LB("[::ffff:127.0.0.1]"));
	CHECK(!LB("localhost.evil.example"));
	CHECK(!LB("evillocalhost"));
	CHECK(!LB("128.0.0.1"));
	CHECK(!LB("10.0.0.1:8089"));
	CHECK(!LB("[::2]"));
	CHECK(!LB("::1"));
	CHECK(!LB("localhost:80x"));
	CHECK(!LB("localhost:"));
	CHECK(!LB(""));
	CHECK(!ui_host_names_loopback(NULL, 0, "127.0.0.1"));
	CHECK(ui_host_names_loopback("myloop:8089", 11, "myloop"));
#undef LB
}

TEST(ui_host_is_loopback_resolves_as_the_server_binds)
{
	bool lb = false;
	char err[256];

	CHECK_INT(ui_host_is_loopback("127.0.0.1", &lb, err, sizeof(err)), 0);
	CHECK(lb);
	CHECK_INT(ui_host_is_loopback("::1", &lb, err, sizeof(err)), 0);
	CHECK(lb);
	CHECK_INT(ui_host_is_loopback("localhost", &lb, err, sizeof(err)), 0);
	CHECK(lb);
	CHECK_INT(ui_host_is_loopback("0.0.0.0", &lb, err, sizeof(err)), 0);
	CHECK(!lb);
	CHECK_INT(ui_host_is_loopback("::", &lb, err, sizeof(err)), 0);
	CHECK(!lb);
	CHECK_INT(ui_host_is_loopback("no such host name.invalid", &lb, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "cannot resolve") != NULL);
}

TEST(ui_token_form_and_generation)
{
	char a[UI_TOKEN_SIZE], b[UI_TOKEN_SIZE], why[200];

	CHECK_INT(ui_token_generate(a), 0);
	CHECK_INT(ui_token_generate(b), 0);
	CHECK_INT(strlen(a), 32);
	CHECK(strcmp(a, b) != 0);
	CHECK_INT(ui_token_check_format(a, why, sizeof(why)), 0);
	CHECK_INT(ui_token_check_format("short", why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "5 characters") != NULL);
	CHECK_INT(ui_token_check_format("0123456789abcdef;", why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "character 17") != NULL);
	CHECK_INT(ui_token_check_format("A-Za.z_0~9-------", why, sizeof(why)), 0);
}

/* ---- history ---- */

TEST(ui_event_frame_splits_lines)
{
	char out[128];
	size_t n = ui_event_frame(7, "{\"a\":1}", 7, out, sizeof(out));

	CHECK_INT(n, strlen("id: 7\ndata: {\"a\":1}\n\n"));
	CHECK(memcmp(out, "id: 7\ndata: {\"a\":1}\n\n", n) == 0);
	n = ui_event_frame(12, "a\r\nb\rc\nd", 8, out, sizeof(out));
	CHECK_INT(n, strlen("id: 12\ndata: a\ndata: b\ndata: c\ndata: d\n\n"));
	CHECK(memcmp(out, "id: 12\ndata: a\ndata: b\ndata: c\ndata: d\n\n", n) == 0);
	/* measured without a buffer, the same length */
	CHECK_INT(ui_event_frame(12, "a\r\nb\rc\nd", 8, NULL, 0), n);
	n = ui_event_frame(1, "x\n", 2, out, sizeof(out));
	CHECK(memcmp(out, "id: 1\ndata: x\ndata: \n\n", n) == 0);
}

/* The ids of the frames in text, in order. */
static int frame_ids(const char *text, size_t len, uint64_t *ids, int max)
{
	int n = 0;

	for (const char *p = text; p < text + len && n < max;) {
		const char *id = memmem(p, (size_t)(text + len - p), "id: ", 4);

		if (!id)
			break;
		ids[n++] = strtoull(id + 4, NULL, 10);
		p = id + 4;
	}
	return n;
}

TEST(ui_history_join_and_replay)
{
	ui_history_t h;
	ui_join_t j;
	buf_t out;
	uint64_t next, ids[32];
	char ev[32];

	CHECK_INT(ui_history_init(&h, 1 << 20), 0);
	buf_init(&out, 1 << 20);
	ui_history_join(&h, false, 0, &j);
	CHECK_INT(j.first_id, 1);
	CHECK_INT(j.last_id, 0);
	CHECK_INT(j.next_id, 1);
	for (int i = 1; i <= 10; i++) {
		int len = snprintf(ev, sizeof(ev), "{\"n\":%d}", i);

		CHECK_INT(ui_history_publish(&h, ev, (size_t)len, UI_EVENT_KEPT), i);
	}
	ui_history_join(&h, true, 4, &j);
	CHECK_INT(j.next_id, 5);
	CHECK_INT(j.missed, 0);
	CHECK(!j.reset);
	next = j.next_id;
	CHECK_INT(ui_history_read(&h, &next, &out, 1 << 20), 6);
	CHECK_INT(next, 11);
	CHECK_INT(frame_ids(out.data, out.len, ids, 32), 6);
	CHECK_INT(ids[0], 5);
	CHECK_INT(ids[5], 10);
	CHECK_INT(ui_history_read(&h, &next, &out, 1 << 20), 0);
	/* an id from another stream (a restarted run): from the start, said so */
	ui_history_join(&h, true, 99, &j);
	CHECK(j.reset);
	CHECK_INT(j.next_id, 1);
	/* a soft maximum stops after the frame that passes it, and never before the first */
	buf_reset(&out);
	next = 1;
	CHECK_INT(ui_history_read(&h, &next, &out, 1), 1);
	CHECK_INT(next, 2);
	buf_free(&out);
	ui_history_free(&h);
}

TEST(ui_history_bound_drops_oldest_and_says_so)
{
	ui_history_t h;
	ui_join_t j;
	buf_t out;
	uint64_t next, ids[300], first, last, published, refused, dropped;
	size_t bytes;
	char ev[128];
	int n;

	CHECK_INT(ui_history_init(&h, 4096), 0);
	buf_init(&out, 1 << 20);
	for (int i = 1; i <= 200; i++) {
		int len = snprintf(ev, sizeof(ev), "{\"n\":%d,\"pad\":\"%040d\"}", i, i);

		CHECK_INT(ui_history_publish(&h, ev, (size_t)len, UI_EVENT_KEPT), i);
	}
	ui_history_figures(&h, &first, &last, &bytes, &published, &refused, &dropped);
	CHECK(bytes <= 4096);
	CHECK_INT(last, 200);
	CHECK_INT(published, 200);
	CHECK(dropped > 0);
	CHECK_INT(first, dropped + 1);
	ui_history_join(&h, false, 0, &j);
	CHECK_INT(j.first_id, first);
	CHECK_INT(j.dropped, dropped);
	CHECK_INT(j.missed, first - 1);
	ui_history_join(&h, true, 3, &j);
	CHECK_INT(j.missed, first - 4);
	CHECK_INT(j.next_id, first);
	next = j.next_id;
	n = ui_history_read(&h, &next, &out, 1 << 20);
	CHECK_INT(n, 200 - first + 1);
	CHECK_INT(frame_ids(out.data, out.len, ids, 300), n);
	for (int i = 0; i < n && i < 300; i++)
		CHECK_INT(ids[i], first + (uint64_t)i);
	/* a reader whose next event is gone is told so */
	next = 1;
	CHECK_INT(ui_history_read(&h, &next, &out, 1 << 20), UI_HISTORY_BEHIND);
	{
		bool gone = false;

		ui_history_lag(&h, 1, 0, &gone);
		CHECK(gone);
		ui_history_lag(&h, first, 0, &gone);
		CHECK(!gone);
	}
	/* too large for the bound alone; empty */
	char big[5000];
	memset(big, 'x', sizeof(big));
	CHECK_INT(ui_history_publish(&h, big, sizeof(big), UI_EVENT_KEPT), -E2BIG);
	CHECK_INT(ui_history_publish(&h, "", 0, UI_EVENT_KEPT), -EINVAL);
	ui_history_figures(&h, &first, &last, &bytes, &published, &refused, &dropped);
	CHECK_INT(refused, 1);
	buf_free(&out);
	ui_history_free(&h);
}

TEST(ui_history_lag_counts_live_bytes_only)
{
	ui_history_t h;
	ui_join_t j;
	uint64_t frame = ui_event_frame(1, "{}", 2, NULL, 0);
	bool dropped;

	CHECK_INT(ui_history_init(&h, 1 << 20), 0);
	for (int i = 0; i < 5; i++)
		ui_history_publish(&h, "{}", 2, UI_EVENT_KEPT);
	/* joined from the start: the five kept events are its replay, not lag */
	ui_history_join(&h, false, 0, &j);
	CHECK_INT(ui_history_lag(&h, j.next_id, j.since_total, &dropped), 0);
	ui_history_publish(&h, "{}", 2, UI_EVENT_KEPT);
	ui_history_publish(&h, "{}", 2, UI_EVENT_KEPT);
	/* still at event 1 of its replay: events 6 and 7 are live and waiting */
	CHECK_INT(ui_history_lag(&h, j.next_id, j.since_total, &dropped), 2 * frame);
	/* about to take event 6: only event 7 waits behind it */
	CHECK_INT(ui_history_lag(&h, 6, j.since_total, &dropped), frame);
	CHECK_INT(ui_history_lag(&h, 7, j.since_total, &dropped), 0);
	CHECK_INT(ui_history_lag(&h, 8, j.since_total, &dropped), 0);
	CHECK(!dropped);
	ui_history_free(&h);
}

TEST(ui_history_keeps_only_the_newest_latest_event)
{
	ui_history_t h;
	ui_join_t j;
	buf_t out;
	uint64_t next, ids[16], first, last, published, refused, dropped;
	size_t bytes, one = 0;
	/* kept, latest, kept, latest, kept, latest */
	const int how[6] = {UI_EVENT_KEPT,   UI_EVENT_LATEST, UI_EVENT_KEPT,
	                    UI_EVENT_LATEST, UI_EVENT_KEPT,   UI_EVENT_LATEST};

	CHECK_INT(ui_history_init(&h, 1 << 20), 0);
	buf_init(&out, 1 << 20);
	for (int i = 0; i < 6; i++) {
		CHECK_INT(ui_history_publish(&h, "{\"n\":1}", 7, how[i]), i + 1);
		if (i == 0) /* what one event costs */
			ui_history_figures(&h, &first, &last, &one, &published, &refused, &dropped);
	}
	CHECK_INT(h.superseded, 2);
	/* a replay from the start skips the two replaced: ids 1, 3, 5 and 6 */
	ui_history_join(&h, false, 0, &j);
	next = j.next_id;
	CHECK_INT(ui_history_read(&h, &next, &out, 1 << 20), 6);
	CHECK_INT(next, 7);
	CHECK_INT(frame_ids(out.data, out.len, ids, 16), 4);
	CHECK(ids[0] == 1 && ids[1] == 3 && ids[2] == 5 && ids[3] == 6);
	/* what a replaced event cost is freed: six events, two of them without their frame */
	ui_history_figures(&h, &first, &last, &bytes, &published, &refused, &dropped);
	CHECK_INT(bytes, 6 * one - 2 * ui_event_frame(2, "{\"n\":1}", 7, NULL, 0));
	CHECK_INT(first, 1);
	CHECK_INT(last, 6);
	buf_free(&out);
	ui_history_free(&h);
}
