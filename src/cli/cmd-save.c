/* cmd-save.c - `berth save` (not written yet). */
#include "cli.h"

static int run_save(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("save: not implemented yet");
}

const CliCommand cmd_save = {
	.name = "save", .run = run_save, .summary = "(not implemented yet)",
	.usage = "Usage: berth save\n",
};
