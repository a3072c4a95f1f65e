/* update.c - the write half of the generic REST handlers: update (PUT),
 * patch (PATCH, retried on a concurrent write unless the patch pins a
 * resourceVersion), the status and scale subresources, delete with
 * finalizers and propagation policies, graceful pod deletion,
 * deletecollection, and namespaces/NAME/finalize.  The garbage collector
 * (gc.c) deletes dependents through the same DELETE path
 * (api_delete_as_client); every removal from the store (api_delete_now)
 * continues the cascade, wakes foreground owners and terminating
 * namespaces, and an update that drops a blocking ownerReference wakes
 * the owner too.
 *
 * Every write is a compare-and-swap on the revision read, so two writers
 * never lose each other's changes: the loser gets 409 Conflict (PUT with a
 * resourceVersion) or is retried against the new state (PATCH).
 */
#include "api-internal.h"
#include "handlers.h"
#include "gc.h"
#include "../base/cleanup.h"
#include "../base/parse.h"
#include "../base/strbuf.h"
#include "../shared/yaml.h"
#include <string.h>
#include <time.h>

#define PATCH_RETRIES 8

bool api_sub_allowed(const ApiResource *r, const char *sub)
{
	const char *p = r->subresources;
	size_t n = strlen(sub);
	while (p && *p) {
		size_t l = strcspn(p, ",");
		if (l == n && !strncmp(p, sub, n))
			return true;
		p += l;
		if (*p == ',')
			p++;
	}
	return false;
}

static const char *rv_of(const json_t *obj)
{
	return api_meta_str(obj, "resourceVersion");
}

json_t *api_scale_from(const json_t *obj)
{
	const json_t *m = json_object_get(obj, "metadata");
	json_t *sel = json_path(obj, "spec.selector");
	StrBuf sb = STRBUF_INIT;
	const char *k;
	json_t *v;
	json_object_foreach(json_is_object(json_object_get(sel, "matchLabels")) ? json_object_get(sel, "matchLabels") : sel,
			    k, v)
		if (json_is_string(v))
			sb_addf(&sb, "%s%s=%s", sb.len ? "," : "", k, json_string_value(v));
	json_t *s = json_pack("{s:s, s:s, s:{s:s?, s:s?, s:s?, s:s?, s:s?}, s:{s:I}, s:{s:I, s:s}}", "kind", "Scale",
			      "apiVersion", "autoscaling/v1", "metadata", "name", json_str(m, "name"), "namespace",
			      json_str(m, "namespace"), "uid", json_str(m, "uid"), "resourceVersion",
			      json_str(m, "resourceVersion"), "creationTimestamp", json_str(m, "creationTimestamp"),
			      "spec", "replicas", (json_int_t)json_int(json_object_get(obj, "spec"), "replicas", 1),
			      "status", "replicas", (json_int_t)json_int(json_object_get(obj, "status"), "replicas", 0),
			      "selector", sb.buf);
	sb_release(&sb);
	return s;
}

static bool spec_changed(const json_t *a, const json_t *b)
{
	_cleanup_json_ json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
	json_object_del(x, "metadata");
	json_object_del(x, "status");
	json_object_del(y, "metadata");
	json_object_del(y, "status");
	return !json_equal(x, y);
}

static bool is_namespaces(const ApiResource *r)
{
	return !r->group[0] && !strcmp(r->resource, "namespaces");
}

/* PUT/PATCH namespaces/NAME/finalize changes spec.finalizers alone (the
 * namespace controller's last step, or a user forcing a stuck namespace
 * out): the rest of obj is ignored.  New reference. */
static json_t *finalize_merge(const json_t *cur, const json_t *obj)
{
	json_t *merged = json_deep_copy(cur);
	json_t *fins = json_path(obj, "spec.finalizers");
	if (json_array_size(fins))
		json_object_set(json_obj_ensure(merged, "spec"), "finalizers", fins);
	else
		json_object_del(json_object_get(merged, "spec"), "finalizers");
	return merged;
}

