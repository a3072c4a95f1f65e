/* cache.c - the watch cache (see cache.h): a sorted array of the current
 * objects and a ring of recent events, both fed by one store watch on
 * /registry/ that a thread of its own drains.
 *
 * Invariants, under c->lock: every event with revision <= c->rev has been
 * applied; the ring holds every event with revision in (c->window, c->rev],
 * in revision order.  A watcher older than the window gets -ERANGE (410).
 * When the store watch fails (compaction, a lost etcd stream) the cache
 * lists again and restarts its window there.  Waiters (watchers, consistent
 * lists) sleep on one condition variable broadcast after each batch.
 */
#include "cache.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include <pthread.h>
#include <string.h>
#include <time.h>

#define CACHE_PREFIX "/registry/"
#define INTERNAL_PREFIX "/registry/berth/"

struct ApiCache {
	Store *store;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	CacheObj **items;        /* sorted by key */
	size_t n, cap;
	CacheEvent *ring;
	size_t ring_cap, ring_head, ring_n;
	int64_t rev, window;
	StoreWatch *sw;
	pthread_t thread;
	volatile int stopping;
};

/* ---- JSON text scanning (values we wrote ourselves, checked anyway) ---- */

static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

static const char *skip_string(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

static const char *skip_value(const char *p, const char *e)
{
	if (p >= e)
		return NULL;
	if (*p == '"')
		return skip_string(p, e);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (p < e) {
			if (*p == '"') {
				p = skip_string(p, e);
				if (!p)
					return NULL;
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if (*p == '}' || *p == ']') {
				if (--depth == 0)
					return p + 1;
			}
			p++;
		}
		return NULL;
	}
	const char *start = p;
	while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n')
		p++;
	return p > start ? p : NULL; /* a scalar is never empty */
}

int cache_json_member(const char *p, const char *e, const char *key, const char **vs, const char **ve)
{
	size_t klen = strlen(key);
	p = skip_ws(p, e);
	if (p >= e || *p != '{')
		return -EINVAL;
	p = skip_ws(p + 1, e);
	if (p < e && *p == '}')
		return -ENOENT;
	while (p < e) {
		if (*p != '"')
			return -EINVAL;
		const char *ks = p + 1, *kend = skip_string(p, e);
		if (!kend)
			return -EINVAL;
		p = skip_ws(kend, e);
		if (p >= e || *p != ':')
			return -EINVAL;
		p = skip_ws(p + 1, e);
		const char *v = p, *vend = skip_value(p, e);
		if (!vend)
			return -EINVAL;
		if ((size_t)(kend - 1 - ks) == klen && !memcmp(ks, key, klen)) {
			*vs = v;
			*ve = vend;
			return 0;
		}
		p = skip_ws(vend, e);
		if (p < e && *p == '}')
			return -ENOENT;
		if (p >= e || *p != ',')
			return -EINVAL;
		p = skip_ws(p + 1, e);
	}
	return -EINVAL;
}

/* ---- the scalar view (field selectors) ---- */

#define VIEW_MAX_DEPTH 64

/* A string token [p, end) (quotes included) as a JSON string: taken as it
 * is unless an escape or a control character needs jansson's decoder. */
static json_t *view_string(const char *p, const char *end)
{
	for (const char *c = p + 1; c < end - 1; c++)
		if (*c == '\\' || (unsigned char)*c < 0x20)
			return json_loadb(p, (size_t)(end - p), JSON_DECODE_ANY, NULL);
	return json_stringn(p + 1, (size_t)(end - p - 2));
}

/* The value at *pp; arrays are skipped (NULL, *skipped set).  NULL without
 * *skipped: malformed. */
static json_t *view_value(const char **pp, const char *e, int depth, bool *skipped)
{
	const char *p = skip_ws(*pp, e), *end;
	*skipped = false;
	if (p >= e || depth > VIEW_MAX_DEPTH)
		return NULL;
	if (*p == '[') {
		if (!(end = skip_value(p, e)))
			return NULL;
		*pp = end;
		*skipped = true;
		return NULL;
	}
	if (*p == '"') {
		if (!(end = skip_string(p, e)))
			return NULL;
		*pp = end;
		return view_string(p, end);
	}
	if (*p != '{') {
		if (!(end = skip_value(p, e)))
			return NULL;
		*pp = end;
		return json_loadb(p, (size_t)(end - p), JSON_DECODE_ANY, NULL);
	}
	json_t *obj = json_object();
	p = skip_ws(p + 1, e);
	if (p < e && *p == '}') {
		*pp = p + 1;
		return obj;
	}
	while (p < e && *p == '"') {
		const char *kend = skip_string(p, e);
		if (!kend)
			break;
		_cleanup_json_ json_t *key = view_string(p, kend);
		p = skip_ws(kend, e);
		if (!json_is_string(key) || p >= e || *p != ':')
			break;
		p++;
		bool skip;
		json_t *v = view_value(&p, e, depth + 1, &skip);
		if (!v && !skip)
			break;
		if (v)
			json_object_set_new(obj, json_string_value(key), v);
		else
			json_object_del(obj, json_string_value(key)); /* a repeated key: the last one wins */
		p = skip_ws(p, e);
		if (p < e && *p == '}') {
			*pp = p + 1;
			return obj;
		}
		if (p >= e || *p != ',')
			break;
		p = skip_ws(p + 1, e);
	}
	json_decref(obj);
	return NULL;
}

json_t *cache_json_scalar_view(const char *text, size_t len)
{
	const char *p = text, *e = text + len;
	bool skipped;
	json_t *v = view_value(&p, e, 0, &skipped);
	if (!json_is_object(v) || skip_ws(p, e) != e) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* Decode, set the revision, encode: for text the scanner does not take. */
static char *with_rv_slow(const char *text, size_t len, int64_t rev, size_t *ret_len)
{
	_cleanup_json_ json_t *obj = json_loadb(text, len, 0, NULL);
	if (!json_is_object(obj))
		return NULL;
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", (long long)rev);
	json_object_set_new(json_obj_ensure(obj, "metadata"), "resourceVersion", json_string(buf));
	char *s = json_dumps(obj, JSON_COMPACT);
	if (s)
		*ret_len = strlen(s);
	return s;
}

char *cache_json_with_rv(const char *text, size_t len, int64_t rev, size_t *ret_len)
{
	const char *e = text + len, *ms, *me, *x, *y;
	if (cache_json_member(text, e, "metadata", &ms, &me) < 0 || *ms != '{' ||
	    cache_json_member(ms, me, "resourceVersion", &x, &y) != -ENOENT)
		return with_rv_slow(text, len, rev, ret_len);
	char rvs[64];
	bool empty = *skip_ws(ms + 1, me) == '}';
	int n = snprintf(rvs, sizeof(rvs), "\"resourceVersion\":\"%lld\"%s", (long long)rev, empty ? "" : ",");
	size_t head = (size_t)(ms + 1 - text);
	char *out = xmalloc(len + (size_t)n + 1);
	memcpy(out, text, head);
	memcpy(out + head, rvs, (size_t)n);
	memcpy(out + head + n, text + head, len - head);
	out[len + n] = 0;
	*ret_len = len + (size_t)n;
	return out;
}

/* Where "key":value goes at the end of the object [os, oe): 0 when the
 * object is there (*at: its closing brace, *empty), -1 when it is not an
 * object or already has key. */
static int append_point(const char *os, const char *oe, const char *key, const char **at, bool *empty)
{
	const char *x, *y;
	if (*os != '{' || oe[-1] != '}' || cache_json_member(os, oe, key, &x, &y) != -ENOENT)
		return -1;
	*at = oe - 1;
	*empty = skip_ws(os + 1, oe) == oe - 1;
	return 0;
}

char *cache_json_bind_pod(const char *text, size_t len, const char *node, const char *now, size_t *ret_len)
{
	const char *e = text + len, *ss, *se, *ts, *te, *sat, *tat;
	bool sempty, tempty;
	for (const char *c = node; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == '"' || *c == '\\')
			return NULL;  /* needs escaping: the caller's encoder does it */
	if (cache_json_member(text, e, "spec", &ss, &se) < 0 || append_point(ss, se, "nodeName", &sat, &sempty) < 0 ||
	    cache_json_member(text, e, "status", &ts, &te) < 0 || append_point(ts, te, "conditions", &tat, &tempty) < 0)
		return NULL;
	_cleanup_free_ char *nn = xasprintf("%s\"nodeName\":\"%s\"", sempty ? "" : ",", node);
	_cleanup_free_ char *cond = xasprintf("%s\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"True\","
					      "\"lastProbeTime\":null,\"lastTransitionTime\":\"%s\"}]",
					      tempty ? "" : ",", now);
	/* the two insertions in text order */
	const char *at[2] = { sat, tat }, *ins[2] = { nn, cond };
	if (tat < sat) {
		at[0] = tat, at[1] = sat;
		ins[0] = cond, ins[1] = nn;
	}
	size_t n0 = strlen(ins[0]), n1 = strlen(ins[1]), total = len + n0 + n1;
	char *out = xmalloc(total + 1), *o = out;
	memcpy(o, text, (size_t)(at[0] - text));
	o += at[0] - text;
	memcpy(o, ins[0], n0);
	o += n0;
	memcpy(o, at[0], (size_t)(at[1] - at[0]));
	o += at[1] - at[0];
	memcpy(o, ins[1], n1);
	o += n1;
	memcpy(o, at[1], (size_t)(e - at[1]));
	out[total] = 0;
	*ret_len = total;
	return out;
}

/* ---- objects ---- */

static CacheObj *obj_new(const StoreKV *kv)
{
	size_t len, klen = strlen(kv->key);
	_cleanup_free_ char *raw = cache_json_with_rv(kv->value, kv->value_len, kv->mod_revision, &len);
	if (!raw)
		return NULL;
	/* one allocation: the struct, the text, the key */
	CacheObj *o = xmalloc(sizeof(*o) + len + 1 + klen + 1);
	o->refs = 1;
	o->mod_rev = kv->mod_revision;
	o->create_rev = kv->create_revision;
	o->row = NULL;
	o->raw_len = len;
	memcpy(o->raw, raw, len + 1);
	char *key = o->raw + len + 1;
	memcpy(key, kv->key, klen + 1);
	o->key = key;
	o->labels_off = o->labels_len = 0;
	const char *ms, *me, *ls, *le;
	if (cache_json_member(o->raw, o->raw + len, "metadata", &ms, &me) == 0 &&
	    cache_json_member(ms, me, "labels", &ls, &le) == 0 && *ls == '{' && le - o->raw <= UINT32_MAX) {
		o->labels_off = (uint32_t)(ls - o->raw);
		o->labels_len = (uint32_t)(le - ls);
	}
	return o;
}

json_t *cache_obj_labels(const CacheObj *o)
{
	if (!o->labels_len)
		return NULL;
	json_t *l = json_loadb(o->raw + o->labels_off, o->labels_len, 0, NULL);
	if (!json_is_object(l)) {
		json_decref(l);
		return NULL;
	}
	return l;
}

static CacheObj *obj_ref(CacheObj *o)
{
	__atomic_add_fetch(&o->refs, 1, __ATOMIC_RELAXED);
	return o;
}

void cache_obj_unref(CacheObj *o)
{
	if (!o || __atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL))
		return;
	free(o->row);
	free(o);
}

json_t *cache_obj_decode(const CacheObj *o)
{
	json_t *j = json_loadb(o->raw, o->raw_len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

void api_cache_objs_free(CacheObj **objs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cache_obj_unref(objs[i]);
	free(objs);
}

void cache_event_release(CacheEvent *e)
{
	cache_obj_unref(e->obj);
	e->obj = NULL;
}

/* ---- the sorted array ---- */

/* Index of the first item with key >= key. */
static size_t lower_bound(ApiCache *c, const char *key)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(c->items[mid]->key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void items_put(ApiCache *c, CacheObj *o)
{
	size_t i = lower_bound(c, o->key);
	if (i < c->n && !strcmp(c->items[i]->key, o->key)) {
		cache_obj_unref(c->items[i]);
		c->items[i] = obj_ref(o);
		return;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->items = xrealloc(c->items, c->cap * sizeof(*c->items));
	}
	memmove(&c->items[i + 1], &c->items[i], (c->n - i) * sizeof(*c->items));
	c->items[i] = obj_ref(o);
	c->n++;
}

static void items_del(ApiCache *c, const char *key)
{
	size_t i = lower_bound(c, key);
	if (i < c->n && !strcmp(c->items[i]->key, key)) {
		cache_obj_unref(c->items[i]);
		memmove(&c->items[i], &c->items[i + 1], (c->n - i - 1) * sizeof(*c->items));
		c->n--;
	}
}

static void items_clear(ApiCache *c)
{
	for (size_t i = 0; i < c->n; i++)
		cache_obj_unref(c->items[i]);
	c->n = 0;
}

/* ---- the ring ---- */

static CacheEvent *ring_at(ApiCache *c, size_t i)
{
	return &c->ring[(c->ring_head + i) % c->ring_cap];
}

static void ring_push(ApiCache *c, int type, int64_t rev, CacheObj *o)
{
	if (c->ring_n == c->ring_cap) {
		CacheEvent *old = ring_at(c, 0);
		c->window = old->rev;
		cache_event_release(old);
		c->ring_head = (c->ring_head + 1) % c->ring_cap;
		c->ring_n--;
	}
	CacheEvent *e = ring_at(c, c->ring_n++);
	e->type = type;
	e->rev = rev;
	e->obj = obj_ref(o);
}

static void ring_clear(ApiCache *c)
{
	for (size_t i = 0; i < c->ring_n; i++)
		cache_event_release(ring_at(c, i));
	c->ring_n = c->ring_head = 0;
}

/* ---- feeding ---- */

static bool cached_key(const char *key)
{
	return str_has_prefix(key, CACHE_PREFIX) && !str_has_prefix(key, INTERNAL_PREFIX);
}

static void apply_locked(ApiCache *c, StoreEvent *ev)
{
	if (!cached_key(ev->kv.key))
		return;
	CacheObj *o = obj_new(&ev->kv);
	if (!o)
		return;
	if (ev->type == STORE_EVENT_DELETE) {
		items_del(c, o->key);
		ring_push(c, CACHE_DELETED, o->mod_rev, o);
	} else {
		items_put(c, o);
		ring_push(c, ev->type == STORE_EVENT_PUT_NEW ? CACHE_ADDED : CACHE_MODIFIED, o->mod_rev, o);
	}
	cache_obj_unref(o);
}

/* (Re)load every object and open the store watch after that revision. */
static int cache_load(ApiCache *c, Error **err)
{
	StoreKVList l;
	int64_t rev;
	bool more;
	int r = store_list(c->store, CACHE_PREFIX, NULL, 0, 0, &l, &rev, &more, err);
	if (r < 0)
		return r;
	StoreWatch *sw = NULL;
	r = store_watch_new(c->store, CACHE_PREFIX, rev, &sw, err);
	if (r < 0) {
		store_kv_list_release(&l);
		return r;
	}
	pthread_mutex_lock(&c->lock);
	items_clear(c);
	ring_clear(c);
	for (size_t i = 0; i < l.n; i++) {
		if (!cached_key(l.items[i].key))
			continue;
		CacheObj *o = obj_new(&l.items[i]);
		if (o) {
			items_put(c, o); /* list order is key order: appends */
			cache_obj_unref(o);
		}
	}
	c->rev = c->window = rev;
	store_watch_free(c->sw);
	c->sw = sw;
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
	store_kv_list_release(&l);
	return 0;
}

static void *cache_thread(void *arg)
{
	ApiCache *c = arg;
	while (!c->stopping) {
		StoreEvent ev;
		int r = store_watch_next(c->sw, 200, &ev, NULL);
		if (r < 0) {
			/* lost the stream (compaction, connection): list again */
			struct timespec ts = { 0, 100 * 1000000L };
			nanosleep(&ts, NULL);
			cache_load(c, NULL);
			continue;
		}
		pthread_mutex_lock(&c->lock);
		if (r > 0) {
			apply_locked(c, &ev);
			store_event_release(&ev);
			/* drain what is already buffered before waking readers */
			while (!c->stopping && store_watch_next(c->sw, 0, &ev, NULL) > 0) {
				apply_locked(c, &ev);
				store_event_release(&ev);
			}
		}
		int64_t wr = store_watch_revision(c->sw);
		if (wr > c->rev)
			c->rev = wr;
		pthread_cond_broadcast(&c->changed);
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

int api_cache_start(Store *store, size_t ring_size, ApiCache **ret, Error **err)
{
	ApiCache *c = xcalloc(1, sizeof(*c));
	c->store = store;
	c->ring_cap = ring_size ? ring_size : 4096;
	c->ring = xcalloc(c->ring_cap, sizeof(*c->ring));
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->changed, &ca);
	pthread_condattr_destroy(&ca);
	int r = cache_load(c, err);
	if (r < 0 || (r = -pthread_create(&c->thread, NULL, cache_thread, c)) < 0) {
		if (r != -EIO && err && !*err)
			err_set(err, -r, "watch cache: cannot start");
		store_watch_free(c->sw);
		free(c->ring);
		free(c->items);
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void api_cache_stop(ApiCache *c)
{
	if (!c)
		return;
	c->stopping = 1;
	pthread_join(c->thread, NULL);
	store_watch_free(c->sw);
	items_clear(c);
	ring_clear(c);
	free(c->items);
	free(c->ring);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->changed);
	free(c);
}

int64_t api_cache_revision(ApiCache *c)
{
	pthread_mutex_lock(&c->lock);
	int64_t r = c->rev;
	pthread_mutex_unlock(&c->lock);
	return r;
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int api_cache_wait(ApiCache *c, int64_t rev, int timeout_ms)
{
	struct timespec until;
	deadline_in(&until, timeout_ms);
	int r = 0;
	pthread_mutex_lock(&c->lock);
	while (c->rev < rev)
		if (pthread_cond_timedwait(&c->changed, &c->lock, &until) == ETIMEDOUT) {
			r = c->rev < rev ? -ETIMEDOUT : 0;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	return r;
}

int api_cache_sync(ApiCache *c, int timeout_ms)
{
	return api_cache_wait(c, store_revision(c->store), timeout_ms);
}

void api_cache_list(ApiCache *c, const char *prefix, const char *start_after, size_t limit, CacheObj ***ret,
		    size_t *ret_n, int64_t *ret_rev, bool *ret_more)
{
	size_t plen = strlen(prefix), n = 0, cap = 0;
	CacheObj **out = NULL;
	*ret_more = false;
	pthread_mutex_lock(&c->lock);
	size_t i = lower_bound(c, start_after && strcmp(start_after, prefix) > 0 ? start_after : prefix);
	if (start_after && i < c->n && !strcmp(c->items[i]->key, start_after))
		i++;
	for (; i < c->n && !strncmp(c->items[i]->key, prefix, plen); i++) {
		if (limit && n == limit) {
			*ret_more = true;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			out = xrealloc(out, cap * sizeof(*out));
		}
		out[n++] = obj_ref(c->items[i]);
	}
	*ret_rev = c->rev;
	pthread_mutex_unlock(&c->lock);
	*ret = out;
	*ret_n = n;
}

CacheObj *api_cache_get(ApiCache *c, const char *key)
{
	CacheObj *o = NULL;
	pthread_mutex_lock(&c->lock);
	size_t i = lower_bound(c, key);
	if (i < c->n && !strcmp(c->items[i]->key, key))
		o = obj_ref(c->items[i]);
	pthread_mutex_unlock(&c->lock);
	return o;
}

/* Index in the ring of the first event with revision > after. */
static size_t ring_after(ApiCache *c, int64_t after)
{
	size_t lo = 0, hi = c->ring_n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ring_at(c, mid)->rev <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int api_cache_events(ApiCache *c, const char *prefix, int64_t after, CacheEvent *evs, size_t max, int timeout_ms,
		     int64_t *ret_window)
{
	size_t plen = strlen(prefix), n = 0;
	struct timespec until;
	deadline_in(&until, timeout_ms);
	bool timed_out = false;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		if (after < c->window) {
			*ret_window = c->window;
			pthread_mutex_unlock(&c->lock);
			return -ERANGE;
		}
		size_t i = ring_after(c, after);
		for (; i < c->ring_n && n < max; i++) {
			CacheEvent *e = ring_at(c, i);
			if (strncmp(e->obj->key, prefix, plen))
				continue;
			evs[n] = *e;
			obj_ref(e->obj);
			n++;
		}
		/* nothing for this prefix: the next wake-up scans only what came
		 * since (a watcher of a quiet resource rescanned every event of a
		 * busy one since its own last event, under the cache lock) */
		if (!n && i > 0 && ring_at(c, i - 1)->rev > after)
			after = ring_at(c, i - 1)->rev;
		/* after a time-out, one more scan under the lock: an event that came
		 * as the wait timed out is in the ring but was never looked at */
		if (n || c->stopping || timed_out)
			break;
		timed_out = pthread_cond_timedwait(&c->changed, &c->lock, &until) == ETIMEDOUT;
	}
	*ret_window = c->rev; /* with no events: everything up to here was scanned */
	pthread_mutex_unlock(&c->lock);
	return (int)n;
}
