/* url: a strict parser for the absolute URLs given to `surge run` and downstream calls. */
#include "core/url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/units.h"

static int parse_scheme(const char **s, url_t *u)
{
	if (strncasecmp(*s, "http://", 7) == 0) {
		u->tls = false;
		u->port = 80;
		*s += 7;
		return 0;
	}
	if (strncasecmp(*s, "https://", 8) == 0) {
		u->tls = true;
		u->port = 443;
		*s += 8;
		return 0;
	}
	return -EINVAL;
}

/* Copies host[:port] from [start, end) into u; IPv6 literals come in brackets. */
static int parse_authority(const char *start, const char *end, url_t *u, char *err, size_t len)
{
	const char *host = start, *host_end, *colon = NULL;

	if (memchr(start, '@', end - start)) {
		snprintf(err, len, "user information in URLs is not supported");
		return -EINVAL;
	}
	if (*start == '[') {
		host = start + 1;
		host_end = memchr(host, ']', end - host);
		if (!host_end) {
			snprintf(err, len, "unterminated IPv6 address (missing ']')");
			return -EINVAL;
		}
		if (host_end + 1 < end) {
			if (host_end[1] != ':')
				goto bad_host;
			colon = host_end + 1;
		}
	} else {
		colon = memchr(start, ':', end - start);
		host_end = colon ? colon : end;
	}
	if (host_end == host) {
		snprintf(err, len, "no host in URL");
		return -EINVAL;
	}
	if ((size_t)(host_end - host) >= sizeof(u->host)) {
		snprintf(err, len, "host in URL is longer than %d characters", URL_HOST_MAX - 1);
		return -EINVAL;
	}
	/* an IPv6 literal is hex digits, colons and dots; a name never has brackets, which
	 * would make the URL written back from it mean something else */
	for (const char *p = host; p < host_end; p++)
		if (*p <= ' ' || strchr("/?#\\%\"<>^`{|}[]", *p) ||
		    (host != start && !strchr("0123456789abcdefABCDEF:.", *p)))
			goto bad_host;
	memcpy(u->host, host, host_end - host);
	u->host[host_end - host] = '\0';
	if (colon) {
		char *stop;
		long port;

		if (colon + 1 == end || colon[1] < '0' || colon[1] > '9')
			goto bad_port;
		port = strtol(colon + 1, &stop, 10);
		if (stop != end || port < 1 || port > 65535)
			goto bad_port;
		u->port = (uint16_t)port;
	}
	return 0;
bad_host:
	snprintf(err, len, "invalid host in URL");
	return -EINVAL;
bad_port:
	snprintf(err, len, "invalid port in URL (1..65535)");
	return -EINVAL;
}

int url_parse(const char *s, url_t *u, char *err, size_t errlen)
{
	const char *auth, *auth_end, *frag;
	size_t target_len;

	memset(u, 0, sizeof(*u));
	if (!s || parse_scheme(&s, u) < 0) {
		snprintf(err, errlen, "URL must start with http:// or https://");
		return -EINVAL;
	}
	auth = s;
	auth_end = auth + strcspn(auth, "/?#");
	if (parse_authority(auth, auth_end, u, err, errlen) < 0)
		return -EINVAL;
	frag = strchr(auth_end, '#');
	target_len = frag ? (size_t)(frag - auth_end) : strlen(auth_end);
	if (target_len + 2 > sizeof(u->target)) {
		char max[32];

		units_format_count(URL_TARGET_MAX - 2, max, sizeof(max));
		snprintf(err, errlen, "URL path is longer than %s bytes", max);
		return -EINVAL;
	}
	for (size_t i = 0; i < target_len; i++) {
		if ((unsigned char)auth_end[i] <= ' ' || auth_end[i] == 0x7f) {
			snprintf(err, errlen,
			         "URL contains a space or control character at offset %zu",
			         (size_t)(auth_end - s) + i);
			return -EINVAL;
		}
	}
	if (target_len == 0 || auth_end[0] == '?')
		u->target[0] = '/';
	memcpy(u->target + strlen(u->target), auth_end, target_len);
	return 0;
}
