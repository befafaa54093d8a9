/* result_decode: a result document read back into the typed model. The text is parsed and
 * checked by result_doc (the same checks and messages `surge report`, compare and merge
 * give: the file and the key at fault); what passes is then read into result_t. Figures
 * the document derives (rates, percentiles, mean) are not stored but recovered: counts and
 * histograms bucket by bucket, min and max exactly (the document gives µs to the
 * thousandth of a ms), sums from mean and stdev, and the unrounded duration of the run
 * and of each second from their rates, so encoding the result writes the same figures.
 * result_load is the front door for a file: the checks, what a command needs, the model. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/echo.h"
#include "result/result.h"
#include "result/result_doc.h"

static const char *const latency_keys[9] = {"min",   "p50", "p90",  "p95",  "p99",
                                            "p99_9", "max", "mean", "stdev"};
/* read_ms order: min, mean, stdev, p50, p90, p95, p99, p99_9, max */
static const int read_slot[9] = {0, 3, 4, 5, 6, 7, 8, 1, 2};

static char *dup_string(result_t *r, const json_t *obj, const char *key)
{
	const char *s = result_doc_string(obj, key, NULL);

	return s ? result_strdup(r, s) : NULL;
}

/* A histogram value and the latency object beside it into h: buckets from the text, min,
 * max and the sums from the figures; without a histogram, the figures of count values. */
static int read_latency(result_t *r, result_hist_t *h, const json_t *text, const json_t *stats,
                        uint64_t count)
{
	hist_t *d = result_scratch(r);
	double mean_us, stdev_us;
	int rc;

	if (!d)
		return -ENOMEM;
	result_hist_free(r, h); /* an endpoint listed twice: the last one's */
	rc = result_doc_histogram_value(text, d);
	if (rc == -ENOENT) { /* no histogram: the figures as the document gives them */
		h->read = true;
		h->read_count = count;
		h->read_approximate = result_doc_bool(stats, "approximate", false);
		for (int i = 0; i < 9; i++)
			h->read_ms[read_slot[i]] = result_doc_number(stats, latency_keys[i], NAN);
		return 0;
	}
	if (rc < 0)
		return rc;
	if ((rc = result_hist_set(r, h, d)) < 0)
		return rc;
	if (!json_is_object(stats))
		return 0; /* a trend's own figures are read by the caller */
	mean_us = result_doc_number(stats, "mean", 0) * 1e3;
	stdev_us = result_doc_number(stats, "stdev", 0) * 1e3;
	h->min = llround(result_doc_number(stats, "min", h->min / 1e3) * 1e3);
	h->max = llround(result_doc_number(stats, "max", h->max / 1e3) * 1e3);
	h->sum = mean_us * (double)h->total;
	h->sum_sq = (stdev_us * stdev_us + mean_us * mean_us) * (double)h->total;
	return 0;
}

static void read_codes(gen_counters_t *c, const json_t *obj)
{
	const json_t *codes = result_doc_object(obj, "status_codes");
	const json_t *kinds = result_doc_object(obj, "errors_by_kind");
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)codes, key, v)
	{
		int code = atoi(key);

		if (code >= 0 && code < GEN_STATUS_MAX)
			c->status[code] = result_doc_value_count(v, 0);
	}
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		c->errors_by_kind[i] = result_doc_count(kinds, gen_error_kind_name(i), 0);
	c->checks_failed = result_doc_count(kinds, "check_failed", 0);
	c->script_errors = result_doc_count(kinds, "script_error", 0);
}

static uint64_t transport_errors(const gen_counters_t *c)
{
	uint64_t n = 0;

	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		n += c->errors_by_kind[i];
	return n;
}

