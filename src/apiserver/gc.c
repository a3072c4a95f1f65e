/* gc.c - what happens around creates and deletes beyond the object itself:
 * the garbage collector (ownerReferences, propagation policies, the
 * "foregroundDeletion" and "orphan" finalizers), namespace deletion that
 * empties the namespace first, CRD registration and removal, the "default"
 * ServiceAccount of each namespace, and the objects every cluster starts
 * with (default/kube-system/kube-public/kube-node-lease, the kubernetes
 * Service).
 *
 * The collector behaves as Kubernetes' does, as clients observe it, but is
 * driven by the deletes themselves instead of a graph of every object:
 *
 *   - Background: the owner is removed at once; each dependent whose owners
 *     are now all gone is deleted as a client's DELETE would delete it (a
 *     pod on a node gracefully, an object with finalizers only marked), and
 *     when it is really removed its own dependents follow.  A dependent with
 *     another live owner only loses the reference.
 *   - Foreground: the owner is marked (deletionTimestamp + the
 *     "foregroundDeletion" finalizer) and stays; its dependents are deleted
 *     (with Foreground themselves when they have dependents, as for
 *     blockOwnerDeletion chains); when none with blockOwnerDeletion=true is
 *     left the finalizer goes, and with it the owner.  Every removal from the
 *     store (api_delete_now) looks at the removed object's waiting owners.
 *   - Orphan: the references to the owner are removed from its dependents
 *     (an "orphan" finalizer set by a client means the same).
 *
 * The work is level-triggered: what a removal does not finish (a server
 * restarted mid-cascade, a dependent released by an update, writes by
 * another server) the periodic sweep (api_gc_sweep, from sweep.c) finds.
 * Depth is bounded so an ownership cycle cannot recurse forever.
 */
#include "api-internal.h"
#include "handlers.h"
#include "cache.h"
#include "gc.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include <stdlib.h>
#include <arpa/inet.h>
#include <string.h>

#define GC_MAX_DEPTH 16
#define GC_RETRIES 8

static __thread int gc_depth;

static bool has_finalizer(const json_t *obj, const char *f)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_path(obj, "metadata.finalizers"), i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), f))
			return true;
	return false;
}

static bool deleting(const json_t *obj)
{
	return json_path(obj, "metadata.deletionTimestamp") != NULL;
}

/* An owner in foreground deletion: it waits for its blocking dependents. */
static bool waiting_for_dependents(const json_t *obj)
{
	return deleting(obj) && has_finalizer(obj, GC_FINALIZER_FOREGROUND);
}

/* obj's ownerReference to uid (borrowed), or NULL. */
static json_t *ref_to(const json_t *obj, const char *uid)
{
	size_t i;
	json_t *ref;
	json_array_foreach(json_path(obj, "metadata.ownerReferences"), i, ref)
		if (!strcmp(json_str(ref, "uid") ?: "", uid))
			return ref;
	return NULL;
}

typedef struct GcWalk GcWalk;
typedef void (*DependentFn)(GcWalk *w, const ApiResource *r, json_t *dep);

/* One pass over the dependents of an owner. */
struct GcWalk {
	Api *api;
	const char *uid;             /* the owner's */
	DependentFn fn;
	bool acts;                   /* fn deletes or writes (bounded by GC_MAX_DEPTH); else it only counts */
	size_t found, blocking;      /* counted by count_dependent */
	size_t waiting;              /* ... of them in foreground deletion themselves */
};

static void walk_stored(GcWalk *w, const ApiResource *r, const char *prefix)
{
	_cleanup_json_ json_t *items = json_array();
	int64_t rev;
	bool more;
	if (api_list_objects(w->api, prefix, NULL, NULL, 0, 0, NULL, items, &rev, NULL, &more) < 0)
		return;
	size_t j;
	json_t *o;
	json_array_foreach(items, j, o)
		if (ref_to(o, w->uid))
			w->fn(w, r, o);
}

static void walk_cached(GcWalk *w, const ApiResource *r, const char *prefix)
{
	CacheObj **objs = NULL;
	size_t n = 0, ulen = strlen(w->uid);
	int64_t rev;
	bool more;
	api_cache_list(w->api->cache, prefix, NULL, 0, &objs, &n, &rev, &more);
	for (size_t j = 0; j < n; j++) {
		if (!memmem(objs[j]->raw, objs[j]->raw_len, w->uid, ulen))
			continue;
		_cleanup_json_ json_t *o = cache_obj_decode(objs[j]);
		if (o && ref_to(o, w->uid))
			w->fn(w, r, o);
	}
	api_cache_objs_free(objs, n);
}

