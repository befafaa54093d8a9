/* serve_database: the database family — the tasks API, pool exhaustion on demand and an
 * expensive query — over the connection pool, SQLite by default or PostgreSQL. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/echo.h"
#include "serve/serve_db.h"

#define TASK_COLUMNS "id, title, description, status, priority, created_at"

static struct {
	const serve_db_backend_t *backend;
	serve_pool_t *pool;
	char target[1024]; /* the SQLite path or the PostgreSQL URL */
} db;

const serve_db_backend_t *serve_db_backend(void)
{
	return db.backend;
}

serve_pool_t *serve_db_pool(void)
{
	return db.pool;
}

static void *db_connect(void *arg, char *err, size_t errlen)
{
	return db.backend->connect(db.target, err, errlen);
}

static int db_choose(const serve_config_t *cfg, char *err, size_t errlen)
{
	const char *url = cfg->database_url;

	if (url && *url && strncmp(url, "postgres", 8) == 0) {
		db.backend = &serve_db_pg;
		snprintf(db.target, sizeof(db.target), "%s", url);
	} else if (url && *url && strncmp(url, "sqlite:///", 10) == 0) {
		db.backend = &serve_db_sqlite;
		snprintf(db.target, sizeof(db.target), "%s", url + 9);
	} else if (url && *url) {
		snprintf(err, errlen, "%s '%s': expected postgresql://... or sqlite:///path",
		         serve_option_from(cfg->database_url_from, "--database-url"), ECHO(url));
		return -1;
	} else {
		db.backend = &serve_db_sqlite;
		if (cfg->sqlite_path && *cfg->sqlite_path)
			snprintf(db.target, sizeof(db.target), "%s", cfg->sqlite_path);
		else
			snprintf(db.target, sizeof(db.target), "%s/surge.db", cfg->data_dir);
	}
	return 0;
}

/* Creates the tables on a connection of its own, kept open until the pool holds its
 * connections (an in-memory SQLite database lives as long as one connection does). */
static void *db_bootstrap(char *err, size_t errlen)
{
	void *conn = db.backend->connect(db.target, err, errlen);

	if (!conn)
		return NULL;
	for (int i = 0; db.backend->schema[i]; i++) {
		if (db.backend->query(conn, db.backend->schema[i], 0, NULL, NULL, NULL, err,
		                      errlen) < 0) {
			db.backend->close(conn);
			return NULL;
		}
	}
	return conn;
}

int serve_database_start(const serve_config_t *cfg, char *err, size_t errlen)
{
	serve_pool_config_t pc = {.what = "database",
	                          .option = "--db-pool, --db-timeout",
	                          .size = cfg->db_pool ? cfg->db_pool : 1,
	                          .timeout_ns = cfg->db_timeout_ns,
	                          .connect = db_connect,
	                          .close = NULL};
	void *boot;

	if (db_choose(cfg, err, errlen) < 0 || !(boot = db_bootstrap(err, errlen)))
		return -1;
	pc.close = db.backend->close;
	db.pool = serve_pool_start(&pc, err, errlen);
	db.backend->close(boot);
	if (!db.pool)
		return -1;
	serve_log_event(SERVE_LOG_INFO, "database", "%s, %u connections, wait at most %.1fs",
	                db.backend->name, pc.size, cfg->db_timeout_ns / 1e9);
	return 0;
}

void serve_database_stop(void)
{
	serve_pool_stop(db.pool);
	db.pool = NULL;
}

void serve_database_metrics(buf_t *out)
{
	if (db.pool)
		serve_pool_metrics(db.pool, db.backend->name, out);
}

int serve_db_query(serve_job_t *job, void *conn, const char *sql, int nparams,
                   const char *const *params, serve_db_row_fn row, void *ctx)
{
	int rc =
	    db.backend->query(conn, sql, nparams, params, row, ctx, job->err, sizeof(job->err));

	if (rc < 0) {
		job->result = JOB_ERROR;
		job->status = 500;
	}
	return rc;
}

/* ---- tasks ---- */

typedef struct task_args {
	char title[208], description[2008], status[16], priority[8], created[40];
	char id[24], limit[8];
} task_args_t;

