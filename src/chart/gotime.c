/* gotime.c - Go time semantics (see gotime.h): the reference-time layout
 * language, durations, and time zones via the system zoneinfo (TZ switched
 * under a lock, since libc offers no per-call zone).
 */
#include "gotime.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const long_days[] = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday" };
static const char *const long_months[] = { "January", "February", "March", "April", "May", "June", "July",
					   "August", "September", "October", "November", "December" };

/* ---- durations ------------------------------------------------------------------------- */
static size_t fmt_frac(char *buf, size_t w, uint64_t *v, int prec)
{
	bool print = false;
	for (int i = 0; i < prec; i++) {
		int digit = (int)(*v % 10);
		print = print || digit != 0;
		if (print)
			buf[--w] = (char)('0' + digit);
		*v /= 10;
	}
	if (print)
		buf[--w] = '.';
	return w;
}

static size_t fmt_int(char *buf, size_t w, uint64_t v)
{
	if (v == 0)
		buf[--w] = '0';
	else
		while (v > 0) {
			buf[--w] = (char)('0' + v % 10);
			v /= 10;
		}
	return w;
}

void go_duration_string(ABuf *b, int64_t d)
{
	char buf[40];
	size_t w = sizeof(buf);
	uint64_t u = (uint64_t)d;
	bool neg = d < 0;
	if (neg)
		u = -u;
	if (u < 1000000000ULL) {
		int prec;
		buf[--w] = 's';
		if (u == 0) {
			abuf_adds(b, "0s");
			return;
		} else if (u < 1000ULL) {
			prec = 0;
			buf[--w] = 'n';
		} else if (u < 1000000ULL) {
			prec = 3;
			buf[--w] = (char)0xB5;
			buf[--w] = (char)0xC2;
		} else {
			prec = 6;
			buf[--w] = 'm';
		}
		w = fmt_frac(buf, w, &u, prec);
		w = fmt_int(buf, w, u);
	} else {
		buf[--w] = 's';
		w = fmt_frac(buf, w, &u, 9);
		w = fmt_int(buf, w, u % 60);
		u /= 60;
		if (u > 0) {
			buf[--w] = 'm';
			w = fmt_int(buf, w, u % 60);
			u /= 60;
			if (u > 0) {
				buf[--w] = 'h';
				w = fmt_int(buf, w, u);
			}
		}
	}
	if (neg)
		buf[--w] = '-';
	abuf_add(b, buf + w, sizeof(buf) - w);
}

