/* eventcorr.h - the event correlator of the controllers' Events (events.c),
 * as Kubernetes' EventCorrelator, kept apart from the API writes so unit
 * tests drive it with a fake clock:
 *
 *   aggregation   events of one object, source, type and reason with 10 or
 *                 more distinct messages within 10 minutes become one Event
 *                 "(combined from similar events): <message>";
 *   logging       the same event again (object, source, type, reason,
 *                 message) bumps count and lastTimestamp of the Event already
 *                 written (a PATCH) instead of creating another;
 *   spam filter   a token bucket per object and source: 25 events, then one
 *                 more every 5 minutes; the rest are dropped.
 */
#ifndef BERTH_CONTROLLER_EVENTCORR_H
#define BERTH_CONTROLLER_EVENTCORR_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#define EVCORR_MAX_SIMILAR 10
#define EVCORR_SIMILAR_WINDOW_S 600
#define EVCORR_SPAM_BURST 25
#define EVCORR_SPAM_REFILL_S 300
#define EVCORR_CACHE_MAX 4096
#define EVCORR_COMBINED_PREFIX "(combined from similar events): "

typedef struct EventCorr EventCorr;
EventCorr *evcorr_new(void);
void evcorr_free(EventCorr *c);

typedef struct EventCorrResult {
	bool skip;       /* dropped by the spam filter */
	bool update;     /* an Event exists: PATCH count, lastTimestamp, message */
	json_t *event;   /* what to write (new ref): name, count, timestamps, message */
	char *key;       /* for evcorr_written */
} EventCorrResult;

/* Correlate ev, a v1 Event (involvedObject, reason, message, source, type;
 * metadata.name is used for a new one) at now_ms.  Thread-safe. */
void evcorr_correlate(EventCorr *c, const json_t *ev, int64_t now_ms, EventCorrResult *res);
/* The Event was written as `written` (the server's answer): later repeats
 * patch that name. */
void evcorr_written(EventCorr *c, const char *key, const json_t *written);
/* The Event could not be written: forget it, so the next repeat creates one. */
void evcorr_forget(EventCorr *c, const char *key);
void evcorr_result_clear(EventCorrResult *r);
#endif
