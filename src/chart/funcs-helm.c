/* funcs-helm.c - the functions Helm adds to Sprig: include and tpl (which
 * run templates of the executing set), required and fail, the YAML and
 * TOML converters (toYaml, toYamlPretty, fromYaml, fromYamlArray, toToml,
 * fromToml and their must* forms) and lookup (the cluster during install and
 * upgrade through chart_set_lookup, else empty).
 *
 * Errors are worded as Helm's Go code words them, including the
 * HELM_ERR_START/HELM_ERR_END markers around required/fail messages that
 * Helm's renderer later uses to shorten the report.
 */
#include "tmpl.h"
#include "toml.h"
#include "release.h"
#include "../shared/yaml.h"
#include <stdlib.h>
#include <string.h>

#define INCLUDE_MAX_RECURSION 1000

static Value *quoted(Ctx *c, const char *s, size_t n)
{
	ABuf q;
	abuf_init(&q, c->a);
	go_quote(&q, s, n, false);
	return value_strn(c->a, q.p, q.len);
}

/* ---- include / tpl ------------------------------------------------------------------------ */
static int f_include(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	ExecState *st = c->st;
	ExecShared *sh = st->sh;
	const char *name = arena_strndup(c->a, a[0]->u.s.p, a[0]->u.s.n);
	if (!sh->include_counts)
		sh->include_counts = value_map(sh->a, GT_INT);
	Value *count = map_get(sh->include_counts, a[0]->u.s.p, a[0]->u.s.n);
	if (count) {
		if (count->u.i > INCLUDE_MAX_RECURSION)
			return fn_error(c, "rendering template has a nested reference name: %s: unable to execute template",
					name);
		count->u.i++;
	} else {
		count = value_int(sh->a, 1);
		map_set(sh->include_counts, a[0]->u.s.p, a[0]->u.s.n, count);
	}
	Tmpl *t = tmplset_lookup(st->set, name);
	if (!t) {
		count->u.i--;
		return fn_error(c, "template: no template %s associated with template %s",
				quoted(c, a[0]->u.s.p, a[0]->u.s.n)->u.s.p,
				quoted(c, sh->root_name, strlen(sh->root_name))->u.s.p);
	}
	ABuf out;
	abuf_init(&out, c->a);
	Error *e = NULL;
	int rc = exec_template(sh, st->set, t, a[1], st->set->missingkey, &out, 0, &e);
	count->u.i--;
	if (rc < 0) {
		fn_error(c, "%s", err_msg(e));
		err_free(e);
		return -1;
	}
	*r = value_strn(c->a, out.p ? out.p : "", out.len);
	return 0;
}

/* Go's strings.ReplaceAll(s, "<no value>", ""). */
static Value *drop_no_value(Ctx *c, const char *s, size_t n)
{
	static const char nv[] = "<no value>";
	ABuf b;
	abuf_init(&b, c->a);
	size_t i = 0;
	while (i < n) {
		const char *hit = memmem(s + i, n - i, nv, sizeof(nv) - 1);
		if (!hit) {
			abuf_add(&b, s + i, n - i);
			break;
		}
		abuf_add(&b, s + i, (size_t)(hit - (s + i)));
		i = (size_t)(hit - s) + sizeof(nv) - 1;
	}
	return value_strn(c->a, b.p ? b.p : "", b.len);
}

/* Helm's tpl: parse the text into a clone of the executing set (an overlay
 * here) under the set's name, with missingkey=zero (error when strict), and
 * execute it; {{define}}s in the text stay local to this call. */
