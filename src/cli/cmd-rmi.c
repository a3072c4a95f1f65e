/* cmd-rmi.c - `berth rmi` (not written yet). */
#include "cli.h"

static int run_rmi(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("rmi: not implemented yet");
}

const CliCommand cmd_rmi = {
	.name = "rmi", .run = run_rmi, .summary = "(not implemented yet)",
	.usage = "Usage: berth rmi\n",
};
