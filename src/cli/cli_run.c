/* cli_run: `surge run` — turns options into a gen_config, runs it with a live progress
 * line, handles Ctrl-C, prints the summary, writes the result file and picks the exit code. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/units.h"
#include "gen/gen.h"
#include "report/report.h"

#define BODY_MAX (64u * 1024 * 1024)

typedef struct run_options {
	gen_config_t cfg;
	const char *json_path;
	const char *body_file;
	bool method_given;
	bool quiet;
	char *body_owned;
} run_options_t;

enum { OPT_BODY = 256, OPT_BODY_FILE, OPT_TIMEOUT, OPT_JSON, OPT_INSECURE };

static const struct option long_options[] = {
	{"connections", required_argument, NULL, 'c'},
	{"threads", required_argument, NULL, 't'},
	{"duration", required_argument, NULL, 'd'},
	{"requests", required_argument, NULL, 'n'},
	{"method", required_argument, NULL, 'm'},
	{"header", required_argument, NULL, 'H'},
	{"body", required_argument, NULL, OPT_BODY},
	{"body-file", required_argument, NULL, OPT_BODY_FILE},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"json", required_argument, NULL, OPT_JSON},
	{"insecure", no_argument, NULL, 'k'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int count_option(const char *name, const char *arg, uint64_t min, uint64_t max,
			uint64_t *out)
{
	char err[160];

	if (units_parse_count(arg, min, max, out, err, sizeof(err)) < 0)
		return cli_usage_error("run", "--%s: %s", name, err);
	return 0;
}

static int duration_option(const char *name, const char *arg, uint64_t *out)
{
	char err[160];

	if (units_parse_duration(arg, NS_PER_S, out, err, sizeof(err)) < 0)
		return cli_usage_error("run", "--%s: %s", name, err);
	return 0;
}

static int header_option(run_options_t *o, const char *arg)
{
	const char *colon = strchr(arg, ':');

	if (!colon || colon == arg)
		return cli_usage_error("run", "--header '%s': expected 'Name: value'", arg);
	if (o->cfg.header_count == GEN_MAX_HEADERS)
		return cli_usage_error("run", "--header: at most %d headers", GEN_MAX_HEADERS);
	o->cfg.headers[o->cfg.header_count++] = arg;
	return 0;
}

static int body_file_option(run_options_t *o, const char *path)
{
	size_t len;

	free(o->body_owned);
	o->body_owned = cli_read_file(path, BODY_MAX, &len);
	if (!o->body_owned)
		return cli_usage_error("run", "--body-file %s: %s", path,
				       errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
	o->cfg.body = o->body_owned;
	o->cfg.body_len = len;
	o->cfg.has_body = true;
	return 0;
}

static int parse_option(run_options_t *o, int opt, const char *arg)
{
	gen_config_t *cfg = &o->cfg;
	uint64_t v;
	int rc = 0;

	switch (opt) {
	case 'c':
		rc = count_option("connections", arg, 1, GEN_MAX_CONNECTIONS, &v);
		cfg->connections = (uint32_t)v;
		break;
	case 't':
		rc = count_option("threads", arg, 1, GEN_MAX_THREADS, &v);
		cfg->threads = (uint32_t)v;
		break;
	case 'd': rc = duration_option("duration", arg, &cfg->duration_ns); break;
	case 'n': rc = count_option("requests", arg, 1, UINT64_MAX / 2, &cfg->requests); break;
	case 'm':
		cfg->method = arg;
		o->method_given = true;
		break;
	case 'H': rc = header_option(o, arg); break;
	case OPT_BODY:
		cfg->body = arg;
		cfg->body_len = strlen(arg);
		cfg->has_body = true;
		break;
	case OPT_BODY_FILE: rc = body_file_option(o, arg); break;
	case OPT_TIMEOUT: rc = duration_option("timeout", arg, &cfg->timeout_ns); break;
	case OPT_JSON: o->json_path = arg; break;
	case 'k': cfg->insecure = true; break;
	case 'q': o->quiet = true; break;
	default: return EXIT_USAGE;
	}
	return rc;
}

static int parse_args(run_options_t *o, int argc, char **argv)
{
	char err[200];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int opt, rc;

	o->cfg.method = "GET";
	o->cfg.connections = 10;
	o->cfg.threads = cpus > 0 ? (uint32_t)cpus : 1;
	o->cfg.timeout_ns = 10 * NS_PER_S;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+c:t:d:n:m:H:kqh", long_options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(cli_help_text("run"), stdout);
			return -1;
		}
		if (opt == '?' || opt == ':')
			return cli_usage_error("run", "unknown option or missing value: '%s'",
					       argv[optind - 1]);
		if ((rc = parse_option(o, opt, optarg)) != 0)
			return rc;
	}
	if (optind == argc)
		return cli_usage_error("run", "missing URL");
	if (optind != argc - 1)
		return cli_usage_error("run", "expected one URL, got '%s' too", argv[argc - 1]);
	o->cfg.url_text = argv[optind];
	if (url_parse(o->cfg.url_text, &o->cfg.url, err, sizeof(err)) < 0)
		return cli_usage_error("run", "URL '%s': %s", o->cfg.url_text, err);
	if (o->cfg.has_body && !o->method_given)
		o->cfg.method = "POST";
	if (!o->cfg.duration_ns && !o->cfg.requests)
		o->cfg.duration_ns = 10 * NS_PER_S;
	if (o->cfg.threads > o->cfg.connections)
		o->cfg.threads = o->cfg.connections;
	return 0;
}

/* The live line: what the last finished second looked like. */
static void print_progress(gen_run_t *run, size_t *seen, uint64_t *total, uint64_t *errors)
{
	gen_point_t p[16];
	size_t n;
	char p50[16], p99[16];

	while ((n = gen_timeline_snapshot(run, *seen, p, 16)) > 0) {
		*seen += n;
		for (size_t i = 0; i < n; i++) {
			*total += p[i].requests;
			*errors += p[i].errors;
		}
		const gen_point_t *last = &p[n - 1];
		units_format_duration_us((double)last->p50_us, p50, sizeof(p50));
		units_format_duration_us((double)last->p99_us, p99, sizeof(p99));
		fprintf(stderr, "\r\033[K[%5.0fs] %u conns  %.0f req/s  p50 %s  p99 %s  errors %llu",
			last->t, last->users, last->length_s > 0 ? last->requests / last->length_s : 0,
			p50, p99, (unsigned long long)*errors);
		fflush(stderr);
	}
}

