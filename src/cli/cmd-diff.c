/* cmd-diff.c - `berth diff CONTAINER`: A/C/D lines for what the container
 * changed relative to its image. */
#include "cli.h"
#include "attach.h"
#include "../image/image.h"
#include "../shared/json.h"
#include <stdio.h>

static void print_change(char kind, const char *path, void *ud)
{
	(void)ud;
	printf("%c %s\n", kind, path);
}

static int run_diff(Cli *cli, int argc, char **argv)
{
	if (argc != 2)
		return cli_usage_error(&cmd_diff, "requires exactly one CONTAINER");
	CtrStore *s = cli_open_containers(cli);
	if (!s)
		return EXIT_BERTH;
	Container *ct = NULL;
	ImgInfo *img = NULL;
	Error *e = NULL;
	int code = 0;
	if (ctr_lookup(s, argv[1], &ct, &e) < 0 || img_resolve(s->images, json_str(ct->config, "ImageID"), &img, &e) < 0) {
		code = cli_fail_err(e, EXIT_BERTH);
	} else {
		_cleanup_free_ char *upper = xasprintf("%s/upper", ct->dir);
		if (img_diff(s->images, img, upper, print_change, NULL, &e) < 0)
			code = cli_fail_err(e, EXIT_BERTH);
	}
	img_info_free(img);
	ctr_free(ct);
	ctr_store_free(s);
	return code;
}

const CliCommand cmd_diff = {
	.name = "diff", .run = run_diff, .summary = "Show changes to a container's filesystem",
	.usage = "Usage: berth diff CONTAINER\n\nA = added, C = changed, D = deleted.\n",
};
