/* cmd-history.c - `berth history` (not written yet). */
#include "cli.h"

static int run_history(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("history: not implemented yet");
}

const CliCommand cmd_history = {
	.name = "history", .run = run_history, .summary = "(not implemented yet)",
	.usage = "Usage: berth history\n",
};
