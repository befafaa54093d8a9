/* serve_cache_redis: the cache in Redis through hiredis — blocking calls, so they run on a
 * small pool of threads each owning one connection; a dropped connection reconnects once. */
#include <hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/echo.h"
#include "serve/serve_db.h"

#define TTL_SECONDS "300" /* entries expire even if an invalidation was lost */

/* redis://[:password@]host[:port][/db] */
static int parse_url(const char *url, char *host, size_t hostlen, int *port, char *pass,
                     size_t passlen, int *dbnum)
{
	const char *p = url, *at, *slash;

	if (strncmp(p, "redis://", 8) != 0)
		return -1;
	p += 8;
	slash = strchr(p, '/');
	at = strchr(p, '@');
	if (at && (!slash || at < slash)) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		const char *pw = colon ? colon + 1 : p;
		snprintf(pass, passlen, "%.*s", (int)(at - pw), pw);
		p = at + 1;
	}
	*port = 6379;
	*dbnum = slash ? atoi(slash + 1) : 0;
	snprintf(host, hostlen, "%.*s", (int)(slash ? (size_t)(slash - p) : strlen(p)), p);
	if (strchr(host, ':')) {
		*port = atoi(strchr(host, ':') + 1);
		*strchr(host, ':') = '\0';
	}
	return host[0] ? 0 : -1;
}

static int setup(redisContext *c, const char *pass, int dbnum, char *err, size_t errlen)
{
	redisReply *rep = NULL;

	if (pass[0])
		rep = redisCommand(c, "AUTH %s", pass);
	if (pass[0] && (!rep || rep->type == REDIS_REPLY_ERROR))
		goto fail;
	freeReplyObject(rep);
	rep = dbnum ? redisCommand(c, "SELECT %d", dbnum) : NULL;
	if (dbnum && (!rep || rep->type == REDIS_REPLY_ERROR))
		goto fail;
	freeReplyObject(rep);
	return 0;
fail:
	snprintf(err, errlen, "Redis: %s", rep ? rep->str : c->errstr);
	freeReplyObject(rep);
	return -1;
}

void *serve_cache_redis_connect(void *url, char *err, size_t errlen)
{
	char host[256], pass[256] = "";
	int port, dbnum;
	struct timeval tv = {2, 0};
	redisContext *c;

	if (parse_url(url, host, sizeof(host), &port, pass, sizeof(pass), &dbnum) < 0) {
		snprintf(err, errlen, "%s '%s': expected redis://[:password@]host:port/db",
		         serve_option_from(serve_state.cfg->redis_url_from, "--redis-url"),
		         ECHO((const char *)url));
		return NULL;
	}
	c = redisConnectWithTimeout(host, port, tv);
	if (!c || c->err) {
		snprintf(err, errlen, "Redis %s:%d: %s", host, port, c ? c->errstr : "no memory");
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv); /* a stuck Redis costs a bounded wait, then a miss */
	if (setup(c, pass, dbnum, err, errlen) < 0) {
		redisFree(c);
		return NULL;
	}
	return c;
}

void serve_cache_redis_close(void *conn)
{
	redisFree(conn);
}

/* A command, with one reconnect when the connection broke since the last one. */
static redisReply *command(redisContext *c, const char *fmt, int64_t id, const char *v, size_t len)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		redisReply *rep;
		if (c->err && redisReconnect(c) != REDIS_OK)
			return NULL;
		rep = redisCommand(c, fmt, (long long)id, v, len);
		if (rep)
			return rep;
	}
	return NULL;
}

static int redis_get(void *conn, int64_t id, buf_t *out)
{
	redisReply *rep = command(conn, "GET surge:user:%lld", id, NULL, 0);
	int rc = -1;

	if (rep && rep->type == REDIS_REPLY_NIL)
		rc = 0;
	else if (rep && rep->type == REDIS_REPLY_STRING)
		rc = buf_append(out, rep->str, rep->len) == 0 ? 1 : -1;
	freeReplyObject(rep);
	return rc;
}

static int redis_set(void *conn, int64_t id, const char *value, size_t len)
{
	redisReply *rep = command(conn, "SET surge:user:%lld %b EX " TTL_SECONDS, id, value, len);
	int rc = rep && rep->type != REDIS_REPLY_ERROR ? 0 : -1;

	freeReplyObject(rep);
	return rc;
}

static int redis_del(void *conn, int64_t id)
{
	redisReply *rep = command(conn, "DEL surge:user:%lld", id, NULL, 0);
	int rc = rep && rep->type == REDIS_REPLY_INTEGER ? 0 : -1;

	freeReplyObject(rep);
	return rc;
}

const serve_cache_backend_t serve_cache_redis = {
    .name = "redis",
    .get = redis_get,
    .set = redis_set,
    .del = redis_del,
};
