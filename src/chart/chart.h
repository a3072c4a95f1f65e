/* chart.h - the chart component's public API.
 *
 * Today: the template engine (Go text/template + Sprig + Helm's functions).
 * A TmplSet is a set of named templates sharing options and a function table
 * (Go's *template.Template with its associated templates).  Parsing and
 * executing report errors with Go's exact texts, e.g.
 *   template: NAME:LINE: unexpected EOF
 *   template: NAME:LINE:COL: executing "NAME" at <.x.y>: nil pointer ...
 *
 * Data and results are Values (value.h) living in an Arena the caller owns;
 * one arena per render.  Parse and execute run on a private large-stack
 * thread with depth and memory caps (base/limits.h), so a hostile template
 * gets an error, never a crash.
 */
#ifndef BERTH_CHART_CHART_H
#define BERTH_CHART_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include "value.h"
#include "../base/err.h"
#include "../base/strbuf.h"

typedef enum { MISSINGKEY_DEFAULT, MISSINGKEY_ZERO, MISSINGKEY_ERROR } MissingKey;

typedef enum {
	TMPL_FUNCS_HELM = 0,   /* builtins + Sprig v3 + Helm's own (minus env/expandenv) */
	TMPL_FUNCS_GO,         /* text/template builtins only */
} TmplFuncs;

typedef struct TmplOptions {
	MissingKey missingkey;
	const char *ldelim, *rdelim;   /* NULL: "{{" "}}" */
	TmplFuncs funcs;
	/* The set's own name, Go's t.Name(): include reports missing templates
	 * against it and tpl parses its text under it (Helm: "gotpl").  NULL:
	 * the name of the template being executed. */
	const char *name;
	/* Helm's Engine.LintMode: required and fail yield "" instead of failing. */
	bool lint_mode;
} TmplOptions;

typedef struct TmplSet TmplSet;

/* A new, empty set; caller frees with tmpl_set_free. */
TmplSet *tmpl_set_new(const TmplOptions *opts);
void tmpl_set_free(TmplSet *s);
static inline void tmpl_set_freep(TmplSet **s) { if (*s) tmpl_set_free(*s); }
#define _cleanup_tmplset_ __attribute__((cleanup(tmpl_set_freep)))

/* Go's Template.Option: "missingkey=default|invalid|zero|error". */
int tmpl_set_option(TmplSet *s, const char *opt, Error **err);

/* Parse text as the template `name` (plus any {{define}}s in it). */
int tmpl_set_parse(TmplSet *s, const char *name, const char *text, size_t len, Error **err);
bool tmpl_set_has(const TmplSet *s, const char *name);

/* Execute template `name` with dot = data; appends output to out.  On error
 * out holds the partial output and *err Go's message. */
int tmpl_set_execute(TmplSet *s, const char *name, Arena *a, Value *data, StrBuf *out, Error **err);

#endif
