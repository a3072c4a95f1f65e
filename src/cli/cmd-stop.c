/* cmd-stop.c - `berth stop` (not written yet). */
#include "cli.h"

static int run_stop(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("stop: not implemented yet");
}

const CliCommand cmd_stop = {
	.name = "stop", .run = run_stop, .summary = "(not implemented yet)",
	.usage = "Usage: berth stop\n",
};
