/* Tests for the loop's two backends (core/loop_io.c, loop_epoll.c, loop_uring.c): each one's
 * readiness is level-triggered and follows loop_io_update; io_uring's streams deliver bytes,
 * EOF and sends, survive a stop with requests in the kernel, and count running out of
 * provided buffers without losing a byte; the choice falls back to epoll, with its reason,
 * when a seccomp filter forbids io_uring_setup, and an explicit uring then fails. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/loop.h"
#include "test.h"

TEST(loop_io_parse_names_the_backends)
{
	enum loop_io_choice c = LOOP_IO_EPOLL;

	CHECK_INT(loop_io_parse("auto", &c), 0);
	CHECK_INT(c, LOOP_IO_AUTO);
	CHECK_INT(loop_io_parse("uring", &c), 0);
	CHECK_INT(c, LOOP_IO_URING);
	CHECK_INT(loop_io_parse("io_uring", &c), 0);
	CHECK_INT(c, LOOP_IO_URING);
	CHECK_INT(loop_io_parse("epoll", &c), 0);
	CHECK_INT(c, LOOP_IO_EPOLL);
	CHECK_INT(loop_io_parse("kqueue", &c), -EINVAL);
	CHECK_INT(loop_io_parse("", &c), -EINVAL);
}

/* Whether this host lets a process use io_uring: the io_uring tests say so and pass when it
 * does not (the fallback tests below prove epoll there). */
static bool uring_here(const char *test)
{
	char why[200];

	if (loop_io_choose(LOOP_IO_URING, why, sizeof(why)) == 0)
		return true;
	printf("    %s: io_uring cannot be used here (%s): only epoll is tested\n", test, why);
	loop_io_choose(LOOP_IO_AUTO, NULL, 0);
	return false;
}

/* ---- readiness, under each backend ---- */

struct level {
	loop_io_t io;
	int reads, writes, turns;
	loop_timer_t stop;
};

/* Reads one byte per event: the second byte must bring the handle back (level-triggered). */
static void on_level(loop_t *loop, loop_io_t *io, uint32_t events)
{
	struct level *l = io->ctx;
	char c;

	if (events & LOOP_READ) {
		if (read(io->fd, &c, 1) == 1)
			l->reads++;
		if (l->reads == 2) /* now ask for writability instead */
			loop_io_update(loop, io, LOOP_WRITE);
	}
	if (events & LOOP_WRITE) {
		l->writes++;
		loop_io_update(loop, io, 0); /* nothing more: no event may come */
		loop_timer_start(loop, &l->stop, loop_now(loop) + 20 * NS_PER_MS);
	}
}

static void on_level_stop(loop_t *loop, loop_timer_t *t)
{
	loop_stop(loop);
}

static void readiness_is_level_triggered(enum loop_io_choice choice, const char *name)
{
	struct level l = {0};
	loop_t *loop;
	int fds[2];

	if (choice == LOOP_IO_URING && !uring_here(name))
		return;
	CHECK_INT(loop_io_choose(choice, NULL, 0), 0);
	loop = loop_new();
	CHECK(loop != NULL);
	if (!loop)
		return;
	CHECK_STR(loop_backend_name(loop), name);
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
	loop_timer_init(&l.stop, on_level_stop, &l);
	CHECK_INT(loop_io_start(loop, &l.io, fds[0], LOOP_READ, on_level, &l), 0);
	CHECK_INT(write(fds[1], "ab", 2), 2);
	CHECK_INT(loop_run(loop), 0);
	CHECK_INT(l.reads, 2);
	CHECK_INT(l.writes, 1);
	loop_io_stop(loop, &l.io);
	close(fds[0]);
	close(fds[1]);
	loop_free(loop);
	loop_io_choose(LOOP_IO_AUTO, NULL, 0);
}

/* A handle's events changed while it waits (no event came in between): first from readable
 * (nothing to read) to a hang-up only, then back to readable with bytes already there — as
 * surge serve does around a delayed answer. The bytes must be seen. */
struct armed {
	loop_io_t io;
	loop_timer_t step;
	int fds[2], stage, reads;
};

static void on_armed_io(loop_t *loop, loop_io_t *io, uint32_t events)
{
	struct armed *a = io->ctx;
	char c;

	CHECK_INT(a->stage, 3); /* nothing may come before the bytes and the update */
	if ((events & LOOP_READ) && read(io->fd, &c, 1) == 1)
		a->reads++;
	loop_stop(loop);
}

