/* test-jobs.c - the Job and CronJob controllers' pure logic: the cron
 * schedule parser and next-start walk (names, steps, descriptors, DST in a
 * zone, Feb 29, invalid schedules with their messages, TZif parsing), the
 * Job sync arithmetic (pods to create, back-off delays, completed index
 * sets) and the CronJob missed-schedule / concurrency decisions driven by a
 * fake clock. */
#include "tap.h"
#include "../../src/base/cron.h"
#include "../../src/controller/controller-internal.h"
#include "../../src/shared/json.h"
#include <string.h>
#include <time.h>

/* "2024-01-01T00:07:00" (UTC) -> epoch seconds */
static int64_t ts(const char *iso)
{
	struct tm tm = { 0 };
	strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
	return (int64_t)timegm(&tm);
}

static void iso(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
}

static void next_is(const char *spec, const char *zone, const char *after, const char *want)
{
	CronSched s;
	_cleanup_err_ Error *e = NULL;
	_cleanup_(cron_zone_freep) CronZone *z = NULL;
	if (cron_parse(spec, &s, &e) < 0 || (zone && cron_zone_load(zone, &z, &e) < 0)) {
		ok(0, "'%s' parses: %s", spec, err_msg(e));
		return;
	}
	char got[32] = "none";
	int64_t t = cron_next(&s, z, ts(after));
	if (t >= 0)
		iso(t, got, sizeof(got));
	is_str(got, want, "'%s'%s%s after %s", spec, zone ? " in " : "", zone ? zone : "", after);
}

static void invalid(const char *spec, const char *msg)
{
	CronSched s;
	_cleanup_err_ Error *e = NULL;
	is_int(cron_parse(spec, &s, &e), -EINVAL, "'%s' is rejected", spec);
	is_str(e ? e->msg : NULL, msg, "'%s': message", spec);
}

