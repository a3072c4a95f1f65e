/* cmd-scheduler.c - `berth scheduler`: the scheduler alone, against any
 * Kubernetes API server named by a kubeconfig (the remote mode of what
 * `berth server` runs in-process).  Runs until SIGINT/SIGTERM. */
#include "cli.h"
#include "daemon.h"
#include "../scheduler/scheduler.h"
#include "../base/log.h"

static int scheduler_run(Cli *cli, int argc, char **argv)
{
	(void)cli;
	const char *kubeconfig;
	int rc = cli_daemon_args(&cmd_scheduler, argc, argv, &kubeconfig);
	if (rc)
		return rc < 0 ? 0 : rc;
	Error *err = NULL;
	KubeClient *kc = NULL;
	Scheduler *s = NULL;
	rc = cli_daemon_client(&cmd_scheduler, kubeconfig, &kc);
	if (rc)
		return rc;
	cli_daemon_init();
	if (scheduler_start(kc, &s, &err) < 0)
		return cli_fail_err(err, EXIT_BERTH);
	cli_daemon_wait();
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
