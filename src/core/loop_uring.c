/* loop_uring: the io_uring backend. Readiness is a one-shot poll request per handle, re-armed
 * after its event is dispatched; streams are a multishot receive (or one receive at a time,
 * LOOP_STREAM_ONE_RECEIVE) into a ring of provided buffers, and a send request each. Every
 * request made in a turn goes to the kernel in the one io_uring_enter that also waits for the next
 * events, so a turn costs one system call however many handles it served (docs/architecture.md,
 * "The io_uring backend").
 *
 * A request's user_data names a slot of this backend (index, generation, kind), never the
 * handle itself: a handle may be stopped and freed while its requests are still in the
 * kernel, and a slot is reused only once every request made for it has completed. */
#include "core/loop_backend.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

/* The submission queue: a turn that queues more requests than this submits the first ones
 * early (a system call, counted as sq_full_submits). */
#define URING_SQ_ENTRIES 512
/* Completions the kernel may hold for us; past it they wait in the kernel's overflow list
 * (IORING_FEAT_NODROP), counted by the kernel as overflow. */
#define URING_CQ_ENTRIES 8192
/* Provided buffers for streams' receives, made on the first stream: a receive that finds none
 * free ends with ENOBUFS (counted as recv_no_buffer) and is made again once the buffers of the
 * turn before are given back. */
#define URING_BUFFERS      256 /* a power of two (the ring's mask) */
#define URING_BUFFER_SIZE  LOOP_STREAM_BUFFER
#define URING_BUFFER_GROUP 1
#define BUFFERS_BYTES      ((size_t)URING_BUFFERS * URING_BUFFER_SIZE)

/* The counts are written by the loop's thread only and may be read by another (serve's
 * /metrics): relaxed loads and stores, plain moves on x86, no lock. */
#define STAT_ADD(b, field)                                                                         \
	__atomic_store_n(&(b)->stats.field,                                                        \
	                 __atomic_load_n(&(b)->stats.field, __ATOMIC_RELAXED) + 1,                 \
	                 __ATOMIC_RELAXED)

enum kind { KIND_IGNORE = 0, KIND_POLL = 1, KIND_RECV = 2, KIND_SEND = 3 };

#define NO_SLOT UINT32_MAX

struct slot {
	loop_io_t *io;      /* NULL once stopped; the slot is free again when inflight is 0 */
	uint32_t gen;       /* bumped on each reuse: user_data carries it */
	uint32_t poll_mask; /* the armed poll request's mask, 0 when none is armed */
	uint32_t arm_next;  /* on the arm list: the next slot, or NO_SLOT */
	uint16_t inflight;  /* requests made for the slot whose last completion has not come */
	bool on_arm_list;
	bool streaming;   /* a stream: receives instead of polls */
	bool recv_armed;  /* the receive is in the kernel */
	bool recv_over;   /* EOF or an error came: the receive is not made again */
	bool recv_paused; /* the owner takes no input now: the receive is not made again */
	bool recv_once;   /* LOOP_STREAM_ONE_RECEIVE: a receive per delivery, not a multishot */
	bool sending;
	bool poll_cancelling; /* the armed poll is being cancelled, to be made again */
};

typedef struct uring_backend {
	struct io_uring ring;
	struct slot *slots;
	uint32_t slot_len, slot_cap;
	uint32_t free_head; /* free slots, linked through arm_next */
	uint32_t arm_head, arm_tail;

	struct io_uring_buf_ring *buf_ring; /* NULL until the first stream */
	char *buffers;
	int stream_error;               /* -errno once setting the buffers up failed: no streams */
	uint16_t used[LOOP_MAX_EVENTS]; /* buffers handed out in the last batch */
	int used_len;

	pthread_t runner; /* the thread that waits on the ring (set by its first wait) */
	bool ran;

	loop_io_stats_t stats;
} uring_backend_t;

/* Whether the calling thread is the ring's runner: only it enters the kernel (below). */
static bool is_runner(const uring_backend_t *b)
{
	return b->ran && pthread_equal(b->runner, pthread_self());
}

static uint64_t user_data(const uring_backend_t *b, uint32_t idx, enum kind k)
{
	return (uint64_t)b->slots[idx].gen << 32 | (uint64_t)idx << 2 | k;
}

static struct io_uring_sqe *get_sqe(uring_backend_t *b)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	if (!sqe) {
		/* the queue is full: hand it to the kernel now and go on */
		STAT_ADD(b, sq_full_submits);
		io_uring_submit(&b->ring);
		sqe = io_uring_get_sqe(&b->ring);
	}
	return sqe;
}

