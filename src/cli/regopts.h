/* regopts.h - options and progress output the registry client commands
 * (push, pull, login) share (regopts.c). */
#ifndef BERTH_CLI_REGOPTS_H
#define BERTH_CLI_REGOPTS_H
#include <stdbool.h>
#include "../registry/registry.h"
#include "cli.h"
/* Parse "--tls-verify=true|false"; -EINVAL when malformed. */
int cli_tls_verify_parse(const char *v, bool *ret);
/* Defaults plus the progress printer (plain lines "id: status"; on a TTY
 * each id's line is rewritten in place). */
void cli_reg_opts_init(RegClientOpts *o, bool quiet);
/* The options push and pull share (--tls-verify, --cert-dir, --creds, -q):
 * fills o (user/password point into *ret_creds, which the caller frees) and
 * leaves optind at the first operand.  0, or the exit code of a usage error. */
int cli_reg_transfer_opts(const CliCommand *cmd, int argc, char **argv, RegClientOpts *o, bool *ret_quiet,
			  char **ret_creds);
#endif
