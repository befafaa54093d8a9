/* cli_serve: `surge serve` — one table of options, each also read from SURGE_<NAME> (and the
 * seeds' PORT), so a container is configured the Kubernetes way; flags win over the
 * environment, the environment over the defaults. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "core/clock.h"
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
	OPT_ONOFF
};

typedef struct serve_option {
	const char *name;
	enum opt_type type;
	size_t offset;
	const char *help;
} serve_option_t;

#define OFF(field) offsetof(serve_config_t, field)

static const serve_option_t options[] = {
    {"listen", OPT_ADDR, 0, "ADDR:PORT to listen on (default 0.0.0.0:8080)"},
    {"port", OPT_PORT, 0, "port only (also $PORT)"},
    {"workers", OPT_COUNT, OFF(workers), "worker threads, each with its own loop (default: CPUs)"},
    {"max-connections", OPT_COUNT, OFF(max_connections),
     "open connections at most (default 10000)"},
    {"max-header-bytes", OPT_SIZE, OFF(max_header_bytes),
     "request line + headers (default 16k; over: 431)"},
    {"max-body", OPT_SIZE, OFF(max_body_bytes), "request body (default 10MiB; over: 413)"},
    {"header-timeout", OPT_DURATION, OFF(header_timeout_ns),
     "time to send a request head (default 10s; then 408)"},
    {"idle-timeout", OPT_DURATION, OFF(idle_timeout_ns), "keep-alive idle time (default 60s)"},
    {"drain-timeout", OPT_DURATION, OFF(drain_timeout_ns), "graceful shutdown limit (default 30s)"},
    {"max-delay", OPT_DURATION, OFF(max_delay_ns), "cap on any requested delay (default 300s)"},
    {"max-size", OPT_SIZE, OFF(max_size_bytes),
     "cap on any requested response size (default 100MiB)"},
    {"max-cpu", OPT_DURATION, OFF(max_cpu_ns), "cap on CPU time per request (default 10s)"},
    {"memory-cap", OPT_SIZE, OFF(memory_cap_bytes),
     "leaked + spiking memory at most (default 1GiB; over: 507)"},
    {"max-load-cores", OPT_COUNT, OFF(max_load_cores),
     "background load threads at most (default: CPUs)"},
    {"no-chaos", OPT_NOFLAG, OFF(chaos),
     "switch off leaks, blocking, load, chaos and crash endpoints"},
    {"allow-crash", OPT_FLAG, OFF(allow_crash), "let POST /admin/crash exit the process"},
    {"admin-token", OPT_STRING, OFF(admin_token), "bearer token required by /admin/... endpoints"},
    {"data-dir", OPT_STRING, OFF(data_dir), "directory for the disk endpoints (default /tmp)"},
    {"default-params", OPT_STRING, OFF(default_params),
     "parameters for bare requests, e.g. 'delay=10ms:50,100ms:10'"},
    {"log-level", OPT_LEVEL, OFF(log_level), "debug, info, warn or error (default info)"},
    {"access-log", OPT_ONOFF, OFF(access_log), "on or off: one JSON line per request (default on)"},
    {"role", OPT_STRING, OFF(role), "default, or downstream: serve only the downstream API"},
    {"downstream-url", OPT_STRING, OFF(downstream_url),
     "the downstream service (also $DOWNSTREAM_SERVICE_URL; default: this process)"},
    {"database-url", OPT_STRING, OFF(database_url),
     "postgresql://... (also $DATABASE_URL; default: SQLite)"},
    {"sqlite", OPT_STRING, OFF(sqlite_path),
     "SQLite file or :memory: (default <data-dir>/surge.db)"},
    {"db-pool", OPT_COUNT, OFF(db_pool), "database connections (default 10)"},
    {"db-timeout", OPT_DURATION, OFF(db_timeout_ns),
     "wait for a free connection at most (default 5s; then 503)"},
    {"redis-url", OPT_STRING, OFF(redis_url),
     "redis://host:port/db (also $REDIS_URL; default: in-process LRU)"},
    {"cache-size", OPT_COUNT, OFF(cache_entries), "in-process cache entries (default 10000)"},
    {NULL, 0, 0, NULL},
};

static int parse_addr(serve_config_t *cfg, const char *v, char *err, size_t len)
{
	const char *colon = strrchr(v, ':');
	size_t hlen = colon ? (size_t)(colon - v) : strlen(v);
	uint64_t port;

	if (v[0] == '[' && hlen >= 2 && v[hlen - 1] == ']')
		v++, hlen -= 2;
	if (hlen >= sizeof(cfg->host)) {
		snprintf(err, len, "address too long");
		return -1;
	}
	if (hlen) {
		memcpy(cfg->host, v, hlen);
		cfg->host[hlen] = '\0';
	}
	if (colon) {
		if (units_parse_count(colon + 1, 0, 65535, &port, err, len) < 0)
			return -1;
		cfg->port = (uint16_t)port;
	}
	return 0;
}

static int set_option(serve_config_t *cfg, const serve_option_t *o, const char *v, char *err,
                      size_t len)
{
	void *field = (char *)cfg + o->offset;
	uint64_t n;

	switch (o->type) {
	case OPT_ADDR: return parse_addr(cfg, v, err, len);
	case OPT_PORT:
		if (units_parse_count(v, 0, 65535, &n, err, len) < 0)
			return -1;
		cfg->port = (uint16_t)n;
		return 0;
	case OPT_COUNT:
		if (units_parse_count(v, 1, 10000000, &n, err, len) < 0)
			return -1;
		*(uint32_t *)field = (uint32_t)n;
		return 0;
	case OPT_DURATION: return units_parse_duration(v, NS_PER_S, field, err, len);
	case OPT_SIZE:
		if (units_parse_size(v, &n, err, len) < 0)
			return -1;
		if (o->offset == OFF(max_header_bytes)) {
			if (n < 256 || n > 1048576) {
				snprintf(err, len, "must be from 256 bytes to 1MiB");
				return -1;
			}
			*(uint32_t *)field = (uint32_t)n;
		} else {
			*(uint64_t *)field = n;
		}
		return 0;
	case OPT_FLAG: *(bool *)field = true; return 0;
	case OPT_NOFLAG: *(bool *)field = false; return 0;
	case OPT_STRING: *(const char **)field = v; return 0;
	case OPT_LEVEL: {
		static const char *const levels[] = {"debug", "info", "warn", "error"};
		for (int i = 0; i < 4; i++)
			if (strcasecmp(v, levels[i]) == 0) {
				*(enum serve_log_level *)field = (enum serve_log_level)i;
				return 0;
			}
		snprintf(err, len, "'%s' is not one of debug, info, warn, error", v);
		return -1;
	}
	case OPT_ONOFF:
		if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
			snprintf(err, len, "'%s' is not on or off", v);
			return -1;
		}
		*(bool *)field = strcmp(v, "on") == 0;
		return 0;
	}
	return -1;
}

static bool takes_value(const serve_option_t *o)
{
	return o->type != OPT_FLAG && o->type != OPT_NOFLAG;
}

static const serve_option_t *find_option(const char *arg, const char **value)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

	*value = eq ? eq + 1 : NULL;
	for (const serve_option_t *o = options; o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, arg, len) == 0)
			return o;
	return NULL;
}

/* SURGE_<NAME>: upper case, '-' as '_'. Flags read "1", "true" or "on" as set. */
static int read_environment(serve_config_t *cfg)
{
	char name[64], err[200];
	const char *v;

	static const struct {
		const char *env, *option;
	} seeds[] = {
	    {"PORT", "port"},
	    {"DOWNSTREAM_SERVICE_URL", "downstream-url"},
	    {"DATABASE_URL", "database-url"},
	    {"REDIS_URL", "redis-url"},
	};

	/* the seeds' names first, so SURGE_<NAME> (read next) wins over them */
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		const char *ignored;
		const serve_option_t *o = find_option(seeds[i].option, &ignored);

		if ((v = getenv(seeds[i].env)) && *v && set_option(cfg, o, v, err, sizeof(err)) < 0)
			return cli_usage_error("serve", "$%s: %s", seeds[i].env, err);
	}
	for (const serve_option_t *o = options; o->name; o++) {
		size_t i = 0;

		i += (size_t)snprintf(name, sizeof(name), "SURGE_");
		for (const char *p = o->name; *p && i + 1 < sizeof(name); p++)
			name[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
		name[i] = '\0';
		if (!(v = getenv(name)) || !*v)
			continue;
		if (!takes_value(o) && strcmp(v, "1") && strcasecmp(v, "true") &&
		    strcasecmp(v, "on"))
			continue;
		if (set_option(cfg, o, v, err, sizeof(err)) < 0)
			return cli_usage_error("serve", "$%s: %s", name, err);
	}
	return 0;
}

