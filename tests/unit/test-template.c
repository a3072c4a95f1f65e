/* test-template.c - the chart engine against the conformance vectors in
 * ../shared/conformance (Go's text/template tests, Sprig's tests, Helm's
 * funcs tests), read at test time, plus engine-specific checks.
 *
 * Every vector is one TAP line.  A vector may fail only if it is listed in
 * tests/cases/template-expected-failures.txt (suite<TAB>name<TAB>reason);
 * a listed vector that passes is also a failure, so the list stays true.
 * BERTH_CONFORMANCE overrides the vector directory.
 */
#include "tap.h"
#include "../../src/chart/chart.h"
#include "../../src/shared/json.h"
#include "../../src/base/fs.h"
#include "../../src/base/limits.h"
#include <stdlib.h>
#include <string.h>

#ifndef BERTH_SOURCE_ROOT
#define BERTH_SOURCE_ROOT "."
#endif

typedef struct XFail {
	char *key;      /* "suite\tname" */
	bool seen;
} XFail;

static XFail *xfails;
static size_t nxfails;
static int passed, failed, xfailed;

static void load_xfails(void)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (fs_read_file(BERTH_SOURCE_ROOT "/tests/cases/template-expected-failures.txt", 1u << 20, &buf, &len, NULL) < 0)
		return;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* eval-* suites belong to tests/integration/test_template_conformance.py */
		if (!*line || *line == '#' || !strncmp(line, "eval-", 5))
			continue;
		char *t1 = strchr(line, '\t');
		if (!t1)
			continue;
		char *t2 = strchr(t1 + 1, '\t');
		if (t2)
			*t2 = 0;
		xfails = xrealloc(xfails, (nxfails + 1) * sizeof(*xfails));
		xfails[nxfails].key = xstrdup(line);
		xfails[nxfails].seen = false;
		nxfails++;
	}
}

static XFail *find_xfail(const char *suite, const char *name)
{
	_cleanup_free_ char *key = xasprintf("%s\t%s", suite, name);
	for (size_t i = 0; i < nxfails; i++)
		if (!strcmp(xfails[i].key, key))
			return &xfails[i];
	return NULL;
}

static void report(const char *suite, const char *name, bool pass, const char *got, const char *want)
{
	XFail *x = find_xfail(suite, name);
	if (x)
		x->seen = true;
	if (pass && !x) {
		passed++;
		ok(1, "%s: %s", suite, name);
	} else if (!pass && x) {
		xfailed++;
		ok(1, "%s: %s # expected failure", suite, name);
	} else if (pass && x) {
		failed++;
		ok(0, "%s: %s passes but is listed in template-expected-failures.txt", suite, name);
	} else {
		failed++;
		ok(0, "%s: %s", suite, name);
		tap_diag("got:  %s", got ? got : "(null)");
		tap_diag("want: %s", want ? want : "(null)");
	}
}

static json_t *load_vectors(const char *dir, const char *file)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	json_t *j = NULL;
	_cleanup_err_ Error *e = NULL;
	if (json_load_path(path, 16u << 20, &j, &e) < 0) {
		ok(0, "load %s: %s", path, err_msg(e));
		return NULL;
	}
	return j;
}

/* Run one template; returns 0 and the output, or <0 and the error text. */
static int run(const char *name, const char *tmpl, json_t *data, const json_t *options, const json_t *delims,
	       TmplFuncs funcs, char **out, char **errtext)
{
	TmplOptions o = { .funcs = funcs };
	if (json_is_array(delims) && json_array_size(delims) == 2) {
		o.ldelim = json_string_value(json_array_get(delims, 0));
		o.rdelim = json_string_value(json_array_get(delims, 1));
	}
	_cleanup_tmplset_ TmplSet *s = tmpl_set_new(&o);
	_cleanup_err_ Error *e = NULL;
	_cleanup_arena_ Arena *a = NULL;
	StrBuf sb = STRBUF_INIT;
	size_t i;
	json_t *opt;
	json_array_foreach(options, i, opt)
		if (tmpl_set_option(s, json_string_value(opt), &e) < 0)
			goto fail;
	if (tmpl_set_parse(s, name, tmpl, strlen(tmpl), &e) < 0)
		goto fail;
	a = arena_new(0);
	Value *dot = value_from_json(a, data, JSON_INT_AS_INT);
	if (tmpl_set_execute(s, name, a, dot, &sb, &e) < 0) {
		sb_release(&sb);
		goto fail;
	}
	*out = sb_detach(&sb);
	return 0;
fail:
	*errtext = xstrdup(err_msg(e));
	return -1;
}

