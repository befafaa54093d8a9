/* serve_main: the target's lifecycle — listeners (one SO_REUSEPORT socket per worker), worker
 * threads and their per-second housekeeping, and graceful shutdown: on SIGTERM readiness goes
 * 503, listeners close, idle connections close, in-flight requests finish within
 * --drain-timeout, then the process exits 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/echo.h"
#include "core/heap.h"
#include "core/loop.h"
#include "core/net.h"
#include "serve/serve_internal.h"

#define ACCEPT_BUDGET  64
#define LISTEN_BACKLOG 4096

serve_state_t serve_state;
static _Atomic bool force_stop;

void serve_config_defaults(serve_config_t *cfg)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->host, sizeof(cfg->host), "0.0.0.0");
	cfg->port = 8080;
	cfg->io = "auto";
	cfg->workers = cpus > 0 ? (uint32_t)cpus : 1;
	cfg->max_connections = 10000;
	cfg->max_header_bytes = 16 * 1024;
	cfg->max_streams = 100;
	cfg->max_body_bytes = 10 * 1024 * 1024;
	cfg->header_timeout_ns = 10 * NS_PER_S;
	cfg->idle_timeout_ns = 60 * NS_PER_S;
	cfg->drain_timeout_ns = 30 * NS_PER_S;
	cfg->max_delay_ns = 300 * NS_PER_S;
	cfg->max_size_bytes = 100 * 1024 * 1024;
	cfg->max_cpu_ns = 10 * NS_PER_S;
	cfg->memory_cap_bytes = 1024ULL * 1024 * 1024;
	cfg->max_load_cores = cpus > 0 ? (uint32_t)cpus : 1;
	cfg->chaos = true;
	cfg->data_dir = "/tmp";
	cfg->log_level = SERVE_LOG_INFO;
	cfg->access_log = true;
	cfg->role = "default";
	cfg->db_pool = 10;
	cfg->db_timeout_ns = 5 * NS_PER_S;
	cfg->cache_entries = 10000;
}

/* ---- listening ---- */

/* "127.0.0.1:8080", "[::1]:8080" */
static void format_listen(const serve_config_t *cfg, char *out, size_t len)
{
	snprintf(out, len, strchr(cfg->host, ':') ? "[%s]:%u" : "%s:%u", cfg->host, cfg->port);
}

/* One worker's listener; *bound says where (for the check that the port is ours alone). */
static int open_listener(const serve_config_t *cfg, net_listener_t *bound, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char port[8], where[300];
	int fd = -1, one = 1, rc;

	snprintf(port, sizeof(port), "%u", cfg->port);
	rc = getaddrinfo(cfg->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve listen address '%s': %s", ECHO(cfg->host),
		         gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	}
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		int e = errno;

		format_listen(cfg, where, sizeof(where));
		snprintf(err, errlen, "cannot listen on %s: %s", where,
		         e == EADDRINUSE ? "address already in use" : strerror(e));
		if (fd >= 0)
			close(fd);
		fd = -1;
	} else {
		net_listener_of(res->ai_addr, bound);
	}
	freeaddrinfo(res);
	return fd;
}

/* SO_REUSEPORT lets this process's workers share the port, and would as well let them join
 * another process's listeners on it (the kernel then splits connections between the two):
 * after binding, any listener on an overlapping address that is not ours means the address
 * is taken. */
static int check_port_is_ours(const serve_config_t *cfg, const net_listener_t *bound, char *err,
                              size_t errlen)
{
	int max = (int)serve_state.worker_count + 64, n;
	net_listener_t *seen = calloc((size_t)max, sizeof(*seen));
	char where[300];

	if (!seen) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = net_listeners_on_port(cfg->port, seen, max);
	for (int i = 0; i < n && i < max; i++) {
		bool ours = false;

		for (uint32_t w = 0; w < serve_state.worker_count && !ours; w++) {
			struct stat st;

			ours = fstat(serve_state.workers[w].listen_fd, &st) == 0 &&
			       (unsigned long)st.st_ino == seen[i].inode;
		}
		if (!ours && net_listeners_overlap(&seen[i], bound)) {
			free(seen);
			format_listen(cfg, where, sizeof(where));
			snprintf(err, errlen,
			         "cannot listen on %s: address already in use (another process "
			         "listens there with SO_REUSEPORT)",
			         where);
			return -1;
		}
	}
	free(seen);
	return 0; /* n < 0: no /proc to look at; the kernel's check at bind is what there is */
}

