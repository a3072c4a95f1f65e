/* release-kube.c - a release's objects on a cluster, as Helm's kube client
 * handles them: REST paths from a built-in table of kinds or API discovery
 * (/api/v1, /apis/G/V, cached per group-version), creation in install order
 * with Helm's ownership label and annotations, the three-way update of an
 * upgrade or rollback (a JSON merge patch: fields of the new manifest that
 * differ from the live object, plus deletions of what the old manifest had
 * and the new one dropped), deletion in reverse order, readiness waits and
 * hooks (weight order, delete policies, Job/Pod completion).
 */
#include "release.h"
#include "../base/cleanup.h"
#include "../shared/json.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Hand e to the caller (or drop it when the caller passed no err). */
static void err_pass(Error **err, Error *e)
{
	if (err && !*err)
		*err = e;
	else
		err_free(e);
}

struct RelKube {
	KubeClient *kc;          /* borrowed */
	json_t *gv;              /* group-version -> APIResourceList (discovery cache) */
};

typedef struct KindInfo {
	const char *api_version, *kind, *plural;
	bool namespaced;
} KindInfo;

static const KindInfo builtin[] = {
	{ "v1", "Namespace", "namespaces", false }, { "v1", "ConfigMap", "configmaps", true },
	{ "v1", "Secret", "secrets", true }, { "v1", "Service", "services", true },
	{ "v1", "ServiceAccount", "serviceaccounts", true }, { "v1", "Pod", "pods", true },
	{ "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true },
	{ "v1", "PersistentVolume", "persistentvolumes", false },
	{ "v1", "ReplicationController", "replicationcontrollers", true },
	{ "v1", "ResourceQuota", "resourcequotas", true }, { "v1", "LimitRange", "limitranges", true },
	{ "v1", "Endpoints", "endpoints", true },
	{ "apps/v1", "Deployment", "deployments", true }, { "apps/v1", "StatefulSet", "statefulsets", true },
	{ "apps/v1", "DaemonSet", "daemonsets", true }, { "apps/v1", "ReplicaSet", "replicasets", true },
	{ "batch/v1", "Job", "jobs", true }, { "batch/v1", "CronJob", "cronjobs", true },
	{ "rbac.authorization.k8s.io/v1", "Role", "roles", true },
	{ "rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", true },
	{ "rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", false },
	{ "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", false },
	{ "networking.k8s.io/v1", "Ingress", "ingresses", true },
	{ "networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", true },
	{ "policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", true },
	{ "autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true },
	{ "apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", false },
};

int relkube_new(KubeClient *kc, RelKube **ret)
{
	RelKube *k = xcalloc(1, sizeof *k);
	k->kc = kc;
	k->gv = json_object();
	*ret = k;
	return 0;
}

void relkube_free(RelKube *k)
{
	json_decref(k->gv);
	free(k);
}

static int discover(RelKube *k, const char *api_version, const char *kind, const char **plural, bool *namespaced,
		    Error **err)
{
	json_t *list = json_object_get(k->gv, api_version);
	if (!list) {
		_cleanup_free_ char *p = strchr(api_version, '/') ? xasprintf("/apis/%s", api_version)
								 : xasprintf("/api/%s", api_version);
		if (kube_get(k->kc, p, &list, NULL) < 0 || !list)
			list = json_object();
		json_object_set_new(k->gv, api_version, list);
	}
	json_t *res = json_object_get(list, "resources");
	for (size_t i = 0; i < json_array_size(res); i++) {
		json_t *r = json_array_get(res, i);
		const char *n = json_str(r, "name");
		if (n && !strchr(n, '/') && !strcmp(json_str(r, "kind") ?: "", kind)) {
			*plural = n;
			*namespaced = json_bool(r, "namespaced", true);
			return 0;
		}
	}
	return err_set(err, ENOENT, "resource mapping not found for kind \"%s\" in version \"%s\": "
		       "ensure CRDs are installed first", kind, api_version);
}

int relkube_path(RelKube *k, const char *api_version, const char *kind, const char *ns, const char *name,
		 char **ret, bool *ret_namespaced, Error **err)
{
	if (!api_version || !*api_version || !kind || !*kind)
		return err_set(err, EINVAL, "object %s has no apiVersion or kind", name ? name : "");
	const char *plural = NULL;
	bool namespaced = true;
	for (size_t i = 0; i < ARRAY_SIZE(builtin) && !plural; i++)
		if (!strcmp(builtin[i].api_version, api_version) && !strcmp(builtin[i].kind, kind)) {
			plural = builtin[i].plural;
			namespaced = builtin[i].namespaced;
		}
	if (!plural && discover(k, api_version, kind, &plural, &namespaced, err) < 0)
		return -ENOENT;
	const char *root = strchr(api_version, '/') ? "/apis/" : "/api/";
	StrBuf sb;
	sb_init(&sb);
	sb_addf(&sb, "%s%s", root, api_version);
	if (namespaced && ns && *ns)
		sb_addf(&sb, "/namespaces/%s", ns);
	sb_addf(&sb, "/%s", plural);
	if (name && *name)
		sb_addf(&sb, "/%s", name);
	*ret = sb_detach(&sb);
	if (ret_namespaced)
		*ret_namespaced = namespaced;
	return 0;
}

/* ---- objects --------------------------------------------------------------------------------- */
typedef struct ObjRef {
	const char *api_version, *kind, *name, *ns;
} ObjRef;

static ObjRef obj_ref(const json_t *o, const char *default_ns)
{
	json_t *m = json_object_get(o, "metadata");
	const char *ns = json_str(m, "namespace");
	return (ObjRef){ json_str(o, "apiVersion") ?: "", json_str(o, "kind") ?: "", json_str(m, "name") ?: "",
			 ns && *ns ? ns : default_ns };
}

static int obj_path(RelKube *k, const json_t *o, const char *ns, bool item, char **ret, Error **err)
{
	ObjRef r = obj_ref(o, ns);
	if (!*r.name)
		return err_set(err, EINVAL, "%s in %s has no metadata.name", r.kind, r.api_version);
	return relkube_path(k, r.api_version, r.kind, r.ns, item ? r.name : NULL, ret, NULL, err);
}

/* Helm 3's ownership marks on every release object. */
static void set_owner(json_t *o, const char *rel_name, const char *ns)
{
	json_t *m = json_obj_ensure(o, "metadata");
	json_t *l = json_obj_ensure(m, "labels"), *a = json_obj_ensure(m, "annotations");
	json_object_set_new(l, "app.kubernetes.io/managed-by", json_string("Helm"));
	json_object_set_new(a, "meta.helm.sh/release-name", json_string(rel_name));
	json_object_set_new(a, "meta.helm.sh/release-namespace", json_string(ns));
}

static bool owned_by(const json_t *live, const char *rel_name, const char *ns)
{
	json_t *m = json_object_get(live, "metadata"), *a = json_object_get(m, "annotations");
	return !strcmp(json_str(a, "meta.helm.sh/release-name") ?: "", rel_name) &&
	       !strcmp(json_str(a, "meta.helm.sh/release-namespace") ?: "", ns);
}

static int conflict_error(const json_t *o, const char *ns, const char *rel_name, Error **err)
{
	ObjRef r = obj_ref(o, ns);
	return err_set(err, EEXIST,
		       "rendered manifests contain a resource that already exists. Unable to continue with install: "
		       "%s \"%s\" in namespace \"%s\" exists and cannot be imported into the current release: invalid "
		       "ownership metadata; annotation validation error: missing key \"meta.helm.sh/release-name\": must "
		       "be set to \"%s\"; annotation validation error: missing key \"meta.helm.sh/release-namespace\": "
		       "must be set to \"%s\"", r.kind, r.name, r.ns, rel_name, ns);
}

int relkube_ensure_namespace(RelKube *k, const char *ns, Error **err)
{
	_cleanup_json_ json_t *obj = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
					       "metadata", "name", ns), *out = NULL;
	Error *e = NULL;
	int rc = kube_post(k->kc, "/api/v1/namespaces", obj, &out, &e);
	if (rc == -EEXIST) {
		err_free(e);
		return 0;
	}
	if (rc < 0)
		err_pass(err, e);
	return rc;
}

int relkube_check_conflicts(RelKube *k, const char *manifest, const char *ns, const char *rel_name, Error **err)
{
	RelDoc *d = NULL;
	size_t n = 0;
	if (release_split(manifest, &d, &n, err) < 0)
		return -EINVAL;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		_cleanup_free_ char *p = NULL;
		_cleanup_json_ json_t *live = NULL;
		if ((rc = obj_path(k, d[i].obj, ns, true, &p, err)) < 0)
			break;
		if (kube_get(k->kc, p, &live, NULL) == 0 && !owned_by(live, rel_name, ns))
			rc = conflict_error(d[i].obj, ns, rel_name, err);
	}
	reldocs_free(d, n);
	return rc;
}

