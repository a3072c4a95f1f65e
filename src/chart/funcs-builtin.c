/* funcs-builtin.c - text/template's own functions (Go's funcs.go): and, or,
 * not, call, index, slice, len, print/printf/println, html, js, urlquery and
 * the comparisons eq/ne/lt/le/gt/ge with Go's rules across kinds.
 * and/or/call are special-cased in the executor (short-circuit, no funcs).
 */
#include "tmpl.h"
#include <string.h>

static Value *indirect_iface(Value *v) { return v && v->kind == VK_NIL ? NULL : v; }

static int f_not(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c; (void)n;
	*ret = value_bool(!value_truth(a[0]));
	return 0;
}

static int f_unreachable(Ctx *c, Value **a, int n, Value **ret)
{
	(void)a; (void)n; (void)ret;
	return fn_error(c, "unreachable");
}

/* indexArg: an integer index within [0, cap]. */
static int index_arg(Ctx *c, const Value *idx, int64_t cap, int64_t *ret)
{
	int64_t x;
	if (!idx)
		return fn_error(c, "cannot index slice/array with nil");
	if (idx->kind == VK_INT)
		x = idx->u.i;
	else if (idx->kind == VK_UINT)
		x = (int64_t)idx->u.u;
	else if (idx->kind == VK_OBJECT && idx->u.o.t->as_number) {
		bool ok;
		x = (int64_t)idx->u.o.t->as_number(idx, &ok);
	} else
		return fn_error(c, "cannot index slice/array with type %s", value_type_name(idx, c->a));
	if (x < 0 || x > cap)
		return fn_error(c, "index out of range: %lld", (long long)x);
	*ret = x;
	return 0;
}

static int f_index(Ctx *c, Value **a, int n, Value **ret)
{
	Value *item = indirect_iface(a[0]);
	if (!item)
		return fn_error(c, "index of untyped nil");
	for (int i = 1; i < n; i++) {
		Value *idx = indirect_iface(a[i]);
		if (item->kind == VK_NIL)
			return fn_error(c, "index of nil pointer");
		int64_t x;
		switch (item->kind) {
		case VK_LIST:
			if (index_arg(c, idx, (int64_t)item->u.l->len, &x) < 0)
				return -1;
			if (x >= (int64_t)item->u.l->len)
				return fn_error(c, "reflect: slice index out of range");
			item = item->u.l->items[x];
			break;
		case VK_STRING:
			if (index_arg(c, idx, (int64_t)item->u.s.n, &x) < 0)
				return -1;
			if (x >= (int64_t)item->u.s.n)
				return fn_error(c, "reflect: string index out of range");
			item = value_uint_typed(c->a, (unsigned char)item->u.s.p[x], GT_UINT8);
			break;
		case VK_MAP:
			if (!idx)
				return fn_error(c, "value is nil; should be of type string");
			if (idx->kind != VK_STRING)
				return fn_error(c, "value has type %s; should be string", value_type_name(idx, c->a));
			{
				Value *e = map_get(item, idx->u.s.p, idx->u.s.n);
				item = e ? e : (item->type == GT_STRING ? value_str(c->a, "") : value_nil());
			}
			break;
		default:
			return fn_error(c, "can't index item of type %s", value_type_name(item, c->a));
		}
	}
	*ret = item;
	return 0;
}

static int f_slice(Ctx *c, Value **a, int n, Value **ret)
{
	Value *item = indirect_iface(a[0]);
	if (!item)
		return fn_error(c, "slice of untyped nil");
	int nidx = n - 1;
	if (nidx > 3)
		return fn_error(c, "too many slice indexes: %d", nidx);
	int64_t cap;
	if (item->kind == VK_STRING) {
		if (nidx == 3)
			return fn_error(c, "cannot 3-index slice a string");
		cap = (int64_t)item->u.s.n;
	} else if (item->kind == VK_LIST) {
		cap = (int64_t)item->u.l->cap;
	} else
		return fn_error(c, "can't slice item of type %s", value_type_name(item, c->a));
	int64_t idx[3] = { 0, item->kind == VK_STRING ? cap : (int64_t)item->u.l->len, 0 };
	for (int i = 0; i < nidx; i++)
		if (index_arg(c, indirect_iface(a[i + 1]), cap, &idx[i]) < 0)
			return -1;
	if (idx[0] > idx[1])
		return fn_error(c, "invalid slice index: %lld > %lld", (long long)idx[0], (long long)idx[1]);
	if (nidx == 3 && idx[1] > idx[2])
		return fn_error(c, "invalid slice index: %lld > %lld", (long long)idx[1], (long long)idx[2]);
	if (item->kind == VK_STRING) {
		*ret = value_strn(c->a, item->u.s.p + idx[0], (size_t)(idx[1] - idx[0]));
		return 0;
	}
	/* elements between len and cap are never observable through our functions */
	size_t from = (size_t)idx[0], to = (size_t)idx[1];
	size_t len = item->u.l->len;
	Value *r = value_list(c->a, to - from, item->type);
	for (size_t i = from; i < to; i++)
		r->u.l->items[i - from] = i < len ? item->u.l->items[i] : value_nil();
	r->u.l->cap = (size_t)(nidx == 3 ? idx[2] : cap) - from;
	*ret = r;
	return 0;
}

