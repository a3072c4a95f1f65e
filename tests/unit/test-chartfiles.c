/* test-chartfiles.c - the chart renderer's Helm Engine behaviour beyond the
 * conformance vectors: `.Files` (Get, GetBytes, Glob with gobwas/glob syntax,
 * Lines, AsConfig, AsSecrets, map indexing), .Chart.IsRoot, .Subcharts,
 * .Template.BasePath, lint mode (required/fail yield ""), Helm's error
 * rewording (parse error at / execution error at), `chart template`'s
 * --debug hint, and which loose files end up in .Files.
 */
#include "tap.h"
#include "../../src/chart/chart.h"
#include "../../src/chart/chart-internal.h"
#include "../../src/chart/value.h"
#include "../../src/base/cleanup.h"
#include <stdlib.h>
#include <string.h>

static ChartFile cf(const char *name, const char *data)
{
	return (ChartFile){ xstrdup(name), xstrdup(data), strlen(data) };
}

/* A chart from (name, data) pairs, NULL-terminated. */
static Chart *mk(const char *const *pairs)
{
	size_t n = 0;
	while (pairs[2 * n])
		n++;
	ChartFile *f = xcalloc(n + 1, sizeof *f);
	for (size_t i = 0; i < n; i++)
		f[i] = cf(pairs[2 * i], pairs[2 * i + 1]);
	Chart *c = NULL;
	Error *e = NULL;
	if (chart_from_files(f, n, 0, &c, &e) < 0) {
		tap_diag("chart: %s", err_msg(e));
		err_free(e);
		return NULL;
	}
	return c;
}

/* Render and return the text of template NAME (malloc'd) or the error ("ERR: ..."). */
static char *render1(Chart *c, const char *name, bool lint)
{
	RenderOptions o = { .release_name = "rel", .namespace = "default", .lint_mode = lint };
	Rendered r = { 0 };
	Error *e = NULL;
	json_t *vals = chart_coalesce_values(c, NULL, false);
	int rc = chart_render(c, vals, &o, &r, &e);
	json_decref(vals);
	char *out = NULL;
	if (rc < 0) {
		out = xasprintf("ERR: %s", err_msg(e));
		err_free(e);
		return out;
	}
	for (size_t i = 0; i < r.n; i++)
		if (!strcmp(r.files[i].name, name))
			out = xstrdup(r.files[i].text);
	rendered_release(&r);
	return out ? out : xstrdup("(missing)");
}

static const char *const CHART_YAML = "apiVersion: v2\nname: c\nversion: 1.0.0\n";

static void check_tpl(const char *tpl, const char *want, const char *what)
{
	const char *pairs[] = {
		"Chart.yaml", CHART_YAML,
		"values.yaml", "a: 1\n",
		"values.schema.json", "{}",
		"Chart.lock", "dependencies: []\n",
		"conf/a.conf", "alpha=1\n",
		"conf/b.conf", "beta=2\n",
		"conf/sub/c.txt", "deep",
		"bin/blob.dat", "\x01\x02\xff",
		"README.md", "line one\nline two\n\nline four\n",
		"x?.txt", "q",
		"templates/t.yaml", tpl,
		NULL,
	};
	_cleanup_chart_ Chart *c = mk(pairs);
	if (!c) {
		ok(0, "%s: chart loads", what);
		return;
	}
	_cleanup_free_ char *got = render1(c, "c/templates/t.yaml", false);
	is_str(got, want, "%s", what);
}

