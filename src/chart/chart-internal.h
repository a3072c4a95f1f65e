/* chart-internal.h - helpers shared by the chart files (loader, values,
 * render, commands); not part of the component API (helmchart.h). */
#ifndef BERTH_CHART_CHART_INTERNAL_H
#define BERTH_CHART_CHART_INTERNAL_H

#include "helmchart.h"
#include <stdint.h>

/* chart-tar.c: read a gzipped tar into files (malloc'd, NUL-terminated data). */
int chart_tar_read(const char *data, size_t len, ChartFile **ret, size_t *ret_n, Error **err);
/* Write files as a gzipped ustar archive appended to out. */
int chart_tar_write(const ChartFile *files, size_t n, long mtime, StrBuf *out, Error **err);
void chart_files_free(ChartFile *f, size_t n);
/* chart-loaddir.c: a chart directory's files, .helmignore applied (lexical order). */
int chart_dir_files(const char *path, ChartFile **ret, size_t *ret_n, Error **err);
/* chart-load.c: build a chart from loose files (Helm's LoadFiles); takes the files. */
int chart_from_files(ChartFile *files, size_t n, int depth, Chart **ret, Error **err);
/* Deep copy of a chart (for aliased dependencies). */
Chart *chart_clone(const Chart *c);
/* Go's filepath.Match with '/' as the separator. */
bool chart_path_match(const char *pattern, const char *name);
/* YAML text to JSON with Helm's float64 numbers; NULL document -> empty object when as_map. */
int chart_yaml_values(const char *text, size_t len, json_t **ret, Error **err);

/* chart-files.c: Helm's .Files object (engine.files) over a chart's files,
 * living in arena a; gobwas/glob matching ('/' separator): 1, 0, -1 invalid. */
typedef struct Arena Arena;
typedef struct Value Value;
Value *chart_files_value(Arena *a, const ChartFile *files, size_t n);
int chart_glob_match(Arena *a, const char *pattern, const char *name);
/* chart-repo.c: a repository index.yaml (untrusted): needs an apiVersion;
 * every chart's versions sorted newest first.  New reference. */
int chart_repo_parse_index(const char *buf, size_t len, const char *what, json_t **ret, Error **err);

#endif
