/* cmd-chart.c - `berth chart SUBCOMMAND`: the chart tools.  Today `eval`,
 * which runs one Go template with Sprig's and Helm's functions over JSON or
 * YAML data (like gomplate; also how the engine is checked against Go).
 * The template engine itself is src/chart/ (chart.h).
 */
#include "cli.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../base/strbuf.h"
#include "../chart/chart.h"
#include "../shared/yaml.h"
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_OPTIONS 16

typedef struct EvalArgs {
	const char *data;              /* --data FILE */
	const char *name;              /* --name NAME */
	const char *options[MAX_OPTIONS];
	int noptions;
	const char *ldelim, *rdelim;   /* --delims L R */
	bool parse_only;
	const char *file;              /* FILE or - */
} EvalArgs;

static void json_freep(json_t **j) { json_decref(*j); }

/* The data file: JSON (numbers without . or e are int64, as the issue and
 * Go's decoder into interface{} with integer detection agree), else YAML. */
static int load_data(const char *path, Arena *a, Value **ret, Error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fs_read_file(strcmp(path, "-") ? path : "/dev/stdin", BERTH_MAX_JSON_FILE, &buf, &len, err) < 0)
		return err_prefix(err, "--data");
	size_t plen = strlen(path);
	bool is_json = plen > 5 && !strcmp(path + plen - 5, ".json");
	Error *jerr = NULL;
	*ret = value_parse_json(a, buf, len, JSON_INT_AS_INT64, &jerr);
	if (*ret)
		return 0;
	if (is_json) {
		err_set(err, EINVAL, "--data %s: %s", path, err_msg(jerr));
		err_free(jerr);
		return -EINVAL;
	}
	err_free(jerr);
	__attribute__((cleanup(json_freep))) json_t *j = NULL;
	if (yaml_parse_buf(buf, len, &j, err) < 0)
		return err_prefix(err, "--data %s", path);
	*ret = value_from_json(a, j, JSON_INT_AS_INT64);
	return 0;
}

static const char *base_name(const char *path)
{
	if (!strcmp(path, "-"))
		return "stdin";
	const char *s = strrchr(path, '/');
	return s && s[1] ? s + 1 : path;
}

/* Helm marks required/fail messages for its own error report; eval shows them plain. */
static void strip_markers(char *s)
{
	static const char *const marks[] = { "HELM_ERR_START", "HELM_ERR_END" };
	for (size_t m = 0; m < ARRAY_SIZE(marks); m++) {
		size_t ml = strlen(marks[m]);
		char *p;
		while ((p = strstr(s, marks[m])))
			memmove(p, p + ml, strlen(p + ml) + 1);
	}
}

static int eval_fail(Error *e)
{
	if (e && e->msg)
		strip_markers(e->msg);
	fprintf(stderr, "berth: error: %s\n", err_msg(e));
	err_free(e);
	return 1;
}

static int eval_run(const EvalArgs *ea)
{
	Error *e = NULL;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (fs_read_file(strcmp(ea->file, "-") ? ea->file : "/dev/stdin", BERTH_MAX_TEMPLATE_SIZE, &text, &len, &e) < 0)
		return eval_fail(e);
	TmplOptions o = { .ldelim = ea->ldelim, .rdelim = ea->rdelim };
	_cleanup_tmplset_ TmplSet *set = tmpl_set_new(&o);
	for (int i = 0; i < ea->noptions; i++)
		if (tmpl_set_option(set, ea->options[i], &e) < 0)
			return eval_fail(e);
	const char *name = ea->name ? ea->name : base_name(ea->file);
	if (tmpl_set_parse(set, name, text, len, &e) < 0)
		return eval_fail(e);
	if (ea->parse_only)
		return 0;
	_cleanup_arena_ Arena *a = arena_new(0);
	Value *data = value_nil();
	if (ea->data && load_data(ea->data, a, &data, &e) < 0)
		return eval_fail(e);
	_cleanup_sb_ StrBuf out = STRBUF_INIT;
	if (tmpl_set_execute(set, name, a, data, &out, &e) < 0)
		return eval_fail(e);
	if (out.len && fs_write_all(STDOUT_FILENO, out.buf, out.len) < 0)
		return cli_fail("chart eval: write: %s", strerror(errno));
	return 0;
}