static void test_files(void)
{
	check_tpl("{{ .Files.Get \"conf/a.conf\" }}", "alpha=1\n", "Get");
	check_tpl("[{{ .Files.Get \"nope\" }}]", "[]", "Get of a missing file is empty");
	check_tpl("{{ .Files.GetBytes \"bin/blob.dat\" }}", "[1 2 255]", "GetBytes is a []byte");
	check_tpl("{{ printf \"%T\" (.Files.GetBytes \"x\") }} {{ len (.Files.GetBytes \"x\") }}", "[]uint8 0",
		  "GetBytes of a missing file");
	check_tpl("{{ index .Files \"conf/b.conf\" | printf \"%s\" }}", "beta=2\n", "index on the map");
	check_tpl("{{ printf \"%T\" .Files }}", "engine.files", "%T is Helm's type");
	/* what is in .Files: not Chart.yaml, values.yaml, values.schema.json, Chart.lock, templates/ */
	check_tpl("{{ range $k, $v := .Files }}{{ $k }},{{ end }}",
		  "README.md,bin/blob.dat,conf/a.conf,conf/b.conf,conf/sub/c.txt,x?.txt,", "the file set");
	check_tpl("{{ len .Files }}", "6", "len");
	/* Glob: * stops at '/', ** does not; ? one char; classes; alternatives; escapes */
	check_tpl("{{ range $k, $v := .Files.Glob \"conf/*\" }}{{ $k }} {{ end }}", "conf/a.conf conf/b.conf ",
		  "Glob *");
	check_tpl("{{ range $k, $v := .Files.Glob \"conf/**\" }}{{ $k }} {{ end }}",
		  "conf/a.conf conf/b.conf conf/sub/c.txt ", "Glob **");
	check_tpl("{{ range $k, $v := .Files.Glob \"**.conf\" }}{{ $k }} {{ end }}", "conf/a.conf conf/b.conf ",
		  "Glob **.conf");
	check_tpl("{{ range $k, $v := .Files.Glob \"conf/?.conf\" }}{{ $k }} {{ end }}", "conf/a.conf conf/b.conf ",
		  "Glob ?");
	check_tpl("{{ range $k, $v := .Files.Glob \"conf/[!a].conf\" }}{{ $k }} {{ end }}", "conf/b.conf ",
		  "Glob [!a]");
	check_tpl("{{ range $k, $v := .Files.Glob \"conf/[a-a].conf\" }}{{ $k }} {{ end }}", "conf/a.conf ",
		  "Glob [a-a]");
	check_tpl("{{ range $k, $v := .Files.Glob \"{README.md,bin/*}\" }}{{ $k }} {{ end }}",
		  "README.md bin/blob.dat ", "Glob {a,b}");
	check_tpl("{{ range $k, $v := .Files.Glob \"x\\\\?.txt\" }}{{ $k }} {{ end }}", "x?.txt ", "Glob escape");
	check_tpl("{{ len (.Files.Glob \"conf/[ab\") }}", "6", "an invalid pattern matches everything");
	check_tpl("{{ len (.Files.Glob \"nothing*\") }} {{ (.Files.Glob \"nothing*\").AsConfig }}", "0 {}",
		  "no match: an empty Files");
	check_tpl("{{ (.Files.Glob \"conf/*\").AsConfig }}", "a.conf: |\n  alpha=1\nb.conf: |\n  beta=2",
		  "AsConfig uses base names");
	check_tpl("{{ (.Files.Glob \"conf/*\").AsSecrets }}", "a.conf: YWxwaGE9MQo=\nb.conf: YmV0YT0yCg==",
		  "AsSecrets base64");
	check_tpl("{{ (.Files.Glob \"conf/*\").Get \"conf/a.conf\" }}", "alpha=1\n", "Glob's result has methods");
	check_tpl("{{ range .Files.Lines \"README.md\" }}[{{ . }}]{{ end }}", "[line one][line two][][line four]",
		  "Lines keeps blank lines, drops one final newline");
	check_tpl("{{ len (.Files.Lines \"nope\") }}", "0", "Lines of a missing file");
	check_tpl("{{ .Files.Nope }}", "", "unknown key is missing (zero)");
}

static void test_chart_objects(void)
{
	const char *pairs[] = {
		"Chart.yaml", CHART_YAML,
		"values.yaml", "sub:\n  x: from-parent\n",
		"templates/t.yaml",
		"{{ .Chart.IsRoot }} {{ .Subcharts.sub.Chart.Name }} {{ .Subcharts.sub.Values.x }} "
		"{{ .Subcharts.sub.Chart.IsRoot }} {{ .Subcharts.sub.Files.Get \"data.txt\" }} {{ .Template.BasePath }}",
		"charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
		"charts/sub/values.yaml", "x: own\n",
		"charts/sub/data.txt", "subdata",
		"charts/sub/templates/s.yaml", "{{ .Chart.IsRoot }} {{ .Template.BasePath }} {{ len .Subcharts }}",
		NULL,
	};
	_cleanup_chart_ Chart *c = mk(pairs);
	ok(c != NULL, "chart with a subchart loads");
	if (!c)
		return;
	_cleanup_free_ char *t = render1(c, "c/templates/t.yaml", false);
	is_str(t, "true sub from-parent false subdata c/templates", ".Chart.IsRoot, .Subcharts, .Template.BasePath");
	_cleanup_free_ char *s = render1(c, "c/charts/sub/templates/s.yaml", false);
	is_str(s, "false c/charts/sub/templates 0", "subchart: IsRoot false, its own BasePath");
}

