/* funcs-date.c - time for templates: the time.Time and time.Duration objects
 * (their String forms and the methods charts call on them), Sprig's date
 * functions (date, dateInZone, now, toDate, dateModify, ago, duration,
 * durationRound, unixEpoch, ...) and Helm 4's duration helpers
 * (mustToDuration, durationSeconds, durationRoundTo, ...).
 *
 * The calendar and layout work is in gotime.c; this file is the glue with
 * Go's loose argument handling (sprig accepts time.Time or int seconds and
 * silently falls back to "now" for anything else).
 */
#include "gotime.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_SEC 1000000000LL

static const ObjType time_type, duration_type;

/* ---- objects ------------------------------------------------------------------------------- */
Value *value_time(Arena *a, const GoTime *t)
{
	GoTime *p = arena_alloc(a, sizeof(*p));
	*p = *t;
	return value_object(a, &time_type, p);
}

Value *value_duration(Arena *a, int64_t ns)
{
	int64_t *p = arena_alloc(a, sizeof(*p));
	*p = ns;
	return value_object(a, &duration_type, p);
}

const GoTime *value_as_time(const Value *v)
{
	return v && v->kind == VK_OBJECT && v->u.o.t == &time_type ? v->u.o.p : NULL;
}

bool value_as_duration(const Value *v, int64_t *ns)
{
	if (!v || v->kind != VK_OBJECT || v->u.o.t != &duration_type)
		return false;
	*ns = *(const int64_t *)v->u.o.p;
	return true;
}