/* Call w->fn for every object owned by obj (same namespace, or anywhere for a cluster-scoped owner). */
static void for_each_dependent(GcWalk *w, const json_t *obj)
{
	const char *ns = api_meta_str(obj, "namespace");
	w->uid = api_meta_str(obj, "uid");
	if (!w->uid || (w->acts && gc_depth >= GC_MAX_DEPTH))
		return;
	gc_depth++;
	/* from the watch cache once it has every committed write: the stored
	 * texts are searched for the uid, and only those objects decoded, so a
	 * delete does not decode every object of its namespace */
	Api *api = w->api;
	bool cached = api->cache && api_cache_sync(api->cache, 3000) == 0;
	size_t n;
	_cleanup_free_ const ApiResource **all = api_resources_all(api, &n);
	for (size_t i = 0; i < n; i++) {
		if (ns && !all[i]->namespaced)
			continue;
		_cleanup_free_ char *prefix = api_resource_key(all[i], ns, NULL);
		if (cached)
			walk_cached(w, all[i], prefix);
		else
			walk_stored(w, all[i], prefix);
	}
	gc_depth--;
}

static void count_dependent(GcWalk *w, const ApiResource *r, json_t *dep)
{
	(void)r;
	w->found++;
	if (json_is_true(json_object_get(ref_to(dep, w->uid), "blockOwnerDeletion")))
		w->blocking++;
	if (waiting_for_dependents(dep))
		w->waiting++;
}

static GcWalk count_dependents(Api *api, const json_t *obj)
{
	GcWalk w = { .api = api, .fn = count_dependent };
	for_each_dependent(&w, obj);
	return w;
}

bool api_gc_has_dependents(Api *api, const json_t *obj)
{
	return count_dependents(api, obj).found > 0;
}

static bool uid_listed(const json_t *uids, const char *uid)
{
	size_t i;
	json_t *v;
	json_array_foreach(uids, i, v)
		if (!strcmp(json_string_value(v), uid ?: ""))
			return true;
	return false;
}

/* Remove dep's ownerReferences to the owners in uids, or (unblock) set
 * their blockOwnerDeletion to false: a compare-and-swap, read again on a
 * conflict.  0 or -errno. */
static int edit_refs(Api *api, const ApiResource *r, const json_t *dep, const json_t *uids, bool unblock)
{
	const char *ns = api_meta_str(dep, "namespace"), *name = api_meta_str(dep, "name");
	const char *uid = api_meta_str(dep, "uid");
	_cleanup_json_ json_t *cur = json_deep_copy(dep);
	int64_t rev = 0;
	parse_int64(api_meta_str(dep, "resourceVersion") ?: "0", &rev);
	_cleanup_free_ char *key = api_resource_key(r, ns, name);
	for (int attempt = 0; attempt < GC_RETRIES; attempt++) {
		if (attempt) {
			json_decref(TAKE_PTR(cur));
			int rc = api_load(api, r, ns, name, &cur, &rev);
			if (rc < 0)
				return rc;
			if (strcmp(api_meta_str(cur, "uid") ?: "", uid ?: ""))
				return -ENOENT;
		}
		json_t *meta = json_object_get(cur, "metadata");
		json_t *refs = json_object_get(meta, "ownerReferences");
		bool changed = false;
		for (size_t i = json_array_size(refs); i-- > 0;) {
			json_t *ref = json_array_get(refs, i);
			if (!uid_listed(uids, json_str(ref, "uid")))
				continue;
			if (!unblock)
				json_array_remove(refs, i);
			else if (json_is_true(json_object_get(ref, "blockOwnerDeletion")))
				json_object_set_new(ref, "blockOwnerDeletion", json_false());
			else
				continue;
			changed = true;
		}
		if (!changed)
			return 0;
		if (!json_array_size(refs))
			json_object_del(meta, "ownerReferences");
		size_t len;
		_cleanup_free_ char *val = api_object_encode(cur, &len);
		int rc = store_update(api->store, key, val, len, rev, NULL, NULL);
		if (rc != -ESTALE)
			return rc;
	}
	return -ESTALE;
}

typedef enum { OWNER_SOLID, OWNER_GONE, OWNER_WAITING } OwnerState;

/* What became of the owner ref names (read from the store; memo, when set,
 * keeps the answers by uid for one sweep).  An owner that cannot be looked
 * up (unknown kind) counts as present: the dependent is kept. */
static OwnerState owner_state(Api *api, const json_t *ref, const char *ns, json_t *memo)
{
	const char *uid = json_str(ref, "uid"), *name = json_str(ref, "name");
	if (!uid || !name)
		return OWNER_SOLID;
	json_t *m = memo ? json_object_get(memo, uid) : NULL;
	if (m)
		return (OwnerState)json_integer_value(m);
	const ApiResource *r = api_resource_by_kind(api, json_str(ref, "apiVersion") ?: "", json_str(ref, "kind") ?: "");
	OwnerState st = OWNER_SOLID;
	if (r && (ns || !r->namespaced)) {
		_cleanup_json_ json_t *owner = NULL;
		int rc = api_load(api, r, r->namespaced ? ns : NULL, name, &owner, NULL);
		if (rc == -ENOENT || (rc == 0 && strcmp(api_meta_str(owner, "uid") ?: "", uid)))
			st = OWNER_GONE;
		else if (rc == 0 && waiting_for_dependents(owner))
			st = OWNER_WAITING;
	}
	if (memo)
		json_object_set_new(memo, uid, json_integer(st));
	return st;
}

