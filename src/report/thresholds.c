/* thresholds: parses the user's pass/fail expressions (`p95<200ms`, `name:/api:error_rate<1%`),
 * checks them against a run's figures, and renders the seeds' PASS/FAIL assessment. */
#include "report/thresholds.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/echo.h"
#include "core/units.h"

#define ENDPOINT_PREFIX "name:"
#define KNOWN_METRICS   "p50 p90 p95 p99 p99.9 max mean min error_rate rps balance"
#define US_PER_MS       1000.0

/* In threshold_metric_t order, so the enum indexes the table. */
static const char *const metric_names[] = {
    "p50", "p90", "p95", "p99", "p99.9", "max", "mean", "min", "error_rate", "rps", "balance",
};
static const double metric_percentiles[] = {50, 90, 95, 99, 99.9};

const char *threshold_metric_name(threshold_metric_t m)
{
	if ((unsigned)m >= sizeof(metric_names) / sizeof(metric_names[0]))
		return "?";
	return metric_names[m];
}

static bool is_latency(threshold_metric_t m)
{
	return m != TH_ERROR_RATE && m != TH_RPS && m != TH_BALANCE;
}

static int metric_lookup(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(metric_names) / sizeof(metric_names[0]); i++)
		if (strlen(metric_names[i]) == len && memcmp(metric_names[i], s, len) == 0)
			return (int)i;
	return -1;
}

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Longest operator first, so "<=" is never read as "<" followed by a value "=...".
 * Returns what follows the operator, or NULL when there is none. */
static const char *parse_operator(const char *s, threshold_op_t *op)
{
	static const struct {
		const char *text;
		threshold_op_t op;
	} ops[] = {{"<=", TH_LE}, {">=", TH_GE}, {"<", TH_LT}, {">", TH_GT}};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t len = strlen(ops[i].text);

		if (strncmp(s, ops[i].text, len) == 0) {
			*op = ops[i].op;
			return s + len;
		}
	}
	return NULL;
}

/* "1%" and "0.01" both mean one request in a hundred; anything outside 0..100 % is a typo. */
static int parse_error_rate(const char *s, double *out)
{
	const char *rest;
	double v;

	if (units_parse_number(s, &v, &rest) < 0)
		return -EINVAL;
	if (rest[0] == '%' && rest[1] == '\0' && v <= 100) {
		*out = v / 100.0;
		return 0;
	}
	if (rest[0] == '\0' && v <= 1) {
		*out = v;
		return 0;
	}
	return -EINVAL;
}

/* The limit in the metric's unit: ms for latencies, a fraction for error_rate, 1/s for rps.
 * *kind names what was expected, for the caller's message. */
static int parse_limit(threshold_metric_t m, const char *s, double *limit, const char **kind)
{
	char ignored[128];
	const char *rest;
	uint64_t ns;

	if (is_latency(m)) {
		*kind = "a duration (examples: 200ms, 1.5s, 250us; a bare number is ms)";
		if (units_parse_duration(s, NS_PER_MS, &ns, ignored, sizeof(ignored)) < 0)
			return -EINVAL;
		*limit = (double)ns / (double)NS_PER_MS;
		return 0;
	}
	if (m == TH_ERROR_RATE) {
		*kind = "an error rate (examples: 1%, 0.5%, or a fraction from 0 to 1)";
		return parse_error_rate(s, limit);
	}
	if (m == TH_BALANCE) {
		*kind = "a spread (a number, 1 = perfectly even; e.g. balance<1.2)";
		if (units_parse_number(s, limit, &rest) < 0 || *rest)
			return -EINVAL;
		return 0;
	}
	*kind = "a request rate (a non-negative number per second)";
	if (units_parse_number(s, limit, &rest) < 0 || *rest)
		return -EINVAL;
	return 0;
}

/* s[0..n) in printable form, for a message: a tab around the operator shows as \t. */
static const char *echo_part(const char *s, size_t n, char *buf, size_t len)
{
	char part[sizeof(((threshold_t *)0)->expr)];

	snprintf(part, sizeof(part), "%.*s", (int)(n < sizeof(part) ? n : sizeof(part) - 1), s);
	return echo_value(part, buf, len);
}

#define SHOWN(s, n) echo_part((s), (n), (char[ECHO_SIZE]){0}, ECHO_SIZE)

