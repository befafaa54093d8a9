/* tls: OpenSSL glue, client and server. All TLS state lives in OpenSSL objects; this file maps
 * their results onto the loop's want-read / want-write convention. */
#include "core/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "core/net.h"

tls_context_t *tls_context_new(bool insecure, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		snprintf(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
	/* a generator never renegotiates: a server's request to is refused, not a cost */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	if (insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			snprintf(err, errlen, "cannot load the system's CA certificates");
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	return ctx;
}

void tls_context_for_http1(tls_context_t *ctx, bool keep_buffers)
{
	/* One read(2) per record, or more, where OpenSSL alone reads its 5-byte header and then
	 * the rest: a small response was two reads (tls_read then drains what it holds). */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* Freeing both 17 KiB buffers after each record and taking them back for the next was
	 * 3.5 % of a keep-alive run's CPU (malloc, free, CRYPTO_free: perf) */
	if (keep_buffers)
		SSL_CTX_clear_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

/* OpenSSL gives a new session here once it has it: for TLS 1.3 when a NewSessionTicket is
 * read (after the handshake, in SSL_read), for TLS 1.2 at the handshake's end. */
static int keep_ticket(SSL *s, SSL_SESSION *session)
{
	tls_ticket_t **slot = SSL_get_app_data(s);

	if (!slot)
		return 0; /* no one keeps it: OpenSSL frees it */
	SSL_SESSION_free(*slot);
	*slot = session;
	return 1; /* the slot owns it now */
}

void tls_context_keep_tickets(tls_context_t *ctx)
{
	/* the client cache mode makes OpenSSL call keep_ticket; its own store stays empty (it
	 * would be shared by the threads, and is keyed for servers) */
	SSL_CTX_set_session_cache_mode(ctx,
	                               SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, keep_ticket);
}

int tls_session_resume_from(tls_session_t *s, tls_ticket_t **slot)
{
	if (*slot && SSL_SESSION_is_resumable(*slot) && SSL_set_session(s, *slot) != 1)
		return -ENOMEM;
	return SSL_set_app_data(s, slot) == 1 ? 0 : -ENOMEM;
}

void tls_ticket_free(tls_ticket_t *t)
{
	SSL_SESSION_free(t);
}

bool tls_session_resumed(tls_session_t *s)
{
	return SSL_session_reused(s) == 1;
}

void tls_context_free(tls_context_t *ctx)
{
	SSL_CTX_free(ctx);
}

int tls_context_offer_h2(tls_context_t *ctx)
{
	static const unsigned char h2[] = {2, 'h', '2'};

	/* 0 is success here, unlike the rest of OpenSSL */
	return SSL_CTX_set_alpn_protos(ctx, h2, sizeof(h2)) == 0 ? 0 : -ENOMEM;
}

bool tls_session_alpn_is(tls_session_t *s, const char *proto)
{
	const unsigned char *p = NULL;
	unsigned int len = 0;

	SSL_get0_alpn_selected(s, &p, &len);
	return p && len == strlen(proto) && memcmp(p, proto, len) == 0;
}

static bool is_ip_literal(const char *host)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

tls_session_t *tls_session_new(tls_context_t *ctx, int fd, const char *host)
{
	SSL *s = SSL_new(ctx);

	if (!s)
		return NULL;
	if (SSL_set_fd(s, fd) != 1)
		goto fail;
	if (!is_ip_literal(host)) {
		/* SNI is only for names; an address is checked against the certificate's IPs */
		if (SSL_set_tlsext_host_name(s, host) != 1 || SSL_set1_host(s, host) != 1)
			goto fail;
	} else if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), host) != 1) {
		goto fail;
	}
	SSL_set_connect_state(s);
	return s;
fail:
	SSL_free(s);
	return NULL;
}

void tls_session_free(tls_session_t *s)
{
	if (!s)
		return;
	SSL_shutdown(s); /* best effort close_notify; the socket is closed right after */
	SSL_free(s);
}

/* ALPN on the server: h2 when the client offers it, else http/1.1; a client offering
 * neither goes on without ALPN (HTTP/1.1) rather than failing its handshake. */
