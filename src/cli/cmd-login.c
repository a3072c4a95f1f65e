/* cmd-login.c - `berth login [-u U] [-p P | --password-stdin] REGISTRY`:
 * check credentials against a registry and store them in Docker's
 * config.json format. */
#include "cli.h"
#include "regopts.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static char *read_line(FILE *f)
{
	char buf[4096];
	if (!fgets(buf, sizeof(buf), f))
		return NULL;
	buf[strcspn(buf, "\r\n")] = '\0';
	return xstrdup(buf);
}

static int run_login(Cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option opts[] = {
		{ "username", required_argument, 0, 'u' }, { "password", required_argument, 0, 'p' },
		{ "password-stdin", no_argument, 0, 'S' }, { "tls-verify", optional_argument, 0, 't' }, { "cert-dir", required_argument, 0, 'C' }, { 0, 0, 0, 0 },
	};
	RegClientOpts o;
	cli_reg_opts_init(&o, true);
	_cleanup_free_ char *user = NULL, *pass = NULL;
	bool from_stdin = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "u:p:", opts, NULL)) != -1) {
		switch (c) {
		case 'u': user = xstrdup(optarg); break;
		case 'p': pass = xstrdup(optarg); break;
		case 'S': from_stdin = true; break;
		case 'C': o.cert_dir = optarg; break;
		case 't':
			if (cli_tls_verify_parse(optarg, &o.tls_verify) < 0)
				return cli_usage_error(&cmd_login, "--tls-verify: true or false");
			break;
		default: return cli_usage_error(&cmd_login, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error(&cmd_login, "at most one REGISTRY");
	if (from_stdin && pass)
		return cli_usage_error(&cmd_login, "--password and --password-stdin are exclusive");
	const char *registry = optind < argc ? argv[optind] : "docker.io";
	_cleanup_free_ char *reg = NULL;
	Error *e = NULL;
	if (reg_ref_registry(registry, &reg, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	if (!user) {
		fprintf(stderr, "Username: ");
		user = read_line(stdin);
	}
	if (from_stdin || !pass) {
		if (!from_stdin)
			fprintf(stderr, "Password: ");
		pass = read_line(stdin);
	}
	if (!user || !*user || !pass)
		return cli_fail("login: username and password required");
	o.user = user;
	o.password = pass;
	if (reg_login_check(reg, &o, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	if (reg_creds_put(reg, user, pass, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	puts("Login Succeeded");
	return 0;
}

const CliCommand cmd_login = {
	.name = "login", .run = run_login, .summary = "Log in to a registry",
	.usage = "Usage: berth login [-u USER] [-p PASSWORD | --password-stdin] [--tls-verify=false] [--cert-dir DIR] [REGISTRY]\n\n"
		 "Check the credentials against REGISTRY (default docker.io) and store them in\n"
		 "$REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json or ~/.docker/config.json.\n",
};