static void run_exec_suite(const char *dir, const char *file, const char *suite, TmplFuncs funcs)
{
	json_t *cases = load_vectors(dir, file);
	if (!cases)
		return;
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c) {
		const char *name = json_str(c, "name");
		_cleanup_free_ char *uname = NULL;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(json_str(json_array_get(cases, k), "name"), name))
				uname = xasprintf("%s#2", name);
		if (uname)
			name = uname;
		const char *tmpl = json_str(c, "template");
		const char *want = json_str(c, "expected");
		bool want_ok = json_bool(c, "ok", true);
		const char *go_error = json_str(c, "go_error");
		const char *contains = json_str(c, "error_contains");
		_cleanup_free_ char *out = NULL, *errtext = NULL;
		int r = run(name, tmpl, json_object_get(c, "data"), json_object_get(c, "options"),
			    json_object_get(c, "delims"), funcs, &out, &errtext);
		bool pass;
		if (want_ok)
			pass = r == 0 && !strcmp(out, want ? want : "");
		else
			pass = r < 0 && (!contains || strstr(errtext, contains)) && (!go_error || !strcmp(errtext, go_error));
		report(suite, name, pass, r == 0 ? out : errtext, want_ok ? want : (go_error ? go_error : "(an error)"));
	}
	json_decref(cases);
}

static void run_parse_suite(const char *dir)
{
	json_t *cases = load_vectors(dir, "gotemplate/parse_cases.json");
	if (!cases)
		return;
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c) {
		const char *name = json_str(c, "name");
		_cleanup_free_ char *uname = NULL;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(json_str(json_array_get(cases, k), "name"), name))
				uname = xasprintf("%s#2", name);
		const char *tname = json_str(c, "template_name");
		if (!tname)
			tname = name;
		const char *tmpl = json_str(c, "template");
		bool want_err = json_bool(c, "parse_error", false);
		const char *go_error = json_str(c, "go_error");
		const char *contains = json_str(c, "error_contains");
		TmplOptions o = { .funcs = TMPL_FUNCS_GO };
		_cleanup_tmplset_ TmplSet *s = tmpl_set_new(&o);
		_cleanup_err_ Error *e = NULL;
		int r = tmpl_set_parse(s, tname, tmpl, strlen(tmpl), &e);
		bool pass;
		if (!want_err)
			pass = r == 0;
		else
			pass = r < 0 && (!contains || strstr(err_msg(e), contains)) &&
			       (!go_error || !strcmp(err_msg(e), go_error));
		report("parse", uname ? uname : name, pass, r < 0 ? err_msg(e) : "(parsed)",
		       want_err ? (go_error ? go_error : "(an error)") : "(parsed)");
	}
	json_decref(cases);
}

/* ---- engine checks beyond the vectors --------------------------------------------- */
static char *render(const char *tmpl, const char *json_data, char **errtext)
{
	_cleanup_tmplset_ TmplSet *s = tmpl_set_new(NULL);
	_cleanup_err_ Error *e = NULL;
	*errtext = NULL;
	if (tmpl_set_parse(s, "t", tmpl, strlen(tmpl), &e) < 0) {
		*errtext = xstrdup(err_msg(e));
		return NULL;
	}
	_cleanup_arena_ Arena *a = arena_new(0);
	json_t *j = json_data ? json_loads(json_data, JSON_DECODE_ANY, NULL) : NULL;
	Value *dot = value_from_json(a, j, JSON_INT_AS_INT64);
	json_decref(j);
	StrBuf sb = STRBUF_INIT;
	if (tmpl_set_execute(s, "t", a, dot, &sb, &e) < 0) {
		*errtext = xstrdup(err_msg(e));
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb);
}

static void check(const char *tmpl, const char *data, const char *want)
{
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ char *got = render(tmpl, data, &err);
	is_str(got ? got : err, want, "render %s", tmpl);
}

