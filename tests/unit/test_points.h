/* A test's read of a result's second i, by value, wherever the result keeps it (result.h's
 * result_point_at: in memory, or read back from the spill file). Its `hist`, when spilled,
 * is valid until the next call. */
#ifndef SURGE_TEST_POINTS_H
#define SURGE_TEST_POINTS_H

#include "result/result.h"

static inline result_point_t test_point(const result_t *r, size_t i)
{
	static result_cursor_t c;
	static int ready;
	const result_point_t *p;
	result_point_t none;

	if (!ready) {
		result_cursor_init(&c);
		ready = 1;
	}
	if ((p = result_point_at(r, i, &c)))
		return *p;
	memset(&none, 0, sizeof(none));
	none.second = -1; /* no such second, or it could not be read */
	return none;
}

#endif
