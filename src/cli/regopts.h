/* regopts.h - options and progress output the registry client commands
 * (push, pull, login) share (regopts.c). */
#ifndef BERTH_CLI_REGOPTS_H
#define BERTH_CLI_REGOPTS_H
#include <stdbool.h>
#include "../registry/registry.h"
/* Parse "--tls-verify=true|false"; -EINVAL when malformed. */
int cli_tls_verify_parse(const char *v, bool *ret);
/* Defaults plus the progress printer (plain lines "id: status"; on a TTY
 * each id's line is rewritten in place). */
void cli_reg_opts_init(RegClientOpts *o, bool quiet);
#endif
