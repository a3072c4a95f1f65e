/* test-ctlsync-pdb.c - PodDisruptionBudgets: the disruption controller's
 * sync against the fake API (expectedPods from the controllers' scale or the
 * pod count, currentHealthy, disruptionsAllowed, the DisruptionAllowed
 * condition, disruptedPods expiry on the fake clock, the SyncFailed
 * fail-safe, conflicts retried without it, no write when nothing changed),
 * and preemption's PDB accounting (preempt.c: violations counted in
 * priority order, the node without a violation chosen).
 */
#include "ctlsync.h"
#include "../../src/scheduler/sched-internal.h"

#define NS "default"
#define PODS "/api/v1/namespaces/default/pods"
#define PDBS "/apis/policy/v1/namespaces/default/poddisruptionbudgets"
#define RSS "/apis/apps/v1/namespaces/default/replicasets"
#define DEPS "/apis/apps/v1/namespaces/default/deployments"
#define STSS "/apis/apps/v1/namespaces/default/statefulsets"

static json_t *pdb_obj(const char *name, const char *app, const char *budget)
{
	return J("{'apiVersion':'policy/v1','kind':'PodDisruptionBudget','metadata':{'name':'%s','namespace':'default'},"
		 "'spec':{'selector':{'matchLabels':{'app':'%s'}},%s}}",
		 name, app, budget);
}

/* A pod of app controlled by (kind, name, uid), or unmanaged when kind is NULL. */
static json_t *put_pod(Env *e, const char *name, const char *app, const char *kind, const json_t *owner)
{
	json_t *p = J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'%s','namespace':'default','labels':{'app':'%s'}},"
		      "'spec':{'containers':[{'name':'c','image':'busybox:1'}]}}",
		      name, app);
	if (kind)
		json_object_set_new(json_object_get(p, "metadata"), "ownerReferences",
				    json_pack("[{s:s, s:s, s:s, s:s, s:b}]", "apiVersion",
					      strcmp(kind, "ReplicationController") ? "apps/v1" : "v1", "kind", kind, "name",
					      meta_s(owner, "name"), "uid", meta_s(owner, "uid"), "controller", 1));
	return put_obj(e, PODS, p);
}

static json_t *get_pdb(Env *e, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), PDBS "/%s", name);
	return fake_get(e->f, path);
}

static int sync_pdb(Env *e, const char *name)
{
	char key[128];
	snprintf(key, sizeof(key), NS "/%s", name);
	return sync_key(e, &e->m->pdbc, key);
}

#define ST(o, k) status_i(o, k, -1)

