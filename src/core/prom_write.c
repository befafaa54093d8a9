/* prom_write: the Prometheus text format written (see prom_write.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/prom_write.h"

/* Help text: backslash and line feed escaped, as the format asks. */
static void help_text(buf_t *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_append_str(out, "\\\\");
		else if (*s == '\n')
			buf_append_str(out, "\\n");
		else
			buf_append_char(out, *s);
	}
}

void prom_family(buf_t *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s ", name);
	help_text(out, help);
	buf_printf(out, "\n# TYPE %s %s\n", name, type);
}

/* 15 significant digits when they give v back exactly (most values people write), else 17,
 * which always do. */
static int shortest_digits(double v)
{
	char text[32];

	snprintf(text, sizeof(text), "%.15g", v);
	return strtod(text, NULL) == v ? 15 : 17;
}

void prom_value(buf_t *out, double v)
{
	if (isnan(v))
		buf_append_str(out, "NaN");
	else if (isinf(v))
		buf_append_str(out, v > 0 ? "+Inf" : "-Inf");
	else
		buf_printf(out, "%.*g", shortest_digits(v), v);
}

void prom_sample(buf_t *out, const char *name, const char *labels, double v)
{
	if (labels[0])
		buf_printf(out, "%s{%s} ", name, labels);
	else
		buf_printf(out, "%s ", name);
	prom_value(out, v);
	buf_append_char(out, '\n');
}

void prom_metric(buf_t *out, const char *name, const char *type, const char *help, double v)
{
	prom_family(out, name, type, help);
	prom_sample(out, name, "", v);
}

void prom_label_value(buf_t *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(out, "\\%c", *v);
		else if (*v == '\n')
			buf_append_str(out, "\\n");
		else
			buf_append(out, v, 1);
	}
}

void prom_histogram(buf_t *out, const char *name, const char *labels, const double *le,
                    const bool *keep, size_t n, const uint64_t *counts, uint64_t count, double sum)
{
	const char *comma = labels[0] ? "," : "";
	uint64_t cum = 0;

	for (size_t b = 0; b < n; b++) {
		cum += counts[b];
		if (!keep || keep[b])
			buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, comma,
			           le[b], (unsigned long long)cum);
	}
	buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, comma,
	           (unsigned long long)count);
	if (labels[0])
		buf_printf(out, "%s_sum{%s} %.9f\n%s_count{%s} %llu\n", name, labels, sum, name,
		           labels, (unsigned long long)count);
	else
		buf_printf(out, "%s_sum %.9f\n%s_count %llu\n", name, sum, name,
		           (unsigned long long)count);
}
