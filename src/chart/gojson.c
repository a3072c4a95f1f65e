/* gojson.c - Go's encoding/json for template values: Marshal/MarshalIndent
 * (sorted keys, HTML-safe escaping unless disabled, Go's float format) and
 * Unmarshal into interface{} (all numbers float64) with Go's error texts.
 * toJson/fromJson and friends, and the JSON step of toYaml, go through here.
 */
#include "tmpl.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void jstr(ABuf *b, const char *s, size_t n, bool html)
{
	static const char hex[] = "0123456789abcdef";
	abuf_addc(b, '"');
	size_t i = 0, start = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			if (c >= 0x20 && c != '"' && c != '\\' && (!html || (c != '<' && c != '>' && c != '&'))) {
				i++;
				continue;
			}
			abuf_add(b, s + start, i - start);
			switch (c) {
			case '\\': case '"': abuf_addc(b, '\\'); abuf_addc(b, (char)c); break;
			case '\b': abuf_adds(b, "\\b"); break;
			case '\f': abuf_adds(b, "\\f"); break;
			case '\n': abuf_adds(b, "\\n"); break;
			case '\r': abuf_adds(b, "\\r"); break;
			case '\t': abuf_adds(b, "\\t"); break;
			default:
				abuf_adds(b, "\\u00");
				abuf_addc(b, hex[c >> 4]);
				abuf_addc(b, hex[c & 0xF]);
			}
			i++;
			start = i;
			continue;
		}
		size_t w;
		uint32_t r = utf8_decode(s + i, n - i, &w);
		if (r == 0xFFFD && w == 1) {
			abuf_add(b, s + start, i - start);
			abuf_adds(b, "\\ufffd");
			i += w;
			start = i;
			continue;
		}
		if (r == 0x2028 || r == 0x2029) {
			abuf_add(b, s + start, i - start);
			abuf_adds(b, r == 0x2028 ? "\\u2028" : "\\u2029");
			i += w;
			start = i;
			continue;
		}
		i += w;
	}
	abuf_add(b, s + start, n - start);
	abuf_addc(b, '"');
}

static void json_float(ABuf *b, double f)
{
	double a = fabs(f);
	char fmt = 'f';
	if (a != 0 && (a < 1e-6 || a >= 1e21))
		fmt = 'e';
	size_t at = b->len;
	go_format_float(b, f, fmt, -1);
	if (fmt == 'e') {
		size_t n = b->len - at;
		char *p = b->p + at;
		if (n >= 4 && p[n - 4] == 'e' && p[n - 3] == '-' && p[n - 2] == '0') {
			p[n - 2] = p[n - 1];
			b->len--;
			b->p[b->len] = 0;
		}
	}
}

static void newline(ABuf *b, const char *indent, int depth)
{
	abuf_addc(b, '\n');
	for (int i = 0; i < depth; i++)
		abuf_adds(b, indent);
}