static void on_armed_step(loop_t *loop, loop_timer_t *t)
{
	struct armed *a = t->ctx;

	if (a->stage == 0) { /* the read poll is in the kernel now: only a hang-up, please */
		loop_io_update(loop, &a->io, LOOP_PEER_CLOSED);
		a->stage = 1;
		loop_timer_start(loop, t, loop_now(loop) + 5 * NS_PER_MS);
	} else if (a->stage == 1) { /* bytes come while only a hang-up is asked: no event */
		CHECK_INT(write(a->fds[1], "x", 1), 1);
		loop_timer_start(loop, t, loop_now(loop) + 5 * NS_PER_MS);
		a->stage = 2;
	} else if (a->stage == 2) { /* readable again: the byte is there */
		loop_io_update(loop, &a->io, LOOP_READ);
		loop_timer_start(loop, t, loop_now(loop) + 2 * NS_PER_S); /* the bound */
		a->stage = 3;
	} else {
		loop_stop(loop); /* 2 s and the byte was not seen: reads stays 0 */
	}
}

static void update_while_armed(enum loop_io_choice choice, const char *name)
{
	struct armed a = {0};
	loop_t *loop;

	if (choice == LOOP_IO_URING && !uring_here(name))
		return;
	CHECK_INT(loop_io_choose(choice, NULL, 0), 0);
	loop = loop_new();
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a.fds), 0);
	CHECK_INT(loop_io_start(loop, &a.io, a.fds[0], LOOP_READ, on_armed_io, &a), 0);
	loop_timer_init(&a.step, on_armed_step, &a);
	loop_timer_start(loop, &a.step, clock_now_ns() + 5 * NS_PER_MS);
	CHECK_INT(loop_run(loop), 0);
	CHECK_INT(a.reads, 1);
	loop_io_stop(loop, &a.io);
	close(a.fds[0]);
	close(a.fds[1]);
	loop_free(loop);
	loop_io_choose(LOOP_IO_AUTO, NULL, 0);
}

TEST(loop_epoll_events_changed_while_waiting_are_followed)
{
	update_while_armed(LOOP_IO_EPOLL, "epoll");
}

TEST(loop_uring_events_changed_while_waiting_are_followed)
{
	update_while_armed(LOOP_IO_URING, "io_uring");
}

TEST(loop_epoll_readiness_is_level_triggered_and_follows_updates)
{
	readiness_is_level_triggered(LOOP_IO_EPOLL, "epoll");
}

TEST(loop_uring_readiness_is_level_triggered_and_follows_updates)
{
	readiness_is_level_triggered(LOOP_IO_URING, "io_uring");
}

/* ---- io_uring streams ---- */

struct stream {
	loop_io_t io;
	size_t received;
	int sent, eof, errors;
	size_t expect;
};

static void on_stream(loop_t *loop, loop_io_t *io, enum loop_stream_kind kind, int res,
                      const char *data)
{
	struct stream *s = io->ctx;

	if (kind == LOOP_STREAM_SENT) {
		CHECK_INT(res, 5);
		s->sent++;
		return;
	}
	if (res > 0) {
		for (int i = 0; i < res; i++)
			CHECK_INT((unsigned char)data[i],
			          (unsigned char)('a' + (s->received + (size_t)i) % 26));
		s->received += (size_t)res;
		return;
	}
	if (res == 0)
		s->eof++;
	else
		s->errors++;
	loop_stop(loop);
}

static void fill_alphabet(char *p, size_t n, size_t from)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)('a' + (from + i) % 26);
}

