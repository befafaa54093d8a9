/* profiles: the ready-made load shapes of `surge run --profile NAME` (the seeds' load_test.sh
 * modes: basic, stress, spike, soak, cache, breakpoint), kept in one table, and the text of
 * `surge help profiles` rendered from that same table. Pure data and formatting: no I/O. */
#ifndef SURGE_PROFILES_H
#define SURGE_PROFILES_H

#include <stdbool.h>

#include "core/buf.h"

#define PROFILE_MAX_THRESHOLDS 3

typedef struct profile {
	const char *name;
	const char *summary; /* one line */
	bool open_model;     /* stages are arrival rates (1/s); else users (closed model) */
	const char *stages;  /* users or rate stages in schedule_parse syntax, starting from 0 */
	const char *thresholds[PROFILE_MAX_THRESHOLDS + 1]; /* defaults, NULL-terminated */
	bool abort_on_fail; /* stop the run as soon as a threshold fails */
	const char *help;   /* a paragraph for `surge help profiles` */
} profile_t;

/* The profile called name, or NULL. */
const profile_t *profile_find(const char *name);
/* The i-th profile (0-based) in the order help lists them; NULL past the last. */
const profile_t *profile_at(int i);
int profile_count(void);
/* Appends the `surge help profiles` text: each profile, its model, its stages as written and
 * in words, its defaults, and how options override them. 0, or a negative errno from buf. */
int profiles_help(buf_t *out);

#endif
