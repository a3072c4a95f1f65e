/* deployment.c - the Deployment controller: ReplicaSets named
 * "<deployment>-<pod-template-hash>", rolled from old to new by the
 * RollingUpdate (maxSurge/maxUnavailable) or Recreate strategy, with the
 * revision annotations kubectl's `rollout history/undo` read and the
 * Available/Progressing conditions `rollout status` waits on.
 *
 * The shape follows Kubernetes' DeploymentController so that behaviour (and
 * what kubectl prints) matches: claim ReplicaSets (adopting orphans that
 * match the selector), find the "new" one (template equal ignoring the hash
 * label) or create it, then either only scale (paused) or roll, prune old
 * ReplicaSets beyond revisionHistoryLimit once complete, and write status.
 * The ReplicaSet controller does the pods; this one only sets replicas.
 * A scale event (an active ReplicaSet whose desired-replicas annotation is
 * not spec.replicas) or a paused deployment only scales: one active set gets
 * the whole count; several share the change in proportion to their sizes
 * (the max-replicas annotation says what they were sized for), bounded by
 * replicas + maxSurge, as Kubernetes' scale().  Every change of a set's size
 * is recorded as a ScalingReplicaSet Event.
 */
#include "controller-internal.h"
#include "../base/cleanup.h"
#include "../shared/json.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANN_REVISION "deployment.kubernetes.io/revision"
#define ANN_DESIRED "deployment.kubernetes.io/desired-replicas"
#define ANN_MAX "deployment.kubernetes.io/max-replicas"
#define ANN_HISTORY "deployment.kubernetes.io/revision-history"
#define HASH_LABEL "pod-template-hash"

static json_t *template_normal(const json_t *tmpl);

/* ---- pure helpers ---- */

void deploy_template_hash(const json_t *tmpl, int64_t collision, char *buf, size_t n)
{
	_cleanup_json_ json_t *norm = template_normal(tmpl);
	_cleanup_free_ char *text = json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)(text ?: ""); *p; p++)
		h = (h ^ *p) * 16777619u;
	if (collision > 0) {
		uint32_t cc = (uint32_t)collision;
		for (int i = 0; i < 4; i++)
			h = (h ^ ((cc >> (8 * i)) & 0xff)) * 16777619u;
	}
	static const char al[] = "bcdfghjklmnpqrstvwxz2456789";
	char dec[16];
	snprintf(dec, sizeof(dec), "%u", h);
	size_t i;
	for (i = 0; dec[i] && i + 1 < n; i++)
		buf[i] = al[(unsigned char)dec[i] % (sizeof(al) - 1)];
	buf[i] = 0;
}

int deploy_new_rs_replicas(int replicas, int max_surge, int total_current, int new_current)
{
	int max_total = replicas + max_surge;
	if (total_current >= max_total)
		return new_current;
	int up = max_total - total_current;
	if (up > replicas - new_current)
		up = replicas - new_current;
	return new_current + (up > 0 ? up : 0);
}

int deploy_max_scaled_down(int replicas, int max_unavailable, int all_pods, int new_replicas, int new_available)
{
	int min_available = replicas - max_unavailable;
	int new_unavailable = new_replicas - new_available;
	return all_pods - min_available - new_unavailable;
}

/* The change of one set's size toward its share of `to_add` (Kubernetes'
 * GetProportion): its size scaled from max_ann (what it was sized for) to
 * replicas + max_surge, rounded half away from zero, and never beyond what
 * is left to add (`added` so far). */
static int proportion(const DeployScaleSet *rs, int replicas, int max_surge, int status_replicas, int to_add, int added)
{
	if (rs->replicas == 0 || to_add == 0 || to_add == added)
		return 0;
	int fraction;
	if (replicas == 0) {
		fraction = -rs->replicas;
	} else {
		int ann = rs->max_ann >= 0 ? rs->max_ann : status_replicas;
		double size = ann > 0 ? (double)rs->replicas * (replicas + max_surge) / ann : rs->replicas;
		fraction = (int)lround(size) - rs->replicas;
	}
	int allowed = to_add - added;
	if (to_add > 0)
		return fraction < allowed ? fraction : allowed;
	return fraction > allowed ? fraction : allowed;
}

/* < 0 when a comes first: larger first; on a tie newer first when scaling
 * up, older first when scaling down (Kubernetes' ReplicaSetsBySizeNewer/Older). */
static int cmp_scale_sets(const DeployScaleSet *a, const DeployScaleSet *b, bool up)
{
	if (a->replicas != b->replicas)
		return a->replicas > b->replicas ? -1 : 1;
	if (a->created != b->created)
		return (a->created > b->created) == up ? -1 : 1;
	int c = strcmp(a->name ?: "", b->name ?: "");
	return up ? -c : c;
}

