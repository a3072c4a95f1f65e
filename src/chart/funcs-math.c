/* funcs-math.c - Sprig's numeric functions and spf13/cast's conversions:
 * int/int64/float64/atoi, add/sub/mul/div/mod, max/min, the float variants
 * (computed in decimal like shopspring/decimal, so 1.2*2.4*10*4 = 115.2),
 * floor/ceil/round, until/untilStep/seq, toDecimal.
 */
#include "tmpl.h"
#include "../base/limits.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int tmpl_parse_float(const char *s, size_t n, double *ret);

/* strconv.ParseInt(s, 0, 64) with Go's syntax. */
static bool parse_int_go(const char *s, size_t n, int64_t *ret)
{
	if (n == 0 || n > 100)
		return false;
	char buf[128];
	size_t k = 0;
	bool neg = false;
	size_t i = 0;
	if (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-';
		i = 1;
	}
	int base = 10;
	if (n - i > 1 && s[i] == '0') {
		char x = (char)(s[i + 1] | 0x20);
		if (x == 'x') { base = 16; i += 2; }
		else if (x == 'o') { base = 8; i += 2; }
		else if (x == 'b') { base = 2; i += 2; }
		else { base = 8; i += 1; }
	}
	for (; i < n; i++) {
		if (s[i] == '_')
			continue;
		buf[k++] = s[i];
	}
	buf[k] = 0;
	if (k == 0)
		return base == 8;   /* "0" */
	uint64_t v = 0;
	for (size_t j = 0; j < k; j++) {
		char ch = buf[j];
		int d = ch >= '0' && ch <= '9' ? ch - '0' : (ch | 0x20) >= 'a' && (ch | 0x20) <= 'f' ? (ch | 0x20) - 'a' + 10 : 99;
		if (d >= base)
			return false;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	if ((!neg && v > INT64_MAX) || (neg && v > (uint64_t)INT64_MAX + 1))
		return false;
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* cast's trimDecimal: "12.50" -> "12" when the string is a plain decimal. */
static size_t trim_decimal(const char *s, size_t n, char *out)
{
	const char *dot = memchr(s, '.', n);
	if (!dot) {
		memcpy(out, s, n);
		return n;
	}
	size_t i = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	size_t intend = i;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i != n) {
		memcpy(out, s, n);
		return n;
	}
	size_t k = intend;
	memcpy(out, s, k);
	if (k == 0 || (k == 1 && (s[0] == '+' || s[0] == '-')))
		out[k++] = '0';
	return k;
}

static double obj_number(const Value *v, bool *ok)
{
	*ok = false;
	if (v->kind == VK_OBJECT && v->u.o.t->as_number)
		return v->u.o.t->as_number(v, ok);
	return 0;
}

int64_t cast_to_int64(const Value *v)
{
	if (!v)
		return 0;
	bool ok;
	switch (v->kind) {
	case VK_NIL: return 0;
	case VK_BOOL: return v->u.b;
	case VK_INT: return v->u.i;
	case VK_UINT: return (int64_t)v->u.u;
	case VK_FLOAT:
		if (isnan(v->u.f))
			return INT64_MIN;
		if (v->u.f >= 9.2233720368547758e18 || v->u.f < -9.2233720368547758e18)
			return INT64_MIN;
		return (int64_t)v->u.f;
	case VK_STRING: {
		if (v->u.s.n == 0 || v->u.s.n > 100)
			return 0;
		char buf[128];
		size_t k = trim_decimal(v->u.s.p, v->u.s.n, buf);
		int64_t r;
		return parse_int_go(buf, k, &r) ? r : 0;
	}
	case VK_OBJECT: {
		double d = obj_number(v, &ok);
		return ok ? (int64_t)d : 0;
	}
	default: return 0;
	}
}

double cast_to_float64(const Value *v)
{
	if (!v)
		return 0;
	bool ok;
	switch (v->kind) {
	case VK_NIL: return 0;
	case VK_BOOL: return v->u.b;
	case VK_INT: return (double)v->u.i;
	case VK_UINT: return (double)v->u.u;
	case VK_FLOAT: return v->u.f;
	case VK_STRING: {
		double d;
		return v->u.s.n && tmpl_parse_float(v->u.s.p, v->u.s.n, &d) == 0 ? d : 0;
	}
	case VK_OBJECT: {
		double d = obj_number(v, &ok);
		return ok ? d : 0;
	}
	default: return 0;
	}
}

static int ret_i64(Ctx *c, int64_t v, Value **ret)
{
	*ret = value_int_typed(c->a, v, GT_INT64);
	return 0;
}

static int ret_f64(Ctx *c, double v, Value **ret)
{
	*ret = value_float(c->a, v);
	return 0;
}

static int f_int64(Ctx *c, Value **a, int n, Value **ret) { (void)n; return ret_i64(c, cast_to_int64(a[0]), ret); }
static int f_int(Ctx *c, Value **a, int n, Value **ret) { (void)n; *ret = value_int(c->a, cast_to_int64(a[0])); return 0; }
static int f_float64(Ctx *c, Value **a, int n, Value **ret) { (void)n; return ret_f64(c, cast_to_float64(a[0]), ret); }

static int f_atoi(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	/* strconv.Atoi: base 10, optional sign, no underscores */
	const char *s = a[0]->u.s.p;
	size_t len = a[0]->u.s.n, i = 0;
	int64_t v = 0;
	bool neg = false, ok = len > 0;
	if (ok && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
		ok = len > 1;
	}
	for (; ok && i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - (s[i] - '0')) / 10) {
			ok = false;
			break;
		}
		v = v * 10 + (s[i] - '0');
	}
	*ret = value_int(c->a, ok ? (neg ? -v : v) : 0);
	return 0;
}

