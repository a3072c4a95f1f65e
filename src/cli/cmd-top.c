/* cmd-top.c - `berth top CONTAINER`: the container's processes (from its
 * cgroup), in `ps -ef` columns. */
#include "cli.h"
#include "attach.h"
#include "../base/fs.h"
#include <pwd.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void print_proc(pid_t pid)
{
	char path[64];
	_cleanup_free_ char *statline = NULL, *cmd = NULL;
	size_t cmdlen = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (fs_read_file(path, 4096, &statline, NULL, NULL) < 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (fs_read_file(path, 65536, &cmd, &cmdlen, NULL) < 0)
		return;
	for (size_t i = 0; i + 1 < cmdlen; i++)
		if (cmd[i] == 0)
			cmd[i] = ' ';
	char *rp = strrchr(statline, ')');
	int ppid = 0;
	unsigned long long ut = 0, st = 0;
	if (rp)
		sscanf(rp + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ppid, &ut, &st);
	struct stat sb;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	uid_t uid = stat(path, &sb) == 0 ? sb.st_uid : 0;
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long long secs = (ut + st) / (unsigned long long)(hz > 0 ? hz : 100);
	printf("%-8u %-8d %-8d %02llu:%02llu:%02llu %s\n", (unsigned)uid, (int)pid, ppid, secs / 3600,
	       (secs / 60) % 60, secs % 60, cmdlen ? cmd : "");
}

static int run_top(Cli *cli, int argc, char **argv)
{
	if (argc != 2)
		return cli_usage_error(&cmd_top, "requires exactly one CONTAINER");
	CtrStore *s = cli_open_containers(cli);
	if (!s)
		return EXIT_BERTH;
	Container *ct = NULL;
	Error *e = NULL;
	Cgroup *cg = NULL;
	int code = 0;
	pid_t *pids = NULL;
	size_t n = 0;
	if (ctr_lookup(s, argv[1], &ct, &e) < 0)
		code = cli_fail_err(e, EXIT_BERTH);
	else if (ctr_status(ct) != CTR_RUNNING)
		code = cli_fail("container %s is not running", ctr_name(ct));
	else if (ctr_cgroup(s, ct, &cg, &e) < 0 || cg_pids(cg, &pids, &n, &e) < 0)
		code = cli_fail_err(e, EXIT_BERTH);
	else {
		printf("%-8s %-8s %-8s %-8s %s\n", "UID", "PID", "PPID", "TIME", "CMD");
		for (size_t i = 0; i < n; i++)
			print_proc(pids[i]);
	}
	free(pids);
	cg_free(cg);
	ctr_free(ct);
	ctr_store_free(s);
	return code;
}

const CliCommand cmd_top = {
	.name = "top", .run = run_top, .summary = "Show the processes of a container",
	.usage = "Usage: berth top CONTAINER\n",
};
