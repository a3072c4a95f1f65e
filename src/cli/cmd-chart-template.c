/* cmd-chart-template.c - `berth chart template [NAME] CHART [-f F]...
 * [--set|--set-string|--set-json|--set-file|--set-literal K=V]...
 * [--name-template T] [--namespace N] [--show-only F]... [--kube-version V] [--api-versions V]...
 * [--include-crds] [--skip-tests] [--debug]`: renders a chart exactly as
 * `helm template` prints it (chart/chart-template.c does the work).
 */
#include "cli.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../chart/helmchart.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_MULTI 64

static int fail(Error *e)
{
	fprintf(stderr, "Error: %s\n", err_msg(e));
	err_free(e);
	return 1;
}

static void warn_cb(const char *msg, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

int chart_cmd_template(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "values", required_argument, 0, 'f' }, { "namespace", required_argument, 0, 'n' },
		{ "show-only", required_argument, 0, 's' }, { "kube-version", required_argument, 0, 'k' },
		{ "api-versions", required_argument, 0, 'a' }, { "include-crds", no_argument, 0, 'C' },
		{ "skip-tests", no_argument, 0, 'T' }, { "debug", no_argument, 0, 'D' },
		{ "set", required_argument, 0, 1 }, { "set-string", required_argument, 0, 2 },
		{ "set-json", required_argument, 0, 3 }, { "set-file", required_argument, 0, 4 },
		{ "set-literal", required_argument, 0, 5 }, { "name-template", required_argument, 0, 'N' },
		{ 0, 0, 0, 0 },
	};
	const char *files[MAX_MULTI + 1] = { 0 }, *show[MAX_MULTI + 1] = { 0 }, *apis[MAX_MULTI + 1] = { 0 };
	const char *sets[5][MAX_MULTI + 1] = { { 0 } }, *name_tmpl = NULL;
	int nf = 0, ns = 0, na = 0, nsets[5] = { 0 }, c;
	TemplateOptions o = { .r = { .release_name = "release-name", .namespace = "default" } };
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:n:s:a:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': if (nf < MAX_MULTI) files[nf++] = optarg; break;
		case 'n': o.r.namespace = optarg; break;
		case 's': if (ns < MAX_MULTI) show[ns++] = optarg; break;
		case 'a':
			for (char *p = strtok(optarg, ","); p && na < MAX_MULTI; p = strtok(NULL, ","))
				apis[na++] = p;
			break;
		case 'k': o.r.kube_version = optarg; break;
		case 'C': o.include_crds = true; break;
		case 'T': o.skip_tests = true; break;
		case 'D': o.debug = true; break;
		case 'N': name_tmpl = optarg; break;
		case 1: case 2: case 3: case 4: case 5:
			if (nsets[c - 1] < MAX_MULTI)
				sets[c - 1][nsets[c - 1]++] = optarg;
			break;
		default: return cli_usage_error(&cmd_chart, "template: unknown option '%s'", argv[optind - 1]);
		}
	}
	int rest = argc - optind;
	if (rest < 1) {   /* cobra's MinimumNArgs(1) text, as helm prints it */
		fputs("Error: \"helm template\" requires at least 1 argument\n\nUsage:  helm template [NAME] [CHART] [flags]\n",
		      stderr);
		return 1;
	}
	if (rest > 2)
		return cli_usage_error(&cmd_chart, "\"chart template\" requires 1 or 2 arguments: [NAME] CHART");
	if (rest == 2)
		o.r.release_name = argv[optind++];
	_cleanup_free_ char *tmpl_name = NULL;
	Error *e = NULL;
	if (name_tmpl && rest == 1) {
		if (chart_name_template(name_tmpl, &tmpl_name, &e) < 0)
			return fail(e);
		o.r.release_name = tmpl_name;
	}
	o.show_only = show;
	o.r.api_versions = apis;
	chart_set_warn(warn_cb, NULL);
	_cleanup_chart_ Chart *ch = NULL;
	json_t *user = NULL;
	const ChartValueOpts vo = { .value_files = files, .set = sets[0], .set_string = sets[1],
				    .set_json = sets[2], .set_file = sets[3], .set_literal = sets[4] };
	if (chart_user_values(&vo, &user, &e) < 0)
		return fail(e);
	if (chart_load(argv[optind], &ch, &e) < 0) {
		json_decref(user);
		return fail(e);
	}
	o.user_values = user;
	_cleanup_sb_ StrBuf out = STRBUF_INIT;
	int rc = chart_template(ch, &o, &out, &e);
	json_decref(user);
	if (out.len)
		fs_write_all(STDOUT_FILENO, out.buf, out.len);
	if (rc < 0)
		return fail(e);
	return 0;
}
