/* cmd-stats.c - `berth stats` (not written yet). */
#include "cli.h"

static int run_stats(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("stats: not implemented yet");
}

const CliCommand cmd_stats = {
	.name = "stats", .run = run_stats, .summary = "(not implemented yet)",
	.usage = "Usage: berth stats\n",
};
