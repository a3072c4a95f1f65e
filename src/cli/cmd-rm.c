/* cmd-rm.c - `berth rm [-f] CONTAINER...`: nothing of the container stays. */
#include "each.h"
#include <getopt.h>
#include <stdio.h>

static int rm_one(CtrStore *s, Container *c, const char *arg, void *ud, Error **err)
{
	int r = ctr_remove(s, c, *(bool *)ud, err);
	if (r >= 0)
		printf("%s\n", arg);
	return r;
}

static int run_rm(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, 0, 'f' }, { 0, 0, 0, 0 } };
	bool force = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (c != 'f')
			return cli_usage_error(&cmd_rm, "unknown option '%s'", argv[optind - 1]);
		force = true;
	}
	if (optind >= argc)
		return cli_usage_error(&cmd_rm, "requires at least one CONTAINER");
	return cli_for_each_container(cli, argv + optind, argc - optind, rm_one, &force);
}

const CliCommand cmd_rm = {
	.name = "rm", .run = run_rm, .summary = "Remove one or more containers",
	.usage = "Usage: berth rm [-f] CONTAINER...\n\n"
		 "Options:\n  -f, --force  kill a running container first\n",
};
