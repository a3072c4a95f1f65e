/* chart-loaddir.c - chart_load(): a chart directory walked as Helm's
 * LoadDir walks it (lexical order, symlinks followed, irregular files
 * refused) with .helmignore rules applied, or a .tgz file handed to the
 * archive loader.
 *
 * .helmignore follows Helm's pkg/ignore: one glob per line (Go's
 * filepath.Match), '#' comments, a trailing '/' matches directories only,
 * a pattern with a '/' matches the whole relative path and one without
 * matches the base name, '!' negates (Helm's reading: a negated rule that
 * does not match ignores the file).  "**" is rejected.  The default rule
 * "templates/.?*" is always present.
 */
#include "chart-internal.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/limits.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct IgnoreRule {
	char *pat;
	bool negate, dir_only, full_path;
} IgnoreRule;

typedef struct Walk {
	IgnoreRule *rules;
	size_t nrules;
	ChartFile *files;
	size_t nfiles;
	size_t total;
} Walk;

static int add_rule(Walk *w, const char *line, size_t n, Error **err)
{
	while (n && (line[0] == ' ' || line[0] == '\t'))
		line++, n--;
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		n--;
	if (!n || line[0] == '#')
		return 0;
	_cleanup_free_ char *s = xstrndup(line, n);
	if (strstr(s, "**"))
		return err_set(err, EINVAL, "double-star (**) syntax is not supported");
	IgnoreRule r = { 0 };
	char *p = s;
	if (*p == '!') {
		r.negate = true;
		p++;
	}
	size_t l = strlen(p);
	if (l && p[l - 1] == '/') {
		r.dir_only = true;
		p[--l] = 0;
	}
	if (*p == '/')
		p++;
	r.full_path = strchr(p, '/') != NULL || p != s + r.negate;
	r.pat = xstrdup(p);
	w->rules = xrealloc(w->rules, (w->nrules + 1) * sizeof *w->rules);
	w->rules[w->nrules++] = r;
	return 0;
}

static bool rule_match(const IgnoreRule *r, const char *path)
{
	const char *base = strrchr(path, '/');
	return chart_path_match(r->pat, r->full_path ? path : base ? base + 1 : path);
}

static bool ignored(const Walk *w, const char *path, bool is_dir)
{
	for (size_t i = 0; i < w->nrules; i++) {
		const IgnoreRule *r = &w->rules[i];
		if (r->dir_only && !is_dir)
			continue;
		if (r->negate ? !rule_match(r, path) : rule_match(r, path))
			return true;
	}
	return false;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(Walk *w, const char *root, const char *rel, int depth, Error **err)
{
	if (depth > BERTH_MAX_CHART_DEPTH * 4)
		return err_set(err, ELOOP, "%s: directories nested too deeply", root);
	_cleanup_free_ char *dir = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	if (!d)
		return err_sys(err, errno, "open %s", dir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_names);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		_cleanup_free_ char *r = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		_cleanup_free_ char *full = xasprintf("%s/%s", root, r);
		struct stat st;
		if (stat(full, &st) < 0) {
			rc = err_sys(err, errno, "stat %s", full);
			break;
		}
		bool is_dir = S_ISDIR(st.st_mode);
		if (ignored(w, r, is_dir))
			continue;
		if (is_dir) {
			rc = walk(w, root, r, depth + 1, err);
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			rc = err_set(err, EINVAL, "cannot load irregular file %s as it has file mode type bits set", full);
			break;
		}
		if (w->nfiles >= BERTH_MAX_CHART_FILES || w->total + (size_t)st.st_size > BERTH_MAX_CHART_SIZE) {
			rc = err_set(err, EFBIG, "chart directory %s exceeds the maximum chart size", root);
			break;
		}
		ChartFile f = { xstrdup(r), NULL, 0 };
		if ((rc = fs_read_file(full, BERTH_MAX_CHART_SIZE, &f.data, &f.len, err)) < 0) {
			free(f.name);
			break;
		}
		w->total += f.len;
		w->files = xrealloc(w->files, (w->nfiles + 1) * sizeof *w->files);
		w->files[w->nfiles++] = f;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int load_dir(const char *path, Chart **ret, Error **err)
{
	Walk w = { 0 };
	int rc = 0;
	_cleanup_free_ char *ign = xasprintf("%s/.helmignore", path);
	if (fs_exists(ign)) {
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;
		rc = fs_read_file(ign, 1u << 20, &buf, &len, err);
		for (size_t i = 0; rc == 0 && i < len;) {
			size_t e = i;
			while (e < len && buf[e] != '\n')
				e++;
			rc = add_rule(&w, buf + i, e - i, err);
			i = e + 1;
		}
	}
	if (rc == 0)
		rc = add_rule(&w, "templates/.?*", 13, err);
	if (rc == 0)
		rc = walk(&w, path, "", 0, err);
	for (size_t i = 0; i < w.nrules; i++)
		free(w.rules[i].pat);
	free(w.rules);
	if (rc < 0) {
		chart_files_free(w.files, w.nfiles);
		return rc;
	}
	return chart_from_files(w.files, w.nfiles, 0, ret, err);
}

int chart_load(const char *path, Chart **ret, Error **err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return err_set(err, ENOENT, "path \"%s\" not found", path);
	if (S_ISDIR(st.st_mode))
		return load_dir(path, ret, err);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	if (fs_read_file(path, BERTH_MAX_CHART_SIZE, &buf, &len, err) < 0)
		return -EINVAL;
	return chart_load_archive(buf, len, path, ret, err);
}

/* The files of a chart directory as the loader sees them (.helmignore applied,
 * lexical order), for packaging (chart-package.c). */
int chart_dir_files(const char *path, ChartFile **ret, size_t *ret_n, Error **err)
{
	Walk w = { 0 };
	int rc = 0;
	_cleanup_free_ char *ign = xasprintf("%s/.helmignore", path);
	if (fs_exists(ign)) {
		_cleanup_free_ char *buf = NULL;
		size_t len = 0;
		rc = fs_read_file(ign, 1u << 20, &buf, &len, err);
		for (size_t i = 0; rc == 0 && i < len;) {
			size_t e = i;
			while (e < len && buf[e] != '\n')
				e++;
			rc = add_rule(&w, buf + i, e - i, err);
			i = e + 1;
		}
	}
	if (rc == 0)
		rc = add_rule(&w, "templates/.?*", 13, err);
	if (rc == 0)
		rc = walk(&w, path, "", 0, err);
	for (size_t i = 0; i < w.nrules; i++)
		free(w.rules[i].pat);
	free(w.rules);
	if (rc < 0) {
		chart_files_free(w.files, w.nfiles);
		return rc;
	}
	*ret = w.files;
	*ret_n = w.nfiles;
	return 0;
}
