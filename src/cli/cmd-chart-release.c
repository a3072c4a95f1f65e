/* cmd-chart-release.c - the release commands of `berth chart` besides
 * install/upgrade, with helm's flags and printed text:
 *
 *   list [-n NS | -A] [-a] [--deployed|--failed|--uninstalled|--superseded|--pending] [-q] [-o F]
 *   status NAME [--revision N] [--show-desc] [-o F]
 *   history NAME [--max N] [-o F]
 *   get values|manifest|notes|hooks|all NAME [--revision N] [-a] [-o F]
 *   rollback NAME [REVISION] [--dry-run] [--wait] [--timeout D] [--no-hooks]
 *   uninstall NAME... [--keep-history] [--dry-run] [--no-hooks] [--timeout D] [--description D]
 *   test NAME [--timeout D]
 */
#include "cli.h"
#include "chart-release.h"
#include "../base/cleanup.h"
#include "../chart/release.h"
#include "../shared/json.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct RelArgs {
	RelConn conn;
	RelOut out;
	RelOptions o;
	int revision, max;
	bool all, all_ns, short_, show_desc;
	unsigned mask;           /* list: status filter bits, 0 = default */
	int first;               /* index of the first positional argument */
} RelArgs;

enum {
	M_DEPLOYED = 1, M_FAILED = 2, M_UNINSTALLED = 4, M_SUPERSEDED = 8, M_PENDING = 16, M_UNINSTALLING = 32,
	M_ALL = 63,
};

enum {
	OPT_REVISION = RELOPT_KUBECONFIG + 1, OPT_KEEP, OPT_DRY_RUN, OPT_NO_HOOKS, OPT_TIMEOUT, OPT_WAIT, OPT_MAX,
	OPT_SHOW_DESC, OPT_DESC, OPT_DEPLOYED, OPT_FAILED, OPT_UNINSTALLED, OPT_SUPERSEDED, OPT_PENDING,
	OPT_UNINSTALLING, OPT_HISTORY_MAX,
};

static int parse(const char *what, int argc, char **argv, RelArgs *a)
{
	static const struct option opts[] = {
		{ "namespace", required_argument, 0, 'n' }, { "output", required_argument, 0, 'o' },
		{ "all", no_argument, 0, 'a' }, { "all-namespaces", no_argument, 0, 'A' }, { "short", no_argument, 0, 'q' },
		{ "kubeconfig", required_argument, 0, RELOPT_KUBECONFIG }, { "revision", required_argument, 0, OPT_REVISION },
		{ "keep-history", no_argument, 0, OPT_KEEP }, { "dry-run", no_argument, 0, OPT_DRY_RUN },
		{ "no-hooks", no_argument, 0, OPT_NO_HOOKS }, { "timeout", required_argument, 0, OPT_TIMEOUT },
		{ "wait", no_argument, 0, OPT_WAIT }, { "max", required_argument, 0, OPT_MAX },
		{ "show-desc", no_argument, 0, OPT_SHOW_DESC }, { "description", required_argument, 0, OPT_DESC },
		{ "deployed", no_argument, 0, OPT_DEPLOYED }, { "failed", no_argument, 0, OPT_FAILED },
		{ "uninstalled", no_argument, 0, OPT_UNINSTALLED }, { "superseded", no_argument, 0, OPT_SUPERSEDED },
		{ "pending", no_argument, 0, OPT_PENDING }, { "uninstalling", no_argument, 0, OPT_UNINSTALLING },
		{ "history-max", required_argument, 0, OPT_HISTORY_MAX }, { 0, 0, 0, 0 },
	};
	a->o.timeout_s = 300;
	a->max = 256;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "n:o:aAq", opts, NULL)) != -1) {
		switch (c) {
		case 'n': a->conn.ns = optarg; break;
		case 'o':
			if (relcli_parse_output(optarg, &a->out) < 0)
				return cli_usage_error(&cmd_chart, "%s: invalid format type \"%s\"", what, optarg), -1;
			break;
		case 'a': a->all = true; break;
		case 'A': a->all_ns = true; break;
		case 'q': a->short_ = true; break;
		case RELOPT_KUBECONFIG: a->conn.kubeconfig = optarg; break;
		case OPT_REVISION: a->revision = atoi(optarg); break;
		case OPT_KEEP: a->o.keep_history = true; break;
		case OPT_DRY_RUN: a->o.dry_run = true; break;
		case OPT_NO_HOOKS: a->o.no_hooks = true; break;
		case OPT_WAIT: a->o.wait = true; break;
		case OPT_MAX: a->max = atoi(optarg); break;
		case OPT_SHOW_DESC: a->show_desc = true; break;
		case OPT_DESC: a->o.description = optarg; break;
		case OPT_DEPLOYED: a->mask |= M_DEPLOYED; break;
		case OPT_FAILED: a->mask |= M_FAILED; break;
		case OPT_UNINSTALLED: a->mask |= M_UNINSTALLED; break;
		case OPT_SUPERSEDED: a->mask |= M_SUPERSEDED; break;
		case OPT_PENDING: a->mask |= M_PENDING; break;
		case OPT_UNINSTALLING: a->mask |= M_UNINSTALLING; break;
		case OPT_HISTORY_MAX: a->o.history_max = atoi(optarg); break;
		case OPT_TIMEOUT:
			if ((a->o.timeout_s = relcli_duration(optarg)) < 0)
				return cli_usage_error(&cmd_chart, "%s: invalid argument \"%s\" for \"--timeout\"", what, optarg), -1;
			break;
		default:
			return cli_usage_error(&cmd_chart, "%s: unknown flag: %s", what, argv[optind - 1]), -1;
		}
	}
	a->first = optind;
	return 0;
}