static int64_t mono_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* Go's runtime measures m=+x from process start; the first use stands in. */
static int64_t mono_base(void)
{
	static int64_t base;
	if (!__atomic_load_n(&base, __ATOMIC_RELAXED)) {
		int64_t zero = 0;
		__atomic_compare_exchange_n(&base, &zero, mono_now_ns() - 1, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
	}
	return __atomic_load_n(&base, __ATOMIC_RELAXED);
}

static GoTime time_now(Arena *a)
{
	int64_t base = mono_base();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	GoTime t = { .sec = ts.tv_sec, .nsec = (int32_t)ts.tv_nsec, .mono = true, .mono_ns = mono_now_ns() - base };
	go_time_in(a, &t, "Local");
	return t;
}

static GoTime time_unix(Arena *a, int64_t sec)
{
	GoTime t = { .sec = sec };
	go_time_in(a, &t, "Local");
	return t;
}

/* Go's zero Time: January 1, year 1, 00:00:00 UTC. */
static GoTime time_zero(void)
{
	GoTime t = { .sec = -62135596800LL, .zone = "UTC", .loc = "UTC" };
	return t;
}

static void time_str(const Value *v, ABuf *out)
{
	const GoTime *t = v->u.o.p;
	static const char layout[] = "2006-01-02 15:04:05.999999999 -0700 MST";
	go_time_format(out, t, layout, sizeof(layout) - 1);
	if (t->mono) {
		int64_t m = t->mono_ns;
		char sign = '+';
		uint64_t u = (uint64_t)m;
		if (m < 0) {
			sign = '-';
			u = -u;
		}
		abuf_addf(out, " m=%c%llu.%09llu", sign, (unsigned long long)(u / NS_PER_SEC),
			  (unsigned long long)(u % NS_PER_SEC));
	}
}

static void time_json(const Value *v, ABuf *out)
{
	static const char layout[] = "2006-01-02T15:04:05.999999999Z07:00";
	go_time_format(out, v->u.o.p, layout, sizeof(layout) - 1);
}

static bool time_equal(const Value *x, const Value *y)
{
	const GoTime *a = x->u.o.p, *b = y->u.o.p;
	return a->sec == b->sec && a->nsec == b->nsec && a->offset == b->offset && !strcmp(a->loc ? a->loc : "",
													b->loc ? b->loc : "");
}

static void dur_str(const Value *v, ABuf *out) { go_duration_string(out, *(const int64_t *)v->u.o.p); }

static double dur_number(const Value *v, bool *ok)
{
	*ok = true;
	return (double)*(const int64_t *)v->u.o.p;
}

static bool dur_equal(const Value *x, const Value *y) { return *(int64_t *)x->u.o.p == *(int64_t *)y->u.o.p; }

/* ---- Duration methods ------------------------------------------------------------------------ */
static int64_t dself(Ctx *c) { return *(const int64_t *)c->self->u.o.p; }

static double dur_units(int64_t d, int64_t unit)
{
	int64_t whole = d / unit, rest = d % unit;
	return (double)whole + (double)rest / (double)unit;
}

static int64_t dur_round(int64_t d, int64_t m)
{
	if (m <= 0)
		return d;
	int64_t r = d % m;
	if (d < 0) {
		r = -r;
		if ((uint64_t)r + (uint64_t)r < (uint64_t)m)
			return d + r;
		int64_t d1 = (int64_t)((uint64_t)d - (uint64_t)m + (uint64_t)r);
		return d1 < d ? d1 : INT64_MIN;
	}
	if ((uint64_t)r + (uint64_t)r < (uint64_t)m)
		return d - r;
	int64_t d1 = (int64_t)((uint64_t)d + (uint64_t)m - (uint64_t)r);
	return d1 > d ? d1 : INT64_MAX;
}

static int64_t dur_truncate(int64_t d, int64_t m) { return m <= 0 ? d : d - d % m; }

/* A time.Duration parameter: a Duration or an integer (untyped constants convert). */
static int dur_arg(Ctx *c, const Value *v, int64_t *out)
{
	if (value_as_duration(v, out))
		return 0;
	if (v && v->kind == VK_INT) {
		*out = v->u.i;
		return 0;
	}
	return fn_error(c, "wrong type for value; expected time.Duration; got %s", value_type_name(v, c->a));
}

static int dm_hours(Ctx *c, Value **a, int n, Value **r) { (void)a; (void)n; *r = value_float(c->a, dur_units(dself(c), 3600 * NS_PER_SEC)); return 0; }
static int dm_minutes(Ctx *c, Value **a, int n, Value **r) { (void)a; (void)n; *r = value_float(c->a, dur_units(dself(c), 60 * NS_PER_SEC)); return 0; }
static int dm_seconds(Ctx *c, Value **a, int n, Value **r) { (void)a; (void)n; *r = value_float(c->a, dur_units(dself(c), NS_PER_SEC)); return 0; }
static int dm_millis(Ctx *c, Value **a, int n, Value **r) { (void)a; (void)n; *r = value_int_typed(c->a, dself(c) / 1000000, GT_INT64); return 0; }
static int dm_micros(Ctx *c, Value **a, int n, Value **r) { (void)a; (void)n; *r = value_int_typed(c->a, dself(c) / 1000, GT_INT64); return 0; }
static int dm_nanos(Ctx *c, Value **a, int n, Value **r) { (void)a; (void)n; *r = value_int_typed(c->a, dself(c), GT_INT64); return 0; }

static int dm_string(Ctx *c, Value **a, int n, Value **r)
{
	(void)a; (void)n;
	ABuf b;
	abuf_init(&b, c->a);
	go_duration_string(&b, dself(c));
	*r = value_strn(c->a, b.p ? b.p : "", b.len);
	return 0;
}

static int dm_abs(Ctx *c, Value **a, int n, Value **r)
{
	(void)a; (void)n;
	int64_t d = dself(c);
	*r = value_duration(c->a, d >= 0 ? d : d == INT64_MIN ? INT64_MAX : -d);
	return 0;
}

static int dm_round(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	int64_t m;
	if (dur_arg(c, a[0], &m) < 0)
		return -1;
	*r = value_duration(c->a, dur_round(dself(c), m));
	return 0;
}

static int dm_truncate(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	int64_t m;
	if (dur_arg(c, a[0], &m) < 0)
		return -1;
	*r = value_duration(c->a, dur_truncate(dself(c), m));
	return 0;
}

static const FuncDef duration_methods[] = {
	{ "Abs", "", dm_abs, 0 },
	{ "Hours", "", dm_hours, 0 },
	{ "Microseconds", "", dm_micros, 0 },
	{ "Milliseconds", "", dm_millis, 0 },
	{ "Minutes", "", dm_minutes, 0 },
	{ "Nanoseconds", "", dm_nanos, 0 },
	{ "Round", "a", dm_round, 0 },
	{ "Seconds", "", dm_seconds, 0 },
	{ "String", "", dm_string, 0 },
	{ "Truncate", "a", dm_truncate, 0 },
	{ NULL, NULL, NULL, 0 },
};

static int method_lookup(const FuncDef *tab, const char *name, const FuncDef **method)
{
	for (const FuncDef *m = tab; m->name; m++)
		if (!strcmp(m->name, name)) {
			*method = m;
			return 1;
		}
	return -1;
}

static int dur_lookup(const Value *self, const char *name, Value **ret, const FuncDef **method, Arena *a)
{
	(void)self; (void)ret; (void)a;
	return method_lookup(duration_methods, name, method);
}

static const ObjType duration_type = {
	.type_name = "time.Duration", .kind_name = "int64", .lookup = dur_lookup, .str = dur_str,
	.equal = dur_equal, .as_number = dur_number,
};

/* ---- Time methods ---------------------------------------------------------------------------- */
static const GoTime *tself(Ctx *c) { return c->self->u.o.p; }

typedef struct Civil {
	int year, month, day, hour, min, sec, wday, yday;
} Civil;

static Civil civil(const GoTime *t)
{
	time_t s = (time_t)(t->sec + t->offset);
	struct tm tm;
	gmtime_r(&s, &tm);
	Civil cv = { tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_wday,
		     tm.tm_yday + 1 };
	return cv;
}

static const char *const month_names[] = { "January", "February", "March", "April", "May", "June", "July",
					   "August", "September", "October", "November", "December" };
static const char *const day_names[] = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
					 "Saturday" };

