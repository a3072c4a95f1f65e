/* funcs-strings.c - Sprig's string functions (strings.go, goutils, xstrings):
 * trim*, case conversions, abbrev/wrap/indent, quote/cat, split/join, etc.
 * Behaviour follows the Go code these wrap, including its byte-versus-rune
 * quirks (nospace and initials work on bytes, as goutils does).
 */
#include "tmpl.h"
#include "unicode.h"
#include "../base/limits.h"
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define SV(k) (a[k]->u.s.p)
#define SL(k) (a[k]->u.s.n)
#define IV(k) (a[k]->u.i)

static int ret_buf(Ctx *c, ABuf *b, Value **ret)
{
	*ret = value_str_nocopy(c->a, abuf_str(b), b->len);
	return 0;
}

static int ret_strn(Ctx *c, const char *s, size_t n, Value **ret)
{
	*ret = value_strn(c->a, s, n);
	return 0;
}

/* strval: string, Stringer, else fmt %v. */
const char *value_to_string(Ctx *c, const Value *v, size_t *len)
{
	if (v && v->kind == VK_STRING) {
		*len = v->u.s.n;
		return v->u.s.p;
	}
	ABuf b;
	abuf_init(&b, c->a);
	if (v && v->kind == VK_LIST && v->type == GT_UINT8) {
		for (size_t i = 0; i < v->u.l->len; i++)
			abuf_addc(&b, (char)v->u.l->items[i]->u.u);
	} else if (value_is_nil(v)) {
		abuf_adds(&b, "<nil>");
	} else
		gofmt_value(&b, v);
	*len = b.len;
	return abuf_str(&b);
}

static int f_to_string(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	size_t len;
	const char *s = value_to_string(c, a[0], &len);
	return ret_strn(c, s, len, ret);
}

typedef uint32_t (*rune_map)(uint32_t);

static void map_runes(ABuf *b, const char *s, size_t n, rune_map f)
{
	for (size_t i = 0; i < n;) {
		size_t w;
		uint32_t r = utf8_decode(s + i, n - i, &w);
		if (r == 0xFFFD && w == 1 && (unsigned char)s[i] >= 0x80)
			abuf_adds(b, "\xEF\xBF\xBD");
		else
			abuf_rune(b, f(r));
		i += w;
	}
}

static int f_upper(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	ABuf b;
	abuf_init(&b, c->a);
	map_runes(&b, SV(0), SL(0), rune_to_upper);
	return ret_buf(c, &b, ret);
}

static int f_lower(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	ABuf b;
	abuf_init(&b, c->a);
	map_runes(&b, SV(0), SL(0), rune_to_lower);
	return ret_buf(c, &b, ret);
}

