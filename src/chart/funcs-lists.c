/* funcs-lists.c - Sprig's list functions (list.go): list/tuple, push/append,
 * prepend, first/rest/last/initial, reverse, compact, uniq, without, has,
 * slice, concat, chunk, plus their must* variants.  Plain variants turn the
 * must* error into a Go panic message, as sprig does.
 */
#include "tmpl.h"
#include <math.h>
#include <string.h>

Value *value_to_strings(Ctx *c, const Value *v);

static const char *kind_name(const Value *v) { return value_kind_name(v); }

static bool is_list(const Value *v) { return v && v->kind == VK_LIST; }

/* reflect.TypeOf(nil).Kind() panics in sprig: mimic the runtime error. */
static int nil_type_panic(Ctx *c)
{
	return fn_error(c, "runtime error: invalid memory address or nil pointer dereference");
}

static Value *copy_items(Ctx *c, const Value *l, size_t from, size_t to)
{
	Value *r = value_list(c->a, to - from, GT_ANY);
	for (size_t i = from; i < to; i++)
		r->u.l->items[i - from] = l->u.l->items[i];
	return r;
}

static int check_list(Ctx *c, const Value *l, const char *what)
{
	if (value_is_nil(l))
		return nil_type_panic(c);
	if (!is_list(l))
		return fn_error(c, "%s %s", what, kind_name(l));
	return 0;
}

static int f_list(Ctx *c, Value **a, int n, Value **ret)
{
	*ret = value_list_from(c->a, a, (size_t)n, GT_ANY);
	return 0;
}

static int f_push(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (check_list(c, a[0], "Cannot push on type") < 0)
		return -1;
	size_t len = a[0]->u.l->len;
	Value *r = copy_items(c, a[0], 0, len);
	Value *nr = value_list(c->a, len + 1, GT_ANY);
	memcpy(nr->u.l->items, r->u.l->items, len * sizeof(Value *));
	nr->u.l->items[len] = a[1];
	*ret = nr;
	return 0;
}

static int f_prepend(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (check_list(c, a[0], "Cannot prepend on type") < 0)
		return -1;
	size_t len = a[0]->u.l->len;
	Value *nr = value_list(c->a, len + 1, GT_ANY);
	nr->u.l->items[0] = a[1];
	memcpy(nr->u.l->items + 1, a[0]->u.l->items, len * sizeof(Value *));
	*ret = nr;
	return 0;
}

static int f_chunk(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (check_list(c, a[1], "Cannot chunk type") < 0)
		return -1;
	int64_t size = a[0]->u.i;
	int64_t l = (int64_t)a[1]->u.l->len;
	if (size == 0)
		return fn_error(c, "runtime error: integer divide by zero");
	double csd = floor((double)(l - 1) / (double)size) + 1;
	if (csd < 0 || csd > 1e8)
		return fn_error(c, "runtime error: makeslice: len out of range");
	size_t cs = (size_t)csd;
	Value *r = value_list(c->a, cs, GT_LIST_ANY);
	for (size_t i = 0; i < cs; i++) {
		int64_t clen = size;
		if (i == cs - 1) {
			clen = (int64_t)floor(fmod((double)l, (double)size));
			if (clen == 0)
				clen = size;
		}
		if (clen < 0)
			return fn_error(c, "runtime error: makeslice: len out of range");
		Value *ch = value_list(c->a, (size_t)clen, GT_ANY);
		for (int64_t j = 0; j < clen; j++) {
			int64_t ix = (int64_t)i * size + j;
			if (ix < 0 || ix >= l)
				return fn_error(c, "reflect: slice index out of range");
			ch->u.l->items[j] = a[1]->u.l->items[ix];
		}
		r->u.l->items[i] = ch;
	}
	*ret = r;
	return 0;
}

static int f_first(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (check_list(c, a[0], "Cannot find first on type") < 0)
		return -1;
	*ret = a[0]->u.l->len ? a[0]->u.l->items[0] : value_nil();
	return 0;
}

static int f_last(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (check_list(c, a[0], "Cannot find last on type") < 0)
		return -1;
	*ret = a[0]->u.l->len ? a[0]->u.l->items[a[0]->u.l->len - 1] : value_nil();
	return 0;
}

static int f_rest(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (check_list(c, a[0], "Cannot find rest on type") < 0)
		return -1;
	size_t len = a[0]->u.l->len;
	*ret = len ? copy_items(c, a[0], 1, len) : value_list(c->a, 0, GT_ANY);
	return 0;
}

static int f_initial(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (check_list(c, a[0], "Cannot find initial on type") < 0)
		return -1;
	size_t len = a[0]->u.l->len;
	*ret = len ? copy_items(c, a[0], 0, len - 1) : value_list(c->a, 0, GT_ANY);
	return 0;
}

static int f_reverse(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (check_list(c, a[0], "Cannot find reverse on type") < 0)
		return -1;
	size_t len = a[0]->u.l->len;
	Value *r = value_list(c->a, len, GT_ANY);
	for (size_t i = 0; i < len; i++)
		r->u.l->items[len - 1 - i] = a[0]->u.l->items[i];
	*ret = r;
	return 0;
}

