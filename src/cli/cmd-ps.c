/* cmd-ps.c - `berth ps` (not written yet). */
#include "cli.h"

static int run_ps(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("ps: not implemented yet");
}

const CliCommand cmd_ps = {
	.name = "ps", .run = run_ps, .summary = "(not implemented yet)",
	.usage = "Usage: berth ps\n",
};