#define CIVIL_METHOD(fn, field) \
	static int fn(Ctx *c, Value **a, int n, Value **r) \
	{ \
		(void)a; (void)n; \
		*r = value_int(c->a, civil(tself(c)).field); \
		return 0; \
	}
CIVIL_METHOD(tm_year, year)
CIVIL_METHOD(tm_day, day)
CIVIL_METHOD(tm_hour, hour)
CIVIL_METHOD(tm_minute, min)
CIVIL_METHOD(tm_second, sec)
CIVIL_METHOD(tm_yearday, yday)

/* time.Month and time.Weekday print as names; the model has no named ints, so strings. */
static int tm_month(Ctx *c, Value **a, int n, Value **r) { (void)a; (void)n; *r = value_str(c->a, month_names[civil(tself(c)).month - 1]); return 0; }
static int tm_weekday(Ctx *c, Value **a, int n, Value **r) { (void)a; (void)n; *r = value_str(c->a, day_names[civil(tself(c)).wday]); return 0; }
static int tm_nanosecond(Ctx *c, Value **a, int n, Value **r) { (void)a; (void)n; *r = value_int(c->a, tself(c)->nsec); return 0; }
static int tm_unix(Ctx *c, Value **a, int n, Value **r) { (void)a; (void)n; *r = value_int_typed(c->a, tself(c)->sec, GT_INT64); return 0; }

static int tm_unix_milli(Ctx *c, Value **a, int n, Value **r)
{
	(void)a; (void)n;
	*r = value_int_typed(c->a, tself(c)->sec * 1000 + tself(c)->nsec / 1000000, GT_INT64);
	return 0;
}

static int tm_unix_nano(Ctx *c, Value **a, int n, Value **r)
{
	(void)a; (void)n;
	*r = value_int_typed(c->a, (int64_t)((uint64_t)tself(c)->sec * NS_PER_SEC + (uint64_t)tself(c)->nsec), GT_INT64);
	return 0;
}

static int tm_is_zero(Ctx *c, Value **a, int n, Value **r)
{
	(void)a; (void)n;
	*r = value_bool(tself(c)->sec == time_zero().sec && tself(c)->nsec == 0);
	return 0;
}

static int tm_format(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	ABuf b;
	abuf_init(&b, c->a);
	go_time_format(&b, tself(c), a[0]->u.s.p, a[0]->u.s.n);
	*r = value_strn(c->a, b.p ? b.p : "", b.len);
	return 0;
}

static int tm_string(Ctx *c, Value **a, int n, Value **r)
{
	(void)a; (void)n;
	ABuf b;
	abuf_init(&b, c->a);
	time_str(c->self, &b);
	*r = value_strn(c->a, b.p ? b.p : "", b.len);
	return 0;
}

