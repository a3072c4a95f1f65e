/* chart-lint.c - `berth chart lint`: Helm's lint rules for one chart
 * directory, in Helm's order and words ("[SEVERITY] PATH: message"):
 * Chart.yaml (present, parseable, name, apiVersion, SemVer version > 0,
 * string version/appVersion, maintainers, sources, icon presence and URL,
 * type and dependencies only with apiVersion v2), values.yaml (present,
 * parseable, values.schema.json against the values with the overrides),
 * templates (allowed extensions, the chart renders in lint mode as release
 * "test-release", each rendered .yaml file is valid YAML, top-level
 * indentation) and dependencies (declared ones present in charts/).
 */
#include "chart-internal.h"
#include "semver.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../shared/yaml.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { SEV_INFO = 1, SEV_WARNING, SEV_ERROR };

typedef struct Lint {
	StrBuf *out;
	int tolerance;
	int failures;
} Lint;

static void msg(Lint *l, int sev, const char *path, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void msg(Lint *l, int sev, const char *path, const char *fmt, ...)
{
	static const char *const names[] = { "UNKNOWN", "INFO", "WARNING", "ERROR" };
	va_list ap;
	va_start(ap, fmt);
	sb_addf(l->out, "[%s] %s: ", names[sev], path);
	sb_vaddf(l->out, fmt, ap);
	sb_addc(l->out, '\n');
	va_end(ap);
	if (sev >= l->tolerance)
		l->failures++;
}

static const char *go_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING: return "string";
	case JSON_INTEGER: case JSON_REAL: return "float64";
	case JSON_TRUE: case JSON_FALSE: return "bool";
	case JSON_OBJECT: return "map[string]interface {}";
	case JSON_ARRAY: return "[]interface {}";
	default: return "<nil>";
	}
}

static bool is_url(const char *s)
{
	const char *p = strstr(s, "://");
	if (!p || p == s)
		return false;
	for (const char *c = s; c < p; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '+' || *c == '-' || *c == '.'))
			return false;
	return p[3] != 0 && !strchr(s, ' ');
}

static void lint_version(Lint *l, const char *v)
{
	Arena *a = arena_new(0);
	const char *e = NULL;
	SemVer *sv = semver_parse(a, v, strlen(v), &e);
	if (!sv)
		msg(l, SEV_ERROR, "Chart.yaml", "version '%s' is not a valid SemVer", v);
	else if (!sv->major && !sv->minor && !sv->patch && !*sv->pre)
		msg(l, SEV_ERROR, "Chart.yaml", "version %s is less than or equal to 0.0.0-0", v);
	arena_free(a);
}

