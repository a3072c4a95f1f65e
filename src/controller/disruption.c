/* disruption.c - the disruption controller: keeps the status of every
 * PodDisruptionBudget (policy/v1) as Kubernetes' DisruptionController does,
 * since the eviction subresource (apiserver/eviction.c), `kubectl drain`
 * and the scheduler's preemption all read it.
 *
 * For a PDB, the pods of its namespace its selector matches (an empty or
 * missing selector matches none): expectedPods is the sum of their
 * controllers' scale (a Deployment through its ReplicaSet, a bare
 * ReplicaSet, StatefulSet, ReplicationController; spec.replicas) for
 * maxUnavailable and a percentage minAvailable, and the plain pod count for
 * an integer minAvailable; desiredHealthy follows from it; currentHealthy
 * counts Ready pods that are not being deleted and not recorded in
 * status.disruptedPods (the eviction subresource puts a pod there when it
 * spends a disruption, and it stays two minutes at most, or until the pod
 * is deleting); disruptionsAllowed = currentHealthy - desiredHealthy, never
 * below 0 and 0 while no pod is expected.  The DisruptionAllowed condition
 * says SufficientPods / InsufficientPods; a sync that cannot compute the
 * counts (a pod whose controller is unknown) writes disruptionsAllowed 0
 * with reason SyncFailed (the fail-safe), except on a write conflict, which
 * only retries.
 *
 * Status is written with PUT on the status subresource carrying the cached
 * resourceVersion, so a decrement by an eviction that the cache has not
 * seen yet is never overwritten: the write conflicts and the sync runs
 * again on the newer object.  Pods, PDBs and nothing else trigger a sync
 * (scale changes reach the PDB through the pods they create or delete),
 * plus a delayed one when a disruptedPods entry expires.
 */
#include "controller-internal.h"
#include "../base/cleanup.h"
#include "../base/log.h"
#include "../shared/json.h"
#include <errno.h>
#include <string.h>

#define PDB_DELETION_TIMEOUT_S 120  /* Kubernetes' DeletionTimeout */

/* ---- matching ---- */

bool pdb_selects(const json_t *pdb, const json_t *pod)
{
	if (strcmp(obj_meta(pdb, "namespace") ?: "", obj_meta(pod, "namespace") ?: ""))
		return false;
	const json_t *sel = json_path(pdb, "spec.selector");
	if (!json_object_size(json_object_get(sel, "matchLabels")) &&
	    !json_array_size(json_object_get(sel, "matchExpressions")))
		return false;  /* nil or empty selects nothing */
	return sel_matches(sel, json_path(pod, "metadata.labels"));
}

/* ---- expected scale ---- */

static bool ref_is(const json_t *ref, const char *kind, const char *group)
{
	if (strcmp(json_str(ref, "kind") ?: "", kind))
		return false;
	const char *av = json_str(ref, "apiVersion") ?: "";
	const char *slash = strchr(av, '/');
	size_t n = slash ? (size_t)(slash - av) : 0;
	if (!*group)
		return !slash;
	return (n == strlen(group) && !strncmp(av, group, n)) ||
	       (!strcmp(group, "apps") && n == 10 && !strncmp(av, "extensions", 10));
}

