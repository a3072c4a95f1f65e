/* cron.h - the CronJob schedule language and wall-clock time zones, pure
 * libc so that both the API server (validation) and the CronJob controller
 * (next start times) use one parser.
 *
 * Schedules are Kubernetes' (robfig/cron ParseStandard without @every):
 * five fields "minute hour day-of-month month day-of-week" with lists
 * (1,5), ranges (1-5), steps (*\/15, 3-30/5, 7/10), names JAN-DEC and
 * SUN-SAT (any case), `?` as `*`, and the descriptors @yearly @annually
 * @monthly @weekly @daily @midnight @hourly.  Day-of-month and day-of-week
 * are OR-ed unless either is `*`/`?` (then AND-ed), as cron does.
 *
 * Zones are IANA names read from TZif files under /usr/share/zoneinfo
 * (BERTH_ZONEINFO overrides the directory for tests); NULL means the
 * process's local zone (/etc/localtime, else UTC).  cron_next walks wall
 * clock fields in the zone the way robfig/cron does, so a time skipped by
 * a DST jump does not run and a repeated hour runs twice.
 */
#ifndef BERTH_BASE_CRON_H
#define BERTH_BASE_CRON_H
#include <stdbool.h>
#include <stdint.h>
#include "err.h"

typedef struct CronSched {
	uint64_t minute;          /* bit n: minute n matches */
	uint32_t hour, dom;       /* dom bits 1..31 */
	uint16_t month;           /* bits 1..12 */
	uint8_t dow;              /* bits 0..6, Sunday = 0 */
	bool dom_star, dow_star;  /* field was * or ? (or a step-1 star) */
} CronSched;

/* Parse a schedule; on error a robfig-worded message ("expected exactly 5
 * fields, found 1: [x]") and -EINVAL. */
int cron_parse(const char *spec, CronSched *ret, Error **err);

typedef struct CronZone CronZone;
/* name: IANA zone ("Europe/Berlin", "UTC"); NULL or "": the local zone.
 * -ENOENT "unknown time zone NAME" when there is no such valid zone. */
int cron_zone_load(const char *name, CronZone **ret, Error **err);
/* Parse TZif bytes (exported for the fuzz target and tests). */
int cron_zone_parse(const void *data, size_t len, CronZone **ret, Error **err);
void cron_zone_free(CronZone *z);
DEFINE_CLEANUP(CronZone, cron_zone_free)
/* UTC offset in seconds at absolute time t (z NULL: UTC). */
int32_t cron_zone_offset(const CronZone *z, int64_t t);

/* The first matching start time strictly after `after` (epoch seconds,
 * whole minutes), or -1 when there is none within five years. */
int64_t cron_next(const CronSched *s, const CronZone *z, int64_t after);

/* Is name an acceptable timeZone value? On failure the message Kubernetes'
 * validation gives and false. */
bool cron_zone_name_valid(const char *name, Error **err);

#endif
