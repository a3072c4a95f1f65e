/* cmd-commit.c - `berth commit` (not written yet). */
#include "cli.h"

static int run_commit(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("commit: not implemented yet");
}

const CliCommand cmd_commit = {
	.name = "commit", .run = run_commit, .summary = "(not implemented yet)",
	.usage = "Usage: berth commit\n",
};
