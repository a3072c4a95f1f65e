/* cmd-agent.c - `berth agent`: the node agent in the foreground (the
 * kubelet).  Pods come from two sources, alone or together: static pods
 * from --pod-manifest-path (re-read on every change through inotify and
 * every --file-check-frequency) and an API server (--server URL --token T,
 * or --kubeconfig FILE): the agent registers its Node, renews its Lease and
 * runs the pods bound to it (src/agent/apisource.c).  One loop polls the
 * agent's wake fd (a child exited), the API source's (pod events waiting)
 * and inotify.  SIGTERM/SIGINT stop the agent and leave the pods running:
 * the next agent on the same --root adopts them (as the kubelet does across
 * restarts). */
#include "cli.h"
#include "../agent/agent.h"
#include "../agent/kubeletapi.h"
#include "../dns/dns.h"
#include "../proxy/proxy.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../base/memtrim.h"
#include "../base/parse.h"
#include "../shared/json.h"
#include "../shared/kube.h"
#include "../shared/yaml.h"
#include "version.h"
#include <ctype.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define AGENT_TRIM_QUIET_MS 3000

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Re-read the manifests; report bad files once per change. */
static void scan(Agent *a, const char *dir, char **last_bad)
{
	char *bad = NULL;
	Error *e = NULL;
	if (agent_static_sync(a, dir, &bad, &e) < 0) {
		if (!*last_bad || strcmp(*last_bad, err_msg(e)))
			log_warn("%s", err_msg(e));
		free(*last_bad);
		*last_bad = strdup(err_msg(e));
		err_free(e);
		return;
	}
	if (bad && (!*last_bad || strcmp(*last_bad, bad)))
		log_warn("static pods: %s", bad);
	free(*last_bad);
	*last_bad = bad;
}

/* Once the pods have been steady (nothing woke the loop, nothing in flight)
 * for a few seconds, give freed heap and clean library pages back
 * (base/memtrim.c); again only after the next busy stretch. */
static void idle_trim(int64_t *quiet_since, bool *trimmed, bool busy)
{
	int64_t now = mono_ms();
	if (busy) {
		*quiet_since = now;
		*trimmed = false;
	} else if (!*trimmed && now - *quiet_since >= AGENT_TRIM_QUIET_MS) {
		mem_trim();
		*trimmed = true;
	}
}

/* dir and api may each be NULL (not both). */
static int agent_loop(Agent *a, const char *dir, int64_t freq_ms, AgentApi *api)
{
	int ino = dir ? inotify_init1(IN_CLOEXEC | IN_NONBLOCK) : -1;
	if (ino >= 0)
		inotify_add_watch(ino, dir, IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_MODIFY);
	char *last_bad = NULL;
	int64_t next_scan = dir ? 0 : INT64_MAX, quiet_since = mono_ms();
	bool trimmed = false;
	while (!stop_requested) {
		int64_t now = mono_ms();
		if (dir && now >= next_scan) {
			scan(a, dir, &last_bad);
			next_scan = now + freq_ms;
		}
		if (api)
			agent_api_process(api);
		int t = agent_tick(a);
		now = mono_ms();
		if (next_scan - now < t)
			t = next_scan - now < 0 ? 0 : (int)(next_scan - now);
		struct pollfd fds[3] = { { .fd = agent_wake_fd(a), .events = POLLIN },
					 { .fd = ino, .events = POLLIN },
					 { .fd = api ? agent_api_fd(api) : -1, .events = POLLIN } };
		int ready = poll(fds, 3, t);
		if (ready > 0 && fds[1].revents) {
			char buf[4096];
			while (read(ino, buf, sizeof(buf)) > 0)
				;
			next_scan = 0;
		}
		idle_trim(&quiet_since, &trimmed, ready > 0 || t < 1000);
	}
	free(last_bad);
	if (ino >= 0)
		close(ino);
	return 0;
}

