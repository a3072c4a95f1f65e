/* test-ctlsync-ds.c - the DaemonSet and StatefulSet controllers' syncs
 * against the fake API: one daemon pod per eligible node (taints and
 * tolerations, NoExecute eviction, nodes joining and leaving, expectations);
 * StatefulSet OrderedReady creation, scale-down from the highest ordinal,
 * revision names stable across syncs.
 */
#include "ctlsync.h"

#define PODS "/api/v1/namespaces/default/pods"
#define NODES "/api/v1/nodes"
#define DSS "/apis/apps/v1/namespaces/default/daemonsets"
#define STSS "/apis/apps/v1/namespaces/default/statefulsets"
#define CRS "/apis/apps/v1/namespaces/default/controllerrevisions"

static void add_node(Env *e, const char *name, const char *taints)
{
	json_decref(put_obj(e, NODES,
			    J("{'apiVersion':'v1','kind':'Node','metadata':{'name':'%s','labels':{'kubernetes.io/hostname':'%s'}},"
			      "'spec':{'taints':[%s]},'status':{'conditions':[{'type':'Ready','status':'True'}]}}",
			      name, name, taints)));
}

static json_t *ds_obj(const char *name, const char *tolerations)
{
	return J("{'apiVersion':'apps/v1','kind':'DaemonSet','metadata':{'name':'%s','namespace':'default'},"
		 "'spec':{'selector':{'matchLabels':{'app':'%s'}},'template':{'metadata':{'labels':{'app':'%s'}},"
		 "'spec':{'tolerations':[%s],'containers':[{'name':'c','image':'busybox'}]}}}}",
		 name, name, name, tolerations);
}

/* "n1,n2" of the nodes the DaemonSet's live pods target, sorted. */
static void ds_nodes(Env *e, const json_t *ds, char *buf, size_t n)
{
	_cleanup_json_ json_t *pods = owned_by(e, PODS, meta_s(ds, "uid"));
	const char *names[16];
	size_t k = 0, i;
	json_t *p;
	json_array_foreach(pods, i, p)
		if (k < 16 && !json_path(p, "metadata.deletionTimestamp"))
			names[k++] = ds_pod_node(p) ?: "?";
	for (size_t a = 0; a < k; a++)
		for (size_t b = a + 1; b < k; b++)
			if (strcmp(names[a], names[b]) > 0) {
				const char *t = names[a];
				names[a] = names[b];
				names[b] = t;
			}
	buf[0] = 0;
	for (size_t a = 0; a < k; a++) {
		size_t l = strlen(buf);
		snprintf(buf + l, n - l, "%s%s", a ? "," : "", names[a]);
	}
}

