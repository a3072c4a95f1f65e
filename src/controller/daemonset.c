/* daemonset.c - the DaemonSet controller: one pod per eligible node, as
 * Kubernetes' DaemonSetsController.
 *
 * Eligibility (ds_node_should_run): nodeSelector, required node affinity
 * (matchExpressions on labels, matchFields on metadata.name) and taints
 * against the template's tolerations plus the ones every daemon pod gets
 * (not-ready/unreachable NoExecute; disk/memory/pid-pressure, unschedulable
 * NoSchedule; network-unavailable for hostNetwork).  An untolerated NoSchedule
 * taint stops new pods; only NoExecute evicts an existing one.
 *
 * Pods are "<ds>-<5 chars>" with labels controller-revision-hash and
 * pod-template-generation, and target their node only through
 * spec.affinity.nodeAffinity required matchFields metadata.name In [node]:
 * the scheduler binds them.  sync(ns/name): make the ControllerRevision of
 * the template (history.c), create missing pods, delete extra, misscheduled,
 * failed pods and pods whose node is gone; then, when nothing else was done,
 * roll old pods (RollingUpdate maxUnavailable/maxSurge, or OnDelete: never);
 * write status; prune history.
 *
 * Pods and ControllerRevisions are claimed first (claim.c): orphans the
 * selector matches are adopted, owned ones that stopped matching released,
 * so a DaemonSet deleted with --cascade=orphan and created again takes its
 * pods back without restarting them (their revision hash still matches).
 */
#include "controller-internal.h"
#include "claim.h"
#include "../base/cleanup.h"
#include "../base/limits.h"
#include "../base/log.h"
#include "../shared/json.h"
#include <stdio.h>
#include <string.h>

#define HASH_LABEL "controller-revision-hash"
#define GEN_LABEL "pod-template-generation"

/* ---- eligibility ---- */

