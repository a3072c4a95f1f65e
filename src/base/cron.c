/* cron.c - owns the CronJob schedule parser, TZif time zones and the
 * next-start-time walk (see cron.h).  Kept in base because the API server
 * (validation) and the controllers (scheduling) both need it and neither
 * may include the other; everything here is pure and thread-safe (no TZ
 * environment, no localtime).
 */
#include "cron.h"
#include "cleanup.h"
#include "fs.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ZONE_MAX_BYTES (256 * 1024)
#define ZONE_MAX_TRANSITIONS 20000
#define YEARS_AHEAD 5

/* ---- schedule parsing ---- */

typedef struct {
	unsigned min, max;
	const char *const *names;  /* index = value, NULL-terminated list or NULL */
	unsigned names_base;
} Bounds;

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
					    "sep", "oct", "nov", "dec", NULL };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

static const Bounds b_minute = { 0, 59, NULL, 0 }, b_hour = { 0, 23, NULL, 0 }, b_dom = { 1, 31, NULL, 0 },
		    b_month = { 1, 12, month_names, 1 }, b_dow = { 0, 6, dow_names, 0 };

/* strconv.Atoi-like: optional sign, decimal digits. */
static int parse_num(const char *s, size_t n, const char *expr, long *ret, Error **err)
{
	char buf[32];
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, s, n);
	buf[n] = 0;
	const char *p = buf + (buf[0] == '-' || buf[0] == '+');
	if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 9)
		return err_set(err, EINVAL, "failed to parse int from %s: strconv.Atoi: parsing \"%s\": %s", buf, buf,
			       strlen(p) > 9 && strspn(p, "0123456789") == strlen(p) ? "value out of range" :
										      "invalid syntax");
	long v = strtol(buf, NULL, 10);
	if (v < 0)
		return err_set(err, EINVAL, "negative number (%ld) not allowed: %s", v, expr);
	*ret = v;
	return 0;
}

static int parse_int_or_name(const char *s, size_t n, const Bounds *b, const char *expr, long *ret, Error **err)
{
	for (size_t i = 0; b->names && b->names[i]; i++)
		if (n == strlen(b->names[i]) && !strncasecmp(s, b->names[i], n)) {
			*ret = (long)(i + b->names_base);
			return 0;
		}
	return parse_num(s, n, expr, ret, err);
}

/* One comma-separated element ("*", "1-5/2", "JAN", "7/10"); sets bits and *star. */
static int parse_range(const char *expr, const Bounds *b, uint64_t *bits, bool *star, Error **err)
{
	const char *slash = strchr(expr, '/');
	if (slash && strchr(slash + 1, '/'))
		return err_set(err, EINVAL, "too many slashes: %s", expr);
	size_t rlen = slash ? (size_t)(slash - expr) : strlen(expr);
	const char *hy = memchr(expr, '-', rlen);
	/* a leading '-' is a (negative) number's sign in Go's Split too: "-1" splits into "", "1" */
	long start, end, step = 1;
	bool single = !hy, is_star = false;
	if (hy && memchr(hy + 1, '-', rlen - (size_t)(hy + 1 - expr)))
		return err_set(err, EINVAL, "too many hyphens: %s", expr);
	if (rlen == 1 && (expr[0] == '*' || expr[0] == '?')) {
		start = b->min;
		end = b->max;
		is_star = true;
	} else {
		size_t l1 = hy ? (size_t)(hy - expr) : rlen;
		int r = parse_int_or_name(expr, l1, b, expr, &start, err);
		if (r < 0)
			return r;
		end = start;
		if (hy && (r = parse_int_or_name(hy + 1, rlen - l1 - 1, b, expr, &end, err)) < 0)
			return r;
	}
	if (slash) {
		int r = parse_num(slash + 1, strlen(slash + 1), expr, &step, err);
		if (r < 0)
			return r;
		if (single)
			end = b->max;
		if (step > 1)
			is_star = false;
	}
	if (start < (long)b->min)
		return err_set(err, EINVAL, "beginning of range (%ld) below minimum (%u): %s", start, b->min, expr);
	if (end > (long)b->max)
		return err_set(err, EINVAL, "end of range (%ld) above maximum (%u): %s", end, b->max, expr);
	if (start > end)
		return err_set(err, EINVAL, "beginning of range (%ld) beyond end of range (%ld): %s", start, end, expr);
	if (step == 0)
		return err_set(err, EINVAL, "step of range should be a positive number: %s", expr);
	for (long v = start; v <= end; v += step)
		*bits |= 1ULL << v;
	*star = *star || is_star;
	return 0;
}

