/* informer.c - list + watch one resource into a cache, calling handlers.
 *
 * One thread per informer: LIST (full, with its resourceVersion), replace the
 * cache (firing ADD/UPDATE/DELETE for the differences), then WATCH from that
 * resourceVersion; when the stream ends (timeoutSeconds, a dropped
 * connection) watch again from the last event's resourceVersion; a 410
 * Expired (an ERROR event or status) re-lists.  Errors back off 1 s.
 *
 * The cache is a jansson object "ns/name" -> object; cached objects are never
 * modified after insertion, so handing out references is safe.  Before an
 * object is cached the transform drops what no consumer reads (client-go's
 * transform funcs): metadata.managedFields everywhere (an update without them
 * keeps the stored ones), and for pods kubectl's last-applied annotation too
 * (nothing writes a pod back from the cache).
 *
 * Sharing (informer_shared): an Informer is a view with its own handlers over
 * a core (the thread, the cache, the watch).  In `berth server` the
 * scheduler and the controllers get views of the same pods and nodes cores,
 * so every pod is decoded and kept once per process.  A handler added to a
 * running core first gets an ADD for every cached object; informer_stop on a
 * view detaches its handlers (no call into them after it returns); the core
 * stops when its last view is freed.  Cache changes and handler calls happen
 * under the core's dispatch lock, so a late handler sees a consistent
 * sequence.
 */
#include "framework.h"
#include "../../base/cleanup.h"
#include "../../base/log.h"
#include "../../shared/json.h"
#include <string.h>
#include <time.h>

#define INF_MAX_HANDLERS 16
#define WATCH_TIMEOUT_S 300
#define ANN_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

typedef struct Handler {
	InformerFn fn;
	void *ud;
	const Informer *owner;  /* the view that added it */
} Handler;

typedef struct InfCore InfCore;
struct InfCore {
	KubeClient *kc;
	char *path;
	pthread_mutex_t lock;      /* cache, rv, synced */
	pthread_mutex_t dispatch;  /* handler list; held while the cache changes and handlers run */
	pthread_cond_t cond;
	json_t *cache;
	Handler h[INF_MAX_HANDLERS];
	size_t nh;
	pthread_t th;
	bool started, synced, strip_last_applied, shared;
	volatile int stop;
	char *rv;
	int refs;                  /* views; under the registry lock when shared */
	InfCore *next;             /* in the shared registry */
};

struct Informer {
	InfCore *core;
	bool detached;
};

static InfCore *core_new(KubeClient *kc, const char *path)
{
	InfCore *c = xcalloc(1, sizeof(*c));
	c->kc = kc;
	c->path = xstrdup(path);
	c->cache = json_object();
	size_t n = strlen(path);
	c->strip_last_applied = n >= 5 && !strcmp(path + n - 5, "/pods");
	c->refs = 1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->dispatch, NULL);
	pthread_cond_init(&c->cond, NULL);
	return c;
}

static Informer *view_new(InfCore *c)
{
	Informer *inf = xcalloc(1, sizeof(*inf));
	inf->core = c;
	return inf;
}

Informer *informer_new(KubeClient *kc, const char *path)
{
	return view_new(core_new(kc, path));
}

/* Drop from o (ours) what the cache does not keep. */
static void strip(const InfCore *c, json_t *o)
{
	json_t *meta = json_object_get(o, "metadata");
	json_object_del(meta, "managedFields");
	if (c->strip_last_applied) {
		json_t *anns = json_object_get(meta, "annotations");
		if (!json_object_del(anns, ANN_LAST_APPLIED) && !json_object_size(anns))
			json_object_del(meta, "annotations");
	}
}

/* A new copy of obj as the cache keeps it. */
static json_t *transform(const InfCore *c, const json_t *obj)
{
	json_t *o = json_deep_copy(obj);
	strip(c, o);
	return o;
}

json_t *informer_transform(Informer *inf, const json_t *obj)
{
	return transform(inf->core, obj);
}