static int f_len(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	Value *v = a[0];
	if (v && v->kind == VK_NIL)
		return fn_error(c, "len of nil pointer");
	if (!v)
		return fn_error(c, "reflect: call of reflect.Value.Type on zero Value");
	switch (v->kind) {
	case VK_LIST: *ret = value_int(c->a, (int64_t)v->u.l->len); return 0;
	case VK_MAP: *ret = value_int(c->a, (int64_t)v->u.m->len); return 0;
	case VK_STRING: *ret = value_int(c->a, (int64_t)v->u.s.n); return 0;
	default: return fn_error(c, "len of type %s", value_type_name(v, c->a));
	}
}

static int f_print(Ctx *c, Value **a, int n, Value **ret)
{
	ABuf b;
	abuf_init(&b, c->a);
	gofmt_sprint(&b, a, n);
	*ret = value_str_nocopy(c->a, abuf_str(&b), b.len);
	return 0;
}

static int f_println(Ctx *c, Value **a, int n, Value **ret)
{
	ABuf b;
	abuf_init(&b, c->a);
	gofmt_sprintln(&b, a, n);
	*ret = value_str_nocopy(c->a, abuf_str(&b), b.len);
	return 0;
}

static int f_printf(Ctx *c, Value **a, int n, Value **ret)
{
	ABuf b;
	abuf_init(&b, c->a);
	gofmt_sprintf(&b, a[0]->u.s.p, a[0]->u.s.n, a + 1, n - 1);
	*ret = value_str_nocopy(c->a, abuf_str(&b), b.len);
	return 0;
}

/* evalArgs: fmt.Sprint with nil printed as "<no value>". */
static const char *eval_args(Ctx *c, Value **a, int n, size_t *len)
{
	if (n == 1 && a[0] && a[0]->kind == VK_STRING) {
		*len = a[0]->u.s.n;
		return a[0]->u.s.p;
	}
	Value **b = arena_alloc(c->a, (size_t)(n ? n : 1) * sizeof(Value *));
	for (int i = 0; i < n; i++)
		b[i] = value_is_nil(a[i]) ? value_str(c->a, "<no value>") : a[i];
	ABuf s;
	abuf_init(&s, c->a);
	gofmt_sprint(&s, b, n);
	*len = s.len;
	return abuf_str(&s);
}

static int f_html(Ctx *c, Value **a, int n, Value **ret)
{
	size_t len;
	const char *s = eval_args(c, a, n, &len);
	ABuf b;
	abuf_init(&b, c->a);
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case 0: abuf_adds(&b, "\xEF\xBF\xBD"); break;
		case '"': abuf_adds(&b, "&#34;"); break;
		case '\'': abuf_adds(&b, "&#39;"); break;
		case '&': abuf_adds(&b, "&amp;"); break;
		case '<': abuf_adds(&b, "&lt;"); break;
		case '>': abuf_adds(&b, "&gt;"); break;
		default: abuf_addc(&b, s[i]);
		}
	}
	*ret = value_str_nocopy(c->a, abuf_str(&b), b.len);
	return 0;
}

static int f_js(Ctx *c, Value **a, int n, Value **ret)
{
	size_t len;
	const char *s = eval_args(c, a, n, &len);
	ABuf b;
	abuf_init(&b, c->a);
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len;) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x80) {
			switch (ch) {
			case '\\': abuf_adds(&b, "\\\\"); break;
			case '\'': abuf_adds(&b, "\\'"); break;
			case '"': abuf_adds(&b, "\\\""); break;
			case '<': abuf_adds(&b, "\\u003C"); break;
			case '>': abuf_adds(&b, "\\u003E"); break;
			case '&': abuf_adds(&b, "\\u0026"); break;
			case '=': abuf_adds(&b, "\\u003D"); break;
			default:
				if (ch < ' ') {
					abuf_adds(&b, "\\u00");
					abuf_addc(&b, hex[ch >> 4]);
					abuf_addc(&b, hex[ch & 0xF]);
				} else
					abuf_addc(&b, (char)ch);
			}
			i++;
			continue;
		}
		size_t w;
		uint32_t r = utf8_decode(s + i, len - i, &w);
		if (go_rune_is_print(r))
			abuf_add(&b, s + i, w);
		else
			abuf_addf(&b, "\\u%04X", r);
		i += w;
	}
	*ret = value_str_nocopy(c->a, abuf_str(&b), b.len);
	return 0;
}

