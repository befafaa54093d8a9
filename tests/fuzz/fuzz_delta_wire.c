/* libFuzzer driver for delta_wire_decode: what a shard sends its coordinator once a second
 * (binary: varints, delta-coded buckets), read by a coordinator that trusts no shard. Beyond
 * "no crash": a refusal says why on one line; an accepted second adds into a result
 * (result_add) without breaking it, and written back (delta_wire_encode) it decodes again to
 * the same counts; decoding reuses one delta_wire_t, as the coordinator does, so a second
 * decoded after another (kept from the last input) must not read what the last one left. */
#include "result/delta_wire.h"

#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static delta_wire_t kept; /* zeroed: an initialized delta_wire_t */
	char err[512];
	delta_wire_t again;
	result_t r;
	buf_t text;

	if (delta_wire_decode("fuzz", data, size, &kept, err, sizeof(err)) != 0) {
		fuzz_check_message(err, sizeof(err));
		return 0;
	}
	result_init(&r);
	kept.d.second = 0;
	if (result_add(&r, &kept.d) == 0) {
		buf_init(&text, DELTA_WIRE_MAX);
		delta_wire_init(&again);
		if (delta_wire_encode(&r, 0, &text) == 0) {
			if (delta_wire_decode("again", (const uint8_t *)text.data, text.len, &again,
			                      err, sizeof(err)) != 0) {
				fprintf(stderr, "written back, refused: %s\n", err);
				abort();
			}
			if (again.d.counters.requests != kept.d.counters.requests ||
			    again.d.latency.total != kept.d.latency.total ||
			    again.d.latency.len != r.latency.len ||
			    again.d.endpoint_count != r.endpoint_count ||
			    again.d.tally_count != r.tally_count)
				abort();
		}
		delta_wire_free(&again);
		buf_free(&text);
	}
	result_free(&r);
	return 0;
}