/* One tasks row (in TASK_COLUMNS order) as a JSON object. */
static int task_row(void *ctx, int n, const char *const *v)
{
	json_writer_t *w = ctx;

	jsonw_object_begin(w);
	jsonw_key(w, "id");
	jsonw_raw(w, v[0], strlen(v[0]));
	jsonw_key(w, "title");
	jsonw_string(w, v[1] ? v[1] : "");
	jsonw_key(w, "description");
	jsonw_string(w, v[2] ? v[2] : "");
	jsonw_key(w, "status");
	jsonw_string(w, v[3] ? v[3] : "");
	jsonw_key(w, "priority");
	jsonw_raw(w, v[4] ? v[4] : "null", strlen(v[4] ? v[4] : "null"));
	jsonw_key(w, "created_at");
	jsonw_string(w, v[5] ? v[5] : "");
	jsonw_object_end(w);
	return 0;
}

static void task_insert(serve_job_t *job, void *conn)
{
	task_args_t *a = job->ctx;
	const char *params[] = {a->title, a->description, a->status, a->priority, a->created};
	json_writer_t w;

	jsonw_init(&w, &job->out, false);
	job->status = 201;
	serve_db_query(job, conn,
	               "INSERT INTO tasks (title, description, status, priority, created_at) "
	               "VALUES ($1, $2, $3, $4, $5) RETURNING " TASK_COLUMNS,
	               5, params, task_row, &w);
}

static int string_field(serve_request_t *r, json_t *doc, const char *name, size_t min, size_t max,
                        char *out, size_t outlen)
{
	json_t *v = json_object_get(doc, name);

	if (!v && min == 0)
		return 0;
	if (!json_is_string(v) || json_string_length(v) < min || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		serve_reply_error(r, 400, "field '%s': %s a string of %zu to %zu characters", name,
		                  min ? "required," : "expected", min, max);
		return -1;
	}
	snprintf(out, outlen, "%s", json_string_value(v));
	return 0;
}

static int check_task_fields(serve_request_t *r, json_t *doc)
{
	static const char *const known[] = {"title", "description", "status", "priority", NULL};
	const char *key;
	json_t *v;

	json_object_foreach(doc, key, v)
	{
		int ok = 0;
		for (int i = 0; known[i]; i++)
			ok |= strcmp(key, known[i]) == 0;
		if (!ok) {
			serve_reply_error(r, 400,
			                  "unknown field '%s' (known: title, description, "
			                  "status, priority)",
			                  key);
			return -1;
		}
	}
	return 0;
}

/* Validates the body into a; -1 after a 400 naming the field. */
static int task_parse(serve_request_t *r, json_t *doc, task_args_t *a)
{
	json_t *prio = json_object_get(doc, "priority");

	snprintf(a->status, sizeof(a->status), "pending");
	snprintf(a->priority, sizeof(a->priority), "3");
	if (check_task_fields(r, doc) < 0 ||
	    string_field(r, doc, "title", 1, 200, a->title, sizeof(a->title)) < 0 ||
	    string_field(r, doc, "description", 0, 2000, a->description, sizeof(a->description)) <
	        0 ||
	    string_field(r, doc, "status", 0, 15, a->status, sizeof(a->status)) < 0)
		return -1;
	if (strcmp(a->status, "pending") && strcmp(a->status, "in_progress") &&
	    strcmp(a->status, "done")) {
		serve_reply_error(r, 400, "field 'status': expected pending, in_progress or done");
		return -1;
	}
	if (prio && (!json_is_integer(prio) || json_integer_value(prio) < 1 ||
	             json_integer_value(prio) > 5)) {
		serve_reply_error(r, 400, "field 'priority': expected an integer from 1 to 5");
		return -1;
	}
	if (prio)
		snprintf(a->priority, sizeof(a->priority), "%d", (int)json_integer_value(prio));
	clock_format_rfc3339(clock_wall_ns(), a->created, sizeof(a->created));
	return 0;
}

/* Submits a job with its ctx, or answers 503 when memory ran out (ctx is freed either way). */
static void submit(serve_request_t *r, serve_job_t *job, void *ctx,
                   void (*run)(serve_job_t *, void *))
{
	if (!job || !ctx) {
		free(ctx);
		if (job)
			serve_job_free(job);
		serve_reply_error(r, 503, "out of memory");
		return;
	}
	job->ctx = ctx;
	job->run = run;
	serve_pool_submit(db.pool, job);
}

static void tasks_create(serve_request_t *r)
{
	json_t *doc = serve_body_json(r, SERVE_JSON_OBJECT);
	task_args_t *a;

	if (!doc)
		return;
	a = calloc(1, sizeof(*a));
	if (a && task_parse(r, doc, a) < 0) {
		free(a);
		json_decref(doc);
		return;
	}
	json_decref(doc);
	submit(r, serve_job_new(r, OP_INSERT), a, task_insert);
}

