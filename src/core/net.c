/* net: TCP socket set-up and plain reads and writes for the event-loop users, and the
 * listening sockets of a port as the kernel lists them (for a server that must own its port). */
#include "core/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"

int net_resolve(const char *host, uint16_t port, net_addr_t *out, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	char service[8];
	int rc;

	snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(err, errlen, "cannot resolve host '%s': %s", host,
		         rc ? gai_strerror(rc) : "no address");
		return -EINVAL;
	}
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

void net_addr_format(const net_addr_t *a, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&a->ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(out, len, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)&a->ss;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(out, len, "%s:%u", ip, ntohs(s4->sin_port));
	}
}

int net_connect(const net_addr_t *addr)
{
	int one = 1;
	int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 &&
	    errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int net_connect_result(int fd)
{
	int so_error = 0;
	socklen_t len = sizeof(so_error);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0)
		return -errno;
	return -so_error;
}

ssize_t net_read(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK ? NET_WANT_READ : -errno;
}

ssize_t net_write(int fd, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = send(fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK ? NET_WANT_WRITE : -errno;
}

/* ---- listeners, as the kernel lists them ---- */

/* One /proc/net/tcp{,6} file: hex address, port, state (0A = LISTEN) and inode per line. */
static int scan_listeners(const char *path, int family, uint16_t port, net_listener_t *out, int max,
                          int found)
{
	char line[512];
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT ? found : -errno; /* no IPv6 in this kernel: none there */
	if (!fgets(line, sizeof(line), f)) {             /* the header */
		fclose(f);
		return found;
	}
	while (fgets(line, sizeof(line), f)) {
		char hex[33];
		unsigned int lport, state;
		unsigned long inode;
		net_listener_t l = {.family = family};
		size_t words = family == AF_INET ? 1 : 4;

		if (sscanf(line,
		           " %*u: %32[0-9A-Fa-f]:%X %*[0-9A-Fa-f]:%*X %X %*X:%*X %*X:%*X %*X "
		           "%*u %*u %lu",
		           hex, &lport, &state, &inode) != 4 ||
		    state != 0x0A || lport != port || strlen(hex) != words * 8)
			continue;
		/* each 32-bit word is printed as the u32 the address bytes make in memory */
		for (size_t w = 0; w < words; w++) {
			char word[9];
			uint32_t v;

			memcpy(word, hex + w * 8, 8);
			word[8] = '\0';
			v = (uint32_t)strtoul(word, NULL, 16);
			memcpy(l.addr + w * 4, &v, 4);
		}
		l.inode = inode;
		if (found < max)
			out[found] = l;
		found++;
	}
	fclose(f);
	return found;
}

int net_listeners_on_port(uint16_t port, net_listener_t *out, int max)
{
	int n = scan_listeners("/proc/net/tcp", AF_INET, port, out, max, 0);

	return n < 0 ? n : scan_listeners("/proc/net/tcp6", AF_INET6, port, out, max, n);
}

static int is_wildcard(const net_listener_t *l)
{
	static const unsigned char zero[16];

	return memcmp(l->addr, zero, l->family == AF_INET ? 4 : 16) == 0;
}

int net_listeners_overlap(const net_listener_t *a, const net_listener_t *b)
{
	if (a->family == b->family)
		return is_wildcard(a) || is_wildcard(b) ||
		       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
	/* IPv4 and IPv6: only a dual-stack [::] listener takes the other's connections */
	return is_wildcard(a->family == AF_INET6 ? a : b);
}

void net_listener_of(const struct sockaddr *sa, net_listener_t *out)
{
	memset(out, 0, sizeof(*out));
	out->family = sa->sa_family;
	if (sa->sa_family == AF_INET6)
		memcpy(out->addr, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	else
		memcpy(out->addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
}

int net_wait(int fd, short events, uint64_t deadline_ns)
{
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		uint64_t now = clock_now_ns();
		int ms, rc;

		if (now >= deadline_ns)
			return -ETIMEDOUT;
		ms = (int)((deadline_ns - now + NS_PER_MS - 1) / NS_PER_MS);
		rc = poll(&p, 1, ms);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

int net_connect_by(const net_addr_t *addr, uint64_t deadline_ns)
{
	int fd = net_connect(addr), rc;

	if (fd < 0)
		return fd;
	rc = net_wait(fd, POLLOUT, deadline_ns);
	if (rc == 0)
		rc = net_connect_result(fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}
