/* loopback_server: see loopback_server.h. */
#include "loopback_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *serve(void *arg)
{
	static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	loopback_server_t *s = arg;
	struct pollfd fds[LOOPBACK_SERVER_FDS] = {{.fd = s->listen_fd, .events = POLLIN}};
	int n = 1;
	char buf[4096];

	while (!atomic_load(&s->stop)) {
		if (poll(fds, (nfds_t)n, 50) <= 0)
			continue;
		if (fds[0].revents & POLLIN) {
			int fd = accept(s->listen_fd, NULL, NULL);

			if (fd >= 0 && n < LOOPBACK_SERVER_FDS)
				fds[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
			else if (fd >= 0)
				close(fd);
		}
		for (int i = 1; i < n; i++) {
			ssize_t got;

			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			got = read(fds[i].fd, buf, sizeof(buf));
			if (got <= 0 || write(fds[i].fd, reply, sizeof(reply) - 1) < 0) {
				close(fds[i].fd);
				fds[i--] = fds[--n];
			}
		}
	}
	for (int i = 0; i < n; i++)
		close(fds[i].fd);
	return NULL;
}

int loopback_server_start(loopback_server_t *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s->listen_fd, 64) < 0 ||
	    getsockname(s->listen_fd, (struct sockaddr *)&a, &len) < 0) {
		if (s->listen_fd >= 0)
			close(s->listen_fd);
		return -1;
	}
	s->port = ntohs(a.sin_port);
	if (pthread_create(&s->tid, NULL, serve, s) != 0) {
		close(s->listen_fd);
		return -1;
	}
	return 0;
}

void loopback_server_stop(loopback_server_t *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->tid, NULL);
}
