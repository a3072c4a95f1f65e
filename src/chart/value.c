/* value.c - arena allocator and the Go-like value model (see value.h).
 *
 * The arena is a list of chunks; big requests get their own chunk.  Maps are
 * sorted arrays of (key, value): lookups are binary searches, iteration is
 * already in Go's sorted-key order, and growth reallocates inside the arena
 * (the old array becomes garbage until the arena dies).
 */
#include "value.h"
#include "../base/cleanup.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Chunk {
	struct Chunk *next;
	size_t used, size;
	max_align_t data[];
} Chunk;

typedef struct Deferred {
	struct Deferred *next;
	void (*fn)(void *);
	void *p;
} Deferred;

struct Arena {
	Chunk *head;
	Deferred *deferred;
	size_t total, limit;
	void (*on_limit)(void *ctx);
	void *ctx;
};

#define CHUNK_SIZE (64u << 10)

Arena *arena_new(size_t limit)
{
	Arena *a = xcalloc(1, sizeof(*a));
	a->limit = limit;
	return a;
}

void arena_free(Arena *a)
{
	if (!a)
		return;
	for (Deferred *d = a->deferred; d; d = d->next)
		d->fn(d->p);
	Chunk *c = a->head;
	while (c) {
		Chunk *n = c->next;
		free(c);
		c = n;
	}
	free(a);
}

void arena_set_limit_handler(Arena *a, void (*on_limit)(void *ctx), void *ctx)
{
	a->on_limit = on_limit;
	a->ctx = ctx;
}

size_t arena_used(const Arena *a) { return a->total; }

void arena_defer(Arena *a, void (*fn)(void *), void *p)
{
	size_t saved = a->limit;
	a->limit = 0;   /* bookkeeping must not trip the limit handler */
	Deferred *d = arena_alloc(a, sizeof(*d));
	a->limit = saved;
	d->fn = fn;
	d->p = p;
	d->next = a->deferred;
	a->deferred = d;
}

void arena_set_limit(Arena *a, size_t limit) { a->limit = limit; }

