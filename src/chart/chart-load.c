/* chart-load.c - loading a chart as Helm's loader does: a directory walk
 * (lexical order, symlinks followed, .helmignore honoured, plus Helm's
 * default rule "templates/.?*") or a .tgz, both reduced to a flat list of
 * files that chart_from_files sorts into Chart.yaml, values.yaml,
 * values.schema.json, templates/, charts/ (subcharts, directories or .tgz,
 * loaded recursively) and everything else (.Files, crds/).
 *
 * Archives are untrusted: every path is checked (no absolute paths, no "..",
 * no drive letters, Chart.yaml must sit in the base directory) and sizes are
 * capped (chart-tar.c).  Errors use Helm's words.
 */
#include "chart-internal.h"
#include "semver.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../shared/yaml.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void chart_files_free(ChartFile *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].data);
	}
	free(f);
}

void chart_free(Chart *c)
{
	if (!c)
		return;
	json_decref(c->meta);
	json_decref(c->values);
	free(c->schema);
	chart_files_free(c->templates, c->ntemplates);
	chart_files_free(c->files, c->nfiles);
	for (size_t i = 0; i < c->ndeps; i++)
		chart_free(c->deps[i]);
	free(c->deps);
	free(c);
}

static ChartFile *files_dup(const ChartFile *f, size_t n)
{
	ChartFile *r = xmalloc((n ? n : 1) * sizeof *r);
	for (size_t i = 0; i < n; i++) {
		r[i].name = xstrdup(f[i].name);
		r[i].data = xmalloc(f[i].len + 1);
		memcpy(r[i].data, f[i].data, f[i].len + 1);
		r[i].len = f[i].len;
	}
	return r;
}

static void chart_set_views(Chart *c)
{
	c->name = json_string_value(json_object_get(c->meta, "name"));
	c->version = json_string_value(json_object_get(c->meta, "version"));
	c->api_version = json_string_value(json_object_get(c->meta, "apiVersion"));
	const char *t = json_string_value(json_object_get(c->meta, "type"));
	c->library = t && !strcmp(t, "library");
}

Chart *chart_clone(const Chart *c)
{
	Chart *n = xcalloc(1, sizeof *n);
	n->meta = json_deep_copy(c->meta);
	n->values = json_deep_copy(c->values);
	if (c->schema) {
		n->schema = xstrndup(c->schema, c->schema_len);
		n->schema_len = c->schema_len;
	}
	n->templates = files_dup(c->templates, c->ntemplates);
	n->ntemplates = c->ntemplates;
	n->files = files_dup(c->files, c->nfiles);
	n->nfiles = c->nfiles;
	n->deps = xmalloc((c->ndeps ? c->ndeps : 1) * sizeof *n->deps);
	for (size_t i = 0; i < c->ndeps; i++) {
		n->deps[i] = chart_clone(c->deps[i]);
		n->deps[i]->parent = n;
	}
	n->ndeps = c->ndeps;
	chart_set_views(n);
	return n;
}

bool chart_path_match(const char *pattern, const char *name)
{
	return fnmatch(pattern, name, FNM_PATHNAME) == 0;
}

/* Every JSON integer -> real: Helm reads values files through JSON into
 * interface{}, so each number is a float64. */
void chart_json_ints_to_reals(json_t *j)
{
	if (json_is_object(j)) {
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) {
			if (json_is_integer(v))
				json_object_set_new(j, k, json_real((double)json_integer_value(v)));
			else
				chart_json_ints_to_reals(v);
		}
	} else if (json_is_array(j)) {
		for (size_t i = 0; i < json_array_size(j); i++) {
			json_t *v = json_array_get(j, i);
			if (json_is_integer(v))
				json_array_set_new(j, i, json_real((double)json_integer_value(v)));
			else
				chart_json_ints_to_reals(v);
		}
	}
}