static void task_list_run(serve_job_t *job, void *conn)
{
	task_args_t *a = job->ctx;
	const char *params[] = {a->limit};
	json_writer_t w;
	int n;

	jsonw_init(&w, &job->out, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "tasks");
	jsonw_array_begin(&w);
	n = serve_db_query(job, conn,
	                   "SELECT " TASK_COLUMNS " FROM tasks ORDER BY id DESC LIMIT $1", 1,
	                   params, task_row, &w);
	jsonw_array_end(&w);
	jsonw_key(&w, "count");
	jsonw_int(&w, n);
	jsonw_object_end(&w);
}

static void tasks_list(serve_request_t *r)
{
	int64_t limit;
	task_args_t *a;

	if (serve_param_int(r, "limit", 10, 1, 1000, &limit) < 0)
		return;
	a = calloc(1, sizeof(*a));
	if (a)
		snprintf(a->limit, sizeof(a->limit), "%d", (int)limit);
	submit(r, serve_job_new(r, OP_SELECT), a, task_list_run);
}

/* The {id} of a prefix route: a positive integer, or -1 after a 400. */
static int path_id(serve_request_t *r, const char *route, char *out, size_t len)
{
	size_t n = r->path_tail.len;

	if (n < 1 || n > 18 || n >= len)
		goto bad;
	for (size_t i = 0; i < n; i++)
		if (r->path_tail.p[i] < '0' || r->path_tail.p[i] > '9')
			goto bad;
	memcpy(out, r->path_tail.p, n);
	out[n] = '\0';
	return 0;
bad:
	serve_reply_error(r, 400, "path: %s{id} needs a positive integer id", route);
	return -1;
}

static void task_get_run(serve_job_t *job, void *conn)
{
	task_args_t *a = job->ctx;
	const char *params[] = {a->id};
	json_writer_t w;

	jsonw_init(&w, &job->out, false);
	if (serve_db_query(job, conn, "SELECT " TASK_COLUMNS " FROM tasks WHERE id = $1", 1, params,
	                   task_row, &w) == 0) {
		job->status = 404;
		snprintf(job->err, sizeof(job->err), "task %s not found", a->id);
	}
}

static void task_delete_run(serve_job_t *job, void *conn)
{
	task_args_t *a = job->ctx;
	const char *params[] = {a->id};

	if (serve_db_query(job, conn, "DELETE FROM tasks WHERE id = $1", 1, params, NULL, NULL) ==
	    0) {
		job->status = 404;
		snprintf(job->err, sizeof(job->err), "task %s not found", a->id);
		return;
	}
	buf_printf(&job->out, "{\"deleted\":%s}", a->id);
}

static void task_by_id(serve_request_t *r)
{
	bool del = r->head.method.len == 6; /* DELETE; GET and HEAD otherwise */
	task_args_t *a = calloc(1, sizeof(*a));

	if (a && path_id(r, "/api/tasks/", a->id, sizeof(a->id)) < 0) {
		free(a);
		return;
	}
	submit(r, serve_job_new(r, del ? OP_DELETE : OP_SELECT), a,
	       del ? task_delete_run : task_get_run);
}

/* ---- pool exhaustion and expensive queries ---- */

/* What every job of one /api/db-pool-exhaust shares; only its worker touches it. */
typedef struct exhaust {
	serve_request_t *r;
	uint32_t remaining, held, timed_out;
	uint64_t max_wait_ns, hold_ns;
} exhaust_t;

static void exhaust_run(serve_job_t *job, void *conn)
{
	serve_pool_hold(job);
}

static void exhaust_reply(exhaust_t *e)
{
	json_writer_t w;

	serve_reply_json(e->r, 200, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "concurrent_queries");
	jsonw_uint(&w, e->held + e->timed_out);
	jsonw_key(&w, "held");
	jsonw_uint(&w, e->held);
	jsonw_key(&w, "timed_out");
	jsonw_uint(&w, e->timed_out);
	jsonw_key(&w, "duration_s");
	jsonw_double(&w, e->hold_ns / 1e9, 3);
	jsonw_key(&w, "pool_size");
	jsonw_uint(&w, serve_state.cfg->db_pool);
	jsonw_object_end(&w);
	serve_timing(e->r, "db-wait", e->max_wait_ns / 1e6);
	serve_timing(e->r, "db", (e->max_wait_ns + e->hold_ns) / 1e6);
}

