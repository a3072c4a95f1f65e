/* cmd-exec.c - `berth exec` (not written yet). */
#include "cli.h"

static int run_exec(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("exec: not implemented yet");
}

const CliCommand cmd_exec = {
	.name = "exec", .run = run_exec, .summary = "(not implemented yet)",
	.usage = "Usage: berth exec\n",
};