/* How the collector deletes dep, none of whose owners (drop: the gone and
 * waiting ones) is left: Foreground when a waiting owner needs dep's own
 * dependents gone first, else as dep's finalizers ask. */
static const char *dependent_propagation(Api *api, const ApiResource *r, const json_t *dep, const json_t *drop,
					 bool owner_waiting)
{
	GcWalk deps = owner_waiting ? count_dependents(api, dep) : (GcWalk){ 0 };
	if (deps.found) {
		/* a dependent of dep waits for dep: an ownership cycle, which
		 * would wait forever; dep stops blocking its owners (as
		 * Kubernetes breaks such cycles) */
		if (deps.waiting)
			edit_refs(api, r, dep, drop, true);
		return "Foreground";
	}
	if (has_finalizer(dep, GC_FINALIZER_ORPHAN))
		return "Orphan";
	if (has_finalizer(dep, GC_FINALIZER_FOREGROUND))
		return "Foreground";
	return "Background";
}

/* Kubernetes' attemptToDeleteItem for dep (gone_uid: an owner known to be
 * gone): with a live owner left it only loses the references to gone and
 * waiting owners; otherwise it is deleted as a client would delete it -
 * Foreground when a waiting owner needs its dependents gone first, else as
 * its own finalizers ask. */
static void attempt_delete(Api *api, const ApiResource *r, const json_t *dep, const char *gone_uid, json_t *memo)
{
	if (deleting(dep))
		return;  /* on its way already */
	const char *ns = api_meta_str(dep, "namespace");
	size_t solid = 0, waiting = 0, i;
	_cleanup_json_ json_t *drop = json_array();
	json_t *ref;
	json_array_foreach(json_path(dep, "metadata.ownerReferences"), i, ref) {
		const char *uid = json_str(ref, "uid");
		OwnerState st = gone_uid && uid && !strcmp(uid, gone_uid) ? OWNER_GONE : owner_state(api, ref, ns, memo);
		if (st == OWNER_SOLID) {
			solid++;
			continue;
		}
		waiting += st == OWNER_WAITING;
		json_array_append_new(drop, json_string(uid ?: ""));
	}
	if (!json_array_size(drop))
		return;
	if (solid) {
		edit_refs(api, r, dep, drop, false);
		return;
	}
	const char *prop = dependent_propagation(api, r, dep, drop, waiting > 0);
	api_delete_as_client(api, r, ns, api_meta_str(dep, "name"), api_meta_str(dep, "uid"), prop);
}

static void cascade_dependent(GcWalk *w, const ApiResource *r, json_t *dep)
{
	attempt_delete(w->api, r, dep, w->uid, NULL);
}

static void foreground_dependent(GcWalk *w, const ApiResource *r, json_t *dep)
{
	attempt_delete(w->api, r, dep, NULL, NULL);
}

static void orphan_dependent(GcWalk *w, const ApiResource *r, json_t *dep)
{
	_cleanup_json_ json_t *uids = json_pack("[s]", w->uid);
	edit_refs(w->api, r, dep, uids, false);
}

void api_gc_delete_dependents(Api *api, const ApiResource *r, const json_t *obj)
{
	(void)r;
	GcWalk w = { .api = api, .fn = cascade_dependent, .acts = true };
	for_each_dependent(&w, obj);
}

void api_gc_orphan_dependents(Api *api, const json_t *obj)
{
	GcWalk w = { .api = api, .fn = orphan_dependent, .acts = true };
	for_each_dependent(&w, obj);
}

/* Remove finalizer f from obj (as stored now, same uid) once its work is
 * done - for "foregroundDeletion", when no blocking dependent is left - and
 * remove the object when no finalizer remains. */
static void finish_finalizer(Api *api, const ApiResource *r, const json_t *obj, const char *f)
{
	const char *ns = api_meta_str(obj, "namespace"), *name = api_meta_str(obj, "name");
	const char *uid = api_meta_str(obj, "uid");
	_cleanup_free_ char *key = api_resource_key(r, ns, name);
	for (int attempt = 0; attempt < GC_RETRIES; attempt++) {
		_cleanup_json_ json_t *cur = NULL;
		int64_t rev;
		if (api_load(api, r, ns, name, &cur, &rev) < 0 || strcmp(api_meta_str(cur, "uid") ?: "", uid ?: ""))
			return;
		if (!deleting(cur) || !has_finalizer(cur, f))
			return;
		if (!strcmp(f, GC_FINALIZER_FOREGROUND) && count_dependents(api, cur).blocking)
			return;
		json_t *meta = json_object_get(cur, "metadata");
		json_t *fins = json_object_get(meta, "finalizers");
		for (size_t i = json_array_size(fins); i-- > 0;)
			if (!strcmp(json_string_value(json_array_get(fins, i)) ?: "", f))
				json_array_remove(fins, i);
		bool last = !json_array_size(fins);
		if (last)
			json_object_del(meta, "finalizers");
		size_t len;
		_cleanup_free_ char *val = api_object_encode(cur, &len);
		int rc = store_update(api->store, key, val, len, rev, NULL, NULL);
		if (rc == -ESTALE)
			continue;
		if (rc == 0 && last && json_int(meta, "deletionGracePeriodSeconds", 0) == 0)
			api_delete_now(api, r, ns, name, "Background", NULL);
		return;
	}
}

