/* cli_files: reading inputs and writing results. Results are written to a temporary file and
 * renamed, so a reader (or a Ctrl-C) never sees half a document. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "surge %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'surge help %s')\n", cmd);
	return EXIT_USAGE;
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

/* "-", /dev/stdout, a pipe or a terminal: written in place, there is nothing to rename. */
static int write_special(const char *path, const void *data, size_t len)
{
	int fd, rc;

	if (strcmp(path, "-") == 0)
		return write_all(STDOUT_FILENO, data, len);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, data, len);
	close(fd);
	return rc;
}

int cli_write_file(const char *path, const void *data, size_t len)
{
	char tmp[4096];
	struct stat st;
	int fd, e;

	if (strcmp(path, "-") == 0 || (stat(path, &st) == 0 && !S_ISREG(st.st_mode)))
		return write_special(path, data, len);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
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
	if (rename(tmp, path) < 0) {
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
