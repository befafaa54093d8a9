/* serve_db_sqlite: the embedded database — a file (WAL, so readers and one writer proceed
 * together) or one shared in-memory database for every pool connection. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "serve/serve_db.h"

#define BUSY_WAIT_NS (5 * NS_PER_S) /* beyond this a locked database is an error */

static void *sqlite_connect(const char *target, char *err, size_t errlen)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	char uri[128];
	sqlite3 *db = NULL;
	bool memory = strcmp(target, ":memory:") == 0;

	if (memory) {
		/* each plain :memory: connection would be its own empty database: share one */
		snprintf(uri, sizeof(uri), "file:surge-%d?mode=memory&cache=shared", (int)getpid());
		target = uri;
		flags |= SQLITE_OPEN_URI;
	}
	if (sqlite3_open_v2(target, &db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "SQLite %s: %s", target,
		         db ? sqlite3_errmsg(db) : "no memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	if (!memory && sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL,
	                            NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "SQLite %s: %s", target, sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static void sqlite_close(void *conn)
{
	sqlite3_close(conn);
}

/* Binds $1..$n by name, so one SQL text serves SQLite and PostgreSQL. */
static int bind_params(sqlite3_stmt *st, int nparams, const char *const *params)
{
	char name[16];

	for (int i = 0; i < nparams; i++) {
		int index;

		snprintf(name, sizeof(name), "$%d", i + 1);
		index = sqlite3_bind_parameter_index(st, name);
		if (index && sqlite3_bind_text(st, index, params[i], -1, SQLITE_TRANSIENT))
			return -1;
	}
	return 0;
}

/* Shared-cache memory databases answer SQLITE_LOCKED, which the busy handler does not
 * cover: wait a little and step again, for a bounded time. */
static int step(sqlite3 *db, sqlite3_stmt *st, uint64_t *deadline)
{
	struct timespec ms = {0, 1000000};
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_LOCKED || rc == SQLITE_BUSY) {
		if (!*deadline)
			*deadline = clock_now_ns() + BUSY_WAIT_NS;
		if (clock_now_ns() > *deadline)
			break;
		sqlite3_reset(st);
		nanosleep(&ms, NULL);
	}
	return rc;
}

static int sqlite_query(void *conn, const char *sql, int nparams, const char *const *params,
                        serve_db_row_fn row, void *ctx, char *err, size_t errlen)
{
	sqlite3 *db = conn;
	sqlite3_stmt *st = NULL;
	const char *values[32];
	uint64_t deadline = 0;
	int rc, rows = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    bind_params(st, nparams, params) < 0)
		goto fail;
	while ((rc = step(db, st, &deadline)) == SQLITE_ROW) {
		int n = sqlite3_column_count(st);
		n = n > 32 ? 32 : n;
		for (int i = 0; i < n; i++)
			values[i] = (const char *)sqlite3_column_text(st, i);
		rows++;
		if (row && row(ctx, n, values))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	if (!rows && !sqlite3_stmt_readonly(st))
		rows = sqlite3_changes(db);
	sqlite3_finalize(st);
	return rows;
fail:
	snprintf(err, errlen, "SQLite: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return -1;
}

static const char *const sqlite_schema[] = {
    "CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT "
    "NULL, description TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'pending', "
    "priority INTEGER NOT NULL DEFAULT 3, created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT "
    "NULL, email TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
    NULL,
};

const serve_db_backend_t serve_db_sqlite = {
    .name = "sqlite",
    .connect = sqlite_connect,
    .close = sqlite_close,
    .query = sqlite_query,
    .schema = sqlite_schema,
};
