/* fuzz-cron.c - the CronJob schedule parser (API users' text) and the TZif
 * reader, fed the same bytes: a parsed schedule's next start time is walked
 * in UTC and in the zone the bytes make, when they make one. */
#include "../../src/base/cron.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	CronSched s;
	Error *e = NULL;
	CronZone *z = NULL;
	if (cron_zone_parse(data, size, &z, &e) < 0)
		z = NULL;
	err_free(e);
	e = NULL;
	if (cron_parse(text, &s, &e) == 0) {
		int64_t t = cron_next(&s, NULL, 1700000000);
		if (t >= 0)
			cron_next(&s, z, t);
	}
	err_free(e);
	cron_zone_free(z);
	free(text);
	return 0;
}
