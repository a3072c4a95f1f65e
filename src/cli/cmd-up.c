/* cmd-up.c - `berth up`: the single-node cluster on the embedded defaults
 * (k3s' `server` with its agent).  One supervising process starts, as its
 * own children, the API server (with the scheduler and the controllers
 * in-process), the node agent joined with the admin kubeconfig (running
 * the service proxy in-process: `--proxy`, and writing pods' resolv.conf
 * for the cluster DNS), and the image registry on 127.0.0.1:5000; it stops
 * them in reverse order on SIGINT/SIGTERM and brings the whole cluster
 * down if one of them dies, so a failure is never half-hidden.  The
 * cluster DNS runs in this supervising process itself (it idles anyway):
 * on the node address pods reach, published as the Service
 * kube-system/kube-dns (the 10th address of the service CIDR, as k3s) with
 * Endpoints naming that address.  Separate processes keep each component
 * exactly what it is when run alone (`berth server`, `berth agent`, ...). */
#include "cli.h"
#include "../base/cleanup.h"
#include "../base/log.h"
#include "../base/memtrim.h"
#include "../base/strbuf.h"
#include "../agent/agent.h"
#include "../dns/dns.h"
#include "../shared/json.h"
#include "../shared/kube.h"
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UP_MAX_CHILDREN 6
#define UP_READY_TIMEOUT_MS 60000

typedef struct UpChild {
	const char *name;
	pid_t pid;
} UpChild;

typedef struct UpOptions {
	const char *data_dir, *listen, *node_name, *registry_listen, *service_cidr, *datastore;
	const char *dns_listen, *domain;
	bool no_registry;
} UpOptions;

static volatile sig_atomic_t up_stop_signal;

static void up_on_signal(int sig)
{
	up_stop_signal = sig;
}

static int64_t up_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start `berth [--root R] [--runroot RR] REST...` (REST NULL-terminated);
 * the child gets an empty signal mask.  Returns its pid or -1. */
static pid_t up_spawn(const Cli *cli, const char *const *rest)
{
	const char *argv[32];
	size_t n = 0;
	argv[n++] = cli->self;
	if (cli->root) {
		argv[n++] = "--root";
		argv[n++] = cli->root;
	}
	if (cli->runroot) {
		argv[n++] = "--runroot";
		argv[n++] = cli->runroot;
	}
	for (size_t i = 0; rest[i] && n < 31; i++)
		argv[n++] = rest[i];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(cli->self, (char **)argv);
		_exit(127);
	}
	return pid;
}

/* The listen address as a TCP connect target (0.0.0.0 / [::] -> loopback). */
static bool up_port_answers(const char *listen)
{
	const char *colon = strrchr(listen, ':');
	if (!colon)
		return false;
	char host[64];
	size_t hl = (size_t)(colon - listen);
	if (hl >= sizeof(host))
		return false;
	memcpy(host, listen, hl);
	host[hl] = 0;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1)) };
	if (!strcmp(host, "0.0.0.0") || !*host || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Wait for the server's kubeconfig and port; false if the server died or
 * the time ran out (*why says which). */
static bool up_wait_server(const UpOptions *o, pid_t server, const char *kubeconfig, const char **why)
{
	int64_t deadline = up_now_ms() + UP_READY_TIMEOUT_MS;
	while (up_now_ms() < deadline && !up_stop_signal) {
		int st;
		if (waitpid(server, &st, WNOHANG) == server) {
			*why = "the API server exited during start-up";
			return false;
		}
		struct stat sb;
		if (stat(kubeconfig, &sb) == 0 && up_port_answers(o->listen))
			return true;
		usleep(50 * 1000);
	}
	*why = up_stop_signal ? "interrupted" : "the API server did not answer within 60 s";
	return false;
}

static void up_stop_children(UpChild *kids, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		if (kids[i].pid <= 0)
			continue;
		kill(kids[i].pid, SIGTERM);
		int64_t deadline = up_now_ms() + 30000;
		int st;
		while (waitpid(kids[i].pid, &st, WNOHANG) == 0) {
			if (up_now_ms() > deadline) {
				log_warn("up: %s (pid %d) did not stop within 30 s: killing it", kids[i].name,
					 (int)kids[i].pid);
				kill(kids[i].pid, SIGKILL);
				waitpid(kids[i].pid, &st, 0);
				break;
			}
			usleep(20 * 1000);
		}
		kids[i].pid = 0;
	}
}

/* Block until a signal asks us to stop (returns 0) or a child exits on its
 * own (returns its index + 1). */
static size_t up_wait_any(UpChild *kids, size_t n, int *status)
{
	while (!up_stop_signal) {
		pid_t p = waitpid(-1, status, 0);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		for (size_t i = 0; i < n; i++)
			if (kids[i].pid == p) {
				kids[i].pid = 0;
				return i + 1;
			}
	}
	return 0;
}

