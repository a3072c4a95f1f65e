/* cmd-agent.c - `berth agent`: the node agent in the foreground (the
 * kubelet).  Today it runs static pods from --pod-manifest-path, re-read on
 * every change (inotify) and every --file-check-frequency; the API flags
 * (--server, --token) are refused until the agent speaks to the API server.
 * SIGTERM/SIGINT stop the agent and leave the pods running: the next agent
 * on the same --root adopts them (as the kubelet does across restarts). */
#include "cli.h"
#include "../agent/agent.h"
#include "../base/log.h"
#include "../base/parse.h"
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>

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

static int agent_loop(Agent *a, const char *dir, int64_t freq_ms)
{
	int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ino >= 0)
		inotify_add_watch(ino, dir, IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_MODIFY);
	char *last_bad = NULL;
	int64_t next_scan = 0;
	while (!stop_requested) {
		int64_t now = mono_ms();
		if (now >= next_scan) {
			scan(a, dir, &last_bad);
			next_scan = now + freq_ms;
		}
		int t = agent_tick(a);
		now = mono_ms();
		if (next_scan - now < t)
			t = next_scan - now < 0 ? 0 : (int)(next_scan - now);
		struct pollfd fds[2] = { { .fd = agent_wake_fd(a), .events = POLLIN }, { .fd = ino, .events = POLLIN } };
		if (poll(fds, 2, t) > 0 && fds[1].revents) {
			char buf[4096];
			while (read(ino, buf, sizeof(buf)) > 0)
				;
			next_scan = 0;
		}
	}
	free(last_bad);
	if (ino >= 0)
		close(ino);
	return 0;
}

static int agent_run(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pod-manifest-path", required_argument, NULL, 'm' }, { "node-name", required_argument, NULL, 'n' },
		{ "root", required_argument, NULL, 'r' }, { "runroot", required_argument, NULL, 'R' },
		{ "file-check-frequency", required_argument, NULL, 'f' },
		{ "crash-backoff", required_argument, NULL, 'b' }, { "server", required_argument, NULL, 's' },
		{ "token", required_argument, NULL, 't' }, { NULL, 0, NULL, 0 },
	};
	if (cli_help_requested(&cmd_agent, argc, argv))
		return 0;
	AgentConfig cfg = { .root = cli->root, .runroot = cli->runroot };
	const char *manifests = NULL, *server = NULL;
	int64_t freq_ms = 20000;
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
		case 's': server = optarg; break;
		case 't': break;
		default: return cli_usage_error(&cmd_agent, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd_agent, "unexpected argument '%s'", argv[optind]);
	if (server)
		return cli_fail("agent: --server: joining an API server is not available yet; use --pod-manifest-path");
	if (!manifests)
		return cli_usage_error(&cmd_agent, "nothing to run: give --pod-manifest-path DIR");
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (log_get_level() < LOG_INFO_)
		log_set_level(LOG_INFO_);
	Agent *a = NULL;
	Error *err = NULL;
	if (agent_new(&cfg, &a, &err) < 0)
		return cli_fail_err(err, EXIT_BERTH);
	agent_loop(a, manifests, freq_ms);
	agent_free(a);
	return 0;
}

const CliCommand cmd_agent = {
	.name = "agent",
	.run = agent_run,
	.summary = "Run the node agent (static pods from a manifest directory)",
	.usage = "Usage: berth agent --pod-manifest-path DIR [--node-name NAME] [--root DIR]\n"
		 "                   [--file-check-frequency 20s] [--crash-backoff 10s]\n\n"
		 "Run Kubernetes pods on this node as the kubelet does: every file in DIR holds one\n"
		 "Pod (YAML or JSON); pods start when their file appears and stop gracefully when it\n"
		 "is removed.  Status: ROOT/pods/<ns>_<name>_<uid>/status.json; logs next to it.\n"
		 "Stopping the agent leaves the pods running; the next agent adopts them.\n\n"
		 "Options:\n"
		 "  --pod-manifest-path DIR     static pod manifests\n"
		 "  --node-name NAME            the node's name (default: the hostname)\n"
		 "  --root DIR, --runroot DIR   state roots (as the global options)\n"
		 "  --file-check-frequency D    re-read DIR this often besides on changes (default 20s)\n"
		 "  --crash-backoff D           first restart back-off (default 10s, doubling to 30x)\n"
		 "  --server URL, --token T     join an API server (not available yet)\n",
};
