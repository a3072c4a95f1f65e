/* cmd-controller.c - `berth controller`: the workload controllers alone,
 * against any Kubernetes API server named by a kubeconfig (the remote mode of
 * what `berth server` runs in-process).  Runs until SIGINT/SIGTERM. */
#include "cli.h"
#include "daemon.h"
#include "../controller/controller.h"
#include "../base/log.h"

static int controller_run(Cli *cli, int argc, char **argv)
{
	(void)cli;
	const char *kubeconfig;
	int rc = cli_daemon_args(&cmd_controller, argc, argv, &kubeconfig);
	if (rc)
		return rc < 0 ? 0 : rc;
	Error *err = NULL;
	KubeClient *kc = NULL;
	ControllerManager *m = NULL;
	rc = cli_daemon_client(&cmd_controller, kubeconfig, &kc);
	if (rc)
		return rc;
	cli_daemon_init();
	if (controller_manager_start(kc, &m, &err) < 0)
		return cli_fail_err(err, EXIT_BERTH);
	cli_daemon_wait();
	controller_manager_stop(m);
	return 0;
}

const CliCommand cmd_controller = {
	.name = "controller",
	.run = controller_run,
	.summary = "Run the workload controllers against a Kubernetes API server",
	.usage = "Usage: berth controller [--kubeconfig FILE]\n\n"
		 "Run the workload controllers (ReplicaSet, ReplicationController, Deployment,\n"
		 "DaemonSet, StatefulSet, Job, CronJob, Endpoints, EndpointSlice, node lifecycle)\n"
		 "against the API server of FILE (default $KUBECONFIG).  `berth server` runs them in-process\n"
		 "unless --disable-controllers is given.\n\n"
		 "Options:\n"
		 "  --kubeconfig FILE   credentials and server of the cluster\n",
};
