/* gc.c - what happens around creates and deletes beyond the object itself:
 * the garbage collector's cascade (ownerReferences: background deletes the
 * dependents, Orphan strips the reference), namespace deletion that empties
 * the namespace first, CRD registration and removal, the "default"
 * ServiceAccount of each namespace, and the objects every cluster starts
 * with (default/kube-system/kube-public/kube-node-lease, the kubernetes
 * Service).
 *
 * The cascade runs synchronously inside the request that deleted the owner:
 * simple, and by the time kubectl's wait loop looks, the dependents are gone.
 * Depth is bounded so an ownership cycle cannot recurse forever.
 */
#include "api-internal.h"
#include "handlers.h"
#include "cache.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include <arpa/inet.h>
#include <string.h>

#define GC_MAX_DEPTH 16

static __thread int gc_depth;

static bool owned_by(const json_t *obj, const char *uid)
{
	size_t i;
	json_t *ref;
	json_array_foreach(json_path(obj, "metadata.ownerReferences"), i, ref)
		if (!strcmp(json_str(ref, "uid") ?: "", uid))
			return true;
	return false;
}

typedef void (*DependentFn)(Api *api, const ApiResource *r, json_t *dep, const char *owner_uid);

static void for_each_stored_dependent(Api *api, const ApiResource *r, const char *prefix, const char *uid,
				      DependentFn fn)
{
	_cleanup_json_ json_t *items = json_array();
	int64_t rev;
	bool more;
	if (api_list_objects(api, prefix, NULL, NULL, 0, 0, NULL, items, &rev, NULL, &more) < 0)
		return;
	size_t j;
	json_t *o;
	json_array_foreach(items, j, o)
		if (owned_by(o, uid))
			fn(api, r, o, uid);
}

static void for_each_cached_dependent(Api *api, const ApiResource *r, const char *prefix, const char *uid,
				      DependentFn fn)
{
	CacheObj **objs = NULL;
	size_t n = 0, ulen = strlen(uid);
	int64_t rev;
	bool more;
	api_cache_list(api->cache, prefix, NULL, 0, &objs, &n, &rev, &more);
	for (size_t j = 0; j < n; j++) {
		if (!memmem(objs[j]->raw, objs[j]->raw_len, uid, ulen))
			continue;
		_cleanup_json_ json_t *o = cache_obj_decode(objs[j]);
		if (o && owned_by(o, uid))
			fn(api, r, o, uid);
	}
	api_cache_objs_free(objs, n);
}

/* Call fn for every object owned by obj (same namespace, or anywhere for a cluster-scoped owner). */
static void for_each_dependent(Api *api, const json_t *obj, DependentFn fn)
{
	const char *uid = api_meta_str(obj, "uid"), *ns = api_meta_str(obj, "namespace");
	if (!uid || gc_depth >= GC_MAX_DEPTH)
		return;
	gc_depth++;
	/* from the watch cache once it has every committed write: the stored
	 * texts are searched for the uid, and only those objects decoded, so a
	 * delete does not decode every object of its namespace */
	bool cached = api->cache && api_cache_sync(api->cache, 3000) == 0;
	size_t n;
	_cleanup_free_ const ApiResource **all = api_resources_all(api, &n);
	for (size_t i = 0; i < n; i++) {
		if (ns && !all[i]->namespaced)
			continue;
		_cleanup_free_ char *prefix = api_resource_key(all[i], ns, NULL);
		if (cached)
			for_each_cached_dependent(api, all[i], prefix, uid, fn);
		else
			for_each_stored_dependent(api, all[i], prefix, uid, fn);
	}
	gc_depth--;
}

static void delete_dependent(Api *api, const ApiResource *r, json_t *dep, const char *owner_uid)
{
	(void)owner_uid;
	api_delete_now(api, r, api_meta_str(dep, "namespace"), api_meta_str(dep, "name"), "Background", NULL);
}

static void orphan_dependent(Api *api, const ApiResource *r, json_t *dep, const char *owner_uid)
{
	json_t *refs = json_path(dep, "metadata.ownerReferences");
	for (size_t i = json_array_size(refs); i-- > 0;)
		if (!strcmp(json_str(json_array_get(refs, i), "uid") ?: "", owner_uid))
			json_array_remove(refs, i);
	if (!json_array_size(refs))
		json_object_del(json_object_get(dep, "metadata"), "ownerReferences");
	int64_t rev = 0;
	parse_int64(api_meta_str(dep, "resourceVersion") ?: "0", &rev);
	size_t len;
	_cleanup_free_ char *val = api_object_encode(dep, &len);
	_cleanup_free_ char *key = api_resource_key(r, api_meta_str(dep, "namespace"), api_meta_str(dep, "name"));
	store_update(api->store, key, val, len, rev, NULL, NULL);
}