static int f_tpl(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	ExecState *st = c->st;
	ExecShared *sh = st->sh;
	const TmplSet *parent = st->set;
	TmplSet *clone = arena_alloc(sh->a, sizeof(*clone));
	clone->arena = sh->a;
	clone->parent = (TmplSet *)parent;
	clone->funcs = parent->funcs;
	clone->missingkey = parent->missingkey == MISSINGKEY_ERROR ? MISSINGKEY_ERROR : MISSINGKEY_ZERO;
	clone->ldelim = parent->ldelim;
	clone->rdelim = parent->rdelim;
	clone->name = parent->name;
	clone->lint_mode = parent->lint_mode;
	const Value *text = a[0];
	Tmpl *top = NULL;
	Error *e = NULL;
	if (tmplset_parse_into(clone, sh->root_name, text->u.s.p, text->u.s.n, &top, &e) < 0) {
		fn_error(c, "cannot parse template %s: %s", quoted(c, text->u.s.p, text->u.s.n)->u.s.p, err_msg(e));
		err_free(e);
		return -1;
	}
	ABuf out;
	abuf_init(&out, c->a);
	if (exec_template(sh, clone, top, a[1], clone->missingkey, &out, 0, &e) < 0) {
		fn_error(c, "error during tpl function execution for %s: %s", quoted(c, text->u.s.p, text->u.s.n)->u.s.p,
			 err_msg(e));
		err_free(e);
		return -1;
	}
	*r = drop_no_value(c, out.p ? out.p : "", out.len);
	return 0;
}

/* ---- required / fail / lookup ---------------------------------------------------------------- */
static int f_required(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	Value *v = a[1];
	if (value_is_nil(v) || (v->kind == VK_STRING && v->u.s.n == 0)) {
		if (c->st->set->lint_mode) {       /* Helm logs "[INFO] Missing required value" */
			*r = value_str_nocopy(c->a, "", 0);
			return 0;
		}
		return fn_error(c, "HELM_ERR_START%.*sHELM_ERR_END", (int)a[0]->u.s.n, a[0]->u.s.p);
	}
	*r = v;
	return 0;
}

static int f_fail(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	if (c->st->set->lint_mode) {
		*r = value_str_nocopy(c->a, "", 0);
		return 0;
	}
	return fn_error(c, "HELM_ERR_START%.*sHELM_ERR_END", (int)a[0]->u.s.n, a[0]->u.s.p);
}

/* During install/upgrade release.c points lookup at the cluster (release.h). */
static ChartLookupFn lookup_fn;
static void *lookup_ctx;

void chart_set_lookup(ChartLookupFn fn, void *ctx)
{
	lookup_fn = fn;
	lookup_ctx = ctx;
}

static int f_lookup(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	if (!lookup_fn) {
		*r = value_map(c->a, GT_ANY);
		return 0;
	}
	const char *s[4];
	for (int i = 0; i < 4; i++)
		s[i] = arena_strndup(c->a, a[i]->u.s.p, a[i]->u.s.n);
	json_t *j = NULL;
	Error *e = NULL;
	if (lookup_fn(lookup_ctx, s[0], s[1], s[2], s[3], &j, &e) < 0) {
		const char *msg = arena_strdup(c->a, err_msg(e));
		err_free(e);
		return fn_error(c, "%s", msg);
	}
	*r = j ? value_from_json(c->a, j, JSON_INT_AS_INT64) : value_map(c->a, GT_ANY);
	json_decref(j);
	return 0;
}

/* ---- YAML ------------------------------------------------------------------------------------ */
/* sigs.k8s.io/yaml.Marshal: through JSON, then go-yaml v2; -1 + *err on failure. */
static int yaml_of(Ctx *c, const Value *v, bool pretty, Value **r, const char **err)
{
	ABuf probe;
	abuf_init(&probe, c->a);
	if (!gojson_encode(&probe, v, false, NULL, 0)) {
		*err = arena_printf(c->a, "error marshaling into JSON: %s", gojson_error(c->a, v));
		return -1;
	}
	json_t *j = value_to_json_ex(v, pretty);
	StrBuf sb = STRBUF_INIT;
	Error *e = NULL;
	int rc = yaml_emit(j, pretty ? YAML_EMIT_V3 : 0, &sb, &e);
	json_decref(j);
	if (rc < 0) {
		*err = arena_strdup(c->a, err_msg(e));
		err_free(e);
		sb_release(&sb);
		return -1;
	}
	/* the arena owns the buffer from here: nothing leaks if a later step unwinds */
	size_t len = sb.len;
	char *buf = sb_detach(&sb);
	arena_defer(c->a, free, buf);
	if (len && buf[len - 1] == '\n')
		len--;
	*r = value_str_nocopy(c->a, buf, len);
	return 0;
}

static int f_to_yaml(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const char *err;
	if (yaml_of(c, a[0], false, r, &err) < 0)
		*r = value_str(c->a, "");
	return 0;
}

