/* gofmt.c - Go's fmt package (Sprint, Sprintln, Sprintf) and the bits of
 * strconv it relies on (FormatFloat, Quote), over our Value model.
 *
 * Templates print through fmt, so this file decides how 3, 3.0, 1e+06,
 * map[a:1] or %!d(string=x) look.  Float digits come from the C library
 * (glibc rounds exactly); shortest round-trip digits are found by trying
 * increasing precisions, then laid out with Go's %e/%f/%g rules.
 */
#include "tmpl.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ------------------------------------------------------------------------- */
uint32_t utf8_decode(const char *s0, size_t n, size_t *size)
{
	const unsigned char *s = (const unsigned char *)s0;
	if (n == 0) {
		*size = 0;
		return 0xFFFD;
	}
	unsigned char c = s[0];
	if (c < 0x80) {
		*size = 1;
		return c;
	}
	uint32_t r;
	size_t need;
	uint32_t min;
	if (c >= 0xC2 && c <= 0xDF) { r = c & 0x1F; need = 1; min = 0x80; }
	else if (c >= 0xE0 && c <= 0xEF) { r = c & 0x0F; need = 2; min = 0x800; }
	else if (c >= 0xF0 && c <= 0xF4) { r = c & 0x07; need = 3; min = 0x10000; }
	else { *size = 1; return 0xFFFD; }
	if (n < need + 1) { *size = 1; return 0xFFFD; }
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xC0) != 0x80) { *size = 1; return 0xFFFD; }
		r = r << 6 | (s[i] & 0x3F);
	}
	if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) { *size = 1; return 0xFFFD; }
	*size = need + 1;
	return r;
}

size_t utf8_count(const char *s, size_t n)
{
	size_t c = 0, i = 0;
	while (i < n) {
		size_t w;
		utf8_decode(s + i, n - i, &w);
		i += w;
		c++;
	}
	return c;
}

/* unicode.IsPrint, approximated without the full Unicode tables: everything
 * is printable except controls, non-ASCII spaces, format characters,
 * surrogates, private use and noncharacters. */
bool go_rune_is_print(uint32_t r)
{
	if (r < 0x20 || (r >= 0x7F && r < 0xA1))
		return false;
	if (r < 0x7F)
		return true;
	if (r == 0xAD || (r >= 0x600 && r <= 0x605) || r == 0x61C || r == 0x6DD || r == 0x70F || r == 0x8E2 ||
	    r == 0x180E || r == 0x1680 || (r >= 0x2000 && r <= 0x200F) || (r >= 0x2028 && r <= 0x202F) ||
	    (r >= 0x205F && r <= 0x206F) || r == 0x3000 || r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB) ||
	    (r >= 0xD800 && r <= 0xDFFF) || (r >= 0xE000 && r <= 0xF8FF) || (r >= 0xFDD0 && r <= 0xFDEF) ||
	    (r & 0xFFFE) == 0xFFFE || r == 0x110BD || r == 0x110CD || (r >= 0x1BCA0 && r <= 0x1BCA3) ||
	    (r >= 0x1D173 && r <= 0x1D17A) || r == 0xE0001 || (r >= 0xE0020 && r <= 0xE007F) ||
	    r >= 0xF0000 || r == 0x378 || r == 0x379 || (r >= 0x380 && r <= 0x383))
		return false;
	return true;
}

/* ---- strconv.Quote ----------------------------------------------------------------- */
static const char lowerhex[] = "0123456789abcdef";

static void escaped_rune(ABuf *b, uint32_t r, char quote, bool ascii)
{
	if (r == (uint32_t)quote || r == '\\') {
		abuf_addc(b, '\\');
		abuf_addc(b, (char)r);
		return;
	}
	if (ascii ? (r < 0x80 && go_rune_is_print(r)) : go_rune_is_print(r)) {
		abuf_rune(b, r);
		return;
	}
	switch (r) {
	case 7: abuf_adds(b, "\\a"); return;
	case 8: abuf_adds(b, "\\b"); return;
	case 12: abuf_adds(b, "\\f"); return;
	case 10: abuf_adds(b, "\\n"); return;
	case 13: abuf_adds(b, "\\r"); return;
	case 9: abuf_adds(b, "\\t"); return;
	case 11: abuf_adds(b, "\\v"); return;
	}
	if (r < ' ' || r == 0x7F) {
		abuf_adds(b, "\\x");
		abuf_addc(b, lowerhex[(r >> 4) & 0xF]);
		abuf_addc(b, lowerhex[r & 0xF]);
	} else if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) {
		abuf_adds(b, "\\ufffd");
	} else if (r < 0x10000) {
		abuf_adds(b, "\\u");
		for (int s = 12; s >= 0; s -= 4)
			abuf_addc(b, lowerhex[(r >> s) & 0xF]);
	} else {
		abuf_adds(b, "\\U");
		for (int s = 28; s >= 0; s -= 4)
			abuf_addc(b, lowerhex[(r >> s) & 0xF]);
	}
}

