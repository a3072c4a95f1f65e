/* cmd-kill.c - `berth kill [-s SIG] CONTAINER...`. */
#include "each.h"
#include "../base/parse.h"
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

static int kill_one(CtrStore *s, Container *c, const char *arg, void *ud, Error **err)
{
	int r = ctr_kill(s, c, *(int *)ud, err);
	if (r >= 0)
		printf("%s\n", arg);
	return r;
}

static int run_kill(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "signal", required_argument, 0, 's' }, { 0, 0, 0, 0 } };
	int sig = SIGKILL, c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "s:", opts, NULL)) != -1) {
		if (c != 's')
			return cli_usage_error(&cmd_kill, "unknown option '%s'", argv[optind - 1]);
		if (parse_signal(optarg, &sig) < 0)
			return cli_usage_error(&cmd_kill, "invalid signal '%s'", optarg);
	}
	if (optind >= argc)
		return cli_usage_error(&cmd_kill, "requires at least one CONTAINER");
	return cli_for_each_container(cli, argv + optind, argc - optind, kill_one, &sig);
}

const CliCommand cmd_kill = {
	.name = "kill", .run = run_kill, .summary = "Send a signal to running containers",
	.usage = "Usage: berth kill [-s SIGNAL] CONTAINER...\n\n"
		 "Options:\n  -s, --signal SIG  signal to send (default KILL)\n",
};
