/* cmd-proxy.c - `berth proxy`: the service proxy (kube-proxy's iptables
 * mode) against the API server of a kubeconfig, or `--cleanup` to remove
 * every rule and chain it wrote.  Runs until SIGINT/SIGTERM. */
#include "cli.h"
#include "daemon.h"
#include "../proxy/proxy.h"
#include "../base/log.h"
#include <getopt.h>
#include <stdlib.h>

#define MAX_NODE_IPS 8

static int proxy_cmd(Cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option opts[] = { { "kubeconfig", required_argument, NULL, 'k' },
					      { "node-ip", required_argument, NULL, 'n' },
					      { "cluster-cidr", required_argument, NULL, 'c' },
					      { "no-localhost-nodeports", no_argument, NULL, 'L' },
					      { "cleanup", no_argument, NULL, 'C' },
					      { NULL, 0, NULL, 0 } };
	const char *kubeconfig = getenv("KUBECONFIG");
	char *ips[MAX_NODE_IPS + 1] = { 0 };
	int nips = 0;
	bool cleanup = false;
	ProxyOptions po = { .localhost_nodeports = true };
	if (cli_help_requested(&cmd_proxy, argc, argv))
		return 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kubeconfig = optarg; break;
		case 'n':
			if (nips == MAX_NODE_IPS)
				return cli_usage_error(&cmd_proxy, "at most %d --node-ip", MAX_NODE_IPS);
			ips[nips++] = optarg;
			break;
		case 'c': po.cluster_cidr = optarg; break;
		case 'L': po.localhost_nodeports = false; break;
		case 'C': cleanup = true; break;
		default: return cli_usage_error(&cmd_proxy, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd_proxy, "unexpected argument '%s'", argv[optind]);
	Error *err = NULL;
	if (cleanup)
		return proxy_cleanup(&err) < 0 ? cli_fail_err(err, EXIT_BERTH) : 0;
	po.node_ips = nips ? ips : NULL;
	KubeClient *kc = NULL;
	Proxy *p = NULL;
	int rc = cli_daemon_client(&cmd_proxy, kubeconfig, &kc);
	if (rc)
		return rc;
	cli_daemon_init();
	if (proxy_start(kc, &po, &p, &err) < 0) {
		kube_client_free(kc);
		return cli_fail_err(err, EXIT_BERTH);
	}
	cli_daemon_wait();
	proxy_stop(p);
	kube_client_free(kc);
	return 0;
}

const CliCommand cmd_proxy = {
	.name = "proxy",
	.run = proxy_cmd,
	.summary = "Run the service proxy (iptables) against a Kubernetes API server",
	.usage = "Usage: berth proxy [--kubeconfig FILE] [--node-ip IP]... [--cluster-cidr CIDR]\n"
		 "       berth proxy --cleanup\n\n"
		 "Keep the nat table's BERTH-* chains in step with the cluster's Services and\n"
		 "EndpointSlices: ClusterIP, NodePort and LoadBalancer (ingress = the node IPs)\n"
		 "traffic is DNATed to ready endpoints.  The rules stay when it exits.\n\n"
		 "Options:\n"
		 "  --kubeconfig FILE          credentials and server of the cluster\n"
		 "  --node-ip IP               the node's address (repeatable; default: the\n"
		 "                             source address of the default route)\n"
		 "  --cluster-cidr CIDR        the pod network: ClusterIP traffic from outside\n"
		 "                             it is masqueraded\n"
		 "  --no-localhost-nodeports   do not set route_localnet (127.0.0.1:NODEPORT)\n"
		 "  --cleanup                  remove berth's chains and jumps, then exit\n",
};
