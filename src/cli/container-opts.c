/* container-opts.c - parsing of the create/run options (see container-opts.h).
 * Values are checked here so that a bad one is one clear line before any
 * state is written: sizes, CPUs, ports, restart policies, env files. */
#include "container-opts.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/parse.h"
#include "../runtime/runtime.h"
#include "../shared/json.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_NAME = 1000, OPT_ENV_FILE, OPT_HOSTNAME, OPT_TMPFS, OPT_NETWORK, OPT_MEMORY_SWAP, OPT_CPUS,
	OPT_CPU_SHARES, OPT_PIDS, OPT_READ_ONLY, OPT_ENTRYPOINT, OPT_CAP_ADD, OPT_CAP_DROP,
	OPT_PRIVILEGED, OPT_INIT, OPT_RESTART, OPT_RM, OPT_STOP_SIGNAL,
};

static const struct option long_opts[] = {
	{ "detach", no_argument, 0, 'd' }, { "interactive", no_argument, 0, 'i' },
	{ "tty", no_argument, 0, 't' }, { "name", required_argument, 0, OPT_NAME },
	{ "env", required_argument, 0, 'e' }, { "env-file", required_argument, 0, OPT_ENV_FILE },
	{ "workdir", required_argument, 0, 'w' }, { "user", required_argument, 0, 'u' },
	{ "hostname", required_argument, 0, OPT_HOSTNAME }, { "volume", required_argument, 0, 'v' },
	{ "tmpfs", required_argument, 0, OPT_TMPFS }, { "publish", required_argument, 0, 'p' },
	{ "network", required_argument, 0, OPT_NETWORK }, { "net", required_argument, 0, OPT_NETWORK },
	{ "memory", required_argument, 0, 'm' }, { "memory-swap", required_argument, 0, OPT_MEMORY_SWAP },
	{ "cpus", required_argument, 0, OPT_CPUS }, { "cpu-shares", required_argument, 0, OPT_CPU_SHARES },
	{ "pids-limit", required_argument, 0, OPT_PIDS }, { "read-only", no_argument, 0, OPT_READ_ONLY },
	{ "entrypoint", required_argument, 0, OPT_ENTRYPOINT }, { "cap-add", required_argument, 0, OPT_CAP_ADD },
	{ "cap-drop", required_argument, 0, OPT_CAP_DROP }, { "privileged", no_argument, 0, OPT_PRIVILEGED },
	{ "init", no_argument, 0, OPT_INIT }, { "restart", required_argument, 0, OPT_RESTART },
	{ "rm", no_argument, 0, OPT_RM }, { "label", required_argument, 0, 'l' },
	{ "stop-signal", required_argument, 0, OPT_STOP_SIGNAL },
	{ 0, 0, 0, 0 },
};

static json_t *arr(json_t *obj, const char *key)
{
	json_t *a = json_object_get(obj, key);
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(obj, key, a);
	}
	return a;
}

/* "K=V" as is; "K" alone takes K from this environment (docker -e K). */
static void add_env(json_t *env, const char *kv)
{
	if (strchr(kv, '=')) {
		json_array_append_new(env, json_string(kv));
		return;
	}
	const char *v = getenv(kv);
	if (v) {
		_cleanup_free_ char *s = xasprintf("%s=%s", kv, v);
		json_array_append_new(env, json_string(s));
	}
}

static int add_env_file(const CliCommand *cmd, json_t *env, const char *path)
{
	_cleanup_free_ char *buf = NULL;
	Error *e = NULL;
	if (fs_read_file(path, BERTH_MAX_ENV_FILE, &buf, NULL, &e) < 0) {
		int r = cli_usage_error(cmd, "env file: %s", err_msg(e));
		err_free(e);
		return r;
	}
	int lineno = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		line += strspn(line, " \t");
		size_t len = strlen(line);
		while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = 0;
		if (!*line || *line == '#')
			continue;
		if (*line == '=')
			return cli_usage_error(cmd, "env file '%s' line %d: variable name is empty", path, lineno);
		add_env(env, line);
	}
	return 0;
}

