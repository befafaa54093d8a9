/* cli_io: --io auto|uring|epoll (and $SURGE_IO), shared by `surge run` and `surge serve`: the
 * event loops' backend is chosen here, once, before any loop is made. */
#include <stdio.h>

#include "cli/cli.h"
#include "core/echo.h"
#include "core/loop.h"

int cli_io_choose(const char *value, const char *from, const char *cmd)
{
	enum loop_io_choice choice = LOOP_IO_AUTO;
	char why[200] = "";

	if (value && loop_io_parse(value, &choice) < 0) {
		cli_usage_error(cmd, "%s '%s': expected auto, uring or epoll", from ? from : "--io",
		                ECHO(value));
		return -1;
	}
	if (loop_io_choose(choice, why, sizeof(why)) < 0) {
		cli_usage_error(cmd, "%s uring: io_uring cannot be used here: %s",
		                from ? from : "--io", why);
		return -1;
	}
	return 0;
}
