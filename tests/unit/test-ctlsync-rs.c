/* test-ctlsync-rs.c - the ReplicaSet / ReplicationController controller's
 * sync against the fake API: creates once (expectations), adoption and
 * release by labels, Kubernetes' deletion victim order, failed creates,
 * availability after minReadySeconds on the fake clock.
 */
#include "ctlsync.h"

#define PODS "/api/v1/namespaces/default/pods"
#define RSS "/apis/apps/v1/namespaces/default/replicasets"

static json_t *rs_obj(const char *name, int replicas, int min_ready)
{
	return J("{'apiVersion':'apps/v1','kind':'ReplicaSet','metadata':{'name':'%s','namespace':'default'},"
		 "'spec':{'replicas':%d,'minReadySeconds':%d,'selector':{'matchLabels':{'app':'web'}},"
		 "'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':[{'name':'c','image':'busybox'}]}}}}",
		 name, replicas, min_ready);
}

/* A pod with labels app=APP, controlled by owner when not NULL. */
static json_t *pod_obj(const char *name, const char *app, const json_t *owner, const char *kind)
{
	json_t *p = J("{'apiVersion':'v1','kind':'Pod','metadata':{'name':'%s','namespace':'default','labels':{'app':'%s'}},"
		      "'spec':{'containers':[{'name':'c','image':'busybox'}]},'status':{'phase':'Pending'}}",
		      name, app);
	if (owner)
		json_object_set_new(json_object_get(p, "metadata"), "ownerReferences",
				    json_pack("[o]", owner_ref_new(owner, !strcmp(kind, "ReplicaSet") ? "apps/v1" : "v1", kind)));
	return p;
}

static void test_creates_once(void)
{
	Env e = env_start();
	Ctl *c = &e.m->rsc;
	_cleanup_json_ json_t *rs = put_obj(&e, RSS, rs_obj("web", 3, 0));
	is_int(sync_key(&e, c, "default/web"), 0, "rs: first sync succeeds");
	is_int(fake_count(e.f, "POST", PODS), 3, "rs: 3 pods created for replicas 3");
	_cleanup_json_ json_t *pods = owned_by(&e, PODS, meta_s(rs, "uid"));
	is_int(json_array_size(pods), 3, "rs: the 3 pods are controlled by the ReplicaSet");
	json_t *p0 = json_array_get(pods, 0);
	const char *n0 = meta_s(p0, "name");
	ok(!strncmp(n0, "web-", 4) && strlen(n0) == 9, "rs: pod name is <owner>-<5 chars> (%s)", n0);
	is_str(json_str(json_path(p0, "metadata.labels"), "app"), "web", "rs: pod has the template labels");
	is_int(fake_count(e.f, "POST", "/api/v1/namespaces/default/events"), 3, "rs: a SuccessfulCreate event per pod");

	/* a second sync before the informer saw the creates: expectations hold it */
	fake_hold(e.f, true);
	_cleanup_err_ Error *err = NULL;
	/* its status write may meet a 409 (the cache is stale): that is fine */
	c->sync(c, "default/web", &err);
	is_int(fake_count(e.f, "POST", PODS), 3, "rs: no second round of creates before the informer saw the first");
	fake_hold(e.f, false);
	is_int(sync_key(&e, c, "default/web"), 0, "rs: sync after the informer caught up");
	is_int(fake_count(e.f, "POST", PODS), 3, "rs: still 3 creates in all");
	is_int(count_owned(&e, PODS, meta_s(rs, "uid")), 3, "rs: 3 pods");
	_cleanup_json_ json_t *now = fake_get(e.f, RSS "/web");
	is_int(status_i(now, "replicas", -1), 3, "rs: status.replicas 3");
	is_int(status_i(now, "observedGeneration", -1), 1, "rs: status.observedGeneration");

	/* a deleted pod is replaced, once */
	fake_log_clear(e.f);
	char path[256];
	snprintf(path, sizeof(path), PODS "/%s", n0);
	is_int(fake_delete(e.f, path), 200, "rs: delete one pod behind the controller's back");
	RUN(&e, c);
	is_int(fake_count(e.f, "POST", PODS), 1, "rs: the deleted pod is replaced by one create");
	is_int(count_owned(&e, PODS, meta_s(rs, "uid")), 3, "rs: back to 3 pods");
	env_stop(&e);
}