static void test_daemonset(void)
{
	Env e = env_start();
	Ctl *c = &e.m->dsc;
	add_node(&e, "n1", "");
	add_node(&e, "n2", "");
	add_node(&e, "n3", "{'key':'dedicated','value':'db','effect':'NoSchedule'}");
	_cleanup_json_ json_t *plain = put_obj(&e, DSS, ds_obj("plain", ""));
	_cleanup_json_ json_t *tol = put_obj(&e, DSS, ds_obj("tol", "{'key':'dedicated','operator':'Exists','effect':'NoSchedule'}"));
	is_int(sync_key(&e, c, "default/plain"), 0, "ds: first sync");
	is_int(fake_count(e.f, "POST", PODS), 2, "ds: 2 pods for 2 eligible nodes (n3's taint is not tolerated)");
	fake_hold(e.f, true);
	_cleanup_err_ Error *err = NULL;
	/* its status write may meet a 409 (the cache is stale): that is fine */
	c->sync(c, "default/plain", &err);
	is_int(fake_count(e.f, "POST", PODS), 2, "ds: no second round of creates (expectations)");
	fake_hold(e.f, false);
	RUN(&e, c);
	char nodes[256];
	ds_nodes(&e, plain, nodes, sizeof(nodes));
	is_str(nodes, "n1,n2", "ds: plain runs on n1 and n2");
	ds_nodes(&e, tol, nodes, sizeof(nodes));
	is_str(nodes, "n1,n2,n3", "ds: the toleration lets tol run on n3 too");
	_cleanup_json_ json_t *pods = owned_by(&e, PODS, meta_s(plain, "uid"));
	json_t *p0 = json_array_get(pods, 0);
	ok(!strncmp(meta_s(p0, "name"), "plain-", 6), "ds: pod named <ds>-<5 chars> (%s)", meta_s(p0, "name"));
	ok(json_path(p0, "spec.affinity.nodeAffinity") != NULL && !json_str(json_object_get(p0, "spec"), "nodeName"),
	   "ds: the pod targets its node by node affinity, not nodeName");
	ok(json_str(json_path(p0, "metadata.labels"), "controller-revision-hash") != NULL, "ds: controller-revision-hash label");
	_cleanup_json_ json_t *d1 = fake_get(e.f, DSS "/plain");
	is_int(status_i(d1, "desiredNumberScheduled", -1), 2, "ds: desiredNumberScheduled 2");
	is_int(status_i(d1, "currentNumberScheduled", -1), 2, "ds: currentNumberScheduled 2");

	/* a node joins: both get a pod there */
	add_node(&e, "n4", "");
	RUN(&e, c);
	ds_nodes(&e, plain, nodes, sizeof(nodes));
	is_str(nodes, "n1,n2,n4", "ds: a joining node gets a pod");
	/* a NoExecute taint neither tolerates evicts the pods there */
	patch_obj(&e, NODES "/n1", J("{'spec':{'taints':[{'key':'maintenance','effect':'NoExecute'}]}}"));
	RUN(&e, c);
	ds_nodes(&e, plain, nodes, sizeof(nodes));
	is_str(nodes, "n2,n4", "ds: an untolerated NoExecute taint removes the pod");
	ds_nodes(&e, tol, nodes, sizeof(nodes));
	is_str(nodes, "n2,n3,n4", "ds: ... for every DaemonSet that does not tolerate it");
	/* a NoSchedule taint added later keeps the running pod */
	patch_obj(&e, NODES "/n4", J("{'spec':{'taints':[{'key':'late','effect':'NoSchedule'}]}}"));
	RUN(&e, c);
	ds_nodes(&e, plain, nodes, sizeof(nodes));
	is_str(nodes, "n2,n4", "ds: a NoSchedule taint does not evict a running daemon pod");
	/* a node removed: its pods are deleted */
	fake_log_clear(e.f);
	is_int(fake_delete(e.f, NODES "/n2"), 200, "ds: node n2 removed");
	RUN(&e, c);
	ds_nodes(&e, plain, nodes, sizeof(nodes));
	is_str(nodes, "n4", "ds: the removed node's pod is deleted");
	is_int(fake_count(e.f, "DELETE", PODS "/*"), 2, "ds: one DELETE per DaemonSet for the removed node");
	is_int(fake_count(e.f, "POST", PODS), 0, "ds: nothing created when a node goes");
	env_stop(&e);
}

static json_t *sts_obj(const char *name, int replicas)
{
	return J("{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'%s','namespace':'default'},"
		 "'spec':{'replicas':%d,'serviceName':'%s','selector':{'matchLabels':{'app':'%s'}},"
		 "'template':{'metadata':{'labels':{'app':'%s'}},'spec':{'containers':[{'name':'c','image':'busybox'}]}}}}",
		 name, replicas, name, name, name);
}

static bool pod_exists(Env *e, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), PODS "/%s", name);
	_cleanup_json_ json_t *p = fake_get(e->f, path);
	return p != NULL;
}

