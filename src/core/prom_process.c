/* prom_process: the process_* metrics every Prometheus client library exports (CPU, memory,
 * start time, descriptors), read from /proc/self — for surge serve's /metrics and the
 * generator's. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/prom_write.h"

int prom_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n > 3 ? n - 3 : 0; /* ".", ".." and the directory's own descriptor */
}

void prom_process_metrics(buf_t *out, uint64_t start_wall_ns)
{
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	unsigned long utime = 0, stime = 0, vsize = 0;
	long rss = 0;
	struct rlimit rl;
	char stat[1024], *p;
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = f ? fread(stat, 1, sizeof(stat) - 1, f) : 0;

	if (f)
		fclose(f);
	stat[n] = '\0';
	p = strrchr(stat, ')'); /* the command name may hold spaces and parentheses */
	if (p)
		sscanf(p + 2,
		       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d "
		       "%*d %*u %lu %ld",
		       &utime, &stime, &vsize, &rss);
	prom_metric(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent.",
	            (double)(utime + stime) / (double)ticks);
	prom_metric(out, "process_resident_memory_bytes", "gauge", "Resident memory size.",
	            (double)rss * (double)page);
	prom_metric(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size.",
	            (double)vsize);
	prom_metric(out, "process_start_time_seconds", "gauge", "Start time since the Unix epoch.",
	            start_wall_ns / 1e9);
	getrlimit(RLIMIT_NOFILE, &rl);
	prom_metric(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
	            (double)rl.rlim_cur);
	prom_metric(out, "process_open_fds", "gauge", "Open file descriptors.",
	            (double)prom_open_fds());
}
