/* quantity.c - Kubernetes resource quantities ("500m", "1Gi", "1.5", "2e3")
 * as the scheduler counts them: CPU in thousandths of a core, memory and
 * storage in bytes, both rounded up as resource.Quantity's MilliValue and
 * Value do.  Arithmetic is done on a decimal mantissa with a power-of-ten or
 * power-of-two scale, saturating instead of overflowing.
 */
#include "sched-internal.h"
#include <ctype.h>
#include <errno.h>
#include <string.h>

/* mantissa digits (at most 18 significant) and the count after the point */
typedef struct Dec {
	int64_t mant;
	int frac;      /* digits after the decimal point */
	int extra;     /* significant digits dropped (as powers of ten) */
} Dec;

static int64_t sat_mul(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_mul_overflow(a, b, &r))
		return INT64_MAX;
	return r;
}

/* value(dec) * num / den * 10^exp10, rounded up */
static int64_t scale_up(Dec d, int64_t num, int exp10)
{
	int64_t v = sat_mul(d.mant, num);
	int e = exp10 - d.frac + d.extra;
	for (; e > 0; e--)
		v = sat_mul(v, 10);
	for (; e < 0 && v != INT64_MAX; e++)
		v = v / 10 + (v % 10 != 0);
	return v;
}

static int parse(const char *s, int64_t milli_factor_exp, int64_t *ret)
{
	if (!s || !*s)
		return -EINVAL;
	const char *p = s;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	Dec d = { 0, 0, 0 };
	bool digits = false, point = false;
	for (; *p; p++) {
		if (isdigit((unsigned char)*p)) {
			digits = true;
			if (d.mant < 100000000000000000LL) {
				d.mant = d.mant * 10 + (*p - '0');
				if (point)
					d.frac++;
			} else if (!point)
				d.extra++;
		} else if (*p == '.' && !point)
			point = true;
		else
			break;
	}
	if (!digits)
		return -EINVAL;
	int64_t num = 1;
	int exp10 = 0;
	static const struct { const char *sfx; int64_t num; int exp10; } sfx[] = {
		{ "Ki", 1LL << 10, 0 }, { "Mi", 1LL << 20, 0 }, { "Gi", 1LL << 30, 0 }, { "Ti", 1LL << 40, 0 },
		{ "Pi", 1LL << 50, 0 }, { "Ei", 1LL << 60, 0 }, { "n", 1, -9 }, { "u", 1, -6 }, { "m", 1, -3 },
		{ "k", 1, 3 }, { "M", 1, 6 }, { "G", 1, 9 }, { "T", 1, 12 }, { "P", 1, 15 }, { "E", 1, 18 },
	};
	if ((*p == 'e' || *p == 'E') && strcmp(p, "Ei")) {
		if (p[1]) {
			char *end;
			errno = 0;
			long e = strtol(p + 1, &end, 10);
			if (*end || errno || e > 100 || e < -100)
				return -EINVAL;
			exp10 = (int)e;
			p = end;
		} else {
			exp10 = 18;  /* "E": exa */
			p++;
		}
	} else if (*p) {
		size_t i;
		for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
			if (!strcmp(p, sfx[i].sfx))
				break;
		if (i == sizeof(sfx) / sizeof(sfx[0]))
			return -EINVAL;
		num = sfx[i].num;
		exp10 = sfx[i].exp10;
		p += strlen(sfx[i].sfx);
	}
	if (*p)
		return -EINVAL;
	if (neg && d.mant)
		return -EINVAL;  /* requests are never negative */
	*ret = scale_up(d, num, exp10 + (int)milli_factor_exp);
	return 0;
}

int sched_quantity_milli(const char *s, int64_t *ret) { return parse(s, 3, ret); }
int sched_quantity_value(const char *s, int64_t *ret) { return parse(s, 0, ret); }
