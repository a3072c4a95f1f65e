/* cmd-export.c - `berth export` (not written yet). */
#include "cli.h"

static int run_export(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("export: not implemented yet");
}

const CliCommand cmd_export = {
	.name = "export", .run = run_export, .summary = "(not implemented yet)",
	.usage = "Usage: berth export\n",
};
