/* funcs-regex.c - Sprig's regex functions over goregex (Go regexp
 * semantics on PCRE2).  The plain variants compile with MustCompile, so a
 * bad pattern is an error (Go's panic text); the must* variants return the
 * compile error; regexMatch swallows it and returns false.
 */
#include "tmpl.h"
#include "goregex.h"
#include <string.h>

static void free_re(void *p) { goregex_free(p); }

/* Compile; NULL with *err set ("error parsing regexp: ..."). */
static GoRegex *compile(Ctx *c, const Value *pat, const char **err)
{
	char buf[512];
	GoRegex *re = goregex_compile(pat->u.s.p, pat->u.s.n, buf, sizeof(buf));
	if (!re) {
		*err = arena_strdup(c->a, buf);
		return NULL;
	}
	arena_defer(c->a, free_re, re);
	return re;
}

static GoRegex *must_compile(Ctx *c, const Value *pat, bool must, int *rc)
{
	const char *err;
	GoRegex *re = compile(c, pat, &err);
	if (!re) {
		if (must)
			*rc = fn_error(c, "%s", err);
		else
			*rc = fn_error(c, "regexp: Compile(%s): %s",
				       arena_printf(c->a, "`%.*s`", (int)pat->u.s.n, pat->u.s.p), err);
	}
	return re;
}

static int f_regex_match(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *err;
	GoRegex *re = compile(c, a[0], &err);
	if (!re) {
		if (!strcmp(c->fname, "mustRegexMatch"))
			return fn_error(c, "%s", err);
		*ret = value_false();
		return 0;
	}
	ssize_t m[2 * (goregex_ncap(re) + 1)];
	*ret = value_bool(goregex_exec(re, a[1]->u.s.p, a[1]->u.s.n, 0, m));
	return 0;
}

typedef struct Collect {
	Ctx *c;
	const char *s;
	Value **items;
	size_t n, cap;
	ssize_t *pairs;     /* for split: [start, end] of each match */
} Collect;

static void collect(void *ctx, const ssize_t *m)
{
	Collect *k = ctx;
	if (k->n == k->cap) {
		size_t nc = k->cap ? k->cap * 2 : 8;
		Value **ni = arena_alloc(k->c->a, nc * sizeof(Value *));
		ssize_t *np = arena_alloc(k->c->a, nc * 2 * sizeof(ssize_t));
		if (k->n) {
			memcpy(ni, k->items, k->n * sizeof(Value *));
			memcpy(np, k->pairs, k->n * 2 * sizeof(ssize_t));
		}
		k->items = ni;
		k->pairs = np;
		k->cap = nc;
	}
	k->items[k->n] = value_strn(k->c->a, k->s + m[0], (size_t)(m[1] - m[0]));
	k->pairs[2 * k->n] = m[0];
	k->pairs[2 * k->n + 1] = m[1];
	k->n++;
}

static int f_regex_find_all(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	int rc = 0;
	GoRegex *re = must_compile(c, a[0], !strcmp(c->fname, "mustRegexFindAll"), &rc);
	if (!re)
		return rc;
	Collect k = { .c = c, .s = a[1]->u.s.p };
	goregex_find_all(re, a[1]->u.s.p, a[1]->u.s.n, (long)a[2]->u.i, collect, &k);
	*ret = value_list_from(c->a, k.items, k.n, GT_STRING);
	return 0;
}

static int f_regex_find(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	int rc = 0;
	GoRegex *re = must_compile(c, a[0], !strcmp(c->fname, "mustRegexFind"), &rc);
	if (!re)
		return rc;
	ssize_t m[2 * (goregex_ncap(re) + 1)];
	if (goregex_exec(re, a[1]->u.s.p, a[1]->u.s.n, 0, m))
		*ret = value_strn(c->a, a[1]->u.s.p + m[0], (size_t)(m[1] - m[0]));
	else
		*ret = value_str(c->a, "");
	return 0;
}

static void emit_abuf(void *ctx, const char *p, size_t n) { abuf_add(ctx, p, n); }