static int parse_restart(const CliCommand *cmd, json_t *hc, const char *v)
{
	_cleanup_free_ char *name = xstrdup(v);
	char *colon = strchr(name, ':');
	int64_t max = 0;
	if (colon) {
		*colon = 0;
		if (strcmp(name, "on-failure") || parse_int64(colon + 1, &max) < 0 || max < 0)
			return cli_usage_error(cmd, "invalid restart policy '%s'", v);
	}
	if (strcmp(name, "no") && strcmp(name, "on-failure") && strcmp(name, "always") &&
	    strcmp(name, "unless-stopped"))
		return cli_usage_error(cmd, "invalid restart policy '%s' (no, on-failure[:N], always, unless-stopped)", v);
	json_object_set_new(hc, "RestartPolicy", json_pack("{s:s,s:I}", "Name", name, "MaximumRetryCount", (json_int_t)max));
	return 0;
}

static int parse_one(const CliCommand *cmd, int c, const char *v, json_t *cfg, json_t *hc, json_t *req,
		     CreateOpts *o)
{
	int64_t n;
	Error *e = NULL;
	NetPort port;
	switch (c) {
	case 'd': o->detach = true; break;
	case 'i': o->interactive = true; json_object_set_new(cfg, "OpenStdin", json_true()); break;
	case 't': o->tty = true; json_object_set_new(cfg, "Tty", json_true()); break;
	case OPT_RM: o->rm = true; json_object_set_new(hc, "AutoRemove", json_true()); break;
	case OPT_NAME: json_object_set_new(req, "Name", json_string(v)); break;
	case 'e': add_env(arr(cfg, "Env"), v); break;
	case OPT_ENV_FILE: return add_env_file(cmd, arr(cfg, "Env"), v);
	case 'w':
		if (v[0] != '/')
			return cli_usage_error(cmd, "the working directory '%s' is not an absolute path", v);
		json_object_set_new(cfg, "WorkingDir", json_string(v));
		break;
	case 'u': json_object_set_new(cfg, "User", json_string(v)); break;
	case OPT_HOSTNAME: json_object_set_new(cfg, "Hostname", json_string(v)); break;
	case 'v': json_array_append_new(arr(hc, "Binds"), json_string(v)); break;
	case OPT_TMPFS: json_array_append_new(arr(hc, "Tmpfs"), json_string(v)); break;
	case 'p':
		if (net_port_parse(v, &port, &e) < 0) {
			int r = cli_usage_error(cmd, "%s", err_msg(e));
			err_free(e);
			return r;
		}
		json_array_append_new(arr(hc, "PortBindings"), json_string(v));
		break;
	case OPT_NETWORK: json_object_set_new(hc, "NetworkMode", json_string(v)); break;
	case 'm':
		if (parse_size(v, &n) < 0 || n < 6 * 1024 * 1024)
			return cli_usage_error(cmd, "invalid memory size '%s'%s", v,
					       parse_size(v, &n) < 0 ? " (use a number with b, k, m or g)" : ": the minimum is 6m");
		json_object_set_new(hc, "Memory", json_integer(n));
		break;
	case OPT_MEMORY_SWAP:
		if (!strcmp(v, "-1"))
			n = -1;
		else if (parse_size(v, &n) < 0)
			return cli_usage_error(cmd, "invalid memory-swap size '%s'", v);
		json_object_set_new(hc, "MemorySwap", json_integer(n));
		break;
	case OPT_CPUS:
		if (parse_cpus(v, &n) < 0 || n <= 0)
			return cli_usage_error(cmd, "invalid value '%s' for --cpus: a positive number like 0.5", v);
		json_object_set_new(hc, "NanoCpus", json_integer(n * 1000000));
		break;
	case OPT_CPU_SHARES:
		if (parse_int64(v, &n) < 0 || n < 2)
			return cli_usage_error(cmd, "invalid value '%s' for --cpu-shares", v);
		json_object_set_new(hc, "CpuShares", json_integer(n));
		break;
	case OPT_PIDS:
		if (parse_int64(v, &n) < 0 || n < -1 || n == 0)
			return cli_usage_error(cmd, "invalid value '%s' for --pids-limit", v);
		json_object_set_new(hc, "PidsLimit", json_integer(n));
		break;
	case OPT_READ_ONLY: json_object_set_new(hc, "ReadonlyRootfs", json_true()); break;
	case OPT_ENTRYPOINT: {
		json_t *ep = json_array();
		if (*v)
			json_array_append_new(ep, json_string(v));
		json_object_set_new(cfg, "Entrypoint", ep);
		break;
	}
	case OPT_CAP_ADD: json_array_append_new(arr(hc, "CapAdd"), json_string(v)); break;
	case OPT_CAP_DROP: json_array_append_new(arr(hc, "CapDrop"), json_string(v)); break;
	case OPT_PRIVILEGED: json_object_set_new(hc, "Privileged", json_true()); break;
	case OPT_INIT: json_object_set_new(hc, "Init", json_true()); break;
	case OPT_RESTART: return parse_restart(cmd, hc, v);
	case 'l': {
		json_t *labels = json_obj_ensure(cfg, "Labels");
		_cleanup_free_ char *kv = xstrdup(v);
		char *eq = strchr(kv, '=');
		if (eq)
			*eq++ = 0;
		json_object_set_new(labels, kv, json_string(eq ? eq : ""));
		break;
	}
	case OPT_STOP_SIGNAL: {
		int sig;
		if (parse_signal(v, &sig) < 0)
			return cli_usage_error(cmd, "invalid stop signal '%s'", v);
		json_object_set_new(cfg, "StopSignal", json_string(v));
		break;
	}
	default:
		return cli_usage_error(cmd, "unknown option");
	}
	return 0;
}

