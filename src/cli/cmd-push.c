/* cmd-push.c - `berth push IMAGE[:TAG]`: upload an image to its registry. */
#include "cli.h"
#include "regopts.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int run_push(Cli *cli, int argc, char **argv)
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
				return cli_usage_error(&cmd_push, "--tls-verify: true or false");
			break;
		case 'q': quiet = true; break;
		case 'c': creds = xstrdup(optarg); break;
		default: return cli_usage_error(&cmd_push, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage_error(&cmd_push, "requires IMAGE [DESTINATION]");
	if (quiet)
		o.progress = NULL;
	if (creds) {
		char *colon = strchr(creds, ':');
		if (!colon)
			return cli_usage_error(&cmd_push, "--creds USER:PASSWORD");
		*colon = '\0';
		o.user = creds;
		o.password = colon + 1;
	}
	const char *name = argv[optind], *dest = optind + 1 < argc ? argv[optind + 1] : NULL;
	Error *e = NULL;
	ImgStore *s;
	if (img_store_open(cli->root, &s, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	_cleanup_free_ char *digest = NULL;
	int64_t size = 0;
	int r = reg_push(s, name, dest, &o, &digest, &size, &e);
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