static int replace_impl(Ctx *c, Value **a, bool literal, bool must, Value **ret)
{
	int rc = 0;
	GoRegex *re = must_compile(c, a[0], must, &rc);
	if (!re)
		return rc;
	ABuf b;
	abuf_init(&b, c->a);
	goregex_replace_all(re, a[1]->u.s.p, a[1]->u.s.n, a[2]->u.s.p, a[2]->u.s.n, literal, emit_abuf, &b);
	*ret = value_str_nocopy(c->a, abuf_str(&b), b.len);
	return 0;
}

static int f_regex_replace_all(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	return replace_impl(c, a, false, !strcmp(c->fname, "mustRegexReplaceAll"), ret);
}

static int f_regex_replace_all_literal(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	return replace_impl(c, a, true, !strcmp(c->fname, "mustRegexReplaceAllLiteral"), ret);
}

static int f_regex_split(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	int rc = 0;
	GoRegex *re = must_compile(c, a[0], !strcmp(c->fname, "mustRegexSplit"), &rc);
	if (!re)
		return rc;
	const char *s = a[1]->u.s.p;
	size_t sn = a[1]->u.s.n;
	int64_t lim = a[2]->u.i;
	if (lim == 0) {
		*ret = value_list(c->a, 0, GT_STRING);
		return 0;
	}
	if (!goregex_empty_expr(re) && sn == 0) {
		Value *e = value_str(c->a, "");
		*ret = value_list_from(c->a, &e, 1, GT_STRING);
		return 0;
	}
	Collect k = { .c = c, .s = s };
	goregex_find_all(re, s, sn, (long)lim, collect, &k);
	Value **out = arena_alloc(c->a, (k.n + 2) * sizeof(Value *));
	size_t cnt = 0, beg = 0, end = 0;
	for (size_t i = 0; i < k.n; i++) {
		if (lim > 0 && (int64_t)cnt == lim - 1)
			break;
		end = (size_t)k.pairs[2 * i];
		if (k.pairs[2 * i + 1] != 0)
			out[cnt++] = value_strn(c->a, s + beg, end - beg);
		beg = (size_t)k.pairs[2 * i + 1];
	}
	if (end != sn)
		out[cnt++] = value_strn(c->a, s + beg, sn - beg);
	*ret = value_list_from(c->a, out, cnt, GT_STRING);
	return 0;
}

static int f_regex_quote_meta(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	ABuf b;
	abuf_init(&b, c->a);
	for (size_t i = 0; i < a[0]->u.s.n; i++) {
		char ch = a[0]->u.s.p[i];
		if (strchr("\\.+*?()|[]{}^$", ch) && ch)
			abuf_addc(&b, '\\');
		abuf_addc(&b, ch);
	}
	*ret = value_str_nocopy(c->a, abuf_str(&b), b.len);
	return 0;
}

const FuncDef funcs_regex[] = {
	{ "regexMatch", "ss", f_regex_match, 0 },
	{ "mustRegexMatch", "ss", f_regex_match, 0 },
	{ "regexFindAll", "ssi", f_regex_find_all, 0 },
	{ "mustRegexFindAll", "ssi", f_regex_find_all, 0 },
	{ "regexFind", "ss", f_regex_find, 0 },
	{ "mustRegexFind", "ss", f_regex_find, 0 },
	{ "regexReplaceAll", "sss", f_regex_replace_all, 0 },
	{ "mustRegexReplaceAll", "sss", f_regex_replace_all, 0 },
	{ "regexReplaceAllLiteral", "sss", f_regex_replace_all_literal, 0 },
	{ "mustRegexReplaceAllLiteral", "sss", f_regex_replace_all_literal, 0 },
	{ "regexSplit", "ssi", f_regex_split, 0 },
	{ "mustRegexSplit", "ssi", f_regex_split, 0 },
	{ "regexQuoteMeta", "s", f_regex_quote_meta, 0 },
	{ NULL, NULL, NULL, 0 },
};
