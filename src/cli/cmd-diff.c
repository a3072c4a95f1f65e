/* cmd-diff.c - `berth diff` (not written yet). */
#include "cli.h"

static int run_diff(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("diff: not implemented yet");
}

const CliCommand cmd_diff = {
	.name = "diff", .run = run_diff, .summary = "(not implemented yet)",
	.usage = "Usage: berth diff\n",
};