static bool title_separator(uint32_t r)
{
	if (r <= 0x7F)
		return !((r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r == '_');
	if (rune_is_letter(r) || rune_is_digit(r))
		return false;
	return rune_is_space(r);
}

static int f_title(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	ABuf b;
	abuf_init(&b, c->a);
	uint32_t prev = ' ';
	for (size_t i = 0; i < SL(0);) {
		size_t w;
		uint32_t r = utf8_decode(SV(0) + i, SL(0) - i, &w);
		abuf_rune(&b, title_separator(prev) ? rune_to_title(r) : r);
		prev = r;
		i += w;
	}
	return ret_buf(c, &b, ret);
}

static int f_untitle(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	ABuf b;
	abuf_init(&b, c->a);
	bool next = true;
	for (size_t i = 0; i < SL(0);) {
		size_t w;
		uint32_t r = utf8_decode(SV(0) + i, SL(0) - i, &w);
		if (rune_is_space(r))
			next = true;
		else if (next) {
			r = rune_to_lower(r);
			next = false;
		}
		abuf_rune(&b, r);
		i += w;
	}
	return ret_buf(c, &b, ret);
}

static int f_swapcase(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	ABuf b;
	abuf_init(&b, c->a);
	bool ws = true;
	for (size_t i = 0; i < SL(0);) {
		size_t w;
		uint32_t r = utf8_decode(SV(0) + i, SL(0) - i, &w);
		if (rune_is_upper(r) || rune_is_title(r)) {
			r = rune_to_lower(r);
			ws = false;
		} else if (rune_is_lower(r)) {
			r = ws ? rune_to_title(r) : rune_to_upper(r);
			ws = false;
		} else
			ws = rune_is_space(r);
		abuf_rune(&b, r);
		i += w;
	}
	return ret_buf(c, &b, ret);
}

static bool is_trim_space(uint32_t r) { return rune_is_space(r); }

static int f_trim(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *s = SV(0);
	size_t st = 0, en = SL(0);
	while (st < en) {
		size_t w;
		uint32_t r = utf8_decode(s + st, en - st, &w);
		if (!is_trim_space(r))
			break;
		st += w;
	}
	while (en > st) {
		size_t p = en - 1;
		while (p > st && ((unsigned char)s[p] & 0xC0) == 0x80)
			p--;
		size_t w;
		uint32_t r = utf8_decode(s + p, en - p, &w);
		if (p + w != en || !is_trim_space(r))
			break;
		en = p;
	}
	return ret_strn(c, s + st, en - st, ret);
}

static bool in_cutset(const char *cut, size_t cn, uint32_t r)
{
	for (size_t i = 0; i < cn;) {
		size_t w;
		uint32_t x = utf8_decode(cut + i, cn - i, &w);
		if (x == r)
			return true;
		i += w;
	}
	return false;
}

/* strings.Trim(b, a): cutset a. */
static int f_trim_all(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *s = SV(1), *cut = SV(0);
	size_t st = 0, en = SL(1), cn = SL(0);
	while (st < en) {
		size_t w;
		uint32_t r = utf8_decode(s + st, en - st, &w);
		if (!in_cutset(cut, cn, r))
			break;
		st += w;
	}
	while (en > st) {
		size_t p = en - 1;
		while (p > st && ((unsigned char)s[p] & 0xC0) == 0x80)
			p--;
		size_t w;
		uint32_t r = utf8_decode(s + p, en - p, &w);
		if (!in_cutset(cut, cn, r))
			break;
		en = p;
	}
	return ret_strn(c, s + st, en - st, ret);
}

static int f_trim_suffix(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (SL(1) >= SL(0) && !memcmp(SV(1) + SL(1) - SL(0), SV(0), SL(0)))
		return ret_strn(c, SV(1), SL(1) - SL(0), ret);
	*ret = a[1];
	return 0;
}

static int f_trim_prefix(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (SL(1) >= SL(0) && !memcmp(SV(1), SV(0), SL(0)))
		return ret_strn(c, SV(1) + SL(0), SL(1) - SL(0), ret);
	*ret = a[1];
	return 0;
}

static int f_contains(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c; (void)n;
	*ret = value_bool(SL(0) == 0 || (SL(1) >= SL(0) && memmem(SV(1), SL(1), SV(0), SL(0))));
	return 0;
}

static int f_has_prefix(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c; (void)n;
	*ret = value_bool(SL(1) >= SL(0) && !memcmp(SV(1), SV(0), SL(0)));
	return 0;
}

static int f_has_suffix(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c; (void)n;
	*ret = value_bool(SL(1) >= SL(0) && !memcmp(SV(1) + SL(1) - SL(0), SV(0), SL(0)));
	return 0;
}

/* goutils.DeleteWhiteSpace: byte-wise, re-encoding kept bytes as runes. */
static int f_nospace(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	ABuf b;
	abuf_init(&b, c->a);
	size_t kept = 0;
	for (size_t i = 0; i < SL(0); i++) {
		uint32_t ch = (unsigned char)SV(0)[i];
		if (!rune_is_space(ch)) {
			abuf_rune(&b, ch);
			kept++;
		}
	}
	if (kept == SL(0)) {
		*ret = a[0];
		return 0;
	}
	return ret_buf(c, &b, ret);
}

static int f_initials(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	ABuf b;
	abuf_init(&b, c->a);
	bool gap = true;
	for (size_t i = 0; i < SL(0); i++) {
		uint32_t ch = (unsigned char)SV(0)[i];
		if (rune_is_space(ch))
			gap = true;
		else if (gap) {
			abuf_rune(&b, ch);
			gap = false;
		}
	}
	return ret_buf(c, &b, ret);
}

/* goutils.AbbreviateFull; sets *err on an illegal width. */
static const char *abbreviate_full(Ctx *c, const char *s, size_t len, int64_t offset, int64_t max, size_t *olen, bool *err)
{
	*err = false;
	if (len == 0) {
		*olen = 0;
		return "";
	}
	if (max < 4) {
		*err = true;
		return "";
	}
	int64_t l = (int64_t)len;
	if (l <= max) {
		*olen = len;
		return s;
	}
	if (offset > l)
		offset = l;
	if (l - offset < max - 3)
		offset = l - (max - 3);
	ABuf b;
	abuf_init(&b, c->a);
	if (offset <= 4) {
		abuf_add(&b, s, (size_t)(max - 3));
		abuf_adds(&b, "...");
	} else if (max < 7) {
		*err = true;
		return "";
	} else if (offset + max - 3 < l) {
		size_t il;
		bool e2;
		const char *inner = abbreviate_full(c, s + offset, (size_t)(l - offset), 0, max - 3, &il, &e2);
		abuf_adds(&b, "...");
		abuf_add(&b, inner, il);
	} else {
		abuf_adds(&b, "...");
		abuf_add(&b, s + l - (max - 3), (size_t)(max - 3));
	}
	*olen = b.len;
	return abuf_str(&b);
}

static int f_abbrev(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (IV(0) < 4) {
		*ret = a[1];
		return 0;
	}
	size_t l;
	bool e;
	const char *r = abbreviate_full(c, SV(1), SL(1), 0, IV(0), &l, &e);
	return ret_strn(c, r, l, ret);
}

static int f_abbrevboth(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	int64_t left = IV(0), right = IV(1);
	if (right < 4 || (left > 0 && right < 7)) {
		*ret = a[2];
		return 0;
	}
	size_t l;
	bool e;
	const char *r = abbreviate_full(c, SV(2), SL(2), left, right, &l, &e);
	return ret_strn(c, r, l, ret);
}

static int f_trunc(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	int64_t k = IV(0), len = (int64_t)SL(1);
	if (k < 0 && len + k > 0)
		return ret_strn(c, SV(1) + len + k, (size_t)-k, ret);
	if (k >= 0 && len > k)
		return ret_strn(c, SV(1), (size_t)k, ret);
	*ret = a[1];
	return 0;
}

static int f_substr(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	int64_t st = IV(0), en = IV(1), len = (int64_t)SL(2);
	if (st < 0) {
		if (en < 0 || en > len)
			return fn_error(c, "runtime error: slice bounds out of range [:%lld] with length %lld",
					(long long)en, (long long)len);
		return ret_strn(c, SV(2), (size_t)en, ret);
	}
	if (en < 0 || en > len) {
		if (st > len)
			return fn_error(c, "runtime error: slice bounds out of range [%lld:%lld]", (long long)st, (long long)len);
		return ret_strn(c, SV(2) + st, (size_t)(len - st), ret);
	}
	if (st > en)
		return fn_error(c, "runtime error: slice bounds out of range [%lld:%lld]", (long long)st, (long long)en);
	return ret_strn(c, SV(2) + st, (size_t)(en - st), ret);
}

static int f_repeat(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	int64_t k = IV(0);
	if (k < 0)
		return fn_error(c, "strings: negative Repeat count");
	if (SL(1) && (uint64_t)k > BERTH_MAX_TEMPLATE_OUTPUT / SL(1))
		return fn_error(c, "strings: Repeat output length overflow");
	ABuf b;
	abuf_init(&b, c->a);
	for (int64_t i = 0; i < k; i++)
		abuf_add(&b, SV(1), SL(1));
	return ret_buf(c, &b, ret);
}

static int f_indent_impl(Ctx *c, Value **a, bool nl, Value **ret)
{
	int64_t k = IV(0);
	if (k < 0)
		return fn_error(c, "strings: negative Repeat count");
	if ((uint64_t)k > BERTH_MAX_TEMPLATE_OUTPUT)
		return fn_error(c, "strings: Repeat output length overflow");
	ABuf b;
	abuf_init(&b, c->a);
	if (nl)
		abuf_addc(&b, '\n');
	for (int64_t i = 0; i < k; i++)
		abuf_addc(&b, ' ');
	for (size_t i = 0; i < SL(1); i++) {
		abuf_addc(&b, SV(1)[i]);
		if (SV(1)[i] == '\n')
			for (int64_t j = 0; j < k; j++)
				abuf_addc(&b, ' ');
	}
	return ret_buf(c, &b, ret);
}

static int f_indent(Ctx *c, Value **a, int n, Value **ret) { (void)n; return f_indent_impl(c, a, false, ret); }
static int f_nindent(Ctx *c, Value **a, int n, Value **ret) { (void)n; return f_indent_impl(c, a, true, ret); }

/* strings.Replace(src, old, new, -1) */
static int f_replace(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *old = SV(0), *nw = SV(1), *src = SV(2);
	size_t on = SL(0), nn = SL(1), sn = SL(2);
	ABuf b;
	abuf_init(&b, c->a);
	if (on == 0) {
		/* empty old: insert new before every rune and at the end */
		abuf_add(&b, nw, nn);
		for (size_t i = 0; i < sn;) {
			size_t w;
			utf8_decode(src + i, sn - i, &w);
			abuf_add(&b, src + i, w);
			abuf_add(&b, nw, nn);
			i += w;
		}
		return ret_buf(c, &b, ret);
	}
	size_t i = 0;
	while (i < sn) {
		const char *m = sn - i >= on ? memmem(src + i, sn - i, old, on) : NULL;
		if (!m) {
			abuf_add(&b, src + i, sn - i);
			break;
		}
		abuf_add(&b, src + i, (size_t)(m - (src + i)));
		abuf_add(&b, nw, nn);
		i = (size_t)(m - src) + on;
	}
	return ret_buf(c, &b, ret);
}

static int f_plural(Ctx *c, Value **a, int n, Value **ret)
{
	(void)c; (void)n;
	*ret = IV(2) == 1 ? a[0] : a[1];
	return 0;
}

static int f_quote(Ctx *c, Value **a, int n, Value **ret)
{
	ABuf b;
	abuf_init(&b, c->a);
	bool first = true;
	for (int i = 0; i < n; i++) {
		if (value_is_nil(a[i]))
			continue;
		if (!first)
			abuf_addc(&b, ' ');
		first = false;
		size_t len;
		const char *s = value_to_string(c, a[i], &len);
		go_quote(&b, s, len, false);
	}
	return ret_buf(c, &b, ret);
}

static int f_squote(Ctx *c, Value **a, int n, Value **ret)
{
	ABuf b;
	abuf_init(&b, c->a);
	bool first = true;
	for (int i = 0; i < n; i++) {
		if (value_is_nil(a[i]))
			continue;
		if (!first)
			abuf_addc(&b, ' ');
		first = false;
		abuf_addc(&b, '\'');
		gofmt_value(&b, a[i]);
		abuf_addc(&b, '\'');
	}
	return ret_buf(c, &b, ret);
}

static int f_cat(Ctx *c, Value **a, int n, Value **ret)
{
	ABuf b;
	abuf_init(&b, c->a);
	bool first = true;
	for (int i = 0; i < n; i++) {
		if (value_is_nil(a[i]))
			continue;
		if (!first)
			abuf_addc(&b, ' ');
		first = false;
		gofmt_value(&b, a[i]);
	}
	return ret_buf(c, &b, ret);
}

/* goutils.WrapCustom */
static int wrap_custom(Ctx *c, const char *s, size_t len, int64_t wl, const char *nl, size_t nln, bool long_words, Value **ret)
{
	if (len == 0)
		return ret_strn(c, "", 0, ret);
	if (nln == 0) {
		nl = "\n";
		nln = 1;
	}
	if (wl < 1)
		wl = 1;
	size_t w = (size_t)wl;
	size_t off = 0;
	ABuf b;
	abuf_init(&b, c->a);
	while (len - off > w) {
		if (s[off] == ' ') {
			off++;
			continue;
		}
		size_t end = w + off + 1;
		ssize_t sp = -1;
		for (size_t k = off; k < end && k < len; k++)
			if (s[k] == ' ')
				sp = (ssize_t)k;
		if (sp >= (ssize_t)off) {
			abuf_add(&b, s + off, (size_t)sp - off);
			abuf_add(&b, nl, nln);
			off = (size_t)sp + 1;
		} else if (long_words) {
			abuf_add(&b, s + off, w);
			abuf_add(&b, nl, nln);
			off += w;
		} else {
			size_t e = w + off;
			const char *q = memchr(s + e, ' ', len - e);
			if (!q) {
				abuf_add(&b, s + off, len - off);
				off = len;
			} else {
				size_t at = (size_t)(q - s);
				abuf_add(&b, s + off, at - off);
				abuf_add(&b, nl, nln);
				off = at + 1;
			}
		}
	}
	abuf_add(&b, s + off, len - off);
	return ret_buf(c, &b, ret);
}

static int f_wrap(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	return wrap_custom(c, SV(1), SL(1), IV(0), "", 0, false, ret);
}

static int f_wrap_with(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	return wrap_custom(c, SV(2), SL(2), IV(0), SV(1), SL(1), true, ret);
}

/* ---- xstrings case conversions ------------------------------------------------------ */
static bool is_connector(uint32_t r) { return r == '-' || r == '_' || rune_is_space(r); }

static int f_camelcase(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char *s = SV(0);
	size_t len = SL(0), i = 0;
	ABuf b;
	abuf_init(&b, c->a);
	if (len == 0)
		return ret_buf(c, &b, ret);
	uint32_t r0 = 0, r1;
	size_t w = 0;
	while (i < len) {
		r0 = utf8_decode(s + i, len - i, &w);
		i += w;
		if (!is_connector(r0)) {
			r0 = rune_to_upper(r0);
			break;
		}
		abuf_rune(&b, r0);
	}
	if (i >= len) {
		if (w != 0 && !(is_connector(r0) && b.len))
			abuf_rune(&b, r0);
		return ret_buf(c, &b, ret);
	}
	while (i < len) {
		r1 = r0;
		r0 = utf8_decode(s + i, len - i, &w);
		i += w;
		if (is_connector(r0) && is_connector(r1)) {
			abuf_rune(&b, r1);
			continue;
		}
		if (is_connector(r1))
			r0 = rune_to_upper(r0);
		else
			abuf_rune(&b, r1);
	}
	abuf_rune(&b, r0);
	return ret_buf(c, &b, ret);
}

typedef enum { W_INVALID, W_NUMBER, W_UPPER, W_ALPHA, W_CONNECTOR, W_PUNCT, W_OTHER } WordType;

static bool is_alphabet(uint32_t r)
{
	if (!rune_is_letter(r))
		return false;
	/* CJK ideographs are not alphabets for xstrings */
	if ((r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x3040 && r <= 0x30FF) ||
	    (r >= 0xAC00 && r <= 0xD7AF))
		return false;
	return true;
}

static uint32_t next_valid(const char *s, size_t n, uint32_t prev, size_t *size)
{
	*size = 0;
	size_t i = 0;
	while (i < n) {
		size_t w;
		uint32_t r = utf8_decode(s + i, n - i, &w);
		*size += w;
		if (!(r == 0xFFFD && w == 1 && (unsigned char)s[i] >= 0x80))
			return r;
		i += w;
	}
	return prev;
}

/* xstrings nextWord: classify and measure the next word. */
static WordType next_word(const char *s, size_t n, size_t *wlen)
{
	*wlen = 0;
	if (n == 0)
		return W_INVALID;
	size_t off, sz;
	const char *rem = s;
	size_t rn = n;
	uint32_t r = next_valid(rem, rn, 0xFFFD, &sz);
	off = sz;
	if (r == 0xFFFD && (unsigned char)s[0] >= 0x80) {
		*wlen = off;
		return W_INVALID;
	}
	WordType wt;
#define ADV() do { rem += sz; rn -= sz; } while (0)
	if (is_connector(r)) {
		wt = W_CONNECTOR;
		ADV();
		while (rn > 0) {
			r = next_valid(rem, rn, r, &sz);
			if (!is_connector(r))
				break;
			off += sz;
			ADV();
		}
	} else if (rune_is_punct(r)) {
		wt = W_PUNCT;
		ADV();
		while (rn > 0) {
			r = next_valid(rem, rn, r, &sz);
			if (!rune_is_punct(r))
				break;
			off += sz;
			ADV();
		}
	} else if (rune_is_upper(r)) {
		wt = W_UPPER;
		ADV();
		if (rn > 0) {
			r = next_valid(rem, rn, r, &sz);
			if (rune_is_upper(r)) {
				size_t prev = sz;
				off += sz;
				ADV();
				while (rn > 0) {
					r = next_valid(rem, rn, r, &sz);
					if (!rune_is_upper(r))
						break;
					prev = sz;
					off += sz;
					ADV();
				}
				if (rn > 0 && is_alphabet(r))
					off -= prev;
			} else if (is_alphabet(r)) {
				off += sz;
				ADV();
				while (rn > 0) {
					r = next_valid(rem, rn, r, &sz);
					if (!is_alphabet(r) || rune_is_upper(r))
						break;
					off += sz;
					ADV();
				}
			}
		}
	} else if (is_alphabet(r)) {
		wt = W_ALPHA;
		ADV();
		while (rn > 0) {
			r = next_valid(rem, rn, r, &sz);
			if (!is_alphabet(r) || rune_is_upper(r))
				break;
			off += sz;
			ADV();
		}
	} else if (rune_is_number(r)) {
		wt = W_NUMBER;
		ADV();
		while (rn > 0) {
			r = next_valid(rem, rn, r, &sz);
			if (!rune_is_number(r))
				break;
			off += sz;
			ADV();
		}
	} else {
		wt = W_OTHER;
		ADV();
		while (rn > 0) {
			r = next_valid(rem, rn, r, &sz);
			if (sz == 0 || is_connector(r) || is_alphabet(r) || rune_is_number(r) || rune_is_punct(r))
				break;
			off += sz;
			ADV();
		}
	}
#undef ADV
	*wlen = off;
	return wt;
}

static void to_lower_word(ABuf *b, WordType wt, const char *s, size_t n, char conn)
{
	if (wt != W_UPPER && wt != W_CONNECTOR) {
		abuf_add(b, s, n);
		return;
	}
	for (size_t i = 0; i < n;) {
		size_t w;
		uint32_t r = utf8_decode(s + i, n - i, &w);
		if (is_connector(r))
			abuf_addc(b, conn);
		else
			abuf_rune(b, rune_to_lower(r));
		i += w;
	}
}

static int lower_case_words(Ctx *c, const char *s, size_t len, char conn, Value **ret)
{
	ABuf b;
	abuf_init(&b, c->a);
	if (len == 0)
		return ret_buf(c, &b, ret);
	size_t wl;
	WordType wt = next_word(s, len, &wl);
	const char *word = s;
	const char *rem = s + wl;
	size_t rn = len - wl;
#define NEXT() do { word = rem; wt = next_word(rem, rn, &wl); rem += wl; rn -= wl; } while (0)
	while (rn > 0) {
		if (wt != W_CONNECTOR)
			to_lower_word(&b, wt, word, (size_t)(rem - word), conn);
		WordType prev = wt;
		const char *last = word;
		size_t lastn = (size_t)(rem - word);
		NEXT();
		switch (prev) {
		case W_NUMBER:
			while (wt == W_ALPHA || wt == W_NUMBER) {
				to_lower_word(&b, wt, word, (size_t)(rem - word), conn);
				NEXT();
			}
			if (wt != W_INVALID && wt != W_PUNCT && wt != W_CONNECTOR)
				abuf_addc(&b, conn);
			break;
		case W_CONNECTOR:
			to_lower_word(&b, prev, last, lastn, conn);
			break;
		case W_PUNCT:
			break;
		default:
			if (wt != W_NUMBER) {
				if (wt != W_CONNECTOR && wt != W_PUNCT)
					abuf_addc(&b, conn);
				break;
			}
			if (rn == 0)
				break;
			{
				const char *nlast = word;
				size_t nlastn = (size_t)(rem - word);
				NEXT();
				if (wt != W_ALPHA) {
					to_lower_word(&b, W_NUMBER, nlast, nlastn, conn);
					if (wt != W_CONNECTOR && wt != W_PUNCT)
						abuf_addc(&b, conn);
					break;
				}
				abuf_addc(&b, conn);
				to_lower_word(&b, W_NUMBER, nlast, nlastn, conn);
				while (wt == W_ALPHA || wt == W_NUMBER) {
					to_lower_word(&b, wt, word, (size_t)(rem - word), conn);
					NEXT();
				}
				if (wt != W_INVALID && wt != W_CONNECTOR && wt != W_PUNCT)
					abuf_addc(&b, conn);
			}
		}
	}
#undef NEXT
	to_lower_word(&b, wt, word, (size_t)(rem - word), conn);
	return ret_buf(c, &b, ret);
}

static int f_snakecase(Ctx *c, Value **a, int n, Value **ret) { (void)n; return lower_case_words(c, SV(0), SL(0), '_', ret); }
static int f_kebabcase(Ctx *c, Value **a, int n, Value **ret) { (void)n; return lower_case_words(c, SV(0), SL(0), '-', ret); }

static uint64_t rand_u64(void)
{
	uint64_t x = 0;
	if (getrandom(&x, sizeof(x), 0) != sizeof(x))
		x = (uint64_t)random() << 32 ^ (uint64_t)random();
	return x;
}

static int f_shuffle(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	size_t cnt = utf8_count(SV(0), SL(0));
	uint32_t *r = arena_alloc(c->a, (cnt ? cnt : 1) * sizeof(uint32_t));
	size_t k = 0;
	for (size_t i = 0; i < SL(0);) {
		size_t w;
		r[k++] = utf8_decode(SV(0) + i, SL(0) - i, &w);
		i += w;
	}
	for (size_t i = cnt; i > 1; i--) {
		size_t j = (size_t)(rand_u64() % i);
		uint32_t t = r[i - 1];
		r[i - 1] = r[j];
		r[j] = t;
	}
	ABuf b;
	abuf_init(&b, c->a);
	for (size_t i = 0; i < cnt; i++)
		abuf_rune(&b, r[i]);
	return ret_buf(c, &b, ret);
}

static int random_string(Ctx *c, int64_t count, const char *alphabet, Value **ret)
{
	if (count < 0 || (uint64_t)count > BERTH_MAX_TEMPLATE_OUTPUT)
		return ret_strn(c, "", 0, ret);
	size_t n = strlen(alphabet);
	ABuf b;
	abuf_init(&b, c->a);
	for (int64_t i = 0; i < count; i++)
		abuf_addc(&b, alphabet[rand_u64() % n]);
	return ret_buf(c, &b, ret);
}

#define ALPHA "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
static int f_rand_alnum(Ctx *c, Value **a, int n, Value **ret) { (void)n; return random_string(c, IV(0), ALPHA "0123456789", ret); }
static int f_rand_alpha(Ctx *c, Value **a, int n, Value **ret) { (void)n; return random_string(c, IV(0), ALPHA, ret); }
static int f_rand_numeric(Ctx *c, Value **a, int n, Value **ret) { (void)n; return random_string(c, IV(0), "0123456789", ret); }
static int f_rand_ascii(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	char printable[96];
	for (int i = 0; i < 95; i++)
		printable[i] = (char)(32 + i);
	printable[95] = 0;
	return random_string(c, IV(0), printable, ret);
}

/* ---- splitting and joining ------------------------------------------------------------- */
/* strings.SplitN(s, sep, n) into parts (n < 0: all). */
static size_t split_parts(Ctx *c, const char *s, size_t sn, const char *sep, size_t sepn, int64_t n,
			  const char ***ps, size_t **pl)
{
	size_t cap = 8, cnt = 0;
	const char **p = arena_alloc(c->a, cap * sizeof(char *));
	size_t *l = arena_alloc(c->a, cap * sizeof(size_t));
#define PUSH(ptr, len) do { if (cnt == cap) { cap *= 2; const char **np = arena_alloc(c->a, cap * sizeof(char *)); \
	size_t *nl = arena_alloc(c->a, cap * sizeof(size_t)); memcpy(np, p, cnt * sizeof(char *)); \
	memcpy(nl, l, cnt * sizeof(size_t)); p = np; l = nl; } p[cnt] = (ptr); l[cnt] = (len); cnt++; } while (0)
	if (n == 0) {
		*ps = p;
		*pl = l;
		return 0;
	}
	if (sepn == 0) {
		/* explode into runes */
		size_t i = 0;
		while (i < sn) {
			if (n > 0 && (int64_t)cnt == n - 1) {
				PUSH(s + i, sn - i);
				i = sn;
				break;
			}
			size_t w;
			utf8_decode(s + i, sn - i, &w);
			PUSH(s + i, w);
			i += w;
		}
	} else {
		size_t i = 0;
		for (;;) {
			if (n > 0 && (int64_t)cnt == n - 1) {
				PUSH(s + i, sn - i);
				break;
			}
			const char *m = sn - i >= sepn ? memmem(s + i, sn - i, sep, sepn) : NULL;
			if (!m) {
				PUSH(s + i, sn - i);
				break;
			}
			PUSH(s + i, (size_t)(m - (s + i)));
			i = (size_t)(m - s) + sepn;
		}
	}