/* Waits for the run, showing progress and turning SIGINT/SIGTERM into a clean stop. */
static void supervise(gen_run_t *run, const sigset_t *signals, bool progress)
{
	struct timespec tick = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
	size_t seen = 0;
	uint64_t total = 0, errors = 0;
	int stops = 0;

	while (!gen_finished(run)) {
		int sig = sigtimedwait(signals, NULL, &tick);

		if (sig == SIGINT || sig == SIGTERM) {
			if (stops++ == 0 && progress)
				fprintf(stderr, "\nstopping: finishing the result for the time run\n");
			gen_stop(run);
		}
		if (progress)
			print_progress(run, &seen, &total, &errors);
	}
	if (progress && seen)
		fputc('\n', stderr);
}

static int write_outputs(const run_options_t *o, const gen_result_t *r)
{
	buf_t out;
	int rc = 0;

	buf_init(&out, 1u << 30);
	/* with --json -, stdout carries the document and the summary moves to stderr */
	if (!o->quiet && report_text(&o->cfg, r, &out) == 0)
		fwrite(out.data, 1, out.len, o->json_path && strcmp(o->json_path, "-") == 0 ? stderr : stdout);
	fflush(stdout);
	if (o->json_path) {
		buf_reset(&out);
		rc = report_json(&o->cfg, r, &out);
		if (rc == 0)
			rc = cli_write_file(o->json_path, out.data, out.len);
		if (rc < 0)
			fprintf(stderr, "surge run: cannot write %s: %s\n", o->json_path, strerror(-rc));
	}
	buf_free(&out);
	return rc;
}

static int exit_code(const gen_result_t *r)
{
	const uint64_t *k = r->counters.errors_by_kind;

	if (r->counters.requests == 0 &&
	    k[GEN_ERR_CONNECT_REFUSED] + k[GEN_ERR_CONNECT_TIMEOUT] + k[GEN_ERR_CONNECT] + k[GEN_ERR_TLS] > 0)
		return EXIT_UNREACHABLE;
	return EXIT_OK;
}

int cli_run(int argc, char **argv)
{
	run_options_t o = {0};
	gen_result_t result;
	gen_run_t *run;
	sigset_t signals;
	char err[256];
	int rc;

	rc = parse_args(&o, argc, argv);
	if (rc != 0) {
		free(o.body_owned);
		return rc < 0 ? EXIT_OK : rc;
	}
	/* every thread inherits the blocked mask; only supervise() takes the signals */
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	if (!o.quiet)
		fprintf(stderr, "surge run %s %s: %u connections on %u threads, %s\n", o.cfg.method,
			o.cfg.url_text, o.cfg.connections, o.cfg.threads,
			o.cfg.requests ? "until the request count" : "for the duration");
	run = gen_start(&o.cfg, err, sizeof(err));
	if (!run) {
		free(o.body_owned);
		fprintf(stderr, "surge run: %s\n", err);
		return EXIT_USAGE;
	}
	supervise(run, &signals, !o.quiet && isatty(STDERR_FILENO));
	if (gen_finish(run, &result) < 0) {
		free(o.body_owned);
		fprintf(stderr, "surge run: out of memory collecting the result\n");
		return EXIT_USAGE;
	}
	rc = write_outputs(&o, &result) < 0 ? EXIT_USAGE : exit_code(&result);
	gen_result_free(&result);
	free(o.body_owned);
	return rc;
}