static void test_adopt_release(void)
{
	Env e = env_start();
	Ctl *c = &e.m->rsc;
	_cleanup_json_ json_t *rs = put_obj(&e, RSS, rs_obj("web", 3, 0));
	json_decref(put_obj(&e, PODS, pod_obj("orphan-a", "web", NULL, NULL)));
	json_decref(put_obj(&e, PODS, pod_obj("orphan-b", "web", NULL, NULL)));
	json_decref(put_obj(&e, PODS, pod_obj("stranger", "db", NULL, NULL)));
	json_decref(put_obj(&e, PODS, pod_obj("mine-moved", "db", rs, "ReplicaSet")));
	is_int(sync_key(&e, c, "default/web"), 0, "claim: sync succeeds");
	is_int(fake_count(e.f, "PATCH", PODS "/orphan-a"), 1, "claim: orphan-a adopted by a PATCH");
	is_int(fake_count(e.f, "PATCH", PODS "/orphan-b"), 1, "claim: orphan-b adopted by a PATCH");
	is_int(fake_count(e.f, "PATCH", PODS "/stranger"), 0, "claim: a pod the selector does not match is left alone");
	is_int(fake_count(e.f, "PATCH", PODS "/mine-moved"), 1, "claim: an owned pod whose labels stopped matching is released");
	is_int(fake_count(e.f, "POST", PODS), 1, "claim: only the one missing pod is created (2 adopted)");
	_cleanup_json_ json_t *a = fake_get(e.f, PODS "/orphan-a");
	const json_t *ref = obj_controller_ref(a);
	is_str(ref ? json_str(ref, "uid") : NULL, meta_s(rs, "uid"), "claim: the adopted pod's controller is the ReplicaSet");
	_cleanup_json_ json_t *m = fake_get(e.f, PODS "/mine-moved");
	ok(!obj_controller_ref(m), "claim: the released pod has no controller reference");
	_cleanup_json_ json_t *s = fake_get(e.f, PODS "/stranger");
	ok(!json_path(s, "metadata.ownerReferences"), "claim: the stranger has no owner");
	is_int(count_owned(&e, PODS, meta_s(rs, "uid")), 3, "claim: 3 pods controlled in all");
	/* a second pass changes nothing */
	fake_log_clear(e.f);
	RUN(&e, c);
	is_int(fake_count(e.f, NULL, PODS "*"), 0, "claim: steady state: no pod requests");
	env_stop(&e);
}

/* Victims: unassigned, then pending, then not ready, then (equal ready
 * times) the newest; the oldest ready pod survives. */
static void test_victim_order(void)
{
	Env e = env_start();
	Ctl *c = &e.m->rsc;
	_cleanup_json_ json_t *rs = put_obj(&e, RSS, rs_obj("web", 5, 0));
	const char *names[] = { "p-old-ready", "p-new-ready", "p-notready", "p-pending", "p-unassigned" };
	for (int i = 0; i < 5; i++) {
		json_decref(put_obj(&e, PODS, pod_obj(names[i], "web", rs, "ReplicaSet")));
		fake_clock_advance_s(10);
	}
	pod_set_running(&e, "default", "p-old-ready", "n1", true);
	pod_set_running(&e, "default", "p-new-ready", "n1", true);
	pod_set_running(&e, "default", "p-notready", "n1", false);
	patch_obj(&e, PODS "/p-pending", J("{'spec':{'nodeName':'n1'}}"));
	RUN(&e, c);
	is_int(fake_count(e.f, "DELETE", PODS "*"), 0, "victims: nothing deleted at 5/5");
	fake_log_clear(e.f);
	patch_obj(&e, RSS "/web", J("{'spec':{'replicas':1}}"));
	RUN(&e, c);
	_cleanup_free_ char *log = fake_log_text(e.f);
	const char *want[] = { "p-unassigned", "p-pending", "p-notready", "p-new-ready" };
	const char *at = log;
	bool in_order = true;
	for (int i = 0; i < 4; i++) {
		char line[128];
		snprintf(line, sizeof(line), "DELETE " PODS "/%s\n", want[i]);
		const char *hit = strstr(at, line);
		if (!hit) {
			in_order = false;
			tap_diag("no %s after the previous victim", line);
		} else
			at = hit;
	}
	ok(in_order, "victims: deleted unassigned, pending, not ready, newest ready, in that order");
	is_int(fake_count(e.f, "DELETE", PODS "*"), 4, "victims: 4 deletes for 5 -> 1");
	_cleanup_json_ json_t *left = owned_by(&e, PODS, meta_s(rs, "uid"));
	is_int(json_array_size(left), 1, "victims: one pod left");
	is_str(meta_s(json_array_get(left, 0), "name"), "p-old-ready", "victims: the oldest ready pod survives");
	/* the sort alone, for a ready-time difference: the pod ready for less time goes first */
	_cleanup_json_ json_t *two = J("[{'metadata':{'name':'long','creationTimestamp':'2026-01-01T00:00:00Z'},"
				       "'spec':{'nodeName':'n'},'status':{'phase':'Running','conditions':[{'type':'Ready',"
				       "'status':'True','lastTransitionTime':'2026-01-01T00:01:00Z'}]}},"
				       "{'metadata':{'name':'short','creationTimestamp':'2026-01-01T00:00:00Z'},"
				       "'spec':{'nodeName':'n'},'status':{'phase':'Running','conditions':[{'type':'Ready',"
				       "'status':'True','lastTransitionTime':'2026-01-01T00:05:00Z'}]}}]");
	rs_victims_sort(two);
	is_str(meta_s(json_array_get(two, 0), "name"), "short", "victims: ready for less time goes first");
	env_stop(&e);
}

