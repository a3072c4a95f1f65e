/* cmd-wait.c - `berth wait CONTAINER...`: block until each exits; print codes. */
#include "each.h"
#include <stdio.h>

static int wait_one(CtrStore *s, Container *c, const char *arg, void *ud, Error **err)
{
	(void)arg;
	(void)ud;
	int code;
	int r = ctr_wait(s, c, -1, &code, err);
	if (r >= 0)
		printf("%d\n", code);
	return r;
}

static int run_wait(Cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(&cmd_wait, "requires at least one CONTAINER");
	return cli_for_each_container(cli, argv + 1, argc - 1, wait_one, NULL);
}

const CliCommand cmd_wait = {
	.name = "wait", .run = run_wait, .summary = "Block until containers stop, then print their exit codes",
	.usage = "Usage: berth wait CONTAINER...\n",
};