static int f_add1(Ctx *c, Value **a, int n, Value **ret) { (void)n; return ret_i64(c, (int64_t)((uint64_t)cast_to_int64(a[0]) + 1), ret); }

static int f_add(Ctx *c, Value **a, int n, Value **ret)
{
	uint64_t s = 0;
	for (int i = 0; i < n; i++)
		s += (uint64_t)cast_to_int64(a[i]);
	return ret_i64(c, (int64_t)s, ret);
}

static int f_sub(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	return ret_i64(c, (int64_t)((uint64_t)cast_to_int64(a[0]) - (uint64_t)cast_to_int64(a[1])), ret);
}

static int f_div(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	int64_t x = cast_to_int64(a[0]), y = cast_to_int64(a[1]);
	if (y == 0)
		return fn_error(c, "runtime error: integer divide by zero");
	if (x == INT64_MIN && y == -1)
		return ret_i64(c, x, ret);
	return ret_i64(c, x / y, ret);
}

static int f_mod(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	int64_t x = cast_to_int64(a[0]), y = cast_to_int64(a[1]);
	if (y == 0)
		return fn_error(c, "runtime error: integer divide by zero");
	if (y == -1)
		return ret_i64(c, 0, ret);
	return ret_i64(c, x % y, ret);
}

static int f_mul(Ctx *c, Value **a, int n, Value **ret)
{
	uint64_t v = (uint64_t)cast_to_int64(a[0]);
	for (int i = 1; i < n; i++)
		v *= (uint64_t)cast_to_int64(a[i]);
	return ret_i64(c, (int64_t)v, ret);
}

static int f_max(Ctx *c, Value **a, int n, Value **ret)
{
	int64_t m = cast_to_int64(a[0]);
	for (int i = 1; i < n; i++) {
		int64_t b = cast_to_int64(a[i]);
		if (b > m)
			m = b;
	}
	return ret_i64(c, m, ret);
}

static int f_min(Ctx *c, Value **a, int n, Value **ret)
{
	int64_t m = cast_to_int64(a[0]);
	for (int i = 1; i < n; i++) {
		int64_t b = cast_to_int64(a[i]);
		if (b < m)
			m = b;
	}
	return ret_i64(c, m, ret);
}

static double go_max(double x, double y)
{
	if (isinf(x) && x > 0) return x;
	if (isinf(y) && y > 0) return y;
	if (isnan(x) || isnan(y)) return NAN;
	if (x == 0 && x == y) return signbit(x) ? y : x;
	return x > y ? x : y;
}

static double go_min(double x, double y)
{
	if (isinf(x) && x < 0) return x;
	if (isinf(y) && y < 0) return y;
	if (isnan(x) || isnan(y)) return NAN;
	if (x == 0 && x == y) return signbit(x) ? x : y;
	return x < y ? x : y;
}

