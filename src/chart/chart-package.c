/* chart-package.c - chart authoring on disk: `package` (NAME-VERSION.tgz of
 * the chart directory with .helmignore applied and Chart.yaml written back
 * with --version/--app-version), `repo index` (index.yaml: apiVersion v1,
 * entries newest first, sha256 digests, created, urls; --merge keeps an
 * existing index's versions) and `dependency list|update|build` for local
 * (file://) dependencies and archives already in charts/, with Chart.lock
 * and its digest computed as Helm's resolver.HashReq does.
 */
#include "chart-internal.h"
#include "semver.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include "../shared/digest.h"
#include "../shared/yaml.h"
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void jfree(json_t **j) { json_decref(*j); }
#define _cleanup_json_ __attribute__((cleanup(jfree)))

/* RFC 3339 with nanoseconds, as Go's time.Now() marshals. */
static char *now_rfc3339(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char b[64];
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
	char frac[16];
	snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
	size_t l = strlen(frac);
	while (l > 1 && frac[l - 1] == '0')
		frac[--l] = 0;
	return xasprintf("%s%sZ", b, l > 1 ? frac : "");
}

static bool version_ok(const char *range, const char *version)
{
	if (!range || !*range)
		return true;
	Arena *a = arena_new(0);
	const char *e = NULL;
	SemConstraints *c = semver_constraints_parse(a, range, strlen(range), &e);
	SemVer *v = c ? semver_parse(a, version, strlen(version), &e) : NULL;
	bool r = c && v && semver_constraints_check(c, v);
	arena_free(a);
	return r;
}

/* ---- package -------------------------------------------------------------------------- */
static int meta_yaml(const json_t *meta, char **ret, size_t *len, Error **err)
{
	StrBuf sb = STRBUF_INIT;
	if (yaml_emit(meta, 0, &sb, err) < 0) {
		sb_release(&sb);
		return -EINVAL;
	}
	*len = sb.len;
	*ret = sb_detach(&sb);
	return 0;
}

/* Helm's CheckDependencies: every Chart.yaml dependency must be in charts/. */
static int check_deps(const Chart *c, Error **err)
{
	size_t i;
	json_t *d;
	StrBuf missing = STRBUF_INIT;
	json_array_foreach(json_object_get(c->meta, "dependencies"), i, d) {
		const char *n = json_string_value(json_object_get(d, "name"));
		bool found = false;
		for (size_t k = 0; k < c->ndeps && n; k++)
			found |= !strcmp(c->deps[k]->name, n);
		if (!found && n)
			sb_addf(&missing, "%s%s", missing.len ? ", " : "", n);
	}
	int rc = 0;
	if (missing.len)
		rc = err_set(err, ENOENT, "found in Chart.yaml, but missing in charts/ directory: %s", missing.buf);
	sb_release(&missing);
	return rc;
}

int chart_package(const char *path, const ChartPackageOpts *o, char **ret_path, Error **err)
{
	if (!fs_is_dir(path))
		return err_set(err, ENOTDIR, "stat %s: not a directory", path);
	_cleanup_chart_ Chart *c = NULL;
	if (chart_load(path, &c, err) < 0)
		return -EINVAL;
	if (o->version)
		json_object_set_new(c->meta, "version", json_string(o->version));
	if (o->app_version)
		json_object_set_new(c->meta, "appVersion", json_string(o->app_version));
	if (chart_validate_meta(c->meta, err) < 0)
		return err_prefix(err, "chart is not valid");
	if (check_deps(c, err) < 0)
		return -ENOENT;
	const char *name = json_string_value(json_object_get(c->meta, "name"));
	const char *version = json_string_value(json_object_get(c->meta, "version"));
	ChartFile *files = NULL;
	size_t n = 0;
	if (chart_dir_files(path, &files, &n, err) < 0)
		return -EIO;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!strcmp(files[i].name, "Chart.yaml")) {
			free(files[i].data);
			rc = meta_yaml(c->meta, &files[i].data, &files[i].len, err);
		}
		char *full = xasprintf("%s/%s", name, files[i].name);
		free(files[i].name);
		files[i].name = full;
	}
	_cleanup_sb_ StrBuf tgz = STRBUF_INIT;
	if (rc == 0)
		rc = chart_tar_write(files, n, (long)time(NULL), &tgz, err);
	chart_files_free(files, n);
	if (rc < 0)
		return rc;
	const char *dest = o->dest ? o->dest : ".";
	char cwd[PATH_MAX];
	if (!o->dest && !getcwd(cwd, sizeof cwd))
		return err_sys(err, errno, "getcwd");
	if (o->dest && fs_mkdir_p(dest, 0755, err) < 0)
		return -EIO;
	_cleanup_free_ char *out = xasprintf("%s/%s-%s.tgz", o->dest ? dest : cwd, name, version);
	if (fs_write_atomic(out, tgz.buf, tgz.len, 0644, err) < 0)
		return -EIO;
	*ret_path = TAKE_PTR(out);
	return 0;
}

