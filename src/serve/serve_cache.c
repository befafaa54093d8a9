/* serve_cache: users CRUD in the database behind a read-through cache (in-process LRU, or
 * Redis) — a read tries the cache, then the database, then fills the cache; writes invalidate. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/prom_write.h"
#include "serve/serve_db.h"

#define USER_COLUMNS   "id, name, email, created_at, updated_at"
#define BULK_MAX       100
#define REDIS_POOL_MAX 4

static struct {
	const serve_cache_backend_t *backend;
	serve_pool_t *redis; /* NULL: the LRU, called inline on the worker */
	_Atomic uint64_t hits, misses, errors, invalidations;
} cache;

enum users_kind { USERS_GET, USERS_CREATE, USERS_UPDATE, USERS_DELETE };
enum users_stage { ST_LOOKUP, ST_READ, ST_FILL, ST_WRITE, ST_INVALIDATE, ST_REPLY };

/* One request's walk through cache and database; lives until the reply. */
typedef struct users_req {
	serve_request_t *r;
	enum users_kind kind;
	enum users_stage stage;
	int64_t id;
	char id_text[24], now[40];
	char name[128], email[272];
	bool has_name, has_email, hit;
	const char *x_cache;
	int status;
	char err[320];
	buf_t doc;
	uint64_t db_ns, db_wait_ns, cache_ns;
} users_req_t;

/* The write the users table takes, validated from a JSON object; NULL or a message. */
typedef struct user_fields {
	char name[128], email[272];
	bool has_name, has_email;
} user_fields_t;

static void stage_start(users_req_t *u, enum users_stage s);

int serve_cache_start(const serve_config_t *cfg, char *err, size_t errlen)
{
	serve_pool_config_t pc = {.what = "redis",
	                          .option = "REDIS_URL, --db-timeout",
	                          .timeout_ns = cfg->db_timeout_ns,
	                          .connect = serve_cache_redis_connect,
	                          .close = serve_cache_redis_close,
	                          .arg = (void *)cfg->redis_url};

	if (!cfg->redis_url || !*cfg->redis_url) {
		cache.backend = &serve_cache_lru;
		if (serve_cache_lru_init(cfg->cache_entries) == 0)
			return 0;
		snprintf(err, errlen, "--cache-size %u: out of memory", cfg->cache_entries);
		return -1;
	}
	pc.size = cfg->db_pool < REDIS_POOL_MAX ? cfg->db_pool : REDIS_POOL_MAX;
	pc.size = pc.size ? pc.size : 1;
	cache.backend = &serve_cache_redis;
	cache.redis = serve_pool_start(&pc, err, errlen);
	return cache.redis ? 0 : -1;
}

void serve_cache_stop(void)
{
	serve_pool_stop(cache.redis);
	cache.redis = NULL;
	serve_cache_lru_free();
}

void serve_cache_metrics(buf_t *out)
{
	char l[64];

	snprintf(l, sizeof(l), "cache_backend=\"%s\"", cache.backend ? cache.backend->name : "lru");
	prom_family(out, "surge_cache_hits_total", "counter", "User reads answered by the cache.");
	prom_sample(out, "surge_cache_hits_total", l, (double)atomic_load(&cache.hits));
	prom_family(out, "surge_cache_misses_total", "counter",
	            "User reads the cache could not answer.");
	prom_sample(out, "surge_cache_misses_total", l, (double)atomic_load(&cache.misses));
	prom_family(out, "surge_cache_errors_total", "counter",
	            "Cache operations that failed (read as misses).");
	prom_sample(out, "surge_cache_errors_total", l, (double)atomic_load(&cache.errors));
	prom_family(out, "surge_cache_invalidations_total", "counter",
	            "Entries dropped because a write changed them.");
	prom_sample(out, "surge_cache_invalidations_total", l,
	            (double)atomic_load(&cache.invalidations));
	if (cache.redis)
		return;
	prom_metric(out, "surge_cache_entries", "gauge", "Entries in the in-process cache.",
	            serve_cache_lru_size());
	prom_metric(out, "surge_cache_evictions_total", "counter",
	            "Least recently used entries dropped.", (double)serve_cache_lru_evictions());
}

