/* cli_result: how a command that produced a judged result ends — `surge run` and `surge merge`
 * through the same code: the summary (report_text), the outputs (every one from the typed
 * result; --json its document), and the exit code by the one rule of `surge help
 * exit-codes`. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_run.h"
#include "core/echo.h"
#include "core/json_alloc.h"
#include "core/units.h"

/* "connect_refused 4, protocol_error 10": the kinds that occurred, for a message. */
static void kinds_text(const uint64_t *kinds, bool resource, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < GEN_ERR_KIND_COUNT && used < len; i++) {
		char n[32];

		if (!kinds[i] || (i == GEN_ERR_RESOURCE) != resource)
			continue;
		units_format_count(kinds[i], n, sizeof(n));
		used += (size_t)snprintf(out + used, len - used, "%s%s %s", used ? ", " : "",
		                         gen_error_kind_name(i), n);
	}
}

int cli_outcome_exit(const cli_outcome_t *o, char *why, size_t len)
{
	uint64_t failed = 0, resource = o->errors_by_kind[GEN_ERR_RESOURCE];
	char kinds[256], n[32], scripts[128] = "";

	why[0] = '\0';
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		failed += i == GEN_ERR_RESOURCE ? 0 : o->errors_by_kind[i];
	if (o->responses == 0 && failed) {
		kinds_text(o->errors_by_kind, false, kinds, sizeof(kinds));
		snprintf(why, len,
		         "not one valid response from the target: every request failed (%s)",
		         kinds);
		return EXIT_UNREACHABLE;
	}
	units_format_count(resource, n, sizeof(n));
	if (o->responses == 0 && resource) {
		snprintf(why, len,
		         "not one request could be sent: the generator ran out of memory, file "
		         "descriptors or local ports (resource_error %s)",
		         n);
		return EXIT_GENERATOR;
	}
	if (o->responses == 0) {
		if (o->script_errors)
			snprintf(
			    scripts, sizeof(scripts),
			    "; %llu scenario iterations ended by a script error before a request "
			    "ended",
			    (unsigned long long)o->script_errors);
		snprintf(why, len,
		         "nothing was measured: not one request ended during the run (no user "
		         "started, or every request was still out at the end)%s",
		         scripts);
		return EXIT_NOTHING;
	}
	if (o->shards_lost) {
		char part[64] = "";

		if (!isnan(o->lost_asked))
			snprintf(part, sizeof(part), " (%g of the load asked)", o->lost_asked);
		snprintf(
		    why, len,
		    "incomplete: %u of %u shards lost while the run went on (shard %u/%u from "
		    "second %lld): the figures lack %s part of the load%s, so no verdict on them "
		    "holds",
		    o->shards_lost, o->shards, o->first_lost_index + 1, o->shards,
		    (long long)o->first_lost_from, o->shards_lost == 1 ? "its" : "their", part);
		return EXIT_INCOMPLETE;
	}
	if (!o->thresholds_ok)
		return EXIT_THRESHOLDS;
	if (o->saturated)
		return EXIT_GENERATOR;
	if (resource) {
		snprintf(
		    why, len,
		    "the generator ran out of memory, file descriptors or local ports: %s "
		    "requests were never sent (resource_error), so the target saw less load than "
		    "asked",
		    n);
		return EXIT_GENERATOR;
	}
	return EXIT_OK;
}

int cli_exit_code(const result_t *r, char *why, size_t len)
{
	cli_outcome_t o = {
	    .responses = r->counters.requests,
	    .script_errors = r->counters.script_errors,
	    .thresholds_ok = true,
	    .saturated = r->generator.saturated,
	    .shards = r->distributed.shards,
	    .shards_lost = r->distributed.lost_count,
	};

	for (uint32_t i = 0; i < r->threshold_count; i++)
		o.thresholds_ok &= r->thresholds[i].ok;
	o.lost_asked = r->distributed.lost_count ? 0 : NAN;
	for (uint32_t i = 0; i < r->distributed.lost_count; i++)
		o.lost_asked += r->distributed.lost[i].asked; /* NAN when one is not known */
	if (r->distributed.lost_count) {
		o.first_lost_index = r->distributed.lost[0].index;
		o.first_lost_from = r->distributed.lost[0].from_second;
	}
	memcpy(o.errors_by_kind, r->counters.errors_by_kind, sizeof(o.errors_by_kind));
	return cli_outcome_exit(&o, why, len);
}

/* Prints the summary and writes the outputs: 0, -ENOMEM when memory ran out,
 * -1 when an output failed (said on stderr). */
static int write_outputs(const char *cmd, const cli_outputs_t *o, bool quiet, const result_t *r)
{
	unsigned long refused = json_alloc_failures();
	/* with an output on stdout (--json -), the summary moves to stderr */
	FILE *summary = cli_outputs_to_stdout(o) ? stderr : stdout;
	buf_t out;
	int rc = 0;

	buf_init(&out, 1u << 30);
	if (!quiet) {
		rc = report_text(r, &out);
		if (rc == 0)
			fwrite(out.data, 1, out.len, summary);
		else
			fprintf(stderr, "surge %s: cannot print the summary: %s\n", cmd,
			        strerror(-rc));
	}
	fflush(stdout);
	if (cli_outputs_any(o)) {
		buf_reset(&out);
		/* every output from the typed result; --json is its document as encoded */
		rc = result_encode(r, &out);
		if (rc) {
			fprintf(stderr, "surge %s: cannot build the result document: %s\n", cmd,
			        strerror(-rc));
			rc = rc == -ENOMEM ? rc : -1;
		} else if (cli_outputs_write_result(o, r, out.data, out.len, cmd)) {
			rc = json_alloc_failures() != refused ? -ENOMEM : -1;
		}
	}
	buf_free(&out);
	return rc == -ENOMEM ? rc : rc ? -1 : 0;
}

int cli_result_end(const char *cmd, const cli_outputs_t *o, bool quiet, const result_t *r)
{
	char why[512];
	int rc = cli_exit_code(r, why, sizeof(why)), written;

	/* nothing is lost, but the run held in memory what it meant to keep on disk */
	if (r->spill.error)
		fprintf(stderr,
		        "surge %s: the timeline's seconds from second %zu on were kept in memory: "
		        "its temporary file in %s could not be %s: %s\n",
		        cmd, r->window_first, ECHO(result_spill_dir()),
		        r->spill.opened ? "written" : "made", strerror(-r->spill.error));
	written = write_outputs(cmd, o, quiet, r);
	if (written == -ENOMEM) {
		/* a run's own machine ran out: the generator's resource (4); a merge has no
		 * generator, only outputs it could not write (2) */
		rc = r->shards ? EXIT_USAGE : EXIT_GENERATOR;
		fprintf(stderr, "surge %s: %s ran out of memory writing its outputs (exit %d)\n",
		        cmd, r->shards ? "it" : "the generator", rc);
		return rc;
	}
	if (written < 0)
		return EXIT_USAGE;
	/* a merge's figures are the whole run's, which is what its exit code speaks of */
	if (why[0])
		fprintf(stderr, "surge %s: %s%s (exit %d)\n", cmd,
		        r->shards ? "the whole run: " : "", why, rc);
	return rc;
}
