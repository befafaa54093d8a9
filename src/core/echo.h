/* echo: a value the user gave, quoted back in a message. Control characters are shown as
 * escapes (\r, \n, \xNN) so the message stays one line, and a long value is cut after
 * ECHO_MAX characters with "…", so a 100,000-character URL costs one line, not a screen. */
#ifndef SURGE_ECHO_H
#define SURGE_ECHO_H

#include <stddef.h>

#define ECHO_MAX  200                /* characters shown before "…" */
#define ECHO_SIZE (ECHO_MAX * 4 + 8) /* room for them escaped or in UTF-8, and "…" */

/* Writes the printable form of s (NULL: "") into buf and returns buf. */
const char *echo_value(const char *s, char *buf, size_t len);

/* The message s (in a buffer of cap bytes) with its control characters shown as escapes, in
 * place and uncut but for what no longer fits cap (then "…"): for a message that quotes text
 * surge did not write — a Lua error, a file's line — and must stay one line that a terminal
 * shows rather than obeys. Bytes from 0x80 up are left as they are (UTF-8). */
void echo_controls(char *s, size_t cap);

/* echo_value into a buffer that lives until the end of the enclosing block: for printf-style
 * arguments, e.g. cli_usage_error("run", "URL '%s': %s", ECHO(url), err). */
#define ECHO(s) echo_value((s), (char[ECHO_SIZE]){0}, ECHO_SIZE)

#endif