static void test_cron_next(void)
{
	next_is("*/15 * * * *", NULL, "2024-01-01T00:07:00", "2024-01-01T00:15:00");
	next_is("*/15 * * * *", NULL, "2024-01-01T00:15:00", "2024-01-01T00:30:00");
	next_is("*/1 * * * *", NULL, "2024-01-01T00:15:30", "2024-01-01T00:16:00");
	next_is("0 */1 * * *", NULL, "2024-01-01T10:00:00", "2024-01-01T11:00:00");
	next_is("0 */1 * * *", NULL, "2024-12-31T23:59:59", "2025-01-01T00:00:00");
	next_is("0 0 29 2 *", NULL, "2023-03-01T00:00:00", "2024-02-29T00:00:00");
	next_is("0 0 29 2 *", NULL, "2024-02-29T00:00:00", "2028-02-29T00:00:00");
	next_is("0 0 31 2 *", NULL, "2024-01-01T00:00:00", "none");
	next_is("0 9 * * MON-FRI", NULL, "2024-06-01T00:00:00", "2024-06-03T09:00:00");
	next_is("0 9 * * mon-fri", NULL, "2024-06-03T09:00:00", "2024-06-04T09:00:00");
	next_is("0 0 15 * 5", NULL, "2024-06-01T00:00:00", "2024-06-07T00:00:00");  /* dom OR dow */
	next_is("0 0 15 * 5", NULL, "2024-06-07T00:00:00", "2024-06-14T00:00:00");
	next_is("0 0 15 * 5", NULL, "2024-06-14T00:00:00", "2024-06-15T00:00:00");
	next_is("0 0 ? * 5", NULL, "2024-06-01T00:00:00", "2024-06-07T00:00:00");
	next_is("0 0 */1 * 5", NULL, "2024-06-01T00:00:00", "2024-06-07T00:00:00");  /* a step-1 star is a star */
	next_is("0 0 1-31/2 * 5", NULL, "2024-06-01T00:00:00", "2024-06-03T00:00:00");
	next_is("5,10-12 4 * JAN,jul *", NULL, "2024-02-01T00:00:00", "2024-07-01T04:05:00");
	next_is("5,10-12 4 * JAN,jul *", NULL, "2024-07-01T04:05:00", "2024-07-01T04:10:00");
	next_is("5,10-12 4 * JAN,jul *", NULL, "2024-07-01T04:12:00", "2024-07-02T04:05:00");
	next_is("7/20 * * * *", NULL, "2024-01-01T00:28:00", "2024-01-01T00:47:00");
	next_is("@hourly", NULL, "2024-01-01T00:00:00", "2024-01-01T01:00:00");
	next_is("@daily", NULL, "2024-01-01T00:00:00", "2024-01-02T00:00:00");
	next_is("@midnight", NULL, "2024-01-01T12:00:00", "2024-01-02T00:00:00");
	next_is("@weekly", NULL, "2024-06-03T00:00:00", "2024-06-09T00:00:00");
	next_is("@monthly", NULL, "2024-01-31T00:00:00", "2024-02-01T00:00:00");
	next_is("@yearly", NULL, "2024-01-01T00:00:00", "2025-01-01T00:00:00");
	next_is("@annually", NULL, "2024-06-01T00:00:00", "2025-01-01T00:00:00");
	/* zones: 09:00 New York is 13:00Z in summer, 14:00Z in winter */
	next_is("0 9 * * *", "America/New_York", "2024-07-01T00:00:00", "2024-07-01T13:00:00");
	next_is("0 9 * * *", "America/New_York", "2024-12-01T20:00:00", "2024-12-02T14:00:00");
	next_is("0 0 * * *", "Asia/Kolkata", "2024-01-01T00:00:00", "2024-01-01T18:30:00");
	next_is("0 0 * * *", "UTC", "2024-01-01T00:00:00", "2024-01-02T00:00:00");
	/* DST in Berlin: 02:30 does not exist on 2024-03-31 (skipped) and happens twice on 2024-10-27 */
	next_is("30 2 * * *", "Europe/Berlin", "2024-03-30T12:00:00", "2024-04-01T00:30:00");
	next_is("30 2 * * *", "Europe/Berlin", "2024-10-26T12:00:00", "2024-10-27T00:30:00");
	next_is("30 2 * * *", "Europe/Berlin", "2024-10-27T00:30:00", "2024-10-27T01:30:00");
	next_is("30 2 * * *", "Europe/Berlin", "2024-10-27T01:30:00", "2024-10-28T01:30:00");
	next_is("0 * * * *", "Europe/Berlin", "2024-03-31T00:00:00", "2024-03-31T01:00:00");
}

static void test_cron_invalid(void)
{
	invalid("", "empty spec string");
	invalid("* * * *", "expected exactly 5 fields, found 4: [* * * *]");
	invalid("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]");
	invalid("60 * * * *", "end of range (60) above maximum (59): 60");
	invalid("* 24 * * *", "end of range (24) above maximum (23): 24");
	invalid("* * 0 * *", "beginning of range (0) below minimum (1): 0");
	invalid("* * * 13 *", "end of range (13) above maximum (12): 13");
	invalid("* * * * 7", "end of range (7) above maximum (6): 7");
	invalid("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1");
	invalid("*/0 * * * *", "step of range should be a positive number: */0");
	invalid("1-2-3 * * * *", "too many hyphens: 1-2-3");
	invalid("1/2/3 * * * *", "too many slashes: 1/2/3");
	invalid("a * * * *", "failed to parse int from a: strconv.Atoi: parsing \"a\": invalid syntax");
	invalid("1,,2 * * * *", "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax");
	invalid("* * * FOO *", "failed to parse int from FOO: strconv.Atoi: parsing \"FOO\": invalid syntax");
	invalid("@every 1h", "unrecognized descriptor: @every 1h");
	invalid("@often", "unrecognized descriptor: @often");
}

