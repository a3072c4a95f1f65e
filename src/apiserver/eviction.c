/* eviction.c - POST pods/NAME/eviction as kube-apiserver's EvictionREST:
 * the PodDisruptionBudget check `kubectl drain` relies on, then a graceful
 * delete through the ordinary DELETE path (update.c), so the Eviction's
 * deleteOptions (gracePeriodSeconds, preconditions, propagation) mean what
 * they mean on a DELETE.
 *
 * Order of decisions (Kubernetes' own):
 *  - a pod that cannot be disrupted any further (Pending, Succeeded,
 *    Failed, or already deleting) is deleted without looking at budgets,
 *    guarded by a resourceVersion precondition for non-terminal pods (a 409
 *    from the delete is retried on the newer pod unless the client gave a
 *    resourceVersion itself);
 *  - more than one PDB covering the pod: 500, as the subresource refuses;
 *  - an unready pod goes without spending a disruption when the budget is
 *    met (currentHealthy >= desiredHealthy > 0) or the PDB's
 *    unhealthyPodEvictionPolicy is AlwaysAllow (the delete then carries the
 *    pod's resourceVersion; losing that race answers 429);
 *  - otherwise the PDB must be current (observedGeneration) and allow a
 *    disruption: disruptionsAllowed is decremented and the pod recorded in
 *    status.disruptedPods by a compare-and-swap write of the PDB (retried on
 *    conflict against the newer PDB), or the eviction is refused with 429
 *    TooManyRequests and a DisruptionBudget cause.
 * Before the delete the pod gets the DisruptionTarget condition
 * (EvictionByEvictionAPI).  Success is a 201 Status.  The disruption
 * controller (controller/disruption.c) keeps the PDB's counts current.
 */
#include "eviction.h"
#include "handlers.h"
#include "../base/cleanup.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVICT_RETRIES 20
#define PDB_MAX_DISRUPTED 2000  /* Kubernetes' MaxDisruptedPodSize */
#define PDB_BUSY_MSG "Cannot evict pod as it would violate the pod's disruption budget."

/* ---- matching (metav1.LabelSelector; nil or empty selects nothing) ---- */

static bool in_values(const json_t *values, const char *v)
{
	size_t i;
	json_t *x;
	json_array_foreach(values, i, x)
		if (json_is_string(x) && !strcmp(json_string_value(x), v))
			return true;
	return false;
}

static bool expr_matches(const json_t *e, const json_t *labels)
{
	const char *key = json_str(e, "key") ?: "", *op = json_str(e, "operator") ?: "";
	const char *have = json_str(labels, key);
	const json_t *vals = json_object_get(e, "values");
	if (!strcmp(op, "In"))
		return have && in_values(vals, have);
	if (!strcmp(op, "NotIn"))
		return !have || !in_values(vals, have);
	if (!strcmp(op, "Exists"))
		return have != NULL;
	if (!strcmp(op, "DoesNotExist"))
		return have == NULL;
	return false;
}

static bool pdb_covers(const json_t *pdb, const json_t *pod)
{
	const json_t *sel = json_path(pdb, "spec.selector"), *labels = json_path(pod, "metadata.labels");
	const json_t *ml = json_object_get(sel, "matchLabels"), *me = json_object_get(sel, "matchExpressions");
	if (!json_object_size(ml) && !json_array_size(me))
		return false;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)ml, k, v)
		if (!json_is_string(v) || strcmp(json_str(labels, k) ?: "\x01", json_string_value(v)))
			return false;
	size_t i;
	json_t *e;
	json_array_foreach(me, i, e)
		if (!expr_matches(e, labels))
			return false;
	return true;
}

/* ---- the pod ---- */

static const char *pod_phase(const json_t *pod) { return json_str(json_object_get(pod, "status"), "phase") ?: ""; }

static bool pod_deleting(const json_t *pod) { return json_path(pod, "metadata.deletionTimestamp") != NULL; }

/* canIgnorePDB: nothing left to disrupt. */
static bool pod_can_ignore_pdb(const json_t *pod)
{
	const char *ph = pod_phase(pod);
	return !strcmp(ph, "Succeeded") || !strcmp(ph, "Failed") || !strcmp(ph, "Pending") || pod_deleting(pod);
}

/* shouldEnforceResourceVersion: a live pod might become ready meanwhile. */
static bool pod_enforce_rv(const json_t *pod)
{
	const char *ph = pod_phase(pod);
	return strcmp(ph, "Succeeded") && strcmp(ph, "Failed") && !pod_deleting(pod);
}

