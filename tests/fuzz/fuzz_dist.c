/* libFuzzer driver for dist_parse and dist_sample: byte 0 picks the unit, the rest is the text.
 * Beyond "no crash", a parse must be well-formed and every draw finite, >= 0 and <= dist_max. */
#include "serve/serve_dist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAWS 16

/* A rejection must say where, and the place must lie inside the text (or at its end). */
static void check_error(const char *err, size_t len)
{
	size_t offset;

	if (sscanf(err, "at offset %zu: ", &offset) != 1 || offset > len || !strchr(err, ':')[2])
		abort();
}

static void check_parsed(const dist_t *d)
{
	double total = 0;

	if (d->kind == DIST_CONSTANT || d->kind == DIST_WEIGHTED) {
		if (d->count < 1 || d->count > DIST_MAX_CHOICES)
			abort();
		for (int i = 0; i < d->count; i++) {
			if (!(d->values[i] >= 0 && d->values[i] <= 1e18 && d->weights[i] >= 0))
				abort();
			total += d->weights[i];
		}
		if (!(total <= 100 + 1e-9))
			abort();
	} else if (!isfinite(d->a) || !isfinite(d->b) || d->b < 0) {
		abort();
	}
}

/* The seed comes from the input so that the fuzzer can steer the draws too. */
static void check_draws(const dist_t *d, const uint8_t *data, size_t size)
{
	uint64_t rng = 0x9E3779B97F4A7C15ull;
	double max = dist_max(d), v;

	if (isnan(max) || max < 0)
		abort();
	for (size_t i = 0; i < size; i++)
		rng = (rng ^ data[i]) * 0x100000001B3ull;
	for (int i = 0; i < DRAWS; i++) {
		v = -1;
		if (!dist_sample(d, &rng, &v)) {
			if (d->kind != DIST_WEIGHTED || v != -1)
				abort(); /* only a list may leave a request alone, untouched */
			continue;
		}
		if (isnan(v) || !isfinite(v) || v < 0 || v > max)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[160];
	char *text;
	dist_t d;

	if (size == 0)
		return 0;
	/* an exact-size copy, so ASan sees any read past the slice */
	text = malloc(size - 1 ? size - 1 : 1);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	err[0] = '\0';
	if (dist_parse(text, size - 1, (dist_unit_t)(data[0] % 4), &d, err, sizeof(err)) == 0) {
		check_parsed(&d);
		check_draws(&d, data, size);
	} else {
		check_error(err, size - 1);
	}
	free(text);
	return 0;
}