#undef PUSH
	*ps = p;
	*pl = l;
	return cnt;
}

static int f_split_list(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	const char **p;
	size_t *l;
	size_t cnt = split_parts(c, SV(1), SL(1), SV(0), SL(0), -1, &p, &l);
	Value *r = value_list(c->a, cnt, GT_STRING);
	for (size_t i = 0; i < cnt; i++)
		r->u.l->items[i] = value_strn(c->a, p[i], l[i]);
	*ret = r;
	return 0;
}

static int split_map(Ctx *c, const char *s, size_t sn, const char *sep, size_t sepn, int64_t k, Value **ret)
{
	const char **p;
	size_t *l;
	size_t cnt = split_parts(c, s, sn, sep, sepn, k, &p, &l);
	Value *m = value_map(c->a, GT_STRING);
	for (size_t i = 0; i < cnt; i++) {
		char key[32];
		int kl = snprintf(key, sizeof(key), "_%zu", i);
		map_set(m, key, (size_t)kl, value_strn(c->a, p[i], l[i]));
	}
	*ret = m;
	return 0;
}

static int f_split(Ctx *c, Value **a, int n, Value **ret) { (void)n; return split_map(c, SV(1), SL(1), SV(0), SL(0), -1, ret); }
static int f_splitn(Ctx *c, Value **a, int n, Value **ret) { (void)n; return split_map(c, SV(2), SL(2), SV(0), SL(0), IV(1), ret); }