typedef struct ApiOpts {
	const char *server, *token, *kubeconfig, *ca_file, *node_ip, *pod_cidr, *labels, *taints, *cluster_cidr;
	bool insecure;
	int64_t token_refresh_ms, status_period_ms;
	int kubelet_port;
} ApiOpts;

/* A client from --kubeconfig, or from --server/--token/--ca-file. */
static int api_client(const ApiOpts *o, KubeClient **ret, Error **err)
{
	if (o->kubeconfig) {
		int r = kube_client_new_from_file(o->kubeconfig, ret, err);
		if (r >= 0 && o->server)
			kube_client_set_server(*ret, o->server);
		return r;
	}
	json_t *cluster = json_pack("{s:s}", "server", o->server);
	if (o->ca_file) {
		char *abs = realpath(o->ca_file, NULL);
		if (!abs) {
			json_decref(cluster);
			return err_sys(err, errno, "--ca-file '%s'", o->ca_file);
		}
		json_object_set_new(cluster, "certificate-authority", json_string(abs));
		free(abs);
	}
	if (o->insecure)
		json_object_set_new(cluster, "insecure-skip-tls-verify", json_true());
	_cleanup_json_ json_t *cfg = json_pack(
		"{s:s, s:s, s:s, s:[{s:s, s:{s:s, s:s}}], s:[{s:s, s:o}], s:[{s:s, s:{s:s}}]}", "apiVersion", "v1", "kind",
		"Config", "current-context", "agent", "contexts", "name", "agent", "context", "cluster", "agent", "user",
		"agent", "clusters", "name", "agent", "cluster", cluster, "users", "name", "agent", "user", "token",
		o->token);
	_cleanup_free_ char *text = json_dumps(cfg, JSON_COMPACT);
	return kube_client_new(text, ret, err);
}

/* The cluster CA (PEM, caller frees) from --ca-file or the kubeconfig's
 * current cluster (certificate-authority[-data]); NULL if none. */
static char *cluster_ca_pem(const ApiOpts *o)
{
	char *pem = NULL, *text = NULL;
	size_t len = 0;
	if (o->ca_file && !o->kubeconfig) {
		if (fs_read_file(o->ca_file, 1 << 20, &pem, &len, NULL) < 0)
			return NULL;
		return pem;
	}
	_cleanup_json_ json_t *cfg = NULL;
	if (!o->kubeconfig || fs_read_file(o->kubeconfig, 1 << 22, &text, &len, NULL) < 0)
		return NULL;
	int r = yaml_parse_buf(text, len, &cfg, NULL);
	free(text);
	if (r < 0)
		return NULL;
	const char *ctx_name = json_str(cfg, "current-context"), *cl_name = NULL;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(cfg, "contexts"), i, e)
		if (!ctx_name || !strcmp(json_str(e, "name") ?: "", ctx_name)) {
			cl_name = json_str(json_object_get(e, "context"), "cluster");
			break;
		}
	json_array_foreach(json_object_get(cfg, "clusters"), i, e) {
		if (cl_name && strcmp(json_str(e, "name") ?: "", cl_name))
			continue;
		const json_t *cl = json_object_get(e, "cluster");
		const char *b64 = json_str(cl, "certificate-authority-data"), *file = json_str(cl, "certificate-authority");
		if (b64) {
			size_t n = strlen(b64);
			pem = calloc(1, n / 4 * 3 + 4);
			if (pem && EVP_DecodeBlock((unsigned char *)pem, (const unsigned char *)b64, (int)n) < 0) {
				free(pem);
				pem = NULL;
			}
		} else if (file && fs_read_file(file, 1 << 20, &pem, &len, NULL) < 0) {
			pem = NULL;
		}
		break;
	}
	return pem;
}

/* The agent's HTTPS endpoint for the API server's `kubectl logs` / `exec`
 * relay, on the node's InternalIP; the Node advertises its port.  A node
 * without it still runs pods, so failures only warn. */
