/* cmd-chart-author.c - the chart authoring subcommands of `berth chart`, with
 * Helm's output texts: create NAME, lint [DIR...] (values flags, --strict),
 * package DIR... [--version V] [--app-version V] [-d DIR], show
 * chart|values|readme|all CHART, repo index DIR [--url URL] [--merge FILE],
 * dependency list|update|build DIR.  The work is in src/chart
 * (chart-create.c, chart-lint.c, chart-package.c).
 */
#include "cli.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../chart/helmchart.h"
#include "../shared/yaml.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_MULTI 64

static int fail(Error *e)
{
	fprintf(stderr, "Error: %s\n", err_msg(e));
	err_free(e);
	return 1;
}

static void out_sb(const StrBuf *sb)
{
	if (sb->len)
		fs_write_all(STDOUT_FILENO, sb->buf, sb->len);
}

static int author_create(int argc, char **argv)
{
	if (argc != 2)
		return cli_usage_error(&cmd_chart, "\"chart create\" requires 1 argument: NAME");
	const char *arg = argv[1];
	printf("Creating %s\n", arg);
	fflush(stdout);
	_cleanup_free_ char *dir = xstrdup(arg), *base = NULL;
	size_t l = strlen(dir);
	while (l > 1 && dir[l - 1] == '/')
		dir[--l] = 0;
	char *slash = strrchr(dir, '/');
	if (slash) {
		base = xstrdup(slash + 1);
		if (slash == dir)
			slash[1] = 0;
		else
			*slash = 0;
	} else {
		base = xstrdup(dir);
		free(dir);
		dir = xstrdup(".");
	}
	_cleanup_sb_ StrBuf notes = STRBUF_INIT;
	Error *e = NULL;
	int rc = chart_create(base, dir, &notes, &e);
	out_sb(&notes);
	return rc < 0 ? fail(e) : 0;
}

/* -f and the --set family, shared by lint. */
typedef struct ValueArgs {
	const char *lists[6][MAX_MULTI + 1];
	int n[6];
} ValueArgs;

static const struct option value_opts[] = {
	{ "values", required_argument, 0, 'f' }, { "set", required_argument, 0, 1 },
	{ "set-string", required_argument, 0, 2 }, { "set-json", required_argument, 0, 3 },
	{ "set-file", required_argument, 0, 4 }, { "set-literal", required_argument, 0, 5 },
};

static bool value_arg(ValueArgs *va, int c, const char *arg)
{
	int k = c == 'f' ? 0 : c >= 1 && c <= 5 ? c : -1;
	if (k < 0)
		return false;
	if (va->n[k] < MAX_MULTI)
		va->lists[k][va->n[k]++] = arg;
	return true;
}

static int user_values(const ValueArgs *va, json_t **ret, Error **err)
{
	ChartValueOpts o = { .value_files = va->lists[0], .set = va->lists[1], .set_string = va->lists[2],
			     .set_json = va->lists[3], .set_file = va->lists[4], .set_literal = va->lists[5] };
	return chart_user_values(&o, ret, err);
}

static int author_lint(int argc, char **argv)
{
	static struct option opts[16];
	memcpy(opts, value_opts, sizeof value_opts);
	opts[6] = (struct option){ "strict", no_argument, 0, 'S' };
	opts[7] = (struct option){ "quiet", no_argument, 0, 'q' };
	ValueArgs va = { 0 };
	bool strict = false, quiet = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		if (c == 'S')
			strict = true;
		else if (c == 'q')
			quiet = true;
		else if (!value_arg(&va, c, optarg))
			return cli_usage_error(&cmd_chart, "lint: unknown option '%s'", argv[optind - 1]);
	}
	const char *def[] = { ".", NULL };
	char **paths = optind < argc ? argv + optind : (char **)def;
	int npaths = optind < argc ? argc - optind : 1;
	json_t *user = NULL;
	Error *e = NULL;
	if (user_values(&va, &user, &e) < 0)
		return fail(e);
	_cleanup_sb_ StrBuf out = STRBUF_INIT;
	int failed = 0, noisy = 0;
	for (int i = 0; i < npaths; i++) {
		_cleanup_sb_ StrBuf msgs = STRBUF_INIT;
		int errs = chart_lint(paths[i], user, strict, &msgs);
		noisy += msgs.len && (strstr(msgs.buf, "[WARNING]") || strstr(msgs.buf, "[ERROR]"));
		if (quiet && !(msgs.len && (strstr(msgs.buf, "[WARNING]") || strstr(msgs.buf, "[ERROR]"))))
			continue;
		sb_addf(&out, "==> Linting %s\n", paths[i]);
		if (msgs.len) {
			for (char *p = msgs.buf; *p;) {
				char *nl = strstr(p, "\n[");
				size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
				if (!quiet || strncmp(p, "[INFO]", 6))
					sb_add(&out, p, n);
				p += n;
			}
		}
		sb_addc(&out, '\n');
		failed += errs > 0;
	}
	json_decref(user);
	out_sb(&out);
	if (failed) {
		fprintf(stderr, "Error: %d chart(s) linted, %d chart(s) failed\n", npaths, failed);
		return 1;
	}
	if (!quiet || noisy)
		printf("%d chart(s) linted, 0 chart(s) failed\n", npaths);
	return 0;
}