void go_quote(ABuf *b, const char *s, size_t n, bool ascii)
{
	abuf_addc(b, '"');
	size_t i = 0;
	while (i < n) {
		size_t w;
		uint32_t r = utf8_decode(s + i, n - i, &w);
		if (w == 1 && r == 0xFFFD && (unsigned char)s[i] >= 0x80) {
			abuf_adds(b, "\\x");
			abuf_addc(b, lowerhex[(unsigned char)s[i] >> 4]);
			abuf_addc(b, lowerhex[(unsigned char)s[i] & 0xF]);
			i++;
			continue;
		}
		escaped_rune(b, r, '"', ascii);
		i += w;
	}
	abuf_addc(b, '"');
}

void go_quote_rune(ABuf *b, uint32_t r, bool ascii)
{
	if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		r = 0xFFFD;
	abuf_addc(b, '\'');
	escaped_rune(b, r, '\'', ascii);
	abuf_addc(b, '\'');
}

/* ---- strconv.FormatFloat ------------------------------------------------------------- */
typedef struct Digits {
	char d[800];
	int nd, dp;
	bool neg;
} Digits;

/* Parse "%.*e" output into digits (trailing zeros trimmed). */
static void digits_from_e(Digits *g, const char *s)
{
	g->nd = 0;
	g->neg = false;
	if (*s == '-') {
		g->neg = true;
		s++;
	}
	int exp = 0;
	for (; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9' && g->nd < (int)sizeof(g->d))
			g->d[g->nd++] = *s;
	if (*s == 'e')
		exp = atoi(s + 1);
	while (g->nd > 0 && g->d[g->nd - 1] == '0')
		g->nd--;
	g->dp = exp + 1;
	if (g->nd == 0)
		g->dp = 0;
}

static void shortest_digits(Digits *g, double f)
{
	char buf[64];
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*e", p - 1, f);
		if (strtod(buf, NULL) == f)
			break;
	}
	digits_from_e(g, buf);
}

static void fixed_digits(Digits *g, double f, int ndigits)
{
	char buf[900];
	if (ndigits < 1)
		ndigits = 1;
	if (ndigits > 760)
		ndigits = 760;
	snprintf(buf, sizeof(buf), "%.*e", ndigits - 1, f);
	digits_from_e(g, buf);
}

static void fmt_e(ABuf *b, const Digits *d, int prec, char fmt)
{
	if (d->neg)
		abuf_addc(b, '-');
	abuf_addc(b, d->nd ? d->d[0] : '0');
	if (prec > 0) {
		abuf_addc(b, '.');
		int i = 1;
		int m = d->nd < prec + 1 ? d->nd : prec + 1;
		if (i < m) {
			abuf_add(b, d->d + i, (size_t)(m - i));
			i = m;
		}
		for (; i <= prec; i++)
			abuf_addc(b, '0');
	}
	abuf_addc(b, fmt);
	int exp = d->dp - 1;
	if (d->nd == 0)
		exp = 0;
	abuf_addc(b, exp < 0 ? '-' : '+');
	if (exp < 0)
		exp = -exp;
	if (exp < 10)
		abuf_addf(b, "0%d", exp);
	else
		abuf_addf(b, "%d", exp);
}

static void fmt_f(ABuf *b, const Digits *d, int prec)
{
	if (d->neg)
		abuf_addc(b, '-');
	if (d->dp > 0) {
		int m = d->nd < d->dp ? d->nd : d->dp;
		abuf_add(b, d->d, (size_t)m);
		for (; m < d->dp; m++)
			abuf_addc(b, '0');
	} else
		abuf_addc(b, '0');
	if (prec > 0) {
		abuf_addc(b, '.');
		for (int i = 0; i < prec; i++) {
			int j = d->dp + i;
			abuf_addc(b, j >= 0 && j < d->nd ? d->d[j] : '0');
		}
	}
}

static void fmt_x(ABuf *b, double f, int prec, char fmt)
{
	uint64_t bits;
	memcpy(&bits, &f, 8);
	bool neg = bits >> 63;
	int exp = (int)((bits >> 52) & 0x7FF);
	uint64_t mant = bits & ((1ULL << 52) - 1);
	if (exp == 0)
		exp++;
	else
		mant |= 1ULL << 52;
	exp -= 1023;
	if (mant == 0)
		exp = 0;
	mant <<= 60 - 52;
	while (mant != 0 && (mant & (1ULL << 60)) == 0) {
		mant <<= 1;
		exp--;
	}
	if (prec >= 0 && prec < 15) {
		unsigned shift = (unsigned)prec * 4;
		uint64_t extra = (mant << shift) & ((1ULL << 60) - 1);
		mant >>= 60 - shift;
		if ((extra | (mant & 1)) > (1ULL << 59))
			mant++;
		mant <<= 60 - shift;
		if (mant & (1ULL << 61)) {
			mant >>= 1;
			exp++;
		}
	}
	const char *hex = fmt == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
	if (neg)
		abuf_addc(b, '-');
	abuf_addc(b, '0');
	abuf_addc(b, fmt);
	abuf_addc(b, (char)('0' + ((mant >> 60) & 1)));
	mant <<= 4;
	if (prec < 0 && mant != 0) {
		abuf_addc(b, '.');
		while (mant != 0) {
			abuf_addc(b, hex[(mant >> 60) & 15]);
			mant <<= 4;
		}
	} else if (prec > 0) {
		abuf_addc(b, '.');
		for (int i = 0; i < prec; i++) {
			abuf_addc(b, hex[(mant >> 60) & 15]);
			mant <<= 4;
		}
	}
	abuf_addc(b, fmt == 'X' ? 'P' : 'p');
	abuf_addc(b, exp < 0 ? '-' : '+');
	if (exp < 0)
		exp = -exp;
	abuf_addf(b, exp < 10 ? "0%d" : "%d", exp);
}