static int f_must_to_yaml(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const char *err;
	if (yaml_of(c, a[0], false, r, &err) < 0)
		return fn_error(c, "%s", err);
	return 0;
}

static int f_to_yaml_pretty(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const char *err;
	if (yaml_of(c, a[0], true, r, &err) < 0)
		*r = value_str(c->a, "");
	return 0;
}

static const char *json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: case JSON_REAL: return "number";
	case JSON_TRUE: case JSON_FALSE: return "bool";
	default: return "null";
	}
}

static void decref(void *p) { json_decref(p); }

/* sigs.k8s.io/yaml.Unmarshal into map[string]interface{} (want_list=false) or
 * []interface{}: the parsed value or NULL with *err (Helm's wording). */
static Value *yaml_unmarshal(Ctx *c, const Value *text, bool want_list, const char **err)
{
	json_t *j = NULL;
	Error *e = NULL;
	if (yaml_parse_buf(text->u.s.p, text->u.s.n, &j, &e) < 0) {
		*err = arena_printf(c->a, "error converting YAML to JSON: %s", err_msg(e));
		err_free(e);
		return NULL;
	}
	arena_defer(c->a, decref, j);
	json_t *want = want_list ? json_array() : json_object();
	arena_defer(c->a, decref, want);
	Value *v = NULL;
	if (json_is_null(j))
		v = value_from_json(c->a, want, JSON_INT_AS_FLOAT);
	else if (json_typeof(j) != json_typeof(want))
		*err = arena_printf(c->a,
				    "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal %s into Go value of type %s",
				    json_kind(j), want_list ? "[]interface {}" : "map[string]interface {}");
	else
		v = value_from_json(c->a, j, JSON_INT_AS_FLOAT);
	return v;
}

static int f_from_yaml(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const char *err = NULL;
	Value *v = yaml_unmarshal(c, a[0], false, &err);
	if (!v) {
		v = value_map(c->a, GT_ANY);
		map_sets(v, "Error", value_str(c->a, err));
	}
	*r = v;
	return 0;
}

static int f_from_yaml_array(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const char *err = NULL;
	Value *v = yaml_unmarshal(c, a[0], true, &err);
	if (!v) {
		Value *msg = value_str(c->a, err);
		v = value_list_from(c->a, &msg, 1, GT_ANY);
	}
	*r = v;
	return 0;
}

/* ---- TOML ------------------------------------------------------------------------------------ */
static int f_to_toml(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	ABuf b;
	abuf_init(&b, c->a);
	const char *err = NULL;
	if (toml_encode(&b, a[0], &err) < 0)
		*r = value_str(c->a, err);
	else
		*r = value_strn(c->a, b.p ? b.p : "", b.len);
	return 0;
}

static int f_must_to_toml(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	ABuf b;
	abuf_init(&b, c->a);
	const char *err = NULL;
	if (toml_encode(&b, a[0], &err) < 0)
		return fn_error(c, "%s", err);
	*r = value_strn(c->a, b.p ? b.p : "", b.len);
	return 0;
}

static int f_from_toml(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const char *err = NULL;
	Value *v = toml_decode(c->a, a[0]->u.s.p, a[0]->u.s.n, &err);
	if (!v) {
		v = value_map(c->a, GT_ANY);
		map_sets(v, "Error", value_str(c->a, err));
	}
	*r = v;
	return 0;
}

const FuncDef funcs_helm[] = {
	{ "fail", "s", f_fail, 0 },
	{ "fromToml", "s", f_from_toml, 0 },
	{ "fromYaml", "s", f_from_yaml, 0 },
	{ "fromYamlArray", "s", f_from_yaml_array, 0 },
	{ "include", "sa", f_include, 0 },
	{ "lookup", "ssss", f_lookup, 0 },
	{ "mustToToml", "a", f_must_to_toml, 0 },
	{ "mustToYaml", "a", f_must_to_yaml, 0 },
	{ "required", "sa", f_required, 0 },
	{ "toToml", "a", f_to_toml, 0 },
	{ "toYaml", "a", f_to_yaml, 0 },
	{ "toYamlPretty", "a", f_to_yaml_pretty, 0 },
	{ "tpl", "sa", f_tpl, 0 },
	{ NULL, NULL, NULL, 0 },
};
