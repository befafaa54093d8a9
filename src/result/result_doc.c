/* result_doc: loading a saved result document and the typed lookups its renderers share.
 * The file is read whole (bounded by RESULT_DOC_MAX), checked to be UTF-8 text, parsed by
 * jansson and its contents checked (result_doc_check.c); every lookup falls back to a
 * default, so one renderer serves documents with or without optional keys. */
#include "result/result_doc.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/echo.h"
#include "core/json_alloc.h"

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
	char shown[ECHO_SIZE];
	const char *name = is_stdin ? "stdin" : echo_value(path, shown, sizeof(shown));
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

/* The length of the UTF-8 sequence at p (at most n bytes), 0 when it is not valid UTF-8
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_sequence(const unsigned char *p, size_t n)
{
	size_t len = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : 2;
	uint32_t cp;

	if (p[0] < 0xC2 || p[0] > 0xF4 || n < len)
		return 0;
	cp = p[0] & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

/* What makes text no JSON document at all, said plainly before the parser would say it in
 * its terms ("'[' or '{' expected near end of file"); 0 when it is UTF-8 text. */
static int check_text(const char *name, const unsigned char *p, size_t len, char *err,
                      size_t errlen)
{
	size_t i = 0;

	if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
		snprintf(err, errlen,
		         "%s: starts with a UTF-8 byte-order mark (EF BB BF): save it as UTF-8 "
		         "without one",
		         name);
		return -EINVAL;
	}
	if (len >= 2 && ((p[0] == 0xFF && p[1] == 0xFE) || (p[0] == 0xFE && p[1] == 0xFF))) {
		snprintf(
		    err, errlen,
		    "%s: starts with a UTF-16 byte-order mark: a result document is UTF-8 text",
		    name);
		return -EINVAL;
	}
	if (len >= 2 && p[0] == 0x1F && p[1] == 0x8B) {
		snprintf(err, errlen, "%s: not a text file (gzip-compressed: gunzip it first)",
		         name);
		return -EINVAL;
	}
	while (i < len) {
		size_t n = 1;

		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') {
			snprintf(err, errlen, "%s: not a text file (byte 0x%02X at offset %zu)",
			         name, p[i], i);
			return -EINVAL;
		}
		if (p[i] >= 0x80 && (n = utf8_sequence(p + i, len - i)) == 0) {
			snprintf(
			    err, errlen,
			    "%s: not UTF-8 text (byte 0x%02X at offset %zu): a result document "
			    "is UTF-8",
			    name, p[i], i);
			return -EINVAL;
		}
		i += n;
	}
	for (i = 0; i < len && strchr(" \t\n\r", p[i]); i++)
		;
	if (i == len) {
		snprintf(err, errlen, "%s: empty: no JSON document in it", name);
		return -EINVAL;
	}
	return 0;
}

json_t *result_doc_parse(const char *name, const char *text, size_t len, char *err, size_t errlen)
{
	unsigned long refused = json_alloc_failures();
	json_error_t jerr;
	json_t *doc;

	if (check_text(name, (const unsigned char *)text, len, err, errlen) < 0)
		return NULL;
	/* a key twice would be read as whichever came last: refuse the ambiguity */
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (json_alloc_failures() != refused) {
		/* not the text's fault: jansson says "string expected" when its copy of a string
		 * failed, or drops the byte it could not add and reads on (a document it returns
		 * then is not what the file holds) */
		json_decref(doc);
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	if (!doc) {
		/* jansson quotes the text near the fault, which may hold any byte */
		snprintf(err, errlen, "%s:%d:%d: %s", name, jerr.line, jerr.column,
		         ECHO(jerr.text));
		return NULL;
	}
	if (!json_is_object(doc) || strcmp(result_doc_string(doc, "tool", ""), "surge") != 0) {
		snprintf(err, errlen, "%s: not a surge result document (no \"tool\": \"surge\")",
		         name);
		json_decref(doc);
		return NULL;
	}
	if (result_doc_check(doc, name, err, errlen) < 0) {
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

void result_threshold_text(const char *expr, double v, char *out, size_t len)
{
	size_t op = strcspn(expr, "<>=!");
	const char *metric = expr;

	/* "name:/api/users:p99<300ms": the metric follows the last colon before the operator */
	for (size_t i = 0; i < op; i++)
		if (expr[i] == ':')
			metric = expr + i + 1;
	if (isnan(v))
		snprintf(out, len, "nothing measured");
	else if (strncmp(metric, "error_rate", 10) == 0)
		snprintf(out, len, "%.4g%%", v * 100);
	else if (strncmp(metric, "rps", 3) == 0)
		snprintf(out, len, "%.1f/s", v);
	else if (strncmp(metric, "balance", 7) == 0)
		snprintf(out, len, "%.3f", v);
	else
		snprintf(out, len, "%.3f ms", v);
}

void result_doc_threshold_value(const char *expr, const json_t *value, char *out, size_t len)
{
	result_threshold_text(expr, json_is_number(value) ? json_number_value(value) : NAN, out,
	                      len);
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

	return s && result_doc_parse_time(s, epoch_s);
}

bool result_doc_parse_time(const char *s, double *epoch_s)
{
	return clock_parse_rfc3339(s, epoch_s);
}

double result_doc_point_start(const json_t *timeline, size_t i)
{
	return i == 0 ? 0 : result_doc_number(json_array_get(timeline, i - 1), "t", 0);
}