void api_gc_process_deleting(Api *api, const ApiResource *r, const json_t *obj)
{
	if (!deleting(obj))
		return;
	if (has_finalizer(obj, GC_FINALIZER_ORPHAN)) {
		api_gc_orphan_dependents(api, obj);
		finish_finalizer(api, r, obj, GC_FINALIZER_ORPHAN);
	}
	if (has_finalizer(obj, GC_FINALIZER_FOREGROUND)) {
		GcWalk w = { .api = api, .fn = foreground_dependent, .acts = true };
		for_each_dependent(&w, obj);
		finish_finalizer(api, r, obj, GC_FINALIZER_FOREGROUND);
	}
}

void api_gc_owners_recheck(Api *api, const json_t *obj)
{
	const char *ns = api_meta_str(obj, "namespace");
	if (gc_depth >= GC_MAX_DEPTH)
		return;
	gc_depth++;
	size_t i;
	json_t *ref;
	json_array_foreach(json_path(obj, "metadata.ownerReferences"), i, ref) {
		const ApiResource *r = api_resource_by_kind(api, json_str(ref, "apiVersion") ?: "", json_str(ref, "kind") ?: "");
		const char *name = json_str(ref, "name"), *uid = json_str(ref, "uid");
		_cleanup_json_ json_t *owner = NULL;
		if (!r || !name || !uid || (r->namespaced && !ns) ||
		    api_load(api, r, r->namespaced ? ns : NULL, name, &owner, NULL) < 0)
			continue;
		if (!strcmp(api_meta_str(owner, "uid") ?: "", uid) && waiting_for_dependents(owner))
			finish_finalizer(api, r, owner, GC_FINALIZER_FOREGROUND);
	}
	gc_depth--;
}

/* The sweep's look at one object (of r): finalizer work left undone, or
 * owners gone while it stayed. */
static void sweep_object(Api *api, const ApiResource *r, const json_t *obj, json_t *memo)
{
	if (deleting(obj))
		api_gc_process_deleting(api, r, obj);
	else if (json_array_size(json_path(obj, "metadata.ownerReferences")))
		attempt_delete(api, r, obj, NULL, memo);
}

static bool span_has(const char *s, const char *e, const char *what)
{
	return memmem(s, (size_t)(e - s), what, strlen(what)) != NULL;
}

/* Does the cached object need the collector?  Marked for deletion with one
 * of its finalizers, or an owner that is not there (as the store has it:
 * memo keeps the answers by uid).  Read from the text: only the metadata
 * members involved are decoded, so owned objects (every pod of a
 * ReplicaSet) cost a scan, not a parse. */
static bool sweep_needed(Api *api, const CacheObj *o, json_t *memo)
{
	const char *ms, *me, *vs, *ve;
	if (!span_has(o->raw, o->raw + o->raw_len, "\"ownerReferences\"") &&
	    !span_has(o->raw, o->raw + o->raw_len, "\"deletionTimestamp\""))
		return false;
	if (cache_json_member(o->raw, o->raw + o->raw_len, "metadata", &ms, &me) < 0)
		return false;
	if (cache_json_member(ms, me, "deletionTimestamp", &vs, &ve) == 0)
		return cache_json_member(ms, me, "finalizers", &vs, &ve) == 0 &&
		       (span_has(vs, ve, "\"" GC_FINALIZER_FOREGROUND "\"") || span_has(vs, ve, "\"" GC_FINALIZER_ORPHAN "\""));
	if (cache_json_member(ms, me, "ownerReferences", &vs, &ve) < 0)
		return false;
	_cleanup_json_ json_t *refs = json_loadb(vs, (size_t)(ve - vs), 0, NULL);
	_cleanup_json_ json_t *ns = NULL;
	if (cache_json_member(ms, me, "namespace", &ms, &me) == 0)
		ns = json_loadb(ms, (size_t)(me - ms), JSON_DECODE_ANY, NULL);
	size_t i;
	json_t *ref;
	json_array_foreach(refs, i, ref)
		if (owner_state(api, ref, json_string_value(ns), memo) != OWNER_SOLID)
			return true;
	return false;
}

void api_gc_sweep(Api *api)
{
	_cleanup_json_ json_t *memo = json_object();
	bool cached = api->cache && api_cache_sync(api->cache, 3000) == 0;
	size_t n;
	_cleanup_free_ const ApiResource **all = api_resources_all(api, &n);
	for (size_t i = 0; i < n && !api->stopping; i++) {
		_cleanup_free_ char *prefix = api_resource_key(all[i], NULL, NULL);
		_cleanup_json_ json_t *items = json_array();
		if (cached) {
			CacheObj **objs = NULL;
			size_t m = 0;
			int64_t rev;
			bool more;
			api_cache_list(api->cache, prefix, NULL, 0, &objs, &m, &rev, &more);
			for (size_t j = 0; j < m; j++)
				if (sweep_needed(api, objs[j], memo))
					json_array_append_new(items, cache_obj_decode(objs[j]));
			api_cache_objs_free(objs, m);
		} else {
			int64_t rev;
			bool more;
			if (api_list_objects(api, prefix, NULL, NULL, 0, 0, NULL, items, &rev, NULL, &more) < 0)
				continue;
		}
		size_t j;
		json_t *o;
		json_array_foreach(items, j, o)
			sweep_object(api, all[i], o, memo);
	}
}

