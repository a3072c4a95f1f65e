/* cmd-rm.c - `berth rm` (not written yet). */
#include "cli.h"

static int run_rm(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("rm: not implemented yet");
}

const CliCommand cmd_rm = {
	.name = "rm", .run = run_rm, .summary = "(not implemented yet)",
	.usage = "Usage: berth rm\n",
};