static int author_package(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", required_argument, 0, 'v' }, { "app-version", required_argument, 0, 'a' },
		{ "destination", required_argument, 0, 'd' }, { 0, 0, 0, 0 },
	};
	ChartPackageOpts o = { 0 };
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (c) {
		case 'v': o.version = optarg; break;
		case 'a': o.app_version = optarg; break;
		case 'd': o.dest = optarg; break;
		default: return cli_usage_error(&cmd_chart, "package: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error(&cmd_chart, "need at least one argument, the path to the chart");
	for (int i = optind; i < argc; i++) {
		_cleanup_free_ char *p = NULL;
		Error *e = NULL;
		if (chart_package(argv[i], &o, &p, &e) < 0)
			return fail(e);
		printf("Successfully packaged chart and saved it to: %s\n", p);
	}
	return 0;
}

static const ChartFile *find_file(const ChartFile *f, size_t n, const char *name, bool readme)
{
	for (size_t i = 0; i < n; i++) {
		if (!readme && !strcmp(f[i].name, name))
			return &f[i];
		if (readme && !strchr(f[i].name, '/') &&
		    (!strcasecmp(f[i].name, "readme.md") || !strcasecmp(f[i].name, "readme.txt") || !strcasecmp(f[i].name, "readme")))
			return &f[i];
	}
	return NULL;
}

static int author_show(int argc, char **argv)
{
	if (argc != 3)
		return cli_usage_error(&cmd_chart, "usage: chart show chart|values|readme|crds|all CHART");
	const char *what = argv[1];
	bool all = !strcmp(what, "all");
	if (!all && strcmp(what, "chart") && strcmp(what, "values") && strcmp(what, "readme") && strcmp(what, "crds"))
		return cli_usage_error(&cmd_chart, "show: unknown subcommand '%s'", what);
	Error *e = NULL;
	_cleanup_chart_ Chart *ch = NULL;
	if (chart_load(argv[2], &ch, &e) < 0)
		return fail(e);
	ChartFile *files = NULL;
	size_t n = 0;
	if (chart_raw_files(argv[2], &files, &n, &e) < 0)
		return fail(e);
	_cleanup_sb_ StrBuf out = STRBUF_INIT;
	if (all || !strcmp(what, "chart")) {
		if (yaml_emit(ch->meta, 0, &out, &e) < 0) {
			chart_files_free(files, n);
			return fail(e);
		}
		sb_addc(&out, '\n');
	}
	const ChartFile *f;
	if ((all || !strcmp(what, "values")) && (f = find_file(files, n, "values.yaml", false))) {
		if (all)
			sb_adds(&out, "---\n");
		sb_add(&out, f->data, f->len);
		sb_addc(&out, '\n');
	}
	if ((all || !strcmp(what, "readme")) && (f = find_file(files, n, NULL, true))) {
		if (all)
			sb_adds(&out, "---\n");
		sb_add(&out, f->data, f->len);
		sb_addc(&out, '\n');
	}
	if (all || !strcmp(what, "crds"))
		for (size_t i = 0; i < n; i++)
			if (!strncmp(files[i].name, "crds/", 5)) {
				if (files[i].len < 3 || strncmp(files[i].data, "---", 3))
					sb_adds(&out, "---\n");
				sb_add(&out, files[i].data, files[i].len);
				sb_addc(&out, '\n');
			}
	chart_files_free(files, n);
	out_sb(&out);
	return 0;
}

static int author_repo(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "index"))
		return cli_usage_error(&cmd_chart, "usage: chart repo index DIR [--url URL] [--merge FILE]");
	static const struct option opts[] = {
		{ "url", required_argument, 0, 'u' }, { "merge", required_argument, 0, 'm' }, { 0, 0, 0, 0 },
	};
	const char *url = NULL, *merge = NULL;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		if (c == 'u')
			url = optarg;
		else if (c == 'm')
			merge = optarg;
		else
			return cli_usage_error(&cmd_chart, "repo index: unknown option '%s'", argv[optind]);
	}
	if (argc - 1 - optind != 1)
		return cli_usage_error(&cmd_chart, "\"chart repo index\" requires 1 argument: DIR");
	Error *e = NULL;
	if (chart_repo_index(argv[1 + optind], url, merge, &e) < 0)
		return fail(e);
	return 0;
}

static int author_dependency(int argc, char **argv)
{
	if (argc < 2 || argc > 3)
		return cli_usage_error(&cmd_chart, "usage: chart dependency list|update|build [CHART]");
	const char *dir = argc == 3 ? argv[2] : ".";
	_cleanup_sb_ StrBuf out = STRBUF_INIT;
	Error *e = NULL;
	int rc;
	if (!strcmp(argv[1], "list") || !strcmp(argv[1], "ls"))
		rc = chart_dep_list(dir, &out, &e);
	else if (!strcmp(argv[1], "update") || !strcmp(argv[1], "up"))
		rc = chart_dep_update(dir, &out, &e);
	else if (!strcmp(argv[1], "build"))
		rc = chart_dep_build(dir, &out, &e);
	else
		return cli_usage_error(&cmd_chart, "dependency: unknown subcommand '%s'", argv[1]);
	out_sb(&out);
	return rc < 0 ? fail(e) : 0;
}

/* Dispatch for cmd-chart.c: returns -1 when sub is not an authoring command. */
int chart_cmd_author(const char *sub, int argc, char **argv)
{
	if (!strcmp(sub, "create"))
		return author_create(argc, argv);
	if (!strcmp(sub, "lint"))
		return author_lint(argc, argv);
	if (!strcmp(sub, "package"))
		return author_package(argc, argv);
	if (!strcmp(sub, "show") || !strcmp(sub, "inspect"))
		return author_show(argc, argv);
	if (!strcmp(sub, "repo"))
		return author_repo(argc, argv);
	if (!strcmp(sub, "dependency") || !strcmp(sub, "dep") || !strcmp(sub, "dependencies"))
		return author_dependency(argc, argv);
	return -1;
}
