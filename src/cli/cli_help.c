/* cli_help: `surge help [TOPIC]` and every command's --help. The same words live in
 * docs/ (one page per command); keep them true together. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_outputs.h"
#include "gen/profiles.h"

static const char help_main[] =
    "surge — load testing: a target service and a load generator\n"
    "\n"
    "usage: surge COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  run URL            run a load test against URL (closed model, or open with -R)\n"
    "  run SCENARIO.lua   run a Lua scenario: user classes, tasks, checks (docs/scenarios.md)\n"
    "  capacity URL       find the highest rate that meets an SLO (--slo 'p95<200ms')\n"
    "  report RESULT      render a saved result: markdown, HTML, CSV, JUnit, HDR log\n"
    "  compare BASE NEW   per-metric deltas of two results; exit 1 on a regression\n"
    "  merge A B ... -o F merge the results of one run's shards exactly\n"
    "  serve              start the load-test target (endpoints that cost what you ask)\n"
    "  version            print the version\n"
    "  help [TOPIC]       this text, or a topic: run, report, compare, merge, serve,\n"
    "                     capacity, profiles, exit-codes, units\n"
    "\n"
    "Every command takes --help. Docs: docs/ in the source tree.\n";

static const char help_run[] =
    "usage: surge run [options] URL\n"
    "       surge run [options] [--host URL] SCENARIO.lua\n"
    "\n"
    "Sends requests to URL over keep-alive connections and prints a summary: requests, rate,\n"
    "transfer, latency percentiles, status codes, errors by kind, thresholds and the\n"
    "assessment. Ctrl-C stops early and still prints and writes the result.\n"
    "\n"
    "Closed model (default): each connection (user) sends its next request when the previous\n"
    "response is complete. Open model (-R, or --model open with --stages): requests arrive\n"
    "at the asked rate whatever the target does; latency counts from each request's intended\n"
    "send time, so a stalled server shows in the percentiles (no coordinated omission).\n"
    "\n"
    "A scenario (a .lua file; docs/scenarios.md) declares user classes with weighted tasks or\n"
    "flows, think time, checks and data; each user is a coroutine on the event loop. Its\n"
    "options = {...} apply first and the command line overrides them (a load shape or\n"
    "--threshold given here replaces the file's whole shape or list); --host URL gives its\n"
    "target when the file does not. When the run ends users finish the request they have\n"
    "out and run on_stop, for at most --graceful-stop D (default 5s; 0: stop at once); a\n"
    "second Ctrl-C stops at once.\n"
    "\n"
    "Options go before or after the URL or file (-c 10, -c10, -c=10 and --connections=10\n"
    "are the same). Everything is checked before the run starts: a bad value, header or\n"
    "method, two options that set the same thing, or an output that cannot be written is\n"
    "one line naming it and exit 2 (a value is echoed up to 200 characters, then \"…\").\n"
    "\n"
    "load shape:\n"
    "  -c, --connections N    closed: users; open: most requests in flight (default 10; 100\n"
    "                         in the open model). One option per part of the shape: -c with\n"
    "                         --users, closed --stages with -c, or -R with --stages is an\n"
    "                         error (exit 2)\n"
    "  -R, --rate RATE        open model at RATE: 500, 500/s, 30000/m\n"
    "      --stages S         ramps, e.g. '30s:10,1m:50,30s:0' (from 0, linearly to each\n"
    "                         target): users in the closed model, the rate in the open one\n"
    "      --model M          closed or open (with --stages: open makes them rates)\n"
    "      --users N          closed model, Locust style: N users ...\n"
    "      --spawn-rate R     ... started at R per second\n"
    "      --max-queue N      open model: arrivals that may wait for a free connection\n"
    "                         (counted late); beyond, they are dropped (default 1000; 0:\n"
    "                         none wait); the closed model has no queue (a warning)\n"
    "      --profile P        basic, stress, spike, soak, cache, breakpoint (surge help\n"
    "                         profiles); the options above override the profile's own\n"
    "\n"
    "judging the run:\n"
    "      --threshold EXPR   fail the run (exit 1) unless EXPR holds, repeatable: p50 p90\n"
    "                         p95 p99 p99.9 max mean min with a duration ('p95<200ms'),\n"
    "                         error_rate ('error_rate<1%'), rps ('rps>100'); per endpoint:\n"
    "                         'name:/api/users:p99<300ms'\n"
    "      --abort-on-fail    check thresholds every second and stop at the first failure\n"
    "      --target-p95 D     the assessment's latency target (default 200ms)\n"
    "      --target-error-rate P   its error-rate target (default 5%)\n"
    "      --target-rps N     its throughput target (default none; the asked rate in the\n"
    "                         open model)\n"
    "\n"
    "recommendations and cost (printed as 'advice'; in the result's target,\n"
    "recommendations and cost sections):\n"
    "      --scrape URL       read the target's Prometheus metrics (http://.../metrics) once\n"
    "                         a second during the run: process CPU and memory, cgroup limits,\n"
    "                         in-flight requests, DB pool waits; the advice then says how many\n"
    "                         replicas the load needs: ceil(replicas x CPU utilisation / 0.7)\n"
    "      --replicas N       how many replicas of the target share the load (default 1)\n"
    "      --cost-per-hour USD   the price of one replica per hour: adds the cost per million\n"
    "                         requests, (USD x replicas) / (req/s x 3600) x 1e6\n"
    "\n"
    "requests and run:\n"
    "  -t, --threads N        worker threads, each with its own event loop\n"
    "                         (default: the number of CPUs, at most N connections)\n"
    "  -d, --duration D       how long to run, e.g. 30s, 5m, above 0 (default 10s unless -n\n"
    "                         is given)\n"
    "  -n, --requests N       stop after N requests (with -d: whichever comes first)\n"
    "  -m, --method M         request method (default GET, or POST when a body is given)\n"
    "  -H, --header 'N: V'    add a request header (repeatable, at most 64); a Host or\n"
    "                         User-Agent header replaces the default one; Content-Length\n"
    "                         and Transfer-Encoding are surge's to set (exit 2)\n"
    "      --body TEXT        request body\n"
    "      --body-file FILE   request body read from FILE (at most 64 MiB; not with --body)\n"
    "      --timeout D        per connect and per request, above 0 (default 10s); a request\n"
    "                         that takes longer counts as read_timeout and its connection is\n"
    "                         closed\n"
    "  -k, --insecure         https: do not verify the server's certificate (a warning with\n"
    "                         http://)\n"
    "  -q, --quiet            no banner, progress or summary: only errors and warnings\n"
    "  -h, --help             this text\n"
    "\n"
    "scenarios (SCENARIO.lua; each also settable in the file's options, e.g. script_memory):\n"
    "      --host URL         the target, when the file's options.host does not give it\n"
    "      --graceful-stop D  how long users get to leave when the run ends (default 5s)\n"
    "      --script-memory SIZE   the Lua heap each thread's VM may hold (default 512MiB,\n"
    "                         4MiB to 1TiB); past it (after a full collection) the task\n"
    "                         running ends with a script error naming it\n"
    "  Code that never yields is stopped all the same: the run's end makes a user leave its\n"
    "  task, the grace or a second Ctrl-C ends it. A misspelt key, a contradiction or a bad\n"
    "  value in the file is exit 2 naming the file, the class and the key\n"
    "  (FILE: user class 'Shop': unknown key 'wiat'; FILE: options.rate: must be above 0).\n"
    "\n"
    "outputs (each rendered from the result document, as 'surge report' does; each file is\n"
    "checked writable before the run starts, written through a symlink to its target, never\n"
    "over a file you may not write):\n" CLI_OUTPUTS_HELP "\n"
    "Latency: closed model, from the first byte written to the last byte of the response;\n"
    "open model, from the intended send time (the summary also shows the service time).\n"
    "The generator checks itself second by second: when a thread had no idle CPU, or its\n"
    "pacer sent over 10% of a second's arrivals more than 25 ms late, for 3 seconds in a row\n"
    "or a quarter of the run (at least 3 seconds; for CPU, every second of a shorter run),\n"
    "the summary says which and the exit code is 4. One stall is not saturation.\n"
    "Errors by kind (a request without a valid response counts once, as one of these):\n"
    "  connect_refused  the port refused the connection\n"
    "  connect_timeout  connecting or the TLS handshake took longer than --timeout\n"
    "  connect_error    any other connect failure (unreachable, no route)\n"
    "  read_timeout     no whole response within --timeout: a server that never answers,\n"
    "                   or drips bytes (the timeout is for the whole response)\n"
    "  reset            the connection was reset: before the status line, in the headers,\n"
    "                   the body or a chunk\n"
    "  closed_early     the server closed (or half-closed) before the response was\n"
    "                   complete: a body shorter than its Content-Length, a chunk cut short\n"
    "  protocol_error   not HTTP/1.1: a garbage status line, a head over 64 KiB or 100\n"
    "                   header lines (endless 1xx responses included), a chunk size past\n"
    "                   2^64, or bytes nobody asked for after a response (a body longer\n"
    "                   than its Content-Length, an answer before the request)\n"
    "  tls_error        the TLS handshake failed: a certificate not verified (without -k),\n"
    "                   a reset during the handshake, a server that does not speak TLS\n"
    "  resource_error   the generator's own machine ran out of memory, file descriptors or\n"
    "                   local ports (the target did nothing wrong; exit 4)\n"
    "Interim 1xx responses are skipped; a body with neither length nor chunks ends when the\n"
    "server closes. Responses outside 2xx/3xx count as errors too, listed by status code.\n"
    "Exit: 0 done, 1 a threshold failed, 2 usage, 3 not one valid response, 4 the generator\n"
    "was the bottleneck, 5 nothing was measured (surge help exit-codes).\n"
    "\n"
    "examples:\n"
    "  surge run -c 50 -d 30s http://127.0.0.1:8080/health\n"
    "  surge run -n 10000 -m POST -H 'Content-Type: application/json' --body '{\"a\":1}' URL\n"
    "  surge run -c 100 -t 2 --json result.json https://service.example/api\n"
    "  surge run -R 500 -d 1m --threshold 'p99<250ms' --threshold 'error_rate<1%' URL\n"
    "  surge run --model open --stages '1m:100,5m:100,1m:0' URL\n"
    "  surge run --profile spike URL\n"
    "  surge run --host http://127.0.0.1:8080 -d 1m --users 100 scenarios/seed001.lua\n"
    "  surge run -c 50 -d 1m --scrape http://HOST:8080/metrics --replicas 3 \\\n"
    "            --cost-per-hour 0.10 http://HOST:8080/api/users\n";

static const char help_capacity[] =
    "usage: surge capacity [options] URL\n"
    "\n"
    "Finds the highest request rate URL sustains within an SLO: open-model runs at rising\n"
    "rates (doubling from --start) until one fails, then bisection between the last pass and\n"
    "the first failure until they are within --precision. Each step is printed; the answer\n"
    "is the highest rate that passed.\n"
    "\n"
    "options:\n"
    "      --slo EXPR         the latency objective, e.g. 'p95<200ms' (required; any\n"
    "                         --threshold expression)\n"
    "      --max-error P      the largest error rate that passes, 0% to 100% (default 1%)\n"
    "      --start RATE       the first rate tried (default 50/s; at most --max-rate)\n"
    "      --max-rate RATE    never try above this (default 1000000/s)\n"
    "      --step D           how long each step runs, 1s to 1h (default 10s)\n"
    "      --precision P      stop bisecting when the bounds are within P, 0.1% to 100%\n"
    "                         (default 5%)\n"
    "      --json FILE        the steps and the answer as JSON (- for stdout: the steps go\n"
    "                         to stderr then)\n"
    "  plus -c, -t, -m, -H, --body, --body-file, --timeout, -k, -q as for surge run\n"
    "\n"
    "A step passes when the SLO and the error rate hold, the achieved rate is within 5 % of\n"
    "the asked one and the generator was not the bottleneck (a saturated generator ends the\n"
    "search: the answer would describe surge, not the target). Exit 0 with an answer, 1 when\n"
    "even the start rate fails, 2 on bad usage, 3 when the target cannot be reached, 4 when\n"
    "the generator saturated or ran out of resources (the answer is then the highest rate\n"
    "that passed before), 5 when a step measured nothing.\n"
    "When --max-rate passes, the answer is a lower bound (\"at least\"); a search runs at\n"
    "most 40 steps and says so when it stops before the bounds are within --precision.\n";

static const char help_report[] =
    "usage: surge report RESULT.json [outputs]\n"
    "\n"
    "Renders a result document written by 'surge run --json' into any of the outputs surge\n"
    "run writes, with the same renderers: a saved result gives the same files the run gave.\n"
    "With no output option it prints a markdown summary on stdout. RESULT.json may be - for\n"
    "stdin.\n"
    "\n"
    "outputs:\n" CLI_OUTPUTS_HELP "  -h, --help             this text\n"
    "\n"
    "CSV: Locust's columns (Type, Name, Request Count, ... 50%, 66%, ... 100%), one row per\n"
    "endpoint and an Aggregated row; the history has one Aggregated row per second. Times in\n"
    "ms; percentiles as whole ms like Locust's, from the document's histograms.\n"
    "HDR log: HdrHistogram's interval-log format 1.3; values in microseconds, Interval_Max\n"
    "in milliseconds (HistogramLogProcessor -outputValueUnitRatio 1000).\n"
    "\n"
    "Exit status: 0 when every output was written; 2 when RESULT.json cannot be read, is not\n"
    "UTF-8 text (a byte-order mark, a binary file), is not JSON (FILE:LINE:COL says where),\n"
    "is not a surge result, has a value of the wrong type or range (FILE: KEY: expected ...,\n"
    "got ...: never read as zero), or an output cannot be written or is RESULT.json itself\n"
    "(both checked before rendering). A document without some sections renders what it has.\n"
    "\n"
    "examples:\n"
    "  surge report result.json\n"
    "  surge report result.json --csv out/run --junit junit.xml --hdr-log run.hlog\n"
    "  surge report result.json --html report.html\n"
    "  surge report result.json --markdown - >> \"$GITHUB_STEP_SUMMARY\"\n";

static const char help_serve[] =
    "usage: surge serve [options]\n"
    "\n"
    "Starts the load-test target: an HTTP/1.1 server whose endpoints simulate work at an\n"
    "exact, requested cost (CPU, memory, delays, blocking, bytes, disk, chaos) and report what\n"
    "they paid in a Server-Timing header. GET / lists every endpoint; /metrics serves\n"
    "Prometheus metrics; /health and /ready are the probes. Every endpoint also takes\n"
    "?delay=&status=&size=&cpu_ms=, with distributions: delay=10ms:50,100ms:10 (percent of\n"
    "requests; at most 100 in all), uniform(a,b), normal(mean,sd), lognormal(median,p99).\n"
    "SIGTERM drains: /ready turns 503, listeners close, in-flight requests finish\n"
    "(--drain-timeout), exit 0. The port is this process's alone: another program listening\n"
    "on it (even with SO_REUSEPORT) is \"address already in use\", exit 2.\n"
    "\n"
    "Each option is also read from the environment as SURGE_<NAME> (--max-body: SURGE_MAX_BODY),\n"
    "and some from $PORT, $DATABASE_URL, $REDIS_URL, $DOWNSTREAM_SERVICE_URL. Flags win over\n"
    "SURGE_<NAME>, which wins over those; an overridden value is never read. Booleans\n"
    "(SURGE_NO_CHAOS, --access-log) are true/false, 1/0, yes/no or on/off. A configuration\n"
    "that cannot work (--listen without a port, --idle-timeout 0, bad --default-params)\n"
    "is refused at start: one line naming the flag or variable, exit 2.\n"
    "\n"
    "options:\n";

static const char help_compare[] =
    "usage: surge compare [options] BASE.json NEW.json\n"
    "\n"
    "Compares a new run with a baseline (result documents written by --json): for the whole\n"
    "run and each endpoint (by method and name) a row per metric — rps, error rate, p50,\n"
    "p90, p95, p99, max, mean — with the absolute and relative change (▲ up, ▼ down) and a\n"
    "verdict. Endpoints found in only one run are listed as added or removed.\n"
    "\n"
    "A regression (exit 1), in the whole run or any endpoint:\n"
    "  p95 or p99   slower by more than the tolerance and by more than --min-delta\n"
    "  error rate   up by more than the tolerance and by more than --min-error-delta\n"
    "  rps          down by more than the tolerance\n"
    "p50, p90, max and mean are shown, not judged.\n"
    "\n"
    "options:\n"
    "      --tolerance P      relative change that counts, e.g. 10% or 0.1 (default 10%;\n"
    "                         may pass 100%: a p95 that doubles is +100%)\n"
    "      --min-delta D      latency changes smaller than D never count (default 1ms), so\n"
    "                         0.05ms -> 0.06ms on a microsecond service is not flagged\n"
    "      --min-error-delta P  error-rate rises smaller than P (percentage points) never\n"
    "                         count, 0% to 100% (default 0.1%)\n"
    "      --markdown FILE    the table in markdown, for CI job summaries (- for stdout)\n"
    "      --html FILE        a small self-contained HTML page of the table\n"
    "      --json FILE        the rows and verdicts as JSON (- for stdout)\n"
    "  -q, --quiet            no table on the terminal\n"
    "  -h, --help             this text\n"
    "\n"
    "Exit 0 without a regression, 1 with one, 2 when a file cannot be read, is not a surge\n"
    "result, has a value of the wrong type or range, or lacks what is compared (totals,\n"
    "latency_ms): FILE: KEY says which. A run compared with itself exits 0. Runs of different\n"
    "targets (config.url, method, scenario or model differ) are compared with a warning on\n"
    "stderr (and in the markdown, HTML and JSON). An output that is one of the compared\n"
    "files, or cannot be written, is exit 2 before anything is compared.\n"
    "\n"
    "examples:\n"
    "  surge compare baseline.json result.json\n"
    "  surge compare --tolerance 5% --markdown \"$GITHUB_STEP_SUMMARY\" base.json new.json\n";

/* clang-format off */
static const char help_merge[] =
    "usage: surge merge [options] A.json B.json ... -o ALL.json\n"
    "\n"
    "Merges the result documents of one run's shards (several `surge run` processes or\n"
    "pods, each with its share of the load) into the result of the whole, exactly:\n"
    "counters summed (requests, errors, bytes, status codes, errors by kind, endpoints,\n"
    "checks, custom counters); latency histograms decoded and added, and every percentile\n"
    "read from the union (never averaged); rps over the span from the earliest start to the\n"
    "latest end; timelines aligned by wall-clock second (started_at + t); generator CPU\n"
    "summed, memory the largest, saturated when any shard was. Thresholds and the assessment\n"
    "are judged again on the whole, so the merged verdict is the whole run's;\n"
    "recommendations and cost are computed again from the whole's figures.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE      the merged result document (the same as --json FILE)\n"
    CLI_OUTPUTS_HELP
    "  -q, --quiet            no summary on the terminal\n"
    "  -h, --help             this text\n"
    "\n"
    "The documents must come from one run: config.url, method and scenario must agree\n"
    "(exit 2 naming the file that differs, as for a file that cannot be read, a value of the\n"
    "wrong type or range, or a shard without duration_s or totals). The same shard twice\n"
    "(a copy: the same start, duration, totals and histograms) is refused, naming both\n"
    "files: it would count its requests twice; so is a merged document given with a file\n"
    "its merged_from names, and an output that is one of the shards. The exit code is the\n"
    "one `surge run` gives for the whole, by its rule (surge help exit-codes): 1 when a\n"
    "threshold fails, 3 when not one valid response came back, 4 when a generator\n"
    "saturated, 5 when nothing was measured. The merged document records \"merged_from\"\n"
    "(the files) and \"shards\".\n"
    "\n"
    "examples:\n"
    "  surge merge shard-*.json -o all.json\n"
    "  surge merge a.json b.json c.json -o all.json --html all.html --junit junit.xml\n";
