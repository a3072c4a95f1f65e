/* cmd-registry.c - `berth registry serve|gc|user|token`: run and manage the
 * OCI distribution server of src/registry/.  The registry root defaults to
 * <root>/registry. */
#include "cli.h"
#include "../base/log.h"
#include "../base/parse.h"
#include "../registry/registry.h"
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static char *default_root(Cli *cli, const char *given)
{
	return given ? xstrdup(given) : xasprintf("%s/registry", cli->root);
}

static int parse_auth(const char *s, RegAuthMode *ret)
{
	if (!strcmp(s, "none"))
		*ret = REG_AUTH_NONE;
	else if (!strcmp(s, "basic"))
		*ret = REG_AUTH_BASIC;
	else if (!strcmp(s, "token"))
		*ret = REG_AUTH_TOKEN;
	else
		return -EINVAL;
	return 0;
}

static int serve(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "addr", required_argument, 0, 'a' }, { "root", required_argument, 0, 'r' },
		{ "tls-cert", required_argument, 0, 'c' }, { "tls-key", required_argument, 0, 'k' },
		{ "auth", required_argument, 0, 'A' }, { "users", required_argument, 0, 'u' },
		{ "acl", required_argument, 0, 'l' }, { "realm", required_argument, 0, 'R' },
		{ "service", required_argument, 0, 's' }, { "token-ttl", required_argument, 0, 't' }, { 0, 0, 0, 0 },
	};
	RegServerOpts o = { .addr = "127.0.0.1:5000" };
	const char *root = NULL;
	int c;
	int64_t ms;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': o.addr = optarg; break;
		case 'r': root = optarg; break;
		case 'c': o.tls_cert = optarg; break;
		case 'k': o.tls_key = optarg; break;
		case 'u': o.users_file = optarg; break;
		case 'l': o.acl_file = optarg; break;
		case 'R': o.realm = optarg; break;
		case 's': o.service = optarg; break;
		case 'A':
			if (parse_auth(optarg, &o.auth) < 0)
				return cli_usage_error(&cmd_registry, "--auth: none, basic or token");
			break;
		case 't':
			if (parse_duration_ms(optarg, &ms) < 0 || ms < 1000)
				return cli_usage_error(&cmd_registry, "--token-ttl: a duration like 5m");
			o.token_ttl = ms / 1000;
			break;
		default: return cli_usage_error(&cmd_registry, "unknown option '%s'", argv[optind - 1]);
		}
	}
	_cleanup_free_ char *r = default_root(cli, root);
	o.root = r;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (log_get_level() < LOG_INFO_)
		log_set_level(LOG_INFO_);
	Error *e = NULL;
	RegServer *srv;
	if (reg_server_start(&o, &srv, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	log_info("registry listening on %s://%.*s:%u (root %s)", o.tls_cert ? "https" : "http",
		 (int)strcspn(o.addr, ":"), o.addr, reg_server_port(srv), r);
	/* wake twice a second so an idle server can give memory back */
	struct timespec tick = { .tv_nsec = 500 * 1000 * 1000 };
	while (sigtimedwait(&set, NULL, &tick) < 0)
		reg_server_idle(srv);
	reg_server_stop(srv);
	return 0;
}

static int gc(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, 0, 'r' }, { "dry-run", no_argument, 0, 'n' },
		{ "delete-untagged", no_argument, 0, 'u' }, { "grace", required_argument, 0, 'g' }, { 0, 0, 0, 0 },
	};
	const char *root = NULL;
	bool dry = false, untagged = false;
	int64_t grace_ms = 3600 * 1000;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 'n': dry = true; break;
		case 'u': untagged = true; break;
		case 'g':
			if (parse_duration_ms(optarg, &grace_ms) < 0)
				return cli_usage_error(&cmd_registry, "--grace: a duration like 1h or 0");
			break;
		default: return cli_usage_error(&cmd_registry, "unknown option '%s'", argv[optind - 1]);
		}
	}
	_cleanup_free_ char *r = default_root(cli, root);
	_cleanup_strv_ char **lines = NULL;
	Error *e = NULL;
	if (reg_gc(r, dry, untagged, grace_ms / 1000, &lines, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	for (char **l = lines; *l; l++)
		puts(*l);
	return 0;
}

static char *read_password_stdin(void)
{
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, stdin);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return xstrdup(buf);
}