static Value *time_in(Ctx *c, const GoTime *t, const char *loc)
{
	GoTime u = *t;
	u.mono = false;
	go_time_in(c->a, &u, loc);
	return value_time(c->a, &u);
}

static int tm_utc(Ctx *c, Value **a, int n, Value **r) { (void)a; (void)n; *r = time_in(c, tself(c), "UTC"); return 0; }
static int tm_local(Ctx *c, Value **a, int n, Value **r) { (void)a; (void)n; *r = time_in(c, tself(c), "Local"); return 0; }

static GoTime time_add(Ctx *c, const GoTime *t, int64_t d)
{
	GoTime u = *t;
	int64_t sec = d / NS_PER_SEC, ns = u.nsec + d % NS_PER_SEC;
	if (ns >= NS_PER_SEC) {
		sec++;
		ns -= NS_PER_SEC;
	} else if (ns < 0) {
		sec--;
		ns += NS_PER_SEC;
	}
	u.sec += sec;
	u.nsec = (int32_t)ns;
	if (u.mono)
		u.mono_ns += d;
	go_time_in(c->a, &u, u.loc ? u.loc : "UTC");
	return u;
}

static int tm_add(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	int64_t d;
	if (dur_arg(c, a[0], &d) < 0)
		return -1;
	GoTime u = time_add(c, tself(c), d);
	*r = value_time(c->a, &u);
	return 0;
}

static int time_arg(Ctx *c, const Value *v, const GoTime **out)
{
	*out = value_as_time(v);
	if (!*out)
		return fn_error(c, "wrong type for value; expected time.Time; got %s", value_type_name(v, c->a));
	return 0;
}

static int64_t time_sub(const GoTime *x, const GoTime *y)
{
	if (x->mono && y->mono)
		return x->mono_ns - y->mono_ns;
	__int128 d = ((__int128)x->sec - y->sec) * NS_PER_SEC + (x->nsec - y->nsec);
	if (d > INT64_MAX)
		return INT64_MAX;
	if (d < INT64_MIN)
		return INT64_MIN;
	return (int64_t)d;
}

static int tm_sub(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const GoTime *o;
	if (time_arg(c, a[0], &o) < 0)
		return -1;
	*r = value_duration(c->a, time_sub(tself(c), o));
	return 0;
}

static int time_cmp(const GoTime *x, const GoTime *y)
{
	if (x->mono && y->mono)
		return x->mono_ns < y->mono_ns ? -1 : x->mono_ns > y->mono_ns;
	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	return x->nsec < y->nsec ? -1 : x->nsec > y->nsec;
}

#define CMP_METHOD(fn, expr) \
	static int fn(Ctx *c, Value **a, int n, Value **r) \
	{ \
		(void)n; \
		const GoTime *o; \
		if (time_arg(c, a[0], &o) < 0) \
			return -1; \
		int d = time_cmp(tself(c), o); \
		*r = value_bool(expr); \
		return 0; \
	}
CMP_METHOD(tm_before, d < 0)
CMP_METHOD(tm_after, d > 0)
CMP_METHOD(tm_equal, d == 0)

static int tm_add_date(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const GoTime *t = tself(c);
	Civil cv = civil(t);
	struct tm tm = { .tm_year = cv.year + (int)a[0]->u.i - 1900, .tm_mon = cv.month - 1 + (int)a[1]->u.i,
			 .tm_mday = cv.day + (int)a[2]->u.i, .tm_hour = cv.hour, .tm_min = cv.min, .tm_sec = cv.sec };
	int64_t local = (int64_t)timegm(&tm);
	GoTime u = *t;
	u.sec = local - t->offset;
	go_time_in(c->a, &u, t->loc ? t->loc : "UTC");
	if (u.sec + u.offset != local) {
		u.sec = local - u.offset;
		go_time_in(c->a, &u, t->loc ? t->loc : "UTC");
	}
	if (u.mono)
		u.mono_ns += time_sub(&(GoTime){ .sec = u.sec, .nsec = u.nsec }, &(GoTime){ .sec = t->sec, .nsec = t->nsec });
	*r = value_time(c->a, &u);
	return 0;
}

