/* replicaset.c - the ReplicaSet and ReplicationController controller (one
 * code path; an RC differs only in its map selector, apiVersion and path).
 *
 * sync(ns/name), level-triggered as Kubernetes' ReplicaSetController:
 *   1. claim: of the namespace's active pods, keep those whose controller
 *      reference is this owner and still match (release those that no longer
 *      match), adopt matching orphans (PATCH ownerReferences);
 *   2. if the expectations are satisfied: create pods (generateName
 *      "<owner>-", so names are "<owner>-<5 chars>") or delete victims in
 *      Kubernetes' order (unassigned, pending, not ready, ready for less
 *      time, more restarts, newest), at most BERTH_MAX_CONTROLLER_BURST per
 *      sync, recording expectations first;
 *      Each creation and deletion is recorded as an Event on the owner
 *      (SuccessfulCreate / SuccessfulDelete, FailedCreate / FailedDelete);
 *   3. write status (replicas, fullyLabeledReplicas, readyReplicas,
 *      availableReplicas, observedGeneration) when it changed; requeue after
 *      minReadySeconds while pods are ready but not yet available.
 */
#include "controller-internal.h"
#include "../base/cleanup.h"
#include "../base/limits.h"
#include "../base/log.h"
#include "../shared/json.h"
#include <string.h>

bool rs_selects(const Ctl *c, const json_t *owner, const json_t *labels)
{
	json_t *sel = json_path(owner, "spec.selector");
	if (c->map_selector)
		return sel_map_matches(sel ? sel : json_path(owner, "spec.template.metadata.labels"), labels);
	return sel_matches(sel, labels);
}

static json_t *labels_of(const json_t *o) { return json_path(o, "metadata.labels"); }

/* ---- victim order ---- */

static int phase_rank(const json_t *pod)
{
	const char *p = json_str(json_object_get(pod, "status"), "phase") ?: "Pending";
	if (!strcmp(p, "Pending"))
		return 0;
	if (!strcmp(p, "Running"))
		return 2;
	return 1;  /* Unknown */
}

static int64_t restarts(const json_t *pod)
{
	int64_t n = 0;
	size_t i;
	json_t *cs;
	json_array_foreach(json_path(pod, "status.containerStatuses"), i, cs)
		n += json_int(cs, "restartCount", 0);
	return n;
}

static int64_t ready_since(const json_t *pod)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_path(pod, "status.conditions"), i, c)
		if (!strcmp(json_str(c, "type") ?: "", "Ready"))
			return obj_time(c, "lastTransitionTime");
	return 0;
}

/* < 0 when a is the better victim. */
static int victim_cmp(const void *pa, const void *pb)
{
	const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	bool an = json_str(json_object_get(a, "spec"), "nodeName") != NULL;
	bool bn = json_str(json_object_get(b, "spec"), "nodeName") != NULL;
	if (an != bn)
		return an ? 1 : -1;
	int pa_ = phase_rank(a), pb_ = phase_rank(b);
	if (pa_ != pb_)
		return pa_ - pb_;
	bool ar = pod_is_ready(a), br = pod_is_ready(b);
	if (ar != br)
		return ar ? 1 : -1;
	if (ar) {
		int64_t ta = ready_since(a), tb = ready_since(b);
		if (ta != tb)
			return ta > tb ? -1 : 1;  /* ready for less time first */
	}
	int64_t ra = restarts(a), rb = restarts(b);
	if (ra != rb)
		return ra > rb ? -1 : 1;
	int64_t ca = obj_time(a, "metadata.creationTimestamp"), cb = obj_time(b, "metadata.creationTimestamp");
	if (ca != cb)
		return ca > cb ? -1 : 1;  /* newer first */
	return strcmp(obj_meta(b, "name") ?: "", obj_meta(a, "name") ?: "");
}

void rs_victims_sort(json_t *pods)
{
	size_t n = json_array_size(pods);
	if (n < 2)
		return;
	json_t **v = xmalloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(pods, i));
	qsort(v, n, sizeof(*v), victim_cmp);
	json_array_clear(pods);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(pods, v[i]);
	free(v);
}

/* ---- claiming ---- */

static char *pod_path(const char *ns, const char *name)
{
	return xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
}