int go_parse_duration(Arena *a, const char *s0, size_t n, int64_t *ns, const char **err)
{
	const char *s = s0;
	size_t i = 0;
	uint64_t d = 0;
	bool neg = false;
	const char *q = arena_printf(a, "\"%.*s\"", (int)n, s0);
	if (i < n && (s[i] == '-' || s[i] == '+')) {
		neg = s[i] == '-';
		i++;
	}
	if (n - i == 1 && s[i] == '0') {
		*ns = 0;
		return 0;
	}
	if (i == n) {
		*err = arena_printf(a, "time: invalid duration %s", q);
		return -1;
	}
	while (i < n) {
		uint64_t v = 0, f = 0;
		double scale = 1;
		if (!(s[i] == '.' || (s[i] >= '0' && s[i] <= '9'))) {
			*err = arena_printf(a, "time: invalid duration %s", q);
			return -1;
		}
		size_t pl = i;
		bool overflow = false;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (v > (UINT64_MAX / 10))
				overflow = true;
			v = v * 10 + (uint64_t)(s[i] - '0');
			i++;
		}
		if (overflow || v > (1ULL << 63)) {
			*err = arena_printf(a, "time: invalid duration %s", q);
			return -1;
		}
		bool pre = pl != i;
		bool post = false;
		if (i < n && s[i] == '.') {
			i++;
			size_t pf = i;
			bool of = false;
			while (i < n && s[i] >= '0' && s[i] <= '9') {
				if (!of) {
					if (f > (1ULL << 63) / 10) {
						of = true;
					} else {
						f = f * 10 + (uint64_t)(s[i] - '0');
						scale *= 10;
					}
				}
				i++;
			}
			post = pf != i;
		}
		if (!pre && !post) {
			*err = arena_printf(a, "time: invalid duration %s", q);
			return -1;
		}
		size_t ul = i;
		while (i < n && s[i] != '.' && !(s[i] >= '0' && s[i] <= '9'))
			i++;
		if (ul == i) {
			*err = arena_printf(a, "time: missing unit in duration %s", q);
			return -1;
		}
		const char *u = s + ul;
		size_t un = i - ul;
		uint64_t unit;
		if (un == 2 && !memcmp(u, "ns", 2)) unit = 1;
		else if ((un == 2 && !memcmp(u, "us", 2)) || (un == 3 && (!memcmp(u, "\xC2\xB5s", 3) || !memcmp(u, "\xCE\xBCs", 3)))) unit = 1000;
		else if (un == 2 && !memcmp(u, "ms", 2)) unit = 1000000ULL;
		else if (un == 1 && u[0] == 's') unit = 1000000000ULL;
		else if (un == 1 && u[0] == 'm') unit = 60000000000ULL;
		else if (un == 1 && u[0] == 'h') unit = 3600000000000ULL;
		else {
			*err = arena_printf(a, "time: unknown unit \"%.*s\" in duration %s", (int)un, u, q);
			return -1;
		}
		if (v > (1ULL << 63) / unit) {
			*err = arena_printf(a, "time: invalid duration %s", q);
			return -1;
		}
		v *= unit;
		if (f > 0) {
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > (1ULL << 63)) {
				*err = arena_printf(a, "time: invalid duration %s", q);
				return -1;
			}
		}
		d += v;
		if (d > (1ULL << 63)) {
			*err = arena_printf(a, "time: invalid duration %s", q);
			return -1;
		}
	}
	if (neg) {
		*ns = -(int64_t)d;
		return 0;
	}
	if (d > (1ULL << 63) - 1) {
		*err = arena_printf(a, "time: invalid duration %s", q);
		return -1;
	}
	*ns = (int64_t)d;
	return 0;
}

/* ---- zones ------------------------------------------------------------------------------ */
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

