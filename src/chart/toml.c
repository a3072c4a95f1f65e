/* toml.c - TOML for Helm's toToml/fromToml, after BurntSushi/toml v1:
 * the encoder writes direct keys first (sorted), then tables and arrays of
 * tables, indenting nested tables by two spaces; the decoder reads TOML 1.0
 * documents (tables, arrays of tables, inline tables, all string and number
 * forms) into template values, with BurntSushi-style error texts.
 */
#include "toml.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- encoding --------------------------------------------------------------------------- */
static void quoted(ABuf *b, const char *s, size_t n)
{
	abuf_addc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': abuf_adds(b, "\\\""); break;
		case '\\': abuf_adds(b, "\\\\"); break;
		case '\b': abuf_adds(b, "\\b"); break;
		case '\t': abuf_adds(b, "\\t"); break;
		case '\n': abuf_adds(b, "\\n"); break;
		case '\f': abuf_adds(b, "\\f"); break;
		case '\r': abuf_adds(b, "\\r"); break;
		default:
			if (c < 0x20 || c == 0x7F)
				abuf_addf(b, "\\u%04x", c);
			else
				abuf_addc(b, (char)c);
		}
	}
	abuf_addc(b, '"');
}

static bool bare(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void key_part(ABuf *b, const char *s, size_t n)
{
	if (n == 0)
		abuf_adds(b, "\"\"");
	else if (bare(s, n))
		abuf_add(b, s, n);
	else
		quoted(b, s, n);
}

typedef struct Enc {
	ABuf *b;
	bool written;
	const char *err;
	const char **keys;   /* current key path */
	size_t *klens;
	size_t nkeys;
} Enc;

static void enc_write(Enc *e, const char *s, size_t n)
{
	abuf_add(e->b, s, n);
	e->written = true;
}

static void newline(Enc *e)
{
	if (e->written)
		enc_write(e, "\n", 1);
}

static void indent(Enc *e)
{
	for (size_t i = 1; i < e->nkeys; i++)
		enc_write(e, "  ", 2);
}

static bool is_table(const Value *v) { return v && v->kind == VK_MAP; }

static bool is_table_array(const Value *v)
{
	if (!v || v->kind != VK_LIST || v->u.l->len == 0)
		return false;
	for (size_t i = 0; i < v->u.l->len; i++)
		if (!is_table(v->u.l->items[i]))
			return false;
	return true;
}

static void element(Enc *e, const Value *v);

static void inline_map(Enc *e, const Value *m)
{
	enc_write(e, "{", 1);
	bool first = true;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < m->u.m->len; i++) {
			const VMapEntry *x = &m->u.m->e[i];
			if (value_is_nil(x->val) || (pass == 0) == is_table(x->val))
				continue;
			if (!first)
				enc_write(e, ", ", 2);
			first = false;
			ABuf k;
			abuf_init(&k, e->b->a);
			key_part(&k, x->key, x->klen);
			enc_write(e, k.p, k.len);
			enc_write(e, " = ", 3);
			element(e, x->val);
		}
	}
	enc_write(e, "}", 1);
}

static void element(Enc *e, const Value *v)
{
	ABuf t;
	abuf_init(&t, e->b->a);
	if (!v || v->kind == VK_NIL) {
		e->err = "toml: cannot encode a nil value";
		return;
	}
	switch (v->kind) {
	case VK_STRING: quoted(&t, v->u.s.p, v->u.s.n); break;
	case VK_BOOL: abuf_adds(&t, v->u.b ? "true" : "false"); break;
	case VK_INT: abuf_addf(&t, "%lld", (long long)v->u.i); break;
	case VK_UINT: abuf_addf(&t, "%llu", (unsigned long long)v->u.u); break;
	case VK_FLOAT: {
		double f = v->u.f;
		if (isnan(f))
			abuf_adds(&t, signbit(f) ? "-nan" : "nan");
		else if (isinf(f))
			abuf_adds(&t, f < 0 ? "-inf" : "inf");
		else {
			go_format_float(&t, f, 'g', -1);
			if (!strchr(abuf_str(&t), 'e') && !strchr(abuf_str(&t), '.'))
				abuf_adds(&t, ".0");
		}
		break;
	}
	case VK_LIST:
		enc_write(e, "[", 1);
		for (size_t i = 0; i < v->u.l->len; i++) {
			if (value_is_nil(v->u.l->items[i])) {
				e->err = "toml: cannot encode array with nil element";
				return;
			}
			element(e, v->u.l->items[i]);
			if (i + 1 < v->u.l->len)
				enc_write(e, ", ", 2);
		}
		enc_write(e, "]", 1);
		return;
	case VK_MAP:
		inline_map(e, v);
		return;
	default: {
		size_t n;
		Ctx c = { .a = e->b->a };
		const char *s = value_to_string(&c, v, &n);
		quoted(&t, s, n);
	}
	}
	enc_write(e, t.p ? t.p : "", t.len);
}

