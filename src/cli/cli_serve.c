/* cli_serve: `surge serve` — one table of options, each also read from SURGE_<NAME> (and the
 * seeds' PORT, DATABASE_URL, REDIS_URL, DOWNSTREAM_SERVICE_URL), so a container is configured
 * the Kubernetes way. Flags win over the environment, SURGE_<NAME> over the seeds' names, and
 * those over the defaults; a value that is overridden is never read, so a bad one cannot
 * stop the start. Every error is one line naming what the user typed: the flag, or the
 * environment variable. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_options.h"
#include "core/clock.h"
#include "core/echo.h"
#include "core/loop.h"
#include "core/units.h"
#include "serve/serve.h"

enum opt_type {
	OPT_ADDR,
	OPT_PORT,
	OPT_COUNT,
	OPT_DURATION,
	OPT_SIZE,
	OPT_FLAG,
	OPT_NOFLAG,
	OPT_STRING,
	OPT_LEVEL,
	OPT_BOOL,
	OPT_CPU_QUANTITY,
	OPT_MEMORY_QUANTITY
};

/* A row of the table: the shared part (name, SURGE_<NAME>, help), then how it sets its field. */
typedef struct serve_option {
	cli_option_t cli;
	enum opt_type type;
	size_t offset;
	uint64_t min, max; /* counts: the range; durations: min only (0 = none) */
} serve_option_t;

#define OFF(field) offsetof(serve_config_t, field)
#define ROW(name, type, offset, min, max, help)                                                    \
	{                                                                                          \
		{name, 0, (type) == OPT_FLAG || (type) == OPT_NOFLAG ? NULL : "V", help, 0}, type, \
		    offset, min, max                                                               \
	}

