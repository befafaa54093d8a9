/* dist_options: which of surge run's options travel from the coordinator to its shards — one
 * list both sides read, so what a coordinator sends is exactly what a shard takes. */
#include <string.h>

#include "dist/dist.h"

/* What defines the load (the request, the shape) and what judges it (thresholds, the
 * assessment's targets, the cost): each shard judges its own part with them in its local
 * result, and `surge merge` of those files judges the whole as the coordinator does. Not here:
 * --threads, --io and --idle-poll (each machine's own), the outputs and -q (each process writes its
 * own), the live UI's and the scraper's (the coordinator's alone, or not yet distributed), --shard
 * and
 * --start-at (the coordinator gives them), --abort-on-fail (the coordinator judges the whole
 * and stops every shard), a body (it travels as bytes, not as --body-file's path). */
static const char *const travelling[] = {
    "connections",
    "duration",
    "requests",
    "rate",
    "stages",
    "model",
    "users",
    "spawn-rate",
    "max-queue",
    "profile",
    "threshold",
    "target-p95",
    "target-error-rate",
    "target-rps",
    "cost-per-hour",
    "replicas",
    "method",
    "header",
    "timeout",
    "insecure",
    /* how the requests go on the wire: HTTP/1.1 pipelining, HTTP/2 and its streams (a shard
     * deals its part of the TCP connections, each with its streams), TLS reconnects */
    "pipeline",
    "h2",
    "streams",
    "new-conn-every",
    "no-tls-resume",
    /* a scenario's: its target, its users' grace at the end, their Lua heap */
    "host",
    "graceful-stop",
    "script-memory",
};

bool dist_option_travels(const char *name)
{
	for (size_t i = 0; i < sizeof(travelling) / sizeof(travelling[0]); i++)
		if (strcmp(travelling[i], name) == 0)
			return true;
	return false;
}