/* Runs on the request's worker once per job; the last one answers. */
static void exhaust_done(serve_job_t *job)
{
	exhaust_t *e = job->ctx;

	job->ctx = NULL; /* shared: freed with the last job, not with each */
	if (job->result == JOB_OK)
		e->held++;
	else
		e->timed_out++;
	if (job->wait_ns > e->max_wait_ns)
		e->max_wait_ns = job->wait_ns;
	serve_job_free(job);
	if (--e->remaining)
		return;
	exhaust_reply(e);
	serve_resume(e->r);
	free(e);
}

static void pool_exhaust(serve_request_t *r)
{
	int64_t n;
	uint64_t hold;
	exhaust_t *e;

	if (serve_param_int(r, "concurrent_queries", 10, 1, 1000, &n) < 0 ||
	    serve_param_seconds(r, "duration", 5 * NS_PER_S, serve_state.cfg->max_delay_ns, &hold) <
	        0)
		return;
	e = calloc(1, sizeof(*e));
	if (!e) {
		serve_reply_error(r, 503, "out of memory");
		return;
	}
	*e = (exhaust_t){.r = r, .remaining = (uint32_t)n, .hold_ns = hold};
	for (int64_t i = 0; i < n; i++) {
		serve_job_t *job = serve_job_new(r, OP_SLEEP);
		if (!job) { /* count it as failed: the others still answer */
			e->timed_out++;
			if (--e->remaining == 0) {
				exhaust_reply(e);
				free(e);
			}
			continue;
		}
		job->hold_s = hold / 1e9;
		job->ctx = e;
		job->run = exhaust_run;
		job->done = exhaust_done;
		serve_pool_submit(db.pool, job);
	}
}

static int expensive_row(void *ctx, int n, const char *const *v)
{
	json_writer_t *w = ctx;

	jsonw_key(w, "pairs");
	jsonw_raw(w, v[0] ? v[0] : "0", strlen(v[0] ? v[0] : "0"));
	jsonw_key(w, "checksum");
	jsonw_raw(w, v[1] ? v[1] : "0", strlen(v[1] ? v[1] : "0"));
	return 0;
}

static void expensive_run(serve_job_t *job, void *conn)
{
	task_args_t *a = job->ctx;
	const char *params[] = {a->limit};
	json_writer_t w;

	/* a self-join of a generated series: iterations² row pairs, real work in the engine */
	jsonw_init(&w, &job->out, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "iterations");
	jsonw_raw(&w, a->limit, strlen(a->limit));
	serve_db_query(job, conn,
	               "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < "
	               "CAST($1 AS INTEGER)) SELECT count(*), COALESCE(sum(a.x * b.x % 97), 0) "
	               "FROM n a JOIN n b ON (a.x + b.x) % 7 = 0",
	               1, params, expensive_row, &w);
	jsonw_object_end(&w);
}

static void expensive_query(serve_request_t *r)
{
	int64_t n;
	task_args_t *a;

	if (serve_param_int(r, "iterations", 1000, 1, 5000, &n) < 0)
		return;
	a = calloc(1, sizeof(*a));
	if (a)
		snprintf(a->limit, sizeof(a->limit), "%d", (int)n);
	submit(r, serve_job_new(r, OP_SELECT), a, expensive_run);
}

static const serve_param_doc_t list_params[] = {
    {"limit", "integer", "10", "newest tasks to return, 1 to 1000"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t exhaust_params[] = {
    {"concurrent_queries", "integer", "10", "pool connections to hold (more than --db-pool wait)"},
    {"duration", "seconds", "5", "how long each is held"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t expensive_params[] = {
    {"iterations", "integer", "1000", "rows generated; the query joins iterations² pairs (≤ 5000)"},
    {NULL, NULL, NULL, NULL},
};

const serve_route_t serve_database_routes[] = {
    {"POST", "/api/tasks", "/api/tasks", tasks_create, 0,
     "create a task (JSON: title, description, status, priority)", NULL},
    {"GET", "/api/tasks", "/api/tasks", tasks_list, 0, "the newest tasks", list_params},
    {"GET", "/api/tasks/", "/api/tasks/{id}", task_by_id, ROUTE_PREFIX, "one task", NULL},
    {"DELETE", "/api/tasks/", "/api/tasks/{id}", task_by_id, ROUTE_PREFIX, "delete a task", NULL},
    {"GET", "/api/db-pool-exhaust", "/api/db-pool-exhaust", pool_exhaust, ROUTE_DANGEROUS,
     "hold pool connections so others wait and time out", exhaust_params},
    {"GET", "/api/expensive-query", "/api/expensive-query", expensive_query, 0,
     "a query that does real work in the database", expensive_params},
    {NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