/* Carry over what a client may not change (identity, timestamps, status). */
static void preserve_fields(const ApiRequest *req, const json_t *cur, json_t *obj)
{
	json_t *m = json_obj_ensure(obj, "metadata");
	const json_t *cm = json_object_get(cur, "metadata");
	static const char *const keep[] = { "uid", "creationTimestamp", "namespace", "deletionTimestamp",
					    "deletionGracePeriodSeconds", "generation" };
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		json_t *v = json_object_get(cm, keep[i]);
		if (v)
			json_object_set(m, keep[i], v);
		else
			json_object_del(m, keep[i]);
	}
	bool status_sub = req->sub && !strcmp(req->sub, "status");
	if (req->res->has_status && !status_sub) {
		json_t *st = json_object_get(cur, "status");
		if (st)
			json_object_set(obj, "status", st);
		else
			json_object_del(obj, "status");
	}
	if (json_object_get(cm, "generation") && spec_changed(cur, obj))
		json_object_set_new(m, "generation", json_integer(json_int(cm, "generation", 1) + 1));
	if (!strcmp(req->res->resource, "services")) {
		/* clusterIP and nodePorts survive an apply that does not mention them */
		json_t *spec = json_object_get(obj, "spec");
		const json_t *cspec = json_object_get(cur, "spec");
		if (json_is_object(spec) && !json_str(spec, "clusterIP") && json_str(cspec, "clusterIP")) {
			json_object_set(spec, "clusterIP", json_object_get(cspec, "clusterIP"));
			json_object_set(spec, "clusterIPs", json_object_get(cspec, "clusterIPs"));
		}
	}
}

/* Kubernetes' immutable fields of the served kinds. */
static void check_immutable(const ApiRequest *req, const json_t *cur, const json_t *obj, json_t *causes)
{
	const char *res = req->res->resource;
	if (!strcmp(req->res->group, "apps") && strcmp(res, "controllerrevisions")) {
		json_t *a = json_path(cur, "spec.selector"), *b = json_path(obj, "spec.selector");
		if (a && b && !json_equal(a, b))
			api_cause(causes, "FieldValueInvalid", "spec.selector", "Invalid value: %s: field is immutable",
				  "v1.LabelSelector{...}");
	}
	if (!strcmp(res, "services")) {
		const char *a = json_str(json_object_get(cur, "spec"), "clusterIP");
		const char *b = json_str(json_object_get(obj, "spec"), "clusterIP");
		if (a && b && *a && strcmp(a, b))
			api_cause(causes, "FieldValueInvalid", "spec.clusterIPs[0]", "Invalid value: []string{\"%s\"}: may "
				  "not change once set", b);
	}
	if ((!strcmp(res, "configmaps") || !strcmp(res, "secrets")) && json_is_true(json_object_get(cur, "immutable"))) {
		json_t *a = json_object_get(cur, "data"), *b = json_object_get(obj, "data");
		if ((a || b) && !(a && b && json_equal(a, b)))
			api_cause(causes, "Forbidden", "data", "Forbidden: field is immutable when `immutable` is set");
	}
}

/* Write obj over cur (read at cur_rev).  retry: return -ESTALE silently. */
/* A uid in the body is a precondition, as kube-apiserver treats it: a
 * different one fails with 409 and nothing is written. */
static int check_uid_precondition(const ApiRequest *req, ApiResponse *resp, const json_t *cur, const json_t *obj)
{
	const char *want = json_str(json_object_get(obj, "metadata"), "uid"), *have = api_meta_str(cur, "uid");
	if (!want || !*want || !have || !strcmp(want, have))
		return 0;
	char gr[300];
	api_group_resource(req, gr, sizeof(gr));
	_cleanup_free_ char *msg = xasprintf("Operation cannot be fulfilled on %s \"%s\": Precondition failed: UID in "
					     "precondition: %s, UID in object meta: %s", gr, req->name, want, have);
	json_t *d = json_pack("{s:s, s:s}", "name", req->name, "kind", req->res->resource);
	if (req->res->group[0])
		json_object_set_new(d, "group", json_string(req->res->group));
	api_respond_json(resp, 409, api_status(409, "Conflict", msg, d));
	return -ESTALE;
}