static int create_one(RelKube *k, const json_t *obj, const char *ns, const char *rel_name, bool adopt, Error **err)
{
	_cleanup_json_ json_t *o = json_deep_copy(obj), *out = NULL;
	if (rel_name)
		set_owner(o, rel_name, ns);
	_cleanup_free_ char *p = NULL;
	if (obj_path(k, o, ns, false, &p, err) < 0)
		return -EINVAL;
	Error *e = NULL;
	int rc = kube_post(k->kc, p, o, &out, &e);
	if (rc == -EEXIST && adopt) {
		err_free(e);
		e = NULL;
		_cleanup_free_ char *ip = NULL;
		_cleanup_json_ json_t *live = NULL;
		if (obj_path(k, o, ns, true, &ip, err) < 0)
			return -EINVAL;
		if (kube_get(k->kc, ip, &live, err) < 0)
			return -EIO;
		if (rel_name && !owned_by(live, rel_name, ns))
			return conflict_error(obj, ns, rel_name, err);
		return kube_patch(k->kc, ip, o, &out, err);
	}
	if (rc < 0) {
		ObjRef r = obj_ref(obj, ns);
		err_pass(err, e);
		return err_prefix(err, "failed to create resource %s \"%s\"", r.kind, r.name);
	}
	return 0;
}

