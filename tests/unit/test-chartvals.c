/* test-chartvals.c - chart values against Helm's conformance vectors
 * (../shared/conformance/helm: strvals_cases.json, coalesce_cases.json,
 * engine_cases.json) plus the values.schema.json validator and
 * chart_user_values' ordering.
 *
 * Every vector is one TAP line.  A vector may fail only if it is listed in
 * tests/cases/chartvals-expected-failures.txt (suite<TAB>name<TAB>reason);
 * a listed vector that passes fails too, so the list stays true.
 */
#include "tap.h"
#include "../../src/chart/chart.h"
#include "../../src/chart/chart-internal.h"
#include "../../src/chart/release.h"
#include "../../src/shared/json.h"
#include "../../src/base/fs.h"
#include "../../src/base/limits.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef BERTH_SOURCE_ROOT
#define BERTH_SOURCE_ROOT "."
#endif

typedef struct XFail {
	char *key;
	bool seen;
} XFail;
static XFail *xfails;
static size_t nxfails;

static void load_xfails(void)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (fs_read_file(BERTH_SOURCE_ROOT "/tests/cases/chartvals-expected-failures.txt", 1u << 20, &buf, &len, NULL) < 0)
		return;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!*line || *line == '#')
			continue;
		char *t1 = strchr(line, '\t');
		if (!t1)
			continue;
		char *t2 = strchr(t1 + 1, '\t');
		if (t2)
			*t2 = 0;
		xfails = xrealloc(xfails, (nxfails + 1) * sizeof(*xfails));
		xfails[nxfails++] = (XFail){ xstrdup(line), false };
	}
}

static void report(const char *suite, const char *name, bool pass, const char *detail)
{
	_cleanup_free_ char *key = xasprintf("%s\t%s", suite, name);
	XFail *x = NULL;
	for (size_t i = 0; i < nxfails; i++)
		if (!strcmp(xfails[i].key, key))
			x = &xfails[i];
	if (x)
		x->seen = true;
	if (pass && !x)
		ok(1, "%s: %s", suite, name);
	else if (!pass && x)
		ok(1, "%s: %s # expected failure", suite, name);
	else if (pass && x)
		ok(0, "%s: %s passes but is listed in chartvals-expected-failures.txt", suite, name);
	else {
		ok(0, "%s: %s", suite, name);
		tap_diag("%s", detail ? detail : "");
	}
}

static json_t *load_vectors(const char *file)
{
	const char *dir = getenv("BERTH_CONFORMANCE");
	_cleanup_free_ char *path = xasprintf("%s/helm/%s", dir ? dir : BERTH_SOURCE_ROOT "/../shared/conformance", file);
	json_t *j = NULL;
	_cleanup_err_ Error *e = NULL;
	if (json_load_path(path, 16u << 20, &j, &e) < 0) {
		ok(0, "load %s: %s", path, err_msg(e));
		return NULL;
	}
	return j;
}

/* YAML-equivalence: numbers compare by value (int64 vs float64 alike). */
static bool equiv(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return false;
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)a, k, v)
			if (!json_object_get(b, k) || !equiv(v, json_object_get(b, k)))
				return false;
		return true;
	}
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!equiv(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

/* Only Helm v3 behaviour is the target (v4-only vectors are not run). */
static bool is_v3(const json_t *c)
{
	size_t i;
	json_t *v;
	json_t *vs = json_object_get(c, "helm_versions");
	if (!vs)
		return true;
	json_array_foreach(vs, i, v)
		if (!strcmp(json_string_value(v), "v3"))
			return true;
	return false;
}

static char *dump(const json_t *j)
{
	return j ? json_dumps(j, JSON_SORT_KEYS | JSON_ENCODE_ANY) : xstrdup("(none)");
}

/* ---- strvals ------------------------------------------------------------------------ */
static void run_strvals(void)
{
	json_t *cases = load_vectors("strvals_cases.json");
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c) {
		if (!is_v3(c))
			continue;
		const char *fn = json_string_value(json_object_get(c, "func"));
		const char *name = json_string_value(json_object_get(c, "name"));
		StrvalsMode mode = STRVALS_TYPED;
		if (!strcmp(fn, "ParseString") || !strcmp(fn, "ParseIntoString"))
			mode = STRVALS_STRING;
		else if (!strcmp(fn, "ParseJSON"))
			mode = STRVALS_JSON;
		else if (!strncmp(fn, "ParseLiteral", 12))
			mode = STRVALS_LITERAL;
		json_t *init = json_object_get(c, "initial");
		json_t *dest = json_is_object(init) ? json_deep_copy(init) : json_object();
		Error *e = NULL;
		const char *in = json_string_value(json_object_get(c, "input"));
		const char *in2 = json_string_value(json_object_get(c, "input2"));
		int rc = chart_strvals_parse(dest, in, strlen(in), mode, &e);
		if (rc == 0 && in2)
			rc = chart_strvals_parse(dest, in2, strlen(in2), mode, &e);
		bool want_err = json_is_true(json_object_get(c, "error"));
		const char *eq = json_string_value(json_object_get(c, "error_equals"));
		bool pass;
		if (want_err)
			pass = rc < 0 && (!eq || !strcmp(eq, err_msg(e)));
		else
			pass = rc == 0 && equiv(dest, json_object_get(c, "expected"));
		_cleanup_free_ char *got = rc < 0 ? xstrdup(err_msg(e)) : dump(dest);
		_cleanup_free_ char *detail = xasprintf("input %s: got %s", in, got);
		report("strvals", name, pass, detail);
		err_free(e);
		json_decref(dest);
	}
	json_decref(cases);
}

