/* tmpl-parse.c - the template parser: Go's text/template/parse/parse.go in
 * C.  A recursive-descent parser over lex_next() with Go's three-token
 * look-ahead, producing Node trees in the set's arena.  Errors unwind with
 * longjmp and carry Go's text ("template: NAME:LINE: unexpected EOF").
 * Nesting of parentheses and blocks is capped (BERTH_MAX_TEMPLATE_NESTING)
 * so hostile input cannot exhaust the stack.
 *
 * Trees of one Parse call are collected first and committed to the set only
 * on success, as text/template does.
 */
#include "tmpl.h"
#include "../base/limits.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Parser {
	TmplSet *set;
	Arena *a;
	Lexer *lex;
	TreeSrc *src;
	const char *name;          /* current tree's name */
	Item token[3];
	int peek_count;
	const char **vars;
	size_t nvars, vcap;
	int action_line;
	int range_depth;
	int depth;                 /* parens + blocks */
	Tmpl **trees;              /* trees of this Parse call */
	size_t ntrees, tcap;
	jmp_buf jb;
	char *errmsg;
} Parser;

static void perr(Parser *p, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void perr(Parser *p, const char *fmt, ...)
{
	ABuf b;
	abuf_init(&b, p->a);
	abuf_addf(&b, "template: %s:%d: ", p->src->parse_name, p->token[0].line);
	va_list ap;
	va_start(ap, fmt);
	char tmp[1024];
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	abuf_adds(&b, tmp);
	p->errmsg = (char *)abuf_str(&b);
	longjmp(p->jb, 1);
}

/* ---- token stream ----------------------------------------------------------- */
static Item pnext(Parser *p)
{
	if (p->peek_count > 0)
		p->peek_count--;
	else
		p->token[0] = lex_next(p->lex);
	return p->token[p->peek_count];
}

static void pbackup(Parser *p) { p->peek_count++; }

static void pbackup2(Parser *p, Item t1)
{
	p->token[1] = t1;
	p->peek_count = 2;
}

static void pbackup3(Parser *p, Item t2, Item t1)
{
	p->token[1] = t1;
	p->token[2] = t2;
	p->peek_count = 3;
}

static Item ppeek(Parser *p)
{
	if (p->peek_count > 0)
		return p->token[p->peek_count - 1];
	p->peek_count = 1;
	p->token[0] = lex_next(p->lex);
	return p->token[0];
}

static Item next_nonspace(Parser *p)
{
	Item t;
	do
		t = pnext(p);
	while (t.typ == IT_SPACE);
	return t;
}

static Item peek_nonspace(Parser *p)
{
	Item t = next_nonspace(p);
	pbackup(p);
	return t;
}

/* Go's item.String(). */
static const char *item_string(Parser *p, Item t)
{
	if (t.typ == IT_EOF)
		return "EOF";
	if (t.typ == IT_ERROR)
		return arena_strndup(p->a, t.val, t.len);
	if (t.typ > IT_KEYWORD)
		return arena_printf(p->a, "<%.*s>", (int)t.len, t.val);
	ABuf b;
	abuf_init(&b, p->a);
	if (utf8_count(t.val, t.len) > 10) {
		/* %.10q: quote the first 10 runes */
		size_t off = 0;
		for (int i = 0; i < 10 && off < t.len; i++) {
			size_t w;
			utf8_decode(t.val + off, t.len - off, &w);
			off += w;
		}
		go_quote(&b, t.val, off, false);
		abuf_adds(&b, "...");
	} else
		go_quote(&b, t.val, t.len, false);
	return abuf_str(&b);
}

static void unexpected(Parser *p, Item t, const char *context) __attribute__((noreturn));
static void unexpected(Parser *p, Item t, const char *context)
{
	if (t.typ == IT_ERROR) {
		const char *extra = "";
		if (p->action_line != 0 && p->action_line != t.line) {
			bool ends_action = t.len >= 7 && !memcmp(t.val + t.len - 7, " action", 7);
			extra = arena_printf(p->a, "%s started at %s:%d", ends_action ? "" : " in action",
					     p->src->parse_name, p->action_line);
		}
		perr(p, "%.*s%s", (int)t.len, t.val, extra);
	}
	perr(p, "unexpected %s in %s", item_string(p, t), context);
}

static Item expect(Parser *p, ItemType want, const char *context)
{
	Item t = next_nonspace(p);
	if (t.typ != want)
		unexpected(p, t, context);
	return t;
}

/* ---- nodes -------------------------------------------------------------------------- */
static Node *new_node(Parser *p, NodeType type, int pos, int line)
{
	Node *n = arena_alloc(p->a, sizeof(*n));
	n->type = type;
	n->pos = pos;
	n->line = line;
	n->src = p->src;
	return n;
}

static void kids_append(Parser *p, Node *parent, Node *kid, size_t *cap)
{
	if (parent->nkids == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		Node **nk = arena_alloc(p->a, nc * sizeof(Node *));
		if (parent->nkids)
			memcpy(nk, parent->kids, parent->nkids * sizeof(Node *));
		parent->kids = nk;
		*cap = nc;
	}
	parent->kids[parent->nkids++] = kid;
}

/* Split "a.b.c" (after an optional leading '.') into identifiers. */
static void split_idents(Parser *p, Node *n, const char *s, size_t len)
{
	size_t cnt = 1;
	for (size_t i = 0; i < len; i++)
		cnt += s[i] == '.';
	n->ident = arena_alloc(p->a, cnt * sizeof(char *));
	n->nident = 0;
	size_t st = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			n->ident[n->nident++] = arena_strndup(p->a, s + st, i - st);
			st = i + 1;
		}
	}
}

