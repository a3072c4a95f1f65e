/* cmd-tag.c - `berth tag SOURCE TARGET`: give an image another name. */
#include "cli.h"
#include "../image/image.h"

static int run_tag(Cli *cli, int argc, char **argv)
{
	if (argc != 3)
		return cli_usage_error(&cmd_tag, "requires exactly 2 arguments");
	Error *e = NULL;
	ImgStore *s;
	if (img_store_open(cli->root, &s, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	int r = img_tag(s, argv[1], argv[2], &e);
	img_store_free(s);
	return r < 0 ? cli_fail_err(e, EXIT_BERTH) : 0;
}

const CliCommand cmd_tag = {
	.name = "tag", .run = run_tag, .summary = "Give an image another name",
	.usage = "Usage: berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\n"
		 "Create the name TARGET_IMAGE that refers to SOURCE_IMAGE (a name or an id).\n"
		 "A name already used by another image moves to this one.\n",
};