static void lint_chartfile(Lint *l, const char *dir)
{
	_cleanup_free_ char *p = xasprintf("%s/Chart.yaml", dir);
	if (fs_is_dir(p))
		msg(l, SEV_ERROR, "Chart.yaml", "should be a file, not a directory");
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	json_t *m = NULL;
	Error *e = NULL;
	if (fs_read_file(p, 1u << 20, &buf, &len, &e) < 0 || yaml_parse_buf(buf, len, &m, &e) < 0) {
		msg(l, SEV_ERROR, "Chart.yaml", "unable to parse YAML\n\t%s", err_msg(e));
		err_free(e);
		return;
	}
	if (!json_is_object(m)) {
		json_decref(m);
		m = json_object();
	}
	const char *name = json_string_value(json_object_get(m, "name"));
	const char *api = json_string_value(json_object_get(m, "apiVersion"));
	const char *version = json_string_value(json_object_get(m, "version"));
	if (!name || !*name)
		msg(l, SEV_ERROR, "Chart.yaml", "name is required");
	else if (strchr(name, '/'))
		msg(l, SEV_ERROR, "Chart.yaml", "chart name \"%s\" is invalid", name);
	if (!api || !*api)
		msg(l, SEV_ERROR, "Chart.yaml", "apiVersion is required. The value must be either \"v1\" or \"v2\"");
	else if (strcmp(api, "v1") && strcmp(api, "v2"))
		msg(l, SEV_ERROR, "Chart.yaml", "apiVersion '%s' is not valid. The value must be either \"v1\" or \"v2\"", api);
	static const char *const strkeys[] = { "version", "appVersion" };
	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(m, strkeys[i]);
		if (v && !json_is_string(v))
			msg(l, SEV_ERROR, "Chart.yaml", "%s should be of type string but it's of type %s", strkeys[i], go_type(v));
		if (i == 0) {
			if (!v || (json_is_string(v) && !*version))
				msg(l, SEV_ERROR, "Chart.yaml", "version is required");
			else if (version)
				lint_version(l, version);
		}
	}
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(m, "maintainers"), i, x) {
		const char *mn = json_string_value(json_object_get(x, "name"));
		if (json_is_null(x)) {
			msg(l, SEV_ERROR, "Chart.yaml", "a maintainer entry is empty");
			break;
		}
		if (!mn || !*mn) {
			msg(l, SEV_ERROR, "Chart.yaml", "each maintainer requires a name");
			break;
		}
		const char *url = json_string_value(json_object_get(x, "url"));
		if (url && *url && !is_url(url)) {
			msg(l, SEV_ERROR, "Chart.yaml", "invalid url '%s' for maintainer '%s'", url, mn);
			break;
		}
	}
	json_array_foreach(json_object_get(m, "sources"), i, x) {
		const char *s = json_string_value(x) ?: "";
		if (!is_url(s)) {
			msg(l, SEV_ERROR, "Chart.yaml", "invalid source URL '%s'", s);
			break;
		}
	}
	const char *icon = json_string_value(json_object_get(m, "icon"));
	if (!icon || !*icon)
		msg(l, SEV_INFO, "Chart.yaml", "icon is recommended");
	else if (!is_url(icon))
		msg(l, SEV_ERROR, "Chart.yaml", "invalid icon URL '%s'", icon);
	const char *type = json_string_value(json_object_get(m, "type"));
	if (type && *type && api && strcmp(api, "v2"))
		msg(l, SEV_ERROR, "Chart.yaml", "chart type is not valid in apiVersion '%s'. It is valid in apiVersion 'v2'", api);
	if (json_array_size(json_object_get(m, "dependencies")) && api && strcmp(api, "v2"))
		msg(l, SEV_ERROR, "Chart.yaml", "dependencies are not valid in the Chart file with apiVersion '%s'. They are valid in apiVersion 'v2'", api);
	json_decref(m);
}

static void lint_values(Lint *l, const char *dir, const json_t *user)
{
	_cleanup_free_ char *p = xasprintf("%s/values.yaml", dir);
	if (!fs_exists(p)) {
		msg(l, SEV_INFO, "values.yaml", "file does not exist");
		return;
	}
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	json_t *vals = NULL;
	Error *e = NULL;
	if (fs_read_file(p, 64u << 20, &buf, &len, &e) < 0 || chart_yaml_values(buf, len, &vals, &e) < 0) {
		msg(l, SEV_ERROR, "values.yaml", "unable to parse YAML: %s", err_msg(e));
		err_free(e);
		return;
	}
	json_t *co = user ? json_deep_copy(user) : json_object();
	chart_coalesce_tables(co, vals, false);
	_cleanup_free_ char *sp = xasprintf("%s/values.schema.json", dir);
	_cleanup_free_ char *schema = NULL;
	size_t slen = 0;
	if (fs_exists(sp) && fs_read_file(sp, 64u << 20, &schema, &slen, NULL) == 0 && slen) {
		_cleanup_free_ char *rep = NULL;
		if (chart_schema_validate(schema, slen, co, &rep, &e) < 0) {
			msg(l, SEV_ERROR, "values.yaml", "%s", err_msg(e));
			err_free(e);
		} else if (rep) {
			msg(l, SEV_ERROR, "values.yaml", "%s", rep);
		}
	}
	json_decref(co);
	json_decref(vals);
}

static bool allowed_ext(const char *name, char *ext, size_t n)
{
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	const char *d = strrchr(b, '.');
	snprintf(ext, n, "%s", d ? d : "");
	return d && (!strcmp(d, ".yaml") || !strcmp(d, ".yml") || !strcmp(d, ".tpl") || !strcmp(d, ".txt"));
}