static int connect(RelArgs *a, KubeClient **kc)
{
	Error *e = NULL;
	if (relcli_client(&a->conn, kc, &e) < 0)
		return relcli_fail(NULL, e);
	return 0;
}

/* The release at --revision (0: the latest). */
static int load(KubeClient *kc, RelArgs *a, const char *name, json_t **rel, Error **err)
{
	const char *ns = relcli_ns(&a->conn);
	if (a->revision > 0)
		return release_store_get(kc, ns, name, a->revision, rel, err);
	return release_store_last(kc, ns, name, rel, err);
}

/* ---- list ------------------------------------------------------------------------------------------ */
static unsigned status_bit(const char *s)
{
	if (!strcmp(s, "deployed")) return M_DEPLOYED;
	if (!strcmp(s, "failed")) return M_FAILED;
	if (!strcmp(s, "uninstalled")) return M_UNINSTALLED;
	if (!strcmp(s, "superseded")) return M_SUPERSEDED;
	if (!strcmp(s, "uninstalling")) return M_UNINSTALLING;
	if (!strncmp(s, "pending-", 8)) return M_PENDING;
	return 0;
}

static int cmp_by_name(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	int c = strcmp(release_name(a), release_name(b));
	return c ? c : strcmp(release_namespace(a), release_namespace(b));
}