void deploy_proportional_scale(int replicas, int max_surge, int status_replicas, const DeployScaleSet *sets, size_t n,
			       int *out)
{
	int total = 0;
	for (size_t i = 0; i < n; i++) {
		out[i] = sets[i].replicas;
		total += sets[i].replicas;
	}
	int allowed = replicas > 0 ? replicas + max_surge : 0, to_add = allowed - total;
	if (!n || !to_add)
		return;
	_cleanup_free_ size_t *order = xmalloc(n * sizeof(*order));
	for (size_t i = 0; i < n; i++) {  /* insertion sort: a handful of sets */
		size_t j = i;
		for (; j > 0 && cmp_scale_sets(&sets[i], &sets[order[j - 1]], to_add > 0) < 0; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	int added = 0;
	for (size_t i = 0; i < n; i++) {
		int p = proportion(&sets[order[i]], replicas, max_surge, status_replicas, to_add, added);
		out[order[i]] += p;
		added += p;
	}
	/* the leftover goes to the largest set */
	out[order[0]] += to_add - added;
	if (out[order[0]] < 0)
		out[order[0]] = 0;
}

/* ---- one sync's view of a deployment ---- */

typedef struct RsView {
	json_t *rs;          /* borrowed from Sync.owned */
	int replicas;        /* spec.replicas as we (may have) set it */
	int avail;
} RsView;

typedef struct Sync {
	Ctl *c;
	json_t *d;           /* the deployment (cache reference) */
	const char *ns, *name;
	json_t *owned;       /* array of claimed ReplicaSets */
	json_t *new_rs;      /* borrowed (from owned) or owned by created */
	json_t *created;
	RsView old[64];
	size_t nold;
	int replicas, max_surge, max_unavail;
	json_t *conds;       /* status.conditions being built (new ref) */
	json_t *status_extra;
	json_t *written;     /* the deployment as this sync's revision patch left it (new ref) */
} Sync;

static int spec_replicas(const json_t *o) { return (int)json_int(json_object_get(o, "spec"), "replicas", 1); }
static int status_int(const json_t *o, const char *k) { return (int)json_int(json_object_get(o, "status"), k, 0); }

static int64_t revision_of(const json_t *rs)
{
	const char *v = json_str(json_path(rs, "metadata.annotations"), ANN_REVISION);
	return v ? strtoll(v, NULL, 10) : 0;
}

/* A template as Kubernetes compares them (Go structs): without the hash
 * label, null members (kubectl sends "creationTimestamp": null) and empty
 * metadata maps. */
static json_t *template_normal(const json_t *tmpl)
{
	json_t *t = json_deep_copy(tmpl ?: json_null());
	json_t *meta = json_object_get(t, "metadata");
	if (json_is_object(meta)) {
		json_t *l = json_object_get(meta, "labels");
		if (json_is_object(l))
			json_object_del(l, HASH_LABEL);
		const char *k;
		void *tmp;
		json_t *v;
		json_object_foreach_safe(meta, tmp, k, v)
			if (json_is_null(v) || (json_is_object(v) && !json_object_size(v)))
				json_object_del(meta, k);
		if (!json_object_size(meta))
			json_object_del(t, "metadata");
	}
	return t;
}

static json_t *template_no_hash(const json_t *o)
{
	return template_normal(json_path(o, "spec.template"));
}

static bool same_template(const json_t *d, const json_t *rs)
{
	_cleanup_json_ json_t *a = template_no_hash(d), *b = template_no_hash(rs);
	return json_equal(a, b);
}

static char *rs_path(const char *ns, const char *name)
{
	return name ? xasprintf("/apis/apps/v1/namespaces/%s/replicasets/%s", ns, name)
		    : xasprintf("/apis/apps/v1/namespaces/%s/replicasets", ns);
}

/* ---- claiming ReplicaSets ---- */

static int adopt_rs(Sync *s, const json_t *rs, Error **err)
{
	json_t *refs = json_deep_copy(json_path(rs, "metadata.ownerReferences"));
	if (!json_is_array(refs)) {
		json_decref(refs);
		refs = json_array();
	}
	json_array_append_new(refs, owner_ref_new(s->d, "apps/v1", "Deployment"));
	_cleanup_json_ json_t *patch = json_pack("{s:{s:o}}", "metadata", "ownerReferences", refs);
	_cleanup_free_ char *path = rs_path(s->ns, obj_meta(rs, "name"));
	return kube_patch(s->c->m->kc, path, patch, NULL, err);
}

static void claim_rs(Sync *s)
{
	_cleanup_json_ json_t *all = informer_list(s->c->m->rs, s->ns);
	const char *uid = obj_meta(s->d, "uid") ?: "";
	json_t *sel = json_path(s->d, "spec.selector");
	size_t i;
	json_t *rs;
	s->owned = json_array();
	json_array_foreach(all, i, rs) {
		const json_t *ref = obj_controller_ref(rs);
		bool match = sel_matches(sel, json_path(rs, "metadata.labels"));
		if (ref && !strcmp(json_str(ref, "uid") ?: "", uid))
			json_array_append(s->owned, rs);
		else if (!ref && match && !json_path(s->d, "metadata.deletionTimestamp") && adopt_rs(s, rs, NULL) == 0)
			json_array_append(s->owned, rs);
	}
}

/* Split owned into the new ReplicaSet (oldest with an equal template) and old ones. */
static void split_rs(Sync *s)
{
	size_t i;
	json_t *rs;
	json_array_foreach(s->owned, i, rs)
		if (same_template(s->d, rs) &&
		    (!s->new_rs || obj_time(rs, "metadata.creationTimestamp") < obj_time(s->new_rs, "metadata.creationTimestamp")))
			s->new_rs = rs;
	json_array_foreach(s->owned, i, rs)
		if (rs != s->new_rs && s->nold < ARRAY_SIZE(s->old))
			s->old[s->nold++] = (RsView){ rs, spec_replicas(rs), status_int(rs, "availableReplicas") };
}

static int64_t max_old_revision(Sync *s)
{
	int64_t m = 0;
	for (size_t i = 0; i < s->nold; i++)
		if (revision_of(s->old[i].rs) > m)
			m = revision_of(s->old[i].rs);
	return m;
}

/* ---- conditions ---- */

static json_t *cond_get(json_t *conds, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
		if (!strcmp(json_str(c, "type") ?: "", type))
			return c;
	return NULL;
}

static void cond_set(Sync *s, const char *type, const char *status, const char *reason, const char *msg)
{
	char now[40];
	time_rfc3339(now, sizeof(now), mgr_now_s(s->c->m));
	json_t *cur = cond_get(s->conds, type);
	if (cur && !strcmp(json_str(cur, "status") ?: "", status) && !strcmp(json_str(cur, "reason") ?: "", reason) &&
	    !strcmp(json_str(cur, "message") ?: "", msg))
		return;
	const char *transition = cur && !strcmp(json_str(cur, "status") ?: "", status) ? json_str(cur, "lastTransitionTime")
										       : now;
	json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status, "reason", reason,
			      "message", msg, "lastUpdateTime", now, "lastTransitionTime", transition ?: now);
	size_t i;
	json_t *x;
	json_array_foreach(s->conds, i, x)
		if (x == cur) {
			json_array_set_new(s->conds, i, c);
			return;
		}
	json_array_append_new(s->conds, c);
}

/* ---- writing ---- */

static bool copy_annotations(const json_t *d, json_t *anns)
{
	static const char *const skip[] = { "kubectl.kubernetes.io/last-applied-configuration", ANN_REVISION, ANN_HISTORY,
					    ANN_DESIRED, ANN_MAX };
	bool changed = false;
	const char *k;
	json_t *v;
	json_object_foreach(json_path(d, "metadata.annotations"), k, v) {
		bool skipped = false;
		for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
			skipped |= !strcmp(k, skip[i]);
		if (skipped || json_equal(json_object_get(anns, k), v))
			continue;
		json_object_set(anns, k, v);
		changed = true;
	}
	return changed;
}

static void replica_annotations(Sync *s, json_t *anns)
{
	char b[32];
	snprintf(b, sizeof(b), "%d", s->replicas);
	json_object_set_new(anns, ANN_DESIRED, json_string(b));
	snprintf(b, sizeof(b), "%d", s->replicas + s->max_surge);
	json_object_set_new(anns, ANN_MAX, json_string(b));
}

static void scaled_event(Sync *s, const char *rs_name, int from, int to)
{
	if (from != to)
		ctl_event(s->c->m, s->d, "Deployment", "deployment-controller", "Normal", "ScalingReplicaSet",
			  "Scaled %s replica set %s to %d from %d", to > from ? "up" : "down", rs_name, to, from);
}

/* A JSON patch setting rs's size from `from` to n and the annotations anns
 * (stolen): its "test" of spec.replicas makes the write fail when the cache
 * was stale and the set no longer has `from` replicas (maybe already n), so
 * a ScalingReplicaSet Event is recorded only for a real change; the sync
 * then runs again on the newer set. */
static json_t *scale_ops(const json_t *rs, int from, int n, json_t *anns)
{
	json_t *ops = json_pack("[{s:s, s:s, s:i}, {s:s, s:s, s:i}]", "op", "test", "path", "/spec/replicas", "value", from,
				"op", "replace", "path", "/spec/replicas", "value", n);
	if (!json_is_object(json_path(rs, "metadata.annotations"))) {
		json_array_append_new(ops, json_pack("{s:s, s:s, s:o}", "op", "add", "path", "/metadata/annotations", "value",
						     anns));
		return ops;
	}
	const char *k;
	json_t *v;
	json_object_foreach(anns, k, v) {
		/* RFC 6901: '/' is "~1" ("~" does not occur in these keys) */
		_cleanup_free_ char *ptr = xmalloc(strlen("/metadata/annotations/") + 2 * strlen(k) + 1);
		char *o = stpcpy(ptr, "/metadata/annotations/");
		for (const char *c = k; *c; c++)
			o = *c == '/' ? stpcpy(o, "~1") : (*o = *c, o + 1);
		*o = 0;
		json_array_append_new(ops, json_pack("{s:s, s:s, s:O}", "op", "add", "path", ptr, "value", v));
	}
	json_decref(anns);
	return ops;
}

/* Set rs (of size `from` as this sync knows it) to n replicas and its
 * desired/max annotations; 1 when it was written. */
static int scale_rs_from(Sync *s, const json_t *rs, int from, int n, Error **err)
{
	json_t *anns = json_object();
	replica_annotations(s, anns);
	if (from == n && json_equal(json_object_get(anns, ANN_DESIRED), json_path(rs, "metadata.annotations." ANN_DESIRED)) &&
	    json_equal(json_object_get(anns, ANN_MAX), json_path(rs, "metadata.annotations." ANN_MAX))) {
		json_decref(anns);
		return 0;
	}
	_cleanup_free_ char *path = rs_path(s->ns, obj_meta(rs, "name"));
	int r;
	if (from == n) {
		_cleanup_json_ json_t *patch = json_pack("{s:{s:o}}", "metadata", "annotations", anns);
		r = kube_patch(s->c->m->kc, path, patch, NULL, err);
	} else {
		_cleanup_json_ json_t *ops = scale_ops(rs, from, n, anns);
		r = kube_request(s->c->m->kc, "PATCH", path, ops, "application/json-patch+json", NULL, NULL, err);
	}
	if (r < 0)
		return err_prefix(err, "deployment '%s/%s': scale '%s'", s->ns, s->name, obj_meta(rs, "name"));
	scaled_event(s, obj_meta(rs, "name"), from, n);  /* only a real change of size gets here with from != n */
	return 1;
}

static int scale_rs(Sync *s, const json_t *rs, int n, Error **err)
{
	return scale_rs_from(s, rs, spec_replicas(rs), n, err);
}

/* Keep the existing new ReplicaSet's annotations (revision, change-cause) current. */
static int sync_new_rs_annotations(Sync *s, Error **err)
{
	int64_t want = max_old_revision(s) + 1, have = revision_of(s->new_rs);
	_cleanup_json_ json_t *anns = json_deep_copy(json_path(s->new_rs, "metadata.annotations") ?: json_object());
	bool changed = copy_annotations(s->d, anns);
	if (have < want) {
		char b[32];
		snprintf(b, sizeof(b), "%lld", (long long)want);
		json_object_set_new(anns, ANN_REVISION, json_string(b));
		changed = true;
	}
	if (!changed)
		return 0;
	_cleanup_json_ json_t *patch = json_pack("{s:{s:O}}", "metadata", "annotations", anns);
	_cleanup_free_ char *path = rs_path(s->ns, obj_meta(s->new_rs, "name"));
	return kube_patch(s->c->m->kc, path, patch, NULL, err);
}

static json_t *new_rs_object(Sync *s, const char *hash, int replicas)
{
	json_t *tmpl = json_deep_copy(json_path(s->d, "spec.template"));
	json_object_set_new(json_obj_ensure(json_obj_ensure(tmpl, "metadata"), "labels"), HASH_LABEL, json_string(hash));
	json_t *sel = json_deep_copy(json_path(s->d, "spec.selector"));
	json_object_set_new(json_obj_ensure(sel, "matchLabels"), HASH_LABEL, json_string(hash));
	json_t *anns = json_object();
	copy_annotations(s->d, anns);
	replica_annotations(s, anns);
	char b[32];
	snprintf(b, sizeof(b), "%lld", (long long)max_old_revision(s) + 1);
	json_object_set_new(anns, ANN_REVISION, json_string(b));
	_cleanup_free_ char *name = xasprintf("%s-%s", s->name, hash);
	json_t *meta = json_pack("{s:s, s:s, s:O, s:o, s:[o]}", "name", name, "namespace", s->ns, "labels",
				 json_path(tmpl, "metadata.labels"), "annotations", anns, "ownerReferences",
				 owner_ref_new(s->d, "apps/v1", "Deployment"));
	json_t *spec = json_pack("{s:i, s:o, s:o, s:I}", "replicas", replicas, "selector", sel, "template", tmpl,
				 "minReadySeconds", (json_int_t)json_int(json_object_get(s->d, "spec"), "minReadySeconds", 0));
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "apps/v1", "kind", "ReplicaSet", "metadata", meta, "spec",
			 spec);
}

