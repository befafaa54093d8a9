/* ui_access: the UI server's access rules (ui_access.h, docs/ui.md "Security"): a token from
 * the Authorization header, the page's cookie or a query parameter, compared in constant time;
 * the Host check that stands in for a token on loopback; the Origin check of control requests;
 * tokens made from getrandom. */
#include "ui/ui_access.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "core/echo.h"
#include "ui/ui.h"

static bool token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '~' || c == '-';
}

int ui_token_check_format(const char *token, char *why, size_t len)
{
	size_t n = strlen(token);

	if (n < UI_TOKEN_MIN || n > UI_TOKEN_MAX) {
		snprintf(why, len, "the token has %zu characters; it needs %d to %d", n,
		         UI_TOKEN_MIN, UI_TOKEN_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (!token_char(token[i])) {
			snprintf(
			    why, len,
			    "the token's character %zu is not one of A-Z a-z 0-9 . _ ~ - (it is "
			    "sent in headers, cookies and URLs as is)",
			    i + 1);
			return -EINVAL;
		}
	return 0;
}

int ui_token_generate(char out[UI_TOKEN_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[16];
	size_t got = 0;

	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[2 * sizeof(r)] = '\0';
	return 0;
}

/* Compares every byte whatever differs first, so the time taken says nothing of how much of a
 * guess was right (the length is not secret: a generated token always has 32 characters). */
static bool token_equal(const char *token, http_slice_t given)
{
	size_t n = strlen(token);
	unsigned char diff = 0;

	if (given.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(token[i] ^ given.p[i]);
	return diff == 0;
}

http_slice_t ui_query_param(http_slice_t query, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = query.p, *end = query.p + query.len;
	http_slice_t none = {NULL, 0};

	while (p && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;

		if ((size_t)(stop - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=')
			return (http_slice_t){p + nlen + 1, (size_t)(stop - p - nlen - 1)};
		p = amp ? amp + 1 : NULL;
	}
	return none;
}

/* The value of the cookie named UI_TOKEN_COOKIE in any Cookie header ("a=1; name=v"). */
static http_slice_t token_cookie(const http_request_t *r)
{
	static const char name[] = UI_TOKEN_COOKIE "=";
	const size_t nlen = sizeof(name) - 1;
	http_slice_t none = {NULL, 0};

	for (uint16_t h = 0; h < r->header_count; h++) {
		const char *p = r->header_values[h].p, *end = p + r->header_values[h].len;

		if (r->header_names[h].len != 6 || strncasecmp(r->header_names[h].p, "cookie", 6))
			continue;
		while (p < end) {
			const char *semi = memchr(p, ';', (size_t)(end - p));
			const char *stop = semi ? semi : end;

			while (p < stop && *p == ' ')
				p++;
			if ((size_t)(stop - p) >= nlen && memcmp(p, name, nlen) == 0)
				return (http_slice_t){p + nlen, (size_t)(stop - p - nlen)};
			p = semi ? semi + 1 : end;
		}
	}
	return none;
}

/* The token the request carries, and where from: the header first (scripts), then the cookie
 * (the page: EventSource cannot set headers), then ?token= (the address printed at start). */
static http_slice_t given_token(const http_request_t *r, enum ui_token_source *source)
{
	http_slice_t auth = http_request_header(r, "authorization"), v;

	if (auth.p && auth.len > 7 && strncasecmp(auth.p, "Bearer ", 7) == 0) {
		*source = UI_TOKEN_HEADER;
		v.p = auth.p + 7;
		v.len = auth.len - 7;
		while (v.len && *v.p == ' ')
			v.p++, v.len--;
		return v;
	}
	if ((v = token_cookie(r)).p) {
		*source = UI_TOKEN_COOKIE_SOURCE;
		return v;
	}
	if ((v = ui_query_param(r->query, "token")).p) {
		*source = UI_TOKEN_QUERY;
		return v;
	}
	*source = UI_TOKEN_NONE;
	return v;
}

bool ui_address_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		const unsigned char *b = s6->sin6_addr.s6_addr;

		return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
		       (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && b[12] == 127);
	}
	return false;
}

bool ui_host_names_loopback(const char *value, size_t len, const char *bound_host)
{
	char name[256];
	const char *end, *p = value, *port;
	size_t n;
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};

	if (!value || !len)
		return false; /* no Host header (and NULL + 0 is undefined: end comes after) */
	end = value + len;
	if (*p == '[') {
		const char *close = memchr(p, ']', len);

		if (!close)
			return false;
		n = (size_t)(close - p - 1);
		p++;
		port = close + 1;
	} else {
		const char *colon = memchr(p, ':', len);

		port = colon ? colon : end;
		n = (size_t)(port - p);
	}
	if (port < end && (*port != ':' || port + 1 == end))
		return false;
	for (const char *d = port < end ? port + 1 : end; d < end; d++)
		if (*d < '0' || *d > '9')
			return false;
	if (n == 0 || n >= sizeof(name))
		return false;
	memcpy(name, p, n);
	name[n] = '\0';
	if (strcasecmp(name, "localhost") == 0 ||
	    (n > 10 && strcasecmp(name + n - 10, ".localhost") == 0))
		return true; /* RFC 6761: browsers resolve these to loopback themselves */
	if (bound_host && *bound_host && strcasecmp(name, bound_host) == 0)
		return true; /* the name the server was started with (it resolved to loopback) */
	if (inet_pton(AF_INET, name, &s4.sin_addr) == 1)
		return ui_address_is_loopback((const struct sockaddr *)&s4);
	if (value[0] == '[' && inet_pton(AF_INET6, name, &s6.sin6_addr) == 1)
		return ui_address_is_loopback((const struct sockaddr *)&s6);
	return false;
}

/* Origin "http://HOST" or "https://HOST" where HOST is the request's Host header: the page
 * the request came from is this server's own, as the browser reached it. */
static bool origin_is_own(http_slice_t origin, http_slice_t host)
{
	size_t skip;

	if (!host.p || !host.len)
		return false;
	if (origin.len > 7 && strncasecmp(origin.p, "http://", 7) == 0)
		skip = 7;
	else if (origin.len > 8 && strncasecmp(origin.p, "https://", 8) == 0)
		skip = 8;
	else
		return false;
	return origin.len - skip == host.len && strncasecmp(origin.p + skip, host.p, host.len) == 0;
}

int ui_access_check(const ui_access_t *a, const http_request_t *r, bool control,
                    enum ui_token_source *source, char *why, size_t len)
{
	http_slice_t host = http_request_header(r, "host");
	http_slice_t origin = http_request_header(r, "origin");
	char shown[ECHO_SIZE], copy[512];

	*source = UI_TOKEN_NONE;
	if (a->token && *a->token) {
		http_slice_t given = given_token(r, source);

		if (*source == UI_TOKEN_NONE) {
			snprintf(
			    why, len,
			    "this server needs its token: 'Authorization: Bearer TOKEN', or open "
			    "the address surge printed (it ends in ?token=...)");
			return 401;
		}
		if (!token_equal(a->token, given)) {
			snprintf(why, len, "wrong token (from the %s)",
			         *source == UI_TOKEN_HEADER  ? "Authorization header"
			         : *source == UI_TOKEN_QUERY ? "token parameter"
			                                     : UI_TOKEN_COOKIE " cookie");
			*source = UI_TOKEN_NONE;
			return 403;
		}
	} else if (a->loopback_hosts && !ui_host_names_loopback(host.p, host.len, a->bound_host)) {
		/* a page of another site whose name was made to resolve to 127.0.0.1 (DNS
		 * rebinding) would send its own name here: without a token, only loopback names */
		snprintf(copy, sizeof(copy), "%.*s", (int)(host.len < 511 ? host.len : 511),
		         host.p ? host.p : "");
		snprintf(why, len,
		         host.p
		             ? "Host '%s' is not a loopback name: without a token this server "
		               "answers only localhost, 127.0.0.1 and [::1] (start it with a "
		               "token to reach it by another name)"
		             : "no Host header: without a token this server answers only requests "
		               "for localhost, 127.0.0.1 and [::1]%s",
		         host.p ? echo_value(copy, shown, sizeof(shown)) : "");
		return 403;
	}
	/* Browsers send Origin with every POST; a page of another site cannot leave it out or
	 * forge it. A request without one is not a browser's (curl, a script): the token, when
	 * there is one, is what guards it. */
	if (control && origin.p && !origin_is_own(origin, host)) {
		char host_shown[ECHO_SIZE], host_copy[512];

		/* both are the client's bytes (a field value may hold a tab, obs-text): escaped */
		snprintf(copy, sizeof(copy), "%.*s", (int)(origin.len < 511 ? origin.len : 511),
		         origin.p);
		snprintf(host_copy, sizeof(host_copy), "%.*s",
		         (int)(host.len < 511 ? host.len : 511), host.p ? host.p : "");
		snprintf(why, len,
		         "Origin '%s' is not this server's own (http://%s): control requests come "
		         "from the UI's page or from a client that sends no Origin",
		         echo_value(copy, shown, sizeof(shown)),
		         echo_value(host_copy, host_shown, sizeof(host_shown)));
		return 403;
	}
	return 0;
}
