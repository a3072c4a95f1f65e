/* nodelifecycle.c - the node lifecycle controller (kube-controller-manager's
 * nodelifecycle + taint-eviction parts): notices nodes whose agent stopped
 * reporting, says so in their status, taints them, and evicts the pods that
 * do not tolerate the taint (after their tolerationSeconds), so the workload
 * controllers replace them on other nodes.
 *
 * A node is healthy while its Lease (kube-node-lease/NAME) or its Ready
 * condition's heartbeat keeps changing.  Times are those at which this
 * controller *observed* a change (as Kubernetes does), so the agents' clocks
 * do not matter; every node counts as just heard from when the controller
 * starts.  Only nodes an agent runs are watched: a node that never had a
 * Lease (registered by hand, as benchmarks and tests do) is left alone.
 * Past the grace period (default 40 s) every condition becomes
 * Unknown ("Kubelet stopped posting node status.") and the node gets
 * node.kubernetes.io/unreachable with NoSchedule and NoExecute; a node
 * reporting Ready=False gets node.kubernetes.io/not-ready instead; a Ready
 * node loses both.  Pods of a node marked Unknown get Ready=False.
 *
 * Eviction: a pod on a node with a NoExecute taint it does not tolerate is
 * deleted at once; one it tolerates for S seconds is deleted S seconds after
 * the taint was added (the API server gives every pod 300 s for not-ready
 * and unreachable).  Each node is re-examined every 5 s (the monitor period).
 *
 * Every node's sync first runs nodeipam.c (podCIDR allocation, the
 * control-plane node's taint), for nodes without a Lease too.
 */
#include "controller-internal.h"
#include "../base/cleanup.h"
#include "../base/log.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <pthread.h>
#include <string.h>

#define NODE_MONITOR_PERIOD_MS 5000
#define TAINT_UNREACHABLE "node.kubernetes.io/unreachable"
#define TAINT_NOT_READY "node.kubernetes.io/not-ready"

static int64_t node_grace_ms = 40000;

void controller_set_node_grace_ms(int64_t ms)
{
	if (ms > 0)
		node_grace_ms = ms;
}

/* ---- pure parts (exported for the unit tests) ---- */

const char *node_ready_status(const json_t *node)
{
	json_t *conds = json_path(node, "status.conditions");
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
		if (!strcmp(json_str(c, "type") ?: "", "Ready"))
			return json_str(c, "status") ?: "Unknown";
	return "Unknown";
}

/* Does one toleration tolerate the taint (Kubernetes' ToleratesTaint)? */
bool toleration_matches(const json_t *tol, const json_t *taint)
{
	const char *te = json_str(tol, "effect"), *ke = json_str(taint, "effect") ?: "";
	if (te && *te && strcmp(te, ke))
		return false;
	const char *tk = json_str(tol, "key") ?: "", *kk = json_str(taint, "key") ?: "";
	const char *op = json_str(tol, "operator") ?: "Equal";
	if (!*tk)  /* empty key: operator must be Exists, matches every key */
		return !strcmp(op, "Exists");
	if (strcmp(tk, kk))
		return false;
	if (!strcmp(op, "Exists"))
		return true;
	return !strcmp(json_str(tol, "value") ?: "", json_str(taint, "value") ?: "");
}

/* When must a pod on a node with these taints go?  -1: never (no NoExecute
 * taint it does not tolerate forever); else the epoch second (taint time +
 * the smallest tolerationSeconds of the matching tolerations, or the taint
 * time itself when a NoExecute taint is not tolerated at all). */