struct ring_job {
	struct io_uring *ring;
	struct io_uring_params p;
	int rc;
};

static void *ring_setup(void *arg)
{
	struct ring_job *job = arg;

	memset(&job->p, 0, sizeof(job->p));
	/* COOP_TASKRUN: completions are run when we enter the kernel anyway, not by an
	 * interrupt of whatever the thread is doing (5.19; without it on older kernels) */
	job->p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
	job->p.cq_entries = URING_CQ_ENTRIES;
	job->rc = io_uring_queue_init_params(URING_SQ_ENTRIES, job->ring, &job->p);
	if (job->rc == -EINVAL) {
		memset(&job->p, 0, sizeof(job->p));
		job->p.flags = IORING_SETUP_CQSIZE;
		job->p.cq_entries = URING_CQ_ENTRIES;
		job->rc = io_uring_queue_init_params(URING_SQ_ENTRIES, job->ring, &job->p);
	}
	return NULL;
}

/* The ring is set up by a thread that ends at once. The kernel remembers every thread that
 * made or entered a ring and, when the ring is closed, interrupts each one still alive (task
 * work sent as a signal: a blocking recv with SO_RCVTIMEO, a sigtimedwait, an epoll_wait
 * return EINTR some milliseconds later). Loops are made on the main thread and run on their
 * own: made there, every ring closed would interrupt the main thread. With a helper that
 * ended, only the loop's own thread enters the ring, and the kernel cancels its requests
 * and forgets it when it exits (loop_uring.c never enters a ring from another thread). */
static void *uring_create(int *err)
{
	uring_backend_t *b = calloc(1, sizeof(*b));
	struct ring_job job = {.ring = NULL};
	pthread_t helper;
	int rc;

	if (!b) {
		*err = -ENOMEM;
		return NULL;
	}
	job.ring = &b->ring;
	if (pthread_create(&helper, NULL, ring_setup, &job) == 0)
		pthread_join(helper, NULL);
	else
		ring_setup(&job); /* no thread to spare: here, interrupts and all */
	rc = job.rc;
	if (rc < 0)
		goto fail;
	/* a wait with a timeout and no timeout request (5.11), and no completion ever lost */
	if (!(job.p.features & IORING_FEAT_EXT_ARG) || !(job.p.features & IORING_FEAT_NODROP)) {
		io_uring_queue_exit(&b->ring);
		rc = -EOPNOTSUPP;
		goto fail;
	}
	b->free_head = b->arm_head = b->arm_tail = NO_SLOT;
	return b;
fail:
	*err = rc;
	free(b);
	return NULL;
}

static int slot_take(uring_backend_t *b, uint32_t *out)
{
	uint32_t idx;

	if (b->free_head != NO_SLOT) {
		idx = b->free_head;
		b->free_head = b->slots[idx].arm_next;
	} else {
		if (b->slot_len == b->slot_cap) {
			uint32_t cap = b->slot_cap ? b->slot_cap * 2 : 64;
			struct slot *s = realloc(b->slots, cap * sizeof(*s));

			if (!s || cap > (1u << 29)) {
				if (s)
					b->slots = s;
				return -ENOMEM;
			}
			b->slots = s;
			b->slot_cap = cap;
		}
		idx = b->slot_len++;
		b->slots[idx].gen = 0;
	}
	uint32_t gen = b->slots[idx].gen + 1;

	memset(&b->slots[idx], 0, sizeof(b->slots[idx]));
	b->slots[idx].gen = gen;
	b->slots[idx].arm_next = NO_SLOT;
	*out = idx;
	return 0;
}

/* A stopped slot goes back once its last request has completed (and it is off the list). */
static void slot_maybe_free(uring_backend_t *b, uint32_t idx)
{
	struct slot *s = &b->slots[idx];

	if (s->io || s->inflight || s->on_arm_list)
		return;
	s->arm_next = b->free_head;
	b->free_head = idx;
}

static void arm_later(uring_backend_t *b, uint32_t idx)
{
	struct slot *s = &b->slots[idx];

	if (s->on_arm_list)
		return;
	s->on_arm_list = true;
	s->arm_next = NO_SLOT;
	if (b->arm_tail == NO_SLOT)
		b->arm_head = idx;
	else
		b->slots[b->arm_tail].arm_next = idx;
	b->arm_tail = idx;
}

