/* cmd-push.c - `berth push IMAGE[:TAG]`: upload an image to its registry. */
#include "cli.h"
#include "regopts.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int run_push(Cli *cli, int argc, char **argv)
{
	RegClientOpts o;
	bool quiet;
	_cleanup_free_ char *creds = NULL;
	int r = cli_reg_transfer_opts(&cmd_push, argc, argv, &o, &quiet, &creds);
	if (r)
		return r;
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage_error(&cmd_push, "requires IMAGE [DESTINATION]");
	const char *name = argv[optind], *dest = optind + 1 < argc ? argv[optind + 1] : NULL;
	Error *e = NULL;
	ImgStore *s;
	if (img_store_open(cli->root, &s, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	_cleanup_free_ char *digest = NULL;
	int64_t size = 0;
	r = reg_push(s, name, dest, &o, &digest, &size, &e);
	img_store_free(s);
	if (r < 0)
		return cli_fail_err(e, EXIT_BERTH);
	const char *ref = dest ? dest : name;
	const char *at = strchr(ref, '@'), *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');
	const char *tag = at ? at + 1 : (colon && (!slash || colon > slash)) ? colon + 1 : "latest";
	if (quiet)
		printf("%s\n", digest);
	else
		printf("%.*s: digest: %s size: %lld\n", (int)strcspn(tag, "@"), tag, digest, (long long)size);
	return 0;
}

const CliCommand cmd_push = {
	.name = "push", .run = run_push, .summary = "Upload an image to a registry",
	.usage = "Usage: berth push [--tls-verify=false] [--cert-dir DIR] [--creds USER:PASS] [-q] IMAGE[:TAG] [DESTINATION]\n\n"
		 "Upload IMAGE to the registry its name points at (host[:port]/repo[:tag]), or to\n"
		 "DESTINATION.  Credentials come from `berth login` (Docker's config.json).\n"
		 "  --tls-verify=false   do not verify TLS certificates; allow plain http\n"
		 "  --cert-dir DIR       CA certificates (*.crt) and client NAME.cert/NAME.key for the\n"
		 "                       registry (default: certs.d/HOST:PORT as docker and podman)\n"
		 "  -q, --quiet          print only the manifest digest\n",
};