static const serve_option_t options[] = {
    ROW("listen", OPT_ADDR, 0, 0, 0, "ADDR:PORT to listen on (default 0.0.0.0:8080; :PORT = all)"),
    ROW("port", OPT_PORT, 0, 0, 0, "port only (also $PORT)"),
    ROW("workers", OPT_COUNT, OFF(workers), 1, SERVE_WORKERS_MAX,
        "worker threads, each with its own loop (default: CPUs; at most 1024)"),
    ROW("max-connections", OPT_COUNT, OFF(max_connections), 1, 10000000,
        "open connections at most (default 10000)"),
    ROW("max-header-bytes", OPT_SIZE, OFF(max_header_bytes), 0, 0,
        "request line + headers (default 16k; over: 431)"),
    ROW("max-streams", OPT_COUNT, OFF(max_streams), 1, 10000000,
        "HTTP/2: concurrent streams per connection (default 100)"),
    ROW("tls-cert", OPT_STRING, OFF(tls_cert), 0, 0,
        "serve HTTPS with this PEM certificate (chain); ALPN h2 and http/1.1"),
    ROW("tls-key", OPT_STRING, OFF(tls_key), 0, 0, "... and this PEM private key"),
    ROW("max-body", OPT_SIZE, OFF(max_body_bytes), 0, 0, "request body (default 10MiB; over: 413)"),
    ROW("header-timeout", OPT_DURATION, OFF(header_timeout_ns), 1, 0,
        "time to send a request head (default 10s; then 408)"),
    ROW("idle-timeout", OPT_DURATION, OFF(idle_timeout_ns), 1, 0,
        "keep-alive idle time, above 0 (default 60s)"),
    ROW("drain-timeout", OPT_DURATION, OFF(drain_timeout_ns), 0, 0,
        "graceful shutdown limit (default 30s)"),
    ROW("max-delay", OPT_DURATION, OFF(max_delay_ns), 0, 0,
        "cap on any requested delay (default 300s)"),
    ROW("max-size", OPT_SIZE, OFF(max_size_bytes), 0, 0,
        "cap on any requested response size (default 100MiB)"),
    ROW("max-cpu", OPT_DURATION, OFF(max_cpu_ns), 0, 0,
        "cap on CPU time per request (default 10s)"),
    ROW("memory-cap", OPT_SIZE, OFF(memory_cap_bytes), 0, 0,
        "leaked + spiking memory at most (default 1GiB; over: 507)"),
    ROW("max-load-cores", OPT_COUNT, OFF(max_load_cores), 1, 10000000,
        "background load threads at most (default: CPUs)"),
    ROW("no-chaos", OPT_NOFLAG, OFF(chaos), 0, 0,
        "switch off leaks, blocking, load, chaos and crash endpoints"),
    ROW("allow-crash", OPT_FLAG, OFF(allow_crash), 0, 0, "let POST /admin/crash exit the process"),
    ROW("admin-token", OPT_STRING, OFF(admin_token), 0, 0,
        "bearer token required by /admin/... endpoints"),
    ROW("data-dir", OPT_STRING, OFF(data_dir), 0, 0,
        "directory for the disk endpoints (default /tmp)"),
    ROW("default-params", OPT_STRING, OFF(default_params), 0, 0,
        "parameters for bare requests, e.g. 'delay=10ms:50,100ms:10'"),
    ROW("log-level", OPT_LEVEL, OFF(log_level), 0, 0, "debug, info, warn or error (default info)"),
    ROW("access-log", OPT_BOOL, OFF(access_log), 0, 0,
        "on or off: one JSON line per request (default on)"),
    ROW("io", OPT_STRING, OFF(io), 0, 0,
        "the workers' I/O: auto (io_uring if the kernel allows it, else epoll), uring, epoll"),
    ROW("role", OPT_STRING, OFF(role), 0, 0,
        "default, or downstream: serve only the downstream API"),
    ROW("downstream-url", OPT_STRING, OFF(downstream_url), 0, 0,
        "the downstream service (also $DOWNSTREAM_SERVICE_URL; default: this process)"),
    ROW("database-url", OPT_STRING, OFF(database_url), 0, 0,
        "postgresql://... (also $DATABASE_URL; default: SQLite)"),
    ROW("sqlite", OPT_STRING, OFF(sqlite_path), 0, 0,
        "SQLite file or :memory: (default <data-dir>/surge.db)"),
    ROW("db-pool", OPT_COUNT, OFF(db_pool), 1, 10000000, "database connections (default 10)"),
    ROW("db-timeout", OPT_DURATION, OFF(db_timeout_ns), 0, 0,
        "wait for a free connection at most (default 5s; then 503)"),
    ROW("redis-url", OPT_STRING, OFF(redis_url), 0, 0,
        "redis://host:port/db (also $REDIS_URL; default: in-process LRU)"),
    ROW("cache-size", OPT_COUNT, OFF(cache_entries), 1, 10000000,
        "in-process cache entries (default 10000)"),
    ROW("instance-name", OPT_STRING, OFF(instance_name), 0, 0,
        "name on X-Served-By and in metrics (also $POD_NAME; default: the host name)"),
    ROW("cpu-limit", OPT_CPU_QUANTITY, OFF(cpu_limit_millicores), 0, 0,
        "run in a cgroup of its own with this CPU limit (200m, 0.5, 2)"),
    ROW("memory-limit", OPT_MEMORY_QUANTITY, OFF(memory_limit_bytes), 0, 0,
        "... and this memory limit (128Mi, 1Gi; an OOM kill restarts serve)"),
};

#define OPTION_COUNT ((int)(sizeof(options) / sizeof(options[0])))
#define TABLE        CLI_TABLE(options)
_Static_assert(OPTION_COUNT <= CLI_OPTIONS_MAX, "serve's options fit a cli_given_t");

/* The environment's other names for options (the seeds' variables): read below SURGE_<NAME>. */
static const struct {
	const char *env, *option;
} seeds[] = {
    {"PORT", "port"},
    {"DOWNSTREAM_SERVICE_URL", "downstream-url"},
    {"DATABASE_URL", "database-url"},
    {"REDIS_URL", "redis-url"},
    {"POD_NAME", "instance-name"},
};