int64_t pod_eviction_time(const json_t *pod, const json_t *taints)
{
	json_t *tols = json_path(pod, "spec.tolerations");
	int64_t when = -1;
	size_t i;
	json_t *taint;
	json_array_foreach(taints, i, taint) {
		if (strcmp(json_str(taint, "effect") ?: "", "NoExecute"))
			continue;
		int64_t added = obj_time(taint, "timeAdded");
		/* Kubernetes' getMinTolerationTime: the smallest tolerationSeconds
		 * among the matching tolerations; only unbounded ones: forever */
		bool tolerated = false;
		int64_t secs = -1;
		size_t j;
		json_t *tol;
		json_array_foreach(tols, j, tol) {
			if (!toleration_matches(tol, taint))
				continue;
			tolerated = true;
			json_t *s = json_object_get(tol, "tolerationSeconds");
			if (!json_is_integer(s))
				continue;
			int64_t v = json_integer_value(s) > 0 ? json_integer_value(s) : 0;
			if (secs < 0 || v < secs)
				secs = v;
		}
		int64_t t = !tolerated ? added : secs < 0 ? -1 : added + secs;
		if (t >= 0 && (when < 0 || t < when))
			when = t;
	}
	return when;
}

/* The node's taints with berth's condition taints (unreachable / not-ready,
 * both effects) set for ready_status; existing ones keep their timeAdded.
 * New reference; *changed tells whether it differs from the node's. */
json_t *node_condition_taints(const json_t *node, const char *ready_status, int64_t now_s, bool *changed)
{
	const char *want = !strcmp(ready_status, "Unknown") ? TAINT_UNREACHABLE
			   : !strcmp(ready_status, "False") ? TAINT_NOT_READY : NULL;
	json_t *old = json_path(node, "spec.taints");
	json_t *out = json_array();
	bool had[2] = { false, false };  /* want with NoSchedule, NoExecute */
	*changed = false;
	size_t i;
	json_t *t;
	json_array_foreach(old, i, t) {
		const char *k = json_str(t, "key") ?: "";
		bool ours = !strcmp(k, TAINT_UNREACHABLE) || !strcmp(k, TAINT_NOT_READY);
		if (ours && (!want || strcmp(k, want))) {
			*changed = true;
			continue;
		}
		if (ours)
			had[!strcmp(json_str(t, "effect") ?: "", "NoExecute")] = true;
		json_array_append(out, t);
	}
	if (want) {
		char ts[40];
		time_rfc3339(ts, sizeof(ts), now_s);
		static const char *const effects[] = { "NoSchedule", "NoExecute" };
		for (int e = 0; e < 2; e++)
			if (!had[e]) {
				json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "key", want, "effect", effects[e],
								     "timeAdded", ts));
				*changed = true;
			}
	}
	return out;
}

/* ---- the controller ---- */

typedef struct NodeLife {
	pthread_mutex_t lock;
	json_t *seen;   /* node name -> {"ms": observed time, "stamp": last heartbeat string} */
} NodeLife;

static NodeLife life = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Record a heartbeat (lease renewTime or Ready heartbeat) of a node if it
 * differs from the last one seen. */
static void heartbeat_observe(Manager *m, const char *node, const char *what, const char *stamp)
{
	if (!node || !stamp)
		return;
	_cleanup_free_ char *key = xasprintf("%s %s", what, stamp);
	pthread_mutex_lock(&life.lock);
	if (!life.seen)
		life.seen = json_object();
	json_t *e = json_object_get(life.seen, node);
	if (!e || strcmp(json_str(e, "stamp") ?: "", key))
		json_object_set_new(life.seen, node, json_pack("{s:I, s:s}", "ms", (json_int_t)m->now_ms(), "stamp", key));
	pthread_mutex_unlock(&life.lock);
}

static int64_t heartbeat_last_ms(Manager *m, const char *node)
{
	pthread_mutex_lock(&life.lock);
	json_t *e = life.seen ? json_object_get(life.seen, node) : NULL;
	int64_t ms = e ? json_int(e, "ms", 0) : 0;
	if (!e) {  /* first look: the grace period starts now */
		if (!life.seen)
			life.seen = json_object();
		ms = m->now_ms();
		json_object_set_new(life.seen, node, json_pack("{s:I, s:s}", "ms", (json_int_t)ms, "stamp", ""));
	}
	pthread_mutex_unlock(&life.lock);
	return ms;
}

