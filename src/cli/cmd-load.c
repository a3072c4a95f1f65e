/* cmd-load.c - `berth load` (not written yet). */
#include "cli.h"

static int run_load(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("load: not implemented yet");
}

const CliCommand cmd_load = {
	.name = "load", .run = run_load, .summary = "(not implemented yet)",
	.usage = "Usage: berth load\n",
};
