/* echo: the one way surge quotes a user's value back in a message (echo.h). */
#include "core/echo.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The length of the UTF-8 sequence starting with byte c (1 for anything that is not a lead
 * byte, so a stray continuation byte is shown as an escape on its own). */
static size_t utf8_length(unsigned char c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 1;
}

/* Whether s holds a whole sequence of n bytes: a lead byte and n - 1 continuation bytes. */
static bool utf8_complete(const unsigned char *s, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return false;
	return true;
}

/* One character of s in printable form into out (at least 5 bytes); its length in s. */
static size_t printable(const unsigned char *s, char *out, size_t *outlen)
{
	size_t n = utf8_length(*s);

	if (n > 1 && utf8_complete(s, n)) {
		memcpy(out, s, n);
		*outlen = n;
		return n;
	}
	if (*s == '\r' || *s == '\n' || *s == '\t') {
		out[0] = '\\';
		out[1] = *s == '\r' ? 'r' : *s == '\n' ? 'n' : 't';
		*outlen = 2;
	} else if (*s < 0x20 || *s >= 0x7f) {
		snprintf(out, 5, "\\x%02x", *s);
		*outlen = 4;
	} else {
		out[0] = (char)*s;
		*outlen = 1;
	}
	return 1;
}

const char *echo_value(const char *s, char *buf, size_t len)
{
	static const char more[] = "…";
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t used = 0, shown = 0;

	if (!buf || len < sizeof(more))
		return "";
	while (*p) {
		char one[8];
		size_t n, step = printable(p, one, &n);

		/* past ECHO_MAX characters, or a buffer smaller than ECHO_SIZE full: cut here */
		if (shown == ECHO_MAX || used + n + sizeof(more) > len) {
			memcpy(buf + used, more, sizeof(more) - 1);
			used += sizeof(more) - 1;
			break;
		}
		memcpy(buf + used, one, n);
		used += n;
		p += step;
		shown++;
	}
	buf[used] = '\0';
	return buf;
}

void echo_controls(char *s, size_t cap)
{
	static const char more[] = "…";
	size_t len = strnlen(s, cap), used = 0;
	bool any = false;
	char *out;

	for (size_t i = 0; i < len && !any; i++)
		any = (unsigned char)s[i] < 0x20 || s[i] == 0x7f;
	if (!any || cap < sizeof(more))
		return;
	if (!(out = malloc(cap))) { /* no room to escape them: each shown as '?' */
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				s[i] = '?';
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char one[8];
		size_t n = 1;

		if (c == '\r' || c == '\n' || c == '\t')
			n = (size_t)snprintf(one, sizeof(one), "\\%c",
			                     c == '\r'   ? 'r'
			                     : c == '\n' ? 'n'
			                                 : 't');
		else if (c < 0x20 || c == 0x7f)
			n = (size_t)snprintf(one, sizeof(one), "\\x%02x", c);
		else
			one[0] = (char)c;
		if (used + n + sizeof(more) > cap) {
			memcpy(out + used, more, sizeof(more) - 1);
			used += sizeof(more) - 1;
			break;
		}
		memcpy(out + used, one, n);
		used += n;
	}
	out[used] = '\0';
	memcpy(s, out, used + 1);
	free(out);
}