int relkube_create(RelKube *k, const char *manifest, const char *ns, const char *rel_name, bool adopt_owned,
		   Error **err)
{
	RelDoc *d = NULL;
	size_t n = 0;
	if (release_split(manifest, &d, &n, err) < 0)
		return -EINVAL;
	release_sort_install(d, n);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = create_one(k, d[i].obj, ns, rel_name, adopt_owned, err);
	reldocs_free(d, n);
	return rc;
}

int relkube_install_crds(RelKube *k, const char *text, Error **err)
{
	RelDoc *d = NULL;
	size_t n = 0;
	if (release_split(text, &d, &n, err) < 0)
		return -EINVAL;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		Error *e = NULL;
		rc = create_one(k, d[i].obj, NULL, NULL, false, &e);
		if (rc < 0 && e && strstr(e->msg, "already exists"))
			rc = 0;     /* Helm never touches an installed CRD */
		if (rc < 0)
			err_pass(err, e);
		else
			err_free(e);
	}
	reldocs_free(d, n);
	return rc;
}

/* ---- three-way merge patch --------------------------------------------------------------------- */
/* Fields of modified that differ from current (no deletions). */
static json_t *diff_add(const json_t *current, const json_t *modified)
{
	json_t *p = json_object();
	const char *key;
	json_t *mv;
	json_object_foreach((json_t *)modified, key, mv) {
		json_t *cv = json_object_get(current, key);
		if (json_is_object(mv) && json_is_object(cv)) {
			json_t *sub = diff_add(cv, mv);
			if (json_object_size(sub))
				json_object_set_new(p, key, sub);
			else
				json_decref(sub);
		} else if (!cv || !json_equal(cv, mv)) {
			json_object_set(p, key, mv);
		}
	}
	return p;
}

