/* chart-files.c - Helm's `.Files` (pkg/engine/files.go): the chart's files
 * outside templates/ as a Go named map type (engine.files) with the methods
 * Get, GetBytes, Glob, Lines, AsConfig and AsSecrets.  The map itself can be
 * indexed (`.Files.name`), ranged and measured with len, as in Go.
 *
 * Glob uses gobwas/glob's syntax with '/' as the separator (`*`, `**`, `?`,
 * `[...]`, `[!...]`, `{a,b}`, `\` escapes); an invalid pattern matches
 * everything, as Helm falls back to "**".
 *
 * Deviation: map entries are strings, not []byte (printf "%s" and every
 * string function see the same text; `{{ .Files.name }}` alone prints the
 * text instead of Go's byte list).  GetBytes returns a real []uint8.
 */
#include "chart-internal.h"
#include "tmpl.h"
#include "../shared/yaml.h"
#include <stdlib.h>
#include <string.h>

static const FuncDef files_methods[];

static Value *files_new(Arena *a)
{
	Value *m = value_map(a, GT_ANY);
	m->u.m->methods = files_methods;
	m->u.m->type_name = "engine.files";
	return m;
}

Value *chart_files_value(Arena *a, const ChartFile *files, size_t n)
{
	Value *m = files_new(a);
	for (size_t i = 0; i < n; i++)
		map_sets(m, files[i].name, value_str_nocopy(a, files[i].data ? files[i].data : "", files[i].len));
	return m;
}

static const Value *entry(Ctx *c, const Value *name)
{
	return map_get(c->self, name->u.s.p, name->u.s.n);
}

/* ---- Get / GetBytes / Lines --------------------------------------------------------------------- */
static int m_get(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const Value *v = entry(c, a[0]);
	*r = v ? value_str_nocopy(c->a, v->u.s.p, v->u.s.n) : value_str_nocopy(c->a, "", 0);
	return 0;
}

static int m_get_bytes(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const Value *v = entry(c, a[0]);
	size_t len = v ? v->u.s.n : 0;
	Value *l = value_list(c->a, len, GT_UINT8);
	for (size_t i = 0; i < len; i++)
		l->u.l->items[i] = value_uint_typed(c->a, (unsigned char)v->u.s.p[i], GT_UINT8);
	*r = l;
	return 0;
}

/* strings.Split(s minus one trailing "\n", "\n"); a missing or empty file: []. */
static int m_lines(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const Value *v = entry(c, a[0]);
	if (!v || !v->u.s.n) {
		*r = value_list(c->a, 0, GT_STRING);
		return 0;
	}
	const char *s = v->u.s.p;
	size_t len = v->u.s.n;
	if (len && s[len - 1] == '\n')
		len--;
	size_t cnt = 1;
	for (size_t i = 0; i < len; i++)
		cnt += s[i] == '\n';
	Value *l = value_list(c->a, cnt, GT_STRING);
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= len; i++)
		if (i == len || s[i] == '\n') {
			l->u.l->items[k++] = value_str_nocopy(c->a, s + start, i - start);
			start = i + 1;
		}
	*r = l;
	return 0;
}

/* ---- Glob: gobwas/glob with '/' separators -------------------------------------------------------- */
#define GLOB_MAX_ALTS 4096

/* Index of the '}' closing the '{' at p[i], or -1. */
static long brace_end(const char *p, size_t n, size_t i)
{
	int depth = 0;
	for (; i < n; i++) {
		if (p[i] == '\\') {
			i++;
			continue;
		}
		if (p[i] == '{')
			depth++;
		else if (p[i] == '}' && --depth == 0)
			return (long)i;
	}
	return -1;
}

/* Expand the first {a,b} of p into its alternatives, recursively, into out.
 * Returns -1 on a syntax error or too many alternatives. */