static int f_maxf(Ctx *c, Value **a, int n, Value **ret)
{
	double m = cast_to_float64(a[0]);
	for (int i = 1; i < n; i++)
		m = go_max(m, cast_to_float64(a[i]));
	return ret_f64(c, m, ret);
}

static int f_minf(Ctx *c, Value **a, int n, Value **ret)
{
	double m = cast_to_float64(a[0]);
	for (int i = 1; i < n; i++)
		m = go_min(m, cast_to_float64(a[i]));
	return ret_f64(c, m, ret);
}

/* ---- decimal arithmetic (shopspring/decimal as sprig uses it) --------------------------- */
typedef struct Dec {
	__int128 m;   /* value = m * 10^e */
	int e;
	bool inexact; /* fell back to binary floating point */
	double f;
} Dec;

static Dec dec_from_float(double f)
{
	Dec d = { 0, 0, false, f };
	if (!isfinite(f)) {
		d.inexact = true;
		return d;
	}
	char buf[64];
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*e", p - 1, f);
		if (strtod(buf, NULL) == f)
			break;
	}
	bool neg = buf[0] == '-';
	char *s = buf + neg;
	__int128 m = 0;
	int digits_after = 0;
	bool after = false;
	for (; *s && *s != 'e'; s++) {
		if (*s == '.') {
			after = true;
			continue;
		}
		m = m * 10 + (*s - '0');
		if (after)
			digits_after++;
	}
	int exp = atoi(s + 1);
	d.m = neg ? -m : m;
	d.e = exp - digits_after;
	return d;
}

static const __int128 I128_LIMIT = (__int128)1 << 120;

static bool pow10_mul(__int128 *m, int k)
{
	while (k-- > 0) {
		if (*m > I128_LIMIT / 10 || *m < -I128_LIMIT / 10)
			return false;
		*m *= 10;
	}
	return true;
}

static double dec_to_float(const Dec *d)
{
	if (d->inexact)
		return d->f;
	char buf[96];
	__int128 m = d->m;
	bool neg = m < 0;
	if (neg)
		m = -m;
	char digits[64];
	int k = 0;
	do {
		digits[k++] = (char)('0' + (int)(m % 10));
		m /= 10;
	} while (m > 0);
	int p = 0;
	if (neg)
		buf[p++] = '-';
	while (k > 0)
		buf[p++] = digits[--k];
	snprintf(buf + p, sizeof(buf) - (size_t)p, "e%d", d->e);
	return strtod(buf, NULL);
}

static Dec dec_fallback(double f)
{
	Dec d = { 0, 0, true, f };
	return d;
}

static Dec dec_add(Dec a, Dec b, bool sub)
{
	if (a.inexact || b.inexact) {
		double x = dec_to_float(&a), y = dec_to_float(&b);
		return dec_fallback(sub ? x - y : x + y);
	}
	if (sub)
		b.m = -b.m;
	if (a.e > b.e) {
		if (!pow10_mul(&a.m, a.e - b.e))
			return dec_fallback(dec_to_float(&a) + dec_to_float(&b));
		a.e = b.e;
	} else if (b.e > a.e) {
		if (!pow10_mul(&b.m, b.e - a.e))
			return dec_fallback(dec_to_float(&a) + dec_to_float(&b));
		b.e = a.e;
	}
	Dec r = { a.m + b.m, a.e, false, 0 };
	return r;
}

static Dec dec_norm(Dec d)
{
	if (d.inexact)
		return d;
	while (d.m != 0 && d.m % 10 == 0) {
		d.m /= 10;
		d.e++;
	}
	return d;
}

static Dec dec_mul(Dec a, Dec b)
{
	a = dec_norm(a);
	b = dec_norm(b);
	if (a.inexact || b.inexact)
		return dec_fallback(dec_to_float(&a) * dec_to_float(&b));
	__int128 am = a.m < 0 ? -a.m : a.m, bm = b.m < 0 ? -b.m : b.m;
	if (am != 0 && bm > I128_LIMIT / am)
		return dec_fallback(dec_to_float(&a) * dec_to_float(&b));
	Dec r = { a.m * b.m, a.e + b.e, false, 0 };
	return dec_norm(r);
}