/* ---- the steps: each ends in stage_done on the request's worker ---- */

/* A users row (USER_COLUMNS order) as a JSON object. */
static int user_row(void *ctx, int n, const char *const *v)
{
	json_writer_t *w = ctx;
	static const char *const keys[] = {"name", "email", "created_at", "updated_at"};

	jsonw_object_begin(w);
	jsonw_key(w, "id");
	jsonw_raw(w, v[0], strlen(v[0]));
	for (int i = 0; i < 4; i++) {
		jsonw_key(w, keys[i]);
		jsonw_string(w, v[i + 1] ? v[i + 1] : "");
	}
	jsonw_object_end(w);
	return 0;
}

static void users_reply(users_req_t *u)
{
	serve_request_t *r = u->r;
	json_writer_t w;

	if (u->status >= 400) {
		serve_reply_error(r, u->status, "%s", u->err);
	} else {
		serve_reply_json(r, u->status, &w);
		jsonw_raw(&w, u->doc.data ? u->doc.data : "{}", u->doc.len ? u->doc.len : 2);
	}
	if (u->x_cache)
		serve_add_header(r, "X-Cache: %s", u->x_cache);
	if (u->db_ns || u->db_wait_ns)
		serve_timing(r, "db", (u->db_ns + u->db_wait_ns) / 1e6);
	serve_timing(r, "cache", u->cache_ns / 1e6);
	buf_free(&u->doc);
	free(u);
	if (r->deferred)
		serve_resume(r);
}

static void stage_done(users_req_t *u)
{
	switch (u->stage) {
	case ST_LOOKUP: stage_start(u, u->hit ? ST_REPLY : ST_READ); break;
	case ST_READ: stage_start(u, u->status == 200 ? ST_FILL : ST_REPLY); break;
	case ST_WRITE:
		stage_start(u,
		            u->kind != USERS_CREATE && u->status < 300 ? ST_INVALIDATE : ST_REPLY);
		break;
	default: stage_start(u, ST_REPLY);
	}
}

/* The cache step for the current stage, with conn (Redis) or inline (LRU). */
static void cache_op(users_req_t *u, void *conn)
{
	uint64_t t0 = clock_now_ns();
	int rc;

	if (u->stage == ST_LOOKUP) {
		rc = cache.backend->get(conn, u->id, &u->doc);
		u->hit = rc == 1;
		if (!u->hit)
			buf_reset(&u->doc);
		u->status = 200;
	} else if (u->stage == ST_FILL) {
		rc = cache.backend->set(conn, u->id, u->doc.data, u->doc.len);
	} else {
		rc = cache.backend->del(conn, u->id);
	}
	if (rc < 0)
		atomic_fetch_add(&cache.errors, 1);
	u->cache_ns += clock_now_ns() - t0;
}

static void cache_run(serve_job_t *job, void *conn)
{
	cache_op(job->chain, conn);
}

static void cache_done(serve_job_t *job)
{
	users_req_t *u = job->chain;

	if (job->result != JOB_OK) /* Redis too busy: read as a miss, the database answers */
		atomic_fetch_add(&cache.errors, 1);
	serve_job_free(job);
	stage_done(u);
}

static void cache_stage(users_req_t *u)
{
	serve_job_t *job;

	if (u->stage == ST_LOOKUP)
		u->x_cache = "MISS"; /* until the lookup says otherwise */
	if (!cache.redis || !(job = serve_job_new(u->r, OP_CACHE))) {
		cache_op(u, NULL);
		stage_done(u);
		return;
	}
	job->chain = u;
	job->run = cache_run;
	job->done = cache_done;
	serve_pool_submit(cache.redis, job);
}