static int expand(Arena *a, const char *p, size_t n, const char ***out, size_t *nout, size_t *cap)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\') {
			i++;
			continue;
		}
		if (p[i] == '}')
			return -1;
		if (p[i] != '{')
			continue;
		long e = brace_end(p, n, i);
		if (e < 0)
			return -1;
		size_t start = i + 1;
		int depth = 0;
		for (size_t k = i + 1; k <= (size_t)e; k++) {
			if (p[k] == '\\') {
				k++;
				continue;
			}
			if (p[k] == '{')
				depth++;
			else if (p[k] == '}' && depth > 0)
				depth--;
			else if ((p[k] == ',' && depth == 0) || k == (size_t)e) {
				ABuf b;
				abuf_init(&b, a);
				abuf_add(&b, p, i);
				abuf_add(&b, p + start, k - start);
				abuf_add(&b, p + e + 1, n - (size_t)e - 1);
				if (expand(a, abuf_str(&b), b.len, out, nout, cap) < 0)
					return -1;
				start = k + 1;
			}
		}
		return 0;
	}
	if (*nout >= GLOB_MAX_ALTS)
		return -1;
	if (*nout == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		const char **nw = arena_alloc(a, *cap * sizeof *nw);
		if (*nout)
			memcpy(nw, *out, *nout * sizeof *nw);
		*out = nw;
	}
	(*out)[(*nout)++] = arena_strndup(a, p, n);
	return 0;
}

/* Does the class at p (after '[') match rune ch?  *len gets the class length
 * up to and including ']'; -1 when unterminated. */
static int class_match(const char *p, uint32_t ch, size_t *len)
{
	const char *q = p;
	bool neg = *q == '!';
	if (neg)
		q++;
	bool hit = false;
	bool first = true;
	while (*q && (first || *q != ']')) {
		first = false;
		size_t sz;
		uint32_t lo = utf8_decode(q, strlen(q), &sz);
		q += sz;
		uint32_t hi = lo;
		if (*q == '-' && q[1] && q[1] != ']') {
			hi = utf8_decode(q + 1, strlen(q + 1), &sz);
			q += 1 + sz;
		}
		if (ch >= lo && ch <= hi)
			hit = true;
	}
	if (*q != ']')
		return -1;
	*len = (size_t)(q + 1 - p);
	return hit != neg;
}

/* Match one brace-free pattern; -1 on a syntax error. */
static int glob_match1(const char *p, const char *s, int budget[static 1])
{
	if (--*budget < 0)
		return 0;
	while (*p) {
		if (*p == '*') {
			bool any = p[1] == '*';
			p += any ? 2 : 1;
			while (*p == '*')
				p++;
			for (const char *t = s;; t++) {
				int m = glob_match1(p, t, budget);
				if (m != 0)
					return m;
				if (!*t || (!any && *t == '/'))
					return 0;
			}
		}
		if (!*s)
			return 0;
		size_t sz;
		uint32_t ch = utf8_decode(s, strlen(s), &sz);
		if (*p == '?') {
			if (ch == '/')
				return 0;
			p++;
		} else if (*p == '[') {
			size_t cl;
			int m = class_match(p + 1, ch, &cl);
			if (m < 0)
				return -1;
			if (!m)
				return 0;
			p += 1 + cl;
		} else {
			if (*p == '\\') {
				p++;
				if (!*p)
					return -1;
			}
			size_t psz;
			uint32_t pc = utf8_decode(p, strlen(p), &psz);
			if (pc != ch)
				return 0;
			p += psz;
		}
		s += sz;
	}
	return !*s;
}

/* Classes terminated, no trailing backslash. */
static bool glob_valid1(const char *p)
{
	for (; *p; p++) {
		if (*p == '\\') {
			if (!*++p)
				return false;
		} else if (*p == '[') {
			size_t cl;
			if (class_match(p + 1, 0, &cl) < 0)
				return false;
			p += cl;
		}
	}
	return true;
}