static bool str_in(const json_t *values, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(values, i, v)
		if (s && json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

/* One NodeSelectorRequirement against a value (NULL: absent). */
static bool requirement_matches(const json_t *req, const char *val)
{
	const char *op = json_str(req, "operator") ?: "";
	json_t *values = json_object_get(req, "values");
	if (!strcmp(op, "In"))
		return val && str_in(values, val);
	if (!strcmp(op, "NotIn"))
		return !val || !str_in(values, val);
	if (!strcmp(op, "Exists"))
		return val != NULL;
	if (!strcmp(op, "DoesNotExist"))
		return val == NULL;
	if (!strcmp(op, "Gt") || !strcmp(op, "Lt")) {
		const char *lim = json_string_value(json_array_get(values, 0));
		char *e1, *e2;
		if (!val || !lim)
			return false;
		long long a = strtoll(val, &e1, 10), b = strtoll(lim, &e2, 10);
		if (*e1 || *e2 || e1 == val || e2 == lim)
			return false;
		return !strcmp(op, "Gt") ? a > b : a < b;
	}
	return false;
}

static bool term_matches(const json_t *term, const json_t *node)
{
	json_t *exprs = json_object_get(term, "matchExpressions"), *fields = json_object_get(term, "matchFields");
	if (!json_array_size(exprs) && !json_array_size(fields))
		return false;
	json_t *labels = json_path(node, "metadata.labels");
	size_t i;
	json_t *r;
	json_array_foreach(exprs, i, r)
		if (!requirement_matches(r, json_str(labels, json_str(r, "key") ?: "")))
			return false;
	json_array_foreach(fields, i, r) {
		const char *key = json_str(r, "key") ?: "";
		if (strcmp(key, "metadata.name") || !requirement_matches(r, obj_meta(node, "name")))
			return false;
	}
	return true;
}

static bool affinity_matches(const json_t *spec, const json_t *node)
{
	json_t *req = json_path(spec, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
	if (!req || json_is_null(req))
		return true;
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(req, "nodeSelectorTerms"), i, t)
		if (term_matches(t, node))
			return true;
	return false;
}

static bool selector_matches(const json_t *spec, const json_t *node)
{
	json_t *labels = json_path(node, "metadata.labels");
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(spec, "nodeSelector"), k, v) {
		const char *have = json_str(labels, k);
		if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
			return false;
	}
	return true;
}

static bool tolerates(const json_t *tol, const json_t *taint)
{
	const char *teff = json_str(tol, "effect") ?: "", *eff = json_str(taint, "effect") ?: "";
	if (*teff && strcmp(teff, eff))
		return false;
	const char *tkey = json_str(tol, "key") ?: "", *key = json_str(taint, "key") ?: "";
	const char *op = json_str(tol, "operator") ?: "Equal";
	if (!*tkey)
		return !strcmp(op, "Exists");
	if (strcmp(tkey, key))
		return false;
	if (!strcmp(op, "Exists"))
		return true;
	return !strcmp(op, "Equal") && !strcmp(json_str(tol, "value") ?: "", json_str(taint, "value") ?: "");
}

static bool taint_tolerated(const json_t *tolerations, const json_t *taint)
{
	size_t i;
	json_t *t;
	json_array_foreach(tolerations, i, t)
		if (tolerates(t, taint))
			return true;
	return false;
}

void ds_node_should_run(const json_t *node, const json_t *spec, bool *should_run, bool *should_continue)
{
	*should_run = *should_continue = false;
	const char *want = json_str(spec, "nodeName");
	if (want && *want && strcmp(want, obj_meta(node, "name") ?: ""))
		return;
	if (!selector_matches(spec, node) || !affinity_matches(spec, node))
		return;
	bool run = true, cont = true;
	size_t i;
	json_t *taint;
	json_t *tols = json_object_get(spec, "tolerations");
	json_array_foreach(json_path(node, "spec.taints"), i, taint) {
		const char *eff = json_str(taint, "effect") ?: "";
		if (strcmp(eff, "NoSchedule") && strcmp(eff, "NoExecute"))
			continue;
		if (taint_tolerated(tols, taint))
			continue;
		run = false;
		if (!strcmp(eff, "NoExecute"))
			cont = false;
	}
	*should_run = run;
	*should_continue = cont;
}

/* ---- the daemon pod ---- */

static void add_toleration(json_t *tols, const char *key, const char *effect)
{
	size_t i;
	json_t *t;
	json_array_foreach(tols, i, t)
		if (!strcmp(json_str(t, "key") ?: "", key) && !strcmp(json_str(t, "effect") ?: "", effect) &&
		    !strcmp(json_str(t, "operator") ?: "Equal", "Exists") && !json_str(t, "value"))
			return;
	json_array_append_new(tols, json_pack("{s:s, s:s, s:s}", "key", key, "operator", "Exists", "effect", effect));
}

json_t *ds_pod_template(const json_t *ds)
{
	json_t *tmpl = obj_copy_or_new(json_path(ds, "spec.template"));
	json_t *spec = json_obj_ensure(tmpl, "spec");
	json_t *tols = json_object_get(spec, "tolerations");
	if (!json_is_array(tols)) {
		tols = json_array();
		json_object_set_new(spec, "tolerations", tols);
	}
	add_toleration(tols, "node.kubernetes.io/not-ready", "NoExecute");
	add_toleration(tols, "node.kubernetes.io/unreachable", "NoExecute");
	add_toleration(tols, "node.kubernetes.io/disk-pressure", "NoSchedule");
	add_toleration(tols, "node.kubernetes.io/memory-pressure", "NoSchedule");
	add_toleration(tols, "node.kubernetes.io/pid-pressure", "NoSchedule");
	add_toleration(tols, "node.kubernetes.io/unschedulable", "NoSchedule");
	if (json_is_true(json_object_get(spec, "hostNetwork")))
		add_toleration(tols, "node.kubernetes.io/network-unavailable", "NoSchedule");
	return tmpl;
}

const char *ds_pod_node(const json_t *pod)
{
	const char *n = json_str(json_object_get(pod, "spec"), "nodeName");
	if (n && *n)
		return n;
	json_t *terms = json_path(pod, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
				       "nodeSelectorTerms");
	size_t i, j;
	json_t *t, *f;
	json_array_foreach(terms, i, t)
		json_array_foreach(json_object_get(t, "matchFields"), j, f)
			if (!strcmp(json_str(f, "key") ?: "", "metadata.name") && !strcmp(json_str(f, "operator") ?: "", "In") &&
			    json_array_size(json_object_get(f, "values")) == 1)
				return json_string_value(json_array_get(json_object_get(f, "values"), 0));
	return NULL;
}

int ds_max_unavailable(const json_t *ds, int desired)
{
	json_t *v = json_path(ds, "spec.updateStrategy.rollingUpdate.maxUnavailable");
	int surge = ds_max_surge(ds, desired);
	int n = int_or_percent(v, desired, true, surge > 0 ? 0 : 1);
	if (n == 0 && surge == 0)
		n = 1;  /* validation forbids 0/0; be safe */
	return n;
}

int ds_max_surge(const json_t *ds, int desired)
{
	return int_or_percent(json_path(ds, "spec.updateStrategy.rollingUpdate.maxSurge"), desired, true, 0);
}

/* ---- one sync ---- */

typedef struct NodeView {
	const json_t *node;
	bool run, cont;
	json_t *pods;     /* live (not terminating) pods targeting it, oldest first */
} NodeView;

typedef struct DsSync {
	Ctl *c;
	const char *key, *ns, *name;
	json_t *ds, *tmpl;
	char hash[64], gen[24];
	NodeView *nv;
	size_t nn;
	json_t *orphaned;  /* pods whose node does not exist */
	json_t *create;    /* node names */
	json_t *delete;    /* pods */
} DsSync;

static int64_t ctime_of(const json_t *o) { return obj_time(o, "metadata.creationTimestamp"); }

static int cmp_pod_age(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int64_t tx = ctime_of(x), ty = ctime_of(y);
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(obj_meta(x, "name") ?: "", obj_meta(y, "name") ?: "");
}

static void sort_array(json_t *arr, int (*cmp)(const void *, const void *))
{
	size_t n = json_array_size(arr);
	if (n < 2)
		return;
	json_t **v = xmalloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(obj_meta(*(json_t *const *)a, "name") ?: "", obj_meta(*(json_t *const *)b, "name") ?: "");
}

static bool pod_updated(DsSync *s, const json_t *pod)
{
	return !strcmp(json_str(json_path(pod, "metadata.labels"), HASH_LABEL) ?: "", s->hash);
}

static NodeView *node_view(DsSync *s, const char *name)
{
	for (size_t i = 0; name && i < s->nn; i++)
		if (!strcmp(obj_meta(s->nv[i].node, "name") ?: "", name))
			return &s->nv[i];
	return NULL;
}

/* Pods the DaemonSet controls after claiming, grouped by node. */
static int group_pods(DsSync *s, json_t *nodes, Error **err)
{
	sort_array(nodes, cmp_name);
	s->nn = json_array_size(nodes);
	s->nv = xcalloc(s->nn + 1, sizeof(*s->nv));
	json_t *spec = json_object_get(s->tmpl, "spec");
	for (size_t i = 0; i < s->nn; i++) {
		s->nv[i].node = json_array_get(nodes, i);
		s->nv[i].pods = json_array();
		ds_node_should_run(s->nv[i].node, spec, &s->nv[i].run, &s->nv[i].cont);
	}
	_cleanup_json_ json_t *all = informer_list(s->c->m->pods, s->ns);
	ClaimSpec cs = { .resource_fmt = "/api/v1/namespaces/%s/pods", .match = claim_selector_matches };
	_cleanup_json_ json_t *mine = NULL;
	int r = ctl_claim(s->c, s->ds, all, &cs, &mine, err);
	if (r < 0)
		return r;
	sort_array(mine, cmp_pod_age);
	size_t i;
	json_t *pod;
	json_array_foreach(mine, i, pod) {
		if (json_path(pod, "metadata.deletionTimestamp"))
			continue;
		NodeView *v = node_view(s, ds_pod_node(pod));
		if (v)
			json_array_append(v->pods, pod);
		else
			json_array_append(s->orphaned, pod);
	}
	return 0;
}

static bool pod_failed(const json_t *pod)
{
	return !strcmp(json_str(json_object_get(pod, "status"), "phase") ?: "", "Failed");
}

/* What the nodes need: creations, and deletions of extra/misscheduled/failed pods. */
static void plan_nodes(DsSync *s, int surge)
{
	size_t i;
	json_t *pod;
	json_array_foreach(s->orphaned, i, pod)
		json_array_append(s->delete, pod);
	for (size_t n = 0; n < s->nn; n++) {
		NodeView *v = &s->nv[n];
		size_t live = 0;
		json_array_foreach(v->pods, i, pod) {
			if (!v->cont || pod_failed(pod))
				json_array_append(s->delete, pod);
			else
				live++;
		}
		if (!v->cont)
			continue;
		if (v->run && !live) {
			json_array_append_new(s->create, json_string(obj_meta(v->node, "name")));
			continue;
		}
		if (live < 2)
			continue;
		/* duplicates: during a surge keep one old and one updated pod for the update to settle */
		bool kept_old = false, kept_new = false;
		json_array_foreach(v->pods, i, pod) {
			if (pod_failed(pod))
				continue;
			bool upd = pod_updated(s, pod);
			bool *kept = upd && surge > 0 ? &kept_new : &kept_old;
			if (!*kept)
				*kept = true;
			else
				json_array_append(s->delete, pod);
		}
	}
}

static bool available(DsSync *s, const json_t *pod)
{
	int64_t min_ready = json_int(json_object_get(s->ds, "spec"), "minReadySeconds", 0);
	return pod_is_available(pod, min_ready, mgr_now_s(s->c->m));
}

/* RollingUpdate: which old pods to delete (and, with maxSurge, where to start new ones first). */
static void plan_rolling(DsSync *s, int desired)
{
	int max_unavail = ds_max_unavailable(s->ds, desired), max_surge = ds_max_surge(s->ds, desired);
	int unavailable = 0, surged = 0;
	_cleanup_json_ json_t *replace = json_array(), *candidates = json_array();
	for (size_t n = 0; n < s->nn; n++) {
		NodeView *v = &s->nv[n];
		if (!v->run)
			continue;
		json_t *newp = NULL, *oldp = NULL;
		size_t i;
		json_t *pod;
		json_array_foreach(v->pods, i, pod)
			if (pod_updated(s, pod))
				newp = newp ?: pod;
			else
				oldp = oldp ?: pod;
		if (!newp && !oldp) {
			unavailable++;
			continue;
		}
		if (newp && oldp) {
			/* a surge in progress: the old one goes once the new one is available */
			if (available(s, newp))
				json_array_append(s->delete, oldp);
			else
				surged++;
			continue;
		}
		if (newp) {
			unavailable += !available(s, newp);
			continue;
		}
		if (!available(s, oldp))
			json_array_append(replace, oldp);
		else
			json_array_append(candidates, oldp);
	}
	size_t i;
	json_t *pod;
	json_array_foreach(replace, i, pod)
		json_array_append(s->delete, pod);
	if (max_surge > 0) {
		json_array_foreach(candidates, i, pod)
			if (surged < max_surge) {
				json_array_append_new(s->create, json_string(ds_pod_node(pod)));
				surged++;
			}
		return;
	}
	json_array_foreach(candidates, i, pod)
		if (unavailable < max_unavail) {
			json_array_append(s->delete, pod);
			unavailable++;
		}
}

static json_t *daemon_pod(DsSync *s, const char *node)
{
	json_t *meta = json_pack("{s:s, s:s}", "namespace", s->ns, "generateName", "");
	_cleanup_free_ char *gen = xasprintf("%s-", s->name);
	json_object_set_new(meta, "generateName", json_string(gen));
	json_t *labels = obj_copy_or_new(json_path(s->tmpl, "metadata.labels"));
	json_object_set_new(labels, HASH_LABEL, json_string(s->hash));
	json_object_set_new(labels, GEN_LABEL, json_string(s->gen));
	json_object_set_new(meta, "labels", labels);
	json_t *a = json_path(s->tmpl, "metadata.annotations");
	if (a)
		json_object_set_new(meta, "annotations", json_deep_copy(a));
	json_object_set_new(meta, "ownerReferences", json_pack("[o]", owner_ref_new(s->ds, "apps/v1", "DaemonSet")));
	json_t *spec = json_deep_copy(json_object_get(s->tmpl, "spec"));
	json_t *na = json_obj_ensure(json_obj_ensure(spec, "affinity"), "nodeAffinity");
	json_object_set_new(na, "requiredDuringSchedulingIgnoredDuringExecution",
			    json_pack("{s:[{s:[{s:s, s:s, s:[s]}]}]}", "nodeSelectorTerms", "matchFields", "key",
				      "metadata.name", "operator", "In", "values", node));
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", meta, "spec", spec);
}

static int act(DsSync *s, Error **err)
{
	int ncreate = (int)json_array_size(s->create), ndelete = (int)json_array_size(s->delete);
	if (ncreate > (int)BERTH_MAX_CONTROLLER_BURST)
		ncreate = BERTH_MAX_CONTROLLER_BURST;
	if (ndelete > (int)BERTH_MAX_CONTROLLER_BURST)
		ndelete = BERTH_MAX_CONTROLLER_BURST;
	if (!ncreate && !ndelete)
		return 0;
	exp_expect(s->c->exp, s->key, ncreate, ndelete);
	_cleanup_free_ char *coll = xasprintf("/api/v1/namespaces/%s/pods", s->ns);
	for (int i = 0; i < ndelete; i++) {
		json_t *pod = json_array_get(s->delete, (size_t)i);
		_cleanup_free_ char *path = xasprintf("%s/%s", coll, obj_meta(pod, "name"));
		int r = kube_delete(s->c->m->kc, path, err);
		if (r == -ENOENT) {
			exp_lower(s->c->exp, s->key, 0, 1);
			err_freep(err);
		} else if (r < 0) {
			exp_lower(s->c->exp, s->key, ncreate, ndelete - i);
			return err_prefix(err, "daemon set '%s': delete pod '%s'", s->key, obj_meta(pod, "name"));
		}
	}
	for (int i = 0; i < ncreate; i++) {
		_cleanup_json_ json_t *pod = daemon_pod(s, json_string_value(json_array_get(s->create, (size_t)i)));
		int r = kube_post(s->c->m->kc, coll, pod, NULL, err);
		if (r < 0) {
			exp_lower(s->c->exp, s->key, ncreate - i, 0);
			return err_prefix(err, "daemon set '%s': create pod", s->key);
		}
	}
	return 1;
}

/* ---- status ---- */

static json_t *compute_status(DsSync *s, int64_t *wait)
{
	int desired = 0, current = 0, missched = 0, ready = 0, avail = 0, updated = 0;
	int64_t min_ready = json_int(json_object_get(s->ds, "spec"), "minReadySeconds", 0);
	*wait = 0;
	for (size_t n = 0; n < s->nn; n++) {
		NodeView *v = &s->nv[n];
		json_t *pod = json_array_get(v->pods, 0);
		desired += v->run;
		if (!pod)
			continue;
		if (!v->run) {
			missched++;
			continue;
		}
		current++;
		if (pod_is_ready(pod)) {
			ready++;
			if (available(s, pod))
				avail++;
			else
				*wait = min_ready;
		}
		size_t i;
		json_t *p;
		bool upd = false;
		json_array_foreach(v->pods, i, p)
			upd |= pod_updated(s, p);
		updated += upd;
	}
	json_t *st = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:I}", "desiredNumberScheduled", desired,
			       "currentNumberScheduled", current, "numberMisscheduled", missched, "numberReady", ready,
			       "numberAvailable", avail, "updatedNumberScheduled", updated, "numberUnavailable",
			       desired - avail > 0 ? desired - avail : 0, "observedGeneration",
			       (json_int_t)json_int(json_object_get(s->ds, "metadata"), "generation", 0));
	json_t *cc = json_path(s->ds, "status.collisionCount");
	if (cc)
		json_object_set(st, "collisionCount", cc);
	json_t *conds = json_path(s->ds, "status.conditions");
	if (conds)
		json_object_set(st, "conditions", conds);
	return st;
}