static int read_arguments(serve_config_t *cfg, int argc, char **argv)
{
	char err[200];

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *value;
		const serve_option_t *o;

		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			fputs(cli_help_text("serve"), stdout);
			cli_serve_options_help(stdout);
			return -1;
		}
		if (strncmp(arg, "--", 2) != 0 || !(o = find_option(arg + 2, &value)))
			return cli_usage_error("serve", "unknown option '%s'", arg);
		if (takes_value(o) && !value) {
			if (i + 1 == argc)
				return cli_usage_error("serve", "--%s needs a value", o->name);
			value = argv[++i];
		} else if (!takes_value(o) && value) {
			return cli_usage_error("serve", "--%s takes no value", o->name);
		}
		if (set_option(cfg, o, value, err, sizeof(err)) < 0)
			return cli_usage_error("serve", "--%s: %s", o->name, err);
	}
	return 0;
}

/* The option list for `surge serve --help`, generated from the table. */
void cli_serve_options_help(FILE *out)
{
	for (const serve_option_t *o = options; o->name; o++) {
		char flag[48];

		snprintf(flag, sizeof(flag), "--%s%s", o->name, takes_value(o) ? " V" : "");
		fprintf(out, "  %-22s %s\n", flag, o->help);
	}
}

int cli_serve(int argc, char **argv)
{
	serve_config_t cfg;
	char err[300];
	int rc;

	serve_config_defaults(&cfg);
	if ((rc = read_environment(&cfg)) != 0 || (rc = read_arguments(&cfg, argc, argv)) != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (strcmp(cfg.role, "default") != 0 && strcmp(cfg.role, "downstream") != 0)
		return cli_usage_error("serve", "--role '%s': expected default or downstream",
		                       cfg.role);
	if (serve_run(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "surge serve: %s\n", err);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}
