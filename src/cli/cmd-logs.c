/* cmd-logs.c - `berth logs` (not written yet). */
#include "cli.h"

static int run_logs(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("logs: not implemented yet");
}

const CliCommand cmd_logs = {
	.name = "logs", .run = run_logs, .summary = "(not implemented yet)",
	.usage = "Usage: berth logs\n",
};