static int create_new_rs(Sync *s, int replicas, Error **err)
{
	int64_t collision = json_int(json_object_get(s->d, "status"), "collisionCount", 0);
	char hash[16];
	deploy_template_hash(json_path(s->d, "spec.template"), collision, hash, sizeof(hash));
	_cleanup_json_ json_t *rs = new_rs_object(s, hash, replicas);
	_cleanup_free_ char *path = rs_path(s->ns, NULL);
	json_t *made = NULL;
	int r = kube_post(s->c->m->kc, path, rs, &made, err);
	if (r == -EEXIST) {
		err_freep(err);
		_cleanup_free_ char *p = rs_path(s->ns, obj_meta(rs, "name"));
		if ((r = kube_get(s->c->m->kc, p, &made, err)) < 0)
			return r;
		const json_t *ref = obj_controller_ref(made);
		if (ref && !strcmp(json_str(ref, "uid") ?: "", obj_meta(s->d, "uid") ?: "") && same_template(s->d, made)) {
			s->created = s->new_rs = made;
			return 0;
		}
		json_decref(made);
		json_object_set_new(s->status_extra, "collisionCount", json_integer(collision + 1));
		return err_set(err, EEXIST, "deployment '%s/%s': hash collision on replica set '%s'", s->ns, s->name,
			       obj_meta(rs, "name"));
	}
	if (r < 0)
		return err_prefix(err, "deployment '%s/%s'", s->ns, s->name);
	s->created = s->new_rs = made;
	scaled_event(s, obj_meta(made, "name"), 0, replicas);
	char msg[512];
	snprintf(msg, sizeof(msg), "Created new replica set \"%s\"", obj_meta(made, "name"));
	cond_set(s, "Progressing", "True", "NewReplicaSetCreated", msg);
	return 1;
}

