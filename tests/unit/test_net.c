/* Tests for core/net: a stamped read says when its data reached the socket, however late it
 * is read. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/net.h"
#include "test.h"

/* A connected TCP pair on 127.0.0.1: fds[0] the client, fds[1] the accepted end. */
static int tcp_pair(int fds[2])
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		return -1;
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	fds[1] = accept(l, NULL, NULL);
	close(l);
	return fds[1] < 0 ? -1 : fcntl(fds[0], F_SETFL, O_NONBLOCK);
}

TEST(net_read_stamped_tells_when_the_data_came_not_when_it_was_read)
{
	int fds[2] = {-1, -1};
	char buf[16];
	uint64_t before, after, arrived = 0, read_at;
	struct timespec pause = {.tv_nsec = 20 * 1000000L};
	ssize_t n;

	CHECK_INT(tcp_pair(fds), 0);
	CHECK_INT(net_stamp_arrivals(fds[0]), 0);
	before = clock_now_ns();
	CHECK_INT(write(fds[1], "hello", 5), 5); /* loopback: delivered before write returns */
	after = clock_now_ns();
	nanosleep(&pause, NULL);
	n = net_read_stamped(fds[0], buf, sizeof(buf), &arrived);
	read_at = clock_now_ns();
	CHECK_INT(n, 5);
	/* the kernel's wall-clock stamp, shifted onto the monotonic clock: within the write (a
	 * microsecond of slack for the two clocks read one after the other) */
	CHECK(arrived + 1000 >= before);
	CHECK(arrived <= after + 1000);
	CHECK(read_at - arrived >= 20 * NS_PER_MS);
	/* nothing to read: no stamp, and the caller is told to wait */
	CHECK_INT(net_read_stamped(fds[0], buf, sizeof(buf), &arrived), NET_WANT_READ);
	close(fds[0]);
	close(fds[1]);
}
