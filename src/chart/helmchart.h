/* helmchart.h - Helm charts on top of the template engine: loading a chart
 * (directory or .tgz), Chart.yaml validation, values (coalescing as Helm's
 * chartutil does, --set parsing as strvals does, dependency conditions, tags
 * and import-values) and rendering (pkg/engine + the manifest sorting of
 * `helm template`).
 *
 * Values are jansson trees: YAML numbers are reals (Go float64, as Helm
 * reads values files through JSON), --set integers are JSON integers (Go
 * int64).  The render converts them to engine Values with that distinction.
 *
 * Ownership: chart_load* return a Chart the caller frees with chart_free
 * (subcharts are owned by their parent).  json_t results are new references.
 */
#ifndef BERTH_CHART_HELMCHART_H
#define BERTH_CHART_HELMCHART_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "../base/err.h"
#include "../base/strbuf.h"

typedef struct ChartFile {
	char *name;                 /* relative to the chart root, '/'-separated */
	char *data;
	size_t len;
} ChartFile;

typedef struct Chart Chart;
struct Chart {
	json_t *meta;               /* Chart.yaml as read (apiVersion, name, version, ...) */
	const char *name, *version, *api_version;   /* views into meta */
	bool library;
	json_t *values;             /* values.yaml (an object; never NULL) */
	char *schema;               /* values.schema.json text or NULL */
	size_t schema_len;
	ChartFile *templates, *files;   /* templates/..., everything else (crds/, README, ...) */
	size_t ntemplates, nfiles;
	Chart **deps;               /* charts/: subcharts */
	size_t ndeps;
	Chart *parent;
};

/* Load a chart from a directory (honouring .helmignore) or a .tgz archive. */
int chart_load(const char *path, Chart **ret, Error **err);
/* Load a .tgz held in memory (untrusted: size and path checks). */
int chart_load_archive(const char *data, size_t len, const char *what, Chart **ret, Error **err);
void chart_free(Chart *c);
static inline void chart_freep(Chart **c) { if (*c) chart_free(*c); }
#define _cleanup_chart_ __attribute__((cleanup(chart_freep)))
/* Chart.yaml rules as Helm's Metadata.Validate words them ("validation: ..."). */
int chart_validate_meta(const json_t *meta, Error **err);

/* ---- values (chart-values.c) ---- */
/* Warnings go to this callback (Helm logs them); NULL: dropped. */
typedef void (*ChartWarnFn)(const char *msg, void *ctx);
void chart_set_warn(ChartWarnFn fn, void *ctx);
void chart_warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Helm's CoalesceValues(chart, vals) (merge=false: null deletes) or MergeValues (merge=true). */
json_t *chart_coalesce_values(const Chart *c, const json_t *vals, bool merge);
/* coalesceTablesFullKey(dst, src): dst wins; modifies and returns dst (borrowed). */
json_t *chart_coalesce_tables(json_t *dst, json_t *src, bool merge);
/* ProcessDependencies: drop disabled subcharts (conditions, tags), apply aliases,
 * import values.  Mutates c. */
int chart_process_dependencies(Chart *c, const json_t *vals, Error **err);
/* Turn every JSON integer into a real (values files are float64 in Helm). */
void chart_json_ints_to_reals(json_t *j);
/* Deep-merge YAML text into *vals (a -f file: Helm's mergeMaps). */
int chart_values_merge_yaml(json_t *vals, const char *text, size_t len, const char *what, Error **err);
/* Helm's mergeMaps (user -f files: later wins, maps merged recursively). */
void chart_merge_maps(json_t *dst, const json_t *src);
/* Value at a dotted path ("a.b.c") or NULL. Borrowed. */
json_t *chart_values_path(const json_t *vals, const char *path);

/* ---- user values: -f and the --set family (strvals.c) ---- */
typedef enum {
	STRVALS_TYPED,      /* --set: true/false, int64, null inferred */
	STRVALS_STRING,     /* --set-string */
	STRVALS_JSON,       /* --set-json KEY=JSON */
	STRVALS_FILE,       /* --set-file KEY=PATH: the file's contents */
	STRVALS_LITERAL,    /* --set-literal: one key, the rest verbatim */
} StrvalsMode;
/* Helm's strvals.Parse*Into: parse s into dest (an object), Helm's error texts. */
int chart_strvals_parse(json_t *dest, const char *s, size_t len, StrvalsMode mode, Error **err);
/* The user's values options; each list NULL-terminated (or NULL). */
typedef struct ChartValueOpts {
	const char *const *value_files;   /* -f/--values, "-" = stdin */
	const char *const *set_json, *const *set, *const *set_string, *const *set_file, *const *set_literal;
} ChartValueOpts;
/* Helm's values.Options.MergeValues: -f files merged map by map, then
 * --set-json, --set, --set-string, --set-file, --set-literal, in that order.
 * *ret: a new object (caller json_decref's). */
int chart_user_values(const ChartValueOpts *o, json_t **ret, Error **err);
/* values.schema.json (schema.c): validate vals against one schema text;
 * *report = NULL when valid, else Helm's "- FIELD: MESSAGE\n" lines (malloc'd).
 * Fails only when the schema itself cannot be read. */
int chart_schema_validate(const char *schema, size_t len, const json_t *vals, char **report, Error **err);
/* Helm's ValidateAgainstSchema over c and its subcharts (scoped values), with
 * "values don't meet the specifications of the schema(s) in the following chart(s):\n..." */
int chart_validate_values(const Chart *c, const json_t *vals, Error **err);
/* --name-template: the text rendered with no data (action.TemplateName); *ret malloc'd. */
int chart_name_template(const char *tmpl, char **ret, Error **err);

