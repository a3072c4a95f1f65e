/* ignore.c - .dockerignore: which context paths COPY/ADD never see.
 *
 * Docker's rules: one pattern a line, '#' lines and blank lines skipped,
 * surrounding blanks trimmed, a leading '!' makes an exception, each
 * pattern is cleaned like a path (leading '/' and "./" dropped, "a//b" and
 * "a/../b" folded).  '*' and '?' match within one path element, "**" any
 * number of directories (also none), "[...]" a class, '\' escapes.  A path
 * is excluded when the last pattern that matches it, or one of its parent
 * directories, is not an exception.
 */
#include "build.h"
#include "../base/limits.h"
#include "../base/strbuf.h"
#include <string.h>

typedef struct Pattern {
	char *glob;
	bool exception;
} Pattern;

struct BuildIgnore {
	Pattern *v;
	size_t n;
	bool exceptions;
};

/* ---- glob matching ---- */

/* [class] at *pp against c; advances *pp past it.  -1 when malformed. */
static int class_match(const char **pp, char c)
{
	const char *p = *pp + 1;
	bool neg = *p == '!' || *p == '^';
	if (neg)
		p++;
	bool hit = false, first = true;
	while (*p && (first || *p != ']')) {
		first = false;
		char lo = *p;
		if (lo == '\\' && p[1])
			lo = *++p;
		p++;
		char hi = lo;
		if (*p == '-' && p[1] && p[1] != ']') {
			hi = p[1];
			if (hi == '\\' && p[2])
				hi = *(p += 1 + 1);
			else
				p += 2;
			if (*p == hi)
				p++;
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	if (*p != ']')
		return -1;
	*pp = p + 1;
	return hit != neg;
}

/* Backtracking over '*' and "**" is memoised on (pattern offset, path
 * offset), so hostile patterns like "*a*a*a...b" stay polynomial. */
typedef struct Glob {
	const char *pat, *str;
	size_t slen;
	unsigned char *memo;   /* (plen+1) x (slen+1): 0 unknown, 1 no, 2 yes */
} Glob;

static bool glob_rec(Glob *g, const char *p, const char *s);

static bool glob_memo(Glob *g, const char *p, const char *s)
{
	size_t i = (size_t)(p - g->pat) * (g->slen + 1) + (size_t)(s - g->str);
	if (!g->memo[i])
		g->memo[i] = glob_rec(g, p, s) ? 2 : 1;
	return g->memo[i] == 2;
}

static bool glob_rec(Glob *g, const char *p, const char *s)
{
	while (*p) {
		if (p[0] == '*' && p[1] == '*') {
			while (*p == '*')
				p++;
			if (*p == '/')
				p++;
			if (!*p)
				return true;
			for (const char *t = s;; t++) {
				if ((t == s || t[-1] == '/') && glob_memo(g, p, t))
					return true;
				if (!*t)
					return false;
			}
		}
		if (*p == '*') {
			p++;
			for (const char *t = s;; t++) {
				if (glob_memo(g, p, t))
					return true;
				if (!*t || *t == '/')
					return false;
			}
		}
		if (!*s)
			return false;
		if (*p == '?') {
			if (*s == '/')
				return false;
			p++, s++;
			continue;
		}
		if (*p == '[') {
			if (*s == '/')
				return false;
			int r = class_match(&p, *s);
			if (r <= 0)
				return false;
			s++;
			continue;
		}
		if (*p == '\\' && p[1])
			p++;
		if (*p != *s)
			return false;
		p++, s++;
	}
	return !*s;
}

static bool glob_at(const char *p, const char *s, int depth)
{
	(void)depth;
	size_t plen = strlen(p), slen = strlen(s);
	if (plen > 4096 || slen > 4096)
		return false;
	Glob g = { .pat = p, .str = s, .slen = slen, .memo = xcalloc((plen + 1) * (slen + 1), 1) };
	bool r = glob_rec(&g, p, s);
	free(g.memo);
	return r;
}

bool build_glob_match(const char *pattern, const char *path)
{
	return glob_at(pattern, path, 0);
}

/* ---- patterns ---- */

/* filepath.Clean-like folding of a pattern; "" for the context root. */
static char *pattern_clean(const char *in)
{
	StrBuf out = STRBUF_INIT;
	sb_adds(&out, "");
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t n = (size_t)(e - p);
		if (n == 0)
			break;
		if (n == 1 && p[0] == '.') {
			/* skip */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(out.buf, '/');
			size_t keep = slash ? (size_t)(slash - out.buf) : 0;
			out.len = keep;
			out.buf[keep] = 0;
		} else {
			if (out.len)
				sb_addc(&out, '/');
			sb_add(&out, p, n);
		}
		p = e;
	}
	return sb_detach(&out);
}

int build_ignore_parse(const char *text, size_t len, BuildIgnore **ret, Error **err)
{
	if (len > BERTH_MAX_DOCKERIGNORE)
		return err_set(err, E2BIG, ".dockerignore: larger than %u bytes", BERTH_MAX_DOCKERIGNORE);
	BuildIgnore *ig = xcalloc(1, sizeof(*ig));
	const char *p = text, *end = text ? text + len : NULL;
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		const char *te = e;
		while (te > p && (te[-1] == ' ' || te[-1] == '\t' || te[-1] == '\r'))
			te--;
		_cleanup_free_ char *line = xstrndup(p, (size_t)(te - p));
		p = nl ? nl + 1 : end;
		if (!*line || line[0] == '#')
			continue;
		bool exc = line[0] == '!';
		const char *pat = exc ? line + 1 : line;
		while (*pat == ' ' || *pat == '\t')
			pat++;
		_cleanup_free_ char *clean = pattern_clean(pat);
		if (!*clean)
			continue;
		ig->v = xrealloc(ig->v, (ig->n + 1) * sizeof(Pattern));
		ig->v[ig->n++] = (Pattern){ .glob = TAKE_PTR(clean), .exception = exc };
		ig->exceptions |= exc;
	}
	*ret = ig;
	return 0;
}

void build_ignore_free(BuildIgnore *ig)
{
	if (!ig)
		return;
	for (size_t i = 0; i < ig->n; i++)
		free(ig->v[i].glob);
	free(ig->v);
	free(ig);
}

bool build_ignore_has_exceptions(const BuildIgnore *ig)
{
	return ig && ig->exceptions;
}

/* The pattern matches the path or one of its parent directories. */
static bool pattern_hits(const Pattern *pt, const char *path)
{
	if (glob_at(pt->glob, path, 0))
		return true;
	_cleanup_free_ char *copy = xstrdup(path);
	for (char *s = strrchr(copy, '/'); s; s = strrchr(copy, '/')) {
		*s = 0;
		if (glob_at(pt->glob, copy, 0))
			return true;
	}
	return false;
}

bool build_ignore_match(const BuildIgnore *ig, const char *path)
{
	if (!ig)
		return false;
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	while (*path == '/')
		path++;
	bool excluded = false;
	for (size_t i = 0; i < ig->n; i++)
		if (pattern_hits(&ig->v[i], path))
			excluded = !ig->v[i].exception;
	return excluded;
}
