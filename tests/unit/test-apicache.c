/* test-apicache.c - the API server's watch cache over a real SQLite store:
 * the resourceVersion put into cached text, lists by prefix and page, a
 * consistent read after writes, events replayed from a revision inside the
 * ring, -ERANGE below it, and concurrent writers with watchers that must
 * see every event exactly once, in order. */
#include "tap.h"
#include "../../src/apiserver/cache.h"
#include "../../src/base/fs.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char dir[] = "/tmp/test-apicache-XXXXXX";

static void text_helpers(void)
{
	size_t n;
	const char *in1 = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}";
	char *s = cache_json_with_rv(in1, strlen(in1), 42, &n);
	is_str(s, "{\"kind\":\"Pod\",\"metadata\":{\"resourceVersion\":\"42\",\"name\":\"a\"}}", "rv added to metadata");
	is_int(n, strlen(s), "length returned");
	free(s);
	const char *in2 = "{\"a\":\"\\\"metadata\\\":{\",\"metadata\":{}}";
	s = cache_json_with_rv(in2, strlen(in2), 7, &n);
	is_str(s, "{\"a\":\"\\\"metadata\\\":{\",\"metadata\":{\"resourceVersion\":\"7\"}}", "strings are skipped, empty metadata");
	free(s);
	const char *t = "{\"metadata\":{\"resourceVersion\":\"1\"}}";
	s = cache_json_with_rv(t, strlen(t), 9, &n);
	ok(s && strstr(s, "\"9\"") && !strstr(s, "\"1\""), "an existing resourceVersion is replaced, not duplicated");
	free(s);
	ok(cache_json_with_rv("not json", 8, 1, &n) == NULL, "text that is not an object is refused");
	const char *vs, *ve, *o = "{\"x\":[1,{\"y\":2}],\"labels\":{\"app\":\"b\"}}";
	is_int(cache_json_member(o, o + strlen(o), "labels", &vs, &ve), 0, "member found after nested values");
	ok(ve - vs == 11 && !strncmp(vs, "{\"app\":\"b\"}", 11), "member span");
	is_int(cache_json_member(o, o + strlen(o), "nope", &vs, &ve), -ENOENT, "absent member");
}

static void put(Store *s, const char *key, const char *labels, int64_t *rev)
{
	char *v = xasprintf("{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"%s%s}}", strrchr(key, '/') + 1,
			    labels ? ",\"labels\":" : "", labels ? labels : "");
	StoreKV kv;
	if (store_get(s, key, &kv, NULL) == 0) {
		store_update(s, key, v, strlen(v), kv.mod_revision, rev, NULL);
		store_kv_release(&kv);
	} else {
		store_create(s, key, v, strlen(v), rev, NULL);
	}
	free(v);
}

typedef struct Watcher {
	ApiCache *c;
	int64_t from;
	int want;
	int got, in_order;
	int64_t last;
} Watcher;

static void *watcher(void *arg)
{
	Watcher *w = arg;
	w->in_order = 1;
	w->last = w->from;
	while (w->got < w->want) {
		CacheEvent evs[16];
		int64_t seen;
		int n = api_cache_events(w->c, "/registry/configmaps/burst/", w->last, evs, 16, 10000, &seen);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			if (evs[i].rev <= w->last)
				w->in_order = 0;
			w->last = evs[i].rev;
			w->got++;
			cache_event_release(&evs[i]);
		}
	}
	return NULL;
}

static Store *burst_store;

static void *burst(void *arg)
{
	Store *s = burst_store;
	int id = *(int *)arg;
	for (int i = 0; i < 100; i++) {
		char k[64];
		snprintf(k, sizeof(k), "/registry/configmaps/burst/w%d-%d", id, i % 5);
		put(s, k, NULL, NULL);
	}
	return NULL;
}