/* ---- repo index ----------------------------------------------------------------------- */
static int cmp_entry(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	Arena *ar = arena_new(0);
	const char *e;
	const char *va = json_string_value(json_object_get(a, "version")) ?: "";
	const char *vb = json_string_value(json_object_get(b, "version")) ?: "";
	SemVer *sa = semver_parse(ar, va, strlen(va), &e), *sb = semver_parse(ar, vb, strlen(vb), &e);
	int r = sa && sb ? -semver_compare(sa, sb) : strcmp(vb, va);
	arena_free(ar);
	return r;
}

static void sort_entries(json_t *entries)
{
	const char *k;
	json_t *list;
	json_object_foreach(entries, k, list) {
		size_t n = json_array_size(list);
		json_t **v = xcalloc(n + 1, sizeof *v);
		for (size_t i = 0; i < n; i++)
			v[i] = json_incref(json_array_get(list, i));
		qsort(v, n, sizeof *v, cmp_entry);
		json_array_clear(list);
		for (size_t i = 0; i < n; i++)
			json_array_append_new(list, v[i]);
		free(v);
	}
}

static bool has_version(const json_t *entries, const char *name, const char *version)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(entries, name), i, e)
		if (!strcmp(json_string_value(json_object_get(e, "version")) ?: "", version))
			return true;
	return false;
}

static int index_archive(json_t *entries, const char *dir, const char *rel, const char *url, const char *created, Error **err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, rel);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fs_read_file(path, BERTH_MAX_CHART_SIZE, &buf, &len, err) < 0)
		return -EIO;
	_cleanup_chart_ Chart *c = NULL;
	if (chart_load_archive(buf, len, path, &c, err) < 0)
		return err_prefix(err, "load %s", path);
	const char *name = c->name, *version = c->version ? c->version : "";
	if (has_version(entries, name, version))
		return 0;
	char digest[72];
	sha256_buf(buf, len, digest);
	json_t *e = json_deep_copy(c->meta);
	json_object_set_new(e, "created", json_string(created));
	json_object_set_new(e, "digest", json_string(digest + 7));   /* hex, no "sha256:" */
	_cleanup_free_ char *u = url && *url ? xasprintf("%s%s%s", url, url[strlen(url) - 1] == '/' ? "" : "/", rel) : xstrdup(rel);
	json_object_set_new(e, "urls", json_pack("[s]", u));
	json_t *list = json_object_get(entries, name);
	if (!list) {
		list = json_array();
		json_object_set_new(entries, name, list);
	}
	json_array_append_new(list, e);
	return 0;
}

static int is_tgz(const char *n)
{
	size_t l = strlen(n);
	return l > 4 && !strcmp(n + l - 4, ".tgz");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Archives in dir and in its direct subdirectories (as Helm globs them). */
static int list_archives(const char *dir, char ***ret, size_t *n)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct dirent *de;
	char **v = NULL;
	size_t k = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
		if (is_tgz(de->d_name) && !fs_is_dir(p)) {
			v = xrealloc(v, (k + 1) * sizeof *v);
			v[k++] = xstrdup(de->d_name);
		} else if (fs_is_dir(p)) {
			DIR *s = opendir(p);
			struct dirent *se;
			while (s && (se = readdir(s)))
				if (is_tgz(se->d_name)) {
					v = xrealloc(v, (k + 1) * sizeof *v);
					v[k++] = xasprintf("%s/%s", de->d_name, se->d_name);
				}
			if (s)
				closedir(s);
		}
	}
	closedir(d);
	qsort(v, k, sizeof *v, cmp_str);
	*ret = v;
	*n = k;
	return 0;
}

