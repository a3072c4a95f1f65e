/* cmd-import.c - `berth import` (not written yet). */
#include "cli.h"

static int run_import(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("import: not implemented yet");
}

const CliCommand cmd_import = {
	.name = "import", .run = run_import, .summary = "(not implemented yet)",
	.usage = "Usage: berth import\n",
};
