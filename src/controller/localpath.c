/* localpath.c - the built-in local-path provisioner (k3s' local-path-
 * provisioner's role) plus the PV controller's binding of what it makes.
 *
 *  - At start: the StorageClass "local-path" (provisioner berth.dev/local-path,
 *    default class, WaitForFirstConsumer, reclaim Delete) if missing.
 *  - A PVC of a class with that provisioner waits (event WaitForFirstConsumer)
 *    until the scheduler annotates it volume.kubernetes.io/selected-node
 *    (scheduler/volumebinding.c); then it gets PV "pvc-<uid>": hostPath
 *    <dir>/pvc-<uid>_<ns>_<name>, nodeAffinity kubernetes.io/hostname In
 *    [node], capacity from the request, the claim's accessModes, claimRef and
 *    the class's reclaim policy; PV and PVC are then marked Bound.  <dir> is
 *    the node's annotation berth.dev/local-path-dir, else <server data
 *    dir>/storage (k3s: <data-dir>/storage), else /var/lib/berth/storage.
 *    The agent creates the directory (0777) when a pod mounts it.
 *  - A PV of ours whose claim is gone: reclaim Delete deletes the PV (the
 *    agent of the node it was pinned to then removes the directory: the
 *    server may run elsewhere; src/agent/localvol.c); Retain marks it Released.
 *
 * Keys: "ns/name" (a claim), "@pv:NAME" (a volume), "@init".
 */
#include "controller-internal.h"
#include "../base/cleanup.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../shared/json.h"
#include <string.h>

#define LP_PROVISIONER "berth.dev/local-path"
#define LP_CLASS "local-path"
#define ANN_SELECTED_NODE "volume.kubernetes.io/selected-node"
#define ANN_DIR "berth.dev/local-path-dir"

/* ---- pure parts ---- */

char *localpath_dir(const char *base, const json_t *pvc)
{
	return xasprintf("%s/pvc-%s_%s_%s", base, obj_meta(pvc, "uid") ?: "", obj_meta(pvc, "namespace") ?: "",
			 obj_meta(pvc, "name") ?: "");
}

json_t *localpath_pv(const json_t *pvc, const json_t *sc, const char *node, const char *base)
{
	const json_t *spec = json_object_get(pvc, "spec");
	const char *storage = json_str(json_path(spec, "resources.requests"), "storage") ?: "0";
	json_t *modes = json_object_get(spec, "accessModes");
	_cleanup_free_ char *name = xasprintf("pvc-%s", obj_meta(pvc, "uid") ?: "");
	_cleanup_free_ char *path = localpath_dir(base, pvc);
	json_t *affinity = json_pack("{s:{s:[{s:[{s:s, s:s, s:[s]}]}]}}", "required", "nodeSelectorTerms",
				     "matchExpressions", "key", "kubernetes.io/hostname", "operator", "In", "values", node);
	json_t *claim = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "apiVersion", "v1", "kind", "PersistentVolumeClaim",
				  "namespace", obj_meta(pvc, "namespace") ?: "", "name", obj_meta(pvc, "name") ?: "",
				  "uid", obj_meta(pvc, "uid") ?: "", "resourceVersion", obj_meta(pvc, "resourceVersion") ?: "");
	json_t *pvspec = json_pack("{s:{s:s}, s:o, s:s, s:s, s:s, s:{s:s, s:s}, s:o, s:o}", "capacity", "storage", storage,
				   "accessModes", json_array_size(modes) ? json_deep_copy(modes) : json_pack("[s]", "ReadWriteOnce"),
				   "persistentVolumeReclaimPolicy", json_str(sc, "reclaimPolicy") ?: "Delete",
				   "storageClassName", json_str(spec, "storageClassName") ?: "", "volumeMode", "Filesystem",
				   "hostPath", "path", path, "type", "DirectoryOrCreate", "nodeAffinity", affinity, "claimRef",
				   claim);
	return json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s}}, s:o}", "apiVersion", "v1", "kind", "PersistentVolume",
			 "metadata", "name", name, "annotations", "pv.kubernetes.io/provisioned-by", LP_PROVISIONER,
			 "local.path.provisioner/selected-node", node, "spec", pvspec);
}

/* ---- against the API ---- */