/* Returns false (leaving partial output) on an unsupported value. */
static bool encode(ABuf *b, const Value *v, bool html, const char *indent, int depth)
{
	if (depth > 10000)
		return false;
	if (!v || v->kind == VK_NIL) {
		abuf_adds(b, "null");
		return true;
	}
	switch (v->kind) {
	case VK_BOOL: abuf_adds(b, v->u.b ? "true" : "false"); return true;
	case VK_INT: abuf_addf(b, "%lld", (long long)v->u.i); return true;
	case VK_UINT: abuf_addf(b, "%llu", (unsigned long long)v->u.u); return true;
	case VK_FLOAT:
		if (isnan(v->u.f) || isinf(v->u.f))
			return false;
		json_float(b, v->u.f);
		return true;
	case VK_COMPLEX: return false;
	case VK_STRING: jstr(b, v->u.s.p, v->u.s.n, html); return true;
	case VK_LIST:
		if (v->type == GT_UINT8) {   /* []byte is base64 */
			static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			abuf_addc(b, '"');
			size_t n = v->u.l->len;
			for (size_t i = 0; i < n; i += 3) {
				uint32_t x = (uint32_t)v->u.l->items[i]->u.u << 16;
				if (i + 1 < n) x |= (uint32_t)v->u.l->items[i + 1]->u.u << 8;
				if (i + 2 < n) x |= (uint32_t)v->u.l->items[i + 2]->u.u;
				abuf_addc(b, tbl[(x >> 18) & 63]);
				abuf_addc(b, tbl[(x >> 12) & 63]);
				abuf_addc(b, i + 1 < n ? tbl[(x >> 6) & 63] : '=');
				abuf_addc(b, i + 2 < n ? tbl[x & 63] : '=');
			}
			abuf_addc(b, '"');
			return true;
		}
		abuf_addc(b, '[');
		for (size_t i = 0; i < v->u.l->len; i++) {
			if (i)
				abuf_addc(b, ',');
			if (indent)
				newline(b, indent, depth + 1);
			if (!encode(b, v->u.l->items[i], html, indent, depth + 1))
				return false;
		}
		if (indent && v->u.l->len)
			newline(b, indent, depth);
		abuf_addc(b, ']');
		return true;
	case VK_MAP:
		abuf_addc(b, '{');
		for (size_t i = 0; i < v->u.m->len; i++) {
			if (i)
				abuf_addc(b, ',');
			if (indent)
				newline(b, indent, depth + 1);
			jstr(b, v->u.m->e[i].key, v->u.m->e[i].klen, html);
			abuf_addc(b, ':');
			if (indent)
				abuf_addc(b, ' ');
			if (!encode(b, v->u.m->e[i].val, html, indent, depth + 1))
				return false;
		}
		if (indent && v->u.m->len)
			newline(b, indent, depth);
		abuf_addc(b, '}');
		return true;
	case VK_OBJECT: {
		const ObjType *t = v->u.o.t;
		if (t->as_number) {
			bool ok;
			abuf_addf(b, "%lld", (long long)t->as_number(v, &ok));
			return true;
		}
		if (t->fields) {
			const char *const *names;
			Value **vals;
			size_t n = t->fields(v, &names, &vals, b->a);
			abuf_addc(b, '{');
			for (size_t i = 0; i < n; i++) {
				if (i)
					abuf_addc(b, ',');
				if (indent)
					newline(b, indent, depth + 1);
				jstr(b, names[i], strlen(names[i]), html);
				abuf_addc(b, ':');
				if (indent)
					abuf_addc(b, ' ');
				if (!encode(b, vals[i], html, indent, depth + 1))
					return false;
			}
			if (indent && n)
				newline(b, indent, depth);
			abuf_addc(b, '}');
			return true;
		}
		ABuf s;
		abuf_init(&s, b->a);
		if (t->json_text)
			t->json_text(v, &s);
		else if (t->str)
			t->str(v, &s);
		jstr(b, s.p ? s.p : "", s.len, html);
		return true;
	}
	}
	return false;
}

bool gojson_encode(ABuf *out, const Value *v, bool escape_html, const char *indent, int depth)
{
	ABuf tmp;
	abuf_init(&tmp, out->a);
	if (!encode(&tmp, v, escape_html, indent, depth))
		return false;
	abuf_add(out, tmp.p ? tmp.p : "", tmp.len);
	return true;
}

/* The error json.Marshal would give for v (assuming gojson_encode failed). */
const char *gojson_error(Arena *a, const Value *v)
{
	if (!v)
		return "json: unsupported value";
	switch (v->kind) {
	case VK_FLOAT: {
		ABuf b;
		abuf_init(&b, a);
		abuf_adds(&b, "json: unsupported value: ");
		go_format_float(&b, v->u.f, 'g', -1);
		return abuf_str(&b);
	}
	case VK_COMPLEX: return "json: unsupported type: complex128";
	case VK_LIST:
		for (size_t i = 0; i < v->u.l->len; i++) {
			ABuf t;
			abuf_init(&t, a);
			if (!encode(&t, v->u.l->items[i], true, NULL, 0))
				return gojson_error(a, v->u.l->items[i]);
		}
		break;
	case VK_MAP:
		for (size_t i = 0; i < v->u.m->len; i++) {
			ABuf t;
			abuf_init(&t, a);
			if (!encode(&t, v->u.m->e[i].val, true, NULL, 0))
				return gojson_error(a, v->u.m->e[i].val);
		}
		break;
	default:
		break;
	}
	return "json: unsupported value";
}

/* ---- decoding ------------------------------------------------------------------------- */
typedef struct Dec {
	Arena *a;
	const char *s;
	size_t n, i;
	const char *err;
	int depth;
	int int_mode;        /* JsonIntMode for numbers without fraction or exponent */
} Dec;

static const char *quote_char(Dec *d, unsigned char c)
{
	if (c == '\'')
		return "'\\''";
	if (c == '"')
		return "'\"'";
	if (c < 0x20 || c >= 0x7F) {
		if (c < 0x80) {
			ABuf b;
			abuf_init(&b, d->a);
			go_quote(&b, (const char *)&c, 1, false);
			/* strconv.Quote gives "\x01"; Go prints the rune quoted with ' */
			b.p[0] = '\'';
			b.p[b.len - 1] = '\'';
			return abuf_str(&b);
		}
		size_t w;
		uint32_t r = utf8_decode(d->s + d->i, d->n - d->i, &w);
		ABuf b;
		abuf_init(&b, d->a);
		go_quote_rune(&b, r, false);
		return abuf_str(&b);
	}
	return arena_printf(d->a, "'%c'", c);
}