static int update_object(Api *api, ApiRequest *req, ApiResponse *resp, const json_t *cur, int64_t cur_rev,
			 json_t *obj, bool retry)
{
	if (check_uid_precondition(req, resp, cur, obj) < 0)
		return -EPERM;
	preserve_fields(req, cur, obj);
	if (api_admit(api, req, resp, obj) < 0)
		return -EINVAL;
	_cleanup_json_ json_t *causes = json_array();
	check_immutable(req, cur, obj, causes);
	if (json_array_size(causes)) {
		api_respond_invalid(resp, req, req->name, causes);
		return -EINVAL;
	}
	if (!req->managed_set)
		api_managed_update(req, cur, obj);
	size_t len, clen;
	_cleanup_free_ char *val = api_object_encode(obj, &len);
	_cleanup_json_ json_t *cur_copy = json_deep_copy(cur);
	_cleanup_free_ char *cval = api_object_encode(cur_copy, &clen);
	if (len > BERTH_MAX_API_OBJECT) {
		api_respond_status(resp, 413, "RequestEntityTooLarge", "Request entity too large: limit is %u",
				   BERTH_MAX_API_OBJECT);
		return -E2BIG;
	}
	if (api_param(req, "dryRun") || (len == clen && !memcmp(val, cval, len))) {
		/* a no-op write keeps the resourceVersion, as Kubernetes does */
		api_object_set_rv(obj, cur_rev);
		api_respond_json(resp, 200, json_incref(obj));
		return 0;
	}
	_cleanup_free_ char *key = api_resource_key(req->res, req->ns, req->name);
	_cleanup_err_ Error *err = NULL;
	int64_t rev;
	int r = store_update(api->store, key, val, len, cur_rev, &rev, &err);
	if (r == -ESTALE && retry)
		return r;
	if (r < 0)
		return api_store_error(resp, req, r, req->name, err);
	api_object_set_rv(obj, rev);
	/* a dependent that stopped blocking an owner (its reference removed,
	 * or blockOwnerDeletion false): an owner in foreground deletion may
	 * have waited for it alone */
	if (json_array_size(json_path(cur, "metadata.ownerReferences")) &&
	    !json_equal(json_path(cur, "metadata.ownerReferences"), json_path(obj, "metadata.ownerReferences")))
		api_gc_owners_recheck(api, cur);
	/* the last finalizer gone: the object goes (a namespace only once its
	 * spec.finalizers are empty too, as kube-apiserver decides) */
	if (json_path(obj, "metadata.deletionTimestamp") && !json_array_size(json_path(obj, "metadata.finalizers")) &&
	    json_int(json_object_get(obj, "metadata"), "deletionGracePeriodSeconds", 0) == 0 &&
	    !(is_namespaces(req->res) && json_array_size(json_path(obj, "spec.finalizers")))) {
		json_t *gone = NULL;
		if (api_delete_now(api, req->res, req->ns, req->name, NULL, &gone) == 0 && gone) {
			api_respond_json(resp, 200, gone);
			return 0;
		}
	}
	if (!strcmp(req->res->resource, "customresourcedefinitions"))
		api_crd_refresh(api);
	api_respond_json(resp, 200, json_incref(obj));
	return 0;
}

/* PUT/PATCH on .../scale: the new replica count lands in the parent's spec. */
static int scale_write(Api *api, ApiRequest *req, ApiResponse *resp, json_t *cur, int64_t cur_rev,
		       const json_t *scale, bool retry)
{
	json_t *rep = json_path(scale, "spec.replicas");
	if (rep && (!json_is_integer(rep) || json_integer_value(rep) < 0)) {
		_cleanup_json_ json_t *causes = json_array();
		api_cause(causes, "FieldValueInvalid", "spec.replicas", "Invalid value: %lld: must be greater than or "
			  "equal to 0", (long long)json_integer_value(rep));
		api_respond_invalid(resp, req, req->name, causes);
		return -EINVAL;
	}
	const char *want_rv = rv_of(scale);
	if (want_rv && *want_rv && strcmp(want_rv, rv_of(cur) ?: ""))
		return api_store_error(resp, req, -ESTALE, req->name, NULL);
	_cleanup_json_ json_t *obj = json_deep_copy(cur);
	if (rep)
		json_object_set(json_obj_ensure(obj, "spec"), "replicas", rep);
	/* managedFields as the scale subresource's: an Apply computed them already
	 * (scale carries them), an Update records spec.replicas under "scale" */
	json_t *mf = json_path(scale, "metadata.managedFields");
	if (req->managed_set && mf)
		json_object_set(json_obj_ensure(obj, "metadata"), "managedFields", mf);
	else
		api_managed_update(req, cur, obj);
	ApiRequest sub = *req;
	sub.sub = NULL;
	sub.managed_set = true;
	int r = update_object(api, &sub, resp, cur, cur_rev, obj, retry);
	if (r == 0 && resp->status == 200) {
		api_object_set_rv(obj, 0);
		_cleanup_json_ json_t *stored = json_loadb(resp->body, resp->len, 0, NULL);
		api_respond_json(resp, 200, api_scale_from(stored));
	}
	return r;
}