static int write_status(DsSync *s, json_t *st, Error **err)
{
	json_t *cur = json_object_get(s->ds, "status");
	static const char *const keys[] = { "desiredNumberScheduled", "currentNumberScheduled", "numberMisscheduled",
					    "numberReady", "numberAvailable", "updatedNumberScheduled",
					    "numberUnavailable", "observedGeneration" };
	bool same = true;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		same &= json_int(cur, keys[i], -1) == json_int(st, keys[i], -2);
	if (same)
		return 0;
	_cleanup_json_ json_t *copy = json_deep_copy(s->ds);
	json_object_set(copy, "status", st);
	_cleanup_free_ char *path = xasprintf("/apis/apps/v1/namespaces/%s/daemonsets/%s/status", s->ns, s->name);
	int r = kube_put(s->c->m->kc, path, copy, NULL, err);
	return r == -ENOENT ? 0 : r;
}

/* Revisions in use: the update revision and any a pod still carries. */
static json_t *live_revisions(DsSync *s, const json_t *revs, const json_t *upd)
{
	json_t *live = json_pack("[s]", obj_meta(upd, "name") ?: "");
	size_t i;
	json_t *cr;
	json_array_foreach(revs, i, cr) {
		const char *h = json_str(json_path(cr, "metadata.labels"), HASH_LABEL);
		bool used = false;
		for (size_t n = 0; h && n < s->nn && !used; n++) {
			size_t j;
			json_t *pod;
			json_array_foreach(s->nv[n].pods, j, pod)
				used |= !strcmp(json_str(json_path(pod, "metadata.labels"), HASH_LABEL) ?: "", h);
		}
		if (used)
			json_array_append_new(live, json_string(obj_meta(cr, "name")));
	}
	return live;
}

