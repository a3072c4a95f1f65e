/* events.c - v1 Events the controllers record about the objects they own
 * (SuccessfulCreate, ScalingReplicaSet, Completed...), as Kubernetes'
 * event recorder writes them, so `kubectl describe` lists them.
 *
 * Every event goes through the correlator (eventcorr.h): a repeat bumps
 * count and lastTimestamp of the Event already written (strategic merge
 * PATCH; `kubectl describe` shows "(x3 over 10s)"), ten or more distinct
 * messages of one object and reason within ten minutes are combined into one
 * Event "(combined from similar events): ...", and a token bucket per
 * object and source (25, then one per 5 minutes) keeps a hot loop from
 * flooding the store.  Posting is best effort: a failure is logged and
 * never fails a sync.  Writes are serialized, as the recorder's single sink.
 */
#include "controller-internal.h"
#include "eventcorr.h"
#include "../base/cleanup.h"
#include "../base/log.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the correlator's caches: string key -> record, least recently used
 * evicted beyond EVCORR_CACHE_MAX ---- */

typedef struct EvRec {
	struct EvRec *next;
	char *key;
	uint64_t used;
	/* aggregation */
	json_t *local;        /* distinct messages (array) */
	int64_t agg_last_ms;
	/* logging */
	int64_t count;
	char *first, *name;   /* firstTimestamp; name of the written Event (NULL: not yet) */
	/* spam filter */
	double tokens;
	int64_t spam_ms;
} EvRec;

#define EV_BUCKETS 1024

typedef struct EvMap {
	EvRec *b[EV_BUCKETS];
	size_t n;
} EvMap;

struct EventCorr {
	pthread_mutex_t lock;
	uint64_t tick;
	EvMap agg, log, spam;
};

static unsigned ev_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % EV_BUCKETS;
}

static void rec_free(EvRec *r)
{
	if (!r)
		return;
	free(r->key);
	json_decref(r->local);
	free(r->first);
	free(r->name);
	free(r);
}

static void map_evict_oldest(EvMap *m)
{
	EvRec **victim = NULL;
	for (size_t i = 0; i < EV_BUCKETS; i++)
		for (EvRec **p = &m->b[i]; *p; p = &(*p)->next)
			if (!victim || (*p)->used < (*victim)->used)
				victim = p;
	if (!victim)
		return;
	EvRec *r = *victim;
	*victim = r->next;
	rec_free(r);
	m->n--;
}

/* The record of key, made (zeroed) when absent when create. */
static EvRec *map_get(EventCorr *c, EvMap *m, const char *key, bool create)
{
	unsigned h = ev_hash(key);
	for (EvRec *r = m->b[h]; r; r = r->next)
		if (!strcmp(r->key, key)) {
			r->used = ++c->tick;
			return r;
		}
	if (!create)
		return NULL;
	if (m->n >= EVCORR_CACHE_MAX)
		map_evict_oldest(m);
	EvRec *r = xcalloc(1, sizeof(*r));
	r->key = xstrdup(key);
	r->used = ++c->tick;
	r->next = m->b[h];
	m->b[h] = r;
	m->n++;
	return r;
}

static void map_del(EvMap *m, const char *key)
{
	for (EvRec **p = &m->b[ev_hash(key)]; *p; p = &(*p)->next)
		if (!strcmp((*p)->key, key)) {
			EvRec *r = *p;
			*p = r->next;
			rec_free(r);
			m->n--;
			return;
		}
}

static void map_clear(EvMap *m)
{
	for (size_t i = 0; i < EV_BUCKETS; i++)
		while (m->b[i]) {
			EvRec *r = m->b[i];
			m->b[i] = r->next;
			rec_free(r);
		}
	m->n = 0;
}