static uint32_t to_poll(uint32_t events)
{
	return (events & LOOP_READ ? POLLIN | POLLRDHUP : 0) | (events & LOOP_WRITE ? POLLOUT : 0) |
	       (events & LOOP_PEER_CLOSED ? POLLRDHUP : 0);
}

static uint32_t from_poll(uint32_t e)
{
	uint32_t out = 0;

	if (e & POLLIN)
		out |= LOOP_READ;
	if (e & POLLRDHUP)
		out |= LOOP_READ | LOOP_HUP;
	if (e & POLLOUT)
		out |= LOOP_WRITE;
	if (e & (POLLERR | POLLHUP))
		out |= LOOP_HUP | LOOP_READ | LOOP_WRITE;
	return out;
}

static int uring_add(void *v, loop_io_t *io, uint32_t events)
{
	uring_backend_t *b = v;
	uint32_t idx;
	int rc = slot_take(b, &idx);

	if (rc < 0)
		return rc;
	b->slots[idx].io = io;
	io->backend_slot = idx;
	arm_later(b, idx); /* the poll is made when the loop next waits */
	return 0;
}

static void cancel(uring_backend_t *b, uint32_t idx, enum kind k)
{
	struct io_uring_sqe *sqe = get_sqe(b);

	if (!sqe)
		return; /* cannot happen with a submitted queue; the request then ends on its own */
	io_uring_prep_cancel64(sqe, user_data(b, idx, k), 0);
	io_uring_sqe_set_data64(sqe, KIND_IGNORE);
}

static int uring_modify(void *v, loop_io_t *io, uint32_t events)
{
	uring_backend_t *b = v;
	uint32_t idx = io->backend_slot;
	struct slot *s = &b->slots[idx];

	if (s->streaming)
		return 0;
	if (!s->poll_mask) {
		arm_later(b, idx); /* made with the new events when the loop next waits */
		return 0;
	}
	if (s->poll_mask == to_poll(events) || s->poll_cancelling)
		return 0;
	/* the armed poll is cancelled and made again, with the events asked then, once its
	 * completion came (the same batch: the loop's next turn). Not IORING_POLL_UPDATE_EVENTS:
	 * on 6.18 a poll whose events were updated did not report data that was already there
	 * (a server that went from "only a hang-up" back to "readable" never read again) */
	cancel(b, idx, KIND_POLL);
	s->poll_cancelling = true;
	return 0;
}

/* The owner may close the fd and free the handle when this returns. The kernel's requests
 * hold the file, so their cancels go in now (one system call, as epoll_ctl's DEL was): a
 * close() right after must close the socket at once — a listener closed must refuse the next
 * connect, a connection closed must send its FIN — not when the loop next waits. */
static void uring_remove(void *v, loop_io_t *io)
{
	uring_backend_t *b = v;
	uint32_t idx = io->backend_slot;
	struct slot *s = &b->slots[idx];
	bool cancelled = s->poll_mask || s->recv_armed || s->sending;

	s->io = NULL;
	if (s->poll_mask)
		cancel(b, idx, KIND_POLL);
	if (s->recv_armed)
		cancel(b, idx, KIND_RECV);
	if (s->sending)
		cancel(b, idx, KIND_SEND);
	if (cancelled && is_runner(b))
		io_uring_submit(&b->ring);
	slot_maybe_free(b, idx);
}

