/* chart-render.c - Helm's pkg/engine over a loaded chart: every template of
 * the chart and its (enabled) subcharts is named PARENT/templates/x (a
 * subchart's PARENT is parent/charts/name), all are parsed into one set in
 * Helm's order (deepest paths first, then reverse lexical, so a parent's
 * {{define}} overrides a child's), and every non-partial template is executed
 * with its chart's scoped values (.Values, .Chart, .Release, .Capabilities,
 * .Template, .Files, .Subcharts; .Chart.IsRoot).  "<no value>" is replaced by "", as Helm does.
 */
#include "chart-internal.h"
#include "chart.h"
#include "tmpl.h"
#include "../base/cleanup.h"
#include "../base/limits.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void rendered_release(Rendered *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->files[i].name);
		free(r->files[i].text);
	}
	free(r->files);
	r->files = NULL;
	r->n = 0;
}

/* ---- .Capabilities.APIVersions (Has) ---------------------------------------------------- */
static int m_has(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const Value *list = c->self->u.o.p;
	for (size_t i = 0; i < list->u.l->len; i++) {
		const Value *s = list->u.l->items[i];
		if (s->u.s.n == a[0]->u.s.n && !memcmp(s->u.s.p, a[0]->u.s.p, s->u.s.n)) {
			*ret = value_true();
			return 0;
		}
	}
	*ret = value_false();
	return 0;
}

static const FuncDef apiv_methods[] = { { "Has", "s", m_has, 0 }, { NULL, NULL, NULL, 0 } };

static int apiv_lookup(const Value *self, const char *name, Value **ret, const FuncDef **m, Arena *a)
{
	(void)self; (void)ret; (void)a;
	if (!strcmp(name, "Has")) {
		*m = &apiv_methods[0];
		return 1;
	}
	return -1;
}

static void apiv_str(const Value *self, ABuf *out) { gofmt_value(out, self->u.o.p); }

static const ObjType apiv_type = {
	.type_name = "chartutil.VersionSet", .kind_name = "slice", .lookup = apiv_lookup, .str = apiv_str,
};

static const char *const default_apis[] = {
	"v1", "admissionregistration.k8s.io/v1", "apiextensions.k8s.io/v1", "apiregistration.k8s.io/v1",
	"apps/v1", "authentication.k8s.io/v1", "authorization.k8s.io/v1", "autoscaling/v1", "autoscaling/v2",
	"batch/v1", "certificates.k8s.io/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1",
	"events.k8s.io/v1", "networking.k8s.io/v1", "node.k8s.io/v1", "policy/v1",
	"rbac.authorization.k8s.io/v1", "scheduling.k8s.io/v1", "storage.k8s.io/v1",
};

static Value *sv(Arena *a, const char *s) { return value_str(a, s ? s : ""); }

static Value *capabilities(Arena *a, const RenderOptions *o)
{
	const char *kv = o->kube_version && *o->kube_version ? o->kube_version : "v1.20.0";
	if (kv[0] != 'v')
		kv = arena_printf(a, "v%s", kv);
	unsigned maj = 0, min = 0;
	sscanf(kv + 1, "%u.%u", &maj, &min);
	Value *k = value_map(a, GT_ANY);
	map_sets(k, "Version", sv(a, kv));
	map_sets(k, "Major", value_str(a, arena_printf(a, "%u", maj)));
	map_sets(k, "Minor", value_str(a, arena_printf(a, "%u", min)));
	map_sets(k, "GitVersion", sv(a, kv));
	size_t n = sizeof default_apis / sizeof *default_apis, extra = 0;
	while (o->api_versions && o->api_versions[extra])
		extra++;
	Value *l = value_list(a, n + extra, GT_STRING);
	for (size_t i = 0; i < n; i++)
		l->u.l->items[i] = sv(a, default_apis[i]);
	for (size_t i = 0; i < extra; i++)
		l->u.l->items[n + i] = sv(a, o->api_versions[i]);
	Value *h = value_map(a, GT_ANY);
	map_sets(h, "Version", sv(a, "v3.18.0"));
	map_sets(h, "GitCommit", sv(a, ""));
	map_sets(h, "GitTreeState", sv(a, ""));
	map_sets(h, "GoVersion", sv(a, "go1.24"));
	Value *c = value_map(a, GT_ANY);
	map_sets(c, "KubeVersion", k);
	map_sets(c, "APIVersions", value_object(a, &apiv_type, l));
	map_sets(c, "HelmVersion", h);
	return c;
}