static int eval(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, 0, 'd' }, { "option", required_argument, 0, 'o' },
		{ "delims", required_argument, 0, 'D' }, { "parse-only", no_argument, 0, 'p' },
		{ "name", required_argument, 0, 'n' }, { 0, 0, 0, 0 },
	};
	EvalArgs ea = { 0 };
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'd': ea.data = optarg; break;
		case 'n': ea.name = optarg; break;
		case 'p': ea.parse_only = true; break;
		case 'o':
			if (ea.noptions == MAX_OPTIONS)
				return cli_usage_error(&cmd_chart, "too many --option flags");
			ea.options[ea.noptions++] = optarg;
			break;
		case 'D':
			if (optind >= argc)
				return cli_usage_error(&cmd_chart, "--delims needs two arguments: LEFT RIGHT");
			ea.ldelim = optarg;
			ea.rdelim = argv[optind++];
			break;
		default:
			return cli_usage_error(&cmd_chart, "eval: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(&cmd_chart, "eval needs exactly one template FILE (or - for stdin)");
	ea.file = argv[optind];
	return eval_run(&ea);
}

int chart_cmd_template(int argc, char **argv);   /* cmd-chart-template.c */
int chart_cmd_install(int argc, char **argv);    /* cmd-chart-install.c */
int chart_cmd_upgrade(int argc, char **argv);    /* cmd-chart-install.c */
int chart_cmd_release(const char *sub, int argc, char **argv);   /* cmd-chart-release.c */
int chart_cmd_author(const char *sub, int argc, char **argv);    /* cmd-chart-author.c */
int chart_cmd_repo(const char *sub, int argc, char **argv);      /* cmd-chart-repo.c */

static int run_chart(Cli *cli, int argc, char **argv)
{
	(void)cli;
	if (argc < 2)
		return cli_usage_error(&cmd_chart, "requires a subcommand (eval)");
	const char *sub = argv[1];
	if (!strcmp(sub, "eval"))
		return eval(argc - 1, argv + 1);
	if (!strcmp(sub, "template"))
		return chart_cmd_template(argc - 1, argv + 1);
	if (!strcmp(sub, "install"))
		return chart_cmd_install(argc - 1, argv + 1);
	if (!strcmp(sub, "upgrade"))
		return chart_cmd_upgrade(argc - 1, argv + 1);
	int rrc = chart_cmd_release(sub, argc - 1, argv + 1);
	if (rrc >= 0)
		return rrc;
	int prc = chart_cmd_repo(sub, argc - 1, argv + 1);
	if (prc >= 0)
		return prc;
	int arc = chart_cmd_author(sub, argc - 1, argv + 1);
	if (arc >= 0)
		return arc;
	return cli_usage_error(&cmd_chart, "unknown subcommand '%s'", sub);
}

const CliCommand cmd_chart = {
	.name = "chart", .run = run_chart, .summary = "Evaluate Go/Helm templates (chart tools)",
	.usage = "Usage: berth chart eval [--data FILE.json|yaml] [--option missingkey=default|zero|error]\n"
		 "                        [--delims LEFT RIGHT] [--name NAME] [--parse-only] FILE|-\n\n"
		 "eval runs one Go text/template with Sprig's and Helm's functions (include, tpl,\n"
		 "toYaml, required, ...) and prints the result; on an error it prints Go's message\n"
		 "and exits 1.  In --data, JSON numbers without '.' or an exponent are int64, the\n"
		 "rest float64; a file that is not JSON is read as YAML.  The template is named\n"
		 "after FILE's base name (\"stdin\" for -) unless --name is given; --parse-only\n"
		 "only checks the syntax.\n\n"
		 "       berth chart template [NAME] CHART [-f VALUES]... [--namespace N] [--show-only F]...\n"
		 "                        [--kube-version V] [--api-versions V]... [--include-crds] [--skip-tests]\n"
		 "renders a chart directory or .tgz as `helm template` prints it.\n\n"
		 "       berth chart install|upgrade|rollback|uninstall|list|status|history|get|test ...\n"
		 "manage Helm releases on a cluster (--kubeconfig, $KUBECONFIG, ~/.kube/config) with\n"
		 "helm's flags and output; releases are Secrets in Helm's own format.\n\n"
		 "       berth chart repo add|update|list|remove ..., search repo [KEYWORD] [--versions],\n"
		 "                        pull REPO/CHART [--version V] [--untar] [-d DIR]\n"
		 "chart repositories over HTTP with Helm's repositories.yaml and cache.\n",
};
