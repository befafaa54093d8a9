/* cli_dist: distributed runs on the command line (docs/distributed.md) — `surge run
 * --coordinator [ADDR] --expect-shards N ... URL` holds the test, hands it to the shards that
 * join and adds their seconds up into one result (cli_coordinator.c); `surge run --join URL`
 * runs one shard's part of it and streams its seconds (cli_join.c). The state both sides keep
 * is dist/'s; this is their options, their messages and how each ends. */
#ifndef SURGE_CLI_DIST_H
#define SURGE_CLI_DIST_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "result/result.h"

struct run_options;

enum {
	CLI_OPT_COORDINATOR = 460,
	CLI_OPT_EXPECT_SHARDS,
	CLI_OPT_JOIN,
	CLI_OPT_TOKEN,
	CLI_OPT_JOIN_TIMEOUT,
	CLI_OPT_LOST_AFTER,
};

/* surge run's options of a distributed run (rows of its option table). */
#define CLI_DIST_OPTIONS                                                                           \
	{"coordinator", CLI_OPT_COORDINATOR, "ADDR", NULL,                                         \
	 CLI_OPTION_NO_ENV | CLI_OPTION_OPTIONAL_VALUE},                                           \
	    {"expect-shards", CLI_OPT_EXPECT_SHARDS, "N", NULL, 0},                                \
	    {"join", CLI_OPT_JOIN, "URL", NULL, 0}, {"token", CLI_OPT_TOKEN, "TOKEN", NULL, 0},    \
	    {"join-timeout", CLI_OPT_JOIN_TIMEOUT, "DURATION", NULL, 0},                           \
	{                                                                                          \
		"lost-after", CLI_OPT_LOST_AFTER, "DURATION", NULL, 0                              \
	}

#define CLI_DIST_DEFAULT_ADDR      "127.0.0.1:8089"
#define CLI_DIST_JOIN_TIMEOUT_NS   (120 * NS_PER_S)
#define CLI_DIST_COORDINATOR_GRACE (10 * NS_PER_S) /* a shard that hears nothing stops */

typedef struct cli_dist_options {
	bool coordinator;         /* --coordinator */
	const char *addr;         /* its ADDR (HOST:PORT, :PORT, PORT); NULL: the default */
	uint32_t shards;          /* --expect-shards N */
	const char *join;         /* --join URL / $SURGE_JOIN */
	const char *token;        /* --token / $SURGE_TOKEN */
	uint64_t join_timeout_ns; /* --join-timeout; 0: CLI_DIST_JOIN_TIMEOUT_NS */
	uint64_t lost_after_ns;   /* --lost-after; 0: DIST_SILENCE_NS */
} cli_dist_options_t;

/* 0, or EXIT_USAGE (message printed). */
int cli_dist_option(struct run_options *o, int opt, const char *arg);
/* Whether a command-line word after --coordinator is its ADDR: then it is taken as such. */
bool cli_dist_takes_address(struct run_options *o, const char *arg);

/* The coordinator: o parsed (a URL and its shape), r initialised. The exit code. */
int cli_coordinator_run(struct run_options *o, result_t *r);
/* A shard: o holds only its own options (threads, outputs, -q, the join's). The exit code of
 * its own part, or 2 / 6 when it could not take part. */
int cli_join_run(struct run_options *o, result_t *r);

#endif