/* Accepts up to budget connections; false when the listener had no more waiting. */
static bool accept_some(serve_worker_t *w, loop_io_t *io, int budget)
{
	loop_t *loop = w->loop;
	int one = 1;

	for (int i = 0; i < budget; i++) {
		int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
				/* out of descriptors: pause instead of spinning on a ready listener
				 */
				loop_io_update(loop, io, 0);
				loop_timer_start(loop, &w->clock_tick,
				                 loop_now(loop) + 100 * NS_PER_MS);
				serve_log_event(SERVE_LOG_WARN, "accept_paused", "%s",
				                strerror(errno));
			}
			return false;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		serve_conn_accept(w, fd);
	}
	return true;
}

static void on_accept(loop_t *loop, loop_io_t *io, uint32_t events)
{
	accept_some(io->ctx, io, ACCEPT_BUDGET);
}

/* ---- per-worker housekeeping ---- */

static void refresh_date(serve_worker_t *w)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(w->date, sizeof(w->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
}

static void on_clock_tick(loop_t *loop, loop_timer_t *t)
{
	serve_worker_t *w = t->ctx;

	refresh_date(w);
	serve_log_flush(w);
	if (w->listen_fd >= 0)
		loop_io_update(loop, &w->listen_io, LOOP_READ); /* resume after an accept pause */
	loop_timer_start(loop, t, loop_now(loop) + NS_PER_S);
}

static void stop_listening(serve_worker_t *w)
{
	if (w->listen_fd < 0)
		return;
	/* closing a listener resets what waits in its backlog: take those in first, they are
	 * answered (with Connection: close) like the requests already in flight */
	for (int round = 0; round < 64 && accept_some(w, &w->listen_io, ACCEPT_BUDGET); round++)
		;
	loop_io_stop(w->loop, &w->listen_io);
	close(w->listen_fd);
	w->listen_fd = -1;
}

static void on_wake(loop_t *loop, void *ctx)
{
	serve_worker_t *w = ctx;

	serve_mail_run(w);
	if (atomic_load(&force_stop)) {
		loop_stop(loop);
		return;
	}
	if (atomic_load(&serve_state.draining) && !w->draining) {
		w->draining = true;
		stop_listening(w);
		serve_conn_close_idle(w);
		if (w->conn_count == 0)
			loop_stop(loop);
	}
}

static void *worker_main(void *arg)
{
	serve_worker_t *w = arg;

	loop_on_wake(w->loop, on_wake, w);
	loop_timer_init(&w->clock_tick, on_clock_tick, w);
	refresh_date(w);
	loop_timer_start(w->loop, &w->clock_tick, loop_now(w->loop) + NS_PER_S);
	if (loop_io_start(w->loop, &w->listen_io, w->listen_fd, LOOP_READ, on_accept, w) < 0)
		serve_log_event(SERVE_LOG_ERROR, "worker_failed",
		                "worker %d cannot watch its listener", w->id);
	else
		loop_run(w->loop);
	serve_conn_close_all(w); /* after a drain timeout: whatever is left goes */
	serve_log_flush(w);
	return NULL;
}

/* ---- start and stop ---- */

/* Each worker holds three descriptors (listener, epoll, eventfd) besides its connections:
 * the soft limit is raised towards the hard one when it is short, else the start fails
 * saying so (rather than "Too many open files" from somewhere inside). */
static int check_descriptors(const serve_config_t *cfg, char *err, size_t errlen)
{
	uint64_t need = (uint64_t)cfg->workers * 3 + 64;
	struct rlimit lim;

	if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur == RLIM_INFINITY ||
	    lim.rlim_cur >= need)
		return 0;
	if (lim.rlim_max == RLIM_INFINITY || lim.rlim_max >= need) {
		lim.rlim_cur = (rlim_t)need;
		if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
			return 0;
	}
	snprintf(err, errlen,
	         "%s %u needs about %llu file descriptors, more than the limit of %llu "
	         "(ulimit -n)",
	         serve_option_from(cfg->workers_from, "--workers"), cfg->workers,
	         (unsigned long long)need, (unsigned long long)lim.rlim_max);
	return -1;
}