static int ensure_class(Ctl *c, Error **err)
{
	_cleanup_json_ json_t *got = NULL;
	int r = kube_get(c->m->kc, "/apis/storage.k8s.io/v1/storageclasses/" LP_CLASS, &got, NULL);
	if (r == 0 || r != -ENOENT)
		return r == 0 ? 0 : err_set(err, -r, "storageclass %s: read failed", LP_CLASS);
	_cleanup_json_ json_t *sc = json_pack(
		"{s:s, s:s, s:{s:s, s:{s:s}}, s:s, s:s, s:s}", "apiVersion", "storage.k8s.io/v1", "kind",
		"StorageClass", "metadata", "name", LP_CLASS, "annotations", "storageclass.kubernetes.io/is-default-class",
		"true", "provisioner", LP_PROVISIONER, "volumeBindingMode", "WaitForFirstConsumer", "reclaimPolicy",
		"Delete");
	r = kube_post(c->m->kc, "/apis/storage.k8s.io/v1/storageclasses", sc, NULL, err);
	if (r == -EEXIST)
		return 0;
	if (r == 0)
		log_info("local-path: created the default StorageClass %s", LP_CLASS);
	return r;
}

static int enqueue_our_pvs(Ctl *c, Error **err)
{
	_cleanup_json_ json_t *l = NULL;
	int r = kube_get(c->m->kc, "/api/v1/persistentvolumes", &l, err);
	if (r < 0)
		return r;
	size_t i;
	json_t *pv;
	json_array_foreach(json_object_get(l, "items"), i, pv) {
		_cleanup_free_ char *k = xasprintf("@pv:%s", obj_meta(pv, "name") ?: "");
		wq_add(c->q, k);
	}
	return 0;
}

static char *node_base_dir(Ctl *c, const char *node)
{
	_cleanup_json_ json_t *n = informer_get(c->m->nodes, NULL, node);
	const char *dir = json_str(json_path(n, "metadata.annotations"), ANN_DIR);
	if (dir && dir[0] == '/')
		return xstrdup(dir);
	if (c->m->data_dir)
		return xasprintf("%s/storage", c->m->data_dir);
	return xstrdup("/var/lib/berth/storage");
}