static const char *ready_heartbeat(const json_t *node)
{
	json_t *conds = json_path(node, "status.conditions");
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
		if (!strcmp(json_str(c, "type") ?: "", "Ready"))
			return json_str(c, "lastHeartbeatTime");
	return NULL;
}

static int node_mark_unknown(Ctl *c, const json_t *node, Error **err)
{
	char ts[40];
	time_rfc3339(ts, sizeof(ts), mgr_now_s(c->m));
	json_t *conds = json_path(node, "status.conditions");
	_cleanup_json_ json_t *out = json_array();
	size_t i;
	json_t *cond;
	json_array_foreach(conds, i, cond) {
		json_t *n = json_deep_copy(cond);
		if (strcmp(json_str(cond, "status") ?: "", "Unknown"))
			json_object_set_new(n, "lastTransitionTime", json_string(ts));
		json_object_set_new(n, "status", json_string("Unknown"));
		json_object_set_new(n, "reason", json_string("NodeStatusUnknown"));
		json_object_set_new(n, "message", json_string("Kubelet stopped posting node status."));
		json_array_append_new(out, n);
	}
	if (!json_array_size(out))
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "Ready", "status", "Unknown",
						     "reason", "NodeStatusUnknown", "message",
						     "Kubelet never posted node status.", "lastTransitionTime", ts));
	_cleanup_free_ char *path = xasprintf("/api/v1/nodes/%s/status", obj_meta(node, "name"));
	_cleanup_json_ json_t *patch = json_pack("{s:{s:O}}", "status", "conditions", out);
	log_info("node lifecycle: node %s stopped posting status: marking it Unknown", obj_meta(node, "name"));
	return kube_patch(c->m->kc, path, patch, NULL, err);
}

static int node_set_taints(Ctl *c, const json_t *node, json_t *taints, Error **err)
{
	_cleanup_free_ char *path = xasprintf("/api/v1/nodes/%s", obj_meta(node, "name"));
	_cleanup_json_ json_t *patch = json_pack("{s:{s:s}, s:{s:O}}", "metadata", "resourceVersion",
						 obj_meta(node, "resourceVersion") ?: "", "spec", "taints", taints);
	return kube_patch(c->m->kc, path, patch, NULL, err);
}

static bool pod_on_node(const json_t *pod, const char *node)
{
	return !strcmp(json_str(json_object_get(pod, "spec"), "nodeName") ?: "", node);
}

/* Pods of an unreachable node: Ready=False (the endpoints drop them). */
static void pods_mark_not_ready(Ctl *c, const json_t *pods, const char *node)
{
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod) {
		if (!pod_on_node(pod, node) || !pod_is_ready(pod))
			continue;
		json_t *conds = json_deep_copy(json_path(pod, "status.conditions"));
		size_t j;
		json_t *cond;
		json_array_foreach(conds, j, cond)
			if (!strcmp(json_str(cond, "type") ?: "", "Ready"))
				json_object_set_new(cond, "status", json_string("False"));
		_cleanup_json_ json_t *patch = json_pack("{s:{s:o}}", "status", "conditions", conds);
		_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s/status", obj_meta(pod, "namespace"),
						      obj_meta(pod, "name"));
		_cleanup_err_ Error *e = NULL;
		if (kube_patch(c->m->kc, path, patch, NULL, &e) < 0)
			log_debug("node lifecycle: pod %s not ready: %s", path, err_msg(e));
	}
}

/* Evict what must go now; returns the ms until the next pending eviction
 * (or -1). */
