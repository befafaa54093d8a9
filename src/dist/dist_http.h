/* dist_http: a shard's client of its coordinator — one blocking HTTP/1.1 POST at a time on a
 * keep-alive connection (a shard sends once a second: a thread of its own that waits is
 * simpler than a loop), each against one deadline, the answer's body bounded. Plain http://
 * only (the coordinator's server has no TLS; in a cluster it is a Service address). */
#ifndef SURGE_DIST_HTTP_H
#define SURGE_DIST_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/url.h"

#define DIST_HTTP_ANSWER_MAX (1u << 20)

typedef struct dist_http {
	url_t url;
	char auth[300];               /* "Authorization: Bearer TOKEN", or "" */
	int fd;                       /* the keep-alive connection, or -1 */
	uint64_t bytes_out, bytes_in; /* on the wire, heads included */
} dist_http_t;

/* base: "http://HOST:PORT" (a path is ignored); token may be NULL. 0, or -EINVAL with one line
 * in err. Nothing is connected yet. */
int dist_http_init(dist_http_t *h, const char *base, const char *token, char *err, size_t errlen);
/* POSTs body (of content_type: "application/json", "application/octet-stream") to path and reads
 * the answer: 0 with *status and its body in answer (reset first, at most DIST_HTTP_ANSWER_MAX), or
 * a negative errno with one line in err (the host does not resolve, refused, timed out, not HTTP).
 * The connection is kept for the next call when the answer allows it; a kept one the server closed
 * meanwhile is opened again once. */
int dist_http_post(dist_http_t *h, const char *path, const char *content_type, const char *body,
                   size_t len, uint64_t timeout_ns, int *status, buf_t *answer, char *err,
                   size_t errlen);
void dist_http_close(dist_http_t *h);

#endif