/* ---- charts from vector specs ----------------------------------------------------------- */
static void add_file(ChartFile **f, size_t *n, const char *prefix, const char *name, const char *data)
{
	*f = xrealloc(*f, (*n + 1) * sizeof **f);
	(*f)[*n] = (ChartFile){ xasprintf("%s%s", prefix, name), xstrdup(data), strlen(data) };
	(*n)++;
}

static void spec_files(const json_t *spec, const char *prefix, ChartFile **f, size_t *n)
{
	json_t *meta = json_object();
	json_object_set_new(meta, "apiVersion", json_string(json_string_value(json_object_get(spec, "apiVersion")) ?: "v2"));
	json_object_set(meta, "name", json_object_get(spec, "name"));
	json_object_set_new(meta, "version", json_string(json_string_value(json_object_get(spec, "version")) ?: "0.1.0"));
	_cleanup_free_ char *m = json_dumps(meta, 0);
	json_decref(meta);
	add_file(f, n, prefix, "Chart.yaml", m);
	if (json_object_get(spec, "values")) {
		_cleanup_free_ char *v = json_dumps(json_object_get(spec, "values"), JSON_ENCODE_ANY);
		add_file(f, n, prefix, "values.yaml", v);
	}
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(spec, "templates"), i, t)
		add_file(f, n, prefix, json_string_value(json_object_get(t, "name")), json_string_value(json_object_get(t, "data")));
	json_array_foreach(json_object_get(spec, "files"), i, t)
		add_file(f, n, prefix, json_string_value(json_object_get(t, "name")), json_string_value(json_object_get(t, "data")));
	json_array_foreach(json_object_get(spec, "dependencies"), i, t) {
		_cleanup_free_ char *sub = xasprintf("%scharts/%s/", prefix, json_string_value(json_object_get(t, "name")));
		spec_files(t, sub, f, n);
	}
}

static int spec_chart(const json_t *spec, Chart **ret, Error **err)
{
	ChartFile *f = NULL;
	size_t n = 0;
	spec_files(spec, "", &f, &n);
	return chart_from_files(f, n, 0, ret, err);
}

/* Plain text/template (no functions) over a JSON map. */
static char *render_plain(const char *tmpl, const json_t *data)
{
	TmplOptions o = { .funcs = TMPL_FUNCS_GO };
	_cleanup_tmplset_ TmplSet *s = tmpl_set_new(&o);
	_cleanup_arena_ Arena *a = arena_new(0);
	_cleanup_sb_ StrBuf out = STRBUF_INIT;
	Error *e = NULL;
	if (tmpl_set_parse(s, "t", tmpl, strlen(tmpl), &e) < 0 ||
	    tmpl_set_execute(s, "t", a, value_from_json(a, data, JSON_INT_AS_INT64), &out, &e) < 0) {
		char *r = xasprintf("error: %s", err_msg(e));
		err_free(e);
		return r;
	}
	return xstrdup(out.buf ? out.buf : "");
}

/* Values.PathValue-like lookup: NULL when absent. */
static json_t *path_get(const json_t *j, const char *path)
{
	return *path ? chart_values_path(j, path) : (json_t *)j;
}

static bool run_checks(const json_t *res, const json_t *checks, StrBuf *why)
{
	bool pass = true;
	size_t i;
	json_t *ck;
	json_array_foreach(checks, i, ck) {
		const char *tmpl = json_string_value(json_object_get(ck, "template"));
		if (tmpl) {
			_cleanup_free_ char *got = render_plain(tmpl, res);
			const char *want = json_string_value(json_object_get(ck, "expected"));
			if (strcmp(got, want)) {
				pass = false;
				sb_addf(why, "%s: got '%s' want '%s'; ", tmpl, got, want);
			}
			continue;
		}
		const char *path = json_string_value(json_object_get(ck, "path"));
		json_t *v = path_get(res, path);
		bool good = true;
		if (json_is_true(json_object_get(ck, "absent")))
			good = !v;
		if (json_is_true(json_object_get(ck, "present")))
			good = good && v;
		if (json_is_true(json_object_get(ck, "is_map")))
			good = good && json_is_object(v);
		json_t *eq = json_object_get(ck, "equals");
		if (eq)
			good = good && v && equiv(v, eq);
		if (!good) {
			_cleanup_free_ char *d = dump(v);
			sb_addf(why, "%s: got %s; ", path, d);
			pass = false;
		}
	}
	return pass;
}

static void warn_collect(const char *msg, void *ctx)
{
	sb_addf(ctx, "%s\n", msg);
}

