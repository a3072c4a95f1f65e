/* informer.c - list + watch one resource into a cache, calling handlers.
 *
 * One thread per informer: LIST (full, with its resourceVersion), replace the
 * cache (firing ADD/UPDATE/DELETE for the differences), then WATCH from that
 * resourceVersion; when the stream ends (timeoutSeconds, a dropped
 * connection) watch again from the last event's resourceVersion; a 410
 * Expired (an ERROR event or status) re-lists.  Errors back off 1 s.
 *
 * The cache is a jansson object "ns/name" -> object; cached objects are never
 * modified after insertion, so handing out references is safe.
 */
#include "framework.h"
#include "../../base/cleanup.h"
#include "../../base/log.h"
#include "../../shared/json.h"
#include <string.h>
#include <time.h>

#define INF_MAX_HANDLERS 8
#define WATCH_TIMEOUT_S 300

typedef struct Handler {
	InformerFn fn;
	void *ud;
} Handler;

struct Informer {
	KubeClient *kc;
	char *path;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	json_t *cache;
	Handler h[INF_MAX_HANDLERS];
	size_t nh;
	pthread_t th;
	bool started, synced;
	volatile int stop;
	char *rv;
};

Informer *informer_new(KubeClient *kc, const char *path)
{
	Informer *inf = xcalloc(1, sizeof(*inf));
	inf->kc = kc;
	inf->path = xstrdup(path);
	inf->cache = json_object();
	pthread_mutex_init(&inf->lock, NULL);
	pthread_cond_init(&inf->cond, NULL);
	return inf;
}

void informer_add_handler(Informer *inf, InformerFn fn, void *ud)
{
	if (inf->nh < INF_MAX_HANDLERS)
		inf->h[inf->nh++] = (Handler){ fn, ud };
}

static void fire(Informer *inf, InformerEvent ev, const json_t *old, const json_t *obj)
{
	for (size_t i = 0; i < inf->nh; i++)
		inf->h[i].fn(inf->h[i].ud, ev, old, obj);
}

/* Put obj (steals) in the cache and fire the matching event. */
static void cache_upsert(Informer *inf, json_t *obj)
{
	_cleanup_free_ char *key = obj_key(obj);
	pthread_mutex_lock(&inf->lock);
	json_t *old = json_incref(json_object_get(inf->cache, key));
	json_object_set(inf->cache, key, obj);
	pthread_mutex_unlock(&inf->lock);
	fire(inf, old ? INF_UPDATE : INF_ADD, old, obj);
	json_decref(old);
	json_decref(obj);
}

static void cache_remove(Informer *inf, const char *key)
{
	pthread_mutex_lock(&inf->lock);
	json_t *old = json_incref(json_object_get(inf->cache, key));
	json_object_del(inf->cache, key);
	pthread_mutex_unlock(&inf->lock);
	if (old)
		fire(inf, INF_DELETE, old, old);
	json_decref(old);
}

void informer_inject(Informer *inf, const char *type, const json_t *obj)
{
	if (!strcmp(type, "DELETED")) {
		_cleanup_free_ char *key = obj_key(obj);
		cache_remove(inf, key);
	} else
		cache_upsert(inf, json_deep_copy(obj));
}

static void set_rv(Informer *inf, const char *rv)
{
	if (!rv)
		return;
	pthread_mutex_lock(&inf->lock);
	free(inf->rv);
	inf->rv = xstrdup(rv);
	pthread_mutex_unlock(&inf->lock);
}

static int do_list(Informer *inf, Error **err)
{
	_cleanup_json_ json_t *list = NULL;
	int r = kube_get(inf->kc, inf->path, &list, err);
	if (r < 0)
		return r;
	json_t *items = json_object_get(list, "items"), *seen = json_object();
	size_t i;
	json_t *o;
	json_array_foreach(items, i, o) {
		_cleanup_free_ char *key = obj_key(o);
		json_object_set_new(seen, key, json_true());
		pthread_mutex_lock(&inf->lock);
		json_t *cur = json_object_get(inf->cache, key);
		bool same = cur && json_equal(cur, o);
		pthread_mutex_unlock(&inf->lock);
		if (!same)
			cache_upsert(inf, json_incref(o));
	}
	pthread_mutex_lock(&inf->lock);
	json_t *gone = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(inf->cache, k, v)
		if (!json_object_get(seen, k))
			json_array_append_new(gone, json_string(k));
	pthread_mutex_unlock(&inf->lock);
	json_array_foreach(gone, i, o)
		cache_remove(inf, json_string_value(o));
	json_decref(gone);
	json_decref(seen);
	set_rv(inf, json_str(json_object_get(list, "metadata"), "resourceVersion"));
	pthread_mutex_lock(&inf->lock);
	inf->synced = true;
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->lock);
	return 0;
}

