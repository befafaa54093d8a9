/* wake_cost: what one sleep and wake-up costs the sleeping process, the floor under an open
 * model's CPU per request (docs/performance.md "The open model against wrk2"). It sleeps N
 * times in epoll_pwait2 for GAP µs — a timed wait on an empty epoll set, as surge's loop waits
 * for its next arrival — and prints the process's user + system CPU per sleep and its
 * voluntary context switches. Usage: wake_cost N GAP_US */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

int main(int argc, char **argv)
{
	struct epoll_event ev;
	struct rusage ru;
	struct timespec gap;
	long n, gap_us;
	int ep;

	if (argc != 3 || (n = atol(argv[1])) <= 0 || (gap_us = atol(argv[2])) <= 0 ||
	    gap_us >= 1000000) {
		fprintf(stderr, "usage: wake_cost N GAP_US (1 to 999999)\n");
		return 2;
	}
	if ((ep = epoll_create1(0)) < 0) {
		perror("epoll_create1");
		return 1;
	}
	gap = (struct timespec){0, gap_us * 1000};
	for (long i = 0; i < n; i++)
		if (epoll_pwait2(ep, &ev, 1, &gap, NULL) < 0) {
			perror("epoll_pwait2");
			return 1;
		}
	getrusage(RUSAGE_SELF, &ru);
	printf("%ld %.2f %ld\n", gap_us,
	       (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 / n +
	           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / (double)n,
	       ru.ru_nvcsw);
	return 0;
}
