/* serve_disk: disk I/O under --data-dir — writes (optionally fsynced, then removed) and
 * sequential reads of a scratch file. The I/O is synchronous in the worker thread, as a
 * service doing blocking file I/O would be. Nothing is left behind: a failed write or a
 * scratch file that could not grow (a full disk) is removed or cut back at once, and the
 * scratch file (one per process) is removed at exit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "serve/serve_internal.h"

#define BLOCK (1024 * 1024)
#define MIB   (1024.0 * 1024.0)

static char block[BLOCK];

static int size_param(serve_request_t *r, uint64_t *bytes)
{
	double mb;

	if (serve_param_number(r, "size_mb", 10, 0, 1048576, &mb) < 0)
		return -1;
	*bytes = (uint64_t)(mb * MIB);
	if (*bytes > serve_state.cfg->max_size_bytes) {
		*bytes = serve_state.cfg->max_size_bytes;
		serve_capped(r, "size_mb");
	}
	return 0;
}

static int write_all(int fd, uint64_t bytes)
{
	while (bytes > 0) {
		ssize_t n = write(fd, block, bytes < BLOCK ? (size_t)bytes : BLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = ENOSPC;
		if (n <= 0)
			return -1;
		bytes -= (uint64_t)n;
	}
	return 0;
}

static void reply_io(serve_request_t *r, const char *what, uint64_t bytes, uint64_t ns)
{
	json_writer_t w;

	serve_timing(r, "disk", ns / 1e6);
	serve_reply_json(r, 200, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, what);
	jsonw_uint(&w, bytes);
	jsonw_key(&w, "seconds");
	jsonw_double(&w, ns / 1e9, 6);
	jsonw_key(&w, "mb_per_s");
	jsonw_double(&w, ns ? bytes / MIB / (ns / 1e9) : 0, 3);
	jsonw_object_end(&w);
}

static void disk_write(serve_request_t *r)
{
	char path[4096];
	int64_t sync;
	uint64_t bytes, t0;
	int fd, rc, e;

	if (size_param(r, &bytes) < 0 || serve_param_int(r, "fsync", 0, 0, 1, &sync) < 0)
		return;
	snprintf(path, sizeof(path), "%s/surge-write-%d-%llx.tmp", serve_state.cfg->data_dir,
	         (int)getpid(), (unsigned long long)serve_random(r->worker));
	t0 = clock_now_ns();
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		serve_reply_error(r, 507, "cannot create a file in --data-dir: %s",
		                  strerror(errno));
		return;
	}
	rc = write_all(fd, bytes);
	if (rc == 0 && sync)
		rc = fsync(fd);
	e = errno;
	close(fd);
	unlink(path); /* written or not, the file goes */
	if (rc < 0) {
		serve_reply_error(r, 507, "writing %llu bytes to --data-dir failed: %s",
		                  (unsigned long long)bytes, strerror(e));
		return;
	}
	reply_io(r, "written_bytes", bytes, clock_now_ns() - t0);
}

static pthread_mutex_t scratch_lock = PTHREAD_MUTEX_INITIALIZER;

static void scratch_path(char *path, size_t len)
{
	snprintf(path, len, "%s/surge-read-%d.dat", serve_state.cfg->data_dir, (int)getpid());
}

/* The scratch file for reads, grown to the largest size asked so far. When it cannot grow,
 * what was added is cut off again (and a file made just now removed): a full disk is
 * answered 507, not left fuller. */
static int scratch_file(uint64_t bytes)
{
	char path[4096];
	struct stat st;
	int fd, e;

	scratch_path(path, sizeof(path));
	pthread_mutex_lock(&scratch_lock);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_size < bytes) {
		lseek(fd, 0, SEEK_END);
		if (write_all(fd, bytes - (uint64_t)st.st_size) < 0) {
			e = errno;
			if (st.st_size == 0)
				unlink(path);
			else if (ftruncate(fd, st.st_size) < 0)
				unlink(path); /* cannot cut it back: the next read makes it anew */
			close(fd);
			fd = -1;
			errno = e;
		}
	}
	pthread_mutex_unlock(&scratch_lock);
	return fd;
}

void serve_disk_stop(void)
{
	char path[4096];

	if (!serve_state.cfg)
		return;
	scratch_path(path, sizeof(path));
	unlink(path);
}

static void disk_read(serve_request_t *r)
{
	uint64_t bytes, done = 0, t0;
	char *sink;
	int fd;

	if (size_param(r, &bytes) < 0)
		return;
	/* the kernel writes into it: one per worker, as workers read at the same time */
	if (!r->worker->disk_buf && !(r->worker->disk_buf = malloc(BLOCK))) {
		serve_reply_error(r, 507, "out of memory for the read buffer");
		return;
	}
	sink = r->worker->disk_buf;
	fd = scratch_file(bytes);
	if (fd < 0) {
		serve_reply_error(r, 507, "cannot prepare the read file in --data-dir: %s",
		                  strerror(errno));
		return;
	}
	t0 = clock_now_ns();
	while (done < bytes) {
		ssize_t n = pread(fd, sink, bytes - done < BLOCK ? (size_t)(bytes - done) : BLOCK,
		                  (off_t)done);
		if (n <= 0)
			break;
		done += (uint64_t)n;
	}
	close(fd);
	reply_io(r, "read_bytes", done, clock_now_ns() - t0);
}

static const serve_param_doc_t write_params[] = {
    {"size_mb", "number", "10", "MiB to write (the file is removed afterwards)"},
    {"fsync", "integer", "0", "1: fsync before closing, so the time includes the disk"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t read_params[] = {
    {"size_mb", "number", "10", "MiB to read sequentially from a scratch file"},
    {NULL, NULL, NULL, NULL},
};

const serve_route_t serve_disk_routes[] = {
    {"GET", "/api/disk-write", "/api/disk-write", disk_write, 0, "write to --data-dir",
     write_params},
    {"GET", "/api/disk-read", "/api/disk-read", disk_read, 0, "read from --data-dir", read_params},
    {NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