static void skip_ws(Dec *d)
{
	while (d->i < d->n && (d->s[d->i] == ' ' || d->s[d->i] == '\t' || d->s[d->i] == '\n' || d->s[d->i] == '\r'))
		d->i++;
}

static void fail(Dec *d, const char *ctx)
{
	if (d->err)
		return;
	if (d->i >= d->n)
		d->err = "unexpected end of JSON input";
	else
		d->err = arena_printf(d->a, "invalid character %s %s", quote_char(d, (unsigned char)d->s[d->i]), ctx);
}

static Value *parse_value(Dec *d);

static int hex4(const char *s)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

static Value *parse_string(Dec *d)
{
	d->i++;  /* opening quote */
	ABuf b;
	abuf_init(&b, d->a);
	while (d->i < d->n) {
		unsigned char c = (unsigned char)d->s[d->i];
		if (c == '"') {
			d->i++;
			return value_str_nocopy(d->a, abuf_str(&b), b.len);
		}
		if (c < 0x20) {
			fail(d, "in string literal");
			return NULL;
		}
		if (c == '\\') {
			d->i++;
			if (d->i >= d->n)
				break;
			char e = d->s[d->i];
			switch (e) {
			case '"': case '\\': case '/': abuf_addc(&b, e); d->i++; break;
			case 'b': abuf_addc(&b, '\b'); d->i++; break;
			case 'f': abuf_addc(&b, '\f'); d->i++; break;
			case 'n': abuf_addc(&b, '\n'); d->i++; break;
			case 'r': abuf_addc(&b, '\r'); d->i++; break;
			case 't': abuf_addc(&b, '\t'); d->i++; break;
			case 'u': {
				if (d->i + 5 > d->n) {
					d->i = d->n;
					fail(d, "");
					return NULL;
				}
				int r = hex4(d->s + d->i + 1);
				if (r < 0) {
					size_t k = d->i + 1;
					while (k < d->i + 5 && hex4("0000") == 0 && ((d->s[k] >= '0' && d->s[k] <= '9') || ((d->s[k] | 0x20) >= 'a' && (d->s[k] | 0x20) <= 'f')))
						k++;
					d->i = k;
					fail(d, "in \\u hexadecimal character escape");
					return NULL;
				}
				d->i += 5;
				uint32_t rr = (uint32_t)r;
				if (rr >= 0xD800 && rr < 0xDC00) {
					if (d->i + 6 <= d->n && d->s[d->i] == '\\' && d->s[d->i + 1] == 'u') {
						int r2 = hex4(d->s + d->i + 2);
						if (r2 >= 0xDC00 && r2 < 0xE000) {
							rr = 0x10000 + ((rr - 0xD800) << 10) + ((uint32_t)r2 - 0xDC00);
							d->i += 6;
						} else
							rr = 0xFFFD;
					} else
						rr = 0xFFFD;
				} else if (rr >= 0xDC00 && rr < 0xE000)
					rr = 0xFFFD;
				abuf_rune(&b, rr);
				break;
			}
			default:
				fail(d, "in string escape code");
				return NULL;
			}
			continue;
		}
		if (c >= 0x80) {
			size_t w;
			uint32_t r = utf8_decode(d->s + d->i, d->n - d->i, &w);
			if (r == 0xFFFD && w == 1)
				abuf_adds(&b, "\xEF\xBF\xBD");
			else
				abuf_add(&b, d->s + d->i, w);
			d->i += w;
			continue;
		}
		abuf_addc(&b, (char)c);
		d->i++;
	}
	d->i = d->n;
	fail(d, "");
	return NULL;
}

static Value *parse_number(Dec *d)
{
	size_t st = d->i;
	if (d->s[d->i] == '-')
		d->i++;
	if (d->i >= d->n) {
		fail(d, "");
		return NULL;
	}
	if (d->s[d->i] == '0')
		d->i++;
	else if (d->s[d->i] >= '1' && d->s[d->i] <= '9')
		while (d->i < d->n && d->s[d->i] >= '0' && d->s[d->i] <= '9')
			d->i++;
	else {
		fail(d, "in numeric literal");
		return NULL;
	}
	if (d->i < d->n && d->s[d->i] == '.') {
		d->i++;
		if (d->i >= d->n || d->s[d->i] < '0' || d->s[d->i] > '9') {
			fail(d, "after decimal point in numeric literal");
			return NULL;
		}
		while (d->i < d->n && d->s[d->i] >= '0' && d->s[d->i] <= '9')
			d->i++;
	}
	if (d->i < d->n && (d->s[d->i] == 'e' || d->s[d->i] == 'E')) {
		d->i++;
		if (d->i < d->n && (d->s[d->i] == '+' || d->s[d->i] == '-'))
			d->i++;
		if (d->i >= d->n || d->s[d->i] < '0' || d->s[d->i] > '9') {
			fail(d, "in exponent of numeric literal");
			return NULL;
		}
		while (d->i < d->n && d->s[d->i] >= '0' && d->s[d->i] <= '9')
			d->i++;
	}
	char *t = arena_strndup(d->a, d->s + st, d->i - st);
	if (d->int_mode != JSON_INT_AS_FLOAT && !strpbrk(t, ".eE")) {
		errno = 0;
		long long v = strtoll(t, NULL, 10);
		if (errno == 0)
			return value_int_typed(d->a, v, d->int_mode == JSON_INT_AS_INT ? GT_INT : GT_INT64);
	}
	return value_float(d->a, strtod(t, NULL));
}

