/* chart-deps.c - Helm's ProcessDependencies on a loaded chart: aliases
 * (a copy of the subchart under the alias name), tags and conditions
 * evaluated against the coalesced values (conditions win; the first path of
 * a comma list that holds a bool decides), disabled subcharts removed, then
 * import-values copied from children into parents (depth first; the
 * parent's own values win over imported ones).
 */
#include "chart-internal.h"
#include "semver.h"
#include "../base/cleanup.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool compatible(const char *range, const char *version)
{
	if (!range || !version)
		return false;
	Arena *a = arena_new(0);
	const char *e = NULL;
	bool ok = false;
	SemConstraints *c = semver_constraints_parse(a, range, strlen(range), &e);
	SemVer *v = c ? semver_parse(a, version, strlen(version), &e) : NULL;
	if (c && v)
		ok = semver_constraints_check(c, v);
	arena_free(a);
	return ok;
}

static const char *dep_str(const json_t *d, const char *k)
{
	return json_string_value(json_object_get(d, k));
}

/* Value at "a.b.c" as Values.PathValue sees it; NULL when absent. */
static json_t *path_value(const json_t *vals, const char *path)
{
	const char *dot = strrchr(path, '.');
	const json_t *t = vals;
	if (dot) {
		_cleanup_free_ char *tp = xstrndup(path, (size_t)(dot - path));
		t = chart_values_path(vals, tp);
	}
	if (!json_is_object(t))
		return NULL;
	return json_object_get(t, dot ? dot + 1 : path);
}

static void eval_tags(json_t *deps, const json_t *cvals, bool *enabled)
{
	json_t *tags = json_object_get(cvals, "tags");
	if (!json_is_object(tags))
		return;
	for (size_t i = 0; i < json_array_size(deps); i++) {
		json_t *t = json_object_get(json_array_get(deps, i), "tags");
		bool has_true = false, has_false = false;
		for (size_t k = 0; k < json_array_size(t); k++) {
			json_t *b = json_object_get(tags, json_string_value(json_array_get(t, k)) ?: "");
			if (json_is_boolean(b))
				*(json_is_true(b) ? &has_true : &has_false) = true;
			else if (b)
				chart_warnf("Warning: Tag '%s' for chart %s returned non-bool value",
					    json_string_value(json_array_get(t, k)), dep_str(json_array_get(deps, i), "name"));
		}
		if (!has_true && has_false)
			enabled[i] = false;
	}
}

static void eval_conditions(json_t *deps, const json_t *cvals, const char *path, bool *enabled)
{
	for (size_t i = 0; i < json_array_size(deps); i++) {
		const char *cond = dep_str(json_array_get(deps, i), "condition");
		if (!cond)
			continue;
		_cleanup_free_ char *list = xstrdup(cond);
		for (char *save = NULL, *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
			while (*c == ' ')
				c++;
			size_t l = strlen(c);
			while (l && c[l - 1] == ' ')
				c[--l] = 0;
			if (!*c)
				continue;
			_cleanup_free_ char *full = xasprintf("%s%s", path, c);
			json_t *v = path_value(cvals, full);
			if (json_is_boolean(v)) {
				enabled[i] = json_is_true(v);
				break;
			}
			if (v)
				chart_warnf("Warning: Condition path '%s' for chart %s returned non-bool value", c,
					    dep_str(json_array_get(deps, i), "name"));
		}
	}
}