void api_gc_delete_dependents(Api *api, const ApiResource *r, const json_t *obj)
{
	(void)r;
	for_each_dependent(api, obj, delete_dependent);
}

void api_gc_orphan_dependents(Api *api, const json_t *obj)
{
	for_each_dependent(api, obj, orphan_dependent);
}

/* True when obj names owners and none of them exists any more (by uid): a
 * controller acting on a stale cache created it after its owner was
 * deleted.  The garbage collector deletes such dependents; the cascade here
 * runs at delete time, so a create checks it instead (api_create_object). */
bool api_gc_owners_gone(Api *api, const json_t *obj)
{
	const json_t *refs = json_path(obj, "metadata.ownerReferences");
	if (!json_array_size(refs))
		return false;
	const char *ns = api_meta_str(obj, "namespace");
	size_t i;
	json_t *ref;
	json_array_foreach(refs, i, ref) {
		const ApiResource *r = api_resource_by_kind(api, json_str(ref, "apiVersion") ?: "", json_str(ref, "kind") ?: "");
		const char *name = json_str(ref, "name"), *uid = json_str(ref, "uid");
		if (!r || !name || !uid)
			return false; /* an owner we cannot look up: keep the object */
		_cleanup_json_ json_t *owner = NULL;
		if (api_load(api, r, r->namespaced ? ns : NULL, name, &owner, NULL) == 0 &&
		    !strcmp(api_meta_str(owner, "uid") ?: "", uid))
			return false;
	}
	return true;
}

void api_gc_after_delete(Api *api, const ApiResource *r, const json_t *obj)
{
	if (!strcmp(r->resource, "customresourcedefinitions"))
		api_crd_deleted(api, obj);
	else if (!strcmp(r->resource, "services") && !r->group[0])
		api_release_service_addresses(api, obj);
}

/* Delete every object under prefix (no cascade beyond the owner graph). */
static void delete_all(Api *api, const ApiResource *r, const char *prefix)
{
	_cleanup_json_ json_t *items = json_array();
	int64_t rev;
	bool more;
	if (api_list_objects(api, prefix, NULL, NULL, 0, 0, NULL, items, &rev, NULL, &more) < 0)
		return;
	size_t i;
	json_t *o;
	json_array_foreach(items, i, o)
		api_delete_now(api, r, api_meta_str(o, "namespace"), api_meta_str(o, "name"), "Background", NULL);
}

void api_namespace_delete(Api *api, ApiRequest *req, ApiResponse *resp, json_t *ns)
{
	const char *name = api_meta_str(ns, "name");
	json_t *meta = json_obj_ensure(ns, "metadata");
	if (!json_object_get(meta, "deletionTimestamp")) {
		char now[40];
		api_now_rfc3339(now, sizeof(now));
		json_object_set_new(meta, "deletionTimestamp", json_string(now));
		json_object_set_new(json_obj_ensure(ns, "status"), "phase", json_string("Terminating"));
		int64_t rev = 0;
		parse_int64(api_meta_str(ns, "resourceVersion") ?: "0", &rev);
		size_t len;
		_cleanup_free_ char *val = api_object_encode(ns, &len);
		_cleanup_free_ char *key = api_resource_key(req->res, NULL, name);
		int64_t nrev;
		if (store_update(api->store, key, val, len, rev, &nrev, NULL) == 0)
			api_object_set_rv(ns, nrev);
	}
	size_t n;
	_cleanup_free_ const ApiResource **all = api_resources_all(api, &n);
	for (size_t i = 0; i < n; i++) {
		if (!all[i]->namespaced)
			continue;
		_cleanup_free_ char *prefix = api_resource_key(all[i], name, NULL);
		delete_all(api, all[i], prefix);
	}
	api_delete_now(api, req->res, NULL, name, "Background", NULL);
	api_respond_json(resp, 200, json_incref(ns));
}

void api_crd_deleted(Api *api, const json_t *crd)
{
	const char *group = json_str(json_object_get(crd, "spec"), "group");
	const char *plural = json_str(json_path(crd, "spec.names"), "plural");
	if (group && plural) {
		const ApiResource *r = api_resource_find(api, group, NULL, plural);
		if (r && r->custom) {
			ApiResource copy = *r;
			copy.namespaced = false; /* one prefix covers every namespace */
			_cleanup_free_ char *prefix = api_resource_key(&copy, NULL, NULL);
			_cleanup_json_ json_t *items = json_array();
			int64_t rev;
			bool more;
			if (api_list_objects(api, prefix, NULL, NULL, 0, 0, NULL, items, &rev, NULL, &more) == 0) {
				size_t i;
				json_t *o;
				json_array_foreach(items, i, o)
					api_delete_now(api, r, api_meta_str(o, "namespace"), api_meta_str(o, "name"),
						       "Background", NULL);
			}
		}
	}
	api_crd_refresh(api);
}

