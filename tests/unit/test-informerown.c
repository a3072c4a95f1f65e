/* test-informerown.c - the informer keeps the tree its watch client decoded
 * for an event (as kube_watch and the in-process transport decode each line
 * for one call and free it after): managedFields and a pod's last-applied
 * annotation are removed in place, the rest is what was sent, and the cached
 * object outlives the event (the transport frees its reference at once; run
 * under ASan this is a use-after-free check).  A tree the transport keeps
 * for itself (it holds a reference of its own during the call, as
 * tests/unit/fakeapi.c does) is copied instead. */
#include "tap.h"
#include "../../src/controller/framework/framework.h"
#include "../../src/shared/json.h"
#include "../../src/shared/kube.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

static int list_fn(void *ud, const char *method, const char *path, const json_t *body, const char *ct, json_t **ret)
{
	(void)ud, (void)method, (void)path, (void)body, (void)ct;
	*ret = json_loads("{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":[]}", 0, NULL);
	return 200;
}

static int kept_sent;                 /* events streamed */
static json_t *kept;                  /* a tree the transport holds on to (copied by the informer) */

/* One stream: each line decoded for the call alone, as kube_watch does;
 * then the last one from a tree the transport keeps. */
static int watch_fn(void *ud, const char *path, KubeWatchFn fn, void *fn_ud, volatile int *stop, json_t **ret)
{
	(void)ud, (void)path, (void)ret;
	static const char *lines[] = {
		"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"namespace\":\"d\","
		"\"resourceVersion\":\"2\",\"annotations\":{\"" LAST_APPLIED "\":\"{}\",\"keep\":\"me\"},"
		"\"managedFields\":[{\"manager\":\"kubectl\",\"fieldsV1\":{\"f:spec\":{}}}]},\"spec\":{\"nodeName\":\"n1\"}}}",
		"{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"namespace\":\"d\","
		"\"resourceVersion\":\"3\",\"annotations\":{\"" LAST_APPLIED "\":\"{}\"},"
		"\"managedFields\":[{\"manager\":\"x\"}]},\"spec\":{\"nodeName\":\"n2\"}}}",
		"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\",\"namespace\":\"d\","
		"\"resourceVersion\":\"4\",\"managedFields\":[]},\"spec\":{}}}",
	};
	if (!kept_sent) {
		for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
			json_t *ev = json_loads(lines[i], 0, NULL);
			fn(ev, fn_ud);
			json_decref(ev);  /* gone: only the informer may still hold the object */
		}
		kept = json_loads("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"c\","
				  "\"namespace\":\"d\",\"resourceVersion\":\"5\",\"managedFields\":[{}]}}}", 0, NULL);
		/* a transport that keeps the tree holds a reference of its own
		 * while it hands it out (as fakeapi.c does) */
		fn(json_incref(kept), fn_ud);
		json_decref(kept);
		kept_sent = 1;
	}
	while (!*stop)
		nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
	return 200;
}

static const KubeTransport transport = { .request = list_fn, .watch = watch_fn };

static json_t *wait_get(Informer *inf, const char *name, const char *rv)
{
	for (int i = 0; i < 3000; i++) {
		json_t *o = informer_get(inf, "d", name);
		const char *have = o ? json_str(json_object_get(o, "metadata"), "resourceVersion") : NULL;
		if (have && !strcmp(have, rv))
			return o;
		json_decref(o);
		nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
	}
	return NULL;
}

int main(void)
{
	KubeClient *kc = kube_client_new_fake(&transport, NULL);
	Informer *inf = informer_new(kc, "/api/v1/pods");
	Error *err = NULL;
	ok(informer_start(inf, &err) == 0 && informer_wait_synced(inf, 30000), "informer synced");
	json_t *a = wait_get(inf, "a", "3"), *b = wait_get(inf, "b", "4"), *c = wait_get(inf, "c", "5");
	ok(a && b && c, "every watched pod cached");
	json_t *meta = json_object_get(a, "metadata");
	ok(!json_object_get(meta, "managedFields"), "managedFields removed from the event's own tree");
	ok(!json_object_get(meta, "annotations"), "an annotations object emptied by the drop goes too");
	is_str(json_str(json_object_get(a, "spec"), "nodeName"), "n2", "the update's content cached");
	ok(!json_object_get(json_object_get(b, "metadata"), "managedFields"), "an empty managedFields dropped too");
	ok(!json_object_get(json_object_get(c, "metadata"), "managedFields"), "a kept tree's copy is stripped");
	ok(json_array_size(json_object_get(json_object_get(json_object_get(kept, "object"), "metadata"), "managedFields")) == 1,
	   "while the transport's own tree is left as it was");
	json_decref(a);
	json_decref(b);
	json_decref(c);
	informer_stop(inf);
	informer_free(inf);
	json_decref(kept);
	kube_client_free(kc);
	return tap_done();
}