/* DivRound(b, 16): quotient rounded half away from zero to 16 places. */
static Dec dec_div(Dec a, Dec b, bool *divzero)
{
	a = dec_norm(a);
	b = dec_norm(b);
	*divzero = false;
	if (!b.inexact && b.m == 0) {
		*divzero = true;
		return a;
	}
	if (a.inexact || b.inexact)
		return dec_fallback(dec_to_float(&a) / dec_to_float(&b));
	/* q = a.m * 10^(a.e - b.e + 16) / b.m, then scale 10^-16 */
	int shift = a.e - b.e + 16;
	__int128 num = a.m, den = b.m;
	if (shift >= 0) {
		if (!pow10_mul(&num, shift))
			return dec_fallback(dec_to_float(&a) / dec_to_float(&b));
	} else {
		if (!pow10_mul(&den, -shift))
			return dec_fallback(dec_to_float(&a) / dec_to_float(&b));
	}
	__int128 q = num / den, r = num % den;
	__int128 ar = r < 0 ? -r : r, ad = den < 0 ? -den : den;
	if (2 * ar >= ad)
		q += ((num < 0) != (den < 0)) ? -1 : 1;
	Dec out = { q, -16, false, 0 };
	return dec_norm(out);
}

typedef enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV } DecOp;

static int dec_op(Ctx *c, double first, Value **rest, int n, DecOp op, Value **ret)
{
	Dec acc = dec_from_float(first);
	for (int i = 0; i < n; i++) {
		Dec x = dec_from_float(cast_to_float64(rest[i]));
		bool dz = false;
		switch (op) {
		case OP_ADD: acc = dec_add(acc, x, false); break;
		case OP_SUB: acc = dec_add(acc, x, true); break;
		case OP_MUL: acc = dec_mul(acc, x); break;
		case OP_DIV:
			acc = dec_div(acc, x, &dz);
			if (dz)
				return fn_error(c, "decimal division by 0");
			break;
		}
	}
	return ret_f64(c, dec_to_float(&acc), ret);
}

static int f_add1f(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	Value *one = value_int(c->a, 1);
	return dec_op(c, cast_to_float64(a[0]), &one, 1, OP_ADD, ret);
}

static int f_addf(Ctx *c, Value **a, int n, Value **ret) { return dec_op(c, 0, a, n, OP_ADD, ret); }
static int f_subf(Ctx *c, Value **a, int n, Value **ret) { return dec_op(c, cast_to_float64(a[0]), a + 1, n - 1, OP_SUB, ret); }
static int f_mulf(Ctx *c, Value **a, int n, Value **ret) { return dec_op(c, cast_to_float64(a[0]), a + 1, n - 1, OP_MUL, ret); }
static int f_divf(Ctx *c, Value **a, int n, Value **ret) { return dec_op(c, cast_to_float64(a[0]), a + 1, n - 1, OP_DIV, ret); }

static int f_floor(Ctx *c, Value **a, int n, Value **ret) { (void)n; return ret_f64(c, floor(cast_to_float64(a[0])), ret); }
static int f_ceil(Ctx *c, Value **a, int n, Value **ret) { (void)n; return ret_f64(c, ceil(cast_to_float64(a[0])), ret); }

static int f_round(Ctx *c, Value **a, int n, Value **ret)
{
	double on = 0.5;
	if (n > 2)
		on = a[2]->u.f;
	double val = cast_to_float64(a[0]);
	double places = (double)a[1]->u.i;
	double pw = pow(10, places);
	double digit = pw * val;
	double ip;
	double frac = modf(digit, &ip);
	double r = frac >= on ? ceil(digit) : floor(digit);
	return ret_f64(c, r / pw, ret);
}

static int f_to_decimal(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	ABuf b;
	abuf_init(&b, c->a);
	Value *one[1] = { a[0] };
	gofmt_sprint(&b, one, 1);
	/* strconv.ParseInt(s, 8, 64) */
	const char *s = abuf_str(&b);
	size_t len = b.len, i = 0;
	bool neg = false;
	if (len && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i >= len)
		return ret_i64(c, 0, ret);
	uint64_t v = 0;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '7' || v > (UINT64_MAX >> 3))
			return ret_i64(c, 0, ret);
		v = v * 8 + (uint64_t)(s[i] - '0');
	}
	if ((!neg && v > INT64_MAX) || (neg && v > (uint64_t)INT64_MAX + 1))
		return ret_i64(c, 0, ret);
	return ret_i64(c, neg ? (int64_t)(0 - v) : (int64_t)v, ret);
}