static int rel_list(int argc, char **argv)
{
	RelArgs a = { 0 };
	if (parse("list", argc, argv, &a) < 0)
		return 1;
	_cleanup_(kube_client_freep) KubeClient *kc = NULL;
	if (connect(&a, &kc))
		return 1;
	_cleanup_json_ json_t *all = NULL;
	Error *e = NULL;
	if (release_store_list(kc, a.all_ns ? NULL : relcli_ns(&a.conn), NULL, &all, &e) < 0)
		return relcli_fail(NULL, e);
	unsigned mask = a.all ? M_ALL : a.mask ? a.mask : M_DEPLOYED | M_FAILED;
	/* the latest revision of each release (unless only superseded ones are asked for) */
	size_t n = json_array_size(all), k = 0;
	_cleanup_free_ json_t **v = xcalloc(n + 1, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(all, i), *next = i + 1 < n ? json_array_get(all, i + 1) : NULL;
		bool latest = !next || strcmp(release_name(r), release_name(next)) ||
			      strcmp(release_namespace(r), release_namespace(next));
		if ((latest || mask == M_SUPERSEDED) && (status_bit(release_status(r)) & mask))
			v[k++] = r;
	}
	qsort(v, k, sizeof *v, cmp_by_name);
	if (a.short_) {
		for (size_t i = 0; i < k; i++)
			printf("%s\n", release_name(v[i]));
		return 0;
	}
	if (a.out != RELOUT_TABLE) {
		_cleanup_json_ json_t *arr = json_array();
		for (size_t i = 0; i < k; i++) {
			char t[96], rev[16];
			release_time_string(json_str(json_object_get(v[i], "info"), "last_deployed"), t, sizeof t);
			snprintf(rev, sizeof rev, "%d", release_version(v[i]));
			_cleanup_free_ char *chart = release_chart_label(v[i]);
			json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "name", release_name(v[i]),
							     "namespace", release_namespace(v[i]), "revision", rev,
							     "updated", t, "status", release_status(v[i]), "chart", chart,
							     "app_version", release_app_version(v[i])));
		}
		relcli_print_data(arr, a.out);
		return 0;
	}
	UiTable t = { 0 };
	const char *head[] = { "NAME", "NAMESPACE", "REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION" };
	uitable_add(&t, 7, head);
	for (size_t i = 0; i < k; i++) {
		char upd[96], rev[16];
		release_time_string(json_str(json_object_get(v[i], "info"), "last_deployed"), upd, sizeof upd);
		snprintf(rev, sizeof rev, "%d", release_version(v[i]));
		_cleanup_free_ char *chart = release_chart_label(v[i]);
		const char *row[] = { release_name(v[i]), release_namespace(v[i]), rev, upd, release_status(v[i]), chart,
				      release_app_version(v[i]) };
		uitable_add(&t, 7, row);
	}
	uitable_print(&t);
	return 0;
}

/* ---- status / history / get ------------------------------------------------------------------------ */
static int one_name(RelArgs *a, int argc, char **argv, const char *what, const char **name)
{
	if (argc - a->first != 1) {
		fprintf(stderr, "Error: \"helm %s\" requires 1 argument\n", what);
		return -1;
	}
	*name = argv[a->first];
	return 0;
}

static int rel_status(int argc, char **argv)
{
	RelArgs a = { 0 };
	const char *name;
	if (parse("status", argc, argv, &a) < 0 || one_name(&a, argc, argv, "status", &name) < 0)
		return 1;
	_cleanup_(kube_client_freep) KubeClient *kc = NULL;
	if (connect(&a, &kc))
		return 1;
	_cleanup_json_ json_t *rel = NULL;
	Error *e = NULL;
	if (load(kc, &a, name, &rel, &e) < 0)
		return relcli_fail(NULL, e);
	StatusFlags f = { .show_desc = a.show_desc };
	relcli_print_release(rel, a.out, &f);
	return 0;
}

