/* libFuzzer driver for url_parse: the URLs given to `surge run`, --scrape and downstream calls.
 * Beyond "no crash": an accepted URL has a usable host, port and origin-form target, and the
 * URL written back from those parts parses to the same parts (what a client sends is what the
 * user meant); a rejected one says why, on one line. */
#include "core/url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

static void check_parts(const url_t *u)
{
	size_t host_len = strnlen(u->host, sizeof(u->host));
	size_t target_len = strnlen(u->target, sizeof(u->target));

	if (host_len == 0 || host_len == sizeof(u->host) || target_len == 0 ||
	    target_len == sizeof(u->target) || u->port == 0 || u->target[0] != '/')
		abort();
	for (size_t i = 0; i < host_len; i++)
		if ((unsigned char)u->host[i] <= ' ' || strchr("/?#@[]", u->host[i]))
			abort();
	for (size_t i = 0; i < target_len; i++)
		if ((unsigned char)u->target[i] <= ' ' || u->target[i] == 0x7f ||
		    u->target[i] == '#')
			abort();
}

/* scheme://host:port/target, the host in brackets when it holds colons (IPv6). */
static void check_round_trip(const url_t *u)
{
	static char text[URL_HOST_MAX + URL_TARGET_MAX + 32];
	static url_t again;
	char err[256];
	bool ipv6 = strchr(u->host, ':') != NULL;

	snprintf(text, sizeof(text), "%s://%s%s%s:%u%s", u->tls ? "https" : "http", ipv6 ? "[" : "",
	         u->host, ipv6 ? "]" : "", (unsigned)u->port, u->target);
	if (url_parse(text, &again, err, sizeof(err)) < 0 || again.tls != u->tls ||
	    again.port != u->port || strcmp(again.host, u->host) != 0 ||
	    strcmp(again.target, u->target) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static url_t u;
	char err[256];
	char *s = fuzz_string(data, size);

	err[0] = '\0';
	if (url_parse(s, &u, err, sizeof(err)) == 0) {
		check_parts(&u);
		check_round_trip(&u);
	} else {
		fuzz_check_message(err, sizeof(err));
	}
	free(s);
	return 0;
}