static void lint_yaml_docs(Lint *l, const char *fpath, const char *text)
{
	/* top-level indentation: the first non-blank, non-comment line */
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		size_t k = 0;
		while (k < n && (p[k] == ' ' || p[k] == '\t'))
			k++;
		if (k < n && p[k] != '#') {
			if (k > 0) {
				_cleanup_free_ char *line = xstrndup(p, n);
				msg(l, SEV_WARNING, fpath, "document starts with an illegal indent: \"%s\", which may cause parsing problems", line);
			}
			break;
		}
		p += n + (p[n] == '\n');
	}
	char **docs = NULL;
	size_t nd = chart_split_manifests(text, &docs);
	bool bad = false;
	for (size_t i = 0; i < nd; i++) {
		json_t *j = NULL;
		Error *e = NULL;
		if (!bad && yaml_parse_buf(docs[i], strlen(docs[i]), &j, &e) < 0) {
			msg(l, SEV_ERROR, fpath, "unable to parse YAML: error converting YAML to JSON: %s", err_msg(e));
			bad = true;
		}
		err_free(e);
		json_decref(j);
		free(docs[i]);
	}
	free(docs);
}

static void lint_templates(Lint *l, const char *dir, const json_t *user)
{
	_cleanup_free_ char *tp = xasprintf("%s/templates", dir);
	struct stat st;
	if (stat(tp, &st) == 0 && !S_ISDIR(st.st_mode)) {
		msg(l, SEV_WARNING, "templates/", "not a directory");
		return;
	}
	if (stat(tp, &st) < 0)
		return;
	_cleanup_chart_ Chart *c = NULL;
	Error *e = NULL;
	if (chart_load(dir, &c, &e) < 0) {
		msg(l, SEV_ERROR, "templates/", "%s", err_msg(e));
		err_free(e);
		return;
	}
	if (chart_process_dependencies(c, user, &e) < 0) {
		msg(l, SEV_ERROR, "templates/", "%s", err_msg(e));
		err_free(e);
		return;
	}
	json_t *vals = chart_coalesce_values(c, user, false);
	if (chart_validate_values(c, vals, &e) < 0) {
		msg(l, SEV_ERROR, "templates/", "%s", err_msg(e));
		err_free(e);
		json_decref(vals);
		return;
	}
	RenderOptions ro = { .release_name = "test-release", .namespace = "default", .lint_mode = true };
	Rendered r = { 0 };
	int rc = chart_render(c, vals, &ro, &r, &e);
	json_decref(vals);
	if (rc < 0) {
		msg(l, SEV_ERROR, "templates/", "%s", err_msg(e));
		err_free(e);
		return;
	}
	for (size_t i = 0; i < c->ntemplates; i++) {
		const char *name = c->templates[i].name;
		char ext[64];
		if (!allowed_ext(name, ext, sizeof ext))
			msg(l, SEV_ERROR, name, "file extension '%s' not valid. Valid extensions are .yaml, .yml, .tpl, or .txt", ext);
		size_t nl = strlen(name);
		if (nl < 5 || strcmp(name + nl - 5, ".yaml"))
			continue;
		_cleanup_free_ char *full = xasprintf("%s/%s", c->name, name);
		for (size_t k = 0; k < r.n; k++)
			if (!strcmp(r.files[k].name, full))
				lint_yaml_docs(l, name, r.files[k].text);
	}
	rendered_release(&r);
}

static void lint_dependencies(Lint *l, const char *dir)
{
	_cleanup_chart_ Chart *c = NULL;
	if (chart_load(dir, &c, NULL) < 0)
		return;
	StrBuf missing = STRBUF_INIT;
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(c->meta, "dependencies"), i, d) {
		const char *n = json_string_value(json_object_get(d, "name"));
		bool found = false;
		for (size_t k = 0; n && k < c->ndeps; k++)
			found |= !strcmp(c->deps[k]->name, n);
		if (n && !found)
			sb_addf(&missing, "%s%s", missing.len ? "," : "", n);
	}
	if (missing.len)
		msg(l, SEV_WARNING, dir, "chart directory is missing these dependencies: %s", missing.buf);
	sb_release(&missing);
}

int chart_lint(const char *path, const json_t *user_values, bool strict, StrBuf *out)
{
	Lint l = { .out = out, .tolerance = strict ? SEV_WARNING : SEV_ERROR };
	if (!fs_is_dir(path)) {
		msg(&l, SEV_ERROR, path, "unable to lint: not a chart directory (packaged charts are linted after unpacking)");
		return l.failures;
	}
	lint_chartfile(&l, path);
	lint_values(&l, path, user_values);
	lint_templates(&l, path, user_values);
	lint_dependencies(&l, path);
	return l.failures;
}
