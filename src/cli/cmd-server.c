/* cmd-server.c - `berth server`: the cluster API server in the foreground
 * (k3s' `server`).  Options map one to one onto ApiServerConfig; SIGINT and
 * SIGTERM stop it cleanly. */
#include "cli.h"
#include "../apiserver/apiserver.h"
#include "../apiserver/local.h"
#include "../apiserver/local-kube.h"
#include "../controller/controller.h"
#include "../scheduler/scheduler.h"
#include "../base/log.h"
#include "../base/parse.h"
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_DATA_DIR "/var/lib/berth/server"

static void on_signal(int sig)
{
	(void)sig;
	apiserver_stop();
}

static int server_run(Cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' }, { "listen", required_argument, NULL, 'l' },
		{ "datastore", required_argument, NULL, 's' }, { "service-cidr", required_argument, NULL, 'c' },
		{ "token-file", required_argument, NULL, 't' }, { "disable-controllers", no_argument, NULL, 'C' },
		{ "disable-scheduler", no_argument, NULL, 'S' },
		{ "cluster-cidr", required_argument, NULL, 'P' }, { "node-monitor-grace-period", required_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	ApiServerConfig cfg = { .data_dir = DEFAULT_DATA_DIR, .listen = "127.0.0.1:6443",
				.service_cidr = "10.43.0.0/16" };
	if (cli_help_requested(&cmd_server, argc, argv))
		return 0;
	optind = 1;
	int c;
	bool no_controllers = false, no_scheduler = false;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'd': cfg.data_dir = optarg; break;
		case 'l': cfg.listen = optarg; break;
		case 's': cfg.datastore = optarg; break;
		case 'c': cfg.service_cidr = optarg; break;
		case 't': cfg.token_file = optarg; break;
		case 'C': no_controllers = true; break;
		case 'S': no_scheduler = true; break;
		case 'P':
			if (controller_set_cluster_cidr(optarg) < 0)
				return cli_usage_error(&cmd_server, "--cluster-cidr: want an IPv4 CIDR of /24 or larger, not '%s'", optarg);
			break;
		case 'G': {
			int64_t ms;
			if (parse_duration_ms(optarg, &ms) < 0 || ms <= 0)
				return cli_usage_error(&cmd_server, "--node-monitor-grace-period: invalid duration '%s'", optarg);
			controller_set_node_grace_ms(ms);
			break;
		}
		default: return cli_usage_error(&cmd_server, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd_server, "unexpected argument '%s'", argv[optind]);
	if (cfg.datastore && strncmp(cfg.datastore, "sqlite:", 7) && strncmp(cfg.datastore, "etcd:", 5))
		return cli_usage_error(&cmd_server, "--datastore: expected sqlite:PATH or etcd:http://HOST:PORT[,...]");
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (log_get_level() < LOG_INFO_)
		log_set_level(LOG_INFO_);
	/* Two malloc arenas, not one per busy thread (connections, informers,
	 * binders, workers): each arena kept its own fragments resident (~1-3 MB
	 * of PSS with 100 pods under `berth up`; bench/apiserver.sh unchanged). */
	mallopt(M_ARENA_MAX, 2);
	/* the controllers, the scheduler and their informers reach this server
	 * in-process, not over loopback TLS (apiserver/local-kube.h) */
	kube_set_local_transport(&apiserver_kube_transport, NULL);
	Error *err = NULL;
	ControllerManager *controllers = NULL;  /* in-process, over loopback once /readyz answers */
	if (!no_controllers && controller_manager_start_when_ready(cfg.data_dir, cfg.listen, &controllers, &err) < 0)
		return cli_fail_err(err, EXIT_BERTH);
	Scheduler *scheduler = NULL;  /* in-process too */
	if (!no_scheduler && scheduler_start_when_ready(cfg.data_dir, cfg.listen, &scheduler, &err) < 0)
		return cli_fail_err(err, EXIT_BERTH);
	scheduler_set_local(scheduler, apiserver_local_request); /* bindings and Events without HTTP */
	int r = apiserver_run(&cfg, &err);
	scheduler_stop(scheduler);
	controller_manager_stop(controllers);
	if (r < 0)
		return cli_fail_err(err, EXIT_BERTH);
	return 0;
}

const CliCommand cmd_server = {
	.name = "server",
	.run = server_run,
	.summary = "Run the cluster API server (Kubernetes API for kubectl)",
	.usage = "Usage: berth server [--data-dir DIR] [--listen 127.0.0.1:6443] [--datastore SPEC]\n"
		 "                    [--service-cidr CIDR] [--token-file FILE] [--disable-controllers]\n"
		 "                    [--disable-scheduler]\n\n"
		 "Serve the Kubernetes API over HTTPS.  The first start creates a CA, a serving\n"
		 "certificate and admin credentials in the data dir and writes DATA/kubeconfig.yaml\n"
		 "(print it with 'berth kubeconfig').\n\n"
		 "Options:\n"
		 "  --data-dir DIR       state, certificates, kubeconfig (default " DEFAULT_DATA_DIR ")\n"
		 "  --listen HOST:PORT   address to serve on (default 127.0.0.1:6443)\n"
		 "  --datastore SPEC     sqlite:PATH (default DATA/state.db) or\n"
		 "                       etcd:http://HOST:2379[,http://HOST2:2379...] (etcd v3)\n"
		 "  --service-cidr CIDR  ClusterIP range (default 10.43.0.0/16)\n"
		 "  --token-file FILE    extra bearer tokens, lines of token,user,uid[,groups]\n"
		 "  --disable-controllers  do not run the workload controllers in-process\n"
		 "  --disable-scheduler  do not run the scheduler in-process\n"
		 "  --cluster-cidr CIDR  nodes' podCIDRs, a /24 each (default 10.42.0.0/16)\n"
		 "  --node-monitor-grace-period D  a silent node turns Unknown after D (default 40s)\n",
};