EventCorr *evcorr_new(void)
{
	EventCorr *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void evcorr_free(EventCorr *c)
{
	if (!c)
		return;
	map_clear(&c->agg);
	map_clear(&c->log);
	map_clear(&c->spam);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void evcorr_result_clear(EventCorrResult *r)
{
	json_decref(r->event);
	free(r->key);
	*r = (EventCorrResult){ 0 };
}

/* ---- keys ---- */

static char *join_key(const json_t *ev, bool with_reason, bool with_message)
{
	const json_t *o = json_object_get(ev, "involvedObject"), *src = json_object_get(ev, "source");
	StrBuf sb = STRBUF_INIT;
	const char *parts[] = { json_str(src, "component"), json_str(src, "host"),	json_str(o, "kind"),
				json_str(o, "namespace"),   json_str(o, "name"),	json_str(o, "fieldPath"),
				json_str(o, "uid"),	    json_str(o, "apiVersion"), json_str(ev, "type") };
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		sb_addf(&sb, "%s\x1f", parts[i] ?: "");
	if (with_reason)
		sb_addf(&sb, "%s\x1f", json_str(ev, "reason") ?: "");
	if (with_message)
		sb_addf(&sb, "%s", json_str(ev, "message") ?: "");
	return sb_detach(&sb);
}

static void rfc3339_ms(char *buf, size_t n, int64_t ms) { time_rfc3339(buf, n, ms / 1000); }

/* ---- the three steps ---- */

/* EventAggregate: the event to log and its log key (new refs). */
static json_t *aggregate(EventCorr *c, const json_t *ev, int64_t now_ms, char **key)
{
	_cleanup_free_ char *akey = join_key(ev, true, false);
	const char *msg = json_str(ev, "message") ?: "";
	EvRec *r = map_get(c, &c->agg, akey, true);
	if (!r->local || now_ms - r->agg_last_ms > (int64_t)EVCORR_SIMILAR_WINDOW_S * 1000) {
		json_decref(r->local);
		r->local = json_array();
	}
	bool seen = false;
	size_t i;
	json_t *v;
	json_array_foreach(r->local, i, v)
		seen |= !strcmp(json_string_value(v), msg);
	if (!seen)
		json_array_append_new(r->local, json_string(msg));
	r->agg_last_ms = now_ms;
	if (json_array_size(r->local) < EVCORR_MAX_SIMILAR) {
		*key = join_key(ev, true, true);
		return json_deep_copy(ev);
	}
	json_array_remove(r->local, 0);  /* the set grows no further */
	json_t *comb = json_deep_copy(ev);
	_cleanup_free_ char *m = xasprintf(EVCORR_COMBINED_PREFIX "%s", msg);
	json_object_set_new(comb, "message", json_string(m));
	_cleanup_free_ char *name = xasprintf("%s.%llx", json_str(json_object_get(ev, "involvedObject"), "name") ?: "x",
					      (unsigned long long)now_ms * 1000000ull + (unsigned)rand() % 1000000u);
	json_object_set_new(json_obj_ensure(comb, "metadata"), "name", json_string(name));
	*key = TAKE_PTR(akey);
	return comb;
}

/* eventObserve: count, firstTimestamp and name from the last write. */
static bool observe(EventCorr *c, json_t *ev, const char *key, int64_t now_ms)
{
	char now[32];
	rfc3339_ms(now, sizeof(now), now_ms);
	json_object_set_new(ev, "lastTimestamp", json_string(now));
	EvRec *r = map_get(c, &c->log, key, true);
	bool update = r->count > 0 && r->name;
	if (r->count > 0 && r->first) {
		r->count++;
		json_object_set_new(ev, "firstTimestamp", json_string(r->first));
	} else {
		r->count = 1;
		free(r->first);
		r->first = xstrdup(now);
		json_object_set_new(ev, "firstTimestamp", json_string(now));
	}
	if (r->name)
		json_object_set_new(json_obj_ensure(ev, "metadata"), "name", json_string(r->name));
	json_object_set_new(ev, "count", json_integer(r->count));
	return update;
}

/* The spam filter: false when the object's bucket is empty. */
static bool allow(EventCorr *c, const json_t *ev, int64_t now_ms)
{
	_cleanup_free_ char *skey = join_key(ev, false, false);
	EvRec *r = map_get(c, &c->spam, skey, false);
	if (!r) {
		r = map_get(c, &c->spam, skey, true);
		r->tokens = EVCORR_SPAM_BURST;
		r->spam_ms = now_ms;
	}
	double refill = (double)(now_ms - r->spam_ms) / (EVCORR_SPAM_REFILL_S * 1000.0);
	if (refill > 0) {
		r->tokens += refill;
		if (r->tokens > EVCORR_SPAM_BURST)
			r->tokens = EVCORR_SPAM_BURST;
		r->spam_ms = now_ms;
	}
	if (r->tokens < 1)
		return false;
	r->tokens -= 1;
	return true;
}

void evcorr_correlate(EventCorr *c, const json_t *ev, int64_t now_ms, EventCorrResult *res)
{
	*res = (EventCorrResult){ 0 };
	pthread_mutex_lock(&c->lock);
	res->event = aggregate(c, ev, now_ms, &res->key);
	res->update = observe(c, res->event, res->key, now_ms);
	res->skip = !allow(c, res->event, now_ms);
	pthread_mutex_unlock(&c->lock);
}

void evcorr_written(EventCorr *c, const char *key, const json_t *written)
{
	pthread_mutex_lock(&c->lock);
	EvRec *r = map_get(c, &c->log, key, false);
	const char *name = obj_meta(written, "name");
	if (r && name) {
		free(r->name);
		r->name = xstrdup(name);
	}
	pthread_mutex_unlock(&c->lock);
}

void evcorr_forget(EventCorr *c, const char *key)
{
	pthread_mutex_lock(&c->lock);
	map_del(&c->log, key);
	pthread_mutex_unlock(&c->lock);
}

/* ---- writing ---- */

/* The apiVersion of an object of kind (objects from informers carry none). */
static const char *kind_api_version(const json_t *obj, const char *kind)
{
	static const struct { const char *kind, *api; } t[] = {
		{ "Job", "batch/v1" },		  { "CronJob", "batch/v1" },	   { "ReplicaSet", "apps/v1" },
		{ "Deployment", "apps/v1" },	  { "DaemonSet", "apps/v1" },	   { "StatefulSet", "apps/v1" },
		{ "ReplicationController", "v1" }, { "Pod", "v1" },		   { "Node", "v1" },
	};
	const char *v = json_str(obj, "apiVersion");
	if (v)
		return v;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (!strcmp(t[i].kind, kind))
			return t[i].api;
	return "v1";
}

/* One correlator per process (keys carry the manager, so several managers,
 * as unit tests make, do not mix), and one writer at a time. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
static EventCorr *corr;

static int write_event(Manager *m, const char *ns, const EventCorrResult *res, json_t **ret, Error **err)
{
	_cleanup_free_ char *coll = xasprintf("/api/v1/namespaces/%s/events", ns);
	if (res->update) {
		_cleanup_free_ char *path = xasprintf("%s/%s", coll, obj_meta(res->event, "name"));
		_cleanup_json_ json_t *patch = json_pack("{s:O, s:O, s:O}", "count", json_object_get(res->event, "count"),
							 "lastTimestamp", json_object_get(res->event, "lastTimestamp"),
							 "message", json_object_get(res->event, "message"));
		int r = kube_request(m->kc, "PATCH", path, patch, "application/strategic-merge-patch+json", ret, NULL,
				     err);
		if (r != -ENOENT)
			return r;
		err_freep(err);  /* gone (TTL, deleted): write it again */
	}
	return kube_post(m->kc, coll, res->event, ret, err);
}