static int parse_field(const char *field, const Bounds *b, uint64_t *bits, bool *star, Error **err)
{
	_cleanup_free_ char *copy = xstrdup(field);
	char *p = copy;
	*bits = 0;
	*star = false;
	/* strings.Split keeps empty elements: "1,,2" fails on the empty one */
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = 0;
		int r = parse_range(p, b, bits, star, err);
		if (r < 0)
			return r;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

static int descriptor(const char *spec, CronSched *s, Error **err)
{
	static const struct {
		const char *name, *expand;
	} d[] = { { "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
		  { "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
		  { "@hourly", "0 * * * *" } };
	for (size_t i = 0; i < ARRAY_SIZE(d); i++)
		if (!strcmp(spec, d[i].name))
			return cron_parse(d[i].expand, s, err);
	return err_set(err, EINVAL, "unrecognized descriptor: %s", spec);
}

int cron_parse(const char *spec, CronSched *ret, Error **err)
{
	char *fields[8];
	int n = 0;
	_cleanup_free_ char *copy = xstrdup(spec ? spec : "");
	for (char *p = strtok(copy, " \t\n\r\v\f"); p; p = strtok(NULL, " \t\n\r\v\f"))
		if (n < (int)ARRAY_SIZE(fields))
			fields[n++] = p;
		else
			n++;
	if (n == 0)
		return err_set(err, EINVAL, "empty spec string");
	CronSched s = { 0 };
	if (fields[0][0] == '@') {
		if (n != 1)
			return err_set(err, EINVAL, "unrecognized descriptor: %s", spec);
		int r = descriptor(fields[0], &s, err);
		if (r < 0)
			return r;
		*ret = s;
		return 0;
	}
	if (n != 5) {
		char list[256] = "";
		size_t off = 0;
		for (int i = 0; i < n && i < (int)ARRAY_SIZE(fields); i++)
			off += (size_t)snprintf(list + off, off < sizeof(list) ? sizeof(list) - off : 0, "%s%s",
						i ? " " : "", fields[i]);
		return err_set(err, EINVAL, "expected exactly 5 fields, found %d: [%s]", n, list);
	}
	uint64_t bits;
	bool star;
	const Bounds *b[] = { &b_minute, &b_hour, &b_dom, &b_month, &b_dow };
	for (int i = 0; i < 5; i++) {
		int r = parse_field(fields[i], b[i], &bits, &star, err);
		if (r < 0)
			return r;
		switch (i) {
		case 0: s.minute = bits; break;
		case 1: s.hour = (uint32_t)bits; break;
		case 2: s.dom = (uint32_t)bits; s.dom_star = star; break;
		case 3: s.month = (uint16_t)bits; break;
		case 4: s.dow = (uint8_t)bits; s.dow_star = star; break;
		}
	}
	*ret = s;
	return 0;
}

/* ---- time zones (RFC 8536 TZif) ---- */

struct CronZone {
	int64_t *trans;
	uint8_t *idx;
	int32_t *off;
	size_t ntrans, ntypes;
};

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static int64_t be64(const unsigned char *p) { return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4)); }

void cron_zone_free(CronZone *z)
{
	if (!z)
		return;
	free(z->trans);
	free(z->idx);
	free(z->off);
	free(z);
}

/* One header + data block; tsize 4 (v1) or 8 (v2+).  *ret_size: the block's length. */
static int zone_block(const unsigned char *d, size_t len, int tsize, CronZone *z, size_t *ret_size, Error **err)
{
	if (len < 44 || memcmp(d, "TZif", 4))
		return err_set(err, EINVAL, "not a TZif file");
	uint64_t isut = be32(d + 20), isstd = be32(d + 24), leap = be32(d + 28), timecnt = be32(d + 32),
		 typecnt = be32(d + 36), charcnt = be32(d + 40);
	if (typecnt == 0 || typecnt > 256 || timecnt > ZONE_MAX_TRANSITIONS)
		return err_set(err, EINVAL, "TZif: bad counts");
	uint64_t size = 44 + timecnt * (uint64_t)tsize + timecnt + typecnt * 6 + charcnt +
			leap * (uint64_t)(tsize + 4) + isstd + isut;
	if (size > len)
		return err_set(err, EINVAL, "TZif: truncated");
	*ret_size = (size_t)size;
	const unsigned char *p = d + 44;
	z->ntrans = (size_t)timecnt;
	z->ntypes = (size_t)typecnt;
	z->trans = xcalloc(timecnt ? timecnt : 1, sizeof(*z->trans));
	z->idx = xcalloc(timecnt ? timecnt : 1, 1);
	z->off = xcalloc(typecnt, sizeof(*z->off));
	for (size_t i = 0; i < timecnt; i++, p += tsize) {
		z->trans[i] = tsize == 8 ? be64(p) : (int32_t)be32(p);
		if (i && z->trans[i] < z->trans[i - 1])
			return err_set(err, EINVAL, "TZif: transitions out of order");
	}
	for (size_t i = 0; i < timecnt; i++, p++) {
		if (*p >= typecnt)
			return err_set(err, EINVAL, "TZif: bad type index");
		z->idx[i] = *p;
	}
	for (size_t i = 0; i < typecnt; i++, p += 6) {
		int32_t o = (int32_t)be32(p);
		if (o < -25 * 3600 || o > 26 * 3600)
			return err_set(err, EINVAL, "TZif: bad offset");
		z->off[i] = o;
	}
	return 0;
}

int cron_zone_parse(const void *data, size_t len, CronZone **ret, Error **err)
{
	const unsigned char *d = data;
	_cleanup_(cron_zone_freep) CronZone *z = xcalloc(1, sizeof(*z));
	size_t size;
	int r = zone_block(d, len, 4, z, &size, err);
	if (r < 0)
		return r;
	if (d[4] >= '2') {
		CronZone *z2 = xcalloc(1, sizeof(*z2));
		size_t size2;
		r = zone_block(d + size, len - size, 8, z2, &size2, err);
		if (r < 0) {
			cron_zone_free(z2);
			return r;
		}
		cron_zone_free(z);
		z = z2;
	}
	*ret = TAKE_PTR(z);
	return 0;
}

static const char *zone_dir(void)
{
	const char *d = getenv("BERTH_ZONEINFO");
	return d && *d ? d : "/usr/share/zoneinfo";
}

bool cron_zone_name_valid(const char *name, Error **err)
{
	if (!name || !*name) {
		err_set(err, EINVAL, "timeZone must be nil or non-empty string");
		return false;
	}
	if (!strcasecmp(name, "Local")) {
		err_set(err, EINVAL, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones");
		return false;
	}
	_cleanup_free_ char *copy = xstrdup(name);
	for (char *part = copy, *next; part; part = next) {
		next = strchr(part, '/');
		if (next)
			*next++ = 0;
		size_t n = strlen(part);
		if (!n || n > 14 || !strcmp(part, ".") || !strcmp(part, "..") || part[0] == '-' ||
		    strspn(part, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-_0123456789+") != n) {
			err_set(err, EINVAL, "unknown time zone %s", name);
			return false;
		}
	}
	_cleanup_(cron_zone_freep) CronZone *z = NULL;
	if (cron_zone_load(name, &z, err) < 0)
		return false;
	return true;
}

int cron_zone_load(const char *name, CronZone **ret, Error **err)
{
	_cleanup_free_ char *path = NULL;
	if (!name || !*name) {
		if (!fs_exists("/etc/localtime")) {
			*ret = xcalloc(1, sizeof(**ret));
			return 0;
		}
		path = xstrdup("/etc/localtime");
	} else {
		if (name[0] == '/' || strstr(name, ".."))
			return err_set(err, ENOENT, "unknown time zone %s", name);
		path = xasprintf("%s/%s", zone_dir(), name);
	}
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	if (fs_read_file(path, ZONE_MAX_BYTES, &data, &len, NULL) < 0 || cron_zone_parse(data, len, ret, NULL) < 0)
		return err_set(err, ENOENT, "unknown time zone %s", name && *name ? name : "Local");
	return 0;
}

int32_t cron_zone_offset(const CronZone *z, int64_t t)
{
	if (!z || !z->ntypes)
		return 0;
	if (!z->ntrans || t < z->trans[0])
		return z->off[0];
	size_t lo = 0, hi = z->ntrans;  /* last i with trans[i] <= t */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->off[z->idx[lo]];
}

/* ---- civil calendar (proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

typedef struct {
	int64_t year;
	int month, day, hour, minute, second, wday;
} Civil;

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static Civil civil_from_days(int64_t days)
{
	Civil c = { .wday = (int)((days % 7 + 11) % 7) };  /* 1970-01-01 was a Thursday (4) */
	int64_t zd = days + 719468;
	int64_t era = (zd >= 0 ? zd : zd - 146096) / 146097;
	int64_t doe = zd - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	c.day = (int)(doy - (153 * mp + 2) / 5 + 1);
	c.month = (int)(mp < 10 ? mp + 3 : mp - 9);
	c.year = yoe + era * 400 + (c.month <= 2);
	return c;
}

static Civil to_local(const CronZone *z, int64_t t)
{
	int64_t w = t + cron_zone_offset(z, t);
	int64_t days = floor_div(w, 86400), secs = w - days * 86400;
	Civil c = civil_from_days(days);
	c.hour = (int)(secs / 3600);
	c.minute = (int)(secs / 60 % 60);
	c.second = (int)(secs % 60);
	return c;
}

/* The absolute time of local midnight of (y, m, d); m may be 13 (next year).
 * In a gap the first instant after it. */
static int64_t local_midnight(const CronZone *z, int64_t y, int m, int d)
{
	if (m > 12) {
		y++;
		m -= 12;
	}
	int64_t w = days_from_civil(y, m, d) * 86400;
	int64_t t = w - cron_zone_offset(z, w - cron_zone_offset(z, w));
	Civil c = to_local(z, t);
	if (c.hour > 12)  /* landed before midnight (gap at midnight): move to the day's first instant */
		t += (24 - c.hour) * 3600 - c.minute * 60 - c.second;
	return t;
}

static int64_t next_day(const CronZone *z, const Civil *c)
{
	Civil n = civil_from_days(days_from_civil(c->year, c->month, c->day) + 1);
	return local_midnight(z, n.year, n.month, n.day);
}

static bool day_matches(const CronSched *s, const Civil *c)
{
	bool dom = s->dom >> c->day & 1, dow = s->dow >> c->wday & 1;
	if (s->dom_star || s->dow_star)
		return dom && dow;
	return dom || dow;
}

int64_t cron_next(const CronSched *s, const CronZone *z, int64_t after)
{
	int64_t t = floor_div(after, 60) * 60 + 60;
	int64_t limit_year = to_local(z, t).year + YEARS_AHEAD;
	for (;;) {
		Civil c = to_local(z, t);
		if (c.year > limit_year)
			return -1;
		int64_t next;
		if (!(s->month >> c.month & 1))
			next = local_midnight(z, c.year, c.month + 1, 1);
		else if (!day_matches(s, &c))
			next = next_day(z, &c);
		else if (!(s->hour >> c.hour & 1))
			next = t - c.minute * 60 - c.second + 3600;
		else if (!(s->minute >> c.minute & 1))
			next = t + 60 - c.second;
		else
			return t;
		t = next > t ? next : t + 60;
	}
}
