/* test-ctlsync-deploy.c - the Deployment controller's sync against the fake
 * API (with the ReplicaSet controller making the pods): rolling-update step
 * arithmetic with the 25%/25% defaults, Recreate waiting for the old pods,
 * paused deployments, rollback to an older template, the progress deadline
 * on the fake clock, revisionHistoryLimit pruning.
 */
#include "ctlsync.h"

#define PODS "/api/v1/namespaces/default/pods"
#define RSS "/apis/apps/v1/namespaces/default/replicasets"
#define DEPS "/apis/apps/v1/namespaces/default/deployments"
#define ANN_REV "deployment.kubernetes.io/revision"

/* extra: more members of spec (JSON text without braces, may be empty). */
static json_t *deploy_obj(const char *name, int replicas, const char *image, const char *extra)
{
	return J("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'%s','namespace':'default'},"
		 "'spec':{'replicas':%d,'selector':{'matchLabels':{'app':'web'}},%s%s"
		 "'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':[{'name':'c','image':'%s'}]}}}}",
		 name, replicas, extra, *extra ? "," : "", image);
}

static void set_image(Env *e, const char *name, const char *image)
{
	char path[256];
	snprintf(path, sizeof(path), DEPS "/%s", name);
	patch_obj(e, path, J("{'spec':{'template':{'spec':{'containers':[{'name':'c','image':'%s'}]}}}}", image));
}

static json_t *get_deploy(Env *e, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), DEPS "/%s", name);
	return fake_get(e->f, path);
}

/* The deployment's ReplicaSets (sorted by name). */
static json_t *sets_of(Env *e, const json_t *d) { return owned_by(e, RSS, meta_s(d, "uid")); }

/* The set running image (borrowed from sets) or NULL. */
static json_t *set_with_image(json_t *sets, const char *image)
{
	size_t i;
	json_t *rs;
	json_array_foreach(sets, i, rs) {
		json_t *c = json_array_get(json_path(rs, "spec.template.spec.containers"), 0);
		if (!strcmp(json_str(c, "image") ?: "", image))
			return rs;
	}
	return NULL;
}

static const char *ann(const json_t *o, const char *k) { return json_str(json_path(o, "metadata.annotations"), k); }

/* Make every pod of every set Ready. */
static void all_ready(Env *e, const json_t *d)
{
	_cleanup_json_ json_t *sets = sets_of(e, d);
	size_t i;
	json_t *rs;
	json_array_foreach(sets, i, rs)
		pods_ready(e, "default", meta_s(rs, "uid"), "n1");
}

/* Run both controllers, making pods ready, until the rollout is complete. */
static bool roll_to_end(Env *e, const char *name, int replicas)
{
	for (int i = 0; i < 30; i++) {
		RUN(e, &e->m->dc, &e->m->rsc);
		_cleanup_json_ json_t *d = get_deploy(e, name);
		if (status_i(d, "updatedReplicas", -1) == replicas && status_i(d, "availableReplicas", -1) == replicas &&
		    status_i(d, "replicas", -1) == replicas)
			return true;
		all_ready(e, d);
	}
	return false;
}

static int total_spec(json_t *sets)
{
	int n = 0;
	size_t i;
	json_t *rs;
	json_array_foreach(sets, i, rs)
		n += (int)spec_i(rs, "replicas", 0);
	return n;
}

