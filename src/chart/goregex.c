/* goregex.c - Go's regexp (RE2 syntax, leftmost-first) on PCRE2, which is
 * also leftmost-first and accepts the RE2 syntax Helm charts use.  Adds the
 * Go-specific iteration rules: FindAll's handling of empty matches,
 * ReplaceAll's $name expansion, Split.  Options mirror Go: UTF-8, `$` only at
 * the very end, `.` not matching newline.  Compiled patterns are cached per
 * thread of use by the caller (chart renders are single-threaded).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "goregex.h"
#include "../base/cleanup.h"
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

struct GoRegex {
	pcre2_code *code;
	pcre2_match_data *md;
	int ncap;       /* capturing groups, not counting the whole match */
	bool empty_expr;
};

/* RE2 constructs PCRE2 would accept with a different meaning are rejected. */
static const char *re2_reject(const char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] == '\\') {
			char c = p[i + 1];
			if (c >= '1' && c <= '9')
				return "invalid escape sequence";
			i++;
			continue;
		}
		if (p[i] == '(' && p[i + 1] == '?' && i + 2 < n) {
			char c = p[i + 2];
			if (c == '=' || c == '!' || (c == '<' && i + 3 < n && (p[i + 3] == '=' || p[i + 3] == '!')))
				return "invalid or unsupported Perl syntax";
		}
	}
	return NULL;
}

GoRegex *goregex_compile(const char *pat, size_t n, char *errbuf, size_t errlen)
{
	const char *rej = re2_reject(pat, n);
	if (rej) {
		snprintf(errbuf, errlen, "error parsing regexp: %s: `%.*s`", rej, (int)(n > 200 ? 200 : n), pat);
		return NULL;
	}
	int ec;
	PCRE2_SIZE eo;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat, n,
					 PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_MATCH_INVALID_UTF | PCRE2_ALLOW_EMPTY_CLASS,
					 &ec, &eo, NULL);
	if (!code) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(errbuf, errlen, "error parsing regexp: %s: `%.*s`", (char *)msg, (int)(n > 200 ? 200 : n), pat);
		return NULL;
	}
	GoRegex *re = xcalloc(1, sizeof(*re));
	re->code = code;
	re->md = pcre2_match_data_create_from_pattern(code, NULL);
	uint32_t cc = 0;
	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &cc);
	re->ncap = (int)cc;
	re->empty_expr = n == 0;
	return re;
}

void goregex_free(GoRegex *re)
{
	if (!re)
		return;
	pcre2_match_data_free(re->md);
	pcre2_code_free(re->code);
	free(re);
}

int goregex_ncap(const GoRegex *re) { return re->ncap; }

bool goregex_exec(GoRegex *re, const char *s, size_t n, size_t start, ssize_t *m)
{
	int rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, start, 0, re->md, NULL);
	if (rc < 0)
		return false;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
	for (int i = 0; i <= re->ncap; i++) {
		if (i < rc && ov[2 * i] != PCRE2_UNSET) {
			m[2 * i] = (ssize_t)ov[2 * i];
			m[2 * i + 1] = (ssize_t)ov[2 * i + 1];
		} else
			m[2 * i] = m[2 * i + 1] = -1;
	}
	return true;
}

static size_t rune_width(const char *s, size_t n, size_t pos)
{
	if (pos >= n)
		return 0;
	unsigned char c = (unsigned char)s[pos];
	size_t w = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
	if (pos + w > n)
		w = 1;
	for (size_t i = 1; i < w; i++)
		if (((unsigned char)s[pos + i] & 0xC0) != 0x80)
			return 1;
	return w;
}