static void key_string(Enc *e, ABuf *b)
{
	for (size_t i = 0; i < e->nkeys; i++) {
		if (i)
			abuf_addc(b, '.');
		key_part(b, e->keys[i], e->klens[i]);
	}
}

static void encode_value(Enc *e, const Value *v);

static void encode_map(Enc *e, const Value *m)
{
	for (int pass = 0; pass < 2 && !e->err; pass++) {
		for (size_t i = 0; i < m->u.m->len && !e->err; i++) {
			const VMapEntry *x = &m->u.m->e[i];
			bool sub = is_table(x->val) || is_table_array(x->val);
			if (value_is_nil(x->val) || (pass == 0) == sub)
				continue;
			e->keys[e->nkeys] = x->key;
			e->klens[e->nkeys] = x->klen;
			e->nkeys++;
			encode_value(e, x->val);
			e->nkeys--;
		}
	}
}

static void encode_value(Enc *e, const Value *v)
{
	if (e->nkeys > 200) {
		e->err = "toml: value nested too deeply";
		return;
	}
	if (is_table(v)) {
		if (e->nkeys == 1)
			newline(e);
		if (e->nkeys > 0) {
			indent(e);
			ABuf k;
			abuf_init(&k, e->b->a);
			abuf_addc(&k, '[');
			key_string(e, &k);
			abuf_addc(&k, ']');
			enc_write(e, k.p, k.len);
			newline(e);
		}
		encode_map(e, v);
		return;
	}
	if (is_table_array(v)) {
		for (size_t i = 0; i < v->u.l->len && !e->err; i++) {
			newline(e);
			indent(e);
			ABuf k;
			abuf_init(&k, e->b->a);
			abuf_adds(&k, "[[");
			key_string(e, &k);
			abuf_adds(&k, "]]");
			enc_write(e, k.p, k.len);
			newline(e);
			encode_map(e, v->u.l->items[i]);
		}
		return;
	}
	if (e->nkeys == 0) {
		element(e, v);
		return;
	}
	indent(e);
	ABuf k;
	abuf_init(&k, e->b->a);
	key_part(&k, e->keys[e->nkeys - 1], e->klens[e->nkeys - 1]);
	abuf_adds(&k, " = ");
	enc_write(e, k.p, k.len);
	element(e, v);
	newline(e);
}

int toml_encode(ABuf *out, const Value *v, const char **err)
{
	Enc e = { .b = out };
	e.keys = arena_alloc(out->a, 256 * sizeof(char *));
	e.klens = arena_alloc(out->a, 256 * sizeof(size_t));
	if (v && v->kind == VK_NIL)
		return 0;
	if (v && v->kind != VK_MAP && v->kind != VK_OBJECT) {
		*err = "toml: top-level values must be Go maps or structs";
		return -1;
	}
	encode_value(&e, v);
	if (e.err) {
		*err = e.err;
		return -1;
	}
	return 0;
}

/* ---- decoding ------------------------------------------------------------------------------ */
typedef struct Dec {
	Arena *a;
	const char *s;
	size_t n, i;
	int line;
	const char *err;
	Value *root, *cur;
} Dec;

