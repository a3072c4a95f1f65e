/* test-apigc.c - the API server's garbage collector below HTTP: requests
 * through api_handle() against a temporary SQLite store (no watch cache):
 * background cascades that respect finalizers and graceful pod deletion and
 * continue when a marked dependent goes, dependents with another owner,
 * foreground deletion (the owner waits for its blocking dependents, chains),
 * orphaning (also for an owner that stays for its finalizers),
 * deletecollection through the same path, and the
 * periodic sweep finishing a cascade a restart interrupted (reading the
 * store, then the watch cache). */
#include "tap.h"
#include "../../src/apiserver/api-internal.h"
#include "../../src/apiserver/handlers.h"
#include "../../src/apiserver/gc.h"
#include "../../src/base/fs.h"
#include <stdlib.h>
#include <string.h>

static Api api;

static json_t *call(const char *method, const char *path, const char *query, const char *ctype, const char *body,
		    int *ret_status)
{
	ApiRequest req = { .method = method };
	ApiResponse resp = { 0 };
	req.path = xstrdup(path);
	if (query) {
		char *eq = strchr(query, '=');
		req.params = xcalloc(1, sizeof(ApiParam));
		req.params[0].key = xstrndup(query, (size_t)(eq - query));
		req.params[0].value = xstrdup(eq + 1);
		req.nparams = 1;
	}
	req.content_type = ctype;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.user = "admin";
	api_handle(&api, &req, &resp);
	*ret_status = resp.status;
	json_t *out = resp.body ? json_loadb(resp.body, resp.len, 0, NULL) : NULL;
	api_response_release(&resp);
	api_request_release(&req);
	return out;
}

#define CM "/api/v1/namespaces/gc/configmaps"

/* Create configmap name owned by the given owners ("name:uid:block" each,
 * NULL-terminated) with finalizer fin (NULL: none); returns its uid (caller frees). */
static char *configmap(const char *name, const char *fin, const char *const *owners)
{
	json_t *o = json_pack("{s:{s:s}}", "metadata", "name", name);
	json_t *meta = json_object_get(o, "metadata");
	if (fin)
		json_object_set_new(meta, "finalizers", json_pack("[s]", fin));
	for (size_t i = 0; owners && owners[i]; i++) {
		char oname[64], ouid[64];
		int block = 0;
		if (sscanf(owners[i], "%63[^:]:%63[^:]:%d", oname, ouid, &block) < 2)
			continue;
		json_t *refs = json_object_get(meta, "ownerReferences");
		if (!refs)
			json_object_set_new(meta, "ownerReferences", refs = json_array());
		json_array_append_new(refs, json_pack("{s:s, s:s, s:s, s:s, s:b}", "apiVersion", "v1", "kind", "ConfigMap",
						      "name", oname, "uid", ouid, "blockOwnerDeletion", block));
	}
	char *body = json_dumps(o, JSON_COMPACT);
	int st;
	json_t *r = call("POST", CM, NULL, NULL, body, &st);
	char *uid = xstrdup(st == 201 ? api_meta_str(r, "uid") : "");
	if (st != 201)
		printf("# create %s: %d\n", name, st);
	json_decref(r);
	json_decref(o);
	free(body);
	return uid;
}

static json_t *get(const char *path, const char *name, int *st)
{
	char *p = xasprintf("%s/%s", path, name);
	json_t *o = call("GET", p, NULL, NULL, NULL, st);
	free(p);
	return o;
}

static bool gone(const char *path, const char *name)
{
	int st;
	json_decref(get(path, name, &st));
	return st == 404;
}

static bool has_finalizer(const json_t *o, const char *f)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_path(o, "metadata.finalizers"), i, v)
		if (!strcmp(json_string_value(v), f))
			return true;
	return false;
}

static int del(const char *path, const char *name, const char *body)
{
	char *p = xasprintf("%s/%s", path, name);
	int st;
	json_decref(call("DELETE", p, NULL, NULL, body, &st));
	free(p);
	return st;
}

static void release(const char *name)
{
	char *p = xasprintf(CM "/%s", name);
	int st;
	json_decref(call("PATCH", p, NULL, "application/merge-patch+json", "{\"metadata\":{\"finalizers\":null}}", &st));
	if (st != 200)
		printf("# release %s: %d\n", name, st);
	free(p);
}

static char *ref(const char *name, const char *uid, int block)
{
	return xasprintf("%s:%s:%d", name, uid, block);
}