void *arena_alloc(Arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	if (a->limit && (n > a->limit || a->total > a->limit - n)) {
		if (a->on_limit)
			a->on_limit(a->ctx);
		abort();
	}
	Chunk *c = a->head;
	if (!c || c->size - c->used < n) {
		size_t sz = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;
		Chunk *nc = xmalloc(sizeof(Chunk) + sz);
		nc->used = 0;
		nc->size = sz;
		if (sz == n && c) {          /* big block: keep the current chunk on top */
			nc->next = c->next;
			c->next = nc;
		} else {
			nc->next = c;
			a->head = nc;
		}
		c = nc;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	a->total += n;
	memset(p, 0, n);
	return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (n)
		memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_printf(Arena *a, const char *fmt, ...)
{
	ABuf b;
	abuf_init(&b, a);
	va_list ap;
	va_start(ap, fmt);
	char tmp[256];
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	if (n >= 0 && (size_t)n < sizeof(tmp)) {
		abuf_add(&b, tmp, (size_t)n);
	} else if (n >= 0) {
		char *p = arena_alloc(a, (size_t)n + 1);
		vsnprintf(p, (size_t)n + 1, fmt, ap2);
		va_end(ap2);
		va_end(ap);
		return p;
	}
	va_end(ap2);
	va_end(ap);
	return (char *)abuf_str(&b);
}

/* ---- ABuf ----------------------------------------------------------------- */
void abuf_init(ABuf *b, Arena *a)
{
	b->a = a;
	b->p = NULL;
	b->len = b->cap = 0;
}

static void abuf_grow(ABuf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t nc = b->cap ? b->cap * 2 : 64;
	while (nc < b->len + extra + 1)
		nc *= 2;
	char *np = arena_alloc(b->a, nc);
	if (b->len)
		memcpy(np, b->p, b->len);
	b->p = np;
	b->cap = nc;
}

void abuf_add(ABuf *b, const void *d, size_t n)
{
	abuf_grow(b, n);
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = 0;
}

void abuf_adds(ABuf *b, const char *s) { abuf_add(b, s, strlen(s)); }

void abuf_addc(ABuf *b, char c) { abuf_add(b, &c, 1); }

void abuf_addf(ABuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		abuf_add(b, tmp, (size_t)n);
		return;
	}
	abuf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void abuf_rune(ABuf *b, uint32_t r)
{
	char t[4];
	if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		r = 0xFFFD;
	if (r < 0x80) {
		t[0] = (char)r;
		abuf_add(b, t, 1);
	} else if (r < 0x800) {
		t[0] = (char)(0xC0 | (r >> 6));
		t[1] = (char)(0x80 | (r & 0x3F));
		abuf_add(b, t, 2);
	} else if (r < 0x10000) {
		t[0] = (char)(0xE0 | (r >> 12));
		t[1] = (char)(0x80 | ((r >> 6) & 0x3F));
		t[2] = (char)(0x80 | (r & 0x3F));
		abuf_add(b, t, 3);
	} else {
		t[0] = (char)(0xF0 | (r >> 18));
		t[1] = (char)(0x80 | ((r >> 12) & 0x3F));
		t[2] = (char)(0x80 | ((r >> 6) & 0x3F));
		t[3] = (char)(0x80 | (r & 0x3F));
		abuf_add(b, t, 4);
	}
}

const char *abuf_str(ABuf *b)
{
	if (!b->p)
		abuf_grow(b, 0);
	b->p[b->len] = 0;
	return b->p;
}

/* ---- constructors ------------------------------------------------------------ */
static Value v_nil = { .kind = VK_NIL };
static Value v_true = { .kind = VK_BOOL, .type = GT_BOOL, .u.b = true };
static Value v_false = { .kind = VK_BOOL, .type = GT_BOOL, .u.b = false };

Value *value_nil(void) { return &v_nil; }
Value *value_true(void) { return &v_true; }
Value *value_false(void) { return &v_false; }
Value *value_bool(bool b) { return b ? &v_true : &v_false; }

static Value *vnew(Arena *a, VKind k, GoType t)
{
	Value *v = arena_alloc(a, sizeof(*v));
	v->kind = (uint8_t)k;
	v->type = (uint8_t)t;
	return v;
}

Value *value_int(Arena *a, int64_t i) { return value_int_typed(a, i, GT_INT); }

Value *value_int_typed(Arena *a, int64_t i, GoType t)
{
	Value *v = vnew(a, VK_INT, t);
	v->u.i = i;
	return v;
}

Value *value_uint_typed(Arena *a, uint64_t u, GoType t)
{
	Value *v = vnew(a, VK_UINT, t);
	v->u.u = u;
	return v;
}

Value *value_float(Arena *a, double f)
{
	Value *v = vnew(a, VK_FLOAT, GT_FLOAT64);
	v->u.f = f;
	return v;
}

Value *value_complex(Arena *a, double re, double im)
{
	Value *v = vnew(a, VK_COMPLEX, GT_COMPLEX128);
	v->u.c.re = re;
	v->u.c.im = im;
	return v;
}

Value *value_strn(Arena *a, const char *s, size_t n)
{
	Value *v = vnew(a, VK_STRING, GT_STRING);
	v->u.s.p = arena_strndup(a, s, n);
	v->u.s.n = n;
	return v;
}

Value *value_str(Arena *a, const char *s) { return value_strn(a, s, strlen(s)); }

Value *value_str_nocopy(Arena *a, const char *s, size_t n)
{
	Value *v = vnew(a, VK_STRING, GT_STRING);
	v->u.s.p = s;
	v->u.s.n = n;
	return v;
}

Value *value_list(Arena *a, size_t n, GoType elem)
{
	Value *v = vnew(a, VK_LIST, elem);
	v->u.l = arena_alloc(a, sizeof(VList));
	v->u.l->len = n;
	v->u.l->cap = n;
	v->u.l->items = arena_alloc(a, (n ? n : 1) * sizeof(Value *));
	for (size_t i = 0; i < n; i++)
		v->u.l->items[i] = &v_nil;
	return v;
}

Value *value_list_from(Arena *a, Value **items, size_t n, GoType elem)
{
	Value *v = value_list(a, n, elem);
	for (size_t i = 0; i < n; i++)
		v->u.l->items[i] = items[i] ? items[i] : &v_nil;
	return v;
}

Value *value_map(Arena *a, GoType elem)
{
	Value *v = vnew(a, VK_MAP, elem);
	v->u.m = arena_alloc(a, sizeof(VMap));
	v->u.m->arena = a;
	return v;
}

Value *value_object(Arena *a, const ObjType *t, void *p)
{
	Value *v = vnew(a, VK_OBJECT, GT_ANY);
	v->u.o.t = t;
	v->u.o.p = p;
	return v;
}

/* ---- maps ------------------------------------------------------------------------ */
static int keycmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

/* Index of key, or -(insertion point)-1. */
static ssize_t map_find(const VMap *m, const char *key, size_t klen)
{
	size_t lo = 0, hi = m->len;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = keycmp(m->e[mid].key, m->e[mid].klen, key, klen);
		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(ssize_t)lo - 1;
}

Value *map_get(const Value *m, const char *key, size_t klen)
{
	if (!m || m->kind != VK_MAP)
		return NULL;
	ssize_t i = map_find(m->u.m, key, klen);
	return i >= 0 ? m->u.m->e[i].val : NULL;
}

void map_set(Value *mv, const char *key, size_t klen, Value *v)
{
	VMap *m = mv->u.m;
	if (!v)
		v = &v_nil;
	ssize_t i = map_find(m, key, klen);
	if (i >= 0) {
		m->e[i].val = v;
		return;
	}
	size_t at = (size_t)(-i - 1);
	if (m->len == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 8;
		VMapEntry *ne = arena_alloc(m->arena, nc * sizeof(*ne));
		if (m->len)
			memcpy(ne, m->e, m->len * sizeof(*ne));
		m->e = ne;
		m->cap = nc;
	}
	memmove(m->e + at + 1, m->e + at, (m->len - at) * sizeof(*m->e));
	m->e[at].key = arena_strndup(m->arena, key, klen);
	m->e[at].klen = klen;
	m->e[at].val = v;
	m->len++;
}

bool map_del(Value *mv, const char *key, size_t klen)
{
	VMap *m = mv->u.m;
	ssize_t i = map_find(m, key, klen);
	if (i < 0)
		return false;
	memmove(m->e + i, m->e + i + 1, (m->len - (size_t)i - 1) * sizeof(*m->e));
	m->len--;
	return true;
}

/* ---- type names ------------------------------------------------------------------- */
static const char *scalar_type_name(GoType t)
{
	switch (t) {
	case GT_INT: return "int";
	case GT_INT64: return "int64";
	case GT_INT32: return "int32";
	case GT_INT8: return "int8";
	case GT_INT16: return "int16";
	case GT_UINT: return "uint";
	case GT_UINT8: return "uint8";
	case GT_UINT16: return "uint16";
	case GT_UINT32: return "uint32";
	case GT_UINT64: return "uint64";
	case GT_FLOAT64: return "float64";
	case GT_FLOAT32: return "float32";
	case GT_COMPLEX128: return "complex128";
	case GT_BOOL: return "bool";
	case GT_STRING: return "string";
	case GT_LIST_ANY: return "[]interface {}";
	case GT_ANY: return "interface {}";
	}
	return "interface {}";
}

const char *value_type_name(const Value *v, Arena *a)
{
	if (!v || v->kind == VK_NIL)
		return "<nil>";
	switch (v->kind) {
	case VK_LIST:
		switch (v->type) {
		case GT_ANY: return "[]interface {}";
		case GT_STRING: return "[]string";
		case GT_INT: return "[]int";
		case GT_UINT8: return "[]uint8";
		case GT_LIST_ANY: return "[][]interface {}";
		default: return arena_printf(a, "[]%s", scalar_type_name(v->type));
		}
	case VK_MAP:
		if (v->u.m->type_name)
			return v->u.m->type_name;
		return v->type == GT_ANY ? "map[string]interface {}"
		                         : arena_printf(a, "map[string]%s", scalar_type_name(v->type));
	case VK_OBJECT:
		return v->u.o.t->type_name;
	default:
		return scalar_type_name(v->type);
	}
}

const char *value_kind_name(const Value *v)
{
	if (!v || v->kind == VK_NIL)
		return "invalid";
	switch (v->kind) {
	case VK_BOOL: return "bool";
	case VK_INT:
	case VK_UINT:
	case VK_FLOAT:
	case VK_COMPLEX:
		return scalar_type_name(v->type);
	case VK_STRING: return "string";
	case VK_LIST: return "slice";
	case VK_MAP: return "map";
	case VK_OBJECT: return v->u.o.t->kind_name;
	}
	return "invalid";
}

bool value_truth(const Value *v)
{
	if (!v)
		return false;
	switch (v->kind) {
	case VK_NIL: return false;
	case VK_BOOL: return v->u.b;
	case VK_INT: return v->u.i != 0;
	case VK_UINT: return v->u.u != 0;
	case VK_FLOAT: return v->u.f != 0;
	case VK_COMPLEX: return v->u.c.re != 0 || v->u.c.im != 0;
	case VK_STRING: return v->u.s.n > 0;
	case VK_LIST: return v->u.l->len > 0;
	case VK_MAP: return v->u.m->len > 0;
	case VK_OBJECT: {
		bool ok = false;
		double d = v->u.o.t->as_number ? v->u.o.t->as_number(v, &ok) : 0;
		return ok ? d != 0 : true;
	}
	}
	return false;
}

bool value_empty(const Value *v)
{
	return !value_truth(v);
}

bool value_deep_equal(const Value *a, const Value *b)
{
	if (value_is_nil(a) || value_is_nil(b))
		return value_is_nil(a) && value_is_nil(b);
	if (a->kind != b->kind || a->type != b->type)
		return false;
	switch (a->kind) {
	case VK_BOOL: return a->u.b == b->u.b;
	case VK_INT: return a->u.i == b->u.i;
	case VK_UINT: return a->u.u == b->u.u;
	case VK_FLOAT: return a->u.f == b->u.f;
	case VK_COMPLEX: return a->u.c.re == b->u.c.re && a->u.c.im == b->u.c.im;
	case VK_STRING: return a->u.s.n == b->u.s.n && !memcmp(a->u.s.p, b->u.s.p, a->u.s.n);
	case VK_LIST:
		if (a->u.l->len != b->u.l->len)
			return false;
		for (size_t i = 0; i < a->u.l->len; i++)
			if (!value_deep_equal(a->u.l->items[i], b->u.l->items[i]))
				return false;
		return true;
	case VK_MAP:
		if (a->u.m->len != b->u.m->len)
			return false;
		for (size_t i = 0; i < a->u.m->len; i++) {
			const VMapEntry *ea = &a->u.m->e[i], *eb = &b->u.m->e[i];
			if (keycmp(ea->key, ea->klen, eb->key, eb->klen) || !value_deep_equal(ea->val, eb->val))
				return false;
		}
		return true;
	case VK_OBJECT:
		if (a->u.o.t != b->u.o.t)
			return false;
		return a->u.o.t->equal ? a->u.o.t->equal(a, b) : a->u.o.p == b->u.o.p;
	}
	return false;
}

Value *value_deep_copy(Arena *a, const Value *v)
{
	if (!v)
		return NULL;
	switch (v->kind) {
	case VK_LIST: {
		Value *n = value_list(a, v->u.l->len, v->type);
		for (size_t i = 0; i < v->u.l->len; i++)
			n->u.l->items[i] = value_deep_copy(a, v->u.l->items[i]);
		return n;
	}
	case VK_MAP: {
		Value *n = value_map(a, v->type);
		VMap *m = n->u.m;
		m->cap = m->len = v->u.m->len;
		m->e = arena_alloc(a, (m->cap ? m->cap : 1) * sizeof(VMapEntry));
		for (size_t i = 0; i < m->len; i++) {
			m->e[i] = v->u.m->e[i];
			m->e[i].val = value_deep_copy(a, v->u.m->e[i].val);
		}
		return n;
	}
	default:
		return (Value *)v;   /* scalars and objects are immutable */
	}
}

/* ---- JSON --------------------------------------------------------------------------- */
/* cap() of a []interface{} that encoding/json built by appending n elements:
 * Go's growslice doubling (then 1.25x past 256) rounded up to malloc size
 * classes of 16-byte elements.  Visible through `slice`'s bounds checks. */
static size_t go_append_cap(size_t n)
{
	static const unsigned classes[] = { 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224,
		240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280,
		1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912,
		8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576,
		27264, 28672, 32768 };
	size_t cap = 0;
	while (cap < n) {
		size_t need = cap + 1, nc = cap, dbl = 2 * cap;
		if (need > dbl)
			nc = need;
		else if (cap < 256)
			nc = dbl;
		else
			while (nc < need)
				nc += (nc + 3 * 256) >> 2;
		size_t bytes = nc * 16, rounded = 0;
		for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
			if (classes[i] >= bytes) {
				rounded = classes[i];
				break;
			}
		if (!rounded)
			rounded = (bytes + 8191) & ~(size_t)8191;
		cap = rounded / 16;
	}
	return cap;
}

Value *value_from_json(Arena *a, const json_t *j, JsonIntMode mode)
{
	if (!j)
		return value_nil();
	switch (json_typeof(j)) {
	case JSON_NULL: return value_nil();
	case JSON_TRUE: return value_true();
	case JSON_FALSE: return value_false();
	case JSON_INTEGER:
		switch (mode) {
		case JSON_INT_AS_INT64: return value_int_typed(a, json_integer_value(j), GT_INT64);
		case JSON_INT_AS_INT: return value_int(a, json_integer_value(j));
		case JSON_INT_AS_FLOAT: return value_float(a, (double)json_integer_value(j));
		}
		return value_nil();
	case JSON_REAL: return value_float(a, json_real_value(j));
	case JSON_STRING: return value_strn(a, json_string_value(j), json_string_length(j));
	case JSON_ARRAY: {
		size_t n = json_array_size(j);
		Value *l = value_list(a, n, GT_ANY);
		for (size_t i = 0; i < n; i++)
			l->u.l->items[i] = value_from_json(a, json_array_get(j, i), mode);
		l->u.l->cap = go_append_cap(n);
		return l;
	}
	case JSON_OBJECT: {
		Value *m = value_map(a, GT_ANY);
		const char *k;
		size_t klen;
		json_t *x;
		json_object_keylen_foreach((json_t *)j, k, klen, x)
			map_set(m, k, klen, value_from_json(a, x, mode));
		return m;
	}
	}
	return value_nil();
}

static json_t *float_to_json(double f)
{
	if (f == floor(f) && fabs(f) < 1e21 && fabs(f) < 9.2e18)
		return json_integer((json_int_t)f);
	return json_real(f);
}

static json_t *to_json(const Value *v, bool keep_floats);

json_t *value_to_json(const Value *v) { return to_json(v, false); }
json_t *value_to_json_ex(const Value *v, bool keep_floats) { return to_json(v, keep_floats); }

static json_t *to_json(const Value *v, bool keep_floats)
{
	if (!v)
		return json_null();
	switch (v->kind) {
	case VK_NIL: return json_null();
	case VK_BOOL: return json_boolean(v->u.b);
	case VK_INT: return json_integer(v->u.i);
	case VK_UINT: return v->u.u > INT64_MAX ? json_real((double)v->u.u) : json_integer((json_int_t)v->u.u);
	case VK_FLOAT: return keep_floats ? json_real(v->u.f) : float_to_json(v->u.f);
	case VK_COMPLEX: return json_null();
	case VK_STRING: return json_stringn_nocheck(v->u.s.p, v->u.s.n);
	case VK_LIST: {
		json_t *arr = json_array();
		for (size_t i = 0; i < v->u.l->len; i++)
			json_array_append_new(arr, to_json(v->u.l->items[i], keep_floats));
		return arr;
	}
	case VK_MAP: {
		json_t *o = json_object();
		for (size_t i = 0; i < v->u.m->len; i++)
			json_object_setn_new_nocheck(o, v->u.m->e[i].key, v->u.m->e[i].klen,
						     to_json(v->u.m->e[i].val, keep_floats));
		return o;
	}
	case VK_OBJECT: {
		if (v->u.o.t->as_number) {
			bool ok = false;
			double d = v->u.o.t->as_number(v, &ok);
			if (ok)
				return float_to_json(d);
		}
		Arena *a = arena_new(0);
		ABuf b;
		abuf_init(&b, a);
		if (v->u.o.t->json_text)
			v->u.o.t->json_text(v, &b);
		else if (v->u.o.t->str)
			v->u.o.t->str(v, &b);
		json_t *s = json_stringn_nocheck(abuf_str(&b), b.len);
		arena_free(a);
		return s;
	}
	}
	return json_null();
}