static void count_lookup(users_req_t *u)
{
	if (u->stage != ST_LOOKUP)
		return;
	u->x_cache = u->hit ? "HIT" : "MISS";
	atomic_fetch_add(u->hit ? &cache.hits : &cache.misses, 1);
}

static void db_run(serve_job_t *job, void *conn)
{
	users_req_t *u = job->chain;
	const char *name = u->has_name ? u->name : NULL, *email = u->has_email ? u->email : NULL;
	const char *by_id[] = {u->id_text};
	const char *create[] = {name, email, u->now};
	const char *update[] = {u->id_text, name, email, u->now};
	json_writer_t w;
	int n;

	jsonw_init(&w, &u->doc, false);
	if (u->kind == USERS_GET)
		n = serve_db_query(job, conn, "SELECT " USER_COLUMNS " FROM users WHERE id = $1", 1,
		                   by_id, user_row, &w);
	else if (u->kind == USERS_CREATE)
		n = serve_db_query(job, conn,
		                   "INSERT INTO users (name, email, created_at, updated_at) VALUES "
		                   "($1, $2, $3, $3) RETURNING " USER_COLUMNS,
		                   3, create, user_row, &w);
	else if (u->kind == USERS_UPDATE)
		n = serve_db_query(
		    job, conn,
		    "UPDATE users SET name = COALESCE($2, name), email = COALESCE($3, "
		    "email), updated_at = $4 WHERE id = $1 RETURNING " USER_COLUMNS,
		    4, update, user_row, &w);
	else
		n = serve_db_query(job, conn,
		                   "DELETE FROM users WHERE id = $1 RETURNING " USER_COLUMNS, 1,
		                   by_id, user_row, &w);
	u->status = n < 0 ? 500 : n == 0 ? 404 : u->kind == USERS_CREATE ? 201 : 200;
	if (n < 0)
		snprintf(u->err, sizeof(u->err), "%s", job->err);
	else if (n == 0)
		snprintf(u->err, sizeof(u->err), "user %s not found", u->id_text);
}

static void db_done(serve_job_t *job)
{
	users_req_t *u = job->chain;

	u->db_wait_ns += job->wait_ns;
	u->db_ns += job->run_ns;
	if (job->result == JOB_TIMEOUT || job->result == JOB_FULL) {
		u->status = 503;
		snprintf(u->err, sizeof(u->err),
		         "database pool exhausted: waited %.1fs for one of %u connections "
		         "(--db-pool, --db-timeout)",
		         job->wait_ns / 1e9, serve_state.cfg->db_pool);
	}
	serve_job_free(job);
	stage_done(u);
}

static void stage_start(users_req_t *u, enum users_stage s)
{
	serve_job_t *job;

	if (u->stage == ST_LOOKUP && s != ST_LOOKUP)
		count_lookup(u);
	u->stage = s;
	if (s == ST_LOOKUP || s == ST_FILL || s == ST_INVALIDATE) {
		if (s == ST_INVALIDATE)
			atomic_fetch_add(&cache.invalidations, 1);
		cache_stage(u);
	} else if (s == ST_READ || s == ST_WRITE) {
		if (!(job = serve_job_new(u->r, u->kind == USERS_GET      ? OP_SELECT
		                                : u->kind == USERS_CREATE ? OP_INSERT
		                                : u->kind == USERS_UPDATE ? OP_UPDATE
		                                                          : OP_DELETE))) {
			u->status = 503;
			snprintf(u->err, sizeof(u->err), "out of memory");
			users_reply(u);
			return;
		}
		buf_reset(&u->doc);
		job->chain = u;
		job->run = db_run;
		job->done = db_done;
		serve_pool_submit(serve_db_pool(), job);
	} else {
		users_reply(u);
	}
}

/* ---- the handlers ---- */

