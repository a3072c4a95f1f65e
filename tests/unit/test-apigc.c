/* test-apigc.c - the API server's garbage collector below HTTP: requests
 * through api_handle() against a temporary SQLite store (no watch cache):
 * background cascades that respect finalizers and graceful pod deletion and
 * continue when a marked dependent goes, dependents with another owner,
 * foreground deletion (the owner waits for its blocking dependents, chains),
 * orphaning (also for an owner that stays for its finalizers),
 * deletecollection through the same path, the
 * periodic sweep finishing a cascade a restart interrupted (reading the
 * store, then the watch cache), an update that stops a dependent blocking
 * its owner (the owner goes at once), and namespace deletion (Terminating,
 * conditions, graceful content, the finalize subresource, the namespaces
 * that may not be deleted). */
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

/* An update that drops a blocking ownerReference (or sets blockOwnerDeletion
 * false) lets an owner in foreground deletion go at once, with no sweep. */
static void test_update_recheck(void)
{
	int st;
	char *o = configmap("up-owner", NULL, NULL);
	char *rb = ref("up-owner", o, 1);
	const char *blocking[] = { rb, NULL };
	char *d = configmap("up-dep", "example.com/hold", blocking);
	is_int(del(CM, "up-owner", FOREGROUND), 200, "foreground delete of the owner");
	ok(!gone(CM, "up-owner"), "the owner waits for its blocking dependent");
	json_decref(call("PATCH", CM "/up-dep", NULL, "application/merge-patch+json",
			 "{\"metadata\":{\"ownerReferences\":null}}", &st));
	is_int(st, 200, "the dependent's ownerReference removed by a client update");
	ok(gone(CM, "up-owner"), "the owner is gone right after the update, without a sweep");
	ok(!gone(CM, "up-dep"), "the released dependent stays (its own finalizer)");
	release("up-dep");
	free(o), free(rb), free(d);

	o = configmap("un-owner", NULL, NULL);
	rb = ref("un-owner", o, 1);
	const char *blocking2[] = { rb, NULL };
	d = configmap("un-dep", "example.com/hold", blocking2);
	del(CM, "un-owner", FOREGROUND);
	ok(!gone(CM, "un-owner"), "a second owner waits");
	json_decref(call("PATCH", CM "/un-dep", NULL, "application/json-patch+json",
			 "[{\"op\":\"replace\",\"path\":\"/metadata/ownerReferences/0/blockOwnerDeletion\",\"value\":false}]",
			 &st));
	is_int(st, 200, "blockOwnerDeletion set false by a client update");
	ok(gone(CM, "un-owner"), "the owner is gone right after the update");
	json_t *dep = get(CM, "un-dep", &st);
	ok(st == 200 && json_path(dep, "metadata.ownerReferences"), "the dependent keeps its (non-blocking) reference");
	json_decref(dep);
	release("un-dep");
	free(o), free(rb), free(d);
}

static const json_t *condition(const json_t *ns, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(ns, "status.conditions"), i, c)
		if (!strcmp(json_str(c, "type") ?: "", type))
			return c;
	return NULL;
}

static bool condition_is(const json_t *ns, const char *type, const char *status, const char *reason,
			 const char *message)
{
	const json_t *c = condition(ns, type);
	bool same = c && !strcmp(json_str(c, "status") ?: "", status) && !strcmp(json_str(c, "reason") ?: "", reason) &&
		    !strcmp(json_str(c, "message") ?: "", message) && json_str(c, "lastTransitionTime");
	if (!same)
		printf("# %s: %s\n", type, c ? json_dumps(c, JSON_COMPACT) : "missing");
	return same;
}

static void create_in(const char *ns, const char *resource, const char *body)
{
	char *p = xasprintf("/api/v1/namespaces/%s/%s", ns, resource);
	int st;
	json_decref(call("POST", p, NULL, NULL, body, &st));
	if (st != 201)
		printf("# create in %s: %d\n", ns, st);
	free(p);
}

/* Namespace deletion as Kubernetes' namespace controller does it, driven by
 * the DELETE and by each removal (no sweep runs here). */