/* The 10th address of the service CIDR (10.43.0.10 for 10.43.0.0/16): the
 * cluster DNS ClusterIP, as k3s picks it.  -EINVAL unless an IPv4 CIDR with
 * room for it. */
static int up_cluster_dns_ip(const char *cidr, char out[INET_ADDRSTRLEN])
{
	char base[INET_ADDRSTRLEN];
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	struct in_addr a;
	if (n >= sizeof(base))
		return -EINVAL;
	memcpy(base, cidr, n);
	base[n] = 0;
	int prefix = slash ? atoi(slash + 1) : 32;
	if (inet_pton(AF_INET, base, &a) != 1 || prefix < 1 || prefix > 28)
		return -EINVAL;
	a.s_addr = htonl((ntohl(a.s_addr) & (0xffffffffu << (32 - prefix))) + 10);
	return inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN) ? 0 : -EINVAL;
}

/* POST obj to path; if it exists: keep it (replace: PUT it over the stored
 * one with that resourceVersion). */
static int up_ensure(KubeClient *kc, const char *path, const char *name, json_t *obj, bool replace, Error **err)
{
	int r = kube_post(kc, path, obj, NULL, err);
	if (r != -EEXIST)
		return r;
	err_free(*err);
	*err = NULL;
	if (!replace)
		return 0;
	_cleanup_free_ char *item = xasprintf("%s/%s", path, name);
	_cleanup_json_ json_t *cur = NULL;
	if ((r = kube_get(kc, item, &cur, err)) < 0)
		return r;
	json_object_set(json_object_get(obj, "metadata"), "resourceVersion",
			json_object_get(json_object_get(cur, "metadata"), "resourceVersion"));
	return kube_put(kc, item, obj, NULL, err);
}

/* The Service kube-system/kube-dns (clusterIP dns_ip, no selector: ports
 * dns 53/UDP, dns-tcp 53/TCP, metrics 9153/TCP) and its Endpoints naming
 * the DNS server at addr:port; the endpoint slice mirroring makes them
 * what the proxy routes.  An existing Service is kept, Endpoints replaced. */
static int up_publish_dns(KubeClient *kc, const char *dns_ip, const char *addr, int port, Error **err)
{
	_cleanup_json_ json_t *svc = json_pack(
		"{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s}}, s:{s:s, s:[s], s:["
		"{s:s, s:i, s:s, s:i}, {s:s, s:i, s:s, s:i}, {s:s, s:i, s:s, s:i}]}}",
		"apiVersion", "v1", "kind", "Service", "metadata", "name", "kube-dns", "namespace", "kube-system",
		"labels", "k8s-app", "kube-dns", "kubernetes.io/cluster-service", "true", "kubernetes.io/name", "CoreDNS",
		"spec", "clusterIP", dns_ip, "clusterIPs", dns_ip, "ports", "name", "dns", "port", 53, "protocol", "UDP",
		"targetPort", port, "name", "dns-tcp", "port", 53, "protocol", "TCP", "targetPort", port, "name", "metrics",
		"port", 9153, "protocol", "TCP", "targetPort", 9153);
	_cleanup_json_ json_t *eps = json_pack(
		"{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:[{s:[{s:s}], s:[{s:s, s:i, s:s}, {s:s, s:i, s:s}]}]}", "apiVersion",
		"v1", "kind", "Endpoints", "metadata", "name", "kube-dns", "namespace", "kube-system", "labels", "k8s-app",
		"kube-dns", "subsets", "addresses", "ip", addr, "ports", "name", "dns", "port", port, "protocol", "UDP",
		"name", "dns-tcp", "port", port, "protocol", "TCP");
	int r = up_ensure(kc, "/api/v1/namespaces/kube-system/services", "kube-dns", svc, false, err);
	if (r >= 0)
		r = up_ensure(kc, "/api/v1/namespaces/kube-system/endpoints", "kube-dns", eps, true, err);
	return r < 0 ? err_prefix(err, "kube-system/kube-dns"), r : 0;
}

/* Start the cluster DNS on o->dns_listen (default: this node's address,
 * port 53) and publish it as kube-dns.  *ret_kc / *ret_dns for stopping. */