static KubeletApi *kubelet_api_open(const char *root, AgentNodeInfo *ni, int port, const char *ca)
{
	if (port < 0)
		return NULL;
	if (!ca || strchr(ni->ip, ':')) {
		log_warn("kubelet API not started (%s): kubectl logs/exec will not reach this node",
			 ca ? "an IPv6 node address" : "no cluster CA: give --ca-file");
		return NULL;
	}
	char listen[96];
	snprintf(listen, sizeof(listen), "%s:%d", ni->ip, port);
	KubeletApi *k = NULL;
	Error *e = NULL;
	if (kubelet_api_start(root, listen, ca, &k, &e) < 0) {
		log_warn("%s: kubectl logs/exec will not reach this node", err_msg(e));
		err_free(e);
		return NULL;
	}
	ni->kubelet_port = kubelet_api_port(k);
	return k;
}

/* An absolute form of a state root (the pods' paths are kept in their
 * state and handed to the runtime).  Caller frees. */
static char *abs_path(const char *path)
{
	if (!path || path[0] == '/')
		return path ? strdup(path) : NULL;
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return strdup(path);
	size_t n = strlen(path) + strlen(cwd) + 2;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "%s/%s", cwd, path);
	return out;
}

static char *default_node_name(void)
{
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	for (char *p = host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return strdup(host[0] ? host : "localhost");
}

static int node_info_fill(const ApiOpts *o, const char *name, const char *root, const char *server,
			  AgentNodeInfo *ni, Error **err)
{
	ni->name = strdup(name);
	ni->ip = o->node_ip ? strdup(o->node_ip) : agent_node_ip_detect(server);
	ni->pod_cidr = o->pod_cidr ? strdup(o->pod_cidr) : NULL;
	ni->runtime_version = strdup("berth://" BERTH_VERSION);
	ni->kubelet_version = strdup("v1.31.0-berth." BERTH_VERSION);
	int r = agent_labels_parse(o->labels, &ni->labels, err);
	if (r >= 0)
		r = agent_taints_parse(o->taints, &ni->taints, err);
	if (r < 0)
		return r;
	agent_node_info_detect(ni, root);
	return 0;
}

static int agent_run(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pod-manifest-path", required_argument, NULL, 'm' }, { "node-name", required_argument, NULL, 'n' },
		{ "root", required_argument, NULL, 'r' }, { "runroot", required_argument, NULL, 'R' },
		{ "file-check-frequency", required_argument, NULL, 'f' },
		{ "crash-backoff", required_argument, NULL, 'b' }, { "server", required_argument, NULL, 's' },
		{ "token", required_argument, NULL, 't' }, { "kubeconfig", required_argument, NULL, 'k' },
		{ "ca-file", required_argument, NULL, 'c' }, { "insecure-skip-tls-verify", no_argument, NULL, 'I' },
		{ "node-ip", required_argument, NULL, 'i' }, { "pod-cidr", required_argument, NULL, 'p' },
		{ "labels", required_argument, NULL, 'l' }, { "taints", required_argument, NULL, 'T' },
		{ "token-refresh", required_argument, NULL, 'x' }, { "kubelet-port", required_argument, NULL, 'P' },
		{ "cluster-dns", required_argument, NULL, 'D' }, { "cluster-domain", required_argument, NULL, 'O' },
		{ "proxy", no_argument, NULL, 'X' }, { "cluster-cidr", required_argument, NULL, 'C' },
		{ "node-status-update-frequency", required_argument, NULL, 'U' },
		{ "image-gc-high-threshold", required_argument, NULL, 1001 },
		{ "image-gc-low-threshold", required_argument, NULL, 1002 },
		{ "minimum-image-ttl-duration", required_argument, NULL, 1003 },
		{ "image-gc-period", required_argument, NULL, 1004 },
		{ "volume-refresh", required_argument, NULL, 1005 }, /* hidden: tests */
		{ NULL, 0, NULL, 0 },
	};
	if (cli_help_requested(&cmd_agent, argc, argv))
		return 0;
	AgentConfig cfg = { .root = cli->root, .runroot = cli->runroot, .image_gc_high_pct = 85, .image_gc_low_pct = 80,
			    .image_min_age_ms = 2 * 60 * 1000, .image_gc_period_ms = 5 * 60 * 1000 };
	ApiOpts ao = { .kubelet_port = 10250, .cluster_cidr = "10.42.0.0/16" };
	const char *manifests = NULL;
	int64_t freq_ms = 20000, volume_refresh_ms = 0;
	bool with_proxy = false;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'm': manifests = optarg; break;
		case 'n': cfg.node_name = optarg; break;
		case 'r': cfg.root = optarg; break;
		case 'R': cfg.runroot = optarg; break;
		case 'f':
			if (parse_duration_ms(optarg, &freq_ms) < 0 || freq_ms <= 0)
				return cli_usage_error(&cmd_agent, "--file-check-frequency: invalid duration '%s'", optarg);
			break;
		case 'b':
			if (parse_duration_ms(optarg, &cfg.backoff_base_ms) < 0 || cfg.backoff_base_ms <= 0)
				return cli_usage_error(&cmd_agent, "--crash-backoff: invalid duration '%s'", optarg);
			break;
		case 's': ao.server = optarg; break;
		case 't': ao.token = optarg; break;
		case 'k': ao.kubeconfig = optarg; break;
		case 'c': ao.ca_file = optarg; break;
		case 'I': ao.insecure = true; break;
		case 'i': ao.node_ip = optarg; break;
		case 'p': ao.pod_cidr = optarg; break;
		case 'C': ao.cluster_cidr = optarg; break;
		case 'U':
			if (parse_duration_ms(optarg, &ao.status_period_ms) < 0 || ao.status_period_ms <= 0)
				return cli_usage_error(&cmd_agent, "--node-status-update-frequency: invalid duration '%s'", optarg);
			break;
		case 'l': ao.labels = optarg; break;
		case 'T': ao.taints = optarg; break;
		case 'D': cfg.cluster_dns = optarg; cfg.resolv_conf = dns_pod_resolv_conf; break;
		case 'O': cfg.cluster_domain = optarg; break;
		case 'X': with_proxy = true; break;
		case 'P': {
			int64_t v;
			if (parse_int64(optarg, &v) < 0 || v < -1 || v > 65535)
				return cli_usage_error(&cmd_agent, "--kubelet-port: want 0..65535 or -1, not '%s'", optarg);
			ao.kubelet_port = (int)v;
			break;
		}
		case 1001:
		case 1002: {
			int64_t v;
			if (parse_int64(optarg, &v) < 0 || v < 0 || v > 100)
				return cli_usage_error(&cmd_agent, "--image-gc-%s-threshold: want a percentage 0..100, not '%s'",
						       c == 1001 ? "high" : "low", optarg);
			*(c == 1001 ? &cfg.image_gc_high_pct : &cfg.image_gc_low_pct) = (int)v;
			break;
		}
		case 1003:
			if (parse_duration_ms(optarg, &cfg.image_min_age_ms) < 0 || cfg.image_min_age_ms < 0)
				return cli_usage_error(&cmd_agent, "--minimum-image-ttl-duration: invalid duration '%s'", optarg);
			break;
		case 1004:
			if (parse_duration_ms(optarg, &cfg.image_gc_period_ms) < 0 || cfg.image_gc_period_ms <= 0)
				return cli_usage_error(&cmd_agent, "--image-gc-period: invalid duration '%s'", optarg);
			break;
		case 1005:
			if (parse_duration_ms(optarg, &volume_refresh_ms) < 0 || volume_refresh_ms <= 0)
				return cli_usage_error(&cmd_agent, "--volume-refresh: invalid duration '%s'", optarg);
			break;
		case 'x':
			if (parse_duration_ms(optarg, &ao.token_refresh_ms) < 0 || ao.token_refresh_ms <= 0)
				return cli_usage_error(&cmd_agent, "--token-refresh: invalid duration '%s'", optarg);
			break;
		default: return cli_usage_error(&cmd_agent, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd_agent, "unexpected argument '%s'", argv[optind]);
	if (cfg.image_gc_low_pct > cfg.image_gc_high_pct)
		return cli_usage_error(&cmd_agent, "--image-gc-low-threshold (%d) must not exceed --image-gc-high-threshold (%d)",
				       cfg.image_gc_low_pct, cfg.image_gc_high_pct);
	bool api_mode = ao.server || ao.kubeconfig;
	if (ao.server && !ao.kubeconfig && !ao.token)
		return cli_usage_error(&cmd_agent, "--server needs --token (or use --kubeconfig)");
	if (!api_mode && (ao.token || ao.ca_file || ao.insecure))
		return cli_usage_error(&cmd_agent, "--token/--ca-file need --server");
	if (!manifests && !api_mode)
		return cli_usage_error(&cmd_agent, "nothing to run: give --pod-manifest-path DIR and/or --server URL");
	if (with_proxy && !api_mode)
		return cli_usage_error(&cmd_agent, "--proxy needs --server or --kubeconfig");
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (log_get_level() < LOG_INFO_)
		log_set_level(LOG_INFO_);
	_cleanup_free_ char *node_name = cfg.node_name ? strdup(cfg.node_name) : default_node_name();
	cfg.node_name = node_name;
	_cleanup_free_ char *root = abs_path(cfg.root), *runroot = abs_path(cfg.runroot);
	cfg.root = root;
	cfg.runroot = runroot;
	Error *err = NULL;
	_cleanup_(kube_client_freep) KubeClient *kc = NULL;
	AgentNodeInfo ni = { 0 };
	AgentApi *api = NULL;
	KubeletApi *kapi = NULL;
	AgentPodNet *podnet = NULL;
	_cleanup_(kube_client_freep) KubeClient *pkc = NULL;
	Proxy *proxy = NULL;
	if (api_mode) {
		if (api_client(&ao, &kc, &err) < 0 ||
		    node_info_fill(&ao, node_name, cfg.root, kube_client_server(kc), &ni, &err) < 0) {
			agent_node_info_release(&ni);
			return cli_fail_err(err, EXIT_BERTH);
		}
		_cleanup_free_ char *ca = cluster_ca_pem(&ao);
		kapi = kubelet_api_open(root, &ni, ao.kubelet_port, ca);
		api = agent_api_new(kc, &ni);
		agent_api_set_root_ca(api, ca, NULL);
		agent_api_set_token_refresh(api, ao.token_refresh_ms);
		agent_api_set_volume_refresh(api, volume_refresh_ms);
		agent_api_set_status_period(api, ao.status_period_ms);
		agent_api_hook(api, &cfg);
		/* the node's pod network: its podCIDR, routes to the other nodes' */
		if (agent_podnet_start(kc, &ni, ao.cluster_cidr, &podnet, &err) < 0) {
			agent_api_free(api, 0);
			kubelet_api_stop(kapi);
			agent_node_info_release(&ni);
			return cli_fail_err(err, EXIT_BERTH);
		}
		/* the service proxy in this process (its own client: its threads) */
		if (with_proxy && (api_client(&ao, &pkc, &err) < 0 || proxy_start(pkc, &(ProxyOptions){ .localhost_nodeports = true },
										  &proxy, &err) < 0)) {
			agent_api_free(api, 1000);
			kubelet_api_stop(kapi);
			agent_node_info_release(&ni);
			return cli_fail_err(err, EXIT_BERTH);
		}
	}
	Agent *a = NULL;
	int rc = 0;
	if (agent_new(&cfg, &a, &err) < 0 || (api && agent_api_start(api, a, &err) < 0)) {
		rc = cli_fail_err(err, EXIT_BERTH);
	} else {
		agent_loop(a, manifests, freq_ms, api);
	}
	agent_api_free(api, 1000);
	agent_podnet_stop(podnet);
	proxy_stop(proxy);
	kubelet_api_stop(kapi);
	agent_free(a);
	agent_node_info_release(&ni);
	return rc;
}