static void ds_sync_free(DsSync *s)
{
	for (size_t i = 0; i < s->nn; i++)
		json_decref(s->nv[i].pods);
	free(s->nv);
	json_decref(s->tmpl);
	json_decref(s->orphaned);
	json_decref(s->create);
	json_decref(s->delete);
}

static int ds_sync(Ctl *c, const char *key, Error **err)
{
	char ns[256], name[256];
	key_split(key, ns, sizeof(ns), name, sizeof(name));
	_cleanup_json_ json_t *ds = informer_get(c->inf, ns, name);
	if (!ds) {
		exp_delete(c->exp, key);
		return 0;
	}
	if (json_path(ds, "metadata.deletionTimestamp"))
		return 0;
	/* expectations before the pods are listed (see replicaset.c) */
	bool satisfied = exp_satisfied(c->exp, key);
	_cleanup_json_ json_t *revs = NULL;
	int r = hist_claim(c, ds, &revs, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *upd = NULL;
	r = hist_update_revision(c, ds, HASH_LABEL, revs, -1, &upd, err);
	if (r < 0)
		return r;
	DsSync s = { .c = c, .key = key, .ns = ns, .name = name, .ds = ds };
	snprintf(s.hash, sizeof(s.hash), "%s", json_str(json_path(upd, "metadata.labels"), HASH_LABEL) ?: "");
	snprintf(s.gen, sizeof(s.gen), "%lld", (long long)json_int(json_object_get(ds, "metadata"), "generation", 1));
	s.tmpl = ds_pod_template(ds);
	s.orphaned = json_array();
	s.create = json_array();
	s.delete = json_array();
	_cleanup_json_ json_t *nodes = informer_list(c->m->nodes, NULL);
	if ((r = group_pods(&s, nodes, err)) < 0) {
		ds_sync_free(&s);
		return r;
	}
	int desired = 0;
	for (size_t i = 0; i < s.nn; i++)
		desired += s.nv[i].run;
	bool on_delete = !strcmp(json_str(json_path(ds, "spec.updateStrategy"), "type") ?: "", "OnDelete");
	if (satisfied) {
		plan_nodes(&s, on_delete ? 0 : ds_max_surge(ds, desired));
		if (!json_array_size(s.create) && !json_array_size(s.delete) && !on_delete)
			plan_rolling(&s, desired);
		r = act(&s, err);
	}
	int64_t wait = 0;
	_cleanup_json_ json_t *st = compute_status(&s, &wait);
	_cleanup_err_ Error *serr = NULL;
	int rs = write_status(&s, st, &serr);
	if (r >= 0 && rs < 0) {
		*err = TAKE_PTR(serr);
		r = rs;
	}
	if (r >= 0) {
		_cleanup_json_ json_t *live = live_revisions(&s, revs, upd);
		hist_prune(c, ds, revs, live);
	}
	if (wait > 0)
		wq_add_after(c->q, key, wait * 1000);
	ds_sync_free(&s);
	return r < 0 ? r : 0;
}

/* ---- event handlers ---- */

static void on_pod(void *ud, InformerEvent ev, const json_t *old, const json_t *pod)
{
	ctl_pod_event(ud, "DaemonSet", ev, old, pod);
	if (ev != INF_DELETE)
		ctl_enqueue_selecting(ud, pod);  /* an orphan: a DaemonSet may adopt it */
}

static void enqueue_all(Ctl *c)
{
	_cleanup_json_ json_t *all = informer_list(c->inf, NULL);
	size_t i;
	json_t *ds;
	json_array_foreach(all, i, ds)
		ctl_enqueue_obj(c, ds);
}

static void on_node(void *ud, InformerEvent ev, const json_t *old, const json_t *node)
{
	Ctl *c = ud;
	if (ev == INF_UPDATE && json_equal(json_path(old, "metadata.labels"), json_path(node, "metadata.labels")) &&
	    json_equal(json_path(old, "spec"), json_path(node, "spec")))
		return;  /* heartbeats and status: nothing changes for daemon sets */
	enqueue_all(c);
}

static void on_ds(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)ev, (void)old;
	ctl_enqueue_obj(ud, obj);
}

