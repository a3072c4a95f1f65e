/* attach.c - see attach.h. */
#include "cli.h"
#include "attach.h"
#include "../base/fs.h"
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved_tio;
static volatile pid_t proxy_pid;

static void proxy_signal(int sig)
{
	if (proxy_pid > 0)
		kill(proxy_pid, sig);
}

CtrStore *cli_open_containers(const Cli *cli)
{
	CtrStore *s = NULL;
	Error *e = NULL;
	if (ctr_store_open(cli->root, cli->runroot, &s, &e) < 0) {
		cli_fail_err(e, EXIT_BERTH);
		return NULL;
	}
	return s;
}

int attached_prepare(Attached *a, bool interactive, bool tty, Error **err)
{
	int p[2];
	memset(a, 0, sizeof(*a));
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_sys(err, errno, "pipe");
	a->exit_r = p[0];
	a->attach = (CtrAttach){ .in = interactive ? 0 : -1, .out = 1, .err = 2, .exit_fd = p[1] };
	if (tty && interactive && isatty(0) && tcgetattr(0, &saved_tio) == 0) {
		struct termios raw = saved_tio;
		cfmakeraw(&raw);
		if (tcsetattr(0, TCSANOW, &raw) == 0)
			a->raw = true;
	}
	return 0;
}

int attached_wait(Attached *a, pid_t pid, bool tty)
{
	close(a->attach.exit_fd);
	a->attach.exit_fd = -1;
	if (!tty) {
		proxy_pid = pid;
		struct sigaction sa = { .sa_handler = proxy_signal };
		int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
		for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
			sigaction(sigs[i], &sa, NULL);
	}
	int32_t code = 0;
	ssize_t n;
	do
		n = fs_read_full(a->exit_r, &code, sizeof(code));
	while (n < 0 && n == -EINTR);
	if (n != sizeof(code)) {
		fprintf(stderr, "berth: error: lost the container's supervisor before it reported an exit code\n");
		return EXIT_BERTH;
	}
	return code;
}

void attached_release(Attached *a)
{
	if (a->raw)
		tcsetattr(0, TCSANOW, &saved_tio);
	if (a->exit_r > 0)
		close(a->exit_r);
	if (a->attach.exit_fd > 0)
		close(a->attach.exit_fd);
	a->raw = false;
	a->exit_r = a->attach.exit_fd = -1;
}
