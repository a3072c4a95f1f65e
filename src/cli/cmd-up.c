/* cmd-up.c - `berth up`: the single-node cluster on the embedded defaults
 * (k3s' `server` with its agent).  One supervising process starts, as its
 * own children, the API server (with the scheduler and the controllers
 * in-process), the node agent joined with the admin kubeconfig, and the
 * image registry on 127.0.0.1:5000; it stops them in reverse order on
 * SIGINT/SIGTERM and brings the whole cluster down if one of them dies, so
 * a failure is never half-hidden.  Separate processes keep each component
 * exactly what it is when run alone (`berth server`, `berth agent`, ...). */
#include "cli.h"
#include "../base/cleanup.h"
#include "../base/log.h"
#include "../base/strbuf.h"
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

static int up_parse(int argc, char **argv, UpOptions *o)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' }, { "listen", required_argument, NULL, 'l' },
		{ "node-name", required_argument, NULL, 'n' }, { "registry-listen", required_argument, NULL, 'r' },
		{ "no-registry", no_argument, NULL, 'R' }, { "service-cidr", required_argument, NULL, 'c' },
		{ "datastore", required_argument, NULL, 's' }, { NULL, 0, NULL, 0 },
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
			.registry_listen = "127.0.0.1:5000", .service_cidr = "10.43.0.0/16" };
	if (cli_help_requested(&cmd_up, argc, argv))
		return 0;
	int r = up_parse(argc, argv, &o);
	if (r)
		return r;
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
	if (!o.no_registry) {
		const char *reg_argv[] = { "registry", "serve", "--listen", o.registry_listen, NULL };
		kids[n] = (UpChild){ "registry", up_spawn(cli, reg_argv) };
		n++;
	}
	const char *agent_argv[] = { "agent", "--kubeconfig", kubeconfig,
				     "--labels", "node-role.kubernetes.io/control-plane=true,node-role.kubernetes.io/master=true",
				     o.node_name ? "--node-name" : NULL, o.node_name, NULL };
	kids[n] = (UpChild){ "agent", up_spawn(cli, agent_argv) };
	n++;
	log_info("up: cluster running (API https://%s, kubeconfig %s)", o.listen, kubeconfig);

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
	return rc;
}

const CliCommand cmd_up = {
	.name = "up",
	.run = up_run,
	.summary = "Run a single-node cluster: API server, scheduler, controllers, agent, registry",
	.usage = "Usage: berth up [--data-dir DIR] [--listen HOST:PORT] [--node-name NAME]\n"
		 "                [--registry-listen HOST:PORT | --no-registry] [--service-cidr CIDR]\n"
		 "                [--datastore SPEC]\n\n"
		 "Start the whole cluster on this machine: the Kubernetes API server (with the\n"
		 "scheduler and the workload controllers), the node agent registered as this\n"
		 "machine's Node (labelled node-role.kubernetes.io/control-plane), and the image\n"
		 "registry.  kubectl uses DATA/kubeconfig.yaml (or 'berth kubeconfig').  Another\n"
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
		 "  --datastore SPEC           sqlite:PATH (default) or etcd:http://HOST:2379\n",
};