void go_format_float(ABuf *b, double f, char fmt, int prec)
{
	if (isnan(f)) {
		abuf_adds(b, "NaN");
		return;
	}
	if (isinf(f)) {
		abuf_adds(b, f < 0 ? "-Inf" : "+Inf");
		return;
	}
	if (fmt == 'x' || fmt == 'X') {
		fmt_x(b, f, prec, fmt);
		return;
	}
	if (fmt == 'b') {
		uint64_t bits;
		memcpy(&bits, &f, 8);
		int exp = (int)((bits >> 52) & 0x7FF);
		uint64_t mant = bits & ((1ULL << 52) - 1);
		if (exp == 0)
			exp++;
		else
			mant |= 1ULL << 52;
		exp -= 1023 + 52;
		abuf_addf(b, "%s%llup%s%d", (bits >> 63) ? "-" : "", (unsigned long long)mant, exp >= 0 ? "+" : "", exp);
		return;
	}
	Digits d;
	bool shortest = prec < 0;
	if (shortest) {
		shortest_digits(&d, f);
		switch (fmt) {
		case 'e': case 'E': prec = d.nd > 1 ? d.nd - 1 : 0; break;
		case 'f': prec = d.nd - d.dp > 0 ? d.nd - d.dp : 0; break;
		case 'g': case 'G': prec = d.nd; break;
		}
	} else if (fmt == 'f') {
		char *buf = malloc((size_t)prec + 400);
		snprintf(buf, (size_t)prec + 400, "%.*f", prec, f);
		abuf_adds(b, buf);
		free(buf);
		return;
	} else {
		int digits = prec;
		if (fmt == 'e' || fmt == 'E')
			digits++;
		else if (prec == 0)
			prec = digits = 1;
		fixed_digits(&d, f, digits);
	}
	if (signbit(f))
		d.neg = true;
	switch (fmt) {
	case 'e': case 'E':
		fmt_e(b, &d, prec, fmt);
		return;
	case 'f':
		fmt_f(b, &d, prec);
		return;
	case 'g': case 'G': {
		int eprec = prec;
		if (eprec > d.nd && d.nd >= d.dp)
			eprec = d.nd;
		if (shortest)
			eprec = 6;
		int exp = d.dp - 1;
		if (d.nd == 0)
			exp = 0;
		if (exp < -4 || exp >= eprec) {
			if (prec > d.nd)
				prec = d.nd;
			fmt_e(b, &d, prec - 1, (char)(fmt + 'e' - 'g'));
			return;
		}
		if (prec > d.dp)
			prec = d.nd;
		fmt_f(b, &d, prec - d.dp > 0 ? prec - d.dp : 0);
		return;
	}
	}
	abuf_addc(b, '%');
	abuf_addc(b, fmt);
}

/* ---- the printer (fmt/print.go, fmt/format.go) --------------------------------------- */
typedef struct Fmt {
	ABuf *b;
	Arena *a;
	int wid, prec;
	bool wid_present, prec_present, minus, plus, sharp, space, zero, plus_v, sharp_v;
	bool erroring;
} Fmt;

static void pad_n(Fmt *f, int n)
{
	char c = f->zero ? '0' : ' ';
	for (int i = 0; i < n; i++)
		abuf_addc(f->b, c);
}

static void pad(Fmt *f, const char *s, size_t n)
{
	if (!f->wid_present || f->wid == 0) {
		abuf_add(f->b, s, n);
		return;
	}
	int width = f->wid - (int)utf8_count(s, n);
	if (!f->minus) {
		pad_n(f, width);
		abuf_add(f->b, s, n);
	} else {
		abuf_add(f->b, s, n);
		pad_n(f, width);
	}
}

static void pads(Fmt *f, const char *s) { pad(f, s, strlen(s)); }

