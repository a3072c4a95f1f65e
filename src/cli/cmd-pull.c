/* cmd-pull.c - `berth pull IMAGE[:TAG|@DIGEST]`: download an image into the
 * local store, unpacked and ready to run. */
#include "cli.h"
#include "regopts.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int run_pull(Cli *cli, int argc, char **argv)
{
	RegClientOpts o;
	bool quiet;
	_cleanup_free_ char *creds = NULL;
	int r = cli_reg_transfer_opts(&cmd_pull, argc, argv, &o, &quiet, &creds);
	if (r)
		return r;
	if (argc - optind != 1)
		return cli_usage_error(&cmd_pull, "requires exactly 1 argument");
	Error *e = NULL;
	ImgStore *s;
	if (img_store_open(cli->root, &s, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	_cleanup_free_ char *digest = NULL, *full = NULL;
	bool fresh = false;
	r = reg_pull(s, argv[optind], &o, &digest, &fresh, &e);
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