static bool pod_ready(const json_t *pod)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(pod, "status.conditions"), i, c)
		if (!strcmp(json_str(c, "type") ?: "", "Ready"))
			return !strcmp(json_str(c, "status") ?: "", "True");
	return false;
}

static const char *opts_rv(const json_t *opts)
{
	const char *rv = json_str(json_object_get(opts, "preconditions"), "resourceVersion");
	return rv && *rv ? rv : NULL;
}

static void opts_set_rv(json_t *opts, const char *rv)
{
	json_object_set_new(json_obj_ensure(opts, "preconditions"), "resourceVersion", json_string(rv));
}

/* The DisruptionTarget condition on the latest pod (preconditions checked
 * against it); a resourceVersion precondition moves to the pod's new
 * version.  0, -ENOENT, -ESTALE (precondition failed). */
static int pod_mark_disruption(Api *api, const ApiRequest *req, json_t *opts)
{
	const json_t *pre = json_object_get(opts, "preconditions");
	for (int attempt = 0; attempt < EVICT_RETRIES; attempt++) {
		json_t *pod;
		int64_t rev;
		int r = api_load(api, req->res, req->ns, req->name, &pod, &rev);
		if (r < 0)
			return r;
		_cleanup_json_ json_t *pod_ref = pod;
		const char *uid = json_str(pre, "uid"), *rv = opts_rv(opts);
		if ((uid && *uid && strcmp(uid, api_meta_str(pod, "uid") ?: "")) ||
		    (rv && strcmp(rv, api_meta_str(pod, "resourceVersion") ?: "")))
			return -ESTALE;
		json_t *c = json_condition_ensure(json_obj_ensure(pod, "status"), "DisruptionTarget");
		if (!json_object_get(c, "lastProbeTime"))
			json_object_set_new(c, "lastProbeTime", json_null());
		if (strcmp(json_str(c, "status") ?: "", "True")) {
			char now[40];
			api_now_rfc3339(now, sizeof(now));
			json_object_set_new(c, "lastTransitionTime", json_string(now));
		}
		json_object_set_new(c, "status", json_string("True"));
		json_object_set_new(c, "reason", json_string("EvictionByEvictionAPI"));
		json_object_set_new(c, "message", json_string("Eviction API: evicting"));
		size_t len;
		_cleanup_free_ char *val = api_object_encode(pod, &len);
		_cleanup_free_ char *key = api_resource_key(req->res, req->ns, req->name);
		int64_t nrev;
		r = store_update(api->store, key, val, len, rev, &nrev, NULL);
		if (r == -ESTALE)
			continue;
		if (r < 0)
			return r;
		if (rv) {
			char b[32];
			snprintf(b, sizeof(b), "%lld", (long long)nrev);
			opts_set_rv(opts, b);
		}
		return 0;
	}
	return -ESTALE;
}

static void respond_success(ApiResponse *resp) { api_respond_json(resp, 201, api_status(201, NULL, NULL, NULL)); }

/* Delete the pod as a DELETE with opts would (the condition first); the
 * HTTP status of the answer put in resp. */
static int evict_delete(Api *api, ApiRequest *req, ApiResponse *resp, json_t *opts, bool dry)
{
	if (dry) {
		respond_success(resp);
		return 201;
	}
	int r = pod_mark_disruption(api, req, opts);
	if (r < 0) {
		api_store_error(resp, req, r, req->name, NULL);
		return resp->status;
	}
	_cleanup_free_ char *body = json_dumps(opts, JSON_COMPACT);
	ApiRequest sub = *req;
	sub.method = "DELETE";
	sub.body = body;
	sub.body_len = strlen(body);
	ApiResponse sr = { 0 };
	api_handle_delete(api, &sub, &sr);
	int status = sr.status;
	if (status >= 200 && status < 300) {
		api_response_release(&sr);
		respond_success(resp);
	} else {
		*resp = sr;
	}
	return status;
}

/* ---- the budget ---- */

