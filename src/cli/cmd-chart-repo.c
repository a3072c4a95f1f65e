/* cmd-chart-repo.c - the chart repository subcommands of `berth chart`, with
 * Helm's texts: repo add NAME URL [--force-update], repo update|up [NAME...],
 * repo list|ls [-o table|json|yaml], repo remove|rm NAME..., search repo
 * [KEYWORD...] [--versions] [--devel] [--version C] [--max-col-width N]
 * [-o ...], pull|fetch REPO/CHART|URL [--version V] [--untar]
 * [--untardir D] [-d DIR].  `repo index` stays in cmd-chart-author.c.  The
 * work is in src/chart/chart-repo.c.
 */
#include "cli.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../chart/helmchart.h"
#include "../shared/json.h"
#include "../shared/yaml.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_NAMES 64

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

static void warn_cb(const char *msg, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

/* ---- uitable with a MaxColWidth (0: none), as helm's repo list / search print ---------------- */
static size_t width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

/* Bytes of the first n code points of s. */
static size_t prefix_bytes(const char *s, size_t n)
{
	size_t i = 0;
	while (s[i] && n) {
		i++;
		while (((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		n--;
	}
	return i;
}

static void table_out(const char *const *cells, size_t nrow, size_t ncol, size_t maxw, StrBuf *out)
{
	size_t *w = xcalloc(ncol, sizeof *w);
	for (size_t r = 0; r < nrow; r++)
		for (size_t c = 0; c < ncol; c++) {
			size_t x = width(cells[r * ncol + c]);
			if (maxw && x > maxw)
				x = maxw;
			if (x > w[c])
				w[c] = x;
		}
	for (size_t r = 0; r < nrow; r++) {
		for (size_t c = 0; c < ncol; c++) {
			const char *s = cells[r * ncol + c];
			size_t x = width(s);
			if (c)
				sb_addc(out, '\t');
			if (x > w[c]) {   /* strutil.Resize: cut and "..." */
				size_t keep = w[c] > 3 ? w[c] - 3 : 0;
				sb_add(out, s, prefix_bytes(s, keep));
				sb_adds(out, "...");
			} else {
				sb_adds(out, s);
				for (size_t k = x; k < w[c]; k++)
					sb_addc(out, ' ');
			}
		}
		sb_addc(out, '\n');
	}
	free(w);
}

/* -o json: Go's encoding/json of the rows (compact, a newline); -o yaml. */
static int print_structured(json_t *rows, const char *fmt, StrBuf *out, Error **err)
{
	if (!strcmp(fmt, "json")) {
		char *s = json_dumps(rows, JSON_COMPACT | JSON_PRESERVE_ORDER);
		sb_addf(out, "%s\n", s ? s : "[]");
		free(s);
		return 0;
	}
	return yaml_emit(rows, 0, out, err);
}

static bool valid_output(const char *o)
{
	return !strcmp(o, "table") || !strcmp(o, "json") || !strcmp(o, "yaml");
}

/* ---- repo ------------------------------------------------------------------------------------ */
static int repo_add(int argc, char **argv)
{
	static const struct option opts[] = { { "force-update", no_argument, 0, 'F' }, { 0, 0, 0, 0 } };
	bool force = false;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'F')
			force = true;
		else
			return cli_usage_error(&cmd_chart, "repo add: unknown option '%s'", argv[optind - 1]);
	}
	if (argc - optind != 2)
		return cli_usage_error(&cmd_chart, "\"chart repo add\" requires 2 arguments: NAME URL");
	_cleanup_sb_ StrBuf out = STRBUF_INIT;
	Error *e = NULL;
	int rc = chart_repo_add(argv[optind], argv[optind + 1], force, &out, &e);
	out_sb(&out);
	return rc < 0 ? fail(e) : 0;
}

static int repo_update(int argc, char **argv)
{
	const char *names[MAX_NAMES + 1] = { 0 };
	int n = 0;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			return cli_usage_error(&cmd_chart, "repo update: unknown option '%s'", argv[i]);
		if (n < MAX_NAMES)
			names[n++] = argv[i];
	}
	_cleanup_sb_ StrBuf out = STRBUF_INIT;
	Error *e = NULL;
	int rc = chart_repo_update(names, &out, &e);
	out_sb(&out);
	return rc < 0 ? fail(e) : 0;
}

static int repo_list(int argc, char **argv)
{
	static const struct option opts[] = { { "output", required_argument, 0, 'o' }, { 0, 0, 0, 0 } };
	const char *fmt = "table";
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		if (c == 'o')
			fmt = optarg;
		else
			return cli_usage_error(&cmd_chart, "repo list: unknown option '%s'", argv[optind - 1]);
	}
	if (!valid_output(fmt))
		return cli_usage_error(&cmd_chart, "invalid argument \"%s\" for \"-o, --output\" flag: invalid format type", fmt);
	_cleanup_json_ json_t *f = NULL;
	Error *e = NULL;
	if (chart_repo_file_load(&f, &e) < 0)
		return fail(e);
	json_t *repos = json_object_get(f, "repositories");
	if (!json_array_size(repos)) {
		err_set(&e, ENOENT, "no repositories to show");
		return fail(e);
	}
	_cleanup_sb_ StrBuf out = STRBUF_INIT;
	size_t n = json_array_size(repos);
	if (strcmp(fmt, "table")) {
		_cleanup_json_ json_t *rows = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *r = json_array_get(repos, i);
			json_array_append_new(rows, json_pack("{s:s, s:s}", "name", json_str(r, "name") ?: "", "url",
							      json_str(r, "url") ?: ""));
		}
		if (print_structured(rows, fmt, &out, &e) < 0)
			return fail(e);
	} else {
		const char **cells = xcalloc((n + 1) * 2, sizeof *cells);
		cells[0] = "NAME";
		cells[1] = "URL";
		for (size_t i = 0; i < n; i++) {
			cells[2 * (i + 1)] = json_str(json_array_get(repos, i), "name") ?: "";
			cells[2 * (i + 1) + 1] = json_str(json_array_get(repos, i), "url") ?: "";
		}
		table_out(cells, n + 1, 2, 0, &out);
		free(cells);
	}
	out_sb(&out);
	return 0;
}