int main(void)
{
	text_helpers();
	if (!mkdtemp(dir))
		return 1;
	char *path = xasprintf("sqlite:%s/db", dir);
	Store *s = NULL;
	is_int(store_open(path, &s, NULL), 0, "open store");
	int64_t r1, r2, r3;
	put(s, "/registry/configmaps/a/one", "{\"app\":\"x\"}", &r1);
	put(s, "/registry/berth/allocations/x", NULL, NULL); /* internal: not cached */
	ApiCache *c = NULL;
	is_int(api_cache_start(s, 8, &c, NULL), 0, "cache starts");
	put(s, "/registry/configmaps/a/two", NULL, &r2);
	put(s, "/registry/configmaps/b/three", NULL, &r3);
	is_int(api_cache_sync(c, 10000), 0, "consistent read: the cache reaches the store's revision");
	ok(api_cache_revision(c) >= r3, "cache revision covers the last write");

	CacheObj **objs;
	size_t n;
	int64_t rev;
	bool more;
	api_cache_list(c, "/registry/configmaps/a/", NULL, 0, &objs, &n, &rev, &more);
	is_int(n, 2, "list by prefix");
	ok(n == 2 && !strcmp(objs[0]->key, "/registry/configmaps/a/one") && !strcmp(objs[1]->key, "/registry/configmaps/a/two"),
	   "in key order");
	char want[64];
	snprintf(want, sizeof(want), "\"resourceVersion\":\"%lld\"", (long long)r2);
	ok(n == 2 && strstr(objs[1]->raw, want), "cached text carries its resourceVersion");
	json_t *lab = n == 2 ? cache_obj_labels(objs[0]) : NULL;
	ok(lab && !strcmp(json_string_value(json_object_get(lab, "app")), "x"), "labels decoded");
	json_decref(lab);
	ok(rev >= r3, "list revision is at least the last write");
	api_cache_objs_free(objs, n);
	api_cache_list(c, "/registry/configmaps/", NULL, 2, &objs, &n, &rev, &more);
	ok(n == 2 && more, "limit pages with more");
	api_cache_objs_free(objs, n);
	api_cache_list(c, "/registry/configmaps/", "/registry/configmaps/a/two", 0, &objs, &n, &rev, &more);
	ok(n == 1 && !strcmp(objs[0]->key, "/registry/configmaps/b/three") && !more, "continue after a key");
	api_cache_objs_free(objs, n);
	api_cache_list(c, "/registry/berth/", NULL, 0, &objs, &n, &rev, &more);
	is_int(n, 0, "internal keys are not cached");
	api_cache_objs_free(objs, n);

	/* events from a revision inside the window: exactly the later ones */
	CacheEvent evs[16];
	int64_t seen;
	int k = api_cache_events(c, "/registry/configmaps/", r2 - 1, evs, 16, 1000, &seen);
	is_int(k, 2, "replay after r2-1 gives two events");
	ok(k == 2 && evs[0].rev == r2 && evs[0].type == CACHE_ADDED && evs[1].rev == r3, "the later events in order");
	for (int i = 0; i < k; i++)
		cache_event_release(&evs[i]);
	StoreKV prev;
	int64_t rd;
	store_delete(s, "/registry/configmaps/a/two", 0, &prev, &rd, NULL);
	store_kv_release(&prev);
	k = api_cache_events(c, "/registry/configmaps/a/", r3, evs, 16, 10000, &seen);
	ok(k == 1 && evs[0].type == CACHE_DELETED && evs[0].rev == rd, "a delete is an event at its revision");
	if (k == 1) {
		snprintf(want, sizeof(want), "\"resourceVersion\":\"%lld\"", (long long)rd);
		ok(strstr(evs[0].obj->raw, want) != NULL, "deleted object carries the delete revision");
		cache_event_release(&evs[0]);
	}
	/* overflow the ring of 8: older starts are gone */
	for (int i = 0; i < 20; i++)
		put(s, "/registry/configmaps/a/churn", NULL, NULL);
	is_int(api_cache_sync(c, 10000), 0, "caught up after churn");
	is_int(api_cache_events(c, "/registry/configmaps/", r1, evs, 16, 0, &seen), -ERANGE, "too old -> -ERANGE");
	ok(seen > r1, "window reported");

	/* a burst of writes with concurrent watchers: each sees every event once, in order */
	api_cache_stop(c);
	c = NULL;
	is_int(api_cache_start(s, 4096, &c, NULL), 0, "cache restarts with a larger ring");
	int64_t from = store_revision(s);
	is_int(api_cache_wait(c, from, 10000), 0, "cache at the start revision");
	Watcher ws[8];
	pthread_t wt[8], bt[2];
	for (int i = 0; i < 8; i++) {
		ws[i] = (Watcher){ .c = c, .from = from, .want = 200 };
		pthread_create(&wt[i], NULL, watcher, &ws[i]);
	}
	int ids[2] = { 0, 1 };
	burst_store = s;
	for (int i = 0; i < 2; i++)
		pthread_create(&bt[i], NULL, burst, &ids[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(bt[i], NULL);
	int all = 1;
	for (int i = 0; i < 8; i++) {
		pthread_join(wt[i], NULL);
		all &= ws[i].got == 200 && ws[i].in_order;
	}
	ok(all, "8 watchers each saw all 200 events exactly once, in order");
	api_cache_list(c, "/registry/configmaps/burst/", NULL, 0, &objs, &n, &rev, &more);
	is_int(n, 10, "burst keys all present");
	api_cache_objs_free(objs, n);
	api_cache_stop(c);
	store_free(s);
	free(path);
	fs_rm_rf(dir, NULL);
	return tap_done();
}