static void test_rolling_arithmetic(void)
{
	Env e = env_start();
	_cleanup_json_ json_t *d = put_obj(&e, DEPS, deploy_obj("web", 10, "busybox:1", ""));
	ok(roll_to_end(&e, "web", 10), "rolling: the first rollout completes");
	_cleanup_json_ json_t *d1 = get_deploy(&e, "web");
	is_str(ann(d1, ANN_REV), "1", "rolling: deployment revision 1");
	is_str(cond_field(d1, "Available", "status"), "True", "rolling: Available True");
	is_str(cond_field(d1, "Progressing", "reason"), "NewReplicaSetAvailable", "rolling: Progressing NewReplicaSetAvailable");
	_cleanup_json_ json_t *sets1 = sets_of(&e, d);
	is_int(json_array_size(sets1), 1, "rolling: one ReplicaSet");
	json_t *rs1 = json_array_get(sets1, 0);
	const char *hash = json_str(json_path(rs1, "metadata.labels"), "pod-template-hash");
	char want_name[64];
	snprintf(want_name, sizeof(want_name), "web-%s", hash ?: "?");
	is_str(meta_s(rs1, "name"), want_name, "rolling: ReplicaSet named <deployment>-<pod-template-hash>");
	is_str(ann(rs1, "deployment.kubernetes.io/desired-replicas"), "10", "rolling: desired-replicas annotation");
	is_str(ann(rs1, "deployment.kubernetes.io/max-replicas"), "13", "rolling: max-replicas = 10 + maxSurge 3 (25%% up)");

	set_image(&e, "web", "busybox:2");
	/* one deployment sync at a time: 25% of 10 is maxSurge 3 (rounded up), maxUnavailable 2 (down) */
	is_int(sync_key(&e, &e.m->dc, "default/web"), 0, "rolling: sync 1");
	_cleanup_json_ json_t *s1 = sets_of(&e, d);
	json_t *nrs = set_with_image(s1, "busybox:2"), *ors = set_with_image(s1, "busybox:1");
	ok(nrs != NULL, "rolling: the new ReplicaSet is created");
	is_int(spec_i(nrs, "replicas", -1), 3, "rolling: new set starts at maxSurge 3");
	is_int(spec_i(ors, "replicas", -1), 10, "rolling: old set untouched in the same sync");
	is_str(ann(nrs, ANN_REV), "2", "rolling: new set is revision 2");
	is_int(sync_key(&e, &e.m->dc, "default/web"), 0, "rolling: sync 2");
	_cleanup_json_ json_t *s2 = sets_of(&e, d);
	is_int(spec_i(set_with_image(s2, "busybox:1"), "replicas", -1), 8,
	       "rolling: old set scaled to 8 (13 - minAvailable 8 - 3 unavailable new = 2 down)");
	is_int(spec_i(set_with_image(s2, "busybox:2"), "replicas", -1), 3, "rolling: new set stays 3 while unavailable");
	is_int(sync_key(&e, &e.m->dc, "default/web"), 0, "rolling: sync 3");
	_cleanup_json_ json_t *s3 = sets_of(&e, d);
	is_int(spec_i(set_with_image(s3, "busybox:2"), "replicas", -1), 5,
	       "rolling: new set grows to 5 (13 - 11 wanted in all)");
	is_int(spec_i(set_with_image(s3, "busybox:1"), "replicas", -1), 8, "rolling: old set stays 8 (0 more may go)");
	is_int(sync_key(&e, &e.m->dc, "default/web"), 0, "rolling: sync 4");
	_cleanup_json_ json_t *s4 = sets_of(&e, d);
	is_int(total_spec(s4), 13, "rolling: nothing more moves until new pods are available");

	/* step the rollout: never above 13 pods wanted, never below 8 available */
	bool within = true;
	int steps = 0;
	for (; steps < 30; steps++) {
		RUN(&e, &e.m->dc, &e.m->rsc);
		_cleanup_json_ json_t *sets = sets_of(&e, d);
		_cleanup_json_ json_t *pods = owned_by(&e, PODS, NULL);
		int avail = 0;
		size_t i;
		json_t *p;
		json_array_foreach(pods, i, p)
			avail += pod_is_ready(p);
		if (total_spec(sets) > 13 || (int)json_array_size(pods) > 13 || avail < 8) {
			within = false;
			tap_diag("step %d: wanted %d, pods %zu, available %d", steps, total_spec(sets), json_array_size(pods),
				 avail);
		}
		json_t *o = set_with_image(sets, "busybox:1"), *n = set_with_image(sets, "busybox:2");
		if (spec_i(o, "replicas", -1) == 0 && status_i(n, "availableReplicas", -1) == 10)
			break;
		all_ready(&e, d);
	}
	ok(within, "rolling: surge and unavailability bounds hold at every step");
	ok(steps < 30, "rolling: the rollout finishes (%d steps)", steps);
	ok(roll_to_end(&e, "web", 10), "rolling: status reports the rollout complete");
	_cleanup_json_ json_t *d2 = get_deploy(&e, "web");
	is_str(ann(d2, ANN_REV), "2", "rolling: deployment revision 2");
	is_int(status_i(d2, "updatedReplicas", -1), 10, "rolling: updatedReplicas 10");
	is_str(cond_field(d2, "Progressing", "reason"), "NewReplicaSetAvailable", "rolling: complete again");
	env_stop(&e);
}