/* sprig's strslice: []string view of a value (nils dropped). */
Value *value_to_strings(Ctx *c, const Value *v);
Value *value_to_strings(Ctx *c, const Value *v)
{
	if (v && v->kind == VK_LIST) {
		if (v->type == GT_STRING)
			return (Value *)v;
		Value *r = value_list(c->a, v->u.l->len, GT_STRING);
		size_t k = 0;
		for (size_t i = 0; i < v->u.l->len; i++) {
			if (value_is_nil(v->u.l->items[i]))
				continue;
			size_t len;
			const char *s = value_to_string(c, v->u.l->items[i], &len);
			r->u.l->items[k++] = value_strn(c->a, s, len);
		}
		r->u.l->len = r->u.l->cap = k;
		return r;
	}
	if (value_is_nil(v))
		return value_list(c->a, 0, GT_STRING);
	size_t len;
	const char *s = value_to_string(c, v, &len);
	Value *r = value_list(c->a, 1, GT_STRING);
	r->u.l->items[0] = value_strn(c->a, s, len);
	return r;
}

static int f_to_strings(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	*ret = value_to_strings(c, a[0]);
	return 0;
}

static int f_join(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	Value *l = value_to_strings(c, a[1]);
	ABuf b;
	abuf_init(&b, c->a);
	for (size_t i = 0; i < l->u.l->len; i++) {
		if (i)
			abuf_add(&b, SV(0), SL(0));
		abuf_add(&b, l->u.l->items[i]->u.s.p, l->u.l->items[i]->u.s.n);
	}
	return ret_buf(c, &b, ret);
}