/* Fields original had and modified dropped: null (nested into shared objects). */
static json_t *diff_del(const json_t *original, const json_t *modified)
{
	json_t *p = json_object();
	const char *key;
	json_t *ov;
	json_object_foreach((json_t *)original, key, ov) {
		json_t *mv = json_object_get(modified, key);
		if (!mv) {
			json_object_set_new(p, key, json_null());
		} else if (json_is_object(ov) && json_is_object(mv)) {
			json_t *sub = diff_del(ov, mv);
			if (json_object_size(sub))
				json_object_set_new(p, key, sub);
			else
				json_decref(sub);
		}
	}
	return p;
}

static void merge_into(json_t *dst, const json_t *src)
{
	const char *key;
	json_t *sv;
	json_object_foreach((json_t *)src, key, sv) {
		json_t *dv = json_object_get(dst, key);
		if (json_is_object(dv) && json_is_object(sv))
			merge_into(dv, sv);
		else
			json_object_set(dst, key, sv);
	}
}

static json_t *three_way(const json_t *original, const json_t *modified, const json_t *current)
{
	json_t *p = original ? diff_del(original, modified) : json_object();
	json_t *add = diff_add(current, modified);
	merge_into(p, add);
	json_decref(add);
	return p;
}

static char *doc_key(const json_t *o, const char *ns)
{
	ObjRef r = obj_ref(o, ns);
	const char *slash = strchr(r.api_version, '/');
	int gl = slash ? (int)(slash - r.api_version) : 0;
	return xasprintf("%.*s/%s/%s/%s", gl, r.api_version, r.kind, r.ns, r.name);
}

static const RelDoc *find_doc(const RelDoc *d, size_t n, const char *key, const char *ns)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *k = doc_key(d[i].obj, ns);
		if (!strcmp(k, key))
			return &d[i];
	}
	return NULL;
}

static bool keep_policy(const json_t *o)
{
	json_t *a = json_object_get(json_object_get(o, "metadata"), "annotations");
	return !strcmp(json_str(a, "helm.sh/resource-policy") ?: "", "keep");
}

static int delete_obj(RelKube *k, const json_t *o, const char *ns, Error **err)
{
	_cleanup_free_ char *p = NULL;
	if (obj_path(k, o, ns, true, &p, err) < 0)
		return -EINVAL;
	_cleanup_free_ char *q = xasprintf("%s?propagationPolicy=Background", p);
	Error *e = NULL;
	int rc = kube_delete(k->kc, q, &e);
	if (rc == -ENOENT) {
		err_free(e);
		return 0;
	}
	if (rc < 0)
		err_pass(err, e);
	return rc;
}