/* "surge serve: MSG (see 'surge help serve')" on one line: control characters in what was
 * formatted (a value, a driver's message) become spaces. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void one_line(char *s)
{
	char *o = s;
	bool space = false;

	for (char *p = s; *p; p++) {
		bool blank = (unsigned char)*p < 0x20 || *p == 0x7f || *p == ' ';

		if (blank && (space || o == s))
			continue;
		*o++ = blank ? ' ' : *p;
		space = blank;
	}
	while (o > s && o[-1] == ' ')
		o--;
	*o = '\0';
}

static int usage_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	one_line(msg);
	fprintf(stderr, "surge serve: %s (see 'surge help serve')\n", msg);
	return EXIT_USAGE;
}

static int option_index(const char *name, size_t len)
{
	return cli_option_find(TABLE, name, len);
}

/* "ADDR:PORT", "[IPv6]:PORT" or ":PORT" (every address). */
static int parse_addr(serve_config_t *cfg, const char *v, char *err, size_t len)
{
	const char *host = v, *colon;
	size_t hlen;
	uint64_t port;

	if (v[0] == '[') {
		const char *close = strchr(v, ']');

		colon = close && close[1] == ':' ? close + 1 : NULL;
		host = v + 1;
		hlen = close ? (size_t)(close - host) : 0;
	} else {
		colon = strrchr(v, ':');
		hlen = colon ? (size_t)(colon - v) : 0;
		if (colon && memchr(v, ':', hlen)) {
			snprintf(err, len,
			         "'%s': an IPv6 address goes in brackets, e.g. [::1]:8080",
			         ECHO(v));
			return -1;
		}
	}
	if (!colon) {
		snprintf(err, len,
		         "'%s': expected ADDR:PORT, e.g. 127.0.0.1:8080, [::1]:8080 or :8080",
		         ECHO(v));
		return -1;
	}
	if (hlen >= sizeof(cfg->host)) {
		snprintf(err, len, "'%s': the address is longer than %zu characters", ECHO(v),
		         sizeof(cfg->host) - 1);
		return -1;
	}
	if (units_parse_count(colon + 1, 1, 65535, &port, err, len) < 0) {
		snprintf(err, len, "'%s': expected ADDR:PORT with a port from 1 to 65535", ECHO(v));
		return -1;
	}
	if (hlen) {
		memcpy(cfg->host, host, hlen);
		cfg->host[hlen] = '\0';
	} else {
		snprintf(cfg->host, sizeof(cfg->host), "0.0.0.0");
	}
	cfg->port = (uint16_t)port;
	return 0;
}

static int set_duration(const serve_option_t *o, void *field, const char *v, char *err, size_t len)
{
	uint64_t ns;

	if (units_parse_duration(v, NS_PER_S, &ns, err, len) < 0)
		return -1;
	if (ns < o->min) {
		snprintf(err, len, "'%s': must be above 0", ECHO(v));
		return -1;
	}
	*(uint64_t *)field = ns;
	return 0;
}

static int set_size(const serve_option_t *o, void *field, const char *v, char *err, size_t len)
{
	uint64_t n;

	if (units_parse_size(v, &n, err, len) < 0)
		return -1;
	if (o->offset != OFF(max_header_bytes)) {
		*(uint64_t *)field = n;
		return 0;
	}
	if (n < 256 || n > 1048576) {
		snprintf(err, len, "'%s': must be from 256 bytes to 1 MiB", ECHO(v));
		return -1;
	}
	*(uint32_t *)field = (uint32_t)n;
	return 0;
}