static void test_namespace_delete(const char *ns)
{
	int st;
	char *body = xasprintf("{\"metadata\":{\"name\":\"%s\"}}", ns);
	json_decref(call("POST", "/api/v1/namespaces", NULL, NULL, body, &st));
	is_int(st, 201, "namespace to delete");
	char *cms = xasprintf("/api/v1/namespaces/%s/configmaps", ns), *pods = xasprintf("/api/v1/namespaces/%s/pods", ns);
	create_in(ns, "configmaps", "{\"metadata\":{\"name\":\"held\",\"finalizers\":[\"example.com/hold\"]}}");
	create_in(ns, "configmaps", "{\"metadata\":{\"name\":\"plain\"}}");
	create_in(ns, "pods", "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"nodeName\":\"n1\",\"terminationGracePeriodSeconds\":300,"
		  "\"containers\":[{\"name\":\"c\",\"image\":\"bb\"}]}}");
	json_t *r = get("/api/v1/namespaces", ns, &st);
	ok(st == 200 && !strcmp(json_string_value(json_array_get(json_path(r, "spec.finalizers"), 0)) ?: "", "kubernetes"),
	   "a new namespace has the kubernetes finalizer");
	json_decref(r);

	char *path = xasprintf("/api/v1/namespaces/%s", ns);
	r = call("DELETE", path, NULL, NULL, NULL, &st);
	ok(st == 200 && api_meta_str(r, "deletionTimestamp") &&
	   !strcmp(json_str(json_path(r, "status"), "phase") ?: "", "Terminating"),
	   "DELETE answers the namespace marked Terminating");
	json_decref(r);
	r = get("/api/v1/namespaces", ns, &st);
	ok(st == 200 && !strcmp(json_str(json_path(r, "status"), "phase") ?: "", "Terminating") &&
	   json_array_size(json_path(r, "spec.finalizers")) == 1, "the namespace stays, Terminating, finalizer kept");
	ok(condition_is(r, "NamespaceContentRemaining", "True", "SomeResourcesRemain",
			"Some resources are remaining: configmaps. has 1 resource instances, pods. has 1 resource instances"),
	   "NamespaceContentRemaining names what is left");
	ok(condition_is(r, "NamespaceFinalizersRemaining", "True", "SomeFinalizersRemain",
			"Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"),
	   "NamespaceFinalizersRemaining names the finalizer");
	ok(condition_is(r, "NamespaceDeletionContentFailure", "False", "ContentDeleted",
			"All content successfully deleted, may be waiting on finalization") &&
	   condition_is(r, "NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered",
			"All resources successfully discovered") &&
	   condition_is(r, "NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
			"All legacy kube types successfully parsed"), "the other conditions are fine");
	json_decref(r);
	ok(gone(cms, "plain"), "content without finalizers is removed");
	json_t *held = get(cms, "held", &st), *pod = get(pods, "p", &st);
	ok(api_meta_str(held, "deletionTimestamp") != NULL, "an object with a finalizer is only marked");
	ok(api_meta_str(pod, "deletionTimestamp") && json_int(json_object_get(pod, "metadata"),
							      "deletionGracePeriodSeconds", 0) == 300,
	   "the pod on a node is deleted gracefully");
	json_decref(held);
	json_decref(pod);

	r = call("POST", cms, NULL, NULL, "{\"metadata\":{\"name\":\"late\"}}", &st);
	char *want = xasprintf("configmaps \"late\" is forbidden: unable to create new content in namespace %s because "
			       "it is being terminated", ns);
	ok(st == 403 && !strcmp(json_str(r, "message") ?: "", want) && !strcmp(json_str(r, "reason") ?: "", "Forbidden"),
	   "a create into the terminating namespace is refused");
	json_t *cause = json_array_get(json_path(r, "details.causes"), 0);
	ok(!strcmp(json_str(cause, "reason") ?: "", "NamespaceTerminating") &&
	   !strcmp(json_str(cause, "field") ?: "", "metadata.namespace"), "with the NamespaceTerminating cause");
	json_decref(r);
	free(want);
	r = call("DELETE", path, NULL, NULL, NULL, &st);
	want = xasprintf("Operation cannot be fulfilled on namespaces \"%s\": The system is ensuring all content is "
			 "removed from this namespace.  Upon completion, this namespace will automatically be purged "
			 "by the system.", ns);
	ok(st == 409 && !strcmp(json_str(r, "message") ?: "", want), "a second DELETE is a conflict");
	json_decref(r);
	free(want);
	char *label = xasprintf("{\"metadata\":{\"labels\":{\"x\":\"y\"},\"finalizers\":null}}");
	json_decref(call("PATCH", path, NULL, "application/merge-patch+json", label, &st));
	ok(st == 200 && !gone("/api/v1/namespaces", ns), "a metadata update does not remove it while spec.finalizers remain");
	free(label);

	char *hp = xasprintf("%s/held", cms);
	json_decref(call("PATCH", hp, NULL, "application/merge-patch+json", "{\"metadata\":{\"finalizers\":null}}", &st));
	free(hp);
	ok(gone(cms, "held"), "the released object goes");
	r = get("/api/v1/namespaces", ns, &st);
	ok(st == 200 && condition_is(r, "NamespaceContentRemaining", "True", "SomeResourcesRemain",
				     "Some resources are remaining: pods. has 1 resource instances") &&
	   condition_is(r, "NamespaceFinalizersRemaining", "False", "ContentHasNoFinalizers",
			"All content-preserving finalizers finished"),
	   "the conditions follow the removal");
	json_decref(r);
	char *pp = xasprintf("%s/p", pods);
	json_decref(call("DELETE", pp, "gracePeriodSeconds=0", NULL, NULL, &st));
	free(pp);
	ok(gone(pods, "p") && gone("/api/v1/namespaces", ns), "the last removal finalizes the namespace and it goes");
	free(body), free(cms), free(pods), free(path);
}