/* True when obj names owners and none of them is there to keep it: each is
 * gone (by uid; a controller acting on a stale cache created obj after its
 * owner was deleted) or in foreground deletion, waiting for its dependents
 * to go.  The garbage collector deletes such dependents; a create checks it
 * (api_create_object) so they go at once instead of at the next sweep. */
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
		if (!r || !json_str(ref, "name") || !json_str(ref, "uid"))
			return false; /* an owner we cannot look up: keep the object */
		if (owner_state(api, ref, r->namespaced ? ns : NULL, NULL) == OWNER_SOLID)
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

/* ---- namespace deletion: the namespace controller's work ----
 *
 * DELETE marks the namespace (deletionTimestamp, phase Terminating; its
 * spec.finalizers keeps "kubernetes") and runs a pass at once; every removal
 * of an object from a terminating namespace runs another (api_delete_now ->
 * api_namespace_content_removed), and the 15 s sweep looks at every
 * terminating namespace.  A pass deletes what is not yet being deleted as a
 * client's DELETE would (pods gracefully, objects with finalizers only
 * marked), writes the status conditions of Kubernetes' namespace controller
 * and, once nothing is left, removes the "kubernetes" finalizer; with no
 * finalizer left the namespace goes. */

#define NS_FINALIZER "kubernetes"

static __thread int ns_pass_depth;

static const struct {
	const char *type, *ok_reason, *ok_message, *bad_reason;
} ns_condition_kinds[] = {
	{ "NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered", "All resources successfully discovered",
	  "DiscoveryFailed" },
	{ "NamespaceDeletionGroupVersionParsingFailure", "ParsedGroupVersions",
	  "All legacy kube types successfully parsed", "GroupVersionParsingFailed" },
	{ "NamespaceDeletionContentFailure", "ContentDeleted",
	  "All content successfully deleted, may be waiting on finalization", "ContentDeletionFailed" },
	{ "NamespaceContentRemaining", "ContentRemoved", "All content successfully removed", "SomeResourcesRemain" },
	{ "NamespaceFinalizersRemaining", "ContentHasNoFinalizers", "All content-preserving finalizers finished",
	  "SomeFinalizersRemain" },
};

bool api_namespace_immortal(const char *name)
{
	static const char *const immortal[] = { "default", "kube-system", "kube-public" };
	for (size_t i = 0; i < ARRAY_SIZE(immortal); i++)
		if (!strcmp(name ?: "", immortal[i]))
			return true;
	return false;
}

static bool spec_has_finalizer(const json_t *ns, const char *f)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_path(ns, "spec.finalizers"), i, v)
		if (!strcmp(json_string_value(v) ?: "", f))
			return true;
	return false;
}

static const ApiResource *namespaces_resource(Api *api)
{
	return api_resource_find(api, "", NULL, "namespaces");
}

/* Is the cached object marked for deletion?  Read from the text. */
static bool cached_deleting(const CacheObj *o)
{
	const char *ms, *me, *vs, *ve;
	if (cache_json_member(o->raw, o->raw + o->raw_len, "metadata", &ms, &me) < 0)
		return false;
	return cache_json_member(ms, me, "deletionTimestamp", &vs, &ve) == 0;
}

/* The objects of r in namespace ns not yet marked for deletion (new
 * reference): from the watch cache when it has every committed write
 * (cached; the marked ones are skipped on their text), else the store. */
static json_t *namespace_live_objects(Api *api, const ApiResource *r, const char *ns, bool cached)
{
	json_t *items = json_array();
	_cleanup_free_ char *prefix = api_resource_key(r, ns, NULL);
	if (cached) {
		CacheObj **objs = NULL;
		size_t m = 0;
		int64_t rev;
		bool more;
		api_cache_list(api->cache, prefix, NULL, 0, &objs, &m, &rev, &more);
		for (size_t j = 0; j < m; j++)
			if (!cached_deleting(objs[j]))
				json_array_append_new(items, cache_obj_decode(objs[j]));
		api_cache_objs_free(objs, m);
		return items;
	}
	_cleanup_json_ json_t *all = json_array();
	int64_t rev;
	bool more;
	api_list_objects(api, prefix, NULL, NULL, 0, 0, NULL, all, &rev, NULL, &more);
	size_t j;
	json_t *o;
	json_array_foreach(all, j, o)
		if (!deleting(o))
			json_array_append(items, o);
	return items;
}