static int set_option(serve_config_t *cfg, const serve_option_t *o, const char *v, char *err,
                      size_t len)
{
	void *field = (char *)cfg + o->offset;
	uint64_t n;
	bool b;

	switch (o->type) {
	case OPT_ADDR: return parse_addr(cfg, v, err, len);
	case OPT_PORT:
		if (units_parse_count(v, 1, 65535, &n, err, len) < 0)
			return -1;
		cfg->port = (uint16_t)n;
		return 0;
	case OPT_COUNT:
		if (units_parse_count(v, o->min, o->max, &n, err, len) < 0)
			return -1;
		*(uint32_t *)field = (uint32_t)n;
		return 0;
	case OPT_DURATION: return set_duration(o, field, v, err, len);
	case OPT_SIZE: return set_size(o, field, v, err, len);
	case OPT_FLAG:
	case OPT_NOFLAG:
		/* a flag's value comes from the environment only (SURGE_NO_CHAOS=true) */
		if (units_parse_bool(v, &b, err, len) < 0)
			return -1;
		*(bool *)field = o->type == OPT_FLAG ? b : !b;
		return 0;
	case OPT_STRING: *(const char **)field = v; return 0;
	case OPT_LEVEL: {
		static const char *const levels[] = {"debug", "info", "warn", "error"};
		for (int i = 0; i < 4; i++)
			if (strcasecmp(v, levels[i]) == 0) {
				*(enum serve_log_level *)field = (enum serve_log_level)i;
				return 0;
			}
		snprintf(err, len, "'%s' is not one of debug, info, warn, error", ECHO(v));
		return -1;
	}
	case OPT_BOOL: return units_parse_bool(v, (bool *)field, err, len);
	case OPT_CPU_QUANTITY: return units_parse_cpu_quantity(v, (uint64_t *)field, err, len);
	case OPT_MEMORY_QUANTITY:
		return units_parse_memory_quantity(v, (uint64_t *)field, err, len);
	}
	return -1;
}

static bool takes_value(const serve_option_t *o)
{
	return o->cli.value != NULL;
}

/* Records what the command line gives, without applying it: the environment is read first
 * for what the command line leaves alone, then the command line is applied over it. */
static int read_arguments(cli_given_t *flags, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq, *value;
		char from[CLI_OPTION_FROM_MAX];
		int o;

		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			fputs(cli_help_text("serve"), stdout);
			cli_serve_options_help(stdout);
			return -1;
		}
		eq = strchr(arg, '=');
		o = strncmp(arg, "--", 2) == 0
		        ? option_index(arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2))
		        : -1;
		if (o < 0)
			return usage_error("unknown option '%s'", ECHO(arg));
		value = eq ? eq + 1 : NULL;
		if (takes_value(&options[o]) && !value) {
			if (i + 1 == argc)
				return usage_error("--%s needs a value", options[o].cli.name);
			value = argv[++i];
		} else if (!takes_value(&options[o]) && value) {
			return usage_error("--%s takes no value", options[o].cli.name);
		} else if (!value) {
			value = "true";
		}
		snprintf(from, sizeof(from), "--%s", options[o].cli.name);
		cli_given_set(flags, o, from, value);
	}
	return 0;
}

/* What the environment gives for the options the command line leaves alone: SURGE_<NAME>,
 * else the seeds' name. --listen (and SURGE_LISTEN) carry the port, so they hide PORT. */
static void read_environment(const cli_given_t *flags, cli_given_t *env)
{
	int listen = option_index("listen", 6), port = option_index("port", 4);

	cli_options_read_env(TABLE, flags, env);
	if (flags->value[listen])
		env->value[port] = NULL;
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		int o = option_index(seeds[i].option, strlen(seeds[i].option));

		if (flags->value[o] || env->value[o] ||
		    (o == port && (flags->value[listen] || env->value[listen])))
			continue;
		if ((env->value[o] = cli_env_value(seeds[i].env)))
			snprintf(env->from[o], CLI_OPTION_FROM_MAX, "$%s", seeds[i].env);
	}
}

static int apply(serve_config_t *cfg, const cli_given_t *g)
{
	char err[ECHO_SIZE + 200];

	/* in table order: --listen before --port, so a port given alone overrides it */
	for (int o = 0; o < OPTION_COUNT; o++)
		if (g->value[o] && set_option(cfg, &options[o], g->value[o], err, sizeof(err)) < 0)
			return usage_error("%s: %s", g->from[o], err);
	return 0;
}

/* The name the user gave an option by, for messages checked after parsing. */
static const char *name_of(const cli_given_t *flags, const cli_given_t *env, const char *option)
{
	return cli_given_name(TABLE, flags, env, option);
}

