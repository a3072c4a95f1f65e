/* funcs-defaults.c - Sprig's defaults.go and reflect.go: default, empty,
 * coalesce, all/any, ternary, deepCopy, the JSON helpers (Helm's fromJson /
 * fromJsonArray / toJson override Sprig's), typeOf/kindOf/..., deepEqual.
 */
#include "tmpl.h"
#include <string.h>

static int f_default(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c;
	if (n < 2 || value_empty(a[1]))
		*ret = a[0];
	else
		*ret = a[1];
	return 0;
}

static int f_empty(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c; (void)n;
	*ret = value_bool(value_empty(a[0]));
	return 0;
}

static int f_coalesce(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c;
	for (int i = 0; i < n; i++)
		if (!value_empty(a[i])) {
			*ret = a[i];
			return 0;
		}
	*ret = value_nil();
	return 0;
}

static int f_all(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c;
	for (int i = 0; i < n; i++)
		if (value_empty(a[i])) {
			*ret = value_false();
			return 0;
		}
	*ret = value_true();
	return 0;
}

static int f_any(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c;
	for (int i = 0; i < n; i++)
		if (!value_empty(a[i])) {
			*ret = value_true();
			return 0;
		}
	*ret = value_false();
	return 0;
}

static int f_ternary(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c; (void)n;
	*ret = a[2]->u.b ? a[0] : a[1];
	return 0;
}

static int f_deep_copy(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	*ret = value_deep_copy(c->a, a[0]);
	return 0;
}

static int json_out(Ctx *c, const Value *v, bool html, const char *indent, bool must, Value **ret)
{
	ABuf b;
	abuf_init(&b, c->a);
	if (!gojson_encode(&b, v, html, indent, 0)) {
		if (must)
			return fn_error(c, "%s", gojson_error(c->a, v));
		*ret = value_str(c->a, "");
		return 0;
	}
	*ret = value_str_nocopy(c->a, abuf_str(&b), b.len);
	return 0;
}

static int f_to_json(Ctx *c, Value **a, int n, Value **ret) { (void)n; return json_out(c, a[0], true, NULL, false, ret); }
static int f_must_to_json(Ctx *c, Value **a, int n, Value **ret) { (void)n; return json_out(c, a[0], true, NULL, true, ret); }
static int f_to_pretty_json(Ctx *c, Value **a, int n, Value **ret) { (void)n; return json_out(c, a[0], true, "  ", false, ret); }
static int f_must_to_pretty_json(Ctx *c, Value **a, int n, Value **ret) { (void)n; return json_out(c, a[0], true, "  ", true, ret); }
static int f_to_raw_json(Ctx *c, Value **a, int n, Value **ret) { (void)n; return json_out(c, a[0], false, NULL, true, ret); }

static const char *json_kind(const Value *v)
{
	switch (v->kind) {
	case VK_MAP: return "object";
	case VK_LIST: return "array";
	case VK_STRING: return "string";
	case VK_BOOL: return "bool";
	default: return "number";
	}
}

/* Helm's fromJson: map[string]interface{}, errors in m["Error"]. */
static int f_from_json(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *err = NULL;
	Value *v = gojson_decode(c->a, a[0]->u.s.p, a[0]->u.s.n, &err);
	Value *m = value_map(c->a, GT_ANY);
	if (!v)
		map_sets(m, "Error", value_str(c->a, err));
	else if (v->kind == VK_MAP)
		m = v;
	else if (v->kind != VK_NIL)
		map_sets(m, "Error", value_str(c->a, arena_printf(c->a,
			"json: cannot unmarshal %s into Go value of type map[string]interface {}", json_kind(v))));
	*ret = m;
	return 0;
}

static int f_from_json_array(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *err = NULL;
	Value *v = gojson_decode(c->a, a[0]->u.s.p, a[0]->u.s.n, &err);
	if (!v) {
		Value *e = value_str(c->a, err);
		*ret = value_list_from(c->a, &e, 1, GT_ANY);
	} else if (v->kind == VK_LIST) {
		*ret = v;
	} else if (v->kind == VK_NIL) {
		*ret = value_list(c->a, 0, GT_ANY);
	} else {
		Value *e = value_str(c->a, arena_printf(c->a,
			"json: cannot unmarshal %s into Go value of type []interface {}", json_kind(v)));
		*ret = value_list_from(c->a, &e, 1, GT_ANY);
	}
	return 0;
}

static int f_must_from_json(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *err = NULL;
	Value *v = gojson_decode(c->a, a[0]->u.s.p, a[0]->u.s.n, &err);
	if (!v)
		return fn_error(c, "%s", err);
	*ret = v;
	return 0;
}

static int f_type_of(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	*ret = value_str(c->a, value_type_name(a[0], c->a));
	return 0;
}

static int f_type_is(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	*ret = value_bool(!strcmp(a[0]->u.s.p, value_type_name(a[1], c->a)));
	return 0;
}

static int f_type_is_like(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *t = value_type_name(a[1], c->a);
	*ret = value_bool(!strcmp(a[0]->u.s.p, t) || (t[0] == '*' && !strcmp(a[0]->u.s.p, t + 1)));
	return 0;
}

static int f_kind_of(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	*ret = value_str(c->a, value_kind_name(a[0]));
	return 0;
}

static int f_kind_is(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c; (void)n;
	*ret = value_bool(!strcmp(a[0]->u.s.p, value_kind_name(a[1])));
	return 0;
}

static int f_deep_equal(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c; (void)n;
	*ret = value_bool(value_deep_equal(a[0], a[1]));
	return 0;
}

const FuncDef funcs_defaults[] = {
	{ "default", "aa*", f_default, 0 },
	{ "empty", "a", f_empty, 0 },
	{ "coalesce", "a*", f_coalesce, 0 },
	{ "all", "a*", f_all, 0 },
	{ "any", "a*", f_any, 0 },
	{ "fromJson", "s", f_from_json, 0 },
	{ "fromJsonArray", "s", f_from_json_array, 0 },
	{ "toJson", "a", f_to_json, 0 },
	{ "toPrettyJson", "a", f_to_pretty_json, 0 },
	{ "toRawJson", "a", f_to_raw_json, 0 },
	{ "mustFromJson", "s", f_must_from_json, 0 },
	{ "mustToJson", "a", f_must_to_json, 0 },
	{ "mustToPrettyJson", "a", f_must_to_pretty_json, 0 },
	{ "mustToRawJson", "a", f_to_raw_json, 0 },
	{ "ternary", "aab", f_ternary, 0 },
	{ "deepCopy", "a", f_deep_copy, 0 },
	{ "mustDeepCopy", "a", f_deep_copy, 0 },
	{ "typeOf", "a", f_type_of, 0 },
	{ "typeIs", "sa", f_type_is, 0 },
	{ "typeIsLike", "sa", f_type_is_like, 0 },
	{ "kindOf", "a", f_kind_of, 0 },
	{ "kindIs", "sa", f_kind_is, 0 },
	{ "deepEqual", "aa", f_deep_equal, 0 },
	{ NULL, NULL, NULL, 0 },
};
