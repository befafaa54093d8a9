/* url: absolute http:// and https:// URLs split into what a client needs. */
#ifndef SURGE_URL_H
#define SURGE_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define URL_HOST_MAX   256
#define URL_TARGET_MAX 8192

typedef struct url {
	bool tls;                    /* https */
	char host[URL_HOST_MAX];     /* without brackets for IPv6 literals */
	uint16_t port;               /* explicit or the scheme's default */
	char target[URL_TARGET_MAX]; /* origin-form: path and query, "/" when empty */
} url_t;

/* 0, or -EINVAL with a message naming what is wrong. Fragments are dropped. */
int url_parse(const char *s, url_t *u, char *err, size_t errlen);

#endif