/* An instance name goes into a response header and a label: printable ASCII, at most a
 * DNS name's 253 characters. */
static int instance_name_check(const char *v, char *err, size_t len)
{
	size_t n = strlen(v);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e) {
			snprintf(err, len,
			         "'%s': only printable ASCII (a character 0x%02x at offset %zu)",
			         ECHO(v), (unsigned char)v[i], i);
			return -1;
		}
	if (n > 253) {
		snprintf(err, len, "'%s': longer than 253 characters", ECHO(v));
		return -1;
	}
	return 0;
}

/* What can be judged without starting anything. */
static int check(const serve_config_t *cfg, const cli_given_t *flags, const cli_given_t *env)
{
	char err[ECHO_SIZE + 200];
	const char *name;

	if (strcmp(cfg->role, "default") != 0 && strcmp(cfg->role, "downstream") != 0) {
		name = name_of(flags, env, "role");
		return usage_error("%s '%s': expected default or downstream",
		                   name ? name : "--role", ECHO(cfg->role));
	}
	if (loop_io_parse(cfg->io, &(enum loop_io_choice){0}) < 0) {
		name = name_of(flags, env, "io");
		return usage_error("%s '%s': expected auto, uring or epoll", name ? name : "--io",
		                   ECHO(cfg->io));
	}
	if (cfg->instance_name && instance_name_check(cfg->instance_name, err, sizeof(err)) < 0) {
		name = name_of(flags, env, "instance-name");
		return usage_error("%s: %s", name ? name : "--instance-name", err);
	}
	if (!cfg->tls_cert != !cfg->tls_key) {
		name = name_of(flags, env, cfg->tls_cert ? "tls-cert" : "tls-key");
		return usage_error("%s needs %s too", name ? name : "--tls-cert",
		                   cfg->tls_cert ? "--tls-key" : "--tls-cert");
	}
	if (cfg->default_params &&
	    serve_default_params_check(cfg->default_params, err, sizeof(err)) < 0) {
		name = name_of(flags, env, "default-params");
		return usage_error("%s: %s", name ? name : "--default-params", err);
	}
	return 0;
}

/* The option list for `surge serve --help`, generated from the table. */
void cli_serve_options_help(FILE *out)
{
	cli_options_help(TABLE, out);
}

int cli_serve(int argc, char **argv)
{
	static cli_given_t flags, env;
	serve_config_t cfg;
	char err[1024];
	int rc;

	memset(&flags, 0, sizeof(flags));
	memset(&env, 0, sizeof(env));
	serve_config_defaults(&cfg);
	if ((rc = read_arguments(&flags, argc, argv)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	read_environment(&flags, &env);
	if ((rc = apply(&cfg, &env)) != 0 || (rc = apply(&cfg, &flags)) != 0 ||
	    (rc = check(&cfg, &flags, &env)) != 0)
		return rc;
	cfg.data_dir_from = name_of(&flags, &env, "data-dir");
	cfg.database_url_from = name_of(&flags, &env, "database-url");
	cfg.redis_url_from = name_of(&flags, &env, "redis-url");
	cfg.downstream_url_from = name_of(&flags, &env, "downstream-url");
	cfg.workers_from = name_of(&flags, &env, "workers");
	cfg.cpu_limit_from = name_of(&flags, &env, "cpu-limit");
	cfg.memory_limit_from = name_of(&flags, &env, "memory-limit");
	if (cfg.cpu_limit_millicores || cfg.memory_limit_bytes) {
		int code;

		rc = serve_limits_run(&cfg, &code, err, sizeof(err));
		if (rc < 0) {
			one_line(err);
			fprintf(stderr, "surge serve: %s\n", err);
			return EXIT_USAGE;
		}
		if (rc > 0)
			return code; /* the supervisor: its child served and is gone */
	}
	if (cli_io_choose(cfg.io, name_of(&flags, &env, "io"), "serve") < 0)
		return EXIT_USAGE;
	if (serve_run(&cfg, err, sizeof(err)) < 0) {
		one_line(err);
		fprintf(stderr, "surge serve: %s\n", err);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}