static void add_template(Chart *ch, const char *name, const char *text)
{
	ch->templates = xrealloc(ch->templates, (ch->ntemplates + 1) * sizeof *ch->templates);
	ch->templates[ch->ntemplates++] = (ChartFile){ xstrdup(name), xstrdup(text), strlen(text) };
}

/* ToRenderValues is built inside the renderer: render the top-level object
 * (Chart.Name, Release, Values) as JSON through a template added to the chart;
 * the vector's template checks (Capabilities) become templates too and are
 * checked here, the path checks by run_checks on *res. */
static bool to_render_values(const json_t *c, Chart *ch, json_t **res, StrBuf *why)
{
	add_template(ch, "templates/render-values",
		     "{{ dict \"Chart\" (dict \"Name\" .Chart.Name) \"Release\" .Release \"Values\" .Values | toJson }}");
	json_t *checks = json_object_get(c, "checks");
	size_t i;
	json_t *ck;
	json_array_foreach(checks, i, ck)
		if (json_object_get(ck, "template")) {
			_cleanup_free_ char *n = xasprintf("templates/check-%zu", i);
			add_template(ch, n, json_string_value(json_object_get(ck, "template")));
		}
	json_t *uv = json_deep_copy(json_object_get(c, "user_values"));
	chart_json_ints_to_reals(uv);
	json_t *vals = chart_coalesce_values(ch, uv, false);
	json_decref(uv);
	const json_t *ro = json_object_get(c, "release_options");
	RenderOptions o = { .release_name = json_string_value(json_object_get(ro, "Name")),
			    .namespace = json_string_value(json_object_get(ro, "Namespace")),
			    .revision = (int)json_integer_value(json_object_get(ro, "Revision")),
			    .is_upgrade = json_is_true(json_object_get(ro, "IsUpgrade")) };
	Rendered r = { 0 };
	Error *e = NULL;
	int rc = chart_render(ch, vals, &o, &r, &e);
	json_decref(vals);
	if (rc < 0) {
		sb_addf(why, "render: %s", err_msg(e));
		err_free(e);
		return false;
	}
	bool pass = true;
	_cleanup_free_ char *top = xasprintf("%s/templates/render-values", ch->name);
	json_array_foreach(checks, i, ck) {
		if (!json_object_get(ck, "template"))
			continue;
		_cleanup_free_ char *n = xasprintf("%s/templates/check-%zu", ch->name, i);
		const char *want = json_string_value(json_object_get(ck, "expected"));
		for (size_t k = 0; k < r.n; k++)
			if (!strcmp(r.files[k].name, n) && strcmp(r.files[k].text, want)) {
				pass = false;
				sb_addf(why, "%s: got '%s' want '%s'; ", n, r.files[k].text, want);
			}
	}
	for (size_t k = 0; k < r.n; k++)
		if (!strcmp(r.files[k].name, top) && !(*res = json_loads(r.files[k].text, 0, NULL)))
			sb_addf(why, "not JSON: %s; ", r.files[k].text);
	rendered_release(&r);
	if (!*res) {
		sb_addf(why, "no render values for %s", top);
		return false;
	}
	/* the path checks only: template checks were rendered above */
	json_t *paths = json_array();
	json_array_foreach(checks, i, ck)
		if (!json_object_get(ck, "template"))
			json_array_append(paths, ck);
	pass = run_checks(*res, paths, why) && pass;
	json_decref(paths);
	json_decref(*res);
	*res = NULL;
	return pass;
}

