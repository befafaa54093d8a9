/* net: non-blocking TCP sockets — name resolution, connect, listen, and the plain
 * read/write calls with one return convention shared with TLS (core/tls.h). */
#ifndef SURGE_NET_H
#define SURGE_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Return values of net_read/net_write and tls_read/tls_write besides byte counts and -errno. */
#define NET_WANT_READ  (-100000) /* try again when the socket is readable */
#define NET_WANT_WRITE (-100001) /* try again when the socket is writable */

typedef struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
} net_addr_t;

/* Resolves host:port once (blocking getaddrinfo), preferring what connects first on
 * loopback setups: the first address returned. 0 or -EINVAL with a message. */
int net_resolve(const char *host, uint16_t port, net_addr_t *out, char *err, size_t errlen);
/* "127.0.0.1:8080" / "[::1]:8080" for messages. */
void net_addr_format(const net_addr_t *a, char *out, size_t len);

/* A non-blocking, close-on-exec TCP socket with TCP_NODELAY, connect started.
 * Returns the fd (connection in progress or done) or -errno. */
int net_connect(const net_addr_t *addr);
/* After the socket turned writable: 0 when connected, else -errno of the failure. */
int net_connect_result(int fd);

/* Blocking use with a deadline (a client on its own thread: the scraper, a shard's sender).
 * net_wait: until fd is ready for `events` (POLLIN, POLLOUT) or the monotonic deadline
 * passes — 0, -ETIMEDOUT or -errno. net_connect_by: a connection to addr made by then —
 * the descriptor, or -ETIMEDOUT / -errno (nothing left open). */
int net_wait(int fd, short events, uint64_t deadline_ns);
int net_connect_by(const net_addr_t *addr, uint64_t deadline_ns);

/* A TCP socket listening in this network namespace, as /proc/net/tcp{,6} shows it. */
typedef struct net_listener {
	unsigned long inode;    /* the socket's inode: fstat(fd).st_ino of its owner's descriptor */
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network byte order; the first 4 bytes for AF_INET */
} net_listener_t;

/* The TCP sockets listening on port, on any address, up to max of them into out. Returns how
 * many there are (possibly more than max), or -errno when /proc/net/tcp cannot be read. */
int net_listeners_on_port(uint16_t port, net_listener_t *out, int max);
/* Whether a listener on a and one on b (same port) take some of the same connections: the
 * same address, or a wildcard (0.0.0.0, and :: which takes IPv4 too) covering the other. */
int net_listeners_overlap(const net_listener_t *a, const net_listener_t *b);
/* The form of a bound address (a sockaddr_in or sockaddr_in6) net_listeners_on_port uses. */
void net_listener_of(const struct sockaddr *sa, net_listener_t *out);

/* >0 bytes, 0 at end of stream, NET_WANT_READ, or -errno. */
ssize_t net_read(int fd, void *buf, size_t len);
/* >0 bytes, NET_WANT_WRITE, or -errno. */
ssize_t net_write(int fd, const void *buf, size_t len);

#endif
