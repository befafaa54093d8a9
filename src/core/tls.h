/* tls: OpenSSL client and server sessions over non-blocking sockets, with the net_read/net_write
 * return convention (NET_WANT_READ / NET_WANT_WRITE / -errno, -EPROTO for TLS failures). */
#ifndef SURGE_TLS_H
#define SURGE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct ssl_st tls_session_t;
typedef struct ssl_ctx_st tls_context_t;
typedef struct ssl_session_st tls_ticket_t;

/* One context per run, shared by all threads (OpenSSL contexts are thread-safe to use).
 * insecure: do not verify the peer's certificate chain or name. */
tls_context_t *tls_context_new(bool insecure, char *err, size_t errlen);
void tls_context_free(tls_context_t *ctx);
/* The client offers HTTP/2 alone in ALPN ("h2"): 0, or -ENOMEM. */
int tls_context_offer_h2(tls_context_t *ctx);

/* HTTP/1.1's tuning: OpenSSL reads ahead (a small response in one read(2)); keep_buffers:
 * each session keeps its read and write buffers instead of freeing them after each
 * record, for runs of few enough connections. Not for HTTP/2, whose reads do not drain. */
void tls_context_for_http1(tls_context_t *ctx, bool keep_buffers);

/* A client session on a connected fd, with SNI and host name verification for `host`. */
tls_session_t *tls_session_new(tls_context_t *ctx, int fd, const char *host);
void tls_session_free(tls_session_t *s);
/* For a busy connection carrying many requests at once (HTTP/2): OpenSSL reads ahead (one
 * read() takes what the socket holds, not a record's header and then its body) and keeps its
 * buffers between records instead of giving them back each time. */
void tls_session_busy(tls_session_t *s);
/* Session resumption. The context hands each session the server gives a connection (a TLS
 * 1.3 ticket, which comes after the handshake, or a TLS 1.2 session) to the slot that
 * connection named, replacing the one there; the slot's owner offers it when it connects
 * again and frees it with tls_ticket_free. A slot belongs to one connection, so to one
 * thread: nothing is shared, and there are as many as connections at most. */
void tls_context_keep_tickets(tls_context_t *ctx);
/* Offer *slot's session (when it still may be resumed) and keep the next one in *slot. The
 * slot must outlive s. 0, or -ENOMEM. */
int tls_session_resume_from(tls_session_t *s, tls_ticket_t **slot);
void tls_ticket_free(tls_ticket_t *t);
/* After the handshake: whether it resumed a session (an abbreviated handshake). */
bool tls_session_resumed(tls_session_t *s);
/* Whether the server chose proto in ALPN (after the handshake). */
bool tls_session_alpn_is(tls_session_t *s, const char *proto);
/* A server context: the certificate chain and private key from PEM files, TLS 1.2 and up,
 * ALPN choosing "h2" over "http/1.1" when the client offers it (no ALPN: HTTP/1.1). NULL with
 * a message naming the file that could not be used. */
tls_context_t *tls_server_context_new(const char *cert_file, const char *key_file, char *err,
                                      size_t errlen);
/* A server session on an accepted fd; the handshake runs in tls_handshake. */
tls_session_t *tls_server_session_new(tls_context_t *ctx, int fd);
/* Whether the peer sent anything at all (a port probe that connects and closes has not). */
bool tls_session_heard(tls_session_t *s);
/* Bytes OpenSSL has decrypted and holds: a read returns them without the socket being
 * readable, so a level-triggered loop must be told to come back for them. */
size_t tls_pending(tls_session_t *s);

/* 0 when the handshake is complete, NET_WANT_READ/NET_WANT_WRITE, or -EPROTO. */
int tls_handshake(tls_session_t *s);
/* Up to len bytes; with read-ahead, less than len means OpenSSL holds no whole record more
 * (what it lacks is announced by the socket), len that it may (tls_buffered says). */
ssize_t tls_read(tls_session_t *s, void *buf, size_t len);
/* Whether OpenSSL holds bytes read from the socket and not yet returned (decrypted or not,
 * whole records or part of one: SSL_has_pending). */
bool tls_buffered(tls_session_t *s);
ssize_t tls_write(tls_session_t *s, const void *buf, size_t len);
/* The last TLS failure as text, for logs ("certificate verify failed", ...): the thread's
 * error queue's, or else the last that tls_read, tls_write or tls_handshake met. */
void tls_last_error(char *out, size_t len);

#endif