static int repo_remove(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(&cmd_chart, "\"chart repo remove\" requires at least 1 argument: NAME...");
	const char *names[MAX_NAMES + 1] = { 0 };
	for (int i = 1; i < argc && i <= MAX_NAMES; i++)
		names[i - 1] = argv[i];
	_cleanup_sb_ StrBuf out = STRBUF_INIT;
	Error *e = NULL;
	int rc = chart_repo_remove(names, &out, &e);
	out_sb(&out);
	return rc < 0 ? fail(e) : 0;
}

static int repo_cmd_repo(int argc, char **argv)
{
	const char *s = argv[1];
	if (!strcmp(s, "add"))
		return repo_add(argc - 1, argv + 1);
	if (!strcmp(s, "update") || !strcmp(s, "up"))
		return repo_update(argc - 1, argv + 1);
	if (!strcmp(s, "list") || !strcmp(s, "ls"))
		return repo_list(argc - 1, argv + 1);
	if (!strcmp(s, "remove") || !strcmp(s, "rm"))
		return repo_remove(argc - 1, argv + 1);
	return -1;
}

/* ---- search repo ------------------------------------------------------------------------------- */
static int repo_cmd_search(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "repo"))
		return cli_usage_error(&cmd_chart, "usage: chart search repo [KEYWORD] [--versions] [--devel] [--version C]");
	static const struct option opts[] = {
		{ "versions", no_argument, 0, 'l' }, { "devel", no_argument, 0, 'D' },
		{ "version", required_argument, 0, 'v' }, { "max-col-width", required_argument, 0, 'w' },
		{ "output", required_argument, 0, 'o' }, { "regexp", no_argument, 0, 'r' }, { 0, 0, 0, 0 },
	};
	ChartSearchOpts so = { 0 };
	const char *fmt = "table";
	size_t maxw = 50;
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "lo:", opts, NULL)) != -1) {
		switch (c) {
		case 'l': so.versions = true; break;
		case 'D': so.devel = true; break;
		case 'v': so.version = optarg; break;
		case 'w': maxw = (size_t)strtoul(optarg, NULL, 10); break;
		case 'o': fmt = optarg; break;
		case 'r': return cli_usage_error(&cmd_chart, "search repo: --regexp is not supported");
		default: return cli_usage_error(&cmd_chart, "search repo: unknown option '%s'", argv[optind]);
		}
	}
	if (!valid_output(fmt))
		return cli_usage_error(&cmd_chart, "invalid argument \"%s\" for \"-o, --output\" flag: invalid format type", fmt);
	_cleanup_sb_ StrBuf kw = STRBUF_INIT;
	for (int i = optind + 1; i < argc; i++)
		sb_addf(&kw, "%s%s", kw.len ? " " : "", argv[i]);
	chart_set_warn(warn_cb, NULL);
	_cleanup_json_ json_t *res = NULL;
	Error *e = NULL;
	if (chart_search_repo(kw.len ? kw.buf : NULL, &so, &res, &e) < 0)
		return fail(e);
	_cleanup_sb_ StrBuf out = STRBUF_INIT;
	size_t n = json_array_size(res);
	if (strcmp(fmt, "table")) {
		if (print_structured(res, fmt, &out, &e) < 0)
			return fail(e);
	} else if (!n) {
		sb_adds(&out, "No results found\n");
	} else {
		const char **cells = xcalloc((n + 1) * 4, sizeof *cells);
		static const char *const head[] = { "NAME", "CHART VERSION", "APP VERSION", "DESCRIPTION" };
		static const char *const keys[] = { "name", "version", "app_version", "description" };
		for (size_t k = 0; k < 4; k++)
			cells[k] = head[k];
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < 4; k++)
				cells[4 * (i + 1) + k] = json_str(json_array_get(res, i), keys[k]) ?: "";
		table_out(cells, n + 1, 4, maxw, &out);
		free(cells);
	}
	out_sb(&out);
	return 0;
}