void informer_add_handler(Informer *inf, InformerFn fn, void *ud)
{
	InfCore *c = inf->core;
	pthread_mutex_lock(&c->dispatch);
	if (c->nh < INF_MAX_HANDLERS) {
		c->h[c->nh++] = (Handler){ fn, ud, inf };
		/* late: replay what is cached (the core's thread waits on dispatch) */
		pthread_mutex_lock(&c->lock);
		json_t *objs = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(c->cache, k, v)
			json_array_append(objs, v);
		pthread_mutex_unlock(&c->lock);
		size_t i;
		json_array_foreach(objs, i, v)
			fn(ud, INF_ADD, NULL, v);
		json_decref(objs);
	}
	pthread_mutex_unlock(&c->dispatch);
}

/* Remove inf's handlers from its core; none runs after this returns. */
static void detach(Informer *inf)
{
	InfCore *c = inf->core;
	pthread_mutex_lock(&c->dispatch);
	size_t j = 0;
	for (size_t i = 0; i < c->nh; i++)
		if (c->h[i].owner != inf)
			c->h[j++] = c->h[i];
	c->nh = j;
	pthread_mutex_unlock(&c->dispatch);
	inf->detached = true;
}

static void fire(InfCore *c, InformerEvent ev, const json_t *old, const json_t *obj)
{
	for (size_t i = 0; i < c->nh; i++)
		c->h[i].fn(c->h[i].ud, ev, old, obj);
}

/* Put obj (steals; already transformed) in the cache and fire the matching event. */
static void cache_upsert(InfCore *c, json_t *obj)
{
	_cleanup_free_ char *key = obj_key(obj);
	pthread_mutex_lock(&c->dispatch);
	pthread_mutex_lock(&c->lock);
	json_t *old = json_incref(json_object_get(c->cache, key));
	json_object_set(c->cache, key, obj);
	pthread_mutex_unlock(&c->lock);
	fire(c, old ? INF_UPDATE : INF_ADD, old, obj);
	pthread_mutex_unlock(&c->dispatch);
	json_decref(old);
	json_decref(obj);
}

static void cache_remove(InfCore *c, const char *key)
{
	pthread_mutex_lock(&c->dispatch);
	pthread_mutex_lock(&c->lock);
	json_t *old = json_incref(json_object_get(c->cache, key));
	json_object_del(c->cache, key);
	pthread_mutex_unlock(&c->lock);
	if (old)
		fire(c, INF_DELETE, old, old);
	pthread_mutex_unlock(&c->dispatch);
	json_decref(old);
}

/* owned: obj is the caller's own tree, decoded for this event alone (a
 * watch line), so it is stripped in place and cached as is instead of
 * copied (a deep copy of every pod event was ~5% of a busy server). */
static void core_inject(InfCore *c, const char *type, const json_t *obj, bool owned)
{
	if (!strcmp(type, "DELETED")) {
		_cleanup_free_ char *key = obj_key(obj);
		cache_remove(c, key);
	} else if (owned) {
		strip(c, (json_t *)obj);
		cache_upsert(c, json_incref((json_t *)obj));
	} else
		cache_upsert(c, transform(c, obj));
}

void informer_inject(Informer *inf, const char *type, const json_t *obj)
{
	core_inject(inf->core, type, obj, false);
}

static void set_rv(InfCore *c, const char *rv)
{
	if (!rv)
		return;
	pthread_mutex_lock(&c->lock);
	free(c->rv);
	c->rv = xstrdup(rv);
	pthread_mutex_unlock(&c->lock);
}