void url_query_escape(ABuf *b, const char *s, size_t n, bool path)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~')
			abuf_addc(b, (char)ch);
		else if (ch == ' ' && !path)
			abuf_addc(b, '+');
		else {
			abuf_addc(b, '%');
			abuf_addc(b, hex[ch >> 4]);
			abuf_addc(b, hex[ch & 0xF]);
		}
	}
}

static int f_urlquery(Ctx *c, Value **a, int n, Value **ret)
{
	size_t len;
	const char *s = eval_args(c, a, n, &len);
	ABuf b;
	abuf_init(&b, c->a);
	url_query_escape(&b, s, len, false);
	*ret = value_str_nocopy(c->a, abuf_str(&b), b.len);
	return 0;
}

/* ---- comparisons ---------------------------------------------------------------------- */
typedef enum { K_INVALID, K_BOOL, K_COMPLEX, K_INT, K_FLOAT, K_STRING, K_UINT } BasicKind;

static BasicKind basic_kind(const Value *v, int64_t *i)
{
	if (!v)
		return K_INVALID;
	switch (v->kind) {
	case VK_BOOL: return K_BOOL;
	case VK_INT: *i = v->u.i; return K_INT;
	case VK_UINT: return K_UINT;
	case VK_FLOAT: return K_FLOAT;
	case VK_COMPLEX: return K_COMPLEX;
	case VK_STRING: return K_STRING;
	case VK_OBJECT:
		if (v->u.o.t->as_number) {
			bool ok;
			*i = (int64_t)v->u.o.t->as_number(v, &ok);
			return K_INT;
		}
		return K_INVALID;
	default: return K_INVALID;
	}
}

static int strcmp_n(const Value *a, const Value *b)
{
	size_t n = a->u.s.n < b->u.s.n ? a->u.s.n : b->u.s.n;
	int c = n ? memcmp(a->u.s.p, b->u.s.p, n) : 0;
	if (c)
		return c;
	return a->u.s.n < b->u.s.n ? -1 : a->u.s.n > b->u.s.n;
}

static const char *errf_vals(Ctx *c, const char *fmt, Value **args, int n)
{
	ABuf b;
	abuf_init(&b, c->a);
	gofmt_sprintf(&b, fmt, strlen(fmt), args, n);
	return abuf_str(&b);
}

static int eq_values(Ctx *c, Value *a1, Value **rest, int nrest, bool *ret)
{
	a1 = indirect_iface(a1);
	if (nrest == 0)
		return fn_error(c, "missing argument for comparison");
	int64_t i1 = 0, i2 = 0;
	BasicKind k1 = basic_kind(a1, &i1);
	for (int j = 0; j < nrest; j++) {
		Value *a = indirect_iface(rest[j]);
		BasicKind k2 = basic_kind(a, &i2);
		bool truth = false;
		if (k1 != k2) {
			if (k1 == K_INT && k2 == K_UINT)
				truth = i1 >= 0 && (uint64_t)i1 == a->u.u;
			else if (k1 == K_UINT && k2 == K_INT)
				truth = i2 >= 0 && a1->u.u == (uint64_t)i2;
			else if (a1 && a)
				return fn_error(c, "incompatible types for comparison");
		} else {
			switch (k1) {
			case K_BOOL: truth = a1->u.b == a->u.b; break;
			case K_COMPLEX: truth = a1->u.c.re == a->u.c.re && a1->u.c.im == a->u.c.im; break;
			case K_FLOAT: truth = a1->u.f == a->u.f; break;
			case K_INT: truth = i1 == i2; break;
			case K_STRING: truth = strcmp_n(a1, a) == 0; break;
			case K_UINT: truth = a1->u.u == a->u.u; break;
			default:
				if (a1 && a && a1->kind != a->kind) {
					Value *args[4] = { a1, value_str(c->a, value_type_name(a1, c->a)),
							   value_str(c->a, value_type_name(a, c->a)), a };
					return fn_error(c, "%s", errf_vals(c, "non-comparable types %s: %v, %s: %v", args, 4));
				}
				if (!a1 || !a) {
					truth = !a1 && !a;
				} else if (a->kind == VK_LIST || a->kind == VK_MAP) {
					Value *args[2] = { a, value_str(c->a, value_type_name(a, c->a)) };
					return fn_error(c, "%s", errf_vals(c, "non-comparable type %s: %v", args, 2));
				} else {
					truth = value_deep_equal(a1, a);
				}
			}
		}
		if (truth) {
			*ret = true;
			return 0;
		}
	}
	*ret = false;
	return 0;
}

