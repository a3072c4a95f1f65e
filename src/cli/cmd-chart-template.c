/* cmd-chart-template.c - `berth chart template [NAME] CHART [-f F]...
 * [--namespace N] [--show-only F]... [--kube-version V] [--api-versions V]...
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
		{ "skip-tests", no_argument, 0, 'T' }, { "debug", no_argument, 0, 'D' }, { 0, 0, 0, 0 },
	};
	const char *files[MAX_MULTI], *show[MAX_MULTI + 1] = { 0 }, *apis[MAX_MULTI + 1] = { 0 };
	int nf = 0, ns = 0, na = 0, c;
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
		default: return cli_usage_error(&cmd_chart, "template: unknown option '%s'", argv[optind - 1]);
		}
	}
	int rest = argc - optind;
	if (rest < 1 || rest > 2)
		return cli_usage_error(&cmd_chart, "\"chart template\" requires 1 or 2 arguments: [NAME] CHART");
	if (rest == 2)
		o.r.release_name = argv[optind++];
	o.show_only = show;
	o.r.api_versions = apis;
	chart_set_warn(warn_cb, NULL);
	Error *e = NULL;
	_cleanup_chart_ Chart *ch = NULL;
	if (chart_load(argv[optind], &ch, &e) < 0)
		return fail(e);
	json_t *user = json_object();
	for (int i = 0; i < nf; i++) {
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;
		if (fs_read_file(files[i], BERTH_MAX_JSON_FILE, &buf, &len, &e) < 0 ||
		    chart_values_merge_yaml(user, buf, len, files[i], &e) < 0) {
			json_decref(user);
			return fail(e);
		}
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