static void respond_too_many(ApiResponse *resp, int retry_after, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void respond_too_many(ApiResponse *resp, int retry_after, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *cause = NULL;
	if (vasprintf(&cause, fmt, ap) < 0)
		abort();
	va_end(ap);
	json_t *d = json_pack("{s:[{s:s, s:s}]}", "causes", "reason", "DisruptionBudget", "message", cause);
	if (retry_after)
		json_object_set_new(d, "retryAfterSeconds", json_integer(retry_after));
	api_respond_json(resp, 429, api_status(429, "TooManyRequests", PDB_BUSY_MSG, d));
}

static void respond_forbidden(ApiResponse *resp, const char *pdb, const char *why)
{
	_cleanup_free_ char *msg = xasprintf("poddisruptionbudgets.policy \"%s\" is forbidden: %s", pdb, why);
	json_t *d = json_pack("{s:s, s:s, s:s}", "name", pdb, "group", "policy", "kind", "poddisruptionbudgets");
	api_respond_json(resp, 403, api_status(403, "Forbidden", msg, d));
}

/* The PDBs of the pod's namespace that cover it (new array). */
static json_t *pdbs_for(Api *api, const ApiResource *pr, const json_t *pod, const char *ns)
{
	json_t *out = json_array();
	_cleanup_json_ json_t *items = json_array();
	_cleanup_free_ char *prefix = api_resource_key(pr, ns, NULL);
	int64_t rev;
	bool more;
	if (api_list_objects(api, prefix, NULL, NULL, 0, 0, NULL, items, &rev, NULL, &more) < 0)
		return out;
	size_t i;
	json_t *p;
	json_array_foreach(items, i, p)
		if (pdb_covers(p, pod))
			json_array_append(out, p);
	return out;
}

/* DisruptionAllowed as the PDB helper sets it once disruptionsAllowed hit 0. */
static void pdb_condition_insufficient(json_t *st)
{
	json_t *conds = json_object_get(st, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(st, "conditions", conds);
	}
	json_t *c = NULL, *e;
	size_t i;
	json_array_foreach(conds, i, e)
		if (!strcmp(json_str(e, "type") ?: "", "DisruptionAllowed"))
			c = e;
	if (!c) {
		c = json_pack("{s:s, s:s}", "type", "DisruptionAllowed", "message", "");
		json_array_append_new(conds, c);
	}
	if (strcmp(json_str(c, "status") ?: "", "False")) {
		char now[40];
		api_now_rfc3339(now, sizeof(now));
		json_object_set_new(c, "lastTransitionTime", json_string(now));
	}
	json_object_set_new(c, "status", json_string("False"));
	json_object_set_new(c, "reason", json_string("InsufficientPods"));
	json_object_set_new(c, "observedGeneration", json_integer(json_int(st, "observedGeneration", 0)));
}

/* checkAndDecrement with conflict retries: 0 when a disruption was spent
 * (recorded unless dry), else -1 with resp filled. */
static int pdb_spend(Api *api, const ApiResource *pr, const char *ns, const char *pdb_name, const char *pod_name,
		     bool dry, ApiResponse *resp)
{
	_cleanup_free_ char *key = api_resource_key(pr, ns, pdb_name);
	for (int attempt = 0; attempt < EVICT_RETRIES; attempt++) {
		json_t *pdb;
		int64_t rev;
		if (api_load(api, pr, ns, pdb_name, &pdb, &rev) < 0) {
			respond_too_many(resp, 10, "The disruption budget %s is still being processed by the server.",
					 pdb_name);
			return -1;
		}
		_cleanup_json_ json_t *pdb_ref = pdb;
		json_t *st = json_obj_ensure(pdb, "status");
		int64_t allowed = json_int(st, "disruptionsAllowed", 0);
		if (json_int(st, "observedGeneration", 0) < json_int(json_object_get(pdb, "metadata"), "generation", 0)) {
			respond_too_many(resp, 10, "The disruption budget %s is still being processed by the server.",
					 pdb_name);
			return -1;
		}
		if (allowed < 0) {
			respond_forbidden(resp, pdb_name, "pdb disruptions allowed is negative");
			return -1;
		}
		if (json_object_size(json_object_get(st, "disruptedPods")) > PDB_MAX_DISRUPTED) {
			respond_forbidden(resp, pdb_name,
					  "DisruptedPods map too big - too many evictions not confirmed by PDB controller");
			return -1;
		}
		if (allowed == 0) {
			respond_too_many(resp, 0, "The disruption budget %s needs %lld healthy pods and has %lld currently",
					 pdb_name, (long long)json_int(st, "desiredHealthy", 0),
					 (long long)json_int(st, "currentHealthy", 0));
			return -1;
		}
		if (dry)
			return 0;
		json_object_set_new(st, "disruptionsAllowed", json_integer(allowed - 1));
		if (allowed - 1 == 0)
			pdb_condition_insufficient(st);
		char now[40];
		api_now_rfc3339(now, sizeof(now));
		json_object_set_new(json_obj_ensure(st, "disruptedPods"), pod_name, json_string(now));
		size_t len;
		_cleanup_free_ char *val = api_object_encode(pdb, &len);
		int r = store_update(api->store, key, val, len, rev, NULL, NULL);
		if (r == -ESTALE)
			continue;
		if (r < 0) {
			api_respond_status(resp, 500, "InternalError", "poddisruptionbudget %s: %s", pdb_name, strerror(-r));
			return -1;
		}
		return 0;
	}
	api_respond_json(resp, 504, api_status(504, "Timeout", "couldn't update PodDisruptionBudget due to conflicts",
						  json_pack("{s:i}", "retryAfterSeconds", 10)));
	return -1;
}

/* ---- the request ---- */

void api_pod_eviction(Api *api, ApiRequest *req, ApiResponse *resp)
{
	_cleanup_json_ json_t *body = api_body_object(req, resp);
	if (!body)
		return;
	const char *ename = json_str(json_object_get(body, "metadata"), "name");
	if (ename && *ename && strcmp(ename, req->name)) {
		api_respond_status(resp, 400, "BadRequest", "name in URL does not match name in Eviction object");
		return;
	}
	const json_t *given = json_object_get(body, "deleteOptions");
	_cleanup_json_ json_t *opts = json_is_object(given) ? json_deep_copy(given) : json_object();
	bool dry = api_param(req, "dryRun") || json_array_size(json_object_get(opts, "dryRun"));
	bool client_rv = opts_rv(opts) != NULL;
	_cleanup_json_ json_t *pod = NULL;
	/* pods with nothing left to disrupt go at once */
	for (int attempt = 0; attempt < EVICT_RETRIES; attempt++) {
		json_decref(pod);
		pod = NULL;
		if (api_load(api, req->res, req->ns, req->name, &pod, NULL) < 0) {
			api_respond_not_found(resp, req);
			return;
		}
		if (!pod_can_ignore_pdb(pod))
			break;
		_cleanup_json_ json_t *o = json_deep_copy(opts);
		if (pod_enforce_rv(pod) && !client_rv)
			opts_set_rv(o, api_meta_str(pod, "resourceVersion") ?: "");
		ApiResponse sr = { 0 };
		int st = evict_delete(api, req, &sr, o, dry);
		if (st == 409 && !client_rv && attempt + 1 < EVICT_RETRIES) {
			api_response_release(&sr);
			continue;
		}
		*resp = sr;
		return;
	}
	if (pod_can_ignore_pdb(pod)) {
		api_store_error(resp, req, -ESTALE, req->name, NULL);
		return;
	}
	const ApiResource *pr = api_resource_find(api, "policy", "v1", "poddisruptionbudgets");
	_cleanup_json_ json_t *pdbs = pr ? pdbs_for(api, pr, pod, req->ns) : json_array();
	if (json_array_size(pdbs) > 1) {
		api_respond_json(resp, 500, api_status(500, NULL, "This pod has more than one PodDisruptionBudget, which the "
							  "eviction subresource does not support.", NULL));
		return;
	}
	const json_t *pdb = json_array_get(pdbs, 0);
	const char *pdb_name = pdb ? api_meta_str(pdb, "name") : NULL;
	bool unguarded = false;  /* an unready pod the budget can spare */
	if (pdb && !pod_ready(pod)) {
		const json_t *st = json_object_get(pdb, "status");
		const char *policy = json_str(json_object_get(pdb, "spec"), "unhealthyPodEvictionPolicy");
		int64_t cur = json_int(st, "currentHealthy", 0), want = json_int(st, "desiredHealthy", 0);
		unguarded = (policy && !strcmp(policy, "AlwaysAllow")) || (cur >= want && want > 0);
	}
	if (pdb && !unguarded && pdb_spend(api, pr, req->ns, pdb_name, req->name, dry, resp) < 0)
		return;
	_cleanup_json_ json_t *o = json_deep_copy(opts);
	if (unguarded && !client_rv)
		opts_set_rv(o, api_meta_str(pod, "resourceVersion") ?: "");
	ApiResponse sr = { 0 };
	int st = evict_delete(api, req, &sr, o, dry);
	if (st == 409 && unguarded && !client_rv) {
		api_response_release(&sr);
		respond_too_many(resp, 10, "The disruption budget %s is still being processed by the server.", pdb_name);
		return;
	}
	*resp = sr;
}
