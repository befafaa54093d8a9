/* gen_h2_internal: what the files of --h2 share (gen_internal.h declares what the engine
 * calls of them): a TCP connection and its streams, a thread's connections, the run's
 * nghttp2 set-up. gen_h2_conn.c owns the TCP connection and its I/O, gen_h2_session.c the
 * nghttp2 callbacks and the run's session set-up, gen_h2_stream.c the streams (a request
 * each: waiting, submitted, timed out, let go), gen_h2_deal.c how streams are dealt to
 * connections and threads. Nothing outside these files includes it. */
#ifndef SURGE_GEN_H2_INTERNAL_H
#define SURGE_GEN_H2_INTERNAL_H

#include <nghttp2/nghttp2.h>

#include "core/http2_request.h"
#include "gen/gen_h2_pool.h"
#include "gen/gen_internal.h"

#define H2_WRITE_BUFFER (16 * 1024) /* frames gathered into one write (a TLS record) */
/* our receive windows, as h2load's defaults (2^30 - 1): the server is never held back by
 * this client's window, and WINDOW_UPDATE frames are rare */
#define H2_WINDOW ((1 << 30) - 1)

enum h2_state {
	H2_CLOSED,
	H2_CONNECTING,
	H2_HANDSHAKE, /* TLS */
	H2_OPEN,
};

typedef struct gen_h2_conn gen_h2_conn_t;

/* A stream: the request of one gen_conn_t, on its TCP connection. */
typedef struct gen_h2_slot {
	gen_conn_t *conn;
	gen_h2_conn_t *h;
	struct gen_h2_slot *wait_next; /* waiting for its connection (a FIFO), while waiting */
	int32_t stream_id;             /* the stream out; 0: none */
	uint32_t reset_code;           /* the server's RST_STREAM, when reset */
	bool waiting, reset, complete;
	bool out_of_memory; /* a scenario's response had nowhere to go: the stream was reset */
	/* the request's body: the run's one copy, or the tail of a driven request's bytes (kept
	 * by its driver until the response), read only while the stream is the slot's */
	const char *body;
	size_t body_len;
	size_t body_sent; /* bytes of the request's body given to nghttp2 */
} gen_h2_slot_t;

struct gen_h2_conn {
	gen_thread_t *thread;
	gen_h2_slot_t *slots; /* its streams */
	uint32_t slot_count;
	loop_io_t io;
	int fd;
	tls_session_t *tls;
	nghttp2_session *session;
	enum h2_state state;
	uint32_t streams_out; /* submitted, not yet closed */
	bool goaway;          /* the server sent GOAWAY: no new stream on this connection */
	/* inside nghttp2_session_mem_recv or _mem_send, whose callbacks record and start
	 * requests: nothing may free the session or call into it for I/O meanwhile */
	bool in_session;
	bool close_pending; /* ...so the close asked meanwhile waits for its return */
	bool read_wants_write;
	bool found_error;   /* nghttp2 reported an error in what it read (error_callback2) */
	bool flow_error;    /* ...the connection's flow control (a window past 2^31 - 1) */
	bool peer_closed;   /* the server closed its side: a write failing now is that close */
	bool write_blocked; /* the last write of wbuf would block: retried as it was */
	gen_h2_slot_t *wait_head, *wait_tail;
	uint64_t read_ns; /* when the current read came: the time of the responses it ends */
	/* the output: frames gathered from nghttp2 into wbuf (H2_WRITE_BUFFER, allocated while
	 * connected), and what nghttp2_session_mem_send gave that did not fit yet (valid until
	 * its next call) */
	uint8_t *wbuf;
	size_t wlen, woff;
	const uint8_t *pending;
	size_t pending_len;
};

typedef struct gen_h2_thread {
	gen_h2_conn_t *conns;
	uint32_t conn_count;
	gen_h2_slot_t *slots; /* one per gen_conn_t of the thread, in the same order */
	gen_h2_pool_t pool;   /* what its sessions allocate from */
} gen_h2_thread_t;

typedef struct gen_h2_run {
	http2_request_t request;
	nghttp2_session_callbacks *callbacks;
	nghttp2_option *option;
	nghttp2_settings_entry settings[3];
} gen_h2_run_t;

/* gen_h2_conn.c */
/* Connects h (its waiting streams go once it is open). */
void gen_h2_conn_connect(gen_h2_conn_t *h);
/* Writes what nghttp2 has to send, as far as the socket takes it. */
void gen_h2_conn_flush(gen_h2_conn_t *h);
/* Closes the socket and the session now (never inside the session's own callbacks). */
void gen_h2_conn_close_now(gen_h2_conn_t *h);
/* Closes h now, or once the session's call in progress returns. */
void gen_h2_conn_close(gen_h2_conn_t *h);
/* h is gone (or never came): its requests fail as `kind` (each once). */
void gen_h2_conn_lost(gen_h2_conn_t *h, enum gen_error_kind kind);

/* gen_h2_stream.c */
/* Submits the streams waiting on h while it has room for them. */
void gen_h2_submit_waiting(gen_h2_conn_t *h);
/* Takes s out of h's waiting streams. */
void gen_h2_wait_remove(gen_h2_conn_t *h, gen_h2_slot_t *s);

/* The stream's slot, unless the stream was let go (its request timed out or was abandoned):
 * then its frames are read and dropped. */
static inline gen_h2_slot_t *gen_h2_stream_slot(nghttp2_session *session, int32_t id)
{
	gen_h2_slot_t *s = nghttp2_session_get_stream_user_data(session, id);

	return s && s->stream_id == id ? s : NULL;
}

#endif