int chart_repo_index(const char *dir, const char *url, const char *merge, Error **err)
{
	_cleanup_json_ json_t *entries = json_object();
	_cleanup_free_ char *created = now_rfc3339();
	char **arch = NULL;
	size_t n = 0;
	int rc = list_archives(dir, &arch, &n);
	if (rc < 0)
		return err_set(err, -rc, "stat %s: %s", dir, strerror(-rc));
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = index_archive(entries, dir, arch[i], url, created, err);
		free(arch[i]);
	}
	free(arch);
	if (rc < 0)
		return rc;
	if (merge && fs_exists(merge)) {
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;
		_cleanup_json_ json_t *old = NULL;
		if (fs_read_file(merge, BERTH_MAX_JSON_FILE, &buf, &len, err) < 0 || yaml_parse_buf(buf, len, &old, err) < 0)
			return err_prefix(err, "merge %s", merge);
		const char *k;
		json_t *list;
		json_object_foreach(json_object_get(old, "entries"), k, list) {
			size_t i;
			json_t *e;
			json_array_foreach(list, i, e) {
				const char *v = json_string_value(json_object_get(e, "version")) ?: "";
				if (has_version(entries, k, v))
					continue;
				json_t *l = json_object_get(entries, k);
				if (!l) {
					l = json_array();
					json_object_set_new(entries, k, l);
				}
				json_array_append(l, e);
			}
		}
	}
	sort_entries(entries);
	_cleanup_json_ json_t *idx = json_pack("{s:s, s:O, s:s}", "apiVersion", "v1", "entries", entries, "generated", created);
	_cleanup_sb_ StrBuf sb = STRBUF_INIT;
	if (yaml_emit(idx, 0, &sb, err) < 0)
		return -EINVAL;
	_cleanup_free_ char *out = xasprintf("%s/index.yaml", dir);
	return fs_write_atomic(out, sb.buf, sb.len, 0644, err);
}

/* ---- dependencies ---------------------------------------------------------------------- */
/* Go's encoding/json string escaping (HTML-safe). */
static void go_json_str(StrBuf *sb, const char *s)
{
	sb_addc(sb, '"');
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			sb_addf(sb, "\\%c", *c);
		else if (*c == '\n')
			sb_adds(sb, "\\n");
		else if (*c == '\r')
			sb_adds(sb, "\\r");
		else if (*c == '\t')
			sb_adds(sb, "\\t");
		else if (*c < 0x20 || *c == '<' || *c == '>' || *c == '&')
			sb_addf(sb, "\\u%04x", *c);
		else
			sb_addc(sb, (char)*c);
	}
	sb_addc(sb, '"');
}

/* json.Marshal of a []*chart.Dependency (field order of the Go struct, omitempty). */
static void deps_json(StrBuf *sb, const json_t *deps)
{
	if (!json_is_array(deps) || !json_array_size(deps)) {
		sb_adds(sb, json_is_array(deps) ? "[]" : "null");
		return;
	}
	sb_addc(sb, '[');
	size_t i;
	json_t *d;
	json_array_foreach(deps, i, d) {
		if (i)
			sb_addc(sb, ',');
		static const char *const keys[] = { "name", "version", "repository" };
		sb_addc(sb, '{');
		for (size_t k = 0; k < 3; k++) {
			sb_addf(sb, "%s\"%s\":", k ? "," : "", keys[k]);
			go_json_str(sb, json_string_value(json_object_get(d, keys[k])) ?: "");
		}
		const char *cond = json_string_value(json_object_get(d, "condition"));
		if (cond && *cond) {
			sb_adds(sb, ",\"condition\":");
			go_json_str(sb, cond);
		}
		json_t *tags = json_object_get(d, "tags");
		if (json_array_size(tags)) {
			sb_adds(sb, ",\"tags\":[");
			size_t t;
			json_t *x;
			json_array_foreach(tags, t, x) {
				if (t)
					sb_addc(sb, ',');
				go_json_str(sb, json_string_value(x) ?: "");
			}
			sb_addc(sb, ']');
		}
		if (json_is_true(json_object_get(d, "enabled")))
			sb_adds(sb, ",\"enabled\":true");
		json_t *iv = json_object_get(d, "import-values");
		if (json_array_size(iv)) {
			_cleanup_free_ char *s = json_dumps(iv, JSON_COMPACT | JSON_ENCODE_ANY);
			sb_addf(sb, ",\"import-values\":%s", s);
		}
		const char *alias = json_string_value(json_object_get(d, "alias"));
		if (alias && *alias) {
			sb_adds(sb, ",\"alias\":");
			go_json_str(sb, alias);
		}
		sb_addc(sb, '}');
	}
	sb_addc(sb, ']');
}