static void run_coalesce(void)
{
	json_t *cases = load_vectors("coalesce_cases.json");
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c) {
		if (!is_v3(c))
			continue;
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *op = json_string_value(json_object_get(c, "op"));
		_cleanup_sb_ StrBuf why = STRBUF_INIT, warns = STRBUF_INIT;
		json_t *res = NULL;
		_cleanup_chart_ Chart *ch = NULL;
		Error *e = NULL;
		bool pass = true;
		chart_set_warn(warn_collect, &warns);
		if (json_object_get(c, "chart") && spec_chart(json_object_get(c, "chart"), &ch, &e) < 0) {
			sb_addf(&why, "chart: %s", err_msg(e));
			pass = false;
		} else if (!strcmp(op, "CoalesceValues") || !strcmp(op, "MergeValues") || !strncmp(op, "coalesce", 8)) {
			json_t *uv = json_deep_copy(json_object_get(c, "user_values"));
			chart_json_ints_to_reals(uv);
			res = chart_coalesce_values(ch, uv, !strcmp(op, "MergeValues"));
			json_decref(uv);
		} else if (!strcmp(op, "CoalesceTables") || !strcmp(op, "MergeTables")) {
			res = json_deep_copy(json_object_get(c, "dst"));
			json_t *src = json_deep_copy(json_object_get(c, "src"));
			chart_coalesce_tables(res, json_is_null(src) ? NULL : src, !strcmp(op, "MergeTables"));
			json_decref(src);
		} else if (!strcmp(op, "Values.Table") || !strcmp(op, "Values.PathValue")) {
			const char *y = json_string_value(json_object_get(c, "yaml"));
			if (chart_yaml_values(y, strlen(y), &res, &e) < 0)
				pass = false;
			bool table = !strcmp(op, "Values.Table");
			size_t k;
			json_t *ck;
			json_array_foreach(json_object_get(c, table ? "table_checks" : "path_checks"), k, ck) {
				const char *path = json_string_value(json_object_get(ck, table ? "table" : "path"));
				json_t *v = *path ? chart_values_path(res, path) : NULL;
				bool err = table ? !json_is_object(v) : (!v || json_is_object(v));
				bool good = err == json_is_true(json_object_get(ck, "error"));
				json_t *eq = json_object_get(ck, "equals");
				if (good && !err && eq) {
					json_t *x = table ? json_object_get(v, json_string_value(json_object_get(ck, "key"))) : v;
					good = x && equiv(x, eq);
				}
				if (!good) {
					pass = false;
					sb_addf(&why, "%s: wrong; ", path);
				}
			}
			json_decref(res);
			res = NULL;
		} else if (!strcmp(op, "ReadValues")) {
			const char *y = json_string_value(json_object_get(c, "yaml"));
			if (chart_yaml_values(y, strlen(y), &res, &e) < 0) {
				sb_addf(&why, "%s", err_msg(e));
				pass = false;
			}
		} else if (!strcmp(op, "ToRenderValues")) {
			pass = to_render_values(c, ch, &res, &why);
		} else {
			sb_addf(&why, "operation %s has no counterpart here", op);
			pass = false;
		}
		chart_set_warn(NULL, NULL);
		if (pass && res)
			pass = run_checks(res, json_object_get(c, "checks"), &why);
		size_t k;
		json_t *w;
		json_array_foreach(json_object_get(c, "expected_warnings_contain"), k, w)
			if (!warns.buf || !strstr(warns.buf, json_string_value(w))) {
				pass = false;
				sb_addf(&why, "missing warning '%s' in '%s'", json_string_value(w), warns.buf ? warns.buf : "");
			}
		report("coalesce", name, pass, why.buf);
		json_decref(res);
		err_free(e);
	}
	json_decref(cases);
}

/* ---- engine (chart kind through chart_render) ------------------------------------------ */
/* The vectors' fake cluster for lookup: "lookup": {resources, objects, errors}. */
static int fake_lookup(void *ctx, const char *av, const char *kind, const char *ns, const char *name, json_t **ret,
		       Error **err)
{
	const json_t *lk = ctx;
	_cleanup_free_ char *key = xasprintf("%s/%s", av, kind);
	const char *msg = json_string_value(json_object_get(json_object_get(lk, "errors"), key));
	if (msg)
		return err_set(err, EIO, "%s", msg);
	json_t *res = json_object_get(json_object_get(lk, "resources"), key);
	bool namespaced = json_is_true(json_object_get(res, "namespaced"));
	json_t *items = json_array();
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(lk, "objects"), i, o) {
		json_t *md = json_object_get(o, "metadata");
		const char *on = json_string_value(json_object_get(md, "name")) ?: "";
		const char *ons = json_string_value(json_object_get(md, "namespace")) ?: "";
		if (strcmp(json_string_value(json_object_get(o, "apiVersion")) ?: "", av) ||
		    strcmp(json_string_value(json_object_get(o, "kind")) ?: "", kind))
			continue;
		if (namespaced && *ns && strcmp(ns, ons))
			continue;
		if (*name && strcmp(name, on))
			continue;
		json_array_append(items, o);
	}
	if (*name) {
		*ret = json_array_size(items) ? json_incref(json_array_get(items, 0)) : NULL;
		json_decref(items);
	} else {
		*ret = json_pack("{s:s, s:s, s:o}", "apiVersion", av, "kind", "List", "items", items);
	}
	return 0;
}

static void check_render(const json_t *c, const char *name, int rc, Rendered *r, Error *e);
static void run_engine_chart(const json_t *c, const char *name)
{
	_cleanup_chart_ Chart *ch = NULL;
	Error *e = NULL;
	_cleanup_sb_ StrBuf why = STRBUF_INIT;
	if (spec_chart(json_object_get(c, "chart"), &ch, &e) < 0) {
		sb_addf(&why, "chart: %s", err_msg(e));
		report("engine", name, false, why.buf);
		err_free(e);
		return;
	}
	const json_t *rv = json_object_get(c, "render_values");
	json_t *co = json_object_get(c, "coalesce");
	json_t *vals = NULL;
	if (co) {
		json_t *uv = json_deep_copy(json_object_get(co, "user_values"));
		chart_json_ints_to_reals(uv);
		json_t *r = chart_coalesce_values(ch, uv, false);
		json_decref(uv);
		if (!strcmp(json_string_value(json_object_get(co, "into")), "<top>")) {
			vals = json_incref(json_object_get(r, "Values"));
			json_decref(r);
		} else {
			vals = r;
		}
	} else {
		vals = json_incref(json_object_get(rv, "Values"));
	}
	if (!vals)
		vals = json_object();
	json_t *eng = json_object_get(c, "engine");
	RenderOptions o = {
		.release_name = json_string_value(json_object_get(json_object_get(rv, "Release"), "Name")) ?: "",
		.namespace = "default", .kube_version = "v1.20.0",
		.strict = json_is_true(json_object_get(eng, "strict")),
		.lint_mode = json_is_true(json_object_get(eng, "lint_mode")),
	};
	Rendered r = { 0 };
	json_t *lk = json_object_get(c, "lookup");
	if (lk)
		chart_set_lookup(fake_lookup, lk);
	int rc = chart_render(ch, vals, &o, &r, &e);
	if (lk)
		chart_set_lookup(NULL, NULL);
	json_decref(vals);
	check_render(c, name, rc, &r, e);
}

