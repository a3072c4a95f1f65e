/* cmd-create.c - `berth create`: a container in the "created" state. */
#include "cli.h"
#include "attach.h"
#include "container-opts.h"
#include <stdio.h>

static int run_create(Cli *cli, int argc, char **argv)
{
	CreateOpts o;
	int r = create_opts_parse(&cmd_create, argc, argv, false, &o);
	if (r) {
		create_opts_release(&o);
		return r;
	}
	CtrStore *s = cli_open_containers(cli);
	Container *c = NULL;
	Error *e = NULL;
	int code = 0;
	if (!s)
		code = EXIT_BERTH;
	else if (ctr_create(s, o.request, &c, &e) < 0)
		code = cli_fail_err(e, EXIT_BERTH);
	else
		printf("%s\n", c->id);
	ctr_free(c);
	ctr_store_free(s);
	create_opts_release(&o);
	return code;
}

const CliCommand cmd_create = {
	.name = "create", .run = run_create, .summary = "Create a new container",
	.usage = "Usage: berth create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
		 "Create a container and print its id; `berth start` runs it.\n\n"
		 "Options:\n"
		 "      --rm                 remove the container when it exits\n"
		 CREATE_OPTIONS_HELP,
};
