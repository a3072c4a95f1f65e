/* cmd-kubeconfig.c - `berth kubeconfig [--data-dir DIR]`: print the admin
 * kubeconfig the server wrote at first start (as `k3s kubectl config view
 * --raw` would), ready for `> ~/.kube/config`. */
#include "cli.h"
#include "../apiserver/apiserver.h"
#include "../base/cleanup.h"
#include <getopt.h>
#include <stdio.h>

static int kubeconfig_run(Cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option opts[] = { { "data-dir", required_argument, NULL, 'd' }, { NULL, 0, NULL, 0 } };
	const char *data_dir = "/var/lib/berth/server";
	if (cli_help_requested(&cmd_kubeconfig, argc, argv))
		return 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'd')
			return cli_usage_error(&cmd_kubeconfig, "unknown option");
		data_dir = optarg;
	}
	if (optind < argc)
		return cli_usage_error(&cmd_kubeconfig, "unexpected argument '%s'", argv[optind]);
	Error *err = NULL;
	_cleanup_free_ char *text = NULL;
	if (apiserver_kubeconfig_read(data_dir, &text, &err) < 0)
		return cli_fail_err(err, EXIT_BERTH);
	fputs(text, stdout);
	return 0;
}

const CliCommand cmd_kubeconfig = {
	.name = "kubeconfig",
	.run = kubeconfig_run,
	.summary = "Print the admin kubeconfig of a berth server",
	.usage = "Usage: berth kubeconfig [--data-dir DIR]\n\n"
		 "Print DATA/kubeconfig.yaml, written by the first 'berth server' start.\n\n"
		 "Options:\n"
		 "  --data-dir DIR   the server's data dir (default /var/lib/berth/server)\n",
};