/* Compare a render (chart or flat) with the vector's expectations; frees r and e. */
static void check_render(const json_t *c, const char *name, int rc, Rendered *r_, Error *e)
{
	_cleanup_sb_ StrBuf why = STRBUF_INIT;
	Rendered r = *r_;
	bool pass = true;
	const char *xe = json_string_value(json_object_get(c, "expected_error"));
	const char *xc = json_string_value(json_object_get(c, "expected_error_contains"));
	const char *xs = json_string_value(json_object_get(c, "expected_error_suffix"));
	bool want_err = xe || xc || xs || json_is_true(json_object_get(c, "expect_error"));
	if (want_err) {
		const char *m = rc < 0 ? err_msg(e) : "";
		size_t ml = strlen(m);
		pass = rc < 0 && (!xe || !strcmp(m, xe)) && (!xc || strstr(m, xc)) &&
		       (!xs || (ml >= strlen(xs) && !strcmp(m + ml - strlen(xs), xs)));
		sb_addf(&why, "error: %s", rc < 0 ? m : "(none)");
	} else if (rc < 0) {
		pass = false;
		sb_addf(&why, "error: %s", err_msg(e));
	} else {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(c, "expected"), k, v) {
			const char *got = NULL;
			for (size_t i = 0; i < r.n; i++)
				if (!strcmp(r.files[i].name, k))
					got = r.files[i].text;
			if (!got || strcmp(got, json_string_value(v))) {
				pass = false;
				sb_addf(&why, "%s: got '%s' want '%s'; ", k, got ? got : "(missing)", json_string_value(v));
			}
		}
		json_t *cnt = json_object_get(c, "expected_output_count");
		if (!cnt)
			cnt = json_object_get(c, "expected_template_count");
		if (cnt && (json_int_t)r.n != json_integer_value(cnt)) {
			pass = false;
			sb_addf(&why, "count %zu want %lld", r.n, (long long)json_integer_value(cnt));
		}
	}
	report("engine", name, pass, why.buf);
	rendered_release(&r);
	err_free(e);
}

/* kind "templates": Engine.render over a flat set of named templates. */
static void run_engine_flat(const json_t *c, const char *name)
{
	json_t *tpls = json_object_get(c, "templates");
	size_t n = json_object_size(tpls), i = 0;
	const char **names = xcalloc(n + 1, sizeof *names), **texts = xcalloc(n + 1, sizeof *texts);
	const json_t **vals = xcalloc(n + 1, sizeof *vals);
	const char *k;
	json_t *v;
	json_object_foreach(tpls, k, v) {
		names[i] = k;
		texts[i] = json_string_value(json_object_get(v, "tpl")) ?: "";
		vals[i++] = json_object_get(v, "vals");
	}
	json_t *eng = json_object_get(c, "engine");
	RenderOptions o = { .release_name = "", .namespace = "default", .kube_version = "v1.20.0",
			    .strict = json_is_true(json_object_get(eng, "strict")),
			    .lint_mode = json_is_true(json_object_get(eng, "lint_mode")) };
	Rendered r = { 0 };
	Error *e = NULL;
	int rc = chart_render_flat(names, texts, vals, n, &o, &r, &e);
	free(names);
	free(texts);
	free(vals);
	check_render(c, name, rc, &r, e);
}

/* kind "sort_templates": Helm's sortTemplates order. */
static void run_sort_templates(const json_t *c, const char *name)
{
	json_t *in = json_object_get(c, "input"), *want = json_object_get(c, "expected_order");
	size_t n = json_array_size(in);
	const char **names = xcalloc(n + 1, sizeof *names);
	for (size_t i = 0; i < n; i++)
		names[i] = json_string_value(json_array_get(in, i));
	chart_sort_templates(names, n);
	bool pass = json_array_size(want) == n;
	_cleanup_sb_ StrBuf why = STRBUF_INIT;
	for (size_t i = 0; pass && i < n; i++)
		if (strcmp(names[i], json_string_value(json_array_get(want, i)) ?: "")) {
			pass = false;
			sb_addf(&why, "position %zu: %s", i, names[i]);
		}
	free(names);
	report("engine", name, pass, why.buf);
}

