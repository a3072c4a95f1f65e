/* statefulset.c - the StatefulSet controller: pods with stable names
 * "<set>-<ordinal>" and stable storage, as Kubernetes' StatefulSetController.
 *
 * sync(ns/name):
 *   1. revisions (history.c): the update revision is the template's; the
 *      current one is status.currentRevision while it exists;
 *   2. for ordinals 0..replicas-1: delete failed pods, create missing ones
 *      (their PVCs "<claim>-<set>-<n>" first; a pod below the partition gets
 *      the current revision's template, others the update revision's);
 *      OrderedReady stops at the first pod that is missing, terminating or
 *      not Running and Ready, Parallel goes on;
 *   3. condemned pods (ordinal >= replicas) are deleted from the highest,
 *      one at a time and only while every replica is healthy (OrderedReady),
 *      with their claims when whenScaled is Delete;
 *   4. RollingUpdate: the highest ordinal >= partition not at the update
 *      revision is deleted (re-created next round), one at a time;
 *   5. status, and currentRevision = updateRevision once every pod is updated
 *      and ready; history pruned beyond revisionHistoryLimit.
 * Pod names are fixed, so a create that races the cache gets 409 and is
 * simply done: no expectations are needed.
 *
 * Pods named "<set>-<n>" that the selector matches and ControllerRevisions
 * are claimed first (claim.c): orphans adopted, owned ones that stopped
 * matching released, so a set deleted with --cascade=orphan and created again
 * takes web-0..N back without restarting them.
 */
#include "controller-internal.h"
#include "claim.h"
#include "../base/cleanup.h"
#include "../base/log.h"
#include "../shared/json.h"
#include <stdio.h>
#include <string.h>

#define REV_LABEL "controller-revision-hash"
#define CR_HASH_LABEL "controller.kubernetes.io/hash"
#define NAME_LABEL "statefulset.kubernetes.io/pod-name"
#define INDEX_LABEL "apps.kubernetes.io/pod-index"

/* ---- pure helpers ---- */

int sts_ordinal(const char *set, const char *pod)
{
	size_t n = strlen(set);
	if (!pod || strncmp(pod, set, n) || pod[n] != '-' || !pod[n + 1])
		return -1;
	long v = 0;
	for (const char *p = pod + n + 1; *p; p++) {
		if (*p < '0' || *p > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (pod[n + 1] == '0' && pod[n + 2])
		return -1;  /* "web-01" is not an ordinal name */
	return (int)v;
}

typedef struct OrdinalOrder {
	const char *set;
	int dir;
} OrdinalOrder;

static int cmp_ordinal(const void *a, const void *b, void *arg)
{
	const OrdinalOrder *o = arg;
	int x = sts_ordinal(o->set, obj_meta(*(json_t *const *)a, "name"));
	int y = sts_ordinal(o->set, obj_meta(*(json_t *const *)b, "name"));
	return x == y ? 0 : (x < y ? -o->dir : o->dir);
}

void sts_sort_ordinal(const char *set, json_t *pods, bool desc)
{
	size_t n = json_array_size(pods);
	if (n < 2)
		return;
	json_t **v = xmalloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(pods, i));
	OrdinalOrder o = { set, desc ? -1 : 1 };
	qsort_r(v, n, sizeof(*v), cmp_ordinal, &o);
	json_array_clear(pods);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(pods, v[i]);
	free(v);
}

static bool terminating(const json_t *pod) { return json_path(pod, "metadata.deletionTimestamp") != NULL; }

static bool running_ready(const json_t *pod)
{
	return !strcmp(json_str(json_object_get(pod, "status"), "phase") ?: "", "Running") && pod_is_ready(pod);
}

static bool healthy(const json_t *pod) { return running_ready(pod) && !terminating(pod); }

static const char *pod_revision(const json_t *pod)
{
	return json_str(json_path(pod, "metadata.labels"), REV_LABEL) ?: "";
}

static const json_t *pod_at(const char *set, const json_t *pods, int ord)
{
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p)
		if (sts_ordinal(set, obj_meta(p, "name")) == ord)
			return p;
	return NULL;
}

int sts_next_update(const char *set, const json_t *pods, int replicas, int partition, const char *update_rev)
{
	if (partition < 0)
		partition = 0;
	for (int ord = replicas - 1; ord >= partition; ord--) {
		const json_t *pod = pod_at(set, pods, ord);
		if (!pod)
			return -2;
		if (strcmp(pod_revision(pod), update_rev) && !terminating(pod))
			return ord;
		if (!healthy(pod))
			return -2;
	}
	return -1;
}