static Value *release(Arena *a, const RenderOptions *o)
{
	Value *r = value_map(a, GT_ANY);
	map_sets(r, "Name", sv(a, o->release_name));
	map_sets(r, "Namespace", sv(a, o->namespace ? o->namespace : "default"));
	map_sets(r, "Revision", value_int(a, o->revision ? o->revision : 1));
	map_sets(r, "IsUpgrade", value_bool(o->is_upgrade));
	map_sets(r, "IsInstall", value_bool(!o->is_upgrade));
	map_sets(r, "Service", sv(a, "Helm"));
	return r;
}

/* .Chart: Chart.yaml under the Go field names of chart.Metadata. */
static Value *chart_meta(Arena *a, const Chart *c)
{
	static const char *const map[][2] = {
		{ "name", "Name" }, { "home", "Home" }, { "sources", "Sources" }, { "version", "Version" },
		{ "description", "Description" }, { "keywords", "Keywords" }, { "maintainers", "Maintainers" },
		{ "icon", "Icon" }, { "apiVersion", "APIVersion" }, { "condition", "Condition" }, { "tags", "Tags" },
		{ "appVersion", "AppVersion" }, { "deprecated", "Deprecated" }, { "annotations", "Annotations" },
		{ "kubeVersion", "KubeVersion" }, { "dependencies", "Dependencies" }, { "type", "Type" },
	};
	Value *m = value_map(a, GT_ANY);
	for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
		json_t *j = json_object_get(c->meta, map[i][0]);
		if (!strcmp(map[i][1], "Deprecated"))
			map_sets(m, map[i][1], value_bool(json_is_true(j)));
		else if (j)
			map_sets(m, map[i][1], value_from_json(a, j, JSON_INT_AS_FLOAT));
		else if (!strcmp(map[i][1], "Maintainers") || !strcmp(map[i][1], "Sources") ||
			 !strcmp(map[i][1], "Keywords") || !strcmp(map[i][1], "Dependencies") ||
			 !strcmp(map[i][1], "Annotations"))
			map_sets(m, map[i][1], value_nil());
		else
			map_sets(m, map[i][1], sv(a, ""));
	}
	return m;
}

/* ---- collecting templates --------------------------------------------------------------- */
typedef struct RTmpl {
	char *name;
	const ChartFile *f;
	Value *vals;           /* the chart's top-level object */
	const char *base;      /* PARENT/templates */
} RTmpl;

typedef struct Collect {
	Arena *a;
	const RenderOptions *o;
	RTmpl *t;
	size_t n;
} Collect;

/* Helm's recAllTpls: returns the chart's top-level object, which its parent
 * lists under .Subcharts.NAME. */
