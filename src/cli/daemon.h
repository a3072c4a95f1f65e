/* daemon.h - what the commands that run a cluster component until
 * SIGINT/SIGTERM share (controller, scheduler, proxy, dns): the stop signal,
 * the log level, and the API client from a kubeconfig. */
#ifndef BERTH_CLI_DAEMON_H
#define BERTH_CLI_DAEMON_H
#include "cli.h"
#include "../shared/kube.h"

/* Parse `CMD [--kubeconfig FILE]` (default $KUBECONFIG) for commands that
 * take nothing else: 0 with *ret set, -1 when --help was printed, or the
 * exit code of a usage error. */
int cli_daemon_args(const CliCommand *cmd, int argc, char **argv, const char **ret);
/* The client for kubeconfig (--kubeconfig or $KUBECONFIG, which the caller
 * resolved).  0, or the exit code after reporting the problem. */
int cli_daemon_client(const CliCommand *cmd, const char *kubeconfig, KubeClient **ret);
/* SIGINT/SIGTERM ask to stop, SIGPIPE is ignored, logging at info. */
void cli_daemon_init(void);
/* Sleep until SIGINT or SIGTERM. */
void cli_daemon_wait(void);

#endif