static void test_recreate(void)
{
	Env e = env_start();
	_cleanup_json_ json_t *d = put_obj(&e, DEPS, deploy_obj("web", 2, "busybox:1", "'strategy':{'type':'Recreate'}"));
	ok(roll_to_end(&e, "web", 2), "recreate: first rollout completes");
	set_image(&e, "web", "busybox:2");
	fake_log_clear(e.f);
	is_int(sync_key(&e, &e.m->dc, "default/web"), 0, "recreate: sync 1");
	is_int(sync_key(&e, &e.m->dc, "default/web"), 0, "recreate: sync 2 (old pods still there)");
	_cleanup_json_ json_t *s1 = sets_of(&e, d);
	is_int(json_array_size(s1), 1, "recreate: no new set while old pods run");
	is_int(spec_i(json_array_get(s1, 0), "replicas", -1), 0, "recreate: old set scaled to 0 first");
	is_int(fake_count(e.f, "POST", RSS), 0, "recreate: no ReplicaSet created yet");

	/* the old set's status already says 0 but a pod is still terminating */
	json_t *old = json_array_get(s1, 0);
	char st[256];
	snprintf(st, sizeof(st), RSS "/%s/status", meta_s(old, "name"));
	_cleanup_json_ json_t *pods = owned_by(&e, PODS, meta_s(old, "uid"));
	size_t i;
	json_t *p;
	json_array_foreach(pods, i, p) {
		char pp[256];
		snprintf(pp, sizeof(pp), PODS "/%s", meta_s(p, "name"));
		if (i == 0) {
			patch_obj(&e, pp, J("{'metadata':{'finalizers':['test/hold'],"
					    "'deletionTimestamp':'2026-01-01T00:00:00Z'}}"));
			_cleanup_json_ json_t *t = fake_get(e.f, pp);
			ok(t && json_path(t, "metadata.deletionTimestamp"), "recreate: one old pod is terminating");
		} else
			fake_delete(e.f, pp);
	}
	patch_obj(&e, st, J("{'status':{'replicas':0,'readyReplicas':0,'availableReplicas':0}}"));
	is_int(sync_key(&e, &e.m->dc, "default/web"), 0, "recreate: sync with one old pod terminating");
	is_int(fake_count(e.f, "POST", RSS), 0, "recreate: waits while an old pod is terminating");
	json_array_foreach(pods, i, p) {
		char pp[256];
		snprintf(pp, sizeof(pp), PODS "/%s", meta_s(p, "name"));
		fake_delete(e.f, pp);
	}
	is_int(sync_key(&e, &e.m->dc, "default/web"), 0, "recreate: sync once the old pods are gone");
	is_int(fake_count(e.f, "POST", RSS), 1, "recreate: the new set is created once they are gone");
	_cleanup_json_ json_t *s2 = sets_of(&e, d);
	is_int(spec_i(set_with_image(s2, "busybox:2"), "replicas", -1), 2, "recreate: new set at full size at once");
	ok(roll_to_end(&e, "web", 2), "recreate: second rollout completes");
	env_stop(&e);
}