static void check_err(const char *tmpl, const char *data, const char *want_sub)
{
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ char *got = render(tmpl, data, &err);
	ok(!got && err && strstr(err, want_sub), "error for %.60s contains '%s'", tmpl, want_sub);
	if (got || !err || !strstr(err, want_sub))
		tap_diag("got: %s", got ? got : err);
}

static void engine_checks(void)
{
	/* numbers from data: JSON integers are int64, others float64 */
	check("{{ .a }} {{ .b }} {{ .c }} {{ printf \"%T %T\" .a .b }}", "{\"a\": 3, \"b\": 3.0, \"c\": 1e6}",
	      "3 3 1e+06 int64 float64");
	check("{{ .big }}", "{\"big\": 1234567.0}", "1.234567e+06");
	check("{{ .n }}", "{\"n\": null}", "<no value>");
	check_err("{{ .n.x }}", "{\"n\": null}", "nil pointer evaluating interface {}.x");
	/* Helm: include with its recursion limit, tpl, required */
	check("{{ define \"x\" }}[{{ . }}]{{ end }}{{ include \"x\" 1 | upper }}", NULL, "[1]");
	check("{{ tpl \"{{ .a }}-{{ .missing }}\" . }}", "{\"a\": \"b\"}", "b-");
	check_err("{{ define \"r\" }}{{ include \"r\" . }}{{ end }}{{ include \"r\" . }}", NULL,
		  "rendering template has a nested reference name: r: unable to execute template");
	check_err("{{ required \"need x\" .x }}", "{}", "error calling required: HELM_ERR_STARTneed xHELM_ERR_END");
	check_err("{{ fail \"boom\" }}", NULL, "error calling fail: HELM_ERR_STARTboomHELM_ERR_END");
	/* runaway recursion and hostile sizes end in errors, not crashes */
	check_err("{{ define \"loop\" }}{{ template \"loop\" . }}{{ end }}{{ template \"loop\" . }}", NULL,
		  "exceeded maximum template depth (100000)");
	check_err("{{ range until 100000000 }}x{{ end }}", NULL, "");
	{
		StrBuf deep = STRBUF_INIT;
		for (int i = 0; i < BERTH_MAX_TEMPLATE_NESTING + 5; i++)
			sb_adds(&deep, "{{if 1}}");
		check_err(deep.buf, NULL, "max expression depth exceeded");
		sb_release(&deep);
	}
	/* YAML round trip as Helm does it */
	check("{{ toYaml . }}", "{\"b\": [1, \"two\", {\"c\": true}], \"a\": \"x: y\"}",
	      "a: 'x: y'\nb:\n- 1\n- two\n- c: true");
	check("{{ (fromYaml \"a: 1\\nb: [x, z]\").b }}", NULL, "[x z]");
	/* YAML 1.1 as go-yaml v2 reads it: y is a bool, 0777 octal, ints become float64 */
	check("{{ (fromYaml \"b: [x, y]\").b }}", NULL, "[x true]");
	check("{{ $m := fromYaml \"a: 0777\\nb: 12345678901234567\" }}{{ $m.a }} {{ $m.b }} {{ typeOf $m.a }}", NULL,
	      "511 1.2345678901234568e+16 float64");
}

int main(void)
{
	const char *dir = getenv("BERTH_CONFORMANCE");
	if (!dir)
		dir = BERTH_SOURCE_ROOT "/../shared/conformance";
	load_xfails();
	engine_checks();
	run_exec_suite(dir, "gotemplate/exec_cases.json", "exec", TMPL_FUNCS_GO);
	run_parse_suite(dir);
	run_exec_suite(dir, "gotemplate/sprig_cases.json", "sprig", TMPL_FUNCS_HELM);
	run_exec_suite(dir, "helm/funcs_cases.json", "helm", TMPL_FUNCS_HELM);
	for (size_t i = 0; i < nxfails; i++) {
		if (!xfails[i].seen)
			ok(0, "expected failure '%s' names no vector", xfails[i].key);
		free(xfails[i].key);
	}
	free(xfails);
	tap_diag("conformance: %d passed, %d expected failures, %d unexpected", passed, xfailed, failed);
	return tap_done();
}