static int rel_history(int argc, char **argv)
{
	RelArgs a = { 0 };
	const char *name;
	if (parse("history", argc, argv, &a) < 0 || one_name(&a, argc, argv, "history", &name) < 0)
		return 1;
	_cleanup_(kube_client_freep) KubeClient *kc = NULL;
	if (connect(&a, &kc))
		return 1;
	_cleanup_json_ json_t *hist = NULL;
	Error *e = NULL;
	if (release_store_list(kc, relcli_ns(&a.conn), name, &hist, &e) < 0)
		return relcli_fail(NULL, e);
	size_t n = json_array_size(hist), from = a.max > 0 && n > (size_t)a.max ? n - (size_t)a.max : 0;
	if (!n) {
		fprintf(stderr, "Error: release: not found\n");
		return 1;
	}
	if (a.out != RELOUT_TABLE) {
		_cleanup_json_ json_t *arr = json_array();
		for (size_t i = from; i < n; i++) {
			json_t *r = json_array_get(hist, i), *info = json_object_get(r, "info");
			_cleanup_free_ char *chart = release_chart_label(r);
			json_array_append_new(arr, json_pack("{s:i,s:s,s:s,s:s,s:s,s:s}", "revision", release_version(r),
							     "updated", json_str(info, "last_deployed") ?: RELEASE_TIME_ZERO,
							     "status", release_status(r), "chart", chart, "app_version",
							     release_app_version(r), "description",
							     json_str(info, "description") ?: ""));
		}
		relcli_print_data(arr, a.out);
		return 0;
	}
	UiTable t = { 0 };
	const char *head[] = { "REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION", "DESCRIPTION" };
	uitable_add(&t, 6, head);
	for (size_t i = from; i < n; i++) {
		json_t *r = json_array_get(hist, i), *info = json_object_get(r, "info");
		char rev[16], upd[64];
		snprintf(rev, sizeof rev, "%d", release_version(r));
		release_time_ansic(json_str(info, "last_deployed"), upd, sizeof upd);
		_cleanup_free_ char *chart = release_chart_label(r);
		const char *row[] = { rev, upd, release_status(r), chart, release_app_version(r),
				      json_str(info, "description") ?: "" };
		uitable_add(&t, 6, row);
	}
	uitable_print(&t);
	return 0;
}

static void print_yaml_or(const json_t *v, RelOut out)
{
	relcli_print_data(v ? v : json_null(), out == RELOUT_TABLE ? RELOUT_YAML : out);
}

static int rel_get(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(&cmd_chart, "get: requires a subcommand: values, manifest, notes, hooks or all");
	const char *what = argv[1];
	RelArgs a = { 0 };
	const char *name;
	if (parse("get", argc - 1, argv + 1, &a) < 0 || one_name(&a, argc - 1, argv + 1, "get", &name) < 0)
		return 1;
	_cleanup_(kube_client_freep) KubeClient *kc = NULL;
	if (connect(&a, &kc))
		return 1;
	_cleanup_json_ json_t *rel = NULL;
	Error *e = NULL;
	if (load(kc, &a, name, &rel, &e) < 0)
		return relcli_fail(NULL, e);
	if (!strcmp(what, "values")) {
		_cleanup_json_ json_t *v = a.all ? relcli_computed_values(rel) : json_incref(json_object_get(rel, "config"));
		if (a.out == RELOUT_TABLE)
			printf("%s\n", a.all ? "COMPUTED VALUES:" : "USER-SUPPLIED VALUES:");
		print_yaml_or(v, a.out);
	} else if (!strcmp(what, "manifest")) {
		printf("%s\n", json_str(rel, "manifest") ?: "");
	} else if (!strcmp(what, "notes")) {
		const char *notes = json_str(json_object_get(rel, "info"), "notes");
		if (notes && *notes)
			printf("NOTES:\n%s\n", notes);
	} else if (!strcmp(what, "hooks")) {
		json_t *h = json_object_get(rel, "hooks");
		for (size_t i = 0; i < json_array_size(h); i++)
			printf("---\n# Source: %s\n%s\n", json_str(json_array_get(h, i), "path") ?: "",
			       json_str(json_array_get(h, i), "manifest") ?: "");
	} else if (!strcmp(what, "all")) {
		StatusFlags f = { .debug = true, .metadata = true };
		relcli_print_release(rel, a.out, &f);
	} else {
		return cli_usage_error(&cmd_chart, "get: unknown subcommand '%s'", what);
	}
	return 0;
}