static void test_deployment_scale(void)
{
	Env e = env_start();
	_cleanup_json_ json_t *d = put_obj(&e, DEPS, J("{'metadata':{'name':'web','namespace':'default'},"
						       "'spec':{'replicas':4,'selector':{'matchLabels':{'app':'web'}},"
						       "'template':{'metadata':{'labels':{'app':'web'}},"
						       "'spec':{'containers':[{'name':'c','image':'x'}]}}}}"));
	json_t *rsj = J("{'metadata':{'name':'web-1','namespace':'default'},'spec':{'replicas':4,"
			"'selector':{'matchLabels':{'app':'web'}},'template':{'metadata':{'labels':{'app':'web'}},"
			"'spec':{'containers':[{'name':'c','image':'x'}]}}}}");
	json_object_set_new(json_object_get(rsj, "metadata"), "ownerReferences",
			    json_pack("[o]", owner_ref_new(d, "apps/v1", "Deployment")));
	_cleanup_json_ json_t *rs = put_obj(&e, RSS, rsj);
	/* a second set of the same deployment: its scale is counted once (the deployment's) */
	json_t *rs2j = J("{'metadata':{'name':'web-2','namespace':'default'},'spec':{'replicas':0,"
			 "'selector':{'matchLabels':{'app':'web'}},'template':{'metadata':{'labels':{'app':'web'}},"
			 "'spec':{'containers':[{'name':'c','image':'y'}]}}}}");
	json_object_set_new(json_object_get(rs2j, "metadata"), "ownerReferences",
			    json_pack("[o]", owner_ref_new(d, "apps/v1", "Deployment")));
	_cleanup_json_ json_t *rs2 = put_obj(&e, RSS, rs2j);
	for (int i = 0; i < 3; i++) {
		char n[16];
		snprintf(n, sizeof(n), "web-%d", i);
		json_decref(put_pod(&e, n, "web", "ReplicaSet", i == 2 ? rs2 : rs));
	}
	json_decref(put_pod(&e, "web-x", "other", "ReplicaSet", rs));  /* not selected */
	pod_set_running(&e, NS, "web-0", "n1", true);
	pod_set_running(&e, NS, "web-1", "n1", true);
	pod_set_running(&e, NS, "web-2", "n1", false);
	json_decref(put_obj(&e, PDBS, pdb_obj("max1", "web", "'maxUnavailable':1")));
	json_decref(put_obj(&e, PDBS, pdb_obj("pct", "web", "'minAvailable':'50%'")));
	json_decref(put_obj(&e, PDBS, pdb_obj("int", "web", "'minAvailable':1")));
	ok(sync_pdb(&e, "max1") >= 0 && sync_pdb(&e, "pct") >= 0 && sync_pdb(&e, "int") >= 0, "scale: syncs succeed");
	_cleanup_json_ json_t *m = get_pdb(&e, "max1"), *p = get_pdb(&e, "pct"), *n = get_pdb(&e, "int");
	is_int(ST(m, "expectedPods"), 4, "maxUnavailable: expectedPods is the deployment's scale");
	is_int(ST(m, "desiredHealthy"), 3, "maxUnavailable: desiredHealthy 4 - 1");
	is_int(ST(m, "currentHealthy"), 2, "maxUnavailable: 2 ready pods");
	is_int(ST(m, "disruptionsAllowed"), 0, "maxUnavailable: nothing allowed");
	is_str(cond_field(m, "DisruptionAllowed", "reason"), "InsufficientPods", "maxUnavailable: InsufficientPods");
	is_str(cond_field(m, "DisruptionAllowed", "status"), "False", "maxUnavailable: condition False");
	is_int(ST(m, "observedGeneration"), json_int(json_object_get(m, "metadata"), "generation", -2),
	       "observedGeneration follows the generation");
	is_int(ST(p, "expectedPods"), 4, "50%%: expectedPods from the scale");
	is_int(ST(p, "desiredHealthy"), 2, "50%%: desiredHealthy 2");
	is_int(ST(p, "disruptionsAllowed"), 0, "50%%: 2 healthy of 2 desired: none allowed");
	is_int(ST(n, "expectedPods"), 3, "integer minAvailable: expectedPods is the pod count");
	is_int(ST(n, "desiredHealthy"), 1, "integer minAvailable: desiredHealthy 1");
	is_int(ST(n, "disruptionsAllowed"), 1, "integer minAvailable: one disruption allowed");
	is_str(cond_field(n, "DisruptionAllowed", "reason"), "SufficientPods", "SufficientPods");
	is_str(cond_field(n, "DisruptionAllowed", "status"), "True", "condition True");
	/* nothing changed: no write */
	fake_log_clear(e.f);
	ok(sync_pdb(&e, "int") >= 0, "resync succeeds");
	is_int(fake_count(e.f, "PUT", PDBS "/int/status"), 0, "an unchanged status is not written");
	/* the third pod becomes ready: the pod event queues the PDBs that select it */
	drain(&e, &e.m->pdbc);
	pod_set_running(&e, NS, "web-2", NULL, true);
	settle(&e);
	is_int((int64_t)wq_len(e.m->pdbc.q), 3, "a pod change queues the three PDBs selecting it");
	RUN(&e, &e.m->pdbc);
	_cleanup_json_ json_t *m2 = get_pdb(&e, "max1");
	is_int(ST(m2, "currentHealthy"), 3, "maxUnavailable: 3 healthy");
	is_int(ST(m2, "disruptionsAllowed"), 0, "maxUnavailable: 3 healthy of 3 desired");
	/* scaling the deployment down to 3 makes one disruption allowed */
	patch_obj(&e, DEPS "/web", J("{'spec':{'replicas':3}}"));
	settle(&e);
	ok(sync_pdb(&e, "max1") >= 0, "sync after the scale change");
	_cleanup_json_ json_t *m3 = get_pdb(&e, "max1");
	is_int(ST(m3, "expectedPods"), 3, "expectedPods follows the deployment's spec.replicas");
	is_int(ST(m3, "disruptionsAllowed"), 1, "one disruption allowed");
	env_stop(&e);
}

