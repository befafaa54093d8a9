/* dist_test: a scenario as it travels to the shards — the file and the data files its top level
 * read, base64 (any bytes: a CSV need not be UTF-8, and JSON strings must be), by their paths
 * relative to its folder, DIST_FILES_MAX bytes in all — and unpacked by a shard into a private
 * folder of its own, whose names are checked so nothing is written outside it. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/echo.h"
#include "dist/dist.h"

static int put_base64(json_writer_t *w, const char *key, const char *data, size_t len)
{
	unsigned char *out = malloc(4 * ((len + 2) / 3) + 1);
	int n;

	if (!out)
		return -ENOMEM;
	n = EVP_EncodeBlock(out, (const unsigned char *)data, (int)len);
	jsonw_key(w, key);
	jsonw_string_n(w, (const char *)out, (size_t)n);
	free(out);
	return 0;
}

/* dir + name's bytes into out (reset first), at most room: 0, or -errno / -EFBIG with why. */
static int read_file(const char *dir, const char *name, size_t room, buf_t *out, char *err,
                     size_t errlen)
{
	char path[4096], chunk[65536];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", dir, name);
	buf_reset(out);
	if (!(f = fopen(path, "rb"))) {
		snprintf(err, errlen, "%s: %s", ECHO(path), strerror(errno));
		return -errno;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && out->len + n <= room)
		buf_append(out, chunk, n);
	fclose(f);
	if (n > 0) {
		snprintf(err, errlen,
		         "the scenario and its data files are more than the %u MiB sent to each "
		         "shard (%s)",
		         DIST_FILES_MAX >> 20, ECHO(path));
		return -EFBIG;
	}
	if (buf_error(out)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int dist_test_write_scenario(json_writer_t *w, const char *path, const char *source, size_t len,
                             const char *const *names, size_t n, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	buf_t data;
	size_t used = len;
	int rc = 0;

	if (len > DIST_FILES_MAX) {
		snprintf(err, errlen, "%s is more than the %u MiB sent to each shard", ECHO(path),
		         DIST_FILES_MAX >> 20);
		return -EFBIG;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path + 1) : 0, path);
	jsonw_key(w, "scenario");
	jsonw_object_begin(w);
	jsonw_key(w, "name");
	jsonw_string(w, slash ? slash + 1 : path);
	if ((rc = put_base64(w, "base64", source, len)) < 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	jsonw_key(w, "files");
	jsonw_array_begin(w);
	buf_init(&data, DIST_FILES_MAX);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if ((rc = read_file(dir, names[i], DIST_FILES_MAX - used, &data, err, errlen)) < 0)
			break;
		used += data.len;
		jsonw_object_begin(w);
		jsonw_key(w, "name");
		jsonw_string(w, names[i]);
		if ((rc = put_base64(w, "base64", data.data ? data.data : "", data.len)) < 0)
			snprintf(err, errlen, "out of memory");
		jsonw_object_end(w);
	}
	buf_free(&data);
	jsonw_array_end(w);
	jsonw_object_end(w);
	return rc;
}

bool dist_test_name_ok(const char *name)
{
	const char *c = name;

	if (!name[0] || name[0] == '/' || strlen(name) > 1024)
		return false;
	for (;;) { /* each component: not empty, not "." or "..", no control byte */
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
				return false;
		if (!end)
			return true;
		c = end + 1;
	}
}

/* base64 text into its bytes (a new buffer, *len): NULL when it is not base64. */
static unsigned char *from_base64(const char *text, size_t tlen, size_t *len)
{
	unsigned char *out;
	int n;

	if (tlen % 4 || tlen / 4 * 3 > DIST_FILES_MAX || !(out = malloc(tlen / 4 * 3 + 1)))
		return NULL;
	n = tlen ? EVP_DecodeBlock(out, (const unsigned char *)text, (int)tlen) : 0;
	if (n < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding's bytes as zeros */
	for (size_t i = tlen; i > 0 && text[i - 1] == '=' && n > 0; i--)
		n--;
	*len = (size_t)n;
	return out;
}

/* dir/name with its bytes, the folders on the way made (0700): 0 or -errno. */
static int write_one(const char *dir, const char *name, const json_t *b64, char *err, size_t errlen)
{
	char path[4096];
	unsigned char *bytes;
	size_t len = 0;
	FILE *f;
	int rc = 0;

	if (!json_is_string(b64) ||
	    !(bytes = from_base64(json_string_value(b64), json_string_length(b64), &len))) {
		snprintf(err, errlen, "%s: not base64 of at most %u MiB", ECHO(name),
		         DIST_FILES_MAX >> 20);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			rc = -errno;
		*s = '/';
	}
	if (rc == 0 && (f = fopen(path, "wbx"))) {
		if (fwrite(bytes, 1, len, f) != len)
			rc = -EIO;
		if (fclose(f) != 0 && rc == 0)
			rc = -errno;
	} else if (rc == 0) {
		rc = -errno;
	}
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", ECHO(path), strerror(-rc));
	free(bytes);
	return rc;
}

int dist_test_unpack(const json_t *scenario, char *dir, size_t dirlen, char *path, size_t pathlen,
                     char *err, size_t errlen)
{
	const json_t *name = json_object_get(scenario, "name"),
	             *files = json_object_get(scenario, "files"), *f;
	const char *tmp = getenv("TMPDIR");
	size_t i;
	int rc;

	if (!json_is_string(name) || !dist_test_name_ok(json_string_value(name)) ||
	    strchr(json_string_value(name), '/') || !json_is_array(files) ||
	    json_array_size(files) > 64) {
		snprintf(err, errlen,
		         "the coordinator's scenario has no name, a bad one, or no files");
		return -EINVAL;
	}
	json_array_foreach(files, i, f)
	{
		const char *n = json_string_value(json_object_get(f, "name"));

		if (!n || !dist_test_name_ok(n) || strcmp(n, json_string_value(name)) == 0) {
			snprintf(
			    err, errlen,
			    "the coordinator's data file %zu has a name a shard does not write "
			    "('%s': a relative path below the scenario's folder)",
			    i + 1, n ? ECHO(n) : "?");
			return -EINVAL;
		}
	}
	snprintf(dir, dirlen, "%s/surge-shard-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	if ((rc = write_one(dir, json_string_value(name), json_object_get(scenario, "base64"), err,
	                    errlen)) < 0) {
		dist_test_remove(dir, scenario);
		return rc;
	}
	json_array_foreach(files, i, f)
	{
		if ((rc = write_one(dir, json_string_value(json_object_get(f, "name")),
		                    json_object_get(f, "base64"), err, errlen)) < 0) {
			dist_test_remove(dir, scenario);
			return rc;
		}
	}
	snprintf(path, pathlen, "%s/%s", dir, json_string_value(name));
	return 0;
}

/* Removes dir/name and the folders on its way that are now empty, deepest first. */
static void remove_one(const char *dir, const char *name)
{
	char path[4096];
	char *s;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	while ((s = strrchr(path + strlen(dir), '/')) && s > path + strlen(dir)) {
		*s = '\0';
		rmdir(path);
	}
}

void dist_test_remove(const char *dir, const json_t *scenario)
{
	const json_t *files = json_object_get(scenario, "files"), *f;
	const char *name = json_string_value(json_object_get(scenario, "name"));
	size_t i;

	if (name && dist_test_name_ok(name))
		remove_one(dir, name);
	json_array_foreach(files, i, f)
	{
		const char *n = json_string_value(json_object_get(f, "name"));

		if (n && dist_test_name_ok(n))
			remove_one(dir, n);
	}
	rmdir(dir);
}