static int do_list(InfCore *c, Error **err)
{
	_cleanup_json_ json_t *list = NULL;
	int r = kube_get(c->kc, c->path, &list, err);
	if (r < 0)
		return r;
	json_t *items = json_object_get(list, "items"), *seen = json_object();
	size_t i;
	json_t *o;
	json_array_foreach(items, i, o) {
		_cleanup_free_ char *key = obj_key(o);
		json_object_set_new(seen, key, json_true());
		strip(c, o);  /* the list is ours */
		pthread_mutex_lock(&c->lock);
		json_t *cur = json_object_get(c->cache, key);
		bool same = cur && json_equal(cur, o);
		pthread_mutex_unlock(&c->lock);
		if (!same)
			cache_upsert(c, json_incref(o));
	}
	pthread_mutex_lock(&c->lock);
	json_t *gone = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(c->cache, k, v)
		if (!json_object_get(seen, k))
			json_array_append_new(gone, json_string(k));
	pthread_mutex_unlock(&c->lock);
	json_array_foreach(gone, i, o)
		cache_remove(c, json_string_value(o));
	json_decref(gone);
	json_decref(seen);
	set_rv(c, json_str(json_object_get(list, "metadata"), "resourceVersion"));
	pthread_mutex_lock(&c->lock);
	c->synced = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

typedef struct WatchCtx {
	InfCore *c;
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
		set_rv(w->c, rv);
		return 0;
	}
	/* kube_watch and the in-process transport decode each line for this
	 * call alone and free it after it returns: a tree nobody else holds a
	 * reference to is ours to strip and keep.  A transport that keeps the
	 * tree holds its own reference while it calls (the unit tests' fake
	 * API does), and the informer copies it. */
	core_inject(w->c, type, obj, ev->refcount == 1 && obj->refcount == 1);
	set_rv(w->c, rv);
	return 0;
}

static void sleep_ms(InfCore *c, int ms)
{
	for (int i = 0; i < ms / 50 && !c->stop; i++)
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
	InfCore *c = arg;
	bool need_list = true;
	int backoff_ms = 100; /* for watches that end at once (an API without its datastore) */
	while (!c->stop) {
		_cleanup_err_ Error *err = NULL;
		if (need_list) {
			if (do_list(c, &err) < 0) {
				log_debug("informer %s: %s", c->path, err_msg(err));
				sleep_ms(c, 1000);
				continue;
			}
			need_list = false;
		}
		pthread_mutex_lock(&c->lock);
		_cleanup_free_ char *path = xasprintf("%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s",
						      c->path, WATCH_TIMEOUT_S, c->rv ?: "0");
		pthread_mutex_unlock(&c->lock);
		WatchCtx w = { .c = c };
		int64_t started = mono_ms();
		int r = kube_watch(c->kc, path, on_event, &w, &c->stop, &err);
		if (w.expired || r == -ESTALE)
			need_list = true;
		else if (r < 0) {
			log_debug("informer %s: %s", c->path, err_msg(err));
			sleep_ms(c, 1000);
		} else if (mono_ms() - started < 1000) {
			/* a watch that ended at once: never re-watch in a tight loop */
			sleep_ms(c, backoff_ms);
			backoff_ms = backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2;
		} else {
			backoff_ms = 100;
		}
	}
	return NULL;
}

/* Start the core's thread once, whichever view asks first. */
int informer_start(Informer *inf, Error **err)
{
	InfCore *c = inf->core;
	pthread_mutex_lock(&c->lock);
	int r = 0;
	if (!c->started && !c->stop) {
		r = pthread_create(&c->th, NULL, informer_main, c);
		c->started = !r;
	}
	pthread_mutex_unlock(&c->lock);
	if (r)
		return err_sys(err, r, "informer %s: thread", c->path);
	return 0;
}

bool informer_wait_synced(Informer *inf, int timeout_ms)
{
	InfCore *c = inf->core;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->lock);
	while (!c->synced && !c->stop && !inf->detached)
		if (pthread_cond_timedwait(&c->cond, &c->lock, &ts))
			break;
	bool s = c->synced;
	pthread_mutex_unlock(&c->lock);
	return s;
}

json_t *informer_get(Informer *inf, const char *ns, const char *name)
{
	InfCore *c = inf->core;
	_cleanup_free_ char *key = xasprintf("%s/%s", ns ?: "", name);
	pthread_mutex_lock(&c->lock);
	json_t *o = json_incref(json_object_get(c->cache, key));
	pthread_mutex_unlock(&c->lock);
	return o;
}

