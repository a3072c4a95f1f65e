/* cmd-export.c - `berth export [-o FILE] CONTAINER`: the container's whole
 * filesystem (image layers + changes, without the init layer's files being
 * special) as a tar on stdout or FILE. */
#include "cli.h"
#include "attach.h"
#include "../image/image.h"
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

static int export_to_fd(const char *path, void *ud)
{
	return img_export_dir(path, *(int *)ud, NULL);
}

static int run_export(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "output", required_argument, 0, 'o' }, { 0, 0, 0, 0 } };
	const char *out = NULL;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (c != 'o')
			return cli_usage_error(&cmd_export, "unknown option '%s'", argv[optind - 1]);
		out = optarg;
	}
	if (argc - optind != 1)
		return cli_usage_error(&cmd_export, "requires exactly one CONTAINER");
	if (!out && isatty(1))
		return cli_fail("export: refusing to write a tar to a terminal (use -o FILE or redirect)");
	CtrStore *s = cli_open_containers(cli);
	if (!s)
		return EXIT_BERTH;
	Container *ct = NULL;
	Error *e = NULL;
	int code = 0;
	int fd = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 1;
	if (fd < 0)
		code = cli_fail("export: open '%s': %m", out);
	else if (ctr_lookup(s, argv[optind], &ct, &e) < 0 || ctr_with_rootfs(s, ct, export_to_fd, &fd, &e) < 0)
		code = cli_fail_err(e, EXIT_BERTH);
	if (out && fd >= 0)
		close(fd);
	if (code && out)
		unlink(out);
	ctr_free(ct);
	ctr_store_free(s);
	return code;
}

const CliCommand cmd_export = {
	.name = "export", .run = run_export, .summary = "Export a container's filesystem as a tar archive",
	.usage = "Usage: berth export [-o FILE] CONTAINER\n",
};
