/* cli_help: `surge help [TOPIC]` and every command's --help. The same words live in
 * docs/ (one page per command); keep them true together. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char help_main[] =
	"surge — load testing: a target service and a load generator\n"
	"\n"
	"usage: surge COMMAND [options]\n"
	"\n"
	"commands:\n"
	"  run URL            run a load test against URL (closed model: -c connections)\n"
	"  serve              start the load-test target (endpoints that cost what you ask)\n"
	"  version            print the version\n"
	"  help [TOPIC]       this text, or a topic: run, serve, exit-codes, units\n"
	"\n"
	"Every command takes --help. Docs: docs/ in the source tree.\n";

static const char help_run[] =
	"usage: surge run [options] URL\n"
	"\n"
	"Sends requests to URL over keep-alive connections as fast as the target answers\n"
	"(closed model: each connection sends its next request when the previous response is\n"
	"complete) and prints a summary: requests, rate, transfer, latency percentiles, status\n"
	"codes and errors by kind. Ctrl-C stops early and still prints and writes the result.\n"
	"\n"
	"options:\n"
	"  -c, --connections N    open connections, spread over the threads (default 10)\n"
	"  -t, --threads N        worker threads, each with its own event loop\n"
	"                         (default: the number of CPUs, at most N connections)\n"
	"  -d, --duration D       how long to run, e.g. 30s, 5m (default 10s unless -n is given)\n"
	"  -n, --requests N       stop after N requests (with -d: whichever comes first)\n"
	"  -m, --method M         request method (default GET, or POST when a body is given)\n"
	"  -H, --header 'N: V'    add a request header (repeatable, at most 64); a Host or\n"
	"                         User-Agent header replaces the default one\n"
	"      --body TEXT        request body\n"
	"      --body-file FILE   request body read from FILE (at most 64 MiB)\n"
	"      --timeout D        per connect and per request (default 10s); a request that\n"
	"                         takes longer counts as read_timeout and its connection is closed\n"
	"  -k, --insecure         https: do not verify the server's certificate\n"
	"      --json FILE        write the result document (JSON) to FILE (- for stdout)\n"
	"  -q, --quiet            print nothing but errors\n"
	"  -h, --help             this text\n"
	"\n"
	"Latency is measured from the first byte written to the last byte of the response.\n"
	"Errors by kind: connect_refused, connect_timeout, connect_error, read_timeout, reset,\n"
	"closed_early, protocol_error, tls_error; responses outside 2xx/3xx count as errors too\n"
	"and are listed by status code.\n"
	"\n"
	"examples:\n"
	"  surge run -c 50 -d 30s http://127.0.0.1:8080/health\n"
	"  surge run -n 10000 -m POST -H 'Content-Type: application/json' --body '{\"a\":1}' URL\n"
	"  surge run -c 100 -t 2 --json result.json https://service.example/api\n";

static const char help_serve[] =
	"usage: surge serve [options]\n"
	"\n"
	"Starts the load-test target: an HTTP/1.1 server whose endpoints simulate work at an\n"
	"exact, requested cost (CPU, memory, delays, blocking, bytes, disk, chaos) and report what\n"
	"they paid in a Server-Timing header. GET / lists every endpoint; /metrics serves\n"
	"Prometheus metrics; /health and /ready are the probes. Every endpoint also takes\n"
	"?delay=&status=&size=&cpu_ms=, with distributions: delay=10ms:50,100ms:10 (percent of\n"
	"requests), uniform(a,b), normal(mean,sd), lognormal(median,p99). SIGTERM drains:\n"
	"/ready turns 503, listeners close, in-flight requests finish (--drain-timeout), exit 0.\n"
	"\n"
	"Each option is also read from the environment as SURGE_<NAME> (--max-body: SURGE_MAX_BODY),\n"
	"and the port from $PORT; flags win over the environment.\n"
	"\n"
	"options:\n";

static const char help_exit_codes[] =
	"surge exit codes\n"
	"\n"
	"  0  the run completed (errors from the target are reported, not fatal)\n"
	"  1  a threshold failed\n"
	"  2  usage or configuration error: a bad option, URL, file or scenario\n"
	"  3  the run could not reach the target: no response at all, connect or TLS errors\n"
	"  4  the generator itself was the bottleneck: its numbers describe the generator\n";

static const char help_units[] =
	"surge units\n"
	"\n"
	"  durations  250ms, 30s, 5m, 1h, 1.5s, 100us (a bare number is seconds)\n"
	"  rates      500, 500/s, 30000/m, 10/h\n"
	"  sizes      512, 64k, 10MiB (binary), 1MB (decimal)\n";

const char *cli_help_text(const char *topic)
{
	static const struct {
		const char *name;
		const char *text;
	} topics[] = {
		{"run", help_run},
		{"serve", help_serve},
		{"exit-codes", help_exit_codes},
		{"units", help_units},
	};

	if (!topic)
		return help_main;
	for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		if (strcmp(topic, topics[i].name) == 0)
			return topics[i].text;
	return NULL;
}

int cli_help(int argc, char **argv)
{
	const char *text = cli_help_text(argc > 1 ? argv[1] : NULL);

	if (!text) {
		fprintf(stderr, "surge help: no topic '%s' (topics: run, serve, exit-codes, units)\n",
			argv[1]);
		return EXIT_USAGE;
	}
	fputs(text, stdout);
	if (text == help_serve)
		cli_serve_options_help(stdout);
	return EXIT_OK;
}
