/* cmd-run.c - `berth run` (not written yet). */
#include "cli.h"

static int run_run(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("run: not implemented yet");
}

const CliCommand cmd_run = {
	.name = "run", .run = run_run, .summary = "(not implemented yet)",
	.usage = "Usage: berth run\n",
};