void api_handle_update(Api *api, ApiRequest *req, ApiResponse *resp)
{
	_cleanup_json_ json_t *obj = api_body_object(req, resp);
	if (!obj)
		return;
	json_t *cur;
	int64_t cur_rev;
	int r = api_load(api, req->res, req->ns, req->name, &cur, &cur_rev);
	if (r < 0) {
		api_store_error(resp, req, r, req->name, NULL);
		return;
	}
	_cleanup_json_ json_t *cur_ref = cur;
	if (req->sub && !strcmp(req->sub, "scale")) {
		scale_write(api, req, resp, cur, cur_rev, obj, false);
		return;
	}
	_cleanup_free_ char *av = api_resource_api_version(req->res);
	if (api_check_kind(req, resp, obj, req->res->kind, av) < 0)
		return;
	const char *name = api_meta_str(obj, "name");
	if (name && strcmp(name, req->name)) {
		api_respond_status(resp, 400, "BadRequest", "the name of the object (%s) does not match the name on the "
				   "URL (%s)", name, req->name);
		return;
	}
	json_object_set_new(json_obj_ensure(obj, "metadata"), "name", json_string(req->name));
	const char *rv = rv_of(obj);
	if (rv && *rv && strcmp(rv, rv_of(cur) ?: "")) {
		api_store_error(resp, req, -ESTALE, req->name, NULL);
		return;
	}
	if (req->sub && !strcmp(req->sub, "status")) {
		/* only status changes through the status subresource */
		json_t *st = json_object_get(obj, "status");
		json_t *merged = json_deep_copy(cur);
		if (st)
			json_object_set(merged, "status", st);
		json_decref(obj);
		obj = merged;
	} else if (req->sub && !strcmp(req->sub, "finalize")) {
		json_t *merged = finalize_merge(cur, obj);
		json_decref(obj);
		obj = merged;
	}
	update_object(api, req, resp, cur, cur_rev, obj, false);
}

/* The applied configuration of a server-side apply: JSON or YAML, an object
 * of the resource's kind; NULL after answering 400. */