static void test_background(void)
{
	char *o = configmap("o", NULL, NULL), *o2 = configmap("o2", NULL, NULL);
	char *r_o = ref("o", o, 1), *r_o2 = ref("o2", o2, 0);
	const char *only_o[] = { r_o, NULL }, *both[] = { r_o, r_o2, NULL };
	char *d1 = configmap("plain", NULL, only_o), *held = configmap("held", "example.com/hold", only_o);
	char *shared = configmap("shared", NULL, both);
	char *r_held = ref("held", held, 1);
	const char *under_held[] = { r_held, NULL };
	char *grand = configmap("grandchild", NULL, under_held);
	/* a pod on a node (no agent alive) with a long grace period */
	char *pod = xasprintf("{\"metadata\":{\"name\":\"p\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":"
			      "\"ConfigMap\",\"name\":\"o\",\"uid\":\"%s\"}]},\"spec\":{\"nodeName\":\"n1\","
			      "\"terminationGracePeriodSeconds\":300,\"containers\":[{\"name\":\"c\",\"image\":\"bb\"}]}}", o);
	int st;
	json_decref(call("POST", "/api/v1/namespaces/gc/pods", NULL, NULL, pod, &st));
	is_int(st, 201, "pod on a node created");

	is_int(del(CM, "o", NULL), 200, "background delete of the owner");
	ok(gone(CM, "o"), "the owner goes at once");
	ok(gone(CM, "plain"), "a dependent without finalizers goes");
	json_t *h = get(CM, "held", &st);
	ok(st == 200 && api_meta_str(h, "deletionTimestamp") && has_finalizer(h, "example.com/hold"),
	   "a dependent with a finalizer is only marked");
	json_decref(h);
	json_t *p = get("/api/v1/namespaces/gc/pods", "p", &st);
	ok(st == 200 && api_meta_str(p, "deletionTimestamp") &&
	   json_int(json_object_get(p, "metadata"), "deletionGracePeriodSeconds", 0) == 300,
	   "a pod on a node is deleted gracefully (its grace period)");
	json_decref(p);
	json_t *s = get(CM, "shared", &st);
	json_t *refs = json_path(s, "metadata.ownerReferences");
	ok(st == 200 && !api_meta_str(s, "deletionTimestamp") && json_array_size(refs) == 1 &&
	   !strcmp(json_str(json_array_get(refs, 0), "name"), "o2"),
	   "a dependent with another live owner stays and loses the reference");
	json_decref(s);
	ok(!gone(CM, "grandchild"), "the marked dependent's own dependent waits");

	release("held");
	ok(gone(CM, "held"), "the marked dependent goes when its finalizer is removed");
	ok(gone(CM, "grandchild"), "... and the cascade continues to its dependents");
	json_decref(call("DELETE", "/api/v1/namespaces/gc/pods/p", "gracePeriodSeconds=0", NULL, NULL, &st));
	ok(gone("/api/v1/namespaces/gc/pods", "p"), "the kubelet's grace-0 delete finishes the pod");
	del(CM, "o2", NULL);
	del(CM, "shared", NULL);
	free(o), free(o2), free(r_o), free(r_o2), free(d1), free(held), free(shared), free(r_held), free(grand), free(pod);
}

static const char *FOREGROUND = "{\"propagationPolicy\":\"Foreground\"}";