/* untilStep as []int; the list is capped by the render's memory limit. */
static Value *until_step(Ctx *c, int64_t start, int64_t stop, int64_t step)
{
	size_t n = 0;
	if (stop < start) {
		if (step < 0)
			n = (size_t)(((__int128)start - stop + (-step) - 1) / (-step));
	} else if (step > 0) {
		n = (size_t)(((__int128)stop - start + step - 1) / step);
	}
	if (n > BERTH_MAX_TEMPLATE_MEMORY / sizeof(Value))
		n = BERTH_MAX_TEMPLATE_MEMORY / sizeof(Value) + 1;   /* the arena will refuse it */
	Value *l = value_list(c->a, n, GT_INT);
	int64_t v = start;
	for (size_t i = 0; i < n; i++, v += step)
		l->u.l->items[i] = value_int(c->a, v);
	return l;
}

static int f_until(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	int64_t k = a[0]->u.i;
	*ret = until_step(c, 0, k, k < 0 ? -1 : 1);
	return 0;
}

static int f_until_step(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	*ret = until_step(c, a[0]->u.i, a[1]->u.i, a[2]->u.i);
	return 0;
}

static int f_seq(Ctx *c, Value **a, int n, Value **ret)
{
	Value *l = NULL;
	switch (n) {
	case 1: {
		int64_t start = 1, end = a[0]->u.i, inc = end < start ? -1 : 1;
		l = until_step(c, start, end + inc, inc);
		break;
	}
	case 2: {
		int64_t start = a[0]->u.i, end = a[1]->u.i, step = end < start ? -1 : 1;
		l = until_step(c, start, end + step, step);
		break;
	}
	case 3: {
		int64_t start = a[0]->u.i, end = a[2]->u.i, step = a[1]->u.i, inc = 1;
		if (end < start) {
			inc = -1;
			if (step > 0) {
				*ret = value_str(c->a, "");
				return 0;
			}
		}
		l = until_step(c, start, end + inc, step);
		break;
	}
	default:
		*ret = value_str(c->a, "");
		return 0;
	}
	ABuf b;
	abuf_init(&b, c->a);
	for (size_t i = 0; i < l->u.l->len; i++) {
		if (i)
			abuf_addc(&b, ' ');
		abuf_addf(&b, "%lld", (long long)l->u.l->items[i]->u.i);
	}
	*ret = value_str_nocopy(c->a, abuf_str(&b), b.len);
	return 0;
}

static int f_rand_int(Ctx *c, Value **a, int n, Value **ret)
{
	(void)n;
	int64_t lo = a[0]->u.i, hi = a[1]->u.i;
	if (hi - lo <= 0)
		return fn_error(c, "invalid argument to Intn");
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint64_t)random();
	*ret = value_int(c->a, lo + (int64_t)(r % (uint64_t)(hi - lo)));
	return 0;
}

const FuncDef funcs_math[] = {
	{ "atoi", "s", f_atoi, 0 },
	{ "int64", "a", f_int64, 0 },
	{ "int", "a", f_int, 0 },
	{ "float64", "a", f_float64, 0 },
	{ "seq", "i*", f_seq, 0 },
	{ "toDecimal", "a", f_to_decimal, 0 },
	{ "until", "i", f_until, 0 },
	{ "untilStep", "iii", f_until_step, 0 },
	{ "add1", "a", f_add1, 0 },
	{ "add", "a*", f_add, 0 },
	{ "sub", "aa", f_sub, 0 },
	{ "div", "aa", f_div, 0 },
	{ "mod", "aa", f_mod, 0 },
	{ "mul", "aa*", f_mul, 0 },
	{ "randInt", "ii", f_rand_int, 0 },
	{ "add1f", "a", f_add1f, 0 },
	{ "addf", "a*", f_addf, 0 },
	{ "subf", "aa*", f_subf, 0 },
	{ "divf", "aa*", f_divf, 0 },
	{ "mulf", "aa*", f_mulf, 0 },
	{ "biggest", "aa*", f_max, 0 },
	{ "max", "aa*", f_max, 0 },
	{ "min", "aa*", f_min, 0 },
	{ "maxf", "aa*", f_maxf, 0 },
	{ "minf", "aa*", f_minf, 0 },
	{ "ceil", "a", f_ceil, 0 },
	{ "floor", "a", f_floor, 0 },
	{ "round", "aif*", f_round, 0 },
	{ NULL, NULL, NULL, 0 },
};