int chart_yaml_values(const char *text, size_t len, json_t **ret, Error **err)
{
	json_t *j = NULL;
	if (yaml_parse_buf(text, len, &j, err) < 0)
		return err_prefix(err, "error converting YAML to JSON");
	if (!j || json_is_null(j)) {
		json_decref(j);
		j = json_object();
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return err_set(err, EINVAL, "error unmarshaling JSON: json: cannot unmarshal %s into Go value of type map[string]interface {}",
			       json_is_array(j) ? "array" : json_is_string(j) ? "string" : "number");
	}
	chart_json_ints_to_reals(j);
	*ret = j;
	return 0;
}

/* ---- Chart.yaml validation (Metadata.Validate) ----------------------------------------- */
static bool valid_name(const char *s)
{
	/* Helm: names must not contain path separators or be "." / "..". */
	return *s && strcmp(s, ".") && strcmp(s, "..") && !strpbrk(s, "/\\");
}

static bool valid_alias(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

int chart_validate_meta(const json_t *meta, Error **err)
{
	if (!json_is_object(meta))
		return err_set(err, EINVAL, "validation: chart.metadata is required");
	const char *api = json_string_value(json_object_get(meta, "apiVersion"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *version = json_string_value(json_object_get(meta, "version"));
	const char *type = json_string_value(json_object_get(meta, "type"));
	if (!api || !*api)
		return err_set(err, EINVAL, "validation: chart.metadata.apiVersion is required");
	if (!name || !*name)
		return err_set(err, EINVAL, "validation: chart.metadata.name is required");
	if (!valid_name(name))
		return err_set(err, EINVAL, "validation: chart.metadata.name \"%s\" is invalid", name);
	if (!version || !*version)
		return err_set(err, EINVAL, "validation: chart.metadata.version is required");
	Arena *a = arena_new(0);
	const char *serr = NULL;
	bool ok = semver_parse(a, version, strlen(version), &serr) != NULL;
	arena_free(a);
	if (!ok)
		return err_set(err, EINVAL, "validation: chart.metadata.version \"%s\" is invalid", version);
	if (type && *type && strcmp(type, "application") && strcmp(type, "library"))
		return err_set(err, EINVAL, "validation: chart.metadata.type must be application or library");
	json_t *deps = json_object_get(meta, "dependencies");
	if (deps && !json_is_array(deps) && !json_is_null(deps))
		return err_set(err, EINVAL, "validation: chart.metadata.dependencies must be a list");
	for (size_t i = 0; i < json_array_size(deps); i++) {
		json_t *d = json_array_get(deps, i);
		const char *dn = json_string_value(json_object_get(d, "name"));
		const char *al = json_string_value(json_object_get(d, "alias"));
		if (!json_is_object(d) || !dn || !*dn)
			return err_set(err, EINVAL, "validation: dependencies must have a name");
		if (al && !valid_alias(al))
			return err_set(err, EINVAL, "validation: dependency \"%s\" has disallowed characters in the alias", dn);
		const char *key = al && *al ? al : dn;
		for (size_t k = 0; k < i; k++) {
			json_t *o = json_array_get(deps, k);
			const char *on = json_string_value(json_object_get(o, "alias"));
			if (!on || !*on)
				on = json_string_value(json_object_get(o, "name"));
			if (on && !strcmp(on, key))
				return err_set(err, EINVAL, "validation: more than one dependency with name or alias \"%s\"", key);
		}
	}
	return 0;
}

/* ---- from files (LoadFiles) ---------------------------------------------------------- */
static void push(ChartFile **arr, size_t *n, ChartFile f)
{
	*arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
	(*arr)[(*n)++] = f;
}

static int cmp_files(const void *a, const void *b)
{
	return strcmp(((const ChartFile *)a)->name, ((const ChartFile *)b)->name);
}

static int load_subcharts(Chart *c, ChartFile *sub, size_t nsub, int depth, Error **err)
{
	if (nsub)
		qsort(sub, nsub, sizeof *sub, cmp_files);
	size_t i = 0;
	int rc = 0;
	while (i < nsub && rc == 0) {
		const char *rest = sub[i].name + strlen("charts/");
		size_t klen = strcspn(rest, "/");
		_cleanup_free_ char *key = xstrndup(rest, klen);
		size_t j = i;
		while (j < nsub && !strncmp(sub[j].name + 7, key, klen) &&
		       (sub[j].name[7 + klen] == '/' || sub[j].name[7 + klen] == 0))
			j++;
		Chart *sc = NULL;
		if (key[0] == '_' || key[0] == '.') {
			/* ignored, as Helm does */
		} else if (klen > 4 && !strcmp(key + klen - 4, ".tgz")) {
			rc = chart_load_archive(sub[i].data, sub[i].len, key, &sc, err);
		} else {
			ChartFile *fs = NULL;
			size_t nfs = 0;
			for (size_t k = i; k < j; k++) {
				if (sub[k].name[7 + klen] != '/')
					continue;
				ChartFile f = { xstrdup(sub[k].name + 8 + klen), sub[k].data, sub[k].len };
				sub[k].data = NULL;
				push(&fs, &nfs, f);
			}
			rc = chart_from_files(fs, nfs, depth + 1, &sc, err);
		}
		if (rc < 0) {
			err_prefix(err, "error unpacking subchart %s in %s", key, c->name);
			break;
		}
		if (sc) {
			sc->parent = c;
			c->deps = xrealloc(c->deps, (c->ndeps + 1) * sizeof *c->deps);
			c->deps[c->ndeps++] = sc;
		}
		i = j;
	}
	chart_files_free(sub, nsub);
	return rc;
}

static int classify(Chart *c, ChartFile f, ChartFile **sub, size_t *nsub, Error **err)
{
	int rc = 0;
	if (!strcmp(f.name, "Chart.yaml")) {
		json_decref(c->meta);
		c->meta = NULL;
		if (yaml_parse_buf(f.data, f.len, &c->meta, err) < 0)
			rc = err_prefix(err, "cannot load Chart.yaml: error converting YAML to JSON");
		else if (!json_is_object(c->meta)) {
			json_decref(c->meta);
			c->meta = json_object();
		}
		if (rc == 0 && !json_object_get(c->meta, "apiVersion"))
			json_object_set_new(c->meta, "apiVersion", json_string("v1"));
	} else if (!strcmp(f.name, "values.yaml")) {
		json_decref(c->values);
		c->values = NULL;
		if (chart_yaml_values(f.data, f.len, &c->values, err) < 0)
			rc = err_prefix(err, "cannot load values.yaml");
	} else if (!strcmp(f.name, "values.schema.json")) {
		free(c->schema);
		c->schema = TAKE_PTR(f.data);
		c->schema_len = f.len;
	} else if (!strcmp(f.name, "requirements.yaml")) {
		json_t *r = NULL;
		if (yaml_parse_buf(f.data, f.len, &r, err) < 0)
			rc = err_prefix(err, "cannot load requirements.yaml");
		else if (c->meta && json_is_object(r) && json_object_get(r, "dependencies"))
			json_object_set(c->meta, "dependencies", json_object_get(r, "dependencies"));
		json_decref(r);
		const char *av = c->meta ? json_string_value(json_object_get(c->meta, "apiVersion")) : NULL;
		if (av && strcmp(av, "v1"))
			goto drop;      /* Helm keeps it in .Files for v1 charts only */
		push(&c->files, &c->nfiles, f);
		return rc;
	} else if (!strncmp(f.name, "templates/", 10)) {
		push(&c->templates, &c->ntemplates, f);
		return 0;
	} else if (!strncmp(f.name, "charts/", 7) && !(strlen(f.name) > 5 && !strcmp(f.name + strlen(f.name) - 5, ".prov"))) {
		push(sub, nsub, f);
		return 0;
	} else if (!strcmp(f.name, "Chart.lock") || !strcmp(f.name, "requirements.lock")) {
		/* kept out of .Files, like Helm */
	} else {
		push(&c->files, &c->nfiles, f);
		return 0;
	}
drop:
	free(f.name);
	free(f.data);
	return rc;
}

int chart_from_files(ChartFile *files, size_t n, int depth, Chart **ret, Error **err)
{
	if (depth > BERTH_MAX_CHART_DEPTH) {
		chart_files_free(files, n);
		return err_set(err, ELOOP, "subcharts nested deeper than %d levels", BERTH_MAX_CHART_DEPTH);
	}
	Chart *c = xcalloc(1, sizeof *c);
	ChartFile *sub = NULL;
	size_t nsub = 0;
	int rc = 0;
	/* Chart.yaml first so requirements.yaml can attach to it. */
	for (size_t i = 0; i < n; i++)
		if (!strcmp(files[i].name, "Chart.yaml")) {
			ChartFile t = files[0];
			files[0] = files[i];
			files[i] = t;
		}
	for (size_t i = 0; i < n; i++) {
		/* Helm trims a UTF-8 BOM from every file. */
		if (files[i].data && files[i].len >= 3 && !memcmp(files[i].data, "\xEF\xBB\xBF", 3)) {
			memmove(files[i].data, files[i].data + 3, files[i].len - 2);
			files[i].len -= 3;
		}
		if (rc == 0)
			rc = classify(c, files[i], &sub, &nsub, err);
		else {
			free(files[i].name);
			free(files[i].data);
		}
	}
	free(files);
	if (!c->values)
		c->values = json_object();
	if (rc == 0 && !c->meta)
		rc = err_set(err, EINVAL, "Chart.yaml file is missing");
	if (rc == 0)
		rc = chart_validate_meta(c->meta, err);
	if (rc == 0) {
		chart_set_views(c);
		rc = load_subcharts(c, sub, nsub, depth, err);
		sub = NULL;
		nsub = 0;
	}
	chart_files_free(sub, nsub);
	if (rc < 0) {
		chart_free(c);
		return rc;
	}
	*ret = c;
	return 0;
}

/* ---- archives ------------------------------------------------------------------------ */
static int check_archive_path(const char *full, char **ret, Error **err)
{
	const char *slash = strchr(full, '/');
	if (!slash || (size_t)(slash - full) == strlen(full))
		slash = full + strlen(full);
	_cleanup_free_ char *first = xstrndup(full, (size_t)(slash - full));
	const char *rest = *slash ? slash + 1 : "";
	if (!strcmp(first, "Chart.yaml"))
		return err_set(err, EINVAL, "chart yaml not in base directory");
	_cleanup_free_ char *n = xstrdup(rest);
	for (char *p = n; *p; p++)
		if (*p == '\\')
			*p = '/';
	if (n[0] == '/')
		return err_set(err, EINVAL, "chart illegally contains absolute paths");
	/* path.Clean, then the parent-directory and drive-letter checks */
	char *parts[BERTH_MAX_TAR_ENTRY_NAME / 2];
	size_t np = 0;
	for (char *save = NULL, *t = strtok_r(n, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..") && np && strcmp(parts[np - 1], ".."))
			np--;
		else if (np < sizeof parts / sizeof *parts)
			parts[np++] = t;
	}
	if (np == 0)
		return err_set(err, EINVAL, "chart illegally contains content outside the base directory: \"%s\"", full);
	if (!strcmp(parts[0], ".."))
		return err_set(err, EINVAL, "chart illegally references parent directory");
	if (isalpha((unsigned char)parts[0][0]) && parts[0][1] == ':')
		return err_set(err, EINVAL, "chart contains illegally named files");
	StrBuf sb;
	sb_init(&sb);
	for (size_t i = 0; i < np; i++) {
		if (i)
			sb_addc(&sb, '/');
		sb_adds(&sb, parts[i]);
	}
	*ret = sb_detach(&sb);
	return 0;
}

int chart_load_archive(const char *data, size_t len, const char *what, Chart **ret, Error **err)
{
	ChartFile *files = NULL;
	size_t n = 0;
	if (chart_tar_read(data, len, &files, &n, err) < 0)
		return err_prefix(err, "%s", what);
	size_t k = 0;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char *clean = NULL;
		if (rc == 0 && (rc = check_archive_path(files[i].name, &clean, err)) == 0) {
			free(files[i].name);
			files[k] = files[i];
			files[k++].name = clean;
		} else {
			free(files[i].name);
			free(files[i].data);
		}
	}
	if (rc < 0) {
		chart_files_free(files, k);
		return rc;
	}
	if (k == 0) {
		free(files);
		return err_set(err, EINVAL, "no files in chart archive");
	}
	return chart_from_files(files, k, 0, ret, err);
}
