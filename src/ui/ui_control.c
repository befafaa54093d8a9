/* ui_control: a control request's name and body read into the callback's arguments
 * (ui_control.h): a JSON object, sent as application/json so that no page of another site can
 * send it without the browser asking first (docs/ui.md, security). */
#include "ui/ui_control.h"

#include <stdio.h>
#include <strings.h>

#include "core/echo.h"
#include "core/json_alloc.h"
#include "ui/ui.h"

bool ui_control_name_ok(const char *name, size_t len)
{
	if (!len || len > UI_CONTROL_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_' || name[i] == '-'))
			return false;
	return true;
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

int ui_control_args(const http_request_t *r, const char *body, size_t len, json_t **args, char *err,
                    size_t errlen)
{
	http_slice_t type = http_request_header(r, "content-type");
	unsigned long refused = json_alloc_failures();
	json_error_t jerr;
	json_t *doc;

	*args = NULL;
	if (!len) {
		if (!(*args = json_object())) {
			snprintf(err, errlen, "out of memory");
			return 503;
		}
		return 0;
	}
	/* a page of another site can send a form or text/plain without asking; application/json
	 * needs the browser's permission first, which this server never gives */
	if (!type.p || type.len < 16 || strncasecmp(type.p, "application/json", 16) != 0 ||
	    (type.len > 16 && type.p[16] != ';' && type.p[16] != ' ')) {
		snprintf(err, errlen, "Content-Type: expected application/json for a control body");
		return 415;
	}
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (json_alloc_failures() != refused) {
		json_decref(doc);
		snprintf(err, errlen, "out of memory reading the JSON body");
		return 503;
	}
	if (!doc) {
		/* jansson quotes the text near the fault raw: a control byte in it is escaped */
		snprintf(err, errlen, "body: not JSON: %s (line %d, column %d)", ECHO(jerr.text),
		         jerr.line, jerr.column);
		return 400;
	}
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "body: expected a JSON object, got %s", json_kind(doc));
		json_decref(doc);
		return 400;
	}
	*args = doc;
	return 0;
}