static int str_cmp(const void *x, const void *y)
{
	const Value *a = *(Value *const *)x, *b = *(Value *const *)y;
	size_t n = a->u.s.n < b->u.s.n ? a->u.s.n : b->u.s.n;
	int r = n ? memcmp(a->u.s.p, b->u.s.p, n) : 0;
	if (r)
		return r;
	return a->u.s.n < b->u.s.n ? -1 : a->u.s.n > b->u.s.n;
}

static int f_sort_alpha(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	if (a[0] && a[0]->kind == VK_LIST) {
		Value *l = value_to_strings(c, a[0]);
		Value *r = value_list_from(c->a, l->u.l->items, l->u.l->len, GT_STRING);
		qsort(r->u.l->items, r->u.l->len, sizeof(Value *), str_cmp);
		*ret = r;
		return 0;
	}
	size_t len;
	const char *s = value_to_string(c, a[0], &len);
	Value *r = value_list(c->a, 1, GT_STRING);
	r->u.l->items[0] = value_strn(c->a, s, len);
	*ret = r;
	return 0;
}

const FuncDef funcs_strings[] = {
	{ "abbrev", "is", f_abbrev, 0 },
	{ "abbrevboth", "iis", f_abbrevboth, 0 },
	{ "trunc", "is", f_trunc, 0 },
	{ "trim", "s", f_trim, 0 },
	{ "upper", "s", f_upper, 0 },
	{ "lower", "s", f_lower, 0 },
	{ "title", "s", f_title, 0 },
	{ "untitle", "s", f_untitle, 0 },
	{ "substr", "iis", f_substr, 0 },
	{ "repeat", "is", f_repeat, 0 },
	{ "trimall", "ss", f_trim_all, 0 },
	{ "trimAll", "ss", f_trim_all, 0 },
	{ "trimSuffix", "ss", f_trim_suffix, 0 },
	{ "trimPrefix", "ss", f_trim_prefix, 0 },
	{ "nospace", "s", f_nospace, 0 },
	{ "initials", "s", f_initials, 0 },
	{ "randAlphaNum", "i", f_rand_alnum, 0 },
	{ "randAlpha", "i", f_rand_alpha, 0 },
	{ "randAscii", "i", f_rand_ascii, 0 },
	{ "randNumeric", "i", f_rand_numeric, 0 },
	{ "swapcase", "s", f_swapcase, 0 },
	{ "shuffle", "s", f_shuffle, 0 },
	{ "snakecase", "s", f_snakecase, 0 },
	{ "camelcase", "s", f_camelcase, 0 },
	{ "kebabcase", "s", f_kebabcase, 0 },
	{ "wrap", "is", f_wrap, 0 },
	{ "wrapWith", "iss", f_wrap_with, 0 },
	{ "contains", "ss", f_contains, 0 },
	{ "hasPrefix", "ss", f_has_prefix, 0 },
	{ "hasSuffix", "ss", f_has_suffix, 0 },
	{ "quote", "a*", f_quote, 0 },
	{ "squote", "a*", f_squote, 0 },
	{ "cat", "a*", f_cat, 0 },
	{ "indent", "is", f_indent, 0 },
	{ "nindent", "is", f_nindent, 0 },
	{ "replace", "sss", f_replace, 0 },
	{ "plural", "ssi", f_plural, 0 },
	{ "toString", "a", f_to_string, 0 },
	{ "split", "ss", f_split, 0 },
	{ "splitList", "ss", f_split_list, 0 },
	{ "splitn", "sis", f_splitn, 0 },
	{ "toStrings", "a", f_to_strings, 0 },
	{ "join", "sa", f_join, 0 },
	{ "sortAlpha", "a", f_sort_alpha, 0 },
	{ NULL, NULL, NULL, 0 },
};
