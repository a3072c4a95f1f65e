/* cmd-images.c - `berth images` (not written yet). */
#include "cli.h"

static int run_images(Cli *cli, int argc, char **argv)
{
	(void)cli; (void)argc; (void)argv;
	return cli_fail("images: not implemented yet");
}

const CliCommand cmd_images = {
	.name = "images", .run = run_images, .summary = "(not implemented yet)",
	.usage = "Usage: berth images\n",
};