/* PATCH the pod's ownerReferences to refs (NULL: remove them all). */
static int pod_set_owner_refs(Ctl *c, const json_t *pod, json_t *refs, Error **err)
{
	_cleanup_free_ char *path = pod_path(obj_meta(pod, "namespace"), obj_meta(pod, "name"));
	_cleanup_json_ json_t *patch = json_pack("{s:{s:o, s:s}}", "metadata", "ownerReferences",
						 refs && json_array_size(refs) ? json_incref(refs) : json_null(),
						 "resourceVersion", obj_meta(pod, "resourceVersion") ?: "");
	json_decref(refs);
	return kube_patch(c->m->kc, path, patch, NULL, err);
}

static int pod_adopt(Ctl *c, const json_t *owner, const json_t *pod, Error **err)
{
	json_t *refs = json_deep_copy(json_path(pod, "metadata.ownerReferences"));
	if (!json_is_array(refs)) {
		json_decref(refs);
		refs = json_array();
	}
	json_array_append_new(refs, owner_ref_new(owner, c->api_version, c->kind));
	return pod_set_owner_refs(c, pod, refs, err);
}

static int pod_release(Ctl *c, const json_t *owner, const json_t *pod, Error **err)
{
	json_t *refs = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(json_path(pod, "metadata.ownerReferences"), i, r)
		if (strcmp(json_str(r, "uid") ?: "", obj_meta(owner, "uid") ?: ""))
			json_array_append(refs, r);
	return pod_set_owner_refs(c, pod, refs, err);
}

/* The active pods this owner controls after adoption/release; new array. */
static json_t *claim_pods(Ctl *c, const json_t *owner, json_t *pods, Error **err)
{
	json_t *mine = json_array();
	const char *uid = obj_meta(owner, "uid") ?: "";
	bool deleting = json_path(owner, "metadata.deletionTimestamp") != NULL;
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod) {
		if (!pod_is_active(pod))
			continue;
		const json_t *ref = obj_controller_ref(pod);
		bool match = rs_selects(c, owner, labels_of(pod));
		if (ref && strcmp(json_str(ref, "uid") ?: "", uid))
			continue;
		if (ref && match) {
			json_array_append(mine, pod);
		} else if (ref) {
			if (pod_release(c, owner, pod, err) < 0 && err && *err && (*err)->code != ENOENT)
				log_debug("%s: release pod: %s", c->name, err_msg(*err));
		} else if (match && !deleting) {
			_cleanup_err_ Error *e = NULL;
			if (pod_adopt(c, owner, pod, &e) == 0)
				json_array_append(mine, pod);
		}
	}
	if (err && *err) {
		err_free(*err);
		*err = NULL;
	}
	return mine;
}

/* ---- managing replicas ---- */

static json_t *pod_from_template(Ctl *c, const json_t *owner)
{
	json_t *tmpl = json_path(owner, "spec.template");
	json_t *meta = json_pack("{s:s, s:s}", "generateName", "", "namespace", obj_meta(owner, "namespace") ?: "");
	_cleanup_free_ char *gen = xasprintf("%s-", obj_meta(owner, "name"));
	json_object_set_new(meta, "generateName", json_string(gen));
	json_t *l = json_path(tmpl, "metadata.labels"), *a = json_path(tmpl, "metadata.annotations");
	if (l)
		json_object_set_new(meta, "labels", json_deep_copy(l));
	if (a)
		json_object_set_new(meta, "annotations", json_deep_copy(a));
	json_object_set_new(meta, "ownerReferences", json_pack("[o]", owner_ref_new(owner, c->api_version, c->kind)));
	json_t *spec = json_object_get(tmpl, "spec");
	return json_pack("{s:s, s:s, s:o, s:O}", "apiVersion", "v1", "kind", "Pod", "metadata", meta, "spec",
			 spec ? spec : json_object());
}

/* The Event source of this controller (as Kubernetes names it). */
static const char *event_component(const Ctl *c)
{
	return c->map_selector ? "replication-controller" : "replicaset-controller";
}

static int create_pods(Ctl *c, const char *key, const json_t *owner, int n, Error **err)
{
	exp_expect(c->exp, key, n, 0);
	_cleanup_json_ json_t *pod = pod_from_template(c, owner);
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods", obj_meta(owner, "namespace"));
	for (int i = 0; i < n; i++) {
		_cleanup_json_ json_t *made = NULL;
		int r = kube_post(c->m->kc, path, pod, &made, err);
		if (r < 0) {
			exp_lower(c->exp, key, n - i, 0);
			ctl_event(c->m, owner, c->kind, event_component(c), "Warning", "FailedCreate",
				  "Error creating: %s", err_msg(err ? *err : NULL));
			return err_prefix(err, "%s '%s': create pod", c->kind, key);
		}
		ctl_event(c->m, owner, c->kind, event_component(c), "Normal", "SuccessfulCreate", "Created pod: %s",
			  obj_meta(made, "name") ?: "");
	}
	return 0;
}