static int tm_round_trunc(Ctx *c, Value **a, bool round, Value **r)
{
	int64_t m;
	if (dur_arg(c, a[0], &m) < 0)
		return -1;
	GoTime u = *tself(c);
	u.mono = false;
	if (m <= 0) {
		*r = value_time(c->a, &u);
		return 0;
	}
	/* time since year 1, modulo m */
	__int128 abs = ((__int128)u.sec + 62135596800LL) * NS_PER_SEC + u.nsec;
	int64_t rem = (int64_t)(abs % m);
	int64_t delta = -rem;
	if (round && (uint64_t)rem + (uint64_t)rem >= (uint64_t)m)
		delta = m - rem;
	GoTime v = time_add(c, &u, delta);
	*r = value_time(c->a, &v);
	return 0;
}

static int tm_round(Ctx *c, Value **a, int n, Value **r) { (void)n; return tm_round_trunc(c, a, true, r); }
static int tm_truncate(Ctx *c, Value **a, int n, Value **r) { (void)n; return tm_round_trunc(c, a, false, r); }

static const FuncDef time_methods[] = {
	{ "Add", "a", tm_add, 0 },
	{ "AddDate", "iii", tm_add_date, 0 },
	{ "After", "a", tm_after, 0 },
	{ "Before", "a", tm_before, 0 },
	{ "Day", "", tm_day, 0 },
	{ "Equal", "a", tm_equal, 0 },
	{ "Format", "s", tm_format, 0 },
	{ "Hour", "", tm_hour, 0 },
	{ "IsZero", "", tm_is_zero, 0 },
	{ "Local", "", tm_local, 0 },
	{ "Minute", "", tm_minute, 0 },
	{ "Month", "", tm_month, 0 },
	{ "Nanosecond", "", tm_nanosecond, 0 },
	{ "Round", "a", tm_round, 0 },
	{ "Second", "", tm_second, 0 },
	{ "String", "", tm_string, 0 },
	{ "Sub", "a", tm_sub, 0 },
	{ "Truncate", "a", tm_truncate, 0 },
	{ "UTC", "", tm_utc, 0 },
	{ "Unix", "", tm_unix, 0 },
	{ "UnixMilli", "", tm_unix_milli, 0 },
	{ "UnixNano", "", tm_unix_nano, 0 },
	{ "Weekday", "", tm_weekday, 0 },
	{ "Year", "", tm_year, 0 },
	{ "YearDay", "", tm_yearday, 0 },
	{ NULL, NULL, NULL, 0 },
};

static int time_lookup(const Value *self, const char *name, Value **ret, const FuncDef **method, Arena *a)
{
	(void)self; (void)ret; (void)a;
	return method_lookup(time_methods, name, method);
}

static const ObjType time_type = {
	.type_name = "time.Time", .kind_name = "struct", .lookup = time_lookup, .str = time_str,
	.equal = time_equal, .json_text = time_json,
};

/* ---- Sprig's date functions ---------------------------------------------------------------------- */
/* sprig's date argument: time.Time or int/int32/int64 Unix seconds; anything else is now. */
static GoTime date_arg(Ctx *c, const Value *v, bool allow_int32)
{
	const GoTime *t = value_as_time(v);
	if (t)
		return *t;
	if (v && v->kind == VK_INT &&
	    (v->type == GT_INT || v->type == GT_INT64 || (allow_int32 && v->type == GT_INT32)))
		return time_unix(c->a, v->u.i);
	return time_now(c->a);
}

static Value *format_in_zone(Ctx *c, const char *layout, size_t ln, const Value *date, const char *zone)
{
	GoTime t = date_arg(c, date, true);
	if (!go_time_in(c->a, &t, zone))
		go_time_in(c->a, &t, "UTC");
	ABuf b;
	abuf_init(&b, c->a);
	go_time_format(&b, &t, layout, ln);
	return value_strn(c->a, b.p ? b.p : "", b.len);
}

/* time.LoadLocation accepts "", "UTC", "Local" and zoneinfo names. */
static const char *zone_name(const Value *z)
{
	return z->u.s.n == 0 ? "UTC" : z->u.s.p;
}

static int f_date(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	*r = format_in_zone(c, a[0]->u.s.p, a[0]->u.s.n, a[1], "Local");
	return 0;
}

