/* cli.h - what every subcommand file shares: the global options, the command
 * table entry, and the one place that reports errors (`berth: error: ...`).
 *
 * Exit codes follow Docker: 125 berth itself failed, 126 the command cannot be
 * invoked, 127 the command was not found, otherwise the container's status.
 */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include <stdbool.h>
#include "../base/err.h"

enum { EXIT_BERTH = 125, EXIT_CANNOT_INVOKE = 126, EXIT_NOT_FOUND = 127 };

typedef struct Cli {
	const char *root;     /* --root, BERTH_ROOT, /var/lib/berth */
	const char *runroot;  /* --runroot, BERTH_RUNROOT, /run/berth */
	const char *self;     /* absolute path of the berth binary (/proc/self/exe) */
} Cli;

typedef struct CliCommand {
	const char *name;
	int (*run)(Cli *cli, int argc, char **argv); /* argv[0] is the command name */
	const char *summary;
	const char *usage;   /* full help text printed by `berth NAME --help` */
} CliCommand;

/* Print "berth: error: <msg>" and return EXIT_BERTH. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report an Error value (and free it); returns code. */
int cli_fail_err(Error *e, int code);
/* True (after printing usage to stdout) when argv asks for --help/-h. */
bool cli_help_requested(const CliCommand *cmd, int argc, char **argv);
/* Print "berth: error: NAME: usage problem" plus a hint; returns EXIT_BERTH. */
int cli_usage_error(const CliCommand *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const CliCommand *cli_find_command(const char *name);

#define CLI_COMMAND(n) extern const CliCommand cmd_##n;
#include "commands.h"
#undef CLI_COMMAND

#endif