/* resolver.HashReq: "sha256:" + sha256(json.Marshal([req, lock])). */
static void hash_req(const json_t *req, const json_t *lock, char out[72])
{
	StrBuf sb = STRBUF_INIT;
	sb_addc(&sb, '[');
	deps_json(&sb, req);
	sb_addc(&sb, ',');
	deps_json(&sb, lock);
	sb_addc(&sb, ']');
	sha256_buf(sb.buf, sb.len, out);
	sb_release(&sb);
}

static char *local_path(const char *chart_dir, const char *repo)
{
	const char *p = repo + strlen("file://");
	return p[0] == '/' ? xstrdup(p) : xasprintf("%s/%s", chart_dir, p);
}

static int load_meta(const char *chart_dir, json_t **ret, Error **err)
{
	_cleanup_free_ char *p = xasprintf("%s/Chart.yaml", chart_dir);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fs_read_file(p, 1u << 20, &buf, &len, err) < 0 || yaml_parse_buf(buf, len, ret, err) < 0)
		return err_prefix(err, "could not load %s", chart_dir);
	if (!json_is_object(*ret))
		return err_set(err, EINVAL, "%s: Chart.yaml is not a map", chart_dir);
	return 0;
}

/* Status of one dependency in charts/ (Helm's dependency list column). */
static char *dep_status(const char *chart_dir, const json_t *d)
{
	const char *name = json_string_value(json_object_get(d, "name")) ?: "";
	const char *ver = json_string_value(json_object_get(d, "version")) ?: "";
	_cleanup_free_ char *charts = xasprintf("%s/charts", chart_dir);
	DIR *dir = opendir(charts);
	char *status = NULL;
	struct dirent *de;
	while (dir && !status && (de = readdir(dir))) {
		_cleanup_free_ char *p = xasprintf("%s/%s", charts, de->d_name);
		if (de->d_name[0] == '.' )
			continue;
		size_t nl = strlen(name);
		if (is_tgz(de->d_name) && !strncmp(de->d_name, name, nl) && de->d_name[nl] == '-') {
			_cleanup_chart_ Chart *c = NULL;
			if (chart_load(p, &c, NULL) < 0)
				status = xstrdup("corrupt");
			else if (strcmp(c->name, name))
				status = xstrdup("misnamed");
			else
				status = xstrdup(version_ok(ver, c->version) ? "ok" : "wrong version");
		} else if (!strcmp(de->d_name, name) && fs_is_dir(p)) {
			_cleanup_chart_ Chart *c = NULL;
			if (chart_load(p, &c, NULL) < 0)
				status = xstrdup("corrupt");
			else
				status = xstrdup(version_ok(ver, c->version) ? "unpacked" : "wrong version");
		}
	}
	if (dir)
		closedir(dir);
	return status ? status : xstrdup("missing");
}

