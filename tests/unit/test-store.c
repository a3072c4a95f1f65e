/* test-store.c - the revisioned store: revisions, CAS, list snapshots and
 * pagination, watch from a revision, compaction and reopen. */
#include "tap.h"
#include "../../src/store/store.h"
#include "../../src/base/fs.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char dir[] = "/tmp/test-store-XXXXXX";

static void *writer(void *arg)
{
	Store *s = arg;
	for (int i = 0; i < 200; i++) {
		char k[64];
		snprintf(k, sizeof(k), "/registry/c/%03d", i);
		store_create(s, k, "x", 1, NULL, NULL);
	}
	return NULL;
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	char *path = xasprintf("sqlite:%s/db", dir);
	Store *s = NULL;
	Error *err = NULL;
	is_int(store_open(path, &s, &err), 0, "open");
	is_int(store_revision(s), 0, "empty store at revision 0");
	int64_t r1, r2, r3;
	is_int(store_create(s, "/registry/a/1", "one", 3, &r1, NULL), 0, "create");
	is_int(store_create(s, "/registry/a/1", "dup", 3, NULL, NULL), -EEXIST, "create twice -> EEXIST");
	is_int(store_create(s, "/registry/a/2", "two", 3, &r2, NULL), 0, "create another");
	ok(r2 > r1, "revisions increase");
	StoreKV kv;
	is_int(store_get(s, "/registry/a/1", &kv, NULL), 0, "get");
	is_str(kv.value, "one", "value read back");
	is_int(kv.mod_revision, r1, "mod revision");
	is_int(kv.create_revision, r1, "create revision");
	store_kv_release(&kv);
	is_int(store_update(s, "/registry/a/1", "uno", 3, r2, NULL, NULL), -ESTALE, "stale CAS -> ESTALE");
	is_int(store_update(s, "/registry/a/1", "uno", 3, r1, &r3, NULL), 0, "CAS update");
	is_int(store_get(s, "/registry/a/1", &kv, NULL), 0, "get after update");
	is_str(kv.value, "uno", "updated value");
	is_int(kv.create_revision, r1, "create revision kept");
	store_kv_release(&kv);
	is_int(store_update(s, "/registry/a/9", "x", 1, 0, NULL, NULL), -ENOENT, "update absent -> ENOENT");

	StoreKVList l;
	int64_t rev;
	bool more;
	is_int(store_list(s, "/registry/a/", NULL, 0, r2, &l, &rev, &more, NULL), 0, "list at an older revision");
	is_int(l.n, 2, "two keys at r2");
	is_str(l.items[0].value, "one", "old value in the snapshot");
	store_kv_list_release(&l);
	is_int(store_list(s, "/registry/a/", NULL, 1, 0, &l, &rev, &more, NULL), 0, "list page 1");
	ok(l.n == 1 && more, "one item and more");
	char *last = xstrdup(l.items[0].key);
	store_kv_list_release(&l);
	is_int(store_list(s, "/registry/a/", last, 1, rev, &l, &rev, &more, NULL), 0, "list page 2");
	ok(l.n == 1 && !more && !strcmp(l.items[0].key, "/registry/a/2"), "second page is the last");
	store_kv_list_release(&l);
	free(last);

	StoreWatch *w;
	is_int(store_watch_new(s, "/registry/a/", r1, &w, NULL), 0, "watch from r1");
	StoreKV prev = { 0 };
	int64_t rd;
	is_int(store_delete(s, "/registry/a/2", 0, &prev, &rd, NULL), 0, "delete");
	is_str(prev.value, "two", "deleted value returned");
	store_kv_release(&prev);
	StoreEvent ev;
	is_int(store_watch_next(w, 100, &ev, NULL), 1, "event 1");
	is_int(ev.type, STORE_EVENT_PUT_NEW, "create of /a/2 first");
	store_event_release(&ev);
	is_int(store_watch_next(w, 100, &ev, NULL), 1, "event 2");
	is_int(ev.type, STORE_EVENT_PUT, "update of /a/1");
	store_event_release(&ev);
	is_int(store_watch_next(w, 100, &ev, NULL), 1, "event 3");
	ok(ev.type == STORE_EVENT_DELETE && !strcmp(ev.kv.value, "two") && ev.kv.mod_revision == rd,
	   "delete event carries the last value and the delete revision");
	store_event_release(&ev);
	is_int(store_watch_next(w, 50, &ev, NULL), 0, "then a timeout");
	store_watch_free(w);

	pthread_t t;
	is_int(store_watch_new(s, "/registry/c/", 0, &w, NULL), 0, "watch from now");
	pthread_create(&t, NULL, writer, s);
	int seen = 0;
	while (seen < 200 && store_watch_next(w, 2000, &ev, NULL) == 1) {
		seen++;
		store_event_release(&ev);
	}
	pthread_join(t, NULL);
	is_int(seen, 200, "a concurrent writer's 200 creates all reach the watcher");
	store_watch_free(w);
	is_int(store_count(s, "/registry/c/"), 200, "count");

	int64_t now = store_revision(s);
	is_int(store_compact(s, now, NULL), 0, "compact");
	is_int(store_watch_new(s, "/registry/a/", r1, &w, NULL), -ERANGE, "watch below compaction -> ERANGE");
	is_int(store_list(s, "/registry/a/", NULL, 0, r1, &l, &rev, &more, NULL), -ERANGE, "list below compaction");
	is_int(store_get(s, "/registry/a/1", &kv, NULL), 0, "live keys survive compaction");
	store_kv_release(&kv);
	is_int(store_get(s, "/registry/a/2", &kv, NULL), -ENOENT, "deleted key stays deleted");
	store_free(s);

	is_int(store_open(path, &s, &err), 0, "reopen");
	is_int(store_revision(s), now, "revision survives reopen");
	is_int(store_compact_revision(s), now, "compaction point survives reopen");
	int64_t r4;
	store_create(s, "/registry/a/3", "3", 1, &r4, NULL);
	ok(r4 > now, "new revisions continue after the old ones");
	store_free(s);
	free(path);
	fs_rm_rf(dir, NULL);
	return tap_done();
}