static void fmt_integer(Fmt *f, uint64_t u, int base, bool is_signed, char verb, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEFX" : "0123456789abcdefx";
	bool negative = is_signed && (int64_t)u < 0;
	if (negative)
		u = -u;
	int prec = 0;
	if (f->prec_present) {
		prec = f->prec;
		if (prec == 0 && u == 0) {
			bool oz = f->zero;
			f->zero = false;
			if (f->wid_present)
				pad_n(f, f->wid);
			f->zero = oz;
			return;
		}
	} else if (f->zero && !f->minus && f->wid_present) {
		prec = f->wid;
		if (negative || f->plus || f->space)
			prec--;
	}
	if (prec > 1000000)
		prec = 1000000;
	size_t cap = 72 + (size_t)(prec > 0 ? prec : 0);
	char *buf = arena_alloc(f->a, cap);
	size_t i = cap;
	switch (base) {
	case 10: while (u >= 10) { buf[--i] = (char)('0' + u % 10); u /= 10; } break;
	case 16: while (u >= 16) { buf[--i] = digits[u & 0xF]; u >>= 4; } break;
	case 8: while (u >= 8) { buf[--i] = (char)('0' + (u & 7)); u >>= 3; } break;
	case 2: while (u >= 2) { buf[--i] = (char)('0' + (u & 1)); u >>= 1; } break;
	}
	buf[--i] = digits[u];
	while (i > 0 && prec > (int)(cap - i))
		buf[--i] = '0';
	if (f->sharp) {
		switch (base) {
		case 2: buf[--i] = 'b'; buf[--i] = '0'; break;
		case 8: if (buf[i] != '0') buf[--i] = '0'; break;
		case 16: buf[--i] = digits[16]; buf[--i] = '0'; break;
		}
	}
	if (verb == 'O') {
		buf[--i] = 'o';
		buf[--i] = '0';
	}
	if (negative)
		buf[--i] = '-';
	else if (f->plus)
		buf[--i] = '+';
	else if (f->space)
		buf[--i] = ' ';
	bool oz = f->zero;
	f->zero = false;
	pad(f, buf + i, cap - i);
	f->zero = oz;
}

static void fmt_unicode(Fmt *f, uint64_t u)
{
	ABuf t;
	abuf_init(&t, f->a);
	int prec = 4;
	if (f->prec_present && f->prec > 4)
		prec = f->prec > 1000 ? 1000 : f->prec;
	abuf_addf(&t, "U+%0*llX", prec, (unsigned long long)u);
	if (f->sharp && u <= 0x10FFFF && go_rune_is_print((uint32_t)u)) {
		abuf_adds(&t, " '");
		abuf_rune(&t, (uint32_t)u);
		abuf_addc(&t, '\'');
	}
	bool oz = f->zero;
	f->zero = false;
	pad(f, t.p, t.len);
	f->zero = oz;
}

static void fmt_c(Fmt *f, uint64_t u)
{
	ABuf t;
	abuf_init(&t, f->a);
	abuf_rune(&t, u > 0x10FFFF ? 0xFFFD : (uint32_t)u);
	pad(f, t.p, t.len);
}

static void fmt_qc(Fmt *f, uint64_t u)
{
	ABuf t;
	abuf_init(&t, f->a);
	go_quote_rune(&t, u > 0x10FFFF ? 0xFFFD : (uint32_t)u, f->plus);
	pad(f, t.p, t.len);
}

static void fmt_float_raw(Fmt *f, double v, char verb, int prec)
{
	if (f->prec_present)
		prec = f->prec;
	ABuf t;
	abuf_init(&t, f->a);
	abuf_addc(&t, '+');
	go_format_float(&t, v, verb, prec);
	char *num = t.p;
	size_t n = t.len;
	if (num[1] == '-' || num[1] == '+') {
		num++;
		n--;
	} else
		num[0] = '+';
	if (f->space && num[0] == '+' && !f->plus)
		num[0] = ' ';
	if (num[1] == 'I' || num[1] == 'N') {
		bool oz = f->zero;
		f->zero = false;
		if (num[1] == 'N' && !f->space && !f->plus) {
			num++;
			n--;
		}
		pad(f, num, n);
		f->zero = oz;
		return;
	}
	if (f->sharp && verb != 'b') {
		int digits = 0;
		if (verb == 'v' || verb == 'g' || verb == 'G' || verb == 'x') {
			digits = prec;
			if (digits == -1)
				digits = 6;
		}
		ABuf tail, body;
		abuf_init(&tail, f->a);
		abuf_init(&body, f->a);
		bool has_dp = false, nonzero = false;
		size_t i;
		abuf_addc(&body, num[0]);
		for (i = 1; i < n; i++) {
			char c = num[i];
			if (c == '.') {
				has_dp = true;
			} else if (c == 'p' || c == 'P' || ((c == 'e' || c == 'E') && verb != 'x' && verb != 'X')) {
				abuf_add(&tail, num + i, n - i);
				break;
			} else {
				if (c != '0')
					nonzero = true;
				if (nonzero)
					digits--;
			}
			abuf_addc(&body, c);
		}
		if (!has_dp) {
			if (body.len == 2 && body.p[1] == '0')
				digits--;
			abuf_addc(&body, '.');
		}
		while (digits-- > 0)
			abuf_addc(&body, '0');
		abuf_add(&body, tail.p ? tail.p : "", tail.len);
		num = (char *)abuf_str(&body);
		n = body.len;
	}
	if (f->plus || num[0] != '+') {
		if (f->zero && !f->minus && f->wid_present && f->wid > (int)n) {
			abuf_addc(f->b, num[0]);
			pad_n(f, f->wid - (int)n);
			abuf_add(f->b, num + 1, n - 1);
			return;
		}
		pad(f, num, n);
		return;
	}
	pad(f, num + 1, n - 1);
}

