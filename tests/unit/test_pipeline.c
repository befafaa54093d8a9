/* Tests for --pipeline's bounds in the engine (gen/gen_run.c build_pipelined): the command
 * line refuses these first (tests/integration/test_pipeline.py), the engine on its own too,
 * with a line that says why, so that no other caller of gen_start pipelines where latency
 * could not be told per request. No connection is made: gen_start refuses before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "gen/gen.h"
#include "test.h"

static gen_config_t pipelined(uint32_t n)
{
	gen_config_t cfg = {.connections = 1, .threads = 1, .requests = 10, .pipeline = n};

	snprintf(cfg.url.host, sizeof(cfg.url.host), "127.0.0.1");
	snprintf(cfg.url.target, sizeof(cfg.url.target), "/");
	cfg.url.port = 9;
	cfg.method = "GET";
	cfg.timeout_ns = NS_PER_S;
	return cfg;
}

TEST(pipeline_refused_where_it_cannot_be_timed_per_request)
{
	static const gen_driver_t driver = {0};
	char err[256] = "";
	gen_config_t cfg = pipelined(GEN_MAX_PIPELINE + 1);

	CHECK(gen_start(&cfg, err, sizeof(err)) == NULL);
	CHECK_STR(err, "pipelining is 256 requests at most");
	/* the open model: an arrival's latency is from its own intended time, on a connection
	 * of its own; a scenario's user waits for each answer */
	cfg = pipelined(4);
	cfg.open_model = true;
	cfg.rate = 10;
	schedule_constant(&cfg.schedule, 10, NS_PER_S);
	CHECK(gen_start(&cfg, err, sizeof(err)) == NULL);
	CHECK_STR(err, "pipelining is for the closed model's one request (not the open model, "
	               "not a scenario)");
	cfg = pipelined(4);
	cfg.driver = &driver;
	CHECK(gen_start(&cfg, err, sizeof(err)) == NULL);
	CHECK_STR(err, "pipelining is for the closed model's one request (not the open model, "
	               "not a scenario)");
}

TEST(pipeline_copies_of_the_request_are_bounded)
{
	size_t len = 300 * 1024;
	char *body = malloc(len);
	char err[256] = "";
	gen_config_t cfg = pipelined(16);

	CHECK(body != NULL);
	memset(body, 'x', len);
	cfg.body = body;
	cfg.body_len = len;
	cfg.has_body = true;
	/* 16 x 300 KiB and the head: over the 4 MiB the copies may take */
	CHECK(gen_start(&cfg, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "pipelining 16 requests of ") == err);
	CHECK(strstr(err, "bytes is more than the 4 MiB they may take: pipeline fewer, or send a "
	                  "smaller body") != NULL);
	free(body);
}
