/* clock: the monotonic clock every latency is measured with, and wall-clock formatting. */
#ifndef SURGE_CLOCK_H
#define SURGE_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define NS_PER_US 1000ULL
#define NS_PER_MS 1000000ULL
#define NS_PER_S  1000000000ULL

static inline uint64_t clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Wall-clock time in nanoseconds since the Unix epoch. */
uint64_t clock_wall_ns(void);
/* CPU time of the calling thread. */
uint64_t clock_thread_cpu_ns(void);
/* "2026-11-24T01:02:03.456Z" into out (at least 32 bytes). */
void clock_format_rfc3339(uint64_t wall_ns, char *out, size_t len);
/* "2026-11-24T01:02:03.456Z" or "...+01:00" (fraction optional) into seconds since the
 * epoch; false when s is not such a time. */
bool clock_parse_rfc3339(const char *s, double *epoch_s);

#endif