/* ---- creation side effects ---- */

/* Create an object through the normal path, ignoring AlreadyExists. */
void api_ensure_object(Api *api, const char *resource, const char *group, const char *ns, json_t *obj)
{
	ApiRequest req = { .method = "POST" };
	req.res = api_resource_find(api, group, NULL, resource);
	req.ns = (char *)ns;
	if (!req.res) {
		json_decref(obj);
		return;
	}
	_cleanup_free_ char *key = api_resource_key(req.res, ns, api_meta_str(obj, "name"));
	StoreKV kv;
	if (store_get(api->store, key, &kv, NULL) == 0) {
		store_kv_release(&kv);
		json_decref(obj);
		return;
	}
	ApiResponse resp = { 0 };
	_cleanup_free_ char *av = api_resource_api_version(req.res);
	json_object_set_new(obj, "kind", json_string(req.res->kind));
	json_object_set_new(obj, "apiVersion", json_string(av));
	api_create_object(api, &req, &resp, obj);
	api_response_release(&resp);
	json_decref(obj);
}

static void crd_established(Api *api, const json_t *crd)
{
	_cleanup_json_ json_t *obj = json_deep_copy(crd);
	char now[40];
	api_now_rfc3339(now, sizeof(now));
	json_t *st = json_pack("{s:O?, s:[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}], s:[O?]}",
			       "acceptedNames", json_path(crd, "spec.names"), "conditions", "type", "NamesAccepted",
			       "status", "True", "lastTransitionTime", now, "reason", "NoConflicts", "message",
			       "no conflicts found", "type", "Established", "status", "True", "lastTransitionTime", now,
			       "reason", "InitialNamesAccepted", "message", "the initial names have been accepted",
			       "storedVersions", json_object_get(json_array_get(json_path(crd, "spec.versions"), 0), "name"));
	if (st)
		json_object_set_new(obj, "status", st);
	int64_t rev = 0;
	parse_int64(api_meta_str(obj, "resourceVersion") ?: "0", &rev);
	size_t len;
	_cleanup_free_ char *val = api_object_encode(obj, &len);
	_cleanup_free_ char *key = xasprintf("/registry/customresourcedefinitions.apiextensions.k8s.io/%s",
					     api_meta_str(obj, "name") ?: "");
	store_update(api->store, key, val, len, rev, NULL, NULL);
}

void api_after_create(Api *api, const ApiResource *r, const json_t *obj)
{
	if (!strcmp(r->resource, "namespaces")) {
		api_ensure_object(api, "serviceaccounts", "", api_meta_str(obj, "name"),
			      json_pack("{s:{s:s}}", "metadata", "name", "default"));
	} else if (!strcmp(r->resource, "customresourcedefinitions")) {
		api_crd_refresh(api);
		crd_established(api, obj);
	}
}

void api_bootstrap(Api *api)
{
	static const char *const namespaces[] = { "default", "kube-system", "kube-public", "kube-node-lease" };
	for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++) {
		api_ensure_object(api, "namespaces", "", NULL, json_pack("{s:{s:s}}", "metadata", "name", namespaces[i]));
		api_ensure_object(api, "serviceaccounts", "", namespaces[i], json_pack("{s:{s:s}}", "metadata", "name", "default"));
	}
	/* the kubernetes Service holds the first address of the service range */
	char ip[64] = "";
	pthread_mutex_lock(&api->lock);
	const char *cidr = api->cfg.service_cidr ? api->cfg.service_cidr : "10.43.0.0/16";
	pthread_mutex_unlock(&api->lock);
	char net[64];
	snprintf(net, sizeof(net), "%s", cidr);
	char *slash = strchr(net, '/');
	if (slash)
		*slash = 0;
	struct in_addr a;
	if (inet_pton(AF_INET, net, &a) == 1) {
		a.s_addr = htonl(ntohl(a.s_addr) + 1);
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
	}
	api_ensure_object(api, "services", "", "default",
		      json_pack("{s:{s:s, s:{s:s, s:s}}, s:{s:s, s:s, s:[{s:s, s:i, s:s, s:i}]}}", "metadata", "name",
				"kubernetes", "labels", "component", "apiserver", "provider", "kubernetes", "spec", "type",
				"ClusterIP", "clusterIP", ip, "ports", "name", "https", "port", 443, "protocol", "TCP",
				"targetPort", 6443));
	api_rbac_bootstrap(api);
}
