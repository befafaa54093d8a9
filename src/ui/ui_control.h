/* ui_control: a control request's input as the UI server reads it (POST /api/control/NAME) —
 * the name's form and the body, a JSON object sent as application/json ({} when empty) — before
 * the caller's callback sees it. Pure: no I/O, no server; fuzzed with the arguments surge run's
 * controls read (tests/fuzz/fuzz_ui_control.c). */
#ifndef SURGE_UI_CONTROL_H
#define SURGE_UI_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/http.h"

/* Whether name[0..len) is a control's name: 1 to UI_CONTROL_NAME_MAX of [a-z0-9_-]. */
bool ui_control_name_ok(const char *name, size_t len);

/* r's body[0..len) as the callback's arguments: 0 with *args a new JSON object (the caller
 * frees it); or 415 (a body not sent as application/json), 400 (not JSON, not an object) or
 * 503 (out of memory) with one line in err. */
int ui_control_args(const http_request_t *r, const char *body, size_t len, json_t **args, char *err,
                    size_t errlen);

#endif
