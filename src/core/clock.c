/* clock: wall-clock and CPU-time readings, RFC 3339 formatting and parsing. */
#include "core/clock.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

uint64_t clock_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t clock_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

void clock_format_rfc3339(uint64_t wall_ns, char *out, size_t len)
{
	time_t secs = (time_t)(wall_ns / NS_PER_S);
	unsigned ms = (unsigned)(wall_ns % NS_PER_S / NS_PER_MS);
	struct tm tm;
	char date[24];

	gmtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03uZ", date, ms);
}

/* Whether s matches pattern, where '9' stands for any digit and other characters for
 * themselves. */
static bool matches(const char *s, const char *pattern)
{
	for (; *pattern; s++, pattern++)
		if (*pattern == '9' ? !(*s >= '0' && *s <= '9') : *s != *pattern)
			return false;
	return true;
}

bool clock_parse_rfc3339(const char *s, double *epoch_s)
{
	struct tm tm;
	double frac = 0;
	int off_h = 0, off_m = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (!matches(s, "9999-99-99T99:99:99") && !matches(s, "9999-99-99t99:99:99"))
		return false;
	sscanf(s, "%4d-%2d-%2d%*c%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	       &tm.tm_min, &tm.tm_sec);
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	s += 19;
	if (*s == '.') {
		double scale = 0.1;

		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			frac += (*s - '0') * scale;
	}
	if ((*s == '+' || *s == '-') && matches(s + 1, "99:99") && s[6] == '\0') {
		int sign = *s == '-' ? -1 : 1;

		sscanf(s + 1, "%2d:%2d", &off_h, &off_m);
		if (off_h > 23 || off_m > 59)
			return false;
		off_h *= sign;
		off_m *= sign;
	} else if (!((*s == 'Z' || *s == 'z') && s[1] == '\0')) {
		return false;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*epoch_s = (double)t + frac - off_h * 3600.0 - off_m * 60.0;
	return true;
}