static int delete_pods(Ctl *c, const char *key, const json_t *owner, json_t *pods, int n, Error **err)
{
	rs_victims_sort(pods);
	exp_expect(c->exp, key, 0, n);
	for (int i = 0; i < n; i++) {
		json_t *pod = json_array_get(pods, (size_t)i);
		_cleanup_free_ char *path = pod_path(obj_meta(pod, "namespace"), obj_meta(pod, "name"));
		int r = kube_delete(c->m->kc, path, err);
		if (r == -ENOENT) {
			exp_lower(c->exp, key, 0, 1);
			err_freep(err);
		} else if (r < 0) {
			exp_lower(c->exp, key, 0, n - i);
			ctl_event(c->m, owner, c->kind, event_component(c), "Warning", "FailedDelete",
				  "Error deleting: %s", err_msg(err ? *err : NULL));
			return err_prefix(err, "%s '%s': delete pod", c->kind, key);
		} else {
			ctl_event(c->m, owner, c->kind, event_component(c), "Normal", "SuccessfulDelete",
				  "Deleted pod: %s", obj_meta(pod, "name"));
		}
	}
	return 0;
}

static int manage_replicas(Ctl *c, const char *key, const json_t *owner, json_t *pods, Error **err)
{
	int want = (int)json_int(json_object_get(owner, "spec"), "replicas", 1);
	int diff = (int)json_array_size(pods) - want;
	if (diff < 0) {
		int n = -diff < (int)BERTH_MAX_CONTROLLER_BURST ? -diff : (int)BERTH_MAX_CONTROLLER_BURST;
		return create_pods(c, key, owner, n, err);
	}
	if (diff > 0) {
		int n = diff < (int)BERTH_MAX_CONTROLLER_BURST ? diff : (int)BERTH_MAX_CONTROLLER_BURST;
		return delete_pods(c, key, owner, pods, n, err);
	}
	return 0;
}

/* ---- status ---- */

static bool labels_superset(const json_t *have, const json_t *want)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)want, k, v) {
		const char *h = json_str(have, k);
		if (!h || !json_is_string(v) || strcmp(h, json_string_value(v)))
			return false;
	}
	return true;
}

static json_t *compute_status(Ctl *c, const json_t *owner, const json_t *pods, int64_t *ret_wait)
{
	int64_t min_ready = json_int(json_object_get(owner, "spec"), "minReadySeconds", 0), now = mgr_now_s(c->m);
	json_t *tl = json_path(owner, "spec.template.metadata.labels");
	int full = 0, ready = 0, avail = 0;
	size_t i;
	json_t *pod;
	*ret_wait = 0;
	json_array_foreach(pods, i, pod) {
		if (labels_superset(labels_of(pod), tl))
			full++;
		if (pod_is_ready(pod)) {
			ready++;
			if (pod_is_available(pod, min_ready, now))
				avail++;
			else
				*ret_wait = min_ready;
		}
	}
	json_t *st = json_pack("{s:i, s:i, s:i, s:i, s:I}", "replicas", (int)json_array_size(pods),
			       "fullyLabeledReplicas", full, "readyReplicas", ready, "availableReplicas", avail,
			       "observedGeneration", (json_int_t)json_int(json_object_get(owner, "metadata"), "generation", 0));
	json_t *conds = json_path(owner, "status.conditions");
	if (conds)
		json_object_set(st, "conditions", conds);
	return st;
}

static bool status_same(const json_t *a, const json_t *b)
{
	const char *keys[] = { "replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas",
			       "observedGeneration" };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (json_int(a, keys[i], 0) != json_int(b, keys[i], 0))
			return false;
	return true;
}

static int update_status(Ctl *c, const json_t *owner, json_t *st, Error **err)
{
	if (status_same(json_object_get(owner, "status"), st))
		return 0;
	_cleanup_json_ json_t *copy = json_deep_copy(owner);
	json_object_set(copy, "status", st);
	char coll[512];
	snprintf(coll, sizeof(coll), c->coll_fmt, obj_meta(owner, "namespace"));
	_cleanup_free_ char *full = xasprintf("%s/%s/status", coll, obj_meta(owner, "name"));
	int r = kube_put(c->m->kc, full, copy, NULL, err);
	return r == -ENOENT ? 0 : r;
}

