/* cmd-chart-install.c - `berth chart install` and `berth chart upgrade`:
 * helm's flags and printed text; the work is chart/release-action.c.
 *
 *   install [NAME] CHART [--generate-name] [-n NS] [--create-namespace]
 *           [-f F]... [--set K=V]... [--set-string|--set-json|--set-file ...]
 *           [--dry-run] [--wait] [--timeout D] [--atomic] [--no-hooks]
 *           [--description D] [--skip-crds] [--kubeconfig P] [-o table|json|yaml]
 *   upgrade NAME CHART [--install] [--reuse-values] [--reset-values]
 *           [--history-max N] (and the install flags)
 */
#include "cli.h"
#include "chart-release.h"
#include "../base/cleanup.h"
#include "../chart/release.h"
#include "../shared/json.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_MULTI 64

typedef struct InstallArgs {
	RelConn conn;
	RelOptions o;
	RelOut out;
	bool generate_name;
	const char *vf[MAX_MULTI + 1], *set[MAX_MULTI + 1], *set_string[MAX_MULTI + 1], *set_json[MAX_MULTI + 1],
		*set_file[MAX_MULTI + 1];
	int nvf, nset, nss, nsj, nsf;
} InstallArgs;

enum {
	OPT_KUBECONFIG = RELOPT_KUBECONFIG, OPT_CREATE_NS, OPT_SET, OPT_SET_STRING, OPT_SET_JSON, OPT_SET_FILE,
	OPT_DRY_RUN, OPT_WAIT, OPT_TIMEOUT, OPT_ATOMIC, OPT_DESC, OPT_NO_HOOKS, OPT_INSTALL, OPT_REUSE, OPT_RESET,
	OPT_HISTORY_MAX, OPT_SKIP_CRDS,
};

static void add_multi(const char **arr, int *n, const char *v)
{
	if (*n < MAX_MULTI)
		arr[(*n)++] = v;
}

/* Parses the shared flags; returns the index of the first positional
 * argument, or -1 after printing a usage error. */
static int parse(int argc, char **argv, bool upgrade, InstallArgs *a)
{
	static const struct option opts[] = {
		{ "namespace", required_argument, 0, 'n' }, { "values", required_argument, 0, 'f' },
		{ "output", required_argument, 0, 'o' }, { "generate-name", no_argument, 0, 'g' },
		{ "kubeconfig", required_argument, 0, OPT_KUBECONFIG },
		{ "create-namespace", no_argument, 0, OPT_CREATE_NS }, { "set", required_argument, 0, OPT_SET },
		{ "set-string", required_argument, 0, OPT_SET_STRING }, { "set-json", required_argument, 0, OPT_SET_JSON },
		{ "set-file", required_argument, 0, OPT_SET_FILE }, { "dry-run", no_argument, 0, OPT_DRY_RUN },
		{ "wait", no_argument, 0, OPT_WAIT }, { "timeout", required_argument, 0, OPT_TIMEOUT },
		{ "atomic", no_argument, 0, OPT_ATOMIC }, { "description", required_argument, 0, OPT_DESC },
		{ "no-hooks", no_argument, 0, OPT_NO_HOOKS }, { "install", no_argument, 0, 'i' },
		{ "reuse-values", no_argument, 0, OPT_REUSE }, { "reset-values", no_argument, 0, OPT_RESET },
		{ "history-max", required_argument, 0, OPT_HISTORY_MAX }, { "skip-crds", no_argument, 0, OPT_SKIP_CRDS },
		{ 0, 0, 0, 0 },
	};
	const char *what = upgrade ? "upgrade" : "install";
	a->o.timeout_s = 300;
	a->o.history_max = 10;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, upgrade ? "n:f:o:i" : "n:f:o:g", opts, NULL)) != -1) {
		switch (c) {
		case 'n': a->conn.ns = optarg; break;
		case 'f': add_multi(a->vf, &a->nvf, optarg); break;
		case 'o':
			if (relcli_parse_output(optarg, &a->out) < 0) {
				cli_usage_error(&cmd_chart, "%s: invalid format type \"%s\"", what, optarg);
				return -1;
			}
			break;
		case 'g': a->generate_name = true; break;
		case 'i': a->o.install = true; break;
		case OPT_KUBECONFIG: a->conn.kubeconfig = optarg; break;
		case OPT_CREATE_NS: a->o.create_namespace = true; break;
		case OPT_SET: add_multi(a->set, &a->nset, optarg); break;
		case OPT_SET_STRING: add_multi(a->set_string, &a->nss, optarg); break;
		case OPT_SET_JSON: add_multi(a->set_json, &a->nsj, optarg); break;
		case OPT_SET_FILE: add_multi(a->set_file, &a->nsf, optarg); break;
		case OPT_DRY_RUN: a->o.dry_run = true; break;
		case OPT_WAIT: a->o.wait = true; break;
		case OPT_ATOMIC: a->o.atomic = true; break;
		case OPT_DESC: a->o.description = optarg; break;
		case OPT_NO_HOOKS: a->o.no_hooks = true; break;
		case OPT_REUSE: a->o.reuse_values = true; break;
		case OPT_RESET: a->o.reset_values = true; break;
		case OPT_SKIP_CRDS: a->o.no_crds = true; break;
		case OPT_TIMEOUT:
			if ((a->o.timeout_s = relcli_duration(optarg)) < 0) {
				cli_usage_error(&cmd_chart, "%s: invalid argument \"%s\" for \"--timeout\"", what, optarg);
				return -1;
			}
			break;
		case OPT_HISTORY_MAX: a->o.history_max = atoi(optarg); break;
		default:
			cli_usage_error(&cmd_chart, "%s: unknown flag: %s", what, argv[optind - 1]);
			return -1;
		}
	}
	return optind;
}