static void print_value(Fmt *f, const Value *v, char verb, int depth);

static void bad_verb(Fmt *f, const Value *v, char verb)
{
	f->erroring = true;
	abuf_adds(f->b, "%!");
	abuf_rune(f->b, (unsigned char)verb);
	abuf_addc(f->b, '(');
	if (value_is_nil(v)) {
		abuf_adds(f->b, "<nil>");
	} else {
		abuf_adds(f->b, value_type_name(v, f->a));
		abuf_addc(f->b, '=');
		Fmt g = *f;
		g.wid_present = g.prec_present = g.minus = g.plus = g.sharp = g.space = g.zero = false;
		g.plus_v = g.sharp_v = false;
		print_value(&g, v, 'v', 0);
	}
	abuf_addc(f->b, ')');
	f->erroring = false;
}

static void fmt_int_verb(Fmt *f, const Value *v, uint64_t u, bool is_signed, char verb)
{
	switch (verb) {
	case 'v':
		if (f->sharp_v && !is_signed) {
			bool s = f->sharp;
			f->sharp = true;
			fmt_integer(f, u, 16, false, verb, false);
			f->sharp = s;
		} else
			fmt_integer(f, u, 10, is_signed, verb, false);
		break;
	case 'd': fmt_integer(f, u, 10, is_signed, verb, false); break;
	case 'b': fmt_integer(f, u, 2, is_signed, verb, false); break;
	case 'o': case 'O': fmt_integer(f, u, 8, is_signed, verb, false); break;
	case 'x': fmt_integer(f, u, 16, is_signed, verb, false); break;
	case 'X': fmt_integer(f, u, 16, is_signed, verb, true); break;
	case 'c': fmt_c(f, u); break;
	case 'q': fmt_qc(f, u); break;
	case 'U': fmt_unicode(f, u); break;
	default: bad_verb(f, v, verb);
	}
}

static void fmt_float_verb(Fmt *f, const Value *v, double d, char verb)
{
	switch (verb) {
	case 'v': fmt_float_raw(f, d, 'g', -1); break;
	case 'b': case 'g': case 'G': case 'x': case 'X': fmt_float_raw(f, d, verb, -1); break;
	case 'f': case 'e': case 'E': fmt_float_raw(f, d, verb, 6); break;
	case 'F': fmt_float_raw(f, d, 'f', 6); break;
	default: bad_verb(f, v, verb);
	}
}

static void fmt_sbx(Fmt *f, const char *s, size_t len, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEFX" : "0123456789abcdefx";
	size_t length = len;
	if (f->prec_present && (size_t)f->prec < length)
		length = (size_t)f->prec;
	int width = 2 * (int)length;
	if (width > 0) {
		if (f->space) {
			if (f->sharp)
				width *= 2;
			width += (int)length - 1;
		} else if (f->sharp)
			width += 2;
	} else {
		if (f->wid_present)
			pad_n(f, f->wid);
		return;
	}
	if (f->wid_present && f->wid > width && !f->minus)
		pad_n(f, f->wid - width);
	if (f->sharp) {
		abuf_addc(f->b, '0');
		abuf_addc(f->b, digits[16]);
	}
	for (size_t i = 0; i < length; i++) {
		if (f->space && i > 0) {
			abuf_addc(f->b, ' ');
			if (f->sharp) {
				abuf_addc(f->b, '0');
				abuf_addc(f->b, digits[16]);
			}
		}
		unsigned char c = (unsigned char)s[i];
		abuf_addc(f->b, digits[c >> 4]);
		abuf_addc(f->b, digits[c & 0xF]);
	}
	if (f->wid_present && f->wid > width && f->minus)
		pad_n(f, f->wid - width);
}

static size_t truncate_len(Fmt *f, const char *s, size_t n)
{
	if (!f->prec_present)
		return n;
	int k = f->prec;
	size_t i = 0;
	while (i < n) {
		if (k-- <= 0)
			return i;
		size_t w;
		utf8_decode(s + i, n - i, &w);
		i += w;
	}
	return n;
}

static bool can_backquote(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t w;
		uint32_t r = utf8_decode(s + i, n - i, &w);
		if (w == 1 && r == 0xFFFD && (unsigned char)s[i] >= 0x80)
			return false;
		if (r == '`' || r == 0xFEFF || (r < ' ' && r != '\t') || r == 0x7F)
			return false;
		i += w;
	}
	return true;
}

static void fmt_q(Fmt *f, const char *s, size_t n)
{
	n = truncate_len(f, s, n);
	ABuf t;
	abuf_init(&t, f->a);
	if (f->sharp && can_backquote(s, n)) {
		abuf_addc(&t, '`');
		abuf_add(&t, s, n);
		abuf_addc(&t, '`');
	} else
		go_quote(&t, s, n, f->plus);
	pad(f, t.p, t.len);
}