static int rs_sync(Ctl *c, const char *key, Error **err)
{
	char ns[256], name[256];
	key_split(key, ns, sizeof(ns), name, sizeof(name));
	_cleanup_json_ json_t *owner = informer_get(c->inf, ns, name);
	if (!owner) {
		exp_delete(c->exp, key);
		return 0;
	}
	/* expectations first, then the pods (as kube-controller-manager): an
	 * ADDED event arriving during claim_pods' API calls would otherwise
	 * satisfy them while the list still lacks that pod (one pod too many) */
	bool satisfied = exp_satisfied(c->exp, key);
	_cleanup_json_ json_t *all = informer_list(c->m->pods, ns);
	_cleanup_json_ json_t *pods = claim_pods(c, owner, all, NULL);
	int r = 0;
	if (satisfied && !json_path(owner, "metadata.deletionTimestamp"))
		r = manage_replicas(c, key, owner, pods, err);
	int64_t wait;
	_cleanup_json_ json_t *st = compute_status(c, owner, pods, &wait);
	_cleanup_err_ Error *serr = NULL;
	int rs = update_status(c, owner, st, &serr);
	if (r < 0)
		return r;
	if (rs < 0) {
		*err = TAKE_PTR(serr);
		return rs;
	}
	if (wait > 0)
		wq_add_after(c->q, key, wait * 1000);
	return 0;
}

/* ---- event handlers ---- */

/* The controlling owner of pod if it is of our kind (its key, caller frees). */
static char *pod_owner_key(Ctl *c, const json_t *pod)
{
	const json_t *ref = obj_controller_ref(pod);
	if (!ref || strcmp(json_str(ref, "kind") ?: "", c->kind))
		return NULL;
	return xasprintf("%s/%s", obj_meta(pod, "namespace") ?: "", json_str(ref, "name") ?: "");
}

/* An orphan: every owner in its namespace whose selector matches. */
static void enqueue_matching(Ctl *c, const json_t *pod)
{
	_cleanup_json_ json_t *owners = informer_list(c->inf, obj_meta(pod, "namespace"));
	size_t i;
	json_t *o;
	json_array_foreach(owners, i, o)
		if (rs_selects(c, o, labels_of(pod)))
			ctl_enqueue_obj(c, o);
}

static void on_pod(void *ud, InformerEvent ev, const json_t *old, const json_t *pod)
{
	Ctl *c = ud;
	_cleanup_free_ char *key = pod_owner_key(c, pod);
	if (ev == INF_DELETE) {
		if (key) {
			if (!json_path(pod, "metadata.deletionTimestamp"))
				exp_deletion_observed(c->exp, key);
			wq_add(c->q, key);
		}
		return;
	}
	if (ev == INF_ADD) {
		if (key) {
			if (json_path(pod, "metadata.deletionTimestamp"))
				exp_deletion_observed(c->exp, key);
			else
				exp_creation_observed(c->exp, key);
			wq_add(c->q, key);
		} else
			enqueue_matching(c, pod);
		return;
	}
	if (key && !json_path(old, "metadata.deletionTimestamp") && json_path(pod, "metadata.deletionTimestamp"))
		exp_deletion_observed(c->exp, key);
	_cleanup_free_ char *okey = pod_owner_key(c, old);
	if (okey && (!key || strcmp(okey, key)))
		wq_add(c->q, okey);
	if (key)
		wq_add(c->q, key);
	else
		enqueue_matching(c, pod);
	if (!key && !json_equal(labels_of(old), labels_of(pod)))
		enqueue_matching(c, old);
}

static void on_owner(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)ev, (void)old;
	ctl_enqueue_obj(ud, obj);
}

void rs_ctl_init(Ctl *c, Manager *m, bool rc)
{
	*c = (Ctl){ .m = m, .sync = rs_sync, .map_selector = rc };
	c->name = rc ? "replicationcontroller" : "replicaset";
	c->kind = rc ? "ReplicationController" : "ReplicaSet";
	c->api_version = rc ? "v1" : "apps/v1";
	c->coll_fmt = rc ? "/api/v1/namespaces/%s/replicationcontrollers" : "/apis/apps/v1/namespaces/%s/replicasets";
	c->inf = rc ? m->rc : m->rs;
	c->q = wq_new(m->now_ms);
	c->exp = exp_new(m->now_ms);
	informer_add_handler(c->inf, on_owner, c);
	informer_add_handler(m->pods, on_pod, c);
}