static int bind_claim(Ctl *c, const json_t *pvc, const json_t *pv, Error **err)
{
	const char *ns = obj_meta(pvc, "namespace"), *name = obj_meta(pvc, "name");
	const char *pvname = obj_meta(pv, "name");
	_cleanup_free_ char *pvstat = xasprintf("/api/v1/persistentvolumes/%s/status", pvname);
	_cleanup_json_ json_t *p1 = json_pack("{s:{s:s}}", "status", "phase", "Bound");
	int r = kube_patch(c->m->kc, pvstat, p1, NULL, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/persistentvolumeclaims/%s", ns, name);
	_cleanup_json_ json_t *p2 = json_pack("{s:{s:{s:s, s:s, s:s}}, s:{s:s}}", "metadata", "annotations",
					      "pv.kubernetes.io/bind-completed", "yes",
					      "pv.kubernetes.io/bound-by-controller", "yes",
					      "volume.kubernetes.io/storage-provisioner", LP_PROVISIONER, "spec",
					      "volumeName", pvname);
	if ((r = kube_patch(c->m->kc, path, p2, NULL, err)) < 0)
		return r;
	_cleanup_free_ char *st = xasprintf("%s/status", path);
	const json_t *spec = json_object_get(pv, "spec");
	_cleanup_json_ json_t *p3 = json_pack("{s:{s:s, s:O, s:O}}", "status", "phase", "Bound", "capacity",
					      json_object_get(spec, "capacity"), "accessModes",
					      json_object_get(spec, "accessModes"));
	return kube_patch(c->m->kc, st, p3, NULL, err);
}

static int sync_claim(Ctl *c, const char *key, Error **err)
{
	char ns[256], name[256];
	key_split(key, ns, sizeof(ns), name, sizeof(name));
	_cleanup_json_ json_t *pvc = informer_get(c->m->pvcs, ns, name);
	if (!pvc || json_path(pvc, "metadata.deletionTimestamp"))
		return 0;
	const json_t *spec = json_object_get(pvc, "spec");
	const char *phase = json_str(json_object_get(pvc, "status"), "phase") ?: "";
	const char *scname = json_str(spec, "storageClassName");
	if (!strcmp(phase, "Bound") || !scname || !*scname)
		return 0;
	_cleanup_free_ char *scpath = xasprintf("/apis/storage.k8s.io/v1/storageclasses/%s", scname);
	_cleanup_json_ json_t *sc = NULL;
	if (kube_get(c->m->kc, scpath, &sc, NULL) < 0 || strcmp(json_str(sc, "provisioner") ?: "", LP_PROVISIONER))
		return 0;
	_cleanup_free_ char *pvname = xasprintf("pvc-%s", obj_meta(pvc, "uid") ?: "");
	_cleanup_free_ char *pvpath = xasprintf("/api/v1/persistentvolumes/%s", pvname);
	_cleanup_json_ json_t *pv = NULL;
	if (kube_get(c->m->kc, pvpath, &pv, NULL) == 0)  /* made earlier: finish the binding */
		return bind_claim(c, pvc, pv, err);
	const char *node = json_str(json_path(pvc, "metadata.annotations"), ANN_SELECTED_NODE);
	if (!node || !*node) {
		ctl_event(c->m, pvc, "PersistentVolumeClaim", "persistentvolume-controller", "Normal",
			  "WaitForFirstConsumer", "waiting for first consumer to be created before binding");
		return 0;
	}
	ctl_event(c->m, pvc, "PersistentVolumeClaim", "persistentvolume-controller", "Normal", "ExternalProvisioning",
		  "Waiting for a volume to be created either by the external provisioner '%s' or manually by the "
		  "system administrator. If volume creation is delayed, please verify that the provisioner is "
		  "running and correctly registered.", LP_PROVISIONER);
	ctl_event(c->m, pvc, "PersistentVolumeClaim", LP_PROVISIONER, "Normal", "Provisioning",
		  "External provisioner is provisioning volume for claim \"%s/%s\"", ns, name);
	_cleanup_free_ char *base = node_base_dir(c, node);
	_cleanup_json_ json_t *body = localpath_pv(pvc, sc, node, base);
	int r = kube_post(c->m->kc, "/api/v1/persistentvolumes", body, &pv, err);
	if (r == -EEXIST)
		r = kube_get(c->m->kc, pvpath, &pv, err);
	if (r < 0)
		return err_prefix(err, "persistentvolumeclaim %s/%s: provision", ns, name);
	log_info("local-path: provisioned %s for %s/%s on node %s", pvname, ns, name, node);
	ctl_event(c->m, pvc, "PersistentVolumeClaim", LP_PROVISIONER, "Normal", "ProvisioningSucceeded",
		  "Successfully provisioned volume %s", pvname);
	return bind_claim(c, pvc, pv, err);
}

static int sync_volume(Ctl *c, const char *name, Error **err)
{
	_cleanup_free_ char *path = xasprintf("/api/v1/persistentvolumes/%s", name);
	_cleanup_json_ json_t *pv = NULL;
	if (kube_get(c->m->kc, path, &pv, NULL) < 0)
		return 0;
	if (strcmp(json_str(json_path(pv, "metadata.annotations"), "pv.kubernetes.io/provisioned-by") ?: "",
		   LP_PROVISIONER))
		return 0;
	const json_t *ref = json_path(pv, "spec.claimRef");
	_cleanup_json_ json_t *pvc = informer_get(c->m->pvcs, json_str(ref, "namespace"), json_str(ref, "name") ?: "");
	if (pvc && !strcmp(obj_meta(pvc, "uid") ?: "", json_str(ref, "uid") ?: ""))
		return 0;  /* the claim is still there */
	const char *policy = json_str(json_object_get(pv, "spec"), "persistentVolumeReclaimPolicy") ?: "Delete";
	if (strcmp(policy, "Delete")) {
		_cleanup_free_ char *st = xasprintf("%s/status", path);
		_cleanup_json_ json_t *p = json_pack("{s:{s:s}}", "status", "phase", "Released");
		return strcmp(json_str(json_object_get(pv, "status"), "phase") ?: "", "Released")
			       ? kube_patch(c->m->kc, st, p, NULL, err)
			       : 0;
	}
	int r = kube_delete(c->m->kc, path, err);
	if (r == -ENOENT)
		return 0;
	if (r == 0)
		log_info("local-path: deleted %s (claim %s/%s gone)", name, json_str(ref, "namespace"),
			 json_str(ref, "name"));
	return r;
}

static int lp_sync(Ctl *c, const char *key, Error **err)
{
	if (!strcmp(key, "@init")) {
		int r = ensure_class(c, err);
		return r < 0 ? r : enqueue_our_pvs(c, err);
	}
	if (!strncmp(key, "@pv:", 4))
		return sync_volume(c, key + 4, err);
	return sync_claim(c, key, err);
}

static void on_pvc(void *ud, InformerEvent ev, const json_t *old, const json_t *obj)
{
	(void)old;
	Ctl *c = ud;
	if (ev == INF_DELETE) {
		const char *vol = json_str(json_object_get(obj, "spec"), "volumeName");
		_cleanup_free_ char *k = vol && *vol ? xasprintf("@pv:%s", vol) : xasprintf("@pv:pvc-%s", obj_meta(obj, "uid") ?: "");
		wq_add(c->q, k);
		return;
	}
	ctl_enqueue_obj(c, obj);
}

void localpath_ctl_init(Ctl *c, Manager *m)
{
	*c = (Ctl){ .m = m, .sync = lp_sync, .name = "local-path", .inf = m->pvcs };
	c->q = wq_new(m->now_ms);
	c->exp = exp_new(m->now_ms);
	informer_add_handler(m->pvcs, on_pvc, c);
	wq_add(c->q, "@init");
}
