/* delta_wire: one second of a process's stream as bytes that another process reads back
 * exactly — what a shard sends its coordinator once a second (distributed runs, docs/
 * distributed.md). The sender sums its threads' deltas of a second (live/ does: a result_t
 * at second 0) and writes that sum; the receiver decodes it into a delta_t and adds it like
 * any thread's. Exact: counters, status codes, error kinds, every endpoint and tally, and each
 * histogram's non-empty buckets with its min, max and sums (sums as their 8 IEEE bytes).
 * Binary (varints, delta-coded bucket indices; the layout is in delta_wire.c and docs/
 * distributed.md "On the wire"): a coordinator reads hundreds of these a second, and reading
 * JSON into a tree cost it two thirds of its time. Versioned (the first byte); a second of
 * another version, or one that breaks any bound (sizes, indices, counts that do not add up,
 * bytes left over), is refused with one line naming the field and the byte — the receiver
 * trusts nothing a sender writes. */
#ifndef SURGE_DELTA_WIRE_H
#define SURGE_DELTA_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "result/result.h"

#define DELTA_WIRE_VERSION 2           /* 2: binary; 1 was JSON */
#define DELTA_WIRE_MAX     (16u << 20) /* one second's bytes, at most */
/* A second's length_s, at most: a run's last second is longer than 1 s by as much as its stop
 * came late (the tick due with the stop is left to the final flush, gen_run.c), as surge
 * run's own result takes it; a minute bounds what a shard can make the duration. */
#define DELTA_WIRE_LENGTH_MAX_S 60

/* Appends the second `second` whose figures are sum's (a result_t the second's deltas were
 * added to at second 0). 0, or -ENOBUFS/-ENOMEM (out's error). */
int delta_wire_encode(const result_t *sum, int64_t second, buf_t *out);

/* The status codes a decoded second's counters hold, so that the next decode into it clears
 * those and not all 1,000 (n above DELTA_WIRE_CODES: more, or not known: all). */
#define DELTA_WIRE_CODES 7
typedef struct delta_wire_codes {
	uint16_t n;
	uint16_t code[DELTA_WIRE_CODES];
} delta_wire_codes_t;

/* A decoded second: d points into the arrays it owns, which the next decode into the same
 * delta_wire_t reuses (a coordinator decodes thousands a second without allocating). */
typedef struct delta_wire {
	delta_t d;
	delta_endpoint_t *endpoints;
	delta_tally_t *tallies;
	uint32_t endpoint_cap, tally_cap;
	delta_wire_codes_t *codes; /* [0]: the second's counters, [1 + i]: endpoint i's */
} delta_wire_t;

void delta_wire_init(delta_wire_t *w);
/* Reads bytes[0..len) into w (initialized, or decoded into before). 0, or -EINVAL with
 * "NAME: endpoints[3].latency: bucket index 23552 is past the histogram's last, 23551 (byte
 * 812)" in err, or -ENOMEM; after an error w holds nothing usable but can be decoded into
 * again or freed. */
int delta_wire_decode(const char *name, const uint8_t *bytes, size_t len, delta_wire_t *w,
                      char *err, size_t errlen);
void delta_wire_free(delta_wire_t *w);

#endif