static int start_workers(const serve_config_t *cfg, char *err, size_t errlen)
{
	net_listener_t bound = {0};

	if (check_descriptors(cfg, err, errlen) < 0)
		return -1;
	serve_state.workers = calloc(cfg->workers, sizeof(serve_worker_t));
	if (!serve_state.workers) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < cfg->workers; i++) {
		serve_worker_t *w = &serve_state.workers[i];

		w->id = (int)i;
		w->rng = clock_wall_ns() ^ ((uint64_t)i + 1) * 0x9e3779b97f4a7c15ULL;
		buf_init(&w->log, 1024 * 1024);
		pthread_mutex_init(&w->mail_lock, NULL);
		w->mail_cap = 65536;
		w->mail = calloc(w->mail_cap, sizeof(*w->mail));
		if (!w->mail) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		w->loop = loop_new();
		w->listen_fd = open_listener(cfg, &bound, err, errlen);
		serve_state.worker_count = i + 1; /* counted now, so cleanup() frees what it got */
		if (!w->loop && w->listen_fd >= 0)
			snprintf(err, errlen, "cannot create worker %u's event loop: %s", i,
			         strerror(errno));
		if (!w->loop || w->listen_fd < 0)
			return -1;
	}
	if (check_port_is_ours(cfg, &bound, err, errlen) < 0)
		return -1;
	/* ready before any worker runs: only workers answer /ready, and a POST /admin/ready
	 * answered by one must not be overwritten by the start finishing after it */
	atomic_store(&serve_state.ready, true);
	for (uint32_t i = 0; i < cfg->workers; i++)
		if (pthread_create(&serve_state.workers[i].tid, NULL, worker_main,
		                   &serve_state.workers[i]) != 0) {
			snprintf(err, errlen, "cannot start worker thread %u", i);
			return -1;
		}
	return 0;
}

static void wake_all(void)
{
	for (uint32_t i = 0; i < serve_state.worker_count; i++)
		if (serve_state.workers[i].loop) /* NULL: a start that failed at this worker */
			loop_wake(serve_state.workers[i].loop);
}

/* Waits for the workers to finish their in-flight requests, then stops the stragglers. */
static void drain(const serve_config_t *cfg)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)(cfg->drain_timeout_ns / NS_PER_S);
	deadline.tv_nsec += (long)(cfg->drain_timeout_ns % NS_PER_S);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	atomic_store(&serve_state.ready, false);
	atomic_store(&serve_state.draining, true);
	wake_all();
	for (uint32_t i = 0; i < serve_state.worker_count; i++) {
		if (pthread_timedjoin_np(serve_state.workers[i].tid, NULL, &deadline) == 0)
			continue;
		serve_log_event(SERVE_LOG_WARN, "drain_timeout",
		                "requests still in flight after --drain-timeout; closing them");
		atomic_store(&force_stop, true);
		wake_all();
		pthread_join(serve_state.workers[i].tid, NULL);
	}
}

static void cleanup(void)
{
	for (uint32_t i = 0; i < serve_state.worker_count; i++) {
		serve_worker_t *w = &serve_state.workers[i];

		if (w->listen_fd >= 0)
			close(w->listen_fd);
		if (w->loop)
			loop_free(w->loop);
		buf_free(&w->log);
		free(w->mail);
		free(w->disk_buf);
	}
	free(serve_state.workers);
	serve_state.workers = NULL;
	serve_state.worker_count = 0;
	tls_context_free(serve_state.tls);
	serve_state.tls = NULL;
}