static void test_paused(void)
{
	Env e = env_start();
	_cleanup_json_ json_t *d = put_obj(&e, DEPS, deploy_obj("web", 3, "busybox:1", ""));
	ok(roll_to_end(&e, "web", 3), "paused: first rollout completes");
	patch_obj(&e, DEPS "/web", J("{'spec':{'paused':true}}"));
	set_image(&e, "web", "busybox:2");
	fake_log_clear(e.f);
	RUN(&e, &e.m->dc, &e.m->rsc);
	is_int(fake_count(e.f, "POST", RSS), 0, "paused: a template change makes no new ReplicaSet");
	_cleanup_json_ json_t *dp = get_deploy(&e, "web");
	is_str(cond_field(dp, "Progressing", "reason"), "DeploymentPaused", "paused: Progressing DeploymentPaused");
	is_str(cond_field(dp, "Progressing", "status"), "Unknown", "paused: Progressing Unknown");
	/* scaling still works while paused */
	patch_obj(&e, DEPS "/web", J("{'spec':{'replicas':5}}"));
	RUN(&e, &e.m->dc, &e.m->rsc);
	_cleanup_json_ json_t *s = sets_of(&e, d);
	is_int(json_array_size(s), 1, "paused: still one set");
	is_int(spec_i(json_array_get(s, 0), "replicas", -1), 5, "paused: the set follows spec.replicas 5");
	is_int(count_owned(&e, PODS, meta_s(json_array_get(s, 0), "uid")), 5, "paused: 5 old pods");
	/* resume: the rollout happens */
	patch_obj(&e, DEPS "/web", J("{'spec':{'paused':false}}"));
	ok(roll_to_end(&e, "web", 5), "paused: the rollout completes after resume");
	_cleanup_json_ json_t *s2 = sets_of(&e, d);
	json_t *n = set_with_image(s2, "busybox:2");
	is_int(status_i(n, "availableReplicas", -1), 5, "paused: the new set has all 5 after resume");
	is_int(spec_i(set_with_image(s2, "busybox:1"), "replicas", -1), 0, "paused: the old set is at 0");
	env_stop(&e);
}

static void test_rollback(void)
{
	Env e = env_start();
	_cleanup_json_ json_t *d = put_obj(&e, DEPS, deploy_obj("web", 3, "busybox:1", ""));
	ok(roll_to_end(&e, "web", 3), "rollback: rev 1");
	set_image(&e, "web", "busybox:2");
	ok(roll_to_end(&e, "web", 3), "rollback: rev 2");
	_cleanup_json_ json_t *before = sets_of(&e, d);
	char v1name[128];
	snprintf(v1name, sizeof(v1name), "%s", meta_s(set_with_image(before, "busybox:1"), "name"));
	/* what `kubectl rollout undo --to-revision=1` does: put revision 1's template back */
	fake_log_clear(e.f);
	set_image(&e, "web", "busybox:1");
	ok(roll_to_end(&e, "web", 3), "rollback: rollout back to the first template completes");
	is_int(fake_count(e.f, "POST", RSS), 0, "rollback: the old ReplicaSet is reused, none created");
	_cleanup_json_ json_t *after = sets_of(&e, d);
	json_t *v1 = set_with_image(after, "busybox:1"), *v2 = set_with_image(after, "busybox:2");
	is_str(meta_s(v1, "name"), v1name, "rollback: same set name as revision 1");
	is_str(ann(v1, ANN_REV), "3", "rollback: the reused set moves to revision 3");
	is_str(ann(v2, ANN_REV), "2", "rollback: the other set keeps revision 2");
	is_int(spec_i(v1, "replicas", -1), 3, "rollback: reused set scaled up to 3");
	is_int(spec_i(v2, "replicas", -1), 0, "rollback: revision 2's set at 0");
	_cleanup_json_ json_t *dd = get_deploy(&e, "web");
	is_str(ann(dd, ANN_REV), "3", "rollback: deployment revision 3");
	env_stop(&e);
}