static void run_engine(void)
{
	json_t *cases = load_vectors("engine_cases.json");
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c) {
		if (!is_v3(c))
			continue;
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *kind = json_string_value(json_object_get(c, "kind"));
		if (!strcmp(kind, "chart")) {
			run_engine_chart(c, name);
		} else if (!strcmp(kind, "funcmap")) {
			bool pass = true;
			_cleanup_sb_ StrBuf why = STRBUF_INIT;
			for (int want = 0; want < 2; want++) {
				size_t k;
				json_t *f;
				json_array_foreach(json_object_get(c, want ? "present" : "absent"), k, f) {
					_cleanup_free_ char *t = xasprintf("{{ if false }}{{ %s }}{{ end }}", json_string_value(f));
					_cleanup_tmplset_ TmplSet *s = tmpl_set_new(&(TmplOptions){ 0 });
					Error *e = NULL;
					bool parsed = tmpl_set_parse(s, "f", t, strlen(t), &e) == 0;
					err_free(e);
					if (parsed != (bool)want) {
						pass = false;
						sb_addf(&why, "%s %s; ", json_string_value(f), parsed ? "present" : "absent");
					}
				}
			}
			report("engine", name, pass, why.buf);
		} else if (!strcmp(kind, "templates")) {
			run_engine_flat(c, name);
		} else if (!strcmp(kind, "sort_templates")) {
			run_sort_templates(c, name);
		} else {
			report("engine", name, false, "this kind (Engine internals) has no counterpart API here");
		}
	}
	json_decref(cases);
}

/* ---- chart_user_values: Helm's order ------------------------------------------------------ */
static void user_values_order(void)
{
	char path[] = "/tmp/test-chartvals-XXXXXX";
	int fd = mkstemp(path);
	ok(fd >= 0, "temp values file");
	const char *y = "a: fromfile\nb: fromfile\nc: fromfile\nd: fromfile\ne: fromfile\nf: fromfile\nn: 3\n";
	ok(write(fd, y, strlen(y)) == (ssize_t)strlen(y), "write values file");
	close(fd);
	char fpath[] = "/tmp/test-chartvals-set-file-XXXXXX";
	fd = mkstemp(fpath);
	ok(fd >= 0 && write(fd, "file-contents", 13) == 13, "write --set-file source");
	close(fd);
	const char *files[] = { path, NULL };
	const char *js[] = { "b=\"json\",c=\"json\",d=\"json\",e=\"json\",f=\"json\"", NULL };
	const char *set[] = { "c=set,d=set,e=set,f=set,n=5", NULL };
	const char *ss[] = { "d=sstr,e=sstr,f=sstr,m=5", NULL };
	_cleanup_free_ char *sf_arg = xasprintf("e=%s", fpath);
	const char *sf[] = { sf_arg, NULL };
	const char *sl[] = { "f=lit,x,y=z", NULL };
	ChartValueOpts o = { .value_files = files, .set_json = js, .set = set, .set_string = ss, .set_file = sf, .set_literal = sl };
	json_t *v = NULL;
	Error *e = NULL;
	ok(chart_user_values(&o, &v, &e) == 0, "chart_user_values: %s", e ? err_msg(e) : "ok");
	is_str(json_string_value(json_object_get(v, "a")), "fromfile", "-f lowest");
	is_str(json_string_value(json_object_get(v, "b")), "json", "--set-json over -f");
	is_str(json_string_value(json_object_get(v, "c")), "set", "--set over --set-json");
	is_str(json_string_value(json_object_get(v, "d")), "sstr", "--set-string over --set");
	is_str(json_string_value(json_object_get(v, "e")), "file-contents", "--set-file over --set-string");
	is_str(json_string_value(json_object_get(v, "f")), "lit,x,y=z", "--set-literal last, verbatim");
	ok(json_is_integer(json_object_get(v, "n")) && json_integer_value(json_object_get(v, "n")) == 5, "--set integer is int64");
	is_str(json_string_value(json_object_get(v, "m")), "5", "--set-string keeps a string");
	json_decref(v);
	const char *bad[] = { "a.b=1", NULL };
	ChartValueOpts o2 = { .value_files = files, .set = bad };
	ok(chart_user_values(&o2, &v, &e) < 0, "--set into a string from -f fails");
	is_str(err_msg(e), "failed parsing --set data: unable to parse key: interface conversion: interface {} is string, not map[string]interface {}", "Go's panic text");
	err_free(e);
	e = NULL;
	const char *big[] = { "l[65537]=1", NULL };
	ChartValueOpts o3 = { .set = big };
	ok(chart_user_values(&o3, &v, &e) < 0, "index limit");
	is_str(err_msg(e), "failed parsing --set data: index of 65537 is greater than maximum supported index of 65536", "index limit text");
	err_free(e);
	e = NULL;
	const char *badjson[] = { "a={x", NULL };
	ChartValueOpts o4 = { .set_json = badjson };
	ok(chart_user_values(&o4, &v, &e) < 0, "bad --set-json");
	is_str(err_msg(e), "failed parsing --set-json data a={x", "--set-json error text");
	err_free(e);
	unlink(path);
	unlink(fpath);
}

void run_schema_tests(void);