static int derr(Dec *d, const char *msg)
{
	if (!d->err)
		d->err = arena_printf(d->a, "toml: line %d: %s", d->line, msg);
	return -1;
}

static bool at_end(Dec *d) { return d->i >= d->n; }
static char peek(Dec *d) { return d->i < d->n ? d->s[d->i] : 0; }

static void skip_ws(Dec *d)
{
	while (d->i < d->n && (d->s[d->i] == ' ' || d->s[d->i] == '\t'))
		d->i++;
}

static void skip_comment(Dec *d)
{
	if (peek(d) == '#')
		while (d->i < d->n && d->s[d->i] != '\n')
			d->i++;
}

static bool newline_here(Dec *d)
{
	if (peek(d) == '\n') {
		d->i++;
		d->line++;
		return true;
	}
	if (peek(d) == '\r' && d->i + 1 < d->n && d->s[d->i + 1] == '\n') {
		d->i += 2;
		d->line++;
		return true;
	}
	return false;
}

static void skip_blank_lines(Dec *d)
{
	for (;;) {
		skip_ws(d);
		skip_comment(d);
		if (!newline_here(d))
			return;
	}
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
	return -1;
}

static Value *basic_string(Dec *d, bool multi)
{
	ABuf b;
	abuf_init(&b, d->a);
	if (multi && newline_here(d)) {
	}
	for (;;) {
		if (at_end(d)) {
			derr(d, multi ? "unexpected EOF; expected '\"\"\"'" : "unexpected EOF; expected '\"'");
			return NULL;
		}
		char c = d->s[d->i];
		if (c == '"') {
			if (!multi) {
				d->i++;
				break;
			}
			if (d->i + 2 < d->n && d->s[d->i + 1] == '"' && d->s[d->i + 2] == '"') {
				d->i += 3;
				while (peek(d) == '"' && b.len < (size_t)-1) {  /* up to two extra quotes belong to the content */
					abuf_addc(&b, '"');
					d->i++;
				}
				break;
			}
			abuf_addc(&b, c);
			d->i++;
			continue;
		}
		if (c == '\n') {
			if (!multi) {
				derr(d, "strings cannot contain newlines");
				return NULL;
			}
			abuf_addc(&b, c);
			d->i++;
			d->line++;
			continue;
		}
		if (c == '\\') {
			d->i++;
			char e = peek(d);
			d->i++;
			switch (e) {
			case 'b': abuf_addc(&b, '\b'); break;
			case 't': abuf_addc(&b, '\t'); break;
			case 'n': abuf_addc(&b, '\n'); break;
			case 'f': abuf_addc(&b, '\f'); break;
			case 'r': abuf_addc(&b, '\r'); break;
			case 'e': abuf_addc(&b, 0x1b); break;
			case '"': abuf_addc(&b, '"'); break;
			case '\\': abuf_addc(&b, '\\'); break;
			case 'u': case 'U': {
				int k = e == 'u' ? 4 : 8;
				uint32_t r = 0;
				for (int j = 0; j < k; j++) {
					int h = hexv(peek(d));
					if (h < 0) {
						derr(d, "invalid escape in string");
						return NULL;
					}
					r = r << 4 | (uint32_t)h;
					d->i++;
				}
				abuf_rune(&b, r);
				break;
			}
			case '\n': case ' ': case '\t': case '\r':
				if (!multi) {
					derr(d, "invalid escape in string");
					return NULL;
				}
				d->i--;
				while (d->i < d->n && (d->s[d->i] == ' ' || d->s[d->i] == '\t' || d->s[d->i] == '\n' || d->s[d->i] == '\r')) {
					if (d->s[d->i] == '\n')
						d->line++;
					d->i++;
				}
				break;
			default:
				derr(d, arena_printf(d->a, "invalid escape in string '\\%c'", e));
				return NULL;
			}
			continue;
		}
		abuf_addc(&b, c);
		d->i++;
	}
	return value_str_nocopy(d->a, abuf_str(&b), b.len);
}