static int f_html_date(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	*r = format_in_zone(c, "2006-01-02", 10, a[0], "Local");
	return 0;
}

static int f_html_date_in_zone(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	*r = format_in_zone(c, "2006-01-02", 10, a[0], zone_name(a[1]));
	return 0;
}

static int f_date_in_zone(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	*r = format_in_zone(c, a[0]->u.s.p, a[0]->u.s.n, a[1], zone_name(a[2]));
	return 0;
}

static int f_now(Ctx *c, Value **a, int n, Value **r)
{
	(void)a; (void)n;
	GoTime t = time_now(c->a);
	*r = value_time(c->a, &t);
	return 0;
}

static int f_date_modify(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	int64_t d;
	const char *err;
	if (go_parse_duration(c->a, a[0]->u.s.p, a[0]->u.s.n, &d, &err) < 0) {
		*r = a[1];
		return 0;
	}
	GoTime t = time_add(c, value_as_time(a[1]), d);
	*r = value_time(c->a, &t);
	return 0;
}

static int f_must_date_modify(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	int64_t d;
	const char *err;
	if (go_parse_duration(c->a, a[0]->u.s.p, a[0]->u.s.n, &d, &err) < 0)
		return fn_error(c, "%s", err);
	GoTime t = time_add(c, value_as_time(a[1]), d);
	*r = value_time(c->a, &t);
	return 0;
}

static int f_to_date(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	GoTime t;
	const char *err;
	if (go_time_parse(c->a, a[0]->u.s.p, a[0]->u.s.n, a[1]->u.s.p, a[1]->u.s.n, "Local", &t, &err) < 0)
		t = time_zero();
	*r = value_time(c->a, &t);
	return 0;
}

static int f_must_to_date(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	GoTime t;
	const char *err;
	if (go_time_parse(c->a, a[0]->u.s.p, a[0]->u.s.n, a[1]->u.s.p, a[1]->u.s.n, "Local", &t, &err) < 0)
		return fn_error(c, "%s", err);
	*r = value_time(c->a, &t);
	return 0;
}

static int f_unix_epoch(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	*r = value_str(c->a, arena_printf(c->a, "%lld", (long long)value_as_time(a[0])->sec));
	return 0;
}

static Value *duration_text(Ctx *c, int64_t d)
{
	ABuf b;
	abuf_init(&b, c->a);
	go_duration_string(&b, d);
	return value_strn(c->a, b.p ? b.p : "", b.len);
}

static int f_ago(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	GoTime t = date_arg(c, a[0], false);
	GoTime now = time_now(c->a);
	*r = duration_text(c, dur_round(time_sub(&now, &t), NS_PER_SEC));
	return 0;
}

