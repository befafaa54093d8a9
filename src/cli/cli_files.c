/* cli_files: reading inputs and writing results. Results are written to a temporary file and
 * renamed, so a reader (or a Ctrl-C) never sees half a document. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/echo.h"

static struct {
	const char *file, *prefix;
	const char *(*key_of)(const char *name);
} usage_file;

static const char *(*usage_spelling)(const char *name);

void cli_usage_names(const char *(*spelling)(const char *name))
{
	usage_spelling = spelling;
}

void cli_usage_file(const char *file, const char *prefix, const char *(*key_of)(const char *name))
{
	usage_file.file = file;
	usage_file.prefix = prefix;
	usage_file.key_of = key_of;
}

/* msg with each --NAME (or -X/--NAME, one flag written two ways) that the file has a key for
 * written as that key (prefix + key), or, without a file, that spelling() names otherwise. */
static void write_names(FILE *out, const char *msg, const char *prefix,
                        const char *(*spelling)(const char *name))
{
	const char *dash;

	while ((dash = strstr(msg, "--"))) {
		size_t n = strspn(dash + 2, "abcdefghijklmnopqrstuvwxyz-");
		const char *key = NULL, *from = dash;
		char name[64];

		if (n && n < sizeof(name)) {
			memcpy(name, dash + 2, n);
			name[n] = '\0';
			key = spelling(name);
		}
		if (key && dash - msg >= 3 && dash[-1] == '/' && dash[-3] == '-')
			from = dash - 3;
		fwrite(msg, 1, (size_t)(from - msg), out);
		if (key)
			fprintf(out, "%s%s", prefix, key);
		else
			fwrite(dash, 1, 2 + n, out);
		msg = dash + 2 + n;
	}
	fputs(msg, out);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	if (usage_file.file) {
		char msg[1024];

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		fprintf(stderr, "surge %s: %s: ", cmd, ECHO(usage_file.file));
		write_names(stderr, msg, usage_file.prefix, usage_file.key_of);
		fputc('\n', stderr);
		return EXIT_USAGE;
	}
	fprintf(stderr, "surge %s: ", cmd);
	va_start(ap, fmt);
	if (usage_spelling) {
		char msg[1024];

		vsnprintf(msg, sizeof(msg), fmt, ap);
		write_names(stderr, msg, "", usage_spelling);
	} else {
		vfprintf(stderr, fmt, ap);
	}
	va_end(ap);
	fprintf(stderr, "\n(see 'surge help %s')\n", cmd);
	return EXIT_USAGE;
}

void cli_warning(const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "surge %s: warning: ", cmd);
	if (usage_spelling)
		write_names(stderr, msg, "", usage_spelling);
	else
		fputs(msg, stderr);
	fputc('\n', stderr);
}

/* Writes everything to fd; 0 or -errno. */
static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* "-", /dev/stdout, a pipe or a terminal: written in place, there is nothing to rename
 * (O_TRUNC does nothing to those; it empties a regular file written in place). */
static int write_special(const char *path, const void *data, size_t len)
{
	int fd, rc;

	if (strcmp(path, "-") == 0)
		return write_all(STDOUT_FILENO, data, len);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, data, len);
	close(fd);
	return rc;
}

/* The file a write to path lands in: path itself, or where the symlinks it names lead (a
 * result written over a symlink goes to its target, as the shell's > does, instead of
 * replacing the link with a regular file). A link to nothing yet leads to the file it would
 * create. 0, or -errno (-ELOOP, -ENAMETOOLONG). */
static int resolve_target(const char *path, char *out, size_t len)
{
	char link[4096], real[PATH_MAX];

	if (realpath(path, real)) /* it exists: every link resolved */
		return snprintf(out, len, "%s", real) >= (int)len ? -ENAMETOOLONG : 0;
	if (errno != ENOENT)
		return -errno;
	if (snprintf(out, len, "%s", path) >= (int)len)
		return -ENAMETOOLONG;
	for (int hops = 0; hops < 40; hops++) {
		ssize_t n = readlink(out, link, sizeof(link) - 1);
		const char *slash;
		size_t dir_len;

		if (n < 0)
			return errno == EINVAL || errno == ENOENT ? 0 : -errno; /* not a link */
		link[n] = '\0';
		slash = strrchr(out, '/');
		/* a relative target is relative to the link's directory */
		dir_len = link[0] == '/' || !slash ? 0 : (size_t)(slash - out + 1);
		if (snprintf(out + dir_len, len - dir_len, "%s", link) >= (int)(len - dir_len))
			return -ENAMETOOLONG;
	}
	return -ELOOP;
}