static void test_foreground(void)
{
	char *o = configmap("fo", NULL, NULL);
	char *rb = ref("fo", o, 1), *rn = ref("fo", o, 0);
	const char *blocking[] = { rb, NULL }, *nonblocking[] = { rn, NULL };
	char *b = configmap("blocker", "example.com/hold", blocking), *n = configmap("loose", NULL, nonblocking);
	is_int(del(CM, "fo", FOREGROUND), 200, "foreground delete answered");
	int st;
	json_t *ow = get(CM, "fo", &st);
	ok(st == 200 && api_meta_str(ow, "deletionTimestamp") && has_finalizer(ow, "foregroundDeletion"),
	   "the owner stays, marked, with the foregroundDeletion finalizer");
	json_decref(ow);
	ok(gone(CM, "loose"), "a non-blocking dependent is deleted");
	json_t *bl = get(CM, "blocker", &st);
	ok(st == 200 && api_meta_str(bl, "deletionTimestamp"), "the blocking dependent is marked");
	json_decref(bl);
	is_int(del(CM, "fo", FOREGROUND), 200, "a second foreground delete");
	ow = get(CM, "fo", &st);
	json_t *fins = json_path(ow, "metadata.finalizers");
	ok(st == 200 && json_array_size(fins) == 1, "adds the finalizer only once");
	json_decref(ow);
	char *late = configmap("late", NULL, blocking);
	ok(gone(CM, "late") && !gone(CM, "fo"), "a dependent created for the waiting owner is collected at once");
	free(late);
	release("blocker");
	ok(gone(CM, "blocker") && gone(CM, "fo"), "the owner goes with its last blocking dependent");
	free(o), free(rb), free(rn), free(b), free(n);

	/* a chain: top -> mid -> leaf (held), all blocking */
	char *top = configmap("top", NULL, NULL);
	char *r_top = ref("top", top, 1);
	const char *under_top[] = { r_top, NULL };
	char *mid = configmap("mid", NULL, under_top);
	char *r_mid = ref("mid", mid, 1);
	const char *under_mid[] = { r_mid, NULL };
	char *leaf = configmap("leaf", "example.com/hold", under_mid);
	del(CM, "top", FOREGROUND);
	json_t *m = get(CM, "mid", &st);
	ok(st == 200 && has_finalizer(m, "foregroundDeletion") && api_meta_str(m, "deletionTimestamp"),
	   "a dependent with dependents is deleted in the foreground too");
	json_decref(m);
	ok(!gone(CM, "top") && !gone(CM, "leaf"), "the chain waits for the held leaf");
	release("leaf");
	ok(gone(CM, "leaf") && gone(CM, "mid") && gone(CM, "top"), "releasing the leaf removes the whole chain");
	free(top), free(r_top), free(mid), free(r_mid), free(leaf);

	/* an ownership cycle (cyc-a owns cyc-b, cyc-b owns cyc-a, both blocking) does not wait forever */
	char *a = configmap("cyc-a", NULL, NULL);
	char *r_a = ref("cyc-a", a, 1);
	const char *under_a[] = { r_a, NULL };
	char *cb = configmap("cyc-b", NULL, under_a);
	char *patch = xasprintf("{\"metadata\":{\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
				"\"name\":\"cyc-b\",\"uid\":\"%s\",\"blockOwnerDeletion\":true}]}}", cb);
	json_decref(call("PATCH", CM "/cyc-a", NULL, "application/merge-patch+json", patch, &st));
	is_int(st, 200, "the cycle closed");
	del(CM, "cyc-a", FOREGROUND);
	ok(gone(CM, "cyc-a") && gone(CM, "cyc-b"), "a foreground deletion through an ownership cycle completes");
	free(a), free(r_a), free(cb), free(patch);

	/* foreground on an object without dependents: as background */
	char *alone = configmap("alone", NULL, NULL);
	del(CM, "alone", FOREGROUND);
	ok(gone(CM, "alone"), "foreground without dependents deletes at once");
	free(alone);
}

static void test_orphan(void)
{
	char *o = configmap("oo", NULL, NULL);
	char *r = ref("oo", o, 1);
	const char *owners[] = { r, NULL };
	char *d = configmap("kid", NULL, owners);
	del(CM, "oo", "{\"propagationPolicy\":\"Orphan\"}");
	int st;
	json_t *k = get(CM, "kid", &st);
	ok(gone(CM, "oo") && st == 200 && !json_path(k, "metadata.ownerReferences") && !api_meta_str(k, "deletionTimestamp"),
	   "orphan: the owner goes, the dependent stays without the reference");
	json_decref(k);
	del(CM, "kid", NULL);
	free(o), free(r), free(d);

	/* an owner that stays for its finalizer: the orphaning is done at once */
	o = configmap("oh", "example.com/hold", NULL);
	r = ref("oh", o, 1);
	const char *owners2[] = { r, NULL };
	d = configmap("kid2", NULL, owners2);
	del(CM, "oh", "{\"propagationPolicy\":\"Orphan\"}");
	json_t *ow = get(CM, "oh", &st);
	ok(st == 200 && api_meta_str(ow, "deletionTimestamp") && has_finalizer(ow, "example.com/hold") &&
	   !has_finalizer(ow, "orphan"), "the owner stays marked, its orphan finalizer done");
	json_decref(ow);
	k = get(CM, "kid2", &st);
	ok(st == 200 && !json_path(k, "metadata.ownerReferences"), "its dependent was orphaned");
	json_decref(k);
	release("oh");
	ok(gone(CM, "oh") && !gone(CM, "kid2"), "the owner goes on release, the orphan stays");
	del(CM, "kid2", NULL);
	free(o), free(r), free(d);
}