static int64_t pods_evict(Ctl *c, const json_t *pods, const json_t *node)
{
	const char *name = obj_meta(node, "name");
	json_t *taints = json_path(node, "spec.taints");
	int64_t now = mgr_now_s(c->m), next = -1;
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod) {
		if (!pod_on_node(pod, name) || json_path(pod, "metadata.deletionTimestamp"))
			continue;
		int64_t when = pod_eviction_time(pod, taints);
		if (when < 0)
			continue;
		if (when > now) {
			int64_t ms = (when - now) * 1000;
			if (next < 0 || ms < next)
				next = ms;
			continue;
		}
		_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", obj_meta(pod, "namespace"),
						      obj_meta(pod, "name"));
		_cleanup_err_ Error *e = NULL;
		log_info("node lifecycle: evicting pod %s/%s from node %s (NoExecute taint)",
			 obj_meta(pod, "namespace"), obj_meta(pod, "name"), name);
		if (kube_delete(c->m->kc, path, &e) < 0 && e && e->code != ENOENT)
			log_warn("node lifecycle: evict %s: %s", path, err_msg(e));
	}
	return next;
}

static Informer *lease_informer;

static bool node_has_lease(Ctl *c, const char *name)
{
	(void)c;
	_cleanup_json_ json_t *lease = informer_get(lease_informer, "kube-node-lease", name);
	return lease != NULL;
}

static int node_sync(Ctl *c, const char *key, Error **err)
{
	const char *name = key + (key[0] == '/');
	_cleanup_json_ json_t *node = informer_get(c->inf, NULL, name);
	if (!node)
		node = informer_get(c->inf, "", name);
	if (!node)
		return 0;  /* gone: no more monitoring */
	heartbeat_observe(c->m, name, "ready", ready_heartbeat(node));
	bool wrote;
	int r0 = nodeipam_sync(c, node, &wrote, err);
	if (r0 < 0 || wrote)
		return r0;
	if (!node_has_lease(c, name))
		return 0;  /* no agent ever ran it: nothing to monitor (a Lease event requeues) */
	int64_t last = heartbeat_last_ms(c->m, name);
	const char *ready = node_ready_status(node);
	bool stale = c->m->now_ms() - last > node_grace_ms;
	if (stale && strcmp(ready, "Unknown")) {
		int r = node_mark_unknown(c, node, err);
		wq_add_after(c->q, key, NODE_MONITOR_PERIOD_MS);
		return r;  /* the update event brings us back with the new status */
	}
	bool changed;
	_cleanup_json_ json_t *taints = node_condition_taints(node, ready, mgr_now_s(c->m), &changed);
	if (changed) {
		int r = node_set_taints(c, node, taints, err);
		if (r < 0)
			return r;
	}
	_cleanup_json_ json_t *pods = informer_list(c->m->pods, NULL);
	if (!strcmp(ready, "Unknown"))
		pods_mark_not_ready(c, pods, name);
	int64_t next = pods_evict(c, pods, node);
	wq_add_after(c->q, key, next >= 0 && next < NODE_MONITOR_PERIOD_MS ? next + 10 : NODE_MONITOR_PERIOD_MS);
	return 0;
}

static void on_node(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)old;
	Ctl *c = ud;
	if (ev == INF_DELETE)
		return;
	if (ev == INF_ADD)
		nodeipam_node_added(c);
	heartbeat_observe(c->m, obj_meta(obj, "name"), "ready", ready_heartbeat(obj));
	wq_add(c->q, obj_meta(obj, "name"));
}

static void on_lease(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)old;
	Ctl *c = ud;
	if (ev == INF_DELETE || strcmp(obj_meta(obj, "namespace") ?: "", "kube-node-lease"))
		return;
	heartbeat_observe(c->m, obj_meta(obj, "name"), "lease", json_str(json_object_get(obj, "spec"), "renewTime"));
	if (ev == INF_ADD)
		wq_add(c->q, obj_meta(obj, "name"));
}

void nodelife_ctl_init(Ctl *c, Manager *m, Informer *nodes, Informer *leases)
{
	*c = (Ctl){ .m = m, .sync = node_sync, .name = "nodelifecycle", .inf = nodes };
	c->q = wq_new(m->now_ms);
	c->exp = exp_new(m->now_ms);
	informer_add_handler(nodes, on_node, c);
	lease_informer = leases;
	informer_add_handler(leases, on_lease, c);
}
