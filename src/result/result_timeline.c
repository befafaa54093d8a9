/* result_timeline: where a result's seconds are kept, and the one way to read them. A stream
 * (result_add) seals a second's histogram once it has moved past it; sealed seconds then
 * leave memory for an unlinked temporary file (spill), so a run that goes on for hours holds
 * a few seconds, not its whole timeline. Every reader — the document, the reports, merge,
 * the live side — reads a second with result_point_at, in memory or not; a result built
 * whole (a decoded document, a merge) never spills. docs/architecture.md, "The timeline". */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "result/result.h"

/* Sealed seconds kept in memory before they are spilled: a thread's delta that comes this
 * late (the engine closes a second a thread is GEN_TIMELINE_RING behind) is added in memory;
 * a later one reads its second back, adds and writes it again (result.c, add_to_spilled). */
#define RESULT_SPILL_AFTER 16

/* A second as written: its figures (pointers cleared) and where its histogram's text is. */
typedef struct spilled {
	result_point_t point;
	uint64_t hist_at; /* offset in hists_fd; point.hist_len bytes */
} spilled_t;

/* ---- the window in memory ---- */

static void point_init(result_point_t *p, int64_t second)
{
	memset(p, 0, sizeof(*p));
	p->second = second;
	p->t = (double)second + 1;
	p->length_s = 1;
	p->target_cpu_cores = NAN;
	p->target_rss_bytes = NAN;
}

void result_point_free(result_t *r, result_point_t *p)
{
	if (p->hist)
		result_release(r, p->hist, p->hist_len + 1);
	p->hist = NULL;
	p->hist_len = 0;
	if (p->open) {
		result_hist_free(r, p->open);
		result_release(r, p->open, sizeof(*p->open));
		p->open = NULL;
	}
}

result_point_t *result_point(result_t *r, int64_t second)
{
	if (second < 0 || second >= (int64_t)RESULT_POINTS_MAX) {
		r->dropped.points++;
		return NULL;
	}
	if ((size_t)second < r->window_first)
		return NULL; /* spilled: result_add reads it back (add_to_spilled) */
	while ((size_t)second >= r->point_count) {
		size_t held = r->point_count - r->window_first;

		if (held == r->window_cap) {
			size_t cap = r->window_cap ? r->window_cap * 2 : 64;
			result_point_t *p;

			if (cap > RESULT_POINTS_MAX)
				cap = RESULT_POINTS_MAX;
			p = result_realloc(r, r->window, r->window_cap * sizeof(*p),
			                   cap * sizeof(*p));
			if (!p) {
				r->dropped.points++;
				return NULL;
			}
			r->window = p;
			r->window_cap = cap;
		}
		point_init(&r->window[held], (int64_t)r->point_count);
		r->point_count++;
	}
	return &r->window[(size_t)second - r->window_first];
}

void result_timeline_free(result_t *r)
{
	for (size_t i = r->window_first; i < r->point_count; i++)
		result_point_free(r, &r->window[i - r->window_first]);
	result_release(r, r->window, r->window_cap * sizeof(*r->window));
	if (r->spill.opened) {
		close(r->spill.records_fd);
		close(r->spill.hists_fd);
	}
}

/* ---- the spill file ---- */

static int write_all(int fd, const void *data, size_t len, uint64_t at)
{
	const char *p = data;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		at += (uint64_t)n;
	}
	return 0;
}

static int read_all(int fd, void *data, size_t len, uint64_t at)
{
	char *p = data;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* shorter than written: never, but said */
		p += n;
		len -= (size_t)n;
		at += (uint64_t)n;
	}
	return 0;
}

/* A file no other process can open and that goes with its last descriptor: O_TMPFILE, or
 * (a file system without it) made and unlinked at once. */