/* The deployment's revision annotation follows the new ReplicaSet's. */
static int sync_deployment_revision(Sync *s, Error **err)
{
	if (!s->new_rs)
		return 0;
	char b[32];
	snprintf(b, sizeof(b), "%lld", (long long)(revision_of(s->new_rs) > max_old_revision(s) ? revision_of(s->new_rs)
											       : max_old_revision(s) + 1));
	const char *have = json_str(json_path(s->d, "metadata.annotations"), ANN_REVISION);
	if (have && !strcmp(have, b))
		return 0;
	_cleanup_json_ json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", ANN_REVISION, b);
	_cleanup_free_ char *path = xasprintf("/apis/apps/v1/namespaces/%s/deployments/%s", s->ns, s->name);
	/* the status write that follows must carry the new resourceVersion */
	return kube_patch(s->c->m->kc, path, patch, &s->written, err);
}

/* ---- strategies ---- */

static int all_spec_replicas(Sync *s)
{
	int n = s->new_rs ? spec_replicas(s->new_rs) : 0;
	for (size_t i = 0; i < s->nold; i++)
		n += s->old[i].replicas;
	return n;
}

static int reconcile_new(Sync *s, Error **err)
{
	int cur = spec_replicas(s->new_rs);
	if (cur == s->replicas)
		return 0;
	if (cur > s->replicas)
		return scale_rs(s, s->new_rs, s->replicas, err);
	int want = deploy_new_rs_replicas(s->replicas, s->max_surge, all_spec_replicas(s), cur);
	return want == cur ? 0 : scale_rs(s, s->new_rs, want, err);
}