TEST(loop_uring_stream_sends_receives_and_sees_eof)
{
	struct stream s = {0};
	char buf[64], data[100];
	loop_t *loop;
	int fds[2];

	if (!uring_here(__func__))
		return;
	loop = loop_new();
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
	CHECK_INT(loop_io_start(loop, &s.io, fds[0], LOOP_READ, NULL, &s), 0);
	CHECK(loop_stream_supported(loop));
	CHECK_INT(loop_stream_start(loop, &s.io, on_stream, 0), 0);
	CHECK_INT(loop_stream_send(loop, &s.io, "hello", 5), 0);
	CHECK_INT(loop_stream_send(loop, &s.io, "again", 5), -EBUSY); /* one at a time */
	fill_alphabet(data, sizeof(data), 0);
	CHECK_INT(write(fds[1], data, sizeof(data)), (long)sizeof(data));
	shutdown(fds[1], SHUT_WR);
	CHECK_INT(loop_run(loop), 0);
	CHECK_INT(s.sent, 1);
	CHECK_INT(s.received, sizeof(data));
	CHECK_INT(s.eof, 1);
	CHECK_INT(read(fds[1], buf, sizeof(buf)), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	loop_io_stop(loop, &s.io);
	close(fds[0]);
	close(fds[1]);
	loop_free(loop);
	loop_io_choose(LOOP_IO_AUTO, NULL, 0);
}

static void on_tick(loop_t *loop, loop_timer_t *t)
{
	int *left = t->ctx;

	if (--*left == 0)
		loop_stop(loop);
	else
		loop_timer_start(loop, t, loop_now(loop) + NS_PER_MS);
}

/* A stream stopped with its receive and a send in the kernel, its handle freed and its fd
 * closed at once: the cancelled requests' completions must not reach the freed handle (ASan
 * sees it), and a new handle on the reused slot gets only its own events. */
TEST(loop_uring_stream_stopped_with_requests_out_is_forgotten)
{
	loop_t *loop;
	struct stream *gone = calloc(1, sizeof(*gone)), s = {0};
	loop_timer_t tick;
	int fds[2], more[2], left = 20;
	static char big[1 << 20];

	if (!uring_here(__func__))
		return;
	loop = loop_new();
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
	CHECK_INT(loop_io_start(loop, &gone->io, fds[0], LOOP_READ, NULL, gone), 0);
	CHECK_INT(loop_stream_start(loop, &gone->io, on_stream, 0), 0);
	/* the socket full first: the send waits in the kernel */
	while (write(fds[0], big, sizeof(big)) > 0)
		;
	CHECK_INT(loop_stream_send(loop, &gone->io, big, sizeof(big)), 0);
	loop_timer_init(&tick, on_tick, &left);
	loop_timer_start(loop, &tick, clock_now_ns() + NS_PER_MS);
	left = 3;
	CHECK_INT(loop_run(loop), 0); /* the receive and the send are in the kernel now */
	loop_io_stop(loop, &gone->io);
	close(fds[0]);
	free(gone);
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, more), 0);
	CHECK_INT(loop_io_start(loop, &s.io, more[0], LOOP_READ, NULL, &s), 0);
	CHECK_INT(loop_stream_start(loop, &s.io, on_stream, 0), 0);
	left = 20;
	loop_timer_start(loop, &tick, clock_now_ns() + NS_PER_MS);
	CHECK_INT(loop_run(loop), 0);
	CHECK_INT(s.received, 0);
	CHECK_INT(s.sent, 0);
	CHECK_INT(s.errors, 0);
	loop_io_stop(loop, &s.io);
	close(more[0]);
	close(more[1]);
	close(fds[1]);
	loop_free(loop);
	loop_io_choose(LOOP_IO_AUTO, NULL, 0);
}

/* Runs n turns of the loop, each bounded by a 1 ms timer. */
static void run_turns(loop_t *loop, int n)
{
	loop_timer_t tick;
	int left = 1;

	loop_timer_init(&tick, on_tick, &left);
	for (int i = 0; i < n; i++) {
		left = 1;
		loop_timer_start(loop, &tick, clock_now_ns() + NS_PER_MS);
		loop_run(loop);
	}
}

/* A paused stream leaves what comes next in the socket (TCP holds the peer back), and gets it
 * all, in order, once resumed; bytes received before the pause took effect still come. */