static void test_zones(void)
{
	_cleanup_err_ Error *e = NULL;
	CronZone *z = NULL;
	is_int(cron_zone_load("Mars/Olympus", &z, &e), -ENOENT, "an unknown zone is not found");
	is_str(err_msg(e), "unknown time zone Mars/Olympus", "Go's message");
	err_freep(&e);
	ok(!cron_zone_name_valid("../etc/passwd", &e), "path escapes are invalid");
	err_freep(&e);
	ok(!cron_zone_name_valid("Local", &e), "Local is not an explicit zone");
	ok(strstr(err_msg(e), "explicit time zone") != NULL, "Local: Kubernetes' message");
	err_freep(&e);
	ok(cron_zone_name_valid("Europe/Berlin", &e), "Europe/Berlin is valid");
	is_int(cron_zone_parse("TZif2garbage", 12, &z, &e), -EINVAL, "a truncated TZif is rejected");
	err_freep(&e);
	is_int(cron_zone_load("Europe/Berlin", &z, &e), 0, "Berlin loads");
	is_int(cron_zone_offset(z, ts("2024-01-15T12:00:00")), 3600, "CET in winter");
	is_int(cron_zone_offset(z, ts("2024-07-15T12:00:00")), 7200, "CEST in summer");
	cron_zone_free(z);
}

static void test_job_arithmetic(void)
{
	is_int(job_pods_diff(2, 10, 0, 0), 2, "completions 10 / parallelism 2 starts 2 pods");
	is_int(job_pods_diff(2, 10, 2, 0), 0, "nothing more while 2 run");
	is_int(job_pods_diff(2, 10, 1, 8), 1, "one replacement near the end");
	is_int(job_pods_diff(2, 10, 1, 9), 0, "never more than the remaining completions");
	is_int(job_pods_diff(2, 10, 2, 9), -1, "an extra pod beyond the remaining completion is deleted");
	is_int(job_pods_diff(3, -1, 0, 0), 3, "nil completions: parallelism pods");
	is_int(job_pods_diff(3, -1, 2, 1), 0, "nil completions: after a success, no new pods");
	is_int(job_pods_diff(5, 3, 0, 0), 3, "parallelism above completions is capped");
	is_int(job_pods_diff(1000, 1000, 0, 0), 500, "at most 500 creates per sync");
	is_int(job_backoff_delay(0), 0, "no failure, no delay");
	is_int(job_backoff_delay(1), 10, "first failure: 10 s");
	is_int(job_backoff_delay(2), 20, "second: 20 s");
	is_int(job_backoff_delay(4), 80, "fourth: 80 s");
	is_int(job_backoff_delay(6), 320, "sixth: 320 s");
	is_int(job_backoff_delay(7), 360, "capped at 6 minutes");
	is_int(job_backoff_delay(60), 360, "still capped");
	bool a[8] = { false, true, false, true, true, true, false, false };
	_cleanup_free_ char *s1 = job_format_indexes(a, 8);
	is_str(s1, "1,3-5", "indexes 1,3,4,5");
	bool b[5] = { true, true, true, false, true };
	_cleanup_free_ char *s2 = job_format_indexes(b, 5);
	is_str(s2, "0-2,4", "indexes 0,1,2,4");
	bool c[3] = { false, false, false };
	_cleanup_free_ char *s3 = job_format_indexes(c, 3);
	is_str(s3, "", "no index");
	bool d[4] = { false, false, true, true };
	_cleanup_free_ char *s4 = job_format_indexes(d, 4);
	is_str(s4, "2-3", "a pair is a range");
}

/* A CronJob object with a schedule, created at `created`, last scheduled at `last`. */
static json_t *cronjob(const char *policy, const char *created, const char *last, int sds)
{
	json_t *cj = json_pack("{s:{s:s, s:s}, s:{s:s, s:s}, s:{}}", "metadata", "name", "cj", "creationTimestamp",
			       created, "spec", "schedule", "*/5 * * * *", "concurrencyPolicy", policy, "status");
	if (last)
		json_object_set_new(json_object_get(cj, "status"), "lastScheduleTime", json_string(last));
	if (sds >= 0)
		json_object_set_new(json_object_get(cj, "spec"), "startingDeadlineSeconds", json_integer(sds));
	return cj;
}