static int cmp_old_by_age(const void *a, const void *b)
{
	const RsView *x = a, *y = b;
	int64_t tx = obj_time(x->rs, "metadata.creationTimestamp"), ty = obj_time(y->rs, "metadata.creationTimestamp");
	return tx < ty ? -1 : tx > ty;
}

static int reconcile_old(Sync *s, Error **err)
{
	int old_pods = 0, all = all_spec_replicas(s);
	for (size_t i = 0; i < s->nold; i++)
		old_pods += s->old[i].replicas;
	if (!old_pods)
		return 0;
	int new_avail = s->new_rs ? status_int(s->new_rs, "availableReplicas") : 0;
	int max_down = deploy_max_scaled_down(s->replicas, s->max_unavail, all,
					      s->new_rs ? spec_replicas(s->new_rs) : 0, new_avail);
	if (max_down <= 0)
		return 0;
	qsort(s->old, s->nold, sizeof(s->old[0]), cmp_old_by_age);
	int done = 0, scaled = 0;
	/* first the unhealthy replicas of old sets */
	for (size_t i = 0; i < s->nold && done < max_down; i++) {
		RsView *v = &s->old[i];
		int unhealthy = v->replicas - v->avail;
		if (unhealthy <= 0)
			continue;
		int n = unhealthy < max_down - done ? unhealthy : max_down - done;
		if (scale_rs_from(s, v->rs, v->replicas, v->replicas - n, err) < 0)
			return -1;
		v->replicas -= n;
		done += n;
		scaled = 1;
	}
	/* then healthy ones, keeping minAvailable */
	int avail = new_avail, min_avail = s->replicas - s->max_unavail;
	for (size_t i = 0; i < s->nold; i++)
		avail += s->old[i].avail < s->old[i].replicas ? s->old[i].avail : s->old[i].replicas;
	int budget = avail - min_avail, down = 0;
	for (size_t i = 0; i < s->nold && down < budget; i++) {
		RsView *v = &s->old[i];
		if (!v->replicas)
			continue;
		int n = v->replicas < budget - down ? v->replicas : budget - down;
		if (scale_rs_from(s, v->rs, v->replicas, v->replicas - n, err) < 0)
			return -1;
		v->replicas -= n;
		down += n;
		scaled = 1;
	}
	return scaled;
}

static int rollout_rolling(Sync *s, Error **err)
{
	int r;
	if (!s->new_rs) {
		int want = deploy_new_rs_replicas(s->replicas, s->max_surge, all_spec_replicas(s), 0);
		if ((r = create_new_rs(s, want, err)) < 0)
			return r;
		if (r > 0)
			return 1;
	}
	if ((r = reconcile_new(s, err)) != 0)
		return r;
	return reconcile_old(s, err);
}

/* Does an old set still have pods (its status says so, or a pod it
 * controls is not finished, terminating ones included)?  As Kubernetes'
 * oldPodsRunning: status.replicas drops before terminating pods are gone. */
