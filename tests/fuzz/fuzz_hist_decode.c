/* libFuzzer driver for hist_decode and hist_decode_base64: untrusted bytes straight in.
 * Beyond "no crash", it asserts that a decoded histogram is self-consistent and survives
 * its own encode/decode round trip unchanged. */
#include "core/hist.h"

#include <stdlib.h>
#include <string.h>

static hist_t decoded, again;

static void check_consistent(const hist_t *h)
{
	uint64_t sum = 0;

	for (int i = 0; i < HIST_COUNTS_LEN; i++)
		sum += h->counts[i];
	if (sum != h->total || (h->total && h->min > h->max) || h->max > HIST_HIGHEST)
		abort();
}

static void check_roundtrip(const hist_t *h)
{
	buf_t b;

	buf_init(&b, 1 << 20);
	if (hist_encode(h, &b) != 0 || hist_decode(b.data, b.len, &again) != 0)
		abort();
	if (memcmp(h->counts, again.counts, sizeof(h->counts)) != 0 || again.total != h->total)
		abort();
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (hist_decode(data, size, &decoded) == 0) {
		check_consistent(&decoded);
		check_roundtrip(&decoded);
	} else if (decoded.total != 0) {
		abort(); /* a failed decode must leave the histogram empty */
	}
	if (hist_decode_base64((const char *)data, size, &decoded) == 0)
		check_consistent(&decoded);
	return 0;
}
