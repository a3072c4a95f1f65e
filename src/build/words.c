/* words.c - Docker's shell-word rules for the instructions it substitutes
 * in (ENV, ARG, LABEL, COPY/ADD, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL,
 * FROM): quotes are removed ('...' literal, "..." with expansion), the
 * escape character makes the next character literal, and $VAR, ${VAR} and
 * the ${VAR:-w} ${VAR-w} ${VAR:+w} ${VAR+w} ${VAR:?m} ${VAR?m} forms are
 * expanded (unset variables become "").  Output and nesting are capped: a
 * Dockerfile is untrusted input.
 */
#include "build.h"
#include "../base/limits.h"
#include "../base/strbuf.h"
#include <ctype.h>
#include <string.h>

#define MAX_NESTING 32

typedef struct Lexer {
	const char *p;
	char escape;
	BuildLookup lookup;
	void *ud;
	int depth;
	const char *word;  /* for messages */
} Lexer;

static int word_until(Lexer *lx, StrBuf *out, char stop, Error **err);

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static int check_size(Lexer *lx, const StrBuf *out, Error **err)
{
	if (out->len > BERTH_MAX_BUILD_WORD)
		return err_set(err, E2BIG, "'%.40s': expansion is larger than %u bytes", lx->word,
			       BERTH_MAX_BUILD_WORD);
	return 0;
}

/* After "${": NAME, then '}' or an operator and a word up to the matching '}'. */
static int dollar_brace(Lexer *lx, StrBuf *out, Error **err)
{
	const char *ns = lx->p;
	while (name_char(*lx->p))
		lx->p++;
	if (lx->p == ns)
		return err_set(err, EINVAL, "'%.60s': bad substitution", lx->word);
	_cleanup_free_ char *name = xstrndup(ns, (size_t)(lx->p - ns));
	const char *val = lx->lookup ? lx->lookup(name, lx->ud) : NULL;
	if (*lx->p == '}') {
		lx->p++;
		if (val)
			sb_adds(out, val);
		return check_size(lx, out, err);
	}
	bool colon = *lx->p == ':';
	if (colon)
		lx->p++;
	char op = *lx->p;
	if (op != '-' && op != '+' && op != '?')
		return err_set(err, EINVAL, "'%.60s': unsupported modifier (%c) in substitution", lx->word,
			       op ? op : '}');
	lx->p++;
	if (++lx->depth > MAX_NESTING)
		return err_set(err, EINVAL, "'%.60s': substitutions nested too deeply", lx->word);
	StrBuf w = STRBUF_INIT;
	int r = word_until(lx, &w, '}', err);
	lx->depth--;
	if (r < 0) {
		sb_release(&w);
		return r;
	}
	if (*lx->p != '}') {
		sb_release(&w);
		return err_set(err, EINVAL, "'%.60s': missing '}' in substitution", lx->word);
	}
	lx->p++;
	bool set = val && (!colon || *val);
	if (op == '-')
		sb_adds(out, set ? val : sb_str(&w));
	else if (op == '+')
		sb_adds(out, set ? sb_str(&w) : "");
	else if (set)
		sb_adds(out, val);
	else
		r = err_set(err, EINVAL, "%s: %s", name, w.len ? sb_str(&w) : "is not allowed to be unset");
	sb_release(&w);
	return r < 0 ? r : check_size(lx, out, err);
}

/* At '$'. */
static int dollar(Lexer *lx, StrBuf *out, Error **err)
{
	lx->p++;
	if (*lx->p == '{') {
		lx->p++;
		return dollar_brace(lx, out, err);
	}
	if (!name_char(*lx->p)) {
		sb_addc(out, '$');
		return 0;
	}
	const char *ns = lx->p;
	while (name_char(*lx->p))
		lx->p++;
	_cleanup_free_ char *name = xstrndup(ns, (size_t)(lx->p - ns));
	const char *val = lx->lookup ? lx->lookup(name, lx->ud) : NULL;
	if (val)
		sb_adds(out, val);
	return check_size(lx, out, err);
}