TEST(loop_uring_paused_stream_leaves_bytes_in_the_socket_until_resumed)
{
	struct stream s = {0};
	char data[3000];
	loop_t *loop;
	int fds[2], waiting = 0;

	if (!uring_here(__func__))
		return;
	loop = loop_new();
	fill_alphabet(data, sizeof(data), 0);
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
	CHECK_INT(loop_io_start(loop, &s.io, fds[0], LOOP_READ, NULL, &s), 0);
	CHECK_INT(loop_stream_pause(loop, &s.io, true), -EINVAL); /* not a stream yet */
	CHECK_INT(loop_stream_start(loop, &s.io, on_stream, 0), 0);
	run_turns(loop, 2);
	CHECK_INT(write(fds[1], data, 1000), 1000);
	run_turns(loop, 3);
	CHECK_INT(s.received, 1000);
	CHECK_INT(loop_stream_pause(loop, &s.io, true), 0);
	CHECK_INT(loop_stream_pause(loop, &s.io, true), 0); /* twice: the same */
	run_turns(loop, 3);                                 /* the cancel goes in */
	CHECK_INT(write(fds[1], data + 1000, 2000), 2000);
	run_turns(loop, 5);
	CHECK_INT(s.received, 1000);
	CHECK_INT(ioctl(fds[0], FIONREAD, &waiting), 0);
	CHECK_INT(waiting, 2000);
	CHECK(!loop_stream_pending(loop, &s.io));
	CHECK_INT(loop_stream_pause(loop, &s.io, false), 0);
	shutdown(fds[1], SHUT_WR);
	run_turns(loop, 5);
	CHECK_INT(s.received, 3000); /* on_stream checked the order byte by byte */
	CHECK_INT(s.eof, 1);
	CHECK_INT(s.errors, 0);
	loop_io_stop(loop, &s.io);
	close(fds[0]);
	close(fds[1]);
	loop_free(loop);
	loop_io_choose(LOOP_IO_AUTO, NULL, 0);
}

/* LOOP_STREAM_ONE_RECEIVE: paused in the callback of a delivery, a stream gets nothing more
 * however much waits (one receive was out, and it is the one delivered); resumed, the rest
 * comes in order, one buffer at a time. */
struct once {
	struct stream s;
	int deliveries;
	bool pause_at_first;
};

static void on_once(loop_t *loop, loop_io_t *io, enum loop_stream_kind kind, int res,
                    const char *data)
{
	struct once *o = io->ctx;

	if (kind == LOOP_STREAM_DATA && res > 0) {
		o->deliveries++;
		CHECK(res <= LOOP_STREAM_BUFFER);
		if (o->pause_at_first && o->deliveries == 1)
			CHECK_INT(loop_stream_pause(loop, io, true), 0);
	}
	on_stream(loop, io, kind, res, data);
}

TEST(loop_uring_one_receive_stream_paused_gets_nothing_after_its_delivery)
{
	static char data[200 * 1024];
	struct once o = {.pause_at_first = true};
	loop_t *loop;
	int fds[2], waiting = 0, size = 512 * 1024;

	if (!uring_here(__func__))
		return;
	loop = loop_new();
	fill_alphabet(data, sizeof(data), 0);
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	CHECK_INT(loop_io_start(loop, &o.s.io, fds[0], LOOP_READ, NULL, &o), 0);
	CHECK_INT(loop_stream_start(loop, &o.s.io, on_once, LOOP_STREAM_ONE_RECEIVE), 0);
	run_turns(loop, 2);
	CHECK_INT(write(fds[1], data, sizeof(data)), (long)sizeof(data));
	run_turns(loop, 5);
	CHECK_INT(o.deliveries, 1);
	CHECK_INT(ioctl(fds[0], FIONREAD, &waiting), 0);
	CHECK_INT((size_t)waiting + o.s.received, sizeof(data));
	CHECK_INT(loop_stream_pause(loop, &o.s.io, false), 0);
	shutdown(fds[1], SHUT_WR);
	for (int turn = 0; turn < 200 && !o.s.eof; turn++)
		run_turns(loop, 1);
	CHECK_INT(o.s.received, sizeof(data)); /* on_stream checked the order */
	CHECK(o.deliveries >= (int)(sizeof(data) / LOOP_STREAM_BUFFER));
	CHECK_INT(o.s.eof, 1);
	loop_io_stop(loop, &o.s.io);
	close(fds[0]);
	close(fds[1]);
	loop_free(loop);
	loop_io_choose(LOOP_IO_AUTO, NULL, 0);
}

/* A pause and a resume in the same turn, before the cancel's completion came: the receive is
 * made again by that completion, and nothing is lost or doubled. */
