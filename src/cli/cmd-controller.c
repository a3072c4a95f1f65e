/* cmd-controller.c - `berth controller`: the workload controllers alone,
 * against any Kubernetes API server named by a kubeconfig (the remote mode of
 * what `berth server` runs in-process).  Runs until SIGINT/SIGTERM. */
#include "cli.h"
#include "../controller/controller.h"
#include "../base/log.h"
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int controller_run(Cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option opts[] = { { "kubeconfig", required_argument, NULL, 'k' }, { NULL, 0, NULL, 0 } };
	const char *kubeconfig = getenv("KUBECONFIG");
	if (cli_help_requested(&cmd_controller, argc, argv))
		return 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'k')
			return cli_usage_error(&cmd_controller, "unknown option");
		kubeconfig = optarg;
	}
	if (optind < argc)
		return cli_usage_error(&cmd_controller, "unexpected argument '%s'", argv[optind]);
	if (!kubeconfig)
		return cli_usage_error(&cmd_controller, "--kubeconfig is required (or KUBECONFIG)");
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (log_get_level() < LOG_INFO_)
		log_set_level(LOG_INFO_);
	Error *err = NULL;
	KubeClient *kc = NULL;
	ControllerManager *m = NULL;
	if (kube_client_new_from_file(kubeconfig, &kc, &err) < 0)
		return cli_fail_err(err, EXIT_BERTH);
	if (controller_manager_start(kc, &m, &err) < 0)
		return cli_fail_err(err, EXIT_BERTH);
	while (!stop_requested)
		pause();
	controller_manager_stop(m);
	return 0;
}

const CliCommand cmd_controller = {
	.name = "controller",
	.run = controller_run,
	.summary = "Run the workload controllers against a Kubernetes API server",
	.usage = "Usage: berth controller [--kubeconfig FILE]\n\n"
		 "Run the ReplicaSet, ReplicationController and Deployment controllers against the\n"
		 "API server of FILE (default $KUBECONFIG).  `berth server` runs them in-process\n"
		 "unless --disable-controllers is given.\n\n"
		 "Options:\n"
		 "  --kubeconfig FILE   credentials and server of the cluster\n",
};