int chart_dep_list(const char *chart_dir, StrBuf *out, Error **err)
{
	_cleanup_json_ json_t *meta = NULL;
	if (load_meta(chart_dir, &meta, err) < 0)
		return -EINVAL;
	json_t *deps = json_object_get(meta, "dependencies");
	if (!json_array_size(deps)) {
		sb_addf(out, "WARNING: no dependencies at %s/charts\n", chart_dir);
		return 0;
	}
	/* uitable: columns padded to their widest cell, separated by a tab */
	size_t n = json_array_size(deps), w[4] = { 4, 7, 10, 6 };
	char **cells = xcalloc(4 * n, sizeof *cells);
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_array_get(deps, i);
		cells[4 * i] = xstrdup(json_string_value(json_object_get(d, "name")) ?: "");
		cells[4 * i + 1] = xstrdup(json_string_value(json_object_get(d, "version")) ?: "");
		cells[4 * i + 2] = xstrdup(json_string_value(json_object_get(d, "repository")) ?: "");
		cells[4 * i + 3] = dep_status(chart_dir, d);
		for (int k = 0; k < 4; k++)
			if (strlen(cells[4 * i + k]) > w[k])
				w[k] = strlen(cells[4 * i + k]);
	}
	const char *head[4] = { "NAME", "VERSION", "REPOSITORY", "STATUS" };
	for (size_t r = 0; r <= n; r++) {
		for (int k = 0; k < 4; k++) {
			const char *c = r ? cells[4 * (r - 1) + k] : head[k];
			sb_addf(out, "%-*s%s", (int)w[k], c, k < 3 ? "\t" : "\n");
		}
	}
	sb_addc(out, '\n');
	for (size_t i = 0; i < 4 * n; i++)
		free(cells[i]);
	free(cells);
	return 0;
}

/* Resolve every dependency to a concrete version (file:// charts and charts/ archives). */
static int resolve(const char *chart_dir, const json_t *deps, json_t **lock, Error **err)
{
	*lock = json_array();
	size_t i;
	json_t *d;
	json_array_foreach(deps, i, d) {
		const char *name = json_string_value(json_object_get(d, "name")) ?: "";
		const char *ver = json_string_value(json_object_get(d, "version")) ?: "";
		const char *repo = json_string_value(json_object_get(d, "repository")) ?: "";
		const char *found = NULL;
		_cleanup_chart_ Chart *c = NULL;
		if (!strncmp(repo, "file://", 7)) {
			_cleanup_free_ char *p = local_path(chart_dir, repo);
			if (chart_load(p, &c, err) < 0)
				return err_prefix(err, "directory %s not found", p);
			found = c->version;
		} else if (!*repo) {
			_cleanup_free_ char *st = dep_status(chart_dir, d);
			if (strcmp(st, "ok") && strcmp(st, "unpacked"))
				return err_set(err, ENOENT, "can't get a valid version for dependency %s", name);
			found = ver;
		} else if (chart_repo_is_remote(repo)) {
			char *v = NULL;
			if (chart_repo_resolve(repo, name, ver, &v, err) < 0)
				return -ENOENT;
			json_array_append_new(*lock, json_pack("{s:s, s:s, s:s}", "name", name, "repository", repo, "version", v));
			free(v);
			continue;
		} else {
			return err_set(err, ENOTSUP, "no repository definition for %s", repo);
		}
		if (!version_ok(ver, found))
			return err_set(err, EINVAL, "can't get a valid version for repositories %s. Try changing the version constraint in Chart.yaml", name);
		json_array_append_new(*lock, json_pack("{s:s, s:s, s:s}", "name", name, "repository", repo, "version", found));
	}
	return 0;
}

/* Package every file:// dependency into charts/NAME-VERSION.tgz, dropping outdated archives. */
static int download_all(const char *chart_dir, const json_t *deps, const json_t *lock, StrBuf *out, Error **err)
{
	_cleanup_free_ char *charts = xasprintf("%s/charts", chart_dir);
	if (fs_mkdir_p(charts, 0755, err) < 0)
		return -EIO;
	sb_addf(out, "Saving %zu charts\n", json_array_size(lock));
	size_t i;
	json_t *l;
	json_array_foreach(lock, i, l) {
		const char *repo = json_string_value(json_object_get(l, "repository"));
		const char *name = json_string_value(json_object_get(l, "name"));
		if (strncmp(repo, "file://", 7) && !chart_repo_is_remote(repo)) {
			sb_addf(out, "Dependency %s did not declare a repository. Assuming it exists in the charts directory\n", name);
			continue;
		}
		/* outdated archives of this dependency go first */
		DIR *dir = opendir(charts);
		struct dirent *de;
		size_t nl = strlen(name);
		_cleanup_free_ char *keep = xasprintf("%s-%s.tgz", name, json_string_value(json_object_get(l, "version")));
		while (dir && (de = readdir(dir)))
			if (is_tgz(de->d_name) && !strncmp(de->d_name, name, nl) && de->d_name[nl] == '-' && strcmp(de->d_name, keep)) {
				_cleanup_free_ char *p = xasprintf("%s/%s", charts, de->d_name);
				unlink(p);
			}
		if (dir)
			closedir(dir);
		if (chart_repo_is_remote(repo)) {
			sb_addf(out, "Downloading %s from repo %s\n", name, repo);
			if (chart_repo_download(repo, name, json_string_value(json_object_get(l, "version")), charts, err) < 0)
				return err_prefix(err, "could not download %s", name);
			continue;
		}
		_cleanup_free_ char *src = local_path(chart_dir, repo);
		_cleanup_free_ char *saved = NULL;
		ChartPackageOpts po = { .dest = charts };
		if (chart_package(src, &po, &saved, err) < 0)
			return err_prefix(err, "dependency %s", name);
	}
	(void)deps;
	sb_adds(out, "Deleting outdated charts\n");
	return 0;
}

