/* funcs-dicts.c - Sprig's dict functions (dict.go): dict, get/set/unset,
 * hasKey, pluck, keys/values (sorted: Go's map order is random, ours is
 * stable), pick/omit, dig, and merge/mergeOverwrite with dario.cat/mergo's
 * rules for map[string]interface{} (in place, deep, maps shared not copied).
 */
#include "tmpl.h"
#include <string.h>

static int f_dict(Ctx *c, Value **a, int n, Value **ret)
{
	Value *m = value_map(c->a, GT_ANY);
	for (int i = 0; i < n; i += 2) {
		size_t kl;
		const char *k = value_to_string(c, a[i], &kl);
		map_set(m, k, kl, i + 1 < n ? a[i + 1] : value_str(c->a, ""));
	}
	*ret = m;
	return 0;
}

static int f_get(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	Value *v = a[0] ? map_get(a[0], a[1]->u.s.p, a[1]->u.s.n) : NULL;
	*ret = v ? v : value_str(c->a, "");
	return 0;
}

static int f_set(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (!a[0])
		return fn_error(c, "assignment to entry in nil map");
	map_set(a[0], a[1]->u.s.p, a[1]->u.s.n, a[2]);
	*ret = a[0];
	return 0;
}

static int f_unset(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (a[0])
		map_del(a[0], a[1]->u.s.p, a[1]->u.s.n);
	*ret = a[0] ? a[0] : value_map(c->a, GT_ANY);
	return 0;
}

static int f_has_key(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c; (void)n;
	*ret = value_bool(a[0] && map_get(a[0], a[1]->u.s.p, a[1]->u.s.n));
	return 0;
}

static int f_pluck(Ctx *c, Value **a, int n, Value **ret)
{
	Value *r = value_list(c->a, (size_t)(n > 1 ? n - 1 : 0), GT_ANY);
	size_t k = 0;
	for (int i = 1; i < n; i++) {
		Value *v = a[i] ? map_get(a[i], a[0]->u.s.p, a[0]->u.s.n) : NULL;
		if (v)
			r->u.l->items[k++] = v;
	}
	r->u.l->len = r->u.l->cap = k;
	*ret = r;
	return 0;
}

static int f_keys(Ctx *c, Value **a, int n, Value **ret)
{
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += a[i] ? a[i]->u.m->len : 0;
	Value *r = value_list(c->a, total, GT_STRING);
	size_t k = 0;
	for (int i = 0; i < n; i++)
		for (size_t j = 0; a[i] && j < a[i]->u.m->len; j++)
			r->u.l->items[k++] = value_str_nocopy(c->a, a[i]->u.m->e[j].key, a[i]->u.m->e[j].klen);
	*ret = r;
	return 0;
}

static int f_values(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	size_t len = a[0] ? a[0]->u.m->len : 0;
	Value *r = value_list(c->a, len, GT_ANY);
	for (size_t j = 0; j < len; j++)
		r->u.l->items[j] = a[0]->u.m->e[j].val;
	*ret = r;
	return 0;
}

static int f_pick(Ctx *c, Value **a, int n, Value **ret)
{
	Value *r = value_map(c->a, GT_ANY);
	for (int i = 1; i < n; i++) {
		Value *v = a[0] ? map_get(a[0], a[i]->u.s.p, a[i]->u.s.n) : NULL;
		if (v)
			map_set(r, a[i]->u.s.p, a[i]->u.s.n, v);
	}
	*ret = r;
	return 0;
}

static int f_omit(Ctx *c, Value **a, int n, Value **ret)
{
	Value *r = value_map(c->a, GT_ANY);
	for (size_t j = 0; a[0] && j < a[0]->u.m->len; j++) {
		const VMapEntry *e = &a[0]->u.m->e[j];
		bool drop = false;
		for (int i = 1; i < n && !drop; i++)
			drop = a[i]->u.s.n == e->klen && !memcmp(a[i]->u.s.p, e->key, e->klen);
		if (!drop)
			map_set(r, e->key, e->klen, e->val);
	}
	*ret = r;
	return 0;
}

