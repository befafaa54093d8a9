/* ui_server: the UI server's lifecycle — the configuration checked (bounds, token, the safety
 * rule for non-loopback addresses), the listening socket, the thread running its loop,
 * accepting connections within the bound, publishing events from other threads, the stop. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/echo.h"
#include "ui/ui_internal.h"

#define LISTEN_BACKLOG 128
#define ACCEPT_BUDGET  64 /* connections taken per readiness event */

void ui_config_defaults(ui_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->host = UI_DEFAULT_HOST;
	cfg->port = UI_DEFAULT_PORT;
	cfg->mode = UI_MODE_FULL;
	cfg->max_connections = 64;
	cfg->max_header_bytes = 16 << 10;
	cfg->max_body_bytes = 64 << 10;
	cfg->max_response_bytes = (size_t)256 << 20;
	cfg->max_downloads = 4;
	cfg->history_max_bytes = (size_t)64 << 20;
	cfg->client_queue_max_bytes = (size_t)8 << 20;
	cfg->header_timeout_ns = 10ull * 1000000000ull;
	cfg->idle_timeout_ns = 60ull * 1000000000ull;
	cfg->heartbeat_ns = 15ull * 1000000000ull;
}

static bool file_name_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 128 || s[0] == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* What the caller gave, checked before anything is opened. */
static int check_config(const ui_config_t *cfg, char *err, size_t errlen)
{
	if (!cfg->max_connections || !cfg->max_header_bytes || !cfg->max_body_bytes ||
	    !cfg->max_response_bytes || !cfg->max_downloads || !cfg->history_max_bytes ||
	    !cfg->client_queue_max_bytes || !cfg->header_timeout_ns || !cfg->idle_timeout_ns ||
	    !cfg->heartbeat_ns) {
		snprintf(err, errlen, "ui: every bound must be above 0");
		return -EINVAL;
	}
	if (cfg->max_header_bytes < 256) {
		snprintf(err, errlen, "ui: max_header_bytes %u is too small (256 at least)",
		         cfg->max_header_bytes);
		return -EINVAL;
	}
	if (cfg->token && *cfg->token) {
		char why[160];

		if (ui_token_check_format(cfg->token, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "ui token: %s", why);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < cfg->download_count; i++) {
		const ui_download_t *d = &cfg->downloads[i];

		if (!file_name_ok(d->name) || (d->filename && !file_name_ok(d->filename)) ||
		    !d->content_type || strpbrk(d->content_type, "\r\n")) {
			snprintf(err, errlen,
			         "ui: download %zu: a name (and filename) from [A-Za-z0-9._-] "
			         "and a content type are needed",
			         i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

/* The listening socket on host:port; *addr says what was bound. */
static int open_listener(const char *host, uint16_t port, struct sockaddr_storage *addr, char *err,
                         size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char service[8];
	int fd, one = 1, rc;

	snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(err, errlen, "ui: cannot resolve the address '%s': %s", ECHO(host),
		         rc ? gai_strerror(rc) : "no address");
		return -EINVAL;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		int e = errno;

		snprintf(err, errlen,
		         strchr(host, ':') ? "ui: cannot listen on [%s]:%u: %s"
		                           : "ui: cannot listen on %s:%u: %s",
		         ECHO(host), port,
		         e == EADDRINUSE ? "address already in use" : strerror(e));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -e;
	}
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return fd;
}

int ui_host_is_loopback(const char *host, bool *loopback, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host && *host ? host : UI_DEFAULT_HOST, "0", &hints, &res);

	if (rc != 0 || !res) {
		snprintf(err, errlen, "ui: cannot resolve the address '%s': %s", ECHO(host),
		         rc ? gai_strerror(rc) : "no address");
		return -EINVAL;
	}
	/* the first address is the one open_listener binds */
	*loopback = ui_address_is_loopback(res->ai_addr);
	freeaddrinfo(res);
	return 0;
}

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
}

static void on_accept(loop_t *loop, loop_io_t *io, uint32_t events)
{
	ui_t *ui = io->ctx;

	for (int i = 0; i < ACCEPT_BUDGET; i++) {
		int fd = accept4(ui->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return; /* EAGAIN; or EMFILE and the like: tried again on the next event */
		ui_conn_accept(ui, fd);
	}
}

/* Runs on the UI thread when another thread called loop_wake: an event was published, or the
 * server is stopping. */
static void on_wake(loop_t *loop, void *ctx)
{
	ui_t *ui = ctx;

	if (atomic_load(&ui->stopping)) {
		while (ui->conns)
			ui_conn_close(ui->conns);
		loop_io_stop(loop, &ui->listen_io);
		loop_stop(loop);
		return;
	}
	ui_conn_wake_streams(ui);
}

static void *ui_thread(void *arg)
{
	ui_t *ui = arg;
	sigset_t all;

	/* signals are the caller's (Ctrl-C ends the run): never delivered here */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	loop_run(ui->loop);
	return NULL;
}

static void ui_free(ui_t *ui)
{
	if (!ui)
		return;
	if (ui->loop)
		loop_free(ui->loop);
	if (ui->listen_fd >= 0)
		close(ui->listen_fd);
	ui_history_free(&ui->history);
	buf_free(&ui->page);
	free(ui->host);
	free(ui->token);
	if (ui->downloads) {
		for (size_t i = 0; i < ui->cfg.download_count; i++) {
			free((char *)ui->downloads[i].name);
			free((char *)ui->downloads[i].content_type);
			free((char *)ui->downloads[i].filename);
		}
		free(ui->downloads);
	}
	free(ui);
}

/* Copies of the caller's strings, which need not outlive the call. */
static int copy_config(ui_t *ui, const ui_config_t *cfg)
{
	ui->cfg = *cfg;
	ui->host = strdup(cfg->host && *cfg->host ? cfg->host : UI_DEFAULT_HOST);
	ui->token = cfg->token && *cfg->token ? strdup(cfg->token) : NULL;
	if (!ui->host || (cfg->token && *cfg->token && !ui->token))
		return -ENOMEM;
	ui->cfg.host = ui->host;
	ui->cfg.token = ui->token;
	ui->cfg.downloads = NULL;
	if (cfg->download_count) {
		ui->downloads = calloc(cfg->download_count, sizeof(*ui->downloads));
		if (!ui->downloads)
			return -ENOMEM;
		for (size_t i = 0; i < cfg->download_count; i++) {
			ui->downloads[i].name = strdup(cfg->downloads[i].name);
			ui->downloads[i].content_type = strdup(cfg->downloads[i].content_type);
			ui->downloads[i].filename =
			    cfg->downloads[i].filename ? strdup(cfg->downloads[i].filename) : NULL;
			if (!ui->downloads[i].name || !ui->downloads[i].content_type ||
			    (cfg->downloads[i].filename && !ui->downloads[i].filename))
				return -ENOMEM;
		}
		ui->cfg.downloads = ui->downloads;
	}
	return 0;
}

int ui_server_start(const ui_config_t *cfg, ui_t **out, char *err, size_t errlen)
{
	struct sockaddr_storage addr;
	unsigned char tag[8];
	ui_t *ui;
	int rc;

	*out = NULL;
	if ((rc = check_config(cfg, err, errlen)) < 0)
		return rc;
	ui = calloc(1, sizeof(*ui));
	if (!ui) {
		snprintf(err, errlen, "ui: out of memory");
		return -ENOMEM;
	}
	ui->listen_fd = -1;
	buf_init(&ui->page, 1 << 20);
	if ((rc = ui_history_init(&ui->history, cfg->history_max_bytes)) < 0 ||
	    (rc = copy_config(ui, cfg)) < 0) {
		snprintf(err, errlen, "ui: out of memory");
		goto fail;
	}
	if (cfg->mode == UI_MODE_FULL && (rc = ui_page_render(&ui->page, err, errlen)) < 0)
		goto fail;
	rc = ui->listen_fd = open_listener(ui->host, cfg->port, &addr, err, errlen);
	if (rc < 0)
		goto fail;
	ui->loopback = ui_address_is_loopback((struct sockaddr *)&addr);
	ui->wildcard = is_wildcard(&addr);
	ui->port = bound_port(ui->listen_fd);
	/* Anyone who reaches the address could start a load from this machine: off loopback the
	 * UI needs a token. /metrics alone only reads figures, as any exporter does. */
	if (!ui->loopback && !ui->token && cfg->mode == UI_MODE_FULL) {
		snprintf(err, errlen,
		         "ui: '%s' is not a loopback address, and the UI controls the load: it "
		         "needs a token there (give one, or let surge generate it)",
		         ECHO(ui->host));
		rc = -EPERM;
		goto fail;
	}
	ui->access.token = ui->token;
	ui->access.loopback_hosts = ui->loopback && !ui->token;
	ui->access.bound_host = ui->host;
	if (getrandom(tag, sizeof(tag), 0) != (ssize_t)sizeof(tag))
		memset(tag, 0, sizeof(tag));
	for (size_t i = 0; i < sizeof(tag); i++)
		snprintf(ui->stream_tag + 2 * i, 3, "%02x", tag[i]);
	if (!(ui->loop = loop_new())) {
		snprintf(err, errlen, "ui: cannot create an event loop");
		rc = -ENOMEM;
		goto fail;
	}
	loop_on_wake(ui->loop, on_wake, ui);
	if ((rc = loop_io_start(ui->loop, &ui->listen_io, ui->listen_fd, LOOP_READ, on_accept,
	                        ui)) < 0) {
		snprintf(err, errlen, "ui: cannot watch the listening socket: %s", strerror(-rc));
		goto fail;
	}
	if ((rc = pthread_create(&ui->thread, NULL, ui_thread, ui)) != 0) {
		snprintf(err, errlen, "ui: cannot start its thread: %s", strerror(rc));
		loop_io_stop(ui->loop, &ui->listen_io);
		rc = -rc;
		goto fail;
	}
	*out = ui;
	return 0;
fail:
	ui_free(ui);
	return rc < 0 ? rc : -EINVAL;
}

void ui_server_stop(ui_t *ui)
{
	if (!ui)
		return;
	atomic_store(&ui->stopping, true);
	loop_wake(ui->loop);
	pthread_join(ui->thread, NULL);
	ui_free(ui);
}

uint16_t ui_port(const ui_t *ui)
{
	return ui->port;
}

void ui_origin(const ui_t *ui, char *out, size_t len)
{
	char name[256];
	const char *host = ui->host;

	/* 0.0.0.0 or :: is no address to connect to from elsewhere: this machine's name is */
	if (ui->wildcard && gethostname(name, sizeof(name)) == 0) {
		name[sizeof(name) - 1] = '\0';
		host = name;
	}
	snprintf(out, len, strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u", host, ui->port);
}

void ui_url(const ui_t *ui, char *out, size_t len)
{
	char origin[300];

	ui_origin(ui, origin, sizeof(origin));
	snprintf(out, len, "%s/%s%s", origin, ui->token ? "?token=" : "",
	         ui->token ? ui->token : "");
}

int64_t ui_publish(ui_t *ui, const char *json, size_t len, int how)
{
	int64_t id = ui_history_publish(&ui->history, json, len, how);

	if (id > 0)
		loop_wake(ui->loop);
	return id;
}

void ui_stats(const ui_t *ui, ui_stats_t *s)
{
	const ui_counters_t *c = &ui->counters;
	size_t bytes;

	memset(s, 0, sizeof(*s));
	s->connections_accepted =
	    atomic_load_explicit(&c->connections_accepted, memory_order_relaxed);
	s->connections_refused =
	    atomic_load_explicit(&c->connections_refused, memory_order_relaxed);
	s->connections_open = atomic_load_explicit(&c->connections_open, memory_order_relaxed);
	s->requests = atomic_load_explicit(&c->requests, memory_order_relaxed);
	s->bad_requests = atomic_load_explicit(&c->bad_requests, memory_order_relaxed);
	s->header_too_large = atomic_load_explicit(&c->header_too_large, memory_order_relaxed);
	s->body_too_large = atomic_load_explicit(&c->body_too_large, memory_order_relaxed);
	s->timeouts = atomic_load_explicit(&c->timeouts, memory_order_relaxed);
	s->refused_auth = atomic_load_explicit(&c->refused_auth, memory_order_relaxed);
	s->downloads_busy = atomic_load_explicit(&c->downloads_busy, memory_order_relaxed);
	s->responses_too_large =
	    atomic_load_explicit(&c->responses_too_large, memory_order_relaxed);
	s->stream_clients = atomic_load_explicit(&c->stream_clients, memory_order_relaxed);
	s->stream_slow = atomic_load_explicit(&c->stream_slow, memory_order_relaxed);
	s->stream_behind = atomic_load_explicit(&c->stream_behind, memory_order_relaxed);
	ui_history_figures((ui_history_t *)&ui->history, &s->history_first_id, &s->history_last_id,
	                   &bytes, &s->events_published, &s->events_refused, &s->events_dropped);
	s->history_bytes = bytes;
}
