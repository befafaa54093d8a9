/* libFuzzer driver for threshold_parse and threshold_check: the `--threshold` expressions of
 * `surge run` and `surge capacity`, and those a result document carries into `surge merge`.
 * Beyond "no crash": an accepted threshold keeps the text as given, its metric, operator and
 * limit are in range, the threshold written back in a canonical form parses to the same one,
 * a failed parse leaves the caller's threshold alone and says why on one line, and a check
 * against fuzzer-made figures gives the verdict its operator says. */
#include "report/thresholds.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

static const char *const op_text[] = {"<", "<=", ">", ">="};

static bool is_latency(threshold_metric_t m)
{
	return m != TH_ERROR_RATE && m != TH_RPS && m != TH_BALANCE;
}

static void check_parsed(const threshold_t *t, const char *text)
{
	if (strcmp(t->expr, text) != 0 || (unsigned)t->metric > TH_BALANCE ||
	    (unsigned)t->op > TH_GE)
		abort();
	if (!(t->limit >= 0) || !isfinite(t->limit))
		abort();
	if (t->metric == TH_ERROR_RATE && t->limit > 1)
		abort();
	if (strncmp(text, "name:", 5) == 0 ? t->endpoint[0] == '\0' : t->endpoint[0] != '\0')
		abort();
	if (t->metric == TH_BALANCE && t->endpoint[0])
		abort(); /* the whole run's figure only */
}

/* [name:ENDPOINT:]METRIC OP LIMIT with the limit in its base unit, all digits shown. */
static void check_round_trip(const threshold_t *t)
{
	char text[512], err[256];
	threshold_t again;

	snprintf(text, sizeof(text), "%s%s%s%s %s %.17g%s", t->endpoint[0] ? "name:" : "",
	         t->endpoint, t->endpoint[0] ? ":" : "", threshold_metric_name(t->metric),
	         op_text[t->op], t->limit, is_latency(t->metric) ? "ms" : "");
	if (strlen(text) >= sizeof(t->expr))
		return; /* the canonical form may be longer than what the user wrote */
	if (threshold_parse(text, &again, err, sizeof(err)) < 0)
		abort();
	if (again.metric != t->metric || again.op != t->op || strcmp(again.endpoint, t->endpoint))
		abort();
	/* latencies are kept to the nanosecond: the limit may move by the rounding of that */
	if (fabs(again.limit - t->limit) > (is_latency(t->metric) ? 1e-6 : 0) + t->limit * 1e-15)
		abort();
}

/* Figures from the input's hash: a few latencies, counts and a duration (0 and NAN too). */
static void check_verdict(const threshold_t *t, uint64_t h)
{
	static hist_t latency_hist; /* ~190 KB: not on the stack */
	hist_t *latency = &latency_hist;
	threshold_figures_t f;
	double value, limit = t->limit;
	bool pass;

	hist_reset(latency);
	for (int i = 0; i < (int)(h & 7); i++)
		hist_record(latency, (int64_t)((h >> (8 + i * 7)) & 0x7f) * (int64_t)(h & 0xffff));
	f.latency = h & 0x10000 ? NULL : latency;
	f.requests = h >> 17 & 0xff;
	f.errors = h >> 25 & 0xff;
	if (f.errors > f.requests)
		f.errors = f.requests;
	f.duration_s = h >> 33 & 1 ? NAN : (double)(h >> 34 & 0xf);
	f.balance = h >> 38 & 1 ? NAN : 1 + (double)(h >> 39 & 0xf) / 8;
	pass = threshold_check(t, &f, &value);
	if (f.requests == 0 && (pass || !isnan(value)))
		abort(); /* nothing sent proves nothing */
	if (isnan(value) ? pass
	                 : pass != (t->op == TH_LT   ? value < limit
	                            : t->op == TH_LE ? value <= limit
	                            : t->op == TH_GT ? value > limit
	                                             : value >= limit))
		abort();
	if (threshold_check(t, NULL, &value) || !isnan(value))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	threshold_t t, untouched;
	char err[256];
	char *text = fuzz_string(data, size);

	memset(&untouched, 0x5a, sizeof(untouched));
	t = untouched;
	err[0] = '\0';
	if (threshold_parse(text, &t, err, sizeof(err)) == 0) {
		check_parsed(&t, text);
		check_round_trip(&t);
		check_verdict(&t, fuzz_hash(data, size));
	} else {
		fuzz_check_message(err, sizeof(err));
		if (memcmp(&t, &untouched, sizeof(t)) != 0)
			abort();
	}
	free(text);
	return 0;
}
