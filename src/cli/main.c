/* main.c - the front door: global options, the command table, dispatch.
 *
 * `berth [--root DIR] [--runroot DIR] [--log-level L] COMMAND ...`.  Global
 * options stop at the first non-option word, which names the command; the rest
 * of argv belongs to that command's own parser (cmd-NAME.c).
 */
#include "cli.h"
#include "../base/log.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLI_COMMAND(n) &cmd_##n,
static const CliCommand *const commands[] = {
#include "commands.h"
};
#undef CLI_COMMAND

int cli_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("berth: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return EXIT_BERTH;
}

int cli_fail_err(Error *e, int code)
{
	fprintf(stderr, "berth: error: %s\n", err_msg(e));
	err_free(e);
	return code;
}

bool cli_help_requested(const CliCommand *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(cmd->usage, stdout);
			return true;
		}
		if (argv[i][0] != '-')
			break; /* past the options: the rest belongs to the container */
	}
	return false;
}

int cli_usage_error(const CliCommand *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "berth: error: %s: ", cmd->name);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nSee 'berth %s --help'.\n", cmd->name);
	va_end(ap);
	return EXIT_BERTH;
}

const CliCommand *cli_find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

static void print_help(void)
{
	printf("Usage: berth [--root DIR] [--runroot DIR] [--log-level LEVEL] COMMAND [ARG...]\n\n"
	       "berth builds, runs, stores and orchestrates containers.\n\n"
	       "Global options:\n"
	       "  --root DIR         persistent state (default /var/lib/berth, env BERTH_ROOT)\n"
	       "  --runroot DIR      runtime state (default /run/berth, env BERTH_RUNROOT)\n"
	       "  --log-level LEVEL  error|warn|info|debug (default warn)\n"
	       "  -h, --help         this help\n\n"
	       "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i]->summary) /* none: internal (`shim`), not listed */
			printf("  %-10s %s\n", commands[i]->name, commands[i]->summary);
	printf("\nRun 'berth COMMAND --help' for more information on a command.\n");
}

static int take_value(int argc, char **argv, int *i, const char *name, const char **ret)
{
	size_t n = strlen(name);
	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=') {
		*ret = argv[*i] + n + 1;
		return 1;
	}
	if (strcmp(argv[*i], name))
		return 0;
	if (*i + 1 >= argc) {
		cli_fail("option %s needs a value", name);
		return -1;
	}
	*ret = argv[++*i];
	return 1;
}

int main(int argc, char **argv)
{
	static char self[4096];
	Cli cli = { .root = getenv("BERTH_ROOT"), .runroot = getenv("BERTH_RUNROOT"), .self = self };
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	const char *level = getenv("BERTH_LOG_LEVEL");
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		int r;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			print_help();
			return 0;
		}
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v"))
			return cmd_version.run(&cli, 1, (char *[]){ "version", NULL });
		if ((r = take_value(argc, argv, &i, "--root", &cli.root)) ||
		    (r = take_value(argc, argv, &i, "--runroot", &cli.runroot)) ||
		    (r = take_value(argc, argv, &i, "--log-level", &level))) {
			if (r < 0)
				return EXIT_BERTH;
			continue;
		}
		return cli_fail("unknown global option '%s' (see 'berth --help')", argv[i]);
	}
	if (!cli.root || !*cli.root)
		cli.root = "/var/lib/berth";
	if (!cli.runroot || !*cli.runroot)
		cli.runroot = "/run/berth";
	if (level) {
		int l = log_parse_level(level);
		if (l < 0)
			return cli_fail("unknown log level '%s' (error, warn, info, debug)", level);
		log_set_level(l);
	}
	if (i >= argc) {
		print_help();
		return EXIT_BERTH;
	}
	const CliCommand *cmd = cli_find_command(argv[i]);
	if (!cmd)
		return cli_fail("unknown command '%s' (see 'berth --help')", argv[i]);
	if (cli_help_requested(cmd, argc - i, argv + i))
		return 0;
	return cmd->run(&cli, argc - i, argv + i);
}
