/* cmd-create.c - `berth create` (not written yet). */
#include "cli.h"

static int run_create(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("create: not implemented yet");
}

const CliCommand cmd_create = {
	.name = "create", .run = run_create, .summary = "(not implemented yet)",
	.usage = "Usage: berth create\n",
};