static void count_finalizers(json_t *fins, const json_t *list)
{
	size_t k;
	json_t *f;
	json_array_foreach(list, k, f)
		if (json_is_string(f))
			json_object_set_new(fins, json_string_value(f),
					    json_integer(json_integer_value(json_object_get(fins, json_string_value(f))) + 1));
}

/* How many objects of r are left in namespace ns; their finalizers are
 * counted into fins (finalizer -> objects).  From the cache only the
 * finalizers' text is decoded. */
static size_t namespace_left(Api *api, const ApiResource *r, const char *ns, bool cached, json_t *fins)
{
	_cleanup_free_ char *prefix = api_resource_key(r, ns, NULL);
	size_t n = 0;
	if (cached) {
		CacheObj **objs = NULL;
		size_t m = 0;
		int64_t rev;
		bool more;
		api_cache_list(api->cache, prefix, NULL, 0, &objs, &m, &rev, &more);
		for (size_t j = 0; j < m; j++) {
			const char *ms, *me, *vs, *ve;
			const CacheObj *o = objs[j];
			if (cache_json_member(o->raw, o->raw + o->raw_len, "metadata", &ms, &me) == 0 &&
			    cache_json_member(ms, me, "finalizers", &vs, &ve) == 0) {
				_cleanup_json_ json_t *list = json_loadb(vs, (size_t)(ve - vs), 0, NULL);
				count_finalizers(fins, list);
			}
		}
		api_cache_objs_free(objs, m);
		return m;
	}
	_cleanup_json_ json_t *items = json_array();
	int64_t rev;
	bool more;
	api_list_objects(api, prefix, NULL, NULL, 0, 0, NULL, items, &rev, NULL, &more);
	size_t j;
	json_t *o;
	json_array_foreach(items, j, o) {
		n++;
		count_finalizers(fins, json_path(o, "metadata.finalizers"));
	}
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "prefix" + the entries of counts (key -> n) as Kubernetes words them
 * (objects left per resource, or per finalizer), sorted, ", "-joined. */
static char *counts_message(const char *prefix, const json_t *counts, bool finalizers)
{
	size_t n = json_object_size(counts), i = 0;
	_cleanup_free_ char **parts = xcalloc(n + 1, sizeof(*parts));
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)counts, k, v)
		parts[i++] = finalizers ? xasprintf("%s in %lld resource instances", k, (long long)json_integer_value(v)) :
				      xasprintf("%s has %lld resource instances", k, (long long)json_integer_value(v));
	qsort(parts, n, sizeof(*parts), cmp_str);
	StrBuf sb = STRBUF_INIT;
	sb_adds(&sb, prefix);
	for (i = 0; i < n; i++) {
		sb_addf(&sb, "%s%s", i ? ", " : "", parts[i]);
		free(parts[i]);
	}
	return sb_detach(&sb);
}

/* The five conditions for what a pass found (failed: the deletes that
 * failed, remaining: "resource.group" -> objects left, fins: finalizer ->
 * objects holding it), keeping the transition time of those unchanged in
 * old.  New reference. */
static json_t *namespace_conditions(const json_t *old, const json_t *failed, const json_t *remaining,
				    const json_t *fins)
{
	char now[40];
	api_now_rfc3339(now, sizeof(now));
	json_t *out = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(ns_condition_kinds); i++) {
		_cleanup_free_ char *bad = NULL;
		if (i == 2 && json_array_size(failed)) {
			StrBuf sb = STRBUF_INIT;
			sb_addf(&sb, "Failed to delete all resource types, %zu remaining: ", json_array_size(failed));
			size_t j;
			json_t *e;
			json_array_foreach((json_t *)failed, j, e)
				sb_addf(&sb, "%s%s", j ? ", " : "", json_string_value(e));
			bad = sb_detach(&sb);
		} else if (i == 3 && json_object_size(remaining)) {
			bad = counts_message("Some resources are remaining: ", remaining, false);
		} else if (i == 4 && json_object_size(fins)) {
			bad = counts_message("Some content in the namespace has finalizers remaining: ", fins, true);
		}
		const char *status = bad ? "True" : "False";
		const char *reason = bad ? ns_condition_kinds[i].bad_reason : ns_condition_kinds[i].ok_reason;
		const char *message = bad ? bad : ns_condition_kinds[i].ok_message;
		const char *since = now;
		size_t j;
		json_t *c;
		json_array_foreach((json_t *)old, j, c)
			if (!strcmp(json_str(c, "type") ?: "", ns_condition_kinds[i].type) &&
			    !strcmp(json_str(c, "status") ?: "", status) && !strcmp(json_str(c, "reason") ?: "", reason) &&
			    !strcmp(json_str(c, "message") ?: "", message) && json_str(c, "lastTransitionTime"))
				since = json_str(c, "lastTransitionTime");
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", ns_condition_kinds[i].type,
						     "status", status, "lastTransitionTime", since, "reason", reason,
						     "message", message));
	}
	return out;
}

/* Write conds into the terminating namespace name (uid) and, when finalize,
 * drop its "kubernetes" finalizer; with no finalizer left it is removed.
 * A compare-and-swap, read again on a conflict. */