/* PUT namespaces/NAME/finalize forces a stuck namespace out. */
static void test_namespace_finalize(const char *ns)
{
	int st;
	char *body = xasprintf("{\"metadata\":{\"name\":\"%s\"}}", ns);
	json_decref(call("POST", "/api/v1/namespaces", NULL, NULL, body, &st));
	create_in(ns, "configmaps", "{\"metadata\":{\"name\":\"stuck\",\"finalizers\":[\"example.com/hold\"]}}");
	char *path = xasprintf("/api/v1/namespaces/%s", ns), *fin = xasprintf("%s/finalize", path);
	json_decref(call("DELETE", path, NULL, NULL, NULL, &st));
	ok(!gone("/api/v1/namespaces", ns), "held by its content");
	json_t *cur = get("/api/v1/namespaces", ns, &st);
	json_object_set_new(json_object_get(cur, "spec"), "finalizers", json_array());
	json_object_set_new(json_object_get(cur, "metadata"), "labels", json_pack("{s:s}", "ignored", "yes"));
	char *put = json_dumps(cur, JSON_COMPACT);
	json_decref(cur);
	json_t *r = call("PUT", fin, NULL, NULL, put, &st);
	ok(st == 200 && gone("/api/v1/namespaces", ns), "PUT .../finalize with no finalizers removes the namespace");
	json_decref(r);
	free(put);
	/* the object the forced finalize left behind */
	char *cms = xasprintf("/api/v1/namespaces/%s/configmaps", ns), *cm = xasprintf("%s/stuck", cms);
	ok(!gone(cms, "stuck"), "a forced finalize leaves the held object behind");
	json_decref(call("PATCH", cm, NULL, "application/merge-patch+json", "{\"metadata\":{\"finalizers\":null}}", &st));
	ok(gone(cms, "stuck"), "which goes when released");
	/* not terminating: finalize only changes spec.finalizers */
	json_decref(call("POST", "/api/v1/namespaces", NULL, NULL, body, &st));
	r = call("PUT", fin, NULL, NULL, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"labels\":"
		 "{\"ignored\":\"yes\"}},\"spec\":{\"finalizers\":[\"kubernetes\",\"example.com/extra\"]}}", &st);
	ok(st == 200 && json_array_size(json_path(r, "spec.finalizers")) == 2 && !json_path(r, "metadata.labels.ignored"),
	   "finalize on a live namespace sets spec.finalizers alone");
	json_decref(r);
	json_decref(call("DELETE", path, NULL, NULL, NULL, &st));
	r = get("/api/v1/namespaces", ns, &st);
	ok(st == 200 && json_array_size(json_path(r, "spec.finalizers")) == 1 &&
	   !strcmp(json_string_value(json_array_get(json_path(r, "spec.finalizers"), 0)) ?: "", "example.com/extra"),
	   "an empty namespace drops only the kubernetes finalizer; another keeps it");
	json_decref(r);
	json_decref(call("PUT", fin, NULL, NULL, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"spec\":{}}", &st));
	ok(gone("/api/v1/namespaces", ns), "and it goes when that one is finalized too");
	free(cms), free(cm), free(body), free(path), free(fin);
}

static void test_namespace_immortal(void)
{
	static const char *const names[] = { "default", "kube-system", "kube-public" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		int st;
		char *body = xasprintf("{\"metadata\":{\"name\":\"%s\"}}", names[i]);
		json_decref(call("POST", "/api/v1/namespaces", NULL, NULL, body, &st));
		char *path = xasprintf("/api/v1/namespaces/%s", names[i]);
		char *want = xasprintf("namespaces \"%s\" is forbidden: this namespace may not be deleted", names[i]);
		json_t *r = call("DELETE", path, NULL, NULL, NULL, &st);
		ok(st == 403 && !strcmp(json_str(r, "message") ?: "", want) && !strcmp(json_str(r, "reason") ?: "", "Forbidden"),
		   "%s may not be deleted", names[i]);
		json_decref(r);
		r = get("/api/v1/namespaces", names[i], &st);
		ok(st == 200 && !api_meta_str(r, "deletionTimestamp"), "%s is untouched", names[i]);
		json_decref(r);
		free(body), free(path), free(want);
	}
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
	test_update_recheck();
	test_namespace_delete("nsdel");
	test_namespace_finalize("nsfin");
	test_namespace_immortal();
	/* again with the watch cache the server reads dependents from */
	is_int(api_cache_start(api.store, 1024, &api.cache, NULL), 0, "watch cache");
	test_sweep();
	test_foreground();
	test_update_recheck();
	test_namespace_delete("nsdel-cached");
	test_namespace_finalize("nsfin-cached");
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