static Value *literal_string(Dec *d, bool multi)
{
	size_t st = d->i;
	if (multi && newline_here(d))
		st = d->i;
	for (;;) {
		if (at_end(d)) {
			derr(d, multi ? "unexpected EOF; expected \"'''\"" : "unexpected EOF; expected \"'\"");
			return NULL;
		}
		char c = d->s[d->i];
		if (c == '\'') {
			if (!multi) {
				Value *v = value_strn(d->a, d->s + st, d->i - st);
				d->i++;
				return v;
			}
			if (d->i + 2 < d->n && d->s[d->i + 1] == '\'' && d->s[d->i + 2] == '\'') {
				size_t end = d->i;
				d->i += 3;
				while (peek(d) == '\'') {
					end++;
					d->i++;
				}
				return value_strn(d->a, d->s + st, end - st);
			}
		}
		if (c == '\n') {
			if (!multi) {
				derr(d, "strings cannot contain newlines");
				return NULL;
			}
			d->line++;
		}
		d->i++;
	}
}

static Value *parse_value(Dec *d, int depth);

static Value *parse_number_or_date(Dec *d)
{
	size_t st = d->i;
	while (d->i < d->n && !strchr(" \t\r\n,]}#", d->s[d->i]))
		d->i++;
	/* datetimes may contain one space between date and time */
	if (d->i + 1 < d->n && d->s[d->i] == ' ' && d->i - st == 10 && d->s[st + 4] == '-' &&
	    d->s[d->i + 1] >= '0' && d->s[d->i + 1] <= '9') {
		d->i++;
		while (d->i < d->n && !strchr(" \t\r\n,]}#", d->s[d->i]))
			d->i++;
	}
	size_t len = d->i - st;
	char *t = arena_strndup(d->a, d->s + st, len);
	if (!strcmp(t, "true"))
		return value_true();
	if (!strcmp(t, "false"))
		return value_false();
	if (!strcmp(t, "inf") || !strcmp(t, "+inf"))
		return value_float(d->a, INFINITY);
	if (!strcmp(t, "-inf"))
		return value_float(d->a, -INFINITY);
	if (!strcmp(t, "nan") || !strcmp(t, "+nan") || !strcmp(t, "-nan"))
		return value_float(d->a, NAN);
	if (len >= 8 && ((t[4] == '-' && t[7] == '-') || t[2] == ':'))
		return value_strn(d->a, t, len);   /* datetimes: kept as their text */
	char *clean = arena_alloc(d->a, len + 1);
	size_t k = 0;
	for (size_t j = 0; j < len; j++)
		if (t[j] != '_')
			clean[k++] = t[j];
	clean[k] = 0;
	char *end;
	if (!strpbrk(clean, ".eE") || (clean[0] == '0' && (clean[1] == 'x' || clean[1] == 'o' || clean[1] == 'b'))) {
		int base = 10;
		const char *p = clean;
		if (p[0] == '0' && p[1] == 'x') base = 16, p += 2;
		else if (p[0] == '0' && p[1] == 'o') base = 8, p += 2;
		else if (p[0] == '0' && p[1] == 'b') base = 2, p += 2;
		if (*p) {
			long long v = strtoll(p, &end, base);
			if (!*end)
				return value_int_typed(d->a, v, GT_INT64);
		}
	} else {
		double f = strtod(clean, &end);
		if (!*end && k)
			return value_float(d->a, f);
	}
	derr(d, arena_printf(d->a, "invalid value: '%s'", t));
	return NULL;
}

static Value *parse_array(Dec *d, int depth)
{
	d->i++;
	Value **items = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		skip_blank_lines(d);
		if (peek(d) == ']') {
			d->i++;
			break;
		}
		if (at_end(d)) {
			derr(d, "unexpected EOF; expected ']'");
			return NULL;
		}
		Value *v = parse_value(d, depth + 1);
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
		skip_blank_lines(d);
		if (peek(d) == ',') {
			d->i++;
			continue;
		}
		if (peek(d) == ']') {
			d->i++;
			break;
		}
		derr(d, "expected a comma (',') or array terminator (']')");
		return NULL;
	}
	return value_list_from(d->a, items, n, GT_ANY);
}

