/* test-ctlsync-localpath.c - storage against the fake API: the local-path
 * provisioner's syncs (the default StorageClass, waiting for a consumer,
 * PV pvc-<uid> with path / node affinity / claimRef / capacity, binding,
 * reclaim Delete removing the directory and the PV, Retain -> Released,
 * classes of other provisioners left alone) and the scheduler's
 * VolumeBinding step (missing claim, immediate unbound claim, pinning to a
 * bound PV's node or a selected node, the selected-node annotation).
 */
#include "ctlsync.h"
#include "../../src/base/fs.h"
#include "../../src/scheduler/volumebinding.h"
#include <sys/stat.h>
#include <unistd.h>

#define PVCS "/api/v1/namespaces/default/persistentvolumeclaims"
#define PVS "/api/v1/persistentvolumes"
#define SCS "/apis/storage.k8s.io/v1/storageclasses"
#define NODES "/api/v1/nodes"

static json_t *pvc_obj(const char *name, const char *sc, const char *node)
{
	char ann[256] = "";
	if (node)
		snprintf(ann, sizeof(ann), ",'annotations':{'volume.kubernetes.io/selected-node':'%s'}", node);
	return J("{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'%s','namespace':'default'%s},"
		 "'spec':{'storageClassName':'%s','accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':'1Gi'}}}}",
		 name, ann, sc);
}

static json_t *get(Env *e, const char *coll, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", coll, name);
	return fake_get(e->f, path);
}

static bool has_event(Env *e, const char *reason)
{
	_cleanup_json_ json_t *evs = fake_list(e->f, "/api/v1/namespaces/default/events");
	size_t i;
	json_t *ev;
	json_array_foreach(evs, i, ev)
		if (!strcmp(json_str(ev, "reason") ?: "", reason))
			return true;
	return false;
}

static void test_default_class(void)
{
	Env e = env_start();
	Ctl *c = &e.m->lpc;
	is_int(sync_key(&e, c, "@init"), 0, "init: sync");
	_cleanup_json_ json_t *sc = get(&e, SCS, "local-path");
	ok(sc != NULL, "init: StorageClass local-path created");
	is_str(json_str(sc, "provisioner"), "berth.dev/local-path", "class: provisioner");
	is_str(json_str(json_path(sc, "metadata.annotations"), "storageclass.kubernetes.io/is-default-class"), "true",
	       "class: the default");
	is_str(json_str(sc, "volumeBindingMode"), "WaitForFirstConsumer", "class: WaitForFirstConsumer");
	is_str(json_str(sc, "reclaimPolicy"), "Delete", "class: reclaim Delete");
	fake_log_clear(e.f);
	is_int(sync_key(&e, c, "@init"), 0, "init: again");
	is_int(fake_count(e.f, "POST", SCS), 0, "init: an existing class is left alone");
	env_stop(&e);
}