static Node *new_field(Parser *p, int pos, const char *s, size_t len)
{
	Node *n = new_node(p, N_FIELD, pos, 0);
	split_idents(p, n, s + 1, len - 1);
	return n;
}

static Node *new_variable(Parser *p, int pos, const char *s, size_t len)
{
	Node *n = new_node(p, N_VARIABLE, pos, 0);
	split_idents(p, n, s, len);
	return n;
}

/* ---- literals ---------------------------------------------------------------------- */
static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* strconv.UnquoteChar: one (possibly escaped) char from s; -1 on syntax error. */
static int unquote_char(const char *s, size_t n, char quote, uint32_t *r, bool *multibyte, size_t *used)
{
	if (n == 0)
		return -1;
	unsigned char c = (unsigned char)s[0];
	if (c == (unsigned char)quote && (quote == '\'' || quote == '"'))
		return -1;
	if (c >= 0x80) {
		size_t w;
		*r = utf8_decode(s, n, &w);
		*multibyte = true;
		*used = w;
		return 0;
	}
	if (c != '\\') {
		*r = c;
		*multibyte = false;
		*used = 1;
		return 0;
	}
	if (n <= 1)
		return -1;
	c = (unsigned char)s[1];
	*multibyte = false;
	switch (c) {
	case 'a': *r = 7; break;
	case 'b': *r = 8; break;
	case 'f': *r = 12; break;
	case 'n': *r = 10; break;
	case 'r': *r = 13; break;
	case 't': *r = 9; break;
	case 'v': *r = 11; break;
	case 'x': case 'u': case 'U': {
		size_t k = c == 'x' ? 2 : c == 'u' ? 4 : 8;
		if (n < 2 + k)
			return -1;
		uint32_t v = 0;
		for (size_t i = 0; i < k; i++) {
			int h = hexval((unsigned char)s[2 + i]);
			if (h < 0)
				return -1;
			v = v << 4 | (uint32_t)h;
		}
		if (c != 'x') {
			if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
				return -1;
			*multibyte = true;
		}
		*r = v;
		*used = 2 + k;
		return 0;
	}
	case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
		if (n < 4)
			return -1;
		uint32_t v = 0;
		for (size_t i = 1; i < 4; i++) {
			int d = s[i] - '0';
			if (d < 0 || d > 7)
				return -1;
			v = v << 3 | (uint32_t)d;
		}
		if (v > 255)
			return -1;
		*r = v;
		*used = 4;
		return 0;
	}
	case '\\': *r = '\\'; break;
	case '\'': case '"':
		if (c != (unsigned char)quote)
			return -1;
		*r = c;
		break;
	default:
		return -1;
	}
	*used = 2;
	return 0;
}

/* strconv.Unquote for "..." and `...`; NULL on syntax error. */
static char *unquote(Parser *p, const char *s, size_t n, size_t *out_len)
{
	ABuf b;
	abuf_init(&b, p->a);
	if (n < 2 || s[0] != s[n - 1])
		return NULL;
	if (s[0] == '`') {
		for (size_t i = 1; i + 1 < n; i++)
			if (s[i] != '\r')
				abuf_addc(&b, s[i]);
		*out_len = b.len;
		return (char *)abuf_str(&b);
	}
	if (s[0] != '"')
		return NULL;
	size_t i = 1;
	while (i < n - 1) {
		uint32_t r;
		bool mb;
		size_t used;
		if (s[i] == '\n')
			return NULL;
		if (unquote_char(s + i, n - 1 - i, '"', &r, &mb, &used) < 0)
			return NULL;
		if (r < 0x80 || !mb) {
			if (!mb && (unsigned char)s[i] >= 0x80)
				abuf_add(&b, s + i, used);   /* raw byte sequence copied through */
			else
				abuf_addc(&b, (char)r);
		} else if ((unsigned char)s[i] >= 0x80)
			abuf_add(&b, s + i, used);
		else
			abuf_rune(&b, r);
		i += used;
	}
	*out_len = b.len;
	return (char *)abuf_str(&b);
}