/* Validates a user object; -1 with a message naming the field. */
static int user_parse(json_t *doc, bool need_all, user_fields_t *f, char *msg, size_t len)
{
	const char *key;
	json_t *v;

	if (!json_is_object(doc))
		return snprintf(msg, len, "expected a JSON object"), -1;
	json_object_foreach(doc, key, v)
	{
		size_t n = json_string_length(v);
		if (strcmp(key, "name") && strcmp(key, "email"))
			return snprintf(msg, len, "unknown field '%s' (known: name, email)", key),
			       -1;
		if (!json_is_string(v) || strlen(json_string_value(v)) != n || n < 1 || n > 100 ||
		    (key[0] == 'e' && (n < 3 || !strchr(json_string_value(v), '@'))))
			return snprintf(msg, len, "field '%s': expected %s", key,
			                key[0] == 'n'
			                    ? "a string of 1 to 100 characters"
			                    : "an e-mail address (with @), up to 100 characters"),
			       -1;
		snprintf(key[0] == 'n' ? f->name : f->email, sizeof(f->name), "%s",
		         json_string_value(v));
		*(key[0] == 'n' ? &f->has_name : &f->has_email) = true;
	}
	if (need_all && (!f->has_name || !f->has_email))
		return snprintf(msg, len, "field '%s': required", f->has_name ? "email" : "name"),
		       -1;
	if (!f->has_name && !f->has_email)
		return snprintf(msg, len, "field 'name' or 'email': give at least one"), -1;
	return 0;
}

static users_req_t *users_new(serve_request_t *r, enum users_kind kind)
{
	users_req_t *u = calloc(1, sizeof(*u));

	if (!u) {
		serve_reply_error(r, 503, "out of memory");
		return NULL;
	}
	u->r = r;
	u->kind = kind;
	u->stage = ST_REPLY; /* no lookup yet: the first stage_start counts none */
	buf_init(&u->doc, 1u << 20);
	clock_format_rfc3339(clock_wall_ns(), u->now, sizeof(u->now));
	return u;
}

/* The {id} of /api/users/{id}; -1 after a 400. */
static int users_id(serve_request_t *r, users_req_t *u)
{
	size_t n = r->path_tail.len;

	for (size_t i = 0; i < n; i++)
		if (r->path_tail.p[i] < '0' || r->path_tail.p[i] > '9')
			n = 0;
	if (n < 1 || n > 18) {
		serve_reply_error(r, 400, "path: /api/users/{id} needs a positive integer id");
		return -1;
	}
	memcpy(u->id_text, r->path_tail.p, n);
	u->id_text[n] = '\0';
	u->id = strtoll(u->id_text, NULL, 10);
	return 0;
}

/* GET, PUT and DELETE /api/users/{id}. */
static void users_by_id(serve_request_t *r)
{
	char m = r->head.method.p[0];
	enum users_kind kind = m == 'P' ? USERS_UPDATE : m == 'D' ? USERS_DELETE : USERS_GET;
	users_req_t *u = users_new(r, kind);
	user_fields_t f = {0};
	char msg[256];
	json_t *doc = NULL;

	if (!u || users_id(r, u) < 0)
		goto fail;
	if (kind == USERS_UPDATE) {
		if (!(doc = serve_body_json(r, SERVE_JSON_OBJECT)))
			goto fail;
		if (user_parse(doc, false, &f, msg, sizeof(msg)) < 0) {
			serve_reply_error(r, 400, "%s", msg);
			goto fail;
		}
		memcpy(u->name, f.name, sizeof(u->name));
		memcpy(u->email, f.email, sizeof(u->email));
		u->has_name = f.has_name;
		u->has_email = f.has_email;
	}
	json_decref(doc);
	stage_start(u, kind == USERS_GET ? ST_LOOKUP : ST_WRITE);
	return;
fail:
	json_decref(doc);
	if (u)
		buf_free(&u->doc);
	free(u);
}

