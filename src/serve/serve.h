/* serve: the load-test target (`surge serve`) — worker threads each with an event loop and
 * its own listening socket, endpoints that simulate work at an exact cost, and the metrics,
 * logs and probes that show what happened. */
#ifndef SURGE_SERVE_H
#define SURGE_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum serve_log_level { SERVE_LOG_DEBUG, SERVE_LOG_INFO, SERVE_LOG_WARN, SERVE_LOG_ERROR };

/* Worker threads at most: each costs a thread, three descriptors (listener, epoll, eventfd)
 * and a 1 MiB mailbox, and more than a core's worth per worker only adds switching. */
#define SERVE_WORKERS_MAX 1024

typedef struct serve_config {
	char host[256]; /* listen address */
	uint16_t port;
	uint32_t workers;
	uint32_t max_connections;  /* per process; beyond it new connections are closed */
	uint32_t max_header_bytes; /* request line + headers (HTTP/2: the header list) */
	uint32_t max_streams;      /* HTTP/2: concurrent streams per connection */
	const char *tls_cert;      /* PEM certificate chain: serve HTTPS (ALPN h2, http/1.1) */
	const char *tls_key;       /* its private key (PEM) */
	uint64_t max_body_bytes;
	uint64_t header_timeout_ns; /* from the first byte of a request to its complete head */
	uint64_t idle_timeout_ns;   /* keep-alive connections with no request */
	uint64_t drain_timeout_ns;  /* graceful shutdown: how long in-flight requests may take */
	/* caps on what a request may ask for; hitting one is reported */
	uint64_t max_delay_ns;
	uint64_t max_size_bytes;
	uint64_t max_cpu_ns;
	uint64_t memory_cap_bytes; /* leaked + spiked memory; beyond it 507 */
	uint32_t max_load_cores;   /* background CPU load threads */
	bool chaos;                /* dangerous endpoints enabled (--no-chaos turns off) */
	bool allow_crash;
	const char *admin_token;    /* bearer token for /admin/..., NULL = open */
	const char *data_dir;       /* disk endpoints */
	const char *default_params; /* query parameters applied to bare requests */
	enum serve_log_level log_level;
	bool access_log;

	/* dependencies: embedded by default, real services when configured */
	const char *role; /* "default", or "downstream" (serves only the downstream API) */
	const char *io;   /* the loops' I/O backend: "auto", "uring" or "epoll" (cli chooses it) */
	const char *downstream_url; /* DOWNSTREAM_SERVICE_URL; NULL = this process itself */
	const char *database_url;   /* DATABASE_URL: postgresql://...; NULL = SQLite */
	const char *sqlite_path;    /* SQLite file, or ":memory:" (default: <data-dir>/surge.db) */
	uint32_t db_pool;           /* database connections */
	uint64_t db_timeout_ns;     /* how long a request waits for a free connection (then 503) */
	const char *redis_url;      /* REDIS_URL: redis://host:port/db; NULL = in-process LRU */
	uint32_t cache_entries;     /* in-process cache size */

	/* a cgroup of its own with these limits (0: none); see serve_limits_run */
	uint64_t cpu_limit_millicores;
	uint64_t memory_limit_bytes;
	/* the name on X-Served-By and surge_instance_info; NULL: $POD_NAME, else the host name */
	const char *instance_name;

	/* How the user gave the options judged only at start-up, for its messages: the flag
	 * ("--database-url") or the environment variable ("$DATABASE_URL"); NULL = the flag. */
	const char *data_dir_from, *database_url_from, *redis_url_from, *downstream_url_from;
	const char *workers_from;
	const char *cpu_limit_from, *memory_limit_from;
} serve_config_t;

/* The name to quote for an option in a message: how it was given, or its flag. */
static inline const char *serve_option_from(const char *from, const char *flag)
{
	return from ? from : flag;
}

void serve_config_defaults(serve_config_t *cfg);
/* Checks --default-params ("delay=10ms:50&status=503:1"): only the common parameters, each a
 * valid distribution in its range. 0, or -1 with a message in err. */
int serve_default_params_check(const char *params, char *err, size_t errlen);
/* Runs until SIGTERM/SIGINT, drains, and returns 0; or returns -1 with a message in err when
 * it cannot start (the address is taken, ...). */
int serve_run(const serve_config_t *cfg, char *err, size_t errlen);
/* With --cpu-limit or --memory-limit: makes a cgroup with those limits, then runs serve in a
 * child process inside it while this process supervises — forwarding SIGTERM/SIGINT/SIGHUP,
 * starting the child again when the OOM killer killed it (as a pod's container restarts, so
 * the kill shows in the new child's metrics), and removing the cgroup when the child is gone.
 * Returns 0 in the child, which then calls serve_run; 1 in the supervisor once the child is
 * gone, with *exit_code to exit with; -1 with a message when the cgroup cannot be made or
 * joined (nothing is left behind). */
int serve_limits_run(const serve_config_t *cfg, int *exit_code, char *err, size_t errlen);

#endif
