/* cmd-start.c - `berth start [-a] [-i] CONTAINER...`. */
#include "cli.h"
#include "attach.h"
#include "container-opts.h"
#include "../shared/json.h"
#include <getopt.h>
#include <stdio.h>

static int run_start(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "attach", no_argument, 0, 'a' }, { "interactive", no_argument, 0, 'i' }, { 0, 0, 0, 0 },
	};
	bool attach = false, interactive = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+ai", opts, NULL)) != -1) {
		if (c == 'a')
			attach = true;
		else if (c == 'i')
			interactive = true;
		else
			return cli_usage_error(&cmd_start, "unknown option '%s'", argv[optind - 1]);
	}
	if (optind >= argc)
		return cli_usage_error(&cmd_start, "requires at least one CONTAINER");
	if (attach && argc - optind > 1)
		return cli_usage_error(&cmd_start, "you cannot attach to more than one container");
	CtrStore *s = cli_open_containers(cli);
	if (!s)
		return EXIT_BERTH;
	int code = 0;
	for (int i = optind; i < argc; i++) {
		Container *ctr = NULL;
		Error *e = NULL;
		if (ctr_lookup(s, argv[i], &ctr, &e) < 0) {
			code = cli_fail_err(e, EXIT_BERTH);
			continue;
		}
		const json_t *cfg = json_object_get(ctr->config, "Config");
		bool tty = json_bool(cfg, "Tty", false);
		Attached at = { .exit_r = -1 };
		if (attach && attached_prepare(&at, interactive && json_bool(cfg, "OpenStdin", false), tty, &e) < 0) {
			code = cli_fail_err(e, EXIT_BERTH);
		} else if (ctr_start(s, ctr, attach ? &at.attach : NULL, &e) < 0) {
			attached_release(&at);
			code = cli_fail_err(e, exit_code_for_error(e));
		} else if (attach) {
			code = attached_wait(&at, ctr_pid(ctr), tty);
			attached_release(&at);
		} else {
			printf("%s\n", argv[i]);
		}
		ctr_free(ctr);
	}
	ctr_store_free(s);
	return code;
}

const CliCommand cmd_start = {
	.name = "start", .run = run_start, .summary = "Start one or more created or stopped containers",
	.usage = "Usage: berth start [-a] [-i] CONTAINER...\n\n"
		 "Options:\n"
		 "  -a, --attach       attach output and exit with the container's status\n"
		 "  -i, --interactive  attach stdin\n",
};