/* An identity from the environment, for a header, a label and a log line: cut to fit, control
 * characters and non-ASCII bytes as '?'. */
static void identity(char *out, size_t cap, const char *from)
{
	size_t i = 0;

	for (; from && from[i] && i + 1 < cap; i++)
		out[i] =
		    (unsigned char)from[i] < 0x20 || (unsigned char)from[i] > 0x7e ? '?' : from[i];
	out[i] = '\0';
}

/* Who this process is: --instance-name (or $SURGE_INSTANCE_NAME, $POD_NAME), else the host
 * name; and where it runs, from the downward API variables the manifests set. */
static void name_instance(const serve_config_t *cfg)
{
	char host[256] = "";

	if (!cfg->instance_name && gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "surge");
	identity(serve_state.instance, sizeof(serve_state.instance),
	         cfg->instance_name ? cfg->instance_name : host);
	identity(serve_state.pod_namespace, sizeof(serve_state.pod_namespace),
	         getenv("POD_NAMESPACE"));
	identity(serve_state.node_name, sizeof(serve_state.node_name), getenv("NODE_NAME"));
	snprintf(serve_state.served_by, sizeof(serve_state.served_by), "X-Served-By: %s\r\n",
	         serve_state.instance);
}

int serve_run(const serve_config_t *cfg, char *err, size_t errlen)
{
	sigset_t signals;
	char where[300];
	int sig;

	memset(&serve_state, 0, sizeof(serve_state));
	serve_state.cfg = cfg;
	serve_state.start_wall_ns = clock_wall_ns();
	pthread_mutex_init(&serve_state.log_lock, NULL);
	cgroup_place_self(&serve_state.cgroup); /* none found: no cgroup metrics */
	name_instance(cfg);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	serve_conn_init();
	if (cfg->tls_cert &&
	    !(serve_state.tls = tls_server_context_new(cfg->tls_cert, cfg->tls_key, err, errlen)))
		return -1;
	if (serve_families_start(cfg, err, errlen) < 0) {
		tls_context_free(serve_state.tls);
		return -1;
	}
	if (start_workers(cfg, err, errlen) < 0) {
		atomic_store(&force_stop, true);
		wake_all();
		for (uint32_t i = 0; i < serve_state.worker_count; i++)
			if (serve_state.workers[i].tid)
				pthread_join(serve_state.workers[i].tid, NULL);
		serve_families_stop();
		cleanup();
		return -1;
	}
	format_listen(cfg, where, sizeof(where));
	/* the backend, and why not io_uring when --io auto fell back */
	serve_log_event(SERVE_LOG_INFO, "listening", "%s://%s/ with %u workers, I/O %s%s%s%s",
	                serve_state.tls ? "https" : "http", where, cfg->workers, loop_io_backend(),
	                *loop_io_fallback() ? " (io_uring: " : "", loop_io_fallback(),
	                *loop_io_fallback() ? ")" : "");
	/* the main thread waits for the signal to stop, and meanwhile gives the memory the
	 * workers freed back to the system (core/heap.h): a burst is not kept for life */
	do {
		struct timespec every = {(time_t)(HEAP_GIVE_BACK_NS / NS_PER_S), 0};

		sig = sigtimedwait(&signals, NULL, &every);
		if (sig < 0 && errno == EAGAIN)
			heap_give_back();
	} while (sig < 0 && (errno == EINTR || errno == EAGAIN));
	serve_log_event(SERVE_LOG_INFO, "draining", "signal %d: readiness off, finishing requests",
	                sig);
	drain(cfg);
	serve_families_stop();
	serve_log_event(SERVE_LOG_INFO, "stopped", "all requests finished");
	cleanup();
	return 0;
}