static int user(Cli *cli, int argc, char **argv)
{
	(void)cli;
	static const struct option opts[] = {
		{ "users", required_argument, 0, 'u' }, { "password", required_argument, 0, 'p' },
		{ "password-stdin", no_argument, 0, 'S' }, { "hash", required_argument, 0, 'H' }, { 0, 0, 0, 0 },
	};
	const char *file = NULL, *pass = NULL, *hash = NULL;
	bool from_stdin = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		switch (c) {
		case 'u': file = optarg; break;
		case 'p': pass = optarg; break;
		case 'S': from_stdin = true; break;
		case 'H': hash = optarg; break;
		default: return cli_usage_error(&cmd_registry, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!file || optind >= argc)
		return cli_usage_error(&cmd_registry, "user: want add|del|list --users FILE [NAME]");
	const char *op = argv[optind], *name = optind + 1 < argc ? argv[optind + 1] : NULL;
	Error *e = NULL;
	int r;
	if (!strcmp(op, "list")) {
		_cleanup_strv_ char **names = NULL;
		if (reg_user_list(file, &names, &e) < 0)
			return cli_fail_err(e, EXIT_BERTH);
		for (char **n = names; *n; n++)
			puts(*n);
		return 0;
	}
	if (!name)
		return cli_usage_error(&cmd_registry, "user %s: NAME required", op);
	if (!strcmp(op, "add")) {
		_cleanup_free_ char *p = from_stdin ? read_password_stdin() : pass ? xstrdup(pass) : NULL;
		if (!p)
			return cli_usage_error(&cmd_registry, "user add: -p PASSWORD or --password-stdin");
		r = reg_user_add(file, name, p, hash, &e);
	} else if (!strcmp(op, "del")) {
		r = reg_user_del(file, name, &e);
	} else {
		return cli_usage_error(&cmd_registry, "user: unknown operation '%s'", op);
	}
	return r < 0 ? cli_fail_err(e, EXIT_BERTH) : 0;
}

static int token(Cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, 0, 'r' }, { "user", required_argument, 0, 'u' },
		{ "expires", required_argument, 0, 'e' }, { 0, 0, 0, 0 },
	};
	const char *root = NULL, *u = NULL;
	int64_t ms = 3600 * 1000;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 'u': u = optarg; break;
		case 'e':
			if (parse_duration_ms(optarg, &ms) < 0 || ms < 1000)
				return cli_usage_error(&cmd_registry, "--expires: a duration like 1h");
			break;
		default: return cli_usage_error(&cmd_registry, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!u)
		return cli_usage_error(&cmd_registry, "token: --user NAME required");
	_cleanup_free_ char *r = default_root(cli, root), *tok = NULL;
	Error *e = NULL;
	if (reg_temp_token(r, u, ms / 1000, &tok, &e) < 0)
		return cli_fail_err(e, EXIT_BERTH);
	puts(tok);
	return 0;
}

static int run_registry(Cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(&cmd_registry, "requires a subcommand (serve, gc, user, token)");
	const char *sub = argv[1];
	if (!strcmp(sub, "serve"))
		return serve(cli, argc - 1, argv + 1);
	if (!strcmp(sub, "gc"))
		return gc(cli, argc - 1, argv + 1);
	if (!strcmp(sub, "user"))
		return user(cli, argc - 1, argv + 1);
	if (!strcmp(sub, "token"))
		return token(cli, argc - 1, argv + 1);
	return cli_usage_error(&cmd_registry, "unknown subcommand '%s'", sub);
}

const CliCommand cmd_registry = {
	.name = "registry", .run = run_registry, .summary = "Run and manage an image registry",
	.usage = "Usage: berth registry serve [--addr HOST:PORT] [--root DIR] [--tls-cert F --tls-key F]\n"
		 "                            [--auth none|basic|token] [--users FILE] [--acl FILE]\n"
		 "                            [--realm URL] [--service NAME] [--token-ttl 5m]\n"
		 "       berth registry gc [--root DIR] [--dry-run] [--delete-untagged] [--grace 1h]\n"
		 "       berth registry user add|del|list --users FILE [NAME] [-p PASSWORD | --password-stdin]\n"
		 "                               [--hash bcrypt|yescrypt]\n"
		 "       berth registry token [--root DIR] --user NAME [--expires 1h]\n\n"
		 "An OCI distribution registry (default root <root>/registry, address 127.0.0.1:5000).\n"
		 "ACL lines: PATTERN USER ACTIONS, e.g. 'team-a/* alice pull,push,delete',\n"
		 "'* * pull' (anonymous pull), '* @users pull' (any signed-in user).\n"
		 "`token` prints a temporary password for USER that stops working after --expires.\n",
};
