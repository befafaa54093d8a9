/* serve_db_pg: PostgreSQL through libpq — blocking calls, which is why they only ever run on
 * pool threads; a broken connection is reset once before a query fails. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve_db.h"

static void quiet_notice(void *arg, const char *message)
{
	/* "relation already exists, skipping" and friends: not worth a line on stderr */
}

/* The seeds' SQLAlchemy form postgresql+asyncpg:// (any +driver) is the same URL to libpq. */
static void pg_url(const char *target, char *out, size_t len)
{
	const char *plus = strchr(target, '+');
	const char *sep = strstr(target, "://");

	if (plus && sep && plus < sep)
		snprintf(out, len, "%.*s%s", (int)(plus - target), target, sep);
	else
		snprintf(out, len, "%s", target);
}

static void *pg_connect(const char *target, char *err, size_t errlen)
{
	char url[1024];
	PGconn *c;

	pg_url(target, url, sizeof(url));
	c = PQconnectdb(url);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "PostgreSQL: %s", c ? PQerrorMessage(c) : "out of memory");
		err[strcspn(err, "\n")] = '\0';
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet_notice, NULL);
	return c;
}

static void pg_close(void *conn)
{
	PQfinish(conn);
}

static int pg_rows(PGresult *res, serve_db_row_fn row, void *ctx)
{
	const char *values[32];
	int n = PQnfields(res), rows = PQntuples(res);

	n = n > 32 ? 32 : n;
	for (int i = 0; i < rows && row; i++) {
		for (int j = 0; j < n; j++)
			values[j] = PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
		if (row(ctx, n, values))
			break;
	}
	return rows;
}

static int pg_query(void *conn, const char *sql, int nparams, const char *const *params,
                    serve_db_row_fn row, void *ctx, char *err, size_t errlen)
{
	PGconn *c = conn;
	PGresult *res;
	int rows = -1;

	if (PQstatus(c) != CONNECTION_OK)
		PQreset(c); /* the server restarted or the connection dropped: one retry */
	res = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK: rows = pg_rows(res, row, ctx); break;
	case PGRES_COMMAND_OK: rows = atoi(PQcmdTuples(res)); break;
	default:
		snprintf(err, errlen, "PostgreSQL: %s", PQerrorMessage(c));
		err[strcspn(err, "\n")] = '\0';
	}
	PQclear(res);
	return rows;
}

static const char *const pg_schema[] = {
    "CREATE TABLE IF NOT EXISTS tasks (id BIGSERIAL PRIMARY KEY, title TEXT NOT NULL, "
    "description TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'pending', priority "
    "INTEGER NOT NULL DEFAULT 3, created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS users (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, email "
    "TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)",
    NULL,
};

const serve_db_backend_t serve_db_pg = {
    .name = "postgresql",
    .connect = pg_connect,
    .close = pg_close,
    .query = pg_query,
    .schema = pg_schema,
};