static void test_statefulset_and_failsafe(void)
{
	Env e = env_start();
	_cleanup_json_ json_t *sts = put_obj(&e, STSS, J("{'metadata':{'name':'db','namespace':'default'},"
							 "'spec':{'replicas':5,'serviceName':'db','selector':{'matchLabels':"
							 "{'app':'db'}},'template':{'metadata':{'labels':{'app':'db'}},"
							 "'spec':{'containers':[{'name':'c','image':'x'}]}}}}"));
	for (int i = 0; i < 2; i++) {
		char n[16];
		snprintf(n, sizeof(n), "db-%d", i);
		json_decref(put_pod(&e, n, "db", "StatefulSet", sts));
		pod_set_running(&e, NS, n, "n1", true);
	}
	json_decref(put_pod(&e, "loose", "db", NULL, NULL));  /* unmanaged: not counted in the scale */
	pod_set_running(&e, NS, "loose", "n1", true);
	json_decref(put_obj(&e, PDBS, pdb_obj("db", "db", "'maxUnavailable':'40%'")));
	ok(sync_pdb(&e, "db") >= 0, "statefulset: sync succeeds");
	_cleanup_json_ json_t *p = get_pdb(&e, "db");
	is_int(ST(p, "expectedPods"), 5, "statefulset: expectedPods is its spec.replicas");
	is_int(ST(p, "desiredHealthy"), 3, "statefulset: 5 - ceil(40%% of 5)");
	is_int(ST(p, "currentHealthy"), 3, "statefulset: every ready selected pod is healthy (the unmanaged one too)");
	is_int(ST(p, "disruptionsAllowed"), 0, "statefulset: none allowed");
	/* a pod whose controller is unknown: the fail-safe */
	_cleanup_json_ json_t *ghost = J("{'metadata':{'name':'ghost','uid':'no-such-uid'}}");
	json_decref(put_pod(&e, "orphan-of-ghost", "db", "ReplicaSet", ghost));
	patch_obj(&e, STSS "/db", J("{'spec':{'replicas':2}}"));  /* would allow disruptions if counted */
	settle(&e);
	fake_log_clear(e.f);
	ok(sync_pdb(&e, "db") < 0, "unknown controller: the sync fails (and is retried)");
	_cleanup_json_ json_t *f = get_pdb(&e, "db");
	is_int(ST(f, "disruptionsAllowed"), 0, "fail-safe: disruptionsAllowed 0");
	is_str(cond_field(f, "DisruptionAllowed", "reason"), "SyncFailed", "fail-safe: reason SyncFailed");
	is_str(cond_field(f, "DisruptionAllowed", "status"), "False", "fail-safe: condition False");
	is_str(cond_field(f, "DisruptionAllowed", "message"), "found no controllers for pod \"orphan-of-ghost\"",
	       "fail-safe: the message says why");
	/* a write conflict only retries: no fail-safe write */
	fake_delete(e.f, PODS "/orphan-of-ghost");
	settle(&e);
	fake_log_clear(e.f);
	fake_fail(e.f, "PUT", PDBS "/db/status", 409, 1);
	ok(sync_pdb(&e, "db") < 0, "conflict: the sync fails");
	is_int(fake_count(e.f, "PUT", PDBS "/db/status"), 1, "conflict: no fail-safe write after it");
	ok(sync_pdb(&e, "db") >= 0, "conflict: the retry succeeds");
	_cleanup_json_ json_t *g = get_pdb(&e, "db");
	is_int(ST(g, "expectedPods"), 2, "after the retry: expectedPods 2");
	is_int(ST(g, "disruptionsAllowed"), 2, "after the retry: 3 healthy, 1 desired: 2 allowed");
	is_str(cond_field(g, "DisruptionAllowed", "reason"), "SufficientPods", "after the retry: SufficientPods");
	env_stop(&e);
}