static void fmt_string(Fmt *f, const Value *v, const char *s, size_t n, char verb)
{
	switch (verb) {
	case 'v':
		if (f->sharp_v)
			fmt_q(f, s, n);
		else
			pad(f, s, truncate_len(f, s, n));
		break;
	case 's': pad(f, s, truncate_len(f, s, n)); break;
	case 'x': fmt_sbx(f, s, n, false); break;
	case 'X': fmt_sbx(f, s, n, true); break;
	case 'q': fmt_q(f, s, n); break;
	default: bad_verb(f, v, verb);
	}
}

static bool handle_methods(Fmt *f, const Value *v, char verb)
{
	if (f->erroring || !v || v->kind != VK_OBJECT || !v->u.o.t->str || f->sharp_v)
		return false;
	if (verb != 'v' && verb != 's' && verb != 'x' && verb != 'X' && verb != 'q')
		return false;
	ABuf t;
	abuf_init(&t, f->a);
	v->u.o.t->str(v, &t);
	fmt_string(f, v, t.p ? t.p : "", t.len, verb);
	return true;
}

static void print_value(Fmt *f, const Value *v, char verb, int depth)
{
	if (depth > 0 && handle_methods(f, v, verb))
		return;
	if (depth > 10000) {
		abuf_adds(f->b, "...");
		return;
	}
	if (!v || v->kind == VK_NIL) {
		if (depth == 0 && !v) {
			abuf_adds(f->b, "<invalid reflect.Value>");
			return;
		}
		if (verb == 'v') {
			if (f->sharp_v)
				abuf_adds(f->b, "interface {}(nil)");
			else
				abuf_adds(f->b, "<nil>");
		} else
			bad_verb(f, v, verb);
		return;
	}
	switch (v->kind) {
	case VK_BOOL:
		if (verb == 't' || verb == 'v')
			pads(f, v->u.b ? "true" : "false");
		else
			bad_verb(f, v, verb);
		return;
	case VK_INT: fmt_int_verb(f, v, (uint64_t)v->u.i, true, verb); return;
	case VK_UINT: fmt_int_verb(f, v, v->u.u, false, verb); return;
	case VK_FLOAT: fmt_float_verb(f, v, v->u.f, verb); return;
	case VK_COMPLEX:
		switch (verb) {
		case 'v': case 'b': case 'g': case 'G': case 'x': case 'X': case 'f': case 'F': case 'e': case 'E': {
			bool op = f->plus;
			abuf_addc(f->b, '(');
			fmt_float_verb(f, v, v->u.c.re, verb);
			f->plus = true;
			fmt_float_verb(f, v, v->u.c.im, verb);
			abuf_adds(f->b, "i)");
			f->plus = op;
			return;
		}
		default:
			bad_verb(f, v, verb);
			return;
		}
	case VK_STRING: fmt_string(f, v, v->u.s.p, v->u.s.n, verb); return;
	case VK_LIST: {
		VList *l = v->u.l;
		if (v->type == GT_UINT8 && (verb == 's' || verb == 'q' || verb == 'x' || verb == 'X')) {
			ABuf t;
			abuf_init(&t, f->a);
			for (size_t i = 0; i < l->len; i++)
				abuf_addc(&t, (char)(l->items[i] ? l->items[i]->u.u : 0));
			fmt_string(f, v, t.p ? t.p : "", t.len, verb);
			return;
		}
		if (f->sharp_v) {
			abuf_adds(f->b, value_type_name(v, f->a));
			abuf_addc(f->b, '{');
			for (size_t i = 0; i < l->len; i++) {
				if (i)
					abuf_adds(f->b, ", ");
				print_value(f, l->items[i], verb, depth + 1);
			}
			abuf_addc(f->b, '}');
			return;
		}
		abuf_addc(f->b, '[');
		for (size_t i = 0; i < l->len; i++) {
			if (i)
				abuf_addc(f->b, ' ');
			print_value(f, l->items[i], verb, depth + 1);
		}
		abuf_addc(f->b, ']');
		return;
	}
	case VK_MAP: {
		VMap *m = v->u.m;
		if (f->sharp_v) {
			abuf_adds(f->b, value_type_name(v, f->a));
			abuf_addc(f->b, '{');
		} else
			abuf_adds(f->b, "map[");
		for (size_t i = 0; i < m->len; i++) {
			if (i)
				abuf_adds(f->b, f->sharp_v ? ", " : " ");
			Value k = { .kind = VK_STRING, .type = GT_STRING, .u.s = { m->e[i].key, m->e[i].klen } };
			print_value(f, &k, verb, depth + 1);
			abuf_addc(f->b, ':');
			print_value(f, m->e[i].val, verb, depth + 1);
		}
		abuf_addc(f->b, f->sharp_v ? '}' : ']');
		return;
	}
	case VK_OBJECT: {
		const ObjType *t = v->u.o.t;
		if (t->as_number) {
			bool ok = false;
			double d = t->as_number(v, &ok);
			if (ok) {
				fmt_int_verb(f, v, (uint64_t)(int64_t)d, true, verb);
				return;
			}
		}
		if (t->fields) {
			const char *const *names;
			Value **vals;
			size_t n = t->fields(v, &names, &vals, f->a);
			if (f->sharp_v)
				abuf_adds(f->b, t->type_name);
			abuf_addc(f->b, '{');
			for (size_t i = 0; i < n; i++) {
				if (i)
					abuf_adds(f->b, f->sharp_v ? ", " : " ");
				if (f->plus_v || f->sharp_v) {
					abuf_adds(f->b, names[i]);
					abuf_addc(f->b, ':');
				}
				print_value(f, vals[i], verb, depth + 1);
			}
			abuf_addc(f->b, '}');
			return;
		}
		if (t->str) {
			ABuf s;
			abuf_init(&s, f->a);
			t->str(v, &s);
			fmt_string(f, v, s.p ? s.p : "", s.len, verb == 'v' ? 'v' : verb);
			return;
		}
		pads(f, "{}");
		return;
	}
	}
}

