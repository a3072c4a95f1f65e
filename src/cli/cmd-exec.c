/* cmd-exec.c - `berth exec [-i] [-t] [-e K=V] [-w DIR] [-u USER] CTR CMD...`:
 * a new process in a running container's namespaces and cgroup, as a child of
 * this CLI (so its status is ours to return).  With -t the CLI holds a pty
 * and copies between it and the terminal. */
#include "cli.h"
#include "attach.h"
#include "container-opts.h"
#include "../base/fs.h"
#include "../shared/json.h"
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void copy_until_exit(int master, pid_t pid, bool interactive)
{
	bool in_open = interactive;
	for (;;) {
		struct pollfd fds[2] = { { .fd = master, .events = POLLIN }, { .fd = in_open ? 0 : -1, .events = POLLIN } };
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		char buf[8192];
		if (fds[0].revents) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n <= 0)
				break; /* EIO: every holder of the slave is gone */
			fs_write_all(1, buf, (size_t)n);
		}
		if (fds[1].revents) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n <= 0)
				in_open = false;
			else
				fs_write_all(master, buf, (size_t)n);
		}
	}
	(void)pid;
}

static int exec_in(CtrStore *s, Container *c, char **cmdv, json_t *env, const char *cwd, const char *user,
		   bool interactive, bool tty)
{
	_cleanup_strv_ char **envv = json_to_strv(env);
	_cleanup_json_ json_t *process = ctr_exec_process(s, c, cmdv, envv, cwd, user, tty);
	Cgroup *cg = NULL;
	Error *e = NULL;
	ctr_cgroup(s, c, &cg, NULL);
	RtStdio io = { .in = interactive ? 0 : -1, .out = 1, .err = 2, .console_fd = -1 };
	int master = -1;
	struct termios saved;
	bool raw = false;
	if (tty) {
		/* the pty comes from the container's devpts (RtSpawned.console_master) */
		io.console_fd = RT_CONSOLE_IN_CONTAINER;
		if (interactive && isatty(0) && tcgetattr(0, &saved) == 0) {
			struct termios t = saved;
			cfmakeraw(&t);
			raw = tcsetattr(0, TCSANOW, &t) == 0;
		}
	}
	RtSpawned sp = { .console_master = -1 };
	int r = rt_exec(ctr_pid(c), process, json_path(process, "seccomp"), cg, &io, &sp, &e);
	pid_t pid = sp.pid;
	master = sp.console_master;
	if (master >= 0) {
		struct winsize ws = { .ws_row = 24, .ws_col = 80 };
		ioctl(1, TIOCGWINSZ, &ws);
		ioctl(master, TIOCSWINSZ, &ws);
	}
	cg_free(cg);
	int code;
	if (r < 0) {
		code = cli_fail_err(e, exit_code_for_error(e));
	} else {
		if (tty)
			copy_until_exit(master, pid, interactive);
		int st = 0;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		code = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : EXIT_BERTH;
	}
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	if (master >= 0)
		close(master);
	return code;
}

static int run_exec(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interactive", no_argument, 0, 'i' }, { "tty", no_argument, 0, 't' },
		{ "env", required_argument, 0, 'e' }, { "workdir", required_argument, 0, 'w' },
		{ "user", required_argument, 0, 'u' }, { "detach", no_argument, 0, 'd' }, { 0, 0, 0, 0 },
	};
	bool interactive = false, tty = false;
	const char *cwd = NULL, *user = NULL;
	_cleanup_json_ json_t *env = json_array();
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+ite:w:u:", opts, NULL)) != -1) {
		switch (c) {
		case 'i': interactive = true; break;
		case 't': tty = true; break;
		case 'e': json_array_append_new(env, json_string(optarg)); break;
		case 'w': cwd = optarg; break;
		case 'u': user = optarg; break;
		default: return cli_usage_error(&cmd_exec, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind < 2)
		return cli_usage_error(&cmd_exec, "requires a CONTAINER and a COMMAND");
	CtrStore *s = cli_open_containers(cli);
	if (!s)
		return EXIT_BERTH;
	Container *ct = NULL;
	Error *e = NULL;
	int code;
	if (ctr_lookup(s, argv[optind], &ct, &e) < 0)
		code = cli_fail_err(e, EXIT_BERTH);
	else if (ctr_status(ct) != CTR_RUNNING)
		code = cli_fail("container %s is not running", ctr_name(ct));
	else
		code = exec_in(s, ct, argv + optind + 1, env, cwd, user, interactive, tty);
	ctr_free(ct);
	ctr_store_free(s);
	return code;
}

const CliCommand cmd_exec = {
	.name = "exec", .run = run_exec, .summary = "Run a command in a running container",
	.usage = "Usage: berth exec [-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER COMMAND [ARG...]\n\n"
		 "Options:\n"
		 "  -i, --interactive  keep stdin open\n"
		 "  -t, --tty          allocate a pseudo-terminal\n"
		 "  -e, --env K=V      set an environment variable\n"
		 "  -w, --workdir DIR  working directory\n"
		 "  -u, --user USER    user[:group] to run as\n",
};