static bool old_pods_running(Sync *s)
{
	for (size_t i = 0; i < s->nold; i++)
		if (status_int(s->old[i].rs, "replicas") > 0)
			return true;
	_cleanup_json_ json_t *pods = informer_list(s->c->m->pods, s->ns);
	size_t i;
	json_t *pod;
	json_array_foreach(pods, i, pod) {
		const json_t *ref = obj_controller_ref(pod);
		const char *phase = json_str(json_object_get(pod, "status"), "phase") ?: "";
		if (!ref || !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
			continue;
		for (size_t k = 0; k < s->nold; k++)
			if (!strcmp(json_str(ref, "uid") ?: "", obj_meta(s->old[k].rs, "uid") ?: "-"))
				return true;
	}
	return false;
}

static int rollout_recreate(Sync *s, Error **err)
{
	int scaled = 0;
	for (size_t i = 0; i < s->nold; i++)
		if (s->old[i].replicas > 0) {
			if (scale_rs(s, s->old[i].rs, 0, err) < 0)
				return -1;
			s->old[i].replicas = 0;
			scaled = 1;
		}
	if (scaled)
		return 1;
	if (old_pods_running(s))
		return 1;  /* wait for the old pods to go */
	if (!s->new_rs) {
		int r = create_new_rs(s, s->replicas, err);
		return r;
	}
	return spec_replicas(s->new_rs) == s->replicas ? 0 : scale_rs(s, s->new_rs, s->replicas, err);
}

static int desired_annotation(const json_t *rs)
{
	const char *v = json_str(json_path(rs, "metadata.annotations"), ANN_DESIRED);
	return v ? atoi(v) : -1;
}

/* A scale event: an active set sized for another spec.replicas. */
static bool is_scaling_event(Sync *s)
{
	if (s->new_rs && spec_replicas(s->new_rs) > 0 && desired_annotation(s->new_rs) >= 0 &&
	    desired_annotation(s->new_rs) != s->replicas)
		return true;
	for (size_t i = 0; i < s->nold; i++)
		if (s->old[i].replicas > 0 && desired_annotation(s->old[i].rs) >= 0 &&
		    desired_annotation(s->old[i].rs) != s->replicas)
			return true;
	return false;
}

static bool is_saturated(Sync *s, const json_t *rs)
{
	return rs && spec_replicas(rs) == s->replicas && desired_annotation(rs) == s->replicas &&
	       status_int(rs, "availableReplicas") == s->replicas;
}

/* Several active sets of a RollingUpdate share the change (deploy_proportional_scale). */
static int scale_proportionally(Sync *s, Error **err)
{
	RsView all[65];
	size_t n = 0;
	if (s->new_rs && spec_replicas(s->new_rs) > 0)
		all[n++] = (RsView){ s->new_rs, spec_replicas(s->new_rs), 0 };
	for (size_t i = 0; i < s->nold; i++)
		if (s->old[i].replicas > 0)
			all[n++] = s->old[i];
	DeployScaleSet sets[65];
	int out[65];
	for (size_t i = 0; i < n; i++) {
		const char *mx = json_str(json_path(all[i].rs, "metadata.annotations"), ANN_MAX);
		sets[i] = (DeployScaleSet){ obj_meta(all[i].rs, "name"), obj_time(all[i].rs, "metadata.creationTimestamp"),
					    all[i].replicas, mx ? atoi(mx) : -1 };
	}
	deploy_proportional_scale(s->replicas, s->max_surge, status_int(s->d, "replicas"), sets, n, out);
	int scaled = 0;
	for (size_t i = 0; i < n; i++) {
		int r = scale_rs_from(s, all[i].rs, all[i].replicas, out[i], err);
		if (r < 0)
			return r;
		scaled |= r;
	}
	return scaled;
}

/* Paused or a scale event: only follow spec.replicas (Kubernetes' scale()). */
static int scale_only(Sync *s, bool recreate, Error **err)
{
	json_t *active = NULL;
	int nactive = 0;
	if (s->new_rs && spec_replicas(s->new_rs) > 0)
		active = s->new_rs, nactive++;
	for (size_t i = 0; i < s->nold; i++)
		if (s->old[i].replicas > 0)
			active = s->old[i].rs, nactive++;
	if (!nactive) {
		active = s->new_rs;  /* else the latest old set */
		bool from_old = !active;
		for (size_t i = 0; from_old && i < s->nold; i++)
			if (!active || obj_time(s->old[i].rs, "metadata.creationTimestamp") >
					       obj_time(active, "metadata.creationTimestamp"))
				active = s->old[i].rs;
	}
	if (nactive <= 1)
		return active ? scale_rs(s, active, s->replicas, err) : 0;
	if (is_saturated(s, s->new_rs)) {
		int scaled = 0;
		for (size_t i = 0; i < s->nold; i++)
			if (s->old[i].replicas > 0) {
				if (scale_rs_from(s, s->old[i].rs, s->old[i].replicas, 0, err) < 0)
					return -1;
				s->old[i].replicas = 0;
				scaled = 1;
			}
		return scaled;
	}
	return recreate ? 0 : scale_proportionally(s, err);
}

static int cmp_old_by_revision(const void *a, const void *b)
{
	int64_t x = revision_of(((const RsView *)a)->rs), y = revision_of(((const RsView *)b)->rs);
	return x < y ? -1 : x > y;
}

static void cleanup_history(Sync *s)
{
	json_t *lim = json_path(s->d, "spec.revisionHistoryLimit");
	if (!json_is_integer(lim))
		return;
	RsView clean[64];
	size_t n = 0;
	for (size_t i = 0; i < s->nold; i++)
		if (!s->old[i].replicas && !status_int(s->old[i].rs, "replicas") &&
		    !json_path(s->old[i].rs, "metadata.deletionTimestamp"))
			clean[n++] = s->old[i];
	int64_t extra = (int64_t)n - json_integer_value(lim);
	qsort(clean, n, sizeof(clean[0]), cmp_old_by_revision);
	for (int64_t i = 0; i < extra; i++) {
		_cleanup_free_ char *path = rs_path(s->ns, obj_meta(clean[i].rs, "name"));
		kube_delete(s->c->m->kc, path, NULL);
	}
}

/* ---- status ---- */

static bool is_complete(Sync *s, const json_t *st)
{
	return json_int(st, "updatedReplicas", 0) == s->replicas && json_int(st, "replicas", 0) == s->replicas &&
	       json_int(st, "availableReplicas", 0) == s->replicas &&
	       json_int(st, "observedGeneration", 0) >= json_int(json_object_get(s->d, "metadata"), "generation", 0);
}

static bool progressed(const json_t *a, const json_t *b)
{
	const char *k[] = { "updatedReplicas", "readyReplicas", "availableReplicas", "replicas" };
	for (size_t i = 0; i < ARRAY_SIZE(k); i++)
		if (json_int(a, k[i], 0) != json_int(b, k[i], 0))
			return true;
	return false;
}

static json_t *compute_status(Sync *s)
{
	int replicas = 0, ready = 0, avail = 0, total = all_spec_replicas(s);
	json_t *rs;
	size_t i;
	json_array_foreach(s->owned, i, rs) {
		replicas += status_int(rs, "replicas");
		ready += status_int(rs, "readyReplicas");
		avail += status_int(rs, "availableReplicas");
	}
	json_t *st = json_pack("{s:I, s:i, s:i, s:i, s:i, s:i}", "observedGeneration",
			       (json_int_t)json_int(json_object_get(s->d, "metadata"), "generation", 0), "replicas", replicas,
			       "updatedReplicas", s->new_rs ? status_int(s->new_rs, "replicas") : 0, "readyReplicas", ready,
			       "availableReplicas", avail, "unavailableReplicas", total - avail > 0 ? total - avail : 0);
	json_t *cc = json_object_get(s->status_extra, "collisionCount") ?: json_path(s->d, "status.collisionCount");
	if (cc)
		json_object_set(st, "collisionCount", cc);
	if (avail >= s->replicas - s->max_unavail)
		cond_set(s, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.");
	else
		cond_set(s, "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.");
	return st;
}

/* Progressing, as Kubernetes' syncRolloutStatus; returns seconds to recheck the deadline (0: none). */
static int64_t progressing_condition(Sync *s, json_t *st, bool paused)
{
	json_t *cur = cond_get(s->conds, "Progressing");
	const char *reason = cur ? json_str(cur, "reason") ?: "" : "";
	if (paused) {
		if (strcmp(reason, "DeploymentPaused"))
			cond_set(s, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused");
		return 0;
	}
	if (!strcmp(reason, "DeploymentPaused"))
		cond_set(s, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed");
	json_t *dl = json_path(s->d, "spec.progressDeadlineSeconds");
	if (!json_is_integer(dl) || !s->new_rs)
		return 0;
	char msg[512];
	const char *rsname = obj_meta(s->new_rs, "name");
	if (is_complete(s, st)) {
		snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has successfully progressed.", rsname);
		cond_set(s, "Progressing", "True", "NewReplicaSetAvailable", msg);
		return 0;
	}
	if (progressed(json_object_get(s->d, "status"), st) || !cur) {
		snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" is progressing.", rsname);
		cond_set(s, "Progressing", "True", "ReplicaSetUpdated", msg);
		/* a progress resets the clock even when the message is the same */
		cur = cond_get(s->conds, "Progressing");
		char now[40];
		time_rfc3339(now, sizeof(now), mgr_now_s(s->c->m));
		json_object_set_new(cur, "lastUpdateTime", json_string(now));
		return json_integer_value(dl);
	}
	cur = cond_get(s->conds, "Progressing");
	if (!strcmp(json_str(cur, "reason") ?: "", "ProgressDeadlineExceeded"))
		return 0;
	int64_t since = obj_time(cur, "lastUpdateTime"), left = since + json_integer_value(dl) - mgr_now_s(s->c->m);
	if (left <= 0) {
		snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" has timed out progressing.", rsname);
		cond_set(s, "Progressing", "False", "ProgressDeadlineExceeded", msg);
		return 0;
	}
	return left;
}

static int write_status(Sync *s, bool paused, Error **err)
{
	_cleanup_json_ json_t *st = compute_status(s);
	int64_t recheck = progressing_condition(s, st, paused);
	json_object_set(st, "conditions", s->conds);
	if (recheck > 0) {
		_cleanup_free_ char *key = obj_key(s->d);
		wq_add_after(s->c->q, key, recheck * 1000 + 500);
	}
	if (json_equal(st, json_object_get(s->d, "status")))
		return 0;
	_cleanup_json_ json_t *copy = json_deep_copy(s->written ?: s->d);
	json_object_set(copy, "status", st);
	_cleanup_free_ char *path = xasprintf("/apis/apps/v1/namespaces/%s/deployments/%s/status", s->ns, s->name);
	int r = kube_put(s->c->m->kc, path, copy, NULL, err);
	return r == -ENOENT ? 0 : r;
}

static void sync_release(Sync *s)
{
	json_decref(s->owned);
	json_decref(s->created);
	json_decref(s->conds);
	json_decref(s->status_extra);
	json_decref(s->written);
}

static int deploy_sync(Ctl *c, const char *key, Error **err)
{
	char ns[256], name[256];
	key_split(key, ns, sizeof(ns), name, sizeof(name));
	_cleanup_json_ json_t *d = informer_get(c->m->deploy, ns, name);
	if (!d || json_path(d, "metadata.deletionTimestamp"))
		return 0;
	Sync s = { .c = c, .d = d, .ns = ns, .name = name };
	json_t *conds = json_path(d, "status.conditions");
	s.conds = conds ? json_deep_copy(conds) : json_array();
	s.status_extra = json_object();
	s.replicas = spec_replicas(d);
	json_t *ru = json_path(d, "spec.strategy.rollingUpdate");
	bool recreate = !strcmp(json_str(json_path(d, "spec.strategy"), "type") ?: "", "Recreate");
	s.max_surge = recreate ? 0 : int_or_percent(json_object_get(ru, "maxSurge"), s.replicas, true, 1);
	s.max_unavail = recreate ? s.replicas : int_or_percent(json_object_get(ru, "maxUnavailable"), s.replicas, false, 0);
	if (!recreate && !s.max_surge && !s.max_unavail)
		s.max_unavail = 1;
	claim_rs(&s);
	split_rs(&s);
	bool paused = json_is_true(json_path(d, "spec.paused"));
	int r = 0;
	if (s.new_rs && (r = sync_new_rs_annotations(&s, err)) < 0)
		goto out;
	if (paused || is_scaling_event(&s))
		r = scale_only(&s, recreate, err);
	else
		r = recreate ? rollout_recreate(&s, err) : rollout_rolling(&s, err);
	if (r < 0)
		goto out;
	if ((r = sync_deployment_revision(&s, err)) < 0)
		goto out;
	if (!r && !paused && s.new_rs && spec_replicas(s.new_rs) == s.replicas)
		cleanup_history(&s);
	r = write_status(&s, paused, err);
out:
	if (r < 0 && json_object_get(s.status_extra, "collisionCount")) {
		_cleanup_err_ Error *e2 = NULL;
		write_status(&s, paused, &e2);
	}
	sync_release(&s);
	return r < 0 ? r : 0;
}

/* ---- event handlers ---- */

static void enqueue_ref(Ctl *c, const json_t *obj, const char *kind)
{
	const json_t *ref = obj_controller_ref(obj);
	if (!ref || strcmp(json_str(ref, "kind") ?: "", kind))
		return;
	_cleanup_free_ char *key = xasprintf("%s/%s", obj_meta(obj, "namespace") ?: "", json_str(ref, "name") ?: "");
	wq_add(c->q, key);
}

static void on_deployment(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)ev, (void)old;
	ctl_enqueue_obj(ud, obj);
}

static void on_rs(void *ud, InformerEvent ev, const json_t *old, const json_t *rs)
{
	Ctl *c = ud;
	if (obj_controller_ref(rs)) {
		enqueue_ref(c, rs, "Deployment");
		if (old && ev == INF_UPDATE)
			enqueue_ref(c, old, "Deployment");
		return;
	}
	_cleanup_json_ json_t *ds = informer_list(c->m->deploy, obj_meta(rs, "namespace"));
	size_t i;
	json_t *d;
	json_array_foreach(ds, i, d)
		if (sel_matches(json_path(d, "spec.selector"), json_path(rs, "metadata.labels")))
			ctl_enqueue_obj(c, d);
}

/* Recreate waits for old pods to go: a pod deletion wakes its deployment. */
static void on_pod(void *ud, InformerEvent ev, const json_t *old, const json_t *pod)
{
	(void)old;
	Ctl *c = ud;
	if (ev != INF_DELETE)
		return;
	const json_t *ref = obj_controller_ref(pod);
	if (!ref || strcmp(json_str(ref, "kind") ?: "", "ReplicaSet"))
		return;
	_cleanup_json_ json_t *rs = informer_get(c->m->rs, obj_meta(pod, "namespace"), json_str(ref, "name") ?: "");
	if (rs)
		enqueue_ref(c, rs, "Deployment");
}

void deploy_ctl_init(Ctl *c, Manager *m)
{
	*c = (Ctl){ .m = m, .sync = deploy_sync, .name = "deployment", .kind = "Deployment", .api_version = "apps/v1" };
	c->inf = m->deploy;
	c->q = wq_new(m->now_ms);
	c->exp = exp_new(m->now_ms);
	informer_add_handler(m->deploy, on_deployment, c);
	informer_add_handler(m->rs, on_rs, c);
	informer_add_handler(m->pods, on_pod, c);
}