int relkube_update(RelKube *k, const char *old_manifest, const char *new_manifest, const char *ns,
		   const char *rel_name, Error **err)
{
	RelDoc *od = NULL, *nd = NULL;
	size_t on = 0, nn = 0;
	if (release_split(old_manifest, &od, &on, err) < 0)
		return -EINVAL;
	if (release_split(new_manifest, &nd, &nn, err) < 0) {
		reldocs_free(od, on);
		return -EINVAL;
	}
	release_sort_install(nd, nn);
	release_sort_install(od, on);
	int rc = 0;
	for (size_t i = 0; i < nn && rc == 0; i++) {
		_cleanup_free_ char *key = doc_key(nd[i].obj, ns), *p = NULL;
		const RelDoc *old = find_doc(od, on, key, ns);
		if ((rc = obj_path(k, nd[i].obj, ns, true, &p, err)) < 0)
			break;
		_cleanup_json_ json_t *live = NULL, *want = json_deep_copy(nd[i].obj), *out = NULL;
		set_owner(want, rel_name, ns);
		Error *e = NULL;
		int g = kube_get(k->kc, p, &live, &e);
		if (g == -ENOENT) {
			err_free(e);
			rc = create_one(k, nd[i].obj, ns, rel_name, false, err);
			continue;
		}
		if (g < 0) {
			err_pass(err, e);
			rc = g;
			break;
		}
		if (!old && !owned_by(live, rel_name, ns)) {
			rc = conflict_error(nd[i].obj, ns, rel_name, err);
			break;
		}
		_cleanup_json_ json_t *patch = three_way(old ? old->obj : NULL, want, live);
		if (json_object_size(patch) && (rc = kube_patch(k->kc, p, patch, &out, err)) < 0) {
			ObjRef r = obj_ref(nd[i].obj, ns);
			err_prefix(err, "cannot patch \"%s\" with kind %s", r.name, r.kind);
		}
	}
	for (size_t i = on; i-- > 0 && rc == 0;) {
		_cleanup_free_ char *key = doc_key(od[i].obj, ns);
		if (find_doc(nd, nn, key, ns) || keep_policy(od[i].obj))
			continue;
		rc = delete_obj(k, od[i].obj, ns, err);
	}
	reldocs_free(od, on);
	reldocs_free(nd, nn);
	return rc;
}

int relkube_delete(RelKube *k, const char *manifest, const char *ns, StrBuf *kept, Error **err)
{
	RelDoc *d = NULL;
	size_t n = 0;
	if (release_split(manifest, &d, &n, err) < 0)
		return -EINVAL;
	release_sort_install(d, n);
	int rc = 0;
	for (size_t i = n; i-- > 0 && rc == 0;) {
		if (keep_policy(d[i].obj)) {
			if (kept) {
				ObjRef r = obj_ref(d[i].obj, ns);
				sb_addf(kept, "[%s] %s\n", r.kind, r.name);
			}
			continue;
		}
		rc = delete_obj(k, d[i].obj, ns, err);
	}
	reldocs_free(d, n);
	return rc;
}

/* ---- readiness ------------------------------------------------------------------------------------ */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nap(void)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

static bool cond_true(const json_t *status, const char *type)
{
	json_t *cs = json_object_get(status, "conditions");
	for (size_t i = 0; i < json_array_size(cs); i++) {
		json_t *c = json_array_get(cs, i);
		if (!strcmp(json_str(c, "type") ?: "", type) && !strcmp(json_str(c, "status") ?: "", "True"))
			return true;
	}
	return false;
}

/* 1 ready, 0 not yet, -1 failed for good. */
static int ready(const json_t *o)
{
	const char *kind = json_str(o, "kind") ?: "";
	json_t *spec = json_object_get(o, "spec"), *st = json_object_get(o, "status");
	json_int_t want = json_int(spec, "replicas", 1);
	if (!strcmp(kind, "Deployment"))
		return json_int(st, "observedGeneration", 0) >= json_int(json_object_get(o, "metadata"), "generation", 0) &&
		       json_int(st, "updatedReplicas", 0) >= want && json_int(st, "availableReplicas", 0) >= want;
	if (!strcmp(kind, "StatefulSet") || !strcmp(kind, "ReplicaSet") || !strcmp(kind, "ReplicationController"))
		return json_int(st, "readyReplicas", 0) >= want;
	if (!strcmp(kind, "DaemonSet"))
		return json_int(st, "numberReady", 0) >= json_int(st, "desiredNumberScheduled", 0);
	if (!strcmp(kind, "Pod")) {
		const char *ph = json_str(st, "phase") ?: "";
		if (!strcmp(ph, "Failed"))
			return -1;
		return !strcmp(ph, "Succeeded") || cond_true(st, "Ready");
	}
	if (!strcmp(kind, "Job")) {
		if (cond_true(st, "Failed"))
			return -1;
		return cond_true(st, "Complete");
	}
	if (!strcmp(kind, "PersistentVolumeClaim"))
		return !strcmp(json_str(st, "phase") ?: "", "Bound");
	return 1;
}

