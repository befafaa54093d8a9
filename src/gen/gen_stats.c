/* gen_stats: the counters every thread keeps, their merge, and the names of error kinds
 * as they appear in summaries and result documents. */
#include "gen/gen.h"

static const char *const error_kind_names[GEN_ERR_KIND_COUNT] = {
    [GEN_ERR_CONNECT_REFUSED] = "connect_refused",
    [GEN_ERR_CONNECT_TIMEOUT] = "connect_timeout",
    [GEN_ERR_CONNECT] = "connect_error",
    [GEN_ERR_READ_TIMEOUT] = "read_timeout",
    [GEN_ERR_RESET] = "reset",
    [GEN_ERR_CLOSED_EARLY] = "closed_early",
    [GEN_ERR_PROTOCOL] = "protocol_error",
    [GEN_ERR_TLS] = "tls_error",
};

const char *gen_error_kind_name(enum gen_error_kind kind)
{
	return kind < GEN_ERR_KIND_COUNT ? error_kind_names[kind] : "unknown";
}

void gen_counters_add(gen_counters_t *dst, const gen_counters_t *src)
{
	dst->requests += src->requests;
	dst->errors += src->errors;
	dst->bytes_in += src->bytes_in;
	dst->bytes_out += src->bytes_out;
	dst->late += src->late;
	dst->dropped += src->dropped;
	for (int i = 0; i < GEN_STATUS_MAX; i++)
		dst->status[i] += src->status[i];
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		dst->errors_by_kind[i] += src->errors_by_kind[i];
}