static int alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x02h2\x08http/1.1";
	unsigned char *chosen = NULL;

	if (SSL_select_next_proto(&chosen, outlen, ours, sizeof(ours) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = chosen;
	return SSL_TLSEXT_ERR_OK;
}

tls_context_t *tls_server_context_new(const char *cert_file, const char *key_file, char *err,
                                      size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char why[256];

	if (!ctx) {
		snprintf(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* a write retried after NET_WANT_WRITE may come from a buffer that moved (serve's HTTP/2
	 * output is compacted and appended to meanwhile); idle connections keep no buffers */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                          SSL_MODE_RELEASE_BUFFERS);
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		tls_last_error(why, sizeof(why));
		snprintf(err, errlen, "--tls-cert %s: %s", cert_file, why);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
			tls_last_error(why, sizeof(why));
			snprintf(err, errlen, "--tls-key %s: %s", key_file, why);
			goto fail;
		}
		snprintf(err, errlen,
		         "--tls-key %s does not match the certificate in --tls-cert %s", key_file,
		         cert_file);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen,
		         "--tls-key %s does not match the certificate in --tls-cert %s", key_file,
		         cert_file);
		goto fail;
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

tls_session_t *tls_server_session_new(tls_context_t *ctx, int fd)
{
	SSL *s = SSL_new(ctx);

	if (!s)
		return NULL;
	if (SSL_set_fd(s, fd) != 1) {
		SSL_free(s);
		return NULL;
	}
	SSL_set_accept_state(s);
	return s;
}

bool tls_session_heard(tls_session_t *s)
{
	BIO *rbio = SSL_get_rbio(s);

	return rbio && BIO_number_read(rbio) > 0;
}

size_t tls_pending(tls_session_t *s)
{
	int n = SSL_pending(s);

	return n > 0 ? (size_t)n : 0;
}

void tls_session_busy(tls_session_t *s)
{
	SSL_set_read_ahead(s, 1);
	SSL_clear_mode(s, SSL_MODE_RELEASE_BUFFERS);
}

/* OpenSSL's error queue must be empty before an I/O call, for SSL_get_error to be right. It
 * almost always is: ERR_clear_error costs ~32 CRYPTO_free calls whatever the queue holds
 * (OpenSSL 3's err_clear frees each entry's file and function), 1.5 % of an HTTP/2 run over
 * TLS (perf), where peeking costs a thread-local lookup. */
static void clear_errors(void)
{
	if (ERR_peek_error())
		ERR_clear_error();
}

/* The queue is also emptied after each failure is read (map_result), so it is empty before
 * the next call without a look: tls_read does not look, which lets a failure met after some
 * bytes were read stay queued for the call that reports it (ERR_clear_error before every
 * SSL_read and SSL_write was 1.3 % of an HTTP/1.1 keep-alive run's CPU: perf). The last
 * error's text is kept for tls_last_error. */
static __thread char last_error[160];

static ssize_t map_error(SSL *s, int rc)
{
	unsigned long e;

	switch (SSL_get_error(s, rc)) {
	case SSL_ERROR_WANT_READ: return NET_WANT_READ;
	case SSL_ERROR_WANT_WRITE: return NET_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN: return 0;
	case SSL_ERROR_SYSCALL:
		/* EOF without close_notify: servers do it all the time, treat as end of stream */
		if (errno == 0 || ERR_peek_error() == 0)
			return errno ? -errno : 0;
		break;
	default: break;
	}
	if ((e = ERR_peek_last_error()) != 0)
		ERR_error_string_n(e, last_error, sizeof(last_error));
	else
		snprintf(last_error, sizeof(last_error), "TLS error");
	return -EPROTO;
}

static ssize_t map_result(SSL *s, int rc)
{
	ssize_t out = map_error(s, rc);

	if (out != NET_WANT_READ && out != NET_WANT_WRITE) /* which leave nothing queued */
		ERR_clear_error();
	return out;
}

int tls_handshake(tls_session_t *s)
{
	int rc;

	clear_errors();
	errno = 0;
	rc = SSL_do_handshake(s);
	if (rc == 1)
		return 0;
	rc = (int)map_result(s, rc);
	return rc == 0 ? -EPROTO : rc; /* EOF during the handshake is a TLS failure */
}

ssize_t tls_read(tls_session_t *s, void *buf, size_t len)
{
	size_t got = 0;
	int rc;

	if (len > INT32_MAX)
		len = INT32_MAX;
	/* With read-ahead OpenSSL may hold whole records past the one returned, which no
	 * readiness of the socket announces: they are taken now, while the buffer has room. */
	do {
		errno = 0;
		rc = SSL_read(s, (char *)buf + got, (int)(len - got));
		/* what came before a failure, or the end, is returned first: either comes again
		 * on the next call (the queue keeps a failure's error for it, uncleared) */
		if (rc <= 0)
			return got ? (ssize_t)got : map_result(s, rc);
		got += (size_t)rc;
	} while (got < len && SSL_has_pending(s));
	return (ssize_t)got;
}

bool tls_buffered(tls_session_t *s)
{
	return SSL_has_pending(s) == 1;
}

ssize_t tls_write(tls_session_t *s, const void *buf, size_t len)
{
	int rc;

	clear_errors();
	errno = 0;
	rc = SSL_write(s, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (rc > 0)
		return rc;
	rc = (int)map_result(s, rc);
	return rc == 0 ? -EPIPE : rc;
}

void tls_last_error(char *out, size_t len)
{
	unsigned long e = ERR_peek_last_error(); /* a failure outside tls_read/write/handshake */

	if (e)
		ERR_error_string_n(e, out, len);
	else
		snprintf(out, len, "%s", last_error[0] ? last_error : "TLS error");
}
