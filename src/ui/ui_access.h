/* ui_access: who may ask the UI server what — the token (a header, a cookie or a query
 * parameter), the Host a browser used (against DNS rebinding when there is no token), the
 * Origin of a control request (against cross-site requests), and the token's own form and
 * generation. Pure but for getrandom: unit-tested on parsed requests (docs/ui.md, security). */
#ifndef SURGE_UI_ACCESS_H
#define SURGE_UI_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/http.h"

/* The cookie the page's token is kept in once the browser came with ?token=. */
#define UI_TOKEN_COOKIE "surge_ui_token"

typedef struct ui_access {
	const char *token;      /* NULL: none needed */
	bool loopback_hosts;    /* no token on a loopback address: Host must name loopback */
	const char *bound_host; /* the configured host, accepted as a Host name too (or NULL) */
} ui_access_t;

enum ui_token_source { UI_TOKEN_NONE, UI_TOKEN_HEADER, UI_TOKEN_COOKIE_SOURCE, UI_TOKEN_QUERY };

/* Whether r may be answered: 0, or 401 (no token given) / 403 (a wrong token, a Host that is
 * not loopback, a control request from another origin) with one line in why. control: a
 * request that changes state, which needs its Origin, when it has one, to be the server's
 * own. *source says where the accepted token came from (UI_TOKEN_NONE: none needed). */
int ui_access_check(const ui_access_t *a, const http_request_t *r, bool control,
                    enum ui_token_source *source, char *why, size_t len);

/* A configured token's form: 0, or -EINVAL with why (its length, a character outside
 * [A-Za-z0-9._~-]). */
int ui_token_check_format(const char *token, char *why, size_t len);

/* Whether a Host header value ("localhost:8089", "[::1]", "127.0.0.2") names this machine's
 * loopback: localhost, *.localhost, 127.0.0.0/8, ::1, or the configured host (bound_host). */
bool ui_host_names_loopback(const char *value, size_t len, const char *bound_host);

/* Whether an address is loopback: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104. */
bool ui_address_is_loopback(const struct sockaddr *sa);

/* The value of name in a query string "a=1&token=xyz" (undecoded), or p == NULL. */
http_slice_t ui_query_param(http_slice_t query, const char *name);

#endif