static void namespace_write_status(Api *api, const char *name, const char *uid, const json_t *conds, bool finalize)
{
	const ApiResource *r = namespaces_resource(api);
	_cleanup_free_ char *key = api_resource_key(r, NULL, name);
	for (int attempt = 0; attempt < GC_RETRIES; attempt++) {
		_cleanup_json_ json_t *cur = NULL;
		int64_t rev;
		if (api_load(api, r, NULL, name, &cur, &rev) < 0 || strcmp(api_meta_str(cur, "uid") ?: "", uid) ||
		    !deleting(cur))
			return;
		json_t *st = json_obj_ensure(cur, "status");
		bool changed = !json_equal(json_object_get(st, "conditions"), (json_t *)conds);
		if (changed)
			json_object_set(st, "conditions", (json_t *)conds);
		json_t *fins = json_path(cur, "spec.finalizers");
		for (size_t i = json_array_size(fins); finalize && i-- > 0;)
			if (!strcmp(json_string_value(json_array_get(fins, i)) ?: "", NS_FINALIZER)) {
				json_array_remove(fins, i);
				changed = true;
			}
		if (fins && !json_array_size(fins))
			json_object_del(json_object_get(cur, "spec"), "finalizers");
		bool done = !json_array_size(json_path(cur, "spec.finalizers")) &&
			    !json_array_size(json_path(cur, "metadata.finalizers"));
		if (changed) {
			size_t len;
			_cleanup_free_ char *val = api_object_encode(cur, &len);
			int rc = store_update(api->store, key, val, len, rev, NULL, NULL);
			if (rc == -ESTALE)
				continue;
			if (rc < 0)
				return;
		}
		if (done)
			api_delete_now(api, r, NULL, name, "Background", NULL);
		return;
	}
}

static void namespace_pass_run(Api *api, const char *name)
{
	_cleanup_json_ json_t *ns = NULL;
	const ApiResource *nsr = namespaces_resource(api);
	if (!nsr || api_load(api, nsr, NULL, name, &ns, NULL) < 0 || !deleting(ns))
		return;
	if (!spec_has_finalizer(ns, NS_FINALIZER)) {
		/* finalized by someone else: it goes when no finalizer is left */
		if (!json_array_size(json_path(ns, "spec.finalizers")) &&
		    !json_array_size(json_path(ns, "metadata.finalizers")))
			api_delete_now(api, nsr, NULL, name, "Background", NULL);
		return;
	}
	size_t n;
	_cleanup_free_ const ApiResource **all = api_resources_all(api, &n);
	_cleanup_json_ json_t *failed = json_array(), *remaining = json_object(), *fins = json_object();
	bool cached = api->cache && api_cache_sync(api->cache, 3000) == 0;
	for (size_t i = 0; i < n && !api->stopping; i++) {
		if (!all[i]->namespaced)
			continue;
		_cleanup_json_ json_t *items = namespace_live_objects(api, all[i], name, cached);
		size_t j;
		json_t *o;
		json_array_foreach(items, j, o) {
			const char *oname = api_meta_str(o, "name");
			int rc = api_delete_as_client(api, all[i], name, oname, api_meta_str(o, "uid"), "Background");
			if (rc == -EIO) {
				_cleanup_free_ char *what = xasprintf("%s \"%s\" could not be deleted", all[i]->resource,
								      oname ?: "");
				json_array_append_new(failed, json_string(what));
			}
		}
	}
	/* what is left once the deletes are done */
	cached = api->cache && api_cache_sync(api->cache, 3000) == 0;
	for (size_t i = 0; i < n; i++) {
		if (!all[i]->namespaced)
			continue;
		size_t left = namespace_left(api, all[i], name, cached, fins);
		if (!left)
			continue;
		_cleanup_free_ char *gr = xasprintf("%s.%s", all[i]->resource, all[i]->group);
		json_object_set_new(remaining, gr, json_integer((json_int_t)left));
	}
	if (api->stopping)
		return;
	_cleanup_json_ json_t *conds = namespace_conditions(json_path(ns, "status.conditions"), failed, remaining, fins);
	namespace_write_status(api, name, api_meta_str(ns, "uid") ?: "", conds, !json_object_size(remaining));
}

/* One pass of the namespace controller over the terminating namespace name. */
static void namespace_pass(Api *api, const char *name)
{
	if (ns_pass_depth)
		return;  /* removals by this pass are counted by it */
	ns_pass_depth++;
	namespace_pass_run(api, name);
	ns_pass_depth--;
}

void api_namespace_content_removed(Api *api, const char *ns)
{
	if (ns_pass_depth || !ns)
		return;
	const ApiResource *nsr = namespaces_resource(api);
	if (!nsr)
		return;
	bool terminating = false;
	if (api->cache) {
		/* the namespace as the watch cache has it: a scan, no decode */
		_cleanup_free_ char *key = api_resource_key(nsr, NULL, ns);
		CacheObj *o = api_cache_get(api->cache, key);
		if (!o)
			return;
		terminating = span_has(o->raw, o->raw + o->raw_len, "\"deletionTimestamp\"");
		cache_obj_unref(o);
	} else {
		_cleanup_json_ json_t *obj = NULL;
		terminating = api_load(api, nsr, NULL, ns, &obj, NULL) == 0 && deleting(obj);
	}
	if (terminating)
		namespace_pass(api, ns);
}