static void print_arg(Fmt *f, const Value *v, char verb)
{
	if (value_is_nil(v)) {
		if (verb == 'T' || verb == 'v')
			pads(f, "<nil>");
		else
			bad_verb(f, NULL, verb);
		return;
	}
	if (verb == 'T') {
		const char *t = value_type_name(v, f->a);
		pad(f, t, strlen(t));
		return;
	}
	if (verb == 'p') {
		if (v->kind == VK_LIST || v->kind == VK_MAP) {
			ABuf t;
			abuf_init(&t, f->a);
			abuf_addf(&t, "%p", v->kind == VK_LIST ? (void *)v->u.l : (void *)v->u.m);
			pad(f, t.p, t.len);
		} else
			bad_verb(f, v, verb);
		return;
	}
	if (handle_methods(f, v, verb))
		return;
	print_value(f, v, verb, 0);
}

static void fmt_init(Fmt *f, ABuf *b)
{
	memset(f, 0, sizeof(*f));
	f->b = b;
	f->a = b->a;
}

static void clear_flags(Fmt *f)
{
	f->wid = f->prec = 0;
	f->wid_present = f->prec_present = f->minus = f->plus = f->sharp = f->space = f->zero = false;
	f->plus_v = f->sharp_v = false;
}

void gofmt_value(ABuf *b, const Value *v)
{
	Fmt f;
	fmt_init(&f, b);
	print_arg(&f, v, 'v');
}

void gofmt_sprint(ABuf *b, Value **args, int n)
{
	Fmt f;
	fmt_init(&f, b);
	bool prev_string = false;
	for (int i = 0; i < n; i++) {
		bool is_string = args[i] && args[i]->kind == VK_STRING;
		if (i > 0 && !is_string && !prev_string)
			abuf_addc(b, ' ');
		clear_flags(&f);
		print_arg(&f, args[i], 'v');
		prev_string = is_string;
	}
}

void gofmt_sprintln(ABuf *b, Value **args, int n)
{
	Fmt f;
	fmt_init(&f, b);
	for (int i = 0; i < n; i++) {
		if (i > 0)
			abuf_addc(b, ' ');
		clear_flags(&f);
		print_arg(&f, args[i], 'v');
	}
	abuf_addc(b, '\n');
}

static bool too_large(int x) { return x > 1000000 || x < -1000000; }

static int parsenum(const char *s, size_t i, size_t end, bool *isnum, size_t *newi)
{
	int num = 0;
	*isnum = false;
	if (i >= end) {
		*newi = end;
		return 0;
	}
	for (; i < end && s[i] >= '0' && s[i] <= '9'; i++) {
		if (too_large(num)) {
			*isnum = false;
			*newi = end;
			return 0;
		}
		num = num * 10 + (s[i] - '0');
		*isnum = true;
	}
	*newi = i;
	return num;
}

static int int_from_arg(Value **a, int n, int *argnum, bool *ok)
{
	int num = 0;
	*ok = false;
	if (*argnum < n) {
		const Value *v = a[*argnum];
		if (v && v->kind == VK_INT && v->u.i >= INT32_MIN * 2LL && v->u.i <= INT32_MAX * 2LL) {
			num = (int)v->u.i;
			*ok = true;
		} else if (v && v->kind == VK_UINT && v->u.u <= INT32_MAX) {
			num = (int)v->u.u;
			*ok = true;
		}
		(*argnum)++;
		if (too_large(num)) {
			num = 0;
			*ok = false;
		}
	}
	return num;
}

/* parseArgNumber for "[n]" at s[i]; returns index and advances. */
static bool arg_number(const char *s, size_t i, size_t end, int nargs, int *argnum, size_t *newi, bool *found,
		       bool *good, bool *reordered)
{
	*found = false;
	*newi = i;
	if (i >= end || s[i] != '[')
		return false;
	*reordered = true;
	size_t len = end - i;
	if (len < 3) {
		*newi = i + 1;
		*good = false;
		return false;
	}
	for (size_t j = 1; j < len; j++) {
		if (s[i + j] == ']') {
			bool isnum;
			size_t ni;
			int w = parsenum(s, i + 1, i + j, &isnum, &ni);
			if (!isnum || ni != i + j) {
				*newi = i + j + 1;
				*good = false;
				return false;
			}
			int idx = w - 1;
			*newi = i + j + 1;
			if (idx >= 0 && idx < nargs) {
				*argnum = idx;
				*found = true;
				return true;
			}
			*good = false;
			*found = true;
			return false;
		}
	}
	*newi = i + 1;
	*good = false;
	return false;
}