int main(void)
{
	load_xfails();
	run_strvals();
	run_coalesce();
	run_engine();
	user_values_order();
	run_schema_tests();
	for (size_t i = 0; i < nxfails; i++)
		ok(xfails[i].seen, "expected failure '%s' names a vector", xfails[i].key);
	return tap_done();
}

/* ---- values.schema.json ------------------------------------------------------------------- */
static void schema_case(const char *schema, const char *vals, const char *want)
{
	json_error_t je;
	json_t *v = json_loads(vals, JSON_DECODE_ANY, &je);
	char *rep = NULL;
	Error *e = NULL;
	int rc = chart_schema_validate(schema, strlen(schema), v, &rep, &e);
	if (!want)
		ok(rc == 0 && !rep, "schema %s accepts %s%s%s", schema, vals, rep ? ": " : "", rep ? rep : "");
	else
		is_str(rep, want, "schema %s rejects %s", schema, vals);
	free(rep);
	err_free(e);
	json_decref(v);
}

void run_schema_tests(void)
{
	static const struct { const char *schema, *vals, *want; } t[] = {
		{ "{\"type\":\"object\",\"required\":[\"name\"]}", "{}", "- (root): name is required\n" },
		{ "{\"required\":[\"name\"]}", "{\"name\":1}", NULL },
		{ "{\"properties\":{\"age\":{\"type\":\"integer\"}}}", "{\"age\":\"x\"}",
		  "- age: Invalid type. Expected: integer, given: string\n" },
		{ "{\"properties\":{\"age\":{\"type\":\"integer\"}}}", "{\"age\":3.0}", NULL },
		{ "{\"properties\":{\"age\":{\"type\":\"integer\"}}}", "{\"age\":3.5}",
		  "- age: Invalid type. Expected: integer, given: number\n" },
		{ "{\"properties\":{\"a\":{\"type\":[\"string\",\"null\"]}}}", "{\"a\":1}",
		  "- a: Invalid type. Expected: [string,null], given: integer\n" },
		{ "{\"properties\":{\"p\":{\"enum\":[\"Always\",\"Never\"]}}}", "{\"p\":\"x\"}",
		  "- p: p must be one of the following: \"Always\", \"Never\"\n" },
		{ "{\"properties\":{\"c\":{\"const\":5}}}", "{\"c\":5.0}", NULL },
		{ "{\"properties\":{\"c\":{\"const\":5}}}", "{\"c\":4}", "- c: c does not match: 5\n" },
		{ "{\"additionalProperties\":false,\"properties\":{\"a\":{}}}", "{\"a\":1,\"b\":2}",
		  "- (root): Additional property b is not allowed\n" },
		{ "{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},\"additionalProperties\":false}",
		  "{\"x-a\":\"s\",\"x-b\":2}", "- x-b: Invalid type. Expected: string, given: integer\n" },
		{ "{\"properties\":{\"l\":{\"items\":{\"type\":\"string\"},\"minItems\":2,\"uniqueItems\":true}}}",
		  "{\"l\":[\"a\",\"a\"]}", "- l: array items[0,1] must be unique\n" },
		{ "{\"properties\":{\"l\":{\"items\":{\"type\":\"string\"},\"minItems\":2}}}",
		  "{\"l\":[1]}", "- l: Array must have at least 2 items\n- l.0: Invalid type. Expected: string, given: integer\n" },
		{ "{\"properties\":{\"l\":{\"maxItems\":1}}}", "{\"l\":[1,2]}", "- l: Array must have at most 1 items\n" },
		{ "{\"properties\":{\"n\":{\"minimum\":1,\"maximum\":10}}}", "{\"n\":0}", "- n: Must be greater than or equal to 1\n" },
		{ "{\"properties\":{\"n\":{\"minimum\":1,\"maximum\":10}}}", "{\"n\":11}", "- n: Must be less than or equal to 10\n" },
		{ "{\"properties\":{\"n\":{\"exclusiveMinimum\":1}}}", "{\"n\":1}", "- n: Must be greater than 1\n" },
		{ "{\"properties\":{\"n\":{\"exclusiveMaximum\":1.5}}}", "{\"n\":1.5}", "- n: Must be less than 1.5\n" },
		{ "{\"properties\":{\"n\":{\"multipleOf\":3}}}", "{\"n\":7}", "- n: Must be a multiple of 3\n" },
		{ "{\"properties\":{\"n\":{\"multipleOf\":0.1}}}", "{\"n\":0.3}", NULL },
		{ "{\"properties\":{\"s\":{\"minLength\":2,\"maxLength\":3}}}", "{\"s\":\"\u00e9\"}",
		  "- s: String length must be greater than or equal to 2\n" },
		{ "{\"properties\":{\"s\":{\"maxLength\":3}}}", "{\"s\":\"abcd\"}", "- s: String length must be less than or equal to 3\n" },
		{ "{\"properties\":{\"s\":{\"pattern\":\"^[a-z]+$\"}}}", "{\"s\":\"aB\"}", "- s: Does not match pattern '^[a-z]+$'\n" },
		{ "{\"properties\":{\"s\":{\"pattern\":\"\\\\d\"}}}", "{\"s\":\"a1\"}", NULL },
		{ "{\"anyOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}", "{}", "- (root): Must validate at least one schema (anyOf)\n" },
		{ "{\"oneOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}", "{\"a\":1,\"b\":1}",
		  "- (root): Must validate one and only one schema (oneOf)\n" },
		{ "{\"oneOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}", "{\"a\":1}", NULL },
		{ "{\"allOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}", "{\"a\":1}",
		  "- (root): Must validate all the schemas (allOf)\n- (root): b is required\n" },
		{ "{\"not\":{\"required\":[\"a\"]}}", "{\"a\":1}", "- (root): Must not validate the schema (not)\n" },
		{ "{\"if\":{\"properties\":{\"kind\":{\"const\":\"x\"}}},\"then\":{\"required\":[\"xv\"]},\"else\":{\"required\":[\"yv\"]}}",
		  "{\"kind\":\"x\"}", "- (root): Must validate \"then\" as \"if\" was valid\n- (root): xv is required\n" },
		{ "{\"if\":{\"properties\":{\"kind\":{\"const\":\"x\"}}},\"then\":{\"required\":[\"xv\"]},\"else\":{\"required\":[\"yv\"]}}",
		  "{\"kind\":\"y\"}", "- (root): Must validate \"else\" as \"if\" was not valid\n- (root): yv is required\n" },
		{ "{\"definitions\":{\"port\":{\"type\":\"integer\",\"maximum\":65535}},\"properties\":{\"p\":{\"$ref\":\"#/definitions/port\"}}}",
		  "{\"p\":70000}", "- p: Must be less than or equal to 65535\n" },
		{ "{\"$defs\":{\"s\":{\"type\":\"string\"}},\"properties\":{\"p\":{\"$ref\":\"#/$defs/s\"}}}",
		  "{\"p\":true}", "- p: Invalid type. Expected: string, given: boolean\n" },
		{ "{\"properties\":{\"t\":{\"$ref\":\"#\"}}}", "{\"t\":{\"t\":{}}}", NULL },
		{ "{\"properties\":{\"o\":{\"minProperties\":1}}}", "{\"o\":{}}", "- o: Must have at least 1 properties\n" },
		{ "{\"properties\":{\"o\":false}}", "{\"o\":1}", "- o: False always fails validation\n" },
		{ "{\"properties\":{\"a\":{\"properties\":{\"b\":{\"type\":\"string\"}}}}}", "{\"a\":{\"b\":null}}",
		  "- a.b: Invalid type. Expected: string, given: null\n" },
		{ "{\"properties\":{\"l\":{\"contains\":{\"const\":2}}}}", "{\"l\":[1]}", "- l: At least one of the items must match\n" },
		{ "{\"dependencies\":{\"a\":[\"b\"]}}", "{\"a\":1}", "- (root): Has a dependency on b\n" },
		{ "{\"propertyNames\":{\"maxLength\":2}}", "{\"abc\":1}", "- (root): Property name of \"abc\" does not match\n" },
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++)
		schema_case(t[i].schema, t[i].vals, t[i].want);
	/* a $ref loop is an error, not a crash */
	json_t *v = json_loads("{\"a\":1}", 0, NULL);
	char *rep = NULL;
	ok(chart_schema_validate("{\"$ref\":\"#\"}", 12, v, &rep, NULL) == 0 && rep && strstr(rep, "deeper than"), "a $ref loop is reported");
	free(rep);
	Error *e = NULL;
	ok(chart_schema_validate("{nope", 5, v, &rep, &e) < 0, "an unreadable schema is an error");
	err_free(e);
	e = NULL;
	json_decref(v);
	/* Helm's walk: subchart schema against the subchart's scoped values */
	ChartFile *f = xcalloc(5, sizeof *f);
	const char *files[][2] = {
		{ "Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.0.0\n" },
		{ "values.schema.json", "{\"required\":[\"name\"]}" },
		{ "charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 1.0.0\n" },
		{ "charts/sub/values.schema.json", "{\"properties\":{\"port\":{\"type\":\"integer\"}}}" },
		{ "charts/sub/values.yaml", "port: http\n" },
	};
	for (int i = 0; i < 5; i++)
		f[i] = (ChartFile){ xstrdup(files[i][0]), xstrdup(files[i][1]), strlen(files[i][1]) };
	_cleanup_chart_ Chart *c = NULL;
	ok(chart_from_files(f, 5, 0, &c, &e) == 0, "schema chart loads");
	json_t *vals = chart_coalesce_values(c, NULL, false);
	ok(chart_validate_values(c, vals, &e) < 0, "schema violations fail");
	is_str(err_msg(e), "values don't meet the specifications of the schema(s) in the following chart(s):\n"
	       "top:\n- (root): name is required\nsub:\n- port: Invalid type. Expected: integer, given: string\n", "Helm's report");
	err_free(e);
	e = NULL;
	json_object_set_new(vals, "name", json_string("x"));
	json_object_set_new(json_object_get(vals, "sub"), "port", json_real(80));
	ok(chart_validate_values(c, vals, &e) == 0, "valid values pass");
	json_decref(vals);
}
