/* daemon.c - the shared part of long-running cluster commands (daemon.h). */
#include "daemon.h"
#include "../base/log.h"
#include <getopt.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t daemon_stop;

static void daemon_on_signal(int sig)
{
	(void)sig;
	daemon_stop = 1;
}

int cli_daemon_args(const CliCommand *cmd, int argc, char **argv, const char **ret)
{
	static const struct option opts[] = { { "kubeconfig", required_argument, NULL, 'k' }, { NULL, 0, NULL, 0 } };
	*ret = getenv("KUBECONFIG");
	if (cli_help_requested(cmd, argc, argv))
		return -1;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'k')
			return cli_usage_error(cmd, "unknown option");
		*ret = optarg;
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	return 0;
}

int cli_daemon_client(const CliCommand *cmd, const char *kubeconfig, KubeClient **ret)
{
	if (!kubeconfig || !*kubeconfig)
		return cli_usage_error(cmd, "--kubeconfig is required (or KUBECONFIG)");
	Error *err = NULL;
	if (kube_client_new_from_file(kubeconfig, ret, &err) < 0)
		return cli_fail_err(err, EXIT_BERTH);
	return 0;
}

void cli_daemon_init(void)
{
	struct sigaction sa = { .sa_handler = daemon_on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (log_get_level() < LOG_INFO_)
		log_set_level(LOG_INFO_);
}

void cli_daemon_wait(void)
{
	while (!daemon_stop)
		pause();
}