static void test_disrupted_pods(void)
{
	Env e = env_start();
	for (int i = 0; i < 3; i++) {
		char n[16];
		snprintf(n, sizeof(n), "p%d", i);
		json_decref(put_pod(&e, n, "api", NULL, NULL));
		pod_set_running(&e, NS, n, "n1", true);
	}
	json_decref(put_obj(&e, PDBS, pdb_obj("api", "api", "'minAvailable':1")));
	json_decref(put_obj(&e, PDBS, pdb_obj("empty", "api", "'minAvailable':0")));
	patch_obj(&e, PDBS "/empty", J("{'spec':{'selector':{'matchLabels':null}}}"));
	/* what an eviction writes: p0 recorded now, p1 recorded and since deleting */
	char now[40];
	time_rfc3339(now, sizeof(now), CS_T0);
	patch_obj(&e, PDBS "/api/status", J("{'status':{'disruptionsAllowed':1,'disruptedPods':{'p0':'%s','p1':'%s'}}}",
					    now, now));
	patch_obj(&e, PODS "/p1", J("{'metadata':{'deletionTimestamp':'%s','finalizers':['x']}}", now));
	ok(sync_pdb(&e, "api") >= 0, "disrupted: sync succeeds");
	_cleanup_json_ json_t *p = get_pdb(&e, "api");
	is_int(ST(p, "currentHealthy"), 1, "disrupted: the recorded pod and the deleting one are not healthy");
	is_int(ST(p, "disruptionsAllowed"), 0, "disrupted: 1 healthy, 1 desired");
	const json_t *dp = json_path(p, "status.disruptedPods");
	ok(json_object_get(dp, "p0") && !json_object_get(dp, "p1") && json_object_size(dp) == 1,
	   "disrupted: p0 kept, the deleting p1 dropped");
	drain(&e, &e.m->pdbc);
	/* two minutes later p0 was not deleted: it counts again */
	fake_clock_advance_s(121);
	char *key = NULL;
	ok(wq_get(e.m->pdbc.q, 0, &key) == 1 && key && !strcmp(key, "default/api"), "disrupted: a recheck was queued");
	if (key) {
		wq_done(e.m->pdbc.q, key);
		free(key);
	}
	ok(sync_pdb(&e, "api") >= 0, "disrupted: the recheck succeeds");
	_cleanup_json_ json_t *q = get_pdb(&e, "api");
	is_int(ST(q, "currentHealthy"), 2, "disrupted: the expired entry's pod is healthy again");
	ok(!json_object_size(json_path(q, "status.disruptedPods")), "disrupted: the expired entry is gone");
	is_int(ST(q, "disruptionsAllowed"), 1, "disrupted: one allowed again");
	/* an empty selector selects nothing */
	ok(sync_pdb(&e, "empty") >= 0, "empty selector: sync succeeds");
	_cleanup_json_ json_t *em = get_pdb(&e, "empty");
	is_int(ST(em, "expectedPods"), 0, "empty selector: no pods");
	is_int(ST(em, "disruptionsAllowed"), 0, "empty selector: nothing allowed with no pods expected");
	_cleanup_json_ json_t *pod = fake_get(e.f, PODS "/p0"), *pdb = get_pdb(&e, "api"), *epdb = get_pdb(&e, "empty");
	ok(pdb_selects(pdb, pod) && !pdb_selects(epdb, pod), "pdb_selects: selector, empty selects none");
	json_object_set_new(json_object_get(pod, "metadata"), "namespace", json_string("other"));
	ok(!pdb_selects(pdb, pod), "pdb_selects: another namespace is not covered");
	env_stop(&e);
}

/* ---- preemption (preempt.c) ---- */

static SchedNode *node(const char *name)
{
	_cleanup_json_ json_t *j = J("{'metadata':{'name':'%s','labels':{'kubernetes.io/hostname':'%s'}},"
				     "'status':{'allocatable':{'cpu':'1','memory':'8Gi','pods':'110'},"
				     "'conditions':[{'type':'Ready','status':'True'}]}}",
				     name, name);
	return sched_node_new(j);
}

static SchedPod *spod(const char *name, const char *app, int prio, const char *cpu)
{
	_cleanup_json_ json_t *j = J("{'metadata':{'name':'%s','namespace':'ns','uid':'uid-%s','labels':{'app':'%s'}},"
				     "'spec':{'priority':%d,'containers':[{'name':'c','resources':{'requests':"
				     "{'cpu':'%s'}}}]}}",
				     name, name, app, prio, cpu);
	return sched_pod_new(j);
}