static void test_progress_deadline(void)
{
	Env e = env_start();
	_cleanup_json_ json_t *d = put_obj(&e, DEPS, deploy_obj("web", 2, "busybox:1", "'progressDeadlineSeconds':60"));
	ok(roll_to_end(&e, "web", 2), "deadline: first rollout completes");
	set_image(&e, "web", "busybox:2");
	RUN(&e, &e.m->dc, &e.m->rsc);  /* new pods never become ready */
	_cleanup_json_ json_t *a = get_deploy(&e, "web");
	is_str(cond_field(a, "Progressing", "status"), "True", "deadline: Progressing True while rolling");
	is_str(cond_field(a, "Progressing", "reason"), "ReplicaSetUpdated", "deadline: ReplicaSetUpdated");
	fake_clock_advance_s(45);
	RUN(&e, &e.m->dc, &e.m->rsc);
	_cleanup_json_ json_t *b = get_deploy(&e, "web");
	is_str(cond_field(b, "Progressing", "status"), "True", "deadline: still True at 45 s");
	fake_clock_advance_s(20);
	int n = RUN(&e, &e.m->dc, &e.m->rsc);
	ok(n >= 1, "deadline: the deadline recheck fires on the fake clock");
	_cleanup_json_ json_t *c = get_deploy(&e, "web");
	is_str(cond_field(c, "Progressing", "status"), "False", "deadline: Progressing False after 65 s");
	is_str(cond_field(c, "Progressing", "reason"), "ProgressDeadlineExceeded", "deadline: ProgressDeadlineExceeded");
	/* progress again: the pods become ready and the rollout completes */
	ok(roll_to_end(&e, "web", 2), "deadline: a late rollout still completes");
	_cleanup_json_ json_t *z = get_deploy(&e, "web");
	is_str(cond_field(z, "Progressing", "reason"), "NewReplicaSetAvailable", "deadline: complete after all");
	(void)d;
	env_stop(&e);
}

static void test_history_limit(void)
{
	Env e = env_start();
	_cleanup_json_ json_t *d = put_obj(&e, DEPS, deploy_obj("web", 1, "busybox:1", "'revisionHistoryLimit':1"));
	ok(roll_to_end(&e, "web", 1), "history: rev 1");
	const char *imgs[] = { "busybox:2", "busybox:3", "busybox:4" };
	for (int i = 0; i < 3; i++) {
		set_image(&e, "web", imgs[i]);
		ok(roll_to_end(&e, "web", 1), "history: rollout to %s", imgs[i]);
	}
	RUN(&e, &e.m->dc, &e.m->rsc);
	_cleanup_json_ json_t *sets = sets_of(&e, d);
	is_int(json_array_size(sets), 2, "history: the current set and one old one are kept");
	json_t *cur = set_with_image(sets, "busybox:4"), *prev = set_with_image(sets, "busybox:3");
	ok(cur && prev, "history: the kept old set is the newest old revision");
	is_str(ann(prev, ANN_REV), "3", "history: kept revision 3");
	is_str(ann(cur, ANN_REV), "4", "history: current revision 4");
	is_int(fake_count(e.f, "DELETE", RSS "/*"), 2, "history: two ReplicaSets deleted");
	env_stop(&e);
}

/* Scaling in the middle of a rollout: both active sets share the change in
 * proportion to their sizes (Kubernetes' scale()). */