static int parse_key(Dec *d, const char ***parts, size_t **lens, size_t *np);
static int assign(Dec *d, Value *table, const char **parts, size_t *lens, size_t np, Value *v);

static Value *parse_inline_table(Dec *d, int depth)
{
	d->i++;
	Value *t = value_map(d->a, GT_ANY);
	skip_ws(d);
	if (peek(d) == '}') {
		d->i++;
		return t;
	}
	for (;;) {
		skip_ws(d);
		const char **parts;
		size_t *lens, np;
		if (parse_key(d, &parts, &lens, &np) < 0)
			return NULL;
		skip_ws(d);
		if (peek(d) != '=') {
			derr(d, "expected key separator '='");
			return NULL;
		}
		d->i++;
		skip_ws(d);
		Value *v = parse_value(d, depth + 1);
		if (!v || assign(d, t, parts, lens, np, v) < 0)
			return NULL;
		skip_ws(d);
		if (peek(d) == ',') {
			d->i++;
			continue;
		}
		if (peek(d) == '}') {
			d->i++;
			return t;
		}
		derr(d, "expected a comma or an inline table terminator '}'");
		return NULL;
	}
}

static Value *parse_value(Dec *d, int depth)
{
	if (depth > 200) {
		derr(d, "value nested too deeply");
		return NULL;
	}
	char c = peek(d);
	if (c == '"') {
		bool multi = d->i + 2 < d->n && d->s[d->i + 1] == '"' && d->s[d->i + 2] == '"';
		d->i += multi ? 3 : 1;
		return basic_string(d, multi);
	}
	if (c == '\'') {
		bool multi = d->i + 2 < d->n && d->s[d->i + 1] == '\'' && d->s[d->i + 2] == '\'';
		d->i += multi ? 3 : 1;
		return literal_string(d, multi);
	}
	if (c == '[')
		return parse_array(d, depth);
	if (c == '{')
		return parse_inline_table(d, depth);
	if (at_end(d) || c == '\n' || c == '\r') {
		derr(d, "unexpected EOF; expected value");
		return NULL;
	}
	return parse_number_or_date(d);
}

static int parse_key(Dec *d, const char ***parts, size_t **lens, size_t *np)
{
	size_t cap = 4;
	const char **p = arena_alloc(d->a, cap * sizeof(char *));
	size_t *l = arena_alloc(d->a, cap * sizeof(size_t));
	size_t n = 0;
	for (;;) {
		skip_ws(d);
		Value *k;
		char c = peek(d);
		if (c == '"') {
			d->i++;
			k = basic_string(d, false);
		} else if (c == '\'') {
			d->i++;
			k = literal_string(d, false);
		} else {
			size_t st = d->i;
			while (d->i < d->n && bare(d->s + d->i, 1))
				d->i++;
			if (d->i == st) {
				if (at_end(d) || c == '\n')
					return derr(d, "unexpected EOF; expected key separator '='");
				return derr(d, arena_printf(d->a, "bare keys cannot contain '%c'", c));
			}
			k = value_strn(d->a, d->s + st, d->i - st);
		}
		if (!k)
			return -1;
		if (n == cap) {
			cap *= 2;
			const char **np2 = arena_alloc(d->a, cap * sizeof(char *));
			size_t *nl = arena_alloc(d->a, cap * sizeof(size_t));
			memcpy(np2, p, n * sizeof(char *));
			memcpy(nl, l, n * sizeof(size_t));
			p = np2;
			l = nl;
		}
		p[n] = k->u.s.p;
		l[n] = k->u.s.n;
		n++;
		skip_ws(d);
		if (peek(d) == '.') {
			d->i++;
			continue;
		}
		break;
	}
	*parts = p;
	*lens = l;
	*np = n;
	return 0;
}

