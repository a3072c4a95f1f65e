/* cmd-inspect.c - `berth inspect` (not written yet). */
#include "cli.h"

static int run_inspect(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("inspect: not implemented yet");
}

const CliCommand cmd_inspect = {
	.name = "inspect", .run = run_inspect, .summary = "(not implemented yet)",
	.usage = "Usage: berth inspect\n",
};
