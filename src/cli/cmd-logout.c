/* cmd-logout.c - `berth logout [REGISTRY]`: forget stored credentials. */
#include "cli.h"
#include "../registry/registry.h"
#include <stdio.h>

static int run_logout(Cli *cli, int argc, char **argv)
{
	(void)cli;
	if (argc > 2)
		return cli_usage_error(&cmd_logout, "at most one REGISTRY");
	_cleanup_free_ char *reg = NULL;
	Error *e = NULL;
	if (reg_ref_registry(argc == 2 ? argv[1] : "docker.io", &reg, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	if (reg_creds_del(reg, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	printf("Removing login credentials for %s\n", reg);
	return 0;
}

const CliCommand cmd_logout = {
	.name = "logout", .run = run_logout, .summary = "Log out from a registry",
	.usage = "Usage: berth logout [REGISTRY]\n\n"
		 "Remove the credentials stored for REGISTRY (default docker.io).\n",
};