json_t *informer_list(Informer *inf, const char *ns)
{
	InfCore *c = inf->core;
	json_t *out = json_array();
	size_t nl = ns ? strlen(ns) : 0;
	pthread_mutex_lock(&c->lock);
	const char *k;
	json_t *v;
	json_object_foreach(c->cache, k, v)
		if (!ns || (!strncmp(k, ns, nl) && k[nl] == '/'))
			json_array_append(out, v);
	pthread_mutex_unlock(&c->lock);
	return out;
}

/* Stop the core's thread (its last view is going). */
static void core_stop(InfCore *c)
{
	c->stop = 1;
	pthread_mutex_lock(&c->lock);
	pthread_cond_broadcast(&c->cond);
	bool started = c->started;
	c->started = false;
	pthread_mutex_unlock(&c->lock);
	if (started)
		pthread_join(c->th, NULL);
}

static void core_free(InfCore *c)
{
	core_stop(c);
	json_decref(c->cache);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->dispatch);
	pthread_cond_destroy(&c->cond);
	free(c->path);
	free(c->rv);
	free(c);
}

/* ---- the process-wide registry of shared cores ---- */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static InfCore *reg_head;
static KubeClient *reg_kc;  /* the shared cores' client: made with the first, freed with the last */

Informer *informer_shared_with(KubeClient *(*make_client)(void *ud), void *ud, const char *path)
{
	pthread_mutex_lock(&reg_lock);
	InfCore *c = reg_head;
	while (c && strcmp(c->path, path))
		c = c->next;
	if (c) {
		c->refs++;
	} else {
		if (!reg_kc)
			reg_kc = make_client(ud);
		if (reg_kc) {
			c = core_new(reg_kc, path);
			c->shared = true;
			c->next = reg_head;
			reg_head = c;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return c ? view_new(c) : NULL;
}

typedef struct LocalArgs {
	const char *data_dir, *listen;
	volatile int *stop;
} LocalArgs;

static KubeClient *local_client(void *ud)
{
	LocalArgs *a = ud;
	return kube_client_wait_local(a->data_dir, a->listen, a->stop);
}

Informer *informer_shared(const char *data_dir, const char *listen, const char *path, volatile int *stop)
{
	LocalArgs a = { data_dir, listen, stop };
	return informer_shared_with(local_client, &a, path);
}

size_t informer_shared_count(void)
{
	pthread_mutex_lock(&reg_lock);
	size_t n = 0;
	for (InfCore *c = reg_head; c; c = c->next)
		n++;
	pthread_mutex_unlock(&reg_lock);
	return n;
}

/* Drop a view's reference: true when it was the core's last. */
static bool core_unref(InfCore *c)
{
	if (!c->shared)
		return --c->refs == 0;
	pthread_mutex_lock(&reg_lock);
	bool last = --c->refs == 0;
	if (last) {
		InfCore **pp = &reg_head;
		while (*pp && *pp != c)
			pp = &(*pp)->next;
		if (*pp)
			*pp = c->next;
	}
	KubeClient *kc = NULL;
	if (last && !reg_head)
		kc = reg_kc, reg_kc = NULL;
	pthread_mutex_unlock(&reg_lock);
	if (kc) {
		core_stop(c);  /* its thread uses kc */
		kube_client_free(kc);
	}
	return last;
}

void informer_stop(Informer *inf)
{
	if (!inf)
		return;
	detach(inf);
	pthread_mutex_lock(&inf->core->lock);
	pthread_cond_broadcast(&inf->core->cond);  /* wake this view's informer_wait_synced */
	pthread_mutex_unlock(&inf->core->lock);
	if (!inf->core->shared)
		core_stop(inf->core);
}

void informer_free(Informer *inf)
{
	if (!inf)
		return;
	informer_stop(inf);
	if (core_unref(inf->core))
		core_free(inf->core);
	free(inf);
}