int create_opts_parse(const CliCommand *cmd, int argc, char **argv, bool is_run, CreateOpts *o)
{
	memset(o, 0, sizeof(*o));
	json_t *req = json_object();
	json_t *cfg = json_obj_ensure(req, "Config");
	json_t *hc = json_obj_ensure(req, "HostConfig");
	o->request = req;
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+dite:w:u:v:p:m:l:", long_opts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
		if (!is_run && (c == 'd' || c == OPT_RM)) {
			if (c == 'd')
				return cli_usage_error(cmd, "unknown option '-d'");
		}
		int r = parse_one(cmd, c, optarg, cfg, hc, req, o);
		if (r)
			return r;
	}
	if (optind >= argc)
		return cli_usage_error(cmd, "requires an IMAGE argument");
	if (o->rm && json_object_get(hc, "RestartPolicy") &&
	    strcmp(json_str(json_object_get(hc, "RestartPolicy"), "Name"), "no"))
		return cli_usage_error(cmd, "conflicting options: --restart and --rm");
	o->first_arg = optind;
	json_object_set_new(req, "Image", json_string(argv[optind]));
	if (optind + 1 < argc) {
		json_t *cmdv = json_array();
		for (int i = optind + 1; i < argc; i++)
			json_array_append_new(cmdv, json_string(argv[i]));
		json_object_set_new(cfg, "Cmd", cmdv);
	}
	return 0;
}

void create_opts_release(CreateOpts *o)
{
	if (o->request)
		json_decref(o->request);
	o->request = NULL;
}

int exit_code_for_error(const Error *e)
{
	if (!e)
		return EXIT_BERTH;
	if (e->code == ENOENT && strstr(e->msg, "exec"))
		return EXIT_NOT_FOUND;
	if (e->code == EACCES && strstr(e->msg, "exec"))
		return EXIT_CANNOT_INVOKE;
	return EXIT_BERTH;
}