static void test_preemption(void)
{
	SchedNode *nodes[2] = { node("a"), node("b") };
	SchedPod *guarded = spod("guarded", "g", 10, "800m"), *a2 = spod("a2", "g", 5, "100m");
	SchedPod *free_pod = spod("free", "f", 20, "800m");
	sched_node_add_pod(nodes[0], guarded);
	sched_node_add_pod(nodes[0], a2);
	sched_node_add_pod(nodes[1], free_pod);
	SchedPod *vip = spod("vip", "v", 1000, "800m");
	SchedReasons r[2] = { 0 };
	ok(!sched_filter(vip, nodes[0], &r[0]) && !sched_filter(vip, nodes[1], &r[1]), "vip fits nowhere");
	const SchedPod **v = NULL;
	size_t nv = 0;
	long at = sched_preempt_pdb(vip, nodes, 2, r, NULL, NULL, &v, &nv);
	is_int(at, 0, "no PDBs: node a (its highest victim has the lower priority)");
	free(v);
	/* one disruption allowed for app g: a's victim is the guarded pod alone (a2 is reprieved), no violation */
	_cleanup_json_ json_t *one = J("[{'metadata':{'name':'g','namespace':'ns'},'spec':{'selector':{'matchLabels':"
				       "{'app':'g'}}},'status':{'disruptionsAllowed':1}}]");
	at = sched_preempt_pdb(vip, nodes, 2, r, NULL, one, &v, &nv);
	is_int(at, 0, "a budget left: node a still");
	is_int((int64_t)nv, 1, "one victim on a");
	is_str(nv ? v[0]->name : "", "guarded", "the pod that frees the room");
	free(v);
	/* the budget spent: evicting the guarded pod violates it, b wins */
	_cleanup_json_ json_t *spent = J("[{'metadata':{'name':'g','namespace':'ns'},'spec':{'selector':{'matchLabels':"
					 "{'app':'g'}}},'status':{'disruptionsAllowed':0}}]");
	at = sched_preempt_pdb(vip, nodes, 2, r, NULL, spent, &v, &nv);
	is_int(at, 1, "a spent budget: node b, where no PDB is violated");
	is_str(nv ? v[0]->name : "", "free", "b's victim");
	free(v);
	ok(!guarded->evicted && !a2->evicted && nodes[0]->nlist == 2, "the simulation restores node a");
	/* a pod already recorded in disruptedPods spends nothing */
	_cleanup_json_ json_t *recorded = J("[{'metadata':{'name':'g','namespace':'ns'},'spec':{'selector':"
					    "{'matchLabels':{'app':'g'}}},'status':{'disruptionsAllowed':0,"
					    "'disruptedPods':{'guarded':'2026-01-01T00:00:00Z'}}}]");
	at = sched_preempt_pdb(vip, nodes, 2, r, NULL, recorded, &v, &nv);
	is_int(at, 0, "a victim already in disruptedPods is no violation");
	free(v);
	/* another namespace's budget does not cover them */
	_cleanup_json_ json_t *elsewhere = J("[{'metadata':{'name':'g','namespace':'other'},'spec':{'selector':"
					     "{'matchLabels':{'app':'g'}}},'status':{'disruptionsAllowed':0}}]");
	at = sched_preempt_pdb(vip, nodes, 2, r, NULL, elsewhere, &v, &nv);
	is_int(at, 0, "a PDB of another namespace is ignored");
	free(v);
	/* violations counted in priority order: with one allowed, the second pod of g violates */
	const SchedPod *both[2] = { guarded, a2 };
	bool viol[2];
	sched_pdb_violations(both, 2, one, viol);
	ok(!viol[0] && viol[1], "the budget goes to the more important pod first");
	sched_pdb_violations(both, 2, NULL, viol);
	ok(!viol[0] && !viol[1], "no PDBs: no violations");
	sched_node_free(nodes[0]);
	sched_node_free(nodes[1]);
	sched_pod_free(guarded);
	sched_pod_free(a2);
	sched_pod_free(free_pod);
	sched_pod_free(vip);
}

int main(void)
{
	test_deployment_scale();
	test_statefulset_and_failsafe();
	test_disrupted_pods();
	test_preemption();
	return tap_done();
}