static Value *collect(Collect *col, const Chart *c, const char *parent_id, Value *values, Value *rel, Value *caps)
{
	Arena *a = col->a;
	Value *top = value_map(a, GT_ANY);
	Value *subcharts = value_map(a, GT_ANY);
	map_sets(top, "Values", values && values->kind == VK_MAP ? values : value_map(a, GT_ANY));
	map_sets(top, "Release", rel);
	map_sets(top, "Capabilities", caps);
	Value *meta = chart_meta(a, c);
	map_sets(meta, "IsRoot", value_bool(c->parent == NULL));
	map_sets(top, "Chart", meta);
	map_sets(top, "Files", chart_files_value(a, c->files, c->nfiles));
	map_sets(top, "Subcharts", subcharts);
	const char *base = arena_printf(a, "%s/templates", parent_id);
	for (size_t i = 0; i < c->ntemplates; i++) {
		const char *b = strrchr(c->templates[i].name, '/');
		if (c->library && (b ? b[1] : c->templates[i].name[0]) != '_')
			continue;     /* a library chart lends only its partials */
		col->t = xrealloc(col->t, (col->n + 1) * sizeof *col->t);
		col->t[col->n++] = (RTmpl){ xasprintf("%s/%s", parent_id, c->templates[i].name), &c->templates[i], top,
					    base };
	}
	for (size_t i = 0; i < c->ndeps; i++) {
		const Chart *sc = c->deps[i];
		Value *sub = values && values->kind == VK_MAP ? map_gets(values, sc->name) : NULL;
		map_sets(subcharts, sc->name,
			 collect(col, sc, arena_printf(a, "%s/charts/%s", parent_id, sc->name), sub, rel, caps));
	}
	return top;
}

static size_t slashes(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '/';
	return n;
}

/* Helm's sort.Reverse(byPathLen): deeper first, then reverse lexical. */
static int cmp_rt(const void *x, const void *y)
{
	const RTmpl *a = x, *b = y;
	size_t ca = slashes(a->name), cb = slashes(b->name);
	if (ca != cb)
		return ca < cb ? 1 : -1;
	return -strcmp(a->name, b->name);
}

static bool is_partial(const char *name)
{
	const char *b = strrchr(name, '/');
	return (b ? b[1] : name[0]) == '_';
}

static char *drop_no_value(const char *s, size_t n)
{
	StrBuf sb;
	sb_init(&sb);
	const char *p = s, *end = s + n;
	while (p < end) {
		const char *q = memmem(p, (size_t)(end - p), "<no value>", 10);
		if (!q) {
			sb_add(&sb, p, (size_t)(end - p));
			break;
		}
		sb_add(&sb, p, (size_t)(q - p));
		p = q + 10;
	}
	sb_adds(&sb, "");
	return sb_detach(&sb);
}

/* Helm's engine.cleanupExecError: "template: LOC: ...HELM_ERR_START msg HELM_ERR_END"
 * becomes "execution error at (LOC): msg" (required/fail); other errors stay. */
static void cleanup_exec_error(Error **err)
{
	if (!err || !*err || !(*err)->msg)
		return;
	char *m = (*err)->msg, *s = strstr(m, "HELM_ERR_START"), *e = s ? strstr(s, "HELM_ERR_END") : NULL;
	if (!e || strncmp(m, "template: ", 10))
		return;
	const char *loc = m + 10, *sep = strstr(loc, ": ");
	if (!sep || sep > s)
		return;
	char *n = xasprintf("execution error at (%.*s): %.*s", (int)(sep - loc), loc, (int)(e - s - 14), s + 14);
	free(m);
	(*err)->msg = n;
}

/* Helm's engine.cleanupParseError: "template: LOC: ...: msg" becomes
 * "parse error at (LOC): msg" (the last ": "-separated part). */
static void cleanup_parse_error(Error **err, const char *filename)
{
	if (!err || !*err || !(*err)->msg)
		return;
	char *m = (*err)->msg, *first = strstr(m, ": ");
	char *n;
	if (!first) {
		n = xasprintf("parse error in (%s): %s", filename, m);
	} else {
		const char *loc = first + 2, *loc_end = strstr(loc, ": ");
		size_t loc_len = loc_end ? (size_t)(loc_end - loc) : strlen(loc);
		const char *last = m;
		for (const char *p = strstr(m, ": "); p; p = strstr(p + 2, ": "))
			last = p + 2;
		n = xasprintf("parse error at (%.*s): %s", (int)loc_len, loc, last);
	}
	free(m);
	(*err)->msg = n;
}