static void test_provision_and_bind(void)
{
	Env e = env_start();
	Ctl *c = &e.m->lpc;
	sync_key(&e, c, "@init");
	char tmpl[] = "/tmp/lp-test-XXXXXX";
	const char *base = mkdtemp(tmpl);
	_cleanup_json_ json_t *node = put_obj(&e, NODES, J("{'apiVersion':'v1','kind':'Node','metadata':{'name':'n1',"
							    "'annotations':{'berth.dev/local-path-dir':'%s'}}}", base));
	_cleanup_json_ json_t *pvc = put_obj(&e, PVCS, pvc_obj("data", "local-path", NULL));
	const char *uid = meta_s(pvc, "uid");
	is_int(sync_key(&e, c, "default/data"), 0, "no consumer: sync");
	is_int(fake_count(e.f, "POST", PVS), 0, "no consumer: no PV");
	ok(has_event(&e, "WaitForFirstConsumer"), "no consumer: WaitForFirstConsumer event");

	patch_obj(&e, PVCS "/data", J("{'metadata':{'annotations':{'volume.kubernetes.io/selected-node':'n1'}}}"));
	is_int(sync_key(&e, c, "default/data"), 0, "selected node: sync");
	char pvname[128];
	snprintf(pvname, sizeof(pvname), "pvc-%s", uid);
	_cleanup_json_ json_t *pv = get(&e, PVS, pvname);
	ok(pv != NULL, "selected node: PV %s created", pvname);
	_cleanup_free_ char *want = xasprintf("%s/pvc-%s_default_data", base, uid);
	is_str(json_str(json_path(pv, "spec.hostPath"), "path"), want, "PV: path <dir>/pvc-<uid>_<ns>_<name>");
	is_str(json_str(json_path(pv, "spec.capacity"), "storage"), "1Gi", "PV: capacity from the request");
	is_str(json_string_value(json_array_get(json_path(pv, "spec.accessModes"), 0)), "ReadWriteOnce", "PV: access modes");
	is_str(json_str(json_object_get(pv, "spec"), "persistentVolumeReclaimPolicy"), "Delete", "PV: the class's reclaim");
	is_str(json_str(json_path(pv, "spec.claimRef"), "uid"), uid, "PV: claimRef uid");
	const json_t *expr = json_array_get(json_object_get(json_array_get(
		json_path(pv, "spec.nodeAffinity.required.nodeSelectorTerms"), 0), "matchExpressions"), 0);
	is_str(json_str(expr, "key"), "kubernetes.io/hostname", "PV: node affinity key");
	is_str(json_string_value(json_array_get(json_object_get(expr, "values"), 0)), "n1", "PV: node affinity n1");
	is_str(json_str(json_object_get(pv, "status"), "phase"), "Bound", "PV: Bound");
	_cleanup_json_ json_t *bound = get(&e, PVCS, "data");
	is_str(json_str(json_object_get(bound, "spec"), "volumeName"), pvname, "PVC: volumeName");
	is_str(json_str(json_object_get(bound, "status"), "phase"), "Bound", "PVC: Bound");
	is_str(json_str(json_path(bound, "status.capacity"), "storage"), "1Gi", "PVC: status capacity");
	ok(has_event(&e, "ProvisioningSucceeded"), "ProvisioningSucceeded event");
	fake_log_clear(e.f);
	is_int(sync_key(&e, c, "default/data"), 0, "bound: sync again");
	is_int(fake_count(e.f, "POST", PVS), 0, "bound: nothing more provisioned");

	/* reclaim Delete: the PV goes with the claim */
	ok(fs_mkdir_p(want, 0777, NULL) == 0, "the agent made the directory");
	fake_delete(e.f, PVCS "/data");
	_cleanup_free_ char *key = xasprintf("@pv:%s", pvname);
	is_int(sync_key(&e, c, key), 0, "claim gone: sync the volume");
	_cleanup_json_ json_t *gone = get(&e, PVS, pvname);
	ok(gone == NULL, "claim gone: PV deleted");
	/* the directory is the node's: its agent removes it once the PV is gone
	 * (agent/localvol.c), the controller never touches a node's files */
	ok(fs_exists(want), "claim gone: the controller leaves the node's directory to its agent");
	rmdir(want);
	rmdir(base);
	env_stop(&e);
}

static void test_retain_and_foreign(void)
{
	Env e = env_start();
	Ctl *c = &e.m->lpc;
	_cleanup_json_ json_t *sc = put_obj(&e, SCS, J("{'apiVersion':'storage.k8s.io/v1','kind':'StorageClass','metadata':"
						       "{'name':'keep'},'provisioner':'berth.dev/local-path',"
						       "'reclaimPolicy':'Retain','volumeBindingMode':'WaitForFirstConsumer'}"));
	_cleanup_json_ json_t *other = put_obj(&e, SCS, J("{'apiVersion':'storage.k8s.io/v1','kind':'StorageClass',"
							  "'metadata':{'name':'nfs'},'provisioner':'example.com/nfs'}"));
	_cleanup_json_ json_t *p1 = put_obj(&e, PVCS, pvc_obj("kept", "keep", "n1"));
	_cleanup_json_ json_t *p2 = put_obj(&e, PVCS, pvc_obj("remote", "nfs", "n1"));
	is_int(sync_key(&e, c, "default/remote"), 0, "foreign class: sync");
	is_int(fake_count(e.f, "POST", PVS), 0, "foreign class: not ours, nothing provisioned");
	is_int(sync_key(&e, c, "default/kept"), 0, "retain: provisioned");
	_cleanup_free_ char *pvname = xasprintf("pvc-%s", meta_s(p1, "uid"));
	_cleanup_json_ json_t *pv = get(&e, PVS, pvname);
	is_str(json_str(json_object_get(pv, "spec"), "persistentVolumeReclaimPolicy"), "Retain", "retain: PV keeps Retain");
	fake_delete(e.f, PVCS "/kept");
	_cleanup_free_ char *key = xasprintf("@pv:%s", pvname);
	is_int(sync_key(&e, c, key), 0, "retain: claim gone");
	_cleanup_json_ json_t *rel = get(&e, PVS, pvname);
	is_str(json_str(json_object_get(rel, "status"), "phase"), "Released", "retain: PV Released, not deleted");
	env_stop(&e);
}

static json_t *pod_with(const char *claim)
{
	return J("{'metadata':{'name':'p','namespace':'default'},'spec':{'containers':[{'name':'c'}],"
		 "'volumes':[{'name':'v','persistentVolumeClaim':{'claimName':'%s'}}]}}", claim);
}