static void test_delete_collection(void)
{
	int st;
	json_decref(call("POST", CM, NULL, NULL, "{\"metadata\":{\"name\":\"c1\",\"labels\":{\"set\":\"x\"}}}", &st));
	json_decref(call("POST", CM, NULL, NULL, "{\"metadata\":{\"name\":\"c2\",\"labels\":{\"set\":\"x\"},"
			 "\"finalizers\":[\"example.com/hold\"]}}", &st));
	json_t *list = call("DELETE", CM, "labelSelector=set=x", NULL, NULL, &st);
	ok(st == 200 && json_array_size(json_object_get(list, "items")) == 2, "deletecollection answers both");
	json_decref(list);
	json_t *c2 = get(CM, "c2", &st);
	ok(gone(CM, "c1") && st == 200 && api_meta_str(c2, "deletionTimestamp"),
	   "deletecollection deletes each as a DELETE would: the one with a finalizer is only marked");
	json_decref(c2);
	release("c2");
	ok(gone(CM, "c2"), "and goes when released");
}

/* Write a configmap straight to the store, as a server that stopped
 * half-way left it. */
static void store_put(const char *name, const char *json)
{
	char *key = xasprintf("/registry/configmaps/gc/%s", name);
	StoreKV kv;
	if (store_get(api.store, key, &kv, NULL) == 0) {
		int64_t rev = kv.mod_revision;
		store_kv_release(&kv);
		store_update(api.store, key, json, strlen(json), rev, NULL, NULL);
	} else {
		store_create(api.store, key, json, strlen(json), NULL, NULL);
	}
	free(key);
}

static void test_sweep(void)
{
	/* the owner marked for foreground deletion, its dependents never touched */
	char *o = configmap("cut", NULL, NULL);
	char *r = ref("cut", o, 1);
	const char *owners[] = { r, NULL };
	char *d = configmap("cut-kid", NULL, owners);
	char *marked = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cut\","
				 "\"namespace\":\"gc\",\"uid\":\"%s\",\"deletionTimestamp\":\"2020-01-01T00:00:00Z\","
				 "\"deletionGracePeriodSeconds\":0,\"finalizers\":[\"foregroundDeletion\"]}}", o);
	store_put("cut", marked);
	/* a dependent whose owner was removed before its cascade ran */
	const char *dangling = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"dangling\","
			 "\"namespace\":\"gc\",\"uid\":\"11111111-2222-3333-4444-555555555555\",\"ownerReferences\":"
			 "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"vanished\",\"uid\":\"0\"}]}}";
	store_put("dangling", dangling);
	/* one with an owner of a kind nobody serves is kept */
	const char *unknown = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"unknown-owner\","
			"\"namespace\":\"gc\",\"uid\":\"11111111-2222-3333-4444-666666666666\",\"ownerReferences\":"
			"[{\"apiVersion\":\"example.com/v1\",\"kind\":\"Thing\",\"name\":\"t\",\"uid\":\"1\"}]}}";
	store_put("unknown-owner", unknown);
	ok(!gone(CM, "cut") && !gone(CM, "cut-kid") && !gone(CM, "dangling"), "the interrupted state is there");
	api_gc_sweep(&api);
	ok(gone(CM, "cut-kid") && gone(CM, "cut"), "the sweep finishes the foreground deletion");
	ok(gone(CM, "dangling"), "the sweep collects a dependent whose owner is gone");
	ok(!gone(CM, "unknown-owner"), "an owner that cannot be looked up keeps its dependent");
	del(CM, "unknown-owner", NULL);
	free(o), free(r), free(d), free(marked);
}

int main(void)
{
	char dir[] = "/tmp/test-apigc-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char *spec = xasprintf("sqlite:%s/db", dir);
	api.cfg.data_dir = dir;
	api.cfg.service_cidr = "10.96.0.0/16";
	pthread_mutex_init(&api.lock, NULL);
	is_int(store_open(spec, &api.store, NULL), 0, "store");
	int st;
	json_decref(call("POST", "/api/v1/namespaces", NULL, NULL, "{\"metadata\":{\"name\":\"gc\"}}", &st));
	is_int(st, 201, "namespace");
	test_background();
	test_foreground();
	test_orphan();
	test_delete_collection();
	test_sweep();
	/* again with the watch cache the server reads dependents from */
	is_int(api_cache_start(api.store, 1024, &api.cache, NULL), 0, "watch cache");
	test_sweep();
	test_foreground();
	api_cache_stop(api.cache);
	api.cache = NULL;
	json_decref(call("DELETE", "/api/v1/namespaces/gc", NULL, NULL, NULL, &st));
	json_t *left = call("GET", "/api/v1/configmaps", NULL, NULL, NULL, &st);
	is_int(json_array_size(json_object_get(left, "items")), 0, "namespace deletion empties it");
	json_decref(left);
	store_free(api.store);
	free(api.ip_used);
	free(spec);
	fs_rm_rf(dir, NULL);
	return tap_done();
}