static void users_create(serve_request_t *r)
{
	json_t *doc = serve_body_json(r, SERVE_JSON_OBJECT);
	user_fields_t f = {0};
	users_req_t *u;
	char msg[256];

	if (!doc)
		return;
	if (user_parse(doc, true, &f, msg, sizeof(msg)) < 0) {
		serve_reply_error(r, 400, "%s", msg);
		json_decref(doc);
		return;
	}
	json_decref(doc);
	if (!(u = users_new(r, USERS_CREATE)))
		return;
	memcpy(u->name, f.name, sizeof(u->name));
	memcpy(u->email, f.email, sizeof(u->email));
	u->has_name = u->has_email = true;
	stage_start(u, ST_WRITE);
}

/* ---- bulk: straight to the database, one job ---- */

typedef struct bulk {
	int count;
	char now[40];
	char ids[BULK_MAX][24];
	user_fields_t users[];
} bulk_t;

/* All rows in one transaction: a failure leaves none behind. */
static void bulk_create_run(serve_job_t *job, void *conn)
{
	bulk_t *b = job->ctx;
	json_writer_t w;

	job->status = 201;
	jsonw_init(&w, &job->out, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "users");
	jsonw_array_begin(&w);
	if (serve_db_query(job, conn, "BEGIN", 0, NULL, NULL, NULL) < 0)
		return;
	for (int i = 0; i < b->count; i++) {
		const char *p[] = {b->users[i].name, b->users[i].email, b->now};
		if (serve_db_query(job, conn,
		                   "INSERT INTO users (name, email, created_at, updated_at) VALUES "
		                   "($1, $2, $3, $3) RETURNING " USER_COLUMNS,
		                   3, p, user_row, &w) < 0) {
			serve_db_query(job, conn, "ROLLBACK", 0, NULL, NULL, NULL);
			job->result = JOB_ERROR;
			job->status = 500;
			return;
		}
	}
	if (serve_db_query(job, conn, "COMMIT", 0, NULL, NULL, NULL) < 0)
		return;
	jsonw_array_end(&w);
	jsonw_key(&w, "count");
	jsonw_int(&w, b->count);
	jsonw_object_end(&w);
}

static void users_bulk_create(serve_request_t *r)
{
	json_t *doc = serve_body_json(r, SERVE_JSON_ARRAY), *v;
	bulk_t *b = NULL;
	serve_job_t *job;
	size_t i;
	char msg[256];

	if (!doc)
		return;
	if (json_array_size(doc) < 1 || json_array_size(doc) > BULK_MAX) {
		serve_reply_error(r, 400, "body: expected a JSON array of 1 to %d users, got %zu",
		                  BULK_MAX, json_array_size(doc));
		goto out;
	}
	b = calloc(1, sizeof(*b) + json_array_size(doc) * sizeof(user_fields_t));
	if (!b || !(job = serve_job_new(r, OP_INSERT))) {
		serve_reply_error(r, 503, "out of memory");
		goto out;
	}
	json_array_foreach(doc, i, v)
	{
		if (user_parse(v, true, &b->users[i], msg, sizeof(msg)) < 0) {
			serve_reply_error(r, 400, "item %zu: %s", i, msg);
			serve_job_free(job);
			goto out;
		}
	}
	b->count = (int)json_array_size(doc);
	clock_format_rfc3339(clock_wall_ns(), b->now, sizeof(b->now));
	job->ctx = b;
	b = NULL;
	job->run = bulk_create_run;
	serve_pool_submit(serve_db_pool(), job);
out:
	free(b);
	json_decref(doc);
}