/* The object of inf named by ref in ns with ref's uid (new ref) or NULL. */
static json_t *ref_get(Informer *inf, const char *ns, const json_t *ref)
{
	json_t *o = informer_get(inf, ns, json_str(ref, "name") ?: "");
	if (o && strcmp(obj_meta(o, "uid") ?: "", json_str(ref, "uid") ?: "")) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The scale (spec.replicas) of the controller a pod's owner reference
 * `ref` leads to (a ReplicaSet's Deployment when it has one), its uid
 * copied into uid[n]; -ENOENT when the informers know no such controller
 * (kinds other than these four are not looked up through /scale). */
static int controller_scale(Manager *m, const char *ns, const json_t *ref, char *uid, size_t n)
{
	_cleanup_json_ json_t *o = NULL;
	if (ref_is(ref, "ReplicaSet", "apps") && (o = ref_get(m->rs, ns, ref))) {
		const json_t *dref = obj_controller_ref(o);
		if (dref && ref_is(dref, "Deployment", "apps")) {
			_cleanup_json_ json_t *d = ref_get(m->deploy, ns, dref);
			if (!d)
				return -ENOENT;
			json_decref(o);
			o = TAKE_PTR(d);
		}
	} else if (ref_is(ref, "StatefulSet", "apps")) {
		o = ref_get(m->sts, ns, ref);
	} else if (ref_is(ref, "ReplicationController", "")) {
		o = ref_get(m->rc, ns, ref);
	}
	if (!o)
		return -ENOENT;
	snprintf(uid, n, "%s", obj_meta(o, "uid") ?: "");
	return (int)json_int(json_object_get(o, "spec"), "replicas", 1);
}

/* Kubernetes' getExpectedScale: the sum of the scales of the pods'
 * controllers, each once; pods without a controller are named in unmanaged. */
static int expected_scale(Manager *m, const json_t *pods, json_t *unmanaged, int *ret, Error **err)
{
	_cleanup_json_ json_t *seen = json_object(), *counted = json_object();  /* pods' refs, controllers */
	int total = 0;
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod) {
		const json_t *ref = obj_controller_ref(pod);
		if (!ref) {
			json_array_append_new(unmanaged, json_string(obj_meta(pod, "name") ?: ""));
			continue;
		}
		if (json_object_get(seen, json_str(ref, "uid") ?: ""))
			continue;
		char uid[128];
		int scale = controller_scale(m, obj_meta(pod, "namespace") ?: "", ref, uid, sizeof(uid));
		if (scale < 0)
			return err_set(err, ENOENT, "found no controllers for pod \"%s\"", obj_meta(pod, "name") ?: "");
		json_object_set_new(seen, json_str(ref, "uid") ?: "", json_true());
		if (!json_object_get(counted, uid)) {
			json_object_set_new(counted, uid, json_true());
			total += scale;
		}
	}
	*ret = total;
	return 0;
}

static bool is_percent(const json_t *v)
{
	const char *s = json_string_value(v);
	return s && *s && s[strlen(s) - 1] == '%';
}

/* Kubernetes' getExpectedPodCount: expectedPods and desiredHealthy. */
static int expected_counts(Manager *m, const json_t *pdb, const json_t *pods, json_t *unmanaged, int *expected,
			   int *desired, Error **err)
{
	const json_t *spec = json_object_get(pdb, "spec");
	const json_t *max_un = json_object_get(spec, "maxUnavailable"), *min_av = json_object_get(spec, "minAvailable");
	*expected = *desired = 0;
	if (max_un && !json_is_null(max_un)) {
		if (json_is_string(max_un) && !is_percent(max_un))
			return err_set(err, EINVAL, "invalid value for IntOrString: invalid type: string is not a percentage");
		int r = expected_scale(m, pods, unmanaged, expected, err);
		if (r < 0)
			return r;
		int mu = int_or_percent(max_un, *expected, true, 0);
		*desired = *expected - mu < 0 ? 0 : *expected - mu;
	} else if (json_is_integer(min_av)) {
		*desired = (int)json_integer_value(min_av);
		*expected = (int)json_array_size(pods);
	} else if (json_is_string(min_av)) {
		if (!is_percent(min_av))
			return err_set(err, EINVAL, "invalid value for IntOrString: invalid type: string is not a percentage");
		int r = expected_scale(m, pods, unmanaged, expected, err);
		if (r < 0)
			return r;
		*desired = int_or_percent(min_av, *expected, true, 0);
	}
	return 0;
}

/* ---- disrupted pods and health ---- */

/* Kubernetes' buildDisruptedPodMap: the entries of status.disruptedPods
 * still due (pod present, not deleting, recorded less than two minutes
 * ago); *recheck_s the earliest expiry (0 none).  New object. */
static json_t *disrupted_map(Manager *m, const json_t *pdb, const json_t *pods, int64_t now, int64_t *recheck_s)
{
	json_t *out = json_object();
	const json_t *have = json_path(pdb, "status.disruptedPods");
	*recheck_s = 0;
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod) {
		if (json_path(pod, "metadata.deletionTimestamp"))
			continue;
		const char *name = obj_meta(pod, "name") ?: "";
		const json_t *t = json_object_get(have, name);
		if (!t)
			continue;
		_cleanup_json_ json_t *wrap = json_pack("{s:O}", "t", t);  /* names may hold dots */
		int64_t due = obj_time(wrap, "t") + PDB_DELETION_TIMEOUT_S;
		if (due < now) {
			ctl_event(m, pod, "Pod", "controllermanager", "Warning", "NotDeleted",
				  "Pod was expected by PDB %s/%s to be deleted but it wasn't", obj_meta(pdb, "namespace") ?: "",
				  obj_meta(pdb, "name") ?: "");
			continue;
		}
		if (!*recheck_s || due < *recheck_s)
			*recheck_s = due;
		json_object_set(out, name, (json_t *)t);
	}
	return out;
}

static int count_healthy(const json_t *pods, const json_t *disrupted)
{
	int n = 0;
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod)
		if (!json_path(pod, "metadata.deletionTimestamp") &&
		    !json_object_get(disrupted, obj_meta(pod, "name") ?: "") && pod_is_ready(pod))
			n++;
	return n;
}