/* ---- rendering (chart-render.c) ---- */
typedef struct RenderOptions {
	const char *release_name, *namespace;
	const char *kube_version;        /* "v1.20.0" */
	const char **api_versions;       /* extra --api-versions, NULL-terminated */
	bool is_upgrade;
	int revision;
	bool strict, lint_mode;
} RenderOptions;

typedef struct RenderedFile {
	char *name;                      /* chart/templates/x.yaml */
	char *text;
} RenderedFile;

typedef struct Rendered {
	RenderedFile *files;
	size_t n;
} Rendered;
void rendered_release(Rendered *r);

/* Render every template of c (and enabled subcharts) with values vals (already
 * coalesced: the chart's top-level .Values).  Files are in Helm's order. */
int chart_render(const Chart *c, const json_t *vals, const RenderOptions *o, Rendered *ret, Error **err);
/* Helm's Engine.render over a flat set of named templates, each with its own
 * top-level data (a JSON object); one template namespace, Helm's order. */
int chart_render_flat(const char *const *names, const char *const *texts, const json_t *const *vals, size_t n,
		      const RenderOptions *o, Rendered *ret, Error **err);
/* Helm's sortTemplates: deeper paths first, then reverse lexical. */
void chart_sort_templates(const char **names, size_t n);
/* The whole `helm template` pipeline: load values, process dependencies,
 * coalesce, validate, render, sort manifests.  Prints into out. */
typedef struct TemplateOptions {
	RenderOptions r;
	json_t *user_values;             /* from -f/--set (borrowed) */
	const char **show_only;          /* NULL-terminated or NULL */
	bool include_crds, skip_tests, debug;
} TemplateOptions;
int chart_template(Chart *c, const TemplateOptions *o, StrBuf *out, Error **err);
/* Split a manifest stream as releaseutil.SplitManifests does (trimmed docs). */
size_t chart_split_manifests(const char *text, char ***ret);

/* ---- authoring (chart-create.c, chart-lint.c, chart-package.c) ---- */
/* helm create: the scaffold for NAME in DIR (must exist); overwrite warnings
 * are appended to notes. */
int chart_create(const char *name, const char *dir, StrBuf *notes, Error **err);
/* helm lint of one chart (directory or .tgz) with user values: appends
 * "[SEVERITY] PATH: message" lines to out; returns the number of errors (>= 0). */
int chart_lint(const char *path, const json_t *user_values, bool strict, StrBuf *out);
typedef struct ChartPackageOpts {
	const char *version, *app_version;   /* override Chart.yaml (NULL: keep) */
	const char *dest;                    /* NULL: the working directory */
} ChartPackageOpts;
/* helm package: *ret_path = the written NAME-VERSION.tgz (malloc'd). */
int chart_package(const char *path, const ChartPackageOpts *o, char **ret_path, Error **err);
/* helm repo index DIR [--url URL] [--merge FILE]: writes DIR/index.yaml. */
int chart_repo_index(const char *dir, const char *url, const char *merge, Error **err);
/* helm dependency list|update|build for file:// and charts/ dependencies. */
int chart_dep_list(const char *chart_dir, StrBuf *out, Error **err);
int chart_dep_update(const char *chart_dir, StrBuf *out, Error **err);
int chart_dep_build(const char *chart_dir, StrBuf *out, Error **err);
/* ---- repositories over HTTP (chart-repo.c) ---- */
/* Helm's repositories.yaml and repository cache locations (malloc'd). */
char *chart_repo_config_path(void);
char *chart_repo_cache_dir(void);
/* repositories.yaml as an object with a "repositories" array (missing: empty). */
int chart_repo_file_load(json_t **ret, Error **err);
/* The cached NAME-index.yaml, versions sorted newest first. */
int chart_repo_load_index(const char *name, json_t **ret, Error **err);
/* helm repo add|update|remove; Helm's texts appended to out. */
int chart_repo_add(const char *name, const char *url, bool force_update, StrBuf *out, Error **err);
int chart_repo_update(const char *const *names, StrBuf *out, Error **err);
int chart_repo_remove(const char *const *names, StrBuf *out, Error **err);
typedef struct ChartSearchOpts {
	bool versions, devel;
	const char *version;             /* constraint or NULL */
} ChartSearchOpts;
/* helm search repo: *ret = [{name, version, app_version, description}] in Helm's order. */
int chart_search_repo(const char *keyword, const ChartSearchOpts *o, json_t **ret, Error **err);
typedef struct ChartPullOpts {
	const char *version, *dest, *untar_dir;   /* NULL: newest stable, ".", "." */
	bool untar;
} ChartPullOpts;
/* helm pull REPO/CHART or URL. */
int chart_pull(const char *ref, const ChartPullOpts *o, StrBuf *out, Error **err);
/* For dependency update: is the repository field remote (http(s)://, @name,
 * alias:name); refresh the indexes the dependencies use ("Hang tight ...");
 * the newest version matching a constraint; download it into dest_dir. */
bool chart_repo_is_remote(const char *repo);
int chart_repo_update_for(const json_t *deps, StrBuf *out, Error **err);
int chart_repo_resolve(const char *repo, const char *name, const char *constraint, char **ret_version, Error **err);
int chart_repo_download(const char *repo, const char *name, const char *version, const char *dest_dir, Error **err);

/* The chart's files as stored (directory with .helmignore, or archive without
 * its top directory); free with chart_files_free. */
int chart_raw_files(const char *path, ChartFile **ret, size_t *ret_n, Error **err);
void chart_files_free(ChartFile *f, size_t n);

#endif