static int load_inputs(InstallArgs *a, const char *chart_path, Chart **chart, json_t **vals, Error **err)
{
	ChartValueOpts vo = { .value_files = a->vf, .set = a->set, .set_string = a->set_string,
			      .set_json = a->set_json, .set_file = a->set_file };
	if (chart_load(chart_path, chart, err) < 0)
		return -EINVAL;
	return chart_user_values(&vo, vals, err);
}

static int run(InstallArgs *a, bool upgrade, const char *name, const char *chart_path)
{
	const char *prefix = upgrade ? "UPGRADE FAILED: " : "INSTALLATION FAILED: ";
	Error *e = NULL;
	_cleanup_chart_ Chart *ch = NULL;
	_cleanup_json_ json_t *vals = NULL, *rel = NULL;
	if (load_inputs(a, chart_path, &ch, &vals, &e) < 0)
		return relcli_fail(prefix, e);
	_cleanup_free_ char *gen = NULL;
	if (!name)
		name = gen = xasprintf("%s-%lld", ch->name, (long long)time(NULL));
	_cleanup_(kube_client_freep) KubeClient *kc = NULL;
	if (relcli_client(&a->conn, &kc, &e) < 0)
		return relcli_fail(prefix, e);
	a->o.name = name;
	a->o.ns = relcli_ns(&a->conn);
	a->o.chart = ch;
	a->o.values = vals;
	bool installed = false;
	int rc = upgrade ? release_upgrade(kc, &a->o, &rel, &installed, &e) : release_install(kc, &a->o, &rel, &e);
	if (rc < 0)
		return relcli_fail(prefix, e);
	if (a->out == RELOUT_TABLE && upgrade)
		printf(installed ? "Release \"%s\" does not exist. Installing it now.\n"
				 : "Release \"%s\" has been upgraded. Happy Helming!\n", name);
	StatusFlags f = { 0 };
	relcli_print_release(rel, a->out, &f);
	return 0;
}

int chart_cmd_install(int argc, char **argv)
{
	InstallArgs a = { 0 };
	int i = parse(argc, argv, false, &a);
	if (i < 0)
		return 1;
	int rest = argc - i;
	if (a.generate_name) {
		if (rest != 1)
			return cli_usage_error(&cmd_chart, "install: expected at most one argument, unexpected arguments: "
					       "with --generate-name give only CHART");
		return run(&a, false, NULL, argv[i]);
	}
	if (rest == 1) {
		fprintf(stderr, "Error: INSTALLATION FAILED: must either provide a name or specify --generate-name\n");
		return 1;
	}
	if (rest != 2)
		return cli_usage_error(&cmd_chart, "install: requires NAME CHART (or --generate-name CHART)");
	return run(&a, false, argv[i], argv[i + 1]);
}

int chart_cmd_upgrade(int argc, char **argv)
{
	InstallArgs a = { 0 };
	int i = parse(argc, argv, true, &a);
	if (i < 0)
		return 1;
	if (argc - i != 2)
		return cli_usage_error(&cmd_chart, "upgrade: \"helm upgrade\" requires 2 arguments: NAME CHART");
	return run(&a, true, argv[i], argv[i + 1]);
}