/* A hook is done when its Job completed or Pod succeeded (Pods need not be Ready). */
static int hook_done(const json_t *o)
{
	const char *kind = json_str(o, "kind") ?: "";
	json_t *st = json_object_get(o, "status");
	if (!strcmp(kind, "Pod")) {
		const char *ph = json_str(st, "phase") ?: "";
		return !strcmp(ph, "Succeeded") ? 1 : !strcmp(ph, "Failed") ? -1 : 0;
	}
	if (!strcmp(kind, "Job"))
		return ready(o);
	return 1;
}

static int wait_obj(RelKube *k, const json_t *obj, const char *ns, double deadline, int (*check)(const json_t *),
		    Error **err)
{
	_cleanup_free_ char *p = NULL;
	if (obj_path(k, obj, ns, true, &p, err) < 0)
		return -EINVAL;
	ObjRef r = obj_ref(obj, ns);
	for (;;) {
		_cleanup_json_ json_t *live = NULL;
		if (kube_get(k->kc, p, &live, err) < 0)
			return -EIO;
		int s = check(live);
		if (s > 0)
			return 0;
		if (s < 0)
			return err_set(err, EIO, "%s %s failed", r.kind, r.name);
		if (now_s() >= deadline)
			return err_set(err, ETIMEDOUT, "%s %s: timed out waiting for the condition", r.kind, r.name);
		nap();
	}
}

int relkube_wait(RelKube *k, const char *manifest, const char *ns, int timeout_s, Error **err)
{
	RelDoc *d = NULL;
	size_t n = 0;
	if (release_split(manifest, &d, &n, err) < 0)
		return -EINVAL;
	double deadline = now_s() + (timeout_s > 0 ? timeout_s : 300);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = wait_obj(k, d[i].obj, ns, deadline, ready, err);
	reldocs_free(d, n);
	return rc;
}

/* ---- hooks ---------------------------------------------------------------------------------------- */
static bool has_str(const json_t *arr, const char *s)
{
	for (size_t i = 0; i < json_array_size(arr); i++)
		if (!strcmp(json_string_value(json_array_get(arr, i)) ?: "", s))
			return true;
	return false;
}

static int cmp_hooks(const void *x, const void *y)
{
	const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	json_int_t wa = json_int(a, "weight", 0), wb = json_int(b, "weight", 0);
	if (wa != wb)
		return wa < wb ? -1 : 1;
	return strcmp(json_str(a, "name") ?: "", json_str(b, "name") ?: "");
}

static int hook_obj(const json_t *h, json_t **ret, Error **err)
{
	RelDoc *d = NULL;
	size_t n = 0;
	const char *m = json_str(h, "manifest") ?: "";
	if (release_split(m, &d, &n, err) < 0)
		return -EINVAL;
	if (n != 1) {
		reldocs_free(d, n);
		return err_set(err, EINVAL, "hook %s: expected one object, found %zu", json_str(h, "path") ?: "", n);
	}
	*ret = json_incref(d[0].obj);
	reldocs_free(d, n);
	return 0;
}