static int read_config(result_t *r, const json_t *doc)
{
	const json_t *c = result_doc_object(doc, "config"), *v;
	result_config_t *o = &r->config;
	size_t i;

	o->url = dup_string(r, c, "url");
	o->scenario = dup_string(r, c, "scenario");
	o->method = dup_string(r, c, "method");
	o->stages = dup_string(r, c, "stages");
	o->open_model = strcmp(result_doc_string(c, "model", "closed"), "open") == 0;
	o->has_rate = result_doc_get(c, "rate") != NULL;
	o->rate = result_doc_number(c, "rate", 0);
	o->has_max_queue = result_doc_get(c, "max_queue") != NULL;
	o->max_queue = result_doc_count(c, "max_queue", 0);
	o->has_pipeline = result_doc_get(c, "pipeline") != NULL;
	o->pipeline = result_doc_count(c, "pipeline", 1);
	o->new_conn_every = result_doc_count(c, "new_conn_every", 0);
	if (result_doc_get(c, "protocol"))
		o->streams = result_doc_count(c, "streams", 1);
	if (result_doc_object(c, "shard")) {
		o->shard_index = result_doc_count(result_doc_object(c, "shard"), "index", 0);
		o->shard_count = result_doc_count(result_doc_object(c, "shard"), "count", 0);
	}
	o->connections = result_doc_count(c, "connections", 0);
	o->threads = result_doc_count(c, "threads", 0);
	o->duration_s = result_doc_number(c, "duration_s", 0);
	o->requests = result_doc_count(c, "requests", 0);
	o->timeout_s = result_doc_number(c, "timeout_s", 0);
	o->body_bytes = result_doc_count(c, "body_bytes", 0);
	o->insecure = result_doc_bool(c, "insecure", false);
	o->idle_poll = result_doc_bool(c, "idle_poll", false);
	if (json_array_size(result_doc_array(c, "headers"))) {
		const json_t *h = result_doc_array(c, "headers");

		o->headers = result_alloc(r, json_array_size(h) * sizeof(*o->headers));
		if (!o->headers)
			return -ENOMEM;
		json_array_foreach(h, i, v)
		{
			if (!(o->headers[o->header_count] = result_strdup(r, json_string_value(v))))
				return -ENOMEM;
			o->header_count++;
		}
	}
	return 0;
}

/* The run's totals; the duration unrounded from requests / rps when they agree with it. */
static void read_totals(result_t *r, const json_t *doc)
{
	const json_t *t = result_doc_object(doc, "totals");
	uint64_t requests = result_doc_count(t, "requests", 0);
	double rps = result_doc_number(t, "rps", 0), exact;

	r->counters.errors = result_doc_count(t, "errors", 0);
	r->counters.bytes_in = result_doc_count(t, "bytes_in", 0);
	r->counters.bytes_out = result_doc_count(t, "bytes_out", 0);
	r->counters.dropped = result_doc_count(t, "dropped", 0);
	r->counters.late = result_doc_count(t, "late", 0);
	r->counters.unfinished = result_doc_count(t, "unfinished", 0);
	read_codes(&r->counters, doc);
	/* responses: as written, else (an older document) requests less transport failures */
	r->counters.requests = result_doc_count(t, "responses", 0);
	if (!result_doc_get(t, "responses")) {
		uint64_t failed = transport_errors(&r->counters);

		r->counters.requests = requests > failed ? requests - failed : 0;
	}
	r->duration_s = result_doc_number(doc, "duration_s", 0);
	if (rps > 0 && requests > 0) {
		/* a duration both figures round to: inside duration_s ± 0.0005 and inside the
		 * durations that give rps ± 0.0005 (the run's own lies in both) */
		double lo = fmax(r->duration_s - 0.0005, requests / (rps + 0.0005));
		double hi = fmin(r->duration_s + 0.0005, requests / fmax(rps - 0.0005, 1e-9));

		exact = (lo + hi) / 2;
		if (lo < hi && result_round(exact, 3) == result_round(r->duration_s, 3) &&
		    result_round(requests / exact, 3) == result_round(rps, 3))
			r->duration_s = exact;
	}
}