static int f_compact(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (check_list(c, a[0], "Cannot compact on type") < 0)
		return -1;
	Value *r = value_list(c->a, a[0]->u.l->len, GT_ANY);
	size_t k = 0;
	for (size_t i = 0; i < a[0]->u.l->len; i++)
		if (!value_empty(a[0]->u.l->items[i]))
			r->u.l->items[k++] = a[0]->u.l->items[i];
	r->u.l->len = r->u.l->cap = k;
	*ret = r;
	return 0;
}

static bool in_list(Value **items, size_t n, const Value *needle)
{
	for (size_t i = 0; i < n; i++)
		if (value_deep_equal(needle, items[i]))
			return true;
	return false;
}

static int f_uniq(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (check_list(c, a[0], "Cannot find uniq on type") < 0)
		return -1;
	Value *r = value_list(c->a, a[0]->u.l->len, GT_ANY);
	size_t k = 0;
	for (size_t i = 0; i < a[0]->u.l->len; i++)
		if (!in_list(r->u.l->items, k, a[0]->u.l->items[i]))
			r->u.l->items[k++] = a[0]->u.l->items[i];
	r->u.l->len = r->u.l->cap = k;
	*ret = r;
	return 0;
}

static int f_without(Ctx *c, Value **a, int n, Value **ret)
{
	if (check_list(c, a[0], "Cannot find without on type") < 0)
		return -1;
	Value *r = value_list(c->a, a[0]->u.l->len, GT_ANY);
	size_t k = 0;
	for (size_t i = 0; i < a[0]->u.l->len; i++)
		if (!in_list(a + 1, (size_t)(n - 1), a[0]->u.l->items[i]))
			r->u.l->items[k++] = a[0]->u.l->items[i];
	r->u.l->len = r->u.l->cap = k;
	*ret = r;
	return 0;
}

static int f_has(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (value_is_nil(a[1])) {
		*ret = value_false();
		return 0;
	}
	if (!is_list(a[1]))
		return fn_error(c, "Cannot find has on type %s", kind_name(a[1]));
	*ret = value_bool(in_list(a[1]->u.l->items, a[1]->u.l->len, a[0]));
	return 0;
}

static int f_slice(Ctx *c, Value **a, int n, Value **ret)
{
	if (value_is_nil(a[0]))
		return nil_type_panic(c);
	if (!is_list(a[0]))
		return fn_error(c, "list should be type of slice or array but %s", kind_name(a[0]));
	int64_t len = (int64_t)a[0]->u.l->len;
	if (len == 0) {
		*ret = value_nil();
		return 0;
	}
	int64_t start = 0, end = len;
	if (n > 1)
		start = cast_to_int64(a[1]);
	if (n > 2)
		end = cast_to_int64(a[2]);
	int64_t cap = (int64_t)a[0]->u.l->cap;
	if (start < 0 || end < start || end > cap)
		return fn_error(c, "reflect: slice index out of range");
	Value *r = value_list(c->a, (size_t)(end - start), a[0]->type);
	for (int64_t i = start; i < end; i++)
		r->u.l->items[i - start] = i < len ? a[0]->u.l->items[i] : value_nil();
	*ret = r;
	return 0;
}

static int f_concat(Ctx *c, Value **a, int n, Value **ret)
{
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		if (value_is_nil(a[i]))
			return nil_type_panic(c);
		if (!is_list(a[i]))
			return fn_error(c, "Cannot concat type %s as list", kind_name(a[i]));
		total += a[i]->u.l->len;
	}
	Value *r = value_list(c->a, total, GT_ANY);
	size_t k = 0;
	for (int i = 0; i < n; i++)
		for (size_t j = 0; j < a[i]->u.l->len; j++)
			r->u.l->items[k++] = a[i]->u.l->items[j];
	*ret = r;
	return 0;
}

const FuncDef funcs_lists[] = {
	{ "tuple", "a*", f_list, 0 },
	{ "list", "a*", f_list, 0 },
	{ "append", "aa", f_push, 0 },
	{ "push", "aa", f_push, 0 },
	{ "mustAppend", "aa", f_push, 0 },
	{ "mustPush", "aa", f_push, 0 },
	{ "prepend", "aa", f_prepend, 0 },
	{ "mustPrepend", "aa", f_prepend, 0 },
	{ "first", "a", f_first, 0 },
	{ "mustFirst", "a", f_first, 0 },
	{ "rest", "a", f_rest, 0 },
	{ "mustRest", "a", f_rest, 0 },
	{ "last", "a", f_last, 0 },
	{ "mustLast", "a", f_last, 0 },
	{ "initial", "a", f_initial, 0 },
	{ "mustInitial", "a", f_initial, 0 },
	{ "reverse", "a", f_reverse, 0 },
	{ "mustReverse", "a", f_reverse, 0 },
	{ "uniq", "a", f_uniq, 0 },
	{ "mustUniq", "a", f_uniq, 0 },
	{ "without", "aa*", f_without, 0 },
	{ "mustWithout", "aa*", f_without, 0 },
	{ "has", "aa", f_has, 0 },
	{ "mustHas", "aa", f_has, 0 },
	{ "slice", "aa*", f_slice, 0 },
	{ "mustSlice", "aa*", f_slice, 0 },
	{ "concat", "a*", f_concat, 0 },
	{ "chunk", "ia", f_chunk, 0 },
	{ "mustChunk", "ia", f_chunk, 0 },
	{ "compact", "a", f_compact, 0 },
	{ "mustCompact", "a", f_compact, 0 },
	{ NULL, NULL, NULL, 0 },
};