/* ---- one sync ---- */

typedef struct StsSync {
	Ctl *c;
	const char *key, *ns, *name;
	json_t *set;
	json_t *pods;                 /* claimed, with an ordinal name */
	json_t *cur_cr, *upd_cr;      /* revisions */
	const char *cur_rev, *upd_rev;
	int replicas, partition;
	bool monotonic, rolling;
} StsSync;

static char *pods_path(const char *ns) { return xasprintf("/api/v1/namespaces/%s/pods", ns); }

static char *claim_name(const json_t *tmpl, const char *set, int ord)
{
	return xasprintf("%s-%s-%d", obj_meta(tmpl, "name") ?: "", set, ord);
}

static int create_claims(StsSync *s, int ord, Error **err)
{
	const char *when_deleted = json_str(json_path(s->set, "spec.persistentVolumeClaimRetentionPolicy"),
					    "whenDeleted") ?: "Retain";
	_cleanup_free_ char *coll = xasprintf("/api/v1/namespaces/%s/persistentvolumeclaims", s->ns);
	size_t i;
	json_t *t;
	json_array_foreach(json_path(s->set, "spec.volumeClaimTemplates"), i, t) {
		_cleanup_free_ char *name = claim_name(t, s->name, ord);
		_cleanup_json_ json_t *have = informer_get(s->c->m->pvcs, s->ns, name);
		if (have)
			continue;
		json_t *labels = obj_copy_or_new(json_path(t, "metadata.labels"));
		json_t *ml = json_path(s->set, "spec.selector.matchLabels");
		if (json_is_object(ml))
			json_object_update(labels, ml);
		json_t *meta = json_pack("{s:s, s:s, s:o}", "name", name, "namespace", s->ns, "labels", labels);
		json_t *anns = json_path(t, "metadata.annotations");
		if (anns)
			json_object_set_new(meta, "annotations", json_deep_copy(anns));
		if (!strcmp(when_deleted, "Delete")) {
			json_t *ref = owner_ref_new(s->set, "apps/v1", "StatefulSet");
			json_object_set_new(ref, "controller", json_false());
			json_object_set_new(meta, "ownerReferences", json_pack("[o]", ref));
		}
		_cleanup_json_ json_t *pvc = json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind",
						       "PersistentVolumeClaim", "metadata", meta, "spec",
						       obj_copy_or_new(json_object_get(t, "spec")));
		int r = kube_post(s->c->m->kc, coll, pvc, NULL, err);
		if (r == -EEXIST)
			err_freep(err);
		else if (r < 0)
			return err_prefix(err, "stateful set '%s': create claim '%s'", s->key, name);
	}
	return 0;
}

static json_t *stateful_pod(StsSync *s, int ord)
{
	bool use_current = s->rolling && ord < s->partition;
	const json_t *cr = use_current ? s->cur_cr : s->upd_cr;
	const char *rev = use_current ? s->cur_rev : s->upd_rev;
	_cleanup_json_ json_t *tmpl = hist_template(cr);
	_cleanup_free_ char *name = xasprintf("%s-%d", s->name, ord);
	char idx[16];
	snprintf(idx, sizeof(idx), "%d", ord);
	json_t *labels = obj_copy_or_new(json_path(tmpl, "metadata.labels"));
	json_object_set_new(labels, NAME_LABEL, json_string(name));
	json_object_set_new(labels, INDEX_LABEL, json_string(idx));
	json_object_set_new(labels, REV_LABEL, json_string(rev));
	json_t *meta = json_pack("{s:s, s:s, s:o}", "name", name, "namespace", s->ns, "labels", labels);
	json_t *anns = json_path(tmpl, "metadata.annotations");
	if (anns)
		json_object_set_new(meta, "annotations", json_deep_copy(anns));
	json_object_set_new(meta, "ownerReferences", json_pack("[o]", owner_ref_new(s->set, "apps/v1", "StatefulSet")));
	json_t *spec = obj_copy_or_new(json_object_get(tmpl, "spec"));
	json_object_set_new(spec, "hostname", json_string(name));
	const char *svc = json_str(json_object_get(s->set, "spec"), "serviceName");
	if (svc && *svc)
		json_object_set_new(spec, "subdomain", json_string(svc));
	json_t *claims = json_path(s->set, "spec.volumeClaimTemplates");
	if (json_array_size(claims)) {
		json_t *vols = json_object_get(spec, "volumes");
		if (!json_is_array(vols)) {
			vols = json_array();
			json_object_set_new(spec, "volumes", vols);
		}
		size_t i;
		json_t *t;
		json_array_foreach(claims, i, t) {
			const char *vname = obj_meta(t, "name") ?: "";
			for (size_t j = json_array_size(vols); j-- > 0;)
				if (!strcmp(json_str(json_array_get(vols, j), "name") ?: "", vname))
					json_array_remove(vols, j);
			_cleanup_free_ char *cn = claim_name(t, s->name, ord);
			json_array_append_new(vols, json_pack("{s:s, s:{s:s}}", "name", vname, "persistentVolumeClaim",
							      "claimName", cn));
		}
	}
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", meta, "spec", spec);
}

