/* json_alloc: jansson's allocations, counted when they fail. jansson reports a refused
 * allocation inside its parser as a syntax error ("string or '}' expected near ...") or with
 * no text at all, which would blame the input for what was memory running out: a caller
 * compares json_alloc_failures() before and after a call to tell the two apart. */
#ifndef SURGE_JSON_ALLOC_H
#define SURGE_JSON_ALLOC_H

/* Routes jansson's allocations through the counter. Once, before any thread uses jansson
 * (main does it first thing); without it the count stays 0. */
void json_alloc_install(void);

/* jansson allocations refused in this thread since it started. */
unsigned long json_alloc_failures(void);

#endif