/* ---- status ---- */

/* apimachinery's SetStatusCondition for DisruptionAllowed. */
static void set_condition(json_t *status, const char *cstatus, const char *reason, const char *msg, int64_t gen,
			  int64_t now)
{
	json_t *c = json_condition_ensure(status, "DisruptionAllowed");
	if (strcmp(json_str(c, "status") ?: "", cstatus) || !json_str(c, "lastTransitionTime")) {
		char ts[40];
		time_rfc3339(ts, sizeof(ts), now);
		json_object_set_new(c, "lastTransitionTime", json_string(ts));
	}
	json_object_set_new(c, "status", json_string(cstatus));
	json_object_set_new(c, "reason", json_string(reason));
	json_object_set_new(c, "message", json_string(msg));
	json_object_set_new(c, "observedGeneration", json_integer(gen));
}

static int put_status(Ctl *c, const json_t *pdb, json_t *status, Error **err)
{
	_cleanup_json_ json_t *copy = json_deep_copy(pdb);
	json_object_set_new(copy, "status", status);
	_cleanup_free_ char *path = xasprintf("/apis/policy/v1/namespaces/%s/poddisruptionbudgets/%s/status",
					      obj_meta(pdb, "namespace") ?: "", obj_meta(pdb, "name") ?: "");
	int r = kube_put(c->m->kc, path, copy, NULL, err);
	return r == -ENOENT ? 0 : r;
}

static int64_t generation_of(const json_t *pdb) { return json_int(json_object_get(pdb, "metadata"), "generation", 0); }

/* Kubernetes' updatePdbStatus: write only what changed. */
static int update_status(Ctl *c, const json_t *pdb, int healthy, int desired, int expected, json_t *disrupted,
			 Error **err)
{
	const json_t *st = json_object_get(pdb, "status");
	int allowed = healthy - desired;
	if (expected <= 0 || allowed <= 0)
		allowed = 0;
	int64_t gen = generation_of(pdb);
	const json_t *cond = json_condition(st, "DisruptionAllowed");
	const char *want_status = allowed > 0 ? "True" : "False", *want_reason = allowed > 0 ? "SufficientPods" :
											      "InsufficientPods";
	bool cond_ok = cond && json_int(st, "observedGeneration", 0) == gen &&
		       !strcmp(json_str(cond, "status") ?: "", want_status) &&
		       !strcmp(json_str(cond, "reason") ?: "", want_reason);
	const json_t *have_dis = json_object_get(st, "disruptedPods");
	bool same_dis = json_object_size(disrupted) == json_object_size(have_dis) &&
			(!json_object_size(disrupted) || json_equal(disrupted, have_dis));
	if (json_int(st, "currentHealthy", 0) == healthy && json_int(st, "desiredHealthy", 0) == desired &&
	    json_int(st, "expectedPods", 0) == expected && json_int(st, "disruptionsAllowed", 0) == allowed &&
	    same_dis && json_int(st, "observedGeneration", 0) == gen && cond_ok)
		return 0;
	json_t *ns = json_pack("{s:I, s:i, s:i, s:i, s:i}", "observedGeneration", (json_int_t)gen, "disruptionsAllowed",
			       allowed, "currentHealthy", healthy, "desiredHealthy", desired, "expectedPods", expected);
	if (json_object_size(disrupted))
		json_object_set(ns, "disruptedPods", disrupted);
	if (json_is_array(json_object_get(st, "conditions")))
		json_object_set_new(ns, "conditions", json_deep_copy(json_object_get(st, "conditions")));
	set_condition(ns, want_status, want_reason, "", gen, mgr_now_s(c->m));
	return put_status(c, pdb, ns, err);
}

/* Kubernetes' failSafe: nothing may be disrupted while the counts are unknown. */
static int fail_safe(Ctl *c, const json_t *pdb, const char *why, Error **err)
{
	const json_t *st = json_object_get(pdb, "status");
	json_t *ns = obj_copy_or_new(st);
	json_object_set_new(ns, "disruptionsAllowed", json_integer(0));
	set_condition(ns, "False", "SyncFailed", why, json_int(st, "observedGeneration", 0), mgr_now_s(c->m));
	if (json_equal(ns, st)) {
		json_decref(ns);
		return 0;
	}
	return put_status(c, pdb, ns, err);
}

/* ---- sync ---- */

static json_t *pdb_pods(Ctl *c, const json_t *pdb)
{
	_cleanup_json_ json_t *all = informer_list(c->m->pods, obj_meta(pdb, "namespace") ?: "");
	json_t *out = json_array();
	size_t i;
	json_t *pod;
	json_array_foreach(all, i, pod)
		if (pdb_selects(pdb, pod))
			json_array_append(out, pod);
	return out;
}

