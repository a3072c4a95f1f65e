/* cmd-scheduler.c - `berth scheduler`: the scheduler alone, against any
 * Kubernetes API server named by a kubeconfig (the remote mode of what
 * `berth server` runs in-process).  Runs until SIGINT/SIGTERM. */
#include "cli.h"
#include "../scheduler/scheduler.h"
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

static int scheduler_run(Cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option opts[] = { { "kubeconfig", required_argument, NULL, 'k' }, { NULL, 0, NULL, 0 } };
	const char *kubeconfig = getenv("KUBECONFIG");
	if (cli_help_requested(&cmd_scheduler, argc, argv))
		return 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'k')
			return cli_usage_error(&cmd_scheduler, "unknown option");
		kubeconfig = optarg;
	}
	if (optind < argc)
		return cli_usage_error(&cmd_scheduler, "unexpected argument '%s'", argv[optind]);
	if (!kubeconfig)
		return cli_usage_error(&cmd_scheduler, "--kubeconfig is required (or KUBECONFIG)");
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (log_get_level() < LOG_INFO_)
		log_set_level(LOG_INFO_);
	Error *err = NULL;
	KubeClient *kc = NULL;
	Scheduler *s = NULL;
	if (kube_client_new_from_file(kubeconfig, &kc, &err) < 0)
		return cli_fail_err(err, EXIT_BERTH);
	if (scheduler_start(kc, &s, &err) < 0)
		return cli_fail_err(err, EXIT_BERTH);
	while (!stop_requested)
		pause();
	scheduler_stop(s);
	return 0;
}

const CliCommand cmd_scheduler = {
	.name = "scheduler",
	.run = scheduler_run,
	.summary = "Run the pod scheduler against a Kubernetes API server",
	.usage = "Usage: berth scheduler [--kubeconfig FILE]\n\n"
		 "Assign pending pods (schedulerName default-scheduler) to nodes of the cluster of\n"
		 "FILE (default $KUBECONFIG): node selectors and affinity, taints and tolerations,\n"
		 "resource requests, host ports, spreading.  `berth server` runs it in-process\n"
		 "unless --disable-scheduler is given.\n\n"
		 "Options:\n"
		 "  --kubeconfig FILE   credentials and server of the cluster\n",
};