static void on_revision(void *ud, InformerEvent ev, const json_t *old, const json_t *cr)
{
	(void)old;
	Ctl *c = ud;
	const json_t *ref = obj_controller_ref(cr);
	if (!ref && ev != INF_DELETE) {
		ctl_enqueue_selecting(c, cr);
		return;
	}
	if (ev == INF_UPDATE || !ref || strcmp(json_str(ref, "kind") ?: "", "DaemonSet"))
		return;
	_cleanup_free_ char *key = xasprintf("%s/%s", obj_meta(cr, "namespace") ?: "", json_str(ref, "name") ?: "");
	wq_add(c->q, key);
}

void ds_ctl_init(Ctl *c, Manager *m)
{
	*c = (Ctl){ .m = m, .sync = ds_sync, .name = "daemonset", .kind = "DaemonSet", .api_version = "apps/v1",
		    .coll_fmt = "/apis/apps/v1/namespaces/%s/daemonsets" };
	c->inf = m->ds;
	c->q = wq_new(m->now_ms);
	c->exp = exp_new(m->now_ms);
	informer_add_handler(m->ds, on_ds, c);
	informer_add_handler(m->pods, on_pod, c);
	informer_add_handler(m->nodes, on_node, c);
	informer_add_handler(m->crs, on_revision, c);
}