const CliCommand cmd_agent = {
	.name = "agent",
	.run = agent_run,
	.summary = "Run the node agent (static pods and/or pods from an API server)",
	.usage = "Usage: berth agent [--pod-manifest-path DIR] [--server URL --token T | --kubeconfig FILE]\n"
		 "                   [--node-name NAME] [--root DIR] [--runroot DIR] [options]\n\n"
		 "Run Kubernetes pods on this node as the kubelet does.  Static pods: every file in\n"
		 "DIR holds one Pod (YAML or JSON); pods start when their file appears and stop\n"
		 "gracefully when it is removed.  API server: the agent registers the Node (Ready,\n"
		 "capacity, addresses), renews its Lease in kube-node-lease, runs the pods bound to\n"
		 "it (spec.nodeName), reports their status and Events, and finishes their deletion.\n"
		 "Status: ROOT/pods/<ns>_<name>_<uid>/status.json; logs next to it.\n"
		 "Stopping the agent leaves the pods running; the next agent adopts them.\n\n"
		 "Options:\n"
		 "  --pod-manifest-path DIR     static pod manifests\n"
		 "  --server URL, --token T     the API server and a bearer token\n"
		 "  --kubeconfig FILE           the API server from a kubeconfig instead\n"
		 "  --ca-file FILE              the server's CA (e.g. DATA/tls/ca.crt)\n"
		 "  --insecure-skip-tls-verify  do not verify the server's certificate\n"
		 "  --node-name NAME            the node's name (default: the hostname)\n"
		 "  --node-ip IP                the node's InternalIP (default: the route to the server)\n"
		 "  --pod-cidr CIDR             spec.podCIDR of the Node: its pods' addresses\n"
		 "                              (default: the one the server allocates)\n"
		 "  --cluster-cidr CIDR         every node's pods (default 10.42.0.0/16): traffic\n"
		 "                              leaving it is masqueraded\n"
		 "  --node-status-update-frequency D  node status and Lease renewal (default 10s)\n"
		 "  --labels k=v,...            extra Node labels\n"
		 "  --taints k=v:Effect,...     Node taints (NoSchedule, PreferNoSchedule, NoExecute)\n"
		 "  --kubelet-port N            the endpoint `kubectl logs/exec` reach, on the node IP\n"
		 "                              (default 10250; 0: any free port; -1: none)\n"
		 "  --cluster-dns IP            pods with dnsPolicy ClusterFirst resolve through IP\n"
		 "                              (default: none, the host's resolvers)\n"
		 "  --cluster-domain D          the cluster domain of their search path (cluster.local)\n"
		 "  --proxy                     run the service proxy (`berth proxy`) in the agent\n"
		 "  --token-refresh D           rewrite pods' ServiceAccount tokens this often\n"
		 "                              (default: at 80% of their lifetime)\n"
		 "  --root DIR, --runroot DIR   state roots (as the global options)\n"
		 "  --file-check-frequency D    re-read DIR this often besides on changes (default 20s)\n"
		 "  --crash-backoff D           first restart back-off (default 10s, doubling to 30x)\n"
		 "  --image-gc-high-threshold P remove unused images when the image filesystem is\n"
		 "                              over P% full (default 85; 100: never)\n"
		 "  --image-gc-low-threshold P  ... until it is below P% (default 80)\n"
		 "  --minimum-image-ttl-duration D  keep an unused image at least D (default 2m)\n"
		 "  --image-gc-period D         check the image filesystem this often (default 5m)\n",
};