/* The directory of file (".", "/" or its path up to the last slash) into out. */
static void parent_dir(const char *file, char *out, size_t len)
{
	const char *slash = strrchr(file, '/');

	if (!slash)
		snprintf(out, len, ".");
	else if (slash == file)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - file), file);
}

int cli_check_writable(const char *path)
{
	char target[4096], dir[4096];
	struct stat st;
	int rc;

	if (!path || !*path)
		return -ENOENT;
	if (strcmp(path, "-") == 0)
		return 0;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		/* the file's own permissions decide, as they do for the shell's > */
		return faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) < 0 ? -errno : 0;
	}
	if (errno != ENOENT)
		return -errno;
	if ((rc = resolve_target(path, target, sizeof(target))) < 0)
		return rc;
	parent_dir(target, dir, sizeof(dir));
	return faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0 ? -errno : 0;
}

/* Writes a new copy of target beside it and renames it into place. An existing file keeps
 * its mode and (when we may) its owner; -EACCES when the directory takes no new file. */
static int write_renamed(const char *target, const struct stat *old, const void *data, size_t len)
{
	char tmp[4096 + 32];
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", target, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, old ? old->st_mode & 07777 : 0644);
	if (fd < 0)
		return -errno;
	if (old) {
		if (fchown(fd, old->st_uid, old->st_gid) < 0) {
			/* not ours to give away: the copy stays ours, as an edit would leave it */
		}
		fchmod(fd, old->st_mode & 07777); /* the umask does not apply to an old file */
	}
	if ((e = write_all(fd, data, len)) < 0) {
		errno = -e;
		goto fail;
	}
	if (fsync(fd) < 0 && errno != EINVAL)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, target) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -e;
}

int cli_write_file(const char *path, const void *data, size_t len)
{
	char target[4096];
	struct stat st;
	bool exists;
	int rc;

	if (!*path)
		return -ENOENT;
	exists = stat(path, &st) == 0;
	if (strcmp(path, "-") == 0 || (exists && !S_ISREG(st.st_mode)))
		return write_special(path, data, len);
	/* a file we may not write is not replaced behind its owner's back by the rename */
	if (exists && faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) < 0)
		return -errno;
	if ((rc = resolve_target(path, target, sizeof(target))) < 0)
		return rc;
	rc = write_renamed(target, exists ? &st : NULL, data, len);
	if (rc == -EACCES && exists) /* a writable file in a directory we may not add to */
		rc = write_special(target, data, len);
	return rc;
}

char *cli_read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t used = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (used == cap) {
			char *grown;

			cap = cap ? cap * 2 : 4096;
			if (cap > max + 1)
				cap = max + 1;
			if (used == cap) {
				free(data);
				fclose(f);
				errno = EFBIG;
				return NULL;
			}
			grown = realloc(data, cap + 1);
			if (!grown)
				break;
			data = grown;
		}
		size_t n = fread(data + used, 1, cap - used, f);
		used += n;
		if (n == 0)
			break;
	}
	if (ferror(f) || !data || used > max) {
		int e = used > max ? EFBIG : (errno ? errno : EIO);
		free(data);
		fclose(f);
		errno = e;
		return NULL;
	}
	fclose(f);
	data[used] = '\0';
	*len = used;
	return data;
}

bool cli_same_file(const char *output, const char *input)
{
	struct stat so, si;

	if (strcmp(output, "-") == 0 || strcmp(input, "-") == 0)
		return false;
	if (strcmp(output, input) == 0)
		return true;
	return stat(output, &so) == 0 && stat(input, &si) == 0 && so.st_dev == si.st_dev &&
	       so.st_ino == si.st_ino;
}