static int read_endpoints(result_t *r, const json_t *doc)
{
	const json_t *hists = result_doc_object(doc, "histograms"), *ep, *text;
	size_t i;

	json_array_foreach(result_doc_array(doc, "endpoints"), i, ep)
	{
		char key[GEN_NAME_MAX + 20];
		result_endpoint_t *e = result_endpoint(r, result_doc_string(ep, "method", "GET"),
		                                       result_doc_string(ep, "name", ""));
		uint64_t requests = result_doc_count(ep, "requests", 0), failed;
		int rc;

		if (!e)
			return -ENOMEM;
		read_codes(&e->counters, ep);
		failed = transport_errors(&e->counters);
		e->counters.requests =
		    result_doc_count(ep, "responses", requests > failed ? requests - failed : 0);
		e->counters.errors = result_doc_count(ep, "errors", 0);
		e->counters.bytes_in = result_doc_count(ep, "bytes_in", 0);
		e->counters.bytes_out = result_doc_count(ep, "bytes_out", 0);
		result_doc_endpoint_key(ep, key, sizeof(key));
		text = result_doc_get(hists, key);
		/* written before per-endpoint histograms: a lone endpoint's are the run's */
		if (!text && json_array_size(result_doc_array(doc, "endpoints")) == 1)
			text = result_doc_get(hists, "all");
		rc = read_latency(r, &e->latency, text, result_doc_object(ep, "latency_ms"),
		                  e->counters.requests);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int read_groups(result_t *r, const json_t *doc)
{
	const json_t *g = result_doc_object(doc, "group_by"), *values, *v;
	size_t i, n;

	if (!g)
		return 0;
	r->has_groups = true;
	if (!(r->group_header = result_strdup(r, result_doc_string(g, "header", ""))))
		return -ENOMEM;
	r->group_missing = result_doc_count(g, "missing", 0);
	r->group_overflow = result_doc_count(g, "overflow", 0);
	r->group_truncated = result_doc_count(g, "truncated", 0);
	r->group_values_max = result_doc_count(g, "values_max", RESULT_GROUPS_MAX);
	values = result_doc_array(g, "values");
	n = json_array_size(values);
	if (n > RESULT_GROUPS_MAX)
		n = RESULT_GROUPS_MAX;
	if (n && !(r->groups = result_alloc(r, n * sizeof(*r->groups))))
		return -ENOMEM;
	json_array_foreach(values, i, v)
	{
		result_group_t *x;
		int rc;

		if (i >= n)
			break;
		x = &r->groups[r->group_count++];
		memset(x, 0, sizeof(*x));
		snprintf(x->value, sizeof(x->value), "%s", result_doc_string(v, "value", ""));
		x->responses = result_doc_count(v, "requests", 0);
		x->errors = result_doc_count(v, "errors", 0);
		rc = read_latency(r, &x->latency, result_doc_get(v, "histogram"),
		                  result_doc_object(v, "latency_ms"), x->responses);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int read_tallies(result_t *r, const json_t *doc)
{
	const json_t *metrics = result_doc_object(doc, "metrics"), *v;
	const char *key;
	size_t i;

	json_array_foreach(result_doc_array(doc, "checks"), i, v)
	{
		result_tally_t *t =
		    result_tally(r, GEN_TALLY_CHECK, result_doc_string(v, "name", ""));

		if (t) {
			t->passes = result_doc_count(v, "passes", 0);
			t->fails = result_doc_count(v, "fails", 0);
		}
	}
	json_array_foreach(result_doc_array(doc, "script_errors"), i, v)
	{
		result_tally_t *t =
		    result_tally(r, GEN_TALLY_SCRIPT_ERROR, result_doc_string(v, "message", ""));

		if (t)
			t->fails = result_doc_count(v, "count", 0);
	}
	json_object_foreach((json_t *)result_doc_object(metrics, "counters"), key, v)
	{
		result_tally_t *t = result_tally(r, GEN_TALLY_COUNTER, key);

		if (t)
			t->value = result_doc_value_number(v, 0);
	}
	json_object_foreach((json_t *)result_doc_object(metrics, "trends"), key, v)
	{
		result_tally_t *t = result_tally(r, GEN_TALLY_TREND, key);
		int rc;

		if (!t)
			continue;
		if ((rc = read_latency(r, &t->hist, result_doc_get(v, "histogram"), NULL,
		                       result_doc_count(v, "count", 0))) < 0)
			return rc;
		if (t->hist.total) {
			t->hist.min = llround(result_doc_number(v, "min", 0) * 1e3);
			t->hist.max = llround(result_doc_number(v, "max", 0) * 1e3);
			t->hist.sum = result_doc_number(v, "mean", 0) * 1e3 * (double)t->hist.total;
		}
	}
	return 0;
}

static int read_timeline(result_t *r, const json_t *doc)
{
	const json_t *tl = result_doc_array(doc, "timeline"), *v;
	size_t i;

	json_array_foreach(tl, i, v)
	{
		result_point_t *p = result_point(r, (int64_t)i);
		const json_t *hist = result_doc_get(v, "hist");
		double rps = result_doc_number(v, "rps", 0);

		if (!p)
			return -ENOMEM;
		p->gap = !result_doc_get(v, "late") && !result_doc_get(v, "generator_cpu");
		p->t = result_doc_number(v, "t", 0);
		p->users = (uint32_t)result_doc_count(v, "users", 0);
		p->target = result_doc_number(v, "target", 0);
		p->requests = result_doc_count(v, "requests", 0);
		p->errors = result_doc_count(v, "errors", 0);
		p->late = result_doc_count(v, "late", 0);
		p->dropped = result_doc_count(v, "dropped", 0);
		p->bytes_in = result_doc_count(v, "bytes_in", 0);
		p->p50_us = llround(result_doc_number(v, "p50_ms", 0) * 1e3);
		p->p95_us = llround(result_doc_number(v, "p95_ms", 0) * 1e3);
		p->p99_us = llround(result_doc_number(v, "p99_ms", 0) * 1e3);
		p->busiest_cpu = result_doc_number(v, "generator_cpu", 0);
		p->due = result_doc_count(v, "due", 0);
		p->due_late = result_doc_count(v, "due_late", 0);
		p->target_cpu_cores = result_doc_number(v, "target_cpu_cores", NAN);
		p->target_rss_bytes = result_doc_number(v, "target_rss_bytes", NAN);
		/* the second's length: unrounded from its rate, else from the previous end */
		p->length_s = p->t - result_doc_point_start(tl, i);
		if (rps > 0 && p->requests)
			p->length_s = (double)p->requests / rps;
		if (json_is_string(hist)) {
			p->hist_len = json_string_length(hist);
			if (!(p->hist = result_strdup(r, json_string_value(hist))))
				return -ENOMEM;
		}
	}
	r->sealed_upto = r->point_count;
	return 0;
}

/* The load's changes (gen_steer) as written: bounded as result_add keeps them; a kind this
 * surge does not know (a newer one's) is passed over. */
static int read_changes(result_t *r, const json_t *doc)
{
	const json_t *changes = result_doc_array(doc, "changes"), *v;
	size_t i;

	json_array_foreach(changes, i, v)
	{
		const char *what = result_doc_string(v, "what", "");
		double t = result_doc_number(v, "t", 0);
		gen_marker_t *m;

		if (strcmp(what, "users") != 0 && strcmp(what, "rate") != 0)
			continue;
		if (r->marker_count == RESULT_MARKERS_MAX) {
			r->dropped.markers++;
			continue;
		}
		if (r->marker_count == r->marker_cap) {
			uint32_t cap = r->marker_cap ? r->marker_cap * 2 : 8;
			gen_marker_t *grown;

			cap = cap > RESULT_MARKERS_MAX ? RESULT_MARKERS_MAX : cap;
			if (!(grown = result_realloc(r, r->markers, r->marker_cap * sizeof(*grown),
			                             cap * sizeof(*grown))))
				return -ENOMEM;
			r->markers = grown;
			r->marker_cap = cap;
		}
		m = &r->markers[r->marker_count++];
		*m = (gen_marker_t){
		    .at_ns = (uint64_t)llround(t * 1e9),
		    .kind = strcmp(what, "users") == 0 ? GEN_STEER_USERS : GEN_STEER_RATE,
		    .from = result_doc_number(v, "from", 0),
		    .to = result_doc_number(v, "to", 0),
		    .spawn_rate = result_doc_number(v, "spawn_rate", 0),
		    .ramp_s = result_doc_number(v, "ramp_s", 0),
		};
		m->wall_ns = r->started_wall_ns + m->at_ns;
	}
	return 0;
}

static int read_verdicts(result_t *r, const json_t *doc)
{
	const json_t *ths = result_doc_array(doc, "thresholds"), *v;
	const json_t *a = result_doc_object(doc, "assessment");
	const json_t *targets = result_doc_object(a, "targets");
	result_assessment_t *s = &r->assessment;
	size_t i, n = json_array_size(ths);

	if (n && !(r->thresholds = result_alloc(r, n * sizeof(*r->thresholds))))
		return -ENOMEM;
	json_array_foreach(ths, i, v)
	{
		result_threshold_t *t = &r->thresholds[r->threshold_count++];

		t->value = result_doc_number(v, "value", NAN);
		t->ok = result_doc_bool(v, "ok", false);
		if (!(t->expr = result_strdup(r, result_doc_string(v, "expr", ""))))
			return -ENOMEM;
	}
	if (!a)
		return 0;
	s->present = true;
	s->pass = strcmp(result_doc_string(a, "verdict", ""), "PASS") == 0;
	snprintf(s->latency_class, sizeof(s->latency_class), "%s",
	         result_doc_string(a, "latency_class", ""));
	s->latency_ok = strcmp(result_doc_string(a, "latency", ""), "PASS") == 0;
	s->throughput_ok = strcmp(result_doc_string(a, "throughput", ""), "PASS") == 0;
	s->errors_ok = strcmp(result_doc_string(a, "error_rate", ""), "PASS") == 0;
	s->thresholds_ok = strcmp(result_doc_string(a, "thresholds", ""), "PASS") == 0;
	s->p95_ms = result_doc_number(a, "p95_ms", NAN);
	s->target_p95_ms = result_doc_number(targets, "p95_ms", 0);
	s->target_max_error_rate = result_doc_number(targets, "max_error_rate", 0);
	s->target_min_rps = result_doc_number(targets, "min_rps", 0);
	s->aborted = result_doc_bool(a, "aborted", false);
	s->profile = dup_string(r, a, "profile");
	return 0;
}

static int read_advice(result_t *r, const json_t *doc)
{
	const json_t *recs = result_doc_array(doc, "recommendations"), *v;
	const json_t *t = result_doc_object(doc, "target"), *c = result_doc_object(doc, "cost");
	size_t i, n = json_array_size(recs);

	if (n > RESULT_RECOMMENDATIONS_MAX)
		n = RESULT_RECOMMENDATIONS_MAX;
	if (n && !(r->recommendations = result_alloc(r, n * sizeof(*r->recommendations))))
		return -ENOMEM;
	json_array_foreach(recs, i, v)
	{
		result_recommendation_t *o;
		const char *key;
		json_t *f;

		if (i >= n)
			break;
		o = &r->recommendations[r->recommendation_count++];
		memset(o, 0, sizeof(*o));
		snprintf(o->severity, sizeof(o->severity), "%s",
		         result_doc_string(v, "severity", ""));
		snprintf(o->kind, sizeof(o->kind), "%s", result_doc_string(v, "kind", ""));
		o->title = result_strdup(r, result_doc_string(v, "title", ""));
		o->detail = result_strdup(r, result_doc_string(v, "detail", ""));
		if (!o->title || !o->detail)
			return -ENOMEM;
		json_object_foreach((json_t *)result_doc_object(v, "figures"), key, f)
		{
			if (o->figure_count == RESULT_FIGURES_MAX)
				break;
			snprintf(o->figures[o->figure_count].name,
			         sizeof(o->figures[o->figure_count].name), "%s", key);
			o->figures[o->figure_count++].value = result_doc_value_number(f, NAN);
		}
	}
	if (c) {
		r->has_cost = true;
		r->cost_per_hour_usd = result_doc_number(c, "per_hour_usd", NAN);
		r->cost_replicas = result_doc_count(c, "replicas", 1);
		r->cost_requests_per_s = result_doc_number(c, "requests_per_s", NAN);
		r->cost_total_per_hour_usd = result_doc_number(c, "total_per_hour_usd", NAN);
		r->cost_per_million_requests_usd =
		    result_doc_number(c, "per_million_requests_usd", NAN);
	}
	if (!t)
		return 0;
	r->has_target = true;
	r->target = (result_target_t){
	    .url = dup_string(r, t, "url"),
	    .last_error = dup_string(r, t, "last_error"),
	    .cpu_basis = dup_string(r, t, "cpu_basis"),
	    .samples = result_doc_count(t, "samples", 0),
	    .scrape_errors = result_doc_count(t, "scrape_errors", 0),
	    .bad_lines = result_doc_count(t, "bad_lines", 0),
	    .cpu_cores_avg = result_doc_number(t, "cpu_cores_avg", NAN),
	    .cpu_cores_max = result_doc_number(t, "cpu_cores_max", NAN),
	    .cpu_limit_cores = result_doc_number(t, "cpu_limit_cores", NAN),
	    .workers = result_doc_number(t, "workers", NAN),
	    .host_cores = result_doc_number(t, "host_cores", NAN),
	    .cpu_capacity_cores = result_doc_number(t, "cpu_capacity_cores", NAN),
	    .cpu_utilisation = result_doc_number(t, "cpu_utilisation", NAN),
	    .rss_bytes_max = result_doc_number(t, "rss_bytes_max", NAN),
	    .memory_limit_bytes = result_doc_number(t, "memory_limit_bytes", NAN),
	    .memory_utilisation = result_doc_number(t, "memory_utilisation", NAN),
	    .in_flight_max = result_doc_number(t, "in_flight_max", NAN),
	    .pool_waits = result_doc_number(t, "pool_waits", NAN),
	    .pool_timeouts = result_doc_number(t, "pool_timeouts", NAN),
	    .pool_wait_ms_mean = result_doc_number(t, "pool_wait_ms_mean", NAN),
	    .cpu_periods = result_doc_number(t, "cpu_periods", NAN),
	    .cpu_throttled_periods = result_doc_number(t, "cpu_throttled_periods", NAN),
	    .cpu_throttled_share = result_doc_number(t, "cpu_throttled_share", NAN),
	    .cpu_throttled_s = result_doc_number(t, "cpu_throttled_s", NAN),
	    .oom_kills = result_doc_number(t, "oom_kills", NAN),
	};
	return 0;
}

/* An https run's handshakes (absent over http and from documents before they were counted). */
static int read_tls(result_t *r, const json_t *doc)
{
	const json_t *t = result_doc_object(doc, "tls");

	if (!t)
		return 0;
	r->has_tls = true;
	r->tls_handshakes = result_doc_count(t, "handshakes", 0);
	r->tls_resumed = result_doc_count(t, "resumed", 0);
	r->tls_resumption = result_doc_bool(t, "resumption", true);
	return read_latency(r, &r->tls_handshake, result_doc_get(t, "histogram"),
	                    result_doc_object(t, "handshake_ms"), r->tls_handshakes);
}

static int read_generator(result_t *r, const json_t *doc)
{
	const json_t *g = result_doc_object(doc, "generator"), *v;
	const json_t *sat = result_doc_object(g, "saturation");
	const json_t *cpu = result_doc_array(g, "thread_cpu");
	const json_t *io = result_doc_object(g, "io");
	result_generator_t *o = &r->generator;
	size_t i;

	o->cpu_s = result_doc_number(g, "cpu_s", 0);
	o->max_rss_bytes = result_doc_count(g, "max_rss_bytes", 0);
	o->threads = result_doc_count(g, "threads", 0);
	o->connections = result_doc_count(g, "connections", 0);
	o->thread_cpu_max = result_doc_number(g, "thread_cpu_max", 0);
	if (json_array_size(cpu)) {
		o->thread_cpu = result_alloc(r, json_array_size(cpu) * sizeof(*o->thread_cpu));
		if (!o->thread_cpu)
			return -ENOMEM;
		json_array_foreach(cpu, i, v) o->thread_cpu[o->thread_cpu_count++] =
		    result_doc_value_number(v, 0);
	}
	o->sched_lag_read = true;
	o->sched_lag_p99_us = (int64_t)result_doc_count(g, "sched_lag_p99_us", 0);
	o->sched_lag_max_us = (int64_t)result_doc_count(g, "sched_lag_max_us", 0);
	o->saturated = result_doc_bool(g, "saturated", false);
	if (io) {
		snprintf(o->io, sizeof(o->io), "%s", result_doc_string(io, "backend", ""));
		snprintf(o->io_fallback, sizeof(o->io_fallback), "%s",
		         result_doc_string(io, "fallback", ""));
		o->io_fallback_loops = result_doc_count(io, "fallback_loops", 0);
		o->io_recv_no_buffer = result_doc_count(io, "recv_no_buffer", 0);
		o->io_sq_full_submits = result_doc_count(io, "sq_full_submits", 0);
		o->io_cq_overflow = result_doc_count(io, "cq_overflow", 0);
	}
	if (sat) {
		const char *name = result_doc_string(sat, "criterion", "");

		o->saturation.criterion =
		    strcmp(name, gen_saturation_name(GEN_SAT_THREAD_CPU)) == 0 ? GEN_SAT_THREAD_CPU
		    : strcmp(name, gen_saturation_name(GEN_SAT_SCHEDULE_LAG)) == 0
		        ? GEN_SAT_SCHEDULE_LAG
		        : GEN_SAT_NONE;
		o->saturation.seconds = (uint32_t)result_doc_count(sat, "seconds", 0);
		o->saturation.consecutive = (uint32_t)result_doc_count(sat, "consecutive_s", 0);
		o->saturation.whole_seconds = (uint32_t)result_doc_count(sat, "run_seconds", 0);
		o->saturation.first_s = result_doc_number(sat, "first_s", 0);
		o->saturation.worst = result_doc_number(sat, "worst", 0);
		if (result_doc_get(sat, "shard"))
			o->saturation_shard = (int64_t)result_doc_count(sat, "shard", 0);
	}
	return 0;
}

static int read_distributed(result_t *r, const json_t *doc)
{
	const json_t *d = result_doc_object(doc, "distributed");
	const json_t *lost = result_doc_array(d, "lost"), *v;
	result_distributed_t *x = &r->distributed;
	size_t i;

	x->shards = (uint32_t)result_doc_count(d, "shards", 0);
	if (!x->shards || !json_array_size(lost))
		return 0;
	if (!(x->lost = result_alloc(r, json_array_size(lost) * sizeof(*x->lost))))
		return -ENOMEM;
	json_array_foreach(lost, i, v)
	{
		uint64_t shard = result_doc_count(v, "shard", 1);

		x->lost[x->lost_count++] =
		    (result_lost_shard_t){.index = shard ? (uint32_t)(shard - 1) : 0,
		                          .from_second = (int64_t)result_doc_count(v, "from_s", 0),
		                          .asked = result_doc_number(v, "asked", NAN)};
	}
	return 0;
}

static int read_merge(result_t *r, const json_t *doc)
{
	const json_t *from = result_doc_array(doc, "merged_from"), *v;
	const json_t *limits = result_doc_object(doc, "limits");
	size_t i;
	int rc;

	r->shards = result_doc_count(doc, "shards", 0);
	if (json_array_size(from) &&
	    !(r->merged_from = result_alloc(r, json_array_size(from) * sizeof(char *))))
		return -ENOMEM;
	json_array_foreach(from, i, v)
	{
		if (!(r->merged_from[r->merged_count] = result_strdup(r, json_string_value(v))))
			return -ENOMEM;
		r->merged_count++;
	}
	if ((rc = read_distributed(r, doc)) < 0)
		return rc;
	r->dropped.points = result_doc_count(limits, "timeline_points_dropped", 0);
	r->dropped.endpoints = result_doc_count(limits, "endpoint_deltas_over_max", 0);
	r->dropped.tallies = result_doc_count(limits, "tally_deltas_over_max", 0);
	r->dropped.deltas_lost = result_doc_count(limits, "deltas_lost", 0);
	r->dropped.markers += result_doc_count(limits, "changes_dropped", 0);
	return 0;
}

static int read_document(result_t *r, const json_t *doc)
{
	double started;
	int rc;

	r->version = dup_string(r, doc, "version");
	r->has_started_at = result_doc_started_at(doc, &started);
	if (r->has_started_at)
		r->started_wall_ns = (uint64_t)llround(started * 1e3) * 1000000ULL;
	r->has_generator = result_doc_object(doc, "generator") != NULL;
	r->interrupted = result_doc_bool(doc, "interrupted", false);
	read_totals(r, doc);
	if ((rc = read_config(r, doc)) < 0 ||
	    (rc = read_latency(r, &r->latency,
	                       result_doc_get(result_doc_object(doc, "histograms"), "all"),
	                       result_doc_object(doc, "latency_ms"), r->counters.requests)) < 0 ||
	    (rc = read_latency(r, &r->service, NULL, result_doc_object(doc, "service_ms"),
	                       r->counters.requests)) < 0 ||
	    (rc = read_endpoints(r, doc)) < 0 || (rc = read_groups(r, doc)) < 0 ||
	    (rc = read_tallies(r, doc)) < 0 || (rc = read_timeline(r, doc)) < 0 ||
	    (rc = read_changes(r, doc)) < 0 || (rc = read_verdicts(r, doc)) < 0 ||
	    (rc = read_advice(r, doc)) < 0 || (rc = read_generator(r, doc)) < 0 ||
	    (rc = read_tls(r, doc)) < 0 || (rc = read_merge(r, doc)) < 0)
		return rc;
	return 0;
}

/* The checked tree into r (initialised by the caller); the tree is freed here. */
static int decode_tree(const char *name, json_t *doc, result_t *r, char *err, size_t errlen)
{
	int rc = read_document(r, doc);

	json_decref(doc);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", name,
		         rc == -ENOMEM ? "out of memory" : "a histogram does not decode");
		result_free(r);
	}
	return rc;
}

int result_decode(const char *name, const char *text, size_t len, result_t *r, char *err,
                  size_t errlen)
{
	json_t *doc;

	result_init(r);
	doc = result_doc_parse(name, text, len, err, errlen);
	if (!doc)
		return -EINVAL;
	return decode_tree(name, doc, r, err, errlen);
}

int result_load(const char *path, result_doc_use_t use, result_t *r, char *err, size_t errlen)
{
	char shown[ECHO_SIZE];
	const char *name =
	    strcmp(path, "-") == 0 ? "stdin" : echo_value(path, shown, sizeof(shown));
	json_t *doc;

	result_init(r);
	doc = result_doc_load(path, err, errlen);
	if (!doc)
		return -EINVAL;
	if (result_doc_require(doc, path, use, err, errlen) < 0) {
		json_decref(doc);
		return -EINVAL;
	}
	return decode_tree(name, doc, r, err, errlen);
}