void gofmt_sprintf(ABuf *b, const char *format, size_t end, Value **a, int nargs)
{
	Fmt f;
	fmt_init(&f, b);
	int argnum = 0;
	bool after_index = false;
	bool reordered = false;
	size_t i = 0;
	while (i < end) {
		bool good = true;
		size_t last = i;
		while (i < end && format[i] != '%')
			i++;
		if (i > last)
			abuf_add(b, format + last, i - last);
		if (i >= end)
			break;
		i++;
		clear_flags(&f);
		bool simple_done = false;
		for (; i < end; i++) {
			char c = format[i];
			if (c == '#') f.sharp = true;
			else if (c == '0') f.zero = !f.minus;
			else if (c == '+') f.plus = true;
			else if (c == '-') { f.minus = true; f.zero = false; }
			else if (c == ' ') f.space = true;
			else {
				if (c >= 'a' && c <= 'z' && argnum < nargs) {
					if (c == 'v') {
						f.sharp_v = f.sharp;
						f.sharp = false;
						f.plus_v = f.plus;
						f.plus = false;
					}
					print_arg(&f, a[argnum], c);
					argnum++;
					i++;
					simple_done = true;
				}
				break;
			}
		}
		if (simple_done)
			continue;
		size_t ni;
		bool found;
		arg_number(format, i, end, nargs, &argnum, &ni, &found, &good, &reordered);
		after_index = found || ni != i;
		i = ni;
		if (i < end && format[i] == '*') {
			i++;
			bool ok;
			f.wid = int_from_arg(a, nargs, &argnum, &ok);
			f.wid_present = ok;
			if (!ok)
				abuf_adds(b, "%!(BADWIDTH)");
			if (f.wid < 0) {
				f.wid = -f.wid;
				f.minus = true;
				f.zero = false;
			}
			after_index = false;
		} else {
			bool isnum;
			f.wid = parsenum(format, i, end, &isnum, &ni);
			f.wid_present = isnum;
			i = ni;
			if (after_index && f.wid_present)
				good = false;
		}
		if (i + 1 < end && format[i] == '.') {
			i++;
			if (after_index)
				good = false;
			arg_number(format, i, end, nargs, &argnum, &ni, &found, &good, &reordered);
			after_index = found || ni != i;
			i = ni;
			if (i < end && format[i] == '*') {
				i++;
				bool ok;
				f.prec = int_from_arg(a, nargs, &argnum, &ok);
				f.prec_present = ok;
				if (f.prec < 0) {
					f.prec = 0;
					f.prec_present = false;
				}
				if (!f.prec_present)
					abuf_adds(b, "%!(BADPREC)");
				after_index = false;
			} else {
				bool isnum;
				f.prec = parsenum(format, i, end, &isnum, &ni);
				f.prec_present = isnum;
				i = ni;
				if (!f.prec_present) {
					f.prec = 0;
					f.prec_present = true;
				}
			}
		}
		if (!after_index) {
			arg_number(format, i, end, nargs, &argnum, &ni, &found, &good, &reordered);
			after_index = found || ni != i;
			i = ni;
		}
		if (i >= end) {
			abuf_adds(b, "%!(NOVERB)");
			break;
		}
		size_t w;
		uint32_t verb = utf8_decode(format + i, end - i, &w);
		i += w;
		if (verb == '%') {
			abuf_addc(b, '%');
		} else if (!good) {
			abuf_adds(b, "%!");
			abuf_rune(b, verb);
			abuf_adds(b, "(BADINDEX)");
		} else if (argnum >= nargs) {
			abuf_adds(b, "%!");
			abuf_rune(b, verb);
			abuf_adds(b, "(MISSING)");
		} else {
			if (verb == 'v') {
				f.sharp_v = f.sharp;
				f.sharp = false;
				f.plus_v = f.plus;
				f.plus = false;
			}
			if (verb >= 0x80) {
				/* non-ASCII verbs are never valid */
				abuf_adds(b, "%!");
				abuf_rune(b, verb);
				abuf_addc(b, '(');
				const Value *v = a[argnum];
				if (value_is_nil(v))
					abuf_adds(b, "<nil>");
				else {
					abuf_adds(b, value_type_name(v, f.a));
					abuf_addc(b, '=');
					Fmt g;
					fmt_init(&g, b);
					print_value(&g, v, 'v', 0);
				}
				abuf_addc(b, ')');
			} else
				print_arg(&f, a[argnum], (char)verb);
			argnum++;
		}
	}
	if (!reordered && argnum < nargs) {
		clear_flags(&f);
		abuf_adds(b, "%!(EXTRA ");
		for (int k = argnum; k < nargs; k++) {
			if (k > argnum)
				abuf_adds(b, ", ");
			if (value_is_nil(a[k]))
				abuf_adds(b, "<nil>");
			else {
				abuf_adds(b, value_type_name(a[k], f.a));
				abuf_addc(b, '=');
				print_arg(&f, a[k], 'v');
			}
		}
		abuf_addc(b, ')');
	}
}
