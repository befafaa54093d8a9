/* serve_families: what the endpoint families run beside requests — checked at start-up,
 * stopped at shutdown, and reported on /metrics. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/echo.h"
#include "serve/serve_internal.h"

void serve_cpu_stop(void);
int serve_cpu_start(char *err, size_t errlen);
void serve_memory_stop(void);
void serve_disk_stop(void);

int serve_families_start(const serve_config_t *cfg, char *err, size_t errlen)
{
	if (access(cfg->data_dir, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "%s %s: %s",
		         serve_option_from(cfg->data_dir_from, "--data-dir"), ECHO(cfg->data_dir),
		         strerror(errno));
		return -1;
	}
	if (serve_cpu_start(err, errlen) < 0)
		return -1;
	if (serve_downstream_start(cfg, err, errlen) < 0) {
		serve_cpu_stop();
		return -1;
	}
	if (serve_database_start(cfg, err, errlen) < 0) {
		serve_downstream_stop();
		serve_cpu_stop();
		return -1;
	}
	if (serve_cache_start(cfg, err, errlen) < 0) {
		serve_database_stop();
		serve_downstream_stop();
		serve_cpu_stop();
		return -1;
	}
	return 0;
}

void serve_families_stop(void)
{
	serve_cpu_stop();
	serve_memory_stop();
	serve_disk_stop();
	serve_cache_stop();
	serve_database_stop();
	serve_downstream_stop();
}

void serve_family_metrics(buf_t *out)
{
	serve_cpu_metrics(out);
	serve_memory_metrics(out);
	serve_chaos_metrics(out);
	serve_downstream_metrics(out);
	serve_database_metrics(out);
	serve_cache_metrics(out);
}