/* ---- rollback / uninstall / test ----------------------------------------------------------------------- */
static int rel_rollback(int argc, char **argv)
{
	RelArgs a = { 0 };
	if (parse("rollback", argc, argv, &a) < 0)
		return 1;
	int rest = argc - a.first;
	if (rest < 1 || rest > 2) {
		fprintf(stderr, "Error: \"helm rollback\" requires at least 1 and at most 2 arguments\n");
		return 1;
	}
	int revision = 0;
	if (rest == 2) {
		char *end;
		revision = (int)strtol(argv[a.first + 1], &end, 10);
		if (*end || revision < 0) {
			fprintf(stderr, "Error: could not convert revision to a number: %s\n", argv[a.first + 1]);
			return 1;
		}
	}
	_cleanup_(kube_client_freep) KubeClient *kc = NULL;
	if (connect(&a, &kc))
		return 1;
	a.o.name = argv[a.first];
	a.o.ns = relcli_ns(&a.conn);
	_cleanup_json_ json_t *rel = NULL;
	Error *e = NULL;
	if (release_rollback(kc, &a.o, revision, &rel, &e) < 0)
		return relcli_fail(NULL, e);
	printf("Rollback was a success! Happy Helming!\n");
	return 0;
}

static int rel_uninstall(int argc, char **argv)
{
	RelArgs a = { 0 };
	if (parse("uninstall", argc, argv, &a) < 0)
		return 1;
	if (argc - a.first < 1) {
		fprintf(stderr, "Error: \"helm uninstall\" requires at least 1 argument\n");
		return 1;
	}
	_cleanup_(kube_client_freep) KubeClient *kc = NULL;
	if (connect(&a, &kc))
		return 1;
	for (int i = a.first; i < argc; i++) {
		a.o.name = argv[i];
		a.o.ns = relcli_ns(&a.conn);
		_cleanup_json_ json_t *rel = NULL;
		_cleanup_sb_ StrBuf kept = STRBUF_INIT;
		Error *e = NULL;
		if (release_uninstall(kc, &a.o, &rel, &kept, &e) < 0)
			return relcli_fail(NULL, e);
		if (kept.len)
			printf("These resources were kept due to the resource policy:\n%s", kept.buf);
		printf("release \"%s\" uninstalled\n", argv[i]);
	}
	return 0;
}

static int rel_test(int argc, char **argv)
{
	RelArgs a = { 0 };
	const char *name;
	if (parse("test", argc, argv, &a) < 0 || one_name(&a, argc, argv, "test", &name) < 0)
		return 1;
	_cleanup_(kube_client_freep) KubeClient *kc = NULL;
	if (connect(&a, &kc))
		return 1;
	a.o.name = name;
	a.o.ns = relcli_ns(&a.conn);
	_cleanup_json_ json_t *rel = NULL;
	Error *e = NULL;
	int rc = release_test(kc, &a.o, &rel, &e);
	if (rel) {
		StatusFlags f = { 0 };
		relcli_print_status(rel, &f);
	}
	if (rc < 0)
		return relcli_fail(NULL, e);
	return 0;
}

/* Dispatch from cmd-chart.c; returns -1 when sub is not a release command. */
int chart_cmd_release(const char *sub, int argc, char **argv)
{
	if (!strcmp(sub, "list") || !strcmp(sub, "ls"))
		return rel_list(argc, argv);
	if (!strcmp(sub, "status"))
		return rel_status(argc, argv);
	if (!strcmp(sub, "history") || !strcmp(sub, "hist"))
		return rel_history(argc, argv);
	if (!strcmp(sub, "get"))
		return rel_get(argc, argv);
	if (!strcmp(sub, "rollback"))
		return rel_rollback(argc, argv);
	if (!strcmp(sub, "uninstall") || !strcmp(sub, "delete") || !strcmp(sub, "un"))
		return rel_uninstall(argc, argv);
	if (!strcmp(sub, "test"))
		return rel_test(argc, argv);
	return -1;
}