static void bulk_read_run(serve_job_t *job, void *conn)
{
	bulk_t *b = job->ctx;
	const char *params[BULK_MAX];
	char sql[2048];
	size_t off;
	json_writer_t w;
	int n;

	off =
	    (size_t)snprintf(sql, sizeof(sql), "SELECT " USER_COLUMNS " FROM users WHERE id IN (");
	for (int i = 0; i < b->count; i++) {
		params[i] = b->ids[i];
		off +=
		    (size_t)snprintf(sql + off, sizeof(sql) - off, "%s$%d", i ? ", " : "", i + 1);
	}
	snprintf(sql + off, sizeof(sql) - off, ") ORDER BY id");
	if (!b->count) /* ?limit=: the newest users */
		snprintf(sql, sizeof(sql),
		         "SELECT " USER_COLUMNS " FROM users ORDER BY id DESC LIMIT $1");
	if (!b->count)
		params[0] = b->now; /* the limit, as text */
	jsonw_init(&w, &job->out, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "users");
	jsonw_array_begin(&w);
	n = serve_db_query(job, conn, sql, b->count ? b->count : 1, params, user_row, &w);
	jsonw_array_end(&w);
	jsonw_key(&w, "count");
	jsonw_int(&w, n);
	jsonw_object_end(&w);
}

/* "1,2,3" into b->ids; -1 after a 400. */
static int parse_ids(serve_request_t *r, const char *text, bulk_t *b)
{
	const char *p = text;

	while (*p) {
		size_t n = strspn(p, "0123456789");
		if (n < 1 || n > 18 || (p[n] && p[n] != ',') || b->count >= BULK_MAX) {
			serve_reply_error(
			    r, 400, "parameter 'ids': expected up to %d ids like 1,2,3", BULK_MAX);
			return -1;
		}
		snprintf(b->ids[b->count++], sizeof(b->ids[0]), "%.*s", (int)n, p);
		p += n + (p[n] == ',');
	}
	return 0;
}

static void users_bulk_read(serve_request_t *r)
{
	char ids[BULK_MAX * 20];
	int64_t limit;
	bulk_t *b = calloc(1, sizeof(*b));
	serve_job_t *job;
	int rc = serve_param_string(r, "ids", ids, sizeof(ids));

	if (rc < 0 || (rc == 0 && b && parse_ids(r, ids, b) < 0) ||
	    serve_param_int(r, "limit", 10, 1, BULK_MAX, &limit) < 0) {
		free(b);
		return;
	}
	if (!b || !(job = serve_job_new(r, OP_SELECT))) {
		free(b);
		serve_reply_error(r, 503, "out of memory");
		return;
	}
	snprintf(b->now, sizeof(b->now), "%d", (int)limit);
	job->ctx = b;
	job->run = bulk_read_run;
	serve_pool_submit(serve_db_pool(), job);
}

static const serve_param_doc_t bulk_read_params[] = {
    {"ids", "string", "", "comma-separated ids, up to 100 (read from the database)"},
    {"limit", "integer", "10", "without ids: the newest users, up to 100"},
    {NULL, NULL, NULL, NULL},
};

const serve_route_t serve_users_routes[] = {
    {"POST", "/api/users", "/api/users", users_create, 0, "create a user (JSON: name, email)",
     NULL},
    {"GET", "/api/users", "/api/users", users_bulk_read, 0,
     "bulk read: ?ids=1,2,3 or ?limit=", bulk_read_params},
    {"POST", "/api/users/bulk", "/api/users/bulk", users_bulk_create, 0,
     "create up to 100 users (JSON array)", NULL},
    {"GET", "/api/users/", "/api/users/{id}", users_by_id, ROUTE_PREFIX,
     "one user, through the cache (X-Cache: HIT|MISS)", NULL},
    {"PUT", "/api/users/", "/api/users/{id}", users_by_id, ROUTE_PREFIX,
     "update a user (invalidates the cache)", NULL},
    {"DELETE", "/api/users/", "/api/users/{id}", users_by_id, ROUTE_PREFIX,
     "delete a user (invalidates the cache)", NULL},
    {NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