static int temporary_file(const char *dir)
{
	char path[4096];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd >= 0 ? fd : -errno;
	if (snprintf(path, sizeof(path), "%s/surge-timeline-XXXXXX", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if ((fd = mkostemp(path, O_CLOEXEC)) < 0)
		return -errno;
	unlink(path);
	return fd;
}

const char *result_spill_dir(void)
{
	const char *dir = getenv("TMPDIR");

	return dir && dir[0] ? dir : "/tmp";
}

static int spill_open(result_t *r)
{
	int a, b;

	if ((a = temporary_file(result_spill_dir())) < 0)
		return a;
	if ((b = temporary_file(result_spill_dir())) < 0) {
		close(a);
		return b;
	}
	r->spill.records_fd = a;
	r->spill.hists_fd = b;
	r->spill.opened = true;
	return 0;
}

/* Point i's record and, when it has one, its histogram's text into hist (NUL-terminated). */
static int spill_read(const result_t *r, size_t i, spilled_t *rec, buf_t *hist)
{
	int rc = read_all(r->spill.records_fd, rec, sizeof(*rec), (uint64_t)i * sizeof(*rec));

	if (rc < 0)
		return rc;
	rec->point.hist = NULL;
	rec->point.open = NULL;
	if (!rec->point.hist_len || !hist)
		return 0;
	buf_reset(hist);
	if ((rc = buf_reserve(hist, rec->point.hist_len)) < 0 ||
	    (rc = read_all(r->spill.hists_fd, hist->data, rec->point.hist_len, rec->hist_at)) < 0)
		return rc;
	hist->len = rec->point.hist_len;
	hist->data[hist->len] = '\0';
	rec->point.hist = hist->data;
	return 0;
}

static int spill_write_record(result_t *r, size_t i, const spilled_t *rec)
{
	spilled_t clean = *rec;

	clean.point.hist = NULL; /* no address of this process in the file */
	clean.point.open = NULL;
	return write_all(r->spill.records_fd, &clean, sizeof(clean), (uint64_t)i * sizeof(clean));
}

/* Sealed point p (second i) written whole: its text appended, then its record. */
static int spill_write(result_t *r, size_t i, const result_point_t *p)
{
	spilled_t rec = {.point = *p, .hist_at = r->spill.hists_end};
	int rc;

	if (p->open)
		return -EINVAL; /* only a sealed second leaves memory */
	if (p->hist_len &&
	    (rc = write_all(r->spill.hists_fd, p->hist, p->hist_len, rec.hist_at)) < 0)
		return rc;
	if ((rc = spill_write_record(r, i, &rec)) < 0)
		return rc;
	r->spill.hists_end += p->hist_len;
	r->spill.seconds++;
	return 0;
}

int result_timeline_spill(result_t *r)
{
	int rc;

	if (r->spill.off || r->spill.error)
		return 0;
	while (r->window_first + RESULT_SPILL_AFTER < r->sealed_upto) {
		result_point_t *p = &r->window[0];

		if (!r->spill.opened && (rc = spill_open(r)) < 0)
			return r->spill.error = rc;
		if ((rc = spill_write(r, r->window_first, p)) < 0)
			return r->spill.error = rc; /* it stays in memory, and those after it */
		result_point_free(r, p);
		r->window_first++;
		memmove(&r->window[0], &r->window[1],
		        (r->point_count - r->window_first) * sizeof(*r->window));
	}
	return 0;
}

int result_timeline_load(result_t *r, size_t i, result_point_t *p)
{
	spilled_t rec;
	buf_t text;
	int rc;

	buf_init(&text, 16u << 20);
	rc = spill_read(r, i, &rec, &text);
	*p = rec.point;
	p->hist = NULL;
	if (rc == 0 && p->hist_len) {
		if ((p->hist = result_alloc(r, p->hist_len + 1)))
			memcpy(p->hist, text.data, p->hist_len + 1);
		else
			rc = -ENOMEM;
	}
	if (rc < 0)
		p->hist_len = 0;
	buf_free(&text);
	return rc;
}

int result_timeline_store(result_t *r, size_t i, const result_point_t *p)
{
	int rc = spill_write(r, i, p);

	if (rc < 0)
		r->spill.error = rc;
	return rc;
}

/* ---- reading ---- */

void result_cursor_init(result_cursor_t *c)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->hist, 16u << 20);
}

void result_cursor_free(result_cursor_t *c)
{
	buf_free(&c->hist);
}

const result_point_t *result_point_at(const result_t *r, size_t i, result_cursor_t *c)
{
	spilled_t rec;
	int rc;

	c->error = 0;
	if (i >= r->point_count) {
		c->error = -ERANGE;
		return NULL;
	}
	if (i >= r->window_first)
		return &r->window[i - r->window_first];
	if ((rc = spill_read(r, i, &rec, &c->hist)) < 0) {
		c->error = rc;
		return NULL;
	}
	c->point = rec.point;
	return &c->point;
}

int result_point_update(result_t *r, size_t i, const result_point_t *p)
{
	result_point_t *q;
	spilled_t rec;
	int rc;

	if (i >= r->point_count)
		return -ERANGE;
	if (i >= r->window_first) {
		q = &r->window[i - r->window_first];
		rec.point = *p;
		rec.point.second = q->second;
		rec.point.hist = q->hist;
		rec.point.hist_len = q->hist_len;
		rec.point.open = q->open;
		*q = rec.point;
		return 0;
	}
	if ((rc = spill_read(r, i, &rec, NULL)) < 0)
		return rc;
	{
		uint64_t at = rec.hist_at;
		size_t len = rec.point.hist_len;
		int64_t second = rec.point.second;

		rec.point = *p;
		rec.point.second = second;
		rec.point.hist_len = len;
		rec.hist_at = at;
	}
	return spill_write_record(r, i, &rec);
}
