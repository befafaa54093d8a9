/* dist_batch: a shard's batch of seconds as it travels in the body of POST /api/control/
 * deltas (see dist.h) — binary, as the seconds inside it are (result/delta_wire.c):
 *   "SRGD", the wire version (a varint, DIST_WIRE_VERSION), the shard's id (32 hex bytes),
 *   seq (a varint, from 1), the number of seconds, then each second as a varint length and
 *   its bytes, then the final figures' length (0: none) and their JSON object.
 * Reading checks the frame only — every length against the bytes left and its bound — and
 * leaves each second to delta_wire_decode; nothing is copied. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/varint.h"
#include "core/version.h"
#include "dist/dist.h"

#define MAGIC     "SRGD"
#define MAGIC_LEN 4

static void put_uint(buf_t *out, uint64_t v)
{
	uint8_t b[VARINT_MAX];

	buf_append(out, b, varint_put(b, v));
}

void dist_batch_begin(buf_t *out, const char *id, uint64_t seq, uint32_t count)
{
	buf_append(out, MAGIC, MAGIC_LEN);
	put_uint(out, DIST_WIRE_VERSION);
	buf_append(out, id, DIST_ID_LEN);
	put_uint(out, seq);
	put_uint(out, count);
}

void dist_batch_put_second(buf_t *out, const void *second, size_t len)
{
	put_uint(out, len);
	buf_append(out, second, len);
}

void dist_batch_end(buf_t *out, const char *final, size_t final_len)
{
	put_uint(out, final ? final_len : 0);
	if (final && final_len)
		buf_append(out, final, final_len);
}

size_t dist_batch_overhead(uint32_t count)
{
	return MAGIC_LEN + VARINT_MAX + DIST_ID_LEN + 2 * VARINT_MAX + (size_t)count * 4 +
	       VARINT_MAX;
}

/* A number from 0 to max at *p, or false. */
static bool get(const uint8_t **p, const uint8_t *end, uint64_t max, uint64_t *v)
{
	return varint_get(p, end, v) && *v <= max;
}

int dist_batch_read(const uint8_t *body, size_t len, dist_batch_t *b, char *err, size_t errlen)
{
	const uint8_t *p = body, *end = body + len;
	uint64_t wire, count, n;

	memset(b, 0, sizeof(*b));
	if (len < MAGIC_LEN || memcmp(p, MAGIC, MAGIC_LEN) != 0) {
		snprintf(
		    err, errlen,
		    "not a batch of seconds (it begins with %s, not \"%s\"): a shard of another "
		    "surge? this coordinator speaks wire version %d (surge %s)",
		    len && body[0] == '{' ? "'{', JSON" : "other bytes", MAGIC, DIST_WIRE_VERSION,
		    surge_version);
		return -EINVAL;
	}
	p += MAGIC_LEN;
	if (!varint_get(&p, end, &wire)) {
		snprintf(
		    err, errlen,
		    "a batch without its wire version; this coordinator speaks %d (surge %s): run "
		    "the same surge everywhere",
		    DIST_WIRE_VERSION, surge_version);
		return -EINVAL;
	}
	if (wire != DIST_WIRE_VERSION) {
		snprintf(
		    err, errlen,
		    "a batch of wire version %llu; this coordinator speaks %d (surge %s): run the "
		    "same surge everywhere",
		    (unsigned long long)wire, DIST_WIRE_VERSION, surge_version);
		return -EINVAL;
	}
	if (end - p < DIST_ID_LEN) {
		snprintf(err, errlen, "id: the batch ends inside it");
		return -EINVAL;
	}
	for (int i = 0; i < DIST_ID_LEN; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) {
			snprintf(err, errlen,
			         "id: expected %d hex digits (the shard's own, random)",
			         DIST_ID_LEN);
			return -EINVAL;
		}
	memcpy(b->id, p, DIST_ID_LEN);
	b->id[DIST_ID_LEN] = '\0';
	p += DIST_ID_LEN;
	if (!get(&p, end, INT64_MAX, &b->seq) || b->seq == 0) {
		snprintf(err, errlen, "seq: expected the batch's number, from 1");
		return -EINVAL;
	}
	if (!get(&p, end, RESULT_POINTS_MAX, &count) || count > (uint64_t)(end - p)) {
		snprintf(err, errlen,
		         "deltas: expected the number of seconds, at most %u and "
		         "within the batch",
		         RESULT_POINTS_MAX);
		return -EINVAL;
	}
	b->count = (uint32_t)count;
	b->seconds = p;
	for (uint64_t i = 0; i < count; i++) {
		if (!get(&p, end, DELTA_WIRE_MAX, &n) || n > (uint64_t)(end - p)) {
			snprintf(
			    err, errlen,
			    "deltas[%llu]: its length is cut, above %u bytes or past the batch's "
			    "end",
			    (unsigned long long)i, DELTA_WIRE_MAX);
			return -EINVAL;
		}
		p += n;
	}
	b->seconds_end = p;
	if (!get(&p, end, DIST_FINAL_MAX, &n) || n != (uint64_t)(end - p)) {
		snprintf(
		    err, errlen,
		    "final: expected its length (0: none, at most %u bytes) and then the batch's "
		    "end",
		    DIST_FINAL_MAX);
		return -EINVAL;
	}
	if (n) {
		b->final = (const char *)p;
		b->final_len = n;
	}
	return 0;
}

bool dist_batch_second(const dist_batch_t *b, const uint8_t **at, const uint8_t **bytes,
                       size_t *len)
{
	uint64_t n;

	if (!*at)
		*at = b->seconds;
	/* the frame was checked whole by dist_batch_read: every length is within it */
	if (*at >= b->seconds_end || !varint_get(at, b->seconds_end, &n) ||
	    n > (uint64_t)(b->seconds_end - *at))
		return false;
	*bytes = *at;
	*len = (size_t)n;
	*at += n;
	return true;
}
