/* cmd-kill.c - `berth kill` (not written yet). */
#include "cli.h"

static int run_kill(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("kill: not implemented yet");
}

const CliCommand cmd_kill = {
	.name = "kill", .run = run_kill, .summary = "(not implemented yet)",
	.usage = "Usage: berth kill\n",
};