static Value *descend(Dec *d, Value *t, const char *k, size_t kl, bool last_array_elem)
{
	Value *x = map_get(t, k, kl);
	if (!x) {
		x = value_map(d->a, GT_ANY);
		map_set(t, k, kl, x);
		return x;
	}
	if (x->kind == VK_MAP)
		return x;
	if (last_array_elem && x->kind == VK_LIST && x->u.l->len && x->u.l->items[x->u.l->len - 1]->kind == VK_MAP)
		return x->u.l->items[x->u.l->len - 1];
	derr(d, arena_printf(d->a, "key '%.*s' is already defined", (int)kl, k));
	return NULL;
}

static int assign(Dec *d, Value *table, const char **parts, size_t *lens, size_t np, Value *v)
{
	for (size_t j = 0; j + 1 < np; j++) {
		table = descend(d, table, parts[j], lens[j], false);
		if (!table)
			return -1;
	}
	if (map_get(table, parts[np - 1], lens[np - 1]))
		return derr(d, arena_printf(d->a, "key '%.*s' is already defined", (int)lens[np - 1], parts[np - 1]));
	map_set(table, parts[np - 1], lens[np - 1], v);
	return 0;
}

Value *toml_decode(Arena *a, const char *s, size_t n, const char **err)
{
	Dec d = { .a = a, .s = s, .n = n, .line = 1 };
	d.root = d.cur = value_map(a, GT_ANY);
	for (;;) {
		skip_blank_lines(&d);
		if (at_end(&d))
			break;
		if (peek(&d) == '[') {
			bool arr = d.i + 1 < d.n && d.s[d.i + 1] == '[';
			d.i += arr ? 2 : 1;
			const char **parts;
			size_t *lens, np;
			if (parse_key(&d, &parts, &lens, &np) < 0)
				goto fail;
			skip_ws(&d);
			if (peek(&d) != ']' || (arr && (d.i + 1 >= d.n || d.s[d.i + 1] != ']'))) {
				derr(&d, arr ? "expected ']]'" : "expected ']'");
				goto fail;
			}
			d.i += arr ? 2 : 1;
			Value *t = d.root;
			for (size_t j = 0; j + 1 < np; j++)
				if (!(t = descend(&d, t, parts[j], lens[j], true)))
					goto fail;
			if (arr) {
				Value *l = map_get(t, parts[np - 1], lens[np - 1]);
				Value *nt = value_map(a, GT_ANY);
				if (!l) {
					l = value_list_from(a, &nt, 1, GT_ANY);
					map_set(t, parts[np - 1], lens[np - 1], l);
				} else if (l->kind == VK_LIST) {
					Value *nl = value_list(a, l->u.l->len + 1, GT_ANY);
					memcpy(nl->u.l->items, l->u.l->items, l->u.l->len * sizeof(Value *));
					nl->u.l->items[l->u.l->len] = nt;
					map_set(t, parts[np - 1], lens[np - 1], nl);
				} else {
					derr(&d, "key is already defined");
					goto fail;
				}
				d.cur = nt;
			} else {
				if (!(d.cur = descend(&d, t, parts[np - 1], lens[np - 1], false)))
					goto fail;
			}
		} else {
			const char **parts;
			size_t *lens, np;
			if (parse_key(&d, &parts, &lens, &np) < 0)
				goto fail;
			skip_ws(&d);
			if (peek(&d) != '=') {
				if (at_end(&d))
					derr(&d, "unexpected EOF; expected key separator '='");
				else
					derr(&d, arena_printf(a, "expected key separator '=', but got '%c' instead", peek(&d)));
				goto fail;
			}
			d.i++;
			skip_ws(&d);
			Value *v = parse_value(&d, 0);
			if (!v || assign(&d, d.cur, parts, lens, np, v) < 0)
				goto fail;
		}
		skip_ws(&d);
		skip_comment(&d);
		if (!at_end(&d) && !newline_here(&d)) {
			derr(&d, arena_printf(a, "expected a top-level item to end with a newline, comment, or EOF, but got '%c' instead", peek(&d)));
			goto fail;
		}
	}
	return d.root;
fail:
	*err = d.err ? d.err : "toml: invalid document";
	return NULL;
}
