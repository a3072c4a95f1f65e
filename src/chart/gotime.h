/* gotime.h - Go's time.Time and time.Duration for templates: layout-based
 * Format/Parse ("2006-01-02T15:04:05Z07:00"), ParseDuration and
 * Duration.String, and the objects templates see (see funcs-date.c).
 */
#ifndef BERTH_CHART_GOTIME_H
#define BERTH_CHART_GOTIME_H

#include "tmpl.h"

typedef struct GoTime {
	int64_t sec;         /* Unix seconds */
	int32_t nsec;
	int32_t offset;      /* seconds east of UTC */
	const char *zone;    /* abbreviation ("UTC", "CET"); "" if unknown */
	const char *loc;     /* location name for In(): "UTC", "Local", "Europe/Berlin" */
	bool mono;           /* carries a monotonic reading (time.Now) */
	int64_t mono_ns;
} GoTime;

/* time.ParseDuration; -1 with *err (Go's text) on failure. */
int go_parse_duration(Arena *a, const char *s, size_t n, int64_t *ns, const char **err);
void go_duration_string(ABuf *b, int64_t ns);
void go_time_format(ABuf *b, const GoTime *t, const char *layout, size_t n);
/* time.ParseInLocation(layout, value, loc); -1 with *err on failure. */
int go_time_parse(Arena *a, const char *layout, size_t ln, const char *value, size_t vn, const char *loc,
		  GoTime *out, const char **err);
/* The time in a location ("UTC", "Local", or a zoneinfo name); false if unknown. */
bool go_time_in(Arena *a, GoTime *t, const char *loc);

Value *value_time(Arena *a, const GoTime *t);
Value *value_duration(Arena *a, int64_t ns);
const GoTime *value_as_time(const Value *v);
bool value_as_duration(const Value *v, int64_t *ns);

#endif