static void test_failed_create(void)
{
	Env e = env_start();
	Ctl *c = &e.m->rsc;
	_cleanup_json_ json_t *rs = put_obj(&e, RSS, rs_obj("web", 2, 0));
	fake_fail(e.f, "POST", PODS, 500, 1);
	settle(&e);
	_cleanup_err_ Error *err = NULL;
	ok(c->sync(c, "default/web", &err) < 0, "failed create: sync reports the error");
	is_int(count_owned(&e, PODS, meta_s(rs, "uid")), 0, "failed create: nothing was made");
	is_int(fake_count(e.f, "POST", "/api/v1/namespaces/default/events"), 1, "failed create: a FailedCreate event");
	/* expectations were lowered: the next sync creates both, not more */
	is_int(sync_key(&e, c, "default/web"), 0, "failed create: the retry succeeds");
	is_int(count_owned(&e, PODS, meta_s(rs, "uid")), 2, "failed create: 2 pods after the retry");
	RUN(&e, c);
	is_int(count_owned(&e, PODS, meta_s(rs, "uid")), 2, "failed create: still 2 when settled");
	env_stop(&e);
}

static void test_min_ready(void)
{
	Env e = env_start();
	Ctl *c = &e.m->rsc;
	_cleanup_json_ json_t *rs = put_obj(&e, RSS, rs_obj("web", 2, 30));
	RUN(&e, c);
	pods_ready(&e, "default", meta_s(rs, "uid"), "n1");
	RUN(&e, c);
	_cleanup_json_ json_t *a = fake_get(e.f, RSS "/web");
	is_int(status_i(a, "readyReplicas", -1), 2, "minReady: 2 ready");
	is_int(status_i(a, "availableReplicas", -1), 0, "minReady: none available before minReadySeconds");
	fake_clock_advance_s(29);
	RUN(&e, c);
	_cleanup_json_ json_t *b = fake_get(e.f, RSS "/web");
	is_int(status_i(b, "availableReplicas", -1), 0, "minReady: none available at 29 s");
	fake_clock_advance_s(2);
	int n = RUN(&e, c);
	ok(n >= 1, "minReady: the delayed requeue fires on the fake clock");
	_cleanup_json_ json_t *d = fake_get(e.f, RSS "/web");
	is_int(status_i(d, "availableReplicas", -1), 2, "minReady: 2 available after minReadySeconds");
	env_stop(&e);
}

static void test_rc(void)
{
	Env e = env_start();
	Ctl *c = &e.m->rcc;
	_cleanup_json_ json_t *rc = put_obj(&e, "/api/v1/namespaces/default/replicationcontrollers",
					    J("{'apiVersion':'v1','kind':'ReplicationController','metadata':{'name':'old',"
					      "'namespace':'default'},'spec':{'replicas':2,'selector':{'app':'web'},"
					      "'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':"
					      "[{'name':'c','image':'busybox'}]}}}}"));
	json_decref(put_obj(&e, PODS, pod_obj("orphan", "web", NULL, NULL)));
	RUN(&e, c);
	is_int(fake_count(e.f, "PATCH", PODS "/orphan"), 1, "rc: map selector adopts the orphan");
	is_int(fake_count(e.f, "POST", PODS), 1, "rc: one pod created");
	_cleanup_json_ json_t *pods = owned_by(&e, PODS, meta_s(rc, "uid"));
	is_int(json_array_size(pods), 2, "rc: 2 pods controlled");
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p)
		is_str(json_str(obj_controller_ref(p), "kind"), "ReplicationController", "rc: owner kind of %s",
		       meta_s(p, "name"));
	env_stop(&e);
}

int main(void)
{
	test_creates_once();
	test_adopt_release();
	test_victim_order();
	test_failed_create();
	test_min_ready();
	test_rc();
	return tap_done();
}