static int process_enabled(Chart *c, const json_t *v, const char *path)
{
	json_t *deps = json_object_get(c->meta, "dependencies");
	if (!json_is_array(deps))
		return 0;
	/* Subcharts not named (with a compatible version) in Chart.yaml stay as they are. */
	Chart **nd = xmalloc((c->ndeps + json_array_size(deps) + 1) * sizeof *nd);
	size_t n = 0;
	bool *used = xcalloc(c->ndeps + 1, sizeof *used);
	for (size_t i = 0; i < c->ndeps; i++) {
		bool listed = false;
		for (size_t k = 0; k < json_array_size(deps); k++) {
			json_t *d = json_array_get(deps, k);
			if (!strcmp(c->deps[i]->name, dep_str(d, "name") ?: "") &&
			    compatible(dep_str(d, "version"), c->deps[i]->version))
				listed = true;
		}
		if (!listed) {
			nd[n++] = c->deps[i];
			used[i] = true;
		}
	}
	for (size_t k = 0; k < json_array_size(deps); k++) {
		json_t *d = json_array_get(deps, k);
		const char *alias = dep_str(d, "alias");
		for (size_t i = 0; i < c->ndeps; i++) {
			if (strcmp(c->deps[i]->name, dep_str(d, "name") ?: "") ||
			    !compatible(dep_str(d, "version"), c->deps[i]->version))
				continue;
			Chart *sc = chart_clone(c->deps[i]);
			sc->parent = c;
			if (alias && *alias) {
				json_object_set_new(sc->meta, "name", json_string(alias));
				sc->name = json_string_value(json_object_get(sc->meta, "name"));
			}
			nd[n++] = sc;
			break;
		}
		if (alias && *alias)
			json_object_set_new(d, "name", json_string(alias));
	}
	for (size_t i = 0; i < c->ndeps; i++)
		if (!used[i])
			chart_free(c->deps[i]);
	free(used);
	free(c->deps);
	c->deps = nd;
	c->ndeps = n;

	json_t *cvals = chart_coalesce_values(c, v, false);
	size_t nreq = json_array_size(deps);
	bool *enabled = xmalloc((nreq + 1) * sizeof *enabled);
	for (size_t k = 0; k < nreq; k++)
		enabled[k] = true;
	eval_tags(deps, cvals, enabled);
	eval_conditions(deps, cvals, path, enabled);
	json_t *keep = json_array();
	size_t m = 0;
	for (size_t i = 0; i < c->ndeps; i++) {
		bool off = false;
		for (size_t k = 0; k < nreq; k++)
			if (!enabled[k] && !strcmp(dep_str(json_array_get(deps, k), "name") ?: "", c->deps[i]->name))
				off = true;
		if (off)
			chart_free(c->deps[i]);
		else
			c->deps[m++] = c->deps[i];
	}
	c->ndeps = m;
	for (size_t k = 0; k < nreq; k++)
		if (enabled[k])
			json_array_append(keep, json_array_get(deps, k));
	free(enabled);
	json_object_set_new(c->meta, "dependencies", keep);
	for (size_t i = 0; i < c->ndeps; i++) {
		_cleanup_free_ char *sub = xasprintf("%s%s.", path, c->deps[i]->name);
		process_enabled(c->deps[i], cvals, sub);
	}
	json_decref(cvals);
	return 0;
}

static json_t *path_to_map(const char *parent, json_t *data)
{
	if (!strcmp(parent, "."))
		return json_deep_copy(data);
	json_t *root = json_object(), *cur = root;
	_cleanup_free_ char *p = xstrdup(parent);
	char *save = NULL, *tok = strtok_r(p, ".", &save);
	while (tok) {
		char *next = strtok_r(NULL, ".", &save);
		if (!next) {
			json_object_set_new(cur, tok, json_deep_copy(data));
		} else {
			json_t *o = json_object();
			json_object_set_new(cur, tok, o);
			cur = o;
		}
		tok = next;
	}
	return root;
}

static void import_values(Chart *c)
{
	for (size_t i = 0; i < c->ndeps; i++)
		import_values(c->deps[i]);
	json_t *deps = json_object_get(c->meta, "dependencies");
	if (!json_is_array(deps))
		return;
	json_t *cvals = chart_coalesce_values(c, NULL, true);
	json_t *b = json_object();
	for (size_t k = 0; k < json_array_size(deps); k++) {
		json_t *d = json_array_get(deps, k);
		json_t *ivs = json_object_get(d, "import-values");
		for (size_t j = 0; j < json_array_size(ivs); j++) {
			json_t *iv = json_array_get(ivs, j);
			const char *child, *parent;
			_cleanup_free_ char *exp = NULL;
			if (json_is_string(iv)) {
				child = exp = xasprintf("exports.%s", json_string_value(iv));
				parent = ".";
			} else if (json_is_object(iv) && json_is_string(json_object_get(iv, "child")) &&
				   json_is_string(json_object_get(iv, "parent"))) {
				child = dep_str(iv, "child");
				parent = dep_str(iv, "parent");
			} else {
				continue;
			}
			_cleanup_free_ char *full = xasprintf("%s.%s", dep_str(d, "name"), child);
			json_t *t = chart_values_path(cvals, full);
			if (!json_is_object(t)) {
				chart_warnf("Warning: ImportValues missing table from chart %s: no table %s", dep_str(d, "name"), full);
				continue;
			}
			json_t *src = path_to_map(parent, t);
			chart_coalesce_tables(b, src, true);
			json_decref(src);
		}
	}
	json_t *nv = json_deep_copy(cvals);
	chart_coalesce_tables(nv, b, true);
	json_decref(b);
	json_decref(cvals);
	json_decref(c->values);
	c->values = nv;
}

int chart_process_dependencies(Chart *c, const json_t *vals, Error **err)
{
	(void)err;
	process_enabled(c, vals, "");
	import_values(c);
	return 0;
}