/* Helm's Engine.render over collected templates: sort, parse all into one
 * set, execute the non-partials.  Takes t (names freed here). */
static int render_set(Arena *a, RTmpl *t, size_t n, const RenderOptions *o, Rendered *ret, Error **err)
{
	qsort(t, n, sizeof *t, cmp_rt);
	TmplOptions to = { .missingkey = o->strict ? MISSINGKEY_ERROR : MISSINGKEY_ZERO, .name = "gotpl",
			   .lint_mode = o->lint_mode };
	_cleanup_tmplset_ TmplSet *set = tmpl_set_new(&to);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if ((rc = tmpl_set_parse(set, t[i].name, t[i].f->data, t[i].f->len, err)) < 0)
			cleanup_parse_error(err, t[i].name);
	Rendered r = { 0 };
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (is_partial(t[i].name))
			continue;
		Value *top = value_map(a, GT_ANY);
		const Value *vals = t[i].vals;
		for (size_t k = 0; vals && vals->kind == VK_MAP && k < vals->u.m->len; k++)
			map_set(top, vals->u.m->e[k].key, vals->u.m->e[k].klen, vals->u.m->e[k].val);
		Value *tv = value_map(a, GT_ANY);
		map_sets(tv, "Name", sv(a, t[i].name));
		map_sets(tv, "BasePath", sv(a, t[i].base));
		map_sets(top, "Template", tv);
		StrBuf out;
		sb_init(&out);
		rc = tmpl_set_execute(set, t[i].name, a, top, &out, err);
		if (rc < 0)
			cleanup_exec_error(err);
		if (rc == 0) {
			r.files = xrealloc(r.files, (r.n + 1) * sizeof *r.files);
			r.files[r.n].name = xstrdup(t[i].name);
			r.files[r.n++].text = drop_no_value(out.buf ? out.buf : "", out.len);
		}
		sb_release(&out);
	}
	for (size_t i = 0; i < n; i++)
		free(t[i].name);
	free(t);
	if (rc < 0) {
		rendered_release(&r);
		return rc;
	}
	*ret = r;
	return 0;
}

int chart_render(const Chart *c, const json_t *vals, const RenderOptions *o, Rendered *ret, Error **err)
{
	_cleanup_arena_ Arena *a = arena_new(BERTH_MAX_TEMPLATE_MEMORY);
	Collect col = { a, o, NULL, 0 };
	collect(&col, c, c->name, value_from_json(a, vals, JSON_INT_AS_INT64), release(a, o), capabilities(a, o));
	return render_set(a, col.t, col.n, o, ret, err);
}

int chart_render_flat(const char *const *names, const char *const *texts, const json_t *const *vals, size_t n,
		      const RenderOptions *o, Rendered *ret, Error **err)
{
	_cleanup_arena_ Arena *a = arena_new(BERTH_MAX_TEMPLATE_MEMORY);
	ChartFile *f = xcalloc(n + 1, sizeof *f);
	RTmpl *t = xcalloc(n + 1, sizeof *t);
	for (size_t i = 0; i < n; i++) {
		f[i] = (ChartFile){ (char *)names[i], (char *)texts[i], strlen(texts[i]) };
		t[i] = (RTmpl){ xstrdup(names[i]), &f[i], value_from_json(a, vals[i], JSON_INT_AS_INT64), "" };
	}
	int rc = render_set(a, t, n, o, ret, err);
	free(f);
	return rc;
}

void chart_sort_templates(const char **names, size_t n)
{
	RTmpl *t = xcalloc(n + 1, sizeof *t);
	for (size_t i = 0; i < n; i++)
		t[i].name = (char *)names[i];
	qsort(t, n, sizeof *t, cmp_rt);
	for (size_t i = 0; i < n; i++)
		names[i] = t[i].name;
	free(t);
}
