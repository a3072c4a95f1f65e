/* cmd-stop.c - `berth stop [-t S] CONTAINER...`: StopSignal, then SIGKILL. */
#include "each.h"
#include "../base/parse.h"
#include <getopt.h>
#include <stdio.h>

static int stop_one(CtrStore *s, Container *c, const char *arg, void *ud, Error **err)
{
	int r = ctr_stop(s, c, *(int *)ud, err);
	if (r >= 0)
		printf("%s\n", arg);
	return r;
}

static int run_stop(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "time", required_argument, 0, 't' }, { 0, 0, 0, 0 } };
	int timeout = 10, c;
	int64_t v;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
		if (c != 't' || parse_int64(optarg, &v) < 0 || v < 0)
			return cli_usage_error(&cmd_stop, "invalid option or time '%s'", argv[optind - 1]);
		timeout = (int)v;
	}
	if (optind >= argc)
		return cli_usage_error(&cmd_stop, "requires at least one CONTAINER");
	return cli_for_each_container(cli, argv + optind, argc - optind, stop_one, &timeout);
}

const CliCommand cmd_stop = {
	.name = "stop", .run = run_stop, .summary = "Stop one or more running containers",
	.usage = "Usage: berth stop [-t SECONDS] CONTAINER...\n\n"
		 "Send the container's stop signal (default SIGTERM), then SIGKILL after the timeout.\n\n"
		 "Options:\n  -t, --time SECONDS  seconds to wait before killing (default 10)\n",
};