void api_namespaces_sweep(Api *api)
{
	const ApiResource *nsr = namespaces_resource(api);
	if (!nsr)
		return;
	_cleanup_free_ char *prefix = api_resource_key(nsr, NULL, NULL);
	_cleanup_json_ json_t *items = json_array();
	int64_t rev;
	bool more;
	if (api_list_objects(api, prefix, NULL, NULL, 0, 0, NULL, items, &rev, NULL, &more) < 0)
		return;
	size_t i;
	json_t *o;
	json_array_foreach(items, i, o)
		if (deleting(o) && !api->stopping)
			namespace_pass(api, api_meta_str(o, "name"));
}

int api_check_namespace_create(Api *api, const ApiRequest *req, const json_t *obj, ApiResponse *resp)
{
	int r = api_check_namespace(api, req->ns, resp);
	if (r != -EPERM)
		return r;
	/* as kube-apiserver's NamespaceLifecycle admission words it */
	char gr[300];
	api_group_resource(req, gr, sizeof(gr));
	const char *name = api_meta_str(obj, "name");
	_cleanup_free_ char *msg =
		name && *name ? xasprintf("%s \"%s\" is forbidden: unable to create new content in namespace %s because "
					  "it is being terminated", gr, name, req->ns) :
				xasprintf("%s is forbidden: unable to create new content in namespace %s because it is "
					  "being terminated", gr, req->ns);
	_cleanup_free_ char *why = xasprintf("namespace %s is being terminated", req->ns);
	json_t *d = json_pack("{s:s, s:s, s:[{s:s, s:s, s:s}]}", "name", name ?: "", "kind", req->res->resource, "causes",
			      "reason", "NamespaceTerminating", "message", why, "field", "metadata.namespace");
	if (req->res->group[0])
		json_object_set_new(d, "group", json_string(req->res->group));
	api_respond_json(resp, 403, api_status(403, "Forbidden", msg, d));
	return r;
}

/* DELETE of a namespace: the first marks it and runs a pass; another while
 * its content is being removed is a conflict, as in Kubernetes; once it is
 * finalized (spec.finalizers empty) it goes with its metadata finalizers. */
void api_namespace_delete(Api *api, ApiRequest *req, ApiResponse *resp, json_t *ns)
{
	const char *name = api_meta_str(ns, "name");
	_cleanup_free_ char *key = api_resource_key(req->res, NULL, name);
	_cleanup_json_ json_t *cur = json_incref(ns);
	for (int attempt = 0; attempt < GC_RETRIES; attempt++) {
		if (attempt) {
			json_decref(TAKE_PTR(cur));
			int rc = api_load(api, req->res, NULL, name, &cur, NULL);
			if (rc < 0) {
				api_store_error(resp, req, rc, name, NULL);
				return;
			}
		}
		json_t *meta = json_obj_ensure(cur, "metadata");
		if (json_object_get(meta, "deletionTimestamp")) {
			if (json_array_size(json_path(cur, "spec.finalizers"))) {
				_cleanup_free_ char *msg = xasprintf(
					"Operation cannot be fulfilled on namespaces \"%s\": The system is ensuring all "
					"content is removed from this namespace.  Upon completion, this namespace will "
					"automatically be purged by the system.", name);
				api_respond_json(resp, 409, api_status(409, "Conflict", msg, json_pack("{s:s, s:s}", "name",
													   name, "kind", "namespaces")));
				return;
			}
			json_t *gone = NULL;
			if (!json_array_size(json_object_get(meta, "finalizers")) &&
			    api_delete_now(api, req->res, NULL, name, "Background", &gone) == 0 && gone) {
				api_respond_json(resp, 200, gone);
				return;
			}
			api_respond_json(resp, 200, json_incref(cur));
			return;
		}
		char now[40];
		api_now_rfc3339(now, sizeof(now));
		json_object_set_new(meta, "deletionTimestamp", json_string(now));
		json_object_set_new(json_obj_ensure(cur, "status"), "phase", json_string("Terminating"));
		int64_t rev = 0, nrev;
		parse_int64(api_meta_str(cur, "resourceVersion") ?: "0", &rev);
		size_t len;
		_cleanup_free_ char *val = api_object_encode(cur, &len);
		int rc = store_update(api->store, key, val, len, rev, &nrev, NULL);
		if (rc == -ESTALE)
			continue;
		if (rc < 0) {
			api_store_error(resp, req, rc, name, NULL);
			return;
		}
		api_object_set_rv(cur, nrev);
		api_respond_json(resp, 200, json_incref(cur));
		namespace_pass(api, name);
		return;
	}
	api_store_error(resp, req, -ESTALE, name, NULL);
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