static int create_pod(StsSync *s, int ord, Error **err)
{
	int r = create_claims(s, ord, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *pod = stateful_pod(s, ord);
	_cleanup_free_ char *coll = pods_path(s->ns);
	r = kube_post(s->c->m->kc, coll, pod, NULL, err);
	if (r == -EEXIST) {
		err_freep(err);
		return 0;
	}
	return r < 0 ? err_prefix(err, "stateful set '%s': create pod '%s-%d'", s->key, s->name, ord) : 0;
}

static int delete_pod(StsSync *s, const json_t *pod, Error **err)
{
	_cleanup_free_ char *coll = pods_path(s->ns);
	_cleanup_free_ char *path = xasprintf("%s/%s", coll, obj_meta(pod, "name"));
	int r = kube_delete(s->c->m->kc, path, err);
	if (r == -ENOENT) {
		err_freep(err);
		return 0;
	}
	return r < 0 ? err_prefix(err, "stateful set '%s': delete pod '%s'", s->key, obj_meta(pod, "name")) : 0;
}

static void delete_claims(StsSync *s, int ord)
{
	size_t i;
	json_t *t;
	json_array_foreach(json_path(s->set, "spec.volumeClaimTemplates"), i, t) {
		_cleanup_free_ char *name = claim_name(t, s->name, ord);
		_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/persistentvolumeclaims/%s", s->ns, name);
		_cleanup_err_ Error *e = NULL;
		if (kube_delete(s->c->m->kc, path, &e) < 0 && e->code != ENOENT)
			log_debug("statefulset '%s': delete claim '%s': %s", s->key, name, err_msg(e));
	}
}

static bool pod_done(const json_t *pod)
{
	const char *p = json_str(json_object_get(pod, "status"), "phase") ?: "";
	return !strcmp(p, "Failed") || !strcmp(p, "Succeeded");
}

/* Steps 2-4; returns < 0 on error, else 0 (whether it acted or waits). */
static int manage(StsSync *s, Error **err)
{
	int r;
	for (int ord = 0; ord < s->replicas; ord++) {
		const json_t *pod = pod_at(s->name, s->pods, ord);
		if (pod && pod_done(pod) && !terminating(pod)) {
			if ((r = delete_pod(s, pod, err)) < 0 || s->monotonic)
				return r;
			continue;
		}
		if (!pod) {
			if ((r = create_pod(s, ord, err)) < 0 || s->monotonic)
				return r;
			continue;
		}
		if (!terminating(pod) && (r = create_claims(s, ord, err)) < 0)
			return r;
		if (s->monotonic && !healthy(pod))
			return 0;
	}
	_cleanup_json_ json_t *condemned = json_array();
	size_t i;
	json_t *pod;
	json_array_foreach(s->pods, i, pod)
		if (sts_ordinal(s->name, obj_meta(pod, "name")) >= s->replicas)
			json_array_append(condemned, pod);
	sts_sort_ordinal(s->name, condemned, true);
	const char *when_scaled = json_str(json_path(s->set, "spec.persistentVolumeClaimRetentionPolicy"),
					   "whenScaled") ?: "Retain";
	json_array_foreach(condemned, i, pod) {
		if (terminating(pod)) {
			if (s->monotonic)
				return 0;
			continue;
		}
		int ord = sts_ordinal(s->name, obj_meta(pod, "name"));
		if ((r = delete_pod(s, pod, err)) < 0)
			return r;
		if (!strcmp(when_scaled, "Delete"))
			delete_claims(s, ord);
		if (s->monotonic)
			return 0;
	}
	if (json_array_size(condemned) || !s->rolling)
		return 0;
	int next = sts_next_update(s->name, s->pods, s->replicas, s->partition, s->upd_rev);
	if (next < 0)
		return 0;
	return delete_pod(s, pod_at(s->name, s->pods, next), err);
}

/* ---- status ---- */

static json_t *compute_status(StsSync *s, int64_t *wait)
{
	int64_t min_ready = json_int(json_object_get(s->set, "spec"), "minReadySeconds", 0), now = mgr_now_s(s->c->m);
	int n = 0, ready = 0, avail = 0, current = 0, updated = 0;
	size_t i;
	json_t *pod;
	*wait = 0;
	json_array_foreach(s->pods, i, pod) {
		n++;
		if (running_ready(pod) && !terminating(pod)) {
			ready++;
			if (pod_is_available(pod, min_ready, now))
				avail++;
			else
				*wait = min_ready;
		}
		if (terminating(pod))
			continue;
		current += !strcmp(pod_revision(pod), s->cur_rev);
		updated += !strcmp(pod_revision(pod), s->upd_rev);
	}
	const char *cur_rev = s->cur_rev;
	if (s->rolling && updated == n && ready == n && n == s->replicas) {
		current = updated;
		cur_rev = s->upd_rev;
	}
	json_t *st = json_pack("{s:I, s:i, s:i, s:i, s:i, s:i, s:s, s:s}", "observedGeneration",
			       (json_int_t)json_int(json_object_get(s->set, "metadata"), "generation", 0), "replicas", n,
			       "readyReplicas", ready, "availableReplicas", avail, "currentReplicas", current,
			       "updatedReplicas", updated, "currentRevision", cur_rev, "updateRevision", s->upd_rev);
	json_t *cc = json_path(s->set, "status.collisionCount");
	json_object_set_new(st, "collisionCount", json_is_integer(cc) ? json_incref(cc) : json_integer(0));
	return st;
}

static int write_status(StsSync *s, json_t *st, Error **err)
{
	json_t *cur = json_object_get(s->set, "status");
	bool same = true;
	const char *k;
	json_t *v;
	json_object_foreach(st, k, v)
		same &= json_equal(v, json_object_get(cur, k));
	if (same)
		return 0;
	_cleanup_json_ json_t *copy = json_deep_copy(s->set);
	json_t *nst = obj_copy_or_new(cur);
	json_object_update(nst, st);
	json_object_set_new(copy, "status", nst);
	_cleanup_free_ char *path = xasprintf("/apis/apps/v1/namespaces/%s/statefulsets/%s/status", s->ns, s->name);
	int r = kube_put(s->c->m->kc, path, copy, NULL, err);
	return r == -ENOENT ? 0 : r;
}

/* ---- sync ---- */

/* Kubernetes' isMemberOf plus the selector: "<set>-<ordinal>" and selected. */
static bool sts_selects(const json_t *set, const json_t *pod, void *ud)
{
	return sts_ordinal(obj_meta(set, "name") ?: "", obj_meta(pod, "name")) >= 0 &&
	       claim_selector_matches(set, pod, ud);
}

static int claimed_pods(Ctl *c, const json_t *set, json_t **ret, Error **err)
{
	_cleanup_json_ json_t *all = informer_list(c->m->pods, obj_meta(set, "namespace"));
	ClaimSpec spec = { .resource_fmt = "/api/v1/namespaces/%s/pods", .match = sts_selects };
	int r = ctl_claim(c, set, all, &spec, ret, err);
	sts_sort_ordinal(obj_meta(set, "name") ?: "", *ret, false);
	return r;
}

static json_t *find_rev(const json_t *revs, const char *name)
{
	size_t i;
	json_t *cr;
	json_array_foreach(revs, i, cr)
		if (name && !strcmp(obj_meta(cr, "name") ?: "", name))
			return cr;
	return NULL;
}

static json_t *live_revisions(StsSync *s)
{
	json_t *live = json_pack("[s, s]", s->cur_rev, s->upd_rev);
	size_t i;
	json_t *pod;
	json_array_foreach(s->pods, i, pod)
		json_array_append_new(live, json_string(pod_revision(pod)));
	return live;
}

static int sts_sync(Ctl *c, const char *key, Error **err)
{
	char ns[256], name[256];
	key_split(key, ns, sizeof(ns), name, sizeof(name));
	_cleanup_json_ json_t *set = informer_get(c->inf, ns, name);
	if (!set || json_path(set, "metadata.deletionTimestamp"))
		return 0;
	_cleanup_json_ json_t *revs = NULL;
	int r = hist_claim(c, set, &revs, err);
	if (r < 0)
		return r;
	_cleanup_json_ json_t *upd = NULL;
	r = hist_update_revision(c, set, CR_HASH_LABEL, revs, 0, &upd, err);
	if (r < 0)
		return r;
	StsSync s = { .c = c, .key = key, .ns = ns, .name = name, .set = set, .upd_cr = upd };
	s.upd_rev = obj_meta(upd, "name") ?: "";
	s.cur_cr = find_rev(revs, json_str(json_object_get(set, "status"), "currentRevision"));
	if (!s.cur_cr || !strcmp(obj_meta(s.cur_cr, "name") ?: "", s.upd_rev))
		s.cur_cr = upd;
	s.cur_rev = obj_meta(s.cur_cr, "name") ?: "";
	json_t *spec = json_object_get(set, "spec");
	s.replicas = (int)json_int(spec, "replicas", 1);
	s.monotonic = strcmp(json_str(spec, "podManagementPolicy") ?: "OrderedReady", "Parallel") != 0;
	s.rolling = strcmp(json_str(json_path(set, "spec.updateStrategy"), "type") ?: "RollingUpdate", "OnDelete") != 0;
	s.partition = (int)json_int(json_path(set, "spec.updateStrategy.rollingUpdate"), "partition", 0);
	if ((r = claimed_pods(c, set, &s.pods, err)) < 0) {
		json_decref(s.pods);
		return r;
	}
	r = manage(&s, err);
	int64_t wait = 0;
	_cleanup_json_ json_t *st = compute_status(&s, &wait);
	_cleanup_err_ Error *serr = NULL;
	int rs = write_status(&s, st, &serr);
	if (r >= 0 && rs < 0) {
		*err = TAKE_PTR(serr);
		r = rs;
	}
	if (r >= 0) {
		_cleanup_json_ json_t *live = live_revisions(&s);
		hist_prune(c, set, revs, live);
	}
	if (wait > 0)
		wq_add_after(c->q, key, wait * 1000);
	json_decref(s.pods);
	return r < 0 ? r : 0;
}

/* ---- event handlers ---- */

static void enqueue_ref(Ctl *c, const json_t *obj)
{
	const json_t *ref = obj_controller_ref(obj);
	if (!ref || strcmp(json_str(ref, "kind") ?: "", "StatefulSet"))
		return;
	_cleanup_free_ char *key = xasprintf("%s/%s", obj_meta(obj, "namespace") ?: "", json_str(ref, "name") ?: "");
	wq_add(c->q, key);
}

static void on_pod(void *ud, InformerEvent ev, const json_t *old, const json_t *pod)
{
	(void)old;
	enqueue_ref(ud, pod);
	if (ev != INF_DELETE)
		ctl_enqueue_selecting(ud, pod);  /* an orphan: a set may adopt it */
}

static void on_set(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)ev, (void)old;
	ctl_enqueue_obj(ud, obj);
}

static void on_revision(void *ud, InformerEvent ev, const json_t *old, const json_t *cr)
{
	(void)old;
	if (ev != INF_DELETE && !obj_controller_ref(cr))
		ctl_enqueue_selecting(ud, cr);
	else if (ev != INF_UPDATE)
		enqueue_ref(ud, cr);
}

void sts_ctl_init(Ctl *c, Manager *m)
{
	*c = (Ctl){ .m = m, .sync = sts_sync, .name = "statefulset", .kind = "StatefulSet", .api_version = "apps/v1",
		    .coll_fmt = "/apis/apps/v1/namespaces/%s/statefulsets" };
	c->inf = m->sts;
	c->q = wq_new(m->now_ms);
	c->exp = exp_new(m->now_ms);
	informer_add_handler(m->sts, on_set, c);
	informer_add_handler(m->pods, on_pod, c);
	informer_add_handler(m->crs, on_revision, c);
}
