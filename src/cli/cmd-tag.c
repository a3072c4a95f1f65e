/* cmd-tag.c - `berth tag` (not written yet). */
#include "cli.h"

static int run_tag(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("tag: not implemented yet");
}

const CliCommand cmd_tag = {
	.name = "tag", .run = run_tag, .summary = "(not implemented yet)",
	.usage = "Usage: berth tag\n",
};