static int write_lock(const char *chart_dir, const json_t *deps, const json_t *lock, Error **err)
{
	char digest[72];
	hash_req(deps, lock, digest);
	_cleanup_free_ char *gen = now_rfc3339();
	_cleanup_json_ json_t *j = json_pack("{s:O, s:s, s:s}", "dependencies", lock, "digest", digest, "generated", gen);
	_cleanup_sb_ StrBuf sb = STRBUF_INIT;
	if (yaml_emit(j, 0, &sb, err) < 0)
		return -EINVAL;
	_cleanup_free_ char *p = xasprintf("%s/Chart.lock", chart_dir);
	return fs_write_atomic(p, sb.buf, sb.len, 0644, err);
}

int chart_dep_update(const char *chart_dir, StrBuf *out, Error **err)
{
	_cleanup_json_ json_t *meta = NULL, *lock = NULL;
	if (load_meta(chart_dir, &meta, err) < 0)
		return -EINVAL;
	json_t *deps = json_object_get(meta, "dependencies");
	if (!json_array_size(deps)) {
		sb_addf(out, "WARNING: no dependencies at %s/charts\n", chart_dir);
		return 0;
	}
	if (chart_repo_update_for(deps, out, err) < 0)
		return -EIO;
	if (resolve(chart_dir, deps, &lock, err) < 0 || download_all(chart_dir, deps, lock, out, err) < 0)
		return -EINVAL;
	return write_lock(chart_dir, deps, lock, err);
}

int chart_dep_build(const char *chart_dir, StrBuf *out, Error **err)
{
	_cleanup_free_ char *lp = xasprintf("%s/Chart.lock", chart_dir);
	if (!fs_exists(lp))
		return chart_dep_update(chart_dir, out, err);
	_cleanup_json_ json_t *meta = NULL, *lock = NULL;
	if (load_meta(chart_dir, &meta, err) < 0)
		return -EINVAL;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fs_read_file(lp, 1u << 20, &buf, &len, err) < 0 || yaml_parse_buf(buf, len, &lock, err) < 0)
		return err_prefix(err, "Chart.lock");
	char digest[72];
	json_t *deps = json_object_get(meta, "dependencies"), *ldeps = json_object_get(lock, "dependencies");
	hash_req(deps, ldeps, digest);
	if (strcmp(digest, json_string_value(json_object_get(lock, "digest")) ?: ""))
		return err_set(err, EINVAL, "the lock file (Chart.lock) is out of sync with the dependencies file (Chart.yaml). Please update the dependencies");
	return download_all(chart_dir, deps, ldeps, out, err);
}

/* ---- raw files (show values/readme) ------------------------------------------------------ */
int chart_raw_files(const char *path, ChartFile **ret, size_t *ret_n, Error **err)
{
	if (fs_is_dir(path))
		return chart_dir_files(path, ret, ret_n, err);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fs_read_file(path, BERTH_MAX_CHART_SIZE, &buf, &len, err) < 0)
		return -EIO;
	ChartFile *f = NULL;
	size_t n = 0;
	if (chart_tar_read(buf, len, &f, &n, err) < 0)
		return -EINVAL;
	/* drop the top directory ("name/") of every entry */
	for (size_t i = 0; i < n; i++) {
		char *s = strchr(f[i].name, '/');
		if (s)
			memmove(f[i].name, s + 1, strlen(s + 1) + 1);
	}
	*ret = f;
	*ret_n = n;
	return 0;
}