static bool literal(Dec *d, const char *word)
{
	size_t n = strlen(word);
	for (size_t k = 0; k < n; k++) {
		if (d->i + k >= d->n || d->s[d->i + k] != word[k]) {
			d->i += k;
			fail(d, k == 0 ? "looking for beginning of value" : arena_printf(d->a, "in literal %s (expecting '%c')", word, word[k]));
			return false;
		}
	}
	d->i += n;
	return true;
}

static Value *parse_value(Dec *d)
{
	skip_ws(d);
	if (d->i >= d->n) {
		fail(d, "");
		return NULL;
	}
	if (++d->depth > 10000) {
		d->err = "exceeded max depth";
		return NULL;
	}
	Value *r = NULL;
	char c = d->s[d->i];
	if (c == '{') {
		d->i++;
		r = value_map(d->a, GT_ANY);
		skip_ws(d);
		if (d->i < d->n && d->s[d->i] == '}') {
			d->i++;
			d->depth--;
			return r;
		}
		for (;;) {
			skip_ws(d);
			if (d->i >= d->n || d->s[d->i] != '"') {
				fail(d, "looking for beginning of object key string");
				return NULL;
			}
			Value *k = parse_string(d);
			if (!k)
				return NULL;
			skip_ws(d);
			if (d->i >= d->n || d->s[d->i] != ':') {
				fail(d, "after object key");
				return NULL;
			}
			d->i++;
			Value *v = parse_value(d);
			if (!v)
				return NULL;
			map_set(r, k->u.s.p, k->u.s.n, v);
			skip_ws(d);
			if (d->i < d->n && d->s[d->i] == ',') {
				d->i++;
				continue;
			}
			if (d->i < d->n && d->s[d->i] == '}') {
				d->i++;
				break;
			}
			fail(d, "after object key:value pair");
			return NULL;
		}
	} else if (c == '[') {
		d->i++;
		Value **items = NULL;
		size_t n = 0, cap = 0;
		skip_ws(d);
		if (d->i < d->n && d->s[d->i] == ']') {
			d->i++;
		} else {
			for (;;) {
				Value *v = parse_value(d);
				if (!v)
					return NULL;
				if (n == cap) {
					cap = cap ? cap * 2 : 8;
					Value **ni = arena_alloc(d->a, cap * sizeof(Value *));
					if (n)
						memcpy(ni, items, n * sizeof(Value *));
					items = ni;
				}
				items[n++] = v;
				skip_ws(d);
				if (d->i < d->n && d->s[d->i] == ',') {
					d->i++;
					continue;
				}
				if (d->i < d->n && d->s[d->i] == ']') {
					d->i++;
					break;
				}
				fail(d, "after array element");
				return NULL;
			}
		}
		r = value_list_from(d->a, items, n, GT_ANY);
	} else if (c == '"') {
		r = parse_string(d);
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		r = parse_number(d);
	} else if (c == 't') {
		r = literal(d, "true") ? value_true() : NULL;
	} else if (c == 'f') {
		r = literal(d, "false") ? value_false() : NULL;
	} else if (c == 'n') {
		r = literal(d, "null") ? value_nil() : NULL;
	} else {
		fail(d, "looking for beginning of value");
	}
	d->depth--;
	return r;
}

static Value *decode(Arena *a, const char *s, size_t n, int int_mode, const char **err)
{
	Dec d = { a, s, n, 0, NULL, 0, int_mode };
	Value *v = parse_value(&d);
	if (v) {
		skip_ws(&d);
		if (d.i < d.n) {
			fail(&d, "after top-level value");
			v = NULL;
		}
	}
	if (!v) {
		*err = d.err ? d.err : "unexpected end of JSON input";
		return NULL;
	}
	return v;
}

Value *gojson_decode(Arena *a, const char *s, size_t n, const char **err)
{
	return decode(a, s, n, JSON_INT_AS_FLOAT, err);
}

Value *value_parse_json(Arena *a, const char *s, size_t n, JsonIntMode mode, Error **err)
{
	const char *msg = NULL;
	Value *v = decode(a, s, n, (int)mode, &msg);
	if (!v)
		err_set(err, EINVAL, "%s", msg);
	return v;
}