/* Buffers for streams' receives: one region, and the ring that hands them to the kernel. */
static int buffers_setup(uring_backend_t *b)
{
	struct io_uring_buf_reg reg;
	size_t ring_size = URING_BUFFERS * sizeof(struct io_uring_buf);
	void *mem;
	int rc;

	if (b->stream_error)
		return b->stream_error;
	mem = mmap(NULL, ring_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (mem == MAP_FAILED)
		return b->stream_error = -errno;
	/* mapped, not malloc'd: pages the kernel fills are zeroed ones to valgrind, which does not
	 * see the kernel's writes into them */
	b->buffers =
	    mmap(NULL, BUFFERS_BYTES, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (b->buffers == MAP_FAILED) {
		b->buffers = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	b->buf_ring = mem;
	io_uring_buf_ring_init(b->buf_ring);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)mem;
	reg.ring_entries = URING_BUFFERS;
	reg.bgid = URING_BUFFER_GROUP;
	/* kernels before 5.19 have no provided-buffer rings: streams stay off (EINVAL) */
	if ((rc = io_uring_register_buf_ring(&b->ring, &reg, 0)) < 0)
		goto fail;
	for (int i = 0; i < URING_BUFFERS; i++)
		io_uring_buf_ring_add(b->buf_ring, b->buffers + (size_t)i * URING_BUFFER_SIZE,
		                      URING_BUFFER_SIZE, (unsigned short)i,
		                      io_uring_buf_ring_mask(URING_BUFFERS), i);
	io_uring_buf_ring_advance(b->buf_ring, URING_BUFFERS);
	__atomic_store_n(&b->stats.receive_buffer_bytes, (uint64_t)BUFFERS_BYTES, __ATOMIC_RELAXED);
	return 0;
fail:
	if (b->buffers)
		munmap(b->buffers, BUFFERS_BYTES);
	b->buffers = NULL;
	b->buf_ring = NULL;
	munmap(mem, ring_size);
	return b->stream_error = rc;
}

/* From readiness to a stream: the poll (if armed) is cancelled, the receive made when the
 * loop next waits. The socket may stay non-blocking: io_uring's send and receive ignore
 * O_NONBLOCK and wait in the kernel's own poll (checked on 6.18; an EAGAIN would only make
 * the receive again). */
static int uring_stream_start(void *v, loop_io_t *io, unsigned flags)
{
	uring_backend_t *b = v;
	uint32_t idx = io->backend_slot;
	struct slot *s = &b->slots[idx];
	int rc;

	if (!b->buf_ring && (rc = buffers_setup(b)) < 0)
		return rc;
	if (s->poll_mask && !s->poll_cancelling) {
		cancel(b, idx, KIND_POLL);
		s->poll_cancelling = true;
	}
	s->streaming = true;
	s->recv_once = flags & LOOP_STREAM_ONE_RECEIVE;
	arm_later(b, idx);
	return 0;
}

/* One send at a time per stream; buf lives until its LOOP_STREAM_SENT. */
static int uring_stream_send(void *v, loop_io_t *io, const void *buf, size_t len)
{
	uring_backend_t *b = v;
	uint32_t idx = io->backend_slot;
	struct slot *s = &b->slots[idx];
	struct io_uring_sqe *sqe;

	if (s->sending)
		return -EBUSY;
	if (!(sqe = get_sqe(b)))
		return -EBUSY;
	io_uring_prep_send(sqe, io->fd, buf, len, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, user_data(b, idx, KIND_SEND));
	s->sending = true;
	s->inflight++;
	return 0;
}

/* A paused stream's receive is cancelled (its last completion, -ECANCELED, makes nothing
 * again while it stays paused; one that completed with bytes first delivers them); a resumed one is
 * made when the loop next waits, unless it is still in the kernel (a resume before the cancel's
 * completion: that completion makes it again). */
static void uring_stream_pause(void *v, loop_io_t *io, bool paused)
{
	uring_backend_t *b = v;
	uint32_t idx = io->backend_slot;
	struct slot *s = &b->slots[idx];

	if (s->recv_paused == paused)
		return;
	s->recv_paused = paused;
	if (paused && s->recv_armed)
		cancel(b, idx, KIND_RECV);
	else if (!paused)
		arm_later(b, idx);
}

/* Completions are looked at where the kernel left them, not taken. */
static bool uring_stream_queued(void *v, const loop_io_t *io)
{
	uring_backend_t *b = v;
	uint32_t idx = io->backend_slot;
	uint64_t ud = user_data(b, idx, KIND_RECV);
	struct io_uring_cqe *cqe;
	unsigned head;

	io_uring_for_each_cqe(&b->ring, head, cqe)
	{
		if (cqe->user_data == ud && cqe->res > 0)
			return true;
	}
	return false;
}

static void arm_one(uring_backend_t *b, uint32_t idx)
{
	struct slot *s = &b->slots[idx];
	struct io_uring_sqe *sqe;

	if (!s->io || !s->io->active)
		return;
	if (s->streaming) {
		if (s->recv_armed || s->recv_over || s->recv_paused || !(sqe = get_sqe(b)))
			return;
		if (s->recv_once) {
			/* made after a delivery, when the peer usually waits for the answer sent
			 * in this same batch: wait for readiness first, no attempt that finds
			 * nothing (~2 % of serve's CPU a request, docs/performance.md) */
			io_uring_prep_recv(sqe, s->io->fd, NULL, 0, 0);
			sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
		} else
			io_uring_prep_recv_multishot(sqe, s->io->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = URING_BUFFER_GROUP;
		io_uring_sqe_set_data64(sqe, user_data(b, idx, KIND_RECV));
		s->recv_armed = true;
		s->inflight++;
		return;
	}
	if (s->poll_mask || !s->io->events || !(sqe = get_sqe(b)))
		return;
	s->poll_mask = to_poll(s->io->events);
	io_uring_prep_poll_add(sqe, s->io->fd, s->poll_mask);
	io_uring_sqe_set_data64(sqe, user_data(b, idx, KIND_POLL));
	s->inflight++;
}

/* Before waiting: the buffers of the batch before go back, then the polls and receives due. */
static void prepare(uring_backend_t *b)
{
	if (b->used_len) {
		for (int i = 0; i < b->used_len; i++)
			io_uring_buf_ring_add(b->buf_ring,
			                      b->buffers + (size_t)b->used[i] * URING_BUFFER_SIZE,
			                      URING_BUFFER_SIZE, b->used[i],
			                      io_uring_buf_ring_mask(URING_BUFFERS), i);
		io_uring_buf_ring_advance(b->buf_ring, b->used_len);
		b->used_len = 0;
	}
	while (b->arm_head != NO_SLOT) {
		uint32_t idx = b->arm_head;
		struct slot *s = &b->slots[idx];

		b->arm_head = s->arm_next;
		if (b->arm_head == NO_SLOT)
			b->arm_tail = NO_SLOT;
		s->on_arm_list = false;
		arm_one(b, idx);
		slot_maybe_free(b, idx);
	}
}

static int wait_events(uring_backend_t *b, uint64_t timeout_ns)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts;
	int rc;

	if (timeout_ns == 0)
		rc = io_uring_submit(&b->ring);
	else if (timeout_ns == UINT64_MAX)
		rc = io_uring_submit_and_wait(&b->ring, 1);
	else {
		ts.tv_sec = (long long)(timeout_ns / 1000000000ULL);
		ts.tv_nsec = (long long)(timeout_ns % 1000000000ULL);
		rc = io_uring_submit_and_wait_timeout(&b->ring, &cqe, 1, &ts, NULL);
	}
	if (rc == -ETIME || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY)
		return 0;
	return rc < 0 ? rc : 0;
}

/* One completion into fired[] (or nothing); false when it was not for the loop. */
static bool complete(uring_backend_t *b, const struct io_uring_cqe *cqe, loop_fired_t *f)
{
	uint64_t ud = cqe->user_data;
	enum kind k = (enum kind)(ud & 3);
	uint32_t idx = (uint32_t)(ud >> 2) & ((1u << 30) - 1);
	struct slot *s;
	bool last = true;

	if (k == KIND_IGNORE || idx >= b->slot_len)
		return false;
	s = &b->slots[idx];
	if (k == KIND_RECV && (cqe->flags & IORING_CQE_F_BUFFER))
		b->used[b->used_len++] = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
	if (s->gen != (uint32_t)(ud >> 32))
		return false; /* cannot happen: a slot is reused only after its last completion */
	if (k == KIND_RECV)
		last = !(cqe->flags & IORING_CQE_F_MORE);
	if (last) {
		s->inflight--;
		if (k == KIND_POLL) {
			s->poll_mask = 0;
			s->poll_cancelling = false;
		} else if (k == KIND_RECV)
			s->recv_armed = false;
		else
			s->sending = false;
	}
	if (!s->io) {
		slot_maybe_free(b, idx);
		return false;
	}
	*f = (loop_fired_t){.io = s->io};
	switch (k) {
	case KIND_POLL:
		arm_later(b, idx); /* level-triggered: made again after the callback */
		/* a poll that fired before the stream's start cancelled it: the stream reads */
		if (cqe->res < 0 || s->streaming)
			return false;
		/* only what is asked now: a poll changed in flight may bring what was asked before
		 */
		f->events =
		    from_poll((uint32_t)cqe->res & (to_poll(s->io->events) | POLLERR | POLLHUP));
		return f->events != 0;
	case KIND_RECV:
		if (cqe->res == -ENOBUFS || cqe->res == -EAGAIN || cqe->res == -ECANCELED) {
			if (cqe->res == -ENOBUFS)
				STAT_ADD(b, recv_no_buffer);
			arm_later(b, idx);
			return false;
		}
		if (cqe->res <= 0)
			s->recv_over = true; /* EOF or an error: the owner closes */
		else if (last)
			arm_later(b, idx);
		f->stream_kind = LOOP_STREAM_DATA;
		f->res = cqe->res;
		f->data = cqe->res > 0
		              ? b->buffers + (size_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT) *
		                                 URING_BUFFER_SIZE
		              : NULL;
		return true;
	case KIND_SEND:
		f->stream_kind = LOOP_STREAM_SENT;
		f->res = cqe->res;
		return true;
	case KIND_IGNORE: break;
	}
	return false;
}

static int uring_poll(void *v, uint64_t timeout_ns, loop_fired_t *fired, int max)
{
	uring_backend_t *b = v;
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int n = 0, rc;

	b->runner = pthread_self();
	b->ran = true;
	prepare(b);
	if (io_uring_cq_ready(&b->ring))
		timeout_ns = 0; /* completions are waiting already: only submit */
	if ((rc = wait_events(b, timeout_ns)) < 0)
		return rc;
	io_uring_for_each_cqe(&b->ring, head, cqe)
	{
		if (n == max || b->used_len == LOOP_MAX_EVENTS)
			break;
		seen++;
		if (complete(b, cqe, &fired[n]))
			n++;
	}
	io_uring_cq_advance(&b->ring, seen);
	STAT_ADD(b, turns);
	return n;
}

/* Every request still in the kernel is cancelled and its completion awaited (bounded: 100
 * waits of 1 ms) before the ring and the buffers go: a receive must not write into memory
 * that was given back. */
static void drain(uring_backend_t *b)
{
	struct io_uring_sqe *sqe = get_sqe(b);
	struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
	struct io_uring_cqe *cqe;
	loop_fired_t ignored;
	uint32_t inflight = 0;

	for (uint32_t i = 0; i < b->slot_len; i++)
		inflight += b->slots[i].inflight;
	if (!inflight || !sqe)
		return;
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY); /* 5.19; else each ends alone */
	io_uring_sqe_set_data64(sqe, KIND_IGNORE);
	for (int wait = 0; wait < 100 && inflight; wait++) {
		unsigned head, seen = 0;

		io_uring_submit_and_wait_timeout(&b->ring, &cqe, 1, &ts, NULL);
		io_uring_for_each_cqe(&b->ring, head, cqe)
		{
			seen++;
			b->used_len = 0; /* the buffers are not given back: the ring goes */
			complete(b, cqe, &ignored);
		}
		io_uring_cq_advance(&b->ring, seen);
		inflight = 0;
		for (uint32_t i = 0; i < b->slot_len; i++)
			inflight += b->slots[i].inflight;
	}
}

static void uring_destroy(void *v)
{
	uring_backend_t *b = v;

	if (!b)
		return;
	for (uint32_t i = 0; i < b->slot_len; i++)
		b->slots[i].io = NULL; /* the loop is going: no handle is reached any more */
	/* freed by its own thread: its requests are cancelled and awaited here; freed after its
	 * thread ended (surge's way): the kernel cancelled them when the thread exited */
	if (is_runner(b))
		drain(b);
	io_uring_queue_exit(&b->ring);
	if (b->buf_ring)
		munmap(b->buf_ring, URING_BUFFERS * sizeof(struct io_uring_buf));
	if (b->buffers)
		munmap(b->buffers, BUFFERS_BYTES);
	free(b->slots);
	free(b);
}

static void uring_stats(void *v, loop_io_stats_t *out)
{
	uring_backend_t *b = v;

	out->turns = __atomic_load_n(&b->stats.turns, __ATOMIC_RELAXED);
	out->sq_full_submits = __atomic_load_n(&b->stats.sq_full_submits, __ATOMIC_RELAXED);
	out->recv_no_buffer = __atomic_load_n(&b->stats.recv_no_buffer, __ATOMIC_RELAXED);
	out->fallback_loops = 0;
	out->receive_buffer_bytes =
	    __atomic_load_n(&b->stats.receive_buffer_bytes, __ATOMIC_RELAXED);
	out->cq_overflow =
	    b->ring.cq.koverflow ? __atomic_load_n(b->ring.cq.koverflow, __ATOMIC_RELAXED) : 0;
}

const loop_backend_ops_t loop_uring_ops = {
    .name = "io_uring",
    .create = uring_create,
    .destroy = uring_destroy,
    .add = uring_add,
    .modify = uring_modify,
    .remove = uring_remove,
    .poll = uring_poll,
    .stream_start = uring_stream_start,
    .stream_send = uring_stream_send,
    .stream_pause = uring_stream_pause,
    .stream_queued = uring_stream_queued,
    .stats = uring_stats,
};