/* clang-format on */

static const char help_exit_codes[] =
    "surge exit codes\n"
    "\n"
    "  0  the run completed (errors from the target are reported, not fatal)\n"
    "  1  a threshold failed\n"
    "  2  usage or configuration error: a bad option, URL, file or scenario, or an output\n"
    "     that cannot be written (checked before the run)\n"
    "  3  not one valid response from the target: every request failed (connect or TLS\n"
    "     errors, timeouts, resets, early closes, or answers that are not HTTP)\n"
    "  4  the generator itself was the bottleneck: its numbers describe the generator (it\n"
    "     saturated, or ran out of memory, file descriptors or ports: resource_error)\n"
    "  5  nothing was measured: not one request ended during the run (no user started,\n"
    "     every request was still out at the end, or every scenario iteration failed\n"
    "     before a request ended)\n"
    "\n"
    "When several apply: 3, then 4 when not one request could be sent, then 5, 1, 4.\n";

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
	    {"run", help_run},           {"report", help_report},         {"serve", help_serve},
	    {"capacity", help_capacity}, {"exit-codes", help_exit_codes}, {"compare", help_compare},
	    {"merge", help_merge},       {"units", help_units},
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
	const char *text;

	if (argc > 1 && strcmp(argv[1], "profiles") == 0) {
		buf_t out;
		buf_init(&out, 1 << 20);
		profiles_help(&out);
		fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
		return EXIT_OK;
	}
	text = cli_help_text(argc > 1 ? argv[1] : NULL);
	if (!text) {
		fprintf(stderr,
		        "surge help: no topic '%s' (topics: run, report, compare, merge, serve, "
		        "capacity, profiles, exit-codes, units)\n",
		        argv[1]);
		return EXIT_USAGE;
	}
	fputs(text, stdout);
	if (text == help_serve)
		cli_serve_options_help(stdout);
	return EXIT_OK;
}
