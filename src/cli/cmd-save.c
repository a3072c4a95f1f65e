/* cmd-save.c - `berth save [-o FILE] [--format F] IMAGE...`: a
 * docker-archive (default, as docker save) or an oci-archive.  A regular
 * output file is written under a temp name and renamed at the end, so a
 * failed save leaves no half archive. */
#include "cli.h"
#include "../image/image.h"
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int save_to_file(ImgStore *s, char *const *refs, const char *format, const char *out, Error **e)
{
	struct stat st;
	if (stat(out, &st) == 0 && !S_ISREG(st.st_mode)) { /* a device or fifo: write as it is */
		_cleanup_close_ int fd = open(out, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return err_sys(e, errno, "open '%s'", out);
		return img_save(s, refs, format, fd, e);
	}
	_cleanup_free_ char *tmp = xasprintf("%s.tmp-XXXXXX", out);
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return err_sys(e, errno, "create '%s'", out);
	fchmod(fd, 0644);
	int r = img_save(s, refs, format, fd, e);
	if (r == 0 && rename(tmp, out) < 0)
		r = err_sys(e, errno, "rename to '%s'", out);
	if (r < 0)
		unlink(tmp);
	return r;
}

static int run_save(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *format = "docker-archive";
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'F': format = optarg; break;
		case '?':
			if (optopt)
				return cli_usage_error(&cmd_save, "option '-%c' needs a value", optopt);
			return cli_usage_error(&cmd_save, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (strcmp(format, "docker-archive") && strcmp(format, "oci-archive"))
		return cli_usage_error(&cmd_save, "--format must be docker-archive or oci-archive");
	if (optind >= argc)
		return cli_usage_error(&cmd_save, "requires at least 1 IMAGE");
	if (!out && isatty(STDOUT_FILENO))
		return cli_fail("save: cowardly refusing to save to a terminal. Use the -o flag or redirect");
	Error *e = NULL;
	ImgStore *s;
	if (img_store_open(cli->root, &s, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	char *const *refs = argv + optind;
	int r = out ? save_to_file(s, refs, format, out, &e) : img_save(s, refs, format, STDOUT_FILENO, &e);
	img_store_free(s);
	if (r < 0) {
		err_prefix(&e, "save");
		return cli_fail_err(e, EXIT_BERTH);
	}
	return 0;
}

const CliCommand cmd_save = {
	.name = "save", .run = run_save, .summary = "Save images to a tar archive",
	.usage = "Usage: berth save [OPTIONS] IMAGE [IMAGE...]\n\n"
		 "Write images with their names to a tar archive (stdout unless -o).\n\n"
		 "Options:\n"
		 "  -o, --output FILE   write to FILE\n"
		 "      --format F      docker-archive (default; docker/podman load) or\n"
		 "                      oci-archive (an OCI image layout, skopeo oci-archive:)\n",
};