void ctl_event(Manager *m, const json_t *obj, const char *kind, const char *component, const char *type,
	       const char *reason, const char *fmt, ...)
{
	char now[32], msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int64_t now_ms = m->now_ms();
	time_rfc3339(now, sizeof(now), now_ms / 1000);
	const char *ns = obj_meta(obj, "namespace") ?: "default";
	_cleanup_free_ char *name = xasprintf("%s.%llx", obj_meta(obj, "name") ?: "x",
					      (unsigned long long)clock_real_ms() * 1000 + (unsigned)rand() % 1000);
	/* the manager goes into source.host for the correlator's keys only */
	char mgr[32];
	snprintf(mgr, sizeof(mgr), "%p", (void *)m);
	_cleanup_json_ json_t *ev = json_pack(
		"{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:i}",
		"apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace", ns, "involvedObject", "kind",
		kind, "apiVersion", kind_api_version(obj, kind), "namespace", ns, "name", obj_meta(obj, "name") ?: "",
		"uid", obj_meta(obj, "uid") ?: "", "reason", reason, "message", msg, "type", type, "source", "component",
		component, "host", mgr, "firstTimestamp", now, "lastTimestamp", now, "count", 1);
	pthread_mutex_lock(&write_lock);
	if (!corr)
		corr = evcorr_new();
	EventCorrResult res;
	evcorr_correlate(corr, ev, now_ms, &res);
	if (res.skip) {
		log_debug("event %s for %s/%s dropped (rate limit)", reason, ns, obj_meta(obj, "name"));
	} else {
		json_object_del(json_object_get(res.event, "source"), "host");
		_cleanup_json_ json_t *ret = NULL;
		_cleanup_err_ Error *e = NULL;
		if (write_event(m, ns, &res, &ret, &e) < 0) {
			evcorr_forget(corr, res.key);
			log_debug("event %s for %s/%s: %s", reason, ns, obj_meta(obj, "name"), err_msg(e));
		} else {
			evcorr_written(corr, res.key, ret ? ret : res.event);
		}
	}
	evcorr_result_clear(&res);
	pthread_mutex_unlock(&write_lock);
}
