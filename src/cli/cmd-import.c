/* cmd-import.c - `berth import FILE|- [NAME[:TAG]]`: a rootfs tarball
 * becomes a one-layer image; prints its id as docker does. */
#include "cli.h"
#include "../image/image.h"
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int run_import(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "change", required_argument, NULL, 'c' },
		{ "message", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_free_ char **changes = xcalloc((size_t)argc + 1, sizeof(char *));
	size_t nc = 0;
	const char *message = NULL;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:m:", opts, NULL)) != -1) {
		switch (c) {
		case 'c': changes[nc++] = optarg; break;
		case 'm': message = optarg; break;
		case '?':
			if (optopt)
				return cli_usage_error(&cmd_import, "option '-%c' needs a value", optopt);
			return cli_usage_error(&cmd_import, "unknown option '%s'", argv[optind - 1]);
		}
	}
	int left = argc - optind;
	if (left < 1 || left > 2)
		return cli_usage_error(&cmd_import, "requires a FILE (or -) and at most one NAME[:TAG]");
	const char *file = argv[optind], *name = left == 2 ? argv[optind + 1] : NULL;
	if (strstr(file, "://"))
		return cli_fail("import '%s': importing from a URL is not supported", file);
	_cleanup_close_ int fd = -1;
	if (strcmp(file, "-")) {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return cli_fail("import '%s': %s", file, strerror(errno));
	}
	_cleanup_free_ char *comment = message ? xstrdup(message) : xasprintf("Imported from %s", file);
	Error *e = NULL;
	ImgStore *s;
	if (img_store_open(cli->root, &s, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	char *id = NULL;
	int r = img_import(s, fd >= 0 ? fd : STDIN_FILENO, name, changes, comment, &id, &e);
	img_store_free(s);
	if (r < 0) {
		err_prefix(&e, "import '%s'", file);
		return cli_fail_err(e, EXIT_BERTH);
	}
	printf("%s\n", id);
	free(id);
	return 0;
}

const CliCommand cmd_import = {
	.name = "import", .run = run_import, .summary = "Create an image from a rootfs tarball",
	.usage = "Usage: berth import [OPTIONS] FILE|- [REPOSITORY[:TAG]]\n\n"
		 "Create a one-layer image from a tarball of a root filesystem (plain, gzip,\n"
		 "bzip2, xz or zstd; - reads stdin) and print its id.\n\n"
		 "Options:\n"
		 "  -c, --change INSTR   apply a Dockerfile instruction to the config (repeatable):\n"
		 "                       CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER,\n"
		 "                       VOLUME, WORKDIR\n"
		 "  -m, --message TEXT   history comment (default \"Imported from FILE\")\n",
};