static void test_scheduler_volume_binding(void)
{
	Env e = env_start();
	KubeClient *kc = fake_client(e.f);
	_cleanup_json_ json_t *pinned = NULL;
	settle(&e);
	fake_log_clear(e.f);
	_cleanup_json_ json_t *plain = J("{'metadata':{'name':'q','namespace':'default'},'spec':{'containers':[]}}");
	ok(sched_volumes_prefilter(kc, plain, &pinned) == NULL && !pinned, "no claims: schedulable, nothing read");
	is_int(fake_count(e.f, NULL, "*"), 0, "no claims: no request");

	_cleanup_json_ json_t *missing = pod_with("nosuch");
	_cleanup_free_ char *why = sched_volumes_prefilter(kc, missing, &pinned);
	is_str(why, "persistentvolumeclaim \"nosuch\" not found", "missing claim: kube-scheduler's words");
	_cleanup_free_ char *msg = sched_volumes_fit_message(why, 1);
	is_str(msg, "0/1 nodes are available: persistentvolumeclaim \"nosuch\" not found. preemption: 0/1 nodes are "
		    "available: 1 Preemption is not helpful for scheduling.", "missing claim: the FitError message");

	_cleanup_json_ json_t *imm = put_obj(&e, SCS, J("{'apiVersion':'storage.k8s.io/v1','kind':'StorageClass',"
						       "'metadata':{'name':'imm'},'provisioner':'x','volumeBindingMode':'Immediate'}"));
	_cleanup_json_ json_t *wffc = put_obj(&e, SCS, J("{'apiVersion':'storage.k8s.io/v1','kind':'StorageClass',"
							"'metadata':{'name':'wffc'},'provisioner':'x','volumeBindingMode':'WaitForFirstConsumer'}"));
	_cleanup_json_ json_t *c1 = put_obj(&e, PVCS, pvc_obj("imm", "imm", NULL));
	_cleanup_json_ json_t *p1 = pod_with("imm");
	_cleanup_free_ char *why1 = sched_volumes_prefilter(kc, p1, &pinned);
	is_str(why1, "pod has unbound immediate PersistentVolumeClaims", "immediate unbound claim: unschedulable");

	_cleanup_json_ json_t *c2 = put_obj(&e, PVCS, pvc_obj("w", "wffc", NULL));
	_cleanup_json_ json_t *p2 = pod_with("w");
	ok(sched_volumes_prefilter(kc, p2, &pinned) == NULL && !pinned, "WaitForFirstConsumer unbound: any node");
	is_int(sched_volumes_assume(kc, p2, "n2", NULL), 0, "assume: annotate");
	_cleanup_json_ json_t *c2b = get(&e, PVCS, "w");
	is_str(json_str(json_path(c2b, "metadata.annotations"), "volume.kubernetes.io/selected-node"), "n2",
	       "assume: selected-node set");
	_cleanup_free_ char *w3 = sched_volumes_prefilter(kc, p2, &pinned);
	ok(!w3 && pinned, "selected node: pinned");
	is_str(json_str(json_path(pinned, "spec.nodeSelector"), "kubernetes.io/hostname"), "n2",
	       "selected node: nodeSelector hostname");
	json_decref(pinned);
	pinned = NULL;

	_cleanup_json_ json_t *pv = put_obj(&e, PVS, J("{'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':'pv1'},"
						      "'spec':{'nodeAffinity':{'required':{'nodeSelectorTerms':[{'matchExpressions':"
						      "[{'key':'kubernetes.io/hostname','operator':'In','values':['n3']}]}]}}}}"));
	_cleanup_json_ json_t *c3 = put_obj(&e, PVCS, J("{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':"
						       "{'name':'b','namespace':'default'},'spec':{'volumeName':'pv1'}}"));
	_cleanup_json_ json_t *p3 = J("{'metadata':{'name':'p','namespace':'default'},'spec':{'nodeSelector':{'disk':'ssd'},"
				      "'volumes':[{'name':'v','persistentVolumeClaim':{'claimName':'b'}}]}}");
	ok(sched_volumes_prefilter(kc, p3, &pinned) == NULL && pinned, "bound claim: pinned");
	is_str(json_str(json_path(pinned, "spec.nodeSelector"), "kubernetes.io/hostname"), "n3", "bound claim: PV's node");
	is_str(json_str(json_path(pinned, "spec.nodeSelector"), "disk"), "ssd", "bound claim: the pod's selector kept");
	ok(!json_object_get(json_path(p3, "spec.nodeSelector"), "kubernetes.io/hostname") &&
		   json_object_size(json_path(p3, "spec.nodeSelector")) == 1, "bound claim: the pod itself untouched");
	_cleanup_json_ json_t *sel = J("{'kubernetes.io/hostname':'n4'}");
	ok(!sched_volumes_pin(sel, pv), "pin: a conflicting node is refused");
	kube_client_free(kc);
	env_stop(&e);
}

int main(void)
{
	test_default_class();
	test_provision_and_bind();
	test_retain_and_foreign();
	test_scheduler_volume_binding();
	return tap_done();
}
