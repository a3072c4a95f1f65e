/* cmd-dns.c - `berth dns`: the cluster DNS server against the API server of
 * a kubeconfig.  Runs until SIGINT/SIGTERM. */
#include "cli.h"
#include "daemon.h"
#include "../dns/dns.h"
#include "../base/log.h"
#include <getopt.h>
#include <stdlib.h>

#define MAX_UPSTREAMS 3

static int dns_cmd(Cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option opts[] = { { "kubeconfig", required_argument, NULL, 'k' },
					      { "listen", required_argument, NULL, 'l' },
					      { "cluster-domain", required_argument, NULL, 'd' },
					      { "resolv-conf", required_argument, NULL, 'r' },
					      { "upstream", required_argument, NULL, 'u' },
					      { NULL, 0, NULL, 0 } };
	const char *kubeconfig = getenv("KUBECONFIG");
	char *ups[MAX_UPSTREAMS + 1] = { 0 };
	int nups = 0;
	DnsOptions o = { .listen = "127.0.0.1:53", .domain = "cluster.local" };
	if (cli_help_requested(&cmd_dns, argc, argv))
		return 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kubeconfig = optarg; break;
		case 'l': o.listen = optarg; break;
		case 'd': o.domain = optarg; break;
		case 'r': o.resolv_conf = optarg; break;
		case 'u':
			if (nups == MAX_UPSTREAMS)
				return cli_usage_error(&cmd_dns, "at most %d --upstream", MAX_UPSTREAMS);
			ups[nups++] = optarg;
			break;
		default: return cli_usage_error(&cmd_dns, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd_dns, "unexpected argument '%s'", argv[optind]);
	o.upstreams = nups ? ups : NULL;
	Error *err = NULL;
	KubeClient *kc = NULL;
	DnsServer *s = NULL;
	int rc = cli_daemon_client(&cmd_dns, kubeconfig, &kc);
	if (rc)
		return rc;
	cli_daemon_init();
	if (dns_start(kc, &o, &s, &err) < 0) {
		kube_client_free(kc);
		return cli_fail_err(err, EXIT_BERTH);
	}
	cli_daemon_wait();
	dns_stop(s);
	kube_client_free(kc);
	return 0;
}

const CliCommand cmd_dns = {
	.name = "dns",
	.run = dns_cmd,
	.summary = "Run the cluster DNS server against a Kubernetes API server",
	.usage = "Usage: berth dns [--kubeconfig FILE] [--listen IP:PORT] [--cluster-domain D]\n"
		 "                 [--resolv-conf FILE | --upstream IP[:PORT]...]\n\n"
		 "Answer SVC.NS.svc.D (A), _port._proto.SVC.NS.svc.D (SRV) and\n"
		 "HOST.SVC.NS.svc.D from the cluster's Services and EndpointSlices, over UDP\n"
		 "and TCP; forward every other name to the upstream resolvers.\n\n"
		 "Options:\n"
		 "  --kubeconfig FILE      credentials and server of the cluster\n"
		 "  --listen IP:PORT       address to serve on (default 127.0.0.1:53)\n"
		 "  --cluster-domain D     the cluster domain (default cluster.local)\n"
		 "  --resolv-conf FILE     upstreams from FILE's nameserver lines (default\n"
		 "                         /etc/resolv.conf)\n"
		 "  --upstream IP[:PORT]   forward to this resolver instead (repeatable)\n",
};