/* ---- pull ------------------------------------------------------------------------------------ */
static int repo_cmd_pull(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", required_argument, 0, 'v' }, { "untar", no_argument, 0, 'u' },
		{ "untardir", required_argument, 0, 'U' }, { "destination", required_argument, 0, 'd' }, { 0, 0, 0, 0 },
	};
	ChartPullOpts po = { 0 };
	int c;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (c) {
		case 'v': po.version = optarg; break;
		case 'u': po.untar = true; break;
		case 'U': po.untar_dir = optarg; break;
		case 'd': po.dest = optarg; break;
		default: return cli_usage_error(&cmd_chart, "pull: unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind < 1)
		return cli_usage_error(&cmd_chart, "\"chart pull\" requires at least 1 argument: REPO/CHART");
	_cleanup_sb_ StrBuf out = STRBUF_INIT;
	for (int i = optind; i < argc; i++) {
		Error *e = NULL;
		int rc = chart_pull(argv[i], &po, &out, &e);
		out_sb(&out);
		sb_reset(&out);
		if (rc < 0)
			return fail(e);
	}
	return 0;
}

/* Dispatch for cmd-chart.c: -1 when sub is not one of these (repo index is
 * an authoring command). */
int chart_cmd_repo(const char *sub, int argc, char **argv)
{
	if (!strcmp(sub, "repo") && argc >= 2)
		return repo_cmd_repo(argc, argv);
	if (!strcmp(sub, "search"))
		return repo_cmd_search(argc, argv);
	if (!strcmp(sub, "pull") || !strcmp(sub, "fetch"))
		return repo_cmd_pull(argc, argv);
	return -1;
}
