/* serve_db: the blocking-work pools behind /api/tasks and /api/users — N threads each owning
 * one connection (SQLite, PostgreSQL or Redis), a bounded FIFO of jobs with a wait timeout. */
#ifndef SURGE_SERVE_DB_H
#define SURGE_SERVE_DB_H

#include "serve/serve_internal.h"

/* ---- database backends: one small interface, one file each ---- */

/* Called once per result row; values[i] is NULL for SQL NULL. Non-zero stops the query. */
typedef int (*serve_db_row_fn)(void *ctx, int ncols, const char *const *values);

typedef struct serve_db_backend {
	const char *name; /* db.system.name: "sqlite", "postgresql" */
	void *(*connect)(const char *target, char *err, size_t errlen);
	void (*close)(void *conn);
	/* Runs sql with text parameters $1..$n; returns rows returned or changed, or -1 with a
	 * message in err. */
	int (*query)(void *conn, const char *sql, int nparams, const char *const *params,
	             serve_db_row_fn row, void *ctx, char *err, size_t errlen);
	const char *const *schema; /* statements run once at start, NULL-terminated */
} serve_db_backend_t;

extern const serve_db_backend_t serve_db_sqlite;
extern const serve_db_backend_t serve_db_pg;

/* ---- pools of connection-owning threads ---- */

typedef struct serve_pool serve_pool_t;
typedef struct serve_job serve_job_t;

enum serve_job_result { JOB_OK, JOB_TIMEOUT, JOB_FULL, JOB_ERROR };

/* The operation names metrics use (db.operation.name). */
enum serve_db_op { OP_SELECT, OP_INSERT, OP_UPDATE, OP_DELETE, OP_SLEEP, OP_CACHE, OP_COUNT };

struct serve_job {
	serve_request_t *r; /* the deferred request; its worker runs done() */
	/* Runs on a pool thread with that thread's connection; sets status and out. */
	void (*run)(serve_job_t *job, void *conn);
	/* Runs on r's worker after run (or instead, on timeout), replies and resumes r; NULL =
	 * reply job->status with job->out (or the error) and resume. */
	void (*done)(serve_job_t *job);
	enum serve_db_op op;
	enum serve_job_result result;
	int status;    /* HTTP status run() chose */
	char err[320]; /* the message of a failed job */
	buf_t out;     /* JSON built by run(); lives until the job is freed */
	uint64_t enqueued_ns, wait_ns, run_ns;
	double hold_s; /* OP_SLEEP: how long to hold the connection */
	int64_t id;    /* the row the job is about, when there is one */
	void *ctx;     /* the family's own data (malloc'd), freed with the job */
	void *chain;   /* a multi-step request's state: not freed with the job */
	serve_pool_t *pool;
	serve_job_t *next;
};

typedef struct serve_pool_config {
	const char *what;   /* "database", "redis": in messages */
	const char *option; /* "--db-pool, --db-timeout": in the 503 */
	uint32_t size;
	uint64_t timeout_ns;
	void *(*connect)(void *arg, char *err, size_t errlen);
	void (*close)(void *conn);
	void *arg;
} serve_pool_config_t;

/* Connects every thread's connection first (so a bad URL fails the start-up), or NULL with a
 * message. */
serve_pool_t *serve_pool_start(const serve_pool_config_t *cfg, char *err, size_t errlen);
/* Wakes sleeping jobs, joins the threads, closes the connections. */
void serve_pool_stop(serve_pool_t *p);
/* Defers r and queues the job (which the pool now owns). */
void serve_pool_submit(serve_pool_t *p, serve_job_t *job);
/* A zeroed job with its output buffer, or NULL. */
serve_job_t *serve_job_new(serve_request_t *r, enum serve_db_op op);
/* The default completion: reply, Server-Timing, resume, free. */
void serve_job_reply(serve_job_t *job);
void serve_job_free(serve_job_t *job);
/* Holds the thread's connection for job->hold_s, cut short by serve_pool_stop. */
void serve_pool_hold(serve_job_t *job);
/* Prometheus text for a database pool (OTel db.client.* names). */
void serve_pool_metrics(serve_pool_t *p, const char *system, buf_t *out);

/* ---- the database, shared by tasks and users (serve_database.c) ---- */

const serve_db_backend_t *serve_db_backend(void);
serve_pool_t *serve_db_pool(void);
/* A single-statement helper for run() functions: rows go to row(ctx); on error the job gets
 * 500 and the message; returns the row count or -1. */
int serve_db_query(serve_job_t *job, void *conn, const char *sql, int nparams,
                   const char *const *params, serve_db_row_fn row, void *ctx);

/* ---- cache backends (serve_cache_lru.c, serve_cache_redis.c) ---- */

typedef struct serve_cache_backend {
	const char *name; /* "lru", "redis": the cache_backend label */
	/* Each runs on a pool thread with its connection (Redis) or inline with conn NULL (LRU).
	 * get: 1 hit (value in out), 0 miss, -1 error; set and del: 0 or -1. */
	int (*get)(void *conn, int64_t id, buf_t *out);
	int (*set)(void *conn, int64_t id, const char *value, size_t len);
	int (*del)(void *conn, int64_t id);
} serve_cache_backend_t;

extern const serve_cache_backend_t serve_cache_lru;
extern const serve_cache_backend_t serve_cache_redis;

int serve_cache_lru_init(uint32_t entries);
void serve_cache_lru_free(void);
uint64_t serve_cache_lru_evictions(void);
uint32_t serve_cache_lru_size(void);
/* One Redis connection from a redis:// URL (arg), or NULL with a message. */
void *serve_cache_redis_connect(void *url, char *err, size_t errlen);
void serve_cache_redis_close(void *conn);

#endif
