/* cmd-token.c - `berth token create [--data-dir DIR] [--user NAME]`: mint a
 * bearer token the running server accepts at once (it re-reads DATA/tokens
 * when the file changes). */
#include "cli.h"
#include "../apiserver/apiserver.h"
#include "../base/cleanup.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int token_run(Cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option opts[] = { { "data-dir", required_argument, NULL, 'd' },
					      { "user", required_argument, NULL, 'u' }, { NULL, 0, NULL, 0 } };
	const char *data_dir = "/var/lib/berth/server", *user = "admin";
	if (cli_help_requested(&cmd_token, argc, argv))
		return 0;
	if (argc < 2 || strcmp(argv[1], "create"))
		return cli_usage_error(&cmd_token, "expected 'create'");
	optind = 2;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 'd')
			data_dir = optarg;
		else if (c == 'u')
			user = optarg;
		else
			return cli_usage_error(&cmd_token, "unknown option");
	}
	if (optind < argc)
		return cli_usage_error(&cmd_token, "unexpected argument '%s'", argv[optind]);
	if (!*user || strchr(user, ',') || strchr(user, '\n'))
		return cli_usage_error(&cmd_token, "--user: a name without ',' or newlines");
	Error *err = NULL;
	_cleanup_free_ char *tok = NULL;
	if (apiserver_token_create(data_dir, user, &tok, &err) < 0)
		return cli_fail_err(err, EXIT_BERTH);
	printf("%s\n", tok);
	return 0;
}

const CliCommand cmd_token = {
	.name = "token",
	.run = token_run,
	.summary = "Create a bearer token for the API server",
	.usage = "Usage: berth token create [--data-dir DIR] [--user NAME]\n\n"
		 "Print a new bearer token for user NAME (default admin).\n\n"
		 "Options:\n"
		 "  --data-dir DIR   the server's data dir (default /var/lib/berth/server)\n"
		 "  --user NAME      the user the token authenticates as\n",
};