static int up_start_dns(const UpOptions *o, const char *kubeconfig, const char *dns_ip, KubeClient **ret_kc,
			DnsServer **ret_dns, Error **err)
{
	_cleanup_free_ char *node_ip = agent_node_ip_detect("8.8.8.8:53");
	_cleanup_free_ char *listen = o->dns_listen ? xstrdup(o->dns_listen) : xasprintf("%s:53", node_ip);
	const char *colon = strrchr(listen, ':');
	if (!colon)
		return err_set(err, EINVAL, "--dns-listen: expected IP:PORT, got '%s'", listen);
	_cleanup_free_ char *host = strndup(listen, (size_t)(colon - listen));
	if (!strcmp(host, "0.0.0.0") || !*host) {
		free(host);
		host = xstrdup(node_ip);
	}
	if (!strncmp(host, "127.", 4))
		log_warn("up: the cluster DNS listens on %s: pods cannot reach it (no non-loopback address)", host);
	int r = kube_client_new_from_file(kubeconfig, ret_kc, err);
	if (r >= 0)
		r = dns_start(*ret_kc, &(DnsOptions){ .listen = listen, .domain = o->domain }, ret_dns, err);
	if (r == -EADDRINUSE && !o->dns_listen) {
		/* port 53 taken (another resolver, another cluster): any port
		 * does, pods reach it through the Service's 53 */
		log_warn("up: %s; the cluster DNS takes a free port instead", err_msg(*err));
		err_free(*err);
		*err = NULL;
		free(listen);
		listen = xasprintf("%s:0", host);
		r = dns_start(*ret_kc, &(DnsOptions){ .listen = listen, .domain = o->domain }, ret_dns, err);
	}
	if (r >= 0)
		r = up_publish_dns(*ret_kc, dns_ip, host, dns_port(*ret_dns), err);
	if (r >= 0)
		log_info("up: cluster DNS %s on %s:%d (%s)", dns_ip, host, dns_port(*ret_dns), o->domain);
	return r;
}

/* The agent's kubelet port: 10250 unless something (another cluster on this
 * machine) holds it on the node address, then any free one (the Node
 * advertises the port it got, so kubectl logs/exec still reach it). */
static const char *up_kubelet_port(const UpOptions *o)
{
	_cleanup_free_ char *ip = agent_node_ip_detect(o->listen);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(10250) };
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return "10250";
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool busy = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == EADDRINUSE;
	if (fd >= 0)
		close(fd);
	if (busy)
		log_warn("up: %s:10250 is taken: the agent's kubelet endpoint takes a free port", ip);
	return busy ? "0" : "10250";
}

static int up_parse(int argc, char **argv, UpOptions *o)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' }, { "listen", required_argument, NULL, 'l' },
		{ "node-name", required_argument, NULL, 'n' }, { "registry-listen", required_argument, NULL, 'r' },
		{ "no-registry", no_argument, NULL, 'R' }, { "service-cidr", required_argument, NULL, 'c' },
		{ "datastore", required_argument, NULL, 's' }, { "dns-listen", required_argument, NULL, 'D' },
		{ "cluster-domain", required_argument, NULL, 'O' }, { NULL, 0, NULL, 0 },
	};
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'd': o->data_dir = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'n': o->node_name = optarg; break;
		case 'r': o->registry_listen = optarg; break;
		case 'R': o->no_registry = true; break;
		case 'c': o->service_cidr = optarg; break;
		case 's': o->datastore = optarg; break;
		case 'D': o->dns_listen = optarg; break;
		case 'O': o->domain = optarg; break;
		default: return cli_usage_error(&cmd_up, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd_up, "unexpected argument '%s'", argv[optind]);
	if (!strrchr(o->listen, ':'))
		return cli_usage_error(&cmd_up, "--listen: expected HOST:PORT, got '%s'", o->listen);
	return 0;
}

