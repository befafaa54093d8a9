/* serve_dist: the value distributions a request may ask for in ?delay=, ?status=, ?size=,
 * ?cpu_ms= — a constant, a weighted list, uniform, normal or lognormal — parsed strictly
 * (pure: no I/O, no allocation) and sampled with a caller-owned random state. */
#ifndef SURGE_SERVE_DIST_H
#define SURGE_SERVE_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIST_MAX_CHOICES 16

/* What a bare number means, and what suffixes are accepted. */
typedef enum dist_unit {
	DIST_SECONDS,      /* "0.5" = 0.5 s; suffixes ns us ms s m h; values in ns */
	DIST_MILLISECONDS, /* "50" = 50 ms; same suffixes; values in ns */
	DIST_BYTES,        /* "512", "64k", "1MiB", "1MB"; values in bytes */
	DIST_INTEGER,      /* plain integers only (status codes) */
} dist_unit_t;

typedef enum dist_kind {
	DIST_CONSTANT,  /* "100ms" */
	DIST_WEIGHTED,  /* "10ms:50,100ms:10" — weights are percentages of requests; what is
	                 * left below 100 keeps the endpoint's own value; a sum over 100 is an
	                 * error. A choice without ":w" shares the remainder equally. */
	DIST_UNIFORM,   /* "uniform(10ms,50ms)" */
	DIST_NORMAL,    /* "normal(100ms,20ms)" — mean, standard deviation; clamped at 0 */
	DIST_LOGNORMAL, /* "lognormal(20ms,250ms)" — median and p99 */
} dist_kind_t;

typedef struct dist {
	dist_kind_t kind;
	int count;                        /* choices of a weighted list */
	double values[DIST_MAX_CHOICES];  /* in the unit's base: ns, bytes or plain */
	double weights[DIST_MAX_CHOICES]; /* percent, after normalization */
	double a, b;                      /* the two parameters of uniform/normal/lognormal */
} dist_t;

/* Parses text[0..len) (not NUL-terminated). 0, or -EINVAL with a message saying what is
 * wrong and where ("at offset 7: expected ')'"). */
int dist_parse(const char *text, size_t len, dist_unit_t unit, dist_t *d, char *err, size_t errlen);
/* Draws one value into *out; false when a weighted list left this request alone.
 * rng is a xorshift state (any non-zero seed). Never negative. */
bool dist_sample(const dist_t *d, uint64_t *rng, double *out);
/* The largest value the distribution can produce (for caps): +inf for normal/lognormal. */
double dist_max(const dist_t *d);

#endif