static int lt_values(Ctx *c, Value *a1, Value *a2, bool *ret)
{
	a1 = indirect_iface(a1);
	a2 = indirect_iface(a2);
	int64_t i1 = 0, i2 = 0;
	BasicKind k1 = basic_kind(a1, &i1);
	if (k1 == K_INVALID)
		return fn_error(c, "invalid type for comparison");
	BasicKind k2 = basic_kind(a2, &i2);
	if (k2 == K_INVALID)
		return fn_error(c, "invalid type for comparison");
	if (k1 != k2) {
		if (k1 == K_INT && k2 == K_UINT)
			*ret = i1 < 0 || (uint64_t)i1 < a2->u.u;
		else if (k1 == K_UINT && k2 == K_INT)
			*ret = i2 >= 0 && a1->u.u < (uint64_t)i2;
		else
			return fn_error(c, "incompatible types for comparison");
		return 0;
	}
	switch (k1) {
	case K_BOOL: case K_COMPLEX: return fn_error(c, "invalid type for comparison");
	case K_FLOAT: *ret = a1->u.f < a2->u.f; break;
	case K_INT: *ret = i1 < i2; break;
	case K_STRING: *ret = strcmp_n(a1, a2) < 0; break;
	case K_UINT: *ret = a1->u.u < a2->u.u; break;
	default: return fn_error(c, "invalid type for comparison");
	}
	return 0;
}

static int f_eq(Ctx *c, Value **a, int n, Value **ret)
{
	bool t;
	if (eq_values(c, a[0], a + 1, n - 1, &t) < 0)
		return -1;
	*ret = value_bool(t);
	return 0;
}

static int f_ne(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	bool t;
	if (eq_values(c, a[0], a + 1, 1, &t) < 0)
		return -1;
	*ret = value_bool(!t);
	return 0;
}

static int f_lt(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	bool t;
	if (lt_values(c, a[0], a[1], &t) < 0)
		return -1;
	*ret = value_bool(t);
	return 0;
}

static int f_le(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	bool t;
	if (lt_values(c, a[0], a[1], &t) < 0)
		return -1;
	if (!t && eq_values(c, a[0], a + 1, 1, &t) < 0)
		return -1;
	*ret = value_bool(t);
	return 0;
}

static int f_gt(Ctx *c, Value **a, int n, Value **ret)
{
	Value *t;
	if (f_le(c, a, n, &t) < 0)
		return -1;
	*ret = value_bool(!t->u.b);
	return 0;
}

static int f_ge(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	bool t;
	if (lt_values(c, a[0], a[1], &t) < 0)
		return -1;
	*ret = value_bool(!t);
	return 0;
}

const FuncDef funcs_builtin[] = {
	{ "and", "vv*", f_unreachable, FN_AND | FN_BUILTIN },
	{ "call", "vv*", f_unreachable, FN_CALL | FN_BUILTIN },
	{ "html", "a*", f_html, FN_BUILTIN },
	{ "index", "vv*", f_index, FN_BUILTIN },
	{ "slice", "vv*", f_slice, FN_BUILTIN },
	{ "js", "a*", f_js, FN_BUILTIN },
	{ "len", "v", f_len, FN_BUILTIN },
	{ "not", "v", f_not, FN_BUILTIN },
	{ "or", "vv*", f_unreachable, FN_OR | FN_BUILTIN },
	{ "print", "a*", f_print, FN_BUILTIN },
	{ "printf", "sa*", f_printf, FN_BUILTIN },
	{ "println", "a*", f_println, FN_BUILTIN },
	{ "urlquery", "a*", f_urlquery, FN_BUILTIN },
	{ "eq", "vv*", f_eq, FN_BUILTIN },
	{ "ge", "vv", f_ge, FN_BUILTIN },
	{ "gt", "vv", f_gt, FN_BUILTIN },
	{ "le", "vv", f_le, FN_BUILTIN },
	{ "lt", "vv", f_lt, FN_BUILTIN },
	{ "ne", "vv", f_ne, FN_BUILTIN },
	{ NULL, NULL, NULL, 0 },
};