static int up_run(Cli *cli, int argc, char **argv)
{
	UpOptions o = { .data_dir = "/var/lib/berth/server", .listen = "127.0.0.1:6443",
			.registry_listen = "127.0.0.1:5000", .service_cidr = "10.43.0.0/16", .domain = "cluster.local" };
	if (cli_help_requested(&cmd_up, argc, argv))
		return 0;
	int r = up_parse(argc, argv, &o);
	if (r)
		return r;
	char dns_ip[INET_ADDRSTRLEN];
	if (up_cluster_dns_ip(o.service_cidr, dns_ip) < 0)
		return cli_usage_error(&cmd_up, "--service-cidr: want an IPv4 CIDR of /28 or wider, got '%s'",
				       o.service_cidr);
	struct sigaction sa = { .sa_handler = up_on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (log_get_level() < LOG_INFO_)
		log_set_level(LOG_INFO_);

	UpChild kids[UP_MAX_CHILDREN] = { { 0 } };
	size_t n = 0;
	_cleanup_free_ char *kubeconfig = NULL;
	if (asprintf(&kubeconfig, "%s/kubeconfig.yaml", o.data_dir) < 0)
		return cli_fail("out of memory");

	const char *server_argv[] = { "server", "--data-dir", o.data_dir, "--listen", o.listen,
				      "--service-cidr", o.service_cidr,
				      o.datastore ? "--datastore" : NULL, o.datastore, NULL };
	kids[n] = (UpChild){ "server", up_spawn(cli, server_argv) };
	if (kids[n++].pid < 0)
		return cli_fail("up: cannot start the API server: %s", strerror(errno));
	const char *why = NULL;
	if (!up_wait_server(&o, kids[0].pid, kubeconfig, &why)) {
		if (!strcmp(why, "the API server exited during start-up"))
			kids[0].pid = 0;
		up_stop_children(kids, n);
		return up_stop_signal ? 0 : cli_fail("up: %s (see its messages above)", why);
	}
	_cleanup_(kube_client_freep) KubeClient *kc = NULL;
	DnsServer *dns = NULL;
	Error *err = NULL;
	if (up_start_dns(&o, kubeconfig, dns_ip, &kc, &dns, &err) < 0) {
		dns_stop(dns);
		up_stop_children(kids, n);
		return cli_fail_err(err, EXIT_BERTH);
	}
	if (!o.no_registry) {
		const char *reg_argv[] = { "registry", "serve", "--addr", o.registry_listen, NULL };
		kids[n] = (UpChild){ "registry", up_spawn(cli, reg_argv) };
		n++;
	}
	const char *agent_argv[] = { "agent", "--kubeconfig", kubeconfig,
				     "--labels", "node-role.kubernetes.io/control-plane=true,node-role.kubernetes.io/master=true,"
				     "berth.dev/control-plane-node=true",
				     "--proxy", "--cluster-dns", dns_ip, "--cluster-domain", o.domain,
				     "--kubelet-port", up_kubelet_port(&o),
				     o.node_name ? "--node-name" : NULL, o.node_name, NULL };
	kids[n] = (UpChild){ "agent", up_spawn(cli, agent_argv) };
	n++;
	log_info("up: cluster running (API https://%s, kubeconfig %s)", o.listen, kubeconfig);
	mem_trim(); /* this process now only waits (and answers DNS) */

	int st = 0;
	size_t died = up_wait_any(kids, n, &st);
	int rc = 0;
	if (died) {
		const UpChild *k = &kids[died - 1];
		if (WIFEXITED(st))
			rc = cli_fail("up: the %s exited with status %d; stopping the cluster", k->name, WEXITSTATUS(st));
		else
			rc = cli_fail("up: the %s was killed by signal %d; stopping the cluster", k->name,
				      WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	}
	up_stop_children(kids, n);
	dns_stop(dns);
	return rc;
}

const CliCommand cmd_up = {
	.name = "up",
	.run = up_run,
	.summary = "Run a single-node cluster: API server, scheduler, controllers, agent, registry",
	.usage = "Usage: berth up [--data-dir DIR] [--listen HOST:PORT] [--node-name NAME]\n"
		 "                [--registry-listen HOST:PORT | --no-registry] [--service-cidr CIDR]\n"
		 "                [--datastore SPEC] [--dns-listen IP:PORT] [--cluster-domain D]\n\n"
		 "Start the whole cluster on this machine: the Kubernetes API server (with the\n"
		 "scheduler and the workload controllers), the node agent registered as this\n"
		 "machine's Node (labelled node-role.kubernetes.io/control-plane), and the image\n"
		 "registry; the agent runs the service proxy (iptables), and the cluster DNS\n"
		 "answers as Service kube-system/kube-dns on the 10th address of the service\n"
		 "CIDR (10.43.0.10), which pods with dnsPolicy ClusterFirst use.\n"
		 "kubectl uses DATA/kubeconfig.yaml (or 'berth kubeconfig').  Another\n"
		 "machine joins with 'berth agent --server URL --token T' (see 'berth token create').\n"
		 "SIGINT/SIGTERM stop every component; the pods keep their state on disk and\n"
		 "are adopted by the next agent.\n\n"
		 "Options:\n"
		 "  --data-dir DIR             the server's state (default /var/lib/berth/server)\n"
		 "  --listen HOST:PORT         the API address (default 127.0.0.1:6443)\n"
		 "  --node-name NAME           this node's name (default: the hostname)\n"
		 "  --registry-listen ADDR     the registry's address (default 127.0.0.1:5000)\n"
		 "  --no-registry              do not run the registry\n"
		 "  --service-cidr CIDR        ClusterIP range (default 10.43.0.0/16)\n"
		 "  --datastore SPEC           sqlite:PATH (default) or etcd:http://HOST:2379\n"
		 "  --dns-listen IP:PORT       the cluster DNS's address (default: this node's\n"
		 "                             address, the source of the default route, port 53)\n"
		 "  --cluster-domain D         the cluster domain (default cluster.local)\n",
};
