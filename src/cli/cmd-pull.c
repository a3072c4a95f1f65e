/* cmd-pull.c - `berth pull IMAGE[:TAG|@DIGEST]`: download an image into the
 * local store, unpacked and ready to run. */
#include "cli.h"
#include "regopts.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int run_pull(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tls-verify", optional_argument, 0, 't' }, { "cert-dir", required_argument, 0, 'C' }, { "quiet", no_argument, 0, 'q' },
		{ "creds", required_argument, 0, 'c' }, { 0, 0, 0, 0 },
	};
	RegClientOpts o;
	cli_reg_opts_init(&o, false);
	bool quiet = false;
	_cleanup_free_ char *creds = NULL;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "q", opts, NULL)) != -1) {
		switch (c) {
		case 'C': o.cert_dir = optarg; break;
		case 't':
			if (cli_tls_verify_parse(optarg, &o.tls_verify) < 0)
				return cli_usage_error(&cmd_pull, "--tls-verify: true or false");
			break;
		case 'q': quiet = true; break;
		case 'c': creds = xstrdup(optarg); break;
		default: return cli_usage_error(&cmd_pull, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(&cmd_pull, "requires exactly 1 argument");
	if (quiet)
		o.progress = NULL;
	if (creds) {
		char *colon = strchr(creds, ':');
		if (!colon)
			return cli_usage_error(&cmd_pull, "--creds USER:PASSWORD");
		*colon = '\0';
		o.user = creds;
		o.password = colon + 1;
	}
	Error *e = NULL;
	ImgStore *s;
	if (img_store_open(cli->root, &s, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	_cleanup_free_ char *digest = NULL, *full = NULL;
	bool fresh = false;
	int r = reg_pull(s, argv[optind], &o, &digest, &fresh, &e);
	img_store_free(s);
	if (r < 0)
		return cli_fail_err(e, EXIT_BERTH);
	if (img_ref_normalize(argv[optind], &full, NULL) < 0)
		full = xstrdup(argv[optind]);
	if (!quiet) {
		printf("Digest: %s\n", digest);
		printf("Status: %s for %s\n", fresh ? "Downloaded newer image" : "Image is up to date", full);
	}
	printf("%s\n", full);
	return 0;
}

const CliCommand cmd_pull = {
	.name = "pull", .run = run_pull, .summary = "Download an image from a registry",
	.usage = "Usage: berth pull [--tls-verify=false] [--cert-dir DIR] [--creds USER:PASS] [-q] IMAGE[:TAG|@DIGEST]\n\n"
		 "Download IMAGE (host[:port]/repo[:tag]; Docker Hub when no host is named) into the\n"
		 "local store.  A multi-platform index resolves to this host's platform.\n"
		 "  --tls-verify=false   do not verify TLS certificates; allow plain http\n"
		 "  --cert-dir DIR       CA certificates (*.crt) and client NAME.cert/NAME.key for the\n"
		 "                       registry (default: certs.d/HOST:PORT as docker and podman)\n"
		 "  -q, --quiet          print only the image name\n",
};
