/* test-informer.c - the informer's cache as the framework keeps it, over the
 * fake API: what the transform drops from cached objects, and shared
 * informers (informer_shared_with): one cache and one watch per resource
 * for several views, late handlers replayed, a stopped view never called
 * again, the client made once and freed with the last view.
 */
#include "ctlsync.h"

#define PODS "/api/v1/namespaces/default/pods"
#define DEPS "/apis/apps/v1/namespaces/default/deployments"
#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

typedef struct Counter {
	pthread_mutex_t lock;
	int adds, updates, dels;
	json_t *names;  /* names seen in ADD events */
} Counter;

static void count_ev(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)old;
	Counter *c = ud;
	pthread_mutex_lock(&c->lock);
	if (ev == INF_ADD) {
		c->adds++;
		json_object_set_new(c->names, obj_meta(obj, "name") ?: "?", json_true());
	} else if (ev == INF_UPDATE)
		c->updates++;
	else
		c->dels++;
	pthread_mutex_unlock(&c->lock);
}

static int adds(Counter *c)
{
	pthread_mutex_lock(&c->lock);
	int n = c->adds;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Wait until c has seen at least n ADDs (the watch delivers on its thread). */
static bool wait_adds(Counter *c, int n)
{
	for (int i = 0; i < 1200 && adds(c) < n; i++)
		nanosleep(&(struct timespec){ 0, 25 * 1000000L }, NULL);
	return adds(c) >= n;
}

static json_t *pod(const char *name, bool annotated)
{
	json_t *p = json_pack("{s:s, s:s, s:{s:s, s:[{s:s, s:s, s:{}}]}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1", "kind", "Pod",
			      "metadata", "name", name, "managedFields", "manager", "kubectl", "operation", "Apply",
			      "fieldsV1", "spec", "containers", "name", "c", "image", "busybox");
	if (annotated)
		json_object_set_new(json_object_get(p, "metadata"), "annotations",
				    json_pack("{s:s, s:s}", LAST_APPLIED, "{\"big\":true}", "keep", "me"));
	return p;
}

static json_t *created(FakeApi *f, const char *coll, json_t *o)
{
	json_t *made = fake_create(f, coll, o);
	json_decref(o);
	return made;
}

typedef struct MakeCtx {
	FakeApi *f;
	int made;
} MakeCtx;

static KubeClient *make_client(void *ud)
{
	MakeCtx *m = ud;
	m->made++;
	return fake_client(m->f);
}

static void test_transform(void)
{
	FakeApi *f = fake_new();
	KubeClient *kc = fake_client(f);
	Informer *pods = informer_new(kc, "/api/v1/pods"), *deps = informer_new(kc, "/apis/apps/v1/deployments");
	_cleanup_json_ json_t *p = pod("a", true);
	_cleanup_json_ json_t *t = informer_transform(pods, p);
	ok(json_path(p, "metadata.managedFields") != NULL, "transform: the input is not modified");
	ok(json_path(t, "metadata.managedFields") == NULL, "transform: managedFields dropped");
	ok(json_object_get(json_path(t, "metadata.annotations"), LAST_APPLIED) == NULL,
	   "transform: a pod's last-applied annotation dropped");
	is_str(json_str(json_path(t, "metadata.annotations"), "keep"), "me", "transform: other annotations kept");
	is_str(json_str(json_array_get(json_path(t, "spec.containers"), 0), "image"), "busybox", "transform: spec kept");
	_cleanup_json_ json_t *bare = pod("b", false);
	json_object_set_new(json_object_get(bare, "metadata"), "annotations", json_pack("{s:s}", LAST_APPLIED, "{}"));
	_cleanup_json_ json_t *tb = informer_transform(pods, bare);
	ok(json_path(tb, "metadata.annotations") == NULL, "transform: annotations emptied by the drop go too");
	_cleanup_json_ json_t *d = json_pack("{s:{s:s, s:{s:s}, s:[{}]}}", "metadata", "name", "web", "annotations",
					     LAST_APPLIED, "{}", "managedFields");
	_cleanup_json_ json_t *td = informer_transform(deps, d);
	ok(json_object_get(json_path(td, "metadata.annotations"), LAST_APPLIED) != NULL,
	   "transform: a Deployment keeps last-applied (controllers write it back)");
	ok(json_path(td, "metadata.managedFields") == NULL, "transform: a Deployment's managedFields dropped");

	/* what the informer caches, through list and watch */
	json_decref(created(f, PODS, pod("listed", true)));
	_cleanup_err_ Error *err = NULL;
	ok(informer_start(pods, &err) == 0 && informer_wait_synced(pods, 30000), "informer: synced");
	json_decref(created(f, PODS, pod("watched", true)));
	ok(fake_settle(f, 1, 30000), "informer: watch delivered");
	_cleanup_json_ json_t *l = informer_get(pods, "default", "listed"), *w = informer_get(pods, "default", "watched");
	ok(l && !json_path(l, "metadata.managedFields") &&
		   !json_object_get(json_path(l, "metadata.annotations"), LAST_APPLIED),
	   "informer: a listed pod is cached without managedFields and last-applied");
	ok(w && !json_path(w, "metadata.managedFields") &&
		   !json_object_get(json_path(w, "metadata.annotations"), LAST_APPLIED),
	   "informer: a watched pod is cached without managedFields and last-applied");
	is_str(json_str(json_path(w, "metadata.annotations"), "keep"), "me", "informer: other annotations cached");
	_cleanup_json_ json_t *stored = fake_get(f, PODS "/watched");
	ok(json_path(stored, "metadata.managedFields") != NULL, "the stored pod still has its managedFields");
	informer_free(pods);
	informer_free(deps);
	kube_client_free(kc);
	fake_free(f);
}

static void test_shared(void)
{
	FakeApi *f = fake_new();
	MakeCtx mc = { .f = f };
	Counter a = { .names = json_object() }, b = { .names = json_object() };
	pthread_mutex_init(&a.lock, NULL);
	pthread_mutex_init(&b.lock, NULL);
	json_decref(created(f, PODS, pod("p1", false)));
	json_decref(created(f, PODS, pod("p2", false)));

	Informer *va = informer_shared_with(make_client, &mc, "/api/v1/pods");
	informer_add_handler(va, count_ev, &a);
	_cleanup_err_ Error *err = NULL;
	ok(informer_start(va, &err) == 0 && informer_wait_synced(va, 30000), "shared: first view synced");
	is_int(adds(&a), 2, "shared: first view's handler saw the listed pods");

	Informer *vb = informer_shared_with(make_client, &mc, "/api/v1/pods");
	Informer *vn = informer_shared_with(make_client, &mc, "/api/v1/nodes");
	is_int(mc.made, 1, "shared: one client for every shared informer");
	is_int((int)informer_shared_count(), 2, "shared: one cache per resource (pods, nodes)");
	ok(informer_wait_synced(vb, 1000), "shared: a second view of a synced cache is synced");
	informer_add_handler(vb, count_ev, &b);
	is_int(adds(&b), 2, "shared: a late handler gets an ADD per cached object");
	ok(json_object_get(b.names, "p1") && json_object_get(b.names, "p2"), "shared: ... for p1 and p2");
	ok(informer_start(vb, &err) == 0, "shared: starting a running cache is a no-op");
	_cleanup_json_ json_t *ga = informer_get(va, "default", "p1"), *gb = informer_get(vb, "default", "p1");
	ok(ga && ga == gb, "shared: both views read the same cached object");

	json_decref(created(f, PODS, pod("p3", false)));
	ok(wait_adds(&a, 3) && wait_adds(&b, 3), "shared: a new pod reaches both views' handlers");
	is_int(fake_count(f, "GET", "/api/v1/pods"), 1, "shared: one list for both views");

	informer_stop(va);
	json_decref(created(f, PODS, pod("p4", false)));
	ok(wait_adds(&b, 4), "shared: after one view stops the other still gets events");
	ok(fake_settle(f, 1, 30000), "shared: the watch delivered everything");
	is_int(adds(&a), 3, "shared: a stopped view's handler is never called again");
	_cleanup_json_ json_t *lb = informer_list(vb, "default");
	is_int((int)json_array_size(lb), 4, "shared: the cache lives on for the other view");
	informer_free(va);
	is_int((int)informer_shared_count(), 2, "shared: freeing one view keeps the cache");
	informer_free(vb);
	is_int((int)informer_shared_count(), 1, "shared: the last view takes its cache");
	informer_free(vn);
	is_int((int)informer_shared_count(), 0, "shared: no caches left");

	/* a new view after all were freed: a fresh cache (and client) */
	Informer *vc = informer_shared_with(make_client, &mc, "/api/v1/pods");
	is_int(mc.made, 2, "shared: a new client once the last was freed");
	ok(informer_start(vc, &err) == 0 && informer_wait_synced(vc, 30000), "shared: a fresh cache lists again");
	_cleanup_json_ json_t *lc = informer_list(vc, NULL);
	is_int((int)json_array_size(lc), 4, "shared: ... and holds every pod");
	informer_free(vc);
	json_decref(a.names);
	json_decref(b.names);
	pthread_mutex_destroy(&a.lock);
	pthread_mutex_destroy(&b.lock);
	fake_free(f);
}

int main(void)
{
	test_transform();
	test_shared();
	return tap_done();
}