TEST(loop_uring_stream_resumed_before_its_cancel_completes_receives_again)
{
	struct stream s = {0};
	char data[500];
	loop_t *loop;
	int fds[2];

	if (!uring_here(__func__))
		return;
	loop = loop_new();
	fill_alphabet(data, sizeof(data), 0);
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
	CHECK_INT(loop_io_start(loop, &s.io, fds[0], LOOP_READ, NULL, &s), 0);
	CHECK_INT(loop_stream_start(loop, &s.io, on_stream, 0), 0);
	run_turns(loop, 2);
	CHECK_INT(loop_stream_pause(loop, &s.io, true), 0);
	CHECK_INT(loop_stream_pause(loop, &s.io, false), 0);
	run_turns(loop, 3);
	CHECK_INT(write(fds[1], data, sizeof(data)), (long)sizeof(data));
	run_turns(loop, 3);
	CHECK_INT(s.received, sizeof(data));
	CHECK_INT(s.errors, 0);
	loop_io_stop(loop, &s.io);
	close(fds[0]);
	close(fds[1]);
	loop_free(loop);
	loop_io_choose(LOOP_IO_AUTO, NULL, 0);
}

/* loop_stream_pending: bytes received for a stream and not yet delivered. Two streams' bytes
 * come in one batch: while the first is dispatched, the second's are pending; once
 * delivered, not. */
struct pending_pair {
	struct stream a, b;
	int a_saw_b_pending, b_saw_itself_pending, a_calls;
};

static void on_pending_a(loop_t *loop, loop_io_t *io, enum loop_stream_kind kind, int res,
                         const char *data)
{
	struct pending_pair *p = io->ctx;

	if (kind == LOOP_STREAM_DATA && res > 0) {
		p->a_calls++;
		p->a_saw_b_pending += loop_stream_pending(loop, &p->b.io);
	}
}

static void on_pending_b(loop_t *loop, loop_io_t *io, enum loop_stream_kind kind, int res,
                         const char *data)
{
	struct pending_pair *p = io->ctx;

	if (kind == LOOP_STREAM_DATA && res > 0) {
		p->b.received += (size_t)res;
		p->b_saw_itself_pending += loop_stream_pending(loop, io);
	}
}

TEST(loop_uring_stream_pending_sees_bytes_not_yet_delivered)
{
	struct pending_pair p = {0};
	loop_t *loop;
	int fa[2], fb[2];

	if (!uring_here(__func__))
		return;
	loop = loop_new();
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fa), 0);
	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fb), 0);
	CHECK_INT(loop_io_start(loop, &p.a.io, fa[0], LOOP_READ, NULL, &p), 0);
	CHECK_INT(loop_io_start(loop, &p.b.io, fb[0], LOOP_READ, NULL, &p), 0);
	CHECK(!loop_stream_pending(loop, &p.a.io)); /* not a stream */
	CHECK_INT(loop_stream_start(loop, &p.a.io, on_pending_a, 0), 0);
	CHECK_INT(loop_stream_start(loop, &p.b.io, on_pending_b, 0), 0);
	run_turns(loop, 2);
	/* a's bytes first, then b's: both completions wait for the next wait, a's ahead */
	CHECK_INT(write(fa[1], "aaaa", 4), 4);
	CHECK_INT(write(fb[1], "bbbb", 4), 4);
	run_turns(loop, 3);
	CHECK_INT(p.a_calls, 1);
	CHECK_INT(p.b.received, 4);
	CHECK_INT(p.a_saw_b_pending, 1);
	CHECK_INT(p.b_saw_itself_pending, 0);
	CHECK(!loop_stream_pending(loop, &p.b.io));
	loop_io_stop(loop, &p.a.io);
	loop_io_stop(loop, &p.b.io);
	close(fa[0]);
	close(fa[1]);
	close(fb[0]);
	close(fb[1]);
	loop_free(loop);
	loop_io_choose(LOOP_IO_AUTO, NULL, 0);
}

#define MANY_STREAMS 40
#define STREAM_BYTES (160 * 1024)

/* 40 streams with 160 KiB each waiting need 400 of the loop's 256 provided buffers of 16 KiB
 * in one go: receives run out (counted), are made again once buffers come back, and every
 * byte arrives in order. */