static int delete_hook_by_policy(RelKube *k, const json_t *h, const json_t *obj, const char *policy, const char *ns,
				 double deadline, Error **err)
{
	if (!has_str(json_object_get(h, "delete_policies"), policy))
		return 0;
	if (delete_obj(k, obj, ns, err) < 0)
		return -EIO;
	/* wait until it is really gone (finalizers, graceful pod deletion) */
	_cleanup_free_ char *p = NULL;
	if (obj_path(k, obj, ns, true, &p, err) < 0)
		return -EINVAL;
	for (;;) {
		_cleanup_json_ json_t *live = NULL;
		Error *e = NULL;
		int rc = kube_get(k->kc, p, &live, &e);
		err_free(e);
		if (rc == -ENOENT)
			return 0;
		if (now_s() >= deadline)
			return err_set(err, ETIMEDOUT, "hook %s: timed out waiting for deletion", json_str(h, "name") ?: "");
		nap();
	}
}

int relkube_run_hooks(RelKube *k, json_t *rel, const char *event, int timeout_s, Error **err)
{
	json_t *hooks = json_object_get(rel, "hooks");
	const char *ns = release_namespace(rel);
	size_t n = 0;
	_cleanup_free_ json_t **run = xcalloc(json_array_size(hooks) + 1, sizeof *run);
	for (size_t i = 0; i < json_array_size(hooks); i++) {
		json_t *h = json_array_get(hooks, i);
		if (has_str(json_object_get(h, "events"), event))
			run[n++] = h;
	}
	/* stable: equal (weight, name) keep manifest order */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && cmp_hooks(&run[j - 1], &run[j]) > 0; j--) {
			json_t *t = run[j];
			run[j] = run[j - 1];
			run[j - 1] = t;
		}
	double deadline = now_s() + (timeout_s > 0 ? timeout_s : 300);
	for (size_t i = 0; i < n; i++) {
		json_t *h = run[i];
		if (!json_array_size(json_object_get(h, "delete_policies")))
			json_object_set_new(h, "delete_policies", json_pack("[s]", "before-hook-creation"));
		_cleanup_json_ json_t *obj = NULL;
		if (hook_obj(h, &obj, err) < 0)
			return -EINVAL;
		if (delete_hook_by_policy(k, h, obj, "before-hook-creation", ns, deadline, err) < 0)
			return -EIO;
		_cleanup_free_ char *start = release_time_now();
		json_object_set_new(h, "last_run", json_pack("{s:s,s:s,s:s}", "started_at", start, "completed_at",
							     RELEASE_TIME_ZERO, "phase", "Running"));
		json_t *lr = json_object_get(h, "last_run");
		int rc = create_one(k, obj, ns, NULL, false, err);
		if (rc == 0)
			rc = wait_obj(k, obj, ns, deadline, hook_done, err);
		_cleanup_free_ char *end = release_time_now();
		json_object_set_new(lr, "completed_at", json_string(end));
		json_object_set_new(lr, "phase", json_string(rc < 0 ? "Failed" : "Succeeded"));
		if (rc < 0) {
			err_prefix(err, "warning: Hook %s %s failed", event, json_str(h, "path") ?: "");
			delete_hook_by_policy(k, h, obj, "hook-failed", ns, deadline, NULL);
			return rc;
		}
	}
	for (size_t i = n; i-- > 0;) {
		_cleanup_json_ json_t *obj = NULL;
		if (hook_obj(run[i], &obj, err) < 0 ||
		    delete_hook_by_policy(k, run[i], obj, "hook-succeeded", ns, deadline, err) < 0)
			return -EIO;
	}
	return 0;
}

/* ---- lookup ---------------------------------------------------------------------------------------- */
int relkube_lookup(void *ctx, const char *api_version, const char *kind, const char *ns, const char *name,
		   json_t **ret, Error **err)
{
	RelKube *k = ctx;
	_cleanup_free_ char *p = NULL;
	if (relkube_path(k, api_version, kind, ns, name, &p, NULL, err) < 0)
		return -ENOENT;
	Error *e = NULL;
	int rc = kube_get(k->kc, p, ret, &e);
	if (rc == -ENOENT) {
		err_free(e);
		*ret = json_object();
		return 0;
	}
	if (rc < 0)
		err_pass(err, e);
	return rc;
}
