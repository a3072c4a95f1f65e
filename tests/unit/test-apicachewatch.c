/* test-apicachewatch.c - a watch cache reader of a quiet prefix while
 * another prefix is busy (cache.c api_cache_events): it waits through the
 * other prefix's events without being handed any, then gets each event of
 * its own prefix exactly once and in order, whether the event comes while it
 * waits or between its calls. */
#include "tap.h"
#include "../../src/apiserver/cache.h"
#include "../../src/store/store.h"
#include "../../src/base/fs.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char dir[] = "/tmp/test-apicachewatch-XXXXXX";

static void put(Store *s, const char *key, int64_t *rev)
{
	char *v = xasprintf("{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"}}", strrchr(key, '/') + 1);
	store_create(s, key, v, strlen(v), rev, NULL);
	free(v);
}

typedef struct Quiet {
	ApiCache *c;
	int64_t from;
	int want;           /* stop after this many events */
	int got, in_order, wrong_prefix;
	char names[8][16];
} Quiet;

static void *quiet_watcher(void *arg)
{
	Quiet *q = arg;
	int64_t last = q->from;
	q->in_order = 1;
	while (q->got < q->want) {
		CacheEvent evs[4];
		int64_t seen;
		int n = api_cache_events(q->c, "/registry/configmaps/quiet/", last, evs, 4, 20000, &seen);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			if (evs[i].rev <= last)
				q->in_order = 0;
			if (strncmp(evs[i].obj->key, "/registry/configmaps/quiet/", 27))
				q->wrong_prefix++;
			else if (q->got < 8)
				snprintf(q->names[q->got], sizeof(q->names[0]), "%s", strrchr(evs[i].obj->key, '/') + 1);
			last = evs[i].rev;
			q->got++;
			cache_event_release(&evs[i]);
		}
	}
	return NULL;
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	char *spec = xasprintf("sqlite:%s/db", dir);
	Store *s = NULL;
	ApiCache *c = NULL;
	if (store_open(spec, &s, NULL) < 0 || api_cache_start(s, 4096, &c, NULL) < 0)
		return 1;
	int64_t r0 = store_revision(s), rev;

	Quiet q = { .c = c, .from = r0, .want = 3 };
	pthread_t th;
	pthread_create(&th, NULL, quiet_watcher, &q);
	char k[64];
	for (int i = 0; i < 300; i++) {
		snprintf(k, sizeof(k), "/registry/configmaps/busy/b%03d", i);
		put(s, k, &rev);
		if (i == 100)
			put(s, "/registry/configmaps/quiet/q1", NULL);
		if (i == 200)
			put(s, "/registry/configmaps/quiet/q2", NULL);
	}
	put(s, "/registry/configmaps/quiet/q3", NULL);
	pthread_join(th, NULL);
	is_int(q.got, 3, "the quiet reader got its 3 events among 303");
	is_int(q.wrong_prefix, 0, "and none of the busy prefix");
	ok(q.in_order, "in revision order, none twice");
	is_str(q.names[0], "q1", "first q1");
	is_str(q.names[1], "q2", "then q2");
	is_str(q.names[2], "q3", "then q3");

	/* a reader already past every event: a time-out hands out nothing old */
	CacheEvent evs[4];
	int64_t seen = 0, now = store_revision(s);
	is_int(api_cache_wait(c, now, 10000), 0, "the cache caught up");
	is_int(api_cache_events(c, "/registry/configmaps/quiet/", now, evs, 4, 100, &seen), 0,
	       "nothing new for the quiet prefix: a time-out, no event again");
	ok(seen >= now, "everything up to the cache's revision was scanned");
	/* busy events, then one quiet one, arriving while it waits */
	Quiet q2 = { .c = c, .from = now, .want = 1 };
	pthread_create(&th, NULL, quiet_watcher, &q2);
	for (int i = 0; i < 50; i++) {
		snprintf(k, sizeof(k), "/registry/configmaps/busy/c%03d", i);
		put(s, k, NULL);
	}
	put(s, "/registry/configmaps/quiet/q4", NULL);
	pthread_join(th, NULL);
	is_int(q2.got, 1, "the next quiet event comes once");
	is_str(q2.names[0], "q4", "q4");
	is_int(q2.wrong_prefix, 0, "alone");

	api_cache_stop(c);
	store_free(s);
	fs_rm_rf(dir, NULL);
	free(spec);
	return tap_done();
}
