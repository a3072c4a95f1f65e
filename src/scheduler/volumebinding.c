/* volumebinding.c - kube-scheduler's VolumeBinding plugin, as far as berth's
 * storage goes (the local-path provisioner, controller/localpath.c):
 *
 *  - PreFilter: every persistentVolumeClaim volume's claim must exist
 *    (`persistentvolumeclaim "x" not found`); a bound claim's PV must exist
 *    and its nodeAffinity pins the pod to that node; an unbound claim must be
 *    of a WaitForFirstConsumer class (else `pod has unbound immediate
 *    PersistentVolumeClaims`), and one already annotated with a selected
 *    node pins the pod there.  Pinning is a nodeSelector on a copy of the
 *    pod, so the usual filters (NodeAffinity) do the rest.
 *  - PreBind: the unbound claims get volume.kubernetes.io/selected-node, the
 *    provisioner's cue; the agent waits for them to be Bound.
 *
 * Claims are read with GETs from the API, only for pods that have such
 * volumes, so other pods cost nothing.
 */
#include "volumebinding.h"
#include "../base/cleanup.h"
#include "../base/strbuf.h"
#include "../shared/json.h"
#include <string.h>

#define ANN_SELECTED_NODE "volume.kubernetes.io/selected-node"

bool sched_volumes_has_claims(const json_t *pod)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_path(pod, "spec.volumes"), i, v)
		if (json_object_get(v, "persistentVolumeClaim"))
			return true;
	return false;
}

bool sched_volumes_pin(json_t *sel, const json_t *pv)
{
	const json_t *term = json_array_get(json_path(pv, "spec.nodeAffinity.required.nodeSelectorTerms"), 0);
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(term, "matchExpressions"), i, e) {
		const json_t *vals = json_object_get(e, "values");
		const char *key = json_str(e, "key"), *val = json_string_value(json_array_get(vals, 0));
		if (!key || !val || strcmp(json_str(e, "operator") ?: "", "In") || json_array_size(vals) != 1)
			continue;
		const char *have = json_str(sel, key);
		if (have && strcmp(have, val))
			return false;
		json_object_set_new(sel, key, json_string(val));
	}
	return true;
}

static char *claim_path(const char *ns, const char *name)
{
	return xasprintf("/api/v1/namespaces/%s/persistentvolumeclaims/%s", ns, name);
}

/* Check one claim; pin sel.  NULL ok, else the reason. */
static char *check_claim(KubeClient *kc, const char *ns, const char *claim, json_t *sel)
{
	_cleanup_free_ char *path = claim_path(ns, claim);
	_cleanup_json_ json_t *pvc = NULL;
	if (kube_get(kc, path, &pvc, NULL) < 0)
		return xasprintf("persistentvolumeclaim \"%s\" not found", claim);
	if (json_path(pvc, "metadata.deletionTimestamp"))
		return xasprintf("persistentvolumeclaim \"%s\" is being deleted", claim);
	const char *vol = json_str(json_object_get(pvc, "spec"), "volumeName");
	if (vol && *vol) {
		_cleanup_free_ char *pvpath = xasprintf("/api/v1/persistentvolumes/%s", vol);
		_cleanup_json_ json_t *pv = NULL;
		if (kube_get(kc, pvpath, &pv, NULL) < 0)
			return xasprintf("persistentvolume \"%s\" not found", vol);
		return sched_volumes_pin(sel, pv) ? NULL : xstrdup("node(s) had volume node affinity conflict");
	}
	const char *sc = json_str(json_object_get(pvc, "spec"), "storageClassName");
	_cleanup_json_ json_t *cls = NULL;
	if (sc && *sc) {
		_cleanup_free_ char *scpath = xasprintf("/apis/storage.k8s.io/v1/storageclasses/%s", sc);
		if (kube_get(kc, scpath, &cls, NULL) < 0)
			return xasprintf("storageclass.storage.k8s.io \"%s\" not found", sc);
	}
	if (!cls || strcmp(json_str(cls, "volumeBindingMode") ?: "", "WaitForFirstConsumer"))
		return xstrdup("pod has unbound immediate PersistentVolumeClaims");
	const char *node = json_str(json_path(pvc, "metadata.annotations"), ANN_SELECTED_NODE);
	if (node && *node) {
		const char *have = json_str(sel, "kubernetes.io/hostname");
		if (have && strcmp(have, node))
			return xstrdup("node(s) had volume node affinity conflict");
		json_object_set_new(sel, "kubernetes.io/hostname", json_string(node));
	}
	return NULL;
}

char *sched_volumes_prefilter(KubeClient *kc, const json_t *pod, json_t **constrained)
{
	*constrained = NULL;
	if (!sched_volumes_has_claims(pod))
		return NULL;
	const char *ns = json_str(json_object_get(pod, "metadata"), "namespace") ?: "default";
	_cleanup_json_ json_t *sel = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(json_path(pod, "spec.volumes"), i, v) {
		const json_t *src = json_object_get(v, "persistentVolumeClaim");
		if (!src)
			continue;
		char *why = check_claim(kc, ns, json_str(src, "claimName") ?: "", sel);
		if (why)
			return why;
	}
	if (!json_object_size(sel))
		return NULL;
	json_t *copy = json_deep_copy(pod);
	json_t *spec = json_object_get(copy, "spec");
	json_t *ns_sel = json_object_get(spec, "nodeSelector");
	if (!json_is_object(ns_sel))
		json_object_set_new(spec, "nodeSelector", ns_sel = json_object());
	json_object_update(ns_sel, sel);
	*constrained = copy;
	return NULL;
}

char *sched_volumes_fit_message(const char *why, size_t nnodes)
{
	_cleanup_sb_ StrBuf sb = STRBUF_INIT;
	sb_addf(&sb, "0/%zu nodes are available: %s. preemption: 0/%zu nodes are available: %zu Preemption is not "
		"helpful for scheduling.", nnodes, why, nnodes, nnodes);
	return sb_detach(&sb);
}

int sched_volumes_assume(KubeClient *kc, const json_t *pod, const char *node, Error **err)
{
	if (!sched_volumes_has_claims(pod))
		return 0;
	const char *ns = json_str(json_object_get(pod, "metadata"), "namespace") ?: "default";
	size_t i;
	json_t *v;
	json_array_foreach(json_path(pod, "spec.volumes"), i, v) {
		const json_t *src = json_object_get(v, "persistentVolumeClaim");
		if (!src)
			continue;
		_cleanup_free_ char *path = claim_path(ns, json_str(src, "claimName") ?: "");
		_cleanup_json_ json_t *pvc = NULL;
		int r = kube_get(kc, path, &pvc, err);
		if (r < 0)
			return r;
		const char *vol = json_str(json_object_get(pvc, "spec"), "volumeName");
		const char *have = json_str(json_path(pvc, "metadata.annotations"), ANN_SELECTED_NODE);
		if ((vol && *vol) || (have && !strcmp(have, node)))
			continue;
		_cleanup_json_ json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", ANN_SELECTED_NODE,
							 node);
		if ((r = kube_patch(kc, path, patch, NULL, err)) < 0)
			return r;
	}
	return 0;
}