size_t goregex_find_all(GoRegex *re, const char *s, size_t n, long limit,
			void (*deliver)(void *ctx, const ssize_t *m), void *ctx)
{
	if (limit < 0)
		limit = (long)n + 1;
	size_t count = 0;
	size_t pos = 0;
	ssize_t prev_end = -1;
	ssize_t m[2 * (re->ncap + 1)];
	while ((long)count < limit && pos <= n) {
		if (!goregex_exec(re, s, n, pos, m))
			break;
		bool accept = true;
		if ((size_t)m[1] == pos) {
			if (m[0] == prev_end)
				accept = false;
			size_t w = rune_width(s, n, pos);
			pos = w > 0 ? pos + w : n + 1;
		} else
			pos = (size_t)m[1];
		prev_end = m[1];
		if (accept) {
			deliver(ctx, m);
			count++;
		}
	}
	return count;
}

/* Regexp.expand for $1, ${1}, $name, ${name}, $$. */
static void expand(const char *tmpl, size_t tn, const char *src, const ssize_t *m, GoRegex *re,
		   void (*emit)(void *ctx, const char *p, size_t n), void *ctx)
{
	size_t i = 0;
	while (i < tn) {
		const char *d = memchr(tmpl + i, '$', tn - i);
		if (!d) {
			emit(ctx, tmpl + i, tn - i);
			return;
		}
		emit(ctx, tmpl + i, (size_t)(d - (tmpl + i)));
		i = (size_t)(d - tmpl) + 1;
		if (i < tn && tmpl[i] == '$') {
			emit(ctx, "$", 1);
			i++;
			continue;
		}
		/* extract name */
		bool brace = i < tn && tmpl[i] == '{';
		size_t st = brace ? i + 1 : i, e = st;
		while (e < tn && ((tmpl[e] >= 'a' && tmpl[e] <= 'z') || (tmpl[e] >= 'A' && tmpl[e] <= 'Z') ||
				  (tmpl[e] >= '0' && tmpl[e] <= '9') || tmpl[e] == '_'))
			e++;
		if (e == st || (brace && (e >= tn || tmpl[e] != '}'))) {
			/* malformed: emit the $ literally */
			emit(ctx, "$", 1);
			continue;
		}
		size_t nlen = e - st;
		i = brace ? e + 1 : e;
		bool numeric = true;
		long num = 0;
		for (size_t k = st; k < e; k++) {
			if (tmpl[k] < '0' || tmpl[k] > '9') {
				numeric = false;
				break;
			}
			num = num * 10 + (tmpl[k] - '0');
			if (num > 100000)
				break;
		}
		int group = -1;
		if (numeric)
			group = (int)num;
		else {
			char name[128];
			if (nlen < sizeof(name)) {
				memcpy(name, tmpl + st, nlen);
				name[nlen] = 0;
				int g = pcre2_substring_number_from_name(re->code, (PCRE2_SPTR)name);
				if (g > 0)
					group = g;
			}
		}
		if (group >= 0 && group <= re->ncap && m[2 * group] >= 0)
			emit(ctx, src + m[2 * group], (size_t)(m[2 * group + 1] - m[2 * group]));
	}
}

void goregex_replace_all(GoRegex *re, const char *src, size_t n, const char *repl, size_t rn, bool literal,
			 void (*emit)(void *ctx, const char *p, size_t n), void *ctx)
{
	size_t last = 0, search = 0;
	ssize_t m[2 * (re->ncap + 1)];
	while (search <= n) {
		if (!goregex_exec(re, src, n, search, m))
			break;
		emit(ctx, src + last, (size_t)m[0] - last);
		if ((size_t)m[1] > last || m[0] == 0) {
			if (literal)
				emit(ctx, repl, rn);
			else
				expand(repl, rn, src, m, re, emit, ctx);
		}
		last = (size_t)m[1];
		size_t w = rune_width(src, n, search);
		if (search + w > (size_t)m[1])
			search += w;
		else if (search + 1 > (size_t)m[1])
			search++;
		else
			search = (size_t)m[1];
	}
	emit(ctx, src + last, n - last);
}

bool goregex_empty_expr(const GoRegex *re) { return re->empty_expr; }