/* Go's underscoreOK: '_' only between digits or after a base prefix. */
static bool underscore_ok(const char *s, size_t n)
{
	char saw = '^';
	size_t i = 0;
	if (n >= 1 && (s[0] == '-' || s[0] == '+'))
		s++, n--;
	bool hex = false;
	if (n >= 2 && s[0] == '0') {
		char c = (char)(s[1] | 0x20);
		if (c == 'b' || c == 'o' || c == 'x') {
			hex = c == 'x';
			i = 2;
			saw = '0';
		}
	}
	for (; i < n; i++) {
		char c = s[i];
		if ((c >= '0' && c <= '9') || (hex && hexval((unsigned char)c) >= 0)) {
			saw = '0';
			continue;
		}
		if (c == '_') {
			if (saw != '0')
				return false;
			saw = '_';
			continue;
		}
		if (saw == '_')
			return false;
		saw = '!';
	}
	return saw != '_';
}

static void strip_underscores(const char *s, size_t n, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '_')
			out[k++] = s[i];
	out[k] = 0;
}

/* strconv.ParseUint(s, 0, 64) / ParseInt: 0 ok, -1 syntax, -2 range. */
static int parse_int_base0(const char *s0, size_t n, bool is_signed, int64_t *ri, uint64_t *ru)
{
	if (n == 0 || n > 200)
		return -1;
	char buf[256];
	const char *s = s0;
	bool neg = false;
	if (s[0] == '+' || s[0] == '-') {
		if (!is_signed)
			return -1;
		neg = s[0] == '-';
		s++, n--;
	}
	if (n == 0)
		return -1;
	int base = 10;
	bool prefixed = false;
	if (s[0] == '0' && n > 1) {
		char c = (char)(s[1] | 0x20);
		if (c == 'x') base = 16, prefixed = true;
		else if (c == 'o') base = 8, prefixed = true;
		else if (c == 'b') base = 2, prefixed = true;
		else base = 8;
	}
	bool us = memchr(s, '_', n) != NULL;
	if (us && !underscore_ok(s0, (size_t)(s - s0) + n))
		return -1;
	strip_underscores(s, n, buf);
	const char *d = buf + (prefixed ? 2 : 0);
	if (!*d)
		return -1;
	uint64_t v = 0;
	bool over = false;
	for (; *d; d++) {
		int x = hexval((unsigned char)*d);
		if (x < 0 || x >= base)
			return -1;
		if (v > (UINT64_MAX - (uint64_t)x) / (uint64_t)base)
			over = true;
		else
			v = v * (uint64_t)base + (uint64_t)x;
	}
	if (over)
		return -2;
	if (!is_signed) {
		*ru = v;
		return 0;
	}
	if (!neg && v > (uint64_t)INT64_MAX)
		return -2;
	if (neg && v > (uint64_t)INT64_MAX + 1)
		return -2;
	*ri = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* strconv.ParseFloat(s, 64) accepting Go syntax (underscores, hex floats, Inf/NaN). */
int tmpl_parse_float(const char *s, size_t n, double *ret);
int tmpl_parse_float(const char *s, size_t n, double *ret)
{
	if (n == 0 || n > 400)
		return -1;
	char buf[512];
	if (memchr(s, '_', n) && !underscore_ok(s, n))
		return -1;
	strip_underscores(s, n, buf);
	const char *b = buf;
	const char *q = b;
	if (*q == '+' || *q == '-')
		q++;
	/* reject forms C accepts but Go doesn't */
	if (!strcasecmp(q, "inf") || !strcasecmp(q, "infinity") || !strcasecmp(q, "nan")) {
		*ret = !strcasecmp(q, "nan") ? NAN : (b[0] == '-' ? -INFINITY : INFINITY);
		return 0;
	}
	bool hex = q[0] == '0' && (q[1] == 'x' || q[1] == 'X');
	for (const char *c = q; *c; c++) {
		bool ok = (*c >= '0' && *c <= '9') || *c == '.' || *c == 'e' || *c == 'E' || *c == '+' || *c == '-';
		if (hex)
			ok = ok || hexval((unsigned char)*c) >= 0 || *c == 'x' || *c == 'X' || *c == 'p' || *c == 'P';
		if (!ok)
			return -1;
	}
	if (hex && !strpbrk(q, "pP"))
		return -1;   /* Go requires a p exponent in hex floats */
	if (!hex && (strpbrk(q, "pP") || strpbrk(q, "xX")))
		return -1;
	if (!hex && q[0] == '0' && (q[1] == 'o' || q[1] == 'O' || q[1] == 'b' || q[1] == 'B'))
		return -1;
	errno = 0;
	char *end;
	double d = strtod(b, &end);
	if (*end || end == b)
		return -1;
	if (errno == ERANGE && isinf(d))
		return -2;
	*ret = d;
	return 0;
}

static void simplify_complex(Node *n)
{
	n->is_float = n->cim == 0;
	if (n->is_float) {
		n->f64 = n->cre;
		n->is_int = n->f64 == (double)(int64_t)n->f64 && fabs(n->f64) < 9.3e18;
		if (n->is_int)
			n->i64 = (int64_t)n->f64;
		n->is_uint = n->f64 >= 0 && n->f64 < 1.8e19 && n->f64 == (double)(uint64_t)n->f64;
		if (n->is_uint)
			n->u64 = (uint64_t)n->f64;
	}
}

/* Parse "re+imi" as fmt.Sscan does for a complex128. */
static int parse_complex(const char *s, size_t n, double *re, double *im)
{
	if (n < 2 || s[n - 1] != 'i')
		return -1;
	for (size_t i = n - 1; i-- > 1;) {
		if ((s[i] == '+' || s[i] == '-') && s[i - 1] != 'e' && s[i - 1] != 'E' && s[i - 1] != 'p' && s[i - 1] != 'P') {
			if (tmpl_parse_float(s, i, re) < 0 || tmpl_parse_float(s + i, n - 1 - i, im) < 0)
				return -1;
			return 0;
		}
	}
	return -1;
}

static Node *new_number(Parser *p, Item t)
{
	Node *n = new_node(p, N_NUMBER, t.pos, t.line);
	n->text = arena_strndup(p->a, t.val, t.len);
	n->tlen = t.len;
	const char *s = n->text;
	size_t len = t.len;
	if (t.typ == IT_CHAR_CONSTANT) {
		uint32_t r;
		bool mb;
		size_t used;
		if (unquote_char(s + 1, len - 1, '\'', &r, &mb, &used) < 0)
			perr(p, "invalid syntax");
		if (1 + used != len - 1 || s[len - 1] != '\'')
			perr(p, "malformed character constant: %s", s);
		n->i64 = r;
		n->u64 = r;
		n->f64 = r;
		n->is_int = n->is_uint = n->is_float = true;
		return n;
	}
	if (t.typ == IT_COMPLEX) {
		if (parse_complex(s, len, &n->cre, &n->cim) < 0)
			perr(p, "expected integer");
		n->is_complex = true;
		simplify_complex(n);
		return n;
	}
	if (len > 0 && s[len - 1] == 'i') {
		double f;
		if (tmpl_parse_float(s, len - 1, &f) == 0) {
			n->is_complex = true;
			n->cre = 0;
			n->cim = f;
			simplify_complex(n);
			return n;
		}
	}
	uint64_t u = 0;
	int64_t i = 0;
	if (parse_int_base0(s, len, false, NULL, &u) == 0) {
		n->is_uint = true;
		n->u64 = u;
	}
	if (parse_int_base0(s, len, true, &i, NULL) == 0) {
		n->is_int = true;
		n->i64 = i;
		if (i == 0) {
			n->is_uint = true;
			n->u64 = u;
		}
	}
	if (n->is_int) {
		n->is_float = true;
		n->f64 = (double)n->i64;
	} else if (n->is_uint) {
		n->is_float = true;
		n->f64 = (double)n->u64;
	} else {
		double f;
		if (tmpl_parse_float(s, len, &f) == 0) {
			if (!strpbrk(s, ".eEpP")) {
				ABuf b;
				abuf_init(&b, p->a);
				go_quote(&b, s, len, false);
				perr(p, "integer overflow: %s", abuf_str(&b));
			}
			n->is_float = true;
			n->f64 = f;
			if (!n->is_int && fabs(f) < 9.2e18 && f == (double)(int64_t)f) {
				n->is_int = true;
				n->i64 = (int64_t)f;
			}
			if (!n->is_uint && f >= 0 && f < 1.8e19 && f == (double)(uint64_t)f) {
				n->is_uint = true;
				n->u64 = (uint64_t)f;
			}
		}
	}
	if (!n->is_int && !n->is_uint && !n->is_float) {
		ABuf b;
		abuf_init(&b, p->a);
		go_quote(&b, s, len, false);
		perr(p, "illegal number syntax: %s", abuf_str(&b));
	}
	return n;
}

/* The value the executor uses when the number's type comes from its syntax. */
static void number_ideal_value(Parser *p, Node *n)
{
	bool hexint = n->tlen > 2 && n->text[0] == '0' && (n->text[1] == 'x' || n->text[1] == 'X') && !strpbrk(n->text, "pP");
	bool runeint = n->text[0] == '\'';
	if (n->is_complex)
		n->cv = value_complex(p->a, n->cre, n->cim);
	else if (n->is_float && !hexint && !runeint && strpbrk(n->text, ".eEpP"))
		n->cv = value_float(p->a, n->f64);
	else if (n->is_int)
		n->cv = value_int(p->a, n->i64);
	else if (n->is_uint)
		n->cv_err = arena_printf(p->a, "%s overflows int", n->text);
}

/* ---- variables ---------------------------------------------------------------------- */
static void push_var(Parser *p, const char *name)
{
	if (p->nvars == p->vcap) {
		size_t nc = p->vcap ? p->vcap * 2 : 16;
		const char **nv = arena_alloc(p->a, nc * sizeof(char *));
		if (p->nvars)
			memcpy(nv, p->vars, p->nvars * sizeof(char *));
		p->vars = nv;
		p->vcap = nc;
	}
	p->vars[p->nvars++] = name;
}

static Node *use_var(Parser *p, int pos, const char *s, size_t len)
{
	Node *v = new_variable(p, pos, s, len);
	for (size_t i = 0; i < p->nvars; i++)
		if (!strcmp(p->vars[i], v->ident[0]))
			return v;
	perr(p, "undefined variable \"%s\"", v->ident[0]);
}

/* A {{define}} or {{block}} body is a new tree: only $ is visible and
 * {{break}} is not inside the enclosing range. */
typedef struct VarScope {
	const char **vars;
	size_t nvars, vcap;
	int range_depth;
} VarScope;

static VarScope scope_new_tree(Parser *p)
{
	VarScope s = { p->vars, p->nvars, p->vcap, p->range_depth };
	p->vars = NULL;
	p->nvars = p->vcap = 0;
	p->range_depth = 0;
	push_var(p, "$");
	return s;
}

static void scope_restore(Parser *p, VarScope s)
{
	p->vars = s.vars;
	p->nvars = s.nvars;
	p->vcap = s.vcap;
	p->range_depth = s.range_depth;
}

/* ---- grammar ---------------------------------------------------------------------------- */
static Node *pipeline(Parser *p, const char *context, ItemType end);
static Node *item_list(Parser *p, Node **next);
static Node *action(Parser *p);

static void enter(Parser *p)
{
	if (++p->depth > BERTH_MAX_TEMPLATE_NESTING)
		perr(p, "max expression depth exceeded");
}

static Node *term(Parser *p)
{
	Item t = next_nonspace(p);
	switch (t.typ) {
	case IT_IDENTIFIER: {
		const FuncDef *fn = functable_find(p->set->funcs, t.val, t.len);
		if (!fn)
			perr(p, "function \"%.*s\" not defined", (int)t.len, t.val);
		Node *n = new_node(p, N_IDENT, t.pos, t.line);
		n->name = arena_strndup(p->a, t.val, t.len);
		n->name_len = t.len;
		n->fn = fn;
		return n;
	}
	case IT_DOT: return new_node(p, N_DOT, t.pos, t.line);
	case IT_NIL: return new_node(p, N_NIL, t.pos, t.line);
	case IT_VARIABLE: return use_var(p, t.pos, t.val, t.len);
	case IT_FIELD: return new_field(p, t.pos, t.val, t.len);
	case IT_BOOL: {
		Node *n = new_node(p, N_BOOL, t.pos, t.line);
		n->b = t.val[0] == 't';
		n->cv = value_bool(n->b);
		return n;
	}
	case IT_CHAR_CONSTANT: case IT_COMPLEX: case IT_NUMBER: {
		Node *n = new_number(p, t);
		number_ideal_value(p, n);
		return n;
	}
	case IT_LEFT_PAREN: {
		enter(p);
		Node *n = pipeline(p, "parenthesized pipeline", IT_RIGHT_PAREN);
		p->depth--;
		return n;
	}
	case IT_STRING: case IT_RAW_STRING: {
		size_t ulen;
		char *u = unquote(p, t.val, t.len, &ulen);
		if (!u)
			perr(p, "invalid syntax");
		Node *n = new_node(p, N_STRING, t.pos, t.line);
		n->text = arena_strndup(p->a, t.val, t.len);
		n->tlen = t.len;
		n->cv = value_str_nocopy(p->a, u, ulen);
		return n;
	}
	default:
		pbackup(p);
		return NULL;
	}
}

static Node *operand(Parser *p)
{
	Node *node = term(p);
	if (!node)
		return NULL;
	if (ppeek(p).typ == IT_FIELD) {
		Node *chain = new_node(p, N_CHAIN, ppeek(p).pos, 0);
		chain->node = node;
		size_t cap = 0, cnt = 0;
		char **fields = NULL;
		while (ppeek(p).typ == IT_FIELD) {
			Item f = pnext(p);
			if (cnt == cap) {
				cap = cap ? cap * 2 : 4;
				char **nf = arena_alloc(p->a, cap * sizeof(char *));
				if (cnt)
					memcpy(nf, fields, cnt * sizeof(char *));
				fields = nf;
			}
			fields[cnt++] = arena_strndup(p->a, f.val + 1, f.len - 1);
		}
		chain->ident = fields;
		chain->nident = cnt;
		switch (node->type) {
		case N_FIELD: case N_VARIABLE: {
			ABuf b;
			abuf_init(&b, p->a);
			node_string(chain, &b);
			node = node->type == N_FIELD ? new_field(p, chain->pos, b.p, b.len)
						     : new_variable(p, chain->pos, b.p, b.len);
			break;
		}
		case N_BOOL: case N_STRING: case N_NUMBER: case N_NIL: case N_DOT: {
			ABuf b, q;
			abuf_init(&b, p->a);
			abuf_init(&q, p->a);
			node_string(node, &b);
			go_quote(&q, b.p, b.len, false);
			perr(p, "unexpected . after term %s", abuf_str(&q));
		}
		default:
			node = chain;
		}
	}
	return node;
}

static Node *command(Parser *p)
{
	Node *cmd = new_node(p, N_COMMAND, peek_nonspace(p).pos, 0);
	size_t cap = 0;
	for (;;) {
		peek_nonspace(p);
		Node *op = operand(p);
		if (op)
			kids_append(p, cmd, op, &cap);
		Item t = pnext(p);
		if (t.typ == IT_SPACE)
			continue;
		if (t.typ == IT_RIGHT_DELIM || t.typ == IT_RIGHT_PAREN)
			pbackup(p);
		else if (t.typ != IT_PIPE)
			unexpected(p, t, "operand");
		break;
	}
	if (cmd->nkids == 0)
		perr(p, "empty command");
	return cmd;
}

static void check_pipeline(Parser *p, Node *pipe, const char *context)
{
	if (pipe->nkids == 0)
		perr(p, "missing value for %s", context);
	for (size_t i = 1; i < pipe->nkids; i++) {
		switch (pipe->kids[i]->kids[0]->type) {
		case N_BOOL: case N_DOT: case N_NIL: case N_NUMBER: case N_STRING:
			perr(p, "non executable command in pipeline stage %zu", i + 1);
		default:
			break;
		}
	}
}

static void decl_append(Parser *p, Node *pipe, Node *v)
{
	Node **nd = arena_alloc(p->a, (pipe->ndecl + 1) * sizeof(Node *));
	if (pipe->ndecl)
		memcpy(nd, pipe->decl, pipe->ndecl * sizeof(Node *));
	nd[pipe->ndecl++] = v;
	pipe->decl = nd;
}

static Node *pipeline(Parser *p, const char *context, ItemType end)
{
	Item tok = peek_nonspace(p);
	Node *pipe = new_node(p, N_PIPE, tok.pos, tok.line);
	size_t cap = 0;
decls:;
	Item v = peek_nonspace(p);
	if (v.typ == IT_VARIABLE) {
		pnext(p);
		Item after = ppeek(p);
		Item nx = peek_nonspace(p);
		if (nx.typ == IT_ASSIGN || nx.typ == IT_DECLARE) {
			pipe->is_assign = nx.typ == IT_ASSIGN;
			next_nonspace(p);
			decl_append(p, pipe, new_variable(p, v.pos, v.val, v.len));
			push_var(p, arena_strndup(p->a, v.val, v.len));
		} else if (nx.typ == IT_CHAR && nx.len == 1 && nx.val[0] == ',') {
			next_nonspace(p);
			decl_append(p, pipe, new_variable(p, v.pos, v.val, v.len));
			push_var(p, arena_strndup(p->a, v.val, v.len));
			if (!strcmp(context, "range") && pipe->ndecl < 2) {
				ItemType pt = peek_nonspace(p).typ;
				if (pt == IT_VARIABLE || pt == IT_RIGHT_DELIM || pt == IT_RIGHT_PAREN)
					goto decls;
				perr(p, "range can only initialize variables");
			}
			perr(p, "too many declarations in %s", context);
		} else if (after.typ == IT_SPACE) {
			pbackup3(p, v, after);
		} else {
			pbackup2(p, v);
		}
	}
	for (;;) {
		Item t = next_nonspace(p);
		if (t.typ == end) {
			check_pipeline(p, pipe, context);
			return pipe;
		}
		switch (t.typ) {
		case IT_BOOL: case IT_CHAR_CONSTANT: case IT_COMPLEX: case IT_DOT: case IT_FIELD:
		case IT_IDENTIFIER: case IT_NUMBER: case IT_NIL: case IT_RAW_STRING: case IT_STRING:
		case IT_VARIABLE: case IT_LEFT_PAREN:
			pbackup(p);
			kids_append(p, pipe, command(p), &cap);
			break;
		default:
			unexpected(p, t, context);
		}
	}
}

static Node *parse_control(Parser *p, NodeType type, const char *context)
{
	size_t saved = p->nvars;
	enter(p);
	Node *pipe = pipeline(p, context, IT_RIGHT_DELIM);
	if (type == N_RANGE)
		p->range_depth++;
	Node *next;
	Node *list = item_list(p, &next);
	if (type == N_RANGE)
		p->range_depth--;
	Node *else_list = NULL;
	if (next->type == N_ELSE) {
		if (type == N_IF && ppeek(p).typ == IT_IF) {
			pnext(p);
			else_list = new_node(p, N_LIST, next->pos, 0);
			size_t cap = 0;
			kids_append(p, else_list, parse_control(p, N_IF, "if"), &cap);
		} else if (type == N_WITH && ppeek(p).typ == IT_WITH) {
			pnext(p);
			else_list = new_node(p, N_LIST, next->pos, 0);
			size_t cap = 0;
			kids_append(p, else_list, parse_control(p, N_WITH, "with"), &cap);
		} else {
			else_list = item_list(p, &next);
			if (next->type != N_END) {
				ABuf b;
				abuf_init(&b, p->a);
				node_string(next, &b);
				perr(p, "expected end; found %s", abuf_str(&b));
			}
		}
	}
	p->depth--;
	p->nvars = saved;
	Node *n = new_node(p, type, pipe->pos, pipe->line);
	n->node = pipe;
	n->list = list;
	n->else_list = else_list;
	return n;
}

static const char *template_name(Parser *p, Item t, const char *context, size_t *len)
{
	if (t.typ != IT_STRING && t.typ != IT_RAW_STRING)
		unexpected(p, t, context);
	const char *s = unquote(p, t.val, t.len, len);
	if (!s)
		perr(p, "invalid syntax");
	return s;
}

static void add_tree(Parser *p, Tmpl *t);

static Node *block_control(Parser *p)
{
	const char *context = "block clause";
	Item t = next_nonspace(p);
	size_t nlen;
	const char *name = template_name(p, t, context, &nlen);
	Node *pipe = pipeline(p, context, IT_RIGHT_DELIM);
	const char *saved_name = p->name;
	VarScope vs = scope_new_tree(p);
	p->name = name;
	enter(p);
	Node *end;
	Node *root = item_list(p, &end);
	p->depth--;
	if (end->type != N_END) {
		ABuf b;
		abuf_init(&b, p->a);
		node_string(end, &b);
		perr(p, "unexpected %s in %s", abuf_str(&b), context);
	}
	Tmpl *tm = arena_alloc(p->a, sizeof(*tm));
	tm->name = name;
	tm->root = root;
	tm->src = p->src;
	add_tree(p, tm);
	p->name = saved_name;
	scope_restore(p, vs);
	Node *n = new_node(p, N_TEMPLATE, t.pos, t.line);
	n->name = name;
	n->name_len = nlen;
	n->node = pipe;
	return n;
}

static Node *template_control(Parser *p)
{
	const char *context = "template clause";
	Item t = next_nonspace(p);
	size_t nlen;
	const char *name = template_name(p, t, context, &nlen);
	Node *pipe = NULL;
	if (next_nonspace(p).typ != IT_RIGHT_DELIM) {
		pbackup(p);
		pipe = pipeline(p, context, IT_RIGHT_DELIM);
	}
	Node *n = new_node(p, N_TEMPLATE, t.pos, t.line);
	n->name = name;
	n->name_len = nlen;
	n->node = pipe;
	return n;
}

static Node *action(Parser *p)
{
	Item t = next_nonspace(p);
	switch (t.typ) {
	case IT_BLOCK: return block_control(p);
	case IT_BREAK: case IT_CONTINUE: {
		const char *kw = t.typ == IT_BREAK ? "{{break}}" : "{{continue}}";
		Item x = next_nonspace(p);
		if (x.typ != IT_RIGHT_DELIM)
			unexpected(p, x, kw);
		if (p->range_depth == 0)
			perr(p, "%s outside {{range}}", kw);
		return new_node(p, t.typ == IT_BREAK ? N_BREAK : N_CONTINUE, t.pos, t.line);
	}
	case IT_ELSE: {
		Item pk = peek_nonspace(p);
		if (pk.typ == IT_IF || pk.typ == IT_WITH)
			return new_node(p, N_ELSE, pk.pos, pk.line);
		Item x = expect(p, IT_RIGHT_DELIM, "else");
		return new_node(p, N_ELSE, x.pos, x.line);
	}
	case IT_END: {
		Item x = expect(p, IT_RIGHT_DELIM, "end");
		return new_node(p, N_END, x.pos, x.line);
	}
	case IT_IF: return parse_control(p, N_IF, "if");
	case IT_RANGE: return parse_control(p, N_RANGE, "range");
	case IT_TEMPLATE: return template_control(p);
	case IT_WITH: return parse_control(p, N_WITH, "with");
	default:
		break;
	}
	pbackup(p);
	Item pk = ppeek(p);
	Node *n = new_node(p, N_ACTION, pk.pos, pk.line);
	n->node = pipeline(p, "command", IT_RIGHT_DELIM);
	return n;
}

static Node *text_or_action(Parser *p)
{
	Item t = next_nonspace(p);
	switch (t.typ) {
	case IT_TEXT: {
		Node *n = new_node(p, N_TEXT, t.pos, t.line);
		n->text = t.val;          /* points into the set-owned copy of the input */
		n->tlen = t.len;
		return n;
	}
	case IT_LEFT_DELIM: {
		p->action_line = t.line;
		Node *n = action(p);
		p->action_line = 0;
		return n;
	}
	default:
		unexpected(p, t, "input");
	}
}

static Node *item_list(Parser *p, Node **next)
{
	Node *list = new_node(p, N_LIST, peek_nonspace(p).pos, 0);
	size_t cap = 0;
	while (peek_nonspace(p).typ != IT_EOF) {
		Node *n = text_or_action(p);
		if (n->type == N_END || n->type == N_ELSE) {
			*next = n;
			return list;
		}
		kids_append(p, list, n, &cap);
	}
	perr(p, "unexpected EOF");
}

/* ---- tree set bookkeeping ----------------------------------------------------------------- */
static Tmpl *find_tree(Parser *p, const char *name)
{
	for (size_t i = 0; i < p->ntrees; i++)
		if (!strcmp(p->trees[i]->name, name))
			return p->trees[i];
	return NULL;
}

static void add_tree(Parser *p, Tmpl *t)
{
	Tmpl *old = find_tree(p, t->name);
	if (old && !node_is_empty_tree(old->root)) {
		if (!node_is_empty_tree(t->root)) {
			ABuf b;
			abuf_init(&b, p->a);
			go_quote(&b, t->name, strlen(t->name), false);
			perr(p, "template: multiple definition of template %s", abuf_str(&b));
		}
		return;
	}
	if (old) {
		*old = *t;
		return;
	}
	if (p->ntrees == p->tcap) {
		size_t nc = p->tcap ? p->tcap * 2 : 8;
		Tmpl **nt = arena_alloc(p->a, nc * sizeof(Tmpl *));
		if (p->ntrees)
			memcpy(nt, p->trees, p->ntrees * sizeof(Tmpl *));
		p->trees = nt;
		p->tcap = nc;
	}
	p->trees[p->ntrees++] = t;
}

static void parse_definition(Parser *p)
{
	const char *context = "define clause";
	Item t = next_nonspace(p);
	if (t.typ != IT_STRING && t.typ != IT_RAW_STRING)
		unexpected(p, t, context);
	size_t nlen;
	const char *name = unquote(p, t.val, t.len, &nlen);
	if (!name)
		perr(p, "invalid syntax");
	expect(p, IT_RIGHT_DELIM, context);
	const char *saved = p->name;
	VarScope vs = scope_new_tree(p);
	p->name = name;
	Node *end;
	Node *root = item_list(p, &end);
	if (end->type != N_END) {
		ABuf b;
		abuf_init(&b, p->a);
		node_string(end, &b);
		perr(p, "unexpected %s in %s", abuf_str(&b), context);
	}
	Tmpl *tm = arena_alloc(p->a, sizeof(*tm));
	tm->name = name;
	tm->root = root;
	tm->src = p->src;
	add_tree(p, tm);
	p->name = saved;
	scope_restore(p, vs);
}

static Node *parse_top(Parser *p)
{
	Node *root = new_node(p, N_LIST, ppeek(p).pos, 0);
	size_t cap = 0;
	while (ppeek(p).typ != IT_EOF) {
		if (ppeek(p).typ == IT_LEFT_DELIM) {
			Item delim = pnext(p);
			if (next_nonspace(p).typ == IT_DEFINE) {
				parse_definition(p);
				continue;
			}
			pbackup2(p, delim);
		}
		Node *n = text_or_action(p);
		if (n->type == N_END || n->type == N_ELSE) {
			ABuf b;
			abuf_init(&b, p->a);
			node_string(n, &b);
			perr(p, "unexpected %s", abuf_str(&b));
		}
		kids_append(p, root, n, &cap);
	}
	return root;
}

/* text/template's associate(): an empty tree never replaces a non-empty one. */
static void set_associate(TmplSet *s, Tmpl *t)
{
	/* an overlay (tpl's clone) sees its parents' templates as its own */
	const Tmpl *old = tmplset_lookup(s, t->name);
	if (old && old->root && node_is_empty_tree(t->root))
		return;
	for (size_t i = 0; i < s->ntmpls; i++) {
		if (!strcmp(s->tmpls[i]->name, t->name)) {
			s->tmpls[i] = t;
			return;
		}
	}
	if (s->ntmpls == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		Tmpl **nt = arena_alloc(s->arena, nc * sizeof(Tmpl *));
		if (s->ntmpls)
			memcpy(nt, s->tmpls, s->ntmpls * sizeof(Tmpl *));
		s->tmpls = nt;
		s->cap = nc;
	}
	s->tmpls[s->ntmpls++] = t;
}

int tmplset_parse_into(TmplSet *s, const char *name, const char *text, size_t len, Tmpl **ret_top, Error **err)
{
	Parser *p = arena_alloc(s->arena, sizeof(*p));
	p->set = s;
	p->a = s->arena;
	TreeSrc *src = arena_alloc(s->arena, sizeof(*src));
	src->text = arena_strndup(s->arena, text, len);
	src->len = len;
	src->parse_name = arena_strdup(s->arena, name);
	src->ldelim = s->ldelim ? s->ldelim : "{{";
	src->rdelim = s->rdelim ? s->rdelim : "}}";
	p->src = src;
	p->name = src->parse_name;
	Lexer *lex = arena_alloc(s->arena, sizeof(*lex));
	lex_init(lex, src->text, len, src->ldelim, src->rdelim);
	lex->break_ok = !functable_find(s->funcs, "break", 5);
	lex->continue_ok = !functable_find(s->funcs, "continue", 8);
	p->lex = lex;
	push_var(p, "$");
	if (setjmp(p->jb)) {
		return err_set(err, EINVAL, "%s", p->errmsg);
	}
	Node *root = parse_top(p);
	Tmpl *top = arena_alloc(s->arena, sizeof(*top));
	top->name = p->src->parse_name;
	top->root = root;
	top->src = src;
	add_tree(p, top);
	for (size_t i = 0; i < p->ntrees; i++)
		set_associate(s, p->trees[i]);
	if (ret_top)
		*ret_top = top;
	return 0;
}
