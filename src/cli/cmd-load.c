/* cmd-load.c - `berth load [-i FILE]`: images from a docker-archive or
 * oci-archive (compressed or not), from a file or stdin. */
#include "cli.h"
#include "../image/image.h"
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int run_load(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *input = NULL;
	bool quiet = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "i:q", opts, NULL)) != -1) {
		switch (c) {
		case 'i': input = optarg; break;
		case 'q': quiet = true; break;
		case '?':
			if (optopt)
				return cli_usage_error(&cmd_load, "option '-%c' needs a value", optopt);
			return cli_usage_error(&cmd_load, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd_load, "unexpected argument '%s'", argv[optind]);
	_cleanup_close_ int fd = -1;
	if (input && strcmp(input, "-")) {
		fd = open(input, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return cli_fail("load '%s': %s", input, strerror(errno));
	} else if (isatty(STDIN_FILENO)) {
		return cli_fail("load: requested load from stdin, but stdin is a terminal (use -i FILE)");
	}
	Error *e = NULL;
	ImgStore *s;
	if (img_store_open(cli->root, &s, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	char **names = NULL;
	int r = img_load(s, fd >= 0 ? fd : STDIN_FILENO, &names, &e);
	img_store_free(s);
	if (r < 0) {
		if (input)
			err_prefix(&e, "load '%s'", input);
		else
			err_prefix(&e, "load");
		return cli_fail_err(e, EXIT_BERTH);
	}
	for (char **n = names; n && *n && !quiet; n++) {
		if (!strncmp(*n, "sha256:", 7)) {
			printf("Loaded image ID: %s\n", *n);
		} else {
			_cleanup_free_ char *sh = img_ref_short(*n);
			printf("Loaded image: %s\n", sh);
		}
	}
	strv_free(names);
	return 0;
}

const CliCommand cmd_load = {
	.name = "load", .run = run_load, .summary = "Load images from a docker-archive or oci-archive",
	.usage = "Usage: berth load [OPTIONS]\n\n"
		 "Load images from a tar archive (docker-archive or oci-archive, plain or\n"
		 "compressed) read from a file or stdin.\n\n"
		 "Options:\n"
		 "  -i, --input FILE   read from FILE instead of stdin\n"
		 "  -q, --quiet        print nothing\n",
};
