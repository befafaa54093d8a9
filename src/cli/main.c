/* main: dispatches `surge COMMAND` to its cli_ handler. */
#include <stdio.h>
#include <string.h>

#include "core/version.h"
#include "core/echo.h"
#include "core/heap.h"
#include "core/json_alloc.h"
#include "cli/cli.h"

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	heap_setup();
	json_alloc_install();
	if (!cmd || strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0)
		return cli_help(cmd ? argc - 1 : 0, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("surge %s\n", surge_version);
		return EXIT_OK;
	}
	if (strcmp(cmd, "run") == 0)
		return cli_run(argc - 1, argv + 1);
	if (strcmp(cmd, "capacity") == 0)
		return cli_capacity(argc - 1, argv + 1);
	if (strcmp(cmd, "report") == 0)
		return cli_report(argc - 1, argv + 1);
	if (strcmp(cmd, "compare") == 0)
		return cli_compare(argc - 1, argv + 1);
	if (strcmp(cmd, "merge") == 0)
		return cli_merge(argc - 1, argv + 1);
	if (strcmp(cmd, "serve") == 0)
		return cli_serve(argc - 1, argv + 1);
	fprintf(stderr, "surge: unknown command '%s' (see 'surge help')\n", ECHO(cmd));
	return EXIT_USAGE;
}