/* METRIC OP VALUE, with blanks allowed only around OP; text is the whole input, quoted in
 * every message so the user sees which of several thresholds is wrong. */
static int parse_condition(const char *text, const char *cond, threshold_t *t, char *err,
                           size_t errlen)
{
	size_t len = strcspn(cond, "<>=! \t");
	const char *op_text, *value, *kind;
	int metric = metric_lookup(cond, len);

	if (len == 0) {
		snprintf(err, errlen, "threshold '%s': missing metric before '%s' (known: %s)",
		         ECHO(text), ECHO(cond), KNOWN_METRICS);
		return -EINVAL;
	}
	if (metric < 0) {
		snprintf(err, errlen, "threshold '%s': unknown metric '%s' (known: %s)", ECHO(text),
		         SHOWN(cond, len), KNOWN_METRICS);
		return -EINVAL;
	}
	op_text = skip_blanks(cond + len);
	value = parse_operator(op_text, &t->op);
	if (!value) {
		snprintf(err, errlen, "threshold '%s': expected < <= > or >= after '%s'%s%s%s",
		         ECHO(text), SHOWN(cond, len), *op_text ? ", got '" : "", ECHO(op_text),
		         *op_text ? "'" : "");
		return -EINVAL;
	}
	value = skip_blanks(value);
	if (!*value) {
		snprintf(err, errlen, "threshold '%s': missing value after '%s'", ECHO(text),
		         ECHO(op_text));
		return -EINVAL;
	}
	if (parse_limit((threshold_metric_t)metric, value, &t->limit, &kind) < 0) {
		snprintf(err, errlen, "threshold '%s': '%s' is not %s", ECHO(text), ECHO(op_text),
		         kind);
		return -EINVAL;
	}
	t->metric = (threshold_metric_t)metric;
	return 0;
}

/* "name:ENDPOINT:COND": a condition never holds ':', so the last ':' is the only one that can
 * be followed by a valid condition, and ENDPOINT keeps every ':' before it ("/a:b", URLs). */
static int parse_endpoint(const char *text, threshold_t *t, char *err, size_t errlen)
{
	const char *name = text + strlen(ENDPOINT_PREFIX);
	const char *colon = strrchr(name, ':');
	size_t len;

	if (!colon) {
		snprintf(err, errlen, "threshold '%s': expected name:ENDPOINT:METRIC OP VALUE",
		         ECHO(text));
		return -EINVAL;
	}
	len = (size_t)(colon - name);
	if (len == 0 || len >= sizeof(t->endpoint)) {
		snprintf(err, errlen, "threshold '%s': endpoint name %s", ECHO(text),
		         len ? "longer than 127 characters" : "is empty");
		return -EINVAL;
	}
	memcpy(t->endpoint, name, len);
	t->endpoint[len] = '\0';
	return parse_condition(text, colon + 1, t, err, errlen);
}

/* Parses into a local copy so a failed parse leaves *t as it was. */
int threshold_parse(const char *text, threshold_t *t, char *err, size_t errlen)
{
	threshold_t parsed = {0};
	size_t len = text ? strlen(text) : 0;
	int rc;

	if (!text || !*text) {
		snprintf(err, errlen, "empty threshold (expected METRIC OP VALUE, e.g. p95<200ms)");
		return -EINVAL;
	}
	/* a line break or an escape has no place in a threshold (a tab is a blank) */
	for (size_t i = 0; i < len; i++) {
		if (((unsigned char)text[i] < 0x20 && text[i] != '\t') || text[i] == 0x7f) {
			snprintf(err, errlen,
			         "threshold '%s': a control character (0x%02x) at offset %zu",
			         ECHO(text), (unsigned char)text[i], i);
			return -EINVAL;
		}
	}
	if (len >= sizeof(parsed.expr)) {
		snprintf(err, errlen, "threshold '%s...': longer than %zu characters",
		         SHOWN(text, 40), sizeof(parsed.expr) - 1);
		return -EINVAL;
	}
	memcpy(parsed.expr, text, len + 1);
	if (strncmp(text, ENDPOINT_PREFIX, strlen(ENDPOINT_PREFIX)) == 0)
		rc = parse_endpoint(text, &parsed, err, errlen);
	else
		rc = parse_condition(text, text, &parsed, err, errlen);
	if (rc == 0 && parsed.metric == TH_BALANCE && parsed.endpoint[0]) {
		snprintf(err, errlen,
		         "threshold '%s': balance is the whole run's spread, not an endpoint's "
		         "(drop the name: part)",
		         ECHO(text));
		rc = -EINVAL;
	}
	if (rc == 0)
		*t = parsed;
	return rc;
}

