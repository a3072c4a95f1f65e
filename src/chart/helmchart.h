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

#endif