/* Offset and abbreviation of loc at Unix time sec. */
static bool zone_at(Arena *a, const char *loc, int64_t sec, int32_t *off, const char **abbr)
{
	if (!loc || !strcmp(loc, "UTC") || !*loc) {
		*off = 0;
		*abbr = "UTC";
		return true;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	if (!strcmp(loc, "Local")) {
		if (!localtime_r(&t, &tm))
			return false;
		*off = (int32_t)tm.tm_gmtoff;
		*abbr = arena_strdup(a, tm.tm_zone ? tm.tm_zone : "");
		return true;
	}
	if (strstr(loc, "..") || loc[0] == '/')
		return false;
	char path[512];
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", loc);
	if (access(path, R_OK) != 0)
		return false;
	pthread_mutex_lock(&tz_lock);
	char *old = getenv("TZ");
	char *saved = old ? strdup(old) : NULL;
	char tzv[520];
	snprintf(tzv, sizeof(tzv), ":%s", loc);
	setenv("TZ", tzv, 1);
	tzset();
	bool ok = localtime_r(&t, &tm) != NULL;
	if (ok) {
		*off = (int32_t)tm.tm_gmtoff;
		*abbr = arena_strdup(a, tm.tm_zone ? tm.tm_zone : "");
	}
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else
		unsetenv("TZ");
	tzset();
	pthread_mutex_unlock(&tz_lock);
	return ok;
}

bool go_time_in(Arena *a, GoTime *t, const char *loc)
{
	int32_t off;
	const char *abbr;
	if (!zone_at(a, loc, t->sec, &off, &abbr))
		return false;
	t->offset = off;
	t->zone = abbr;
	t->loc = arena_strdup(a, loc && *loc ? loc : "UTC");
	return true;
}

/* ---- layouts -------------------------------------------------------------------------------- */
typedef enum {
	T_NONE, T_LONG_MONTH, T_MONTH, T_NUM_MONTH, T_ZERO_MONTH, T_LONG_WEEKDAY, T_WEEKDAY, T_DAY, T_UNDER_DAY,
	T_ZERO_DAY, T_UNDER_YEARDAY, T_ZERO_YEARDAY, T_HOUR, T_HOUR12, T_ZERO_HOUR12, T_MINUTE, T_ZERO_MINUTE,
	T_SECOND, T_ZERO_SECOND, T_LONG_YEAR, T_YEAR, T_PM, T_pm, T_TZ, T_ISO8601_TZ, T_ISO8601_SECONDS_TZ,
	T_ISO8601_SHORT_TZ, T_ISO8601_COLON_TZ, T_ISO8601_COLON_SECONDS_TZ, T_NUM_TZ, T_NUM_SECONDS_TZ,
	T_NUM_SHORT_TZ, T_NUM_COLON_TZ, T_NUM_COLON_SECONDS_TZ, T_FRAC0, T_FRAC9,
} Tok;

static bool starts(const char *s, size_t n, size_t i, const char *p)
{
	size_t k = strlen(p);
	return i + k <= n && !memcmp(s + i, p, k);
}

/* Find the next layout token at or after *i: returns its type, sets prefix end and token length. */
static Tok next_chunk(const char *l, size_t n, size_t *i, size_t *tlen, int *digits, char *sep)
{
	for (; *i < n; (*i)++) {
		size_t k = *i;
		switch (l[k]) {
		case 'J':
			if (starts(l, n, k, "Jan")) {
				if (starts(l, n, k, "January")) { *tlen = 7; return T_LONG_MONTH; }
				if (!(k + 3 < n && l[k + 3] >= 'a' && l[k + 3] <= 'z')) { *tlen = 3; return T_MONTH; }
			}
			break;
		case 'M':
			if (starts(l, n, k, "Mon")) {
				if (starts(l, n, k, "Monday")) { *tlen = 6; return T_LONG_WEEKDAY; }
				if (!(k + 3 < n && l[k + 3] >= 'a' && l[k + 3] <= 'z')) { *tlen = 3; return T_WEEKDAY; }
			}
			if (starts(l, n, k, "MST")) { *tlen = 3; return T_TZ; }
			break;
		case '0':
			if (k + 1 < n && l[k + 1] >= '1' && l[k + 1] <= '6') {
				static const Tok std0x[] = { T_ZERO_MONTH, T_ZERO_DAY, T_ZERO_HOUR12, T_ZERO_MINUTE, T_ZERO_SECOND, T_YEAR };
				*tlen = 2;
				return std0x[l[k + 1] - '1'];
			}
			if (starts(l, n, k, "002")) { *tlen = 3; return T_ZERO_YEARDAY; }
			break;
		case '1':
			if (k + 1 < n && l[k + 1] == '5') { *tlen = 2; return T_HOUR; }
			*tlen = 1;
			return T_NUM_MONTH;
		case '2':
			if (starts(l, n, k, "2006")) { *tlen = 4; return T_LONG_YEAR; }
			*tlen = 1;
			return T_DAY;
		case '_':
			if (k + 1 < n && l[k + 1] == '2') {
				if (starts(l, n, k + 1, "2006")) { (*i)++; *tlen = 4; return T_LONG_YEAR; }
				*tlen = 2;
				return T_UNDER_DAY;
			}
			if (starts(l, n, k, "__2")) { *tlen = 3; return T_UNDER_YEARDAY; }
			break;
		case '3': *tlen = 1; return T_HOUR12;
		case '4': *tlen = 1; return T_MINUTE;
		case '5': *tlen = 1; return T_SECOND;
		case 'P': if (k + 1 < n && l[k + 1] == 'M') { *tlen = 2; return T_PM; } break;
		case 'p': if (k + 1 < n && l[k + 1] == 'm') { *tlen = 2; return T_pm; } break;
		case '-':
			if (starts(l, n, k, "-070000")) { *tlen = 7; return T_NUM_SECONDS_TZ; }
			if (starts(l, n, k, "-07:00:00")) { *tlen = 9; return T_NUM_COLON_SECONDS_TZ; }
			if (starts(l, n, k, "-0700")) { *tlen = 5; return T_NUM_TZ; }
			if (starts(l, n, k, "-07:00")) { *tlen = 6; return T_NUM_COLON_TZ; }
			if (starts(l, n, k, "-07")) { *tlen = 3; return T_NUM_SHORT_TZ; }
			break;
		case 'Z':
			if (starts(l, n, k, "Z070000")) { *tlen = 7; return T_ISO8601_SECONDS_TZ; }
			if (starts(l, n, k, "Z07:00:00")) { *tlen = 9; return T_ISO8601_COLON_SECONDS_TZ; }
			if (starts(l, n, k, "Z0700")) { *tlen = 5; return T_ISO8601_TZ; }
			if (starts(l, n, k, "Z07:00")) { *tlen = 6; return T_ISO8601_COLON_TZ; }
			if (starts(l, n, k, "Z07")) { *tlen = 3; return T_ISO8601_SHORT_TZ; }
			break;
		case '.': case ',':
			if (k + 1 < n && (l[k + 1] == '0' || l[k + 1] == '9')) {
				char ch = l[k + 1];
				size_t j = k + 1;
				while (j < n && l[j] == ch)
					j++;
				if (!(j < n && l[j] >= '0' && l[j] <= '9')) {
					*tlen = j - k;
					*digits = (int)(j - k - 1);
					*sep = l[k];
					return ch == '0' ? T_FRAC0 : T_FRAC9;
				}
			}
			break;
		}
	}
	return T_NONE;
}

typedef struct Broken {
	int year, month, day, hour, min, sec, wday, yday;
} Broken;

static void broken(const GoTime *t, Broken *b)
{
	time_t s = (time_t)(t->sec + t->offset);
	struct tm tm;
	gmtime_r(&s, &tm);
	b->year = tm.tm_year + 1900;
	b->month = tm.tm_mon + 1;
	b->day = tm.tm_mday;
	b->hour = tm.tm_hour;
	b->min = tm.tm_min;
	b->sec = tm.tm_sec;
	b->wday = tm.tm_wday;
	b->yday = tm.tm_yday + 1;
}

static void zone_num(ABuf *b, int32_t off, bool colon, bool secs, bool short_tz)
{
	int zone = off / 60;
	int absoff = off;
	if (zone < 0) {
		abuf_addc(b, '-');
		zone = -zone;
		absoff = -absoff;
	} else
		abuf_addc(b, '+');
	abuf_addf(b, "%02d", zone / 60);
	if (!short_tz) {
		if (colon)
			abuf_addc(b, ':');
		abuf_addf(b, "%02d", zone % 60);
	}
	if (secs) {
		if (colon)
			abuf_addc(b, ':');
		abuf_addf(b, "%02d", absoff % 60);
	}
}

void go_time_format(ABuf *b, const GoTime *t, const char *l, size_t n)
{
	Broken bt;
	broken(t, &bt);
	size_t i = 0;
	while (i < n) {
		size_t st = i, tlen = 0;
		int digits = 0;
		char sep = '.';
		Tok tok = next_chunk(l, n, &i, &tlen, &digits, &sep);
		abuf_add(b, l + st, i - st);
		if (tok == T_NONE)
			break;
		i += tlen;
		switch (tok) {
		case T_YEAR: abuf_addf(b, "%02d", ((bt.year % 100) + 100) % 100); break;
		case T_LONG_YEAR: abuf_addf(b, "%04d", bt.year); break;
		case T_MONTH: abuf_add(b, long_months[bt.month - 1], 3); break;
		case T_LONG_MONTH: abuf_adds(b, long_months[bt.month - 1]); break;
		case T_NUM_MONTH: abuf_addf(b, "%d", bt.month); break;
		case T_ZERO_MONTH: abuf_addf(b, "%02d", bt.month); break;
		case T_WEEKDAY: abuf_add(b, long_days[bt.wday], 3); break;
		case T_LONG_WEEKDAY: abuf_adds(b, long_days[bt.wday]); break;
		case T_DAY: abuf_addf(b, "%d", bt.day); break;
		case T_UNDER_DAY: abuf_addf(b, "%2d", bt.day); break;
		case T_ZERO_DAY: abuf_addf(b, "%02d", bt.day); break;
		case T_UNDER_YEARDAY: abuf_addf(b, "%3d", bt.yday); break;
		case T_ZERO_YEARDAY: abuf_addf(b, "%03d", bt.yday); break;
		case T_HOUR: abuf_addf(b, "%02d", bt.hour); break;
		case T_HOUR12: abuf_addf(b, "%d", bt.hour % 12 == 0 ? 12 : bt.hour % 12); break;
		case T_ZERO_HOUR12: abuf_addf(b, "%02d", bt.hour % 12 == 0 ? 12 : bt.hour % 12); break;
		case T_MINUTE: abuf_addf(b, "%d", bt.min); break;
		case T_ZERO_MINUTE: abuf_addf(b, "%02d", bt.min); break;
		case T_SECOND: abuf_addf(b, "%d", bt.sec); break;
		case T_ZERO_SECOND: abuf_addf(b, "%02d", bt.sec); break;
		case T_PM: abuf_adds(b, bt.hour >= 12 ? "PM" : "AM"); break;
		case T_pm: abuf_adds(b, bt.hour >= 12 ? "pm" : "am"); break;
		case T_ISO8601_TZ: case T_ISO8601_COLON_TZ: case T_ISO8601_SECONDS_TZ: case T_ISO8601_SHORT_TZ:
		case T_ISO8601_COLON_SECONDS_TZ:
			if (t->offset == 0) {
				abuf_addc(b, 'Z');
				break;
			}
			zone_num(b, t->offset, tok == T_ISO8601_COLON_TZ || tok == T_ISO8601_COLON_SECONDS_TZ,
				 tok == T_ISO8601_SECONDS_TZ || tok == T_ISO8601_COLON_SECONDS_TZ, tok == T_ISO8601_SHORT_TZ);
			break;
		case T_NUM_TZ: case T_NUM_COLON_TZ: case T_NUM_SECONDS_TZ: case T_NUM_SHORT_TZ: case T_NUM_COLON_SECONDS_TZ:
			zone_num(b, t->offset, tok == T_NUM_COLON_TZ || tok == T_NUM_COLON_SECONDS_TZ,
				 tok == T_NUM_SECONDS_TZ || tok == T_NUM_COLON_SECONDS_TZ, tok == T_NUM_SHORT_TZ);
			break;
		case T_TZ:
			if (t->zone && *t->zone)
				abuf_adds(b, t->zone);
			else
				zone_num(b, t->offset, false, false, false);
			break;
		case T_FRAC0: case T_FRAC9: {
			char fr[16];
			snprintf(fr, sizeof(fr), "%09d", t->nsec);
			int d = digits > 9 ? 9 : digits;
			if (tok == T_FRAC9) {
				while (d > 0 && fr[d - 1] == '0')
					d--;
				if (d == 0)
					break;
			}
			abuf_addc(b, sep);
			abuf_add(b, fr, (size_t)d);
			break;
		}
		default:
			break;
		}
	}
}

/* ---- parsing ---------------------------------------------------------------------------------- */
static bool getnum(const char *v, size_t vn, size_t *p, int min, int max, int *out)
{
	int k = 0, val = 0;
	while (*p < vn && v[*p] >= '0' && v[*p] <= '9' && k < max) {
		val = val * 10 + (v[*p] - '0');
		(*p)++;
		k++;
	}
	*out = val;
	return k >= min;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int go_time_parse(Arena *a, const char *l, size_t ln, const char *v, size_t vn, const char *loc, GoTime *out,
		  const char **err)
{
	int year = 1, month = 1, day = 1, hour = 0, min = 0, sec = 0, nsec = 0;
	bool pm = false, pm_set = false, have_zone = false;
	int32_t zoff = 0;
	size_t li = 0, vi = 0;
	const char *ql = arena_printf(a, "\"%.*s\"", (int)ln, l), *qv = arena_printf(a, "\"%.*s\"", (int)vn, v);
	while (li < ln) {
		size_t st = li, tlen = 0;
		int digits = 0;
		char sep = '.';
		Tok tok = next_chunk(l, ln, &li, &tlen, &digits, &sep);
		size_t plen = li - st;
		if (vn - vi < plen || memcmp(v + vi, l + st, plen)) {
			*err = arena_printf(a, "parsing time %s as %s: cannot parse \"%.*s\" as \"%.*s\"", qv, ql,
					    (int)(vn - vi), v + vi, (int)plen, l + st);
			return -1;
		}
		vi += plen;
		if (tok == T_NONE)
			break;
		const char *tokstr = arena_strndup(a, l + li, tlen);
		li += tlen;
		size_t before = vi;
		bool ok = true;
		int x = 0;
		switch (tok) {
		case T_LONG_YEAR: ok = getnum(v, vn, &vi, 4, 4, &year); break;
		case T_YEAR: ok = getnum(v, vn, &vi, 2, 2, &x); year = x >= 69 ? 1900 + x : 2000 + x; break;
		case T_NUM_MONTH: ok = getnum(v, vn, &vi, 1, 2, &month) && month >= 1 && month <= 12; break;
		case T_ZERO_MONTH: ok = getnum(v, vn, &vi, 2, 2, &month) && month >= 1 && month <= 12; break;
		case T_MONTH: case T_LONG_MONTH:
			ok = false;
			for (int m = 0; m < 12; m++) {
				size_t k = tok == T_MONTH ? 3 : strlen(long_months[m]);
				if (vn - vi >= k && !strncasecmp(v + vi, long_months[m], k)) {
					month = m + 1;
					vi += k;
					ok = true;
					break;
				}
			}
			break;
		case T_WEEKDAY: case T_LONG_WEEKDAY:
			ok = false;
			for (int d = 0; d < 7; d++) {
				size_t k = tok == T_WEEKDAY ? 3 : strlen(long_days[d]);
				if (vn - vi >= k && !strncasecmp(v + vi, long_days[d], k)) {
					vi += k;
					ok = true;
					break;
				}
			}
			break;
		case T_DAY: case T_UNDER_DAY: case T_ZERO_DAY:
			if (tok == T_UNDER_DAY && vi < vn && v[vi] == ' ')
				vi++;
			ok = getnum(v, vn, &vi, tok == T_ZERO_DAY ? 2 : 1, 2, &day) && day >= 1 && day <= 31;
			break;
		case T_HOUR: ok = getnum(v, vn, &vi, 2, 2, &hour) && hour < 24; break;
		case T_HOUR12: case T_ZERO_HOUR12:
			ok = getnum(v, vn, &vi, tok == T_HOUR12 ? 1 : 2, 2, &hour) && hour >= 0 && hour <= 12;
			break;
		case T_MINUTE: case T_ZERO_MINUTE:
			ok = getnum(v, vn, &vi, tok == T_MINUTE ? 1 : 2, 2, &min) && min < 60;
			break;
		case T_SECOND: case T_ZERO_SECOND:
			ok = getnum(v, vn, &vi, tok == T_SECOND ? 1 : 2, 2, &sec) && sec < 60;
			/* a fractional second may follow even if the layout has none */
			if (ok && vi + 1 < vn && (v[vi] == '.' || v[vi] == ',') && v[vi + 1] >= '0' && v[vi + 1] <= '9' &&
			    !(li < ln && (l[li] == '.' || l[li] == ','))) {
				vi++;
				int k = 0;
				nsec = 0;
				while (vi < vn && v[vi] >= '0' && v[vi] <= '9') {
					if (k < 9) {
						nsec = nsec * 10 + (v[vi] - '0');
						k++;
					}
					vi++;
				}
				for (; k < 9; k++)
					nsec *= 10;
			}
			break;
		case T_PM: case T_pm:
			if (vn - vi >= 2 && (!strncasecmp(v + vi, "PM", 2) || !strncasecmp(v + vi, "AM", 2))) {
				pm = (v[vi] | 0x20) == 'p';
				pm_set = true;
				vi += 2;
			} else
				ok = false;
			break;
		case T_FRAC0: case T_FRAC9: {
			if (vi < vn && (v[vi] == '.' || v[vi] == ',')) {
				vi++;
				int k = 0;
				nsec = 0;
				while (vi < vn && v[vi] >= '0' && v[vi] <= '9') {
					if (k < 9) {
						nsec = nsec * 10 + (v[vi] - '0');
						k++;
					}
					vi++;
				}
				if (tok == T_FRAC0 && k != digits)
					ok = false;
				for (; k < 9; k++)
					nsec *= 10;
			} else if (tok == T_FRAC0)
				ok = false;
			break;
		}
		case T_TZ:
			if (vn - vi >= 3 && !strncmp(v + vi, "UTC", 3)) {
				vi += 3;
				have_zone = true;
				zoff = 0;
			} else {
				size_t k = vi;
				while (k < vn && v[k] >= 'A' && v[k] <= 'Z')
					k++;
				ok = k - vi >= 3;
				vi = k;
			}
			break;
		default: {
			/* numeric and ISO 8601 zones */
			bool iso = tok >= T_ISO8601_TZ && tok <= T_ISO8601_COLON_SECONDS_TZ;
			if (iso && vi < vn && v[vi] == 'Z') {
				vi++;
				have_zone = true;
				zoff = 0;
				break;
			}
			if (vi >= vn || (v[vi] != '+' && v[vi] != '-')) {
				ok = false;
				break;
			}
			int sign = v[vi] == '-' ? -1 : 1;
			vi++;
			int hh = 0, mm = 0, ss = 0;
			ok = getnum(v, vn, &vi, 2, 2, &hh);
			bool colon = tok == T_NUM_COLON_TZ || tok == T_NUM_COLON_SECONDS_TZ || tok == T_ISO8601_COLON_TZ ||
				     tok == T_ISO8601_COLON_SECONDS_TZ;
			bool shortz = tok == T_NUM_SHORT_TZ || tok == T_ISO8601_SHORT_TZ;
			bool secs = tok == T_NUM_SECONDS_TZ || tok == T_NUM_COLON_SECONDS_TZ || tok == T_ISO8601_SECONDS_TZ ||
				    tok == T_ISO8601_COLON_SECONDS_TZ;
			if (ok && !shortz) {
				if (colon) {
					ok = vi < vn && v[vi] == ':';
					vi++;
				}
				ok = ok && getnum(v, vn, &vi, 2, 2, &mm);
			}
			if (ok && secs) {
				if (colon) {
					ok = vi < vn && v[vi] == ':';
					vi++;
				}
				ok = ok && getnum(v, vn, &vi, 2, 2, &ss);
			}
			zoff = sign * (hh * 3600 + mm * 60 + ss);
			have_zone = true;
		}
		}
		if (!ok) {
			*err = arena_printf(a, "parsing time %s as %s: cannot parse \"%.*s\" as \"%s\"", qv, ql,
					    (int)(vn - before), v + before, tokstr);
			return -1;
		}
	}
	if (vi < vn) {
		*err = arena_printf(a, "parsing time %s: extra text: \"%.*s\"", qv, (int)(vn - vi), v + vi);
		return -1;
	}
	if (pm_set) {
		if (pm && hour < 12)
			hour += 12;
		else if (!pm && hour == 12)
			hour = 0;
	}
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (day > mdays[month - 1] || (month == 2 && day == 29 && !leap)) {
		*err = arena_printf(a, "parsing time %s: day out of range", qv);
		return -1;
	}
	int64_t local = days_from_civil(year, (unsigned)month, (unsigned)day) * 86400 + hour * 3600 + min * 60 + sec;
	memset(out, 0, sizeof(*out));
	out->nsec = nsec;
	if (have_zone) {
		out->sec = local - zoff;
		out->offset = zoff;
		out->loc = zoff == 0 ? "UTC" : "";
		out->zone = zoff == 0 ? "UTC" : "";
		if (zoff != 0 && loc) {
			/* Go keeps the location if it has this offset */
			GoTime tmp = *out;
			if (go_time_in(a, &tmp, loc) && tmp.offset == zoff)
				*out = tmp;
		}
		return 0;
	}
	/* interpret in loc: find the offset that maps back to the wall clock */
	out->sec = local;
	if (!go_time_in(a, out, loc ? loc : "UTC"))
		go_time_in(a, out, "UTC");
	out->sec = local - out->offset;
	go_time_in(a, out, loc ? loc : "UTC");
	if (out->sec + out->offset != local) {
		out->sec = local - out->offset;
		go_time_in(a, out, loc ? loc : "UTC");
	}
	return 0;
}