static void test_proportional(void)
{
	Env e = env_start();
	_cleanup_json_ json_t *d = put_obj(&e, DEPS, deploy_obj("web", 10, "busybox:1", ""));
	ok(roll_to_end(&e, "web", 10), "proportional: first rollout completes");
	set_image(&e, "web", "busybox:2");
	RUN(&e, &e.m->dc, &e.m->rsc);  /* the new pods never become ready: stuck at 8 old + 5 new */
	_cleanup_json_ json_t *s1 = sets_of(&e, d);
	is_int(spec_i(set_with_image(s1, "busybox:1"), "replicas", -1), 8, "proportional: old set at 8");
	is_int(spec_i(set_with_image(s1, "busybox:2"), "replicas", -1), 5, "proportional: new set at 5");
	patch_obj(&e, DEPS "/web", J("{'spec':{'replicas':20}}"));
	is_int(sync_key(&e, &e.m->dc, "default/web"), 0, "proportional: the scale sync");
	_cleanup_json_ json_t *s2 = sets_of(&e, d);
	/* 20 + maxSurge 5 = 25 over sets sized for 13: 8*25/13 = 15.4 -> 15, 5*25/13 = 9.6 -> 10 */
	is_int(spec_i(set_with_image(s2, "busybox:1"), "replicas", -1), 15, "proportional: old set 8 -> 15");
	is_int(spec_i(set_with_image(s2, "busybox:2"), "replicas", -1), 10, "proportional: new set 5 -> 10");
	is_str(ann(set_with_image(s2, "busybox:2"), "deployment.kubernetes.io/desired-replicas"), "20",
	       "proportional: desired-replicas follows spec.replicas");
	ok(roll_to_end(&e, "web", 20), "proportional: the rollout then completes at 20");
	env_stop(&e);
}

/* Requests that recorded a ScalingReplicaSet Event (a new one or a repeat counted). */
static int scaling_events(Env *e)
{
	return fake_count(e->f, "POST", "/api/v1/namespaces/default/events") +
	       fake_count(e->f, "PATCH", "/api/v1/namespaces/default/events/*");
}

/* A sync on a stale ReplicaSet cache repeats a scale write the set already
 * has: it must not record a second ScalingReplicaSet Event. */
static void test_stale_cache_scale_event(void)
{
	Env e = env_start();  /* a name of its own: the event rate limit is keyed by object */
	_cleanup_json_ json_t *d = put_obj(&e, DEPS, deploy_obj("stale", 1, "busybox:1", ""));
	ok(roll_to_end(&e, "stale", 1), "stale cache: first rollout completes");
	patch_obj(&e, DEPS "/stale", J("{'spec':{'replicas':3}}"));
	settle(&e);
	fake_log_clear(e.f);
	fake_hold(e.f, true);  /* the informers miss the scale write from here */
	_cleanup_err_ Error *err = NULL;
	ok(e.m->dc.sync(&e.m->dc, "default/stale", &err) >= 0, "stale cache: the first sync scales");
	is_int(scaling_events(&e), 1, "stale cache: one ScalingReplicaSet Event for 1 -> 3");
	_cleanup_json_ json_t *sets = sets_of(&e, d);
	is_int(spec_i(json_array_get(sets, 0), "replicas", -1), 3, "stale cache: the set is at 3");
	err_freep(&err);
	int r = e.m->dc.sync(&e.m->dc, "default/stale", &err);  /* still sees the set at 1 */
	ok(r < 0, "stale cache: the repeated write is refused (the set is no longer at 1)");
	is_int(scaling_events(&e), 1, "stale cache: no second Event for a size that did not change");
	fake_hold(e.f, false);
	settle(&e);
	ok(sync_key(&e, &e.m->dc, "default/stale") >= 0, "stale cache: the sync on the caught-up cache succeeds");
	is_int(scaling_events(&e), 1, "stale cache: still one Event");
	_cleanup_json_ json_t *sets2 = sets_of(&e, d);
	is_int(spec_i(json_array_get(sets2, 0), "replicas", -1), 3, "stale cache: the set stays at 3");
	env_stop(&e);
}

int main(void)
{
	test_rolling_arithmetic();
	test_recreate();
	test_paused();
	test_rollback();
	test_progress_deadline();
	test_history_limit();
	test_proportional();
	test_stale_cache_scale_event();
	return tap_done();
}