static json_t *apply_body(const ApiRequest *req, ApiResponse *resp)
{
	json_t *obj = json_loadb(req->body ? req->body : "", req->body_len, 0, NULL);
	_cleanup_err_ Error *err = NULL;
	if (!obj && yaml_parse_buf(req->body ? req->body : "", req->body_len, &obj, &err) < 0) {
		api_respond_status(resp, 400, "BadRequest", "error decoding YAML: %s", err_msg(err));
		return NULL;
	}
	if (!json_is_object(obj) || (json_object_get(obj, "metadata") && !json_is_object(json_object_get(obj, "metadata")))) {
		json_decref(obj);
		api_respond_status(resp, 400, "BadRequest", "the applied configuration must be an object");
		return NULL;
	}
	_cleanup_free_ char *av = api_resource_api_version(req->res);
	const char *name = api_meta_str(obj, "name");
	if (!name || strcmp(name, req->name)) {
		api_respond_status(resp, 400, "BadRequest", "the name of the object (%s) does not match the name on the "
				   "URL (%s)", name ? name : "", req->name);
		json_decref(obj);
		return NULL;
	}
	/* on scale, the parent's manifest (kubectl) or an autoscaling/v1 Scale */
	bool scale_kind = req->sub && !strcmp(req->sub, "scale") && !strcmp(json_str(obj, "kind") ?: "", "Scale") &&
			  !strcmp(json_str(obj, "apiVersion") ?: "", "autoscaling/v1");
	if (!scale_kind && api_check_kind(req, resp, obj, req->res->kind, av) < 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

void api_handle_patch(Api *api, ApiRequest *req, ApiResponse *resp)
{
	if (req->body_len > BERTH_MAX_API_OBJECT) {
		api_respond_status(resp, 413, "RequestEntityTooLarge", "Request entity too large: limit is %u",
				   BERTH_MAX_API_OBJECT);
		return;
	}
	bool apply = req->content_type && str_has_prefix(req->content_type, "application/apply-patch");
	for (int attempt = 0; attempt < PATCH_RETRIES; attempt++) {
		json_t *cur;
		int64_t cur_rev;
		int r = api_load(api, req->res, req->ns, req->name, &cur, &cur_rev);
		if (r == -ENOENT && apply) {
			_cleanup_json_ json_t *body = apply_body(req, resp);
			if (!body || (req->res->namespaced && api_check_namespace_create(api, req, body, resp) < 0))
				return;
			_cleanup_json_ json_t *obj = api_managed_apply(req, NULL, body, resp);
			if (obj)
				api_create_object(api, req, resp, obj);
			return;
		}
		if (r < 0) {
			api_store_error(resp, req, r, req->name, NULL);
			return;
		}
		_cleanup_json_ json_t *cur_ref = cur;
		_cleanup_json_ json_t *base = req->sub && !strcmp(req->sub, "scale") ? api_scale_from(cur) : json_incref(cur);
		_cleanup_err_ Error *err = NULL;
		int code;
		_cleanup_json_ json_t *obj = NULL;
		if (apply && !(req->sub && !strcmp(req->sub, "scale"))) {
			_cleanup_json_ json_t *body = apply_body(req, resp);
			if (!body || !(obj = api_managed_apply(req, cur, body, resp)))
				return;
		} else if (apply) {
			/* server-side apply on scale (kubectl apply --server-side --subresource=scale
			 * sends the parent's manifest): only spec.replicas is applied */
			_cleanup_json_ json_t *body = apply_body(req, resp);
			if (!body)
				return;
			json_t *rep = json_path(body, "spec.replicas");
			_cleanup_json_ json_t *applied = rep ? json_pack("{s:{s:O}}", "spec", "replicas", rep) :
							       json_object();
			_cleanup_json_ json_t *merged = api_managed_apply(req, cur, applied, resp);
			if (!merged)
				return;
			obj = json_deep_copy(base);
			if (rep)
				json_object_set(json_obj_ensure(obj, "spec"), "replicas", rep);
			json_object_set(json_obj_ensure(obj, "metadata"), "managedFields",
					json_path(merged, "metadata.managedFields"));
			json_object_del(json_object_get(obj, "metadata"), "resourceVersion");
		} else {
			obj = api_patch_apply(req, base, &code, &err);
		}
		if (!obj || !json_is_object(obj)) {
			if (code == 422) {
				_cleanup_json_ json_t *causes = json_array();
				api_cause(causes, "FieldValueInvalid", "", "%s", err_msg(err));
				api_respond_status(resp, 422, "Invalid", "%s", err_msg(err));
			} else {
				api_respond_status(resp, code, code == 415 ? "UnsupportedMediaType" : "BadRequest", "%s",
						   err ? err_msg(err) : "the patch result is not an object");
			}
			return;
		}
		const char *prv = rv_of(obj);
		bool pinned = prv && *prv && strcmp(prv, rv_of(base) ?: "");
		if (pinned) {
			api_store_error(resp, req, -ESTALE, req->name, NULL);
			return;
		}
		if (req->sub && !strcmp(req->sub, "scale")) {
			r = scale_write(api, req, resp, cur, cur_rev, obj, true);
		} else {
			_cleanup_free_ char *av = api_resource_api_version(req->res);
			if (api_check_kind(req, resp, obj, req->res->kind, av) < 0)
				return;
			json_t *meta = json_obj_ensure(obj, "metadata");
			json_object_set_new(meta, "name", json_string(req->name));
			if (req->sub && !strcmp(req->sub, "status")) {
				json_t *merged = json_deep_copy(cur);
				if (json_object_get(obj, "status"))
					json_object_set(merged, "status", json_object_get(obj, "status"));
				json_decref(obj);
				obj = merged;
			} else if (req->sub && !strcmp(req->sub, "finalize")) {
				json_t *merged = finalize_merge(cur, obj);
				json_decref(obj);
				obj = merged;
			}
			r = update_object(api, req, resp, cur, cur_rev, obj, true);
		}
		if (r != -ESTALE)
			return;
	}
	api_store_error(resp, req, -ESTALE, req->name, NULL);
}

/* ---- delete ---- */

static const char *delete_option(const ApiRequest *req, const json_t *opts, const char *key)
{
	const char *v = api_param(req, key);
	return v ? v : json_str(opts, key);
}

int api_delete_now(Api *api, const ApiResource *r, const char *ns, const char *name, const char *propagation,
		   json_t **ret_obj)
{
	_cleanup_free_ char *key = api_resource_key(r, ns, name);
	for (int attempt = 0; attempt < PATCH_RETRIES; attempt++) {
		StoreKV kv;
		int rc = store_get(api->store, key, &kv, NULL);
		if (rc < 0)
			return rc;
		int64_t rev;
		rc = store_delete(api->store, key, kv.mod_revision, NULL, &rev, NULL);
		json_t *obj = rc == 0 ? api_object_decode(&kv) : NULL;
		store_kv_release(&kv);
		if (rc == -ESTALE)
			continue;
		if (rc < 0)
			return rc;
		if (obj) {
			api_object_set_rv(obj, rev);
			api_gc_after_delete(api, r, obj);
			if (propagation && !strcmp(propagation, "Orphan"))
				api_gc_orphan_dependents(api, obj);
			else
				api_gc_delete_dependents(api, r, obj);
			/* an owner in foreground deletion may have waited for this one */
			api_gc_owners_recheck(api, obj);
			/* so may a terminating namespace */
			if (r->namespaced && ns)
				api_namespace_content_removed(api, ns);
		}
		if (ret_obj)
			*ret_obj = obj;
		else
			json_decref(obj);
		return 0;
	}
	return -ESTALE;
}

/* Objects with finalizers (or foreground deletion) are only marked;
 * add_finalizer (the collector's "foregroundDeletion" or "orphan"), when
 * set, is added unless present. */
static int mark_deleting(Api *api, ApiRequest *req, ApiResponse *resp, json_t *cur, int64_t cur_rev,
			 const char *add_finalizer)
{
	json_t *meta = json_obj_ensure(cur, "metadata");
	if (!json_object_get(meta, "deletionTimestamp")) {
		char now[40];
		api_now_rfc3339(now, sizeof(now));
		json_object_set_new(meta, "deletionTimestamp", json_string(now));
		json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(0));
	}
	if (add_finalizer) {
		json_t *f = json_object_get(meta, "finalizers");
		if (!json_is_array(f)) {
			f = json_array();
			json_object_set_new(meta, "finalizers", f);
		}
		bool present = false;
		size_t i;
		json_t *v;
		json_array_foreach(f, i, v)
			present |= !strcmp(json_string_value(v) ?: "", add_finalizer);
		if (!present)
			json_array_append_new(f, json_string(add_finalizer));
	}
	size_t len;
	_cleanup_free_ char *val = api_object_encode(cur, &len);
	_cleanup_free_ char *key = api_resource_key(req->res, req->ns, req->name);
	int64_t rev;
	int r = store_update(api->store, key, val, len, cur_rev, &rev, NULL);
	if (r < 0)
		return r;
	api_object_set_rv(cur, rev);
	api_respond_json(resp, 200, json_incref(cur));
	return 0;
}

/* The grace period a pod DELETE asks for: ?gracePeriodSeconds=, the body's,
 * or the pod's terminationGracePeriodSeconds; 0 for a pod no node runs or
 * that has finished (nothing to stop: it goes at once, as in Kubernetes). */
static int64_t pod_grace(const ApiRequest *req, const json_t *opts, const json_t *pod)
{
	const json_t *spec = json_object_get(pod, "spec");
	const char *phase = json_str(json_object_get(pod, "status"), "phase");
	if (!json_str(spec, "nodeName") || !*json_str(spec, "nodeName") ||
	    (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
		return 0;
	int64_t g;
	const char *p = api_param(req, "gracePeriodSeconds");
	if (p && parse_int64(p, &g) == 0)
		return g < 0 ? 0 : g;
	if (json_is_integer(json_object_get(opts, "gracePeriodSeconds")))
		g = json_integer_value(json_object_get(opts, "gracePeriodSeconds"));
	else
		g = json_int(spec, "terminationGracePeriodSeconds", 30);
	return g < 0 ? 0 : g;
}

/* Graceful pod deletion: set deletionTimestamp = now + grace and
 * deletionGracePeriodSeconds; the pod goes when its kubelet deletes it with
 * grace 0 or when the period ends (sweep.c).  A shorter grace shortens it.
 * 1: not graceful (delete now), 0 answered, -ESTALE retry. */
static int pod_delete_graceful(Api *api, ApiRequest *req, ApiResponse *resp, const json_t *opts, json_t *cur,
			       int64_t cur_rev)
{
	int64_t grace = pod_grace(req, opts, cur);
	json_t *meta = json_obj_ensure(cur, "metadata");
	int64_t now = (int64_t)time(NULL);
	if (json_object_get(meta, "deletionTimestamp")) {
		int64_t old = json_int(meta, "deletionGracePeriodSeconds", 0);
		if (grace == 0 && !json_array_size(json_object_get(meta, "finalizers")))
			return 1;
		if (grace >= old) {
			api_respond_json(resp, 200, json_incref(cur));
			return 0;
		}
	} else if (grace == 0) {
		return 1;
	}
	time_t t = (time_t)(now + grace);
	struct tm tm;
	char ts[40];
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(meta, "deletionTimestamp", json_string(ts));
	json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(grace));
	size_t len;
	_cleanup_free_ char *val = api_object_encode(cur, &len);
	_cleanup_free_ char *key = api_resource_key(req->res, req->ns, req->name);
	int64_t rev;
	int r = store_update(api->store, key, val, len, cur_rev, &rev, NULL);
	if (r < 0)
		return r;
	api_object_set_rv(cur, rev);
	api_sweep_pod_hint(api, now + grace);
	api_respond_json(resp, 200, json_incref(cur));
	return 0;
}

static bool propagation_is(const char *prop, const char *want)
{
	return prop && !strcmp(prop, want);
}

/* A DELETE of req's object with DeleteOptions opts (may be NULL) and
 * propagation prop (NULL: Background); answers in resp. */
static void delete_object(Api *api, ApiRequest *req, ApiResponse *resp, const json_t *opts, const char *prop)
{
	for (int attempt = 0; attempt < PATCH_RETRIES; attempt++) {
		json_t *cur;
		int64_t cur_rev;
		int r = api_load(api, req->res, req->ns, req->name, &cur, &cur_rev);
		if (r < 0) {
			api_store_error(resp, req, r, req->name, NULL);
			return;
		}
		_cleanup_json_ json_t *cur_ref = cur;
		const json_t *pre = json_object_get(opts, "preconditions");
		const char *puid = json_str(pre, "uid"), *prv = json_str(pre, "resourceVersion");
		if ((puid && strcmp(puid, api_meta_str(cur, "uid") ?: "")) || (prv && strcmp(prv, rv_of(cur) ?: ""))) {
			api_store_error(resp, req, -ESTALE, req->name, NULL);
			return;
		}
		if (is_namespaces(req->res) && api_namespace_immortal(req->name)) {
			/* kube-apiserver's NamespaceLifecycle admission */
			_cleanup_free_ char *msg = xasprintf("namespaces \"%s\" is forbidden: this namespace may not be "
							     "deleted", req->name);
			api_respond_json(resp, 403, api_status(403, "Forbidden", msg, json_pack("{s:s, s:s}", "name",
												   req->name, "kind",
												   "namespaces")));
			return;
		}
		if (api_param(req, "dryRun")) {
			api_respond_json(resp, 200, json_incref(cur));
			return;
		}
		if (is_namespaces(req->res)) {
			api_namespace_delete(api, req, resp, cur);
			return;
		}
		if (!strcmp(req->res->resource, "pods") && !req->res->group[0]) {
			r = pod_delete_graceful(api, req, resp, opts, cur, cur_rev);
			if (r == -ESTALE)
				continue;
			if (r <= 0) {
				if (r < 0)
					api_store_error(resp, req, r, req->name, NULL);
				return;
			}
		}
		/* Foreground: the owner stays (marked, "foregroundDeletion") until
		 * its dependents are gone; Orphan on an object that stays for its
		 * finalizers: the "orphan" finalizer's work is done at once */
		bool finalizers = json_array_size(json_path(cur, "metadata.finalizers")) > 0;
		bool foreground = propagation_is(prop, "Foreground") && api_gc_has_dependents(api, cur);
		if (finalizers || foreground) {
			const char *add = foreground ? GC_FINALIZER_FOREGROUND :
					  propagation_is(prop, "Orphan") ? GC_FINALIZER_ORPHAN : NULL;
			r = mark_deleting(api, req, resp, cur, cur_rev, add);
			if (r == 0)
				api_gc_process_deleting(api, req->res, cur);
		} else {
			json_t *gone = NULL;
			r = api_delete_now(api, req->res, req->ns, req->name, prop, &gone);
			if (r == 0)
				api_respond_json(resp, 200, gone ? gone : json_incref(cur));
		}
		if (r == -ESTALE)
			continue;
		if (r < 0)
			api_store_error(resp, req, r, req->name, NULL);
		if (!strcmp(req->res->resource, "customresourcedefinitions"))
			api_crd_deleted(api, cur);
		return;
	}
	api_store_error(resp, req, -ESTALE, req->name, NULL);
}

void api_handle_delete(Api *api, ApiRequest *req, ApiResponse *resp)
{
	_cleanup_json_ json_t *opts = req->body_len ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
	const char *prop = delete_option(req, opts, "propagationPolicy");
	if (json_is_true(json_object_get(opts, "orphanDependents")))
		prop = "Orphan";
	delete_object(api, req, resp, opts, prop);
}

int api_delete_as_client(Api *api, const ApiResource *r, const char *ns, const char *name, const char *uid,
			 const char *propagation)
{
	ApiRequest req = { .method = "DELETE", .res = r, .ns = (char *)ns, .name = (char *)name };
	ApiResponse resp = { 0 };
	_cleanup_json_ json_t *opts = uid ? json_pack("{s:{s:s}}", "preconditions", "uid", uid) : NULL;
	delete_object(api, &req, &resp, opts, propagation);
	int status = resp.status;
	api_response_release(&resp);
	if (status == 200 || status == 202)
		return 0;
	return status == 404 ? -ENOENT : status == 409 ? -ESTALE : -EIO;
}

void api_handle_delete_collection(Api *api, ApiRequest *req, ApiResponse *resp)
{
	_cleanup_(api_selector_freep) ApiSelector *labels = NULL, *fields = NULL;
	_cleanup_err_ Error *err = NULL;
	const char *ls = api_param(req, "labelSelector"), *fs = api_param(req, "fieldSelector");
	if ((ls && api_selector_parse(ls, false, &labels, &err) < 0) ||
	    (fs && api_selector_parse(fs, true, &fields, &err) < 0)) {
		api_respond_status(resp, 400, "BadRequest", "unable to parse requirement: %s", err_msg(err));
		return;
	}
	_cleanup_free_ char *prefix = api_resource_key(req->res, req->ns, NULL);
	_cleanup_json_ json_t *items = json_array();
	int64_t rev;
	bool more;
	if (api_list_objects(api, prefix, labels, fields, 0, 0, NULL, items, &rev, NULL, &more) < 0) {
		api_respond_status(resp, 500, "InternalError", "list failed");
		return;
	}
	json_t *deleted = json_array();
	size_t i;
	json_t *o;
	/* each as its own DELETE: finalizers, graceful pods and the propagation policy apply */
	_cleanup_json_ json_t *opts = req->body_len ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
	const char *prop = delete_option(req, opts, "propagationPolicy");
	if (json_is_true(json_object_get(opts, "orphanDependents")))
		prop = "Orphan";
	json_array_foreach(items, i, o) {
		ApiRequest one = *req;
		ApiResponse r = { 0 };
		one.ns = (char *)api_meta_str(o, "namespace");
		one.name = (char *)api_meta_str(o, "name");
		delete_object(api, &one, &r, opts, prop);
		json_t *gone = r.status == 200 && r.body ? json_loadb(r.body, r.len, 0, NULL) : NULL;
		if (gone)
			json_array_append_new(deleted, gone);
		api_response_release(&r);
	}
	_cleanup_free_ char *av = api_resource_api_version(req->res);
	_cleanup_free_ char *kind = xasprintf("%sList", req->res->kind);
	api_respond_json(resp, 200, json_pack("{s:s, s:s, s:{}, s:o}", "kind", kind, "apiVersion", av, "metadata",
					      "items", deleted));
}
