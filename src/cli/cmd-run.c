/* cmd-run.c - `berth run`: create + start, then either print the id (-d) or
 * stay attached until the container exits and return its status. */
#include "cli.h"
#include "attach.h"
#include "container-opts.h"
#include <stdio.h>

static int run_run(Cli *cli, int argc, char **argv)
{
	CreateOpts o;
	int r = create_opts_parse(&cmd_run, argc, argv, true, &o);
	if (r) {
		create_opts_release(&o);
		return r;
	}
	CtrStore *s = cli_open_containers(cli);
	if (!s) {
		create_opts_release(&o);
		return EXIT_BERTH;
	}
	Container *c = NULL;
	Error *e = NULL;
	int code = 0;
	Attached at = { .exit_r = -1 };
	if (ctr_create(s, o.request, &c, &e) < 0) {
		code = cli_fail_err(e, EXIT_BERTH);
		goto out;
	}
	if (!o.detach && attached_prepare(&at, o.interactive, o.tty, &e) < 0) {
		code = cli_fail_err(e, EXIT_BERTH);
		goto out;
	}
	if (ctr_start(s, c, o.detach ? NULL : &at.attach, &e) < 0) {
		attached_release(&at);
		code = cli_fail_err(e, exit_code_for_error(e));
		if (o.rm) /* a failed start leaves nothing behind with --rm */
			ctr_remove(s, c, true, NULL);
		goto out;
	}
	if (o.detach) {
		printf("%s\n", c->id);
		goto out;
	}
	code = attached_wait(&at, ctr_pid(c), o.tty);
	attached_release(&at);
out:
	ctr_free(c);
	ctr_store_free(s);
	create_opts_release(&o);
	return code;
}

const CliCommand cmd_run = {
	.name = "run", .run = run_run, .summary = "Run a command in a new container",
	.usage = "Usage: berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
		 "Create and start a container.  Without -d, stay attached and exit with the\n"
		 "container's status (125 berth failed, 126 cannot invoke, 127 not found).\n\n"
		 "Options:\n"
		 "  -d, --detach             run in the background and print the container id\n"
		 "      --rm                 remove the container when it exits\n"
		 CREATE_OPTIONS_HELP,
};
