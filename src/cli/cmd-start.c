/* cmd-start.c - `berth start` (not written yet). */
#include "cli.h"

static int run_start(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("start: not implemented yet");
}

const CliCommand cmd_start = {
	.name = "start", .run = run_start, .summary = "(not implemented yet)",
	.usage = "Usage: berth start\n",
};