/* pdb with apiVersion set (list items may lack it; Events name it). New ref. */
static json_t *with_api_version(const json_t *pdb)
{
	json_t *o = json_copy((json_t *)pdb);
	json_object_set_new(o, "apiVersion", json_string("policy/v1"));
	json_object_set_new(o, "kind", json_string("PodDisruptionBudget"));
	return o;
}

static int try_sync(Ctl *c, const json_t *pdb_in, const char *key, Error **err)
{
	_cleanup_json_ json_t *pdb = with_api_version(pdb_in);
	_cleanup_json_ json_t *pods = pdb_pods(c, pdb);
	if (!json_array_size(pods))
		ctl_event(c->m, pdb, "PodDisruptionBudget", "controllermanager", "Normal", "NoPods", "No matching pods found");
	_cleanup_json_ json_t *unmanaged = json_array();
	int expected, desired;
	int r = expected_counts(c->m, pdb, pods, unmanaged, &expected, &desired, err);
	if (r < 0) {
		ctl_event(c->m, pdb, "PodDisruptionBudget", "controllermanager", "Warning", "CalculateExpectedPodCountFailed",
			  "Failed to calculate the number of expected pods: %s", err_msg(*err));
		return r;
	}
	if (json_array_size(unmanaged))
		ctl_event(c->m, pdb, "PodDisruptionBudget", "controllermanager", "Warning", "UnmanagedPods",
			  "Pods selected by this PodDisruptionBudget were found to be unmanaged. As a result, the status of "
			  "the PDB cannot be calculated correctly, which may result in undefined behavior. To account for "
			  "these pods please set \".spec.minAvailable\" field of the PDB to an integer value.");
	int64_t now = mgr_now_s(c->m), recheck;
	_cleanup_json_ json_t *disrupted = disrupted_map(c->m, pdb, pods, now, &recheck);
	int healthy = count_healthy(pods, disrupted);
	r = update_status(c, pdb, healthy, desired, expected, disrupted, err);
	if (r >= 0 && recheck)
		wq_add_after(c->q, key, (recheck - now + 1) * 1000);
	return r;
}

static int pdb_sync(Ctl *c, const char *key, Error **err)
{
	char ns[256], name[256];
	key_split(key, ns, sizeof(ns), name, sizeof(name));
	_cleanup_json_ json_t *pdb = informer_get(c->m->pdbs, ns, name);
	if (!pdb)
		return 0;
	int r = try_sync(c, pdb, key, err);
	if (r >= 0 || r == -EEXIST || r == -EBUSY)
		return r;  /* a conflict only retries (the cache is behind) */
	log_debug("disruption: %s: %s", key, err_msg(*err));
	_cleanup_free_ char *why = xstrdup(err_msg(*err));
	err_freep(err);
	r = fail_safe(c, pdb, why, err);
	if (r < 0)
		return r;
	return err_set(err, EAGAIN, "poddisruptionbudget '%s': %s", key, why);
}

/* ---- event handlers ---- */

/* Queue every PDB of pod's namespace that selects it. */
static void enqueue_for_pod(Ctl *c, const json_t *pod)
{
	_cleanup_json_ json_t *pdbs = informer_list(c->m->pdbs, obj_meta(pod, "namespace") ?: "");
	size_t i;
	json_t *pdb;
	json_array_foreach(pdbs, i, pdb)
		if (pdb_selects(pdb, pod))
			ctl_enqueue_obj(c, pdb);
}

static void on_pod(void *ud, InformerEvent ev, const json_t *old, const json_t *pod)
{
	enqueue_for_pod(ud, pod);
	if (ev == INF_UPDATE && old && !json_equal(json_path(old, "metadata.labels"), json_path(pod, "metadata.labels")))
		enqueue_for_pod(ud, old);
}

static void on_pdb(void *ud, InformerEvent ev, const json_t *old, const json_t *pdb)
{
	(void)ev, (void)old;
	ctl_enqueue_obj(ud, pdb);
}

void disruption_ctl_init(Ctl *c, Manager *m)
{
	*c = (Ctl){ .m = m, .sync = pdb_sync, .name = "disruption", .kind = "PodDisruptionBudget",
		    .api_version = "policy/v1" };
	c->inf = m->pdbs;
	c->q = wq_new(m->now_ms);
	c->exp = exp_new(m->now_ms);
	informer_add_handler(m->pdbs, on_pdb, c);
	informer_add_handler(m->pods, on_pod, c);
}