typedef struct WatchCtx {
	Informer *inf;
	bool expired;
} WatchCtx;

static int on_event(const json_t *ev, void *ud)
{
	WatchCtx *w = ud;
	const char *type = json_str(ev, "type");
	json_t *obj = json_object_get(ev, "object");
	if (!type || !json_is_object(obj))
		return 0;
	if (!strcmp(type, "ERROR")) {
		w->expired = json_int(obj, "code", 0) == 410;
		return 1;
	}
	const char *rv = obj_meta(obj, "resourceVersion");
	if (!strcmp(type, "BOOKMARK")) {
		set_rv(w->inf, rv);
		return 0;
	}
	informer_inject(w->inf, type, obj);
	set_rv(w->inf, rv);
	return 0;
}

static void sleep_ms(Informer *inf, int ms)
{
	for (int i = 0; i < ms / 50 && !inf->stop; i++)
		nanosleep(&(struct timespec){ 0, 50 * 1000000L }, NULL);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *informer_main(void *arg)
{
	Informer *inf = arg;
	bool need_list = true;
	int backoff_ms = 100; /* for watches that end at once (an API without its datastore) */
	while (!inf->stop) {
		_cleanup_err_ Error *err = NULL;
		if (need_list) {
			if (do_list(inf, &err) < 0) {
				log_debug("informer %s: %s", inf->path, err_msg(err));
				sleep_ms(inf, 1000);
				continue;
			}
			need_list = false;
		}
		pthread_mutex_lock(&inf->lock);
		_cleanup_free_ char *path = xasprintf("%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s",
						      inf->path, WATCH_TIMEOUT_S, inf->rv ?: "0");
		pthread_mutex_unlock(&inf->lock);
		WatchCtx w = { .inf = inf };
		int64_t started = mono_ms();
		int r = kube_watch(inf->kc, path, on_event, &w, &inf->stop, &err);
		if (w.expired || r == -ESTALE)
			need_list = true;
		else if (r < 0) {
			log_debug("informer %s: %s", inf->path, err_msg(err));
			sleep_ms(inf, 1000);
		} else if (mono_ms() - started < 1000) {
			/* a watch that ended at once: never re-watch in a tight loop */
			sleep_ms(inf, backoff_ms);
			backoff_ms = backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2;
		} else {
			backoff_ms = 100;
		}
	}
	return NULL;
}

int informer_start(Informer *inf, Error **err)
{
	int r = pthread_create(&inf->th, NULL, informer_main, inf);
	if (r)
		return err_sys(err, r, "informer %s: thread", inf->path);
	inf->started = true;
	return 0;
}

bool informer_wait_synced(Informer *inf, int timeout_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&inf->lock);
	while (!inf->synced && !inf->stop)
		if (pthread_cond_timedwait(&inf->cond, &inf->lock, &ts))
			break;
	bool s = inf->synced;
	pthread_mutex_unlock(&inf->lock);
	return s;
}

json_t *informer_get(Informer *inf, const char *ns, const char *name)
{
	_cleanup_free_ char *key = xasprintf("%s/%s", ns ?: "", name);
	pthread_mutex_lock(&inf->lock);
	json_t *o = json_incref(json_object_get(inf->cache, key));
	pthread_mutex_unlock(&inf->lock);
	return o;
}

json_t *informer_list(Informer *inf, const char *ns)
{
	json_t *out = json_array();
	size_t nl = ns ? strlen(ns) : 0;
	pthread_mutex_lock(&inf->lock);
	const char *k;
	json_t *v;
	json_object_foreach(inf->cache, k, v)
		if (!ns || (!strncmp(k, ns, nl) && k[nl] == '/'))
			json_array_append(out, v);
	pthread_mutex_unlock(&inf->lock);
	return out;
}

void informer_stop(Informer *inf)
{
	if (!inf)
		return;
	inf->stop = 1;
	pthread_mutex_lock(&inf->lock);
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->lock);
	if (inf->started)
		pthread_join(inf->th, NULL);
	inf->started = false;
}

void informer_free(Informer *inf)
{
	if (!inf)
		return;
	informer_stop(inf);
	json_decref(inf->cache);
	pthread_mutex_destroy(&inf->lock);
	pthread_cond_destroy(&inf->cond);
	free(inf->path);
	free(inf->rv);
	free(inf);
}