static void test_statefulset(void)
{
	Env e = env_start();
	Ctl *c = &e.m->stsc;
	_cleanup_json_ json_t *sts = put_obj(&e, STSS, sts_obj("db", 3));
	is_int(sync_key(&e, c, "default/db"), 0, "sts: first sync");
	ok(pod_exists(&e, "db-0") && !pod_exists(&e, "db-1"), "sts: OrderedReady creates db-0 alone");
	is_int(sync_key(&e, c, "default/db"), 0, "sts: second sync");
	ok(!pod_exists(&e, "db-1"), "sts: db-1 waits while db-0 is not Running and Ready");
	_cleanup_json_ json_t *s1 = fake_get(e.f, STSS "/db");
	char rev[128];
	snprintf(rev, sizeof(rev), "%s", json_str(json_object_get(s1, "status"), "updateRevision") ?: "");
	ok(!strncmp(rev, "db-", 3), "sts: updateRevision is a revision name (%s)", rev);
	_cleanup_json_ json_t *p0 = fake_get(e.f, PODS "/db-0");
	is_str(json_str(json_path(p0, "metadata.labels"), "controller-revision-hash"), rev,
	       "sts: pod labelled with the revision name");
	is_str(json_str(json_object_get(p0, "spec"), "hostname"), "db-0", "sts: hostname is the pod name");
	is_str(json_str(json_object_get(p0, "spec"), "subdomain"), "db", "sts: subdomain is serviceName");

	pod_set_running(&e, "default", "db-0", "n1", true);
	RUN(&e, c);
	ok(pod_exists(&e, "db-1") && !pod_exists(&e, "db-2"), "sts: db-1 once db-0 is Ready, not db-2 yet");
	pod_set_running(&e, "default", "db-1", "n1", true);
	RUN(&e, c);
	ok(pod_exists(&e, "db-2"), "sts: db-2 once db-1 is Ready");
	pod_set_running(&e, "default", "db-2", "n1", true);
	RUN(&e, c);
	_cleanup_json_ json_t *s2 = fake_get(e.f, STSS "/db");
	is_int(status_i(s2, "readyReplicas", -1), 3, "sts: readyReplicas 3");
	ok(json_is_integer(json_path(s2, "status.collisionCount")), "sts: status carries collisionCount");
	is_str(json_str(json_object_get(s2, "status"), "updateRevision"), rev,
	       "sts: updateRevision unchanged once status has collisionCount 0");
	is_str(json_str(json_object_get(s2, "status"), "currentRevision"), rev, "sts: currentRevision the same");
	/* more syncs never make another revision */
	for (int i = 0; i < 3; i++) {
		wq_add(c->q, "default/db");
		RUN(&e, c);
	}
	is_int(fake_count(e.f, "POST", CRS), 1, "sts: one ControllerRevision created in all");
	_cleanup_json_ json_t *crs = fake_list(e.f, CRS);
	is_int(json_array_size(crs), 1, "sts: one ControllerRevision exists");
	is_str(meta_s(json_array_get(crs, 0), "name"), rev, "sts: and it is the update revision");
	is_int(fake_count(e.f, "DELETE", PODS "/*"), 0, "sts: no pod replaced for a revision change");

	/* scale down: highest ordinal first, one at a time */
	fake_log_clear(e.f);
	patch_obj(&e, STSS "/db", J("{'spec':{'replicas':1}}"));
	is_int(sync_key(&e, c, "default/db"), 0, "sts: scale-down sync");
	is_int(fake_count(e.f, "DELETE", PODS "/db-2"), 1, "sts: db-2 deleted first");
	is_int(fake_count(e.f, "DELETE", PODS "/db-1"), 0, "sts: db-1 not in the same step");
	RUN(&e, c);
	ok(!pod_exists(&e, "db-1") && !pod_exists(&e, "db-2") && pod_exists(&e, "db-0"), "sts: scaled down to db-0");
	(void)sts;
	env_stop(&e);
}

int main(void)
{
	test_daemonset();
	test_statefulset();
	return tap_done();
}