static void test_cronjob_decide(void)
{
	CronSched s;
	cron_parse("*/5 * * * *", &s, NULL);
	CjPlan p;
	char buf[32];
	_cleanup_json_ json_t *fresh = cronjob("Allow", "2024-01-01T00:01:00Z", NULL, -1);
	is_int(cj_decide(fresh, &s, NULL, ts("2024-01-01T00:03:00"), 0, &p), CJ_WAIT, "nothing due before 00:05");
	iso(p.next, buf, sizeof(buf));
	is_str(buf, "2024-01-01T00:05:00", "requeue at the next start time");
	is_int(cj_decide(fresh, &s, NULL, ts("2024-01-01T00:05:00"), 0, &p), CJ_CREATE, "due at 00:05");
	iso(p.scheduled, buf, sizeof(buf));
	is_str(buf, "2024-01-01T00:05:00", "scheduled 00:05");
	is_int(p.missed, 1, "one start time");
	_cleanup_json_ json_t *ran = cronjob("Allow", "2024-01-01T00:01:00Z", "2024-01-01T00:05:00Z", -1);
	is_int(cj_decide(ran, &s, NULL, ts("2024-01-01T00:07:00"), 1, &p), CJ_WAIT, "the last schedule time is not run twice");
	is_int(cj_decide(ran, &s, NULL, ts("2024-01-01T00:10:30"), 1, &p), CJ_CREATE, "Allow runs beside an active job");
	_cleanup_json_ json_t *forbid = cronjob("Forbid", "2024-01-01T00:01:00Z", "2024-01-01T00:05:00Z", -1);
	is_int(cj_decide(forbid, &s, NULL, ts("2024-01-01T00:10:00"), 1, &p), CJ_FORBIDDEN, "Forbid skips while active");
	is_int(cj_decide(forbid, &s, NULL, ts("2024-01-01T00:10:00"), 0, &p), CJ_CREATE, "Forbid runs when none is active");
	_cleanup_json_ json_t *replace = cronjob("Replace", "2024-01-01T00:01:00Z", "2024-01-01T00:05:00Z", -1);
	is_int(cj_decide(replace, &s, NULL, ts("2024-01-01T00:10:00"), 1, &p), CJ_REPLACE, "Replace replaces the active job");
	/* missed: down for 10 hours -> 120 missed start times, the newest is run */
	is_int(cj_decide(ran, &s, NULL, ts("2024-01-01T10:07:00"), 0, &p), CJ_CREATE, "after downtime the newest time runs");
	iso(p.scheduled, buf, sizeof(buf));
	is_str(buf, "2024-01-01T10:05:00", "the most recent missed time");
	ok(p.missed > 100, "more than 100 missed start times are reported (%d)", p.missed);
	/* startingDeadlineSeconds: only the window counts; too late is skipped */
	_cleanup_json_ json_t *sds = cronjob("Allow", "2024-01-01T00:01:00Z", "2024-01-01T00:05:00Z", 60);
	is_int(cj_decide(sds, &s, NULL, ts("2024-01-01T10:07:00"), 0, &p), CJ_WAIT, "deadline 60 s: 10:05 is outside the window");
	is_int(p.missed, 0, "missed times outside the deadline window do not count");
	is_int(cj_decide(sds, &s, NULL, ts("2024-01-01T10:05:50"), 0, &p), CJ_CREATE, "inside the window it runs");
	_cleanup_json_ json_t *sus = cronjob("Allow", "2024-01-01T00:01:00Z", NULL, -1);
	json_object_set_new(json_object_get(sus, "spec"), "suspend", json_true());
	is_int(cj_decide(sus, &s, NULL, ts("2024-01-01T00:05:00"), 0, &p), CJ_SUSPENDED, "suspended: nothing runs");
}

int main(void)
{
	test_job_arithmetic();
	test_cronjob_decide();
	test_cron_next();
	test_cron_invalid();
	test_zones();
	return tap_done();
}