/* 1 match, 0 no match, -1 invalid pattern. */
int chart_glob_match(Arena *a, const char *pattern, const char *name)
{
	const char **alts = NULL;
	size_t n = 0, cap = 0;
	if (expand(a, pattern, strlen(pattern), &alts, &n, &cap) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!glob_valid1(alts[i]))
			return -1;
	int budget = 1 << 20;      /* steps for all alternatives: backtracking stays bounded */
	for (size_t i = 0; i < n; i++) {
		int m = glob_match1(alts[i], name, &budget);
		if (m != 0)
			return m;
	}
	return 0;
}

static int m_glob(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const char *pat = arena_strndup(c->a, a[0]->u.s.p, a[0]->u.s.n);
	const VMap *m = c->self->u.m;
	Value *out = files_new(c->a);
	/* an invalid pattern falls back to "**": every file */
	bool all = chart_glob_match(c->a, pat, "") < 0;
	for (size_t i = 0; i < m->len; i++) {
		const char *name = arena_strndup(c->a, m->e[i].key, m->e[i].klen);
		if (all || chart_glob_match(c->a, pat, name) > 0)
			map_set(out, m->e[i].key, m->e[i].klen, m->e[i].val);
	}
	*r = out;
	return 0;
}

/* ---- AsConfig / AsSecrets: toYAML(map[path.Base(name)]string) ---------------------------------- */
static const char *base_name(const char *k, size_t n, size_t *bn)
{
	while (n > 1 && k[n - 1] == '/')
		n--;
	size_t i = n;
	while (i > 0 && k[i - 1] != '/')
		i--;
	*bn = n - i;
	return k + i;
}

static int as_yaml(Ctx *c, bool secrets, Value **r)
{
	const VMap *m = c->self->u.m;
	if (!m->len) {
		*r = value_str_nocopy(c->a, "{}", 2);
		return 0;
	}
	Value *mv = value_map(c->a, GT_STRING);
	for (size_t i = 0; i < m->len; i++) {
		size_t bn;
		const char *b = base_name(m->e[i].key, m->e[i].klen, &bn);
		const Value *v = m->e[i].val;
		Value *s;
		if (secrets) {
			ABuf e;
			abuf_init(&e, c->a);
			base64_encode(&e, (const unsigned char *)v->u.s.p, v->u.s.n);
			s = value_strn(c->a, e.p ? e.p : "", e.len);
		} else {
			s = value_str_nocopy(c->a, v->u.s.p, v->u.s.n);
		}
		map_set(mv, b, bn, s);   /* later names (Go's random order) win: sorted here */
	}
	json_t *j = value_to_json(mv);
	StrBuf sb = STRBUF_INIT;
	Error *e = NULL;
	int rc = yaml_emit(j, 0, &sb, &e);
	json_decref(j);
	if (rc < 0) {      /* Helm's toYAML swallows errors: "" */
		err_free(e);
		sb_release(&sb);
		*r = value_str_nocopy(c->a, "", 0);
		return 0;
	}
	size_t len = sb.len;
	if (len && sb.buf[len - 1] == '\n')
		len--;
	*r = value_strn(c->a, sb.buf ? sb.buf : "", len);
	sb_release(&sb);
	return 0;
}

static int m_as_config(Ctx *c, Value **a, int n, Value **r)
{
	(void)a; (void)n;
	return as_yaml(c, false, r);
}

static int m_as_secrets(Ctx *c, Value **a, int n, Value **r)
{
	(void)a; (void)n;
	return as_yaml(c, true, r);
}

static const FuncDef files_methods[] = {
	{ "AsConfig", "", m_as_config, 0 },
	{ "AsSecrets", "", m_as_secrets, 0 },
	{ "Get", "s", m_get, 0 },
	{ "GetBytes", "s", m_get_bytes, 0 },
	{ "Glob", "s", m_glob, 0 },
	{ "Lines", "s", m_lines, 0 },
	{ NULL, NULL, NULL, 0 },
};
