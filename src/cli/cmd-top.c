/* cmd-top.c - `berth top` (not written yet). */
#include "cli.h"

static int run_top(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("top: not implemented yet");
}

const CliCommand cmd_top = {
	.name = "top", .run = run_top, .summary = "(not implemented yet)",
	.usage = "Usage: berth top\n",
};
