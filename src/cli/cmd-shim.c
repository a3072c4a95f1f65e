/* cmd-shim.c - `berth shim`: the hidden subcommand the node agent starts as
 * its container shim server (agent/shim.h).  Not for people: it is left out
 * of `berth --help` (no summary) and refuses to run without the agent's
 * socket on fd 3. */
#include "cli.h"
#include "../agent/shim.h"
#include <sys/socket.h>
#include <unistd.h>

static int run_shim(Cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argv;
	int type = 0;
	socklen_t len = sizeof(type);
	if (argc != 1 || getsockopt(SHIM_SERVER_FD, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET)
		return cli_fail("shim: internal command of the node agent, not to be run by hand");
	int r = shim_server_run(SHIM_SERVER_FD);
	/* _exit: forked shims share this process's libraries; nothing to flush */
	_exit(r < 0 ? EXIT_BERTH : 0);
}

const CliCommand cmd_shim = {
	.name = "shim", .run = run_shim, .summary = NULL,
	.usage = "Usage: berth shim\n\nInternal: the node agent's container shim server.\n",
};
