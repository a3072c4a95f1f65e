/* cmd-stats.c - `berth stats --no-stream [CONTAINER...]`: one sample of CPU,
 * memory and pids per running container, from its cgroup. */
#include "cli.h"
#include "attach.h"
#include "../base/parse.h"
#include "../shared/json.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void print_row(const Container *c, const CgStats *a, const CgStats *b, double secs)
{
	double cpu = secs > 0 ? (double)(b->cpu_usage_ns - a->cpu_usage_ns) / (secs * 1e9) * 100.0 : 0;
	int64_t limit = b->memory_limit > 0 ? b->memory_limit : (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
	char use[32], lim[32];
	format_size_human(use, sizeof(use), b->memory_usage);
	format_size_human(lim, sizeof(lim), limit);
	printf("%.12s   %-20s %6.2f%%   %9s / %-9s %6.2f%%   %lld\n", c->id, ctr_name(c), cpu, use, lim,
	       limit ? 100.0 * (double)b->memory_usage / (double)limit : 0.0, (long long)b->pids_current);
}

static int run_stats(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-stream", no_argument, 0, 'n' }, { "all", no_argument, 0, 'a' }, { 0, 0, 0, 0 },
	};
	bool no_stream = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "a", opts, NULL)) != -1) {
		if (c == 'n')
			no_stream = true;
		else if (c != 'a')
			return cli_usage_error(&cmd_stats, "unknown option '%s'", argv[optind - 1]);
	}
	if (!no_stream)
		return cli_usage_error(&cmd_stats, "only --no-stream is supported: one sample per container");
	CtrStore *s = cli_open_containers(cli);
	if (!s)
		return EXIT_BERTH;
	Container **list = NULL;
	size_t n = 0;
	Error *e = NULL;
	if (ctr_list(s, &list, &n, &e) < 0) {
		ctr_store_free(s);
		return cli_fail_err(e, EXIT_BERTH);
	}
	int code = 0;
	Cgroup **cgs = xcalloc(n + 1, sizeof(Cgroup *));
	CgStats *first = xcalloc(n + 1, sizeof(CgStats));
	for (size_t i = 0; i < n; i++) {
		bool wanted = optind >= argc;
		for (int k = optind; k < argc && !wanted; k++)
			wanted = !strcmp(argv[k], ctr_name(list[i])) || !strncmp(list[i]->id, argv[k], strlen(argv[k]));
		if (wanted && ctr_status(list[i]) == CTR_RUNNING && ctr_cgroup(s, list[i], &cgs[i], NULL) == 0)
			cg_stats(cgs[i], &first[i], NULL);
	}
	struct timespec ts = { 0, 500 * 1000000L };
	nanosleep(&ts, NULL);
	printf("%-12s   %-20s %-8s   %-21s %-8s  %s\n", "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT",
	       "MEM %", "PIDS");
	for (size_t i = 0; i < n; i++) {
		if (!cgs[i])
			continue;
		CgStats now = { 0 };
		cg_stats(cgs[i], &now, NULL);
		print_row(list[i], &first[i], &now, 0.5);
		cg_free(cgs[i]);
	}
	for (int k = optind; k < argc; k++) {
		bool found = false;
		for (size_t i = 0; i < n && !found; i++)
			found = !strcmp(argv[k], ctr_name(list[i])) || !strncmp(list[i]->id, argv[k], strlen(argv[k]));
		if (!found)
			code = cli_fail("no such container: %s", argv[k]);
	}
	for (size_t i = 0; i < n; i++)
		ctr_free(list[i]);
	free(list);
	free(cgs);
	free(first);
	ctr_store_free(s);
	return code;
}

const CliCommand cmd_stats = {
	.name = "stats", .run = run_stats, .summary = "Show resource usage of running containers",
	.usage = "Usage: berth stats --no-stream [CONTAINER...]\n\n"
		 "One sample (over half a second) of CPU, memory and process counts.\n",
};
