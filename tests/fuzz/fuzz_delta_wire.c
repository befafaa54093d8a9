/* libFuzzer driver for delta_wire_decode: what a shard sends its coordinator once a second,
 * read by a coordinator that trusts no shard. Beyond "no crash": a refusal says why on one
 * line; an accepted second adds into a result (result_add) without breaking it, and written
 * back (delta_wire_encode) it decodes again to the same counts. */
#include "result/delta_wire.h"

#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	delta_wire_t w, again;
	result_t r;
	buf_t text;

	if (delta_wire_decode("fuzz", (const char *)data, size, &w, err, sizeof(err)) != 0) {
		fuzz_check_message(err, sizeof(err));
		delta_wire_free(&w);
		return 0;
	}
	result_init(&r);
	w.d.second = 0;
	if (result_add(&r, &w.d) == 0) {
		buf_init(&text, DELTA_WIRE_MAX);
		if (delta_wire_encode(&r, 0, &text) == 0) {
			if (delta_wire_decode("again", text.data, text.len, &again, err,
			                      sizeof(err)) != 0) {
				fprintf(stderr, "written back, refused: %s\n", err);
				abort();
			}
			if (again.d.counters.requests != w.d.counters.requests ||
			    again.d.latency.total != w.d.latency.total ||
			    again.d.endpoint_count != r.endpoint_count)
				abort();
			delta_wire_free(&again);
		}
		buf_free(&text);
	}
	result_free(&r);
	delta_wire_free(&w);
	return 0;
}