/* Latency figures come from the histogram (µs) and are compared in ms; NAN when there is
 * nothing to measure, which fails every operator. */
static double measure(threshold_metric_t m, const threshold_figures_t *f)
{
	const hist_t *h = f->latency;

	if (m == TH_ERROR_RATE)
		return (double)f->errors / (double)f->requests;
	if (m == TH_BALANCE)
		return f->balance;
	if (m == TH_RPS)
		return f->duration_s > 0 && isfinite(f->duration_s)
		           ? (double)f->requests / f->duration_s
		           : NAN;
	if (!h || h->total == 0)
		return NAN;
	switch (m) {
	case TH_MAX: return (double)h->max / US_PER_MS;
	case TH_MIN: return (double)h->min / US_PER_MS;
	case TH_MEAN: return hist_mean(h) / US_PER_MS;
	default: return (double)hist_percentile(h, metric_percentiles[m]) / US_PER_MS;
	}
}

static bool compare(threshold_op_t op, double value, double limit)
{
	switch (op) {
	case TH_LT: return value < limit;
	case TH_LE: return value <= limit;
	case TH_GT: return value > limit;
	case TH_GE: return value >= limit;
	}
	return false;
}

bool threshold_check(const threshold_t *t, const threshold_figures_t *f, double *value)
{
	double v = NAN;

	/* a run that sent nothing proves nothing, whichever way the operator points */
	if (f && f->requests > 0 && (unsigned)t->metric <= TH_BALANCE)
		v = measure(t->metric, f);
	if (value)
		*value = v;
	return !isnan(v) && compare(t->op, v, t->limit);
}

bool threshold_judge(const threshold_t *t, const threshold_view_t *v, hist_t *scratch,
                     double *value)
{
	threshold_figures_t f = v->run;
	bool found = false, exact = true;

	if (!t->endpoint[0])
		return threshold_check(t, &f, value);
	if (!scratch) { /* no memory to sum them in: judged failed rather than passed */
		if (value)
			*value = NAN;
		return false;
	}
	hist_reset(scratch);
	f.latency = scratch;
	f.requests = f.errors = 0;
	for (uint32_t i = 0; i < v->endpoint_count; i++) {
		if (strcmp(v->endpoint_name(v->ctx, i), t->endpoint) != 0)
			continue;
		found = true;
		if (v->endpoint_add(v->ctx, i, scratch, &f.requests, &f.errors) < 0)
			exact = false;
	}
	if (found && exact)
		return threshold_check(t, &f, value);
	if (value)
		*value = NAN; /* an endpoint that never ran fails its thresholds */
	return false;
}

void assess_defaults(assess_targets_t *t)
{
	t->p95_ms = 200;
	t->max_error_rate = 0.05;
	t->min_rps = 0;
}

/* The seeds' bands on p95; a NAN p95 (nothing measured) lands in "poor". */
static const char *latency_class(double p95_ms)
{
	if (p95_ms < 50)
		return "excellent";
	if (p95_ms < 100)
		return "good";
	if (p95_ms < 200)
		return "acceptable";
	return "poor";
}

/* Every comparison is written so that NAN fails it: missing figures never pass a verdict. */
void assess_run(const assess_targets_t *t, double p95_ms, double rps, double error_rate,
                bool thresholds_ok, assessment_t *out)
{
	assess_targets_t defaults;

	if (!t) {
		assess_defaults(&defaults);
		t = &defaults;
	}
	out->latency_class = latency_class(p95_ms);
	out->latency_ok = p95_ms < t->p95_ms;
	out->errors_ok = error_rate < t->max_error_rate;
	out->throughput_ok = !(t->min_rps > 0) || rps >= t->min_rps;
	out->thresholds_ok = thresholds_ok;
	out->pass = out->latency_ok && out->throughput_ok && out->errors_ok && thresholds_ok;
	out->p95_ms = p95_ms;
	out->rps = rps;
	out->error_rate = error_rate;
}