/* strconv.ParseInt(s, 10, 64), 0 on any error (sprig ignores it). */
static int64_t parse_int_or_zero(const char *s, size_t n)
{
	size_t i = 0;
	bool neg = false;
	if (n && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return 0;
	uint64_t v = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return 0;
	return neg ? (int64_t)(0 - v) : (int64_t)v;
}

static int f_duration(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	int64_t secs = 0;
	const Value *v = a[0];
	if (v->kind == VK_STRING)
		secs = parse_int_or_zero(v->u.s.p, v->u.s.n);
	else if (v->kind == VK_INT && v->type == GT_INT64)
		secs = v->u.i;
	*r = duration_text(c, (int64_t)((uint64_t)secs * (uint64_t)NS_PER_SEC));
	return 0;
}

static int f_duration_round(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	const Value *v = a[0];
	int64_t d = 0;
	const char *err;
	const GoTime *t = value_as_time(v);
	if (v->kind == VK_STRING) {
		if (go_parse_duration(c->a, v->u.s.p, v->u.s.n, &d, &err) < 0)
			d = 0;
	} else if (v->kind == VK_INT && v->type == GT_INT64) {
		d = v->u.i;
	} else if (t) {
		GoTime now = time_now(c->a);
		d = time_sub(&now, t);
	}
	uint64_t u = d < 0 ? -(uint64_t)d : (uint64_t)d;
	static const struct { uint64_t unit; const char *suffix; } units[] = {
		{ 3600ULL * 24 * 365 * NS_PER_SEC, "y" }, { 3600ULL * 24 * 30 * NS_PER_SEC, "mo" },
		{ 3600ULL * 24 * NS_PER_SEC, "d" }, { 3600ULL * NS_PER_SEC, "h" },
		{ 60ULL * NS_PER_SEC, "m" }, { (uint64_t)NS_PER_SEC, "s" },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (u > units[i].unit) {
			*r = value_str(c->a, arena_printf(c->a, "%llu%s", (unsigned long long)(u / units[i].unit),
							  units[i].suffix));
			return 0;
		}
	*r = value_str(c->a, "0s");
	return 0;
}

/* ---- Helm 4's duration helpers ------------------------------------------------------------------- */
#define MAX_DUR_SECS (INT64_MAX / NS_PER_SEC)
#define MIN_DUR_SECS (INT64_MIN / NS_PER_SEC)

static int dur_from_float(Ctx *c, double f, int64_t *out)
{
	if (isnan(f) || isinf(f))
		return fn_error(c, "invalid duration seconds: %s", isnan(f) ? "NaN" : f > 0 ? "+Inf" : "-Inf");
	if (f > (double)INT64_MAX / 1e9 || f < (double)INT64_MIN / 1e9) {
		ABuf b;
		abuf_init(&b, c->a);
		go_format_float(&b, f, 'g', -1);
		return fn_error(c, "duration seconds overflow: %s", abuf_str(&b));
	}
	double ns = f * 1e9;
	if (ns >= 9223372036854775808.0 || ns < -9223372036854775808.0) {
		ABuf b;
		abuf_init(&b, c->a);
		go_format_float(&b, ns, 'g', -1);
		return fn_error(c, "duration nanoseconds overflow: %s", abuf_str(&b));
	}
	*out = (int64_t)ns;
	return 0;
}

/* Helm's asDuration: Duration, duration or numeric-seconds string, int/uint/float seconds. */
static int as_duration(Ctx *c, const Value *v, int64_t *out)
{
	if (value_as_duration(v, out))
		return 0;
	if (value_is_nil(v))
		return fn_error(c, "invalid duration");
	switch (v->kind) {
	case VK_STRING: {
		const char *s = v->u.s.p;
		size_t n = v->u.s.n;
		while (n && strchr(" \t\n\v\f\r", *s)) {
			s++;
			n--;
		}
		while (n && strchr(" \t\n\v\f\r", s[n - 1]))
			n--;
		if (!n)
			return fn_error(c, "empty duration");
		const char *err;
		if (go_parse_duration(c->a, s, n, out, &err) == 0)
			return 0;
		/* strconv.ParseFloat: the whole text; hex needs a p exponent */
		char *tmp = arena_strndup(c->a, s, n), *end;
		double f = strtod(tmp, &end);
		bool hex = strchr(tmp, 'x') || strchr(tmp, 'X');
		bool ok = end != tmp && *end == 0 && (!hex || strpbrk(tmp, "pP"));
		if (ok)
			return dur_from_float(c, f, out);
		ABuf q;
		abuf_init(&q, c->a);
		go_quote(&q, v->u.s.p, v->u.s.n, false);
		return fn_error(c, "could not parse duration %s", abuf_str(&q));
	}
	case VK_INT:
		if (v->u.i > MAX_DUR_SECS || v->u.i < MIN_DUR_SECS)
			return fn_error(c, "duration seconds overflow: %lld", (long long)v->u.i);
		*out = v->u.i * NS_PER_SEC;
		return 0;
	case VK_UINT:
		if (v->u.u > (uint64_t)MAX_DUR_SECS)
			return fn_error(c, "duration seconds overflow: %llu", (unsigned long long)v->u.u);
		*out = (int64_t)v->u.u * NS_PER_SEC;
		return 0;
	case VK_FLOAT:
		return dur_from_float(c, v->u.f, out);
	default:
		return fn_error(c, "unsupported duration type %s", value_type_name(v, c->a));
	}
}

static int f_must_to_duration(Ctx *c, Value **a, int n, Value **r)
{
	(void)n;
	int64_t d;
	if (as_duration(c, a[0], &d) < 0)
		return -1;
	*r = value_duration(c->a, d);
	return 0;
}

/* The lenient helpers return 0 on error: evaluate, then forget the error. */
static int64_t dur_or_zero(Ctx *c, const Value *v, bool *ok)
{
	int64_t d = 0;
	*ok = as_duration(c, v, &d) == 0;
	c->errmsg = NULL;
	return *ok ? d : 0;
}

#define FLOAT_HELPER(fn, expr) \
	static int fn(Ctx *c, Value **a, int n, Value **r) \
	{ \
		(void)n; \
		bool ok; \
		int64_t d = dur_or_zero(c, a[0], &ok); \
		*r = value_float(c->a, ok ? (expr) : 0); \
		return 0; \
	}
FLOAT_HELPER(f_dur_seconds, dur_units(d, NS_PER_SEC))
FLOAT_HELPER(f_dur_minutes, dur_units(d, 60 * NS_PER_SEC))
FLOAT_HELPER(f_dur_hours, dur_units(d, 3600 * NS_PER_SEC))
FLOAT_HELPER(f_dur_days, dur_units(d, 3600 * NS_PER_SEC) / 24.0)
FLOAT_HELPER(f_dur_weeks, dur_units(d, 3600 * NS_PER_SEC) / 24.0 / 7.0)

#define INT_HELPER(fn, div) \
	static int fn(Ctx *c, Value **a, int n, Value **r) \
	{ \
		(void)n; \
		bool ok; \
		int64_t d = dur_or_zero(c, a[0], &ok); \
		*r = value_int_typed(c->a, d / (div), GT_INT64); \
		return 0; \
	}
INT_HELPER(f_dur_millis, 1000000)
INT_HELPER(f_dur_micros, 1000)
INT_HELPER(f_dur_nanos, 1)

static int dur_to(Ctx *c, Value **a, bool round, Value **r)
{
	bool ok;
	int64_t d = dur_or_zero(c, a[0], &ok);
	if (ok) {
		int64_t m = dur_or_zero(c, a[1], &ok);
		if (ok)
			d = round ? dur_round(d, m) : dur_truncate(d, m);
	}
	*r = value_duration(c->a, d);
	return 0;
}

static int f_dur_round_to(Ctx *c, Value **a, int n, Value **r) { (void)n; return dur_to(c, a, true, r); }
static int f_dur_truncate_to(Ctx *c, Value **a, int n, Value **r) { (void)n; return dur_to(c, a, false, r); }

const FuncDef funcs_date[] = {
	{ "ago", "a", f_ago, 0 },
	{ "date", "sa", f_date, 0 },
	{ "date_in_zone", "sas", f_date_in_zone, 0 },
	{ "date_modify", "sT", f_date_modify, 0 },
	{ "dateInZone", "sas", f_date_in_zone, 0 },
	{ "dateModify", "sT", f_date_modify, 0 },
	{ "duration", "a", f_duration, 0 },
	{ "durationRound", "a", f_duration_round, 0 },
	{ "htmlDate", "a", f_html_date, 0 },
	{ "htmlDateInZone", "as", f_html_date_in_zone, 0 },
	{ "must_date_modify", "sT", f_must_date_modify, 0 },
	{ "mustDateModify", "sT", f_must_date_modify, 0 },
	{ "mustToDate", "ss", f_must_to_date, 0 },
	{ "now", "", f_now, 0 },
	{ "toDate", "ss", f_to_date, 0 },
	{ "unixEpoch", "T", f_unix_epoch, 0 },
	/* Helm 4 */
	{ "mustToDuration", "a", f_must_to_duration, 0 },
	{ "durationSeconds", "a", f_dur_seconds, 0 },
	{ "durationMilliseconds", "a", f_dur_millis, 0 },
	{ "durationMicroseconds", "a", f_dur_micros, 0 },
	{ "durationNanoseconds", "a", f_dur_nanos, 0 },
	{ "durationMinutes", "a", f_dur_minutes, 0 },
	{ "durationHours", "a", f_dur_hours, 0 },
	{ "durationDays", "a", f_dur_days, 0 },
	{ "durationWeeks", "a", f_dur_weeks, 0 },
	{ "durationRoundTo", "aa", f_dur_round_to, 0 },
	{ "durationTruncateTo", "aa", f_dur_truncate_to, 0 },
	{ NULL, NULL, NULL, 0 },
};
