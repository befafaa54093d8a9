/* result_doc: loading a saved result document and the typed lookups its renderers share.
 * The file is read whole (bounded by RESULT_DOC_MAX) and parsed by jansson; every lookup
 * falls back to a default, so one renderer serves documents with or without optional keys. */
#include "report/result_doc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Reads all of fd, at most max bytes; NULL with errno (EFBIG when larger). */
static char *read_all(int fd, size_t max, size_t *len)
{
	size_t used = 0, cap = 64 * 1024;
	char *data = malloc(cap);

	if (!data)
		return NULL;
	for (;;) {
		ssize_t n;

		if (used == cap) {
			char *grown;

			if (cap > max) {
				free(data);
				errno = EFBIG;
				return NULL;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			grown = realloc(data, cap);
			if (!grown) {
				free(data);
				errno = ENOMEM;
				return NULL;
			}
			data = grown;
		}
		n = read(fd, data + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(data);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (used > max) {
		free(data);
		errno = EFBIG;
		return NULL;
	}
	*len = used;
	return data;
}

json_t *result_doc_load(const char *path, char *err, size_t errlen)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "stdin" : path;
	struct stat st;
	size_t len = 0;
	char *text;
	json_t *doc;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", name, strerror(EISDIR));
		goto fail;
	}
	text = read_all(fd, RESULT_DOC_MAX, &len);
	if (!text) {
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: larger than %u MiB", name, RESULT_DOC_MAX >> 20);
		else
			snprintf(err, errlen, "%s: %s", name, strerror(errno));
		goto fail;
	}
	if (!is_stdin)
		close(fd);
	doc = result_doc_parse(name, text, len, err, errlen);
	free(text);
	return doc;
fail:
	if (!is_stdin)
		close(fd);
	return NULL;
}

json_t *result_doc_parse(const char *name, const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, 0, &jerr);

	if (!doc) {
		snprintf(err, errlen, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(doc) || strcmp(result_doc_string(doc, "tool", ""), "surge") != 0) {
		snprintf(err, errlen, "%s: not a surge result document (no \"tool\": \"surge\")",
		         name);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* ---- lookups ---- */

const json_t *result_doc_get(const json_t *obj, const char *key)
{
	return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

double result_doc_value_number(const json_t *v, double def)
{
	return json_is_number(v) ? json_number_value(v) : def;
}

uint64_t result_doc_value_count(const json_t *v, uint64_t def)
{
	if (json_is_integer(v))
		return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
	if (json_is_real(v)) {
		double d = json_real_value(v);

		return d > 0 && d < 1.8e19 ? (uint64_t)(d + 0.5) : 0;
	}
	return def;
}

double result_doc_number(const json_t *obj, const char *key, double def)
{
	return result_doc_value_number(result_doc_get(obj, key), def);
}

uint64_t result_doc_count(const json_t *obj, const char *key, uint64_t def)
{
	return result_doc_value_count(result_doc_get(obj, key), def);
}

const char *result_doc_string(const json_t *obj, const char *key, const char *def)
{
	const json_t *v = result_doc_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : def;
}

bool result_doc_bool(const json_t *obj, const char *key, bool def)
{
	const json_t *v = result_doc_get(obj, key);

	return json_is_boolean(v) ? json_is_true(v) : def;
}

const json_t *result_doc_object(const json_t *obj, const char *key)
{
	const json_t *v = result_doc_get(obj, key);

	return json_is_object(v) ? v : NULL;
}

const json_t *result_doc_array(const json_t *obj, const char *key)
{
	const json_t *v = result_doc_get(obj, key);

	return json_is_array(v) ? v : NULL;
}

const json_t *result_doc_path(const json_t *doc, const char *path)
{
	const json_t *v = doc;
	char key[256];

	while (v && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		v = result_doc_get(v, key);
		path += n + (path[n] == '.');
	}
	return v;
}

double result_doc_path_number(const json_t *doc, const char *path, double def)
{
	return result_doc_value_number(result_doc_path(doc, path), def);
}

void result_doc_endpoint_key(const json_t *endpoint, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s %s", result_doc_string(endpoint, "method", "GET"),
	         result_doc_string(endpoint, "name", ""));
}

void result_doc_threshold_value(const char *expr, const json_t *value, char *out, size_t len)
{
	size_t op = strcspn(expr, "<>=!");
	const char *metric = expr;
	double v = result_doc_value_number(value, 0);

	/* "name:/api/users:p99<300ms": the metric follows the last colon before the operator */
	for (size_t i = 0; i < op; i++)
		if (expr[i] == ':')
			metric = expr + i + 1;
	if (!json_is_number(value))
		snprintf(out, len, "nothing measured");
	else if (strncmp(metric, "error_rate", 10) == 0)
		snprintf(out, len, "%.4g%%", v * 100);
	else if (strncmp(metric, "rps", 3) == 0)
		snprintf(out, len, "%.1f/s", v);
	else
		snprintf(out, len, "%.3f ms", v);
}

/* ---- histograms and time ---- */

int result_doc_histogram_value(const json_t *text, hist_t *h)
{
	hist_reset(h);
	if (!json_is_string(text))
		return -ENOENT;
	return hist_decode_base64(json_string_value(text), json_string_length(text), h);
}

int result_doc_histogram(const json_t *doc, const char *key, hist_t *h)
{
	return result_doc_histogram_value(result_doc_get(result_doc_object(doc, "histograms"), key),
	                                  h);
}

bool result_doc_started_at(const json_t *doc, double *epoch_s)
{
	const char *s = result_doc_string(doc, "started_at", NULL);
	struct tm tm;
	double frac = 0;
	int used = 0, off_h = 0, off_m = 0;
	time_t t;

	if (!s)
		return false;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
		return false;
	s += used;
	if (*s == '.') {
		double scale = 0.1;

		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			frac += (*s - '0') * scale;
	}
	if (*s == '+' || *s == '-') {
		int sign = *s == '-' ? -1 : 1;

		if (sscanf(s + 1, "%2d:%2d", &off_h, &off_m) != 2)
			return false;
		off_h *= sign;
		off_m *= sign;
	} else if (*s != 'Z' && *s != 'z') {
		return false;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*epoch_s = (double)t + frac - off_h * 3600.0 - off_m * 60.0;
	return true;
}

double result_doc_point_start(const json_t *timeline, size_t i)
{
	return i == 0 ? 0 : result_doc_number(json_array_get(timeline, i - 1), "t", 0);
}
