/* serve_log: JSON-lines logs on stdout — one access line per request (buffered per worker,
 * flushed in whole lines under a lock so workers never interleave) and event lines. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/json.h"
#include "serve/serve_internal.h"

#define FLUSH_AT (32 * 1024)

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static void write_out(const char *data, size_t len)
{
	pthread_mutex_lock(&serve_state.log_lock);
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, data, len);

		if (n <= 0)
			break; /* stdout gone: logs are lost, requests are not */
		data += n;
		len -= (size_t)n;
	}
	pthread_mutex_unlock(&serve_state.log_lock);
}

void serve_log_flush(serve_worker_t *w)
{
	if (!w->log.len)
		return;
	write_out(w->log.data, w->log.len);
	buf_reset(&w->log);
}

void serve_log_access(serve_worker_t *w, const serve_request_t *r, uint64_t dur_ns, uint64_t bytes)
{
	char now[40], id[40];
	json_writer_t j;
	size_t mark = w->log.len;

	if (serve_state.cfg->log_level > SERVE_LOG_INFO)
		return;
	clock_format_rfc3339(clock_wall_ns(), now, sizeof(now));
	jsonw_init(&j, &w->log, false);
	jsonw_object_begin(&j);
	jsonw_key(&j, "time");
	jsonw_string(&j, now);
	jsonw_key(&j, "level");
	jsonw_string(&j, "info");
	jsonw_key(&j, "msg");
	jsonw_string(&j, "request");
	jsonw_key(&j, "method");
	jsonw_string_n(&j, r->head.method.p, r->head.method.len);
	jsonw_key(&j, "protocol");
	jsonw_string(&j, r->protocol == SERVE_HTTP2   ? "HTTP/2"
	                 : r->head.minor_version == 0 ? "HTTP/1.0"
	                                              : "HTTP/1.1");
	jsonw_key(&j, "route");
	jsonw_string(&j, r->route ? r->route->name : "unmatched");
	jsonw_key(&j, "path");
	jsonw_string_n(&j, r->head.target.p, r->head.target.len);
	jsonw_key(&j, "status");
	jsonw_int(&j, r->status);
	jsonw_key(&j, "duration_ms");
	jsonw_double(&j, dur_ns / 1e6, 3);
	jsonw_key(&j, "bytes");
	jsonw_uint(&j, bytes);
	snprintf(id, sizeof(id), "%016llx%016llx", (unsigned long long)r->trace_hi,
	         (unsigned long long)r->trace_lo);
	jsonw_key(&j, "trace_id");
	jsonw_string(&j, id);
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)r->span);
	jsonw_key(&j, "span_id");
	jsonw_string(&j, id);
	jsonw_object_end(&j);
	if (j.err || buf_append_char(&w->log, '\n') < 0) {
		buf_truncate(&w->log,
		             mark); /* the buffer is full: drop this line, keep whole lines */
		return;
	}
	if (w->log.len >= FLUSH_AT)
		serve_log_flush(w);
}

void serve_log_event(enum serve_log_level level, const char *event, const char *fmt, ...)
{
	char now[40], msg[1024];
	buf_t line;
	json_writer_t j;
	va_list ap;

	if (serve_state.cfg && level < serve_state.cfg->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_format_rfc3339(clock_wall_ns(), now, sizeof(now));
	buf_init(&line, 4096);
	jsonw_init(&j, &line, false);
	jsonw_object_begin(&j);
	jsonw_key(&j, "time");
	jsonw_string(&j, now);
	jsonw_key(&j, "level");
	jsonw_string(&j, level_names[level]);
	jsonw_key(&j, "msg");
	jsonw_string(&j, event);
	jsonw_key(&j, "detail");
	jsonw_string(&j, msg);
	/* which instance said it (a supervisor's lines, before serve runs, have none yet) */
	if (serve_state.instance[0]) {
		jsonw_key(&j, "instance");
		jsonw_string(&j, serve_state.instance);
	}
	if (serve_state.pod_namespace[0]) {
		jsonw_key(&j, "namespace");
		jsonw_string(&j, serve_state.pod_namespace);
	}
	if (serve_state.node_name[0]) {
		jsonw_key(&j, "node");
		jsonw_string(&j, serve_state.node_name);
	}
	jsonw_object_end(&j);
	buf_append_char(&line, '\n');
	if (!j.err)
		write_out(line.data, line.len);
	buf_free(&line);
}
