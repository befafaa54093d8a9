/* libFuzzer driver for what a shard reads from its coordinator (surge run --join): the bytes
 * are the body of the coordinator's answer to a join, read as cli/cli_join.c reads it
 * (dist/dist_join.c: where the shard stands, the test's form) and, when the test is a scenario,
 * its file and data files unpacked from base64 into a private folder and removed again
 * (dist/dist_test.c) — the folder made under a scratch $TMPDIR of this driver's own. Beyond "no
 * crash":
 *   - an answer taken names a shard (index below count, count 1 .. DEAL_SHARDS_MAX);
 *   - a test refused, or a scenario not unpacked, says why on one line;
 *   - a scenario unpacked lies inside its folder with every file it lists, each holding its
 *     base64's bytes, and nothing anywhere else; removed, or refused halfway, nothing at all
 *     is left behind. */
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dist/dist.h"
#include "fuzz_common.h"
#include "gen/deal.h"

static char scratch[64];

/* Whether scratch holds nothing (each input must leave it so). */
static bool scratch_empty(void)
{
	DIR *d = opendir(scratch);
	struct dirent *e;
	bool empty = true;

	if (!d)
		abort();
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

static void remove_scratch(void)
{
	rmdir(scratch);
}

/* The file at path holds exactly the bytes base64 b64 says. */
static void check_file(const char *path, const json_t *b64)
{
	size_t tlen = json_string_length(b64), len;
	unsigned char *want = malloc(tlen / 4 * 3 + 1), *got = malloc(tlen / 4 * 3 + 2);
	int n =
	    tlen ? EVP_DecodeBlock(want, (const unsigned char *)json_string_value(b64), (int)tlen)
	         : 0;
	FILE *f = fopen(path, "rb");

	if (!want || !got || n < 0 || !f) {
		fprintf(stderr, "%s: not written (%s)\n", path, strerror(errno));
		abort();
	}
	for (size_t i = tlen; i > 0 && json_string_value(b64)[i - 1] == '=' && n > 0; i--)
		n--;
	len = fread(got, 1, tlen / 4 * 3 + 2, f);
	fclose(f);
	if (len != (size_t)n || memcmp(got, want, len) != 0) {
		fprintf(stderr, "%s: %zu bytes, not the %d its base64 says\n", path, len, n);
		abort();
	}
	free(want);
	free(got);
}

/* The scenario unpacked: every file where its name says, inside dir, nothing else in scratch. */
static void check_unpacked(const json_t *scenario, const char *dir, const char *path)
{
	const json_t *files = json_object_get(scenario, "files"), *f;
	char file[4096];
	size_t i;

	if (strncmp(dir, scratch, strlen(scratch)) != 0 || dir[strlen(scratch)] != '/' ||
	    strchr(dir + strlen(scratch) + 1, '/') || strncmp(path, dir, strlen(dir)) != 0 ||
	    path[strlen(dir)] != '/')
		abort();
	check_file(path, json_object_get(scenario, "base64"));
	json_array_foreach(files, i, f)
	{
		/* a data file named twice, or the same as a folder on another's path, was refused
		 */
		snprintf(file, sizeof(file), "%s/%s", dir,
		         json_string_value(json_object_get(f, "name")));
		check_file(file, json_object_get(f, "base64"));
	}
}

static void check_test(const json_t *config)
{
	const json_t *scenario = json_object_get(config, "scenario");
	char err[1024] = "", dir[4096], path[4096];

	if (dist_join_check_test(config, err, sizeof(err)) < 0) {
		fuzz_check_message(err, sizeof(err));
		return;
	}
	if (!json_is_object(scenario))
		return;
	if (dist_test_unpack(scenario, dir, sizeof(dir), path, sizeof(path), err, sizeof(err)) <
	    0) {
		fuzz_check_message(err, sizeof(err));
		if (!scratch_empty()) {
			fprintf(stderr, "a refused scenario left files behind\n");
			abort();
		}
		return;
	}
	check_unpacked(scenario, dir, path);
	dist_test_remove(dir, scenario);
	if (!scratch_empty()) {
		fprintf(stderr, "a removed scenario left files behind in %s\n", dir);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc;
	bool checked = false;

	if (!scratch[0]) {
		snprintf(scratch, sizeof(scratch), "%s/surge-fuzz-join-XXXXXX",
		         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (!mkdtemp(scratch) || setenv("TMPDIR", scratch, 1) != 0)
			abort();
		atexit(remove_scratch);
	}
	/* as cli_join.c reads it: strings may hold NUL (a body is bytes) */
	doc = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
	for (int have_config = 0; have_config < 2; have_config++) {
		dist_join_answer_t a;
		int rc = dist_join_read_answer(doc, have_config, &a);

		if (rc == 0 && (a.count < 1 || a.count > DEAL_SHARDS_MAX || a.index >= a.count ||
		                (!have_config && !a.config)))
			abort();
		if (rc != 0 && rc != -EPROTO && rc != -ERANGE)
			abort();
		if (rc == 0 && !have_config) {
			check_test(a.config);
			checked = true;
		}
	}
	/* the test on its own, whatever the answer around it: the fuzzer need not find a whole
	 * answer to reach the files */
	if (!checked && json_is_object(json_object_get(doc, "config")))
		check_test(json_object_get(doc, "config"));
	else if (!checked && json_is_object(doc))
		check_test(doc);
	json_decref(doc);
	return 0;
}