static int f_dig(Ctx *c, Value **a, int n, Value **ret)
{
	if (n < 3)
		return fn_error(c, "dig needs at least three arguments");
	Value *d = a[n - 1];
	if (!d || d->kind != VK_MAP || d->type != GT_ANY)
		return fn_error(c, "interface conversion: interface {} is %s, not map[string]interface {}",
				value_type_name(d, c->a));
	Value *def = a[n - 2];
	for (int i = 0; i < n - 2; i++)
		if (!a[i] || a[i]->kind != VK_STRING)
			return fn_error(c, "interface conversion: interface {} is %s, not string", value_type_name(a[i], c->a));
	for (int i = 0; i < n - 2; i++) {
		Value *step = map_get(d, a[i]->u.s.p, a[i]->u.s.n);
		if (!step) {
			*ret = def;
			return 0;
		}
		if (i == n - 3) {
			*ret = step;
			return 0;
		}
		if (step->kind != VK_MAP || step->type != GT_ANY)
			return fn_error(c, "interface conversion: interface {} is %s, not map[string]interface {}",
					value_type_name(step, c->a));
		d = step;
	}
	*ret = def;
	return 0;
}

/* mergo's isEmptyValue with dereferencing of interface values. */
static bool mergo_empty(const Value *v) { return value_empty(v); }

static void mergo_merge(Value *dst, const Value *src, bool overwrite, int depth)
{
	if (!src || src->kind != VK_MAP || depth > 1000)
		return;
	for (size_t i = 0; i < src->u.m->len; i++) {
		const VMapEntry *se = &src->u.m->e[i];
		Value *sv = se->val;
		Value *dv = map_get(dst, se->key, se->klen);
		if (value_is_nil(sv)) {
			if (overwrite)
				map_set(dst, se->key, se->klen, value_nil());
			continue;
		}
		if (sv->kind == VK_MAP && dv && dv->kind == VK_MAP)
			mergo_merge(dv, sv, overwrite, depth + 1);
		if (sv->kind == VK_LIST) {
			/* mergo sets the slice from the *maps'* emptiness; the net effect */
			bool take = !mergo_empty(src) && (overwrite || mergo_empty(dst));
			if (take || !dv)
				map_set(dst, se->key, se->klen, sv);
		}
		if (dv && !mergo_empty(dv)) {
			if (sv->kind == VK_LIST)
				continue;
			if (sv->kind == VK_MAP && dv->kind == VK_MAP)
				continue;
		}
		if (overwrite || !dv || mergo_empty(dv))
			map_set(dst, se->key, se->klen, sv);
	}
}

static int merge_impl(Ctx *c, Value **a, int n, bool overwrite, Value **ret)
{
	Value *dst = a[0];
	if (!dst) {
		/* a nil dst map stays nil in the caller; mergo works on its copy */
		dst = value_map(c->a, GT_ANY);
	}
	for (int i = 1; i < n; i++)
		mergo_merge(dst, a[i], overwrite, 0);
	*ret = dst;
	return 0;
}

static int f_merge(Ctx *c, Value **a, int n, Value **ret) { return merge_impl(c, a, n, false, ret); }
static int f_merge_overwrite(Ctx *c, Value **a, int n, Value **ret) { return merge_impl(c, a, n, true, ret); }

const FuncDef funcs_dicts[] = {
	{ "dict", "a*", f_dict, 0 },
	{ "get", "ms", f_get, 0 },
	{ "set", "msa", f_set, 0 },
	{ "unset", "ms", f_unset, 0 },
	{ "hasKey", "ms", f_has_key, 0 },
	{ "pluck", "sm*", f_pluck, 0 },
	{ "keys", "m*", f_keys, 0 },
	{ "pick", "ms*", f_pick, 0 },
	{ "omit", "ms*", f_omit, 0 },
	{ "merge", "mm*", f_merge, 0 },
	{ "mergeOverwrite", "mm*", f_merge_overwrite, 0 },
	{ "mustMerge", "mm*", f_merge, 0 },
	{ "mustMergeOverwrite", "mm*", f_merge_overwrite, 0 },
	{ "values", "m", f_values, 0 },
	{ "dig", "a*", f_dig, 0 },
	{ NULL, NULL, NULL, 0 },
};