static void test_lint_and_errors(void)
{
	const char *req[] = {
		"Chart.yaml", CHART_YAML,
		"templates/t.yaml", "a{{ required \"need x\" .Values.x }}b{{ fail \"boom\" }}c{{ required \"n\" 5 }}",
		NULL,
	};
	_cleanup_chart_ Chart *c = mk(req);
	if (!c)
		return;
	_cleanup_free_ char *lint = render1(c, "c/templates/t.yaml", true);
	is_str(lint, "abc5", "lint mode: required and fail yield \"\"");
	_cleanup_free_ char *strict = render1(c, "c/templates/t.yaml", false);
	is_str(strict, "ERR: execution error at (c/templates/t.yaml:1:4): need x", "execution error at (FILE:L:C): msg");

	const char *bad[] = {
		"Chart.yaml", CHART_YAML,
		"templates/t.yaml", "{{ nosuchfunc }}",
		NULL,
	};
	_cleanup_chart_ Chart *b = mk(bad);
	if (!b)
		return;
	_cleanup_free_ char *pe = render1(b, "c/templates/t.yaml", false);
	is_str(pe, "ERR: parse error at (c/templates/t.yaml:1): function \"nosuchfunc\" not defined",
	       "parse error at (FILE:L): msg");

	/* chart template: the --debug hint after rendering errors, not before */
	TemplateOptions to = { .r = { .release_name = "rel", .namespace = "default" } };
	_cleanup_sb_ StrBuf out = STRBUF_INIT;
	Error *e = NULL;
	ok(chart_template(c, &to, &out, &e) < 0, "template fails");
	is_str(err_msg(e), "execution error at (c/templates/t.yaml:1:4): need x\n\n"
	       "Use --debug flag to render out invalid YAML", "template: the --debug hint");
	err_free(e);
	e = NULL;
	to.debug = true;
	ok(chart_template(c, &to, &out, &e) < 0, "template --debug fails");
	is_str(err_msg(e), "execution error at (c/templates/t.yaml:1:4): need x", "--debug: no hint");
	err_free(e);
}

static void test_requirements_file(void)
{
	const char *v1[] = {
		"Chart.yaml", "apiVersion: v1\nname: c\nversion: 1.0.0\n",
		"requirements.yaml", "dependencies: []\n",
		"templates/t.yaml", "{{ len .Files }}",
		NULL,
	};
	const char *v2[] = {
		"Chart.yaml", CHART_YAML,
		"requirements.yaml", "dependencies: []\n",
		"templates/t.yaml", "{{ len .Files }}",
		NULL,
	};
	_cleanup_chart_ Chart *a = mk(v1), *b = mk(v2);
	if (!a || !b)
		return;
	_cleanup_free_ char *ra = render1(a, "c/templates/t.yaml", false);
	_cleanup_free_ char *rb = render1(b, "c/templates/t.yaml", false);
	is_str(ra, "1", "v1 chart: requirements.yaml is in .Files");
	is_str(rb, "0", "v2 chart: requirements.yaml is not");
}

static void test_glob_direct(void)
{
	_cleanup_arena_ Arena *a = arena_new(0);
	is_int(chart_glob_match(a, "a/**/z", "a/b/c/z"), 1, "** spans directories");
	is_int(chart_glob_match(a, "a/*/z", "a/b/c/z"), 0, "* does not");
	is_int(chart_glob_match(a, "{a,b{c,d}}", "bd"), 1, "nested alternatives");
	is_int(chart_glob_match(a, "{a,b", "a"), -1, "unclosed brace is invalid");
	is_int(chart_glob_match(a, "a\\", "a"), -1, "trailing backslash is invalid");
	is_int(chart_glob_match(a, "é?", "éü"), 1, "? matches one rune");
	is_int(chart_glob_match(a, "[]a]", "]"), 1, "] first in a class is literal");
	/* pathological backtracking stays bounded */
	is_int(chart_glob_match(a, "**a**a**a**a**a**a**a**b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 0,
	       "backtracking bomb ends");
}

int main(void)
{
	test_files();
	test_chart_objects();
	test_lint_and_errors();
	test_requirements_file();
	test_glob_direct();
	return tap_done();
}
