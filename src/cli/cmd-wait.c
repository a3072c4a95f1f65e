/* cmd-wait.c - `berth wait` (not written yet). */
#include "cli.h"

static int run_wait(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("wait: not implemented yet");
}

const CliCommand cmd_wait = {
	.name = "wait", .run = run_wait, .summary = "(not implemented yet)",
	.usage = "Usage: berth wait\n",
};