static int single_quoted(Lexer *lx, StrBuf *out, Error **err)
{
	lx->p++;
	const char *e = strchr(lx->p, '\'');
	if (!e)
		return err_set(err, EINVAL, "'%.60s': unexpected end of statement while looking for matching "
			       "single-quote", lx->word);
	sb_add(out, lx->p, (size_t)(e - lx->p));
	lx->p = e + 1;
	return 0;
}

static int double_quoted(Lexer *lx, StrBuf *out, Error **err)
{
	lx->p++;
	while (*lx->p && *lx->p != '"') {
		if (*lx->p == '$') {
			int r = dollar(lx, out, err);
			if (r < 0)
				return r;
			continue;
		}
		if (*lx->p == lx->escape && lx->p[1]) {
			char n = lx->p[1];
			if (n != '"' && n != '$' && n != lx->escape)
				sb_addc(out, lx->escape);
			sb_addc(out, n);
			lx->p += 2;
			continue;
		}
		sb_addc(out, *lx->p++);
	}
	if (*lx->p != '"')
		return err_set(err, EINVAL, "'%.60s': unexpected end of statement while looking for matching "
			       "double-quote", lx->word);
	lx->p++;
	return check_size(lx, out, err);
}

/* Process until `stop` (0: the end) at nesting level 0 of quotes. */
static int word_until(Lexer *lx, StrBuf *out, char stop, Error **err)
{
	while (*lx->p && *lx->p != stop) {
		int r = 0;
		char c = *lx->p;
		if (c == lx->escape) {
			if (lx->p[1]) {
				sb_addc(out, lx->p[1]);
				lx->p += 2;
			} else {
				lx->p++;
			}
		} else if (c == '\'') {
			r = single_quoted(lx, out, err);
		} else if (c == '"') {
			r = double_quoted(lx, out, err);
		} else if (c == '$') {
			r = dollar(lx, out, err);
		} else {
			sb_addc(out, c);
			lx->p++;
		}
		if (r < 0)
			return r;
	}
	return check_size(lx, out, err);
}

int build_word_expand(const char *word, char escape, BuildLookup lookup, void *ud, char **ret, Error **err)
{
	Lexer lx = { .p = word, .escape = escape, .lookup = lookup, .ud = ud, .word = word };
	StrBuf out = STRBUF_INIT;
	sb_adds(&out, "");
	int r = word_until(&lx, &out, 0, err);
	if (r < 0) {
		sb_release(&out);
		return r;
	}
	*ret = sb_detach(&out);
	return 0;
}

int build_text_expand(const char *text, BuildLookup lookup, void *ud, char **ret, Error **err)
{
	Lexer lx = { .p = text, .escape = 0, .lookup = lookup, .ud = ud, .word = text };
	StrBuf out = STRBUF_INIT;
	sb_adds(&out, "");
	while (*lx.p) {
		int r = 0;
		if (*lx.p == '$')
			r = dollar(&lx, &out, err);
		else
			sb_addc(&out, *lx.p++);
		if (r == 0)
			r = check_size(&lx, &out, err);
		if (r < 0) {
			sb_release(&out);
			return r;
		}
	}
	*ret = sb_detach(&out);
	return 0;
}

int build_words_split(const char *text, char escape, char ***ret, Error **err)
{
	size_t n = 0;
	char **v = xcalloc(1, sizeof(char *));
	const char *p = text;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			break;
		const char *s = p;
		char quote = 0;
		while (*p && (quote || !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))) {
			if (*p == escape && quote != '\'' && p[1]) {
				p += 2;
				continue;
			}
			if (quote && *p == quote)
				quote = 0;
			else if (!quote && (*p == '"' || *p == '\''))
				quote = *p;
			p++;
		}
		if (quote) {
			strv_free(v);
			return err_set(err, EINVAL, "unterminated %s quote in '%.60s'",
				       quote == '"' ? "double" : "single", text);
		}
		v = xrealloc(v, (n + 2) * sizeof(char *));
		v[n++] = xstrndup(s, (size_t)(p - s));
		v[n] = NULL;
	}
	*ret = v;
	return 0;
}