TEST(loop_uring_streams_running_out_of_buffers_lose_nothing)
{
	static struct stream s[MANY_STREAMS];
	static char data[STREAM_BYTES];
	static int fds[MANY_STREAMS][2];
	loop_io_stats_t stats;
	loop_timer_t tick;
	loop_t *loop;
	int left = 2000, done = 0;

	if (!uring_here(__func__))
		return;
	loop = loop_new();
	fill_alphabet(data, sizeof(data), 0);
	for (int i = 0; i < MANY_STREAMS; i++) {
		int size = 256 * 1024;

		memset(&s[i], 0, sizeof(s[i]));
		CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, fds[i]), 0);
		setsockopt(fds[i][1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		CHECK_INT(loop_io_start(loop, &s[i].io, fds[i][0], LOOP_READ, NULL, &s[i]), 0);
		CHECK_INT(loop_stream_start(loop, &s[i].io, on_stream, 0), 0);
	}
	/* the receives are made, then all the data comes at once */
	loop_timer_init(&tick, on_tick, &left);
	left = 1;
	loop_timer_start(loop, &tick, clock_now_ns());
	CHECK_INT(loop_run(loop), 0);
	for (int i = 0; i < MANY_STREAMS; i++) {
		size_t off = 0;

		while (off < sizeof(data)) { /* blocking: the socket takes it all */
			ssize_t n = write(fds[i][1], data + off, sizeof(data) - off);

			if (n <= 0)
				break;
			off += (size_t)n;
		}
		CHECK_INT(off, sizeof(data));
		shutdown(fds[i][1], SHUT_WR);
	}
	for (int turn = 0; turn < 2000 && done < MANY_STREAMS; turn++) {
		left = 1;
		loop_timer_start(loop, &tick, clock_now_ns() + 100 * NS_PER_US);
		loop_run(loop);
		done = 0;
		for (int i = 0; i < MANY_STREAMS; i++)
			done += s[i].eof;
	}
	CHECK_INT(done, MANY_STREAMS);
	for (int i = 0; i < MANY_STREAMS; i++) {
		CHECK_INT(s[i].received, STREAM_BYTES);
		CHECK_INT(s[i].errors, 0);
		loop_io_stop(loop, &s[i].io);
		close(fds[i][0]);
		close(fds[i][1]);
	}
	loop_io_stats(loop, &stats);
	CHECK(stats.recv_no_buffer > 0);
	loop_free(loop);
	loop_io_choose(LOOP_IO_AUTO, NULL, 0);
}

/* ---- the choice, with io_uring forbidden ---- */

/* A seccomp filter that fails io_uring_setup with err, as a container runtime's profile does. */
static int forbid_io_uring(int err)
{
	struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0 ? -errno : 0;
}

/* In a child (the filter stays with the process): exit 0 when every expectation held, else
 * the number of the first that did not. */
static int fallback_in_child(int err, const char *reason_part)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		char why[200] = "";
		loop_t *loop;
		loop_timer_t tick;
		int left = 2;

		if (forbid_io_uring(err) < 0)
			_exit(10);
		if (loop_io_choose(LOOP_IO_URING, why, sizeof(why)) != -err)
			_exit(11);
		if (!strstr(why, reason_part))
			_exit(12);
		if (loop_io_choose(LOOP_IO_AUTO, NULL, 0) != 0)
			_exit(13);
		if (strcmp(loop_io_backend(), "epoll") != 0)
			_exit(14);
		if (!strstr(loop_io_fallback(), reason_part))
			_exit(15);
		if (!(loop = loop_new()) || strcmp(loop_backend_name(loop), "epoll") != 0)
			_exit(16);
		loop_timer_init(&tick, on_tick, &left);
		loop_timer_start(loop, &tick, clock_now_ns() + NS_PER_MS);
		if (loop_run(loop) != 0 || left != 0)
			_exit(17);
		loop_free(loop);
		/* asked for epoll, there is no fallback to explain */
		if (loop_io_choose(LOOP_IO_EPOLL, NULL, 0) != 0 || *loop_io_fallback())
			_exit(18);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(loop_io_falls_back_to_epoll_when_seccomp_forbids_io_uring)
{
	CHECK_INT(fallback_in_child(EPERM, "Operation not permitted"), 0);
	CHECK_INT(fallback_in_child(ENOSYS, "Function not implemented"), 0);
}

/* auto agrees with what an explicit uring finds: io_uring where it works, else epoll with
 * the reason */
TEST(loop_io_auto_uses_io_uring_where_the_kernel_allows_it)
{
	char why[200] = "";
	bool uring = loop_io_choose(LOOP_IO_URING, why, sizeof(why)) == 0;

	CHECK_INT(loop_io_choose(LOOP_IO_AUTO, NULL, 0), 0);
	CHECK_STR(loop_io_backend(), uring ? "io_uring" : "epoll");
	CHECK_STR(loop_io_fallback(), uring ? "" : why);
}
